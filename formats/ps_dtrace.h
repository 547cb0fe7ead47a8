/* ps_dtrace: reads DTrace stack aggregations (`dtrace -n '...{ @[stack()] = count(); }'`,
 * ustack(), jstack(): a frame per line, leaf first, then the count on a line of its own)
 * into a profile, stack for stack as FlameGraph's stackcollapse.pl collapses them. */
#ifndef PS_DTRACE_H
#define PS_DTRACE_H

#include <stdio.h>

#include "formats/ps_profile.h"

#define PS_DTRACE_MAX_LINE (1u << 20) /* 1 MiB: DTrace's frames are a few hundred bytes */

/* Adds every stack of in to out, which declares "samples"/"count" when it has no columns
 * yet. As stackcollapse.pl reads it: the first three lines are dtrace's header and are
 * skipped; a line of digits alone ends a stack with its count; blank lines are skipped;
 * a frame loses its leading blanks, its "+0x.." offset (from the last '+') and C++
 * arguments (from the last '(' or '<' after the first "::"); an empty frame is "-"; the
 * parts of "a->b->c" (inlined frames, as Java agents print them) are frames of their own,
 * each with a leading 'L' dropped and the ones after the first PS_FRAME_INLINE, which print
 * with their "_[i]" under the label option PS_LABEL_INLINE. Frames are PS_FRAME_USER
 * frames named as the script prints them ("genunix`vn_rele", ';' as ':'), in a mapping
 * named by the module before the '`' when there is one. Frames after the last count are
 * dropped, as the script drops them. A count line without frames counts at the root (the
 * script prints it as an empty stack).
 *
 * Returns 0, or PS_EFORMAT when no count was found (nothing there is DTrace's output),
 * PS_ELIMIT for a line over PS_DTRACE_MAX_LINE or counts past 2^63-1 (*lineno says where),
 * or another negative code. lineno may be NULL. */
int ps_dtrace_read(FILE *in, ps_profile *out, size_t *lineno);

#endif
