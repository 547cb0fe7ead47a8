/* ps_elf against ELF files built here: separate debug files found by debuglink and by
 * build-id, refused when they belong to another build; and bad input (truncated and
 * corrupted images, the fuzzer's crash files) that must fail cleanly, never crash. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "symbolize/ps_elf.h"

#include "tests/unit/scratch.h"

/* Builds prog (with a static function only .symtab names), its debug file and a stripped
 * copy; variant changes the code so the build-id differs. */
static void build(const char *name, int variant)
{
	if (sh("command -v cc >/dev/null && command -v objcopy >/dev/null") != 0)
		cr_skip_test("needs cc and objcopy");
	cr_assert_eq(sh("cd %s && printf 'static int __attribute__((noinline)) hidden_%s(int x) "
			"{ return x * %d; }\\nint main(int c, char **v) { return hidden_%s(c); "
			"}\\n' > %s.c && "
			"cc -g -O1 -Wl,--build-id -o %s %s.c && "
			"objcopy --only-keep-debug %s %s.debug && strip -s -o %s.stripped %s",
			dir, name, variant + 2, name, name, name, name, name, name, name, name),
		     0);
}

static uint64_t sym_addr(const char *bin, const char *sym)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "nm %s | awk '$3 == \"%s\" { print $1 }'", bin, sym);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	unsigned long long a = 0;
	cr_assert_eq(fscanf(p, "%llx", &a), 1);
	pclose(p);
	return a;
}

static const char *lookup(ps_elf *e, uint64_t vaddr)
{
	ps_elf_frame fr[PS_ELF_MAX_INLINE];
	int n = ps_elf_lookup(e, vaddr, fr, PS_ELF_MAX_INLINE);
	return n > 0 ? fr[n - 1].name : NULL;
}

Test(elf, debuglink_and_build_id, .init = setup, .fini = teardown)
{
	build("a", 0);
	uint64_t a;
	char path[256], ddir[256];
	snprintf(path, sizeof(path), "%s/a", dir);
	a = sym_addr(path, "hidden_a");
	snprintf(path, sizeof(path), "%s/a.stripped", dir);
	ps_elf *e;
	ps_elf_opts o = {.flags = PS_ELF_DEMANGLE | PS_ELF_LINES, .no_debuginfod = 1};
	snprintf(ddir, sizeof(ddir), "%s/debug", dir);
	o.debug_dir = ddir;
	/* Nothing to find: .dynsym alone, which does not name a static function. */
	cr_assert_eq(ps_elf_open_opts(&e, path, &o), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "dynsym");
	cr_expect_null(lookup(e, a));
	ps_elf_free(e);

	/* The build-id tree under debug_dir. */
	size_t idlen;
	char hex[41] = "";
	cr_assert_eq(ps_elf_open(&e, path, NULL, 0, 0), 0);
	const uint8_t *id = ps_elf_build_id(e, &idlen);
	cr_assert_not_null(id);
	for (size_t i = 0; i < idlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	ps_elf_free(e);
	cr_assert_eq(sh("mkdir -p %s/.build-id/%.2s && cp %s/a.debug %s/.build-id/%.2s/%s.debug",
			ddir, hex, dir, ddir, hex, hex + 2),
		     0);
	cr_assert_eq(ps_elf_open_opts(&e, path, &o), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "build-id");
	cr_expect_str_eq(lookup(e, a), "hidden_a");
	/* DWARF from the debug file: the line of the function. */
	ps_elf_frame fr[PS_ELF_MAX_INLINE];
	int n = ps_elf_lookup(e, a, fr, PS_ELF_MAX_INLINE);
	cr_assert_geq(n, 1);
	cr_expect_not_null(fr[n - 1].file);
	cr_expect_eq(fr[n - 1].line, 1);
	ps_elf_free(e);

	/* A debug file of another build under this build-id: refused. */
	build("b", 1);
	cr_assert_eq(sh("cp %s/b.debug %s/.build-id/%.2s/%s.debug", dir, ddir, hex, hex + 2), 0);
	cr_assert_eq(ps_elf_open_opts(&e, path, &o), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "dynsym");
	cr_expect_null(lookup(e, a));
	ps_elf_free(e);

	/* .gnu_debuglink next to the binary, then in .debug/ beside it. */
	cr_assert_eq(sh("cd %s && objcopy --add-gnu-debuglink=a.debug a.stripped a.linked && "
			"mkdir -p .debug && mv a.debug .debug/",
			dir),
		     0);
	snprintf(path, sizeof(path), "%s/a.linked", dir);
	const char *dpath;
	cr_assert_eq(ps_elf_open_opts(&e, path, &o), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, &dpath), "debuglink");
	cr_expect(strstr(dpath, "/.debug/a.debug") != NULL, "%s", dpath);
	cr_expect_str_eq(lookup(e, a), "hidden_a");
	ps_elf_free(e);
	/* The link's name now holds another build's debug file: refused. */
	cr_assert_eq(sh("cp %s/b.debug %s/.debug/a.debug", dir, dir), 0);
	cr_assert_eq(ps_elf_open_opts(&e, path, &o), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "dynsym");
	ps_elf_free(e);

	/* The binary's own build-id is checked against the one the process mapped. */
	uint8_t wrong[20] = {1, 2, 3};
	cr_expect_eq(ps_elf_open(&e, path, wrong, 20, 0), PS_ECORRUPT);
	cr_expect_null(e);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* Calls through the PLT: libc functions called directly, one also through a pointer,
 * and (from a shared library or PIE) __cxa_finalize's stub in .plt.got. */
static const char plt_src[] =
    "#include <ctype.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "int (*volatile fp)(const void *, const void *, size_t) = memcmp;\n"
    "int main(int argc, char **argv) {\n"
    "	char a[8] = \"abc\", b[8] = \"abd\";\n"
    "	int s = memcmp(a, b, 3) + (int)strlen(argv[0]) + toupper(argc) + abs(-argc);\n"
    "	s += fp(a, b, 2);\n"
    "	printf(\"%d\\n\", s);\n"
    "	return 0;\n"
    "}\n";
static const char plt_cxx_src[] = "#include <string>\n"
				  "int main(int argc, char **argv) {\n"
				  "	std::string *s = new std::string(argv[0]);\n"
				  "	int n = (int)s->size();\n"
				  "	delete s;\n"
				  "	return n == 1;\n"
				  "}\n";

/* Checks every stub objdump labels in bin (objdump -C: demangled, as we are asked to)
 * against ps_elf's name for its first and last byte; the .plt header is nobody's, not
 * _init's. Returns the number of stubs checked. */
static int check_plt(const char *bin, int entsize_min)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "objdump -d -C -j .plt -j .plt.sec -j .plt.got %s | grep -E '^[0-9a-f]+ <'", bin);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	ps_elf *e;
	cr_assert_eq(ps_elf_open(&e, bin, NULL, 0, PS_ELF_DEMANGLE), 0, "%s", bin);
	char line[1024];
	int stubs = 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long addr;
		char label[900];
		if (sscanf(line, "%llx <%899[^\n]", &addr, label) != 2)
			continue;
		label[strcspn(label, "\n")] = '\0';
		size_t len = strlen(label);
		if (len >= 2 && !strcmp(label + len - 2, ">:"))
			label[len - 2] = '\0';
		const char *got = lookup(e, addr);
		if (!strcmp(label, ".plt") || strstr(label, "@plt-0x")) {
			cr_expect_null(got, "%s: the .plt header at %llx is named %s", bin, addr,
				       got);
			continue;
		}
		cr_expect_str_eq(got ? got : "(none)", label, "%s at %llx: %s, objdump: %s", bin,
				 addr, got, label);
		got = lookup(e, addr + (uint64_t)entsize_min - 1);
		cr_expect_str_eq(got ? got : "(none)", label, "%s at %llx+%d: %s, objdump: %s", bin,
				 addr, entsize_min - 1, got, label);
		stubs++;
	}
	pclose(p);
	ps_elf_free(e);
	return stubs;
}

/* PLT stubs are named after the function they jump to, "memcmp@plt", as perf and
 * objdump name them, in every layout ld makes; before, they had no name or _init's. */
Test(elf, plt_stubs, .init = setup, .fini = teardown)
{
	if (sh("command -v cc >/dev/null && command -v objdump >/dev/null") != 0)
		cr_skip_test("needs cc and objdump");
	write_file("p.c", plt_src);
	static const struct {
		const char *name, *flags;
	} variants[] = {
	    {"lazy", ""},				   /* .plt, .plt.got */
	    {"now", "-Wl,-z,now"},			   /* bound at load time */
	    {"nopie", "-no-pie"},			   /* .plt only */
	    {"ibt", "-fcf-protection=full -Wl,-z,ibtplt"}, /* .plt.sec */
	    {"ibtnow", "-fcf-protection=full -Wl,-z,ibtplt -Wl,-z,now"},
	    {"lib.so", "-fPIC -shared"},
	};
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		cr_assert_eq(sh("cd %s && cc -O1 -fno-builtin %s -o %s p.c && "
				"strip -s -o %s.stripped %s",
				dir, variants[i].flags, variants[i].name, variants[i].name,
				variants[i].name),
			     0, "%s", variants[i].name);
		char bin[256];
		snprintf(bin, sizeof(bin), "%s/%s", dir, variants[i].name);
		/* memcmp, strlen, __ctype_toupper_loc, abs, printf (+ __cxa_finalize) */
		cr_expect_geq(check_plt(bin, 8), 5, "%s", bin);
		/* .dynsym and the relocations are all it takes. */
		strcat(bin, ".stripped");
		cr_expect_geq(check_plt(bin, 8), 5, "%s", bin);
	}
	/* C++: demangled, then @plt ("operator new(unsigned long)@plt"). */
	if (sh("command -v g++ >/dev/null") == 0) {
		write_file("p.cc", plt_cxx_src);
		cr_assert_eq(sh("cd %s && g++ -O1 -o cxx p.cc", dir), 0);
		char bin[256];
		snprintf(bin, sizeof(bin), "%s/cxx", dir);
		cr_expect_geq(check_plt(bin, 8), 3, "%s", bin);
	}
}

/* Symbol versions: .symtab spells them into names ("api@@V2"), next to the code's own
 * plain name at the same address. The plain name is shown, and a name that exists only
 * versioned loses its version. */
Test(elf, symbol_versions, .init = setup, .fini = teardown)
{
	if (sh("command -v cc >/dev/null && command -v nm >/dev/null") != 0)
		cr_skip_test("needs cc and nm");
	cr_assert_eq(sh("cd %s && printf '%s' > lib.c && printf '%s' > v.map && "
			"cc -O1 -fPIC -shared -Wl,--version-script=v.map -o libv.so lib.c && "
			"strip -s -o libv.stripped libv.so",
			dir,
			"int impl_new(int x) { return x * 3; }\n"
			"int impl_old(int x) { return x * 2; }\n"
			"__asm__(\".symver impl_new, api@@V2\");\n"
			"__asm__(\".symver impl_old, api@V1\");\n"
			"int only(int x) { return x + 1; }\n"
			"__asm__(\".symver only, only_api@@V2, remove\");\n",
			"V1 { global: api; local: *; };\nV2 { global: api; only_api; } V1;\n"),
		     0);
	char path[256];
	snprintf(path, sizeof(path), "%s/libv.so", dir);
	uint64_t new_at = sym_addr(path, "impl_new"), old_at = sym_addr(path, "impl_old");
	uint64_t only_at = sym_addr(path, "only_api@@V2");
	cr_assert_eq(sym_addr(path, "api@@V2"), new_at);
	ps_elf *e;
	cr_assert_eq(ps_elf_open(&e, path, NULL, 0, PS_ELF_DEMANGLE), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "symtab");
	cr_expect_str_eq(lookup(e, new_at), "impl_new");
	cr_expect_str_eq(lookup(e, old_at), "impl_old");
	cr_expect_str_eq(lookup(e, only_at), "only_api");
	ps_elf_free(e);
	/* .dynsym names carry no version: the exported name. */
	snprintf(path, sizeof(path), "%s/libv.stripped", dir);
	cr_assert_eq(ps_elf_open(&e, path, NULL, 0, PS_ELF_DEMANGLE), 0);
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "dynsym");
	cr_expect_str_eq(lookup(e, new_at), "api");
	cr_expect_str_eq(lookup(e, only_at), "only_api");
	ps_elf_free(e);
}

/* glibc as this machine has it (with its debug symbols when installed, which is where
 * the versioned names come from): no name carries a version. */
Test(elf, libc_names_unversioned)
{
	Dl_info info;
	void *start = dlsym(RTLD_DEFAULT, "__libc_start_main");
	if (!start || !dladdr(start, &info) || !info.dli_fname)
		cr_skip_test("no dynamic glibc");
	/* From glibc itself: under ASan, the global memcpy or free is the sanitizer's. */
	void *libc = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	cr_assert_not_null(libc, "%s", info.dli_fname);
	ps_elf *e;
	cr_assert_eq(ps_elf_open(&e, info.dli_fname, NULL, 0, PS_ELF_DEMANGLE), 0, "%s",
		     info.dli_fname);
	const char *fns[] = {
	    "__libc_start_main",	 "memcpy",	  "fsetpos", "pthread_mutex_lock",
	    "pthread_mutexattr_gettype", "clock_gettime", "free"};
	int checked = 0;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		void *p = dlsym(libc, fns[i]);
		Dl_info in;
		if (!p || !dladdr(p, &in) || in.dli_fbase != info.dli_fbase)
			continue;
		const char *name = lookup(e, (uint64_t)((uintptr_t)p - (uintptr_t)info.dli_fbase));
		cr_expect_not_null(name, "%s", fns[i]);
		if (name)
			cr_expect(strchr(name, '@') == NULL, "%s: %s", fns[i], name);
		checked++;
	}
	cr_expect_geq(checked, 5);
	cr_log_info("__libc_start_main is %s (symbols: %s)",
		    lookup(e, (uint64_t)((uintptr_t)start - (uintptr_t)info.dli_fbase)),
		    ps_elf_symbol_source(e, NULL));
	ps_elf_free(e);
	dlclose(libc);
}

/* Every prefix length class and a sweep of byte corruptions of a real binary: open and
 * look up must return, never crash. */
Test(elf, truncated_and_corrupt)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	size_t size = (size_t)st.st_size;
	if (size > (64u << 20))
		size = 64u << 20;
	unsigned char *img = malloc(size), *copy = malloc(size);
	cr_assert(img && copy);
	cr_assert_eq(pread(fd, img, size, 0), (ssize_t)size);
	close(fd);
	size_t cuts[] = {0, 1, 4, 16, 52, 63, 64, 65, 200, 4096, size / 3, size / 2, size - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		ps_elf *e = NULL;
		memcpy(copy, img, cuts[i]);
		if (ps_elf_open_mem(&e, copy, cuts[i],
				    PS_ELF_DEMANGLE | PS_ELF_INLINE | PS_ELF_LINES) == 0) {
			ps_elf_frame fr[PS_ELF_MAX_INLINE];
			ps_elf_lookup(e, 0x1000, fr, PS_ELF_MAX_INLINE);
			ps_elf_free(e);
		}
	}
	srand(1);
	for (int round = 0; round < 200; round++) {
		memcpy(copy, img, size);
		/* Damage the headers and tables the reader trusts most. */
		for (int k = 0; k < 8; k++) {
			size_t at = (size_t)rand() % (round % 2 ? 4096 : size);
			copy[at] = (unsigned char)rand();
		}
		ps_elf *e = NULL;
		if (ps_elf_open_mem(&e, copy, size, PS_ELF_DEMANGLE | PS_ELF_INLINE) == 0) {
			ps_elf_frame fr[PS_ELF_MAX_INLINE];
			for (uint64_t a = 0x1000; a < 0x40000; a += 0x3001)
				ps_elf_lookup(e, a, fr, PS_ELF_MAX_INLINE);
			ps_elf_free(e);
		}
	}
	free(img);
	free(copy);
}

/* Files that once crashed the fuzzer (fuzz/fuzz_elf.c) are opened as it opens them. */
Test(elf, fuzz_regressions)
{
	DIR *d = opendir("tests/data/elf-crashes");
	if (!d)
		cr_skip_test("run from the repository root");
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "tests/data/elf-crashes/%s", de->d_name);
		FILE *f = fopen(path, "rb");
		cr_assert_not_null(f);
		static unsigned char buf[1 << 20];
		size_t len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		ps_elf *e = NULL;
		if (ps_elf_open_mem(&e, buf, len, PS_ELF_DEMANGLE | PS_ELF_INLINE | PS_ELF_LINES) ==
		    0) {
			ps_elf_frame fr[PS_ELF_MAX_INLINE];
			for (uint64_t a = 0; a < 0x10000; a += 0x101)
				ps_elf_lookup(e, a, fr, PS_ELF_MAX_INLINE);
			ps_elf_free(e);
		}
		/* And through a file, which goes the debug-file path too. */
		ps_elf_opts o = {
		    .flags = PS_ELF_INLINE, .debug_dir = "/nonexistent", .no_debuginfod = 1};
		if (ps_elf_open_opts(&e, path, &o) == 0)
			ps_elf_free(e);
		n++;
	}
	closedir(d);
	cr_log_info("%d crash files", n);
}

/* Not regular files: refused at once rather than read forever. */
Test(elf, odd_files)
{
	ps_elf *e;
	cr_expect_neq(ps_elf_open(&e, "/dev/zero", NULL, 0, 0), 0);
	cr_expect_neq(ps_elf_open(&e, "/proc/self", NULL, 0, 0), 0);
	cr_expect_neq(ps_elf_open(&e, "/nonexistent (deleted)", NULL, 0, 0), 0);
	cr_expect_neq(ps_elf_open(&e, "/proc/self/status", NULL, 0, 0), 0);
}

/* A binary inside another root (a container's /proc/PID/root) that is an absolute symlink
 * must resolve inside that root, not to this machine's file of the same name. */
Test(elf, open_in_root_keeps_symlinks_inside)
{
	char dir[] = "/tmp/ps-root-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char p[512], cmd[1200];
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; mkdir -p root/usr/lib root/etc; cp /proc/%d/exe root/usr/lib/real.so; "
		 "ln -s /usr/lib/real.so root/usr/lib/link.so; ln -s /etc/hostname root/etc/host; "
		 "ln -s ../../../../../../etc/hostname root/usr/lib/up",
		 dir, (int)getpid());
	cr_assert_eq(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/root", dir);
	/* The absolute link resolves to root/usr/lib/real.so, an ELF file. */
	int fd = ps_open_in_root(p, "/usr/lib/link.so");
	cr_assert_geq(fd, 0, "link inside root: %s", strerror(-fd));
	char magic[4] = {0};
	cr_assert_eq(read(fd, magic, 4), 4);
	cr_assert_eq(memcmp(magic, "\177ELF", 4), 0);
	close(fd);
	/* /etc/hostname exists on this machine but not in root: it must not be opened. */
	cr_assert_eq(ps_open_in_root(p, "/etc/host"), -ENOENT);
	cr_assert_eq(ps_open_in_root(p, "/usr/lib/up"), -ENOENT);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

/* Assembly labels (NOTYPE, no size) name the code up to the next symbol, as perf names
 * ld.so's _dl_start_user; a label inside a function with a size does not split it. */
Test(elf, code_labels, .init = setup, .fini = teardown)
{
	if (sh("command -v cc >/dev/null && command -v nm >/dev/null") != 0)
		cr_skip_test("needs cc and nm");
	cr_assert_eq(sh("cd %s && printf '%s' > l.c && cc -O1 -o l l.c", dir,
			"__asm__(\".text\\\\n.globl entry_label\\\\nentry_label:\\\\n"
			"nop\\\\nnop\\\\nret\\\\n\");\n"
			"__attribute__((noinline)) int sized(int x) {\n"
			"  __asm__ volatile(\".globl inner_label\\\\ninner_label: nop\");\n"
			"  return x * 3; }\n"
			"int main(int c, char **v) { return sized(c); }\n"),
		     0);
	char path[256];
	snprintf(path, sizeof(path), "%s/l", dir);
	uint64_t label = sym_addr(path, "entry_label"), inner = sym_addr(path, "inner_label");
	ps_elf *e;
	cr_assert_eq(ps_elf_open(&e, path, NULL, 0, PS_ELF_DEMANGLE), 0);
	const char *n = lookup(e, label + 1);
	cr_expect(n && !strcmp(n, "entry_label"), "label: %s", n ? n : "(none)");
	n = lookup(e, inner);
	cr_expect(n && !strcmp(n, "sized"), "inner label split its function: %s", n ? n : "(none)");
	ps_elf_free(e);
}

/* DWARF answers are remembered per address and inline ranges per CU: asked again, in any
 * order, every address still gets its own function, file and line. */
Test(elf, remembered_answers_stay_per_address, .init = setup, .fini = teardown)
{
	if (sh("command -v cc >/dev/null") != 0)
		cr_skip_test("needs cc");
	cr_assert_eq(sh("cd %s && printf 'int __attribute__((noinline)) one(int x) { return x + 1; }\\n' > one.c && "
			"printf '\\nint __attribute__((noinline)) two(int x) { return x * 2; }\\n' > two.c && "
			"printf 'int one(int); int two(int);\\nint main(int c, char **v) { return one(c) + two(c); }\\n' > m.c && "
			"cc -g -O1 -o cus one.c two.c m.c",
			dir),
		     0);
	char path[256];
	snprintf(path, sizeof(path), "%s/cus", dir);
	uint64_t a1 = sym_addr(path, "one"), a2 = sym_addr(path, "two");
	ps_elf *e;
	cr_assert_eq(ps_elf_open(&e, path, NULL, 0, PS_ELF_INLINE | PS_ELF_LINES), 0);
	for (int round = 0; round < 3; round++)
		for (int which = 0; which < 2; which++) {
			ps_elf_frame fr[PS_ELF_MAX_INLINE];
			int n = ps_elf_lookup(e, which ? a2 : a1, fr, PS_ELF_MAX_INLINE);
			cr_assert_eq(n, 1);
			cr_assert_str_eq(fr[0].name, which ? "two" : "one");
			cr_assert_not_null(fr[0].file);
			cr_assert(strstr(fr[0].file, which ? "two.c" : "one.c"), "%s", fr[0].file);
			cr_assert_eq(fr[0].line, which ? 2u : 1u);
		}
	ps_elf_free(e);
}
