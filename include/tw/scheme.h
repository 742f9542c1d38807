/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/scheme.h - signing schemes: profiles, candidates, timestamps.
 *
 * One verification pipeline for every provider: a profile names where a
 * provider puts its signature, what it signs and how its key is formed;
 * tw_scheme_parse() turns the header values a request carries into a
 * tw_signed_t (a prefix to MAC before the body, the candidate MACs, the
 * timestamp); the glue then runs (tw/verify.h)
 *
 *     tw_verifier_create(&v, keys, nkeys);
 *     tw_verifier_update(v, s.prefix, s.prefix_len);   -- before the body
 *     tw_verifier_update(v, chunk, n); ...             -- the body
 *     tw_verifier_finish_any(v, s.candidates, s.ncandidates, &key, &cand);
 *     if (s.has_timestamp) tw_timestamp_check(s.timestamp, now, tolerance);
 *
 * checking every result, and derives the replay key from the message
 * digest (tw/digest.h), never from a candidate, which a client may put
 * anything in. Keys are made with tw_key_create() from what
 * tw_profile_key() returns.
 *
 * Hazards: the candidates are what a client sent, not MACs the core made;
 * the timestamp is only parsed here, and is stale or fresh only after
 * tw_timestamp_check(). Signing a message as a provider would is not here
 * but in tw/sign.h (tools and tests only).
 */
#ifndef TW_SCHEME_H
#define TW_SCHEME_H

#include <stddef.h>

#include <apr.h>

#include "base.h"
#include "verify.h"    /* TW_CANDIDATES_MAX */

#ifdef __cplusplus
extern "C" {
#endif

#define TW_SIGNED_PREFIX_MAX 512  /* longest prefix signed before the body */
#define TW_ID_MAX            TW_DELIVERY_MAX  /* a signed message id (webhook-id) */
#define TW_TIMESTAMP_MAX     APR_INT64_C(1000000000000)  /* 10^12 seconds */
#define TW_SIG_ENTRY_MAX     128  /* longest entry of a signature list */

/* Where a profile's event name or delivery id comes from. */
typedef enum {
    TW_SOURCE_NONE,    /* the provider sends none */
    TW_SOURCE_HEADER,  /* the field is a header name */
    TW_SOURCE_BODY     /* the field is an RFC 6901 pointer into the JSON body */
} tw_source_t;

/* The signature header's grammar (the core's; callers need not look). */
typedef enum {
    TW_SIG_HEX,               /* [sha256=]<64 hex>: tw_signature_parse() */
    TW_SIG_HEX_SHA256,        /* "sha256=" <64 hex>, prefix required */
    TW_SIG_HEX_V0,            /* "v0=" <64 hex> */
    TW_SIG_BASE64,            /* <44 base64 characters: 32 bytes> */
    TW_SIG_STANDARD_WEBHOOKS, /* "v1,<base64>" entries separated by one space */
    TW_SIG_STRIPE             /* "t=<ts>,v1=<hex>[,v1=<hex>][,v0=...]" */
} tw_sig_format_t;

/* What is signed before the body (the core's; callers need not look). */
typedef enum {
    TW_SIGNED_BODY,           /* the body alone */
    TW_SIGNED_ID_TS_BODY,     /* "<id>.<timestamp>.<body>" */
    TW_SIGNED_TS_BODY,        /* "<timestamp>.<body>" */
    TW_SIGNED_V0_TS_BODY      /* "v0:<timestamp>:<body>" */
} tw_signed_form_t;

/* How a configured secret becomes the HMAC key. */
typedef enum {
    TW_KEY_RAW,               /* the secret's bytes, as given */
    TW_KEY_WHSEC_BASE64       /* "whsec_" <base64>: the decoded bytes */
} tw_key_form_t;

/*
 * One provider's scheme. Header names are as the provider spells them
 * (httpd compares them case-insensitively). Profiles live in a static,
 * read-only table: the one source of truth for the glue's TwWebhookProfile
 * directive and for the documentation.
 */
typedef struct tw_profile {
    const char *name;              /* "teamwork", "github", ... */
    const char *description;       /* one line of English, for docs and errors */
    const char *signature_header;
    const char *timestamp_header;  /* NULL: none, or inside the signature (stripe) */
    const char *id_header;         /* a signed message id header, else NULL */
    tw_source_t event_source;
    const char *event_field;       /* header name, or JSON pointer for BODY */
    tw_source_t delivery_source;
    const char *delivery_field;
    int signs_timestamp;           /* 1: TwWebhookTimestampTolerance applies */
    /* The core's own. */
    tw_sig_format_t sig_format;
    tw_signed_form_t signed_form;
    tw_key_form_t key_form;
} tw_profile_t;

/* The profile of that exact (case-sensitive) name; NULL when unknown. */
const tw_profile_t *tw_profile_find(const char *name);
/* "teamwork": Teamwork Spaces, the module's behaviour before profiles. */
const tw_profile_t *tw_profile_default(void);
/* The i-th profile (0-based), in a fixed order; NULL past the end. */
const tw_profile_t *tw_profile_at(size_t i);

/*
 * The HMAC key for a secret under profile p, into out (cap bytes, at least
 * TW_SECRET_MAX; *plen gets its length): the secret's bytes for TW_KEY_RAW
 * (Stripe's "whsec_..." included: Stripe keys with the string), the decoded
 * base64 after "whsec_" for TW_KEY_WHSEC_BASE64. Fails with TW_ERR_ARG for
 * an empty or over-long secret and TW_ERR_SECRET_MALFORMED for a whsec_
 * secret that is not exactly "whsec_" and strict base64 of 1..TW_SECRET_MAX
 * bytes (a configuration error; out is then cleansed). *plen is 0 on failure.
 * The caller cleanses out after tw_key_create().
 */
TW_MUST_CHECK
tw_status_t tw_profile_key(const tw_profile_t *p, const void *secret, size_t len,
                           unsigned char *out, size_t cap, size_t *plen);

/* What one request's headers say must be verified. */
typedef struct {
    unsigned char prefix[TW_SIGNED_PREFIX_MAX];  /* MACed before the body */
    size_t prefix_len;
    unsigned char candidates[TW_CANDIDATES_MAX][TW_MAC_LEN];
    size_t ncandidates;                          /* 1..TW_CANDIDATES_MAX on TW_OK */
    int has_timestamp;                           /* 1 when the profile signs one */
    apr_int64_t timestamp;                       /* Unix seconds, 0..TW_TIMESTAMP_MAX */
} tw_signed_t;

/*
 * Parses the header values of one request under profile p into out.
 * signature, timestamp and id are the values as received, NULL when the
 * header is absent (the glue looks them up by the profile's header names,
 * or the operator's overriding ones); timestamp and id are ignored by
 * profiles that do not sign them, and by stripe (whose t= is inside the
 * signature). Grammars, all exact (no whitespace beyond the one space that
 * separates standard-webhooks entries; prefixes and tags in lower case as
 * the providers send them; hex digits in either case):
 *
 *   teamwork*   [sha256=]<64 hex>            (prefix in any case, as before)
 *   github      sha256=<64 hex>
 *   slack       v0=<64 hex>
 *   shopify     <base64 of 32 bytes, padded: 44 characters>
 *   standard-webhooks
 *               <tag>,<value>( <tag>,<value>)*  tag [a-z0-9]{1,16}, value
 *               1..TW_SIG_ENTRY_MAX visible ASCII but ',' and ' '; only v1
 *               entries count, each strict base64 of 32 bytes; at least one
 *   stripe      <key>=<value>(,<key>=<value>)*  key [a-z0-9]{1,16}, value
 *               1..TW_SIG_ENTRY_MAX visible ASCII but ','; exactly one
 *               t=, at least one v1=<64 hex>; other keys (v0=, unknown
 *               ones) are skipped
 *
 * In lists, at most TW_CANDIDATES_MAX signature entries (ignored ones
 * included); more is TW_ERR_SIG_MALFORMED. Timestamps: tw_timestamp_parse().
 * Message ids: tw_webhook_id_is_plain().
 *
 * Checks run in this order, and the first failure is returned: signature
 * absent (TW_ERR_SIG_MISSING), signature grammar (TW_ERR_SIG_MALFORMED),
 * timestamp absent / malformed (TW_ERR_TS_MISSING / TW_ERR_TS_MALFORMED;
 * for stripe: no t= entry / a bad one), message id absent / malformed
 * (TW_ERR_ID_MISSING / TW_ERR_ID_MALFORMED). On any failure out is zeroed
 * (no candidates). The timestamp's age is not checked here: see
 * tw_timestamp_check().
 */
TW_MUST_CHECK
tw_status_t tw_scheme_parse(const tw_profile_t *p, const char *signature,
                            const char *timestamp, const char *id,
                            tw_signed_t *out);

/*
 * Parses Unix seconds: 1..13 ASCII decimal digits, no sign, no whitespace,
 * no leading zero (but "0" itself), at most TW_TIMESTAMP_MAX. Unlike
 * strtol, independent of the locale and never lenient. NULL gives
 * TW_ERR_TS_MISSING, anything else that does not match TW_ERR_TS_MALFORMED
 * (with *pts 0).
 */
TW_MUST_CHECK
tw_status_t tw_timestamp_parse(const char *s, apr_int64_t *pts);

/*
 * TW_OK when |now - timestamp| <= tolerance (both ends included),
 * TW_ERR_TS_STALE when timestamp is older, TW_ERR_TS_FUTURE when it is
 * further ahead; TW_ERR_ARG for a negative tolerance. Overflow-safe for
 * any values.
 */
TW_MUST_CHECK
tw_status_t tw_timestamp_check(apr_int64_t timestamp, apr_int64_t now,
                               apr_int64_t tolerance);

/* 1 when s is 1..TW_ID_MAX characters of [A-Za-z0-9_-] (webhook-id), else 0. */
TW_MUST_CHECK int tw_webhook_id_is_plain(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* TW_SCHEME_H */
