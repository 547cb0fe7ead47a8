#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "render/ps_export_int.h"

void ps_export_meta_init(ps_export_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->event = "cpu-clock";
	m->first_frame_is_comm = 1;
}

ps_export_fn ps_export_by_name(const char *format)
{
	if (!format)
		return NULL;
	if (!strcmp(format, "pprof"))
		return ps_export_pprof;
	if (!strcmp(format, "speedscope"))
		return ps_export_speedscope;
	if (!strcmp(format, "callgrind"))
		return ps_export_callgrind;
	return NULL;
}

/* ---- the model as the writers see it ---- */

struct fn_key {
	const ps_xmodel *x;
	const ps_xfn *f;
};

static int fn_eq(const void *ctx, uint32_t id)
{
	const struct fn_key *k = ctx;
	const ps_xfn *a = &k->x->fn[id], *b = k->f;
	/* The profile interns its strings: equal strings are the same pointer. */
	return a->sysname == b->sysname && a->file == b->file && a->object == b->object &&
	       a->process == b->process;
}

static uint64_t fn_hash(const ps_xfn *f)
{
	uint64_t h = ps_hash_u64((uintptr_t)f->sysname) ^ ps_hash_u64((uintptr_t)f->file + 1);
	return ps_hash_u64(h ^ ps_hash_u64((uintptr_t)f->object + 2) ^ f->process);
}

/* The function of frame id as code, or as a process root. */
static int xmodel_fn(ps_xmodel *x, ps_frame_id id, int process, uint32_t *out)
{
	const ps_frame *fr = ps_profile_frame_at(x->p, id);
	const ps_mapping *map = ps_profile_mapping_at(x->p, fr->mapping);
	ps_xfn f = {.sysname = fr->name,
		    .file = fr->file,
		    .object = map ? map->path : NULL,
		    .line = fr->line,
		    .process = (uint8_t)process};
	struct fn_key k = {x, &f};
	uint64_t h = fn_hash(&f);
	uint32_t found = ps_index_find(&x->fn_index, h, fn_eq, &k);
	if (found != UINT32_MAX) {
		ps_xfn *g = &x->fn[found];
		if (fr->line && (!g->line || fr->line < g->line))
			g->line = fr->line;
		*out = found;
		return 0;
	}
	x->scratch.len = 0;
	int err = ps_profile_name(x->p, id, &x->scratch);
	if (err)
		return err;
	f.namelen = x->scratch.len;
	if (f.namelen == strlen(fr->name) && !memcmp(x->scratch.data, fr->name, f.namelen))
		f.name = fr->name;
	else if (!(f.name = ps_arena_strndup(x->arena, x->scratch.data, f.namelen)))
		return -ENOMEM;
	if (PS_GROW(x->fn, x->fncap, x->nfn + 1))
		return -ENOMEM;
	if ((err = ps_index_insert(&x->fn_index, h, (uint32_t)x->nfn)))
		return err;
	x->fn[x->nfn] = f;
	*out = (uint32_t)x->nfn++;
	return 0;
}

/* A depth-1 frame is the process when the model says so, or, for folded text (frames that
 * are only names), when the caller says the first frame is the comm. */
static int is_process_root(const ps_xmodel *x, ps_node_id n)
{
	if (ps_profile_node_depth(x->p, n) != 1)
		return 0;
	const ps_frame *f = ps_profile_frame_at(x->p, ps_profile_node_frame(x->p, n));
	return f->kind == PS_FRAME_PROCESS ||
	       (f->kind == PS_FRAME_UNKNOWN && x->m.first_frame_is_comm);
}

int ps_xmodel_build(ps_xmodel *x, ps_profile *p, const ps_export_meta *m)
{
	memset(x, 0, sizeof(*x));
	if (m)
		x->m = *m;
	else
		ps_export_meta_init(&x->m);
	if (!x->m.event)
		x->m.event = "cpu-clock";
	if (!p)
		return -EINVAL;
	x->p = p;
	x->nnodes = ps_profile_nnodes(p);
	size_t nframes = ps_profile_nframes(p);
	x->arena = ps_arena_new();
	x->node_fn = malloc(x->nnodes * sizeof(*x->node_fn));
	x->node_proc = calloc(x->nnodes, 1);
	x->frame_fn = malloc((nframes ? nframes : 1) * sizeof(*x->frame_fn));
	if (!x->arena || !x->node_fn || !x->node_proc || !x->frame_fn)
		return -ENOMEM;
	memset(x->frame_fn, 0xff, (nframes ? nframes : 1) * sizeof(*x->frame_fn));
	x->node_fn[PS_NODE_ROOT] = UINT32_MAX;
	for (ps_node_id n = 1; n < x->nnodes; n++) {
		ps_frame_id f = ps_profile_node_frame(p, n);
		int err = 0;
		if (is_process_root(x, n)) {
			x->node_proc[n] = 1;
			err = xmodel_fn(x, f, 1, &x->node_fn[n]);
		} else {
			if (x->frame_fn[f] == UINT32_MAX)
				err = xmodel_fn(x, f, 0, &x->frame_fn[f]);
			x->node_fn[n] = x->frame_fn[f];
		}
		if (err)
			return err;
	}
	return 0;
}

void ps_xmodel_release(ps_xmodel *x)
{
	free(x->fn);
	free(x->node_fn);
	free(x->frame_fn);
	free(x->node_proc);
	ps_index_release(&x->fn_index);
	ps_arena_free(x->arena);
	ps_buf_release(&x->scratch);
	memset(x, 0, sizeof(*x));
}

ps_node_id ps_xmodel_process(const ps_xmodel *x, ps_node_id n)
{
	while (n != PS_NODE_ROOT && ps_profile_node_depth(x->p, n) > 1)
		n = ps_profile_node_parent(x->p, n);
	return n != PS_NODE_ROOT && x->node_proc[n] ? n : PS_NODE_ROOT;
}

struct str_key {
	const ps_xstrs *t;
	const char *s;
	size_t len;
};

static int str_eq(const void *ctx, uint32_t id)
{
	const struct str_key *k = ctx;
	const ps_xstr *e = &k->t->v[id];
	return e->len == k->len && !memcmp(e->s, k->s, k->len);
}

int ps_xstrs_id(ps_xstrs *t, const char *s, size_t len, uint32_t *id)
{
	struct str_key k = {t, s, len};
	uint64_t h = ps_hash(s, len);
	uint32_t found = ps_index_find(&t->index, h, str_eq, &k);
	if (found != UINT32_MAX) {
		*id = found;
		return 0;
	}
	if (t->n >= UINT32_MAX - 1)
		return PS_ELIMIT;
	if (!t->arena && !(t->arena = ps_arena_new()))
		return -ENOMEM;
	char *copy = ps_arena_strndup(t->arena, s, len);
	if (!copy || PS_GROW(t->v, t->cap, t->n + 1))
		return -ENOMEM;
	int err = ps_index_insert(&t->index, h, (uint32_t)t->n);
	if (err)
		return err;
	t->v[t->n] = (ps_xstr){copy, len};
	*id = (uint32_t)t->n++;
	return 0;
}

void ps_xstrs_release(ps_xstrs *t)
{
	free(t->v);
	ps_index_release(&t->index);
	ps_arena_free(t->arena);
	memset(t, 0, sizeof(*t));
}

int ps_x_check_stream(FILE *out)
{
	/* fflush sets errno (ENOSPC, EPIPE...); an earlier failed write only leaves ferror. */
	errno = 0;
	if (fflush(out) != 0)
		return errno ? -errno : -EIO;
	return ferror(out) ? -EIO : 0;
}
