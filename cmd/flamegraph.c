/* perfsample flamegraph and diff: interactive SVG flame graphs, and differential ones. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "formats/ps_error.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "render/ps_flame.h"

static void cb_flame(const struct opt *o, const char *arg)
{
	if (ps_flame_opt_set(o->value, o->long_name, arg))
		die_usage("invalid --%s '%s'", o->long_name, arg ? arg : "");
}

/* flamegraph.pl's options, as a table of ours: one entry per ps_flame_optdefs entry, so
 * what the renderer accepts is what is parsed and listed. */
static const struct opt *flame_options(ps_flame_opts *fo)
{
	size_t n = 0;
	while (ps_flame_optdefs[n].name)
		n++;
	struct opt *t = arg_alloc(n + 1, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		const ps_flame_optdef *d = &ps_flame_optdefs[i];
		char *argh = NULL;
		if (d->takes_value) {
			argh = arg_strdup(d->name);
			for (char *p = argh; *p; p++)
				*p = (char)toupper((unsigned char)*p);
		}
		t[i] = (struct opt)OPT_CALLBACK(0, d->name, fo, argh, d->help, cb_flame);
	}
	t[n] = (struct opt)OPT_END();
	return t;
}

static void render_flame(ps_profile *p, ps_flame_opts *fo, const struct trace_summary *sum)
{
	/* Lost or throttled samples are part of the picture's truth: say so under the title. */
	char subtitle[128];
	if (sum && !fo->subtitle && (sum->t.lost || sum->t.throttled)) {
		snprintf(subtitle, sizeof(subtitle), "warning: %llu samples lost, %llu throttled",
			 (unsigned long long)sum->t.lost, (unsigned long long)sum->t.throttled);
		fo->subtitle = subtitle;
	}
	stdout_done(ps_flame_render(p, fo, stdout));
}

static const char flamegraph_usage[] =
	"usage: perfsample flamegraph [-i TRACE | --folded FILE|- | --input FORMAT FILE|-]\n"
	"                             [options] > out.svg\n"
	"\n"
	"Writes an interactive SVG flame graph: click to zoom, Ctrl-F or the Search button\n"
	"to highlight frames matching a regex.\n";

int cmd_flamegraph(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_flame_opts fo;
	ps_flame_opts_init(&fo);
	const struct opt options[] = {
		SOURCE_OPTIONS(&s),
		OPT_GROUP("frames (colour them with --colors java or js):"),
		SOURCE_LABEL_OPTIONS(&s),
		OPT_GROUP("flamegraph.pl's options:"),
		OPT_INCLUDE(flame_options(&fo)),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, flamegraph_usage, 0);
	source_operands(&s, "flamegraph", argc, argv);
	/* Blocked time is drawn as flamegraph.pl's off-CPU graphs are: the io palette. */
	if (s.sym.offcpu == PS_OFFCPU_ONLY && fo.colors == PS_FLAME_HOT)
		fo.colors = PS_FLAME_IO;
	if (!fo.title && s.sym.offcpu == PS_OFFCPU_ONLY)
		fo.title = "Off-CPU Time Flame Graph";
	if (!fo.title && s.sym.offcpu == PS_OFFCPU_WALL)
		fo.title = "Wall-Clock Time Flame Graph";
	struct trace_summary sum;
	ps_profile *p = load_profile(&s, fo.flamechart ? PS_PROFILE_SAMPLES : 0, &sum);
	render_flame(p, &fo, source_is_trace(&s) ? &sum : NULL);
	ps_profile_free(p);
	return 0;
}

static const char diff_usage[] =
	"usage: perfsample diff [options] BEFORE AFTER > diff.svg\n"
	"\n"
	"A differential flame graph (as difffolded.pl + flamegraph.pl): widths from AFTER,\n"
	"red where a frame grew, blue where it shrank (--negate swaps). BEFORE and AFTER are\n"
	"traces, or what --input says.\n";

int cmd_diff(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_flame_opts fo;
	ps_flame_opts_init(&fo);
	int folded = 0, normalize = 0;
	const struct opt options[] = {
		OPT_GROUP("input:"),
		OPT_CALLBACK(0, "input", &s, "FORMAT",
			     "BEFORE and AFTER are FORMAT: trace (default), folded, or perf-script",
			     source_cb_input),
		OPT_BOOL(0, "folded", &folded, "BEFORE and AFTER are folded stacks (--input folded)"),
		SOURCE_READ_OPTIONS(&s),
		OPT_BOOL('n', "normalize", &normalize,
			 "scale BEFORE to AFTER's total first (difffolded.pl -n)"),
		OPT_GROUP("root frame:"),
		SOURCE_ROOT_OPTIONS(&s),
		OPT_GROUP("filters (trace input, both sides):"),
		SOURCE_FILTER_OPTIONS(&s),
		OPT_GROUP("names (trace input):"),
		SOURCE_NAME_OPTIONS(&s),
		OPT_GROUP("frames:"),
		SOURCE_LABEL_OPTIONS(&s),
		OPT_GROUP("flamegraph.pl's options:"),
		OPT_INCLUDE(flame_options(&fo)),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, diff_usage, 0);
	if (argc < 2)
		usage_error("diff", "diff needs two profiles: BEFORE AFTER");
	if (argc > 2)
		usage_error("diff", "unexpected argument '%s'", argv[2]);
	const char *format = s.input_format ? s.input_format : "trace";
	if (folded && strcmp(format, "trace") && strcmp(format, "folded"))
		usage_error("diff", "give --folded or --input, not both");
	if (folded)
		format = "folded";
	ps_profile *prof[2];
	for (int i = 0; i < 2; i++) {
		struct source one = s;
		source_set_input(&one, "diff", format, argv[i]);
		prof[i] = load_profile(&one, 0, NULL);
	}
	/* Every stack of either side, with its before and after counts. */
	ps_profile *d;
	int err = ps_profile_diff(prof[0], prof[1], normalize, &d);
	if (err)
		die("cannot compare the profiles: %s", ps_strerror(err));
	render_flame(d, &fo, NULL);
	ps_profile_free(d);
	ps_profile_free(prof[0]);
	ps_profile_free(prof[1]);
	return 0;
}
