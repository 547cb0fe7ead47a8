/* ps_profile: a set of symbolic stacks with sample counts — the folded-stack model that
 * every renderer reads. A stack is stored as FlameGraph's folded text, "comm;root;...;leaf",
 * frames separated by ';'. Identical stacks merge (unless PS_PROFILE_ORDERED). */
#ifndef PS_PROFILE_H
#define PS_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ps_profile ps_profile;

typedef struct ps_stack {
	const char *folded; /* "a;b;c", NUL-terminated, owned by the profile */
	size_t len;         /* strlen(folded) */
	uint64_t count;     /* samples (or summed periods); "before" of a differential */
	uint64_t count2;    /* "after" of a differential profile (second column), else 0 */
} ps_stack;

enum {
	/* Keep stacks in arrival order and merge only consecutive equal stacks (flame charts). */
	PS_PROFILE_ORDERED = 1 << 0,
	/* With ORDERED: merge nothing, one entry per add (a sequence of samples). */
	PS_PROFILE_NOMERGE = 1 << 1,
};

ps_profile *ps_profile_new(unsigned flags);
void ps_profile_free(ps_profile *p); /* NULL is fine */
unsigned ps_profile_flags(const ps_profile *p);

/* Adds count (and count2) samples of the stack folded[0..len). The text is copied. */
int ps_profile_add(ps_profile *p, const char *folded, size_t len, uint64_t count);
int ps_profile_add2(ps_profile *p, const char *folded, size_t len, uint64_t count,
		    uint64_t count2);

/* The stacks: sorted bytewise by folded text (as stackcollapse-perf.pl's `sort`), or in
 * arrival order for PS_PROFILE_ORDERED. The array is owned by the profile and valid until
 * the next add. */
const ps_stack *ps_profile_stacks(ps_profile *p, size_t *n);
size_t ps_profile_nstacks(const ps_profile *p);
uint64_t ps_profile_total(const ps_profile *p);
uint64_t ps_profile_total2(const ps_profile *p);
int ps_profile_is_diff(const ps_profile *p); /* some stack had a second count */

/* Writes "stack count\n" per stack, sorted, as stackcollapse-perf.pl does. */
int ps_profile_write_folded(ps_profile *p, FILE *out);

/* Reads folded text ("stack count" or "stack count1 count2" per line, as flamegraph.pl
 * accepts). A malformed line is passed to warn (1-based line number, reason) and skipped,
 * or, with PS_FOLDED_STRICT, ends the read with PS_EFORMAT. Returns 0 or a negative code. */
enum { PS_FOLDED_STRICT = 1 << 0 };
typedef void (*ps_folded_warn_fn)(void *ctx, size_t lineno, const char *reason);
int ps_profile_read_folded(ps_profile *p, FILE *in, unsigned flags, ps_folded_warn_fn warn,
			   void *ctx);

/* Parses one folded line (without its newline). Returns 0 and sets *stack_len, *count,
 * *count2, *has2, or PS_EFORMAT with *reason set. Exposed for fuzzing and tests. */
int ps_folded_parse_line(const char *line, size_t len, size_t *stack_len, uint64_t *count,
			 uint64_t *count2, int *has2, const char **reason);

#endif
