/*
 * SPDX-License-Identifier: Apache-2.0
 * test_scheme.c - unit tests of tw_scheme.c: timestamps, ids, and what a
 * request's headers say must be verified, for every profile.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- timestamps and ids ----------------------------------------------------------- */

static void test_timestamp_parse(void)
{
    static const struct { const char *s; tw_status_t st; apr_int64_t v; } cases[] = {
        { "0", TW_OK, 0 },
        { "1614265330", TW_OK, APR_INT64_C(1614265330) },
        { "999999999999", TW_OK, APR_INT64_C(999999999999) },
        { "1000000000000", TW_OK, APR_INT64_C(1000000000000) },
        { "1000000000001", TW_ERR_TS_MALFORMED, 0 },
        { "9999999999999", TW_ERR_TS_MALFORMED, 0 },
        { "10000000000000", TW_ERR_TS_MALFORMED, 0 },
        { "99999999999999999999999", TW_ERR_TS_MALFORMED, 0 },
        { "18446744073709551617", TW_ERR_TS_MALFORMED, 0 },
        { "", TW_ERR_TS_MALFORMED, 0 },
        { "+1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "-1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "-0", TW_ERR_TS_MALFORMED, 0 },
        { " 1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "1614265330 ", TW_ERR_TS_MALFORMED, 0 },
        { "\t1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "1614265330\n", TW_ERR_TS_MALFORMED, 0 },
        { "01614265330", TW_ERR_TS_MALFORMED, 0 },
        { "00", TW_ERR_TS_MALFORMED, 0 },
        { "1614265330.5", TW_ERR_TS_MALFORMED, 0 },
        { "1e9", TW_ERR_TS_MALFORMED, 0 },
        { "0x10", TW_ERR_TS_MALFORMED, 0 },
        { "16142653a0", TW_ERR_TS_MALFORMED, 0 },
        { "\xef\xbc\x91", TW_ERR_TS_MALFORMED, 0 },   /* fullwidth digit one */
        { "2024-01-01T00:00:00Z", TW_ERR_TS_MALFORMED, 0 },
    };
    apr_int64_t v;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 42;
        is_int(tw_timestamp_parse(cases[i].s, &v), cases[i].st, "timestamp \"%s\": %s",
               cases[i].s, tw_status_str(cases[i].st));
        is_int(v, cases[i].v, "... value %" APR_INT64_T_FMT, cases[i].v);
    }
    is_int(tw_timestamp_parse(NULL, &v), TW_ERR_TS_MISSING, "timestamp NULL: missing");
    is_int(tw_timestamp_parse("1", NULL), TW_ERR_ARG, "timestamp into NULL: TW_ERR_ARG");
}

static void test_timestamp_check(void)
{
    const apr_int64_t now = APR_INT64_C(1700000000), tol = 300;

    is_int(tw_timestamp_check(now, now, tol), TW_OK, "timestamp == now: ok");
    is_int(tw_timestamp_check(now - tol, now, tol), TW_OK, "exactly tolerance old: ok");
    is_int(tw_timestamp_check(now - tol - 1, now, tol), TW_ERR_TS_STALE, "tolerance + 1 old: stale");
    is_int(tw_timestamp_check(now + tol, now, tol), TW_OK, "exactly tolerance ahead: ok");
    is_int(tw_timestamp_check(now + tol + 1, now, tol), TW_ERR_TS_FUTURE, "tolerance + 1 ahead: future");
    is_int(tw_timestamp_check(now, now, 0), TW_OK, "tolerance 0, same second: ok");
    is_int(tw_timestamp_check(now - 1, now, 0), TW_ERR_TS_STALE, "tolerance 0, a second old: stale");
    is_int(tw_timestamp_check(now + 1, now, 0), TW_ERR_TS_FUTURE, "tolerance 0, a second ahead: future");
    is_int(tw_timestamp_check(0, now, tol), TW_ERR_TS_STALE, "timestamp 0: stale");
    is_int(tw_timestamp_check(TW_TIMESTAMP_MAX, now, tol), TW_ERR_TS_FUTURE, "timestamp 10^12: future");
    is_int(tw_timestamp_check(0, INT64_MAX, INT64_MAX), TW_OK, "extreme values do not overflow (ok)");
    is_int(tw_timestamp_check(INT64_MIN, INT64_MAX, INT64_MAX), TW_ERR_TS_STALE,
           "extreme values do not overflow (stale)");
    is_int(tw_timestamp_check(INT64_MAX, INT64_MIN, 5), TW_ERR_TS_FUTURE,
           "extreme values do not overflow (future)");
    is_int(tw_timestamp_check(now, now, -1), TW_ERR_ARG, "negative tolerance: TW_ERR_ARG");
}

static const struct verdict_case webhook_id_is_plain_cases[] = {
    { "msg_p5jXN8AQM9LWM0D4loKWxJek", 1, "msg_p5jXN8AQM9LWM0D4loKWxJek is plain" },
    { "a-B_9", 1, "a-B_9 is plain" },
    { "", 0, "empty is not" },
    { NULL, 0, "NULL is not" },
    { "msg.1", 0, "a dot is not (it separates the signed parts)" },
    { "msg 1", 0, "a space is not" },
    { "msg\n1", 0, "a newline is not" },
    { "msg/1", 0, "a slash is not" },
    { "m\xc3\xa9", 0, "non-ASCII is not" },
};

static void test_webhook_id(void)
{
    char id[TW_ID_MAX + 2];

    CHECK_VERDICTS(tw_webhook_id_is_plain, webhook_id_is_plain_cases);
    memset(id, 'a', sizeof(id));
    id[TW_ID_MAX] = '\0';
    ok(tw_webhook_id_is_plain(id), "TW_ID_MAX characters are plain");
    id[TW_ID_MAX] = 'a';
    id[TW_ID_MAX + 1] = '\0';
    ok(!tw_webhook_id_is_plain(id), "TW_ID_MAX + 1 are not");
}

/* ---- parsing and verifying a request ------------------------------------------------ */

static void test_scheme_examples(void)
{
    const char *sw[1] = { SW_SECRET }, *slack[1] = { SLACK_SECRET }, *gh[1] = { GH_SECRET };
    const char *stripe[1] = { STRIPE_SECRET }, *shopify[1] = { SHOPIFY_SECRET };
    const tw_profile_t *p;
    tw_signed_t s;
    size_t m, c;

    p = tw_profile_find("standard-webhooks");
    is_int(tw_scheme_parse(p, SW_SIG, SW_TS, SW_ID, &s), TW_OK, "standard-webhooks spec example parses");
    ok(s.prefix_len == strlen(SW_ID "." SW_TS ".") && memcmp(s.prefix, SW_ID "." SW_TS ".", s.prefix_len) == 0,
       "... prefix <id>.<timestamp>.");
    ok(s.has_timestamp && s.timestamp == APR_INT64_C(1614265330) && s.ncandidates == 1,
       "... one candidate, timestamp 1614265330");
    is_int(verify_scheme(p, sw, 1, SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c), TW_OK,
           "standard-webhooks spec example verifies");
    ok(m == 1 && c == 1, "... key 1, candidate 1");
    is_int(verify_scheme(p, sw, 1, SW_SIG, "1614265331", SW_ID, SW_BODY, &m, &c), TW_ERR_SIG_MISMATCH,
           "... another timestamp: mismatch");
    is_int(verify_scheme(p, sw, 1, SW_SIG, SW_TS, "msg_p5jXN8AQM9LWM0D4loKWxJel", SW_BODY, &m, &c),
           TW_ERR_SIG_MISMATCH, "... another id: mismatch");
    is_int(verify_scheme(p, sw, 1, SW_SIG, SW_TS, SW_ID, "{\"test\": 2432232315}", &m, &c),
           TW_ERR_SIG_MISMATCH, "... another body: mismatch");
    ok(m == 0 && c == 0, "... key 0, candidate 0");

    p = tw_profile_find("slack");
    is_int(tw_scheme_parse(p, SLACK_SIG, SLACK_TS, NULL, &s), TW_OK, "slack documented example parses");
    ok(s.prefix_len == 14 && memcmp(s.prefix, "v0:" SLACK_TS ":", 14) == 0, "... prefix v0:<timestamp>:");
    is_int(verify_scheme(p, slack, 1, SLACK_SIG, SLACK_TS, NULL, SLACK_BODY, &m, &c), TW_OK,
           "slack documented example verifies");
    is_int(verify_scheme(p, slack, 1, SLACK_SIG, "1531420619", NULL, SLACK_BODY, &m, &c),
           TW_ERR_SIG_MISMATCH, "... another timestamp: mismatch");

    p = tw_profile_find("github");
    is_int(verify_scheme(p, gh, 1, "sha256=" GH_HEX, NULL, NULL, GH_BODY, &m, &c), TW_OK,
           "github documented example verifies");
    is_int(tw_scheme_parse(p, "sha256=" GH_HEX, "1", "x", &s), TW_OK,
           "github ignores a timestamp and an id");
    ok(s.prefix_len == 0 && !s.has_timestamp, "... nothing signed before the body");

    p = tw_profile_find("stripe");
    is_int(tw_scheme_parse(p, "t=1700000000,v1=" STRIPE_HEX ",v0=" WRONG_HEX, NULL, NULL, &s), TW_OK,
           "stripe header parses");
    ok(s.ncandidates == 1 && s.timestamp == APR_INT64_C(1700000000)
       && s.prefix_len == 11 && memcmp(s.prefix, "1700000000.", 11) == 0,
       "... v0 skipped, prefix <t>.");
    is_int(verify_scheme(p, stripe, 1, "t=1700000000,v1=" STRIPE_HEX, "999", NULL, STRIPE_BODY, &m, &c),
           TW_OK, "stripe verifies (whsec_ as a string; a timestamp header is ignored)");
    is_int(verify_scheme(p, stripe, 1, "v1=" STRIPE_HEX ",t=1700000000", NULL, NULL, STRIPE_BODY, &m, &c),
           TW_OK, "... in either order");

    p = tw_profile_find("shopify");
    is_int(verify_scheme(p, shopify, 1, SHOPIFY_SIG, NULL, NULL, SHOPIFY_BODY, &m, &c), TW_OK,
           "shopify base64 verifies");

    p = tw_profile_find("teamwork-desk");
    is_int(verify_scheme(p, gh, 1, GH_HEX, NULL, NULL, GH_BODY, &m, &c), TW_OK,
           "teamwork-desk verifies plain hex");
    p = tw_profile_find("teamwork-projects");
    is_int(verify_scheme(p, gh, 1, "SHA256=" GH_HEX, NULL, NULL, GH_BODY, &m, &c), TW_OK,
           "teamwork-projects accepts the old optional prefix");
}

/* Several candidates and several keys: every combination is found. */
static void test_scheme_candidates(void)
{
    const char *one[1] = { SW_SECRET };
    const char *three[3] = { "whsec_AAAA", SW_SECRET, "whsec_BBBB" };
    const tw_profile_t *sw = tw_profile_find("standard-webhooks"), *stripe = tw_profile_find("stripe");
    const char *stripe_keys[2] = { "old", STRIPE_SECRET };
    size_t m, c;

    is_int(verify_scheme(sw, one, 1, SW_WRONG " " SW_SIG " " SW_WRONG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_OK, "standard-webhooks: 3 candidates, the middle one right");
    ok(m == 1 && c == 2, "... key 1, candidate 2");
    is_int(verify_scheme(sw, three, 3, SW_WRONG " v1a,xyz " SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_OK, "3 keys, a v1a entry skipped, the last candidate right");
    ok(m == 2 && c == 2, "... key 2, candidate 2 (v1a does not count)");
    is_int(verify_scheme(sw, one, 1, SW_WRONG " " SW_WRONG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_ERR_SIG_MISMATCH, "two wrong candidates: mismatch");
    ok(m == 0 && c == 0, "... key 0, candidate 0");
    is_int(verify_scheme(sw, one, 1, SW_SIG " " SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c), TW_OK,
           "the right candidate twice: ok");
    ok(m == 1 && c == 1, "... the first one reported");
    is_int(verify_scheme(sw, one, 1,
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_WRONG " "
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_OK, "8 candidates (TW_CANDIDATES_MAX), the last right: ok");
    ok(m == 1 && c == 8, "... candidate 8");
    is_int(verify_scheme(sw, one, 1,
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_WRONG " "
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_SIG,
                         SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_ERR_SIG_MALFORMED, "9 candidates: malformed, even with a right one");
    is_int(verify_scheme(sw, one, 1,
                         "v2,a v2,a v2,a v2,a v2,a v2,a v2,a v2,a " SW_SIG,
                         SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_ERR_SIG_MALFORMED, "9 entries, 8 of them skipped: still malformed");

    is_int(verify_scheme(stripe, stripe_keys, 2, "t=1700000000,v1=" WRONG_HEX ",v1=" STRIPE_HEX ",v0=" WRONG_HEX,
                         NULL, NULL, STRIPE_BODY, &m, &c),
           TW_OK, "stripe: two v1, the second right, under the second key");
    ok(m == 2 && c == 2, "... key 2, candidate 2");

    {
        /* The verifier itself, with hand-made candidates. */
        unsigned char cands[TW_CANDIDATES_MAX + 1][TW_MAC_LEN];
        tw_key_t *k = NULL;
        tw_verifier_t *v = NULL;
        size_t i;

        require_int(tw_key_create(&k, GH_SECRET, strlen(GH_SECRET)), TW_OK, "github's key");
        for (i = 0; i < TW_CANDIDATES_MAX + 1; i++)
            memset(cands[i], (int)i, TW_MAC_LEN);
        unhex(GH_HEX, cands[5], TW_MAC_LEN);
        require_int(tw_verifier_create(&v, (const tw_key_t *const *)&k, 1), TW_OK, "verifier");
        require_int(tw_verifier_update(v, GH_BODY, strlen(GH_BODY)), TW_OK, "update with the body");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 0, &m, &c),
               TW_ERR_ARG, "finish_any with 0 candidates: TW_ERR_ARG");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands,
                                      TW_CANDIDATES_MAX + 1, &m, &c),
               TW_ERR_ARG, "finish_any with TW_CANDIDATES_MAX + 1: TW_ERR_ARG");
        is_int(tw_verifier_finish_any(v, NULL, 1, &m, &c), TW_ERR_ARG, "finish_any with NULL: TW_ERR_ARG");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 6, NULL, NULL),
               TW_OK, "finish_any after refused calls still works; NULL outputs allowed");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 6, &m, &c),
               TW_ERR_ARG, "finish_any a second time: TW_ERR_ARG");
        ok(m == 0 && c == 0, "... with both outputs 0");
        tw_verifier_destroy(v);
        require_int(tw_verifier_create(&v, (const tw_key_t *const *)&k, 1), TW_OK, "verifier");
        require_int(tw_verifier_update(v, GH_BODY, strlen(GH_BODY)), TW_OK, "update with the body");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 5, &m, &c),
               TW_ERR_SIG_MISMATCH, "the right MAC just past ncandidates is not looked at");
        tw_verifier_destroy(v);
        tw_key_destroy(k);
    }
}

struct scheme_case {
    const char *profile, *sig, *ts, *id;
    tw_status_t st;
    const char *name;
};

static void test_scheme_malformed(void)
{
    static const struct scheme_case cases[] = {
        /* github */
        { "github", NULL, NULL, NULL, TW_ERR_SIG_MISSING, "no header" },
        { "github", GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "no sha256= prefix" },
        { "github", "SHA256=" GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "upper-case prefix" },
        { "github", "sha256=" GH_HEX "0", NULL, NULL, TW_ERR_SIG_MALFORMED, "65 digits" },
        { "github", "sha256=" GH_HEX " ", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing space" },
        { "github", "sha1=" GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "sha1=" },
        { "github", "", NULL, NULL, TW_ERR_SIG_MALFORMED, "empty" },
        /* slack */
        { "slack", "v0=" GH_HEX, NULL, NULL, TW_ERR_TS_MISSING, "no timestamp header" },
        { "slack", "v0=" GH_HEX, "", NULL, TW_ERR_TS_MALFORMED, "empty timestamp" },
        { "slack", "v0=" GH_HEX, " 1531420618", NULL, TW_ERR_TS_MALFORMED, "timestamp with a space" },
        { "slack", "v0=" GH_HEX, "1531420618x", NULL, TW_ERR_TS_MALFORMED, "timestamp with junk" },
        { "slack", "v1=" GH_HEX, "1531420618", NULL, TW_ERR_SIG_MALFORMED, "v1=" },
        { "slack", GH_HEX, "1531420618", NULL, TW_ERR_SIG_MALFORMED, "no v0=" },
        { "slack", "v0=" GH_HEX ",v0=" GH_HEX, "1531420618", NULL, TW_ERR_SIG_MALFORMED, "two" },
        { "slack", "v0=", "x", NULL, TW_ERR_SIG_MALFORMED, "bad signature before bad timestamp" },
        /* shopify */
        { "shopify", SW_SIG_B64 "\n", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing newline" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "no padding" },
        { "shopify", "g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "URL-safe alphabet" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "non-zero unused bits" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "31 bytes" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=g0hM", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "48 characters" },
        { "shopify", GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "hex" },
        /* standard-webhooks */
        { "standard-webhooks", NULL, NULL, NULL, TW_ERR_SIG_MISSING, "nothing at all" },
        { "standard-webhooks", "", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "empty" },
        { "standard-webhooks", SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "no v1," },
        { "standard-webhooks", "v1=" SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "v1=" },
        { "standard-webhooks", "V1," SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "V1, only" },
        { "standard-webhooks", "v1a," SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "v1a only" },
        { "standard-webhooks", "v1,", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "v1, without value" },
        { "standard-webhooks", ",abc", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "no tag" },
        { "standard-webhooks", SW_SIG " ", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "trailing space" },
        { "standard-webhooks", " " SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "leading space" },
        { "standard-webhooks", SW_SIG "  " SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "two spaces" },
        { "standard-webhooks", SW_SIG "\t" SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "tab" },
        { "standard-webhooks", SW_SIG "," SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "comma-separated" },
        { "standard-webhooks", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", SW_TS, SW_ID,
          TW_ERR_SIG_MALFORMED, "unpadded base64" },
        { "standard-webhooks", "v1," GH_HEX, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "hex value" },
        { "standard-webhooks", "v1a,xyz " SW_SIG " v1,AAAA", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED,
          "one bad v1 among good entries" },
        { "standard-webhooks", "v12345678901234567,x " SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED,
          "a 17-character tag" },
        { "standard-webhooks", SW_SIG, NULL, SW_ID, TW_ERR_TS_MISSING, "no timestamp" },
        { "standard-webhooks", SW_SIG, "1614265330.0", SW_ID, TW_ERR_TS_MALFORMED, "fractional timestamp" },
        { "standard-webhooks", SW_SIG, "-1614265330", SW_ID, TW_ERR_TS_MALFORMED, "negative timestamp" },
        { "standard-webhooks", SW_SIG, "99999999999999999999", SW_ID, TW_ERR_TS_MALFORMED, "huge timestamp" },
        { "standard-webhooks", SW_SIG, SW_TS, NULL, TW_ERR_ID_MISSING, "no id" },
        { "standard-webhooks", SW_SIG, SW_TS, "", TW_ERR_ID_MALFORMED, "empty id" },
        { "standard-webhooks", SW_SIG, SW_TS, "msg.1", TW_ERR_ID_MALFORMED, "id with a dot" },
        { "standard-webhooks", SW_SIG, SW_TS, "msg 1", TW_ERR_ID_MALFORMED, "id with a space" },
        { "standard-webhooks", SW_SIG, SW_TS, "msg\r\nX: 1", TW_ERR_ID_MALFORMED, "id with CRLF" },
        { "standard-webhooks", SW_SIG, "x", NULL, TW_ERR_TS_MALFORMED, "timestamp checked before id" },
        { "standard-webhooks", "bad", NULL, NULL, TW_ERR_SIG_MALFORMED, "signature checked first" },
        /* stripe */
        { "stripe", NULL, "1700000000", NULL, TW_ERR_SIG_MISSING, "no header" },
        { "stripe", "v1=" STRIPE_HEX, "1700000000", NULL, TW_ERR_TS_MISSING, "no t= (a header is no substitute)" },
        { "stripe", "t=1700000000", NULL, NULL, TW_ERR_SIG_MALFORMED, "no v1=" },
        { "stripe", "t=1700000000,v0=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "only v0=" },
        { "stripe", "t=1700000000,t=1700000001,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "two t=" },
        { "stripe", "t=1700000000,v1=" STRIPE_HEX ",", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing comma" },
        { "stripe", "t=1700000000,,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "empty entry" },
        { "stripe", "t=1700000000, v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "space after comma" },
        { "stripe", "t=1700000000,v1=" STRIPE_HEX "0", NULL, NULL, TW_ERR_SIG_MALFORMED, "65 digits" },
        { "stripe", "t=1700000000,v1", NULL, NULL, TW_ERR_SIG_MALFORMED, "key without =" },
        { "stripe", "t=1700000000,V1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "V1= is not v1=" },
        { "stripe", "t=1700000000;v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "semicolon" },
        { "stripe", "t=,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "empty t=" },
        { "stripe", "t=17e8,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_TS_MALFORMED, "t=17e8" },
        { "stripe", "t=-1,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_TS_MALFORMED, "t=-1" },
        { "stripe", "t=01700000000,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_TS_MALFORMED, "leading zero" },
        { "stripe", "t=1700000000,v0=x,v0=x,v0=x,v0=x,v0=x,v0=x,v0=x,v0=x,v1=" STRIPE_HEX, NULL, NULL,
          TW_ERR_SIG_MALFORMED, "9 signature entries" },
        /* teamwork: the old grammar, unchanged */
        { "teamwork", NULL, NULL, NULL, TW_ERR_SIG_MISSING, "no header" },
        { "teamwork", "v1=" GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "v1=" },
        { "teamwork-projects", GH_HEX ",", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing comma" },
    };
    tw_signed_t s, zero;
    size_t i;

    memset(&zero, 0, sizeof(zero));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const tw_profile_t *p = tw_profile_find(cases[i].profile);

        memset(&s, 0xee, sizeof(s));
        is_int(tw_scheme_parse(p, cases[i].sig, cases[i].ts, cases[i].id, &s), cases[i].st,
               "%s, %s: %s", cases[i].profile, cases[i].name, tw_status_str(cases[i].st));
        ok(memcmp(&s, &zero, sizeof(s)) == 0, "... and the output is zeroed");
    }
    is_int(tw_scheme_parse(NULL, GH_HEX, NULL, NULL, &s), TW_ERR_ARG, "a NULL profile: TW_ERR_ARG");
    is_int(tw_scheme_parse(tw_profile_default(), GH_HEX, NULL, NULL, NULL), TW_ERR_ARG,
           "a NULL output: TW_ERR_ARG");
}

void unit_scheme(void)
{
    test_timestamp_parse();
    test_timestamp_check();
    test_webhook_id();
    test_scheme_examples();
    test_scheme_candidates();
    test_scheme_malformed();
}
