/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/digest.h - the message digest and the replay cache's key: what names
 * a verified message without being a signature.
 *
 * The message digest is an unkeyed SHA-256 of what the sender signed (the
 * profile's prefix, then the body). Unlike a MAC it is the same whichever
 * key signed the message and whichever of its signatures a client sends,
 * and it tells nothing about a key: the replay cache and the inbox key a
 * message by it (tw_replay_key). The verifier computes it in the same pass
 * as the MACs (tw_verifier_want_digest in tw/verify.h); this header also
 * computes it alone.
 *
 * Hazard: only a message that verified may be named by its digest; the
 * digest of an unverified body is an attacker's choice.
 */
#ifndef TW_DIGEST_H
#define TW_DIGEST_H

#include <stddef.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The digest computed alone, for a message already verified and stored (an
 * internal redirect into a location that needs the digest the first pass
 * did not compute): create, update with the prefix and the body, finish
 * once.
 */
typedef struct tw_digest tw_digest_t;

TW_MUST_CHECK
tw_status_t tw_digest_create(tw_digest_t **pd);
TW_MUST_CHECK
tw_status_t tw_digest_update(tw_digest_t *d, const void *data, size_t len);
TW_MUST_CHECK
tw_status_t tw_digest_finish(tw_digest_t *d, unsigned char digest[TW_DIGEST_LEN]);
void tw_digest_destroy(tw_digest_t *d);      /* NULL is a no-op */

/*
 * The replay cache's key for a verified message received in a scope (the
 * glue's name for "this protected location of this virtual host"):
 * SHA-256 over a fixed label, the scope's length and bytes, and the
 * message digest (tw_verifier_digest). One message is one key, whichever
 * key verified it and whichever of its signatures came; cache stores and
 * their logs never hold a signature, and the same delivery sent to two
 * scopes gives two keys. scope may be empty (scope_len 0) but not NULL.
 */
TW_MUST_CHECK
tw_status_t tw_replay_key(const unsigned char digest[TW_DIGEST_LEN],
                          const char *scope, size_t scope_len,
                          unsigned char key[TW_MAC_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* TW_DIGEST_H */
