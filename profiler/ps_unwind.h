/* ps_unwind: DWARF unwinding of sampled user stacks (PERF_SAMPLE_REGS_USER + STACK_USER)
 * into return-address chains, at record time, so the trace keeps compact chains instead
 * of stack copies. */
#ifndef PS_UNWIND_H
#define PS_UNWIND_H

#include <stddef.h>
#include <stdint.h>

typedef struct ps_unwinder ps_unwinder;

int ps_unwind_new(ps_unwinder **out);
void ps_unwind_free(ps_unwinder *u); /* NULL is fine */

/* The perf_event_attr.sample_regs_user mask this unwinder needs (x86-64: IP, SP, BP and
 * the callee-saved registers). Registers arrive in ps_unwind_sample in mask bit order. */
uint64_t ps_unwind_regs_mask(void);
/* Where the frame, stack and instruction pointers are in those registers. */
enum { PS_UNWIND_BP = 6, PS_UNWIND_SP = 7, PS_UNWIND_IP = 8 };

/* The samples come from a file (perf.data), not from processes alive on this machine:
 * files are opened by their paths only, never through /proc/PID. */
void ps_unwind_set_offline(ps_unwinder *u);

/* What the recorder saw of a process's address space, from MMAP/FORK records, so that
 * processes that already exited can still be unwound. */
void ps_unwind_mmap(ps_unwinder *u, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *filename);
void ps_unwind_fork(ps_unwinder *u, uint32_t ppid, uint32_t pid);
void ps_unwind_exec(ps_unwinder *u, uint32_t pid);   /* the old image is gone */
void ps_unwind_forget(ps_unwinder *u, uint32_t pid); /* the process exited */

/* Unwinds one sample of process pid: regs as the kernel copied them, stack the copy of
 * stack_len bytes starting at the sampled SP. Writes the sampled IP and then the return
 * addresses, leaf first, to ips (at most max). Returns the number written (>= 1 when regs
 * hold an IP) or a negative code. */
int ps_unwind_sample(ps_unwinder *u, uint32_t pid, const uint64_t *regs, const void *stack,
		     size_t stack_len, uint64_t *ips, size_t max);
/* 1 when the last ps_unwind_sample stopped before reaching the outermost frame. */
int ps_unwind_last_truncated(const ps_unwinder *u);

#endif
