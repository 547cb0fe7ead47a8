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

/* The countname ps_flame_opts_init sets; left as it is, the drawn column names the counts. */
static const char default_countname[] = "samples";

void ps_flame_opts_init(ps_flame_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->fonttype = "Verdana";
	o->countname = default_countname;
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

/* Numbers are most of an SVG's bytes and printf was most of the time to write them: the
 * common cases below write the same text without it. */

/* v as "%.10g" prints it. */
static void wnum(wr *w, double v)
{
	if (v >= 0 && v < 1e9 && v * 2 == floor(v * 2)) {
		/* whole and half pixels, the usual coordinates: at most 10 digits */
		uint64_t h = (uint64_t)(v * 2);
		wu64(w, h / 2);
		if (h & 1)
			wput(w, ".5", 2);
		return;
	}
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.10g", v);
	wput(w, tmp, (size_t)n);
}

/* v in units of 1/scale (scale 10 or 100), rounded as printf's "%.1f" or "%.2f" rounds: the
 * exact binary value, ties to even. Returns 0 (use printf) when |v| is too large for k + 0.5
 * below to be exact. */
static int round_fixed(double v, double scale, int64_t *out)
{
	if (!(fabs(v) < 1e12))
		return 0;
	/* k = floor(v * scale) exactly: the product may round up to the next integer, the
	 * remainder fma computes does not round across zero */
	double k = floor(v * scale);
	if (fma(v, scale, -k) < 0)
		k -= 1;
	else if (fma(v, scale, -(k + 1)) >= 0)
		k += 1;
	double d = fma(v, scale, -(k + 0.5)); /* the sign of v * scale - (k + 0.5), exactly */
	int64_t r = (int64_t)k;
	if (d > 0 || (d == 0 && (r & 1)))
		r++;
	*out = r;
	return 1;
}

/* v as "%.2f" prints it. */
static void wfixed2(wr *w, double v)
{
	int64_t r;
	if (v >= 0 && round_fixed(v, 100, &r)) {
		char d[3] = {'.', (char)('0' + r / 10 % 10), (char)('0' + r % 10)};
		wu64(w, (uint64_t)r / 100);
		wput(w, d, 3);
		return;
	}
	char tmp[48];
	int n = snprintf(tmp, sizeof(tmp), "%.2f", v);
	wput(w, tmp, (size_t)n);
}

/* v rounded to tenths exactly as printf("%.1f") rounds it (flamegraph.pl prints that). */
static int64_t tenths(double v)
{
	int64_t r;
	if (round_fixed(v, 10, &r))
		return r;
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
	int i = sizeof(tmp), digits = 0;
	do {
		if (digits && digits % 3 == 0)
			tmp[--i] = ',';
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
		digits++;
	} while (v);
	wput(w, tmp + i, sizeof(tmp) - (size_t)i);
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
		if (c >= 0x20 && c < 0x7f && c != '&' && c != '<' && c != '>' && c != '"') {
			/* printable ASCII, most of every name: as below, without xml_char */
			i++;
			run++;
			glyphs++;
			continue;
		}
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

/* What a box shows. Frames whose labels are equal are one label, so they merge into one box
 * (address-level frames of one function, or a function in two mappings), as they did when
 * flame graphs were drawn from folded text. */
typedef struct label {
	const char *s; /* the profile's label, borrowed */
	uint32_t len;
	uint8_t kind; /* the frames' ps_frame_kind when they all agree, else PS_FRAME_UNKNOWN */
} label;

typedef struct node {
	uint32_t label;
	uint32_t depth;
	uint32_t parent, first, last, next;
	uint32_t waker; /* below a "--" frame (chain graphs) */
	uint64_t value; /* width in counts */
	uint64_t start; /* left edge in counts */
	uint64_t self;	/* the stacks that end here: their count, and (differential) ... */
	uint64_t self0; /* ... their count before */
	int64_t delta;	/* differential: change of the stacks that end here */
} node;

typedef struct tree {
	node *n;
	size_t nn, cap;
	uint32_t free; /* recycled nodes (flame charts), linked through next */
	label *lab;
	size_t nlab, labcap;
	uint32_t *lid;	 /* frame id -> label id, NONE until seen */
	ps_index labels; /* label text -> label id */
	uint32_t dashes; /* label id of "--", NONE when no frame has it */
	int diff;
	double minwidth_cnt; /* frames narrower than this many counts are not drawn */
} tree;

static void tree_release(tree *t)
{
	free(t->n);
	free(t->lab);
	free(t->lid);
	ps_index_release(&t->labels);
}

struct label_key {
	const tree *t;
	const char *s;
	size_t len;
};

static int label_eq(const void *ctx, uint32_t id)
{
	const struct label_key *k = ctx;
	const label *l = &k->t->lab[id];
	return l->len == k->len && !memcmp(l->s, k->s, k->len);
}

/* The label id of frame f, or NONE when out of memory. */
static uint32_t label_of(tree *t, ps_profile *p, ps_frame_id f)
{
	uint32_t id = t->lid[f];
	if (id != NONE)
		return id;
	uint8_t kind = ps_profile_frame_at(p, f)->kind;
	size_t len;
	const char *s = ps_profile_label(p, f, &len);
	if (!s || len >= NONE)
		return NONE;
	struct label_key k = {t, s, len};
	uint64_t h = ps_hash(s, len);
	id = ps_index_find(&t->labels, h, label_eq, &k);
	if (id != NONE) {
		if (t->lab[id].kind != kind)
			t->lab[id].kind = PS_FRAME_UNKNOWN;
	} else {
		if (t->nlab >= NONE - 1 || PS_GROW(t->lab, t->labcap, t->nlab + 1) ||
		    ps_index_insert(&t->labels, h, (uint32_t)t->nlab))
			return NONE;
		id = (uint32_t)t->nlab++;
		t->lab[id] = (label){s, (uint32_t)len, kind};
		if (len == 2 && !memcmp(s, "--", 2))
			t->dashes = id;
	}
	t->lid[f] = id;
	return id;
}

/* A new last child of parent (NONE: the root). */
static uint32_t new_node(tree *t, uint32_t parent, uint32_t lab)
{
	uint32_t id;
	if (t->free != NONE) {
		id = t->free;
		t->free = t->n[id].next;
	} else {
		if (t->nn >= NONE - 1 || PS_GROW(t->n, t->cap, t->nn + 1))
			return NONE;
		id = (uint32_t)t->nn++;
	}
	node *c = &t->n[id];
	memset(c, 0, sizeof(*c));
	c->label = lab;
	c->parent = parent;
	c->first = c->last = c->next = NONE;
	if (parent != NONE) {
		node *p = &t->n[parent];
		c->depth = p->depth + 1;
		c->waker = p->waker || (parent && p->label == t->dashes);
		if (p->last != NONE)
			t->n[p->last].next = id;
		else
			p->first = id;
		p->last = id;
	}
	return id;
}

/* flamegraph.pl sorts its input lines "stack count[ count2]" as strings and lays callees
 * out in that order: a callee's place is that of the first line through it, which is its
 * own line ("a;b 5": ' ' sorts before ';') when it has one, else one of "a;b;...". Two
 * siblings' labels decide, unless one is a prefix of the other ("b" and "b2", "foo" and
 * "foo (x)"): then the shorter one's continuation (its count, or ';') meets the rest of the
 * longer one's stack, as flamegraph.pl's line sort (and ours, on folded text) had it. */
static int has_line(const tree *t, const node *n) { return n->self || (t->diff && n->self0); }

static int cmp_sibling(const void *a, const void *b, void *ctx)
{
	const tree *t = ctx;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const node *na = &t->n[ia], *nb = &t->n[ib];
	const label *la = &t->lab[na->label], *lb = &t->lab[nb->label];
	size_t m = la->len < lb->len ? la->len : lb->len;
	int c = memcmp(la->s, lb->s, m);
	if (c)
		return c;
	if (la->len == lb->len)
		return (ia > ib) - (ia < ib); /* equal labels merge: not siblings */
	int a_short = la->len < lb->len;
	const node *sn = a_short ? na : nb, *ln = a_short ? nb : na;
	const unsigned char *rest = (const unsigned char *)(a_short ? lb : la)->s + m;
	size_t rlen = (a_short ? lb : la)->len - m;
	int lc; /* the longer one's line against the shorter one's */
	if (!has_line(t, sn)) {
		lc = (int)rest[0] - ';'; /* never 0: labels hold no ';' */
	} else {
		char tail[48];
		size_t tn;
		if (t->diff)
			tn = (size_t)snprintf(tail, sizeof(tail), " %llu %llu",
					      (unsigned long long)sn->self0,
					      (unsigned long long)sn->self);
		else
			tn = (size_t)snprintf(tail, sizeof(tail), " %llu",
					      (unsigned long long)sn->self);
		lc = memcmp(rest, tail, rlen < tn ? rlen : tn);
		if (!lc && rlen >= tn)
			lc = rlen > tn || !has_line(t, ln);
		else if (!lc)
			lc = has_line(t, ln) ? -1 : ';' - (unsigned char)tail[rlen];
	}
	if (!lc)
		return (ia > ib) - (ia < ib);
	return a_short ? -lc : lc;
}

/* Orders every node's callees as flamegraph.pl does. */
static int sort_children(tree *t)
{
	uint32_t *v = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < t->nn; i++) {
		node *nd = &t->n[i];
		if (nd->first == NONE || t->n[nd->first].next == NONE)
			continue;
		size_t k = 0;
		for (uint32_t c = nd->first; c != NONE; c = t->n[c].next) {
			if (PS_GROW(v, cap, k + 1)) {
				free(v);
				return -ENOMEM;
			}
			v[k++] = c;
		}
		qsort_r(v, k, sizeof(*v), cmp_sibling, t);
		nd->first = v[0];
		nd->last = v[k - 1];
		for (size_t j = 0; j + 1 < k; j++)
			t->n[v[j]].next = v[j + 1];
		t->n[v[k - 1]].next = NONE;
	}
	free(v);
	return 0;
}

/* What the tree is built from: the profile's stacks with their own and inclusive values
 * in the drawn column (and, for a differential profile, column 0). A stack that ends in
 * empty frames ("a;b;") ends at its last non-empty frame, as Perl's split(";") drops
 * trailing empty fields. */
typedef struct source {
	ps_profile *p;
	size_t col;		/* the width column (1, "after", for a differential profile) */
	uint64_t *self, *self0; /* per profile node: own value in col, and in column 0 (diff) */
	uint64_t *tot, *tot0;	/* the same, inclusive */
} source;

/* The label of profile node n (not the root), or NONE when out of memory. */
static uint32_t node_label(tree *t, const source *s, ps_node_id n)
{
	return label_of(t, s->p, ps_profile_node_frame(s->p, n));
}

static int empty_label(const tree *t, uint32_t l) { return l != NONE && !t->lab[l].len; }

static int source_init(source *s, tree *t, ps_profile *p, size_t col)
{
	size_t nn = ps_profile_nnodes(p), nf = ps_profile_nframes(p);
	s->p = p;
	s->col = col;
	s->self = malloc(nn * sizeof(*s->self));
	s->tot = malloc(nn * sizeof(*s->tot));
	if (t->diff) {
		s->self0 = malloc(nn * sizeof(*s->self0));
		s->tot0 = malloc(nn * sizeof(*s->tot0));
	}
	t->lid = malloc((nf ? nf : 1) * sizeof(*t->lid));
	if (!s->self || !s->tot || (t->diff && (!s->self0 || !s->tot0)) || !t->lid)
		return -ENOMEM;
	memset(t->lid, 0xff, (nf ? nf : 1) * sizeof(*t->lid));
	for (ps_node_id i = 0; i < nn; i++) {
		s->self[i] = ps_profile_node_self(p, i, col);
		if (t->diff)
			s->self0[i] = ps_profile_node_self(p, i, 0);
	}
	for (ps_node_id i = (ps_node_id)nn; i-- > 1;) {
		if (!s->self[i] && !(t->diff && s->self0[i]))
			continue;
		/* only an empty name has an empty label: look at the label only then */
		if (ps_profile_frame_at(p, ps_profile_node_frame(p, i))->name[0])
			continue;
		uint32_t l = node_label(t, s, i);
		if (l == NONE)
			return -ENOMEM;
		if (!empty_label(t, l))
			continue;
		ps_node_id up = ps_profile_node_parent(p, i);
		s->self[up] += s->self[i];
		s->self[i] = 0;
		if (t->diff) {
			s->self0[up] += s->self0[i];
			s->self0[i] = 0;
		}
	}
	memcpy(s->tot, s->self, nn * sizeof(*s->tot));
	if (t->diff)
		memcpy(s->tot0, s->self0, nn * sizeof(*s->tot0));
	/* parents have smaller ids; the column's total bounds every sum */
	for (ps_node_id i = (ps_node_id)nn; i-- > 1;) {
		ps_node_id up = ps_profile_node_parent(p, i);
		s->tot[up] += s->tot[i];
		if (t->diff)
			s->tot0[up] += s->tot0[i];
	}
	return 0;
}

static void source_release(source *s)
{
	free(s->self);
	free(s->self0);
	free(s->tot);
	free(s->tot0);
}

/* A differential box's change (of the stacks that end in it), and the largest change. */
static void note_delta(node *nd, uint64_t *maxdelta)
{
	nd->delta = (int64_t)(nd->self - nd->self0);
	uint64_t ad = nd->delta < 0 ? -(uint64_t)nd->delta : (uint64_t)nd->delta;
	if (ad > *maxdelta)
		*maxdelta = ad;
}

/* Boxes are made one at a time from the root, each from its members: the profile nodes it
 * stands for (a flame graph) or the stacks that pass through it (reversed). A box's members
 * become its callees' members by label, without hashing: a label remembers the last box
 * that got a callee with it. A box too narrow to draw keeps its width and its own count (its
 * siblings' places depend on them) but gets no callees, so the work follows what is drawn,
 * not the profile's size. A differential graph makes every box: its colour scale is the
 * largest change of any stack. */
typedef struct members {
	uint32_t *next;		/* per member: the next one of its box */
	uint32_t *first, *last; /* per box */
	size_t boxcap;
	uint32_t *stamp, *slot; /* per label: the last box to get a callee with it, the callee */
	size_t labcap;
} members;

static void members_release(members *m)
{
	free(m->next);
	free(m->first);
	free(m->last);
	free(m->stamp);
	free(m->slot);
}

/* Box b's callee with label l, made when b has none yet, gets member k. NONE: no memory. */
static uint32_t callee(tree *t, members *m, uint32_t b, uint32_t l, uint32_t k)
{
	if (l >= m->labcap) {
		size_t old = m->labcap, cap = old;
		if (PS_GROW(m->stamp, cap, t->nlab) || PS_GROW(m->slot, m->labcap, t->nlab))
			return NONE;
		memset(m->stamp + old, 0xff, (m->labcap - old) * sizeof(*m->stamp));
	}
	uint32_t x;
	if (m->stamp[l] == b) {
		x = m->slot[l];
		m->next[m->last[x]] = k;
	} else {
		x = new_node(t, b, l);
		if (x == NONE)
			return NONE;
		if (x >= m->boxcap) {
			size_t cap = m->boxcap;
			if (PS_GROW(m->first, cap, x + 1) || PS_GROW(m->last, m->boxcap, x + 1))
				return NONE;
		}
		m->stamp[l] = b;
		m->slot[l] = x;
		m->first[x] = k;
	}
	m->last[x] = k;
	m->next[k] = NONE;
	return x;
}

static int members_init(members *m, tree *t, size_t n)
{
	memset(m, 0, sizeof(*m));
	size_t cap = 0;
	m->next = malloc((n ? n : 1) * sizeof(*m->next));
	if (!m->next || PS_GROW(m->first, cap, 1) || PS_GROW(m->last, m->boxcap, 1) ||
	    new_node(t, NONE, NONE) == NONE)
		return -ENOMEM;
	m->first[0] = NONE;
	return 0;
}

static int expands(const tree *t, uint32_t b)
{
	return !b || t->diff || !((double)t->n[b].value < t->minwidth_cnt);
}

static int finish_tree(tree *t, uint64_t *maxdelta)
{
	*maxdelta = 1;
	for (size_t i = 0; t->diff && i < t->nn; i++)
		note_delta(&t->n[i], maxdelta);
	return sort_children(t);
}

/* The merged tree straight from the profile's trie: a box's members are profile nodes, and
 * their children are its callees'. */
static int build_tree(tree *t, const source *s, uint64_t *maxdelta)
{
	ps_profile *p = s->p;
	size_t nn = ps_profile_nnodes(p);
	members m;
	int err = members_init(&m, t, nn);
	/* boxes never outnumber profile nodes */
	if (!err && PS_GROW(t->n, t->cap, nn))
		err = -ENOMEM;
	if (err)
		goto out;
	m.first[0] = m.last[0] = PS_NODE_ROOT;
	m.next[PS_NODE_ROOT] = NONE;
	t->n[0].value = s->tot[0];
	t->n[0].self = s->self[0];
	t->n[0].self0 = t->diff ? s->self0[0] : 0;
	for (uint32_t b = 0; b < t->nn; b++) {
		if (!expands(t, b))
			continue;
		for (ps_node_id k = m.first[b]; k != NONE; k = m.next[k]) {
			for (ps_node_id c = ps_profile_node_child(p, k); c;
			     c = ps_profile_node_next(p, c)) {
				if (!s->tot[c] && !(t->diff && s->tot0[c]))
					continue;
				uint32_t l = node_label(t, s, c), x;
				if (l == NONE || (x = callee(t, &m, b, l, c)) == NONE) {
					err = -ENOMEM;
					goto out;
				}
				node *xn = &t->n[x];
				xn->value += s->tot[c];
				xn->self += s->self[c];
				if (t->diff)
					xn->self0 += s->self0[c];
			}
		}
	}
	err = finish_tree(t, maxdelta);
out:
	members_release(&m);
	return err;
}

/* --reverse: every stack reversed (leaf first), then merged. A box's members are the stacks
 * through it (by their last profile node), each with how far towards the root it has got. */
static int build_reversed(tree *t, const source *s, uint64_t *maxdelta)
{
	ps_profile *p = s->p;
	size_t nn = ps_profile_nnodes(p);
	members m;
	uint32_t *at = malloc(nn * sizeof(*at)); /* per stack: its next frame (root: done) */
	uint8_t *rest_empty = malloc(nn);	 /* a node and all above it have empty labels */
	int err = members_init(&m, t, nn);
	if (!err && (!at || !rest_empty))
		err = -ENOMEM;
	if (err)
		goto out;
	/* Reversed, the root's empty frames are the trailing ones: they go (the leaf's went in
	 * source_init). */
	rest_empty[0] = 1;
	for (ps_node_id i = 1; i < nn; i++) {
		rest_empty[i] = 0;
		if (!rest_empty[ps_profile_node_parent(p, i)] ||
		    ps_profile_frame_at(p, ps_profile_node_frame(p, i))->name[0])
			continue;
		uint32_t l = node_label(t, s, i);
		if (l == NONE) {
			err = -ENOMEM;
			goto out;
		}
		rest_empty[i] = empty_label(t, l);
	}
	uint32_t tail = NONE;
	for (ps_node_id i = 0; i < nn; i++) {
		if (!s->self[i] && !(t->diff && s->self0[i]))
			continue;
		at[i] = i;
		m.next[i] = NONE;
		if (tail == NONE)
			m.first[0] = i;
		else
			m.next[tail] = i;
		tail = i;
	}
	t->n[0].value = s->tot[0];
	for (uint32_t b = 0; b < t->nn; b++) {
		int expand = expands(t, b);
		for (uint32_t k = m.first[b], nk; k != NONE; k = nk) {
			nk = m.next[k];
			if (rest_empty[at[k]]) {
				t->n[b].self += s->self[k];
				if (t->diff)
					t->n[b].self0 += s->self0[k];
				continue;
			}
			if (!expand)
				continue;
			uint32_t l = node_label(t, s, at[k]), x;
			if (l == NONE || (x = callee(t, &m, b, l, k)) == NONE) {
				err = -ENOMEM;
				goto out;
			}
			t->n[x].value += s->self[k];
			at[k] = ps_profile_node_parent(p, at[k]);
		}
	}
	err = finish_tree(t, maxdelta);
out:
	members_release(&m);
	free(at);
	free(rest_empty);
	return err;
}

/* A box whose samples are all seen is final. If it is too narrow to draw, so are its
 * callees: recycle them (it stays, childless, for the positions of its siblings). This keeps
 * a flame chart's memory near the size of what it draws, not of its samples. */
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

/* A flame chart: the kept samples in the profile's order; a frame merges only with the same
 * frame of the sample before (runs of one stack are one step). */
static int build_chart(tree *t, const source *s, int reverse, uint64_t *maxdelta)
{
	ps_profile *p = s->p;
	size_t ns = ps_profile_nsamples(p), cap = 0, pcap = 0, pathlen = 0;
	uint32_t *lab = NULL, *path = NULL; /* the previous stack's labels and boxes */
	uint64_t time = 0;
	int err = 0;
	*maxdelta = 1;
	if (new_node(t, NONE, NONE) == NONE)
		return -ENOMEM;
	for (size_t i = 0; i < ns;) {
		ps_node_id n = ps_profile_sample_at(p, i)->node;
		uint64_t v = 0, v0 = 0;
		for (; i < ns && ps_profile_sample_at(p, i)->node == n; i++) {
			v += ps_profile_sample_value(p, i, s->col);
			if (t->diff)
				v0 += ps_profile_sample_value(p, i, 0);
		}
		if (!v && !v0)
			continue;
		/* the stack ends at its last non-empty frame */
		for (uint32_t l; n && (l = node_label(t, s, n)) != NONE && empty_label(t, l);)
			n = ps_profile_node_parent(p, n);
		/* this stack's labels, root first, after the previous stack's in lab[] */
		size_t depth = ps_profile_node_depth(p, n);
		if (PS_GROW(lab, cap, pathlen + depth + 1) || PS_GROW(path, pcap, depth + 2)) {
			err = -ENOMEM;
			break;
		}
		uint32_t *cur = lab + pathlen;
		size_t k = depth;
		for (ps_node_id m = n; m; m = ps_profile_node_parent(p, m)) {
			uint32_t l = node_label(t, s, m);
			if (l == NONE) {
				err = -ENOMEM;
				goto out;
			}
			cur[reverse ? depth - k-- : --k] = l;
		}
		/* reversed, the root's empty frames are the trailing ones: they go too */
		while (reverse && depth && empty_label(t, cur[depth - 1]))
			depth--;
		/* the frames shared with the previous stack */
		size_t same = 0;
		while (same < pathlen && same < depth && lab[same] == cur[same])
			same++;
		for (size_t j = pathlen; j > same; j--)
			close_node(t, path[j]);
		path[0] = 0;
		for (size_t j = same; j < depth; j++) {
			uint32_t c = new_node(t, path[j], cur[j]);
			if (c == NONE) {
				err = -ENOMEM;
				goto out;
			}
			t->n[c].start = time;
			path[j + 1] = c;
		}
		memmove(lab, cur, depth * sizeof(*lab));
		pathlen = depth;
		for (size_t j = 0; j <= depth; j++)
			t->n[path[j]].value += v;
		if (t->diff) {
			int64_t d = (int64_t)(v - v0);
			t->n[path[depth]].delta += d;
			uint64_t ad = d < 0 ? -(uint64_t)d : (uint64_t)d;
			if (ad > *maxdelta)
				*maxdelta = ad;
		}
		time += v;
	}
out:
	free(lab);
	free(path);
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

/* A name's annotation as stackcollapse-perf.pl writes it ("_[k]", "_[j]", "_[i]", "_[w]"):
 * its letter, or 0. flamegraph.pl does not show it. */
static char annotation(const char *s, size_t len)
{
	if (len >= 4 && s[len - 4] == '_' && s[len - 3] == '[' && s[len - 2] &&
	    strchr("kwij", s[len - 2]) && s[len - 1] == ']')
		return s[len - 2];
	return 0;
}

static ps_flame_palette multi_palette(ps_flame_palette pal, const char *s, size_t len,
				      const node *n, uint8_t kind)
{
	switch (pal) {
	case PS_FLAME_HOT:
		/* The model knows what flamegraph.pl can only read from a "_[k]" in the java
		 * and js palettes: kernel, JIT and inlined frames get those palettes' colours.
		 * An annotated name keeps flamegraph.pl's hot colour. */
		if (!annotation(s, len)) {
			if (kind == PS_FRAME_KERNEL)
				return PS_FLAME_ORANGE;
			if (kind == PS_FRAME_JIT)
				return PS_FLAME_GREEN;
			if (kind == PS_FRAME_INLINE)
				return PS_FLAME_AQUA;
		}
		return pal;
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

static uint32_t frame_color(const ps_flame_opts *o, const char *name, size_t len, const node *n,
			    uint8_t kind)
{
	double v1, v2, v3;
	if (o->hash) {
		char rev[256];
		size_t m = len < sizeof(rev) ? len : sizeof(rev);
		/* the reversed name's first characters are the name's last ones */
		for (size_t i = 0; i < m; i++)
			rev[i] = name[len - 1 - i];
		v1 = namehash(name, len);
		v2 = v3 = namehash(rev, m);
	} else {
		/* stable per name, independent of input order: no rand() */
		v1 = v2 = v3 = (double)(ps_hash(name, len) >> 11) * 0x1.0p-53;
	}
	switch (multi_palette(o->colors, name, len, n, kind)) {
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
	const char *countname; /* o->countname, or the drawn column's unit */
	double wpt;	       /* px per count */
	double minwidth_cnt;   /* frames narrower than this many counts are dropped */
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

static void emit_frame(wr *w, const layout *l, const tree *t, uint32_t id)
{
	const ps_flame_opts *o = l->o;
	const node *n = &t->n[id];
	const label *lab = id ? &t->lab[n->label] : NULL;
	const char *full = lab ? lab->s : "";
	size_t fulllen = lab ? lab->len : 0;
	const char *name = id ? full : "all";
	size_t len = id ? fulllen - (annotation(full, fulllen) ? 4 : 0) : 3;
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
	wxml(w, l->countname, strlen(l->countname), SIZE_MAX);
	char tmp[64];
	if (!id) {
		wstr(w, ", 100%");
	} else {
		double tot = (double)l->timemax * o->factor;
		wstr(w, ", ");
		wfixed2(w, 100.0 * (double)samples / tot);
		wch(w, '%');
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
	if (fulllen == 2 && !memcmp(full, "--", 2))
		color = rgb(160, 160, 160);
	else if (fulllen == 1 && full[0] == '-')
		color = rgb(200, 200, 200);
	else if (l->diff)
		color = diff_color(n->delta, l->maxdelta, o->negate);
	else
		color = frame_color(o, full, fulllen, n, lab ? lab->kind : PS_FRAME_UNKNOWN);
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
	wjs(w, l->countname);
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

/* What the boxes count: o->countname unless it was left at its default, then "samples" for
 * a samples column and the column's unit ("nanoseconds", "bytes") for any other. */
static const char *count_name(ps_profile *p, const ps_flame_opts *o, size_t col)
{
	const char *unit = NULL;
	const char *type = ps_profile_type(p, col, &unit);
	if (o->countname != default_countname || !type || !strcmp(type, "samples") || !unit)
		return o->countname;
	return unit;
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
	int diff = ps_profile_is_diff(p);
	/* a differential profile is drawn from "after", and its counts are column 0's kind */
	size_t col = diff ? 1 : o->column;
	if (!diff && ps_profile_ntypes(p) && col >= ps_profile_ntypes(p))
		return -EINVAL;
	wr w = {.f = out, .cap = 1 << 20};
	w.buf = malloc(w.cap);
	if (!w.buf)
		return -ENOMEM;
	tree t = {.free = NONE, .dashes = NONE, .diff = diff};
	source s = {0};
	int err;
	layout l = {.o = o, .diff = diff, .countname = count_name(p, o, diff ? 0 : col)};
	/* the scale is known before the tree is: flame charts drop what will be too narrow */
	uint64_t time = ps_profile_total(p, col);
	l.timemax = o->total > time ? o->total : time;
	l.wpt = ((double)o->width - 2 * XPAD) / (double)(l.timemax ? l.timemax : 1);
	l.minwidth_cnt =
	    o->minwidth_pct ? (double)l.timemax * o->minwidth / 100 : o->minwidth / l.wpt;
	t.minwidth_cnt = l.minwidth_cnt;
	int chart = o->flamechart && (ps_profile_flags(p) & PS_PROFILE_SAMPLES);
	if ((err = source_init(&s, &t, p, col)))
		goto out;
	if (chart)
		err = build_chart(&t, &s, o->reverse, &l.maxdelta);
	else if (o->reverse)
		err = build_reversed(&t, &s, &l.maxdelta);
	else
		err = build_tree(&t, &s, &l.maxdelta);
	if (err)
		goto out;
	if (!time || t.n[0].value != time) {
		/* no samples (a mismatch would be a profile bug: draw nothing rather than lie) */
		err = render_empty(&w, o);
		goto out;
	}
	place(&l, &t, chart);
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
	source_release(&s);
	tree_release(&t);
	return err;
}
