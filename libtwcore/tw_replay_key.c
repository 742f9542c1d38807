/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_replay_key.c - the message digest, and the replay cache's key for a
 * verified message.
 *
 * One message, one key. During a key rotation a sender signs each message
 * with every key it holds (Stripe's "v1=A,v1=B", Standard Webhooks'
 * "v1,a v1,b"), and a client holding one captured delivery can resend it
 * with any subset of those signatures. A key derived from the MAC that
 * matched would differ per subset (and per order of the configured keys),
 * so the same message would run the app twice. The key is therefore
 * derived from what the sender signed: an unkeyed SHA-256 of the profile's
 * signed prefix and the body (the message digest), computed by the
 * verifier in the same pass as the MACs (tw_verifier_want_digest), or here
 * alone over a stored body.
 *
 * Not the digest itself, and never a MAC: cache back-ends store keys in the
 * clear and some log them (mod_socache_memcache does on errors), and a MAC
 * is a signature a client could send. A SHA-256 over a fixed label and the
 * digest is just as unique and says nothing a log reader could resend.
 * (Unlike a MAC, the key is not secret-dependent: who can read the store
 * and guesses a whole body, prefix and scope can confirm the guess. A
 * replay cache is an operator's store, like the inbox that holds the
 * bodies themselves.)
 *
 * The scope goes in too, length first (so no two scope/digest pairs give
 * the same input): one token may sign deliveries to two webhook URLs, and a
 * delivery handled at one must not count as a duplicate at the other.
 *
 * The label's version changes whenever the derivation does ("v2" was over
 * the matched MAC): entries an older module stored are then simply not
 * found, never mistaken for another message.
 */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <apr.h>

#include "tw/digest.h"

#define TW_REPLAY_KEY_LABEL "mod_twwebhook replay key v3"

struct tw_digest {
    EVP_MD_CTX *ctx;
    int failed;              /* an update failed: the digest is unusable */
    int finished;
};

tw_status_t tw_digest_create(tw_digest_t **pd)
{
    tw_digest_t *d;

    if (pd == NULL)
        return TW_ERR_ARG;
    *pd = NULL;
    if ((d = OPENSSL_zalloc(sizeof(*d))) == NULL)
        return TW_ERR_NOMEM;
    if ((d->ctx = EVP_MD_CTX_new()) == NULL
        || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
        tw_digest_destroy(d);
        return TW_ERR_CRYPTO;
    }
    *pd = d;
    return TW_OK;
}

tw_status_t tw_digest_update(tw_digest_t *d, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (d == NULL || d->finished || (data == NULL && len > 0))
        return TW_ERR_ARG;
    if (d->failed)
        return TW_ERR_CRYPTO;
    while (len > 0) {   /* in pieces, as the HMACs are fed */
        size_t piece = len > INT_MAX ? INT_MAX : len;

        if (EVP_DigestUpdate(d->ctx, p, piece) != 1) {
            d->failed = 1;
            return TW_ERR_CRYPTO;
        }
        p += piece;
        len -= piece;
    }
    return TW_OK;
}

tw_status_t tw_digest_finish(tw_digest_t *d, unsigned char digest[TW_DIGEST_LEN])
{
    unsigned int len = 0;

    if (d == NULL || d->finished || digest == NULL)
        return TW_ERR_ARG;
    d->finished = 1;
    if (d->failed || EVP_DigestFinal_ex(d->ctx, digest, &len) != 1 || len != TW_DIGEST_LEN) {
        OPENSSL_cleanse(digest, TW_DIGEST_LEN);
        return TW_ERR_CRYPTO;
    }
    return TW_OK;
}

void tw_digest_destroy(tw_digest_t *d)
{
    if (d == NULL)
        return;
    EVP_MD_CTX_free(d->ctx);
    OPENSSL_free(d);
}

tw_status_t tw_replay_key(const unsigned char digest[TW_DIGEST_LEN],
                          const char *scope, size_t scope_len,
                          unsigned char key[TW_MAC_LEN])
{
    unsigned char scope_len_be[8];
    unsigned int len = 0;
    EVP_MD_CTX *ctx;
    size_t i;
    int ok;

    if (digest == NULL || scope == NULL || key == NULL)
        return TW_ERR_ARG;
    for (i = 0; i < sizeof(scope_len_be); i++)
        scope_len_be[i] = (unsigned char)((apr_uint64_t)scope_len >> (8 * (7 - i)));
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return TW_ERR_NOMEM;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
        && EVP_DigestUpdate(ctx, TW_REPLAY_KEY_LABEL, sizeof(TW_REPLAY_KEY_LABEL) - 1) == 1
        && EVP_DigestUpdate(ctx, scope_len_be, sizeof(scope_len_be)) == 1
        && EVP_DigestUpdate(ctx, scope, scope_len) == 1
        && EVP_DigestUpdate(ctx, digest, TW_DIGEST_LEN) == 1
        && EVP_DigestFinal_ex(ctx, key, &len) == 1;
    EVP_MD_CTX_free(ctx);
    return (ok && len == TW_MAC_LEN) ? TW_OK : TW_ERR_CRYPTO;
}
