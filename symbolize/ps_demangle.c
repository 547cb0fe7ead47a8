/* ps_demangle: C++ (Itanium) and Rust (legacy and v0) symbol names made readable by
 * libiberty's cplus_demangle, the demangler behind c++filt, gdb and objdump. It knows
 * every scheme perfsample meets, including legacy Rust names with LLVM's ".llvm.NNNN"
 * suffix that the C++ runtime's __cxa_demangle rejects. */
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/ps_elf.h"

/* Parameters and cv-qualifiers as c++filt prints them; Rust tried before C++ (a legacy
 * Rust name is also a valid Itanium name); no DMGL_VERBOSE, so no Rust crate hashes. */
#define OPTIONS (DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO)

/* What follows a v0 name's first '.', less an LLVM ".llvm.<hex>" tail: rustc-demangle
 * prints such suffixes (".0" on a static's promoted copy is part of what the user reads)
 * and drops LLVM's, while libiberty drops both. Returns the suffix's length at *at. */
static size_t v0_suffix(const char *name, const char **at)
{
	const char *dot = strchr(name, '.');
	*at = dot ? dot : "";
	if (!dot)
		return 0;
	const char *llvm = strstr(dot, ".llvm.");
	if (llvm && llvm[6] && strspn(llvm + 6, "0123456789ABCDEF@") == strlen(llvm + 6))
		return (size_t)(llvm - dot);
	return strlen(dot);
}

/* Demangles name (up to len bytes of it) into out; returns the length written, or -1
 * when it is not a mangled name, or does not fit and may not be cut (a cut keeps whole
 * UTF-8 characters). */
static int demangle(const char *name, size_t len, char *out, size_t size, int rust_only,
		    int may_cut)
{
	char stack[512], *copy = len < sizeof(stack) ? stack : malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, name, len);
	copy[len] = '\0';
	char *d = rust_only ? rust_demangle(copy, DMGL_PARAMS | DMGL_ANSI)
			    : cplus_demangle(copy, OPTIONS);
	int n = -1;
	if (d) {
		const char *suf = "";
		size_t slen = 0;
		if (copy[1] == 'R')
			slen = v0_suffix(copy, &suf);
		size_t dlen = strlen(d);
		if (dlen + slen < size) {
			memcpy(out, d, dlen);
			memcpy(out + dlen, suf, slen);
			n = (int)(dlen + slen);
		} else if (may_cut && size > 0) {
			size_t cut = dlen < size - 1 ? dlen : size - 1;
			while (cut > 0 && cut < dlen && (d[cut] & 0xc0) == 0x80)
				cut--;
			memcpy(out, d, cut);
			n = (int)cut;
		}
		if (n >= 0)
			out[n] = '\0';
	}
	free(d);
	if (copy != stack)
		free(copy);
	return n;
}

const char *ps_demangle(const char *name, char *buf, size_t size)
{
	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return name;
	/* A PLT stub ("_Znwm@plt") or a symbol version: the mangled part is before '@'. */
	size_t len = strcspn(name, "@");
	int n = demangle(name, len, buf, size, 0, 1);
	if (n < 0)
		return name;
	snprintf(buf + n, size - (size_t)n, "%s", name + len);
	return buf;
}

int ps_demangle_rust_v0(const char *name, char *out, size_t size)
{
	if (strncmp(name, "_R", 2) != 0)
		return -1;
	return demangle(name, strlen(name), out, size, 1, 0) < 0 ? -1 : 0;
}
