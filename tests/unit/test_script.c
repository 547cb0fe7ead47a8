/* The perf-script writer on a model built by hand: time order, the thread's name from the
 * process root, sym+0xOFF of the sampled (not the adjusted) address, inline frames, -F. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_profile.h"
#include "render/ps_script.h"

static char *render(ps_profile *p, const ps_script_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(ps_script_write(p, o, f), 0);
	fclose(f);
	return buf;
}

static ps_frame_id frame(ps_profile *p, ps_frame f)
{
	ps_frame_id id;
	cr_assert_eq(ps_profile_frame(p, &f, &id), 0);
	return id;
}

Test(script, time_order_offsets_inline_and_fields)
{
	ps_profile *p = ps_profile_new(PS_PROFILE_SAMPLES);
	cr_assert_eq(ps_profile_add_type(p, "cpu", "nanoseconds"), 0);
	uint32_t map;
	ps_mapping m = {"/bin/app", NULL, 0x400000, 0x500000, 0};
	cr_assert_eq(ps_profile_mapping(p, &m, &map), 0);
	ps_frame_id comm = frame(p, (ps_frame){.name = "app\nx", .kind = PS_FRAME_PROCESS});
	ps_frame_id main_ = frame(p, (ps_frame){.name = "main", .addr = 0x401010, .mapping = map,
						.kind = PS_FRAME_USER, .has_symoff = 1,
						.retaddr = 1, .symoff = 0x11});
	ps_frame_id leaf = frame(p, (ps_frame){.name = "leaf", .addr = 0x401100, .mapping = map,
					       .kind = PS_FRAME_USER, .has_symoff = 1,
					       .symoff = 0x20});
	ps_frame_id inl = frame(p, (ps_frame){.name = "helper", .addr = 0x401100,
					      .mapping = map, .kind = PS_FRAME_INLINE,
					      .has_symoff = 1, .symoff = 0x20});
	ps_node_id n = PS_NODE_ROOT;
	ps_frame_id path[] = {comm, main_, leaf, inl};
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(ps_profile_child(p, n, path[i], &n), 0);
	ps_profile_sample late = {2000000000, 7, 8, n, 1}, early = {1000500000, 7, 7, n, 0};
	cr_assert_eq(ps_profile_add_sample(p, &late, (uint64_t[]){300}), 0);
	cr_assert_eq(ps_profile_add_sample(p, &early, (uint64_t[]){100}), 0);
	ps_script_opts o = {"cpu-clock", 0, 1, PS_SCRIPT_DEFAULT};
	char *out = render(p, &o);
	const char *want =
	    "app\\x0ax 7/7 [000] 1.000500: 100 cpu-clock:\n"
	    "\t          401100 helper+0x20 (inlined)\n"
	    "\t          401100 leaf+0x20 (/bin/app)\n"
	    "\t          401011 main+0x11 (/bin/app)\n"
	    "\n"
	    "app\\x0ax 7/8 [001] 2.000000: 300 cpu-clock:\n";
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "got:\n%s", out);
	free(out);
	/* Without inline frames, and with perf's -F names. */
	o.inline_frames = 0;
	const char *bad;
	size_t badlen;
	cr_assert_eq(ps_script_fields("tid,ip,sym", &o.fields, &bad, &badlen), 0);
	out = render(p, &o);
	cr_assert_str_eq(out, "7 \n\t          401100 leaf\n\t          401011 main\n\n"
			      "8 \n\t          401100 leaf\n\t          401011 main\n\n");
	free(out);
	cr_assert_eq(ps_script_fields("-dso,+cpu", &o.fields, &bad, &badlen), 0);
	cr_assert_eq(o.fields, PS_SCRIPT_DEFAULT & ~(unsigned)PS_SCRIPT_DSO);
	cr_assert_eq(ps_script_fields("comm,nope", &o.fields, &bad, &badlen), PS_EFORMAT);
	cr_assert_eq(badlen, 4);
	cr_assert_eq(strncmp(bad, "nope", 4), 0);
	ps_profile_free(p);
}
