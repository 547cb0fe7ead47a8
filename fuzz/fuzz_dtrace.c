/* libFuzzer target: the reader of DTrace stack aggregations (formats/ps_dtrace) on arbitrary
 * bytes, then the profile written as folded text. Beyond "no crash, no hang, no leak" it
 * checks what must hold for any input: the read ends with 0 or an error code, a
 * successful read found a stack, and every folded line parses back
 * (but what folded text cannot say: see below). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_dtrace.h"

static int ps_fuzz_dtrace(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	int keep = size && (data[0] & 1);
	ps_profile *p = ps_profile_new(keep ? PS_PROFILE_SAMPLES : 0);
	if (!p)
		abort();
	size_t line = 0;
	int err = ps_dtrace_read(in, p, &line);
	fclose(in);
	if (err > 0 || (err && err != PS_EFORMAT && err != PS_ELIMIT && err != -ENOMEM))
		abort();
	if (!err && keep && !ps_profile_nsamples(p))
		abort();
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out || ps_profile_write_folded(p, 0, out) != 0)
		abort();
	fclose(out);
	for (char *l = text, *nl; l < text + len; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(text + len - l));
		if (!nl)
			abort();
		size_t sl;
		uint64_t c1, c2;
		int has2;
		const char *why;
		/* A stack of one empty frame prints as " COUNT", as the script prints it; a
		 * last frame that ends in " DIGITS" reads as the first count of folded text's
		 * two-count form, which may be past the limit: folded text cannot tell. */
		int err2 = ps_folded_parse_line(l, (size_t)(nl - l), &sl, &c1, &c2, &has2, &why);
		if (l[0] != ' ' && err2 && err2 != PS_ELIMIT)
			abort();
	}
	free(text);
	ps_profile_free(p);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_dtrace(data, size); }
#endif
