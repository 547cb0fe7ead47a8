#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"
#include "symbolize/ps_elf.h"

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module;
};

struct ps_kallsyms {
	struct ksym *syms;
	size_t n;
	ps_arena *arena;
	int hidden;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

int ps_kallsyms_load(ps_kallsyms **out, const char *path)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	ps_kallsyms *k = calloc(1, sizeof(*k));
	if (!k || !(k->arena = ps_arena_new())) {
		free(k);
		fclose(f);
		return -ENOMEM;
	}
	size_t cap = 0, zero = 0;
	char *line = NULL;
	size_t lcap = 0;
	int err = 0;
	const char *last_mod = "";
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) > 0) {
		/* "ADDR TYPE NAME[\t[MODULE]]", parsed by hand: kallsyms has ~200k lines, and
		 * sscanf was most of a cold symbolization. */
		char *p = line, *end;
		unsigned long long addr = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || !end[1] || end[2] != ' ')
			continue;
		char type = end[1];
		char *name = end + 3;
		size_t nlen = strcspn(name, " \t\n");
		if (!nlen || nlen >= 512)
			continue;
		char *rest = name + nlen;
		char mod[256] = "";
		char *open_br = strchr(rest, '[');
		if (open_br) {
			size_t mlen = strcspn(open_br + 1, "]\n");
			if (mlen < sizeof(mod)) {
				memcpy(mod, open_br + 1, mlen);
				mod[mlen] = '\0';
			}
		}
		name[nlen] = '\0';
		/* Text symbols only: t/T, and weak w/W that point at code. */
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (addr == 0) {
			zero++;
			continue;
		}
		if (k->n == cap) {
			cap = cap ? cap * 2 : 65536;
			struct ksym *s = realloc(k->syms, cap * sizeof(*s));
			if (!s) {
				err = -ENOMEM;
				break;
			}
			k->syms = s;
		}
		if (strcmp(mod, last_mod))
			last_mod = ps_arena_strndup(k->arena, mod, strlen(mod));
		const char *nm = ps_arena_strndup(k->arena, name, strlen(name));
		if (!nm || !last_mod) {
			err = -ENOMEM;
			break;
		}
		k->syms[k->n++] = (struct ksym){addr, nm, last_mod};
	}
	free(line);
	fclose(f);
	if (err) {
		ps_kallsyms_free(k);
		return err;
	}
	k->hidden = k->n == 0 && zero > 0;
	if (k->n) /* syms is NULL when kallsyms showed nothing; qsort's base must not be */
		qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
	*out = k;
	return 0;
}

void ps_kallsyms_free(ps_kallsyms *k)
{
	if (!k)
		return;
	free(k->syms);
	ps_arena_free(k->arena);
	free(k);
}

const char *ps_kallsyms_lookup(const ps_kallsyms *k, uint64_t addr, const char **module)
{
	return ps_kallsyms_lookup_start(k, addr, module, NULL);
}

const char *ps_kallsyms_lookup_start(const ps_kallsyms *k, uint64_t addr, const char **module,
				     uint64_t *start)
{
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* Past the last symbol lies no kernel text we know of. */
	if (lo == k->n && addr - k->syms[lo - 1].addr > (1u << 20))
		return NULL;
	*module = k->syms[lo - 1].module;
	if (start)
		*start = k->syms[lo - 1].addr;
	return k->syms[lo - 1].name;
}

int ps_kallsyms_hidden(const ps_kallsyms *k) { return k->hidden; }

int ps_kernel_build_id(const char *notes, char out[41])
{
	unsigned char buf[4096];
	int fd = open(notes, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	/* ELF notes: namesz, descsz, type (4 bytes each), name and desc padded to 4. */
	for (size_t off = 0; n > 0 && off + 12 <= (size_t)n;) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		size_t name = off + 12, desc = name + ((namesz + 3u) & ~3u);
		if (namesz > sizeof(buf) || descsz > sizeof(buf) || desc + descsz > (size_t)n)
			break;
		if (type == 3 && namesz == 4 && !memcmp(buf + name, "GNU", 4) && descsz &&
		    descsz <= 20) {
			static const char hex[] = "0123456789abcdef";
			for (uint32_t i = 0; i < descsz; i++) {
				out[2 * i] = hex[buf[desc + i] >> 4];
				out[2 * i + 1] = hex[buf[desc + i] & 15];
			}
			out[2 * descsz] = '\0';
			return 0;
		}
		off = desc + ((descsz + 3u) & ~3u);
	}
	return -ENOENT;
}
