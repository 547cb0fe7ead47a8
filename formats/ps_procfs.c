/* ps_procfs: /proc and /sys text into metric series (see ps_procfs.h). */
#include "formats/ps_procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

/* The kernel's USER_HZ is 100 on every architecture Linux exports to /proc. */
#define USER_HZ 100.0
#define MAX_FIELDS 32

/* One line at a time: [*pos, len) -> the line (without '\n') copied into line (cut to
 * cap-1 bytes; NULs become spaces). 0 at the end. */
static int next_line(const char *buf, size_t len, size_t *pos, char *line, size_t cap)
{
	if (*pos >= len)
		return 0;
	size_t i = *pos, o = 0;
	for (; i < len && buf[i] != '\n'; i++)
		if (o + 1 < cap)
			line[o++] = buf[i] ? buf[i] : ' ';
	line[o] = '\0';
	*pos = i + 1;
	return 1;
}

/* Splits line at blanks into at most max fields. */
static int split(char *line, char **f, int max)
{
	int n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && n < max;
	     t = strtok_r(NULL, " \t\r", &save))
		f[n++] = t;
	return n;
}

/* A whole decimal (or base) number, else 0 with *ok cleared. */
static double num(const char *s, int base, int *ok)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (end == s || *end || errno || *s == '-') {
		*ok = 0;
		return 0;
	}
	return (double)v;
}

/* A count from num() as an integer: 2^64 and more (a double of ULLONG_MAX rounds up to it)
 * stays at the largest value instead of overflowing the conversion. */
static uint64_t u64(double v)
{
	return v >= 18446744073709549568.0 ? UINT64_MAX : v > 0 ? (uint64_t)v : 0;
}

static double fnum(const char *s, int *ok)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v == v) || v > 1e300 || v < -1e300) {
		*ok = 0;
		return 0;
	}
	return v;
}

int ps_procfs_parse_stat(const char *buf, size_t len, ps_metrics *m)
{
	static const char *const modes[] = {"user", "nice", "system", "idle",
					    "iowait", "irq", "softirq", "steal"};
	char line[4096], *f[MAX_FIELDS];
	size_t pos = 0;
	int err = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line))) {
		int n = split(line, f, MAX_FIELDS), ok = 1;
		if (n < 2)
			continue;
		if (!strncmp(f[0], "cpu", 3) && f[0][3] && n >= 5) {
			const char *id = f[0] + 3;
			for (const char *c = id; *c; c++)
				if (!isdigit((unsigned char)*c) || c - id > 6)
					ok = 0;
			for (int i = 0; ok && i < 8 && i + 1 < n; i++) {
				double v = num(f[i + 1], 10, &ok);
				/* guest time is counted in user already, as node_exporter says */
				if (ok)
					err = ps_metrics_add(m, "node_cpu_seconds_total", "cpu", id,
							     "mode", modes[i], v / USER_HZ);
			}
			continue;
		}
		double v = num(f[1], 10, &ok);
		if (!ok)
			continue;
		if (!strcmp(f[0], "ctxt"))
			err = ps_metrics_add(m, "node_context_switches_total", NULL, NULL, NULL, NULL, v);
		else if (!strcmp(f[0], "processes"))
			err = ps_metrics_add(m, "node_forks_total", NULL, NULL, NULL, NULL, v);
		else if (!strcmp(f[0], "procs_running"))
			err = ps_metrics_add(m, "node_procs_running", NULL, NULL, NULL, NULL, v);
		else if (!strcmp(f[0], "procs_blocked"))
			err = ps_metrics_add(m, "node_procs_blocked", NULL, NULL, NULL, NULL, v);
	}
	return err;
}

int ps_procfs_parse_loadavg(const char *buf, size_t len, ps_metrics *m)
{
	char line[256], *f[4];
	size_t pos = 0;
	if (!next_line(buf, len, &pos, line, sizeof(line)) || split(line, f, 4) < 3)
		return 0;
	static const char *const names[] = {"node_load1", "node_load5", "node_load15"};
	int err = 0;
	for (int i = 0; i < 3 && !err; i++) {
		int ok = 1;
		double v = fnum(f[i], &ok);
		if (ok && v >= 0)
			err = ps_metrics_add(m, names[i], NULL, NULL, NULL, NULL, v);
	}
	return err;
}

int ps_procfs_parse_pressure(const char *buf, size_t len, const char *resource, ps_metrics *m)
{
	char line[512], *f[8];
	size_t pos = 0;
	int err = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line))) {
		int n = split(line, f, 8);
		int some = n > 0 && !strcmp(f[0], "some"), full = n > 0 && !strcmp(f[0], "full");
		if (!some && !full)
			continue;
		for (int i = 1; i < n; i++) {
			int ok = 1;
			if (strncmp(f[i], "total=", 6))
				continue;
			double us = num(f[i] + 6, 10, &ok);
			if (!ok)
				break;
			char name[96];
			/* the kernel has "full" for cpu too (always 0 for the system): skip it */
			if (!strcmp(resource, "cpu") && full)
				break;
			snprintf(name, sizeof(name), "node_pressure_%s_%s_seconds_total", resource,
				 some ? "waiting" : "stalled");
			err = ps_metrics_add(m, name, NULL, NULL, NULL, NULL, us / 1e6);
		}
	}
	return err;
}

int ps_procfs_parse_meminfo(const char *buf, size_t len, ps_metrics *m)
{
	static const char *const keys[] = {"MemTotal", "MemFree", "MemAvailable", "Buffers",
					   "Cached", "SwapTotal", "SwapFree"};
	char line[512], *f[4];
	size_t pos = 0;
	int err = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line))) {
		if (split(line, f, 4) < 2)
			continue;
		size_t kl = strlen(f[0]);
		if (kl < 2 || f[0][kl - 1] != ':')
			continue;
		f[0][kl - 1] = '\0';
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcmp(f[0], keys[i]))
				continue;
			int ok = 1;
			double v = num(f[1], 10, &ok);
			char name[96];
			snprintf(name, sizeof(name), "node_memory_%s_bytes", keys[i]);
			if (ok)
				err = ps_metrics_add(m, name, NULL, NULL, NULL, NULL, v * 1024);
		}
	}
	return err;
}

int ps_procfs_parse_vmstat(const char *buf, size_t len, ps_metrics *m)
{
	static const char *const keys[] = {"pswpin", "pswpout", "pgmajfault", "oom_kill"};
	char line[256], *f[4];
	size_t pos = 0;
	int err = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line))) {
		if (split(line, f, 4) != 2)
			continue;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			int ok = 1;
			if (strcmp(f[0], keys[i]))
				continue;
			double v = num(f[1], 10, &ok);
			char name[64];
			snprintf(name, sizeof(name), "node_vmstat_%s", keys[i]);
			if (ok)
				err = ps_metrics_add(m, name, NULL, NULL, NULL, NULL, v);
		}
	}
	return err;
}

static int default_keep(const char *dev, void *ctx)
{
	(void)ctx;
	return strncmp(dev, "loop", 4) && strncmp(dev, "ram", 3) && strncmp(dev, "zram", 4);
}

int ps_procfs_parse_diskstats(const char *buf, size_t len, ps_metrics *m,
			      int (*keep)(const char *dev, void *ctx), void *ctx)
{
	char line[1024], *f[MAX_FIELDS];
	size_t pos = 0;
	int err = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line))) {
		int n = split(line, f, MAX_FIELDS), ok = 1;
		if (n < 14)
			continue;
		double v[11];
		for (int i = 0; i < 11; i++)
			v[i] = num(f[3 + i], 10, &ok);
		const char *dev = f[2];
		if (!ok || strlen(dev) > 64 || !default_keep(dev, NULL) || (keep && !keep(dev, ctx)))
			continue;
		/* reads, merged, sectors, ms, writes, merged, sectors, ms, in flight, ms, ms */
		struct { const char *name; double v; } s[] = {
			{"node_disk_reads_completed_total", v[0]},
			{"node_disk_read_bytes_total", v[2] * 512},
			{"node_disk_read_time_seconds_total", v[3] / 1e3},
			{"node_disk_writes_completed_total", v[4]},
			{"node_disk_written_bytes_total", v[6] * 512},
			{"node_disk_write_time_seconds_total", v[7] / 1e3},
			{"node_disk_io_now", v[8]},
			{"node_disk_io_time_seconds_total", v[9] / 1e3},
			{"node_disk_io_time_weighted_seconds_total", v[10] / 1e3},
		};
		for (size_t i = 0; i < sizeof(s) / sizeof(s[0]) && !err; i++)
			err = ps_metrics_add(m, s[i].name, "device", dev, NULL, NULL, s[i].v);
	}
	return err;
}

int ps_procfs_parse_netdev(const char *buf, size_t len, ps_metrics *m)
{
	char line[1024], *f[MAX_FIELDS];
	size_t pos = 0;
	int err = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line))) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *dev = line;
		while (*dev == ' ' || *dev == '\t')
			dev++;
		if (!*dev || strlen(dev) > 64 || !strcmp(dev, "lo") || strchr(dev, '|'))
			continue;
		int n = split(colon + 1, f, MAX_FIELDS), ok = 1;
		if (n < 16)
			continue;
		double v[16];
		for (int i = 0; i < 16; i++)
			v[i] = num(f[i], 10, &ok);
		if (!ok)
			continue;
		struct { const char *name; double v; } s[] = {
			{"node_network_receive_bytes_total", v[0]},
			{"node_network_receive_packets_total", v[1]},
			{"node_network_receive_errs_total", v[2]},
			{"node_network_receive_drop_total", v[3]},
			{"node_network_receive_fifo_total", v[4]},
			{"node_network_transmit_bytes_total", v[8]},
			{"node_network_transmit_packets_total", v[9]},
			{"node_network_transmit_errs_total", v[10]},
			{"node_network_transmit_drop_total", v[11]},
			{"node_network_transmit_fifo_total", v[12]},
		};
		for (size_t i = 0; i < sizeof(s) / sizeof(s[0]) && !err; i++)
			err = ps_metrics_add(m, s[i].name, "device", dev, NULL, NULL, s[i].v);
	}
	return err;
}

int ps_procfs_parse_softnet(const char *buf, size_t len, ps_metrics *m)
{
	char line[1024], *f[MAX_FIELDS];
	size_t pos = 0;
	int err = 0, cpu = 0;
	while (!err && next_line(buf, len, &pos, line, sizeof(line)) && cpu < 65536) {
		int n = split(line, f, MAX_FIELDS), ok = 1;
		if (n < 3)
			continue;
		double dropped = num(f[1], 16, &ok), squeezed = num(f[2], 16, &ok);
		/* newer kernels name the CPU in column 13; older ones count lines */
		int id = cpu;
		if (n >= 13) {
			int ok2 = 1;
			double c = num(f[12], 16, &ok2);
			if (ok2 && c < 65536)
				id = (int)c;
		}
		cpu++;
		if (!ok)
			continue;
		char cs[16];
		snprintf(cs, sizeof(cs), "%d", id);
		err = ps_metrics_add(m, "node_softnet_dropped_total", "cpu", cs, NULL, NULL, dropped);
		if (!err)
			err = ps_metrics_add(m, "node_softnet_times_squeezed_total", "cpu", cs, NULL,
					     NULL, squeezed);
	}
	return err;
}

long ps_procfs_read(const char *root, const char *path, char *buf, size_t cap)
{
	char full[512];
	if (snprintf(full, sizeof(full), "%s%s", root ? root : "", path) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (long)n;
}

struct disk_ctx {
	const char *root;
	int have_sys;
};

/* Whole disks only, as node_exporter counts them: those /sys/block lists (partitions are
 * under their disk there). */
static int is_block(const char *dev, void *ctx)
{
	struct disk_ctx *d = ctx;
	if (!d->have_sys)
		return 1;
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/block/%s", d->root, dev);
	return access(path, F_OK) == 0;
}

static int add_edac(const char *root, ps_metrics *m, char *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/devices/system/edac/mc", root);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int err = 0, count = 0;
	for (struct dirent *e; !err && count < 64 && (e = readdir(d));) {
		if (strncmp(e->d_name, "mc", 2) || !isdigit((unsigned char)e->d_name[2]))
			continue;
		count++;
		static const char *const files[] = {"ce_count", "ue_count"};
		static const char *const names[] = {"node_edac_correctable_errors_total",
						    "node_edac_uncorrectable_errors_total"};
		for (int i = 0; i < 2 && !err; i++) {
			char rel[300];
			snprintf(rel, sizeof(rel), "/sys/devices/system/edac/mc/%.64s/%s", e->d_name,
				 files[i]);
			int ok = 1;
			if (ps_procfs_read(root, rel, buf, cap) <= 0)
				continue;
			buf[strcspn(buf, "\n")] = '\0';
			double v = num(buf, 10, &ok);
			if (ok)
				err = ps_metrics_add(m, names[i], "controller", e->d_name + 2, NULL,
						     NULL, v);
		}
	}
	closedir(d);
	return err;
}

int ps_procfs_system(const char *root, ps_metrics *m)
{
	root = root ? root : "";
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int err = 0;
	long n;
	if ((n = ps_procfs_read(root, "/proc/stat", buf, cap)) > 0)
		err = ps_procfs_parse_stat(buf, (size_t)n, m);
	if (!err && (n = ps_procfs_read(root, "/proc/loadavg", buf, cap)) > 0)
		err = ps_procfs_parse_loadavg(buf, (size_t)n, m);
	static const char *const psi[] = {"cpu", "memory", "io"};
	for (int i = 0; i < 3 && !err; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/pressure/%s", psi[i]);
		if ((n = ps_procfs_read(root, path, buf, cap)) > 0)
			err = ps_procfs_parse_pressure(buf, (size_t)n, psi[i], m);
	}
	if (!err && (n = ps_procfs_read(root, "/proc/meminfo", buf, cap)) > 0)
		err = ps_procfs_parse_meminfo(buf, (size_t)n, m);
	if (!err && (n = ps_procfs_read(root, "/proc/vmstat", buf, cap)) > 0)
		err = ps_procfs_parse_vmstat(buf, (size_t)n, m);
	if (!err && (n = ps_procfs_read(root, "/proc/diskstats", buf, cap)) > 0) {
		char path[512];
		snprintf(path, sizeof(path), "%s/sys/block", root);
		struct disk_ctx dc = {root, access(path, F_OK) == 0};
		err = ps_procfs_parse_diskstats(buf, (size_t)n, m, is_block, &dc);
	}
	/* disk errors, where the driver counts them (SCSI: hex in device/ioerr_cnt) */
	for (size_t i = 0, end = m->n; !err && i < end; i++) {
		if (strncmp(m->v[i].key, "node_disk_io_now{", 17))
			continue;
		char dev[80], rel[160];
		ps_metric_label(m->v[i].key, "device", dev, sizeof(dev));
		if (strchr(dev, '/') || !strcmp(dev, ".."))
			continue;
		snprintf(rel, sizeof(rel), "/sys/block/%s/device/ioerr_cnt", dev);
		int ok = 1;
		if (ps_procfs_read(root, rel, buf, 64) <= 0)
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		double e = num(buf, 16, &ok); /* strtoull base 16 takes the 0x */
		if (ok)
			err = ps_metrics_add(m, "perfsample_disk_io_errors_total", "device", dev, NULL,
					     NULL, e);
	}
	size_t before = m->n;
	if (!err && (n = ps_procfs_read(root, "/proc/net/dev", buf, cap)) > 0)
		err = ps_procfs_parse_netdev(buf, (size_t)n, m);
	/* link speeds, where the driver knows one (Mb/s in sysfs) */
	for (size_t i = before, end = m->n; !err && i < end; i++) {
		if (strncmp(m->v[i].key, "node_network_receive_bytes_total{", 33))
			continue;
		char dev[80], rel[160];
		ps_metric_label(m->v[i].key, "device", dev, sizeof(dev));
		if (strchr(dev, '/') || !strcmp(dev, ".."))
			continue;
		snprintf(rel, sizeof(rel), "/sys/class/net/%s/speed", dev);
		int ok = 1;
		if (ps_procfs_read(root, rel, buf, 64) <= 0)
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		double mbit = num(buf, 10, &ok);
		if (ok && mbit > 0 && mbit < 1e7)
			err = ps_metrics_add(m, "node_network_speed_bytes", "device", dev, NULL, NULL,
					     mbit * 125000.0);
	}
	if (!err && (n = ps_procfs_read(root, "/proc/net/softnet_stat", buf, cap)) > 0)
		err = ps_procfs_parse_softnet(buf, (size_t)n, m);
	if (!err)
		err = add_edac(root, m, buf, cap);
	free(buf);
	return err;
}

int ps_procfs_parse_pid_stat(const char *buf, size_t len, ps_procstat *p)
{
	/* "pid (comm) state ppid ...": comm may hold ')' and blanks, so the last ')' ends it */
	const char *open = memchr(buf, '(', len), *close = NULL;
	for (size_t i = len; i > 0; i--)
		if (buf[i - 1] == ')') {
			close = buf + i - 1;
			break;
		}
	if (!open || !close || close < open)
		return PS_EFORMAT;
	size_t cl = (size_t)(close - open - 1);
	if (cl >= sizeof(p->comm))
		cl = sizeof(p->comm) - 1;
	memcpy(p->comm, open + 1, cl);
	p->comm[cl] = '\0';
	for (size_t i = 0; i < cl; i++)
		if (!p->comm[i])
			p->comm[i] = '?';
	char rest[1024], *f[MAX_FIELDS];
	size_t rl = len - (size_t)(close + 1 - buf);
	if (rl >= sizeof(rest))
		rl = sizeof(rest) - 1;
	memcpy(rest, close + 1, rl);
	rest[rl] = '\0';
	for (size_t i = 0; i < rl; i++)
		if (!rest[i] || rest[i] == '\n')
			rest[i] = ' ';
	int n = split(rest, f, MAX_FIELDS), ok = 1;
	if (n < 22)
		return PS_EFORMAT;
	/* fields after comm: state(3) ppid(4) ... flags(9) minflt(10) majflt(12) utime(14)
	 * stime(15) num_threads(20) starttime(22) vsize(23) rss(24), numbered as proc(5) does */
	uint64_t ppid = u64(num(f[1], 10, &ok));
	p->ppid = ppid > UINT32_MAX ? 0 : (uint32_t)ppid;
	uint64_t flags = u64(num(f[6], 10, &ok));
	p->flags = flags > UINT32_MAX ? 0 : (uint32_t)flags;
	p->minor_faults = u64(num(f[7], 10, &ok));
	p->major_faults = u64(num(f[9], 10, &ok));
	p->cpu_seconds = (num(f[11], 10, &ok) + num(f[12], 10, &ok)) / USER_HZ;
	p->threads = u64(num(f[17], 10, &ok));
	p->start_ticks = u64(num(f[19], 10, &ok));
	p->vsize_bytes = u64(num(f[20], 10, &ok));
	long page = sysconf(_SC_PAGESIZE);
	double rss = num(f[21], 10, &ok);
	p->rss_bytes = rss < 1e15 ? (uint64_t)rss * (uint64_t)(page > 0 ? page : 4096) : 0;
	return ok ? 0 : PS_EFORMAT;
}

static void status_field(const char *line, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	if (strncmp(line, key, kl) || line[kl] != ':')
		return;
	int ok = 1;
	char v[64];
	const char *s = line + kl + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	snprintf(v, sizeof(v), "%.*s", (int)strcspn(s, " \t"), s);
	double d = num(v, 10, &ok);
	if (ok)
		*out = u64(d);
}

void ps_procfs_parse_pid_status(const char *buf, size_t len, ps_procstat *p)
{
	char line[512];
	size_t pos = 0;
	while (next_line(buf, len, &pos, line, sizeof(line))) {
		status_field(line, "voluntary_ctxt_switches", &p->voluntary_ctxt_switches);
		status_field(line, "nonvoluntary_ctxt_switches", &p->nonvoluntary_ctxt_switches);
	}
}

void ps_procfs_parse_pid_io(const char *buf, size_t len, ps_procstat *p)
{
	char line[256];
	size_t pos = 0;
	while (next_line(buf, len, &pos, line, sizeof(line))) {
		status_field(line, "read_bytes", &p->read_bytes);
		status_field(line, "write_bytes", &p->write_bytes);
	}
}

int ps_procfs_process_stat(const char *root, uint32_t pid, ps_procstat *p)
{
	char path[64], buf[4096];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	long n = ps_procfs_read(root, path, buf, sizeof(buf));
	if (n < 0)
		return n == -ESRCH ? -ENOENT : (int)n;
	return ps_procfs_parse_pid_stat(buf, (size_t)n, p);
}

int ps_procfs_process_rest(const char *root, ps_procstat *p)
{
	char path[64], buf[4096];
	uint32_t pid = p->pid;
	long n;
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if ((n = ps_procfs_read(root, path, buf, sizeof(buf))) > 0)
		ps_procfs_parse_pid_status(buf, (size_t)n, p);
	snprintf(path, sizeof(path), "/proc/%u/io", pid);
	if ((n = ps_procfs_read(root, path, buf, sizeof(buf))) > 0)
		ps_procfs_parse_pid_io(buf, (size_t)n, p);
	return 0;
}

int ps_procfs_process(const char *root, uint32_t pid, ps_procstat *p)
{
	int rc = ps_procfs_process_stat(root, pid, p);
	return rc ? rc : ps_procfs_process_rest(root, p);
}

int ps_procfs_process_metrics(const ps_procstat *p, ps_metrics *m)
{
	int err = 0;
#define ADD(n, v) (err = err ? err : ps_metrics_add(m, n, NULL, NULL, NULL, NULL, (double)(v)))
	ADD("process_cpu_seconds_total", p->cpu_seconds);
	ADD("process_resident_memory_bytes", p->rss_bytes);
	ADD("process_virtual_memory_bytes", p->vsize_bytes);
	ADD("process_threads", p->threads);
	ADD("process_minor_page_faults_total", p->minor_faults);
	ADD("process_major_page_faults_total", p->major_faults);
	ADD("process_read_bytes_total", p->read_bytes);
	ADD("process_write_bytes_total", p->write_bytes);
#undef ADD
	if (!err)
		err = ps_metrics_add(m, "process_context_switches_total", "ctxswitchtype",
				     "voluntary", NULL, NULL, (double)p->voluntary_ctxt_switches);
	if (!err)
		err = ps_metrics_add(m, "process_context_switches_total", "ctxswitchtype",
				     "nonvoluntary", NULL, NULL,
				     (double)p->nonvoluntary_ctxt_switches);
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

long ps_procfs_pids(const char *root, uint32_t **out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/proc", root ? root : "");
	DIR *d = opendir(path);
	*out = NULL;
	if (!d)
		return -errno;
	uint32_t *pids = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		int ok = 1;
		double v = num(e->d_name, 10, &ok);
		if (!ok || v < 1 || v > 4194304)
			continue;
		if (PS_GROW(pids, cap, n + 1)) {
			free(pids);
			closedir(d);
			return -ENOMEM;
		}
		pids[n++] = (uint32_t)v;
	}
	closedir(d);
	if (n)
		qsort(pids, n, sizeof(*pids), cmp_u32);
	*out = pids;
	return (long)n;
}
