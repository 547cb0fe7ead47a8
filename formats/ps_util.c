#include "formats/ps_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
	struct block *next;
	size_t used, size;
	char data[];
};

struct ps_arena {
	struct block *head;
};

ps_arena *ps_arena_new(void) { return calloc(1, sizeof(ps_arena)); }

void ps_arena_free(ps_arena *a)
{
	if (!a)
		return;
	for (struct block *b = a->head, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *ps_arena_alloc(ps_arena *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	struct block *b = a->head;
	if (!b || b->size - b->used < size) {
		size_t bsize = size > 64 * 1024 ? size : 64 * 1024;
		b = malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = bsize;
		/* A big one-off allocation goes behind the current block so the rest of that block
		 * stays in use. */
		if (a->head && size > 64 * 1024) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

char *ps_arena_strndup(ps_arena *a, const char *s, size_t len)
{
	char *p = ps_arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int ps_buf_reserve(ps_buf *b, size_t extra)
{
	if (b->cap - b->len > extra)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len <= extra)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

int ps_buf_add(ps_buf *b, const void *data, size_t len)
{
	int err = ps_buf_reserve(b, len);
	if (err)
		return err;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ps_buf_addstr(ps_buf *b, const char *s) { return ps_buf_add(b, s, strlen(s)); }

int ps_buf_printf(ps_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int err = ps_buf_reserve(b, (size_t)n + 1);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void ps_buf_release(ps_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

uint64_t ps_hash(const void *data, size_t len)
{
	/* FNV-1a over 8-byte words, finished with a mixer: quick and good enough for tables. */
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return ps_hash_u64(h);
}
