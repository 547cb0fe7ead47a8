#include "symbolize/ps_elf.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

struct sym {
	uint64_t start, size;
	const char *name;      /* points into the ELF string table (mapped) */
	const char *demangled; /* lazily, in the arena */
	int rank;              /* for duplicates at one address: global beats weak/local */
};

struct seg {
	uint64_t off, filesz, vaddr;
};

struct ps_elf {
	int fd;
	Elf *elf;
	unsigned flags;
	struct sym *syms;
	size_t nsyms;
	struct seg *segs;
	size_t nsegs;
	uint8_t build_id[20];
	size_t build_id_len;
	ps_arena *arena;
	Dwarf *dw; /* lazily: NULL until needed, (Dwarf *)-1 when absent */
};

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return y->rank - x->rank;
	return 0;
}

static void read_build_id(ps_elf *e)
{
	size_t n;
	if (elf_getphdrnum(e->elf, &n) != 0)
		n = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz <= 20) {
				memcpy(e->build_id, (char *)d->d_buf + desc_off, nh.n_descsz);
				e->build_id_len = nh.n_descsz;
				return;
			}
		}
	}
}

static int load_symbols(ps_elf *e, int type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != (GElf_Word)type || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		size_t count = sh.sh_size / sh.sh_entsize;
		if (count > d->d_size / sh.sh_entsize)
			count = d->d_size / sh.sh_entsize;
		struct sym *s = realloc(e->syms, (e->nsyms + count) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		e->syms = s;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym gs;
			if (!gelf_getsym(d, (int)i, &gs))
				continue;
			int st = GELF_ST_TYPE(gs.st_info);
			if ((st != STT_FUNC && st != STT_GNU_IFUNC) || gs.st_shndx == SHN_UNDEF ||
			    gs.st_value == 0)
				continue;
			const char *name = elf_strptr(e->elf, sh.sh_link, gs.st_name);
			if (!name || !*name)
				continue;
			int bind = GELF_ST_BIND(gs.st_info);
			e->syms[e->nsyms++] = (struct sym){gs.st_value, gs.st_size, name, NULL,
							   bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0};
		}
	}
	return 0;
}

static int index_elf(ps_elf *e)
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
	read_build_id(e);
	int err = load_symbols(e, SHT_SYMTAB);
	if (!err && e->nsyms == 0)
		err = load_symbols(e, SHT_DYNSYM);
	if (err)
		return err;
	qsort(e->syms, e->nsyms, sizeof(*e->syms), cmp_sym);
	/* One symbol per address: aliases (e.g. __libc_malloc/malloc) keep the best rank. */
	size_t w = 0;
	for (size_t i = 0; i < e->nsyms; i++) {
		if (w && e->syms[w - 1].start == e->syms[i].start) {
			if (!e->syms[w - 1].size)
				e->syms[w - 1].size = e->syms[i].size;
			continue;
		}
		e->syms[w++] = e->syms[i];
	}
	e->nsyms = w;
	/* Symbols without a size reach to the next one. */
	for (size_t i = 0; i + 1 < e->nsyms; i++)
		if (!e->syms[i].size)
			e->syms[i].size = e->syms[i + 1].start - e->syms[i].start;
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
	e->flags = flags;
	e->arena = ps_arena_new();
	if (!e->arena) {
		free(e);
		return NULL;
	}
	return e;
}

int ps_elf_open(ps_elf **out, const char *path, const uint8_t *want_build_id, size_t idlen,
		unsigned flags)
{
	*out = NULL;
	ps_elf *e = elf_new(flags);
	if (!e)
		return -ENOMEM;
	int err = 0;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0) {
		err = -errno;
		goto fail;
	}
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf) {
		err = PS_EFORMAT;
		goto fail;
	}
	err = index_elf(e);
	if (err)
		goto fail;
	if (want_build_id && idlen &&
	    (e->build_id_len != idlen || memcmp(e->build_id, want_build_id, idlen))) {
		err = PS_ECORRUPT;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	ps_elf_free(e);
	return err;
}

int ps_elf_open_mem(ps_elf **out, const void *data, size_t size, unsigned flags)
{
	*out = NULL;
	ps_elf *e = elf_new(flags);
	if (!e)
		return -ENOMEM;
	e->elf = elf_memory((char *)data, size);
	int err = e->elf ? index_elf(e) : PS_EFORMAT;
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
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	ps_arena_free(e->arena);
	free(e->syms);
	free(e->segs);
	free(e);
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
			name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
		if (!name)
			name = dwarf_diename(die);
		if (name)
			break;
		if (!dwarf_attr(die, DW_AT_abstract_origin, &attr) || !dwarf_formref_die(&attr, &origin))
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
		e->dw = dwarf_begin_elf(e->elf, DWARF_C_READ, NULL);
		if (!e->dw)
			e->dw = (Dwarf *)-1;
	}
	return e->dw == (Dwarf *)-1 ? NULL : e->dw;
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
	if (e->flags & PS_ELF_INLINE) {
		Dwarf_Die *scopes = NULL;
		int ns = dwarf_getscopes(&cu, vaddr, &scopes);
		/* scopes[0] is innermost. Each inlined subroutine is a frame; its call site
		 * (DW_AT_call_file/line) is the line of the frame that encloses it. */
		Dwarf_Files *files = NULL;
		dwarf_getsrcfiles(&cu, &files, NULL);
		for (int i = 0; i < ns && n < max - 1; i++) {
			if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
				continue;
			const char *name = die_name(e, &scopes[i]);
			frames[n++] = (ps_elf_frame){name ? name : "[unknown]", file, (unsigned)line};
			Dwarf_Attribute attr;
			Dwarf_Word v;
			file = NULL;
			line = 0;
			if (files && dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &v) == 0)
				file = dwarf_filesrc(files, v, NULL, NULL);
			if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &v) == 0)
				line = (int)v;
		}
		free(scopes);
	}
	frames[n++] = (ps_elf_frame){outer, file, (unsigned)line};
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
		int n = dwarf_frames(e, vaddr, name, frames, max);
		if (n > 0)
			return n;
	}
	frames[0] = (ps_elf_frame){name, NULL, 0};
	return 1;
}

/* ---- demangling ---- */

/* The C++ runtime's demangler: it is the reference for Itanium names. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

/* Legacy Rust symbols are Itanium-mangled paths ending in a "17h<16 hex>E" hash element;
 * users never want the hash, so it is dropped, and Rust's $..$ escapes are decoded. */
static int rust_legacy_tidy(char *s)
{
	size_t len = strlen(s);
	/* "::h0123456789abcdef" at the end */
	if (len > 19 && !strncmp(s + len - 19, "::h", 3)) {
		int hex = 1;
		for (size_t i = len - 16; i < len; i++)
			if (!strchr("0123456789abcdef", s[i]))
				hex = 0;
		if (!hex)
			return 0;
		s[len - 19] = '\0';
	} else {
		return 0;
	}
	static const struct {
		const char *esc, *rep;
	} escapes[] = {{"$SP$", "@"}, {"$BP$", "*"}, {"$RF$", "&"}, {"$LT$", "<"}, {"$GT$", ">"},
		       {"$LP$", "("}, {"$RP$", ")"}, {"$C$", ","},  {"$u7e$", "~"}, {"$u20$", " "},
		       {"$u27$", "'"}, {"$u5b$", "["}, {"$u5d$", "]"}, {"$u7b$", "{"}, {"$u7d$", "}"},
		       {"$u3b$", ";"}, {"$u2b$", "+"}, {"$u22$", "\""}};
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '.' && r[1] == '.') {
			*w++ = ':';
			*w++ = ':';
			r += 2;
			continue;
		}
		int done = 0;
		if (*r == '$')
			for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
				size_t el = strlen(escapes[i].esc);
				if (!strncmp(r, escapes[i].esc, el)) {
					*w++ = escapes[i].rep[0];
					r += el;
					done = 1;
					break;
				}
			}
		if (!done)
			*w++ = *r++;
	}
	*w = '\0';
	return 1;
}

const char *ps_demangle(const char *name, char *buf, size_t size)
{
	if (name[0] != '_' || name[1] != 'Z')
		return name;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return name;
	}
	snprintf(buf, size, "%s", d);
	free(d);
	rust_legacy_tidy(buf);
	return buf;
}
