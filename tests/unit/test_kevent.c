/* The kernel record decoder: field order by sample_type, trailers, ids, and records that
 * promise more than they hold. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>

#include "formats/ps_error.h"
#include "formats/ps_kevent.h"

static uint64_t rec[64];
static size_t words;

static void begin(uint32_t type, uint16_t misc)
{
	memset(rec, 0, sizeof(rec));
	words = 1;
	struct perf_event_header h = {.type = type, .misc = misc};
	memcpy(rec, &h, sizeof(h));
}
static void put(uint64_t v) { rec[words++] = v; }
static void put2(uint32_t a, uint32_t b) { put((uint64_t)b << 32 | a); }
static size_t end(void)
{
	struct perf_event_header *h = (void *)rec;
	h->size = (uint16_t)(words * 8);
	return words * 8;
}

Test(kevent, sample_fields_in_kernel_order)
{
	ps_kattr a = {.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
				     PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
				     PERF_SAMPLE_READ | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW,
		      .read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID};
	begin(PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	put(77);              /* identifier */
	put(0x401000);        /* ip */
	put2(10, 11);         /* pid, tid */
	put(123456789);       /* time */
	put2(3, 0);           /* cpu */
	put(1000);            /* period */
	put(2);               /* read: nr */
	put(5), put(77);      /* value, id */
	put(6), put(78);
	put(3);               /* callchain nr */
	put(PERF_CONTEXT_USER), put(0x401000), put(0x401234);
	put2(4, 0xdeadbeef);  /* raw: size 4, data; padded to 8 with the size */
	size_t n = end();
	ps_kevent ev;
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 1);
	cr_assert_eq(ev.type, PERF_RECORD_SAMPLE);
	cr_assert_eq(ev.id.id, 77);
	cr_assert_eq(ev.sample.ip, 0x401000);
	cr_assert_eq(ev.id.pid, 10);
	cr_assert_eq(ev.id.tid, 11);
	cr_assert_eq(ev.id.time, 123456789);
	cr_assert_eq(ev.id.cpu, 3);
	cr_assert_eq(ev.sample.period, 1000);
	cr_assert_eq(ev.sample.nr, 3);
	cr_assert_eq(ev.sample.ips[2], 0x401234);
	cr_assert_eq(ev.sample.raw_size, 4);
	uint64_t id = 0;
	cr_assert_eq(ps_kevent_id(&a, rec, n, &id), 1);
	cr_assert_eq(id, 77);
	uint64_t t = 0;
	cr_assert_eq(ps_kevent_time(&a, rec, n, &t), 1);
	cr_assert_eq(t, 123456789);

	/* A callchain that claims more entries than the record holds is malformed. */
	rec[12] = 1000;
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), PS_EFORMAT);
	/* So is a size that disagrees with the header. */
	rec[12] = 3;
	cr_assert_eq(ps_kevent_decode(&a, rec, n - 8, &ev), PS_EFORMAT);
}

Test(kevent, user_regs_and_stack)
{
	ps_kattr a = {.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER |
				     PERF_SAMPLE_STACK_USER,
		      .regs_user_mask = 0x7};
	begin(PERF_RECORD_SAMPLE, 0);
	put2(1, 1);
	put(2);                       /* abi */
	put(0xa), put(0xb), put(0xc); /* three registers */
	put(16);                      /* stack size */
	put(0x1111), put(0x2222);     /* stack bytes */
	put(40);                      /* dyn_size larger than size: clamped */
	size_t n = end();
	ps_kevent ev;
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 1);
	cr_assert_eq(ev.sample.nregs, 3);
	cr_assert_eq(ev.sample.regs[2], 0xc);
	cr_assert_eq(ev.sample.stack_size, 16);
	cr_assert_eq(ev.sample.dyn_size, 16);
	/* abi 0 (a kernel thread): no registers follow. */
	begin(PERF_RECORD_SAMPLE, 0);
	put2(1, 1);
	put(0);
	put(0); /* stack size 0: no dyn_size */
	n = end();
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 1);
	cr_assert_null(ev.sample.regs);
	cr_assert_null(ev.sample.stack);
}

Test(kevent, mmap2_with_trailer)
{
	ps_kattr a = {.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID |
				     PERF_SAMPLE_CPU,
		      .sample_id_all = 1,
		      .build_id = 1};
	begin(PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID);
	put2(100, 101);
	put(0x400000), put(0x1000), put(0);
	uint8_t bid[24] = {20, 0, 0, 0, 0xab, 0xcd};
	memcpy(&rec[words], bid, 24);
	words += 3;
	put2(PROT_READ | PROT_EXEC, MAP_PRIVATE);
	memcpy(&rec[words], "/bin/true\0\0\0\0\0\0", 16);
	words += 2;
	put2(100, 101); /* trailer: pid, tid */
	put(999);       /* time */
	put(42);        /* id */
	put2(1, 0);     /* cpu */
	size_t n = end();
	ps_kevent ev;
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 1);
	cr_assert_str_eq(ev.mmap.filename, "/bin/true");
	cr_assert_eq(ev.mmap.build_id_size, 20);
	cr_assert_eq(ev.mmap.build_id[0], 0xab);
	cr_assert_eq(ev.mmap.start, 0x400000);
	cr_assert_eq(ev.id.time, 999);
	cr_assert_eq(ev.id.cpu, 1);
	uint64_t id = 0;
	cr_assert_eq(ps_kevent_id(&a, rec, n, &id), 1);
	cr_assert_eq(id, 42); /* ID, followed by CPU: two words from the end */
	uint64_t t = 0;
	cr_assert_eq(ps_kevent_time(&a, rec, n, &t), 1);
	cr_assert_eq(t, 999); /* TIME, ID, CPU: three words from the end */
	a.sample_id_all = 0;
	cr_assert_eq(ps_kevent_time(&a, rec, n, &t), 0);
	a.sample_id_all = 1;
	/* The kernel leaks the build-id bit into sessions that did not ask for build-ids:
	 * without attr.build_id the body is device and inode. */
	a.build_id = 0;
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 1);
	cr_assert_eq(ev.mmap.build_id_size, 0);
	cr_assert_eq(ev.mmap.maj, 20);
	cr_assert_eq(ev.mmap.min, 0xcdab);
	/* A filename without its NUL is malformed. */
	memset(&rec[9], 'x', 8 * (words - 9));
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), PS_EFORMAT);
}

Test(kevent, switch_and_unknown)
{
	ps_kattr a = {0};
	begin(PERF_RECORD_SWITCH_CPU_WIDE,
	      PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
	put2(5, 6);
	size_t n = end();
	ps_kevent ev;
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 1);
	cr_assert(ev.sw.out && ev.sw.preempt);
	cr_assert_eq(ev.sw.tid, 6);
	begin(PERF_RECORD_AUX, 0);
	put(1);
	n = end();
	cr_assert_eq(ps_kevent_decode(&a, rec, n, &ev), 0);
	uint64_t id;
	cr_assert_eq(ps_kevent_id(&a, rec, n, &id), 0);
}
