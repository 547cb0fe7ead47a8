#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_trace.h"
#include "profiler/ps_offcpu.h"

/* What the pairer emitted. */
static ps_offcpu got[16];
static uint64_t got_ips[16][4];
static int ngot;

static int collect(void *ctx, const ps_event *ev)
{
	(void)ctx;
	cr_assert_eq(ev->type, PS_REC_OFFCPU);
	cr_assert_lt(ngot, 16);
	got[ngot] = ev->offcpu;
	cr_assert_leq(ev->offcpu.sample.nr, 4);
	if (ev->offcpu.sample.nr)
		memcpy(got_ips[ngot], ev->offcpu.sample.ips, ev->offcpu.sample.nr * 8);
	ngot++;
	return 0;
}

static ps_offcpu_pairer *pairer(uint64_t start)
{
	ps_offcpu_pairer *p;
	ngot = 0;
	cr_assert_eq(ps_offcpu_new(&p, start, collect, NULL), 0);
	return p;
}

static const uint64_t chain[3] = {PS_CONTEXT_KERNEL, 0xffffffff81000000u, PS_CONTEXT_USER};

/* Rings deliver a thread's switch-in (CPU 1) before its switch-out (CPU 0): paired by time
 * into one interval, with the sample's stack and the switch record's preemption. */
Test(offcpu, pairs_out_of_order)
{
	ps_offcpu_pairer *p = pairer(100);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 5000, 7, 8, 1, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 1001, 7, 8, 0, 1, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 1000, 7, 8, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_flush(p, 6000), 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].sample.time, 1001); /* the switch record's time */
	cr_assert_eq(got[0].sample.period, 3999);
	cr_assert_eq(got[0].sample.pid, 7);
	cr_assert_eq(got[0].sample.tid, 8);
	cr_assert_eq(got[0].sample.nr, 3);
	cr_assert_eq(got_ips[0][1], chain[1]);
	cr_assert_eq(got[0].flags, PS_OFFCPU_PREEMPTED);
	cr_assert_eq(ps_offcpu_finish(p, 9000), 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(ps_offcpu_get_stats(p).intervals, 1);
	cr_assert_eq(ps_offcpu_get_stats(p).unpaired, 0);
	ps_offcpu_free(p);
}

/* Facts newer than the flush point wait for a later flush. */
Test(offcpu, flush_waits_for_late_records)
{
	ps_offcpu_pairer *p = pairer(0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 1000, 7, 8, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 1000, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_flush(p, 1500), 0);
	cr_assert_eq(ngot, 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 2000, 7, 8, 1, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_flush(p, 2500), 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].flags, 0); /* voluntary */
	cr_assert_eq(got[0].sample.period, 1000);
	ps_offcpu_free(p);
}

/* A thread blocked when the recording started: from the start to its first switch-in,
 * without a stack. A thread created during the recording: its first switch-in ends no
 * wait. A thread still blocked at the end: closed there. */
Test(offcpu, start_fork_and_end)
{
	ps_offcpu_pairer *p = pairer(100);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 700, 1, 2, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_FORK, 800, 1, 3, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 900, 1, 3, 1, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 950, 1, 3, 1, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 950, 1, 3, 1, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_finish(p, 2000), 0);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[0].sample.tid, 2);
	cr_assert_eq(got[0].sample.time, 100);
	cr_assert_eq(got[0].sample.period, 600);
	cr_assert_eq(got[0].flags, PS_OFFCPU_STARTED);
	cr_assert_eq(got[0].sample.nr, 0);
	cr_assert_eq(got[1].sample.tid, 3);
	cr_assert_eq(got[1].sample.period, 1050);
	cr_assert_eq(got[1].flags, PS_OFFCPU_OPEN);
	ps_offcpu_free(p);
}

/* A thread's last switch-out follows its EXIT record: that is no wait. A lost switch-in
 * (two switch-outs in a row) is counted, and the first interval's end is unknown. */
Test(offcpu, exit_and_lost)
{
	ps_offcpu_pairer *p = pairer(0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 100, 1, 2, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 300, 1, 2, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 400, 1, 2, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_EXIT, 500, 1, 2, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 510, 1, 2, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 511, 1, 2, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_finish(p, 2000), 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].sample.time, 300);
	cr_assert_eq(got[0].sample.period, 100);
	cr_assert_eq(ps_offcpu_get_stats(p).unpaired, 1);
	ps_offcpu_free(p);
}

/* Without switch samples (user-only recording): the thread's last user stack, flagged. */
Test(offcpu, approximate_stack)
{
	ps_offcpu_pairer *p = pairer(0);
	uint64_t user[2] = {PS_CONTEXT_USER, 0x401000};
	cr_assert_eq(ps_offcpu_add(p, PS_SW_USER_STACK, 50, 1, 2, 0, 0, user, 2), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 100, 1, 2, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 300, 1, 2, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_finish(p, 2000), 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].flags, PS_OFFCPU_APPROX);
	cr_assert_eq(got[0].sample.nr, 2);
	cr_assert_eq(got_ips[0][1], 0x401000);
	cr_assert_eq(ps_offcpu_get_stats(p).no_stack, 1);
	ps_offcpu_free(p);
}

/* OFFCPU and OFFCPU_STATS records round-trip through a trace file. */
Test(offcpu, trace_records)
{
	char path[] = "/tmp/ps-offcpu-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(path);
	ps_trace_writer *w;
	cr_assert_eq(ps_trace_create(&w, path, NULL, 0, 0), 0);
	ps_event ev = {.type = PS_REC_OFFCPU};
	ev.offcpu.sample = (ps_sample){.time = 10, .period = 20, .pid = 1, .tid = 2, .cpu = 3,
				       .nr = 3, .ips = chain};
	ev.offcpu.flags = PS_OFFCPU_PREEMPTED | PS_OFFCPU_OPEN;
	ev.offcpu.weight = 3;
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev.offcpu.stands_ns = 77; /* a sampled stack's measured share */
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev = (ps_event){.type = PS_REC_OFFCPU_STATS};
	ev.offcpu_stats = (ps_offcpu_stats){5, 6, 7, 1024, 9, 99};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	cr_assert_eq(ps_trace_commit(w), 0);
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, path), 0);
	cr_assert_eq(ps_trace_next(r, &ev), 1);
	cr_assert_eq(ev.type, PS_REC_OFFCPU);
	cr_assert_eq(ev.offcpu.sample.time, 10);
	cr_assert_eq(ev.offcpu.sample.period, 20);
	cr_assert_eq(ev.offcpu.sample.tid, 2);
	cr_assert_eq(ev.offcpu.sample.cpu, 3);
	cr_assert_eq(ev.offcpu.sample.nr, 3);
	cr_assert_eq(ev.offcpu.sample.ips[1], chain[1]);
	cr_assert_eq(ev.offcpu.flags, PS_OFFCPU_PREEMPTED | PS_OFFCPU_OPEN);
	cr_assert_eq(ev.offcpu.weight, 3);
	cr_assert_eq(ps_offcpu_time(&ev.offcpu), 60);
	cr_assert_eq(ps_trace_next(r, &ev), 1);
	cr_assert_eq(ev.offcpu.weight, 3);
	cr_assert_eq(ev.offcpu.stands_ns, 77);
	cr_assert_eq(ps_offcpu_time(&ev.offcpu), 77);
	cr_assert_eq(ps_trace_next(r, &ev), 1);
	cr_assert_eq(ev.type, PS_REC_OFFCPU_STATS);
	cr_assert_eq(ev.offcpu_stats.unpaired, 6);
	cr_assert_eq(ev.offcpu_stats.stack_bytes, 1024);
	cr_assert_eq(ev.offcpu_stats.unsampled, 9);
	cr_assert_eq(ev.offcpu_stats.unsampled_ns, 99);
	cr_assert_eq(ps_trace_next(r, &ev), 0);
	ps_trace_close(r);
	unlink(path);
}

/* --off-cpu-period 3: switch-outs without a sample are skipped ones, not written; the
 * sampled ones weigh 3 (each switch-out had a 1 in 3 chance), timed from their switch
 * record, and share out the thread's exact blocked time by their durations: here the
 * skipped preemption too, as no preemption was sampled. */
Test(offcpu, sampled_stacks_weigh_the_skipped)
{
	ps_offcpu_pairer *p = pairer(0);
	ps_offcpu_set_period(p, 3);
	/* Two skipped switch-outs (10 and 20 ns blocked), then a sampled one (30 ns). */
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 100, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 110, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 200, 7, 8, 1, 1, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 220, 7, 8, 1, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 300, 7, 8, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 301, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 331, 7, 8, 0, 0, NULL, 0), 0);
	/* Then a sampled one right after: it weighs 3 too. */
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 400, 7, 8, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 400, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 440, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_finish(p, 1000), 0);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[0].sample.time, 301);
	cr_assert_eq(got[0].sample.period, 30);
	cr_assert_eq(got[0].weight, 3);
	cr_assert_eq(got[0].sample.nr, 3);
	cr_assert_eq(got[0].flags, 0);
	/* 100 ns blocked, 70 of them sampled: 30 * 100/70 and 40 * 100/70. */
	cr_assert_eq(ps_offcpu_time(&got[0]), 43);
	cr_assert_eq(got[1].weight, 3);
	cr_assert_eq(got[1].sample.period, 40);
	cr_assert_eq(ps_offcpu_time(&got[1]), 57);
	ps_offcpu_stats st = ps_offcpu_get_stats(p);
	cr_assert_eq(st.intervals, 2);
	cr_assert_eq(st.unsampled, 2);
	cr_assert_eq(st.no_stack, 0);
	ps_offcpu_free(p);
}

/* Events handed over in many unsorted runs (here: newest first) pair as if sorted. */
Test(offcpu, sorts_many_runs)
{
	ps_offcpu_pairer *p = pairer(0);
	for (int i = 15; i >= 0; i--) {
		uint64_t t = 1000 + 100 * (uint64_t)i;
		cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, t + 5 + (uint64_t)i, 7, 8, 0, 0, NULL, 0), 0);
		cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, t, 7, 8, 0, 0, NULL, 0), 0);
		cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, t, 7, 8, 0, 0, chain, 3), 0);
	}
	cr_assert_eq(ps_offcpu_flush(p, 10000), 0);
	cr_assert_eq(ngot, 16);
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(got[i].sample.time, 1000 + 100 * (uint64_t)i);
		cr_assert_eq(got[i].sample.period, 5 + (uint64_t)i);
		cr_assert_eq(got[i].flags, 0);
	}
	cr_assert_eq(ps_offcpu_get_stats(p).unpaired, 0);
	ps_offcpu_free(p);
}

/* Waits and preemptions are shared out apart: a skipped preemption's time goes to the
 * sampled preemption, a skipped wait's to the sampled wait, whatever their lengths. */
Test(offcpu, sampled_waits_and_preemptions_apart)
{
	ps_offcpu_pairer *p = pairer(0);
	ps_offcpu_set_period(p, 2);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 100, 7, 8, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 100, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 110, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 200, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 230, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT_SAMPLE, 300, 7, 8, 0, 0, chain, 3), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 300, 7, 8, 0, 1, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 305, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_OUT, 400, 7, 8, 0, 1, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_add(p, PS_SW_IN, 415, 7, 8, 0, 0, NULL, 0), 0);
	cr_assert_eq(ps_offcpu_finish(p, 1000), 0);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[0].flags, 0);
	cr_assert_eq(ps_offcpu_time(&got[0]), 40);
	cr_assert_eq(got[1].flags, PS_OFFCPU_PREEMPTED);
	cr_assert_eq(ps_offcpu_time(&got[1]), 20);
	ps_offcpu_free(p);
}
