/* ps_procfs: the system's and processes' statistics from /proc and /sys text, as
 * ps_metric series (node_exporter's names). Every parser takes a buffer and treats it as
 * hostile: lines it does not understand are skipped, numbers are bounded, nothing is read
 * past len. The readers take a root ("" for this machine, a directory holding proc/ and
 * sys/ for tests) so odd contents can be tried without a kernel that writes them.
 * Here rather than in profiler/ because a reader of text is a format, and use, stat and
 * the agent all read it. */
#ifndef PS_PROCFS_H
#define PS_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_metric.h"

/* Parsers of one file's contents each; they add to m. 0 or -ENOMEM. */
int ps_procfs_parse_stat(const char *buf, size_t len, ps_metrics *m);	      /* /proc/stat */
int ps_procfs_parse_loadavg(const char *buf, size_t len, ps_metrics *m);      /* /proc/loadavg */
/* /proc/pressure/RESOURCE, resource "cpu", "memory" or "io". */
int ps_procfs_parse_pressure(const char *buf, size_t len, const char *resource, ps_metrics *m);
int ps_procfs_parse_meminfo(const char *buf, size_t len, ps_metrics *m);      /* /proc/meminfo */
int ps_procfs_parse_vmstat(const char *buf, size_t len, ps_metrics *m);	      /* /proc/vmstat */
/* /proc/diskstats; keep(name, ctx) says which devices count (NULL: all but loop and ram). */
int ps_procfs_parse_diskstats(const char *buf, size_t len, ps_metrics *m,
			      int (*keep)(const char *dev, void *ctx), void *ctx);
int ps_procfs_parse_netdev(const char *buf, size_t len, ps_metrics *m);       /* /proc/net/dev */
int ps_procfs_parse_softnet(const char *buf, size_t len, ps_metrics *m); /* /proc/net/softnet_stat */

/* Everything above (and EDAC counters, NIC speeds), read under root. Files that are absent
 * or unreadable are left out. 0 or -ENOMEM. */
int ps_procfs_system(const char *root, ps_metrics *m);

/* One process (all its threads), from /proc/PID/{stat,status,io}. */
typedef struct ps_procstat {
	uint32_t pid, ppid;
	char comm[64];	   /* as the kernel has it: any bytes but NUL; escape when printing */
	double cpu_seconds; /* utime + stime */
	uint64_t rss_bytes, vsize_bytes, threads;
	uint64_t voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
	uint64_t minor_faults, major_faults;
	uint64_t read_bytes, write_bytes; /* 0 when /proc/PID/io is not readable */
	uint64_t start_ticks;		  /* tells a reused pid from the process before */
	uint32_t flags;			  /* PF_* of the stat line (PS_PF_KTHREAD: a kernel thread) */
} ps_procstat;
#define PS_PF_KTHREAD 0x00200000u /* the kernel's PF_KTHREAD (include/linux/sched.h) */
/* PS_EFORMAT when stat is not a process's stat line. */
int ps_procfs_parse_pid_stat(const char *buf, size_t len, ps_procstat *p);
void ps_procfs_parse_pid_status(const char *buf, size_t len, ps_procstat *p);
void ps_procfs_parse_pid_io(const char *buf, size_t len, ps_procstat *p);
/* Reads /proc/PID under root: 0, -ENOENT when the process is gone, PS_EFORMAT. */
int ps_procfs_process(const char *root, uint32_t pid, ps_procstat *p);
/* The same in two steps, for a caller that decides by the stat line whether the rest
 * (status, io) is worth reading. */
int ps_procfs_process_stat(const char *root, uint32_t pid, ps_procstat *p);
int ps_procfs_process_rest(const char *root, ps_procstat *p);
/* The process's series (pid and comm are the caller's to label). */
int ps_procfs_process_metrics(const ps_procstat *p, ps_metrics *m);

/* The pids of every process under root/proc, ascending, in *out (malloc'd; the caller
 * frees). Returns the count or a negative code. */
long ps_procfs_pids(const char *root, uint32_t **out);

/* Reads root/path into buf (at most cap-1 bytes, NUL-terminated). Returns the length or a
 * negative errno. */
long ps_procfs_read(const char *root, const char *path, char *buf, size_t cap);

#endif
