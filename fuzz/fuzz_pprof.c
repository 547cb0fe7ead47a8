/* libFuzzer target: the pprof reader (formats/ps_pprof) on arbitrary bytes — raw
 * profile.proto mostly, gzip when the bytes start so — then, for what it reads, the
 * export back to pprof (render/ps_export_pprof) and a second read of that. Beyond "no
 * crash, no hang, no leak" it checks what must hold for any input: the read ends with 0
 * or an error code (and an error of the format names its reason), and a profile read
 * once keeps its sample types and every column's total through the round trip. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_pprof.h"
#include "render/ps_export.h"

static int ps_fuzz_pprof(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* The first byte picks the options; a small limit keeps bombs quick. */
	ps_pprof_opts o = {
	    .addresses = data[0] & 1, .lines = !!(data[0] & 2), .max_bytes = 4 << 20};
	unsigned flags = data[0] & 4 ? PS_PROFILE_SAMPLES : 0;
	ps_profile *p = ps_profile_new(flags);
	if (!p)
		abort();
	ps_pprof_info info;
	int err = ps_pprof_read_mem(data + 1, size - 1, &o, p, &info);
	if (err > 0 || ((err == PS_EFORMAT || err == PS_ELIMIT) && !info.why))
		abort();
	if (err && err != PS_EFORMAT && err != PS_ELIMIT && err != PS_ETRUNC &&
	    err != PS_ECORRUPT && err != -ENOMEM)
		abort();
	if (err) {
		ps_profile_free(p);
		return 0;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.first_frame_is_comm = 0;
	if (!out || ps_export_pprof(p, &m, out) != 0)
		abort();
	fclose(out);
	ps_profile *q = ps_profile_new(flags);
	o.max_bytes = 0;
	if (!q || ps_pprof_read_mem(buf, len, &o, q, &info) != 0)
		abort();
	if (ps_profile_ntypes(q) != ps_profile_ntypes(p))
		abort();
	for (size_t c = 0; c < ps_profile_ntypes(p); c++)
		if (ps_profile_total(q, c) != ps_profile_total(p, c))
			abort();
	free(buf);
	ps_profile_free(q);
	ps_profile_free(p);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_pprof(data, size); }
#endif
