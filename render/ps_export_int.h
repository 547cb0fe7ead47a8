/* ps_export internals shared by the three writers: the profile's frames gathered into
 * functions once, so every format names and numbers them the same way. Not a public API. */
#ifndef PS_EXPORT_INT_H
#define PS_EXPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/ps_util.h"
#include "render/ps_export.h"

/* A function as the formats name one: the frames of one name in one source file and one
 * object are one function, whatever their addresses and lines. */
typedef struct ps_xfn {
	const char *name; /* printed: demangled, no annotations, not escaped */
	size_t namelen;
	const char *sysname; /* as the binary spells it */
	const char *file;    /* source file, or NULL */
	const char *object;  /* path of its mapping, or NULL */
	uint32_t line;	     /* the smallest line known among its frames, 0 when none */
	uint8_t process;     /* a process root (comm, comm-PID...), not code */
} ps_xfn;

/* The profile with every node's function. Strings point into the profile or x's arena. */
typedef struct ps_xmodel {
	ps_export_meta m; /* defaults filled in */
	ps_profile *p;
	size_t nnodes;
	ps_xfn *fn;
	size_t nfn, fncap;
	uint32_t *node_fn;  /* per node; the root has UINT32_MAX */
	uint32_t *frame_fn; /* per frame: its function as code, UINT32_MAX when no node has it */
	uint8_t *node_proc; /* per node: 1 for a process root */
	ps_index fn_index;
	ps_arena *arena;
	ps_buf scratch;
} ps_xmodel;

int ps_xmodel_build(ps_xmodel *x, ps_profile *p, const ps_export_meta *m);
void ps_xmodel_release(ps_xmodel *x);
/* The process root of node n (its depth-1 ancestor when that is a process frame), else
 * PS_NODE_ROOT. */
ps_node_id ps_xmodel_process(const ps_xmodel *x, ps_node_id n);

/* Interned strings with dense ids from 0 in order of first appearance (copies kept). */
typedef struct ps_xstr {
	const char *s;
	size_t len;
} ps_xstr;
typedef struct ps_xstrs {
	ps_xstr *v;
	size_t n, cap;
	ps_index index;
	ps_arena *arena;
} ps_xstrs;
int ps_xstrs_id(ps_xstrs *t, const char *s, size_t len, uint32_t *id);
void ps_xstrs_release(ps_xstrs *t);

/* 0 when out has no error, else -EIO (or the errno fwrite left). */
int ps_x_check_stream(FILE *out);

#endif
