/*
 * SPDX-License-Identifier: Apache-2.0
 * test_queue.c - unit tests of tw_queue.c: the retry schedule, the dead
 * decision and the TW-Dispatch credential.
 */
#include <string.h>

#include "twwebhook.h"
#include "tw/queue.h"
#include "tap.h"
#include "unit_common.h"

#define SEC(n) apr_time_from_sec(n)

static void test_retry_delay(void)
{
    tw_retry_t r = { .attempts = 10, .max_age = 0, .base = SEC(5), .cap = SEC(60) };

    is_int((long)tw_retry_delay(&r, 1, 0), (long)SEC(5) / 2, "attempt 1, jitter 0: half the base");
    is_int((long)tw_retry_delay(&r, 1, UINT32_MAX), (long)SEC(5) - 1,
           "attempt 1, jitter max: just under the base");
    is_int((long)tw_retry_delay(&r, 2, 0), (long)SEC(5), "attempt 2, jitter 0: half of twice the base");
    is_int((long)tw_retry_delay(&r, 3, 0x80000000u), (long)(SEC(10) + SEC(5)),
           "attempt 3, jitter half: 3/4 of four times the base");
    is_int((long)tw_retry_delay(&r, 4, 0), (long)SEC(20), "attempt 4: half of 40 s");
    is_int((long)tw_retry_delay(&r, 5, 0), (long)SEC(30), "attempt 5: capped at 60 s, half of it");
    is_int((long)tw_retry_delay(&r, 5, UINT32_MAX), (long)SEC(60) - 1, "... never above the cap");
    is_int((long)tw_retry_delay(&r, 4000000000u, UINT32_MAX), (long)SEC(60) - 1,
           "a huge attempt number: the cap, no overflow");
    is_int((long)tw_retry_delay(&r, 0, 0), (long)SEC(5) / 2, "attempt 0 counts as the first");
    r.base = 200000;
    r.cap = SEC(3600);
    is_int((long)tw_retry_delay(&r, 3, 0), 400000L, "base 200 ms, attempt 3: at least 400 ms");
}

static void test_retry_dead(void)
{
    tw_retry_t r = { .attempts = 3, .max_age = SEC(100), .base = SEC(1), .cap = SEC(10) };
    apr_time_t t0 = SEC(1000000);

    ok(!tw_retry_is_dead(&r, 1, t0, t0 + SEC(1)), "attempt 1 of 3 failed: tried again");
    ok(!tw_retry_is_dead(&r, 2, t0, t0 + SEC(2)), "attempt 2 of 3 failed: tried again");
    ok(tw_retry_is_dead(&r, 3, t0, t0 + SEC(3)), "attempt 3 of 3 failed: dead");
    ok(tw_retry_is_dead(&r, 7, t0, t0 + SEC(3)), "more attempts than the limit (a requeue): dead");
    ok(!tw_retry_is_dead(&r, 1, t0, t0 + SEC(100)), "next exactly at max-age: tried again");
    ok(tw_retry_is_dead(&r, 1, t0, t0 + SEC(100) + 1), "next past max-age: dead");
    r.attempts = 0;
    ok(!tw_retry_is_dead(&r, 1000, t0, t0 + SEC(50)), "attempts=0: no attempt limit");
    r.max_age = 0;
    ok(!tw_retry_is_dead(&r, 1000, t0, t0 + SEC(5000000)), "max-age=0 too: never dead");
}

/* Computed with Python's hmac (key bytes 0..31) for this test. */
#define D_ID   "abababababababababababababababababababababababababababababababab"
#define D_MAC  "1d9eeacdd4354fcaee1e4110710b5a5f46df65141c0fbba5b99652a40c0501f0"

static void test_dispatch(void)
{
    unsigned char key[TW_DISPATCH_KEY_LEN], other[TW_DISPATCH_KEY_LEN];
    char value[TW_DISPATCH_VALUE_MAX + 1], bad[TW_DISPATCH_VALUE_MAX + 40];
    tw_dispatch_t d;
    size_t i;

    for (i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char)i;
        other[i] = (unsigned char)(i + 1);
    }
    is_int(tw_dispatch_sign(key, D_ID, 3, 1700000000, "POST", "/hook?x=1", value), TW_OK,
           "tw_dispatch_sign: succeeds");
    is_str(value, "v1 " D_ID " 3 1700000000 " D_MAC, "... the documented format and MAC");
    is_int(tw_dispatch_check(key, value, "POST", "/hook?x=1", 1700000000, &d), TW_OK,
           "tw_dispatch_check: good until its expiry second");
    is_str(d.id, D_ID, "... the entry id");
    is_int(d.attempt, 3, "... the attempt");
    is_int((long)d.expires, 1700000000L, "... the expiry");
    is_int(tw_dispatch_check(key, value, "POST", "/hook?x=1", 1700000001, &d), TW_ERR_TS_STALE,
           "one second later: expired");
    is_str(d.id, "", "... and nothing named");
    is_int(tw_dispatch_check(other, value, "POST", "/hook?x=1", 1, &d), TW_ERR_SIG_MISMATCH,
           "another server's key: mismatch");
    is_int(tw_dispatch_check(key, value, "POST", "/hook?x=2", 1, &d), TW_ERR_SIG_MISMATCH,
           "another target: mismatch");
    is_int(tw_dispatch_check(key, value, "POST", "/other", 1, &d), TW_ERR_SIG_MISMATCH,
           "another path: mismatch");
    is_int(tw_dispatch_check(key, value, "PUT", "/hook?x=1", 1, &d), TW_ERR_SIG_MISMATCH,
           "another method: mismatch");

    snprintf(bad, sizeof(bad), "v1 %s 4 1700000000 %s", D_ID, D_MAC);
    is_int(tw_dispatch_check(key, bad, "POST", "/hook?x=1", 1, &d), TW_ERR_SIG_MISMATCH,
           "another attempt with the same MAC: mismatch");
    snprintf(bad, sizeof(bad), "v1 %s 3 1800000000 %s", D_ID, D_MAC);
    is_int(tw_dispatch_check(key, bad, "POST", "/hook?x=1", 1, &d), TW_ERR_SIG_MISMATCH,
           "a later expiry with the same MAC: mismatch");
    snprintf(bad, sizeof(bad), "v1 %s 3 1700000000 %s",
             "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", D_MAC);
    is_int(tw_dispatch_check(key, bad, "POST", "/hook?x=1", 1, &d), TW_ERR_SIG_MISMATCH,
           "another entry id with the same MAC: mismatch");

    {
        static const char *const malformed[] = {
            "", "v1", "v2 " D_ID " 3 1700000000 " D_MAC,
            "v1  " D_ID " 3 1700000000 " D_MAC,
            "v1 " D_ID " 3 1700000000 " D_MAC " ",
            "v1 " D_ID " 03 1700000000 " D_MAC,
            "v1 " D_ID " -3 1700000000 " D_MAC,
            "v1 " D_ID " 3 17000x0000 " D_MAC,
            "v1 " D_ID " 3 1700000000 " "1d9e",
            "v1 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB 3 1700000000 " D_MAC,
            "v1 " D_ID " 3 1700000000 " "zd9eeacdd4354fcaee1e4110710b5a5f46df65141c0fbba5b99652a40c0501f0",
            "v1 " D_ID " 3 1700000000\t" D_MAC,
        };
        for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
            is_int(tw_dispatch_check(key, malformed[i], "POST", "/hook?x=1", 1, &d),
                   TW_ERR_SIG_MALFORMED, "malformed credential %u: refused", (unsigned)i);
    }
    is_int(tw_dispatch_check(key, NULL, "POST", "/", 1, &d), TW_ERR_SIG_MALFORMED,
           "no credential: malformed");
    is_int(tw_dispatch_sign(key, "xyz", 1, 1, "POST", "/", value), TW_ERR_ARG,
           "sign: not an entry id: refused");
    is_int(tw_dispatch_sign(key, D_ID, 1, 1, "POST", "hook", value), TW_ERR_ARG,
           "sign: a target without /: refused");
    is_int(tw_dispatch_sign(key, D_ID, 1, 1, "", "/", value), TW_ERR_ARG,
           "sign: no method: refused");
}

void unit_queue(void)
{
    test_retry_delay();
    test_retry_dead();
    test_dispatch();
}
