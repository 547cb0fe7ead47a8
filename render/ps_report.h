/* ps_report: the top functions of a profile by self and total value, as text.
 *
 * A function is a frame's label together with its module (the mapping's path), read from
 * the profile's stack trie. Its self value is that of the stacks it ends, its total that
 * of the stacks it is on, counted once per stack however deep it recurs. The process root
 * (PS_FRAME_PROCESS frames: comm, comm-PID) is no function; every other frame is, the
 * first frame of folded text without a process column included. */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdio.h>

#include "formats/ps_profile.h"

/* What a row is, as perf report's --sort keys: any of the three, in the order given. */
enum ps_report_key { PS_REPORT_COMM = 1, PS_REPORT_DSO, PS_REPORT_SYM };

/* Call graphs under each row, as perf report -g prints them: callee (from the function
 * out to its callers, perf's default) or caller (from the outermost frame in). */
enum ps_report_graph { PS_REPORT_GRAPH_NONE, PS_REPORT_GRAPH_CALLEE, PS_REPORT_GRAPH_CALLER };

typedef struct ps_report_opts {
	int sort_total; /* sort by total (inclusive) instead of self */
	size_t limit;   /* rows; 0 = all */
	size_t col;     /* the value column (0: the first, samples for most profiles) */
	int keep_process; /* process roots (comm-PID with --pid) are rows too */
	/* Row keys (zero-terminated); all zero: dso, sym (a module column when any row has
	 * a module). With comm, the process root names the row's command. */
	enum ps_report_key keys[4];
	int no_total;          /* --no-children: the self column only */
	double percent_limit;  /* rows below this percent of the sorted value are left out */
	enum ps_report_graph graph;
	/* 1 + a column whose self values print beside col's, under its type's name (heap
	 * profiles: the objects beside the bytes); 0: none. */
	size_t also_col;
} ps_report_opts;

/* Writes the report: a header with the column's total ("# 190 samples in 8 stacks", or
 * with its unit when it does not count, "# 5000 nanoseconds of off-cpu in 3 stacks"),
 * then one row per function, a module column before the function when any row shown has
 * a module. Returns 0, -EINVAL for a column the profile does not have, -ENOMEM or -EIO. */
int ps_report_render(ps_profile *p, const ps_report_opts *o, FILE *out);

#endif
