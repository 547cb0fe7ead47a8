/* libFuzzer target: the trace reader (formats/ps_trace) and the symbolizer's walk over it.
 * Open from memory, read every record, rewind, then walk the samples as fold does (no
 * kallsyms, JIT maps or debug files from this machine). The first byte picks the input:
 * even, the bytes are a trace file as they are; odd, byte 1 is a record count and the rest
 * is one chunk's raw records, wrapped here in a header and a valid zstd frame, so the
 * fuzzer reaches the record parsers past zstd's checksum. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "formats/ps_trace.h"
#include "symbolize/ps_sym.h"

static int trace_on_sample(void *ctx, const ps_sym_sample *s)
{
	size_t *n = ctx;
	for (size_t i = 0; i < s->nframes; i++)
		*n += strlen(s->frames[i].name) + (s->comm ? strlen(s->comm) : 0);
	return 0;
}

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
	for (size_t i = 0; i < ps_trace_nmeta(r); i++) {
		ps_kv kv = ps_trace_meta_at(r, i);
		(void)strlen(kv.key);
		(void)strlen(kv.value);
	}
	ps_event ev;
	int got;
	uint64_t n = 0;
	while ((got = ps_trace_next(r, &ev)) > 0) {
		n++;
		switch (ev.type) {
		case PS_REC_SAMPLE:
			for (uint32_t i = 0; i < ev.sample.nr; i++)
				n += ev.sample.ips[i] & 1;
			break;
		case PS_REC_MMAP:
			n += strlen(ev.mmap.filename);
			break;
		case PS_REC_COMM:
			n += strlen(ev.comm.comm);
			break;
		case PS_REC_NOTE:
			n += strlen(ev.note.key) + strlen(ev.note.value);
			break;
		case PS_REC_SYMBOL:
			n += strlen(ev.sym.module);
			break;
		case PS_REC_FILE:
			n += strlen(ev.file.path);
			break;
		default:
			break;
		}
	}
	(void)ps_trace_get_status(r);
	if (ps_trace_rewind(r) == 0) {
		ps_sym_opts o;
		ps_sym_opts_init(&o);
		o.kallsyms = "/nonexistent/kallsyms";
		o.jit_dir = "/nonexistent";
		o.debug_dir = "/nonexistent";
		o.root = (enum ps_sym_root)(size % 4);
		o.addrs = size & 4 ? 1 : 0;
		size_t chars = 0;
		ps_sym_report rep;
		ps_sym_walk(r, &o, trace_on_sample, &chars, &rep);
	}
	ps_trace_close(r);
	free(wrapped);
	return 0;
}

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_trace(data, size); }
#endif
