/* Tests of ps_pprof, the reader of pprof's profile.proto: profiles encoded here field by
 * field (so each rule of the format and each kind of damage is one test), the files in
 * tests/data/stacks (runtime/pprof's CPU and heap profiles of tests/e2e/pprof_workload.go,
 * perfsample's own export of examples/inline; totals as `go tool pprof -raw` prints
 * them), and the round trip through perfsample's pprof export. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/ps_error.h"
#include "formats/ps_pprof.h"
#include "render/ps_export.h"

#define DATA "tests/data/stacks"

/* ---- a protobuf encoder, just enough for profile.proto ---- */

typedef struct enc {
	unsigned char b[65536];
	size_t n;
} enc;

static void e_raw(enc *e, const void *d, size_t len)
{
	cr_assert_leq(e->n + len, sizeof(e->b));
	memcpy(e->b + e->n, d, len);
	e->n += len;
}

static void e_varint(enc *e, uint64_t v)
{
	while (v >= 0x80) {
		unsigned char c = (unsigned char)(v | 0x80);
		e_raw(e, &c, 1);
		v >>= 7;
	}
	unsigned char c = (unsigned char)v;
	e_raw(e, &c, 1);
}

static void e_uint(enc *e, unsigned field, uint64_t v)
{
	e_varint(e, (uint64_t)field << 3);
	e_varint(e, v);
}

static void e_bytes(enc *e, unsigned field, const void *d, size_t len)
{
	e_varint(e, (uint64_t)field << 3 | 2);
	e_varint(e, len);
	e_raw(e, d, len);
}

static void e_str(enc *e, const char *s) { e_bytes(e, 6, s, strlen(s)); }
static void e_msg(enc *e, unsigned field, const enc *sub) { e_bytes(e, field, sub->b, sub->n); }

/* A value type message {type, unit}. */
static void e_type(enc *e, unsigned field, uint64_t type, uint64_t unit)
{
	enc s = {0};
	e_uint(&s, 1, type);
	e_uint(&s, 2, unit);
	e_msg(e, field, &s);
}

/* Strings: 0 "", 1 samples, 2 count, 3 cpu, 4 nanoseconds, 5 main, 6 inlined, 7 app.c,
 * 8 /usr/bin/app, 9 abc123, 10 [kernel.kallsyms], 11 schedule, 12 pid, 13 tid, 14 comm,
 * 15 app, 16 _ZN3foo3barEv */
static const char *const strings[] = {"",	    "samples", "count",		  "cpu",
				      "nanoseconds", "main",    "inlined",	  "app.c",
				      "/usr/bin/app", "abc123", "[kernel.kallsyms]", "schedule",
				      "pid",	    "tid",     "comm",		  "app",
				      "_ZN3foo3barEv"};

static void e_strings(enc *e)
{
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		e_str(e, strings[i]);
}

static void e_mapping(enc *e, uint64_t id, uint64_t start, uint64_t limit, uint64_t file,
		      uint64_t bid)
{
	enc s = {0};
	e_uint(&s, 1, id);
	e_uint(&s, 2, start);
	e_uint(&s, 3, limit);
	e_uint(&s, 4, 0x1000);
	e_uint(&s, 5, file);
	e_uint(&s, 6, bid);
	e_uint(&s, 7, file != 10); /* has_functions, but for the kernel's */
	e_msg(e, 3, &s);
}

static void e_function(enc *e, uint64_t id, uint64_t name, uint64_t sysname, uint64_t file)
{
	enc s = {0};
	e_uint(&s, 1, id);
	e_uint(&s, 2, name);
	e_uint(&s, 3, sysname);
	e_uint(&s, 4, file);
	e_msg(e, 5, &s);
}

/* A location with lines {function, line}..., innermost first. */
static void e_location(enc *e, uint64_t id, uint64_t mapping, uint64_t addr, size_t nlines,
		       const uint64_t (*lines)[2])
{
	enc s = {0};
	e_uint(&s, 1, id);
	e_uint(&s, 2, mapping);
	e_uint(&s, 3, addr);
	for (size_t i = 0; i < nlines; i++) {
		enc l = {0};
		e_uint(&l, 1, lines[i][0]);
		e_uint(&l, 2, lines[i][1]);
		e_msg(&s, 4, &l);
	}
	e_msg(e, 4, &s);
}

static void e_label(enc *s, uint64_t key, uint64_t str, uint64_t num)
{
	enc l = {0};
	e_uint(&l, 1, key);
	if (str)
		e_uint(&l, 2, str);
	if (num)
		e_uint(&l, 3, num);
	e_msg(s, 3, &l);
}

/* A sample: location ids packed (or one field each), values packed. */
static void e_sample(enc *e, size_t nlocs, const uint64_t *locs, size_t nvals,
		     const uint64_t *vals, int packed, uint64_t pid)
{
	enc s = {0}, p = {0};
	if (packed) {
		for (size_t i = 0; i < nlocs; i++)
			e_varint(&p, locs[i]);
		e_msg(&s, 1, &p);
	} else {
		for (size_t i = 0; i < nlocs; i++)
			e_uint(&s, 1, locs[i]);
	}
	p.n = 0;
	for (size_t i = 0; i < nvals; i++)
		e_varint(&p, vals[i]);
	e_msg(&s, 2, &p);
	if (pid) {
		e_label(&s, 12, 0, pid);
		e_label(&s, 13, 0, pid + 1);
		e_label(&s, 14, 15, 0);
	}
	e_msg(e, 2, &s);
}

/* The profile most tests read: samples/count and cpu/nanoseconds; an app mapping with a
 * build-id and the kernel's; main (app.c:10) with inlined (app.c:3) inlined into it at one
 * address, schedule in the kernel, a location without lines. */
static void good_profile(enc *e)
{
	e_type(e, 1, 1, 2);
	e_type(e, 1, 3, 4);
	e_mapping(e, 1, 0x400000, 0x500000, 8, 9);
	e_mapping(e, 2, 0xffffffff81000000, 0xffffffff82000000, 10, 0);
	e_function(e, 1, 5, 5, 7);
	e_function(e, 2, 6, 6, 7);
	e_function(e, 3, 11, 0, 0);
	e_function(e, 4, 0, 16, 0); /* a system name only */
	static const uint64_t inl[][2] = {{2, 3}, {1, 10}};
	e_location(e, 10, 1, 0x401234, 2, inl);
	static const uint64_t sched[][2] = {{3, 0}};
	e_location(e, 11, 2, 0xffffffff81001000, 1, sched);
	e_location(e, 12, 1, 0x4fffff, 0, NULL);
	static const uint64_t sys[][2] = {{4, 7}};
	e_location(e, 13, 1, 0x401000, 1, sys);
	uint64_t s1[] = {11, 10}, v1[] = {3, 30000000};
	e_sample(e, 2, s1, 2, v1, 1, 42);
	uint64_t s2[] = {10}, v2[] = {2, 20000000};
	e_sample(e, 1, s2, 2, v2, 0, 0);
	uint64_t s3[] = {12, 13, 10}, v3[] = {1, 10000000};
	e_sample(e, 3, s3, 2, v3, 1, 0);
	e_uint(e, 9, 1700000000000000000ull);
	e_uint(e, 10, 2000000000);
	e_type(e, 11, 3, 4);
	e_uint(e, 12, 10000000);
	e_strings(e); /* last, as Go writes it: everything above names strings before them */
}

static ps_profile *read_enc(const enc *e, unsigned flags, const ps_pprof_opts *o, int *err,
			    ps_pprof_info *info)
{
	ps_profile *p = ps_profile_new(flags);
	cr_assert_not_null(p);
	*err = ps_pprof_read_mem(e->b, e->n, o, p, info);
	return p;
}

static char *folded(ps_profile *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_eq(ps_profile_write_folded(p, 0, out), 0);
	fclose(out);
	return text;
}

static const ps_frame *frame_named(ps_profile *p, const char *name)
{
	for (ps_frame_id i = 0; i < ps_profile_nframes(p); i++)
		if (!strcmp(ps_profile_frame_at(p, i)->name, name))
			return ps_profile_frame_at(p, i);
	cr_assert_fail("no frame %s", name);
	return NULL;
}

Test(pprof, sample_types_become_columns_with_every_value)
{
	enc e = {0};
	good_profile(&e);
	int err;
	ps_pprof_info info;
	ps_profile *p = read_enc(&e, 0, NULL, &err, &info);
	cr_assert_eq(err, 0, "%d %s", err, info.why ? info.why : "");
	cr_assert_eq(ps_profile_ntypes(p), 2);
	const char *unit;
	cr_expect_str_eq(ps_profile_type(p, 0, &unit), "samples");
	cr_expect_str_eq(unit, "count");
	cr_expect_str_eq(ps_profile_type(p, 1, &unit), "cpu");
	cr_expect_str_eq(unit, "nanoseconds");
	cr_expect_eq(ps_profile_total(p, 0), 6);
	cr_expect_eq(ps_profile_total(p, 1), 60000000);
	cr_expect_eq(info.time_nanos, 1700000000000000000ll);
	cr_expect_eq(info.duration_nanos, 2000000000);
	cr_expect_eq(info.period, 10000000);
	cr_expect_str_eq(info.period_type, "cpu");
	cr_expect_str_eq(info.period_unit, "nanoseconds");
	cr_expect_eq(info.ntypes, 2);
	cr_expect_eq(info.dropped, 0);
	/* Stacks root first, a comm label as the process root, inlined frames above the
	 * function they are inlined into, a location without lines by its address. */
	char *text = folded(p);
	cr_expect_str_eq(text, "app;main;inlined;schedule 3\n"
			       "main;inlined 2\n"
			       "main;inlined;_ZN3foo3barEv;0x4fffff 1\n");
	free(text);
	ps_profile_free(p);
}

Test(pprof, frames_have_kinds_mappings_and_per_function_identity)
{
	enc e = {0};
	good_profile(&e);
	int err;
	ps_profile *p = read_enc(&e, 0, NULL, &err, NULL);
	cr_assert_eq(err, 0);
	const ps_frame *f = frame_named(p, "main");
	cr_expect_eq(f->kind, PS_FRAME_USER);
	cr_expect_eq(f->addr, 0); /* per function */
	cr_expect_null(f->file);
	const ps_mapping *m = ps_profile_mapping_at(p, f->mapping);
	cr_assert_not_null(m);
	cr_expect_str_eq(m->path, "/usr/bin/app");
	cr_expect_str_eq(m->build_id, "abc123");
	cr_expect_eq(m->start, 0);
	cr_expect_eq(frame_named(p, "inlined")->kind, PS_FRAME_INLINE);
	cr_expect_not(f->unresolved);
	f = frame_named(p, "schedule");
	cr_expect_eq(f->kind, PS_FRAME_KERNEL);
	cr_expect(f->unresolved); /* its mapping has no has_functions */
	m = ps_profile_mapping_at(p, f->mapping);
	cr_expect_str_eq(m->path, "[kernel.kallsyms]");
	cr_expect_null(m->build_id);
	f = frame_named(p, "0x4fffff");
	cr_expect(f->unresolved);
	cr_expect_eq(f->addr, 0x4fffff);
	cr_expect_eq(frame_named(p, "app")->kind, PS_FRAME_PROCESS);
	ps_profile_free(p);
}

Test(pprof, per_address_frames_keep_address_file_line_and_range)
{
	enc e = {0};
	good_profile(&e);
	int err;
	ps_pprof_opts o = {.addresses = 1};
	ps_profile *p = read_enc(&e, 0, &o, &err, NULL);
	cr_assert_eq(err, 0);
	const ps_frame *f = frame_named(p, "main");
	cr_expect_eq(f->addr, 0x401234);
	cr_expect_str_eq(f->file, "app.c");
	cr_expect_eq(f->line, 10);
	f = frame_named(p, "inlined");
	cr_expect_eq(f->line, 3);
	const ps_mapping *m = ps_profile_mapping_at(p, f->mapping);
	cr_expect_eq(m->start, 0x400000);
	cr_expect_eq(m->limit, 0x500000);
	cr_expect_eq(m->pgoff, 0x1000);
	ps_profile_free(p);
	/* --lines: file and line, no address. */
	o = (ps_pprof_opts){.lines = 1};
	p = read_enc(&e, 0, &o, &err, NULL);
	f = frame_named(p, "main");
	cr_expect_eq(f->line, 10);
	cr_expect_eq(f->addr, 0);
	ps_profile_free(p);
}

Test(pprof, kept_samples_carry_pid_and_tid_labels)
{
	enc e = {0};
	good_profile(&e);
	int err;
	ps_profile *p = read_enc(&e, PS_PROFILE_SAMPLES, NULL, &err, NULL);
	cr_assert_eq(err, 0);
	cr_assert_eq(ps_profile_nsamples(p), 3);
	cr_expect_eq(ps_profile_sample_at(p, 0)->pid, 42);
	cr_expect_eq(ps_profile_sample_at(p, 0)->tid, 43);
	cr_expect_eq(ps_profile_sample_value(p, 0, 1), 30000000);
	cr_expect_eq(ps_profile_sample_at(p, 1)->pid, 0);
	ps_profile_free(p);
}

Test(pprof, more_sample_types_than_columns_are_named_as_dropped)
{
	enc e = {0};
	for (int i = 0; i < PS_PROFILE_MAX_COLS + 2; i++)
		e_type(&e, 1, 1 + (i % 2) * 2, 2 + (i % 2) * 2);
	uint64_t loc[] = {10}, v[PS_PROFILE_MAX_COLS + 2];
	for (int i = 0; i < PS_PROFILE_MAX_COLS + 2; i++)
		v[i] = (uint64_t)i + 1;
	static const uint64_t l[][2] = {{1, 1}};
	e_function(&e, 1, 5, 0, 0);
	e_location(&e, 10, 0, 0x10, 1, l);
	e_sample(&e, 1, loc, PS_PROFILE_MAX_COLS + 2, v, 1, 0);
	e_strings(&e);
	int err;
	ps_pprof_info info;
	ps_profile *p = read_enc(&e, 0, NULL, &err, &info);
	cr_assert_eq(err, 0);
	cr_expect_eq(ps_profile_ntypes(p), PS_PROFILE_MAX_COLS);
	cr_expect_eq(info.ntypes, PS_PROFILE_MAX_COLS + 2);
	cr_expect_eq(info.dropped, 2);
	cr_expect_str_eq(info.dropped_names, "samples/count, cpu/nanoseconds");
	cr_expect_eq(ps_profile_total(p, PS_PROFILE_MAX_COLS - 1), PS_PROFILE_MAX_COLS);
	ps_profile_free(p);
}

/* The sample type chosen goes first: renderers show column 0. */
Test(pprof, a_chosen_sample_type_is_column_0)
{
	enc e = {0};
	good_profile(&e);
	int err;
	ps_pprof_info info;
	ps_pprof_opts o = {.sample_type = "cpu"};
	ps_profile *p = read_enc(&e, 0, &o, &err, &info);
	cr_assert_eq(err, 0);
	const char *unit;
	cr_expect_str_eq(ps_profile_type(p, 0, &unit), "cpu");
	cr_expect_str_eq(ps_profile_type(p, 1, &unit), "samples");
	cr_expect_eq(ps_profile_total(p, 0), 60000000);
	cr_expect_eq(ps_profile_total(p, 1), 6);
	ps_profile_free(p);
	o.sample_type = "inuse_space";
	p = read_enc(&e, 0, &o, &err, &info);
	cr_expect_eq(err, PS_EFORMAT);
	cr_expect(info.no_such_type);
	cr_expect_str_eq(info.types, "samples, cpu");
	ps_profile_free(p);
}

/* Each kind of damage: PS_EFORMAT with a reason, never a crash or a partial success. */
static void expect_bad(const enc *e, const char *why_part)
{
	int err;
	ps_pprof_info info;
	ps_profile *p = read_enc(e, 0, NULL, &err, &info);
	cr_expect_eq(err, PS_EFORMAT, "expected PS_EFORMAT for '%s', got %d", why_part, err);
	cr_expect(info.why && strstr(info.why, why_part), "reason '%s', expected '%s'",
		  info.why ? info.why : "(none)", why_part);
	ps_profile_free(p);
}

Test(pprof, broken_profiles_are_errors_with_a_reason)
{
	enc e = {0};
	expect_bad(&e, "no sample types");
	e_raw(&e, "hello, world\n", 13);
	expect_bad(&e, "broken");
	/* a truncated varint */
	e.n = 0;
	e_type(&e, 1, 1, 2);
	e_raw(&e, "\x08\xff", 2);
	expect_bad(&e, "broken");
	/* a group (wire type 3) */
	e.n = 0;
	e_raw(&e, "\x0b", 1);
	expect_bad(&e, "broken");
	/* a length past the end */
	e.n = 0;
	e_raw(&e, "\x0a\x7f", 2);
	expect_bad(&e, "broken");
	/* a string index past the table */
	e.n = 0;
	e_type(&e, 1, 99, 2);
	e_strings(&e);
	expect_bad(&e, "string index");
	/* a string table that does not start with "" */
	e.n = 0;
	e_type(&e, 1, 0, 0);
	e_str(&e, "x");
	expect_bad(&e, "does not start");
	/* values that do not match the types */
	e.n = 0;
	e_type(&e, 1, 1, 2);
	uint64_t loc[] = {1}, v2[] = {1, 2};
	e_sample(&e, 0, loc, 2, v2, 1, 0);
	e_strings(&e);
	expect_bad(&e, "number of values");
	/* a negative value */
	e.n = 0;
	e_type(&e, 1, 1, 2);
	uint64_t neg[] = {(uint64_t)-5};
	e_sample(&e, 0, loc, 1, neg, 1, 0);
	e_strings(&e);
	expect_bad(&e, "negative");
	/* a location that is not there */
	e.n = 0;
	e_type(&e, 1, 1, 2);
	uint64_t one[] = {1};
	e_sample(&e, 1, loc, 1, one, 1, 0);
	e_strings(&e);
	expect_bad(&e, "location that is not there");
	/* two locations with one id */
	e.n = 0;
	e_type(&e, 1, 1, 2);
	e_location(&e, 7, 0, 1, 0, NULL);
	e_location(&e, 7, 0, 2, 0, NULL);
	e_strings(&e);
	expect_bad(&e, "two locations with one id");
	/* a line naming no function, a location naming no mapping */
	e.n = 0;
	e_type(&e, 1, 1, 2);
	static const uint64_t l[][2] = {{5, 1}};
	e_location(&e, 7, 0, 1, 1, l);
	e_strings(&e);
	expect_bad(&e, "function that is not there");
	e.n = 0;
	e_type(&e, 1, 1, 2);
	e_location(&e, 7, 3, 1, 0, NULL);
	e_strings(&e);
	expect_bad(&e, "mapping that is not there");
}

Test(pprof, sums_past_the_limit_are_an_error)
{
	enc e = {0};
	e_type(&e, 1, 1, 2);
	uint64_t big[] = {INT64_MAX};
	e_sample(&e, 0, NULL, 1, big, 1, 0);
	e_sample(&e, 0, NULL, 1, big, 1, 0);
	e_strings(&e);
	int err;
	ps_pprof_info info;
	ps_profile *p = read_enc(&e, 0, NULL, &err, &info);
	cr_expect_eq(err, PS_ELIMIT);
	cr_expect(info.why && strstr(info.why, "2^63-1"));
	ps_profile_free(p);
}

/* A location named again and again cannot make the reader do more work than its size
 * allows. */
Test(pprof, frames_are_bounded_by_the_input)
{
	static enc e;
	memset(&e, 0, sizeof(e));
	e_type(&e, 1, 1, 2);
	e_function(&e, 1, 5, 0, 0);
	enc s = {0};
	e_uint(&s, 1, 7);
	for (int i = 0; i < 2000; i++) { /* 2000 inline lines in one location */
		enc l = {0};
		e_uint(&l, 1, 1);
		e_msg(&s, 4, &l);
	}
	e_msg(&e, 4, &s);
	/* one sample naming it 1500 times: 3M frames from about 12 KB */
	enc smp = {0}, packed = {0};
	for (int i = 0; i < 1500; i++)
		e_varint(&packed, 7);
	e_msg(&smp, 1, &packed);
	packed.n = 0;
	e_varint(&packed, 1);
	e_msg(&smp, 2, &packed);
	e_msg(&e, 2, &smp);
	e_strings(&e);
	int err;
	ps_pprof_info info;
	ps_profile *p = read_enc(&e, 0, NULL, &err, &info);
	cr_expect_eq(err, PS_ELIMIT);
	cr_expect(info.why && strstr(info.why, "more frames"));
	ps_profile_free(p);
}

static size_t gz(const void *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = cap - z.avail_out;
	deflateEnd(&z);
	return len;
}

Test(pprof, gzip_whole_cut_corrupt_and_bombs)
{
	enc e = {0};
	good_profile(&e);
	static unsigned char z[16384];
	size_t n = gz(e.b, e.n, z, sizeof(z));
	ps_profile *p = ps_profile_new(0);
	cr_expect_eq(ps_pprof_read_mem(z, n, NULL, p, NULL), 0);
	cr_expect_eq(ps_profile_total(p, 1), 60000000);
	ps_profile_free(p);
	/* two members, as `cat a.gz b.gz` makes: one stream */
	static unsigned char two[32768];
	size_t half = e.n / 2;
	size_t n1 = gz(e.b, half, two, sizeof(two));
	size_t n2 = gz(e.b + half, e.n - half, two + n1, sizeof(two) - n1);
	p = ps_profile_new(0);
	cr_expect_eq(ps_pprof_read_mem(two, n1 + n2, NULL, p, NULL), 0);
	cr_expect_eq(ps_profile_total(p, 1), 60000000);
	ps_profile_free(p);
	p = ps_profile_new(0);
	cr_expect_eq(ps_pprof_read_mem(z, n - 10, NULL, p, NULL), PS_ETRUNC);
	ps_profile_free(p);
	z[n / 2] ^= 0xff;
	z[n / 2 + 1] ^= 0x55;
	p = ps_profile_new(0);
	int err = ps_pprof_read_mem(z, n, NULL, p, NULL);
	cr_expect(err == PS_ECORRUPT || err == PS_EFORMAT, "corrupt gzip: %d", err);
	ps_profile_free(p);
	/* 8 MiB of zeros in a few KB: over a 1 MiB limit */
	unsigned char *zeros = calloc(8 << 20, 1);
	static unsigned char bomb[65536];
	size_t nb = gz(zeros, 8 << 20, bomb, sizeof(bomb));
	free(zeros);
	ps_pprof_opts o = {.max_bytes = 1 << 20};
	ps_pprof_info info;
	p = ps_profile_new(0);
	cr_expect_eq(ps_pprof_read_mem(bomb, nb, &o, p, &info), PS_ELIMIT);
	cr_expect(info.why && strstr(info.why, "limit"));
	ps_profile_free(p);
}

/* pprof allows a sample without locations: its values count (at the root of the stacks),
 * and the export writes them back. */
Test(pprof, a_sample_without_locations_keeps_its_values)
{
	enc e = {0};
	e_type(&e, 1, 1, 2);
	uint64_t v[] = {18};
	e_sample(&e, 0, NULL, 1, v, 1, 0);
	e_function(&e, 1, 5, 5, 0);
	static const uint64_t l[][2] = {{1, 1}};
	e_location(&e, 3, 0, 0x10, 1, l);
	uint64_t loc[] = {3}, v2[] = {5};
	e_sample(&e, 1, loc, 1, v2, 1, 0);
	e_strings(&e);
	int err;
	ps_profile *p = read_enc(&e, 0, NULL, &err, NULL);
	cr_assert_eq(err, 0);
	cr_expect_eq(ps_profile_total(p, 0), 23);
	cr_expect_eq(ps_profile_node_self(p, PS_NODE_ROOT, 0), 18);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert_eq(ps_export_pprof(p, NULL, out), 0);
	fclose(out);
	ps_profile *q = ps_profile_new(0);
	cr_assert_eq(ps_pprof_read_mem(buf, len, NULL, q, NULL), 0);
	cr_expect_eq(ps_profile_total(q, 0), 23);
	cr_expect_eq(ps_profile_node_self(q, PS_NODE_ROOT, 0), 18);
	free(buf);
	ps_profile_free(q);
	ps_profile_free(p);
}

/* ---- real files ---- */

static ps_profile *read_file(const char *name, unsigned flags, const ps_pprof_opts *o)
{
	char path[256];
	snprintf(path, sizeof(path), DATA "/%s", name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	ps_profile *p = ps_profile_new(flags);
	ps_pprof_info info;
	int err = ps_pprof_read(f, o, p, &info);
	cr_assert_eq(err, 0, "%s: %d %s", path, err, info.why ? info.why : "");
	fclose(f);
	return p;
}

/* The totals `go tool pprof -raw` prints for each sample type. */
Test(pprof, go_profiles_keep_their_totals)
{
	ps_profile *p = read_file("go-cpu.pb.gz", 0, NULL);
	cr_expect_eq(ps_profile_ntypes(p), 2);
	cr_expect_eq(ps_profile_total(p, 0), 43);
	cr_expect_eq(ps_profile_total(p, 1), 430000000);
	const ps_frame *f = frame_named(p, "main.spinA");
	cr_expect_str_eq(ps_profile_mapping_at(p, f->mapping)->path, "/tmp/x/go/prof");
	ps_profile_free(p);
	p = read_file("go-heap.pb.gz", 0, NULL);
	cr_expect_eq(ps_profile_ntypes(p), 4);
	const char *unit;
	cr_expect_str_eq(ps_profile_type(p, 3, &unit), "inuse_space");
	cr_expect_eq(ps_profile_total(p, 0), 1922);
	cr_expect_eq(ps_profile_total(p, 1), 9995598);
	cr_expect_eq(ps_profile_total(p, 2), 1869);
	cr_expect_eq(ps_profile_total(p, 3), 7499380);
	ps_profile_free(p);
}

/* Every column's total survives read -> export -> read, per address and per function; with
 * the samples kept (as export keeps them), every stack too. Without, the export writes
 * the stacks that have a value: a sample whose values are all 0 is left out. */
static void round_trip(const char *name, unsigned flags, int addresses)
{
	ps_pprof_opts o = {.addresses = addresses};
	ps_profile *p = read_file(name, flags, &o);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.first_frame_is_comm = 0;
	cr_assert_eq(ps_export_pprof(p, &m, out), 0);
	fclose(out);
	ps_profile *q = ps_profile_new(flags);
	cr_assert_eq(ps_pprof_read_mem(buf, len, &o, q, NULL), 0);
	cr_assert_eq(ps_profile_ntypes(q), ps_profile_ntypes(p));
	for (size_t c = 0; c < ps_profile_ntypes(p); c++)
		cr_expect_eq(ps_profile_total(q, c), ps_profile_total(p, c), "%s column %zu", name, c);
	if (flags & PS_PROFILE_SAMPLES) {
		char *a = folded(p), *b = folded(q);
		cr_expect_str_eq(a, b, "%s: stacks differ after the round trip", name);
		free(a);
		free(b);
	}
	free(buf);
	ps_profile_free(q);
	ps_profile_free(p);
}

Test(pprof, round_trips_keep_every_value)
{
	round_trip("go-cpu.pb.gz", PS_PROFILE_SAMPLES, 1);
	round_trip("go-heap.pb.gz", PS_PROFILE_SAMPLES, 1);
	round_trip("go-heap.pb.gz", PS_PROFILE_SAMPLES, 0);
	round_trip("go-heap.pb.gz", 0, 1);
	round_trip("perfsample-inline.pb.gz", PS_PROFILE_SAMPLES, 1);
	round_trip("perfsample-inline.pb.gz", 0, 0);
}

/* perfsample's export of examples/inline: the inlined frames come back as frames of
 * their own, the comm label as the root. */
Test(pprof, perfsample_exports_read_back_whole)
{
	ps_profile *p = read_file("perfsample-inline.pb.gz", PS_PROFILE_SAMPLES, NULL);
	cr_expect_eq(ps_profile_total(p, 0), 224);
	cr_expect_eq(ps_profile_total(p, 1), 224224224);
	cr_expect_eq(frame_named(p, "inner")->kind, PS_FRAME_INLINE);
	cr_expect_eq(frame_named(p, "middle")->kind, PS_FRAME_INLINE);
	cr_expect_eq(frame_named(p, "outer")->kind, PS_FRAME_USER);
	cr_expect_eq(frame_named(p, "inline")->kind, PS_FRAME_PROCESS);
	char *text = folded(p);
	cr_expect(strstr(text, "inline;__libc_start_call_main;main;outer;middle;inner 219\n"), "%s",
		  text);
	free(text);
	int pids = 0;
	for (size_t i = 0; i < ps_profile_nsamples(p); i++)
		pids += ps_profile_sample_at(p, i)->pid != 0;
	cr_expect_gt(pids, 0);
	ps_profile_free(p);
}
