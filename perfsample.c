/* perfsample: main and the command table. Each command lives in cmd/ (one file each, with
 * its options in one table: cmd/options.h); cmd/source.h is where their stacks come from. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/util.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"record", cmd_record, "sample a command, processes or the whole system"},
	{"fold", cmd_fold, "folded stacks (FlameGraph's format)"},
	{"flamegraph", cmd_flamegraph, "interactive SVG flame graph"},
	{"diff", cmd_diff, "differential flame graph of two profiles"},
	{"callgraph", cmd_callgraph, "gprof2dot-style call graph (DOT)"},
	{"report", cmd_report, "top functions by self and total samples"},
	{"info", cmd_info, "what a trace holds"},
	{"script", cmd_script, "samples as perf-script text"},
	{"export", cmd_export, "pprof, speedscope or callgrind files"},
	{"heap-timeline", cmd_heap_timeline, "live heap over time of a --heap trace (SVG)"},
	/* the system view */
	{"plot", cmd_plot, "statistics over time as SVG line charts, runs overlaid"},
	{"heatmap", cmd_heatmap, "sub-second offset heat map; its cells draw their flame graph"},
	{"use", cmd_use, "USE checklist: which resource is the bottleneck, what to run next"},
	{"stat", cmd_stat, "system and process statistics over time, into a trace or CSV"},
	{"agent", cmd_agent, "profiles and metrics over HTTP (Prometheus, Parca, Pyroscope)"},
	{NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: perfsample COMMAND [options]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->summary);
	fprintf(out, "\n'perfsample COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	/* A profiler has no business running with borrowed privileges. */
	if (getuid() != geteuid() || getgid() != getegid())
		die("refusing to run setuid or setgid; run it as the user who profiles");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("perfsample %s\n", PS_VERSION);
		return 0;
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	die_usage("unknown command '%s' (see 'perfsample --help')", argv[1]);
}
