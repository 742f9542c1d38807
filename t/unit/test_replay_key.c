/*
 * SPDX-License-Identifier: Apache-2.0
 * test_replay_key.c - unit tests of tw_replay_key.c: the replay cache's key, and
 * the message digest (alone, and beside a verifier's MACs).
 */
#include <string.h>

#include "twwebhook.h"
#include "tw/sign.h"
#include "tap.h"
#include "unit_common.h"

/* ---- the replay key and the message digest -------------------------------- */

static void test_replay_key(void)
{
    static const char scope[] = "localhost\n/replay";
    unsigned char digest[TW_DIGEST_LEN], key[TW_MAC_LEN], again[TW_MAC_LEN], other[TW_MAC_LEN];
    char hex[TW_MAC_HEX_LEN + 1];
    size_t i;

    for (i = 0; i < TW_DIGEST_LEN; i++)
        digest[i] = (unsigned char)i;
    /* python3: sha256(b"mod_twwebhook replay key v3" + len(scope).to_bytes(8, "big")
     *                 + scope + bytes(range(32))) */
    is_int(tw_replay_key(digest, "", 0, key), TW_OK, "tw_replay_key, empty scope: succeeds");
    is_int(tw_hex_encode(key, TW_MAC_LEN, hex, sizeof(hex)), TW_OK, "hex of the key");
    is_str(hex, "00e29413ff88e17ea9eaf677daf9f6545a9122b6e06cb6ee9d57a4c21fce3669",
           "replay key, empty scope: SHA-256 over label v3, scope length, scope and digest");
    is_int(tw_replay_key(digest, scope, strlen(scope), key), TW_OK, "tw_replay_key, a scope: succeeds");
    is_int(tw_hex_encode(key, TW_MAC_LEN, hex, sizeof(hex)), TW_OK, "hex of the key");
    is_str(hex, "d9a1f7f4e8677651de1a2c92769149fd6ece6c4f348c0f06b610dc680a8612e1",
           "replay key with a scope: SHA-256 over label v3, scope length, scope and digest");
    ok(memcmp(key, digest, TW_MAC_LEN) != 0, "replay key is not the digest itself");

    is_int(tw_replay_key(digest, scope, strlen(scope) - 1, other), TW_OK, "a shorter scope: succeeds");
    ok(memcmp(key, other, TW_MAC_LEN) != 0, "another scope gives another replay key");
    is_int(tw_replay_key(digest, "otherhost\n/replay", strlen(scope), other), TW_OK,
           "another virtual host, same length: succeeds");
    ok(memcmp(key, other, TW_MAC_LEN) != 0, "... another replay key");
    is_int(tw_replay_key(digest, scope, strlen(scope), again), TW_OK, "the same scope again: succeeds");
    ok(memcmp(key, again, TW_MAC_LEN) == 0, "the same digest and scope give the same key");
    digest[31] ^= 1;
    is_int(tw_replay_key(digest, scope, strlen(scope), again), TW_OK, "another digest: succeeds");
    ok(memcmp(key, again, TW_MAC_LEN) != 0, "another digest gives another replay key");

    is_int(tw_replay_key(NULL, "", 0, key), TW_ERR_ARG, "tw_replay_key(NULL digest) fails closed");
    is_int(tw_replay_key(digest, NULL, 0, key), TW_ERR_ARG, "tw_replay_key(NULL scope) fails closed");
    is_int(tw_replay_key(digest, "", 0, NULL), TW_ERR_ARG, "tw_replay_key(NULL key) fails closed");
}

/*
 * The message digest a verifier computes beside its MACs: SHA-256 of
 * prefix || body, whichever key matched and whichever candidates came
 * (key rotation: a sender signs with both keys, a client may resend any
 * one signature), and only for a verified message.
 */
static tw_status_t verify_with_digest(const tw_key_t *const *keys, size_t nkeys,
                                      const char *prefix, const char *body,
                                      const unsigned char (*cands)[TW_MAC_LEN], size_t ncands,
                                      size_t *pmatched, unsigned char digest[TW_DIGEST_LEN])
{
    tw_verifier_t *v = NULL;
    tw_status_t st = tw_verifier_create(&v, keys, nkeys);

    if (st == TW_OK)
        st = tw_verifier_want_digest(v);
    if (st == TW_OK)
        st = tw_verifier_update(v, prefix, strlen(prefix));
    if (st == TW_OK)   /* the body in two pieces, as a stream comes */
        st = tw_verifier_update(v, body, 7);
    if (st == TW_OK)
        st = tw_verifier_update(v, body + 7, strlen(body) - 7);
    if (st == TW_OK)
        st = tw_verifier_finish_any(v, cands, ncands, pmatched, NULL);
    if (st == TW_OK)
        st = tw_verifier_digest(v, digest);
    tw_verifier_destroy(v);
    return st;
}

static void test_message_digest(void)
{
    static const char *secrets[2] = { "rotation-old", "rotation-new" };
    static const char prefix[] = "1700000000.";
    static const char body[] = "{\"type\":\"invoice.paid\",\"id\":\"evt_1\"}";
    /* python3: sha256(b"1700000000." + body) */
    static const char want_hex[] =
        "5c0124e29a1c916418f3ff3979667b9a95cab92d2952e2161521c77327cbf5b9";
    unsigned char signed_msg[sizeof(prefix) + sizeof(body)];
    unsigned char macs[2][TW_MAC_LEN], junk[TW_MAC_LEN], want[TW_DIGEST_LEN];
    unsigned char d_both[TW_DIGEST_LEN], d_first[TW_DIGEST_LEN], d_second[TW_DIGEST_LEN];
    unsigned char d_reversed[TW_DIGEST_LEN], d[TW_DIGEST_LEN];
    tw_key_t *keys[2] = { NULL, NULL };
    const tw_key_t *ab[2], *ba[2];
    tw_verifier_t *v = NULL;
    tw_digest_t *dg = NULL;
    size_t matched, i, len;

    unhex(want_hex, want, sizeof(want));
    len = strlen(prefix);
    memcpy(signed_msg, prefix, len);
    memcpy(signed_msg + len, body, strlen(body));
    len += strlen(body);
    for (i = 0; i < 2; i++) {
        require_int(tw_key_create(&keys[i], secrets[i], strlen(secrets[i])), TW_OK, "key %zu", i + 1);
        require_int(tw_hmac_sha256(secrets[i], strlen(secrets[i]), signed_msg, len, macs[i]), TW_OK,
                    "MAC under key %zu", i + 1);
    }
    ab[0] = ba[1] = keys[0];
    ab[1] = ba[0] = keys[1];

    /* Known vector: the NIST "abc", fed as two pieces. */
    {
        unsigned char abc[TW_DIGEST_LEN];

        unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", abc, sizeof(abc));
        is_int(tw_digest_create(&dg), TW_OK, "tw_digest_create");
        require_int(tw_digest_update(dg, "ab", 2), TW_OK, "tw_digest_update \"ab\"");
        require_int(tw_digest_update(dg, "c", 1), TW_OK, "tw_digest_update \"c\"");
        is_int(tw_digest_finish(dg, d), TW_OK, "tw_digest_finish");
        is_mem(d, abc, TW_DIGEST_LEN, "digest of \"ab\" then \"c\": SHA-256(\"abc\")");
        is_int(tw_digest_finish(dg, d), TW_ERR_ARG, "finish a second time: TW_ERR_ARG");
        is_int(tw_digest_update(dg, "x", 1), TW_ERR_ARG, "update after finish: TW_ERR_ARG");
        tw_digest_destroy(dg);
        tw_digest_destroy(NULL);
        is_int(tw_digest_create(NULL), TW_ERR_ARG, "tw_digest_create(NULL): TW_ERR_ARG");
    }

    is_int(verify_with_digest(ab, 2, prefix, body, macs, 2, &matched, d_both), TW_OK,
           "both signatures, keys old,new: verified with a digest");
    is_int(matched, 1, "... by key 1");
    is_mem(d_both, want, TW_DIGEST_LEN, "... the digest is SHA-256(prefix || body)");
    is_int(verify_with_digest(ab, 2, prefix, body, macs, 1, &matched, d_first), TW_OK,
           "the first signature only: verified");
    is_int(verify_with_digest(ab, 2, prefix, body, macs + 1, 1, &matched, d_second), TW_OK,
           "the second signature only: verified");
    is_int(matched, 2, "... by key 2");
    is_int(verify_with_digest(ba, 2, prefix, body, macs, 1, &matched, d_reversed), TW_OK,
           "keys listed new,old, the first signature only: verified");
    is_int(matched, 2, "... by key 2 of that list");
    is_mem(d_first, want, TW_DIGEST_LEN, "first signature only: the same digest");
    is_mem(d_second, want, TW_DIGEST_LEN, "second signature only: the same digest");
    is_mem(d_reversed, want, TW_DIGEST_LEN, "keys in the other order: the same digest");
    {
        unsigned char k1[TW_MAC_LEN], k2[TW_MAC_LEN];

        require_int(tw_replay_key(d_first, "h\n/a", 4, k1), TW_OK, "replay key, first, scope a");
        require_int(tw_replay_key(d_second, "h\n/a", 4, k2), TW_OK, "replay key, second, scope a");
        is_mem(k1, k2, TW_MAC_LEN, "... and so the same replay key in one scope");
        require_int(tw_replay_key(d_second, "h\n/b", 4, k2), TW_OK, "replay key, second, scope b");
        ok(memcmp(k1, k2, TW_MAC_LEN) != 0, "... and another one in another scope");
    }

    /* No digest for a message that did not verify, nor one not asked for. */
    memset(junk, 0x5a, sizeof(junk));
    is_int(verify_with_digest(ab, 2, prefix, body, (const unsigned char (*)[TW_MAC_LEN])junk, 1,
                              &matched, d), TW_ERR_SIG_MISMATCH, "a wrong signature: mismatch");
    require_int(tw_verifier_create(&v, ab, 2), TW_OK, "verifier over two keys");
    is_int(tw_verifier_digest(v, d), TW_ERR_ARG, "digest before finish: TW_ERR_ARG");
    require_int(tw_verifier_update(v, signed_msg, len), TW_OK, "update with the message");
    is_int(tw_verifier_want_digest(v), TW_ERR_ARG, "want_digest after an update: TW_ERR_ARG");
    is_int(tw_verifier_finish_any(v, macs, 2, NULL, NULL), TW_OK, "verified without a digest");
    is_int(tw_verifier_digest(v, d), TW_ERR_ARG, "... and tw_verifier_digest: TW_ERR_ARG");
    tw_verifier_destroy(v);
    require_int(tw_verifier_create(&v, ab, 2), TW_OK, "verifier over two keys");
    require_int(tw_verifier_want_digest(v), TW_OK, "want a digest");
    require_int(tw_verifier_update(v, signed_msg, len), TW_OK, "update with the message");
    require_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])junk, 1, NULL, NULL),
                TW_ERR_SIG_MISMATCH, "finish against junk");
    is_int(tw_verifier_digest(v, d), TW_ERR_ARG, "digest of a mismatch: TW_ERR_ARG");
    tw_verifier_destroy(v);
    is_int(tw_verifier_want_digest(NULL), TW_ERR_ARG, "want_digest(NULL): TW_ERR_ARG");

    /* tw_digest alone over the stored message gives the verifier's digest. */
    require_int(tw_digest_create(&dg), TW_OK, "tw_digest_create");
    require_int(tw_digest_update(dg, prefix, strlen(prefix)), TW_OK, "digest the prefix");
    require_int(tw_digest_update(dg, body, strlen(body)), TW_OK, "digest the body");
    require_int(tw_digest_finish(dg, d), TW_OK, "tw_digest_finish");
    tw_digest_destroy(dg);
    is_mem(d, d_both, TW_DIGEST_LEN, "tw_digest over prefix and body: the verifier's digest");

    for (i = 0; i < 2; i++)
        tw_key_destroy(keys[i]);
}

void unit_replay_key(void)
{
    test_replay_key();
}

void unit_message_digest(void)
{
    test_message_digest();
}
