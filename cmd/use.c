/* perfsample use: the USE checklist of this machine over a few seconds, with the next
 * command to run for every resource that is not ok (render/ps_use has the rules). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "formats/ps_procfs.h"
#include "render/ps_use.h"

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every process now, sorted by pid (ps_procfs_pids order). */
static ps_procstat *processes(size_t *n)
{
	uint32_t *pids;
	long np = ps_procfs_pids("", &pids);
	*n = 0;
	if (np <= 0)
		return NULL;
	ps_procstat *p = calloc((size_t)np, sizeof(*p));
	if (!p)
		die("out of memory");
	for (long i = 0; i < np; i++)
		if (!ps_procfs_process("", pids[i], &p[*n]))
			(*n)++;
	free(pids);
	return p;
}

static const ps_procstat *find(const ps_procstat *p, size_t n, uint32_t pid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && p[lo].pid == pid ? &p[lo] : NULL;
}

static const char use_usage[] =
	"usage: perfsample use [-d SECONDS] [--json]\n"
	"\n"
	"The USE checklist of this machine: for the CPUs, memory, each disk and each NIC,\n"
	"utilization, saturation (run queue, PSI, swap-ins, disk queue and await, drops,\n"
	"softnet squeezes) and errors over SECONDS, a verdict (ok, warn, bottleneck) and, for\n"
	"every row that is not ok, the next perfsample command to run and why.\n";

int cmd_use(int argc, char **argv)
{
	double seconds = 1;
	int json = 0;
	const struct opt options[] = {
		OPT_DOUBLE('d', "duration", &seconds, "SECONDS", "measure over this long (default 1)",
			   0.05, 3600),
		OPT_BOOL(0, "json", &json,
			 "a JSON array of objects with fields resource, utilization (percent), "
			 "saturation, saturation_measure, errors, verdict, hint, details"),
		OPT_TEXT("Thresholds (warn, bottleneck): CPU busy 70%, 90%; runnable tasks per CPU "
			 "1.5, 3; CPU PSI some 10%, 40%; memory used 85%, 95%; swap-ins 1/s, 100/s; "
			 "memory PSI some 5%, 20%; memory PSI full 1%, 10%; any OOM kill is a bottleneck; any EDAC error "
			 "warns; disk busy 60%, 90%; disk queue 2, 8; await 50 ms, 500 ms; any disk I/O error warns; I/O PSI "
			 "some 10%, 40%; I/O PSI full 5%, 20%; link 60%, 90%; drops and overruns 1/s, 100/s; any NIC error "
			 "warns; softnet squeezes and drops 1/s, 100/s."),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, use_usage, 0);
	if (argc)
		usage_error("use", "unexpected argument '%s'", argv[0]);
	ps_metrics before = {0}, after = {0};
	size_t n0, n1;
	double t0 = mono();
	if (ps_procfs_system("", &before))
		die("out of memory");
	ps_procstat *p0 = processes(&n0);
	if (!before.n)
		die("cannot read /proc/stat: is /proc mounted?");
	struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (ps_procfs_system("", &after))
		die("out of memory");
	ps_procstat *p1 = processes(&n1);
	double dt = mono() - t0;

	ps_use_proc *procs = calloc(n1 ? n1 : 1, sizeof(*procs));
	if (!procs)
		die("out of memory");
	size_t np = 0;
	for (size_t i = 0; i < n1; i++) {
		const ps_procstat *b = &p1[i], *a = find(p0, n0, b->pid);
		if (a && a->start_ticks != b->start_ticks)
			a = NULL;
		ps_use_proc *u = &procs[np++];
		u->pid = b->pid;
		memcpy(u->comm, b->comm, sizeof(u->comm));
		u->cpu_percent = 100.0 * (b->cpu_seconds - (a ? a->cpu_seconds : 0)) / dt;
		if (!a && u->cpu_percent > 100.0 * (double)b->threads)
			u->cpu_percent = 0; /* started before we looked, its history is not ours */
		u->io_bytes = (double)(b->read_bytes + b->write_bytes) -
			      (a ? (double)(a->read_bytes + a->write_bytes) : 0);
		u->rss_growth = a ? (double)b->rss_bytes - (double)a->rss_bytes : 0;
		u->rss_bytes = (double)b->rss_bytes;
	}
	ps_use_input in = {&before, &after, dt, procs, np};
	ps_use_row *rows;
	size_t nrows;
	if (ps_use_evaluate(&in, &rows, &nrows))
		die("out of memory");
	ps_buf b = {0};
	int err = json ? ps_use_write_json(&b, rows, nrows) : ps_use_write_text(&b, rows, nrows);
	if (!err && b.len)
		fwrite(b.data, 1, b.len, stdout);
	ps_buf_release(&b);
	free(rows);
	free(procs);
	free(p0);
	free(p1);
	ps_metrics_release(&before);
	ps_metrics_release(&after);
	stdout_done(err);
	return 0;
}
