/* ps_sym_cache against binaries built here: the same file opened again is the cached image;
 * a file rebuilt at the same path is opened anew and names its own functions; a file that
 * is not the recorded one (build-id, size) is refused as ps_elf_open_opts refuses it; the
 * bounds (images unused for PS_SYM_CACHE_KEEP sessions, max_images) close images. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "symbolize/ps_sym_cache.h"

#include "tests/unit/scratch.h"

/* dir/name: a binary whose function is fn_TAG (its code, so its build-id, differs with
 * the tag's length). */
static void build(const char *name, const char *tag)
{
	if (sh("command -v cc >/dev/null") != 0)
		cr_skip_test("needs cc");
	cr_assert_eq(sh("cd %s && printf 'int __attribute__((noinline)) fn_%s(int x) { return x * %zu; }"
			"\\nint main(int c, char **v) { return fn_%s(c); }\\n' > %s.c && "
			"cc -O1 -Wl,--build-id -o %s.new %s.c && mv %s.new %s",
			dir, tag, strlen(tag) + 2, tag, name, name, name, name, name),
		     0);
}

/* The name ps_elf gives fn_TAG's address in dir/name (read with nm). */
static const char *name_at_fn(ps_elf *e, const char *name, const char *tag)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "nm %s/%s | awk '$3 == \"fn_%s\" { print $1 }'", dir, name, tag);
	FILE *p = popen(cmd, "r");
	unsigned long long a = 0;
	cr_assert_eq(fscanf(p, "%llx", &a), 1);
	pclose(p);
	ps_elf_frame fr[PS_ELF_MAX_INLINE];
	int n = ps_elf_lookup(e, a, fr, PS_ELF_MAX_INLINE);
	return n > 0 ? fr[n - 1].name : "";
}

Test(sym_cache, hit_rebuild_and_refusals, .init = setup, .fini = teardown)
{
	build("prog", "one");
	char path[128];
	snprintf(path, sizeof(path), "%s/prog", dir);
	ps_sym_cache *c = ps_sym_cache_new(16);
	ps_elf_opts o = {0};
	ps_elf *a, *b;
	cr_assert_eq(ps_sym_cache_open(c, &a, path, &o), 0);
	cr_assert_str_eq(name_at_fn(a, "prog", "one"), "fn_one");
	size_t idlen;
	const uint8_t *id = ps_elf_build_id(a, &idlen);
	uint8_t want[20];
	cr_assert(idlen > 0 && idlen <= sizeof(want));
	memcpy(want, id, idlen);
	ps_sym_cache_end(c);

	/* Next session, same file, the recorded build-id: the same image, no new open. */
	o.want_build_id = want;
	o.idlen = idlen;
	cr_assert_eq(ps_sym_cache_open(c, &b, path, &o), 0);
	cr_assert_eq(a, b);
	ps_sym_cache_stats st = ps_sym_cache_get_stats(c);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.misses, 1);
	/* Other flags are another image (its lookups answer differently). */
	o.flags = PS_ELF_LINES;
	cr_assert_eq(ps_sym_cache_open(c, &b, path, &o), 0);
	cr_assert_neq(a, b);
	o.flags = 0;
	ps_sym_cache_end(c);

	/* Rebuilt at the same path: not the recorded build, refused... */
	build("prog", "three");
	cr_assert_eq(ps_sym_cache_open(c, &b, path, &o), PS_ECORRUPT);
	cr_assert_null(b);
	/* ...and, asked without a build-id, a new image that names the new function. */
	o.want_build_id = NULL;
	o.idlen = 0;
	cr_assert_eq(ps_sym_cache_open(c, &b, path, &o), 0);
	cr_assert_neq(a, b);
	cr_assert_str_eq(name_at_fn(b, "prog", "three"), "fn_three");
	/* A FILE record's size and mtime that are not the file's. */
	ps_fileid f = {.size = 1, .mtime_ns = 1};
	o.want_file = &f;
	cr_assert_eq(ps_sym_cache_open(c, &b, path, &o), PS_ECORRUPT);
	ps_sym_cache_end(c);
	ps_sym_cache_free(c);
}

Test(sym_cache, bounds, .init = setup, .fini = teardown)
{
	build("p1", "p1");
	build("p2", "p22");
	char p1[128], p2[128];
	snprintf(p1, sizeof(p1), "%s/p1", dir);
	snprintf(p2, sizeof(p2), "%s/p2", dir);
	ps_sym_cache *c = ps_sym_cache_new(1);
	ps_elf_opts o = {0};
	ps_elf *a, *b;
	/* Past max within a session: both stay usable until it ends. */
	cr_assert_eq(ps_sym_cache_open(c, &a, p1, &o), 0);
	cr_assert_eq(ps_sym_cache_open(c, &b, p2, &o), 0);
	cr_assert_str_eq(name_at_fn(b, "p2", "p22"), "fn_p22");
	cr_assert_eq(ps_sym_cache_get_stats(c).images, 2);
	cr_assert_str_eq(name_at_fn(a, "p1", "p1"), "fn_p1");
	ps_sym_cache_end(c);
	cr_assert_eq(ps_sym_cache_get_stats(c).images, 1);
	/* An image no session used for PS_SYM_CACHE_KEEP sessions is closed. */
	for (int i = 0; i < PS_SYM_CACHE_KEEP; i++) {
		cr_assert_eq(ps_sym_cache_get_stats(c).images, 1);
		ps_sym_cache_end(c);
	}
	cr_assert_eq(ps_sym_cache_get_stats(c).images, 0);
	ps_sym_cache_free(c);
}
