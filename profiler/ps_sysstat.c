/* ps_sysstat: periodic statistics into a trace (see ps_sysstat.h). */
#include "profiler/ps_sysstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/ps_util.h"

struct seen {
	uint32_t pid;
	uint64_t start_ticks;
	double cpu_seconds;
};

/* A process seen before: its stat file kept open (read again with pread, which makes the
 * kernel write it anew: no path walk, no open, no close), and what it had last time. */
struct pcache {
	uint32_t pid;
	int fd;
	int rest; /* last has the status and io fields too */
	ps_procstat last;
};

struct ps_sysstat {
	struct pcache *cache, *next; /* sorted by pid */
	size_t ncache, cache_cap, next_cap;
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
	/* One open file per process (the cache): the soft limit goes up to the hard one; past
	 * it, processes are read by path. */
	struct rlimit rl;
	if (scope != PS_SYSSTAT_SYSTEM && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1 << 20 ? 1 << 20 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
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
	for (size_t i = 0; i < s->ncache; i++)
		if (s->cache[i].fd >= 0)
			close(s->cache[i].fd);
	free(s->cache);
	free(s->next);
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
/* The stat line of pid into p, through the cache entry c (opened when c->fd < 0 and the
 * entry is new). 0, or a negative code when the process is gone or its stat is odd. */
static int read_stat(ps_sysstat *s, struct pcache *c, int fresh, ps_procstat *p)
{
	char buf[4096];
	ssize_t n = -1;
	memset(p, 0, sizeof(*p));
	p->pid = c->pid;
	if (c->fd >= 0) {
		n = pread(c->fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -ENOENT; /* the process is gone (ESRCH) */
	} else if (fresh) {
		char path[512];
		snprintf(path, sizeof(path), "%s/proc/%u/stat", s->root, c->pid);
		c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (c->fd >= 0) {
			n = pread(c->fd, buf, sizeof(buf) - 1, 0);
			if (n < 0)
				return -ENOENT;
		}
	}
	if (n < 0) { /* no file to keep (EMFILE): by path */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%u/stat", c->pid);
		n = ps_procfs_read(s->root, path, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
	}
	buf[n] = '\0';
	return ps_procfs_parse_pid_stat(buf, (size_t)n, p);
}

/* The processes of this sample, read into s->procs: all, or the watched ones and (in
 * PIDS and CHILDREN scope) every process whose parent is watched, found by scanning
 * /proc in pid order (a child's pid is usually larger than its parent's; one found
 * out of order is caught the next time). A process that used no CPU and took no fault
 * since the last sample cannot have switched context or done I/O: its status and io files
 * are not read again. */
static long read_procs(ps_sysstat *s)
{
	if (s->scope == PS_SYSSTAT_SYSTEM)
		return 0;
	uint32_t *pids;
	long n = ps_procfs_pids(s->root, &pids);
	if (n < 0)
		return n;
	size_t np = 0, nnext = 0, ci = 0;
	long rc = 0;
	if (PS_GROW(s->next, s->next_cap, (size_t)n + 1)) {
		free(pids);
		return -ENOMEM;
	}
	for (long i = 0; i < n; i++) {
		/* entries of processes gone since the last sample: closed */
		while (ci < s->ncache && s->cache[ci].pid < pids[i]) {
			if (s->cache[ci].fd >= 0)
				close(s->cache[ci].fd);
			ci++;
		}
		int known = ci < s->ncache && s->cache[ci].pid == pids[i];
		struct pcache *c = &s->next[nnext];
		if (known)
			*c = s->cache[ci++];
		else
			*c = (struct pcache){.pid = pids[i], .fd = -1};
		if (PS_GROW(s->procs, s->procs_cap, np + 1)) {
			rc = -ENOMEM;
			break;
		}
		ps_procstat *p = &s->procs[np];
		int err = read_stat(s, c, !known, p);
		if (err || (known && c->last.start_ticks != p->start_ticks)) {
			/* gone, odd, or a new process with an old pid: forget the entry */
			if (c->fd >= 0)
				close(c->fd);
			if (err)
				continue;
			c->fd = -1;
			c->rest = 0;
			known = 0;
		}
		nnext++;
		if (s->scope != PS_SYSSTAT_ALL) {
			int watched = has_pid(s->watch, s->nwatch, p->pid);
			if (!watched && has_pid(s->watch, s->nwatch, p->ppid)) {
				if (PS_GROW(s->watch, s->watch_cap, s->nwatch + 1)) {
					rc = -ENOMEM;
					break;
				}
				s->watch[s->nwatch++] = p->pid;
				qsort(s->watch, s->nwatch, sizeof(*s->watch), cmp_u32);
				watched = 1;
			}
			/* the sampler itself is not one of the children it watches */
			if (!watched || (s->scope == PS_SYSSTAT_CHILDREN && p->pid == (uint32_t)getpid())) {
				c->last = *p;
				c->rest = 0;
				continue;
			}
		}
		const ps_procstat *l = &c->last;
		if (known && l->cpu_seconds == p->cpu_seconds && l->minor_faults == p->minor_faults &&
		    l->major_faults == p->major_faults && c->rest) {
			p->voluntary_ctxt_switches = l->voluntary_ctxt_switches;
			p->nonvoluntary_ctxt_switches = l->nonvoluntary_ctxt_switches;
			p->read_bytes = l->read_bytes;
			p->write_bytes = l->write_bytes;
		} else if (ps_procfs_process_rest(s->root, p)) {
			continue;
		}
		c->last = *p;
		c->rest = 1;
		np++;
	}
	for (; ci < s->ncache; ci++)
		if (s->cache[ci].fd >= 0)
			close(s->cache[ci].fd);
	if (rc) {
		for (size_t i = 0; i < nnext; i++)
			if (s->next[i].fd >= 0)
				close(s->next[i].fd);
		nnext = 0;
	}
	/* swap: the entries of this sample are the cache of the next */
	struct pcache *t = s->cache;
	size_t tc = s->cache_cap;
	s->cache = s->next;
	s->cache_cap = s->next_cap;
	s->ncache = nnext;
	s->next = t;
	s->next_cap = tc;
	free(pids);
	return rc ? rc : (long)np;
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
