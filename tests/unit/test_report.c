/* Report (render/ps_report): top functions read from the profile's trie. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"
#include "render/ps_report.h"

static ps_profile *folded(unsigned flags, const char *const *lines)
{
	ps_profile *p = ps_profile_new(flags);
	cr_assert_not_null(p);
	for (; *lines; lines++) {
		const char *sp = strrchr(*lines, ' ');
		cr_assert_eq(
		    ps_profile_add_folded(p, *lines, (size_t)(sp - *lines), strtoull(sp + 1, 0, 10), 0), 0);
	}
	return p;
}

static char *report(ps_profile *p, const ps_report_opts *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	int err = ps_report_render(p, o, f);
	cr_assert_eq(err, 0, "ps_report_render: %s", ps_strerror(err));
	fclose(f);
	return text;
}

/* Folded text without a process column: its first frame is a function (gprof2dot keeps
 * it too). */
Test(report, first_frame_of_folded_text_is_a_function)
{
	const char *lines[] = {"main;a 3", "main;b 1", NULL};
	ps_profile *p = folded(0, lines);
	ps_report_opts o = {0};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 4 samples in 2 stacks\n"
			       "#  self%   total%        self  function\n"
			       "   75.00%  75.00%          3  a\n"
			       "   25.00%  25.00%          1  b\n"
			       "    0.00% 100.00%          0  main\n");
	free(text);
	ps_profile_free(p);
}

/* The process root (comm, comm-PID) is no function, whether folded text said so or the
 * frames were built by hand. */
Test(report, process_frames_are_left_out)
{
	const char *lines[] = {"app;main;a 3", "app;main;b 1", "app 2", NULL};
	ps_profile *p = folded(PS_PROFILE_FOLDED_PROCESS, lines);
	ps_report_opts o = {0};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 6 samples in 3 stacks\n"
			       "#  self%   total%        self  function\n"
			       "   50.00%  50.00%          3  a\n"
			       "   16.67%  16.67%          1  b\n"
			       "    0.00%  66.67%          0  main\n");
	free(text);
	ps_profile_free(p);

	p = ps_profile_new(0);
	cr_assert_geq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id st[2];
	cr_assert_eq(ps_profile_frame_named(p, "db-7", 4, PS_FRAME_PROCESS, &st[0]), 0);
	cr_assert_eq(ps_profile_frame_named(p, "main", 4, PS_FRAME_USER, &st[1]), 0);
	ps_node_id n;
	cr_assert_eq(ps_profile_stack(p, st, 2, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 5), 0);
	text = report(p, &o);
	cr_assert_null(strstr(text, "db-7"));
	cr_assert_not_null(strstr(text, "  100.00% 100.00%          5  main\n"));
	free(text);
	ps_profile_free(p);
}

Test(report, recursion_counts_once_per_stack)
{
	const char *lines[] = {"f;f;f;g 1", "f;g;f 1", "h 2", NULL};
	ps_profile *p = folded(0, lines);
	ps_report_opts o = {.sort_total = 1};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 4 samples in 3 stacks\n"
			       "#  self%   total%        self  function\n"
			       "   50.00%  50.00%          2  h\n"
			       "   25.00%  50.00%          1  f\n"
			       "   25.00%  50.00%          1  g\n");
	free(text);
	ps_profile_free(p);
}

/* Functions are label + module: the same name in two binaries is two rows, and the module
 * column (base names) appears when a row has one. */
Test(report, modules_come_from_mappings)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_geq(ps_profile_add_type(p, "samples", "count"), 0);
	uint32_t libc, app;
	cr_assert_eq(ps_profile_mapping(p, &(ps_mapping){.path = "/usr/lib/libc.so.6"}, &libc), 0);
	cr_assert_eq(ps_profile_mapping(p, &(ps_mapping){.path = "/srv/app"}, &app), 0);
	ps_frame_id comm, main_, mc1, mc2, mc3;
	cr_assert_eq(ps_profile_frame_named(p, "app", 3, PS_FRAME_PROCESS, &comm), 0);
	cr_assert_eq(ps_profile_frame(p, &(ps_frame){.name = "main", .mapping = app}, &main_), 0);
	/* two addresses of one function, and a copy of it in the other binary */
	cr_assert_eq(
	    ps_profile_frame(p, &(ps_frame){.name = "memcpy", .mapping = libc, .addr = 1}, &mc1),
	    0);
	cr_assert_eq(
	    ps_profile_frame(p, &(ps_frame){.name = "memcpy", .mapping = libc, .addr = 2}, &mc2),
	    0);
	cr_assert_eq(ps_profile_frame(p, &(ps_frame){.name = "memcpy", .mapping = app}, &mc3), 0);
	const ps_frame_id s1[] = {comm, main_, mc1}, s2[] = {comm, main_, mc2},
			  s3[] = {comm, main_, mc3};
	ps_node_id n;
	cr_assert_eq(ps_profile_stack(p, s1, 3, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 2), 0);
	cr_assert_eq(ps_profile_stack(p, s2, 3, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 1), 0);
	cr_assert_eq(ps_profile_stack(p, s3, 3, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 1), 0);
	ps_report_opts o = {0};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 4 samples in 3 stacks\n"
			       "#  self%   total%        self  module     function\n"
			       "   75.00%  75.00%          3  libc.so.6  memcpy\n"
			       "   25.00%  25.00%          1  app        memcpy\n"
			       "    0.00% 100.00%          0  app        main\n");
	free(text);
	/* the column goes with the rows that have modules */
	o.limit = 1;
	o.sort_total = 1;
	text = report(p, &o);
	cr_assert_not_null(strstr(text, "#  self%   total%        self  module  function\n"));
	cr_assert_not_null(strstr(text, "0.00% 100.00%          0  app     main\n"));
	free(text);
	ps_profile_free(p);
}

/* A chosen column: its values, and its unit in the header when it is not a count. */
Test(report, value_column_and_unit)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	cr_assert_eq(ps_profile_add_type(p, "off-cpu", "nanoseconds"), 1);
	ps_frame_id a, b;
	cr_assert_eq(ps_profile_frame_named(p, "a", 1, PS_FRAME_USER, &a), 0);
	cr_assert_eq(ps_profile_frame_named(p, "b", 1, PS_FRAME_USER, &b), 0);
	ps_node_id na, nb;
	cr_assert_eq(ps_profile_stack(p, &a, 1, &na), 0);
	cr_assert_eq(ps_profile_child(p, na, b, &nb), 0);
	cr_assert_eq(
	    ps_profile_add_sample(p, &(ps_profile_sample){.node = na}, (uint64_t[]){3, 1000}), 0);
	cr_assert_eq(
	    ps_profile_add_sample(p, &(ps_profile_sample){.node = nb}, (uint64_t[]){1, 3000}), 0);
	ps_report_opts o = {.col = 1};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 4000 nanoseconds of off-cpu in 2 stacks\n"
			       "#  self%   total%        self  function\n"
			       "   75.00%  75.00%       3000  b\n"
			       "   25.00% 100.00%       1000  a\n");
	free(text);
	o.col = 0;
	text = report(p, &o);
	cr_assert_not_null(strstr(text, "# 4 samples in 2 stacks\n"));
	cr_assert_not_null(strstr(text, "   75.00% 100.00%          3  a\n"));
	free(text);
	o.col = 2;
	FILE *null = fopen("/dev/null", "w");
	cr_assert_eq(ps_report_render(p, &o, null), -EINVAL);
	fclose(null);
	ps_profile_free(p);
}

/* Zero samples, no columns at all, or a column of zeros: a header and no rows. */
Test(report, empty_profiles)
{
	ps_profile *p = ps_profile_new(0);
	ps_report_opts o = {.limit = 30};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 0 samples in 0 stacks\n"
			       "#  self%   total%        self  function\n");
	free(text);
	cr_assert_eq(ps_profile_add_folded(p, "a;b", 3, 0, 0), 0);
	text = report(p, &o);
	cr_assert_str_eq(text, "# 0 samples in 0 stacks\n"
			       "#  self%   total%        self  function\n");
	free(text);
	ps_profile_free(p);
}

/* perf report's habits: rows by command (the process root), --no-children, a percent
 * limit, and the call graph under each row in callee and caller order. */
Test(report, perf_keys_limits_and_call_graphs)
{
	const char *lines[] = {"app;main;work;hot 6", "app;main;hot 3", "tool;main;hot 1",
			       "app;main;cold 0", NULL};
	ps_profile *p = folded(PS_PROFILE_FOLDED_PROCESS, lines);
	ps_report_opts o = {.keys = {PS_REPORT_COMM, PS_REPORT_SYM}, .no_total = 1,
			    .percent_limit = 5};
	char *text = report(p, &o);
	cr_assert_str_eq(text, "# 10 samples in 3 stacks\n"
			       "#  self%         self  command  function\n"
			       "   90.00%          9  app      hot\n"
			       "   10.00%          1  tool     hot\n",
			 "%s", text);
	free(text);
	ps_report_opts g = {.keys = {PS_REPORT_SYM}, .limit = 1, .graph = PS_REPORT_GRAPH_CALLEE};
	text = report(p, &g);
	cr_assert_str_eq(text, "# 10 samples in 3 stacks\n"
			       "#  self%   total%        self  function\n"
			       "  100.00% 100.00%         10  hot\n"
			       "            |\n"
			       "            ---hot\n"
			       "               |\n"
			       "               |--60.00%--work\n"
			       "               |          main\n"
			       "               |\n"
			       "                --40.00%--main\n"
			       "\n",
			 "%s", text);
	free(text);
	g.graph = PS_REPORT_GRAPH_CALLER;
	text = report(p, &g);
	cr_assert_str_eq(text, "# 10 samples in 3 stacks\n"
			       "#  self%   total%        self  function\n"
			       "  100.00% 100.00%         10  hot\n"
			       "            |\n"
			       "            ---main\n"
			       "               |\n"
			       "               |--60.00%--work\n"
			       "               |          hot\n"
			       "               |\n"
			       "                --40.00%--hot\n"
			       "\n",
			 "%s", text);
	free(text);
	ps_profile_free(p);
}
