#include "render/ps_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

struct fn {
	const char *name;
	size_t len;
	uint64_t self, total;
	uint64_t seen; /* last stack that counted it in total: once per stack */
};

struct table {
	struct fn *fns;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;
};

static struct fn *lookup(struct table *t, const char *name, size_t len)
{
	if ((t->n + 1) * 2 > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 1024;
		uint32_t *s = calloc(ns, sizeof(*s));
		if (!s)
			return NULL;
		for (size_t i = 0; i < t->n; i++) {
			size_t j = ps_hash(t->fns[i].name, t->fns[i].len) & (ns - 1);
			while (s[j])
				j = (j + 1) & (ns - 1);
			s[j] = (uint32_t)i + 1;
		}
		free(t->slots);
		t->slots = s;
		t->nslots = ns;
	}
	size_t j = ps_hash(name, len) & (t->nslots - 1);
	while (t->slots[j]) {
		struct fn *f = &t->fns[t->slots[j] - 1];
		if (f->len == len && !memcmp(f->name, name, len))
			return f;
		j = (j + 1) & (t->nslots - 1);
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct fn *f = realloc(t->fns, cap * sizeof(*f));
		if (!f)
			return NULL;
		t->fns = f;
		t->cap = cap;
	}
	t->fns[t->n] = (struct fn){name, len, 0, 0, 0};
	t->slots[j] = (uint32_t)++t->n;
	return &t->fns[t->n - 1];
}

static int sort_total;
static int cmp_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	uint64_t kx = sort_total ? x->total : x->self, ky = sort_total ? y->total : y->self;
	if (kx != ky)
		return kx > ky ? -1 : 1;
	uint64_t sx = sort_total ? x->self : x->total, sy = sort_total ? y->self : y->total;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

int ps_report_render(ps_profile *p, const ps_report_opts *o, FILE *out)
{
	size_t n;
	const ps_stack *st = ps_profile_stacks(p, &n);
	uint64_t total = ps_profile_total(p, 0);
	struct table t = {0};
	int err = 0;
	for (size_t i = 0; i < n && !err; i++) {
		const char *s = st[i].folded, *end = s + st[i].len;
		int first = 1;
		struct fn *leaf = NULL;
		while (s <= end) {
			const char *semi = memchr(s, ';', (size_t)(end - s));
			const char *fe = semi ? semi : end;
			if (!(first && o->skip_first_frame)) {
				struct fn *f = lookup(&t, s, (size_t)(fe - s));
				if (!f) {
					err = -ENOMEM;
					break;
				}
				/* Recursion: a function counts once per stack in its total. */
				if (f->seen != i + 1) {
					f->seen = i + 1;
					f->total += st[i].count;
				}
				leaf = f;
			}
			first = 0;
			s = fe + 1;
		}
		if (leaf)
			leaf->self += st[i].count;
	}
	if (!err) {
		sort_total = o->sort_total;
		qsort(t.fns, t.n, sizeof(*t.fns), cmp_fn);
		fprintf(out, "# %llu samples in %zu stacks\n", (unsigned long long)total, n);
		fprintf(out, "#  %-7s %-7s %10s  %s\n", "self%", "total%", "self", "function");
		size_t rows = o->limit && o->limit < t.n ? o->limit : t.n;
		for (size_t i = 0; i < rows; i++) {
			const struct fn *f = &t.fns[i];
			double ps = total ? 100.0 * (double)f->self / (double)total : 0;
			double pt = total ? 100.0 * (double)f->total / (double)total : 0;
			fprintf(out, "  %6.2f%% %6.2f%% %10llu  %.*s\n", ps, pt,
				(unsigned long long)f->self, (int)f->len, f->name);
		}
		if (ferror(out))
			err = -EIO;
	}
	free(t.fns);
	free(t.slots);
	return err;
}
