/* libFuzzer target: the reader of pmcstat -G call graphs (formats/ps_pmcstat) on arbitrary
 * bytes, then the profile written as folded text: see fuzz_stacks in fuzz_common.h for
 * what must hold for any input. */
#include <stddef.h>
#include <stdint.h>

#include "formats/ps_pmcstat.h"
#include "fuzz/fuzz_common.h"

static int ps_fuzz_pmcstat(const uint8_t *data, size_t size) { return fuzz_stacks(data, size, ps_pmcstat_read); }

/* tests/unit/test_fuzz_regressions.c includes this file to replay saved inputs. */
#ifndef PS_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ps_fuzz_pmcstat(data, size); }
#endif
