/* ps_callgraph: gprof2dot-style DOT call graphs from the profile's stack trie. See
 * ps_callgraph.h.
 *
 * The figures follow gprof2dot's perf parser with --total=callstacks (read from
 * gprof2dot.py, checked against its output on tests/data/corpus): totals are exact
 * per-stack sums, and an edge's share is its callee's total scaled by the edge's part of
 * the calls into the callee. */
#include "render/ps_callgraph.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/ps_error.h"
#include "formats/ps_perfscript.h"
#include "formats/ps_util.h"

/* gprof2dot: dot cannot lex quoted strings past its 16 KB buffer, so long names are cut
 * and long ids replaced by a hash. */
#define CG_MAX_NAME 4096
#define CG_MAX_ID 1024

#define CG_NONE UINT32_MAX /* no function (a left-out frame), no edge */

struct cg_func {
	const char *name;   /* the label, NUL-terminated, arena */
	const char *module; /* the mapping's path, arena; NULL when the frame has none */
	const char *id;	    /* DOT id before quoting, arena; set for kept nodes */
	size_t name_len;
	uint64_t self, total;
	uint32_t active; /* times on the current path of the trie walk */
	uint32_t scc;	 /* strongly connected component; cycles are those of size > 1 */
	int hidden, focus;
	int kept;
	size_t rank; /* index among kept nodes */
	double weight;
};

struct cg_edge {
	uint32_t caller, callee;
	uint64_t calls, samples;
	uint32_t active; /* times on the current path of the trie walk */
	double share, weight;
	int has_share, kept;
};

struct ps_cg {
	ps_arena *arena;
	struct cg_func *f;
	size_t nf, capf;
	struct cg_edge *e;
	size_t ne, cape;
	ps_index fidx, eidx;
	ps_buf scratch;
	uint64_t nsamples;
	/* the result */
	ps_cg_node *nodes;
	size_t nnodes;
	ps_cg_edge *edges;
	size_t nedges;
	const char **node_ids;
	double *node_weight, *edge_weight;
};

void ps_cg_opts_init(ps_cg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->node_thres = 0.5;
	o->edge_thres = 0.1;
	o->depth = -1;
}

static int matches_any(const char *name, const char *const *pat, size_t npat)
{
	for (size_t i = 0; i < npat; i++)
		if (pat[i] && fnmatch(pat[i], name, 0) == 0)
			return 1;
	return 0;
}

struct func_key {
	const struct ps_cg *g;
	const char *name, *module;
	size_t len;
};

static int func_eq(const void *ctx, uint32_t id)
{
	const struct func_key *k = ctx;
	const struct cg_func *f = &k->g->f[id];
	if (f->name_len != k->len || memcmp(f->name, k->name, k->len))
		return 0;
	return f->module == k->module || (f->module && k->module && !strcmp(f->module, k->module));
}

/* The function of frame id: its label and module, added on first sight; CG_NONE for a
 * left-out process root. */
static int func_of_frame(struct ps_cg *g, ps_profile *p, const ps_cg_opts *o, ps_frame_id id,
			 uint32_t *out)
{
	const ps_frame *fr = ps_profile_frame_at(p, id);
	if (fr->kind == PS_FRAME_PROCESS && !o->keep_process) {
		*out = CG_NONE;
		return 0;
	}
	struct func_key k = {g, NULL, NULL, 0};
	k.name = ps_profile_label(p, id, &k.len);
	if (!k.name)
		return -ENOMEM;
	uint64_t h = ps_hash(k.name, k.len);
	const ps_mapping *m = ps_profile_mapping_at(p, fr->mapping);
	if (m && m->path) {
		/* a path prints as it is, but no control byte reaches the DOT text */
		g->scratch.len = 0;
		int err = ps_escape(&g->scratch, PS_ESC_TERM, m->path, strlen(m->path));
		if (!err)
			err = ps_buf_add(&g->scratch, "", 1);
		if (err)
			return err;
		k.module = g->scratch.data;
		h = ps_hash_u64(h ^ ps_hash(k.module, g->scratch.len - 1));
	}
	uint32_t found = ps_index_find(&g->fidx, h, func_eq, &k);
	if (found != UINT32_MAX) {
		*out = found;
		return 0;
	}
	if (g->nf >= UINT32_MAX - 1)
		return PS_ELIMIT;
	if (PS_GROW(g->f, g->capf, g->nf + 1) || ps_index_insert(&g->fidx, h, (uint32_t)g->nf))
		return -ENOMEM;
	struct cg_func *f = &g->f[g->nf];
	memset(f, 0, sizeof(*f));
	f->name = ps_arena_strndup(g->arena, k.name, k.len);
	f->name_len = k.len;
	if (k.module)
		f->module = ps_arena_strndup(g->arena, k.module, g->scratch.len - 1);
	if (!f->name || (k.module && !f->module))
		return -ENOMEM;
	f->hidden = matches_any(f->name, o->hide, o->nhide);
	f->focus = matches_any(f->name, o->focus, o->nfocus);
	*out = (uint32_t)g->nf++;
	return 0;
}

struct edge_key {
	const struct ps_cg *g;
	uint32_t caller, callee;
};

static int edge_eq(const void *ctx, uint32_t id)
{
	const struct edge_key *k = ctx;
	return k->g->e[id].caller == k->caller && k->g->e[id].callee == k->callee;
}

/* The edge caller -> callee, added on first sight; CG_NONE when out of memory. */
static uint32_t edge_get(struct ps_cg *g, uint32_t caller, uint32_t callee)
{
	struct edge_key k = {g, caller, callee};
	uint64_t h = ps_hash_u64(((uint64_t)caller << 32) | callee);
	uint32_t found = ps_index_find(&g->eidx, h, edge_eq, &k);
	if (found != UINT32_MAX)
		return found;
	if (g->ne >= UINT32_MAX - 1 || PS_GROW(g->e, g->cape, g->ne + 1) ||
	    ps_index_insert(&g->eidx, h, (uint32_t)g->ne))
		return CG_NONE;
	struct cg_edge *e = &g->e[g->ne];
	memset(e, 0, sizeof(*e));
	e->caller = caller;
	e->callee = callee;
	return (uint32_t)g->ne++;
}

/* Per trie node, what the walk needs. */
struct cg_walk {
	uint32_t *fn;	/* the node's function, CG_NONE when left out or hidden */
	uint32_t *eff;	/* the nearest function at or above the node */
	uint32_t *edge; /* the edge into the node, CG_NONE when none */
	uint64_t *incl; /* value of the stacks at or under the node that count */
};

/* Sums functions and edges over the trie of p. A first pass in id order (parents come
 * first) finds each node's function, hidden frames giving their place to their caller,
 * and the value that counts (with focus patterns, only stacks through a focused frame);
 * inclusive sums come back up; then a depth-first walk adds a node's inclusive value to a
 * function's total, and to an edge's samples, only where it first appears on the path, so
 * recursion counts once per stack. Subtrees that count nothing are not entered. */
static int add_trie(struct ps_cg *g, ps_profile *p, const ps_cg_opts *o)
{
	size_t nn = ps_profile_nnodes(p);
	uint32_t *frame_fn = calloc(ps_profile_nframes(p) + 1, sizeof(*frame_fn));
	struct cg_walk w = {malloc(nn * sizeof(*w.fn)), malloc(nn * sizeof(*w.eff)),
			    malloc(nn * sizeof(*w.edge)), malloc(nn * sizeof(*w.incl))};
	unsigned char *pass = malloc(nn);
	int err = -ENOMEM;
	if (!frame_fn || !w.fn || !w.eff || !w.edge || !w.incl || !pass)
		goto out;
	g->nsamples = ps_profile_total(p, o->col);
	w.fn[PS_NODE_ROOT] = w.eff[PS_NODE_ROOT] = CG_NONE;
	w.incl[PS_NODE_ROOT] = 0;
	pass[PS_NODE_ROOT] = o->nfocus == 0;
	err = 0;
	for (ps_node_id n = 1; n < nn && !err; n++) {
		ps_frame_id fid = ps_profile_node_frame(p, n);
		ps_node_id par = ps_profile_node_parent(p, n);
		uint32_t fi;
		if (frame_fn[fid]) {
			fi = frame_fn[fid] - 1;
		} else {
			err = func_of_frame(g, p, o, fid, &fi);
			if (err)
				break;
			frame_fn[fid] = fi + 1; /* CG_NONE + 1 wraps to 0: asked again, cheaply */
		}
		const struct cg_func *f = fi != CG_NONE ? &g->f[fi] : NULL;
		pass[n] = pass[par] || (f && f->focus);
		w.fn[n] = f && !f->hidden ? fi : CG_NONE;
		w.eff[n] = w.fn[n] != CG_NONE ? w.fn[n] : w.eff[par];
		w.incl[n] = pass[n] ? ps_profile_node_self(p, n, o->col) : 0;
		/* the leaf's self value: a hidden leaf's goes to its caller */
		if (w.incl[n] && w.eff[n] != CG_NONE)
			g->f[w.eff[n]].self += w.incl[n];
	}
	/* no overflow: the column's total bounds every sum */
	for (size_t n = nn; !err && n-- > 1;)
		w.incl[ps_profile_node_parent(p, n)] += w.incl[n];

	ps_node_id n = ps_profile_node_child(p, PS_NODE_ROOT);
	while (n != PS_NODE_ROOT && !err) {
		int in = w.incl[n] != 0;
		w.edge[n] = CG_NONE;
		uint32_t fi = w.fn[n];
		if (in && fi != CG_NONE) {
			uint64_t v = w.incl[n];
			if (g->f[fi].active++ == 0)
				g->f[fi].total += v;
			uint32_t caller = w.eff[ps_profile_node_parent(p, n)];
			if (caller != CG_NONE) {
				uint32_t ei = edge_get(g, caller, fi);
				if (ei == CG_NONE) {
					err = g->ne >= UINT32_MAX - 1 ? PS_ELIMIT : -ENOMEM;
					break;
				}
				struct cg_edge *e = &g->e[ei];
				e->calls += v;
				if (e->active++ == 0)
					e->samples += v;
				w.edge[n] = ei;
			}
		}
		ps_node_id c = in ? ps_profile_node_child(p, n) : PS_NODE_ROOT;
		if (c != PS_NODE_ROOT) {
			n = c;
			continue;
		}
		/* leave n, and its ancestors while they have no next sibling */
		for (;;) {
			if (in && w.fn[n] != CG_NONE)
				g->f[w.fn[n]].active--;
			if (in && w.edge[n] != CG_NONE)
				g->e[w.edge[n]].active--;
			ps_node_id next = ps_profile_node_next(p, n);
			if (next != PS_NODE_ROOT) {
				n = next;
				break;
			}
			n = ps_profile_node_parent(p, n);
			if (n == PS_NODE_ROOT)
				break;
			in = 1; /* ancestors were entered */
		}
	}
out:
	free(frame_fn);
	free(w.fn);
	free(w.eff);
	free(w.edge);
	free(w.incl);
	free(pass);
	return err;
}

static int cmp_edge_caller(const void *a, const void *b)
{
	const struct cg_edge *x = a, *y = b;
	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->callee < y->callee ? -1 : x->callee > y->callee;
}

/* Tarjan's strongly connected components, iterative so that deep call chains cannot
 * overflow the C stack. Edges must be sorted by caller; first[f]..first[f+1] are f's. */
static int find_sccs(struct ps_cg *g, const size_t *first)
{
	size_t nf = g->nf;
	size_t *order = malloc(nf * sizeof(*order)), *low = malloc(nf * sizeof(*low));
	size_t *next = malloc(nf * sizeof(*next));
	uint32_t *stack = malloc(nf * sizeof(*stack)), *call = malloc(nf * sizeof(*call));
	unsigned char *on = calloc(nf ? nf : 1, 1);
	int err = -ENOMEM;
	if (!order || !low || !next || !stack || !call || !on)
		goto out;
	const size_t unseen = SIZE_MAX;
	for (size_t i = 0; i < nf; i++)
		order[i] = unseen;
	size_t counter = 0, sp = 0, cp = 0;
	uint32_t nscc = 0;
	for (size_t root = 0; root < nf; root++) {
		if (order[root] != unseen)
			continue;
		call[cp++] = (uint32_t)root;
		order[root] = low[root] = counter++;
		next[root] = first[root];
		stack[sp++] = (uint32_t)root;
		on[root] = 1;
		while (cp) {
			uint32_t v = call[cp - 1];
			if (next[v] < first[v + 1]) {
				uint32_t w = g->e[next[v]++].callee;
				if (order[w] == unseen) {
					order[w] = low[w] = counter++;
					next[w] = first[w];
					stack[sp++] = w;
					on[w] = 1;
					call[cp++] = w;
				} else if (on[w] && order[w] < low[v]) {
					low[v] = order[w];
				}
				continue;
			}
			cp--;
			if (cp && low[v] < low[call[cp - 1]])
				low[call[cp - 1]] = low[v];
			if (low[v] == order[v]) {
				uint32_t w;
				do {
					w = stack[--sp];
					on[w] = 0;
					g->f[w].scc = nscc;
				} while (w != v);
				nscc++;
			}
		}
	}
	err = 0;
out:
	free(order);
	free(low);
	free(next);
	free(stack);
	free(call);
	free(on);
	return err;
}

/* gprof2dot's ratio(): 0/0 is 1, and the result is clamped to [0, 1]. */
static double ratio(uint64_t num, uint64_t den)
{
	if (den == 0)
		return 1.0;
	double r = (double)num / (double)den;
	return r < 0.0 ? 0.0 : r > 1.0 ? 1.0 : r;
}

/* Splits each callee's total among its callers as gprof2dot's call_ratios() does. */
static int gprof2dot_shares(struct ps_cg *g)
{
	size_t nf = g->nf;
	size_t *first = calloc(nf + 1, sizeof(*first));
	uint64_t *ftotal = calloc(nf ? nf : 1, sizeof(*ftotal));
	uint64_t *ctotal = calloc(nf ? nf : 1, sizeof(*ctotal)); /* by scc */
	uint32_t *sccsize = calloc(nf ? nf : 1, sizeof(*sccsize));
	int err = -ENOMEM;
	if (!first || !ftotal || !ctotal || !sccsize)
		goto out;
	for (size_t i = 0; i < g->ne; i++)
		first[g->e[i].caller + 1]++;
	for (size_t i = 0; i < nf; i++)
		first[i + 1] += first[i];
	err = find_sccs(g, first);
	if (err)
		goto out;
	for (size_t i = 0; i < nf; i++)
		sccsize[g->f[i].scc]++;
	for (size_t i = 0; i < g->ne; i++) {
		const struct cg_edge *e = &g->e[i];
		if (e->caller == e->callee)
			continue;
		uint32_t cs = g->f[e->callee].scc;
		ftotal[e->callee] += e->calls;
		if (sccsize[cs] > 1 && cs != g->f[e->caller].scc)
			ctotal[cs] += e->calls;
	}
	for (size_t i = 0; i < g->ne; i++) {
		struct cg_edge *e = &g->e[i];
		const struct cg_func *callee = &g->f[e->callee];
		if (e->caller == e->callee) {
			/* gprof2dot leaves a self-call unlabelled, weighted by the function */
			e->has_share = 0;
			e->share = ratio(callee->total, g->nsamples);
			continue;
		}
		uint32_t cs = callee->scc;
		uint64_t den =
		    sccsize[cs] > 1 && cs != g->f[e->caller].scc ? ctotal[cs] : ftotal[e->callee];
		e->has_share = 1;
		e->share = ratio(e->calls, den) * ratio(callee->total, g->nsamples);
	}
	err = 0;
out:
	free(first);
	free(ftotal);
	free(ctotal);
	free(sccsize);
	return err;
}

static int name_matches(const struct cg_func *f, const char *pat)
{
	return fnmatch(pat, f->name, 0) == 0;
}

/* Keeps the kept nodes reachable from (down) or reaching (!down) a node matching pat
 * within depth calls (breadth first, so depth counts the shortest path). */
static int focus_reach(struct ps_cg *g, const char *pat, int depth, int down)
{
	size_t nf = g->nf;
	int *dist = malloc((nf ? nf : 1) * sizeof(*dist));
	uint32_t *queue = malloc((nf ? nf : 1) * sizeof(*queue));
	size_t *first = calloc(nf + 2, sizeof(*first));
	uint32_t *adj = malloc((g->ne ? g->ne : 1) * sizeof(*adj));
	int err = -ENOMEM;
	if (!dist || !queue || !first || !adj)
		goto out;
	/* adjacency of the kept edges in the walking direction */
	for (size_t i = 0; i < g->ne; i++)
		if (g->e[i].kept)
			first[(down ? g->e[i].caller : g->e[i].callee) + 2]++;
	for (size_t i = 0; i < nf; i++)
		first[i + 2] += first[i + 1];
	for (size_t i = 0; i < g->ne; i++)
		if (g->e[i].kept) {
			const struct cg_edge *e = &g->e[i];
			adj[first[(down ? e->caller : e->callee) + 1]++] =
			    down ? e->callee : e->caller;
		}
	size_t qh = 0, qt = 0;
	for (size_t i = 0; i < nf; i++) {
		dist[i] = -1;
		if (g->f[i].kept && name_matches(&g->f[i], pat)) {
			dist[i] = 0;
			queue[qt++] = (uint32_t)i;
		}
	}
	err = -ENOENT;
	if (!qt)
		goto out;
	while (qh < qt) {
		uint32_t v = queue[qh++];
		if (depth >= 0 && dist[v] >= depth)
			continue;
		for (size_t j = first[v]; j < first[v + 1]; j++) {
			uint32_t w = adj[j];
			if (dist[w] < 0) {
				dist[w] = dist[v] + 1;
				queue[qt++] = w;
			}
		}
	}
	for (size_t i = 0; i < nf; i++)
		if (dist[i] < 0)
			g->f[i].kept = 0;
	for (size_t i = 0; i < g->ne; i++)
		if (!g->f[g->e[i].caller].kept || !g->f[g->e[i].callee].kept)
			g->e[i].kept = 0;
	err = 0;
out:
	free(dist);
	free(queue);
	free(first);
	free(adj);
	return err;
}

static int cmp_id(const void *a, const void *b)
{
	const struct cg_func *const *x = a, *const *y = b;
	return strcmp((*x)->id, (*y)->id);
}

static int cmp_result_edge(const void *a, const void *b)
{
	const ps_cg_edge *x = a, *y = b;
	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->callee < y->callee ? -1 : x->callee > y->callee;
}

/* gprof2dot's node id is "name:module"; over CG_MAX_ID bytes it becomes a hash. */
static int make_id(struct ps_cg *g, struct cg_func *f, size_t index)
{
	ps_buf b = {0};
	int err =
	    f->module ? ps_buf_printf(&b, "%s:%s", f->name, f->module) : ps_buf_addstr(&b, f->name);
	if (!err && b.len > CG_MAX_ID) {
		uint64_t h = ps_hash(b.data, b.len);
		b.len = 0;
		/* the index keeps ids unique whatever the hash does */
		err = ps_buf_printf(&b, "_%016" PRIx64 "_%zu", h, index);
	}
	if (!err) {
		f->id = ps_arena_strndup(g->arena, b.data ? b.data : "", b.len);
		if (!f->id)
			err = -ENOMEM;
	}
	ps_buf_release(&b);
	return err;
}

int ps_cg_build(ps_profile *p, const ps_cg_opts *o, ps_cg **out)
{
	*out = NULL;
	if (!p || !o || !(o->node_thres >= 0) || !(o->edge_thres >= 0) ||
	    (o->col && o->col >= ps_profile_ntypes(p)))
		return -EINVAL;
	ps_cg *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	int err = -ENOMEM;
	struct cg_func **sorted = NULL;
	g->arena = ps_arena_new();
	if (!g->arena)
		goto fail;

	err = add_trie(g, p, o);
	if (err)
		goto fail;
	/* gprof2dot walks calls per function; sorted edges make the SCC walk and the output
	 * order deterministic (the edge index is done with) */
	if (g->ne > 1)
		qsort(g->e, g->ne, sizeof(*g->e), cmp_edge_caller);
	ps_index_release(&g->eidx);

	if (o->exact_edges) {
		for (size_t i = 0; i < g->ne; i++) {
			g->e[i].share = ratio(g->e[i].samples, g->nsamples);
			g->e[i].has_share = 1;
		}
	} else {
		err = gprof2dot_shares(g);
		if (err)
			goto fail;
	}

	/* prune as gprof2dot does: nodes by total, then edges by share or lost callee */
	double nthres = o->node_thres / 100.0, ethres = o->edge_thres / 100.0;
	for (size_t i = 0; i < g->nf; i++) {
		struct cg_func *f = &g->f[i];
		f->weight = ratio(f->total, g->nsamples);
		/* hidden frames and functions of filtered-out samples are no nodes */
		f->kept = !f->hidden && f->total > 0 && f->weight >= nthres;
	}
	for (size_t i = 0; i < g->ne; i++) {
		struct cg_edge *e = &g->e[i];
		e->weight = e->share;
		e->kept = g->f[e->caller].kept && g->f[e->callee].kept && e->weight >= ethres;
	}
	if (o->root) {
		err = focus_reach(g, o->root, o->depth, 1);
		if (err)
			goto fail;
	}
	if (o->leaf) {
		err = focus_reach(g, o->leaf, o->depth, 0);
		if (err)
			goto fail;
	}

	/* the result, nodes in id order */
	size_t nk = 0;
	for (size_t i = 0; i < g->nf; i++)
		nk += g->f[i].kept;
	sorted = malloc((nk ? nk : 1) * sizeof(*sorted));
	g->nodes = calloc(nk ? nk : 1, sizeof(*g->nodes));
	g->node_ids = calloc(nk ? nk : 1, sizeof(*g->node_ids));
	g->node_weight = calloc(nk ? nk : 1, sizeof(*g->node_weight));
	err = -ENOMEM;
	if (!sorted || !g->nodes || !g->node_ids || !g->node_weight)
		goto fail;
	nk = 0;
	for (size_t i = 0; i < g->nf; i++) {
		if (!g->f[i].kept)
			continue;
		err = make_id(g, &g->f[i], i);
		if (err)
			goto fail;
		sorted[nk++] = &g->f[i];
	}
	if (nk)
		qsort(sorted, nk, sizeof(*sorted), cmp_id);
	double maxself = 0;
	for (size_t i = 0; i < nk; i++) {
		struct cg_func *f = sorted[i];
		f->rank = i;
		ps_cg_node *n = &g->nodes[i];
		n->name = f->name;
		n->module = f->module;
		n->total_samples = f->total;
		n->self_samples = f->self;
		n->total = ratio(f->total, g->nsamples);
		n->self = ratio(f->self, g->nsamples);
		g->node_ids[i] = f->id;
		g->node_weight[i] = f->weight;
		if (n->self > maxself)
			maxself = n->self;
	}
	if (o->color_by_self)
		for (size_t i = 0; i < nk; i++)
			g->node_weight[i] = maxself > 0 ? g->nodes[i].self / maxself : 0;
	g->nnodes = nk;

	size_t nek = 0;
	for (size_t i = 0; i < g->ne; i++)
		nek += g->e[i].kept;
	g->edges = calloc(nek ? nek : 1, sizeof(*g->edges));
	g->edge_weight = calloc(nek ? nek : 1, sizeof(*g->edge_weight));
	if (!g->edges || !g->edge_weight)
		goto fail;
	nek = 0;
	for (size_t i = 0; i < g->ne; i++) {
		const struct cg_edge *e = &g->e[i];
		if (!e->kept)
			continue;
		ps_cg_edge *r = &g->edges[nek++];
		r->caller = g->f[e->caller].rank;
		r->callee = g->f[e->callee].rank;
		r->share = e->share;
		r->has_share = e->has_share;
		r->calls = e->calls;
		r->samples = e->samples;
	}
	if (nek)
		qsort(g->edges, nek, sizeof(*g->edges), cmp_result_edge);
	for (size_t i = 0; i < nek; i++)
		g->edge_weight[i] = g->edges[i].share;
	g->nedges = nek;

	free(sorted);
	ps_index_release(&g->fidx);
	ps_buf_release(&g->scratch);
	*out = g;
	return 0;
fail:
	free(sorted);
	ps_cg_free(g);
	return err;
}

void ps_cg_free(ps_cg *g)
{
	if (!g)
		return;
	ps_arena_free(g->arena);
	free(g->f);
	free(g->e);
	ps_index_release(&g->fidx);
	ps_index_release(&g->eidx);
	ps_buf_release(&g->scratch);
	free(g->nodes);
	free(g->edges);
	free(g->node_ids);
	free(g->node_weight);
	free(g->edge_weight);
	free(g);
}

uint64_t ps_cg_samples(const ps_cg *g) { return g->nsamples; }

size_t ps_cg_nnodes(const ps_cg *g) { return g->nnodes; }

const ps_cg_node *ps_cg_node_at(const ps_cg *g, size_t i)
{
	return i < g->nnodes ? &g->nodes[i] : NULL;
}

size_t ps_cg_nedges(const ps_cg *g) { return g->nedges; }

const ps_cg_edge *ps_cg_edge_at(const ps_cg *g, size_t i)
{
	return i < g->nedges ? &g->edges[i] : NULL;
}

/* gprof2dot's "color" theme: HSL from dark blue (2/3, 0.8, 0.25) to saturated red
 * (0, 1, 0.5), linear in the weight, gamma 1. The arithmetic follows its order of
 * operations so the colours come out identical. */
static double hue_to_rgb(double m1, double m2, double h)
{
	if (h < 0.0)
		h += 1.0;
	else if (h > 1.0)
		h -= 1.0;
	if (h * 6 < 1.0)
		return m1 + (m2 - m1) * h * 6.0;
	else if (h * 2 < 1.0)
		return m2;
	else if (h * 3 < 2.0)
		return m1 + (m2 - m1) * (2.0 / 3.0 - h) * 6.0;
	return m1;
}

static int channel(double f)
{
	if (f <= 0.0)
		return 0;
	if (f >= 1.0)
		return 255;
	return (int)(255.0 * f + 0.5);
}

static void theme_color(double w, char out[8])
{
	const double hmin = 2.0 / 3.0, smin = 0.80, lmin = 0.25;
	const double hmax = 0.0, smax = 1.0, lmax = 0.5;
	w = w < 0.0 ? 0.0 : w > 1.0 ? 1.0 : w;
	double h = hmin + w * (hmax - hmin);
	double s = smin + w * (smax - smin);
	double l = lmin + w * (lmax - lmin);
	h = fmod(h, 1.0);
	if (h < 0)
		h += 1.0;
	s = s < 0.0 ? 0.0 : s > 1.0 ? 1.0 : s;
	l = l < 0.0 ? 0.0 : l > 1.0 ? 1.0 : l;
	double m2 = l <= 0.5 ? l * (s + 1.0) : l + s - l * s;
	double m1 = l * 2.0 - m2;
	snprintf(out, 8, "#%02x%02x%02x", channel(hue_to_rgb(m1, m2, h + 1.0 / 3.0)),
		 channel(hue_to_rgb(m1, m2, h)), channel(hue_to_rgb(m1, m2, h - 1.0 / 3.0)));
}

static void put_quoted(FILE *out, const char *s, size_t len)
{
	putc('"', out);
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '"':
			fputs("\\\"", out);
			break;
		default:
			putc(s[i], out);
		}
	}
	putc('"', out);
}

/* Bare when dot reads it as a plain ID (letters, digits, not starting with a digit, no
 * keyword), quoted otherwise. */
static void put_id(FILE *out, const char *s)
{
	static const char *const keywords[] = {"node",	  "edge",     "graph",
					       "digraph", "subgraph", "strict"};
	int bare = (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z');
	for (const char *c = s; bare && *c; c++)
		bare = (*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') ||
		       (*c >= 'a' && *c <= 'z');
	for (size_t i = 0; bare && i < sizeof(keywords) / sizeof(*keywords); i++)
		if (strcasecmp(s, keywords[i]) == 0)
			bare = 0;
	if (bare)
		fputs(s, out);
	else
		put_quoted(out, s, strlen(s));
}

/* The label's name line: gprof2dot cuts names of CG_MAX_NAME characters and more to
 * CG_MAX_NAME - 1 plus an ellipsis. Bytes here, cut on a UTF-8 boundary. */
static void name_line(ps_buf *b, const char *name)
{
	size_t len = strlen(name);
	if (len < CG_MAX_NAME) {
		ps_buf_add(b, name, len);
		return;
	}
	len = CG_MAX_NAME - 1;
	while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
		len--;
	ps_buf_add(b, name, len);
	ps_buf_addstr(b, "\xe2\x80\xa6");
}

int ps_cg_write_dot(const ps_cg *g, FILE *out)
{
	fputs("digraph {\n", out);
	/* unnamed graphs get a "%3" tooltip in graphviz's SVG; gprof2dot works around it */
	fputs("\ttooltip=\" \"\n", out);
	if (g->nsamples == 0)
		fputs("\tgraph [fontname=Arial, label=\"no samples\", nodesep=0.125, "
		      "ranksep=0.25];\n",
		      out);
	else
		fputs("\tgraph [fontname=Arial, nodesep=0.125, ranksep=0.25];\n", out);
	fputs("\tnode [fontcolor=white, fontname=Arial, height=0, shape=box, style=filled, "
	      "width=0];\n",
	      out);
	fputs("\tedge [fontname=Arial];\n", out);

	ps_buf label = {0};
	size_t ei = 0;
	int err = 0;
	for (size_t i = 0; i < g->nnodes && !err; i++) {
		const ps_cg_node *n = &g->nodes[i];
		char color[8], white[8];
		label.len = 0;
		if (n->module) {
			const char *base = strrchr(n->module, '/');
			ps_buf_addstr(&label, base ? base + 1 : n->module);
			ps_buf_addstr(&label, "\n");
		}
		name_line(&label, n->name);
		err =
		    ps_buf_printf(&label, "\n%.2f%%\n(%.2f%%)", n->total * 100.0, n->self * 100.0);
		double w = g->node_weight[i];
		theme_color(w, color);
		/* filled nodes: the font takes the background colour (white) */
		snprintf(white, sizeof(white), "#ffffff");
		double fs = w * w * 10.0;
		putc('\t', out);
		put_id(out, g->node_ids[i]);
		fprintf(out, " [color=\"%s\", fontcolor=\"%s\", fontsize=\"%.2f\", label=", color,
			white, fs > 10.0 ? fs : 10.0);
		put_quoted(out, label.data, label.len);
		fputs("];\n", out);

		for (; ei < g->nedges && g->edges[ei].caller == i; ei++) {
			const ps_cg_edge *e = &g->edges[ei];
			double ew = g->edge_weight[ei];
			double pen = ew * 4.0 > 0.5 ? ew * 4.0 : 0.5;
			double efs = ew * ew * 10.0;
			char lab[32] = "";
			theme_color(ew, color);
			if (e->has_share)
				snprintf(lab, sizeof(lab), "%.2f%%", e->share * 100.0);
			putc('\t', out);
			put_id(out, g->node_ids[e->caller]);
			fputs(" -> ", out);
			put_id(out, g->node_ids[e->callee]);
			fprintf(out,
				" [arrowsize=\"%.2f\", color=\"%s\", fontcolor=\"%s\", "
				"fontsize=\"%.2f\", label=\"%s\", labeldistance=\"%.2f\", "
				"penwidth=\"%.2f\"];\n",
				0.5 * sqrt(pen), color, color, efs > 10.0 ? efs : 10.0, lab, pen,
				pen);
		}
	}
	ps_buf_release(&label);
	fputs("}\n", out);
	if (err)
		return err;
	return ferror(out) ? -EIO : 0;
}

int ps_cg_render(ps_profile *p, const ps_cg_opts *o, FILE *out)
{
	ps_cg *g;
	int err = ps_cg_build(p, o, &g);
	if (err)
		return err;
	err = ps_cg_write_dot(g, out);
	ps_cg_free(g);
	return err;
}

/* The process root as stackcollapse-perf.pl writes it: a comm holds no ' ' (its
 * "comm-PID" roots), no ';' (the folded separator) and no newline. */
static int add_comm(ps_buf *b, const char *s)
{
	size_t start = b->len;
	int err = ps_buf_addstr(b, s);
	for (size_t i = start; !err && i < b->len; i++) {
		if (b->data[i] == ';')
			b->data[i] = ':';
		else if (b->data[i] == '\n' || b->data[i] == ' ')
			b->data[i] = '_';
	}
	return err;
}

int ps_cg_add_perfscript_sample(ps_profile *p, const ps_ps_sample *s, unsigned flags)
{
	if (s->nframes == 0)
		return 0;
	if (ps_profile_ntypes(p) == 0) {
		int col = ps_profile_add_type(p, "samples", "count");
		if (col < 0)
			return col;
	}
	ps_buf b = {0};
	int err = add_comm(&b, s->comm ? s->comm : "");
	/* stackcollapse-perf.pl writes "?" for a pid perf did not print */
	char pid[16] = "?";
	if (s->pid >= 0)
		snprintf(pid, sizeof(pid), "%d", s->pid);
	if (!err && (flags & PS_CG_TID))
		err = ps_buf_printf(&b, "-%s/%d", pid, s->tid);
	else if (!err && (flags & PS_CG_PID))
		err = ps_buf_printf(&b, "-%s", pid);
	ps_frame_id id;
	ps_node_id at = PS_NODE_ROOT;
	if (!err)
		err = ps_profile_frame_named(p, b.data ? b.data : "", b.len, PS_FRAME_PROCESS, &id);
	if (!err)
		err = ps_profile_child(p, at, id, &at);
	/* perf prints the leaf first; stacks start at the root */
	for (size_t i = s->nframes; !err && i-- > 0;) {
		const ps_ps_frame *f = &s->frames[i];
		/* a frame per function, not per address: the graph has no use for addresses */
		ps_frame fr = {.kind = PS_FRAME_USER};
		if (f->dso && f->dso[0]) {
			err = ps_profile_mapping(p, &(ps_mapping){.path = f->dso}, &fr.mapping);
			if (!strncmp(f->dso, "[kernel", 7))
				fr.kind = PS_FRAME_KERNEL;
		}
		if (err)
			break;
		/* gprof2dot names an unresolved frame by its address as perf prints it; a
		 * blank symbol ("7f1e2215d058  (/lib/libc.so)") is unresolved too */
		if (f->sym && f->sym[strspn(f->sym, " \t")] && strcmp(f->sym, "[unknown]") != 0) {
			fr.name = f->sym;
		} else {
			b.len = 0;
			err = ps_buf_printf(&b, "%" PRIx64, f->addr);
			fr.name = b.data;
			fr.addr = f->addr;
			fr.unresolved = 1;
		}
		if (!err)
			err = ps_profile_frame(p, &fr, &id);
		if (!err)
			err = ps_profile_child(p, at, id, &at);
	}
	ps_buf_release(&b);
	if (err)
		return err;
	uint64_t v[PS_PROFILE_MAX_COLS] = {1};
	ps_profile_sample ps = {.node = at};
	ps.time = s->time > 0 ? (uint64_t)(s->time * 1e9) : 0;
	ps.pid = s->pid > 0 ? (uint32_t)s->pid : 0;
	ps.tid = s->tid > 0 ? (uint32_t)s->tid : 0;
	return ps_profile_add_sample(p, &ps, v);
}
