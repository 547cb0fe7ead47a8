/* speedscope's file format (https://www.speedscope.app/file-format-schema.json): shared frames
 * and "sampled" profiles whose samples are stacks of frame indices, root first, with weights. */
#include "render/ps_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "render/ps_export_int.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

void ps_x_json_str(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	putc('"', out);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n':
				fputs("\\n", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			default:
				fprintf(out, "\\u%04x", c);
				break;
			}
			i++;
		} else {
			size_t n = utf8_len(s + i, len - i);
			if (n == 0) {
				/* One replacement per bad byte, as browsers decode it. */
				fputs("\\ufffd", out);
				i++;
			} else {
				fwrite(s + i, 1, n, out);
				i += n;
			}
		}
	}
	putc('"', out);
}

/* Profiles go heaviest first, so speedscope opens on the process that matters most. */
typedef struct group {
	uint32_t comm;
	uint64_t weight;
} group;

static int group_cmp(const void *a, const void *b)
{
	const group *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->comm < y->comm ? -1 : x->comm > y->comm;
}

static void write_profile(FILE *out, const ps_xprof *x, const char *name, size_t namelen,
			  const size_t *stacks, size_t n, uint64_t weight)
{
	const uint64_t mul = x->m.period_ns ? x->m.period_ns : 1;
	fputs("{\"type\":\"sampled\",\"name\":", out);
	ps_x_json_str(out, name, namelen);
	fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%llu,\"samples\":[",
		x->m.period_ns ? "nanoseconds" : "none", (unsigned long long)weight);
	for (size_t j = 0; j < n; j++) {
		size_t i = stacks[j];
		fputs(j ? ",\n[" : "\n[", out);
		for (size_t k = x->start[i]; k < x->start[i + 1]; k++)
			fprintf(out, k > x->start[i] ? ",%u" : "%u", x->ids[k]);
		putc(']', out);
	}
	fputs("],\"weights\":[", out);
	for (size_t j = 0; j < n; j++)
		fprintf(out, j ? ",%llu" : "%llu", (unsigned long long)(x->count[stacks[j]] * mul));
	fputs("]}", out);
}

int ps_export_speedscope(ps_profile *p, const ps_export_meta *m, FILE *out)
{
	ps_xprof x;
	size_t *order = NULL, *first = NULL, *fill = NULL;
	group *g = NULL;
	int err = ps_xprof_build(&x, p, m);
	if (err)
		goto out;
	const uint64_t mul = x.m.period_ns ? x.m.period_ns : 1;

	/* Bucket the stacks by comm (one group when there is none), keeping their sorted order
	 * inside each group. An empty profile still gets one (empty) profile: speedscope wants
	 * at least one. */
	uint32_t ngroups = x.m.first_frame_is_comm && x.comms.n ? x.comms.n : 1;
	g = calloc(ngroups, sizeof(*g));
	first = calloc((size_t)ngroups + 1, sizeof(*first));
	fill = calloc(ngroups, sizeof(*fill));
	order = malloc((x.nstacks ? x.nstacks : 1) * sizeof(*order));
	if (!g || !first || !fill || !order) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t c = 0; c < ngroups; c++)
		g[c].comm = c;
	for (size_t i = 0; i < x.nstacks; i++) {
		uint32_t c = x.comm[i] == UINT32_MAX ? 0 : x.comm[i];
		g[c].weight += x.count[i] * mul;
		first[c + 1]++;
	}
	for (uint32_t c = 0; c < ngroups; c++)
		first[c + 1] += first[c];
	/* Zero-count stacks are left out; fill[c] is how many group c really has. */
	for (size_t i = 0; i < x.nstacks; i++) {
		uint32_t c = x.comm[i] == UINT32_MAX ? 0 : x.comm[i];
		if (x.count[i])
			order[first[c] + fill[c]++] = i;
	}
	qsort(g, ngroups, sizeof(*g), group_cmp);

	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
	      "\"exporter\":\"perfsample\",\"name\":",
	      out);
	const char *title = x.m.name ? x.m.name : x.m.event;
	ps_x_json_str(out, title, strlen(title));
	fputs(",\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[", out);
	for (uint32_t f = 0; f < x.frames.n; f++) {
		fputs(f ? ",\n{\"name\":" : "\n{\"name\":", out);
		ps_x_json_str(out, x.frames.name[f], x.frames.len[f]);
		if (x.has_meta && x.has_meta[f]) {
			const ps_export_frame_meta *fm = &x.meta[f];
			if (fm->file) {
				fputs(",\"file\":", out);
				ps_x_json_str(out, fm->file, strlen(fm->file));
			}
			if (fm->line)
				fprintf(out, ",\"line\":%u", fm->line);
		}
		putc('}', out);
	}
	fputs("]},\n\"profiles\":[", out);
	for (uint32_t j = 0; j < ngroups; j++) {
		uint32_t c = g[j].comm;
		const char *name = title;
		size_t namelen = strlen(title);
		if (x.m.first_frame_is_comm && x.comms.n) {
			name = x.comms.name[c];
			namelen = x.comms.len[c];
		}
		if (j)
			fputs(",\n", out);
		write_profile(out, &x, name, namelen, order + first[c], fill[c], g[j].weight);
	}
	fputs("]}\n", out);
	err = ps_x_check_stream(out);
out:
	free(order);
	free(first);
	free(fill);
	free(g);
	ps_xprof_release(&x);
	return err;
}
