/* The heat map and the plot renderers on known profiles: cells counted at the right
 * second and offset, samples past the bound left out and counted, hostile frame names and
 * input names escaped in the SVGs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_profile.h"
#include "render/ps_heatmap.h"
#include "render/ps_plot.h"

static ps_profile *profile(const char *leaf, const uint64_t *times, size_t n)
{
	ps_profile *p = ps_profile_new(PS_PROFILE_SAMPLES);
	cr_assert_not_null(p);
	cr_assert_geq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id f[2];
	cr_assert_eq(ps_profile_frame_named(p, "main", 4, PS_FRAME_USER, &f[0]), 0);
	cr_assert_eq(ps_profile_frame_named(p, leaf, strlen(leaf), PS_FRAME_USER, &f[1]), 0);
	ps_node_id node;
	cr_assert_eq(ps_profile_stack(p, f, 2, &node), 0);
	for (size_t i = 0; i < n; i++) {
		ps_profile_sample s = {.time = times[i], .pid = 1, .tid = 1, .node = node};
		uint64_t one = 1;
		cr_assert_eq(ps_profile_add_sample(p, &s, &one), 0);
	}
	return p;
}

static char *render(int csv, ps_profile *p, const ps_heatmap_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(csv ? ps_heatmap_csv(p, o, f) : ps_heatmap_svg(p, o, f), 0);
	fclose(f);
	return buf;
}

Test(heatmap, cells_and_bounds)
{
	const uint64_t t0 = 5000000000ull; /* the recording's start */
	uint64_t times[] = {t0 + 10000000ull,		     /* 0 s, 0 ms */
			    t0 + 19999999ull,		     /* 0 s, 0 ms */
			    t0 + 20000000ull,		     /* 0 s, 20 ms */
			    t0 + 2999999999ull,		     /* 2 s, 980 ms */
			    t0 - 1,			     /* before the start: at 0 */
			    t0 + 90000ull * 1000000000ull}; /* past a day: left out */
	ps_profile *p = profile("burn", times, 6);
	uint64_t left = 0;
	ps_heatmap_opts o = {t0, "t", NULL, &left};
	char *csv = render(1, p, &o);
	cr_assert_eq(left, 1);
	cr_assert(!strncmp(csv, "second,offset_ms,samples\n0,0,3\n0,20,1\n0,40,0\n", 45), "%.60s", csv);
	cr_assert_not_null(strstr(csv, "\n2,980,1\n"));
	size_t lines = 0;
	for (char *c = csv; *c; c++)
		lines += *c == '\n';
	cr_assert_eq(lines, 1 + 3 * 50);
	free(csv);
	ps_profile_free(p);
}

Test(heatmap, hostile_names_stay_inside_the_script)
{
	uint64_t t[] = {1};
	ps_profile *p = profile("x]]></script><script>alert(1)</script>&", t, 1);
	ps_heatmap_opts o = {0, "<b>title</b>", NULL, NULL};
	char *svg = render(0, p, &o);
	const char *cdata = strstr(svg, "<![CDATA[");
	cr_assert_not_null(cdata);
	/* one CDATA section, closed once at the end of the script */
	const char *end = strstr(cdata, "]]>");
	cr_assert_not_null(end);
	cr_assert_not_null(strstr(end, "</script>\n</svg>"));
	cr_assert_null(strstr(end + 3, "]]>"));
	cr_assert_null(strstr(svg, "<b>"));
	cr_assert_not_null(strstr(svg, "&lt;b&gt;title"));
	free(svg);
	ps_profile_free(p);
}

Test(plot, panels_lines_and_escaped_names)
{
	double t[] = {0, 1, 2}, v[] = {10, 50, NAN};
	ps_plot_line lines[2] = {{3, t, v}, {0, NULL, NULL}};
	ps_plot_panel panel = {"cpu busy", "percent", lines};
	const char *inputs[] = {"a<b>.data", "b&c.data"};
	double s0[] = {5, 7};
	const double *samples[] = {s0, NULL};
	size_t nsec[] = {2, 0};
	ps_plot pl = {NULL, 2, inputs, 1, &panel, samples, nsec};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(ps_plot_svg(&pl, f), 0);
	fclose(f);
	cr_assert_not_null(strstr(buf, "data-metric=\"cpu busy\""));
	cr_assert_not_null(strstr(buf, "data-metric=\"CPU samples per second\""));
	cr_assert_not_null(strstr(buf, "a&lt;b&gt;.data"));
	cr_assert_not_null(strstr(buf, "b&amp;c.data"));
	/* one line (the second input has no points), two points (NaN skipped) */
	const char *pl1 = strstr(buf, "<polyline");
	cr_assert_not_null(pl1);
	cr_assert_null(strstr(pl1 + 1, "<polyline"));
	free(buf);
}
