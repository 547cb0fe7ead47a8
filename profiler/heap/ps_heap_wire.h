/* ps_heap_wire: the messages libperfsample-heap.so (in the target) sends the recorder over
 * a SOCK_SEQPACKET socket (fd $PERFSAMPLE_HEAP_FD): one message per sampled allocation or
 * free of a sampled block. The recorder checks every field: a target may send anything. */
#ifndef PS_HEAP_WIRE_H
#define PS_HEAP_WIRE_H

#include <stdint.h>

#define PS_HEAP_WIRE_MAGIC 0x50534850u /* "PHSP" */
#define PS_HEAP_WIRE_ALLOC 1
#define PS_HEAP_WIRE_FREE 2
#define PS_HEAP_WIRE_MAX_STACK 64 /* a message stays far below PIPE_BUF */

struct ps_heap_wire {
	uint32_t magic;
	uint16_t type; /* PS_HEAP_WIRE_ALLOC or _FREE */
	uint16_t nr;   /* return addresses in ips (ALLOC), the allocation's caller first */
	uint64_t time; /* CLOCK_MONOTONIC ns */
	uint32_t pid, tid;
	uint64_t addr;
	uint64_t size;	 /* bytes asked for (ALLOC) */
	uint64_t weight; /* bytes the sample stands for: size / P(sampled) (ALLOC) */
	uint64_t ips[PS_HEAP_WIRE_MAX_STACK];
};
#define PS_HEAP_WIRE_HEAD 48 /* bytes before ips */

/* Environment the recorder sets for the target. */
#define PS_HEAP_ENV_FD "PERFSAMPLE_HEAP_FD"
#define PS_HEAP_ENV_RATE "PERFSAMPLE_HEAP_RATE"
#define PS_HEAP_ENV_UNWIND "PERFSAMPLE_HEAP_UNWIND" /* "fp" or "libunwind" (default) */
#define PS_HEAP_LIB "libperfsample-heap.so"

#endif
