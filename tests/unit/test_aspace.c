/* The address-space model: both modes, record by record, at the boundaries. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "formats/ps_aspace.h"
#include "formats/ps_util.h"

static ps_aspace *make(enum ps_aspace_mode mode, size_t keep)
{
	ps_aspace_opts o = {.mode = mode, .keep_exited = keep};
	ps_aspace *a;
	cr_assert_eq(ps_aspace_new(&a, &o), 0);
	return a;
}

static void mmap_at(ps_aspace *a, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *path, uint64_t time)
{
	ps_mmap m = {.time = time,
		     .pid = pid,
		     .tid = pid,
		     .start = start,
		     .len = len,
		     .pgoff = pgoff,
		     .filename = path};
	cr_assert_eq(ps_aspace_mmap(a, &m, 0), 0);
}

static const char *path_at(ps_aspace *a, uint32_t pid, uint64_t addr, uint64_t time)
{
	const ps_aspace_map *m = ps_aspace_find(a, pid, addr, time);
	return m ? ps_aspace_object(a, m->obj)->path : NULL;
}

static void fork_of(ps_aspace *a, uint32_t ppid, uint32_t pid, uint64_t time)
{
	ps_task t = {.time = time, .pid = pid, .ppid = ppid, .tid = pid, .ptid = ppid};
	cr_assert_eq(ps_aspace_fork(a, &t), 0);
}

Test(aspace, lookups_at_the_boundaries)
{
	for (int mode = PS_ASPACE_LIVE; mode <= PS_ASPACE_HISTORY; mode++) {
		ps_aspace *a = make(mode, 0);
		mmap_at(a, 10, 0x1000, 0x1000, 0, "/a", 1);
		mmap_at(a, 10, 0x2000, 0x1000, 0, "/b", 1);
		cr_assert_null(path_at(a, 10, 0xfff, 5));
		cr_assert_str_eq(path_at(a, 10, 0x1000, 5), "/a");
		cr_assert_str_eq(path_at(a, 10, 0x1fff, 5), "/a");
		cr_assert_str_eq(path_at(a, 10, 0x2000, 5), "/b", "end is exclusive");
		cr_assert_str_eq(path_at(a, 10, 0x2fff, 5), "/b");
		cr_assert_null(path_at(a, 10, 0x3000, 5));
		cr_assert_null(path_at(a, 11, 0x1000, 5), "another process");
		/* Wrapping past the top of memory or empty: counted, not kept. */
		mmap_at(a, 10, UINT64_MAX - 0xfff, 0x2000, 0, "/wrap", 1);
		mmap_at(a, 10, 0x5000, 0, 0, "/empty", 1);
		cr_assert_eq(ps_aspace_get_stats(a).bad_maps, 2);
		mmap_at(a, 10, UINT64_MAX - 0x1fff, 0x1000, 0, "/top", 1);
		cr_assert_str_eq(path_at(a, 10, UINT64_MAX - 0x1000, 5), "/top");
		cr_assert_null(path_at(a, 10, UINT64_MAX, 5));
		ps_aspace_free(a);
	}
}

Test(aspace, objects_are_interned_by_path_and_build_id)
{
	ps_aspace *a = make(PS_ASPACE_HISTORY, 0);
	ps_mmap m = {.pid = 1,
		     .start = 0x1000,
		     .len = 0x1000,
		     .filename = "/lib/x.so",
		     .build_id_size = 2,
		     .build_id = {1, 2}};
	cr_assert_eq(ps_aspace_mmap(a, &m, 0), 0);
	m.pid = 2;
	cr_assert_eq(ps_aspace_mmap(a, &m, 0), 0);
	m.pid = 4;
	m.build_id[1] = 3;
	cr_assert_eq(ps_aspace_mmap(a, &m, 0), 0);
	mmap_at(a, 3, 0x1000, 0x1000, 0, "[vdso]", 0);
	mmap_at(a, 3, 0x3000, 0x1000, 0, "//anon", 0);
	mmap_at(a, 3, 0x5000, 0x1000, 0, "/memfd:jit (deleted)", 0);
	cr_assert_eq(ps_aspace_nobjects(a), 5);
	const ps_aspace_obj *o = ps_aspace_object(a, 0);
	cr_assert_str_eq(o->base, "x.so");
	cr_assert_eq(o->kind, PS_OBJ_FILE);
	cr_assert_eq(ps_aspace_find(a, 1, 0x1000, 0)->obj, ps_aspace_find(a, 2, 0x1000, 0)->obj,
		     "one object for the same path and build-id");
	cr_assert_eq(ps_aspace_object(a, 1)->build_id[1], 3);
	cr_assert_eq(ps_aspace_object(a, 2)->kind, PS_OBJ_VDSO);
	cr_assert_eq(ps_aspace_object(a, 3)->kind, PS_OBJ_ANON);
	cr_assert_eq(ps_aspace_object(a, 4)->kind, PS_OBJ_ANON);
	cr_assert_null(ps_aspace_object(a, 5));
	ps_aspace_free(a);
}

Test(aspace, live_overlap_replaces_and_splits)
{
	ps_aspace *a = make(PS_ASPACE_LIVE, 0);
	mmap_at(a, 7, 0x10000, 0x10000, 0x100000, "/big", 0);
	/* A hole in the middle splits the old mapping; file offsets follow the addresses. */
	mmap_at(a, 7, 0x14000, 0x1000, 0, "/mid", 0);
	size_t n;
	const ps_aspace_map *m = ps_aspace_maps(a, 7, &n, NULL);
	cr_assert_eq(n, 3);
	cr_assert_eq(m[0].start, 0x10000);
	cr_assert_eq(m[0].end, 0x14000);
	cr_assert_eq(m[0].pgoff, 0x100000);
	cr_assert_eq(m[2].start, 0x15000);
	cr_assert_eq(m[2].end, 0x20000);
	cr_assert_eq(m[2].pgoff, 0x105000);
	cr_assert_str_eq(path_at(a, 7, 0x14fff, 0), "/mid");
	cr_assert_str_eq(path_at(a, 7, 0x15000, 0), "/big");
	/* Over the front of one and the tail of another, and wholly over the middle. */
	mmap_at(a, 7, 0x13000, 0x3000, 0, "/over", 0);
	m = ps_aspace_maps(a, 7, &n, NULL);
	cr_assert_eq(n, 3);
	cr_assert_eq(m[0].end, 0x13000);
	cr_assert_eq(m[1].start, 0x13000);
	cr_assert_eq(m[1].end, 0x16000);
	cr_assert_eq(m[2].start, 0x16000);
	cr_assert_eq(m[2].pgoff, 0x106000);
	cr_assert_str_eq(path_at(a, 7, 0x14000, 0), "/over");
	for (size_t i = 1; i < n; i++)
		cr_assert_leq(m[i - 1].end, m[i].start, "no overlaps, in address order");
	ps_aspace_free(a);
}

Test(aspace, history_keeps_time)
{
	ps_aspace *a = make(PS_ASPACE_HISTORY, 0);
	mmap_at(a, 7, 0x10000, 0x10000, 0, "/old", 100);
	mmap_at(a, 7, 0x14000, 0x1000, 0, "/new", 200);
	cr_assert_str_eq(path_at(a, 7, 0x14000, 150), "/old", "before the new mmap");
	cr_assert_str_eq(path_at(a, 7, 0x14000, 200), "/new");
	cr_assert_str_eq(path_at(a, 7, 0x14000, 999), "/new");
	cr_assert_str_eq(path_at(a, 7, 0x15000, 999), "/old", "outside the new one");
	/* Before any mapping was made (a lagging ring): the earliest one after. */
	cr_assert_str_eq(path_at(a, 7, 0x14000, 50), "/old");
	/* Records out of address order still sort for lookups. */
	mmap_at(a, 7, 0x1000, 0x1000, 0, "/low", 300);
	cr_assert_str_eq(path_at(a, 7, 0x1800, 300), "/low");
	cr_assert_str_eq(path_at(a, 7, 0x14000, 300), "/new");
	/* The same time: the later record wins. */
	mmap_at(a, 7, 0x14000, 0x1000, 0, "/same", 200);
	cr_assert_str_eq(path_at(a, 7, 0x14000, 250), "/same");
	ps_aspace_free(a);
}

Test(aspace, fork_inherits)
{
	/* LIVE: a copy; later changes to either side stay on that side. */
	ps_aspace *a = make(PS_ASPACE_LIVE, 0);
	mmap_at(a, 1, 0x1000, 0x1000, 0, "/bin/sh", 0);
	fork_of(a, 1, 2, 0);
	cr_assert_str_eq(path_at(a, 2, 0x1000, 0), "/bin/sh");
	mmap_at(a, 1, 0x1000, 0x1000, 0, "/parent-later", 0);
	mmap_at(a, 2, 0x3000, 0x1000, 0, "/child-only", 0);
	cr_assert_str_eq(path_at(a, 2, 0x1000, 0), "/bin/sh");
	cr_assert_null(path_at(a, 1, 0x3000, 0));
	/* A new thread (pid == ppid) is no new address space. */
	ps_task th = {.pid = 2, .ppid = 2, .tid = 3, .ptid = 2};
	cr_assert_eq(ps_aspace_fork(a, &th), 0);
	cr_assert_null(path_at(a, 3, 0x1000, 0));
	cr_assert_eq(ps_aspace_pid_of(a, 3), 2);
	ps_aspace_free(a);

	/* HISTORY: the parent's mappings as of the fork, even when its records come after
	 * the FORK record (another CPU's ring), until the child maps there itself. */
	a = make(PS_ASPACE_HISTORY, 0);
	fork_of(a, 1, 2, 500);
	mmap_at(a, 1, 0x1000, 0x1000, 0, "/bin/sh", 100);
	mmap_at(a, 1, 0x1000, 0x1000, 0, "/parent-later", 900);
	cr_assert_str_eq(path_at(a, 2, 0x1000, 1000), "/bin/sh");
	mmap_at(a, 2, 0x1000, 0x1000, 0, "/child", 600);
	cr_assert_str_eq(path_at(a, 2, 0x1000, 1000), "/child");
	/* A loop of parents made by a hostile trace ends. */
	fork_of(a, 2, 1, 50);
	cr_assert_null(path_at(a, 1, 0x9000, 1000));
	ps_aspace_free(a);
}

Test(aspace, exec_clears)
{
	ps_aspace *a = make(PS_ASPACE_LIVE, 0);
	mmap_at(a, 5, 0x1000, 0x1000, 0, "/bin/sh", 0);
	uint64_t g0, g1;
	size_t n;
	ps_aspace_maps(a, 5, &n, &g0);
	ps_comm c = {.time = 10, .pid = 5, .tid = 5, .exec = 1, .comm = "ls"};
	cr_assert_eq(ps_aspace_comm(a, &c), 0);
	ps_aspace_maps(a, 5, &n, &g1);
	cr_assert_eq(n, 0);
	cr_assert_neq(g0, g1, "the generation says the mappings changed");
	cr_assert_null(path_at(a, 5, 0x1000, 0));
	ps_aspace_free(a);

	/* HISTORY: before the exec the old image, after it only what was mapped since; and
	 * no more of the parent's. */
	a = make(PS_ASPACE_HISTORY, 0);
	mmap_at(a, 1, 0x7000, 0x1000, 0, "/parent", 1);
	fork_of(a, 1, 5, 2);
	mmap_at(a, 5, 0x1000, 0x1000, 0, "/bin/sh", 3);
	cr_assert_eq(ps_aspace_comm(a, &c), 0);
	mmap_at(a, 5, 0x3000, 0x1000, 0, "/bin/ls", 11);
	cr_assert_str_eq(path_at(a, 5, 0x1000, 5), "/bin/sh");
	cr_assert_str_eq(path_at(a, 5, 0x7000, 5), "/parent");
	cr_assert_null(path_at(a, 5, 0x1000, 20));
	cr_assert_null(path_at(a, 5, 0x7000, 20));
	cr_assert_str_eq(path_at(a, 5, 0x3000, 20), "/bin/ls");
	ps_aspace_free(a);
}

Test(aspace, exit_forgets_after_later_exits)
{
	ps_aspace *a = make(PS_ASPACE_LIVE, 2);
	for (uint32_t pid = 1; pid <= 3; pid++)
		mmap_at(a, pid, 0x1000, 0x1000, 0, "/x", 0);
	ps_task e = {.pid = 1, .tid = 1};
	cr_assert_eq(ps_aspace_exit(a, &e), 0);
	cr_assert_not_null(path_at(a, 1, 0x1000, 0), "kept for late samples");
	e.pid = e.tid = 2;
	cr_assert_eq(ps_aspace_exit(a, &e), 0);
	e.pid = e.tid = 3;
	cr_assert_eq(ps_aspace_exit(a, &e), 0);
	cr_assert_null(path_at(a, 1, 0x1000, 0), "forgotten two exits later");
	cr_assert_not_null(path_at(a, 2, 0x1000, 0));
	/* A reused pid starts empty, and the dead process's slot serves it. */
	mmap_at(a, 2, 0x5000, 0x1000, 0, "/y", 0);
	cr_assert_null(path_at(a, 2, 0x1000, 0));
	cr_assert_str_eq(path_at(a, 2, 0x5000, 0), "/y");
	/* A thread's exit leaves its process. */
	ps_task te = {.pid = 3, .tid = 99};
	cr_assert_eq(ps_aspace_exit(a, &te), 0);
	cr_assert_not_null(path_at(a, 3, 0x1000, 0));
	ps_aspace_free(a);

	/* HISTORY keeps exited processes: samples can come after the EXIT record. */
	a = make(PS_ASPACE_HISTORY, 0);
	mmap_at(a, 1, 0x1000, 0x1000, 0, "/x", 0);
	e.pid = e.tid = 1;
	cr_assert_eq(ps_aspace_exit(a, &e), 0);
	cr_assert_not_null(path_at(a, 1, 0x1000, 0));
	ps_aspace_free(a);
}

Test(aspace, process_churn_reuses_slots)
{
	ps_aspace_opts o = {.mode = PS_ASPACE_LIVE, .max_procs = 8};
	ps_aspace *a;
	cr_assert_eq(ps_aspace_new(&a, &o), 0);
	/* 10000 short processes, never more than one alive: the bound is never reached. */
	for (uint32_t pid = 100; pid < 10100; pid++) {
		mmap_at(a, pid, 0x1000, 0x1000, 0, "/x", 0);
		ps_task e = {.pid = pid, .tid = pid};
		cr_assert_eq(ps_aspace_exit(a, &e), 0);
	}
	mmap_at(a, 5, 0x1000, 0x1000, 0, "/alive", 0);
	cr_assert_str_eq(path_at(a, 5, 0x1000, 0), "/alive");
	cr_assert_eq(ps_aspace_get_stats(a).dropped_procs, 0);
	ps_aspace_free(a);
}

Test(aspace, hostile_counts_are_bounded)
{
	ps_aspace_opts o = {.mode = PS_ASPACE_HISTORY,
			    .max_procs = 4,
			    .max_maps = 100,
			    .max_objects = 10,
			    .max_names = 50,
			    .max_execs = 3};
	ps_aspace *a;
	cr_assert_eq(ps_aspace_new(&a, &o), 0);
	for (uint32_t pid = 1; pid <= 10; pid++)
		mmap_at(a, pid, 0x1000, 0x1000, 0, "/x", 0);
	ps_aspace_stats s = ps_aspace_get_stats(a);
	cr_assert_eq(s.dropped_procs, 6);
	cr_assert_null(path_at(a, 9, 0x1000, 0));
	char path[32];
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		mmap_at(a, 1, 0x100000 + 0x1000 * (uint64_t)i, 0x1000, 0, path, 0);
	}
	cr_assert_eq(ps_aspace_nobjects(a), 10);
	cr_assert_eq(ps_aspace_get_stats(a).dropped_objects, 11);
	for (int i = 0; i < 200; i++)
		mmap_at(a, 2, 0x1000 * (uint64_t)(200 - i), 0x1000, 0, "/x", (uint64_t)i);
	/* 11 with their objects, then 13 were in and 87 more fit of the 200. */
	cr_assert_eq(ps_aspace_get_stats(a).dropped_maps, 11 + 200 - 87);
	cr_assert_str_eq(path_at(a, 2, 0x1000 * 200, 0), "/x", "the first one in");
	cr_assert_null(path_at(a, 2, 0x2000, 0), "the last one out");
	for (int i = 0; i < 100; i++) {
		ps_comm c = {.time = (uint64_t)i, .pid = 1, .tid = 1, .exec = 1, .comm = "n"};
		cr_assert_eq(ps_aspace_comm(a, &c), 0);
	}
	s = ps_aspace_get_stats(a);
	cr_assert_eq(s.dropped_names, 50);
	cr_assert_eq(s.dropped_execs, 97);
	cr_assert_str_eq(ps_aspace_comm_at(a, 1, 1, 10), "n");
	ps_aspace_free(a);
}

static long word_refs[4];
static void count_ref(void *ctx, uint64_t user, int delta)
{
	(void)ctx;
	cr_assert(user > 0 && user < 4);
	word_refs[user] += delta;
	cr_assert_geq(word_refs[user], 0);
}

Test(aspace, user_word_references)
{
	ps_aspace_opts o = {.mode = PS_ASPACE_LIVE, .ref = count_ref};
	ps_aspace *a;
	cr_assert_eq(ps_aspace_new(&a, &o), 0);
	ps_mmap m = {.pid = 1, .start = 0x10000, .len = 0x10000, .filename = "/a"};
	word_refs[1] = 1; /* the caller's reference, handed to the model */
	cr_assert_eq(ps_aspace_mmap(a, &m, 1), 0);
	m.start = 0x14000;
	m.len = 0x1000;
	word_refs[2] = 1;
	cr_assert_eq(ps_aspace_mmap(a, &m, 2), 0);
	cr_assert_eq(word_refs[1], 2, "split in two");
	fork_of(a, 1, 2, 0);
	cr_assert_eq(word_refs[1], 4);
	cr_assert_eq(word_refs[2], 2);
	ps_comm c = {.pid = 2, .tid = 2, .exec = 1, .comm = "x"};
	cr_assert_eq(ps_aspace_comm(a, &c), 0);
	cr_assert_eq(word_refs[1], 2);
	cr_assert_eq(word_refs[2], 1);
	/* Dropped for a bound: released at once. */
	m.start = UINT64_MAX;
	word_refs[3] = 1;
	cr_assert_eq(ps_aspace_mmap(a, &m, 3), 0);
	cr_assert_eq(word_refs[3], 0);
	ps_aspace_free(a);
	cr_assert_eq(word_refs[1], 0);
	cr_assert_eq(word_refs[2], 0);
}

Test(aspace, names_over_time)
{
	ps_aspace *a = make(PS_ASPACE_HISTORY, 0);
	ps_comm c = {.time = 100, .pid = 1, .tid = 1, .comm = "first"};
	cr_assert_eq(ps_aspace_comm(a, &c), 0);
	c.time = 200;
	c.comm = "second";
	cr_assert_eq(ps_aspace_comm(a, &c), 0);
	cr_assert_str_eq(ps_aspace_comm_at(a, 1, 1, 150), "first");
	cr_assert_str_eq(ps_aspace_comm_at(a, 1, 1, 200), "second");
	cr_assert_str_eq(ps_aspace_comm_at(a, 1, 1, 50), "first", "earliest, for a lagging ring");
	/* A new thread has its creator's name of the time it was created, then the
	 * process's when nothing else is known. */
	ps_task t = {.time = 150, .pid = 1, .ppid = 1, .tid = 2, .ptid = 1};
	cr_assert_eq(ps_aspace_fork(a, &t), 0);
	cr_assert_str_eq(ps_aspace_comm_at(a, 1, 2, 300), "first");
	cr_assert_str_eq(ps_aspace_comm_at(a, 1, 77, 300), "second");
	cr_assert_null(ps_aspace_comm_at(a, 9, 9, 300));
	ps_aspace_free(a);
}

/* HISTORY lookups walk back from the address only while some earlier mapping still
 * reaches it: a long mapping under many short ones is found above them, and gaps are
 * gaps. */
Test(aspace, history_walks_back_to_long_mappings)
{
	ps_aspace *a = make(PS_ASPACE_HISTORY, 0);
	mmap_at(a, 1, 0x100000, 0x1000000, 0, "/long", 1);
	char path[32];
	for (int i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/s%d", i % 50);
		mmap_at(a, 1, 0x200000 + 0x2000 * (uint64_t)i, 0x1000, 0, path, 2);
	}
	mmap_at(a, 1, 0x2000000, 0x1000, 0, "/high", 1);
	cr_assert_str_eq(path_at(a, 1, 0x200000, 5), "/s0");
	cr_assert_str_eq(path_at(a, 1, 0x201000, 5), "/long", "between two short ones");
	cr_assert_str_eq(path_at(a, 1, 0x10fffff, 5), "/long", "its last byte");
	cr_assert_null(path_at(a, 1, 0x1100000, 5), "past every mapping but /high");
	cr_assert_str_eq(path_at(a, 1, 0x2000fff, 5), "/high");
	cr_assert_null(path_at(a, 1, 0xfffff, 5), "below all");
	/* More records after lookups extend what lookups know. */
	mmap_at(a, 1, 0x3000000, 0x1000, 0, "/later", 3);
	mmap_at(a, 1, 0x1100000, 0x10000, 0, "/gap", 3);
	cr_assert_str_eq(path_at(a, 1, 0x3000000, 5), "/later");
	cr_assert_str_eq(path_at(a, 1, 0x1100000, 5), "/gap");
	cr_assert_str_eq(path_at(a, 1, 0x201000, 5), "/long");
	ps_aspace_free(a);
}

/* A hostile trace's one mapping under thousands of others: a lookup stops after 1024
 * and says so, instead of walking them all for every address. */
Test(aspace, history_walks_are_bounded)
{
	ps_aspace *a = make(PS_ASPACE_HISTORY, 0);
	mmap_at(a, 1, 0x100000, 1ull << 40, 0, "/under", 1);
	for (int i = 0; i < 2000; i++)
		mmap_at(a, 1, 0x200000 + 0x2000 * (uint64_t)i, 0x1000, 0, "/s", 2);
	cr_assert_str_eq(path_at(a, 1, 0x200000 + 0x2000 * 500 + 0x1000, 5), "/under",
			 "500 mappings back: within the bound");
	cr_assert_eq(ps_aspace_get_stats(a).cut_lookups, 0);
	cr_assert_null(path_at(a, 1, 0x200000 + 0x2000 * 1999 + 0x1000, 5),
		       "2000 mappings back: past the bound");
	cr_assert_eq(ps_aspace_get_stats(a).cut_lookups, 1);
	/* Cut short, a lookup still has what it saw: the newest mapping near the address. */
	cr_assert_str_eq(path_at(a, 1, 0x200000 + 0x2000 * 1999, 5), "/s");
	cr_assert_eq(ps_aspace_get_stats(a).cut_lookups, 2);
	ps_aspace_free(a);
}
