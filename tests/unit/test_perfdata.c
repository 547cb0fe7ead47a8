/* perf.data built byte by byte: both modes, rounds, compressed records (and COMPRESSED2's
 * overflowed header), cut files, and hostile headers. The e2e test reads real files from
 * perf record; these pin what perf only does sometimes. */
#include <criterion/criterion.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

#include "formats/ps_error.h"
#include "formats/ps_perfdata.h"
#include "formats/ps_util.h"

#define ST (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID | \
	    PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN)

static void put(ps_buf *b, const void *p, size_t n) { cr_assert_eq(ps_buf_add(b, p, n), 0); }
static void put64(ps_buf *b, uint64_t v) { put(b, &v, 8); }
static void put32(ps_buf *b, uint32_t v) { put(b, &v, 4); }
static void set64(ps_buf *b, size_t off, uint64_t v) { memcpy(b->data + off, &v, 8); }

static void hdr(ps_buf *b, uint32_t type, uint16_t misc, size_t size)
{
	struct perf_event_header h = {.type = type, .misc = misc, .size = (uint16_t)size};
	put(b, &h, sizeof(h));
}

/* Trailer for sample_id_all with ST: pid/tid, time, id. */
static void trailer(ps_buf *b, uint32_t pid, uint64_t time)
{
	put32(b, pid), put32(b, pid), put64(b, time), put64(b, 7);
}

static void rec_comm(ps_buf *b, uint32_t pid, const char *name, uint64_t time)
{
	hdr(b, PERF_RECORD_COMM, 0, 8 + 8 + 16 + 24);
	put32(b, pid), put32(b, pid);
	char n[16] = {0};
	strncpy(n, name, 15);
	put(b, n, 16);
	trailer(b, pid, time);
}

static void rec_mmap(ps_buf *b, uint32_t pid, const char *file, uint64_t time)
{
	hdr(b, PERF_RECORD_MMAP2, 0, 8 + 64 + 16 + 24);
	put32(b, pid), put32(b, pid);
	put64(b, 0x400000), put64(b, 0x1000), put64(b, 0);
	put32(b, 8), put32(b, 1), put64(b, 42), put64(b, 0); /* maj, min, ino, generation */
	put32(b, PROT_READ | PROT_EXEC), put32(b, MAP_PRIVATE);
	char n[16] = {0};
	strncpy(n, file, 15);
	put(b, n, 16);
	trailer(b, pid, time);
}

static void rec_sample(ps_buf *b, uint32_t pid, uint64_t time, uint64_t leaf)
{
	hdr(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, 8 + 8 * 10);
	put64(b, leaf);
	put32(b, pid), put32(b, pid);
	put64(b, time), put64(b, 7), put64(b, 1000);
	put64(b, 4), put64(b, PERF_CONTEXT_USER), put64(b, leaf), put64(b, 0x401100),
	    put64(b, 0x401200);
}

static void rec_round(ps_buf *b) { hdr(b, 68, 0, 8); }

static struct perf_event_attr attr(void)
{
	struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE,
				    .size = sizeof(a),
				    .config = PERF_COUNT_SW_CPU_CLOCK,
				    .sample_type = ST,
				    .sample_freq = 99,
				    .freq = 1,
				    .sample_id_all = 1};
	return a;
}

/* A file-mode perf.data around the records in data, with a hostname feature. */
static void file_mode(ps_buf *out, const ps_buf *data, uint64_t written_data_size)
{
	struct perf_event_attr a = attr();
	size_t attrs_off = 104, attr_sz = sizeof(a) + 16;
	size_t ids_off = attrs_off + attr_sz, data_off = ids_off + 8;
	memset(out, 0, sizeof(*out));
	put(out, "PERFILE2", 8);
	put64(out, 104), put64(out, attr_sz);
	put64(out, attrs_off), put64(out, attr_sz);
	put64(out, data_off), put64(out, written_data_size);
	put64(out, 0), put64(out, 0); /* event_types */
	uint64_t bits[4] = {1u << 3 /* hostname */};
	put(out, bits, 32);
	put(out, &a, sizeof(a));
	put64(out, ids_off), put64(out, 8);
	put64(out, 7); /* the id */
	put(out, data->data, data->len);
	/* Features: one section entry, then the string. */
	size_t feat_off = out->len + 16;
	put64(out, feat_off), put64(out, 4 + 8);
	put32(out, 8), put(out, "host-a\0\0", 8);
}

static ps_perfdata *open_buf(const ps_buf *b)
{
	ps_perfdata *p;
	int err = ps_perfdata_open_mem(&p, b->data, b->len);
	cr_assert_eq(err, 0, "open: %s", ps_strerror(err));
	return p;
}

Test(perfdata, file_mode_rounds_deliver_in_time_order)
{
	ps_buf d = {0}, f;
	rec_comm(&d, 10, "app", 1);
	rec_mmap(&d, 10, "/bin/app", 2);
	/* Two CPUs' rings written one after the other: times interleave across them. */
	rec_sample(&d, 10, 300, 0x400010);
	rec_sample(&d, 10, 100, 0x400020);
	rec_round(&d);
	rec_sample(&d, 10, 200, 0x400030);
	rec_sample(&d, 10, 400, 0x400040);
	rec_round(&d);
	file_mode(&f, &d, d.len);
	ps_perfdata *p = open_buf(&f);
	cr_assert_str_eq(ps_perfdata_meta(p, "hostname"), "host-a");
	cr_assert_str_eq(ps_perfdata_meta(p, "event"), "cpu-clock");
	cr_assert_str_eq(ps_perfdata_meta(p, "freq"), "99");
	cr_assert_str_eq(ps_perfdata_meta(p, "callgraph"), "fp");
	ps_event ev;
	uint64_t times[8], n = 0;
	int saw_comm = 0, saw_mmap = 0, saw_stats = 0;
	int got;
	while ((got = ps_perfdata_next(p, &ev)) > 0) {
		if (ev.type == PS_REC_SAMPLE) {
			cr_assert_eq(ev.sample.pid, 10);
			cr_assert_eq(ev.sample.nr, 4);
			cr_assert_eq(ev.sample.ips[0], PS_CONTEXT_USER);
			times[n++] = ev.sample.time;
		}
		saw_comm |= ev.type == PS_REC_COMM && !strcmp(ev.comm.comm, "app");
		saw_mmap |= ev.type == PS_REC_MMAP && !strcmp(ev.mmap.filename, "/bin/app") &&
			    ev.mmap.ino == 42;
		if (ev.type == PS_REC_STATS) {
			saw_stats = 1;
			cr_assert_eq(ev.stats.samples, 4);
		}
	}
	cr_assert_eq(got, 0);
	cr_assert(saw_comm && saw_mmap && saw_stats);
	cr_assert_eq(n, 4);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(times[i - 1], times[i], "sample %zu out of order", i);
	/* Rewinding reads the same again. */
	cr_assert_eq(ps_perfdata_rewind(p), 0);
	n = 0;
	while (ps_perfdata_next(p, &ev) > 0)
		n += ev.type == PS_REC_SAMPLE;
	cr_assert_eq(n, 4);
	ps_perfdata_close(p);
	ps_buf_release(&d);
	ps_buf_release(&f);
}

/* zstd of bytes, as perf -z writes them: one stream, flushed per record. */
static size_t zpiece(ZSTD_CStream *z, const void *src, size_t n, void *dst, size_t cap)
{
	ZSTD_inBuffer in = {src, n, 0};
	ZSTD_outBuffer o = {dst, cap, 0};
	while (in.pos < in.size)
		cr_assert(!ZSTD_isError(ZSTD_compressStream(z, &o, &in)));
	cr_assert(!ZSTD_isError(ZSTD_flushStream(z, &o)));
	return o.pos;
}

Test(perfdata, compressed_records_share_one_stream)
{
	ps_buf inner = {0}, d = {0}, f;
	rec_comm(&inner, 5, "zapp", 1);
	rec_mmap(&inner, 5, "/bin/zapp", 2);
	for (int i = 0; i < 50; i++)
		rec_sample(&inner, 5, 10 + (uint64_t)i, 0x400000 + (uint64_t)i);
	ZSTD_CStream *z = ZSTD_createCStream();
	ZSTD_initCStream(z, 1);
	/* Split mid-record: a record straddles two COMPRESSED records. */
	size_t cut = inner.len / 2 + 3;
	char zb[8192];
	for (int part = 0; part < 2; part++) {
		const char *src = inner.data + (part ? cut : 0);
		size_t n = part ? inner.len - cut : cut;
		size_t zn = zpiece(z, src, n, zb, sizeof(zb));
		hdr(&d, 81, 0, 8 + zn); /* COMPRESSED: not padded */
		put(&d, zb, zn);
	}
	ZSTD_freeCStream(z);
	file_mode(&f, &d, d.len);
	ps_perfdata *p = open_buf(&f);
	ps_event ev;
	int n = 0, names = 0, got;
	while ((got = ps_perfdata_next(p, &ev)) > 0) {
		n += ev.type == PS_REC_SAMPLE;
		names += ev.type == PS_REC_COMM && !strcmp(ev.comm.comm, "zapp");
	}
	cr_assert_eq(got, 0, "%s", ps_strerror(got));
	cr_assert_eq(n, 50);
	cr_assert_eq(names, 1);
	ps_perfdata_close(p);
	ps_buf_release(&inner);
	ps_buf_release(&d);
	ps_buf_release(&f);
}

Test(perfdata, compressed2_overflowed_header_size)
{
	ps_buf inner = {0}, d = {0}, f;
	rec_comm(&inner, 6, "c2", 1);
	rec_sample(&inner, 6, 10, 0x400010);
	size_t zcap = ZSTD_compressBound(inner.len);
	char *zb = malloc(zcap);
	size_t zn = ZSTD_compress(zb, zcap, inner.data, inner.len, 1);
	cr_assert(!ZSTD_isError(zn));
	/* header.size wrapped to 0; data_size is right; no padding follows. */
	hdr(&d, 83, 0, 0);
	put64(&d, zn);
	put(&d, zb, zn);
	/* The next record follows immediately, unaligned in the file. */
	zn = ZSTD_compress(zb, zcap, "", 0, 1);
	hdr(&d, 83, 0, (16 + zn + 7) & ~7u);
	put64(&d, 0); /* an empty payload: nothing to decompress */
	size_t pad = ((16 + zn + 7) & ~7u) - 16;
	char zeros[16] = {0};
	put(&d, zeros, pad);
	file_mode(&f, &d, d.len);
	ps_perfdata *p = open_buf(&f);
	ps_event ev;
	int n = 0, got;
	while ((got = ps_perfdata_next(p, &ev)) > 0)
		n += ev.type == PS_REC_SAMPLE;
	cr_assert_eq(got, 0, "%s", ps_strerror(got));
	cr_assert_eq(n, 1);
	ps_perfdata_close(p);
	free(zb);
	ps_buf_release(&inner);
	ps_buf_release(&d);
	ps_buf_release(&f);
}

Test(perfdata, killed_perf_is_read_to_the_cut)
{
	ps_buf d = {0}, f;
	rec_comm(&d, 10, "app", 1);
	for (int i = 0; i < 10; i++)
		rec_sample(&d, 10, 10 + (uint64_t)i, 0x400010);
	/* perf killed: the header's data size is 0 and the last record is cut. */
	file_mode(&f, &d, 0);
	f.len -= 16 + 12 + 20; /* no feature section, and 20 bytes of the last sample */
	ps_perfdata *p = open_buf(&f);
	ps_event ev;
	int n = 0, got, stats = 0;
	while ((got = ps_perfdata_next(p, &ev)) > 0) {
		n += ev.type == PS_REC_SAMPLE;
		stats += ev.type == PS_REC_STATS;
	}
	cr_assert_eq(got, 0);
	cr_assert_eq(n, 9);
	cr_assert_eq(stats, 0, "a cut file is not whole");
	cr_assert_gt(ps_perfdata_status(p).dropped_bytes, 0);
	ps_perfdata_close(p);
	ps_buf_release(&d);
	ps_buf_release(&f);
}

Test(perfdata, pipe_mode_attrs_and_names_in_the_stream)
{
	ps_buf d = {0};
	put(&d, "PERFILE2", 8);
	put64(&d, 16);
	struct perf_event_attr a = attr();
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	hdr(&d, 64, 0, 8 + sizeof(a) + 8);
	put(&d, &a, sizeof(a));
	put64(&d, 7);
	/* EVENT_UPDATE NAME for id 7. */
	hdr(&d, 78, 0, 8 + 16 + 16);
	put64(&d, 1), put64(&d, 7);
	put(&d, "my-clock\0\0\0\0\0\0\0\0", 16);
	rec_comm(&d, 3, "p", 1);
	rec_sample(&d, 3, 5, 0x400000);
	ps_perfdata *p = open_buf(&d);
	cr_assert_str_eq(ps_perfdata_meta(p, "event"), "my-clock");
	cr_assert_str_eq(ps_perfdata_meta(p, "format"), "perf.data (pipe)");
	ps_event ev;
	int n = 0;
	while (ps_perfdata_next(p, &ev) > 0)
		n += ev.type == PS_REC_SAMPLE;
	cr_assert_eq(n, 1);
	cr_assert_eq(ps_perfdata_select_event(p, "nosuch"), PS_EFORMAT);
	ps_perfdata_close(p);
	ps_buf_release(&d);
}

Test(perfdata, hostile_headers_and_records)
{
	ps_buf d = {0}, f;
	rec_sample(&d, 1, 1, 0x400000);
	file_mode(&f, &d, d.len);
	ps_perfdata *p;
	/* Header size past the file, attr size absurd, attrs outside the file. */
	ps_buf g = {0};
	put(&g, f.data, f.len);
	set64(&g, 8, 1u << 30);
	cr_assert_lt(ps_perfdata_open_mem(&p, g.data, g.len), 0);
	memcpy(g.data, f.data, f.len);
	set64(&g, 16, 1u << 20);
	cr_assert_lt(ps_perfdata_open_mem(&p, g.data, g.len), 0);
	memcpy(g.data, f.data, f.len);
	set64(&g, 24, (uint64_t)-64);
	cr_assert_lt(ps_perfdata_open_mem(&p, g.data, g.len), 0);
	/* A record of size 0 in the data: corrupt, not a hang. */
	memcpy(g.data, f.data, f.len);
	size_t data_off = 104 + sizeof(struct perf_event_attr) + 16 + 8;
	memset(g.data + data_off + 6, 0, 2);
	cr_assert_eq(ps_perfdata_open_mem(&p, g.data, g.len), 0);
	ps_event ev;
	cr_assert_eq(ps_perfdata_next(p, &ev), PS_ECORRUPT);
	ps_perfdata_close(p);
	/* Only the magic. */
	cr_assert_lt(ps_perfdata_open_mem(&p, "PERFILE2", 8), 0);
	ps_buf_release(&g);
	ps_buf_release(&d);
	ps_buf_release(&f);
}

Test(perfdata, compressed_bomb_is_bounded)
{
	/* 1 GiB of zeros compresses to about 32 KiB; one record may not expand that far. */
	size_t big = (size_t)1 << 30;
	ZSTD_CStream *z = ZSTD_createCStream();
	ZSTD_initCStream(z, 19);
	char *zeros = calloc(1, 1 << 20);
	ps_buf zb = {0};
	cr_assert_eq(ps_buf_reserve(&zb, 1 << 20), 0);
	for (size_t done = 0; done < big; done += 1 << 20) {
		ZSTD_inBuffer in = {zeros, 1 << 20, 0};
		while (in.pos < in.size) {
			ZSTD_outBuffer o = {zb.data + zb.len, zb.cap - zb.len, 0};
			cr_assert(!ZSTD_isError(ZSTD_compressStream(z, &o, &in)));
			zb.len += o.pos;
		}
	}
	ZSTD_outBuffer o = {zb.data + zb.len, zb.cap - zb.len, 0};
	cr_assert_eq(ZSTD_endStream(z, &o), 0);
	zb.len += o.pos;
	ZSTD_freeCStream(z);
	free(zeros);
	cr_assert_lt(zb.len, 60000);
	ps_buf d = {0}, f;
	hdr(&d, 81, 0, 8 + zb.len);
	put(&d, zb.data, zb.len);
	file_mode(&f, &d, d.len);
	ps_perfdata *p = open_buf(&f);
	ps_event ev;
	int got = ps_perfdata_next(p, &ev);
	cr_assert_eq(got, PS_ELIMIT, "a bomb was decompressed: %s", ps_strerror(got));
	ps_perfdata_close(p);
	ps_buf_release(&zb);
	ps_buf_release(&d);
	ps_buf_release(&f);
}
