/* ps_profile: the profile model every command builds and every renderer reads.
 *
 * A profile is pprof's idea in flat memory:
 * - mappings: the files code ran from (path, build-id, mapped range);
 * - frames: an interned table; a frame is a name as the binary spells it (not demangled),
 *   its mapping, address, source file:line and kind (user, kernel, JIT, inline, or the
 *   process root that FlameGraph puts first: comm, comm-PID or comm-PID/TID);
 * - stacks: a trie of frame ids from the root, whose nodes carry N value columns declared
 *   as sample types (name + unit, as "samples"/"count", "cpu"/"nanoseconds",
 *   "off-cpu"/"nanoseconds", "alloc_space"/"bytes");
 * - samples (only with PS_PROFILE_SAMPLES): the individual samples in order, each with its
 *   stack node, pid, tid, time and values, for the views that need them (flame charts,
 *   time ranges, per-thread views, timelines).
 * FlameGraph's folded text is one import and export format of it (ps_profile_read_folded,
 * ps_profile_write_folded), byte for byte what stackcollapse-perf.pl writes.
 *
 * Ids are dense from 0 (frames, mappings, nodes); node 0 is the root, which has no frame,
 * and a node's parent always has a smaller id. Pointers the profile hands out stay valid
 * until it is freed, unless a function says otherwise. */
#ifndef PS_PROFILE_H
#define PS_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_util.h"

typedef struct ps_profile ps_profile;
typedef uint32_t ps_frame_id;
typedef uint32_t ps_node_id;
#define PS_NODE_ROOT ((ps_node_id)0)
#define PS_MAPPING_NONE 0 /* mapping ids start at 1 */

typedef enum ps_frame_kind {
	PS_FRAME_UNKNOWN = 0, /* a name and nothing else (folded text) */
	PS_FRAME_USER,
	PS_FRAME_KERNEL,
	PS_FRAME_JIT,
	PS_FRAME_INLINE,  /* inlined into the frame below it, at the same address */
	PS_FRAME_PROCESS, /* the root: comm, comm-PID or comm-PID/TID */
} ps_frame_kind;

typedef struct ps_mapping {
	const char *path;     /* "/usr/lib/x86_64-linux-gnu/libc.so.6", "[kernel.kallsyms]" */
	const char *build_id; /* lowercase hex, or NULL */
	uint64_t start, limit, pgoff; /* mapped range, file offset of start; 0s when unknown */
} ps_mapping;

typedef struct ps_frame {
	const char *name;   /* as the binary spells it; never NULL */
	const char *file;   /* source file, or NULL */
	uint64_t addr;      /* sampled address, 0 when unknown or frames are per function */
	uint32_t line;      /* 1-based, 0 when unknown */
	uint32_t mapping;   /* mapping id, PS_MAPPING_NONE */
	uint8_t kind;       /* ps_frame_kind */
	uint8_t unresolved; /* name is a placeholder ("[unknown]", "[libc.so.6]") */
	uint8_t has_symoff;
	uint8_t retaddr; /* addr is a return address minus one (the call's last byte) */
	uint32_t symoff; /* with has_symoff: the sampled address minus the function's start */
} ps_frame;

enum {
	/* Keep every sample in order (ps_profile_add_sample), not only their sums. */
	PS_PROFILE_SAMPLES = 1 << 0,
	/* A differential profile: column 0 is "before", column 1 "after". */
	PS_PROFILE_DIFF = 1 << 1,
	/* Folded text added to it (ps_profile_add_folded, ps_profile_read_folded) starts with
	 * the process column stackcollapse-perf.pl writes: the first frame of each stack is a
	 * PS_FRAME_PROCESS frame. */
	PS_PROFILE_FOLDED_PROCESS = 1 << 2,
};

ps_profile *ps_profile_new(unsigned flags);
void ps_profile_free(ps_profile *p); /* NULL is fine */
unsigned ps_profile_flags(const ps_profile *p);
int ps_profile_is_diff(const ps_profile *p);

/* ---- value columns ---- */

/* Declares a column (strings copied); returns its index, or a negative code. At most
 * PS_PROFILE_MAX_COLS. Declare all columns before adding values. */
#define PS_PROFILE_MAX_COLS 8
int ps_profile_add_type(ps_profile *p, const char *type, const char *unit);
size_t ps_profile_ntypes(const ps_profile *p);
/* The column's type ("samples") and unit ("count"); NULL past the end. */
const char *ps_profile_type(const ps_profile *p, size_t col, const char **unit);
/* Column index of a type, or -1. */
int ps_profile_find_type(const ps_profile *p, const char *type);
/* The sum of a column over every stack. */
uint64_t ps_profile_total(const ps_profile *p, size_t col);

/* ---- mappings and frames ---- */

/* Interns a mapping or a frame (strings copied; equal fields give the same id). */
int ps_profile_mapping(ps_profile *p, const ps_mapping *m, uint32_t *id);
int ps_profile_frame(ps_profile *p, const ps_frame *f, ps_frame_id *id);
/* Shorthand: a frame of the given kind with only a name (name[0..len)). */
int ps_profile_frame_named(ps_profile *p, const char *name, size_t len, ps_frame_kind kind,
			   ps_frame_id *id);
size_t ps_profile_nmappings(const ps_profile *p); /* ids 1..n */
const ps_mapping *ps_profile_mapping_at(const ps_profile *p, uint32_t id); /* NULL for 0 */
size_t ps_profile_nframes(const ps_profile *p);
const ps_frame *ps_profile_frame_at(const ps_profile *p, ps_frame_id id);

/* ---- labels: how a frame prints ---- */

enum {
	PS_LABEL_KERNEL = 1 << 0, /* "_[k]" after kernel frames (stackcollapse-perf --kernel) */
	PS_LABEL_JIT = 1 << 1,    /* "_[j]" after JIT frames (--jit) */
	PS_LABEL_INLINE = 1 << 2, /* "_[i]" after inlined frames (--inline) */
	PS_LABEL_LINES = 1 << 3,  /* " [file:line]" where known */
};
/* Turns a name as the binary spells it into its printed form (demangling): appends to out
 * and returns 1, returns 0 to print the name as it is, or a negative code. */
typedef int (*ps_demangle_fn)(void *ctx, const char *name, ps_buf *out);
typedef struct ps_label_opts {
	unsigned flags;
	ps_demangle_fn demangle; /* NULL: names print as spelled (--no-demangle) */
	void *ctx;
} ps_label_opts;
/* Sets how labels print; labels made before are forgotten. */
void ps_profile_set_labels(ps_profile *p, const ps_label_opts *o);
/* The frame's label: demangled (not PS_FRAME_UNKNOWN or PROCESS frames: those are text
 * already), annotated, and escaped as a folded frame (no ';', no control bytes). Made once
 * per frame and cached; NULL only when out of memory. *len may be NULL. */
const char *ps_profile_label(ps_profile *p, ps_frame_id id, size_t *len);
/* The frame's name as other tools print a function: demangled as its label is, but with no
 * annotation ("_[k]", " [file:line]") and no escaping (a name may hold ';' or control
 * bytes: the writer of each format escapes for it). Appends to out; 0 or a negative code. */
int ps_profile_name(ps_profile *p, ps_frame_id id, ps_buf *out);

/* ---- stacks ---- */

/* The child of parent for frame f, created when absent. */
int ps_profile_child(ps_profile *p, ps_node_id parent, ps_frame_id f, ps_node_id *out);
/* The node of the stack frames[0..n), root first (n == 0 is the root). */
int ps_profile_stack(ps_profile *p, const ps_frame_id *frames, size_t n, ps_node_id *out);
/* Adds v to a node's column. PS_ELIMIT when the column's total would pass INT64_MAX. */
int ps_profile_add_value(ps_profile *p, ps_node_id node, size_t col, uint64_t v);

size_t ps_profile_nnodes(const ps_profile *p); /* the root included */
ps_node_id ps_profile_node_parent(const ps_profile *p, ps_node_id n);
ps_frame_id ps_profile_node_frame(const ps_profile *p, ps_node_id n);
uint32_t ps_profile_node_depth(const ps_profile *p, ps_node_id n); /* root 0 */
/* First child and next sibling (in creation order); PS_NODE_ROOT when none. */
ps_node_id ps_profile_node_child(const ps_profile *p, ps_node_id n);
ps_node_id ps_profile_node_next(const ps_profile *p, ps_node_id n);
/* The node's own (self) value in a column. */
uint64_t ps_profile_node_self(const ps_profile *p, ps_node_id n, size_t col);
/* Inclusive values of every node for a column: an array of nnodes, the caller frees it.
 * Returns NULL when out of memory. */
uint64_t *ps_profile_node_totals(const ps_profile *p, size_t col);
/* Fills out[0..depth) with the frames of node n, root first; returns the depth. */
size_t ps_profile_node_path(const ps_profile *p, ps_node_id n, ps_frame_id *out, size_t max);

/* Adds src's stacks to dst: every stack with a value in src_col gets that value times
 * scale (rounded to the nearest integer) in dst_col, with src's frames and mappings
 * copied. dst keeps its own labels. Returns 0 or a negative code. */
int ps_profile_merge(ps_profile *dst, size_t dst_col, ps_profile *src, size_t src_col,
		     double scale);

/* A differential profile of before and after (column 0 of each): every stack of either,
 * with its before count in column 0 (scaled by after's total / before's total when
 * normalize is set, as difffolded.pl -n) and its after count in column 1. Labels are
 * before's. Returns 0 and *out (free with ps_profile_free) or a negative code. */
int ps_profile_diff(ps_profile *before, ps_profile *after, int normalize, ps_profile **out);

/* ---- samples (PS_PROFILE_SAMPLES) ---- */

typedef struct ps_profile_sample {
	uint64_t time; /* ns, on the recording's clock; 0 when unknown */
	uint32_t pid, tid;
	ps_node_id node;
	uint32_t cpu;
} ps_profile_sample;

/* A sample's labels beyond pid, tid and comm (pprof's Label: a key with a string, or with
 * a number and its unit), kept as interned sets: samples with equal labels share one id.
 * Strings are copied into the profile. */
typedef struct ps_profile_tag {
	const char *key;
	const char *str;  /* NULL for a numeric label */
	int64_t num;
	const char *unit; /* NULL when none */
} ps_profile_tag;
/* The id (from 1) of the set of n tags (in their order), made when new. */
int ps_profile_tag_set(ps_profile *p, const ps_profile_tag *tags, size_t n, uint32_t *id);
/* The tags of set id and their count in *n; NULL (and *n 0) for 0 or an unknown id. */
const ps_profile_tag *ps_profile_tags(const ps_profile *p, uint32_t id, size_t *n);
/* ps_profile_add_sample with the sample's tag set (kept with PS_PROFILE_SAMPLES). */
int ps_profile_add_sample_tags(ps_profile *p, const ps_profile_sample *s, const uint64_t *values,
			       uint32_t tags);
/* The tag set of kept sample i; 0 when it has none. */
uint32_t ps_profile_sample_tags(const ps_profile *p, size_t i);

/* Adds values (one per column, ntypes of them) to s->node and, with PS_PROFILE_SAMPLES,
 * keeps the sample. */
int ps_profile_add_sample(ps_profile *p, const ps_profile_sample *s, const uint64_t *values);
size_t ps_profile_nsamples(const ps_profile *p);
const ps_profile_sample *ps_profile_sample_at(const ps_profile *p, size_t i);
uint64_t ps_profile_sample_value(const ps_profile *p, size_t i, size_t col);
/* Orders the kept samples by time (stable: equal times keep their order). */
int ps_profile_sort_samples(ps_profile *p);

/* ---- folded text ---- */

/* Adds count to the stack of a folded line's stack part "a;b;c" (len bytes), each frame a
 * PS_FRAME_UNKNOWN frame named by its text (the first a PS_FRAME_PROCESS frame with
 * PS_PROFILE_FOLDED_PROCESS). With PS_PROFILE_SAMPLES the stack is also kept
 * as a sample (in the order added). count2 goes to column 1 of a differential profile. */
int ps_profile_add_folded(ps_profile *p, const char *folded, size_t len, uint64_t count,
			  uint64_t count2);

/* Writes "frame;frame;... count\n" (two counts for a differential profile: column 0 then
 * column 1) for every stack with a non-zero value in col, sorted bytewise as
 * stackcollapse-perf.pl's output is. Frames print as ps_profile_label gives them. Returns
 * 0 or a negative code (-EIO when writing fails). */
int ps_profile_write_folded(ps_profile *p, size_t col, FILE *out);

/* Reads folded text ("stack count" or "stack count1 count2" per line, as flamegraph.pl
 * accepts) into a profile that declares "samples"/"count" (and a second column for the
 * differential form) when it has no columns yet. A malformed line is passed to warn
 * (1-based line number, reason) and skipped, or, with PS_FOLDED_STRICT, ends the read with
 * PS_EFORMAT. A count past INT64_MAX, or counts whose sum would pass it, end the read with
 * PS_ELIMIT (warn names the line), as does a line longer than PS_FOLDED_MAX_LINE (the
 * read never holds more). Input whose lines are all malformed is PS_EFORMAT. Returns 0 or a
 * negative code. */
enum { PS_FOLDED_STRICT = 1 << 0 };
#define PS_FOLDED_MAX_LINE (16u << 20) /* 16 MiB */
/* fatal: the line ends the read (PS_FOLDED_STRICT, or a count past the limit); else the
 * line is skipped. */
typedef void (*ps_folded_warn_fn)(void *ctx, size_t lineno, const char *reason, int fatal);
int ps_profile_read_folded(ps_profile *p, FILE *in, unsigned flags, ps_folded_warn_fn warn,
			   void *ctx);

/* Parses one folded line (without its newline). Returns 0 and sets *stack_len, *count,
 * *count2, *has2, or PS_EFORMAT with *reason set. Exposed for fuzzing and tests. */
int ps_folded_parse_line(const char *line, size_t len, size_t *stack_len, uint64_t *count,
			 uint64_t *count2, int *has2, const char **reason);

#endif
