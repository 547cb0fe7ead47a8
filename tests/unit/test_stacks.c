/* Tests of the readers of other tools' stacks: ps_pmcstat (pmcstat -G call graphs) and
 * ps_dtrace (DTrace stack aggregations). The folded output is checked against
 * FlameGraph's collapse scripts on tests/data/stacks (see its README); here, the model
 * each reader builds: kinds, mappings, addresses, and the limits on hostile input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_dtrace.h"
#include "formats/ps_error.h"
#include "formats/ps_pmcstat.h"

#define DATA "tests/data/stacks"

static FILE *mem_in(const char *data, size_t len)
{
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	if (len)
		cr_assert_eq(fwrite(data, 1, len, f), len);
	rewind(f);
	return f;
}

typedef int (*reader_fn)(FILE *in, ps_profile *out, size_t *lineno);

static ps_profile *read_text(reader_fn fn, const char *text, int *err, size_t *line)
{
	FILE *f = mem_in(text, strlen(text));
	ps_profile *p = ps_profile_new(0);
	cr_assert_not_null(p);
	size_t l = 0;
	*err = fn(f, p, line ? line : &l);
	fclose(f);
	return p;
}

static char *folded(ps_profile *p, unsigned label_flags)
{
	ps_label_opts lo = {label_flags, NULL, NULL};
	ps_profile_set_labels(p, &lo);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_eq(ps_profile_write_folded(p, 0, out), 0);
	fclose(out);
	return text;
}

/* The frame of the stack's node whose label is name, searching every node. */
static const ps_frame *frame_named(ps_profile *p, const char *name)
{
	for (ps_frame_id i = 0; i < ps_profile_nframes(p); i++)
		if (!strcmp(ps_profile_frame_at(p, i)->name, name))
			return ps_profile_frame_at(p, i);
	cr_assert_fail("no frame %s", name);
	return NULL;
}

static const char *mapping_path(ps_profile *p, const ps_frame *f)
{
	const ps_mapping *m = ps_profile_mapping_at(p, f->mapping);
	return m ? m->path : "(none)";
}

/* ---- pmcstat ---- */

static const char pmc_graph[] =
    "@ CPU_CLK_UNHALTED_CORE [20 samples]\n"
    "\n"
    "60.00%  [12]       witness_unlock @ /boot/kernel/kernel\n"
    " 75.00%  [9]         vdev_queue_io_done @ /boot/kernel/zfs.ko\n"
    "  100.0%  [9]          taskqueue_run_locked @ /boot/kernel/kernel\n"
    " 25.00%  [3]         0xffffffff80b3c5d0\n"
    "\n"
    "40.00%  [8]        memcpy @ /lib/libc.so.7\n"
    " 100.0%  [8]         0x4a2b10 @ /usr/local/bin/postgres\n"
    "  100.0%  [8]          main\n";

Test(pmcstat, chains_are_leaf_up_with_the_deepest_count)
{
	int err;
	ps_profile *p = read_text(ps_pmcstat_read, pmc_graph, &err, NULL);
	cr_assert_eq(err, 0);
	char *text = folded(p, 0);
	cr_expect_str_eq(text, "0xffffffff80b3c5d0;witness_unlock 3\n"
			       "main;0x4a2b10;memcpy 8\n"
			       "taskqueue_run_locked;vdev_queue_io_done;witness_unlock 9\n");
	free(text);
	cr_expect_eq(ps_profile_total(p, 0), 20);
	const char *unit;
	cr_expect_str_eq(ps_profile_type(p, 0, &unit), "samples");
	ps_profile_free(p);
}

Test(pmcstat, images_are_mappings_and_say_kernel)
{
	int err;
	ps_profile *p = read_text(ps_pmcstat_read, pmc_graph, &err, NULL);
	cr_assert_eq(err, 0);
	const ps_frame *f = frame_named(p, "witness_unlock");
	cr_expect_eq(f->kind, PS_FRAME_KERNEL);
	cr_expect_str_eq(mapping_path(p, f), "/boot/kernel/kernel");
	f = frame_named(p, "vdev_queue_io_done");
	cr_expect_eq(f->kind, PS_FRAME_KERNEL); /* a module */
	cr_expect_str_eq(mapping_path(p, f), "/boot/kernel/zfs.ko");
	/* The image printed once holds for the lines after it. */
	f = frame_named(p, "0xffffffff80b3c5d0");
	cr_expect_str_eq(mapping_path(p, f), "/boot/kernel/kernel");
	cr_expect(f->unresolved);
	cr_expect_eq(f->addr, 0xffffffff80b3c5d0ull);
	f = frame_named(p, "memcpy");
	cr_expect_eq(f->kind, PS_FRAME_USER);
	cr_expect_str_eq(mapping_path(p, f), "/lib/libc.so.7");
	f = frame_named(p, "main");
	cr_expect_eq(f->kind, PS_FRAME_USER);
	cr_expect_str_eq(mapping_path(p, f), "/usr/local/bin/postgres");
	cr_expect_not(f->unresolved);
	/* --kernel marks the kernel's frames. */
	char *text = folded(p, PS_LABEL_KERNEL);
	cr_expect(strstr(text, "0xffffffff80b3c5d0_[k];witness_unlock_[k] 3\n"), "%s", text);
	cr_expect(strstr(text, "main;0x4a2b10;memcpy 8\n"), "%s", text);
	free(text);
	ps_profile_free(p);
}

/* A level a chain skips keeps what an earlier chain put there, or is empty: the script
 * prints what its array holds. */
Test(pmcstat, skipped_levels_print_as_the_script_prints_them)
{
	int err;
	ps_profile *p = read_text(ps_pmcstat_read,
				 "50.00%  [5]  a\n"
				 " 100.0%  [5]  b\n"
				 "   100.0%  [5]  c\n"
				 "50.00%  [5]  d\n"
				 "     100.0%  [5]  e\n",
				 &err, NULL);
	cr_assert_eq(err, 0);
	char *text = folded(p, 0);
	cr_expect_str_eq(text, "c;;b;a 5\ne;;c;;b;d 5\n");
	free(text);
	ps_profile_free(p);
}

Test(pmcstat, odd_bytes_and_line_ends)
{
	/* CRLF ends a name as Perl's \S does; a ';' is escaped as the model escapes it; a
	 * NUL byte prints as '?'. */
	static const char text_in[] = "10%  [2]  x;y\r\n 10%  [2]  a\0b\r\n";
	FILE *f = mem_in(text_in, sizeof(text_in) - 1);
	ps_profile *p = ps_profile_new(0);
	size_t line;
	cr_assert_eq(ps_pmcstat_read(f, p, &line), 0);
	fclose(f);
	char *text = folded(p, 0);
	cr_expect_str_eq(text, "a?b;x:y 2\n");
	free(text);
	ps_profile_free(p);
}

Test(pmcstat, no_call_graph_is_an_error)
{
	int err;
	ps_profile *p = read_text(ps_pmcstat_read, "@ cycles [0 samples]\n\nhello\n", &err, NULL);
	cr_expect_eq(err, PS_EFORMAT);
	ps_profile_free(p);
	p = read_text(ps_pmcstat_read, "", &err, NULL);
	cr_expect_eq(err, PS_EFORMAT);
	ps_profile_free(p);
}

Test(pmcstat, counts_past_the_limit_are_an_error)
{
	int err;
	size_t line;
	ps_profile *p = read_text(ps_pmcstat_read, "1%  [99999999999999999999]  f\n", &err, &line);
	cr_expect_eq(err, PS_ELIMIT);
	cr_expect_eq(line, 1);
	ps_profile_free(p);
	p = read_text(ps_pmcstat_read,
		      "1%  [9223372036854775807]  f\n1%  [1]  g\n", &err, &line);
	cr_expect_eq(err, PS_ELIMIT);
	ps_profile_free(p);
}

Test(pmcstat, a_line_over_the_limit_is_an_error)
{
	size_t n = PS_PMCSTAT_MAX_LINE + 20; /* the second line is over it */
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "1%  [1]  f\n", 11);
	big[n] = '\0';
	int err;
	size_t line;
	ps_profile *p = read_text(ps_pmcstat_read, big, &err, &line);
	cr_expect_eq(err, PS_ELIMIT);
	cr_expect_eq(line, 2);
	ps_profile_free(p);
	free(big);
}

/* ---- dtrace ---- */

static const char dtrace_stacks[] = "CPU     ID                    FUNCTION:NAME\n"
				    "  0  64091                        :tick-60s \n"
				    "\n"
				    "\n"
				    "              genunix`kmem_cpu_reload+0x20\n"
				    "              genunix`vn_rele+0x82\n"
				    "              unix`sys_syscall+0x17a\n"
				    "                7\n"
				    "\n"
				    "              Lorg/app/W;::step->Lorg/app/W;::inner\n"
				    "              libjvm.so`JavaCalls::call(JavaValue*)+0x2b1\n"
				    "               3\n"
				    "              genunix`vn_rele+0x90\n"
				    "              unix`sys_syscall+0x17a\n"
				    "                2\n"
				    "              orphan`frame+0x1\n";

Test(dtrace, stacks_as_stackcollapse_prints_them)
{
	int err;
	ps_profile *p = read_text(ps_dtrace_read, dtrace_stacks, &err, NULL);
	cr_assert_eq(err, 0);
	char *text = folded(p, PS_LABEL_INLINE);
	cr_expect_str_eq(text, "libjvm.so`JavaCalls::call;org/app/W:::step;org/app/W:::inner_[i] 3\n"
			       "unix`sys_syscall;genunix`vn_rele 2\n"
			       "unix`sys_syscall;genunix`vn_rele;genunix`kmem_cpu_reload 7\n");
	free(text);
	cr_expect_eq(ps_profile_total(p, 0), 12); /* the frame after the last count is not */
	ps_profile_free(p);
}

Test(dtrace, modules_are_mappings_and_arrows_inlined_frames)
{
	int err;
	ps_profile *p = read_text(ps_dtrace_read, dtrace_stacks, &err, NULL);
	cr_assert_eq(err, 0);
	const ps_frame *f = frame_named(p, "genunix`vn_rele");
	cr_expect_eq(f->kind, PS_FRAME_USER);
	cr_expect_str_eq(mapping_path(p, f), "genunix");
	f = frame_named(p, "libjvm.so`JavaCalls::call");
	cr_expect_str_eq(mapping_path(p, f), "libjvm.so");
	f = frame_named(p, "org/app/W:::step");
	cr_expect_eq(f->kind, PS_FRAME_USER);
	cr_expect_eq(f->mapping, PS_MAPPING_NONE);
	f = frame_named(p, "org/app/W:::inner");
	cr_expect_eq(f->kind, PS_FRAME_INLINE);
	/* Without the label option the inlined frame prints by its name alone. */
	char *text = folded(p, 0);
	cr_expect(strstr(text, "org/app/W:::step;org/app/W:::inner 3\n"), "%s", text);
	free(text);
	ps_profile_free(p);
}

/* The script's cleaning rules, each on a line of its own. */
Test(dtrace, frame_cleaning_follows_the_script)
{
	int err;
	ps_profile *p = read_text(ps_dtrace_read,
				 "h1\nh2\nh3\n"
				 "  a.out`ns::f<int>(int)+0x2\n" /* args from the last ( or < */
				 "  op+(a+b)+0x3\n"              /* offset from the last + */
				 "  +0x10\n"                     /* empty: "-" */
				 "  ->\n"                        /* no frames at all */
				 "  ->lead->\n"                  /* "", lead_[i] */
				 "  a->->b\n"                    /* a, _[i], b_[i] */
				 "  0010\n",
				 &err, NULL);
	cr_assert_eq(err, 0);
	char *text = folded(p, PS_LABEL_INLINE);
	cr_expect_str_eq(text, "a;_[i];b_[i];;lead_[i];-;op+(a+b);a.out`ns::f<int> 10\n");
	free(text);
	ps_profile_free(p);
}

Test(dtrace, header_lines_are_skipped_whatever_they_hold)
{
	int err;
	ps_profile *p = read_text(ps_dtrace_read, "f\n5\ng\nh\n6\n", &err, NULL);
	cr_assert_eq(err, 0);
	char *text = folded(p, 0);
	cr_expect_str_eq(text, "h 6\n");
	free(text);
	ps_profile_free(p);
}

Test(dtrace, a_count_without_frames_counts_at_the_root)
{
	int err;
	ps_profile *p = read_text(ps_dtrace_read, "1\n2\n3\n   4\nf\n5\n", &err, NULL);
	cr_assert_eq(err, 0);
	cr_expect_eq(ps_profile_total(p, 0), 9);
	cr_expect_eq(ps_profile_node_self(p, PS_NODE_ROOT, 0), 4);
	ps_profile_free(p);
}

Test(dtrace, no_count_is_an_error)
{
	int err;
	ps_profile *p = read_text(ps_dtrace_read, "a\nb\nc\nframe+0x1\nframe2+0x2\n", &err, NULL);
	cr_expect_eq(err, PS_EFORMAT);
	ps_profile_free(p);
}

Test(dtrace, limits)
{
	int err;
	size_t line;
	ps_profile *p = read_text(ps_dtrace_read, "a\nb\nc\nf\n99999999999999999999\n", &err, &line);
	cr_expect_eq(err, PS_ELIMIT);
	cr_expect_eq(line, 5);
	ps_profile_free(p);
	size_t n = PS_DTRACE_MAX_LINE + 2;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	p = read_text(ps_dtrace_read, big, &err, &line);
	cr_expect_eq(err, PS_ELIMIT);
	ps_profile_free(p);
	free(big);
}

/* ---- the files the e2e test compares with FlameGraph's scripts ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	char *data = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&data, &len);
	char buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, got, m);
	fclose(f);
	fclose(m);
	return data;
}

static void check_file(reader_fn fn, const char *name, unsigned labels)
{
	char in[256], expect[256];
	snprintf(in, sizeof(in), DATA "/%s.txt", name);
	snprintf(expect, sizeof(expect), DATA "/%s.collapsed", name);
	FILE *f = fopen(in, "rb");
	cr_assert_not_null(f, "cannot open %s", in);
	ps_profile *p = ps_profile_new(0);
	size_t line;
	cr_assert_eq(fn(f, p, &line), 0, "%s", in);
	fclose(f);
	char *got = folded(p, labels), *want = slurp(expect);
	cr_expect_str_eq(got, want, "%s differs from %s", in, expect);
	free(got);
	free(want);
	ps_profile_free(p);
}

Test(stacks, data_files_fold_as_the_scripts_fold_them)
{
	check_file(ps_pmcstat_read, "pmcstat-graph", 0);
	check_file(ps_pmcstat_read, "pmcstat-edge", 0);
	check_file(ps_dtrace_read, "dtrace-example", PS_LABEL_INLINE);
	check_file(ps_dtrace_read, "dtrace-edge", PS_LABEL_INLINE);
}
