/* Call graph (render/ps_callgraph): figures on hand-made profiles, the DOT text, graphviz
 * accepting it, and gprof2dot's figures for every perf-script input of the corpus. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_perfscript.h"
#include "formats/ps_profile.h"
#include "formats/ps_util.h"
#include "render/ps_callgraph.h"

#define CORPUS "tests/data/corpus/"

/* Folded lines of flags' kind: with PS_PROFILE_FOLDED_PROCESS (profile_of) the first frame
 * is the process root, as stackcollapse-perf.pl writes them. */
static ps_profile *folded_of(unsigned flags, const char *const *lines)
{
	ps_profile *p = ps_profile_new(flags);
	cr_assert_not_null(p);
	for (; *lines; lines++) {
		const char *sp = strrchr(*lines, ' ');
		cr_assert_not_null(sp);
		cr_assert_eq(
		    ps_profile_add_folded(p, *lines, (size_t)(sp - *lines), strtoull(sp + 1, 0, 10), 0), 0);
	}
	return p;
}

static ps_profile *profile_of(const char *const *lines)
{
	return folded_of(PS_PROFILE_FOLDED_PROCESS, lines);
}

static ps_cg *build(ps_profile *p, const ps_cg_opts *o)
{
	ps_cg *g = NULL;
	int err = ps_cg_build(p, o, &g);
	cr_assert_eq(err, 0, "ps_cg_build: %s", ps_strerror(err));
	return g;
}

static const ps_cg_node *node(const ps_cg *g, const char *name, size_t *index)
{
	for (size_t i = 0; i < ps_cg_nnodes(g); i++)
		if (strcmp(ps_cg_node_at(g, i)->name, name) == 0) {
			if (index)
				*index = i;
			return ps_cg_node_at(g, i);
		}
	return NULL;
}

static const ps_cg_edge *edge(const ps_cg *g, const char *caller, const char *callee)
{
	size_t a, b;
	if (!node(g, caller, &a) || !node(g, callee, &b))
		return NULL;
	for (size_t i = 0; i < ps_cg_nedges(g); i++) {
		const ps_cg_edge *e = ps_cg_edge_at(g, i);
		if (e->caller == a && e->callee == b)
			return e;
	}
	return NULL;
}

static void assert_node(const ps_cg *g, const char *name, double total, double self)
{
	const ps_cg_node *n = node(g, name, NULL);
	cr_assert_not_null(n, "no node %s", name);
	cr_assert_float_eq(n->total, total, 1e-9, "%s total %g, expected %g", name, n->total,
			   total);
	cr_assert_float_eq(n->self, self, 1e-9, "%s self %g, expected %g", name, n->self, self);
}

static void assert_edge(const ps_cg *g, const char *caller, const char *callee, double share)
{
	const ps_cg_edge *e = edge(g, caller, callee);
	cr_assert_not_null(e, "no edge %s -> %s", caller, callee);
	cr_assert(e->has_share);
	cr_assert_float_eq(e->share, share, 1e-9, "%s -> %s: %g, expected %g", caller, callee,
			   e->share, share);
}

static char *render(ps_profile *p, const ps_cg_opts *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	int err = ps_cg_render(p, o, f);
	cr_assert_eq(err, 0, "ps_cg_render: %s", ps_strerror(err));
	fclose(f);
	return text;
}

static int have_dot(void) { return system("command -v dot >/dev/null 2>&1") == 0; }

/* Runs graphviz on the text: it must exit 0 and say nothing (no syntax warning). */
static void assert_dot_accepts(const char *text)
{
	char path[] = "/tmp/ps-cg-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	char cmd[256], errpath[sizeof(path) + 4];
	snprintf(errpath, sizeof(errpath), "%s.err", path);
	snprintf(cmd, sizeof(cmd), "dot -Tsvg %s >/dev/null 2>%s", path, errpath);
	int rc = system(cmd);
	FILE *e = fopen(errpath, "r");
	char msg[512] = "";
	size_t n = e ? fread(msg, 1, sizeof(msg) - 1, e) : 0;
	msg[n] = 0;
	if (e)
		fclose(e);
	unlink(path);
	unlink(errpath);
	cr_assert_eq(rc, 0, "dot failed: %s", msg);
	cr_assert_eq(n, 0, "dot complained: %s", msg);
}

Test(callgraph, defaults_are_gprof2dots)
{
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	cr_assert_float_eq(o.node_thres, 0.5, 1e-12);
	cr_assert_float_eq(o.edge_thres, 0.1, 1e-12);
	cr_assert_eq(o.keep_process, 0);
	cr_assert_eq(o.col, 0);
	cr_assert_eq(o.exact_edges, 0);
	cr_assert_eq(o.depth, -1);
	cr_assert_null(o.root);
	cr_assert_null(o.leaf);
}

Test(callgraph, totals_self_and_edges)
{
	const char *lines[] = {"app;main;a 3", "app;main;b 1", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_samples(g), 4);
	cr_assert_eq(ps_cg_nnodes(g), 3); /* the process name is no node */
	cr_assert_null(node(g, "app", NULL));
	assert_node(g, "main", 1.0, 0.0);
	assert_node(g, "a", 0.75, 0.75);
	assert_node(g, "b", 0.25, 0.25);
	assert_edge(g, "main", "a", 0.75);
	assert_edge(g, "main", "b", 0.25);
	cr_assert_eq(ps_cg_nedges(g), 2);
	cr_assert_eq(node(g, "a", NULL)->total_samples, 3);
	cr_assert_eq(edge(g, "main", "b")->calls, 1);
	/* nodes in id order, edges by caller */
	cr_assert_str_eq(ps_cg_node_at(g, 0)->name, "a");
	cr_assert_str_eq(ps_cg_node_at(g, 2)->name, "main");
	cr_assert_null(ps_cg_node_at(g, 3));
	cr_assert_null(ps_cg_edge_at(g, 2));
	ps_cg_free(g);
	ps_profile_free(p);
}

/* The text gprof2dot writes for the same graph (its header, theme, formulas). */
Test(callgraph, dot_text_is_gprof2dots)
{
	const char *lines[] = {"app;main;work 3", "app;main 1", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	char *text = render(p, &o);
	const char *expect =
	    "digraph {\n"
	    "\ttooltip=\" \"\n"
	    "\tgraph [fontname=Arial, nodesep=0.125, ranksep=0.25];\n"
	    "\tnode [fontcolor=white, fontname=Arial, height=0, shape=box, style=filled, "
	    "width=0];\n"
	    "\tedge [fontname=Arial];\n"
	    "\tmain [color=\"#ff0000\", fontcolor=\"#ffffff\", fontsize=\"10.00\", "
	    "label=\"main\\n100.00%\\n(25.00%)\"];\n"
	    "\tmain -> work [arrowsize=\"0.87\", color=\"#dada06\", fontcolor=\"#dada06\", "
	    "fontsize=\"10.00\", label=\"75.00%\", labeldistance=\"3.00\", penwidth=\"3.00\"];\n"
	    "\twork [color=\"#dada06\", fontcolor=\"#ffffff\", fontsize=\"10.00\", "
	    "label=\"work\\n75.00%\\n(75.00%)\"];\n"
	    "}\n";
	cr_assert_str_eq(text, expect);
	free(text);
	ps_profile_free(p);
}

Test(callgraph, recursion_counts_once_per_sample)
{
	const char *lines[] = {"app;f;f;f;g 1", "app;f 1", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	assert_node(g, "f", 1.0, 0.5);
	assert_node(g, "g", 0.5, 0.5);
	assert_edge(g, "f", "g", 0.5);
	/* gprof2dot draws the self-call unlabelled, weighted by the function */
	const ps_cg_edge *self = edge(g, "f", "f");
	cr_assert_not_null(self);
	cr_assert_eq(self->has_share, 0);
	cr_assert_eq(self->calls, 2);
	cr_assert_eq(self->samples, 1);
	char *text = render(p, &o);
	cr_assert_not_null(strstr(text, "\tf -> f [arrowsize=\"1.00\", color=\"#ff0000\", "
					"fontcolor=\"#ff0000\", fontsize=\"10.00\", label=\"\""));
	free(text);
	ps_cg_free(g);
	ps_profile_free(p);
}

/* gprof2dot splits a callee's total among its callers by call counts; a call into a cycle
 * by the calls entering the cycle. exact_edges counts the samples holding the pair. */
Test(callgraph, mutual_recursion_shares)
{
	const char *lines[] = {"app;main;a;b;a;b 1", "app;main;a 1", "app;main;x;b 2", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	assert_node(g, "a", 0.5, 0.25);
	assert_node(g, "b", 0.75, 0.75);
	/* calls into b: a->b twice, x->b twice; into the cycle {a, b} from outside it:
	 * main->a 2, x->b 2, and a call from outside is divided by those */
	assert_edge(g, "a", "b", 0.75 * 2 / 4);
	assert_edge(g, "x", "b", 0.75 * 2 / 4);
	assert_edge(g, "main", "a", 0.5 * 2 / 4);
	assert_edge(g, "b", "a", 0.5 * 1 / 3); /* inside the cycle: all calls into a */
	ps_cg_free(g);

	o.exact_edges = 1;
	g = build(p, &o);
	assert_node(g, "b", 0.75, 0.75);
	assert_edge(g, "a", "b", 0.25);
	assert_edge(g, "x", "b", 0.5);
	assert_edge(g, "main", "a", 0.5);
	assert_edge(g, "b", "a", 0.25);
	ps_cg_free(g);
	ps_profile_free(p);
}

Test(callgraph, deep_recursion_does_not_overflow)
{
	/* 200k frames alternating two functions, then a long chain of distinct ones */
	ps_buf b = {0};
	ps_buf_addstr(&b, "app");
	for (int i = 0; i < 100000; i++)
		ps_buf_addstr(&b, ";ping;pong");
	for (int i = 0; i < 50000; i++)
		ps_buf_printf(&b, ";f%d", i);
	ps_profile *p = ps_profile_new(PS_PROFILE_FOLDED_PROCESS);
	cr_assert_eq(ps_profile_add_folded(p, b.data, b.len, 7, 0), 0);
	ps_buf_release(&b);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	assert_node(g, "ping", 1.0, 0.0);
	assert_node(g, "f49999", 1.0, 1.0);
	cr_assert_eq(ps_cg_nnodes(g), 50002);
	ps_cg_free(g);
	ps_profile_free(p);
}

Test(callgraph, thresholds_prune)
{
	/* 1000 samples: c has 4 (0.4% < 0.5%), d 6 (kept); edge main->d stays, e reached
	 * through two callers, one of them below the edge threshold */
	const char *lines[] = {"app;main;big 990", "app;main;c 4", "app;main;d 5", "app;main;d;e 1",
			       NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	cr_assert_null(node(g, "c", NULL));
	cr_assert_null(node(g, "e", NULL)); /* 0.1% */
	cr_assert_not_null(node(g, "d", NULL));
	cr_assert_eq(ps_cg_nnodes(g), 3);
	cr_assert_eq(ps_cg_nedges(g), 2);
	ps_cg_free(g);

	o.node_thres = 0;
	o.edge_thres = 0.2;
	g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 5);
	cr_assert_not_null(edge(g, "main", "c"));
	cr_assert_null(edge(g, "d", "e")); /* 0.1% < 0.2% */
	ps_cg_free(g);

	o.node_thres = -1;
	cr_assert_eq(ps_cg_build(p, &o, &g), -EINVAL);
	cr_assert_null(g);
	ps_profile_free(p);
}

Test(callgraph, root_and_leaf_focus)
{
	const char *lines[] = {"app;main;parse;lex 2", "app;main;parse;alloc 1",
			       "app;main;eval;alloc 3", "app;idle 4", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	o.root = "parse";
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 3); /* parse, lex, alloc */
	cr_assert_null(node(g, "eval", NULL));
	assert_node(g, "alloc", 0.4, 0.4); /* figures stay those of the whole profile */
	cr_assert_eq(ps_cg_nedges(g), 2);
	ps_cg_free(g);

	o.root = NULL;
	o.leaf = "al*c";
	g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 4); /* main, parse, eval, alloc */
	cr_assert_null(node(g, "lex", NULL));
	cr_assert_null(node(g, "idle", NULL));
	ps_cg_free(g);

	o.depth = 1;
	g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 3); /* parse, eval, alloc */
	ps_cg_free(g);

	o.depth = -1;
	o.root = "main";
	o.leaf = "lex";
	g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 3); /* main, parse, lex */
	ps_cg_free(g);

	o.leaf = "nosuch";
	cr_assert_eq(ps_cg_build(p, &o, &g), -ENOENT);
	ps_profile_free(p);
}

Test(callgraph, hide_gives_cost_to_caller)
{
	const char *lines[] = {"app;main;lock;spin 2", "app;main;memcpy 1", "app;main;work 1",
			       NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	const char *hide[] = {"lock", "mem*"};
	o.hide = hide;
	o.nhide = 2;
	ps_cg *g = build(p, &o);
	cr_assert_null(node(g, "lock", NULL));
	cr_assert_null(node(g, "memcpy", NULL));
	assert_node(g, "main", 1.0, 0.25);
	assert_edge(g, "main", "spin", 0.5);
	cr_assert_eq(ps_cg_nnodes(g), 3);
	ps_cg_free(g);
	ps_profile_free(p);
}

Test(callgraph, focus_keeps_samples_through_a_function)
{
	const char *lines[] = {"app;main;parse;lex 2", "app;main;eval 6", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	const char *focus[] = {"parse"};
	o.focus = focus;
	o.nfocus = 1;
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_samples(g), 8);
	cr_assert_null(node(g, "eval", NULL));
	assert_node(g, "main", 0.25, 0.0); /* shares of all samples */
	assert_node(g, "lex", 0.25, 0.25);
	cr_assert_eq(ps_cg_nnodes(g), 3);
	ps_cg_free(g);
	ps_profile_free(p);
}

/* With --pid/--tid the process root ("comm-PID") is kept as the root node. */
Test(callgraph, process_root_kept_on_request)
{
	const char *lines[] = {"app-42;main 3", "db-7;main 1", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	o.keep_process = 1;
	ps_cg *g = build(p, &o);
	assert_node(g, "app-42", 0.75, 0.0);
	assert_node(g, "db-7", 0.25, 0.0);
	assert_node(g, "main", 1.0, 1.0);
	assert_edge(g, "app-42", "main", 0.75);
	ps_cg_free(g);
	char *text = render(p, &o);
	cr_assert_not_null(strstr(text, "\t\"app-42\" -> main ["));
	free(text);
	ps_profile_free(p);
}

Test(callgraph, odd_stacks)
{
	/* a lone process name, a single frame, empty frames */
	const char *lines[] = {"app 5", "app;main 5", "app;;x 2", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_samples(g), 12);
	assert_node(g, "main", 5.0 / 12, 5.0 / 12);
	assert_node(g, "", 2.0 / 12, 0);
	assert_edge(g, "", "x", 2.0 / 12);
	ps_cg_free(g);
	char *text = render(p, &o);
	cr_assert_not_null(strstr(text, "\t\"\" -> x ["));
	if (have_dot())
		assert_dot_accepts(text);
	free(text);
	ps_profile_free(p);
}

Test(callgraph, empty_profile_says_no_samples)
{
	ps_profile *p = ps_profile_new(0);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	char *text = render(p, &o);
	cr_assert_not_null(strstr(text, "label=\"no samples\""));
	cr_assert_null(strstr(text, "->"));
	if (have_dot())
		assert_dot_accepts(text);
	free(text);
	ps_profile_free(p);
}

/* A stack of frames: "name" or "name@module" under a process root "app", value v. */
static void add_frames(ps_profile *p, const char *const *names, size_t n, uint64_t v)
{
	if (ps_profile_ntypes(p) == 0)
		cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id id;
	ps_node_id at;
	cr_assert_eq(ps_profile_frame_named(p, "app", 3, PS_FRAME_PROCESS, &id), 0);
	cr_assert_eq(ps_profile_child(p, PS_NODE_ROOT, id, &at), 0);
	for (size_t i = 0; i < n; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s", names[i]);
		char *at_sign = strchr(name, '@');
		ps_frame f = {.name = name, .kind = PS_FRAME_USER};
		if (at_sign) {
			*at_sign = 0;
			cr_assert_eq(
			    ps_profile_mapping(p, &(ps_mapping){.path = at_sign + 1}, &f.mapping),
			    0);
		}
		cr_assert_eq(ps_profile_frame(p, &f, &id), 0);
		cr_assert_eq(ps_profile_child(p, at, id, &at), 0);
	}
	cr_assert_eq(ps_profile_add_value(p, at, 0, v), 0);
}

Test(callgraph, modules_and_quoting)
{
	ps_profile *p = ps_profile_new(0);
	const char *s1[] = {"malloc@/usr/lib/libc.so.6"}, *s2[] = {"node", "\"q\\uo\"te\""},
		   *s3[] = {"7f00ab", "graph"};
	add_frames(p, s1, 1, 1);
	add_frames(p, s2, 2, 1);
	add_frames(p, s3, 2, 1);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	const ps_cg_node *n = node(g, "malloc", NULL);
	cr_assert_not_null(n);
	cr_assert_str_eq(n->module, "/usr/lib/libc.so.6");
	cr_assert_null(node(g, "node", NULL)->module);
	ps_cg_free(g);
	char *text = render(p, &o);
	/* gprof2dot's id "name:module", the module's base name above the name */
	cr_assert_not_null(strstr(text, "\t\"malloc:/usr/lib/libc.so.6\" [color="));
	cr_assert_not_null(strstr(text, "label=\"libc.so.6\\nmalloc\\n33.33%\\n(33.33%)\""));
	/* keywords and ids starting with a digit are quoted, as are quotes and backslashes */
	cr_assert_not_null(strstr(text, "\t\"node\" -> \"\\\"q\\\\uo\\\"te\\\"\" ["));
	cr_assert_not_null(strstr(text, "\t\"7f00ab\" -> \"graph\" ["));
	if (have_dot())
		assert_dot_accepts(text);
	free(text);
	ps_profile_free(p);

	/* names are never parsed: a folded "lib`malloc" is one name without a module */
	const char *lines[] = {"app;/usr/lib/libc.so.6`malloc 1", NULL};
	p = profile_of(lines);
	g = build(p, &o);
	cr_assert_not_null(node(g, "/usr/lib/libc.so.6`malloc", NULL));
	cr_assert_null(node(g, "/usr/lib/libc.so.6`malloc", NULL)->module);
	ps_cg_free(g);
	ps_profile_free(p);
}

/* A function is a label and a module: one name in two binaries is two nodes, frames of
 * one function at several addresses are one. */
Test(callgraph, modules_come_from_mappings)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	uint32_t libc, app;
	cr_assert_eq(ps_profile_mapping(p, &(ps_mapping){.path = "/usr/lib/libc.so.6"}, &libc), 0);
	cr_assert_eq(ps_profile_mapping(p, &(ps_mapping){.path = "/srv/app"}, &app), 0);
	ps_frame_id comm, m, c1, c2, c3;
	cr_assert_eq(ps_profile_frame_named(p, "app", 3, PS_FRAME_PROCESS, &comm), 0);
	cr_assert_eq(ps_profile_frame(p, &(ps_frame){.name = "main", .mapping = app}, &m), 0);
	cr_assert_eq(
	    ps_profile_frame(p, &(ps_frame){.name = "copy", .mapping = libc, .addr = 1}, &c1), 0);
	cr_assert_eq(
	    ps_profile_frame(p, &(ps_frame){.name = "copy", .mapping = libc, .addr = 2}, &c2), 0);
	cr_assert_eq(ps_profile_frame(p, &(ps_frame){.name = "copy", .mapping = app}, &c3), 0);
	const ps_frame_id s1[] = {comm, m, c1}, s2[] = {comm, m, c2}, s3[] = {comm, m, c3};
	ps_node_id n;
	cr_assert_eq(ps_profile_stack(p, s1, 3, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 2), 0);
	cr_assert_eq(ps_profile_stack(p, s2, 3, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 1), 0);
	cr_assert_eq(ps_profile_stack(p, s3, 3, &n), 0);
	cr_assert_eq(ps_profile_add_value(p, n, 0, 1), 0);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 3);
	/* nodes in id order: "copy:/srv/app", "copy:/usr/lib/libc.so.6", "main:/srv/app" */
	const ps_cg_node *a = ps_cg_node_at(g, 0), *b = ps_cg_node_at(g, 1);
	cr_assert_str_eq(a->module, "/srv/app");
	cr_assert_eq(a->self_samples, 1);
	cr_assert_str_eq(b->module, "/usr/lib/libc.so.6");
	cr_assert_eq(b->self_samples, 3);
	cr_assert_str_eq(ps_cg_node_at(g, 2)->name, "main");
	cr_assert_eq(ps_cg_nedges(g), 2);
	ps_cg_free(g);
	char *text = render(p, &o);
	cr_assert_not_null(strstr(text, "\t\"main:/srv/app\" -> \"copy:/usr/lib/libc.so.6\" ["));
	cr_assert_not_null(strstr(text, "label=\"app\\ncopy\\n25.00%\\n(25.00%)\""));
	free(text);
	ps_profile_free(p);
}

/* issue #10: folded text without a process column keeps its first frame, as gprof2dot
 * does; a PS_FRAME_PROCESS root is the one frame left out. */
Test(callgraph, first_frame_kept_unless_it_is_the_process)
{
	const char *lines[] = {"main;a 3", "main;b 1", NULL};
	ps_profile *p = folded_of(0, lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 3);
	assert_node(g, "main", 1.0, 0.0);
	assert_edge(g, "main", "a", 0.75);
	ps_cg_free(g);
	ps_profile_free(p);

	p = folded_of(PS_PROFILE_FOLDED_PROCESS, lines);
	g = build(p, &o);
	cr_assert_eq(ps_cg_nnodes(g), 2);
	cr_assert_null(node(g, "main", NULL));
	assert_node(g, "a", 0.75, 0.75);
	ps_cg_free(g);
	ps_profile_free(p);
}

/* The graph weighs a chosen column; a column the profile lacks is an error. */
Test(callgraph, value_column)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	cr_assert_eq(ps_profile_add_type(p, "cpu", "nanoseconds"), 1);
	const char *names[] = {"main", "a", "b"};
	ps_frame_id f[3];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(
		    ps_profile_frame_named(p, names[i], strlen(names[i]), PS_FRAME_USER, &f[i]), 0);
	ps_node_id na, nb;
	cr_assert_eq(ps_profile_stack(p, (ps_frame_id[]){f[0], f[1]}, 2, &na), 0);
	cr_assert_eq(ps_profile_stack(p, (ps_frame_id[]){f[0], f[2]}, 2, &nb), 0);
	cr_assert_eq(
	    ps_profile_add_sample(p, &(ps_profile_sample){.node = na}, (uint64_t[]){3, 100}), 0);
	cr_assert_eq(
	    ps_profile_add_sample(p, &(ps_profile_sample){.node = nb}, (uint64_t[]){1, 300}), 0);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	o.col = 1;
	ps_cg *g = build(p, &o);
	cr_assert_eq(ps_cg_samples(g), 400);
	assert_node(g, "a", 0.25, 0.25);
	assert_node(g, "b", 0.75, 0.75);
	cr_assert_eq(node(g, "b", NULL)->total_samples, 300);
	ps_cg_free(g);
	o.col = 2;
	cr_assert_eq(ps_cg_build(p, &o, &g), -EINVAL);
	cr_assert_null(g);
	ps_profile_free(p);
}

Test(callgraph, huge_names_are_cut_for_graphviz)
{
	ps_buf b = {0};
	ps_buf_addstr(&b, "app;main;");
	for (int i = 0; i < 10240 / 8; i++)
		ps_buf_addstr(&b, "abcdefg\"");
	ps_buf_addstr(&b, ";leaf");
	ps_profile *p = ps_profile_new(PS_PROFILE_FOLDED_PROCESS);
	cr_assert_eq(ps_profile_add_folded(p, b.data, b.len, 1, 0), 0);
	ps_buf_release(&b);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	char *text = render(p, &o);
	/* the id is a hash, the label holds 4095 bytes of the name and an ellipsis */
	cr_assert_not_null(strstr(text, "\tmain -> \"_"));
	const char *lab = strstr(text, "label=\"abcdefg");
	cr_assert_not_null(lab);
	const char *end = strstr(lab, "\xe2\x80\xa6\\n100.00%");
	cr_assert_not_null(end);
	size_t quotes = 0;
	for (const char *c = lab + 7; c < end; c++)
		quotes += *c == '"';
	cr_assert_eq((size_t)(end - (lab + 7)) - quotes, 4095); /* escapes not counted */
	if (have_dot())
		assert_dot_accepts(text);
	else
		cr_log_warn("graphviz dot is missing: DOT not checked");
	free(text);
	ps_profile_free(p);
}

Test(callgraph, color_by_self)
{
	const char *lines[] = {"app;main;a 3", "app;main;b 1", NULL};
	ps_profile *p = profile_of(lines);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	o.color_by_self = 1;
	char *text = render(p, &o);
	/* main has no self time: the coldest colour; a the most: red */
	cr_assert_not_null(strstr(text, "\tmain [color=\"#0d0d73\""));
	cr_assert_not_null(strstr(text, "\ta [color=\"#ff0000\""));
	free(text);
	ps_profile_free(p);
}

static int add_sample(void *ctx, const ps_ps_sample *s)
{
	return ps_cg_add_perfscript_sample(ctx, s, 0);
}

struct pid_ctx {
	ps_profile *p;
	unsigned flags;
};

static int add_sample_flags(void *ctx, const ps_ps_sample *s)
{
	struct pid_ctx *c = ctx;
	return ps_cg_add_perfscript_sample(c->p, s, c->flags);
}

/* The stack of node n as "label@module;..." with the kinds of its frames ("P" process, "u"
 * user, "!" unresolved). */
static void stack_text(ps_profile *p, ps_node_id n, char *out, size_t size, char *kinds)
{
	ps_frame_id fr[64];
	size_t depth = ps_profile_node_path(p, n, fr, 64), len = 0;
	for (size_t i = 0; i < depth; i++) {
		const ps_frame *f = ps_profile_frame_at(p, fr[i]);
		const ps_mapping *m = ps_profile_mapping_at(p, f->mapping);
		len += (size_t)snprintf(out + len, size - len, "%s%s%s%s", i ? ";" : "",
					ps_profile_label(p, fr[i], NULL), m ? "@" : "",
					m ? m->path : "");
		kinds[i] = f->kind == PS_FRAME_PROCESS ? 'P' : f->unresolved ? '!' : 'u';
	}
	kinds[depth] = 0;
}

Test(callgraph, perfscript_sample_names)
{
	ps_ps_frame frames[] = {
	    {0x400577, "func_b", "/root/func_ab"},
	    {0x7f00, "[unknown]", "[unknown]"},
	    {0x10, "Ljava/lang/Thread;::run", "/tmp/perf-1.map"},
	};
	ps_ps_sample s = {.comm = "my app", .pid = 42, .tid = 43, .nframes = 3, .frames = frames};
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_cg_add_perfscript_sample(p, &s, 0), 0);
	cr_assert_eq(ps_cg_add_perfscript_sample(p, &s, PS_CG_PID), 0);
	cr_assert_eq(ps_cg_add_perfscript_sample(p, &s, PS_CG_TID), 0);
	s.nframes = 0;
	cr_assert_eq(ps_cg_add_perfscript_sample(p, &s, 0), 0); /* not counted */
	cr_assert_eq(ps_profile_total(p, 0), 3);
	const char *unit;
	cr_assert_str_eq(ps_profile_type(p, 0, &unit), "samples");
	const char *tail = ";Ljava/lang/Thread:::run@/tmp/perf-1.map;7f00@[unknown];"
			   "func_b@/root/func_ab";
	const char *roots[] = {"my_app", "my_app-42", "my_app-42/43"};
	size_t seen = 0;
	for (ps_node_id n = 1; n < ps_profile_nnodes(p); n++) {
		if (!ps_profile_node_self(p, n, 0))
			continue;
		char text[256], kinds[8], expect[256];
		stack_text(p, n, text, sizeof(text), kinds);
		cr_assert_lt(seen, 3);
		snprintf(expect, sizeof(expect), "%s%s", roots[seen], tail);
		cr_assert_str_eq(text, expect);
		cr_assert_str_eq(kinds, "Pu!u");
		cr_assert_eq(ps_profile_node_self(p, n, 0), 1);
		seen++;
	}
	cr_assert_eq(seen, 3);
	ps_profile_free(p);
}

/* gprof2dot's figures for every perf-script input of the corpus. */
struct row {
	char kind[8], a[512], b[512];
	double x, y;
	int used;
};

static size_t read_tsv(const char *path, struct row **rows)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	*rows = NULL;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		*rows = realloc(*rows, (n + 1) * sizeof(**rows));
		struct row *r = &(*rows)[n++];
		memset(r, 0, sizeof(*r));
		char *field[5] = {0};
		int nf = 0;
		for (char *s = line; nf < 5 && s; nf++) {
			field[nf] = s;
			s = strchr(s, '\t');
			if (s)
				*s++ = 0;
		}
		/* folded frames cannot hold ';': stackcollapse-perf.pl and we write ':' */
		for (int i = 1; i < nf; i++)
			for (char *c = field[i]; *c; c++)
				if (*c == ';')
					*c = ':';
		cr_assert(nf == 4, "%s: bad row", path);
		snprintf(r->kind, sizeof(r->kind), "%s", field[0]);
		snprintf(r->a, sizeof(r->a), "%s", field[1]);
		if (strcmp(field[0], "node") == 0) {
			r->x = strtod(field[2], NULL);
			r->y = strtod(field[3], NULL);
		} else {
			snprintf(r->b, sizeof(r->b), "%s", field[2]);
			r->x = strtod(field[3], NULL);
		}
	}
	free(line);
	fclose(f);
	return n;
}

static void check_corpus_file(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), CORPUS "perf-script/%s.txt", name);
	FILE *in = fopen(path, "r");
	cr_assert_not_null(in, "cannot open %s", path);
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_perfscript_read(in, add_sample, p), 0);
	fclose(in);
	ps_cg_opts o;
	ps_cg_opts_init(&o);
	ps_cg *g = build(p, &o);

	snprintf(path, sizeof(path), CORPUS "callgraph/%s.tsv", name);
	struct row *rows;
	size_t nrows = read_tsv(path, &rows), nexp_nodes = 0, nexp_edges = 0;
	for (size_t i = 0; i < ps_cg_nnodes(g); i++) {
		const ps_cg_node *n = ps_cg_node_at(g, i);
		struct row *hit = NULL;
		for (size_t r = 0; r < nrows && !hit; r++)
			if (!rows[r].used && strcmp(rows[r].kind, "node") == 0 &&
			    strncmp(rows[r].a, n->name, sizeof(rows[r].a) - 1) == 0 &&
			    fabs(rows[r].x - n->total * 100) <= 0.1 &&
			    fabs(rows[r].y - n->self * 100) <= 0.1)
				hit = &rows[r];
		cr_assert_not_null(hit, "%s: node %s %.2f%% (%.2f%%) is not gprof2dot's", name,
				   n->name, n->total * 100, n->self * 100);
		hit->used = 1;
	}
	size_t nedges = 0;
	for (size_t i = 0; i < ps_cg_nedges(g); i++) {
		const ps_cg_edge *e = ps_cg_edge_at(g, i);
		if (e->caller == e->callee)
			continue; /* the corpus leaves self-edges out */
		nedges++;
		const char *a = ps_cg_node_at(g, e->caller)->name;
		const char *b = ps_cg_node_at(g, e->callee)->name;
		struct row *hit = NULL;
		for (size_t r = 0; r < nrows && !hit; r++)
			if (!rows[r].used && strcmp(rows[r].kind, "edge") == 0 &&
			    strcmp(rows[r].a, a) == 0 && strcmp(rows[r].b, b) == 0 &&
			    fabs(rows[r].x - e->share * 100) <= 0.1)
				hit = &rows[r];
		cr_assert_not_null(hit, "%s: edge %s -> %s %.2f%% is not gprof2dot's", name, a, b,
				   e->share * 100);
		hit->used = 1;
	}
	for (size_t r = 0; r < nrows; r++) {
		nexp_nodes += strcmp(rows[r].kind, "node") == 0;
		nexp_edges += strcmp(rows[r].kind, "edge") == 0;
		cr_assert(rows[r].used, "%s: gprof2dot keeps %s %s %s, we do not", name,
			  rows[r].kind, rows[r].a, rows[r].b);
	}
	cr_assert_eq(ps_cg_nnodes(g), nexp_nodes);
	cr_assert_eq(nedges, nexp_edges);
	free(rows);
	ps_cg_free(g);
	ps_profile_free(p);
}

Test(callgraph, corpus_matches_gprof2dot)
{
	DIR *d = opendir(CORPUS "callgraph");
	cr_assert_not_null(d, "corpus missing (tests run from the repository root)");
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".tsv") != 0)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), de->d_name);
		check_corpus_file(name);
		files++;
	}
	closedir(d);
	cr_assert_geq(files, 9);
}

Test(callgraph, corpus_dot_accepted_by_graphviz)
{
	if (!have_dot())
		cr_skip_test("graphviz dot is missing");
	const char *names[] = {"perf-java-stacks-01", "perf-iperf-stacks-pidtid-01"};
	for (size_t i = 0; i < 2; i++) {
		char path[256];
		snprintf(path, sizeof(path), CORPUS "perf-script/%s.txt", names[i]);
		FILE *in = fopen(path, "r");
		cr_assert_not_null(in);
		struct pid_ctx c = {ps_profile_new(0), PS_CG_TID};
		cr_assert_eq(ps_perfscript_read(in, add_sample_flags, &c), 0);
		fclose(in);
		ps_cg_opts o;
		ps_cg_opts_init(&o);
		o.keep_process = i == 1; /* the second with its "comm-PID/TID" roots */
		char *text = render(c.p, &o);
		assert_dot_accepts(text);
		if (i == 1)
			cr_assert_not_null(strstr(text, "\t\"iperf-"));
		free(text);
		ps_profile_free(c.p);
	}
}
