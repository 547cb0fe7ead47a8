#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

	/* Flip a byte inside the compressed chunk: the reader reports corruption. */
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
	count_samples(path, &st, &err);
	cr_assert_eq(err, PS_ECORRUPT);
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
