/*
 * SPDX-License-Identifier: Apache-2.0
 * unit_common.c - the helpers the core's unit tests share (unit_common.h):
 * one copy each, and one random state for the whole run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* The TAP counters (tap.h): one pair for the whole program. */
unsigned tap_run, tap_failed;

/* Decodes a hex literal of a test vector; aborts on a typo in a test file. */
size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t len = strlen(hex);

    if (tw_hex_decode(hex, len, out, cap) != TW_OK) {
        fprintf(stderr, "bad hex literal in test: %s\n", hex);
        abort();
    }
    return len / 2;
}

/* A small deterministic generator, so a failing run can be repeated: one
 * state for the whole run, drawn from by the units in the runner's order. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

size_t rng_below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rng_next() % n);
}

void check_verdicts(int (*check)(const char *), const struct verdict_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        ok(!!check(cases[i].input) == cases[i].accepted, "%s", cases[i].name);
}

/*
 * Verifies body under profile p with the secrets given: parse, key, MAC
 * the prefix then the body, compare with every candidate.
 */
tw_status_t verify_scheme(const tw_profile_t *p, const char *const *secrets, size_t nsecrets,
                          const char *sig, const char *ts, const char *id,
                          const char *body, size_t *pmatched, size_t *pcandidate)
{
    static unsigned char kbuf[TW_SECRET_MAX];
    tw_key_t *keys[4] = { NULL, NULL, NULL, NULL };
    tw_verifier_t *v = NULL;
    tw_signed_t s;
    tw_status_t st;
    size_t i, klen;

    *pmatched = 99;
    *pcandidate = 99;
    st = tw_scheme_parse(p, sig, ts, id, &s);
    if (st != TW_OK)
        return st;
    for (i = 0; i < nsecrets && st == TW_OK; i++) {
        st = tw_profile_key(p, secrets[i], strlen(secrets[i]), kbuf, sizeof(kbuf), &klen);
        if (st == TW_OK)
            st = tw_key_create(&keys[i], kbuf, klen);
    }
    if (st == TW_OK)
        st = tw_verifier_create(&v, (const tw_key_t *const *)keys, nsecrets);
    if (st == TW_OK)
        st = tw_verifier_update(v, s.prefix, s.prefix_len);
    if (st == TW_OK)
        st = tw_verifier_update(v, body, strlen(body));
    if (st == TW_OK)
        st = tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])s.candidates,
                                    s.ncandidates, pmatched, pcandidate);
    tw_verifier_destroy(v);
    for (i = 0; i < nsecrets; i++)
        tw_key_destroy(keys[i]);
    return st;
}
