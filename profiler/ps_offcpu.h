/* ps_offcpu: turns a recording's context switches into blocked intervals — per thread, a
 * switch-out (with the stack it blocked in) and the next switch-in, paired in time order
 * although CPUs' rings deliver them out of order — and hands them out as OFFCPU records. */
#ifndef PS_OFFCPU_H
#define PS_OFFCPU_H

#include <stdint.h>

#include "formats/ps_trace.h"

/* What the recorder saw, in the order it drained it. */
enum ps_sw_kind {
	PS_SW_FORK,       /* a thread was created: its first switch-in ends no blocked time */
	PS_SW_OUT_SAMPLE, /* the context-switches sample: the stack it leaves the CPU with */
	PS_SW_OUT,        /* the switch-out record: exact time, preempted or not */
	PS_SW_IN,         /* the switch-in record */
	PS_SW_EXIT,       /* the thread ended: its last switch-out is not a wait */
	PS_SW_USER_STACK, /* a CPU sample's chain: the stack of switches without a sample */
	PS_SW_LOST,       /* the kernel dropped records of a ring (before time): a blocked
			   * interval open then may have missed its switch-in and a later
			   * switch-out, so its end would count running time: dropped */
};

typedef struct ps_offcpu_pairer ps_offcpu_pairer;

/* emit gets every interval (PS_REC_OFFCPU) once its switch-in is known, in time order per
 * thread; its return value (0 or a negative code) stops the pairer. start_ns: the
 * recording's start, where the blocked time of threads already waiting begins. */
int ps_offcpu_new(ps_offcpu_pairer **out, uint64_t start_ns,
		  int (*emit)(void *ctx, const ps_event *ev), void *ctx);
void ps_offcpu_free(ps_offcpu_pairer *p); /* NULL is fine */
/* Takes one switch fact; ips (nr entries, copied) only with OUT_SAMPLE and USER_STACK. */
int ps_offcpu_add(ps_offcpu_pairer *p, enum ps_sw_kind kind, uint64_t time, uint32_t pid,
		  uint32_t tid, uint32_t cpu, int preempt, const uint64_t *ips, uint32_t nr);
/* Sampled stacks (record --off-cpu-period N, N > 1): the kernel took the stack of every
 * Nth switch-out per thread and CPU, so a switch-out without its sample is one it
 * skipped, not a lost sample: its interval is counted (unsampled), not written, and the
 * sampled ones (weight N) share out their thread's exact blocked time (stands_ns).
 * 0 or 1: every stack. */
void ps_offcpu_set_period(ps_offcpu_pairer *p, uint32_t period);

/* Pairs everything older than before: every ring has been drained up to then. */
int ps_offcpu_flush(ps_offcpu_pairer *p, uint64_t before);
/* Pairs the rest and closes the intervals of threads still blocked at end_ns. */
int ps_offcpu_finish(ps_offcpu_pairer *p, uint64_t end_ns);
/* After finish: a thread of the targets that exists at end_ns. When no switch of it was
 * seen it was blocked the whole recording (the kernel reports nothing of a thread that
 * never runs): one interval from the start, without a stack. */
int ps_offcpu_still(ps_offcpu_pairer *p, uint32_t pid, uint32_t tid, uint64_t end_ns);
ps_offcpu_stats ps_offcpu_get_stats(const ps_offcpu_pairer *p);

#endif
