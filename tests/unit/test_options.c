/* Tests of cmd/options: the command line parsed from a declarative table, --help written
 * from the same table, and every mistake a usage error (exit 2). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/options.h"
#include "cmd/util.h"

struct cli {
	int flag, level;
	const char *out;
	uint64_t freq;
	double secs;
	const char *seen[4];
	int nseen;
	const char *when;
	int switched;
};

static void cb_seen(const struct opt *o, const char *arg)
{
	struct cli *c = o->value;
	c->seen[c->nseen++] = arg;
}

static void cb_switch(const struct opt *o, const char *arg)
{
	struct cli *c = o->value;
	c->switched = 1;
	c->when = arg;
}

#define TABLE(c)                                                                                \
	{                                                                                       \
		OPT_GROUP("group:"),                                                            \
		OPT_BOOL('q', "quiet", &(c).flag, "no output"),                                 \
		OPT_U64('F', "freq", &(c).freq, "HZ", "samples per second", 1, 1000),           \
		OPT_INT('z', NULL, &(c).level, "LEVEL", "a level", 1, 19),                      \
		OPT_DOUBLE(0, "secs", &(c).secs, "S", "seconds", 0.5, 10),                      \
		OPT_STRING('o', "output", &(c).out, "FILE", "where"),                          \
		OPT_CALLBACK(0, "hide", &(c), "FUNC", "repeatable", cb_seen),                   \
		OPT_CALLBACK_F(0, "switch", &(c), "WHEN", "optional value", cb_switch,         \
			       OPT_OPTARG),                                                     \
		OPT_TEXT("The end."),                                                           \
		OPT_END(),                                                                      \
	}

static int parse(struct cli *c, char **argv, unsigned flags)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	const struct opt t[] = TABLE(*c);
	return parse_options(argc, argv, t, "usage: perfsample t\n", flags);
}

Test(options, values_flags_and_operands)
{
	struct cli c = {0};
	char *argv[] = {"t", "a", "-qF", "99", "--out=x", "-z", "3", "--secs", "1.5", "b",
			"--hide", "f", "--hide=g", "--switch", "--se", "2", NULL};
	int n = parse(&c, argv, 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(argv[0], "a");
	cr_expect_str_eq(argv[1], "b");
	cr_expect_null(argv[2]);
	cr_expect_eq(c.flag, 1);
	cr_expect_eq(c.freq, 99);
	cr_expect_str_eq(c.out, "x", "a unique prefix is the option");
	cr_expect_eq(c.level, 3);
	cr_expect_float_eq(c.secs, 2.0, 1e-9, "the last one wins");
	cr_assert_eq(c.nseen, 2);
	cr_expect_str_eq(c.seen[0], "f");
	cr_expect_str_eq(c.seen[1], "g");
	cr_expect_eq(c.switched, 1);
	cr_expect_null(c.when, "an optional value is only --switch=WHEN");
}

Test(options, stop_at_the_first_operand)
{
	struct cli c = {0};
	char *argv[] = {"t", "-q", "cmd", "-F", "5", NULL};
	int n = parse(&c, argv, PARSE_STOP_AT_NON_OPTION);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(argv[0], "cmd");
	cr_expect_str_eq(argv[1], "-F");
	cr_expect_eq(c.freq, 0);
}

Test(options, help_exits_0, .init = cr_redirect_stdout, .exit_code = 0)
{
	struct cli c = {0};
	char *argv[] = {"t", "-h", NULL};
	parse(&c, argv, 0);
}

Test(options, help_text, .init = cr_redirect_stdout)
{
	struct cli c = {0};
	const struct opt t[] = TABLE(c);
	print_help(t, "usage: perfsample t\n");
	fflush(stdout);
	cr_assert_stdout_eq_str("usage: perfsample t\n"
				"\n"
				"group:\n"
				"  -q, --quiet                no output\n"
				"  -F, --freq HZ              samples per second\n"
				"  -z LEVEL                   a level\n"
				"      --secs S               seconds\n"
				"  -o, --output FILE          where\n"
				"      --hide FUNC            repeatable\n"
				"      --switch[=WHEN]        optional value\n"
				"\n"
				"  -h, --help                 this help\n"
				"\n"
				"The end.\n");
}

/* Parses argv in a child; returns its exit status and what it wrote to stderr. */
static int parse_in_child(char **argv, char *err, size_t errlen)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		struct cli c = {0};
		parse(&c, argv, 0);
		_exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t got;
	while (n + 1 < errlen && (got = read(fds[0], err + n, errlen - 1 - n)) > 0)
		n += (size_t)got;
	err[n] = '\0';
	close(fds[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Every mistake: exit 2 and this one line. */
static void expect_usage_error(const char *expect, char **argv)
{
	char err[512];
	cr_expect_eq(parse_in_child(argv, err, sizeof(err)), 2, "%s", expect);
	/* The first line: a sanitizer's leak check of the forked child may add its own. */
	char *nl = strchr(err, '\n');
	if (nl)
		nl[1] = '\0';
	cr_expect_str_eq(err, expect);
}

Test(options, usage_errors)
{
	const char *see = " (see 'perfsample t --help')\n";
	char want[256];
#define EXPECT(msg, ...)                                                                        \
	do {                                                                                    \
		char *argv[] = {"t", __VA_ARGS__, NULL};                                        \
		snprintf(want, sizeof(want), "perfsample: %s%s", msg, see);                     \
		expect_usage_error(want, argv);                                                 \
	} while (0)
	EXPECT("unknown option '--nope'", "--nope");
	EXPECT("unknown option '--nope'", "--nope=3");
	EXPECT("unknown option '-x'", "-qx");
	EXPECT("ambiguous option '--s' (--secs, --switch)", "--s");
	EXPECT("option '-F' needs a value: HZ", "-F");
	EXPECT("option '--output' needs a value: FILE", "--output");
	EXPECT("option '--quiet' takes no value", "--quiet=1");
	EXPECT("option '--hide' needs a value: FUNC", "--hide");
#undef EXPECT
	char *range[] = {"t", "-F", "0", NULL};
	expect_usage_error("perfsample: invalid --freq '0' (expected a whole number from 1 to 1000)\n",
			   range);
	char *nan[] = {"t", "--secs", "soon", NULL};
	expect_usage_error("perfsample: invalid --secs 'soon' (expected a number from 0.5 to 10)\n",
			   nan);
	char *shortonly[] = {"t", "-z", "20", NULL};
	expect_usage_error("perfsample: invalid -z '20' (expected a whole number from 1 to 19)\n",
			   shortonly);
}

/* A table that declares a name twice is perfsample's bug, caught on every run. */
Test(options, duplicate_names_abort, .init = cr_redirect_stderr, .signal = SIGABRT)
{
	int a, b;
	const struct opt t[] = {
		OPT_BOOL(0, "same", &a, "one"),
		OPT_BOOL(0, "same", &b, "two"),
		OPT_END(),
	};
	char *argv[] = {"t", NULL};
	parse_options(1, argv, t, "usage\n", 0);
}

Test(options, includes_are_spliced)
{
	int a = 0, b = 0;
	const struct opt inner[] = {OPT_BOOL(0, "inner", &b, "inside"), OPT_END()};
	const struct opt t[] = {OPT_BOOL(0, "outer", &a, "outside"), OPT_INCLUDE(inner),
				OPT_END()};
	char *argv[] = {"t", "--inner", "--outer", NULL};
	cr_assert_eq(parse_options(3, argv, t, "usage\n", 0), 0);
	cr_expect_eq(a, 1);
	cr_expect_eq(b, 1);
}
