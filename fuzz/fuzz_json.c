/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_json.c - libFuzzer entry for tw_fuzz_json (built by fuzz/build-libfuzzer). */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return tw_fuzz_json(data, size);
}
