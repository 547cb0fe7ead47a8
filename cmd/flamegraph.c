/* perfsample flamegraph and diff: interactive SVG flame graphs, and differential ones. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
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
	if (sum && !fo->subtitle && (sum->lost || sum->throttled)) {
		snprintf(subtitle, sizeof(subtitle), "warning: %llu samples lost, %llu throttled",
			 (unsigned long long)sum->lost, (unsigned long long)sum->throttled);
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
	struct trace_summary sum;
	ps_profile *p = load_profile(&s, fo.flamechart ? PS_PROFILE_ORDERED : 0, &sum);
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
	ps_profile *d = ps_profile_new(0);
	if (!d)
		die("out of memory");
	uint64_t t0 = ps_profile_total(prof[0]), t1 = ps_profile_total(prof[1]);
	double scale = normalize && t0 ? (double)t1 / (double)t0 : 1.0;
	/* Every stack of either side, with its before and after counts. */
	size_t n0, n1;
	const ps_stack *a = ps_profile_stacks(prof[0], &n0);
	const ps_stack *b = ps_profile_stacks(prof[1], &n1);
	size_t i = 0, j = 0;
	while (i < n0 || j < n1) {
		int cmp;
		if (i == n0)
			cmp = 1;
		else if (j == n1)
			cmp = -1;
		else {
			size_t m = a[i].len < b[j].len ? a[i].len : b[j].len;
			cmp = memcmp(a[i].folded, b[j].folded, m);
			if (!cmp)
				cmp = (a[i].len > b[j].len) - (a[i].len < b[j].len);
		}
		uint64_t before = cmp <= 0 ? (uint64_t)llround((double)a[i].count * scale) : 0;
		uint64_t after = cmp >= 0 ? b[j].count : 0;
		const ps_stack *st = cmp <= 0 ? &a[i] : &b[j];
		if (ps_profile_add2(d, st->folded, st->len, before, after))
			die("out of memory");
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
	}
	render_flame(d, &fo, NULL);
	ps_profile_free(d);
	ps_profile_free(prof[0]);
	ps_profile_free(prof[1]);
	return 0;
}
