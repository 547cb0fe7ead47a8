/* ps_metric: the metric table and flat sets of series (see ps_metric.h). */
#include "formats/ps_metric.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

#define C PS_METRIC_COUNTER
#define G PS_METRIC_GAUGE
const ps_metric_def ps_metric_defs[] = {
	/* the system (node_exporter) */
	{"node_cpu_seconds_total", C, "seconds", "cpu,mode", "seconds the CPUs spent in each mode"},
	{"node_load1", G, "count", "", "1m load average"},
	{"node_load5", G, "count", "", "5m load average"},
	{"node_load15", G, "count", "", "15m load average"},
	{"node_procs_running", G, "count", "", "runnable tasks"},
	{"node_procs_blocked", G, "count", "", "tasks blocked on I/O"},
	{"node_context_switches_total", C, "count", "", "context switches"},
	{"node_forks_total", C, "count", "", "forks"},
	{"node_pressure_cpu_waiting_seconds_total", C, "seconds", "", "PSI: some tasks waited for a CPU"},
	{"node_pressure_memory_waiting_seconds_total", C, "seconds", "", "PSI: some tasks waited for memory"},
	{"node_pressure_memory_stalled_seconds_total", C, "seconds", "", "PSI: all tasks waited for memory"},
	{"node_pressure_io_waiting_seconds_total", C, "seconds", "", "PSI: some tasks waited for I/O"},
	{"node_pressure_io_stalled_seconds_total", C, "seconds", "", "PSI: all tasks waited for I/O"},
	{"node_memory_MemTotal_bytes", G, "bytes", "", "memory"},
	{"node_memory_MemFree_bytes", G, "bytes", "", "unused memory"},
	{"node_memory_MemAvailable_bytes", G, "bytes", "", "memory available without swapping"},
	{"node_memory_Buffers_bytes", G, "bytes", "", "block device buffers"},
	{"node_memory_Cached_bytes", G, "bytes", "", "page cache"},
	{"node_memory_SwapTotal_bytes", G, "bytes", "", "swap space"},
	{"node_memory_SwapFree_bytes", G, "bytes", "", "unused swap space"},
	{"node_vmstat_pswpin", C, "count", "", "pages swapped in"},
	{"node_vmstat_pswpout", C, "count", "", "pages swapped out"},
	{"node_vmstat_pgmajfault", C, "count", "", "major page faults"},
	{"node_vmstat_oom_kill", C, "count", "", "processes the OOM killer killed"},
	{"node_disk_reads_completed_total", C, "count", "device", "reads completed"},
	{"node_disk_writes_completed_total", C, "count", "device", "writes completed"},
	{"node_disk_read_bytes_total", C, "bytes", "device", "bytes read"},
	{"node_disk_written_bytes_total", C, "bytes", "device", "bytes written"},
	{"node_disk_read_time_seconds_total", C, "seconds", "device", "time reads took"},
	{"node_disk_write_time_seconds_total", C, "seconds", "device", "time writes took"},
	{"node_disk_io_now", G, "count", "device", "I/Os in progress"},
	{"node_disk_io_time_seconds_total", C, "seconds", "device", "time the device was busy"},
	{"node_disk_io_time_weighted_seconds_total", C, "seconds", "device", "busy time weighted by I/Os in flight (queue)"},
	/* node_exporter has none: SCSI's count of failed commands (sysfs ioerr_cnt) */
	{"perfsample_disk_io_errors_total", C, "count", "device", "I/O requests the device failed"},
	{"node_network_receive_bytes_total", C, "bytes", "device", "bytes received"},
	{"node_network_transmit_bytes_total", C, "bytes", "device", "bytes sent"},
	{"node_network_receive_packets_total", C, "count", "device", "packets received"},
	{"node_network_transmit_packets_total", C, "count", "device", "packets sent"},
	{"node_network_receive_errs_total", C, "count", "device", "receive errors"},
	{"node_network_transmit_errs_total", C, "count", "device", "transmit errors"},
	{"node_network_receive_drop_total", C, "count", "device", "received packets dropped"},
	{"node_network_transmit_drop_total", C, "count", "device", "packets dropped on sending"},
	{"node_network_receive_fifo_total", C, "count", "device", "receive FIFO overruns"},
	{"node_network_transmit_fifo_total", C, "count", "device", "transmit FIFO overruns"},
	{"node_network_speed_bytes", G, "bytes", "device", "link speed per second"},
	{"node_softnet_dropped_total", C, "count", "cpu", "packets dropped by the backlog queue"},
	{"node_softnet_times_squeezed_total", C, "count", "cpu", "net_rx_action ran out of budget"},
	{"node_edac_correctable_errors_total", C, "count", "controller", "corrected memory errors"},
	{"node_edac_uncorrectable_errors_total", C, "count", "controller", "uncorrected memory errors"},
	/* a process (Prometheus client libraries, process-exporter) */
	{"process_cpu_seconds_total", C, "seconds", "", "user and system CPU time"},
	{"process_resident_memory_bytes", G, "bytes", "", "resident set size"},
	{"process_virtual_memory_bytes", G, "bytes", "", "virtual memory size"},
	{"process_threads", G, "count", "", "threads"},
	{"process_context_switches_total", C, "count", "ctxswitchtype", "voluntary and nonvoluntary context switches"},
	{"process_minor_page_faults_total", C, "count", "", "minor page faults"},
	{"process_major_page_faults_total", C, "count", "", "major page faults"},
	{"process_read_bytes_total", C, "bytes", "", "bytes read from storage"},
	{"process_write_bytes_total", C, "bytes", "", "bytes written to storage"},
	/* the sampler itself */
	{"perfsample_sampler_cpu_seconds_total", C, "seconds", "", "CPU the statistics sampler used"},
};
#undef C
#undef G
const size_t ps_metric_ndefs = sizeof(ps_metric_defs) / sizeof(ps_metric_defs[0]);

const ps_metric_def *ps_metric_find(const char *key)
{
	size_t len = strcspn(key, "{");
	for (size_t i = 0; i < ps_metric_ndefs; i++)
		if (strlen(ps_metric_defs[i].name) == len && !strncmp(ps_metric_defs[i].name, key, len))
			return &ps_metric_defs[i];
	return NULL;
}

/* Appends v escaped (\\, \", \n; control bytes dropped) to key at *pos, leaving room for
 * the closing `"}` (3 bytes with the NUL). */
static void put_label(char *key, size_t *pos, const char *l, const char *v)
{
	size_t cap = PS_METRIC_KEY_MAX - 4;
	int n = snprintf(key + *pos, cap - *pos, "%s=\"", l);
	if (n < 0 || (size_t)n >= cap - *pos)
		return;
	*pos += (size_t)n;
	for (const unsigned char *s = (const unsigned char *)v; *s && *pos + 2 < cap; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			key[(*pos)++] = '\\';
			key[(*pos)++] = *s == '\n' ? 'n' : (char)*s;
		} else if (*s >= 0x20 && *s != 0x7f) {
			key[(*pos)++] = (char)*s;
		}
	}
	key[(*pos)++] = '"';
	key[*pos] = '\0';
}

int ps_metrics_add(ps_metrics *m, const char *name, const char *l1, const char *v1,
		   const char *l2, const char *v2, double value)
{
	if (PS_GROW(m->v, m->cap, m->n + 1))
		return -ENOMEM;
	ps_metric_val *mv = &m->v[m->n];
	char *key = mv->key;
	size_t pos = (size_t)snprintf(key, PS_METRIC_KEY_MAX - 8, "%s", name);
	if (pos >= PS_METRIC_KEY_MAX - 8)
		pos = PS_METRIC_KEY_MAX - 9;
	if (l1) {
		key[pos++] = '{';
		put_label(key, &pos, l1, v1 ? v1 : "");
		if (l2) {
			key[pos++] = ',';
			put_label(key, &pos, l2, v2 ? v2 : "");
		}
		key[pos++] = '}';
		key[pos] = '\0';
	}
	mv->value = value;
	m->n++;
	return 0;
}

double ps_metrics_get(const ps_metrics *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].key, key))
			return m->v[i].value;
	return NAN;
}

double ps_metrics_sum(const ps_metrics *m, const char *name, const char *match)
{
	size_t len = strlen(name);
	double sum = 0;
	int any = 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->v[i].key;
		if (strncmp(k, name, len) || (k[len] && k[len] != '{'))
			continue;
		if (match && !strstr(k + len, match))
			continue;
		sum += m->v[i].value;
		any = 1;
	}
	return any ? sum : NAN;
}

const char *ps_metric_label(const char *key, const char *label, char *out, size_t outlen)
{
	size_t ll = strlen(label), o = 0;
	out[0] = '\0';
	const char *p = strchr(key, '{');
	while (p && *p) {
		p++;
		if (!strncmp(p, label, ll) && p[ll] == '=' && p[ll + 1] == '"') {
			for (p += ll + 2; *p && *p != '"' && o + 1 < outlen; p++) {
				if (*p == '\\' && p[1])
					p++;
				out[o++] = *p == 'n' && p[-1] == '\\' ? '\n' : *p;
			}
			out[o] = '\0';
			return out;
		}
		/* skip this label's value */
		p = strchr(p, '"');
		for (p = p ? p + 1 : NULL; p && *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		p = p && *p ? strchr(p, ',') : NULL;
	}
	return out;
}

void ps_metrics_clear(ps_metrics *m) { m->n = 0; }

void ps_metrics_release(ps_metrics *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}
