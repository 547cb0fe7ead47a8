/* ps_use: Brendan Gregg's USE checklist — for each resource (CPU, memory, each disk, each
 * NIC, pressure) its utilization, saturation and errors over an interval, a verdict from
 * the thresholds of one rule table (ps_use_rules), and for every row that is not ok the
 * next perfsample command to run and why. Reads two metric snapshots (formats/ps_metric)
 * and what the processes did between them; writes a table or JSON. */
#ifndef PS_USE_H
#define PS_USE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_metric.h"
#include "formats/ps_util.h"

enum ps_use_verdict { PS_USE_OK, PS_USE_WARN, PS_USE_BOTTLENECK };

/* What one process did over the interval (for the hints' pids). */
typedef struct ps_use_proc {
	uint32_t pid;
	char comm[64];
	double cpu_percent;	/* 100 = one CPU */
	double io_bytes;	/* read + written to storage */
	double rss_growth;	/* bytes */
	double rss_bytes;
} ps_use_proc;

typedef struct ps_use_input {
	const ps_metrics *before, *after; /* system snapshots (ps_procfs_system) */
	double seconds;			  /* between them */
	const ps_use_proc *procs;
	size_t nprocs;
} ps_use_input;

/* Which measure a rule looks at; every row kind has its own. */
enum ps_use_measure {
	M_CPU_UTIL,	  /* % of all CPUs busy (not idle, not iowait) */
	M_CPU_RUNQ,	  /* runnable tasks per CPU */
	M_CPU_PSI,	  /* % of time some task waited for a CPU */
	M_MEM_UTIL,	  /* % of memory not available */
	M_MEM_SWAPIN,	  /* pages swapped in per second */
	M_MEM_PSI,	  /* % of time some task waited for memory */
	M_MEM_OOM,	  /* OOM kills (errors) */
	M_MEM_EDAC,	  /* memory errors, corrected or not (errors) */
	M_DISK_UTIL,	  /* % of the time the device was busy */
	M_DISK_QUEUE,	  /* average I/Os in flight */
	M_DISK_AWAIT,	  /* ms per I/O */
	M_IO_PSI,	  /* % of time some task waited for I/O */
	M_NET_UTIL,	  /* % of the link speed, the busier direction */
	M_NET_DROPS,	  /* drops and FIFO overruns per second (saturation) */
	M_NET_ERRS,	  /* receive and transmit errors (errors) */
	M_NET_SQUEEZE,	  /* softnet squeezes + backlog drops per second */
	M_MEM_PSI_FULL,	  /* % of time all tasks waited for memory */
	M_IO_PSI_FULL,	  /* % of time all tasks waited for I/O */
	M_DISK_ERRS,	  /* failed I/O requests (errors) */
	M_NMEASURES
};

enum ps_use_row_kind { USE_CPU, USE_MEMORY, USE_DISK, USE_NET, USE_NKINDS };

/* One threshold: measure >= warn is warn, >= bottleneck is a bottleneck. */
typedef struct ps_use_rule {
	enum ps_use_row_kind kind;
	enum ps_use_measure measure;
	const char *what;	/* how the measure reads in a row: "run queue per CPU" */
	enum { AS_UTIL, AS_SAT, AS_ERR } role;
	double warn, bottleneck;
	const char *why;	/* why the hint helps, when this rule fires */
} ps_use_rule;
extern const ps_use_rule ps_use_rules[];
extern const size_t ps_use_nrules;

typedef struct ps_use_row {
	char resource[80];	/* cpu, memory, disk vda, net eth0 */
	double utilization;	/* percent, NAN when unknown */
	double saturation;	/* the row's worst saturation measure, NAN when none */
	char saturation_what[48]; /* what it measures */
	double errors;		/* in the interval */
	enum ps_use_verdict verdict;
	char detail[256];	/* every measure, "name value" comma-separated */
	char hint[512];		/* the next command and why; "" when ok */
} ps_use_row;

/* The rows for the interval. *rows is malloc'd (caller frees). 0 or -ENOMEM. */
int ps_use_evaluate(const ps_use_input *in, ps_use_row **rows, size_t *nrows);
const char *ps_use_verdict_name(enum ps_use_verdict v);

/* The table for a terminal, or a JSON array of objects with fields resource, utilization,
 * saturation, errors, verdict, hint (and saturation_measure, details). */
int ps_use_write_text(ps_buf *b, const ps_use_row *rows, size_t n);
int ps_use_write_json(ps_buf *b, const ps_use_row *rows, size_t n);

#endif
