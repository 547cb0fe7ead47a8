/* cmd/source: inputs, their shared options, and loading them into profiles. */
#include "cmd/source.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/util.h"
#include "formats/ps_dtrace.h"
#include "formats/ps_error.h"
#include "formats/ps_perfdata.h"
#include "formats/ps_perfscript.h"
#include "formats/ps_pmcstat.h"
#include "formats/ps_pprof.h"
#include "formats/ps_util.h"
#include "profiler/ps_unwind.h"
#include "symbolize/ps_elf.h"
#include "render/ps_callgraph.h"

static ps_sym_cache *sym_cache;

void source_set_sym_cache(ps_sym_cache *c)
{
	sym_cache = c;
}

void source_init(struct source *s)
{
	memset(s, 0, sizeof(*s));
	ps_sym_opts_init(&s->sym);
	s->sym.cache = sym_cache;
}

/* ---- options ---- */

/* Formats read by a reader of their own into the profile (struct source's stacks). */
static int stacks_format(const char *f)
{
	return !strcmp(f, "pmcstat") || !strcmp(f, "dtrace") || !strcmp(f, "pprof");
}

static int known_format(const char *f)
{
	return !strcmp(f, "trace") || !strcmp(f, "folded") || !strcmp(f, "perf-script") ||
	       stacks_format(f);
}

void source_cb_input(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	if (!known_format(arg))
		die_usage("unknown input format '%s' (known: trace, folded, perf-script, pmcstat, "
			  "dtrace, pprof)",
			  arg);
	s->input_format = arg;
}

void source_cb_select_pid(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	uint32_t *ids;
	s->sym.npids = parse_id_list("--select-pid", arg, &ids);
	s->sym.pids = ids;
}

void source_cb_select_tid(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	uint32_t *ids;
	s->sym.ntids = parse_id_list("--select-tid", arg, &ids);
	s->sym.tids = ids;
}

/* One side of --time: seconds, or empty for an open end. */
static int time_side(const char *s, size_t len, uint64_t open, uint64_t *ns)
{
	if (!len) {
		*ns = open;
		return 0;
	}
	char buf[64], *end;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	double v = strtod(buf, &end);
	if (*end || errno || !(v >= 0 && v <= 1e9))
		return -1;
	*ns = (uint64_t)llround(v * 1e9);
	return 0;
}

void source_cb_time(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	const char *comma = strchr(arg, ',');
	uint64_t from, to;
	if (!comma || time_side(arg, (size_t)(comma - arg), 0, &from) ||
	    time_side(comma + 1, strlen(comma + 1), UINT64_MAX, &to))
		die_usage("invalid --time '%s' (expected START,END: seconds after the recording "
			  "started, either may be empty)",
			  arg);
	if (from > to)
		die_usage("invalid --time '%s' (START is after END)", arg);
	s->sym.time_range = 1;
	s->sym.time_start_ns = from;
	s->sym.time_end_ns = to;
}

void source_cb_all(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	(void)arg;
	s->sym.annotate_kernel = s->sym.annotate_jit = 1;
}

void source_cb_heap(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	s->sym.heap = !strcmp(arg, "alloc")   ? PS_HEAP_ALLOC
		      : !strcmp(arg, "inuse") ? PS_HEAP_INUSE
		      : !strcmp(arg, "peak")  ? PS_HEAP_PEAK
					      : PS_HEAP_NONE;
	if (!s->sym.heap)
		die_usage("unknown --heap view '%s' (known: alloc, inuse, peak)", arg);
}

void source_cb_offcpu(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	if (arg && strcmp(arg, "all") && strcmp(arg, "voluntary"))
		die_usage("--off-cpu takes all or voluntary, not '%s'", arg);
	s->sym.offcpu = PS_OFFCPU_ONLY;
	s->sym.offcpu_voluntary = arg && !strcmp(arg, "voluntary");
}

void source_cb_wall(const struct opt *o, const char *arg)
{
	struct source *s = o->value;
	(void)arg;
	s->sym.offcpu = PS_OFFCPU_WALL;
}

/* ---- the choices together ---- */

static void check(struct source *s, const char *cmd)
{
	int inputs = !!s->trace + !!s->folded + !!s->perfscript + !!s->stacks;
	if (inputs > 1)
		usage_error(cmd, "give one input: a trace (-i), --folded or --input");
	if (s->sample_type && !(s->stacks && !strcmp(s->stacks_format, "pprof")))
		usage_error(cmd, "--sample-type chooses among the sample types of pprof input");
	if (s->sym.heap && !source_is_trace(s))
		usage_error(cmd, "--heap views the heap samples of a trace (record --heap)");
	if (s->sym.heap && (s->sym.offcpu == PS_OFFCPU_ONLY || s->sym.offcpu == PS_OFFCPU_WALL))
		usage_error(cmd, "--heap values bytes, %s time: one view at a time",
			    s->sym.offcpu == PS_OFFCPU_WALL ? "--wall" : "--off-cpu");
	if (s->sym.offcpu == PS_OFFCPU_ONLY || s->sym.offcpu == PS_OFFCPU_WALL) {
		if (!source_is_trace(s))
			usage_error(cmd, "%s reads the blocked intervals of a trace (record --off-cpu)",
				    s->sym.offcpu == PS_OFFCPU_WALL ? "--wall" : "--off-cpu");
		if (s->weight_period)
			usage_error(cmd, "--period weights CPU samples; %s counts microseconds",
				    s->sym.offcpu == PS_OFFCPU_WALL ? "--wall" : "--off-cpu");
	}
	if (source_is_trace(s))
		return;
	/* Text input carries no samples to filter (folded) or is collapsed as
	 * stackcollapse-perf.pl does it: a filter that silently did nothing would mislead. */
	const char *filter = s->sym.npids ? "--select-pid"
			     : s->sym.ntids ? "--select-tid"
			     : s->sym.comm ? "--comm"
			     : s->sym.time_range ? "--time" : NULL;
	if (filter && s->stacks)
		usage_error(cmd, "%s filters the samples of a trace, not %s input", filter,
			    s->stacks_format);
	if (filter)
		usage_error(cmd, "%s filters the samples of a trace, not folded or perf-script text",
			    filter);
	if (s->folded && (s->pid_root || s->tid_root))
		usage_error(cmd, "%s sets the root frame of a trace or perf-script input; folded "
			    "stacks have theirs",
			    s->tid_root ? "--tid" : "--pid");
	if (s->stacks && (s->pid_root || s->tid_root))
		usage_error(cmd, "%s sets the root frame of a trace or perf-script input; %s "
			    "input names no process",
			    s->tid_root ? "--tid" : "--pid", s->stacks_format);
}

void source_set_input(struct source *s, const char *cmd, const char *format, const char *path)
{
	s->trace = s->folded = s->perfscript = s->stacks = NULL;
	if (!strcmp(format, "perf-script"))
		s->perfscript = path;
	else if (stacks_format(format)) {
		s->stacks = path;
		s->stacks_format = format;
	}
	else if (!strcmp(format, "folded"))
		s->folded = path;
	else
		s->trace = path;
	check(s, cmd);
}

void source_operands(struct source *s, const char *cmd, int argc, char **argv)
{
	if (argc > 1)
		usage_error(cmd, "unexpected argument '%s'", argv[1]);
	if (s->input_format) {
		if (s->trace || s->folded)
			usage_error(cmd, "give one input: a trace (-i), --folded or --input");
		const char *file = argc ? argv[0] : NULL;
		if (!strcmp(s->input_format, "trace"))
			s->trace = file; /* NULL: perfsample.data */
		else if (!strcmp(s->input_format, "folded"))
			s->folded = file ? file : "-";
		else if (stacks_format(s->input_format)) {
			s->stacks = file ? file : "-";
			s->stacks_format = s->input_format;
		} else
			s->perfscript = file ? file : "-";
	} else if (argc) {
		if (s->trace || s->folded)
			usage_error(cmd, "unexpected argument '%s'", argv[0]);
		s->trace = argv[0];
	}
	check(s, cmd);
}

int source_is_trace(const struct source *s) { return !s->folded && !s->perfscript && !s->stacks; }

const char *source_trace_path(const struct source *s)
{
	return s->trace ? s->trace : DEFAULT_TRACE;
}

enum ps_sym_root source_root(const struct source *s)
{
	return s->tid_root ? PS_ROOT_TID : s->pid_root ? PS_ROOT_PID : PS_ROOT_COMM;
}

/* The options as the symbolizer and the perf-script collapse take them. */
static void prepare(struct source *s)
{
	s->sym.root = source_root(s);
}

static unsigned collapse_flags(const struct source *s)
{
	unsigned f = 0;
	f |= s->tid_root ? PS_COLLAPSE_TID : s->pid_root ? PS_COLLAPSE_PID : 0;
	f |= s->sym.annotate_kernel ? PS_COLLAPSE_KERNEL : 0;
	f |= s->sym.annotate_jit ? PS_COLLAPSE_JIT : 0;
	f |= s->sym.addrs ? PS_COLLAPSE_ADDRS : 0;
	return f;
}

/* ---- traces ---- */

ps_trace_reader *open_trace(const char *path)
{
	ps_trace_reader *r;
	int err = ps_trace_open(&r, path);
	if (err == -ENOENT)
		die("cannot open '%s': no such file (record one with 'perfsample record')", path);
	if (err == PS_EEMPTY)
		die("cannot read '%s': the file is empty", path);
	if (err == PS_EFORMAT)
		die("cannot read '%s': not a perfsample trace or perf.data file", path);
	if (err == PS_ETRUNC)
		die("cannot read '%s': truncated inside its header", path);
	if (err)
		die("cannot read '%s': %s", path, ps_strerror(err));
	return r;
}

/* DWARF-mode perf.data: the recorder's unwinder, offline, fed by the reader. */
struct offline_unwind {
	ps_unwinder *u;
};

static void uw_reset(void *ctx)
{
	struct offline_unwind *o = ctx;
	ps_unwind_free(o->u);
	o->u = NULL;
	if (ps_unwind_new(&o->u) == 0) {
		ps_unwind_set_offline(o->u);
		/* the symbolizer's lookup: the file if its build-id matches, perf's build-id
		 * cache, debuginfod */
		ps_unwind_set_locate(o->u, ps_elf_locate);
	}
}

static void uw_event(void *ctx, const ps_event *ev)
{
	ps_unwinder *u = ((struct offline_unwind *)ctx)->u;
	if (!u)
		return;
	if (ev->type == PS_REC_MMAP)
		ps_unwind_mmap_id(u, ev->mmap.pid, ev->mmap.start, ev->mmap.len, ev->mmap.pgoff,
				  ev->mmap.filename, ev->mmap.build_id, ev->mmap.build_id_size);
	else if (ev->type == PS_REC_FORK && ev->task.pid != ev->task.ppid)
		ps_unwind_fork(u, ev->task.ppid, ev->task.pid);
	else if (ev->type == PS_REC_EXIT && ev->task.pid == ev->task.tid)
		ps_unwind_forget(u, ev->task.pid);
	else if (ev->type == PS_REC_COMM && ev->comm.exec)
		ps_unwind_exec(u, ev->comm.pid);
}

static int uw_unwind(void *ctx, uint32_t pid, const uint64_t *regs, const void *stack, size_t len,
		     uint64_t *ips, size_t max)
{
	ps_unwinder *u = ((struct offline_unwind *)ctx)->u;
	return u ? ps_unwind_sample(u, pid, regs, stack, len, ips, max) : 0;
}

/* One per process: the reader that uses it is closed before the process exits. */
static struct offline_unwind offline;

ps_trace_reader *open_source(struct source *s)
{
	const char *path = source_trace_path(s);
	ps_trace_reader *r = open_trace(path);
	if (s->event_filter && *s->event_filter && ps_trace_select_event(r, s->event_filter)) {
		const char *evs = ps_trace_meta(r, "events");
		if (!evs)
			evs = ps_trace_meta(r, "event");
		die("no event '%s' in '%s' (events: %s)", s->event_filter, path, evs ? evs : "none");
	}
	if (ps_trace_has_stack_copies(r)) {
		uw_reset(&offline);
		ps_trace_unwind hook = {&offline, ps_unwind_regs_mask(), uw_reset, uw_event, uw_unwind};
		ps_trace_set_unwind(r, &hook);
	}
	return r;
}

/* Dies when a read of the trace failed. */
static void read_check(ps_trace_reader *r, const char *path, int err)
{
	if (err == PS_ECORRUPT) /* only a record the chunk check let through */
		die("cannot read '%s': corrupt data after %llu whole chunks", path,
		    (unsigned long long)ps_trace_get_status(r).chunks);
	if (err < 0)
		die("cannot read '%s': %s", path, ps_strerror(err));
}

void trace_read_done(ps_trace_reader *r, const char *path, int err)
{
	read_check(r, path, err);
	ps_trace_status st = ps_trace_get_status(r);
	if (st.corrupt_chunks == 1)
		warn("skipped 1 corrupt chunk (%llu bytes) at offset %llu of '%s'",
		     (unsigned long long)st.corrupt_bytes, (unsigned long long)st.corrupt_offset, path);
	else if (st.corrupt_chunks)
		warn("skipped %llu corrupt chunks (%llu bytes), the first at offset %llu of '%s'",
		     (unsigned long long)st.corrupt_chunks, (unsigned long long)st.corrupt_bytes,
		     (unsigned long long)st.corrupt_offset, path);
	if (st.dropped_bytes)
		warn("'%s' is truncated: read %llu whole chunks, dropped the last %llu bytes", path,
		     (unsigned long long)st.chunks, (unsigned long long)st.dropped_bytes);
}

static const char *meta_copy(ps_trace_reader *r, const char *key)
{
	const char *v = ps_trace_meta(r, key);
	return v ? arg_strdup(v) : NULL;
}

static void summary_header(ps_trace_reader *r, struct trace_summary *s)
{
	s->event = meta_copy(r, "event");
	s->cmdline = meta_copy(r, "cmdline");
	s->freq = meta_copy(r, "freq");
	s->period = meta_copy(r, "period");
	s->start_time = meta_copy(r, "start_time");
}

void summarize(ps_trace_reader *r, const char *path, struct trace_summary *s)
{
	memset(s, 0, sizeof(*s));
	summary_header(r, s);
	int err = ps_trace_summarize(r, &s->t);
	trace_read_done(r, path, err);
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc_count *x = a, *y = b;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

size_t count_processes(ps_trace_reader *r, const char *path, struct proc_count **out)
{
	struct proc_count *procs = NULL;
	size_t nprocs = 0, cap = 0;
	ps_index by_pid = {0}; /* ps_hash_u64 is a bijection: the hash alone is the key */
	ps_event ev;
	ps_trace_rewind(r);
	int got;
	while ((got = ps_trace_next(r, &ev)) > 0) {
		uint32_t pid;
		if (ev.type == PS_REC_SAMPLE)
			pid = ev.sample.pid;
		else if (ev.type == PS_REC_COMM)
			pid = ev.comm.pid;
		else
			continue;
		size_t i = ps_index_find(&by_pid, ps_hash_u64(pid), NULL, NULL);
		if (i == UINT32_MAX) {
			if (PS_GROW(procs, cap, nprocs + 1) ||
			    ps_index_insert(&by_pid, ps_hash_u64(pid), (uint32_t)nprocs))
				die("out of memory");
			i = nprocs++;
			procs[i] = (struct proc_count){pid, 0, ""};
		}
		if (ev.type == PS_REC_SAMPLE)
			procs[i].samples++;
		else if (ev.comm.tid == ev.comm.pid || !procs[i].comm[0])
			snprintf(procs[i].comm, sizeof(procs[i].comm), "%s", ev.comm.comm);
	}
	ps_index_release(&by_pid);
	read_check(r, path, got);
	if (nprocs)
		qsort(procs, nprocs, sizeof(*procs), cmp_proc);
	*out = procs;
	return nprocs;
}

/* ---- text input ---- */

static FILE *open_text(const char *path)
{
	if (!strcmp(path, "-"))
		return stdin;
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
		die("cannot read '%s': is a directory", path);
	/* A binary profile given as text would fold to nothing, silently. */
	char head[8];
	if (pread(fileno(f), head, sizeof(head), 0) == (ssize_t)sizeof(head)) {
		if (ps_perfdata_is(head, sizeof(head)))
			die("cannot read '%s' as text: it is a perf.data file (read it with -i)",
			    path);
		if (!memcmp(head, "PERFSMPL", 8))
			die("cannot read '%s' as text: it is a perfsample trace (read it with -i)",
			    path);
	}
	return f;
}

static void close_text(FILE *f)
{
	if (f != stdin)
		fclose(f);
}

struct folded_warn {
	const char *path;
	size_t n;
	size_t lineno; /* of the line that ended the read, for the one error line */
	const char *reason;
};

static void on_folded_warn(void *ctx, size_t lineno, const char *reason, int fatal)
{
	struct folded_warn *w = ctx;
	if (fatal) {
		w->lineno = lineno;
		w->reason = reason;
		return;
	}
	if (w->n++ < 10)
		warn("%s:%zu: %s; line skipped", w->path, lineno, reason);
	else if (w->n == 11)
		warn("%s: more malformed lines skipped", w->path);
}

static void on_collapse_warn(void *ctx, size_t lineno, const char *msg)
{
	/* stackcollapse-perf.pl's remarks (unrecognised lines, the event it keeps) are noise
	 * for users of a pipe; errors are reported by the return code. */
	(void)ctx;
	(void)lineno;
	(void)msg;
}

static void read_folded(struct source *s, ps_profile *p)
{
	FILE *f = open_text(s->folded);
	struct folded_warn w = {strcmp(s->folded, "-") ? s->folded : "<stdin>", 0, 0, NULL};
	int err = ps_profile_read_folded(p, f, s->strict ? PS_FOLDED_STRICT : 0, on_folded_warn,
					 &w);
	if ((err == PS_EFORMAT || err == PS_ELIMIT) && w.reason)
		die("%s:%zu: %s%s", w.path, w.lineno,
		    err == PS_ELIMIT ? "" : "malformed folded line: ", w.reason);
	/* Lines, none of them stacks: flamegraph.pl's "No stack counts found"; exit 2 as it
	 * (the input is what the user gave wrong). */
	if (err == PS_EFORMAT)
		die_usage("'%s' has no valid folded stacks (%zu malformed lines)", w.path, w.n);
	if (err)
		die("cannot read '%s': %s", w.path, ps_strerror(err));
	close_text(f);
}

/* pmcstat and dtrace text: stacks of their own, read into the model as their FlameGraph
 * collapse script reads them, and labelled as the script prints them. */
static void read_stacks(struct source *s, ps_profile *p)
{
	const char *path = strcmp(s->stacks, "-") ? s->stacks : "<stdin>";
	int pmc = !strcmp(s->stacks_format, "pmcstat");
	FILE *f = open_text(s->stacks);
	size_t line = 0;
	int err = pmc ? ps_pmcstat_read(f, p, &line) : ps_dtrace_read(f, p, &line);
	if (err == PS_EFORMAT)
		die(pmc ? "cannot read '%s': no pmcstat call graph in it (pmcstat -R LOG -G OUT "
			  "writes one)"
			: "cannot read '%s': no DTrace stack with a count in it",
		    path);
	if (err == PS_ELIMIT)
		die("%s:%zu: line longer than 1 MiB, or counts that add up past 2^63-1", path,
		    line);
	if (err)
		die("cannot read '%s': %s", path, ps_strerror(err));
	close_text(f);
	/* No demangling: the scripts print names as the tools do. */
	ps_label_opts lo = {0};
	lo.flags = (s->sym.annotate_kernel ? PS_LABEL_KERNEL : 0) | (pmc ? 0 : PS_LABEL_INLINE);
	ps_profile_set_labels(p, &lo);
}

/* pprof's profile.proto: frames per function, or per location for exports (as a trace's),
 * named and labelled as a trace's are. */
static void read_pprof(struct source *s, ps_profile *p)
{
	const char *path = strcmp(s->stacks, "-") ? s->stacks : "<stdin>";
	FILE *f = open_text(s->stacks);
	ps_pprof_opts o = {.addresses = s->sym.addresses,
			   .lines = s->sym.lines,
			   .sample_type = s->sample_type};
	ps_pprof_info *info = &s->pprof;
	int err = ps_pprof_read(f, &o, p, info);
	if (info->no_such_type)
		die_usage("'%s' has no sample type '%s' (it has %s)", path, s->sample_type,
			  info->types);
	if ((err == PS_EFORMAT || err == PS_ELIMIT) && info->why)
		die("cannot read '%s' as a pprof profile: %s", path, info->why);
	if (err == PS_ETRUNC)
		die("cannot read '%s': the gzip stream is cut short", path);
	if (err == PS_ECORRUPT)
		die("cannot read '%s': corrupt gzip data", path);
	if (err)
		die("cannot read '%s': %s", path, ps_strerror(err));
	close_text(f);
	if (info->dropped)
		warn("'%s' has %zu sample types; perfsample reads the first %d and drops %s", path,
		     info->ntypes, PS_PROFILE_MAX_COLS, info->dropped_names);
	ps_sym_set_labels(&s->sym, p);
}

/* ---- traces into profiles ---- */

/* s made safe for a terminal (PS_ESC_TERM); the caller frees it. */
static char *escaped(const char *s)
{
	ps_buf b = {0};
	if (ps_escape(&b, PS_ESC_TERM, s, strlen(s)) || ps_buf_add(&b, "", 1))
		die("out of memory");
	return b.data;
}

void jit_refused_note(const ps_sym_report *rep)
{
	if (rep->kernel_foreign)
		warn("kernel frames without embedded names stay unnamed: the trace was recorded "
		     "on another kernel than this one");
	if (rep->jit_refused)
		warn("skipped %llu JIT map file(s) (/tmp/perf-PID.map) owned by another user or "
		     "writable by others: their frames stay unnamed",
		     (unsigned long long)rep->jit_refused);
	if (rep->dropped_records)
		warn("left out %llu process, mapping or name record(s) past perfsample's bounds: "
		     "some frames may stay unnamed",
		     (unsigned long long)rep->dropped_records);
	if (rep->cut_lookups)
		warn("%llu address lookup(s) stopped among more than 1024 overlapping mappings: "
		     "some frames may be misnamed",
		     (unsigned long long)rep->cut_lookups);
	/* Paths come from the trace: escaped, like every name that reaches the terminal. */
	if (rep->changed) {
		char *p = escaped(rep->changed_path);
		if (rep->changed == 1)
			warn("'%s' changed since it was recorded: its frames are left unnamed", p);
		else
			warn("'%s' and %llu more files changed since they were recorded: their "
			     "frames are left unnamed", p, (unsigned long long)rep->changed - 1);
		free(p);
	}
	if (rep->unverified) {
		char *p = escaped(rep->unverified_path);
		if (rep->unverified == 1)
			warn("names from '%s' could not be verified: the trace has no build-id "
			     "or file identity for it", p);
		else
			warn("names from '%s' and %llu more files could not be verified: the "
			     "trace has no build-id or file identity for them", p,
			     (unsigned long long)rep->unverified - 1);
		free(p);
	}
}

ps_profile *load_profile(struct source *s, unsigned pflags, struct trace_summary *sum)
{
	prepare(s);
	ps_profile *p = ps_profile_new(pflags);
	if (!p)
		die("out of memory");
	if (sum)
		memset(sum, 0, sizeof(*sum));
	if (s->folded) {
		read_folded(s, p);
		return p;
	}
	if (s->stacks && !strcmp(s->stacks_format, "pprof")) {
		read_pprof(s, p);
		return p;
	}
	if (s->stacks) {
		read_stacks(s, p);
		return p;
	}
	if (s->perfscript) {
		/* The collapse folds with the process name first: a process root, no function. */
		ps_profile_free(p);
		p = ps_profile_new(pflags | PS_PROFILE_FOLDED_PROCESS);
		if (!p)
			die("out of memory");
		FILE *f = open_text(s->perfscript);
		ps_collapse_opts co = {collapse_flags(s), s->event_filter, on_collapse_warn, NULL};
		int err = ps_perfscript_collapse_opts(f, &co, p);
		if (err)
			die("cannot read '%s': %s", s->perfscript, ps_strerror(err));
		close_text(f);
		return p;
	}
	const char *path = source_trace_path(s);
	ps_trace_reader *r = open_source(s);
	const char *offcpu = ps_trace_meta(r, "off_cpu");
	if ((s->sym.offcpu == PS_OFFCPU_ONLY || s->sym.offcpu == PS_OFFCPU_WALL) &&
	    !(offcpu && !strcmp(offcpu, "1")))
		die("'%s' has no blocked intervals: record with --off-cpu", path);
	/* One pass: the model and the trace's summary. */
	ps_sym_report rep;
	/* A trace of heap samples only (record --heap without CPU sampling) shows what is
	 * live, as pprof shows a heap profile. */
	const char *ev = ps_trace_meta(r, "event");
	if (!s->sym.heap && ps_trace_meta(r, "heap_rate") && ev && !strcmp(ev, "dummy"))
		s->sym.heap = PS_HEAP_INUSE;
	int err = ps_sym_profile(r, &s->sym, s->weight_period, p, &rep);
	jit_refused_note(&rep);
	if (!err && (s->sym.offcpu == PS_OFFCPU_ONLY || s->sym.offcpu == PS_OFFCPU_WALL) &&
	    rep.trace.offcpu_stats.no_stack)
		warn("%llu of %llu blocked intervals have no stack of their own (recorded without "
		     "kernel access: the kernel drops user-only switch samples); they show the "
		     "thread's last sampled user stack, an approximation",
		     (unsigned long long)rep.trace.offcpu_stats.no_stack,
		     (unsigned long long)rep.trace.offcpu);
	if (sum) {
		summary_header(r, sum);
		sum->t = rep.trace;
	}
	trace_read_done(r, path, err);
	ps_trace_close(r);
	return p;
}

struct module_ps {
	ps_profile *p;
	unsigned flags;
};

static int module_ps_sample(void *ctx, const ps_ps_sample *s)
{
	struct module_ps *c = ctx;
	return ps_cg_add_perfscript_sample(c->p, s, c->flags);
}

ps_profile *load_profile_modules(struct source *s)
{
	prepare(s);
	/* A trace's frames carry their mappings already: the model is what the graph needs. */
	if (!s->perfscript)
		return load_profile(s, 0, NULL);
	ps_profile *p = ps_profile_new(0);
	if (!p)
		die("out of memory");
	{
		FILE *f = open_text(s->perfscript);
		struct module_ps mp = {p, s->tid_root ? PS_CG_TID : s->pid_root ? PS_CG_PID : 0};
		int err = ps_perfscript_read(f, module_ps_sample, &mp);
		if (err)
			die("cannot read '%s': %s", s->perfscript, ps_strerror(err));
		close_text(f);
	}
	return p;
}

const char *source_trace_meta(struct source *s, const char *key)
{
	ps_trace_reader *r = open_source(s);
	const char *v = meta_copy(r, key);
	ps_trace_close(r);
	return v;
}
