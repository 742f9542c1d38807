/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/sign.h - signing as a provider would: the one-shot HMAC and the
 * headers of a signed request. For twwebhook-sign, the unit tests, the
 * fuzz targets and the benchmark only (libtwsign).
 *
 * WARNING: every function here computes a MAC and hands it to its caller.
 * The module must never do that: a MAC it computed could reach a client,
 * who could then send it back as a valid signature. So this header is not
 * part of the umbrella twwebhook.h, its functions live in libtwsign (not
 * in libtwcore), and the module links libtwcore only. The build enforces
 * it twice: libtwcore and the module are compiled with TW_NO_SIGN defined,
 * which makes including this header an error, and "make" fails when the
 * linked module (or libtwcore) names any symbol libtwsign defines
 * (Makefile.am, check-no-signing).
 */
#ifndef TW_SIGN_H
#define TW_SIGN_H

#ifdef TW_NO_SIGN
#error "tw/sign.h hands out MACs: libtwcore and the module must not include it"
#endif

#include <stddef.h>

#include <apr.h>

#include "base.h"
#include "scheme.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One-shot HMAC-SHA256 of data[0..len) under secret (1..TW_SECRET_MAX
 * bytes) into out. TW_ERR_ARG for a NULL or bad-sized argument,
 * TW_ERR_CRYPTO when libcrypto fails (out is then cleansed).
 */
TW_MUST_CHECK
tw_status_t tw_hmac_sha256(const void *secret, size_t secret_len,
                           const void *data, size_t len,
                           unsigned char out[TW_MAC_LEN]);

#define TW_SIGN_HEADERS_MAX 4
#define TW_HEADER_VALUE_MAX 192

typedef struct {
    const char *name;                   /* static: the profile's header name */
    char value[TW_HEADER_VALUE_MAX];    /* NUL-terminated */
} tw_header_t;

typedef struct {
    tw_header_t headers[TW_SIGN_HEADERS_MAX];
    size_t nheaders;
} tw_signed_headers_t;

/*
 * Signs body under profile p as the provider would, writing into out the
 * headers the scheme needs, in this order: the signature header, then the
 * timestamp header and the message id header when the profile has them.
 * Event and delivery headers are the caller's. timestamp (0..
 * TW_TIMESTAMP_MAX) is used by profiles that sign one, id (plain, see
 * tw_webhook_id_is_plain) by those that sign a message id; both are
 * ignored otherwise. The secret is turned into the key by tw_profile_key().
 * Fails with TW_ERR_ARG, TW_ERR_TS_MALFORMED, TW_ERR_ID_MISSING,
 * TW_ERR_ID_MALFORMED, TW_ERR_SECRET_MALFORMED or TW_ERR_CRYPTO, leaving
 * out with no headers.
 */
TW_MUST_CHECK
tw_status_t tw_scheme_sign(const tw_profile_t *p, const void *secret, size_t secret_len,
                           const void *body, size_t len, apr_int64_t timestamp,
                           const char *id, tw_signed_headers_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TW_SIGN_H */
