/* libFuzzer target: the reader of DTrace stack aggregations (formats/ps_dtrace) on arbitrary
 * bytes, then the profile written as folded text: see fuzz_stacks in fuzz_common.h for
 * what must hold for any input. */
#include <stddef.h>
#include <stdint.h>

#include "formats/ps_dtrace.h"
#include "fuzz/fuzz_common.h"

static int ps_fuzz_dtrace(const uint8_t *data, size_t size) { return fuzz_stacks(data, size, ps_dtrace_read); }

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_dtrace(data, size); }
#endif
