/* ps_perfscript: reads the text `perf script` prints (a header line per sample, its call
 * chain leaf first, a blank line) as structured samples, and collapses it into folded stacks
 * byte for byte as FlameGraph's stackcollapse-perf.pl does. Input is bytes: any encoding,
 * NUL bytes and arbitrarily long lines are accepted; malformed lines are skipped. */
#ifndef PS_PERFSCRIPT_H
#define PS_PERFSCRIPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

typedef struct ps_ps_frame {
	uint64_t addr;	 /* the hex address column (0 if it is not hex) */
	const char *sym; /* symbol as printed, a trailing "+0x.." offset removed; "[unknown]"
			    as printed */
	const char *dso; /* the text inside the final parentheses, e.g. "/usr/lib/libc.so.6"
			    or "[kernel.kallsyms]" */
} ps_ps_frame;

typedef struct ps_ps_sample {
	const char *comm;  /* may contain spaces; at least 2 bytes, as the script reads it */
	int pid, tid;	   /* -1 when absent ("comm TID" prints no pid) */
	int cpu;	   /* the "[NNN]" column, -1 when absent */
	const char *event; /* e.g. "cpu-clock" (without the trailing ':'); "" when absent */
	uint64_t period;   /* the number before the event; 1 when absent */
	double time;	   /* seconds, -1 when absent */
	size_t lineno;	   /* 1-based line of the header */
	size_t nframes;
	const ps_ps_frame *frames; /* leaf first, as perf script prints */
} ps_ps_sample;

/* Called once per sample. Every pointer in *s (strings, frames) is owned by the reader and
 * valid only during the call: copy what you keep. A non-zero return stops the read. */
typedef int (*ps_ps_sample_fn)(void *ctx, const ps_ps_sample *s);

/* Streams the samples of perf-script text from in. A sample is a header line (as
 * stackcollapse-perf.pl recognises one) and the frame lines that follow it; it ends at a
 * blank line, at the next header, or at the end of input (a truncated last sample is
 * delivered too). Lines starting with '#', frame lines outside a sample and unrecognised
 * lines are skipped. The strings are C strings: a NUL byte in the input ends one early. Frames
 * whose symbol is "(...)" are kept (the collapse drops them). Returns 0 at the end of input, the
 * callback's non-zero value if it stopped the read, or a negative errno / PS_E* code (-EIO,
 * -ENOMEM, PS_ELIMIT for a line over 1 GiB). */
int ps_perfscript_read(FILE *in, ps_ps_sample_fn fn, void *ctx);

/* Options of stackcollapse-perf.pl. */
enum {
	PS_COLLAPSE_PID = 1 << 0,    /* --pid: root frame "comm-PID" ("comm-?" without one) */
	PS_COLLAPSE_TID = 1 << 1,    /* --tid: root frame "comm-PID/TID"; wins over PID */
	PS_COLLAPSE_KERNEL = 1 << 2, /* --kernel: "_[k]" after kernel frames */
	PS_COLLAPSE_JIT = 1 << 3,    /* --jit: "_[j]" after frames of /tmp/perf-PID.map */
	PS_COLLAPSE_ALL = PS_COLLAPSE_KERNEL | PS_COLLAPSE_JIT, /* --all */
	PS_COLLAPSE_ADDRS = 1 << 4, /* --addrs: "[dso <addr>]" for unresolved frames */
	/* Java names ("Lpkg/Class;::m") are tidied when the root frame is exactly "java", as in
	 * FlameGraph's conformance results (tests/data/corpus). FlameGraph since Nov 2023 tidies
	 * whenever the root frame starts with "java" (so also "java-PID" with --pid/--tid):
	 * this flag selects that behaviour. */
	PS_COLLAPSE_JAVA_PREFIX = 1 << 5,
};

/* Told about lines stackcollapse-perf.pl warns of: 1-based line number and a message
 * ("unrecognized line", "filtering for events of type: EVENT"), valid during the call. */
typedef void (*ps_ps_warn_fn)(void *ctx, size_t lineno, const char *msg);

typedef struct ps_collapse_opts {
	unsigned flags;		  /* PS_COLLAPSE_* */
	const char *event_filter; /* --event-filter; NULL or "": the first event seen */
	ps_ps_warn_fn warn;	  /* may be NULL */
	void *warn_ctx;
} ps_collapse_opts;

/* Adds to out (created with ps_profile_new(0)) every stack stackcollapse-perf.pl would print
 * for in, each counted as the sum of its samples' periods; ps_profile_write_folded then
 * prints exactly what the script prints. As the script does, only samples of one event are
 * kept, a sample is counted at its blank line (a truncated last sample is dropped), and a
 * header without a blank line before it continues the previous stack.
 * Returns 0 or a negative errno / PS_E* code (the profile then holds the stacks so far). */
int ps_perfscript_collapse(FILE *in, unsigned flags, ps_profile *out);
int ps_perfscript_collapse_opts(FILE *in, const ps_collapse_opts *opts, ps_profile *out);

#endif
