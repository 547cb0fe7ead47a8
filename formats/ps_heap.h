/* ps_heap: the heap views of a trace's HEAP_ALLOC and HEAP_FREE records — which sampled
 * blocks were freed when, which were still live at the end (leaks) and at the peak of the
 * estimated live heap, and the live heap over time. Sampling weights make every sum an
 * unbiased estimate of the whole heap's bytes. */
#ifndef PS_HEAP_H
#define PS_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ps_heap_track ps_heap_track;

ps_heap_track *ps_heap_track_new(void);
void ps_heap_track_free(ps_heap_track *t); /* NULL is fine */
/* Adds a sampled allocation; its index (0, 1, ...) is the order of the calls. weight:
 * the bytes it stands for. 0 or -ENOMEM. */
int ps_heap_track_add_alloc(ps_heap_track *t, uint64_t time, uint32_t pid, uint64_t addr,
			    uint64_t weight);
int ps_heap_track_add_free(ps_heap_track *t, uint64_t time, uint32_t pid, uint64_t addr);
/* Orders the events by time, pairs each free with the allocation of its (pid, address)
 * (a newer allocation at a live sampled address ends the older block: its free was not
 * seen), and finds the peak. Call once, after every add. 0 or -ENOMEM. */
int ps_heap_track_finish(ps_heap_track *t);
/* After finish: allocation i was never freed / was live at the peak. */
int ps_heap_track_live_at_end(const ps_heap_track *t, size_t i);
int ps_heap_track_live_at_peak(const ps_heap_track *t, size_t i);
/* The estimated live bytes at the peak and its time (0s without allocations). */
uint64_t ps_heap_track_peak(const ps_heap_track *t, uint64_t *time);

/* The live heap after each event, in time order. */
typedef struct ps_heap_point {
	uint64_t time;
	uint64_t live;	 /* estimated live bytes after the event */
	uint64_t allocs; /* estimated bytes allocated so far */
} ps_heap_point;
size_t ps_heap_track_series(const ps_heap_track *t, const ps_heap_point **out);

#endif
