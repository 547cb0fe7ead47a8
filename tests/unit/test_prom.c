/* Tests of render/ps_prom: series of one metric together under one HELP and TYPE, in the
 * table's order whatever the order they were added in; a repeated key once; counters not
 * named *_total untyped (as node_exporter); NaN spelled as Prometheus reads it; names the
 * table does not define left out. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/ps_prom.h"

static char *render(const ps_metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert(f);
	cr_assert_eq(ps_prom_write(m, f), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *s, const char *sub)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, sub)); p++)
		n++;
	return n;
}

Test(prom, grouped_typed_deduplicated)
{
	ps_metrics m = {0};
	cr_assert_eq(ps_metrics_add(&m, "node_cpu_seconds_total", "cpu", "0", "mode", "idle", 5), 0);
	cr_assert_eq(ps_metrics_add(&m, "node_memory_MemTotal_bytes", NULL, NULL, NULL, NULL, 1024), 0);
	cr_assert_eq(ps_metrics_add(&m, "node_cpu_seconds_total", "cpu", "1", "mode", "idle", 7.5), 0);
	cr_assert_eq(ps_metrics_add(&m, "node_cpu_seconds_total", "cpu", "0", "mode", "idle", 9), 0);
	cr_assert_eq(ps_metrics_add(&m, "node_vmstat_pgmajfault", NULL, NULL, NULL, NULL, NAN), 0);
	cr_assert_eq(ps_metrics_add(&m, "no_such_metric", NULL, NULL, NULL, NULL, 1), 0);
	char *out = render(&m);
	cr_expect_eq(count(out, "# TYPE node_cpu_seconds_total counter\n"), 1, "%s", out);
	cr_expect_eq(count(out, "# HELP node_cpu_seconds_total "), 1);
	cr_expect(strstr(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 5\n"
			      "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 7.5\n"),
		  "the series of a metric are together, a repeated key once:\n%s", out);
	cr_expect(strstr(out, "# TYPE node_memory_MemTotal_bytes gauge\nnode_memory_MemTotal_bytes 1024\n"));
	cr_expect(strstr(out, "# TYPE node_vmstat_pgmajfault untyped\nnode_vmstat_pgmajfault NaN\n"),
		  "%s", out);
	cr_expect_null(strstr(out, "no_such_metric"));
	free(out);
	ps_metrics_release(&m);
}
