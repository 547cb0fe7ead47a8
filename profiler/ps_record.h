/* ps_record: samples a command, processes, threads or the whole system with
 * perf_event_open and writes what the kernel reports into a trace (formats/ps_trace). */
#ifndef PS_RECORD_H
#define PS_RECORD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "formats/ps_trace.h"

enum ps_callgraph { PS_CG_NONE, PS_CG_FP, PS_CG_DWARF };

typedef struct ps_record_opts {
	uint64_t freq;        /* samples per second (used when period is 0) */
	uint64_t period;      /* -c: events per sample */
	const char *event;    /* cpu-clock, task-clock, cycles, instructions */
	enum ps_callgraph callgraph;
	uint32_t stack_size;  /* bytes of user stack copied per sample (dwarf) */
	int all_cpus;         /* -a */
	const pid_t *pids;    /* -p: processes, all their threads */
	size_t npids;
	const pid_t *tids;    /* -t: just these threads */
	size_t ntids;
	char *const *argv;    /* a command to start and profile */
	/* With -a, -p or -t: argv only bounds the recording (perf's `record -a -- sleep 5`):
	 * it is started when sampling starts and the recording ends when it exits; the
	 * targets are the ones given. */
	int argv_bounds;
	const int *cpus;      /* -C: restrict to these CPUs (NULL: all online) */
	size_t ncpus;
	uint64_t duration_ms; /* -d: 0 = until the targets exit or a signal */
	uint64_t delay_ms;    /* -D: sample only after this long */
	int no_kernel;        /* user space only */
	/* --off-cpu: also every context switch of the targets, paired into blocked intervals
	 * (PS_REC_OFFCPU) with the stack each thread blocked in. */
	int off_cpu;
	/* --off-cpu-period: the stack of every Nth switch-out of a thread (per CPU), the
	 * sampled ones sharing out the thread's exact blocked time; 0 or 1: every one. */
	uint64_t offcpu_period;
	int start_disabled;   /* wait for ps_record_enable (control fifo) */
	/* Set from a signal handler to stop; checked at least every 100 ms. */
	volatile sig_atomic_t *stop;
	/* Called about once a second and at the end, e.g. for a live status line. */
	void (*tick)(void *ctx, const ps_stats *st, uint64_t bytes);
	void *tick_ctx;
	/* Output rotation (--switch-output): when *rotate is set (e.g. from SIGUSR2) or every
	 * rotate_ms, the rings are drained and on_rotate is called with the stats so far; it
	 * finishes the current trace and replaces *w with a new one, into which the recorder
	 * writes again every mapping and name it knows, so each file stands alone. */
	volatile sig_atomic_t *rotate;
	uint64_t rotate_ms;
	int (*on_rotate)(void *ctx, ps_trace_writer **w, const ps_stats *st);
	void *rotate_ctx;
	/* record --stat: called first and then every interval_ms with the trace (the current
	 * file when rotating), to write records of its own (statistics from /proc). */
	uint64_t interval_ms;
	int (*on_interval)(void *ctx, ps_trace_writer *w, uint64_t now_ns);
	void *interval_ctx;
	/* Polled with the ring buffers when >= 0; on_control is called when it is readable. */
	int control_fd;
	void (*on_control)(void *ctx, int fd);
	void *control_ctx;
	/* record --heap: the recorder's end of the socket the preload library in the command
	 * sends sampled allocations and frees to (>= 0; set up by the caller, which puts the
	 * other end in the command's environment); each message becomes a HEAP record. */
	int heap_fd;
} ps_record_opts;

typedef struct ps_record ps_record;

/* Opens the events (and starts the command, held before exec). On failure returns a
 * negative code and writes a one-line reason (without "perfsample: ") into err. */
int ps_record_open(ps_record **out, const ps_record_opts *o, char *err, size_t errlen);
/* Remarks about how the request was met (an event fallback, smaller ring buffers), one
 * per line, or NULL. */
const char *ps_record_notice(const ps_record *r);
/* The event actually sampled and its sampling setting, for the trace header. */
const char *ps_record_event_name(const ps_record *r);
/* Writes what existed before (threads' names, mappings from /proc), releases the command
 * and records into *w (replaced when the output rotates; NULL if a rotation failed) until the command exits, every target exits, the duration expires
 * or *stop. */
int ps_record_run(ps_record *r, ps_trace_writer **w, char *err, size_t errlen);
void ps_record_enable(ps_record *r, int on);
ps_stats ps_record_stats(const ps_record *r);
/* record --heap: allocations sampled, frees of sampled blocks, and messages dropped as
 * malformed (a target can write anything to the socket). */
void ps_record_heap_counts(const ps_record *r, uint64_t *allocs, uint64_t *frees,
			   uint64_t *dropped);
/* The command's wait status (for exit codes), or -1 when there was no command. */
int ps_record_child_status(const ps_record *r);
void ps_record_free(ps_record *r); /* NULL is fine; kills a command not yet started */

/* Parses a CPU list like "0-3,6". Returns the count or a negative code. */
int ps_parse_cpu_list(const char *s, int *cpus, size_t max);

#endif
