/* perfsample callgraph: a gprof2dot-style call graph in Graphviz DOT. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "render/ps_callgraph.h"

/* Options given more than once: --hide A --hide B. */
struct strlist {
	const char **v;
	size_t n;
};

static void cb_append(const struct opt *o, const char *arg)
{
	struct strlist *l = o->value;
	const char **v = arg_alloc(l->n + 1, sizeof(*v));
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	v[l->n++] = arg;
	l->v = v;
}

static const char callgraph_usage[] =
	"usage: perfsample callgraph [-i TRACE | --folded FILE|- | --input FORMAT FILE|-]\n"
	"                            [options] > out.dot\n"
	"\n"
	"A gprof2dot-style call graph in Graphviz DOT (render with dot -Tsvg). A function's\n"
	"total counts once per sample however deep it recurses.\n";

int cmd_callgraph(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_cg_opts co;
	ps_cg_opts_init(&co);
	struct strlist hide = {0}, focus = {0};
	const struct opt options[] = {
		SOURCE_OPTIONS(&s),
		OPT_GROUP("graph:"),
		OPT_DOUBLE('n', "node-thres", &co.node_thres, "PCT",
			   "drop functions under PCT% of samples (default 0.5)", 0, 100),
		OPT_DOUBLE('e', "edge-thres", &co.edge_thres, "PCT",
			   "drop calls under PCT% (default 0.1)", 0, 100),
		OPT_STRING(0, "root", &co.root, "FUNC", "only what FUNC calls (fnmatch pattern)"),
		OPT_STRING(0, "leaf", &co.leaf, "FUNC", "only what leads to FUNC"),
		OPT_INT(0, "depth", &co.depth, "N", "with --root/--leaf, at most N calls away", 0,
			100000),
		OPT_CALLBACK(0, "hide", &hide, "FUNC",
			     "remove FUNC from stacks; its cost goes to its caller (repeatable)",
			     cb_append),
		OPT_CALLBACK(0, "focus", &focus, "FUNC",
			     "only samples passing through FUNC (repeatable)", cb_append),
		OPT_BOOL(0, "exact-edges", &co.exact_edges,
			 "edge share = samples holding the call (not gprof2dot's split)"),
		OPT_BOOL(0, "color-by-self", &co.color_by_self, "colour by self instead of total"),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, callgraph_usage, 0);
	source_operands(&s, "callgraph", argc, argv);
	co.hide = hide.v;
	co.nhide = hide.n;
	co.focus = focus.v;
	co.nfocus = focus.n;
	/* The first frame is the process: a node of its own only when --pid/--tid ask. */
	co.keep_process = s.pid_root || s.tid_root;
	ps_profile *p = load_profile_modules(&s);
	int err = ps_cg_render(p, &co, stdout);
	if (err == -ENOENT)
		die("--root/--leaf matches no function in the graph");
	stdout_done(err);
	ps_profile_free(p);
	return 0;
}
