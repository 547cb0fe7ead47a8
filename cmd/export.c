/* perfsample export: pprof, speedscope and callgrind files. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "render/ps_export.h"

static const char export_usage[] =
	"usage: perfsample export --format pprof|speedscope|callgrind\n"
	"                         [-i TRACE | --folded FILE|- | --input FORMAT FILE|-] -o OUT\n"
	"\n"
	"Writes the stacks in a format other profilers read.\n";

int cmd_export(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	const char *fmt = NULL, *out = NULL;
	const struct opt options[] = {
		OPT_GROUP("export:"),
		OPT_STRING('f', "format", &fmt, "FORMAT",
			   "pprof: gzipped profile.proto for go tool pprof, Pyroscope, Parca\n"
			   "speedscope: speedscope's JSON\n"
			   "callgrind: for kcachegrind, callgrind_annotate, gprof2dot -f callgrind"),
		OPT_STRING('o', "output", &out, "OUT", "the file to write ('-': stdout)"),
		SOURCE_OPTIONS(&s),
		OPT_GROUP("frames:"),
		SOURCE_LABEL_OPTIONS(&s),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, export_usage, 0);
	source_operands(&s, "export", argc, argv);
	if (!fmt)
		usage_error("export", "export needs --format pprof, speedscope or callgrind");
	ps_export_fn fn = ps_export_by_name(fmt);
	if (!fn)
		die_usage("unknown export format '%s' (known: pprof, speedscope, callgrind)", fmt);
	if (!out)
		usage_error("export", "export needs -o OUT");
	ps_export_meta m;
	ps_export_meta_init(&m);
	/* pprof and callgrind place each frame: an address, its file:line, its mapping. */
	s.sym.addresses = 1;
	/* A trace recorded with --off-cpu: its blocked time as a column of its own. */
	if (s.sym.offcpu == PS_OFFCPU_NONE)
		s.sym.offcpu = PS_OFFCPU_COLUMN;
	/* A trace's samples, kept: speedscope's Time Order view lays them out in time, pprof
	 * labels them with their pid and tid. */
	int pprof_in = s.stacks && !strcmp(s.stacks_format, "pprof");
	unsigned keep = fn != ps_export_callgrind && (source_is_trace(&s) || pprof_in)
			    ? PS_PROFILE_SAMPLES
			    : 0;
	struct trace_summary sum;
	ps_profile *p = load_profile(&s, keep, &sum);
	if (source_is_trace(&s)) {
		const char *ev = sum.event;
		uint64_t f = sum.freq ? strtoull(sum.freq, NULL, 10) : 0;
		uint64_t per = sum.period ? strtoull(sum.period, NULL, 10) : 0;
		int timer = ev && (!strcmp(ev, "cpu-clock") || !strcmp(ev, "task-clock"));
		if (ev)
			m.event = ev;
		m.period_ns = f ? 1000000000ull / f : timer ? per : 0;
		m.name = sum.cmdline ? sum.cmdline : "";
		/* pprof's time_nanos is wall-clock; the stats are on CLOCK_MONOTONIC. */
		struct tm tm = {0};
		if (sum.start_time && strptime(sum.start_time, "%Y-%m-%dT%H:%M:%SZ", &tm))
			m.start_ns = (uint64_t)timegm(&tm) * 1000000000ull;
		m.duration_ns = ps_trace_summary_duration(&sum.t);
	}
	if (pprof_in) {
		/* What the profile said of itself goes on: its event and title (comments), its
		 * clock, span and period. */
		const ps_pprof_info *pi = &s.pprof;
		if (pi->event[0] || pi->period_type[0])
			m.event = pi->event[0] ? pi->event : pi->period_type;
		if (pi->comment[0])
			m.name = pi->comment;
		if (pi->period > 0 && !strcmp(pi->period_unit, "nanoseconds"))
			m.period_ns = (uint64_t)pi->period;
		m.start_ns = pi->time_nanos > 0 ? (uint64_t)pi->time_nanos : 0;
		m.duration_ns = pi->duration_nanos > 0 ? (uint64_t)pi->duration_nanos : 0;
		/* Its roots are functions: no process names to take from them. */
		m.first_frame_is_comm = 0;
	}
	struct outfile of;
	out_open(&of, out);
	int err = fn(p, &m, of.f);
	if (err) {
		out_abort(&of);
		die("cannot export to '%s': %s", out, ps_strerror(err));
	}
	out_close(&of);
	ps_profile_free(p);
	return 0;
}
