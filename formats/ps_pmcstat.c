/* ps_pmcstat: pmcstat -G call graphs, read as FlameGraph's stackcollapse-pmc.pl reads
 * them: one regex per line and an array indexed by indent. */
#include "formats/ps_pmcstat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

/* Perl's \s on bytes: space, \t, \n, \v, \f, \r. */
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

struct cg_line {
	size_t indent;
	uint64_t count;
	const char *name, *image; /* image: after " @ ", or NULL */
	size_t namelen, imagelen;
};

/* /^( *)[0-9.]+%  \[([0-9]+)\]\s*(\S+)/. 1 when the line is one, 0 when not, PS_ELIMIT
 * for a count past INT64_MAX. */
static int parse_line(const char *s, size_t len, struct cg_line *l)
{
	size_t i = 0;
	while (i < len && s[i] == ' ')
		i++;
	l->indent = i;
	size_t digits = i;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	if (i == digits || len - i < 4 || memcmp(s + i, "%  [", 4))
		return 0;
	i += 4;
	size_t c0 = i;
	uint64_t v = 0;
	int over = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			over = 1;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == c0 || i == len || s[i] != ']')
		return 0;
	i++;
	while (i < len && is_space((unsigned char)s[i]))
		i++;
	size_t n0 = i;
	while (i < len && !is_space((unsigned char)s[i]))
		i++;
	if (i == n0)
		return 0;
	if (over)
		return PS_ELIMIT;
	l->count = v;
	l->name = s + n0;
	l->namelen = i - n0;
	/* pmcstat's " @ IMAGE": the rest of the line (a path may hold spaces). */
	l->image = NULL;
	l->imagelen = 0;
	if (len - i > 3 && !memcmp(s + i, " @ ", 3)) {
		l->image = s + i + 3;
		l->imagelen = len - i - 3;
		while (l->imagelen && (l->image[l->imagelen - 1] == '\r'))
			l->imagelen--;
	}
	return 1;
}

/* The kernel and its modules, as FreeBSD installs them. */
static int kernel_image(const char *path)
{
	size_t n = strlen(path);
	return !strncmp(path, "/boot/", 6) && ((n >= 7 && !strcmp(path + n - 7, "/kernel")) ||
					       (n >= 3 && !strcmp(path + n - 3, ".ko")));
}

struct reader {
	ps_profile *p;
	struct level {
		ps_frame_id frame;
		int set; /* 0: no line was at this indent yet */
	} * at;		 /* per indent */
	size_t cap;
	ps_frame_id *stack;
	size_t stackcap;
	ps_frame_id empty; /* the frame of a level no line set */
	int have_empty;
	uint32_t mapping; /* the image printed last */
	int kernel;
	ps_buf buf;
};

/* The chain whose leaf is at indent 0 and whose deepest line is at indent deepest gets
 * count: reverse(@stack[0 .. deepest]). */
static int emit(struct reader *r, size_t deepest, uint64_t count)
{
	if (PS_GROW(r->stack, r->stackcap, deepest + 1))
		return -ENOMEM;
	for (size_t i = 0; i <= deepest; i++) {
		size_t d = deepest - i;
		if (r->at[d].set) {
			r->stack[i] = r->at[d].frame;
			continue;
		}
		if (!r->have_empty) {
			int err = ps_profile_frame_named(r->p, "", 0, PS_FRAME_UNKNOWN, &r->empty);
			if (err)
				return err;
			r->have_empty = 1;
		}
		r->stack[i] = r->empty;
	}
	ps_node_id node;
	int err = ps_profile_stack(r->p, r->stack, deepest + 1, &node);
	if (err)
		return err;
	/* A sample as folded text's are (flame charts lay them out in input order). */
	uint64_t v[PS_PROFILE_MAX_COLS] = {count};
	ps_profile_sample s = {.time = ps_profile_nsamples(r->p), .node = node};
	return ps_profile_add_sample(r->p, &s, v);
}

static int set_image(struct reader *r, const char *s, size_t len)
{
	r->buf.len = 0;
	int err = ps_buf_add(&r->buf, s, len);
	if (!err)
		err = ps_buf_add(&r->buf, "", 1);
	if (err)
		return err;
	if (memchr(s, '\0', len)) { /* not a path pmcstat prints */
		r->mapping = PS_MAPPING_NONE;
		r->kernel = 0;
		return 0;
	}
	ps_mapping m = {r->buf.data, NULL, 0, 0, 0};
	r->kernel = kernel_image(r->buf.data);
	return ps_profile_mapping(r->p, &m, &r->mapping);
}

static int frame_of(struct reader *r, const struct cg_line *l, ps_frame_id *id)
{
	r->buf.len = 0;
	int err = ps_buf_add(&r->buf, l->name, l->namelen);
	if (!err)
		err = ps_buf_add(&r->buf, "", 1);
	if (err)
		return err;
	/* The model's names are C strings: a NUL byte prints as the '?' any control byte
	 * prints as, rather than cutting the name short. */
	for (size_t i = 0; i < l->namelen; i++)
		if (r->buf.data[i] == '\0')
			r->buf.data[i] = '?';
	ps_frame f = {.name = r->buf.data,
		      .mapping = r->mapping,
		      .kind = r->kernel ? PS_FRAME_KERNEL : PS_FRAME_USER};
	/* "%p" of a function without a symbol: its address. */
	if (l->namelen > 2 && l->namelen <= 18 && l->name[0] == '0' && l->name[1] == 'x') {
		char *end;
		uint64_t a = strtoull(r->buf.data + 2, &end, 16);
		if (*end == '\0' && end != r->buf.data + 2) {
			f.unresolved = 1;
			f.addr = a;
		}
	}
	return ps_profile_frame(r->p, &f, id);
}

int ps_pmcstat_read(FILE *in, ps_profile *out, size_t *lineno)
{
	struct reader r = {.p = out};
	ps_lines lr;
	ps_lines_init(&lr, in, PS_PMCSTAT_MAX_LINE);
	const char *s;
	size_t len, nr = 0, prev_indent = 0, chains = 0;
	uint64_t prev_count = 0;
	int have_prev = 0, got, err = 0;
	if (!ps_profile_ntypes(out) && ps_profile_add_type(out, "samples", "count") < 0)
		return -ENOMEM;
	while ((got = ps_lines_next(&lr, &s, &len)) > 0) {
		nr++;
		struct cg_line l;
		int c = parse_line(s, len, &l);
		if (c < 0) {
			err = c;
			break;
		}
		if (!c)
			continue;
		if (have_prev && l.indent <= prev_indent) {
			if ((err = emit(&r, prev_indent, prev_count)))
				break;
			chains++;
		}
		if (l.image && (err = set_image(&r, l.image, l.imagelen)))
			break;
		if (l.indent >= r.cap) {
			size_t old = r.cap;
			if (PS_GROW(r.at, r.cap, l.indent + 1)) {
				err = -ENOMEM;
				break;
			}
			memset(r.at + old, 0, (r.cap - old) * sizeof(*r.at));
		}
		if ((err = frame_of(&r, &l, &r.at[l.indent].frame)))
			break;
		r.at[l.indent].set = 1;
		prev_indent = l.indent;
		prev_count = l.count;
		have_prev = 1;
	}
	if (!err && got < 0)
		err = got;
	if (!err && have_prev) {
		err = emit(&r, prev_indent, prev_count);
		chains++;
	}
	if (lineno)
		*lineno = nr + (err == PS_ELIMIT && got == PS_ELIMIT);
	if (!err && !chains)
		err = PS_EFORMAT;
	ps_lines_release(&lr);
	ps_buf_release(&r.buf);
	free(r.at);
	free(r.stack);
	return err;
}
