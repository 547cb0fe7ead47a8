/* perfsample stat: system and per-process statistics from /proc and /sys every interval,
 * into a trace (METRICS records) or as CSV, one line per process per interval. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "formats/ps_trace.h"
#include "formats/ps_util.h"
#include "profiler/ps_sysstat.h"

static volatile sig_atomic_t stop_flag, child_flag;
static void on_stop(int sig) { (void)sig; stop_flag = 1; }
static void on_child(int sig) { (void)sig; child_flag = 1; }

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct csv_ctx {
	FILE *f;
	uint64_t start_ns;
};

/* A comm as a CSV field: quoted when it needs to be, control bytes as '?'. */
static void csv_comm(FILE *f, const char *s)
{
	int quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"')
			fputs("\"\"", f);
		else
			fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
	}
	if (quote)
		fputc('"', f);
}

static void csv_line(void *ctx, uint64_t now_ns, const ps_procstat *p, double pct)
{
	struct csv_ctx *c = ctx;
	fprintf(c->f, "%.3f,%u,", (double)(now_ns - c->start_ns) / 1e9, p->pid);
	csv_comm(c->f, p->comm);
	fprintf(c->f, ",%.1f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", pct,
		(unsigned long long)p->rss_bytes, (unsigned long long)p->threads,
		(unsigned long long)p->voluntary_ctxt_switches,
		(unsigned long long)p->nonvoluntary_ctxt_switches,
		(unsigned long long)p->minor_faults, (unsigned long long)p->major_faults,
		(unsigned long long)p->read_bytes, (unsigned long long)p->write_bytes);
}

static const char stat_usage[] =
	"usage: perfsample stat [-a | -p PID[,..] | -- COMMAND [ARGS..]] [-I MS] [-d S] [-o FILE] "
	"[--csv]\n"
	"\n"
	"System statistics (CPU per mode and per CPU, load, pressure, memory, swap, disks,\n"
	"network) and per-process statistics (CPU, RSS, threads, context switches, faults,\n"
	"I/O bytes) from /proc and /sys every interval, into a trace (default\n"
	"perfsample.data) for `perfsample plot`, or as CSV.\n";

static pid_t start_command(char **argv)
{
	pid_t pid = fork();
	if (pid < 0)
		die("cannot start '%s': %s", argv[0], strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "perfsample: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int cmd_stat(int argc, char **argv)
{
	int all = 0, csv = 0, quiet = 0, interval = 1000;
	double duration = 0;
	const char *out = NULL, *pid_arg = NULL;
	const struct opt options[] = {
		OPT_GROUP("what:"),
		OPT_BOOL('a', "all-cpus", &all, "the system and every process"),
		OPT_STRING('p', "pid", &pid_arg, "PID[,..]",
			   "the system and these processes (and processes they start)"),
		OPT_GROUP("when:"),
		OPT_INT('I', "interval", &interval, "MS", "sample every MS milliseconds (default 1000)",
			10, 3600000),
		OPT_DOUBLE('d', "duration", &duration, "SECONDS", "stop after this long", 0.001, 1e7),
		OPT_GROUP("output:"),
		OPT_STRING('o', "output", &out, "FILE",
			   "the trace (default perfsample.data); with --csv, the CSV (default stdout)"),
		OPT_BOOL(0, "csv", &csv,
			 "CSV instead of a trace, with the columns time, pid, comm, cpu_percent, "
			 "rss_bytes, threads, voluntary_ctxt_switches, nonvoluntary_ctxt_switches, "
			 "minor_faults, major_faults, read_bytes, write_bytes (time in seconds from "
			 "the start; the counters are totals since the process started)"),
		OPT_BOOL('q', "quiet", &quiet, "no summary"),
		OPT_TEXT("Without -a or -p, the system and COMMAND's processes are sampled until it "
			 "exits; with -a or -p, a command only bounds the time. Sampling ends at -d, "
			 "when every process given to -p has exited, or on SIGINT/SIGTERM. Metric "
			 "names and units are node_exporter's (node_cpu_seconds_total, "
			 "node_disk_io_time_seconds_total, process_resident_memory_bytes...)."),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, stat_usage, PARSE_STOP_AT_NON_OPTION);
	pid_t *pids = NULL;
	size_t npids = 0;
	if (pid_arg) {
		uint32_t *ids;
		npids = parse_id_list("--pid", pid_arg, &ids);
		pids = arg_alloc(npids, sizeof(*pids));
		for (size_t i = 0; i < npids; i++)
			pids[i] = (pid_t)ids[i];
	}
	if (all && npids)
		usage_error("stat", "give one target: a command, -p or -a");
	if (!all && !npids && !argc)
		usage_error("stat", "nothing to watch: give a command, -p PID or -a");
	if (!csv && out && !strcmp(out, "-"))
		usage_error("stat", "-o -: a trace is written to a file and renamed when whole; "
				    "give a file name or --csv");
	for (size_t i = 0; i < npids; i++)
		if (kill(pids[i], 0) < 0 && errno == ESRCH)
			die("cannot watch pid %d: no such process", (int)pids[i]);

	on_stop_signals(on_stop);
	struct sigaction sc = {0};
	sc.sa_handler = on_child;
	sigemptyset(&sc.sa_mask);
	sigaction(SIGCHLD, &sc, NULL);

	enum ps_sysstat_scope scope = all ? PS_SYSSTAT_ALL : npids ? PS_SYSSTAT_PIDS
								   : PS_SYSSTAT_CHILDREN;
	ps_sysstat *s;
	if (ps_sysstat_new(&s, "", scope, pids, npids))
		die("out of memory");

	ps_trace_writer *w = NULL;
	struct outfile of = {0};
	struct csv_ctx cc = {NULL, 0};
	const char *path = out ? out : DEFAULT_TRACE;
	if (csv) {
		out_open(&of, out);
		cc.f = of.f;
		fputs("time,pid,comm,cpu_percent,rss_bytes,threads,voluntary_ctxt_switches,"
		      "nonvoluntary_ctxt_switches,minor_faults,major_faults,read_bytes,write_bytes\n",
		      cc.f);
	} else {
		char start[64], ivl[32], ncpu[16];
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		struct tm tm;
		gmtime_r(&now.tv_sec, &tm);
		strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(ivl, sizeof(ivl), "%d", interval);
		snprintf(ncpu, sizeof(ncpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
		struct utsname un;
		uname(&un);
		ps_kv meta[] = {
			{"version", PS_VERSION}, {"cmdline", "perfsample stat"},
			{"event", "none"},	 {"clock", "monotonic"},
			{"start_time", start},	 {"hostname", un.nodename},
			{"release", un.release}, {"ncpus", ncpu},
			{"stat_interval_ms", ivl},
			{"target", all ? "all-cpus" : npids ? "pid" : argv[0]},
		};
		int rc = ps_trace_create(&w, path, meta, sizeof(meta) / sizeof(meta[0]), 0);
		if (rc)
			die("cannot write '%s': %s", path, ps_strerror(rc));
	}

	uint64_t start = mono_ns();
	cc.start_ns = start;
	/* The baseline: CPU percentages of the first interval are measured from here. */
	long alive = ps_sysstat_sample(s, start, w, NULL, NULL);
	pid_t child = argc ? start_command(argv) : 0;
	int status = -1;
	uint64_t next = start + (uint64_t)interval * 1000000ull, samples = 0;
	int err = alive < 0 ? (int)alive : 0;
	while (!err && !stop_flag) {
		uint64_t now = mono_ns();
		if (duration > 0 && now - start >= (uint64_t)(duration * 1e9))
			break;
		if (child > 0 && (child_flag || now >= next)) {
			child_flag = 0;
			if (waitpid(child, &status, WNOHANG) == child) {
				child = 0;
				/* the command's last moments are a sample too */
				alive = ps_sysstat_sample(s, mono_ns(), w, csv ? csv_line : NULL, &cc);
				err = alive < 0 ? (int)alive : 0;
				samples++;
				break;
			}
		}
		if (now < next) {
			uint64_t wait = next - now;
			if (duration > 0 && start + (uint64_t)(duration * 1e9) < next)
				wait = start + (uint64_t)(duration * 1e9) - now;
			struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
			nanosleep(&ts, NULL); /* a signal (SIGCHLD, SIGINT) ends it early */
			continue;
		}
		next += (uint64_t)interval * 1000000ull;
		if (next < now)
			next = now + (uint64_t)interval * 1000000ull;
		alive = ps_sysstat_sample(s, now, w, csv ? csv_line : NULL, &cc);
		err = alive < 0 ? (int)alive : 0;
		samples++;
		if (w && !err)
			err = ps_trace_tick(w);
		if (cc.f)
			fflush(cc.f);
		if (scope == PS_SYSSTAT_PIDS && alive == 0)
			break;
	}
	if (child > 0) {
		/* -d or a signal ended it: the command was only watched, let it be stopped too */
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	double self = ps_sysstat_self_cpu(s);
	double secs = (double)(mono_ns() - start) / 1e9;
	ps_sysstat_free(s);
	if (err) {
		if (w)
			ps_trace_abort(w);
		die("cannot write '%s': %s", csv ? (out ? out : "stdout") : path, ps_strerror(err));
	}
	if (w) {
		ps_stats st = {.start_ns = start, .end_ns = mono_ns()};
		ps_event ev = {.type = PS_REC_STATS, .stats = st};
		int rc = ps_trace_write(w, &ev);
		if (!rc)
			rc = ps_trace_commit(w);
		else
			ps_trace_abort(w);
		if (rc)
			die("cannot write '%s': %s", path, ps_strerror(rc));
	} else {
		out_close(&of);
	}
	if (!quiet)
		fprintf(stderr,
			"[ perfsample stat: %llu samples in %.2f s; the sampler used %.3f s of CPU "
			"(%.2f%%)%s%s%s ]\n",
			(unsigned long long)samples, secs, self, secs > 0 ? 100 * self / secs : 0,
			w ? "; written to '" : "", w ? path : "", w ? "'" : "");
	if (argc && status >= 0) {
		if (WIFSIGNALED(status))
			return 128 + WTERMSIG(status);
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
	}
	return 0;
}
