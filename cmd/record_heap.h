/* cmd/record_heap: what `record --heap` sets up around the recorder — finds the preload
 * library, refuses targets it cannot work in (static, setuid), and hands the command a
 * socket to send its samples to (profiler/heap/ps_heap_wire.h). */
#ifndef PS_CMD_RECORD_HEAP_H
#define PS_CMD_RECORD_HEAP_H

#include <stdint.h>

#define HEAP_DEFAULT_RATE 524288

/* Checks the command, creates the socket and puts LD_PRELOAD, the socket and the rate in
 * this process's environment, which the command inherits. Returns the recorder's end of
 * the socket and sets *child_end (to close once the command runs). Dies with one line on
 * any problem. */
int heap_setup(char *const *argv, uint64_t rate, int *child_end);

#endif
