/*
 * SPDX-License-Identifier: Apache-2.0
 * test_hmac.c - unit tests of tw_hmac.c: HMAC-SHA256 (RFC 4231, GitHub's
 * documented example), keys and the streaming multi-key verifier.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "twwebhook.h"
#include "tw/sign.h"
#include "tap.h"
#include "unit_common.h"

/* ---- HMAC-SHA256: RFC 4231 and GitHub's example -------------------------- */

struct hmac_vector {
    const char *name;
    unsigned char key[131];
    size_t key_len;
    const char *data;          /* text, or NULL when data_byte repeats */
    unsigned char data_byte;
    size_t data_len;
    const char *mac_hex;       /* 64 digits, or 32 when truncated */
};

static struct hmac_vector rfc4231[7];

static void fill(unsigned char *p, unsigned char b, size_t n)
{
    memset(p, b, n);
}

static void init_rfc4231(void)
{
    size_t i;
    struct hmac_vector *v = rfc4231;

    v[0].name = "RFC 4231 case 1";
    fill(v[0].key, 0x0b, 20); v[0].key_len = 20;
    v[0].data = "Hi There";
    v[0].mac_hex = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";

    v[1].name = "RFC 4231 case 2";
    memcpy(v[1].key, "Jefe", 4); v[1].key_len = 4;
    v[1].data = "what do ya want for nothing?";
    v[1].mac_hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    v[2].name = "RFC 4231 case 3";
    fill(v[2].key, 0xaa, 20); v[2].key_len = 20;
    v[2].data_byte = 0xdd; v[2].data_len = 50;
    v[2].mac_hex = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";

    v[3].name = "RFC 4231 case 4";
    for (i = 0; i < 25; i++)
        v[3].key[i] = (unsigned char)(i + 1);
    v[3].key_len = 25;
    v[3].data_byte = 0xcd; v[3].data_len = 50;
    v[3].mac_hex = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";

    v[4].name = "RFC 4231 case 5 (truncated to 128 bits)";
    fill(v[4].key, 0x0c, 20); v[4].key_len = 20;
    v[4].data = "Test With Truncation";
    v[4].mac_hex = "a3b6167473100ee06e0c796c2955552b";

    v[5].name = "RFC 4231 case 6";
    fill(v[5].key, 0xaa, 131); v[5].key_len = 131;
    v[5].data = "Test Using Larger Than Block-Size Key - Hash Key First";
    v[5].mac_hex = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";

    v[6].name = "RFC 4231 case 7";
    fill(v[6].key, 0xaa, 131); v[6].key_len = 131;
    v[6].data = "This is a test using a larger than block-size key and a larger "
                "than block-size data. The key needs to be hashed before being "
                "used by the HMAC algorithm.";
    v[6].mac_hex = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";
}

/* The vector's data in buf; returns its length. */
static size_t vector_data(const struct hmac_vector *v, unsigned char *buf, size_t cap)
{
    size_t len = v->data != NULL ? strlen(v->data) : v->data_len;

    if (len > cap)
        abort();
    if (v->data != NULL)
        memcpy(buf, v->data, len);
    else
        memset(buf, v->data_byte, len);
    return len;
}

/* Streams data through a one-key verifier in chunks of chunk bytes. */
static tw_status_t verify_chunked(const tw_key_t *key, const unsigned char *data,
                                  size_t len, size_t chunk,
                                  const unsigned char expected[TW_MAC_LEN],
                                  size_t *matched)
{
    tw_verifier_t *v = NULL;
    const tw_key_t *keys[1];
    tw_status_t st;
    size_t off;

    keys[0] = key;
    st = tw_verifier_create(&v, keys, 1);
    for (off = 0; st == TW_OK && off < len; off += chunk)
        st = tw_verifier_update(v, data + off, len - off < chunk ? len - off : chunk);
    if (st == TW_OK)
        st = tw_verifier_finish(v, expected, matched);
    tw_verifier_destroy(v);
    return st;
}

static void test_rfc4231(void)
{
    static const size_t chunks[] = { 1, 3, 7, 13, 64, 1000 };
    unsigned char data[256], want[TW_MAC_LEN], mac[TW_MAC_LEN];
    size_t i, j;

    init_rfc4231();
    for (i = 0; i < 7; i++) {
        const struct hmac_vector *v = &rfc4231[i];
        size_t len = vector_data(v, data, sizeof(data));
        size_t want_len = unhex(v->mac_hex, want, sizeof(want));
        tw_key_t *key = NULL;
        size_t matched = 99;

        is_int(tw_hmac_sha256(v->key, v->key_len, data, len, mac), TW_OK,
               "%s: tw_hmac_sha256 succeeds", v->name);
        is_mem(mac, want, want_len, "%s: tw_hmac_sha256 gives the RFC's MAC", v->name);

        /* Case 5 publishes 16 bytes: verify against the full MAC just checked. */
        if (want_len < TW_MAC_LEN)
            memcpy(want, mac, TW_MAC_LEN);

        is_int(tw_key_create(&key, v->key, v->key_len), TW_OK, "%s: key created", v->name);
        for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
            matched = 99;
            is_int(verify_chunked(key, data, len, chunks[j], want, &matched), TW_OK,
                   "%s: streaming verifier in %zu-byte chunks matches", v->name, chunks[j]);
            is_int(matched, 1, "%s: ... as key 1", v->name);
        }
        want[TW_MAC_LEN - 1] ^= 0x01;
        matched = 99;
        is_int(verify_chunked(key, data, len, 5, want, &matched), TW_ERR_SIG_MISMATCH,
               "%s: one flipped bit in the last byte is a mismatch", v->name);
        is_int(matched, 0, "%s: ... and no key matched", v->name);
        tw_key_destroy(key);
    }
}

static void test_github_example(void)
{
    static const char secret[] = "It's a Secret to Everybody";
    static const char body[] = "Hello, World!";
    static const char want_hex[] =
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    unsigned char mac[TW_MAC_LEN], want[TW_MAC_LEN];
    char hex[TW_MAC_HEX_LEN + 1];
    tw_key_t *key = NULL;
    size_t matched = 0;

    unhex(want_hex, want, sizeof(want));
    is_int(tw_hmac_sha256(secret, strlen(secret), body, strlen(body), mac), TW_OK,
           "GitHub example: tw_hmac_sha256 succeeds");
    is_int(tw_hex_encode(mac, sizeof(mac), hex, sizeof(hex)), TW_OK,
           "GitHub example: hex encodes");
    is_str(hex, want_hex, "GitHub example: documented MAC");

    is_int(tw_key_create(&key, secret, strlen(secret)), TW_OK, "GitHub example: key");
    is_int(verify_chunked(key, (const unsigned char *)body, strlen(body), 2, want, &matched),
           TW_OK, "GitHub example: verifier accepts the documented signature");
    is_int(verify_chunked(key, (const unsigned char *)"", 0, 1, want, &matched),
           TW_ERR_SIG_MISMATCH, "GitHub example: empty body does not match");
    tw_key_destroy(key);
}

static void test_hmac_args(void)
{
    unsigned char mac[TW_MAC_LEN];
    static unsigned char big[TW_SECRET_MAX + 1];

    is_int(tw_hmac_sha256("k", 1, NULL, 0, mac), TW_OK, "hmac of an empty body (NULL, 0) is fine");
    is_int(tw_hmac_sha256("", 0, "x", 1, mac), TW_ERR_ARG, "hmac with an empty secret: TW_ERR_ARG");
    is_int(tw_hmac_sha256(NULL, 3, "x", 1, mac), TW_ERR_ARG, "hmac with a NULL secret: TW_ERR_ARG");
    is_int(tw_hmac_sha256("k", 1, NULL, 1, mac), TW_ERR_ARG, "hmac of NULL data, len 1: TW_ERR_ARG");
    is_int(tw_hmac_sha256("k", 1, "x", 1, NULL), TW_ERR_ARG, "hmac into NULL: TW_ERR_ARG");
    is_int(tw_hmac_sha256(big, sizeof(big), "x", 1, mac), TW_ERR_ARG,
           "hmac with a secret over TW_SECRET_MAX: TW_ERR_ARG");
}

/* ---- keys and the multi-key verifier ---------------------------------------- */

static void test_key_create(void)
{
    static unsigned char big[TW_SECRET_MAX + 1];
    tw_key_t *key = (tw_key_t *)&key;   /* must be reset to NULL on failure */

    memset(big, 'k', sizeof(big));
    is_int(tw_key_create(&key, "", 0), TW_ERR_ARG, "key with an empty secret: TW_ERR_ARG");
    ok(key == NULL, "... and *pkey is NULL");
    is_int(tw_key_create(&key, big, sizeof(big)), TW_ERR_ARG,
           "key with a secret of TW_SECRET_MAX + 1 bytes: TW_ERR_ARG");
    is_int(tw_key_create(&key, NULL, 5), TW_ERR_ARG, "key with a NULL secret: TW_ERR_ARG");
    is_int(tw_key_create(NULL, "abc", 3), TW_ERR_ARG, "key into NULL: TW_ERR_ARG");
    is_int(tw_key_create(&key, big, TW_SECRET_MAX), TW_OK,
           "key with a secret of exactly TW_SECRET_MAX bytes is fine");
    tw_key_destroy(key);
    is_int(tw_key_create(&key, "x", 1), TW_OK, "key with a one-byte secret is fine");
    tw_key_destroy(key);
    /* No-ops: a crash here ends the run before done_testing(), a failure. */
    tw_key_destroy(NULL);
    tw_verifier_destroy(NULL);
}

static void test_multi_key(void)
{
    static const char *secrets[3] = { "old-token", "new-token", "other-token" };
    static const char body[] = "{\"event\":\"task.created\",\"id\":42}";
    unsigned char mac[TW_MAC_LEN], bad[TW_MAC_LEN];
    tw_key_t *keys[3] = { NULL, NULL, NULL };
    const tw_key_t *ckeys[3], *dup_keys[3], *with_null[2];
    tw_verifier_t *v = NULL;
    size_t matched, i;

    for (i = 0; i < 3; i++) {
        is_int(tw_key_create(&keys[i], secrets[i], strlen(secrets[i])), TW_OK,
               "key %zu created", i + 1);
        ckeys[i] = keys[i];
    }
    require_int(tw_hmac_sha256(secrets[1], strlen(secrets[1]), body, strlen(body), mac), TW_OK,
                "key 2's MAC of the body");

    is_int(tw_verifier_create(&v, ckeys, 3), TW_OK, "verifier over 3 keys");
    is_int(tw_verifier_update(v, body, 10), TW_OK, "update, first part");
    is_int(tw_verifier_update(v, body + 10, 0), TW_OK, "update with nothing");
    is_int(tw_verifier_update(v, body + 10, strlen(body) - 10), TW_OK, "update, rest");
    matched = 99;
    is_int(tw_verifier_finish(v, mac, &matched), TW_OK, "key 2's MAC matches");
    is_int(matched, 2, "... at index 2 (1-based)");
    is_int(tw_verifier_finish(v, mac, &matched), TW_ERR_ARG, "finish a second time: TW_ERR_ARG");
    is_int(matched, 0, "... and *pmatched is 0");
    is_int(tw_verifier_update(v, "x", 1), TW_ERR_ARG, "update after finish: TW_ERR_ARG");
    tw_verifier_destroy(v);

    memcpy(bad, mac, sizeof(bad));
    bad[0] ^= 0x80;
    is_int(tw_verifier_create(&v, ckeys, 3), TW_OK, "second verifier over 3 keys");
    require_int(tw_verifier_update(v, body, strlen(body)), TW_OK, "update with the body");
    matched = 99;
    is_int(tw_verifier_finish(v, bad, &matched), TW_ERR_SIG_MISMATCH, "no key matches: mismatch");
    is_int(matched, 0, "... and index 0");
    tw_verifier_destroy(v);

    /* The same secret twice (an operator's copy-paste): the first one wins. */
    dup_keys[0] = keys[0];
    dup_keys[1] = keys[1];
    dup_keys[2] = keys[1];
    is_int(tw_verifier_create(&v, dup_keys, 3), TW_OK, "verifier with a repeated key");
    require_int(tw_verifier_update(v, body, strlen(body)), TW_OK, "update with the body");
    matched = 99;
    is_int(tw_verifier_finish(v, mac, &matched), TW_OK, "repeated key matches");
    is_int(matched, 2, "... the first of the two is reported");
    tw_verifier_destroy(v);

    /* A NULL pmatched is allowed. */
    is_int(tw_verifier_create(&v, ckeys + 1, 1), TW_OK, "verifier over key 2 alone");
    require_int(tw_verifier_update(v, body, strlen(body)), TW_OK, "update with the body");
    is_int(tw_verifier_finish(v, mac, NULL), TW_OK, "finish with pmatched NULL");
    tw_verifier_destroy(v);

    /* Keys are shared: two verifiers over the same keys do not interfere. */
    {
        tw_verifier_t *a = NULL, *b = NULL;
        size_t ma = 0, mb = 0;

        require_int(tw_verifier_create(&a, ckeys, 3), TW_OK, "verifier a");
        require_int(tw_verifier_create(&b, ckeys, 3), TW_OK, "verifier b");
        require_int(tw_verifier_update(a, body, 5), TW_OK, "update a");
        require_int(tw_verifier_update(b, "garbage", 7), TW_OK, "update b");
        require_int(tw_verifier_update(a, body + 5, strlen(body) - 5), TW_OK, "update a again");
        is_int(tw_verifier_finish(a, mac, &ma), TW_OK, "interleaved verifiers: the right one matches");
        is_int(tw_verifier_finish(b, mac, &mb), TW_ERR_SIG_MISMATCH, "... the other does not");
        ok(ma == 2 && mb == 0, "... with indexes 2 and 0");
        tw_verifier_destroy(a);
        tw_verifier_destroy(b);
    }

    v = (tw_verifier_t *)&v;
    is_int(tw_verifier_create(&v, ckeys, 0), TW_ERR_ARG, "verifier over zero keys: TW_ERR_ARG");
    ok(v == NULL, "... and *pv is NULL");
    is_int(tw_verifier_create(&v, NULL, 2), TW_ERR_ARG, "verifier over a NULL list: TW_ERR_ARG");
    with_null[0] = keys[0];
    with_null[1] = NULL;
    is_int(tw_verifier_create(&v, with_null, 2), TW_ERR_ARG, "verifier with a NULL key: TW_ERR_ARG");
    is_int(tw_verifier_create(NULL, ckeys, 3), TW_ERR_ARG, "verifier into NULL: TW_ERR_ARG");
    is_int(tw_verifier_update(NULL, "x", 1), TW_ERR_ARG, "update of NULL: TW_ERR_ARG");
    is_int(tw_verifier_finish(NULL, mac, &matched), TW_ERR_ARG, "finish of NULL: TW_ERR_ARG");
    require_int(tw_verifier_create(&v, ckeys, 3), TW_OK, "verifier over 3 keys");
    is_int(tw_verifier_update(v, NULL, 4), TW_ERR_ARG, "update with NULL data, len 4: TW_ERR_ARG");
    is_int(tw_verifier_finish(v, NULL, &matched), TW_ERR_ARG, "finish against NULL: TW_ERR_ARG");
    tw_verifier_destroy(v);

    for (i = 0; i < 3; i++)
        tw_key_destroy(keys[i]);
}

/* ---- recycled running contexts (tw_hmac.c keeps them per key) ---------------- */

static const char recycle_secret[] = "recycle-token";
static const char recycle_body[] = "{\"event\":\"page.updated\",\"n\":7}";

/* One whole verification of recycle_body against mac under key. */
static tw_status_t recycle_verify(const tw_key_t *key, const unsigned char mac[TW_MAC_LEN])
{
    size_t matched = 0;

    return verify_chunked(key, (const unsigned char *)recycle_body, strlen(recycle_body), 9,
                          mac, &matched);
}

/*
 * A context goes back to its key whatever state its verifier left it in
 * (abandoned halfway, failed, mismatched); the next verifier must start
 * from the keyed state all the same, never from the last message.
 */
static void test_recycled_contexts(void)
{
    enum { MANY = 300 };   /* more at once than a key keeps idle */
    unsigned char mac[TW_MAC_LEN], bad[TW_MAC_LEN];
    tw_key_t *key = NULL;
    const tw_key_t *ckeys[1];
    tw_verifier_t *v = NULL, **many;
    size_t i, good = 0;

    require_int(tw_key_create(&key, recycle_secret, strlen(recycle_secret)), TW_OK, "recycle: key");
    require_int(tw_hmac_sha256(recycle_secret, strlen(recycle_secret), recycle_body,
                               strlen(recycle_body), mac), TW_OK, "recycle: the body's MAC");
    ckeys[0] = key;

    is_int(recycle_verify(key, mac), TW_OK, "recycle: a first verification matches");
    is_int(recycle_verify(key, mac), TW_OK, "recycle: so does the next, on a recycled context");

    require_int(tw_verifier_create(&v, ckeys, 1), TW_OK, "recycle: a verifier to abandon");
    require_int(tw_verifier_update(v, "half a message", 14), TW_OK, "recycle: fed half");
    tw_verifier_destroy(v);
    is_int(recycle_verify(key, mac), TW_OK,
           "recycle: after an abandoned verifier, the next starts from the key alone");

    memcpy(bad, mac, sizeof(bad));
    bad[3] ^= 0x10;
    is_int(recycle_verify(key, bad), TW_ERR_SIG_MISMATCH, "recycle: a wrong MAC is refused");
    is_int(recycle_verify(key, mac), TW_OK, "recycle: ... and the right one matches after it");

    require_int(tw_verifier_create(&v, ckeys, 1), TW_OK, "recycle: a verifier that fails");
    is_int(tw_verifier_update(v, NULL, 3), TW_ERR_ARG, "recycle: bad update");
    tw_verifier_destroy(v);
    is_int(recycle_verify(key, mac), TW_OK, "recycle: after a failed use, a match again");

    /* More verifiers at once than the key keeps: the surplus is freed on return. */
    many = calloc(MANY, sizeof(*many));
    require_int(many != NULL, 1, "recycle: room for %d verifiers", MANY);
    for (i = 0; i < MANY; i++) {
        if (tw_verifier_create(&many[i], ckeys, 1) == TW_OK
            && tw_verifier_update(many[i], recycle_body, i % 5) == TW_OK)
            good++;
    }
    is_int(good, MANY, "recycle: %d verifiers of one key at once", MANY);
    for (i = 0; i < MANY; i++)
        tw_verifier_destroy(many[i]);
    free(many);
    is_int(recycle_verify(key, mac), TW_OK, "recycle: after they all went back, a match");
    tw_key_destroy(key);   /* frees (and OpenSSL cleanses) the idle contexts: ASan/valgrind see leaks */
}

struct recycle_thread {
    const tw_key_t *key;
    const unsigned char *mac;
    int failures;
};

static void *recycle_thread_run(void *arg)
{
    struct recycle_thread *t = arg;
    unsigned char bad[TW_MAC_LEN];
    int i;

    memcpy(bad, t->mac, TW_MAC_LEN);
    bad[0] ^= 1;
    for (i = 0; i < 2000; i++) {
        if (recycle_verify(t->key, t->mac) != TW_OK)
            t->failures++;
        if (i % 7 == 0 && recycle_verify(t->key, bad) != TW_ERR_SIG_MISMATCH)
            t->failures++;
    }
    return NULL;
}

/* Threads sharing one key (the event MPM's workers) take and give back safely. */
static void test_recycled_threads(void)
{
    enum { NTHREADS = 4 };
    unsigned char mac[TW_MAC_LEN];
    struct recycle_thread t[NTHREADS];
    pthread_t tid[NTHREADS];
    tw_key_t *key = NULL;
    int i, started = 0, failures = 0;

    require_int(tw_key_create(&key, recycle_secret, strlen(recycle_secret)), TW_OK,
                "threads: key");
    require_int(tw_hmac_sha256(recycle_secret, strlen(recycle_secret), recycle_body,
                               strlen(recycle_body), mac), TW_OK, "threads: the body's MAC");
    for (i = 0; i < NTHREADS; i++) {
        t[i].key = key;
        t[i].mac = mac;
        t[i].failures = 0;
        if (pthread_create(&tid[i], NULL, recycle_thread_run, &t[i]) == 0)
            started++;
    }
    is_int(started, NTHREADS, "threads: %d threads verify with one key", NTHREADS);
    for (i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        failures += t[i].failures;
    }
    is_int(failures, 0, "threads: every verification gave the right answer");
    tw_key_destroy(key);
}

void unit_hmac(void)
{
    test_rfc4231();
    test_github_example();
    test_hmac_args();
    test_key_create();
    test_multi_key();
    test_recycled_contexts();
    test_recycled_threads();
}
