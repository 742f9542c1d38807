/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_verify.c - libFuzzer entry for tw_fuzz_verify (built by fuzz/build-libfuzzer). */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return tw_fuzz_verify(data, size);
}
