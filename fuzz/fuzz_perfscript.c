/* libFuzzer target for ps_perfscript: the structured reader and the collapse (every option)
 * on arbitrary bytes. Beyond "no crash, no hang, no leak" it checks what must hold for any
 * input: both return 0, and every folded stack the collapse keeps is non-empty.
 * Build: clang -fsanitize=fuzzer,address -I. fuzz/fuzz_perfscript.c formats/ps_*.c -lzstd */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_perfscript.h"
#include "fuzz/fuzz_common.h"

static int on_sample(void *ctx, const ps_ps_sample *s)
{
	size_t *seen = ctx;
	/* Touch everything the reader hands out so ASan sees any bad pointer. */
	size_t sum = 0;
	for (const char *c = s->comm; *c; c++)
		sum += (unsigned char)*c;
	for (const char *c = s->event; *c; c++)
		sum += (unsigned char)*c;
	for (size_t i = 0; i < s->nframes; i++) {
		for (const char *c = s->frames[i].sym; *c; c++)
			sum += (unsigned char)*c;
		for (const char *c = s->frames[i].dso; *c; c++)
			sum += (unsigned char)*c;
	}
	*seen += 1 + (sum & 1);
	return 0;
}

static FILE *open_input(const uint8_t *data, size_t size)
{
	FILE *f = tmpfile();
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	rewind(f);
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = open_input(data, size);
	size_t seen = 0;
	if (ps_perfscript_read(f, on_sample, &seen) != 0)
		abort();

	/* The first byte picks the options so the fuzzer explores each of them. */
	static const unsigned flagsets[] = {
	    0,
	    PS_COLLAPSE_PID,
	    PS_COLLAPSE_TID | PS_COLLAPSE_ALL,
	    PS_COLLAPSE_ADDRS | PS_COLLAPSE_KERNEL,
	    PS_COLLAPSE_JIT | PS_COLLAPSE_JAVA_PREFIX,
	};
	unsigned flags = flagsets[size ? data[0] % 5 : 0];
	rewind(f);
	ps_profile *p = ps_profile_new(0);
	if (!p)
		abort();
	if (ps_perfscript_collapse(f, flags, p) != 0)
		abort();
	/* Every stack has a frame, and its folded text parses back as one line. */
	fuzz_check_folded(p, 0);
	ps_profile_free(p);
	fclose(f);
	return 0;
}
