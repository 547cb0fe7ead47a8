/* libFuzzer target: the trace reader (formats/ps_trace) and the symbolizer over it. Open
 * from memory, read every record, rewind, then build the model as the commands do
 * (fuzz/fuzz_common.h; no kallsyms, JIT maps or debug files from this machine). The first
 * byte picks the input: even, the bytes are a trace file as they are; odd, byte 1 is a
 * record count and the rest is one chunk's raw records, wrapped here in a header and a
 * valid zstd frame, so the fuzzer reaches the record parsers past zstd's checksum. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "formats/ps_trace.h"
#include "fuzz/fuzz_common.h"

/* A header without metadata and one chunk holding raw as its records. */
static uint8_t *wrap_chunk(const uint8_t *raw, size_t rsize, uint32_t nrec, size_t *size)
{
	size_t bound = ZSTD_compressBound(rsize);
	uint8_t *f = malloc(28 + 16 + bound);
	if (!f)
		return NULL;
	static const uint32_t head[] = {1, 0x01020304, 0, 0, 0};
	memcpy(f, "PERFSMPL", 8);
	memcpy(f + 8, head, 20); /* version, endianness, features (8 bytes), meta_len */
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	size_t n = ZSTD_compress2(c, f + 44, bound, raw, rsize);
	ZSTD_freeCCtx(c);
	if (ZSTD_isError(n)) {
		free(f);
		return NULL;
	}
	uint32_t ch[4] = {0x4b435350, (uint32_t)n, (uint32_t)rsize, nrec};
	memcpy(f + 28, ch, 16);
	*size = 44 + n;
	return f;
}

static int ps_fuzz_trace(const uint8_t *data, size_t size)
{
	ps_trace_reader *r;
	uint8_t *wrapped = NULL;
	if (size >= 2 && (data[0] & 1)) {
		wrapped = wrap_chunk(data + 2, size - 2, data[1], &size);
		if (!wrapped)
			return 0;
		data = wrapped;
	}
	if (ps_trace_open_mem(&r, data, size)) {
		free(wrapped);
		return 0;
	}
	(void)fuzz_read_all(r);
	if (ps_trace_rewind(r) == 0)
		fuzz_symbolize(r, size);
	ps_trace_close(r);
	free(wrapped);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_trace(data, size); }
#endif
