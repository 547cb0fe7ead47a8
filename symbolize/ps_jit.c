#include "symbolize/ps_jit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"
#include "symbolize/ps_elf.h"

struct jsym {
	uint64_t start, end;
	const char *name;
	size_t order; /* later lines win: a JIT reuses addresses after freeing code */
};

struct ps_jit {
	struct jsym *syms;
	size_t n;
	ps_arena *arena;
};

static int cmp_jsym(const void *a, const void *b)
{
	const struct jsym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->order < y->order) - (x->order > y->order); /* newest first */
}

int ps_jit_load(ps_jit **out, const char *path, int demangle, long owner)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	int bad = fstat(fd, &st) < 0		     ? -errno
		  : !S_ISREG(st.st_mode)	     ? PS_ENOTREG
		  : (st.st_mode & S_IWOTH)	     ? -EPERM
		  : st.st_uid == 0		     ? 0
		  : st.st_uid != (owner >= 0 ? (uid_t)owner : geteuid()) ? -EPERM
							     : 0;
	FILE *f = bad ? NULL : fdopen(fd, "re");
	if (!f) {
		int err = bad ? bad : -errno;
		close(fd);
		return err;
	}
	ps_jit *j = calloc(1, sizeof(*j));
	if (!j || !(j->arena = ps_arena_new())) {
		free(j);
		fclose(f);
		return -ENOMEM;
	}
	char *line = NULL;
	size_t lcap = 0, cap = 0;
	ssize_t len;
	int err = 0;
	while ((len = getline(&line, &lcap, f)) > 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *p = line, *end;
		unsigned long long start = strtoull(p, &end, 16);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		unsigned long long size = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || !size || start + size < start)
			continue;
		const char *name = end + 1;
		char buf[4096];
		if (demangle)
			name = ps_demangle(name, buf, sizeof(buf));
		if (PS_GROW(j->syms, cap, j->n + 1)) {
			err = -ENOMEM;
			break;
		}
		const char *nm = ps_arena_strndup(j->arena, name, strlen(name));
		if (!nm) {
			err = -ENOMEM;
			break;
		}
		j->syms[j->n] = (struct jsym){start, start + size, nm, j->n};
		j->n++;
	}
	free(line);
	fclose(f);
	if (err) {
		ps_jit_free(j);
		return err;
	}
	qsort(j->syms, j->n, sizeof(*j->syms), cmp_jsym);
	*out = j;
	return 0;
}

void ps_jit_free(ps_jit *j)
{
	if (!j)
		return;
	free(j->syms);
	ps_arena_free(j->arena);
	free(j);
}

const char *ps_jit_lookup(const ps_jit *j, uint64_t addr)
{
	size_t lo = 0, hi = j->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Entries can overlap; look back a little for one that covers addr. */
	const struct jsym *best = NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++)
		if (addr < j->syms[i].end && (!best || j->syms[i].order > best->order))
			best = &j->syms[i];
	return best ? best->name : NULL;
}
