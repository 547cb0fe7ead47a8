/* ps_sysstat: the periodic sampler of system and per-process statistics (perfsample stat,
 * record --stat). Each call reads /proc and /sys once (formats/ps_procfs) and writes one
 * METRICS record for the system and one per watched process into a trace; CPU percentages
 * are computed against the previous call. Its own CPU time is measured and written as
 * perfsample_sampler_cpu_seconds_total. */
#ifndef PS_SYSSTAT_H
#define PS_SYSSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "formats/ps_procfs.h"
#include "formats/ps_trace.h"

enum ps_sysstat_scope {
	PS_SYSSTAT_ALL,	     /* every process */
	PS_SYSSTAT_PIDS,     /* these processes and every process they start */
	PS_SYSSTAT_CHILDREN, /* every descendant of this process (a command we started) */
	PS_SYSSTAT_SYSTEM,   /* no processes */
};

typedef struct ps_sysstat ps_sysstat;

/* pids: the processes of PS_SYSSTAT_PIDS (copied). root: "" for this machine. */
int ps_sysstat_new(ps_sysstat **out, const char *root, enum ps_sysstat_scope scope,
		   const pid_t *pids, size_t npids);
void ps_sysstat_free(ps_sysstat *s); /* NULL is fine */

/* Called for every watched process of a sample: cpu_percent over the last interval
 * (100 = one CPU; the first time a process is seen, since the previous sample, or since
 * it started when that was later). */
typedef void (*ps_sysstat_proc_fn)(void *ctx, uint64_t now_ns, const ps_procstat *p,
				   double cpu_percent);

/* Samples now (now_ns: CLOCK_MONOTONIC). w may be NULL (CSV only); fn may be NULL.
 * Returns the number of watched processes alive, or a negative code (a write error). */
long ps_sysstat_sample(ps_sysstat *s, uint64_t now_ns, ps_trace_writer *w,
		       ps_sysstat_proc_fn fn, void *ctx);

/* The CPU seconds the sampler itself used so far. */
double ps_sysstat_self_cpu(const ps_sysstat *s);

#endif
