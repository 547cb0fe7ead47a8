/* Tests of the SVG flame graph renderer: geometry against flamegraph.pl's (the conformance
 * corpus), the tree merge, pruning, escaping, determinism and the options. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"
#include "render/ps_flame.h"

/* ---- helpers: render to memory, read the frames back out of the SVG ---- */

typedef struct frame {
	double x, y, w;
	char *name;
	unsigned long long samples;
	char fill[16];
	int parent; /* index of the enclosing frame, -1 for the root */
	char *label;
} frame;

typedef struct svg {
	char *text;
	size_t len;
	frame *f;
	int n;
} svg;

static char *render(ps_profile *p, const ps_flame_opts *o, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	cr_assert_not_null(m);
	int err = ps_flame_render(p, o, m);
	cr_assert_eq(err, 0, "ps_flame_render: %s", ps_strerror(err));
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

/* XML character data back to text (the entities the renderer writes). */
static char *unxml(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	for (size_t i = 0; i < n;) {
		static const struct {
			const char *e, c;
		} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}};
		int done = 0;
		for (size_t k = 0; k < 4 && !done; k++) {
			size_t el = strlen(ents[k].e);
			if (i + el <= n && !memcmp(s + i, ents[k].e, el)) {
				*o++ = ents[k].c;
				i += el;
				done = 1;
			}
		}
		if (!done)
			*o++ = s[i++];
	}
	*o = 0;
	return out;
}

static double attr(const char *tag, const char *end, const char *name)
{
	char key[32];
	snprintf(key, sizeof(key), " %s=\"", name);
	const char *a = strstr(tag, key);
	cr_assert(a && a < end, "no %s in frame", name);
	return strtod(a + strlen(key), NULL);
}

static void parse(svg *s)
{
	const char *p = strstr(s->text, "<g id=\"frames\">");
	cr_assert_not_null(p, "no frames group");
	p += strlen("<g id=\"frames\">");
	int cap = 64, stack[4096], depth = 0;
	s->f = malloc(cap * sizeof(*s->f));
	s->n = 0;
	for (;;) {
		const char *open = strstr(p, "<g><title>"), *close = strstr(p, "</g>");
		cr_assert_not_null(close);
		if (!open || close < open) {
			if (depth == 0)
				break;
			depth--;
			p = close + 4;
			continue;
		}
		if (s->n == cap) {
			cap *= 2;
			s->f = realloc(s->f, cap * sizeof(*s->f));
		}
		frame *f = &s->f[s->n];
		const char *t = open + strlen("<g><title>");
		const char *te = strstr(t, "</title>");
		char *title = unxml(t, (size_t)(te - t));
		char *paren = strrchr(title, '(');
		cr_assert(paren && paren > title && paren[-1] == ' ', "title %s", title);
		paren[-1] = 0;
		f->name = title;
		f->samples = 0;
		for (char *d = paren + 1; (*d >= '0' && *d <= '9') || *d == ','; d++)
			if (*d != ',')
				f->samples = f->samples * 10 + (unsigned)(*d - '0');
		const char *rect = strstr(te, "<rect"), *re = strstr(rect, "/>");
		f->x = attr(rect, re, "x");
		f->y = attr(rect, re, "y");
		f->w = attr(rect, re, "width");
		const char *fill = strstr(rect, " fill=\"") + 7;
		snprintf(f->fill, sizeof(f->fill), "%.*s", (int)(strchr(fill, '"') - fill), fill);
		const char *tx = strstr(re, "<text"), *txe = strstr(tx, "</text>");
		tx = strchr(tx, '>') + 1;
		f->label = unxml(tx, (size_t)(txe - tx));
		f->parent = depth ? stack[depth - 1] : -1;
		cr_assert_lt(depth, 4096);
		stack[depth++] = s->n;
		s->n++;
		p = txe;
	}
}

static svg render_parse(ps_profile *p, const ps_flame_opts *o)
{
	svg s = {0};
	s.text = render(p, o, &s.len);
	parse(&s);
	return s;
}

static void svg_free(svg *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->f[i].name);
		free(s->f[i].label);
	}
	free(s->f);
	free(s->text);
}

static const frame *find(const svg *s, const char *name, int nth)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->f[i].name, name) && nth-- == 0)
			return &s->f[i];
	return NULL;
}

static int count_named(const svg *s, const char *name)
{
	int k = 0;
	for (int i = 0; i < s->n; i++)
		k += !strcmp(s->f[i].name, name);
	return k;
}

static ps_profile *folded(const char *text, unsigned flags)
{
	ps_profile *p = ps_profile_new(flags);
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_eq(ps_profile_read_folded(p, f, PS_FOLDED_STRICT, NULL, NULL), 0);
	fclose(f);
	return p;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* xmllint's verdict on the document, or -1 when xmllint is not installed. */
static int xmllint_ok(const char *text, size_t len)
{
	if (system("command -v xmllint >/dev/null 2>&1") != 0)
		return -1;
	char path[] = "/tmp/ps-flame-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet %s 2>/dev/null", path);
	int rc = system(cmd);
	unlink(path);
	return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* ---- conformance: the same frames, at the same pixels, as flamegraph.pl ---- */

static const char *const corpus[] = {
    "perf-cycles-instructions-01", "perf-dd-stacks-01",		  "perf-funcab-cmd-01",
    "perf-funcab-pid-01",	   "perf-iperf-stacks-pidtid-01", "perf-java-faults-01",
    "perf-java-stacks-01",	   "perf-mirageos-stacks-01",	  "perf-vertx-stacks-01",
};

static size_t read_lines(const char *path, char ***out)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s (tests run from the repo root)", path);
	char **lines = NULL, *line = NULL;
	size_t n = 0, cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		lines[n++] = strdup(line);
	}
	free(line);
	fclose(f);
	*out = lines;
	return n;
}

static int check_corpus(const char *input, const char *optset, const char *const *opts)
{
	char path[512];
	snprintf(path, sizeof(path), "tests/data/corpus/perf-script/results/%s-collapsed-all.txt",
		 input);
	FILE *in = fopen(path, "r");
	cr_assert_not_null(in, "cannot open %s (tests run from the repo root)", path);
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_read_folded(p, in, 0, NULL, NULL), 0);
	fclose(in);
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	for (int i = 0; opts[i]; i += 2)
		cr_assert_eq(ps_flame_opt_set(&o, opts[i], opts[i + 1]), 0);
	svg s = render_parse(p, &o);

	char **mine = malloc(s.n * sizeof(*mine));
	for (int i = 0; i < s.n; i++) {
		char row[4096];
		snprintf(row, sizeof(row), "%.1f\t%.2f\t%.2f\t%s\t%llu", s.f[i].y, s.f[i].x,
			 s.f[i].w, s.f[i].name, s.f[i].samples);
		mine[i] = strdup(row);
	}
	snprintf(path, sizeof(path), "tests/data/corpus/flamegraph/%s.%s.tsv", input, optset);
	char **want;
	size_t nwant = read_lines(path, &want);
	qsort(mine, (size_t)s.n, sizeof(*mine), cmp_str);
	qsort(want, nwant, sizeof(*want), cmp_str);
	int bad = 0;
	cr_expect_eq((size_t)s.n, nwant, "%s %s: %d frames, flamegraph.pl has %zu", input, optset,
		     s.n, nwant);
	bad |= (size_t)s.n != nwant;
	for (size_t i = 0; i < nwant && i < (size_t)s.n; i++) {
		if (strcmp(want[i], mine[i])) {
			cr_expect_str_eq(mine[i], want[i], "%s %s row %zu", input, optset, i);
			bad = 1;
			break;
		}
	}
	for (size_t i = 0; i < nwant; i++)
		free(want[i]);
	for (int i = 0; i < s.n; i++)
		free(mine[i]);
	free(want);
	free(mine);
	svg_free(&s);
	ps_profile_free(p);
	return bad;
}

Test(flame, corpus_geometry_matches_flamegraph_pl)
{
	static const char *const none[] = {NULL};
	static const char *const w800[] = {"width", "800", "minwidth", "1", NULL};
	static const char *const inv[] = {"inverted", NULL, NULL};
	static const char *const rev[] = {"reverse", NULL, NULL};
	static const struct {
		const char *name;
		const char *const *opts;
	} sets[] = {{"default", none}, {"w800-minw1", w800}, {"inverted", inv}, {"reverse", rev}};
	int checked = 0, bad = 0;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++)
		for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
			/* opts are name, value pairs; a flag's value is NULL */
			bad += check_corpus(corpus[i], sets[k].name, sets[k].opts);
			checked++;
		}
	cr_assert_eq(checked, 36);
	cr_assert_eq(bad, 0, "%d of %d corpus renders differ from flamegraph.pl", bad, checked);
}

/* ---- the tree merge: what flamegraph.pl splits, we keep as one frame ---- */

Test(flame, siblings_sharing_a_prefix_do_not_split_a_frame)
{
	/* Sorted as lines, "a;b 5" < "a;b.isra.0 2" < "a;b2 3" < "a;b;c 4": flamegraph.pl draws b
	 * twice (5 and 4 samples) around b.isra.0 and b2. */
	ps_profile *p = folded("a;b 5\na;b2 3\na;b.isra.0 2\na;b;c 4\n", 0);
	svg s = render_parse(p, NULL);
	cr_assert_eq(count_named(&s, "b"), 1);
	const frame *b = find(&s, "b", 0), *c = find(&s, "c", 0), *bi = find(&s, "b.isra.0", 0);
	cr_assert_eq(b->samples, 9);
	cr_assert_eq(c->samples, 4);
	/* b's own samples come first, then its callee c, as flamegraph.pl places self time */
	cr_assert_float_eq(c->x, 10 + 5 * 1180.0 / 14, 0.051);
	cr_assert_float_eq(c->x + c->w, b->x + b->w, 0.051);
	cr_assert_float_eq(bi->x, b->x + b->w, 0.051);
	cr_assert_float_eq(find(&s, "b2", 0)->x, bi->x + bi->w, 0.051);
	cr_assert_eq(s.f[c->parent].name[0], 'b');
	svg_free(&s);
	ps_profile_free(p);
}

Test(flame, line_order_follows_flamegraph_pl_with_counts)
{
	/* "a;foo (x) 3" sorts before "a;foo 5" ('(' < '5'): foo (x) is left of foo */
	ps_profile *p = folded("a;foo 5\na;foo (x);z 3\na;foo;c 4\nq;r 2\n", 0);
	svg s = render_parse(p, NULL);
	const frame *fx = find(&s, "foo (x)", 0), *f = find(&s, "foo", 0);
	cr_assert_not_null(fx);
	cr_assert_not_null(f);
	cr_assert_float_eq(fx->x, 10, 0.01);
	cr_assert_float_eq(f->x, 262.9, 0.01); /* flamegraph.pl: 262.9 */
	cr_assert_float_eq(find(&s, "c", 0)->x, 684.3, 0.01);
	svg_free(&s);
	ps_profile_free(p);
}

/* ---- structure ---- */

static void check_nesting(const svg *s)
{
	/* every callee lies inside its caller, and callees never add up past it */
	double *used = calloc((size_t)s->n, sizeof(*used));
	for (int i = 0; i < s->n; i++) {
		const frame *f = &s->f[i];
		if (f->parent < 0)
			continue;
		const frame *pa = &s->f[f->parent];
		cr_assert_geq(f->x, pa->x - 0.051, "%s starts before %s", f->name, pa->name);
		cr_assert_leq(f->x + f->w, pa->x + pa->w + 0.101, "%s ends after %s", f->name,
			      pa->name);
		cr_assert_leq(f->samples, pa->samples);
		used[f->parent] += f->w;
		cr_assert_leq(used[f->parent], pa->w + 0.101 * s->n, "callees of %s overflow",
			      pa->name);
	}
	free(used);
}

Test(flame, callees_fit_inside_callers)
{
	char path[256];
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		snprintf(path, sizeof(path),
			 "tests/data/corpus/perf-script/results/%s-collapsed-all.txt", corpus[i]);
		FILE *in = fopen(path, "r");
		cr_assert_not_null(in);
		ps_profile *p = ps_profile_new(0);
		cr_assert_eq(ps_profile_read_folded(p, in, 0, NULL, NULL), 0);
		fclose(in);
		ps_flame_opts o;
		ps_flame_opts_init(&o);
		o.minwidth = 0;
		svg s = render_parse(p, &o);
		cr_assert_gt(s.n, 2);
		check_nesting(&s);
		svg_free(&s);
		ps_profile_free(p);
	}
}

Test(flame, minwidth_prunes_narrow_frames)
{
	/* 1 sample of 100000 is 0.0118 px at width 1200 */
	ps_profile *p = folded("a;big 99999\na;tiny;deeper;still 1\n", 0);
	svg s = render_parse(p, NULL);
	cr_assert_null(find(&s, "tiny", 0));
	cr_assert_null(find(&s, "still", 0));
	cr_assert_not_null(find(&s, "big", 0));
	/* the image is only as tall as the deepest frame kept: all, a, big */
	cr_assert(strstr(s.text, "height=\"118\""), "image height"); /* 3*16 + 36 + 34 */
	svg_free(&s);

	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "minwidth", "0"), 0);
	s = render_parse(p, &o);
	cr_assert_not_null(find(&s, "still", 0));
	svg_free(&s);

	/* as a percentage of the total */
	ps_profile *q = folded("a;x 60\na;y 30\na;z 10\n", 0);
	cr_assert_eq(ps_flame_opt_set(&o, "minwidth", "20%"), 0);
	s = render_parse(q, &o);
	cr_assert_not_null(find(&s, "y", 0));
	cr_assert_null(find(&s, "z", 0));
	svg_free(&s);
	ps_profile_free(q);
	ps_profile_free(p);
}

Test(flame, inverted_and_reverse)
{
	ps_profile *p = folded("main;f;g 3\nmain;h;g 1\n", 0);
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	svg s = render_parse(p, &o);
	const frame *all = find(&s, "all", 0), *g = find(&s, "g", 0);
	cr_assert_gt(all->y, g->y, "flame graph: root at the bottom");
	cr_assert(strstr(s.text, ">Flame Graph</text>"));
	svg_free(&s);

	cr_assert_eq(ps_flame_opt_set(&o, "inverted", NULL), 0);
	s = render_parse(p, &o);
	all = find(&s, "all", 0);
	g = find(&s, "g", 0);
	cr_assert_float_eq(all->y, 36, 0.001, "icicle: root under the title");
	cr_assert_lt(all->y, g->y);
	cr_assert(strstr(s.text, ">Icicle Graph</text>"));
	svg_free(&s);

	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "reverse", NULL), 0);
	s = render_parse(p, &o);
	/* reversed stacks g;f;main and g;h;main merge at g, the first frame under all */
	cr_assert_eq(count_named(&s, "g"), 1);
	g = find(&s, "g", 0);
	cr_assert_eq(g->samples, 4);
	cr_assert_str_eq(s.f[g->parent].name, "all");
	cr_assert_eq(count_named(&s, "main"), 2);
	svg_free(&s);
	ps_profile_free(p);
}

Test(flame, flamechart_keeps_order_and_merges_only_neighbours)
{
	ps_profile *p = folded("a;b 2\nx 1\na;b 3\na;c 1\n", PS_PROFILE_SAMPLES);
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "flamechart", NULL), 0);
	svg s = render_parse(p, &o);
	cr_assert_eq(count_named(&s, "a"), 2);
	const frame *a0 = find(&s, "a", 0), *x = find(&s, "x", 0), *a1 = find(&s, "a", 1);
	cr_assert_lt(a0->x, x->x);
	cr_assert_lt(x->x, a1->x);
	cr_assert_eq(a1->samples, 4);
	cr_assert(strstr(s.text, ">Flame Chart</text>"));
	svg_free(&s);
	ps_profile_free(p);
}

/* ---- text safety ---- */

Test(flame, names_are_escaped_into_valid_xml)
{
	ps_profile *p = ps_profile_new(0);
	static const char evil[] = "m;a&b<c>\"d\";bad\xff\xfe utf8;ctl\x01\x1b;nul\0x;"
				   "]]>;ok\xc3\xa9;operator<<(int)";
	cr_assert_eq(ps_profile_add_folded(p, evil, sizeof(evil) - 1, 5, 0), 0);
	cr_assert_eq(ps_profile_add_folded(p, "m;x", 3, 1, 0), 0);
	/* U+FFFE is valid UTF-8 but no XML character */
	static const char nonchar[] = "m;nonchar\xef\xbf\xbe";
	cr_assert_eq(ps_profile_add_folded(p, nonchar, sizeof(nonchar) - 1, 1, 0), 0);
	size_t len;
	char *text = render(p, NULL, &len);
	cr_assert_eq(strlen(text), len, "no NUL in the SVG");
	for (size_t i = 0; i < len; i++)
		cr_assert(((unsigned char)text[i] >= 0x20 && text[i] != 0x7f) || text[i] == '\n' ||
			      text[i] == '\t',
			  "control byte 0x%02x at %zu", (unsigned char)text[i], i);
	cr_assert(strstr(text, "a&amp;b&lt;c&gt;&quot;d&quot;"));
	cr_assert(strstr(text, "bad\\xff\\xfe utf8"));
	/* Control bytes never enter a profile's frames (they could forge folded lines). */
	cr_assert(strstr(text, "ctl??"));
	cr_assert(strstr(text, "nul?x"));
	cr_assert(strstr(text, "ok\xc3\xa9"), "valid UTF-8 is kept");
	cr_assert(strstr(text, "nonchar\\xef\\xbf\\xbe"));
	cr_assert(strstr(text, "operator&lt;&lt;(int)"));
	int ok = xmllint_ok(text, len);
	if (ok >= 0)
		cr_assert_eq(ok, 1, "xmllint rejects the SVG");
	svg s = {.text = text, .len = len};
	parse(&s);
	cr_assert_not_null(find(&s, "a&b<c>\"d\"", 0));
	s.text = NULL;
	svg_free(&s);
	free(text);

	/* options land in the title, comments, style and script: keep those well formed */
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "title", "<b>&\"title\"</b>"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "subtitle", "sub]]>title"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "notes", "a -- b <c> -"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "countname", "\"quoted\" </script> ]]>"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "nametype", "F\\n'x'"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "fonttype", "x;}</style>"), PS_EFORMAT);
	cr_assert_eq(ps_flame_opt_set(&o, "searchcolor", "red\"</script>"), PS_EFORMAT);
	text = render(p, &o, &len);
	cr_assert(strstr(text, "&lt;b&gt;&amp;&quot;title&quot;&lt;/b&gt;"));
	cr_assert_null(strstr(text, "a -- b"));
	ok = xmllint_ok(text, len);
	if (ok >= 0)
		cr_assert_eq(ok, 1, "xmllint rejects the SVG with hostile options");
	free(text);
	ps_profile_free(p);
}

Test(flame, long_names_are_truncated_in_labels)
{
	ps_profile *p = folded("a;a_rather_long_function_name_that_cannot_fit 1\nb 99\n", 0);
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	svg s = render_parse(p, &o);
	const frame *f = find(&s, "a_rather_long_function_name_that_cannot_fit", 0);
	cr_assert_not_null(f);
	/* 11.8 px / (12 * 0.59) = 1 char: too narrow for a label */
	cr_assert_str_eq(f->label, "");
	cr_assert_str_eq(find(&s, "b", 0)->label, "b");
	svg_free(&s);
	ps_profile_free(p);
	p = folded("a;a_rather_long_function_name_that_cannot_fit 10\nb 90\n", 0);
	s = render_parse(p, &o);
	f = find(&s, "a_rather_long_function_name_that_cannot_fit", 0);
	/* 118 px fit 16 chars: 14 of the name and ".." */
	cr_assert_str_eq(f->label, "a_rather_long_..");
	svg_free(&s);
	ps_profile_free(p);
}

Test(flame, empty_profile_says_no_samples)
{
	ps_profile *p = ps_profile_new(0);
	size_t len;
	char *text = render(p, NULL, &len);
	cr_assert(strstr(text, "no samples"));
	cr_assert(strstr(text, "<svg"));
	cr_assert(strstr(text, "</svg>"));
	int ok = xmllint_ok(text, len);
	if (ok >= 0)
		cr_assert_eq(ok, 1);
	free(text);
	/* zero counts are no samples either */
	cr_assert_eq(ps_profile_add_folded(p, "a;b", 3, 0, 0), 0);
	text = render(p, NULL, &len);
	cr_assert(strstr(text, "no samples"));
	free(text);
	ps_profile_free(p);
}

/* ---- determinism and colours ---- */

Test(flame, output_is_deterministic_and_order_independent)
{
	ps_profile *p = folded("x;y;z 4\na;b 2\nq 9\na;c;d 1\n", 0);
	ps_profile *q = folded("a;c;d 1\nq 9\na;b 2\nx;y;z 4\n", 0);
	size_t l1, l2, l3;
	char *t1 = render(p, NULL, &l1), *t2 = render(p, NULL, &l2), *t3 = render(q, NULL, &l3);
	cr_assert_eq(l1, l2);
	cr_assert_eq(memcmp(t1, t2, l1), 0, "two runs differ");
	cr_assert_eq(l1, l3);
	cr_assert_eq(memcmp(t1, t3, l1), 0, "input order changes the output");
	free(t1);
	free(t2);
	free(t3);
	ps_profile_free(p);
	ps_profile_free(q);
}

Test(flame, colours_are_stable_per_name)
{
	ps_profile *p = folded("a;f;g 5\nb;g 3\nc;f 2\n", 0);
	svg s = render_parse(p, NULL);
	cr_assert_str_eq(find(&s, "g", 0)->fill, find(&s, "g", 1)->fill);
	cr_assert_str_eq(find(&s, "f", 0)->fill, find(&s, "f", 1)->fill);
	/* hot palette: red 205..255, green 0..230, blue 0..55 */
	unsigned r, g, b;
	cr_assert_eq(sscanf(find(&s, "f", 0)->fill, "#%2x%2x%2x", &r, &g, &b), 3);
	cr_assert(r >= 205 && g <= 230 && b <= 55);
	svg_free(&s);

	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "colors", "java"), 0);
	ps_profile *j = folded("java;java/lang/Thread.run 5\njava;Interpreter 3\n"
			       "java;sys_read_[k] 1\njava;foo_[j] 1\n",
			       0);
	s = render_parse(j, &o);
	cr_assert_eq(sscanf(find(&s, "java/lang/Thread.run", 0)->fill, "#%2x%2x%2x", &r, &g, &b),
		     3);
	cr_assert(g >= 200 && r < 120, "java frames are green");
	cr_assert_eq(sscanf(find(&s, "sys_read", 0)->fill, "#%2x%2x%2x", &r, &g, &b), 3);
	cr_assert(b == 0 && r >= 190, "kernel frames are orange, annotation stripped");
	svg_free(&s);
	ps_profile_free(j);
	ps_profile_free(p);
}

Test(flame, differential_colours_and_widths)
{
	/* before, after: grow grew, shrink shrank, same stayed */
	ps_profile *p = folded("m;grow 10 30\nm;shrink 30 10\nm;same 20 20\n", 0);
	cr_assert(ps_profile_is_diff(p));
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	svg s = render_parse(p, &o);
	const frame *gr = find(&s, "grow", 0), *sh = find(&s, "shrink", 0),
		    *sa = find(&s, "same", 0);
	cr_assert_eq(gr->samples, 30, "widths from the second column");
	cr_assert_eq(sh->samples, 10);
	cr_assert_float_eq(gr->w, 1180.0 * 30 / 60, 0.051);
	cr_assert_str_eq(gr->fill, "#ff0000");
	cr_assert_str_eq(sh->fill, "#0000ff");
	cr_assert_str_eq(sa->fill, "#ffffff");
	cr_assert(strstr(s.text, "grow (30 samples, 50.00%; +33.33%)"));
	svg_free(&s);
	cr_assert_eq(ps_flame_opt_set(&o, "negate", NULL), 0);
	s = render_parse(p, &o);
	cr_assert_str_eq(find(&s, "grow", 0)->fill, "#0000ff");
	cr_assert_str_eq(find(&s, "shrink", 0)->fill, "#ff0000");
	svg_free(&s);
	ps_profile_free(p);
}

/* ---- options ---- */

Test(flame, options_by_name)
{
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(o.width, 1200);
	cr_assert_eq(o.height, 16);
	cr_assert_float_eq(o.minwidth, 0.1, 1e-12);
	cr_assert_str_eq(o.countname, "samples");
	cr_assert_str_eq(o.nametype, "Function:");
	cr_assert_str_eq(o.fonttype, "Verdana");
	cr_assert_eq(ps_flame_opt_set(&o, "width", "800"), 0);
	cr_assert_eq(o.width, 800);
	cr_assert_eq(ps_flame_opt_set(&o, "width", "wide"), PS_EFORMAT);
	cr_assert_eq(ps_flame_opt_set(&o, "width", "-5"), PS_EFORMAT);
	cr_assert_eq(ps_flame_opt_set(&o, "minwidth", "1.5%"), 0);
	cr_assert(o.minwidth_pct);
	cr_assert_eq(ps_flame_opt_set(&o, "minwidth", "x%"), PS_EFORMAT);
	cr_assert_eq(ps_flame_opt_set(&o, "colors", "mem"), 0);
	cr_assert_eq(o.colors, PS_FLAME_MEM);
	cr_assert_eq(ps_flame_opt_set(&o, "colors", "rainbow"), PS_EFORMAT);
	cr_assert_eq(ps_flame_opt_set(&o, "bgcolors", "#12ab3F"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "bgcolors", "#12ab3"), PS_EFORMAT);
	cr_assert_eq(ps_flame_opt_set(&o, "hash", "yes"), -EINVAL, "a flag takes no value");
	cr_assert_eq(ps_flame_opt_set(&o, "title", NULL), -EINVAL, "title needs a value");
	cr_assert_eq(ps_flame_opt_set(&o, "no-such-option", "1"), -EINVAL);
	/* every option in the table is accepted, with a value exactly when it says so */
	int n = 0;
	for (const ps_flame_optdef *d = ps_flame_optdefs; d->name; d++, n++) {
		ps_flame_opts_init(&o);
		const char *v = !strcmp(d->name, "colors")	  ? "io"
				: !strcmp(d->name, "bgcolors")	  ? "grey"
				: !strcmp(d->name, "fonttype")	  ? "Courier"
				: !strcmp(d->name, "searchcolor") ? "rgb(1,2,3)"
								  : "10";
		cr_assert_eq(ps_flame_opt_set(&o, d->name, d->takes_value ? v : NULL), 0, "%s",
			     d->name);
		cr_assert_not_null(d->help);
	}
	cr_assert_geq(n, 20);
}

Test(flame, the_image_follows_the_options)
{
	ps_profile *p = folded("a;b 1\n", 0);
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "width", "500"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "height", "20"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "countname", "bytes"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "title", "My Title"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "colors", "blue"), 0);
	cr_assert_eq(ps_flame_opt_set(&o, "ignorecase", NULL), 0);
	svg s = render_parse(p, &o);
	cr_assert(strstr(s.text, "width=\"500\""));
	cr_assert(strstr(s.text, ">My Title</text>"));
	cr_assert(strstr(s.text, "b (1 bytes, 100.00%)"));
	cr_assert(strstr(s.text, "ignorecase: true"));
	cr_assert(strstr(s.text, "#f8f8f8"), "flat palettes get the grey background");
	cr_assert_float_eq(find(&s, "all", 0)->w, 480, 0.001);
	cr_assert_float_eq(find(&s, "a", 0)->y - find(&s, "b", 0)->y, 20, 0.001);
	unsigned r, g, b;
	cr_assert_eq(sscanf(find(&s, "b", 0)->fill, "#%2x%2x%2x", &r, &g, &b), 3);
	cr_assert(b >= 205 && r == g);
	svg_free(&s);
	ps_profile_free(p);
}

/* ---- size ---- */

Test(flame, big_profiles_stay_compact)
{
	/* 1M samples over 200k distinct stacks: the frames under minwidth go */
	ps_profile *p = ps_profile_new(0);
	char buf[256];
	unsigned long long total = 0;
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		int len = snprintf(buf, sizeof(buf), "app;main;loop%d;work%d;step%d;leaf%d", i % 7,
				   i % 97, i % 1009, i);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t c = 1 + x % 9;
		total += c;
		cr_assert_eq(ps_profile_add_folded(p, buf, (size_t)len, c, 0), 0);
	}
	cr_assert_gt(total, 900000);
	size_t len;
	char *text = render(p, NULL, &len);
	cr_assert_lt(len, 4u << 20, "SVG of %zu bytes", len);
	svg s = {.text = text, .len = len};
	parse(&s);
	cr_assert_gt(s.n, 600); /* all, app, main, loop*, work* */
	check_nesting(&s);
	s.text = NULL;
	svg_free(&s);
	free(text);
	ps_profile_free(p);
}

/* ---- the model: frames, value columns, kinds ---- */

static ps_frame_id frame_of(ps_profile *p, const char *name, uint64_t addr, ps_frame_kind kind)
{
	ps_frame f = {.name = name, .addr = addr, .kind = (uint8_t)kind};
	ps_frame_id id;
	cr_assert_eq(ps_profile_frame(p, &f, &id), 0);
	return id;
}

/* Adds one sample of the stack fs[0..n) (root first) with one value per column. */
static void add_stack(ps_profile *p, const ps_frame_id *fs, size_t n, const uint64_t *values)
{
	ps_node_id node;
	cr_assert_eq(ps_profile_stack(p, fs, n, &node), 0);
	ps_profile_sample s = {.node = node};
	cr_assert_eq(ps_profile_add_sample(p, &s, values), 0);
}

Test(flame, frames_with_one_label_merge_into_one_box)
{
	/* Address-level frames: two frames of "work" (two addresses) under one caller, each
	 * calling "leaf". They are one box, as the same stacks in folded text are. */
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id m = frame_of(p, "main", 0, PS_FRAME_USER);
	ps_frame_id w1 = frame_of(p, "work", 0x10, PS_FRAME_USER);
	ps_frame_id w2 = frame_of(p, "work", 0x20, PS_FRAME_USER);
	ps_frame_id l1 = frame_of(p, "leaf", 0x30, PS_FRAME_USER);
	ps_frame_id l2 = frame_of(p, "leaf", 0x38, PS_FRAME_USER);
	ps_frame_id o = frame_of(p, "other", 0x40, PS_FRAME_USER);
	cr_assert_neq(w1, w2);
	add_stack(p, (ps_frame_id[]){m, w1, l1}, 3, (uint64_t[]){3});
	add_stack(p, (ps_frame_id[]){m, w2, l2}, 3, (uint64_t[]){2});
	add_stack(p, (ps_frame_id[]){m, w2}, 2, (uint64_t[]){4});
	add_stack(p, (ps_frame_id[]){m, o}, 2, (uint64_t[]){1});
	svg s = render_parse(p, NULL);
	cr_assert_eq(count_named(&s, "work"), 1);
	cr_assert_eq(count_named(&s, "leaf"), 1);
	cr_assert_eq(find(&s, "work", 0)->samples, 9);
	cr_assert_eq(find(&s, "leaf", 0)->samples, 5);
	cr_assert_str_eq(s.f[find(&s, "leaf", 0)->parent].name, "work");
	/* the same picture, byte for byte, as from the folded text of those stacks */
	ps_profile *q = folded("main;work;leaf 5\nmain;work 4\nmain;other 1\n", 0);
	size_t len;
	char *text = render(q, NULL, &len);
	cr_assert_eq(len, s.len);
	cr_assert_eq(memcmp(text, s.text, len), 0, "the trie and the folded text draw differently");
	free(text);
	svg_free(&s);
	ps_profile_free(q);
	ps_profile_free(p);

	/* a flame chart merges such frames when they are neighbours, and only then */
	p = ps_profile_new(PS_PROFILE_SAMPLES);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	m = frame_of(p, "main", 0, PS_FRAME_USER);
	w1 = frame_of(p, "work", 0x10, PS_FRAME_USER);
	w2 = frame_of(p, "work", 0x20, PS_FRAME_USER);
	o = frame_of(p, "other", 0x40, PS_FRAME_USER);
	add_stack(p, (ps_frame_id[]){m, w1}, 2, (uint64_t[]){1});
	add_stack(p, (ps_frame_id[]){m, w2}, 2, (uint64_t[]){1});
	add_stack(p, (ps_frame_id[]){m, w1}, 2, (uint64_t[]){1});
	add_stack(p, (ps_frame_id[]){m, o}, 2, (uint64_t[]){1});
	add_stack(p, (ps_frame_id[]){m, w2}, 2, (uint64_t[]){1});
	ps_flame_opts fo;
	ps_flame_opts_init(&fo);
	fo.flamechart = 1;
	s = render_parse(p, &fo);
	cr_assert_eq(count_named(&s, "main"), 1);
	cr_assert_eq(count_named(&s, "work"), 2);
	cr_assert_eq(find(&s, "work", 0)->samples, 3);
	cr_assert_eq(find(&s, "work", 1)->samples, 1);
	cr_assert_lt(find(&s, "work", 0)->x, find(&s, "other", 0)->x);
	cr_assert_lt(find(&s, "other", 0)->x, find(&s, "work", 1)->x);
	svg_free(&s);
	ps_profile_free(p);
}

Test(flame, trailing_empty_frames_end_a_stack_early)
{
	/* Perl's split(";") drops trailing empty fields: "a;b;" is the stack "a;b" */
	ps_profile *p = folded("a;b 2\na;b; 3\nx;;y 1\n", 0);
	svg s = render_parse(p, NULL);
	cr_assert_eq(count_named(&s, "b"), 1);
	cr_assert_eq(find(&s, "b", 0)->samples, 5);
	cr_assert_eq(count_named(&s, ""), 1, "an empty frame inside a stack stays");
	cr_assert_str_eq(s.f[find(&s, "y", 0)->parent].name, "");
	svg_free(&s);
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	o.reverse = 1;
	s = render_parse(p, &o);
	cr_assert_eq(count_named(&s, "b"), 1);
	cr_assert_str_eq(s.f[find(&s, "b", 0)->parent].name, "all");
	svg_free(&s);
	ps_profile_free(p);
}

Test(flame, the_value_column_is_a_choice)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	cr_assert_eq(ps_profile_add_type(p, "cpu", "nanoseconds"), 1);
	ps_frame_id a = frame_of(p, "a", 0, PS_FRAME_USER), b = frame_of(p, "b", 0, PS_FRAME_USER),
		    c = frame_of(p, "c", 0, PS_FRAME_USER);
	add_stack(p, (ps_frame_id[]){a, b}, 2, (uint64_t[]){1, 3000});
	add_stack(p, (ps_frame_id[]){a, c}, 2, (uint64_t[]){3, 1000});
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	svg s = render_parse(p, &o);
	cr_assert_eq(find(&s, "b", 0)->samples, 1);
	cr_assert(strstr(s.text, "c (3 samples, 75.00%)"));
	cr_assert(strstr(s.text, "countname: \"samples\""));
	svg_free(&s);

	/* column 1: its widths, and its unit names the counts */
	o.column = 1;
	s = render_parse(p, &o);
	cr_assert_eq(find(&s, "b", 0)->samples, 3000);
	cr_assert(strstr(s.text, "b (3,000 nanoseconds, 75.00%)"));
	cr_assert(strstr(s.text, "countname: \"nanoseconds\""));
	cr_assert_float_eq(find(&s, "b", 0)->w, 1180.0 * 3 / 4, 0.051);
	svg_free(&s);

	/* a countname given wins */
	cr_assert_eq(ps_flame_opt_set(&o, "countname", "ns"), 0);
	s = render_parse(p, &o);
	cr_assert(strstr(s.text, "b (3,000 ns, 75.00%)"));
	svg_free(&s);

	o.column = 2;
	FILE *m = fopen("/dev/null", "w");
	cr_assert_eq(ps_flame_render(p, &o, m), -EINVAL, "no column 2");
	fclose(m);
	ps_profile_free(p);
}

static void rgb_of(const frame *f, unsigned *r, unsigned *g, unsigned *b)
{
	cr_assert_not_null(f);
	cr_assert_eq(sscanf(f->fill, "#%2x%2x%2x", r, g, b), 3);
}

Test(flame, kernel_jit_and_inline_frames_have_their_colours)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id m = frame_of(p, "main", 0, PS_FRAME_USER);
	ps_frame_id k = frame_of(p, "sys_read", 0, PS_FRAME_KERNEL);
	ps_frame_id j = frame_of(p, "LFoo;::bar", 0, PS_FRAME_JIT);
	ps_frame_id i = frame_of(p, "inlined", 0, PS_FRAME_INLINE);
	ps_frame_id du = frame_of(p, "dup", 0, PS_FRAME_USER);
	ps_frame_id dk = frame_of(p, "dup", 0, PS_FRAME_KERNEL);
	add_stack(p, (ps_frame_id[]){m, k}, 2, (uint64_t[]){5});
	add_stack(p, (ps_frame_id[]){m, j}, 2, (uint64_t[]){5});
	add_stack(p, (ps_frame_id[]){m, i}, 2, (uint64_t[]){5});
	add_stack(p, (ps_frame_id[]){m, du}, 2, (uint64_t[]){5});
	add_stack(p, (ps_frame_id[]){m, k, dk}, 3, (uint64_t[]){5});
	/* what the same names get as plain text (folded input knows no kinds) */
	ps_profile *q = folded("main;sys_read 5\nmain;LFoo:::bar 5\nmain;inlined 5\nmain;dup 5\n"
			       "main;sys_read_[k] 5\n",
			       0);
	svg plain = render_parse(q, NULL);
	svg s = render_parse(p, NULL);
	unsigned r, g, b;
	rgb_of(find(&s, "sys_read", 0), &r, &g, &b);
	cr_assert(b == 0 && r - g == 100, "kernel: orange, not %s", find(&s, "sys_read", 0)->fill);
	rgb_of(find(&s, "LFoo:::bar", 0), &r, &g, &b);
	cr_assert(r == b && g >= 200 && r <= 110, "JIT: green, not #%02x%02x%02x", r, g, b);
	rgb_of(find(&s, "inlined", 0), &r, &g, &b);
	cr_assert(g == b && g >= 165 && r <= 110, "inline: aqua, not #%02x%02x%02x", r, g, b);
	cr_assert_str_eq(find(&s, "main", 0)->fill, find(&plain, "main", 0)->fill);
	/* frames of one label but different kinds: no kind to show */
	cr_assert_eq(count_named(&s, "dup"), 2);
	for (int n = 0; n < 2; n++)
		cr_assert_str_eq(find(&s, "dup", n)->fill, find(&plain, "dup", 0)->fill);
	svg_free(&s);

	/* an annotated name ("_[k]", stackcollapse-perf --kernel) keeps flamegraph.pl's hot */
	ps_label_opts lo = {.flags = PS_LABEL_KERNEL};
	ps_profile_set_labels(p, &lo);
	s = render_parse(p, NULL);
	const frame *sk = find(&s, "sys_read", 0);
	cr_assert_str_eq(sk->fill, find(&plain, "sys_read", 1)->fill);
	svg_free(&s);

	/* other palettes are flamegraph.pl's, by name only */
	ps_profile_set_labels(p, &(ps_label_opts){0});
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	cr_assert_eq(ps_flame_opt_set(&o, "colors", "java"), 0);
	s = render_parse(p, &o);
	svg_free(&plain);
	plain = render_parse(q, &o);
	cr_assert_str_eq(find(&s, "sys_read", 0)->fill, find(&plain, "sys_read", 0)->fill);
	svg_free(&s);
	svg_free(&plain);
	ps_profile_free(q);
	ps_profile_free(p);
}
