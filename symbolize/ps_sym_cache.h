/* ps_sym_cache: ELF images and the kernel's symbols kept from one ps_sym_profile call to
 * the next, for a process that names profile after profile of the same host (the agent's
 * renderer). Opening a binary costs its symbol table sorted and its DWARF decompressed
 * (libc's debug file: most of a profile's naming time); a cached image costs a stat and a
 * build-id read. An image is found by the identity of the file it was opened from (device,
 * inode, size, mtime) and the open flags, and is used only when that file still has the
 * build-id (or size and mtime) the trace recorded, as an image opened anew would be.
 *
 * Bounded: at most max_images images, least recently used go first, and an image no
 * profile used in the last PS_SYM_CACHE_KEEP sessions is closed (a deleted binary's disk
 * space comes back then). Not thread-safe: one session at a time. */
#ifndef PS_SYM_CACHE_H
#define PS_SYM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize/ps_elf.h"

#define PS_SYM_CACHE_KEEP 8

typedef struct ps_sym_cache ps_sym_cache;

ps_sym_cache *ps_sym_cache_new(size_t max_images);
void ps_sym_cache_free(ps_sym_cache *c); /* NULL is fine */

/* As ps_elf_open_opts, from the cache when it holds path's file; the image stays the
 * cache's (never freed by the caller) until ps_sym_cache_end. */
int ps_sym_cache_open(ps_sym_cache *c, ps_elf **out, const char *path, const ps_elf_opts *o);
/* /proc/kallsyms, loaded again when /proc/modules changed or the copy is a minute old
 * (BPF programs come and go); the cache's. NULL when it cannot be read. */
ps_kallsyms *ps_sym_cache_kallsyms(ps_sym_cache *c);
/* Ends a session: what it used is now the most recent; the bounds above apply. */
void ps_sym_cache_end(ps_sym_cache *c);

typedef struct ps_sym_cache_stats {
	uint64_t hits, misses; /* image opens answered from the cache, and not */
	size_t images;
} ps_sym_cache_stats;
ps_sym_cache_stats ps_sym_cache_get_stats(const ps_sym_cache *c);

#endif
