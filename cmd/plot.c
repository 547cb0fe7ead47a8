/* perfsample plot: the statistics of one or more traces (stat, record --stat) as SVG line
 * charts on a shared time axis, runs overlaid, with the CPU samples per second. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_error.h"
#include "formats/ps_metric.h"
#include "formats/ps_trace.h"
#include "formats/ps_util.h"
#include "render/ps_plot.h"

/* "cpu" is the one derived metric: the busy share of all CPUs, from node_cpu_seconds_total. */
#define DEFAULT_METRICS                                                                    \
	"cpu,node_load1,node_memory_MemAvailable_bytes,node_disk_io_time_seconds_total,"   \
	"node_network_receive_bytes_total,node_network_transmit_bytes_total,"              \
	"process_cpu_seconds_total,process_resident_memory_bytes"
#define MAX_POINTS 10000000

struct series {
	double *t, *v, *idle; /* idle: the cpu panel's idle+iowait seconds */
	uint64_t last_time;
	size_t n, cap, icap;
};

static void add_point(struct series *s, uint64_t time, double v, double idle)
{
	/* records of one interval (each process's, then the system's) share a time: one point */
	if (s->n && s->last_time == time) {
		s->v[s->n - 1] += v;
		if (s->idle)
			s->idle[s->n - 1] += idle;
		return;
	}
	if (s->n >= MAX_POINTS)
		return;
	size_t cap = s->cap, icap = s->icap;
	if (PS_GROW(s->t, cap, s->n + 1) || PS_GROW(s->v, s->cap, s->n + 1) ||
	    PS_GROW(s->idle, icap, s->n + 1))
		die("out of memory");
	s->icap = icap;
	s->t[s->n] = (double)time;
	s->v[s->n] = v;
	s->idle[s->n] = idle;
	s->last_time = time;
	s->n++;
}

/* Counters become rates per second; cpu becomes the busy percent. The first point of a
 * rate has nothing before it and goes. */
static void finish(struct series *s, const char *metric, uint64_t start)
{
	const ps_metric_def *d = ps_metric_find(metric);
	int cpu = !strcmp(metric, "cpu"), counter = cpu || (d && d->type == PS_METRIC_COUNTER);
	size_t o = 0;
	for (size_t i = 0; i < s->n; i++) {
		double t = (s->t[i] - (double)start) / 1e9, v = s->v[i];
		if (counter) {
			if (i == 0)
				continue;
			double dt = (s->t[i] - s->t[i - 1]) / 1e9, dv = s->v[i] - s->v[i - 1];
			if (!(dt > 0))
				continue;
			if (cpu) {
				double di = s->idle[i] - s->idle[i - 1];
				v = dv > 0 ? 100.0 * (1 - di / dv) : 0;
			} else {
				v = dv > 0 ? dv / dt : 0; /* a process gone: no negative rate */
			}
		}
		s->t[o] = t;
		s->v[o] = v;
		o++;
	}
	s->n = o;
}

static const char *unit_of(const char *metric)
{
	if (!strcmp(metric, "cpu"))
		return "percent";
	const ps_metric_def *d = ps_metric_find(metric);
	if (!d)
		return "count";
	if (d->type == PS_METRIC_GAUGE)
		return d->unit;
	return !strcmp(d->unit, "bytes") ? "bytes/s" : !strcmp(d->unit, "seconds") ? "seconds/s"
											: "count/s";
}

static const char plot_usage[] =
	"usage: perfsample plot -i FILE[,FILE..] [--metric M,..] > plot.svg\n"
	"\n"
	"Line charts of the statistics in traces written by `perfsample stat` or\n"
	"`record --stat`: one panel per metric on a shared time axis (seconds from each\n"
	"trace's start), one line per trace, and the CPU samples per second where a trace\n"
	"has samples. Counters are drawn as rates per second.\n";

int cmd_plot(int argc, char **argv)
{
	const char *inputs = NULL, *metrics = DEFAULT_METRICS, *title = NULL;
	const struct opt options[] = {
		OPT_STRING('i', "input-file", &inputs, "FILE[,FILE..]",
			   "the traces (default perfsample.data); several are overlaid"),
		OPT_STRING(0, "metric", &metrics, "M[,M..]",
			   "what to draw: metric names as `perfsample stat` writes them "
			   "(node_load1, node_disk_written_bytes_total, process_resident_memory_bytes"
			   "...; a metric's series are summed over its labels and processes), or cpu "
			   "(busy percent of all CPUs); default: cpu, node_load1, "
			   "node_memory_MemAvailable_bytes, node_disk_io_time_seconds_total, "
			   "node_network_receive_bytes_total, node_network_transmit_bytes_total, "
			   "process_cpu_seconds_total, process_resident_memory_bytes"),
		OPT_STRING(0, "title", &title, "TEXT", "the title"),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, plot_usage, 0);
	if (argc)
		usage_error("plot", "unexpected argument '%s' (give traces with -i A,B)", argv[0]);
	char *ilist = arg_strdup(inputs ? inputs : DEFAULT_TRACE);
	char *mlist = arg_strdup(metrics);
	const char *files[64], *names[64];
	size_t nfiles = 0, nmetrics = 0;
	for (char *save = NULL, *t = strtok_r(ilist, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (nfiles == 64)
			die_usage("too many inputs (at most 64)");
		files[nfiles++] = t;
	}
	for (char *save = NULL, *t = strtok_r(mlist, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (nmetrics == 64)
			die_usage("too many metrics (at most 64)");
		if (strcmp(t, "cpu") && !ps_metric_find(t))
			die_usage("unknown metric '%s' (see perfsample plot --help)", t);
		names[nmetrics++] = t;
	}
	if (!nfiles || !nmetrics)
		usage_error("plot", "nothing to draw");
	struct series *ser = arg_alloc(nfiles * nmetrics, sizeof(*ser));
	double **persec = arg_alloc(nfiles, sizeof(*persec));
	size_t *nsec = arg_alloc(nfiles, sizeof(*nsec));
	size_t *mlen = arg_alloc(nmetrics, sizeof(*mlen));
	for (size_t m = 0; m < nmetrics; m++)
		mlen[m] = strlen(names[m]);
	size_t with_metrics = 0;
	for (size_t f = 0; f < nfiles; f++) {
		ps_trace_reader *r = open_trace(files[f]);
		ps_trace_summary sum = {0};
		int rc = ps_trace_summarize(r, &sum);
		if (!rc)
			rc = ps_trace_rewind(r);
		trace_read_done(r, files[f], rc);
		uint64_t start = ps_trace_summary_start(&sum);
		size_t nmrec = 0;
		ps_event ev;
		while ((rc = ps_trace_next(r, &ev)) > 0) {
			if (ev.type == PS_REC_SAMPLE) {
				uint64_t s = ev.sample.time > start ? (ev.sample.time - start) / 1000000000ull : 0;
				if (s >= 86400 * 7)
					continue;
				if (s >= nsec[f]) {
					size_t cap = nsec[f];
					if (PS_GROW(persec[f], cap, s + 1))
						die("out of memory");
					memset(persec[f] + nsec[f], 0, (s + 1 - nsec[f]) * sizeof(double));
					nsec[f] = s + 1;
				}
				persec[f][s]++;
				continue;
			}
			if (ev.type != PS_REC_METRICS)
				continue;
			nmrec++;
			const ps_metricrec *mr = &ev.metrics;
			for (size_t m = 0; m < nmetrics; m++) {
				int cpu = !strcmp(names[m], "cpu");
				const char *want = cpu ? "node_cpu_seconds_total" : names[m];
				int proc = !strncmp(want, "process_", 8);
				if ((mr->pid != 0) != proc)
					continue;
				size_t wl = strlen(want);
				double v = 0, idle = 0;
				int any = 0;
				for (uint32_t i = 0; i < mr->n; i++) {
					const char *k = mr->vals[i].key;
					if (strncmp(k, want, wl) || (k[wl] && k[wl] != '{'))
						continue;
					double x = mr->vals[i].value;
					if (!isfinite(x))
						continue;
					any = 1;
					v += x;
					if (cpu && (strstr(k, "mode=\"idle\"") || strstr(k, "mode=\"iowait\"")))
						idle += x;
				}
				if (any)
					add_point(&ser[f * nmetrics + m], mr->time, v, idle);
			}
		}
		trace_read_done(r, files[f], rc < 0 ? rc : 0);
		ps_trace_close(r);
		with_metrics += nmrec > 0;
		for (size_t m = 0; m < nmetrics; m++)
			finish(&ser[f * nmetrics + m], names[m], start);
	}
	if (!with_metrics)
		die("no statistics in %s: record them with 'perfsample stat' or 'record --stat'",
		    nfiles == 1 ? files[0] : "the traces");
	ps_plot_panel *panels = arg_alloc(nmetrics, sizeof(*panels));
	for (size_t m = 0; m < nmetrics; m++) {
		ps_plot_line *lines = arg_alloc(nfiles, sizeof(*lines));
		for (size_t f = 0; f < nfiles; f++) {
			struct series *s = &ser[f * nmetrics + m];
			lines[f] = (ps_plot_line){s->n, s->t, s->v};
		}
		panels[m] = (ps_plot_panel){strcmp(names[m], "cpu") ? names[m] : "cpu busy",
					    unit_of(names[m]), lines};
	}
	ps_plot plot = {title, nfiles, files, nmetrics, panels, (const double *const *)persec, nsec};
	stdout_done(ps_plot_svg(&plot, stdout));
	return 0;
}
