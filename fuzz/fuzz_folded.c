/* libFuzzer target: the folded-stacks parser (formats/ps_profile) through a FILE, as
 * flamegraph --folded reads it, then written back out. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

static void folded_on_warn(void *ctx, size_t lineno, const char *reason, int fatal)
{
	size_t *n = ctx;
	*n += lineno + (reason[0] != 0);
}

static int ps_fuzz_folded(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size == 0)
		return 0;
	unsigned flags = data[0] & 1 ? PS_FOLDED_STRICT : 0;
	FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
	if (!in)
		return 0;
	ps_profile *p = ps_profile_new(0);
	size_t warned = 0;
	if (p && ps_profile_read_folded(p, in, flags, folded_on_warn, &warned) == 0) {
		(void)ps_profile_total(p, 0);
		(void)ps_profile_total(p, 1);
		if (sink)
			ps_profile_write_folded(p, 0, sink);
	}
	ps_profile_free(p);
	fclose(in);
	/* The line parser on its own, on the whole input as one line. */
	size_t stack_len;
	uint64_t c1, c2;
	int has2;
	const char *reason;
	ps_folded_parse_line((const char *)data, size, &stack_len, &c1, &c2, &has2, &reason);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_folded(data, size); }
#endif
