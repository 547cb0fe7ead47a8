/* perfsample agent: profiles and the agent's health over HTTP, for Prometheus, Parca,
 * Grafana Alloy's pyroscope.scrape and go tool pprof, and pushed to Pyroscope's /ingest.
 *
 * A profile is a recording by a child `perfsample record` into a private temporary
 * directory, rendered by the CLI's `export` or `flamegraph` code in a long-lived child, the
 * renderer (below), which keeps the host's binaries named between profiles: the recorder
 * and the symbolizer are the ones the CLI uses (same files, same results), a crash or a
 * leak while naming hostile symbols ends a child and not the server, the recorder's global
 * signal and ring state stays out of a threaded server, and its cost goes to the agent's
 * own CPU seconds (RUSAGE_CHILDREN, the renderer's once it ends) where /metrics shows it.
 * The HTTP layer is cmd/agent_http.c. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/agent.h"
#include "cmd/agent_http.h"
#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_metric.h"
#include "formats/ps_procfs.h"
#include "render/ps_prom.h"
#include "symbolize/ps_sym_cache.h"

extern char **environ;

static const char agent_usage[] =
	"usage: perfsample agent [--listen ADDR:PORT] [--token-file F] [--tls-cert C --tls-key K]\n"
	"                        [--push URL [--push-interval 15s]]\n"
	"\n"
	"Serves whole-host profiles, symbolized here, and the agent's health over HTTP:\n"
	"  /debug/pprof/profile?seconds=N[&pid=P][&mode=M][&frequency=HZ]  gzipped pprof\n"
	"  /debug/flamegraph.svg?seconds=N[&pid=P][&mode=M][&frequency=HZ] SVG flame graph\n"
	"  /metrics                        Prometheus text: the system view's statistics\n"
	"                                  (node_exporter's names) and the agent's health\n"
	"  /                                                                an index\n"
	"seconds 1-300 (default 30), mode cpu|off-cpu|wall (default cpu), frequency 1-1000 Hz\n"
	"(default 99).\n";

/* Profile modes; one profile of a mode runs at a time, others get 429. */
enum { MODE_CPU, MODE_OFFCPU, MODE_WALL, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"cpu", "off-cpu", "wall"};

static struct {
	char self[4096];
	atomic_int busy[MODE_COUNT];
	atomic_llong busy_until[MODE_COUNT]; /* CLOCK_MONOTONIC seconds */
	atomic_int stopping;
	pthread_mutex_t mu; /* children, counters below */
	pid_t children[64];
	uint64_t samples, lost, profiles_ok[MODE_COUNT], profiles_failed[MODE_COUNT];
	time_t start;
	struct http_server *http;
	struct agent_push *push;
} A = {.mu = PTHREAD_MUTEX_INITIALIZER};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void child_track(pid_t pid, int add)
{
	pthread_mutex_lock(&A.mu);
	for (size_t i = 0; i < sizeof(A.children) / sizeof(A.children[0]); i++) {
		if (add && !A.children[i]) {
			A.children[i] = pid;
			break;
		}
		if (!add && A.children[i] == pid) {
			A.children[i] = 0;
			break;
		}
	}
	pthread_mutex_unlock(&A.mu);
}

/* A child's signals: none blocked, the stop signals and SIGPIPE at their defaults. */
static void spawn_attr(posix_spawnattr_t *at)
{
	posix_spawnattr_init(at);
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &def);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

/* Runs perfsample with argv (argv[0] ignored), stdout to /dev/null, stderr to err; when
 * during is set and the child still runs at mono() time at, calls during(ctx) once (and
 * goes on waiting). Returns its exit status, or -1 when it could not run or died of a
 * signal. */
static int run_self(char **argv, const char *err, double at, void (*during)(void *), void *ctx)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at_;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	spawn_attr(&at_);
	argv[0] = "perfsample";
	pid_t pid;
	int rc = posix_spawn(&pid, A.self, &fa, &at_, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at_);
	if (rc)
		return -1;
	child_track(pid, 1);
	int st = 0, done = 0;
	while (during && !done && mono() < at) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			done = 1 + (w < 0);
		else
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	if (during && !done)
		during(ctx);
	while (!done) {
		pid_t w = waitpid(pid, &st, 0);
		if (w == pid || (w < 0 && errno != EINTR))
			done = 1 + (w < 0);
	}
	child_track(pid, 0);
	return done == 1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line of a child's stderr, without perfsample's prefix, for a 500's reason. */
static void first_line(const char *path, char *out, size_t len)
{
	char buf[512] = "";
	FILE *f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (strncmp(buf, "[ perfsample", 12) && buf[0] != '\r')
				break;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	const char *b = strncmp(buf, "perfsample: ", 12) ? buf : buf + 12;
	http_log_escape(out, len, b[0] ? b : "no reason given");
}

/* Counts from the recorder's summary line. */
static void take_summary(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char buf[1024];
	while (fgets(buf, sizeof(buf), f)) {
		const char *p = strstr(buf, "[ perfsample record: ");
		unsigned long long s, l;
		double secs;
		if (p && sscanf(p, "[ perfsample record: %llu samples in %lf s, %llu lost", &s, &secs,
				&l) == 3) {
			pthread_mutex_lock(&A.mu);
			A.samples += s;
			A.lost += l;
			pthread_mutex_unlock(&A.mu);
		}
	}
	fclose(f);
}

/* ---- the renderer: one long-lived child that names and renders profile after profile ----
 *
 * Naming a whole-host profile anew (every binary's symbol table sorted, libc's DWARF
 * decompressed, /proc/kallsyms parsed) took 0.6 s of CPU, 1.5-2 s under load, most of the
 * time past `seconds`. The renderer is `perfsample agent --renderer`: it keeps those in a
 * symbol cache (symbolize/ps_sym_cache.h) across profiles and runs the CLI's own export and
 * flamegraph commands on each trace, so results are the CLI's. It is still a child: a crash
 * or die() while naming a hostile binary ends it, the request gets a 500 with its last
 * words, and the next profile starts a new one. It also ends itself past RENDER_MAX_RSS.
 *
 * A request on its socket is a 4-byte length and NUL-separated strings: the stdout file,
 * the stderr file, then the command's argv. The answer is struct render_reply. */
#define RENDER_MAX_RSS (512ull << 20)
#define RENDER_MAX_REQ 16384

struct render_reply {
	int32_t status;
	uint32_t hits, misses, images; /* the symbol cache's: this job's opens, its size */
	uint32_t ending;	       /* it ends after this answer (RENDER_MAX_RSS) */
};

static struct {
	pthread_mutex_t mu; /* one render at a time; the fields below */
	pid_t pid;
	int fd;
	atomic_int live;  /* its pid, 0 when none (read without mu) */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t put = 0;
	while (put < len) {
		ssize_t n = send(fd, (const char *)buf + put, len - put, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		put += (size_t)n;
	}
	return 0;
}

static uint64_t rss_bytes(void)
{
	ps_procstat me;
	return ps_procfs_process_stat("", (uint32_t)getpid(), &me) ? 0 : me.rss_bytes;
}

/* Names a trace's addresses into the cache and throws the result away: a recording in
 * progress (its PATH.partial, whole chunks so far), so that the binaries it ran are named
 * before it ends. Errors (a chunk half written) only end the warming. */
static int warm_cache(const char *path, ps_sym_cache *cache)
{
	ps_trace_reader *r;
	if (ps_trace_open(&r, path))
		return 1;
	ps_sym_opts o;
	ps_sym_opts_init(&o); /* the export's and flamegraph's names (cmd/source.c) */
	o.addresses = 1;
	o.cache = cache;
	ps_profile *p = ps_profile_new(0);
	ps_sym_report rep;
	int err = p ? ps_sym_profile(r, &o, 0, p, &rep) : -ENOMEM;
	ps_profile_free(p);
	ps_trace_close(r);
	return err ? 1 : 0;
}

/* The renderer's loop, on fd 0 (a socket to the agent). */
static int renderer_main(void)
{
	ps_sym_cache *cache = ps_sym_cache_new(256);
	if (!cache)
		die("out of memory");
	source_set_sym_cache(cache);
	static char req[RENDER_MAX_REQ + 1];
	ps_sym_cache_stats before = {0};
	for (;;) {
		uint32_t len;
		if (read_full(0, &len, sizeof(len)))
			return 0; /* the agent is gone */
		if (len > RENDER_MAX_REQ || read_full(0, req, len))
			die("renderer: a bad request");
		req[len] = 0;
		char *argv[32], *p = req, *end = req + len;
		int argc = 0;
		while (p < end && argc < 31) {
			argv[argc++] = p;
			p += strlen(p) + 1;
		}
		argv[argc] = NULL;
		if (argc < 3)
			die("renderer: a bad request");
		int out = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int err = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			die("renderer: cannot open the job's files");
		close(out);
		close(err);
		clearerr(stdout);
		int st = !strcmp(argv[2], "export")	  ? cmd_export(argc - 2, argv + 2)
			 : !strcmp(argv[2], "flamegraph") ? cmd_flamegraph(argc - 2, argv + 2)
			 : !strcmp(argv[2], "warm") && argc == 4 ? warm_cache(argv[3], cache)
							  : (die("renderer: unknown command"), 1);
		fflush(stdout);
		fflush(stderr);
		ps_sym_cache_stats cs = ps_sym_cache_get_stats(cache);
		int ending = rss_bytes() > RENDER_MAX_RSS;
		struct render_reply rep = {st, (uint32_t)(cs.hits - before.hits),
					   (uint32_t)(cs.misses - before.misses),
					   (uint32_t)cs.images, (uint32_t)ending};
		before = cs;
		if (write_full(0, &rep, sizeof(rep)) || ending)
			return 0; /* a fresh one comes with the next profile */
	}
}

static void renderer_reap(void)
{
	close(R.fd);
	R.fd = -1;
	int st;
	while (waitpid(R.pid, &st, 0) < 0 && errno == EINTR)
		;
	child_track(R.pid, 0);
	R.pid = 0;
	atomic_store(&R.live, 0);
}

static int renderer_start(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	spawn_attr(&at);
	char *argv[] = {"perfsample", "agent", "--renderer", NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, A.self, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (rc) {
		close(sv[0]);
		return -1;
	}
	child_track(pid, 1);
	R.pid = pid;
	R.fd = sv[0];
	atomic_store(&R.live, pid);
	return 0;
}

/* Runs the export or flamegraph command argv in the renderer, stdout to out (or /dev/null),
 * stderr to err; its exit status, or -1 when it could not run or died. *rep gets the
 * renderer's answer (zeros when none). */
static int render(char **argv, const char *out, const char *err, struct render_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	char req[RENDER_MAX_REQ];
	size_t len = 0;
	const char *parts[34] = {out ? out : "/dev/null", err};
	int n = 2;
	for (char **a = argv; *a && n < 33; a++)
		parts[n++] = *a;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(parts[i]) + 1;
		if (len + l > sizeof(req))
			return -1;
		memcpy(req + len, parts[i], l);
		len += l;
	}
	pthread_mutex_lock(&R.mu);
	int st = -1;
	uint32_t l32 = (uint32_t)len;
	if ((R.pid || renderer_start() == 0) &&
	    (write_full(R.fd, &l32, sizeof(l32)) || write_full(R.fd, req, len) ||
	     read_full(R.fd, rep, sizeof(*rep)))) {
		renderer_reap(); /* it died: its stderr, err, says why */
		memset(rep, 0, sizeof(*rep));
	} else if (R.pid) {
		st = rep->status;
		if (rep->ending)
			renderer_reap();
	}
	pthread_mutex_unlock(&R.mu);
	return st;
}

/* Before a recording of SECONDS ends, the renderer names what it has written so far
 * (warm_cache): naming a host's binaries cold took 1-2.5 s under load after the recording,
 * the first profile's or one with new binaries; then only what the last seconds brought
 * is left. */
#define WARM_BEFORE_END 2.5
#define WARM_MIN_SECONDS 4

static void warm_partial(void *path)
{
	char *argv[] = {"warm", path, NULL};
	struct render_reply rr;
	double t = mono();
	render(argv, NULL, "/dev/null", &rr);
	fprintf(stderr, "perfsample agent: named the recording so far in %.2f s "
		"(symbol cache: %u hits, %u misses)\n", mono() - t, rr.hits, rr.misses);
}

int agent_profile(const struct agent_job *j, char *err, size_t errlen)
{
	char dir[] = "/tmp/perfsample-agent.XXXXXX";
	const char *tmp = getenv("TMPDIR");
	char dirbuf[4096];
	snprintf(dirbuf, sizeof(dirbuf), "%s/perfsample-agent.XXXXXX",
		 tmp && tmp[0] == '/' && strlen(tmp) < 3000 ? tmp : "/tmp");
	char *d = mkdtemp(dirbuf);
	if (!d)
		d = mkdtemp(dir);
	if (!d) {
		snprintf(err, errlen, "cannot make a temporary directory: %s", strerror(errno));
		return -1;
	}
	char data[4200], rec_err[4200], out[4200], out_err[4200];
	snprintf(data, sizeof(data), "%s/profile.data", d);
	snprintf(rec_err, sizeof(rec_err), "%s/record.log", d);
	snprintf(out, sizeof(out), "%s/out", d);
	snprintf(out_err, sizeof(out_err), "%s/render.log", d);
	char secs[32], freq[32], pid[32];
	snprintf(secs, sizeof(secs), "%d", j->seconds);
	snprintf(freq, sizeof(freq), "%d", j->frequency);
	snprintf(pid, sizeof(pid), "%d", j->pid);
	char *rargv[16];
	int n = 0;
	rargv[n++] = NULL;
	rargv[n++] = "record";
	rargv[n++] = "-g";
	rargv[n++] = "-F";
	rargv[n++] = freq;
	rargv[n++] = "-d";
	rargv[n++] = secs;
	if (j->pid > 0) {
		rargv[n++] = "-p";
		rargv[n++] = pid;
	} else {
		rargv[n++] = "-a";
	}
	/* The profile is named right away, while the binaries are there: symbols need not
	 * travel in the trace (which takes seconds on a busy host). */
	rargv[n++] = "--no-embed-symbols";
	/* Off-CPU and wall-clock views need the context switches too. */
	if (j->mode != MODE_CPU)
		rargv[n++] = "--off-cpu";
	rargv[n++] = "-o";
	rargv[n++] = data;
	rargv[n++] = NULL;
	int rc = -1, fd = -1;
	char partial[4300];
	snprintf(partial, sizeof(partial), "%s.partial", data); /* ps_trace_partial_path */
	double t0 = mono();
	int st = run_self(rargv, rec_err, t0 + j->seconds - WARM_BEFORE_END,
			  j->seconds >= WARM_MIN_SECONDS ? warm_partial : NULL, partial);
	double t1 = mono();
	take_summary(rec_err);
	if (st != 0) {
		first_line(rec_err, err, errlen);
		goto out;
	}
	char *xargv[16];
	struct render_reply rr;
	n = 0;
	const char *view = j->mode == MODE_OFFCPU ? "--off-cpu" : j->mode == MODE_WALL ? "--wall" : NULL;
	if (j->svg) {
		xargv[n++] = "flamegraph";
		if (view)
			xargv[n++] = (char *)view;
		xargv[n++] = "-i";
		xargv[n++] = data;
		xargv[n++] = NULL;
		st = render(xargv, out, out_err, &rr);
	} else {
		xargv[n++] = "export";
		xargv[n++] = "--format";
		xargv[n++] = "pprof";
		if (view)
			xargv[n++] = (char *)view;
		xargv[n++] = "-i";
		xargv[n++] = data;
		xargv[n++] = "-o";
		xargv[n++] = out;
		xargv[n++] = NULL;
		st = render(xargv, NULL, out_err, &rr);
	}
	if (st != 0) {
		first_line(out_err, err, errlen);
		goto out;
	}
	fprintf(stderr,
		"perfsample agent: %s: recorded in %.2f s, rendered in %.2f s "
		"(symbol cache: %u hits, %u misses)\n",
		j->svg ? "flame graph" : "pprof", t1 - t0, mono() - t1, rr.hits, rr.misses);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "cannot open the profile: %s", strerror(errno));
	rc = fd;
out:
	unlink(data);
	unlink(rec_err);
	unlink(out);
	unlink(out_err);
	rmdir(d);
	return rc;
}

/* A whole number in [lo, hi] from a query parameter, or a 400. */
static int arg_int(struct http_req *r, struct http_reply *rep, const char *name, int def,
		   long lo, long hi, int *out)
{
	const char *v = http_req_arg(r, name);
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long x = v[0] >= '0' && v[0] <= '9' ? strtol(v, &end, 10) : (end = (char *)v, 0);
	if (end == v || *end || errno) {
		char e[64];
		http_log_escape(e, sizeof(e), v);
		http_reply_text(rep, 400, "%s: '%s' is not a whole number", name, e);
		return -1;
	}
	if (x < lo || x > hi) {
		http_reply_text(rep, 400, "%s: %ld is out of range %ld-%ld", name, x, lo, hi);
		return -1;
	}
	*out = (int)x;
	return 0;
}

static void serve_profile(struct http_req *r, struct http_reply *rep, int svg)
{
	struct agent_job j = {.svg = svg, .mode = MODE_CPU};
	if (arg_int(r, rep, "seconds", 30, 1, 300, &j.seconds) ||
	    arg_int(r, rep, "pid", 0, 1, 4194304, &j.pid) ||
	    arg_int(r, rep, "frequency", 99, 1, 1000, &j.frequency))
		return;
	const char *m = http_req_arg(r, "mode");
	int mode = -1;
	for (int i = 0; i < MODE_COUNT; i++)
		if (!m || !strcmp(m, mode_names[i]))
			mode = m ? i : MODE_CPU;
	if (mode < 0) {
		char e[64];
		http_log_escape(e, sizeof(e), m);
		http_reply_text(rep, 400, "mode: unknown mode '%s' (known: cpu, off-cpu, wall)", e);
		return;
	}
	if (j.pid) {
		char p[64];
		struct stat sb;
		snprintf(p, sizeof(p), "/proc/%d", j.pid);
		if (stat(p, &sb)) {
			http_reply_text(rep, 400, "pid: no process %d", j.pid);
			return;
		}
	}
	if (atomic_load(&A.stopping)) {
		http_reply_text(rep, 503, "the agent is stopping");
		return;
	}
	/* HEAD (curl -I, a probe) gets the GET's status and headers without taking a
	 * profile, nor the slot of one. */
	int head = http_req_head(r), expect = 0;
	if (head ? atomic_load(&A.busy[mode])
		 : !atomic_compare_exchange_strong(&A.busy[mode], &expect, 1)) {
		long long left = atomic_load(&A.busy_until[mode]) - (long long)mono() + 1;
		snprintf(rep->retry_after, sizeof(rep->retry_after), "%lld", left > 1 ? left : 1);
		http_reply_text(rep, 429, "a %s profile is already running; retry after %s s",
				mode_names[mode], rep->retry_after);
		return;
	}
	if (head) {
		rep->status = 200;
		rep->type = svg ? "image/svg+xml" : "application/octet-stream";
		if (!svg)
			snprintf(rep->disposition, sizeof(rep->disposition), "profile.pb.gz");
		rep->unknown_length = 1;
		return;
	}
	j.mode = mode;
	atomic_store(&A.busy_until[mode], (long long)mono() + j.seconds);
	fprintf(stderr, "perfsample agent: %s profile of %s for %d s at %d Hz\n", mode_names[mode],
		j.pid ? "one process" : "the host", j.seconds, j.frequency);
	char err[256] = "";
	int fd = agent_profile(&j, err, sizeof(err));
	atomic_store(&A.busy[mode], 0);
	pthread_mutex_lock(&A.mu);
	if (fd >= 0)
		A.profiles_ok[mode]++;
	else
		A.profiles_failed[mode]++;
	pthread_mutex_unlock(&A.mu);
	if (fd < 0) {
		fprintf(stderr, "perfsample agent: %s profile failed: %s\n", mode_names[mode], err);
		http_reply_text(rep, 500, "profile failed: %s", err);
		return;
	}
	struct stat sb;
	fstat(fd, &sb);
	rep->fd = fd;
	rep->fd_len = (uint64_t)sb.st_size;
	rep->status = 200;
	rep->type = svg ? "image/svg+xml" : "application/octet-stream";
	if (!svg)
		snprintf(rep->disposition, sizeof(rep->disposition), "profile.pb.gz");
}

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static double tv_s(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* The running renderer's CPU seconds (a reaped one's are in RUSAGE_CHILDREN). */
static double renderer_cpu_s(void)
{
	pid_t pid = atomic_load(&R.live);
	ps_procstat st;
	return pid && !ps_procfs_process_stat("", (uint32_t)pid, &st) ? st.cpu_seconds : 0;
}

static void serve_metrics(struct http_reply *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		http_reply_text(rep, 500, "out of memory");
		return;
	}
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	/* After the children's: a renderer reaped in between is counted once, later. */
	double renderer = renderer_cpu_s();
	pthread_mutex_lock(&A.mu);
	uint64_t samples = A.samples, lost = A.lost, ok[MODE_COUNT], failed[MODE_COUNT];
	memcpy(ok, A.profiles_ok, sizeof(ok));
	memcpy(failed, A.profiles_failed, sizeof(failed));
	pthread_mutex_unlock(&A.mu);
	/* The system view's statistics, node_exporter's names (formats/ps_metric.c), and the
	 * agent's own process_* series, read now: Prometheus takes the rates. */
	ps_metrics sys = {0};
	ps_procstat me;
	int err = ps_procfs_system("", &sys);
	if (!err && !ps_procfs_process("", (uint32_t)getpid(), &me))
		err = ps_procfs_process_metrics(&me, &sys);
	if (!err)
		err = ps_prom_write(&sys, f);
	ps_metrics_release(&sys);
	if (err) {
		fclose(f);
		free(buf);
		http_reply_text(rep, 500, "cannot read the system's statistics: %s", strerror(-err));
		return;
	}
	metric(f, "perfsample_agent_samples_total", "counter",
	       "Samples taken by the agent's profiles.");
	fprintf(f, "perfsample_agent_samples_total %llu\n", (unsigned long long)samples);
	metric(f, "perfsample_agent_lost_total", "counter",
	       "Samples the kernel lost (ring full) during the agent's profiles.");
	fprintf(f, "perfsample_agent_lost_total %llu\n", (unsigned long long)lost);
	metric(f, "perfsample_agent_cpu_seconds_total", "counter",
	       "CPU time of the agent, its recorders and its renderer, user and system.");
	fprintf(f, "perfsample_agent_cpu_seconds_total{part=\"agent\"} %.6f\n",
		tv_s(self.ru_utime) + tv_s(self.ru_stime));
	fprintf(f, "perfsample_agent_cpu_seconds_total{part=\"recorders\"} %.6f\n",
		tv_s(kids.ru_utime) + tv_s(kids.ru_stime));
	fprintf(f, "perfsample_agent_cpu_seconds_total{part=\"renderer\"} %.6f\n", renderer);
	metric(f, "perfsample_agent_profiles_total", "counter", "Profiles made, by mode and result.");
	for (int i = 0; i < MODE_COUNT; i++) {
		fprintf(f, "perfsample_agent_profiles_total{mode=\"%s\",result=\"ok\"} %llu\n",
			mode_names[i], (unsigned long long)ok[i]);
		fprintf(f, "perfsample_agent_profiles_total{mode=\"%s\",result=\"failed\"} %llu\n",
			mode_names[i], (unsigned long long)failed[i]);
	}
	metric(f, "perfsample_agent_profiles_running", "gauge", "Profiles running now, by mode.");
	for (int i = 0; i < MODE_COUNT; i++)
		fprintf(f, "perfsample_agent_profiles_running{mode=\"%s\"} %d\n", mode_names[i],
			atomic_load(&A.busy[i]));
	uint64_t codes[6];
	http_counts(A.http, codes);
	metric(f, "perfsample_agent_http_responses_total", "counter",
	       "HTTP responses sent, by status class (this one not yet counted).");
	for (int i = 1; i < 6; i++)
		fprintf(f, "perfsample_agent_http_responses_total{code=\"%dxx\"} %llu\n", i,
			(unsigned long long)codes[i]);
	agent_push_metrics(A.push, f);
	metric(f, "perfsample_agent_start_time_seconds", "gauge",
	       "When the agent started, in seconds since the epoch.");
	fprintf(f, "perfsample_agent_start_time_seconds %lld\n", (long long)A.start);
	if (fclose(f)) {
		free(buf);
		http_reply_text(rep, 500, "out of memory");
		return;
	}
	rep->status = 200;
	rep->type = "text/plain; version=0.0.4; charset=utf-8";
	rep->body = buf;
	rep->len = len;
}

static const char index_html[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>perfsample agent</title>"
	"</head><body>\n<h1>perfsample agent</h1>\n<ul>\n"
	"<li><a href=\"/debug/pprof/profile?seconds=10\">/debug/pprof/profile?seconds=10</a>: "
	"whole-host CPU profile (gzipped pprof; parameters seconds 1-300, pid, "
	"mode=cpu|off-cpu|wall, frequency)</li>\n"
	"<li><a href=\"/debug/flamegraph.svg?seconds=5\">/debug/flamegraph.svg?seconds=5</a>: "
	"the same as a flame graph</li>\n"
	"<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics: the system's "
	"statistics (node_exporter's names) and the agent's health</li>\n"
	"</ul>\n</body></html>\n";

static void handle(void *ctx, const char *path, struct http_req *r, struct http_reply *rep)
{
	if (!strcmp(path, "/debug/pprof/profile"))
		serve_profile(r, rep, 0);
	else if (!strcmp(path, "/debug/flamegraph.svg"))
		serve_profile(r, rep, 1);
	else if (!strcmp(path, "/metrics"))
		serve_metrics(rep);
	else if (!strcmp(path, "/")) {
		rep->status = 200;
		rep->type = "text/html; charset=utf-8";
		rep->body = strdup(index_html);
		rep->len = rep->body ? strlen(index_html) : 0;
	} else
		http_reply_text(rep, 404, "not found (see /)");
}

/* A small secret file, read whole; dies when it is readable by others or not small. */
static char *read_secret(const char *what, const char *path, int secret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		die("cannot open %s '%s': %s", what, path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
		die("%s '%s' is not a regular file", what, path);
	if (secret && (sb.st_mode & 0007))
		die("%s '%s' is readable by others (mode %04o); chmod o-rwx it", what, path,
		    (unsigned)(sb.st_mode & 07777));
	if (sb.st_size > 1 << 20 || sb.st_size == 0)
		die("%s '%s' is %s", what, path, sb.st_size ? "too large" : "empty");
	char *buf = arg_alloc((size_t)sb.st_size + 1, 1);
	ssize_t got = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (got != sb.st_size)
		die("cannot read %s '%s'", what, path);
	buf[got] = 0;
	return buf;
}

/* After the socket is bound: keep only the capabilities a recording needs (perf events,
 * reading other processes' maps and files, kernel addresses, locked rings) and make sure no
 * exec gains more. Children (the recorders) inherit the smaller bounding set. */
static void drop_privileges(void)
{
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	static const int keep[] = {CAP_SYS_ADMIN, 38 /* CAP_PERFMON */, CAP_SYS_PTRACE,
				   CAP_DAC_READ_SEARCH, CAP_SYSLOG, CAP_IPC_LOCK,
				   CAP_SYS_RESOURCE};
	int last = 40;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	uint64_t keepmask = 0;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		keepmask |= 1ull << keep[i];
	int dropped = 0;
	for (int c = 0; c <= last && c < 64; c++)
		if (!(keepmask & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			dropped++;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) == 0) {
		for (int i = 0; i < 2; i++) {
			uint32_t k = (uint32_t)(keepmask >> (32 * i));
			d[i].effective &= k;
			d[i].permitted &= k;
			d[i].inheritable &= k;
		}
		syscall(SYS_capset, &h, d);
	}
	fprintf(stderr, "perfsample agent: dropped %d capabilities; no new privileges\n",
		dropped);
}

int cmd_agent(int argc, char **argv)
{
	const char *listen = "127.0.0.1:6060", *token_file = NULL, *cert = NULL, *key = NULL,
		   *client_ca = NULL, *push_url = NULL, *push_name = NULL,
		   *push_interval = "15s";
	int timeout = 10;
	const struct opt options[] = {
		OPT_GROUP("serve:"),
		OPT_STRING(0, "listen", &listen, "ADDR:PORT",
			   "where to listen (default 127.0.0.1:6060); an address other than\n"
			   "loopback needs --token-file or --tls-client-ca"),
		OPT_STRING(0, "token-file", &token_file, "FILE",
			   "requests must send 'Authorization: Bearer TOKEN' (the file's first\n"
			   "line); the file must not be readable by others"),
		OPT_STRING(0, "tls-cert", &cert, "FILE", "serve HTTPS with this PEM certificate"),
		OPT_STRING(0, "tls-key", &key, "FILE", "the certificate's PEM key"),
		OPT_STRING(0, "tls-client-ca", &client_ca, "FILE",
			   "accept clients with a certificate signed by this CA (PEM)"),
		OPT_INT(0, "timeout", &timeout, "SECONDS",
			"close connections idle this long (default 10)", 1, 3600),
		OPT_GROUP("push (Pyroscope):"),
		OPT_STRING(0, "push", &push_url, "URL",
			   "send CPU profiles to Pyroscope's /ingest at URL (http[s]://host:port);\n"
			   "the token goes as Bearer, or user:password in the URL as basic auth"),
		OPT_STRING(0, "push-interval", &push_interval, "DURATION",
			   "length of each pushed profile (default 15s; 1s-1h)"),
		OPT_STRING(0, "push-name", &push_name, "NAME",
			   "the application name (default perfsample.cpu{host=HOSTNAME})"),
		OPT_END(),
	};
	/* The agent's own child (see renderer_main), not an option users give. */
	if (argc == 2 && !strcmp(argv[1], "--renderer"))
		return renderer_main();
	argc = parse_options(argc, argv, options, agent_usage, 0);
	if (argc > 0)
		usage_error("agent", "unexpected argument '%s'", argv[0]);
	if (!cert != !key)
		die_usage("--tls-cert and --tls-key go together");
	if (client_ca && !cert)
		die_usage("--tls-client-ca needs --tls-cert and --tls-key");
	struct sockaddr_storage ss;
	unsigned sslen;
	int loopback;
	char err[256];
	if (http_parse_listen(listen, &ss, &sslen, &loopback, err, sizeof(err)))
		die_usage("%s", err);
	if (!loopback && !token_file && !client_ca)
		die("refusing to listen on %s without --token-file or --tls-client-ca "
		    "(only loopback needs neither)",
		    listen);
	unsigned interval = 0;
	if (push_url) {
		char *end;
		unsigned long v = strtoul(push_interval, &end, 10);
		if (!strcmp(end, "m"))
			v *= 60;
		else if (!strcmp(end, "h"))
			v *= 3600;
		else if (*end && strcmp(end, "s"))
			v = 0;
		if (end == push_interval || v < 1 || v > 3600)
			die_usage("--push-interval: '%s' is not a duration of 1s to 1h", push_interval);
		interval = (unsigned)v;
	}

	struct http_conf c = {.listen = listen, .timeout_s = (unsigned)timeout, .max_conns = 128,
			      .handler = handle};
	if (token_file) {
		char *t = read_secret("token file", token_file, 1);
		t[strcspn(t, "\r\n")] = 0;
		if (!t[0])
			die("token file '%s' has an empty first line", token_file);
		c.token = t;
	}
	if (cert) {
		c.tls_cert_pem = read_secret("certificate", cert, 0);
		c.tls_key_pem = read_secret("key", key, 1);
	}
	if (client_ca)
		c.tls_client_ca_pem = read_secret("client CA", client_ca, 0);
	ssize_t n = readlink("/proc/self/exe", A.self, sizeof(A.self) - 1);
	if (n <= 0)
		die("cannot find my own binary: %s", strerror(errno));
	A.self[n] = 0;
	A.start = time(NULL);

	/* Signals go to this thread only (sigwait below): the server's threads and the
	 * children's waits never see them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	A.http = http_start(&c, err, sizeof(err));
	if (!A.http)
		die("%s", err);
	fprintf(stderr, "perfsample agent: listening on %s%s%s\n", listen,
		cert ? " (TLS)" : "", c.token ? " (token required)" : "");
	drop_privileges();
	if (push_url) {
		A.push = agent_push_start(push_url, c.token, push_name, interval, err, sizeof(err));
		if (!A.push) {
			http_stop(A.http);
			die("%s", err);
		}
	}

	int sig = 0;
	sigdelset(&sigs, SIGPIPE);
	while (sigwait(&sigs, &sig) == 0 && sig != SIGTERM && sig != SIGINT)
		;
	fprintf(stderr, "perfsample agent: %s: stopping\n", strsignal(sig));
	atomic_store(&A.stopping, 1);
	/* Profiles in flight end now, with what they have: their recorders stop as on ^C. */
	pthread_mutex_lock(&A.mu);
	for (size_t i = 0; i < sizeof(A.children) / sizeof(A.children[0]); i++)
		if (A.children[i])
			kill(A.children[i], SIGINT);
	pthread_mutex_unlock(&A.mu);
	agent_push_stop(A.push);
	http_stop(A.http);
	fprintf(stderr, "perfsample agent: stopped\n");
	return 0;
}

int agent_stopping(void)
{
	return atomic_load(&A.stopping);
}
