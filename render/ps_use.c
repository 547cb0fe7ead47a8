/* ps_use: the USE checklist (see ps_use.h). Every threshold and every hint is in the two
 * tables below; the code only measures and compares. */
#include "render/ps_use.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The thresholds (documented in docs/perfsample.1 via `use --help`, and here). */
const ps_use_rule ps_use_rules[] = {
	{USE_CPU, M_CPU_UTIL, "busy %", AS_UTIL, 70, 90,
	 "the CPUs are busy: a CPU profile of the whole system shows which code keeps them busy"},
	{USE_CPU, M_CPU_RUNQ, "runnable per CPU", AS_SAT, 1.5, 3,
	 "more threads want to run than there are CPUs: a CPU profile shows what they run"},
	{USE_CPU, M_CPU_PSI, "PSI some %", AS_SAT, 10, 40,
	 "tasks wait for a CPU: a CPU profile shows what holds the CPUs"},
	{USE_MEMORY, M_MEM_UTIL, "used %", AS_UTIL, 85, 95,
	 "memory is nearly full: a heap profile of the processes that grow shows who allocates"},
	{USE_MEMORY, M_MEM_SWAPIN, "swap-ins/s", AS_SAT, 1, 100,
	 "pages come back from swap: a heap profile of the processes that grow shows who allocates"},
	{USE_MEMORY, M_MEM_PSI, "PSI some %", AS_SAT, 5, 20,
	 "tasks wait for memory: a heap profile of the processes that grow shows who allocates"},
	{USE_MEMORY, M_MEM_PSI_FULL, "PSI full %", AS_SAT, 1, 10,
	 "every task waits for memory at times: a heap profile of the processes that grow shows who allocates"},
	{USE_MEMORY, M_MEM_OOM, "OOM kills", AS_ERR, 1, 1,
	 "the OOM killer ran: a heap profile of the processes that grow shows who allocates"},
	{USE_MEMORY, M_MEM_EDAC, "EDAC errors", AS_ERR, 1, INFINITY,
	 "the memory reports errors: check the hardware (edac-util)"},
	{USE_DISK, M_DISK_UTIL, "busy %", AS_UTIL, 60, 90,
	 "the disk is busy: an off-CPU profile of the processes doing I/O shows which code waits for it"},
	{USE_DISK, M_DISK_QUEUE, "queue", AS_SAT, 2, 8,
	 "I/Os queue at the disk: an off-CPU profile of the processes doing I/O shows which code waits"},
	{USE_DISK, M_DISK_AWAIT, "await ms", AS_SAT, 50, 500,
	 "I/Os take long: an off-CPU profile of the processes doing I/O shows which code waits"},
	{USE_DISK, M_DISK_ERRS, "I/O errors", AS_ERR, 1, INFINITY,
	 "the disk fails requests: check the device (dmesg, smartctl)"},
	{USE_DISK, M_IO_PSI, "PSI some %", AS_SAT, 10, 40,
	 "tasks wait for I/O: an off-CPU profile of the processes doing I/O shows which code waits"},
	{USE_DISK, M_IO_PSI_FULL, "PSI full %", AS_SAT, 5, 20,
	 "every task waits for I/O at times: an off-CPU profile of the processes doing I/O shows which code waits"},
	{USE_NET, M_NET_UTIL, "link %", AS_UTIL, 60, 90,
	 "the link is busy: a CPU profile of the whole system shows who sends and receives"},
	{USE_NET, M_NET_DROPS, "drops/s", AS_SAT, 1, 100,
	 "packets are dropped: a CPU profile of the whole system shows where the receive path spends"},
	{USE_NET, M_NET_ERRS, "errors", AS_ERR, 1, INFINITY,
	 "the NIC reports errors: check the link (ethtool -S)"},
	{USE_NET, M_NET_SQUEEZE, "softnet squeezes+drops/s", AS_SAT, 1, 100,
	 "the kernel runs out of receive budget: a CPU profile of the whole system shows softirq time"},
};
const size_t ps_use_nrules = sizeof(ps_use_rules) / sizeof(ps_use_rules[0]);

/* The next command per kind of resource; %s is the target (-a or -p PIDS). */
static const char *const hint_cmd[USE_NKINDS] = {
	[USE_CPU] = "perfsample record -a -g -d 10 && perfsample flamegraph > cpu.svg",
	[USE_MEMORY] = "perfsample record --heap %s -d 30 && perfsample flamegraph --heap inuse > heap.svg",
	[USE_DISK] = "perfsample record --off-cpu -g %s -d 10 && perfsample flamegraph --off-cpu > offcpu.svg",
	[USE_NET] = "perfsample record -a -g -d 10 && perfsample flamegraph > cpu.svg",
};

const char *ps_use_verdict_name(enum ps_use_verdict v)
{
	return v == PS_USE_BOTTLENECK ? "bottleneck" : v == PS_USE_WARN ? "warn" : "ok";
}

static double delta(const ps_use_input *in, const char *name, const char *match)
{
	double a = ps_metrics_sum(in->before, name, match), b = ps_metrics_sum(in->after, name, match);
	if (isnan(a) || isnan(b))
		return NAN;
	return b >= a ? b - a : 0; /* a counter that went back (a device replaced): nothing */
}

static double rate(const ps_use_input *in, const char *name, const char *match)
{
	return in->seconds > 0 ? delta(in, name, match) / in->seconds : NAN;
}

struct measures {
	double v[M_NMEASURES];
};

static void cpu_measures(const ps_use_input *in, struct measures *m)
{
	double total = delta(in, "node_cpu_seconds_total", NULL);
	double idle = delta(in, "node_cpu_seconds_total", "mode=\"idle\"");
	double iowait = delta(in, "node_cpu_seconds_total", "mode=\"iowait\"");
	m->v[M_CPU_UTIL] = total > 0 ? 100.0 * (1 - (idle + (isnan(iowait) ? 0 : iowait)) / total) : NAN;
	size_t ncpu = 0;
	for (size_t i = 0; i < in->after->n; i++)
		ncpu += !strncmp(in->after->v[i].key, "node_cpu_seconds_total{", 23) &&
			strstr(in->after->v[i].key, "mode=\"idle\"");
	/* procs_running counts this reader too: one less, averaged over both ends */
	double r0 = ps_metrics_get(in->before, "node_procs_running");
	double r1 = ps_metrics_get(in->after, "node_procs_running");
	double run = (r0 + r1) / 2 - 1;
	m->v[M_CPU_RUNQ] = ncpu && !isnan(run) ? (run < 0 ? 0 : run) / (double)ncpu : NAN;
	m->v[M_CPU_PSI] = 100.0 * rate(in, "node_pressure_cpu_waiting_seconds_total", NULL);
}

static void mem_measures(const ps_use_input *in, struct measures *m)
{
	double total = ps_metrics_get(in->after, "node_memory_MemTotal_bytes");
	double avail = ps_metrics_get(in->after, "node_memory_MemAvailable_bytes");
	m->v[M_MEM_UTIL] = total > 0 && !isnan(avail) ? 100.0 * (1 - avail / total) : NAN;
	m->v[M_MEM_SWAPIN] = rate(in, "node_vmstat_pswpin", NULL);
	m->v[M_MEM_PSI] = 100.0 * rate(in, "node_pressure_memory_waiting_seconds_total", NULL);
	m->v[M_MEM_PSI_FULL] = 100.0 * rate(in, "node_pressure_memory_stalled_seconds_total", NULL);
	m->v[M_MEM_OOM] = delta(in, "node_vmstat_oom_kill", NULL);
	double ce = delta(in, "node_edac_correctable_errors_total", NULL);
	double ue = delta(in, "node_edac_uncorrectable_errors_total", NULL);
	m->v[M_MEM_EDAC] = isnan(ce) && isnan(ue) ? NAN : (isnan(ce) ? 0 : ce) + (isnan(ue) ? 0 : ue);
}

static void disk_measures(const ps_use_input *in, const char *dev, struct measures *m)
{
	char match[96];
	snprintf(match, sizeof(match), "device=\"%s\"", dev);
	double busy = rate(in, "node_disk_io_time_seconds_total", match);
	m->v[M_DISK_UTIL] = isnan(busy) ? NAN : fmin(100.0, 100.0 * busy);
	m->v[M_DISK_QUEUE] = rate(in, "node_disk_io_time_weighted_seconds_total", match);
	double ios = delta(in, "node_disk_reads_completed_total", match) +
		     delta(in, "node_disk_writes_completed_total", match);
	double t = delta(in, "node_disk_read_time_seconds_total", match) +
		   delta(in, "node_disk_write_time_seconds_total", match);
	m->v[M_DISK_AWAIT] = ios > 0 ? 1000.0 * t / ios : NAN;
	m->v[M_DISK_ERRS] = delta(in, "perfsample_disk_io_errors_total", match);
}

static void net_measures(const ps_use_input *in, const char *dev, struct measures *m)
{
	char match[96];
	snprintf(match, sizeof(match), "device=\"%s\"", dev);
	double speed = ps_metrics_sum(in->after, "node_network_speed_bytes", match);
	double rx = rate(in, "node_network_receive_bytes_total", match);
	double tx = rate(in, "node_network_transmit_bytes_total", match);
	m->v[M_NET_UTIL] = speed > 0 ? fmin(100.0, 100.0 * fmax(rx, tx) / speed) : NAN;
	m->v[M_NET_DROPS] = rate(in, "node_network_receive_drop_total", match) +
			    rate(in, "node_network_transmit_drop_total", match) +
			    rate(in, "node_network_receive_fifo_total", match) +
			    rate(in, "node_network_transmit_fifo_total", match);
	m->v[M_NET_ERRS] = delta(in, "node_network_receive_errs_total", match) +
			   delta(in, "node_network_transmit_errs_total", match);
}

static int cmp_cpu(const void *a, const void *b)
{
	const ps_use_proc *x = a, *y = b;
	return (x->cpu_percent < y->cpu_percent) - (x->cpu_percent > y->cpu_percent);
}
static int cmp_io(const void *a, const void *b)
{
	const ps_use_proc *x = a, *y = b;
	return (x->io_bytes < y->io_bytes) - (x->io_bytes > y->io_bytes);
}
static int cmp_rss(const void *a, const void *b)
{
	const ps_use_proc *x = a, *y = b;
	double gx = x->rss_growth > 0 ? x->rss_growth : 0, gy = y->rss_growth > 0 ? y->rss_growth : 0;
	if (gx != gy)
		return (gx < gy) - (gx > gy);
	return (x->rss_bytes < y->rss_bytes) - (x->rss_bytes > y->rss_bytes);
}

/* The top five processes for a kind of resource: "-p 1,2,3" into target and
 * "comm[1] 99%, ..." into who; -a when none did anything. */
static void top_procs(const ps_use_input *in, enum ps_use_row_kind kind, char *target,
		      size_t tlen, char *who, size_t wlen)
{
	snprintf(target, tlen, "-a");
	who[0] = '\0';
	if (!in->nprocs)
		return;
	ps_use_proc *p = malloc(in->nprocs * sizeof(*p));
	if (!p)
		return;
	memcpy(p, in->procs, in->nprocs * sizeof(*p));
	qsort(p, in->nprocs, sizeof(*p), kind == USE_DISK ? cmp_io : kind == USE_MEMORY ? cmp_rss : cmp_cpu);
	size_t tp = 0, wp = 0;
	for (size_t i = 0, k = 0; i < in->nprocs && k < 5; i++) {
		double v = kind == USE_DISK ? p[i].io_bytes / (in->seconds > 0 ? in->seconds : 1)
			   : kind == USE_MEMORY ? (p[i].rss_growth > 0 ? p[i].rss_growth : p[i].rss_bytes)
						: p[i].cpu_percent;
		if (!(v > 0))
			break;
		char comm[64];
		size_t c = 0;
		for (const char *s = p[i].comm; *s && c + 1 < sizeof(comm); s++)
			comm[c++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		comm[c] = '\0';
		int n = snprintf(target + tp, tlen - tp, k ? ",%u" : "-p %u", p[i].pid);
		tp = n > 0 && (size_t)n < tlen - tp ? tp + (size_t)n : tp;
		if (kind == USE_DISK)
			n = snprintf(who + wp, wlen - wp, "%s%s[%u] %.1f MB/s", k ? ", " : "", comm,
				     p[i].pid, v / 1e6);
		else if (kind == USE_MEMORY)
			n = snprintf(who + wp, wlen - wp, "%s%s[%u] %s%.1f MB", k ? ", " : "", comm,
				     p[i].pid, p[i].rss_growth > 0 ? "+" : "", v / 1e6);
		else
			n = snprintf(who + wp, wlen - wp, "%s%s[%u] %.0f%%", k ? ", " : "", comm,
				     p[i].pid, v);
		wp = n > 0 && (size_t)n < wlen - wp ? wp + (size_t)n : wp;
		k++;
	}
	free(p);
}

/* Applies the rules of the row's kind to its measures (those in `use` only). */
static void judge(const ps_use_input *in, ps_use_row *row, enum ps_use_row_kind kind,
		  const struct measures *m, const int *use)
{
	const ps_use_rule *worst = NULL;
	row->verdict = PS_USE_OK;
	row->utilization = NAN;
	row->saturation = NAN;
	row->errors = 0;
	size_t dp = 0;
	double worst_sat = -1;
	for (size_t i = 0; i < ps_use_nrules; i++) {
		const ps_use_rule *r = &ps_use_rules[i];
		if (r->kind != kind || !use[r->measure])
			continue;
		double v = m->v[r->measure];
		if (isnan(v))
			continue;
		int n = snprintf(row->detail + dp, sizeof(row->detail) - dp, "%s%s %.4g",
				 dp ? ", " : "", r->what, v);
		dp = n > 0 && (size_t)n < sizeof(row->detail) - dp ? dp + (size_t)n : dp;
		if (r->role == AS_UTIL)
			row->utilization = v;
		else if (r->role == AS_ERR)
			row->errors += v;
		enum ps_use_verdict vd = v >= r->bottleneck ? PS_USE_BOTTLENECK
					 : v >= r->warn     ? PS_USE_WARN
							    : PS_USE_OK;
		/* the saturation shown is the one nearest its bottleneck threshold */
		if (r->role == AS_SAT && v / r->bottleneck > worst_sat) {
			worst_sat = v / r->bottleneck;
			row->saturation = v;
			snprintf(row->saturation_what, sizeof(row->saturation_what), "%s", r->what);
		}
		if (vd > row->verdict) {
			row->verdict = vd;
			worst = r;
		}
	}
	row->hint[0] = '\0';
	if (!worst)
		return;
	char target[96], who[200], cmd[256];
	top_procs(in, kind, target, sizeof(target), who, sizeof(who));
	snprintf(cmd, sizeof(cmd), hint_cmd[kind], target);
	snprintf(row->hint, sizeof(row->hint), "%s  # %s%s%s%s", cmd, worst->why,
		 who[0] ? " (top: " : "", who, who[0] ? ")" : "");
}

static int add_row(ps_use_row **rows, size_t *n, size_t *cap)
{
	if (PS_GROW(*rows, *cap, *n + 1))
		return -ENOMEM;
	memset(&(*rows)[*n], 0, sizeof(**rows));
	(*n)++;
	return 0;
}

/* The label values of a metric's series in the after snapshot, in order, without repeats. */
static size_t devices(const ps_metrics *m, const char *name, char (*out)[72], size_t max)
{
	size_t n = 0, len = strlen(name);
	for (size_t i = 0; i < m->n && n < max; i++) {
		if (strncmp(m->v[i].key, name, len) || m->v[i].key[len] != '{')
			continue;
		char dev[72];
		ps_metric_label(m->v[i].key, "device", dev, sizeof(dev));
		int seen = 0;
		for (size_t j = 0; j < n && !seen; j++)
			seen = !strcmp(out[j], dev);
		if (!seen && dev[0])
			memcpy(out[n++], dev, sizeof(dev));
	}
	return n;
}

int ps_use_evaluate(const ps_use_input *in, ps_use_row **rows, size_t *nrows)
{
	size_t n = 0, cap = 0;
	ps_use_row *r = NULL;
	struct measures m;
	int use[M_NMEASURES];
	char (*dev)[72] = malloc(256 * sizeof(*dev));
	if (!dev)
		return -ENOMEM;
#define ONLY(...)                                                                          \
	do {                                                                               \
		memset(use, 0, sizeof(use));                                               \
		int l_[] = {__VA_ARGS__};                                                  \
		for (size_t i_ = 0; i_ < sizeof(l_) / sizeof(l_[0]); i_++)                 \
			use[l_[i_]] = 1;                                                   \
	} while (0)
	for (size_t i = 0; i < M_NMEASURES; i++)
		m.v[i] = NAN;
	if (add_row(&r, &n, &cap))
		goto oom;
	cpu_measures(in, &m);
	ONLY(M_CPU_UTIL, M_CPU_RUNQ, M_CPU_PSI);
	snprintf(r[n - 1].resource, sizeof(r[n - 1].resource), "cpu");
	judge(in, &r[n - 1], USE_CPU, &m, use);
	if (add_row(&r, &n, &cap))
		goto oom;
	mem_measures(in, &m);
	ONLY(M_MEM_UTIL, M_MEM_SWAPIN, M_MEM_PSI, M_MEM_PSI_FULL, M_MEM_OOM, M_MEM_EDAC);
	snprintf(r[n - 1].resource, sizeof(r[n - 1].resource), "memory");
	judge(in, &r[n - 1], USE_MEMORY, &m, use);
	size_t nd = devices(in->after, "node_disk_io_time_seconds_total", dev, 256);
	for (size_t i = 0; i < nd; i++) {
		if (add_row(&r, &n, &cap))
			goto oom;
		disk_measures(in, dev[i], &m);
		ONLY(M_DISK_UTIL, M_DISK_QUEUE, M_DISK_AWAIT, M_DISK_ERRS);
		snprintf(r[n - 1].resource, sizeof(r[n - 1].resource), "disk %s", dev[i]);
		judge(in, &r[n - 1], USE_DISK, &m, use);
	}
	/* the storage as a whole: I/O pressure */
	m.v[M_IO_PSI] = 100.0 * rate(in, "node_pressure_io_waiting_seconds_total", NULL);
	m.v[M_IO_PSI_FULL] = 100.0 * rate(in, "node_pressure_io_stalled_seconds_total", NULL);
	if (!isnan(m.v[M_IO_PSI])) {
		if (add_row(&r, &n, &cap))
			goto oom;
		ONLY(M_IO_PSI, M_IO_PSI_FULL);
		snprintf(r[n - 1].resource, sizeof(r[n - 1].resource), "io pressure");
		judge(in, &r[n - 1], USE_DISK, &m, use);
	}
	nd = devices(in->after, "node_network_receive_bytes_total", dev, 256);
	for (size_t i = 0; i < nd; i++) {
		if (add_row(&r, &n, &cap))
			goto oom;
		net_measures(in, dev[i], &m);
		ONLY(M_NET_UTIL, M_NET_DROPS, M_NET_ERRS);
		snprintf(r[n - 1].resource, sizeof(r[n - 1].resource), "net %s", dev[i]);
		judge(in, &r[n - 1], USE_NET, &m, use);
	}
	m.v[M_NET_SQUEEZE] = rate(in, "node_softnet_times_squeezed_total", NULL) +
			     rate(in, "node_softnet_dropped_total", NULL);
	if (!isnan(m.v[M_NET_SQUEEZE])) {
		if (add_row(&r, &n, &cap))
			goto oom;
		ONLY(M_NET_SQUEEZE);
		snprintf(r[n - 1].resource, sizeof(r[n - 1].resource), "net softnet");
		judge(in, &r[n - 1], USE_NET, &m, use);
	}
#undef ONLY
	free(dev);
	*rows = r;
	*nrows = n;
	return 0;
oom:
	free(dev);
	free(r);
	return -ENOMEM;
}

static int num_or(ps_buf *b, const char *fmt, double v, const char *none)
{
	return isnan(v) ? ps_buf_addstr(b, none) : ps_buf_printf(b, fmt, v);
}

int ps_use_write_text(ps_buf *b, const ps_use_row *rows, size_t n)
{
	int err = ps_buf_printf(b, "%-16s %6s %-28s %6s %-10s %s\n", "RESOURCE", "UTIL%",
				"SATURATION", "ERRORS", "VERDICT", "DETAILS");
	for (size_t i = 0; i < n && !err; i++) {
		const ps_use_row *r = &rows[i];
		char util[16], sat[64];
		snprintf(util, sizeof(util), isnan(r->utilization) ? "-" : "%.1f", r->utilization);
		if (isnan(r->saturation))
			snprintf(sat, sizeof(sat), "-");
		else
			snprintf(sat, sizeof(sat), "%.2f %s", r->saturation, r->saturation_what);
		/* the resource's name (a NIC's may hold odd bytes) goes in escaped */
		ps_buf name = {0};
		err = ps_escape(&name, PS_ESC_TERM, r->resource, strlen(r->resource));
		if (!err)
			err = ps_buf_printf(b, "%-16s %6s %-28s %6.0f %-10s ",
					    name.data ? name.data : "", util, sat, r->errors,
					    ps_use_verdict_name(r->verdict));
		ps_buf_release(&name);
		if (!err)
			err = ps_escape(b, PS_ESC_TERM, r->detail, strlen(r->detail));
		if (!err)
			err = ps_buf_addstr(b, "\n");
		if (!err && r->hint[0]) {
			err = ps_buf_addstr(b, "  -> ");
			if (!err)
				err = ps_escape(b, PS_ESC_TERM, r->hint, strlen(r->hint));
			if (!err)
				err = ps_buf_addstr(b, "\n");
		}
	}
	return err;
}

static int json_str(ps_buf *b, const char *key, const char *s, int comma)
{
	int err = ps_buf_printf(b, "%s\"%s\": \"", comma ? ", " : "", key);
	if (!err)
		err = ps_escape(b, PS_ESC_JSON, s, strlen(s));
	return err ? err : ps_buf_addstr(b, "\"");
}

int ps_use_write_json(ps_buf *b, const ps_use_row *rows, size_t n)
{
	int err = ps_buf_addstr(b, "[\n");
	for (size_t i = 0; i < n && !err; i++) {
		const ps_use_row *r = &rows[i];
		err = ps_buf_addstr(b, "  {");
		if (!err)
			err = json_str(b, "resource", r->resource, 0);
		if (!err)
			err = ps_buf_addstr(b, ", \"utilization\": ");
		if (!err)
			err = num_or(b, "%.2f", r->utilization, "null");
		if (!err)
			err = ps_buf_addstr(b, ", \"saturation\": ");
		if (!err)
			err = num_or(b, "%.4g", r->saturation, "null");
		if (!err)
			err = json_str(b, "saturation_measure", r->saturation_what, 1);
		if (!err)
			err = ps_buf_printf(b, ", \"errors\": %.0f", r->errors);
		if (!err)
			err = json_str(b, "verdict", ps_use_verdict_name(r->verdict), 1);
		if (!err)
			err = json_str(b, "hint", r->hint, 1);
		if (!err)
			err = json_str(b, "details", r->detail, 1);
		if (!err)
			err = ps_buf_addstr(b, i + 1 < n ? "},\n" : "}\n");
	}
	return err ? err : ps_buf_addstr(b, "]\n");
}
