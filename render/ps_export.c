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

static int xtab_grow(ps_xtab *t)
{
	size_t nslots = t->mask ? (t->mask + 1) * 2 : 1024;
	uint32_t *slot = calloc(nslots, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (uint32_t id = 0; id < t->n; id++) {
		size_t h = (size_t)ps_hash(t->name[id], t->len[id]) & (nslots - 1);
		while (slot[h])
			h = (h + 1) & (nslots - 1);
		slot[h] = id + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->mask = nslots - 1;
	return 0;
}

int ps_xtab_intern(ps_xtab *t, const char *s, size_t len, uint32_t *id)
{
	/* Keep the load under one half so probes stay short. */
	if ((size_t)t->n * 2 >= t->mask) {
		int err = xtab_grow(t);
		if (err)
			return err;
	}
	size_t h = (size_t)ps_hash(s, len) & t->mask;
	for (; t->slot[h]; h = (h + 1) & t->mask) {
		uint32_t i = t->slot[h] - 1;
		if (t->len[i] == len && !memcmp(t->name[i], s, len)) {
			*id = i;
			return 0;
		}
	}
	if (t->n == UINT32_MAX - 1)
		return PS_ELIMIT;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 256;
		const char **name = realloc(t->name, cap * sizeof(*name));
		if (!name)
			return -ENOMEM;
		t->name = name;
		size_t *lens = realloc(t->len, cap * sizeof(*lens));
		if (!lens)
			return -ENOMEM;
		t->len = lens;
		t->cap = cap;
	}
	if (!t->arena && !(t->arena = ps_arena_new()))
		return -ENOMEM;
	char *copy = ps_arena_strndup(t->arena, s, len);
	if (!copy)
		return -ENOMEM;
	t->name[t->n] = copy;
	t->len[t->n] = len;
	t->slot[h] = t->n + 1;
	*id = t->n++;
	return 0;
}

void ps_xtab_release(ps_xtab *t)
{
	ps_arena_free(t->arena);
	free(t->name);
	free(t->len);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static const char *arena_str(ps_arena *a, const char *s)
{
	return s ? ps_arena_strndup(a, s, strlen(s)) : NULL;
}

/* Asks the hook about every frame once, copying what it says: the hook's strings may live
 * in a buffer it reuses. */
static int load_frame_meta(ps_xprof *x)
{
	uint32_t n = x->frames.n;
	x->meta = calloc(n ? n : 1, sizeof(*x->meta));
	x->has_meta = calloc(n ? n : 1, 1);
	x->arena = ps_arena_new();
	if (!x->meta || !x->has_meta || !x->arena)
		return -ENOMEM;
	for (uint32_t id = 0; id < n; id++) {
		ps_export_frame_meta fm;
		memset(&fm, 0, sizeof(fm));
		int r = x->m.frame_meta(x->m.frame_meta_ctx, x->frames.name[id], &fm);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		ps_export_frame_meta *d = &x->meta[id];
		*d = fm;
		d->module = arena_str(x->arena, fm.module);
		d->build_id = arena_str(x->arena, fm.build_id);
		d->system_name = arena_str(x->arena, fm.system_name);
		d->file = arena_str(x->arena, fm.file);
		if ((fm.module && !d->module) || (fm.build_id && !d->build_id) ||
		    (fm.system_name && !d->system_name) || (fm.file && !d->file))
			return -ENOMEM;
		x->has_meta[id] = 1;
	}
	return 0;
}

int ps_xprof_build(ps_xprof *x, ps_profile *p, const ps_export_meta *m)
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

	size_t n, nframes = 0;
	const ps_stack *s = ps_profile_stacks(p, &n);
	for (size_t i = 0; i < n; i++) {
		nframes++;
		for (size_t j = 0; j < s[i].len; j++)
			nframes += s[i].folded[j] == ';';
	}
	x->nstacks = n;
	x->start = malloc((n + 1) * sizeof(*x->start));
	x->comm = malloc((n ? n : 1) * sizeof(*x->comm));
	x->count = malloc((n ? n : 1) * sizeof(*x->count));
	x->ids = malloc((nframes ? nframes : 1) * sizeof(*x->ids));
	if (!x->start || !x->comm || !x->count || !x->ids)
		return -ENOMEM;

	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *f = s[i].folded, *end = f + s[i].len;
		x->start[i] = k;
		x->comm[i] = UINT32_MAX;
		x->count[i] = s[i].count;
		x->total += s[i].count;
		int first = 1;
		for (;;) {
			const char *semi = memchr(f, ';', (size_t)(end - f));
			const char *fe = semi ? semi : end;
			uint32_t id;
			int err;
			if (first && x->m.first_frame_is_comm) {
				err = ps_xtab_intern(&x->comms, f, (size_t)(fe - f), &id);
				x->comm[i] = id;
			} else {
				err = ps_xtab_intern(&x->frames, f, (size_t)(fe - f), &id);
				x->ids[k++] = id;
			}
			if (err)
				return err;
			first = 0;
			if (!semi)
				break;
			f = semi + 1;
		}
	}
	x->start[n] = k;
	if (x->m.frame_meta)
		return load_frame_meta(x);
	return 0;
}

void ps_xprof_release(ps_xprof *x)
{
	ps_xtab_release(&x->frames);
	ps_xtab_release(&x->comms);
	free(x->start);
	free(x->ids);
	free(x->comm);
	free(x->count);
	free(x->meta);
	free(x->has_meta);
	ps_arena_free(x->arena);
	memset(x, 0, sizeof(*x));
}

int ps_x_check_stream(FILE *out)
{
	/* fflush sets errno (ENOSPC, EPIPE...); an earlier failed write only leaves ferror. */
	errno = 0;
	if (fflush(out) != 0)
		return errno ? -errno : -EIO;
	return ferror(out) ? -EIO : 0;
}
