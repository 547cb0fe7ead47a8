/* ps_perfdata: reads the perf.data files `perf record` writes (perf 5.x and 6.x), as a
 * stream of the same records a perfsample trace holds, so every command that reads a
 * trace reads perf.data too (ps_trace_open detects it by its magic).
 *
 * Both layouts: the file mode (a header with attr, data and feature sections) and the
 * pipe mode (`perf record -o -`: attrs, features and build-ids as records in the
 * stream). PERF_RECORD_COMPRESSED and COMPRESSED2 (one zstd stream across records; the
 * COMPRESSED2 header.size overflow of perf 6.16+ recovered), attrs of any size,
 * sample_id_all, several events (samples of one are taken, by default the first), and
 * perf's FINISHED_ROUND ordering: records come out in time order as perf delivers them.
 *
 * A perf.data file is hostile input: every section, record and feature is bounds-checked;
 * a malformed record ends the stream with PS_ECORRUPT; the decompressed bytes of one
 * compressed record and the records waiting for their round are bounded. */
#ifndef PS_PERFDATA_H
#define PS_PERFDATA_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_trace.h"

typedef struct ps_perfdata ps_perfdata;

/* 1 when the first bytes (at least 8) are a perf.data magic, file or pipe mode. */
int ps_perfdata_is(const void *head, size_t n);

/* Reads fd (a regular file of size bytes; the reader owns fd and closes it). */
int ps_perfdata_open_fd(ps_perfdata **out, int fd, uint64_t size);
/* Reads from memory (fuzzing, tests); data must outlive the reader. */
int ps_perfdata_open_mem(ps_perfdata **out, const void *data, size_t size);
void ps_perfdata_close(ps_perfdata *p);

/* Chooses whose samples are read, by event name ("cpu-clock", "sched:sched_switch");
 * the default is the file's first event. PS_EFORMAT when the file has no such event. */
int ps_perfdata_select_event(ps_perfdata *p, const char *name);

/* Unwinds samples' stack copies (dwarf mode) with u while reading; NULL stops. */
void ps_perfdata_set_unwind(ps_perfdata *p, const ps_trace_unwind *u);
int ps_perfdata_has_stack_copies(const ps_perfdata *p);

/* The next record as perfsample's trace reader gives it: 1, 0 at the end, or < 0.
 * Pointers in *ev are valid until the next call. */
int ps_perfdata_next(ps_perfdata *p, ps_event *ev);
int ps_perfdata_rewind(ps_perfdata *p);

/* What the file says about its recording, under perfsample's metadata keys (format,
 * version, cmdline, event, events, freq, period, clock, hostname, release,
 * kernel_build_id, ncpus, callgraph). */
const char *ps_perfdata_meta(const ps_perfdata *p, const char *key);
size_t ps_perfdata_nmeta(const ps_perfdata *p);
ps_kv ps_perfdata_meta_at(const ps_perfdata *p, size_t i);
ps_trace_status ps_perfdata_status(const ps_perfdata *p);

#endif
