/* ps_aspace: processes, their mappings and their threads' names over time.
 *
 * Layout: processes live in one array of slots found by pid through a ps_index (a slot
 * freed by EXIT goes on a free list and its index entry is removed, so a system-wide
 * recording's churn of short processes does not grow the model). Each process holds its
 * mappings in one array sorted by start address:
 * - LIVE: the mappings never overlap (an insert first punches its range out of older
 *   ones), so a lookup is one binary search;
 * - HISTORY: every mapping is kept, overlaps included, in arrival order until a lookup
 *   sorts them (by start, then arrival); a lookup binary-searches the last one starting
 *   at or below the address and walks back while some mapping at or before the one it
 *   is at reaches the address (reach[i]: the highest end of maps[0..i]), so it looks
 *   only at mappings that could hold the address and their neighbours.
 * Objects (path, build-id) and thread names are interned once, strings in one arena. */
#include "formats/ps_aspace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "formats/ps_util.h"

#define NONE UINT32_MAX
/* How far a lookup follows FORK parents (a chain of forks, or a loop a hostile trace
 * made out of pids). */
#define MAX_PARENTS 64
/* How far a name lookup follows the threads that created a thread. */
#define MAX_NAME_PARENTS 16
/* How many mappings a HISTORY lookup looks at, at most: real processes have a few under
 * any address, but a hostile trace can put one long mapping under millions of short
 * ones, and every lookup would walk them all. */
#define MAX_WALK 1024

struct proc {
	uint32_t pid;
	uint8_t used;	    /* 0: on the free list */
	uint8_t dead;	    /* LIVE: exited, still in the ring of recent exits */
	uint8_t has_parent; /* HISTORY: forked from ppid at fork_time */
	uint8_t sorted;	    /* HISTORY: maps are in (start, seq) order */
	uint32_t ppid;
	uint32_t next_free;
	uint64_t fork_time;
	ps_aspace_map *maps;
	size_t nmaps, cap;
	uint64_t *reach;	 /* HISTORY: reach[i] = the highest end of maps[0..i] */
	size_t nreach, reachcap; /* reach is valid for maps[0..nreach) */
	uint64_t *execs;	 /* HISTORY: exec times */
	size_t nexecs, execcap;
	uint64_t gen; /* changes with the mappings */
	void *user;
};

/* A thread's name from some time on; a thread's names form a list, newest first. */
struct name {
	const char *name;
	uint64_t time;
	uint32_t next; /* index + 1 of the thread's previous name, 0 = none */
};

struct thread {
	uint32_t tid, pid;
	uint32_t names; /* index + 1 of its newest name, 0 = none */
	uint32_t has_fork;
	uint32_t ptid; /* the thread that created it, at fork_time */
	uint64_t fork_time;
};

struct ps_aspace {
	ps_aspace_opts o;
	ps_arena *arena;
	struct proc *procs;
	size_t nprocs, proccap, live_procs;
	uint32_t free_proc;
	ps_index proc_index;
	uint32_t *dead; /* LIVE: ring of the last keep_exited exited processes */
	size_t dead_at;
	ps_aspace_obj *objs;
	size_t nobjs, objcap;
	ps_index obj_index;
	struct thread *threads;
	size_t nthreads, threadcap;
	ps_index thread_index;
	struct name *names;
	size_t nnames, namecap;
	size_t nmaps; /* of all processes */
	uint32_t seq;
	uint64_t gen;
	ps_aspace_stats stats;
};

int ps_aspace_new(ps_aspace **out, const ps_aspace_opts *opts)
{
	*out = NULL;
	ps_aspace *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (opts)
		a->o = *opts;
	if (!a->o.max_procs)
		a->o.max_procs = 1u << 22;
	if (!a->o.max_maps)
		a->o.max_maps = 1u << 22;
	if (!a->o.max_objects)
		a->o.max_objects = 1u << 20;
	if (!a->o.max_names)
		a->o.max_names = 1u << 22;
	if (!a->o.max_execs)
		a->o.max_execs = 4096;
	/* Ids are uint32 with UINT32_MAX as "none". */
	if (a->o.max_procs >= NONE)
		a->o.max_procs = NONE - 1;
	if (a->o.max_objects >= NONE)
		a->o.max_objects = NONE - 1;
	if (a->o.max_names >= NONE)
		a->o.max_names = NONE - 1;
	if (a->o.mode != PS_ASPACE_LIVE)
		a->o.keep_exited = 0;
	a->free_proc = NONE;
	a->arena = ps_arena_new();
	if (a->o.keep_exited) {
		a->dead = malloc(a->o.keep_exited * sizeof(*a->dead));
		if (a->dead)
			memset(a->dead, 0xff, a->o.keep_exited * sizeof(*a->dead)); /* all NONE */
	}
	if (!a->arena || (a->o.keep_exited && !a->dead)) {
		ps_aspace_free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static void user_ref(ps_aspace *a, uint64_t user, int delta)
{
	if (user && a->o.ref)
		a->o.ref(a->o.ctx, user, delta);
}

/* Drops every mapping of p (their words lose a reference). */
static void proc_clear(ps_aspace *a, struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		user_ref(a, p->maps[i].user, -1);
	a->nmaps -= p->nmaps;
	p->nmaps = 0;
	p->nreach = 0;
	p->sorted = 1;
	p->gen = ++a->gen;
}

static void proc_release_user(ps_aspace *a, struct proc *p)
{
	if (p->user && a->o.proc_release)
		a->o.proc_release(a->o.ctx, p->user);
	p->user = NULL;
}

void ps_aspace_free(ps_aspace *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nprocs; i++) {
		struct proc *p = &a->procs[i];
		proc_clear(a, p);
		proc_release_user(a, p);
		free(p->maps);
		free(p->reach);
		free(p->execs);
	}
	free(a->procs);
	ps_index_release(&a->proc_index);
	free(a->dead);
	free(a->objs);
	ps_index_release(&a->obj_index);
	free(a->threads);
	ps_index_release(&a->thread_index);
	free(a->names);
	ps_arena_free(a->arena);
	free(a);
}

/* ---- processes ---- */

struct pid_key {
	const ps_aspace *a;
	uint32_t pid;
};

static int proc_eq(const void *ctx, uint32_t id)
{
	const struct pid_key *k = ctx;
	return k->a->procs[id].pid == k->pid;
}

static uint32_t proc_find(const ps_aspace *a, uint32_t pid)
{
	struct pid_key k = {a, pid};
	return ps_index_find(&a->proc_index, ps_hash_u64(pid), proc_eq, &k);
}

/* Forgets a process: its slot goes back on the free list. */
static void proc_drop(ps_aspace *a, uint32_t id)
{
	struct proc *p = &a->procs[id];
	proc_clear(a, p);
	proc_release_user(a, p);
	ps_index_remove(&a->proc_index, ps_hash_u64(p->pid), id);
	p->used = 0;
	p->dead = 0;
	p->has_parent = 0;
	p->nexecs = 0;
	p->next_free = a->free_proc;
	a->free_proc = id;
	a->live_procs--;
}

/* An exited process that shows up again is a new one with a reused pid. */
static void proc_undead(ps_aspace *a, uint32_t id)
{
	struct proc *p = &a->procs[id];
	if (!p->dead)
		return;
	p->dead = 0;
	for (size_t i = 0; i < a->o.keep_exited; i++)
		if (a->dead[i] == id)
			a->dead[i] = NONE;
	proc_clear(a, p);
	proc_release_user(a, p);
}

/* The slot of process pid, made when create is set. NONE when unknown, over max_procs
 * or out of memory (*err says which). */
static uint32_t proc_get(ps_aspace *a, uint32_t pid, int create, int *err)
{
	uint32_t id = proc_find(a, pid);
	if (id != NONE) {
		proc_undead(a, id);
		return id;
	}
	if (!create)
		return NONE;
	if (a->live_procs >= a->o.max_procs) {
		a->stats.dropped_procs++;
		return NONE;
	}
	if (a->free_proc != NONE) {
		id = a->free_proc;
		a->free_proc = a->procs[id].next_free;
	} else {
		if (PS_GROW(a->procs, a->proccap, a->nprocs + 1)) {
			*err = -ENOMEM;
			return NONE;
		}
		id = (uint32_t)a->nprocs++;
		memset(&a->procs[id], 0, sizeof(a->procs[id]));
	}
	if (ps_index_insert(&a->proc_index, ps_hash_u64(pid), id)) {
		/* Back on the free list: the slot stays valid and unused. */
		a->procs[id].next_free = a->free_proc;
		a->free_proc = id;
		*err = -ENOMEM;
		return NONE;
	}
	struct proc *p = &a->procs[id];
	p->pid = pid;
	p->used = 1;
	p->sorted = 1;
	p->gen = ++a->gen;
	a->live_procs++;
	return id;
}

/* ---- objects ---- */

struct obj_key {
	const ps_aspace *a;
	const char *path;
	const uint8_t *bid;
	uint8_t bidlen;
};

static int obj_eq(const void *ctx, uint32_t id)
{
	const struct obj_key *k = ctx;
	const ps_aspace_obj *o = &k->a->objs[id];
	return o->build_id_size == k->bidlen && !memcmp(o->build_id, k->bid, k->bidlen) &&
	       !strcmp(o->path, k->path);
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b && b[1] ? b + 1 : path;
}

/* The object's id, made when new; NONE over max_objects or out of memory. */
static uint32_t obj_get(ps_aspace *a, const char *path, const uint8_t *bid, uint8_t bidlen,
			int *err)
{
	if (bidlen > sizeof(a->objs[0].build_id))
		bidlen = sizeof(a->objs[0].build_id);
	size_t len = strlen(path);
	uint64_t h = ps_hash(path, len) ^ (bidlen ? ps_hash(bid, bidlen) : 0);
	struct obj_key k = {a, path, bid, bidlen};
	uint32_t id = ps_index_find(&a->obj_index, h, obj_eq, &k);
	if (id != NONE)
		return id;
	if (a->nobjs >= a->o.max_objects) {
		a->stats.dropped_objects++;
		return NONE;
	}
	if (PS_GROW(a->objs, a->objcap, a->nobjs + 1)) {
		*err = -ENOMEM;
		return NONE;
	}
	ps_aspace_obj *o = &a->objs[a->nobjs];
	memset(o, 0, sizeof(*o));
	o->path = ps_arena_strndup(a->arena, path, len);
	if (!o->path || ps_index_insert(&a->obj_index, h, (uint32_t)a->nobjs)) {
		*err = -ENOMEM;
		return NONE;
	}
	o->base = base_name(o->path);
	memcpy(o->build_id, bid, bidlen);
	o->build_id_size = bidlen;
	if (!strcmp(path, "[vdso]"))
		o->kind = PS_OBJ_VDSO;
	else if (path[0] != '/' || !strncmp(path, "/memfd:", 7) || !strncmp(path, "//anon", 6))
		o->kind = PS_OBJ_ANON;
	return (uint32_t)a->nobjs++;
}

const ps_aspace_obj *ps_aspace_object(const ps_aspace *a, uint32_t id)
{
	return a && id < a->nobjs ? &a->objs[id] : NULL;
}

size_t ps_aspace_nobjects(const ps_aspace *a) { return a ? a->nobjs : 0; }

/* ---- mappings ---- */

/* Room for one more mapping of p, within max_maps. 0, 1 when over the bound, or -ENOMEM. */
static int maps_room(ps_aspace *a, struct proc *p, size_t more)
{
	if (a->nmaps + more > a->o.max_maps)
		return 1;
	return PS_GROW(p->maps, p->cap, p->nmaps + more);
}

/* LIVE: removes [start, end) from p's mappings, as a new mmap over them does. A mapping
 * that held the middle is split in two. */
static int maps_punch(ps_aspace *a, struct proc *p, uint64_t start, uint64_t end)
{
	/* The first mapping that ends after start: everything before it is untouched. */
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < p->nmaps && p->maps[i].start < end;) {
		ps_aspace_map *m = &p->maps[i];
		if (m->start < start && m->end > end) {
			int room = maps_room(a, p, 1);
			if (room)
				return room < 0 ? room : -E2BIG;
			m = &p->maps[i];
			memmove(m + 1, m, (p->nmaps - i) * sizeof(*m));
			p->nmaps++;
			a->nmaps++;
			user_ref(a, m->user, +1);
			m[0].end = start;
			m[1].pgoff += end - m[1].start;
			m[1].start = end;
			return 0;
		}
		if (m->start < start) {
			m->end = start;
			i++;
		} else if (m->end > end) {
			m->pgoff += end - m->start;
			m->start = end;
			i++;
		} else {
			user_ref(a, m->user, -1);
			memmove(m, m + 1, (p->nmaps - i - 1) * sizeof(*m));
			p->nmaps--;
			a->nmaps--;
		}
	}
	return 0;
}

int ps_aspace_mmap(ps_aspace *a, const ps_mmap *m, uint64_t user)
{
	int err = 0;
	if (!a || !m)
		return -EINVAL;
	if (!m->len || m->start + m->len < m->start) {
		a->stats.bad_maps++;
		user_ref(a, user, -1);
		return 0;
	}
	uint32_t id = proc_get(a, m->pid, 1, &err);
	uint32_t obj = id == NONE ? NONE
				  : obj_get(a, m->filename ? m->filename : "", m->build_id,
					    m->build_id_size, &err);
	if (obj == NONE) {
		if (!err && id != NONE)
			a->stats.dropped_maps++;
		user_ref(a, user, -1);
		return err;
	}
	struct proc *p = &a->procs[id];
	ps_aspace_map nm = {.start = m->start,
			    .end = m->start + m->len,
			    .pgoff = m->pgoff,
			    .time = m->time,
			    .user = user,
			    .obj = obj,
			    .seq = a->seq++};
	if (a->o.mode == PS_ASPACE_LIVE) {
		err = maps_punch(a, p, nm.start, nm.end);
		p->gen = ++a->gen;
	}
	int room = err ? 0 : maps_room(a, p, 1);
	if (err || room) {
		if (err == -E2BIG || room > 0) {
			a->stats.dropped_maps++;
			err = 0;
		} else if (room < 0) {
			err = room;
		}
		user_ref(a, user, -1);
		return err;
	}
	if (a->o.mode == PS_ASPACE_LIVE) {
		size_t at = p->nmaps;
		while (at > 0 && p->maps[at - 1].start > nm.start)
			at--;
		memmove(&p->maps[at + 1], &p->maps[at], (p->nmaps - at) * sizeof(nm));
		p->maps[at] = nm;
	} else {
		/* Appended: sorted by the first lookup that needs it. */
		if (p->nmaps && p->maps[p->nmaps - 1].start > nm.start)
			p->sorted = 0;
		p->maps[p->nmaps] = nm;
	}
	p->nmaps++;
	a->nmaps++;
	return 0;
}

static int map_cmp(const void *x, const void *y)
{
	const ps_aspace_map *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* LIVE: the mapping holding addr. */
static const ps_aspace_map *live_find(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nmaps && p->maps[lo].start <= addr ? &p->maps[lo] : NULL;
}

/* HISTORY: the process's last exec at or before time, or 0 with none. */
static int last_exec(const struct proc *p, uint64_t time, uint64_t *at)
{
	int found = 0;
	for (size_t i = 0; i < p->nexecs; i++)
		if (p->execs[i] <= time && (!found || p->execs[i] > *at)) {
			*at = p->execs[i];
			found = 1;
		}
	return found;
}

/* HISTORY: the mapping holding addr at time in p's own mappings; *barrier says whether
 * an exec hides what came before. */
static const ps_aspace_map *history_find(ps_aspace *a, struct proc *p, uint64_t addr, uint64_t time,
					 int *barrier)
{
	if (!p->sorted) {
		qsort(p->maps, p->nmaps, sizeof(*p->maps), map_cmp);
		p->sorted = 1;
		p->nreach = 0;
	}
	if (p->nreach < p->nmaps) {
		/* Out of memory, every mapping below the address is looked at. */
		if (PS_GROW(p->reach, p->reachcap, p->nmaps))
			p->nreach = 0;
		for (size_t i = p->nreach; i < p->nmaps && p->reachcap >= p->nmaps; i++) {
			uint64_t prev = i ? p->reach[i - 1] : 0;
			p->reach[i] = p->maps[i].end > prev ? p->maps[i].end : prev;
			p->nreach = i + 1;
		}
	}
	uint64_t exec_at = 0;
	*barrier = last_exec(p, time, &exec_at);
	/* One past the last mapping that starts at or below addr. */
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const ps_aspace_map *best = NULL, *any = NULL;
	size_t walked = 0;
	for (size_t i = lo; i-- > 0 && (p->nreach < p->nmaps || p->reach[i] > addr);) {
		if (++walked > MAX_WALK) {
			a->stats.cut_lookups++;
			break;
		}
		const ps_aspace_map *m = &p->maps[i];
		if (addr >= m->end || (*barrier && m->time < exec_at))
			continue;
		/* The newest mapping made before the sample wins; failing that (records from
		 * another CPU's ring can lag), the earliest one after it. Ties: the later
		 * record wins the first, the earlier the second. */
		if (m->time <= time) {
			if (!best || m->time > best->time ||
			    (m->time == best->time && m->seq > best->seq))
				best = m;
		} else if (!any || m->time < any->time ||
			   (m->time == any->time && m->seq < any->seq)) {
			any = m;
		}
	}
	return best ? best : any;
}

const ps_aspace_map *ps_aspace_find(ps_aspace *a, uint32_t pid, uint64_t addr, uint64_t time)
{
	if (!a)
		return NULL;
	for (int depth = 0; depth < MAX_PARENTS; depth++) {
		uint32_t id = proc_find(a, pid);
		if (id == NONE)
			return NULL;
		struct proc *p = &a->procs[id];
		if (a->o.mode == PS_ASPACE_LIVE)
			return live_find(p, addr);
		int barrier;
		const ps_aspace_map *m = history_find(a, p, addr, time, &barrier);
		if (m)
			return m;
		/* Until it maps something there itself or execs, a child has its parent's
		 * mappings of the time of the fork. */
		if (barrier || !p->has_parent || p->ppid == pid)
			return NULL;
		time = p->fork_time;
		pid = p->ppid;
	}
	return NULL;
}

const ps_aspace_map *ps_aspace_maps(const ps_aspace *a, uint32_t pid, size_t *n, uint64_t *gen)
{
	uint32_t id = a ? proc_find(a, pid) : NONE;
	if (id == NONE) {
		*n = 0;
		if (gen)
			*gen = 0;
		return NULL;
	}
	const struct proc *p = &a->procs[id];
	*n = p->nmaps;
	if (gen)
		*gen = p->gen;
	return p->maps;
}

void **ps_aspace_proc_user(ps_aspace *a, uint32_t pid)
{
	uint32_t id = a ? proc_find(a, pid) : NONE;
	return id == NONE ? NULL : &a->procs[id].user;
}

/* ---- process events ---- */

int ps_aspace_exec(ps_aspace *a, uint32_t pid, uint64_t time)
{
	if (!a)
		return -EINVAL;
	int err = 0;
	if (a->o.mode == PS_ASPACE_LIVE) {
		/* The old image is gone; a process we never saw has nothing to clear. */
		uint32_t id = proc_find(a, pid);
		if (id != NONE) {
			proc_undead(a, id);
			proc_clear(a, &a->procs[id]);
		}
		return 0;
	}
	uint32_t id = proc_get(a, pid, 1, &err);
	if (id == NONE)
		return err;
	struct proc *p = &a->procs[id];
	if (p->nexecs >= a->o.max_execs) {
		a->stats.dropped_execs++;
		return 0;
	}
	if (PS_GROW(p->execs, p->execcap, p->nexecs + 1))
		return -ENOMEM;
	p->execs[p->nexecs++] = time;
	return 0;
}

/* LIVE: the child starts as a copy of the parent's mappings. */
static int live_fork(ps_aspace *a, uint32_t ppid, uint32_t pid)
{
	int err = 0;
	uint32_t cid = proc_get(a, pid, 1, &err);
	if (cid == NONE)
		return err;
	proc_clear(a, &a->procs[cid]);
	uint32_t pid_at = proc_find(a, ppid);
	if (pid_at == NONE)
		return 0;
	size_t n = a->procs[pid_at].nmaps;
	int room = maps_room(a, &a->procs[cid], n);
	if (room) {
		if (room > 0)
			a->stats.dropped_maps += n;
		return room < 0 ? room : 0;
	}
	struct proc *parent = &a->procs[pid_at], *child = &a->procs[cid];
	memcpy(child->maps, parent->maps, n * sizeof(*child->maps));
	child->nmaps = n;
	a->nmaps += n;
	for (size_t i = 0; i < n; i++)
		user_ref(a, child->maps[i].user, +1);
	return 0;
}

/* ---- threads and names ---- */

struct tid_key {
	const ps_aspace *a;
	uint32_t tid;
};

static int thread_eq(const void *ctx, uint32_t id)
{
	const struct tid_key *k = ctx;
	return k->a->threads[id].tid == k->tid;
}

static const struct thread *thread_find(const ps_aspace *a, uint32_t tid)
{
	struct tid_key k = {a, tid};
	uint32_t id = ps_index_find(&a->thread_index, ps_hash_u64(tid), thread_eq, &k);
	return id == NONE ? NULL : &a->threads[id];
}

static struct thread *thread_get(ps_aspace *a, uint32_t tid, uint32_t pid, int *err)
{
	struct thread *t = (struct thread *)thread_find(a, tid);
	if (t) {
		t->pid = pid;
		return t;
	}
	/* Threads are bounded as names are: each thread we keep has a name or a parent. */
	if (a->nthreads >= a->o.max_names) {
		a->stats.dropped_names++;
		return NULL;
	}
	if (PS_GROW(a->threads, a->threadcap, a->nthreads + 1) ||
	    ps_index_insert(&a->thread_index, ps_hash_u64(tid), (uint32_t)a->nthreads)) {
		*err = -ENOMEM;
		return NULL;
	}
	t = &a->threads[a->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = pid;
	return t;
}

int ps_aspace_fork(ps_aspace *a, const ps_task *t)
{
	if (!a || !t)
		return -EINVAL;
	int err = 0;
	/* Every new thread remembers who created it: it has that thread's name until it
	 * gets one of its own. The last FORK of a tid wins (tids are reused). */
	struct thread *th = thread_get(a, t->tid, t->pid, &err);
	if (th) {
		th->has_fork = 1;
		th->ptid = t->ptid;
		th->fork_time = t->time;
	}
	if (err || t->pid == t->ppid)
		return err; /* a new thread shares its process's mappings */
	if (a->o.mode == PS_ASPACE_LIVE)
		return live_fork(a, t->ppid, t->pid);
	uint32_t id = proc_get(a, t->pid, 1, &err);
	if (id == NONE)
		return err;
	struct proc *p = &a->procs[id];
	if (!p->has_parent) {
		p->has_parent = 1;
		p->ppid = t->ppid;
		p->fork_time = t->time;
	}
	return 0;
}

int ps_aspace_exit(ps_aspace *a, const ps_task *t)
{
	if (!a || !t)
		return -EINVAL;
	if (a->o.mode != PS_ASPACE_LIVE || t->pid != t->tid)
		return 0; /* HISTORY keeps everything; a thread's exit leaves its process */
	uint32_t id = proc_find(a, t->pid);
	if (id == NONE || a->procs[id].dead)
		return 0;
	if (!a->o.keep_exited) {
		proc_drop(a, id);
		return 0;
	}
	/* Samples from other CPUs' rings can arrive after the EXIT record: the process is
	 * forgotten only after keep_exited later exits. */
	uint32_t old = a->dead[a->dead_at];
	if (old != NONE)
		proc_drop(a, old);
	a->procs[id].dead = 1;
	a->dead[a->dead_at] = id;
	a->dead_at = (a->dead_at + 1) % a->o.keep_exited;
	return 0;
}

int ps_aspace_comm(ps_aspace *a, const ps_comm *c)
{
	if (!a || !c)
		return -EINVAL;
	int err = 0;
	if (c->exec)
		err = ps_aspace_exec(a, c->pid, c->time);
	if (err)
		return err;
	if (a->nnames >= a->o.max_names) {
		a->stats.dropped_names++;
		return 0;
	}
	struct thread *t = thread_get(a, c->tid, c->pid, &err);
	if (!t)
		return err;
	if (PS_GROW(a->names, a->namecap, a->nnames + 1))
		return -ENOMEM;
	const char *s = c->comm ? c->comm : "";
	struct name *n = &a->names[a->nnames];
	n->name = ps_arena_strndup(a->arena, s, strlen(s));
	if (!n->name)
		return -ENOMEM;
	n->time = c->time;
	n->next = t->names;
	t->names = (uint32_t)++a->nnames;
	return 0;
}

static const char *name_at(const ps_aspace *a, uint32_t tid, uint64_t time, int depth)
{
	const struct thread *t = thread_find(a, tid);
	if (!t)
		return NULL;
	if (t->names) {
		const struct name *best = NULL, *first = NULL;
		for (uint32_t i = t->names; i; i = a->names[i - 1].next) {
			const struct name *n = &a->names[i - 1];
			if (n->time <= time && (!best || n->time > best->time))
				best = n;
			if (!first || n->time <= first->time)
				first = n;
		}
		return best ? best->name : first->name;
	}
	if (t->has_fork && depth < MAX_NAME_PARENTS)
		return name_at(a, t->ptid, t->fork_time, depth + 1);
	return NULL;
}

const char *ps_aspace_comm_at(const ps_aspace *a, uint32_t pid, uint32_t tid, uint64_t time)
{
	if (!a)
		return NULL;
	const char *c = name_at(a, tid, time, 0);
	return c ? c : name_at(a, pid, time, 0);
}

uint32_t ps_aspace_pid_of(const ps_aspace *a, uint32_t tid)
{
	const struct thread *t = a ? thread_find(a, tid) : NULL;
	return t ? t->pid : tid;
}

ps_aspace_stats ps_aspace_get_stats(const ps_aspace *a)
{
	ps_aspace_stats s = {0};
	return a ? a->stats : s;
}

int ps_aspace_vdso_copy(void **image, size_t *len)
{
	*image = NULL;
	*len = 0;
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return -ENOENT;
	/* The auxiliary vector gives the start only; the mapping's end is in our maps. */
	size_t size = 0;
	FILE *m = fopen("/proc/self/maps", "re");
	if (!m)
		return -ENOENT;
	char line[512];
	while (fgets(line, sizeof(line), m)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s == base && e > s) {
			size = (size_t)(e - s);
			break;
		}
	}
	fclose(m);
	if (!size)
		return -ENOENT;
	*image = malloc(size);
	if (!*image)
		return -ENOMEM;
	memcpy(*image, (const void *)base, size);
	*len = size;
	return 0;
}
