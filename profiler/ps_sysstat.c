/* ps_sysstat: periodic statistics into a trace (see ps_sysstat.h). */
#include "profiler/ps_sysstat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/ps_util.h"

struct seen {
	uint32_t pid;
	uint64_t start_ticks;
	double cpu_seconds;
};

struct ps_sysstat {
	char root[256];
	enum ps_sysstat_scope scope;
	uint32_t *watch; /* PIDS: the processes given, and those found since (sorted) */
	size_t nwatch, watch_cap;
	struct seen *prev, *cur; /* sorted by pid */
	size_t nprev, ncur, prev_cap, cur_cap;
	uint64_t prev_ns;
	double boot_offset; /* CLOCK_MONOTONIC minus CLOCK_BOOTTIME seconds at creation */
	ps_metrics sys, proc;
	ps_procstat *procs;
	size_t procs_cap;
	double self_cpu;
};

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int has_pid(const uint32_t *v, size_t n, uint32_t pid)
{
	return n && bsearch(&pid, v, n, sizeof(*v), cmp_u32) != NULL;
}

int ps_sysstat_new(ps_sysstat **out, const char *root, enum ps_sysstat_scope scope,
		   const pid_t *pids, size_t npids)
{
	ps_sysstat *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->root, sizeof(s->root), "%s", root ? root : "");
	s->scope = scope;
	if (scope == PS_SYSSTAT_CHILDREN) {
		pids = NULL;
		npids = 0;
		pid_t self = getpid();
		if (PS_GROW(s->watch, s->watch_cap, 1)) {
			free(s);
			return -ENOMEM;
		}
		s->watch[s->nwatch++] = (uint32_t)self;
	}
	for (size_t i = 0; i < npids; i++) {
		if (PS_GROW(s->watch, s->watch_cap, s->nwatch + 1)) {
			ps_sysstat_free(s);
			return -ENOMEM;
		}
		s->watch[s->nwatch++] = (uint32_t)pids[i];
	}
	if (s->nwatch)
		qsort(s->watch, s->nwatch, sizeof(*s->watch), cmp_u32);
	struct timespec mono, boot;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	s->boot_offset = (double)(mono.tv_sec - boot.tv_sec) + (double)(mono.tv_nsec - boot.tv_nsec) / 1e9;
	*out = s;
	return 0;
}

void ps_sysstat_free(ps_sysstat *s)
{
	if (!s)
		return;
	free(s->watch);
	free(s->prev);
	free(s->cur);
	free(s->procs);
	ps_metrics_release(&s->sys);
	ps_metrics_release(&s->proc);
	free(s);
}

double ps_sysstat_self_cpu(const ps_sysstat *s) { return s->self_cpu; }

static const struct seen *find_prev(const ps_sysstat *s, uint32_t pid)
{
	size_t lo = 0, hi = s->nprev;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->prev[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nprev && s->prev[lo].pid == pid ? &s->prev[lo] : NULL;
}

/* The processes of this sample, read into s->procs: all, or the watched ones and (in
 * PIDS and CHILDREN scope) every process whose parent is watched, found by scanning
 * /proc in pid order (a child's pid is usually larger than its parent's; one found
 * out of order is caught the next time). */
static long read_procs(ps_sysstat *s)
{
	if (s->scope == PS_SYSSTAT_SYSTEM)
		return 0;
	uint32_t *pids;
	long n = ps_procfs_pids(s->root, &pids);
	if (n < 0)
		return n;
	size_t np = 0;
	for (long i = 0; i < n; i++) {
		if (PS_GROW(s->procs, s->procs_cap, np + 1)) {
			free(pids);
			return -ENOMEM;
		}
		ps_procstat *p = &s->procs[np];
		if (ps_procfs_process_stat(s->root, pids[i], p))
			continue;
		if (s->scope != PS_SYSSTAT_ALL) {
			int watched = has_pid(s->watch, s->nwatch, p->pid);
			if (!watched && has_pid(s->watch, s->nwatch, p->ppid)) {
				if (PS_GROW(s->watch, s->watch_cap, s->nwatch + 1)) {
					free(pids);
					return -ENOMEM;
				}
				s->watch[s->nwatch++] = p->pid;
				qsort(s->watch, s->nwatch, sizeof(*s->watch), cmp_u32);
				watched = 1;
			}
			if (!watched)
				continue;
			/* the sampler itself is not one of the children it watches */
			if (s->scope == PS_SYSSTAT_CHILDREN && p->pid == (uint32_t)getpid())
				continue;
		}
		if (ps_procfs_process_rest(s->root, p))
			continue;
		np++;
	}
	free(pids);
	return (long)np;
}

long ps_sysstat_sample(ps_sysstat *s, uint64_t now_ns, ps_trace_writer *w,
		       ps_sysstat_proc_fn fn, void *ctx)
{
	double cpu0 = thread_cpu();
	ps_metrics_clear(&s->sys);
	int err = ps_procfs_system(s->root, &s->sys);
	long np = err ? err : read_procs(s);
	if (np < 0)
		return np;
	long ticks = sysconf(_SC_CLK_TCK);
	double dt = s->prev_ns && now_ns > s->prev_ns ? (double)(now_ns - s->prev_ns) / 1e9 : 0;
	s->ncur = 0;
	if (PS_GROW(s->cur, s->cur_cap, (size_t)np + 1))
		return -ENOMEM;
	for (long i = 0; i < np; i++) {
		const ps_procstat *p = &s->procs[i];
		s->cur[s->ncur++] = (struct seen){p->pid, p->start_ticks, p->cpu_seconds};
		const struct seen *old = find_prev(s, p->pid);
		double base = 0, span = dt;
		if (old && old->start_ticks == p->start_ticks) {
			base = old->cpu_seconds;
		} else {
			/* new since the last sample: since it started */
			double started = (double)p->start_ticks / (double)(ticks > 0 ? ticks : 100) +
					 s->boot_offset;
			double now = (double)now_ns / 1e9;
			if (!dt || now - started < dt)
				span = now - started;
		}
		double pct = span > 0.001 ? 100.0 * (p->cpu_seconds - base) / span : 0;
		if (pct < 0)
			pct = 0;
		if (fn)
			fn(ctx, now_ns, p, pct);
		if (w) {
			ps_metrics_clear(&s->proc);
			err = ps_procfs_process_metrics(p, &s->proc);
			if (err)
				return err;
			ps_event ev = {.type = PS_REC_METRICS};
			ev.metrics = (ps_metricrec){now_ns, p->pid, (uint32_t)s->proc.n, p->comm,
						    s->proc.v};
			err = ps_trace_write(w, &ev);
			if (err)
				return err;
		}
	}
	/* swap: this sample is the next one's previous */
	struct seen *t = s->prev;
	size_t tc = s->prev_cap;
	s->prev = s->cur;
	s->prev_cap = s->cur_cap;
	s->nprev = s->ncur;
	s->cur = t;
	s->cur_cap = tc;
	s->prev_ns = now_ns;
	s->self_cpu += thread_cpu() - cpu0;
	if (w) {
		err = ps_metrics_add(&s->sys, "perfsample_sampler_cpu_seconds_total", NULL, NULL,
				     NULL, NULL, s->self_cpu);
		size_t n = s->sys.n > PS_METRICS_MAX ? PS_METRICS_MAX : s->sys.n;
		ps_event ev = {.type = PS_REC_METRICS};
		ev.metrics = (ps_metricrec){now_ns, 0, (uint32_t)n, "", s->sys.v};
		if (!err)
			err = ps_trace_write(w, &ev);
		if (err)
			return err;
	}
	return np;
}
