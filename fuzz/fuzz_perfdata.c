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
#include "fuzz/fuzz_common.h"

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
	(void)fuzz_read_all(r);
	const char *evs = ps_trace_meta(r, "events");
	if (evs && strchr(evs, ','))
		ps_trace_select_event(r, strchr(evs, ',') + 1);
	if (ps_trace_rewind(r) == 0)
		fuzz_symbolize(r, size);
	ps_trace_close(r);
	free(wrapped);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_perfdata(data, size); }
#endif
