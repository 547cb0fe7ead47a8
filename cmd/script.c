/* perfsample script: a trace's samples as `perf script` prints them, in time order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "render/ps_script.h"

static const char script_usage[] =
	"usage: perfsample script [-i TRACE | TRACE] [options]\n"
	"\n"
	"Prints the samples of a trace (or perf.data) as `perf script` does, in time order\n"
	"across CPUs and threads, so FlameGraph's stackcollapse-perf.pl, speedscope and\n"
	"gprof2dot -f perf read them. Inlined functions are left out unless --inline asks,\n"
	"as perf script does; every sample's header names its PID and TID, so --pid and --tid\n"
	"change nothing.\n";

static const char *fields_arg;

int cmd_script(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	s.sym.inline_frames = 0;
	/* Only a trace has samples to print: folded and perf-script text are not inputs here. */
	const struct opt options[] = {
		OPT_GROUP("input:"),
		OPT_STRING('i', "input-file", &s.trace, "TRACE",
			   "the trace or perf.data (default perfsample.data; an operand is one too)"),
		OPT_STRING(0, "event-filter", &s.event_filter, "EVENT",
			   "perf.data with several events: print EVENT's samples (default: the "
			   "first)"),
		OPT_GROUP("output:"),
		OPT_STRING('F', "fields", &fields_arg, "FIELD,..",
			   "perf's fields to print: comm, pid, tid, cpu, time, period, event, ip, "
			   "sym, symoff, dso (default all; +FIELD or -FIELD changes the default)"),
		OPT_GROUP("root frame:"),
		SOURCE_ROOT_OPTIONS(&s),
		OPT_GROUP("filters:"),
		SOURCE_FILTER_OPTIONS(&s),
		OPT_GROUP("names:"),
		SOURCE_NAME_OPTIONS(&s),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, script_usage, 0);
	source_operands(&s, "script", argc, argv);
	ps_script_opts so = {.period_col = -1, .fields = PS_SCRIPT_DEFAULT};
	if (fields_arg) {
		const char *bad = "";
		size_t badlen = 0;
		if (ps_script_fields(fields_arg, &so.fields, &bad, &badlen))
			die_usage("unknown field '%.*s' in -F (known: comm, pid, tid, cpu, time, "
				  "period, event, ip, sym, symoff, dso)",
				  (int)badlen, bad);
	}
	/* Every sample with its own frames (per address: offsets, modules) and its period:
	 * the thread's name is the root frame, whatever --pid or --tid said. */
	s.sym.addresses = 1;
	s.pid_root = s.tid_root = 0;
	s.weight_period = 1;
	so.inline_frames = s.sym.inline_frames;
	struct trace_summary sum;
	ps_profile *p = load_profile(&s, PS_PROFILE_SAMPLES, &sum);
	so.event = sum.event ? sum.event : "cpu-clock";
	so.period_col = ps_profile_ntypes(p) ? 0 : -1;
	int err = ps_script_write(p, &so, stdout);
	if (err == -ENOMEM)
		die("out of memory");
	stdout_done(err);
	ps_profile_free(p);
	return 0;
}
