/* The system view's parts: /proc and /sys parsers on real and odd contents, metric keys,
 * the METRICS trace record, and the USE rules on known snapshots. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_metric.h"
#include "formats/ps_procfs.h"
#include "formats/ps_trace.h"
#include "render/ps_use.h"

#define S(x) x, sizeof(x) - 1

Test(procfs, stat_per_cpu_and_totals)
{
	ps_metrics m = {0};
	cr_assert_eq(ps_procfs_parse_stat(S("cpu  100 0 50 850 0 0 0 0 0 0\n"
					    "cpu0 60 0 20 420 0 0 0 0 0 0\n"
					    "cpu1 40 0 30 430 0 0 0 0 0 0\n"
					    "intr 1 2 3\nctxt 12345\nprocesses 99\n"
					    "procs_running 3\nprocs_blocked 1\n"),
					  &m),
		     0);
	cr_assert_float_eq(ps_metrics_get(&m, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}"), 0.6, 1e-9);
	cr_assert_float_eq(ps_metrics_get(&m, "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"}"), 4.3, 1e-9);
	/* the "cpu" total line is not a CPU of its own */
	cr_assert_float_eq(ps_metrics_sum(&m, "node_cpu_seconds_total", "mode=\"idle\""), 8.5, 1e-9);
	cr_assert_eq(ps_metrics_get(&m, "node_context_switches_total"), 12345);
	cr_assert_eq(ps_metrics_get(&m, "node_procs_running"), 3);
	cr_assert_eq(ps_metrics_get(&m, "node_forks_total"), 99);
	ps_metrics_release(&m);
}

Test(procfs, odd_contents_are_skipped)
{
	ps_metrics m = {0};
	/* negative, non-numeric, huge, NUL bytes, missing fields, no newline at the end */
	static const char odd[] = "cpu0 -5 x 1 2\ncpuX 1 2 3 4\nctxt\nctxt 1e5\n"
				  "procs_running 99999999999999999999999999\n\0\0\ncpu1 1 2 3 4";
	cr_assert_eq(ps_procfs_parse_stat(odd, sizeof(odd) - 1, &m), 0);
	cr_assert(isnan(ps_metrics_get(&m, "node_context_switches_total")));
	cr_assert(isnan(ps_metrics_get(&m, "node_procs_running")));
	cr_assert(isnan(ps_metrics_get(&m, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}")));
	cr_assert_float_eq(ps_metrics_get(&m, "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"}"), 0.04, 1e-9);
	ps_metrics_clear(&m);
	cr_assert_eq(ps_procfs_parse_loadavg(S("garbage"), &m), 0);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(ps_procfs_parse_loadavg(S("0.50 1.00 nan 1/2 3"), &m), 0);
	cr_assert_eq(m.n, 2);
	ps_metrics_clear(&m);
	cr_assert_eq(ps_procfs_parse_meminfo(S("MemTotal: 1000 kB\nMemAvailable 5 kB\n:\nSwapFree: -1 kB\n"), &m), 0);
	cr_assert_eq(m.n, 1);
	cr_assert_eq(ps_metrics_get(&m, "node_memory_MemTotal_bytes"), 1024000);
	ps_metrics_release(&m);
}

Test(procfs, pressure_disks_and_nics)
{
	ps_metrics m = {0};
	cr_assert_eq(ps_procfs_parse_pressure(S("some avg10=1.00 avg60=0 avg300=0 total=2500000\n"
						"full avg10=0 avg60=0 avg300=0 total=1000000\n"),
					      "memory", &m),
		     0);
	cr_assert_float_eq(ps_metrics_get(&m, "node_pressure_memory_waiting_seconds_total"), 2.5, 1e-9);
	cr_assert_float_eq(ps_metrics_get(&m, "node_pressure_memory_stalled_seconds_total"), 1.0, 1e-9);
	ps_metrics_clear(&m);
	cr_assert_eq(ps_procfs_parse_diskstats(S("   7 0 loop0 1 2 3 4 5 6 7 8 9 10 11\n"
						 " 254 0 vda 10 0 64 5 20 0 128 7 1 900 1500 0 0 0 0\n"
						 " 254 1 short 1 2 3\n"),
					       &m, NULL, NULL),
		     0);
	cr_assert_eq(ps_metrics_get(&m, "node_disk_read_bytes_total{device=\"vda\"}"), 64 * 512);
	cr_assert_float_eq(ps_metrics_get(&m, "node_disk_io_time_seconds_total{device=\"vda\"}"), 0.9, 1e-9);
	cr_assert(isnan(ps_metrics_sum(&m, "node_disk_reads_completed_total", "loop0")));
	cr_assert(isnan(ps_metrics_sum(&m, "node_disk_reads_completed_total", "short")));
	ps_metrics_clear(&m);
	cr_assert_eq(ps_procfs_parse_netdev(S("Inter-|   Receive |  Transmit\n"
					      " face |bytes packets|bytes\n"
					      "    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
					      "  eth0: 100 2 1 4 5 0 0 0 200 3 0 6 7 0 0 0\n"
					      "ev\"il: 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n"),
					    &m),
		     0);
	cr_assert_eq(ps_metrics_get(&m, "node_network_transmit_bytes_total{device=\"eth0\"}"), 200);
	cr_assert_eq(ps_metrics_get(&m, "node_network_receive_drop_total{device=\"eth0\"}"), 4);
	cr_assert(isnan(ps_metrics_sum(&m, "node_network_receive_bytes_total", "device=\"lo\"")));
	/* a quote in a NIC's name is escaped in the key and read back */
	cr_assert_eq(ps_metrics_get(&m, "node_network_receive_bytes_total{device=\"ev\\\"il\"}"), 1);
	char dev[32];
	ps_metric_label("node_network_receive_bytes_total{device=\"ev\\\"il\"}", "device", dev, sizeof(dev));
	cr_assert_str_eq(dev, "ev\"il");
	ps_metrics_clear(&m);
	cr_assert_eq(ps_procfs_parse_softnet(S("0000000a 00000002 00000003 0 0 0 0 0 0 0 0 0 00000001\nzz\n"), &m), 0);
	cr_assert_eq(ps_metrics_get(&m, "node_softnet_dropped_total{cpu=\"1\"}"), 2);
	cr_assert_eq(ps_metrics_get(&m, "node_softnet_times_squeezed_total{cpu=\"1\"}"), 3);
	ps_metrics_release(&m);
}

Test(procfs, pid_stat_with_hostile_comm)
{
	ps_procstat p;
	memset(&p, 0, sizeof(p));
	/* a comm with ") (" and blanks: the last ')' ends it */
	static const char st[] = "42 (a) (b c) R 1 42 42 0 -1 4194304 100 0 7 0 250 50 0 0 20 0 3 0 "
				 "12345 1000000 256 18446744073709551615";
	cr_assert_eq(ps_procfs_parse_pid_stat(st, sizeof(st) - 1, &p), 0);
	cr_assert_str_eq(p.comm, "a) (b c");
	cr_assert_eq(p.ppid, 1);
	cr_assert_eq(p.minor_faults, 100);
	cr_assert_eq(p.major_faults, 7);
	cr_assert_float_eq(p.cpu_seconds, 3.0, 1e-9);
	cr_assert_eq(p.threads, 3);
	cr_assert_eq(p.rss_bytes, 256 * (uint64_t)sysconf(_SC_PAGESIZE));
	cr_assert_eq(ps_procfs_parse_pid_stat(S("42 (x R 1"), &p), PS_EFORMAT);
	cr_assert_eq(ps_procfs_parse_pid_stat(S("42 (x) R 1 2"), &p), PS_EFORMAT);
	cr_assert_eq(ps_procfs_parse_pid_stat(S(")("), &p), PS_EFORMAT);
	ps_procfs_parse_pid_status(S("Name:\tx\nvoluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches: z\n"), &p);
	cr_assert_eq(p.voluntary_ctxt_switches, 17);
	ps_procfs_parse_pid_io(S("read_bytes: 4096\nwrite_bytes: 8192"), &p);
	cr_assert_eq(p.read_bytes, 4096);
	cr_assert_eq(p.write_bytes, 8192);
}

Test(procfs, this_process_and_a_fake_root)
{
	ps_procstat p;
	cr_assert_eq(ps_procfs_process("", (uint32_t)getpid(), &p), 0);
	cr_assert_geq(p.threads, 1);
	cr_assert_gt(p.rss_bytes, 0);
	/* a root with odd files: nothing read past them, nothing crashes */
	char dir[] = "/tmp/ps-procfs-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256], cmd[1024];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/proc/pressure %s/proc/7 && head -c 3000000 /dev/zero "
		 "| tr '\\0' 'x' > %s/proc/stat && printf 'cpu0 1 2 3 4\\n' >> %s/proc/stat && "
		 "printf '7 (x' > %s/proc/7/stat && printf 'some total=abc' > %s/proc/pressure/io && "
		 "mkdir -p %s/sys/block/sdz/device %s/sys/block/sdy && printf '0x1a\\n' > "
		 "%s/sys/block/sdz/device/ioerr_cnt && printf ' 8 0 sdz 1 2 3 4 5 6 7 8 9 10 11\\n"
		 " 8 1 sdz1 1 2 3 4 5 6 7 8 9 10 11\\n 8 16 sdy 1 2 3 4 5 6 7 8 9 10 11\\n' > "
		 "%s/proc/diskstats",
		 dir, dir, dir, dir, dir, dir, dir, dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	ps_metrics m = {0};
	cr_assert_eq(ps_procfs_system(dir, &m), 0);
	cr_assert(isnan(ps_metrics_sum(&m, "node_pressure_io_waiting_seconds_total", NULL)));
	/* whole disks only (sysfs lists them), with their error counts where there are */
	cr_assert_eq(ps_metrics_get(&m, "node_disk_io_now{device=\"sdz\"}"), 9);
	cr_assert(isnan(ps_metrics_sum(&m, "node_disk_io_now", "sdz1")));
	cr_assert_eq(ps_metrics_get(&m, "perfsample_disk_io_errors_total{device=\"sdz\"}"), 26);
	cr_assert(isnan(ps_metrics_sum(&m, "perfsample_disk_io_errors_total", "sdy")));
	cr_assert_eq(ps_procfs_process(dir, 7, &p), PS_EFORMAT);
	cr_assert_eq(ps_procfs_process(dir, 8, &p), -ENOENT);
	uint32_t *pids;
	cr_assert_eq(ps_procfs_pids(dir, &pids), 1);
	cr_assert_eq(pids[0], 7);
	free(pids);
	ps_metrics_release(&m);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_assert_eq(system(path), 0);
}

Test(metric, keys_are_bounded_and_named)
{
	ps_metrics m = {0};
	char longv[400];
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	cr_assert_eq(ps_metrics_add(&m, "node_disk_io_now", "device", longv, NULL, NULL, 1), 0);
	cr_assert_lt(strlen(m.v[0].key), PS_METRIC_KEY_MAX);
	cr_assert_eq(m.v[0].key[strlen(m.v[0].key) - 1], '}');
	cr_assert_not_null(ps_metric_find(m.v[0].key));
	cr_assert_null(ps_metric_find("node_nonsense"));
	/* every metric has a unit and a help text, and names are unique */
	for (size_t i = 0; i < ps_metric_ndefs; i++) {
		cr_assert(ps_metric_defs[i].unit[0] && ps_metric_defs[i].help[0]);
		for (size_t j = i + 1; j < ps_metric_ndefs; j++)
			cr_assert_str_neq(ps_metric_defs[i].name, ps_metric_defs[j].name);
	}
	ps_metrics_release(&m);
}

Test(metric, trace_record_round_trip)
{
	char dir[] = "/tmp/ps-metric-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/m.data", dir);
	ps_trace_writer *w;
	ps_kv meta[] = {{"event", "none"}};
	cr_assert_eq(ps_trace_create(&w, path, meta, 1, 0), 0);
	ps_metrics m = {0};
	ps_metrics_add(&m, "node_load1", NULL, NULL, NULL, NULL, 1.5);
	ps_metrics_add(&m, "node_cpu_seconds_total", "cpu", "0", "mode", "idle", 12345.25);
	ps_event ev = {.type = PS_REC_METRICS};
	ev.metrics = (ps_metricrec){7, 0, (uint32_t)m.n, "", m.v};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev.metrics = (ps_metricrec){8, 42, 1, "wo,rker\n", m.v};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	ev.metrics.n = PS_METRICS_MAX + 1;
	cr_assert_eq(ps_trace_write(w, &ev), -EINVAL);
	cr_assert_eq(ps_trace_commit(w), 0);
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, path), 0);
	int got = 0;
	while (ps_trace_next(r, &ev) > 0) {
		if (ev.type != PS_REC_METRICS)
			continue;
		if (got++ == 0) {
			cr_assert_eq(ev.metrics.time, 7);
			cr_assert_eq(ev.metrics.n, 2);
			cr_assert_str_eq(ev.metrics.vals[1].key, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}");
			cr_assert_float_eq(ev.metrics.vals[1].value, 12345.25, 1e-9);
		} else {
			cr_assert_eq(ev.metrics.pid, 42);
			cr_assert_str_eq(ev.metrics.comm, "wo,rker\n");
			cr_assert_float_eq(ev.metrics.vals[0].value, 1.5, 1e-9);
		}
	}
	cr_assert_eq(got, 2);
	ps_trace_close(r);
	ps_metrics_release(&m);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Two snapshots one second apart: CPUs busy `busy` percent, a disk busy `disk` percent. */
static void snapshots(ps_metrics *a, ps_metrics *b, double busy, double disk, double running)
{
	for (int c = 0; c < 2; c++) {
		char id[4];
		snprintf(id, sizeof(id), "%d", c);
		ps_metrics_add(a, "node_cpu_seconds_total", "cpu", id, "mode", "user", 100);
		ps_metrics_add(a, "node_cpu_seconds_total", "cpu", id, "mode", "idle", 100);
		ps_metrics_add(b, "node_cpu_seconds_total", "cpu", id, "mode", "user", 100 + busy / 100);
		ps_metrics_add(b, "node_cpu_seconds_total", "cpu", id, "mode", "idle", 100 + 1 - busy / 100);
	}
	ps_metrics *s[] = {a, b};
	for (int i = 0; i < 2; i++) {
		ps_metrics_add(s[i], "node_procs_running", NULL, NULL, NULL, NULL, running);
		ps_metrics_add(s[i], "node_memory_MemTotal_bytes", NULL, NULL, NULL, NULL, 1e9);
		ps_metrics_add(s[i], "node_memory_MemAvailable_bytes", NULL, NULL, NULL, NULL, 8e8);
		ps_metrics_add(s[i], "node_disk_io_time_seconds_total", "device", "sda", NULL, NULL,
			       10 + i * disk / 100);
	}
}

static const ps_use_row *row(const ps_use_row *r, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].resource, name))
			return &r[i];
	cr_assert_fail("no row %s", name);
	return NULL;
}

Test(use, idle_is_ok_busy_is_a_bottleneck_with_hints)
{
	ps_metrics a = {0}, b = {0};
	snapshots(&a, &b, 3, 1, 1);
	ps_use_proc procs[] = {{.pid = 10, .comm = "writer", .io_bytes = 5e7},
			       {.pid = 11, .comm = "loop", .cpu_percent = 99}};
	ps_use_input in = {&a, &b, 1.0, procs, 2};
	ps_use_row *rows;
	size_t n;
	cr_assert_eq(ps_use_evaluate(&in, &rows, &n), 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(rows[i].verdict, PS_USE_OK, "%s: %s", rows[i].resource, rows[i].detail);
		cr_assert_str_eq(rows[i].hint, "");
	}
	cr_assert_float_eq(row(rows, n, "cpu")->utilization, 3, 1e-6);
	cr_assert_float_eq(row(rows, n, "memory")->utilization, 20, 1e-6);
	free(rows);
	ps_metrics_release(&a);
	ps_metrics_release(&b);
	ps_metrics a2 = {0}, b2 = {0};
	snapshots(&a2, &b2, 100, 95, 8);
	in.before = &a2;
	in.after = &b2;
	cr_assert_eq(ps_use_evaluate(&in, &rows, &n), 0);
	const ps_use_row *cpu = row(rows, n, "cpu"), *sda = row(rows, n, "disk sda");
	cr_assert_eq(cpu->verdict, PS_USE_BOTTLENECK);
	cr_assert_float_eq(cpu->saturation, 3.5, 1e-6); /* (8 - 1) runnable over 2 CPUs */
	cr_assert_not_null(strstr(cpu->hint, "perfsample record -a -g"), "%s", cpu->hint);
	cr_assert_not_null(strstr(cpu->hint, "loop[11]"), "%s", cpu->hint);
	cr_assert_eq(sda->verdict, PS_USE_BOTTLENECK);
	cr_assert_not_null(strstr(sda->hint, "--off-cpu -g -p 10 "), "%s", sda->hint);
	ps_buf j = {0};
	cr_assert_eq(ps_use_write_json(&j, rows, n), 0);
	cr_assert_not_null(strstr(j.data, "\"verdict\": \"bottleneck\""));
	ps_buf_release(&j);
	free(rows);
	ps_metrics_release(&a2);
	ps_metrics_release(&b2);
	/* an idle disk that fails requests warns, with the count in errors */
	ps_metrics a3 = {0}, b3 = {0};
	snapshots(&a3, &b3, 3, 1, 1);
	ps_metrics_add(&a3, "perfsample_disk_io_errors_total", "device", "sda", NULL, NULL, 5);
	ps_metrics_add(&b3, "perfsample_disk_io_errors_total", "device", "sda", NULL, NULL, 8);
	in.before = &a3;
	in.after = &b3;
	cr_assert_eq(ps_use_evaluate(&in, &rows, &n), 0);
	sda = row(rows, n, "disk sda");
	cr_assert_eq(sda->verdict, PS_USE_WARN);
	cr_assert_float_eq(sda->errors, 3, 1e-9);
	free(rows);
	ps_metrics_release(&a3);
	ps_metrics_release(&b3);
}
