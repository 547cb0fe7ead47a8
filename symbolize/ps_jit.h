/* ps_jit: symbols that JIT compilers publish in /tmp/perf-PID.map ("START SIZE name" in
 * hex, one per line: node --perf-basic-prof, JVM agents, LuaJIT, .NET). */
#ifndef PS_JIT_H
#define PS_JIT_H

#include <stdint.h>

typedef struct ps_jit ps_jit;

/* Loads a map file. Anyone can write /tmp/perf-PID.map before the process does, so only a
 * regular file (opened without blocking or following a link) owned by root or by owner
 * (the process's user; -1 when unknown: this process's effective user) and not writable
 * by others is read; any other gives -EPERM (or PS_ENOTREG), as older perf refused them. */
int ps_jit_load(ps_jit **out, const char *path, int demangle, long owner);
void ps_jit_free(ps_jit *j); /* NULL is fine */
const char *ps_jit_lookup(const ps_jit *j, uint64_t addr); /* NULL when not covered */

#endif
