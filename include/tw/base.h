/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/base.h - what every part of the core shares: the limits, the status
 * codes, the must-check attribute and the cleanse primitive.
 *
 * The core (include/tw/, libtwcore/) depends on APR and OpenSSL's
 * libcrypto only: no httpd header may be included by it (the build
 * compiles it without httpd's include path to enforce that), so it can be
 * unit-tested and fuzzed alone. The core never logs. Every function that
 * decides something returns a tw_status_t (an apr_status_t for file I/O,
 * 1 or 0 for a yes/no check of a value) that the httpd glue maps to an
 * HTTP status and one error-log line, and is declared TW_MUST_CHECK: a
 * verdict dropped on the floor is a request waved through, so the build
 * (-Werror) refuses to ignore one.
 *
 * Hazard: TW_MUST_CHECK is GCC's warn_unused_result, which a (void) cast
 * does not silence. A caller that really has nothing to do with a result
 * (a test asserting only what a failed call left behind) checks it anyway.
 */
#ifndef TW_BASE_H
#define TW_BASE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The result of this function is a verdict: the compiler warns (and the
 * -Werror build fails) when a caller ignores it. */
#if defined(__GNUC__) || defined(__clang__)
#define TW_MUST_CHECK __attribute__((warn_unused_result))
#else
#define TW_MUST_CHECK
#endif

#define TW_MAC_LEN        32   /* bytes of an HMAC-SHA256 */
#define TW_MAC_HEX_LEN    64   /* its hex form, without prefix */
#define TW_DIGEST_LEN     32   /* bytes of a SHA-256 (a message digest) */
#define TW_EVENT_MAX      128  /* longest Event value accepted */
#define TW_DELIVERY_MAX   128  /* longest Delivery value accepted */
#define TW_SECRET_MAX     4096 /* longest secret accepted, in bytes */
#define TW_JSON_MAX_DEPTH 32   /* deepest nesting a body may have */
#define TW_JSON_VALUE_MAX 1024 /* longest value exported from a body */
#define TW_ENV_NAME_MAX   64   /* longest environment variable name */

typedef enum {
    TW_OK = 0,
    TW_ERR_SIG_MISSING,     /* no signature header at all */
    TW_ERR_SIG_MALFORMED,   /* present, but not [sha256=]<64 hex digits> */
    TW_ERR_SIG_MISMATCH,    /* well formed, but no configured key produced it */
    TW_ERR_ARG,             /* caller error: NULL, zero keys, empty secret... */
    TW_ERR_CRYPTO,          /* libcrypto failed (a server fault) */
    TW_ERR_NOMEM,           /* allocation failed (a server fault) */
    TW_ERR_JSON_INVALID,    /* not exactly one JSON document, or too deep */
    TW_ERR_JSON_NOT_FOUND,  /* the pointer names nothing in the document */
    TW_ERR_JSON_NOT_SCALAR, /* it names null, an object or an array */
    TW_ERR_JSON_UNSAFE_VALUE, /* too long, or has control characters */
    TW_ERR_TS_MISSING,      /* the profile signs a timestamp and none came */
    TW_ERR_TS_MALFORMED,    /* not 1..13 decimal digits <= 10^12, no leading 0 */
    TW_ERR_TS_STALE,        /* older than the tolerance allows */
    TW_ERR_TS_FUTURE,       /* further ahead than the tolerance allows */
    TW_ERR_ID_MISSING,      /* the profile signs a message id and none came */
    TW_ERR_ID_MALFORMED,    /* not 1..TW_ID_MAX characters of [A-Za-z0-9_-] */
    TW_ERR_SECRET_MALFORMED, /* not a key this profile can use (bad whsec_) */
    TW_ERR_SECRET_EMPTY,    /* a secret (file) with nothing in it */
    TW_ERR_SECRET_TOO_LONG, /* more than TW_SECRET_MAX bytes */
    TW_ERR_SECRET_LINE_BREAK, /* a CR or LF left after the one line end */
    TW_ERR_JSON_AMBIGUOUS   /* valid JSON that parsers read differently: a
                             * repeated name, \u0000 in a name, a lone
                             * surrogate */
} tw_status_t;

/* A short, static, secret-free English description ("signature mismatch"). */
const char *tw_status_str(tw_status_t status);

/*
 * Overwrites len bytes at p in a way the compiler may not optimise away
 * (OPENSSL_cleanse): for secret file buffers and decoded signatures.
 */
void tw_cleanse(void *p, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TW_BASE_H */
