/* ps_heatmap: the sub-second offset heat map (see ps_heatmap.h). */
#include "render/ps_heatmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_error.h"
#include "formats/ps_util.h"

#define ROWS PS_HEATMAP_ROWS
#define ROW_NS ((uint64_t)PS_HEATMAP_ROW_MS * 1000000ull)

/* The cell of a sample, or -1 when it is past the map's bound. */
static long cell_of(uint64_t t, uint64_t start)
{
	uint64_t rel = t > start ? t - start : 0;
	uint64_t sec = rel / 1000000000ull;
	if (sec >= PS_HEATMAP_MAX_SECONDS)
		return -1;
	return (long)(sec * ROWS + (rel % 1000000000ull) / ROW_NS);
}

/* Counts per cell (ncols * ROWS, malloc'd). */
static int count_cells(ps_profile *p, const ps_heatmap_opts *o, uint64_t **out, size_t *ncols)
{
	size_t n = ps_profile_nsamples(p), cols = 1;
	uint64_t left = 0;
	for (size_t i = 0; i < n; i++) {
		long c = cell_of(ps_profile_sample_at(p, i)->time, o->start_ns);
		if (c < 0)
			left++;
		else if ((size_t)c / ROWS + 1 > cols)
			cols = (size_t)c / ROWS + 1;
	}
	uint64_t *cells = calloc(cols * ROWS, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		long c = cell_of(ps_profile_sample_at(p, i)->time, o->start_ns);
		if (c >= 0)
			cells[c]++;
	}
	if (o->left_out)
		*o->left_out = left;
	*out = cells;
	*ncols = cols;
	return 0;
}

int ps_heatmap_csv(ps_profile *p, const ps_heatmap_opts *o, FILE *out)
{
	uint64_t *cells;
	size_t cols;
	int err = count_cells(p, o, &cells, &cols);
	if (err)
		return err;
	fputs("second,offset_ms,samples\n", out);
	for (size_t c = 0; c < cols; c++)
		for (int r = 0; r < ROWS; r++)
			fprintf(out, "%zu,%d,%llu\n", c, r * PS_HEATMAP_ROW_MS,
				(unsigned long long)cells[c * ROWS + (size_t)r]);
	free(cells);
	return ferror(out) ? -EIO : 0;
}

/* FlameScope's scale: light for few samples, dark red for the most. */
static void cell_color(uint64_t v, uint64_t max, char *buf, size_t len)
{
	if (!v || !max) {
		snprintf(buf, len, "rgb(248,248,248)");
		return;
	}
	double f = v > max ? 1.0 : (double)v / (double)max;
	snprintf(buf, len, "rgb(%d,%d,%d)", 255 - (int)(80 * f), 235 - (int)(215 * f),
		 200 - (int)(190 * f));
}

/* The page's script: data in `hm`, selection and the flame graph of it. */
static const char heatmap_js[] =
	"var sel0 = -1, dragging = false;\n"
	"function cell_time(i) { return Math.floor(i / hm.rows) + (i % hm.rows) * hm.ms / 1000; }\n"
	"function fmt(t) { return t.toFixed(3); }\n"
	"function cell_at(e) { var t = e.target; return t && t.getAttribute && t.getAttribute('data-i') !== null ? +t.getAttribute('data-i') : -1; }\n"
	"var kids = null;\n"
	"function children() {\n"
	"  if (kids) return kids;\n"
	"  kids = []; for (var i = 0; i < hm.parent.length; i++) kids.push([]);\n"
	"  for (var i = 1; i < hm.parent.length; i++) kids[hm.parent[i]].push(i);\n"
	"  return kids;\n"
	"}\n"
	"/* the flame graph of cells a..b (in time order, b included) */\n"
	"function select_range(a, b) {\n"
	"  if (a > b) { var t = a; a = b; b = t; }\n"
	"  var tot = new Float64Array(hm.parent.length), n = 0;\n"
	"  for (var i = a; i <= b; i++) {\n"
	"    var l = hm.cells[i]; if (!l) continue;\n"
	"    for (var k = 0; k < l.length; k += 2) {\n"
	"      var nd = l[k], c = l[k + 1]; n += c;\n"
	"      for (;;) { tot[nd] += c; if (nd === 0) break; nd = hm.parent[nd]; }\n"
	"    }\n"
	"  }\n"
	"  var start = cell_time(a), end = cell_time(b) + hm.ms / 1000;\n"
	"  var cmd = 'perfsample flamegraph --time ' + fmt(start) + ',' + fmt(end);\n"
	"  document.getElementById('cmd').textContent = cmd + '   (' + n + ' samples)';\n"
	"  document.getElementById('cmd').setAttribute('data-samples', n);\n"
	"  document.getElementById('cmd').setAttribute('data-time', fmt(start) + ',' + fmt(end));\n"
	"  var hl = document.getElementById('hl');\n"
	"  while (hl.firstChild) hl.removeChild(hl.firstChild);\n"
	"  for (var i = a; i <= b; i++) {\n"
	"    var r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');\n"
	"    r.setAttribute('x', hm.x0 + Math.floor(i / hm.rows) * hm.cw); r.setAttribute('y', hm.y0 + (i % hm.rows) * hm.ch);\n"
	"    r.setAttribute('width', hm.cw); r.setAttribute('height', hm.ch); hl.appendChild(r);\n"
	"  }\n"
	"  draw_flame(tot);\n"
	"}\n"
	"function draw_flame(tot) {\n"
	"  var g = document.getElementById('flame'), k = children();\n"
	"  while (g.firstChild) g.removeChild(g.firstChild);\n"
	"  if (!tot[0]) return;\n"
	"  var W = hm.fw, H = 16, y0 = hm.fy, ns = 'http://www.w3.org/2000/svg';\n"
	"  function box(nd, x, depth) {\n"
	"    var w = tot[nd] / tot[0] * W; if (w < 0.3) return;\n"
	"    var grp = document.createElementNS(ns, 'g'); grp.setAttribute('class', 'fr');\n"
	"    var name = nd === 0 ? 'all' : hm.frames[hm.frame[nd]];\n"
	"    grp.setAttribute('data-name', name); grp.setAttribute('data-samples', tot[nd]);\n"
	"    var t = document.createElementNS(ns, 'title');\n"
	"    t.textContent = name + ' (' + tot[nd] + ' samples, ' + (100 * tot[nd] / tot[0]).toFixed(2) + '%)';\n"
	"    var r = document.createElementNS(ns, 'rect');\n"
	"    r.setAttribute('x', (10 + x).toFixed(1)); r.setAttribute('y', y0 + depth * H);\n"
	"    r.setAttribute('width', w.toFixed(1)); r.setAttribute('height', H - 1);\n"
	"    var h = 0; for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 997;\n"
	"    r.setAttribute('fill', 'rgb(' + (205 + h % 50) + ',' + (80 + h % 150) + ',' + (h % 55) + ')');\n"
	"    grp.appendChild(t); grp.appendChild(r);\n"
	"    if (w > 30) {\n"
	"      var tx = document.createElementNS(ns, 'text'); tx.setAttribute('x', (13 + x).toFixed(1));\n"
	"      tx.setAttribute('y', y0 + depth * H + 11); var c = Math.floor((w - 6) / 7);\n"
	"      tx.textContent = name.length > c ? name.substring(0, Math.max(0, c - 2)) + '..' : name;\n"
	"      grp.appendChild(tx);\n"
	"    }\n"
	"    g.appendChild(grp);\n"
	"    var cx = x; var l = k[nd];\n"
	"    for (var i = 0; i < l.length; i++) { if (tot[l[i]]) { box(l[i], cx, depth + 1); cx += tot[l[i]] / tot[0] * W; } }\n"
	"  }\n"
	"  box(0, 0, 0);\n"
	"}\n"
	"window.addEventListener('mousedown', function(e) { var i = cell_at(e); if (i >= 0) { sel0 = i; dragging = true; e.preventDefault(); } });\n"
	"window.addEventListener('mouseup', function(e) { if (!dragging) return; dragging = false; var i = cell_at(e); select_range(sel0, i >= 0 ? i : sel0); });\n";

/* A string as a JSON literal that is safe inside CDATA (no "]]>", no "<"). */
static int js_string(ps_buf *b, const char *s, size_t len)
{
	ps_buf t = {0};
	int err = ps_escape(&t, PS_ESC_JSON, s, len);
	if (!err)
		err = ps_buf_addstr(b, "\"");
	for (size_t i = 0; !err && i < t.len; i++) {
		char c = t.data[i];
		err = c == '<' ? ps_buf_addstr(b, "\\u003c")
		      : c == '>' ? ps_buf_addstr(b, "\\u003e")
		      : c == '&' ? ps_buf_addstr(b, "\\u0026")
				 : ps_buf_add(b, &c, 1);
	}
	ps_buf_release(&t);
	return err ? err : ps_buf_addstr(b, "\"");
}

static int xml_text(ps_buf *b, const char *s)
{
	return ps_escape(b, PS_ESC_XML, s, strlen(s));
}

static int cmp_cell_node(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] > y[1]) - (x[1] < y[1]);
}

int ps_heatmap_svg(ps_profile *p, const ps_heatmap_opts *o, FILE *out)
{
	uint64_t *cells;
	size_t cols;
	int err = count_cells(p, o, &cells, &cols);
	if (err)
		return err;
	uint64_t max = 0;
	for (size_t i = 0; i < cols * ROWS; i++)
		if (cells[i] > max)
			max = cells[i];
	/* cell size: the map fits about 1200 px wide, a cell 2 to 20 px */
	int cw = (int)(1200 / cols);
	cw = cw > 20 ? 20 : cw < 2 ? 2 : cw;
	int ch = 8, x0 = 50, y0 = 60;
	int mapw = (int)cols * cw, fw = mapw + x0 > 1000 ? mapw + x0 - 20 : 1000;
	int fy = y0 + ROWS * ch + 60;
	size_t nnodes = ps_profile_nnodes(p);
	uint32_t maxdepth = 0;
	for (size_t i = 0; i < nnodes; i++) {
		uint32_t d = ps_profile_node_depth(p, (ps_node_id)i);
		maxdepth = d > maxdepth ? d : maxdepth;
	}
	int width = fw + 20, height = fy + (int)(maxdepth + 1) * 16 + 20;
	ps_buf b = {0};
	err = ps_buf_printf(&b,
			    "<?xml version=\"1.0\" standalone=\"no\"?>\n"
			    "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
			    "xmlns=\"http://www.w3.org/2000/svg\">\n"
			    "<style type=\"text/css\">text { font-family: Verdana, sans-serif; "
			    "font-size: 12px; } .cell:hover { stroke: black; } #hl rect { fill: none; "
			    "stroke: #0050c0; stroke-width: 1.5; } .fr:hover rect { stroke: black; "
			    "}</style>\n"
			    "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
			    "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"17\">",
			    width, height, width, height, width, height, width / 2);
	if (!err)
		err = xml_text(&b, o->title ? o->title : "Heat map");
	if (!err)
		err = ps_buf_printf(&b, "</text>\n<text x=\"%d\" y=\"42\" text-anchor=\"middle\" "
				       "fill=\"#555\">",
				    width / 2);
	if (!err)
		err = xml_text(&b, o->subtitle ? o->subtitle
						: "columns: seconds; rows: 20 ms offsets in the second; "
						  "click a cell or drag across cells for the flame "
						  "graph of that range");
	if (!err)
		err = ps_buf_printf(&b, "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"10\" "
				       "text-anchor=\"end\">0 ms</text>\n<text x=\"%d\" y=\"%d\" "
				       "font-size=\"10\" text-anchor=\"end\">980 ms</text>\n",
				    x0 - 4, y0 + 8, x0 - 4, y0 + ROWS * ch);
	/* second labels, about every 60 px */
	size_t every = (size_t)(60 / cw) + 1;
	for (size_t c = 0; !err && c < cols; c += every)
		err = ps_buf_printf(&b, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%zu</text>\n",
				    x0 + (int)c * cw, y0 + ROWS * ch + 14, c);
	if (!err)
		err = ps_buf_printf(&b, "<g id=\"map\">\n");
	char color[64];
	for (size_t c = 0; !err && c < cols; c++)
		for (int r = 0; !err && r < ROWS; r++) {
			size_t i = c * ROWS + (size_t)r;
			cell_color(cells[i], max, color, sizeof(color));
			err = ps_buf_printf(&b,
					    "<rect class=\"cell\" data-i=\"%zu\" x=\"%d\" y=\"%d\" "
					    "width=\"%d\" height=\"%d\" fill=\"%s\"><title>%zu.%03d s: "
					    "%llu samples</title></rect>\n",
					    i, x0 + (int)c * cw, y0 + r * ch, cw, ch, color, c,
					    r * PS_HEATMAP_ROW_MS, (unsigned long long)cells[i]);
		}
	if (!err)
		err = ps_buf_printf(&b, "</g>\n<g id=\"hl\"></g>\n<text id=\"cmd\" x=\"10\" "
				       "y=\"%d\" data-samples=\"0\">click a cell or drag across "
				       "cells</text>\n<g id=\"flame\"></g>\n",
				    fy - 12);
	/* the data: frame labels, the trie's parents and frames, and per cell its samples'
	 * nodes with counts */
	if (!err)
		err = ps_buf_printf(&b, "<script type=\"text/ecmascript\"><![CDATA[\nvar hm = "
				       "{rows: %d, ms: %d, x0: %d, y0: %d, cw: %d, ch: %d, fw: %d, "
				       "fy: %d,\nframes: [",
				    ROWS, PS_HEATMAP_ROW_MS, x0, y0, cw, ch, fw - 20, fy);
	size_t nframes = ps_profile_nframes(p);
	for (size_t f = 0; !err && f < nframes; f++) {
		size_t len;
		const char *l = ps_profile_label(p, (ps_frame_id)f, &len);
		if (!l) {
			err = -ENOMEM;
			break;
		}
		if (f)
			err = ps_buf_addstr(&b, ",");
		if (!err)
			err = js_string(&b, l, len);
	}
	if (!err)
		err = ps_buf_addstr(&b, "],\nparent: [");
	for (size_t i = 0; !err && i < nnodes; i++)
		err = ps_buf_printf(&b, i ? ",%u" : "%u",
				    i ? (unsigned)ps_profile_node_parent(p, (ps_node_id)i) : 0u);
	if (!err)
		err = ps_buf_addstr(&b, "],\nframe: [");
	for (size_t i = 0; !err && i < nnodes; i++)
		err = ps_buf_printf(&b, i ? ",%u" : "%u",
				    i ? (unsigned)ps_profile_node_frame(p, (ps_node_id)i) : 0u);
	if (!err)
		err = ps_buf_addstr(&b, "],\ncells: {");
	/* (cell, node) pairs sorted, then counted */
	size_t ns = ps_profile_nsamples(p), np = 0;
	uint64_t *pairs = ns ? malloc(ns * 2 * sizeof(*pairs)) : NULL;
	if (ns && !pairs)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < ns; i++) {
		const ps_profile_sample *s = ps_profile_sample_at(p, i);
		long c = cell_of(s->time, o->start_ns);
		if (c < 0)
			continue;
		pairs[2 * np] = (uint64_t)c;
		pairs[2 * np + 1] = s->node;
		np++;
	}
	if (np)
		qsort(pairs, np, 2 * sizeof(*pairs), cmp_cell_node);
	int firstcell = 1;
	for (size_t i = 0; !err && i < np;) {
		uint64_t c = pairs[2 * i];
		err = ps_buf_printf(&b, "%s%llu:[", firstcell ? "" : ",\n", (unsigned long long)c);
		firstcell = 0;
		int firstnode = 1;
		while (!err && i < np && pairs[2 * i] == c) {
			uint64_t nd = pairs[2 * i + 1], cnt = 0;
			while (i < np && pairs[2 * i] == c && pairs[2 * i + 1] == nd) {
				cnt++;
				i++;
			}
			err = ps_buf_printf(&b, "%s%llu,%llu", firstnode ? "" : ",",
					    (unsigned long long)nd, (unsigned long long)cnt);
			firstnode = 0;
		}
		if (!err)
			err = ps_buf_addstr(&b, "]");
	}
	free(pairs);
	if (!err)
		err = ps_buf_printf(&b, "}};\n%s]]></script>\n</svg>\n", heatmap_js);
	free(cells);
	if (!err && fwrite(b.data, 1, b.len, out) != b.len)
		err = -EIO;
	ps_buf_release(&b);
	return err;
}
