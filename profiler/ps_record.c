#include "profiler/ps_record.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_kevent.h"
#include "formats/ps_procfs.h"
#include "formats/ps_util.h"
#include "profiler/ps_heapmsg.h"
#include "profiler/ps_offcpu.h"
#include "profiler/ps_unwind.h"

#define RING_PAGES 128 /* data pages per CPU ring: 512 KiB, a few seconds at 99 Hz */
#define RING_MIN_PAGES 4 /* the smallest ring the locked-memory fallback goes down to */
#define MAX_CHAIN 512
/* --off-cpu -g: user stack bytes copied with each switch, enough for the CFI of the frames
 * a frame-pointer walk loses (libc's syscall wrappers have none) up to the first frame
 * with a frame pointer. */
#define OFFCPU_STACK 512
/* Records of every ring up to a drain's start are in hand this long after it. */
#define OFFCPU_SLACK_NS 10000000u

struct ring {
	int fd;
	int cpu;
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	uint64_t size; /* data area, a power of two */
	size_t map_len; /* the mapping: a metadata page and the data area */
};

/* --off-cpu -g: the CFI frames of a switch stack, remembered. A thread blocks in the
 * same few places again and again, and libdw costs microseconds per switch. The frames
 * up to the first one the frame-pointer walk also reaches are a function of the IP and
 * the stack bytes from SP to the innermost frame pointer's frame (the wrappers' frames,
 * the saved BP and return address there); equal IP, BP - SP and bytes, equal frames. */
#define MEMO_SLOTS 4096
#define MEMO_FRAMES 16
struct memo {
	uint32_t pid, n; /* n: 0 = empty */
	uint64_t ip, span, hash;
	uint64_t ips[MEMO_FRAMES];
};

struct ps_record {
	ps_record_opts o;
	ps_trace_writer *w;
	struct perf_event_attr attr;
	ps_kattr kattr; /* attr's record layout, for the decoder */
	const char *event_name;
	char notice[512];
	size_t ring_pages; /* data pages of the next ring mapped (RING_PAGES, or fewer) */
	char ring_err[400]; /* why no ring could be mapped, with the limits to raise */
	int *fds; /* every event fd, for enable/disable and close */
	size_t nfds, fdcap;
	struct ring *rings;
	size_t nrings;
	int *cpus;
	size_t ncpus;
	pid_t child;
	int child_status;
	int go_fd;   /* write end: releases the held command */
	int exec_fd; /* read end: errno from a failed exec, EOF on success */
	pid_t *targets;
	size_t ntargets;
	ps_stats st;
	unsigned char *scratch; /* a record that wraps around the ring end */
	uint64_t chain[MAX_CHAIN + 2];
	ps_unwinder *unwinder;
	int enabled;
	/* Events that are disabled emit no COMM/MMAP records: what exec'd or mapped meanwhile
	 * is synthesized from /proc when sampling is enabled (-D, --control). */
	int resync;
	uint64_t synth_time; /* time of synthesized records: 0 at attach, else the enable */
	/* --off-cpu: the context-switches event (one per ring, redirected into it), the ids
	 * that tell its samples from the sampling event's, and the pairer. */
	struct perf_event_attr sw_attr;
	ps_kattr sw_kattr;
	uint64_t *sw_ids;
	size_t nsw_ids, sw_idcap;
	ps_offcpu_pairer *offcpu;
	uint64_t dchain[MAX_CHAIN];
	struct memo *memo; /* MEMO_SLOTS, allocated on first use */
	uint64_t memo_hits, memo_misses;
	ps_event *log; /* state records, for rotation */
	size_t nlog, logcap;
	ps_arena *log_strings;
	uint64_t heap_allocs, heap_frees, heap_bad; /* heap messages taken, dropped as malformed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group,
			       unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

int ps_parse_cpu_list(const char *s, int *cpus, size_t max)
{
	size_t n = 0;
	while (*s) {
		char *end;
		errno = 0;
		long a = strtol(s, &end, 10);
		if (end == s || a < 0 || a > 4095 || errno)
			return -EINVAL;
		long b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b > 4095)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b; c++) {
			if (n == max)
				return PS_ELIMIT;
			cpus[n++] = (int)c;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return (int)n;
}

/* Online CPUs from /sys, e.g. "0-1". */
static int online_cpus(int *cpus, size_t max)
{
	char buf[256] = "";
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0])
		return ps_parse_cpu_list(buf, cpus, max);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	for (long i = 0; i < n && (size_t)i < max; i++)
		cpus[i] = (int)i;
	return n > 0 ? (int)n : -ENOENT;
}

static int add_fd(ps_record *r, int fd)
{
	if (PS_GROW(r->fds, r->fdcap, r->nfds + 1))
		return -ENOMEM;
	r->fds[r->nfds++] = fd;
	return 0;
}

static struct ring *ring_for_cpu(ps_record *r, int cpu)
{
	for (size_t i = 0; i < r->nrings; i++)
		if (r->rings[i].cpu == cpu)
			return &r->rings[i];
	return NULL;
}

/* The locked-memory limits a ring mapping counts against, for messages. */
static void mlock_limits(char *buf, size_t len)
{
	long kb = -1;
	FILE *f = fopen("/proc/sys/kernel/perf_event_mlock_kb", "re");
	if (f) {
		if (fscanf(f, "%ld", &kb) != 1)
			kb = -1;
		fclose(f);
	}
	struct rlimit rl;
	char lim[32] = "unlimited";
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu KB", (unsigned long long)rl.rlim_cur / 1024);
	snprintf(buf, len,
		 "kernel.perf_event_mlock_kb is %ld KB per CPU and 'ulimit -l' is %s; raise "
		 "either ('sysctl kernel.perf_event_mlock_kb=N', or memlock in limits.conf)",
		 kb, lim);
}

/* Adds a remark to the notice the command prints, one line each. */
static void add_notice(ps_record *r, const char *text)
{
	size_t n = strlen(r->notice);
	snprintf(r->notice + n, sizeof(r->notice) - n, "%s%s", n ? "\n" : "", text);
}

/* Maps a ring for fd, or redirects fd into the ring its CPU already has. Without
 * CAP_IPC_LOCK a ring counts against kernel.perf_event_mlock_kb and RLIMIT_MEMLOCK, and
 * the kernel refuses the mapping with EPERM past them: then smaller rings are tried, as
 * perf does, halving down to RING_MIN_PAGES (more wake-ups, more risk of lost samples,
 * but a recording), and the command is told which limit to raise. */
static int attach_ring(ps_record *r, int fd, int cpu)
{
	struct ring *ring = ring_for_cpu(r, cpu);
	if (ring) {
		if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring->fd) < 0)
			return -errno;
		return 0;
	}
	long page = sysconf(_SC_PAGESIZE);
	if (!r->ring_pages)
		/* A record per switch-in and out and a sample (with a stack copy) per switch-out:
		 * tens of thousands a second on a busy server; a ring that overflows loses
		 * intervals. */
		r->ring_pages = r->o.off_cpu ? RING_PAGES * 4 : RING_PAGES;
	size_t len;
	void *m;
	for (;;) {
		len = (size_t)page * (r->ring_pages + 1);
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED)
			break;
		if (errno != EPERM)
			return -errno;
		char limits[256];
		mlock_limits(limits, sizeof(limits));
		if (r->ring_pages <= RING_MIN_PAGES) {
			snprintf(r->ring_err, sizeof(r->ring_err),
				 "cannot map a %ld KB ring buffer: locked-memory limit reached (%s)",
				 page * (long)(r->ring_pages + 1) / 1024, limits);
			return PS_ELIMIT;
		}
		r->ring_pages /= 2; /* ps_record_open says so once all rings are mapped */
	}
	struct ring *rings = realloc(r->rings, (r->nrings + 1) * sizeof(*rings));
	if (!rings) {
		munmap(m, len);
		return -ENOMEM;
	}
	r->rings = rings;
	r->rings[r->nrings++] = (struct ring){fd, cpu, m, (unsigned char *)m + page,
					      (uint64_t)page * r->ring_pages, len};
	return 0;
}

static int setup_attr(ps_record *r, const char *event)
{
	struct perf_event_attr *a = &r->attr;
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	if (!event || !strcmp(event, "cpu-clock")) {
		a->type = PERF_TYPE_SOFTWARE;
		a->config = PERF_COUNT_SW_CPU_CLOCK;
		r->event_name = "cpu-clock";
	} else if (!strcmp(event, "task-clock")) {
		a->type = PERF_TYPE_SOFTWARE;
		a->config = PERF_COUNT_SW_TASK_CLOCK;
		r->event_name = "task-clock";
	} else if (!strcmp(event, "cycles") || !strcmp(event, "cpu-cycles")) {
		a->type = PERF_TYPE_HARDWARE;
		a->config = PERF_COUNT_HW_CPU_CYCLES;
		r->event_name = "cycles";
	} else if (!strcmp(event, "dummy")) {
		/* No samples: mappings, names and tasks only (record --heap without CPU
		 * sampling names the heap stacks with them). */
		a->type = PERF_TYPE_SOFTWARE;
		a->config = PERF_COUNT_SW_DUMMY;
		r->event_name = "dummy";
	} else if (!strcmp(event, "instructions")) {
		a->type = PERF_TYPE_HARDWARE;
		a->config = PERF_COUNT_HW_INSTRUCTIONS;
		r->event_name = "instructions";
	} else {
		return -EINVAL;
	}
	if (r->o.period) {
		a->sample_period = r->o.period;
	} else {
		a->freq = 1;
		a->sample_freq = r->o.freq ? r->o.freq : 99;
	}
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			 PERF_SAMPLE_PERIOD;
	if (r->o.callgraph != PS_CG_NONE)
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
	if (r->o.callgraph == PS_CG_DWARF) {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = ps_unwind_regs_mask();
		a->sample_stack_user = r->o.stack_size ? r->o.stack_size : 8192;
		/* The kernel's frame-pointer walk of user space is useless without frame
		 * pointers and costs bytes: the DWARF unwinder makes the user part. */
		a->exclude_callchain_user = 1;
	}
	a->disabled = 1;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->build_id = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->exclude_kernel = r->o.no_kernel ? 1 : 0;
	a->exclude_callchain_kernel = r->o.no_kernel ? 1 : 0;
	a->exclude_hv = 1;
	/* Wake the reader when a quarter of the ring is full (half of it with DWARF stack
	 * copies, about 8 KiB a sample: a quarter of a quarter woke it every 4 samples, and
	 * each wake-up is interrupt work in the profiled process); it also polls every
	 * 100 ms, so at 999 Hz half a ring is still drained well before it fills. */
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(sysconf(_SC_PAGESIZE) * RING_PAGES / 4);
	if (r->o.callgraph == PS_CG_DWARF)
		a->wakeup_watermark = (uint32_t)(sysconf(_SC_PAGESIZE) * RING_PAGES / 2);
	return 0;
}

/* The context-switches software event with period 1: a sample with the stack at every
 * switch-out (kernel frames down to schedule(), and the user frames, from a small stack
 * copy when the user part is unwound by CFI), and with context_switch the kernel's
 * switch-in/switch-out records (exact times, preemption flagged). It shares the sampling
 * event's rings; PERF_SAMPLE_IDENTIFIER on both tells their samples apart. */
static void setup_switch_attr(ps_record *r)
{
	struct perf_event_attr *a = &r->sw_attr;
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
	/* A stack per switch-out costs the switching thread about 10 µs in the kernel (call
	 * chain, stack copy) and the recorder about 5 µs more: several times a pipe round
	 * trip. --off-cpu-period N has the kernel take every Nth (per thread and CPU); the
	 * switch records still come for every switch, so every interval's time is exact,
	 * and the pairer shares each thread's blocked time out among its sampled stacks.
	 * No PERF_SAMPLE_PERIOD: with it and a fixed period, a software event samples every
	 * event. (The kernel's frequency mode is no way to choose N: on this event it swung
	 * from 1 to thousands and back within a second, sampling every other switch of a
	 * thread that switched 40 times a second.) */
	a->sample_period = r->o.offcpu_period ? r->o.offcpu_period : 1;
	a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
			 PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_CALLCHAIN;
	if (r->o.callgraph != PS_CG_NONE) {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = ps_unwind_regs_mask();
		a->sample_stack_user = r->o.callgraph == PS_CG_DWARF && r->o.stack_size
					       ? r->o.stack_size
				       : r->o.callgraph == PS_CG_DWARF ? 8192
								       : OFFCPU_STACK;
		a->exclude_callchain_user = r->o.callgraph == PS_CG_DWARF;
	}
	a->context_switch = 1;
	a->disabled = 1;
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->exclude_hv = 1;
	a->watermark = 1;
	a->wakeup_watermark = r->attr.wakeup_watermark;
	r->attr.sample_type |= PERF_SAMPLE_IDENTIFIER;
}

/* Opens the switch event of (pid, cpu) into that CPU's ring and notes its id. */
static int open_switch_event(ps_record *r, pid_t pid, int cpu, int inherit, int enable_on_exec)
{
	struct perf_event_attr a = r->sw_attr;
	a.inherit = inherit ? 1 : 0;
	a.enable_on_exec = enable_on_exec ? 1 : 0;
	/* As the sampling event fell back (perf_event_paranoid 2): user space only. Then the
	 * kernel drops every context-switches sample (they happen in the kernel) and the
	 * intervals take the threads' last user stacks, flagged approximate. */
	a.exclude_kernel = a.exclude_callchain_kernel = r->attr.exclude_kernel;
	int fd = sys_perf_event_open(&a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = add_fd(r, fd);
	if (err) {
		close(fd);
		return err;
	}
	uint64_t id;
	struct ring *ring = ring_for_cpu(r, cpu);
	if (!ring || ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring->fd) < 0 ||
	    ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
		return ring ? -errno : -EINVAL;
	if (PS_GROW(r->sw_ids, r->sw_idcap, r->nsw_ids + 1))
		return -ENOMEM;
	r->sw_ids[r->nsw_ids++] = id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* sw_ids is sorted once every event is open. */
static int is_switch_id(const ps_record *r, uint64_t id)
{
	return r->nsw_ids && bsearch(&id, r->sw_ids, r->nsw_ids, sizeof(id), cmp_u64);
}

static const char *paranoid_hint(void)
{
	static char buf[160];
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int level = 2;
	if (f) {
		if (fscanf(f, "%d", &level) != 1)
			level = 2;
		fclose(f);
	}
	snprintf(buf, sizeof(buf),
		 "kernel.perf_event_paranoid is %d; run as root, grant CAP_PERFMON, or "
		 "'sysctl kernel.perf_event_paranoid=1'",
		 level);
	return buf;
}

/* Opens one event; retries without features an older kernel lacks, and falls back from a
 * hardware event to cpu-clock when there is no PMU (as perf does). */
static int open_event(ps_record *r, pid_t pid, int cpu, int inherit, int enable_on_exec)
{
	struct perf_event_attr a = r->attr;
	a.inherit = inherit ? 1 : 0;
	a.enable_on_exec = enable_on_exec ? 1 : 0;
	for (;;) {
		int fd = sys_perf_event_open(&a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd >= 0) {
			r->attr.build_id = a.build_id;
			return fd;
		}
		int e = errno;
		if (e == EINVAL && a.build_id) {
			a.build_id = 0;
			continue;
		}
		/* perf_event_paranoid 2 lets users sample their own code but not the kernel:
		 * do what is allowed, as perf does, and say so. */
		if ((e == EACCES || e == EPERM) && !a.exclude_kernel && pid != -1) {
			r->attr.exclude_kernel = r->attr.exclude_callchain_kernel = 1;
			a.exclude_kernel = a.exclude_callchain_kernel = 1;
			snprintf(r->notice, sizeof(r->notice),
				 "kernel samples not permitted (%s); recording user space only",
				 paranoid_hint());
			continue;
		}
		if ((e == ENOENT || e == EOPNOTSUPP || e == ENODEV) &&
		    r->attr.type == PERF_TYPE_HARDWARE) {
			snprintf(r->notice, sizeof(r->notice),
				 "no hardware PMU for '%s' here; sampling cpu-clock instead",
				 r->event_name);
			const char *ev = "cpu-clock";
			int keep_build_id = a.build_id;
			setup_attr(r, ev);
			r->attr.build_id = keep_build_id;
			a = r->attr;
			a.inherit = inherit ? 1 : 0;
			a.enable_on_exec = enable_on_exec ? 1 : 0;
			continue;
		}
		return -e;
	}
}

static int open_on_cpus(ps_record *r, pid_t pid, int inherit, int enable_on_exec)
{
	for (size_t i = 0; i < r->ncpus; i++) {
		int fd = open_event(r, pid, r->cpus[i], inherit, enable_on_exec);
		if (fd < 0)
			return fd;
		int err = add_fd(r, fd);
		if (!err)
			err = attach_ring(r, fd, r->cpus[i]);
		if (err) {
			if (r->fds[r->nfds - 1] != fd)
				close(fd);
			return err;
		}
		if (r->o.off_cpu) {
			err = open_switch_event(r, pid, r->cpus[i], inherit, enable_on_exec);
			if (err)
				return err;
		}
	}
	return 0;
}

/* ---- state records: kept for replay into each new file of a rotation ---- */

/* Writes a record that later samples need (a mapping, a name, a fork) and, when the
 * output rotates, keeps a copy so every file of the rotation is self-contained. */
static int write_state(ps_record *r, const ps_event *ev)
{
	if (r->o.on_rotate) {
		if (PS_GROW(r->log, r->logcap, r->nlog + 1))
			return -ENOMEM;
		ps_event copy = *ev;
		if (ev->type == PS_REC_MMAP)
			copy.mmap.filename = ps_arena_strndup(r->log_strings, ev->mmap.filename,
							      strlen(ev->mmap.filename));
		else if (ev->type == PS_REC_COMM)
			copy.comm.comm = ps_arena_strndup(r->log_strings, ev->comm.comm,
							  strlen(ev->comm.comm));
		if ((ev->type == PS_REC_MMAP && !copy.mmap.filename) ||
		    (ev->type == PS_REC_COMM && !copy.comm.comm))
			return -ENOMEM;
		r->log[r->nlog++] = copy;
	}
	return ps_trace_write(r->w, ev);
}

static int replay_state(ps_record *r)
{
	for (size_t i = 0; i < r->nlog; i++) {
		int err = ps_trace_write(r->w, &r->log[i]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- synthesizing what existed before we attached ---- */

static int write_comm(ps_record *r, pid_t pid, pid_t tid, const char *comm)
{
	ps_event ev = {.type = PS_REC_COMM};
	ev.comm = (ps_comm){.time = r->synth_time, .pid = (uint32_t)pid, .tid = (uint32_t)tid,
			    .comm = comm};
	return write_state(r, &ev);
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return (int)n;
}

/* Writes COMM records for every thread and MMAP records for the executable mappings of
 * /proc/PID, so samples taken before any event of ours still resolve. */
static int synthesize_process(ps_record *r, pid_t pid)
{
	char path[64], comm[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	struct dirent *de;
	int err = 0;
	while (!err && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t tid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		if (read_small(path, comm, sizeof(comm)) < 0)
			continue; /* the thread ended meanwhile */
		err = write_comm(r, pid, tid, comm);
	}
	closedir(d);
	if (err)
		return err;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* exited, or a kernel thread */
	char *line = NULL;
	size_t cap = 0;
	while (!err && getline(&line, &cap, f) > 0) {
		unsigned long long start, end, pgoff, ino;
		unsigned maj, min;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &pgoff,
			   &maj, &min, &ino, &name_at) < 7)
			continue;
		if (perms[2] != 'x')
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (!*name)
			name = "//anon";
		if (r->unwinder)
			ps_unwind_mmap(r->unwinder, (uint32_t)pid, start, end - start, pgoff, name);
		ps_event ev = {.type = PS_REC_MMAP};
		ev.mmap = (ps_mmap){.time = r->synth_time, .pid = (uint32_t)pid,
				    .tid = (uint32_t)pid, .start = start, .len = end - start, .pgoff = pgoff, .ino = ino, .maj = maj,
				    .min = min, .prot = PROT_READ | PROT_EXEC, .filename = name};
		err = write_state(r, &ev);
	}
	free(line);
	fclose(f);
	return err;
}

static int synthesize_all(ps_record *r)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	int err = 0;
	while (!err && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0])) {
			err = synthesize_process(r, atoi(de->d_name));
			if (err == -ENOENT || err == -EACCES || err == -ESRCH)
				err = 0;
		}
	closedir(d);
	return err;
}

/* ---- attaching ---- */

static int have_tid(const pid_t *tids, size_t n, pid_t t)
{
	for (size_t i = 0; i < n; i++)
		if (tids[i] == t)
			return 1;
	return 0;
}

/* Opens inherited per-thread events on every thread of pid. Threads that start while we
 * attach are caught by scanning again until a scan finds none new. */
static int attach_process(ps_record *r, pid_t pid, char *err, size_t errlen)
{
	pid_t *done = NULL;
	size_t ndone = 0, cap = 0;
	int rc = 0;
	for (int pass = 0; pass < 50; pass++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		DIR *d = opendir(path);
		if (!d) {
			rc = -errno;
			if (rc == -ENOENT)
				rc = -ESRCH;
			snprintf(err, errlen, "cannot attach to pid %d: %s", pid,
				 rc == -ESRCH ? "no such process" : ps_strerror(rc));
			break;
		}
		int added = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid_t tid = atoi(de->d_name);
			if (have_tid(done, ndone, tid))
				continue;
			int e = open_on_cpus(r, tid, 1, 0);
			if (e == -ESRCH)
				continue; /* the thread ended meanwhile */
			if (e) {
				rc = e;
				if (e == -EACCES || e == -EPERM)
					snprintf(err, errlen, "cannot attach to pid %d: %s (%s)",
						 pid, ps_strerror(e), paranoid_hint());
				else
					snprintf(err, errlen, "cannot attach to pid %d: %s", pid,
						 ps_strerror(e));
				break;
			}
			if (PS_GROW(done, cap, ndone + 1)) {
				rc = -ENOMEM;
				break;
			}
			done[ndone++] = tid;
			added = 1;
		}
		closedir(d);
		if (rc || !added)
			break;
	}
	if (!rc && ndone == 0) {
		rc = -ESRCH;
		snprintf(err, errlen, "cannot attach to pid %d: no such process", pid);
	}
	free(done);
	return rc;
}

/* Forks the command, held before exec until ps_record_run releases it; the events are
 * opened on it with enable_on_exec so its startup is sampled too. */
static int start_command(ps_record *r, char *err, size_t errlen)
{
	int go[2], ex[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ex, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(go[0]);
		close(go[1]);
		close(ex[0]);
		close(ex[1]);
		snprintf(err, errlen, "cannot start '%s': %s", r->o.argv[0], ps_strerror(e));
		return e;
	}
	if (pid == 0) {
		char c;
		close(go[1]);
		close(ex[0]);
		/* Wait for the parent: a byte means go, EOF means it gave up. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		/* The recorder's signal choices are not the command's (an ignored SIGPIPE would
		 * survive exec). */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGUSR2, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(r->o.argv[0], r->o.argv);
		int e = errno;
		if (write(ex[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	r->child = pid;
	r->go_fd = go[1];
	r->exec_fd = ex[0];
	return 0;
}

static int release_command(ps_record *r, char *err, size_t errlen)
{
	if (write(r->go_fd, "g", 1) != 1)
		return -errno;
	close(r->go_fd);
	r->go_fd = -1;
	int e = 0;
	ssize_t n;
	do
		n = read(r->exec_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(r->exec_fd);
	r->exec_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		waitpid(r->child, &r->child_status, 0);
		r->child = 0;
		snprintf(err, errlen, "cannot execute '%s': %s", r->o.argv[0], strerror(e));
		return -e;
	}
	return 0;
}

int ps_record_open(ps_record **out, const ps_record_opts *o, char *err, size_t errlen)
{
	*out = NULL;
	err[0] = '\0';
	ps_record *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->go_fd = r->exec_fd = -1;
	r->child_status = -1;
	int rc = setup_attr(r, o->event);
	if (rc) {
		snprintf(err, errlen, "unknown event '%s' (known: cpu-clock, task-clock, cycles, "
				      "instructions)", o->event);
		goto fail;
	}
	r->cpus = calloc(4096, sizeof(int));
	if (!r->cpus) {
		rc = -ENOMEM;
		goto fail;
	}
	if (o->ncpus) {
		memcpy(r->cpus, o->cpus, o->ncpus * sizeof(int));
		rc = (int)o->ncpus;
	} else {
		rc = online_cpus(r->cpus, 4096);
	}
	if (rc <= 0) {
		snprintf(err, errlen, "cannot list the online CPUs");
		rc = rc ? rc : -ENOENT;
		goto fail;
	}
	r->ncpus = (size_t)rc;
	rc = 0;
	if (o->off_cpu)
		setup_switch_attr(r);
	/* --off-cpu -g unwinds the user frames of blocked stacks by CFI too. */
	if (o->callgraph == PS_CG_DWARF || (o->off_cpu && o->callgraph == PS_CG_FP)) {
		rc = ps_unwind_new(&r->unwinder);
		if (rc) {
			snprintf(err, errlen, "cannot set up the DWARF unwinder: %s", ps_strerror(rc));
			goto fail;
		}
	}

	/* Many threads mean many fds (one per thread and CPU): lift the soft limit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (o->argv && !o->argv_bounds) {
		rc = start_command(r, err, errlen);
		if (rc)
			goto fail;
		rc = open_on_cpus(r, r->child, 1, !o->start_disabled && !o->delay_ms);
		if (rc) {
			if (rc == -EACCES || rc == -EPERM)
				snprintf(err, errlen, "perf_event_open refused: %s (%s)",
					 ps_strerror(rc), paranoid_hint());
			else
				snprintf(err, errlen, "perf_event_open failed for '%s': %s",
					 r->o.argv[0], ps_strerror(rc));
			goto fail;
		}
		r->targets = malloc(sizeof(pid_t));
		r->targets[0] = r->child;
		r->ntargets = 1;
	} else if (o->all_cpus) {
		rc = open_on_cpus(r, -1, 0, 0);
		if (rc) {
			if (rc == -EACCES || rc == -EPERM)
				snprintf(err, errlen, "cannot sample all CPUs: %s (%s)",
					 ps_strerror(rc), paranoid_hint());
			else
				snprintf(err, errlen, "cannot sample all CPUs: %s", ps_strerror(rc));
			goto fail;
		}
	} else if (o->npids || o->ntids) {
		r->targets = calloc(o->npids + o->ntids, sizeof(pid_t));
		if (!r->targets) {
			rc = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < o->npids; i++) {
			if (kill(o->pids[i], 0) < 0 && errno == ESRCH) {
				rc = -ESRCH;
				snprintf(err, errlen, "cannot attach to pid %d: no such process",
					 o->pids[i]);
				goto fail;
			}
			rc = attach_process(r, o->pids[i], err, errlen);
			if (rc)
				goto fail;
			r->targets[r->ntargets++] = o->pids[i];
		}
		for (size_t i = 0; i < o->ntids; i++) {
			rc = open_on_cpus(r, o->tids[i], 0, 0);
			if (rc) {
				snprintf(err, errlen, "cannot attach to tid %d: %s", o->tids[i],
					 rc == -ESRCH ? "no such thread" : ps_strerror(rc));
				goto fail;
			}
			r->targets[r->ntargets++] = o->tids[i];
		}
	} else {
		rc = -EINVAL;
		snprintf(err, errlen, "nothing to record: give a command, -p PID, -t TID or -a");
		goto fail;
	}
	if (r->ring_pages && r->ring_pages < RING_PAGES) {
		char limits[256], text[400];
		mlock_limits(limits, sizeof(limits));
		long page = sysconf(_SC_PAGESIZE);
		snprintf(text, sizeof(text),
			 "ring buffers are %ld KB per CPU instead of %ld KB, as the locked-memory "
			 "limit allows (%s)",
			 page * (long)r->ring_pages / 1024, page * RING_PAGES / 1024, limits);
		add_notice(r, text);
	}
	/* A command that only bounds the recording: started (held) once the events exist. */
	if (o->argv && o->argv_bounds && (rc = start_command(r, err, errlen)))
		goto fail;
	if (r->nsw_ids)
		qsort(r->sw_ids, r->nsw_ids, sizeof(*r->sw_ids), cmp_u64);
	if (o->off_cpu && r->attr.exclude_kernel)
		add_notice(r, "--off-cpu without kernel access: the kernel drops every switch "
			      "sample of a user-only recording, so blocked intervals get exact times "
			      "but the thread's last sampled user stack (approximate), and no kernel "
			      "frames");
	r->scratch = malloc(65536 * 2);
	r->log_strings = ps_arena_new();
	if (!r->scratch || !r->log_strings) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r->ring_err[0]) /* not a permission problem: the callers' hints would be wrong */
		snprintf(err, errlen, "%s", r->ring_err);
	if (!err[0])
		snprintf(err, errlen, "cannot start recording: %s", ps_strerror(rc));
	ps_record_free(r);
	return rc;
}

const char *ps_record_notice(const ps_record *r) { return r->notice[0] ? r->notice : NULL; }
const char *ps_record_event_name(const ps_record *r) { return r->event_name; }
ps_stats ps_record_stats(const ps_record *r) { return r->st; }
int ps_record_child_status(const ps_record *r) { return r->child_status; }
void ps_record_heap_counts(const ps_record *r, uint64_t *allocs, uint64_t *frees,
			   uint64_t *dropped)
{
	*allocs = r->heap_allocs;
	*frees = r->heap_frees;
	*dropped = r->heap_bad;
}

void ps_record_enable(ps_record *r, int on)
{
	if (on && !r->enabled && (r->o.start_disabled || r->o.delay_ms)) {
		r->resync = 1;
		r->synth_time = now_ns(); /* before the events run: every later sample sees it */
	}
	for (size_t i = 0; i < r->nfds; i++)
		ioctl(r->fds[i], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
	r->enabled = on;
}

/* ---- draining the rings ---- */

/* The frames a CFI unwind of a short stack copy found (d, leaf first) joined to the
 * kernel's frame-pointer walk of the user stack (f): the CFI frames up to the first one
 * the walk also reached, then the walk from there. A walk from a function without a
 * frame pointer (a libc syscall wrapper) skips its caller; the copy rarely reaches the
 * outermost frame. Writes to out (max entries); returns the count and in *prefix how
 * many of d it took when it joined the walk (0: it did not). */
static uint32_t splice_user(const uint64_t *d, uint32_t dn, int d_whole, const uint64_t *f,
			    uint32_t fn, uint64_t *out, uint32_t max, uint32_t *prefix)
{
	uint32_t n = 0;
	*prefix = 0;
	for (uint32_t i = 1; i < dn; i++)
		for (uint32_t k = 1; k < fn; k++)
			if (f[k] == d[i]) {
				for (uint32_t j = 0; j <= i && n < max; j++)
					out[n++] = d[j];
				for (uint32_t j = k + 1; j < fn && n < max; j++)
					out[n++] = f[j];
				*prefix = i + 1;
				return n;
			}
	for (uint32_t j = 0; j < dn && n < max; j++)
		out[n++] = d[j];
	/* The copy ended before the first frame the walk found: what lies between is lost,
	 * the rest is the walk's. */
	for (uint32_t j = 1; !d_whole && j < fn && n < max; j++)
		out[n++] = f[j];
	return n;
}

/* The memo's slot for a switch stack, and whether it holds it. */
static struct memo *memo_slot(ps_record *r, uint32_t pid, const ps_ksample *ks, int *hit)
{
	*hit = 0;
	if (!r->memo && !(r->memo = calloc(MEMO_SLOTS, sizeof(*r->memo))))
		return NULL;
	uint64_t sp = ks->regs[PS_UNWIND_SP], bp = ks->regs[PS_UNWIND_BP];
	uint64_t span = bp - sp + 16; /* through the saved BP and the return address */
	if (bp <= sp || span > ks->dyn_size)
		return NULL; /* BP is no frame pointer here, or its frame was not copied */
	uint64_t h = ps_hash(ks->stack, span);
	uint64_t ip = ks->regs[PS_UNWIND_IP];
	struct memo *m =
		&r->memo[(ps_hash_u64(ip ^ h) ^ pid ^ span) & (MEMO_SLOTS - 1)];
	*hit = m->n && m->pid == pid && m->ip == ip && m->span == span && m->hash == h;
	if (!*hit)
		*m = (struct memo){.pid = pid, .ip = ip, .span = span, .hash = h};
	return m;
}

/* The switch stack's user part by the memo, else by libdw and the splice. */
static uint32_t switch_user_chain(ps_record *r, const ps_kevent *k, const uint64_t *fp,
				  uint32_t fp_n, uint64_t *out, uint32_t max)
{
	const ps_ksample *ks = &k->sample;
	int hit;
	struct memo *m = memo_slot(r, k->id.pid, ks, &hit);
	if (hit) {
		/* The remembered frames, then the walk after the last of them. */
		for (uint32_t k2 = 1; k2 < fp_n; k2++)
			if (fp[k2] == m->ips[m->n - 1]) {
				uint32_t n = 0;
				for (uint32_t j = 0; j < m->n && n < max; j++)
					out[n++] = m->ips[j];
				for (uint32_t j = k2 + 1; j < fp_n && n < max; j++)
					out[n++] = fp[j];
				r->memo_hits++;
				return n;
			}
	}
	r->memo_misses++;
	int got = ps_unwind_sample(r->unwinder, k->id.pid, ks->regs, ks->stack, ks->dyn_size,
				   r->dchain, MAX_CHAIN);
	if (got < 0)
		got = 0;
	uint32_t prefix;
	uint32_t n = splice_user(r->dchain, (uint32_t)got, !ps_unwind_last_truncated(r->unwinder),
				 fp, fp_n, out, max, &prefix);
	if (m && prefix && prefix <= MEMO_FRAMES) {
		memcpy(m->ips, r->dchain, prefix * sizeof(*m->ips));
		m->n = prefix;
	}
	return n;
}

/* A sample's chain into r->chain: the kernel's, with the user part unwound from the stack
 * copy when the event copies one (splice: joined to the kernel's frame-pointer walk). */
static uint32_t sample_chain(ps_record *r, const ps_kevent *k, uint64_t sample_type, int splice)
{
	const ps_ksample *ks = &k->sample;
	uint64_t *chain = r->chain;
	uint32_t n = 0;
	if (sample_type & PERF_SAMPLE_CALLCHAIN) {
		n = ks->nr > MAX_CHAIN ? MAX_CHAIN : (uint32_t)ks->nr;
		memcpy(chain, ks->ips, n * 8);
	} else {
		chain[n++] = (k->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL
				     ? PS_CONTEXT_KERNEL
				     : PS_CONTEXT_USER;
		chain[n++] = ks->ip;
	}
	if (r->unwinder && (sample_type & PERF_SAMPLE_REGS_USER)) {
		/* Drop the kernel's (frame-pointer) user part; the unwinder makes it. */
		uint32_t i = 0;
		while (i < n && chain[i] != PS_CONTEXT_USER)
			i++;
		uint32_t fp_at = i + 1, fp_n = i < n ? n - i - 1 : 0;
		n = i;
		if (ks->regs && ks->abi && splice) {
			/* The walk is still in chain after n: move it out of the way. */
			uint64_t fp[MAX_CHAIN];
			memcpy(fp, chain + fp_at, fp_n * 8);
			chain[n++] = PS_CONTEXT_USER;
			n += switch_user_chain(r, k, fp, fp_n, chain + n, MAX_CHAIN - n);
		} else if (ks->regs && ks->abi) {
			int got = ps_unwind_sample(r->unwinder, k->id.pid, ks->regs, ks->stack,
						   ks->dyn_size, chain + n + 1, MAX_CHAIN - n - 1);
			if (got < 0)
				got = 0;
			chain[n++] = PS_CONTEXT_USER;
			n += (uint32_t)got;
			if (ps_unwind_last_truncated(r->unwinder))
				r->st.truncated++;
		} else if (splice && fp_n) {
			n = fp_at + fp_n; /* no user registers (a kernel thread): as walked */
		}
	}
	return n;
}

static int handle_sample(ps_record *r, const ps_kevent *k)
{
	const ps_ksample *ks = &k->sample;
	ps_sample s = {.time = k->id.time,
		       .pid = k->id.pid,
		       .tid = k->id.tid,
		       .cpu = k->id.cpu,
		       .period = ks->period};
	s.nr = sample_chain(r, k, r->attr.sample_type, 0);
	s.ips = r->chain;
	r->st.samples++;
	if (r->offcpu && r->attr.exclude_kernel) {
		/* Switch samples are dropped user-only: the stacks of blocked time come
		 * from here. */
		int err = ps_offcpu_add(r->offcpu, PS_SW_USER_STACK, s.time, s.pid, s.tid, s.cpu,
					0, s.ips, s.nr);
		if (err)
			return err;
	}
	ps_event ev = {.type = PS_REC_SAMPLE, .sample = s};
	return ps_trace_write(r->w, &ev);
}

/* A context-switches sample: the stack a thread leaves its CPU with. */
static int handle_switch_sample(ps_record *r, const struct perf_event_header *h)
{
	ps_kevent k;
	if (ps_kevent_decode(&r->sw_kattr, h, h->size, &k) != 1 || !r->offcpu)
		return 0;
	if (!k.id.tid)
		return 0; /* the idle task */
	uint32_t n = sample_chain(r, &k, r->sw_attr.sample_type,
				  r->o.callgraph == PS_CG_FP);
	return ps_offcpu_add(r->offcpu, PS_SW_OUT_SAMPLE, k.id.time, k.id.pid, k.id.tid,
			     k.id.cpu, 0, r->chain, n);
}

static int handle_record(ps_record *r, const struct perf_event_header *h)
{
	ps_kevent k;
	ps_event ev = {0};
	uint64_t id;
	if (r->o.off_cpu && h->type == PERF_RECORD_SAMPLE &&
	    ps_kevent_id(&r->kattr, h, h->size, &id) == 1 && is_switch_id(r, id))
		return handle_switch_sample(r, h);
	/* A record the kernel wrote short is dropped, as before: it cannot be trusted. */
	if (ps_kevent_decode(&r->kattr, h, h->size, &k) != 1)
		return 0;
	switch (k.type) {
	case PERF_RECORD_SAMPLE:
		return handle_sample(r, &k);
	case PERF_RECORD_SWITCH:
	case PERF_RECORD_SWITCH_CPU_WIDE:
		if (!r->offcpu || !k.id.tid)
			return 0;
		return ps_offcpu_add(r->offcpu, k.sw.out ? PS_SW_OUT : PS_SW_IN, k.id.time,
				     k.id.pid, k.id.tid, k.id.cpu, k.sw.preempt, NULL, 0);
	case PERF_RECORD_MMAP2: {
		const ps_kmmap *km = &k.mmap;
		if (!(km->prot & PROT_EXEC))
			return 0; /* data mappings hold no code to name */
		ev.type = PS_REC_MMAP;
		ev.mmap = (ps_mmap){.time = k.id.time,
				    .pid = km->pid,
				    .tid = km->tid,
				    .start = km->start,
				    .len = km->len,
				    .pgoff = km->pgoff,
				    .ino = km->ino,
				    .maj = km->maj,
				    .min = km->min,
				    .prot = km->prot,
				    .flags = km->flags,
				    .build_id_size = km->build_id_size,
				    .filename = km->filename};
		memcpy(ev.mmap.build_id, km->build_id, sizeof(ev.mmap.build_id));
		if (r->unwinder)
			ps_unwind_mmap(r->unwinder, km->pid, km->start, km->len, km->pgoff,
				       km->filename);
		return write_state(r, &ev);
	}
	case PERF_RECORD_COMM:
		ev.type = PS_REC_COMM;
		ev.comm = (ps_comm){.time = k.id.time,
				    .pid = k.comm.pid,
				    .tid = k.comm.tid,
				    .exec = (uint32_t)k.comm.exec,
				    .comm = k.comm.comm};
		if (r->unwinder && ev.comm.exec)
			ps_unwind_exec(r->unwinder, ev.comm.pid);
		if (r->memo && ev.comm.exec) /* its addresses mean other code now */
			memset(r->memo, 0, MEMO_SLOTS * sizeof(*r->memo));
		return write_state(r, &ev);
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		ev.type = k.type == PERF_RECORD_FORK ? PS_REC_FORK : PS_REC_EXIT;
		ev.task = (ps_task){.time = k.task.time,
				    .pid = k.task.pid,
				    .ppid = k.task.ppid,
				    .tid = k.task.tid,
				    .ptid = k.task.ptid};
		/* The unwinder follows address spaces: a new process starts as a copy. */
		if (r->unwinder && k.type == PERF_RECORD_FORK && ev.task.pid != ev.task.ppid)
			ps_unwind_fork(r->unwinder, ev.task.ppid, ev.task.pid);
		if (r->unwinder && k.type == PERF_RECORD_EXIT && ev.task.pid == ev.task.tid)
			ps_unwind_forget(r->unwinder, ev.task.pid);
		if (r->offcpu) {
			int err = ps_offcpu_add(r->offcpu,
						k.type == PERF_RECORD_FORK ? PS_SW_FORK : PS_SW_EXIT,
						ev.task.time, ev.task.pid, ev.task.tid, 0, 0, NULL, 0);
			if (err)
				return err;
		}
		return write_state(r, &ev);
	case PERF_RECORD_LOST:
		ev.type = PS_REC_LOST;
		ev.lost = k.lost.lost;
		r->st.lost += ev.lost;
		if (r->offcpu) {
			int err = ps_offcpu_add(r->offcpu, PS_SW_LOST, k.id.time, 0, 0, k.id.cpu, 0,
						NULL, 0);
			if (err)
				return err;
		}
		return ps_trace_write(r->w, &ev);
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		ev.type = PS_REC_THROTTLE;
		ev.throttle.time = k.throttle.time;
		ev.throttle.unthrottle = k.type == PERF_RECORD_UNTHROTTLE;
		if (k.type == PERF_RECORD_THROTTLE)
			r->st.throttled++;
		return ps_trace_write(r->w, &ev);
	default:
		return 0;
	}
}

/* Copies every record out of one ring and hands the space back to the kernel. */
static int drain_ring(ps_record *r, struct ring *ring)
{
	/* Acquire: the records below data_head are fully written before we read them. */
	uint64_t head = __atomic_load_n(&ring->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = ring->meta->data_tail;
	int err = 0;
	while (tail < head && !err) {
		uint64_t off = tail & (ring->size - 1);
		struct perf_event_header *h = (struct perf_event_header *)(ring->data + off);
		struct perf_event_header hdr;
		if (off + sizeof(hdr) > ring->size) {
			/* Even the header wraps. */
			size_t first = (size_t)(ring->size - off);
			memcpy(&hdr, ring->data + off, first);
			memcpy((char *)&hdr + first, ring->data, sizeof(hdr) - first);
		} else {
			hdr = *h;
		}
		if (hdr.size < sizeof(hdr) || hdr.size > head - tail)
			break; /* cannot happen with a sane kernel; do not spin */
		if (off + hdr.size > ring->size) {
			size_t first = (size_t)(ring->size - off);
			memcpy(r->scratch, ring->data + off, first);
			memcpy(r->scratch + first, ring->data, hdr.size - first);
			h = (struct perf_event_header *)r->scratch;
		}
		err = handle_record(r, h);
		tail += hdr.size;
	}
	/* Release: our reads of the records are done before the kernel may overwrite them. */
	__atomic_store_n(&ring->meta->data_tail, tail, __ATOMIC_RELEASE);
	return err;
}

/* record --heap: every message queued on the heap socket, as HEAP records. */
static int drain_heap(ps_record *r)
{
	if (r->o.heap_fd < 0)
		return 0;
	uint64_t buf[4096 / 8]; /* 8-byte aligned, as the message's fields are */
	for (;;) {
		ssize_t n = recv(r->o.heap_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0; /* empty (EAGAIN), or every writer is gone */
		ps_event ev;
		if ((size_t)n > sizeof(buf) || !ps_heapmsg_decode(buf, (size_t)n, &ev)) {
			r->heap_bad++;
			continue;
		}
		if (ev.type == PS_REC_HEAP_ALLOC)
			r->heap_allocs++;
		else
			r->heap_frees++;
		int err = ps_trace_write(r->w, &ev);
		if (err)
			return err;
	}
}

static int drain_all(ps_record *r)
{
	int herr = drain_heap(r);
	if (herr)
		return herr;
	ps_kattr_from(&r->kattr, &r->attr); /* the attr may change while events open */
	ps_kattr_from(&r->sw_kattr, &r->sw_attr);
	for (size_t i = 0; i < r->nrings; i++) {
		int err = drain_ring(r, &r->rings[i]);
		if (err)
			return err;
	}
	return 0;
}

/* A process counts as gone when it no longer exists or is a zombie. */
static int process_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int record_loop(ps_record *r, char *err, size_t errlen);

/* The process a thread belongs to. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	FILE *f = fopen(path, "re");
	pid_t tgid = tid;
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Tgid: %d", &tgid) == 1)
				break;
		fclose(f);
	}
	return tgid;
}

/* The command is what is profiled (not just what bounds the recording). */
static int profiled_command(const ps_record *r) { return r->o.argv && !r->o.argv_bounds; }

static int synthesize(ps_record *r)
{
	if (r->o.all_cpus)
		return synthesize_all(r);
	for (size_t i = 0; i < r->o.npids + r->o.ntids && !profiled_command(r); i++) {
		pid_t pid = i < r->o.npids ? r->o.pids[i] : tgid_of(r->o.tids[i - r->o.npids]);
		int err = synthesize_process(r, pid);
		if (err && err != -ENOENT && err != -ESRCH && err != -EACCES)
			return err;
	}
	return 0;
}

int ps_record_run(ps_record *r, ps_trace_writer **w, char *err, size_t errlen)
{
	err[0] = '\0';
	r->w = *w;
	int rc = record_loop(r, err, errlen);
	*w = r->w;
	return rc;
}

/* After an enable: names and mappings of what changed while the events were off. A
 * command may have exec'd and forked meanwhile, so with one every process is read. */
static int resync(ps_record *r)
{
	if (!r->resync)
		return 0;
	r->resync = 0;
	return profiled_command(r) ? synthesize_all(r) : synthesize(r);
}

static int write_offcpu(void *ctx, const ps_event *ev)
{
	ps_record *r = ctx;
	return ps_trace_write(r->w, ev);
}

/* Drains every ring, then pairs the switches that are old enough for all their records
 * to be in. */
static int drain_and_pair(ps_record *r)
{
	uint64_t t = now_ns();
	int err = drain_all(r);
	if (!err && r->offcpu && t > OFFCPU_SLACK_NS)
		err = ps_offcpu_flush(r->offcpu, t - OFFCPU_SLACK_NS);
	return err;
}

/* A kernel thread (PF_KTHREAD in its stat line's flags): no user stack, no process. One
 * that is gone (no stat to read) is skipped the same way. */
static int is_kernel_thread(pid_t pid)
{
	ps_procstat st;
	return ps_procfs_process_stat("", (uint32_t)pid, &st) || (st.flags & PS_PF_KTHREAD);
}

/* Every thread of pid (a /proc/PID/task listing) that never switched. */
static int offcpu_quiet_tasks(ps_record *r, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *de;
	int err = 0;
	while (!err && d && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			err = ps_offcpu_still(r->offcpu, (uint32_t)pid, (uint32_t)atoi(de->d_name),
					      r->st.end_ns);
	if (d)
		closedir(d);
	return err;
}

/* Threads of the targets that never switched: blocked the whole recording. -p/-t name
 * them; -a means every user thread of the machine (kernel threads have no user stack
 * and would bury the view under hundreds of idle workers). */
static int offcpu_quiet_threads(ps_record *r)
{
	int err = 0;
	if (r->o.all_cpus && !r->o.npids && !r->o.ntids && !profiled_command(r)) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (!err && d && (de = readdir(d)))
			if (isdigit((unsigned char)de->d_name[0]) &&
			    !is_kernel_thread((pid_t)atoi(de->d_name)))
				err = offcpu_quiet_tasks(r, (pid_t)atoi(de->d_name));
		if (d)
			closedir(d);
		return err;
	}
	for (size_t i = 0; !err && i < r->o.ntids; i++)
		err = ps_offcpu_still(r->offcpu, (uint32_t)tgid_of(r->o.tids[i]),
				      (uint32_t)r->o.tids[i], r->st.end_ns);
	for (size_t i = 0; !err && i < r->o.npids && !profiled_command(r); i++)
		err = offcpu_quiet_tasks(r, r->o.pids[i]);
	return err;
}

static int record_loop(ps_record *r, char *err, size_t errlen)
{
	int rc = synthesize(r);
	if (rc) {
		snprintf(err, errlen, "cannot write the trace: %s", ps_strerror(rc));
		return rc;
	}
	uint64_t start = now_ns();
	r->st.start_ns = start;
	if (r->o.off_cpu && !r->offcpu &&
	    (rc = ps_offcpu_new(&r->offcpu, start, write_offcpu, r))) {
		snprintf(err, errlen, "cannot start recording: %s", ps_strerror(rc));
		return rc;
	}
	/* User-only recordings get no switch samples at all (approximate stacks instead). */
	if (r->offcpu)
		ps_offcpu_set_period(r->offcpu, r->attr.exclude_kernel || r->o.offcpu_period > UINT32_MAX
							? 1 : (uint32_t)r->o.offcpu_period);
	if (!r->o.start_disabled && !r->o.delay_ms && !profiled_command(r))
		ps_record_enable(r, 1);
	if (r->o.argv) {
		rc = release_command(r, err, errlen);
		if (rc)
			return rc;
		r->enabled = !r->o.start_disabled && !r->o.delay_ms;
	}
	struct pollfd *pfd = calloc(r->nrings + 2, sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	for (size_t i = 0; i < r->nrings; i++)
		pfd[i] = (struct pollfd){.fd = r->rings[i].fd, .events = POLLIN};
	size_t npfd = r->nrings;
	if (r->o.control_fd >= 0 && r->o.on_control)
		pfd[npfd++] = (struct pollfd){.fd = r->o.control_fd, .events = POLLIN};
	size_t ctl_at = npfd - 1, heap_at = npfd;
	if (r->o.heap_fd >= 0) /* its messages are read with the rings (drain_all) */
		pfd[npfd++] = (struct pollfd){.fd = r->o.heap_fd, .events = POLLIN};
	uint64_t last_tick = start, last_alive_check = 0, last_rotate = start, last_interval = 0;
	for (;;) {
		int n = poll(pfd, npfd, 100);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (r->o.control_fd >= 0 && r->o.on_control && npfd > r->nrings &&
		    (pfd[ctl_at].revents & (POLLIN | POLLHUP)))
			r->o.on_control(r->o.control_ctx, r->o.control_fd);
		/* Every writer of the heap socket is gone: it would poll ready for ever. */
		if (r->o.heap_fd >= 0 && heap_at < npfd && (pfd[heap_at].revents & POLLHUP) &&
		    !(pfd[heap_at].revents & POLLIN))
			pfd[heap_at].fd = -1;
		rc = resync(r);
		if (!rc)
			rc = drain_and_pair(r);
		if (!rc)
			rc = ps_trace_tick(r->w);
		if (rc) {
			snprintf(err, errlen, "cannot write the trace: %s", ps_strerror(rc));
			break;
		}
		uint64_t now = now_ns();
		if (r->o.delay_ms && !r->enabled && !r->o.start_disabled &&
		    now - start >= r->o.delay_ms * 1000000ull) {
			ps_record_enable(r, 1);
			rc = resync(r);
			if (rc) {
				snprintf(err, errlen, "cannot write the trace: %s", ps_strerror(rc));
				break;
			}
		}
		if (r->o.on_rotate && ((r->o.rotate && *r->o.rotate) ||
				       (r->o.rotate_ms && now - last_rotate >= r->o.rotate_ms * 1000000ull))) {
			if (r->o.rotate)
				*r->o.rotate = 0;
			last_rotate = now;
			rc = drain_and_pair(r);
			if (!rc) {
				r->st.end_ns = now;
				rc = r->o.on_rotate(r->o.rotate_ctx, &r->w, &r->st);
				r->st.start_ns = now;
			}
			if (!rc)
				rc = replay_state(r);
			if (rc) {
				snprintf(err, errlen, "cannot switch output: %s", ps_strerror(rc));
				break;
			}
		}
		if (r->o.tick && now - last_tick >= 1000000000ull) {
			last_tick = now;
			r->o.tick(r->o.tick_ctx, &r->st, ps_trace_bytes(r->w));
		}
		if (r->o.on_interval && (!last_interval ||
					 now - last_interval >= r->o.interval_ms * 1000000ull)) {
			last_interval = now;
			rc = r->o.on_interval(r->o.interval_ctx, r->w, now);
			if (rc) {
				snprintf(err, errlen, "cannot write the trace: %s", ps_strerror(rc));
				break;
			}
		}
		if (r->o.stop && *r->o.stop)
			break;
		if (r->o.duration_ms && now - start >= r->o.duration_ms * 1000000ull)
			break;
		if (r->child > 0) {
			pid_t got = waitpid(r->child, &r->child_status, WNOHANG);
			if (got == r->child) {
				r->child = 0;
				break;
			}
		}
		if (!profiled_command(r) && r->ntargets &&
		    now - last_alive_check >= 200000000ull) {
			last_alive_check = now;
			size_t alive = 0;
			for (size_t i = 0; i < r->ntargets; i++)
				alive += (size_t)process_alive(r->targets[i]);
			if (!alive)
				break;
		}
	}
	free(pfd);
	ps_record_enable(r, 0);
	/* What the kernel wrote before the disable is still in the rings. */
	int rc2 = drain_all(r);
	r->st.end_ns = now_ns();
	if (!rc2 && r->offcpu) {
		/* Threads still blocked are blocked until the end. */
		rc2 = ps_offcpu_finish(r->offcpu, r->st.end_ns);
		if (!rc2)
			rc2 = offcpu_quiet_threads(r);
		ps_event ev = {.type = PS_REC_OFFCPU_STATS,
			       .offcpu_stats = ps_offcpu_get_stats(r->offcpu)};
		ev.offcpu_stats.stack_bytes = r->sw_attr.sample_stack_user;
		if (!rc2)
			rc2 = ps_trace_write(r->w, &ev);
	}
	if (!rc && rc2) {
		rc = rc2;
		snprintf(err, errlen, "cannot write the trace: %s", ps_strerror(rc));
	}
	if (r->o.tick)
		r->o.tick(r->o.tick_ctx, &r->st, ps_trace_bytes(r->w));
	return rc;
}

void ps_record_free(ps_record *r)
{
	if (!r)
		return;
	if (r->child > 0) {
		if (r->go_fd >= 0) {
			/* Never started: closing the pipe makes it exit without exec. */
			close(r->go_fd);
			r->go_fd = -1;
		} else {
			kill(r->child, SIGTERM);
		}
		waitpid(r->child, &r->child_status, 0);
	}
	if (r->go_fd >= 0)
		close(r->go_fd);
	if (r->exec_fd >= 0)
		close(r->exec_fd);
	for (size_t i = 0; i < r->nrings; i++)
		munmap(r->rings[i].meta, r->rings[i].map_len);
	for (size_t i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	ps_unwind_free(r->unwinder);
	ps_offcpu_free(r->offcpu);
	free(r->memo);
	free(r->sw_ids);
	free(r->rings);
	free(r->fds);
	free(r->cpus);
	free(r->targets);
	free(r->scratch);
	free(r->log);
	ps_arena_free(r->log_strings);
	free(r);
}
