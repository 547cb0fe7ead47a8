/* formats/ps_heap (freed, leaked and peak blocks), profiler/ps_heapmsg (the recorder's
 * check of the preload library's messages) and HEAP records through the trace file. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_heap.h"
#include "formats/ps_trace.h"
#include "profiler/heap/ps_heap_wire.h"
#include "profiler/ps_heapmsg.h"

Test(heap, frees_leaks_and_peak)
{
	ps_heap_track *t = ps_heap_track_new();
	cr_assert(t);
	/* pid 1: A (100) at 0x10, B (50) at 0x20, free A, C (30) at 0x10, D (500) at 0x30,
	 * free D; pid 2's 0x10 (7) is another process's block. Added out of time order. */
	cr_assert_eq(ps_heap_track_add_alloc(t, 10, 1, 0x10, 100), 0); /* 0: A */
	cr_assert_eq(ps_heap_track_add_alloc(t, 20, 1, 0x20, 50), 0);  /* 1: B */
	cr_assert_eq(ps_heap_track_add_alloc(t, 40, 1, 0x10, 30), 0);  /* 2: C */
	cr_assert_eq(ps_heap_track_add_free(t, 30, 1, 0x10), 0);       /* A */
	cr_assert_eq(ps_heap_track_add_alloc(t, 50, 1, 0x30, 500), 0); /* 3: D */
	cr_assert_eq(ps_heap_track_add_free(t, 60, 1, 0x30), 0);       /* D */
	cr_assert_eq(ps_heap_track_add_alloc(t, 55, 2, 0x10, 7), 0);   /* 4 */
	cr_assert_eq(ps_heap_track_add_free(t, 70, 2, 0x99), 0);       /* not sampled */
	cr_assert_eq(ps_heap_track_finish(t), 0);
	cr_expect(!ps_heap_track_live_at_end(t, 0));
	cr_expect(ps_heap_track_live_at_end(t, 1));
	cr_expect(ps_heap_track_live_at_end(t, 2));
	cr_expect(!ps_heap_track_live_at_end(t, 3));
	cr_expect(ps_heap_track_live_at_end(t, 4));
	uint64_t when;
	cr_expect_eq(ps_heap_track_peak(t, &when), 50 + 30 + 500 + 7);
	cr_expect_eq(when, 55);
	cr_expect(!ps_heap_track_live_at_peak(t, 0));
	for (size_t i = 1; i <= 4; i++)
		cr_expect(ps_heap_track_live_at_peak(t, i), "block %zu", i);
	const ps_heap_point *pts;
	size_t n = ps_heap_track_series(t, &pts);
	cr_assert_eq(n, 8);
	cr_expect_eq(pts[n - 1].live, 50 + 30 + 7);
	cr_expect_eq(pts[n - 1].allocs, 100 + 50 + 30 + 500 + 7);
	ps_heap_track_free(t);
}

Test(heap, new_block_at_a_live_address_ends_the_old_one)
{
	ps_heap_track *t = ps_heap_track_new();
	ps_heap_track_add_alloc(t, 1, 1, 0x10, 10);
	ps_heap_track_add_alloc(t, 2, 1, 0x10, 20);
	cr_assert_eq(ps_heap_track_finish(t), 0);
	cr_expect(!ps_heap_track_live_at_end(t, 0));
	cr_expect(ps_heap_track_live_at_end(t, 1));
	cr_expect_eq(ps_heap_track_peak(t, NULL), 20);
	ps_heap_track_free(t);
}

Test(heap, hostile_weights_saturate)
{
	ps_heap_track *t = ps_heap_track_new();
	ps_heap_track_add_alloc(t, 1, 1, 0x10, UINT64_MAX);
	ps_heap_track_add_alloc(t, 2, 1, 0x20, UINT64_MAX);
	cr_assert_eq(ps_heap_track_finish(t), 0);
	cr_expect_eq(ps_heap_track_peak(t, NULL), UINT64_MAX);
	ps_heap_track_free(t);
}

Test(heapmsg, checks_every_field)
{
	struct ps_heap_wire m = {.magic = PS_HEAP_WIRE_MAGIC,
				 .type = PS_HEAP_WIRE_ALLOC,
				 .nr = 2,
				 .time = 5,
				 .pid = 7,
				 .tid = 8,
				 .addr = 0x1000,
				 .size = 16,
				 .weight = 4096,
				 .ips = {0x401000, 0x402000}};
	ps_event ev;
	size_t len = PS_HEAP_WIRE_HEAD + 16;
	cr_assert_eq(ps_heapmsg_decode(&m, len, &ev), 1);
	cr_expect_eq(ev.type, PS_REC_HEAP_ALLOC);
	cr_expect_eq(ev.heap.nr, 2);
	cr_expect_eq(ev.heap.ips[1], 0x402000);
	cr_expect_eq(ev.heap.weight, 4096);
	cr_expect_eq(ps_heapmsg_decode(&m, len - 8, &ev), 0, "length disagrees with nr");
	m.nr = PS_HEAP_WIRE_MAX_STACK + 1;
	cr_expect_eq(ps_heapmsg_decode(&m, sizeof(m), &ev), 0, "nr past the bound");
	m.nr = 2;
	m.magic = 0;
	cr_expect_eq(ps_heapmsg_decode(&m, len, &ev), 0, "wrong magic");
	m.magic = PS_HEAP_WIRE_MAGIC;
	m.type = 9;
	cr_expect_eq(ps_heapmsg_decode(&m, len, &ev), 0, "unknown type");
	m.type = PS_HEAP_WIRE_FREE;
	m.nr = 0;
	cr_expect_eq(ps_heapmsg_decode(&m, PS_HEAP_WIRE_HEAD, &ev), 1);
	cr_expect_eq(ev.type, PS_REC_HEAP_FREE);
	cr_expect_eq(ev.heap.addr, 0x1000);
	cr_expect_eq(ps_heapmsg_decode(&m, 10, &ev), 0, "short");
}

Test(heap, records_round_trip)
{
	char path[] = "/tmp/ps-heap-unit-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	unlink(path);
	ps_trace_writer *w;
	cr_assert_eq(ps_trace_create(&w, path, NULL, 0, 0), 0);
	uint64_t ips[3] = {0x401234, 0x405678, 0x409abc};
	ps_event ev = {.type = PS_REC_HEAP_ALLOC};
	ev.heap = (ps_heap){.time = 11,
			    .pid = 3,
			    .tid = 4,
			    .addr = 0xabc0,
			    .size = 24,
			    .weight = 8192,
			    .nr = 3,
			    .ips = ips};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev.type = PS_REC_HEAP_FREE;
	ev.heap = (ps_heap){.time = 12, .pid = 3, .tid = 4, .addr = 0xabc0};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev.type = PS_REC_NOTE;
	ev.note = (ps_note){"after", "heap"};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	cr_assert_eq(ps_trace_commit(w), 0);
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, path), 0);
	ps_event got;
	cr_assert_eq(ps_trace_next(r, &got), 1);
	cr_assert_eq(got.type, PS_REC_HEAP_ALLOC);
	cr_expect_eq(got.heap.size, 24);
	cr_expect_eq(got.heap.weight, 8192);
	cr_expect_eq(got.heap.nr, 3);
	cr_expect_eq(got.heap.ips[2], 0x409abc);
	cr_assert_eq(ps_trace_next(r, &got), 1);
	cr_assert_eq(got.type, PS_REC_HEAP_FREE);
	cr_expect_eq(got.heap.addr, 0xabc0);
	cr_assert_eq(ps_trace_next(r, &got), 1);
	cr_expect_eq(got.type, PS_REC_NOTE);
	ps_trace_close(r);
	unlink(path);
}
