/* ps_prom: a set of metrics (formats/ps_metric) in Prometheus' text exposition format,
 * version 0.0.4: the series of each metric of the table together under its HELP and TYPE
 * lines, in the table's order, as promtool check metrics and a Prometheus scrape want.
 * Counters not named *_total are untyped, as node_exporter has them. */
#ifndef PS_PROM_H
#define PS_PROM_H

#include <stdio.h>

#include "formats/ps_metric.h"

/* Writes every series of m whose metric the table defines (others are left out: a name
 * without a type is not exposed); returns 0 or -EIO when out failed. */
int ps_prom_write(const ps_metrics *m, FILE *out);

#endif
