/* perfsample record: samples stacks with perf_event_open and writes a trace. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/record_heap.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "formats/ps_trace.h"
#include "formats/ps_util.h"
#include "profiler/ps_record.h"
#include "profiler/ps_sysstat.h"
#include "symbolize/ps_elf.h"
#include "symbolize/ps_sym.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t rotate_flag;
static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct status_ctx {
	int live;
	double started;
};

static void on_tick(void *ctx, const ps_stats *st, uint64_t bytes)
{
	struct status_ctx *sc = ctx;
	if (!sc->live)
		return;
	double secs = (double)(st->end_ns ? st->end_ns - st->start_ns : 0) / 1e9;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!st->end_ns)
		secs = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - (double)st->start_ns / 1e9;
	fprintf(stderr, "\r[ perfsample record: %.0fs, %llu samples, %llu lost, %llu KB ]\033[K",
		secs, (unsigned long long)st->samples, (unsigned long long)st->lost,
		(unsigned long long)(bytes / 1024));
}

struct control_ctx {
	ps_record *rec;
	int fd;
};

static void on_control(void *ctx, int fd)
{
	struct control_ctx *cc = ctx;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (!strcmp(tok, "enable"))
			ps_record_enable(cc->rec, 1);
		else if (!strcmp(tok, "disable"))
			ps_record_enable(cc->rec, 0);
		else if (!strcmp(tok, "stop"))
			stop_flag = 1;
	}
}

/* Errors of the storage, not of the recording: what was flushed before is worth keeping. */
static int storage_error(int rc)
{
	return rc == -ENOSPC || rc == -EIO || rc == -EDQUOT || rc == -EFBIG;
}

/* Dies after a write to the trace failed, naming what was kept (ps_trace_salvage). */
static void die_storage(const char *path, int rc, uint64_t kept)
{
	if (kept)
		die("cannot write '%s': %s; the %.1f KB recorded before are kept in '%s.partial'",
		    path, ps_strerror(rc), (double)kept / 1024.0, path);
	die("cannot write '%s': %s", path, ps_strerror(rc));
}

/* Ends a recording's file: notes what the mapped files without a build-id are, so readers
 * can tell them from files rebuilt since; resolves every sampled address now, while the
 * binaries are here, so the trace renders anywhere; writes the totals; renames it into
 * place. On a
 * storage error the file is kept as far as it was written (see die_storage). */
static int finish_trace(ps_trace_writer *w, int embed, const ps_stats *st, int quiet,
			const char *path, uint64_t *kept)
{
	int rc = ps_trace_flush(w);
	uint64_t embedded = 0, identified = 0;
	ps_trace_reader *r = NULL;
	if (!rc)
		rc = ps_trace_open(&r, ps_trace_partial_path(w));
	if (!rc)
		rc = ps_sym_identify(r, w, &identified);
	if (!rc && embed) {
		ps_sym_opts so;
		ps_sym_opts_init(&so);
		so.lines = 1;
		ps_sym_report rep;
		rc = ps_trace_rewind(r);
		if (!rc)
			rc = ps_sym_embed(r, &so, w, &rep);
		embedded = rep.embedded;
		/* The files are the recorded ones now: only a changed one is worth a word. */
		rep.unverified = 0;
		jit_refused_note(&rep);
	}
	ps_trace_close(r);
	if (!rc) {
		ps_event ev = {.type = PS_REC_STATS, .stats = *st};
		rc = ps_trace_write(w, &ev);
	}
	uint64_t bytes = ps_trace_bytes(w);
	if (storage_error(rc)) {
		*kept = ps_trace_salvage(w);
		return rc;
	}
	if (rc) {
		ps_trace_abort(w);
		return rc;
	}
	rc = ps_trace_commit(w);
	if (rc)
		return rc;
	if (!quiet) {
		double secs = (double)(st->end_ns - st->start_ns) / 1e9;
		fprintf(stderr,
			"[ perfsample record: %llu samples in %.2f s, %llu lost, %llu throttled; "
			"%llu symbols; %.1f KB written to '%s' ]\n",
			(unsigned long long)st->samples, secs, (unsigned long long)st->lost,
			(unsigned long long)st->throttled, (unsigned long long)embedded,
			(double)bytes / 1024.0, path);
	}
	return 0;
}

/* --switch-output: every file is OUT.YYYYMMDDHHMMSSmmm, as perf names them. */
struct rotation {
	int active;
	const char *base;
	char path[4096];
	const ps_kv *meta;
	size_t nmeta;
	int level, embed, quiet, nfiles;
	ps_stats last; /* totals when the current file began */
	uint64_t kept; /* bytes of a file that could not be finished, kept as .partial */
};

static void rotated_name(struct rotation *rot)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	snprintf(rot->path, sizeof(rot->path), "%s.%s%03ld", rot->base, stamp, ts.tv_nsec / 1000000);
	/* Two rotations within a millisecond must not collide. */
	struct stat sb;
	for (int i = 1; stat(rot->path, &sb) == 0 && i < 1000; i++)
		snprintf(rot->path, sizeof(rot->path), "%s.%s%03ld-%d", rot->base, stamp,
			 ts.tv_nsec / 1000000, i);
}

/* The totals of the file being finished: what came since the last rotation. */
static ps_stats file_stats(const struct rotation *rot, const ps_stats *now)
{
	ps_stats d = *now;
	if (rot->active) {
		d.samples -= rot->last.samples;
		d.lost -= rot->last.lost;
		d.throttled -= rot->last.throttled;
		d.truncated -= rot->last.truncated;
	}
	return d;
}

static int on_rotate(void *ctx, ps_trace_writer **w, const ps_stats *st)
{
	struct rotation *rot = ctx;
	ps_stats fs = file_stats(rot, st);
	int rc = finish_trace(*w, rot->embed, &fs, rot->quiet, rot->path, &rot->kept);
	*w = NULL;
	if (rc)
		return rc;
	rot->nfiles++;
	rot->last = *st;
	rotated_name(rot);
	return ps_trace_create(w, rot->path, rot->meta, rot->nmeta, rot->level);
}

/* -F above kernel.perf_event_max_sample_rate gets EINVAL from the kernel: sample at the
 * highest allowed rate instead and say so, as perf does. */
static unsigned long long max_sample_rate(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
	unsigned long long max = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &max) != 1)
		max = 0;
	fclose(f);
	return max;
}

static int freq_max; /* -F max */

static void clamp_freq(ps_record_opts *o)
{
	unsigned long long max = max_sample_rate();
	if (freq_max) {
		/* perf's -F max: the highest rate this kernel allows. */
		o->freq = max ? max : 1000;
		return;
	}
	if (max && o->freq > max) {
		warn("-F %llu is above kernel.perf_event_max_sample_rate; sampling at %llu Hz",
		     (unsigned long long)o->freq, max);
		o->freq = max;
	}
}

static void cb_freq(const struct opt *opt, const char *arg)
{
	ps_record_opts *o = opt->value;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	freq_max = !strcmp(arg, "max");
	if (freq_max)
		return;
	if (errno || end == arg || *end || v < 1 || v > 100000 || *arg == '-')
		die_usage("invalid --freq '%s' (1 to 100000 Hz, or max)", arg);
	o->freq = v;
}

/* SIGUSR1/SIGUSR2 without --switch-output: caught and dropped. A handler, not SIG_IGN,
 * so the profiled command still gets the default action after exec. */
static void on_ignored_signal(int sig) { (void)sig; }

static void on_rotate_signal(int sig)
{
	(void)sig;
	rotate_flag = 1;
}

/* --stat: the statistics sampler's records go into the trace between the samples. */
static int on_stat_interval(void *ctx, ps_trace_writer *w, uint64_t now_ns)
{
	long n = ps_sysstat_sample(ctx, now_ns, w, NULL, NULL);
	return n < 0 ? (int)n : 0;
}

/* What the command line asks for, beyond ps_record_opts itself. */
struct record_cli {
	ps_record_opts o;
	struct rotation rot;
	const char *out, *control;
	int level, quiet, embed, stat;
	double duration;
	int cpus[4096];
	int heap;           /* --heap */
	uint64_t heap_rate; /* --heap-rate */
};

static void cb_fp(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	(void)arg;
	c->o.callgraph = PS_CG_FP;
}

static void cb_call_graph(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	if (!strcmp(arg, "fp")) {
		c->o.callgraph = PS_CG_FP;
	} else if (!strncmp(arg, "dwarf", 5) && (arg[5] == '\0' || arg[5] == ',')) {
		c->o.callgraph = PS_CG_DWARF;
		if (arg[5] == ',')
			c->o.stack_size = (uint32_t)parse_u64("--call-graph stack size", arg + 6, 8,
							      65528);
		c->o.stack_size = (c->o.stack_size + 7) & ~7u;
	} else {
		die_usage("unknown call graph mode '%s' (known: fp, dwarf[,BYTES])", arg);
	}
}

static pid_t *id_list(const char *what, const char *arg, size_t *n)
{
	uint32_t *ids;
	*n = parse_id_list(what, arg, &ids);
	pid_t *p = arg_alloc(*n, sizeof(*p));
	for (size_t i = 0; i < *n; i++)
		p[i] = (pid_t)ids[i];
	return p;
}

static void cb_pid(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	c->o.pids = id_list("--pid", arg, &c->o.npids);
}

static void cb_tid(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	c->o.tids = id_list("--tid", arg, &c->o.ntids);
}

static void cb_cpu(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	int n = ps_parse_cpu_list(arg, c->cpus, 4096);
	if (n <= 0)
		die_usage("invalid CPU list '%s' (expected e.g. 0-3,6)", arg);
	c->o.cpus = c->cpus;
	c->o.ncpus = (size_t)n;
}

static void cb_control(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	if (strncmp(arg, "fifo:", 5) || !arg[5])
		die_usage("invalid --control '%s' (expected fifo:PATH)", arg);
	c->control = arg + 5;
}

static void cb_switch_output(const struct opt *opt, const char *arg)
{
	struct record_cli *c = opt->value;
	c->rot.active = 1;
	if (arg && strcmp(arg, "signal")) {
		char *end;
		double v = strtod(arg, &end);
		double unit = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
		if (end == arg || !unit || !(v > 0))
			die_usage("invalid --switch-output '%s' (signal, Ns, Nm or Nh)", arg);
		c->o.rotate_ms = (uint64_t)(v * unit * 1000);
	}
}

static const char record_usage[] =
	"usage: perfsample record [options] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Samples stacks with perf_event_open and writes a trace (default perfsample.data).\n";

/* The header's command line: "perfsample record" and the arguments as given. */
static const char *record_cmdline(int argc, char **argv)
{
	ps_buf cl = {0};
	int err = ps_buf_addstr(&cl, "perfsample record");
	for (int i = 1; i < argc && i < 256 && !err; i++)
		err = ps_buf_printf(&cl, " %s", argv[i]);
	if (err)
		die("out of memory");
	const char *s = arg_strdup(cl.data);
	ps_buf_release(&cl);
	return s;
}

int cmd_record(int argc, char **argv)
{
	struct record_cli c = {.out = DEFAULT_TRACE, .embed = 1};
	ps_record_opts *o = &c.o;
	o->control_fd = -1;
	o->heap_fd = -1;
	c.heap_rate = HEAP_DEFAULT_RATE;
	const char *cmdline = record_cmdline(argc, argv);
	const struct opt options[] = {
		OPT_GROUP("how:"),
		OPT_CALLBACK('F', "freq", o, "HZ|max",
			     "samples per second (default 99); max: kernel.perf_event_max_sample_rate",
			     cb_freq),
		OPT_U64('c', "count", &o->period, "PERIOD", "sample every PERIOD events instead", 1,
			UINT64_MAX / 2),
		OPT_STRING('e', "event", &o->event, "EVENT",
			   "cpu-clock (default), task-clock, cycles, instructions; cycles falls "
			   "back to cpu-clock without a hardware PMU"),
		OPT_CALLBACK('g', NULL, &c, NULL, "call graphs from frame pointers (--call-graph fp)",
			     cb_fp),
		OPT_CALLBACK(0, "call-graph", &c, "MODE",
			     "fp, or dwarf[,BYTES] (user stack copied per sample, default 8192, "
			     "unwound with DWARF at record time)",
			     cb_call_graph),
		OPT_BOOL(0, "no-kernel", &o->no_kernel, "user space only"),
		OPT_BOOL(0, "heap", &c.heap,
			 "sample the command's allocations (and the frees of sampled blocks) "
			 "through a preloaded library; alone, no CPU samples are taken, with -g "
			 "both go to one trace"),
		OPT_U64(0, "heap-rate", &c.heap_rate, "BYTES",
			"mean bytes allocated between heap samples (default 524288)", 1,
			1ull << 40),
		OPT_BOOL(0, "stat", &c.stat,
			 "also the system's and the targets' statistics from /proc every second, "
			 "as perfsample stat writes them (perfsample plot draws them)"),
		OPT_BOOL(0, "off-cpu", &o->off_cpu,
			 "also every context switch: blocked intervals with the stack each thread "
			 "waited in (for flamegraph/fold/report --off-cpu and --wall)"),
		OPT_U64(0, "off-cpu-period", &o->offcpu_period, "N",
			"--off-cpu: the stack of every Nth switch-out only (per thread and CPU; "
			"default 1, every one); every switch is still timed and each thread's "
			"blocked time shared out among its sampled stacks. Less "
			"overhead on threads that switch thousands of times a second; pick an N "
			"the workload's blocking pattern does not repeat with (a prime such as "
			"17 or 31)",
			1, UINT32_MAX),
		OPT_GROUP("what:"),
		OPT_BOOL('a', "all-cpus", &o->all_cpus, "the whole system, every CPU"),
		OPT_CALLBACK('p', "pid", &c, "PID[,..]",
			     "attach to processes (all their threads, and threads they start later)",
			     cb_pid),
		OPT_CALLBACK('t', "tid", &c, "TID[,..]", "attach to threads only", cb_tid),
		OPT_CALLBACK('C', "cpu", &c, "LIST", "only these CPUs, e.g. 0-3,6", cb_cpu),
		OPT_GROUP("when:"),
		OPT_DOUBLE('d', "duration", &c.duration, "SECONDS", "stop after this long", 0.001,
			   1e7),
		OPT_U64('D', "delay", &o->delay_ms, "MS",
			"start sampling MS milliseconds after launch", 0, 86400000),
		OPT_CALLBACK(0, "control", &c, "fifo:PATH",
			     "'enable', 'disable' or 'stop' written to PATH steer the recording; "
			     "with it, sampling starts disabled unless 'enable' is written",
			     cb_control),
		OPT_GROUP("output:"),
		OPT_STRING('o', "output", &c.out, "FILE", "the trace (default perfsample.data)"),
		OPT_INT('z', "compression", &c.level, "LEVEL", "zstd level, 1-19 (default 3)", 1, 19),
		OPT_SET_INT(0, "no-embed-symbols", &c.embed,
			    "do not store resolved names in the trace", 0),
		OPT_CALLBACK_F(0, "switch-output", &c, "signal|Ns|Nm|Nh",
			       "a new file on SIGUSR2 (the default) or every N seconds, minutes "
			       "or hours; files are OUT.YYYYMMDDHHMMSSmmm",
			       cb_switch_output, OPT_OPTARG),
		OPT_BOOL('q', "quiet", &c.quiet, "no status line or summary"),
		OPT_TEXT("Recording ends when the command exits, every target exits, -d expires, "
			 "or on SIGINT/SIGTERM; the trace is always whole. With a command, the exit "
			 "status is the command's. With -a, -p or -t, a command only bounds the "
			 "recording, as with perf: `record -a -g -- sleep 5`."),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, record_usage, PARSE_STOP_AT_NON_OPTION);
	o->duration_ms = (uint64_t)(c.duration * 1000);
	int targets = o->all_cpus + (o->npids > 0) + (o->ntids > 0);
	if (targets == 0 && argc == 0)
		usage_error("record", "nothing to record: give a command, -p PID, -t TID or -a");
	if (targets > 1)
		usage_error("record", "give one target: a command, -p, -t or -a");
	/* perf's idiom: with -a, -p or -t a command only says how long (`-a -- sleep 5`). */
	o->argv_bounds = targets == 1 && argc > 0;
	if (o->freq && o->period)
		usage_error("record", "give -F or -c, not both");
	if (c.out && !strcmp(c.out, "-"))
		usage_error("record", "-o -: a trace is written to a file and renamed when whole; "
				      "give a file name");
	clamp_freq(o);
	if (argc > 0)
		o->argv = argv;
	int heap_child_fd = -1;
	char heap_rate[32];
	snprintf(heap_rate, sizeof(heap_rate), "%llu", (unsigned long long)c.heap_rate);
	if (c.heap) {
		if (targets)
			usage_error("record", "--heap profiles a command it starts, not -a, -p or -t");
		/* Heap alone: a sample-less event keeps the mappings that name heap stacks. */
		if (!o->event && !o->freq && !o->period && o->callgraph == PS_CG_NONE)
			o->event = "dummy";
		o->heap_fd = heap_setup(o->argv, c.heap_rate, &heap_child_fd);
	}
	struct rotation *rot = &c.rot;
	const char *out = c.out;
	int quiet = c.quiet, level = c.level, embed = c.embed;
	int ctl_fd = -1;
	if (c.control) {
		const char *control = c.control;
		struct stat st;
		if (stat(control, &st) < 0) {
			if (mkfifo(control, 0600) < 0)
				die("cannot create fifo '%s': %s", control, strerror(errno));
		} else if (!S_ISFIFO(st.st_mode)) {
			die("cannot use '%s' for --control: not a fifo", control);
		}
		/* O_RDWR keeps the fifo open when writers come and go, so poll never sees EOF. */
		ctl_fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
		if (ctl_fd < 0)
			die("cannot open fifo '%s': %s", control, strerror(errno));
		/* Whoever can write the fifo controls the recording: a fifo planted beforehand
		 * must be the recording user's and not writable by others (checked on the open
		 * file, so it cannot be swapped in between). */
		if (fstat(ctl_fd, &st) < 0 || !S_ISFIFO(st.st_mode))
			die("cannot use '%s' for --control: not a fifo", control);
		if (st.st_uid != geteuid())
			die("cannot use '%s' for --control: owned by uid %u, not by the recording user",
			    control, (unsigned)st.st_uid);
		if (st.st_mode & S_IWOTH)
			die("cannot use '%s' for --control: writable by others (chmod o-w)", control);
		o->start_disabled = 1;
	}

	on_stop_signals(on_stop);
	/* perf's control signals must not kill a recording that does not use them. */
	struct sigaction si = {0};
	si.sa_handler = on_ignored_signal;
	sigemptyset(&si.sa_mask);
	si.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &si, NULL);
	sigaction(SIGUSR2, &si, NULL);
	/* A command that dies before it is released closes the pipe we write "go" to: that
	 * must be an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	o->stop = &stop_flag;

	/* The live status line is drawn only where it owns the terminal line: a profiled
	 * command writes to the same terminal (its output would land behind the status
	 * text), so then only the summary at the end is printed. */
	struct status_ctx sc = {!quiet && isatty(2) && !o->argv, 0};
	o->tick = on_tick;
	o->tick_ctx = &sc;

	/* Callbacks reach the recorder through these contexts, filled in once it exists. */
	struct control_ctx cc = {NULL, ctl_fd};
	if (ctl_fd >= 0) {
		o->control_fd = ctl_fd;
		o->on_control = on_control;
		o->control_ctx = &cc;
	}
	if (rot->active) {
		o->on_rotate = on_rotate;
		o->rotate_ctx = rot;
		o->rotate = &rotate_flag;
		struct sigaction su = {0};
		su.sa_handler = on_rotate_signal;
		sigemptyset(&su.sa_mask);
		sigaction(SIGUSR2, &su, NULL);
	}
	ps_sysstat *stat = NULL;
	if (c.stat) {
		enum ps_sysstat_scope scope = o->all_cpus ? PS_SYSSTAT_ALL
					      : o->npids  ? PS_SYSSTAT_PIDS
					      : o->ntids  ? PS_SYSSTAT_PIDS
							  : PS_SYSSTAT_CHILDREN;
		if (ps_sysstat_new(&stat, "", scope, o->npids ? o->pids : o->tids,
				   o->npids ? o->npids : o->ntids))
			die("out of memory");
		o->interval_ms = 1000;
		o->on_interval = on_stat_interval;
		o->interval_ctx = stat;
	}
	ps_record *rec;
	char err[512];
	int rc = ps_record_open(&rec, o, err, sizeof(err));
	if (rc)
		die("%s", err);
	cc.rec = rec;
	if (heap_child_fd >= 0)
		close(heap_child_fd); /* the command has it: EOF once every process of it is gone */
	for (const char *n = ps_record_notice(rec); n && *n && !quiet;) {
		int len = (int)strcspn(n, "\n");
		warn("%.*s", len, n);
		n += len + (n[len] == '\n');
	}

	/* The header says what was recorded, how and where. */
	char freq[32], period[32], start[64], ncpu[16];
	snprintf(freq, sizeof(freq), "%llu",
		 (unsigned long long)(o->period ? 0 : (o->freq ? o->freq : 99)));
	snprintf(period, sizeof(period), "%llu", (unsigned long long)o->period);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ncpu, sizeof(ncpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	struct utsname un;
	uname(&un);
	/* Which kernel: a reader elsewhere must not name kernel frames from its own. */
	char kbid[41] = "";
	ps_kernel_build_id("/sys/kernel/notes", kbid);
	const char *target = o->argv && !o->argv_bounds ? o->argv[0]
			     : o->all_cpus ? "all-cpus"
			     : o->npids    ? "pid"
					   : "tid";
	ps_kv meta[] = {
		{"version", PS_VERSION},
		{"cmdline", cmdline},
		{"event", ps_record_event_name(rec)},
		{"freq", freq},
		{"period", period},
		{"clock", "monotonic"},
		{"start_time", start},
		{"hostname", un.nodename},
		{"release", un.release},
		{"kernel_build_id", kbid},
		{"ncpus", ncpu},
		{"callgraph", o->callgraph == PS_CG_DWARF ? "dwarf"
			      : o->callgraph == PS_CG_FP  ? "fp"
							  : "none"},
		{"target", target},
		{"off_cpu", o->off_cpu ? "1" : "0"},
		{"heap_rate", heap_rate}, /* last: only with --heap */
	};
	size_t nmeta = sizeof(meta) / sizeof(meta[0]) - (c.heap ? 0 : 1);
	ps_trace_writer *w;
	const char *first = out;
	if (rot->active) {
		rot->base = out;
		rot->meta = meta;
		rot->nmeta = nmeta;
		rot->level = level;
		rot->embed = embed;
		rot->quiet = quiet;
		rotated_name(rot);
		first = rot->path;
	}
	rc = ps_trace_create(&w, first, meta, nmeta, level);
	if (rc) {
		ps_record_free(rec);
		if (rc == -EBUSY)
			die("cannot write '%s.partial': another recording is writing it", out);
		die("cannot write '%s': %s", out, ps_strerror(rc));
	}

	rc = ps_record_run(rec, &w, err, sizeof(err));
	if (sc.live)
		fputs("\r\033[K", stderr);
	ps_stats st = ps_record_stats(rec);
	st = file_stats(rot, &st);
	int status = ps_record_child_status(rec);
	uint64_t heap_allocs = 0, heap_frees = 0, heap_bad = 0;
	ps_record_heap_counts(rec, &heap_allocs, &heap_frees, &heap_bad);
	if (rc) {
		ps_record_free(rec); /* stops the command, as at any end */
		if (storage_error(rc)) /* w is NULL when finishing a rotated file failed */
			die_storage(rot->active ? rot->path : out, rc, w ? ps_trace_salvage(w) : rot->kept);
		ps_trace_abort(w);
		die("%s", *err ? err : "recording failed");
	}
	ps_record_free(rec);
	ps_sysstat_free(stat);
	status = status >= 0 ? status : -1;

	uint64_t kept = 0;
	rc = finish_trace(w, embed, &st, quiet, rot->active ? rot->path : out, &kept);
	if (storage_error(rc))
		die_storage(rot->active ? rot->path : out, rc, kept);
	if (rc)
		die("cannot write '%s': %s", rot->active ? rot->path : out, ps_strerror(rc));
	if (rot->active && !quiet)
		note("wrote %d files %s.*", rot->nfiles + 1, out);
	if (c.heap && !quiet)
		fprintf(stderr, "[ perfsample record: %llu heap samples, %llu frees of sampled blocks ]\n",
			(unsigned long long)heap_allocs, (unsigned long long)heap_frees);
	if (c.heap && heap_bad)
		warn("dropped %llu malformed heap message(s) from the target",
		     (unsigned long long)heap_bad);
	if (ctl_fd >= 0)
		close(ctl_fd);
	if (o->argv && status >= 0) {
		if (WIFSIGNALED(status)) {
			int sig = WTERMSIG(status);
			note("'%s' was killed by signal %d (%s)", o->argv[0], sig, strsignal(sig));
			return 128 + sig;
		}
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
	}
	return 0;
}
