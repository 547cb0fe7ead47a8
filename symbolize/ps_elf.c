#include "symbolize/ps_elf.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/openat2.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

struct sym {
	uint64_t start, size;
	const char *name;      /* points into an ELF string table (mapped) or the arena */
	const char *demangled; /* lazily, in the arena */
	uint64_t end;	       /* how far a symbol without a size may reach: its section's end */
	int rank;	       /* for duplicates at one address; see sym_rank */
};

struct seg {
	uint64_t off, filesz, vaddr;
};

struct ps_elf {
	int fd; /* the binary */
	Elf *elf;
	int dfd; /* a separate debug file, when one was found */
	Elf *delf;
	void *mini; /* the MiniDebugInfo ELF, decompressed */
	Elf *melf;
	Elf *dwarf_src; /* which of those holds .debug_info, or NULL */
	unsigned flags;
	struct sym *syms;
	size_t nsyms;
	struct seg *segs;
	size_t nsegs;
	uint8_t build_id[20];
	size_t build_id_len;
	ps_arena *arena;
	Dwarf *dw; /* lazily: NULL until needed, (Dwarf *)-1 when absent */
	const char *source;
	const char *debug_path;
	/* DWARF answers by address: the same library's address recurs in every process
	 * that maps it, and dwarf_getscopes walks a CU's DIEs each time. */
	struct memo {
		uint64_t vaddr;
		ps_elf_frame *frames; /* in the arena */
		int n;
	} * memo;
	size_t nmemo, memocap;
	ps_index memo_index; /* ps_hash_u64(vaddr) -> memo */
	/* Inlined-subroutine ranges per CU, gathered in one walk of the CU the first time
	 * an address falls in it, so each lookup is a scan of a flat array rather than
	 * dwarf_getscopes's walk of the DIE tree. */
	struct cu_index {
		Dwarf_Off off;
		struct inl *inl;
		size_t n;
	} * cus;
	size_t ncus, cucap;
	ps_index cu_index; /* ps_hash_u64(off) -> cus */
};

struct inl {
	uint64_t lo, hi;
	Dwarf_Off die; /* DIE offset of the DW_TAG_inlined_subroutine */
	int depth;     /* nesting: a deeper one is inlined into a shallower one */
};

/* Which of the names at one address is shown: a plain name beats a versioned one
 * ("__libc_start_main@@GLIBC_2.34" is a .symver alias made for the dynamic linker; the
 * code's own name, __libc_start_main_impl, is at the same address), then global beats
 * weak beats local; cmp_sym then prefers the shorter name (glibc's other aliases are
 * decorated: __GI_memcpy, __libc_start_main_alias_1), then the first in byte order. */
static int sym_rank(int bind, int versioned)
{
	return (versioned ? 0 : 3) + (bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0);
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return y->rank - x->rank;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

static size_t read_build_id(Elf *elf, uint8_t *out)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (off < d->d_size &&
		       (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz <= 20 &&
			    nh.n_descsz > 0) {
				memcpy(out, (char *)d->d_buf + desc_off, nh.n_descsz);
				return nh.n_descsz;
			}
		}
	}
	return 0;
}

static Elf_Scn *find_section(Elf *elf, const char *want, GElf_Shdr *out)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, want)) {
			if (out)
				*out = sh;
			return scn;
		}
	}
	return NULL;
}

static int has_symtab(Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB && sh.sh_entsize &&
		    sh.sh_size > sh.sh_entsize)
			return 1;
	}
	return 0;
}

/* A stripped debug file keeps the section headers with SHT_NOBITS: only real contents
 * count. */
static int has_dwarf(Elf *elf)
{
	GElf_Shdr sh;
	if (find_section(elf, ".debug_info", &sh) && sh.sh_type != SHT_NOBITS && sh.sh_size)
		return 1;
	return find_section(elf, ".zdebug_info", &sh) && sh.sh_type != SHT_NOBITS && sh.sh_size;
}

/* Assembly entry points are often labels: NOTYPE, no size (ld.so's _dl_start_user, where
 * every process's stack begins). perf names them; so do we, as symbols reaching to the
 * next one, where they are in code and not inside a function that has a size. */
#define LABEL_RANK (-1)
static int is_code_label(Elf *elf, const GElf_Sym *gs)
{
	GElf_Shdr ssh;
	return !gs->st_size && gs->st_shndx != SHN_UNDEF && gs->st_shndx < SHN_LORESERVE &&
	       gelf_getshdr(elf_getscn(elf, gs->st_shndx), &ssh) &&
	       (ssh.sh_flags & SHF_EXECINSTR);
}

static int load_symbols(ps_elf *e, Elf *elf, int type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != (GElf_Word)type || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		size_t count = sh.sh_size / sh.sh_entsize;
		if (count > d->d_size / sh.sh_entsize)
			count = d->d_size / sh.sh_entsize;
		if (count > (1u << 26))
			return PS_ELIMIT;
		struct sym *s = realloc(e->syms, (e->nsyms + count + 1) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		e->syms = s;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym gs;
			if (!gelf_getsym(d, (int)i, &gs))
				continue;
			int st = GELF_ST_TYPE(gs.st_info);
			int label = st == STT_NOTYPE && is_code_label(elf, &gs);
			if ((st != STT_FUNC && st != STT_GNU_IFUNC && !label) ||
			    gs.st_shndx == SHN_UNDEF || gs.st_value == 0)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, gs.st_name);
			if (!name || !*name || (label && (name[0] == '.' || name[0] == '$')))
				continue;
			/* "name@VERSION" / "name@@VERSION" (.symtab spells versions into the
			 * name; .dynsym keeps them apart): never shown, and ranked below the
			 * plain names at the same address. */
			size_t len = strcspn(name, "@");
			int versioned = name[len] == '@' && len > 0;
			if (versioned && !(name = ps_arena_strndup(e->arena, name, len)))
				return -ENOMEM;
			/* A symbol without a size (_init, hand-written assembly) reaches to the
			 * next symbol, but never past its own section: _init must not swallow
			 * the .plt that follows it. */
			uint64_t end = UINT64_MAX;
			GElf_Shdr ssh;
			if (!gs.st_size && gs.st_shndx < SHN_LORESERVE &&
			    gelf_getshdr(elf_getscn(elf, gs.st_shndx), &ssh) &&
			    gs.st_value >= ssh.sh_addr && gs.st_value - ssh.sh_addr < ssh.sh_size)
				end = ssh.sh_addr + ssh.sh_size;
			int rank = label ? LABEL_RANK : sym_rank(GELF_ST_BIND(gs.st_info), versioned);
			e->syms[e->nsyms++] =
			    (struct sym){gs.st_value, gs.st_size, name, NULL, end, rank};
		}
	}
	return 0;
}

static int index_binary(ps_elf *e)
{
	if (elf_kind(e->elf) != ELF_K_ELF)
		return PS_EFORMAT;
	GElf_Ehdr eh;
	if (!gelf_getehdr(e->elf, &eh))
		return PS_EFORMAT;
	size_t nph;
	if (elf_getphdrnum(e->elf, &nph) != 0)
		nph = 0;
	if (nph > 4096)
		return PS_ECORRUPT;
	e->segs = calloc(nph ? nph : 1, sizeof(*e->segs));
	if (!e->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e->elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			e->segs[e->nsegs++] = (struct seg){ph.p_offset, ph.p_filesz, ph.p_vaddr};
	}
	e->build_id_len = read_build_id(e->elf, e->build_id);
	return 0;
}

/* Sorts the symbols and gives each address one name. */
static void sort_symbols(ps_elf *e)
{
	if (!e->nsyms)
		return;
	qsort(e->syms, e->nsyms, sizeof(*e->syms), cmp_sym);
	/* One symbol per address: aliases (e.g. __libc_malloc/malloc) keep the best rank.
	 * A label inside a function with a size is a jump target, not a name. */
	size_t w = 0;
	uint64_t sized_end = 0; /* where the latest function with a size ends */
	for (size_t i = 0; i < e->nsyms; i++) {
		if (w && e->syms[w - 1].start == e->syms[i].start) {
			if (!e->syms[w - 1].size)
				e->syms[w - 1].size = e->syms[i].size;
			continue;
		}
		if (e->syms[i].rank == LABEL_RANK && e->syms[i].start < sized_end)
			continue;
		if (e->syms[i].size && e->syms[i].start + e->syms[i].size > sized_end)
			sized_end = e->syms[i].start + e->syms[i].size;
		e->syms[w++] = e->syms[i];
	}
	e->nsyms = w;
}

/* Symbols without a size reach to the next one or to their section's end. */
static void size_symbols(ps_elf *e)
{
	for (size_t i = 0; i < e->nsyms; i++) {
		struct sym *s = &e->syms[i];
		if (s->size)
			continue;
		uint64_t end = i + 1 < e->nsyms && e->syms[i + 1].start < s->end
				   ? e->syms[i + 1].start
				   : s->end;
		if (end > s->start && end != UINT64_MAX)
			s->size = end - s->start;
	}
}

/* ---- PLT stubs ---- */

/* A call into another object goes through a stub: 16 bytes in .plt (lazy binding), in
 * .plt.sec when the binary is built for IBT (.plt then only holds the lazy-binding
 * halves), or 8 or 16 in .plt.got (functions whose GOT slot is filled at load time). No
 * symbol covers them, and perf names each after the function it jumps to, "memcmp@plt".
 * The stub's indirect jump names a GOT slot, and the dynamic relocation of that slot
 * names the function; IBT's lazy halves push an index into .rela.plt instead. Decoding
 * the jump rather than counting entries works for every layout, since stubs in .plt.got
 * and .plt.sec follow no relocation order. x86-64 only. */

struct slot {
	uint64_t got;	  /* the GOT slot's address */
	const char *name; /* the function the dynamic linker writes there */
};

static int cmp_slot(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	return (x->got > y->got) - (x->got < y->got);
}

/* The (sorted) symbol that starts at vaddr, or NULL. */
static const struct sym *sym_at(const ps_elf *e, uint64_t vaddr)
{
	size_t lo = 0, hi = e->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->syms[mid].start < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->nsyms && e->syms[lo].start == vaddr ? &e->syms[lo] : NULL;
}

#define PLT_MAX (1u << 20)

/* Appends the named GOT slots of one relocation section (.rela.dyn of a large library
 * holds mostly RELATIVE ones, which name nothing); with order (for .rela.plt), also each
 * relocation's name by index, NULL where it has none. */
static int read_slots(ps_elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct slot **slots, size_t *n,
		      size_t *cap, const char ***order, size_t *norder)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Shdr symsh;
	Elf_Scn *symscn = elf_getscn(e->elf, sh->sh_link);
	Elf_Data *symd = symscn && gelf_getshdr(symscn, &symsh) ? elf_getdata(symscn, NULL) : NULL;
	size_t esz = gelf_fsize(e->elf, ELF_T_RELA, 1, EV_CURRENT);
	if (!d || !d->d_buf || !esz)
		return 0;
	size_t count = d->d_size / esz;
	if (order) {
		if (count > PLT_MAX)
			return PS_ELIMIT;
		if (!(*order = calloc(count + 1, sizeof(**order))))
			return -ENOMEM;
		*norder = count;
	}
	for (size_t i = 0; i < count; i++) {
		GElf_Rela r;
		if (!gelf_getrela(d, (int)i, &r))
			continue;
		unsigned type = (unsigned)GELF_R_TYPE(r.r_info);
		size_t symi = GELF_R_SYM(r.r_info);
		const char *name = NULL;
		GElf_Sym gs;
		if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) && symi && symd &&
		    gelf_getsym(symd, (int)symi, &gs))
			name = elf_strptr(e->elf, symsh.sh_link, gs.st_name);
		else if (type == R_X86_64_IRELATIVE) {
			const struct sym *s = sym_at(e, (uint64_t)r.r_addend);
			name = s ? s->name : NULL;
		}
		if (!name || !*name)
			continue;
		if (*n == *cap) {
			if (*cap >= PLT_MAX)
				return PS_ELIMIT;
			if (PS_GROW(*slots, *cap, *n + 1))
				return -ENOMEM;
		}
		(*slots)[(*n)++] = (struct slot){r.r_offset, name};
		if (order)
			(*order)[i] = name;
	}
	return 0;
}

/* The GOT slot a stub jumps through (returns 1), or the .rela.plt index an IBT lazy
 * stub pushes (returns 2), or 0 for anything else (the .plt header). */
static int decode_stub(const unsigned char *p, size_t len, uint64_t vaddr, uint64_t *got,
		       uint32_t *index)
{
	size_t i = 0;
	if (len >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		i = 4; /* endbr64 */
	if (i < len && p[i] == 0xf2)
		i++; /* bnd prefix */
	if (i + 6 <= len && p[i] == 0xff && p[i + 1] == 0x25) {
		/* jmp *disp32(%rip): relative to the next instruction */
		int32_t disp = (int32_t)((uint32_t)p[i + 2] | (uint32_t)p[i + 3] << 8 |
					 (uint32_t)p[i + 4] << 16 | (uint32_t)p[i + 5] << 24);
		*got = vaddr + i + 6 + (uint64_t)(int64_t)disp;
		return 1;
	}
	if (i + 5 <= len && p[i] == 0x68) { /* push $index */
		*index = (uint32_t)p[i + 1] | (uint32_t)p[i + 2] << 8 | (uint32_t)p[i + 3] << 16 |
			 (uint32_t)p[i + 4] << 24;
		return 2;
	}
	return 0;
}

static int name_stubs(ps_elf *e, const char *section, const struct slot *slots, size_t nslots,
		      const char **order, size_t norder)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(e->elf, section, &sh);
	if (!scn || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
		return 0;
	Elf_Data *d = elf_getdata(scn, NULL);
	uint64_t entsize = sh.sh_entsize == 8 || sh.sh_entsize == 16 ? sh.sh_entsize : 16;
	if (!d || !d->d_buf)
		return 0;
	size_t count = d->d_size / entsize;
	if (count > PLT_MAX)
		return PS_ELIMIT;
	struct sym *s = realloc(e->syms, (e->nsyms + count + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	e->syms = s;
	for (size_t i = 0; i < count; i++) {
		uint64_t vaddr = sh.sh_addr + i * entsize, got = 0;
		uint32_t index = 0;
		const char *name = NULL;
		switch (decode_stub((const unsigned char *)d->d_buf + i * entsize, entsize, vaddr,
				    &got, &index)) {
		case 1: {
			struct slot key = {got, NULL};
			const struct slot *hit =
			    nslots ? bsearch(&key, slots, nslots, sizeof(key), cmp_slot) : NULL;
			name = hit ? hit->name : NULL;
			break;
		}
		case 2:
			name = index < norder ? order[index] : NULL;
			break;
		}
		if (!name)
			continue;
		size_t len = strlen(name);
		char *full = ps_arena_alloc(e->arena, len + 5);
		if (!full)
			return -ENOMEM;
		memcpy(full, name, len);
		memcpy(full + len, "@plt", 5);
		/* Ranked below every real symbol: one that names a stub itself wins. */
		e->syms[e->nsyms++] = (struct sym){vaddr, entsize, full, NULL, vaddr + entsize, -1};
	}
	return 0;
}

/* Adds a "name@plt" symbol for every PLT stub of the binary. */
static int add_plt_symbols(ps_elf *e)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(e->elf, &eh) || eh.e_machine != EM_X86_64)
		return 0;
	struct slot *slots = NULL;
	const char **order = NULL;
	size_t nslots = 0, cap = 0, norder = 0;
	int err = 0;
	Elf_Scn *scn = NULL, *relaplt = find_section(e->elf, ".rela.plt", NULL);
	/* Only .plt.got's slots are bound by .rela.dyn (GLOB_DAT), and a large library's
	 * .rela.dyn is megabytes of RELATIVE entries: read it only when needed. */
	int dyn = find_section(e->elf, ".plt.got", NULL) != NULL;
	while (!err && (scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		if ((scn == relaplt || dyn) && gelf_getshdr(scn, &sh) && sh.sh_type == SHT_RELA &&
		    (sh.sh_flags & SHF_ALLOC))
			err = read_slots(e, scn, &sh, &slots, &nslots, &cap,
					 scn == relaplt && !order ? &order : NULL, &norder);
	}
	if (!err && nslots) {
		qsort(slots, nslots, sizeof(*slots), cmp_slot);
		size_t before = e->nsyms;
		const char *sections[] = {".plt", ".plt.sec", ".plt.got"};
		for (size_t i = 0; !err && i < sizeof(sections) / sizeof(sections[0]); i++)
			err = name_stubs(e, sections[i], slots, nslots, order, norder);
		if (e->nsyms != before)
			sort_symbols(e);
	}
	free(slots);
	free(order);
	return err;
}

/* ---- separate debug files ---- */

/* Reading a whole candidate is the one step whose cost the file's owner chooses (a debug
 * file grown to 2 TB of holes at a debuglink path took minutes): a candidate gets this
 * long, then it is refused and the binary's own symbols serve. Real debug files of a few
 * GB take about a second. */
#define CRC_SECONDS 5

static int crc_file(int fd, uint32_t *out)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	ssize_t n;
	struct timespec t0, t;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 1; (n = read(fd, buf, sizeof(buf))) > 0; i++) {
		crc = crc32(crc, buf, (uInt)n);
		if (i % 256 == 0) { /* every 16 MiB */
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > CRC_SECONDS)
				return -ETIMEDOUT;
		}
	}
	if (n < 0)
		return -errno;
	*out = (uint32_t)crc;
	return 0;
}

int ps_open_in_root(const char *root, const char *path)
{
	int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	/* RESOLVE_IN_ROOT: ".." and absolute symlinks stop at root, as they would for the
	 * process that lives there, instead of escaping to this machine's files. */
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
			       .resolve = RESOLVE_IN_ROOT};
	while (*path == '/')
		path++;
	int fd = (int)syscall(SYS_openat2, dir, *path ? path : ".", &how, sizeof(how));
	int err = fd < 0 ? -errno : 0;
	close(dir);
	return fd < 0 ? err : fd;
}

/* Opens path; a path inside another process's root ("/proc/PID/root/...") is resolved
 * within that root. O_NONBLOCK: a trace or a process names the file, and a FIFO put where
 * a library was must not hang the open (callers then take regular files only). */
static int open_file(const char *path)
{
	unsigned pid;
	int n = 0;
	if (sscanf(path, "/proc/%u/root%n", &pid, &n) == 1 && n > 0 && path[n] == '/') {
		char root[64];
		snprintf(root, sizeof(root), "%.*s", n, path);
		int fd = ps_open_in_root(root, path + n);
		if (fd != -ENOSYS)
			return fd < 0 ? (errno = -fd, -1) : fd;
	}
	return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
}

/* Opens a candidate debug file and keeps it only when it belongs to this binary: the same
 * build-id, or, when either lacks one, the CRC the debuglink names. */
static int try_debug_file(ps_elf *e, const char *path, const uint32_t *crc, const char *source)
{
	if (!strcmp(path, e->debug_path ? e->debug_path : ""))
		return 0;
	int fd = open_file(path);
	if (fd < 0)
		return 0;
	struct stat st;
	Elf *elf = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto reject;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto reject;
	uint8_t bid[20];
	size_t bidlen = read_build_id(elf, bid);
	if (e->build_id_len && bidlen) {
		if (bidlen != e->build_id_len || memcmp(bid, e->build_id, bidlen))
			goto reject;
	} else {
		uint32_t got;
		if (!crc || crc_file(fd, &got) || got != *crc)
			goto reject;
	}
	if (!has_symtab(elf) && !has_dwarf(elf))
		goto reject;
	e->dfd = fd;
	e->delf = elf;
	e->source = source;
	e->debug_path = ps_arena_strndup(e->arena, path, strlen(path));
	return 1;
reject:
	if (elf)
		elf_end(elf);
	close(fd);
	return 0;
}

static int find_debuglink(ps_elf *e, const ps_elf_opts *o, const char *name, const char *ddir)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(e->elf, ".gnu_debuglink", &sh);
	Elf_Data *d = scn && sh.sh_type != SHT_NOBITS ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_buf || d->d_size < 8)
		return 0;
	const char *link = d->d_buf;
	size_t len = strnlen(link, d->d_size);
	size_t crc_off = (len + 4) & ~(size_t)3;
	if (len == 0 || len >= 256 || crc_off + 4 > d->d_size || strchr(link, '/'))
		return 0;
	uint32_t crc;
	memcpy(&crc, (const char *)d->d_buf + crc_off, 4);
	GElf_Ehdr eh;
	if (gelf_getehdr(e->elf, &eh) &&
	    (eh.e_ident[EI_DATA] == ELFDATA2MSB) != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__))
		crc = __builtin_bswap32(crc);
	const char *slash = strrchr(name, '/');
	int dirlen = slash ? (int)(slash - name) : 0;
	const char *root = o->root ? o->root : "";
	char path[8192];
	/* Next to the binary, in .debug/ beside it (inside the process's root first), then
	 * under the global debug directory. */
	const char *fmts[] = {"%s%.*s/%s", "%s%.*s/.debug/%s"};
	for (int r = 0; r < 2; r++) {
		if (r == 1 && !*root)
			break;
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), fmts[i], r ? "" : root, dirlen, name, link);
			if (try_debug_file(e, path, &crc, "debuglink"))
				return 1;
		}
	}
	snprintf(path, sizeof(path), "%s%.*s/%s", ddir, dirlen, name, link);
	return try_debug_file(e, path, &crc, "debuglink");
}

static int find_build_id_file(ps_elf *e, const char *ddir)
{
	if (!e->build_id_len)
		return 0;
	char hex[41], path[8192];
	for (size_t i = 0; i < e->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", e->build_id[i]);
	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", ddir, hex, hex + 2);
	return try_debug_file(e, path, NULL, "build-id");
}

/* libdebuginfod is loaded at run time so perfsample neither needs it nor pays for it
 * unless DEBUGINFOD_URLS asks for it. Its state is process-wide on purpose: once a
 * server fails (unreachable, timeout) no later binary waits for it again. */
typedef struct debuginfod_client debuginfod_client;
static struct {
	int state; /* 0 untried, 1 ready, -1 unavailable or given up */
	debuginfod_client *client;
	int (*find)(debuginfod_client *, const unsigned char *, int, char **);
	int (*find_exec)(debuginfod_client *, const unsigned char *, int, char **);
	struct timespec deadline;
} dbgd;

/* Called by libdebuginfod while a transfer runs; non-zero cancels it. */
static int dbgd_progress(debuginfod_client *c, long a, long b)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dbgd.deadline.tv_sec ||
	       (now.tv_sec == dbgd.deadline.tv_sec && now.tv_nsec > dbgd.deadline.tv_nsec);
}

/* 1 when a debuginfod client is ready (DEBUGINFOD_URLS set, libdebuginfod loaded). */
static int dbgd_ready(void)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls || dbgd.state < 0)
		return 0;
	if (dbgd.state == 0) {
		dbgd.state = -1;
		void *h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
		if (!h)
			return 0;
		debuginfod_client *(*begin)(void) =
		    (debuginfod_client * (*)(void)) dlsym(h, "debuginfod_begin");
		void (*set_progress)(debuginfod_client *,
				     int (*)(debuginfod_client *, long, long)) =
		    (void (*)(debuginfod_client *, int (*)(debuginfod_client *, long, long)))dlsym(
			h, "debuginfod_set_progressfn");
		dbgd.find = (int (*)(debuginfod_client *, const unsigned char *, int,
				     char **))dlsym(h, "debuginfod_find_debuginfo");
		dbgd.find_exec = (int (*)(debuginfod_client *, const unsigned char *, int,
					  char **))dlsym(h, "debuginfod_find_executable");
		if (!begin || !dbgd.find || !(dbgd.client = begin()))
			return 0;
		if (set_progress)
			set_progress(dbgd.client, dbgd_progress);
		dbgd.state = 1;
	}
	return 1;
}

/* Asks the server for the debug file (or the executable) of a build-id: the path of the
 * client's cached copy (the caller frees it), or NULL. */
static char *dbgd_fetch(const uint8_t *bid, size_t idlen, int executable)
{
	if (!idlen || !dbgd_ready() || (executable && !dbgd.find_exec))
		return NULL;
	/* A few seconds per file: a profile without names beats a profiler that hangs. */
	clock_gettime(CLOCK_MONOTONIC, &dbgd.deadline);
	dbgd.deadline.tv_sec += 5;
	char *path = NULL;
	int fd = (executable ? dbgd.find_exec : dbgd.find)(dbgd.client, bid, (int)idlen, &path);
	if (fd < 0) {
		if (fd != -ENOENT)
			dbgd.state = -1;
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

static int find_debuginfod(ps_elf *e)
{
	char *path = dbgd_fetch(e->build_id, e->build_id_len, 0);
	int ok = path && try_debug_file(e, path, NULL, "debuginfod");
	free(path);
	return ok;
}

int ps_elf_buildid_cache_path(const uint8_t *bid, size_t idlen, int layout, char *out,
			      size_t outlen)
{
	if (!idlen || idlen > 20)
		return -ENOENT;
	char base[4096];
	const char *dir = getenv("PERF_BUILDID_DIR");
	if (!dir || !*dir) {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return -ENOENT;
		snprintf(base, sizeof(base), "%s/.debug", home);
		dir = base;
	}
	char hex[41];
	for (size_t i = 0; i < idlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", bid[i]);
	int n = snprintf(out, outlen, "%s/.build-id/%.2s/%s%s", dir, hex, hex + 2,
			 layout == 0 ? "/elf" : "");
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int has_build_id(const char *path, const uint8_t *bid, size_t idlen)
{
	ps_fileid f;
	return ps_elf_identify(path, &f) == 0 && f.build_id_size == idlen &&
	       !memcmp(f.build_id, bid, idlen);
}

int ps_elf_locate(const char *path, const uint8_t *bid, size_t idlen, char *out, size_t outlen)
{
	if (!idlen || has_build_id(path, bid, idlen)) {
		int n = snprintf(out, outlen, "%s", path);
		return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
	}
	for (int layout = 0; layout < 2; layout++)
		if (ps_elf_buildid_cache_path(bid, idlen, layout, out, outlen) == 0 &&
		    has_build_id(out, bid, idlen))
			return 0;
	char *got = dbgd_fetch(bid, idlen, 1);
	int n = got ? snprintf(out, outlen, "%s", got) : -1;
	int ok = got && n >= 0 && (size_t)n < outlen && has_build_id(out, bid, idlen);
	free(got);
	return ok ? 0 : -ENOENT;
}

/* MiniDebugInfo: an xz-compressed ELF in .gnu_debugdata holding the .symtab entries that
 * .dynsym lacks (Fedora, systemd). */
#define MINI_MAX (64u << 20)
static int load_minidebuginfo(ps_elf *e)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(e->elf, ".gnu_debugdata", &sh);
	Elf_Data *d = scn && sh.sh_type != SHT_NOBITS ? elf_rawdata(scn, NULL) : NULL;
	if (!d || !d->d_buf || !d->d_size)
		return 0;
	lzma_stream strm = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&strm, MINI_MAX, 0) != LZMA_OK)
		return 0;
	size_t cap = d->d_size * 4 + 4096, len = 0;
	unsigned char *out = malloc(cap);
	lzma_ret ret = LZMA_OK;
	strm.next_in = d->d_buf;
	strm.avail_in = d->d_size;
	while (out) {
		strm.next_out = out + len;
		strm.avail_out = cap - len;
		ret = lzma_code(&strm, LZMA_FINISH);
		len = cap - strm.avail_out;
		if (ret != LZMA_OK)
			break;
		if (strm.avail_out == 0) {
			if (cap >= MINI_MAX)
				break;
			unsigned char *n = realloc(out, cap * 2);
			if (!n)
				break;
			out = n;
			cap *= 2;
		} else if (strm.avail_in == 0) {
			break; /* truncated stream: no more input, no end */
		}
	}
	lzma_end(&strm);
	if (!out || ret != LZMA_STREAM_END) {
		free(out);
		return 0;
	}
	Elf *m = elf_memory((char *)out, len);
	GElf_Ehdr eh;
	if (!m || elf_kind(m) != ELF_K_ELF || !gelf_getehdr(m, &eh) || !has_symtab(m)) {
		if (m)
			elf_end(m);
		free(out);
		return 0;
	}
	e->mini = out;
	e->melf = m;
	return 1;
}

/* Picks the symbol and DWARF sources in order; see ps_elf_opts. */
static int index_symbols(ps_elf *e, const ps_elf_opts *o, const char *path)
{
	int want_dwarf = (e->flags & (PS_ELF_INLINE | PS_ELF_LINES)) != 0;
	int own_symtab = has_symtab(e->elf), own_dwarf = has_dwarf(e->elf);
	if (!own_symtab || (want_dwarf && !own_dwarf)) {
		const char *ddir = o && o->debug_dir ? o->debug_dir : "/usr/lib/debug";
		const char *name = o && o->name ? o->name : path;
		if (!find_debuglink(e, o ? o : &(ps_elf_opts){0}, name, ddir) &&
		    !find_build_id_file(e, ddir) && !(o && o->no_debuginfod))
			find_debuginfod(e);
	}
	int err, debug_syms = 0;
	if (own_symtab) {
		e->source = "symtab";
		err = load_symbols(e, e->elf, SHT_SYMTAB);
	} else if (e->delf && has_symtab(e->delf)) {
		debug_syms = 1;
		err = load_symbols(e, e->delf, SHT_SYMTAB);
	} else if (load_minidebuginfo(e)) {
		e->source = "minidebuginfo";
		err = load_symbols(e, e->melf, SHT_SYMTAB);
		if (!err)
			err = load_symbols(e, e->elf, SHT_DYNSYM);
	} else {
		e->source = "dynsym";
		err = load_symbols(e, e->elf, SHT_DYNSYM);
	}
	if (err)
		return err;
	e->dwarf_src = own_dwarf ? e->elf : e->delf && has_dwarf(e->delf) ? e->delf : NULL;
	if (e->delf && !debug_syms && e->dwarf_src != e->delf) {
		/* The debug file gave nothing we use: let it go. */
		elf_end(e->delf);
		close(e->dfd);
		e->delf = NULL;
		e->dfd = -1;
		e->debug_path = NULL;
	}
	sort_symbols(e);
	/* A binary whose PLT cannot be read still has its other names. */
	add_plt_symbols(e);
	size_symbols(e);
	return 0;
}

static ps_elf *elf_new(unsigned flags)
{
	static int initialised;
	if (!initialised) {
		elf_version(EV_CURRENT);
		initialised = 1;
	}
	ps_elf *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = -1;
	e->dfd = -1;
	e->flags = flags;
	e->arena = ps_arena_new();
	if (!e->arena) {
		free(e);
		return NULL;
	}
	return e;
}

static uint64_t mtime_ns(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
}

int ps_elf_identify(const char *path, ps_fileid *out)
{
	int fd = open_file(path);
	if (fd < 0)
		return -errno;
	struct stat st;
	int err = fstat(fd, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? PS_ENOTREG : 0;
	if (!err) {
		out->size = (uint64_t)st.st_size;
		out->mtime_ns = mtime_ns(&st);
		out->ino = (uint64_t)st.st_ino;
		out->maj = major(st.st_dev);
		out->min = minor(st.st_dev);
		out->build_id_size = 0;
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		if (elf && elf_kind(elf) == ELF_K_ELF)
			out->build_id_size = (uint8_t)read_build_id(elf, out->build_id);
		elf_end(elf);
	}
	close(fd);
	return err;
}

int ps_elf_opts_refuse_file(const ps_elf_opts *o, uint64_t size, uint64_t mtime)
{
	const ps_fileid *want = o->want_file;
	return want && !want->build_id_size && (size != want->size || mtime != want->mtime_ns);
}

int ps_elf_opts_refuse_build_id(const ps_elf_opts *o, const uint8_t *id, size_t len)
{
	return o->want_build_id && o->idlen &&
	       (len != o->idlen || memcmp(id, o->want_build_id, o->idlen));
}

int ps_elf_open_opts(ps_elf **out, const char *path, const ps_elf_opts *o)
{
	*out = NULL;
	ps_elf *e = elf_new(o ? o->flags : 0);
	if (!e)
		return -ENOMEM;
	int err = 0;
	e->fd = open_file(path);
	if (e->fd < 0) {
		err = -errno;
		goto fail;
	}
	struct stat st;
	if (fstat(e->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = PS_EFORMAT; /* a fifo or device would block or never end */
		goto fail;
	}
	/* A file rebuilt since the recording (no build-id tells) names other functions at
	 * the same addresses: refuse it before reading anything. */
	if (o && ps_elf_opts_refuse_file(o, (uint64_t)st.st_size, mtime_ns(&st))) {
		err = PS_ECORRUPT;
		goto fail;
	}
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf) {
		err = PS_EFORMAT;
		goto fail;
	}
	err = index_binary(e);
	if (err)
		goto fail;
	/* Check the build-id before looking for debug files: a wrong binary costs nothing. */
	if (o && ps_elf_opts_refuse_build_id(o, e->build_id, e->build_id_len)) {
		err = PS_ECORRUPT;
		goto fail;
	}
	err = index_symbols(e, o, path);
	if (err)
		goto fail;
	*out = e;
	return 0;
fail:
	ps_elf_free(e);
	return err;
}

int ps_elf_open(ps_elf **out, const char *path, const uint8_t *want_build_id, size_t idlen,
		unsigned flags)
{
	ps_elf_opts o = {.flags = flags, .want_build_id = want_build_id, .idlen = idlen};
	return ps_elf_open_opts(out, path, &o);
}

int ps_elf_open_mem(ps_elf **out, const void *data, size_t size, unsigned flags)
{
	*out = NULL;
	ps_elf *e = elf_new(flags);
	if (!e)
		return -ENOMEM;
	e->elf = elf_memory((char *)data, size);
	int err = e->elf ? index_binary(e) : PS_EFORMAT;
	/* No file name: only what the image itself holds. */
	ps_elf_opts o = {
	    .flags = flags, .debug_dir = "/nonexistent", .name = "", .no_debuginfod = 1};
	if (!err)
		err = index_symbols(e, &o, "");
	if (err) {
		ps_elf_free(e);
		return err;
	}
	*out = e;
	return 0;
}

void ps_elf_free(ps_elf *e)
{
	if (!e)
		return;
	if (e->dw && e->dw != (Dwarf *)-1)
		dwarf_end(e->dw);
	if (e->melf)
		elf_end(e->melf);
	free(e->mini);
	if (e->delf)
		elf_end(e->delf);
	if (e->dfd >= 0)
		close(e->dfd);
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	ps_arena_free(e->arena);
	free(e->syms);
	free(e->segs);
	free(e->memo);
	ps_index_release(&e->memo_index);
	ps_index_release(&e->cu_index);
	for (size_t i = 0; i < e->ncus; i++)
		free(e->cus[i].inl);
	free(e->cus);
	free(e);
}

const char *ps_elf_symbol_source(const ps_elf *e, const char **debug_path)
{
	if (debug_path)
		*debug_path = e->debug_path;
	return e->source;
}

int ps_elf_offset_to_vaddr(const ps_elf *e, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct seg *s = &e->segs[i];
		if (off >= s->off && off < s->off + s->filesz) {
			*vaddr = off - s->off + s->vaddr;
			return 0;
		}
	}
	return PS_EFORMAT;
}

const uint8_t *ps_elf_build_id(const ps_elf *e, size_t *len)
{
	*len = e->build_id_len;
	return e->build_id_len ? e->build_id : NULL;
}

size_t ps_elf_nsyms(const ps_elf *e) { return e->nsyms; }

static const char *sym_name(ps_elf *e, struct sym *s)
{
	if (!(e->flags & PS_ELF_DEMANGLE))
		return s->name;
	if (!s->demangled) {
		char buf[4096];
		const char *d = ps_demangle(s->name, buf, sizeof(buf));
		s->demangled = d == s->name ? s->name : ps_arena_strndup(e->arena, d, strlen(d));
		if (!s->demangled)
			return s->name;
	}
	return s->demangled;
}

static const char *die_name(ps_elf *e, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Die origin;
	const char *name = NULL;
	/* Inlined instances name their function through the abstract origin. */
	for (int depth = 0; depth < 4 && die; depth++) {
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
		if (!name)
			name = dwarf_formstring(
			    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
		if (!name)
			name = dwarf_diename(die);
		if (name)
			break;
		if (!dwarf_attr(die, DW_AT_abstract_origin, &attr) ||
		    !dwarf_formref_die(&attr, &origin))
			break;
		die = &origin;
	}
	if (!name)
		return NULL;
	if (e->flags & PS_ELF_DEMANGLE) {
		char buf[4096];
		const char *d = ps_demangle(name, buf, sizeof(buf));
		if (d != name)
			return ps_arena_strndup(e->arena, d, strlen(d));
	}
	return name;
}

static Dwarf *get_dwarf(ps_elf *e)
{
	if (!e->dw) {
		e->dw = e->dwarf_src ? dwarf_begin_elf(e->dwarf_src, DWARF_C_READ, NULL) : NULL;
		if (!e->dw)
			e->dw = (Dwarf *)-1;
	}
	return e->dw == (Dwarf *)-1 ? NULL : e->dw;
}

static int cmp_inl(const void *a, const void *b)
{
	const struct inl *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

#define INL_MAX (1u << 22)
static int add_inlines(Dwarf_Die *die, int depth, struct inl **arr, size_t *n, size_t *cap)
{
	Dwarf_Die child;
	if (depth > 64 || dwarf_child(die, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_inlined_subroutine) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				if (*n == *cap) {
					if (*cap >= INL_MAX)
						return PS_ELIMIT;
					if (PS_GROW(*arr, *cap, *n + 1))
						return -ENOMEM;
				}
				(*arr)[(*n)++] =
				    (struct inl){lo, hi, dwarf_dieoffset(&child), depth};
			}
		}
		/* Code lives under subprograms, blocks and inlined subroutines, and in C++
		 * under namespaces and classes; types and variables hold none. */
		if (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block ||
		    tag == DW_TAG_inlined_subroutine || tag == DW_TAG_namespace ||
		    tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
		    tag == DW_TAG_module) {
			int err = add_inlines(&child, depth + 1, arr, n, cap);
			if (err)
				return err;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

/* The inline index of the CU (built on first use), or NULL when it cannot be built. */
static const struct cu_index *cu_inlines(ps_elf *e, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	/* ps_hash_u64 is a bijection: the hash alone is the key. */
	uint64_t h = ps_hash_u64(off);
	uint32_t id = ps_index_find(&e->cu_index, h, NULL, NULL);
	if (id != UINT32_MAX)
		return &e->cus[id];
	if (PS_GROW(e->cus, e->cucap, e->ncus + 1) ||
	    ps_index_insert(&e->cu_index, h, (uint32_t)e->ncus))
		return NULL;
	struct inl *arr = NULL;
	size_t n = 0, cap = 0;
	if (add_inlines(cu, 0, &arr, &n, &cap) != 0) {
		free(arr);
		arr = NULL;
		n = 0;
	}
	if (n)
		qsort(arr, n, sizeof(*arr), cmp_inl);
	e->cus[e->ncus] = (struct cu_index){off, arr, n};
	return &e->cus[e->ncus++];
}

/* Adds DWARF inline frames and lines for vaddr around the symbol's name. */
static int dwarf_frames(ps_elf *e, uint64_t vaddr, const char *outer, ps_elf_frame *frames, int max)
{
	Dwarf *dw = get_dwarf(e);
	Dwarf_Die cu;
	if (!dw || !dwarf_addrdie(dw, vaddr, &cu))
		return 0;
	const char *file = NULL;
	int line = 0;
	if (e->flags & PS_ELF_LINES) {
		Dwarf_Line *l = dwarf_getsrc_die(&cu, vaddr);
		if (l) {
			file = dwarf_linesrc(l, NULL, NULL);
			dwarf_lineno(l, &line);
		}
	}
	int n = 0;
	const struct cu_index *ci = (e->flags & PS_ELF_INLINE) ? cu_inlines(e, &cu) : NULL;
	if (ci) {
		/* The inlined subroutines that cover vaddr, innermost (deepest) first. */
		const struct inl *hit[PS_ELF_MAX_INLINE];
		int nh = 0;
		for (size_t i = 0; i < ci->n && ci->inl[i].lo <= vaddr; i++) {
			const struct inl *in = &ci->inl[i];
			if (vaddr >= in->hi || nh == PS_ELF_MAX_INLINE)
				continue;
			int j = nh++;
			while (j > 0 && hit[j - 1]->depth < in->depth) {
				hit[j] = hit[j - 1];
				j--;
			}
			hit[j] = in;
		}
		/* Each inlined subroutine is a frame; its call site (DW_AT_call_file/line)
		 * is the line of the frame that encloses it. */
		Dwarf_Files *files = NULL;
		dwarf_getsrcfiles(&cu, &files, NULL);
		for (int i = 0; i < nh && n < max - 1; i++) {
			Dwarf_Die die;
			if (!dwarf_offdie(dw, hit[i]->die, &die))
				continue;
			const char *name = die_name(e, &die);
			frames[n++] =
			    (ps_elf_frame){name ? name : "[unknown]", file, (unsigned)line, 0};
			Dwarf_Attribute attr;
			Dwarf_Word v;
			file = NULL;
			line = 0;
			if (files &&
			    dwarf_formudata(dwarf_attr(&die, DW_AT_call_file, &attr), &v) == 0)
				file = dwarf_filesrc(files, v, NULL, NULL);
			if (dwarf_formudata(dwarf_attr(&die, DW_AT_call_line, &attr), &v) == 0)
				line = (int)v;
		}
	}
	frames[n++] = (ps_elf_frame){outer, file, (unsigned)line, 0};
	return n;
}

/* Remembers the frames of vaddr (copied to the arena); out of memory, the lookup is simply
 * not remembered. */
static void memo_add(ps_elf *e, uint64_t vaddr, const ps_elf_frame *frames, int n)
{
	ps_elf_frame *copy = ps_arena_alloc(e->arena, (size_t)n * sizeof(*frames));
	if (!copy || PS_GROW(e->memo, e->memocap, e->nmemo + 1) ||
	    ps_index_insert(&e->memo_index, ps_hash_u64(vaddr), (uint32_t)e->nmemo))
		return;
	memcpy(copy, frames, (size_t)n * sizeof(*frames));
	e->memo[e->nmemo++] = (struct memo){vaddr, copy, n};
}

/* Inlined frames share their function's start, as perf gives them its offset. */
static int set_start(ps_elf_frame *frames, int n, uint64_t start)
{
	for (int i = 0; i < n; i++)
		frames[i].start = start;
	return n;
}

int ps_elf_lookup(ps_elf *e, uint64_t vaddr, ps_elf_frame *frames, int max)
{
	if (max <= 0)
		return 0;
	size_t lo = 0, hi = e->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	struct sym *s = &e->syms[lo - 1];
	if (s->size && vaddr >= s->start + s->size)
		return 0;
	const char *name = sym_name(e, s);
	if (e->flags & (PS_ELF_INLINE | PS_ELF_LINES)) {
		/* ps_hash_u64 is a bijection: the hash alone is the key. */
		uint32_t id = ps_index_find(&e->memo_index, ps_hash_u64(vaddr), NULL, NULL);
		if (id != UINT32_MAX) {
			const struct memo *m = &e->memo[id];
			int n = m->n < max ? m->n : max;
			memcpy(frames, m->frames, (size_t)n * sizeof(*frames));
			return set_start(frames, n, s->start);
		}
		ps_elf_frame tmp[PS_ELF_MAX_INLINE];
		int n = dwarf_frames(e, vaddr, name, tmp, PS_ELF_MAX_INLINE);
		if (n <= 0) {
			tmp[0] = (ps_elf_frame){name, NULL, 0, 0};
			n = 1;
		}
		memo_add(e, vaddr, tmp, n);
		n = n < max ? n : max;
		memcpy(frames, tmp, (size_t)n * sizeof(*frames));
		return set_start(frames, n, s->start);
	}
	frames[0] = (ps_elf_frame){name, NULL, 0, s->start};
	return 1;
}
