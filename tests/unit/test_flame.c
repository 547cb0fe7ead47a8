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
		cr_assert(paren && paren > title + 1 && paren[-1] == ' ', "title %s", title);
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
	"perf-cycles-instructions-01", "perf-dd-stacks-01", "perf-funcab-cmd-01",
	"perf-funcab-pid-01", "perf-iperf-stacks-pidtid-01", "perf-java-faults-01",
	"perf-java-stacks-01", "perf-mirageos-stacks-01", "perf-vertx-stacks-01",
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
