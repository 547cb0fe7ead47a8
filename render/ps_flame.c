#include "render/ps_flame.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

/* The interactive script and its style sheet, in ps_flame_js.c. */
extern const char ps_flame_js[];
extern const char ps_flame_css[];

/* Layout constants of flamegraph.pl, so frames land on the same pixels. */
#define XPAD 10.0
#define FRAMEPAD 1.0

/* ---- options ---- */

static const char *const palette_names[] = {
    "hot", "mem",   "io",   "wakeup", "chain",	"java",	  "js",	    "perl",
    "red", "green", "blue", "aqua",   "yellow", "purple", "orange", NULL,
};

const ps_flame_optdef ps_flame_optdefs[] = {
    {"title", 1, "title text (default \"Flame Graph\", \"Icicle Graph\" when inverted)"},
    {"subtitle", 1, "second-level title (default none)"},
    {"width", 1, "width of the image in px (default 1200)"},
    {"height", 1, "height of each frame in px (default 16)"},
    {"minwidth", 1, "omit frames narrower than this: px, or \"N%\" of the total (default 0.1)"},
    {"fonttype", 1, "font family (default \"Verdana\")"},
    {"fontsize", 1, "font size in px (default 12)"},
    {"fontwidth", 1, "average glyph width relative to the font size (default 0.59)"},
    {"countname", 1, "what the counts are (default \"samples\")"},
    {"nametype", 1, "what the names are (default \"Function:\")"},
    {"colors", 1,
     "palette: hot (default), mem, io, wakeup, chain, java, js, perl, red, green, blue, "
     "aqua, yellow, purple, orange"},
    {"bgcolors", 1, "background: yellow, blue, green, grey or #rrggbb (default by palette)"},
    {"hash", 0, "colour by flamegraph.pl's name hash (default: a stable hash of the name)"},
    {"reverse", 0, "reverse every stack before merging"},
    {"inverted", 0, "icicle graph: root at the top"},
    {"flamechart", 0, "keep the input order, merge only neighbouring stacks"},
    {"negate", 0, "swap differential hues (red/blue)"},
    {"notes", 1, "notes embedded in the SVG as a comment"},
    {"total", 1, "scale widths to this total if it is larger than the sum of counts"},
    {"factor", 1, "multiply counts by this in labels (default 1)"},
    {"searchcolor", 1, "colour of search matches (default \"rgb(230,0,230)\")"},
    {"ignorecase", 0, "search ignores case from the start (toggle with the \"ic\" button)"},
    {NULL, 0, NULL},
};

void ps_flame_opts_init(ps_flame_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->fonttype = "Verdana";
	o->countname = "samples";
	o->nametype = "Function:";
	o->searchcolor = "rgb(230,0,230)";
	o->width = 1200;
	o->height = 16;
	o->fontsize = 12;
	o->fontwidth = 0.59;
	o->minwidth = 0.1;
	o->factor = 1;
	o->colors = PS_FLAME_HOT;
}

static int parse_double(const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(d) || d <= 0)
		return PS_EFORMAT;
	*out = d;
	return 0;
}

static int parse_int(const char *v, int *out)
{
	char *end;
	errno = 0;
	long l = strtol(v, &end, 10);
	if (end == v || *end || errno || l <= 0 || l > 1000000)
		return PS_EFORMAT;
	*out = (int)l;
	return 0;
}

/* Text that lands in the style sheet or script must not be able to end them. */
static int safe_css(const char *v, const char *extra)
{
	if (!*v)
		return PS_EFORMAT;
	for (const unsigned char *s = (const unsigned char *)v; *s; s++)
		if (*s < 0x20 || strchr("{};<>&\\\"'`", *s) ||
		    (*s < 0x80 && extra && strchr(extra, *s)))
			return PS_EFORMAT;
	return 0;
}

static int is_hexcolor(const char *v)
{
	if (v[0] != '#' || strlen(v) != 7)
		return 0;
	for (int i = 1; i < 7; i++)
		if (!strchr("0123456789abcdefABCDEF", v[i]))
			return 0;
	return 1;
}

int ps_flame_opt_set(ps_flame_opts *o, const char *name, const char *value)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
	    {"title", offsetof(ps_flame_opts, title)},
	    {"subtitle", offsetof(ps_flame_opts, subtitle)},
	    {"countname", offsetof(ps_flame_opts, countname)},
	    {"nametype", offsetof(ps_flame_opts, nametype)},
	    {"notes", offsetof(ps_flame_opts, notes)},
	};
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
	    {"hash", offsetof(ps_flame_opts, hash)},
	    {"reverse", offsetof(ps_flame_opts, reverse)},
	    {"inverted", offsetof(ps_flame_opts, inverted)},
	    {"flamechart", offsetof(ps_flame_opts, flamechart)},
	    {"negate", offsetof(ps_flame_opts, negate)},
	    {"ignorecase", offsetof(ps_flame_opts, ignorecase)},
	};
	if (!o || !name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(name, flags[i].name)) {
			if (value)
				return -EINVAL;
			*(int *)((char *)o + flags[i].off) = 1;
			return 0;
		}
	if (!value)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (!strcmp(name, strs[i].name)) {
			*(const char **)((char *)o + strs[i].off) = value;
			return 0;
		}
	if (!strcmp(name, "width"))
		return parse_int(value, &o->width);
	if (!strcmp(name, "height"))
		return parse_int(value, &o->height);
	if (!strcmp(name, "fontsize"))
		return parse_double(value, &o->fontsize);
	if (!strcmp(name, "fontwidth"))
		return parse_double(value, &o->fontwidth);
	if (!strcmp(name, "factor"))
		return parse_double(value, &o->factor);
	if (!strcmp(name, "minwidth")) {
		/* flamegraph.pl's syntax: digits and dots, optionally a trailing '%' */
		size_t n = strlen(value);
		int pct = n && value[n - 1] == '%';
		if (n - (size_t)pct == 0 || strspn(value, "0123456789.") != n - (size_t)pct)
			return PS_EFORMAT;
		char *end;
		double d = strtod(value, &end);
		if (end != value + n - pct || !isfinite(d))
			return PS_EFORMAT;
		o->minwidth = d;
		o->minwidth_pct = pct;
		return 0;
	}
	if (!strcmp(name, "total")) {
		char *end;
		errno = 0;
		unsigned long long t = strtoull(value, &end, 10);
		if (end == value || *end || errno || value[0] == '-')
			return PS_EFORMAT;
		o->total = t;
		return 0;
	}
	if (!strcmp(name, "colors")) {
		for (int i = 0; palette_names[i]; i++)
			if (!strcmp(value, palette_names[i])) {
				o->colors = (ps_flame_palette)i;
				return 0;
			}
		return PS_EFORMAT;
	}
	if (!strcmp(name, "bgcolors")) {
		if (strcmp(value, "yellow") && strcmp(value, "blue") && strcmp(value, "green") &&
		    strcmp(value, "grey") && !is_hexcolor(value))
			return PS_EFORMAT;
		o->bgcolors = value;
		return 0;
	}
	if (!strcmp(name, "fonttype")) {
		if (safe_css(value, NULL))
			return PS_EFORMAT;
		o->fonttype = value;
		return 0;
	}
	if (!strcmp(name, "searchcolor")) {
		if (safe_css(value, ":!@$^*=+[]|/?~"))
			return PS_EFORMAT;
		o->searchcolor = value;
		return 0;
	}
	return -EINVAL;
}

/* ---- buffered output ---- */

typedef struct wr {
	FILE *f;
	char *buf;
	size_t len, cap;
	int err;
} wr;

static void wflush(wr *w)
{
	if (w->len && !w->err && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->err = errno ? -errno : -EIO;
	w->len = 0;
}

static void wput(wr *w, const char *s, size_t n)
{
	if (w->cap - w->len < n) {
		wflush(w);
		if (n > w->cap) {
			if (!w->err && fwrite(s, 1, n, w->f) != n)
				w->err = errno ? -errno : -EIO;
			return;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void wstr(wr *w, const char *s) { wput(w, s, strlen(s)); }

static void wch(wr *w, char c)
{
	if (w->len == w->cap)
		wflush(w);
	w->buf[w->len++] = c;
}

static void wu64(wr *w, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	wput(w, tmp + i, sizeof(tmp) - (size_t)i);
}

/* A value in tenths, printed as flamegraph.pl's "%0.1f" but without a ".0" tail. */
static void wtenths(wr *w, int64_t t)
{
	if (t < 0) {
		wch(w, '-');
		t = -t;
	}
	wu64(w, (uint64_t)t / 10);
	if (t % 10) {
		wch(w, '.');
		wch(w, (char)('0' + t % 10));
	}
}

static void wnum(wr *w, double v)
{
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.10g", v);
	wput(w, tmp, (size_t)n);
}

/* v rounded to tenths exactly as printf("%.1f") rounds it (flamegraph.pl prints that). */
static int64_t tenths(double v)
{
	char tmp[48];
	int n = snprintf(tmp, sizeof(tmp), "%.1f", v);
	int neg = tmp[0] == '-';
	int64_t t = 0;
	for (int i = neg; i < n; i++)
		if (tmp[i] != '.')
			t = t * 10 + (tmp[i] - '0');
	return neg ? -t : t;
}

/* The number with thousands separators, as flamegraph.pl labels counts. */
static void wcommas(wr *w, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			wch(w, ',');
		wch(w, tmp[i]);
	}
}

/* Length of the character at s (at most n bytes) when XML 1.0 allows it, else 0: valid
 * UTF-8 (ps_utf8_len) other than control bytes, DEL, U+FFFE and U+FFFF. */
static size_t xml_char(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return (s[0] >= 0x20 && s[0] != 0x7f) ? 1 : 0;
	size_t k = ps_utf8_len((const char *)s, n);
	if (k == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
		return 0; /* U+FFFE, U+FFFF: valid UTF-8, not XML characters */
	return k;
}

/* Writes s[0..n) as XML character data. Bytes XML cannot carry (controls, NUL, invalid
 * UTF-8) become the visible text "\xHH", so any name yields a well-formed document. At most
 * maxglyphs characters are written (a "\xHH" counts 4); returns how many were.
 * Not ps_escape(PS_ESC_XML): a label is cut to the glyphs that fit its box, never inside an
 * entity, an escape or a UTF-8 sequence, and the cut must agree with xml_glyphs' count;
 * and ps_escape lets U+FFFE and U+FFFF through, which would make the SVG ill-formed. */
static size_t wxml(wr *w, const char *str, size_t n, size_t maxglyphs)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t glyphs = 0, i = 0, run = 0;
	while (i < n && glyphs < maxglyphs) {
		unsigned c = s[i];
		size_t k = xml_char(s + i, n - i);
		const char *rep = NULL;
		if (k == 1 && (c == '&' || c == '<' || c == '>' || c == '"'))
			rep = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : "&quot;";
		if (k && !rep) {
			/* plain text: extend the current run, written in one go */
			i += k;
			run += k;
			glyphs++;
			continue;
		}
		wput(w, (const char *)s + i - run, run);
		run = 0;
		if (rep) {
			wstr(w, rep);
			glyphs++;
		} else {
			if (glyphs + 4 > maxglyphs)
				return glyphs;
			char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			wput(w, esc, 4);
			glyphs += 4;
		}
		i++;
	}
	wput(w, (const char *)s + i - run, run);
	return glyphs;
}

/* Characters wxml would write for s[0..n). */
static size_t xml_glyphs(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t glyphs = 0;
	for (size_t i = 0; i < n;) {
		size_t k = xml_char(s + i, n - i);
		glyphs += k ? 1 : 4;
		i += k ? k : 1;
	}
	return glyphs;
}

/* A JavaScript string literal safe inside CDATA: anything but plain ASCII letters, digits
 * and a few marks is \u-escaped; invalid UTF-8 becomes U+FFFD. */
static void wjs(wr *w, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	char tmp[8];
	wch(w, '"');
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || c == ' ' || c == ':' || c == '.' ||
			    c == ',' || c == '_' || c == '(' || c == ')' || c == '%' || c == '#' ||
			    c == '-')
				wch(w, (char)c);
			else {
				snprintf(tmp, sizeof(tmp), "\\u%04x", c);
				wstr(w, tmp);
			}
			i++;
			continue;
		}
		size_t k = xml_char(s + i, n - i);
		if (k) {
			wput(w, (const char *)s + i, k);
			i += k;
		} else {
			wstr(w, "\\ufffd");
			i++;
		}
	}
	wch(w, '"');
}

/* ---- the frame tree ---- */

#define NONE UINT32_MAX

typedef struct node {
	const char *name;
	uint32_t len;
	uint16_t waker; /* below a "--" frame (chain graphs) */
	uint16_t pad;
	uint32_t depth;
	uint32_t parent, first, last, next, prev;
	uint64_t value; /* width in counts */
	uint64_t start; /* left edge in counts */
	int64_t delta;	/* differential: change of the stacks that end here */
} node;

typedef struct item {
	const char *s;
	size_t len;
	uint64_t count, count2;
	int two; /* a differential line: "stack count count2" */
} item;

typedef struct tree {
	node *n;
	size_t nn, cap;
	uint32_t free; /* recycled nodes, linked through next */
	int diff;
	double minwidth_cnt; /* frames narrower than this many counts are not drawn */
} tree;

static uint32_t new_node(tree *t, uint32_t parent, const char *name, size_t len)
{
	uint32_t id;
	if (t->free != NONE) {
		id = t->free;
		t->free = t->n[id].next;
	} else {
		if (t->nn == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 4096;
			if (cap >= NONE)
				return NONE;
			node *nn = realloc(t->n, cap * sizeof(*nn));
			if (!nn)
				return NONE;
			t->n = nn;
			t->cap = cap;
		}
		id = (uint32_t)t->nn++;
	}
	node *c = &t->n[id];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->len = (uint32_t)len;
	c->parent = parent;
	c->first = c->last = c->next = c->prev = NONE;
	if (parent != NONE) {
		node *p = &t->n[parent];
		c->depth = p->depth + 1;
		c->waker = p->waker || (p->len == 2 && !memcmp(p->name, "--", 2));
		c->prev = p->last;
		if (p->last != NONE)
			t->n[p->last].next = id;
		else
			p->first = id;
		p->last = id;
	}
	return id;
}

/* In line-sorted input the stacks through one frame are contiguous, except that a frame
 * "b" can have its own samples ("...;b 5") sort before a sibling such as "b2" or "b.isra.0"
 * and its callees ("...;b;c") after it. flamegraph.pl then draws b twice; we find the
 * earlier b instead. Every sibling created in between starts with "b", so the search walks
 * back only over those. */
static uint32_t find_child(const tree *t, uint32_t parent, const char *s, size_t len)
{
	for (uint32_t c = t->n[parent].last; c != NONE; c = t->n[c].prev) {
		const node *n = &t->n[c];
		if (n->len < len || memcmp(n->name, s, len))
			return NONE;
		if (n->len == len)
			return c;
	}
	return NONE;
}

/* flamegraph.pl sorts the input lines "stack count[ count2]" as strings; this is that
 * order, printing the counts only when one stack is a prefix of the other. */
static int cmp_line(const item *a, const item *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	if (a->len == b->len)
		return 0;
	const item *shortr = a->len < b->len ? a : b, *longr = a->len < b->len ? b : a;
	char tail[64];
	size_t tn;
	if (shortr->two)
		tn = (size_t)snprintf(tail, sizeof(tail), " %llu %llu",
				      (unsigned long long)shortr->count,
				      (unsigned long long)shortr->count2);
	else
		tn = (size_t)snprintf(tail, sizeof(tail), " %llu",
				      (unsigned long long)shortr->count);
	size_t rest = longr->len - n;
	size_t m = rest < tn ? rest : tn;
	c = memcmp(longr->s + n, tail, m);
	if (!c)
		c = rest < tn ? -1 : rest > tn ? 1 : 0;
	return a == longr ? c : -c;
}

static int qcmp_line(const void *a, const void *b) { return cmp_line(a, b); }

/* Frames of one stack as offsets into its text, split as Perl's split(";") does: trailing
 * empty frames dropped. */
typedef struct frames {
	uint32_t *off, *len;
	size_t n, cap;
} frames;

static size_t trim_stack(const char *s, size_t len)
{
	while (len && s[len - 1] == ';')
		len--;
	return len;
}

/* Splits s[from..len) (len trimmed, from at a frame start) into frames after the first n. */
static int split_from(frames *f, const char *s, size_t len, size_t n, size_t from)
{
	f->n = n;
	if (from >= len)
		return 0;
	size_t i = from;
	for (;;) {
		const char *e = memchr(s + i, ';', len - i);
		size_t end = e ? (size_t)(e - s) : len;
		if (f->n == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 64;
			uint32_t *no = realloc(f->off, cap * sizeof(*no));
			if (!no)
				return -ENOMEM;
			f->off = no;
			uint32_t *nl = realloc(f->len, cap * sizeof(*nl));
			if (!nl)
				return -ENOMEM;
			f->len = nl;
			f->cap = cap;
		}
		f->off[f->n] = (uint32_t)i;
		f->len[f->n] = (uint32_t)(end - i);
		f->n++;
		if (!e)
			break;
		i = end + 1;
	}
	return 0;
}

static int split_frames(frames *f, const char *s, size_t len)
{
	return split_from(f, s, trim_stack(s, len), 0, 0);
}

/* Length of the common prefix of a and b. */
static size_t common_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;
	while (i + 8 <= n) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (size_t)(__builtin_ctzll(x ^ y) >> 3);
		i += 8;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* A frame whose stacks are all seen is final. If it is too narrow to draw, so are its
 * callees: recycle them (it stays, childless, for the positions of its siblings). This
 * keeps memory near the size of the drawn tree, not of the input. A frame can only be
 * reopened later (see find_child) if it was a leaf, so no frame freed here is needed again. */
static void close_node(tree *t, uint32_t id)
{
	node *nd = &t->n[id];
	if (nd->first == NONE || !((double)nd->value < t->minwidth_cnt))
		return;
	uint32_t c = nd->first;
	nd->first = nd->last = NONE;
	while (c != NONE) {
		/* walk the subtree, pushing every node onto the free list */
		node *cn = &t->n[c];
		if (cn->first != NONE) {
			uint32_t k = cn->first;
			cn->first = NONE;
			c = k;
			continue;
		}
		uint32_t up = cn->next != NONE ? cn->next : cn->parent;
		cn->next = t->free;
		t->free = c;
		c = up == id ? NONE : up;
	}
}

/* Builds the tree from stacks in drawing order. Normal mode merges into a true tree;
 * flame charts merge a frame only with the same frame of the previous stack. */
static int build(tree *t, const item *it, size_t n, int flamechart, uint64_t *maxdelta)
{
	frames f = {0};
	uint32_t *path = NULL;
	size_t pathcap = 0, pathlen = 1;
	uint64_t time = 0;
	int err = 0;
	*maxdelta = 1;
	if (new_node(t, NONE, "", 0) == NONE)
		return -ENOMEM;
	const char *prev = "";
	size_t prevlen = 0;
	for (size_t k = 0; k < n; k++) {
		/* Sorted neighbours share long prefixes: the frames in the common prefix are the
		 * previous stack's, so only the rest of the text is split and compared. */
		const char *cur = it[k].s;
		size_t curlen = trim_stack(cur, it[k].len);
		size_t l = common_prefix(prev, prevlen, cur, curlen), i = 0;
		while (i < f.n) {
			size_t end = f.off[i] + f.len[i];
			if (end > l || (end == l && !((l == curlen || cur[l] == ';') &&
						      (l == prevlen || prev[l] == ';'))))
				break;
			i++;
		}
		size_t from = i ? f.off[i - 1] + f.len[i - 1] + 1 : 0;
		if ((err = split_from(&f, cur, curlen, i, from)))
			break;
		prev = cur;
		prevlen = curlen;
		if (f.n + 1 > pathcap) {
			size_t cap = (f.n + 1) * 2;
			uint32_t *np = realloc(path, cap * sizeof(*np));
			if (!np) {
				err = -ENOMEM;
				break;
			}
			path = np;
			pathcap = cap;
			if (pathlen == 1)
				path[0] = 0;
		}
		path[0] = 0;
		uint64_t v = t->diff ? it[k].count2 : it[k].count;
		for (size_t j = pathlen; j-- > i + 1;)
			close_node(t, path[j]);
		int fresh = flamechart;
		for (size_t j = i; j < f.n; j++) {
			const char *name = cur + f.off[j];
			uint32_t c = fresh ? NONE : find_child(t, path[j], name, f.len[j]);
			if (c == NONE) {
				c = new_node(t, path[j], name, f.len[j]);
				if (c == NONE) {
					err = -ENOMEM;
					goto out;
				}
				t->n[c].start = time;
				fresh = 1;
			}
			path[j + 1] = c;
		}
		pathlen = f.n + 1;
		for (size_t j = 0; j < pathlen; j++)
			t->n[path[j]].value += v;
		if (t->diff) {
			int64_t d = (int64_t)(it[k].count2 - it[k].count);
			t->n[path[f.n]].delta += d;
			uint64_t ad = d < 0 ? (uint64_t)-d : (uint64_t)d;
			if (ad > *maxdelta)
				*maxdelta = ad;
		}
		time += v;
	}
out:
	free(path);
	free(f.off);
	free(f.len);
	return err;
}

/* ---- colours ---- */

/* flamegraph.pl's --hash: weights the first characters most, after dropping a "module`"
 * prefix, so a name keeps its colour across graphs. */
static double namehash(const char *s, size_t len)
{
	const char *bt = len > 1 ? memchr(s + 1, '`', len - 1) : NULL;
	if (bt) {
		len -= (size_t)(bt + 1 - s);
		s = bt + 1;
	}
	double vector = 0, weight = 1, max = 1;
	int mod = 10;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i] % mod;
		vector += ((double)c / (mod++ - 1)) * weight;
		max += weight;
		weight *= 0.70;
		if (mod > 12)
			break;
	}
	return 1 - vector / max;
}

static int has(const char *s, size_t len, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= len; i++)
		if (!memcmp(s + i, needle, m))
			return 1;
	return 0;
}

static int ends(const char *s, size_t len, const char *suffix)
{
	size_t m = strlen(suffix);
	return len >= m && !memcmp(s + len - m, suffix, m);
}

static int java_prefix(const char *s, size_t len)
{
	static const char *const pk[] = {"java/", "javax/", "jdk/", "net/", "org/",
					 "com/",  "io/",    "sun/", NULL};
	if (len && s[0] == 'L')
		s++, len--;
	for (int i = 0; pk[i]; i++)
		if (len >= strlen(pk[i]) && !memcmp(s, pk[i], strlen(pk[i])))
			return 1;
	return 0;
}

static ps_flame_palette multi_palette(ps_flame_palette pal, const node *n)
{
	const char *s = n->name;
	size_t len = n->len;
	switch (pal) {
	case PS_FLAME_JAVA:
		if (ends(s, len, "_[j]"))
			return PS_FLAME_GREEN;
		if (ends(s, len, "_[i]"))
			return PS_FLAME_AQUA;
		if (java_prefix(s, len) || has(s, len, ":::"))
			return PS_FLAME_GREEN;
		if (has(s, len, "::"))
			return PS_FLAME_YELLOW;
		if (ends(s, len, "_[k]"))
			return PS_FLAME_ORANGE;
		return PS_FLAME_RED;
	case PS_FLAME_PERL:
		if (has(s, len, "::"))
			return PS_FLAME_YELLOW;
		if (has(s, len, "Perl") || has(s, len, ".pl"))
			return PS_FLAME_GREEN;
		if (ends(s, len, "_[k]"))
			return PS_FLAME_ORANGE;
		return PS_FLAME_RED;
	case PS_FLAME_JS: {
		if (ends(s, len, "_[j]"))
			return memchr(s, '/', len) ? PS_FLAME_GREEN : PS_FLAME_AQUA;
		if (has(s, len, "::"))
			return PS_FLAME_YELLOW;
		const char *slash = memchr(s, '/', len);
		if (slash && has(slash, len - (size_t)(slash - s), ".js"))
			return PS_FLAME_GREEN;
		if (memchr(s, ':', len))
			return PS_FLAME_AQUA;
		if (len == 1 && s[0] == ' ')
			return PS_FLAME_GREEN;
		if (has(s, len, "_[k]"))
			return PS_FLAME_ORANGE;
		return PS_FLAME_RED;
	}
	case PS_FLAME_WAKEUP:
		return PS_FLAME_AQUA;
	case PS_FLAME_CHAIN:
		return n->waker || has(s, len, "_[w]") ? PS_FLAME_AQUA : PS_FLAME_BLUE;
	default:
		return pal;
	}
}

static uint32_t rgb(int r, int g, int b)
{
	return (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
}

static uint32_t frame_color(const ps_flame_opts *o, const node *n)
{
	double v1, v2, v3;
	if (o->hash) {
		char rev[256];
		size_t m = n->len < sizeof(rev) ? n->len : sizeof(rev);
		/* the reversed name's first characters are the name's last ones */
		for (size_t i = 0; i < m; i++)
			rev[i] = n->name[n->len - 1 - i];
		v1 = namehash(n->name, n->len);
		v2 = v3 = namehash(rev, m);
	} else {
		/* stable per name, independent of input order: no rand() */
		v1 = v2 = v3 = (double)(ps_hash(n->name, n->len) >> 11) * 0x1.0p-53;
	}
	switch (multi_palette(o->colors, n)) {
	case PS_FLAME_HOT:
		return rgb(205 + (int)(50 * v3), (int)(230 * v1), (int)(55 * v2));
	case PS_FLAME_MEM:
		return rgb(0, 190 + (int)(50 * v2), (int)(210 * v1));
	case PS_FLAME_IO: {
		int r = 80 + (int)(60 * v1);
		return rgb(r, r, 190 + (int)(55 * v2));
	}
	case PS_FLAME_RED: {
		int x = 50 + (int)(80 * v1);
		return rgb(200 + (int)(55 * v1), x, x);
	}
	case PS_FLAME_GREEN: {
		int x = 50 + (int)(60 * v1);
		return rgb(x, 200 + (int)(55 * v1), x);
	}
	case PS_FLAME_BLUE: {
		int x = 80 + (int)(60 * v1);
		return rgb(x, x, 205 + (int)(50 * v1));
	}
	case PS_FLAME_YELLOW: {
		int x = 175 + (int)(55 * v1);
		return rgb(x, x, 50 + (int)(20 * v1));
	}
	case PS_FLAME_PURPLE: {
		int x = 190 + (int)(65 * v1);
		return rgb(x, 80 + (int)(60 * v1), x);
	}
	case PS_FLAME_AQUA:
		return rgb(50 + (int)(60 * v1), 165 + (int)(55 * v1), 165 + (int)(55 * v1));
	case PS_FLAME_ORANGE:
		return rgb(190 + (int)(65 * v1), 90 + (int)(65 * v1), 0);
	default:
		return 0;
	}
}

/* Differential: white for no change, towards red for growth, blue for shrinkage. */
static uint32_t diff_color(int64_t delta, uint64_t maxdelta, int negate)
{
	double v = negate ? -(double)delta : (double)delta, max = (double)maxdelta;
	int r = 255, g = 255, b = 255;
	if (v > 0)
		g = b = (int)(210 * (max - v) / max);
	else if (v < 0)
		r = g = (int)(210 * (max + v) / max);
	return rgb(r, g, b);
}

static void wcolor(wr *w, uint32_t c)
{
	static const char hex[] = "0123456789abcdef";
	char s[7] = {'#'};
	for (int i = 0; i < 6; i++)
		s[1 + i] = hex[(c >> (20 - 4 * i)) & 15];
	wput(w, s, 7);
}

/* ---- rendering ---- */

typedef struct layout {
	const ps_flame_opts *o;
	double wpt;	     /* px per count */
	double minwidth_cnt; /* frames narrower than this many counts are dropped */
	uint64_t timemax;
	uint64_t maxdelta;
	double imageheight, ypad1, ypad2, ypad3;
	uint32_t depthmax;
	int diff;
} layout;

static int kept(const layout *l, const node *n) { return !((double)n->value < l->minwidth_cnt); }

static uint32_t next_kept(const layout *l, const tree *t, uint32_t c)
{
	while (c != NONE && !kept(l, &t->n[c]))
		c = t->n[c].next;
	return c;
}

/* Assigns left edges (a frame's own samples first, then its callees in first-seen order,
 * which is where flamegraph.pl puts them) and finds the deepest kept frame. */
static void place(layout *l, tree *t, int flamechart)
{
	uint32_t n = 0;
	t->n[0].start = 0;
	l->depthmax = 0;
	for (;;) {
		node *nd = &t->n[n];
		if (nd->depth > l->depthmax)
			l->depthmax = nd->depth;
		if (!flamechart) {
			uint64_t sum = 0;
			for (uint32_t c = nd->first; c != NONE; c = t->n[c].next)
				sum += t->n[c].value;
			uint64_t x = nd->start + nd->value - sum;
			for (uint32_t c = nd->first; c != NONE; c = t->n[c].next) {
				t->n[c].start = x;
				x += t->n[c].value;
			}
		}
		uint32_t c = next_kept(l, t, nd->first);
		if (c != NONE) {
			n = c;
			continue;
		}
		for (;;) {
			if (n == 0)
				return;
			c = next_kept(l, t, t->n[n].next);
			if (c != NONE) {
				n = c;
				break;
			}
			n = t->n[n].parent;
		}
	}
}

/* A name as shown: flamegraph.pl strips the "_[k]" style annotations. */
static size_t shown_len(const node *n)
{
	size_t len = n->len;
	if (len >= 4 && n->name[len - 4] == '_' && n->name[len - 3] == '[' &&
	    strchr("kwij", n->name[len - 2]) && n->name[len - 2] && n->name[len - 1] == ']')
		len -= 4;
	return len;
}

static void emit_frame(wr *w, const layout *l, const tree *t, uint32_t id)
{
	const ps_flame_opts *o = l->o;
	const node *n = &t->n[id];
	const char *name = id ? n->name : "all";
	size_t len = id ? shown_len(n) : 3;
	uint64_t end = id ? n->start + n->value : l->timemax;
	double x1 = XPAD + (double)n->start * l->wpt;
	double x2 = XPAD + (double)end * l->wpt;
	double y1, y2;
	if (!o->inverted) {
		y1 = l->imageheight - l->ypad2 - (n->depth + 1) * (double)o->height + FRAMEPAD;
		y2 = l->imageheight - l->ypad2 - n->depth * (double)o->height;
	} else {
		y1 = l->ypad1 + l->ypad3 + n->depth * (double)o->height;
		y2 = l->ypad1 + l->ypad3 + (n->depth + 1) * (double)o->height - FRAMEPAD;
	}
	uint64_t samples;
	double scaled = (double)(end - n->start) * o->factor;
	if (o->factor == 1)
		samples = end - n->start;
	else
		samples = scaled < 1.8e19 ? (uint64_t)llround(scaled) : UINT64_MAX;

	wstr(w, "<g><title>");
	wxml(w, name, len, SIZE_MAX);
	wstr(w, " (");
	wcommas(w, samples);
	wch(w, ' ');
	wxml(w, o->countname, strlen(o->countname), SIZE_MAX);
	char tmp[64];
	if (!id) {
		wstr(w, ", 100%");
	} else {
		double tot = (double)l->timemax * o->factor;
		snprintf(tmp, sizeof(tmp), ", %.2f%%", 100.0 * (double)samples / tot);
		wstr(w, tmp);
		if (l->diff) {
			double d = o->negate ? -(double)n->delta : (double)n->delta;
			snprintf(tmp, sizeof(tmp), "; %s%.2f%%", d > 0 ? "+" : "", 100.0 * d / tot);
			wstr(w, tmp);
		}
	}
	wstr(w, ")</title><rect x=\"");
	int64_t tx1 = tenths(x1), tx2 = tenths(x2);
	wtenths(w, tx1);
	wstr(w, "\" y=\"");
	wnum(w, y1);
	wstr(w, "\" width=\"");
	wtenths(w, tx2 - tx1);
	wstr(w, "\" height=\"");
	wnum(w, y2 - y1);
	wstr(w, "\" fill=\"");
	uint32_t color;
	if (n->len == 2 && !memcmp(n->name, "--", 2))
		color = rgb(160, 160, 160);
	else if (n->len == 1 && n->name[0] == '-')
		color = rgb(200, 200, 200);
	else if (l->diff)
		color = diff_color(n->delta, l->maxdelta, o->negate);
	else
		color = frame_color(o, n);
	wcolor(w, color);
	wstr(w, "\" rx=\"2\"/><text x=\"");
	wtenths(w, tx1 + 30);
	wstr(w, "\" y=\"");
	wnum(w, 3 + (y1 + y2) / 2);
	wstr(w, "\">");
	double chars = (x2 - x1) / (o->fontsize * o->fontwidth);
	if (chars >= 3) {
		size_t fit = chars > 1e9 ? (size_t)1e9 : (size_t)chars;
		if (xml_glyphs(name, len) <= fit) {
			wxml(w, name, len, SIZE_MAX);
		} else {
			wxml(w, name, len, fit - 2);
			wstr(w, "..");
		}
	}
	wstr(w, "</text>\n");
}

static void emit_frames(wr *w, const layout *l, const tree *t)
{
	uint32_t n = 0;
	for (;;) {
		emit_frame(w, l, t, n);
		uint32_t c = next_kept(l, t, t->n[n].first);
		if (c != NONE) {
			n = c;
			continue;
		}
		for (;;) {
			wstr(w, "</g>\n");
			if (n == 0)
				return;
			c = next_kept(l, t, t->n[n].next);
			if (c != NONE) {
				n = c;
				break;
			}
			n = t->n[n].parent;
		}
	}
}

static void emit_text(wr *w, const char *id, double x, double y, const char *attrs,
		      const char *text)
{
	wstr(w, "<text");
	if (id) {
		wstr(w, " id=\"");
		wstr(w, id);
		wch(w, '"');
	}
	wstr(w, " x=\"");
	wnum(w, x);
	wstr(w, "\" y=\"");
	wnum(w, y);
	wch(w, '"');
	if (attrs) {
		wch(w, ' ');
		wstr(w, attrs);
	}
	wch(w, '>');
	wxml(w, text, strlen(text), SIZE_MAX);
	wstr(w, "</text>\n");
}

static void emit_header(wr *w, const ps_flame_opts *o, double width, double height)
{
	wstr(w, "<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" width=\"");
	wnum(w, width);
	wstr(w, "\" height=\"");
	wnum(w, height);
	wstr(w, "\" onload=\"init(evt)\" viewBox=\"0 0 ");
	wnum(w, width);
	wch(w, ' ');
	wnum(w, height);
	wstr(w, "\" xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<!-- Flame graph by perfsample. Click a frame to zoom, Ctrl-F to search. -->\n");
	if (o->notes) {
		/* a comment cannot hold "--" or the bytes XML forbids: write those as text */
		wstr(w, "<!-- NOTES: ");
		const char *s = o->notes;
		for (size_t i = 0; s[i]; i++) {
			if (s[i] == '-' && (s[i + 1] == '-' || s[i + 1] == 0)) {
				wstr(w, "\\x2d");
				continue;
			}
			size_t k = xml_char((const unsigned char *)s + i, strlen(s + i));
			if (k) {
				wput(w, s + i, k);
				i += k - 1;
			} else {
				wxml(w, s + i, 1, 4);
			}
		}
		wstr(w, " -->\n");
	}
}

static void bg_colors(const ps_flame_opts *o, const char **c1, const char **c2)
{
	const char *bg = o->bgcolors;
	if (!bg) {
		switch (o->colors) {
		case PS_FLAME_MEM:
			bg = "green";
			break;
		case PS_FLAME_IO:
		case PS_FLAME_WAKEUP:
		case PS_FLAME_CHAIN:
			bg = "blue";
			break;
		case PS_FLAME_RED:
		case PS_FLAME_GREEN:
		case PS_FLAME_BLUE:
		case PS_FLAME_AQUA:
		case PS_FLAME_YELLOW:
		case PS_FLAME_PURPLE:
		case PS_FLAME_ORANGE:
			bg = "grey";
			break;
		default:
			bg = "yellow";
		}
	}
	if (!strcmp(bg, "blue"))
		*c1 = "#eeeeee", *c2 = "#e0e0ff";
	else if (!strcmp(bg, "green"))
		*c1 = "#eef2ee", *c2 = "#e0ffe0";
	else if (!strcmp(bg, "grey"))
		*c1 = "#f8f8f8", *c2 = "#e8e8e8";
	else if (is_hexcolor(bg))
		*c1 = *c2 = bg;
	else
		*c1 = "#eeeeee", *c2 = "#eeeeb0";
}

static void emit_chrome(wr *w, const layout *l, const char *title)
{
	const ps_flame_opts *o = l->o;
	const char *c1, *c2;
	char tmp[64];
	bg_colors(o, &c1, &c2);
	wstr(w, "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"");
	wstr(w, c1);
	wstr(w, "\" offset=\"5%\"/><stop stop-color=\"");
	wstr(w, c2);
	wstr(w, "\" offset=\"95%\"/></linearGradient></defs>\n<style type=\"text/css\">\n"
		"text { font-family:");
	wxml(w, o->fonttype, strlen(o->fonttype), SIZE_MAX);
	wstr(w, "; font-size:");
	wnum(w, o->fontsize);
	wstr(w, "px; fill:#000; }\n#title { text-anchor:middle; font-size:");
	wnum(w, o->fontsize + 5);
	wstr(w, "px; }\n");
	wstr(w, ps_flame_css);
	wstr(w, "</style>\n<script type=\"text/ecmascript\"><![CDATA[\nvar fg_conf = {nametype: ");
	wjs(w, o->nametype);
	wstr(w, ", countname: ");
	wjs(w, o->countname);
	wstr(w, ", searchcolor: ");
	wjs(w, o->searchcolor);
	snprintf(tmp, sizeof(tmp), ", charwidth: %.10g", o->fontsize * o->fontwidth);
	wstr(w, tmp);
	snprintf(tmp, sizeof(tmp), ", xpad: %.10g, width: %d", XPAD, o->width);
	wstr(w, tmp);
	wstr(w, ", ignorecase: ");
	wstr(w, o->ignorecase ? "true" : "false");
	wstr(w, "};\n");
	wstr(w, ps_flame_js);
	wstr(w, "]]></script>\n<rect x=\"0\" y=\"0\" width=\"");
	wnum(w, o->width);
	wstr(w, "\" height=\"");
	wnum(w, l->imageheight);
	wstr(w, "\" fill=\"url(#background)\"/>\n");
	double top = o->fontsize * 2, bottom = l->imageheight - l->ypad2 / 2;
	emit_text(w, "title", (double)(o->width / 2), top, NULL, title);
	if (o->subtitle)
		emit_text(w, "subtitle", (double)(o->width / 2), o->fontsize * 4, NULL,
			  o->subtitle);
	emit_text(w, "details", XPAD, bottom, NULL, " ");
	emit_text(w, "unzoom", XPAD, top, "class=\"hide\"", "Reset Zoom");
	emit_text(w, "search", o->width - XPAD - 100, top, NULL, "Search");
	emit_text(w, "ignorecase", o->width - XPAD - 16, top,
		  o->ignorecase ? "class=\"show\"" : NULL, "ic");
	emit_text(w, "matched", o->width - XPAD - 100, bottom, NULL, " ");
}

/* Stacks in drawing order: reversed if asked, and in flamegraph.pl's line order unless
 * this is a flame chart. Reversed text lives in *arena. */
static int gather(ps_profile *p, const ps_flame_opts *o, item **out, size_t *nout, ps_arena **arena)
{
	size_t n;
	const ps_stack *st = ps_profile_stacks(p, &n);
	int diff = ps_profile_is_diff(p);
	item *it = malloc((n ? n : 1) * sizeof(*it));
	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		it[i] = (item){st[i].folded, st[i].len, st[i].count, st[i].count2, diff};
	if (o->reverse) {
		*arena = ps_arena_new();
		if (!*arena) {
			free(it);
			return -ENOMEM;
		}
		frames f = {0};
		for (size_t i = 0; i < n; i++) {
			char *r = ps_arena_alloc(*arena, it[i].len + 1);
			if (!r || split_frames(&f, it[i].s, it[i].len)) {
				free(f.off);
				free(f.len);
				free(it);
				return -ENOMEM;
			}
			size_t k = 0;
			for (size_t j = f.n; j-- > 0;) {
				memcpy(r + k, it[i].s + f.off[j], f.len[j]);
				k += f.len[j];
				if (j)
					r[k++] = ';';
			}
			r[k] = 0;
			it[i].s = r;
			it[i].len = k;
		}
		free(f.off);
		free(f.len);
	}
	if (!o->flamechart) {
		size_t i = 1;
		while (i < n && cmp_line(&it[i - 1], &it[i]) <= 0)
			i++;
		if (i < n)
			qsort(it, n, sizeof(*it), qcmp_line);
	}
	*out = it;
	*nout = n;
	return 0;
}

static int render_empty(wr *w, const ps_flame_opts *o)
{
	double h = o->fontsize * 5;
	emit_header(w, o, o->width, h);
	emit_text(w, "title", (double)(o->width / 2), o->fontsize * 2, "text-anchor=\"middle\"",
		  "no samples");
	wstr(w, "</svg>\n");
	return 0;
}

int ps_flame_render(ps_profile *p, const ps_flame_opts *o, FILE *out)
{
	ps_flame_opts defaults;
	if (!o) {
		ps_flame_opts_init(&defaults);
		o = &defaults;
	}
	if (!p || !out || o->width <= 2 * XPAD || o->height <= 0 || !(o->fontsize > 0) ||
	    !(o->fontwidth > 0) || !(o->factor > 0) || !o->countname || !o->nametype ||
	    !o->fonttype || !o->searchcolor)
		return -EINVAL;
	wr w = {.f = out, .cap = 1 << 20};
	w.buf = malloc(w.cap);
	if (!w.buf)
		return -ENOMEM;
	item *it = NULL;
	size_t n = 0;
	ps_arena *arena = NULL;
	tree t = {.free = NONE};
	int err;
	t.diff = ps_profile_is_diff(p);
	if ((err = gather(p, o, &it, &n, &arena)))
		goto out;
	layout l = {.o = o, .diff = t.diff};
	/* the scale is known before the tree is: build() drops what will be too narrow */
	uint64_t time = t.diff ? ps_profile_total(p, 1) : ps_profile_total(p, 0);
	l.timemax = o->total > time ? o->total : time;
	l.wpt = ((double)o->width - 2 * XPAD) / (double)(l.timemax ? l.timemax : 1);
	l.minwidth_cnt =
	    o->minwidth_pct ? (double)l.timemax * o->minwidth / 100 : o->minwidth / l.wpt;
	t.minwidth_cnt = l.minwidth_cnt;
	if ((err = build(&t, it, n, o->flamechart, &l.maxdelta)))
		goto out;
	if (!time || t.n[0].value != time) {
		/* no samples (a mismatch would be a profile bug: draw nothing rather than lie) */
		err = render_empty(&w, o);
		goto out;
	}
	place(&l, &t, o->flamechart);
	l.ypad1 = o->fontsize * 3;
	l.ypad2 = o->fontsize * 2 + 10;
	l.ypad3 = o->subtitle ? o->fontsize * 2 : 0;
	l.imageheight = (l.depthmax + 1.0) * o->height + l.ypad1 + l.ypad2 + l.ypad3;
	const char *title = o->title;
	if (!title)
		title = o->flamechart ? "Flame Chart"
			: o->inverted ? "Icicle Graph"
				      : "Flame Graph";
	emit_header(&w, o, o->width, l.imageheight);
	emit_chrome(&w, &l, title);
	wstr(&w, "<g id=\"frames\">\n");
	emit_frames(&w, &l, &t);
	wstr(&w, "</g>\n</svg>\n");
out:
	if (!err) {
		wflush(&w);
		if (!w.err && fflush(out))
			w.err = errno ? -errno : -EIO;
		err = w.err;
	}
	free(w.buf);
	free(t.n);
	free(it);
	ps_arena_free(arena);
	return err;
}
