/* libFuzzer target: the parsers of /proc and /sys text (formats/ps_procfs) on arbitrary
 * bytes; the first byte picks the file. Beyond "no crash, no hang, no leak": every series
 * key is a NUL-terminated string that fits its buffer and names a metric of the table, and
 * its labels read back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_procfs.h"

static int ps_fuzz_procfs(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	ps_metrics m = {0};
	ps_procstat p;
	memset(&p, 0, sizeof(p));
	static const char *const psi[] = {"cpu", "memory", "io"};
	switch (data[0] % 11) {
	case 0: ps_procfs_parse_stat(buf, len, &m); break;
	case 1: ps_procfs_parse_loadavg(buf, len, &m); break;
	case 2: ps_procfs_parse_pressure(buf, len, psi[(data[0] / 11) % 3], &m); break;
	case 3: ps_procfs_parse_meminfo(buf, len, &m); break;
	case 4: ps_procfs_parse_vmstat(buf, len, &m); break;
	case 5: ps_procfs_parse_diskstats(buf, len, &m, NULL, NULL); break;
	case 6: ps_procfs_parse_netdev(buf, len, &m); break;
	case 7: ps_procfs_parse_softnet(buf, len, &m); break;
	case 8:
		if (ps_procfs_parse_pid_stat(buf, len, &p) == 0 &&
		    (strnlen(p.comm, sizeof(p.comm)) >= sizeof(p.comm) || p.cpu_seconds < 0))
			abort();
		ps_procfs_process_metrics(&p, &m);
		break;
	case 9: ps_procfs_parse_pid_status(buf, len, &p); break;
	default: ps_procfs_parse_pid_io(buf, len, &p); break;
	}
	for (size_t i = 0; i < m.n; i++) {
		const char *k = m.v[i].key;
		if (strnlen(k, PS_METRIC_KEY_MAX) >= PS_METRIC_KEY_MAX || !ps_metric_find(k))
			abort();
		char out[PS_METRIC_KEY_MAX];
		ps_metric_label(k, "device", out, sizeof(out));
		ps_metric_label(k, "cpu", out, sizeof(out));
		if (strnlen(out, sizeof(out)) >= sizeof(out))
			abort();
	}
	ps_metrics_release(&m);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_procfs(data, size); }
#endif
