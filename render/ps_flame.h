/* ps_flame: renders a profile as an interactive SVG flame graph (or icicle graph, flame chart,
 * differential flame graph), with flamegraph.pl's options and frame geometry, and a
 * standalone script for tooltips, zoom and regex search. */
#ifndef PS_FLAME_H
#define PS_FLAME_H

#include <stdint.h>
#include <stdio.h>

#include "formats/ps_profile.h"

typedef enum ps_flame_palette {
	PS_FLAME_HOT,
	PS_FLAME_MEM,
	PS_FLAME_IO,
	PS_FLAME_WAKEUP,
	PS_FLAME_CHAIN,
	PS_FLAME_JAVA,
	PS_FLAME_JS,
	PS_FLAME_PERL,
	PS_FLAME_RED,
	PS_FLAME_GREEN,
	PS_FLAME_BLUE,
	PS_FLAME_AQUA,
	PS_FLAME_YELLOW,
	PS_FLAME_PURPLE,
	PS_FLAME_ORANGE,
} ps_flame_palette;

/* Options, named and defaulted as flamegraph.pl's. Strings are borrowed: they must outlive
 * ps_flame_render. NULL strings mean "the default". */
typedef struct ps_flame_opts {
	const char *title;	 /* NULL: "Flame Graph", "Icicle Graph" or "Flame Chart" */
	const char *subtitle;	 /* NULL: none */
	const char *fonttype;	 /* "Verdana" */
	const char *countname;	 /* "samples"; left so, a column other than "samples"
				  * names its unit ("nanoseconds", "bytes") */
	const char *nametype;	 /* "Function:" */
	const char *notes;	 /* NULL: none; goes into an XML comment */
	const char *bgcolors;	 /* NULL: by palette; yellow, blue, green, grey or #rrggbb */
	const char *searchcolor; /* "rgb(230,0,230)" */
	int width;		 /* image width, px: 1200 */
	int height;		 /* frame height, px: 16 */
	double fontsize;	 /* 12 */
	double fontwidth;	 /* average glyph width / fontsize: 0.59 */
	double minwidth;	 /* frames narrower are dropped: 0.1 px, or percent if ... */
	int minwidth_pct;	 /* ... this is set ("--minwidth 0.5%") */
	double factor;		 /* counts are multiplied by this in labels: 1 */
	uint64_t total;		 /* 0, or the total to scale to, if larger than the sum */
	size_t column;		 /* the value column drawn: 0 (a differential profile
				  * always draws column 1, "after") */
	ps_flame_palette colors; /* PS_FLAME_HOT */
	int hash;	/* colours from flamegraph.pl's name hash (default: our stable hash) */
	int reverse;	/* reverse every stack before merging */
	int inverted;	/* icicle graph: root at the top */
	int flamechart; /* keep the profile's order, merge only neighbours */
	int negate;	/* swap differential hues */
	int ignorecase; /* search starts case-insensitive */
} ps_flame_opts;

void ps_flame_opts_init(ps_flame_opts *o);

/* Sets one option by its flamegraph.pl name without dashes ("width", "minwidth", "hash"...);
 * value is NULL for flags. Returns 0, -EINVAL for an unknown name or a missing/extra value,
 * or PS_EFORMAT for a bad value. Borrows value (see ps_flame_opts). */
int ps_flame_opt_set(ps_flame_opts *o, const char *name, const char *value);

/* What ps_flame_opt_set accepts, for getopt_long and --help; ends with a NULL name. */
typedef struct ps_flame_optdef {
	const char *name;
	int takes_value;
	const char *help; /* one line; names the default */
} ps_flame_optdef;
extern const ps_flame_optdef ps_flame_optdefs[];

/* Writes the SVG of p to out, drawn from p's stack trie and frame labels
 * (ps_profile_label: p's label options apply). Frames with equal labels under one box are one
 * box (address-level frames of one function merge; unlike flamegraph.pl's line merge, a
 * frame is never split in two), laid out in flamegraph.pl's order; widths are o->column's
 * values. With o->flamechart and kept samples (PS_PROFILE_SAMPLES) a frame merges only with
 * the same frame of the sample before, in the profile's sample order; without kept samples
 * a flame chart is drawn as a flame graph. A differential profile is drawn with widths from
 * column 1 ("after") and coloured by the change from column 0. In the hot palette, kernel,
 * JIT and inlined frames (when all frames of the label agree and it carries no "_[k]"-style
 * annotation) are orange, green and aqua, as annotated names are in the java palette. An
 * empty profile gives a small valid SVG saying "no samples". The output is a pure function
 * of (p, o). Returns 0, -EINVAL (bad options, or o->column past p's columns), -ENOMEM, or
 * -EIO (with errno from the stream) when writing fails. */
int ps_flame_render(ps_profile *p, const ps_flame_opts *o, FILE *out);

#endif
