/* What the trace and perf.data fuzz targets do once they have a reader: read every record
 * (touching every string and chain, so ASan sees each byte the reader hands out), then
 * build the model as the commands do, with options picked by the input's size. Included
 * by each target (and, through them, by tests/unit/test_fuzz_regressions.c). */
#ifndef PS_FUZZ_COMMON_H
#define PS_FUZZ_COMMON_H

#include <stdint.h>
#include <string.h>

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
}

#endif
