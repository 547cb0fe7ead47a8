/* Tests of ps_perfscript. The collapse is checked against every FlameGraph conformance result
 * in tests/data/corpus/perf-script/results, and against outputs of stackcollapse-perf.pl
 * (FlameGraph 41fee1f) on the crafted inputs below, pasted as the script printed them. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_perfscript.h"

#define CORPUS "tests/data/corpus/perf-script"

/* A stream holding data[0..len), NUL bytes included. */
static FILE *mem_in(const char *data, size_t len)
{
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	rewind(f);
	return f;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
	char *data = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&data, &cap);
	char buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, got, m);
	fclose(f);
	fclose(m);
	*len = cap;
	return data;
}

/* Collapses in with opts and returns the folded text ps_profile_write_folded prints. */
static char *collapse_opts(FILE *in, const ps_collapse_opts *o, size_t *len, int *err)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	*err = ps_perfscript_collapse_opts(in, o, p);
	char *out = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&out, &cap);
	cr_assert_eq(ps_profile_write_folded(p, 0, m), 0);
	fclose(m);
	ps_profile_free(p);
	*len = cap;
	return out;
}

static char *collapse_mem(const char *data, size_t dlen, unsigned flags, size_t *len)
{
	FILE *in = mem_in(data, dlen);
	ps_collapse_opts o = {.flags = flags};
	int err;
	char *out = collapse_opts(in, &o, len, &err);
	fclose(in);
	cr_assert_eq(err, 0, "collapse: %s", ps_strerror(err));
	return out;
}

/* Fails naming the first line where got differs from want. */
static void assert_same(const char *what, const char *want, size_t wlen, const char *got,
			size_t glen)
{
	if (wlen == glen && memcmp(want, got, wlen) == 0)
		return;
	size_t i = 0, line = 1, bol = 0;
	while (i < wlen && i < glen && want[i] == got[i]) {
		if (want[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	const char *we = memchr(want + bol, '\n', wlen - bol);
	const char *ge = memchr(got + bol, '\n', glen - bol);
	int wl = (int)((we ? we : want + wlen) - (want + bol));
	int gl = (int)((ge ? ge : got + glen) - (got + bol));
	cr_assert_fail("%s: line %zu differs\n  want: %.*s%s\n  got:  %.*s%s", what, line,
		       wl > 300 ? 300 : wl, want + bol, bol < wlen ? "" : "(end of output)",
		       gl > 300 ? 300 : gl, got + bol, bol < glen ? "" : "(end of output)");
}

#define ASSERT_FOLDED(what, want, got, glen) assert_same(what, want, sizeof(want) - 1, got, glen)

static unsigned opt_flags(const char *opt)
{
	static const struct {
		const char *name;
		unsigned flags;
	} opts[] = {
	    {"pid", PS_COLLAPSE_PID}, {"tid", PS_COLLAPSE_TID}, {"kernel", PS_COLLAPSE_KERNEL},
	    {"jit", PS_COLLAPSE_JIT}, {"all", PS_COLLAPSE_ALL}, {"addrs", PS_COLLAPSE_ADDRS},
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(opt, opts[i].name) == 0)
			return opts[i].flags;
	cr_assert_fail("result file for unknown option --%s", opt);
	return 0;
}

Test(perfscript, corpus_results_byte_for_byte)
{
	DIR *d = opendir(CORPUS "/results");
	cr_assert_not_null(d, "cannot open " CORPUS "/results (run from the repo root)");
	struct dirent *e;
	size_t checked = 0;
	while ((e = readdir(d)) != NULL) {
		/* X-collapsed-OPT.txt holds `stackcollapse-perf.pl --OPT X.txt`. */
		const char *name = e->d_name, *mark = strstr(name, "-collapsed-");
		size_t nlen = strlen(name);
		if (!mark || nlen < 4 || strcmp(name + nlen - 4, ".txt") != 0)
			continue;
		char opt[64], input[512], result[512];
		int olen = (int)(name + nlen - 4 - (mark + 11));
		cr_assert(olen > 0 && olen < (int)sizeof(opt));
		snprintf(opt, sizeof(opt), "%.*s", olen, mark + 11);
		snprintf(input, sizeof(input), CORPUS "/%.*s.txt", (int)(mark - name), name);
		snprintf(result, sizeof(result), CORPUS "/results/%s", name);

		size_t wlen, glen;
		char *want = slurp(result, &wlen);
		FILE *in = fopen(input, "rb");
		cr_assert_not_null(in, "no input %s for %s", input, name);
		ps_collapse_opts o = {.flags = opt_flags(opt)};
		int err;
		char *got = collapse_opts(in, &o, &glen, &err);
		fclose(in);
		cr_assert_eq(err, 0, "%s: %s", input, ps_strerror(err));
		cr_assert_gt(wlen, 0, "%s is empty", result);
		assert_same(name, want, wlen, got, glen);
		free(want);
		free(got);
		checked++;
	}
	closedir(d);
	/* 9 inputs x 6 options: a missing or renamed file must not pass silently. */
	cr_assert_geq(checked, 54, "only %zu result files checked", checked);
}

/* perf-script text with the cases each naming rule covers: kernel frames, unresolved frames
 * with and without a module, a quoted JS name in a perf map, C++, Go, an inline chain, a
 * second event type and a Java frame. */
static const char mixed[] = "perf 1234 [000] 100.000001: 250000 cycles: \n"
			    "\tffffffff8103ce3b native_safe_halt+0x6 ([kernel.kallsyms])\n"
			    "\t7f00aa [unknown] (/usr/lib/libc.so.6)\n"
			    "\t7f00bb [unknown] ([unknown])\n"
			    "\t4005d0 main (/home/u/a.out)\n"
			    "\n"
			    "V8 WorkerThread 24636/25607 [001] 100.000002: 3 cycles:\n"
			    "\t13a80b608e0a RegExp:[&<>\\\"'] (/tmp/perf-7539.map)\n"
			    "\t4005d0 ns::(anonymous namespace)::f(int) (/home/u/a.out)\n"
			    "\t4005e0 net/http.(*Client).Do (/home/u/go)\n"
			    "\t4005f0 a->b (/home/u/a.out)\n"
			    "\n"
			    "perf 1234 [000] 100.000003: 7 instructions:\n"
			    "\t4005d0 main (/home/u/a.out)\n"
			    "\n"
			    "java 99 [000] 100.000004: 1 cycles:\n"
			    "\t7f722d142778 Ljava/io/PrintStream;::print (/tmp/perf-19982.map)\n"
			    "\n";

Test(perfscript, default_options_match_the_script)
{
	size_t len;
	char *got = collapse_mem(mixed, sizeof(mixed) - 1, 0, &len);
	ASSERT_FOLDED("default",
		      "V8_WorkerThread;a;b_[i];net/http.(*Client).Do;ns::(anonymous "
		      "namespace)::f;RegExp:[&<>\\] 3\n"
		      "java;java/io/PrintStream:::print 1\n"
		      "perf;main;[unknown];[libc.so.6];native_safe_halt 250000\n",
		      got, len);
	free(got);
}

Test(perfscript, options_match_the_script)
{
	size_t len;
	/* With --tid the root is "java-?/99": the script since Nov 2023 tidies its Java names. */
	char *got =
	    collapse_mem(mixed, sizeof(mixed) - 1, PS_COLLAPSE_TID | PS_COLLAPSE_JAVA_PREFIX, &len);
	ASSERT_FOLDED("tid",
		      "V8_WorkerThread-24636/25607;a;b_[i];net/http.(*Client).Do;ns::("
		      "anonymous namespace)::f;RegExp:[&<>\\] 3\n"
		      "java-?/99;java/io/PrintStream:::print 1\n"
		      "perf-?/1234;main;[unknown];[libc.so.6];native_safe_halt 250000\n",
		      got, len);
	free(got);
	got = collapse_mem(mixed, sizeof(mixed) - 1, PS_COLLAPSE_ALL, &len);
	ASSERT_FOLDED("all",
		      "V8_WorkerThread;a;b_[i];net/http.(*Client).Do;ns::(anonymous "
		      "namespace)::f;RegExp:[&<>\\]_[j] 3\n"
		      "java;java/io/PrintStream:::print_[j] 1\n"
		      "perf;main;[unknown];[libc.so.6];native_safe_halt_[k] 250000\n",
		      got, len);
	free(got);
	got = collapse_mem(mixed, sizeof(mixed) - 1, PS_COLLAPSE_ADDRS, &len);
	ASSERT_FOLDED("addrs",
		      "V8_WorkerThread;a;b_[i];net/http.(*Client).Do;ns::(anonymous "
		      "namespace)::f;RegExp:[&<>\\] 3\n"
		      "java;java/io/PrintStream:::print 1\n"
		      "perf;main;[unknown <7f00bb>];[libc.so.6 <7f00aa>];native_safe_halt "
		      "250000\n",
		      got, len);
	free(got);
}

Test(perfscript, java_tidy_follows_the_corpus_or_newer_flamegraph)
{
	static const char in[] = "java 5/6 1.0: cycles:\n\t1 Lcom/X;::m (/tmp/perf-5.map)\n\n";
	size_t len;
	/* The corpus results tidy Java names only when the root frame is exactly "java". */
	char *got = collapse_mem(in, sizeof(in) - 1, PS_COLLAPSE_PID, &len);
	ASSERT_FOLDED("pid", "java-5;Lcom/X:::m 1\n", got, len);
	free(got);
	got = collapse_mem(in, sizeof(in) - 1, PS_COLLAPSE_PID | PS_COLLAPSE_JAVA_PREFIX, &len);
	ASSERT_FOLDED("pid+java prefix", "java-5;com/X:::m 1\n", got, len);
	free(got);
}

/* The script's odd corners: a one-byte comm (its pattern needs two), "PID/0", periods "0"
 * and "00", two headers without a blank line between, white space and garbage lines,
 * orphan frames, invalid UTF-8 and NUL bytes, and a last sample with no blank line. */
static const char quirks[] = "a 5 [000] 1.0: 2 cycles:\n\t1 f (/x)\n\n"
			     "zz 5/0 1.0: 0 cycles:\n\t1 g (/x)\n\n"
			     "zz 6 1.0: 00 cycles:\n\t1 h (/x)\n\n"
			     "yy 7 1.0: 4 cycles:\n\t1 i (/x)\n"
			     "yy 8 1.0: 5 cycles:\n\t1 j (/x)\n\n"
			     "   \ngarbage line\n\t\n\t1 orphan (/x)\n"
			     "c\xff"
			     "d\x00"
			     "e 9 1.0: 1 cycles:\n"
			     "\t1 s\xc3(\x00t (/lib/\xff)\n"
			     "\t2 [unknown] (/lib/\xfe\x00y)\n\n"
			     "ww 9 1.0: 3 cycles:\n\t1 lost (/x)\n";

/* As stackcollapse-perf.pl writes them, except that control bytes (here NULs) become '?':
 * they never reach folded output, where they could end or forge a line. */
Test(perfscript, quirks_match_the_script)
{
	size_t len;
	char *got = collapse_mem(quirks, sizeof(quirks) - 1, 0, &len);
	ASSERT_FOLDED("default",
		      "a_5_[000]_1.0:;f 2\nc\xff"
		      "d?e;[\xfe?y];s\xc3 1\nyy;j;i 5\nzz;g 1\nzz;h 0\n",
		      got, len);
	free(got);
	got = collapse_mem(quirks, sizeof(quirks) - 1, PS_COLLAPSE_TID, &len);
	ASSERT_FOLDED("tid",
		      "a_5_[000]_1.0:-?/2;f 2\nc\xff"
		      "d?e-?/9;[\xfe?y];s\xc3 1\nyy-?/8;j;i 5\nzz-?/5;g 1\nzz-?/6;h 0\n",
		      got, len);
	free(got);
	got = collapse_mem(quirks, sizeof(quirks) - 1, PS_COLLAPSE_ADDRS, &len);
	ASSERT_FOLDED("addrs",
		      "a_5_[000]_1.0:;f 2\nc\xff"
		      "d?e;[\xfe?y <2>];s\xc3 1\nyy;j;i 5\nzz;g 1\nzz;h 0\n",
		      got, len);
	free(got);
}

struct warnings {
	size_t n, first_line;
	char first[128];
};

static void on_warn(void *ctx, size_t lineno, const char *msg)
{
	struct warnings *w = ctx;
	if (w->n++ == 0) {
		w->first_line = lineno;
		snprintf(w->first, sizeof(w->first), "%s", msg);
	}
}

Test(perfscript, event_filter_and_warnings)
{
	static const char in[] = "pp 1 1.0: 1 cycles:\n\t1 c (/x)\n\n"
				 "pp 1 1.0: 1 instructions:\n\t1 i (/x)\n\n"
				 "pp 1 1.0: 1 instructions:\n\t1 i (/x)\n\n";
	FILE *f = mem_in(in, sizeof(in) - 1);
	struct warnings w = {0};
	ps_collapse_opts o = {.warn = on_warn, .warn_ctx = &w};
	size_t len;
	int err;
	char *got = collapse_opts(f, &o, &len, &err);
	cr_assert_eq(err, 0);
	ASSERT_FOLDED("first event", "pp;c 1\n", got, len);
	free(got);
	cr_assert_eq(w.n, 1, "one warning, not one per skipped sample");
	cr_assert_eq(w.first_line, 4);
	cr_assert_str_eq(w.first, "filtering for events of type: cycles");

	rewind(f);
	w = (struct warnings){0};
	o.event_filter = "instructions";
	got = collapse_opts(f, &o, &len, &err);
	cr_assert_eq(err, 0);
	ASSERT_FOLDED("--event-filter", "pp;i 2\n", got, len);
	free(got);
	cr_assert_eq(w.n, 0, "an explicit filter is not announced");
	fclose(f);

	static const char bad[] = "pp 1 1.0: 1 cycles:\n\t1 c (/x)\nnot a frame\n\n";
	f = mem_in(bad, sizeof(bad) - 1);
	o = (ps_collapse_opts){.warn = on_warn, .warn_ctx = &w};
	got = collapse_opts(f, &o, &len, &err);
	cr_assert_eq(err, 0);
	ASSERT_FOLDED("unrecognized", "pp;c 1\n", got, len);
	free(got);
	cr_assert_eq(w.n, 1);
	cr_assert_eq(w.first_line, 3);
	cr_assert_str_eq(w.first, "unrecognized line");
	fclose(f);
}

Test(perfscript, empty_and_comment_only_input)
{
	size_t len;
	char *got = collapse_mem("", 0, 0, &len);
	cr_assert_eq(len, 0);
	free(got);
	static const char c[] = "# ========\n# cmdline : /usr/bin/perf record -g ./a\n#\n\n\n";
	got = collapse_mem(c, sizeof(c) - 1, 0, &len);
	cr_assert_eq(len, 0);
	free(got);
}

/* ---- the structured reader ---- */

#define MAXS 16
struct seen {
	size_t n;
	ps_ps_sample s[MAXS];
	char comm[MAXS][64], event[MAXS][32];
	char sym[MAXS][4][64], dso[MAXS][4][64];
	uint64_t addr[MAXS][4];
	size_t symlen[MAXS][4];
	int stop_after;
};

static int collect(void *ctx, const ps_ps_sample *s)
{
	struct seen *v = ctx;
	cr_assert_lt(v->n, MAXS);
	size_t i = v->n++;
	v->s[i] = *s;
	snprintf(v->comm[i], sizeof(v->comm[i]), "%s", s->comm);
	snprintf(v->event[i], sizeof(v->event[i]), "%s", s->event);
	for (size_t k = 0; k < s->nframes && k < 4; k++) {
		snprintf(v->sym[i][k], sizeof(v->sym[i][k]), "%s", s->frames[k].sym);
		snprintf(v->dso[i][k], sizeof(v->dso[i][k]), "%s", s->frames[k].dso);
		v->addr[i][k] = s->frames[k].addr;
		v->symlen[i][k] = strlen(s->frames[k].sym);
	}
	return v->stop_after && (int)v->n == v->stop_after ? 42 : 0;
}

static int read_mem(const char *data, size_t len, struct seen *v)
{
	FILE *f = mem_in(data, len);
	int err = ps_perfscript_read(f, collect, v);
	fclose(f);
	return err;
}

Test(perfscript, reader_header_forms)
{
	static const char in[] =
	    "V8 WorkerThread 24636/25607 [002] 94564.109216: 104345 cycles:\n"
	    "\t7f00aa foo+0x1a (/usr/lib/libc.so.6)\n"
	    "\tffffffff8103ce3b [unknown] ([kernel.kallsyms])\n"
	    "\n"
	    "java 25607 4794564.109216: cpu-clock: \n"
	    "\t7f722d142778 Ljava/io/PrintStream;::print (/tmp/perf-19982.map)\n"
	    "\n"
	    "swapper 0 [003]\n"
	    "\n";
	struct seen v = {0};
	cr_assert_eq(read_mem(in, sizeof(in) - 1, &v), 0);
	cr_assert_eq(v.n, 3);

	cr_assert_str_eq(v.comm[0], "V8 WorkerThread");
	cr_assert_eq(v.s[0].pid, 24636);
	cr_assert_eq(v.s[0].tid, 25607);
	cr_assert_eq(v.s[0].cpu, 2);
	cr_assert_float_eq(v.s[0].time, 94564.109216, 1e-9);
	cr_assert_eq(v.s[0].period, 104345);
	cr_assert_str_eq(v.event[0], "cycles");
	cr_assert_eq(v.s[0].lineno, 1);
	cr_assert_eq(v.s[0].nframes, 2);
	cr_assert_eq(v.addr[0][0], 0x7f00aa);
	cr_assert_str_eq(v.sym[0][0], "foo");
	cr_assert_str_eq(v.dso[0][0], "/usr/lib/libc.so.6");
	cr_assert_eq(v.addr[0][1], 0xffffffff8103ce3bULL);
	cr_assert_str_eq(v.sym[0][1], "[unknown]");
	cr_assert_str_eq(v.dso[0][1], "[kernel.kallsyms]");

	/* perf's default fields print the TID alone and no period. */
	cr_assert_str_eq(v.comm[1], "java");
	cr_assert_eq(v.s[1].pid, -1);
	cr_assert_eq(v.s[1].tid, 25607);
	cr_assert_eq(v.s[1].cpu, -1);
	cr_assert_eq(v.s[1].period, 1);
	cr_assert_str_eq(v.event[1], "cpu-clock");
	cr_assert_str_eq(v.sym[1][0], "Ljava/io/PrintStream;::print");

	/* No time, no event. */
	cr_assert_str_eq(v.comm[2], "swapper");
	cr_assert_eq(v.s[2].tid, 0);
	cr_assert_eq(v.s[2].cpu, 3);
	cr_assert_str_eq(v.event[2], "");
	cr_assert_eq(v.s[2].period, 1);
	cr_assert_eq(v.s[2].time, -1);
	cr_assert_eq(v.s[2].nframes, 0);
}

Test(perfscript, reader_skips_garbage_and_keeps_truncated_last_sample)
{
	static const char in[] = "\n\n\t1 orphan (/x)\n# comment\ngarbage\n   \n"
				 "pp 1 1.0: 3 cycles:\n\t10 a (/x)\nnot a frame\n\n\n\n"
				 "qq 2 1.0: 4 cycles:\n\t20 b (/y)\n"
				 "rr 3 1.0: 5 cycles:\n\t30 c (/z)"; /* no blank line, no newline */
	struct seen v = {0};
	cr_assert_eq(read_mem(in, sizeof(in) - 1, &v), 0);
	cr_assert_eq(v.n, 3);
	cr_assert_str_eq(v.comm[0], "pp");
	cr_assert_eq(v.s[0].nframes, 1);
	cr_assert_str_eq(v.sym[0][0], "a");
	/* A header ends the sample before it even without a blank line. */
	cr_assert_str_eq(v.comm[1], "qq");
	cr_assert_eq(v.s[1].nframes, 1);
	cr_assert_str_eq(v.comm[2], "rr");
	cr_assert_eq(v.s[2].nframes, 1);
	cr_assert_str_eq(v.sym[2][0], "c");
	cr_assert_str_eq(v.dso[2][0], "/z");
	cr_assert_eq(v.s[2].lineno, 15);

	/* The collapse, like the script, runs the blank-less "qq" sample on into "rr", which
	 * never ends, so both are dropped. */
	size_t len;
	char *got = collapse_mem(in, sizeof(in) - 1, 0, &len);
	ASSERT_FOLDED("collapse", "pp;a 3\n", got, len);
	free(got);
}

Test(perfscript, reader_callback_stops)
{
	static const char in[] = "pp 1 1.0: cycles:\n\n"
				 "pp 1 1.0: cycles:\n\n"
				 "pp 1 1.0: cycles:\n\n";
	struct seen v = {.stop_after = 2};
	cr_assert_eq(read_mem(in, sizeof(in) - 1, &v), 42);
	cr_assert_eq(v.n, 2);
}

Test(perfscript, megabyte_symbol)
{
	size_t big = 1 << 20;
	const char *head = "pp 1 1.0: 7 cycles:\n\t1 ";
	const char *tail = " (/x)\n\n";
	size_t len = strlen(head) + big + strlen(tail);
	char *in = malloc(len);
	cr_assert_not_null(in);
	memcpy(in, head, strlen(head));
	memset(in + strlen(head), 'f', big);
	memcpy(in + strlen(head) + big, tail, strlen(tail));

	struct seen v = {0};
	cr_assert_eq(read_mem(in, len, &v), 0);
	cr_assert_eq(v.n, 1);
	cr_assert_eq(v.symlen[0][0], big);

	size_t olen;
	char *got = collapse_mem(in, len, 0, &olen);
	cr_assert_eq(olen, 3 + big + 3, "\"pp;\" + name + \" 7\\n\"");
	cr_assert_eq(memcmp(got, "pp;fff", 6), 0);
	cr_assert_eq(memcmp(got + olen - 3, " 7\n", 3), 0);
	free(got);
	free(in);
}

Test(perfscript, long_line_without_newline_ends)
{
	/* Three read buffers' worth of one unterminated line: read to the end, no sample. */
	size_t len = 3 << 20;
	char *in = malloc(len);
	cr_assert_not_null(in);
	memset(in, ' ', len);
	in[0] = 'x';
	struct seen v = {0};
	cr_assert_eq(read_mem(in, len, &v), 0);
	cr_assert_eq(v.n, 0);
	size_t olen;
	char *got = collapse_mem(in, len, 0, &olen);
	cr_assert_eq(olen, 0);
	free(got);
	free(in);
}

Test(perfscript, nul_bytes_and_invalid_utf8)
{
	struct seen v = {0};
	cr_assert_eq(read_mem(quirks, sizeof(quirks) - 1, &v), 0);
	/* a, zz, zz, yy, yy, c\xffd\0e, ww */
	cr_assert_eq(v.n, 7);
	/* Strings are C strings: a NUL byte ends them early (the collapse keeps them whole). */
	cr_assert_str_eq(v.comm[5], "c\xff"
				    "d");
	cr_assert_eq(v.s[5].nframes, 2);
	cr_assert_str_eq(v.sym[5][0], "s\xc3(");
	cr_assert_str_eq(v.dso[5][0], "/lib/\xff");
	/* The one-byte comm "a" is not a comm to the script's pattern: it reads on to the
	 * first "white space, number, white space". */
	cr_assert_str_eq(v.comm[0], "a 5 [000] 1.0:");
	cr_assert_eq(v.s[0].tid, 2);
}
