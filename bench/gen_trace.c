/* gen_trace: writes a synthetic perfsample.data of N samples for the time-to-picture bench.
 *
 * The trace is the real format written by the real writer (formats/ps_trace.h), and it is
 * built the way `perfsample record` builds one: MMAP records of real executable mappings
 * (this program's own, from /proc/self/maps: its binary, libc, libzstd, libelf, libdw,
 * libstdc++ ...), COMM records, SAMPLE records whose chains mix kernel addresses taken from
 * /proc/kallsyms with user addresses inside those real mappings, then symbol embedding by
 * ps_sym_embed (a SYMBOL record per distinct (pid, address) key, resolved from the real
 * files), then STATS. Only the sample stream is invented: a few thousand distinct stacks
 * of depth 10-40 that share prefixes as real call trees do, drawn with Zipf weights.
 *
 * usage: gen_trace OUT NSAMPLES [NSTACKS [SEED]]   (defaults: 3000 stacks, seed 1)
 * GEN_OFFCPU=1: blocked intervals (OFFCPU records, as record --off-cpu writes) instead of
 * samples, 1 us to 10 ms long, a fifth of them preempted. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "formats/ps_trace.h"
#include "symbolize/ps_sym.h"

#define NPROCS 4
#define PID0 3100000u /* above pid_max's default: no live process, no /tmp/perf-PID.map */
#define MAX_DEPTH 40
#define MAX_KDEPTH 10

struct map {
	uint64_t start, len, pgoff, ino;
	uint32_t maj, min;
	char path[512];
};

static struct map maps[64];
static size_t nmaps;
static uint64_t *ufuncs, *kfuncs;
static size_t nufuncs, nkfuncs;

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

static void die(const char *what, int err)
{
	fprintf(stderr, "gen_trace: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Executable file mappings of this very process: real files a symbolizer can open. */
static void read_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		die("/proc/self/maps", errno);
	char line[1024];
	while (fgets(line, sizeof(line), f) && nmaps < 64) {
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min,
			   &ino, &pos) < 7 || perms[2] != 'x' || !pos || line[pos] != '/')
			continue;
		struct map *m = &maps[nmaps++];
		*m = (struct map){s, e - s, off, ino, maj, min, ""};
		snprintf(m->path, sizeof(m->path), "%.*s", (int)strcspn(line + pos, "\n"),
			 line + pos);
	}
	fclose(f);
	if (!nmaps)
		die("no executable mappings", ENOENT);
}

/* "Functions": addresses spread over the mappings in proportion to their size, so the big
 * libraries get most of them, as in a real program's profile. */
static void pick_user_funcs(size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < nmaps; i++)
		total += maps[i].len;
	ufuncs = calloc(n, sizeof(*ufuncs));
	for (size_t i = 0; i < n; i++) {
		uint64_t at = rnd_below(total);
		size_t j = 0;
		while (at >= maps[j].len)
			at -= maps[j++].len;
		ufuncs[i] = (maps[j].start + at) & ~(uint64_t)15;
	}
	nufuncs = n;
}

/* Kernel text symbols from kallsyms; none (zeros under kptr_restrict) means user-only. */
static void pick_kernel_funcs(size_t n)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	if (!f)
		return;
	size_t cap = 1 << 16, all = 0;
	uint64_t *cand = malloc(cap * sizeof(*cand));
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char t;
		if (sscanf(line, "%llx %c", &a, &t) != 2 || !a || (t != 't' && t != 'T') ||
		    strchr(line, '['))
			continue;
		if (all == cap)
			cand = realloc(cand, (cap *= 2) * sizeof(*cand));
		cand[all++] = a;
	}
	fclose(f);
	if (!all) {
		free(cand);
		return;
	}
	kfuncs = calloc(n, sizeof(*kfuncs));
	for (size_t i = 0; i < n; i++)
		kfuncs[i] = cand[rnd_below(all)] + 4 + 4 * rnd_below(16);
	nkfuncs = n;
	free(cand);
}

struct stack {
	uint32_t nu, nk;
	uint64_t u[MAX_DEPTH]; /* root first */
	uint64_t k[MAX_KDEPTH];
};

/* Frames of a call tree: a new stack copies a prefix of an earlier one and grows new
 * callees, so stacks share roots and mid-level paths. Callee choice is skewed toward a
 * few hot functions. */
static struct stack *make_stacks(size_t n)
{
	struct stack *st = calloc(n, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		struct stack *s = &st[i];
		uint32_t depth = 10 + (uint32_t)rnd_below(MAX_DEPTH - 10 + 1);
		uint32_t keep = 0;
		if (i) {
			const struct stack *p = &st[rnd_below(i)];
			keep = 3 + (uint32_t)rnd_below(p->nu - 3);
			if (keep > depth)
				keep = depth;
			memcpy(s->u, p->u, keep * sizeof(*s->u));
		}
		for (uint32_t d = keep; d < depth; d++) {
			double x = (double)(rnd() >> 11) / 9007199254740992.0;
			s->u[d] = ufuncs[(size_t)(pow(x, 3) * (double)nufuncs)] + 5;
		}
		s->nu = depth;
		if (nkfuncs && rnd_below(10) < 3) {
			s->nk = 3 + (uint32_t)rnd_below(MAX_KDEPTH - 3 + 1);
			for (uint32_t d = 0; d < s->nk; d++)
				s->k[d] = kfuncs[rnd_below(nkfuncs)];
		}
	}
	return st;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: gen_trace OUT NSAMPLES [NSTACKS [SEED]]\n");
		return 2;
	}
	const char *out = argv[1];
	uint64_t nsamples = strtoull(argv[2], NULL, 10);
	size_t nstacks = argc > 3 ? strtoul(argv[3], NULL, 10) : 3000;
	if (argc > 4)
		rng ^= strtoull(argv[4], NULL, 10) * 0x9e3779b97f4a7c15ull;
	if (!nstacks)
		nstacks = 1;

	read_maps();
	pick_user_funcs(2000);
	pick_kernel_funcs(400);
	struct stack *st = make_stacks(nstacks);
	/* Zipf(1) weights over stacks: cumulative table for sampling. */
	double *cum = calloc(nstacks, sizeof(*cum)), sum = 0;
	for (size_t i = 0; i < nstacks; i++)
		cum[i] = (sum += 1.0 / (double)(i + 1));

	struct utsname un;
	uname(&un);
	char host[256] = "", ncpu[16], cmd[1024];
	gethostname(host, sizeof(host) - 1);
	snprintf(ncpu, sizeof(ncpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(cmd, sizeof(cmd), "gen_trace %s %s %zu", out, argv[2], nstacks);
	ps_kv meta[] = {{"version", "bench"},      {"cmdline", cmd},	{"event", "cpu-clock"},
			{"freq", "99"},		   {"period", "0"},	{"clock", "monotonic"},
			{"start_time", "synthetic"}, {"hostname", host}, {"release", un.release},
			{"ncpus", ncpu},	   {"callgraph", "fp"}, {"target", "synthetic"},
			{"off_cpu", getenv("GEN_OFFCPU") ? "1" : "0"}};
	int offcpu = getenv("GEN_OFFCPU") != NULL;
	ps_trace_writer *w;
	int err = ps_trace_create(&w, out, meta, sizeof(meta) / sizeof(meta[0]), 0);
	if (err)
		die(out, err);

	uint64_t t0 = 1000000000ull;
	for (uint32_t p = 0; p < NPROCS; p++) {
		uint32_t pid = PID0 + p;
		char comm[16];
		snprintf(comm, sizeof(comm), "worker-%u", p);
		ps_event ev = {.type = PS_REC_COMM};
		ev.comm = (ps_comm){t0, pid, pid, 1, comm};
		if ((err = ps_trace_write(w, &ev)))
			die("write", err);
		for (size_t i = 0; i < nmaps; i++) {
			ps_event mv = {.type = PS_REC_MMAP};
			mv.mmap = (ps_mmap){.time = t0, .pid = pid, .tid = pid, .start = maps[i].start,
					    .len = maps[i].len, .pgoff = maps[i].pgoff,
					    .ino = maps[i].ino, .maj = maps[i].maj, .min = maps[i].min,
					    .prot = 5 /* r-x */, .flags = 2 /* private */,
					    .filename = maps[i].path};
			if ((err = ps_trace_write(w, &mv)))
				die("write", err);
		}
	}

	uint64_t ips[2 + MAX_DEPTH + MAX_KDEPTH];
	uint64_t t = t0, step = 10101010 / 2; /* 99 Hz on each of 2 CPUs */
	for (uint64_t i = 0; i < nsamples; i++) {
		double x = (double)(rnd() >> 11) / 9007199254740992.0 * sum;
		size_t lo = 0, hi = nstacks - 1;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cum[mid] < x)
				lo = mid + 1;
			else
				hi = mid;
		}
		const struct stack *s = &st[lo];
		uint32_t nr = 0;
		if (s->nk) {
			ips[nr++] = PS_CONTEXT_KERNEL;
			for (uint32_t d = s->nk; d-- > 0;)
				ips[nr++] = s->k[d];
		}
		ips[nr++] = PS_CONTEXT_USER;
		/* The interrupted IP moves within the leaf; callers are fixed return addresses. */
		ips[nr++] = s->u[s->nu - 1] + 4 * rnd_below(8);
		for (uint32_t d = s->nu - 1; d-- > 0;)
			ips[nr++] = s->u[d];
		uint32_t pid = PID0 + (uint32_t)(lo % NPROCS);
		ps_event ev = {.type = PS_REC_SAMPLE};
		ev.sample = (ps_sample){.time = t, .period = 10101010, .pid = pid, .tid = pid,
					.cpu = (uint32_t)(i & 1), .nr = nr, .ips = ips};
		if (offcpu) {
			ev.type = PS_REC_OFFCPU;
			ev.offcpu.sample = ev.sample;
			ev.offcpu.sample.period = 1000 + rnd_below(10000000);
			ev.offcpu.flags = rnd_below(5) ? 0 : PS_OFFCPU_PREEMPTED;
		}
		if ((err = ps_trace_write(w, &ev)))
			die("write", err);
		t += step;
	}

	/* As `perfsample record` finishes a trace: embed symbols, then the totals. */
	if ((err = ps_trace_flush(w)))
		die("flush", err);
	ps_trace_reader *r;
	if ((err = ps_trace_open(&r, ps_trace_partial_path(w))))
		die("reopen", err);
	ps_sym_opts so;
	ps_sym_opts_init(&so);
	so.lines = 1;
	ps_sym_report rep;
	if ((err = ps_sym_embed(r, &so, w, &rep)))
		die("embed symbols", err);
	ps_trace_close(r);
	ps_event sv = {.type = PS_REC_STATS};
	sv.stats = (ps_stats){.samples = nsamples, .start_ns = t0, .end_ns = t};
	if ((err = ps_trace_write(w, &sv)))
		die("write", err);
	uint64_t bytes = ps_trace_bytes(w);
	if ((err = ps_trace_commit(w)))
		die("commit", err);
	fprintf(stderr, "gen_trace: %llu samples, %zu stacks, %llu symbols, %llu bytes -> %s\n",
		(unsigned long long)nsamples, nstacks, (unsigned long long)rep.embedded,
		(unsigned long long)bytes, out);
	free(cum);
	free(st);
	free(ufuncs);
	free(kfuncs);
	return 0;
}
