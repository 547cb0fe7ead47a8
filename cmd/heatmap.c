/* perfsample heatmap: FlameScope's sub-second offset heat map of a trace's samples, as an
 * SVG whose cells draw the flame graph of their range, or as CSV. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "render/ps_heatmap.h"

static const char heatmap_usage[] =
	"usage: perfsample heatmap [-i TRACE] [--csv] > heat.svg\n"
	"\n"
	"A sub-second offset heat map of the samples (FlameScope's layout): columns are\n"
	"seconds from the start of the recording, rows are 20 ms offsets within the second,\n"
	"colour is the sample count. Click a cell, or drag from one cell to another, for the\n"
	"flame graph of that range and the command that writes it\n"
	"(perfsample flamegraph --time START,END).\n";

int cmd_heatmap(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	int csv = 0;
	const char *title = NULL;
	const struct opt options[] = {
		OPT_GROUP("input:"),
		OPT_STRING('i', "input-file", &s.trace, "TRACE",
			   "the trace (default perfsample.data; an operand is one too)"),
		OPT_GROUP("filters:"),
		SOURCE_FILTER_OPTIONS(&s),
		OPT_GROUP("names:"),
		SOURCE_NAME_OPTIONS(&s),
		OPT_GROUP("output:"),
		OPT_BOOL(0, "csv", &csv, "second,offset_ms,samples, one line per cell"),
		OPT_STRING(0, "title", &title, "TEXT", "the title (default: Heat map of TRACE)"),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, heatmap_usage, 0);
	source_operands(&s, "heatmap", argc, argv);
	struct trace_summary sum;
	ps_profile *p = load_profile(&s, PS_PROFILE_SAMPLES, &sum);
	uint64_t left = 0;
	char deftitle[600];
	snprintf(deftitle, sizeof(deftitle), "Heat map of %s", source_trace_path(&s));
	ps_heatmap_opts o = {ps_trace_summary_start(&sum.t), title ? title : deftitle, NULL, &left};
	int err = csv ? ps_heatmap_csv(p, &o, stdout) : ps_heatmap_svg(p, &o, stdout);
	if (left)
		warn("%llu samples more than %d s after the start are left out of the map",
		     (unsigned long long)left, PS_HEATMAP_MAX_SECONDS);
	ps_profile_free(p);
	stdout_done(err);
	return 0;
}
