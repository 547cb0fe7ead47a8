/* ps_util: flat-memory helpers shared by every module: a string arena, a growable byte
 * buffer and a fast hash. */
#ifndef PS_UTIL_H
#define PS_UTIL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
