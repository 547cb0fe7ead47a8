/* perf-script text: the line grammar is stackcollapse-perf.pl's three regular expressions,
 * each turned into a linear scan that picks the same match a backtracking Perl engine picks
 * (leftmost, greedy or lazy as written), so odd lines split the way the script splits them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memrchr */
#endif
#include "formats/ps_perfscript.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

/* Perl's \s, \d and \w on byte strings without locale or Unicode rules: ASCII only, and \s
 * includes \v (since Perl 5.18). */
static inline int is_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_word(unsigned char c)
{
	return is_digit(c) || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int span_eq(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(s, lit, l) == 0;
}

/* ---- lines ---- */

#define LINE_LIMIT ((size_t)1 << 30)

/* ---- the three line patterns ---- */

typedef struct span {
	const char *p;
	size_t n;
} span;

typedef struct header {
	span comm, pid, tid; /* tid.n == 0 when only one number is printed */
	size_t after_ids;    /* offset just past the pid/tid column */
	int has_event;
	span event, period; /* period.n == 0 when absent */
} header;

/* The event part, /:\s*(\d+)*\s+(\S+):\s*$/: the line ends in ":" ws* DIGITS* ws+ EVENT ":"
 * ws*. Only one ':' can start such a tail, so scanning back from the end finds the match. */
static void match_event(const char *l, size_t n, header *h)
{
	h->has_event = 0;
	size_t t = n;
	while (t > 0 && is_ws((unsigned char)l[t - 1]))
		t--;
	if (t == 0 || l[t - 1] != ':')
		return;
	size_t colon = t - 1, q = colon;
	while (q > 0 && !is_ws((unsigned char)l[q - 1]))
		q--;
	if (q == colon || q == 0)
		return;
	size_t r = q;
	while (r > 0 && is_ws((unsigned char)l[r - 1]))
		r--;
	size_t d = r;
	while (d > 0 && is_digit((unsigned char)l[d - 1]))
		d--;
	size_t w = d;
	while (w > 0 && is_ws((unsigned char)l[w - 1]))
		w--;
	if (w == 0 || l[w - 1] != ':')
		return;
	h->has_event = 1;
	h->event = (span){l + q, colon - q};
	h->period = (span){l + d, r - d};
}

/* The sample header, /^(\S.+?)\s+(\d+)\/ *(\d+)*\s+/ (without the space): the comm is at
 * least two bytes and ends at the first white space run that is followed by DIGITS, any
 * number of '/', optional DIGITS and white space.
 * Within a run the lazy comm takes the run's first position (but never before byte 2). */
static int match_header(const char *l, size_t n, header *h)
{
	if (n == 0 || is_ws((unsigned char)l[0]))
		return 0;
	size_t i = 1;
	while (i < n) {
		if (!is_ws((unsigned char)l[i])) {
			i++;
			continue;
		}
		size_t s = i, t = i;
		while (t < n && is_ws((unsigned char)l[t]))
			t++;
		size_t e = s < 2 ? 2 : s;
		if (e < t) {
			size_t p = t;
			while (p < n && is_digit((unsigned char)l[p]))
				p++;
			size_t d1 = p;
			while (p < n && l[p] == '/')
				p++;
			size_t d2 = p;
			while (p < n && is_digit((unsigned char)l[p]))
				p++;
			if (d1 > t && p < n && is_ws((unsigned char)l[p])) {
				h->comm = (span){l, e};
				h->pid = (span){l + t, d1 - t};
				h->tid = (span){l + d2, p - d2};
				h->after_ids = p;
				match_event(l, n, h);
				return 1;
			}
		}
		i = t;
	}
	return 0;
}

typedef struct frame_line {
	span pc, func, mod;
} frame_line;

/* A frame, /^\s*(\w+)\s*(.+) \((.*)\)/: the module is between the last " (" that has a ')'
 * after it and the last ')'. The address word and the white space after it are greedy but
 * give bytes back when the function would otherwise be empty. */
static int match_frame(const char *l, size_t n, frame_line *f)
{
	size_t ws0 = 0;
	while (ws0 < n && is_ws((unsigned char)l[ws0]))
		ws0++;
	size_t j = ws0;
	while (j < n && is_word((unsigned char)l[j]))
		j++;
	size_t lmax = j - ws0;
	if (lmax == 0)
		return 0;
	size_t k = j;
	while (k < n && is_ws((unsigned char)l[k]))
		k++;
	size_t smax = k - j;
	const char *rp = memrchr(l, ')', n);
	if (!rp || rp - l < 2)
		return 0;
	size_t last = (size_t)(rp - l), open = 0;
	int found = 0;
	/* The '(' of " (" sits at most at last - 1. */
	for (size_t lim = last; lim > 1;) {
		const char *par = memrchr(l + 1, '(', lim - 1);
		if (!par)
			break;
		size_t q = (size_t)(par - l) - 1;
		if (l[q] == ' ') {
			open = q;
			found = 1;
			break;
		}
		lim = q + 1;
	}
	if (!found)
		return 0;
	size_t len, sp;
	if (open >= ws0 + lmax + 1) {
		len = lmax;
		sp = open - 1 - ws0 - lmax;
		if (sp > smax)
			sp = smax;
	} else if (open >= ws0 + 2) {
		len = open - 1 - ws0;
		sp = 0;
	} else {
		return 0;
	}
	f->pc = (span){l + ws0, len};
	f->func = (span){l + ws0 + len + sp, open - (ws0 + len + sp)};
	f->mod = (span){l + open + 2, last - (open + 2)};
	return 1;
}

/* Drops a trailing "+0x<lowercase hex>" offset, as s/\+0x[\da-f]+$// does. */
static span strip_offset(span s)
{
	size_t i = s.n;
	while (i > 0 &&
	       (is_digit((unsigned char)s.p[i - 1]) || (s.p[i - 1] >= 'a' && s.p[i - 1] <= 'f')))
		i--;
	if (i < s.n && i >= 3 && memcmp(s.p + i - 3, "+0x", 3) == 0)
		s.n = i - 3;
	return s;
}

/* Decimal digits to a number; saturates (the script would switch to floating point). */
static uint64_t parse_u64(span s)
{
	uint64_t v = 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned dgt = (unsigned)(s.p[i] - '0');
		if (v > (UINT64_MAX - dgt) / 10)
			return UINT64_MAX;
		v = v * 10 + dgt;
	}
	return v;
}

static int parse_int(span s)
{
	uint64_t v = parse_u64(s);
	return s.n && v <= INT_MAX ? (int)v : -1;
}

static uint64_t parse_hex(span s)
{
	uint64_t v = 0;
	size_t i = 0;
	if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X'))
		i = 2;
	if (i == s.n || s.n - i > 16)
		return 0;
	for (; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		unsigned dgt;
		if (is_digit(c))
			dgt = c - '0';
		else if (c >= 'a' && c <= 'f')
			dgt = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			dgt = c - 'A' + 10;
		else
			return 0;
		v = v << 4 | dgt;
	}
	return v;
}

/* ---- structured reader ---- */

typedef struct rd_frame {
	uint64_t addr;
	size_t sym, dso; /* offsets into strs */
} rd_frame;

typedef struct reader {
	ps_buf strs; /* this sample's strings, NUL-terminated, by offset (the buffer moves) */
	rd_frame *fr;
	size_t nfr, cap;
	ps_ps_frame *out;
	size_t outcap;
	int open;
	ps_ps_sample s;
	size_t comm, event; /* offsets into strs */
} reader;

static int rd_str(reader *r, span s, size_t *off)
{
	*off = r->strs.len;
	int err = ps_buf_add(&r->strs, s.p, s.n);
	if (!err)
		err = ps_buf_add(&r->strs, "", 1);
	return err;
}

/* The "[CPU]" and "SECONDS.FRACTION:" columns after the ids, when printed. */
static void rd_columns(const char *l, size_t n, size_t i, ps_ps_sample *s)
{
	while (i < n) {
		while (i < n && is_ws((unsigned char)l[i]))
			i++;
		size_t st = i;
		while (i < n && !is_ws((unsigned char)l[i]))
			i++;
		span tok = {l + st, i - st};
		if (tok.n >= 3 && tok.p[0] == '[' && tok.p[tok.n - 1] == ']' && s->cpu < 0) {
			span d = {tok.p + 1, tok.n - 2};
			size_t k = 0;
			while (k < d.n && is_digit((unsigned char)d.p[k]))
				k++;
			if (k == d.n)
				s->cpu = parse_int(d);
			continue;
		}
		if (tok.n >= 4 && tok.p[tok.n - 1] == ':') {
			size_t k = 0, dot = 0;
			while (k < tok.n - 1 &&
			       (is_digit((unsigned char)tok.p[k]) || tok.p[k] == '.')) {
				if (tok.p[k] == '.')
					dot++;
				k++;
			}
			if (k == tok.n - 1 && dot == 1 && tok.p[0] != '.' && tok.p[k - 1] != '.') {
				/* By hand rather than strtod, which follows LC_NUMERIC. */
				double v = 0, scale = 1;
				int frac = 0;
				for (size_t m = 0; m < k; m++) {
					if (tok.p[m] == '.') {
						frac = 1;
						continue;
					}
					if (frac) {
						scale /= 10;
						v += (tok.p[m] - '0') * scale;
					} else {
						v = v * 10 + (tok.p[m] - '0');
					}
				}
				s->time = v;
				return;
			}
		}
	}
}

static int rd_begin(reader *r, const char *l, size_t n, const header *h, size_t lineno)
{
	r->strs.len = 0;
	r->nfr = 0;
	r->open = 1;
	ps_ps_sample *s = &r->s;
	*s = (ps_ps_sample){.pid = -1, .tid = -1, .cpu = -1, .period = 1, .time = -1};
	s->lineno = lineno;
	if (h->tid.n) {
		s->pid = parse_int(h->pid);
		s->tid = parse_int(h->tid);
	} else {
		s->tid = parse_int(h->pid);
	}
	if (h->has_event && h->period.n)
		s->period = parse_u64(h->period);
	rd_columns(l, n, h->after_ids, s);
	int err = rd_str(r, h->comm, &r->comm);
	if (!err)
		err = rd_str(r, h->has_event ? h->event : (span){"", 0}, &r->event);
	return err;
}

static int rd_frame_add(reader *r, const frame_line *f)
{
	if (PS_GROW(r->fr, r->cap, r->nfr + 1))
		return -ENOMEM;
	rd_frame *fr = &r->fr[r->nfr];
	fr->addr = parse_hex(f->pc);
	int err = rd_str(r, strip_offset(f->func), &fr->sym);
	if (!err)
		err = rd_str(r, f->mod, &fr->dso);
	if (!err)
		r->nfr++;
	return err;
}

static int rd_emit(reader *r, ps_ps_sample_fn fn, void *ctx)
{
	if (!r->open)
		return 0;
	r->open = 0;
	if (PS_GROW(r->out, r->outcap, r->nfr))
		return -ENOMEM;
	for (size_t i = 0; i < r->nfr; i++)
		r->out[i] = (ps_ps_frame){r->fr[i].addr, r->strs.data + r->fr[i].sym,
					  r->strs.data + r->fr[i].dso};
	r->s.comm = r->strs.data + r->comm;
	r->s.event = r->strs.data + r->event;
	r->s.nframes = r->nfr;
	r->s.frames = r->out;
	return fn(ctx, &r->s);
}

int ps_perfscript_read(FILE *in, ps_ps_sample_fn fn, void *ctx)
{
	ps_lines lr;
	ps_lines_init(&lr, in, LINE_LIMIT);
	reader r = {0};
	const char *l;
	size_t n;
	int got, err = 0;
	while ((got = ps_lines_next(&lr, &l, &n)) > 0) {
		if (n && l[0] == '#')
			continue;
		if (n == 0) {
			err = rd_emit(&r, fn, ctx);
			if (err)
				goto out;
			continue;
		}
		header h;
		frame_line f;
		if (match_header(l, n, &h)) {
			err = rd_emit(&r, fn, ctx);
			if (!err)
				err = rd_begin(&r, l, n, &h, lr.lineno);
		} else if (r.open && match_frame(l, n, &f)) {
			err = rd_frame_add(&r, &f);
		}
		if (err)
			goto out;
	}
	err = got < 0 ? got : rd_emit(&r, fn, ctx);
out:
	ps_lines_release(&lr);
	ps_buf_release(&r.strs);
	free(r.fr);
	free(r.out);
	return err;
}

/* ---- stackcollapse-perf.pl ---- */

typedef struct collapser {
	unsigned flags;
	const ps_collapse_opts *opts;
	ps_buf filter;
	int have_filter, defaulted, warned;
	int has_pname, java;
	ps_buf pname;
	uint64_t period;
	ps_buf groups; /* each frame line's names, ';'-joined, one after another */
	size_t *goff;  /* start of each group in groups */
	size_t ng, gcap;
	ps_buf tmp, out;
	ps_buf mod; /* the last module seen, and what it is: modules repeat a lot */
	int mod_set, mod_kind;
} collapser;

static void warn(collapser *c, size_t lineno, const char *msg)
{
	if (c->opts->warn)
		c->opts->warn(c->opts->warn_ctx, lineno, msg);
}

static int co_header(collapser *c, const header *h, size_t lineno)
{
	if (h->has_event) {
		if (!c->have_filter) {
			/* Only the first event type is kept: adding instructions to cycles, say,
			 * would make a meaningless picture. */
			c->filter.len = 0;
			int err = ps_buf_add(&c->filter, h->event.p, h->event.n);
			if (err)
				return err;
			c->have_filter = c->defaulted = 1;
		} else if (h->event.n != c->filter.len ||
			   memcmp(h->event.p, c->filter.data, h->event.n) != 0) {
			if (c->defaulted && !c->warned) {
				ps_buf msg = {0};
				if (ps_buf_addstr(&msg, "filtering for events of type: ") == 0 &&
				    ps_buf_add(&msg, c->filter.data, c->filter.len) == 0 &&
				    ps_buf_add(&msg, "", 1) == 0)
					warn(c, lineno, msg.data);
				ps_buf_release(&msg);
				c->warned = 1;
			}
			/* The script leaves the previous sample's state alone here. */
			return 0;
		}
	}
	/* A printed "0" period is false to Perl, so it counts 1; "00" is true and counts 0. */
	if (h->has_event && h->period.n && !span_eq(h->period.p, h->period.n, "0"))
		c->period = parse_u64(h->period);
	else
		c->period = 1;

	/* "comm PID/0" and "comm TID" both leave the script without a pid: it prints "?". */
	span pid = h->pid, tid = h->tid;
	if (tid.n == 0 || span_eq(tid.p, tid.n, "0")) {
		tid = pid;
		pid = (span){"?", 1};
	}
	ps_buf *p = &c->pname;
	p->len = 0;
	int err = ps_buf_add(p, h->comm.p, h->comm.n);
	if (!err && (c->flags & (PS_COLLAPSE_TID | PS_COLLAPSE_PID))) {
		err = ps_buf_add(p, "-", 1);
		if (!err)
			err = ps_buf_add(p, pid.p, pid.n);
		if (!err && (c->flags & PS_COLLAPSE_TID)) {
			err = ps_buf_add(p, "/", 1);
			if (!err)
				err = ps_buf_add(p, tid.p, tid.n);
		}
	}
	if (err)
		return err;
	/* Spaces become '_' as stackcollapse-perf.pl writes them; a ';' would start a frame
	 * of its own, so it becomes ':' as in function names. */
	for (size_t i = 0; i < p->len; i++)
		if (p->data[i] == ' ')
			p->data[i] = '_';
		else if (p->data[i] == ';')
			p->data[i] = ':';
	c->has_pname = 1;
	if (c->flags & PS_COLLAPSE_JAVA_PREFIX)
		c->java = p->len >= 4 && memcmp(p->data, "java", 4) == 0;
	else
		c->java = span_eq(p->data, p->len, "java");
	return 0;
}

/* memmem for the short needles here: glibc's set-up cost per call dominated a profile. */
static const char *find(const char *s, size_t n, const char *lit, size_t ln)
{
	const char *end = s + n;
	while (s + ln <= end) {
		const char *c = memchr(s, lit[0], (size_t)(end - s) - ln + 1);
		if (!c)
			return NULL;
		if (memcmp(c + 1, lit + 1, ln - 1) == 0)
			return c;
		s = c + 1;
	}
	return NULL;
}

static int contains(const char *s, size_t n, const char *lit)
{
	return find(s, n, lit, strlen(lit)) != NULL;
}

/* m:/tmp/perf-\d+\.map: */
static int is_jit_map(span mod)
{
	const char *p = mod.p, *end = mod.p + mod.n;
	while ((p = find(p, (size_t)(end - p), "/tmp/perf-", 10)) != NULL) {
		const char *d = p + 10;
		while (d < end && is_digit((unsigned char)*d))
			d++;
		if (d > p + 10 && end - d >= 4 && memcmp(d, ".map", 4) == 0)
			return 1;
		p++;
	}
	return 0;
}

static int is_kernel_mod(span mod)
{
	if (contains(mod.p, mod.n, "unknown"))
		return 0;
	return (mod.n && mod.p[0] == '[') ||
	       (mod.n >= 7 && memcmp(mod.p + mod.n - 7, "vmlinux", 7) == 0);
}

enum { MOD_KERNEL = 1, MOD_JIT = 2 };

static int span_eq_buf(span s, const ps_buf *b)
{
	return s.n == b->len && memcmp(s.p, b->data, s.n) == 0;
}

static int mod_kind(collapser *c, span mod)
{
	if (c->mod_set && span_eq_buf(mod, &c->mod))
		return c->mod_kind;
	c->mod.len = 0;
	c->mod_set = ps_buf_add(&c->mod, mod.p, mod.n) == 0;
	c->mod_kind = (is_kernel_mod(mod) ? MOD_KERNEL : 0) | (is_jit_map(mod) ? MOD_JIT : 0);
	return c->mod_kind;
}

/* Cleans one name the way the script does and appends it to the current group. */
static int co_name(collapser *c, span fn, const frame_line *f, int kind, int inlined, int first)
{
	ps_buf *t = &c->tmp;
	int err;
	t->len = 0;
	if (span_eq(fn.p, fn.n, "[unknown]")) {
		/* An unresolved frame is named after its module's file name when there is one. */
		span base = {"unknown", 7};
		if (!span_eq(f->mod.p, f->mod.n, "[unknown]")) {
			const char *slash = memrchr(f->mod.p, '/', f->mod.n);
			base = slash ? (span){slash + 1, f->mod.n - (size_t)(slash + 1 - f->mod.p)}
				     : f->mod;
		}
		err = ps_buf_add(t, "[", 1);
		if (!err)
			err = ps_buf_add(t, base.p, base.n);
		if (!err && (c->flags & PS_COLLAPSE_ADDRS)) {
			err = ps_buf_add(t, " <", 2);
			if (!err)
				err = ps_buf_add(t, f->pc.p, f->pc.n);
			if (!err)
				err = ps_buf_add(t, ">", 1);
		}
		if (!err)
			err = ps_buf_add(t, "]", 1);
	} else {
		err = ps_buf_add(t, fn.p, fn.n);
	}
	if (err)
		return err;

	char *s = t->data;
	/* ';' separates frames in the folded format. */
	for (size_t i = 0; i < t->len; i++)
		if (s[i] == ';')
			s[i] = ':';
	/* Argument lists are noise, except in Go method names like "net/http.(*Client).Do"
	 * and C++'s "(anonymous namespace)". */
	const char *go_open = find(s, t->len, ".(", 2);
	int go = 0;
	if (go_open) {
		for (size_t i = t->len; i-- > 0 && s + i >= go_open + 2;) {
			if (s[i] == ')' && i + 1 < t->len && s[i + 1] == '.') {
				go = 1;
				break;
			}
		}
	}
	if (!go) {
		static const char anon[] = "anonymous namespace)";
		for (size_t i = 0; i < t->len; i++) {
			if (s[i] != '(')
				continue;
			if (t->len - i - 1 >= sizeof(anon) - 1 &&
			    memcmp(s + i + 1, anon, sizeof(anon) - 1) == 0)
				continue;
			t->len = i;
			break;
		}
	}
	size_t w = 0;
	for (size_t i = 0; i < t->len; i++)
		if (s[i] != '"' && s[i] != '\'')
			s[w++] = s[i];
	t->len = w;
	/* Java: "Lorg/pkg/Class;::m" becomes "org/pkg/Class:::m". */
	size_t skip = c->java && t->len && s[0] == 'L' && memchr(s, '/', t->len) ? 1 : 0;

	const char *suffix = NULL;
	if (inlined) {
		if (!contains(s, t->len, "_[i]"))
			suffix = "_[i]";
	} else if ((c->flags & PS_COLLAPSE_KERNEL) && (kind & MOD_KERNEL)) {
		suffix = "_[k]";
	} else if ((c->flags & PS_COLLAPSE_JIT) && (kind & MOD_JIT)) {
		if (!contains(s, t->len, "_[j]"))
			suffix = "_[j]";
	}
	if (suffix && (err = ps_buf_addstr(t, suffix)))
		return err;

	if (first) {
		if (PS_GROW(c->goff, c->gcap, c->ng + 1))
			return -ENOMEM;
		c->goff[c->ng++] = c->groups.len;
	} else if ((err = ps_buf_add(&c->groups, ";", 1))) {
		return err;
	}
	return ps_buf_add(&c->groups, t->data + skip, t->len - skip);
}

static int co_frame(collapser *c, const frame_line *f)
{
	span fn = strip_offset(f->func);
	if (fn.n && fn.p[0] == '(')
		return 0; /* a process name, not a function */
	/* "a->b" is an inline chain; Perl's split drops trailing empty names. */
	while (fn.n >= 2 && memcmp(fn.p + fn.n - 2, "->", 2) == 0)
		fn.n -= 2;
	if (fn.n == 0)
		return 0;
	int kind = (c->flags & PS_COLLAPSE_ALL) ? mod_kind(c, f->mod) : 0;
	const char *p = fn.p, *end = fn.p + fn.n;
	for (int k = 0;; k++) {
		const char *arrow = find(p, (size_t)(end - p), "->", 2);
		span part = {p, (size_t)((arrow ? arrow : end) - p)};
		int err = co_name(c, part, f, kind, k > 0, k == 0);
		if (err)
			return err;
		if (!arrow)
			return 0;
		p = arrow + 2;
	}
}

static int co_end(collapser *c, ps_profile *prof)
{
	if (!c->has_pname)
		return 0;
	ps_buf *o = &c->out;
	o->len = 0;
	int err = ps_buf_add(o, c->pname.data, c->pname.len);
	/* Frames came leaf first: the root-first stack reads the groups backwards. */
	for (size_t i = c->ng; !err && i-- > 0;) {
		size_t end = i + 1 < c->ng ? c->goff[i + 1] : c->groups.len;
		err = ps_buf_add(o, ";", 1);
		if (!err)
			err = ps_buf_add(o, c->groups.data + c->goff[i], end - c->goff[i]);
	}
	if (!err)
		err = ps_profile_add_folded(prof, o->data, o->len, c->period, 0);
	c->ng = 0;
	c->groups.len = 0;
	c->has_pname = 0;
	return err;
}

int ps_perfscript_collapse_opts(FILE *in, const ps_collapse_opts *opts, ps_profile *out)
{
	collapser c = {.flags = opts->flags, .opts = opts};
	ps_lines lr;
	ps_lines_init(&lr, in, LINE_LIMIT);
	const char *l;
	size_t n;
	int got = 0, err = 0;
	if (opts->event_filter && opts->event_filter[0]) {
		err = ps_buf_addstr(&c.filter, opts->event_filter);
		c.have_filter = 1;
	}
	while (!err && (got = ps_lines_next(&lr, &l, &n)) > 0) {
		if (n && l[0] == '#')
			continue;
		header h;
		frame_line f;
		if (n == 0)
			err = co_end(&c, out);
		else if (match_header(l, n, &h))
			err = co_header(&c, &h, lr.lineno);
		else if (match_frame(l, n, &f))
			err = c.has_pname ? co_frame(&c, &f) : 0;
		else
			warn(&c, lr.lineno, "unrecognized line");
	}
	if (!err && got < 0)
		err = got;
	ps_lines_release(&lr);
	ps_buf_release(&c.filter);
	ps_buf_release(&c.pname);
	ps_buf_release(&c.groups);
	ps_buf_release(&c.tmp);
	ps_buf_release(&c.out);
	ps_buf_release(&c.mod);
	free(c.goff);
	return err;
}

int ps_perfscript_collapse(FILE *in, unsigned flags, ps_profile *out)
{
	ps_collapse_opts o = {.flags = flags};
	return ps_perfscript_collapse_opts(in, &o, out);
}
