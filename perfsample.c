/* perfsample: main and the command table. The one place that composes profiler/,
 * symbolize/ and render/, and the only one that prints errors or exits. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_perfscript.h"
#include "formats/ps_profile.h"
#include "formats/ps_trace.h"
#include "formats/ps_util.h"
#include "profiler/ps_record.h"
#include "render/ps_callgraph.h"
#include "render/ps_export.h"
#include "render/ps_flame.h"
#include "render/ps_report.h"
#include "symbolize/ps_sym.h"

#define PS_VERSION "0.1.0"
#define DEFAULT_TRACE "perfsample.data"

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("perfsample: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;
	fputs("perfsample: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* What the command line is parsed into (option tables, id lists) lives as long as the
 * process: one arena, never freed, so every exit path (--help, die) leaves nothing behind. */
static ps_arena *arg_arena;
static void *arg_alloc(size_t n, size_t size)
{
	if (!arg_arena && !(arg_arena = ps_arena_new()))
		die("out of memory");
	size_t bytes = n * size + 1;
	void *p = ps_arena_alloc(arg_arena, bytes);
	if (!p)
		die("out of memory");
	memset(p, 0, bytes);
	return p;
}

/* Prints a command's usage to stdout (for --help) and exits 0. */
static void help(const char *text)
{
	fputs(text, stdout);
	exit(0);
}

static void bad_usage(const char *cmd)
{
	die("bad usage of '%s' (see 'perfsample %s --help')", cmd, cmd);
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max)
		die("invalid %s '%s' (expected a whole number from %llu to %llu)", what, s,
		    (unsigned long long)min, (unsigned long long)max);
	return v;
}

static double parse_double(const char *what, const char *s, double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= min && v <= max))
		die("invalid %s '%s'", what, s);
	return v;
}

/* "1,2,3" -> array of ids. */
static size_t parse_id_list(const char *what, const char *s, uint32_t **out)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	uint32_t *ids = arg_alloc(n, sizeof(*ids));
	n = 0;
	char *copy = strdup(s), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ids[n++] = (uint32_t)parse_u64(what, tok, 1, INT_MAX);
	free(copy);
	if (!n)
		die("invalid %s '%s'", what, s);
	*out = ids;
	return n;
}

/* ---- output files: written under a temporary name, renamed when whole ---- */

struct outfile {
	FILE *f;
	char *path, *tmp;
};

static void out_open(struct outfile *o, const char *path)
{
	o->path = NULL;
	o->tmp = NULL;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
		return;
	}
	o->path = strdup(path);
	o->tmp = malloc(strlen(path) + 32);
	sprintf(o->tmp, "%s.tmp.%d", path, (int)getpid());
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot write '%s': %s", path, strerror(errno));
	o->f = fdopen(fd, "wb");
	if (!o->f)
		die("cannot write '%s': %s", path, strerror(errno));
}

static void out_abort(struct outfile *o)
{
	if (o->tmp) {
		fclose(o->f);
		unlink(o->tmp);
	}
}

static void out_close(struct outfile *o)
{
	int bad = ferror(o->f);
	int e = bad ? (errno ? errno : EIO) : 0;
	if (o->f == stdout) {
		if (fflush(stdout) != 0 || bad)
			die("cannot write the output: %s", strerror(errno ? errno : EIO));
		return;
	}
	if (fclose(o->f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(o->tmp);
		die("cannot write '%s': %s", o->path, strerror(e));
	}
	if (rename(o->tmp, o->path) < 0) {
		e = errno;
		unlink(o->tmp);
		die("cannot write '%s': %s", o->path, strerror(e));
	}
	free(o->path);
	free(o->tmp);
}

/* ---- reading traces ---- */

static ps_trace_reader *open_trace(const char *path)
{
	ps_trace_reader *r;
	int err = ps_trace_open(&r, path);
	if (err == -ENOENT)
		die("cannot open '%s': no such file (record one with 'perfsample record')", path);
	if (err == PS_EEMPTY)
		die("cannot read '%s': the file is empty", path);
	if (err == PS_EFORMAT)
		die("cannot read '%s': not a perfsample trace", path);
	if (err == PS_ETRUNC)
		die("cannot read '%s': truncated inside its header", path);
	if (err)
		die("cannot read '%s': %s", path, ps_strerror(err));
	return r;
}

static void trace_read_done(ps_trace_reader *r, const char *path, int err)
{
	if (err == PS_ECORRUPT)
		die("cannot read '%s': corrupt data after %llu whole chunks", path,
		    (unsigned long long)ps_trace_get_status(r).chunks);
	if (err < 0)
		die("cannot read '%s': %s", path, ps_strerror(err));
	ps_trace_status st = ps_trace_get_status(r);
	if (st.dropped_bytes)
		warn("'%s' is truncated: read %llu whole chunks, dropped the last %llu bytes", path,
		     (unsigned long long)st.chunks, (unsigned long long)st.dropped_bytes);
}

struct trace_summary {
	ps_stats stats;
	int have_stats;
	uint64_t samples, lost, throttled, mmaps, comms, forks, exits, symbols;
	uint64_t first_time, last_time;
	int kernel_hidden;
};

static void summarize(ps_trace_reader *r, const char *path, struct trace_summary *s)
{
	memset(s, 0, sizeof(*s));
	ps_event ev;
	int got;
	ps_trace_rewind(r);
	while ((got = ps_trace_next(r, &ev)) > 0) {
		switch (ev.type) {
		case PS_REC_SAMPLE:
			s->samples++;
			if (!s->first_time || ev.sample.time < s->first_time)
				s->first_time = ev.sample.time;
			if (ev.sample.time > s->last_time)
				s->last_time = ev.sample.time;
			break;
		case PS_REC_LOST:
			s->lost += ev.lost;
			break;
		case PS_REC_THROTTLE:
			s->throttled += !ev.throttle.unthrottle;
			break;
		case PS_REC_MMAP:
			s->mmaps++;
			break;
		case PS_REC_COMM:
			s->comms++;
			break;
		case PS_REC_FORK:
			s->forks++;
			break;
		case PS_REC_EXIT:
			s->exits++;
			break;
		case PS_REC_SYMBOL:
			s->symbols++;
			break;
		case PS_REC_STATS:
			s->stats = ev.stats;
			s->have_stats = 1;
			break;
		case PS_REC_NOTE:
			if (!strcmp(ev.note.key, "kernel_hidden"))
				s->kernel_hidden = 1;
			break;
		default:
			break;
		}
	}
	trace_read_done(r, path, got);
}

/* ---- where stacks come from: a trace, folded text, or perf-script text ---- */

struct source {
	const char *trace;      /* -i */
	const char *folded;     /* --folded FILE|- */
	const char *perfscript; /* --input perf-script FILE|- */
	const char *input_format; /* --input FORMAT: its file is the operand (take_input) */
	int strict;             /* malformed folded lines are fatal */
	ps_sym_opts sym;
	unsigned collapse;      /* PS_COLLAPSE_* for perf-script input */
	const char *event_filter; /* perf-script input: keep this event (default: the first) */
	int weight_period;
};

static void source_init(struct source *s)
{
	memset(s, 0, sizeof(*s));
	ps_sym_opts_init(&s->sym);
}

static FILE *open_text(const char *path)
{
	if (!strcmp(path, "-"))
		return stdin;
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
		die("cannot read '%s': is a directory", path);
	return f;
}

struct folded_warn {
	const char *path;
	size_t n;
	int strict; /* the first bad line ends the read: keep it for the one error line */
	size_t lineno;
	const char *reason;
};

static void on_folded_warn(void *ctx, size_t lineno, const char *reason)
{
	struct folded_warn *w = ctx;
	if (w->strict) {
		w->lineno = lineno;
		w->reason = reason;
		return;
	}
	if (w->n++ < 10)
		warn("%s:%zu: %s; line skipped", w->path, lineno, reason);
	else if (w->n == 11)
		warn("%s: more malformed lines skipped", w->path);
}

static void on_collapse_warn(void *ctx, size_t lineno, const char *msg)
{
	const char *path = ctx;
	(void)lineno;
	(void)path;
	(void)msg;
	/* stackcollapse-perf.pl's remarks (unrecognised lines, the event it keeps) are noise
	 * for users of a pipe; errors are reported by the return code. */
}

static int source_is_trace(const struct source *s) { return !s->folded && !s->perfscript; }

/* Loads the stacks. The trace summary is filled when the source is a trace. */
static ps_profile *load_profile(struct source *s, unsigned pflags, struct trace_summary *sum)
{
	ps_profile *p = ps_profile_new(pflags);
	if (!p)
		die("out of memory");
	if (sum)
		memset(sum, 0, sizeof(*sum));
	if (s->folded) {
		FILE *f = open_text(s->folded);
		struct folded_warn w = {strcmp(s->folded, "-") ? s->folded : "<stdin>", 0, s->strict,
					0, NULL};
		int err = ps_profile_read_folded(p, f, s->strict ? PS_FOLDED_STRICT : 0,
						 on_folded_warn, &w);
		if (err == PS_EFORMAT)
			die("%s:%zu: malformed folded line: %s", w.path, w.lineno,
			    w.reason ? w.reason : "?");
		if (err)
			die("cannot read '%s': %s", w.path, ps_strerror(err));
		if (f != stdin)
			fclose(f);
		return p;
	}
	if (s->perfscript) {
		FILE *f = open_text(s->perfscript);
		ps_collapse_opts co = {s->collapse, s->event_filter, on_collapse_warn,
				       (void *)s->perfscript};
		int err = ps_perfscript_collapse_opts(f, &co, p);
		if (err)
			die("cannot read '%s': %s", s->perfscript, ps_strerror(err));
		if (f != stdin)
			fclose(f);
		return p;
	}
	const char *path = s->trace ? s->trace : DEFAULT_TRACE;
	ps_trace_reader *r = open_trace(path);
	if (sum)
		summarize(r, path, sum);
	ps_sym_report rep;
	int err = ps_sym_profile(r, &s->sym, s->weight_period, p, &rep);
	trace_read_done(r, path, err);
	ps_trace_close(r);
	return p;
}

/* Long options shared by the commands that read stacks. */
enum {
	OPT_FOLDED = 1000,
	OPT_INPUT,
	OPT_PID,
	OPT_TID,
	OPT_KERNEL,
	OPT_JIT,
	OPT_ALL,
	OPT_ADDRS,
	OPT_INLINE,
	OPT_NO_INLINE,
	OPT_LINES,
	OPT_NO_DEMANGLE,
	OPT_COMM,
	OPT_STRICT,
	OPT_PERIOD,
	OPT_SELECT_PID,
	OPT_SELECT_TID,
	OPT_NO_EMBED,
	OPT_CONTROL,
	OPT_DEBUG_DIR,
	OPT_EVENT_FILTER,
	OPT_FLAME, /* flamegraph.pl options: OPT_FLAME + index into ps_flame_optdefs */
};

/* Handles an option common to stack readers; returns 1 when it was one. */
static int source_option(struct source *s, int c, const char *arg)
{
	switch (c) {
	case 'i':
		s->trace = arg;
		return 1;
	case OPT_FOLDED:
		s->folded = arg;
		return 1;
	case OPT_INPUT:
		if (strcmp(arg, "perf-script") && strcmp(arg, "folded") && strcmp(arg, "trace"))
			die("unknown input format '%s' (known: trace, folded, perf-script)", arg);
		s->input_format = arg; /* the file follows as an operand: see take_input */
		return 1;
	case OPT_INLINE:
		s->sym.inline_frames = 1;
		return 1;
	case OPT_NO_INLINE:
		s->sym.inline_frames = 0;
		return 1;
	case OPT_LINES:
		s->sym.lines = 1;
		return 1;
	case OPT_NO_DEMANGLE:
		s->sym.demangle = 0;
		return 1;
	case OPT_STRICT:
		s->strict = 1;
		return 1;
	case OPT_PERIOD:
		s->weight_period = 1;
		return 1;
	case OPT_DEBUG_DIR:
		s->sym.debug_dir = arg;
		return 1;
	case OPT_EVENT_FILTER:
		s->event_filter = arg;
		return 1;
	}
	return 0;
}

/* "--input FORMAT FILE": the format was checked by source_option; the file is the first
 * operand left (or "-"). */
static void take_input(struct source *s, int argc, char **argv, const char *cmd)
{
	const char *format = s->input_format;
	if (!format) {
		if (optind < argc) {
			if (s->trace || s->folded)
				bad_usage(cmd);
			s->trace = argv[optind++];
		}
	} else {
		const char *file = optind < argc ? argv[optind++] : "-";
		if (!strcmp(format, "perf-script"))
			s->perfscript = file;
		else if (!strcmp(format, "folded"))
			s->folded = file;
		else
			s->trace = file;
	}
	if (optind < argc)
		bad_usage(cmd);
	if ((s->folded || s->perfscript) && s->trace)
		die("give one input: a trace (-i), --folded or --input");
}

/* ---- record ---- */

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

/* Ends a recording's file: resolves every sampled address now, while the binaries are
 * here, so the trace renders anywhere; writes the totals; renames it into place. */
static int finish_trace(ps_trace_writer *w, int embed, const ps_stats *st, int quiet,
			const char *path)
{
	int rc = ps_trace_flush(w);
	uint64_t embedded = 0;
	if (!rc && embed) {
		ps_trace_reader *r;
		rc = ps_trace_open(&r, ps_trace_partial_path(w));
		if (!rc) {
			ps_sym_opts so;
			ps_sym_opts_init(&so);
			so.lines = 1;
			ps_sym_report rep;
			rc = ps_sym_embed(r, &so, w, &rep);
			embedded = rep.embedded;
			ps_trace_close(r);
		}
	}
	if (!rc) {
		ps_event ev = {.type = PS_REC_STATS, .stats = *st};
		rc = ps_trace_write(w, &ev);
	}
	uint64_t bytes = ps_trace_bytes(w);
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
	int rc = finish_trace(*w, rot->embed, &fs, rot->quiet, rot->path);
	*w = NULL;
	if (rc)
		return rc;
	rot->nfiles++;
	rot->last = *st;
	rotated_name(rot);
	return ps_trace_create(w, rot->path, rot->meta, rot->nmeta, rot->level);
}

static void on_rotate_signal(int sig)
{
	(void)sig;
	rotate_flag = 1;
}

static const char record_help[] =
	"usage: perfsample record [options] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Samples stacks with perf_event_open and writes a trace (default perfsample.data).\n"
	"\n"
	"  -F, --freq HZ            samples per second (default 99)\n"
	"  -c, --count PERIOD       sample every PERIOD events instead\n"
	"  -e, --event EVENT        cpu-clock (default), task-clock, cycles, instructions;\n"
	"                           cycles falls back to cpu-clock without a hardware PMU\n"
	"  -g                       call graphs from frame pointers (--call-graph fp)\n"
	"      --call-graph MODE    fp, or dwarf[,BYTES] (user stack copied per sample,\n"
	"                           default 8192, unwound with DWARF at record time)\n"
	"  -a, --all-cpus           the whole system, every CPU\n"
	"  -p, --pid PID[,PID..]    attach to processes (all their threads, and threads\n"
	"                           they start later)\n"
	"  -t, --tid TID[,TID..]    attach to threads only\n"
	"  -C, --cpu LIST           only these CPUs, e.g. 0-3,6\n"
	"  -d, --duration SECONDS   stop after this long\n"
	"  -D, --delay MS           start sampling MS milliseconds after launch\n"
	"  -o, --output FILE        the trace (default perfsample.data)\n"
	"  -z, --compression LEVEL  zstd level, 1-19 (default 3)\n"
	"      --no-kernel          user space only\n"
	"      --control fifo:PATH  'enable', 'disable' or 'stop' written to PATH steer the\n"
	"                           recording; with it, sampling starts disabled unless\n"
	"                           'enable' is written\n"
	"      --no-embed-symbols   do not store resolved names in the trace\n"
	"      --switch-output[=signal|Ns|Nm]  a new file on SIGUSR2 (default) or every N\n"
	"                           seconds/minutes; files are OUT.YYYYMMDDHHMMSSmmm\n"
	"  -q, --quiet              no status line or summary\n"
	"\n"
	"Recording ends when the command exits, every target exits, -d expires, or on\n"
	"SIGINT/SIGTERM; the trace is always whole. With a command, the exit status is the\n"
	"command's.\n";

static int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"freq", required_argument, 0, 'F'},
		{"count", required_argument, 0, 'c'},
		{"event", required_argument, 0, 'e'},
		{"call-graph", required_argument, 0, 'G'},
		{"all-cpus", no_argument, 0, 'a'},
		{"pid", required_argument, 0, 'p'},
		{"tid", required_argument, 0, 't'},
		{"cpu", required_argument, 0, 'C'},
		{"duration", required_argument, 0, 'd'},
		{"delay", required_argument, 0, 'D'},
		{"output", required_argument, 0, 'o'},
		{"compression", required_argument, 0, 'z'},
		{"no-kernel", no_argument, 0, 'K'},
		{"control", required_argument, 0, OPT_CONTROL},
		{"no-embed-symbols", no_argument, 0, OPT_NO_EMBED},
		{"switch-output", optional_argument, 0, 'S'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	ps_record_opts o = {0};
	o.control_fd = -1;
	struct rotation rot = {0};
	const char *out = DEFAULT_TRACE, *control = NULL;
	int level = 0, quiet = 0, embed = 1;
	uint32_t *pids = NULL, *tids = NULL;
	size_t npids = 0, ntids = 0;
	int cpus[4096];
	int c;
	while ((c = getopt_long(argc, argv, "+F:c:e:gap:t:C:d:D:o:z:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			o.freq = parse_u64("frequency", optarg, 1, 100000);
			break;
		case 'c':
			o.period = parse_u64("period", optarg, 1, UINT64_MAX / 2);
			break;
		case 'e':
			o.event = optarg;
			break;
		case 'g':
			o.callgraph = PS_CG_FP;
			break;
		case 'G':
			if (!strcmp(optarg, "fp")) {
				o.callgraph = PS_CG_FP;
			} else if (!strncmp(optarg, "dwarf", 5) &&
				   (optarg[5] == '\0' || optarg[5] == ',')) {
				o.callgraph = PS_CG_DWARF;
				if (optarg[5] == ',')
					o.stack_size = (uint32_t)parse_u64(
						"stack size", optarg + 6, 8, 65528);
				o.stack_size = (o.stack_size + 7) & ~7u;
			} else {
				die("unknown call graph mode '%s' (known: fp, dwarf[,BYTES])", optarg);
			}
			break;
		case 'a':
			o.all_cpus = 1;
			break;
		case 'p':
			npids = parse_id_list("pid", optarg, &pids);
			break;
		case 't':
			ntids = parse_id_list("tid", optarg, &tids);
			break;
		case 'C': {
			int n = ps_parse_cpu_list(optarg, cpus, 4096);
			if (n <= 0)
				die("invalid CPU list '%s'", optarg);
			o.cpus = cpus;
			o.ncpus = (size_t)n;
			break;
		}
		case 'd':
			o.duration_ms = (uint64_t)(parse_double("duration", optarg, 0.001, 1e7) * 1000);
			break;
		case 'D':
			o.delay_ms = parse_u64("delay", optarg, 0, 86400000);
			break;
		case 'o':
			out = optarg;
			break;
		case 'z':
			level = (int)parse_u64("compression level", optarg, 1, 19);
			break;
		case 'K':
			o.no_kernel = 1;
			break;
		case OPT_CONTROL:
			if (strncmp(optarg, "fifo:", 5) || !optarg[5])
				die("invalid --control '%s' (expected fifo:PATH)", optarg);
			control = optarg + 5;
			break;
		case OPT_NO_EMBED:
			embed = 0;
			break;
		case 'S':
			rot.active = 1;
			if (optarg && strcmp(optarg, "signal")) {
				char *end;
				double v = strtod(optarg, &end);
				double unit = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
					      : !strcmp(end, "h") ? 3600 : 0;
				if (end == optarg || !unit || !(v > 0))
					die("invalid --switch-output '%s' (signal, Ns, Nm or Nh)",
					    optarg);
				o.rotate_ms = (uint64_t)(v * unit * 1000);
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			help(record_help);
			break;
		default:
			bad_usage("record");
		}
	}
	int targets = (optind < argc) + o.all_cpus + (npids > 0) + (ntids > 0);
	if (targets == 0)
		die("nothing to record: give a command, -p PID, -t TID or -a");
	if (targets > 1)
		die("give one target: a command, -p, -t or -a");
	if (o.freq && o.period)
		die("give -F or -c, not both");
	if (optind < argc)
		o.argv = argv + optind;
	pid_t *p = NULL;
	if (npids) {
		p = arg_alloc(npids, sizeof(*p));
		for (size_t i = 0; i < npids; i++)
			p[i] = (pid_t)pids[i];
		o.pids = p;
		o.npids = npids;
	}
	pid_t *t = NULL;
	if (ntids) {
		t = arg_alloc(ntids, sizeof(*t));
		for (size_t i = 0; i < ntids; i++)
			t[i] = (pid_t)tids[i];
		o.tids = t;
		o.ntids = ntids;
	}
	int ctl_fd = -1;
	if (control) {
		struct stat st;
		if (stat(control, &st) < 0) {
			if (mkfifo(control, 0600) < 0)
				die("cannot create fifo '%s': %s", control, strerror(errno));
		} else if (!S_ISFIFO(st.st_mode)) {
			die("cannot use '%s' for --control: not a fifo", control);
		}
		/* O_RDWR keeps the fifo open when writers come and go, so poll never sees EOF. */
		ctl_fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (ctl_fd < 0)
			die("cannot open fifo '%s': %s", control, strerror(errno));
		o.start_disabled = 1;
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A command that dies before it is released closes the pipe we write "go" to: that
	 * must be an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	o.stop = &stop_flag;

	struct status_ctx sc = {!quiet && isatty(2), 0};
	o.tick = on_tick;
	o.tick_ctx = &sc;

	/* Callbacks reach the recorder through these contexts, filled in once it exists. */
	struct control_ctx cc = {NULL, ctl_fd};
	if (ctl_fd >= 0) {
		o.control_fd = ctl_fd;
		o.on_control = on_control;
		o.control_ctx = &cc;
	}
	if (rot.active) {
		o.on_rotate = on_rotate;
		o.rotate_ctx = &rot;
		o.rotate = &rotate_flag;
		struct sigaction su = {0};
		su.sa_handler = on_rotate_signal;
		sigemptyset(&su.sa_mask);
		sigaction(SIGUSR2, &su, NULL);
	}
	ps_record *rec;
	char err[512];
	int rc = ps_record_open(&rec, &o, err, sizeof(err));
	if (rc)
		die("%s", err);
	cc.rec = rec;
	if (ps_record_notice(rec) && !quiet)
		warn("%s", ps_record_notice(rec));

	/* The header says what was recorded, how and where. */
	char cmdline[4096] = "", freq[32], period[32], start[64], ncpu[16];
	ps_buf cl = {0};
	for (int i = 0; i < argc + 1 && i < 256; i++) {
		const char *a = i == 0 ? "perfsample" : argv[i - 1];
		if (i == 1)
			continue; /* argv[0] is "record", printed next */
		ps_buf_printf(&cl, "%s%s", i ? " " : "", i == 0 ? a : a);
	}
	snprintf(cmdline, sizeof(cmdline), "perfsample record%s",
		 cl.data && strchr(cl.data, ' ') ? strchr(cl.data, ' ') : "");
	ps_buf_release(&cl);
	snprintf(freq, sizeof(freq), "%llu", (unsigned long long)(o.period ? 0 : (o.freq ? o.freq : 99)));
	snprintf(period, sizeof(period), "%llu", (unsigned long long)o.period);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ncpu, sizeof(ncpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	struct utsname un;
	uname(&un);
	const char *target = o.argv ? o.argv[0] : o.all_cpus ? "all-cpus" : npids ? "pid" : "tid";
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
		{"ncpus", ncpu},
		{"callgraph", o.callgraph == PS_CG_DWARF ? "dwarf" : o.callgraph == PS_CG_FP ? "fp" : "none"},
		{"target", target},
	};
	ps_trace_writer *w;
	const char *first = out;
	if (rot.active) {
		rot.base = out;
		rot.meta = meta;
		rot.nmeta = sizeof(meta) / sizeof(meta[0]);
		rot.level = level;
		rot.embed = embed;
		rot.quiet = quiet;
		rotated_name(&rot);
		first = rot.path;
	}
	rc = ps_trace_create(&w, first, meta, sizeof(meta) / sizeof(meta[0]), level);
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
	st = file_stats(&rot, &st);
	int status = ps_record_child_status(rec);
	if (rc) {
		ps_trace_abort(w);
		ps_record_free(rec);
		if (rc == -ENOSPC || rc == -EIO || rc == -EDQUOT || rc == -EFBIG)
			die("cannot write '%s': %s", rot.active ? rot.path : out, ps_strerror(rc));
		die("%s", *err ? err : "recording failed");
	}
	ps_record_free(rec);
	status = status >= 0 ? status : -1;

	rc = finish_trace(w, embed, &st, quiet, rot.active ? rot.path : out);
	if (rc)
		die("cannot write '%s': %s", rot.active ? rot.path : out, ps_strerror(rc));
	if (rot.active && !quiet)
		warn("wrote %d files %s.*", rot.nfiles + 1, out);
	if (ctl_fd >= 0)
		close(ctl_fd);
	if (o.argv && status >= 0) {
		if (WIFSIGNALED(status)) {
			int sig = WTERMSIG(status);
			warn("'%s' was killed by signal %d (%s)", o.argv[0], sig, strsignal(sig));
			return 128 + sig;
		}
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
	}
	return 0;
}

/* ---- fold ---- */

static const char fold_help[] =
	"usage: perfsample fold [-i TRACE | --input perf-script FILE|-] [options]\n"
	"\n"
	"Prints folded stacks, as FlameGraph's stackcollapse-perf.pl does:\n"
	"'comm;root;...;leaf COUNT', one line per distinct stack, sorted.\n"
	"\n"
	"  -i, --input-file TRACE   the trace (default perfsample.data)\n"
	"      --input perf-script FILE|-   read `perf script` text instead; the output is\n"
	"                           byte for byte stackcollapse-perf.pl's\n"
	"      --pid                root frame 'comm-PID'\n"
	"      --tid                root frame 'comm-PID/TID'\n"
	"      --kernel             '_[k]' after kernel frames\n"
	"      --jit                '_[j]' after JIT frames\n"
	"      --all                --kernel and --jit\n"
	"      --addrs              unresolved frames as module+0xoffset (or raw addresses)\n"
	"      --inline, --no-inline  inlined functions as their own frames (default on)\n"
	"      --lines              add [file:line] where DWARF line info exists\n"
	"      --no-demangle        keep C++/Rust names mangled\n"
	"      --debug-dir DIR      where separate debug files are (default /usr/lib/debug)\n"
	"      --period             weight by sample period instead of counting samples\n"
	"      --event-filter EVENT with --input perf-script: keep EVENT's samples (default:\n"
	"                           the first event seen, as stackcollapse-perf.pl does)\n"
	"      --select-pid PID[,..] only these processes; --select-tid TID[,..] threads\n"
	"      --comm NAME          only threads with this name\n";

static const struct option stack_longopts[] = {
	{"input-file", required_argument, 0, 'i'},
	{"folded", required_argument, 0, OPT_FOLDED},
	{"input", required_argument, 0, OPT_INPUT},
	{"inline", no_argument, 0, OPT_INLINE},
	{"no-inline", no_argument, 0, OPT_NO_INLINE},
	{"lines", no_argument, 0, OPT_LINES},
	{"no-demangle", no_argument, 0, OPT_NO_DEMANGLE},
	{"strict", no_argument, 0, OPT_STRICT},
	{"period", no_argument, 0, OPT_PERIOD},
	{"comm", required_argument, 0, OPT_COMM},
	{"debug-dir", required_argument, 0, OPT_DEBUG_DIR},
	{"event-filter", required_argument, 0, OPT_EVENT_FILTER},
	{"help", no_argument, 0, 'h'},
};
#define N_STACK_LONGOPTS (sizeof(stack_longopts) / sizeof(stack_longopts[0]))

/* Builds a getopt table: the shared stack options, then extra. */
static struct option *build_longopts(const struct option *extra, size_t nextra)
{
	struct option *o = arg_alloc(N_STACK_LONGOPTS + nextra + 1, sizeof(*o));
	memcpy(o, stack_longopts, sizeof(stack_longopts));
	if (nextra) /* extra may be NULL: memcpy's source must not be, even for 0 bytes */
		memcpy(o + N_STACK_LONGOPTS, extra, nextra * sizeof(*o));
	return o;
}

static void select_filters(struct source *s, int c, const char *arg)
{
	uint32_t *ids;
	size_t n;
	switch (c) {
	case OPT_SELECT_PID:
		n = parse_id_list("pid", arg, &ids);
		s->sym.pids = ids;
		s->sym.npids = n;
		break;
	case OPT_SELECT_TID:
		n = parse_id_list("tid", arg, &ids);
		s->sym.tids = ids;
		s->sym.ntids = n;
		break;
	case OPT_COMM:
		s->sym.comm = arg;
		break;
	}
}

static int cmd_fold(int argc, char **argv)
{
	static const struct option extra[] = {
		{"pid", no_argument, 0, OPT_PID},
		{"tid", no_argument, 0, OPT_TID},
		{"kernel", no_argument, 0, OPT_KERNEL},
		{"jit", no_argument, 0, OPT_JIT},
		{"all", no_argument, 0, OPT_ALL},
		{"addrs", no_argument, 0, OPT_ADDRS},
		{"select-pid", required_argument, 0, OPT_SELECT_PID},
		{"select-tid", required_argument, 0, OPT_SELECT_TID},
	};
	struct option *longopts = build_longopts(extra, sizeof(extra) / sizeof(extra[0]));
	struct source s;
	source_init(&s);
	int c;
	while ((c = getopt_long(argc, argv, "i:h", longopts, NULL)) != -1) {
		if (source_option(&s, c, optarg))
			continue;
		switch (c) {
		case OPT_PID:
			s.collapse |= PS_COLLAPSE_PID;
			if (s.sym.root != PS_ROOT_TID)
				s.sym.root = PS_ROOT_PID;
			break;
		case OPT_TID:
			s.collapse |= PS_COLLAPSE_TID;
			s.sym.root = PS_ROOT_TID;
			break;
		case OPT_KERNEL:
			s.collapse |= PS_COLLAPSE_KERNEL;
			s.sym.annotate_kernel = 1;
			break;
		case OPT_JIT:
			s.collapse |= PS_COLLAPSE_JIT;
			s.sym.annotate_jit = 1;
			break;
		case OPT_ALL:
			s.collapse |= PS_COLLAPSE_ALL;
			s.sym.annotate_kernel = s.sym.annotate_jit = 1;
			break;
		case OPT_ADDRS:
			s.collapse |= PS_COLLAPSE_ADDRS;
			s.sym.addrs = 1;
			break;
		case OPT_SELECT_PID:
		case OPT_SELECT_TID:
		case OPT_COMM:
			select_filters(&s, c, optarg);
			break;
		case 'h':
			help(fold_help);
			break;
		default:
			bad_usage("fold");
		}
	}
	take_input(&s, argc, argv, "fold");
	ps_profile *p = load_profile(&s, 0, NULL);
	int err = ps_profile_write_folded(p, 0, stdout);
	if (err || fflush(stdout))
		die("cannot write the output: %s", strerror(errno ? errno : EIO));
	ps_profile_free(p);
	return 0;
}

/* ---- flamegraph and diff ---- */

static void flame_help(const char *usage)
{
	fputs(usage, stdout);
	fputs("\nflamegraph.pl's options:\n", stdout);
	for (const ps_flame_optdef *d = ps_flame_optdefs; d->name; d++)
		printf("      --%-18s %s\n", d->takes_value ? d->name : d->name, d->help);
	exit(0);
}

static const char flamegraph_usage[] =
	"usage: perfsample flamegraph [-i TRACE | --folded FILE|- | --input perf-script FILE|-]\n"
	"                             [options] > out.svg\n"
	"\n"
	"Writes an interactive SVG flame graph: click to zoom, Ctrl-F or the Search button\n"
	"to highlight frames matching a regex.\n"
	"\n"
	"  -i, --input-file TRACE   the trace (default perfsample.data)\n"
	"      --folded FILE|-      folded stacks from any tool\n"
	"      --input perf-script FILE|-   `perf script` text\n"
	"      --pid PID[,..]       only these processes (trace input)\n"
	"      --tid TID[,..]       only these threads (trace input)\n"
	"      --comm NAME          only threads with this name (trace input)\n"
	"      --kernel, --jit      annotate kernel '_[k]' / JIT '_[j]' frames (and colour\n"
	"                           them with --colors java/js)\n"
	"      --no-inline, --lines, --no-demangle   as for fold\n"
	"      --strict             malformed folded lines are an error, not skipped\n";

/* Parses flamegraph.pl's options into fo, and the stack source options into s. */
static void parse_flame_args(int argc, char **argv, const char *cmd, const char *usage,
			     struct source *s, ps_flame_opts *fo)
{
	size_t nflame = 0;
	while (ps_flame_optdefs[nflame].name)
		nflame++;
	static const struct option extra[] = {
		{"pid", required_argument, 0, OPT_SELECT_PID},
		{"tid", required_argument, 0, OPT_SELECT_TID},
		{"kernel", no_argument, 0, OPT_KERNEL},
		{"jit", no_argument, 0, OPT_JIT},
	};
	size_t nextra = sizeof(extra) / sizeof(extra[0]);
	struct option *all = arg_alloc(nflame + nextra, sizeof(*all));
	memcpy(all, extra, sizeof(extra));
	size_t n = nextra;
	for (size_t i = 0; i < nflame; i++) {
		const char *name = ps_flame_optdefs[i].name;
		int clash = 0;
		for (size_t k = 0; k < N_STACK_LONGOPTS; k++)
			clash |= stack_longopts[k].name && !strcmp(stack_longopts[k].name, name);
		for (size_t k = 0; k < nextra; k++)
			clash |= !strcmp(extra[k].name, name);
		if (clash)
			continue;
		all[n++] = (struct option){name, ps_flame_optdefs[i].takes_value ? required_argument
										: no_argument,
					   0, OPT_FLAME + (int)i};
	}
	struct option *longopts = build_longopts(all, n);
	int c;
	while ((c = getopt_long(argc, argv, "i:h", longopts, NULL)) != -1) {
		if (source_option(s, c, optarg))
			continue;
		if (c >= OPT_FLAME) {
			const ps_flame_optdef *d = &ps_flame_optdefs[c - OPT_FLAME];
			int err = ps_flame_opt_set(fo, d->name, d->takes_value ? optarg : NULL);
			if (err)
				die("invalid --%s '%s'", d->name, optarg ? optarg : "");
			continue;
		}
		switch (c) {
		case OPT_SELECT_PID:
		case OPT_SELECT_TID:
		case OPT_COMM:
			select_filters(s, c, optarg);
			break;
		case OPT_KERNEL:
			s->sym.annotate_kernel = 1;
			s->collapse |= PS_COLLAPSE_KERNEL;
			break;
		case OPT_JIT:
			s->sym.annotate_jit = 1;
			s->collapse |= PS_COLLAPSE_JIT;
			break;
		case 'h':
			flame_help(usage);
			break;
		default:
			bad_usage(cmd);
		}
	}
}

static void render_flame(ps_profile *p, ps_flame_opts *fo, const struct trace_summary *sum,
			 char *subtitle, size_t sublen)
{
	/* Lost or throttled samples are part of the picture's truth: say so under the title. */
	if (sum && !fo->subtitle && (sum->lost || sum->throttled)) {
		snprintf(subtitle, sublen, "warning: %llu samples lost, %llu throttled",
			 (unsigned long long)sum->lost, (unsigned long long)sum->throttled);
		fo->subtitle = subtitle;
	}
	int err = ps_flame_render(p, fo, stdout);
	if (err || fflush(stdout))
		die("cannot write the output: %s", err ? ps_strerror(err) : strerror(errno));
}

static int cmd_flamegraph(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_flame_opts fo;
	ps_flame_opts_init(&fo);
	parse_flame_args(argc, argv, "flamegraph", flamegraph_usage, &s, &fo);
	take_input(&s, argc, argv, "flamegraph");
	struct trace_summary sum;
	ps_profile *p = load_profile(&s, fo.flamechart ? PS_PROFILE_ORDERED : 0, &sum);
	char subtitle[128];
	render_flame(p, &fo, source_is_trace(&s) ? &sum : NULL, subtitle, sizeof(subtitle));
	ps_profile_free(p);
	return 0;
}

static const char diff_usage[] =
	"usage: perfsample diff [options] BEFORE AFTER > diff.svg\n"
	"\n"
	"A differential flame graph (as difffolded.pl + flamegraph.pl): widths from AFTER,\n"
	"red where a frame grew, blue where it shrank (--negate swaps). BEFORE and AFTER are\n"
	"traces, or folded files with --folded.\n"
	"\n"
	"      --folded             BEFORE and AFTER are folded stacks\n"
	"      --normalize          scale BEFORE to AFTER's total first (difffolded.pl -n)\n";

static int cmd_diff(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_flame_opts fo;
	ps_flame_opts_init(&fo);
	int folded = 0, normalize = 0;
	/* --folded and --normalize take no value here; strip them before the shared parser. */
	char **args = arg_alloc((size_t)argc + 1, sizeof(*args));
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--folded"))
			folded = 1;
		else if (!strcmp(argv[i], "--normalize") || !strcmp(argv[i], "-n"))
			normalize = 1;
		else
			args[n++] = argv[i];
	}
	parse_flame_args(n, args, "diff", diff_usage, &s, &fo);
	if (n - optind != 2)
		bad_usage("diff");
	ps_profile *prof[2];
	for (int i = 0; i < 2; i++) {
		struct source one = s;
		if (folded)
			one.folded = args[optind + i];
		else
			one.trace = args[optind + i];
		prof[i] = load_profile(&one, 0, NULL);
	}
	ps_profile *d = ps_profile_new(0);
	uint64_t t0 = ps_profile_total(prof[0], 0), t1 = ps_profile_total(prof[1], 0);
	double scale = normalize && t0 ? (double)t1 / (double)t0 : 1.0;
	/* Every stack of either side, with its before and after counts. */
	size_t n0, n1;
	const ps_stack *a = ps_profile_stacks(prof[0], &n0);
	const ps_stack *b = ps_profile_stacks(prof[1], &n1);
	size_t i = 0, j = 0;
	while (i < n0 || j < n1) {
		int cmp;
		if (i == n0)
			cmp = 1;
		else if (j == n1)
			cmp = -1;
		else {
			size_t m = a[i].len < b[j].len ? a[i].len : b[j].len;
			cmp = memcmp(a[i].folded, b[j].folded, m);
			if (!cmp)
				cmp = (a[i].len > b[j].len) - (a[i].len < b[j].len);
		}
		uint64_t before = cmp <= 0 ? (uint64_t)llround((double)a[i].count * scale) : 0;
		uint64_t after = cmp >= 0 ? b[j].count : 0;
		const ps_stack *st = cmp <= 0 ? &a[i] : &b[j];
		if (ps_profile_add2(d, st->folded, st->len, before, after))
			die("out of memory");
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
	}
	render_flame(d, &fo, NULL, NULL, 0);
	ps_profile_free(d);
	ps_profile_free(prof[0]);
	ps_profile_free(prof[1]);
	return 0;
}

/* ---- callgraph ---- */

static const char callgraph_help[] =
	"usage: perfsample callgraph [-i TRACE | --folded FILE|- | --input perf-script FILE|-]\n"
	"                            [options] > out.dot\n"
	"\n"
	"A gprof2dot-style call graph in Graphviz DOT (render with dot -Tsvg). A function's\n"
	"total counts once per sample however deep it recurses.\n"
	"\n"
	"  -n, --node-thres PCT     drop functions under PCT%% of samples (default 0.5)\n"
	"  -e, --edge-thres PCT     drop calls under PCT%% (default 0.1)\n"
	"      --root FUNC          only what FUNC calls (fnmatch pattern)\n"
	"      --leaf FUNC          only what leads to FUNC\n"
	"      --depth N            with --root/--leaf, at most N calls away\n"
	"      --hide FUNC          remove FUNC from stacks; its cost goes to its caller\n"
	"      --focus FUNC         only samples passing through FUNC\n"
	"      --pid, --tid         a root node per process (comm-PID) or thread\n"
	"      --exact-edges        edge share = samples holding the call (not gprof2dot's split)\n"
	"      --color-by-self      colour by self instead of total\n";

struct cg_fold {
	ps_profile *p;
	ps_buf line;
	enum ps_sym_root root;
};

/* Trace samples as frames under their process root, each in a mapping of its module, so
 * the graph shows modules as gprof2dot does. */
static int cg_fold_sample(void *ctx, const ps_sym_sample *s)
{
	struct cg_fold *cf = ctx;
	ps_buf *b = &cf->line;
	b->len = 0;
	int err = cf->root == PS_ROOT_TID   ? ps_buf_printf(b, "%s-%u/%u", s->comm, s->pid, s->tid)
		  : cf->root == PS_ROOT_PID ? ps_buf_printf(b, "%s-%u", s->comm, s->pid)
					    : ps_buf_addstr(b, s->comm);
	ps_frame_id id;
	ps_node_id at = PS_NODE_ROOT;
	if (!err)
		err = ps_profile_frame_named(cf->p, b->data ? b->data : "", b->len,
					     PS_FRAME_PROCESS, &id);
	if (!err)
		err = ps_profile_child(cf->p, at, id, &at);
	for (size_t i = s->nframes; i-- > 0 && !err;) {
		const ps_sym_frame *f = &s->frames[i];
		/* a frame per function: the graph has no use for addresses */
		ps_frame fr = {.name = f->name, .unresolved = !f->resolved};
		fr.kind = f->kernel    ? PS_FRAME_KERNEL
			  : f->jit     ? PS_FRAME_JIT
			  : f->inlined ? PS_FRAME_INLINE
				       : PS_FRAME_USER;
		if (f->resolved && f->module && *f->module)
			err = ps_profile_mapping(cf->p, &(ps_mapping){.path = f->module},
						 &fr.mapping);
		if (!err)
			err = ps_profile_frame(cf->p, &fr, &id);
		if (!err)
			err = ps_profile_child(cf->p, at, id, &at);
	}
	if (err)
		return err;
	uint64_t one[PS_PROFILE_MAX_COLS] = {1};
	ps_profile_sample ps = {.time = s->time, .pid = s->pid, .tid = s->tid, .node = at};
	return ps_profile_add_sample(cf->p, &ps, one);
}

struct cg_ps {
	ps_profile *p;
	unsigned flags;
};

static int cg_ps_sample(void *ctx, const ps_ps_sample *s)
{
	struct cg_ps *c = ctx;
	return ps_cg_add_perfscript_sample(c->p, s, c->flags);
}

static int cmd_callgraph(int argc, char **argv)
{
	static const struct option extra[] = {
		{"node-thres", required_argument, 0, 'n'},
		{"edge-thres", required_argument, 0, 'e'},
		{"root", required_argument, 0, 'R'},
		{"leaf", required_argument, 0, 'L'},
		{"depth", required_argument, 0, 'X'},
		{"hide", required_argument, 0, 'H'},
		{"focus", required_argument, 0, 'U'},
		{"pid", no_argument, 0, OPT_PID},
		{"tid", no_argument, 0, OPT_TID},
		{"exact-edges", no_argument, 0, 'x'},
		{"color-by-self", no_argument, 0, 'S'},
	};
	struct option *longopts = build_longopts(extra, sizeof(extra) / sizeof(extra[0]));
	struct source s;
	source_init(&s);
	ps_cg_opts co;
	ps_cg_opts_init(&co);
	const char **hide = arg_alloc((size_t)argc, sizeof(char *));
	const char **focus = arg_alloc((size_t)argc, sizeof(char *));
	size_t nhide = 0, nfocus = 0;
	unsigned split = 0;
	int c;
	while ((c = getopt_long(argc, argv, "i:n:e:h", longopts, NULL)) != -1) {
		if (source_option(&s, c, optarg))
			continue;
		switch (c) {
		case 'n':
			co.node_thres = parse_double("node threshold", optarg, 0, 100);
			break;
		case 'e':
			co.edge_thres = parse_double("edge threshold", optarg, 0, 100);
			break;
		case 'R':
			co.root = optarg;
			break;
		case 'L':
			co.leaf = optarg;
			break;
		case 'X':
			co.depth = (int)parse_u64("depth", optarg, 0, 100000);
			break;
		case 'H':
			hide[nhide++] = optarg;
			break;
		case 'U':
			focus[nfocus++] = optarg;
			break;
		case OPT_PID:
			split = PS_CG_PID;
			break;
		case OPT_TID:
			split = PS_CG_TID;
			break;
		case 'x':
			co.exact_edges = 1;
			break;
		case 'S':
			co.color_by_self = 1;
			break;
		case 'h':
			help(callgraph_help);
			break;
		default:
			bad_usage("callgraph");
		}
	}
	take_input(&s, argc, argv, "callgraph");
	co.hide = hide;
	co.nhide = nhide;
	co.focus = focus;
	co.nfocus = nfocus;
	co.keep_process = split != 0;
	ps_profile *p;
	if (s.perfscript) {
		p = ps_profile_new(0);
		FILE *f = open_text(s.perfscript);
		struct cg_ps cp = {p, split};
		int err = ps_perfscript_read(f, cg_ps_sample, &cp);
		if (err)
			die("cannot read '%s': %s", s.perfscript, ps_strerror(err));
		if (f != stdin)
			fclose(f);
	} else if (s.folded) {
		p = load_profile(&s, 0, NULL);
	} else {
		const char *path = s.trace ? s.trace : DEFAULT_TRACE;
		ps_trace_reader *r = open_trace(path);
		p = ps_profile_new(0);
		if (!p || ps_profile_add_type(p, "samples", "count") < 0)
			die("out of memory");
		struct cg_fold cf = {p, {0}, split == PS_CG_TID ? PS_ROOT_TID : split ? PS_ROOT_PID : PS_ROOT_COMM};
		int err = ps_sym_walk(r, &s.sym, cg_fold_sample, &cf, NULL);
		trace_read_done(r, path, err);
		ps_buf_release(&cf.line);
		ps_trace_close(r);
	}
	int err = ps_cg_render(p, &co, stdout);
	if (err == -ENOENT)
		die("--root/--leaf matches no function in the graph");
	if (err || fflush(stdout))
		die("cannot write the output: %s", ps_strerror(err ? err : -EIO));
	ps_profile_free(p);
	return 0;
}

/* ---- report ---- */

static const char report_help[] =
	"usage: perfsample report [-i TRACE | --folded FILE|-] [--sort self|total] [-n N]\n"
	"\n"
	"The top functions by self samples (where the CPU was) and total samples (on the\n"
	"stack), as text.\n";

static int cmd_report(int argc, char **argv)
{
	static const struct option extra[] = {
		{"sort", required_argument, 0, 's'},
		{"limit", required_argument, 0, 'n'},
	};
	struct option *longopts = build_longopts(extra, sizeof(extra) / sizeof(extra[0]));
	struct source s;
	source_init(&s);
	ps_report_opts ro = {.limit = 30};
	int c;
	while ((c = getopt_long(argc, argv, "i:n:s:h", longopts, NULL)) != -1) {
		if (source_option(&s, c, optarg))
			continue;
		switch (c) {
		case 's':
			if (!strcmp(optarg, "total"))
				ro.sort_total = 1;
			else if (strcmp(optarg, "self"))
				die("invalid --sort '%s' (self or total)", optarg);
			break;
		case 'n':
			ro.limit = parse_u64("row count", optarg, 0, SIZE_MAX);
			break;
		case OPT_COMM:
			select_filters(&s, c, optarg);
			break;
		case 'h':
			help(report_help);
			break;
		default:
			bad_usage("report");
		}
	}
	take_input(&s, argc, argv, "report");
	/* Traces and perf-script text fold with the process name first: no function. */
	ps_profile *p = load_profile(&s, s.folded ? 0 : PS_PROFILE_FOLDED_PROCESS, NULL);
	int err = ps_report_render(p, &ro, stdout);
	if (err || fflush(stdout))
		die("cannot write the output: %s", ps_strerror(err ? err : -EIO));
	ps_profile_free(p);
	return 0;
}

/* ---- info ---- */

static const char info_help[] = "usage: perfsample info [-i TRACE]\n"
				"\n"
				"What a trace holds: how it was recorded, samples, lost samples, "
				"processes.\n";

struct proc_count {
	uint32_t pid;
	uint64_t samples;
	char comm[64];
};

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_count *x = a, *y = b;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"input-file", required_argument, 0, 'i'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *path = DEFAULT_TRACE;
	int c;
	while ((c = getopt_long(argc, argv, "i:h", longopts, NULL)) != -1) {
		if (c == 'i')
			path = optarg;
		else if (c == 'h')
			help(info_help);
		else
			bad_usage("info");
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		bad_usage("info");
	ps_trace_reader *r = open_trace(path);
	struct trace_summary s;
	summarize(r, path, &s);
	/* Samples per process, named by the latest comm of its main thread. */
	struct proc_count *procs = NULL;
	size_t nprocs = 0, cap = 0;
	ps_event ev;
	ps_trace_rewind(r);
	int got;
	while ((got = ps_trace_next(r, &ev)) > 0) {
		uint32_t pid;
		if (ev.type == PS_REC_SAMPLE)
			pid = ev.sample.pid;
		else if (ev.type == PS_REC_COMM)
			pid = ev.comm.pid;
		else
			continue;
		size_t i = 0;
		while (i < nprocs && procs[i].pid != pid)
			i++;
		if (i == nprocs) {
			if (nprocs == cap) {
				cap = cap ? cap * 2 : 64;
				procs = realloc(procs, cap * sizeof(*procs));
				if (!procs)
					die("out of memory");
			}
			procs[nprocs] = (struct proc_count){pid, 0, ""};
			nprocs++;
		}
		if (ev.type == PS_REC_SAMPLE)
			procs[i].samples++;
		else if (ev.comm.tid == ev.comm.pid || !procs[i].comm[0])
			snprintf(procs[i].comm, sizeof(procs[i].comm), "%s", ev.comm.comm);
	}
	ps_trace_status st = ps_trace_get_status(r);
	printf("file:         %s\n", path);
	for (size_t i = 0; i < ps_trace_nmeta(r); i++) {
		ps_kv kv = ps_trace_meta_at(r, i);
		printf("%-13s %s\n", kv.key, kv.value);
	}
	double dur = s.have_stats ? (double)(s.stats.end_ns - s.stats.start_ns) / 1e9
		     : s.last_time > s.first_time ? (double)(s.last_time - s.first_time) / 1e9
						     : 0;
	printf("duration:     %.3f s\n", dur);
	printf("samples:      %llu\n", (unsigned long long)s.samples);
	printf("lost:         %llu\n", (unsigned long long)s.lost);
	printf("throttled:    %llu\n", (unsigned long long)s.throttled);
	if (s.have_stats)
		printf("truncated:    %llu (stacks the unwinder could not finish)\n",
		       (unsigned long long)s.stats.truncated);
	printf("records:      %llu mmap, %llu comm, %llu fork, %llu exit, %llu symbols\n",
	       (unsigned long long)s.mmaps, (unsigned long long)s.comms, (unsigned long long)s.forks,
	       (unsigned long long)s.exits, (unsigned long long)s.symbols);
	printf("chunks:       %llu\n", (unsigned long long)st.chunks);
	printf("complete:     %s\n", s.have_stats ? "yes"
				     : "no (the recorder did not finish; whole chunks were read)");
	if (st.dropped_bytes)
		printf("dropped:      %llu bytes of a truncated tail\n",
		       (unsigned long long)st.dropped_bytes);
	if (s.kernel_hidden)
		printf("kernel:       addresses hidden by kernel.kptr_restrict; kernel frames are "
		       "unnamed (run as root or set kptr_restrict=0)\n");
	qsort(procs, nprocs, sizeof(*procs), cmp_proc);
	size_t with_samples = 0;
	for (size_t i = 0; i < nprocs; i++)
		with_samples += procs[i].samples > 0;
	printf("processes:    %zu with samples\n", with_samples);
	for (size_t i = 0; i < nprocs && i < 20 && procs[i].samples; i++)
		printf("  %8llu  %-16s pid %u\n", (unsigned long long)procs[i].samples,
		       procs[i].comm[0] ? procs[i].comm : "?", procs[i].pid);
	free(procs);
	ps_trace_close(r);
	return 0;
}

/* ---- script ---- */

static const char script_help[] =
	"usage: perfsample script [-i TRACE]\n"
	"\n"
	"Prints the samples as `perf script` does, so FlameGraph's stackcollapse-perf.pl and\n"
	"gprof2dot -f perf read them.\n";

struct script_ctx {
	const char *event;
	FILE *out;
};

static int script_sample(void *ctx, const ps_sym_sample *s)
{
	struct script_ctx *sc = ctx;
	FILE *f = sc->out;
	fprintf(f, "%s %u/%u [%03u] %llu.%06llu: %llu %s:\n", s->comm, s->pid, s->tid, s->cpu,
		(unsigned long long)(s->time / 1000000000ull),
		(unsigned long long)(s->time % 1000000000ull / 1000),
		(unsigned long long)(s->period ? s->period : 1), sc->event);
	for (size_t i = 0; i < s->nframes; i++) {
		const ps_sym_frame *fr = &s->frames[i];
		const char *mod = fr->module && *fr->module ? fr->module : "unknown";
		if (fr->resolved && !fr->inlined)
			fprintf(f, "\t%16llx %s+0x%llx (%s)\n", (unsigned long long)fr->addr,
				fr->name, (unsigned long long)fr->offset, mod);
		else if (fr->resolved)
			fprintf(f, "\t%16llx %s (inlined) (%s)\n", (unsigned long long)fr->addr,
				fr->name, mod);
		else
			fprintf(f, "\t%16llx [unknown] (%s)\n", (unsigned long long)fr->addr, mod);
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

static int cmd_script(int argc, char **argv)
{
	struct option *longopts = build_longopts(NULL, 0);
	struct source s;
	source_init(&s);
	int c;
	while ((c = getopt_long(argc, argv, "i:h", longopts, NULL)) != -1) {
		if (c != OPT_INPUT && c != OPT_FOLDED && source_option(&s, c, optarg))
			continue;
		if (c == 'h')
			help(script_help);
		bad_usage("script");
	}
	take_input(&s, argc, argv, "script");
	const char *path = s.trace ? s.trace : DEFAULT_TRACE;
	ps_trace_reader *r = open_trace(path);
	const char *ev = ps_trace_meta(r, "event");
	/* perf script leaves inlined frames out unless asked; so does this. */
	s.sym.inline_frames = 0;
	struct script_ctx sc = {ev ? ev : "cpu-clock", stdout};
	int err = ps_sym_walk(r, &s.sym, script_sample, &sc, NULL);
	if (err == -EIO)
		die("cannot write the output: %s", strerror(errno ? errno : EIO));
	trace_read_done(r, path, err);
	ps_trace_close(r);
	if (fflush(stdout))
		die("cannot write the output: %s", strerror(errno));
	return 0;
}

/* ---- export ---- */

static const char export_help[] =
	"usage: perfsample export --format pprof|speedscope|callgrind [-i TRACE | --folded FILE|-]\n"
	"                         -o OUT\n"
	"\n"
	"  pprof       gzipped profile.proto for go tool pprof, Pyroscope, Parca\n"
	"  speedscope  speedscope's JSON\n"
	"  callgrind   for kcachegrind, callgrind_annotate, gprof2dot -f callgrind\n";

static int cmd_export(int argc, char **argv)
{
	static const struct option extra[] = {
		{"format", required_argument, 0, 'f'},
		{"output", required_argument, 0, 'o'},
	};
	struct option *longopts = build_longopts(extra, sizeof(extra) / sizeof(extra[0]));
	struct source s;
	source_init(&s);
	const char *fmt = NULL, *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "i:f:o:h", longopts, NULL)) != -1) {
		if (source_option(&s, c, optarg))
			continue;
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case OPT_COMM:
			select_filters(&s, c, optarg);
			break;
		case 'h':
			help(export_help);
			break;
		default:
			bad_usage("export");
		}
	}
	take_input(&s, argc, argv, "export");
	/* pprof and callgrind place each frame: an address, its file:line, its mapping. */
	s.sym.addresses = 1;
	if (!fmt)
		die("export needs --format pprof, speedscope or callgrind");
	ps_export_fn fn = ps_export_by_name(fmt);
	if (!fn)
		die("unknown export format '%s' (known: pprof, speedscope, callgrind)", fmt);
	if (!out)
		die("export needs -o OUT");
	ps_export_meta m;
	ps_export_meta_init(&m);
	struct trace_summary sum;
	/* A trace's samples, kept: speedscope's Time Order view lays them out in time, pprof
	 * labels them with their pid and tid. */
	unsigned keep = fn != ps_export_callgrind && source_is_trace(&s) ? PS_PROFILE_SAMPLES : 0;
	ps_profile *p = load_profile(&s, keep, &sum);
	char name[4096] = "";
	if (source_is_trace(&s)) {
		ps_trace_reader *r = open_trace(s.trace ? s.trace : DEFAULT_TRACE);
		const char *ev = ps_trace_meta(r, "event");
		const char *freq = ps_trace_meta(r, "freq"), *period = ps_trace_meta(r, "period");
		const char *cl = ps_trace_meta(r, "cmdline");
		snprintf(name, sizeof(name), "%s", cl ? cl : "");
		/* The reader is closed before the export runs: keep a copy. */
		static char evbuf[64];
		if (ev) {
			snprintf(evbuf, sizeof(evbuf), "%s", ev);
			m.event = evbuf;
		}
		uint64_t f = freq ? strtoull(freq, NULL, 10) : 0;
		uint64_t per = period ? strtoull(period, NULL, 10) : 0;
		int timer = ev && (!strcmp(ev, "cpu-clock") || !strcmp(ev, "task-clock"));
		m.period_ns = f ? 1000000000ull / f : timer ? per : 0;
		m.name = name;
		/* pprof's time_nanos is wall-clock; the stats are on CLOCK_MONOTONIC. */
		const char *st = ps_trace_meta(r, "start_time");
		struct tm tm = {0};
		if (st && strptime(st, "%Y-%m-%dT%H:%M:%SZ", &tm))
			m.start_ns = (uint64_t)timegm(&tm) * 1000000000ull;
		m.duration_ns = sum.have_stats ? sum.stats.end_ns - sum.stats.start_ns
					       : sum.last_time - sum.first_time;
		ps_trace_close(r);
	}
	struct outfile of;
	out_open(&of, out);
	int err = fn(p, &m, of.f);
	if (err) {
		out_abort(&of);
		die("cannot export to '%s': %s", out, ps_strerror(err));
	}
	out_close(&of);
	ps_profile_free(p);
	return 0;
}

/* ---- main ---- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"record", cmd_record, "sample a command, processes or the whole system"},
	{"fold", cmd_fold, "folded stacks (FlameGraph's format)"},
	{"flamegraph", cmd_flamegraph, "interactive SVG flame graph"},
	{"diff", cmd_diff, "differential flame graph of two profiles"},
	{"callgraph", cmd_callgraph, "gprof2dot-style call graph (DOT)"},
	{"report", cmd_report, "top functions by self and total samples"},
	{"info", cmd_info, "what a trace holds"},
	{"script", cmd_script, "samples as perf-script text"},
	{"export", cmd_export, "pprof, speedscope or callgrind files"},
	{NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: perfsample COMMAND [options]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->summary);
	fprintf(out, "\n'perfsample COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	/* A profiler has no business running with borrowed privileges. */
	if (getuid() != geteuid() || getgid() != getegid())
		die("refusing to run setuid or setgid; run it as the user who profiles");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("perfsample %s\n", PS_VERSION);
		return 0;
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	die("unknown command '%s' (see 'perfsample --help')", argv[1]);
}
