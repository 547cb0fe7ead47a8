/* The layout follows perf script's: a header line per sample (comm, pid/tid, [cpu], time,
 * period, event), then one line per frame, leaf first: the address, sym+0xOFF and (dso).
 * Inlined functions, with --inline, print as perf's do: the address of the code they were
 * inlined into, "name (inlined)" and no dso. */
#include "render/ps_script.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

static const struct {
	const char *name;
	unsigned bit;
} field_names[] = {
	{"comm", PS_SCRIPT_COMM}, {"pid", PS_SCRIPT_PID},	{"tid", PS_SCRIPT_TID},
	{"cpu", PS_SCRIPT_CPU},	  {"time", PS_SCRIPT_TIME},	{"period", PS_SCRIPT_PERIOD},
	{"event", PS_SCRIPT_EVENT}, {"ip", PS_SCRIPT_IP},	{"sym", PS_SCRIPT_SYM},
	{"symoff", PS_SCRIPT_SYMOFF}, {"dso", PS_SCRIPT_DSO},
};

int ps_script_fields(const char *spec, unsigned *fields, const char **bad, size_t *badlen)
{
	/* A list starting with '+' or '-' changes the default, each item by its sign. */
	int change = *spec == '+' || *spec == '-';
	unsigned f = change ? PS_SCRIPT_DEFAULT : 0;
	while (*spec) {
		int sign = change && (*spec == '+' || *spec == '-') ? *spec++ : '+';
		size_t n = strcspn(spec, ",");
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof(field_names) / sizeof(*field_names); i++)
			if (strlen(field_names[i].name) == n && !strncmp(spec, field_names[i].name, n))
				bit = field_names[i].bit;
		if (!bit) {
			*bad = spec;
			*badlen = n;
			return PS_EFORMAT;
		}
		f = sign == '-' ? f & ~bit : f | bit;
		spec += n + (spec[n] == ',');
	}
	*fields = f;
	return 0;
}

/* One frame line. name holds the demangled name of frame id. */
static void frame_line(ps_profile *p, const ps_script_opts *o, ps_frame_id id, const char *name,
		       FILE *out)
{
	const ps_frame *f = ps_profile_frame_at(p, id);
	unsigned fl = o->fields;
	int inl = f->kind == PS_FRAME_INLINE;
	fputc('\t', out);
	if (fl & PS_SCRIPT_IP)
		fprintf(out, "%16llx", (unsigned long long)(f->addr + f->retaddr));
	if (fl & PS_SCRIPT_SYM) {
		fprintf(out, " %s", f->unresolved ? "[unknown]" : name);
		if ((fl & PS_SCRIPT_SYMOFF) && !f->unresolved && f->has_symoff)
			fprintf(out, "+0x%x", f->symoff);
	}
	if ((fl & PS_SCRIPT_DSO) && !inl) {
		const ps_mapping *m = ps_profile_mapping_at(p, f->mapping);
		const char *path = m && m->path && *m->path ? m->path : "[unknown]";
		fputs(" (", out);
		/* A path is hostile text: nothing in it may start a line of its own. */
		for (const char *c = path; *c; c++)
			fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, out);
		fputc(')', out);
	}
	if (inl && (fl & PS_SCRIPT_SYM))
		fputs(" (inlined)", out);
	fputc('\n', out);
}

/* The sample header as perf script prints it (its default fields, with pid and cpu). */
static void header(const ps_script_opts *o, const char *comm, const ps_profile_sample *s,
		   uint64_t period, FILE *out)
{
	unsigned fl = o->fields;
	if (fl & PS_SCRIPT_COMM)
		fprintf(out, "%s ", comm);
	if ((fl & PS_SCRIPT_PID) && (fl & PS_SCRIPT_TID))
		fprintf(out, "%u/%u ", s->pid, s->tid);
	else if (fl & PS_SCRIPT_PID)
		fprintf(out, "%u ", s->pid);
	else if (fl & PS_SCRIPT_TID)
		fprintf(out, "%u ", s->tid);
	if (fl & PS_SCRIPT_CPU)
		fprintf(out, "[%03u] ", s->cpu);
	if (fl & PS_SCRIPT_TIME)
		fprintf(out, "%llu.%06llu: ", (unsigned long long)(s->time / 1000000000ull),
			(unsigned long long)(s->time % 1000000000ull / 1000));
	if (fl & PS_SCRIPT_PERIOD)
		fprintf(out, "%llu ", (unsigned long long)period);
	if (fl & PS_SCRIPT_EVENT)
		fprintf(out, "%s:", o->event ? o->event : "cpu-clock");
	fputc('\n', out);
}

int ps_script_write(ps_profile *p, const ps_script_opts *o, FILE *out)
{
	int err = ps_profile_sort_samples(p);
	if (err)
		return err;
	ps_buf name = {0};
	/* Frame names are made once per frame: offsets into names, by frame id. */
	size_t nf = ps_profile_nframes(p);
	size_t *at = calloc(nf ? nf : 1, sizeof(*at));
	ps_buf names = {0};
	if (!at)
		return -ENOMEM;
	for (size_t i = 0; !err && i < nf; i++) {
		/* A name is hostile text too: control bytes print as \xHH, never raw. */
		name.len = 0;
		at[i] = names.len;
		err = ps_profile_name(p, (ps_frame_id)i, &name) ||
			      ps_escape(&names, PS_ESC_TERM, name.data ? name.data : "", name.len) ||
			      ps_buf_add(&names, "", 1)
			  ? -ENOMEM
			  : 0;
	}
	ps_node_id *path = NULL;
	size_t pathcap = 0;
	for (size_t i = 0; !err && i < ps_profile_nsamples(p); i++) {
		const ps_profile_sample *s = ps_profile_sample_at(p, i);
		size_t depth = 0;
		for (ps_node_id n = s->node; n != PS_NODE_ROOT; n = ps_profile_node_parent(p, n)) {
			if (PS_GROW(path, pathcap, depth + 1)) {
				err = -ENOMEM;
				break;
			}
			path[depth++] = n;
		}
		if (err)
			break;
		/* The process root names the thread (its name at the time of the sample). */
		const char *c = "[unknown]";
		size_t first = depth;
		if (depth) {
			ps_frame_id root = ps_profile_node_frame(p, path[depth - 1]);
			if (ps_profile_frame_at(p, root)->kind == PS_FRAME_PROCESS) {
				c = names.data + at[root];
				first = depth - 1;
			}
		}
		uint64_t period = o->period_col >= 0
				      ? ps_profile_sample_value(p, i, (size_t)o->period_col)
				      : 1;
		header(o, c, s, period, out);
		for (size_t k = 0; k < first; k++) {
			ps_frame_id id = ps_profile_node_frame(p, path[k]);
			if (!o->inline_frames &&
			    ps_profile_frame_at(p, id)->kind == PS_FRAME_INLINE)
				continue;
			frame_line(p, o, id, names.data + at[id], out);
		}
		fputc('\n', out);
		if (ferror(out))
			err = -EIO;
	}
	free(path);
	free(at);
	ps_buf_release(&names);
	ps_buf_release(&name);
	return err;
}
