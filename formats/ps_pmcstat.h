/* ps_pmcstat: reads FreeBSD hwpmc's call graphs (`pmcstat -R LOG -G OUT`: per sampled
 * function, its callers indented below it, a line each:
 * "INDENT PERCENT%  [COUNT]  INDENT NAME[ @ IMAGE]") into a profile, stack for stack as
 * FlameGraph's stackcollapse-pmc.pl collapses them. */
#ifndef PS_PMCSTAT_H
#define PS_PMCSTAT_H

#include <stdio.h>

#include "formats/ps_profile.h"

#define PS_PMCSTAT_MAX_LINE (1u << 20) /* 1 MiB: pmcstat's lines are a few hundred bytes */

/* Adds every call chain of in to out, which declares "samples"/"count" when it has no
 * columns yet. As stackcollapse-pmc.pl reads it: a line is one when it matches
 * /^( *)[0-9.]+%  \[([0-9]+)\]\s*(\S+)/ (others are skipped: pmcstat's "@ EVENT [N
 * samples]" headers, blank lines); its indent (leading spaces) is its depth below the
 * sampled function at indent 0; a chain ends, with the count of its deepest line, where a
 * line is not deeper than the line before it, and at the end of input. A level that a
 * chain skips keeps the name it had in an earlier chain, or is an empty frame (the script
 * prints what its array holds). Frames are named by the third field; the image that
 * pmcstat prints after " @ " (once, until it changes) becomes the mapping of that line and
 * the lines after it, and makes the frames PS_FRAME_KERNEL for the kernel
 * (/boot/kernel/kernel, *.ko) or PS_FRAME_USER. pmcstat's "0x..." for a function without
 * a symbol is an unresolved frame at that address. The script writes chains in input
 * order, one line each; the profile sums equal chains (ps_profile_write_folded sorts them),
 * as flamegraph.pl does.
 *
 * Returns 0, or PS_EFORMAT when no line is a call graph line, PS_ELIMIT for a line over
 * PS_PMCSTAT_MAX_LINE or counts past 2^63-1 (*lineno says where), or another negative
 * code. lineno may be NULL. */
int ps_pmcstat_read(FILE *in, ps_profile *out, size_t *lineno);

#endif
