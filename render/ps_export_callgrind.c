/* callgrind's profile format (valgrind docs, "Callgrind Format Specification"), read by
 * kcachegrind, callgrind_annotate and gprof2dot: per function its self cost by source line,
 * and per call edge the inclusive cost of the callee, so the reader can draw the call graph.
 *
 * Readers take a called function's inclusive cost to be the sum of its incoming edges
 * (callgrind_annotate --inclusive=yes, kcachegrind), so each sample gives every function on
 * its stack exactly one incoming edge: the call that first entered it, from the root. A
 * recursive call (rec -> rec, or a -> b -> a) is inside that first call and adds nothing,
 * and no function passes 100% or the samples under it. Where callgrind itself records a
 * recursive call (rec'2), callgrind_annotate shows it above 100%. */
#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "render/ps_export_int.h"

/* Costs at one place: a function's own line (callee NONE), or a call from its line. */
#define NONE UINT32_MAX
typedef struct cost {
	uint32_t fn, line, callee;
	uint32_t first; /* index of its costs in the writer's value array */
} cost;

typedef struct writer {
	ps_xmodel *x;
	ps_profile *p;
	FILE *out;
	size_t ncols, calls_col;
	cost *costs;
	size_t ncosts, costcap;
	uint64_t *vals;
	size_t valcap;
	ps_index index;
	ps_xstrs names;	      /* object and file names, for name compression */
	unsigned char *named; /* per string id: 1 once "ob=(id) name", 2 "fl=(id) name" */
	size_t named_cap;
	unsigned char *fn_named; /* per function */
	int objects;		 /* the profile has mappings: write ob= */
} writer;

struct cost_key {
	const writer *w;
	uint32_t fn, line, callee;
};

static int cost_eq(const void *ctx, uint32_t id)
{
	const struct cost_key *k = ctx;
	const cost *c = &k->w->costs[id];
	return c->fn == k->fn && c->line == k->line && c->callee == k->callee;
}

/* Adds v[col] of node (self or inclusive) to the costs of (fn, line, callee). */
static int cost_add(writer *w, uint32_t fn, uint32_t line, uint32_t callee, uint64_t *const *v,
		    ps_node_id node)
{
	struct cost_key k = {w, fn, line, callee};
	uint64_t h = ps_hash_u64(((uint64_t)fn << 32 | line) ^ ps_hash_u64(callee));
	uint32_t id = ps_index_find(&w->index, h, cost_eq, &k);
	if (id == UINT32_MAX) {
		if (w->ncosts >= UINT32_MAX - 1)
			return PS_ELIMIT;
		if (PS_GROW(w->costs, w->costcap, w->ncosts + 1) ||
		    PS_GROW(w->vals, w->valcap, (w->ncosts + 1) * w->ncols + 1))
			return -ENOMEM;
		int err = ps_index_insert(&w->index, h, (uint32_t)w->ncosts);
		if (err)
			return err;
		id = (uint32_t)w->ncosts++;
		w->costs[id] = (cost){fn, line, callee, (uint32_t)(id * w->ncols)};
		memset(w->vals + (size_t)id * w->ncols, 0, w->ncols * sizeof(*w->vals));
	}
	uint64_t *dst = w->vals + (size_t)id * w->ncols;
	for (size_t c = 0; c < w->ncols; c++)
		dst[c] += v[c][node];
	return 0;
}

static uint32_t node_line(const writer *w, ps_node_id n)
{
	return ps_profile_frame_at(w->p, ps_profile_node_frame(w->p, n))->line;
}

/* Walks the trie depth first, counting how often each function is on the path: a node
 * whose function is not yet on it is the call that entered the function. */
static int collect(writer *w, uint64_t *const *self, uint64_t *const *incl)
{
	ps_xmodel *x = w->x;
	uint32_t *onpath = calloc(x->nfn ? x->nfn : 1, sizeof(*onpath));
	if (!onpath)
		return -ENOMEM;
	int err = 0;
	ps_node_id n = ps_profile_node_child(w->p, PS_NODE_ROOT);
	while (!err && n != PS_NODE_ROOT) {
		uint32_t fn = x->node_fn[n];
		ps_node_id parent = ps_profile_node_parent(w->p, n);
		if (onpath[fn]++ == 0 && parent != PS_NODE_ROOT)
			err = cost_add(w, x->node_fn[parent], node_line(w, parent), fn, incl, n);
		int has_self = 0;
		for (size_t c = 0; c < w->ncols; c++)
			has_self |= self[c][n] != 0;
		if (!err && has_self)
			err = cost_add(w, fn, node_line(w, n), NONE, self, n);
		ps_node_id next = ps_profile_node_child(w->p, n);
		if (next != PS_NODE_ROOT) {
			n = next;
			continue;
		}
		/* Leave n and every ancestor whose children are done. */
		for (;;) {
			onpath[x->node_fn[n]]--;
			if ((next = ps_profile_node_next(w->p, n)) != PS_NODE_ROOT) {
				n = next;
				break;
			}
			if ((n = ps_profile_node_parent(w->p, n)) == PS_NODE_ROOT)
				break;
		}
	}
	free(onpath);
	return err;
}

static int cost_cmp(const void *a, const void *b)
{
	const cost *x = a, *y = b;
	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	/* Self costs (callee NONE) after the calls of the same line: the order is free. */
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->callee > y->callee) - (x->callee < y->callee);
}

/* The format is line based: a control byte in a name could end the line early. */
static void put_name(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

/* "key=(id)" for an object (kind 1) or file (kind 2) name, with the name the first time
 * ("(id) name"). Objects and files are numbered apart in the format: one id stands for the
 * same string in both here, but is named once in each. */
static int put_str(writer *w, const char *key, unsigned kind, const char *s)
{
	uint32_t id;
	int err = ps_xstrs_id(&w->names, s, strlen(s), &id);
	if (err)
		return err;
	if (id >= w->named_cap) {
		size_t old = w->named_cap;
		if (PS_GROW(w->named, w->named_cap, (size_t)id + 1))
			return -ENOMEM;
		memset(w->named + old, 0, w->named_cap - old);
	}
	fprintf(w->out, "%s=(%u)", key, id + 1);
	if (!(w->named[id] & kind)) {
		w->named[id] |= (unsigned char)kind;
		putc(' ', w->out);
		put_name(w->out, s, strlen(s));
	}
	putc('\n', w->out);
	return 0;
}

/* The ob=, fl= and fn= lines of a function (cob=, cfl=, cfn= with prefix "c"). */
static int put_fn(writer *w, const char *prefix, uint32_t fn)
{
	const ps_xfn *f = &w->x->fn[fn];
	char key[8];
	int err = 0;
	if (w->objects) {
		snprintf(key, sizeof(key), "%sob", prefix);
		err = put_str(w, key, 1, f->object ? f->object : "???");
	}
	/* "???" is what valgrind writes for code without debug info; a process root gets a
	 * file of its own, so a process named like a function stays a separate node. */
	snprintf(key, sizeof(key), "%sfl", prefix);
	if (!err)
		err = put_str(w, key, 2, f->process ? "[comm]" : f->file ? f->file : "???");
	if (err)
		return err;
	fprintf(w->out, "%sfn=(%u)", prefix, fn + 1);
	if (!w->fn_named[fn]) {
		w->fn_named[fn] = 1;
		putc(' ', w->out);
		put_name(w->out, f->name, f->namelen);
	}
	putc('\n', w->out);
	return 0;
}

static void put_costs(writer *w, const uint64_t *v)
{
	for (size_t c = 0; c < w->ncols; c++)
		fprintf(w->out, " %llu", (unsigned long long)v[c]);
	putc('\n', w->out);
}

/* An event name is one word: the column's type with anything else as '_'. */
static void put_event(FILE *out, const char *type)
{
	for (; *type; type++) {
		char c = *type;
		int word =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		putc(word ? c : '_', out);
	}
}

static int write_file(writer *w)
{
	FILE *out = w->out;
	ps_xmodel *x = w->x;
	fputs("# callgrind format\nversion: 1\ncreator: perfsample\n", out);
	if (x->m.name) {
		fputs("cmd: ", out);
		put_name(out, x->m.name, strlen(x->m.name));
		putc('\n', out);
	}
	fputs("positions: line\n", out);
	for (size_t c = 0; c < w->ncols; c++) {
		const char *unit, *type = ps_profile_type(w->p, c, &unit);
		fputs("event: ", out);
		put_event(out, type);
		fputs(" : ", out);
		put_name(out, x->m.event, strlen(x->m.event));
		fprintf(out, " %s", type);
		if (strcmp(unit, "count"))
			fprintf(out, " (%s)", unit);
		putc('\n', out);
	}
	fputs("events:", out);
	for (size_t c = 0; c < w->ncols; c++) {
		putc(' ', out);
		put_event(out, ps_profile_type(w->p, c, NULL));
	}
	uint64_t totals[PS_PROFILE_MAX_COLS];
	for (size_t c = 0; c < w->ncols; c++)
		totals[c] = ps_profile_total(w->p, c);
	fputs("\nsummary:", out);
	put_costs(w, totals);

	uint32_t cur = NONE;
	for (size_t i = 0; i < w->ncosts; i++) {
		const cost *c = &w->costs[i];
		const uint64_t *v = w->vals + c->first;
		int err;
		if (c->fn != cur) {
			cur = c->fn;
			putc('\n', out);
			if ((err = put_fn(w, "", cur)))
				return err;
		}
		if (c->callee == NONE) {
			fprintf(out, "%u", c->line);
			put_costs(w, v);
			continue;
		}
		if ((err = put_fn(w, "c", c->callee)))
			return err;
		/* Sampling cannot count calls; the samples through the edge are what kcachegrind
		 * gets as the call count. The callee's position is its first known line. */
		fprintf(out, "calls=%llu %u\n%u", (unsigned long long)v[w->calls_col],
			x->fn[c->callee].line, c->line);
		put_costs(w, v);
	}
	fputs("\ntotals:", out);
	put_costs(w, totals);
	return 0;
}

int ps_export_callgrind(ps_profile *p, const ps_export_meta *m, FILE *out)
{
	ps_xmodel x;
	writer w;
	uint64_t *self[PS_PROFILE_MAX_COLS] = {0}, *incl[PS_PROFILE_MAX_COLS] = {0};
	memset(&w, 0, sizeof(w));
	int err = ps_xmodel_build(&x, p, m);
	if (err)
		goto out;
	w.x = &x;
	w.p = p;
	w.out = out;
	w.ncols = ps_profile_ntypes(p);
	int sc = ps_profile_find_type(p, "samples");
	w.calls_col = sc < 0 ? 0 : (size_t)sc;
	w.objects = ps_profile_nmappings(p) > 0;
	w.fn_named = calloc(x.nfn ? x.nfn : 1, 1);
	if (!w.fn_named) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t c = 0; c < w.ncols; c++) {
		self[c] = malloc(x.nnodes * sizeof(uint64_t));
		incl[c] = ps_profile_node_totals(p, c);
		if (!self[c] || !incl[c]) {
			err = -ENOMEM;
			goto out;
		}
		for (ps_node_id n = 0; n < x.nnodes; n++)
			self[c][n] = ps_profile_node_self(p, n, c);
	}
	if ((err = collect(&w, self, incl)))
		goto out;
	if (w.ncosts > 1)
		qsort(w.costs, w.ncosts, sizeof(*w.costs), cost_cmp);
	err = write_file(&w);
	if (!err)
		err = ps_x_check_stream(out);
out:
	for (size_t c = 0; c < PS_PROFILE_MAX_COLS; c++) {
		free(self[c]);
		free(incl[c]);
	}
	free(w.costs);
	free(w.vals);
	ps_index_release(&w.index);
	ps_xstrs_release(&w.names);
	free(w.named);
	free(w.fn_named);
	ps_xmodel_release(&x);
	return err;
}
