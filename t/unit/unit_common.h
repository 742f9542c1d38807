/*
 * SPDX-License-Identifier: Apache-2.0
 * unit_common.h - what the core's unit tests share: helpers, the
 * providers' documented examples, and each unit's entry point.
 *
 * One test program (t/unit/tw_unit): every t/unit/test_<unit>.c tests
 * libtwcore/<unit>.c and exports unit_<unit>(); tw_unit.c calls them in a
 * fixed order, which fixes the test numbers. The random generator has one
 * state for the whole run, so a failing run repeats exactly.
 */
#ifndef TW_UNIT_COMMON_H
#define TW_UNIT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "twwebhook.h"

/* ---- helpers (unit_common.c) ---------------------------------------------- */

/* Decodes a hex literal of a test vector; aborts on a typo in a test file. */
size_t unhex(const char *hex, unsigned char *out, size_t cap);

/* A small deterministic generator, so a failing run can be repeated. */
uint64_t rng_next(void);
size_t rng_below(size_t n);

/*
 * One input to a yes/no check of a string (tw_event_is_plain and its
 * kind), the answer it must give and the test's name.
 */
struct verdict_case {
    const char *input;
    int accepted;
    const char *name;
};

void check_verdicts(int (*check)(const char *), const struct verdict_case *cases, size_t n);

#define CHECK_VERDICTS(check, cases) check_verdicts(check, cases, sizeof(cases) / sizeof(cases[0]))

/*
 * Verifies body under profile p with the secrets given: parse, key, MAC
 * the prefix then the body, compare with every candidate. (test_scheme.c
 * and test_sign.c.)
 */
tw_status_t verify_scheme(const tw_profile_t *p, const char *const *secrets, size_t nsecrets,
                          const char *sig, const char *ts, const char *id,
                          const char *body, size_t *pmatched, size_t *pcandidate);

/* ---- the providers' documented examples (test_scheme.c, test_sign.c) ------ */

#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS     "1614265330"
#define SW_BODY   "{\"test\": 2432232314}"
#define SW_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_SIG_B64 "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_WRONG  "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

#define SLACK_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define SLACK_TS     "1531420618"
#define SLACK_BODY   "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow" \
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner" \
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands" \
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" \
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define SLACK_SIG    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY   "Hello, World!"
#define GH_HEX    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

/* Computed with Python's hmac for these tests (no published example). */
#define STRIPE_SECRET "whsec_test_secret"
#define STRIPE_BODY   "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\"}"
#define STRIPE_HEX    "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"
#define SHOPIFY_SECRET "shpss_secret"
#define SHOPIFY_BODY   "{\"id\":1}"
#define SHOPIFY_SIG    "xocA3LkeJ/RvNrkxep1EUtFHuj7rIoIqZYaLU26LyPQ="

#define WRONG_HEX "0000000000000000000000000000000000000000000000000000000000000000"

/* ---- each unit's entry (test_<unit>.c), in tw_unit.c's order -------------- */

void unit_status(void);
void unit_hex(void);
void unit_signature(void);
void unit_hmac(void);
void unit_validate(void);
void unit_events(void);
void unit_json(void);
void unit_replay_key(void);
void unit_lease(void);
void unit_message_digest(void);     /* test_replay_key.c */
void unit_cleanse(void);
void unit_spool(apr_pool_t *pool);
void unit_status_scheme(void);      /* test_status.c */
void unit_base64(void);
void unit_secret(void);
void unit_profile(void);
void unit_scheme(void);
void unit_sign(void);
void unit_inbox(apr_pool_t *pool);
void unit_store(apr_pool_t *pool);
/* Not in the plain run: "tw_unit redis <phase> <spec> [<extra>]" (tw_unit.c);
 * 0 when the phase could not run at all. */
int unit_store_redis(apr_pool_t *pool, const char *phase, const char *spec, const char *extra);
void unit_queue(void);

#endif /* TW_UNIT_COMMON_H */
