/* libFuzzer target: the recorder's check of the preload library's heap messages
 * (profiler/ps_heapmsg), which a profiled program can forge, and the trace records they
 * become: each accepted message is written into a trace, read back and viewed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_heap.h"
#include "formats/ps_trace.h"
#include "profiler/ps_heapmsg.h"

static int ps_fuzz_heapmsg(const uint8_t *data, size_t size)
{
	/* The recorder receives into an 8-byte aligned buffer of 4096 bytes. */
	uint64_t buf[4096 / 8];
	if (size > sizeof(buf))
		size = sizeof(buf);
	memcpy(buf, data, size);
	ps_event ev;
	if (!ps_heapmsg_decode(buf, size, &ev))
		return 0;
	if (ev.type != PS_REC_HEAP_ALLOC && ev.type != PS_REC_HEAP_FREE)
		abort();
	uint64_t sum = 0;
	for (uint32_t i = 0; ev.type == PS_REC_HEAP_ALLOC && i < ev.heap.nr; i++)
		sum += ev.heap.ips[i];
	ps_heap_track *t = ps_heap_track_new();
	if (!t)
		return 0;
	if (ev.type == PS_REC_HEAP_ALLOC)
		(void)ps_heap_track_add_alloc(t, ev.heap.time, ev.heap.pid, ev.heap.addr,
					      ev.heap.weight);
	(void)ps_heap_track_add_free(t, ev.heap.time, ev.heap.pid, ev.heap.addr);
	(void)ps_heap_track_finish(t);
	(void)ps_heap_track_peak(t, NULL);
	ps_heap_track_free(t);
	return (int)(sum & 0);
}

#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_heapmsg(data, size); }
#endif
