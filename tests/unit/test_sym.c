/* Symbol lookup against real inputs: this test binary itself (through /proc/self/maps,
 * both with ps_elf directly and through a trace walked by ps_sym), kallsyms files (with a
 * kptr_restrict'ed one of zeros), and perf-PID.map JIT files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"
#include "formats/ps_trace.h"
#include "formats/ps_util.h"
#include "symbolize/ps_elf.h"
#include "symbolize/ps_jit.h"
#include "symbolize/ps_sym.h"
#include "tests/unit/scratch.h"

__attribute__((noinline)) int sym_test_target_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

struct mapping {
	uint64_t start, end, pgoff;
	char path[512];
};

/* The mapping of /proc/self/maps that holds addr. */
static int find_self_map(uint64_t addr, struct mapping *m)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	char line[1024];
	int found = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, off;
		char perm[8];
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &a, &b, perm, &off, &n) < 4)
			continue;
		if (addr < a || addr >= b)
			continue;
		const char *p = line + n;
		while (*p == ' ')
			p++;
		snprintf(m->path, sizeof(m->path), "%s", p);
		m->path[strcspn(m->path, "\n")] = '\0';
		m->start = a;
		m->end = b;
		m->pgoff = off;
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

Test(sym, self_lookup_elf)
{
	uint64_t addr = (uint64_t)(uintptr_t)&sym_test_target_function;
	struct mapping m;
	cr_assert_eq(find_self_map(addr, &m), 0);
	ps_elf *e;
	cr_assert_eq(ps_elf_open(&e, m.path, NULL, 0, PS_ELF_DEMANGLE), 0, "%s", m.path);
	uint64_t vaddr;
	cr_assert_eq(ps_elf_offset_to_vaddr(e, addr - m.start + m.pgoff, &vaddr), 0);
	ps_elf_frame fr[PS_ELF_MAX_INLINE];
	/* The entry and a byte inside the function both name it. */
	cr_assert_eq(ps_elf_lookup(e, vaddr, fr, PS_ELF_MAX_INLINE), 1);
	cr_expect_str_eq(fr[0].name, "sym_test_target_function");
	cr_assert_geq(ps_elf_lookup(e, vaddr + 2, fr, PS_ELF_MAX_INLINE), 1);
	cr_expect_str_eq(fr[0].name, "sym_test_target_function");
	cr_expect_str_eq(ps_elf_symbol_source(e, NULL), "symtab");
	ps_elf_free(e);
	ps_elf_free(NULL);
}

/* Writes a trace with this process's mappings and one sample whose leaf is addr. */
/* A trace's start: this process's name and executable mappings, at time 1. */
static ps_trace_writer *write_self_maps(const char *path)
{
	ps_trace_writer *w;
	ps_kv meta[] = {{"event", "cpu-clock"}};
	cr_assert_eq(ps_trace_create(&w, path, meta, 1, 0), 0);
	uint32_t pid = (uint32_t)getpid();
	ps_event ev = {.type = PS_REC_COMM};
	ev.comm = (ps_comm){.time = 1, .pid = pid, .tid = pid, .comm = "selftest"};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	FILE *f = fopen("/proc/self/maps", "re");
	cr_assert_not_null(f);
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, off;
		char perm[8];
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &a, &b, perm, &off, &n) < 4 ||
		    perm[2] != 'x')
			continue;
		char *p = line + n;
		while (*p == ' ')
			p++;
		p[strcspn(p, "\n")] = '\0';
		if (!*p)
			continue;
		ev = (ps_event){.type = PS_REC_MMAP};
		ev.mmap = (ps_mmap){.time = 1,
				    .pid = pid,
				    .tid = pid,
				    .start = a,
				    .len = b - a,
				    .pgoff = off,
				    .filename = p};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
	}
	fclose(f);
	return w;
}

/* A FILE record write_self_trace adds when set (the identity of a mapped file). */
static const ps_fileid *self_file;

static void write_self_trace(const char *path, uint64_t addr, uint64_t kaddr)
{
	ps_trace_writer *w = write_self_maps(path);
	uint32_t pid = (uint32_t)getpid();
	uint64_t ips[] = {PS_CONTEXT_KERNEL, kaddr, PS_CONTEXT_USER, addr};
	ps_event ev = {.type = PS_REC_SAMPLE};
	ev.sample =
	    (ps_sample){.time = 2, .period = 1, .pid = pid, .tid = pid, .nr = 4, .ips = ips};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	if (self_file) {
		ev = (ps_event){.type = PS_REC_FILE, .file = *self_file};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
	}
	cr_assert_eq(ps_trace_commit(w), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *fold_trace(const char *trace, const ps_sym_opts *o, ps_sym_report *rep)
{
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, trace), 0);
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	cr_assert_eq(ps_sym_profile(r, o, 0, p, rep), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(ps_profile_write_folded(p, 0, f), 0);
	fclose(f);
	ps_profile_free(p);
	ps_trace_close(r);
	return buf;
}

Test(sym, self_lookup_through_trace, .init = setup, .fini = teardown)
{
	char trace[128], ks[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	snprintf(ks, sizeof(ks), "%s/kallsyms", dir);
	write_file(ks, "ffffffff81000000 T _stext\nffffffff81001000 T do_test_syscall\n"
		       "ffffffff81002000 t helper\nffffffffc0000000 t mod_fn\t[testmod]\n");
	write_self_trace(trace, (uint64_t)(uintptr_t)&sym_test_target_function + 1,
			 0xffffffff81001010ull);
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.kallsyms = ks;
	o.annotate_kernel = 1;
	ps_sym_report rep;
	char *out = fold_trace(trace, &o, &rep);
	cr_expect_str_eq(out, "selftest;sym_test_target_function;do_test_syscall_[k] 1\n");
	cr_expect_eq(rep.unresolved, 0);
	cr_expect_eq(rep.kernel_hidden, 0);
	free(out);
}

/* The model the symbolizer builds: a PROCESS root, frames with kinds and mappings, names
 * as spelled; with addresses, the address, the mapped range and the source line. */
Test(sym, model_frames_carry_kind_mapping_and_address, .init = setup, .fini = teardown)
{
	char trace[128], ks[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	snprintf(ks, sizeof(ks), "%s/kallsyms", dir);
	write_file(ks, "ffffffff81000000 T _stext\nffffffff81001000 T do_test_syscall\n");
	uint64_t addr = (uint64_t)(uintptr_t)&sym_test_target_function + 1;
	write_self_trace(trace, addr, 0xffffffff81001010ull);
	struct mapping self;
	cr_assert_eq(find_self_map(addr, &self), 0);
	for (int addresses = 0; addresses < 2; addresses++) {
		ps_sym_opts o;
		ps_sym_opts_init(&o);
		o.kallsyms = ks;
		o.addresses = addresses;
		ps_trace_reader *r;
		cr_assert_eq(ps_trace_open(&r, trace), 0);
		ps_profile *p = ps_profile_new(0);
		cr_assert_eq(ps_sym_profile(r, &o, 0, p, NULL), 0);
		ps_trace_close(r);
		cr_assert_eq(ps_profile_ntypes(p), 2, "samples and cpu time for cpu-clock");
		const char *unit;
		cr_assert_str_eq(ps_profile_type(p, 1, &unit), "cpu");
		cr_assert_str_eq(unit, "nanoseconds");
		cr_assert_eq(ps_profile_total(p, 0), 1);
		/* root -> selftest -> sym_test_target_function -> do_test_syscall */
		ps_node_id n = ps_profile_node_child(p, PS_NODE_ROOT);
		const ps_frame *f = ps_profile_frame_at(p, ps_profile_node_frame(p, n));
		cr_assert_eq(f->kind, PS_FRAME_PROCESS);
		cr_assert_str_eq(f->name, "selftest");
		n = ps_profile_node_child(p, n);
		f = ps_profile_frame_at(p, ps_profile_node_frame(p, n));
		cr_assert_eq(f->kind, PS_FRAME_USER);
		cr_assert_str_eq(f->name, "sym_test_target_function");
		const ps_mapping *m = ps_profile_mapping_at(p, f->mapping);
		cr_assert_not_null(m);
		cr_assert_str_eq(m->path, self.path);
		if (addresses) {
			cr_assert_eq(f->addr, addr, "a leaf is looked up where it was sampled");
			cr_assert_eq(m->start, self.start);
			cr_assert_eq(m->limit, self.end);
			cr_assert_eq(m->pgoff, self.pgoff);
		} else {
			cr_assert_eq(f->addr, 0, "a frame per function");
			cr_assert_eq(m->start, 0);
		}
		n = ps_profile_node_child(p, n);
		f = ps_profile_frame_at(p, ps_profile_node_frame(p, n));
		cr_assert_eq(f->kind, PS_FRAME_KERNEL);
		cr_assert_str_eq(f->name, "do_test_syscall");
		cr_assert_str_eq(ps_profile_mapping_at(p, f->mapping)->path, "[kernel.kallsyms]");
		cr_assert_eq(ps_profile_node_self(p, n, 0), 1);
		ps_profile_free(p);
	}
}

/* One pass over the trace names samples by the name their thread had when they were
 * taken, even when a chain's samples straddle a rename and the rename's COMM record
 * comes after them in the file (as a lagging CPU ring delivers it). */
Test(sym, renamed_thread_samples_keep_their_names, .init = setup, .fini = teardown)
{
	char trace[128], ks[128];
	snprintf(trace, sizeof(trace), "%s/r.data", dir);
	snprintf(ks, sizeof(ks), "%s/kallsyms", dir);
	write_file(ks, "ffffffff81000000 T _stext\nffffffff81001000 T do_exec_work\n");
	ps_trace_writer *w;
	ps_kv meta[] = {{"event", "cpu-clock"}};
	cr_assert_eq(ps_trace_create(&w, trace, meta, 1, 0), 0);
	ps_event ev = {.type = PS_REC_COMM};
	ev.comm = (ps_comm){.time = 1, .pid = 77, .tid = 77, .comm = "sh"};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	uint64_t ips[] = {PS_CONTEXT_KERNEL, 0xffffffff81001010ull};
	for (uint64_t t = 10; t <= 60; t += 10) {
		ev = (ps_event){.type = PS_REC_SAMPLE};
		ev.sample = (ps_sample){.time = t, .period = 5, .pid = 77, .tid = 77, .nr = 2,
					.ips = ips};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
		if (t == 30)
			cr_assert_eq(ps_trace_flush(w), 0); /* the chain spans two chunks */
	}
	ev = (ps_event){.type = PS_REC_COMM};
	ev.comm = (ps_comm){.time = 35, .pid = 77, .tid = 77, .exec = 1, .comm = "split"};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	cr_assert_eq(ps_trace_commit(w), 0);

	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.kallsyms = ks;
	ps_sym_report rep;
	char *out = fold_trace(trace, &o, &rep);
	cr_expect_str_eq(out, "sh;do_exec_work 3\nsplit;do_exec_work 3\n");
	cr_expect_eq(rep.samples, 6);
	cr_expect_eq(rep.trace.samples, 6);
	cr_expect_eq(rep.trace.first_time, 10);
	free(out);
	o.comm = "split";
	out = fold_trace(trace, &o, &rep);
	cr_expect_str_eq(out, "split;do_exec_work 3\n");
	cr_expect_eq(rep.samples, 3);
	free(out);
}

/* A trace from another kernel is not named with this machine's /proc/kallsyms. */
Test(sym, kernel_frames_of_another_kernel_stay_unnamed, .init = setup, .fini = teardown)
{
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/k.data", dir);
	for (int other = 0; other < 2; other++) {
		struct utsname un;
		cr_assert_eq(uname(&un), 0);
		char kbid[41] = "";
		ps_kernel_build_id("/sys/kernel/notes", kbid);
		ps_kv meta[] = {{"event", "cpu-clock"},
				{"release", other ? "0.0.0-elsewhere" : un.release},
				{"kernel_build_id", other ? "00112233" : kbid}};
		ps_trace_writer *w;
		cr_assert_eq(ps_trace_create(&w, trace, meta, 3, 0), 0);
		ps_event ev = {.type = PS_REC_COMM};
		ev.comm = (ps_comm){.time = 1, .pid = 9, .tid = 9, .comm = "k"};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
		/* an address of a kernel function that is surely there */
		uint64_t addr = 0;
		FILE *f = fopen("/proc/kallsyms", "re");
		char line[512];
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, " T schedule\n") || strstr(line, " t schedule\n")) {
				addr = strtoull(line, NULL, 16);
				break;
			}
		if (f)
			fclose(f);
		if (!addr) {
			ps_trace_abort(w);
			cr_skip_test("kallsyms hides kernel addresses");
		}
		uint64_t ips[] = {PS_CONTEXT_KERNEL, addr + 1};
		ev = (ps_event){.type = PS_REC_SAMPLE};
		ev.sample = (ps_sample){.time = 2, .period = 1, .pid = 9, .tid = 9, .nr = 2, .ips = ips};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
		cr_assert_eq(ps_trace_commit(w), 0);
		ps_sym_opts o;
		ps_sym_opts_init(&o);
		ps_sym_report rep;
		char *out = fold_trace(trace, &o, &rep);
		if (other) {
			cr_expect_str_eq(out, "k;[unknown] 1\n");
			cr_expect_eq(rep.kernel_foreign, 1);
		} else {
			cr_expect_str_eq(out, "k;schedule 1\n");
			cr_expect_eq(rep.kernel_foreign, 0);
		}
		free(out);
	}
}

Test(sym, kallsyms_parse)
{
	char path[] = "/tmp/ps-kallsyms-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, "0000000000000000 A fixed_percpu_data\n"
			 "ffffffff81000000 T _stext\n"
			 "ffffffff81000100 t local_fn\n"
			 "ffffffff81000200 D some_data\n"
			 "ffffffff81000300 W weak_fn\n"
			 "garbage line\n"
			 "ffffffffc0001000 t nf_fn\t[nf_conntrack]\n"
			 "ffffffffc0002000 T ext4_fn\t[ext4]\n");
	ps_kallsyms *k;
	cr_assert_eq(ps_kallsyms_load(&k, path), 0);
	const char *mod = NULL;
	cr_expect_str_eq(ps_kallsyms_lookup(k, 0xffffffff81000150ull, &mod), "local_fn");
	cr_expect_str_eq(mod, "");
	/* Data symbols are not functions: the text before them covers the address. */
	cr_expect_str_eq(ps_kallsyms_lookup(k, 0xffffffff81000250ull, &mod), "local_fn");
	cr_expect_str_eq(ps_kallsyms_lookup(k, 0xffffffff81000300ull, &mod), "weak_fn");
	cr_expect_str_eq(ps_kallsyms_lookup(k, 0xffffffffc0001008ull, &mod), "nf_fn");
	cr_expect_str_eq(mod, "nf_conntrack");
	cr_expect_str_eq(ps_kallsyms_lookup(k, 0xffffffffc0002010ull, &mod), "ext4_fn");
	cr_expect_str_eq(mod, "ext4");
	cr_expect_null(ps_kallsyms_lookup(k, 0xffffffff80000000ull, &mod));
	cr_expect_null(ps_kallsyms_lookup(k, 0xffffffffc0002000ull + (2u << 20), &mod));
	cr_expect_eq(ps_kallsyms_hidden(k), 0);
	ps_kallsyms_free(k);
	cr_expect_lt(ps_kallsyms_load(&k, "/nonexistent/kallsyms"), 0);
	unlink(path);
}

/* kptr_restrict: every address reads 0. The embed step notes it once in the trace, and
 * a walk of that trace reports it. */
Test(sym, kallsyms_hidden_note, .init = setup, .fini = teardown)
{
	char trace[128], ks[128], out[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	snprintf(out, sizeof(out), "%s/o.data", dir);
	snprintf(ks, sizeof(ks), "%s/kallsyms", dir);
	write_file(ks, "0000000000000000 T _stext\n0000000000000000 T do_syscall_64\n"
		       "0000000000000000 t helper\t[mod]\n");
	ps_kallsyms *k;
	cr_assert_eq(ps_kallsyms_load(&k, ks), 0);
	cr_expect_eq(ps_kallsyms_hidden(k), 1);
	ps_kallsyms_free(k);

	write_self_trace(trace, (uint64_t)(uintptr_t)&sym_test_target_function,
			 0xffffffff81001010ull);
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, trace), 0);
	ps_trace_writer *w;
	ps_kv meta[] = {{"event", "cpu-clock"}};
	cr_assert_eq(ps_trace_create(&w, out, meta, 1, 0), 0);
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.kallsyms = ks;
	ps_sym_report rep;
	cr_assert_eq(ps_sym_embed(r, &o, w, &rep), 0);
	cr_expect_eq(rep.kernel_hidden, 1);
	cr_expect_eq(rep.embedded, 2);
	cr_assert_eq(ps_trace_commit(w), 0);
	ps_trace_close(r);

	cr_assert_eq(ps_trace_open(&r, out), 0);
	ps_event ev;
	int notes = 0, syms = 0;
	while (ps_trace_next(r, &ev) > 0) {
		if (ev.type == PS_REC_NOTE && !strcmp(ev.note.key, "kernel_hidden"))
			notes++;
		if (ev.type == PS_REC_SYMBOL && ev.sym.pid != PS_SYM_KERNEL_PID) {
			syms++;
			cr_expect_str_eq(ev.sym.names, "sym_test_target_function");
		}
	}
	ps_trace_close(r);
	cr_expect_eq(notes, 1);
	cr_expect_eq(syms, 1);
}

Test(sym, jit_map_parse)
{
	char path[] = "/tmp/ps-jit-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, "7f0000001000 100 LazyCompile:~hot /tmp/hot.js:3:13\n"
			 "7f0000001100 80 Builtin:ArgumentsAdaptorTrampoline\n"
			 "not a line\n"
			 "7f0000002000 0 zero_size\n"
			 "7f0000003000 40 _ZN3geo6Square4areaEv\n"
			 "7f0000001000 20 reused_later\n"
			 "7f0000004000 10 crlf_name\r\n");
	ps_jit *j;
	cr_assert_eq(ps_jit_load(&j, path, 1, -1), 0);
	cr_expect_str_eq(ps_jit_lookup(j, 0x7f0000001050ull), "LazyCompile:~hot /tmp/hot.js:3:13");
	cr_expect_str_eq(ps_jit_lookup(j, 0x7f0000001100ull), "Builtin:ArgumentsAdaptorTrampoline");
	/* A JIT reuses freed code addresses: the later line wins where they overlap. */
	cr_expect_str_eq(ps_jit_lookup(j, 0x7f0000001010ull), "reused_later");
	cr_expect_null(ps_jit_lookup(j, 0x7f0000002000ull));
	cr_expect_str_eq(ps_jit_lookup(j, 0x7f0000003010ull), "geo::Square::area()");
	cr_expect_str_eq(ps_jit_lookup(j, 0x7f0000004000ull), "crlf_name");
	cr_expect_null(ps_jit_lookup(j, 0x7f0000004010ull));
	ps_jit_free(j);
	cr_assert_eq(ps_jit_load(&j, path, 0, -1), 0);
	cr_expect_str_eq(ps_jit_lookup(j, 0x7f0000003010ull), "_ZN3geo6Square4areaEv");
	ps_jit_free(j);
	ps_jit_free(NULL);
	unlink(path);
}

/* Anyone can create /tmp/perf-PID.map first: only the process's user's (or root's) regular
 * file that others cannot write is believed. */
Test(sym, jit_map_refused_unless_trusted)
{
	char dir[] = "/tmp/ps-jitdir-XXXXXX", path[64], link[64], fifo[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/perf-1.map", dir);
	snprintf(link, sizeof(link), "%s/perf-2.map", dir);
	snprintf(fifo, sizeof(fifo), "%s/perf-3.map", dir);
	write_file(path, "7f0000001000 100 fn\n");
	ps_jit *j = NULL;
	cr_assert_eq(ps_jit_load(&j, path, 0, -1), 0, "mine, 0644");
	ps_jit_free(j);
	chmod(path, 0666);
	cr_assert_eq(ps_jit_load(&j, path, 0, -1), -EPERM, "writable by others");
	cr_assert_null(j);
	chmod(path, 0644);
	uid_t me = geteuid();
	if (me == 0) {
		/* root's file is always believed; a process user's file only for that user */
		cr_assert_eq(chown(path, 4242, 4242), 0);
		cr_assert_eq(ps_jit_load(&j, path, 0, 4242), 0, "the process user's own file");
		ps_jit_free(j);
		cr_assert_eq(ps_jit_load(&j, path, 0, 4343), -EPERM, "another user's file");
	}
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_eq(ps_jit_load(&j, link, 0, -1), -ELOOP, "a symlink is not followed");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(ps_jit_load(&j, fifo, 0, -1), PS_ENOTREG, "a FIFO neither (and no hang)");
	unlink(path);
	unlink(link);
	unlink(fifo);
	rmdir(dir);
}

/* Samples at 1.5, 2.5 and 3.5 s on the trace's clock, weighing 1, 10 and 100, stored out of
 * time order as the rings drain them; with_stats: the recording started at 1 s. */
static void write_timed_trace(const char *path, int with_stats)
{
	ps_trace_writer *w;
	ps_kv meta[] = {{"event", "cpu-clock"}};
	cr_assert_eq(ps_trace_create(&w, path, meta, 1, 0), 0);
	static const uint64_t ips[] = {PS_CONTEXT_USER, 0x1234};
	const uint64_t times[] = {2500000000ull, 1500000000ull, 3500000000ull};
	const uint64_t periods[] = {10, 1, 100};
	for (int i = 0; i < 3; i++) {
		ps_event ev = {.type = PS_REC_SAMPLE};
		ev.sample = (ps_sample){.time = times[i], .period = periods[i], .pid = 7, .tid = 7,
					.nr = 2, .ips = ips};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
	}
	if (with_stats) {
		ps_event ev = {.type = PS_REC_STATS};
		ev.stats = (ps_stats){.samples = 3, .start_ns = 1000000000ull, .end_ns = 4000000000ull};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
	}
	cr_assert_eq(ps_trace_commit(w), 0);
}

/* The total period of the samples in [from, to) seconds after the recording's start. */
static uint64_t total_in(const char *trace, double from, double to)
{
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.time_range = 1;
	o.time_start_ns = (uint64_t)(from * 1e9);
	o.time_end_ns = to < 0 ? UINT64_MAX : (uint64_t)(to * 1e9);
	ps_trace_reader *r;
	cr_assert_eq(ps_trace_open(&r, trace), 0);
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	cr_assert_eq(ps_sym_profile(r, &o, 1, p, NULL), 0);
	uint64_t t = ps_profile_total(p, 0);
	ps_profile_free(p);
	ps_trace_close(r);
	return t;
}

Test(sym, time_range_from_the_recording_start, .init = setup, .fini = teardown)
{
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	write_timed_trace(trace, 1);
	/* The STATS record says the recording began at 1 s: samples at 0.5, 1.5, 2.5 s. */
	cr_expect_eq(total_in(trace, 0, 1), 1);
	cr_expect_eq(total_in(trace, 1, -1), 110);
	cr_expect_eq(total_in(trace, 0.5, 1.5), 1, "START is in the range, END is not");
	cr_expect_eq(total_in(trace, 0, -1), 111);
	cr_expect_eq(total_in(trace, 3, -1), 0);
}

Test(sym, time_range_without_stats, .init = setup, .fini = teardown)
{
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	write_timed_trace(trace, 0);
	/* A recorder that did not finish wrote no STATS: the earliest sample (stored second)
	 * is the start. */
	cr_expect_eq(total_in(trace, 0, 1), 1);
	cr_expect_eq(total_in(trace, 1, 2), 10);
	cr_expect_eq(total_in(trace, 2, -1), 100);
}

/* A process that execs loses its old image: a sample after the exec at an address only
 * the old image mapped is not named after the old image's function. */
static void write_exec_trace(const char *path, uint64_t addr, int nexec)
{
	ps_trace_writer *w = write_self_maps(path);
	uint32_t pid = (uint32_t)getpid();
	uint64_t ips[] = {PS_CONTEXT_USER, addr};
	ps_event ev;
	for (int i = 0; i < nexec; i++) {
		ev = (ps_event){.type = PS_REC_COMM};
		ev.comm = (ps_comm){.time = 5, .pid = pid, .tid = pid, .exec = 1, .comm = "newimage"};
		cr_assert_eq(ps_trace_write(w, &ev), 0);
	}
	ev = (ps_event){.type = PS_REC_SAMPLE};
	ev.sample = (ps_sample){.time = 10, .period = 1, .pid = pid, .tid = pid, .nr = 2, .ips = ips};
	cr_assert_eq(ps_trace_write(w, &ev), 0);
	cr_assert_eq(ps_trace_commit(w), 0);
}

Test(sym, exec_hides_the_old_image, .init = setup, .fini = teardown)
{
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	write_exec_trace(trace, (uint64_t)(uintptr_t)&sym_test_target_function + 1, 1);
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.use_embedded = 0;
	ps_sym_report rep;
	char *out = fold_trace(trace, &o, &rep);
	/* (A chain is named once, at its first sample: a chain sampled both before and after
	 * the exec keeps the old image's names, as it did before the model knew of execs.) */
	cr_expect_str_eq(out, "newimage;[unknown] 1\n");
	cr_expect_eq(rep.dropped_records, 0);
	free(out);
}

/* A hostile trace's records beyond the address-space model's bounds are dropped and
 * counted, not kept without end. */
Test(sym, records_over_the_bounds_are_counted, .init = setup, .fini = teardown)
{
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	write_exec_trace(trace, (uint64_t)(uintptr_t)&sym_test_target_function + 1, 5000);
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	ps_sym_report rep;
	free(fold_trace(trace, &o, &rep));
	cr_expect_eq(rep.dropped_records, 5000 - 4096, "execs over 4096 per process");
}

/* A mapping without a build-id is named from the file on disk only when it is the file
 * the FILE record describes (size and mtime, or the build-id read at record time); a
 * changed file leaves its frames unnamed and is reported, and without any record the
 * names are used but reported as unverified (they used to be used without a word). */
Test(sym, files_without_build_id_are_verified, .init = setup, .fini = teardown)
{
	char trace[128], exe[4096];
	snprintf(trace, sizeof(trace), "%s/t.data", dir);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert(n > 0);
	exe[n] = '\0';
	ps_fileid id = {.pid = (uint32_t)getpid(), .path = exe};
	cr_assert_eq(ps_elf_identify(exe, &id), 0);
	struct stat st;
	cr_assert_eq(stat(exe, &st), 0);
	cr_expect_eq(id.size, (uint64_t)st.st_size);
	cr_expect_eq(id.ino, (uint64_t)st.st_ino);
	cr_expect_eq(ps_elf_identify("/dev/null", &id), PS_ENOTREG);
	id.build_id_size = 0; /* as for a binary linked with --build-id=none */
	uint64_t addr = (uint64_t)(uintptr_t)&sym_test_target_function + 1;
	ps_sym_opts o;
	ps_sym_opts_init(&o);
	o.kallsyms = "/nonexistent";
	ps_sym_report rep;

	/* No record: names, and a word that they could not be verified. */
	self_file = NULL;
	write_self_trace(trace, addr, 0xffffffff81001010ull);
	char *out = fold_trace(trace, &o, &rep);
	cr_expect(strstr(out, "sym_test_target_function"), "%s", out);
	cr_expect_eq(rep.unverified, 1);
	cr_expect_str_eq(rep.unverified_path, exe);
	cr_expect_eq(rep.changed, 0);
	free(out);

	/* The recorded identity: names, nothing to say. */
	self_file = &id;
	write_self_trace(trace, addr, 0xffffffff81001010ull);
	out = fold_trace(trace, &o, &rep);
	cr_expect(strstr(out, "sym_test_target_function"), "%s", out);
	cr_expect_eq(rep.unverified, 0);
	cr_expect_eq(rep.changed, 0);
	free(out);

	/* Another mtime or size: the file was rebuilt since; no names from it. */
	ps_fileid other = id;
	other.mtime_ns += 1000000000;
	self_file = &other;
	write_self_trace(trace, addr, 0xffffffff81001010ull);
	out = fold_trace(trace, &o, &rep);
	cr_expect(!strstr(out, "sym_test_target_function"), "%s", out);
	cr_expect_eq(rep.changed, 1);
	cr_expect_str_eq(rep.changed_path, exe);
	free(out);
	other = id;
	other.size++;
	write_self_trace(trace, addr, 0xffffffff81001010ull);
	out = fold_trace(trace, &o, &rep);
	cr_expect(!strstr(out, "sym_test_target_function"), "%s", out);
	free(out);

	/* A build-id read from the file at record time is checked as the kernel's is. */
	other = id;
	other.build_id_size = 20;
	memset(other.build_id, 0xab, 20);
	write_self_trace(trace, addr, 0xffffffff81001010ull);
	out = fold_trace(trace, &o, &rep);
	cr_expect(!strstr(out, "sym_test_target_function"), "%s", out);
	cr_expect_eq(rep.changed, 1);
	free(out);
	self_file = NULL;
}
