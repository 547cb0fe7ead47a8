/* libFuzzer target: the perf.data reader (formats/ps_perfdata through ps_trace) and the
 * symbolizer's walk over it. The first byte picks the input: even, the bytes are a
 * perf.data file as they are; odd, bytes 1-8 are the attr's sample_type and the rest is
 * the data section's records, wrapped here in a file header with one attr (sample_id_all
 * set), so the fuzzer reaches the record decoder without first finding a valid header. */
#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_trace.h"
#include "symbolize/ps_sym.h"

static int perfdata_on_sample(void *ctx, const ps_sym_sample *s)
{
	size_t *n = ctx;
	for (size_t i = 0; i < s->nframes; i++)
		*n += strlen(s->frames[i].name);
	return 0;
}

static uint8_t *wrap_records(const uint8_t *in, size_t n, size_t *size)
{
	if (n < 8)
		return NULL;
	struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE,
				    .size = sizeof(a),
				    .sample_period = 1,
				    .sample_id_all = 1};
	memcpy(&a.sample_type, in, 8);
	a.sample_type &= PERF_SAMPLE_MAX - 1;
	a.sample_regs_user = 0xff0fff;
	in += 8;
	n -= 8;
	size_t attr_sz = sizeof(a) + 16, data_off = 104 + attr_sz;
	uint8_t *f = calloc(1, data_off + n);
	if (!f)
		return NULL;
	uint64_t h[9] = {0, 104, attr_sz, 104, attr_sz, data_off, n, 0, 0};
	memcpy(f, h, sizeof(h));
	memcpy(f, "PERFILE2", 8);
	memcpy(f + 104, &a, sizeof(a));
	memcpy(f + data_off, in, n);
	*size = data_off + n;
	return f;
}

static int ps_fuzz_perfdata(const uint8_t *data, size_t size)
{
	uint8_t *wrapped = NULL;
	if (size >= 1 && (data[0] & 1)) {
		wrapped = wrap_records(data + 1, size - 1, &size);
		if (!wrapped)
			return 0;
		data = wrapped;
	} else if (size >= 1) {
		data++;
		size--;
	}
	ps_trace_reader *r;
	if (ps_trace_open_mem(&r, data, size)) {
		free(wrapped);
		return 0;
	}
	for (size_t i = 0; i < ps_trace_nmeta(r); i++) {
		ps_kv kv = ps_trace_meta_at(r, i);
		(void)strlen(kv.key);
		(void)strlen(kv.value);
	}
	ps_event ev;
	uint64_t n = 0;
	while (ps_trace_next(r, &ev) > 0) {
		if (ev.type == PS_REC_SAMPLE)
			for (uint32_t i = 0; i < ev.sample.nr; i++)
				n += ev.sample.ips[i] & 1;
		else if (ev.type == PS_REC_MMAP)
			n += strlen(ev.mmap.filename);
		else if (ev.type == PS_REC_COMM)
			n += strlen(ev.comm.comm);
	}
	(void)ps_trace_get_status(r);
	const char *evs = ps_trace_meta(r, "events");
	if (evs && strchr(evs, ','))
		ps_trace_select_event(r, strchr(evs, ',') + 1);
	if (ps_trace_rewind(r) == 0) {
		ps_sym_opts o;
		ps_sym_opts_init(&o);
		o.kallsyms = "/nonexistent/kallsyms";
		o.jit_dir = "/nonexistent";
		o.debug_dir = "/nonexistent";
		size_t chars = 0;
		ps_sym_report rep;
		ps_sym_walk(r, &o, perfdata_on_sample, &chars, &rep);
	}
	ps_trace_close(r);
	free(wrapped);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_perfdata(data, size); }
#endif
