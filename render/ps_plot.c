/* ps_plot: SVG line charts of time series (see ps_plot.h). */
#include "render/ps_plot.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "formats/ps_util.h"

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
				     "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define NCOLORS (sizeof(colors) / sizeof(colors[0]))

/* A value with its unit, short: 1.5 GB, 230 KB/s, 42.0%. */
static void human(double v, const char *unit, char *buf, size_t len)
{
	int bytes = !strncmp(unit, "bytes", 5);
	const char *rest = bytes ? unit + 5 : "";
	if (!strcmp(unit, "percent")) {
		snprintf(buf, len, "%.0f%%", v);
		return;
	}
	static const char *const si[] = {"", "K", "M", "G", "T", "P"};
	int k = 0;
	while (fabs(v) >= 1000 && k < 5) {
		v /= 1000;
		k++;
	}
	if (bytes)
		snprintf(buf, len, "%.3g %sB%s", v, si[k], rest);
	else
		snprintf(buf, len, "%.3g%s %s", v, si[k], unit);
}

static int text(ps_buf *b, const char *s)
{
	return ps_escape(b, PS_ESC_XML, s, strlen(s));
}

int ps_plot_svg(const ps_plot *p, FILE *out)
{
	const int W = 1000, left = 90, right = 20, ph = 130, gap = 40, top = 70;
	double tmax = 1;
	for (size_t k = 0; k < p->npanels; k++)
		for (size_t i = 0; i < p->ninputs; i++) {
			const ps_plot_line *l = &p->panels[k].lines[i];
			for (size_t j = 0; j < l->n; j++)
				if (isfinite(l->t[j]) && l->t[j] > tmax)
					tmax = l->t[j];
		}
	int have_samples = 0;
	for (size_t i = 0; p->samples && i < p->ninputs; i++)
		if (p->nsec[i]) {
			have_samples = 1;
			if ((double)p->nsec[i] > tmax)
				tmax = (double)p->nsec[i];
		}
	size_t nrows = p->npanels + (size_t)have_samples;
	int H = top + (int)nrows * (ph + gap) + 30;
	double pw = W - left - right;
	ps_buf b = {0};
	int err = ps_buf_printf(&b,
				"<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" "
				"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
				"xmlns=\"http://www.w3.org/2000/svg\">\n<style type=\"text/css\">text "
				"{ font-family: Verdana, sans-serif; font-size: 11px; }</style>\n"
				"<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n<text x=\"%d\" "
				"y=\"22\" font-size=\"16\" text-anchor=\"middle\">",
				W, H, W, H, W, H, W / 2);
	if (!err)
		err = text(&b, p->title ? p->title : "perfsample plot");
	if (!err)
		err = ps_buf_addstr(&b, "</text>\n<g id=\"legend\">\n");
	for (size_t i = 0; !err && i < p->ninputs; i++) {
		int x = left + (int)(i % 4) * 220, y = 44 + (int)(i / 4) * 14;
		err = ps_buf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" "
				       "fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
				    x, y - 4, colors[i % NCOLORS], x + 18, y);
		if (!err)
			err = text(&b, p->inputs[i]);
		if (!err)
			err = ps_buf_addstr(&b, "</text>\n");
	}
	if (!err)
		err = ps_buf_addstr(&b, "</g>\n");
	for (size_t k = 0; !err && k < nrows; k++) {
		int strip = k == p->npanels;
		int y0 = top + (int)k * (ph + gap);
		const char *title = strip ? "CPU samples per second" : p->panels[k].title;
		const char *unit = strip ? "count/s" : p->panels[k].unit;
		double vmax = 0;
		for (size_t i = 0; i < p->ninputs; i++) {
			if (strip) {
				for (size_t s = 0; s < p->nsec[i]; s++)
					vmax = fmax(vmax, p->samples[i][s]);
				continue;
			}
			const ps_plot_line *l = &p->panels[k].lines[i];
			for (size_t j = 0; j < l->n; j++)
				if (isfinite(l->v[j]))
					vmax = fmax(vmax, l->v[j]);
		}
		if (!strcmp(unit, "percent") && vmax < 100)
			vmax = 100;
		if (vmax <= 0)
			vmax = 1;
		err = ps_buf_printf(&b, "<g class=\"panel\" data-metric=\"");
		if (!err)
			err = text(&b, title);
		if (!err)
			err = ps_buf_printf(&b, "\">\n<text x=\"%d\" y=\"%d\" font-weight=\"bold\">",
					    left, y0 - 6);
		if (!err)
			err = text(&b, title);
		if (!err)
			err = ps_buf_printf(&b, " (%s)</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.0f\" "
					       "height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
					    unit, left, y0, pw, ph);
		for (int g = 0; !err && g <= 2; g++) {
			char lab[48];
			double v = vmax * g / 2;
			int y = y0 + ph - (int)(ph * g / 2);
			human(v, unit, lab, sizeof(lab));
			err = ps_buf_printf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" "
					       "stroke=\"#e4e4e4\"/><text x=\"%d\" y=\"%d\" "
					       "text-anchor=\"end\">%s</text>\n",
					    left, y, left + pw, y, left - 4, y + 4, lab);
		}
		for (size_t i = 0; !err && i < p->ninputs; i++) {
			const char *c = colors[i % NCOLORS];
			if (strip) {
				double bw = pw / tmax / (double)p->ninputs;
				for (size_t s = 0; !err && s < p->nsec[i]; s++) {
					double h = ph * p->samples[i][s] / vmax;
					err = ps_buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
							       "height=\"%.1f\" fill=\"%s\"><title>%zu s: "
							       "%.0f samples</title></rect>\n",
							    left + pw * (double)s / tmax + bw * (double)i,
							    y0 + ph - h, bw > 1 ? bw - 0.5 : bw, h, c, s,
							    p->samples[i][s]);
				}
				continue;
			}
			const ps_plot_line *l = &p->panels[k].lines[i];
			if (!l->n)
				continue;
			err = ps_buf_printf(&b, "<polyline fill=\"none\" stroke=\"%s\" "
					       "stroke-width=\"1.5\" points=\"",
					    c);
			for (size_t j = 0; !err && j < l->n; j++) {
				if (!isfinite(l->t[j]) || !isfinite(l->v[j]))
					continue;
				err = ps_buf_printf(&b, "%.1f,%.1f ", left + pw * l->t[j] / tmax,
						    y0 + ph - ph * fmax(0, l->v[j]) / vmax);
			}
			if (!err)
				err = ps_buf_addstr(&b, "\"/>\n");
		}
		if (!err)
			err = ps_buf_addstr(&b, "</g>\n");
	}
	/* the shared time axis */
	int ya = top + (int)nrows * (ph + gap) - gap + 14;
	double step = tmax <= 10 ? 1 : tmax <= 60 ? 5 : tmax <= 600 ? 60 : 600;
	for (double t = 0; !err && t <= tmax + 1e-9; t += step)
		err = ps_buf_printf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0fs</text>\n",
				    left + pw * t / tmax, ya, t);
	if (!err)
		err = ps_buf_addstr(&b, "</svg>\n");
	if (!err && fwrite(b.data, 1, b.len, out) != b.len)
		err = -EIO;
	ps_buf_release(&b);
	return err;
}
