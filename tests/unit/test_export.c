/* Exports read back by small independent readers: a protobuf decoder for pprof, a JSON parser
 * for speedscope and a callgrind line parser. Each rebuilds the stacks or self costs and
 * compares them with the profile that was written. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"
#include "render/ps_export.h"
#include "render/ps_export_int.h"

/* ---- helpers ---- */

typedef struct mem {
	char *data;
	size_t len;
} mem;

typedef int (*export_fn)(ps_profile *, const ps_export_meta *, FILE *);

static mem run_export(export_fn fn, ps_profile *p, const ps_export_meta *m, int *err)
{
	mem out = {0};
	FILE *f = open_memstream(&out.data, &out.len);
	cr_assert_not_null(f);
	*err = fn(p, m, f);
	fclose(f);
	return out;
}

static ps_profile *profile_of(const char *const *lines)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	for (; *lines; lines += 2)
		cr_assert_eq(
		    ps_profile_add(p, lines[0], strlen(lines[0]), strtoull(lines[1], NULL, 10)), 0);
	return p;
}

static char *folded_text(ps_profile *p)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	cr_assert_eq(ps_profile_write_folded(p, 0, f), 0);
	fclose(f);
	return s;
}

static const char *const STACKS[] = {
    "prog;main;work;hot",
    "50",
    "prog;main;work;warm",
    "20",
    "prog;main;idle",
    "5",
    "prog;main;rec;rec;rec;hot",
    "10",
    "other;main;spin",
    "7",
    "other;start;q\"uo\\te",
    "1",
    "prog",
    "2",
    NULL,
};

/* ---- pprof: gunzip and decode profile.proto ---- */

static mem gunzip(mem in)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK, "gzip header expected");
	mem out = {0};
	size_t cap = 0;
	z.next_in = (Bytef *)in.data;
	z.avail_in = (uInt)in.len;
	int r;
	do {
		if (cap - out.len < 4096) {
			cap = cap ? cap * 2 : 65536;
			out.data = realloc(out.data, cap);
		}
		z.next_out = (Bytef *)out.data + out.len;
		z.avail_out = (uInt)(cap - out.len);
		r = inflate(&z, Z_NO_FLUSH);
		cr_assert(r == Z_OK || r == Z_STREAM_END, "inflate: %d", r);
		out.len = cap - z.avail_out;
	} while (r != Z_STREAM_END);
	cr_assert_eq(z.avail_in, 0, "bytes after the gzip stream");
	inflateEnd(&z);
	return out;
}

typedef struct pbr {
	const unsigned char *p, *end;
} pbr;

static uint64_t rd_varint(pbr *r)
{
	uint64_t v = 0;
	for (int shift = 0;; shift += 7) {
		cr_assert(r->p < r->end && shift < 64, "truncated varint");
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
}

/* Next field: returns 0 at the end. wt 0 sets *v, wt 2 sets *sub. */
static int rd_field(pbr *r, unsigned *field, uint64_t *v, pbr *sub)
{
	if (r->p == r->end)
		return 0;
	uint64_t key = rd_varint(r);
	*field = (unsigned)(key >> 3);
	cr_assert_gt(*field, 0);
	switch (key & 7) {
	case 0:
		*v = rd_varint(r);
		sub->p = sub->end = NULL;
		break;
	case 2: {
		uint64_t len = rd_varint(r);
		cr_assert_leq(len, (uint64_t)(r->end - r->p), "field overruns its message");
		sub->p = r->p;
		sub->end = r->p + len;
		r->p += len;
		*v = 0;
		break;
	}
	default:
		cr_assert_fail("unexpected wire type %u", (unsigned)(key & 7));
	}
	return 1;
}

#define MAXN 64
typedef struct pp_sample {
	uint64_t loc[MAXN];
	size_t nloc;
	int64_t value[4];
	size_t nvalue;
	int64_t label_key, label_str;
	size_t nlabel;
} pp_sample;
typedef struct pp_loc {
	uint64_t id, mapping, address, fn, line;
	size_t nline;
} pp_loc;
typedef struct pp_fn {
	uint64_t id;
	int64_t name, system_name, filename;
} pp_fn;
typedef struct pp_map {
	uint64_t id, start, limit, offset, has_functions, has_filenames, has_lines;
	int64_t filename, build_id;
} pp_map;
typedef struct pp {
	char *str[256];
	size_t nstr;
	int64_t stype[4][2];
	size_t nstype;
	pp_sample sample[64];
	size_t nsample;
	pp_loc loc[64];
	size_t nloc;
	pp_fn fn[64];
	size_t nfn;
	pp_map map[8];
	size_t nmap;
	int64_t period_type[2];
	int64_t period, time, duration;
	int64_t comment[4];
	size_t ncomment;
} pp;

static void rd_packed(pbr *sub, uint64_t v, int wt_len, uint64_t *dst, size_t *n, size_t max)
{
	if (!wt_len) { /* unpacked is legal too */
		cr_assert_lt(*n, max);
		dst[(*n)++] = v;
		return;
	}
	while (sub->p < sub->end) {
		cr_assert_lt(*n, max);
		dst[(*n)++] = rd_varint(sub);
	}
}

static void decode_pprof(mem raw, pp *d)
{
	memset(d, 0, sizeof(*d));
	pbr r = {(unsigned char *)raw.data, (unsigned char *)raw.data + raw.len};
	unsigned f, g;
	uint64_t v, w;
	pbr sub, s2, s3;
	while (rd_field(&r, &f, &v, &sub)) {
		switch (f) {
		case 1:	   /* sample_type */
		case 11: { /* period_type */
			int64_t *vt = f == 1 ? d->stype[d->nstype++] : d->period_type;
			while (rd_field(&sub, &g, &w, &s2))
				vt[g - 1] = (int64_t)w;
			break;
		}
		case 2: {
			cr_assert_lt(d->nsample, 64);
			pp_sample *s = &d->sample[d->nsample++];
			while (rd_field(&sub, &g, &w, &s2)) {
				if (g == 1)
					rd_packed(&s2, w, s2.p != NULL, s->loc, &s->nloc, MAXN);
				else if (g == 2) {
					uint64_t vals[4];
					size_t nv = 0;
					rd_packed(&s2, w, s2.p != NULL, vals, &nv, 4);
					for (size_t i = 0; i < nv; i++)
						s->value[s->nvalue++] = (int64_t)vals[i];
				} else if (g == 3) {
					s->nlabel++;
					unsigned h;
					uint64_t x;
					while (rd_field(&s2, &h, &x, &s3))
						if (h == 1)
							s->label_key = (int64_t)x;
						else if (h == 2)
							s->label_str = (int64_t)x;
				}
			}
			break;
		}
		case 3: {
			pp_map *m = &d->map[d->nmap++];
			uint64_t *fields[] = {NULL,
					      &m->id,
					      &m->start,
					      &m->limit,
					      &m->offset,
					      (uint64_t *)&m->filename,
					      (uint64_t *)&m->build_id,
					      &m->has_functions,
					      &m->has_filenames,
					      &m->has_lines};
			while (rd_field(&sub, &g, &w, &s2))
				if (g >= 1 && g <= 9)
					*fields[g] = w;
			break;
		}
		case 4: {
			pp_loc *l = &d->loc[d->nloc++];
			while (rd_field(&sub, &g, &w, &s2)) {
				if (g == 1)
					l->id = w;
				else if (g == 2)
					l->mapping = w;
				else if (g == 3)
					l->address = w;
				else if (g == 4) {
					l->nline++;
					unsigned h;
					uint64_t x;
					while (rd_field(&s2, &h, &x, &s3))
						if (h == 1)
							l->fn = x;
						else if (h == 2)
							l->line = x;
				}
			}
			break;
		}
		case 5: {
			pp_fn *fn = &d->fn[d->nfn++];
			while (rd_field(&sub, &g, &w, &s2))
				if (g == 1)
					fn->id = w;
				else if (g == 2)
					fn->name = (int64_t)w;
				else if (g == 3)
					fn->system_name = (int64_t)w;
				else if (g == 4)
					fn->filename = (int64_t)w;
			break;
		}
		case 6:
			cr_assert_lt(d->nstr, 256);
			d->str[d->nstr++] = strndup((const char *)sub.p, (size_t)(sub.end - sub.p));
			break;
		case 9:
			d->time = (int64_t)v;
			break;
		case 10:
			d->duration = (int64_t)v;
			break;
		case 12:
			d->period = (int64_t)v;
			break;
		case 13:
			d->comment[d->ncomment++] = (int64_t)v;
			break;
		default:
			cr_assert_fail("unexpected Profile field %u", f);
		}
	}
}

static const char *S(const pp *d, int64_t i)
{
	cr_assert(i >= 0 && (size_t)i < d->nstr, "string index %lld out of range", (long long)i);
	return d->str[i];
}

static const pp_loc *find_loc(const pp *d, uint64_t id)
{
	for (size_t i = 0; i < d->nloc; i++)
		if (d->loc[i].id == id)
			return &d->loc[i];
	cr_assert_fail("sample names location %llu, which does not exist", (unsigned long long)id);
	return NULL;
}

static const pp_fn *find_fn(const pp *d, uint64_t id)
{
	for (size_t i = 0; i < d->nfn; i++)
		if (d->fn[i].id == id)
			return &d->fn[i];
	cr_assert_fail("location names function %llu, which does not exist",
		       (unsigned long long)id);
	return NULL;
}

static void pp_free(pp *d)
{
	for (size_t i = 0; i < d->nstr; i++)
		free(d->str[i]);
}

/* Rebuilds the folded stacks from the decoded samples: leaf-first locations reversed, with
 * the comm label in front. */
static ps_profile *pprof_to_profile(const pp *d, size_t value_index)
{
	ps_profile *p = ps_profile_new(0);
	for (size_t i = 0; i < d->nsample; i++) {
		const pp_sample *s = &d->sample[i];
		char buf[1024] = "";
		size_t n = 0;
		if (s->nlabel) {
			cr_assert_str_eq(S(d, s->label_key), "comm");
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", S(d, s->label_str));
		}
		for (size_t k = s->nloc; k > 0; k--) {
			const pp_loc *l = find_loc(d, s->loc[k - 1]);
			cr_assert_eq(l->nline, 1);
			const char *name = S(d, find_fn(d, l->fn)->name);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? ";" : "", name);
		}
		cr_assert_gt(s->nvalue, value_index);
		ps_profile_add(p, buf, n, (uint64_t)s->value[value_index]);
	}
	return p;
}

Test(export_pprof, round_trips_stacks_counts_and_comm_labels)
{
	ps_profile *p = profile_of(STACKS);
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.period_ns = 10101010;
	m.start_ns = 1700000000000000000ULL;
	m.duration_ns = 3000000000ULL;
	m.name = "prog --fast";
	int err;
	mem gz = run_export(ps_export_pprof, p, &m, &err);
	cr_assert_eq(err, 0, "%s", ps_strerror(err));
	cr_assert(gz.len > 18 && (unsigned char)gz.data[0] == 0x1f &&
		  (unsigned char)gz.data[1] == 0x8b);
	mem raw = gunzip(gz);
	pp d;
	decode_pprof(raw, &d);

	cr_assert_str_eq(S(&d, 0), "", "string_table[0] must be empty");
	cr_assert_eq(d.nstype, 2);
	cr_assert_str_eq(S(&d, d.stype[0][0]), "samples");
	cr_assert_str_eq(S(&d, d.stype[0][1]), "count");
	cr_assert_str_eq(S(&d, d.stype[1][0]), "cpu");
	cr_assert_str_eq(S(&d, d.stype[1][1]), "nanoseconds");
	cr_assert_str_eq(S(&d, d.period_type[0]), "cpu");
	cr_assert_str_eq(S(&d, d.period_type[1]), "nanoseconds");
	cr_assert_eq(d.period, 10101010);
	cr_assert_eq(d.time, (int64_t)m.start_ns);
	cr_assert_eq(d.duration, (int64_t)m.duration_ns);
	cr_assert_eq(d.ncomment, 2);
	cr_assert_str_eq(S(&d, d.comment[0]), "event: cpu-clock");
	cr_assert_str_eq(S(&d, d.comment[1]), "prog --fast");
	/* no frame meta: one synthetic mapping that says it has functions */
	cr_assert_eq(d.nmap, 1);
	cr_assert_eq(d.map[0].id, 1);
	cr_assert_eq(d.map[0].has_functions, 1);
	for (size_t i = 0; i < d.nloc; i++)
		cr_assert_eq(d.loc[i].mapping, 1);
	/* each distinct name once, and "prog"/"other" are labels, not functions */
	cr_assert_eq(d.nfn, 9);
	for (size_t i = 0; i < d.nfn; i++) {
		cr_assert_str_neq(S(&d, d.fn[i].name), "prog");
		cr_assert_str_neq(S(&d, d.fn[i].name), "other");
	}
	/* values: samples, and samples * period */
	for (size_t i = 0; i < d.nsample; i++)
		cr_assert_eq(d.sample[i].value[1], d.sample[i].value[0] * 10101010);

	ps_profile *back = pprof_to_profile(&d, 0);
	char *expect = folded_text(p), *actual = folded_text(back);
	cr_assert_str_eq(actual, expect);
	free(expect);
	free(actual);
	ps_profile_free(back);
	pp_free(&d);
	free(raw.data);
	free(gz.data);
	ps_profile_free(p);
}

Test(export_pprof, without_comm_or_period)
{
	static const char *const st[] = {"main;a;b", "3", "main;a", "4", "main;c", "0", NULL};
	ps_profile *p = profile_of(st);
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.first_frame_is_comm = 0;
	int err;
	mem gz = run_export(ps_export_pprof, p, &m, &err);
	cr_assert_eq(err, 0);
	mem raw = gunzip(gz);
	pp d;
	decode_pprof(raw, &d);
	cr_assert_eq(d.nstype, 1, "no cpu time without a period");
	cr_assert_eq(d.period, 0);
	cr_assert_eq(d.period_type[0], 0);
	cr_assert_eq(d.nsample, 2, "zero-count stacks are left out");
	for (size_t i = 0; i < d.nsample; i++)
		cr_assert_eq(d.sample[i].nlabel, 0);
	ps_profile *back = pprof_to_profile(&d, 0);
	char *actual = folded_text(back);
	cr_assert_str_eq(actual, "main;a 4\nmain;a;b 3\n");
	free(actual);
	ps_profile_free(back);
	pp_free(&d);
	free(raw.data);
	free(gz.data);
	ps_profile_free(p);
}

/* A symbolizer stand-in: frames named "lib*" live in /lib/libx.so, "main" in /bin/app. */
static int meta_hook(void *ctx, const char *name, ps_export_frame_meta *out)
{
	int *calls = ctx;
	(*calls)++;
	static char buf[64];
	if (!strncmp(name, "lib", 3)) {
		out->module = "/lib/libx.so";
		out->build_id = "abcdef";
		out->module_start = 0x7f0000000000;
		out->module_limit = 0x7f0000100000;
		out->module_offset = 0x1000;
		out->address = 0x7f0000000000 + (uint64_t)strlen(name) * 16;
		/* the same buffer for every call: the exporter has to copy */
		snprintf(buf, sizeof(buf), "src/%s.c", name);
		out->file = buf;
		out->line = (uint32_t)strlen(name);
		return 1;
	}
	if (!strcmp(name, "main")) {
		out->module = "/bin/app";
		out->system_name = "_Z4mainv";
		return 1;
	}
	if (!strcmp(name, "boom"))
		return -EIO;
	return 0;
}

Test(export_pprof, frame_meta_gives_mappings_files_and_lines)
{
	static const char *const st[] = {
	    "app;main;liba;libbb", "5", "app;main;liba", "2", "app;main;other", "1", NULL};
	ps_profile *p = profile_of(st);
	ps_export_meta m;
	ps_export_meta_init(&m);
	int calls = 0;
	m.frame_meta = meta_hook;
	m.frame_meta_ctx = &calls;
	int err;
	mem gz = run_export(ps_export_pprof, p, &m, &err);
	cr_assert_eq(err, 0);
	cr_assert_eq(calls, 4, "once per distinct frame");
	mem raw = gunzip(gz);
	pp d;
	decode_pprof(raw, &d);
	cr_assert_eq(d.nmap, 3, "synthetic, /bin/app, /lib/libx.so");
	const pp_map *lib = NULL, *app = NULL;
	for (size_t i = 0; i < d.nmap; i++) {
		if (!strcmp(S(&d, d.map[i].filename), "/lib/libx.so"))
			lib = &d.map[i];
		if (!strcmp(S(&d, d.map[i].filename), "/bin/app"))
			app = &d.map[i];
	}
	cr_assert_not_null(lib);
	cr_assert_not_null(app);
	cr_assert_str_eq(S(&d, lib->build_id), "abcdef");
	cr_assert_eq(lib->start, 0x7f0000000000);
	cr_assert_eq(lib->limit, 0x7f0000100000);
	cr_assert_eq(lib->offset, 0x1000);
	cr_assert_eq(lib->has_filenames, 1);
	cr_assert_eq(lib->has_lines, 1);
	cr_assert_eq(app->has_lines, 0);
	for (size_t i = 0; i < d.nloc; i++) {
		const pp_loc *l = &d.loc[i];
		const pp_fn *fn = find_fn(&d, l->fn);
		const char *name = S(&d, fn->name);
		if (!strcmp(name, "libbb")) {
			cr_assert_eq(l->mapping, lib->id);
			cr_assert_eq(l->address, 0x7f0000000000 + 5 * 16);
			cr_assert_eq(l->line, 5);
			cr_assert_str_eq(S(&d, fn->filename), "src/libbb.c");
		} else if (!strcmp(name, "liba")) {
			cr_assert_str_eq(S(&d, fn->filename), "src/liba.c");
			cr_assert_eq(l->line, 4);
		} else if (!strcmp(name, "main")) {
			cr_assert_eq(l->mapping, app->id);
			cr_assert_str_eq(S(&d, fn->system_name), "_Z4mainv");
		} else {
			cr_assert_str_eq(name, "other");
			cr_assert_eq(l->mapping, 1, "unknown frames go to the synthetic mapping");
			cr_assert_eq(l->address, 0);
		}
	}
	pp_free(&d);
	free(raw.data);
	free(gz.data);
	ps_profile_free(p);
}

Test(export, frame_meta_error_aborts_every_format)
{
	static const char *const st[] = {"app;main;boom", "1", NULL};
	ps_profile *p = profile_of(st);
	ps_export_meta m;
	ps_export_meta_init(&m);
	int calls = 0;
	m.frame_meta = meta_hook;
	m.frame_meta_ctx = &calls;
	export_fn fns[] = {ps_export_pprof, ps_export_speedscope, ps_export_callgrind};
	for (size_t i = 0; i < 3; i++) {
		int err;
		mem out = run_export(fns[i], p, &m, &err);
		cr_assert_eq(err, -EIO, "format %zu", i);
		free(out.data);
	}
	ps_profile_free(p);
}

Test(export, write_errors_are_reported)
{
	ps_profile *p = profile_of(STACKS);
	export_fn fns[] = {ps_export_pprof, ps_export_speedscope, ps_export_callgrind};
	for (size_t i = 0; i < 3; i++) {
		FILE *ro = fopen("/dev/null", "r"); /* every write fails */
		cr_assert_not_null(ro);
		cr_assert_lt(fns[i](p, NULL, ro), 0, "format %zu", i);
		fclose(ro);
	}
	ps_profile_free(p);
}

Test(export, deterministic_and_named)
{
	ps_profile *p = profile_of(STACKS);
	const char *names[] = {"pprof", "speedscope", "callgrind"};
	for (size_t i = 0; i < 3; i++) {
		export_fn fn = ps_export_by_name(names[i]);
		cr_assert_not_null(fn);
		int e1, e2;
		mem a = run_export(fn, p, NULL, &e1), b = run_export(fn, p, NULL, &e2);
		cr_assert_eq(e1, 0);
		cr_assert_eq(e2, 0);
		cr_assert_eq(a.len, b.len);
		cr_assert_eq(memcmp(a.data, b.data, a.len), 0, "%s differs between runs", names[i]);
		free(a.data);
		free(b.data);
	}
	cr_assert_null(ps_export_by_name("svg"));
	cr_assert_null(ps_export_by_name(NULL));
	cr_assert_eq(ps_export_pprof(NULL, NULL, stdout), -EINVAL);
	ps_profile_free(p);
}

/* ---- JSON ---- */

static char *json_of(const char *s, size_t len)
{
	mem out = {0};
	FILE *f = open_memstream(&out.data, &out.len);
	ps_x_json_str(f, s, len);
	fclose(f);
	return out.data;
}

Test(export_json, escapes_quotes_controls_and_bad_utf8)
{
	struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
	    {"plain", 5, "\"plain\""},
	    {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
	    {"t\tn\nr\r\x01\x1f\x7f", 9, "\"t\\tn\\nr\\r\\u0001\\u001f\x7f\""},
	    {"nul\0x", 5, "\"nul\\u0000x\""},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", 14,
	     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\""},
	    {"\xff", 1, "\"\\ufffd\""},
	    {"\xc0\x80", 2, "\"\\ufffd\\ufffd\""},			 /* overlong NUL */
	    {"\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""},		 /* overlong '/' */
	    {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},		 /* surrogate */
	    {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
	    {"x\xe2\x82", 3, "\"x\\ufffd\\ufffd\""},			 /* truncated */
	    {"\xe2\x82"
	     "a",
	     3, "\"\\ufffd\\ufffda\""}, /* cut short by ASCII */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = json_of(cases[i].in, cases[i].len);
		cr_assert_str_eq(got, cases[i].out, "case %zu", i);
		free(got);
	}
}

/* A small JSON parser, strict enough to reject what a browser would. */
typedef struct jv {
	char t; /* o a s n */
	char *s;
	double n;
	size_t len;
	char **keys;
	struct jv **items;
} jv;

typedef struct jp {
	const char *p, *end;
} jp;

static void ws(jp *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p))
		j->p++;
}

static jv *jparse(jp *j);

static char *jstring(jp *j)
{
	cr_assert(j->p < j->end && *j->p == '"');
	j->p++;
	ps_buf b = {0};
	while (1) {
		cr_assert(j->p < j->end, "unterminated string");
		unsigned char c = (unsigned char)*j->p++;
		cr_assert_geq(c, 0x20, "raw control byte in a JSON string");
		if (c == '"')
			break;
		if (c != '\\') {
			ps_buf_add(&b, &c, 1);
			continue;
		}
		char e = *j->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		cr_assert(simple || e == 'u', "bad escape \\%c", e);
		if (e == 'u') {
			unsigned u;
			cr_assert_eq(sscanf(j->p, "%4x", &u), 1);
			j->p += 4;
			char tmp[4];
			size_t n;
			if (u < 0x80) {
				tmp[0] = (char)u;
				n = 1;
			} else if (u < 0x800) {
				tmp[0] = (char)(0xc0 | u >> 6);
				tmp[1] = (char)(0x80 | (u & 0x3f));
				n = 2;
			} else {
				tmp[0] = (char)(0xe0 | u >> 12);
				tmp[1] = (char)(0x80 | ((u >> 6) & 0x3f));
				tmp[2] = (char)(0x80 | (u & 0x3f));
				n = 3;
			}
			ps_buf_add(&b, tmp, n);
		} else {
			const char *map = "\"\\/\b\f\n\r\t";
			ps_buf_add(&b, &map[simple - "\"\\/bfnrt"], 1);
		}
	}
	ps_buf_add(&b, "", 1);
	return b.data;
}

static jv *jparse(jp *j)
{
	ws(j);
	cr_assert_lt(j->p, j->end, "JSON ends early");
	jv *v = calloc(1, sizeof(*v));
	char c = *j->p;
	if (c == '{' || c == '[') {
		v->t = c == '{' ? 'o' : 'a';
		char close = c == '{' ? '}' : ']';
		j->p++;
		ws(j);
		if (*j->p == close) {
			j->p++;
			return v;
		}
		for (;;) {
			v->items = realloc(v->items, (v->len + 1) * sizeof(*v->items));
			v->keys = realloc(v->keys, (v->len + 1) * sizeof(*v->keys));
			v->keys[v->len] = NULL;
			if (v->t == 'o') {
				ws(j);
				v->keys[v->len] = jstring(j);
				ws(j);
				cr_assert_eq(*j->p, ':');
				j->p++;
			}
			v->items[v->len++] = jparse(j);
			ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			cr_assert_eq(*j->p, close, "expected '%c' at offset", close);
			j->p++;
			return v;
		}
	}
	if (c == '"') {
		v->t = 's';
		v->s = jstring(j);
		return v;
	}
	char *e;
	v->t = 'n';
	v->n = strtod(j->p, &e);
	cr_assert_neq(e, j->p, "bad JSON value at '%.10s'", j->p);
	j->p = e;
	return v;
}

static jv *jget(const jv *o, const char *key)
{
	cr_assert_eq(o->t, 'o');
	for (size_t i = 0; i < o->len; i++)
		if (!strcmp(o->keys[i], key))
			return o->items[i];
	return NULL;
}

static void jfree(jv *v)
{
	for (size_t i = 0; i < v->len; i++) {
		free(v->keys[i]);
		jfree(v->items[i]);
	}
	free(v->keys);
	free(v->items);
	free(v->s);
	free(v);
}

static jv *parse_doc(mem m)
{
	jp j = {m.data, m.data + m.len};
	jv *v = jparse(&j);
	ws(&j);
	cr_assert_eq(j.p, j.end, "trailing bytes after the JSON document");
	return v;
}

Test(export_speedscope, valid_file_with_one_profile_per_comm)
{
	ps_profile *p = profile_of(STACKS);
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.period_ns = 1000;
	int err;
	mem out = run_export(ps_export_speedscope, p, &m, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	cr_assert_str_eq(jget(doc, "$schema")->s,
			 "https://www.speedscope.app/file-format-schema.json");
	cr_assert_str_eq(jget(doc, "name")->s, "cpu-clock");
	cr_assert_eq(jget(doc, "activeProfileIndex")->n, 0);
	jv *frames = jget(jget(doc, "shared"), "frames");
	jv *profiles = jget(doc, "profiles");
	cr_assert_eq(profiles->len, 2);

	/* Rebuild "comm;frames... weight/period" from every profile. */
	ps_profile *back = ps_profile_new(0);
	for (size_t i = 0; i < profiles->len; i++) {
		jv *pr = profiles->items[i];
		cr_assert_str_eq(jget(pr, "type")->s, "sampled");
		cr_assert_str_eq(jget(pr, "unit")->s, "nanoseconds");
		jv *samples = jget(pr, "samples"), *weights = jget(pr, "weights");
		cr_assert_eq(samples->len, weights->len);
		double sum = 0;
		for (size_t k = 0; k < samples->len; k++) {
			char buf[512];
			size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", jget(pr, "name")->s);
			jv *st = samples->items[k];
			for (size_t f = 0; f < st->len; f++) {
				double idx = st->items[f]->n;
				cr_assert(idx >= 0 && idx < (double)frames->len);
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";%s",
						      jget(frames->items[(size_t)idx], "name")->s);
			}
			double w = weights->items[k]->n;
			sum += w;
			ps_profile_add(back, buf, n, (uint64_t)(w / 1000));
		}
		cr_assert_eq(jget(pr, "startValue")->n, 0);
		cr_assert_eq(jget(pr, "endValue")->n, sum);
	}
	/* heaviest first */
	cr_assert_str_eq(jget(profiles->items[0], "name")->s, "prog");
	cr_assert_eq(jget(profiles->items[0], "endValue")->n, 87 * 1000);
	char *expect = folded_text(p), *actual = folded_text(back);
	cr_assert_str_eq(actual, expect);
	free(expect);
	free(actual);
	ps_profile_free(back);
	jfree(doc);
	free(out.data);
	ps_profile_free(p);
}

Test(export_speedscope, single_profile_and_frame_files)
{
	static const char *const st[] = {"main;liba", "3", "main;weird\x01\xff", "2", NULL};
	ps_profile *p = profile_of(st);
	ps_export_meta m;
	ps_export_meta_init(&m);
	int calls = 0;
	m.first_frame_is_comm = 0;
	m.name = "my \"app\"";
	m.frame_meta = meta_hook;
	m.frame_meta_ctx = &calls;
	int err;
	mem out = run_export(ps_export_speedscope, p, &m, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	cr_assert_str_eq(jget(doc, "name")->s, "my \"app\"");
	jv *profiles = jget(doc, "profiles");
	cr_assert_eq(profiles->len, 1);
	cr_assert_str_eq(jget(profiles->items[0], "name")->s, "my \"app\"");
	cr_assert_str_eq(jget(profiles->items[0], "unit")->s, "none");
	cr_assert_eq(jget(profiles->items[0], "endValue")->n, 5);
	jv *frames = jget(jget(doc, "shared"), "frames");
	int seen = 0;
	for (size_t i = 0; i < frames->len; i++) {
		const char *name = jget(frames->items[i], "name")->s;
		if (!strcmp(name, "liba")) {
			cr_assert_str_eq(jget(frames->items[i], "file")->s, "src/liba.c");
			cr_assert_eq(jget(frames->items[i], "line")->n, 4);
			seen |= 1;
		}
		if (!strncmp(name, "weird", 5)) {
			cr_assert_str_eq(name, "weird?\xef\xbf\xbd");
			cr_assert_null(jget(frames->items[i], "file"));
			seen |= 2;
		}
	}
	cr_assert_eq(seen, 3);
	jfree(doc);
	free(out.data);
	ps_profile_free(p);
}

Test(export_speedscope, empty_profile_still_has_one_profile)
{
	ps_profile *p = ps_profile_new(0);
	int err;
	mem out = run_export(ps_export_speedscope, p, NULL, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	cr_assert_eq(jget(doc, "profiles")->len, 1);
	cr_assert_eq(jget(jget(doc, "shared"), "frames")->len, 0);
	jfree(doc);
	free(out.data);
	ps_profile_free(p);
}

/* ---- callgrind ---- */

typedef struct cg_fn {
	char name[64], file[64];
	uint64_t self;
	uint64_t calls_to[16];
	char callee[16][64];
	size_t ncallee;
} cg_fn;

typedef struct cg {
	char fn_names[64][64], fl_names[16][64];
	cg_fn fn[64];
	size_t nfn;
	uint64_t summary, totals;
	int has_events;
} cg;

/* "(id) name" defines id, "(id)" uses it, a bare name is itself. */
static const char *cg_name(char table[][64], size_t max, const char *v)
{
	if (*v != '(')
		return v;
	char *end;
	unsigned long id = strtoul(v + 1, &end, 10);
	cr_assert_eq(*end, ')');
	cr_assert_lt(id, max);
	if (end[1] == ' ')
		snprintf(table[id], 64, "%s", end + 2);
	cr_assert_neq(table[id][0], '\0', "compressed id %lu used before its name", id);
	return table[id];
}

static cg_fn *cg_fn_of(cg *c, const char *file, const char *name)
{
	for (size_t i = 0; i < c->nfn; i++)
		if (!strcmp(c->fn[i].name, name) && !strcmp(c->fn[i].file, file))
			return &c->fn[i];
	cg_fn *f = &c->fn[c->nfn++];
	snprintf(f->name, 64, "%s", name);
	snprintf(f->file, 64, "%s", file);
	return f;
}

static void parse_callgrind(mem m, cg *c)
{
	memset(c, 0, sizeof(*c));
	char *text = strndup(m.data, m.len), *save = NULL;
	cr_assert_eq(strncmp(text, "# callgrind format\n", 19), 0);
	const char *fl = "", *cfl = "", *cfn = NULL;
	cg_fn *cur = NULL;
	uint64_t pending_calls = 0;
	int in_call = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (!strncmp(line, "events: ", 8)) {
			cr_assert_str_eq(line + 8, "Samples");
			c->has_events = 1;
		} else if (!strncmp(line, "summary: ", 9))
			c->summary = strtoull(line + 9, NULL, 10);
		else if (!strncmp(line, "totals: ", 8))
			c->totals = strtoull(line + 8, NULL, 10);
		else if (!strncmp(line, "fl=", 3))
			fl = cfl = cg_name(c->fl_names, 16, line + 3);
		else if (!strncmp(line, "cfl=", 4))
			cfl = cg_name(c->fl_names, 16, line + 4);
		else if (!strncmp(line, "fn=", 3))
			cur = cg_fn_of(c, fl, cg_name(c->fn_names, 64, line + 3));
		else if (!strncmp(line, "cfn=", 4))
			cfn = cg_name(c->fn_names, 64, line + 4);
		else if (!strncmp(line, "calls=", 6)) {
			pending_calls = strtoull(line + 6, NULL, 10);
			cr_assert_not_null(cfn);
			in_call = 1;
		} else if (line[0] >= '0' && line[0] <= '9') {
			cr_assert_not_null(cur, "cost line before fn=");
			char *e;
			strtoull(line, &e, 10); /* position */
			cr_assert_eq(*e, ' ');
			uint64_t cost = strtoull(e + 1, NULL, 10);
			if (in_call) {
				cr_assert_lt(cur->ncallee, 16);
				snprintf(cur->callee[cur->ncallee], 64, "%s:%s", cfl, cfn);
				cur->calls_to[cur->ncallee++] = cost;
				cr_assert_eq(pending_calls, cost);
				in_call = 0;
				cfl = fl;
			} else
				cur->self += cost;
		} else if (strchr(line, ':') == NULL)
			cr_assert_fail("unexpected line '%s'", line);
	}
	free(text);
}

static uint64_t cg_call(const cg_fn *f, const char *callee)
{
	for (size_t i = 0; i < f->ncallee; i++)
		if (!strcmp(f->callee[i], callee))
			return f->calls_to[i];
	return 0;
}

Test(export_callgrind, self_costs_and_inclusive_calls)
{
	ps_profile *p = profile_of(STACKS);
	int err;
	mem out = run_export(ps_export_callgrind, p, NULL, &err);
	cr_assert_eq(err, 0);
	cg c;
	parse_callgrind(out, &c);
	cr_assert(c.has_events);
	cr_assert_eq(c.summary, 95);
	cr_assert_eq(c.totals, 95);
	struct {
		const char *file, *name;
		uint64_t self;
	} want[] = {
	    {"???", "hot", 60}, {"???", "warm", 20},	 {"???", "idle", 5},
	    {"???", "spin", 7}, {"???", "q\"uo\\te", 1}, {"???", "main", 0},
	    {"???", "rec", 0},	{"[comm]", "prog", 2},	 {"[comm]", "other", 0},
	};
	uint64_t sum = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cg_fn *f = cg_fn_of(&c, want[i].file, want[i].name);
		cr_assert_eq(f->self, want[i].self, "%s", want[i].name);
	}
	for (size_t i = 0; i < c.nfn; i++)
		sum += c.fn[i].self;
	cr_assert_eq(sum, 95, "every sample is some function's self cost");
	cr_assert_eq(c.nfn, 11);
	/* inclusive edges; recursion counts a stack once per edge */
	cr_assert_eq(cg_call(cg_fn_of(&c, "[comm]", "prog"), "???:main"), 85);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "main"), "???:work"), 70);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "main"), "???:rec"), 10);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "rec"), "???:rec"), 10);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "rec"), "???:hot"), 10);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "work"), "???:hot"), 50);
	cr_assert_eq(cg_call(cg_fn_of(&c, "[comm]", "other"), "???:start"), 1);
	free(out.data);
	ps_profile_free(p);
}

Test(export_callgrind, files_from_frame_meta_and_no_newlines_in_names)
{
	static const char *const st[] = {"main;liba;bad\nname", "3", "main;libbb", "2", NULL};
	ps_profile *p = profile_of(st);
	ps_export_meta m;
	ps_export_meta_init(&m);
	int calls = 0;
	m.first_frame_is_comm = 0;
	m.frame_meta = meta_hook;
	m.frame_meta_ctx = &calls;
	int err;
	mem out = run_export(ps_export_callgrind, p, &m, &err);
	cr_assert_eq(err, 0);
	cg c;
	parse_callgrind(out, &c);
	cr_assert_eq(cg_fn_of(&c, "???", "bad?name")->self, 3);
	cr_assert_eq(cg_fn_of(&c, "src/libbb.c", "libbb")->self, 2);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "main"), "src/liba.c:liba"), 3);
	cr_assert_eq(cg_call(cg_fn_of(&c, "src/liba.c", "liba"), "???:bad?name"), 3);
	cr_assert_eq(c.nfn, 4, "no comm root when first_frame_is_comm is off");
	free(out.data);
	ps_profile_free(p);
}
