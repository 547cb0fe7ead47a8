/* speedscope's file format (https://www.speedscope.app/file-format-schema.json): shared frames
 * and "sampled" profiles whose samples are stacks of frame indices, root first, with weights.
 *
 * A frame is a function (name, file, line); the process root is not a frame but names a
 * profile. With kept samples (PS_PROFILE_SAMPLES) a profile is a thread, named "comm
 * pid/tid", and a timeline: samples in time order, weighted by the time each stands for, with
 * an empty sample where the thread was not seen, and startValue/endValue on the recording's
 * clock, so speedscope's Time Order view shows when each thread ran (threads of a process
 * run at once, so one timeline for all of them could not be true to the clock). Without
 * kept samples a profile is a process, its samples the process's stacks, neighbours in the
 * trie next to each other. */
#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "render/ps_export_int.h"

/* One speedscope sample: a node (PS_NODE_ROOT for an empty stack) and its weight. */
typedef struct entry {
	uint32_t group;
	ps_node_id node;
	uint64_t weight;
} entry;

/* A profile: a process (its root function), a thread, or everything. */
enum { G_ALL, G_PROCESS, G_THREAD };
typedef struct group {
	uint64_t key;	 /* kind << 32 | function id (of the process root, else UINT32_MAX) */
	uint64_t thread; /* G_THREAD: pid << 32 | tid */
	uint64_t weight; /* without the gaps */
	uint64_t start, end;
	uint64_t pos;	 /* timeline: where its next sample goes, on the recording's clock */
	size_t first, n; /* its entries */
	size_t tail;	 /* timeline: index + 1 of its newest entry, 0 before the first */
	uint32_t id;
	int seen;
} group;

typedef struct writer {
	ps_xmodel *x;
	ps_profile *p;
	FILE *out;
	ps_buf esc;
	int esc_err;
	const char *unit; /* speedscope's unit */
	uint64_t mul;	  /* weight = value * mul */
	int timed;	  /* weights are times: gaps can be measured */
	int by_thread;	  /* samples know their pid and tid */
	group *groups;
	size_t ngroups, groupcap;
	ps_index group_index;
	entry *entries;
	size_t nentries, entrycap;
	uint32_t *frame_of; /* function id -> speedscope frame index */
} writer;

static void json_str(writer *w, const char *s, size_t len)
{
	w->esc.len = 0;
	int err = ps_escape(&w->esc, PS_ESC_JSON, s, len);
	putc('"', w->out);
	if (!err)
		fwrite(w->esc.data, 1, w->esc.len, w->out);
	else if (!w->esc_err)
		w->esc_err = err; /* the stream check cannot see it */
	putc('"', w->out);
}

struct group_key {
	const writer *w;
	uint64_t key, thread;
};

static int group_eq(const void *ctx, uint32_t id)
{
	const struct group_key *k = ctx;
	return k->w->groups[id].key == k->key && k->w->groups[id].thread == k->thread;
}

static int group_of(writer *w, uint64_t key, uint64_t thread, uint32_t *out)
{
	struct group_key k = {w, key, thread};
	uint64_t h = ps_hash_u64(key ^ ps_hash_u64(thread));
	uint32_t id = ps_index_find(&w->group_index, h, group_eq, &k);
	if (id == UINT32_MAX) {
		if (PS_GROW(w->groups, w->groupcap, w->ngroups + 1))
			return -ENOMEM;
		int err = ps_index_insert(&w->group_index, h, (uint32_t)w->ngroups);
		if (err)
			return err;
		id = (uint32_t)w->ngroups++;
		w->groups[id] = (group){.key = key, .thread = thread, .id = id};
	}
	*out = id;
	return 0;
}

static int add_entry(writer *w, uint32_t g, ps_node_id node, uint64_t weight)
{
	if (PS_GROW(w->entries, w->entrycap, w->nentries + 1))
		return -ENOMEM;
	w->entries[w->nentries++] = (entry){g, node, weight};
	return 0;
}

/* The group of a node (and thread): its thread when samples know it, named by the process
 * root when there is one; else its process root; else the one group. */
static int group_for(writer *w, ps_node_id node, uint32_t pid, uint32_t tid, uint32_t *g)
{
	ps_node_id proc = ps_xmodel_process(w->x, node);
	uint32_t fn = proc != PS_NODE_ROOT ? w->x->node_fn[proc] : UINT32_MAX;
	if (w->by_thread)
		return group_of(w, (uint64_t)G_THREAD << 32 | fn, (uint64_t)pid << 32 | tid, g);
	if (proc != PS_NODE_ROOT)
		return group_of(w, (uint64_t)G_PROCESS << 32 | fn, 0, g);
	return group_of(w, (uint64_t)G_ALL << 32, 0, g);
}

/* Weights from column 0 in speedscope's units: counts become time when the period is
 * known (and the total stays within uint64). */
static void choose_unit(writer *w)
{
	const char *unit = "";
	uint64_t total = ps_profile_total(w->p, 0), prod;
	w->unit = "none";
	w->mul = 1;
	if (!ps_profile_type(w->p, 0, &unit))
		return;
	if (!strcmp(unit, "count") && w->x->m.period_ns &&
	    !__builtin_mul_overflow(total, w->x->m.period_ns, &prod)) {
		w->unit = "nanoseconds";
		w->mul = w->x->m.period_ns;
	} else if (!strcmp(unit, "nanoseconds") || !strcmp(unit, "microseconds") ||
		   !strcmp(unit, "milliseconds") || !strcmp(unit, "seconds") ||
		   !strcmp(unit, "bytes")) {
		w->unit = unit;
	}
	w->timed = !strcmp(w->unit, "nanoseconds");
}

/* Stacks of the trie, depth first, so stacks that share a prefix sit together. */
static int collect_stacks(writer *w)
{
	ps_profile *p = w->p;
	ps_node_id n = ps_profile_node_child(p, PS_NODE_ROOT);
	while (n != PS_NODE_ROOT) {
		uint64_t v = ps_profile_node_self(p, n, 0);
		if (v) {
			uint32_t g;
			int err = group_for(w, n, 0, 0, &g);
			if (!err)
				err = add_entry(w, g, n, v * w->mul);
			if (err)
				return err;
			w->groups[g].weight += v * w->mul;
		}
		ps_node_id next = ps_profile_node_child(p, n);
		if (next != PS_NODE_ROOT) {
			n = next;
			continue;
		}
		while (n != PS_NODE_ROOT && (next = ps_profile_node_next(p, n)) == PS_NODE_ROOT)
			n = ps_profile_node_parent(p, n);
		n = next;
	}
	for (size_t g = 0; g < w->ngroups; g++)
		w->groups[g].end = w->groups[g].weight;
	return 0;
}

struct timed {
	uint64_t time;
	size_t i;
};

static int cmp_timed(const void *a, const void *b)
{
	const struct timed *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Kept samples in time order. A sample at time t stands for the weight before it, so it
 * covers [t - weight, t]. Where a process's next sample starts later than the timeline has
 * got to, by at least that sample's weight (less is the timer's jitter), an empty sample
 * fills the gap, so the timeline stays within one sample of the recording's clock. Samples
 * that overlap (threads of one process on two CPUs) follow each other. */
static int collect_timeline(writer *w)
{
	ps_profile *p = w->p;
	size_t n = ps_profile_nsamples(p);
	struct timed *o = malloc(n * sizeof(*o));
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ps_profile_sample *s = ps_profile_sample_at(p, i);
		o[i] = (struct timed){s->time, i};
		w->by_thread |= s->pid != 0 || s->tid != 0;
	}
	qsort(o, n, sizeof(*o), cmp_timed);
	uint64_t t0 = UINT64_MAX;
	int err = 0;
	for (size_t k = 0; !err && k < n; k++) {
		const ps_profile_sample *s = ps_profile_sample_at(p, o[k].i);
		uint64_t v = ps_profile_sample_value(p, o[k].i, 0) * w->mul;
		uint64_t begin = w->timed && s->time > v ? s->time - v : 0;
		uint32_t g;
		if ((err = group_for(w, s->node, s->pid, s->tid, &g)))
			break;
		group *gr = &w->groups[g];
		if (!gr->seen) {
			gr->seen = 1;
			gr->start = gr->pos = begin;
		}
		if (w->timed && begin > gr->pos && begin - gr->pos >= v) {
			err = add_entry(w, g, PS_NODE_ROOT, begin - gr->pos);
			gr->end += begin - gr->pos;
			gr->pos = begin;
			gr->tail = w->nentries;
		}
		/* The same stack as the sample before it is one wider sample: speedscope draws
		 * them alike, and a file of one stack per sample grows past 100 MB at 1M. */
		if (!err && gr->tail && w->entries[gr->tail - 1].node == s->node)
			w->entries[gr->tail - 1].weight += v;
		else if (!err && !(err = add_entry(w, g, s->node, v)))
			gr->tail = w->nentries;
		gr->weight += v;
		gr->end += v;
		gr->pos += v;
		if (begin < t0)
			t0 = begin;
	}
	free(o);
	/* Profiles share one clock, on which the earliest sample starts at 0. */
	for (size_t g = 0; g < w->ngroups; g++) {
		group *gr = &w->groups[g];
		uint64_t off = w->timed ? gr->start - t0 : 0;
		gr->start = off;
		gr->end += off;
	}
	return err;
}

/* Profiles go heaviest first, so speedscope opens on the process that matters most. */
static int group_cmp(const void *a, const void *b)
{
	const group *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Entries grouped by profile, keeping their order within each (a counting sort). */
static int group_entries(writer *w)
{
	entry *sorted = malloc((w->nentries ? w->nentries : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < w->nentries; i++)
		w->groups[w->entries[i].group].n++;
	for (size_t g = 0, at = 0; g < w->ngroups; g++) {
		w->groups[g].first = at;
		at += w->groups[g].n;
		w->groups[g].n = 0;
	}
	for (size_t i = 0; i < w->nentries; i++) {
		group *g = &w->groups[w->entries[i].group];
		sorted[g->first + g->n++] = w->entries[i];
	}
	free(w->entries);
	w->entries = sorted;
	w->entrycap = w->nentries ? w->nentries : 1;
	return 0;
}

static void write_samples(writer *w, const entry *e, size_t n, size_t depth_max, ps_frame_id *path)
{
	ps_xmodel *x = w->x;
	for (size_t j = 0; j < n; j++) {
		fputs(j ? ",\n[" : "\n[", w->out);
		size_t depth = ps_profile_node_path(w->p, e[j].node, path, depth_max);
		int first = 1;
		/* The process root is the profile, not a frame. */
		size_t k = ps_xmodel_process(x, e[j].node) != PS_NODE_ROOT;
		for (; k < depth; k++) {
			fprintf(w->out, first ? "%u" : ",%u", w->frame_of[x->frame_fn[path[k]]]);
			first = 0;
		}
		putc(']', w->out);
	}
}

static int write_file(writer *w)
{
	ps_xmodel *x = w->x;
	FILE *out = w->out;
	uint32_t nframes = 0;
	size_t depth_max = 0;
	for (ps_node_id n = 1; n < x->nnodes; n++) {
		size_t d = ps_profile_node_depth(w->p, n);
		depth_max = d > depth_max ? d : depth_max;
	}
	ps_frame_id *path = malloc((depth_max ? depth_max : 1) * sizeof(*path));
	w->frame_of = malloc((x->nfn ? x->nfn : 1) * sizeof(*w->frame_of));
	if (!path || !w->frame_of) {
		free(path);
		return -ENOMEM;
	}

	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
	      "\"exporter\":\"perfsample\",\"name\":",
	      out);
	const char *title = x->m.name ? x->m.name : x->m.event;
	json_str(w, title, strlen(title));
	fputs(",\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[", out);
	for (size_t i = 0; i < x->nfn; i++) {
		const ps_xfn *f = &x->fn[i];
		if (f->process)
			continue;
		w->frame_of[i] = nframes;
		fputs(nframes++ ? ",\n{\"name\":" : "\n{\"name\":", out);
		json_str(w, f->name, f->namelen);
		if (f->file) {
			fputs(",\"file\":", out);
			json_str(w, f->file, strlen(f->file));
		}
		if (f->line)
			fprintf(out, ",\"line\":%u", f->line);
		putc('}', out);
	}
	fputs("]},\n\"profiles\":[", out);
	ps_buf name = {0};
	for (size_t j = 0; j < w->ngroups; j++) {
		const group *g = &w->groups[j];
		const entry *e = w->entries + g->first;
		if (j)
			fputs(",\n", out);
		fputs("{\"type\":\"sampled\",\"name\":", out);
		uint32_t v = (uint32_t)g->key;
		if (g->key >> 32 == G_THREAD) {
			/* "comm pid/tid", as perf script prints a sample's thread */
			name.len = 0;
			int err = 0;
			if (v != UINT32_MAX &&
			    !(err = ps_buf_add(&name, x->fn[v].name, x->fn[v].namelen)))
				err = ps_buf_addstr(&name, " ");
			if (!err)
				err = ps_buf_printf(&name, "%u/%u", (unsigned)(g->thread >> 32),
						    (unsigned)g->thread);
			if (err) {
				free(path);
				ps_buf_release(&name);
				return err;
			}
			json_str(w, name.data, name.len);
		} else if (g->key >> 32 == G_PROCESS) {
			json_str(w, x->fn[v].name, x->fn[v].namelen);
		} else {
			json_str(w, title, strlen(title));
		}
		fprintf(out, ",\"unit\":\"%s\",\"startValue\":%llu,\"endValue\":%llu,\"samples\":[",
			w->unit, (unsigned long long)g->start, (unsigned long long)g->end);
		write_samples(w, e, g->n, depth_max, path);
		fputs("],\"weights\":[", out);
		for (size_t k = 0; k < g->n; k++)
			fprintf(out, k ? ",%llu" : "%llu", (unsigned long long)e[k].weight);
		fputs("]}", out);
	}
	fputs("]}\n", out);
	free(path);
	ps_buf_release(&name);
	return 0;
}

int ps_export_speedscope(ps_profile *p, const ps_export_meta *m, FILE *out)
{
	ps_xmodel x;
	writer w;
	memset(&w, 0, sizeof(w));
	int err = ps_xmodel_build(&x, p, m);
	if (err)
		goto out;
	w.x = &x;
	w.p = p;
	w.out = out;
	choose_unit(&w);
	if ((ps_profile_flags(p) & PS_PROFILE_SAMPLES) && ps_profile_nsamples(p))
		err = collect_timeline(&w);
	else
		err = collect_stacks(&w);
	if (err)
		goto out;
	/* speedscope wants at least one profile, even an empty one. */
	uint32_t g;
	if (!w.ngroups && (err = group_of(&w, (uint64_t)G_ALL << 32, 0, &g)))
		goto out;
	if ((err = group_entries(&w)))
		goto out;
	qsort(w.groups, w.ngroups, sizeof(*w.groups), group_cmp);
	err = write_file(&w);
	if (!err && w.esc_err)
		err = w.esc_err;
	if (!err)
		err = ps_x_check_stream(out);
out:
	free(w.groups);
	ps_index_release(&w.group_index);
	free(w.entries);
	free(w.frame_of);
	ps_buf_release(&w.esc);
	ps_xmodel_release(&x);
	return err;
}
