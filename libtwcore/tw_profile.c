/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_profile.c - the providers' signing schemes: one static table, and the
 * rule that turns a configured secret into the HMAC key.
 *
 * The table is the one source of truth: the glue's TwWebhookProfile
 * directive, the documentation and twwebhook-sign all read it. Add a
 * provider here (and its grammar to tw_scheme.c when it is a new one).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "tw/scheme.h"
#include "tw/codec.h"

#define WHSEC_PREFIX     "whsec_"
#define WHSEC_PREFIX_LEN (sizeof(WHSEC_PREFIX) - 1)

static const tw_profile_t profiles[] = {
    {
        .name = "teamwork",
        .description = "Teamwork Spaces (the default)",
        .signature_header = "Signature",
        .event_source = TW_SOURCE_HEADER, .event_field = "Event",
        .delivery_source = TW_SOURCE_HEADER, .delivery_field = "Delivery",
        .sig_format = TW_SIG_HEX, .signed_form = TW_SIGNED_BODY, .key_form = TW_KEY_RAW,
    },
    {
        .name = "teamwork-projects",
        .description = "Teamwork.com Projects",
        .signature_header = "X-Projects-Signature",
        .event_source = TW_SOURCE_HEADER, .event_field = "X-Projects-Event",
        .delivery_source = TW_SOURCE_HEADER, .delivery_field = "X-Projects-Delivery",
        .sig_format = TW_SIG_HEX, .signed_form = TW_SIGNED_BODY, .key_form = TW_KEY_RAW,
    },
    {
        .name = "teamwork-desk",
        .description = "Teamwork Desk",
        .signature_header = "X-Desk-Signature",
        .event_source = TW_SOURCE_HEADER, .event_field = "X-Desk-Event",
        .delivery_source = TW_SOURCE_HEADER, .delivery_field = "X-Desk-Delivery",
        .sig_format = TW_SIG_HEX, .signed_form = TW_SIGNED_BODY, .key_form = TW_KEY_RAW,
    },
    {
        .name = "github",
        .description = "GitHub (X-Hub-Signature-256)",
        .signature_header = "X-Hub-Signature-256",
        .event_source = TW_SOURCE_HEADER, .event_field = "X-GitHub-Event",
        .delivery_source = TW_SOURCE_HEADER, .delivery_field = "X-GitHub-Delivery",
        .sig_format = TW_SIG_HEX_SHA256, .signed_form = TW_SIGNED_BODY, .key_form = TW_KEY_RAW,
    },
    {
        .name = "standard-webhooks",
        .description = "Standard Webhooks (Svix and others; whsec_ secrets)",
        .signature_header = "webhook-signature",
        .timestamp_header = "webhook-timestamp",
        .id_header = "webhook-id",
        .event_source = TW_SOURCE_BODY, .event_field = "/type",
        .delivery_source = TW_SOURCE_HEADER, .delivery_field = "webhook-id",
        .signs_timestamp = 1,
        .sig_format = TW_SIG_STANDARD_WEBHOOKS, .signed_form = TW_SIGNED_ID_TS_BODY,
        .key_form = TW_KEY_WHSEC_BASE64,
    },
    {
        .name = "stripe",
        .description = "Stripe (Stripe-Signature; the whsec_ secret is used as a string)",
        .signature_header = "Stripe-Signature",
        .event_source = TW_SOURCE_BODY, .event_field = "/type",
        .delivery_source = TW_SOURCE_BODY, .delivery_field = "/id",
        .signs_timestamp = 1,
        .sig_format = TW_SIG_STRIPE, .signed_form = TW_SIGNED_TS_BODY, .key_form = TW_KEY_RAW,
    },
    {
        .name = "slack",
        .description = "Slack (X-Slack-Signature v0)",
        .signature_header = "X-Slack-Signature",
        .timestamp_header = "X-Slack-Request-Timestamp",
        .event_source = TW_SOURCE_NONE,
        .delivery_source = TW_SOURCE_NONE,
        .signs_timestamp = 1,
        .sig_format = TW_SIG_HEX_V0, .signed_form = TW_SIGNED_V0_TS_BODY, .key_form = TW_KEY_RAW,
    },
    {
        .name = "shopify",
        .description = "Shopify (X-Shopify-Hmac-Sha256, base64)",
        .signature_header = "X-Shopify-Hmac-Sha256",
        .event_source = TW_SOURCE_HEADER, .event_field = "X-Shopify-Topic",
        .delivery_source = TW_SOURCE_HEADER, .delivery_field = "X-Shopify-Webhook-Id",
        .sig_format = TW_SIG_BASE64, .signed_form = TW_SIGNED_BODY, .key_form = TW_KEY_RAW,
    },
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

const tw_profile_t *tw_profile_find(const char *name)
{
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < NPROFILES; i++) {
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    }
    return NULL;
}

const tw_profile_t *tw_profile_default(void)
{
    return &profiles[0];
}

const tw_profile_t *tw_profile_at(size_t i)
{
    return i < NPROFILES ? &profiles[i] : NULL;
}

/* "whsec_" <strict base64 of 1..TW_SECRET_MAX bytes> into out. */
static tw_status_t whsec_decode(const char *secret, size_t len,
                                unsigned char *out, size_t *plen)
{
    if (len <= WHSEC_PREFIX_LEN || memcmp(secret, WHSEC_PREFIX, WHSEC_PREFIX_LEN) != 0)
        return TW_ERR_SECRET_MALFORMED;
    if (tw_base64_decode(secret + WHSEC_PREFIX_LEN, len - WHSEC_PREFIX_LEN,
                         out, TW_SECRET_MAX, plen) != TW_OK || *plen == 0)
        return TW_ERR_SECRET_MALFORMED;
    return TW_OK;
}

tw_status_t tw_profile_key(const tw_profile_t *p, const void *secret, size_t len,
                           unsigned char *out, size_t cap, size_t *plen)
{
    tw_status_t st;

    if (plen != NULL)
        *plen = 0;
    if (p == NULL || secret == NULL || out == NULL || plen == NULL || cap < TW_SECRET_MAX)
        return TW_ERR_ARG;
    if (len == 0 || len > TW_SECRET_MAX)
        return TW_ERR_ARG;

    if (p->key_form == TW_KEY_WHSEC_BASE64) {
        st = whsec_decode(secret, len, out, plen);
        if (st != TW_OK) {
            OPENSSL_cleanse(out, cap);
            *plen = 0;
        }
        return st;
    }
    memcpy(out, secret, len);
    *plen = len;
    return TW_OK;
}
