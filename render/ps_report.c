/* ps_report: top functions from the profile's trie. See ps_report.h. */
#include "render/ps_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

#define FN_NONE UINT32_MAX /* frame_fn: a process root, no function */

struct fn {
	const char *name; /* the frame's label, borrowed from the profile ("" without sym) */
	size_t len;
	const char *module; /* the mapping's path, borrowed from the profile, or NULL */
	const char *comm;   /* the process root's label (with the comm key), or NULL */
	size_t commlen;
	uint64_t self, total;
	uint32_t active; /* times it is on the walk's current path */
};

struct report {
	ps_profile *p;
	struct fn *fns;
	size_t n, cap;
	ps_index index;
	uint32_t *frame_fn; /* per frame: 0 unseen, FN_NONE, or function index + 1 */
	const ps_report_opts *o;
	int by_comm, by_dso, by_sym; /* the row's keys */
	uint32_t *eff;  /* per node: the row its self value goes to (FN_NONE: none) */
	uint64_t *incl; /* per node: inclusive value */
};

struct fn_key {
	const struct report *r;
	const char *name, *module, *comm;
	size_t len, commlen;
};

static int same_module(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int fn_eq(const void *ctx, uint32_t id)
{
	const struct fn_key *k = ctx;
	const struct fn *f = &k->r->fns[id];
	return f->len == k->len && !memcmp(f->name, k->name, k->len) &&
	       same_module(f->module, k->module) && f->commlen == k->commlen &&
	       (!k->commlen || !memcmp(f->comm, k->comm, k->commlen));
}

/* The row of frame id on a path under the process root labelled comm (FN_NONE for the
 * process root itself), found or added. Without the comm key a frame has one row, cached. */
static int frame_fn(struct report *r, ps_frame_id id, const char *comm, size_t commlen,
		    uint32_t *out)
{
	uint32_t known = r->by_comm ? 0 : r->frame_fn[id];
	if (known) {
		*out = known == FN_NONE ? FN_NONE : known - 1;
		return 0;
	}
	const ps_frame *f = ps_profile_frame_at(r->p, id);
	if (f->kind == PS_FRAME_PROCESS && !r->o->keep_process) {
		r->frame_fn[id] = *out = FN_NONE;
		return 0;
	}
	struct fn_key k = {r, "", NULL, NULL, 0, 0};
	if (r->by_sym && !(k.name = ps_profile_label(r->p, id, &k.len)))
		return -ENOMEM;
	const ps_mapping *m = ps_profile_mapping_at(r->p, f->mapping);
	k.module = r->by_dso && m ? m->path : NULL;
	if (r->by_comm && comm) {
		k.comm = comm;
		k.commlen = commlen;
	}
	uint64_t h = ps_hash(k.name, k.len);
	if (k.module)
		h = ps_hash_u64(h ^ ps_hash(k.module, strlen(k.module)));
	if (k.commlen)
		h = ps_hash_u64(h ^ ps_hash(k.comm, k.commlen) ^ 1);
	uint32_t i = ps_index_find(&r->index, h, fn_eq, &k);
	if (i == UINT32_MAX) {
		if (PS_GROW(r->fns, r->cap, r->n + 1) ||
		    ps_index_insert(&r->index, h, (uint32_t)r->n))
			return -ENOMEM;
		r->fns[r->n] = (struct fn){k.name, k.len, k.module, k.comm, k.commlen, 0, 0, 0};
		i = (uint32_t)r->n++;
	}
	if (!r->by_comm)
		r->frame_fn[id] = i + 1;
	*out = i;
	return 0;
}

static int cmp_name(const struct fn *x, const struct fn *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);
	if (c || x->len != y->len)
		return c ? c : x->len < y->len ? -1 : 1;
	if (!x->module || !y->module) {
		if (x->module != y->module)
			return !!x->module - !!y->module;
	} else if ((c = strcmp(x->module, y->module))) {
		return c;
	}
	n = x->commlen < y->commlen ? x->commlen : y->commlen;
	c = n ? memcmp(x->comm, y->comm, n) : 0;
	return c ? c : (x->commlen > y->commlen) - (x->commlen < y->commlen);
}

static int cmp_keys(uint64_t kx, uint64_t ky, uint64_t sx, uint64_t sy)
{
	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return 0;
}

static int cmp_self(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	int c = cmp_keys(x->self, y->self, x->total, y->total);
	return c ? c : cmp_name(x, y);
}

static int cmp_total(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	int c = cmp_keys(x->total, y->total, x->self, y->self);
	return c ? c : cmp_name(x, y);
}

/* The label of the process root above node n, for the comm key. */
static int node_comm(struct report *r, const ps_frame_id *proc, ps_node_id n, const char **comm,
		     size_t *len)
{
	*comm = NULL;
	*len = 0;
	if (!r->by_comm || proc[n] == UINT32_MAX)
		return 0;
	*comm = ps_profile_label(r->p, proc[n], len);
	return *comm ? 0 : -ENOMEM;
}

/* Sums self and total values by walking the trie depth first. A function's total takes a
 * node's inclusive value where it first appears on the path, so recursion counts once per
 * stack; a subtree without value is skipped. Leaves r->eff and r->incl for the graphs. */
static int sum_functions(struct report *r, size_t col, size_t *nstacks)
{
	ps_profile *p = r->p;
	size_t nn = ps_profile_nnodes(p);
	uint64_t *incl = r->incl = ps_profile_node_totals(p, col);
	uint32_t *eff = r->eff = malloc(nn * sizeof(*eff));
	ps_frame_id *proc = malloc(nn * sizeof(*proc)); /* nearest process root's frame */
	uint32_t *fn_of = malloc(nn * sizeof(*fn_of));  /* the row of each entered node */
	if (!incl || !eff || !proc || !fn_of) {
		free(proc);
		free(fn_of);
		return -ENOMEM;
	}
	eff[PS_NODE_ROOT] = FN_NONE;
	proc[PS_NODE_ROOT] = UINT32_MAX;
	int err = 0;
	ps_node_id n = ps_profile_node_child(p, PS_NODE_ROOT);
	while (n != PS_NODE_ROOT && !err) {
		int in = incl[n] != 0;
		uint32_t fi = FN_NONE;
		if (in) {
			ps_frame_id fid = ps_profile_node_frame(p, n);
			ps_node_id up = ps_profile_node_parent(p, n);
			proc[n] = ps_profile_frame_at(p, fid)->kind == PS_FRAME_PROCESS ? fid
											 : proc[up];
			const char *comm;
			size_t clen;
			err = node_comm(r, proc, n, &comm, &clen);
			if (!err)
				err = frame_fn(r, fid, comm, clen, &fi);
			if (err)
				break;
			fn_of[n] = fi;
			eff[n] = fi != FN_NONE ? fi : eff[up];
			if (fi != FN_NONE && r->fns[fi].active++ == 0)
				r->fns[fi].total += incl[n];
			uint64_t self = ps_profile_node_self(p, n, col);
			if (self) {
				(*nstacks)++;
				if (eff[n] != FN_NONE)
					r->fns[eff[n]].self += self;
			}
			ps_node_id c = ps_profile_node_child(p, n);
			if (c != PS_NODE_ROOT) {
				n = c;
				continue;
			}
		} else {
			eff[n] = FN_NONE;
		}
		/* Leave n, and its ancestors while they have no next sibling. */
		for (;;) {
			if (in && fn_of[n] != FN_NONE)
				r->fns[fn_of[n]].active--;
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
	free(proc);
	free(fn_of);
	return err;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* ---- call graphs under a row (perf report -g) ---- */

struct gnode {
	ps_frame_id frame;
	uint64_t w;
	uint32_t child, next; /* 0: none (node 0 is the root) */
};

struct graph {
	struct gnode *v;
	size_t n, cap;
	ps_node_id *path;
	size_t pathcap;
};

/* The child of g's node at for frame, made when missing. */
static int gchild(struct graph *g, uint32_t at, ps_frame_id frame, uint32_t *out)
{
	for (uint32_t c = g->v[at].child; c; c = g->v[c].next)
		if (g->v[c].frame == frame) {
			*out = c;
			return 0;
		}
	if (PS_GROW(g->v, g->cap, g->n + 1))
		return -ENOMEM;
	g->v[g->n] = (struct gnode){frame, 0, 0, g->v[at].child};
	g->v[at].child = (uint32_t)g->n;
	*out = (uint32_t)g->n++;
	return 0;
}

/* Adds the stack ending at node n (value w) in the graph's order, without process roots. */
static int gadd(struct graph *g, ps_profile *p, ps_node_id n, uint64_t w, int callee)
{
	size_t depth = 0;
	for (; n != PS_NODE_ROOT; n = ps_profile_node_parent(p, n)) {
		if (ps_profile_frame_at(p, ps_profile_node_frame(p, n))->kind == PS_FRAME_PROCESS)
			continue;
		if (PS_GROW(g->path, g->pathcap, depth + 1))
			return -ENOMEM;
		g->path[depth++] = n;
	}
	uint32_t at = 0;
	g->v[0].w += w;
	for (size_t i = 0; i < depth; i++) {
		ps_node_id k = callee ? g->path[i] : g->path[depth - 1 - i];
		int err = gchild(g, at, ps_profile_node_frame(p, k), &at);
		if (err)
			return err;
		g->v[at].w += w;
	}
	return 0;
}

static int cmp_gnode_w(const void *a, const void *b)
{
	const struct gnode *const *x = a, *const *y = b;
	return (*x)->w != (*y)->w ? ((*x)->w > (*y)->w ? -1 : 1) : 0;
}

static int gprint_name(ps_profile *p, ps_frame_id f, ps_buf *tmp, FILE *out)
{
	size_t len;
	const char *l = ps_profile_label(p, f, &len);
	if (!l)
		return -ENOMEM;
	tmp->len = 0;
	if (ps_escape(tmp, PS_ESC_TERM, l, len))
		return -ENOMEM;
	fwrite(tmp->data, 1, tmp->len, out);
	return 0;
}

/* Prints the children of node at, as perf's graph: a branch "|--12.34%--name" per child
 * (the last one without its bar), a single child that holds all of at's value continues
 * the chain on the next line. ind is the column prefix of this level. */
static int gprint_children(struct graph *g, ps_profile *p, uint32_t at, ps_buf *ind,
			   uint64_t total, ps_buf *tmp, FILE *out)
{
	size_t nk = 0;
	for (uint32_t c = g->v[at].child; c; c = g->v[c].next)
		nk++;
	if (!nk)
		return 0;
	struct gnode **kids = malloc(nk * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nk = 0;
	for (uint32_t c = g->v[at].child; c; c = g->v[c].next)
		kids[nk++] = &g->v[c];
	qsort(kids, nk, sizeof(*kids), cmp_gnode_w);
	int err = 0;
	size_t base = ind->len;
	if (nk == 1 && kids[0]->w == g->v[at].w) {
		uint32_t k = (uint32_t)(kids[0] - g->v);
		fprintf(out, "%.*s", (int)ind->len, ind->data);
		err = gprint_name(p, kids[0]->frame, tmp, out);
		fputc('\n', out);
		free(kids);
		return err ? err : gprint_children(g, p, k, ind, total, tmp, out);
	}
	for (size_t i = 0; i < nk && !err; i++) {
		uint32_t k = (uint32_t)(kids[i] - g->v);
		int last = i + 1 == nk;
		char pct[40];
		int plen = snprintf(pct, sizeof(pct), "--%.2f%%--",
				    total ? 100.0 * (double)kids[i]->w / (double)total : 0.0);
		fprintf(out, "%.*s|\n", (int)ind->len, ind->data);
		fprintf(out, "%.*s%s%s", (int)ind->len, ind->data, last ? " " : "|", pct);
		err = gprint_name(p, kids[i]->frame, tmp, out);
		fputc('\n', out);
		ind->len = base;
		if (!err && (ps_buf_add(ind, last ? " " : "|", 1) ||
			     ps_buf_printf(ind, "%*s", plen, "")))
			err = -ENOMEM;
		if (!err)
			err = gprint_children(g, p, k, ind, total, tmp, out);
		ind->len = base;
	}
	free(kids);
	return err;
}

/* The graph of row fi: the stacks whose self value went to it. */
static int print_graph(struct report *r, uint32_t fi, size_t col, uint64_t total, FILE *out)
{
	ps_profile *p = r->p;
	struct graph g = {0};
	ps_buf ind = {0}, tmp = {0};
	int err = PS_GROW(g.v, g.cap, 1) ? -ENOMEM : 0;
	if (!err)
		g.v[g.n++] = (struct gnode){0, 0, 0, 0};
	int callee = r->o->graph == PS_REPORT_GRAPH_CALLEE;
	size_t nn = ps_profile_nnodes(p);
	for (ps_node_id n = 1; !err && n < nn; n++) {
		uint64_t self = ps_profile_node_self(p, n, col);
		if (self && r->eff[n] == fi)
			err = gadd(&g, p, n, self, callee);
	}
	/* The root's one child is the function itself (callee) or the outermost frame. */
	if (!err && g.v[0].child) {
		fputs("            |\n", out);
		uint32_t c = g.v[0].child;
		if (!g.v[c].next) {
			fputs("            ---", out);
			err = gprint_name(p, g.v[c].frame, &tmp, out);
			fputc('\n', out);
			if (!err && ps_buf_addstr(&ind, "               "))
				err = -ENOMEM;
			if (!err)
				err = gprint_children(&g, p, c, &ind, total, &tmp, out);
		} else {
			if (ps_buf_addstr(&ind, "            "))
				err = -ENOMEM;
			if (!err)
				err = gprint_children(&g, p, 0, &ind, total, &tmp, out);
		}
		fputc('\n', out);
	}
	free(g.v);
	free(g.path);
	ps_buf_release(&ind);
	ps_buf_release(&tmp);
	return err;
}

/* ---- the table ---- */

struct column {
	const char *title;
	ps_buf text; /* the shown rows' cells, NUL-separated */
	size_t *off;
	size_t width;
};

static int cell(struct column *c, size_t row, const char *s, size_t len)
{
	c->off[row] = c->text.len;
	if (ps_escape(&c->text, PS_ESC_TERM, s, len))
		return -ENOMEM;
	if (c->text.len - c->off[row] > c->width)
		c->width = c->text.len - c->off[row];
	return ps_buf_add(&c->text, "", 1) ? -ENOMEM : 0;
}

static struct report *sort_ctx;
static int cmp_order(const void *a, const void *b)
{
	const struct fn *x = &sort_ctx->fns[*(const uint32_t *)a];
	const struct fn *y = &sort_ctx->fns[*(const uint32_t *)b];
	return sort_ctx->o->sort_total ? cmp_total(x, y) : cmp_self(x, y);
}

int ps_report_render(ps_profile *p, const ps_report_opts *o, FILE *out)
{
	size_t col = o->col;
	if (col && col >= ps_profile_ntypes(p))
		return -EINVAL;
	struct report r = {.p = p, .o = o};
	/* The keys: perf's --sort order, or the default dso (when any row has one), sym. */
	enum ps_report_key keys[4] = {0};
	size_t nkeys = 0;
	int default_keys = !o->keys[0];
	for (size_t i = 0; i < 3 && o->keys[i]; i++)
		keys[nkeys++] = o->keys[i];
	if (default_keys) {
		keys[nkeys++] = PS_REPORT_DSO;
		keys[nkeys++] = PS_REPORT_SYM;
	}
	for (size_t i = 0; i < nkeys; i++) {
		r.by_comm |= keys[i] == PS_REPORT_COMM;
		r.by_dso |= keys[i] == PS_REPORT_DSO;
		r.by_sym |= keys[i] == PS_REPORT_SYM;
	}
	size_t nstacks = 0;
	uint32_t *order = NULL;
	uint64_t *also = NULL;
	struct column cols[3] = {{.title = "command"}, {.title = "module"}, {.title = "function"}};
	int err = -ENOMEM;
	r.frame_fn = calloc(ps_profile_nframes(p) + 1, sizeof(*r.frame_fn));
	if (!r.frame_fn)
		goto out;
	err = sum_functions(&r, col, &nstacks);
	if (err)
		goto out;
	err = -ENOMEM;
	/* --heap's objects beside the bytes: the same rows (a node with values in one column
	 * has them in the other: they come from the same samples). */
	const char *also_type = o->also_col ? ps_profile_type(p, o->also_col - 1, NULL) : NULL;
	if (also_type) {
		if (!(also = calloc(r.n + 1, sizeof(*also))))
			goto out;
		for (size_t n = 1; n < ps_profile_nnodes(p); n++)
			if (r.incl[n] && r.eff[n] != FN_NONE)
				also[r.eff[n]] += ps_profile_node_self(p, (ps_node_id)n, o->also_col - 1);
	}
	order = malloc((r.n + 1) * sizeof(*order));
	if (!order)
		goto out;
	for (size_t i = 0; i < r.n; i++)
		order[i] = (uint32_t)i;
	sort_ctx = &r;
	if (r.n > 1)
		qsort(order, r.n, sizeof(*order), cmp_order);
	uint64_t total = ps_profile_total(p, col);
	size_t rows = o->limit && o->limit < r.n ? o->limit : r.n;
	/* --percent-limit: rows whose sorted value is below it are left out. */
	while (rows && o->percent_limit > 0 && total) {
		const struct fn *f = &r.fns[order[rows - 1]];
		uint64_t v = o->sort_total ? f->total : f->self;
		if (100.0 * (double)v / (double)total >= o->percent_limit)
			break;
		rows--;
	}
	int have_mods = 0;
	for (size_t k = 0; k < 3; k++) {
		cols[k].width = strlen(cols[k].title);
		if (!(cols[k].off = malloc((rows + 1) * sizeof(size_t))))
			goto out;
	}
	err = 0;
	for (size_t i = 0; i < rows && !err; i++) {
		const struct fn *f = &r.fns[order[i]];
		const char *m = f->module ? base_name(f->module) : "-";
		have_mods |= f->module != NULL;
		err = cell(&cols[0], i, f->comm ? f->comm : "-", f->comm ? f->commlen : 1);
		if (!err)
			err = cell(&cols[1], i, m, strlen(m));
		if (!err)
			err = cell(&cols[2], i, f->name, f->len);
	}
	if (err)
		goto out;
	/* The module column of the default keys shows only when a row has a module. */
	size_t shown[3], nshown = 0;
	for (size_t i = 0; i < nkeys; i++)
		if (!(default_keys && keys[i] == PS_REPORT_DSO && !have_mods))
			shown[nshown++] = keys[i] == PS_REPORT_COMM ? 0
					  : keys[i] == PS_REPORT_DSO ? 1
								     : 2;

	const char *unit = NULL, *type = ps_profile_type(p, col, &unit);
	if (!type || !strcmp(unit, "count"))
		fprintf(out, "# %llu %s in %zu stacks\n", (unsigned long long)total,
			type ? type : "samples", nstacks);
	else
		fprintf(out, "# %llu %s of %s in %zu stacks\n", (unsigned long long)total, unit,
			type, nstacks);
	fprintf(out, "#  %-7s ", "self%");
	if (!o->no_total)
		fprintf(out, "%-7s ", "total%");
	fprintf(out, "%10s", "self");
	if (also)
		fprintf(out, "  %12s", also_type);
	for (size_t k = 0; k < nshown; k++) {
		const struct column *c = &cols[shown[k]];
		/* The last column is not padded: no trailing blanks. */
		fprintf(out, "  %-*s", k + 1 < nshown ? (int)c->width : 0, c->title);
	}
	fputc('\n', out);
	for (size_t i = 0; i < rows; i++) {
		const struct fn *f = &r.fns[order[i]];
		double ps = total ? 100.0 * (double)f->self / (double)total : 0;
		double pt = total ? 100.0 * (double)f->total / (double)total : 0;
		fprintf(out, "  %6.2f%% ", ps);
		if (!o->no_total)
			fprintf(out, "%6.2f%% ", pt);
		fprintf(out, "%10llu", (unsigned long long)f->self);
		if (also)
			fprintf(out, "  %12llu", (unsigned long long)also[order[i]]);
		for (size_t k = 0; k < nshown; k++) {
			const struct column *c = &cols[shown[k]];
			fprintf(out, "  %-*s", k + 1 < nshown ? (int)c->width : 0,
				c->text.data + c->off[i]);
		}
		fputc('\n', out);
		if (o->graph != PS_REPORT_GRAPH_NONE && f->self && !err)
			err = print_graph(&r, order[i], col, total, out);
	}
	if (!err)
		err = ferror(out) ? -EIO : 0;
out:
	free(also);
	free(r.fns);
	free(r.frame_fn);
	free(r.eff);
	free(r.incl);
	free(order);
	ps_index_release(&r.index);
	for (size_t k = 0; k < 3; k++) {
		ps_buf_release(&cols[k].text);
		free(cols[k].off);
	}
	return err;
}
