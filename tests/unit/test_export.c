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
		    ps_profile_add_folded(p, lines[0], strlen(lines[0]), strtoull(lines[1], NULL, 10), 0), 0);
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
#define MAXL 8
typedef struct pp_sample {
	uint64_t loc[MAXN];
	size_t nloc;
	int64_t value[4];
	size_t nvalue;
	int64_t label_key[MAXL], label_str[MAXL], label_num[MAXL];
	size_t nlabel;
} pp_sample;
typedef struct pp_loc {
	uint64_t id, mapping, address;
	uint64_t fn[MAXL], line[MAXL]; /* innermost first */
	size_t nline;
} pp_loc;
typedef struct pp_fn {
	uint64_t id;
	int64_t name, system_name, filename;
} pp_fn;
typedef struct pp_map {
	uint64_t id, start, limit, offset, has_functions, has_filenames, has_lines, has_inline;
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
					cr_assert_lt(s->nlabel, MAXL);
					size_t k = s->nlabel++;
					unsigned h;
					uint64_t x;
					while (rd_field(&s2, &h, &x, &s3))
						if (h == 1)
							s->label_key[k] = (int64_t)x;
						else if (h == 2)
							s->label_str[k] = (int64_t)x;
						else if (h == 3)
							s->label_num[k] = (int64_t)x;
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
					      &m->has_lines,
					      &m->has_inline};
			while (rd_field(&sub, &g, &w, &s2))
				if (g >= 1 && g <= 10)
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
					cr_assert_lt(l->nline, MAXL);
					size_t k = l->nline++;
					unsigned h;
					uint64_t x;
					while (rd_field(&s2, &h, &x, &s3))
						if (h == 1)
							l->fn[k] = x;
						else if (h == 2)
							l->line[k] = x;
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

/* The string label key of a sample, or NULL. */
static const char *label_of(const pp *d, const pp_sample *s, const char *key)
{
	for (size_t i = 0; i < s->nlabel; i++)
		if (!strcmp(S(d, s->label_key[i]), key))
			return s->label_str[i] ? S(d, s->label_str[i]) : "";
	return NULL;
}

static int64_t num_label_of(const pp *d, const pp_sample *s, const char *key)
{
	for (size_t i = 0; i < s->nlabel; i++)
		if (!strcmp(S(d, s->label_key[i]), key))
			return s->label_num[i];
	return -1;
}

/* Rebuilds the folded stacks from the decoded samples: leaf-first locations reversed, each
 * location's lines outermost first, with the comm label in front. */
static ps_profile *pprof_to_profile(const pp *d, size_t value_index)
{
	ps_profile *p = ps_profile_new(0);
	for (size_t i = 0; i < d->nsample; i++) {
		const pp_sample *s = &d->sample[i];
		char buf[1024] = "";
		size_t n = 0;
		const char *comm = label_of(d, s, "comm");
		if (comm)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", comm);
		for (size_t k = s->nloc; k > 0; k--) {
			const pp_loc *l = find_loc(d, s->loc[k - 1]);
			cr_assert_gt(l->nline, 0);
			for (size_t j = l->nline; j > 0; j--) {
				const char *name = S(d, find_fn(d, l->fn[j - 1])->name);
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
						      n ? ";" : "", name);
			}
		}
		cr_assert_gt(s->nvalue, value_index);
		ps_profile_add_folded(p, buf, n, (uint64_t)s->value[value_index], 0);
	}
	return p;
}

static pp export_pprof_of(ps_profile *p, const ps_export_meta *m)
{
	int err;
	mem gz = run_export(ps_export_pprof, p, m, &err);
	cr_assert_eq(err, 0, "%s", ps_strerror(err));
	mem raw = gunzip(gz);
	pp d;
	decode_pprof(raw, &d);
	free(raw.data);
	free(gz.data);
	return d;
}

/* ---- hand-made profiles through the model's API ---- */

static uint32_t mapping_of(ps_profile *p, ps_mapping m)
{
	uint32_t id;
	cr_assert_eq(ps_profile_mapping(p, &m, &id), 0);
	return id;
}

static ps_frame_id frame_of(ps_profile *p, ps_frame f)
{
	ps_frame_id id;
	cr_assert_eq(ps_profile_frame(p, &f, &id), 0);
	return id;
}

static ps_node_id stack_n(ps_profile *p, uint64_t v, const ps_frame_id *f, size_t n)
{
	ps_node_id node;
	cr_assert_eq(ps_profile_stack(p, f, n, &node), 0);
	cr_assert_eq(ps_profile_add_value(p, node, 0, v), 0);
	return node;
}
#define STACK(p, v, ...)                                                                           \
	stack_n(p, v, (ps_frame_id[]){__VA_ARGS__},                                                \
		sizeof((ps_frame_id[]){__VA_ARGS__}) / sizeof(ps_frame_id))

/* A demangler stand-in: "_Zname" prints as "name()". */
static int demangle_z(void *ctx, const char *name, ps_buf *out)
{
	int *fail = ctx;
	if (fail && *fail)
		return -EIO;
	if (strncmp(name, "_Z", 2))
		return 0;
	return ps_buf_printf(out, "%s()", name + 2) ? -ENOMEM : 1;
}

/* A program as a symbolizer would give it: app and libc mapped with build-ids; work()
 * calls helper() and inner() inlined at one address; rec() recursing; the comm root. */
typedef struct model {
	ps_profile *p;
	uint32_t app, libc;
	ps_frame_id comm, main, work, helper, inner, memcpy_, work2, rec, hot;
} model;

static model model_profile(unsigned flags)
{
	model m;
	m.p = ps_profile_new(flags);
	cr_assert_not_null(m.p);
	cr_assert_eq(ps_profile_add_type(m.p, "samples", "count"), 0);
	ps_label_opts lo = {PS_LABEL_KERNEL | PS_LABEL_LINES | PS_LABEL_INLINE, demangle_z, NULL};
	ps_profile_set_labels(m.p, &lo);
	m.app = mapping_of(m.p, (ps_mapping){"/usr/bin/app", "0123abcd", 0x400000, 0x500000, 0});
	m.libc = mapping_of(
	    m.p, (ps_mapping){"/lib/libc.so.6", "beef", 0x7f0000000000, 0x7f0000200000, 0x28000});
	m.comm = frame_of(m.p, (ps_frame){.name = "app", .kind = PS_FRAME_PROCESS});
	m.main = frame_of(
	    m.p, (ps_frame){"_Zmain", "/src/app.c", 0x401000, 10, m.app, PS_FRAME_USER, 0, 0, 0, 0});
	m.work = frame_of(
	    m.p, (ps_frame){"_Zwork", "/src/app.c", 0x401100, 20, m.app, PS_FRAME_USER, 0, 0, 0, 0});
	m.helper = frame_of(
	    m.p, (ps_frame){"_Zhelper", "/src/util.h", 0x401100, 5, m.app, PS_FRAME_INLINE, 0, 0, 0, 0});
	m.inner = frame_of(
	    m.p, (ps_frame){"_Zinner", "/src/util.h", 0x401100, 9, m.app, PS_FRAME_INLINE, 0, 0, 0, 0});
	m.memcpy_ =
	    frame_of(m.p, (ps_frame){"memcpy", NULL, 0x7f0000001234, 0, m.libc, PS_FRAME_USER, 0, 0, 0, 0});
	m.work2 = frame_of(
	    m.p, (ps_frame){"_Zwork", "/src/app.c", 0x401180, 25, m.app, PS_FRAME_USER, 0, 0, 0, 0});
	m.rec =
	    frame_of(m.p, (ps_frame){"_Zrec", "/src/app.c", 0x401200, 30, m.app, PS_FRAME_USER, 0, 0, 0, 0});
	m.hot =
	    frame_of(m.p, (ps_frame){"_Zhot", "/src/app.c", 0x401300, 40, m.app, PS_FRAME_USER, 0, 0, 0, 0});
	return m;
}

static void model_stacks(model *m)
{
	STACK(m->p, 5, m->comm, m->main, m->work, m->helper, m->inner);
	STACK(m->p, 3, m->comm, m->main, m->work, m->helper, m->inner, m->memcpy_);
	STACK(m->p, 2, m->comm, m->main, m->work2);
	STACK(m->p, 4, m->comm, m->main, m->rec, m->rec, m->rec, m->hot);
	STACK(m->p, 1, m->comm, m->main, m->rec, m->rec);
}

static const pp_fn *fn_named(const pp *d, const char *name)
{
	for (size_t i = 0; i < d->nfn; i++)
		if (!strcmp(S(d, d->fn[i].name), name))
			return &d->fn[i];
	cr_assert_fail("no function %s", name);
	return NULL;
}

static const pp_map *map_named(const pp *d, const char *file)
{
	for (size_t i = 0; i < d->nmap; i++)
		if (!strcmp(S(d, d->map[i].filename), file))
			return &d->map[i];
	cr_assert_fail("no mapping %s", file);
	return NULL;
}

static const pp_loc *loc_at(const pp *d, uint64_t address)
{
	for (size_t i = 0; i < d->nloc; i++)
		if (d->loc[i].address == address)
			return &d->loc[i];
	cr_assert_fail("no location at %#llx", (unsigned long long)address);
	return NULL;
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

Test(export_pprof, mappings_locations_inline_lines_and_functions)
{
	model m = model_profile(0);
	model_stacks(&m);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	pp d = export_pprof_of(m.p, &meta);

	/* mappings: the profile's, ids kept, flags true to what their locations have */
	cr_assert_eq(d.nmap, 2, "no synthetic mapping when every frame has one");
	const pp_map *app = map_named(&d, "/usr/bin/app"), *libc = map_named(&d, "/lib/libc.so.6");
	cr_assert_eq(app->id, m.app);
	cr_assert_eq(libc->id, m.libc);
	cr_assert_str_eq(S(&d, app->build_id), "0123abcd");
	cr_assert_str_eq(S(&d, libc->build_id), "beef");
	cr_assert_eq(app->start, 0x400000);
	cr_assert_eq(app->limit, 0x500000);
	cr_assert_eq(libc->start, 0x7f0000000000);
	cr_assert_eq(libc->limit, 0x7f0000200000);
	cr_assert_eq(libc->offset, 0x28000);
	cr_assert_eq(app->has_functions, 1);
	cr_assert_eq(app->has_filenames, 1);
	cr_assert_eq(app->has_lines, 1);
	cr_assert_eq(app->has_inline, 1);
	cr_assert_eq(libc->has_functions, 1);
	cr_assert_eq(libc->has_filenames, 0, "memcpy has no file");
	cr_assert_eq(libc->has_lines, 0);
	cr_assert_eq(libc->has_inline, 0);

	/* one location per address; the inlined frames are lines of work's, innermost first */
	cr_assert_eq(d.nloc, 6, "main, work+inlines, memcpy, work2, rec, hot");
	const pp_loc *w = loc_at(&d, 0x401100);
	cr_assert_eq(w->mapping, m.app);
	cr_assert_eq(w->nline, 3);
	cr_assert_str_eq(S(&d, find_fn(&d, w->fn[0])->name), "inner()");
	cr_assert_eq(w->line[0], 9);
	cr_assert_str_eq(S(&d, find_fn(&d, w->fn[1])->name), "helper()");
	cr_assert_eq(w->line[1], 5);
	cr_assert_str_eq(S(&d, find_fn(&d, w->fn[2])->name), "work()");
	cr_assert_eq(w->line[2], 20);
	const pp_loc *mc = loc_at(&d, 0x7f0000001234);
	cr_assert_eq(mc->mapping, m.libc);
	cr_assert_eq(mc->nline, 1);
	cr_assert_eq(mc->line[0], 0);
	const pp_loc *w2 = loc_at(&d, 0x401180);
	cr_assert_eq(w2->fn[0], w->fn[2], "one function at two addresses");
	cr_assert_eq(w2->line[0], 25);

	/* functions: demangled name, name as spelled, file; the comm is no function */
	cr_assert_eq(d.nfn, 7);
	const pp_fn *work = fn_named(&d, "work()"), *memcpy_ = fn_named(&d, "memcpy");
	cr_assert_str_eq(S(&d, work->system_name), "_Zwork");
	cr_assert_str_eq(S(&d, work->filename), "/src/app.c");
	cr_assert_str_eq(S(&d, fn_named(&d, "helper()")->filename), "/src/util.h");
	cr_assert_str_eq(S(&d, memcpy_->system_name), "memcpy");
	cr_assert_eq(memcpy_->filename, 0);
	for (size_t i = 0; i < d.nfn; i++)
		cr_assert_str_neq(S(&d, d.fn[i].name), "app");

	/* samples: leaf first, comm as a label, no thread labels without kept samples */
	cr_assert_eq(d.nsample, 5);
	for (size_t i = 0; i < d.nsample; i++) {
		cr_assert_str_eq(label_of(&d, &d.sample[i], "comm"), "app");
		cr_assert_null(label_of(&d, &d.sample[i], "pid"));
	}
	ps_profile *back = pprof_to_profile(&d, 0);
	char *actual = folded_text(back);
	cr_assert_str_eq(actual, "app;main();rec();rec() 1\n"
				 "app;main();rec();rec();rec();hot() 4\n"
				 "app;main();work() 2\n"
				 "app;main();work();helper();inner() 5\n"
				 "app;main();work();helper();inner();memcpy 3\n");
	free(actual);
	ps_profile_free(back);
	pp_free(&d);
	ps_profile_free(m.p);
}

Test(export_pprof, kept_samples_are_labelled_with_pid_tid_and_comm)
{
	model m = model_profile(PS_PROFILE_SAMPLES);
	ps_node_id a = STACK(m.p, 0, m.comm, m.main, m.work);
	ps_node_id b = STACK(m.p, 0, m.comm, m.main, m.hot);
	ps_profile_sample s[] = {
	    {100, 42, 42, a, 0}, {200, 42, 43, a, 0}, {300, 42, 42, a, 0}, {400, 42, 43, b, 0}, {500, 0, 0, b, 0},
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cr_assert_eq(ps_profile_add_sample(m.p, &s[i], (uint64_t[]){i + 1}), 0);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.period_ns = 1000;
	pp d = export_pprof_of(m.p, &meta);
	cr_assert_eq(d.nsample, 4, "one per stack and thread");
	uint64_t total = 0;
	int seen = 0;
	for (size_t i = 0; i < d.nsample; i++) {
		const pp_sample *x = &d.sample[i];
		cr_assert_str_eq(label_of(&d, x, "comm"), "app");
		cr_assert_eq(x->nvalue, 2);
		cr_assert_eq(x->value[1], x->value[0] * 1000);
		total += (uint64_t)x->value[0];
		int64_t pid = num_label_of(&d, x, "pid"), tid = num_label_of(&d, x, "tid");
		const pp_loc *leaf = find_loc(&d, x->loc[0]);
		if (pid == 42 && tid == 42) {
			cr_assert_eq(x->value[0], 1 + 3, "samples of one thread and stack merge");
			seen |= 1;
		} else if (tid == 43 && leaf->address == 0x401100) {
			cr_assert_eq(x->value[0], 2);
			seen |= 2;
		} else if (tid == 43) {
			cr_assert_eq(x->value[0], 4);
			seen |= 4;
		} else {
			cr_assert_eq(pid, -1, "pid 0 has no label (pprof drops a 0)");
			cr_assert_eq(x->value[0], 5);
			seen |= 8;
		}
	}
	cr_assert_eq(seen, 15);
	cr_assert_eq(total, 15);
	pp_free(&d);
	ps_profile_free(m.p);
}

Test(export_pprof, frames_without_mapping_share_a_synthetic_one_after_the_real_ones)
{
	model m = model_profile(0);
	ps_frame_id jit =
	    frame_of(m.p, (ps_frame){.name = "jitted", .kind = PS_FRAME_JIT, .addr = 0x9000});
	ps_frame_id unk = frame_of(m.p, (ps_frame){.name = "[unknown]",
						   .kind = PS_FRAME_USER,
						   .addr = 0x7f0000000100,
						   .mapping = m.libc,
						   .unresolved = 1});
	uint32_t libz = mapping_of(m.p, (ps_mapping){"/lib/libz.so.1", NULL, 0x7e00, 0x7f00, 0});
	ps_frame_id unz = frame_of(m.p, (ps_frame){.name = "[libz.so.1]",
						   .kind = PS_FRAME_USER,
						   .addr = 0x7e10,
						   .mapping = libz,
						   .unresolved = 1});
	STACK(m.p, 2, m.comm, m.main, jit);
	STACK(m.p, 1, m.comm, m.main, unk);
	STACK(m.p, 1, m.comm, m.main, m.memcpy_);
	STACK(m.p, 1, m.comm, m.main, unz);
	pp d = export_pprof_of(m.p, NULL);
	cr_assert_eq(d.nmap, 4);
	const pp_map *syn = map_named(&d, "[perfsample]");
	cr_assert_eq(syn->id, 4, "after the profile's mappings");
	cr_assert_eq(syn->has_functions, 1);
	cr_assert_eq(loc_at(&d, 0x9000)->mapping, 4);
	const pp_map *libc = map_named(&d, "/lib/libc.so.6");
	cr_assert_eq(libc->has_functions, 1,
		     "a location with a name, as pprof's symbolizer sets it");
	cr_assert_eq(loc_at(&d, 0x7f0000000100)->mapping, m.libc);
	const pp_map *z = map_named(&d, "/lib/libz.so.1");
	cr_assert_eq(z->has_functions + z->has_filenames + z->has_lines + z->has_inline, 0,
		     "nothing resolved: pprof may symbolize it from the binary");
	pp_free(&d);
	ps_profile_free(m.p);
}

Test(export_pprof, the_main_binary_is_the_first_mapping)
{
	/* pprof takes the first mapping for the binary (its File:, -list, -disasm) */
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	uint32_t libc = mapping_of(p, (ps_mapping){"/lib/libc.so.6", NULL, 0x7f00, 0x8f00, 0});
	uint32_t kern = mapping_of(p, (ps_mapping){.path = "[kernel.kallsyms]"});
	uint32_t musl =
	    mapping_of(p, (ps_mapping){"/lib/ld-musl-x86_64.so.1", NULL, 0x9000, 0xa000, 0});
	uint32_t app = mapping_of(p, (ps_mapping){"/opt/app/server", NULL, 0x1000, 0x2000, 0});
	ps_frame_id start = frame_of(p, (ps_frame){.name = "__libc_start_main",
						   .mapping = libc,
						   .addr = 0x7f10,
						   .kind = PS_FRAME_USER});
	ps_frame_id ld = frame_of(
	    p, (ps_frame){
		   .name = "_dl_start", .mapping = musl, .addr = 0x9010, .kind = PS_FRAME_USER});
	ps_frame_id main_ = frame_of(
	    p, (ps_frame){.name = "main", .mapping = app, .addr = 0x1010, .kind = PS_FRAME_USER});
	ps_frame_id irq = frame_of(
	    p, (ps_frame){
		   .name = "irq", .mapping = kern, .addr = 0xffff0000, .kind = PS_FRAME_KERNEL});
	STACK(p, 1, start, main_, irq);
	STACK(p, 1, ld);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.first_frame_is_comm = 0;
	pp d = export_pprof_of(p, &meta);
	cr_assert_eq(d.nmap, 4);
	cr_assert_str_eq(S(&d, d.map[0].filename), "/opt/app/server");
	cr_assert_eq(d.map[0].id, app, "ids stay the profile's");
	cr_assert_eq(d.map[1].id, libc);
	cr_assert_eq(d.map[2].id, kern);
	cr_assert_eq(d.map[3].id, musl);
	pp_free(&d);
	ps_profile_free(p);
}

Test(export_pprof, sample_types_are_the_profiles_columns)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "alloc_objects", "count"), 0);
	cr_assert_eq(ps_profile_add_type(p, "alloc_space", "bytes"), 1);
	ps_frame_id f = frame_of(p, (ps_frame){.name = "malloc", .kind = PS_FRAME_USER});
	ps_node_id n = STACK(p, 2, f);
	cr_assert_eq(ps_profile_add_value(p, n, 1, 4096), 0);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.period_ns = 1000; /* no samples column: nothing to derive cpu time from */
	meta.first_frame_is_comm = 0;
	pp d = export_pprof_of(p, &meta);
	cr_assert_eq(d.nstype, 2);
	cr_assert_str_eq(S(&d, d.stype[0][0]), "alloc_objects");
	cr_assert_str_eq(S(&d, d.stype[0][1]), "count");
	cr_assert_str_eq(S(&d, d.stype[1][0]), "alloc_space");
	cr_assert_str_eq(S(&d, d.stype[1][1]), "bytes");
	cr_assert_eq(d.nsample, 1);
	cr_assert_eq(d.sample[0].nvalue, 2);
	cr_assert_eq(d.sample[0].value[0], 2);
	cr_assert_eq(d.sample[0].value[1], 4096);
	pp_free(&d);
	ps_profile_free(p);
}

Test(export, demangler_errors_abort_every_format)
{
	model m = model_profile(0);
	model_stacks(&m);
	int fail = 1;
	ps_label_opts lo = {0, demangle_z, &fail};
	ps_profile_set_labels(m.p, &lo);
	export_fn fns[] = {ps_export_pprof, ps_export_callgrind, ps_export_speedscope};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int err;
		mem out = run_export(fns[i], m.p, NULL, &err);
		cr_assert_eq(err, -EIO, "format %zu", i);
		free(out.data);
	}
	ps_profile_free(m.p);
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

/* The JSON string speedscope's writer makes of s: ps_escape's body in quotes. */
static char *json_of(const char *s, size_t len)
{
	ps_buf b = {0};
	cr_assert_eq(ps_buf_add(&b, "\"", 1), 0);
	cr_assert_eq(ps_escape(&b, PS_ESC_JSON, s, len), 0);
	cr_assert_eq(ps_buf_add(&b, "\"", 2), 0);
	return b.data;
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
			ps_profile_add_folded(back, buf, n, (uint64_t)(w / 1000), 0);
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
	model m = model_profile(0);
	ps_frame_id weird =
	    frame_of(m.p, (ps_frame){.name = "weird\x01\xff", .kind = PS_FRAME_USER});
	STACK(m.p, 3, m.main, m.work, m.helper);
	STACK(m.p, 2, m.main, m.work2);
	STACK(m.p, 1, m.main, weird);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.name = "my \"app\"";
	int err;
	mem out = run_export(ps_export_speedscope, m.p, &meta, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	cr_assert_str_eq(jget(doc, "name")->s, "my \"app\"");
	jv *profiles = jget(doc, "profiles");
	cr_assert_eq(profiles->len, 1, "no process root: one profile named by the title");
	cr_assert_str_eq(jget(profiles->items[0], "name")->s, "my \"app\"");
	cr_assert_str_eq(jget(profiles->items[0], "unit")->s, "none");
	cr_assert_eq(jget(profiles->items[0], "endValue")->n, 6);
	jv *frames = jget(jget(doc, "shared"), "frames");
	cr_assert_eq(frames->len, 4, "main, work (both addresses), helper, weird");
	int seen = 0;
	for (size_t i = 0; i < frames->len; i++) {
		const char *name = jget(frames->items[i], "name")->s;
		if (!strcmp(name, "work()")) {
			cr_assert_str_eq(jget(frames->items[i], "file")->s, "/src/app.c");
			cr_assert_eq(jget(frames->items[i], "line")->n, 20, "its first line");
			seen |= 1;
		}
		if (!strcmp(name, "helper()")) {
			cr_assert_str_eq(jget(frames->items[i], "file")->s, "/src/util.h");
			cr_assert_eq(jget(frames->items[i], "line")->n, 5);
			seen |= 2;
		}
		if (!strncmp(name, "weird", 5)) {
			cr_assert_str_eq(name, "weird\x01\xef\xbf\xbd");
			cr_assert_null(jget(frames->items[i], "file"));
			cr_assert_null(jget(frames->items[i], "line"));
			seen |= 4;
		}
	}
	cr_assert_eq(seen, 7);
	jfree(doc);
	free(out.data);
	ps_profile_free(m.p);
}

/* Rebuilds "name;frame;... weight" lines of every profile's samples, in order. */
static char *speedscope_samples(jv *doc)
{
	jv *frames = jget(jget(doc, "shared"), "frames");
	jv *profiles = jget(doc, "profiles");
	ps_buf b = {0};
	for (size_t i = 0; i < profiles->len; i++) {
		jv *pr = profiles->items[i];
		jv *samples = jget(pr, "samples"), *weights = jget(pr, "weights");
		cr_assert_eq(samples->len, weights->len);
		ps_buf_printf(&b, "%s %g..%g:\n", jget(pr, "name")->s, jget(pr, "startValue")->n,
			      jget(pr, "endValue")->n);
		for (size_t k = 0; k < samples->len; k++) {
			jv *st = samples->items[k];
			ps_buf_addstr(&b, " ");
			for (size_t f = 0; f < st->len; f++)
				ps_buf_printf(
				    &b, "%s%s", f ? ";" : "",
				    jget(frames->items[(size_t)st->items[f]->n], "name")->s);
			ps_buf_printf(&b, " %g\n", weights->items[k]->n);
		}
	}
	ps_buf_add(&b, "", 1);
	return b.data;
}

Test(export_speedscope, kept_samples_make_a_timeline_with_gaps)
{
	model m = model_profile(PS_PROFILE_SAMPLES);
	ps_frame_id other = frame_of(m.p, (ps_frame){.name = "db", .kind = PS_FRAME_PROCESS});
	ps_node_id a = STACK(m.p, 0, m.comm, m.main, m.work);
	ps_node_id b = STACK(m.p, 0, m.comm, m.main, m.hot);
	ps_node_id c = STACK(m.p, 0, other, m.main);
	ps_node_id idle = STACK(m.p, 0, m.comm);
	/* added out of time order, as CPUs' rings are drained */
	ps_profile_sample s[] = {
	    {15000, 1, 1, b, 0}, {13000, 1, 1, a, 0},	   {14000, 1, 1, a, 0}, {12000, 2, 2, c, 0},
	    {19000, 2, 2, c, 0}, {16000, 1, 1, idle, 0}, {20000, 2, 2, c, 0},
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cr_assert_eq(ps_profile_add_sample(m.p, &s[i], (uint64_t[]){1}), 0);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.period_ns = 1000;
	int err;
	mem out = run_export(ps_export_speedscope, m.p, &meta, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	jv *profiles = jget(doc, "profiles");
	cr_assert_eq(profiles->len, 2);
	for (size_t i = 0; i < 2; i++)
		cr_assert_str_eq(jget(profiles->items[i], "unit")->s, "nanoseconds");
	/* Each sample covers the period before it; the earliest starts at 0 (db's at 11000);
	 * db was not seen from 12000 to 18000: an empty sample. */
	char *got = speedscope_samples(doc);
	cr_assert_str_eq(got,
			 "app 1/1 1000..5000:\n"
			 " main();work() 2000\n"
			 " main();hot() 1000\n"
			 "  1000\n"
			 "db 2/2 0..9000:\n"
			 " main() 1000\n"
			 "  6000\n"
			 " main() 2000\n",
			 "neighbours of one stack are one sample; a gap parts them");
	free(got);
	jfree(doc);
	free(out.data);
	ps_profile_free(m.p);
}

/* Threads of one process that run at once on two CPUs: each is a timeline of its own,
 * named as the issue asks ("comm pid/tid"), rather than one process timeline in which the
 * second thread's samples are laid after the first's. */
Test(export_speedscope, kept_samples_make_a_timeline_per_thread)
{
	model m = model_profile(PS_PROFILE_SAMPLES);
	ps_node_id a = STACK(m.p, 0, m.comm, m.main, m.work);
	ps_node_id b = STACK(m.p, 0, m.comm, m.main, m.hot);
	ps_profile_sample s[] = {
	    {2000, 10, 10, a, 0}, {2000, 10, 11, b, 1}, {3000, 10, 10, a, 0},
	    {3000, 10, 11, b, 1}, {4000, 10, 11, a, 1},
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cr_assert_eq(ps_profile_add_sample(m.p, &s[i], (uint64_t[]){1}), 0);
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.period_ns = 1000;
	int err;
	mem out = run_export(ps_export_speedscope, m.p, &meta, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	char *got = speedscope_samples(doc);
	cr_assert_str_eq(got,
			 "app 10/11 0..3000:\n"
			 " main();hot() 2000\n"
			 " main();work() 1000\n"
			 "app 10/10 0..2000:\n"
			 " main();work() 2000\n",
			 "one profile per thread, heaviest first, on one clock");
	free(got);
	jfree(doc);
	free(out.data);
	ps_profile_free(m.p);
}

Test(export_speedscope, timer_jitter_is_no_gap_but_adds_up_to_one)
{
	model m = model_profile(PS_PROFILE_SAMPLES);
	ps_node_id a = STACK(m.p, 0, m.comm, m.main);
	/* 1000 ns a sample, each 100 ns later than the last ended, then one after 1200 more */
	uint64_t t[] = {1000, 2100, 3200, 4300, 5400, 7700};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ps_profile_sample s = {t[i], 1, 1, a, 0};
		cr_assert_eq(ps_profile_add_sample(m.p, &s, (uint64_t[]){1}), 0);
	}
	ps_export_meta meta;
	ps_export_meta_init(&meta);
	meta.period_ns = 1000;
	int err;
	mem out = run_export(ps_export_speedscope, m.p, &meta, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	char *got = speedscope_samples(doc);
	/* the 100s add up to 400 by the fifth: still jitter; then the timeline catches up */
	cr_assert_str_eq(got, "app 1/1 0..7700:\n"
			      " main() 5000\n"
			      "  1700\n"
			      " main() 1000\n");
	free(got);
	jfree(doc);
	free(out.data);
	ps_profile_free(m.p);
}

Test(export_speedscope, without_process_roots_a_profile_per_pid_and_tid)
{
	model m = model_profile(PS_PROFILE_SAMPLES);
	ps_node_id a = STACK(m.p, 0, m.main, m.work);
	ps_profile_sample s[] = {{3000, 7, 8, a, 0}, {1000, 7, 7, a, 0}, {2000, 9, 9, a, 0}};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cr_assert_eq(ps_profile_add_sample(m.p, &s[i], (uint64_t[]){2}), 0);
	int err;
	mem out = run_export(ps_export_speedscope, m.p, NULL, &err);
	cr_assert_eq(err, 0);
	jv *doc = parse_doc(out);
	char *got = speedscope_samples(doc);
	cr_assert_str_eq(got,
			 "7/7 0..2:\n"
			 " main();work() 2\n"
			 "9/9 0..2:\n"
			 " main();work() 2\n"
			 "7/8 0..2:\n"
			 " main();work() 2\n",
			 "no period: counts, in time order, no gaps");
	free(got);
	jfree(doc);
	free(out.data);
	ps_profile_free(m.p);
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
	char name[64], file[64], obj[64];
	uint64_t self;
	uint32_t self_line[8];
	uint64_t self_at[8];
	size_t nself;
	uint64_t calls_to[16], ncalls[16];
	uint32_t call_line[16];
	char callee[16][64]; /* "file:name" */
	size_t ncallee;
} cg_fn;

typedef struct cg {
	char fn_names[64][64], fl_names[16][64], ob_names[16][64];
	cg_fn fn[64];
	size_t nfn;
	uint64_t summary, totals;
	char events[64];
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
	cr_assert_lt(c->nfn, 64);
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
	const char *ob = "", *fl = "", *cfl = "", *cfn = NULL;
	cg_fn *cur = NULL;
	uint64_t pending_calls = 0;
	int in_call = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (!strncmp(line, "events: ", 8))
			snprintf(c->events, sizeof(c->events), "%s", line + 8);
		else if (!strncmp(line, "summary: ", 9))
			c->summary = strtoull(line + 9, NULL, 10);
		else if (!strncmp(line, "totals: ", 8))
			c->totals = strtoull(line + 8, NULL, 10);
		else if (!strncmp(line, "ob=", 3))
			ob = cg_name(c->ob_names, 16, line + 3);
		else if (!strncmp(line, "cob=", 4))
			cg_name(c->ob_names, 16, line + 4);
		else if (!strncmp(line, "fl=", 3))
			fl = cfl = cg_name(c->fl_names, 16, line + 3);
		else if (!strncmp(line, "cfl=", 4))
			cfl = cg_name(c->fl_names, 16, line + 4);
		else if (!strncmp(line, "fn=", 3)) {
			cur = cg_fn_of(c, fl, cg_name(c->fn_names, 64, line + 3));
			snprintf(cur->obj, 64, "%s", ob);
		} else if (!strncmp(line, "cfn=", 4))
			cfn = cg_name(c->fn_names, 64, line + 4);
		else if (!strncmp(line, "calls=", 6)) {
			pending_calls = strtoull(line + 6, NULL, 10);
			cr_assert_not_null(cfn);
			in_call = 1;
		} else if (line[0] >= '0' && line[0] <= '9') {
			cr_assert_not_null(cur, "cost line before fn=");
			char *e;
			uint32_t pos = (uint32_t)strtoul(line, &e, 10);
			cr_assert_eq(*e, ' ');
			uint64_t cost = strtoull(e + 1, NULL, 10);
			if (in_call) {
				cr_assert_lt(cur->ncallee, 16);
				size_t k = cur->ncallee++;
				snprintf(cur->callee[k], 64, "%s:%s", cfl, cfn);
				cur->calls_to[k] = cost;
				cur->ncalls[k] = pending_calls;
				cur->call_line[k] = pos;
				in_call = 0;
				cfl = fl;
			} else {
				cr_assert_lt(cur->nself, 8);
				cur->self_line[cur->nself] = pos;
				cur->self_at[cur->nself++] = cost;
				cur->self += cost;
			}
		} else if (strchr(line, ':') == NULL)
			cr_assert_fail("unexpected line '%s'", line);
	}
	free(text);
}

/* The cost of every call from f to callee (at any line). */
static uint64_t cg_call(const cg_fn *f, const char *callee)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < f->ncallee; i++)
		if (!strcmp(f->callee[i], callee))
			sum += f->calls_to[i];
	return sum;
}

/* Inclusive cost as callgrind_annotate --inclusive=yes computes it: the incoming calls of a
 * function that is called, else its self cost and its outgoing calls. */
static uint64_t cg_inclusive(const cg *c, const cg_fn *f)
{
	char key[130];
	snprintf(key, sizeof(key), "%s:%s", f->file, f->name);
	uint64_t in = 0, out = f->self;
	int called = 0;
	for (size_t i = 0; i < c->nfn; i++)
		for (size_t k = 0; k < c->fn[i].ncallee; k++)
			if (!strcmp(c->fn[i].callee[k], key)) {
				called = 1;
				in += c->fn[i].calls_to[k];
			}
	for (size_t k = 0; k < f->ncallee; k++)
		out += f->calls_to[k];
	return called ? in : out;
}

static uint64_t cg_self_at(const cg_fn *f, uint32_t line)
{
	for (size_t i = 0; i < f->nself; i++)
		if (f->self_line[i] == line)
			return f->self_at[i];
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
	cr_assert_str_eq(c.events, "samples");
	cr_assert_eq(c.summary, 95);
	cr_assert_eq(c.totals, 95);
	struct {
		const char *file, *name;
		uint64_t self, incl;
	} want[] = {
	    {"???", "hot", 60, 60}, {"???", "warm", 20, 20},	{"???", "idle", 5, 5},
	    {"???", "spin", 7, 7},  {"???", "q\"uo\\te", 1, 1}, {"???", "main", 0, 92},
	    {"???", "rec", 0, 10},  {"[comm]", "prog", 2, 87},	{"[comm]", "other", 0, 8},
	    {"???", "work", 0, 70}, {"???", "start", 0, 1},
	};
	uint64_t sum = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cg_fn *f = cg_fn_of(&c, want[i].file, want[i].name);
		cr_assert_eq(f->self, want[i].self, "%s", want[i].name);
		cr_assert_eq(cg_inclusive(&c, f), want[i].incl, "%s inclusive", want[i].name);
	}
	for (size_t i = 0; i < c.nfn; i++)
		sum += c.fn[i].self;
	cr_assert_eq(sum, 95, "every sample is some function's self cost");
	cr_assert_eq(c.nfn, 11);
	/* inclusive edges: the call that first entered a function; recursion adds nothing */
	cr_assert_eq(cg_call(cg_fn_of(&c, "[comm]", "prog"), "???:main"), 85);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "main"), "???:work"), 70);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "main"), "???:rec"), 10);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "rec"), "???:rec"), 0);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "rec"), "???:hot"), 10);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "work"), "???:hot"), 50);
	cr_assert_eq(cg_call(cg_fn_of(&c, "[comm]", "other"), "???:start"), 1);
	free(out.data);
	ps_profile_free(p);
}

Test(export_callgrind, recursion_never_passes_the_samples_under_it)
{
	/* a -> b -> a -> b ... and direct recursion, deep: every function's inclusive cost
	 * is the samples whose stack holds it, never more. */
	static const char *const st[] = {
	    "t;a;b;a;b;a;b;leaf", "7", "t;a;a;a;a", "3", "t;b;a;b", "2", "t;a;b", "1", NULL,
	};
	ps_profile *p = profile_of(st);
	int err;
	mem out = run_export(ps_export_callgrind, p, NULL, &err);
	cr_assert_eq(err, 0);
	cg c;
	parse_callgrind(out, &c);
	cr_assert_eq(cg_inclusive(&c, cg_fn_of(&c, "???", "a")), 13);
	cr_assert_eq(cg_inclusive(&c, cg_fn_of(&c, "???", "b")), 10);
	cr_assert_eq(cg_inclusive(&c, cg_fn_of(&c, "???", "leaf")), 7);
	cr_assert_eq(cg_inclusive(&c, cg_fn_of(&c, "[comm]", "t")), 13);
	for (size_t i = 0; i < c.nfn; i++)
		cr_assert_leq(cg_inclusive(&c, &c.fn[i]), c.totals, "%s", c.fn[i].name);
	free(out.data);
	ps_profile_free(p);
}

Test(export_callgrind, objects_files_lines_and_inlined_callees)
{
	model m = model_profile(0);
	model_stacks(&m);
	int err;
	mem out = run_export(ps_export_callgrind, m.p, NULL, &err);
	cr_assert_eq(err, 0);
	cg c;
	parse_callgrind(out, &c);
	cr_assert_eq(c.totals, 15);
	cg_fn *app = cg_fn_of(&c, "[comm]", "app"), *main_ = cg_fn_of(&c, "/src/app.c", "main()");
	cg_fn *work = cg_fn_of(&c, "/src/app.c", "work()"),
	      *rec = cg_fn_of(&c, "/src/app.c", "rec()");
	cg_fn *helper = cg_fn_of(&c, "/src/util.h", "helper()");
	cg_fn *inner = cg_fn_of(&c, "/src/util.h", "inner()"), *mc = cg_fn_of(&c, "???", "memcpy");
	cr_assert_str_eq(main_->obj, "/usr/bin/app");
	cr_assert_str_eq(inner->obj, "/usr/bin/app");
	cr_assert_str_eq(mc->obj, "/lib/libc.so.6");
	cr_assert_str_eq(app->obj, "???");
	cr_assert_eq(c.nfn, 8, "work at two addresses is one function");
	/* self costs by line */
	cr_assert_eq(cg_self_at(inner, 9), 5);
	cr_assert_eq(cg_self_at(mc, 0), 3);
	cr_assert_eq(cg_self_at(work, 25), 2);
	cr_assert_eq(work->nself, 1);
	cr_assert_eq(cg_self_at(rec, 30), 1);
	cr_assert_eq(cg_self_at(cg_fn_of(&c, "/src/app.c", "hot()"), 40), 4);
	/* calls from the caller's line; inlined functions are callees like any other */
	cr_assert_eq(cg_call(app, "/src/app.c:main()"), 15);
	cr_assert_eq(main_->ncallee, 2);
	cr_assert_eq(cg_call(main_, "/src/app.c:work()"), 10, "both addresses of work");
	cr_assert_eq(main_->call_line[0], 10);
	cr_assert_eq(cg_call(main_, "/src/app.c:rec()"), 5);
	cr_assert_eq(cg_call(work, "/src/util.h:helper()"), 8);
	cr_assert_eq(work->call_line[0], 20);
	cr_assert_eq(cg_call(helper, "/src/util.h:inner()"), 8);
	cr_assert_eq(helper->call_line[0], 5);
	cr_assert_eq(cg_call(inner, "???:memcpy"), 3);
	cr_assert_eq(inner->call_line[0], 9);
	cr_assert_eq(cg_call(rec, "/src/app.c:rec()"), 0);
	cr_assert_eq(cg_call(rec, "/src/app.c:hot()"), 4);
	cr_assert_eq(cg_inclusive(&c, rec), 5);
	cr_assert_eq(cg_inclusive(&c, main_), 15);
	free(out.data);
	ps_profile_free(m.p);
}

Test(export_callgrind, control_bytes_in_names_cannot_end_a_line)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id a = frame_of(p, (ps_frame){.name = "main", .kind = PS_FRAME_USER});
	ps_frame_id b = frame_of(
	    p, (ps_frame){.name = "bad\nname\r", .kind = PS_FRAME_USER, .file = "/src/x\n.c"});
	STACK(p, 3, a, b);
	int err;
	mem out = run_export(ps_export_callgrind, p, NULL, &err);
	cr_assert_eq(err, 0);
	cg c;
	parse_callgrind(out, &c);
	cr_assert_eq(cg_fn_of(&c, "/src/x?.c", "bad?name?")->self, 3);
	cr_assert_eq(cg_call(cg_fn_of(&c, "???", "main"), "/src/x?.c:bad?name?"), 3);
	cr_assert_eq(c.nfn, 2);
	free(out.data);
	ps_profile_free(p);
}

Test(export_callgrind, one_event_per_column)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	cr_assert_eq(ps_profile_add_type(p, "off-cpu", "nanoseconds"), 1);
	ps_frame_id a = frame_of(p, (ps_frame){.name = "main", .kind = PS_FRAME_USER});
	ps_node_id n = STACK(p, 3, a);
	cr_assert_eq(ps_profile_add_value(p, n, 1, 5000), 0);
	int err;
	mem out = run_export(ps_export_callgrind, p, NULL, &err);
	cr_assert_eq(err, 0);
	char *text = strndup(out.data, out.len);
	cr_assert_not_null(strstr(text, "\nevent: off_cpu : cpu-clock off-cpu (nanoseconds)\n"));
	cr_assert_not_null(strstr(text, "\nevents: samples off_cpu\nsummary: 3 5000\n"));
	cr_assert_not_null(strstr(text, "\nfn=(1) main\n0 3 5000\n"));
	cr_assert_not_null(strstr(text, "\ntotals: 3 5000\n"));
	free(text);
	free(out.data);
	ps_profile_free(p);
}
