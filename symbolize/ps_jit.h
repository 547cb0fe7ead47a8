/* ps_jit: symbols that JIT compilers publish in /tmp/perf-PID.map ("START SIZE name" in
 * hex, one per line: node --perf-basic-prof, JVM agents, LuaJIT, .NET). */
#ifndef PS_JIT_H
#define PS_JIT_H

#include <stdint.h>

typedef struct ps_jit ps_jit;

int ps_jit_load(ps_jit **out, const char *path, int demangle);
void ps_jit_free(ps_jit *j); /* NULL is fine */
const char *ps_jit_lookup(const ps_jit *j, uint64_t addr); /* NULL when not covered */

#endif
