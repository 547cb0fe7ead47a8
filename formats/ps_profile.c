#include "formats/ps_profile.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"

struct node {
	ps_node_id parent, child, next, last; /* last: newest child, for appending */
	ps_frame_id frame;
	uint32_t depth : 31;
	uint32_t hit : 1; /* a sample or value was added here (even 0: a stack of count 0) */
};

struct label {
	const char *s; /* NULL until made */
	size_t len;
};

struct ps_profile {
	unsigned flags;
	ps_arena *arena; /* interned strings, mappings' and frames' copies */
	ps_index strings;
	const char **strv;
	size_t nstr, strcap;

	char *type[PS_PROFILE_MAX_COLS], *unit[PS_PROFILE_MAX_COLS];
	size_t ntypes;
	uint64_t total[PS_PROFILE_MAX_COLS];

	ps_mapping *maps; /* [0] unused: id 0 is "none" */
	size_t nmaps, mapcap;
	ps_index map_index;

	ps_frame *frames;
	size_t nframes, framecap;
	ps_index frame_index;

	struct node *nodes;
	size_t nnodes, nodecap;
	uint64_t *vals[PS_PROFILE_MAX_COLS]; /* per column, nodecap long */
	ps_index child_index;

	ps_profile_sample *samples;
	size_t nsamples, samplecap;
	uint64_t *svals; /* nsamples * ntypes */
	size_t svalcap;
	size_t sample_cols; /* columns when the first sample was kept */
	uint32_t *stags;    /* per kept sample its tag set; NULL until one has tags */
	size_t stagcap;

	/* Tag sets: sets[i] (from 1) is tags[first..first+n). */
	ps_profile_tag *tags;
	size_t ntags, tagcap;
	struct tagset {
		size_t first, n;
	} *sets;
	size_t nsets, setcap;
	ps_index set_index;

	ps_label_opts lopts;
	struct label *labels;
	size_t labelcap;
	ps_arena *label_arena;
	ps_buf scratch;

};

ps_profile *ps_profile_new(unsigned flags)
{
	ps_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->flags = flags;
	p->arena = ps_arena_new();
	p->nodes = calloc(1, sizeof(*p->nodes));
	p->maps = calloc(1, sizeof(*p->maps));
	if (!p->arena || !p->nodes || !p->maps) {
		ps_profile_free(p);
		return NULL;
	}
	p->nnodes = p->nodecap = 1; /* the root */
	p->nmaps = p->mapcap = 1;
	if ((flags & PS_PROFILE_DIFF) &&
	    (ps_profile_add_type(p, "samples", "count") < 0 ||
	     ps_profile_add_type(p, "samples_after", "count") < 0)) {
		ps_profile_free(p);
		return NULL;
	}
	return p;
}

void ps_profile_free(ps_profile *p)
{
	if (!p)
		return;
	ps_arena_free(p->arena);
	ps_index_release(&p->strings);
	free(p->strv);
	for (size_t i = 0; i < PS_PROFILE_MAX_COLS; i++) {
		free(p->type[i]);
		free(p->unit[i]);
		free(p->vals[i]);
	}
	free(p->maps);
	ps_index_release(&p->map_index);
	free(p->frames);
	ps_index_release(&p->frame_index);
	free(p->nodes);
	ps_index_release(&p->child_index);
	free(p->samples);
	free(p->svals);
	free(p->tags);
	free(p->stags);
	free(p->sets);
	ps_index_release(&p->set_index);
	free(p->labels);
	ps_arena_free(p->label_arena);
	ps_buf_release(&p->scratch);
	free(p);
}

unsigned ps_profile_flags(const ps_profile *p) { return p->flags; }
int ps_profile_is_diff(const ps_profile *p) { return !!(p->flags & PS_PROFILE_DIFF); }

/* ---- columns ---- */

int ps_profile_add_type(ps_profile *p, const char *type, const char *unit)
{
	if (p->ntypes == PS_PROFILE_MAX_COLS || p->nsamples)
		return -EINVAL;
	size_t i = p->ntypes;
	p->type[i] = strdup(type);
	p->unit[i] = strdup(unit);
	p->vals[i] = calloc(p->nodecap, sizeof(uint64_t));
	if (!p->type[i] || !p->unit[i] || !p->vals[i]) {
		free(p->type[i]);
		free(p->unit[i]);
		free(p->vals[i]);
		p->type[i] = p->unit[i] = NULL;
		p->vals[i] = NULL;
		return -ENOMEM;
	}
	p->ntypes++;
	return (int)i;
}

size_t ps_profile_ntypes(const ps_profile *p) { return p->ntypes; }

const char *ps_profile_type(const ps_profile *p, size_t col, const char **unit)
{
	if (col >= p->ntypes)
		return NULL;
	if (unit)
		*unit = p->unit[col];
	return p->type[col];
}

int ps_profile_find_type(const ps_profile *p, const char *type)
{
	for (size_t i = 0; i < p->ntypes; i++)
		if (!strcmp(p->type[i], type))
			return (int)i;
	return -1;
}

uint64_t ps_profile_total(const ps_profile *p, size_t col)
{
	return col < p->ntypes ? p->total[col] : 0;
}

/* ---- strings, mappings, frames ---- */

struct str_key {
	const ps_profile *p;
	const char *s;
	size_t len;
};

static int str_eq(const void *ctx, uint32_t id)
{
	const struct str_key *k = ctx;
	const char *t = k->p->strv[id];
	return !memcmp(t, k->s, k->len) && t[k->len] == '\0';
}

/* The profile's one copy of s[0..len): equal strings are the same pointer. */
static const char *intern(ps_profile *p, const char *s, size_t len)
{
	struct str_key k = {p, s, len};
	uint64_t h = ps_hash(s, len);
	uint32_t id = ps_index_find(&p->strings, h, str_eq, &k);
	if (id != UINT32_MAX)
		return p->strv[id];
	if (PS_GROW(p->strv, p->strcap, p->nstr + 1))
		return NULL;
	char *copy = ps_arena_strndup(p->arena, s, len);
	if (!copy || ps_index_insert(&p->strings, h, (uint32_t)p->nstr))
		return NULL;
	p->strv[p->nstr++] = copy;
	return copy;
}

static int intern_opt(ps_profile *p, const char *s, const char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = intern(p, s, strlen(s));
	return *out ? 0 : -ENOMEM;
}

static uint64_t map_hash(const ps_mapping *m)
{
	uint64_t h = ps_hash_u64((uintptr_t)m->path ^ ps_hash_u64((uintptr_t)m->build_id));
	return ps_hash_u64(h ^ m->start ^ ps_hash_u64(m->limit ^ ps_hash_u64(m->pgoff)));
}

struct map_key {
	const ps_profile *p;
	const ps_mapping *m;
};

static int map_eq(const void *ctx, uint32_t id)
{
	const struct map_key *k = ctx;
	const ps_mapping *a = &k->p->maps[id], *b = k->m;
	return a->path == b->path && a->build_id == b->build_id && a->start == b->start &&
	       a->limit == b->limit && a->pgoff == b->pgoff;
}

int ps_profile_mapping(ps_profile *p, const ps_mapping *m, uint32_t *id)
{
	ps_mapping c = *m;
	int err = intern_opt(p, m->path, &c.path);
	if (!err)
		err = intern_opt(p, m->build_id, &c.build_id);
	if (err)
		return err;
	struct map_key k = {p, &c};
	uint64_t h = map_hash(&c);
	uint32_t found = ps_index_find(&p->map_index, h, map_eq, &k);
	if (found != UINT32_MAX) {
		*id = found;
		return 0;
	}
	if (PS_GROW(p->maps, p->mapcap, p->nmaps + 1))
		return -ENOMEM;
	err = ps_index_insert(&p->map_index, h, (uint32_t)p->nmaps);
	if (err)
		return err;
	p->maps[p->nmaps] = c;
	*id = (uint32_t)p->nmaps++;
	return 0;
}

size_t ps_profile_nmappings(const ps_profile *p) { return p->nmaps - 1; }

const ps_mapping *ps_profile_mapping_at(const ps_profile *p, uint32_t id)
{
	return id && id < p->nmaps ? &p->maps[id] : NULL;
}

static uint64_t frame_hash(const ps_frame *f)
{
	uint64_t h = ps_hash_u64((uintptr_t)f->name) ^ ps_hash_u64((uintptr_t)f->file + 1);
	h = ps_hash_u64(h ^ f->addr);
	h = ps_hash_u64(h ^ ((uint64_t)f->symoff << 2 | (uint64_t)f->has_symoff << 1 | f->retaddr));
	return ps_hash_u64(h ^ ((uint64_t)f->line << 32 | (uint64_t)f->mapping << 8 | f->kind) ^
			   (uint64_t)f->unresolved << 63);
}

struct frame_key {
	const ps_profile *p;
	const ps_frame *f;
};

static int frame_eq(const void *ctx, uint32_t id)
{
	const struct frame_key *k = ctx;
	const ps_frame *a = &k->p->frames[id], *b = k->f;
	return a->name == b->name && a->file == b->file && a->addr == b->addr &&
	       a->line == b->line && a->mapping == b->mapping && a->kind == b->kind &&
	       a->unresolved == b->unresolved && a->symoff == b->symoff &&
	       a->has_symoff == b->has_symoff && a->retaddr == b->retaddr;
}

/* The id of frame c, whose strings are interned already, added when new. */
static int frame_id(ps_profile *p, const ps_frame *c, ps_frame_id *id)
{
	struct frame_key k = {p, c};
	uint64_t h = frame_hash(c);
	uint32_t found = ps_index_find(&p->frame_index, h, frame_eq, &k);
	if (found != UINT32_MAX) {
		*id = found;
		return 0;
	}
	if (PS_GROW(p->frames, p->framecap, p->nframes + 1))
		return -ENOMEM;
	int err = ps_index_insert(&p->frame_index, h, (uint32_t)p->nframes);
	if (err)
		return err;
	p->frames[p->nframes] = *c;
	*id = (ps_frame_id)p->nframes++;
	return 0;
}

int ps_profile_frame(ps_profile *p, const ps_frame *f, ps_frame_id *id)
{
	ps_frame c = *f;
	if (f->mapping >= p->nmaps)
		return -EINVAL;
	c.name = intern(p, f->name ? f->name : "", f->name ? strlen(f->name) : 0);
	if (!c.name || intern_opt(p, f->file, &c.file))
		return -ENOMEM;
	return frame_id(p, &c, id);
}

int ps_profile_frame_named(ps_profile *p, const char *name, size_t len, ps_frame_kind kind,
			   ps_frame_id *id)
{
	/* The name comes with a length (folded text is not NUL-terminated per frame). */
	ps_frame f = {.kind = (uint8_t)kind};
	f.name = intern(p, name, len);
	return f.name ? frame_id(p, &f, id) : -ENOMEM;
}

size_t ps_profile_nframes(const ps_profile *p) { return p->nframes; }

const ps_frame *ps_profile_frame_at(const ps_profile *p, ps_frame_id id)
{
	return id < p->nframes ? &p->frames[id] : NULL;
}

/* ---- labels ---- */

void ps_profile_set_labels(ps_profile *p, const ps_label_opts *o)
{
	p->lopts = *o;
	free(p->labels);
	p->labels = NULL;
	p->labelcap = 0;
	ps_arena_free(p->label_arena);
	p->label_arena = NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Appends the frame's demangled name (or the name as it is) to out. */
static int demangled(ps_profile *p, const ps_frame *f, ps_buf *out)
{
	if (p->lopts.demangle && f->kind != PS_FRAME_UNKNOWN && f->kind != PS_FRAME_PROCESS &&
	    !f->unresolved) {
		size_t len = out->len;
		int done = p->lopts.demangle(p->lopts.ctx, f->name, out);
		if (done < 0)
			return done;
		if (done)
			return 0;
		out->len = len;
	}
	return ps_buf_addstr(out, f->name);
}

int ps_profile_name(ps_profile *p, ps_frame_id id, ps_buf *out)
{
	if (id >= p->nframes)
		return -EINVAL;
	return demangled(p, &p->frames[id], out);
}

static int make_label(ps_profile *p, const ps_frame *f, ps_buf *raw)
{
	raw->len = 0;
	int err = demangled(p, f, raw);
	unsigned fl = p->lopts.flags;
	if (!err && (fl & PS_LABEL_LINES) && f->file)
		err = ps_buf_printf(raw, " [%s:%u]", base_name(f->file), f->line);
	if (!err && f->kind == PS_FRAME_KERNEL && (fl & PS_LABEL_KERNEL))
		err = ps_buf_addstr(raw, "_[k]");
	else if (!err && f->kind == PS_FRAME_JIT && (fl & PS_LABEL_JIT))
		err = ps_buf_addstr(raw, "_[j]");
	else if (!err && f->kind == PS_FRAME_INLINE && (fl & PS_LABEL_INLINE))
		err = ps_buf_addstr(raw, "_[i]");
	return err;
}

const char *ps_profile_label(ps_profile *p, ps_frame_id id, size_t *len)
{
	if (id >= p->nframes)
		return NULL;
	if (id >= p->labelcap) {
		size_t old = p->labelcap;
		if (PS_GROW(p->labels, p->labelcap, p->nframes))
			return NULL;
		memset(p->labels + old, 0, (p->labelcap - old) * sizeof(*p->labels));
	}
	struct label *l = &p->labels[id];
	if (!l->s) {
		if (!p->label_arena && !(p->label_arena = ps_arena_new()))
			return NULL;
		ps_buf raw = {0};
		int err = make_label(p, &p->frames[id], &raw);
		p->scratch.len = 0;
		if (!err)
			err = ps_escape(&p->scratch, PS_ESC_FOLDED, raw.data ? raw.data : "", raw.len);
		ps_buf_release(&raw);
		if (err)
			return NULL;
		const char *s = p->scratch.data ? p->scratch.data : "";
		char *copy = ps_arena_strndup(p->label_arena, s, p->scratch.len);
		if (!copy)
			return NULL;
		l->s = copy;
		l->len = p->scratch.len;
	}
	if (len)
		*len = l->len;
	return l->s;
}

/* ---- the trie ---- */

struct child_key {
	const ps_profile *p;
	ps_node_id parent;
	ps_frame_id frame;
};

static int child_eq(const void *ctx, uint32_t id)
{
	const struct child_key *k = ctx;
	const struct node *n = &k->p->nodes[id];
	return n->parent == k->parent && n->frame == k->frame;
}

static uint64_t child_hash(ps_node_id parent, ps_frame_id f)
{
	return ps_hash_u64((uint64_t)parent << 32 | f);
}

int ps_profile_child(ps_profile *p, ps_node_id parent, ps_frame_id f, ps_node_id *out)
{
	if (parent >= p->nnodes || f >= p->nframes)
		return -EINVAL;
	struct child_key k = {p, parent, f};
	uint64_t h = child_hash(parent, f);
	uint32_t found = ps_index_find(&p->child_index, h, child_eq, &k);
	if (found != UINT32_MAX) {
		*out = found;
		return 0;
	}
	if (p->nnodes >= UINT32_MAX - 1)
		return PS_ELIMIT;
	if (p->nnodes == p->nodecap) {
		size_t cap = p->nodecap;
		if (PS_GROW(p->nodes, cap, p->nnodes + 1))
			return -ENOMEM;
		for (size_t c = 0; c < p->ntypes; c++) {
			uint64_t *v = realloc(p->vals[c], cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			memset(v + p->nodecap, 0, (cap - p->nodecap) * sizeof(*v));
			p->vals[c] = v;
		}
		p->nodecap = cap;
	}
	int err = ps_index_insert(&p->child_index, h, (uint32_t)p->nnodes);
	if (err)
		return err;
	ps_node_id id = (ps_node_id)p->nnodes++;
	struct node *par = &p->nodes[parent];
	p->nodes[id] = (struct node){parent, 0, 0, 0, f, par->depth + 1, 0};
	if (par->last)
		p->nodes[par->last].next = id;
	else
		par->child = id;
	par->last = id;
	*out = id;
	return 0;
}

int ps_profile_stack(ps_profile *p, const ps_frame_id *frames, size_t n, ps_node_id *out)
{
	ps_node_id at = PS_NODE_ROOT;
	for (size_t i = 0; i < n; i++) {
		int err = ps_profile_child(p, at, frames[i], &at);
		if (err)
			return err;
	}
	*out = at;
	return 0;
}

int ps_profile_add_value(ps_profile *p, ps_node_id node, size_t col, uint64_t v)
{
	if (node >= p->nnodes || col >= p->ntypes)
		return -EINVAL;
	if (v > (uint64_t)INT64_MAX - p->total[col])
		return PS_ELIMIT;
	p->total[col] += v;
	p->vals[col][node] += v;
	p->nodes[node].hit = 1;
	return 0;
}

size_t ps_profile_nnodes(const ps_profile *p) { return p->nnodes; }

ps_node_id ps_profile_node_parent(const ps_profile *p, ps_node_id n)
{
	return n < p->nnodes ? p->nodes[n].parent : PS_NODE_ROOT;
}

ps_frame_id ps_profile_node_frame(const ps_profile *p, ps_node_id n)
{
	return n < p->nnodes ? p->nodes[n].frame : 0;
}

uint32_t ps_profile_node_depth(const ps_profile *p, ps_node_id n)
{
	return n < p->nnodes ? p->nodes[n].depth : 0;
}

ps_node_id ps_profile_node_child(const ps_profile *p, ps_node_id n)
{
	return n < p->nnodes ? p->nodes[n].child : PS_NODE_ROOT;
}

ps_node_id ps_profile_node_next(const ps_profile *p, ps_node_id n)
{
	return n < p->nnodes ? p->nodes[n].next : PS_NODE_ROOT;
}

uint64_t ps_profile_node_self(const ps_profile *p, ps_node_id n, size_t col)
{
	return n < p->nnodes && col < p->ntypes ? p->vals[col][n] : 0;
}

uint64_t *ps_profile_node_totals(const ps_profile *p, size_t col)
{
	uint64_t *t = malloc(p->nnodes * sizeof(*t));
	if (!t)
		return NULL;
	if (col >= p->ntypes) {
		memset(t, 0, p->nnodes * sizeof(*t));
		return t;
	}
	memcpy(t, p->vals[col], p->nnodes * sizeof(*t));
	/* Parents have smaller ids: one backward sweep sums every subtree. No overflow: the
	 * column's total bounds every sum. */
	for (size_t i = p->nnodes; i-- > 1;)
		t[p->nodes[i].parent] += t[i];
	return t;
}

size_t ps_profile_node_path(const ps_profile *p, ps_node_id n, ps_frame_id *out, size_t max)
{
	if (n >= p->nnodes)
		return 0;
	size_t depth = p->nodes[n].depth;
	for (size_t i = depth; i-- > 0; n = p->nodes[n].parent)
		if (i < max)
			out[i] = p->nodes[n].frame;
	return depth;
}

int ps_profile_merge(ps_profile *dst, size_t dst_col, ps_profile *src, size_t src_col,
		     double scale)
{
	if (dst_col >= dst->ntypes || !(scale >= 0))
		return -EINVAL;
	/* src's ids to dst's, made on first use (+1; 0 = not yet). */
	uint32_t *fmap = calloc(src->nframes + 1, sizeof(*fmap));
	uint32_t *mmap_ = calloc(src->nmaps + 1, sizeof(*mmap_));
	ps_node_id *nmap = calloc(src->nnodes, sizeof(*nmap));
	int err = fmap && mmap_ && nmap ? 0 : -ENOMEM;
	for (ps_node_id i = 1; !err && i < src->nnodes; i++) {
		/* Parents come first: a node's parent is mapped already. */
		ps_frame_id sf = src->nodes[i].frame;
		if (!fmap[sf]) {
			ps_frame f = src->frames[sf];
			if (f.mapping && !mmap_[f.mapping]) {
				uint32_t id;
				err = ps_profile_mapping(dst, &src->maps[f.mapping], &id);
				mmap_[f.mapping] = id + 1;
			}
			if (err)
				break;
			f.mapping = f.mapping ? mmap_[f.mapping] - 1 : 0;
			ps_frame_id id;
			err = ps_profile_frame(dst, &f, &id);
			fmap[sf] = id + 1;
		}
		if (!err)
			err = ps_profile_child(dst, nmap[src->nodes[i].parent], fmap[sf] - 1, &nmap[i]);
		if (err || !src->nodes[i].hit)
			continue;
		double v = (double)ps_profile_node_self(src, i, src_col) * scale;
		if (v >= 9.2e18)
			err = PS_ELIMIT;
		else
			err = ps_profile_add_value(dst, nmap[i], dst_col, (uint64_t)llround(v));
	}
	free(fmap);
	free(mmap_);
	free(nmap);
	return err;
}

int ps_profile_diff(ps_profile *before, ps_profile *after, int normalize, ps_profile **out)
{
	ps_profile *d = ps_profile_new(PS_PROFILE_DIFF);
	if (!d)
		return -ENOMEM;
	uint64_t t0 = ps_profile_total(before, 0), t1 = ps_profile_total(after, 0);
	double scale = normalize && t0 ? (double)t1 / (double)t0 : 1.0;
	int err = ps_profile_merge(d, 0, before, 0, scale);
	if (!err)
		err = ps_profile_merge(d, 1, after, 0, 1.0);
	if (err) {
		ps_profile_free(d);
		return err;
	}
	ps_profile_set_labels(d, &before->lopts);
	*out = d;
	return 0;
}

/* ---- samples ---- */

/* Tags' strings are interned, so equal strings are equal pointers. */
static uint64_t tags_hash(const ps_profile_tag *t, size_t n)
{
	uint64_t h = n;
	for (size_t i = 0; i < n; i++)
		h = ps_hash_u64(h ^ (uintptr_t)t[i].key) ^ ps_hash_u64((uintptr_t)t[i].str) ^
		    ps_hash_u64((uint64_t)t[i].num ^ (uintptr_t)t[i].unit << 1);
	return h;
}

struct set_key {
	const ps_profile *p;
	const ps_profile_tag *t;
	size_t n;
};

static int set_eq(const void *ctx, uint32_t id)
{
	const struct set_key *k = ctx;
	const struct tagset *ts = &k->p->sets[id];
	if (ts->n != k->n)
		return 0;
	for (size_t i = 0; i < ts->n; i++) {
		const ps_profile_tag *a = &k->p->tags[ts->first + i], *b = &k->t[i];
		if (a->key != b->key || a->str != b->str || a->num != b->num || a->unit != b->unit)
			return 0;
	}
	return 1;
}

int ps_profile_tag_set(ps_profile *p, const ps_profile_tag *tags, size_t n, uint32_t *id)
{
	*id = 0;
	if (!n)
		return 0;
	if (p->nsets == 0) { /* sets[0]: none */
		if (PS_GROW(p->sets, p->setcap, 1))
			return -ENOMEM;
		p->sets[p->nsets++] = (struct tagset){0, 0};
	}
	/* Interned copies at the end of tags first: the set is compared and kept as them. */
	if (PS_GROW(p->tags, p->tagcap, p->ntags + n))
		return -ENOMEM;
	ps_profile_tag *t = p->tags + p->ntags;
	for (size_t i = 0; i < n; i++) {
		const ps_profile_tag *s = &tags[i];
		t[i] = (ps_profile_tag){intern(p, s->key ? s->key : "", s->key ? strlen(s->key) : 0),
					s->str ? intern(p, s->str, strlen(s->str)) : NULL, s->num,
					s->unit ? intern(p, s->unit, strlen(s->unit)) : NULL};
		if (!t[i].key || (s->str && !t[i].str) || (s->unit && !t[i].unit))
			return -ENOMEM;
	}
	uint64_t h = tags_hash(t, n);
	struct set_key k = {p, t, n};
	uint32_t found = ps_index_find(&p->set_index, h, set_eq, &k);
	if (found != UINT32_MAX) {
		*id = found;
		return 0;
	}
	if (p->nsets >= UINT32_MAX - 1)
		return PS_ELIMIT;
	if (PS_GROW(p->sets, p->setcap, p->nsets + 1) ||
	    ps_index_insert(&p->set_index, h, (uint32_t)p->nsets))
		return -ENOMEM;
	p->sets[p->nsets] = (struct tagset){p->ntags, n};
	p->ntags += n;
	*id = (uint32_t)p->nsets++;
	return 0;
}

const ps_profile_tag *ps_profile_tags(const ps_profile *p, uint32_t id, size_t *n)
{
	*n = 0;
	if (!id || id >= p->nsets)
		return NULL;
	*n = p->sets[id].n;
	return p->tags + p->sets[id].first;
}

int ps_profile_add_sample(ps_profile *p, const ps_profile_sample *s, const uint64_t *values)
{
	return ps_profile_add_sample_tags(p, s, values, 0);
}

int ps_profile_add_sample_tags(ps_profile *p, const ps_profile_sample *s, const uint64_t *values,
			       uint32_t tags)
{
	if (s->node >= p->nnodes || (tags && tags >= p->nsets))
		return -EINVAL;
	uint64_t sum[PS_PROFILE_MAX_COLS];
	for (size_t c = 0; c < p->ntypes; c++) {
		if (values[c] > (uint64_t)INT64_MAX - p->total[c])
			return PS_ELIMIT;
		sum[c] = p->total[c] + values[c];
	}
	if (p->flags & PS_PROFILE_SAMPLES) {
		if (p->nsamples == 0)
			p->sample_cols = p->ntypes;
		if (PS_GROW(p->samples, p->samplecap, p->nsamples + 1) ||
		    PS_GROW(p->svals, p->svalcap, (p->nsamples + 1) * p->sample_cols + 1))
			return -ENOMEM;
		if (tags || p->stags) {
			size_t cap = p->stagcap;
			if (PS_GROW(p->stags, p->stagcap, p->samplecap))
				return -ENOMEM;
			memset(p->stags + cap, 0, (p->stagcap - cap) * sizeof(*p->stags));
			p->stags[p->nsamples] = tags;
		}
		p->samples[p->nsamples] = *s;
		memcpy(p->svals + p->nsamples * p->sample_cols, values,
		       p->sample_cols * sizeof(*values));
		p->nsamples++;
	}
	for (size_t c = 0; c < p->ntypes; c++) {
		p->total[c] = sum[c];
		p->vals[c][s->node] += values[c];
	}
	p->nodes[s->node].hit = 1;
	return 0;
}

size_t ps_profile_nsamples(const ps_profile *p) { return p->nsamples; }

const ps_profile_sample *ps_profile_sample_at(const ps_profile *p, size_t i)
{
	return i < p->nsamples ? &p->samples[i] : NULL;
}

uint32_t ps_profile_sample_tags(const ps_profile *p, size_t i)
{
	return p->stags && i < p->nsamples ? p->stags[i] : 0;
}

uint64_t ps_profile_sample_value(const ps_profile *p, size_t i, size_t col)
{
	return i < p->nsamples && col < p->sample_cols ? p->svals[i * p->sample_cols + col] : 0;
}

struct order {
	uint64_t time;
	size_t i;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

int ps_profile_sort_samples(ps_profile *p)
{
	size_t n = p->nsamples, nc = p->sample_cols;
	if (n < 2)
		return 0;
	struct order *o = malloc(n * sizeof(*o));
	ps_profile_sample *s = malloc(n * sizeof(*s));
	uint64_t *v = malloc((n * nc + 1) * sizeof(*v));
	if (!o || !s || !v) {
		free(o);
		free(s);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		o[i] = (struct order){p->samples[i].time, i};
	qsort(o, n, sizeof(*o), cmp_order);
	for (size_t i = 0; i < n; i++) {
		s[i] = p->samples[o[i].i];
		memcpy(v + i * nc, p->svals + o[i].i * nc, nc * sizeof(*v));
	}
	/* Tags in the same order, through the samples array's old slot as scratch. */
	for (size_t i = 0; p->stags && i < n; i++)
		p->samples[i].node = p->stags[o[i].i];
	for (size_t i = 0; p->stags && i < n; i++)
		p->stags[i] = p->samples[i].node;
	free(o);
	free(p->samples);
	free(p->svals);
	p->samples = s;
	p->svals = v;
	p->samplecap = n;
	p->svalcap = n * nc + 1;
	return 0;
}

/* ---- folded text ---- */

static int ensure_folded_types(ps_profile *p, int diff)
{
	if (diff && !(p->flags & PS_PROFILE_DIFF)) {
		if (p->ntypes > 1 || p->nsamples)
			return -EINVAL;
		p->flags |= PS_PROFILE_DIFF;
	}
	while (p->ntypes < (p->flags & PS_PROFILE_DIFF ? 2u : 1u)) {
		int err = ps_profile_add_type(p, p->ntypes ? "samples_after" : "samples", "count");
		if (err < 0)
			return err;
	}
	return 0;
}

int ps_profile_add_folded(ps_profile *p, const char *folded, size_t len, uint64_t count,
			  uint64_t count2)
{
	int err = ensure_folded_types(p, count2 != 0);
	ps_node_id at = PS_NODE_ROOT;
	for (size_t i = 0; !err && i <= len;) {
		const char *semi = memchr(folded + i, ';', len - i);
		size_t end = semi ? (size_t)(semi - folded) : len;
		const char *name = folded + i;
		size_t nlen = end - i;
		/* Control bytes (NUL among them) never enter the model: they could end or
		 * forge a line wherever the name is printed. */
		for (size_t k = i; k < end; k++)
			if ((unsigned char)folded[k] < 0x20 || folded[k] == 0x7f) {
				p->scratch.len = 0;
				err = ps_escape(&p->scratch, PS_ESC_FOLDED, name, nlen);
				name = p->scratch.data;
				break;
			}
		ps_frame_kind kind = i == 0 && (p->flags & PS_PROFILE_FOLDED_PROCESS)
					 ? PS_FRAME_PROCESS
					 : PS_FRAME_UNKNOWN;
		ps_frame_id f;
		if (!err)
			err = ps_profile_frame_named(p, name, nlen, kind, &f);
		if (!err)
			err = ps_profile_child(p, at, f, &at);
		i = end + 1;
	}
	if (err)
		return err;
	uint64_t v[PS_PROFILE_MAX_COLS] = {count, count2};
	ps_profile_sample s = {.time = p->nsamples, .node = at};
	return ps_profile_add_sample(p, &s, v);
}

/* A stack as folded text, for sorting and merging equal texts. */
struct line {
	const char *s;
	size_t len;
	uint64_t v0, v1;
};

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* The folded text of node n into b (cleared first). */
static int node_text(ps_profile *p, ps_node_id n, ps_buf *b)
{
	size_t total = 0;
	for (ps_node_id m = n; m; m = p->nodes[m].parent) {
		size_t len;
		if (!ps_profile_label(p, p->nodes[m].frame, &len))
			return -ENOMEM;
		total += len + 1;
	}
	b->len = 0;
	int err = ps_buf_reserve(b, total + 1);
	if (err)
		return err;
	/* Labels are written back to front into their places. */
	size_t end = total ? total - 1 : 0;
	for (ps_node_id m = n; m; m = p->nodes[m].parent) {
		size_t len;
		const char *l = ps_profile_label(p, p->nodes[m].frame, &len);
		end -= len;
		memcpy(b->data + end, l, len);
		if (end)
			b->data[--end] = ';';
	}
	b->len = total ? total - 1 : 0;
	b->data[b->len] = '\0';
	return 0;
}

/* Every node with a value in col (or either column of a differential profile) as text,
 * sorted, equal texts merged. The strings live in arena. */
static int sorted_lines(ps_profile *p, size_t col, ps_arena *arena, struct line **out, size_t *nout)
{
	int diff = ps_profile_is_diff(p);
	struct line *v = NULL;
	size_t n = 0, cap = 0;
	ps_buf b = {0};
	int err = 0;
	for (ps_node_id i = 1; !err && i < p->nnodes; i++) {
		uint64_t v0 = diff ? ps_profile_node_self(p, i, 0) : ps_profile_node_self(p, i, col);
		uint64_t v1 = diff ? ps_profile_node_self(p, i, 1) : 0;
		if (!p->nodes[i].hit)
			continue;
		err = node_text(p, i, &b);
		if (!err && PS_GROW(v, cap, n + 1))
			err = -ENOMEM;
		char *s = err ? NULL : ps_arena_strndup(arena, b.data, b.len);
		if (!err && !s)
			err = -ENOMEM;
		if (!err)
			v[n++] = (struct line){s, b.len, v0, v1};
	}
	ps_buf_release(&b);
	if (err) {
		free(v);
		return err;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_line);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && v[m - 1].len == v[i].len && !memcmp(v[m - 1].s, v[i].s, v[i].len)) {
			v[m - 1].v0 += v[i].v0;
			v[m - 1].v1 += v[i].v1;
		} else
			v[m++] = v[i];
	}
	*out = v;
	*nout = m;
	return 0;
}

int ps_profile_write_folded(ps_profile *p, size_t col, FILE *out)
{
	ps_arena *a = ps_arena_new();
	struct line *v = NULL;
	size_t n = 0;
	int err = a ? sorted_lines(p, col, a, &v, &n) : -ENOMEM;
	int diff = ps_profile_is_diff(p);
	for (size_t i = 0; !err && i < n; i++) {
		fwrite(v[i].s, 1, v[i].len, out);
		if (diff)
			fprintf(out, " %llu %llu\n", (unsigned long long)v[i].v0,
				(unsigned long long)v[i].v1);
		else
			fprintf(out, " %llu\n", (unsigned long long)v[i].v0);
	}
	free(v);
	ps_arena_free(a);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}

/* Parses the decimal number text[0..len); flamegraph.pl also accepts a fraction, which is
 * rounded down. Returns 0, PS_EFORMAT, or PS_ELIMIT past INT64_MAX. */
static int parse_count(const char *t, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int over = 0;
	if (len == 0)
		return PS_EFORMAT;
	for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(t[i] - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (i == 0)
		return PS_EFORMAT;
	if (i < len && t[i] == '.') {
		for (i++; i < len && t[i] >= '0' && t[i] <= '9'; i++)
			;
	}
	/* Too large only when it is a number at all: "123...9x" is a frame's text. */
	if (i != len)
		return PS_EFORMAT;
	if (over)
		return PS_ELIMIT;
	*out = v;
	return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Splits off the last whitespace-separated field of t[0..*len): returns its start and
 * shortens *len to the text before the separating white space. */
static const char *last_field(const char *t, size_t *len, size_t *flen)
{
	size_t end = *len;
	size_t i = end;
	while (i > 0 && !is_space(t[i - 1]))
		i--;
	*flen = end - i;
	/* One separating white space, as flamegraph.pl's /^(.*)\s+?(\d+)$/ takes: any more
	 * belong to the stack. */
	if (i == 0 || !is_space(t[i - 1]))
		return NULL;
	*len = i - 1;
	return t + i;
}

int ps_folded_parse_line(const char *line, size_t len, size_t *stack_len, uint64_t *count,
			 uint64_t *count2, int *has2, const char **reason)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	size_t rest = len, flen;
	const char *f = last_field(line, &rest, &flen);
	if (!f) {
		*reason = "no sample count";
		return PS_EFORMAT;
	}
	uint64_t c1, c2;
	int err = parse_count(f, flen, &c1);
	if (err) {
		*reason = flen && f[0] == '-' ? "negative sample count"
			  : err == PS_ELIMIT  ? "sample count too large (over 2^63-1)"
					      : "sample count is not a number";
		return err == PS_ELIMIT ? PS_ELIMIT : PS_EFORMAT;
	}
	*has2 = 0;
	/* "stack c1 c2": the differential form difffolded.pl writes. */
	size_t rest2 = rest, flen2;
	const char *f2 = last_field(line, &rest2, &flen2);
	if (f2 && (err = parse_count(f2, flen2, &c2)) != PS_EFORMAT) {
		if (err) {
			*reason = "sample count too large (over 2^63-1)";
			return PS_ELIMIT;
		}
		*has2 = 1;
		*count = c2;
		*count2 = c1;
		rest = rest2;
	} else {
		*count = c1;
		*count2 = 0;
	}
	if (rest == 0) {
		*reason = "empty stack";
		return PS_EFORMAT;
	}
	*stack_len = rest;
	return 0;
}

int ps_profile_read_folded(ps_profile *p, FILE *in, unsigned flags, ps_folded_warn_fn warn,
			   void *ctx)
{
	/* Lines of at most PS_FOLDED_MAX_LINE: getline would grow without bound on a stream
	 * without newlines (--folded /dev/zero). */
	ps_lines lr;
	ps_lines_init(&lr, in, PS_FOLDED_MAX_LINE);
	const char *line;
	size_t lineno = 0, good = 0, bad = 0, len;
	int got, err = 0;
	while ((got = ps_lines_next(&lr, &line, &len)) > 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		size_t slen = 0;
		uint64_t c1 = 0, c2 = 0;
		int has2 = 0;
		const char *reason = NULL;
		if (memchr(line, '\0', len)) {
			reason = "NUL byte in line";
			err = PS_EFORMAT;
		} else {
			err = ps_folded_parse_line(line, len, &slen, &c1, &c2, &has2, &reason);
		}
		if (!err) {
			if (has2)
				err = ensure_folded_types(p, 1);
			if (!err)
				err = ps_profile_add_folded(p, line, slen, c1,
							    ps_profile_is_diff(p) ? c2 : 0);
			if (err == PS_ELIMIT)
				reason = "sample counts add up to more than 2^63-1";
			else if (err == -EINVAL) {
				reason = "two sample counts in a profile of one";
				err = PS_EFORMAT;
			}
		}
		if (err == PS_ELIMIT) {
			if (warn)
				warn(ctx, lineno, reason, 1);
			goto out;
		}
		if (err == PS_EFORMAT) {
			bad++;
			if (warn)
				warn(ctx, lineno, reason, !!(flags & PS_FOLDED_STRICT));
			if (flags & PS_FOLDED_STRICT)
				goto out;
			err = 0;
			continue;
		}
		if (err)
			goto out;
		good++;
	}
	if (got == PS_ELIMIT) {
		if (warn)
			warn(ctx, lineno + 1, "line longer than 16 MiB", 1);
		err = PS_ELIMIT;
	} else if (got < 0 || ferror(in))
		err = got < 0 ? got : -EIO;
	else if (bad && !good)
		err = PS_EFORMAT;
	else
		err = ensure_folded_types(p, 0);
out:
	ps_lines_release(&lr);
	return err;
}
