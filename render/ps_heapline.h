/* ps_heapline: the live heap over time (formats/ps_heap's series) as an SVG line chart,
 * its peak marked — perfsample heap-timeline. */
#ifndef PS_HEAPLINE_H
#define PS_HEAPLINE_H

#include <stdint.h>
#include <stdio.h>

#include "formats/ps_heap.h"

typedef struct ps_heapline_opts {
	const char *title; /* NULL: "Live heap (sampled estimate)" */
	int width, height; /* px; 0: 1200 x 400 */
	uint64_t start_ns; /* time 0 of the x axis (the recording's start) */
	uint64_t end_ns;   /* end of the x axis; 0: the last point */
} ps_heapline_opts;

/* Writes the SVG: a step line of the estimated live bytes, the total allocated as a
 * second line, and the peak marked with its value and time. Deterministic. 0 or a
 * negative code (-EIO when writing fails). */
int ps_heapline_render(const ps_heap_point *pts, size_t n, uint64_t peak, uint64_t peak_time,
		       const ps_heapline_opts *o, FILE *out);

#endif
