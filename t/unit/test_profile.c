/*
 * SPDX-License-Identifier: Apache-2.0
 * test_profile.c - unit tests of tw_profile.c: the providers' profiles and
 * how each turns a secret into a key.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- profiles ------------------------------------------------------------------ */

static void test_profiles(void)
{
    static const char *names[] = {
        "teamwork", "teamwork-projects", "teamwork-desk", "github",
        "standard-webhooks", "stripe", "slack", "shopify"
    };
    const tw_profile_t *p;
    size_t i, n = 0;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        p = tw_profile_find(names[i]);
        ok(p != NULL && strcmp(p->name, names[i]) == 0, "profile %s is found by name", names[i]);
        ok(p != NULL && p->signature_header != NULL && p->description != NULL,
           "... with a signature header and a description");
    }
    while (tw_profile_at(n) != NULL)
        n++;
    is_int(n, sizeof(names) / sizeof(names[0]), "tw_profile_at walks all profiles, then NULL");
    ok(tw_profile_at(0) == tw_profile_default(), "the first profile is the default");
    is_str(tw_profile_default()->name, "teamwork", "the default is teamwork");
    is_str(tw_profile_default()->signature_header, "Signature", "... reading the Signature header");
    ok(tw_profile_find("GitHub") == NULL, "names are case-sensitive");
    ok(tw_profile_find("teamwork ") == NULL, "a trailing space is another name");
    ok(tw_profile_find("") == NULL && tw_profile_find(NULL) == NULL, "empty and NULL names: NULL");

    p = tw_profile_find("standard-webhooks");
    ok(p->signs_timestamp && p->id_header != NULL && strcmp(p->id_header, "webhook-id") == 0
       && strcmp(p->timestamp_header, "webhook-timestamp") == 0,
       "standard-webhooks signs webhook-timestamp and webhook-id");
    ok(p->event_source == TW_SOURCE_BODY && strcmp(p->event_field, "/type") == 0,
       "... and its event is the body's /type");
    p = tw_profile_find("stripe");
    ok(p->signs_timestamp && p->timestamp_header == NULL && p->delivery_source == TW_SOURCE_BODY
       && strcmp(p->delivery_field, "/id") == 0,
       "stripe: timestamp inside the signature, delivery the body's /id");
    p = tw_profile_find("slack");
    ok(p->event_source == TW_SOURCE_NONE && p->delivery_source == TW_SOURCE_NONE
       && strcmp(p->timestamp_header, "X-Slack-Request-Timestamp") == 0,
       "slack: a timestamp header, no event, no delivery");
    for (i = 0; (p = tw_profile_at(i)) != NULL; i++) {
        ok(p->signs_timestamp == (p->signed_form != TW_SIGNED_BODY),
           "%s: signs a timestamp exactly when it signs more than the body", p->name);
    }
}

static void test_profile_key(void)
{
    static unsigned char key[TW_SECRET_MAX];
    const tw_profile_t *sw = tw_profile_find("standard-webhooks");
    const tw_profile_t *stripe = tw_profile_find("stripe");
    static const char *bad[] = {
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw",
        "whsec_====", "whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    };
    unsigned char want[24];
    size_t n, i;

    is_int(tw_base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32, want, sizeof(want), &n), TW_OK,
           "the spec's whsec_ secret is base64");
    n = 0;
    is_int(tw_profile_key(sw, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38, key, sizeof(key), &n),
           TW_OK, "standard-webhooks: whsec_ secret decodes");
    ok(n == 24 && memcmp(key, want, 24) == 0, "... to its 24 bytes");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(key, 0x55, sizeof(key));
        n = 99;
        is_int(tw_profile_key(sw, bad[i], strlen(bad[i]), key, sizeof(key), &n),
               TW_ERR_SECRET_MALFORMED, "standard-webhooks refuses secret \"%s\"", bad[i]);
        ok(n == 0 && key[0] == 0 && key[23] == 0, "... with *plen 0 and the key buffer cleansed");
    }
    is_int(tw_profile_key(stripe, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38, key, sizeof(key), &n),
           TW_OK, "stripe: a whsec_ secret ...");
    ok(n == 38 && memcmp(key, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38) == 0,
       "... is the key as a string");
    is_int(tw_profile_key(tw_profile_default(), "tok", 3, key, sizeof(key), &n), TW_OK,
           "teamwork: raw bytes");
    ok(n == 3 && memcmp(key, "tok", 3) == 0, "... unchanged");
    is_int(tw_profile_key(tw_profile_default(), "tok", 0, key, sizeof(key), &n), TW_ERR_ARG,
           "an empty secret: TW_ERR_ARG");
    is_int(tw_profile_key(tw_profile_default(), key, TW_SECRET_MAX + 1, key, sizeof(key), &n),
           TW_ERR_ARG, "an over-long secret: TW_ERR_ARG");
    is_int(tw_profile_key(tw_profile_default(), "tok", 3, key, TW_SECRET_MAX - 1, &n), TW_ERR_ARG,
           "an output smaller than TW_SECRET_MAX: TW_ERR_ARG");
    is_int(tw_profile_key(NULL, "tok", 3, key, sizeof(key), &n), TW_ERR_ARG, "a NULL profile: TW_ERR_ARG");
    is_int(tw_profile_key(sw, "tok", 3, key, sizeof(key), NULL), TW_ERR_ARG, "a NULL plen: TW_ERR_ARG");
}

void unit_profile(void)
{
    test_profiles();
    test_profile_key();
}
