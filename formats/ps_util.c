#include "formats/ps_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_error.h"

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

int ps_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	void **p = arr;
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need) {
		if (c > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		c *= 2;
	}
	void *n = realloc(*p, c * elem);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

static void index_put(ps_index *x, uint64_t h, uint32_t id1)
{
	size_t j = h & x->mask;
	while (x->ids[j])
		j = (j + 1) & x->mask;
	x->hashes[j] = h;
	x->ids[j] = id1;
}

int ps_index_insert(ps_index *x, uint64_t h, uint32_t id)
{
	if (id == UINT32_MAX)
		return -EOVERFLOW;
	if (!x->ids || (x->n + 1) * 2 > x->mask + 1) {
		/* Half full at most: probes stay short. */
		size_t size = x->ids ? (x->mask + 1) * 2 : 1024;
		ps_index big = {calloc(size, sizeof(uint64_t)), calloc(size, sizeof(uint32_t)),
				size - 1, x->n};
		if (!big.hashes || !big.ids) {
			free(big.hashes);
			free(big.ids);
			return -ENOMEM;
		}
		for (size_t j = 0; x->ids && j <= x->mask; j++)
			if (x->ids[j])
				index_put(&big, x->hashes[j], x->ids[j]);
		ps_index_release(x);
		*x = big;
	}
	index_put(x, h, id + 1);
	x->n++;
	return 0;
}

int ps_index_remove(ps_index *x, uint64_t h, uint32_t id)
{
	if (!x->ids)
		return -ENOENT;
	size_t i = h & x->mask;
	while (x->ids[i] && !(x->hashes[i] == h && x->ids[i] == id + 1))
		i = (i + 1) & x->mask;
	if (!x->ids[i])
		return -ENOENT;
	/* Linear probing has no tombstones: entries after the hole that probed past it move
	 * back into it, so every entry stays reachable from its home slot. */
	for (size_t k = (i + 1) & x->mask; x->ids[k]; k = (k + 1) & x->mask) {
		size_t home = x->hashes[k] & x->mask;
		/* k's entry may fill the hole at i when its home is not cyclically in (i, k]. */
		int between = i <= k ? (home > i && home <= k) : (home > i || home <= k);
		if (!between) {
			x->hashes[i] = x->hashes[k];
			x->ids[i] = x->ids[k];
			i = k;
		}
	}
	x->ids[i] = 0;
	x->n--;
	return 0;
}

void ps_index_clear(ps_index *x)
{
	if (x->ids)
		memset(x->ids, 0, (x->mask + 1) * sizeof(*x->ids));
	x->n = 0;
}

void ps_index_release(ps_index *x)
{
	free(x->hashes);
	free(x->ids);
	memset(x, 0, sizeof(*x));
}

struct chain_key {
	const ps_chains *c;
	const uint64_t *ips;
	uint32_t nr;
};

static int chain_eq(const void *ctx, uint32_t id)
{
	const struct chain_key *k = ctx;
	const struct ps_chain *g = &k->c->v[id];
	return g->nr == k->nr && !memcmp(g->ips, k->ips, k->nr * sizeof(*k->ips));
}

int ps_chains_intern(ps_chains *c, const uint64_t *ips, uint32_t nr, int borrow, uint32_t *id)
{
	uint64_t h = ps_hash(ips, nr * sizeof(*ips));
	struct chain_key k = {c, ips, nr};
	uint32_t found = ps_index_find(&c->index, h, chain_eq, &k);
	if (found != UINT32_MAX) {
		*id = found;
		return 0;
	}
	if (c->n >= UINT32_MAX - 1 || PS_GROW(c->v, c->cap, c->n + 1))
		return -ENOMEM;
	if (!borrow) {
		if (!c->arena && !(c->arena = ps_arena_new()))
			return -ENOMEM;
		uint64_t *copy = ps_arena_alloc(c->arena, nr * sizeof(*copy) + 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ips, nr * sizeof(*copy));
		ips = copy;
	}
	if (ps_index_insert(&c->index, h, (uint32_t)c->n))
		return -ENOMEM;
	c->v[c->n] = (struct ps_chain){ips, nr};
	*id = (uint32_t)c->n++;
	return 0;
}

void ps_chains_release(ps_chains *c)
{
	ps_index_release(&c->index);
	ps_arena_free(c->arena);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

size_t ps_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

int ps_escape(ps_buf *b, enum ps_esc how, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	int err = ps_buf_reserve(b, len);
	size_t i = 0, run = 0;
	while (!err && i < len) {
		unsigned char c = s[i];
		const char *rep = NULL;
		char tmp[8];
		size_t k = 1;
		switch (how) {
		case PS_ESC_FOLDED:
			if (c == ';')
				rep = ":";
			else if (c < 0x20 || c == 0x7f)
				rep = "?";
			break;
		case PS_ESC_TERM:
			if (c < 0x20 || c == 0x7f || (c >= 0x80 && !(k = ps_utf8_len(str + i, len - i)))) {
				snprintf(tmp, sizeof(tmp), "\\x%c%c", hex[c >> 4], hex[c & 15]);
				rep = tmp;
				k = 1;
			}
			break;
		case PS_ESC_XML:
			if (c == '&' || c == '<' || c == '>' || c == '"' || c == '\'')
				rep = c == '&'	 ? "&amp;"
				      : c == '<' ? "&lt;"
				      : c == '>' ? "&gt;"
				      : c == '"' ? "&quot;"
						 : "&apos;";
			else if ((c < 0x20 && c != '\t') || c == 0x7f ||
				 (c >= 0x80 && !(k = ps_utf8_len(str + i, len - i))) ||
				 /* U+FFFE and U+FFFF are no XML characters either */
				 (c == 0xef && k == 3 && (unsigned char)str[i + 1] == 0xbf &&
				  ((unsigned char)str[i + 2] & 0xfe) == 0xbe)) {
				snprintf(tmp, sizeof(tmp), "\\x%c%c", hex[c >> 4], hex[c & 15]);
				rep = tmp;
				k = 1;
			}
			break;
		case PS_ESC_JSON:
			if (c == '"' || c == '\\') {
				tmp[0] = '\\', tmp[1] = (char)c, tmp[2] = 0;
				rep = tmp;
			} else if (c < 0x20) {
				rep = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
				if (!rep) {
					snprintf(tmp, sizeof(tmp), "\\u%04x", c);
					rep = tmp;
				}
			} else if (c >= 0x80 && !(k = ps_utf8_len(str + i, len - i))) {
				rep = "\\ufffd"; /* one per bad byte, as browsers decode it */
				k = 1;
			}
			break;
		}
		if (!rep) {
			i += k;
			run += k;
			continue;
		}
		err = ps_buf_add(b, str + i - run, run);
		if (!err)
			err = ps_buf_addstr(b, rep);
		run = 0;
		i += k;
	}
	if (!err)
		err = ps_buf_add(b, str + i - run, run);
	return err;
}

/* ---- lines ---- */

void ps_lines_init(ps_lines *l, FILE *in, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->in = in;
	l->max = max;
}

int ps_lines_next(ps_lines *l, const char **line, size_t *len)
{
	for (;;) {
		/* No arithmetic on buf before the first read: NULL + 0 is undefined. */
		size_t from = l->start + l->scanned;
		char *nl = l->end > from ? memchr(l->buf + from, '\n', l->end - from) : NULL;
		if (nl || (l->eof && l->end > l->start)) {
			size_t n = (size_t)((nl ? nl : l->buf + l->end) - (l->buf + l->start));
			if (n > l->max)
				return PS_ELIMIT;
			*line = l->buf + l->start;
			*len = n;
			l->start += n + (nl != NULL);
			l->scanned = 0;
			l->lineno++;
			return 1;
		}
		if (l->eof)
			return ferror(l->in) ? -EIO : 0;
		l->scanned = l->end - l->start;
		/* No newline in what is held: a line longer than max ends the read here, before
		 * more of it is read. */
		if (l->scanned > l->max)
			return PS_ELIMIT;
		if (l->start) { /* keep the partial line at the front */
			memmove(l->buf, l->buf + l->start, l->end - l->start);
			l->end -= l->start;
			l->start = 0;
		}
		/* Reads of 64 KiB at first, growing with a long line up to 1 MiB. */
		size_t want = l->cap < (1u << 20) ? 65536 : l->cap / 2;
		if (l->cap - l->end < want && PS_GROW(l->buf, l->cap, l->end + want))
			return -ENOMEM;
		size_t got = fread(l->buf + l->end, 1, l->cap - l->end, l->in);
		l->end += got;
		if (got == 0)
			l->eof = 1;
	}
}

void ps_lines_release(ps_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->start = l->end = l->cap = 0;
}

ssize_t ps_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
