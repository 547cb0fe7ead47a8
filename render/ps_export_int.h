/* ps_export internals shared by the three writers: the profile cut into interned frame ids
 * once, so every format numbers functions the same way. Not a public API. */
#ifndef PS_EXPORT_INT_H
#define PS_EXPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_util.h"
#include "render/ps_export.h"

/* Interned strings: id -> name, ids dense from 0 in order of first appearance. */
typedef struct ps_xtab {
	ps_arena *arena;
	const char **name;
	size_t *len;
	uint32_t n, cap;
	uint32_t *slot; /* open addressing, holds id + 1; 0 is empty */
	size_t mask;
} ps_xtab;

int ps_xtab_intern(ps_xtab *t, const char *s, size_t len, uint32_t *id);
void ps_xtab_release(ps_xtab *t);

/* The profile as ids. Stack i has frames ids[start[i] .. start[i+1]) root first, comm[i]
 * (an id in comms, or UINT32_MAX when first_frame_is_comm is off) and count[i]. */
typedef struct ps_xprof {
	ps_export_meta m; /* defaults filled in */
	ps_xtab frames, comms;
	size_t nstacks;
	size_t *start;
	uint32_t *ids;
	uint32_t *comm;
	uint64_t *count;
	uint64_t total;
	/* Per frame id, when the frame_meta hook filled it (has_meta[id]); strings in arena. */
	ps_export_frame_meta *meta;
	unsigned char *has_meta;
	ps_arena *arena;
} ps_xprof;

int ps_xprof_build(ps_xprof *x, ps_profile *p, const ps_export_meta *m);
void ps_xprof_release(ps_xprof *x);

/* Writes s[0..len) as a JSON string with its quotes: '"', '\\' and control bytes escaped,
 * invalid UTF-8 (bad, overlong, surrogate or out-of-range sequences) as \ufffd per byte. */
void ps_x_json_str(FILE *out, const char *s, size_t len);

/* 0 when out has no error, else -EIO (or the errno fwrite left). */
int ps_x_check_stream(FILE *out);

#endif
