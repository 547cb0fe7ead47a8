/* ps_heapline: the live heap over time as SVG (see ps_heapline.h). */
#include "render/ps_heapline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ps_util.h"

/* "12.3 MB": bytes in decimal units, as pprof prints them. */
static void human(char *buf, size_t len, double v)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	int u = 0;
	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int ps_heapline_render(const ps_heap_point *pts, size_t n, uint64_t peak, uint64_t peak_time,
		       const ps_heapline_opts *o, FILE *out)
{
	int W = o->width > 0 ? o->width : 1200, H = o->height > 0 ? o->height : 400;
	const double left = 90, right = 30, top = 50, bottom = 50;
	double pw = W - left - right, ph = H - top - bottom;
	uint64_t t0 = o->start_ns, t1 = o->end_ns;
	if (n && (!t0 || pts[0].time < t0))
		t0 = pts[0].time;
	if (n && (!t1 || pts[n - 1].time > t1))
		t1 = pts[n - 1].time;
	double span = t1 > t0 ? (double)(t1 - t0) : 1;
	double ymax = 1;
	for (size_t i = 0; i < n; i++)
		if ((double)pts[i].live > ymax)
			ymax = (double)pts[i].live;
	ymax *= 1.1;
	ps_buf title = {0};
	const char *t = o->title ? o->title : "Live heap (sampled estimate)";
	if (ps_escape(&title, PS_ESC_XML, t, strlen(t)) || ps_buf_add(&title, "", 1)) {
		ps_buf_release(&title);
		return -ENOMEM;
	}
	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
		"<text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-family=\"Verdana\" "
		"font-size=\"17\">%s</text>\n",
		W, H, W, H, W, H, W / 2.0, title.data);
	ps_buf_release(&title);
	/* Axes and five grid lines with their byte values. */
	fprintf(out, "<g font-family=\"Verdana\" font-size=\"11\" fill=\"#555\">\n");
	for (int i = 0; i <= 5; i++) {
		double y = top + ph - ph * i / 5.0;
		char lab[32];
		human(lab, sizeof(lab), ymax * i / 5.0);
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			left, y, left + pw, y, left - 6, y + 4, lab);
	}
	for (int i = 0; i <= 5; i++) {
		double x = left + pw * i / 5.0;
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f s</text>\n",
			x, top + ph + 18, span * i / 5.0 / 1e9);
	}
	fprintf(out, "</g>\n");
	/* The live heap: a step line; many points per pixel keep their highest value. */
	fprintf(out,
		"<polyline id=\"live\" fill=\"none\" stroke=\"rgb(0,120,200)\" "
		"stroke-width=\"1.5\" points=\"%.1f,%.1f",
		left, top + ph);
	double lastx = left, lasty = top + ph;
	for (size_t i = 0; i < n;) {
		double x = left + pw * (double)(pts[i].time - t0) / span;
		uint64_t hi = pts[i].live, endv = pts[i].live;
		size_t j = i + 1;
		for (; j < n && left + pw * (double)(pts[j].time - t0) / span < x + 0.5; j++) {
			if (pts[j].live > hi)
				hi = pts[j].live;
			endv = pts[j].live;
		}
		double yh = top + ph - ph * (double)hi / ymax,
		       ye = top + ph - ph * (double)endv / ymax;
		fprintf(out, " %.1f,%.1f %.1f,%.1f", x, lasty, x, yh);
		if (ye != yh)
			fprintf(out, " %.1f,%.1f", x, ye);
		lastx = x;
		lasty = ye;
		i = j;
	}
	fprintf(out, " %.1f,%.1f\"/>\n", left + pw > lastx ? left + pw : lastx, lasty);
	if (peak) {
		double x = left + pw * (double)(peak_time - t0) / span;
		double y = top + ph - ph * (double)peak / ymax;
		char lab[32];
		human(lab, sizeof(lab), (double)peak);
		fprintf(out,
			"<g id=\"peak\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
			"fill=\"rgb(220,40,40)\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" font-family=\"Verdana\" font-size=\"12\" "
			"fill=\"rgb(220,40,40)\" text-anchor=\"%s\">peak %s at %.3f s</text></g>\n",
			x, y, x + (x > left + pw * 0.7 ? -8 : 8), y - 8,
			x > left + pw * 0.7 ? "end" : "start", lab, (double)(peak_time - t0) / 1e9);
	}
	fprintf(out, "<!-- peak_bytes %llu peak_time_ns %llu points %zu -->\n</svg>\n",
		(unsigned long long)peak, (unsigned long long)(peak_time - t0), n);
	return ferror(out) ? -EIO : 0;
}
