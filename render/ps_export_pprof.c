/* pprof's profile.proto (github.com/google/pprof, proto/profile.proto), encoded by hand and
 * gzipped. The message is small: varints and length-delimited fields only.
 *
 * The model maps onto it nearly one to one: the profile's value columns are the sample
 * types, its mappings the mappings; a location is a frame and the inlined frames above it
 * (pprof's lines, innermost first); a function is a name in a file in an object; the
 * process root (comm) is a sample label, not a location. */
#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/ps_error.h"
#include "formats/ps_pprof_proto.h"
#include "render/ps_export_int.h"


enum { WT_VARINT = 0, WT_LEN = 2 };

/* A buffer whose first error sticks, so encoding reads as a list of fields. */
typedef struct pb {
	ps_buf b;
	int err;
} pb;

static void pb_raw(pb *p, const void *d, size_t len)
{
	/* An empty message may have no buffer yet (d NULL). */
	if (len && !p->err)
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

/* A location is a chain of frames: a frame and the inlined frames above it. Chains are
 * interned as (chain below or NONE, frame). */
#define NONE UINT32_MAX
typedef struct chain {
	uint32_t below; /* the chain this one extends, or NONE for a physical frame */
	ps_frame_id frame;
	uint32_t loc; /* pprof location id, 0 until a sample uses it */
} chain;

/* One pprof sample: a node, and with kept samples the thread it ran on. */
typedef struct psample {
	ps_node_id node;
	uint32_t pid, tid;
	uint32_t tags; /* its other labels (a tag set of the model) */
	size_t vals;   /* index of its first value in enc.vals */
} psample;

typedef struct mapinfo {
	uint8_t used, functions, files, lines, inline_frames;
} mapinfo;

typedef struct enc {
	ps_xmodel *x;
	ps_profile *p;
	ps_xstrs strings; /* string_table: "" is index 0 */
	int err;

	size_t ncols, samples_col; /* the profile's columns; the one that counts samples */
	int derive_cpu;		   /* add cpu/nanoseconds = samples * period */

	chain *chains;
	size_t nchains, chaincap;
	ps_index chain_index;
	uint32_t *node_chain;  /* per node: the chain that ends at it */
	ps_node_id *node_base; /* per node: the node of its chain's physical frame */
	uint32_t *locs;	       /* chains in location id order */
	size_t nlocs, loccap;

	psample *samples;
	size_t nsamples, samplecap;
	uint64_t *vals;
	size_t valcap;
	ps_index sample_index;
	int threads; /* samples carry pid/tid */

	mapinfo *maps; /* per mapping id; the last one is the synthetic mapping */
	uint32_t synthetic;
	uint32_t *fn_id; /* per function: its pprof id, 0 for a process root (a label) */
} enc;

static uint64_t str_id(enc *e, const char *s, size_t len)
{
	uint32_t id = 0;
	int err = ps_xstrs_id(&e->strings, s ? s : "", s ? len : 0, &id);
	if (err && !e->err)
		e->err = err;
	return id;
}

static uint64_t cstr_id(enc *e, const char *s) { return str_id(e, s, s ? strlen(s) : 0); }

static void value_type(enc *e, pb *out, pb *sub, unsigned field, const char *type, const char *unit)
{
	pb_uint(sub, VALUETYPE_TYPE, cstr_id(e, type));
	pb_uint(sub, VALUETYPE_UNIT, cstr_id(e, unit));
	pb_msg(out, field, sub);
}

/* ---- locations ---- */

struct chain_key {
	const enc *e;
	uint32_t below;
	ps_frame_id frame;
};

static int chain_eq(const void *ctx, uint32_t id)
{
	const struct chain_key *k = ctx;
	const chain *c = &k->e->chains[id];
	return c->below == k->below && c->frame == k->frame;
}

static int chain_of(enc *e, uint32_t below, ps_frame_id frame, uint32_t *out)
{
	struct chain_key k = {e, below, frame};
	uint64_t h = ps_hash_u64((uint64_t)below << 32 ^ frame);
	uint32_t found = ps_index_find(&e->chain_index, h, chain_eq, &k);
	if (found != UINT32_MAX) {
		*out = found;
		return 0;
	}
	if (PS_GROW(e->chains, e->chaincap, e->nchains + 1))
		return -ENOMEM;
	int err = ps_index_insert(&e->chain_index, h, (uint32_t)e->nchains);
	if (err)
		return err;
	e->chains[e->nchains] = (chain){below, frame, 0};
	*out = (uint32_t)e->nchains++;
	return 0;
}

/* Cuts every path of the trie into locations: an inlined frame joins the chain of the
 * frame below it (the model puts it at the same address), any other frame starts one. */
static int build_chains(enc *e)
{
	ps_xmodel *x = e->x;
	e->node_chain = malloc(x->nnodes * sizeof(*e->node_chain));
	e->node_base = malloc(x->nnodes * sizeof(*e->node_base));
	if (!e->node_chain || !e->node_base)
		return -ENOMEM;
	e->node_chain[PS_NODE_ROOT] = NONE;
	e->node_base[PS_NODE_ROOT] = PS_NODE_ROOT;
	for (ps_node_id n = 1; n < x->nnodes; n++) {
		ps_node_id parent = ps_profile_node_parent(e->p, n);
		ps_frame_id f = ps_profile_node_frame(e->p, n);
		e->node_chain[n] = NONE;
		e->node_base[n] = n;
		if (x->node_proc[n])
			continue;
		uint32_t below = NONE;
		if (ps_profile_frame_at(e->p, f)->kind == PS_FRAME_INLINE &&
		    parent != PS_NODE_ROOT && !x->node_proc[parent]) {
			below = e->node_chain[parent];
			e->node_base[n] = e->node_base[parent];
		}
		int err = chain_of(e, below, f, &e->node_chain[n]);
		if (err)
			return err;
	}
	return 0;
}

/* The location id of a chain, given when a sample first names it. */
static uint64_t loc_id(enc *e, uint32_t c)
{
	if (!e->chains[c].loc) {
		if (PS_GROW(e->locs, e->loccap, e->nlocs + 1)) {
			e->err = -ENOMEM;
			return 0;
		}
		e->locs[e->nlocs++] = c;
		e->chains[c].loc = (uint32_t)e->nlocs;
	}
	return e->chains[c].loc;
}

/* The physical frame of a chain: the one that starts it. */
static const ps_frame *chain_base(const enc *e, uint32_t c)
{
	while (e->chains[c].below != NONE)
		c = e->chains[c].below;
	return ps_profile_frame_at(e->p, e->chains[c].frame);
}

/* ---- samples ---- */

struct sample_key {
	const enc *e;
	const ps_profile_sample *s;
	uint32_t tags;
};

static int sample_eq(const void *ctx, uint32_t id)
{
	const struct sample_key *k = ctx;
	const psample *a = &k->e->samples[id];
	return a->node == k->s->node && a->pid == k->s->pid && a->tid == k->s->tid &&
	       a->tags == k->tags;
}

/* Adds values to the pprof sample of (node, pid, tid, tags). */
static int sample_add(enc *e, const ps_profile_sample *s, uint32_t tags, const uint64_t *v)
{
	struct sample_key k = {e, s, tags};
	uint64_t h =
	    ps_hash_u64((uint64_t)s->node << 32 ^ ps_hash_u64((uint64_t)s->pid << 32 | s->tid)) ^
	    tags;
	uint32_t id = ps_index_find(&e->sample_index, h, sample_eq, &k);
	if (id == UINT32_MAX) {
		if (PS_GROW(e->samples, e->samplecap, e->nsamples + 1) ||
		    PS_GROW(e->vals, e->valcap, (e->nsamples + 1) * e->ncols + 1))
			return -ENOMEM;
		int err = ps_index_insert(&e->sample_index, h, (uint32_t)e->nsamples);
		if (err)
			return err;
		id = (uint32_t)e->nsamples++;
		e->samples[id] = (psample){s->node, s->pid, s->tid, tags, id * e->ncols};
		memset(e->vals + id * e->ncols, 0, e->ncols * sizeof(*e->vals));
	}
	for (size_t c = 0; c < e->ncols; c++)
		e->vals[e->samples[id].vals + c] += v[c];
	return 0;
}

/* The samples: kept ones merged by stack and thread (pprof labels them), else one per
 * stack with a value. */
static int collect_samples(enc *e)
{
	ps_profile *p = e->p;
	uint64_t v[PS_PROFILE_MAX_COLS];
	size_t n = ps_profile_nsamples(p);
	if ((ps_profile_flags(p) & PS_PROFILE_SAMPLES) && n) {
		for (size_t i = 0; i < n; i++) {
			const ps_profile_sample *s = ps_profile_sample_at(p, i);
			e->threads |= s->pid || s->tid;
		}
		for (size_t i = 0; i < n; i++) {
			ps_profile_sample s = *ps_profile_sample_at(p, i);
			if (!e->threads)
				s.pid = s.tid = 0;
			for (size_t c = 0; c < e->ncols; c++)
				v[c] = ps_profile_sample_value(p, i, c);
			int err = sample_add(e, &s, ps_profile_sample_tags(p, i), v);
			if (err)
				return err;
		}
		return 0;
	}
	/* The root too: a sample without a stack (pprof allows one) keeps its value. */
	for (ps_node_id node = 0; node < e->x->nnodes; node++) {
		int any = 0;
		for (size_t c = 0; c < e->ncols; c++)
			any |= (v[c] = ps_profile_node_self(p, node, c)) != 0;
		ps_profile_sample s = {.node = node};
		int err = any ? sample_add(e, &s, 0, v) : 0;
		if (err)
			return err;
	}
	return 0;
}

static void label_str(enc *e, pb *sub, pb *lab, const char *key, const char *s, size_t len)
{
	pb_uint(lab, LABEL_KEY, cstr_id(e, key));
	pb_uint(lab, LABEL_STR, str_id(e, s, len));
	pb_msg(sub, SAMPLE_LABEL, lab);
}

static void label_num(enc *e, pb *sub, pb *lab, const char *key, uint64_t v)
{
	/* pprof drops a numeric label of 0 without a unit; pid 0 (the idle task) has the
	 * comm "swapper" to tell it. */
	if (!v)
		return;
	pb_uint(lab, LABEL_KEY, cstr_id(e, key));
	pb_uint(lab, LABEL_NUM, v);
	pb_msg(sub, SAMPLE_LABEL, lab);
}

static void write_samples(enc *e, pb *out, pb *sub, pb *packed)
{
	ps_xmodel *x = e->x;
	for (size_t i = 0; i < e->nsamples; i++) {
		const psample *s = &e->samples[i];
		const uint64_t *v = e->vals + s->vals;
		/* pprof lists a sample's locations leaf first. */
		ps_node_id n = s->node;
		while (n != PS_NODE_ROOT && !x->node_proc[n]) {
			pb_varint(packed, loc_id(e, e->node_chain[n]));
			n = ps_profile_node_parent(e->p, e->node_base[n]);
		}
		pb_msg(sub, SAMPLE_LOCATION_ID, packed);
		for (size_t c = 0; c < e->ncols; c++)
			pb_varint(packed, v[c]);
		if (e->derive_cpu)
			pb_varint(packed, v[e->samples_col] * x->m.period_ns);
		pb_msg(sub, SAMPLE_VALUE, packed);
		if (n != PS_NODE_ROOT) {
			const ps_xfn *comm = &x->fn[x->node_fn[n]];
			label_str(e, sub, packed, "comm", comm->name, comm->namelen);
		}
		if (e->threads) {
			label_num(e, sub, packed, "pid", s->pid);
			label_num(e, sub, packed, "tid", s->tid);
		}
		size_t nt;
		const ps_profile_tag *t = ps_profile_tags(e->p, s->tags, &nt);
		for (size_t j = 0; j < nt; j++) {
			pb_uint(packed, LABEL_KEY, cstr_id(e, t[j].key));
			if (t[j].str)
				pb_uint(packed, LABEL_STR, cstr_id(e, t[j].str));
			else
				pb_uint(packed, LABEL_NUM, (uint64_t)t[j].num);
			if (t[j].unit)
				pb_uint(packed, LABEL_NUM_UNIT, cstr_id(e, t[j].unit));
			pb_msg(sub, SAMPLE_LABEL, packed);
		}
		pb_msg(out, PROFILE_SAMPLE, sub);
	}
}

/* ---- mappings, locations, functions ---- */

static void write_locations(enc *e, pb *out, pb *sub, pb *line)
{
	ps_xmodel *x = e->x;
	/* Locations come out in the order samples named them; new ones never appear here. */
	for (size_t i = 0; i < e->nlocs; i++) {
		uint32_t c = e->locs[i];
		const ps_frame *base = chain_base(e, c);
		uint32_t map = base->mapping ? base->mapping : e->synthetic;
		mapinfo *mi = &e->maps[map];
		mi->used = 1;
		pb_uint(sub, LOCATION_ID, i + 1);
		pb_uint(sub, LOCATION_MAPPING_ID, map);
		pb_uint(sub, LOCATION_ADDRESS, base->addr);
		/* Lines innermost first: the chain runs from the inlined leaf down. */
		for (uint32_t k = c; k != NONE; k = e->chains[k].below) {
			ps_frame_id fid = e->chains[k].frame;
			const ps_frame *f = ps_profile_frame_at(e->p, fid);
			mi->functions |= !f->unresolved;
			mi->files |= f->file != NULL;
			mi->lines |= f->line != 0;
			mi->inline_frames |= k != c || e->chains[k].below != NONE;
			pb_uint(line, LINE_FUNCTION_ID, e->fn_id[x->frame_fn[fid]]);
			pb_uint(line, LINE_LINE, f->line);
			pb_msg(sub, LOCATION_LINE, line);
		}
		pb_msg(out, PROFILE_LOCATION, sub);
	}
}

static void write_mapping(enc *e, pb *out, pb *sub, uint32_t id)
{
	const ps_mapping *m = ps_profile_mapping_at(e->p, id);
	const mapinfo *mi = &e->maps[id];
	pb_uint(sub, MAPPING_ID, id);
	if (m) {
		pb_uint(sub, MAPPING_MEMORY_START, m->start);
		pb_uint(sub, MAPPING_MEMORY_LIMIT, m->limit);
		pb_uint(sub, MAPPING_FILE_OFFSET, m->pgoff);
		pb_uint(sub, MAPPING_FILENAME, cstr_id(e, m->path));
		pb_uint(sub, MAPPING_BUILD_ID, cstr_id(e, m->build_id));
	} else {
		/* A bracketed name, as perf's [unknown], so pprof's "File:" header names the
		 * tool rather than an empty binary, and nothing tries to open it. */
		pb_uint(sub, MAPPING_FILENAME, cstr_id(e, "[perfsample]"));
	}
	pb_uint(sub, MAPPING_HAS_FUNCTIONS, mi->functions);
	pb_uint(sub, MAPPING_HAS_FILENAMES, mi->files);
	pb_uint(sub, MAPPING_HAS_LINE_NUMBERS, mi->lines);
	pb_uint(sub, MAPPING_HAS_INLINE_FRAMES, mi->inline_frames);
	pb_msg(out, PROFILE_MAPPING, sub);
}

/* A shared library, by the name pprof's own heuristic goes by (".so", ".so.6", ".so_2"). */
static int is_library(const char *path)
{
	for (const char *s = strstr(path, ".so"); s; s = strstr(s + 1, ".so"))
		if (!s[3] || ((s[3] == '.' || s[3] == '_') && s[4] >= '0' && s[4] <= '9'))
			return 1;
	return 0;
}

/* The profile's mappings keep their ids; frames that have none go to one synthetic
 * mapping after them. pprof takes the first mapping in the file for the main binary (its
 * "File:" header, the binary -list and -disasm read), so the first one that samples use
 * and that is neither a library nor bracketed ([kernel.kallsyms], [vdso]) goes first.
 * The has_* flags say that the mapping's locations have names, files, lines, inline frames,
 * set as pprof's own symbolizer sets them: when any of its locations does (a PLT stub or
 * _start without a line does not clear them). pprof symbolizes again only a mapping with
 * none set: one whose frames are all unresolved. */
static void write_mappings(enc *e, pb *out, pb *sub)
{
	uint32_t main_id = 0;
	for (uint32_t id = 1; id < e->synthetic && !main_id; id++) {
		const ps_mapping *m = ps_profile_mapping_at(e->p, id);
		if (e->maps[id].used && m->path && m->path[0] && m->path[0] != '[' &&
		    !is_library(m->path))
			main_id = id;
	}
	if (main_id)
		write_mapping(e, out, sub, main_id);
	for (uint32_t id = 1; id <= e->synthetic; id++)
		if (id != main_id && (id < e->synthetic || e->maps[id].used))
			write_mapping(e, out, sub, id);
}

/* Functions: name demangled, system_name as the binary spells it. Process roots are
 * labels and are left out. */
static void write_functions(enc *e, pb *out, pb *sub)
{
	ps_xmodel *x = e->x;
	for (size_t i = 0; i < x->nfn; i++) {
		const ps_xfn *f = &x->fn[i];
		if (f->process)
			continue;
		pb_uint(sub, FUNCTION_ID, e->fn_id[i]);
		pb_uint(sub, FUNCTION_NAME, str_id(e, f->name, f->namelen));
		pb_uint(sub, FUNCTION_SYSTEM_NAME, cstr_id(e, f->sysname));
		pb_uint(sub, FUNCTION_FILENAME, cstr_id(e, f->file));
		pb_msg(out, PROFILE_FUNCTION, sub);
	}
}

static void enc_release(enc *e)
{
	ps_xstrs_release(&e->strings);
	free(e->chains);
	ps_index_release(&e->chain_index);
	free(e->node_chain);
	free(e->node_base);
	free(e->locs);
	free(e->samples);
	free(e->vals);
	ps_index_release(&e->sample_index);
	free(e->maps);
	free(e->fn_id);
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
	ps_xmodel x;
	enc e;
	pb prof = {0}, sub = {0}, sub2 = {0};
	memset(&e, 0, sizeof(e));
	int err = ps_xmodel_build(&x, p, m);
	if (err)
		goto out;
	e.x = &x;
	e.p = p;
	e.ncols = ps_profile_ntypes(p);
	e.synthetic = (uint32_t)ps_profile_nmappings(p) + 1;
	e.maps = calloc((size_t)e.synthetic + 1, sizeof(*e.maps));
	e.fn_id = calloc(x.nfn ? x.nfn : 1, sizeof(*e.fn_id));
	if (!e.maps || !e.fn_id) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0, id = 0; i < x.nfn; i++)
		e.fn_id[i] = x.fn[i].process ? 0 : (uint32_t)++id;
	/* samples/count then cpu/nanoseconds when the period is known: the last type is
	 * pprof's default and what `go tool pprof` users expect of a CPU profile. */
	int sc = ps_profile_find_type(p, "samples");
	uint64_t cpu_total;
	e.samples_col = sc < 0 ? 0 : (size_t)sc;
	e.derive_cpu = x.m.period_ns && sc >= 0 && ps_profile_find_type(p, "cpu") < 0 &&
		       !__builtin_mul_overflow(ps_profile_total(p, e.samples_col), x.m.period_ns,
					       &cpu_total) &&
		       cpu_total <= INT64_MAX;
	cstr_id(&e, "");
	if ((err = build_chains(&e)) || (err = collect_samples(&e)))
		goto out;

	for (size_t c = 0; c < e.ncols; c++) {
		const char *unit;
		const char *type = ps_profile_type(p, c, &unit);
		value_type(&e, &prof, &sub, PROFILE_SAMPLE_TYPE, type, unit);
	}
	if (e.derive_cpu)
		value_type(&e, &prof, &sub, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
	write_samples(&e, &prof, &sub, &sub2);
	write_locations(&e, &prof, &sub, &sub2);
	write_mappings(&e, &prof, &sub);
	write_functions(&e, &prof, &sub);
	pb_uint(&prof, PROFILE_TIME_NANOS, x.m.start_ns);
	pb_uint(&prof, PROFILE_DURATION_NANOS, x.m.duration_ns);
	if (x.m.period_type) {
		value_type(&e, &prof, &sub, PROFILE_PERIOD_TYPE, x.m.period_type,
			   x.m.period_unit ? x.m.period_unit : "");
		pb_uint(&prof, PROFILE_PERIOD, (uint64_t)x.m.period);
	} else if (x.m.period_ns) {
		value_type(&e, &prof, &sub, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
		pb_uint(&prof, PROFILE_PERIOD, x.m.period_ns);
	}
	/* The event and title travel as comments (pprof -comments). */
	ps_buf c = {0};
	err = x.m.no_event_comment ? 0 : ps_buf_printf(&c, "event: %s", x.m.event);
	if (!err && !x.m.no_event_comment)
		pb_uint(&prof, PROFILE_COMMENT, str_id(&e, c.data, c.len));
	ps_buf_release(&c);
	if (!err && x.m.name)
		pb_uint(&prof, PROFILE_COMMENT, cstr_id(&e, x.m.name));
	/* The string table goes last: every field above has interned what it names. */
	for (size_t i = 0; i < e.strings.n; i++)
		pb_bytes(&prof, PROFILE_STRING_TABLE, e.strings.v[i].s, e.strings.v[i].len);

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
	enc_release(&e);
	ps_xmodel_release(&x);
	return err;
}
