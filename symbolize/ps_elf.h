/* ps_elf: function symbols of one ELF file (executable, shared library, vdso or debug
 * file), indexed once, looked up by binary search; and the kernel's from kallsyms. */
#ifndef PS_ELF_H
#define PS_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "formats/ps_trace.h"

typedef struct ps_elf ps_elf;

enum {
	PS_ELF_DEMANGLE = 1 << 0, /* C++ and Rust names demangled */
	PS_ELF_INLINE = 1 << 1,   /* DWARF inline frames */
	PS_ELF_LINES = 1 << 2,    /* DWARF file:line */
};

/* Opens path (or, with data, an in-memory image such as the vdso; data must outlive the
 * handle). want_build_id (may be NULL) makes a file with another build-id an error
 * (PS_ECORRUPT): unresolved beats wrong. */
int ps_elf_open(ps_elf **out, const char *path, const uint8_t *want_build_id, size_t idlen,
		unsigned flags);
int ps_elf_open_mem(ps_elf **out, const void *data, size_t size, unsigned flags);

/* Where the symbols and DWARF of a binary are looked for, in the order users expect
 * (gdb's): the binary's own .symtab and .debug_info; its .gnu_debuglink file next to it,
 * in .debug/ beside it and under debug_dir + the binary's directory; debug_dir's
 * .build-id/xx/yyyy.debug; debuginfod when DEBUGINFOD_URLS is set; the MiniDebugInfo
 * (.gnu_debugdata) it carries; its .dynsym last. A debug file whose build-id differs
 * from the binary's is refused. */
typedef struct ps_elf_opts {
	unsigned flags;
	const uint8_t *want_build_id; /* the build-id the process mapped, or NULL */
	size_t idlen;
	const char *debug_dir; /* NULL: /usr/lib/debug */
	const char *name;      /* the binary's path as the process saw it, for debuglink
				* directories (path may be /proc/PID/map_files/...); NULL: path */
	const char *root;      /* prefix for name's directory (/proc/PID/root), or NULL */
	int no_debuginfod;     /* 1: never ask debuginfod, even with DEBUGINFOD_URLS set */
	/* Without a build-id to check: the size and mtime the file had when recorded (a
	 * FILE record); another size or mtime is PS_ECORRUPT, as a wrong build-id is. */
	const ps_fileid *want_file;
} ps_elf_opts;
int ps_elf_open_opts(ps_elf **out, const char *path, const ps_elf_opts *o);
/* The two checks ps_elf_open_opts makes of a file against o, for callers that know the
 * file's identity before opening it (ps_sym_cache): 1 when o refuses it. Without a
 * build-id to check, a file of another size or mtime than recorded; */
int ps_elf_opts_refuse_file(const ps_elf_opts *o, uint64_t size, uint64_t mtime);
/* with one, a file whose build-id is another. */
int ps_elf_opts_refuse_build_id(const ps_elf_opts *o, const uint8_t *id, size_t len);

/* The identity of the regular file at path (opened without blocking; anything else is
 * PS_ENOTREG): its build-id when it is an ELF file that has one, size, mtime, inode and
 * device. out->pid and out->path are left as they are. */
int ps_elf_identify(const char *path, ps_fileid *out);

/* perf's build-id cache ($PERF_BUILDID_DIR, else ~/.debug), where perf record, perf
 * buildid-cache -a and perf archive keep a copy of every binary samples hit: the path of
 * build-id bid's copy, layout 0 .build-id/xx/rest/elf, 1 (older perf) .build-id/xx/rest. */
int ps_elf_buildid_cache_path(const uint8_t *bid, size_t idlen, int layout, char *out,
			      size_t outlen);
/* Where the file recorded at path with build-id bid is on this machine: path itself when
 * its build-id is bid (or when idlen is 0: nothing to check by), else perf's build-id
 * cache, else the executable from debuginfod when DEBUGINFOD_URLS is set. 0 and out
 * filled, or -ENOENT. */
int ps_elf_locate(const char *path, const uint8_t *bid, size_t idlen, char *out, size_t outlen);

/* Where the symbols came from: "symtab", "debuglink", "build-id", "debuginfod",
 * "minidebuginfo" or "dynsym" (a static string); and the debug file's path or NULL. */
const char *ps_elf_symbol_source(const ps_elf *e, const char **debug_path);
void ps_elf_free(ps_elf *e); /* NULL is fine */

/* Converts an offset in the file (from a mapping's pgoff) to the ELF virtual address its
 * symbols use. Returns 0 or PS_EFORMAT when no loadable segment holds it. */
int ps_elf_offset_to_vaddr(const ps_elf *e, uint64_t off, uint64_t *vaddr);

/* A resolved address: frames[0] is the innermost (inlined) function, frames[n-1] the
 * function that contains the address. Strings are owned by the ps_elf. */
#define PS_ELF_MAX_INLINE 16
typedef struct ps_elf_frame {
	const char *name;
	const char *file; /* NULL when unknown */
	unsigned line;
	uint64_t start; /* where the containing function's symbol starts (vaddr) */
} ps_elf_frame;
/* Returns the number of frames (0 when no symbol covers vaddr). */
int ps_elf_lookup(ps_elf *e, uint64_t vaddr, ps_elf_frame *frames, int max);
const uint8_t *ps_elf_build_id(const ps_elf *e, size_t *len);
size_t ps_elf_nsyms(const ps_elf *e);

/* Opens path (read-only) as seen from root, a directory such as /proc/PID/root: symlinks
 * and ".." resolve inside it, never to this machine's files. Returns an fd or a negative
 * errno. */
int ps_open_in_root(const char *root, const char *path);

/* ps_demangle.c. Demangles a C++ (Itanium) or Rust (legacy or v0) symbol into buf, with
 * an "@plt" suffix kept after the demangled name; returns buf, or name unchanged when it
 * is not mangled. A name longer than size is cut. */
const char *ps_demangle(const char *name, char *buf, size_t size);
/* Rust v0 ("_R...") alone, as rustc-demangle's {:#} prints it (no crate hashes). Returns
 * 0, or -1 when name is not a valid v0 symbol or does not fit in size. */
int ps_demangle_rust_v0(const char *name, char *out, size_t size);

/* Kernel symbols from /proc/kallsyms (or a file in that format). */
typedef struct ps_kallsyms ps_kallsyms;
int ps_kallsyms_load(ps_kallsyms **out, const char *path);
void ps_kallsyms_free(ps_kallsyms *k);
/* The symbol containing addr, or NULL; *module is "" for the core kernel. */
const char *ps_kallsyms_lookup(const ps_kallsyms *k, uint64_t addr, const char **module);
/* The same, and where the symbol starts (start may be NULL). */
const char *ps_kallsyms_lookup_start(const ps_kallsyms *k, uint64_t addr, const char **module,
				     uint64_t *start);
int ps_kallsyms_hidden(const ps_kallsyms *k); /* kptr_restrict: addresses read as zero */
/* The running kernel's build-id from a notes file (/sys/kernel/notes) as lowercase hex
 * into out (41 bytes). Returns 0, or a negative code when there is none. */
int ps_kernel_build_id(const char *notes, char out[41]);

#endif
