/* ps_heapmsg: a heap message of the preload library, checked, as a trace record. */
#include "profiler/ps_heapmsg.h"

#include <string.h>

#include "profiler/heap/ps_heap_wire.h"

int ps_heapmsg_decode(const void *msg, size_t len, ps_event *ev)
{
	if (len < PS_HEAP_WIRE_HEAD || len > sizeof(struct ps_heap_wire) || ((uintptr_t)msg & 7))
		return 0;
	const struct ps_heap_wire *m = msg;
	if (m->magic != PS_HEAP_WIRE_MAGIC)
		return 0;
	memset(ev, 0, sizeof(*ev));
	ev->heap = (ps_heap){.time = m->time, .pid = m->pid, .tid = m->tid, .addr = m->addr};
	if (m->type == PS_HEAP_WIRE_FREE) {
		if (len != PS_HEAP_WIRE_HEAD)
			return 0;
		ev->type = PS_REC_HEAP_FREE;
		return 1;
	}
	if (m->type != PS_HEAP_WIRE_ALLOC || m->nr > PS_HEAP_WIRE_MAX_STACK ||
	    len != PS_HEAP_WIRE_HEAD + (size_t)m->nr * sizeof(m->ips[0]))
		return 0;
	ev->type = PS_REC_HEAP_ALLOC;
	ev->heap.size = m->size;
	ev->heap.weight = m->weight;
	ev->heap.nr = m->nr;
	ev->heap.ips = m->ips;
	return 1;
}
