/* ps_report: top functions from the profile's trie. See ps_report.h. */
#include "render/ps_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

#define FN_NONE UINT32_MAX /* frame_fn: a process root, no function */

struct fn {
	const char *name; /* the frame's label, borrowed from the profile */
	size_t len;
	const char *module; /* the mapping's path, borrowed from the profile, or NULL */
	uint64_t self, total;
	uint32_t active; /* times it is on the walk's current path */
};

struct report {
	ps_profile *p;
	struct fn *fns;
	size_t n, cap;
	ps_index index;
	uint32_t *frame_fn; /* per frame: 0 unseen, FN_NONE, or function index + 1 */
};

struct fn_key {
	const struct report *r;
	const char *name, *module;
	size_t len;
};

static int same_module(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int fn_eq(const void *ctx, uint32_t id)
{
	const struct fn_key *k = ctx;
	const struct fn *f = &k->r->fns[id];
	return f->len == k->len && !memcmp(f->name, k->name, k->len) &&
	       same_module(f->module, k->module);
}

/* The function of frame id (FN_NONE for the process root), found or added. */
static int frame_fn(struct report *r, ps_frame_id id, uint32_t *out)
{
	uint32_t known = r->frame_fn[id];
	if (known) {
		*out = known == FN_NONE ? FN_NONE : known - 1;
		return 0;
	}
	const ps_frame *f = ps_profile_frame_at(r->p, id);
	if (f->kind == PS_FRAME_PROCESS) {
		r->frame_fn[id] = *out = FN_NONE;
		return 0;
	}
	struct fn_key k = {r, NULL, NULL, 0};
	k.name = ps_profile_label(r->p, id, &k.len);
	if (!k.name)
		return -ENOMEM;
	const ps_mapping *m = ps_profile_mapping_at(r->p, f->mapping);
	k.module = m ? m->path : NULL;
	uint64_t h = ps_hash(k.name, k.len);
	if (k.module)
		h = ps_hash_u64(h ^ ps_hash(k.module, strlen(k.module)));
	uint32_t i = ps_index_find(&r->index, h, fn_eq, &k);
	if (i == UINT32_MAX) {
		if (PS_GROW(r->fns, r->cap, r->n + 1) ||
		    ps_index_insert(&r->index, h, (uint32_t)r->n))
			return -ENOMEM;
		r->fns[r->n] = (struct fn){k.name, k.len, k.module, 0, 0, 0};
		i = (uint32_t)r->n++;
	}
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
	if (!x->module || !y->module)
		return !!x->module - !!y->module;
	return strcmp(x->module, y->module);
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

/* Sums self and total values by walking the trie depth first. A function's total takes a
 * node's inclusive value where it first appears on the path, so recursion counts once per
 * stack; a subtree without value is skipped. */
static int sum_functions(struct report *r, size_t col, size_t *nstacks)
{
	ps_profile *p = r->p;
	size_t nn = ps_profile_nnodes(p);
	uint64_t *incl = ps_profile_node_totals(p, col);
	uint32_t *eff = malloc(nn * sizeof(*eff)); /* the function a node's self value goes to */
	if (!incl || !eff) {
		free(incl);
		free(eff);
		return -ENOMEM;
	}
	eff[PS_NODE_ROOT] = FN_NONE;
	int err = 0;
	ps_node_id n = ps_profile_node_child(p, PS_NODE_ROOT);
	while (n != PS_NODE_ROOT && !err) {
		int in = incl[n] != 0;
		uint32_t fi = FN_NONE;
		if (in)
			err = frame_fn(r, ps_profile_node_frame(p, n), &fi);
		if (err)
			break;
		if (in) {
			eff[n] = fi != FN_NONE ? fi : eff[ps_profile_node_parent(p, n)];
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
		}
		/* Leave n, and its ancestors while they have no next sibling. */
		for (;;) {
			if (in) {
				err = frame_fn(r, ps_profile_node_frame(p, n), &fi);
				if (err)
					break;
				if (fi != FN_NONE)
					r->fns[fi].active--;
			}
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
	free(incl);
	free(eff);
	return err;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int ps_report_render(ps_profile *p, const ps_report_opts *o, FILE *out)
{
	size_t col = o->col;
	if (col && col >= ps_profile_ntypes(p))
		return -EINVAL;
	struct report r = {p, NULL, 0, 0, {0}, NULL};
	size_t nstacks = 0;
	ps_buf mods = {0}; /* the shown rows' module base names, NUL-separated */
	size_t *modoff = NULL;
	int err = -ENOMEM;
	r.frame_fn = calloc(ps_profile_nframes(p) + 1, sizeof(*r.frame_fn));
	if (!r.frame_fn)
		goto out;
	err = sum_functions(&r, col, &nstacks);
	if (err)
		goto out;
	if (r.n > 1)
		qsort(r.fns, r.n, sizeof(*r.fns), o->sort_total ? cmp_total : cmp_self);
	size_t rows = o->limit && o->limit < r.n ? o->limit : r.n;
	/* The module column, when a row shown has a module: base names, as perf report */
	int have_mods = 0;
	size_t modw = strlen("module");
	modoff = malloc((rows + 1) * sizeof(*modoff));
	if (!modoff)
		goto out;
	for (size_t i = 0; i < rows && !err; i++) {
		const char *m = r.fns[i].module;
		modoff[i] = mods.len;
		have_mods |= m != NULL;
		m = m ? base_name(m) : "-";
		err = ps_escape(&mods, PS_ESC_TERM, m, strlen(m));
		if (!err && mods.len - modoff[i] > modw)
			modw = mods.len - modoff[i];
		if (!err)
			err = ps_buf_add(&mods, "", 1);
	}
	if (err)
		goto out;

	uint64_t total = ps_profile_total(p, col);
	const char *unit = NULL, *type = ps_profile_type(p, col, &unit);
	if (!type || !strcmp(unit, "count"))
		fprintf(out, "# %llu %s in %zu stacks\n", (unsigned long long)total,
			type ? type : "samples", nstacks);
	else
		fprintf(out, "# %llu %s of %s in %zu stacks\n", (unsigned long long)total, unit,
			type, nstacks);
	if (have_mods)
		fprintf(out, "#  %-7s %-7s %10s  %-*s  %s\n", "self%", "total%", "self", (int)modw,
			"module", "function");
	else
		fprintf(out, "#  %-7s %-7s %10s  %s\n", "self%", "total%", "self", "function");
	for (size_t i = 0; i < rows; i++) {
		const struct fn *f = &r.fns[i];
		double ps = total ? 100.0 * (double)f->self / (double)total : 0;
		double pt = total ? 100.0 * (double)f->total / (double)total : 0;
		fprintf(out, "  %6.2f%% %6.2f%% %10llu  ", ps, pt, (unsigned long long)f->self);
		if (have_mods)
			fprintf(out, "%-*s  ", (int)modw, mods.data + modoff[i]);
		fprintf(out, "%.*s\n", (int)f->len, f->name);
	}
	err = ferror(out) ? -EIO : 0;
out:
	free(r.fns);
	free(r.frame_fn);
	ps_index_release(&r.index);
	ps_buf_release(&mods);
	free(modoff);
	return err;
}
