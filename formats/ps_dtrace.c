/* ps_dtrace: DTrace stack aggregations, read as FlameGraph's stackcollapse.pl reads them.
 * Each rule below is one of the script's (Perl regexes, ASCII whitespace), so odd lines
 * fold the way the script folds them. */
#include "formats/ps_dtrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

/* Perl's \s on bytes: space, \t, \n, \v, \f, \r. */
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* m/^\s*(\d+)+$/: a count line. Sets *count; PS_ELIMIT past INT64_MAX. 1 when it is one. */
static int count_line(const char *s, size_t len, uint64_t *count)
{
	size_t i = 0;
	while (i < len && is_space((unsigned char)s[i]))
		i++;
	if (i == len)
		return 0;
	uint64_t v = 0;
	int over = 0;
	for (size_t j = i; j < len; j++) {
		if (s[j] < '0' || s[j] > '9')
			return 0;
		if (v > (INT64_MAX - (uint64_t)(s[j] - '0')) / 10)
			over = 1;
		else
			v = v * 10 + (uint64_t)(s[j] - '0');
	}
	if (over)
		return PS_ELIMIT;
	*count = v;
	return 1;
}

/* The stack so far, leaf first: every frame line's frames in one array, and where each
 * line's frames start. The script puts each line's frames before the stack (unshift); the
 * count turns the lines around once, so a deep stack costs no more than its lines. */
struct reader {
	ps_profile *p;
	ps_buf name; /* one frame, as printed */
	ps_frame_id *frames;
	size_t nframes, framecap;
	size_t *starts; /* per line */
	size_t nlines, linecap;
	ps_frame_id *stack; /* root first, made at a count */
	size_t stackcap;
};

/* The mapping of "module`func": the text before the first '`'. */
static int module_of(ps_profile *p, const char *s, size_t len, uint32_t *id)
{
	*id = PS_MAPPING_NONE;
	const char *tick = memchr(s, '`', len);
	if (!tick || tick == s)
		return 0;
	char path[256];
	size_t n = (size_t)(tick - s);
	if (n >= sizeof(path) || memchr(s, '\0', n))
		return 0; /* not a module name DTrace prints: the frame keeps its name only */
	memcpy(path, s, n);
	path[n] = '\0';
	ps_mapping m = {path, NULL, 0, 0, 0};
	return ps_profile_mapping(p, &m, id);
}

/* One part of a frame line: tr/;/:/, s/^L//, "_[i]" (as the frame kind) after the first. */
static int add_part(struct reader *r, const char *s, size_t len, int inlined)
{
	if (len && s[0] == 'L') {
		s++;
		len--;
	}
	r->name.len = 0;
	int err = ps_buf_add(&r->name, s, len);
	if (!err)
		err = ps_buf_add(&r->name, "", 1);
	if (err)
		return err;
	/* The model's names are C strings: a NUL byte prints as the '?' any control byte
	 * prints as, rather than cutting the name short. */
	for (size_t i = 0; i < len; i++)
		if (r->name.data[i] == ';')
			r->name.data[i] = ':';
		else if (r->name.data[i] == '\0')
			r->name.data[i] = '?';
	ps_frame f = {.name = r->name.data, .kind = inlined ? PS_FRAME_INLINE : PS_FRAME_USER};
	if ((err = module_of(r->p, r->name.data, len, &f.mapping)))
		return err;
	ps_frame_id id;
	if ((err = ps_profile_frame(r->p, &f, &id)))
		return err;
	if (PS_GROW(r->frames, r->framecap, r->nframes + 1))
		return -ENOMEM;
	r->frames[r->nframes++] = id;
	return 0;
}

/* A frame line: cleaned, split at "->", its frames put before the stack's (the script's
 * unshift: the stack is read leaf first). */
static int add_frame_line(struct reader *r, const char *s, size_t len)
{
	while (len && is_space((unsigned char)*s)) {
		s++;
		len--;
	}
	/* s/\+[^+]*$//: from the last '+'. */
	for (size_t i = len; i-- > 0;)
		if (s[i] == '+') {
			len = i;
			break;
		}
	/* C++ arguments (s/(::.*)[(<].* /$1/, no space): from the last ( or < after the
	 * first "::". */
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == ':' && s[i + 1] == ':') {
			for (size_t j = len; j-- > i + 2;)
				if (s[j] == '(' || s[j] == '<') {
					len = j;
					break;
				}
			break;
		}
	if (len == 0) {
		s = "-";
		len = 1;
	}
	/* split /->/: empty fields at the end are dropped (all of them when all are empty). */
	size_t keep = len;
	for (;;) {
		if (keep >= 2 && s[keep - 2] == '-' && s[keep - 1] == '>')
			keep -= 2;
		else
			break;
	}
	if (PS_GROW(r->starts, r->linecap, r->nlines + 1))
		return -ENOMEM;
	r->starts[r->nlines++] = r->nframes;
	int err = 0;
	size_t start = 0, nparts = 0;
	if (keep) {
		for (size_t i = 0;; i++) {
			int sep = i + 1 < keep && s[i] == '-' && s[i + 1] == '>';
			if (i == keep || sep) {
				if ((err = add_part(r, s + start, i - start, nparts > 0)))
					return err;
				nparts++;
				if (i == keep)
					break;
				i++;
				start = i + 1;
			}
		}
	}
	return 0;
}

/* A count: the stack, root first (the last line's frames first, each line's in its own
 * order), gets it. */
static int add_count(struct reader *r, uint64_t count)
{
	if (PS_GROW(r->stack, r->stackcap, r->nframes + 1))
		return -ENOMEM;
	size_t n = 0;
	for (size_t l = r->nlines; l-- > 0;) {
		size_t end = l + 1 < r->nlines ? r->starts[l + 1] : r->nframes;
		for (size_t i = r->starts[l]; i < end; i++)
			r->stack[n++] = r->frames[i];
	}
	ps_node_id node;
	int err = ps_profile_stack(r->p, r->stack, n, &node);
	r->nframes = r->nlines = 0;
	if (err)
		return err;
	/* A sample as folded text's are (flame charts lay them out in input order). */
	uint64_t v[PS_PROFILE_MAX_COLS] = {count};
	ps_profile_sample s = {.time = ps_profile_nsamples(r->p), .node = node};
	return ps_profile_add_sample(r->p, &s, v);
}

int ps_dtrace_read(FILE *in, ps_profile *out, size_t *lineno)
{
	struct reader r = {.p = out};
	ps_lines lr;
	ps_lines_init(&lr, in, PS_DTRACE_MAX_LINE);
	const char *line;
	size_t len, nr = 0, counts = 0;
	int got, err = 0;
	if (!ps_profile_ntypes(out) && ps_profile_add_type(out, "samples", "count") < 0)
		return -ENOMEM;
	while ((got = ps_lines_next(&lr, &line, &len)) > 0) {
		if (nr++ < 3) /* $headerlines */
			continue;
		uint64_t count;
		int c = count_line(line, len, &count);
		if (c < 0) {
			err = c;
			break;
		}
		if (c) {
			if ((err = add_count(&r, count)))
				break;
			counts++;
			continue;
		}
		size_t i = 0;
		while (i < len && is_space((unsigned char)line[i]))
			i++;
		if (i == len)
			continue;
		if ((err = add_frame_line(&r, line, len)))
			break;
	}
	if (!err && got < 0)
		err = got;
	if (lineno)
		*lineno = nr;
	if (!err && !counts)
		err = PS_EFORMAT;
	ps_lines_release(&lr);
	ps_buf_release(&r.name);
	free(r.frames);
	free(r.starts);
	free(r.stack);
	return err;
}
