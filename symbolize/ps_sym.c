#include "symbolize/ps_sym.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "formats/ps_aspace.h"
#include "formats/ps_error.h"
#include "formats/ps_heap.h"
#include "formats/ps_util.h"
#include "symbolize/ps_elf.h"
#include "symbolize/ps_jit.h"
#include "symbolize/ps_sym_cache.h"

#define MAX_FRAMES 1024

void ps_sym_opts_init(ps_sym_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->demangle = 1;
	o->inline_frames = 1;
	o->use_embedded = 1;
	o->root = PS_ROOT_COMM;
}

/* ---- the session ---- */

/* What the symbolizer knows of a mapped object (ps_aspace_obj ids index these): its ELF
 * image, opened once, on first use. */
struct dso {
	ps_elf *elf;
	int tried;
	int refused;    /* a file was found but was not the one recorded */
	int unverified; /* nothing recorded to check the file against */
};

/* A resolved address: a run of frames in the pool, innermost first. */
struct resolved {
	uint32_t first, n;
	uint32_t pid;
	uint64_t addr;
};

struct sess {
	const ps_sym_opts *o;
	ps_trace_reader *r;
	ps_arena *arena;
	/* Processes, mappings and thread names over the whole trace: samples are named
	 * once every record is in. Each process's word is its JIT map (ps_jit), loaded on
	 * first use (PS_JIT_NONE: looked for, none). */
	ps_aspace *as;
	struct dso *dsos;
	size_t dsocap;
	ps_sym_frame *pool;
	size_t npool, poolcap;
	struct resolved *res;
	size_t nres, rescap;
	ps_index res_index; /* (pid, addr) -> res */
	ps_kallsyms *kallsyms;
	int kallsyms_tried;
	int have_embedded;
	ps_elf *vdso;
	void *vdso_image;
	int vdso_tried;
	ps_sym_report rep;
	/* FILE records: what the files of mappings without a build-id were (by path). */
	ps_fileid *files;
	size_t nfiles, filecap;
	ps_index file_by_path;
};

/* A process's JIT map was looked for and there is none. */
static char jit_none;
#define PS_JIT_NONE ((void *)&jit_none)

static void release_jit(void *ctx, void *user)
{
	(void)ctx;
	if (user != PS_JIT_NONE)
		ps_jit_free(user);
}

static int sess_init(struct sess *s, ps_trace_reader *r, const ps_sym_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->r = r;
	s->arena = ps_arena_new();
	ps_aspace_opts ao = {.mode = PS_ASPACE_HISTORY, .proc_release = release_jit};
	if (!s->arena || ps_aspace_new(&s->as, &ao))
		return -ENOMEM;
	return 0;
}

static void sess_release(struct sess *s)
{
	for (size_t i = 0; i < s->dsocap && !s->o->cache; i++)
		ps_elf_free(s->dsos[i].elf);
	ps_elf_free(s->vdso);
	free(s->vdso_image);
	if (!s->o->cache || s->o->kallsyms)
		ps_kallsyms_free(s->kallsyms);
	ps_sym_cache_end(s->o->cache);
	ps_aspace_free(s->as);
	free(s->dsos);
	free(s->pool);
	free(s->res);
	ps_index_release(&s->res_index);
	free(s->files);
	ps_index_release(&s->file_by_path);
	ps_arena_free(s->arena);
}

static ps_sym_report sess_report(const struct sess *s)
{
	ps_sym_report rep = s->rep;
	ps_aspace_stats st = ps_aspace_get_stats(s->as);
	rep.dropped_records = st.dropped_maps + st.dropped_procs + st.dropped_names +
			      st.dropped_execs;
	rep.cut_lookups = st.cut_lookups;
	return rep;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b && b[1] ? b + 1 : path;
}

/* The symbolizer's side of object id: zeroed until used. */
static struct dso *dso_of(struct sess *s, uint32_t obj)
{
	size_t cap = s->dsocap;
	if (obj >= cap) {
		if (PS_GROW(s->dsos, s->dsocap, (size_t)obj + 1))
			return NULL;
		memset(s->dsos + cap, 0, (s->dsocap - cap) * sizeof(*s->dsos));
	}
	return &s->dsos[obj];
}

static const ps_aspace_map *find_map(struct sess *s, uint32_t pid, uint64_t addr, uint64_t time)
{
	return ps_aspace_find(s->as, pid, addr, time);
}

static ps_elf *load_vdso(struct sess *s)
{
	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = 1;
	/* Every process maps the same vdso image: read our own. */
	size_t size;
	if (ps_aspace_vdso_copy(&s->vdso_image, &size))
		return NULL;
	unsigned flags = s->o->demangle ? PS_ELF_DEMANGLE : 0;
	ps_elf_open_mem(&s->vdso, s->vdso_image, size, flags);
	return s->vdso;
}

/* Opens a binary's image: the session's own, or the cache's (which frees it). */
static int open_elf(struct sess *s, struct dso *d, const char *path, const ps_elf_opts *eo)
{
	if (s->o->cache)
		return ps_sym_cache_open(s->o->cache, &d->elf, path, eo);
	return ps_elf_open_opts(&d->elf, path, eo);
}

/* perf's build-id cache: perf record (and perf buildid-cache -a, perf archive) keep a copy
 * of every binary samples hit, under $PERF_BUILDID_DIR or ~/.debug, found by build-id:
 * .build-id/xx/rest is a directory holding "elf" (or, in older perf, the file itself).
 * Used when the file at the recorded path is gone or is another build. */
static ps_elf *open_buildid_cache(struct sess *s, struct dso *d, const ps_aspace_obj *ob,
				  ps_elf_opts *eo)
{
	char path[4096 + 128];
	for (int layout = 0; layout < 2; layout++)
		if (ps_elf_buildid_cache_path(ob->build_id, ob->build_id_size, layout, path,
					      sizeof(path)) == 0 &&
		    open_elf(s, d, path, eo) == 0)
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

static ps_elf *load_dso_file(struct sess *s, uint32_t pid, const ps_aspace_map *m)
{
	const ps_aspace_obj *ob = ps_aspace_object(s->as, m->obj);
	struct dso *d = dso_of(s, m->obj);
	if (ob->kind == PS_OBJ_VDSO)
		return load_vdso(s);
	if (!d || d->tried || ob->kind == PS_OBJ_ANON)
		return d ? d->elf : NULL;
	d->tried = 1;
	ps_elf_opts eo = {0};
	eo.flags = (s->o->demangle ? PS_ELF_DEMANGLE : 0) |
		   (s->o->inline_frames ? PS_ELF_INLINE : 0) | (s->o->lines ? PS_ELF_LINES : 0);
	eo.want_build_id = ob->build_id_size ? ob->build_id : NULL;
	eo.idlen = ob->build_id_size;
	const ps_fileid *f = ob->build_id_size ? NULL : find_file(s, ob->path);
	if (f && f->build_id_size) {
		eo.want_build_id = f->build_id;
		eo.idlen = f->build_id_size;
	}
	eo.want_file = f;
	d->unverified = !ob->build_id_size && !f;
	eo.debug_dir = s->o->debug_dir ? s->o->debug_dir : getenv("PERFSAMPLE_DEBUG_DIR");
	/* The kernel names unlinked files "PATH (deleted)"; the name for debuglink
	 * directories is the path without that. */
	char name[4096];
	const char *deleted = strstr(ob->path, " (deleted)");
	snprintf(name, sizeof(name), "%.*s",
		 deleted ? (int)(deleted - ob->path) : (int)strlen(ob->path), ob->path);
	eo.name = name;
	char path[4096 + 64], root[64];
	/* A perf.data file's pids are another machine's or a past run's: never this
	 * machine's /proc. */
	int live = !(s->r && ps_trace_is_perfdata(s->r));
	if (pid && pid != PS_SYM_KERNEL_PID && live) {
		snprintf(root, sizeof(root), "/proc/%u/root", pid);
		eo.root = root;
		/* While the process lives, map_files is the very file it mapped, even when
		 * it was deleted or replaced since, or lives in another mount namespace. */
		if (m) {
			snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid,
				 (unsigned long long)m->start, (unsigned long long)m->end);
			if (refused(d, open_elf(s, d, path, &eo)) == 0)
				return d->elf;
		}
		if (!deleted) {
			snprintf(path, sizeof(path), "%s%s", root, name);
			if (refused(d, open_elf(s, d, path, &eo)) == 0)
				return d->elf;
		}
	}
	eo.root = NULL;
	if (!deleted && refused(d, open_elf(s, d, name, &eo)) == 0)
		return d->elf;
	return open_buildid_cache(s, d, ob, &eo);
}

/* Opens the file a mapping named, when it is still the file that was recorded: the
 * build-id the mapping (or its FILE record) gives, else the FILE record's size and mtime.
 * Without either (older traces) the file is used as it is, and counted as unverified. */
static ps_elf *load_dso(struct sess *s, uint32_t pid, const ps_aspace_map *m)
{
	const ps_aspace_obj *ob = ps_aspace_object(s->as, m->obj);
	struct dso *d = dso_of(s, m->obj);
	int first = d && !d->tried;
	ps_elf *e = load_dso_file(s, pid, m);
	if (!first)
		return e;
	if (d->refused && !e)
		note_path(s->rep.changed_path, sizeof(s->rep.changed_path), &s->rep.changed, ob->path);
	else if (e && ob->kind == PS_OBJ_FILE && d->unverified && !ps_trace_is_perfdata(s->r))
		note_path(s->rep.unverified_path, sizeof(s->rep.unverified_path), &s->rep.unverified,
			  ob->path);
	return e;
}

static int pool_add(struct sess *s, const ps_sym_frame *f)
{
	if (PS_GROW(s->pool, s->poolcap, s->npool + 1))
		return -ENOMEM;
	s->pool[s->npool++] = *f;
	return 0;
}

static uint64_t res_hash(uint32_t pid, uint64_t addr) { return ps_hash_u64(addr * 31 + pid); }

struct res_key {
	const struct sess *s;
	uint32_t pid;
	uint64_t addr;
};

static int res_eq(const void *ctx, uint32_t id)
{
	const struct res_key *k = ctx;
	return k->s->res[id].pid == k->pid && k->s->res[id].addr == k->addr;
}

static int res_find(struct sess *s, uint32_t pid, uint64_t addr, struct resolved **out)
{
	struct res_key k = {s, pid, addr};
	uint32_t id = ps_index_find(&s->res_index, res_hash(pid, addr), res_eq, &k);
	if (id == UINT32_MAX)
		return 0;
	*out = &s->res[id];
	return 1;
}

static int res_add(struct sess *s, uint32_t pid, uint64_t addr, uint32_t first, uint32_t n,
		   struct resolved **out)
{
	if (PS_GROW(s->res, s->rescap, s->nres + 1) ||
	    ps_index_insert(&s->res_index, res_hash(pid, addr), (uint32_t)s->nres))
		return -ENOMEM;
	s->res[s->nres] = (struct resolved){first, n, pid, addr};
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
		if (s->o->cache && !s->o->kallsyms)
			s->kallsyms = ps_sym_cache_kallsyms(s->o->cache);
		else
			ps_kallsyms_load(&s->kallsyms, s->o->kallsyms ? s->o->kallsyms : "/proc/kallsyms");
		if (s->kallsyms && ps_kallsyms_hidden(s->kallsyms))
			s->rep.kernel_hidden = 1;
	}
	return s->kallsyms;
}

/* The JIT map of process pid (perf-PID.map), loaded on first use; NULL when none. Only
 * processes the trace's records made known have one. */
static ps_jit *get_jit(struct sess *s, uint32_t pid)
{
	void **slot = ps_aspace_proc_user(s->as, pid);
	if (!slot)
		return NULL;
	if (!*slot) {
		*slot = PS_JIT_NONE;
		char path[512];
		snprintf(path, sizeof(path), "%s/perf-%u.map", s->o->jit_dir ? s->o->jit_dir : "/tmp",
			 pid);
		/* The process's user, while it lives: its map must be that user's (or root's). */
		char proc[32];
		struct stat st;
		snprintf(proc, sizeof(proc), "/proc/%u", pid);
		int live = !(s->r && ps_trace_is_perfdata(s->r)); /* as in load_dso_file */
		long owner = live && stat(proc, &st) == 0 ? (long)st.st_uid : -1;
		ps_jit *j = NULL;
		if (ps_jit_load(&j, path, s->o->demangle, owner) == -EPERM)
			s->rep.jit_refused++;
		if (j)
			*slot = j;
	}
	return *slot == PS_JIT_NONE ? NULL : *slot;
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
		const ps_aspace_map *m = find_map(s, pid, lookup, time);
		ps_elf_frame ef[PS_ELF_MAX_INLINE];
		int n = 0;
		if (m) {
			const ps_aspace_obj *ob = ps_aspace_object(s->as, m->obj);
			f.module = ob->path;
			ps_elf *e = load_dso(s, pid, m);
			uint64_t vaddr;
			if (e &&
			    ps_elf_offset_to_vaddr(e, lookup - m->start + m->pgoff, &vaddr) == 0)
				n = ps_elf_lookup(e, vaddr, ef, PS_ELF_MAX_INLINE);
			/* The looked-up address's offset in its function (perf's sym+0xOFF,
			 * less the one a return address was adjusted by). */
			for (int i = 0; i < n; i++)
				ef[i].start = vaddr - ef[i].start;
			if (!n && (ob->kind == PS_OBJ_ANON || !e)) {
				ps_jit *j = get_jit(s, pid);
				const char *jn = j ? ps_jit_lookup(j, lookup) : NULL;
				if (jn) {
					ef[0] = (ps_elf_frame){jn, NULL, 0, 0};
					n = 1;
					f.jit = 1;
					f.module = "[jit]"; /* how embedded records say "JIT" */
				}
			}
		} else {
			ps_jit *j = get_jit(s, pid);
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
				snprintf(buf, sizeof(buf), "[%s]", ps_aspace_object(s->as, m->obj)->base);
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

static const char *get_comm(struct sess *s, uint32_t pid, uint32_t tid, uint64_t time)
{
	return ps_aspace_comm_at(s->as, pid, tid, time);
}

/* Address spaces, names and embedded symbols: what samples need to be named. */
static int take_record(struct sess *s, const ps_event *ev)
{
	int err = 0;
	if (ev->type == PS_REC_MMAP) {
		err = ps_aspace_mmap(s->as, &ev->mmap, 0);
	} else if (ev->type == PS_REC_COMM) {
		err = ps_aspace_comm(s->as, &ev->comm);
	} else if (ev->type == PS_REC_FORK) {
		err = ps_aspace_fork(s->as, &ev->task);
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

/* A heap record's stack as a sample's chain: user addresses, every one a return address.
 * The first is looked up as given, so it is made the call's last byte here. buf holds
 * PS_HEAP_MAX_STACK + 1 entries. */
static void heap_chain(const ps_heap *h, uint64_t *buf, ps_sample *out)
{
	uint32_t n = h->nr > PS_HEAP_MAX_STACK ? PS_HEAP_MAX_STACK : h->nr;
	buf[0] = PS_CONTEXT_USER;
	for (uint32_t i = 0; i < n; i++)
		buf[i + 1] = i == 0 && h->ips[0] && h->ips[0] < PS_CONTEXT_MAX ? h->ips[0] - 1
									   : h->ips[i];
	*out = (ps_sample){.time = h->time, .pid = h->pid, .tid = h->tid, .nr = n + 1,
			   .ips = buf, .stack = UINT32_MAX};
}

/* Starts a session: address spaces, names and embedded symbols from a first pass over
 * the trace, then back to its start for the samples. */
static int sess_begin(struct sess *s, ps_trace_reader *r, const ps_sym_opts *o)
{
	int err = sess_init(s, r, o);
	if (!err)
		err = ps_trace_rewind(r);
	if (!err)
		err = pass_one(s, r);
	if (!err)
		err = ps_trace_rewind(r);
	return err;
}

/* ---- the profile model ---- */

/* Samples repeat a few call chains, so the profile is built from distinct (process,
 * thread name, chain) keys: each sample costs a hash of its chain, and each distinct
 * chain is resolved and turned into a stack once. */
struct agg {
	uint32_t pid, tid, nr, chain;
	const char *comm; /* the thread's name, NULL when unknown (then tid names it) */
	uint64_t time;    /* of its first sample: which mappings were current */
	uint64_t last;    /* of its last sample */
	uint64_t count, period;
	uint64_t off; /* blocked nanoseconds (OFFCPU records) */
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
	ps_chains chains; /* the trace's distinct call chains */
	/* Stack numbers seen: stack -> chain, while chunk is current (PS_CHUNK_TRACE_WIDE:
	 * for the whole trace). */
	struct stack_seen {
		uint64_t chunk;
		uint32_t chain;
		uint32_t agg; /* the agg its last sample went to, UINT32_MAX none */
		uint32_t pid, tid; /* that agg's (one cache line per sample) */
	} *stacks;
	size_t stackcap;
	/* Every sample: when, which chain (and its period, when samples are kept). */
	uint64_t *stime, *speriod;
	uint32_t *scpu; /* kept samples only */
	uint8_t *soff;  /* 1: a blocked interval, its period the time blocked */
	size_t soffcap;
	uint32_t *sagg;
	size_t nseen, stimecap, speriodcap, saggcap, scpucap;
	uint32_t *pool_fid;        /* per pool frame: model frame id + 1 (0: not made yet) */
	size_t pool_fid_cap;
	uint32_t *dso_mapping;     /* per dso: model mapping id + 1, function detail */
	size_t dso_mapping_cap;
	ps_frame_id fids[MAX_FRAMES + 1];
	size_t nfids;
	ps_buf name;
	/* Frame paths already in the trie: many chains (addresses) name one path (functions),
	 * so an agg's node is found by one lookup of its path instead of a child lookup per
	 * frame. */
	struct fpath *paths;
	size_t npaths, pathcap;
	ps_index path_index;
};

/* A path from the root: the root frame (UINT32_MAX without one), then fids leaf first. */
struct fpath {
	ps_frame_id root;
	uint32_t n;
	const ps_frame_id *fids;
	ps_node_id node;
};

struct fpath_key {
	const struct build *b;
	ps_frame_id root;
};

static int fpath_eq(const void *ctx, uint32_t id)
{
	const struct fpath_key *k = ctx;
	const struct fpath *f = &k->b->paths[id];
	return f->root == k->root && f->n == k->b->nfids &&
	       !memcmp(f->fids, k->b->fids, f->n * sizeof(*f->fids));
}

/* What the build knows of a sample's stack number, when its chunk (or, trace-wide, the
 * trace) used it before; NULL for chains not from a reader (chunk 0). */
static struct stack_seen *seen(struct build *b, const ps_sample *sm)
{
	if (sm->chunk == 0 || sm->stack >= b->stackcap)
		return NULL;
	struct stack_seen *c = &b->stacks[sm->stack];
	return c->chunk == sm->chunk ? c : NULL;
}

/* The chain's id: the sample's stack number finds it without hashing the chain when its
 * chunk used that stack before (the writer stores each distinct stack once per chunk) or,
 * with trace-wide ids, once the trace has. */
static int chain_of(struct build *b, const ps_sample *sm, uint32_t *out)
{
	const struct stack_seen *c = seen(b, sm);
	if (c) {
		*out = c->chain;
		return 0;
	}
	/* Trace-wide stacks' ips live as long as the reader (this whole build): not copied. */
	uint32_t id;
	int err = ps_chains_intern(&b->chains, sm->ips, sm->nr, sm->chunk == PS_CHUNK_TRACE_WIDE,
				   &id);
	if (err)
		return err;
	if (sm->chunk != 0 && sm->stack != UINT32_MAX) {
		if (sm->stack >= b->stackcap) {
			size_t cap = b->stackcap;
			if (PS_GROW(b->stacks, cap, (size_t)sm->stack + 1))
				return -ENOMEM;
			/* chunk 0: not seen (cacheable samples have another) */
			memset(b->stacks + b->stackcap, 0, (cap - b->stackcap) * sizeof(*b->stacks));
			b->stackcap = cap;
		}
		b->stacks[sm->stack] = (struct stack_seen){.chunk = sm->chunk, .chain = id,
							   .agg = UINT32_MAX};
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
	/* A chunk's samples of one stack mostly come from one thread: the agg of the
	 * stack's last sample is checked before hashing. */
	const struct stack_seen *hit = seen(b, sm);
	if (hit && hit->agg != UINT32_MAX && hit->pid == sm->pid && hit->tid == sm->tid) {
		*out = hit->agg;
		return 0;
	}
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
		const struct ps_chain *c = &b->chains.v[chain];
		b->aggs[b->naggs++] = (struct agg){.pid = sm->pid, .tid = sm->tid, .nr = c->nr,
						   .chain = chain, .time = sm->time,
						   .last = sm->time, .ips = c->ips};
	}
	struct stack_seen *last = seen(b, sm);
	if (last) {
		last->agg = id;
		last->pid = sm->pid;
		last->tid = sm->tid;
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
	const ps_aspace_map *m = find_map(s, pid, lookup, time);
	if (!m)
		return 0;
	if (!b->addresses && m->obj < b->dso_mapping_cap && b->dso_mapping[m->obj]) {
		*out = b->dso_mapping[m->obj] - 1;
		return 0;
	}
	const ps_aspace_obj *d = ps_aspace_object(s->as, m->obj);
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
	if (PS_GROW(b->dso_mapping, b->dso_mapping_cap, ps_aspace_nobjects(s->as)))
		return -ENOMEM;
	memset(b->dso_mapping + cap, 0, (b->dso_mapping_cap - cap) * sizeof(*b->dso_mapping));
	b->dso_mapping[m->obj] = *out + 1;
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
		const ps_aspace_map *m = kernel ? NULL : find_map(s, sm->pid, lookup, sm->time);
		if (m && !(f->module && !strcmp(f->module, "[jit]")))
			err = ps_buf_printf(&b->name, "%s+0x%llx",
					    ps_aspace_object(s->as, m->obj)->base,
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
	ps_frame_id root = UINT32_MAX; /* no root frame */
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
		if (!err)
			err = ps_profile_frame_named(b->p, b->name.data, b->name.len,
						     PS_FRAME_PROCESS, &root);
		if (!err)
			err = ps_profile_child(b->p, at, root, &at);
	}
	if (err)
		return err;
	uint64_t h = ps_hash(b->fids, b->nfids * sizeof(*b->fids)) ^ ps_hash_u64((uint64_t)root + 1);
	struct fpath_key k = {b, root};
	uint32_t id = ps_index_find(&b->path_index, h, fpath_eq, &k);
	if (id != UINT32_MAX) {
		*out = b->paths[id].node;
		return 0;
	}
	for (size_t i = b->nfids; !err && i-- > 0;)
		err = ps_profile_child(b->p, at, b->fids[i], &at);
	ps_frame_id *copy = err ? NULL : ps_arena_alloc(s->arena, b->nfids * sizeof(*copy) + 1);
	if (!err && (!copy || PS_GROW(b->paths, b->pathcap, b->npaths + 1)))
		err = -ENOMEM;
	if (!err)
		err = ps_index_insert(&b->path_index, h, (uint32_t)b->npaths);
	if (!err) {
		memcpy(copy, b->fids, b->nfids * sizeof(*copy));
		b->paths[b->npaths++] = (struct fpath){root, (uint32_t)b->nfids, copy, at};
	}
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

/* What a SAMPLE or OFFCPU record weighs: a blocked interval its time (weighted), a sample
 * its period (1 when the trace has none). */
static uint64_t record_value(const ps_event *ev)
{
	if (ev->type == PS_REC_OFFCPU)
		return ps_offcpu_time(&ev->offcpu);
	return ev->sample.period ? ev->sample.period : 1;
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
	int c_samples, c_cpu, c_off;
	int off_us; /* c_off counts microseconds */
	uint64_t samples;
};

static uint64_t ns_to_us(uint64_t ns) { return (ns + 500) / 1000; }

static int one_sample(struct one_ctx *c, uint32_t agg, uint64_t time, uint64_t period,
		      uint32_t cpu, int off)
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
	if (c->c_samples >= 0 && !off)
		v[c->c_samples] = 1;
	if (c->c_cpu >= 0 && !off)
		v[c->c_cpu] = period;
	if (c->c_off >= 0 && (off || c->off_us))
		v[c->c_off] = c->off_us ? ns_to_us(period) : period;
	c->samples++;
	ps_profile_sample ps = {time, a->pid, a->tid, node, cpu};
	return ps_profile_add_sample(c->out, &ps, v);
}

/* ---- heap views (record --heap): each sampled allocation is a sample ---- */

enum { HC_VIEW_SPACE, HC_VIEW_OBJECTS, HC_ALLOC_OBJECTS, HC_ALLOC_SPACE, HC_INUSE_OBJECTS,
       HC_INUSE_SPACE, HC_N };

struct heap_build {
	ps_heap_track *track;
	struct {
		uint64_t time, size, weight;
		uint32_t agg, tid;
	} *v;
	size_t n, cap;
	int col[HC_N]; /* column of each value, -1 when it has none */
};

/* The view's bytes and objects first (what renderers show), then pprof's heap types. */
static int heap_columns(ps_profile *out, enum ps_heap_view view, int *col)
{
	static const char *const names[] = {"alloc", "inuse", "peak"};
	const char *v = names[view - PS_HEAP_ALLOC];
	char space[32], objects[32];
	snprintf(space, sizeof(space), "%s_space", v);
	snprintf(objects, sizeof(objects), "%s_objects", v);
	for (int i = 0; i < HC_N; i++)
		col[i] = -1;
	if (ps_profile_ntypes(out) == 0) {
		col[HC_VIEW_SPACE] = ps_profile_add_type(out, space, "bytes");
		col[HC_VIEW_OBJECTS] = ps_profile_add_type(out, objects, "count");
		static const char *const rest[] = {"alloc_objects", "alloc_space", "inuse_objects",
						   "inuse_space"};
		for (int i = 0; i < 4; i++)
			if (ps_profile_find_type(out, rest[i]) < 0)
				col[HC_ALLOC_OBJECTS + i] = ps_profile_add_type(
					out, rest[i], i % 2 ? "bytes" : "count");
		for (int i = 0; i < HC_N; i++)
			if (col[i] < -1)
				return col[i];
	} else {
		col[HC_VIEW_SPACE] = ps_profile_find_type(out, space);
		col[HC_VIEW_OBJECTS] = ps_profile_find_type(out, objects);
	}
	return 0;
}

static int heap_take(struct heap_build *hb, struct build *b, const ps_event *ev)
{
	const ps_heap *h = &ev->heap;
	if (ev->type == PS_REC_HEAP_FREE)
		return ps_heap_track_add_free(hb->track, h->time, h->pid, h->addr);
	uint64_t buf[PS_HEAP_MAX_STACK + 1];
	ps_sample sm;
	heap_chain(h, buf, &sm);
	uint32_t id;
	int err = agg_add(b, &sm, &id);
	if (!err && PS_GROW(hb->v, hb->cap, hb->n + 1))
		err = -ENOMEM;
	/* A weight past 2^40 (a TiB per sample) is no real recorder's: bounded. */
	uint64_t weight = h->weight > (1ull << 40) ? (1ull << 40) : h->weight;
	if (!err)
		err = ps_heap_track_add_alloc(hb->track, h->time, h->pid, h->addr, weight);
	if (err)
		return err;
	hb->v[hb->n].time = h->time;
	hb->v[hb->n].size = h->size;
	hb->v[hb->n].weight = weight;
	hb->v[hb->n].agg = id;
	hb->v[hb->n].tid = h->tid;
	hb->n++;
	return 0;
}

/* Once the chains have nodes: every allocation's values in the view's columns. */
static int heap_add(struct heap_build *hb, struct one_ctx *c, enum ps_heap_view view)
{
	int err = ps_heap_track_finish(hb->track);
	for (size_t i = 0; !err && i < hb->n; i++) {
		const struct agg *a = &c->b->aggs[hb->v[i].agg];
		if (!in_time_range(c->b->s->o, &c->b->s->rep.trace, hb->v[i].time))
			continue;
		ps_node_id node = a->node;
		int excluded = a->excluded;
		if (a->renamed)
			err = renamed_node(c->b, c->rt, hb->v[i].agg, hb->v[i].time, &node, &excluded);
		if (err || excluded || (!node && c->b->s->o->root == PS_ROOT_NONE))
			continue;
		uint64_t w = hb->v[i].weight, sz = hb->v[i].size;
		uint64_t objs = sz ? (w + sz / 2) / sz : 1;
		int inuse = ps_heap_track_live_at_end(hb->track, i);
		int live = view == PS_HEAP_ALLOC   ? 1
			   : view == PS_HEAP_INUSE ? inuse
						   : ps_heap_track_live_at_peak(hb->track, i);
		uint64_t v[PS_PROFILE_MAX_COLS] = {0};
		uint64_t val[HC_N] = {live ? w : 0, live ? objs : 0, objs, w, inuse ? objs : 0,
				      inuse ? w : 0};
		for (int k = 0; k < HC_N; k++)
			if (hb->col[k] >= 0)
				v[hb->col[k]] = val[k];
		c->samples++;
		ps_profile_sample ps = {hb->v[i].time, a->pid, hb->v[i].tid, node, 0};
		err = ps_profile_add_sample(c->out, &ps, v);
	}
	return err;
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
	int err = sess_init(&s, r, &ro);
	/* Chains told apart by the reader's thread (rewinds). */
	if (!err)
		err = ps_trace_set_stack_ids(r, 1);

	/* Columns: what one sample counts, and the time it stands for when the event is a
	 * clock (its period is nanoseconds). */
	int clock = is_clock_event(ps_trace_meta(r, "event"));
	int c_samples = -1, c_cpu = -1, c_off = -1;
	struct heap_build hb = {0};
	/* Off-CPU views: one column of microseconds (folded counts, flame graph widths). */
	enum ps_sym_offcpu mode = o->offcpu;
	const char *recorded = ps_trace_meta(r, "off_cpu");
	if (mode == PS_OFFCPU_COLUMN && !(recorded && !strcmp(recorded, "1")))
		mode = PS_OFFCPU_NONE;
	if (o->heap) /* heap views value heap records only */
		mode = PS_OFFCPU_NONE;
	if (!err && o->heap) {
		hb.track = ps_heap_track_new();
		err = hb.track ? heap_columns(out, o->heap, hb.col) : -ENOMEM;
	} else if (!err && ps_profile_ntypes(out) == 0 &&
	    (mode == PS_OFFCPU_ONLY || mode == PS_OFFCPU_WALL)) {
		c_off = ps_profile_add_type(out, mode == PS_OFFCPU_WALL ? "wall" : "off-cpu",
					    "microseconds");
		if (c_off < 0)
			err = -ENOMEM;
	} else if (!err && ps_profile_ntypes(out) == 0) {
		if (weight_period)
			c_cpu = ps_profile_add_type(out, clock ? "cpu" : "events",
						    clock ? "nanoseconds" : "count");
		else {
			c_samples = ps_profile_add_type(out, "samples", "count");
			if (clock && c_samples >= 0)
				c_cpu = ps_profile_add_type(out, "cpu", "nanoseconds");
		}
		if (mode == PS_OFFCPU_COLUMN)
			c_off = ps_profile_add_type(out, "off-cpu", "nanoseconds");
		if (c_samples < -1 || c_cpu < -1 || c_off < -1)
			err = -ENOMEM;
	} else if (!err) {
		c_samples = ps_profile_find_type(out, "samples");
		c_cpu = ps_profile_find_type(out, clock ? "cpu" : "events");
		c_off = ps_profile_find_type(out, mode == PS_OFFCPU_WALL ? "wall" : "off-cpu");
	}
	int off_us = mode == PS_OFFCPU_ONLY || mode == PS_OFFCPU_WALL;

	/* One pass over the trace: address spaces, names and symbols are taken in, samples
	 * are counted to their chains, which are named when every record is in (embedded
	 * symbols come last, and a CPU's ring can deliver a thread's name after samples). */
	ps_event ev;
	int got = 0;
	while (!err && (got = ps_trace_next(r, &ev)) > 0) {
		ps_trace_summary_add(&s.rep.trace, &ev);
		if (o->heap) { /* the heap records, not the samples */
			if ((ev.type == PS_REC_HEAP_ALLOC || ev.type == PS_REC_HEAP_FREE) &&
			    !(o->npids && !id_in(o->pids, o->npids, ev.heap.pid)) &&
			    !(o->ntids && !id_in(o->tids, o->ntids, ev.heap.tid)))
				err = heap_take(&hb, &b, &ev);
			else if (ev.type != PS_REC_SAMPLE && ev.type != PS_REC_OFFCPU)
				err = take_record(&s, &ev);
			continue;
		}
		int off = ev.type == PS_REC_OFFCPU;
		if (off && (mode == PS_OFFCPU_NONE ||
			    (o->offcpu_voluntary && (ev.offcpu.flags & PS_OFFCPU_PREEMPTED))))
			continue;
		if (ev.type == PS_REC_SAMPLE && mode == PS_OFFCPU_ONLY)
			continue;
		if (ev.type != PS_REC_SAMPLE && !off) {
			err = take_record(&s, &ev);
			continue;
		}
		const ps_sample *sm = off ? &ev.offcpu.sample : &ev.sample;
		if ((o->npids && !id_in(o->pids, o->npids, sm->pid)) ||
		    (o->ntids && !id_in(o->tids, o->ntids, sm->tid)))
			continue;
		uint32_t id;
		if (off) {
			err = agg_find(&b, sm, &id);
			if (!err)
				b.aggs[id].off += record_value(&ev);
		} else {
			err = agg_add(&b, sm, &id);
		}
		if (err || !by_sample)
			continue;
		if (PS_GROW(b.stime, b.stimecap, b.nseen + 1) ||
		    PS_GROW(b.sagg, b.saggcap, b.nseen + 1) ||
		    PS_GROW(b.soff, b.soffcap, b.nseen + 1) ||
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
		b.speriod[b.nseen] = record_value(&ev);
		b.soff[b.nseen] = (uint8_t)off;
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
	struct one_ctx oc = {&b, &rt, out, c_samples, c_cpu, c_off, off_us, 0};
	if (!err && o->heap) {
		err = heap_add(&hb, &oc, o->heap);
		if (!err && keep)
			err = ps_profile_sort_samples(out);
	} else if (!err && !by_sample) {
		for (size_t i = 0; !err && i < b.naggs; i++) {
			const struct agg *a = &b.aggs[i];
			if (a->renamed || a->excluded || (!a->node && o->root == PS_ROOT_NONE))
				continue;
			s.rep.samples += a->count;
			if (c_samples >= 0)
				err = ps_profile_add_value(out, a->node, (size_t)c_samples, a->count);
			if (!err && c_cpu >= 0)
				err = ps_profile_add_value(out, a->node, (size_t)c_cpu, a->period);
			/* Wall time: the CPU time of clock samples (their periods) plus the
			 * time blocked. */
			uint64_t off = a->off + (mode == PS_OFFCPU_WALL ? a->period : 0);
			if (!err && c_off >= 0 && off)
				err = ps_profile_add_value(out, a->node, (size_t)c_off,
							   off_us ? ns_to_us(off) : off);
		}
	}
	if (o->heap) {
		/* done above */
	} else if (!err && by_sample) {
		/* Sample by sample: a time range measured from the recording's start,
		 * renamed threads' samples under the name they had then; kept samples are
		 * put in time order (the trace holds them in the order the CPUs' rings were
		 * drained). */
		for (size_t i = 0; !err && i < b.nseen; i++)
			if (in_time_range(o, &s.rep.trace, b.stime[i]))
				err = one_sample(&oc, b.sagg[i], b.stime[i], b.speriod[i],
						 keep ? b.scpu[i] : 0, b.soff[i]);
		if (!err && keep)
			err = ps_profile_sort_samples(out);
	} else if (!err && any_renamed) {
		/* Rare (the same chain in a thread before and after exec or prctl renamed it):
		 * read the samples again for those chains, each under its name at the time. */
		err = ps_trace_rewind(r);
		while (!err && (got = ps_trace_next(r, &ev)) > 0) {
			int off = ev.type == PS_REC_OFFCPU;
			const ps_sample *sm = off ? &ev.offcpu.sample : &ev.sample;
			uint32_t id;
			if ((ev.type != PS_REC_SAMPLE && !off) ||
			    (off && (mode == PS_OFFCPU_NONE ||
				     (o->offcpu_voluntary &&
				      (ev.offcpu.flags & PS_OFFCPU_PREEMPTED)))) ||
			    (!off && mode == PS_OFFCPU_ONLY) ||
			    (o->npids && !id_in(o->pids, o->npids, sm->pid)) ||
			    (o->ntids && !id_in(o->tids, o->ntids, sm->tid)))
				continue;
			err = agg_find(&b, sm, &id);
			if (!err && b.aggs[id].renamed)
				err = one_sample(&oc, id, sm->time, record_value(&ev), sm->cpu,
						 off);
		}
		if (!err && got < 0)
			err = got;
	}
	s.rep.samples += oc.samples;
	ps_heap_track_free(hb.track);
	free(hb.v);
	if (!err)
		ps_sym_set_labels(o, out);
	if (rep)
		*rep = sess_report(&s);
	free(rt.v);
	ps_index_release(&rt.index);
	free(b.aggs);
	ps_index_release(&b.agg_index);
	ps_chains_release(&b.chains);
	free(b.stacks);
	free(b.stime);
	free(b.scpu);
	free(b.soff);
	free(b.speriod);
	free(b.sagg);
	free(b.pool_fid);
	free(b.dso_mapping);
	free(b.paths);
	ps_index_release(&b.path_index);
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
	uint64_t hbuf[PS_HEAP_MAX_STACK + 1];
	while (!err && (got = ps_trace_next(r, &ev)) > 0) {
		if (ev.type == PS_REC_SAMPLE || ev.type == PS_REC_OFFCPU)
			err = for_each_addr(&s, ev.type == PS_REC_SAMPLE ? &ev.sample
								 : &ev.offcpu.sample,
					    embed_addr, &ec);
		if (ev.type == PS_REC_HEAP_ALLOC) {
			ps_sample hs;
			heap_chain(&ev.heap, hbuf, &hs);
			err = for_each_addr(&s, &hs, embed_addr, &ec);
		}
	}
	if (!err && got < 0)
		err = got;
	if (!err && s.rep.kernel_hidden) {
		ps_event note = {.type = PS_REC_NOTE};
		note.note = (ps_note){"kernel_hidden", "1"};
		err = ps_trace_write(w, &note);
	}
	if (rep)
		*rep = sess_report(&s);
	ps_buf_release(&ec.names);
	ps_buf_release(&ec.lines);
	sess_release(&s);
	return err;
}
