/* cmd/options: each command declares its options in one table, as git's parse-options does;
 * the command line is parsed from it (getopt_long underneath) and --help is written from it,
 * so an option cannot be accepted without being listed, nor listed without its value. */
#ifndef PS_CMD_OPTIONS_H
#define PS_CMD_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

enum opt_type {
	OPT_T_END,
	OPT_T_GROUP,	/* a heading in --help */
	OPT_T_TEXT,	/* a paragraph in --help (after the options, say) */
	OPT_T_INCLUDE,	/* value is another table (ending with OPT_END), spliced in here */
	OPT_T_SET_INT,	/* *(int *)value = defval */
	OPT_T_STRING,	/* *(const char **)value = the value */
	OPT_T_U64,	/* *(uint64_t *)value = the value, a whole number in [min, max] */
	OPT_T_INT,	/* *(int *)value = the value, a whole number in [min, max] */
	OPT_T_DOUBLE,	/* *(double *)value = the value, in [dmin, dmax] */
	OPT_T_CALLBACK, /* cb(opt, value or NULL); cb reports a bad value with die_usage */
};

enum {
	OPT_OPTARG = 1 << 0, /* the value is optional: --name[=VALUE] */
};

struct opt;
typedef void (*opt_cb)(const struct opt *o, const char *arg);

struct opt {
	enum opt_type type;
	int short_name;	       /* 0: none */
	const char *long_name; /* NULL: none */
	const char *argh;      /* what the value is, for --help ("HZ"); NULL: takes no value */
	const char *help;      /* may hold '\n'; --help wraps it */
	void *value;
	intptr_t defval;
	unsigned flags; /* OPT_OPTARG */
	opt_cb cb;
	uint64_t min, max;
	double dmin, dmax;
};

/* The target's type is checked: a conditional of mismatched pointer types warns. */
#define OPT_TARGET_(type, v) ((void *)(1 ? (v) : (type *)0))

#define OPT_END() {.type = OPT_T_END}
#define OPT_GROUP(h) {.type = OPT_T_GROUP, .help = (h)}
#define OPT_TEXT(h) {.type = OPT_T_TEXT, .help = (h)}
#define OPT_INCLUDE(table) {.type = OPT_T_INCLUDE, .value = OPT_TARGET_(const struct opt, table)}
#define OPT_SET_INT(s, l, v, h, i)                                                              \
	{.type = OPT_T_SET_INT, .short_name = (s), .long_name = (l), .help = (h),               \
	 .value = OPT_TARGET_(int, v), .defval = (i)}
#define OPT_BOOL(s, l, v, h) OPT_SET_INT(s, l, v, h, 1)
#define OPT_STRING(s, l, v, a, h)                                                               \
	{.type = OPT_T_STRING, .short_name = (s), .long_name = (l), .argh = (a), .help = (h),   \
	 .value = OPT_TARGET_(const char *, v)}
#define OPT_U64(s, l, v, a, h, lo, hi)                                                          \
	{.type = OPT_T_U64, .short_name = (s), .long_name = (l), .argh = (a), .help = (h),      \
	 .value = OPT_TARGET_(uint64_t, v), .min = (lo), .max = (hi)}
#define OPT_INT(s, l, v, a, h, lo, hi)                                                          \
	{.type = OPT_T_INT, .short_name = (s), .long_name = (l), .argh = (a), .help = (h),      \
	 .value = OPT_TARGET_(int, v), .min = (lo), .max = (hi)}
#define OPT_DOUBLE(s, l, v, a, h, lo, hi)                                                       \
	{.type = OPT_T_DOUBLE, .short_name = (s), .long_name = (l), .argh = (a), .help = (h),   \
	 .value = OPT_TARGET_(double, v), .dmin = (lo), .dmax = (hi)}
/* a NULL: a flag; else it takes a value (an optional one with flags OPT_OPTARG). */
#define OPT_CALLBACK_F(s, l, v, a, h, fn, f)                                                    \
	{.type = OPT_T_CALLBACK, .short_name = (s), .long_name = (l), .argh = (a), .help = (h), \
	 .value = (v), .cb = (fn), .flags = (f)}
#define OPT_CALLBACK(s, l, v, a, h, fn) OPT_CALLBACK_F(s, l, v, a, h, fn, 0)

enum {
	PARSE_STOP_AT_NON_OPTION = 1 << 0, /* options end at the first operand (record's command) */
};

/* Parses argv[1..argc) by opts; argv[0] is the command's name ("fold"). -h and --help print
 * the help (usage, then the options table) to stdout and exit 0. Every mistake (an unknown
 * option, a missing, extra or bad value) is one line on stderr and exit 2. Returns the
 * number of operands left, moved to argv[0..n). usage is the text above the options:
 * "usage: perfsample fold [options]\n\nWhat it does.\n". */
int parse_options(int argc, char **argv, const struct opt *opts, const char *usage,
		  unsigned flags);

/* Writes the help of a table to stdout (what --help prints). */
void print_help(const struct opt *opts, const char *usage);

/* How --help and errors name an option: "--freq", or "-g" when it has no long name. */
const char *opt_name(const struct opt *o);

/* For commands that check operands themselves: "unexpected argument 'x'" plus a pointer
 * to the command's --help; exits 2. */
void usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

#endif
