/* ps_heatmap: FlameScope's sub-second offset heat map of a profile's samples — columns are
 * seconds from the start, rows are 20 ms offsets within the second (50 rows, 0 at the top),
 * colour is the sample count. The SVG carries the samples' stacks per cell and a script:
 * clicking a cell, or dragging from one cell to another (a range in time order), draws the
 * flame graph of that range under the map and names the command that writes it
 * (`perfsample flamegraph --time START,END`). */
#ifndef PS_HEATMAP_H
#define PS_HEATMAP_H

#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

#define PS_HEATMAP_ROWS 50
#define PS_HEATMAP_ROW_MS 20
#define PS_HEATMAP_MAX_SECONDS 86400 /* samples later than a day from the start are left out */

typedef struct ps_heatmap_opts {
	uint64_t start_ns; /* the recording's start (ps_trace_summary_start), on samples' clock */
	const char *title; /* NULL: "Heat map" */
	const char *subtitle;
	uint64_t *left_out; /* when not NULL: samples past PS_HEATMAP_MAX_SECONDS */
} ps_heatmap_opts;

/* p must hold its samples (PS_PROFILE_SAMPLES). Deterministic. 0 or a negative code. */
int ps_heatmap_svg(ps_profile *p, const ps_heatmap_opts *o, FILE *out);
/* "second,offset_ms,samples", one line per cell, every cell from second 0 to the last. */
int ps_heatmap_csv(ps_profile *p, const ps_heatmap_opts *o, FILE *out);

#endif
