/* Tests of the DWARF unwinder against truth: this process unwinds its own stack, captured
 * the way the kernel captures a sample (registers + a copy of the stack from SP), through
 * functions built without frame pointers and through libc's qsort. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "profiler/ps_unwind.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define NREGS 17
enum { R_AX, R_BX, R_CX, R_DX, R_SI, R_DI, R_BP, R_SP, R_IP, R_R8 };
#define STACK_MAX (64 * 1024)

/* What one capture saw. */
static uint64_t cap_regs[NREGS];
static unsigned char *cap_stack;
static size_t cap_len;
static size_t cap_want; /* bytes to copy; 0 = up to the top of the stack mapping */
static int captured;

/* Stores the registers in perf's sample_regs_user order (AX BX CX DX SI DI BP SP IP R8-R15)
 * at one instruction, so that IP, SP and the CFI at IP agree. */
#define CAPTURE(r)                                                                                 \
	asm volatile("movq %%rax, 0(%0)\n\t"                                                       \
		     "movq %%rbx, 8(%0)\n\t"                                                       \
		     "movq %%rcx, 16(%0)\n\t"                                                      \
		     "movq %%rdx, 24(%0)\n\t"                                                      \
		     "movq %%rsi, 32(%0)\n\t"                                                      \
		     "movq %%rdi, 40(%0)\n\t"                                                      \
		     "movq %%rbp, 48(%0)\n\t"                                                      \
		     "movq %%rsp, 56(%0)\n\t"                                                      \
		     "leaq 0(%%rip), %%rax\n\t"                                                    \
		     "movq %%rax, 64(%0)\n\t"                                                      \
		     "movq %%r8, 72(%0)\n\t"                                                       \
		     "movq %%r9, 80(%0)\n\t"                                                       \
		     "movq %%r10, 88(%0)\n\t"                                                      \
		     "movq %%r11, 96(%0)\n\t"                                                      \
		     "movq %%r12, 104(%0)\n\t"                                                     \
		     "movq %%r13, 112(%0)\n\t"                                                     \
		     "movq %%r14, 120(%0)\n\t"                                                     \
		     "movq %%r15, 128(%0)\n\t"                                                     \
		     :                                                                             \
		     : "r"(r)                                                                      \
		     : "rax", "memory")

/* End of the mapping holding addr: the kernel's copy never goes past the stack's top. */
static uint64_t mapping_end(uint64_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t end = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s <= addr && addr < e)
			end = e;
	}
	if (f)
		fclose(f);
	return end;
}

/* Like the kernel, copies the raw stack, callers' frames and red zones alike; a byte loop
 * that AddressSanitizer does not check, so that the tests can also run under it. */
__attribute__((no_sanitize_address)) static void copy_stack(unsigned char *to, uint64_t sp,
							    size_t len)
{
	const volatile unsigned char *from = (const volatile unsigned char *)(uintptr_t)sp;
	for (size_t i = 0; i < len; i++)
		to[i] = from[i];
}

/* The chain a -> qsort -> b -> c runs without frame pointers, so only DWARF can walk it.
 * clang has no per-function switch; there libc's qsort alone needs DWARF. */
#ifdef __clang__
#define NOFP __attribute__((noinline))
#else
#define NOFP __attribute__((noinline, noclone, optimize("omit-frame-pointer")))
#endif

NOFP void unwind_leaf_c(void)
{
	uint64_t *r = cap_regs;
	CAPTURE(r);
	uint64_t sp = cap_regs[R_SP];
	uint64_t top = mapping_end(sp);
	size_t len = top > sp ? (size_t)(top - sp) : 0;
	if (len > STACK_MAX)
		len = STACK_MAX;
	if (cap_want && len > cap_want)
		len = cap_want;
	copy_stack(cap_stack, sp, len);
	cap_len = len;
	captured = 1;
}

NOFP int unwind_cmp_b(const void *x, const void *y)
{
	if (!captured)
		unwind_leaf_c();
	int a = *(const int *)x, b = *(const int *)y;
	return (a > b) - (a < b);
}

static volatile int sink;

NOFP void unwind_mid_a(void)
{
	int v[8] = {5, 3, 7, 1, 8, 2, 6, 4};
	qsort(v, 8, sizeof(v[0]), unwind_cmp_b);
	sink = v[0]; /* no tail call: a stays on the stack */
}

/* Captures a sample from test -> a -> qsort -> b -> c. */
__attribute__((noinline)) void unwind_test_root(void)
{
	captured = 0;
	unwind_mid_a();
	sink++;
}

/* ---- truth: the function holding an address, from this executable's .symtab ---- */

static Elf *self_elf;
static uint64_t self_bias;

static void self_open(void)
{
	elf_version(EV_CURRENT);
	int fd = open("/proc/self/exe", O_RDONLY);
	cr_assert_geq(fd, 0);
	self_elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	cr_assert_not_null(self_elf);
	/* The bias is where unwind_test_root is minus where .symtab says it is. */
	self_bias = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(self_elf, scn))) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			gelf_getsym(d, (int)i, &s);
			const char *n = elf_strptr(self_elf, sh.sh_link, s.st_name);
			if (n && !strcmp(n, "unwind_test_root"))
				self_bias = (uintptr_t)&unwind_test_root - s.st_value;
		}
	}
	cr_assert_neq(self_bias, 0, "this test needs the executable's .symtab");
}

/* Name of the function in the test executable holding addr, "libc" for libc, or "?". */
static const char *where(uint64_t addr)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(self_elf, scn))) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			gelf_getsym(d, (int)i, &s);
			if (GELF_ST_TYPE(s.st_info) == STT_FUNC && s.st_size &&
			    addr >= s.st_value + self_bias &&
			    addr < s.st_value + self_bias + s.st_size)
				return elf_strptr(self_elf, sh.sh_link, s.st_name);
		}
	}
	Dl_info di;
	if (dladdr((void *)(uintptr_t)addr, &di) && di.dli_fname && strstr(di.dli_fname, "libc.so"))
		return "libc";
	return "?";
}

/* Feeds this process's executable mappings to the unwinder, as the recorder synthesizes
 * them from /proc/PID/maps. */
static void feed_maps(ps_unwinder *u, uint32_t pid)
{
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj,
			   &min, &ino, &at) < 7 ||
		    perms[2] != 'x')
			continue;
		char *name = line + at;
		name[strcspn(name, "\n")] = '\0';
		ps_unwind_mmap(u, pid, s, e - s, off, *name ? name : "//anon");
	}
	fclose(f);
}

static ps_unwinder *u;
static uint64_t ips[256];

static void setup(void)
{
	cap_stack = malloc(STACK_MAX);
	cr_assert_not_null(cap_stack);
	cap_want = 0;
	cr_assert_eq(ps_unwind_new(&u), 0);
	self_open();
	feed_maps(u, (uint32_t)getpid());
}

static void teardown(void)
{
	ps_unwind_free(u);
	u = NULL;
	elf_end(self_elf);
	free(cap_stack);
}

/* Index of the first frame at or after from that is in function name, or -1. */
static int find_frame(int n, int from, const char *name)
{
	for (int i = from; i < n; i++)
		if (!strcmp(where(i ? ips[i] - 1 : ips[i]), name))
			return i;
	return -1;
}

static void dump(int n)
{
	for (int i = 0; i < n; i++)
		cr_log_info("#%d %#llx %s", i, (unsigned long long)ips[i],
			    where(i ? ips[i] - 1 : ips[i]));
}

TestSuite(unwind, .init = setup, .fini = teardown);

Test(unwind, mask_is_the_gprs_and_ip)
{
	uint64_t m = ps_unwind_regs_mask();
	cr_assert_eq(__builtin_popcountll(m), NREGS);
	cr_assert_eq(m & 0xff00ull, 1ull << 8, "IP but no flags or segment registers");
}

Test(unwind, self_through_nofp_functions_and_libc_qsort)
{
	unwind_test_root();
	cr_assert(captured);
	int n = ps_unwind_sample(u, (uint32_t)getpid(), cap_regs, cap_stack, cap_len, ips, 256);
	dump(n);
	cr_assert_geq(n, 6);
	cr_assert_eq(ips[0], cap_regs[R_IP], "the sampled IP comes first, unchanged");
	cr_assert_str_eq(where(ips[0]), "unwind_leaf_c");
	cr_assert_eq(find_frame(n, 1, "unwind_cmp_b"), 1);
#if UNDER_ASAN
	/* ASan replaces qsort with its own interceptor: only our frames' order is checked. */
	int a = find_frame(n, 2, "unwind_mid_a");
	cr_assert_gt(a, 1);
#else
	int libc = find_frame(n, 2, "libc");
	cr_assert_eq(libc, 2, "qsort's frames follow the callback");
	int a = find_frame(n, libc, "unwind_mid_a");
	cr_assert_gt(a, libc);
	for (int i = libc; i < a; i++)
		cr_assert_str_eq(where(ips[i] - 1), "libc", "only libc between b and a");
#endif
	cr_assert_eq(find_frame(n, a, "unwind_test_root"), a + 1);
	/* The whole stack was copied: the chain ends at _start, the outermost frame. */
	cr_assert_str_eq(where(ips[n - 1] - 1), "_start");
	cr_assert_eq(ps_unwind_last_truncated(u), 0);
}

Test(unwind, short_stack_copy_is_truncated)
{
	cap_want = 256;
	unwind_test_root();
	int n = ps_unwind_sample(u, (uint32_t)getpid(), cap_regs, cap_stack, cap_len, ips, 256);
	dump(n);
	cr_assert_geq(n, 1);
	cr_assert_lt(n, 8);
	cr_assert_eq(ps_unwind_last_truncated(u), 1);
	/* What it did return is right. */
	cr_assert_str_eq(where(ips[0]), "unwind_leaf_c");
	if (n > 1)
		cr_assert_str_eq(where(ips[1] - 1), "unwind_cmp_b");
}

Test(unwind, max_frames_is_truncated)
{
	unwind_test_root();
	int n = ps_unwind_sample(u, (uint32_t)getpid(), cap_regs, cap_stack, cap_len, ips, 3);
	cr_assert_eq(n, 3);
	cr_assert_eq(ps_unwind_last_truncated(u), 1);
	cr_assert_str_eq(where(ips[1] - 1), "unwind_cmp_b");
}

static void *thread_main(void *arg)
{
	unwind_test_root();
	return NULL;
}

Test(unwind, thread_stack_ends_at_clone3_untruncated)
{
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, thread_main, NULL), 0);
	pthread_join(t, NULL);
	/* The thread's stack is gone; its copy stays valid. */
	int n = ps_unwind_sample(u, (uint32_t)getpid(), cap_regs, cap_stack, cap_len, ips, 256);
	dump(n);
	int root = find_frame(n, 0, "unwind_test_root");
	cr_assert_gt(root, 3);
	cr_assert_eq(find_frame(n, root, "thread_main"), root + 1);
	for (int i = root + 2; i < n; i++)
		cr_assert_str_eq(where(ips[i] - 1), "libc", "start_thread, clone3");
	cr_assert_gt(n, root + 2);
	cr_assert_eq(ps_unwind_last_truncated(u), 0);
}

/* The address of a vdso function, read from the vdso's own dynamic symbols. */
static uint64_t vdso_symbol(const char *want)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return 0;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		const Elf64_Sym *sym = (const Elf64_Sym *)(base + sh[i].sh_offset);
		const char *str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
			if (!strcmp(str + sym[k].st_name, want))
				return base + sym[k].st_value; /* the vdso is linked at 0 */
	}
	return 0;
}

Test(unwind, vdso_entry_uses_the_vdso_cfi)
{
	uint64_t fn = vdso_symbol("__vdso_clock_gettime");
	if (!fn)
		cr_skip_test("no vdso with __vdso_clock_gettime here");
	unwind_test_root();
	/* As if c had just called into the vdso: the return address is on top of c's stack
	 * and the IP is the vdso function's first instruction. */
	static unsigned char stack[STACK_MAX + 8];
	uint64_t ret = cap_regs[R_IP];
	memcpy(stack, &ret, 8);
	memcpy(stack + 8, cap_stack, cap_len);
	uint64_t regs[NREGS];
	memcpy(regs, cap_regs, sizeof(regs));
	regs[R_IP] = fn;
	regs[R_SP] -= 8;
	/* A frame-pointer guess would go through rbp; only the vdso's CFI gets frame 1. */
	int n = ps_unwind_sample(u, (uint32_t)getpid(), regs, stack, cap_len + 8, ips, 256);
	dump(n);
	cr_assert_geq(n, 4);
	cr_assert_eq(ips[0], fn);
	cr_assert_eq(ips[1], ret);
	cr_assert_str_eq(where(ips[2] - 1), "unwind_cmp_b");
	cr_assert_eq(ps_unwind_last_truncated(u), 0);
}

/* A library whose functions have CFI only in .debug_frame (no .eh_frame FDEs), built here. */
static const char debug_frame_src[] =
    "typedef void (*cb_t)(void);\n"
    "volatile int dbgf_sink;\n"
    "__attribute__((noinline)) void dbgf_inner(cb_t cb) { cb(); dbgf_sink++; }\n"
    "__attribute__((noinline)) void dbgf_outer(cb_t cb) { dbgf_inner(cb); dbgf_sink++; }\n";

static void (*dbgf_outer)(void (*)(void));

__attribute__((noinline)) void unwind_debug_frame_root(void)
{
	captured = 0;
	dbgf_outer(unwind_leaf_c);
	sink++;
}

/* 1 when the section exists in the ELF file at path and has at least min bytes. */
static int has_section(const char *path, const char *name, size_t min)
{
	int fd = open(path, O_RDONLY);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstr;
	int found = 0;
	Elf_Scn *scn = NULL;
	if (e && elf_getshdrstrndx(e, &shstr) == 0)
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			gelf_getshdr(scn, &sh);
			const char *n = elf_strptr(e, shstr, sh.sh_name);
			if (n && !strcmp(n, name) && sh.sh_size >= min)
				found = 1;
		}
	elf_end(e);
	close(fd);
	return found;
}

Test(unwind, library_with_only_debug_frame)
{
	char dir[] = "/tmp/ps-unwind-XXXXXX", cmd[512], src[64], so[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/dbgf.c", dir);
	snprintf(so, sizeof(so), "%s/libdbgf.so", dir);
	FILE *f = fopen(src, "w");
	fputs(debug_frame_src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cc -shared -fPIC -O1 -g -fomit-frame-pointer -fno-asynchronous-unwind-tables "
		 "-fno-unwind-tables -o %s %s 2>/dev/null",
		 so, src);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)system(cmd);
		cr_skip_test("no C compiler to build the .debug_frame library");
	}
	cr_assert(has_section(so, ".debug_frame", 1));
	void *h = dlopen(so, RTLD_NOW);
	cr_assert_not_null(h, "%s", dlerror());
	dbgf_outer = (void (*)(void (*)(void)))dlsym(h, "dbgf_outer");
	cr_assert_not_null(dbgf_outer);
	feed_maps(u, (uint32_t)getpid()); /* the library is new */
	unwind_debug_frame_root();
	int n = ps_unwind_sample(u, (uint32_t)getpid(), cap_regs, cap_stack, cap_len, ips, 256);
	dump(n);
	const char *names[4] = {0};
	for (int i = 1; i < 4 && i < n; i++) {
		Dl_info di;
		if (dladdr((void *)(uintptr_t)(ips[i] - 1), &di) && di.dli_sname &&
		    strstr(di.dli_fname, "libdbgf"))
			names[i] = di.dli_sname;
	}
	cr_assert_geq(n, 5);
	cr_assert_str_eq(where(ips[0]), "unwind_leaf_c");
	cr_assert_str_eq(names[1] ? names[1] : "?", "dbgf_inner");
	cr_assert_str_eq(names[2] ? names[2] : "?", "dbgf_outer");
	cr_assert_str_eq(where(ips[3] - 1), "unwind_debug_frame_root");
	cr_assert_eq(ps_unwind_last_truncated(u), 0);
	dlclose(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

Test(unwind, fork_copies_exec_clears_forget_is_deferred)
{
	unwind_test_root();
	uint32_t me = (uint32_t)getpid(), child = 0x7ffffff0;
	int n0 = ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256);
	cr_assert_gt(n0, 6);
	ps_unwind_fork(u, me, child);
	cr_assert_eq(ps_unwind_sample(u, child, cap_regs, cap_stack, cap_len, ips, 256), n0);
	ps_unwind_exec(u, child);
	cr_assert_eq(ps_unwind_sample(u, child, cap_regs, cap_stack, cap_len, ips, 256), 1);
	cr_assert_eq(ps_unwind_last_truncated(u), 1);
	/* Samples from other CPUs' rings may come after the exit record. */
	ps_unwind_forget(u, me);
	cr_assert_eq(ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256), n0);
	/* A new mmap means a new process under a reused pid: the old maps are gone. */
	ps_unwind_mmap(u, me, 0x10000, 0x1000, 0, "//anon");
	cr_assert_eq(ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256), 1);
}

Test(unwind, garbage_never_crashes)
{
	unwind_test_root();
	uint32_t me = (uint32_t)getpid();
	/* No stack at all: the IP, maybe one frame guessed from the registers. */
	int n = ps_unwind_sample(u, me, cap_regs, NULL, 0, ips, 256);
	cr_assert(n >= 1 && n <= 2);
	cr_assert_eq(ips[0], cap_regs[R_IP]);
	cr_assert_eq(ps_unwind_last_truncated(u), 1);
	n = ps_unwind_sample(u, me, cap_regs, cap_stack, 0, ips, 256);
	cr_assert(n >= 1 && n <= 2);
	/* Unknown pid: the IP only. */
	cr_assert_eq(ps_unwind_sample(u, 0x7fffff00, cap_regs, cap_stack, cap_len, ips, 256), 1);
	cr_assert_eq(ps_unwind_last_truncated(u), 1);
	/* No IP, no room, no regs, no unwinder. */
	uint64_t zero[NREGS] = {0};
	cr_assert_eq(ps_unwind_sample(u, me, zero, cap_stack, cap_len, ips, 256), 0);
	cr_assert_eq(ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 0), 0);
	cr_assert_lt(ps_unwind_sample(u, me, NULL, cap_stack, cap_len, ips, 256), 0);
	cr_assert_lt(ps_unwind_sample(NULL, me, cap_regs, cap_stack, cap_len, ips, 256), 0);
	cr_assert_eq(ps_unwind_last_truncated(NULL), 1);

	/* Random registers and random stacks, with IPs in and out of real code; plus
	 * mappings of files that are not ELF or do not exist. */
	ps_unwind_mmap(u, me, 0x1000, 0x1000, 0, "/etc/passwd");
	ps_unwind_mmap(u, me, 0x3000, 0x1000, 0, "/nonexistent/lib.so");
	ps_unwind_mmap(u, me, 0x5000, 0x1000, 0x7000000, "/memfd:x (deleted)");
	ps_unwind_mmap(u, me, 0x7000, 0x1000, 1ull << 40, "/usr/bin/true"); /* beyond the file */
	srand(1);
	static unsigned char junk[4096];
	uint64_t libc_ip = (uint64_t)(uintptr_t)&qsort, self_ip = cap_regs[R_IP];
	for (int it = 0; it < 3000; it++) {
		uint64_t regs[NREGS];
		for (int i = 0; i < NREGS; i++)
			regs[i] = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 2);
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)rand();
		/* Sprinkle real code addresses so that garbage chains go somewhere. */
		for (int k = 0; k < 64; k++) {
			uint64_t a = (k & 1 ? libc_ip : self_ip) + (uint64_t)(rand() % 4096);
			memcpy(junk + (rand() % (sizeof(junk) / 8)) * 8, &a, 8);
		}
		switch (it % 4) {
		case 0:
			regs[R_IP] = libc_ip + (uint64_t)(rand() % 65536);
			break;
		case 1:
			regs[R_IP] = self_ip + (uint64_t)(rand() % 4096);
			break;
		case 2:
			regs[R_IP] = 0x1000 + (uint64_t)(rand() % 0x8000);
			break;
		}
		regs[R_SP] = (uint64_t)(uintptr_t)junk;
		if (it % 3 == 0)
			regs[R_BP] = regs[R_SP] + (uint64_t)(rand() % 4096);
		size_t len = it % 5 == 0 ? 0 : (size_t)(rand() % (int)sizeof(junk));
		n = ps_unwind_sample(u, me, regs, junk, len, ips, 256);
		cr_assert(n >= 0 && n <= 256);
		if (regs[R_IP])
			cr_assert_eq(ips[0], regs[R_IP]);
	}
	/* The real stack still unwinds after all that. */
	int good = ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256);
	cr_assert_gt(good, 6);
}

/* An mmap over part of a mapping (as ld.so maps a library's whole span, then its segments
 * over it) leaves the rest of the mapping where it was: the split halves keep the file
 * and its load bias, and the unwinder's reference counts survive the split. */
Test(unwind, a_split_mapping_keeps_its_code)
{
	unwind_test_root();
	uint32_t me = (uint32_t)getpid();
	int n0 = ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256);
	cr_assert_gt(n0, 6);
	/* The executable mapping holding the sampled IP, and a page of it no frame is in. */
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512];
	unsigned long long s = 0, e = 0, hole = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s <= cap_regs[R_IP] && cap_regs[R_IP] < e)
			break;
	fclose(f);
	cr_assert_lt(s, e);
	for (unsigned long long p = s + 0x1000; p + 0x1000 < e && !hole; p += 0x1000) {
		int used = 0;
		for (int i = 0; i < n0; i++)
			used |= ips[i] - (i > 0) >= p && ips[i] - (i > 0) < p + 0x1000;
		if (!used)
			hole = p;
	}
	if (!hole)
		cr_skip_test("the test binary's code is one page or every page holds a frame");
	int below = 0, above = 0;
	for (int i = 0; i < n0; i++) {
		below |= ips[i] >= s && ips[i] < hole;
		above |= ips[i] >= hole + 0x1000 && ips[i] < e;
	}
	ps_unwind_mmap(u, me, hole, 0x1000, 0, "//anon");
	int n = ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256);
	cr_assert_eq(n, n0, "frames on both sides of the hole (below %d, above %d)", below, above);
	cr_assert_eq(ps_unwind_last_truncated(u), 0);
	/* And a fork's copy shares the halves: both processes unwind, then lose them. */
	ps_unwind_fork(u, me, 0x7ffffff0);
	cr_assert_eq(ps_unwind_sample(u, 0x7ffffff0, cap_regs, cap_stack, cap_len, ips, 256), n0);
	ps_unwind_exec(u, me);
	cr_assert_eq(ps_unwind_sample(u, 0x7ffffff0, cap_regs, cap_stack, cap_len, ips, 256), n0);
	cr_assert_eq(ps_unwind_sample(u, me, cap_regs, cap_stack, cap_len, ips, 256), 1);
}
