/* swcost: what each part of `record --off-cpu -g` costs per context switch. Runs a
 * command under perf_event_open with one layer of the off-CPU setup at a time, opened as
 * perfsample opens it (per CPU, following the command and its threads, one ring per CPU,
 * woken at the same watermark), and drains the rings without looking at the records, so
 * the difference between two modes is the kernel's cost of that layer and the recorder's
 * cost of reading it:
 *
 *   none      no event (the command alone, under the same fork and wait)
 *   switch    a dummy event with context_switch=1: the switch-in/out records
 *   cs        + the context-switches event, period 1, no call chain
 *   cs-cc     + the kernel's call chain (kernel and user, frame pointers)
 *   cs-stack  + registers and a user stack copy of STACK bytes (default 512)
 *
 * usage: swcost MODE [STACK] -- command...
 * Prints one line: mode, the command's wall s, its user+sys CPU s, this process's CPU s,
 * records and bytes drained. The command's own output goes to stdout before it. */
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RING_PAGES 512 /* as perfsample's --off-cpu rings */
#define MAX_CPUS 64

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

struct ring {
	int fd;
	struct perf_event_mmap_page *meta;
	uint64_t size;
};

static uint64_t records, bytes;

static void drain(struct ring *r)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	unsigned char *data = (unsigned char *)r->meta + sysconf(_SC_PAGESIZE);
	while (tail < head) {
		struct perf_event_header h;
		uint64_t off = tail & (r->size - 1);
		if (off + sizeof(h) > r->size)
			break; /* a header across the end: cannot be, records are 8-aligned */
		memcpy(&h, data + off, sizeof(h));
		if (h.size < sizeof(h))
			break;
		records++;
		bytes += h.size;
		tail += h.size;
	}
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int open_ev(struct perf_event_attr *a, pid_t pid, int cpu, int group)
{
	int fd = (int)syscall(SYS_perf_event_open, a, pid, cpu, group, 0);
	if (fd < 0) {
		perror("perf_event_open");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: swcost none|switch|cs|cs-cc|cs-stack [STACK] -- cmd...\n");
		return 2;
	}
	const char *mode = argv[1];
	int stack = 512, at = 2;
	if (strcmp(argv[at], "--"))
		stack = atoi(argv[at++]);
	if (strcmp(argv[at], "--"))
		return 2;
	char **cmd = argv + at + 1;
	int level = !strcmp(mode, "none") ? 0 : !strcmp(mode, "switch") ? 1 : !strcmp(mode, "cs") ? 2
		  : !strcmp(mode, "cs-cc") ? 3 : !strcmp(mode, "cs-stack") ? 4 : -1;
	if (level < 0)
		return 2;
	int go[2];
	if (pipe(go))
		return 1;
	double t0 = now();
	pid_t child = fork();
	if (!child) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(go[0]);
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > MAX_CPUS)
		ncpu = MAX_CPUS;
	struct ring rings[MAX_CPUS];
	struct pollfd pfd[MAX_CPUS];
	long page = sysconf(_SC_PAGESIZE);
	for (int cpu = 0; level && cpu < ncpu; cpu++) {
		/* The ring's event: a dummy one carrying the switch records (the sampling event
		 * in perfsample; its samples at 99 Hz are noise here). */
		struct perf_event_attr a = {.size = sizeof(a), .type = PERF_TYPE_SOFTWARE,
					    .config = PERF_COUNT_SW_DUMMY, .disabled = 1,
					    .inherit = 1, .enable_on_exec = 1, .sample_id_all = 1,
					    .context_switch = 1, .use_clockid = 1,
					    .clockid = CLOCK_MONOTONIC, .exclude_hv = 1,
					    .watermark = 1, .wakeup_watermark = page * 128 / 4,
					    .sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
							   PERF_SAMPLE_CPU | PERF_SAMPLE_IDENTIFIER};
		int fd = open_ev(&a, child, cpu, -1);
		void *m = mmap(NULL, page * (RING_PAGES + 1), PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		rings[cpu] = (struct ring){fd, m, (uint64_t)page * RING_PAGES};
		pfd[cpu] = (struct pollfd){.fd = fd, .events = POLLIN};
		if (level >= 2) {
			struct perf_event_attr s = a;
			s.context_switch = 0;
			s.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
			s.sample_period = 1;
			s.sample_type |= PERF_SAMPLE_IP | PERF_SAMPLE_PERIOD;
			if (level >= 3)
				s.sample_type |= PERF_SAMPLE_CALLCHAIN;
			if (level >= 4) {
				s.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
				s.sample_regs_user = (1 << 6) | (1 << 7) | (1 << 8); /* bp sp ip */
				s.sample_stack_user = stack;
			}
			int sfd = open_ev(&s, child, cpu, -1);
			if (ioctl(sfd, PERF_EVENT_IOC_SET_OUTPUT, fd) < 0) {
				perror("SET_OUTPUT");
				return 1;
			}
		}
	}
	if (write(go[1], "x", 1) != 1)
		return 1;
	close(go[1]);
	int status = 0;
	struct rusage ru;
	for (;;) {
		pid_t w = wait4(child, &status, WNOHANG, &ru);
		if (w == child)
			break;
		if (level) {
			poll(pfd, ncpu, 100);
			for (int cpu = 0; cpu < ncpu; cpu++)
				drain(&rings[cpu]);
		} else {
			w = wait4(child, &status, 0, &ru);
			break;
		}
	}
	double wall = now() - t0;
	for (int cpu = 0; level && cpu < ncpu; cpu++)
		drain(&rings[cpu]);
	struct rusage self;
	getrusage(RUSAGE_SELF, &self);
	fflush(stdout);
	printf("swcost %s wall %.4f target_cpu %.4f self_cpu %.4f records %llu bytes %llu\n", mode,
	       wall, tv(ru.ru_utime) + tv(ru.ru_stime), tv(self.ru_utime) + tv(self.ru_stime),
	       (unsigned long long)records, (unsigned long long)bytes);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
