/* perfsample report: the top functions by self and total samples, as text. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "render/ps_report.h"

/* --sort: self or total (the order), or perf report's keys: comm, dso, sym in any order. */
static void cb_sort(const struct opt *o, const char *arg)
{
	ps_report_opts *ro = o->value;
	if (!strcmp(arg, "total") || !strcmp(arg, "self")) {
		ro->sort_total = !strcmp(arg, "total");
		return;
	}
	memset(ro->keys, 0, sizeof(ro->keys));
	size_t n = 0;
	for (const char *k = arg; *k;) {
		size_t len = strcspn(k, ",");
		enum ps_report_key key = len == 4 && !strncmp(k, "comm", 4) ? PS_REPORT_COMM
					 : len == 3 && !strncmp(k, "dso", 3)  ? PS_REPORT_DSO
					 : len == 3 && !strncmp(k, "sym", 3)  ? PS_REPORT_SYM
									      : 0;
		for (size_t i = 0; key && i < n; i++)
			if (ro->keys[i] == key)
				key = 0; /* twice */
		if (!key || n == 3)
			die_usage("invalid --sort '%s' (self, total, or keys comm,dso,sym in any order)",
				  arg);
		ro->keys[n++] = key;
		k += len + (k[len] == ',');
	}
	if (!n)
		die_usage("invalid --sort '' (self, total, or keys comm,dso,sym in any order)");
}

/* -g: perf report's call-graph spec, e.g. "caller", "callee", "graph,0.5,caller", "none". */
static void cb_graph(const struct opt *o, const char *arg)
{
	ps_report_opts *ro = o->value;
	ro->graph = PS_REPORT_GRAPH_CALLEE;
	for (const char *k = arg; *k;) {
		size_t len = strcspn(k, ",");
		char *end;
		if (len == 6 && !strncmp(k, "caller", 6))
			ro->graph = PS_REPORT_GRAPH_CALLER;
		else if (len == 6 && !strncmp(k, "callee", 6))
			ro->graph = PS_REPORT_GRAPH_CALLEE;
		else if (len == 4 && !strncmp(k, "none", 4))
			ro->graph = PS_REPORT_GRAPH_NONE;
		else if (!(len == 5 && !strncmp(k, "graph", 5)) &&
			 !(len && (strtod(k, &end), end == k + len)))
			die_usage("invalid -g '%s' (caller, callee or none; perf's "
				  "graph,THRESHOLD,ORDER is accepted)",
				  arg);
		k += len + (k[len] == ',');
	}
}

static void cb_children(const struct opt *o, const char *arg)
{
	(void)arg;
	ps_report_opts *ro = o->value;
	/* perf: --children sorts by what functions and their callees cost, --no-children by
	 * their own samples and shows only those. */
	if (o->defval) {
		ro->sort_total = 1;
		ro->no_total = 0;
	} else {
		ro->sort_total = 0;
		ro->no_total = 1;
	}
}

static const char report_usage[] =
	"usage: perfsample report [-i TRACE | --folded FILE|- | --input FORMAT FILE|-] [options]\n"
	"\n"
	"The top functions by self samples (where the CPU was) and total samples (on the\n"
	"stack), as text. With --pid or --tid, processes or threads are rows too.\n";

static int stdio_flag;

int cmd_report(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_report_opts ro = {.limit = 30};
	uint64_t limit = ro.limit;
	const struct opt options[] = {
		SOURCE_OPTIONS(&s),
		OPT_GROUP("frames:"),
		SOURCE_LABEL_OPTIONS(&s),
		OPT_GROUP("report:"),
		OPT_CALLBACK('s', "sort", &ro, "KEYS",
			     "self or total: the order of the rows (default self); or perf "
			     "report's keys comm,dso,sym in any order: what a row is",
			     cb_sort),
		OPT_U64('n', "limit", &limit, "N", "at most N rows, 0 for all (default 30)", 0,
			SIZE_MAX),
		OPT_DOUBLE(0, "percent-limit", &ro.percent_limit, "PCT",
			   "leave out rows below PCT percent (of self, or total with --children)",
			   0, 100),
		{.type = OPT_T_CALLBACK, .long_name = "children", .value = &ro, .defval = 1,
		 .help = "sort by total (the function and its callees), as perf report", .cb = cb_children},
		{.type = OPT_T_CALLBACK, .long_name = "no-children", .value = &ro, .defval = 0,
		 .help = "self only: sorted by and showing the function's own samples",
		 .cb = cb_children},
		OPT_CALLBACK('g', "call-graph", &ro, "ORDER",
			     "under each row, its stacks as perf report's call graph: callee "
			     "(from the function out to its callers) or caller",
			     cb_graph),
		OPT_BOOL(0, "stdio", &stdio_flag, "text output (the only kind; accepted for perf's "
			 "habit)"),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, report_usage, 0);
	source_operands(&s, "report", argc, argv);
	ro.limit = (size_t)limit;
	/* The process root is no function, unless --pid or --tid asked for processes or
	 * threads as rows. */
	ro.keep_process = s.pid_root || s.tid_root;
	ps_profile *p = load_profile(&s, 0, NULL);
	if (s.sym.heap)
		ro.also_col = 2; /* the view's objects (column 1) beside its bytes */
	stdout_done(ps_report_render(p, &ro, stdout));
	ps_profile_free(p);
	return 0;
}
