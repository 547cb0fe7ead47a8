#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "formats/ps_error.h"
#include "formats/ps_trace.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/ps-trace-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.data", dir);
}
static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

static const ps_kv meta[] = {{"event", "cpu-clock"}, {"freq", "99"}};

/* Writes nsamples samples, flushing a chunk every per_chunk samples. */
static void write_trace(int nsamples, int per_chunk, int commit)
{
	ps_trace_writer *w;
	cr_assert_eq(ps_trace_create(&w, path, meta, 2, 0), 0);
	ps_event ev = {.type = PS_REC_COMM};
	ev.comm = (ps_comm){.time = 1, .pid = 42, .tid = 42, .exec = 1, .comm = "prog"};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev = (ps_event){.type = PS_REC_MMAP};
	ev.mmap = (ps_mmap){.pid = 42, .tid = 42, .start = 0x400000, .len = 0x1000, .pgoff = 0,
			    .build_id_size = 3, .build_id = {1, 2, 3}, .filename = "/bin/prog"};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	for (int i = 0; i < nsamples; i++) {
		uint64_t ips[4] = {PS_CONTEXT_USER, 0x400100 + (uint64_t)(i % 3), 0x400200, 0x400300};
		ev = (ps_event){.type = PS_REC_SAMPLE};
		ev.sample = (ps_sample){.time = (uint64_t)i, .period = 10, .pid = 42, .tid = 43,
					.cpu = 1, .nr = 1 + (uint32_t)(i % 4), .ips = ips};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
		if (per_chunk && (i + 1) % per_chunk == 0)
			cr_assert_eq(ps_trace_flush(w), 0);
	}
	ev = (ps_event){.type = PS_REC_STATS};
	ev.stats = (ps_stats){.samples = (uint64_t)nsamples, .lost = 2};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	if (commit) {
		cr_assert_eq(ps_trace_commit(w), 0);
	} else {
		ps_trace_close_partial(w);
	}
}

static int count_samples(const char *p, ps_trace_status *st, int *err)
{
	ps_trace_reader *r;
	*err = ps_trace_open(&r, p);
	if (*err)
		return -1;
	ps_event ev;
	int n = 0, got;
	while ((got = ps_trace_next(r, &ev)) > 0) {
		if (ev.type == PS_REC_SAMPLE) {
			int i = n;
			cr_assert_eq(ev.sample.nr, 1 + (uint32_t)(i % 4));
			cr_assert_eq(ev.sample.ips[0], PS_CONTEXT_USER);
			if (ev.sample.nr > 1)
				cr_assert_eq(ev.sample.ips[1], 0x400100 + (uint64_t)(i % 3));
			n++;
		}
	}
	*err = got;
	*st = ps_trace_get_status(r);
	ps_trace_close(r);
	return n;
}

Test(trace, round_trip, .init = setup, .fini = teardown)
{
	write_trace(1000, 300, 1);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, path), 0);
	cr_assert_str_eq(ps_trace_meta(r, "event"), "cpu-clock");
	cr_assert_str_eq(ps_trace_meta(r, "freq"), "99");
	cr_assert_null(ps_trace_meta(r, "nope"));
	ps_event ev;
	cr_assert_eq(ps_trace_next(r, &ev), 1);
	cr_assert_eq(ev.type, PS_REC_COMM);
	cr_assert_str_eq(ev.comm.comm, "prog");
	cr_assert_eq(ev.comm.exec, 1);
	cr_assert_eq(ps_trace_next(r, &ev), 1);
	cr_assert_eq(ev.type, PS_REC_MMAP);
	cr_assert_str_eq(ev.mmap.filename, "/bin/prog");
	cr_assert_eq(ev.mmap.start, 0x400000);
	cr_assert_eq(ev.mmap.build_id_size, 3);
	cr_assert_eq(ev.mmap.build_id[2], 3);
	ps_trace_close(r);

	ps_trace_status st;
	int err;
	cr_assert_eq(count_samples(path, &st, &err), 1000);
	cr_assert_eq(err, 0);
	cr_assert(st.complete);
	cr_assert_eq(st.dropped_bytes, 0);
	cr_assert_eq(st.chunks, 4);
}

Test(trace, truncated_keeps_whole_chunks, .init = setup, .fini = teardown)
{
	write_trace(1000, 100, 1);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	/* Cut the file in the middle of its last chunks: whole chunks still read. */
	cr_assert_eq(truncate(path, sb.st_size * 3 / 4), 0);
	ps_trace_status st;
	int err;
	int n = count_samples(path, &st, &err);
	cr_assert_eq(err, 0);
	cr_assert(n >= 500 && n < 1000 && n % 100 == 0, "read %d samples", n);
	cr_assert_eq(st.complete, 0);
	cr_assert_gt(st.dropped_bytes, 0);
}

Test(trace, partial_file_is_readable, .init = setup, .fini = teardown)
{
	write_trace(50, 0, 0);
	char partial[160];
	snprintf(partial, sizeof(partial), "%s.partial", path);
	cr_assert_neq(access(path, F_OK), 0);
	ps_trace_status st;
	int err;
	cr_assert_eq(count_samples(partial, &st, &err), 50);
}

Test(trace, rejects_bad_files, .init = setup, .fini = teardown)
{
	ps_trace_reader *r;
	FILE *f = fopen(path, "w");
	fclose(f);
	cr_assert_eq(ps_trace_open(&r, path), PS_EEMPTY);
	f = fopen(path, "w");
	fputs("this is not a trace file at all, just text\n", f);
	fclose(f);
	cr_assert_eq(ps_trace_open(&r, path), PS_EFORMAT);
	cr_assert_eq(ps_trace_open(&r, "/nonexistent/x"), -ENOENT);
	cr_assert_eq(ps_trace_open(&r, dir), -EISDIR);

	/* Flip a byte inside the only chunk: its checksum fails, it is skipped and counted. */
	write_trace(200, 0, 1);
	int fd = open(path, O_RDWR);
	struct stat sb;
	fstat(fd, &sb);
	unsigned char c;
	pread(fd, &c, 1, sb.st_size - 30);
	c ^= 0x5a;
	pwrite(fd, &c, 1, sb.st_size - 30);
	close(fd);
	ps_trace_status st;
	int err;
	cr_assert_eq(count_samples(path, &st, &err), 0);
	cr_assert_eq(err, 0);
	cr_assert_eq(st.corrupt_chunks, 1);
	cr_assert_eq(st.chunks, 0);
}

/* Offsets of the chunks of the trace at path (at most max), and their count. */
static int chunk_offsets(long *off, int max)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	unsigned char h[28];
	cr_assert_eq(fread(h, 1, 28, f), 28);
	uint32_t mlen, ch[4];
	memcpy(&mlen, h + 24, 4);
	long pos = 28 + (long)mlen;
	int n = 0;
	while (n < max && fseek(f, pos, SEEK_SET) == 0 && fread(ch, 4, 4, f) == 4) {
		off[n++] = pos;
		pos += 16 + (long)ch[1];
	}
	fclose(f);
	return n;
}

static void poke(long off, const void *bytes, size_t len)
{
	int fd = open(path, O_RDWR);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* One damaged chunk in the middle costs its own samples only: the reader skips to the
 * next chunk magic and reads the rest (it used to refuse the whole trace). */
Test(trace, corrupt_chunk_is_skipped, .init = setup, .fini = teardown)
{
	long off[16];
	static const struct {
		long at; /* offset in the chunk */
		uint32_t value;
	} damage[] = {
		{40, 0xdeadbeef}, /* inside the zstd frame: wrong checksum or frame */
		{0, 0x12345678},  /* the chunk magic */
		{4, 0x7fffffff},  /* the compressed size: runs past the end of the file */
		{8, 3},           /* the raw size disagrees with the frame */
		{12, 7},          /* the record count disagrees with the records */
	};
	for (size_t d = 0; d < sizeof(damage) / sizeof(damage[0]); d++) {
		write_trace(1000, 100, 1);
		int n = chunk_offsets(off, 16);
		cr_assert_eq(n, 11); /* ten of samples, one with STATS */
		poke(off[4] + damage[d].at, &damage[d].value, 4);
		ps_trace_status st;
		int err;
		ps_trace_reader *r;
		cr_assert_eq(ps_trace_open(&r, path), 0);
		ps_event ev;
		int got, samples = 0;
		uint64_t last = 0;
		while ((got = ps_trace_next(r, &ev)) > 0) {
			if (ev.type != PS_REC_SAMPLE)
				continue;
			samples++;
			last = ev.sample.time;
		}
		err = got;
		st = ps_trace_get_status(r);
		ps_trace_close(r);
		cr_assert_eq(err, 0, "damage %zu: %d", d, err);
		cr_expect_eq(samples, 900, "damage %zu: %d samples", d, samples);
		cr_expect_eq(last, 999);
		cr_expect_eq(st.chunks, 10);
		cr_expect_eq(st.corrupt_chunks, 1, "damage %zu", d);
		cr_expect_eq(st.corrupt_offset, (uint64_t)off[4]);
		cr_expect_eq(st.corrupt_bytes, (uint64_t)(off[5] - off[4]), "damage %zu", d);
		cr_expect_eq(st.dropped_bytes, 0);
		cr_expect(st.complete);
	}
}

/* A header, then nchunks chunks each holding the same zstd frame of raw bytes. */
static unsigned char *zero_trace(const void *raw, size_t rsize, uint32_t nrec, int nchunks,
				 size_t *size)
{
	size_t bound = ZSTD_compressBound(rsize);
	unsigned char *frame = malloc(bound);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	size_t n = ZSTD_compress2(c, frame, bound, raw, rsize);
	ZSTD_freeCCtx(c);
	cr_assert(!ZSTD_isError(n));
	unsigned char *f = malloc(28 + (size_t)nchunks * (16 + n));
	static const uint32_t head[] = {1, 0x01020304, 0, 0, 0};
	memcpy(f, "PERFSMPL", 8);
	memcpy(f + 8, head, 20);
	*size = 28;
	for (int i = 0; i < nchunks; i++) {
		uint32_t ch[4] = {0x4b435350, (uint32_t)n, (uint32_t)rsize, nrec};
		memcpy(f + *size, ch, 16);
		memcpy(f + *size + 16, frame, n);
		*size += 16 + n;
	}
	free(frame);
	return f;
}

static void read_all(const unsigned char *data, size_t size, uint64_t *records,
		     ps_trace_status *st)
{
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open_mem(&r, data, size), 0);
	ps_event ev;
	int got;
	*records = 0;
	while ((got = ps_trace_next(r, &ev)) > 0)
		(*records)++;
	cr_assert_eq(got, 0);
	*st = ps_trace_get_status(r);
	ps_trace_close(r);
}

/* Compressed zeros: 64 MiB of them fit in 2 KB of zstd, and 416 KB of such chunks cost
 * 32 s to read. A chunk may inflate 1024 times at most (checked before decompressing),
 * and zeros are no records (checked before any record is handed out). */
Test(trace, zero_bombs_are_refused)
{
	size_t rsize = 64u << 20, size;
	void *zeros = calloc(1, rsize);
	unsigned char *t = zero_trace(zeros, rsize, (uint32_t)(rsize / 8), 8, &size);
	cr_assert_lt(size, 20000);
	uint64_t records;
	ps_trace_status st;
	read_all(t, size, &records, &st);
	cr_expect_eq(records, 0);
	cr_expect_eq(st.chunks, 0);
	cr_expect_eq(st.corrupt_chunks, 8, "%llu", (unsigned long long)st.corrupt_chunks);
	cr_expect_eq(st.corrupt_bytes, size - 28);
	free(t);

	/* Under the ratio, zeros still are no records: type 0 is never written. */
	t = zero_trace(zeros, 8192, 1024, 3, &size);
	read_all(t, size, &records, &st);
	cr_expect_eq(records, 0);
	cr_expect_eq(st.corrupt_chunks, 3);
	free(t);

	/* A good record followed by zeros the count does not cover is refused too. */
	unsigned char raw[4096] = {0};
	uint32_t lost[4] = {PS_REC_LOST, 8, 5, 0};
	memcpy(raw, lost, sizeof(lost));
	t = zero_trace(raw, sizeof(raw), 1, 1, &size);
	read_all(t, size, &records, &st);
	cr_expect_eq(records, 0);
	cr_expect_eq(st.corrupt_chunks, 1);
	free(t);
	/* ... and read when the chunk is just that record. */
	t = zero_trace(raw, 16, 1, 1, &size);
	read_all(t, size, &records, &st);
	cr_expect_eq(records, 1);
	cr_expect_eq(st.corrupt_chunks, 0);
	free(t);

	/* Well-formed records that inflate more than 1024 times are refused unread: the
	 * bound holds before zstd runs, whatever the bytes turn out to be. */
	uint32_t *many = zeros;
	for (size_t i = 0; i < 4096; i++)
		memcpy(many + 4 * i, lost, sizeof(lost));
	t = zero_trace(many, 4096 * 16, 4096, 1, &size);
	cr_assert_gt(4096 * 16, 1024 * (size - 28 - 16));
	read_all(t, size, &records, &st);
	cr_expect_eq(records, 0);
	cr_expect_eq(st.corrupt_chunks, 1);
	free(t);
	t = zero_trace(many, 100 * 16, 100, 1, &size);
	read_all(t, size, &records, &st);
	cr_expect_eq(records, 100);
	free(t);
	free(zeros);
}

Test(trace, fuzz_like_garbage_never_crashes)
{
	/* Random bytes after a valid header: any answer but a crash is fine. */
	unsigned char buf[4096];
	srand(7);
	for (int round = 0; round < 200; round++) {
		memcpy(buf, "PERFSMPL\1\0\0\0\4\3\2\1\0\0\0\0\0\0\0\0\0\0\0\0", 28);
		for (size_t i = 28; i < sizeof(buf); i++)
			buf[i] = (unsigned char)rand();
		if (round % 2) {
			uint32_t h[4] = {0x4b435350u, 100, 200, 5};
			memcpy(buf + 28, h, sizeof(h));
		}
		ps_trace_reader *r;
		if (ps_trace_open_mem(&r, buf, sizeof(buf)) != 0)
			continue;
		ps_event ev;
		while (ps_trace_next(r, &ev) > 0)
			;
		ps_trace_close(r);
	}
}

/* Two recorders race for one -o while a stale PATH.partial (a recorder killed with
 * SIGKILL) is there: at most one may own the partial at a time, and a winner's trace is
 * the one that lands at PATH. Both used to "succeed" when one replaced the stale file
 * while the other was looking at it, and one trace was lost. */
static void racer(int go, int report, int done, const char *who)
{
	/* A child: no Criterion asserts here, only its exit status speaks. */
	char c;
	if (read(go, &c, 1) != 1)
		_exit(4);
	ps_trace_writer *w;
	ps_kv m[] = {{"who", who}};
	int rc = ps_trace_create(&w, path, m, 1, 0);
	c = rc == 0 ? 'y' : rc == -EBUSY ? 'n' : 'e';
	if (write(report, &c, 1) != 1)
		_exit(4);
	(void)!read(done, &c, 1); /* EOF once both have tried */
	if (rc == 0)
		_exit(ps_trace_commit(w) == 0 ? 0 : 3);
	_exit(rc == -EBUSY ? 1 : 2);
}

Test(trace, one_recorder_wins_a_stale_partial, .init = setup, .fini = teardown)
{
	char partial[160];
	snprintf(partial, sizeof(partial), "%s.partial", path);
	int rounds = 300, both = 0, odd = 0, none = 0, lost = 0, left = 0;
	for (int round = 0; round < rounds; round++) {
		unlink(path);
		FILE *f = fopen(partial, "w");
		fputs("left by a recorder that was killed\n", f);
		fclose(f);
		int go[2], rep[2], done[2];
		cr_assert_eq(pipe(go) | pipe(rep) | pipe(done), 0);
		pid_t pids[2];
		for (int i = 0; i < 2; i++) {
			pids[i] = fork();
			cr_assert(pids[i] >= 0);
			if (pids[i] == 0) { /* reads see EOF when the parent is gone */
				close(go[1]);
				close(rep[0]);
				close(done[1]);
				racer(go[0], rep[1], done[0], i ? "b" : "a");
			}
		}
		char r[2] = {0, 0};
		if (write(go[1], "gg", 2) != 2 || read(rep[0], &r[0], 1) != 1 ||
		    read(rep[0], &r[1], 1) != 1)
			r[0] = r[1] = '?';
		for (int i = 0; i < 2; i++) { /* lets both go on, whatever happened */
			close(go[i]);
			close(rep[i]);
			close(done[i]);
		}
		int winner = -1;
		for (int i = 0; i < 2; i++) {
			int st;
			cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
			int code = WIFEXITED(st) ? WEXITSTATUS(st) : 9;
			if (code == 0)
				winner = i;
			else if (code != 1)
				odd++;
		}
		both += r[0] == 'y' && r[1] == 'y';
		none += winner < 0;
		if (winner >= 0) {
			ps_trace_reader *rd;
			if (ps_trace_open(&rd, path) != 0) {
				lost++;
			} else {
				const char *who = ps_trace_meta(rd, "who");
				lost += !who || strcmp(who, winner ? "b" : "a");
				ps_trace_close(rd);
			}
		}
		left += access(partial, F_OK) == 0;
	}
	cr_expect_eq(both, 0, "%d of %d rounds: both recorders owned the partial", both, rounds);
	cr_expect_eq(odd, 0, "%d racers failed other than 'busy'", odd);
	cr_expect_eq(none, 0, "%d rounds without a winner", none);
	cr_expect_eq(lost, 0, "%d rounds lost the winner's trace", lost);
	cr_expect_eq(left, 0, "%d rounds left a partial behind", left);
}

/* Everything a pass reads: the samples' times and chains and the status at the end. */
struct pass {
	uint64_t n, sum, chunks_seen;
	ps_trace_status st;
	int err;
};

static struct pass read_pass(ps_trace_reader *r, uint64_t stop_after)
{
	struct pass p = {0};
	ps_event ev;
	uint64_t last_chunk = 0;
	int got;
	while ((got = ps_trace_next(r, &ev)) > 0) {
		if (ev.type != PS_REC_SAMPLE)
			continue;
		p.n++;
		p.sum += ev.sample.time * 31 + ev.sample.nr;
		for (uint32_t i = 0; i < ev.sample.nr; i++)
			p.sum += ev.sample.ips[i] * (i + 1);
		cr_assert_geq(ev.sample.chunk, last_chunk);
		p.chunks_seen += ev.sample.chunk != last_chunk;
		last_chunk = ev.sample.chunk;
		if (p.n == stop_after)
			break;
	}
	p.err = got;
	p.st = ps_trace_get_status(r);
	return p;
}

/* The prefetch thread (on by default for big files) reads what the caller's thread
 * reads: the same records, the same damaged chunk skipped and truncated tail counted,
 * after rewinds and after a stop in the middle. */
Test(trace, prefetch_reads_alike, .init = setup, .fini = teardown)
{
	long off[16];
	write_trace(1000, 100, 1);
	cr_assert_eq(chunk_offsets(off, 16), 11);
	uint32_t bad = 0x12345678;
	poke(off[3], &bad, 4);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(truncate(path, off[9] + (sb.st_size - off[9]) / 2), 0);
	struct pass want[2], got[2];
	for (int on = 0; on < 2; on++) {
		ps_trace_reader *r;
		cr_assert_eq(ps_trace_open(&r, path), 0);
		ps_trace_set_prefetch(r, on);
		want[on] = read_pass(r, 0);
		cr_assert_eq(ps_trace_next(r, &(ps_event){0}), 0); /* the end stays the end */
		cr_assert_eq(ps_trace_rewind(r), 0);
		struct pass half = read_pass(r, 450);
		cr_assert_eq(half.n, 450);
		cr_assert_eq(ps_trace_rewind(r), 0);
		got[on] = read_pass(r, 0);
		ps_trace_close(r);
		/* closing in the middle, with the thread ahead, is clean too */
		cr_assert_eq(ps_trace_open(&r, path), 0);
		ps_trace_set_prefetch(r, on);
		cr_assert_eq(read_pass(r, 150).n, 150);
		ps_trace_close(r);
	}
	for (int on = 0; on < 2; on++) {
		cr_assert_eq(want[on].err, 0);
		cr_assert_eq(want[on].n, 800, "prefetch %d: %llu samples", on,
			     (unsigned long long)want[on].n);
		cr_assert_eq(want[on].st.corrupt_chunks, 1);
		cr_assert_gt(want[on].st.dropped_bytes, 0);
		cr_assert_eq(want[on].st.complete, 0);
		cr_assert_eq(got[on].n, want[on].n);
		cr_assert_eq(got[on].sum, want[on].sum);
		cr_assert_eq(got[on].chunks_seen, 8);
		cr_assert_eq(memcmp(&got[on].st, &want[on].st, sizeof(want[on].st)), 0);
	}
	cr_assert_eq(want[1].sum, want[0].sum);
	cr_assert_eq(memcmp(&want[1].st, &want[0].st, sizeof(want[0].st)), 0);
}

/* Trace-wide stack ids: a chain has one id in every chunk, whichever thread
 * decompresses, and keeps it across rewinds; different chains (by an address or by
 * length) differ. write_trace's chains: nr 1-4 by i % 4, the second address by i % 3. */
Test(trace, stack_ids_are_trace_wide, .init = setup, .fini = teardown)
{
	write_trace(1200, 100, 1);
	for (int on = 0; on < 2; on++) {
		ps_trace_reader *r;
		cr_assert_eq(ps_trace_open(&r, path), 0);
		ps_trace_set_prefetch(r, on);
		cr_assert_eq(ps_trace_set_stack_ids(r, 1), 0);
		uint32_t id_of[12];
		memset(id_of, 0xff, sizeof(id_of));
		for (int pass = 0; pass < 2; pass++) {
			ps_event ev;
			int got, i = 0;
			while ((got = ps_trace_next(r, &ev)) > 0) {
				if (ev.type != PS_REC_SAMPLE)
					continue;
				int chain = i % 12;
				cr_assert_eq(ev.sample.chunk, PS_CHUNK_TRACE_WIDE);
				cr_assert_lt(ev.sample.stack, 12);
				cr_assert_eq(ev.sample.nr, 1 + (uint32_t)(i % 4));
				if (pass == 0 && id_of[chain] == UINT32_MAX)
					id_of[chain] = ev.sample.stack;
				cr_assert_eq(ev.sample.stack, id_of[chain], "sample %d pass %d", i, pass);
				i++;
			}
			cr_assert_eq(got, 0);
			cr_assert_eq(i, 1200);
			cr_assert_eq(ps_trace_rewind(r), 0);
		}
		/* Samples a and b have equal chains when both are one entry long (only the
		 * context marker) or have the same length and second address. */
		for (int a = 0; a < 12; a++)
			for (int b = a + 1; b < 12; b++) {
				int same = a % 4 == b % 4 && (a % 4 == 0 || a % 3 == b % 3);
				cr_assert_eq(id_of[a] == id_of[b], same, "chains %d and %d", a, b);
			}
		/* Off again: chunk-local numbers, each chunk named apart. */
		cr_assert_eq(ps_trace_set_stack_ids(r, 0), 0);
		ps_event ev;
		while (ps_trace_next(r, &ev) > 0)
			if (ev.type == PS_REC_SAMPLE)
				cr_assert(ev.sample.chunk != 0 && ev.sample.chunk != PS_CHUNK_TRACE_WIDE);
		ps_trace_close(r);
	}
}
