/* ps_unwind: DWARF unwinding of sampled user stacks with libdw's dwfl.
 *
 * Layout of the caches, chosen for the recorder's hot path:
 * - one ps_file per distinct ELF path, opened and mmapped once and shared by every process
 *   that maps it (each process's Dwfl module borrows a reference to the same Elf handle);
 * - one ps_proc per pid: its executable mappings (the ground truth, from MMAP/FORK records)
 *   and a Dwfl built from them lazily, re-reported only when the mappings changed, so that
 *   libdw keeps each module's parsed CFI between samples.
 * The thread state comes from the sample (regs + stack copy) through our own
 * Dwfl_Thread_Callbacks; nothing ever touches the live process. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

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
#define FILE_BUCKETS 256
#define PROC_BUCKETS 1024
/* Exited processes are kept this long (in later exits) because samples from other
 * CPUs' rings can arrive after the EXIT record. */
#define DEAD_KEEP 64

typedef struct ps_file {
	struct ps_file *next; /* hash chain */
	char *path;
	Elf *elf; /* NULL: not a usable ELF; remembered so we do not retry */
	const unsigned char *image;
	size_t image_len;
	void *owned;   /* the vdso copy, freed with the file */
	int transient; /* opened through /proc/PID/map_files: freed with its last map */
	unsigned refs;
	uint64_t first_vaddr; /* first PT_LOAD, aligned down: where libdw puts the module start */
	uint64_t end_vaddr;
	size_t nloads;
	struct {
		uint64_t vaddr, off, filesz, memsz;
		uint32_t flags;
	} loads[MAX_LOADS];
} ps_file;

typedef struct {
	uint64_t start, end, pgoff, bias;
	ps_file *file; /* NULL: no code we can read (anon, JIT, unusable file) */
} ps_map;

typedef struct ps_proc {
	struct ps_proc *next;
	uint32_t pid;
	int dead;
	int dirty; /* maps changed since the Dwfl was reported */
	ps_map *maps;
	size_t nmaps, cap;
	Dwfl *dwfl;
	int attached;
	struct ps_unwinder *u;
} ps_proc;

struct ps_unwinder {
	ps_file *files[FILE_BUCKETS];
	ps_proc *procs[PROC_BUCKETS];
	ps_proc *dead[DEAD_KEEP];
	size_t dead_at;
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

/* ---- files ---- */

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

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

static void file_unref(ps_unwinder *u, ps_file *f)
{
	if (!f || --f->refs || !f->transient)
		return;
	/* Transient files are not in the hash table. */
	file_free(f);
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
	unsigned b = hash_str(name) % FILE_BUCKETS;
	for (ps_file *f = u->files[b]; f; f = f->next)
		if (!strcmp(f->path, name))
			return f;
	ps_file *f = file_new(name);
	if (!f)
		return NULL;
	file_open(f, name);
	f->next = u->files[b];
	u->files[b] = f;
	return f;
}

/* This process's own vdso: every process on this kernel maps the same image. */
static void load_vdso(ps_unwinder *u)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return;
	size_t len = 0;
	FILE *m = fopen("/proc/self/maps", "re");
	if (m) {
		char line[512];
		while (fgets(line, sizeof(line), m)) {
			unsigned long long s, e;
			if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &s, &e) == 2 &&
			    s == base && e > s) {
				len = (size_t)(e - s);
				break;
			}
		}
		fclose(m);
	}
	if (!len)
		return;
	ps_file *f = file_new("[vdso]");
	if (!f)
		return;
	f->owned = malloc(len);
	if (!f->owned) {
		file_free(f);
		return;
	}
	memcpy(f->owned, (const void *)base, len);
	f->elf = elf_memory(f->owned, len);
	if (f->elf && file_index(f) != 0)
		file_drop_elf(f);
	f->refs = 1; /* the unwinder's own reference: never freed before it */
	u->vdso = f;
}

/* ---- processes ---- */

static ps_proc *proc_find(ps_unwinder *u, uint32_t pid)
{
	for (ps_proc *p = u->procs[pid % PROC_BUCKETS]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void proc_clear(ps_proc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = NULL;
	p->attached = 0;
	for (size_t i = 0; i < p->nmaps; i++)
		file_unref(p->u, p->maps[i].file);
	p->nmaps = 0;
	p->dirty = 1;
}

static void proc_undead(ps_proc *p)
{
	if (!p->dead)
		return;
	p->dead = 0;
	for (size_t i = 0; i < DEAD_KEEP; i++)
		if (p->u->dead[i] == p)
			p->u->dead[i] = NULL;
	proc_clear(p);
}

static ps_proc *proc_get(ps_unwinder *u, uint32_t pid)
{
	ps_proc *p = proc_find(u, pid);
	if (p) {
		proc_undead(p);
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->u = u;
	p->dirty = 1;
	p->next = u->procs[pid % PROC_BUCKETS];
	u->procs[pid % PROC_BUCKETS] = p;
	return p;
}

static void proc_free(ps_unwinder *u, ps_proc *p)
{
	ps_proc **pp = &u->procs[p->pid % PROC_BUCKETS];
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	proc_clear(p);
	free(p->maps);
	free(p);
}

static int maps_reserve(ps_proc *p, size_t n)
{
	if (n <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap * 2 : 32;
	while (cap < n)
		cap *= 2;
	ps_map *m = realloc(p->maps, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	p->maps = m;
	p->cap = cap;
	return 0;
}

/* Removes [start, end) from the process's mappings, as a new mmap over them does. */
static int maps_punch(ps_proc *p, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < p->nmaps;) {
		ps_map *m = &p->maps[i];
		if (m->end <= start || m->start >= end) {
			i++;
			continue;
		}
		if (m->start < start && m->end > end) {
			/* A hole in the middle: split in two. */
			if (maps_reserve(p, p->nmaps + 1))
				return -ENOMEM;
			m = &p->maps[i];
			memmove(m + 1, m, (p->nmaps - i) * sizeof(*m));
			p->nmaps++;
			if (m->file)
				m->file->refs++;
			m[0].end = start;
			m[1].pgoff += end - m[1].start;
			m[1].start = end;
			return 0;
		}
		if (m->start < start) {
			m->end = start;
			i++;
		} else if (m->end > end) {
			m->pgoff += end - m->start;
			m->start = end;
			i++;
		} else {
			file_unref(p->u, m->file);
			memmove(m, m + 1, (p->nmaps - i - 1) * sizeof(*m));
			p->nmaps--;
		}
	}
	return 0;
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

/* The mapping holding addr, or NULL. */
static const ps_map *proc_map_at(const ps_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nmaps && p->maps[lo].start <= addr ? &p->maps[lo] : NULL;
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
	const ps_map *m = proc_map_at(p, addr);
	if (m && m->file && m->file->image) {
		const ps_file *f = m->file;
		uint64_t va = addr - m->bias;
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
	if (!p->dirty)
		return p->attached ? 0 : -1;
	p->dirty = 0;
	if (!p->dwfl) {
		p->dwfl = dwfl_begin(&dwfl_callbacks);
		if (!p->dwfl)
			return -1;
	}
	dwfl_report_begin(p->dwfl);
	uint64_t last_hi = 0;
	for (size_t i = 0; i < p->nmaps; i++) {
		ps_map *m = &p->maps[i];
		ps_file *f = m->file;
		if (!f || !f->elf)
			continue;
		uint64_t lo = m->bias + f->first_vaddr, hi = m->bias + f->end_vaddr;
		if (i > 0 && p->maps[i - 1].file == f && p->maps[i - 1].bias == m->bias)
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
	if (!u->arch_elf) {
		free(u);
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
	for (size_t b = 0; b < PROC_BUCKETS; b++)
		while (u->procs[b])
			proc_free(u, u->procs[b]);
	for (size_t b = 0; b < FILE_BUCKETS; b++)
		while (u->files[b]) {
			ps_file *f = u->files[b];
			u->files[b] = f->next;
			file_free(f);
		}
	file_free(u->vdso);
	elf_end(u->arch_elf);
	free(u);
}

void ps_unwind_mmap(ps_unwinder *u, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *filename)
{
	if (!u || !len || start + len < start)
		return;
	ps_proc *p = proc_get(u, pid);
	if (!p)
		return;
	uint64_t end = start + len;
	if (maps_punch(p, start, end) || maps_reserve(p, p->nmaps + 1))
		return;
	p->dirty = 1;
	ps_map m = {.start = start, .end = end, .pgoff = pgoff};
	m.file = file_get(u, pid, start, end, filename);
	if (m.file) {
		if (!m.file->elf || map_bias(m.file, pgoff, &m.bias) != 0) {
			if (m.file->transient)
				file_free(m.file);
			m.file = NULL;
		} else {
			m.bias += start;
			m.file->refs++;
		}
	}
	size_t at = p->nmaps;
	while (at > 0 && p->maps[at - 1].start > start)
		at--;
	memmove(&p->maps[at + 1], &p->maps[at], (p->nmaps - at) * sizeof(ps_map));
	p->maps[at] = m;
	p->nmaps++;
}

void ps_unwind_fork(ps_unwinder *u, uint32_t ppid, uint32_t pid)
{
	if (!u || ppid == pid)
		return;
	ps_proc *parent = proc_find(u, ppid);
	ps_proc *child = proc_get(u, pid);
	if (!child)
		return;
	proc_clear(child);
	if (!parent || maps_reserve(child, parent->nmaps))
		return;
	memcpy(child->maps, parent->maps, parent->nmaps * sizeof(ps_map));
	child->nmaps = parent->nmaps;
	for (size_t i = 0; i < child->nmaps; i++)
		if (child->maps[i].file)
			child->maps[i].file->refs++;
}

void ps_unwind_exec(ps_unwinder *u, uint32_t pid)
{
	ps_proc *p = u ? proc_find(u, pid) : NULL;
	if (p) {
		proc_undead(p);
		proc_clear(p);
	}
}

void ps_unwind_forget(ps_unwinder *u, uint32_t pid)
{
	ps_proc *p = u ? proc_find(u, pid) : NULL;
	if (!p || p->dead)
		return;
	ps_proc *old = u->dead[u->dead_at];
	if (old)
		proc_free(u, old);
	p->dead = 1;
	u->dead[u->dead_at] = p;
	u->dead_at = (u->dead_at + 1) % DEAD_KEEP;
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
	ps_proc *p = proc_find(u, pid);
	/* An IP outside every mapping we know means we do not know this address space (yet):
	 * libdw's frame-pointer fallback would only guess. */
	if (!p || !proc_map_at(p, regs[RI_IP]) || proc_report(u, p) != 0) {
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
