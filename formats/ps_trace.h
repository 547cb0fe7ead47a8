/* ps_trace: the perfsample.data file — a versioned header, then self-contained
 * zstd-compressed chunks of length-prefixed records (formats/FORMAT.md gives every byte). */
#ifndef PS_TRACE_H
#define PS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_metric.h"

#define PS_TRACE_VERSION 1

/* Record types. Readers skip types they do not know, by length. */
enum ps_rec_type {
	PS_REC_SAMPLE = 1,   /* one sample; its call chain is a STACK record of the chunk */
	PS_REC_STACK = 2,    /* a call chain, numbered by its order in the chunk (internal) */
	PS_REC_MMAP = 3,     /* a file or anonymous mapping appeared in a process */
	PS_REC_COMM = 4,     /* a thread's name, set or changed by exec */
	PS_REC_FORK = 5,     /* a process or thread was created */
	PS_REC_EXIT = 6,     /* a process or thread ended */
	PS_REC_LOST = 7,     /* the kernel dropped records: ring buffer full */
	PS_REC_THROTTLE = 8, /* the kernel throttled (or unthrottled) sampling */
	PS_REC_SYMBOL = 9,   /* the frames an address resolves to (embedded symbols) */
	PS_REC_STATS = 10,   /* recorder totals, written last: the file is whole */
	PS_REC_NOTE = 11,    /* a key=value remark (e.g. kernel addresses hidden) */
	PS_REC_FILE = 12,    /* a mapped file's identity, for files without a build-id */
	PS_REC_OFFCPU = 13,  /* a thread's blocked interval (record --off-cpu), with its stack */
	PS_REC_OFFCPU_STATS = 14, /* off-CPU totals of the recording */
	PS_REC_HEAP_ALLOC = 15, /* a sampled allocation: size, weight, address, stack */
	PS_REC_HEAP_FREE = 16,  /* a sampled block was freed (or moved by realloc) */
	PS_REC_METRICS = 17, /* system or process statistics at one time (ps_metric series) */
};

/* PERF_CONTEXT_* markers stay in call chains, as the kernel writes them. */
#define PS_CONTEXT_KERNEL ((uint64_t)-128)
#define PS_CONTEXT_USER ((uint64_t)-512)
#define PS_CONTEXT_MAX ((uint64_t)-4095)

typedef struct ps_sample {
	uint64_t time, period;
	uint32_t pid, tid, cpu;
	uint32_t nr;         /* entries in ips */
	const uint64_t *ips; /* leaf first, with PS_CONTEXT_* markers; valid until next read */
	/* Reading: samples of one chunk with the same stack share it. (chunk, stack) names
	 * the chain for the reader's lifetime (equal pairs, equal chains; rewinding does not
	 * reuse chunk numbers), so readers can skip comparing ips. PS_CHUNK_TRACE_WIDE:
	 * stack is trace-wide (ps_trace_set_stack_ids). 0: a chain not from a reader
	 * (stack is UINT32_MAX then), valid only as long as the caller says. */
	uint64_t chunk;
	uint32_t stack;
} ps_sample;
#define PS_CHUNK_TRACE_WIDE UINT64_MAX

typedef struct ps_mmap {
	uint64_t time;
	uint32_t pid, tid;
	uint64_t start, len, pgoff;
	uint64_t ino;
	uint32_t maj, min, prot, flags;
	uint8_t build_id_size;
	uint8_t build_id[20];
	const char *filename;
} ps_mmap;

typedef struct ps_comm {
	uint64_t time;
	uint32_t pid, tid;
	uint32_t exec; /* 1 when the name changed because of exec */
	const char *comm;
} ps_comm;

typedef struct ps_task {
	uint64_t time;
	uint32_t pid, ppid, tid, ptid;
} ps_task;

typedef struct ps_throttle {
	uint64_t time;
	uint32_t unthrottle;
} ps_throttle;

/* Embedded symbols: what one address of one process resolves to. Kernel addresses use
 * pid PS_SYM_KERNEL_PID. names holds nframes NUL-terminated names, innermost (inlined)
 * first, so the last is the function that contains the address. */
#define PS_SYM_KERNEL_PID UINT32_MAX
typedef struct ps_symrec {
	uint32_t pid;
	uint32_t nframes;
	uint64_t addr;
	const char *module; /* basename of the mapped file, "" if none */
	const char *names;  /* nframes strings back to back */
	const char *lines;  /* nframes "file:line" strings ("" when unknown), or NULL */
	int has_offset;     /* offset is known */
	uint64_t offset;    /* addr minus the start of the containing function */
} ps_symrec;

typedef struct ps_stats {
	uint64_t samples, lost, throttled, truncated;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC, like sample times */
} ps_stats;

typedef struct ps_note {
	const char *key, *value;
} ps_note;

/* What identifies a mapped file whose MMAP record has no build-id, as the recorder found
 * it: the build-id read from the file itself when it has one, and its size, mtime and
 * inode. Readers name frames from a file on disk only when it still matches. */
typedef struct ps_fileid {
	uint32_t pid; /* a process that mapped it (the path is in that process's view) */
	uint8_t build_id_size;
	uint8_t build_id[20];
	uint64_t size, mtime_ns, ino;
	uint32_t maj, min; /* the device the file is on */
	const char *path;  /* as in the MMAP record */
} ps_fileid;

/* Heap profiling (record --heap): an allocation the preload library sampled, and the free
 * of a sampled block. weight is the bytes the sample stands for (size / P(sampled)), so
 * sums of weights estimate bytes without bias. FREE records carry only time, pid, tid
 * and addr. */
#define PS_HEAP_MAX_STACK 128
typedef struct ps_heap {
	uint64_t time;
	uint32_t pid, tid;
	uint64_t addr, size, weight;
	uint32_t nr;         /* return addresses in ips, the allocation's caller first */
	const uint64_t *ips; /* valid until the next read */
} ps_heap;
/* Statistics from /proc and /sys (perfsample stat, record --stat): the series of the
 * system (pid 0) or of one process at one time. Reading: vals is the reader's, valid until
 * the next read; at most PS_METRICS_MAX values. */
#define PS_METRICS_MAX 4096
typedef struct ps_metricrec {
	uint64_t time;	   /* CLOCK_MONOTONIC ns, as sample times */
	uint32_t pid;	   /* 0: the system */
	uint32_t n;
	const char *comm;  /* the process's name ("" for the system) */
	const ps_metric_val *vals;
} ps_metricrec;
/* A blocked interval: the thread was off its CPU from sample.time for sample.period
 * nanoseconds; sample.ips is its stack when it switched out (leaf first, kernel part
 * included when permitted). */
#define PS_OFFCPU_PREEMPTED 1u /* switched out while runnable: waiting for a CPU */
#define PS_OFFCPU_OPEN 2u      /* still blocked when the recording ended: closed there */
#define PS_OFFCPU_APPROX 4u    /* no stack at the switch: the thread's last user stack */
#define PS_OFFCPU_STARTED 8u   /* blocked when the recording started: from its start, and
				* no stack (the kernel reports only the switch-in) */
typedef struct ps_offcpu {
	ps_sample sample;
	uint32_t flags; /* PS_OFFCPU_* */
	/* Switch-outs the stack stands for (record --off-cpu-period): only every
	 * weight-th switch-out had its stack taken, so the interval's
	 * blocked time counts weight times (ps_offcpu_time). 0 (older traces) and 1: its
	 * own time only. */
	uint32_t weight;
	/* The blocked time the sampled stack stands for, measured by the recorder (its
	 * thread's exact blocked time over a window, shared out among the window's sampled
	 * intervals by their durations); 0 (older recorders, unsampled recordings):
	 * duration times weight. */
	uint64_t stands_ns;
} ps_offcpu;

/* The blocked time an interval stands for: what the recorder measured, else its duration
 * times its weight (saturating). */
static inline uint64_t ps_offcpu_time(const ps_offcpu *o)
{
	if (o->stands_ns)
		return o->stands_ns;
	uint64_t w = o->weight > 1 ? o->weight : 1, d = o->sample.period;
	return d > UINT64_MAX / w ? UINT64_MAX : d * w;
}

typedef struct ps_offcpu_stats {
	uint64_t intervals;  /* OFFCPU records written */
	uint64_t unpaired;   /* switch-ins without a switch-out or the reverse (lost records) */
	uint64_t no_stack;   /* intervals without a switch sample (approximate stacks) */
	uint64_t stack_bytes; /* user stack bytes copied per switch (0: frame pointers only) */
	/* Intervals whose stack was not sampled (--off-cpu-period): not written, their time
	 * is carried by the sampled ones (ps_offcpu_time). Absent in older traces. */
	uint64_t unsampled;
	uint64_t unsampled_ns; /* their exact blocked time */
} ps_offcpu_stats;

typedef struct ps_event {
	enum ps_rec_type type;
	union {
		ps_sample sample;
		ps_mmap mmap;
		ps_comm comm;
		ps_task task; /* FORK and EXIT */
		uint64_t lost;
		ps_throttle throttle;
		ps_symrec sym;
		ps_stats stats;
		ps_note note;
		ps_fileid file;
		ps_heap heap; /* HEAP_ALLOC and HEAP_FREE */
		ps_metricrec metrics;
		ps_offcpu offcpu;
		ps_offcpu_stats offcpu_stats;
	};
} ps_event;

/* Metadata: key/value strings in the header. Keys perfsample writes: version, cmdline,
 * event, freq, period, clock, start_time, hostname, release, kernel_build_id, ncpus,
 * callgraph, target. */
typedef struct ps_kv {
	const char *key, *value;
} ps_kv;

/* ---- writing ---- */
typedef struct ps_trace_writer ps_trace_writer;

/* Creates PATH.partial (0600, O_EXCL|O_NOFOLLOW) and writes the header. A stale
 * PATH.partial that no live recorder holds is replaced. level: zstd level (0 = default). */
int ps_trace_create(ps_trace_writer **out, const char *path, const ps_kv *meta, size_t nmeta,
		    int level);
int ps_trace_write(ps_trace_writer *w, const ps_event *ev); /* any type but STACK */
/* Flushes the current chunk when it is a second old or large. Call often. */
int ps_trace_tick(ps_trace_writer *w);
int ps_trace_flush(ps_trace_writer *w);
uint64_t ps_trace_bytes(const ps_trace_writer *w); /* bytes written to the file so far */
const char *ps_trace_partial_path(const ps_trace_writer *w);
/* Flushes, fsyncs and renames PATH.partial to PATH; frees w. */
int ps_trace_commit(ps_trace_writer *w);
/* Removes PATH.partial; frees w. NULL is fine. */
void ps_trace_abort(ps_trace_writer *w);
/* After a failed write (a full disk): cuts PATH.partial back to its last whole chunk and
 * closes it, keeping what was recorded readable (without STATS: not complete). Returns
 * the bytes kept, or 0 when no chunk was written and PATH.partial was removed. Frees w. */
uint64_t ps_trace_salvage(ps_trace_writer *w);
/* Closes, keeping PATH.partial as it is (for rotation errors); frees w. */
void ps_trace_close_partial(ps_trace_writer *w);

/* ---- reading ---- */
typedef struct ps_trace_reader ps_trace_reader;

int ps_trace_open(ps_trace_reader **out, const char *path);
/* Reads from memory (for fuzzing and tests); data must outlive the reader. */
int ps_trace_open_mem(ps_trace_reader **out, const void *data, size_t size);
void ps_trace_close(ps_trace_reader *r); /* NULL is fine */
const char *ps_trace_meta(const ps_trace_reader *r, const char *key); /* NULL if absent */
size_t ps_trace_nmeta(const ps_trace_reader *r);
ps_kv ps_trace_meta_at(const ps_trace_reader *r, size_t i);
/* The next record: 1 and *ev filled, 0 at the end, or a negative code (I/O, memory).
 * Pointers in *ev are valid until the next call. A truncated tail ends the stream (0)
 * and damaged chunks are skipped; both are counted in ps_trace_get_status. */
int ps_trace_next(ps_trace_reader *r, ps_event *ev);
/* 1 when the file is perf's perf.data, read through formats/ps_perfdata. */
int ps_trace_is_perfdata(const ps_trace_reader *r);
/* Restarts reading at the first chunk. */
int ps_trace_rewind(ps_trace_reader *r);
/* Decompressing the next chunk in a second thread while the caller reads this one: on by
 * default for trace files of 4 MiB or more. Rewinds. (For tests: both ways read alike.) */
void ps_trace_set_prefetch(ps_trace_reader *r, int on);
/* Samples name their stack by a trace-wide id (ps_sample.stack, with chunk
 * PS_CHUNK_TRACE_WIDE): equal chains, equal ids, for the reader's lifetime. The reader
 * keeps a copy of each distinct chain to tell them apart, in the thread that
 * decompresses, so a caller that groups samples by chain (the symbolizer) compares none
 * itself; samples' ips point at that copy, valid until the reader is closed. Off by
 * default: chunk-local numbers cost no memory beyond the chunk. No effect on perf.data.
 * Rewinds (any reader): ps_trace_rewind's result. */
int ps_trace_set_stack_ids(ps_trace_reader *r, int on);

/* Reads the samples of the event called name (a perf.data file may hold several; a
 * perfsample trace holds one). PS_EFORMAT when there is no such event. */
int ps_trace_select_event(ps_trace_reader *r, const char *name);

/* Unwinding stack copies while reading: a perf.data file recorded with --call-graph
 * dwarf holds registers and a copy of the user stack per sample, where a perfsample
 * trace holds the chain its recorder unwound. The reader tells the unwinder about address
 * spaces (MMAP, FORK, EXIT, COMM records, in time order) and asks it for each sample's
 * user chain. */
typedef struct ps_trace_unwind {
	void *ctx;
	uint64_t regs_mask; /* the registers unwind() takes, in mask bit order */
	void (*reset)(void *ctx); /* the reader starts over */
	void (*event)(void *ctx, const ps_event *ev);
	/* Writes the sampled IP and the return addresses, leaf first; returns the count. */
	int (*unwind)(void *ctx, uint32_t pid, const uint64_t *regs, const void *stack,
		      size_t len, uint64_t *ips, size_t max);
} ps_trace_unwind;
void ps_trace_set_unwind(ps_trace_reader *r, const ps_trace_unwind *u);
/* 1 when the trace's samples carry stack copies for an unwinder (perf.data, dwarf). */
int ps_trace_has_stack_copies(const ps_trace_reader *r);

typedef struct ps_trace_status {
	uint64_t chunks;        /* whole chunks read */
	uint64_t dropped_bytes; /* bytes of a truncated tail that were not read */
	/* Damaged chunks (wrong magic, sizes, checksum or records) are skipped, up to the
	 * next chunk magic; the rest of the trace is read. */
	uint64_t corrupt_chunks, corrupt_bytes;
	uint64_t corrupt_offset; /* file offset of the first one */
	int complete;           /* a STATS record was seen: the recorder finished */
} ps_trace_status;
ps_trace_status ps_trace_get_status(const ps_trace_reader *r);

/* What a trace holds, counted in the pass that reads it (info, subtitles, export
 * metadata). Zero-initialise, then ps_trace_summary_add each record. */
typedef struct ps_trace_summary {
	ps_stats stats; /* the STATS record, when have_stats */
	int have_stats;
	uint64_t samples, lost, throttled, mmaps, comms, forks, exits, symbols;
	uint64_t first_time, last_time; /* of samples, CLOCK_MONOTONIC ns; 0 when none */
	int kernel_hidden;              /* a note says kernel addresses were hidden */
	uint64_t heap_allocs, heap_frees; /* HEAP_ALLOC and HEAP_FREE records */
	uint64_t metrics_system, metrics_procs; /* METRICS records: of the system, of processes */
	uint64_t offcpu, offcpu_ns;     /* OFFCPU records and their blocked time (weighted) */
	uint64_t offcpu_raw_ns;         /* their durations alone */
	ps_offcpu_stats offcpu_stats;   /* the recorder's (OFFCPU_STATS), when have_offcpu */
	int have_offcpu;
} ps_trace_summary;
void ps_trace_summary_add(ps_trace_summary *s, const ps_event *ev);
/* The recording's start and length: from STATS when the recorder finished, else from
 * the first and last sample. */
uint64_t ps_trace_summary_start(const ps_trace_summary *s);
uint64_t ps_trace_summary_duration(const ps_trace_summary *s);
/* Reads the whole trace from its start into *s. Returns 0 or a negative code. */
int ps_trace_summarize(ps_trace_reader *r, ps_trace_summary *s);

#endif
