/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_sign.c - signing a body as a provider would, for twwebhook-sign and
 * the tests.
 *
 * WARNING: this hands a MAC to its caller (as tw_hmac_sha256() does, which
 * it uses). Both live in libtwsign, which the module does not link: a MAC
 * the module computed must never reach a client (tw/sign.h). The
 * verification side it mirrors (profiles, tw_profile_key, the grammars) is
 * libtwcore's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "twwebhook.h"
#include "tw/sign.h"

/* The TW_SIGNED_* text signed before the body, into prefix (NUL-terminated). */
static tw_status_t sign_prefix(const tw_profile_t *p, apr_int64_t timestamp, const char *id,
                               char *prefix, size_t cap, size_t *plen)
{
    int n = 0;

    switch (p->signed_form) {
    case TW_SIGNED_BODY:
        n = snprintf(prefix, cap, "%s", "");
        break;
    case TW_SIGNED_ID_TS_BODY:
        n = snprintf(prefix, cap, "%s.%" APR_INT64_T_FMT ".", id, timestamp);
        break;
    case TW_SIGNED_TS_BODY:
        n = snprintf(prefix, cap, "%" APR_INT64_T_FMT ".", timestamp);
        break;
    case TW_SIGNED_V0_TS_BODY:
        n = snprintf(prefix, cap, "v0:%" APR_INT64_T_FMT ":", timestamp);
        break;
    default:
        return TW_ERR_ARG;
    }
    if (n < 0 || (size_t)n >= cap)
        return TW_ERR_ARG;
    *plen = (size_t)n;
    return TW_OK;
}

/* HMAC-SHA256 under key of prefix followed by body. */
static tw_status_t mac_prefix_and_body(const unsigned char *key, size_t key_len,
                                       const char *prefix, size_t prefix_len,
                                       const void *body, size_t len,
                                       unsigned char mac[TW_MAC_LEN])
{
    unsigned char *signed_bytes;
    tw_status_t st;

    if (len > SIZE_MAX - prefix_len - 1)
        return TW_ERR_ARG;
    signed_bytes = malloc(prefix_len + len + 1);
    if (signed_bytes == NULL)
        return TW_ERR_NOMEM;
    memcpy(signed_bytes, prefix, prefix_len);
    if (len > 0)
        memcpy(signed_bytes + prefix_len, body, len);
    st = tw_hmac_sha256(key, key_len, signed_bytes, prefix_len + len, mac);
    free(signed_bytes);
    return st;
}

/* The signature header's value for mac under p's grammar. */
static tw_status_t format_signature(const tw_profile_t *p, const unsigned char mac[TW_MAC_LEN],
                                    apr_int64_t timestamp, char *out, size_t cap)
{
    char hex[TW_MAC_HEX_LEN + 1], b64[TW_BASE64_LEN(TW_MAC_LEN) + 1];
    int n;

    if (tw_hex_encode(mac, TW_MAC_LEN, hex, sizeof(hex)) != TW_OK
        || tw_base64_encode(mac, TW_MAC_LEN, b64, sizeof(b64)) != TW_OK)
        return TW_ERR_ARG;
    switch (p->sig_format) {
    case TW_SIG_HEX:               n = snprintf(out, cap, "%s", hex); break;
    case TW_SIG_HEX_SHA256:        n = snprintf(out, cap, "sha256=%s", hex); break;
    case TW_SIG_HEX_V0:            n = snprintf(out, cap, "v0=%s", hex); break;
    case TW_SIG_BASE64:            n = snprintf(out, cap, "%s", b64); break;
    case TW_SIG_STANDARD_WEBHOOKS: n = snprintf(out, cap, "v1,%s", b64); break;
    case TW_SIG_STRIPE:
        n = snprintf(out, cap, "t=%" APR_INT64_T_FMT ",v1=%s", timestamp, hex);
        break;
    default:
        return TW_ERR_ARG;
    }
    OPENSSL_cleanse(hex, sizeof(hex));
    OPENSSL_cleanse(b64, sizeof(b64));
    return n >= 0 && (size_t)n < cap ? TW_OK : TW_ERR_ARG;
}

static tw_header_t *add_header(tw_signed_headers_t *out, const char *name)
{
    tw_header_t *h = &out->headers[out->nheaders++];

    h->name = name;
    h->value[0] = '\0';
    return h;
}

/* The timestamp and id rules a receiver applies, checked before signing. */
static tw_status_t check_sign_inputs(const tw_profile_t *p, apr_int64_t timestamp,
                                     const char *id)
{
    if (p->signs_timestamp && (timestamp < 0 || timestamp > TW_TIMESTAMP_MAX))
        return TW_ERR_TS_MALFORMED;
    if (p->signed_form == TW_SIGNED_ID_TS_BODY) {
        if (id == NULL)
            return TW_ERR_ID_MISSING;
        if (!tw_webhook_id_is_plain(id))
            return TW_ERR_ID_MALFORMED;
    }
    return TW_OK;
}

tw_status_t tw_scheme_sign(const tw_profile_t *p, const void *secret, size_t secret_len,
                           const void *body, size_t len, apr_int64_t timestamp,
                           const char *id, tw_signed_headers_t *out)
{
    unsigned char key[TW_SECRET_MAX], mac[TW_MAC_LEN];
    char prefix[TW_SIGNED_PREFIX_MAX];
    size_t key_len = 0, prefix_len = 0;
    tw_header_t *h;
    tw_status_t st;

    if (out == NULL)
        return TW_ERR_ARG;
    memset(out, 0, sizeof(*out));
    if (p == NULL || (body == NULL && len > 0))
        return TW_ERR_ARG;
    st = check_sign_inputs(p, timestamp, id);
    if (st == TW_OK)
        st = tw_profile_key(p, secret, secret_len, key, sizeof(key), &key_len);
    if (st == TW_OK)
        st = sign_prefix(p, timestamp, id, prefix, sizeof(prefix), &prefix_len);
    if (st == TW_OK)
        st = mac_prefix_and_body(key, key_len, prefix, prefix_len, body, len, mac);
    OPENSSL_cleanse(key, sizeof(key));
    if (st == TW_OK) {
        h = add_header(out, p->signature_header);
        st = format_signature(p, mac, timestamp, h->value, sizeof(h->value));
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    if (st == TW_OK && p->timestamp_header != NULL) {
        h = add_header(out, p->timestamp_header);
        snprintf(h->value, sizeof(h->value), "%" APR_INT64_T_FMT, timestamp);
    }
    if (st == TW_OK && p->id_header != NULL) {
        h = add_header(out, p->id_header);
        snprintf(h->value, sizeof(h->value), "%s", id);
    }
    if (st != TW_OK)
        memset(out, 0, sizeof(*out));
    return st;
}
