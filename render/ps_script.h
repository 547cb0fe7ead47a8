/* ps_script: a profile's kept samples as `perf script` prints them, in time order, for
 * the tools that read perf's text (stackcollapse-perf.pl, speedscope's perf importer,
 * gprof2dot -f perf, Firefox Profiler). Reads a profile made with PS_PROFILE_SAMPLES and
 * frames per address (so each frame has its address, function offset and mapping). */
#ifndef PS_SCRIPT_H
#define PS_SCRIPT_H

#include <stdio.h>

#include "formats/ps_profile.h"

/* perf script's -F fields perfsample prints. */
enum {
	PS_SCRIPT_COMM = 1 << 0,
	PS_SCRIPT_PID = 1 << 1,
	PS_SCRIPT_TID = 1 << 2,
	PS_SCRIPT_CPU = 1 << 3,
	PS_SCRIPT_TIME = 1 << 4,
	PS_SCRIPT_PERIOD = 1 << 5,
	PS_SCRIPT_EVENT = 1 << 6,
	PS_SCRIPT_IP = 1 << 7,
	PS_SCRIPT_SYM = 1 << 8,
	PS_SCRIPT_SYMOFF = 1 << 9,
	PS_SCRIPT_DSO = 1 << 10,
	/* What perfsample prints without -F: perf's default fields, pid and cpu included. */
	PS_SCRIPT_DEFAULT = (1 << 11) - 1,
};

typedef struct ps_script_opts {
	const char *event; /* every sample's event name */
	int period_col;    /* the column holding each sample's period; -1: none (prints 1) */
	int inline_frames; /* inlined functions as frames of their own, "name (inlined)" */
	unsigned fields;   /* PS_SCRIPT_* bits */
} ps_script_opts;

/* Parses a -F list ("comm,tid,time,ip,sym"); a list starting with '+' or '-' changes the
 * default instead, each item added or taken by its sign ("-dso,-period"), as perf does. 0, or PS_EFORMAT naming nothing (the caller says which). */
int ps_script_fields(const char *spec, unsigned *fields, const char **bad, size_t *badlen);

/* Writes every kept sample in time order; the process root frame (PS_FRAME_PROCESS) names
 * the thread. Returns 0, -ENOMEM or -EIO. */
int ps_script_write(ps_profile *p, const ps_script_opts *o, FILE *out);

#endif
