/* ps_pprof: reads pprof's profile.proto (github.com/google/pprof, proto/profile.proto),
 * gzipped as `go tool pprof`, runtime/pprof and perfsample write it, or raw, into the
 * profile model: sample types become value columns, locations and their lines frames
 * (inlined lines PS_FRAME_INLINE frames), mappings mappings, samples stacks with every
 * value. A bounded decoder: hostile input ends the read with an error, never more memory
 * or time than its size allows. */
#ifndef PS_PPROF_H
#define PS_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

#define PS_PPROF_MAX_BYTES ((size_t)1 << 30) /* the decompressed profile: 1 GiB */

typedef struct ps_pprof_opts {
	/* A frame per location (address, file:line, the mapping's range), as exports want;
	 * else a frame per function, as flame graphs and reports want. */
	int addresses;
	int lines;	  /* per function: keep file:line (the label option shows it) */
	size_t max_bytes; /* the limit of the file and the decompressed profile; 0: default */
	/* The sample type to put first (column 0, what renderers show); NULL: the file's
	 * first. A type the file lacks is PS_EFORMAT with info->no_such_type set. */
	const char *sample_type;
} ps_pprof_opts;

/* What the profile says beyond its stacks. */
typedef struct ps_pprof_info {
	int64_t time_nanos, duration_nanos; /* 0 when absent */
	int64_t period;			    /* in period_unit; 0 when absent */
	char period_type[32], period_unit[32];
	char event[64];		 /* a comment "event: NAME" (perfsample's export writes one) */
	char comment[256];	 /* the first other comment (perfsample's: the command line) */
	size_t ntypes;		 /* sample types in the file */
	size_t dropped;		 /* of them, past PS_PROFILE_MAX_COLS: not read */
	char dropped_names[128]; /* their "type/unit" names, ", " between, cut short */
	char types[256];	 /* the sample types' names, ", " between, as in the file */
	int no_such_type;	 /* o->sample_type is not one of them */
	const char *why;	 /* on PS_EFORMAT or PS_ELIMIT: what is wrong, a static string */
} ps_pprof_info;

/* Reads the profile in data[0..size) (gzip, detected by its magic, or raw) into out, which
 * must have no columns yet: it gets one per sample type, in the file's order (but
 * o->sample_type first), up to PS_PROFILE_MAX_COLS (info says which were dropped). Every sample
 * adds its values to the node of its stack (ps_profile_add_sample: kept with PS_PROFILE_SAMPLES,
 * with the numeric labels "pid" and "tid" as its pid and tid); a sample's string label "comm" (the
 * thread's name, as perfsample's export writes it) is the root of its stack, a
 * PS_FRAME_PROCESS frame. Frames are named by the function's
 * name, else its system name, else (a location without lines or functions) "0xADDR",
 * unresolved (as are the frames of a mapping without has_functions, which pprof would
 * symbolize again); a frame is PS_FRAME_KERNEL when its mapping is the kernel
 * ("[kernel.kallsyms]", "[vmlinux]"), else PS_FRAME_USER. Mappings keep file name and
 * build-id (and with addresses, start, limit and offset); the names are not demangled
 * (the function name is pprof's display name already).
 *
 * Returns 0, or PS_EFORMAT (not a profile, or a broken one: info->why), PS_ETRUNC (the
 * gzip stream ends early), PS_ECORRUPT (its data is corrupt), PS_ELIMIT (over max_bytes,
 * a value past 2^63-1 or summing past it, or more frames than the input can stand for),
 * -ENOMEM, -EIO. info may be NULL. */
int ps_pprof_read_mem(const void *data, size_t size, const ps_pprof_opts *o, ps_profile *out,
		      ps_pprof_info *info);
/* The same from a stream, read whole (up to max_bytes). */
int ps_pprof_read(FILE *in, const ps_pprof_opts *o, ps_profile *out, ps_pprof_info *info);

#endif
