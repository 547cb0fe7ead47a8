/* ps_heapmsg: the recorder's side of record --heap — checks one message of the preload
 * library (profiler/heap/ps_heap_wire.h), which the profiled program may have forged or
 * corrupted, and turns it into a HEAP_ALLOC or HEAP_FREE trace record. */
#ifndef PS_HEAPMSG_H
#define PS_HEAPMSG_H

#include <stddef.h>

#include "formats/ps_trace.h"

/* 1 and *ev filled (ev->heap.ips points into msg), or 0 for a message to drop (wrong
 * magic, type, size or stack length). */
int ps_heapmsg_decode(const void *msg, size_t len, ps_event *ev);

#endif
