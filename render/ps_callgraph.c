/* ps_callgraph: gprof2dot-style DOT call graphs from folded stacks. See ps_callgraph.h.
 *
 * The figures follow gprof2dot's perf parser with --total=callstacks (read from
 * gprof2dot.py, checked against its output on tests/data/corpus): totals are exact
 * per-sample counts, and an edge's share is its callee's total scaled by the edge's part of
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

struct cg_func {
	const char *name;   /* NUL-terminated, arena */
	const char *module; /* NULL when the frame has none */
	const char *id;	    /* DOT id before quoting, arena; set for kept nodes */
	size_t frame_len;   /* the interned key: frame text */
	const char *frame;
	uint64_t self, total;
	size_t stamp; /* 1 + index of the last stack that counted this function */
	uint32_t scc; /* strongly connected component; cycles are those of size > 1 */
	int hidden, focus;
	int kept;
	size_t rank; /* index among kept nodes */
	double weight;
};

struct cg_edge {
	uint32_t caller, callee;
	uint64_t calls, samples;
	size_t stamp;
	double share, weight;
	int has_share, kept;
};

/* Open-addressing index of uint32 slots holding item index + 1. */
struct cg_index {
	uint32_t *slot;
	size_t mask;
};

struct ps_cg {
	ps_arena *arena;
	struct cg_func *f;
	size_t nf, capf;
	struct cg_edge *e;
	size_t ne, cape;
	struct cg_index fidx, eidx;
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
	o->skip_first_frame = 1;
	o->module_sep = '`';
	o->depth = -1;
}

static int index_grow(struct cg_index *ix, size_t n, uint64_t (*hash)(struct ps_cg *, uint32_t),
		      struct ps_cg *g)
{
	/* keep the load under one half */
	if (ix->slot && n * 2 < ix->mask + 1)
		return 0;
	size_t cap = ix->slot ? (ix->mask + 1) * 2 : 1024;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	if (ix->slot) {
		for (size_t i = 0; i <= ix->mask; i++) {
			if (!ix->slot[i])
				continue;
			size_t j = hash(g, ix->slot[i] - 1) & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = ix->slot[i];
		}
		free(ix->slot);
	}
	ix->slot = slot;
	ix->mask = cap - 1;
	return 0;
}

static uint64_t func_hash(struct ps_cg *g, uint32_t i)
{
	return ps_hash(g->f[i].frame, g->f[i].frame_len);
}

static uint64_t edge_key(uint32_t caller, uint32_t callee)
{
	return ps_hash_u64(((uint64_t)caller << 32) | callee);
}

static uint64_t edge_hash(struct ps_cg *g, uint32_t i)
{
	return edge_key(g->e[i].caller, g->e[i].callee);
}

static int grow_array(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 256;
	void *a = realloc(*arr, c * size);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = c;
	return 0;
}

static int matches_any(const char *name, const char *const *pat, size_t npat)
{
	for (size_t i = 0; i < npat; i++)
		if (pat[i] && fnmatch(pat[i], name, 0) == 0)
			return 1;
	return 0;
}

/* Returns the function of frame[0..len), adding it on first sight; or -ENOMEM. */
static int64_t func_intern(struct ps_cg *g, const ps_cg_opts *o, const char *frame, size_t len)
{
	uint64_t h = ps_hash(frame, len);
	if (g->fidx.slot) {
		for (size_t j = h & g->fidx.mask; g->fidx.slot[j]; j = (j + 1) & g->fidx.mask) {
			struct cg_func *f = &g->f[g->fidx.slot[j] - 1];
			if (f->frame_len == len && memcmp(f->frame, frame, len) == 0)
				return g->fidx.slot[j] - 1;
		}
	}
	if (g->nf >= UINT32_MAX - 1)
		return PS_ELIMIT;
	if (grow_array((void **)&g->f, &g->capf, g->nf, sizeof(*g->f)) ||
	    index_grow(&g->fidx, g->nf + 1, func_hash, g))
		return -ENOMEM;
	struct cg_func *f = &g->f[g->nf];
	memset(f, 0, sizeof(*f));
	f->frame = ps_arena_strndup(g->arena, frame, len);
	f->frame_len = len;
	const char *sep = o->module_sep ? memchr(frame, o->module_sep, len) : NULL;
	if (sep) {
		f->module = ps_arena_strndup(g->arena, frame, (size_t)(sep - frame));
		f->name = ps_arena_strndup(g->arena, sep + 1, len - (size_t)(sep - frame) - 1);
	} else {
		f->name = f->frame;
	}
	if (!f->frame || !f->name || (sep && !f->module))
		return -ENOMEM;
	f->hidden = matches_any(f->name, o->hide, o->nhide);
	f->focus = matches_any(f->name, o->focus, o->nfocus);
	size_t j = h & g->fidx.mask;
	while (g->fidx.slot[j])
		j = (j + 1) & g->fidx.mask;
	g->fidx.slot[j] = (uint32_t)g->nf + 1;
	return (int64_t)g->nf++;
}

static struct cg_edge *edge_get(struct ps_cg *g, uint32_t caller, uint32_t callee)
{
	uint64_t h = edge_key(caller, callee);
	if (g->eidx.slot) {
		for (size_t j = h & g->eidx.mask; g->eidx.slot[j]; j = (j + 1) & g->eidx.mask) {
			struct cg_edge *e = &g->e[g->eidx.slot[j] - 1];
			if (e->caller == caller && e->callee == callee)
				return e;
		}
	}
	if (g->ne >= UINT32_MAX - 1)
		return NULL;
	if (grow_array((void **)&g->e, &g->cape, g->ne, sizeof(*g->e)) ||
	    index_grow(&g->eidx, g->ne + 1, edge_hash, g))
		return NULL;
	struct cg_edge *e = &g->e[g->ne];
	memset(e, 0, sizeof(*e));
	e->caller = caller;
	e->callee = callee;
	size_t j = h & g->eidx.mask;
	while (g->eidx.slot[j])
		j = (j + 1) & g->eidx.mask;
	g->eidx.slot[j] = (uint32_t)g->ne + 1;
	g->ne++;
	return e;
}

/* Counts one stack (root first) of count samples. */
static int add_stack(struct ps_cg *g, const ps_cg_opts *o, const ps_stack *s, size_t sidx,
		     uint32_t **frames, size_t *cap)
{
	size_t n = 0;
	int focused = o->nfocus == 0;
	const char *p = s->folded, *end = s->folded + s->len;
	int first = 1;
	g->nsamples += s->count;
	for (;;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *fe = semi ? semi : end;
		if (!(first && o->skip_first_frame)) {
			int64_t fi = func_intern(g, o, p, (size_t)(fe - p));
			if (fi < 0)
				return (int)fi;
			if (g->f[fi].focus)
				focused = 1;
			if (!g->f[fi].hidden) {
				if (grow_array((void **)frames, cap, n, sizeof(**frames)))
					return -ENOMEM;
				(*frames)[n++] = (uint32_t)fi;
			}
		}
		first = 0;
		if (!semi)
			break;
		p = semi + 1;
	}
	if (!focused || n == 0)
		return 0;
	uint32_t *fr = *frames;
	g->f[fr[n - 1]].self += s->count;
	for (size_t i = 0; i < n; i++) {
		struct cg_func *f = &g->f[fr[i]];
		/* once per sample however deep it recurs */
		if (f->stamp != sidx + 1) {
			f->stamp = sidx + 1;
			f->total += s->count;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct cg_edge *e = edge_get(g, fr[i - 1], fr[i]);
		if (!e)
			return -ENOMEM;
		e->calls += s->count;
		if (e->stamp != sidx + 1) {
			e->stamp = sidx + 1;
			e->samples += s->count;
		}
	}
	return 0;
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
	if (!p || !o || !(o->node_thres >= 0) || !(o->edge_thres >= 0))
		return -EINVAL;
	ps_cg *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	int err = -ENOMEM;
	uint32_t *frames = NULL;
	struct cg_func **sorted = NULL;
	size_t fcap = 0;
	g->arena = ps_arena_new();
	if (!g->arena)
		goto fail;

	size_t nstacks;
	const ps_stack *st = ps_profile_stacks(p, &nstacks);
	for (size_t i = 0; i < nstacks; i++) {
		err = add_stack(g, o, &st[i], i, &frames, &fcap);
		if (err)
			goto fail;
	}
	/* gprof2dot walks calls per function; sorted edges make the SCC walk and the output
	 * order deterministic */
	if (g->ne)
		qsort(g->e, g->ne, sizeof(*g->e), cmp_edge_caller);
	free(g->eidx.slot);
	g->eidx.slot = NULL;

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

	free(frames);
	free(sorted);
	free(g->fidx.slot);
	g->fidx.slot = NULL;
	*out = g;
	return 0;
fail:
	free(frames);
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
	free(g->fidx.slot);
	free(g->eidx.slot);
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

/* Frame text cannot hold the folded separator: like stackcollapse-perf.pl, ';' (as in
 * Java's "Ljava/lang/Thread;::run") becomes ':'. A module must not hold the module
 * separator, nor a comm a space (stackcollapse-perf.pl's "comm-PID" roots). */
static int add_clean(ps_buf *b, const char *s, char also)
{
	size_t start = b->len;
	int err = ps_buf_addstr(b, s);
	for (size_t i = start; !err && i < b->len; i++) {
		if (b->data[i] == ';')
			b->data[i] = ':';
		else if (b->data[i] == '\n' || (also && b->data[i] == also))
			b->data[i] = '_';
	}
	return err;
}

int ps_cg_add_perfscript_sample(ps_profile *p, const ps_ps_sample *s, unsigned flags)
{
	if (s->nframes == 0)
		return 0;
	ps_buf b = {0};
	int err = add_clean(&b, s->comm ? s->comm : "", ' ');
	/* stackcollapse-perf.pl writes "?" for a pid perf did not print */
	char pid[16] = "?";
	if (s->pid >= 0)
		snprintf(pid, sizeof(pid), "%d", s->pid);
	if (!err && (flags & PS_CG_TID))
		err = ps_buf_printf(&b, "-%s/%d", pid, s->tid);
	else if (!err && (flags & PS_CG_PID))
		err = ps_buf_printf(&b, "-%s", pid);
	/* perf prints the leaf first; folded stacks start at the root */
	for (size_t i = s->nframes; !err && i-- > 0;) {
		const ps_ps_frame *f = &s->frames[i];
		err = ps_buf_addstr(&b, ";");
		if (!err && f->dso && f->dso[0]) {
			err = add_clean(&b, f->dso, '`');
			if (!err)
				err = ps_buf_addstr(&b, "`");
		}
		if (err)
			break;
		/* gprof2dot names an unresolved frame by its address as perf prints it; a
		 * blank symbol ("7f1e2215d058  (/lib/libc.so)") is unresolved too */
		if (f->sym && f->sym[strspn(f->sym, " \t")] && strcmp(f->sym, "[unknown]") != 0)
			err = add_clean(&b, f->sym, 0);
		else
			err = ps_buf_printf(&b, "%" PRIx64, f->addr);
	}
	if (!err)
		err = ps_profile_add(p, b.data, b.len, 1);
	ps_buf_release(&b);
	return err;
}
