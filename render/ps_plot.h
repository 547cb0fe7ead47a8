/* ps_plot: time series as SVG line charts — one panel per metric on a shared time axis,
 * one line per input (runs overlaid to compare), a legend named after each input, and,
 * where the inputs hold CPU samples, a samples-per-second strip on the same axis. Readable
 * in any browser, with no script. */
#ifndef PS_PLOT_H
#define PS_PLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct ps_plot_line {
	size_t n;
	const double *t, *v; /* seconds from the input's start; values */
} ps_plot_line;

typedef struct ps_plot_panel {
	const char *title; /* the metric */
	const char *unit;  /* "percent", "bytes", "bytes/s", "count", "count/s", "seconds/s" */
	const ps_plot_line *lines; /* one per input; n == 0 when the input lacks it */
} ps_plot_panel;

typedef struct ps_plot {
	const char *title;
	size_t ninputs;
	const char *const *inputs; /* legend names */
	size_t npanels;
	const ps_plot_panel *panels;
	/* samples per whole second, per input (NULL, or nsec[i] == 0: none) */
	const double *const *samples;
	const size_t *nsec;
} ps_plot;

/* Deterministic. 0 or a negative code. */
int ps_plot_svg(const ps_plot *p, FILE *out);

#endif
