/* perfsample script: a trace's samples as `perf script` prints them. */
#include <errno.h>
#include <stdio.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"

struct script_ctx {
	const char *event;
	FILE *out;
};

static int script_sample(void *ctx, const ps_sym_sample *s)
{
	struct script_ctx *sc = ctx;
	FILE *f = sc->out;
	fprintf(f, "%s %u/%u [%03u] %llu.%06llu: %llu %s:\n", s->comm, s->pid, s->tid, s->cpu,
		(unsigned long long)(s->time / 1000000000ull),
		(unsigned long long)(s->time % 1000000000ull / 1000),
		(unsigned long long)(s->period ? s->period : 1), sc->event);
	for (size_t i = 0; i < s->nframes; i++) {
		const ps_sym_frame *fr = &s->frames[i];
		const char *mod = fr->module && *fr->module ? fr->module : "unknown";
		if (fr->resolved && !fr->inlined)
			fprintf(f, "\t%16llx %s+0x%llx (%s)\n", (unsigned long long)fr->addr,
				fr->name, (unsigned long long)fr->offset, mod);
		else if (fr->resolved)
			fprintf(f, "\t%16llx %s (inlined) (%s)\n", (unsigned long long)fr->addr,
				fr->name, mod);
		else
			fprintf(f, "\t%16llx [unknown] (%s)\n", (unsigned long long)fr->addr, mod);
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

static const char script_usage[] =
	"usage: perfsample script [-i TRACE | TRACE] [options]\n"
	"\n"
	"Prints the samples of a trace as `perf script` does, so FlameGraph's\n"
	"stackcollapse-perf.pl and gprof2dot -f perf read them. Inlined functions are left\n"
	"out unless --inline asks, as perf script does; every sample's header names its PID\n"
	"and TID, so --pid and --tid change nothing.\n";

int cmd_script(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	s.sym.inline_frames = 0;
	/* Only a trace has samples to print: folded and perf-script text are not inputs here. */
	const struct opt options[] = {
		OPT_GROUP("input:"),
		OPT_STRING('i', "input-file", &s.trace, "TRACE",
			   "the trace (default perfsample.data; an operand is one too)"),
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
	const char *ev = source_trace_meta(&s, "event");
	struct script_ctx sc = {ev ? ev : "cpu-clock", stdout};
	int err = source_walk(&s, script_sample, &sc);
	stdout_done(err);
	return 0;
}
