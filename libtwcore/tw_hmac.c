/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_hmac.c - HMAC-SHA256 keys and the streaming verifier.
 *
 * OpenSSL 3 EVP_MAC API. A key is an EVP_MAC_CTX that has been initialised
 * with the secret once; a verifier needs one running context per configured
 * key, so the per-request work never touches a secret and never re-derives
 * the inner and outer pads.
 *
 * Running contexts are recycled: duplicating the keyed template
 * (EVP_MAC_CTX_dup) costs about a dozen allocations (the MAC context, the
 * HMAC's three digest contexts and their provider states, the key's copy)
 * and as many frees, with cleansing, per key per request (issue 22). So a
 * key keeps the contexts that finished verifiers gave back on a short
 * free list, and a verifier takes one and re-initialises it with the key it
 * already holds (EVP_MAC_init with no key: one digest-state copy). The list
 * only grows to the number of verifications that ran at once (capped at
 * KEY_IDLE_MAX); everything on it is freed, and so cleansed by OpenSSL,
 * with the key. A recycled context carries no trace of the message it last
 * saw: the re-init restarts it from the keyed inner state.
 *
 * Ownership: the secret stays with the caller; OpenSSL's keyed context holds
 * the only copy the core makes. MACs computed here are compared and cleansed
 * inside this file and never handed out: the one-shot MAC that tools and
 * tests sign with is libtwsign's (libtwsign/tw_mac.c), which the module
 * does not link.
 *
 * A verifier may also run the unkeyed message digest (tw_replay_key.c) over
 * the same data, for the replay key: the digest is not a MAC and may leave.
 */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tw/verify.h"
#include "tw/digest.h"

/* Idle running contexts a key keeps, at most (more are freed on return). */
#define KEY_IDLE_MAX 256

struct tw_key {
    EVP_MAC_CTX *keyed;      /* initialised with the secret, never updated */
    CRYPTO_RWLOCK *lock;     /* guards idle and nidle */
    size_t nidle;
    EVP_MAC_CTX *idle[KEY_IDLE_MAX];   /* keyed contexts ready for re-init */
};

struct tw_verifier {
    size_t nkeys;
    int started;             /* data was fed: too late to want a digest */
    int finished;            /* tw_verifier_finish() ran: no more use */
    int failed;              /* an update failed: the MACs are unusable */
    int verified;            /* finish matched: the digest may be given */
    tw_digest_t *digest;     /* NULL unless tw_verifier_want_digest() */
    unsigned char digest_value[TW_DIGEST_LEN];   /* set by a verified finish */
    struct {
        const tw_key_t *key; /* where ctx goes back to */
        EVP_MAC_CTX *ctx;    /* a keyed context of that key */
    } running[];             /* one per configured key */
};

static int secret_len_ok(const void *secret, size_t secret_len)
{
    return secret != NULL && secret_len >= 1 && secret_len <= TW_SECRET_MAX;
}

/* A fresh HMAC-SHA256 context keyed with secret, or NULL. */
static EVP_MAC_CTX *mac_ctx_new_keyed(const void *secret, size_t secret_len)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[2];
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL)
        return NULL;
    /* The context holds its own reference to the algorithm. */
    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == NULL)
        return NULL;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(ctx, secret, secret_len, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Updates ctx with len bytes, in pieces OpenSSL's int-sized paths accept. */
static int mac_ctx_update(EVP_MAC_CTX *ctx, const unsigned char *data, size_t len)
{
    while (len > 0) {
        size_t piece = len > INT_MAX ? INT_MAX : len;

        if (!EVP_MAC_update(ctx, data, piece))
            return 0;
        data += piece;
        len -= piece;
    }
    return 1;
}

/* Finishes ctx into out; 0 (with out cleansed) unless it gave exactly a MAC. */
static int mac_ctx_final(EVP_MAC_CTX *ctx, unsigned char out[TW_MAC_LEN])
{
    size_t out_len = 0;

    if (!EVP_MAC_final(ctx, out, &out_len, TW_MAC_LEN) || out_len != TW_MAC_LEN) {
        OPENSSL_cleanse(out, TW_MAC_LEN);
        return 0;
    }
    return 1;
}

tw_status_t tw_key_create(tw_key_t **pkey, const void *secret, size_t secret_len)
{
    tw_key_t *key;

    if (pkey == NULL)
        return TW_ERR_ARG;
    *pkey = NULL;
    if (!secret_len_ok(secret, secret_len))
        return TW_ERR_ARG;

    key = OPENSSL_zalloc(sizeof(*key));
    if (key == NULL)
        return TW_ERR_NOMEM;
    key->lock = CRYPTO_THREAD_lock_new();
    if (key->lock == NULL) {
        OPENSSL_free(key);
        return TW_ERR_NOMEM;
    }
    key->keyed = mac_ctx_new_keyed(secret, secret_len);
    if (key->keyed == NULL) {
        tw_key_destroy(key);
        return TW_ERR_CRYPTO;
    }
    *pkey = key;
    return TW_OK;
}

void tw_key_destroy(tw_key_t *key)
{
    size_t i;

    if (key == NULL)
        return;
    /* OpenSSL cleanses its copies of the key, the template's and the idle ones'. */
    for (i = 0; i < key->nidle; i++)
        EVP_MAC_CTX_free(key->idle[i]);
    EVP_MAC_CTX_free(key->keyed);
    CRYPTO_THREAD_lock_free(key->lock);
    OPENSSL_free(key);
}

/*
 * A running context of key, ready for the first update: a recycled one,
 * re-initialised with the key it holds, or else a fresh duplicate of the
 * keyed template. NULL when OpenSSL fails. The key is logically read-only:
 * only its free list changes, under its lock, so threads may share it.
 */
static EVP_MAC_CTX *key_running_take(const tw_key_t *ckey)
{
    tw_key_t *key = (tw_key_t *)ckey;
    EVP_MAC_CTX *ctx = NULL;

    if (CRYPTO_THREAD_write_lock(key->lock)) {
        if (key->nidle > 0)
            ctx = key->idle[--key->nidle];
        CRYPTO_THREAD_unlock(key->lock);
    }
    if (ctx != NULL) {
        /* No key: restart from the keyed inner state this context holds. */
        if (EVP_MAC_init(ctx, NULL, 0, NULL))
            return ctx;
        EVP_MAC_CTX_free(ctx);
    }
    /* Only reads the shared template: safe while other threads do the same. */
    return EVP_MAC_CTX_dup(key->keyed);
}

/* Gives ctx back to key's free list, or frees it when the list is full. */
static void key_running_give(const tw_key_t *ckey, EVP_MAC_CTX *ctx)
{
    tw_key_t *key = (tw_key_t *)ckey;

    if (ctx == NULL)
        return;
    if (CRYPTO_THREAD_write_lock(key->lock)) {
        if (key->nidle < KEY_IDLE_MAX) {
            key->idle[key->nidle++] = ctx;
            ctx = NULL;
        }
        CRYPTO_THREAD_unlock(key->lock);
    }
    EVP_MAC_CTX_free(ctx);
}

tw_status_t tw_verifier_create(tw_verifier_t **pv,
                               const tw_key_t *const *keys, size_t nkeys)
{
    tw_verifier_t *v;
    size_t i;

    if (pv == NULL)
        return TW_ERR_ARG;
    *pv = NULL;
    if (keys == NULL || nkeys == 0
        || nkeys > (SIZE_MAX - sizeof(*v)) / sizeof(v->running[0]))
        return TW_ERR_ARG;
    for (i = 0; i < nkeys; i++) {
        if (keys[i] == NULL)
            return TW_ERR_ARG;
    }

    v = OPENSSL_zalloc(sizeof(*v) + nkeys * sizeof(v->running[0]));
    if (v == NULL)
        return TW_ERR_NOMEM;
    v->nkeys = nkeys;
    for (i = 0; i < nkeys; i++) {
        v->running[i].key = keys[i];
        v->running[i].ctx = key_running_take(keys[i]);
        if (v->running[i].ctx == NULL) {
            tw_verifier_destroy(v);
            return TW_ERR_CRYPTO;
        }
    }
    *pv = v;
    return TW_OK;
}

tw_status_t tw_verifier_update(tw_verifier_t *v, const void *data, size_t len)
{
    size_t i;

    if (v == NULL || v->finished || (data == NULL && len > 0))
        return TW_ERR_ARG;
    if (v->failed)
        return TW_ERR_CRYPTO;
    v->started = 1;
    if (v->digest != NULL && tw_digest_update(v->digest, data, len) != TW_OK) {
        v->failed = 1;
        return TW_ERR_CRYPTO;
    }
    for (i = 0; i < v->nkeys; i++) {
        if (!mac_ctx_update(v->running[i].ctx, data, len)) {
            /* Some contexts have seen this data and some not: stay failed. */
            v->failed = 1;
            return TW_ERR_CRYPTO;
        }
    }
    return TW_OK;
}

/* 1 when x == 0, else 0, without a data-dependent branch. */
static size_t is_zero_ct(unsigned int x)
{
    /* For x != 0, x | -x has its top bit set. */
    return (size_t)(1u ^ ((x | (0u - x)) >> (sizeof(x) * CHAR_BIT - 1)));
}

/*
 * 1 when mac equals any of the candidates, else 0: every candidate is
 * compared, whatever matched before it.
 */
static size_t matches_any_ct(const unsigned char mac[TW_MAC_LEN],
                             const unsigned char (*candidates)[TW_MAC_LEN],
                             size_t ncandidates, size_t *pfirst)
{
    size_t found = 0, first = 0, j;

    for (j = 0; j < ncandidates; j++) {
        size_t equal = is_zero_ct((unsigned int)CRYPTO_memcmp(mac, candidates[j], TW_MAC_LEN));
        size_t take = equal & (found ^ 1);

        first |= (0 - take) & (j + 1);
        found |= equal;
    }
    *pfirst = first;
    return found;
}

tw_status_t tw_verifier_finish_any(tw_verifier_t *v,
                                   const unsigned char (*candidates)[TW_MAC_LEN],
                                   size_t ncandidates,
                                   size_t *pmatched, size_t *pcandidate)
{
    unsigned char mac[TW_MAC_LEN];
    size_t matched = 0, matched_candidate = 0, found = 0, i;
    int crypto_failed;

    if (pmatched != NULL)
        *pmatched = 0;
    if (pcandidate != NULL)
        *pcandidate = 0;
    if (v == NULL || v->finished || candidates == NULL
        || ncandidates == 0 || ncandidates > TW_CANDIDATES_MAX)
        return TW_ERR_ARG;
    v->finished = 1;
    crypto_failed = v->failed;

    /*
     * Every MAC is finished and compared with every candidate, whichever
     * key matches: the time taken must not tell a client which key (if
     * any) it guessed, which of its candidates was right, nor how many
     * leading bytes were. The first match is picked with masks instead of
     * a branch for the same reason.
     */
    for (i = 0; i < v->nkeys; i++) {
        size_t equal, take, first;

        if (!mac_ctx_final(v->running[i].ctx, mac)) {
            crypto_failed = 1;
            continue;
        }
        equal = matches_any_ct(mac, candidates, ncandidates, &first);
        take = equal & (found ^ 1);
        matched |= (0 - take) & (i + 1);
        matched_candidate |= (0 - take) & first;
        found |= equal;
        OPENSSL_cleanse(mac, sizeof(mac));
    }

    if (crypto_failed)
        return TW_ERR_CRYPTO;
    if (!found)
        return TW_ERR_SIG_MISMATCH;
    /* Only a verified message has a digest to give (its replay key). */
    if (v->digest != NULL && tw_digest_finish(v->digest, v->digest_value) != TW_OK)
        return TW_ERR_CRYPTO;
    v->verified = 1;
    if (pmatched != NULL)
        *pmatched = matched;
    if (pcandidate != NULL)
        *pcandidate = matched_candidate;
    return TW_OK;
}

tw_status_t tw_verifier_finish(tw_verifier_t *v,
                               const unsigned char expected[TW_MAC_LEN],
                               size_t *pmatched)
{
    if (pmatched != NULL)
        *pmatched = 0;
    if (expected == NULL)
        return TW_ERR_ARG;
    /* The one-candidate case; expected points at TW_MAC_LEN bytes. */
    return tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])expected, 1,
                                  pmatched, NULL);
}

tw_status_t tw_verifier_want_digest(tw_verifier_t *v)
{
    if (v == NULL || v->started || v->finished)
        return TW_ERR_ARG;
    if (v->digest != NULL)
        return TW_OK;
    return tw_digest_create(&v->digest);
}

tw_status_t tw_verifier_digest(const tw_verifier_t *v, unsigned char digest[TW_DIGEST_LEN])
{
    if (v == NULL || digest == NULL || v->digest == NULL || !v->verified)
        return TW_ERR_ARG;
    memcpy(digest, v->digest_value, TW_DIGEST_LEN);
    return TW_OK;
}

void tw_verifier_destroy(tw_verifier_t *v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < v->nkeys; i++)
        key_running_give(v->running[i].key, v->running[i].ctx);
    tw_digest_destroy(v->digest);
    OPENSSL_free(v);
}
