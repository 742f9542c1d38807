/*
 * SPDX-License-Identifier: Apache-2.0
 * fuzz_targets.h - the core's fuzz entry points.
 *
 * Each takes one input and returns 0; on a disagreement with the reference
 * it has (a naive parser, a round trip, the one-shot MAC) it prints what it
 * saw to stderr and calls abort(), which libFuzzer and fuzz_run_inputs both
 * report as a failure. They are built twice: under libFuzzer (one
 * fuzz_<name>.c shim each, see build-libfuzzer) and into fuzz_run_inputs, which
 * "make check" runs over the seed corpus in fuzz/corpus/<name>/.
 */
#ifndef TW_FUZZ_TARGETS_H
#define TW_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int tw_fuzz_signature(const uint8_t *data, size_t size);
int tw_fuzz_hex(const uint8_t *data, size_t size);
int tw_fuzz_verify(const uint8_t *data, size_t size);
int tw_fuzz_validate(const uint8_t *data, size_t size);
int tw_fuzz_json(const uint8_t *data, size_t size);
int tw_fuzz_events(const uint8_t *data, size_t size);
int tw_fuzz_base64(const uint8_t *data, size_t size);
int tw_fuzz_scheme(const uint8_t *data, size_t size);
int tw_fuzz_secret(const uint8_t *data, size_t size);

/* The targets by name, for fuzz_run_inputs; the list ends with a NULL name. */
typedef struct {
    const char *name;
    int (*run)(const uint8_t *data, size_t size);
} tw_fuzz_target_t;

extern const tw_fuzz_target_t tw_fuzz_targets[];

#endif /* TW_FUZZ_TARGETS_H */
