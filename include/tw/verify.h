/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/verify.h - keys and the streaming verifier: the one place a request's
 * signature is checked.
 *
 * WARNING: secrets pass through tw_key_create() only. Nothing in the core
 * keeps a copy of a secret outside OpenSSL's keyed context, and no function
 * declared here (or anywhere under twwebhook.h) returns a computed MAC to
 * its caller: a MAC leaves the core only as the answer "matched key N" or
 * "no key matched". Computing a MAC to hand out is signing, which lives in
 * a separate library and header (libtwsign, tw/sign.h) that the module
 * neither includes nor links.
 *
 * The verifier's comparisons are constant-time (CRYPTO_memcmp, masks):
 * nothing here may branch on how much of a MAC matched.
 */
#ifndef TW_VERIFY_H
#define TW_VERIFY_H

#include <stddef.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_CANDIDATES_MAX    8    /* signature entries in one header, at most */

/* ---- the Signature header ------------------------------------------------ */

/*
 * Parses a signature header value: 64 hex digits, either case, optionally
 * preceded by "sha256=" (prefix matched case-insensitively). No other
 * characters, no whitespace (httpd has already stripped the header's OWS).
 * value == NULL gives TW_ERR_SIG_MISSING; anything else that does not
 * match gives TW_ERR_SIG_MALFORMED. On TW_OK, mac holds the decoded bytes.
 * (The teamwork grammar; tw_scheme_parse() in tw/scheme.h knows them all.)
 */
TW_MUST_CHECK
tw_status_t tw_signature_parse(const char *value, unsigned char mac[TW_MAC_LEN]);

/* ---- keys and streaming verification ------------------------------------- */

/*
 * One secret, keyed into an HMAC-SHA256 context once (at configuration
 * time), so that each request only re-initialises a keyed state. A key is
 * read-only after creation, but for the running contexts it recycles for
 * its verifiers (under its own lock), and may be shared by any number of
 * threads. Destroy it only after every verifier created with it: a
 * verifier gives its contexts back to its keys.
 */
typedef struct tw_key tw_key_t;

/* secret_len must be 1..TW_SECRET_MAX. The secret bytes are not retained. */
TW_MUST_CHECK
tw_status_t tw_key_create(tw_key_t **pkey, const void *secret, size_t secret_len);
void tw_key_destroy(tw_key_t *key);   /* NULL is a no-op */

/*
 * The running HMAC of one body under every configured key at once (key
 * rotation: an operator lists the new and the old token side by side).
 */
typedef struct tw_verifier tw_verifier_t;

TW_MUST_CHECK
tw_status_t tw_verifier_create(tw_verifier_t **pv,
                               const tw_key_t *const *keys, size_t nkeys);
TW_MUST_CHECK
tw_status_t tw_verifier_update(tw_verifier_t *v, const void *data, size_t len);

/*
 * Finishes every MAC and compares each with expected using CRYPTO_memcmp,
 * always all of them, so the time taken does not depend on which key (if
 * any) matched or on how much of a MAC matched. On TW_OK *pmatched is the
 * 1-based position of the first matching key; on TW_ERR_SIG_MISMATCH it is
 * 0. May be called once; the computed MACs are cleansed before returning.
 */
TW_MUST_CHECK
tw_status_t tw_verifier_finish(tw_verifier_t *v,
                               const unsigned char expected[TW_MAC_LEN],
                               size_t *pmatched);

/*
 * Like tw_verifier_finish(), against ncandidates (1..TW_CANDIDATES_MAX)
 * candidate MACs: EVERY candidate is compared with EVERY key's MAC by
 * CRYPTO_memcmp, and the winner picked with masks, so the time taken does
 * not depend on which key or candidate matched. On TW_OK *pmatched is the
 * 1-based position of the first key that matched any candidate and
 * *pcandidate the 1-based position of the first candidate that key's MAC
 * equals; both are 0 on TW_ERR_SIG_MISMATCH. (Neither names the message:
 * another copy may carry only another key's signature. Its replay key
 * comes from tw_verifier_digest.) Either pointer may be NULL. May be called once.
 */
TW_MUST_CHECK
tw_status_t tw_verifier_finish_any(tw_verifier_t *v,
                                   const unsigned char (*candidates)[TW_MAC_LEN],
                                   size_t ncandidates,
                                   size_t *pmatched, size_t *pcandidate);
void tw_verifier_destroy(tw_verifier_t *v);   /* NULL is a no-op */

/*
 * The message digest (tw/digest.h) computed in the same pass as the MACs.
 * It is not a signature, so handing it out keeps the promise above.
 *
 * tw_verifier_want_digest() makes v compute it (one SHA-256 over the data
 * besides the HMACs: ask only where it is used); call it before the first
 * tw_verifier_update(), else TW_ERR_ARG. tw_verifier_digest() gives it
 * after a tw_verifier_finish*() that returned TW_OK, and TW_ERR_ARG
 * otherwise (not asked for, not finished, or the message did not verify):
 * only a verified message has a replay key.
 */
TW_MUST_CHECK
tw_status_t tw_verifier_want_digest(tw_verifier_t *v);
TW_MUST_CHECK
tw_status_t tw_verifier_digest(const tw_verifier_t *v, unsigned char digest[TW_DIGEST_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* TW_VERIFY_H */
