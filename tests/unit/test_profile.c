#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"

static char *folded_text(ps_profile *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	cr_assert_eq(ps_profile_write_folded(p, 0, m), 0);
	fclose(m);
	return text;
}

static size_t nstacks(ps_profile *p)
{
	char *t = folded_text(p);
	size_t n = 0;
	for (char *c = t; *c; c++)
		n += *c == '\n';
	free(t);
	return n;
}

Test(profile, merges_and_sorts)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	cr_assert_eq(ps_profile_add_folded(p, "a;b;c", 5, 3, 0), 0);
	cr_assert_eq(ps_profile_add_folded(p, "a;b", 3, 1, 0), 0);
	cr_assert_eq(ps_profile_add_folded(p, "a;b;c", 5, 2, 0), 0);
	cr_assert_eq(ps_profile_add_folded(p, "a;a", 3, 7, 0), 0);
	char *t = folded_text(p);
	cr_assert_str_eq(t, "a;a 7\na;b 1\na;b;c 5\n");
	free(t);
	cr_assert_eq(ps_profile_total(p, 0), 13);
	/* adding after writing still merges */
	cr_assert_eq(ps_profile_add_folded(p, "a;b", 3, 1, 0), 0);
	t = folded_text(p);
	cr_assert_str_eq(t, "a;a 7\na;b 2\na;b;c 5\n");
	free(t);
	ps_profile_free(p);
}

Test(profile, many_stacks_grow_the_index)
{
	ps_profile *p = ps_profile_new(0);
	char buf[32];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			int len = snprintf(buf, sizeof(buf), "x;f%d", i);
			cr_assert_eq(ps_profile_add_folded(p, buf, (size_t)len, 1, 0), 0);
		}
	cr_assert_eq(ps_profile_nnodes(p), 5002, "root, x and 5000 leaves");
	char *t = folded_text(p), *prev = NULL;
	size_t n = 0;
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), n++) {
		cr_assert(strlen(line) > 2 && !strcmp(line + strlen(line) - 2, " 2"), "%s", line);
		if (prev)
			cr_assert_lt(strcmp(prev, line), 0);
		prev = line;
	}
	cr_assert_eq(n, 5000);
	free(t);
	ps_profile_free(p);
}

Test(profile, samples_keep_the_order_they_came_in)
{
	ps_profile *p = ps_profile_new(PS_PROFILE_SAMPLES);
	ps_profile_add_folded(p, "m;b", 3, 1, 0);
	ps_profile_add_folded(p, "m;b", 3, 1, 0);
	ps_profile_add_folded(p, "m;a", 3, 1, 0);
	ps_profile_add_folded(p, "m;b", 3, 1, 0);
	cr_assert_eq(ps_profile_nsamples(p), 4);
	ps_node_id b = ps_profile_sample_at(p, 0)->node;
	cr_assert_eq(ps_profile_sample_at(p, 1)->node, b);
	cr_assert_neq(ps_profile_sample_at(p, 2)->node, b);
	cr_assert_eq(ps_profile_sample_at(p, 3)->node, b);
	cr_assert_eq(ps_profile_node_self(p, b, 0), 3);
	ps_profile_free(p);
}

Test(folded, parse_line)
{
	size_t sl;
	uint64_t c, c2;
	int has2;
	const char *why;
	cr_assert_eq(ps_folded_parse_line("a;b 12", 6, &sl, &c, &c2, &has2, &why), 0);
	cr_assert_eq(sl, 3);
	cr_assert_eq(c, 12);
	cr_assert_eq(has2, 0);
	cr_assert_eq(ps_folded_parse_line("a b;c 4 9", 9, &sl, &c, &c2, &has2, &why), 0);
	cr_assert_eq(sl, 5);
	cr_assert_eq(has2, 1);
	cr_assert_eq(c, 4);
	cr_assert_eq(c2, 9);
	cr_assert_eq(ps_folded_parse_line("a;b 2.5", 7, &sl, &c, &c2, &has2, &why), 0);
	cr_assert_eq(c, 2);
	cr_assert_eq(ps_folded_parse_line("a;b", 3, &sl, &c, &c2, &has2, &why), PS_EFORMAT);
	cr_assert_str_eq(why, "no sample count");
	cr_assert_eq(ps_folded_parse_line("a;b -3", 6, &sl, &c, &c2, &has2, &why), PS_EFORMAT);
	cr_assert_str_eq(why, "negative sample count");
	cr_assert_eq(ps_folded_parse_line("a;b x3", 6, &sl, &c, &c2, &has2, &why), PS_EFORMAT);
	cr_assert_eq(ps_folded_parse_line(" 3", 2, &sl, &c, &c2, &has2, &why), PS_EFORMAT);
	cr_assert_str_eq(why, "empty stack");
	/* Past 2^63-1 is not "malformed": the read stops there, naming the line. */
	cr_assert_eq(ps_folded_parse_line("a 99999999999999999999999", 25, &sl, &c, &c2, &has2,
					  &why),
		     PS_ELIMIT);
	cr_assert_eq(ps_folded_parse_line("a 9223372036854775808", 21, &sl, &c, &c2, &has2, &why),
		     PS_ELIMIT);
	cr_assert_eq(ps_folded_parse_line("a 9223372036854775807", 21, &sl, &c, &c2, &has2, &why),
		     0);
	/* A frame that starts with many digits is a frame, not a count too large: the stack
	 * "a;b 99999999999999999999x;c" with count 5 (found by fuzzing the dtrace reader). */
	static const char digits[] = "a;b 99999999999999999999x;c 5";
	cr_assert_eq(ps_folded_parse_line(digits, sizeof(digits) - 1, &sl, &c, &c2, &has2, &why),
		     0);
	cr_assert_eq(c, 5);
	cr_assert_eq(has2, 0);
	cr_assert_eq(sl, sizeof(digits) - 3);
}

struct warns {
	size_t n;
	size_t lines[8];
};
static void count_warn(void *ctx, size_t lineno, const char *reason, int fatal)
{
	struct warns *w = ctx;
	if (w->n < 8)
		w->lines[w->n] = lineno;
	w->n++;
}

Test(folded, read_skips_bad_lines_with_line_numbers)
{
	const char text[] = "a;b 3\nbad\n\na;c 2\na;b 1\nx -1\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	ps_profile *p = ps_profile_new(0);
	struct warns w = {0};
	cr_assert_eq(ps_profile_read_folded(p, f, 0, count_warn, &w), 0);
	cr_assert_eq(w.n, 2);
	cr_assert_eq(w.lines[0], 2);
	cr_assert_eq(w.lines[1], 6);
	cr_assert_eq(nstacks(p), 2);
	cr_assert_eq(ps_profile_total(p, 0), 6);
	fclose(f);
	ps_profile_free(p);

	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	p = ps_profile_new(0);
	cr_assert_eq(ps_profile_read_folded(p, f, PS_FOLDED_STRICT, NULL, NULL), PS_EFORMAT);
	fclose(f);
	ps_profile_free(p);
}

Test(folded, write_round_trip)
{
	ps_profile *p = ps_profile_new(0);
	ps_profile_add_folded(p, "z;y", 3, 5, 0);
	ps_profile_add_folded(p, "a", 1, 1, 0);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cr_assert_eq(ps_profile_write_folded(p, 0, f), 0);
	fclose(f);
	cr_assert_str_eq(out, "a 1\nz;y 5\n");
	free(out);
	ps_profile_free(p);
}

/* ---- the model itself ---- */

static int upper(void *ctx, const char *name, ps_buf *out)
{
	(void)ctx;
	if (strncmp(name, "_Z", 2))
		return 0;
	for (const char *c = name + 2; *c; c++)
		if (ps_buf_add(out, &(char){(char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c)}, 1))
			return -1;
	return 1;
}

Test(model, frames_intern_by_every_field)
{
	ps_profile *p = ps_profile_new(0);
	uint32_t m1, m2, m3;
	ps_mapping lib = {"/lib/libc.so.6", "abcd", 0x1000, 0x9000, 0};
	cr_assert_eq(ps_profile_mapping(p, &lib, &m1), 0);
	cr_assert_eq(ps_profile_mapping(p, &lib, &m2), 0);
	cr_assert_eq(m1, m2);
	cr_assert_eq(m1, 1, "mapping ids start at 1");
	lib.start = 0x2000;
	cr_assert_eq(ps_profile_mapping(p, &lib, &m3), 0);
	cr_assert_neq(m1, m3);
	cr_assert_eq(ps_profile_nmappings(p), 2);
	cr_assert_str_eq(ps_profile_mapping_at(p, m1)->build_id, "abcd");
	cr_assert_null(ps_profile_mapping_at(p, 0));

	ps_frame f = {.name = "_Zfoo", .file = "a.c", .line = 3, .addr = 0x1234,
		      .mapping = m1, .kind = PS_FRAME_USER};
	ps_frame_id a, b, c;
	cr_assert_eq(ps_profile_frame(p, &f, &a), 0);
	cr_assert_eq(ps_profile_frame(p, &f, &b), 0);
	cr_assert_eq(a, b);
	f.line = 4;
	cr_assert_eq(ps_profile_frame(p, &f, &c), 0);
	cr_assert_neq(a, c);
	f.mapping = 99;
	cr_assert_eq(ps_profile_frame(p, &f, &c), -EINVAL, "an unknown mapping is refused");
	const ps_frame *got = ps_profile_frame_at(p, a);
	cr_assert_str_eq(got->name, "_Zfoo");
	cr_assert_eq(got->mapping, m1);
	cr_assert_eq(got->line, 3);
	ps_profile_free(p);
}

Test(model, labels_demangle_annotate_and_escape)
{
	ps_profile *p = ps_profile_new(0);
	ps_frame_id k, u, un, inl, text;
	ps_frame f = {.name = "_Zfoo", .file = "/src/a.c", .line = 7, .kind = PS_FRAME_USER};
	cr_assert_eq(ps_profile_frame(p, &f, &u), 0);
	f = (ps_frame){.name = "schedule", .kind = PS_FRAME_KERNEL};
	cr_assert_eq(ps_profile_frame(p, &f, &k), 0);
	f = (ps_frame){.name = "_Zbar", .kind = PS_FRAME_INLINE};
	cr_assert_eq(ps_profile_frame(p, &f, &inl), 0);
	f = (ps_frame){.name = "[lib;x\n.so]", .kind = PS_FRAME_USER, .unresolved = 1};
	cr_assert_eq(ps_profile_frame(p, &f, &un), 0);
	cr_assert_eq(ps_profile_frame_named(p, "_Ztext", 6, PS_FRAME_UNKNOWN, &text), 0);

	cr_assert_str_eq(ps_profile_label(p, u, NULL), "_Zfoo", "no demangler: as spelled");
	ps_label_opts lo = {PS_LABEL_KERNEL | PS_LABEL_INLINE | PS_LABEL_LINES, upper, NULL};
	ps_profile_set_labels(p, &lo);
	size_t len;
	cr_assert_str_eq(ps_profile_label(p, u, &len), "FOO [a.c:7]");
	cr_assert_eq(len, 11);
	cr_assert_str_eq(ps_profile_label(p, k, NULL), "schedule_[k]");
	cr_assert_str_eq(ps_profile_label(p, inl, NULL), "BAR_[i]");
	cr_assert_str_eq(ps_profile_label(p, un, NULL), "[lib:x?.so]", "escaped, not demangled");
	cr_assert_str_eq(ps_profile_label(p, text, NULL), "_Ztext", "folded text stays text");
	cr_assert_null(ps_profile_label(p, 1000, NULL));
	ps_profile_free(p);
}

Test(model, names_demangle_without_annotations_or_escaping)
{
	ps_profile *p = ps_profile_new(0);
	ps_frame_id u, k, un, text;
	ps_frame f = {.name = "_Zfoo", .file = "/src/a.c", .line = 7, .kind = PS_FRAME_USER};
	cr_assert_eq(ps_profile_frame(p, &f, &u), 0);
	f = (ps_frame){.name = "schedule", .kind = PS_FRAME_KERNEL};
	cr_assert_eq(ps_profile_frame(p, &f, &k), 0);
	f = (ps_frame){.name = "[lib;x\n.so]", .kind = PS_FRAME_USER, .unresolved = 1};
	cr_assert_eq(ps_profile_frame(p, &f, &un), 0);
	cr_assert_eq(ps_profile_frame_named(p, "_Ztext", 6, PS_FRAME_UNKNOWN, &text), 0);
	ps_label_opts lo = {PS_LABEL_KERNEL | PS_LABEL_LINES, upper, NULL};
	ps_profile_set_labels(p, &lo);
	ps_buf b = {0};
	cr_assert_eq(ps_profile_name(p, u, &b), 0);
	cr_assert_eq(ps_buf_add(&b, "|", 1), 0);
	cr_assert_eq(ps_profile_name(p, k, &b), 0);
	cr_assert_eq(ps_buf_add(&b, "|", 1), 0);
	cr_assert_eq(ps_profile_name(p, un, &b), 0);
	cr_assert_eq(ps_buf_add(&b, "|", 1), 0);
	cr_assert_eq(ps_profile_name(p, text, &b), 0);
	cr_assert_eq(ps_buf_add(&b, "", 1), 0);
	cr_assert_str_eq(b.data, "FOO|schedule|[lib;x\n.so]|_Ztext");
	cr_assert_eq(ps_profile_name(p, 1000, &b), -EINVAL);
	ps_buf_release(&b);
	ps_profile_free(p);
}

Test(model, trie_values_totals_and_paths)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_add_type(p, "samples", "count"), 0);
	cr_assert_eq(ps_profile_add_type(p, "cpu", "nanoseconds"), 1);
	cr_assert_eq(ps_profile_find_type(p, "cpu"), 1);
	cr_assert_eq(ps_profile_find_type(p, "heap"), -1);
	ps_frame_id m, a, b;
	ps_profile_frame_named(p, "main", 4, PS_FRAME_USER, &m);
	ps_profile_frame_named(p, "a", 1, PS_FRAME_USER, &a);
	ps_profile_frame_named(p, "b", 1, PS_FRAME_USER, &b);
	ps_node_id ma, mab, mb, again;
	cr_assert_eq(ps_profile_stack(p, (ps_frame_id[]){m, a}, 2, &ma), 0);
	cr_assert_eq(ps_profile_stack(p, (ps_frame_id[]){m, a, b}, 3, &mab), 0);
	cr_assert_eq(ps_profile_stack(p, (ps_frame_id[]){m, b}, 2, &mb), 0);
	cr_assert_eq(ps_profile_stack(p, (ps_frame_id[]){m, a}, 2, &again), 0);
	cr_assert_eq(ma, again);
	cr_assert_eq(ps_profile_nnodes(p), 5);
	cr_assert_eq(ps_profile_add_value(p, ma, 0, 2), 0);
	cr_assert_eq(ps_profile_add_value(p, mab, 0, 3), 0);
	cr_assert_eq(ps_profile_add_value(p, mb, 1, 1000), 0);
	cr_assert_eq(ps_profile_add_value(p, mb, 2, 1), -EINVAL, "no such column");
	cr_assert_eq(ps_profile_total(p, 0), 5);
	cr_assert_eq(ps_profile_total(p, 1), 1000);
	uint64_t *t = ps_profile_node_totals(p, 0);
	cr_assert_eq(t[PS_NODE_ROOT], 5);
	cr_assert_eq(t[ma], 5);
	cr_assert_eq(t[mab], 3);
	cr_assert_eq(t[mb], 0);
	free(t);
	ps_node_id top = ps_profile_node_child(p, PS_NODE_ROOT);
	cr_assert_eq(ps_profile_node_frame(p, top), m);
	cr_assert_eq(ps_profile_node_child(p, top), ma, "children in creation order");
	cr_assert_eq(ps_profile_node_next(p, ma), mb);
	cr_assert_eq(ps_profile_node_next(p, mb), PS_NODE_ROOT);
	cr_assert_eq(ps_profile_node_parent(p, mab), ma);
	cr_assert_eq(ps_profile_node_depth(p, mab), 3);
	ps_frame_id path[8];
	cr_assert_eq(ps_profile_node_path(p, mab, path, 8), 3);
	cr_assert_eq(path[0], m);
	cr_assert_eq(path[2], b);
	/* Overflow is an error, never a wrapped count. */
	cr_assert_eq(ps_profile_add_value(p, mb, 0, (uint64_t)INT64_MAX), PS_ELIMIT);
	cr_assert_eq(ps_profile_total(p, 0), 5, "a refused value changes nothing");
	ps_profile_free(p);
}

Test(model, samples_keep_order_and_sort_by_time)
{
	ps_profile *p = ps_profile_new(PS_PROFILE_SAMPLES);
	ps_profile_add_type(p, "samples", "count");
	ps_frame_id x, y;
	ps_profile_frame_named(p, "x", 1, PS_FRAME_USER, &x);
	ps_profile_frame_named(p, "y", 1, PS_FRAME_USER, &y);
	ps_node_id nx, ny;
	ps_profile_stack(p, &x, 1, &nx);
	ps_profile_stack(p, &y, 1, &ny);
	uint64_t one = 1;
	cr_assert_eq(ps_profile_add_sample(p, &(ps_profile_sample){30, 1, 1, nx, 0}, &one), 0);
	cr_assert_eq(ps_profile_add_sample(p, &(ps_profile_sample){10, 1, 2, ny, 0}, &one), 0);
	cr_assert_eq(ps_profile_add_sample(p, &(ps_profile_sample){10, 1, 3, nx, 0}, &one), 0);
	cr_assert_eq(ps_profile_add_type(p, "late", "count"), -EINVAL, "columns come first");
	cr_assert_eq(ps_profile_nsamples(p), 3);
	cr_assert_eq(ps_profile_sort_samples(p), 0);
	cr_assert_eq(ps_profile_sample_at(p, 0)->tid, 2, "stable: equal times keep their order");
	cr_assert_eq(ps_profile_sample_at(p, 1)->tid, 3);
	cr_assert_eq(ps_profile_sample_at(p, 2)->tid, 1);
	cr_assert_eq(ps_profile_sample_value(p, 2, 0), 1);
	cr_assert_eq(ps_profile_node_self(p, nx, 0), 2);
	ps_profile_free(p);
}

Test(model, folded_names_cannot_forge_lines)
{
	/* A process that names itself "ev;il 9999999\nz" must not make a line of its own. */
	ps_profile *p = ps_profile_new(0);
	ps_profile_add_type(p, "samples", "count");
	ps_frame_id comm, fn;
	ps_frame f = {.name = "ev;il 9999999\nz", .kind = PS_FRAME_PROCESS};
	cr_assert_eq(ps_profile_frame(p, &f, &comm), 0);
	ps_profile_frame_named(p, "main", 4, PS_FRAME_USER, &fn);
	ps_node_id n;
	ps_profile_stack(p, (ps_frame_id[]){comm, fn}, 2, &n);
	ps_profile_add_value(p, n, 0, 1);
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	cr_assert_eq(ps_profile_write_folded(p, 0, m), 0);
	fclose(m);
	cr_assert_str_eq(text, "ev:il 9999999?z;main 1\n");
	free(text);
	ps_profile_free(p);
}

Test(folded, sums_past_int64_are_an_error_naming_the_line)
{
	const char text[] = "a 9223372036854775000\nb 1000\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	ps_profile *p = ps_profile_new(0);
	struct warns w = {0};
	cr_assert_eq(ps_profile_read_folded(p, f, 0, count_warn, &w), PS_ELIMIT);
	cr_assert_eq(w.n, 1);
	cr_assert_eq(w.lines[0], 2);
	fclose(f);
	ps_profile_free(p);
}

Test(folded, all_malformed_is_an_error_empty_is_not)
{
	const char bad[] = "x\ny z\n";
	FILE *f = fmemopen((void *)bad, sizeof(bad) - 1, "r");
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_read_folded(p, f, 0, NULL, NULL), PS_EFORMAT);
	fclose(f);
	ps_profile_free(p);
	f = fmemopen((void *)"\n\n", 2, "r");
	p = ps_profile_new(0);
	cr_assert_eq(ps_profile_read_folded(p, f, 0, NULL, NULL), 0);
	cr_assert_eq(ps_profile_ntypes(p), 1, "samples/count declared even when empty");
	fclose(f);
	ps_profile_free(p);
}

static ps_profile *from_folded(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	ps_profile *p = ps_profile_new(0);
	cr_assert_eq(ps_profile_read_folded(p, f, PS_FOLDED_STRICT, NULL, NULL), 0);
	fclose(f);
	return p;
}

Test(model, diff_pairs_every_stack_of_either_side)
{
	ps_profile *a = from_folded("m;x 4\nm;y 2\n");
	ps_profile *b = from_folded("m;y 3\nm;z 1\n");
	ps_profile *d;
	cr_assert_eq(ps_profile_diff(a, b, 0, &d), 0);
	cr_assert(ps_profile_is_diff(d));
	char *t = folded_text(d);
	cr_assert_str_eq(t, "m;x 4 0\nm;y 2 3\nm;z 0 1\n");
	free(t);
	ps_profile_free(d);
	/* -n: before scaled to after's total (6 -> 4). */
	cr_assert_eq(ps_profile_diff(a, b, 1, &d), 0);
	t = folded_text(d);
	cr_assert_str_eq(t, "m;x 3 0\nm;y 1 3\nm;z 0 1\n");
	free(t);
	ps_profile_free(d);
	ps_profile_free(a);
	ps_profile_free(b);
}

Test(model, merge_copies_frames_and_mappings)
{
	ps_profile *src = ps_profile_new(0);
	ps_profile_add_type(src, "samples", "count");
	uint32_t m;
	ps_profile_mapping(src, &(ps_mapping){"/bin/x", "beef", 0x1000, 0x2000, 0}, &m);
	ps_frame_id f;
	ps_profile_frame(src, &(ps_frame){.name = "fn", .mapping = m, .kind = PS_FRAME_USER,
					  .addr = 0x1010},
			 &f);
	ps_node_id n;
	ps_profile_stack(src, &f, 1, &n);
	ps_profile_add_value(src, n, 0, 7);
	ps_profile *dst = ps_profile_new(0);
	ps_profile_add_type(dst, "samples", "count");
	cr_assert_eq(ps_profile_merge(dst, 0, src, 0, 2.0), 0);
	cr_assert_eq(ps_profile_total(dst, 0), 14);
	const ps_frame *g = ps_profile_frame_at(dst, ps_profile_node_frame(dst, ps_profile_node_child(dst, 0)));
	cr_assert_eq(g->addr, 0x1010);
	cr_assert_str_eq(ps_profile_mapping_at(dst, g->mapping)->build_id, "beef");
	cr_assert_eq(ps_profile_merge(dst, 3, src, 0, 1.0), -EINVAL);
	ps_profile_free(src);
	ps_profile_free(dst);
}

Test(folded, lines_are_bounded_and_the_last_needs_no_newline)
{
	size_t n = PS_FOLDED_MAX_LINE + 10;
	char *big = malloc(n);
	memset(big, 'x', n);
	FILE *f = fmemopen(big, n, "r");
	ps_profile *p = ps_profile_new(0);
	struct warns w = {0};
	cr_assert_eq(ps_profile_read_folded(p, f, 0, count_warn, &w), PS_ELIMIT);
	cr_assert_eq(w.n, 1);
	cr_assert_eq(w.lines[0], 1);
	fclose(f);
	ps_profile_free(p);
	free(big);
	const char text[] = "a;b 1\nc 2";
	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	p = ps_profile_new(0);
	cr_assert_eq(ps_profile_read_folded(p, f, PS_FOLDED_STRICT, NULL, NULL), 0);
	cr_assert_eq(ps_profile_total(p, 0), 3);
	fclose(f);
	ps_profile_free(p);
}

/* Sample labels beyond pid and tid (pprof's): interned sets, kept per sample through the
 * time sort. */
Test(profile, tag_sets_are_interned_and_follow_their_samples)
{
	ps_profile *p = ps_profile_new(PS_PROFILE_SAMPLES);
	cr_assert_geq(ps_profile_add_type(p, "samples", "count"), 0);
	ps_frame_id f;
	cr_assert_eq(ps_profile_frame_named(p, "main", 4, PS_FRAME_USER, &f), 0);
	ps_node_id n;
	cr_assert_eq(ps_profile_child(p, PS_NODE_ROOT, f, &n), 0);
	char key[] = "phase", val[] = "spin";
	ps_profile_tag a[] = {{key, val, 0, NULL}, {"bytes", NULL, 4096, "bytes"}};
	ps_profile_tag b[] = {{"bytes", NULL, 4096, "bytes"}};
	uint32_t ida, ida2, idb, none;
	cr_assert_eq(ps_profile_tag_set(p, a, 2, &ida), 0);
	strcpy(val, "idle"); /* the set keeps its own copies */
	cr_assert_eq(ps_profile_tag_set(p, b, 1, &idb), 0);
	strcpy(val, "spin");
	cr_assert_eq(ps_profile_tag_set(p, a, 2, &ida2), 0);
	cr_assert_eq(ps_profile_tag_set(p, NULL, 0, &none), 0);
	cr_assert_eq(ida, ida2);
	cr_assert_neq(ida, idb);
	cr_assert_eq(none, 0);
	size_t nt;
	const ps_profile_tag *t = ps_profile_tags(p, ida, &nt);
	cr_assert_eq(nt, 2);
	cr_assert_str_eq(t[0].key, "phase");
	cr_assert_str_eq(t[0].str, "spin");
	cr_assert_null(t[1].str);
	cr_assert_eq(t[1].num, 4096);
	cr_assert_str_eq(t[1].unit, "bytes");
	cr_assert_null(ps_profile_tags(p, 99, &nt));
	cr_assert_eq(nt, 0);
	uint32_t tags[] = {0, ida, idb, ida};
	uint64_t times[] = {40, 10, 30, 20};
	for (int i = 0; i < 4; i++) {
		ps_profile_sample s = {.time = times[i], .node = n};
		cr_assert_eq(ps_profile_add_sample_tags(p, &s, (uint64_t[]){1}, tags[i]), 0);
	}
	cr_assert_eq(ps_profile_add_sample_tags(p, &(ps_profile_sample){.node = n},
						(uint64_t[]){1}, 77),
		     -EINVAL);
	cr_assert_eq(ps_profile_sort_samples(p), 0);
	uint32_t want[] = {ida, ida, idb, 0};
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(ps_profile_sample_at(p, i)->time, (i + 1) * 10);
		cr_assert_eq(ps_profile_sample_tags(p, i), want[i], "sample %zu", i);
		cr_assert_eq(ps_profile_sample_at(p, i)->node, n);
	}
	ps_profile_free(p);
}
