/* perfsample info: what a trace holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "formats/ps_util.h"

static const char info_usage[] =
	"usage: perfsample info [-i TRACE | TRACE]\n"
	"\n"
	"What a trace holds: how it was recorded, samples, lost samples, processes.\n";

int cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	const struct opt options[] = {
		OPT_STRING('i', "input-file", &path, "TRACE",
			   "the trace (default perfsample.data; an operand is one too)"),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, info_usage, 0);
	if (argc > 1 || (argc && path))
		usage_error("info", "unexpected argument '%s'", argv[argc - 1]);
	if (argc)
		path = argv[0];
	if (!path)
		path = DEFAULT_TRACE;
	ps_trace_reader *r = open_trace(path);
	struct trace_summary s;
	summarize(r, path, &s);
	struct proc_count *procs;
	size_t nprocs = count_processes(r, path, &procs);
	ps_trace_status st = ps_trace_get_status(r);
	printf("file:         %s\n", path);
	for (size_t i = 0; i < ps_trace_nmeta(r); i++) {
		ps_kv kv = ps_trace_meta_at(r, i);
		printf("%-13s %s\n", kv.key, kv.value);
	}
	double dur = (double)ps_trace_summary_duration(&s.t) / 1e9;
	printf("duration:     %.3f s\n", dur);
	printf("samples:      %llu\n", (unsigned long long)s.t.samples);
	printf("lost:         %llu\n", (unsigned long long)s.t.lost);
	printf("throttled:    %llu\n", (unsigned long long)s.t.throttled);
	if (s.t.have_stats)
		printf("truncated:    %llu (stacks the unwinder could not finish)\n",
		       (unsigned long long)s.t.stats.truncated);
	if (s.t.offcpu || s.t.have_offcpu)
		printf("off-cpu:      %llu intervals, %.3f s blocked, %llu unpaired switches (lost "
		       "records), %llu without a stack\n",
		       (unsigned long long)s.t.offcpu, s.t.offcpu_ns / 1e9,
		       (unsigned long long)s.t.offcpu_stats.unpaired,
		       (unsigned long long)s.t.offcpu_stats.no_stack);
	if (s.t.offcpu_stats.unsampled)
		printf("              %llu more intervals without a sampled stack, their time carried "
		       "by the sampled ones; exact blocked time %.3f s\n",
		       (unsigned long long)s.t.offcpu_stats.unsampled,
		       (s.t.offcpu_raw_ns + s.t.offcpu_stats.unsampled_ns) / 1e9);
	printf("records:      %llu mmap, %llu comm, %llu fork, %llu exit, %llu symbols\n",
	       (unsigned long long)s.t.mmaps, (unsigned long long)s.t.comms, (unsigned long long)s.t.forks,
	       (unsigned long long)s.t.exits, (unsigned long long)s.t.symbols);
	if (s.t.heap_allocs || s.t.heap_frees)
		printf("heap:         %llu sampled allocations, %llu frees of sampled blocks\n",
		       (unsigned long long)s.t.heap_allocs, (unsigned long long)s.t.heap_frees);
	if (s.t.metrics_system || s.t.metrics_procs)
		printf("statistics:   %llu snapshots of the system, %llu of processes\n",
		       (unsigned long long)s.t.metrics_system, (unsigned long long)s.t.metrics_procs);
	printf("chunks:       %llu\n", (unsigned long long)st.chunks);
	printf("complete:     %s\n", s.t.have_stats ? "yes"
				     : "no (the recorder did not finish; whole chunks were read)");
	if (st.dropped_bytes)
		printf("dropped:      %llu bytes of a truncated tail\n",
		       (unsigned long long)st.dropped_bytes);
	if (st.corrupt_chunks)
		printf("corrupt:      %llu chunks skipped (%llu bytes, the first at offset %llu)\n",
		       (unsigned long long)st.corrupt_chunks, (unsigned long long)st.corrupt_bytes,
		       (unsigned long long)st.corrupt_offset);
	if (s.t.kernel_hidden)
		printf("kernel:       addresses hidden by kernel.kptr_restrict; kernel frames are "
		       "unnamed (run as root or set kptr_restrict=0)\n");
	size_t with_samples = 0;
	for (size_t i = 0; i < nprocs; i++)
		with_samples += procs[i].samples > 0;
	printf("processes:    %zu with samples\n", with_samples);
	ps_buf name = {0};
	for (size_t i = 0; i < nprocs && i < 20 && procs[i].samples; i++) {
		/* A process names itself: no escape sequence of its reaches the terminal. */
		name.len = 0;
		const char *c = procs[i].comm[0] ? procs[i].comm : "?";
		if (ps_escape(&name, PS_ESC_TERM, c, strlen(c)))
			die("out of memory");
		printf("  %8llu  %-16s pid %u\n", (unsigned long long)procs[i].samples, name.data,
		       procs[i].pid);
	}
	ps_buf_release(&name);
	free(procs);
	ps_trace_close(r);
	stdout_done(0);
	return 0;
}
