/* ps_report: the top functions of a profile by self and total samples, as text. */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdio.h>

#include "formats/ps_profile.h"

typedef struct ps_report_opts {
	int sort_total;       /* sort by total (inclusive) instead of self */
	size_t limit;         /* rows; 0 = all */
	int skip_first_frame; /* the first frame is the process name */
} ps_report_opts;

int ps_report_render(ps_profile *p, const ps_report_opts *o, FILE *out);

#endif
