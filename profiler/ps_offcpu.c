#include "profiler/ps_offcpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

/* A switch-out record follows its context-switches sample within microseconds; farther
 * apart they are two switches, one of whose records was lost. */
#define SAMPLE_TO_SWITCH_NS 1000000u

/* Sampled stacks (--off-cpu-period) wait in their thread's window until it holds this
 * many, or its first is this old, then share out the window's exact blocked time. */
#define WINDOW_SAMPLES 16u
#define WINDOW_NS 1000000000ull

struct pend { /* a sampled interval waiting in its thread's window */
	uint64_t from, to;
	uint32_t pid, cpu, flags, weight, nr;
	uint64_t *ips; /* owned */
};

struct swev {
	uint64_t time, seq;
	uint32_t pid, tid, cpu, nr;
	uint8_t kind, preempt;
	uint64_t *ips; /* owned; OUT_SAMPLE and USER_STACK */
};

struct thr {
	uint32_t tid, pid, cpu;
	uint32_t flags; /* of the open interval */
	uint32_t weight; /* of the open interval's stack; 0: not sampled, not written */
	uint64_t out_time;
	uint64_t *ips; /* the open interval's stack */
	uint32_t nr;
	uint64_t *user; /* the last user stack (USER_STACK) */
	uint32_t unr;
	/* The window of sampled intervals not yet written, and the blocked time of every
	 * interval closed since the last window was written (sampled or not), apart for
	 * waits ([0]) and preemptions ([1]). */
	struct pend *pend;
	size_t npend, pendcap;
	uint64_t win_all_ns[2], win_sampled_ns[2];
	uint8_t have_out, has_sample, got_switch, born, dead, seen;
};

struct ps_offcpu_pairer {
	uint64_t start, seq;
	int (*emit)(void *ctx, const ps_event *ev);
	void *ctx;
	struct swev *ev, *tmp; /* tmp: the merge's other buffer */
	size_t nev, evcap, tmpcap;
	struct thr *thr;
	size_t nthr, thrcap;
	ps_index idx;
	ps_offcpu_stats st;
	size_t pending; /* threads with a window not yet written */
	uint32_t period; /* > 1: the stack of every period-th switch-out only (per thread
			  * and CPU); the others are not written */
};

int ps_offcpu_new(ps_offcpu_pairer **out, uint64_t start_ns,
		  int (*emit)(void *ctx, const ps_event *ev), void *ctx)
{
	ps_offcpu_pairer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->start = start_ns;
	p->emit = emit;
	p->ctx = ctx;
	*out = p;
	return 0;
}

void ps_offcpu_free(ps_offcpu_pairer *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nev; i++)
		free(p->ev[i].ips);
	for (size_t i = 0; i < p->nthr; i++) {
		free(p->thr[i].ips);
		free(p->thr[i].user);
		for (size_t j = 0; j < p->thr[i].npend; j++)
			free(p->thr[i].pend[j].ips);
		free(p->thr[i].pend);
	}
	free(p->ev);
	free(p->tmp);
	free(p->thr);
	ps_index_release(&p->idx);
	free(p);
}

ps_offcpu_stats ps_offcpu_get_stats(const ps_offcpu_pairer *p) { return p->st; }

void ps_offcpu_set_period(ps_offcpu_pairer *p, uint32_t period) { p->period = period; }

int ps_offcpu_add(ps_offcpu_pairer *p, enum ps_sw_kind kind, uint64_t time, uint32_t pid,
		  uint32_t tid, uint32_t cpu, int preempt, const uint64_t *ips, uint32_t nr)
{
	if (PS_GROW(p->ev, p->evcap, p->nev + 1))
		return -ENOMEM;
	uint64_t *copy = NULL;
	if (ips && nr) {
		copy = malloc(nr * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ips, nr * sizeof(*copy));
	}
	p->ev[p->nev++] = (struct swev){.time = time, .seq = p->seq++, .pid = pid, .tid = tid,
					.cpu = cpu, .nr = copy ? nr : 0, .kind = (uint8_t)kind,
					.preempt = (uint8_t)!!preempt, .ips = copy};
	return 0;
}

/* Time order; at equal times a sample before its switch record, a switch-out before a
 * switch-in; then the order they came in. */
static int ev_cmp(const void *a, const void *b)
{
	const struct swev *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts p->ev by ev_cmp. Each ring hands its records over in time order, so the events
 * of a flush are a few sorted runs (one per ring and drain, and what the last flush left):
 * found and merged pairwise, O(n log runs) compares, where qsort took a fifth of the
 * recorder's loop on a ping-pong. */
static int sort_events(ps_offcpu_pairer *p)
{
	size_t n = p->nev;
	while (n > 1) {
		size_t i = 1;
		while (i < n && ev_cmp(&p->ev[i - 1], &p->ev[i]) <= 0)
			i++;
		if (i == n)
			return 0; /* one run: sorted */
		if (PS_GROW(p->tmp, p->tmpcap, n))
			return -ENOMEM;
		/* One pass: merge each run with the next into tmp, then swap the buffers. */
		size_t out = 0, a = 0;
		while (a < n) {
			size_t b = a + 1;
			while (b < n && ev_cmp(&p->ev[b - 1], &p->ev[b]) <= 0)
				b++;
			size_t c = b < n ? b + 1 : n;
			while (c < n && ev_cmp(&p->ev[c - 1], &p->ev[c]) <= 0)
				c++;
			size_t x = a, y = b;
			while (x < b && y < c)
				p->tmp[out++] = ev_cmp(&p->ev[x], &p->ev[y]) <= 0 ? p->ev[x++]
										 : p->ev[y++];
			while (x < b)
				p->tmp[out++] = p->ev[x++];
			while (y < c)
				p->tmp[out++] = p->ev[y++];
			a = c;
		}
		struct swev *t = p->ev;
		size_t tc = p->evcap;
		p->ev = p->tmp;
		p->evcap = p->tmpcap;
		p->tmp = t;
		p->tmpcap = tc;
	}
	return 0;
}

static struct thr *thread(ps_offcpu_pairer *p, uint32_t tid, uint32_t pid)
{
	uint64_t h = ps_hash_u64((uint64_t)tid + 1);
	uint32_t id = ps_index_find(&p->idx, h, NULL, NULL);
	if (id != UINT32_MAX)
		return &p->thr[id];
	if (PS_GROW(p->thr, p->thrcap, p->nthr + 1) ||
	    ps_index_insert(&p->idx, h, (uint32_t)p->nthr))
		return NULL;
	struct thr *t = &p->thr[p->nthr++];
	*t = (struct thr){.tid = tid, .pid = pid};
	return t;
}

static int write_interval(ps_offcpu_pairer *p, const struct thr *t, uint64_t from, uint64_t to,
			  uint32_t pid, uint32_t cpu, uint32_t flags, uint32_t weight,
			  uint64_t stands_ns, const uint64_t *ips, uint32_t nr)
{
	static const uint64_t none[1]; /* an empty chain is still an array */
	ps_event ev = {.type = PS_REC_OFFCPU};
	ev.offcpu.sample = (ps_sample){.time = from, .period = to - from, .pid = pid,
				       .tid = t->tid, .cpu = cpu, .nr = ips ? nr : 0,
				       .ips = ips ? ips : none};
	ev.offcpu.flags = flags;
	ev.offcpu.weight = weight;
	ev.offcpu.stands_ns = stands_ns;
	p->st.intervals++;
	return p->emit(p->ctx, &ev);
}

/* Writes a thread's window: each sampled interval stands for the window's exact blocked
 * time in proportion to its own duration (a ratio estimator), waits and preemptions
 * apart (under load a preemption lasts a time slice: its time goes to where threads were
 * preempted, not to the waits sampled beside it). Duration times the period would be
 * unbiased only if a sampled interval lasted as long as the ones it stands for, but
 * taking the stack delays its switch record by microseconds while the wake-up that ends
 * it does not wait: on a ping-pong, 10-35% short. The window's total is exact (every
 * switch record comes). A kind without a sampled interval in the window waits for the
 * next one; in the last window (last: the thread's or the recording's end) its time
 * goes to the other kind. What a thread closes after its last sampled interval is the
 * estimate's only shortfall. */
static int write_window(ps_offcpu_pairer *p, struct thr *t, int last)
{
	uint64_t *all = t->win_all_ns, *smp = t->win_sampled_ns;
	for (int k = 0; last && k < 2; k++)
		if (!smp[k] && smp[!k]) {
			all[!k] += all[k];
			all[k] = 0;
		}
	int err = 0;
	for (size_t i = 0; i < t->npend; i++) {
		struct pend *q = &t->pend[i];
		int k = !!(q->flags & PS_OFFCPU_PREEMPTED);
		double stands = (double)(q->to - q->from) * ((double)all[k] / (double)smp[k]);
		uint64_t ns = stands >= 1.8e19 ? UINT64_MAX : stands < 1 ? 1 : (uint64_t)(stands + 0.5);
		if (!err)
			err = write_interval(p, t, q->from, q->to, q->pid, q->cpu, q->flags,
					     q->weight, ns, q->ips, q->nr);
		free(q->ips);
	}
	if (t->npend)
		p->pending--;
	t->npend = 0;
	for (int k = 0; k < 2; k++) {
		if (smp[k])
			all[k] = 0;
		smp[k] = 0;
	}
	return err;
}

/* t's open interval, from..to, is closed. ips: taken over when kept in the window. */
static int emit(ps_offcpu_pairer *p, struct thr *t, uint64_t from, uint64_t to,
		uint32_t flags, uint32_t weight, uint64_t **ips, uint32_t nr)
{
	if (to <= from)
		return 0;
	int kind = !!(flags & PS_OFFCPU_PREEMPTED); /* the window's wait or preemption part */
	if (!weight) { /* its stack was not sampled: the sampled ones carry its time */
		p->st.unsampled++;
		p->st.unsampled_ns += to - from;
		t->win_all_ns[kind] += to - from;
		return 0;
	}
	if (weight == 1)
		return write_interval(p, t, from, to, t->pid, t->cpu, flags, 1, 0,
				      ips ? *ips : NULL, nr);
	if (PS_GROW(t->pend, t->pendcap, t->npend + 1))
		return -ENOMEM;
	if (!t->npend)
		p->pending++;
	t->pend[t->npend++] = (struct pend){.from = from, .to = to, .pid = t->pid,
					    .cpu = t->cpu, .flags = flags, .weight = weight,
					    .nr = ips && *ips ? nr : 0, .ips = ips ? *ips : NULL};
	if (ips)
		*ips = NULL;
	t->win_all_ns[kind] += to - from;
	t->win_sampled_ns[kind] += to - from;
	return t->npend >= WINDOW_SAMPLES ? write_window(p, t, 0) : 0;
}

static void open_interval(ps_offcpu_pairer *p, struct thr *t, struct swev *e)
{
	if (t->have_out)
		p->st.unpaired++; /* its switch-in was lost: the end is unknown */
	free(t->ips);
	t->ips = NULL;
	t->nr = 0;
	t->have_out = 1;
	t->out_time = e->time;
	t->pid = e->pid;
	t->cpu = e->cpu;
	t->flags = 0;
	t->weight = 1;
	t->got_switch = 0;
	t->has_sample = e->kind == PS_SW_OUT_SAMPLE;
	if (t->has_sample) {
		/* Each switch-out had a 1 in period chance (a random phase): it stands for
		 * period of them. */
		t->weight = p->period > 1 ? p->period : 1;
		t->ips = e->ips; /* taken over */
		t->nr = e->nr;
		e->ips = NULL;
	}
}

static int step(ps_offcpu_pairer *p, struct swev *e)
{
	if (e->kind == PS_SW_LOST) {
		for (size_t i = 0; i < p->nthr; i++)
			if (p->thr[i].have_out && p->thr[i].out_time < e->time) {
				p->thr[i].have_out = 0;
				p->st.unpaired++;
			}
		return 0;
	}
	struct thr *t = thread(p, e->tid, e->pid);
	if (!t)
		return -ENOMEM;
	int err = 0;
	switch (e->kind) {
	case PS_SW_FORK:
		/* A new thread with this tid: the window of the one that had it is complete. */
		err = write_window(p, t, 1);
		free(t->ips);
		free(t->pend);
		*t = (struct thr){.tid = t->tid, .pid = e->pid, .born = 1, .user = t->user,
				  .unr = t->unr};
		return err;
	case PS_SW_OUT_SAMPLE:
		if (!t->dead)
			open_interval(p, t, e);
		break;
	case PS_SW_OUT:
		if (t->dead)
			break;
		if (t->have_out && t->has_sample && !t->got_switch && e->time >= t->out_time &&
		    e->time - t->out_time < SAMPLE_TO_SWITCH_NS) {
			t->got_switch = 1;
			t->flags |= e->preempt ? PS_OFFCPU_PREEMPTED : 0;
			/* The thread left its CPU at the switch record: the sample came before
			 * it, and taking the stack takes microseconds. Timing from the sample
			 * made sampled intervals 10 µs longer than the others (+45% on a
			 * ping-pong), a bias once they stand for the others. */
			t->out_time = e->time;
			break;
		}
		open_interval(p, t, e);
		t->got_switch = 1;
		if (p->period > 1) {
			/* A switch-out whose stack the kernel skipped (every Nth is taken). */
			t->flags = e->preempt ? PS_OFFCPU_PREEMPTED : 0;
			t->weight = 0;
			break;
		}
		/* No sample (user-only recording, or the sample was lost): the stack is the
		 * last one the thread was seen with. */
		t->flags = (e->preempt ? PS_OFFCPU_PREEMPTED : 0) | PS_OFFCPU_APPROX;
		p->st.no_stack++;
		if (t->user && (t->ips = malloc(t->unr * sizeof(*t->ips)))) {
			memcpy(t->ips, t->user, t->unr * sizeof(*t->ips));
			t->nr = t->unr;
		}
		break;
	case PS_SW_IN:
		if (t->have_out) {
			t->have_out = 0;
			err = emit(p, t, t->out_time, e->time, t->flags, t->weight, &t->ips,
				   t->nr);
		} else if (!t->seen && !t->born) {
			/* Blocked since before the recording: the kernel tells us only when it
			 * ended. */
			t->pid = e->pid;
			t->cpu = e->cpu;
			err = emit(p, t, p->start, e->time, PS_OFFCPU_STARTED, 1, NULL, 0);
		} else if (t->seen) {
			p->st.unpaired++; /* its switch-out was lost */
		}
		break;
	case PS_SW_EXIT:
		/* The last switch-out of a thread comes after its EXIT record: no wait. */
		t->dead = 1;
		t->have_out = 0;
		break;
	case PS_SW_USER_STACK:
		free(t->user);
		t->user = e->ips;
		t->unr = e->nr;
		e->ips = NULL;
		return 0;
	}
	t->seen = 1;
	return err;
}

int ps_offcpu_flush(ps_offcpu_pairer *p, uint64_t before)
{
	if (!p->nev)
		return 0;
	int err = sort_events(p);
	if (err)
		return err;
	size_t i = 0;
	for (; i < p->nev && p->ev[i].time < before; i++) {
		if (!err)
			err = step(p, &p->ev[i]);
		free(p->ev[i].ips);
	}
	memmove(p->ev, p->ev + i, (p->nev - i) * sizeof(*p->ev));
	p->nev -= i;
	/* Windows whose first sampled interval is old: written, so a thread that blocks
	 * rarely holds no stacks for long. */
	for (size_t k = 0; !err && p->pending && k < p->nthr; k++) {
		struct thr *t = &p->thr[k];
		if (t->npend && before != UINT64_MAX && t->pend[0].to + WINDOW_NS < before)
			err = write_window(p, t, 0);
	}
	return err;
}

int ps_offcpu_finish(ps_offcpu_pairer *p, uint64_t end_ns)
{
	int err = ps_offcpu_flush(p, UINT64_MAX);
	for (size_t i = 0; !err && i < p->nthr; i++) {
		struct thr *t = &p->thr[i];
		if (t->have_out && !t->dead) {
			t->have_out = 0;
			err = emit(p, t, t->out_time, end_ns, t->flags | PS_OFFCPU_OPEN,
				   t->weight, &t->ips, t->nr);
		}
		if (!err && t->npend)
			err = write_window(p, t, 1);
	}
	return err;
}

int ps_offcpu_still(ps_offcpu_pairer *p, uint32_t pid, uint32_t tid, uint64_t end_ns)
{
	if (ps_index_find(&p->idx, ps_hash_u64((uint64_t)tid + 1), NULL, NULL) != UINT32_MAX)
		return 0;
	struct thr *t = thread(p, tid, pid);
	if (!t)
		return -ENOMEM;
	t->seen = 1;
	return emit(p, t, p->start, end_ns, PS_OFFCPU_STARTED | PS_OFFCPU_OPEN, 1, NULL, 0);
}
