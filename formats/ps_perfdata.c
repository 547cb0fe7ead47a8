/* Reading perf.data. The layout (tools/perf/Documentation/perf.data-file-format.txt):
 *
 *   file mode: perf_file_header { magic "PERFILE2", size, attr_size, attrs, data,
 *              event_types sections, feature bitmap }; attrs are perf_event_attr + an ids
 *              section each; records fill the data section; after it, one section per
 *              feature bit set (hostname, cmdline, build-ids, event names, ...).
 *   pipe mode: { magic, size 16 }, then records only: HEADER_ATTR, EVENT_UPDATE,
 *              HEADER_FEATURE and HEADER_BUILD_ID carry what the file mode's sections do.
 *
 * Kernel records go through ps_kevent. perf writes each CPU's ring in turn, so records
 * are ordered as perf orders them: queued, and at each FINISHED_ROUND the ones up to the
 * previous round's latest time are delivered in time order. */
#include "formats/ps_perfdata.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "formats/ps_error.h"
#include "formats/ps_kevent.h"
#include "formats/ps_util.h"

#define MAGIC_FILE "PERFILE2"
#define PIPE_HDR_SIZE 16
#define FILE_HDR_SIZE 104
#define MAX_ATTRS 256
#define MAX_IDS (1u << 20)
#define MAX_FEATURE (16u << 20)     /* bytes of one feature section we read */
#define MAX_DECOMP (64u << 20)      /* bytes one compressed record may expand to */
#define MAX_QUEUE (128u << 20)      /* bytes of records waiting for their round */
#define MAX_CHAIN 4096              /* call-chain entries kept, as in the trace writer */

/* perf's own record types (tools/lib/perf/include/perf/event.h). */
enum {
	REC_HEADER_ATTR = 64,
	REC_EVENT_TYPE = 65,
	REC_TRACING_DATA = 66,
	REC_HEADER_BUILD_ID = 67,
	REC_FINISHED_ROUND = 68,
	REC_AUXTRACE = 71,
	REC_EVENT_UPDATE = 78,
	REC_HEADER_FEATURE = 80,
	REC_COMPRESSED = 81,
	REC_COMPRESSED2 = 83,
};
/* Feature bits (tools/perf/util/header.h). */
enum {
	FEAT_BUILD_ID = 2,
	FEAT_HOSTNAME = 3,
	FEAT_OSRELEASE = 4,
	FEAT_VERSION = 5,
	FEAT_NRCPUS = 7,
	FEAT_CMDLINE = 11,
	FEAT_EVENT_DESC = 12,
	FEAT_MAX = 256,
};
#define MISC_BUILD_ID_SIZE (1 << 15) /* a HEADER_BUILD_ID record's size byte is valid */
#define EVENT_UPDATE_NAME 1

struct attr {
	struct perf_event_attr a;
	ps_kattr k;
	char *name; /* from EVENT_DESC or EVENT_UPDATE; NULL until known */
};

struct idmap {
	uint64_t id;
	uint32_t attr;
};

struct buildid {
	char *path;
	uint8_t size;
	uint8_t id[20];
};

/* A record waiting for its round: its bytes live in a queue buffer at off. */
struct item {
	uint64_t time, seq;
	size_t off;
	uint32_t size;
	uint32_t attr; /* the attr that wrote it (attr_of once, when queued) */
};

struct ps_perfdata {
	int fd; /* -1 for memory */
	const unsigned char *mem;
	uint64_t size;
	int pipe;
	uint64_t data_start, data_end, pos;
	int complete; /* the header was finished by perf (data size written) */

	struct attr *attrs;
	size_t nattrs;
	struct idmap *ids;
	size_t nids, ids_cap;
	size_t selected;

	struct buildid *bids;
	size_t nbids, bids_cap;
	char *hostname, *release, *version, *cmdline, *ncpus, *kernel_bid;

	ps_arena *arena; /* metadata strings */
	ps_kv meta[16];
	size_t nmeta;

	ps_buf rbuf; /* the record being read, aligned */
	ZSTD_DStream *zd;
	ps_buf dec;      /* decompressed bytes not yet split into records */
	size_t dec_pos;

	ps_buf qbytes; /* queued records */
	struct item *q;
	size_t nq, qcap;
	ps_buf obytes; /* records of a flushed round, delivered in order */
	struct item *out;
	size_t nout, outcap, opos;
	uint64_t seq, max_time, next_flush;
	int eof;
	int headers_read; /* pipe mode: attrs, names and features were taken in at open */
	int scanning;     /* pipe mode, at open: perf's own records only, the rest skipped */

	ps_trace_unwind unwind; /* unwind.unwind NULL: none */
	uint64_t regs[64];
	ps_stats stats; /* counted as records are delivered, given as STATS at the end */
	int stats_given;
	uint64_t chain[MAX_CHAIN + 2];
	uint64_t chunk;
	ps_trace_status st;
};

int ps_perfdata_is(const void *head, size_t n)
{
	return n >= 8 && !memcmp(head, MAGIC_FILE, 8);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Reads len bytes at off into dst: 0, PS_ETRUNC when the file ends first, or < 0. */
static int src_read(ps_perfdata *p, uint64_t off, void *dst, size_t len)
{
	if (off > p->size || len > p->size - off)
		return PS_ETRUNC;
	if (p->fd < 0) {
		memcpy(dst, p->mem + off, len);
		return 0;
	}
	ssize_t n = ps_pread_full(p->fd, dst, len, off);
	return n < 0 ? (int)n : (size_t)n < len ? PS_ETRUNC : 0;
}

/* Reads a whole section into a fresh buffer (NUL-terminated for string parsing). */
static int read_section(ps_perfdata *p, uint64_t off, uint64_t size, unsigned char **out)
{
	*out = NULL;
	if (size > MAX_FEATURE)
		return PS_ELIMIT;
	unsigned char *b = malloc((size_t)size + 1);
	if (!b)
		return -ENOMEM;
	int err = src_read(p, off, b, (size_t)size);
	if (err) {
		free(b);
		return err == PS_ETRUNC ? PS_ECORRUPT : err;
	}
	b[size] = 0;
	*out = b;
	return 0;
}

static char *dup_bounded(const unsigned char *s, size_t max)
{
	size_t n = strnlen((const char *)s, max);
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* ---- attrs and ids ---- */

static int add_attr(ps_perfdata *p, const unsigned char *a, size_t avail)
{
	if (p->nattrs >= MAX_ATTRS)
		return PS_ELIMIT;
	if (avail < PERF_ATTR_SIZE_VER0)
		return PS_ECORRUPT;
	uint32_t asize = get32(a + 4);
	if (asize == 0)
		asize = PERF_ATTR_SIZE_VER0; /* perf's reading of very old files */
	if (asize < PERF_ATTR_SIZE_VER0 || asize > avail)
		return PS_ECORRUPT;
	struct attr *na = realloc(p->attrs, (p->nattrs + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	p->attrs = na;
	struct attr *t = &na[p->nattrs++];
	memset(t, 0, sizeof(*t));
	/* Newer fields of a longer attr are ignored; an older, shorter one reads as zeros. */
	memcpy(&t->a, a, asize < sizeof(t->a) ? asize : sizeof(t->a));
	t->a.size = sizeof(t->a);
	ps_kattr_from(&t->k, &t->a);
	return 0;
}

static int add_id(ps_perfdata *p, uint64_t id, uint32_t attr)
{
	if (p->nids >= MAX_IDS)
		return PS_ELIMIT;
	if (PS_GROW(p->ids, p->ids_cap, p->nids + 1))
		return -ENOMEM;
	p->ids[p->nids++] = (struct idmap){id, attr};
	return 0;
}

/* Which attr wrote a record: the only one, or the one its id belongs to. */
static int attr_of(ps_perfdata *p, const void *rec, size_t size, size_t *which)
{
	if (p->nattrs == 1) {
		*which = 0;
		return 1;
	}
	uint64_t id;
	if (!ps_kevent_id(&p->attrs[0].k, rec, size, &id))
		return 0;
	for (size_t i = 0; i < p->nids; i++)
		if (p->ids[i].id == id) {
			*which = p->ids[i].attr;
			return 1;
		}
	return 0;
}

/* ---- features ---- */

/* A perf_header_string: u32 len, then len bytes holding a NUL-terminated string. */
static const unsigned char *header_string(const unsigned char *b, const unsigned char *end,
					  char **out)
{
	if (end - b < 4)
		return NULL;
	uint32_t len = get32(b);
	b += 4;
	if (len > (size_t)(end - b))
		return NULL;
	*out = dup_bounded(b, len);
	return *out ? b + len : NULL;
}

/* An all-zero build-id names no file: taken as none, it cannot make the right file look
 * wrong. */
static int zero_id(const uint8_t *id, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (id[i])
			return 0;
	return 1;
}

static int add_buildid(ps_perfdata *p, const char *path, const uint8_t *id, uint8_t size)
{
	if (size == 0 || zero_id(id, size > 20 ? 20 : size))
		return 0;
	if (p->nbids >= MAX_IDS)
		return PS_ELIMIT;
	if (PS_GROW(p->bids, p->bids_cap, p->nbids + 1))
		return -ENOMEM;
	struct buildid *b = &p->bids[p->nbids];
	b->path = strdup(path);
	if (!b->path)
		return -ENOMEM;
	b->size = size > 20 ? 20 : size;
	memcpy(b->id, id, 20);
	p->nbids++;
	return 0;
}

/* One build-id record: header, pid, build_id[24] (20 bytes, then a size byte when misc
 * says so), filename. */
static int take_buildid(ps_perfdata *p, const unsigned char *r, size_t len)
{
	if (len < 8 + 4 + 24 + 1)
		return PS_ECORRUPT;
	uint16_t misc;
	memcpy(&misc, r + 4, 2);
	const unsigned char *bid = r + 12;
	uint8_t size = (misc & MISC_BUILD_ID_SIZE) ? bid[20] : 20;
	char *name = dup_bounded(r + 36, len - 36);
	if (!name)
		return -ENOMEM;
	int err = 0;
	if (!strcmp(name, "[kernel.kallsyms]")) {
		/* The kernel's build-id: a reader on the same kernel may use its kallsyms. */
		free(p->kernel_bid);
		p->kernel_bid = malloc(2 * 20 + 1);
		if (!p->kernel_bid)
			err = -ENOMEM;
		for (unsigned i = 0; !err && i < size && i < 20; i++)
			sprintf(p->kernel_bid + 2 * i, "%02x", bid[i]);
	} else {
		err = add_buildid(p, name, bid, size);
	}
	free(name);
	return err;
}

static int parse_feature(ps_perfdata *p, int feat, const unsigned char *b, size_t len)
{
	const unsigned char *end = b + len;
	switch (feat) {
	case FEAT_HOSTNAME:
		free(p->hostname);
		return header_string(b, end, &p->hostname) ? 0 : PS_ECORRUPT;
	case FEAT_OSRELEASE:
		free(p->release);
		return header_string(b, end, &p->release) ? 0 : PS_ECORRUPT;
	case FEAT_VERSION:
		free(p->version);
		return header_string(b, end, &p->version) ? 0 : PS_ECORRUPT;
	case FEAT_NRCPUS:
		if (len < 8)
			return PS_ECORRUPT;
		free(p->ncpus);
		if (asprintf(&p->ncpus, "%u", get32(b + 4)) < 0) /* online CPUs */
			return -ENOMEM;
		return 0;
	case FEAT_CMDLINE: {
		if (len < 4)
			return PS_ECORRUPT;
		uint32_t nr = get32(b);
		b += 4;
		ps_buf s = {0};
		for (uint32_t i = 0; i < nr; i++) {
			char *arg;
			if (!(b = header_string(b, end, &arg))) {
				ps_buf_release(&s);
				return PS_ECORRUPT;
			}
			int err = (i ? ps_buf_add(&s, " ", 1) : 0) || ps_buf_addstr(&s, arg);
			free(arg);
			if (err) {
				ps_buf_release(&s);
				return -ENOMEM;
			}
		}
		if (ps_buf_add(&s, "", 1)) {
			ps_buf_release(&s);
			return -ENOMEM;
		}
		free(p->cmdline);
		p->cmdline = s.data;
		return 0;
	}
	case FEAT_EVENT_DESC: {
		/* u32 nr, u32 attr_size, then per event: attr, u32 nr_ids, name, ids. Events come
		 * in the order of the attrs section. */
		if (len < 8)
			return PS_ECORRUPT;
		uint32_t nr = get32(b), asz = get32(b + 4);
		b += 8;
		for (uint32_t i = 0; i < nr; i++) {
			if ((size_t)(end - b) < (size_t)asz + 4)
				return PS_ECORRUPT;
			b += asz;
			uint32_t nids = get32(b);
			b += 4;
			char *name;
			if (!(b = header_string(b, end, &name)))
				return PS_ECORRUPT;
			if (i < p->nattrs && !p->attrs[i].name)
				p->attrs[i].name = name;
			else
				free(name);
			if ((size_t)(end - b) / 8 < nids)
				return PS_ECORRUPT;
			b += (size_t)nids * 8;
		}
		return 0;
	}
	case FEAT_BUILD_ID:
		/* Build-id records back to back, each sized by its header. */
		while (end - b >= 8) {
			uint16_t rsize;
			memcpy(&rsize, b + 6, 2);
			if (rsize < 8 || rsize > (size_t)(end - b))
				return PS_ECORRUPT;
			int err = take_buildid(p, b, rsize);
			if (err)
				return err;
			b += rsize;
		}
		return 0;
	default:
		return 0; /* topology, caches, PMU mappings: nothing a profile needs */
	}
}

/* ---- the file header ---- */

static int read_file_header(ps_perfdata *p)
{
	unsigned char h[FILE_HDR_SIZE];
	int err = src_read(p, 0, h, 16);
	if (err)
		return err == PS_ETRUNC ? PS_EFORMAT : err;
	uint64_t hsize = get64(h + 8);
	if (hsize == PIPE_HDR_SIZE) {
		p->pipe = 1;
		p->data_start = p->pos = PIPE_HDR_SIZE;
		p->data_end = p->size;
		p->complete = 1; /* a pipe has no header to finish; its end is the file's */
		return 0;
	}
	if (hsize < FILE_HDR_SIZE || hsize > p->size)
		return PS_EFORMAT;
	if ((err = src_read(p, 0, h, FILE_HDR_SIZE)))
		return err;
	uint64_t attr_size = get64(h + 16);
	uint64_t attrs_off = get64(h + 24), attrs_size = get64(h + 32);
	uint64_t data_off = get64(h + 40), data_size = get64(h + 48);
	const unsigned char *bits = h + 72;
	if (data_off > p->size || attrs_off > p->size || attrs_size > p->size - attrs_off)
		return PS_ECORRUPT;
	/* perf writes the data size when it finishes; a killed perf leaves 0: read to EOF. */
	p->complete = data_size != 0;
	if (data_size == 0 || data_size > p->size - data_off)
		data_size = p->size - data_off;
	p->data_start = p->pos = data_off;
	p->data_end = data_off + data_size;

	/* Attrs: perf_event_attr (attr_size - 16 bytes) and the section of its ids. */
	if (attr_size < PERF_ATTR_SIZE_VER0 + 16 || attr_size > 4096 || attrs_size % attr_size)
		return PS_ECORRUPT;
	if (attrs_size / attr_size > MAX_ATTRS)
		return PS_ELIMIT;
	if (attrs_size == 0)
		return PS_EFORMAT; /* no events: nothing was recorded */
	unsigned char *ab;
	if ((err = read_section(p, attrs_off, attrs_size, &ab)))
		return err;
	for (uint64_t off = 0; !err && off < attrs_size; off += attr_size) {
		const unsigned char *e = ab + off;
		size_t asz = (size_t)attr_size - 16;
		if ((err = add_attr(p, e, asz)))
			break;
		uint64_t ids_off = get64(e + asz), ids_size = get64(e + asz + 8);
		if (ids_size % 8 || ids_size / 8 > MAX_IDS) {
			err = PS_ECORRUPT;
			break;
		}
		unsigned char *idb;
		if (ids_size && (err = read_section(p, ids_off, ids_size, &idb)))
			break;
		for (uint64_t i = 0; ids_size && !err && i < ids_size / 8; i++)
			err = add_id(p, get64(idb + 8 * i), (uint32_t)(p->nattrs - 1));
		if (ids_size)
			free(idb);
	}
	free(ab);
	if (err)
		return err;

	/* Feature sections: one perf_file_section per bit set, after the data section. A
	 * file whose features cannot be read is still read for its samples. */
	uint64_t fpos = get64(h + 40) + get64(h + 48);
	for (int f = 1; f < FEAT_MAX; f++) {
		if (!(bits[f / 8] & (1u << (f % 8))))
			continue;
		unsigned char sec[16];
		if (src_read(p, fpos, sec, 16))
			break;
		fpos += 16;
		uint64_t off = get64(sec), size = get64(sec + 8);
		if (f != FEAT_BUILD_ID && f != FEAT_HOSTNAME && f != FEAT_OSRELEASE &&
		    f != FEAT_VERSION && f != FEAT_NRCPUS && f != FEAT_CMDLINE &&
		    f != FEAT_EVENT_DESC)
			continue;
		unsigned char *fb;
		if (read_section(p, off, size, &fb))
			continue;
		err = parse_feature(p, f, fb, (size_t)size);
		free(fb);
		if (err == -ENOMEM)
			return err;
		err = 0;
	}
	return 0;
}

/* ---- metadata ---- */

static const char *event_name(ps_perfdata *p, size_t i, char *tmp, size_t n)
{
	const struct attr *t = &p->attrs[i];
	if (t->name)
		return t->name;
	static const char *sw[] = {"cpu-clock", "task-clock", "page-faults", "context-switches",
				   "cpu-migrations", "minor-faults", "major-faults"};
	static const char *hw[] = {"cycles", "instructions", "cache-references", "cache-misses",
				   "branches", "branch-misses"};
	if (t->a.type == PERF_TYPE_SOFTWARE && t->a.config < sizeof(sw) / sizeof(*sw))
		return sw[t->a.config];
	if (t->a.type == PERF_TYPE_HARDWARE && t->a.config < sizeof(hw) / sizeof(*hw))
		return hw[t->a.config];
	snprintf(tmp, n, "%u:%llu", t->a.type, (unsigned long long)t->a.config);
	return tmp;
}

static int set_meta(ps_perfdata *p, const char *key, const char *value)
{
	if (!value || p->nmeta >= sizeof(p->meta) / sizeof(*p->meta))
		return 0;
	char *v = ps_arena_strndup(p->arena, value, strlen(value));
	if (!v)
		return -ENOMEM;
	p->meta[p->nmeta++] = (ps_kv){key, v};
	return 0;
}

static int build_meta(ps_perfdata *p)
{
	ps_arena_free(p->arena);
	p->nmeta = 0;
	if (!(p->arena = ps_arena_new()))
		return -ENOMEM;
	const struct attr *t = &p->attrs[p->selected];
	char tmp[64], freq[32], period[32], version[80];
	ps_buf events = {0};
	int err = 0;
	for (size_t i = 0; !err && i < p->nattrs; i++)
		err = (i ? ps_buf_add(&events, ",", 1) : 0) ||
		      ps_buf_addstr(&events, event_name(p, i, tmp, sizeof(tmp)));
	err = err || ps_buf_add(&events, "", 1);
	snprintf(freq, sizeof(freq), "%llu", t->a.freq ? (unsigned long long)t->a.sample_freq : 0);
	snprintf(period, sizeof(period), "%llu",
		 t->a.freq ? 0 : (unsigned long long)t->a.sample_period);
	snprintf(version, sizeof(version), "perf %s", p->version ? p->version : "(unknown)");
	uint64_t st = t->a.sample_type;
	const char *cg = (st & PERF_SAMPLE_STACK_USER) ? "dwarf"
			 : (st & PERF_SAMPLE_CALLCHAIN) ? "fp"
							 : "none";
	err = err || set_meta(p, "format", p->pipe ? "perf.data (pipe)" : "perf.data") ||
	      set_meta(p, "version", version) || set_meta(p, "cmdline", p->cmdline) ||
	      set_meta(p, "event", event_name(p, p->selected, tmp, sizeof(tmp))) ||
	      set_meta(p, "events", events.data) || set_meta(p, "freq", freq) ||
	      set_meta(p, "period", period) ||
	      /* perf's default clock is perf_clock (sched_clock), not CLOCK_MONOTONIC. */
	      set_meta(p, "clock", t->a.use_clockid && t->a.clockid == 1 ? "monotonic" : "perf") ||
	      set_meta(p, "hostname", p->hostname) || set_meta(p, "release", p->release) ||
	      set_meta(p, "kernel_build_id", p->kernel_bid) || set_meta(p, "ncpus", p->ncpus) ||
	      set_meta(p, "callgraph", cg);
	ps_buf_release(&events);
	return err ? -ENOMEM : 0;
}

/* ---- opening ---- */

static int init(ps_perfdata *p)
{
	int err = read_file_header(p);
	if (err)
		return err;
	if (p->pipe) {
		/* Attrs, names and features are records in the stream (build-ids at its end):
		 * one pass over perf's own records for them, skipping kernel records and
		 * compressed ones unread and undecoded, then start over. */
		ps_event ev;
		p->scanning = 1;
		while ((err = ps_perfdata_next(p, &ev)) > 0)
			;
		p->scanning = 0;
		if (err < 0)
			return err;
		if (p->nattrs == 0)
			return PS_EFORMAT;
		p->headers_read = 1;
	}
	err = ps_perfdata_rewind(p);
	return err ? err : build_meta(p);
}

static int open_common(ps_perfdata **out, ps_perfdata *p)
{
	p->zd = ZSTD_createDStream();
	int err = p->zd ? init(p) : -ENOMEM;
	if (err) {
		ps_perfdata_close(p);
		*out = NULL;
		return err;
	}
	*out = p;
	return 0;
}

int ps_perfdata_open_fd(ps_perfdata **out, int fd, uint64_t size)
{
	ps_perfdata *p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->fd = fd;
	p->size = size;
	return open_common(out, p);
}

int ps_perfdata_open_mem(ps_perfdata **out, const void *data, size_t size)
{
	ps_perfdata *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = -1;
	p->mem = data;
	p->size = size;
	return open_common(out, p);
}

void ps_perfdata_close(ps_perfdata *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	for (size_t i = 0; i < p->nattrs; i++)
		free(p->attrs[i].name);
	free(p->attrs);
	free(p->ids);
	for (size_t i = 0; i < p->nbids; i++)
		free(p->bids[i].path);
	free(p->bids);
	free(p->hostname);
	free(p->release);
	free(p->version);
	free(p->cmdline);
	free(p->ncpus);
	free(p->kernel_bid);
	ps_arena_free(p->arena);
	ps_buf_release(&p->rbuf);
	ZSTD_freeDStream(p->zd);
	ps_buf_release(&p->dec);
	ps_buf_release(&p->qbytes);
	ps_buf_release(&p->obytes);
	free(p->q);
	free(p->out);
	free(p);
}

int ps_perfdata_select_event(ps_perfdata *p, const char *name)
{
	char tmp[64];
	for (size_t i = 0; i < p->nattrs; i++)
		if (!strcmp(event_name(p, i, tmp, sizeof(tmp)), name)) {
			p->selected = i;
			return build_meta(p);
		}
	return PS_EFORMAT;
}

const char *ps_perfdata_meta(const ps_perfdata *p, const char *key)
{
	for (size_t i = 0; i < p->nmeta; i++)
		if (!strcmp(p->meta[i].key, key))
			return p->meta[i].value;
	return NULL;
}
size_t ps_perfdata_nmeta(const ps_perfdata *p) { return p->nmeta; }
ps_kv ps_perfdata_meta_at(const ps_perfdata *p, size_t i) { return p->meta[i]; }
ps_trace_status ps_perfdata_status(const ps_perfdata *p) { return p->st; }

int ps_perfdata_rewind(ps_perfdata *p)
{
	p->pos = p->data_start;
	p->dec.len = p->dec_pos = 0;
	p->qbytes.len = p->obytes.len = 0;
	p->nq = p->nout = p->opos = 0;
	p->seq = p->max_time = p->next_flush = 0;
	p->eof = 0;
	memset(&p->stats, 0, sizeof(p->stats));
	p->stats_given = 0;
	memset(&p->st, 0, sizeof(p->st));
	p->st.complete = p->complete;
	if (p->unwind.reset)
		p->unwind.reset(p->unwind.ctx);
	if (ZSTD_isError(ZSTD_DCtx_reset(p->zd, ZSTD_reset_session_only)))
		return PS_EZSTD;
	return 0;
}

void ps_perfdata_set_unwind(ps_perfdata *p, const ps_trace_unwind *u)
{
	memset(&p->unwind, 0, sizeof(p->unwind));
	if (u)
		p->unwind = *u;
}

int ps_perfdata_has_stack_copies(const ps_perfdata *p)
{
	uint64_t need = PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	return (p->attrs[p->selected].k.sample_type & need) == need;
}

/* The sample's user registers in the order the unwinder takes them (its mask's bit
 * order, from the file's); 0 when the file lacks one it needs. */
static int pick_regs(ps_perfdata *p, const ps_kattr *k, const ps_ksample *s)
{
	uint64_t want = p->unwind.regs_mask, have = k->regs_user_mask;
	if ((want & have) != want || !s->regs)
		return 0;
	uint32_t in = 0, out = 0;
	for (int bit = 0; bit < 64; bit++) {
		if (!(have & (1ull << bit)))
			continue;
		if (want & (1ull << bit))
			p->regs[out++] = s->regs[in];
		in++;
	}
	return 1;
}

/* ---- the ordered queue ---- */

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Moves the queued records with time <= limit (all of them when all) to the output, in
 * time order; the rest stay queued, behind what the output still holds. */
static int flush(ps_perfdata *p, uint64_t limit, int all)
{
	if (p->nq)
		qsort(p->q, p->nq, sizeof(*p->q), cmp_item);
	size_t n = 0;
	while (n < p->nq && (all || p->q[n].time <= limit))
		n++;
	if (p->opos == p->nout) {
		p->obytes.len = 0;
		p->nout = p->opos = 0;
	} /* else a second round in one read: append behind what is not delivered yet */
	if (n && PS_GROW(p->out, p->outcap, p->nout + n))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct item it = p->q[i];
		size_t off = p->obytes.len;
		if (ps_buf_add(&p->obytes, p->qbytes.data + it.off, (it.size + 7) & ~7u))
			return -ENOMEM;
		it.off = off;
		p->out[p->nout++] = it;
	}
	/* The rest move to the front of a compacted queue. */
	ps_buf keep = {0};
	size_t k = 0;
	for (size_t i = n; i < p->nq; i++) {
		struct item it = p->q[i];
		size_t off = keep.len;
		if (ps_buf_add(&keep, p->qbytes.data + it.off, (it.size + 7) & ~7u)) {
			ps_buf_release(&keep);
			return -ENOMEM;
		}
		it.off = off;
		p->q[k++] = it;
	}
	ps_buf_release(&p->qbytes);
	p->qbytes = keep;
	p->nq = k;
	return 0;
}

static int enqueue(ps_perfdata *p, const unsigned char *rec, uint32_t size, uint64_t time,
		   uint32_t attr)
{
	if (PS_GROW(p->q, p->qcap, p->nq + 1))
		return -ENOMEM;
	size_t off = p->qbytes.len;
	static const unsigned char zero[8];
	if (ps_buf_add(&p->qbytes, rec, size) || ps_buf_add(&p->qbytes, zero, (8 - size % 8) % 8))
		return -ENOMEM;
	p->q[p->nq++] = (struct item){time, p->seq++, off, size, attr};
	if (time > p->max_time)
		p->max_time = time;
	return 0;
}

/* ---- records ---- */

/* A kernel record's time: its own, or (without one) the latest seen, so it keeps its
 * place among its neighbours. Read where the layout puts it: the record is decoded once,
 * when it is delivered. */
static uint64_t record_time(ps_perfdata *p, size_t which, const unsigned char *rec,
			    uint32_t size)
{
	uint64_t t = 0;
	if (ps_kevent_time(&p->attrs[which].k, rec, size, &t))
		return t;
	return p->attrs[which].k.sample_type & PERF_SAMPLE_TIME ? 0 : p->max_time;
}

static int process(ps_perfdata *p, const unsigned char *rec, uint32_t size, int nested);

/* Decompresses a COMPRESSED(2) payload and processes the whole records it completes. */
static int decompress(ps_perfdata *p, const unsigned char *z, size_t zlen)
{
	/* Drop what earlier payloads consumed; keep a record cut at their end. */
	if (p->dec_pos) {
		memmove(p->dec.data, p->dec.data + p->dec_pos, p->dec.len - p->dec_pos);
		p->dec.len -= p->dec_pos;
		p->dec_pos = 0;
	}
	ZSTD_inBuffer in = {z, zlen, 0};
	size_t produced = 0;
	while (in.pos < in.size) {
		if (ps_buf_reserve(&p->dec, 1 << 20))
			return -ENOMEM;
		ZSTD_outBuffer o = {p->dec.data + p->dec.len, p->dec.cap - p->dec.len, 0};
		size_t r = ZSTD_decompressStream(p->zd, &o, &in);
		if (ZSTD_isError(r))
			return PS_EZSTD;
		p->dec.len += o.pos;
		produced += o.pos;
		if (produced > MAX_DECOMP)
			return PS_ELIMIT; /* far more than perf's ring could have held */
		if (o.pos == 0 && in.pos < in.size && o.size > 0)
			return PS_EZSTD;
	}
	/* Whole records out of the decompressed bytes; a partial one waits for the next. */
	while (p->dec.len - p->dec_pos >= 8) {
		unsigned char *r = (unsigned char *)p->dec.data + p->dec_pos;
		uint16_t rsize;
		memcpy(&rsize, r + 6, 2);
		if (rsize < 8)
			return PS_ECORRUPT;
		if (rsize > p->dec.len - p->dec_pos)
			break;
		/* Records in the stream are not 8-byte aligned (COMPRESSED is not): copy. */
		p->rbuf.len = 0;
		if (ps_buf_add(&p->rbuf, r, rsize))
			return -ENOMEM;
		p->dec_pos += rsize;
		int err = process(p, (unsigned char *)p->rbuf.data, rsize, 1);
		if (err)
			return err;
	}
	return 0;
}

/* COMPRESSED2's payload. perf 6.16 can overflow the u16 header.size (the aligned size of
 * a payload near or past 64 KiB): then data_size is right, the record has no padding, and
 * a payload past one sub-record holds further COMPRESSED2 headers of 16 bytes each
 * between the zstd pieces; the first piece is a full 65519 bytes. */
#define COMP2_MAX_PIECE (65535 - 16)
static int compressed2(ps_perfdata *p, uint64_t start, uint16_t hsize, uint64_t *next,
		       int skip)
{
	unsigned char dsz[8];
	int err = src_read(p, start + 8, dsz, 8);
	if (err)
		return err;
	uint64_t data_size = get64(dsz);
	uint64_t aligned = (16 + data_size + 7) & ~(uint64_t)7;
	int overflow = hsize < 16 || aligned > hsize;
	if (!overflow && 16 + data_size > hsize)
		return PS_ECORRUPT;
	if (data_size > MAX_DECOMP)
		return PS_ELIMIT;
	if (skip) {
		*next = start + (overflow ? 16 + data_size : hsize);
		return *next > p->data_end ? PS_ETRUNC : 0;
	}
	ps_buf z = {0};
	if (ps_buf_reserve(&z, (size_t)data_size + 1))
		return -ENOMEM;
	if ((err = src_read(p, start + 16, z.data, (size_t)data_size))) {
		ps_buf_release(&z);
		return err;
	}
	*next = start + (overflow ? 16 + data_size : hsize);
	if (!overflow || data_size <= COMP2_MAX_PIECE) {
		err = decompress(p, (unsigned char *)z.data, (size_t)data_size);
	} else {
		/* Pieces: the first COMP2_MAX_PIECE bytes, then headers that must chain exactly
		 * to the end of the payload. */
		size_t pos = COMP2_MAX_PIECE;
		err = decompress(p, (unsigned char *)z.data, pos);
		while (!err && pos < data_size) {
			const unsigned char *h = (unsigned char *)z.data + pos;
			uint32_t type = data_size - pos >= 16 ? get32(h) : 0;
			uint16_t sz;
			memcpy(&sz, h + 6, 2);
			if (type != REC_COMPRESSED2 || sz < 16 || sz > data_size - pos) {
				err = PS_ECORRUPT;
				break;
			}
			err = decompress(p, h + 16, sz - 16u);
			pos += sz;
		}
	}
	ps_buf_release(&z);
	return err;
}

/* Handles one record read from the stream (nested: it came out of a compressed one). */
static int process(ps_perfdata *p, const unsigned char *rec, uint32_t size, int nested)
{
	uint32_t type = get32(rec);
	if (p->scanning && (type < REC_HEADER_ATTR || type == REC_COMPRESSED))
		return 0; /* pipe mode, first reading: only perf's own records */
	if (p->headers_read && (type == REC_HEADER_ATTR || type == REC_EVENT_UPDATE ||
				type == REC_HEADER_BUILD_ID || type == REC_HEADER_FEATURE))
		return 0; /* pipe mode, second reading: already taken in */
	if (type < REC_HEADER_ATTR) {
		if (p->nattrs == 0)
			return PS_ECORRUPT; /* a kernel record before any event was described */
		size_t which;
		if (!attr_of(p, rec, size, &which))
			which = 0;
		return enqueue(p, rec, size, record_time(p, which, rec, size), (uint32_t)which);
	}
	switch (type) {
	case REC_FINISHED_ROUND: {
		uint64_t limit = p->next_flush;
		p->next_flush = p->max_time;
		p->st.chunks++;
		return flush(p, limit, 0);
	}
	case REC_HEADER_ATTR:
		if (!p->pipe || nested || size < 8 + PERF_ATTR_SIZE_VER0)
			return 0;
		{
			uint32_t asz = get32(rec + 8 + 4);
			int err = add_attr(p, rec + 8, size - 8);
			if (err)
				return err;
			if (asz < PERF_ATTR_SIZE_VER0)
				asz = PERF_ATTR_SIZE_VER0;
			for (size_t off = 8 + asz; !err && off + 8 <= size; off += 8)
				err = add_id(p, get64(rec + off), (uint32_t)(p->nattrs - 1));
			return err;
		}
	case REC_EVENT_UPDATE:
		/* u64 type, u64 id, then (for NAME) the event's name. */
		if (size > 24 && get64(rec + 8) == EVENT_UPDATE_NAME) {
			uint64_t id = get64(rec + 16);
			for (size_t i = 0; i < p->nids; i++)
				if (p->ids[i].id == id && !p->attrs[p->ids[i].attr].name) {
					p->attrs[p->ids[i].attr].name = dup_bounded(rec + 24, size - 24);
					if (!p->attrs[p->ids[i].attr].name)
						return -ENOMEM;
					break;
				}
		}
		return 0;
	case REC_HEADER_BUILD_ID:
		return take_buildid(p, rec, size) == -ENOMEM ? -ENOMEM : 0;
	case REC_HEADER_FEATURE:
		if (size >= 16 && get64(rec + 8) < FEAT_MAX) {
			int err = parse_feature(p, (int)get64(rec + 8), rec + 16, size - 16u);
			return err == -ENOMEM ? err : 0;
		}
		return 0;
	case REC_COMPRESSED:
		if (nested)
			return PS_ECORRUPT;
		return decompress(p, rec + 8, size - 8u);
	default:
		return 0; /* perf's bookkeeping (id index, stat, time conv, ...) */
	}
}

/* Reads the next record of the data section and processes it: 1, 0 at its end, < 0. */
static int read_one(ps_perfdata *p)
{
	if (p->pos >= p->data_end)
		return 0;
	unsigned char h[8];
	if (p->data_end - p->pos < 8 || src_read(p, p->pos, h, 8)) {
		p->st.dropped_bytes = p->data_end - p->pos;
		p->pos = p->data_end;
		return 0;
	}
	uint32_t type = get32(h);
	uint16_t size;
	memcpy(&size, h + 6, 2);
	if (type == REC_COMPRESSED2) {
		uint64_t next;
		int err = compressed2(p, p->pos, size, &next, p->scanning);
		if (err == PS_ETRUNC) {
			p->st.dropped_bytes = p->data_end - p->pos;
			p->pos = p->data_end;
			return 0;
		}
		if (err)
			return err;
		p->pos = next;
		return 1;
	}
	if (size < 8)
		return PS_ECORRUPT;
	if (size > p->data_end - p->pos) {
		p->st.dropped_bytes = p->data_end - p->pos; /* a record cut short: perf was killed */
		p->pos = p->data_end;
		return 0;
	}
	p->rbuf.len = 0;
	if (ps_buf_reserve(&p->rbuf, size))
		return -ENOMEM;
	int err = src_read(p, p->pos, p->rbuf.data, size);
	if (err)
		return err;
	p->rbuf.len = size;
	uint64_t next = p->pos + size;
	/* Payloads that follow their record rather than being in it. */
	if (type == REC_AUXTRACE && size >= 16)
		next += get64((unsigned char *)p->rbuf.data + 8);
	else if (type == REC_TRACING_DATA && p->pipe && size >= 12)
		next += (get32((unsigned char *)p->rbuf.data + 8) + 7u) & ~7u;
	if (next < p->pos || next > p->data_end) {
		p->st.dropped_bytes = p->data_end - p->pos;
		p->pos = p->data_end;
		return 0;
	}
	p->pos = next;
	err = process(p, (unsigned char *)p->rbuf.data, size, 0);
	return err ? err : 1;
}

/* ---- delivering records ---- */

static int to_event(ps_perfdata *p, const unsigned char *rec, uint32_t size, size_t which,
		    ps_event *ev)
{
	ps_kevent k;
	int got = ps_kevent_decode(&p->attrs[which].k, rec, size, &k);
	if (got < 0)
		return PS_ECORRUPT;
	if (got == 0)
		return 0;
	memset(ev, 0, sizeof(*ev));
	switch (k.type) {
	case PERF_RECORD_SAMPLE: {
		if (which != p->selected)
			return 0;
		const ps_ksample *s = &k.sample;
		uint32_t n = 0;
		int user_part = 0;
		if (s->ips) {
			n = s->nr > MAX_CHAIN ? MAX_CHAIN : (uint32_t)s->nr;
			memcpy(p->chain, s->ips, n * 8);
			for (uint32_t i = 0; i < n; i++)
				user_part |= p->chain[i] == PS_CONTEXT_USER;
		}
		/* Without a chain, or with only the kernel part of one (dwarf mode leaves the
		 * user part to the unwinder), the sampled ip is the user leaf. */
		int user = (k.misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_USER;
		const ps_kattr *ka = &p->attrs[which].k;
		if (p->unwind.unwind && s->stack && pick_regs(p, ka, s)) {
			/* The kernel's user part (if any) gives way to the unwinder's. */
			uint32_t i = 0;
			while (i < n && p->chain[i] != PS_CONTEXT_USER)
				i++;
			n = i;
			p->chain[n++] = PS_CONTEXT_USER;
			int got = p->unwind.unwind(p->unwind.ctx, k.id.pid, p->regs, s->stack,
						   (size_t)s->dyn_size, p->chain + n, MAX_CHAIN + 1 - n);
			if (got > 0)
				n += (uint32_t)got;
			else
				n--;
		} else if (!s->ips) {
			p->chain[n++] = user ? PS_CONTEXT_USER : PS_CONTEXT_KERNEL;
			p->chain[n++] = s->ip;
		} else if (user && !user_part) {
			p->chain[n++] = PS_CONTEXT_USER;
			p->chain[n++] = s->ip;
		}
		ev->type = PS_REC_SAMPLE;
		ev->sample = (ps_sample){.time = k.id.time,
					 .pid = k.id.pid,
					 .tid = k.id.tid,
					 .cpu = k.id.cpu,
					 .period = (p->attrs[which].k.sample_type & PERF_SAMPLE_PERIOD)
							   ? s->period
							   : p->attrs[which].a.sample_period,
					 .nr = n,
					 .ips = p->chain,
					 /* Each sample its own chain number: the symbolizer hashes it. */
					 .chunk = ++p->chunk,
					 .stack = 0};
		if (!p->stats.samples++)
			p->stats.start_ns = k.id.time;
		p->stats.end_ns = k.id.time;
		return 1;
	}
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2: {
		const ps_kmmap *m = &k.mmap;
		/* The kernel and its modules (pid -1) are named from kallsyms; data mappings
		 * hold no code. */
		if (m->pid == UINT32_MAX || !(m->prot & PROT_EXEC))
			return 0;
		ev->type = PS_REC_MMAP;
		ev->mmap = (ps_mmap){.time = k.id.time,
				     .pid = m->pid,
				     .tid = m->tid,
				     .start = m->start,
				     .len = m->len,
				     .pgoff = m->pgoff,
				     .ino = m->ino,
				     .maj = m->maj,
				     .min = m->min,
				     .prot = m->prot,
				     .flags = m->flags,
				     .build_id_size = m->build_id_size,
				     .filename = m->filename};
		memcpy(ev->mmap.build_id, m->build_id, 20);
		if (zero_id(m->build_id, m->build_id_size))
			ev->mmap.build_id_size = 0;
		/* perf records build-ids of the files samples hit in a header section. */
		for (size_t i = 0; !ev->mmap.build_id_size && i < p->nbids; i++)
			if (!strcmp(p->bids[i].path, m->filename)) {
				ev->mmap.build_id_size = p->bids[i].size;
				memcpy(ev->mmap.build_id, p->bids[i].id, 20);
			}
		return 1;
	}
	case PERF_RECORD_COMM:
		ev->type = PS_REC_COMM;
		ev->comm = (ps_comm){.time = k.id.time,
				     .pid = k.comm.pid,
				     .tid = k.comm.tid,
				     .exec = (uint32_t)k.comm.exec,
				     .comm = k.comm.comm};
		return 1;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		ev->type = k.type == PERF_RECORD_FORK ? PS_REC_FORK : PS_REC_EXIT;
		ev->task = (ps_task){.time = k.task.time,
				     .pid = k.task.pid,
				     .ppid = k.task.ppid,
				     .tid = k.task.tid,
				     .ptid = k.task.ptid};
		return 1;
	case PERF_RECORD_LOST:
	case PERF_RECORD_LOST_SAMPLES:
		ev->type = PS_REC_LOST;
		ev->lost = k.lost.lost;
		p->stats.lost += ev->lost;
		return 1;
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		ev->type = PS_REC_THROTTLE;
		ev->throttle = (ps_throttle){.time = k.throttle.time,
					     .unthrottle = k.type == PERF_RECORD_UNTHROTTLE};
		p->stats.throttled += k.type == PERF_RECORD_THROTTLE;
		return 1;
	default:
		return 0;
	}
}

int ps_perfdata_next(ps_perfdata *p, ps_event *ev)
{
	for (;;) {
		while (p->opos < p->nout) {
			const struct item *it = &p->out[p->opos++];
			int got = to_event(p, (unsigned char *)p->obytes.data + it->off, it->size,
					   it->attr, ev);
			if (got > 0 && p->unwind.event && ev->type != PS_REC_SAMPLE)
				p->unwind.event(p->unwind.ctx, ev);
			if (got)
				return got;
		}
		if (p->eof) {
			if (p->nq == 0 && !p->stats_given && p->complete && !p->st.dropped_bytes) {
				/* A whole file ends as a finished perfsample trace does. */
				p->stats_given = 1;
				ev->type = PS_REC_STATS;
				ev->stats = p->stats;
				return 1;
			}
			if (p->nq == 0)
				return 0;
			int err = flush(p, 0, 1);
			if (err)
				return err;
			continue;
		}
		if (p->qbytes.len > MAX_QUEUE) {
			/* No rounds (or huge ones): deliver the older half, as perf does when its
			 * queue outgrows its memory limit. */
			qsort(p->q, p->nq, sizeof(*p->q), cmp_item);
			int err = flush(p, p->q[p->nq / 2].time, 0);
			if (err)
				return err;
			continue;
		}
		int got = read_one(p);
		if (got < 0)
			return got;
		if (got == 0)
			p->eof = 1;
	}
}
