/* What the fuzz targets share. The trace and perf.data targets, once they have a reader:
 * read every record (touching every string and chain, so ASan sees each byte the reader
 * hands out), then build the model as the commands do, with options picked by the input's
 * size. The readers of other tools' stacks: the profile they read written as folded text,
 * every line of which must parse back. Included by each target (and, through them, by
 * tests/unit/test_fuzz_regressions.c). */
#ifndef PS_FUZZ_COMMON_H
#define PS_FUZZ_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"

#include "formats/ps_profile.h"
#include "formats/ps_trace.h"
#include "symbolize/ps_sym.h"

static uint64_t fuzz_read_all(ps_trace_reader *r)
{
	for (size_t i = 0; i < ps_trace_nmeta(r); i++) {
		ps_kv kv = ps_trace_meta_at(r, i);
		(void)strlen(kv.key);
		(void)strlen(kv.value);
	}
	ps_event ev;
	uint64_t n = 0;
	while (ps_trace_next(r, &ev) > 0) {
		n++;
		switch (ev.type) {
		case PS_REC_SAMPLE:
			for (uint32_t i = 0; i < ev.sample.nr; i++)
				n += ev.sample.ips[i] & 1;
			break;
		case PS_REC_MMAP:
			n += strlen(ev.mmap.filename);
			break;
		case PS_REC_COMM:
			n += strlen(ev.comm.comm);
			break;
		case PS_REC_NOTE:
			n += strlen(ev.note.key) + strlen(ev.note.value);
			break;
		case PS_REC_SYMBOL:
			n += strlen(ev.sym.module);
			break;
		case PS_REC_FILE:
			n += strlen(ev.file.path);
			break;
		case PS_REC_HEAP_ALLOC:
			for (uint32_t i = 0; i < ev.heap.nr; i++)
				n += ev.heap.ips[i] & 1;
			break;
		case PS_REC_METRICS:
			n += strlen(ev.metrics.comm);
			for (uint32_t i = 0; i < ev.metrics.n; i++)
				n += strlen(ev.metrics.vals[i].key) + (ev.metrics.vals[i].value > 0);
			break;
		default:
			break;
		}
	}
	(void)ps_trace_get_status(r);
	return n;
}

/* The model of the trace, as fold, flamegraph (variant picks the root frame, --addrs),
 * script and the exports (frames per address, kept samples) build it; no kallsyms, JIT
 * maps or debug files of this machine. */
static void fuzz_symbolize(ps_trace_reader *r, size_t variant)
{
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.kallsyms = "/nonexistent/kallsyms";
	o.jit_dir = "/nonexistent";
	o.debug_dir = "/nonexistent";
	o.root = (enum ps_sym_root)(variant % 4);
	o.addrs = variant & 4 ? 1 : 0;
	o.addresses = variant & 8 ? 1 : 0;
	o.offcpu = (enum ps_sym_offcpu)((variant >> 6) % 4); /* blocked intervals too */
	o.offcpu_voluntary = variant & 256 ? 1 : 0;
	ps_profile *p = ps_profile_new(variant & 16 ? PS_PROFILE_SAMPLES : 0);
	if (!p)
		return;
	ps_sym_report rep;
	if (ps_sym_profile(r, &o, (int)(variant & 32), p, &rep) == 0) {
		/* Every label, as renderers ask for them. */
		for (size_t i = 0; i < ps_profile_nframes(p); i++)
			(void)ps_profile_label(p, (ps_frame_id)i, NULL);
	}
	ps_profile_free(p);
	/* The heap views of the same records (record --heap traces). */
	if (ps_trace_rewind(r) == 0) {
		p = ps_profile_new(variant & 16 ? PS_PROFILE_SAMPLES : 0);
		if (!p)
			return;
		o.heap = (enum ps_heap_view)(PS_HEAP_ALLOC + variant % 3);
		(void)ps_sym_profile(r, &o, 0, p, &rep);
		ps_profile_free(p);
	}
}

/* Writes p as folded text and aborts unless every line parses back. lenient: a stack of
 * one empty frame prints as " COUNT", as the collapse scripts print it, and a last frame
 * that ends in " DIGITS" reads as the first count of folded text's two-count form, which
 * may be past the limit: folded text cannot tell, so those two are let through. */
static inline void fuzz_check_folded(ps_profile *p, int lenient)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out || ps_profile_write_folded(p, 0, out) != 0)
		abort();
	fclose(out);
	for (char *l = text, *nl; l < text + len; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(text + len - l));
		if (!nl)
			abort();
		size_t sl;
		uint64_t c1, c2;
		int has2;
		const char *why;
		int err = ps_folded_parse_line(l, (size_t)(nl - l), &sl, &c1, &c2, &has2, &why);
		if (err && !(lenient && (l[0] == ' ' || err == PS_ELIMIT)))
			abort();
	}
	free(text);
}

/* A reader of another tool's stack text (ps_dtrace_read, ps_pmcstat_read) on arbitrary
 * bytes: the read ends with 0 or an error code, a successful read that keeps samples
 * found a stack, and the folded text of what it read parses back. */
typedef int (*fuzz_stacks_read_fn)(FILE *in, ps_profile *p, size_t *line);
static inline int fuzz_stacks(const uint8_t *data, size_t size, fuzz_stacks_read_fn read)
{
	FILE *in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	int keep = size && (data[0] & 1);
	ps_profile *p = ps_profile_new(keep ? PS_PROFILE_SAMPLES : 0);
	if (!p)
		abort();
	size_t line = 0;
	int err = read(in, p, &line);
	fclose(in);
	if (err > 0 || (err && err != PS_EFORMAT && err != PS_ELIMIT && err != -ENOMEM))
		abort();
	if (!err && keep && !ps_profile_nsamples(p))
		abort();
	fuzz_check_folded(p, 1);
	ps_profile_free(p);
	return 0;
}

#endif
