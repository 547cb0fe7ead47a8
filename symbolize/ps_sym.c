#include "symbolize/ps_sym.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"
#include "symbolize/ps_elf.h"
#include "symbolize/ps_jit.h"

#define MAX_FRAMES 1024

void ps_sym_opts_init(ps_sym_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->demangle = 1;
	o->inline_frames = 1;
	o->use_embedded = 1;
	o->root = PS_ROOT_COMM;
}

/* ---- small open-addressing map from a u64 key to a u32 value ---- */

struct u64map {
	uint64_t *keys;
	uint32_t *vals; /* value + 1; 0 = empty */
	size_t n, cap;
};

static int u64map_put(struct u64map *m, uint64_t key, uint32_t val);
static int u64map_grow(struct u64map *m)
{
	struct u64map old = *m;
	size_t cap = old.cap ? old.cap * 2 : 1024;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	if (!m->keys || !m->vals) {
		free(m->keys);
		free(m->vals);
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.vals[i])
			u64map_put(m, old.keys[i], old.vals[i] - 1);
	free(old.keys);
	free(old.vals);
	return 0;
}

static int u64map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
	if (!m->cap)
		return 0;
	size_t j = ps_hash_u64(key) & (m->cap - 1);
	while (m->vals[j]) {
		if (m->keys[j] == key) {
			*val = m->vals[j] - 1;
			return 1;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return 0;
}

static int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		int err = u64map_grow(m);
		if (err)
			return err;
	}
	size_t j = ps_hash_u64(key) & (m->cap - 1);
	while (m->vals[j]) {
		if (m->keys[j] == key) {
			m->vals[j] = val + 1;
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = key;
	m->vals[j] = val + 1;
	m->n++;
	return 0;
}

static void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- the session ---- */

struct map {
	uint64_t start, end, pgoff, time;
	uint32_t dso; /* index into dsos */
};

struct proc {
	uint32_t pid, ppid;
	uint64_t fork_time;
	struct map *maps;
	size_t nmaps, cap;
	int has_parent;
	ps_jit *jit;
	int jit_tried;
};

struct dso {
	const char *path; /* as mapped */
	const char *base; /* basename */
	uint8_t build_id[20];
	uint8_t build_id_size;
	ps_elf *elf;
	int tried;
	int kind; /* DSO_FILE, DSO_VDSO, DSO_ANON */
	int refused;    /* a file was found but was not the one recorded */
	int unverified; /* nothing recorded to check the file against */
};
enum { DSO_FILE, DSO_VDSO, DSO_ANON };

/* A thread's name from some time on; a thread's names form a list, newest first. */
struct comm {
	const char *name;
	uint64_t time;
	uint32_t next; /* index + 1 of the thread's previous name, 0 = none */
};

struct fork {
	uint32_t ppid, ptid;
	uint64_t time;
};

/* A resolved address: a run of frames in the pool, innermost first. */
struct resolved {
	uint32_t first, n;
};

struct sess {
	const ps_sym_opts *o;
	ps_trace_reader *r;
	ps_arena *arena;
	struct proc *procs;
	size_t nprocs, proccap;
	struct u64map proc_by_pid;
	struct dso *dsos;
	size_t ndsos, dsocap;
	struct u64map dso_by_hash;
	struct u64map comm_by_tid; /* tid -> newest index into comms */
	struct comm *comms;
	size_t ncomms, commcap;
	struct u64map parent_by_tid; /* tid -> index into forks: who created it, when */
	struct fork *forks;
	size_t nforks, forkcap;
	ps_sym_frame *pool;
	size_t npool, poolcap;
	struct resolved *res;
	size_t nres, rescap;
	struct u64map res_by_key; /* hash(pid, addr) -> res index; collisions checked */
	uint64_t *res_keys_pid, *res_keys_addr;
	ps_kallsyms *kallsyms;
	int kallsyms_tried;
	int have_embedded;
	ps_elf *vdso;
	int vdso_tried;
	ps_sym_report rep;
	ps_sym_frame out[MAX_FRAMES];
	/* FILE records: what the files of mappings without a build-id were (by path). */
	ps_fileid *files;
	size_t nfiles, filecap;
	ps_index file_by_path;
};

static void sess_release(struct sess *s)
{
	for (size_t i = 0; i < s->nprocs; i++) {
		free(s->procs[i].maps);
		ps_jit_free(s->procs[i].jit);
	}
	for (size_t i = 0; i < s->ndsos; i++)
		ps_elf_free(s->dsos[i].elf);
	ps_elf_free(s->vdso);
	ps_kallsyms_free(s->kallsyms);
	free(s->procs);
	free(s->dsos);
	free(s->comms);
	free(s->forks);
	u64map_release(&s->parent_by_tid);
	free(s->pool);
	free(s->res);
	free(s->res_keys_pid);
	free(s->res_keys_addr);
	u64map_release(&s->proc_by_pid);
	u64map_release(&s->dso_by_hash);
	u64map_release(&s->comm_by_tid);
	u64map_release(&s->res_by_key);
	free(s->files);
	ps_index_release(&s->file_by_path);
	ps_arena_free(s->arena);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static struct proc *get_proc(struct sess *s, uint32_t pid, int create)
{
	uint32_t idx;
	if (u64map_get(&s->proc_by_pid, pid, &idx))
		return &s->procs[idx];
	if (!create)
		return NULL;
	if (grow((void **)&s->procs, &s->proccap, s->nprocs, sizeof(*s->procs)))
		return NULL;
	struct proc *p = &s->procs[s->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (u64map_put(&s->proc_by_pid, pid, (uint32_t)s->nprocs))
		return NULL;
	s->nprocs++;
	return p;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b && b[1] ? b + 1 : path;
}

static int get_dso(struct sess *s, const char *path, const uint8_t *bid, uint8_t bidlen,
		   uint32_t *out)
{
	uint64_t h = ps_hash(path, strlen(path)) ^ (bidlen ? ps_hash(bid, bidlen) : 0);
	/* Chained through the map: probe h, h+1, ... until the same dso or a free key. */
	for (uint64_t k = h;; k++) {
		uint32_t idx;
		if (!u64map_get(&s->dso_by_hash, k, &idx))
			break;
		struct dso *d = &s->dsos[idx];
		if (!strcmp(d->path, path) && d->build_id_size == bidlen &&
		    !memcmp(d->build_id, bid, bidlen)) {
			*out = idx;
			return 0;
		}
		h = k + 1;
	}
	if (grow((void **)&s->dsos, &s->dsocap, s->ndsos, sizeof(*s->dsos)))
		return -ENOMEM;
	struct dso *d = &s->dsos[s->ndsos];
	memset(d, 0, sizeof(*d));
	d->path = ps_arena_strndup(s->arena, path, strlen(path));
	if (!d->path)
		return -ENOMEM;
	d->base = base_name(d->path);
	memcpy(d->build_id, bid, bidlen > 20 ? 20 : bidlen);
	d->build_id_size = bidlen > 20 ? 20 : bidlen;
	if (!strcmp(path, "[vdso]"))
		d->kind = DSO_VDSO;
	else if (path[0] != '/' || !strncmp(path, "/memfd:", 7) || !strncmp(path, "//anon", 6))
		d->kind = DSO_ANON;
	if (u64map_put(&s->dso_by_hash, h, (uint32_t)s->ndsos))
		return -ENOMEM;
	*out = (uint32_t)s->ndsos++;
	return 0;
}

static int add_map(struct sess *s, const ps_mmap *m)
{
	struct proc *p = get_proc(s, m->pid, 1);
	if (!p)
		return -ENOMEM;
	uint32_t dso;
	int err = get_dso(s, m->filename, m->build_id, m->build_id_size, &dso);
	if (err)
		return err;
	if (grow((void **)&p->maps, &p->cap, p->nmaps, sizeof(*p->maps)))
		return -ENOMEM;
	p->maps[p->nmaps++] = (struct map){m->start, m->start + m->len, m->pgoff, m->time, dso};
	return 0;
}

static const struct map *find_map(struct sess *s, uint32_t pid, uint64_t addr, uint64_t time)
{
	for (int depth = 0; depth < 64; depth++) {
		struct proc *p = get_proc(s, pid, 0);
		if (!p)
			return NULL;
		const struct map *best = NULL, *any = NULL;
		for (size_t i = 0; i < p->nmaps; i++) {
			const struct map *m = &p->maps[i];
			if (addr < m->start || addr >= m->end)
				continue;
			/* The latest mapping made before the sample wins; failing that (records
			 * from another CPU's ring can lag), the earliest one after it. */
			if (m->time <= time) {
				if (!best || m->time >= best->time)
					best = m;
			} else if (!any || m->time < any->time) {
				any = m;
			}
		}
		if (best || any)
			return best ? best : any;
		if (!p->has_parent || p->ppid == pid)
			return NULL;
		time = p->fork_time;
		pid = p->ppid;
	}
	return NULL;
}

static ps_elf *load_vdso(struct sess *s)
{
	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = 1;
	/* Every process maps the same vdso image: read our own. */
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return NULL;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return NULL;
	char line[512];
	size_t size = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a == base) {
			size = b - a;
			break;
		}
	}
	fclose(f);
	if (!size)
		return NULL;
	void *copy = ps_arena_alloc(s->arena, size);
	if (!copy)
		return NULL;
	memcpy(copy, (void *)base, size);
	unsigned flags = s->o->demangle ? PS_ELF_DEMANGLE : 0;
	ps_elf_open_mem(&s->vdso, copy, size, flags);
	return s->vdso;
}

/* perf's build-id cache: perf record (and perf buildid-cache -a, perf archive) keep a copy
 * of every binary samples hit, under $PERF_BUILDID_DIR or ~/.debug, found by build-id:
 * .build-id/xx/rest is a directory holding "elf" (or, in older perf, the file itself).
 * Used when the file at the recorded path is gone or is another build. */
static ps_elf *open_buildid_cache(struct dso *d, ps_elf_opts *eo)
{
	if (!d->build_id_size)
		return NULL;
	char base[4096];
	const char *dir = getenv("PERF_BUILDID_DIR");
	if (!dir || !*dir) {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return NULL;
		snprintf(base, sizeof(base), "%s/.debug", home);
		dir = base;
	}
	char hex[2 * sizeof(d->build_id) + 1];
	for (size_t i = 0; i < d->build_id_size && i < sizeof(d->build_id); i++)
		snprintf(hex + 2 * i, 3, "%02x", d->build_id[i]);
	char path[4096 + 128];
	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s/elf", dir, hex, hex + 2);
	if (ps_elf_open_opts(&d->elf, path, eo) == 0)
		return d->elf;
	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s", dir, hex, hex + 2);
	if (ps_elf_open_opts(&d->elf, path, eo) == 0)
		return d->elf;
	return NULL;
}

struct file_key {
	const struct sess *s;
	const char *path;
};

static int file_eq(const void *ctx, uint32_t id)
{
	const struct file_key *k = ctx;
	return !strcmp(k->s->files[id].path, k->path);
}

static const ps_fileid *find_file(const struct sess *s, const char *path)
{
	struct file_key k = {s, path};
	uint32_t id = ps_index_find(&s->file_by_path, ps_hash(path, strlen(path)), file_eq, &k);
	return id == UINT32_MAX ? NULL : &s->files[id];
}

static int add_file(struct sess *s, const ps_fileid *f)
{
	if (find_file(s, f->path))
		return 0; /* the first one recorded stands */
	if (PS_GROW(s->files, s->filecap, s->nfiles + 1))
		return -ENOMEM;
	ps_fileid *c = &s->files[s->nfiles];
	*c = *f;
	c->path = ps_arena_strndup(s->arena, f->path, strlen(f->path));
	if (!c->path || ps_index_insert(&s->file_by_path, ps_hash(f->path, strlen(f->path)),
					(uint32_t)s->nfiles))
		return -ENOMEM;
	s->nfiles++;
	return 0;
}

static void note_path(char *dst, size_t len, uint64_t *count, const char *path)
{
	if (!(*count)++)
		snprintf(dst, len, "%s", path);
}

/* Notes a file that was there but is not the one recorded. Returns err. */
static int refused(struct dso *d, int err)
{
	d->refused |= err == PS_ECORRUPT;
	return err;
}

static ps_elf *load_dso_file(struct sess *s, struct dso *d, uint32_t pid, const struct map *m)
{
	if (d->kind == DSO_VDSO)
		return load_vdso(s);
	if (d->tried || d->kind == DSO_ANON)
		return d->elf;
	d->tried = 1;
	ps_elf_opts eo = {0};
	eo.flags = (s->o->demangle ? PS_ELF_DEMANGLE : 0) |
		   (s->o->inline_frames ? PS_ELF_INLINE : 0) | (s->o->lines ? PS_ELF_LINES : 0);
	eo.want_build_id = d->build_id_size ? d->build_id : NULL;
	eo.idlen = d->build_id_size;
	const ps_fileid *f = d->build_id_size ? NULL : find_file(s, d->path);
	if (f && f->build_id_size) {
		eo.want_build_id = f->build_id;
		eo.idlen = f->build_id_size;
	}
	eo.want_file = f;
	d->unverified = !d->build_id_size && !f;
	eo.debug_dir = s->o->debug_dir ? s->o->debug_dir : getenv("PERFSAMPLE_DEBUG_DIR");
	/* The kernel names unlinked files "PATH (deleted)"; the name for debuglink
	 * directories is the path without that. */
	char name[4096];
	const char *deleted = strstr(d->path, " (deleted)");
	snprintf(name, sizeof(name), "%.*s",
		 deleted ? (int)(deleted - d->path) : (int)strlen(d->path), d->path);
	eo.name = name;
	char path[4096 + 64], root[64];
	if (pid && pid != PS_SYM_KERNEL_PID) {
		snprintf(root, sizeof(root), "/proc/%u/root", pid);
		eo.root = root;
		/* While the process lives, map_files is the very file it mapped, even when
		 * it was deleted or replaced since, or lives in another mount namespace. */
		if (m) {
			snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid,
				 (unsigned long long)m->start, (unsigned long long)m->end);
			if (refused(d, ps_elf_open_opts(&d->elf, path, &eo)) == 0)
				return d->elf;
		}
		if (!deleted) {
			snprintf(path, sizeof(path), "%s%s", root, name);
			if (refused(d, ps_elf_open_opts(&d->elf, path, &eo)) == 0)
				return d->elf;
		}
	}
	eo.root = NULL;
	if (!deleted && refused(d, ps_elf_open_opts(&d->elf, name, &eo)) == 0)
		return d->elf;
	return open_buildid_cache(d, &eo);
}

/* Opens the file a mapping named, when it is still the file that was recorded: the
 * build-id the mapping (or its FILE record) gives, else the FILE record's size and mtime.
 * Without either (older traces) the file is used as it is, and counted as unverified. */
static ps_elf *load_dso(struct sess *s, struct dso *d, uint32_t pid, const struct map *m)
{
	int first = !d->tried;
	ps_elf *e = load_dso_file(s, d, pid, m);
	if (!first)
		return e;
	if (d->refused && !e)
		note_path(s->rep.changed_path, sizeof(s->rep.changed_path), &s->rep.changed, d->path);
	else if (e && d->kind == DSO_FILE && d->unverified && !ps_trace_is_perfdata(s->r))
		note_path(s->rep.unverified_path, sizeof(s->rep.unverified_path), &s->rep.unverified,
			  d->path);
	return e;
}

static int pool_add(struct sess *s, const ps_sym_frame *f)
{
	if (grow((void **)&s->pool, &s->poolcap, s->npool, sizeof(*s->pool)))
		return -ENOMEM;
	s->pool[s->npool++] = *f;
	return 0;
}

static uint64_t res_hash(uint32_t pid, uint64_t addr) { return ps_hash_u64(addr * 31 + pid); }

static int res_find(struct sess *s, uint32_t pid, uint64_t addr, struct resolved **out)
{
	for (uint64_t k = res_hash(pid, addr);; k++) {
		uint32_t idx;
		if (!u64map_get(&s->res_by_key, k, &idx))
			return 0;
		if (s->res_keys_pid[idx] == pid && s->res_keys_addr[idx] == addr) {
			*out = &s->res[idx];
			return 1;
		}
	}
}

static int res_add(struct sess *s, uint32_t pid, uint64_t addr, uint32_t first, uint32_t n,
		   struct resolved **out)
{
	size_t cap = s->rescap;
	if (grow((void **)&s->res, &s->rescap, s->nres, sizeof(*s->res)))
		return -ENOMEM;
	if (cap != s->rescap) {
		uint64_t *a = realloc(s->res_keys_pid, s->rescap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		s->res_keys_pid = a;
		uint64_t *b = realloc(s->res_keys_addr, s->rescap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		s->res_keys_addr = b;
	}
	uint64_t k = res_hash(pid, addr);
	uint32_t idx;
	while (u64map_get(&s->res_by_key, k, &idx))
		k++;
	s->res[s->nres] = (struct resolved){first, n};
	s->res_keys_pid[s->nres] = pid;
	s->res_keys_addr[s->nres] = addr;
	if (u64map_put(&s->res_by_key, k, (uint32_t)s->nres))
		return -ENOMEM;
	*out = &s->res[s->nres++];
	return 0;
}

static const char *intern(struct sess *s, const char *str)
{
	return str ? ps_arena_strndup(s->arena, str, strlen(str)) : NULL;
}

/* Whether this machine's /proc/kallsyms can name the trace's kernel frames: the trace's
 * kernel build-id (or, for older traces, its release) must be this kernel's. */
static int same_kernel(struct sess *s)
{
	const char *bid = s->r ? ps_trace_meta(s->r, "kernel_build_id") : NULL;
	const char *rel = s->r ? ps_trace_meta(s->r, "release") : NULL;
	char here[41];
	if (bid && *bid && ps_kernel_build_id("/sys/kernel/notes", here) == 0)
		return !strcmp(bid, here);
	struct utsname un;
	return !rel || (uname(&un) == 0 && !strcmp(rel, un.release));
}

static ps_kallsyms *get_kallsyms(struct sess *s)
{
	if (!s->kallsyms_tried) {
		s->kallsyms_tried = 1;
		if (!s->o->kallsyms && !same_kernel(s)) {
			s->rep.kernel_foreign = 1;
			return NULL;
		}
		ps_kallsyms_load(&s->kallsyms, s->o->kallsyms ? s->o->kallsyms : "/proc/kallsyms");
		if (s->kallsyms && ps_kallsyms_hidden(s->kallsyms))
			s->rep.kernel_hidden = 1;
	}
	return s->kallsyms;
}

static ps_jit *get_jit(struct sess *s, struct proc *p)
{
	if (!p->jit_tried) {
		p->jit_tried = 1;
		char path[512];
		snprintf(path, sizeof(path), "%s/perf-%u.map",
			 s->o->jit_dir ? s->o->jit_dir : "/tmp", p->pid);
		/* The process's user, while it lives: its map must be that user's (or root's). */
		char proc[32];
		struct stat st;
		snprintf(proc, sizeof(proc), "/proc/%u", p->pid);
		long owner = stat(proc, &st) == 0 ? (long)st.st_uid : -1;
		if (ps_jit_load(&p->jit, path, s->o->demangle, owner) == -EPERM)
			s->rep.jit_refused++;
	}
	return p->jit;
}

/* Resolves one address from the files on this machine. lookup is the address to search
 * (a return address minus one), addr the sampled one. */
static int resolve_disk(struct sess *s, uint32_t pid, int kernel, uint64_t lookup, uint64_t addr,
			uint64_t time, struct resolved **out)
{
	uint32_t first = (uint32_t)s->npool;
	ps_sym_frame f = {.addr = addr};
	int err = 0;
	if (kernel) {
		f.kernel = 1;
		f.module = "[kernel.kallsyms]";
		ps_kallsyms *k = get_kallsyms(s);
		const char *mod = NULL;
		uint64_t start = 0;
		const char *name = k ? ps_kallsyms_lookup_start(k, lookup, &mod, &start) : NULL;
		if (name) {
			f.name = name;
			f.resolved = 1;
			f.offset = lookup - start;
			f.has_offset = 1;
			if (mod && *mod)
				f.module = mod;
		} else {
			f.name = "[unknown]";
		}
		err = pool_add(s, &f);
	} else {
		const struct map *m = find_map(s, pid, lookup, time);
		ps_elf_frame ef[PS_ELF_MAX_INLINE];
		int n = 0;
		if (m) {
			struct dso *d = &s->dsos[m->dso];
			f.module = d->path;
			ps_elf *e = load_dso(s, d, pid, m);
			uint64_t vaddr;
			if (e &&
			    ps_elf_offset_to_vaddr(e, lookup - m->start + m->pgoff, &vaddr) == 0)
				n = ps_elf_lookup(e, vaddr, ef, PS_ELF_MAX_INLINE);
			/* The looked-up address's offset in its function (perf's sym+0xOFF,
			 * less the one a return address was adjusted by). */
			for (int i = 0; i < n; i++)
				ef[i].start = vaddr - ef[i].start;
			if (!n && (d->kind == DSO_ANON || !e)) {
				struct proc *p = get_proc(s, pid, 0);
				ps_jit *j = p ? get_jit(s, p) : NULL;
				const char *jn = j ? ps_jit_lookup(j, lookup) : NULL;
				if (jn) {
					ef[0] = (ps_elf_frame){jn, NULL, 0, 0};
					n = 1;
					f.jit = 1;
					f.module = "[jit]"; /* how embedded records say "JIT" */
				}
			}
		} else {
			struct proc *p = get_proc(s, pid, 0);
			ps_jit *j = p ? get_jit(s, p) : NULL;
			const char *jn = j ? ps_jit_lookup(j, lookup) : NULL;
			if (jn) {
				ef[0] = (ps_elf_frame){jn, NULL, 0, 0};
				n = 1;
				f.jit = 1;
				f.module = "[jit]";
			}
		}
		if (!f.module)
			f.module = "";
		for (int i = 0; i < n && !err; i++) {
			ps_sym_frame g = f;
			g.name = intern(s, ef[i].name);
			g.file = intern(s, ef[i].file);
			g.line = ef[i].line;
			g.inlined = i < n - 1;
			g.resolved = 1;
			g.offset = ef[i].start; /* made an offset above */
			g.has_offset = !f.jit;
			err = pool_add(s, &g);
		}
		if (!n) {
			char buf[512];
			if (m)
				snprintf(buf, sizeof(buf), "[%s]", s->dsos[m->dso].base);
			f.name = intern(s, m ? buf : "[unknown]");
			f.offset = m ? lookup - m->start + m->pgoff : 0;
			err = pool_add(s, &f);
		}
	}
	if (err)
		return err;
	s->rep.addresses++;
	return res_add(s, kernel ? PS_SYM_KERNEL_PID : pid, lookup, first,
		       (uint32_t)(s->npool - first), out);
}

/* JIT frames have no function start to measure from. */
static int kernel_jit(int kernel, const char *module) { return !kernel && !strcmp(module, "[jit]"); }

static int add_embedded(struct sess *s, const ps_symrec *r)
{
	struct resolved *have;
	if (res_find(s, r->pid, r->addr, &have))
		return 0;
	uint32_t first = (uint32_t)s->npool;
	int kernel = r->pid == PS_SYM_KERNEL_PID;
	const char *module = intern(s, r->module);
	const char *name = r->names, *line = r->lines;
	for (uint32_t i = 0; i < r->nframes; i++) {
		/* Names are embedded as the binary spells them, so --no-demangle still works
		 * on a portable trace; demangling them here costs once per address. */
		char dbuf[4096];
		const char *shown = s->o->demangle ? ps_demangle(name, dbuf, sizeof(dbuf)) : name;
		ps_sym_frame f = {.name = intern(s, shown),
				  .module = module,
				  .kernel = kernel,
				  .jit = !kernel && !strcmp(r->module, "[jit]"),
				  .inlined = i + 1 < r->nframes,
				  .resolved = 1,
				  .offset = r->offset,
				  .has_offset = r->has_offset && !kernel_jit(kernel, r->module)};
		if (line && *line) {
			const char *colon = strrchr(line, ':');
			if (colon) {
				f.file = ps_arena_strndup(s->arena, line, (size_t)(colon - line));
				f.line = (unsigned)atoi(colon + 1);
			}
		}
		if (pool_add(s, &f))
			return -ENOMEM;
		name += strlen(name) + 1;
		if (line)
			line += strlen(line) + 1;
	}
	if (r->nframes == 0) {
		char buf[512];
		if (*r->module)
			snprintf(buf, sizeof(buf), "[%s]", base_name(r->module));
		ps_sym_frame f = {.name = intern(s, *r->module ? buf : "[unknown]"),
				  .module = module,
				  .kernel = kernel};
		if (pool_add(s, &f))
			return -ENOMEM;
	}
	s->rep.embedded++;
	return res_add(s, r->pid, r->addr, first, (uint32_t)(s->npool - first), &have);
}

static int resolve(struct sess *s, uint32_t pid, int kernel, uint64_t lookup, uint64_t addr,
		   uint64_t time, struct resolved **out)
{
	if (res_find(s, kernel ? PS_SYM_KERNEL_PID : pid, lookup, out))
		return 0;
	return resolve_disk(s, pid, kernel, lookup, addr, time, out);
}

static int add_comm(struct sess *s, uint32_t tid, const char *comm, uint64_t time)
{
	if (grow((void **)&s->comms, &s->commcap, s->ncomms, sizeof(*s->comms)))
		return -ENOMEM;
	uint32_t prev;
	struct comm *c = &s->comms[s->ncomms];
	c->name = intern(s, comm);
	c->time = time;
	c->next = u64map_get(&s->comm_by_tid, tid, &prev) ? prev + 1 : 0;
	if (!c->name)
		return -ENOMEM;
	return u64map_put(&s->comm_by_tid, tid, (uint32_t)s->ncomms++);
}

static int add_fork(struct sess *s, const ps_task *t)
{
	if (grow((void **)&s->forks, &s->forkcap, s->nforks, sizeof(*s->forks)))
		return -ENOMEM;
	s->forks[s->nforks] = (struct fork){t->ppid, t->ptid, t->time};
	return u64map_put(&s->parent_by_tid, t->tid, (uint32_t)s->nforks++);
}

/* The name thread tid had at time: its latest name set before then; failing that (the
 * records of different CPUs arrive in any order), its earliest; failing that, the name it
 * inherited from the thread that created it. */
static const char *comm_at(struct sess *s, uint32_t tid, uint64_t time, int depth)
{
	uint32_t idx;
	if (u64map_get(&s->comm_by_tid, tid, &idx)) {
		const struct comm *best = NULL, *first = NULL;
		for (uint32_t i = idx + 1; i; i = s->comms[i - 1].next) {
			const struct comm *c = &s->comms[i - 1];
			if (c->time <= time && (!best || c->time > best->time))
				best = c;
			if (!first || c->time <= first->time)
				first = c;
		}
		return best ? best->name : first->name;
	}
	if (depth < 16 && u64map_get(&s->parent_by_tid, tid, &idx))
		return comm_at(s, s->forks[idx].ptid, s->forks[idx].time, depth + 1);
	return NULL;
}

static const char *get_comm(struct sess *s, uint32_t pid, uint32_t tid, uint64_t time)
{
	const char *c = comm_at(s, tid, time, 0);
	return c ? c : comm_at(s, pid, time, 0);
}

/* Address spaces, names and embedded symbols: what samples need to be named. */
static int take_record(struct sess *s, const ps_event *ev)
{
	int err = 0;
	if (ev->type == PS_REC_MMAP) {
		err = add_map(s, &ev->mmap);
	} else if (ev->type == PS_REC_COMM) {
		err = add_comm(s, ev->comm.tid, ev->comm.comm, ev->comm.time);
	} else if (ev->type == PS_REC_FORK) {
		err = add_fork(s, &ev->task);
		if (!err && ev->task.pid != ev->task.ppid) {
			struct proc *p = get_proc(s, ev->task.pid, 1);
			if (!p)
				return -ENOMEM;
			if (!p->has_parent) {
				p->has_parent = 1;
				p->ppid = ev->task.ppid;
				p->fork_time = ev->task.time;
			}
		}
	} else if (ev->type == PS_REC_SYMBOL && s->o->use_embedded) {
		s->have_embedded = 1;
		err = add_embedded(s, &ev->sym);
	} else if (ev->type == PS_REC_NOTE && !strcmp(ev->note.key, "kernel_hidden")) {
		s->rep.kernel_hidden = 1;
	} else if (ev->type == PS_REC_FILE) {
		err = add_file(s, &ev->file);
	}
	return err;
}

/* First pass: address spaces and embedded symbols, which later samples need. */
static int pass_one(struct sess *s, ps_trace_reader *r)
{
	ps_event ev;
	int got;
	while ((got = ps_trace_next(r, &ev)) > 0) {
		ps_trace_summary_add(&s->rep.trace, &ev);
		int err = take_record(s, &ev);
		if (err)
			return err;
	}
	return got;
}

/* --time: seconds from the recording's start, the STATS record's, else the earliest
 * sample's (samples are stored in the order the CPUs' rings were drained). */
static int in_time_range(const ps_sym_opts *o, const ps_trace_summary *t, uint64_t time)
{
	if (!o->time_range)
		return 1;
	uint64_t t0 = ps_trace_summary_start(t);
	uint64_t rel = time > t0 ? time - t0 : 0;
	return rel >= o->time_start_ns && rel < o->time_end_ns;
}

static int id_in(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

typedef int (*addr_fn)(struct sess *s, const ps_sample *sm, uint32_t pid, int kernel,
		       uint64_t lookup, uint64_t addr, void *ctx);

/* Walks a chain: context markers say which side an address is on; each address but the
 * first of its side is a return address, so it is looked up one byte earlier (the call). */
static int for_each_addr(struct sess *s, const ps_sample *sm, addr_fn fn, void *ctx)
{
	int kernel = 0, first = 1;
	for (uint32_t i = 0; i < sm->nr; i++) {
		uint64_t a = sm->ips[i];
		if (a >= PS_CONTEXT_MAX) {
			kernel = a == PS_CONTEXT_KERNEL;
			first = 1;
			continue;
		}
		int k = kernel || a >= 0xffff800000000000ull;
		int err = fn(s, sm, sm->pid, k, first ? a : a - 1, a, ctx);
		if (err)
			return err;
		first = 0;
	}
	return 0;
}

struct walk_ctx {
	size_t n;
};

static int collect_frames(struct sess *s, const ps_sample *sm, uint32_t pid, int kernel,
			  uint64_t lookup, uint64_t addr, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct resolved *res;
	int err = resolve(s, pid, kernel, lookup, addr, sm->time, &res);
	if (err)
		return err;
	for (uint32_t i = 0; i < res->n && w->n < MAX_FRAMES; i++) {
		/* Embedded symbols carry inline frames; --no-inline leaves them out here. */
		if (s->pool[res->first + i].inlined && !s->o->inline_frames)
			continue;
		s->out[w->n] = s->pool[res->first + i];
		s->out[w->n].addr = addr;
		s->rep.frames++;
		if (!s->out[w->n].resolved)
			s->rep.unresolved++;
		w->n++;
	}
	return 0;
}

/* Starts a session: address spaces, names and embedded symbols from a first pass over
 * the trace, then back to its start for the samples. */
static int sess_begin(struct sess *s, ps_trace_reader *r, const ps_sym_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->r = r;
	s->arena = ps_arena_new();
	if (!s->arena)
		return -ENOMEM;
	int err = ps_trace_rewind(r);
	if (!err)
		err = pass_one(s, r);
	if (!err)
		err = ps_trace_rewind(r);
	return err;
}

/* The next sample that passes the options' filters, and its thread's name (NULL when
 * unknown: no name filter matches it). Returns 1, 0 at the end, or a negative code. */
static int next_sample(struct sess *s, ps_trace_reader *r, ps_event *ev, const char **comm)
{
	const ps_sym_opts *o = s->o;
	int got;
	while ((got = ps_trace_next(r, ev)) > 0) {
		if (ev->type != PS_REC_SAMPLE)
			continue;
		const ps_sample *sm = &ev->sample;
		if (o->npids && !id_in(o->pids, o->npids, sm->pid))
			continue;
		if (o->ntids && !id_in(o->tids, o->ntids, sm->tid))
			continue;
		if (!in_time_range(o, &s->rep.trace, sm->time))
			continue;
		*comm = get_comm(s, sm->pid, sm->tid, sm->time);
		if (o->comm && (!*comm || strcmp(o->comm, *comm)))
			continue;
		s->rep.samples++;
		return 1;
	}
	return got;
}

int ps_sym_walk(ps_trace_reader *r, const ps_sym_opts *o, ps_sym_sample_fn fn, void *ctx,
		ps_sym_report *rep)
{
	struct sess s;
	int err = sess_begin(&s, r, o);
	ps_event ev;
	const char *comm;
	int got = 0;
	while (!err && (got = next_sample(&s, r, &ev, &comm)) > 0) {
		const ps_sample *sm = &ev.sample;
		char unknown_comm[32];
		if (!comm) {
			snprintf(unknown_comm, sizeof(unknown_comm), ":%u", sm->tid);
			comm = unknown_comm;
		}
		struct walk_ctx w = {0};
		err = for_each_addr(&s, sm, collect_frames, &w);
		if (err)
			break;
		ps_sym_sample out = {comm, sm->pid, sm->tid, sm->cpu, sm->time, sm->period, w.n, s.out};
		err = fn(ctx, &out);
	}
	if (!err && got < 0)
		err = got;
	if (rep)
		*rep = s.rep;
	sess_release(&s);
	return err;
}

/* ---- the profile model ---- */

/* Samples repeat a few call chains, so the profile is built from distinct (process,
 * thread name, chain) keys: each sample costs a hash of its chain, and each distinct
 * chain is resolved and turned into a stack once. */
/* A distinct call chain of the trace. */
struct chain {
	uint32_t nr;
	const uint64_t *ips; /* copy in the session arena */
};

struct agg {
	uint32_t pid, tid, nr, chain;
	const char *comm; /* the thread's name, NULL when unknown (then tid names it) */
	uint64_t time;    /* of its first sample: which mappings were current */
	uint64_t last;    /* of its last sample */
	uint64_t count, period;
	const uint64_t *ips; /* copy in the session arena */
	ps_node_id node;
	uint8_t renamed; /* the thread's name changed while it ran this chain */
	uint8_t excluded; /* --comm leaves it out */
};

struct build {
	struct sess *s;
	ps_profile *p;
	int addresses;             /* frames per address (with file:line), else per function */
	struct agg *aggs;
	size_t naggs, aggcap;
	ps_index agg_index;
	struct chain *chains;
	size_t nchains, chaincap;
	ps_index chain_index;
	/* The chunk's stack numbers seen last: stack -> chain, while chunk is current. */
	uint32_t *stack_chain;
	uint64_t *stack_chunk;
	size_t stackcap;
	/* Every sample: when, which chain (and its period, when samples are kept). */
	uint64_t *stime, *speriod;
	uint32_t *scpu; /* kept samples only */
	uint32_t *sagg;
	size_t nseen, stimecap, speriodcap, saggcap, scpucap;
	uint32_t *pool_fid;        /* per pool frame: model frame id + 1 (0: not made yet) */
	size_t pool_fid_cap;
	uint32_t *dso_mapping;     /* per dso: model mapping id + 1, function detail */
	size_t dso_mapping_cap;
	ps_frame_id fids[MAX_FRAMES + 1];
	size_t nfids;
	ps_buf name;
};

struct chain_key {
	const struct build *b;
	const ps_sample *sm;
};

static int chain_eq(const void *ctx, uint32_t id)
{
	const struct chain_key *k = ctx;
	const struct chain *c = &k->b->chains[id];
	return c->nr == k->sm->nr && !memcmp(c->ips, k->sm->ips, c->nr * sizeof(*c->ips));
}

/* The chain's id: the chunk's stack number finds it without hashing the chain when the
 * chunk used that stack before (the writer stores each distinct stack once per chunk). */
static int chain_of(struct build *b, const ps_sample *sm, uint32_t *out)
{
	if (sm->stack < b->stackcap && b->stack_chunk[sm->stack] == sm->chunk) {
		*out = b->stack_chain[sm->stack];
		return 0;
	}
	uint64_t h = ps_hash(sm->ips, sm->nr * sizeof(*sm->ips));
	struct chain_key k = {b, sm};
	uint32_t id = ps_index_find(&b->chain_index, h, chain_eq, &k);
	if (id == UINT32_MAX) {
		if (PS_GROW(b->chains, b->chaincap, b->nchains + 1))
			return -ENOMEM;
		uint64_t *ips = ps_arena_alloc(b->s->arena, sm->nr * sizeof(*ips) + 1);
		if (!ips)
			return -ENOMEM;
		memcpy(ips, sm->ips, sm->nr * sizeof(*ips));
		id = (uint32_t)b->nchains;
		int err = ps_index_insert(&b->chain_index, h, id);
		if (err)
			return err;
		b->chains[b->nchains++] = (struct chain){sm->nr, ips};
	}
	if (sm->stack != UINT32_MAX) {
		if (sm->stack >= b->stackcap) {
			size_t cap = b->stackcap, c2 = b->stackcap;
			if (PS_GROW(b->stack_chain, cap, (size_t)sm->stack + 1) ||
			    PS_GROW(b->stack_chunk, c2, (size_t)sm->stack + 1))
				return -ENOMEM;
			size_t n = cap < c2 ? cap : c2;
			memset(b->stack_chunk + b->stackcap, 0xff,
			       (n - b->stackcap) * sizeof(*b->stack_chunk));
			b->stackcap = n;
		}
		b->stack_chain[sm->stack] = id;
		b->stack_chunk[sm->stack] = sm->chunk;
	}
	*out = id;
	return 0;
}

struct agg_key {
	const struct build *b;
	uint32_t chain, pid, tid;
};

static int agg_eq(const void *ctx, uint32_t id)
{
	const struct agg_key *k = ctx;
	const struct agg *a = &k->b->aggs[id];
	return a->chain == k->chain && a->pid == k->pid && a->tid == k->tid;
}

/* The (chain, pid, tid) of a sample, made when absent. */
static int agg_find(struct build *b, const ps_sample *sm, uint32_t *out)
{
	uint32_t chain;
	int err = chain_of(b, sm, &chain);
	if (err)
		return err;
	uint64_t h = ps_hash_u64((uint64_t)chain << 32 ^ sm->pid) ^ ps_hash_u64(sm->tid + 1);
	struct agg_key k = {b, chain, sm->pid, sm->tid};
	uint32_t id = ps_index_find(&b->agg_index, h, agg_eq, &k);
	if (id == UINT32_MAX) {
		if (PS_GROW(b->aggs, b->aggcap, b->naggs + 1))
			return -ENOMEM;
		id = (uint32_t)b->naggs;
		err = ps_index_insert(&b->agg_index, h, id);
		if (err)
			return err;
		const struct chain *c = &b->chains[chain];
		b->aggs[b->naggs++] = (struct agg){.pid = sm->pid, .tid = sm->tid, .nr = c->nr,
						   .chain = chain, .time = sm->time,
						   .last = sm->time, .ips = c->ips};
	}
	*out = id;
	return 0;
}

/* Counts a sample to its (chain, pid, tid). */
static int agg_add(struct build *b, const ps_sample *sm, uint32_t *out)
{
	uint32_t id;
	int err = agg_find(b, sm, &id);
	if (err)
		return err;
	struct agg *a = &b->aggs[id];
	a->count++;
	a->period += sm->period ? sm->period : 1;
	if (sm->time < a->time)
		a->time = sm->time;
	if (sm->time > a->last)
		a->last = sm->time;
	*out = id;
	return 0;
}

static void hex(char *out, const uint8_t *id, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The model's mapping for a user address: the file mapped there with its build-id, and
 * (per address only) the mapped range, as pprof wants it. */
static int mapping_of(struct build *b, uint32_t pid, uint64_t lookup, uint64_t time,
		      uint32_t *out)
{
	struct sess *s = b->s;
	*out = PS_MAPPING_NONE;
	const struct map *m = find_map(s, pid, lookup, time);
	if (!m)
		return 0;
	if (!b->addresses && m->dso < b->dso_mapping_cap && b->dso_mapping[m->dso]) {
		*out = b->dso_mapping[m->dso] - 1;
		return 0;
	}
	const struct dso *d = &s->dsos[m->dso];
	char bid[41];
	hex(bid, d->build_id, d->build_id_size);
	ps_mapping pm = {d->path, d->build_id_size ? bid : NULL, 0, 0, 0};
	if (b->addresses) {
		pm.start = m->start;
		pm.limit = m->end;
		pm.pgoff = m->pgoff;
	}
	int err = ps_profile_mapping(b->p, &pm, out);
	if (err || b->addresses)
		return err;
	size_t cap = b->dso_mapping_cap;
	if (PS_GROW(b->dso_mapping, b->dso_mapping_cap, s->ndsos))
		return -ENOMEM;
	memset(b->dso_mapping + cap, 0, (b->dso_mapping_cap - cap) * sizeof(*b->dso_mapping));
	b->dso_mapping[m->dso] = *out + 1;
	return 0;
}

static int kernel_mapping(struct build *b, const char *module, uint32_t *out)
{
	ps_mapping pm = {module && *module ? module : "[kernel.kallsyms]", NULL, 0, 0, 0};
	return ps_profile_mapping(b->p, &pm, out);
}

/* The model frame of pool frame i, made on first use. */
static int model_frame(struct build *b, size_t i, const ps_sample *sm, int kernel,
		       uint64_t lookup, uint64_t addr, ps_frame_id *out)
{
	struct sess *s = b->s;
	/* Named by its sampled address, an unresolved frame is not one per pool frame. */
	int by_addr = !s->pool[i].resolved && s->o->addrs;
	if (!by_addr && i < b->pool_fid_cap && b->pool_fid[i]) {
		*out = b->pool_fid[i] - 1;
		return 0;
	}
	const ps_sym_frame *f = &s->pool[i];
	ps_frame pf = {.name = f->name,
		       .kind = f->kernel	? PS_FRAME_KERNEL
			       : f->jit		? PS_FRAME_JIT
			       : f->inlined	? PS_FRAME_INLINE
						: PS_FRAME_USER,
		       .unresolved = !f->resolved};
	int err = kernel ? kernel_mapping(b, f->module, &pf.mapping)
			 : mapping_of(b, sm->pid, lookup, sm->time, &pf.mapping);
	if (err)
		return err;
	if (b->addresses || s->o->lines) {
		pf.file = f->file;
		pf.line = f->line;
	}
	if (b->addresses) {
		pf.addr = lookup;
		pf.retaddr = lookup != addr;
		uint64_t off = f->offset + (addr - lookup); /* of the sampled address */
		if (f->resolved && f->has_offset && off <= UINT32_MAX) {
			pf.symoff = (uint32_t)off;
			pf.has_symoff = 1;
		}
	}
	if (!f->resolved && s->o->addrs) {
		/* An unresolved frame is named by where it is: module+offset or the address. */
		b->name.len = 0;
		const struct map *m = kernel ? NULL : find_map(s, sm->pid, lookup, sm->time);
		if (m && !(f->module && !strcmp(f->module, "[jit]")))
			err = ps_buf_printf(&b->name, "%s+0x%llx", s->dsos[m->dso].base,
					    (unsigned long long)(lookup - m->start + m->pgoff));
		else
			err = ps_buf_printf(&b->name, "0x%llx", (unsigned long long)addr);
		if (err)
			return err;
		pf.name = b->name.data;
	}
	err = ps_profile_frame(b->p, &pf, out);
	if (err || by_addr)
		return err;
	size_t cap = b->pool_fid_cap;
	if (PS_GROW(b->pool_fid, b->pool_fid_cap, s->npool))
		return -ENOMEM;
	memset(b->pool_fid + cap, 0, (b->pool_fid_cap - cap) * sizeof(*b->pool_fid));
	b->pool_fid[i] = *out + 1;
	return 0;
}

static int build_addr(struct sess *s, const ps_sample *sm, uint32_t pid, int kernel,
		      uint64_t lookup, uint64_t addr, void *ctx)
{
	struct build *b = ctx;
	struct resolved *res = NULL;
	int err = resolve(s, pid, kernel, lookup, addr, sm->time, &res);
	uint32_t first = res ? res->first : 0, n = res ? res->n : 0;
	for (uint32_t i = 0; !err && i < n && b->nfids < MAX_FRAMES; i++) {
		const ps_sym_frame *f = &s->pool[first + i];
		/* Embedded symbols carry inline frames; --no-inline leaves them out here. */
		if (f->inlined && !s->o->inline_frames)
			continue;
		s->rep.frames++;
		if (!f->resolved)
			s->rep.unresolved++;
		err = model_frame(b, first + i, sm, kernel, lookup, addr, &b->fids[b->nfids++]);
	}
	return err;
}

/* The stack of one distinct chain: the root frame the options ask for, then the chain's
 * frames from the outermost. */
static int agg_node(struct build *b, const struct agg *a, ps_node_id *out)
{
	struct sess *s = b->s;
	const ps_sym_opts *o = s->o;
	ps_sample sm = {.time = a->time, .pid = a->pid, .tid = a->tid, .nr = a->nr, .ips = a->ips};
	b->nfids = 0;
	int err = for_each_addr(s, &sm, build_addr, b);
	if (err)
		return err;
	if (!b->nfids && o->root == PS_ROOT_NONE) {
		*out = PS_NODE_ROOT;
		return 0;
	}
	ps_node_id at = PS_NODE_ROOT;
	if (o->root != PS_ROOT_NONE) {
		char unknown[32];
		const char *comm = a->comm;
		if (!comm) {
			snprintf(unknown, sizeof(unknown), ":%u", a->tid);
			comm = unknown;
		}
		b->name.len = 0;
		err = o->root == PS_ROOT_PID   ? ps_buf_printf(&b->name, "%s-%u", comm, a->pid)
		      : o->root == PS_ROOT_TID ? ps_buf_printf(&b->name, "%s-%u/%u", comm, a->pid,
							       a->tid)
					       : ps_buf_addstr(&b->name, comm);
		ps_frame_id root;
		if (!err)
			err = ps_profile_frame_named(b->p, b->name.data, b->name.len,
						     PS_FRAME_PROCESS, &root);
		if (!err)
			err = ps_profile_child(b->p, at, root, &at);
	}
	for (size_t i = b->nfids; !err && i-- > 0;)
		err = ps_profile_child(b->p, at, b->fids[i], &at);
	*out = at;
	return err;
}

static int sym_demangle(void *ctx, const char *name, ps_buf *out)
{
	(void)ctx;
	char buf[4096];
	const char *d = ps_demangle(name, buf, sizeof(buf));
	if (d == name || !strcmp(d, name))
		return 0;
	return ps_buf_addstr(out, d) ? -ENOMEM : 1;
}

void ps_sym_set_labels(const ps_sym_opts *o, ps_profile *p)
{
	ps_label_opts lo = {0};
	lo.flags = (o->annotate_kernel ? PS_LABEL_KERNEL : 0) | (o->annotate_jit ? PS_LABEL_JIT : 0) |
		   (o->annotate_inline ? PS_LABEL_INLINE : 0) | (o->lines ? PS_LABEL_LINES : 0);
	lo.demangle = o->demangle ? sym_demangle : NULL;
	ps_profile_set_labels(p, &lo);
}

static int is_clock_event(const char *ev)
{
	return ev && (!strcmp(ev, "cpu-clock") || !strcmp(ev, "task-clock"));
}

static int names_differ(const char *a, const char *b)
{
	return a != b && (!a || !b || strcmp(a, b));
}

/* The name of the agg's thread, once every COMM record is in: a chain's samples share it
 * unless the thread was renamed (exec, prctl) while it ran that chain. */
static void agg_names(struct build *b)
{
	struct sess *s = b->s;
	for (size_t i = 0; i < b->naggs; i++) {
		struct agg *a = &b->aggs[i];
		a->comm = get_comm(s, a->pid, a->tid, a->time);
		a->renamed = names_differ(a->comm, get_comm(s, a->pid, a->tid, a->last));
		a->excluded = s->o->comm && (!a->comm || strcmp(s->o->comm, a->comm));
	}
}

/* Samples of a renamed thread's chain: its node for the name at the sample's time. */
struct renamed_tab {
	ps_index index;
	struct {
		uint32_t agg;
		const char *comm;
		ps_node_id node;
		int excluded;
	} *v;
	size_t n, cap;
};

struct renamed_key {
	const struct renamed_tab *t;
	uint32_t agg;
	const char *comm;
};

static int renamed_eq(const void *ctx, uint32_t id)
{
	const struct renamed_key *k = ctx;
	return k->t->v[id].agg == k->agg && k->t->v[id].comm == k->comm;
}

static int renamed_node(struct build *b, struct renamed_tab *t, uint32_t agg, uint64_t time,
			ps_node_id *node, int *excluded)
{
	struct agg a = b->aggs[agg];
	const char *comm = get_comm(b->s, a.pid, a.tid, time);
	uint64_t h = ps_hash_u64((uint64_t)agg << 32 ^ (uintptr_t)comm);
	struct renamed_key k = {t, agg, comm};
	uint32_t id = ps_index_find(&t->index, h, renamed_eq, &k);
	if (id != UINT32_MAX) {
		*node = t->v[id].node;
		*excluded = t->v[id].excluded;
		return 0;
	}
	a.comm = comm;
	int ex = b->s->o->comm && (!comm || strcmp(b->s->o->comm, comm));
	ps_node_id n = PS_NODE_ROOT;
	int err = ex ? 0 : agg_node(b, &a, &n);
	if (!err && PS_GROW(t->v, t->cap, t->n + 1))
		err = -ENOMEM;
	if (!err)
		err = ps_index_insert(&t->index, h, (uint32_t)t->n);
	if (err)
		return err;
	t->v[t->n].agg = agg;
	t->v[t->n].comm = comm;
	t->v[t->n].node = n;
	t->v[t->n].excluded = ex;
	t->n++;
	*node = n;
	*excluded = ex;
	return 0;
}

/* Adds one sample of an agg (kept samples, time ranges, renamed threads). */
struct one_ctx {
	struct build *b;
	struct renamed_tab *rt;
	ps_profile *out;
	int c_samples, c_cpu;
	uint64_t samples;
};

static int one_sample(struct one_ctx *c, uint32_t agg, uint64_t time, uint64_t period,
		      uint32_t cpu)
{
	const struct agg *a = &c->b->aggs[agg];
	ps_node_id node = a->node;
	int excluded = a->excluded;
	if (a->renamed) {
		int err = renamed_node(c->b, c->rt, agg, time, &node, &excluded);
		if (err)
			return err;
	}
	if (excluded || (!node && c->b->s->o->root == PS_ROOT_NONE))
		return 0;
	uint64_t v[PS_PROFILE_MAX_COLS] = {0};
	if (c->c_samples >= 0)
		v[c->c_samples] = 1;
	if (c->c_cpu >= 0)
		v[c->c_cpu] = period;
	c->samples++;
	ps_profile_sample ps = {time, a->pid, a->tid, node, cpu};
	return ps_profile_add_sample(c->out, &ps, v);
}

int ps_sym_profile(ps_trace_reader *r, const ps_sym_opts *o, int weight_period, ps_profile *out,
		   ps_sym_report *rep)
{
	/* Names stay as the binaries spell them; labels demangle when they print. */
	ps_sym_opts ro = *o;
	ro.demangle = 0;
	struct sess s;
	struct build b = {.s = &s, .p = out, .addresses = o->addresses};
	struct renamed_tab rt = {0};
	int keep = !!(ps_profile_flags(out) & PS_PROFILE_SAMPLES);
	/* A time range needs the recording's start, known at the end: samples are taken one
	 * by one then (as kept ones are). */
	int by_sample = keep || o->time_range;
	memset(&s, 0, sizeof(s));
	s.o = &ro;
	s.r = r;
	s.arena = ps_arena_new();
	int err = s.arena ? ps_trace_rewind(r) : -ENOMEM;

	/* Columns: what one sample counts, and the time it stands for when the event is a
	 * clock (its period is nanoseconds). */
	int clock = is_clock_event(ps_trace_meta(r, "event"));
	int c_samples = -1, c_cpu = -1;
	if (!err && ps_profile_ntypes(out) == 0) {
		if (weight_period)
			c_cpu = ps_profile_add_type(out, clock ? "cpu" : "events",
						    clock ? "nanoseconds" : "count");
		else {
			c_samples = ps_profile_add_type(out, "samples", "count");
			if (clock && c_samples >= 0)
				c_cpu = ps_profile_add_type(out, "cpu", "nanoseconds");
		}
		if (c_samples < -1 || c_cpu < -1)
			err = -ENOMEM;
	} else if (!err) {
		c_samples = ps_profile_find_type(out, "samples");
		c_cpu = ps_profile_find_type(out, clock ? "cpu" : "events");
	}

	/* One pass over the trace: address spaces, names and symbols are taken in, samples
	 * are counted to their chains, which are named when every record is in (embedded
	 * symbols come last, and a CPU's ring can deliver a thread's name after samples). */
	ps_event ev;
	int got = 0;
	while (!err && (got = ps_trace_next(r, &ev)) > 0) {
		ps_trace_summary_add(&s.rep.trace, &ev);
		if (ev.type != PS_REC_SAMPLE) {
			err = take_record(&s, &ev);
			continue;
		}
		const ps_sample *sm = &ev.sample;
		if ((o->npids && !id_in(o->pids, o->npids, sm->pid)) ||
		    (o->ntids && !id_in(o->tids, o->ntids, sm->tid)))
			continue;
		uint32_t id;
		err = agg_add(&b, sm, &id);
		if (err || !by_sample)
			continue;
		if (PS_GROW(b.stime, b.stimecap, b.nseen + 1) ||
		    PS_GROW(b.sagg, b.saggcap, b.nseen + 1) ||
		    PS_GROW(b.speriod, b.speriodcap, b.nseen + 1)) {
			err = -ENOMEM;
			break;
		}
		if (keep && PS_GROW(b.scpu, b.scpucap, b.nseen + 1)) {
			err = -ENOMEM;
			break;
		}
		if (keep)
			b.scpu[b.nseen] = sm->cpu;
		b.stime[b.nseen] = sm->time;
		b.sagg[b.nseen] = id;
		b.speriod[b.nseen] = sm->period ? sm->period : 1;
		b.nseen++;
	}
	if (!err && got < 0)
		err = got;
	if (!err)
		agg_names(&b);

	int any_renamed = 0;
	for (size_t i = 0; !err && i < b.naggs; i++) {
		struct agg *a = &b.aggs[i];
		any_renamed |= a->renamed;
		if (!a->renamed && !a->excluded)
			err = agg_node(&b, a, &a->node);
	}
	if (!err && !by_sample) {
		for (size_t i = 0; !err && i < b.naggs; i++) {
			const struct agg *a = &b.aggs[i];
			if (a->renamed || a->excluded || (!a->node && o->root == PS_ROOT_NONE))
				continue;
			s.rep.samples += a->count;
			if (c_samples >= 0)
				err = ps_profile_add_value(out, a->node, (size_t)c_samples, a->count);
			if (!err && c_cpu >= 0)
				err = ps_profile_add_value(out, a->node, (size_t)c_cpu, a->period);
		}
	}
	struct one_ctx oc = {&b, &rt, out, c_samples, c_cpu, 0};
	if (!err && by_sample) {
		/* Sample by sample: a time range measured from the recording's start,
		 * renamed threads' samples under the name they had then; kept samples are
		 * put in time order (the trace holds them in the order the CPUs' rings were
		 * drained). */
		for (size_t i = 0; !err && i < b.nseen; i++)
			if (in_time_range(o, &s.rep.trace, b.stime[i]))
				err = one_sample(&oc, b.sagg[i], b.stime[i], b.speriod[i],
						 keep ? b.scpu[i] : 0);
		if (!err && keep)
			err = ps_profile_sort_samples(out);
	} else if (!err && any_renamed) {
		/* Rare (the same chain in a thread before and after exec or prctl renamed it):
		 * read the samples again for those chains, each under its name at the time. */
		err = ps_trace_rewind(r);
		while (!err && (got = ps_trace_next(r, &ev)) > 0) {
			const ps_sample *sm = &ev.sample;
			uint32_t id;
			if (ev.type != PS_REC_SAMPLE ||
			    (o->npids && !id_in(o->pids, o->npids, sm->pid)) ||
			    (o->ntids && !id_in(o->tids, o->ntids, sm->tid)))
				continue;
			err = agg_find(&b, sm, &id);
			if (!err && b.aggs[id].renamed)
				err = one_sample(&oc, id, sm->time, sm->period ? sm->period : 1,
						 sm->cpu);
		}
		if (!err && got < 0)
			err = got;
	}
	s.rep.samples += oc.samples;
	if (!err)
		ps_sym_set_labels(o, out);
	if (rep)
		*rep = s.rep;
	free(rt.v);
	ps_index_release(&rt.index);
	free(b.aggs);
	ps_index_release(&b.agg_index);
	free(b.chains);
	ps_index_release(&b.chain_index);
	free(b.stack_chain);
	free(b.stack_chunk);
	free(b.stime);
	free(b.scpu);
	free(b.speriod);
	free(b.sagg);
	free(b.pool_fid);
	free(b.dso_mapping);
	ps_buf_release(&b.name);
	sess_release(&s);
	return err;
}

/* ---- embedding ---- */

struct embed_ctx {
	ps_trace_writer *w;
	ps_buf names, lines;
};

static int embed_addr(struct sess *s, const ps_sample *sm, uint32_t pid, int kernel,
		      uint64_t lookup, uint64_t addr, void *ctx)
{
	struct embed_ctx *ec = ctx;
	struct resolved *res;
	if (res_find(s, kernel ? PS_SYM_KERNEL_PID : pid, lookup, &res))
		return 0; /* written already */
	int err = resolve_disk(s, pid, kernel, lookup, addr, sm->time, &res);
	if (err)
		return err;
	ec->names.len = ec->lines.len = 0;
	uint32_t n = 0;
	int any_line = 0;
	const char *module = "";
	int has_offset = 0;
	uint64_t offset = 0;
	for (uint32_t i = 0; i < res->n; i++) {
		const ps_sym_frame *f = &s->pool[res->first + i];
		module = f->module ? f->module : "";
		if (!f->resolved)
			continue;
		has_offset = f->has_offset;
		offset = f->offset;
		n++;
		err = ps_buf_add(&ec->names, f->name, strlen(f->name) + 1);
		if (!err && f->file) {
			any_line = 1;
			err = ps_buf_printf(&ec->lines, "%s:%u", f->file, f->line);
		}
		if (!err)
			err = ps_buf_add(&ec->lines, "", 1);
		if (err)
			return err;
	}
	ps_event ev = {.type = PS_REC_SYMBOL};
	ev.sym = (ps_symrec){.pid = kernel ? PS_SYM_KERNEL_PID : pid,
			     .nframes = n,
			     .addr = lookup,
			     .module = module,
			     .names = ec->names.data ? ec->names.data : "",
			     .lines = any_line ? ec->lines.data : NULL,
			     .has_offset = n && has_offset,
			     .offset = offset};
	s->rep.embedded++;
	return ps_trace_write(ec->w, &ev);
}

int ps_sym_embed(ps_trace_reader *r, const ps_sym_opts *o, ps_trace_writer *w, ps_sym_report *rep)
{
	struct sess s;
	ps_sym_opts eo = *o;
	eo.use_embedded = 0; /* resolve from disk: this is what writes them */
	eo.demangle = 0;     /* readers demangle, or not (--no-demangle) */
	struct embed_ctx ec = {w, {0}, {0}};
	int err = sess_begin(&s, r, &eo);
	ps_event ev;
	int got = 0;
	while (!err && (got = ps_trace_next(r, &ev)) > 0)
		if (ev.type == PS_REC_SAMPLE)
			err = for_each_addr(&s, &ev.sample, embed_addr, &ec);
	if (!err && got < 0)
		err = got;
	if (!err && s.rep.kernel_hidden) {
		ps_event note = {.type = PS_REC_NOTE};
		note.note = (ps_note){"kernel_hidden", "1"};
		err = ps_trace_write(w, &note);
	}
	if (rep)
		*rep = s.rep;
	ps_buf_release(&ec.names);
	ps_buf_release(&ec.lines);
	sess_release(&s);
	return err;
}
