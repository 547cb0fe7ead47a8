/* ps_aspace: the address spaces of the traced processes — which file is mapped where in
 * which process, and what each thread is called — built from MMAP, COMM (exec), FORK and
 * EXIT records. One model for the recorder's unwinder (the state now) and the symbolizer
 * (the state at any time of the trace), as perf's machine/thread/maps serve every tool. */
#ifndef PS_ASPACE_H
#define PS_ASPACE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_trace.h"

typedef struct ps_aspace ps_aspace;

enum ps_aspace_mode {
	/* The state now, as the kernel has it: a new mapping replaces the parts of older
	 * ones it overlaps, FORK copies the parent's mappings, exec clears them, EXIT forgets
	 * the process (once keep_exited later processes exited). Lookups ignore time. For a
	 * reader that acts on each record as it comes (the recorder's unwinder). */
	PS_ASPACE_LIVE,
	/* Every record kept with its time, for a reader that takes in all records before it
	 * names samples (records of different CPUs' rings arrive out of time order). A lookup
	 * at time t sees, at an address, the newest mapping made at or before t (what
	 * replacement by overlap means over time; failing that, the earliest one made after
	 * t, as a lagging ring can deliver it); none made before the process's last exec
	 * before t; and a forked process sees its parent's mappings as of the fork until it
	 * maps something there itself. EXIT changes nothing: samples may name a process
	 * after its EXIT record (the symbolizer). */
	PS_ASPACE_HISTORY,
};

typedef struct ps_aspace_opts {
	enum ps_aspace_mode mode;
	size_t keep_exited; /* LIVE: exited processes stay this many later exits */
	/* Bounds against hostile input; what passes them is dropped and counted
	 * (ps_aspace_stats). 0 takes the default. */
	size_t max_procs;   /* processes known at once (default 1<<22, pid_max's limit) */
	size_t max_maps;    /* mappings of all processes (default 1<<22) */
	size_t max_objects; /* distinct mapped objects (default 1<<20) */
	size_t max_names;   /* COMM names kept (default 1<<22) */
	size_t max_execs;   /* HISTORY: execs remembered per process (default 4096) */
	/* The caller's word of each mapping (ps_aspace_map.user) may stand for something it
	 * counts references to: ref(ctx, user, +1) when another mapping starts to hold the
	 * word (a split, a fork's copy), ref(ctx, user, -1) when one that held it goes. Never
	 * called for 0. NULL: words are plain values. */
	void (*ref)(void *ctx, uint64_t user, int delta);
	/* Called with a process's word (ps_aspace_proc_user) when the process is forgotten
	 * or its pid starts a new process, and at ps_aspace_free. Never called for NULL. */
	void (*proc_release)(void *ctx, void *user);
	void *ctx;
} ps_aspace_opts;

/* What a mapping maps: the same (path, build-id) is one object with one id (dense, from
 * 0), so callers keep per-object data (an ELF cache) in arrays indexed by id. */
enum ps_aspace_kind {
	PS_OBJ_FILE, /* a path: a file we may open */
	PS_OBJ_VDSO, /* "[vdso]" */
	PS_OBJ_ANON, /* anonymous memory, memfd, "[heap]"...: nothing to open by name (JIT) */
};
typedef struct ps_aspace_obj {
	const char *path; /* as mapped */
	const char *base; /* its last component */
	uint8_t build_id[20];
	uint8_t build_id_size;
	enum ps_aspace_kind kind;
} ps_aspace_obj;

typedef struct ps_aspace_map {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;	     /* file offset of start */
	uint64_t time;	     /* of the MMAP record */
	uint64_t user;	     /* the caller's word (see ps_aspace_opts.ref) */
	uint32_t obj;	     /* ps_aspace_obj id */
	uint32_t seq;	     /* HISTORY: order of arrival, breaks ties of time */
} ps_aspace_map;

typedef struct ps_aspace_stats {
	uint64_t dropped_maps;	  /* over max_maps */
	uint64_t dropped_procs;	  /* over max_procs */
	uint64_t dropped_objects; /* over max_objects (their mappings are dropped too) */
	uint64_t dropped_names;	  /* over max_names */
	uint64_t dropped_execs;	  /* over max_execs */
	uint64_t bad_maps;	  /* empty or wrapping past the top of memory */
	uint64_t cut_lookups;	  /* HISTORY lookups that stopped after 1024 overlapping
				   * mappings (a hostile trace): they may miss the right one */
} ps_aspace_stats;

/* opts NULL: LIVE with the defaults. */
int ps_aspace_new(ps_aspace **out, const ps_aspace_opts *opts);
void ps_aspace_free(ps_aspace *a); /* NULL is fine */

/* The records. Each returns 0 (also when the record is dropped for a bound or ignored as
 * meaningless: see ps_aspace_stats) or -ENOMEM. ps_aspace_mmap hands the model one
 * reference to user: dropped, it is released at once (ref -1). */
int ps_aspace_mmap(ps_aspace *a, const ps_mmap *m, uint64_t user);
int ps_aspace_comm(ps_aspace *a, const ps_comm *c); /* with c->exec, ps_aspace_exec too */
int ps_aspace_exec(ps_aspace *a, uint32_t pid, uint64_t time);
int ps_aspace_fork(ps_aspace *a, const ps_task *t);
int ps_aspace_exit(ps_aspace *a, const ps_task *t);

/* The mapping of process pid holding addr at time (LIVE: now), or NULL. The pointer is
 * valid until the next record or, in HISTORY, the next lookup: the first lookup after
 * records that came out of address order sorts the process's mappings. */
const ps_aspace_map *ps_aspace_find(ps_aspace *a, uint32_t pid, uint64_t addr, uint64_t time);
/* The name of thread tid (of process pid) at time: its newest name set at or before then;
 * failing that (a lagging ring), its earliest; failing that, what it inherited from the
 * thread that created it; failing that, the process's. NULL when none is known. Owned by
 * the model. */
const char *ps_aspace_comm_at(const ps_aspace *a, uint32_t pid, uint32_t tid, uint64_t time);
/* The process thread tid belongs to (from COMM and FORK records), or tid when unknown. */
uint32_t ps_aspace_pid_of(const ps_aspace *a, uint32_t tid);

const ps_aspace_obj *ps_aspace_object(const ps_aspace *a, uint32_t id); /* NULL: no such */
size_t ps_aspace_nobjects(const ps_aspace *a);

/* LIVE: process pid's mappings in address order (NULL, *n = 0 when unknown) and a number
 * that changes whenever they change, so a caller can tell whether what it built from them
 * is current. Valid until the next record. */
const ps_aspace_map *ps_aspace_maps(const ps_aspace *a, uint32_t pid, size_t *n, uint64_t *gen);
/* The caller's word of a known process (NULL when the process is not known): kept until
 * the process is forgotten, then handed to opts.proc_release. */
void **ps_aspace_proc_user(ps_aspace *a, uint32_t pid);

ps_aspace_stats ps_aspace_get_stats(const ps_aspace *a);

/* A copy of this process's vdso image, which every process on this kernel maps: a mapping
 * named "[vdso]" has no file to read. 0 with *image (malloc'd, the caller frees it) and
 * *len, -ENOENT when there is none, or -ENOMEM. */
int ps_aspace_vdso_copy(void **image, size_t *len);

#endif
