/* ps_sym_cache: ELF images and kallsyms kept across symbolizer sessions (ps_sym_cache.h). */
#include "symbolize/ps_sym_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

#define KALLSYMS_MAX_AGE_S 60

struct image {
	ps_elf *elf;
	uint64_t ino, size, mtime_ns;
	uint32_t maj, min;
	unsigned flags;
	char *debug_dir; /* as asked (NULL: the default) */
	uint64_t used;   /* the session that used it last */
};

struct ps_sym_cache {
	struct image *img;
	size_t n, cap, max;
	uint64_t session; /* the current one, from 1 */
	uint64_t hits, misses;
	ps_kallsyms *kallsyms;
	uint64_t modules_hash;
	time_t kallsyms_at;
	uint64_t kallsyms_checked; /* the session that last checked it */
};

ps_sym_cache *ps_sym_cache_new(size_t max_images)
{
	ps_sym_cache *c = calloc(1, sizeof(*c));
	if (c) {
		c->max = max_images ? max_images : 1;
		c->session = 1;
	}
	return c;
}

static void drop(ps_sym_cache *c, size_t i)
{
	ps_elf_free(c->img[i].elf);
	free(c->img[i].debug_dir);
	c->img[i] = c->img[--c->n];
}

void ps_sym_cache_free(ps_sym_cache *c)
{
	if (!c)
		return;
	while (c->n)
		drop(c, c->n - 1);
	free(c->img);
	ps_kallsyms_free(c->kallsyms);
	free(c);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int ps_sym_cache_open(ps_sym_cache *c, ps_elf **out, const char *path, const ps_elf_opts *o)
{
	*out = NULL;
	ps_fileid id;
	int err = ps_elf_identify(path, &id);
	if (err)
		return err;
	/* The checks ps_elf_open_opts makes, on the file as it is now. */
	if (ps_elf_opts_refuse_file(o, id.size, id.mtime_ns) ||
	    ps_elf_opts_refuse_build_id(o, id.build_id, id.build_id_size))
		return PS_ECORRUPT;
	for (size_t i = 0; i < c->n; i++) {
		struct image *m = &c->img[i];
		if (m->ino == id.ino && m->maj == id.maj && m->min == id.min &&
		    m->size == id.size && m->mtime_ns == id.mtime_ns && m->flags == o->flags &&
		    same_str(m->debug_dir, o->debug_dir)) {
			m->used = c->session;
			c->hits++;
			*out = m->elf;
			return 0;
		}
	}
	c->misses++;
	ps_elf *e;
	err = ps_elf_open_opts(&e, path, o);
	if (err)
		return err;
	/* Kept even past max: the images of the session in progress are in use; the bound
	 * applies when it ends. */
	char *dd = o->debug_dir ? strdup(o->debug_dir) : NULL;
	if ((o->debug_dir && !dd) || PS_GROW(c->img, c->cap, c->n + 1)) {
		free(dd);
		ps_elf_free(e);
		return -ENOMEM;
	}
	c->img[c->n++] = (struct image){e,     id.ino, id.size, id.mtime_ns, id.maj, id.min,
					o->flags, dd,    c->session};
	*out = e;
	return 0;
}

/* FNV-1a of /proc/modules: which modules are loaded, and where. */
static uint64_t modules_hash(void)
{
	uint64_t h = 1469598103934665603ull;
	FILE *f = fopen("/proc/modules", "re");
	if (!f)
		return 0;
	int ch;
	while ((ch = getc(f)) != EOF)
		h = (h ^ (unsigned char)ch) * 1099511628211ull;
	fclose(f);
	return h;
}

ps_kallsyms *ps_sym_cache_kallsyms(ps_sym_cache *c)
{
	if (c->kallsyms_checked == c->session)
		return c->kallsyms;
	c->kallsyms_checked = c->session;
	uint64_t h = modules_hash();
	time_t now = time(NULL);
	if (c->kallsyms && h == c->modules_hash && now - c->kallsyms_at < KALLSYMS_MAX_AGE_S)
		return c->kallsyms;
	ps_kallsyms_free(c->kallsyms);
	c->kallsyms = NULL;
	if (ps_kallsyms_load(&c->kallsyms, "/proc/kallsyms"))
		c->kallsyms = NULL;
	c->modules_hash = h;
	c->kallsyms_at = now;
	return c->kallsyms;
}

void ps_sym_cache_end(ps_sym_cache *c)
{
	if (!c)
		return;
	for (size_t i = c->n; i-- > 0;)
		if (c->session - c->img[i].used >= PS_SYM_CACHE_KEEP)
			drop(c, i);
	while (c->n > c->max) { /* the least recently used */
		size_t lru = 0;
		for (size_t i = 1; i < c->n; i++)
			if (c->img[i].used < c->img[lru].used)
				lru = i;
		drop(c, lru);
	}
	c->session++;
}

ps_sym_cache_stats ps_sym_cache_get_stats(const ps_sym_cache *c)
{
	ps_sym_cache_stats st = {c->hits, c->misses, c->n};
	return st;
}
