/* ps_callgraph: a gprof2dot-style call graph (Graphviz DOT) built from the profile's stack
 * trie.
 *
 * A node is a function: a frame's label together with its module (the path of the frame's
 * mapping), so that the same name in two binaries is two nodes. Its total is the share of
 * the value with the function anywhere on the stack, counted once per stack however deep
 * it recurs (gprof2dot's --total=callstacks), its self the share with it as the leaf. The
 * process root (PS_FRAME_PROCESS frames: comm, comm-PID, comm-PID/TID) is no node unless
 * asked for; every other frame is one, the first frame of folded text without a process
 * column included (gprof2dot keeps it too). An edge caller -> callee is labelled with the
 * share of the callee's total attributed to that caller. By default that share is
 * gprof2dot's: the callee's total split in proportion to how often each caller calls it
 * (calls into a recursion cycle split by the calls entering the cycle), which is what
 * gprof2dot prints and what tests/data/corpus/callgraph holds. With exact_edges it is the
 * share of the value whose stack holds the pair, each distinct pair counted once per
 * stack.
 *
 * A node with a module has the DOT id "NAME:MODULE" and a label showing the module's base
 * name above the name, as gprof2dot does for perf input. */
#ifndef PS_CALLGRAPH_H
#define PS_CALLGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

typedef struct ps_cg_opts {
	double node_thres; /* percent of the total; nodes below are dropped (0.5) */
	double edge_thres; /* percent of the total; edges below are dropped (0.1) */
	size_t col;        /* the value column the graph weighs (0) */
	int keep_process;  /* PS_FRAME_PROCESS frames are nodes, the roots (0: left out) */
	int exact_edges;   /* edge share = value holding the pair (0: gprof2dot's) */
	int color_by_self; /* colour nodes by self share, rescaled to the largest (0) */
	/* Keep only what is reachable from a function matching root / reaching one matching
	 * leaf (fnmatch(3) patterns on the name), up to depth calls away (-1: any). Applied
	 * after the thresholds, as gprof2dot does. NULL: no focus. */
	const char *root, *leaf;
	int depth;
	/* Frames whose name matches a hide pattern are removed from every stack: their cost
	 * goes to their caller. With focus patterns, only samples with a frame matching one
	 * of them are drawn; percentages stay shares of all samples. */
	const char *const *hide;
	size_t nhide;
	const char *const *focus;
	size_t nfocus;
} ps_cg_opts;

/* Sets gprof2dot's defaults (shown above). */
void ps_cg_opts_init(ps_cg_opts *o);

/* A call graph after pruning, nodes sorted by DOT id (as gprof2dot writes them). */
typedef struct ps_cg ps_cg;

typedef struct ps_cg_node {
	const char *name;   /* the frames' label, owned by the graph */
	const char *module; /* the frames' mapping path, or NULL; owned by the graph */
	double total, self; /* fractions of the column's total, 0..1 */
	uint64_t total_samples, self_samples; /* in the column's unit */
} ps_cg_node;

typedef struct ps_cg_edge {
	size_t caller, callee; /* node indexes; caller == callee for direct recursion */
	double share;	       /* fraction of the column's total, 0..1; see above */
	int has_share;	       /* 0 for gprof2dot's self-edges, which it leaves unlabelled */
	uint64_t calls;	       /* adjacent caller;callee occurrences, weighted by value */
	uint64_t samples;      /* value of the stacks holding the pair at least once */
} ps_cg_edge;

/* Builds the graph of profile p. Returns 0 and sets *out (free with ps_cg_free), -EINVAL
 * for bad options (a negative threshold, a column p does not have), -ENOENT when root or
 * leaf matches no node left after pruning, -ENOMEM, or PS_ELIMIT past 4G functions. An
 * empty profile gives an empty graph. */
int ps_cg_build(ps_profile *p, const ps_cg_opts *o, ps_cg **out);
void ps_cg_free(ps_cg *g); /* NULL is fine */

uint64_t ps_cg_samples(const ps_cg *g); /* the column's total (the 100%) */
size_t ps_cg_nnodes(const ps_cg *g);
const ps_cg_node *ps_cg_node_at(const ps_cg *g, size_t i); /* borrowed; NULL past the end */
size_t ps_cg_nedges(const ps_cg *g);
/* Edges sorted by caller then callee node index; borrowed; NULL past the end. */
const ps_cg_edge *ps_cg_edge_at(const ps_cg *g, size_t i);

/* Writes the graph as gprof2dot writes DOT: its header, its "color" theme (dark blue to
 * red by total), pen widths and font sizes; names longer than 4095 bytes are cut and ids
 * longer than 1024 bytes hashed so that graphviz accepts them. A graph without samples
 * gets the label "no samples". Returns 0 or -EIO. */
int ps_cg_write_dot(const ps_cg *g, FILE *out);

/* ps_cg_build + ps_cg_write_dot. */
int ps_cg_render(ps_profile *p, const ps_cg_opts *o, FILE *out);

/* Adds one perf-script sample to p with value 1 in column 0 (declaring "samples"/"count"
 * when p has no column), its frames named as gprof2dot names perf frames: the symbol, an
 * unresolved one by its hex address, in a mapping of the DSO's path. The root is a
 * PS_FRAME_PROCESS frame: the process name ("comm"), or with PS_CG_PID "comm-PID", with
 * PS_CG_TID "comm-PID/TID", as stackcollapse-perf.pl writes them. A sample without
 * frames is not added (gprof2dot does not count it). Returns 0 or a negative code. */
enum { PS_CG_PID = 1 << 0, PS_CG_TID = 1 << 1 };
struct ps_ps_sample;
int ps_cg_add_perfscript_sample(ps_profile *p, const struct ps_ps_sample *s, unsigned flags);

#endif
