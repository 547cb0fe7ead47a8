/* ps_prom: metrics in Prometheus' text format (see ps_prom.h). */
#include "render/ps_prom.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* HELP text escapes backslash and newline. */
static void help(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* A counter whose name does not end in _total (node_vmstat_pgmajfault) is untyped, as
 * node_exporter exposes it: Prometheus' text format wants counters named *_total. */
static const char *type_of(const ps_metric_def *def)
{
	size_t n = strlen(def->name);
	if (def->type != PS_METRIC_COUNTER)
		return "gauge";
	return n > 6 && !strcmp(def->name + n - 6, "_total") ? "counter" : "untyped";
}

static int is_series_of(const char *key, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(key, name, n) && (key[n] == 0 || key[n] == '{');
}

int ps_prom_write(const ps_metrics *m, FILE *out)
{
	for (size_t d = 0; d < ps_metric_ndefs; d++) {
		const ps_metric_def *def = &ps_metric_defs[d];
		int head = 0;
		for (size_t i = 0; i < m->n; i++) {
			if (!is_series_of(m->v[i].key, def->name))
				continue;
			/* One sample per series: a repeated key (the same NIC twice) keeps its first. */
			size_t j = 0;
			while (j < i && strcmp(m->v[j].key, m->v[i].key))
				j++;
			if (j < i)
				continue;
			if (!head) {
				fprintf(out, "# HELP %s ", def->name);
				help(out, def->help);
				fprintf(out, "\n# TYPE %s %s\n", def->name, type_of(def));
				head = 1;
			}
			double v = m->v[i].value;
			if (isnan(v))
				fprintf(out, "%s NaN\n", m->v[i].key);
			else if (isinf(v))
				fprintf(out, "%s %cInf\n", m->v[i].key, v > 0 ? '+' : '-');
			else
				fprintf(out, "%s %.17g\n", m->v[i].key, v);
		}
	}
	return ferror(out) ? -EIO : 0;
}
