#include <criterion/criterion.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"

Test(profile, merges_and_sorts)
{
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	cr_assert_eq(ps_profile_add(p, "a;b;c", 5, 3), 0);
	cr_assert_eq(ps_profile_add(p, "a;b", 3, 1), 0);
	cr_assert_eq(ps_profile_add(p, "a;b;c", 5, 2), 0);
	cr_assert_eq(ps_profile_add(p, "a;a", 3, 7), 0);
	size_t n;
	const ps_stack *s = ps_profile_stacks(p, &n);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(s[0].folded, "a;a");
	cr_assert_str_eq(s[1].folded, "a;b");
	cr_assert_str_eq(s[2].folded, "a;b;c");
	cr_assert_eq(s[2].count, 5);
	cr_assert_eq(ps_profile_total(p), 13);
	/* adding after sorting still merges */
	cr_assert_eq(ps_profile_add(p, "a;b", 3, 1), 0);
	s = ps_profile_stacks(p, &n);
	cr_assert_eq(n, 3);
	cr_assert_eq(s[1].count, 2);
	ps_profile_free(p);
}

Test(profile, many_stacks_grow_the_index)
{
	ps_profile *p = ps_profile_new(0);
	char buf[32];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			int len = snprintf(buf, sizeof(buf), "x;f%d", i);
			cr_assert_eq(ps_profile_add(p, buf, (size_t)len, 1), 0);
		}
	cr_assert_eq(ps_profile_nstacks(p), 5000);
	size_t n;
	const ps_stack *s = ps_profile_stacks(p, &n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(s[i].count, 2);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(strcmp(s[i - 1].folded, s[i].folded), 0);
	ps_profile_free(p);
}

Test(profile, ordered_merges_only_neighbours)
{
	ps_profile *p = ps_profile_new(PS_PROFILE_ORDERED);
	ps_profile_add(p, "m;b", 3, 1);
	ps_profile_add(p, "m;b", 3, 1);
	ps_profile_add(p, "m;a", 3, 1);
	ps_profile_add(p, "m;b", 3, 1);
	size_t n;
	const ps_stack *s = ps_profile_stacks(p, &n);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(s[0].folded, "m;b");
	cr_assert_eq(s[0].count, 2);
	cr_assert_str_eq(s[1].folded, "m;a");
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
	cr_assert_eq(ps_folded_parse_line("a 99999999999999999999999", 25, &sl, &c, &c2, &has2,
					  &why),
		     PS_EFORMAT);
}

struct warns {
	size_t n;
	size_t lines[8];
};
static void count_warn(void *ctx, size_t lineno, const char *reason)
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
	cr_assert_eq(ps_profile_nstacks(p), 2);
	cr_assert_eq(ps_profile_total(p), 6);
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
	ps_profile_add(p, "z;y", 3, 5);
	ps_profile_add(p, "a", 1, 1);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cr_assert_eq(ps_profile_write_folded(p, f), 0);
	fclose(f);
	cr_assert_str_eq(out, "a 1\nz;y 5\n");
	free(out);
	ps_profile_free(p);
}
