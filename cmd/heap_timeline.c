/* perfsample heap-timeline: the live heap of a record --heap trace over time, as SVG. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "formats/ps_heap.h"
#include "render/ps_heapline.h"

static const char heap_timeline_usage[] =
    "usage: perfsample heap-timeline [-i TRACE] [options] > heap.svg\n"
    "\n"
    "Draws the live heap of a trace recorded with --heap over time: the sum of the weights\n"
    "of sampled blocks not yet freed (an unbiased estimate of the live bytes), with the\n"
    "peak marked. The peak is the moment `--heap peak` views.\n";

int cmd_heap_timeline(int argc, char **argv)
{
	const char *input = NULL, *title = NULL;
	int width = 1200, height = 400;
	const struct opt options[] = {
	    OPT_STRING('i', "input-file", &input, "TRACE",
		       "the trace (default perfsample.data; an operand is one too)"),
	    OPT_STRING(0, "title", &title, "TEXT", "the chart's title"),
	    OPT_INT(0, "width", &width, "PX", "image width (default 1200)", 200, 20000),
	    OPT_INT(0, "height", &height, "PX", "image height (default 400)", 100, 20000),
	    OPT_END(),
	};
	argc = parse_options(argc, argv, options, heap_timeline_usage, 0);
	if (argc > 1 || (argc == 1 && input))
		usage_error("heap-timeline", "give one trace");
	if (argc == 1)
		input = argv[0];
	const char *path = input ? input : DEFAULT_TRACE;
	ps_trace_reader *r = open_trace(path);
	if (!ps_trace_meta(r, "heap_rate"))
		die("'%s' has no heap samples: record with --heap", path);
	ps_heap_track *t = ps_heap_track_new();
	if (!t)
		die("out of memory");
	ps_trace_summary sum = {0};
	ps_event ev;
	int got, err = 0;
	while (!err && (got = ps_trace_next(r, &ev)) > 0) {
		ps_trace_summary_add(&sum, &ev);
		if (ev.type == PS_REC_HEAP_ALLOC) {
			uint64_t w = ev.heap.weight > (1ull << 40) ? 1ull << 40 : ev.heap.weight;
			err =
			    ps_heap_track_add_alloc(t, ev.heap.time, ev.heap.pid, ev.heap.addr, w);
		} else if (ev.type == PS_REC_HEAP_FREE) {
			err = ps_heap_track_add_free(t, ev.heap.time, ev.heap.pid, ev.heap.addr);
		}
	}
	if (!err && got < 0)
		err = got;
	trace_read_done(r, path, err);
	if (ps_heap_track_finish(t))
		die("out of memory");
	const ps_heap_point *pts;
	size_t n = ps_heap_track_series(t, &pts);
	uint64_t ptime, peak = ps_heap_track_peak(t, &ptime);
	ps_heapline_opts o = {.title = title,
			      .width = width,
			      .height = height,
			      .start_ns = ps_trace_summary_start(&sum),
			      .end_ns = sum.have_stats ? sum.stats.end_ns : 0};
	stdout_done(ps_heapline_render(pts, n, peak, ptime, &o, stdout));
	ps_heap_track_free(t);
	ps_trace_close(r);
	return 0;
}
