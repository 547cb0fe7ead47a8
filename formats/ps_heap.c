/* ps_heap: freed, leaked and peak blocks of a heap profile (see ps_heap.h). */
#include "formats/ps_heap.h"

#include <errno.h>
#include <stdlib.h>

#include "formats/ps_util.h"

struct hev {
	uint64_t time, addr;
	uint32_t pid;
	uint32_t alloc; /* the allocation's index, UINT32_MAX for a free */
	uint64_t seq;	/* order of the adds: ties in time keep it */
};

struct halloc {
	uint64_t weight;
	size_t born, died; /* event positions after sorting; died SIZE_MAX: never freed */
};

struct ps_heap_track {
	struct hev *ev;
	size_t nev, evcap;
	struct halloc *al;
	size_t nal, alcap;
	ps_heap_point *series;
	size_t peak_at; /* position of the event after which the live heap was largest */
	uint64_t peak, peak_time;
	int finished;
};

ps_heap_track *ps_heap_track_new(void) { return calloc(1, sizeof(ps_heap_track)); }

void ps_heap_track_free(ps_heap_track *t)
{
	if (!t)
		return;
	free(t->ev);
	free(t->al);
	free(t->series);
	free(t);
}

static int add(ps_heap_track *t, const struct hev *e)
{
	if (PS_GROW(t->ev, t->evcap, t->nev + 1))
		return -ENOMEM;
	t->ev[t->nev] = *e;
	t->ev[t->nev].seq = t->nev;
	t->nev++;
	return 0;
}

int ps_heap_track_add_alloc(ps_heap_track *t, uint64_t time, uint32_t pid, uint64_t addr,
			    uint64_t weight)
{
	if (t->nal >= UINT32_MAX - 1 || PS_GROW(t->al, t->alcap, t->nal + 1))
		return -ENOMEM;
	struct hev e = {time, addr, pid, (uint32_t)t->nal, 0};
	int err = add(t, &e);
	if (err)
		return err;
	t->al[t->nal++] = (struct halloc){weight, 0, SIZE_MAX};
	return 0;
}

int ps_heap_track_add_free(ps_heap_track *t, uint64_t time, uint32_t pid, uint64_t addr)
{
	struct hev e = {time, addr, pid, UINT32_MAX, 0};
	return add(t, &e);
}

static int by_time(const void *a, const void *b)
{
	const struct hev *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint64_t key_hash(uint32_t pid, uint64_t addr)
{
	return ps_hash_u64(addr ^ ((uint64_t)pid << 48));
}

int ps_heap_track_finish(ps_heap_track *t)
{
	if (t->finished)
		return 0;
	t->finished = 1;
	if (t->nev) /* qsort's array may not be NULL, even empty */
		qsort(t->ev, t->nev, sizeof(*t->ev), by_time);
	size_t cap = 0;
	if (PS_GROW(t->series, cap, t->nev + 1))
		return -ENOMEM;
	/* Live blocks by (pid, address): the index maps to the allocation's event. */
	ps_index live = {0};
	uint64_t cur = 0, total = 0;
	int err = 0;
	for (size_t i = 0; i < t->nev && !err; i++) {
		struct hev *e = &t->ev[i];
		uint64_t h = key_hash(e->pid, e->addr);
		/* The live allocation at this address, if any. */
		uint32_t found = UINT32_MAX;
		if (live.ids)
			for (size_t j = h & live.mask; live.ids[j]; j = (j + 1) & live.mask)
				if (live.hashes[j] == h) {
					const struct hev *o = &t->ev[live.ids[j] - 1];
					if (o->pid == e->pid && o->addr == e->addr) {
						found = live.ids[j] - 1;
						break;
					}
				}
		if (found != UINT32_MAX) {
			/* Freed now (a free, or a new block where it was). */
			struct halloc *a = &t->al[t->ev[found].alloc];
			a->died = i;
			cur = cur >= a->weight ? cur - a->weight : 0;
			ps_index_remove(&live, h, found);
		}
		if (e->alloc != UINT32_MAX) {
			struct halloc *a = &t->al[e->alloc];
			a->born = i;
			/* Saturating: a hostile trace's weights must not wrap the sums. */
			cur = cur + a->weight < cur ? UINT64_MAX : cur + a->weight;
			total = total + a->weight < total ? UINT64_MAX : total + a->weight;
			err = ps_index_insert(&live, h, (uint32_t)i);
		}
		t->series[i] = (ps_heap_point){e->time, cur, total};
		if (cur > t->peak) {
			t->peak = cur;
			t->peak_at = i;
			t->peak_time = e->time;
		}
	}
	ps_index_release(&live);
	return err;
}

int ps_heap_track_live_at_end(const ps_heap_track *t, size_t i)
{
	return i < t->nal && t->al[i].died == SIZE_MAX;
}

int ps_heap_track_live_at_peak(const ps_heap_track *t, size_t i)
{
	if (i >= t->nal || !t->peak)
		return 0;
	const struct halloc *a = &t->al[i];
	return a->born <= t->peak_at && (a->died == SIZE_MAX || a->died > t->peak_at);
}

uint64_t ps_heap_track_peak(const ps_heap_track *t, uint64_t *time)
{
	if (time)
		*time = t->peak_time;
	return t->peak;
}

size_t ps_heap_track_series(const ps_heap_track *t, const ps_heap_point **out)
{
	*out = t->series;
	return t->finished ? t->nev : 0;
}
