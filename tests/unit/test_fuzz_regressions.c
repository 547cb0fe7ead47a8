/* Replays every input saved in tests/data/fuzz-regressions/ (named trace-*, perfdata-*,
 * folded-*, perfscript-*, pmcstat-*, dtrace-* or pprof-* by the parser they crashed or
 * stressed): trace, perf.data, folded, pmcstat, dtrace and pprof inputs through the fuzz
 * targets' own code, perf-script text through the reader and the collapse with each
 * option. Checks that reading is deterministic: a second read gives the same result. Under
 * `make check-asan` a memory error in any of them is fatal. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_FUZZ_NO_MAIN
#include "fuzz/fuzz_folded.c"
#include "formats/ps_perfscript.h"
#include "fuzz/fuzz_trace.c"
#include "fuzz/fuzz_perfdata.c"
#include "fuzz/fuzz_pmcstat.c"
#include "fuzz/fuzz_dtrace.c"
#include "fuzz/fuzz_pprof.c"
#include "fuzz/fuzz_procfs.c"

#define DIR_PATH "tests/data/fuzz-regressions"

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*size = n;
	return buf;
}

/* Records read and the reader's verdict, for one pass over a trace in memory. */
static void trace_pass(ps_trace_reader *r, uint64_t *records, int *last)
{
	ps_event ev;
	int got;
	*records = 0;
	while ((got = ps_trace_next(r, &ev)) > 0)
		(*records)++;
	*last = got;
}

static void check_trace(const char *name, const unsigned char *data, size_t size)
{
	ps_fuzz_trace(data, size);
	ps_trace_reader *r;
	if (ps_trace_open_mem(&r, data, size))
		return;
	uint64_t n1, n2;
	int e1, e2;
	trace_pass(r, &n1, &e1);
	ps_trace_status s1 = ps_trace_get_status(r);
	cr_assert_eq(ps_trace_rewind(r), 0, "%s: rewind failed", name);
	trace_pass(r, &n2, &e2);
	ps_trace_status s2 = ps_trace_get_status(r);
	cr_expect_eq(n1, n2, "%s: %llu records, then %llu after rewind", name,
		     (unsigned long long)n1, (unsigned long long)n2);
	cr_expect_eq(e1, e2, "%s: ended with %d, then %d", name, e1, e2);
	cr_expect_eq(s1.chunks, s2.chunks, "%s: chunk counts differ", name);
	ps_trace_close(r);
}

static uint64_t folded_total(const unsigned char *data, size_t size, int *err)
{
	FILE *in = fmemopen((void *)data, size, "r");
	cr_assert_not_null(in);
	ps_profile *p = ps_profile_new(0);
	*err = ps_profile_read_folded(p, in, 0, NULL, NULL);
	uint64_t t = ps_profile_total(p, 0);
	ps_profile_free(p);
	fclose(in);
	return t;
}

static int count_sample(void *ctx, const ps_ps_sample *s)
{
	(void)s;
	(*(size_t *)ctx)++;
	return 0;
}

static uint64_t collapse_total(const unsigned char *data, size_t size, unsigned flags, int *err)
{
	FILE *in = fmemopen((void *)data, size, "r");
	cr_assert_not_null(in);
	size_t n = 0;
	*err = ps_perfscript_read(in, count_sample, &n);
	rewind(in);
	ps_profile *p = ps_profile_new(0);
	int e = ps_perfscript_collapse(in, flags, p);
	*err = *err ? *err : e;
	uint64_t t = ps_profile_total(p, 0);
	ps_profile_free(p);
	fclose(in);
	return t;
}

Test(fuzz_regressions, replay_saved_inputs)
{
	DIR *d = opendir(DIR_PATH);
	cr_assert_not_null(d, "no %s (run from the repository root)", DIR_PATH);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", DIR_PATH, de->d_name);
		size_t size;
		unsigned char *data = slurp(path, &size);
		int e1 = 0, e2 = 0;
		if (!strncmp(de->d_name, "trace-", 6)) {
			check_trace(de->d_name, data, size);
		} else if (!strncmp(de->d_name, "perfdata-", 9)) {
			ps_fuzz_perfdata(data, size);
			if (size > 1 && !(data[0] & 1))
				check_trace(de->d_name, data + 1, size - 1);
		} else if (!strncmp(de->d_name, "folded-", 7)) {
			ps_fuzz_folded(data, size);
			uint64_t a = size ? folded_total(data + 1, size - 1, &e1) : 0;
			uint64_t b = size ? folded_total(data + 1, size - 1, &e2) : 0;
			cr_expect_eq(a, b, "%s: folded totals differ", de->d_name);
			cr_expect_eq(e1, e2, "%s: folded reads end differently", de->d_name);
		} else if (!strncmp(de->d_name, "perfscript-", 11)) {
			for (unsigned flags = 0; flags < 64; flags += 7) {
				uint64_t a = collapse_total(data, size, flags, &e1);
				uint64_t b = collapse_total(data, size, flags, &e2);
				cr_expect_eq(a, b, "%s: collapsed totals differ", de->d_name);
				cr_expect_eq(e1, e2, "%s: collapses end differently", de->d_name);
			}
		} else if (!strncmp(de->d_name, "pmcstat-", 8)) {
			ps_fuzz_pmcstat(data, size);
		} else if (!strncmp(de->d_name, "dtrace-", 7)) {
			ps_fuzz_dtrace(data, size);
		} else if (!strncmp(de->d_name, "pprof-", 6)) {
			ps_fuzz_pprof(data, size);
		} else if (!strncmp(de->d_name, "procfs-", 7)) {
			ps_fuzz_procfs(data, size);
		} else {
			cr_assert_fail("%s: name it trace-*, perfdata-*, folded-*, perfscript-*, "
				       "pmcstat-*, dtrace-*, pprof-* or procfs-*",
				       de->d_name);
		}
		free(data);
		n++;
	}
	closedir(d);
	cr_assert_gt(n, 0, "no saved inputs in %s", DIR_PATH);
}
