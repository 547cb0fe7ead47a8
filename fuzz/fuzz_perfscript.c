/* libFuzzer target: the perf-script reader and stackcollapse-perf.pl's collapse
 * (formats/ps_perfscript). The first byte picks the collapse flags. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "formats/ps_perfscript.h"
#include "formats/ps_profile.h"

static int perfscript_on_sample(void *ctx, const ps_ps_sample *s)
{
	(void)s;
	(*(size_t *)ctx)++;
	return 0;
}

static int ps_fuzz_perfscript(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size == 0)
		return 0;
	unsigned flags = data[0] & 0x3f;
	FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
	if (!in)
		return 0;
	size_t n = 0;
	ps_perfscript_read(in, perfscript_on_sample, &n);
	rewind(in);
	ps_profile *p = ps_profile_new(0);
	if (p && ps_perfscript_collapse(in, flags, p) == 0 && sink)
		ps_profile_write_folded(p, sink);
	ps_profile_free(p);
	fclose(in);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_perfscript(data, size); }
#endif
