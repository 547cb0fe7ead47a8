#include "formats/ps_profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

struct ps_profile {
	unsigned flags;
	ps_arena *strings;
	ps_stack *stacks;
	uint64_t *hashes;
	size_t n, cap;
	uint32_t *slots; /* index + 1 into stacks, 0 = empty; power-of-two size */
	size_t nslots;
	int sorted;
	int stale_index; /* sorting moved the stacks: hashes and slots need rebuilding */
	int diff;
	uint64_t total, total2;
};

ps_profile *ps_profile_new(unsigned flags)
{
	ps_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->flags = flags;
	p->strings = ps_arena_new();
	if (!p->strings) {
		free(p);
		return NULL;
	}
	p->sorted = 1;
	return p;
}

void ps_profile_free(ps_profile *p)
{
	if (!p)
		return;
	ps_arena_free(p->strings);
	free(p->stacks);
	free(p->hashes);
	free(p->slots);
	free(p);
}

static int grow_slots(ps_profile *p)
{
	size_t nslots = 1024;
	while (nslots < (p->n + 1) * 4)
		nslots *= 2;
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		size_t j = p->hashes[i] & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(p->slots);
	p->slots = slots;
	p->nslots = nslots;
	return 0;
}

static int append(ps_profile *p, const char *folded, size_t len, uint64_t h, uint64_t count,
		  uint64_t count2)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		ps_stack *s = realloc(p->stacks, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		p->stacks = s;
		uint64_t *hs = realloc(p->hashes, cap * sizeof(*hs));
		if (!hs)
			return -ENOMEM;
		p->hashes = hs;
		p->cap = cap;
	}
	char *copy = ps_arena_strndup(p->strings, folded, len);
	if (!copy)
		return -ENOMEM;
	p->stacks[p->n] = (ps_stack){copy, len, count, count2};
	p->hashes[p->n] = h;
	p->n++;
	p->sorted = p->n < 2;
	return 0;
}

static int add(ps_profile *p, const char *folded, size_t len, uint64_t count, uint64_t count2)
{
	p->total += count;
	p->total2 += count2;
	if (p->flags & PS_PROFILE_ORDERED) {
		ps_stack *last = p->n && !(p->flags & PS_PROFILE_NOMERGE) ? &p->stacks[p->n - 1] : NULL;
		if (last && last->len == len && memcmp(last->folded, folded, len) == 0) {
			last->count += count;
			last->count2 += count2;
			return 0;
		}
		return append(p, folded, len, 0, count, count2);
	}
	if (p->stale_index) {
		for (size_t i = 0; i < p->n; i++)
			p->hashes[i] = ps_hash(p->stacks[i].folded, p->stacks[i].len);
		free(p->slots);
		p->slots = NULL;
		p->nslots = 0;
		p->stale_index = 0;
	}
	if ((p->n + 1) * 2 > p->nslots) {
		int err = grow_slots(p);
		if (err)
			return err;
	}
	uint64_t h = ps_hash(folded, len);
	size_t j = h & (p->nslots - 1);
	while (p->slots[j]) {
		ps_stack *s = &p->stacks[p->slots[j] - 1];
		if (p->hashes[p->slots[j] - 1] == h && s->len == len &&
		    memcmp(s->folded, folded, len) == 0) {
			s->count += count;
			s->count2 += count2;
			return 0;
		}
		j = (j + 1) & (p->nslots - 1);
	}
	int err = append(p, folded, len, h, count, count2);
	if (err)
		return err;
	p->slots[j] = (uint32_t)p->n;
	return 0;
}

int ps_profile_add(ps_profile *p, const char *folded, size_t len, uint64_t count)
{
	return add(p, folded, len, count, 0);
}

int ps_profile_add2(ps_profile *p, const char *folded, size_t len, uint64_t count,
		    uint64_t count2)
{
	p->diff = 1;
	return add(p, folded, len, count, count2);
}

static int cmp_stack(const void *a, const void *b)
{
	const ps_stack *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->folded, y->folded, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

const ps_stack *ps_profile_stacks(ps_profile *p, size_t *n)
{
	if (!p->sorted && !(p->flags & PS_PROFILE_ORDERED)) {
		qsort(p->stacks, p->n, sizeof(*p->stacks), cmp_stack);
		/* The hash index now points at the old order. Most callers never add again, so
		 * it is rebuilt only when they do. */
		p->stale_index = 1;
		p->sorted = 1;
	}
	*n = p->n;
	return p->stacks;
}

size_t ps_profile_nstacks(const ps_profile *p) { return p->n; }
unsigned ps_profile_flags(const ps_profile *p) { return p->flags; }
uint64_t ps_profile_total(const ps_profile *p) { return p->total; }
uint64_t ps_profile_total2(const ps_profile *p) { return p->total2; }
int ps_profile_is_diff(const ps_profile *p) { return p->diff; }

int ps_profile_write_folded(ps_profile *p, FILE *out)
{
	size_t n;
	const ps_stack *s = ps_profile_stacks(p, &n);
	for (size_t i = 0; i < n; i++) {
		fwrite(s[i].folded, 1, s[i].len, out);
		if (p->diff)
			fprintf(out, " %llu %llu\n", (unsigned long long)s[i].count,
				(unsigned long long)s[i].count2);
		else
			fprintf(out, " %llu\n", (unsigned long long)s[i].count);
	}
	if (ferror(out))
		return -EIO;
	return 0;
}

/* Parses the decimal number text[0..len); flamegraph.pl also accepts a fraction, which is
 * rounded down. Returns 0 or PS_EFORMAT. */
static int parse_count(const char *t, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	if (len == 0)
		return PS_EFORMAT;
	for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return PS_ELIMIT;
		v = v * 10 + (uint64_t)(t[i] - '0');
	}
	if (i == 0)
		return PS_EFORMAT;
	if (i < len && t[i] == '.') {
		for (i++; i < len && t[i] >= '0' && t[i] <= '9'; i++)
			;
	}
	if (i != len)
		return PS_EFORMAT;
	*out = v;
	return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Splits off the last whitespace-separated field of t[0..*len): returns its start and
 * shortens *len to the text before the separating white space. */
static const char *last_field(const char *t, size_t *len, size_t *flen)
{
	size_t end = *len;
	size_t i = end;
	while (i > 0 && !is_space(t[i - 1]))
		i--;
	*flen = end - i;
	/* One separating white space, as flamegraph.pl's /^(.*)\s+?(\d+)$/ takes: any more
	 * belong to the stack. */
	if (i == 0 || !is_space(t[i - 1]))
		return NULL;
	*len = i - 1;
	return t + i;
}

int ps_folded_parse_line(const char *line, size_t len, size_t *stack_len, uint64_t *count,
			 uint64_t *count2, int *has2, const char **reason)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	size_t rest = len, flen;
	const char *f = last_field(line, &rest, &flen);
	if (!f) {
		*reason = "no sample count";
		return PS_EFORMAT;
	}
	uint64_t c1, c2;
	int err = parse_count(f, flen, &c1);
	if (err) {
		*reason = flen && f[0] == '-' ? "negative sample count"
			  : err == PS_ELIMIT  ? "sample count too large"
					      : "sample count is not a number";
		return PS_EFORMAT;
	}
	*has2 = 0;
	/* "stack c1 c2": the differential form difffolded.pl writes. */
	size_t rest2 = rest, flen2;
	const char *f2 = last_field(line, &rest2, &flen2);
	if (f2 && parse_count(f2, flen2, &c2) == 0) {
		*has2 = 1;
		*count = c2;
		*count2 = c1;
		rest = rest2;
	} else {
		*count = c1;
		*count2 = 0;
	}
	if (rest == 0) {
		*reason = "empty stack";
		return PS_EFORMAT;
	}
	*stack_len = rest;
	return 0;
}

int ps_profile_read_folded(ps_profile *p, FILE *in, unsigned flags, ps_folded_warn_fn warn,
			   void *ctx)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t got;
	int err = 0;
	while ((got = getline(&line, &cap, in)) >= 0) {
		lineno++;
		size_t len = (size_t)got;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		size_t slen;
		uint64_t c1, c2;
		int has2;
		const char *reason;
		if (memchr(line, '\0', len)) {
			reason = "NUL byte in line";
			err = PS_EFORMAT;
		} else {
			err = ps_folded_parse_line(line, len, &slen, &c1, &c2, &has2, &reason);
		}
		if (err) {
			if (warn)
				warn(ctx, lineno, reason);
			if (flags & PS_FOLDED_STRICT)
				goto out;
			err = 0;
			continue;
		}
		err = has2 ? ps_profile_add2(p, line, slen, c1, c2) : ps_profile_add(p, line, slen, c1);
		if (err)
			goto out;
	}
	if (ferror(in))
		err = -EIO;
out:
	free(line);
	return err;
}
