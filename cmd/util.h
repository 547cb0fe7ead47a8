/* cmd/util: what every command uses to talk to its user — one-line errors and the exit
 * status they mean (1 for a failure, 2 for a usage error), parsers of option values, and
 * output files that appear whole or not at all. Only cmd/ and perfsample.c print errors or
 * exit. */
#ifndef PS_CMD_UTIL_H
#define PS_CMD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PS_VERSION "0.1.0"
#define DEFAULT_TRACE "perfsample.data"

/* "perfsample: MESSAGE" on stderr, then exit 1: something failed. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "perfsample: MESSAGE" on stderr, then exit 2: the command line is wrong. */
void die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "perfsample: warning: MESSAGE" on stderr, and go on: the result lacks something (names,
 * samples, records) or the command did less than asked. The one way warnings print. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "perfsample: MESSAGE" on stderr, and go on: what happened, nothing wrong with it. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken invariant of perfsample itself: says so and aborts. */
void bug(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Zeroed memory that lives as long as the process (what the command line is parsed into):
 * never freed, so every exit path leaves nothing behind. Dies when out of memory. */
void *arg_alloc(size_t n, size_t size);
char *arg_strdup(const char *s);

/* Option values. what names the option in the error ("--freq"); a bad value is a usage
 * error. */
uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max);
double parse_double(const char *what, const char *s, double min, double max);
/* "1,2,3" -> ids (each 1..INT_MAX) in arg_alloc memory; returns how many. */
size_t parse_id_list(const char *what, const char *s, uint32_t **out);

/* An output file written under a temporary name and renamed when whole; "-" or NULL is
 * stdout, an existing device or pipe is written in place. out_close dies when the output could not be written; out_abort removes it. */
struct outfile {
	FILE *f;
	char *path, *tmp;
};
void out_open(struct outfile *o, const char *path);
void out_abort(struct outfile *o);
void out_close(struct outfile *o);

/* Ends a command that wrote to stdout: dies when err (a PS_E* / negative errno from a
 * renderer) or the flush says the output was not written. */
void stdout_done(int err);

/* SIGINT, SIGTERM and SIGHUP call handler (a recorder's or sampler's stop flag). */
void on_stop_signals(void (*handler)(int));

#endif
