/* ps_export: writes a ps_profile in the formats other profilers read — pprof's gzipped
 * profile.proto (go tool pprof), speedscope's JSON file format and callgrind's text format
 * (kcachegrind, callgrind_annotate, gprof2dot). Frame names are opaque strings; a caller that
 * knows more about a frame (module, file, line, address) says so through an optional hook. */
#ifndef PS_EXPORT_H
#define PS_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

/* What the symbolizer knows about one frame. Every field is optional: NULL or 0 is unknown.
 * Strings are copied before the hook is called again, so the hook may reuse one buffer. */
typedef struct ps_export_frame_meta {
	const char *module;    /* path of the object the code lives in ("/usr/lib/libc.so.6") */
	const char *build_id;  /* hex build id of module */
	uint64_t module_start; /* mapped address range [start, limit) and file offset of start */
	uint64_t module_limit;
	uint64_t module_offset;
	uint64_t address;	 /* address of the frame's instruction */
	const char *system_name; /* mangled name, when name is demangled */
	const char *file;	 /* source file */
	uint32_t line;		 /* source line, 1-based */
} ps_export_frame_meta;

/* Called once per distinct frame name (NUL-terminated, as it appears in the stacks) with *out
 * zeroed. Returns 1 when it filled *out, 0 when it knows nothing (the frame gets the synthetic
 * mapping), or a negative code that aborts the export with that code. */
typedef int (*ps_export_frame_meta_fn)(void *ctx, const char *name, ps_export_frame_meta *out);

typedef struct ps_export_meta {
	const char *event;  /* "cpu-clock", "cycles"...; NULL is "cpu-clock" */
	const char *name;   /* title of the profile (the command line); NULL is none */
	uint64_t period_ns; /* time one sample stands for; 0 when unknown (counts only) */
	uint64_t start_ns;  /* wall-clock start, ns since the epoch; 0 when unknown */
	uint64_t duration_ns;
	/* The first frame of each stack is the process name (FlameGraph's folded "comm;..."),
	 * not a function. pprof gets it as the sample label "comm", speedscope as one profile
	 * per comm, callgrind as the root of the call graph. ps_export_meta_init sets it. */
	int first_frame_is_comm;
	ps_export_frame_meta_fn frame_meta; /* optional */
	void *frame_meta_ctx;
} ps_export_meta;

/* Defaults: event "cpu-clock", first_frame_is_comm = 1, everything else unknown. */
void ps_export_meta_init(ps_export_meta *m);

/* Each writes the profile's stacks (count column; a differential profile's second column is
 * ignored) to out and returns 0, or a negative errno / PS_E* code. m may be NULL (defaults).
 * They sort p's stacks (ps_profile_stacks) and are deterministic: the same profile and meta
 * give the same bytes. */
int ps_export_pprof(ps_profile *p, const ps_export_meta *m, FILE *out);
int ps_export_speedscope(ps_profile *p, const ps_export_meta *m, FILE *out);
int ps_export_callgrind(ps_profile *p, const ps_export_meta *m, FILE *out);

/* The format named "pprof", "speedscope" or "callgrind" (for the CLI's --format); NULL when
 * the name is unknown. */
typedef int (*ps_export_fn)(ps_profile *p, const ps_export_meta *m, FILE *out);
ps_export_fn ps_export_by_name(const char *format);

#endif
