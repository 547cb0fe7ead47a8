/* ps_util: flat-memory helpers shared by every module: a string arena, a growable byte
 * buffer, growable arrays, a fast hash, one hash index and one text escaper. */
#ifndef PS_UTIL_H
#define PS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* An arena hands out memory that lives until ps_arena_free. */
typedef struct ps_arena ps_arena;
ps_arena *ps_arena_new(void);
void ps_arena_free(ps_arena *a); /* NULL is fine */
void *ps_arena_alloc(ps_arena *a, size_t size); /* 8-byte aligned; NULL on ENOMEM */
char *ps_arena_strndup(ps_arena *a, const char *s, size_t len); /* NUL-terminated copy */

/* A growable byte buffer; zero-initialise, then ps_buf_release. */
typedef struct ps_buf {
	char *data;
	size_t len, cap;
} ps_buf;
int ps_buf_reserve(ps_buf *b, size_t extra);
int ps_buf_add(ps_buf *b, const void *data, size_t len);
int ps_buf_addstr(ps_buf *b, const char *s);
int ps_buf_printf(ps_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ps_buf_release(ps_buf *b);

uint64_t ps_hash(const void *data, size_t len);
static inline uint64_t ps_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Growable arrays: makes room for need elements of elem bytes in *arr (capacity *cap,
 * doubling). Returns 0 or -ENOMEM (then *arr and *cap are unchanged). */
int ps_grow(void *arr, size_t *cap, size_t need, size_t elem);
#define PS_GROW(arr, cap, need) ps_grow(&(arr), &(cap), (need), sizeof(*(arr)))

/* One hash index for the whole project: maps a 64-bit hash to dense uint32 ids that the
 * caller owns (entries live in the caller's own array). Lookups pass an equality test, so
 * colliding hashes are told apart. Zero-initialise, then ps_index_release. */
typedef struct ps_index {
	uint64_t *hashes;
	uint32_t *ids; /* id + 1; 0 = empty */
	size_t mask, n;
} ps_index;
typedef int (*ps_index_eq_fn)(const void *ctx, uint32_t id);
/* The id stored for hash h that eq accepts, or UINT32_MAX. eq may be NULL: the hash alone
 * is the key (then store each hash once). */
static inline uint32_t ps_index_find(const ps_index *x, uint64_t h, ps_index_eq_fn eq,
				     const void *ctx)
{
	/* Inline: every table's lookups are hot paths, and a caller's constant eq can be
	 * inlined into the probe loop. */
	if (!x->ids)
		return UINT32_MAX;
	for (size_t j = h & x->mask; x->ids[j]; j = (j + 1) & x->mask)
		if (x->hashes[j] == h && (!eq || eq(ctx, x->ids[j] - 1)))
			return x->ids[j] - 1;
	return UINT32_MAX;
}
int ps_index_insert(ps_index *x, uint64_t h, uint32_t id); /* 0 or -ENOMEM */
/* Removes the entry of hash h for id, for tables whose entries come and go (live
 * processes). 0, or -ENOENT when there is none. */
int ps_index_remove(ps_index *x, uint64_t h, uint32_t id);
/* Empties the index but keeps its memory, for a table refilled often (per chunk). */
void ps_index_clear(ps_index *x);
void ps_index_release(ps_index *x);

/* A set of distinct call chains, each with a dense id: the trace reader's trace-wide
 * stack ids and the symbolizer's chains. Zero-initialise, then ps_chains_release. */
typedef struct ps_chains {
	struct ps_chain {
		const uint64_t *ips;
		uint32_t nr;
	} *v; /* by id */
	size_t n, cap;
	ps_index index;
	ps_arena *arena; /* the copies */
} ps_chains;
/* The id of ips[0..nr), added when new: copied into the set, or with borrow the caller's
 * ips kept (they must outlive the set). 0 or -ENOMEM. */
int ps_chains_intern(ps_chains *c, const uint64_t *ips, uint32_t nr, int borrow, uint32_t *id);
void ps_chains_release(ps_chains *c);

/* The one text escaper. Writes s[0..len) to b for the given context:
 * - PS_ESC_FOLDED: a frame of FlameGraph's folded format (as stackcollapse-perf.pl
 *   writes them): ';' becomes ':', control bytes become '?', so a name can never start
 *   a new frame, line or count;
 * - PS_ESC_XML: &, <, >, " and ' as entities; what XML cannot carry (control bytes,
 *   invalid UTF-8, U+FFFE, U+FFFF) as the visible text "\\xHH" per byte;
 * - PS_ESC_JSON: a JSON string body (no quotes): '"', '\\' and control bytes escaped,
 *   invalid UTF-8 as U+FFFD per byte;
 * - PS_ESC_TERM: for a terminal: control bytes, DEL and invalid UTF-8 as "\\xHH" (no
 *   escape sequence reaches the terminal).
 * Returns 0 or -ENOMEM. */
/* Length of the valid UTF-8 sequence at s (at most n bytes; overlong forms, surrogates
 * and code points past U+10FFFF are invalid), or 0 when there is none. */
size_t ps_utf8_len(const char *s, size_t n);

enum ps_esc { PS_ESC_FOLDED, PS_ESC_XML, PS_ESC_JSON, PS_ESC_TERM };
int ps_escape(ps_buf *b, enum ps_esc how, const char *s, size_t len);

/* The one line reader (folded text, perf-script, pmcstat and dtrace text): lines of any
 * bytes (NUL included) split at '\n', never more than about max bytes held, however long
 * a line runs; large reads, each byte searched for '\n' once. ps_lines_init, then
 * ps_lines_release. */
typedef struct ps_lines {
	FILE *in;
	char *buf;
	size_t start, end, cap, max;
	size_t scanned; /* bytes after start known to hold no '\n' */
	size_t lineno;  /* lines returned so far: the last one's number */
	int eof;
} ps_lines;
void ps_lines_init(ps_lines *l, FILE *in, size_t max);
/* The next line in *line (without its '\n'; not NUL-terminated, valid until the next call):
 * 1, 0 at the end of input, -EIO, -ENOMEM, or PS_ELIMIT for a line over max bytes. */
int ps_lines_next(ps_lines *l, const char **line, size_t *len);
void ps_lines_release(ps_lines *l);

/* Reads len bytes of fd at offset off (pread, again after EINTR and short reads): the
 * count read, fewer than len only at the end of the file, or -errno. */
ssize_t ps_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif
