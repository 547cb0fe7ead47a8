/* ps_export: writes a ps_profile in the formats other profilers read — pprof's gzipped
 * profile.proto (go tool pprof), speedscope's JSON file format and callgrind's text format
 * (kcachegrind, callgrind_annotate, gprof2dot). What a format can say about a frame (its
 * mapping, build-id, address, file:line, inlining) comes from the profile model; what it
 * says about the recording (event, period, start time) comes from ps_export_meta. */
#ifndef PS_EXPORT_H
#define PS_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

typedef struct ps_export_meta {
	const char *event;  /* "cpu-clock", "cycles"...; NULL is "cpu-clock" */
	const char *name;   /* title of the profile (the command line); NULL is none */
	uint64_t period_ns; /* time one sample stands for; 0 when unknown (counts only) */
	uint64_t start_ns;  /* wall-clock start of the recording, ns since the epoch; 0 unknown */
	uint64_t duration_ns;
	/* Frames that are only names (PS_FRAME_UNKNOWN, from folded text) at the root of a
	 * stack are the process name (FlameGraph's "comm;..."), as PS_FRAME_PROCESS frames
	 * always are. ps_export_meta_init sets it. The process is pprof's "comm" label,
	 * speedscope's profile, callgrind's root function. */
	int first_frame_is_comm;
	/* pprof: the period as a profile read in said it (type, unit, value), written as it
	 * is; NULL: period_ns as cpu/nanoseconds. */
	const char *period_type, *period_unit;
	int64_t period;
	int no_event_comment; /* pprof: the event is not known, write no "event:" comment */
} ps_export_meta;

/* Defaults: event "cpu-clock", first_frame_is_comm = 1, everything else unknown. */
void ps_export_meta_init(ps_export_meta *m);

/* Each writes the profile to out and returns 0, or a negative errno / PS_E* code (a
 * demangler's error among them). m may be NULL (defaults). pprof writes every value column
 * as a sample type; callgrind every column as an event; speedscope column 0. Frames are
 * named as ps_profile_name prints them (the profile's label options choose demangling).
 * They are deterministic: the same profile and meta give the same bytes. */
int ps_export_pprof(ps_profile *p, const ps_export_meta *m, FILE *out);
int ps_export_speedscope(ps_profile *p, const ps_export_meta *m, FILE *out);
int ps_export_callgrind(ps_profile *p, const ps_export_meta *m, FILE *out);

/* The format named "pprof", "speedscope" or "callgrind" (for the CLI's --format); NULL when
 * the name is unknown. */
typedef int (*ps_export_fn)(ps_profile *p, const ps_export_meta *m, FILE *out);
ps_export_fn ps_export_by_name(const char *format);

#endif
