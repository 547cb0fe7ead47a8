/* ps_pprof: profile.proto in, through a small protobuf decoder of its own. Every length is
 * checked against what is left of its message, every index against its table; memory is
 * a small multiple of the (bounded) decompressed size, and so is the work: a sample's
 * frames count against a budget the input's size sets.
 *
 * The decoder reads the message in two passes: the first one notes where each string,
 * mapping, function, location and sample is (strings may come last, and everything names
 * them by index), the second decodes them in the order they depend on each other. */
#include "formats/ps_pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/ps_error.h"
#include "formats/ps_pprof_proto.h"
#include "formats/ps_util.h"

/* ---- the wire format ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* A message, or what is left of it. */
typedef struct pb {
	const uint8_t *p, *end;
} pb;

typedef struct field {
	uint32_t num;
	int wt;
	uint64_t v; /* varint and fixed values */
	pb sub;	    /* length-delimited ones */
} field;

static int pb_varint(pb *r, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			return PS_EFORMAT;
		uint8_t b = *r->p++;
		if (shift == 63 && b > 1) /* a 10th byte holds one bit */
			return PS_EFORMAT;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return PS_EFORMAT;
}

/* The next field of r: 1, 0 at the end of the message, or PS_EFORMAT. */
static int pb_next(pb *r, field *f)
{
	if (r->p == r->end)
		return 0;
	uint64_t key;
	if (pb_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return PS_EFORMAT;
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	f->v = 0;
	f->sub = (pb){NULL, NULL};
	size_t left = (size_t)(r->end - r->p);
	switch (f->wt) {
	case WT_VARINT:
		return pb_varint(r, &f->v) ? PS_EFORMAT : 1;
	case WT_I64:
	case WT_I32: {
		size_t n = f->wt == WT_I64 ? 8 : 4;
		if (left < n)
			return PS_EFORMAT;
		for (size_t i = 0; i < n; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case WT_LEN: {
		uint64_t len;
		if (pb_varint(r, &len) || len > (uint64_t)(r->end - r->p))
			return PS_EFORMAT;
		f->sub = (pb){r->p, r->p + len};
		r->p += len;
		return 1;
	}
	default: /* groups (3, 4) are not in profile.proto; 6 and 7 are not wire types */
		return PS_EFORMAT;
	}
}

/* The values of a repeated integer field, one (unpacked) or packed, appended to *v. */
static int pb_repeated(const field *f, uint64_t **v, size_t *n, size_t *cap)
{
	if (f->wt == WT_VARINT) {
		if (PS_GROW(*v, *cap, *n + 1))
			return -ENOMEM;
		(*v)[(*n)++] = f->v;
		return 0;
	}
	if (f->wt != WT_LEN)
		return PS_EFORMAT;
	pb r = f->sub;
	while (r.p < r.end) {
		uint64_t x;
		if (pb_varint(&r, &x))
			return PS_EFORMAT;
		if (PS_GROW(*v, *cap, *n + 1))
			return -ENOMEM;
		(*v)[(*n)++] = x;
	}
	return 0;
}

/* ---- the profile ---- */


typedef struct map {
	uint64_t id;
	uint32_t model; /* the model's mapping id */
	int kernel;
	int named; /* has_functions: pprof counts its locations symbolized */
} map;

typedef struct func {
	uint64_t id, name, system_name, filename; /* string indexes */
} func;

typedef struct loc {
	uint64_t id;
	size_t first, n; /* its frames in dec.pool, root first */
} loc;

typedef struct dec {
	const ps_pprof_opts *o;
	ps_pprof_info *info;
	ps_profile *p;
	const char *why;
	size_t budget; /* frames the samples may still add */

	pb *strs, *types, *maps_raw, *funcs_raw, *locs_raw, *samples;
	size_t nstrs, strcap, ntypes, typecap, nmaps, mapcap, nfuncs, funccap, nlocs, loccap,
	    nsamples, samplecap;
	pb period_type;
	size_t col_type[PS_PROFILE_MAX_COLS]; /* per column: its sample type */
	ps_buf typenames;
	uint64_t *comments; /* string indexes */
	size_t ncomments, commentcap;
	char **cstrs; /* per string: its copy, made on first use */
	ps_arena *arena;

	map *maps;
	func *funcs;
	loc *locs;
	ps_frame_id *pool;
	size_t npool, poolcap;
	ps_buf name;

	uint64_t *u; /* scratch: a sample's location ids, its values */
	size_t nu, ucap;
	ps_frame_id *stack;
	size_t stackcap;
	uint64_t *lines; /* scratch: a location's (function id, line) pairs */
	size_t nlines, linecap;
	ps_profile_tag *tags; /* scratch: a sample's other labels */
	size_t ntags, tagcap;
} dec;

static int bad(dec *d, const char *why)
{
	if (!d->why)
		d->why = why;
	return PS_EFORMAT;
}

static int push(pb **v, size_t *n, size_t *cap, pb sub)
{
	if (PS_GROW(*v, *cap, *n + 1))
		return -ENOMEM;
	(*v)[(*n)++] = sub;
	return 0;
}

/* String idx of the table as a C string (a NUL byte in it ends it early). */
static int str(dec *d, uint64_t idx, const char **out)
{
	if (idx >= d->nstrs) {
		if (idx == 0) { /* no table at all: index 0 is still "" */
			*out = "";
			return 0;
		}
		return bad(d, "a string index past the end of the string table");
	}
	if (!d->cstrs[idx]) {
		pb s = d->strs[idx];
		d->cstrs[idx] =
		    ps_arena_strndup(d->arena, (const char *)s.p, (size_t)(s.end - s.p));
		if (!d->cstrs[idx])
			return -ENOMEM;
	}
	*out = d->cstrs[idx];
	return 0;
}

static int check_str(dec *d, uint64_t idx)
{
	return idx < d->nstrs || idx == 0
		   ? 0
		   : bad(d, "a string index past the end of the string table");
}

/* Pass one: where everything is. */
static int scan(dec *d, pb r)
{
	field f;
	int got;
	while ((got = pb_next(&r, &f)) > 0) {
		pb **v = NULL;
		size_t *n = NULL, *cap = NULL;
		switch (f.num) {
		case PROFILE_SAMPLE_TYPE:
			v = &d->types, n = &d->ntypes, cap = &d->typecap;
			break;
		case PROFILE_SAMPLE:
			v = &d->samples, n = &d->nsamples, cap = &d->samplecap;
			break;
		case PROFILE_MAPPING:
			v = &d->maps_raw, n = &d->nmaps, cap = &d->mapcap;
			break;
		case PROFILE_LOCATION:
			v = &d->locs_raw, n = &d->nlocs, cap = &d->loccap;
			break;
		case PROFILE_FUNCTION:
			v = &d->funcs_raw, n = &d->nfuncs, cap = &d->funccap;
			break;
		case PROFILE_STRING_TABLE:
			v = &d->strs, n = &d->nstrs, cap = &d->strcap;
			break;
		case PROFILE_PERIOD_TYPE:
			if (f.wt != WT_LEN)
				return bad(d, "period_type is not a message");
			d->period_type = f.sub;
			continue;
		case PROFILE_TIME_NANOS:
		case PROFILE_DURATION_NANOS:
		case PROFILE_PERIOD:
			if (f.wt != WT_VARINT)
				return bad(
				    d, "time_nanos, duration_nanos or period is not an integer");
			if (d->info) {
				int64_t *to = f.num == PROFILE_TIME_NANOS ? &d->info->time_nanos
					      : f.num == PROFILE_DURATION_NANOS
						  ? &d->info->duration_nanos
						  : &d->info->period;
				*to = (int64_t)f.v;
			}
			continue;
		case PROFILE_COMMENT: {
			int err = pb_repeated(&f, &d->comments, &d->ncomments, &d->commentcap);
			if (err)
				return err == PS_EFORMAT ? bad(d, "a comment is not a string index")
							 : err;
			continue;
		}
		default: /* drop/keep_frames, default_sample_type, newer fields */
			continue;
		}
		if (f.wt != WT_LEN)
			return bad(d, "a sample, mapping, location, function or string is not "
				      "length-delimited");
		int err = push(v, n, cap, f.sub);
		if (err)
			return err;
	}
	return got < 0 ? bad(d, "the protobuf encoding is broken (not a pprof profile?)") : 0;
}

/* A message's fields into vals[field] for the integer fields 1..nvals (others skipped). */
static int ints(dec *d, pb r, uint64_t *vals, size_t nvals)
{
	field f;
	int got;
	while ((got = pb_next(&r, &f)) > 0) {
		if (f.num > nvals)
			continue;
		if (f.wt != WT_VARINT)
			return bad(d, "an integer field of the wrong wire type");
		vals[f.num - 1] = f.v;
	}
	return got < 0 ? bad(d, "a message's protobuf encoding is broken") : 0;
}

static int cmp_id(uint64_t a, uint64_t b) { return (a > b) - (a < b); }
static int cmp_map(const void *a, const void *b)
{
	return cmp_id(((const map *)a)->id, ((const map *)b)->id);
}
static int cmp_func(const void *a, const void *b)
{
	return cmp_id(((const func *)a)->id, ((const func *)b)->id);
}
static int cmp_loc(const void *a, const void *b)
{
	return cmp_id(((const loc *)a)->id, ((const loc *)b)->id);
}

/* The entry of id in a sorted table, or NULL. */
#define FIND(tab, n, key)                                                                          \
	({                                                                                         \
		size_t lo_ = 0, hi_ = (n);                                                         \
		__typeof__(&(tab)[0]) hit_ = NULL;                                                 \
		while (lo_ < hi_) {                                                                \
			size_t mid_ = lo_ + (hi_ - lo_) / 2;                                       \
			if ((tab)[mid_].id == (key)) {                                             \
				hit_ = &(tab)[mid_];                                               \
				break;                                                             \
			}                                                                          \
			if ((tab)[mid_].id < (key))                                                \
				lo_ = mid_ + 1;                                                    \
			else                                                                       \
				hi_ = mid_;                                                        \
		}                                                                                  \
		hit_;                                                                              \
	})

static int sort_ids(dec *d, void *tab, size_t n, size_t size,
		    int (*cmp)(const void *, const void *), const char *what)
{
	if (!n)
		return 0;
	qsort(tab, n, size, cmp);
	for (size_t i = 0; i < n; i++) {
		uint64_t id = *(const uint64_t *)((const char *)tab + i * size);
		if (id == 0 || (i && id == *(const uint64_t *)((const char *)tab + (i - 1) * size)))
			return bad(d, what);
	}
	return 0;
}

static int is_kernel(const char *path)
{
	return !strncmp(path, "[kernel", 7) || !strncmp(path, "[vmlinux", 8);
}

static int decode_maps(dec *d)
{
	d->maps = calloc(d->nmaps ? d->nmaps : 1, sizeof(*d->maps));
	if (!d->maps)
		return -ENOMEM;
	for (size_t i = 0; i < d->nmaps; i++) {
		/* id, memory_start, memory_limit, file_offset, filename, build_id,
		 * has_functions */
		uint64_t v[7] = {0};
		int err = ints(d, d->maps_raw[i], v, 7);
		const char *file, *bid;
		if (err || (err = str(d, v[4], &file)) || (err = str(d, v[5], &bid)))
			return err;
		ps_mapping m = {file, *bid ? bid : NULL, 0, 0, 0};
		if (d->o->addresses) {
			m.start = v[1];
			m.limit = v[2];
			m.pgoff = v[3];
		}
		d->maps[i].id = v[0];
		d->maps[i].kernel = is_kernel(file);
		d->maps[i].named = v[6] != 0;
		if ((err = ps_profile_mapping(d->p, &m, &d->maps[i].model)))
			return err;
	}
	return sort_ids(d, d->maps, d->nmaps, sizeof(*d->maps), cmp_map,
			"two mappings with one id, or a mapping with id 0");
}

static int decode_funcs(dec *d)
{
	d->funcs = calloc(d->nfuncs ? d->nfuncs : 1, sizeof(*d->funcs));
	if (!d->funcs)
		return -ENOMEM;
	for (size_t i = 0; i < d->nfuncs; i++) {
		/* id, name, system_name, filename, start_line */
		uint64_t v[5] = {0};
		int err = ints(d, d->funcs_raw[i], v, 5);
		if (err || (err = check_str(d, v[1])) || (err = check_str(d, v[2])) ||
		    (err = check_str(d, v[3])))
			return err;
		d->funcs[i] = (func){v[0], v[1], v[2], v[3]};
	}
	return sort_ids(d, d->funcs, d->nfuncs, sizeof(*d->funcs), cmp_func,
			"two functions with one id, or a function with id 0");
}

/* The frame of one line of a location (fn NULL: a location without lines). */
static int line_frame(dec *d, const map *m, uint64_t addr, const func *fn, int64_t line,
		      int inlined, ps_frame_id *out)
{
	const char *name = "", *file = "";
	int err = 0;
	if (fn && (err = str(d, fn->name, &name)))
		return err;
	if (fn && !*name && (err = str(d, fn->system_name, &name)))
		return err;
	if (fn && (err = str(d, fn->filename, &file)))
		return err;
	ps_frame f = {.name = name,
		      .mapping = m ? m->model : PS_MAPPING_NONE,
		      .kind = inlined	       ? PS_FRAME_INLINE
			      : m && m->kernel ? PS_FRAME_KERNEL
					       : PS_FRAME_USER};
	/* A mapping without has_functions is one pprof would symbolize again: its names are
	 * placeholders ("[vdso]"), as an unresolved frame's are. */
	f.unresolved = m && !m->named;
	if (!*name) {
		/* As pprof shows a location it cannot name: its address. */
		d->name.len = 0;
		if ((err = ps_buf_printf(&d->name, "0x%llx", (unsigned long long)addr)))
			return err;
		f.name = d->name.data;
		f.unresolved = 1;
		f.addr = addr;
	}
	if (d->o->addresses || d->o->lines) {
		f.file = *file ? file : NULL;
		f.line = line > 0 && line <= UINT32_MAX ? (uint32_t)line : 0;
	}
	if (d->o->addresses)
		f.addr = addr;
	return ps_profile_frame(d->p, &f, out);
}

static int add_pool(dec *d, ps_frame_id id)
{
	if (PS_GROW(d->pool, d->poolcap, d->npool + 1))
		return -ENOMEM;
	d->pool[d->npool++] = id;
	return 0;
}

static int decode_loc(dec *d, pb r, loc *out)
{
	uint64_t id = 0, mapping = 0, addr = 0;
	field f;
	int got, err;
	d->nlines = 0;
	while ((got = pb_next(&r, &f)) > 0) {
		if (f.num == LOCATION_LINE) {
			if (f.wt != WT_LEN)
				return bad(d, "a location's line is not a message");
			uint64_t v[2] = {0}; /* function_id, line */
			if ((err = ints(d, f.sub, v, 2)))
				return err;
			if (PS_GROW(d->lines, d->linecap, d->nlines + 2))
				return -ENOMEM;
			d->lines[d->nlines++] = v[0];
			d->lines[d->nlines++] = v[1];
			continue;
		}
		if (f.num > LOCATION_ADDRESS)
			continue;
		if (f.wt != WT_VARINT)
			return bad(d, "an integer field of the wrong wire type");
		*(f.num == LOCATION_ID ? &id : f.num == LOCATION_MAPPING_ID ? &mapping : &addr) = f.v;
	}
	if (got < 0)
		return bad(d, "a location's protobuf encoding is broken");
	const map *m = NULL;
	if (mapping && !(m = FIND(d->maps, d->nmaps, mapping)))
		return bad(d, "a location names a mapping that is not there");
	out->id = id;
	out->first = d->npool;
	/* Lines run innermost first; the frames root first: the function the others are
	 * inlined into, then each inlined one. */
	size_t n = d->nlines / 2;
	for (size_t i = n; i-- > 0;) {
		const func *fn = FIND(d->funcs, d->nfuncs, d->lines[2 * i]);
		if (!fn)
			return bad(d, "a location's line names a function that is not there");
		ps_frame_id fid;
		if ((err = line_frame(d, m, addr, fn, (int64_t)d->lines[2 * i + 1], i + 1 < n,
				      &fid)) ||
		    (err = add_pool(d, fid)))
			return err;
	}
	if (!n) {
		ps_frame_id fid;
		if ((err = line_frame(d, m, addr, NULL, 0, 0, &fid)) || (err = add_pool(d, fid)))
			return err;
	}
	out->n = d->npool - out->first;
	return 0;
}

static int decode_locs(dec *d)
{
	d->locs = calloc(d->nlocs ? d->nlocs : 1, sizeof(*d->locs));
	if (!d->locs)
		return -ENOMEM;
	for (size_t i = 0; i < d->nlocs; i++) {
		int err = decode_loc(d, d->locs_raw[i], &d->locs[i]);
		if (err)
			return err;
	}
	return sort_ids(d, d->locs, d->nlocs, sizeof(*d->locs), cmp_loc,
			"two locations with one id, or a location with id 0");
}

static void copy_name(char *to, size_t size, const char *s) { snprintf(to, size, "%s", s); }

static int decode_types(dec *d)
{
	if (ps_profile_ntypes(d->p))
		return -EINVAL;
	if (!d->ntypes)
		return bad(d, "no sample types (not a pprof profile?)");
	ps_buf dropped = {0};
	int err = 0;
	/* The chosen type first (renderers show column 0), then the others in order. */
	size_t first = SIZE_MAX;
	const char *want = d->o->sample_type;
	for (size_t i = 0; !err && i < d->ntypes; i++) {
		uint64_t v[2] = {0};
		const char *type;
		if ((err = ints(d, d->types[i], v, 2)) || (err = str(d, v[0], &type)))
			break;
		if (want && !strcmp(type, want) && first == SIZE_MAX)
			first = i;
		err = ps_buf_printf(&d->typenames, "%s%s", i ? ", " : "", type);
	}
	if (d->info)
		copy_name(d->info->types, sizeof(d->info->types),
			  d->typenames.data ? d->typenames.data : "");
	if (!err && want && first == SIZE_MAX) {
		if (d->info)
			d->info->no_such_type = 1;
		err = bad(d, "it has no such sample type");
	}
	if (first == SIZE_MAX)
		first = 0;
	for (size_t k = 0; !err && k < d->ntypes; k++) {
		size_t i = k == 0 ? first : k <= first ? k - 1 : k;
		uint64_t v[2] = {0}; /* type, unit */
		const char *type, *unit;
		if ((err = ints(d, d->types[i], v, 2)) || (err = str(d, v[0], &type)) ||
		    (err = str(d, v[1], &unit)))
			break;
		if (k < PS_PROFILE_MAX_COLS) {
			d->col_type[k] = i;
			if (ps_profile_add_type(d->p, type, unit) < 0)
				err = -ENOMEM;
			continue;
		}
		err = ps_buf_printf(&dropped, "%s%s/%s", dropped.len ? ", " : "", type, unit);
	}
	if (!err && d->info) {
		d->info->ntypes = d->ntypes;
		d->info->dropped =
		    d->ntypes > PS_PROFILE_MAX_COLS ? d->ntypes - PS_PROFILE_MAX_COLS : 0;
		copy_name(d->info->dropped_names, sizeof(d->info->dropped_names),
			  dropped.data ? dropped.data : "");
	}
	ps_buf_release(&dropped);
	if (!err && d->info && d->period_type.p) {
		uint64_t v[2] = {0};
		const char *type, *unit;
		if (!(err = ints(d, d->period_type, v, 2)) && !(err = str(d, v[0], &type)) &&
		    !(err = str(d, v[1], &unit))) {
			copy_name(d->info->period_type, sizeof(d->info->period_type), type);
			copy_name(d->info->period_unit, sizeof(d->info->period_unit), unit);
		}
	}
	return err;
}

/* perfsample's export writes the event as the comment "event: NAME" and the recording's
 * command line as another: kept for the export back. */
static int decode_comments(dec *d)
{
	for (size_t i = 0; d->info && i < d->ncomments; i++) {
		const char *s;
		int err = str(d, d->comments[i], &s);
		if (err)
			return err;
		if (!strncmp(s, "event: ", 7) && !d->info->event[0])
			copy_name(d->info->event, sizeof(d->info->event), s + 7);
		else if (!d->info->comment[0])
			copy_name(d->info->comment, sizeof(d->info->comment), s);
	}
	return 0;
}

static int decode_sample(dec *d, pb r)
{
	/* Location ids first in d->u, then values after them. */
	size_t nlocs = 0;
	uint64_t pid = 0, tid = 0, comm = 0;
	const char *key;
	field f;
	int got, err;
	/* Labels beyond comm, pid and tid go on as the sample's tags (when samples are kept:
	 * only they carry them), so a pprof -> pprof round trip keeps them. */
	int keep = !!(ps_profile_flags(d->p) & PS_PROFILE_SAMPLES);
	d->nu = 0;
	d->ntags = 0;
	pb start = r;
	/* Locations first (a message may interleave its fields): two passes. */
	while ((got = pb_next(&r, &f)) > 0)
		if (f.num == SAMPLE_LOCATION_ID && (err = pb_repeated(&f, &d->u, &d->nu, &d->ucap)))
			return err == PS_EFORMAT ? bad(d, "a sample's location ids are broken")
						 : err;
	if (got < 0)
		return bad(d, "a sample's protobuf encoding is broken");
	nlocs = d->nu;
	r = start;
	while ((got = pb_next(&r, &f)) > 0) {
		if (f.num == SAMPLE_VALUE) {
			if ((err = pb_repeated(&f, &d->u, &d->nu, &d->ucap)))
				return err == PS_EFORMAT ? bad(d, "a sample's values are broken")
							 : err;
		} else if (f.num == SAMPLE_LABEL) {
			if (f.wt != WT_LEN)
				return bad(d, "a sample's label is not a message");
			uint64_t v[4] = {0}; /* key, str, num, num_unit */
			if ((err = ints(d, f.sub, v, 4)) || (err = str(d, v[0], &key)) ||
			    (err = check_str(d, v[1])) || (err = check_str(d, v[3])))
				return err;
			if (!strcmp(key, "comm") && v[1])
				comm = v[1];
			else if (!strcmp(key, "pid") && !v[1] && !v[3] && v[2] <= UINT32_MAX)
				pid = v[2];
			else if (!strcmp(key, "tid") && !v[1] && !v[3] && v[2] <= UINT32_MAX)
				tid = v[2];
			else if (keep) {
				const char *sv = NULL, *unit = NULL;
				if ((v[1] && (err = str(d, v[1], &sv))) ||
				    (v[3] && (err = str(d, v[3], &unit))))
					return err;
				if (PS_GROW(d->tags, d->tagcap, d->ntags + 1))
					return -ENOMEM;
				d->tags[d->ntags++] = (ps_profile_tag){key, sv, (int64_t)v[2], unit};
			}
		}
	}
	size_t nvals = d->nu - nlocs;
	if (nvals != d->ntypes)
		return bad(d, "a sample has another number of values than there are sample types");
	uint64_t vals[PS_PROFILE_MAX_COLS] = {0};
	for (size_t c = 0; c < nvals && c < PS_PROFILE_MAX_COLS; c++) {
		vals[c] = d->u[nlocs + d->col_type[c]];
		if (vals[c] > INT64_MAX)
			return bad(d, "a negative sample value (a diff base profile?)");
	}
	/* The stack, root first: the process (a "comm" label, as perfsample's export and
	 * perf_to_profile write it), the last location, each one's frames in order. */
	size_t n = 0;
	if (comm) {
		const char *name;
		if ((err = str(d, comm, &name)))
			return err;
		if (PS_GROW(d->stack, d->stackcap, 1))
			return -ENOMEM;
		if ((err = ps_profile_frame_named(d->p, name, strlen(name), PS_FRAME_PROCESS,
						  &d->stack[0])))
			return err;
		n = 1;
	}
	for (size_t i = nlocs; i-- > 0;) {
		const loc *l = FIND(d->locs, d->nlocs, d->u[i]);
		if (!l)
			return bad(d, "a sample names a location that is not there");
		if (l->n > d->budget) {
			d->why = "more frames than a profile of this size can hold";
			return PS_ELIMIT;
		}
		d->budget -= l->n;
		if (PS_GROW(d->stack, d->stackcap, n + l->n))
			return -ENOMEM;
		memcpy(d->stack + n, d->pool + l->first, l->n * sizeof(*d->stack));
		n += l->n;
	}
	ps_node_id node;
	if ((err = ps_profile_stack(d->p, d->stack, n, &node)))
		return err;
	ps_profile_sample s = {.pid = (uint32_t)pid, .tid = (uint32_t)tid, .node = node};
	uint32_t tags = 0;
	if ((err = ps_profile_tag_set(d->p, d->tags, d->ntags, &tags)))
		return err;
	err = ps_profile_add_sample_tags(d->p, &s, vals, tags);
	if (err == PS_ELIMIT)
		d->why = "sample values that add up past 2^63-1";
	return err;
}

static int decode(dec *d, const uint8_t *buf, size_t len)
{
	int err = scan(d, (pb){buf, buf + len});
	if (err)
		return err;
	d->cstrs = calloc(d->nstrs ? d->nstrs : 1, sizeof(*d->cstrs));
	d->arena = ps_arena_new();
	if (!d->cstrs || !d->arena)
		return -ENOMEM;
	if (d->nstrs && d->strs[0].p != d->strs[0].end)
		return bad(d, "the string table does not start with \"\"");
	/* Every frame of a sample stands for at least one byte of the input, but a location
	 * of many lines can be named many times: allow a generous multiple, not 2^64. */
	d->budget = 16 * len + (1u << 20);
	if ((err = decode_types(d)) || (err = decode_comments(d)) || (err = decode_maps(d)) ||
	    (err = decode_funcs(d)) || (err = decode_locs(d)))
		return err;
	for (size_t i = 0; i < d->nsamples; i++)
		if ((err = decode_sample(d, d->samples[i])))
			return err;
	return 0;
}

/* ---- gzip ---- */

/* Inflates a gzip stream (of one or more members) into *out, at most max bytes. */
static int gunzip(const uint8_t *in, size_t n, size_t max, uint8_t **out, size_t *outlen,
		  const char **why)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -ENOMEM;
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, left = n;
	const uint8_t *next = in;
	int err = 0;
	for (;;) {
		if (cap - len < 65536 && PS_GROW(buf, cap, len + 65536)) {
			err = -ENOMEM;
			break;
		}
		uInt ain = left > (1u << 30) ? (1u << 30) : (uInt)left;
		uInt aout = cap - len > (1u << 30) ? (1u << 30) : (uInt)(cap - len);
		z.next_in = (Bytef *)next;
		z.avail_in = ain;
		z.next_out = buf + len;
		z.avail_out = aout;
		int zr = inflate(&z, Z_NO_FLUSH);
		next += ain - z.avail_in;
		left -= ain - z.avail_in;
		len += aout - z.avail_out;
		if (len > max) {
			*why = "the decompressed profile is larger than the limit";
			err = PS_ELIMIT;
			break;
		}
		if (zr == Z_STREAM_END) {
			if (!left)
				break;
			if (left >= 2 && next[0] == 0x1f && next[1] == 0x8b) { /* another member */
				inflateReset(&z);
				continue;
			}
			*why = "data after the end of the gzip stream";
			err = PS_EFORMAT;
			break;
		}
		if (zr == Z_MEM_ERROR) {
			err = -ENOMEM;
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			err = PS_ECORRUPT;
			break;
		}
		if (!left && z.avail_in == 0 && z.avail_out != 0) { /* wants input there is not */
			err = PS_ETRUNC;
			break;
		}
	}
	inflateEnd(&z);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int ps_pprof_read_mem(const void *data, size_t size, const ps_pprof_opts *o, ps_profile *out,
		      ps_pprof_info *info)
{
	ps_pprof_opts defaults = {0};
	if (!o)
		o = &defaults;
	size_t max = o->max_bytes ? o->max_bytes : PS_PPROF_MAX_BYTES;
	if (info)
		memset(info, 0, sizeof(*info));
	dec d = {.o = o, .info = info, .p = out};
	const uint8_t *buf = data;
	uint8_t *raw = NULL;
	size_t len = size;
	int err = 0;
	if (size > max) {
		d.why = "the profile is larger than the limit";
		err = PS_ELIMIT;
	} else if (size >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		err = gunzip(buf, size, max, &raw, &len, &d.why);
		buf = raw;
	}
	if (!err)
		err = decode(&d, buf, len);
	if (info)
		info->why = err ? d.why : NULL;
	free(raw);
	free(d.strs);
	free(d.types);
	free(d.maps_raw);
	free(d.funcs_raw);
	free(d.locs_raw);
	free(d.samples);
	free(d.cstrs);
	free(d.comments);
	free(d.tags);
	ps_buf_release(&d.typenames);
	ps_arena_free(d.arena);
	free(d.maps);
	free(d.funcs);
	free(d.locs);
	free(d.pool);
	ps_buf_release(&d.name);
	free(d.u);
	free(d.stack);
	free(d.lines);
	return err;
}

int ps_pprof_read(FILE *in, const ps_pprof_opts *o, ps_profile *out, ps_pprof_info *info)
{
	size_t max = o && o->max_bytes ? o->max_bytes : PS_PPROF_MAX_BYTES;
	ps_buf b = {0};
	int err = 0;
	for (;;) {
		if ((err = ps_buf_reserve(&b, 65536)))
			break;
		size_t got = fread(b.data + b.len, 1, b.cap - b.len, in);
		b.len += got;
		if (b.len > max) {
			if (info) {
				memset(info, 0, sizeof(*info));
				info->why = "the profile is larger than the limit";
			}
			err = PS_ELIMIT;
			break;
		}
		if (got == 0) {
			err = ferror(in) ? -EIO : 0;
			break;
		}
	}
	if (!err)
		err = ps_pprof_read_mem(b.data ? b.data : "", b.len, o, out, info);
	ps_buf_release(&b);
	return err;
}
