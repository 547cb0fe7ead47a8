/* ps_sym: turns a trace's address chains into named frames — the trace's address spaces
 * (formats/ps_aspace, over time), ELF and DWARF lookups, kallsyms, JIT maps, or the symbols
 * embedded in the trace — and hands out symbolic samples or folded profiles. */
#ifndef PS_SYM_H
#define PS_SYM_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_profile.h"
#include "formats/ps_trace.h"

typedef struct ps_sym_cache ps_sym_cache; /* symbolize/ps_sym_cache.h */

enum ps_sym_root { PS_ROOT_COMM, PS_ROOT_PID, PS_ROOT_TID, PS_ROOT_NONE };

/* What a trace recorded with --off-cpu shows: CPU samples (its blocked intervals left
 * out), blocked time ("off-cpu"/"microseconds"), CPU plus blocked time per thread
 * ("wall"/"microseconds", CPU time from a clock event's periods), or the CPU columns
 * plus "off-cpu"/"nanoseconds" when the trace has blocked intervals (exports). */
enum ps_sym_offcpu { PS_OFFCPU_NONE, PS_OFFCPU_ONLY, PS_OFFCPU_WALL, PS_OFFCPU_COLUMN };

typedef struct ps_sym_opts {
	int demangle;          /* default 1 */
	int inline_frames;     /* default 1: DWARF inline frames as their own frames */
	int lines;             /* append " [file:line]" where DWARF line info exists */
	int annotate_kernel;   /* "_[k]" on kernel frames (fold --kernel) */
	int annotate_jit;      /* "_[j]" on JIT frames (fold --jit) */
	int annotate_inline;   /* "_[i]" on inlined frames */
	int addrs;             /* unresolved frames as module+0xoffset or 0xaddr */
	enum ps_sym_root root; /* first frame: comm, comm-PID, comm-PID/TID, or none */
	int use_embedded;      /* default 1: prefer the trace's embedded symbols */
	const uint32_t *pids;  /* only these processes (NULL: all) */
	size_t npids;
	const uint32_t *tids;  /* only these threads */
	size_t ntids;
	const char *comm;      /* only threads of this name */
	/* Only samples at [time_start_ns, time_end_ns) after the recording's start, when
	 * time_range is set. The start is the STATS record's start_ns (the recorder's start, on
	 * the samples' clock), or in a trace without one (its recorder did not finish) the
	 * earliest sample's time. */
	int time_range;
	uint64_t time_start_ns, time_end_ns;
	const char *kallsyms;  /* default /proc/kallsyms */
	const char *jit_dir;   /* where perf-PID.map files are, default /tmp */
	const char *debug_dir; /* global debug files (build-id and debuglink trees); NULL:
				* $PERFSAMPLE_DEBUG_DIR, else /usr/lib/debug */
	int addresses;         /* ps_sym_profile: a frame per address, with its file:line and
				* mapped range (exports); default 0: a frame per function */
	/* ps_sym_profile: the heap records instead of the samples (record --heap), valued by
	 * the bytes allocated, still live at the end, or live at the peak. */
	enum ps_heap_view { PS_HEAP_NONE, PS_HEAP_ALLOC, PS_HEAP_INUSE, PS_HEAP_PEAK } heap;
	enum ps_sym_offcpu offcpu; /* ps_sym_profile: which values (default CPU samples) */
	int offcpu_voluntary;  /* blocked time only where the thread waited of its own accord:
				* not preempted (runnable, waiting for a CPU) */
	ps_sym_cache *cache;   /* ELF images and kallsyms kept across calls, or NULL (default) */
} ps_sym_opts;

void ps_sym_opts_init(ps_sym_opts *o);

typedef struct ps_sym_frame {
	uint64_t addr;      /* as sampled (return addresses not adjusted) */
	const char *name;   /* function, or "[module]" / "[unknown]" when unresolved */
	const char *module; /* mapped file's path, "[kernel.kallsyms]", or "" */
	const char *file;   /* source file or NULL */
	unsigned line;
	/* Resolved frames with has_offset: the sampled address minus the function's start
	 * (perf's sym+0xOFF). Unresolved frames: the offset in the mapped file. */
	uint64_t offset;
	unsigned kernel : 1, inlined : 1, resolved : 1, jit : 1, has_offset : 1;
} ps_sym_frame;

typedef struct ps_sym_report {
	uint64_t samples;          /* samples handed out */
	uint64_t frames, unresolved;
	uint64_t addresses;        /* distinct addresses resolved */
	uint64_t embedded;         /* SYMBOL records written or used */
	int kernel_hidden;         /* kallsyms shows zeros (kptr_restrict) */
	uint64_t jit_refused;      /* perf-PID.map files skipped: another user's, or writable
				    * by others */
	int kernel_foreign;        /* recorded on another kernel: this machine's kallsyms was
				    * not used (o->kallsyms, when set, is always used) */
	uint64_t dropped_records;  /* MMAP, COMM, FORK records past the bounds of the address
				    * spaces (a hostile trace): left out, counted */
	uint64_t cut_lookups;      /* address lookups cut short among a hostile trace's
				    * overlapping mappings (ps_aspace_stats) */
	ps_trace_summary trace;    /* what the trace holds, from the same pass */
	/* Files names were taken from without a build-id or FILE record to check them
	 * against (older traces), and files that changed since the recording (another
	 * build-id, size or mtime), whose frames stay unnamed: counts and the first path. */
	uint64_t unverified, changed;
	char unverified_path[256], changed_path[256];
} ps_sym_report;

/* Builds the profile model of the trace's samples (after the filters) into out: each stack
 * is the root frame the options ask for (comm, comm-PID, comm-PID/TID: a PS_FRAME_PROCESS
 * frame) and the chain's frames from the outermost, with their kind, mapping (path,
 * build-id), and with o->addresses their address, file:line and mapped range. Frame names
 * are as the binaries spell them; out's labels are set from the options (demangling,
 * annotations, lines). When out has no columns yet they are declared: "samples"/"count"
 * and, for clock events, "cpu"/"nanoseconds" (the sum of periods); with weight_period only
 * the sum of periods. With PS_PROFILE_SAMPLES every sample is kept, in time order. The
 * trace is decoded once (plus the first pass over its address spaces). */
int ps_sym_profile(ps_trace_reader *r, const ps_sym_opts *o, int weight_period, ps_profile *out,
		   ps_sym_report *rep);
/* With o->heap, the columns are the view's bytes and objects first ("alloc_space"/"bytes",
 * "alloc_objects"/"count"; "inuse_..."; "peak_..."), then the other pprof heap types
 * (alloc_objects, alloc_space, inuse_objects, inuse_space) not listed yet. Each sampled
 * allocation is one sample at its time. */

/* Sets p's labels from the options: demangling (o->demangle) and annotations. */
void ps_sym_set_labels(const ps_sym_opts *o, ps_profile *p);

/* Resolves every address the trace's samples use and writes SYMBOL records to w, so the
 * trace renders without the profiled binaries. */
int ps_sym_embed(ps_trace_reader *r, const ps_sym_opts *o, ps_trace_writer *w,
		 ps_sym_report *rep);

/* Writes a FILE record to w for each file the trace's MMAP records name without a
 * build-id, as the file is now (a recording's end), so that readers can tell it from a
 * file rebuilt at the same path since. *written counts them. */
int ps_sym_identify(ps_trace_reader *r, ps_trace_writer *w, uint64_t *written);

#endif
