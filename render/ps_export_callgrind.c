/* callgrind's profile format (valgrind docs, "Callgrind Format Specification"), read by
 * kcachegrind, callgrind_annotate and gprof2dot: per function its self cost, and per call
 * edge the inclusive cost of the callee's subtree, so the reader can draw the call graph. */
#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "render/ps_export_int.h"

/* One caller -> callee edge. Functions are numbered frame ids first, then comms. */
typedef struct edge {
	uint32_t caller, callee;
	uint64_t cost;
	size_t last_stack; /* stack index + 1 that last counted this edge */
} edge;

typedef struct edges {
	edge *e;
	size_t n, cap;
	uint32_t *slot; /* open addressing, index + 1 */
	size_t mask;
} edges;

static int edges_grow(edges *t)
{
	size_t nslots = t->mask ? (t->mask + 1) * 2 : 1024;
	uint32_t *slot = calloc(nslots, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t h =
		    ps_hash_u64((uint64_t)t->e[i].caller << 32 | t->e[i].callee) & (nslots - 1);
		while (slot[h])
			h = (h + 1) & (nslots - 1);
		slot[h] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->mask = nslots - 1;
	return 0;
}

static int edges_get(edges *t, uint32_t caller, uint32_t callee, edge **out)
{
	if (t->n * 2 >= t->mask) {
		int err = edges_grow(t);
		if (err)
			return err;
	}
	size_t h = ps_hash_u64((uint64_t)caller << 32 | callee) & t->mask;
	for (; t->slot[h]; h = (h + 1) & t->mask) {
		edge *e = &t->e[t->slot[h] - 1];
		if (e->caller == caller && e->callee == callee) {
			*out = e;
			return 0;
		}
	}
	if (t->n == UINT32_MAX - 1)
		return -ENOMEM;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		edge *ne = realloc(t->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->e = ne;
		t->cap = cap;
	}
	edge *e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->caller = caller;
	e->callee = callee;
	t->slot[h] = (uint32_t)++t->n;
	*out = e;
	return 0;
}

static int edge_cmp(const void *a, const void *b)
{
	const edge *x = a, *y = b;
	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->callee < y->callee ? -1 : x->callee > y->callee;
}

/* The format is line based: a newline in a name would end the line early. */
static void put_name(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		putc(s[i] == '\n' || s[i] == '\r' ? '?' : s[i], out);
}

typedef struct writer {
	FILE *out;
	const ps_xprof *x;
	unsigned char *fn_named, *fl_named; /* name compression: full name only once */
	uint32_t nfiles;
	ps_xtab files; /* file names; id 0 is "???" (unknown), the last one "[comm]" */
	uint32_t *fn_file;
} writer;

static void put_fn(writer *w, const char *key, uint32_t fid)
{
	const ps_xprof *x = w->x;
	fprintf(w->out, "%s=(%u)", key, fid + 1);
	if (!w->fn_named[fid]) {
		w->fn_named[fid] = 1;
		putc(' ', w->out);
		if (fid < x->frames.n)
			put_name(w->out, x->frames.name[fid], x->frames.len[fid]);
		else
			put_name(w->out, x->comms.name[fid - x->frames.n],
				 x->comms.len[fid - x->frames.n]);
	}
	putc('\n', w->out);
}

static void put_fl(writer *w, const char *key, uint32_t fid)
{
	uint32_t fl = w->fn_file[fid];
	fprintf(w->out, "%s=(%u)", key, fl + 1);
	if (!w->fl_named[fl]) {
		w->fl_named[fl] = 1;
		putc(' ', w->out);
		put_name(w->out, w->files.name[fl], w->files.len[fl]);
	}
	putc('\n', w->out);
}

static uint32_t fn_line(const ps_xprof *x, uint32_t fid)
{
	if (fid < x->frames.n && x->has_meta && x->has_meta[fid])
		return x->meta[fid].line;
	return 0;
}

int ps_export_callgrind(ps_profile *p, const ps_export_meta *m, FILE *out)
{
	ps_xprof x;
	edges es;
	writer w;
	uint64_t *self = NULL;
	memset(&es, 0, sizeof(es));
	memset(&w, 0, sizeof(w));
	int err = ps_xprof_build(&x, p, m);
	if (err)
		goto out;
	uint32_t nfn = x.frames.n + x.comms.n;
	self = calloc(nfn ? nfn : 1, sizeof(*self));
	w.fn_file = calloc(nfn ? nfn : 1, sizeof(*w.fn_file));
	w.fn_named = calloc(nfn ? nfn : 1, 1);
	if (!self || !w.fn_file || !w.fn_named) {
		err = -ENOMEM;
		goto out;
	}

	/* Self cost goes to the leaf. An edge's inclusive cost counts each stack once even when
	 * recursion repeats the edge, as pprof and gprof2dot do, so no edge outweighs the
	 * samples under it. */
	for (size_t i = 0; i < x.nstacks; i++) {
		size_t lo = x.start[i], hi = x.start[i + 1];
		uint32_t prev = x.comm[i] == UINT32_MAX ? UINT32_MAX : x.frames.n + x.comm[i];
		uint32_t leaf = prev;
		for (size_t k = lo; k < hi; k++) {
			uint32_t fid = x.ids[k];
			if (prev != UINT32_MAX) {
				edge *e;
				if ((err = edges_get(&es, prev, fid, &e)))
					goto out;
				if (e->last_stack != i + 1) {
					e->last_stack = i + 1;
					e->cost += x.count[i];
				}
			}
			prev = leaf = fid;
		}
		if (leaf != UINT32_MAX)
			self[leaf] += x.count[i];
	}
	qsort(es.e, es.n, sizeof(*es.e), edge_cmp);

	/* Files: "???" is what valgrind itself writes for code without debug info; comms get
	 * a file of their own so a process named like a function stays a separate node. */
	uint32_t id;
	if ((err = ps_xtab_intern(&w.files, "???", 3, &id)))
		goto out;
	for (uint32_t f = 0; f < x.frames.n; f++)
		if (x.has_meta && x.has_meta[f] && x.meta[f].file) {
			const char *file = x.meta[f].file;
			if ((err = ps_xtab_intern(&w.files, file, strlen(file), &w.fn_file[f])))
				goto out;
		}
	if (x.comms.n) {
		if ((err = ps_xtab_intern(&w.files, "[comm]", 6, &id)))
			goto out;
		for (uint32_t c = 0; c < x.comms.n; c++)
			w.fn_file[x.frames.n + c] = id;
	}
	w.fl_named = calloc(w.files.n, 1);
	if (!w.fl_named) {
		err = -ENOMEM;
		goto out;
	}
	w.out = out;
	w.x = &x;

	fputs("# callgrind format\nversion: 1\ncreator: perfsample\n", out);
	if (x.m.name) {
		fputs("cmd: ", out);
		put_name(out, x.m.name, strlen(x.m.name));
		putc('\n', out);
	}
	fputs("positions: line\nevent: Samples : ", out);
	put_name(out, x.m.event, strlen(x.m.event));
	fputs(" samples\nevents: Samples\n", out);
	fprintf(out, "summary: %llu\n", (unsigned long long)x.total);

	size_t e = 0;
	for (uint32_t fid = 0; fid < nfn; fid++) {
		/* Edges are sorted by caller and callers are numbered 0..nfn-1. */
		size_t e_end = e;
		while (e_end < es.n && es.e[e_end].caller == fid)
			e_end++;
		if (!self[fid] && e == e_end)
			continue;
		putc('\n', out);
		put_fl(&w, "fl", fid);
		put_fn(&w, "fn", fid);
		uint32_t line = fn_line(&x, fid);
		if (self[fid])
			fprintf(out, "%u %llu\n", line, (unsigned long long)self[fid]);
		for (; e < e_end; e++) {
			uint32_t callee = es.e[e].callee;
			put_fl(&w, "cfl", callee);
			put_fn(&w, "cfn", callee);
			/* Sampling cannot count calls; the number of samples through the edge is
			 * what kcachegrind gets as the call count. */
			fprintf(out, "calls=%llu %u\n%u %llu\n", (unsigned long long)es.e[e].cost,
				fn_line(&x, callee), line, (unsigned long long)es.e[e].cost);
		}
	}
	fprintf(out, "\ntotals: %llu\n", (unsigned long long)x.total);
	err = ps_x_check_stream(out);
out:
	free(self);
	free(es.e);
	free(es.slot);
	free(w.fn_file);
	free(w.fn_named);
	free(w.fl_named);
	ps_xtab_release(&w.files);
	ps_xprof_release(&x);
	return err;
}
