/*
 * SPDX-License-Identifier: Apache-2.0
 * test_sign.c - unit tests of tw_sign.c: signing a body as each provider
 * would, and what it signs verifies.
 */
#include <string.h>

#include "twwebhook.h"
#include "tw/sign.h"
#include "tap.h"
#include "unit_common.h"

/* ---- signing --------------------------------------------------------------------- */

/* The header named name in h, or NULL. */
static const char *signed_header(const tw_signed_headers_t *h, const char *name)
{
    size_t i;

    for (i = 0; i < h->nheaders; i++) {
        if (strcmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    }
    return NULL;
}

static void test_scheme_sign_examples(void)
{
    tw_signed_headers_t h;

    is_int(tw_scheme_sign(tw_profile_find("standard-webhooks"), SW_SECRET, strlen(SW_SECRET),
                          SW_BODY, strlen(SW_BODY), APR_INT64_C(1614265330), SW_ID, &h), TW_OK,
           "sign the standard-webhooks spec example");
    is_int(h.nheaders, 3, "... three headers");
    is_str(h.headers[0].name, "webhook-signature", "... the signature first");
    is_str(signed_header(&h, "webhook-signature"), SW_SIG, "... the spec's signature");
    is_str(signed_header(&h, "webhook-timestamp"), SW_TS, "... its timestamp");
    is_str(signed_header(&h, "webhook-id"), SW_ID, "... its id");

    is_int(tw_scheme_sign(tw_profile_find("slack"), SLACK_SECRET, strlen(SLACK_SECRET),
                          SLACK_BODY, strlen(SLACK_BODY), APR_INT64_C(1531420618), NULL, &h), TW_OK,
           "sign the slack example");
    is_str(signed_header(&h, "X-Slack-Signature"), SLACK_SIG, "... slack's signature");
    is_str(signed_header(&h, "X-Slack-Request-Timestamp"), SLACK_TS, "... and timestamp");

    is_int(tw_scheme_sign(tw_profile_find("github"), GH_SECRET, strlen(GH_SECRET),
                          GH_BODY, strlen(GH_BODY), 0, NULL, &h), TW_OK, "sign the github example");
    is_int(h.nheaders, 1, "... one header");
    is_str(signed_header(&h, "X-Hub-Signature-256"), "sha256=" GH_HEX, "... github's signature");

    require_int(tw_scheme_sign(tw_profile_find("stripe"), STRIPE_SECRET, strlen(STRIPE_SECRET),
                               STRIPE_BODY, strlen(STRIPE_BODY), APR_INT64_C(1700000000), NULL, &h),
                TW_OK, "sign for stripe");
    is_str(signed_header(&h, "Stripe-Signature"), "t=1700000000,v1=" STRIPE_HEX, "sign for stripe");
    is_int(h.nheaders, 1, "... one header");
    require_int(tw_scheme_sign(tw_profile_find("shopify"), SHOPIFY_SECRET, strlen(SHOPIFY_SECRET),
                               SHOPIFY_BODY, strlen(SHOPIFY_BODY), 0, NULL, &h),
                TW_OK, "sign for shopify");
    is_str(signed_header(&h, "X-Shopify-Hmac-Sha256"), SHOPIFY_SIG, "sign for shopify");
    require_int(tw_scheme_sign(tw_profile_default(), GH_SECRET, strlen(GH_SECRET),
                               GH_BODY, strlen(GH_BODY), 0, NULL, &h),
                TW_OK, "sign for teamwork");
    is_str(signed_header(&h, "Signature"), GH_HEX, "sign for teamwork: the bare hex, as before");
}

/* Whatever tw_scheme_sign makes, tw_scheme_parse and the verifier accept. */
static void test_scheme_sign_round_trip(void)
{
    static const char body[] = "{\"type\":\"a.b\",\"id\":\"evt_9\"}";
    const tw_profile_t *p;
    size_t i;

    for (i = 0; (p = tw_profile_at(i)) != NULL; i++) {
        const char *secret = p->key_form == TW_KEY_WHSEC_BASE64 ? SW_SECRET : "round-trip";
        const char *secrets[2] = { "other", secret };
        tw_signed_headers_t h;
        size_t m = 0, c = 0;

        is_int(tw_scheme_sign(p, secret, strlen(secret), body, strlen(body),
                              APR_INT64_C(1700000123), "msg_round_trip", &h), TW_OK,
               "%s: sign", p->name);
        is_int(verify_scheme(p, p->key_form == TW_KEY_WHSEC_BASE64 ? secrets + 1 : secrets,
                             p->key_form == TW_KEY_WHSEC_BASE64 ? 1 : 2,
                             signed_header(&h, p->signature_header),
                             p->timestamp_header ? signed_header(&h, p->timestamp_header) : NULL,
                             p->id_header ? signed_header(&h, p->id_header) : NULL,
                             body, &m, &c), TW_OK, "%s: ... and verify what was signed", p->name);
        is_int(m, p->key_form == TW_KEY_WHSEC_BASE64 ? 1 : 2, "%s: ... under the right key", p->name);
    }
}

static void test_scheme_sign_errors(void)
{
    const tw_profile_t *sw = tw_profile_find("standard-webhooks");
    tw_signed_headers_t h;

    is_int(tw_scheme_sign(sw, SW_SECRET, strlen(SW_SECRET), "x", 1, 1, NULL, &h), TW_ERR_ID_MISSING,
           "standard-webhooks without an id: TW_ERR_ID_MISSING");
    ok(h.nheaders == 0, "... and no headers");
    is_int(tw_scheme_sign(sw, SW_SECRET, strlen(SW_SECRET), "x", 1, 1, "a.b", &h), TW_ERR_ID_MALFORMED,
           "an id with a dot: TW_ERR_ID_MALFORMED");
    is_int(tw_scheme_sign(sw, "not-whsec", 9, "x", 1, 1, "a", &h), TW_ERR_SECRET_MALFORMED,
           "a secret without whsec_: TW_ERR_SECRET_MALFORMED");
    is_int(tw_scheme_sign(sw, SW_SECRET, strlen(SW_SECRET), "x", 1, -1, "a", &h), TW_ERR_TS_MALFORMED,
           "a negative timestamp: TW_ERR_TS_MALFORMED");
    is_int(tw_scheme_sign(tw_profile_find("slack"), "k", 1, "x", 1, TW_TIMESTAMP_MAX + 1, NULL, &h),
           TW_ERR_TS_MALFORMED, "a timestamp past 10^12: TW_ERR_TS_MALFORMED");
    is_int(tw_scheme_sign(tw_profile_find("github"), "k", 1, "x", 1, -1, NULL, &h), TW_OK,
           "github ignores the timestamp");
    is_int(tw_scheme_sign(tw_profile_find("github"), "k", 0, "x", 1, 0, NULL, &h), TW_ERR_ARG,
           "an empty secret: TW_ERR_ARG");
    is_int(tw_scheme_sign(NULL, "k", 1, "x", 1, 0, NULL, &h), TW_ERR_ARG, "a NULL profile: TW_ERR_ARG");
    is_int(tw_scheme_sign(tw_profile_default(), "k", 1, NULL, 1, 0, NULL, &h), TW_ERR_ARG,
           "a NULL body of length 1: TW_ERR_ARG");
    is_int(tw_scheme_sign(tw_profile_default(), "k", 1, NULL, 0, 0, NULL, &h), TW_OK,
           "an empty body may be NULL");
    is_int(tw_scheme_sign(tw_profile_default(), "k", 1, "x", 1, 0, NULL, NULL), TW_ERR_ARG,
           "a NULL output: TW_ERR_ARG");
}

void unit_sign(void)
{
    test_scheme_sign_examples();
    test_scheme_sign_round_trip();
    test_scheme_sign_errors();
}
