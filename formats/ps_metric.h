/* ps_metric: the one table of system and process metrics perfsample reads from /proc and
 * /sys (stat, use, plot and, later, an HTTP agent's /metrics). Names, types and units are
 * node_exporter's (process_* as Prometheus client libraries and process-exporter spell
 * them), so a sample is written as a Prometheus series key, `name{label="v"}`, and served
 * unchanged. A set of values is a flat array of (key, value). */
#ifndef PS_METRIC_H
#define PS_METRIC_H

#include <stddef.h>
#include <stdint.h>

enum ps_metric_type { PS_METRIC_GAUGE, PS_METRIC_COUNTER };

typedef struct ps_metric_def {
	const char *name;	  /* node_cpu_seconds_total */
	enum ps_metric_type type;
	const char *unit;	  /* seconds, bytes, count, ratio */
	const char *labels;	  /* the label names it carries ("cpu,mode"), "" for none */
	const char *help;
} ps_metric_def;

/* Every metric perfsample writes, in a stable order. */
extern const ps_metric_def ps_metric_defs[];
extern const size_t ps_metric_ndefs;
/* The definition of a series key's metric (the part before '{'), or NULL. */
const ps_metric_def *ps_metric_find(const char *key);

#define PS_METRIC_KEY_MAX 112

typedef struct ps_metric_val {
	char key[PS_METRIC_KEY_MAX]; /* name{label="value",..}; label values are escaped */
	double value;
} ps_metric_val;

/* A set of values (one snapshot of a system or a process). Zero-initialise. */
typedef struct ps_metrics {
	ps_metric_val *v;
	size_t n, cap;
} ps_metrics;

/* Adds name{l1="v1"[,l2="v2"]} = value (l2 may be NULL; l1 NULL: no labels). Label values
 * are cut to fit and escaped as Prometheus text wants (\\, \", \n). 0 or -ENOMEM. */
int ps_metrics_add(ps_metrics *m, const char *name, const char *l1, const char *v1,
		   const char *l2, const char *v2, double value);
/* The value of an exact key, or NAN. */
double ps_metrics_get(const ps_metrics *m, const char *key);
/* The sum of every series of a metric name whose labels contain `match` (e.g.
 * "mode=\"idle\""; NULL: all); NAN when there is none. */
double ps_metrics_sum(const ps_metrics *m, const char *name, const char *match);
/* The value of label `label` in key (copied into out, unescaped), or "" . */
const char *ps_metric_label(const char *key, const char *label, char *out, size_t outlen);
void ps_metrics_clear(ps_metrics *m);
void ps_metrics_release(ps_metrics *m);

#endif
