/* cmd/source: where a command's stacks come from — a perfsample trace (-i, the default
 * perfsample.data), folded text (--folded), perf-script text (--input perf-script) or
 * another tool's stacks (--input pmcstat, dtrace, pprof) — the
 * options every command that reads stacks shares (input, root frame, filters, names), and
 * everything that turns an input into a profile, a walk of samples or a trace summary.
 * The one place that knows how inputs are read. */
#ifndef PS_CMD_SOURCE_H
#define PS_CMD_SOURCE_H

#include <stdint.h>

#include "cmd/options.h"
#include "formats/ps_pprof.h"
#include "formats/ps_profile.h"
#include "formats/ps_trace.h"
#include "symbolize/ps_sym.h"

struct source {
	const char *trace;	  /* -i: a perfsample trace */
	const char *folded;	  /* --folded FILE|- */
	const char *perfscript;	  /* --input perf-script FILE|- */
	const char *stacks;	  /* --input pmcstat|dtrace|pprof FILE|-: another tool's stacks */
	const char *stacks_format; /* which tool's */
	ps_pprof_info pprof;	  /* what a pprof input said beyond its stacks, once read */
	const char *sample_type;  /* --sample-type: pprof input's type to show */
	const char *input_format; /* --input FORMAT: its file is the operand */
	int pid_root, tid_root;	  /* --pid, --tid: root frame comm-PID, comm-PID/TID */
	int strict;		  /* malformed folded lines are fatal */
	int weight_period;	  /* --period */
	const char *event_filter; /* perf-script input: keep this event (default: the first) */
	ps_sym_opts sym;	  /* names, labels and the filters of trace input */
};

void source_init(struct source *s);
/* A symbol cache every source from now on names its frames with (symbolize/ps_sym_cache.h):
 * for a process that runs command after command, the agent's renderer. NULL: none. */
void source_set_sym_cache(ps_sym_cache *c);

/* Option callbacks of the tables below; value is the struct source. */
void source_cb_input(const struct opt *o, const char *arg);
void source_cb_select_pid(const struct opt *o, const char *arg);
void source_cb_select_tid(const struct opt *o, const char *arg);
void source_cb_time(const struct opt *o, const char *arg);
void source_cb_all(const struct opt *o, const char *arg);
void source_cb_heap(const struct opt *o, const char *arg);
void source_cb_offcpu(const struct opt *o, const char *arg);
void source_cb_wall(const struct opt *o, const char *arg);

/* Which file: -i, --folded, --input (the file is the operand). */
#define SOURCE_INPUT_OPTIONS(s)                                                                 \
	OPT_STRING('i', "input-file", &(s)->trace, "TRACE",                                     \
		   "the trace (default perfsample.data; an operand is one too)"),              \
	OPT_STRING(0, "folded", &(s)->folded, "FILE|-", "folded stacks from any tool"),        \
	OPT_CALLBACK(0, "input", (s), "FORMAT",                                                 \
		     "the operand FILE (default stdin) is FORMAT: trace, folded, perf-script "  \
		     "(`perf script` text), pmcstat (`pmcstat -G` call graphs), dtrace (stack " \
		     "aggregations) or pprof (profile.proto, gzipped or not)",                  \
		     source_cb_input)

/* How the input is read. */
#define SOURCE_READ_OPTIONS(s)                                                                  \
	OPT_BOOL(0, "period", &(s)->weight_period,                                              \
		 "weight stacks by sample period instead of counting samples"),                \
	OPT_BOOL(0, "strict", &(s)->strict, "malformed folded lines are an error, not skipped"), \
	OPT_STRING(0, "sample-type", &(s)->sample_type, "TYPE",                                 \
		   "pprof input: show TYPE's values (inuse_space, cpu...; default the first "  \
		   "sample type)"),                                                             \
	OPT_STRING(0, "event-filter", &(s)->event_filter, "EVENT",                              \
		   "perf.data or perf-script input: keep EVENT's samples (default: the first "  \
		   "event, as stackcollapse-perf.pl does)"),                                   \
	OPT_CALLBACK(0, "heap", (s), "alloc|inuse|peak",                                        \
		     "a trace's heap samples (record --heap), in bytes: all allocated, still "  \
		     "live at the end (leaks), or live at the peak (default inuse for a trace " \
		     "with heap samples only)",                                                 \
		     source_cb_heap)

/* Which time of a trace recorded with --off-cpu: blocked, or wall-clock. */
#define SOURCE_VALUE_OPTIONS(s)                                                                 \
	OPT_CALLBACK_F(0, "off-cpu", (s), "all|voluntary",                                      \
		       "blocked time per stack, in microseconds (record --off-cpu); voluntary " \
		       "leaves out time preempted threads waited for a CPU",                    \
		       source_cb_offcpu, OPT_OPTARG),                                           \
	OPT_CALLBACK(0, "wall", (s), NULL,                                                      \
		     "wall-clock time per stack, in microseconds: on-CPU plus blocked "         \
		     "(record --off-cpu)",                                                      \
		     source_cb_wall)

/* The root frame of every stack, as stackcollapse-perf.pl spells it. */
#define SOURCE_ROOT_OPTIONS(s)                                                                  \
	OPT_BOOL(0, "pid", &(s)->pid_root, "root frame 'comm-PID' (trace or perf-script input)"), \
	OPT_BOOL(0, "tid", &(s)->tid_root,                                                      \
		 "root frame 'comm-PID/TID' (trace or perf-script input)")

/* Which samples of a trace. */
#define SOURCE_FILTER_OPTIONS(s)                                                                \
	OPT_CALLBACK(0, "select-pid", (s), "PID[,..]", "only these processes",                  \
		     source_cb_select_pid),                                                     \
	OPT_CALLBACK(0, "select-tid", (s), "TID[,..]", "only these threads",                    \
		     source_cb_select_tid),                                                     \
	OPT_STRING(0, "comm", &(s)->sym.comm, "NAME", "only threads with this name"),          \
	OPT_CALLBACK(0, "time", (s), "START,END",                                               \
		     "only samples from START to END seconds after the recording started "     \
		     "(END excluded; either may be empty: --time 1.5,)",                       \
		     source_cb_time)

/* How frames of a trace are named. */
#define SOURCE_NAME_OPTIONS(s)                                                                  \
	OPT_SET_INT(0, "inline", &(s)->sym.inline_frames,                                       \
		    "inlined functions as frames of their own (default)", 1),                   \
	OPT_SET_INT(0, "no-inline", &(s)->sym.inline_frames,                                    \
		    "no frames for inlined functions", 0),                                      \
	OPT_SET_INT(0, "no-demangle", &(s)->sym.demangle, "keep C++ and Rust names mangled", 0), \
	OPT_STRING(0, "debug-dir", &(s)->sym.debug_dir, "DIR",                                  \
		   "where separate debug files are (default $PERFSAMPLE_DEBUG_DIR, else "       \
		   "/usr/lib/debug)"),                                                          \
	OPT_BOOL(0, "lines", &(s)->sym.lines, "add [file:line] where DWARF line info exists")

/* Marks on frames, as stackcollapse-perf.pl's options. */
#define SOURCE_LABEL_OPTIONS(s)                                                                 \
	OPT_BOOL(0, "kernel", &(s)->sym.annotate_kernel, "'_[k]' after kernel frames"),         \
	OPT_BOOL(0, "jit", &(s)->sym.annotate_jit, "'_[j]' after JIT frames"),                  \
	OPT_CALLBACK(0, "all", (s), NULL, "--kernel and --jit", source_cb_all),                 \
	OPT_BOOL(0, "addrs", &(s)->sym.addrs,                                                   \
		 "unresolved frames as module+0xOFFSET (or the raw address)")

/* Everything above, under headings, for a command with one input. */
#define SOURCE_OPTIONS(s)                                                                       \
	OPT_GROUP("input:"), SOURCE_INPUT_OPTIONS(s), SOURCE_READ_OPTIONS(s),                   \
	SOURCE_VALUE_OPTIONS(s),                                                                \
	OPT_GROUP("root frame:"), SOURCE_ROOT_OPTIONS(s),                                       \
	OPT_GROUP("filters (trace input):"), SOURCE_FILTER_OPTIONS(s),                          \
	OPT_GROUP("names (trace input):"), SOURCE_NAME_OPTIONS(s)

/* Takes the operands left by parse_options — the input file, at most one — and checks the
 * choices together (one input; filters need a trace); a mistake is a usage error. */
void source_operands(struct source *s, const char *cmd, int argc, char **argv);
/* The same checks for a source whose file was set by the command (diff's two operands):
 * format is "trace", "folded", "perf-script", "pmcstat", "dtrace" or "pprof". */
void source_set_input(struct source *s, const char *cmd, const char *format, const char *path);

int source_is_trace(const struct source *s);
const char *source_trace_path(const struct source *s);
enum ps_sym_root source_root(const struct source *s);

/* Opens a trace; every failure is one line and exit 1. */
ps_trace_reader *open_trace(const char *path);
/* The source's trace, with its event chosen (--event-filter) and, for perf.data with
 * stack copies, the DWARF unwinder attached. */
ps_trace_reader *open_source(struct source *s);
/* After a read of the whole trace: dies on err, warns about a truncated tail. */
void trace_read_done(ps_trace_reader *r, const char *path, int err);

/* What a trace holds, in one pass. Strings live as long as the process. */
struct trace_summary {
	ps_trace_summary t; /* the counts, from the pass that read the trace */
	const char *event, *cmdline, *freq, *period; /* from the header; NULL when absent */
	const char *start_time; /* wall clock, "YYYY-MM-DDTHH:MM:SSZ" */
};
void summarize(ps_trace_reader *r, const char *path, struct trace_summary *s);

/* Samples per process (named by the latest name of its main thread), most first. */
struct proc_count {
	uint32_t pid;
	uint64_t samples;
	char comm[64];
};
size_t count_processes(ps_trace_reader *r, const char *path, struct proc_count **out);

/* The stacks of the source as a profile (ps_profile_new(pflags); PS_PROFILE_SAMPLES keeps a
 * trace's samples in time order, for flame charts). A trace is read once; sum, when not
 * NULL, gets its summary from that pass (zeroed for text input). The caller frees the
 * profile. */
ps_profile *load_profile(struct source *s, unsigned pflags, struct trace_summary *sum);

/* One warning when the symbolizer skipped JIT map files it must not trust. */
void jit_refused_note(const ps_sym_report *rep);

/* As load_profile, with perf-script frames in mappings of their DSO (the call graph draws
 * modules as gprof2dot does); traces carry their mappings already, folded text has none. */
ps_profile *load_profile_modules(struct source *s);

/* A value of the source trace's header (a copy), or NULL. */
const char *source_trace_meta(struct source *s, const char *key);


#endif
