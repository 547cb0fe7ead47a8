#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

static char *esc(enum ps_esc how, const char *s, size_t len)
{
	ps_buf b = {0};
	cr_assert_eq(ps_escape(&b, how, s, len), 0);
	return b.data ? b.data : strdup("");
}

Test(util, escape_each_context)
{
	static const char s[] = "a;b<&>\"'\x01\n\xff\xc3\xa9z";
	size_t n = sizeof(s) - 1;
	char *t = esc(PS_ESC_FOLDED, s, n);
	cr_assert_str_eq(t, "a:b<&>\"'??\xff\xc3\xa9z");
	free(t);
	t = esc(PS_ESC_XML, s, n);
	cr_assert_str_eq(t, "a;b&lt;&amp;&gt;&quot;&apos;\\x01\\x0a\\xff\xc3\xa9z");
	free(t);
	t = esc(PS_ESC_JSON, s, n);
	cr_assert_str_eq(t, "a;b<&>\\\"'\\u0001\\n\\ufffd\xc3\xa9z");
	free(t);
	t = esc(PS_ESC_XML, "a\xef\xbf\xbe\xef\xbf\xbd" "b", 8);
	cr_assert_str_eq(t, "a\\xef\\xbf\\xbe\xef\xbf\xbd" "b", "U+FFFE escaped, U+FFFD kept");
	free(t);
	t = esc(PS_ESC_TERM, "\x1b[31mred\x7f", 9);
	cr_assert_str_eq(t, "\\x1b[31mred\\x7f");
	free(t);
	t = esc(PS_ESC_FOLDED, "", 0);
	cr_assert_str_eq(t, "");
	free(t);
}

Test(util, utf8_rejects_overlong_and_surrogates)
{
	cr_assert_eq(ps_utf8_len("\xc3\xa9", 2), 2);
	cr_assert_eq(ps_utf8_len("\xc0\xaf", 2), 0);
	cr_assert_eq(ps_utf8_len("\xed\xa0\x80", 3), 0);
	cr_assert_eq(ps_utf8_len("\xf4\x90\x80\x80", 4), 0);
	cr_assert_eq(ps_utf8_len("\xe2\x82", 2), 0, "cut short");
}

struct keys {
	uint64_t *v;
	uint64_t want;
};
static int key_eq(const void *ctx, uint32_t id)
{
	const struct keys *k = ctx;
	return k->v[id] == k->want;
}

Test(util, index_grows_and_tells_collisions_apart)
{
	ps_index x = {0};
	enum { N = 100000 };
	uint64_t *v = malloc(N * sizeof(*v));
	for (uint32_t i = 0; i < N; i++) {
		v[i] = i * 7919ULL;
		/* every key shares one of 16 hashes: equality decides */
		cr_assert_eq(ps_index_insert(&x, v[i] & 15, i), 0);
		if (i > 20000)
			break;
	}
	for (uint32_t i = 0; i <= 20001; i += 997) {
		struct keys k = {v, v[i]};
		cr_assert_eq(ps_index_find(&x, v[i] & 15, key_eq, &k), i);
	}
	struct keys none = {v, 3};
	cr_assert_eq(ps_index_find(&x, 3, key_eq, &none), UINT32_MAX);
	ps_index_release(&x);
	free(v);
}

Test(util, grow_doubles_and_keeps_contents)
{
	int *a = NULL;
	size_t cap = 0;
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(PS_GROW(a, cap, (size_t)i + 1), 0);
		a[i] = i;
	}
	cr_assert_geq(cap, 1000);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(a[i], i);
	free(a);
}

static int id_is(const void *ctx, uint32_t id) { return *(const uint32_t *)ctx == id; }

Test(util, index_remove_keeps_the_rest_reachable)
{
	/* Few distinct hashes: long probe runs that wrap around the table's end, where a
	 * removal must move later entries back. */
	ps_index x = {0};
	enum { N = 400 };
	uint64_t h[N];
	for (uint32_t i = 0; i < N; i++) {
		h[i] = (uint64_t)(i % 7) * 0x9e3779b97f4a7c15ULL | 1023; /* all home at the end */
		cr_assert_eq(ps_index_insert(&x, h[i], i), 0);
	}
	for (uint32_t i = 0; i < N; i += 3)
		cr_assert_eq(ps_index_remove(&x, h[i], i), 0);
	cr_assert_eq(ps_index_remove(&x, h[0], 0), -ENOENT);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t want = i % 3 ? i : UINT32_MAX;
		cr_assert_eq(ps_index_find(&x, h[i], id_is, &i), want, "id %u", i);
	}
	/* Removed ids can come back. */
	cr_assert_eq(ps_index_insert(&x, h[3], 3), 0);
	uint32_t three = 3;
	cr_assert_eq(ps_index_find(&x, h[3], id_is, &three), 3);
	ps_index_release(&x);
}

Test(util, index_clear_empties_and_refills)
{
	ps_index x = {0};
	for (uint32_t i = 0; i < 3000; i++)
		cr_assert_eq(ps_index_insert(&x, ps_hash_u64(i), i), 0);
	size_t size = x.mask + 1;
	ps_index_clear(&x);
	cr_assert_eq(x.n, 0);
	cr_assert_eq(x.mask + 1, size, "the memory stays");
	for (uint32_t i = 0; i < 3000; i++)
		cr_assert_eq(ps_index_find(&x, ps_hash_u64(i), NULL, NULL), UINT32_MAX);
	cr_assert_eq(ps_index_insert(&x, ps_hash_u64(7), 0), 0);
	cr_assert_eq(ps_index_find(&x, ps_hash_u64(7), NULL, NULL), 0);
	ps_index_release(&x);
}

/* A chain set: equal chains one id, chains that differ by length or an entry another;
 * copies unless borrowed; the empty chain is a chain. */
Test(util, chains_intern_by_content)
{
	ps_chains c = {0};
	uint64_t a[3] = {1, 2, 3}, a2[3] = {1, 2, 3}, b[3] = {1, 2, 4};
	uint32_t ia, ia2, ib, ishort, iempty, again;
	cr_assert_eq(ps_chains_intern(&c, a, 3, 0, &ia), 0);
	cr_assert_eq(ps_chains_intern(&c, a2, 3, 1, &ia2), 0);
	cr_assert_eq(ia, ia2);
	cr_assert_neq(c.v[ia].ips, a); /* copied */
	cr_assert_eq(ps_chains_intern(&c, b, 3, 1, &ib), 0);
	cr_assert_neq(ib, ia);
	cr_assert_eq(c.v[ib].ips, b); /* borrowed */
	cr_assert_eq(ps_chains_intern(&c, a, 2, 0, &ishort), 0);
	cr_assert(ishort != ia && ishort != ib);
	cr_assert_eq(ps_chains_intern(&c, a, 0, 0, &iempty), 0);
	cr_assert_eq(ps_chains_intern(&c, b, 0, 0, &again), 0);
	cr_assert_eq(again, iempty);
	cr_assert_eq(c.n, 4);
	a[2] = 99; /* the copy keeps what was interned */
	cr_assert_eq(c.v[ia].ips[2], 3);
	ps_chains_release(&c);
	cr_assert_eq(c.n, 0);
}
