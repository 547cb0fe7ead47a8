/* pprof's profile.proto (github.com/google/pprof, proto/profile.proto), encoded by hand and
 * gzipped. The message is small: varints and length-delimited fields only. */
#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/ps_error.h"
#include "render/ps_export_int.h"

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	VALUETYPE_TYPE = 1,
	VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
};

enum { WT_VARINT = 0, WT_LEN = 2 };

/* A buffer whose first error sticks, so encoding reads as a list of fields. */
typedef struct pb {
	ps_buf b;
	int err;
} pb;

static void pb_raw(pb *p, const void *d, size_t len)
{
	if (!p->err)
		p->err = ps_buf_add(&p->b, d, len);
}

static void pb_varint(pb *p, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	pb_raw(p, tmp, n);
}

static void pb_key(pb *p, unsigned field, unsigned wt) { pb_varint(p, (uint64_t)field << 3 | wt); }

/* proto3 leaves zero scalars out. int64 fields are written as their two's complement. */
static void pb_uint(pb *p, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(p, field, WT_VARINT);
	pb_varint(p, v);
}

static void pb_bytes(pb *p, unsigned field, const void *d, size_t len)
{
	pb_key(p, field, WT_LEN);
	pb_varint(p, len);
	pb_raw(p, d, len);
}

/* Appends sub as a length-delimited field of p and empties sub for the next message. */
static void pb_msg(pb *p, unsigned field, pb *sub)
{
	if (sub->err && !p->err)
		p->err = sub->err;
	pb_bytes(p, field, sub->b.data, sub->b.len);
	sub->b.len = 0;
}

typedef struct enc {
	ps_xprof *x;
	ps_xtab strings;     /* string_table: "" is index 0 */
	ps_xtab mapkeys;     /* module "\n" build_id -> mapping id - 1 (0 is the synthetic one) */
	uint32_t *frame_map; /* frame id -> mapping id */
	int err;
} enc;

static int64_t str_id(enc *e, const char *s)
{
	uint32_t id = 0;
	if (!s)
		s = "";
	int err = ps_xtab_intern(&e->strings, s, strlen(s), &id);
	if (err && !e->err)
		e->err = err;
	return id;
}

static void value_type(enc *e, pb *out, pb *sub, unsigned field, const char *type, const char *unit)
{
	pb_uint(sub, VALUETYPE_TYPE, (uint64_t)str_id(e, type));
	pb_uint(sub, VALUETYPE_UNIT, (uint64_t)str_id(e, unit));
	pb_msg(out, field, sub);
}

/* One mapping per module the hook names, and one synthetic mapping for the rest: pprof wants
 * every location in a mapping, and has_functions tells it not to symbolize addresses. */
static void mappings(enc *e, pb *out, pb *sub)
{
	ps_xprof *x = e->x;
	uint32_t id;
	e->err = ps_xtab_intern(&e->mapkeys, "", 0, &id);
	if (e->err)
		return;
	/* Per mapping: the first frame that named it, for the range, and what its frames know. */
	uint32_t cap = 16;
	uint32_t *first = malloc(cap * sizeof(*first));
	unsigned char *has_files = calloc(cap, 1), *has_lines = calloc(cap, 1);
	if (!first || !has_files || !has_lines) {
		e->err = -ENOMEM;
		goto out;
	}
	first[0] = UINT32_MAX;
	for (uint32_t f = 0; f < x->frames.n; f++) {
		e->frame_map[f] = 1;
		if (!x->has_meta || !x->has_meta[f])
			continue;
		const ps_export_frame_meta *fm = &x->meta[f];
		uint32_t mid = 0;
		if (fm->module) {
			if (e->mapkeys.n >= cap) {
				uint32_t ncap = cap * 2;
				uint32_t *nf = realloc(first, ncap * sizeof(*nf));
				if (nf)
					first = nf;
				unsigned char *a = realloc(has_files, ncap);
				if (a)
					has_files = a;
				unsigned char *b = realloc(has_lines, ncap);
				if (b)
					has_lines = b;
				if (!nf || !a || !b) {
					e->err = -ENOMEM;
					goto out;
				}
				memset(has_files + cap, 0, ncap - cap);
				memset(has_lines + cap, 0, ncap - cap);
				cap = ncap;
			}
			uint32_t before = e->mapkeys.n;
			ps_buf key = {0};
			int err = ps_buf_printf(&key, "%s\n%s", fm->module,
						fm->build_id ? fm->build_id : "");
			if (!err)
				err = ps_xtab_intern(&e->mapkeys, key.data, key.len, &mid);
			ps_buf_release(&key);
			if (err) {
				e->err = err;
				goto out;
			}
			if (mid == before)
				first[mid] = f;
		}
		e->frame_map[f] = mid + 1;
		has_files[mid] |= fm->file != NULL;
		has_lines[mid] |= fm->line != 0;
	}
	for (uint32_t mid = 0; mid < e->mapkeys.n; mid++) {
		pb_uint(sub, MAPPING_ID, mid + 1);
		if (mid == 0) {
			/* Frames nobody placed. A bracketed name, as perf's [unknown], so pprof's
			 * "File:" header names the tool rather than an empty binary, and nothing
			 * tries to open it. */
			pb_uint(sub, MAPPING_FILENAME, (uint64_t)str_id(e, "[perfsample]"));
		} else {
			const ps_export_frame_meta *fm = &x->meta[first[mid]];
			pb_uint(sub, MAPPING_MEMORY_START, fm->module_start);
			pb_uint(sub, MAPPING_MEMORY_LIMIT, fm->module_limit);
			pb_uint(sub, MAPPING_FILE_OFFSET, fm->module_offset);
			pb_uint(sub, MAPPING_FILENAME, (uint64_t)str_id(e, fm->module));
			pb_uint(sub, MAPPING_BUILD_ID, (uint64_t)str_id(e, fm->build_id));
		}
		pb_uint(sub, MAPPING_HAS_FUNCTIONS, 1);
		pb_uint(sub, MAPPING_HAS_FILENAMES, has_files[mid]);
		pb_uint(sub, MAPPING_HAS_LINE_NUMBERS, has_lines[mid]);
		pb_msg(out, PROFILE_MAPPING, sub);
	}
out:
	free(first);
	free(has_files);
	free(has_lines);
}

/* Frame names are opaque, so one name is one function at one location: location id and
 * function id are both frame id + 1. */
static void locations_and_functions(enc *e, pb *out, pb *sub, pb *line)
{
	ps_xprof *x = e->x;
	for (uint32_t f = 0; f < x->frames.n; f++) {
		const ps_export_frame_meta *fm = x->has_meta && x->has_meta[f] ? &x->meta[f] : NULL;
		pb_uint(sub, LOCATION_ID, f + 1);
		pb_uint(sub, LOCATION_MAPPING_ID, e->frame_map[f]);
		pb_uint(sub, LOCATION_ADDRESS, fm ? fm->address : 0);
		pb_uint(line, LINE_FUNCTION_ID, f + 1);
		pb_uint(line, LINE_LINE, fm ? fm->line : 0);
		pb_msg(sub, LOCATION_LINE, line);
		pb_msg(out, PROFILE_LOCATION, sub);
	}
	for (uint32_t f = 0; f < x->frames.n; f++) {
		const ps_export_frame_meta *fm = x->has_meta && x->has_meta[f] ? &x->meta[f] : NULL;
		pb_uint(sub, FUNCTION_ID, f + 1);
		int64_t name = str_id(e, x->frames.name[f]);
		pb_uint(sub, FUNCTION_NAME, (uint64_t)name);
		pb_uint(sub, FUNCTION_SYSTEM_NAME,
			fm && fm->system_name ? (uint64_t)str_id(e, fm->system_name)
					      : (uint64_t)name);
		pb_uint(sub, FUNCTION_FILENAME, fm ? (uint64_t)str_id(e, fm->file) : 0);
		pb_msg(out, PROFILE_FUNCTION, sub);
	}
}

static void samples(enc *e, pb *out, pb *sub, pb *packed)
{
	ps_xprof *x = e->x;
	int64_t comm_key = x->m.first_frame_is_comm ? str_id(e, "comm") : 0;
	for (size_t i = 0; i < x->nstacks; i++) {
		if (!x->count[i])
			continue;
		/* pprof lists a sample's locations leaf first. */
		for (size_t k = x->start[i + 1]; k > x->start[i]; k--)
			pb_varint(packed, (uint64_t)x->ids[k - 1] + 1);
		pb_msg(sub, SAMPLE_LOCATION_ID, packed);
		pb_varint(packed, x->count[i]);
		if (x->m.period_ns)
			pb_varint(packed, x->count[i] * x->m.period_ns);
		pb_msg(sub, SAMPLE_VALUE, packed);
		if (x->comm[i] != UINT32_MAX) {
			pb_uint(packed, LABEL_KEY, (uint64_t)comm_key);
			pb_uint(packed, LABEL_STR, (uint64_t)str_id(e, x->comms.name[x->comm[i]]));
			pb_msg(sub, SAMPLE_LABEL, packed);
		}
		pb_msg(out, PROFILE_SAMPLE, sub);
	}
}

static int gzip_to(FILE *out, const void *data, size_t len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16 asks for a gzip wrapper; zlib leaves mtime 0, so the output is
	 * deterministic. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	unsigned char chunk[65536];
	int err = 0, zr;
	z.next_in = (Bytef *)data;
	/* avail_in is 32-bit; feed large profiles in pieces. */
	size_t left = len;
	do {
		uInt piece = left > (1u << 30) ? (1u << 30) : (uInt)left;
		z.avail_in = piece;
		left -= piece;
		int flush = left ? Z_NO_FLUSH : Z_FINISH;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof(chunk);
			zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR) {
				err = PS_ECORRUPT;
				goto out;
			}
			size_t have = sizeof(chunk) - z.avail_out;
			if (have && fwrite(chunk, 1, have, out) != have) {
				err = -EIO;
				goto out;
			}
		} while (z.avail_out == 0);
	} while (left);
	if (zr != Z_STREAM_END)
		err = PS_ECORRUPT;
out:
	deflateEnd(&z);
	return err;
}

int ps_export_pprof(ps_profile *p, const ps_export_meta *m, FILE *out)
{
	ps_xprof x;
	enc e;
	pb prof = {0}, sub = {0}, sub2 = {0};
	memset(&e, 0, sizeof(e));
	int err = ps_xprof_build(&x, p, m);
	if (err)
		goto out;
	e.x = &x;
	e.frame_map = malloc((x.frames.n ? x.frames.n : 1) * sizeof(*e.frame_map));
	if (!e.frame_map) {
		err = -ENOMEM;
		goto out;
	}
	str_id(&e, "");

	/* samples/count first: it is what perf users count; cpu/nanoseconds, when the period is
	 * known, is pprof's default (the last type) and what `go tool pprof` users expect of a
	 * CPU profile. */
	value_type(&e, &prof, &sub, PROFILE_SAMPLE_TYPE, "samples", "count");
	if (x.m.period_ns)
		value_type(&e, &prof, &sub, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
	samples(&e, &prof, &sub, &sub2);
	mappings(&e, &prof, &sub);
	locations_and_functions(&e, &prof, &sub, &sub2);
	pb_uint(&prof, PROFILE_TIME_NANOS, x.m.start_ns);
	pb_uint(&prof, PROFILE_DURATION_NANOS, x.m.duration_ns);
	if (x.m.period_ns) {
		value_type(&e, &prof, &sub, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
		pb_uint(&prof, PROFILE_PERIOD, x.m.period_ns);
	}
	/* The event and title travel as comments (pprof -comments). */
	ps_buf c = {0};
	err = ps_buf_printf(&c, "event: %s", x.m.event);
	if (!err)
		pb_uint(&prof, PROFILE_COMMENT, (uint64_t)str_id(&e, c.data));
	ps_buf_release(&c);
	if (!err && x.m.name)
		pb_uint(&prof, PROFILE_COMMENT, (uint64_t)str_id(&e, x.m.name));
	/* The string table goes last: every field above has interned what it names. */
	for (uint32_t i = 0; i < e.strings.n; i++)
		pb_bytes(&prof, PROFILE_STRING_TABLE, e.strings.name[i], e.strings.len[i]);

	if (!err)
		err = e.err ? e.err : prof.err ? prof.err : sub.err ? sub.err : sub2.err;
	if (!err)
		err = gzip_to(out, prof.b.data, prof.b.len);
	if (!err)
		err = ps_x_check_stream(out);
out:
	ps_buf_release(&prof.b);
	ps_buf_release(&sub.b);
	ps_buf_release(&sub2.b);
	ps_xtab_release(&e.strings);
	ps_xtab_release(&e.mapkeys);
	free(e.frame_map);
	ps_xprof_release(&x);
	return err;
}
