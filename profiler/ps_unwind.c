/* ps_unwind: DWARF unwinding of sampled user stacks with libdw's dwfl.
 *
 * Layout of the caches, chosen for the recorder's hot path:
 * - the processes' executable mappings (the ground truth, from MMAP/FORK/exec/EXIT
 *   records) are formats/ps_aspace's, in its LIVE mode; each mapping's word is a ps_view:
 *   which file it maps and the load bias placing it;
 * - one ps_file per distinct ELF path, opened and mmapped once and shared by every process
 *   that maps it (each process's Dwfl module borrows a reference to the same Elf handle);
 * - one ps_proc per process (its ps_aspace word): a Dwfl built from its mappings lazily,
 *   re-reported only when they changed, so that libdw keeps each module's parsed CFI
 *   between samples.
 * The thread state comes from the sample (regs + stack copy) through our own
 * Dwfl_Thread_Callbacks; nothing ever touches the live process. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "profiler/ps_unwind.h"

#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/ps_aspace.h"
#include "formats/ps_util.h"

/* x86-64 registers we ask the kernel for, as PERF_REG_X86_* bits (asm/perf_regs.h): all
 * general-purpose registers and IP. CFI mostly needs SP, BP, BX and R12-R15, but
 * hand-written assembly may define the CFA on any register, and 9 more words are nothing
 * next to the stack copy. */
enum {
	PR_AX = 0,
	PR_BX = 1,
	PR_CX = 2,
	PR_DX = 3,
	PR_SI = 4,
	PR_DI = 5,
	PR_BP = 6,
	PR_SP = 7,
	PR_IP = 8,
	PR_R8 = 16,
	PR_R15 = 23,
};
#define REGS_MASK                                                                                  \
	((1ull << PR_AX) | (1ull << PR_BX) | (1ull << PR_CX) | (1ull << PR_DX) | (1ull << PR_SI) | \
	 (1ull << PR_DI) | (1ull << PR_BP) | (1ull << PR_SP) | (1ull << PR_IP) |                   \
	 (0xffull << PR_R8))
/* Index of each register in the sample's regs array (mask bit order). */
enum { RI_AX, RI_BX, RI_CX, RI_DX, RI_SI, RI_DI, RI_BP, RI_SP, RI_IP, RI_R8 };
#define NREGS 17
#define DWARF_SP 7

/* Frames per sample never exceed this, whatever max the caller passes: garbage that
 * looks like a valid chain must still end. */
#define FRAME_CAP 1024
#define MAX_LOADS 16
/* Exited processes are kept this long (in later exits) because samples from other
 * CPUs' rings can arrive after the EXIT record. */
#define DEAD_KEEP 64

typedef struct ps_file {
	char *path;
	Elf *elf; /* NULL: not a usable ELF; remembered so we do not retry */
	const unsigned char *image;
	size_t image_len;
	void *owned;   /* the vdso copy, freed with the file */
	int transient; /* opened through /proc/PID/map_files: owned by its one view */
	uint64_t first_vaddr; /* first PT_LOAD, aligned down: where libdw puts the module start */
	uint64_t end_vaddr;
	size_t nloads;
	struct {
		uint64_t vaddr, off, filesz, memsz;
		uint32_t flags;
	} loads[MAX_LOADS];
} ps_file;

/* A mapping's code: the file and the load bias placing it, fixed when it was mapped (a
 * later mmap over part of it keeps the rest where it was). Mappings share a view after a
 * split or a fork, so it counts them (ps_aspace_opts.ref). Mappings with no code we can
 * read (anon, JIT, unusable files) have none. */
typedef struct ps_view {
	ps_file *file;
	uint64_t bias;
	unsigned refs;
} ps_view;

/* The unwinder's side of a process: its Dwfl, as of the mappings' generation gen. */
typedef struct ps_proc {
	uint32_t pid;
	uint64_t gen;
	int reported;
	Dwfl *dwfl;
	int attached;
	struct ps_unwinder *u;
} ps_proc;

struct ps_unwinder {
	ps_aspace *as;
	ps_file **files; /* by path, opened once */
	size_t nfiles, filecap;
	ps_index file_index;
	ps_file *vdso;
	int offline; /* unwinding a file from elsewhere: no /proc of live processes */
	Elf *arch_elf;	      /* a bare x86-64 ELF header: tells dwfl_attach_state the machine */
	Elf64_Ehdr arch_ehdr; /* its image; libelf may write to what it reads */
	/* The sample being unwound. */
	ps_proc *cur;
	const uint64_t *regs;
	const unsigned char *stack;
	uint64_t sp;
	size_t stack_len;
	uint64_t *ips;
	size_t max, n;
	size_t mem_fail_at; /* frame count when a memory read last failed, or SIZE_MAX */
	uint64_t last_sp;
	int loop;
	int truncated;
};

static const Elf64_Ehdr arch_ehdr = {
    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
    .e_type = ET_DYN,
    .e_machine = EM_X86_64,
    .e_version = EV_CURRENT,
    .e_ehsize = sizeof(Elf64_Ehdr),
};

uint64_t ps_unwind_regs_mask(void) { return REGS_MASK; }
_Static_assert((int)PS_UNWIND_BP == (int)RI_BP && (int)PS_UNWIND_SP == (int)RI_SP &&
		       (int)PS_UNWIND_IP == (int)RI_IP,
	       "ps_unwind.h names the registers' positions");

/* ---- files ---- */

/* Reads the program headers we need to place mappings; 0 or -1 when not usable. */
static int file_index(ps_file *f)
{
	GElf_Ehdr eh;
	size_t phnum;
	if (elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &eh) ||
	    eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    elf_getphdrnum(f->elf, &phnum) != 0)
		return -1;
	int first = 1;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (first) {
			uint64_t align = ph.p_align ? ph.p_align : 1;
			f->first_vaddr = ph.p_vaddr & ~(align - 1);
			first = 0;
		}
		if (ph.p_vaddr + ph.p_memsz > f->end_vaddr)
			f->end_vaddr = ph.p_vaddr + ph.p_memsz;
		if (f->nloads < MAX_LOADS)
			f->loads[f->nloads++] = (typeof(f->loads[0])){
			    ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags};
	}
	if (first || f->end_vaddr <= f->first_vaddr)
		return -1;
	size_t len = 0;
	f->image = (const unsigned char *)elf_rawfile(f->elf, &len);
	f->image_len = f->image ? len : 0;
	return 0;
}

static void file_drop_elf(ps_file *f)
{
	elf_end(f->elf);
	f->elf = NULL;
	f->image = NULL;
	f->image_len = 0;
}

/* Opens a regular file, or fails. Paths come from the profiled processes, which may put a
 * FIFO where a deleted library was: O_NONBLOCK so that open cannot hang the recorder. */
static int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens path (or, for a transient file, the process's view of it) as an ELF image. */
static void file_open(ps_file *f, const char *open_path)
{
	int fd = open_regular(open_path);
	if (fd < 0)
		return;
	f->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	/* The image is mmapped whole, so the descriptor can go: a whole-system recording
	 * would otherwise hold one per library. */
	if (f->elf && elf_cntl(f->elf, ELF_C_FDREAD) != 0)
		file_drop_elf(f);
	close(fd);
	if (f->elf && file_index(f) != 0)
		file_drop_elf(f);
}

static ps_file *file_new(const char *path)
{
	ps_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	return f;
}

static void file_free(ps_file *f)
{
	if (!f)
		return;
	elf_end(f->elf);
	free(f->owned);
	free(f->path);
	free(f);
}

struct path_key {
	const ps_unwinder *u;
	const char *path;
};

static int file_eq(const void *ctx, uint32_t id)
{
	const struct path_key *k = ctx;
	return !strcmp(k->u->files[id]->path, k->path);
}

/* The file behind a mapping name, opened once per path. NULL when the name holds no code
 * we could read. */
static ps_file *file_get(ps_unwinder *u, uint32_t pid, uint64_t start, uint64_t end,
			 const char *name)
{
	if (!name || !*name)
		return NULL;
	if (!strcmp(name, "[vdso]"))
		return u->vdso;
	if (name[0] != '/' || !strncmp(name, "//anon", 6))
		return NULL;
	size_t nl = strlen(name);
	static const char deleted[] = " (deleted)";
	int gone =
	    !strncmp(name, "/memfd:", 7) ||
	    (nl > sizeof(deleted) - 1 && !strcmp(name + nl - (sizeof(deleted) - 1), deleted));
	if (gone && u->offline)
		return NULL; /* the pid is not this machine's live process */
	if (gone) {
		/* The path no longer names this file; the process still has it mapped, and
		 * root may open it there while the process lives. */
		char p[96];
		snprintf(p, sizeof(p), "/proc/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, pid,
			 start, end);
		ps_file *f = file_new(name);
		if (!f)
			return NULL;
		f->transient = 1;
		file_open(f, p);
		return f;
	}
	uint64_t h = ps_hash(name, nl);
	struct path_key k = {u, name};
	uint32_t id = ps_index_find(&u->file_index, h, file_eq, &k);
	if (id != UINT32_MAX)
		return u->files[id];
	if (PS_GROW(u->files, u->filecap, u->nfiles + 1))
		return NULL;
	ps_file *f = file_new(name);
	if (!f)
		return NULL;
	if (ps_index_insert(&u->file_index, h, (uint32_t)u->nfiles)) {
		file_free(f);
		return NULL;
	}
	file_open(f, name);
	u->files[u->nfiles++] = f;
	return f;
}

/* This process's own vdso: every process on this kernel maps the same image. */
static void load_vdso(ps_unwinder *u)
{
	void *image;
	size_t len;
	if (ps_aspace_vdso_copy(&image, &len))
		return;
	ps_file *f = file_new("[vdso]");
	if (!f) {
		free(image);
		return;
	}
	f->owned = image;
	f->elf = elf_memory(f->owned, len);
	if (f->elf && file_index(f) != 0)
		file_drop_elf(f);
	u->vdso = f;
}

/* ---- processes ---- */

/* ps_aspace's reference counting of mapping words: the views. */
static void view_ref(void *ctx, uint64_t user, int delta)
{
	ps_view *v = (ps_view *)(uintptr_t)user;
	v->refs += (unsigned)delta;
	if (v->refs)
		return;
	if (v->file && v->file->transient)
		file_free(v->file);
	free(v);
}

static void proc_release(void *ctx, void *user)
{
	ps_proc *p = user;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	free(p);
}

/* The load bias placing file at [start, start+len) mapped from pgoff, or -1 when no
 * PT_LOAD covers that file offset (the mapping is not of this ELF image's code). */
static int map_bias(const ps_file *f, uint64_t pgoff, uint64_t *bias)
{
	for (size_t i = 0; i < f->nloads; i++) {
		uint64_t off = f->loads[i].off & ~(uint64_t)0xfff;
		if (pgoff >= off && pgoff < f->loads[i].off + f->loads[i].filesz) {
			*bias = f->loads[i].off - f->loads[i].vaddr - pgoff;
			return 0;
		}
	}
	return -1;
}

static const ps_view *view_of(const ps_aspace_map *m)
{
	return m ? (const ps_view *)(uintptr_t)m->user : NULL;
}

/* ---- libdw callbacks ---- */

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	ps_file *f = *userdata;
	if (f && f->elf)
		/* A new reference to the shared handle: the module's elf_end drops it. */
		*elfp = elf_begin(-1, ELF_C_READ_MMAP, f->elf);
	return -1;
}

/* Separate debug info (for .debug_frame) by build ID only: the standard finder would also
 * ask debuginfod, i.e. the network, from inside the recorder. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr);
	if (n < 2 || n > 64)
		return -1;
	char path[64 + 2 * 64];
	int at = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (int i = 1; i < n; i++)
		at += snprintf(path + at, sizeof(path) - (size_t)at, "%02x", id[i]);
	snprintf(path + at, sizeof(path) - (size_t)at, ".debug");
	int fd = open_regular(path);
	if (fd >= 0)
		*debuginfo_file_name = strdup(path);
	return fd;
}

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = find_elf,
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	return 0; /* threads are never enumerated: each sample names its own */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	*thread_argp = dwfl_arg;
	return true;
}

/* Reads from the stack copy or, for code and read-only data, from the mapped file. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	ps_proc *p = arg;
	ps_unwinder *u = p->u;
	if (addr >= u->sp && u->stack_len >= 8 && addr - u->sp <= u->stack_len - 8) {
		memcpy(result, u->stack + (addr - u->sp), 8);
		return true;
	}
	const ps_view *v = view_of(ps_aspace_find(u->as, p->pid, addr, 0));
	if (v && v->file->image) {
		const ps_file *f = v->file;
		uint64_t va = addr - v->bias;
		for (size_t i = 0; i < f->nloads; i++) {
			/* Writable segments change at run time: the file's copy would lie. */
			if ((f->loads[i].flags & PF_W) || va < f->loads[i].vaddr ||
			    va - f->loads[i].vaddr + 8 > f->loads[i].filesz)
				continue;
			uint64_t off = f->loads[i].off + (va - f->loads[i].vaddr);
			if (off + 8 > f->image_len)
				break;
			memcpy(result, f->image + off, 8);
			return true;
		}
	}
	u->mem_fail_at = u->n;
	return false;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	ps_proc *p = thread_arg;
	const uint64_t *r = p->u->regs;
	/* DWARF x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
	Dwarf_Word d[NREGS] = {r[RI_AX], r[RI_DX], r[RI_CX], r[RI_BX],
			       r[RI_SI], r[RI_DI], r[RI_BP], r[RI_SP]};
	for (int i = 0; i < 8; i++)
		d[8 + i] = r[RI_R8 + i];
	d[16] = r[RI_IP];
	if (!dwfl_thread_state_registers(thread, 0, NREGS, d))
		return false;
	dwfl_thread_state_register_pc(thread, r[RI_IP]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

/* Brings the process's Dwfl in line with its mappings. libdw keeps a module (and its
 * parsed CFI) that is reported again with the same name and range. */
static int proc_report(ps_unwinder *u, ps_proc *p)
{
	size_t n;
	uint64_t gen;
	const ps_aspace_map *maps = ps_aspace_maps(u->as, p->pid, &n, &gen);
	if (p->reported && p->gen == gen)
		return p->attached ? 0 : -1;
	p->reported = 1;
	p->gen = gen;
	if (!p->dwfl) {
		p->dwfl = dwfl_begin(&dwfl_callbacks);
		if (!p->dwfl)
			return -1;
	}
	dwfl_report_begin(p->dwfl);
	uint64_t last_hi = 0;
	for (size_t i = 0; i < n; i++) {
		const ps_view *v = view_of(&maps[i]), *prev = i > 0 ? view_of(&maps[i - 1]) : NULL;
		ps_file *f = v ? v->file : NULL;
		if (!f || !f->elf)
			continue;
		uint64_t lo = v->bias + f->first_vaddr, hi = v->bias + f->end_vaddr;
		if (prev && prev->file == f && prev->bias == v->bias)
			continue; /* the same image, already reported */
		/* Mappings are sorted; a module overlapping the previous one would confuse
		 * libdw's address lookup, so the later one loses. */
		if (lo < last_hi || hi <= lo)
			continue;
		Dwfl_Module *mod = dwfl_report_module(p->dwfl, f->path, lo, hi);
		if (!mod)
			continue;
		void **ud;
		dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		*ud = f;
		last_hi = hi;
	}
	dwfl_report_end(p->dwfl, NULL, NULL);
	if (!p->attached && u->arch_elf)
		p->attached =
		    dwfl_attach_state(p->dwfl, u->arch_elf, (pid_t)p->pid, &thread_callbacks, p);
	return p->attached ? 0 : -1;
}

/* ---- public ---- */

int ps_unwind_new(ps_unwinder **out)
{
	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	ps_unwinder *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->arch_ehdr = arch_ehdr;
	u->arch_elf = elf_memory((char *)&u->arch_ehdr, sizeof(u->arch_ehdr));
	ps_aspace_opts ao = {.mode = PS_ASPACE_LIVE,
			     .keep_exited = DEAD_KEEP,
			     .ref = view_ref,
			     .proc_release = proc_release};
	if (!u->arch_elf || ps_aspace_new(&u->as, &ao)) {
		ps_unwind_free(u);
		return -ENOMEM;
	}
	load_vdso(u);
	u->truncated = 1;
	*out = u;
	return 0;
}

void ps_unwind_free(ps_unwinder *u)
{
	if (!u)
		return;
	ps_aspace_free(u->as); /* first: its mappings' views point at the files */
	for (size_t i = 0; i < u->nfiles; i++)
		file_free(u->files[i]);
	free(u->files);
	ps_index_release(&u->file_index);
	file_free(u->vdso);
	elf_end(u->arch_elf);
	free(u);
}

void ps_unwind_mmap(ps_unwinder *u, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *filename)
{
	if (!u || !len || start + len < start)
		return;
	/* The view first: the model takes the mapping with it. */
	ps_view *v = NULL;
	ps_file *f = file_get(u, pid, start, start + len, filename);
	uint64_t bias;
	if (f && f->elf && map_bias(f, pgoff, &bias) == 0) {
		v = malloc(sizeof(*v));
		if (v)
			*v = (ps_view){f, bias + start, 1};
	}
	if (!v && f && f->transient)
		file_free(f);
	ps_mmap m = {.pid = pid, .tid = pid, .start = start, .len = len, .pgoff = pgoff,
		     .filename = filename ? filename : ""};
	/* Out of memory or over a bound, the mapping is left out (the model releases the
	 * view): its samples keep their IP only. */
	ps_aspace_mmap(u->as, &m, (uint64_t)(uintptr_t)v);
}

void ps_unwind_fork(ps_unwinder *u, uint32_t ppid, uint32_t pid)
{
	if (!u || ppid == pid)
		return;
	ps_task t = {.pid = pid, .ppid = ppid, .tid = pid, .ptid = ppid};
	ps_aspace_fork(u->as, &t);
}

void ps_unwind_exec(ps_unwinder *u, uint32_t pid)
{
	if (u)
		ps_aspace_exec(u->as, pid, 0);
}

void ps_unwind_forget(ps_unwinder *u, uint32_t pid)
{
	ps_task t = {.pid = pid, .ppid = pid, .tid = pid, .ptid = pid};
	if (u)
		ps_aspace_exit(u->as, &t);
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	ps_unwinder *u = arg;
	Dwarf_Addr pc;
	if (!dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	Dwarf_Word sp = 0;
	dwfl_frame_reg(state, DWARF_SP, &sp);
	/* The same pc at the same sp makes no progress: a garbage chain that would loop. */
	if (u->n > 0 && pc == u->ips[u->n - 1] && sp == u->last_sp) {
		u->loop = 1;
		return DWARF_CB_ABORT;
	}
	u->last_sp = sp;
	u->ips[u->n++] = pc;
	return u->n >= u->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

int ps_unwind_sample(ps_unwinder *u, uint32_t pid, const uint64_t *regs, const void *stack,
		     size_t stack_len, uint64_t *ips, size_t max)
{
	if (!u)
		return -EINVAL;
	u->truncated = 1;
	if (!regs || !ips)
		return -EINVAL;
	if (!max || !regs[RI_IP])
		return 0;
	if (!stack)
		stack_len = 0;
	/* An IP outside every mapping we know means we do not know this address space (yet):
	 * libdw's frame-pointer fallback would only guess. */
	void **slot = ps_aspace_find(u->as, pid, regs[RI_IP], 0) ? ps_aspace_proc_user(u->as, pid)
								  : NULL;
	if (slot && !*slot) {
		ps_proc *np = calloc(1, sizeof(*np));
		if (np)
			*np = (ps_proc){.pid = pid, .u = u};
		*slot = np;
	}
	ps_proc *p = slot ? *slot : NULL;
	if (!p || proc_report(u, p) != 0) {
		ips[0] = regs[RI_IP];
		return 1;
	}
	u->cur = p;
	u->regs = regs;
	u->stack = stack;
	u->stack_len = stack_len;
	u->sp = regs[RI_SP];
	u->ips = ips;
	u->max = max < FRAME_CAP ? max : FRAME_CAP;
	u->n = 0;
	u->mem_fail_at = SIZE_MAX;
	u->loop = 0;
	int rc = dwfl_getthread_frames(p->dwfl, (pid_t)(pid ? pid : 1), frame_cb, u);
	size_t n = u->n;
	if (n == 0) {
		ips[0] = regs[RI_IP];
		n = 1;
	}
	/* libdw ends the chain (returns 0) both when the CFI marks the return address
	 * undefined, the real outermost frame, and when reading it failed; a failed read
	 * while unwinding the last frame tells the two apart. */
	u->truncated = rc != 0 || u->loop || u->mem_fail_at == u->n;
	u->cur = NULL;
	u->stack = NULL;
	return (int)n;
}

void ps_unwind_set_offline(ps_unwinder *u) { u->offline = 1; }

int ps_unwind_last_truncated(const ps_unwinder *u) { return u ? u->truncated : 1; }
