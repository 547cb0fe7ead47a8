/* ps_sym_identify: FILE records for the mapped files a trace cannot otherwise verify.
 * The kernel's MMAP2 records carry a build-id when the file has one; for a file without
 * (linked with --build-id=none, or one the kernel could not read) a reader has nothing to
 * tell the recorded file from a file rebuilt at the same path since, and used to name
 * frames from the new file without a word. So when a recording ends, each such file gets
 * its identity written: its own build-id when it has one after all, else size, mtime and
 * inode, which readers compare before using it (symbolize/ps_sym.c, load_dso). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"
#include "symbolize/ps_elf.h"
#include "symbolize/ps_sym.h"

struct seen {
	char **paths;
	size_t n, cap;
	ps_index index;
};

struct seen_key {
	const struct seen *s;
	const char *path;
};

static int seen_eq(const void *ctx, uint32_t id)
{
	const struct seen_key *k = ctx;
	return !strcmp(k->s->paths[id], k->path);
}

/* 1 when path was not seen before (and now is), 0 when it was, or -ENOMEM. */
static int see(struct seen *s, const char *path)
{
	uint64_t h = ps_hash(path, strlen(path));
	struct seen_key k = {s, path};
	if (ps_index_find(&s->index, h, seen_eq, &k) != UINT32_MAX)
		return 0;
	if (PS_GROW(s->paths, s->cap, s->n + 1))
		return -ENOMEM;
	s->paths[s->n] = strdup(path);
	if (!s->paths[s->n] || ps_index_insert(&s->index, h, (uint32_t)s->n))
		return -ENOMEM;
	s->n++;
	return 1;
}

/* The file a mapping named, as its process saw it: the very file while the process lives
 * (map_files), else the path in its root, else the path here. */
static int identify(const ps_mmap *m, ps_fileid *id)
{
	char path[4096 + 64];
	snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", m->pid,
		 (unsigned long long)m->start, (unsigned long long)(m->start + m->len));
	if (ps_elf_identify(path, id) == 0)
		return 0;
	if (strstr(m->filename, " (deleted)"))
		return -ENOENT; /* whatever is at the path now is another file */
	snprintf(path, sizeof(path), "/proc/%u/root%s", m->pid, m->filename);
	if (ps_elf_identify(path, id) == 0)
		return 0;
	return ps_elf_identify(m->filename, id);
}

int ps_sym_identify(ps_trace_reader *r, ps_trace_writer *w, uint64_t *written)
{
	struct seen s = {0};
	ps_event ev;
	int got = 0, err = ps_trace_rewind(r);
	*written = 0;
	while (!err && (got = ps_trace_next(r, &ev)) > 0) {
		const ps_mmap *m = &ev.mmap;
		if (ev.type != PS_REC_MMAP || m->build_id_size || m->filename[0] != '/' ||
		    !strncmp(m->filename, "/memfd:", 7))
			continue;
		int fresh = see(&s, m->filename);
		if (fresh <= 0) {
			err = fresh;
			continue;
		}
		ps_event fe = {.type = PS_REC_FILE};
		fe.file.pid = m->pid;
		fe.file.path = m->filename;
		if (identify(m, &fe.file) == 0) {
			err = ps_trace_write(w, &fe);
			*written += !err;
		}
	}
	if (!err && got < 0)
		err = got;
	for (size_t i = 0; i < s.n; i++)
		free(s.paths[i]);
	free(s.paths);
	ps_index_release(&s.index);
	return err;
}
