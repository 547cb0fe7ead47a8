/* cmd/util: errors, exits, option values and output files for the commands. */
#include "cmd/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("perfsample: ", fmt, ap);
	va_end(ap);
	exit(1);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("perfsample: ", fmt, ap);
	va_end(ap);
	exit(2);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("perfsample: warning: ", fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("perfsample: ", fmt, ap);
	va_end(ap);
}

void bug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("perfsample: BUG: ", fmt, ap);
	va_end(ap);
	abort();
}

static ps_arena *arg_arena;

void *arg_alloc(size_t n, size_t size)
{
	if (!arg_arena && !(arg_arena = ps_arena_new()))
		die("out of memory");
	if (size && n > (SIZE_MAX - 1) / size)
		die("out of memory");
	size_t bytes = n * size + 1;
	void *p = ps_arena_alloc(arg_arena, bytes);
	if (!p)
		die("out of memory");
	memset(p, 0, bytes);
	return p;
}

char *arg_strdup(const char *s)
{
	size_t n = strlen(s);
	char *p = arg_alloc(n + 1, 1);
	memcpy(p, s, n);
	return p;
}

uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max)
		die_usage("invalid %s '%s' (expected a whole number from %llu to %llu)", what, s,
			  (unsigned long long)min, (unsigned long long)max);
	return v;
}

double parse_double(const char *what, const char *s, double min, double max)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= min && v <= max))
		die_usage("invalid %s '%s' (expected a number from %g to %g)", what, s, min, max);
	return v;
}

size_t parse_id_list(const char *what, const char *s, uint32_t **out)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	uint32_t *ids = arg_alloc(n, sizeof(*ids));
	char *copy = arg_strdup(s), *save = NULL;
	n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ids[n++] = (uint32_t)parse_u64(what, tok, 1, INT_MAX);
	if (!n)
		die_usage("invalid %s '%s' (expected IDs separated by commas)", what, s);
	*out = ids;
	return n;
}

void out_open(struct outfile *o, const char *path)
{
	o->path = NULL;
	o->tmp = NULL;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
		return;
	}
	/* A device or a pipe named as the output is written as it is: renaming a file over it
	 * would replace /dev/null for everyone (as root). */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			die("cannot write '%s': is a directory", path);
		o->path = arg_strdup(path);
		int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || !(o->f = fdopen(fd, "wb")))
			die("cannot write '%s': %s", path, strerror(errno));
		return;
	}
	o->path = arg_strdup(path);
	o->tmp = arg_alloc(strlen(path) + 32, 1);
	sprintf(o->tmp, "%s.tmp.%d", path, (int)getpid());
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot write '%s': %s", path, strerror(errno));
	o->f = fdopen(fd, "wb");
	if (!o->f)
		die("cannot write '%s': %s", path, strerror(errno));
}

void out_abort(struct outfile *o)
{
	if (o->f != stdout)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
}

void out_close(struct outfile *o)
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
		if (o->tmp)
			unlink(o->tmp);
		die("cannot write '%s': %s", o->path, strerror(e));
	}
	if (!o->tmp) /* a device or pipe, written in place */
		return;
	if (rename(o->tmp, o->path) < 0) {
		e = errno;
		unlink(o->tmp);
		die("cannot write '%s': %s", o->path, strerror(e));
	}
}

void stdout_done(int err)
{
	/* A renderer's -EIO comes with errno from the stream (ENOSPC, EPIPE...): name that. */
	int e = errno;
	if (!err && (fflush(stdout) != 0 || ferror(stdout))) {
		err = -EIO;
		e = errno;
	}
	if (!err)
		return;
	if (err == -EIO)
		die("cannot write the output: %s", strerror(e ? e : EIO));
	die("cannot write the output: %s", ps_strerror(err));
}

void on_stop_signals(void (*handler)(int))
{
	struct sigaction sa = {0};
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
