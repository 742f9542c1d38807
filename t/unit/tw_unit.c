/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_unit.c - unit tests of the httpd-free core, printing TAP.
 *
 * Run by "make check" (t/unit/tw_unit). Needs no httpd and no network; the
 * spool tests make (and remove) a directory under apr_temp_dir_get().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "twwebhook.h"
#include "tw_lease.h"
#include "tap.h"

/* ---- helpers ---------------------------------------------------------- */

/* Decodes a hex literal of a test vector; aborts on a typo in this file. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t len = strlen(hex);

    if (tw_hex_decode(hex, len, out, cap) != TW_OK) {
        fprintf(stderr, "bad hex literal in test: %s\n", hex);
        abort();
    }
    return len / 2;
}

/* A small deterministic generator, so a failing run can be repeated. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t rng_below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rng_next() % n);
}

/*
 * One input to a yes/no check of a string (tw_event_is_plain and its
 * kind), the answer it must give and the test's name.
 */
struct verdict_case {
    const char *input;
    int accepted;
    const char *name;
};

static void check_verdicts(int (*check)(const char *), const struct verdict_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        ok(!!check(cases[i].input) == cases[i].accepted, "%s", cases[i].name);
}

#define CHECK_VERDICTS(check, cases) check_verdicts(check, cases, sizeof(cases) / sizeof(cases[0]))

/* ---- status strings ------------------------------------------------------ */

static void test_status_str(void)
{
    static const tw_status_t all[] = {
        TW_OK, TW_ERR_SIG_MISSING, TW_ERR_SIG_MALFORMED, TW_ERR_SIG_MISMATCH,
        TW_ERR_ARG, TW_ERR_CRYPTO, TW_ERR_NOMEM, TW_ERR_JSON_INVALID,
        TW_ERR_JSON_NOT_FOUND, TW_ERR_JSON_NOT_SCALAR, TW_ERR_JSON_UNSAFE_VALUE
    };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *s = tw_status_str(all[i]);

        ok(s != NULL && *s != '\0', "tw_status_str(%d) is a non-empty string: %s",
           (int)all[i], s ? s : "(null)");
    }
    ok(tw_status_str((tw_status_t)99) != NULL, "tw_status_str of an unknown code is not NULL");
    is_str(tw_status_str(TW_ERR_SIG_MISMATCH), "signature mismatch",
           "mismatch reads as the log line says");
}

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
    tw_hmac_sha256(secrets[1], strlen(secrets[1]), body, strlen(body), mac);

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
    tw_verifier_update(v, body, strlen(body));
    matched = 99;
    is_int(tw_verifier_finish(v, bad, &matched), TW_ERR_SIG_MISMATCH, "no key matches: mismatch");
    is_int(matched, 0, "... and index 0");
    tw_verifier_destroy(v);

    /* The same secret twice (an operator's copy-paste): the first one wins. */
    dup_keys[0] = keys[0];
    dup_keys[1] = keys[1];
    dup_keys[2] = keys[1];
    is_int(tw_verifier_create(&v, dup_keys, 3), TW_OK, "verifier with a repeated key");
    tw_verifier_update(v, body, strlen(body));
    matched = 99;
    is_int(tw_verifier_finish(v, mac, &matched), TW_OK, "repeated key matches");
    is_int(matched, 2, "... the first of the two is reported");
    tw_verifier_destroy(v);

    /* A NULL pmatched is allowed. */
    is_int(tw_verifier_create(&v, ckeys + 1, 1), TW_OK, "verifier over key 2 alone");
    tw_verifier_update(v, body, strlen(body));
    is_int(tw_verifier_finish(v, mac, NULL), TW_OK, "finish with pmatched NULL");
    tw_verifier_destroy(v);

    /* Keys are shared: two verifiers over the same keys do not interfere. */
    {
        tw_verifier_t *a = NULL, *b = NULL;
        size_t ma = 0, mb = 0;

        tw_verifier_create(&a, ckeys, 3);
        tw_verifier_create(&b, ckeys, 3);
        tw_verifier_update(a, body, 5);
        tw_verifier_update(b, "garbage", 7);
        tw_verifier_update(a, body + 5, strlen(body) - 5);
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
    tw_verifier_create(&v, ckeys, 3);
    is_int(tw_verifier_update(v, NULL, 4), TW_ERR_ARG, "update with NULL data, len 4: TW_ERR_ARG");
    is_int(tw_verifier_finish(v, NULL, &matched), TW_ERR_ARG, "finish against NULL: TW_ERR_ARG");
    tw_verifier_destroy(v);

    for (i = 0; i < 3; i++)
        tw_key_destroy(keys[i]);
}

/* ---- hex --------------------------------------------------------------- */

static void test_hex(void)
{
    static const unsigned char bytes[4] = { 0x00, 0x7f, 0xab, 0xff };
    unsigned char out[8];
    char text[16];

    is_int(tw_hex_encode(bytes, 4, text, sizeof(text)), TW_OK, "hex encode");
    is_str(text, "007fabff", "... lowercase");
    memset(text, '#', sizeof(text));
    is_int(tw_hex_encode(bytes, 4, text, 8), TW_ERR_ARG, "encode with no room for the NUL: TW_ERR_ARG");
    ok(text[0] == '#' && text[7] == '#', "... and nothing was written");
    is_int(tw_hex_encode(bytes, 4, text, 9), TW_OK, "encode into exactly 2 * len + 1");
    is_int(tw_hex_encode(bytes, 0, text, 1), TW_OK, "encode nothing into one byte");
    is_str(text, "", "... gives the empty string");
    is_int(tw_hex_encode(bytes, 0, text, 0), TW_ERR_ARG, "encode nothing into zero bytes: TW_ERR_ARG");
    is_int(tw_hex_encode(bytes, SIZE_MAX / 2 + 1, text, SIZE_MAX), TW_ERR_ARG,
           "encode length whose hex overflows size_t: TW_ERR_ARG");
    is_int(tw_hex_encode(bytes, 4, NULL, 9), TW_ERR_ARG, "encode into NULL: TW_ERR_ARG");

    is_int(tw_hex_decode("007FabfF", 8, out, 4), TW_OK, "decode mixed case into exactly enough");
    is_mem(out, bytes, 4, "... gives the bytes");
    is_int(tw_hex_decode("007fabff", 8, out, 3), TW_ERR_ARG, "decode into one byte too few: TW_ERR_ARG");
    is_int(tw_hex_decode("007fabf", 7, out, 8), TW_ERR_ARG, "decode an odd length: TW_ERR_ARG");
    is_int(tw_hex_decode("007fagff", 8, out, 8), TW_ERR_ARG, "decode a 'g': TW_ERR_ARG");
    is_int(tw_hex_decode("00 7fabf", 8, out, 8), TW_ERR_ARG, "decode a space: TW_ERR_ARG");
    is_int(tw_hex_decode("0x7fabff", 8, out, 8), TW_ERR_ARG, "decode '0x': TW_ERR_ARG");
    is_int(tw_hex_decode("12\0" "4", 4, out, 8), TW_ERR_ARG, "decode an embedded NUL: TW_ERR_ARG");
    memset(out, 0x55, sizeof(out));
    tw_hex_decode("aabbccdd1z", 10, out, 8);
    ok(out[0] == 0 && out[3] == 0, "a failed decode leaves no decoded bytes behind");
    is_int(tw_hex_decode("", 0, out, 0), TW_OK, "decode nothing");
    is_int(tw_hex_decode(NULL, 2, out, 8), TW_ERR_ARG, "decode NULL: TW_ERR_ARG");
}

/* ---- the Signature header ----------------------------------------------- */

#define SIG_HEX_LOWER "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
#define SIG_HEX_UPPER "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"
#define SIG_HEX_MIXED "757107eA0Eb2509Fc211221cCe984B8a37570b6D7586C22c46F4379c8B043e17"

static void test_signature(void)
{
    unsigned char want[TW_MAC_LEN], mac[TW_MAC_LEN], zero[TW_MAC_LEN];
    static const struct { const char *value; tw_status_t status; const char *name; } cases[] = {
        { SIG_HEX_LOWER, TW_OK, "lowercase" },
        { SIG_HEX_UPPER, TW_OK, "uppercase" },
        { SIG_HEX_MIXED, TW_OK, "mixed case" },
        { "sha256=" SIG_HEX_LOWER, TW_OK, "sha256= prefix" },
        { "SHA256=" SIG_HEX_UPPER, TW_OK, "SHA256= prefix" },
        { "ShA256=" SIG_HEX_MIXED, TW_OK, "ShA256= prefix" },
        { "", TW_ERR_SIG_MALFORMED, "empty" },
        { "sha256=", TW_ERR_SIG_MALFORMED, "prefix only" },
        { "sha256", TW_ERR_SIG_MALFORMED, "prefix without '='" },
        { "sha1=" SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "sha1= prefix" },
        { "sha256:" SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "sha256: prefix" },
        { "sha256=sha256=" SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "doubled prefix" },
        { "sha256 =" SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "space before =" },
        { "sha256= " SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "space after =" },
        { " " SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "leading space" },
        { SIG_HEX_LOWER " ", TW_ERR_SIG_MALFORMED, "trailing space" },
        { SIG_HEX_LOWER "\t", TW_ERR_SIG_MALFORMED, "trailing tab" },
        { "757107ea0eb2509fc211221cce984b8a 37570b6d7586c22c46f4379c8b043e1",
          TW_ERR_SIG_MALFORMED, "inner space" },
        { "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
          TW_ERR_SIG_MALFORMED, "63 digits" },
        { SIG_HEX_LOWER "7", TW_ERR_SIG_MALFORMED, "65 digits" },
        { SIG_HEX_LOWER SIG_HEX_LOWER, TW_ERR_SIG_MALFORMED, "128 digits" },
        { "sha256=" "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
          TW_ERR_SIG_MALFORMED, "prefix + 63 digits" },
        { "sha256=" SIG_HEX_LOWER "junk", TW_ERR_SIG_MALFORMED, "prefix + 64 digits + junk" },
        { "sha256=" SIG_HEX_LOWER ",sha1=abc", TW_ERR_SIG_MALFORMED, "a list of signatures" },
        { "g57107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
          TW_ERR_SIG_MALFORMED, "non-hex 'g'" },
        { "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1z",
          TW_ERR_SIG_MALFORMED, "non-hex last digit" },
        { "0x7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
          TW_ERR_SIG_MALFORMED, "0x" },
        { "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e\xc3\xa9",
          TW_ERR_SIG_MALFORMED, "non-ASCII bytes" },
        { "\"" SIG_HEX_LOWER "\"", TW_ERR_SIG_MALFORMED, "quoted" },
        { "sha256=\"" SIG_HEX_LOWER "\"", TW_ERR_SIG_MALFORMED, "prefix + quoted" },
    };
    size_t i;

    unhex(SIG_HEX_LOWER, want, sizeof(want));
    memset(zero, 0, sizeof(zero));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tw_status_t st;

        memset(mac, 0xee, sizeof(mac));
        st = tw_signature_parse(cases[i].value, mac);
        is_int(st, cases[i].status, "signature %s: %s", cases[i].name, tw_status_str(cases[i].status));
        if (cases[i].status == TW_OK)
            is_mem(mac, want, TW_MAC_LEN, "signature %s: decoded bytes", cases[i].name);
        else
            is_mem(mac, zero, TW_MAC_LEN, "signature %s: mac zeroed", cases[i].name);
    }
    is_int(tw_signature_parse(NULL, mac), TW_ERR_SIG_MISSING, "signature NULL: missing");
    is_mem(mac, zero, TW_MAC_LEN, "signature NULL: mac zeroed");
    is_int(tw_signature_parse(SIG_HEX_LOWER, NULL), TW_ERR_ARG, "signature into NULL: TW_ERR_ARG");
}

/* ---- Event and Delivery ------------------------------------------------------ */

static const struct verdict_case event_is_plain_cases[] = {
    { "page.updated", 1, "event page.updated is plain" },
    { "task_created", 1, "event task_created is plain" },
    { "time-log.v2.0", 1, "event time-log.v2.0 is plain" },
    { "a", 1, "event of one character is plain" },
    { "TASK.CREATED", 1, "Teamwork Projects' TASK.CREATED is plain" },
    { "Page.updated", 1, "mixed-case event is plain" },
    { "orders/create", 1, "Shopify's orders/create is plain" },
    { "payment_intent.succeeded", 1, "Stripe's payment_intent.succeeded is plain" },
    { "pull_request", 1, "GitHub's pull_request is plain" },
    { "../etc/passwd", 0, "event with .. is not plain" },
    { "a/../b", 0, "event with /../ is not plain" },
    { "a//b", 0, "event with // is not plain" },
    { "a/.b", 0, "event with /. is not plain" },
    { "a./b", 0, "event with ./ is not plain" },
    { "/orders", 0, "event starting with / is not plain" },
    { ".hidden", 0, "event starting with . is not plain" },
    { "-x", 0, "event starting with - is not plain" },
    { "_x", 0, "event starting with _ is not plain" },
    { "page.*", 0, "event with * is not plain (patterns only)" },
    { "", 0, "empty event is not plain" },
    { NULL, 0, "NULL event is not plain" },
    { "page updated", 0, "event with a space is not plain" },
    { "a;rm -rf", 0, "event with ';' is not plain" },
    { "page\nupdated", 0, "event with a newline is not plain" },
    { "caf\xc3\xa9", 0, "event with UTF-8 is not plain" },
    { "abc\0DEF", 1, "event stops at its NUL (values from httpd hold none)" },
};

static const struct verdict_case delivery_is_plain_cases[] = {
    { "4f1c2a3b-0d9e-4b8a-9c7d-6e5f4a3b2c1d", 1, "UUID delivery is plain" },
    { "ABC-def-123", 1, "mixed-case delivery is plain" },
    { "12345", 1, "numeric delivery is plain" },
    { "-", 1, "delivery '-' is plain" },
    { "a/b", 0, "delivery with '/' is not plain" },
    { "a.b", 0, "delivery with '.' is not plain" },
    { "a_b", 1, "delivery with '_' is plain" },
    { "evt_1NG8Du2eZvKYlo2CUI79vXWy", 1, "Stripe's evt_... id is plain" },
    { "msg_p5jXN8AQM9LWM0D4loKWxJek", 1, "Standard Webhooks' msg_... id is plain" },
    { "a b", 0, "delivery with a space is not plain" },
    { "{abc}", 0, "delivery with braces is not plain" },
    { "", 0, "empty delivery is not plain" },
    { NULL, 0, "NULL delivery is not plain" },
    { "\xff", 0, "delivery with a high byte is not plain" },
    { "abc\0..", 1, "delivery stops at its NUL" },
};

static void test_validators(void)
{
    char s[TW_EVENT_MAX + 2];

    CHECK_VERDICTS(tw_event_is_plain, event_is_plain_cases);

    memset(s, 'a', sizeof(s));
    s[TW_EVENT_MAX] = '\0';
    ok(tw_event_is_plain(s), "event of 128 characters is plain");
    s[TW_EVENT_MAX] = 'a';
    s[TW_EVENT_MAX + 1] = '\0';
    ok(!tw_event_is_plain(s), "event of 129 characters is not plain");
    s[TW_EVENT_MAX - 1] = ' ';
    s[TW_EVENT_MAX] = '\0';
    ok(!tw_event_is_plain(s), "event of 128 characters with a space last is not plain");

    CHECK_VERDICTS(tw_delivery_is_plain, delivery_is_plain_cases);

    memset(s, 'Z', sizeof(s));
    s[TW_DELIVERY_MAX] = '\0';
    ok(tw_delivery_is_plain(s), "delivery of 128 characters is plain");
    s[TW_DELIVERY_MAX] = '9';
    s[TW_DELIVERY_MAX + 1] = '\0';
    ok(!tw_delivery_is_plain(s), "delivery of 129 characters is not plain");
}

/* ---- event allow-list patterns ------------------------------------------ */

static const struct verdict_case event_pattern_is_valid_cases[] = {
    { "page.updated", 1, "pattern page.updated (no star) is valid" },
    { "page.*", 1, "pattern page.* is valid" },
    { "*.deleted", 1, "pattern *.deleted is valid" },
    { "*", 1, "pattern * is valid" },
    { "a*b*c", 1, "pattern a*b*c is valid" },
    { "**", 1, "pattern ** is valid" },
    { "*-v2_0.*.*", 1, "pattern with '-', '_', digits and several stars is valid" },
    { "", 0, "empty pattern is not valid" },
    { NULL, 0, "NULL pattern is not valid" },
    { "TASK.*", 1, "uppercase pattern is valid" },
    { "orders/*", 1, "pattern orders/* is valid" },
    { "../*", 0, "pattern with .. is not valid" },
    { "orders//*", 0, "pattern with // is not valid" },
    { "page.?", 0, "pattern with '?' is not valid" },
    { "page.[ab]", 0, "pattern with brackets is not valid" },
    { "page *", 0, "pattern with a space is not valid" },
    { "page.*\n", 0, "pattern with a newline is not valid" },
    { "caf\xc3\xa9.*", 0, "pattern with UTF-8 is not valid" },
};

static void test_event_patterns(void)
{
    char s[TW_EVENT_MAX + 2];
    static const struct { const char *pattern, *event; int match; } cases[] = {
        { "page.updated", "page.updated", 1 },
        { "page.updated", "page.updatedx", 0 },
        { "page.updated", "page.update", 0 },
        { "page.updated", "Page.updated", 1 },   /* case is ignored */
        { "task.*", "TASK.CREATED", 1 },
        { "TASK.CREATED", "task.created", 1 },
        { "TASK.*", "task.created", 1 },
        { "orders/*", "orders/create", 1 },
        { "orders/*", "orders", 0 },
        { "page.*", "page.updated", 1 },
        { "page.*", "page.", 1 },             /* '*' may stand for nothing */
        { "page.*", "page.comment.created", 1 },
        { "page.*", "page", 0 },
        { "page.*", "pages.x", 0 },
        { "page.*", "xpage.y", 0 },
        { "*.deleted", "task.deleted", 1 },
        { "*.deleted", ".deleted", 1 },
        { "*.deleted", "deleted", 0 },
        { "*.deleted", "task.deleted.x", 0 },
        { "*.deleted", "task.deleted.deleted", 1 },
        { "*", "a", 1 },
        { "*", "page.updated", 1 },
        { "**", "x", 1 },
        { "*.*", "a", 0 },
        { "*.*", "a.b.c", 1 },
        { "a*b*c", "abc", 1 },
        { "a*b*c", "aXbYc", 1 },
        { "a*b*c", "abcbc", 1 },
        { "a*b*c", "a.b.c", 1 },
        { "a*b*c", "acb", 0 },
        { "a*b*c", "ab", 0 },
        { "a*b*c", "abcx", 0 },
        { "page.*.created", "page.comment.created", 1 },
        { "page.*.created", "page.created", 0 },
        { "*ab", "aab", 1 },                  /* needs the backtrack */
        { "a*ab", "aab", 1 },
        { "*created", "created", 1 },
        { "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
        { "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 1 },
    };
    size_t i;

    CHECK_VERDICTS(tw_event_pattern_is_valid, event_pattern_is_valid_cases);
    memset(s, '*', sizeof(s));
    s[TW_EVENT_MAX] = '\0';
    ok(tw_event_pattern_is_valid(s), "pattern of 128 stars is valid");
    s[TW_EVENT_MAX] = 'a';
    s[TW_EVENT_MAX + 1] = '\0';
    ok(!tw_event_pattern_is_valid(s), "pattern of 129 characters is not valid");
    s[TW_EVENT_MAX - 1] = '?';
    s[TW_EVENT_MAX] = '\0';
    ok(!tw_event_pattern_is_valid(s), "pattern of 128 characters with a '?' last is not valid");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(tw_event_matches(cases[i].pattern, cases[i].event), cases[i].match,
               "pattern %s %s event %s", cases[i].pattern,
               cases[i].match ? "matches" : "does not match", cases[i].event);
    memset(s, 'a', sizeof(s));
    s[TW_EVENT_MAX] = '\0';
    ok(tw_event_matches(s, s), "a 128-character pattern without stars matches itself");
    ok(!tw_event_matches(NULL, "page.updated"), "NULL pattern matches nothing");
    ok(!tw_event_matches("*", NULL), "no event (NULL) matches nothing, not even *");
}

/* ---- JSON ---------------------------------------------------------------- */

#define JSON_WHOLE ((size_t)-1)

/*
 * Feeds len bytes of doc in chunks of chunk bytes (JSON_WHOLE: one feed)
 * and finishes; the first failure is the result. The parser is kept in
 * *pjson (for lookups) when pjson is not NULL, else destroyed.
 */
static tw_status_t json_parse(tw_json_t **pjson, const char *doc, size_t len, size_t chunk)
{
    tw_json_t *json = NULL;
    tw_status_t st;
    size_t off = 0;

    st = tw_json_create(&json);
    if (chunk == JSON_WHOLE)
        chunk = len > 0 ? len : 1;
    while (st == TW_OK && off < len) {
        size_t n = len - off < chunk ? len - off : chunk;

        st = tw_json_feed(json, doc + off, n);
        off += n;
    }
    if (st == TW_OK)
        st = tw_json_finish(json);
    if (pjson != NULL)
        *pjson = json;
    else
        tw_json_destroy(json);
    return st;
}

/* The verdict on a C-string document, the same fed whole or byte by byte (else TW_ERR_ARG). */
static tw_status_t json_verdict(const char *doc)
{
    tw_status_t whole = json_parse(NULL, doc, strlen(doc), JSON_WHOLE);
    tw_status_t bytes = json_parse(NULL, doc, strlen(doc), 1);

    return whole == bytes ? whole : TW_ERR_ARG;
}

/* get_scalar of pointer in doc (parsed whole) into out[cap]; TW_ERR_ARG if doc is invalid. */
static tw_status_t json_get(const char *doc, const char *pointer, char *out, size_t cap, size_t *plen)
{
    tw_json_t *json = NULL;
    tw_status_t st = json_parse(&json, doc, strlen(doc), JSON_WHOLE);

    if (st == TW_OK)
        st = tw_json_get_scalar(json, pointer, out, cap, plen);
    else
        st = TW_ERR_ARG;
    tw_json_destroy(json);
    return st;
}

static void test_json_args(void)
{
    tw_json_t *json = (tw_json_t *)&json;
    char out[16];
    size_t len = 99;

    is_int(tw_json_create(NULL), TW_ERR_ARG, "json create into NULL: TW_ERR_ARG");
    is_int(tw_json_feed(NULL, "{}", 2), TW_ERR_ARG, "feed NULL parser: TW_ERR_ARG");
    is_int(tw_json_finish(NULL), TW_ERR_ARG, "finish NULL parser: TW_ERR_ARG");
    tw_json_destroy(NULL);   /* a no-op; a crash would end the run, a failure */
    is_int(tw_json_create(&json), TW_OK, "json create");
    is_int(tw_json_feed(json, NULL, 3), TW_ERR_ARG, "feed NULL data, len 3: TW_ERR_ARG");
    is_int(tw_json_feed(json, NULL, 0), TW_OK, "feed NULL data, len 0: nothing to do");
    is_int(tw_json_feed(json, "{\"a\":", 5), TW_OK, "feed half a document");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_ERR_JSON_INVALID,
           "get_scalar of an unfinished document: TW_ERR_JSON_INVALID");
    is_int(len, 0, "... *plen is 0");
    is_str(out, "", "... out is empty");
    is_int(tw_json_feed(json, "\"x\"}", 4), TW_OK, "feed the rest");
    is_int(tw_json_get_scalar(NULL, "/a", out, sizeof(out), &len), TW_ERR_ARG, "get_scalar of NULL: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, NULL, out, sizeof(out), &len), TW_ERR_ARG, "get_scalar of a NULL pointer: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, "/a", NULL, sizeof(out), &len), TW_ERR_ARG, "get_scalar into NULL: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, "/a", out, 0, &len), TW_ERR_ARG, "get_scalar into 0 bytes: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), NULL), TW_ERR_ARG, "get_scalar with NULL plen: TW_ERR_ARG");
    /* A value may be looked up once the document is complete, before finish
     * (the module always finishes first; trailing bytes could still fail it). */
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_OK,
           "get_scalar of a complete document before finish");
    is_int(tw_json_finish(json), TW_OK, "finish");
    is_int(tw_json_finish(json), TW_OK, "finish again: still one document");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_OK, "get_scalar after finish");
    ok(len == 1 && strcmp(out, "x") == 0, "... gives x, length 1");
    is_int(tw_json_feed(json, "\r\n", 2), TW_OK, "whitespace fed after finish is fine");
    is_int(tw_json_feed(json, "1", 1), TW_ERR_JSON_INVALID, "a digit fed after finish: invalid");
    is_int(tw_json_finish(json), TW_ERR_JSON_INVALID, "... and finish now fails");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_ERR_JSON_INVALID,
           "... and so does get_scalar");
    tw_json_destroy(json);

    /* A failed parser stays failed. */
    tw_json_create(&json);
    is_int(tw_json_feed(json, "{\"a\":1,,", 8), TW_ERR_JSON_INVALID, "feed of invalid JSON fails at once");
    is_int(tw_json_feed(json, "\"b\":2}", 6), TW_ERR_JSON_INVALID, "feed after a failure keeps failing");
    is_int(tw_json_feed(json, "", 0), TW_ERR_JSON_INVALID, "... even an empty feed");
    is_int(tw_json_finish(json), TW_ERR_JSON_INVALID, "finish after a failure fails");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_ERR_JSON_INVALID,
           "get_scalar on a failed document: TW_ERR_JSON_INVALID");
    tw_json_destroy(json);
}

static void test_json_chunks(void)
{
    static const char doc[] =
        "{\"event\":\"page.updated\",\"page\":{\"id\":4711,\"title\":\"Caf\\u00e9 \xe2\x82\xac\","
        "\"tags\":[\"a\",\"b\",{\"c\":[true,false,null]}],\"ratio\":-1.50e-3},"
        "\"deep\":[[[[[[1]]]]]],\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\",\"empty\":{},\"none\":[]}";
    static const size_t chunks[] = { 1, 2, 3, 5, 7, 13, 64 };
    size_t len = strlen(doc), i;
    char out[64];
    size_t n;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]) + 1; i++) {
        size_t chunk = i < sizeof(chunks) / sizeof(chunks[0]) ? chunks[i] : JSON_WHOLE;
        tw_json_t *json = NULL;
        int all = 1;

        if (chunk == JSON_WHOLE)
            is_int(json_parse(&json, doc, len, chunk), TW_OK, "document fed whole is valid");
        else
            is_int(json_parse(&json, doc, len, chunk), TW_OK, "document fed in %zu-byte chunks is valid", chunk);
        all &= tw_json_get_scalar(json, "/page/id", out, sizeof(out), &n) == TW_OK && strcmp(out, "4711") == 0;
        all &= tw_json_get_scalar(json, "/page/title", out, sizeof(out), &n) == TW_OK
               && strcmp(out, "Caf\xc3\xa9 \xe2\x82\xac") == 0;
        all &= tw_json_get_scalar(json, "/page/tags/2/c/1", out, sizeof(out), &n) == TW_OK && strcmp(out, "false") == 0;
        all &= tw_json_get_scalar(json, "/page/ratio", out, sizeof(out), &n) == TW_OK && strcmp(out, "-1.50e-3") == 0;
        all &= tw_json_get_scalar(json, "/deep/0/0/0/0/0/0", out, sizeof(out), &n) == TW_OK && strcmp(out, "1") == 0;
        all &= tw_json_get_scalar(json, "/event", out, sizeof(out), &n) == TW_OK && strcmp(out, "page.updated") == 0;
        ok(all, "... and its values are the same");
        tw_json_destroy(json);
    }
    /* Random chunking of the same document. */
    {
        int same = 1, round;

        for (round = 0; round < 200 && same; round++) {
            tw_json_t *json = NULL;
            tw_status_t st;
            size_t off = 0;

            tw_json_create(&json);
            for (st = TW_OK; st == TW_OK && off < len; ) {
                size_t k = 1 + rng_below(17);

                if (k > len - off)
                    k = len - off;
                st = tw_json_feed(json, doc + off, k);
                off += k;
            }
            if (st == TW_OK)
                st = tw_json_finish(json);
            same = st == TW_OK && tw_json_get_scalar(json, "/page/title", out, sizeof(out), &n) == TW_OK
                   && n == 9;
            tw_json_destroy(json);
        }
        ok(same, "200 random chunkings (1..17 bytes) parse alike");
    }
}

static void test_json_documents(void)
{
    static const struct { const char *doc; tw_status_t st; const char *name; } cases[] = {
        { "{}", TW_OK, "empty object" },
        { "[]", TW_OK, "empty array" },
        { "{} \t\r\n", TW_OK, "trailing JSON whitespace" },
        { " \n{}", TW_OK, "leading whitespace" },
        { "42", TW_OK, "top-level number (ends only at finish)" },
        { "42 ", TW_OK, "top-level number and a space" },
        { "-0", TW_OK, "top-level -0" },
        { "\"x\"", TW_OK, "top-level string" },
        { "true", TW_OK, "top-level true" },
        { "null", TW_OK, "top-level null" },
        { "null ", TW_OK, "top-level null and a space" },
        { "[null]", TW_OK, "null in an array" },
        { "[0,-0,0.0,-0.0e0,1E+05,1e-5,-1.5e-3,123456789012345678901234567890.5]", TW_OK, "RFC numbers" },
        { "[\"\\u0000\",\"\\ud83d\\ude00\",\"\\/\",\"\x7f\"]", TW_OK, "escapes, a surrogate pair, a raw DEL" },
        /* what parsers read differently is refused (parity with PHP & co.) */
        { "{\"a\":1,\"a\":2}", TW_ERR_JSON_AMBIGUOUS, "duplicate keys" },
        { "{\"page\":{\"id\":1,\"id\\u0000\":2}}", TW_ERR_JSON_AMBIGUOUS,
          "a name with \\u0000 (json-c reads id=2, PHP id=1)" },
        { "{\"a\\u0000\":1}", TW_ERR_JSON_AMBIGUOUS, "a name with \\u0000, alone" },
        { "{\"a\\u0000b\" :1}", TW_ERR_JSON_AMBIGUOUS, "a name with \\u0000 inside, space before ':'" },
        { "{\"a\":\"x\\u0000y\"}", TW_OK, "\\u0000 in a value (never exported: unsafe)" },
        { "[\"\\u0000\",{\"b\":1}]", TW_OK, "\\u0000 in an array string, then a name" },
        { "{\"id\":1,\"\\u0069d\":2}", TW_ERR_JSON_AMBIGUOUS, "duplicate keys, one spelled with an escape" },
        { "{\"a\":{\"b\":1,\"c\":2},\"a\":{\"b\":1}}", TW_ERR_JSON_AMBIGUOUS, "a repeated name holding an object" },
        { "{\"x\":[{\"a\":1},{\"a\":1}],\"y\":{\"a\":{\"a\":1}}}", TW_OK,
          "the same name in different objects" },
        { "{\"x\":[1,{\"k\":{\"k\":2,\"k\":3}}]}", TW_ERR_JSON_AMBIGUOUS, "a duplicate deep inside" },
        { "[\"\\ud800\"]", TW_ERR_JSON_AMBIGUOUS, "a lone high surrogate" },
        { "[\"\\udc00\"]", TW_ERR_JSON_AMBIGUOUS, "a lone low surrogate" },
        { "[\"\\ud83dx\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then a letter" },
        { "[\"\\ud83d\\u0041\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then another escape" },
        { "[\"\\ud83d\\n\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then \\n" },
        { "[\"\\ud83d\xc3\xa9\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then raw UTF-8" },
        { "[\"\\ude00\\ud83d\"]", TW_ERR_JSON_AMBIGUOUS, "a pair in the wrong order" },
        { "[\"\\uD83D\\uDE00\"]", TW_OK, "a surrogate pair in upper case" },
        /* bytes that are not UTF-8 are not JSON (RFC 8259 8.1) */
        { "[\"\xc3\"]", TW_ERR_JSON_INVALID, "a truncated UTF-8 sequence" },
        { "[\"\xc0\xaf\"]", TW_ERR_JSON_INVALID, "an overlong UTF-8 form" },
        { "[\"\xe0\x80\xaf\"]", TW_ERR_JSON_INVALID, "an overlong 3-byte form" },
        { "[\"\xed\xa0\x80\"]", TW_ERR_JSON_INVALID, "a UTF-8-encoded surrogate" },
        { "[\"\xf4\x90\x80\x80\"]", TW_ERR_JSON_INVALID, "past U+10FFFF" },
        { "[\"\xff\"]", TW_ERR_JSON_INVALID, "the byte FF" },
        { "[\"\x80\"]", TW_ERR_JSON_INVALID, "a lone continuation byte" },
        { "[\"\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\"]", TW_OK, "4-, 3- and 2-byte UTF-8" },
        { "[\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]", TW_OK, "U+FFFF and U+10FFFF" },
        { "", TW_ERR_JSON_INVALID, "empty input" },
        { " \r\n\t", TW_ERR_JSON_INVALID, "whitespace only" },
        { "{} x", TW_ERR_JSON_INVALID, "trailing garbage" },
        { "{}{}", TW_ERR_JSON_INVALID, "two documents" },
        { "{} {}", TW_ERR_JSON_INVALID, "two documents, a space apart" },
        { "1 2", TW_ERR_JSON_INVALID, "two numbers" },
        { "{}\v", TW_ERR_JSON_INVALID, "trailing vertical tab (not JSON whitespace)" },
        { "{}\f", TW_ERR_JSON_INVALID, "trailing form feed (not JSON whitespace)" },
        { "\xef\xbb\xbf{}", TW_ERR_JSON_INVALID, "a byte order mark" },
        { "{", TW_ERR_JSON_INVALID, "unterminated object" },
        { "[1", TW_ERR_JSON_INVALID, "unterminated array" },
        { "\"abc", TW_ERR_JSON_INVALID, "unterminated string" },
        { "tru", TW_ERR_JSON_INVALID, "truncated true" },
        /* Strict RFC 8259: what json-c's JSON_TOKENER_STRICT alone lets through is refused too. */
        { "{'a':1}", TW_ERR_JSON_INVALID, "strict: single-quoted key" },
        { "['a']", TW_ERR_JSON_INVALID, "strict: single-quoted value" },
        { "[1,]", TW_ERR_JSON_INVALID, "strict: trailing comma in an array" },
        { "{\"a\":1,}", TW_ERR_JSON_INVALID, "strict: trailing comma in an object" },
        { "[1,,2]", TW_ERR_JSON_INVALID, "strict: empty array element" },
        { "[1]/*c*/", TW_ERR_JSON_INVALID, "strict: trailing comment" },
        { "/*c*/[1]", TW_ERR_JSON_INVALID, "strict: leading comment" },
        { "//c\n[1]", TW_ERR_JSON_INVALID, "strict: line comment" },
        { "{a:1}", TW_ERR_JSON_INVALID, "strict: unquoted key" },
        { "[NaN]", TW_ERR_JSON_INVALID, "strict: NaN" },
        { "[Infinity]", TW_ERR_JSON_INVALID, "strict: Infinity" },
        { "[-Infinity]", TW_ERR_JSON_INVALID, "strict: -Infinity" },
        { "NaN", TW_ERR_JSON_INVALID, "strict: top-level NaN" },
        { "[TRUE]", TW_ERR_JSON_INVALID, "strict: TRUE" },
        { "[01]", TW_ERR_JSON_INVALID, "strict: leading zero" },
        { "[00]", TW_ERR_JSON_INVALID, "strict: 00" },
        { "[-01]", TW_ERR_JSON_INVALID, "strict: -01" },
        { "01", TW_ERR_JSON_INVALID, "strict: top-level 01" },
        { "[1.]", TW_ERR_JSON_INVALID, "strict: 1." },
        { "1.", TW_ERR_JSON_INVALID, "strict: top-level 1." },
        { "-", TW_ERR_JSON_INVALID, "strict: top-level -" },
        { "1e", TW_ERR_JSON_INVALID, "strict: top-level 1e" },
        { "1e+", TW_ERR_JSON_INVALID, "strict: top-level 1e+" },
        { "[-.5]", TW_ERR_JSON_INVALID, "strict: -.5" },
        { "[.5]", TW_ERR_JSON_INVALID, "strict: .5" },
        { "[1.e5]", TW_ERR_JSON_INVALID, "strict: 1.e5" },
        { "[+1]", TW_ERR_JSON_INVALID, "strict: +1" },
        { "[0x10]", TW_ERR_JSON_INVALID, "strict: hex number" },
        { "[\"a\nb\"]", TW_ERR_JSON_INVALID, "strict: raw newline in a string" },
        { "[\"a\tb\"]", TW_ERR_JSON_INVALID, "strict: raw tab in a string" },
        { "{\"a\nb\":1}", TW_ERR_JSON_INVALID, "strict: raw newline in a key" },
        { "[\"\\x\"]", TW_ERR_JSON_INVALID, "strict: unknown escape" },
        { "[\"\\'\"]", TW_ERR_JSON_INVALID, "strict: escaped single quote" },
        { "[\"\\u00zz\"]", TW_ERR_JSON_INVALID, "strict: bad \\u escape" },
        /* json-c 0.16, fed in chunks, reads "[4" + "-1]" as [4]. */
        { "[4-1]", TW_ERR_JSON_INVALID, "a minus right after a number" },
        { "4-1", TW_ERR_JSON_INVALID, "top-level 4-1" },
        { "[-1-1]", TW_ERR_JSON_INVALID, "-1-1" },
        { "[1e5-3]", TW_ERR_JSON_INVALID, "a minus right after an exponent" },
        { "[1+1]", TW_ERR_JSON_INVALID, "a plus right after a number" },
        { "[1true]", TW_ERR_JSON_INVALID, "a literal right after a number" },
        { "{\"a\":1\"b\"}", TW_ERR_JSON_INVALID, "a string right after a number" },
        { "{\"a\"}", TW_ERR_JSON_INVALID, "object member without a value" },
        { "[1 2]", TW_ERR_JSON_INVALID, "array without a comma" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(json_verdict(cases[i].doc), cases[i].st, "json %s (whole and byte by byte): %s",
               cases[i].name, tw_status_str(cases[i].st));
    /* NUL bytes: C strings cannot carry them. */
    is_int(json_parse(NULL, "[1]\0", 4, JSON_WHOLE), TW_ERR_JSON_INVALID, "json: a NUL after the document");
    is_int(json_parse(NULL, "42\0", 3, 1), TW_ERR_JSON_INVALID, "json: a NUL after a top-level number");
    is_int(json_parse(NULL, "[\"a\0b\"]", 7, JSON_WHOLE), TW_ERR_JSON_INVALID, "json: a raw NUL in a string");
    is_int(json_parse(NULL, "[1,\0 2]", 7, JSON_WHOLE), TW_ERR_JSON_INVALID, "json: a NUL between values");
}

/* count arrays (or objects, with "{\"k\":") around inner. */
static char *json_nest(int count, int objects, const char *inner)
{
    size_t open = objects ? 5 : 1, len = strlen(inner);
    char *s = malloc((size_t)count * (open + 1) + len + 1), *p = s;
    int i;

    if (s == NULL)
        abort();
    for (i = 0; i < count; i++, p += open)
        memcpy(p, objects ? "{\"k\":" : "[", open);
    memcpy(p, inner, len);
    p += len;
    for (i = 0; i < count; i++)
        *p++ = objects ? '}' : ']';
    *p = '\0';
    return s;
}

/*
 * Depth, as json-c counts it (json_tokener_new_ex(TW_JSON_MAX_DEPTH)): the
 * values on the path from the root to the deepest value, that value
 * included. So 31 containers around a scalar is 32 levels and the most
 * allowed; 32 empty arrays nested ("[[...[]...]]") is also 32 levels, the
 * innermost empty one being the deepest value.
 */
static void test_json_depth(void)
{
    static const struct { int count, objects; const char *inner; tw_status_t st; const char *name; } cases[] = {
        { TW_JSON_MAX_DEPTH - 1, 0, "1",  TW_OK, "31 arrays around a scalar (32 levels)" },
        { TW_JSON_MAX_DEPTH,     0, "1",  TW_ERR_JSON_INVALID, "32 arrays around a scalar (33 levels)" },
        { TW_JSON_MAX_DEPTH - 1, 0, "[]", TW_OK, "32 nested arrays, the innermost empty (32 levels)" },
        { TW_JSON_MAX_DEPTH,     0, "[]", TW_ERR_JSON_INVALID, "33 nested arrays, the innermost empty (33 levels)" },
        { TW_JSON_MAX_DEPTH - 1, 1, "1",  TW_OK, "31 objects around a scalar (32 levels)" },
        { TW_JSON_MAX_DEPTH,     1, "1",  TW_ERR_JSON_INVALID, "32 objects around a scalar (33 levels)" },
        { TW_JSON_MAX_DEPTH - 1, 1, "{}", TW_OK, "32 nested objects, the innermost empty (32 levels)" },
        { TW_JSON_MAX_DEPTH,     1, "{}", TW_ERR_JSON_INVALID, "33 nested objects, the innermost empty (33 levels)" },
        { 1000,                  0, "1",  TW_ERR_JSON_INVALID, "1000 arrays" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *doc = json_nest(cases[i].count, cases[i].objects, cases[i].inner);

        is_int(json_verdict(doc), cases[i].st, "json depth: %s: %s", cases[i].name, tw_status_str(cases[i].st));
        free(doc);
    }
    {
        char *doc = json_nest(TW_JSON_MAX_DEPTH - 1, 0, "\"deep\"");
        char ptr[3 * TW_JSON_MAX_DEPTH];
        char out[16];
        size_t n = 0;
        int k;

        ptr[0] = '\0';
        for (k = 0; k < TW_JSON_MAX_DEPTH - 1; k++)
            strcat(ptr, "/0");
        is_int(json_get(doc, ptr, out, sizeof(out), &n), TW_OK, "the value at the deepest level is found");
        is_str(out, "deep", "... and read");
        free(doc);
    }
}

static void test_json_scalars(void)
{
    static const char doc[] =
        "{\"s\":\"text\",\"i\":4711,\"neg\":-42,\"zero\":-0,\"d\":1.50,\"e\":1e3,\"E\":-2.5E+3,\"nz\":-0.0,"
        "\"t\":true,\"f\":false,\"n\":null,\"o\":{\"x\":1},\"a\":[10,\"eleven\",[12]],\"emptyo\":{},\"emptya\":[],"
        "\"a/b\":\"slash\",\"m~n\":\"tilde\",\"~1\":\"tilde-one\",\"\":\"empty key\",\"sp ace\":\"space\","
        "\"utf\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"esc\":\"\\u00e9\\ud83d\\ude00\","
        "\"nl\":\"a\\nb\",\"nul\":\"a\\u0000b\",\"us\":\"a\\u001fb\",\"del\":\"a\\u007fb\",\"tab\":\"a\\tb\","
        "\"quote\":\"\\\"q\\\"\",\"sq\":\"it's\","
        "\"i64max\":9223372036854775807,\"i64min1\":-9223372036854775807,\"u64max1\":18446744073709551614,"
        "\"u64max\":18446744073709551615,\"i64min\":-9223372036854775808,"
        "\"huge\":99999999999999999999999,\"hugeneg\":-99999999999999999999,\"hugedbl\":1e400}";
    static const struct { const char *pointer; tw_status_t st; const char *want; const char *name; } cases[] = {
        { "/s", TW_OK, "text", "string" },
        { "/i", TW_OK, "4711", "integer" },
        { "/neg", TW_OK, "-42", "negative integer" },
        { "/zero", TW_OK, "0", "-0 (json-c reads an integer: exported as 0)" },
        { "/d", TW_OK, "1.50", "1.50 as written" },
        { "/e", TW_OK, "1e3", "1e3 as written" },
        { "/E", TW_OK, "-2.5E+3", "-2.5E+3 as written" },
        { "/nz", TW_OK, "-0.0", "-0.0 as written" },
        { "/t", TW_OK, "true", "true" },
        { "/f", TW_OK, "false", "false" },
        { "/n", TW_ERR_JSON_NOT_SCALAR, "", "null" },
        { "/o", TW_ERR_JSON_NOT_SCALAR, "", "object" },
        { "/a", TW_ERR_JSON_NOT_SCALAR, "", "array" },
        { "/emptyo", TW_ERR_JSON_NOT_SCALAR, "", "empty object" },
        { "/emptya", TW_ERR_JSON_NOT_SCALAR, "", "empty array" },
        { "", TW_ERR_JSON_NOT_SCALAR, "", "the whole document (pointer \"\")" },
        { "/missing", TW_ERR_JSON_NOT_FOUND, "", "missing member" },
        { "/s/x", TW_ERR_JSON_NOT_FOUND, "", "member of a string" },
        { "/o/y", TW_ERR_JSON_NOT_FOUND, "", "missing nested member" },
        { "/o/x", TW_OK, "1", "nested member" },
        { "/a/0", TW_OK, "10", "array index 0" },
        { "/a/1", TW_OK, "eleven", "array index 1" },
        { "/a/2/0", TW_OK, "12", "nested array index" },
        { "/a/3", TW_ERR_JSON_NOT_FOUND, "", "array index past the end" },
        { "/a/01", TW_ERR_JSON_NOT_FOUND, "", "array index with a leading zero" },
        { "/a/-", TW_ERR_JSON_NOT_FOUND, "", "array index - (past the end)" },
        { "/a/-1", TW_ERR_JSON_NOT_FOUND, "", "negative array index" },
        { "/a/x", TW_ERR_JSON_NOT_FOUND, "", "non-numeric array index" },
        { "/a/99999999999999999999", TW_ERR_JSON_NOT_FOUND, "", "huge array index" },
        { "/a~1b", TW_OK, "slash", "~1 escapes /" },
        { "/m~0n", TW_OK, "tilde", "~0 escapes ~" },
        { "/~01", TW_OK, "tilde-one", "~01 is ~1, not /" },
        { "/a/b", TW_ERR_JSON_NOT_FOUND, "", "unescaped / is a separator" },
        { "/", TW_OK, "empty key", "/ names the empty key" },
        { "/sp ace", TW_OK, "space", "key with a space" },
        { "/utf", TW_OK, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "raw UTF-8 passes through" },
        { "/esc", TW_OK, "\xc3\xa9\xf0\x9f\x98\x80", "\\u escapes come out as UTF-8" },
        { "/nl", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\n" },
        { "/nul", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\u0000" },
        { "/us", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\u001f" },
        { "/del", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\u007f" },
        { "/tab", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\t" },
        { "/quote", TW_OK, "\"q\"", "escaped quotes" },
        { "/sq", TW_OK, "it's", "a single quote inside a string" },
        { "/i64max", TW_OK, "9223372036854775807", "INT64_MAX as written" },
        { "/i64min1", TW_OK, "-9223372036854775807", "INT64_MIN + 1 as written" },
        { "/u64max1", TW_OK, "18446744073709551614", "UINT64_MAX - 1 as written" },
        { "/huge", TW_ERR_JSON_UNSAFE_VALUE, "", "integer past UINT64_MAX (json-c clamps it)" },
        { "/hugeneg", TW_ERR_JSON_UNSAFE_VALUE, "", "integer below INT64_MIN (json-c clamps it)" },
        { "/u64max", TW_ERR_JSON_UNSAFE_VALUE, "", "UINT64_MAX (a clamp value: refused)" },
        { "/i64min", TW_ERR_JSON_UNSAFE_VALUE, "", "INT64_MIN (a clamp value: refused)" },
        { "/hugedbl", TW_OK, "1e400", "1e400 as written (doubles keep their text)" },
    };
    tw_json_t *json = NULL;
    char out[TW_JSON_VALUE_MAX + 1];
    size_t i, n;

    is_int(json_parse(&json, doc, strlen(doc), 7), TW_OK, "scalar test document parses");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tw_status_t st;

        memset(out, '#', sizeof(out));
        n = 99;
        st = tw_json_get_scalar(json, cases[i].pointer, out, sizeof(out), &n);
        is_int(st, cases[i].st, "get_scalar %s (\"%s\"): %s", cases[i].name, cases[i].pointer,
               tw_status_str(cases[i].st));
        ok(strcmp(out, cases[i].want) == 0 && n == strlen(cases[i].want),
           "... gives \"%s\", length %zu", cases[i].want, strlen(cases[i].want));
    }
    tw_json_destroy(json);

    /* A top-level null: a document, but not a scalar. */
    is_int(json_parse(&json, "null", 4, JSON_WHOLE), TW_OK, "top-level null parses");
    is_int(tw_json_get_scalar(json, "", out, sizeof(out), &n), TW_ERR_JSON_NOT_SCALAR, "... \"\" names null: not a scalar");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &n), TW_ERR_JSON_NOT_FOUND, "... /a names nothing");
    tw_json_destroy(json);
    is_int(json_get("42", "", out, sizeof(out), &n), TW_OK, "top-level 42 is read with pointer \"\"");
    is_str(out, "42", "... as 42");
    is_int(json_get("\"top\" ", "", out, sizeof(out), &n), TW_OK, "top-level string read with pointer \"\"");
    is_str(out, "top", "... as top");
}

static void test_json_lengths(void)
{
    char *doc = malloc(TW_JSON_VALUE_MAX + 64), *out = malloc(TW_JSON_VALUE_MAX + 64);
    size_t n = 99, i;

    if (doc == NULL || out == NULL)
        abort();
    /* {"v":"xxx...x"} with exactly TW_JSON_VALUE_MAX bytes of value. */
    strcpy(doc, "{\"v\":\"");
    memset(doc + 6, 'x', TW_JSON_VALUE_MAX);
    strcpy(doc + 6 + TW_JSON_VALUE_MAX, "\"}");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX + 1, &n), TW_OK,
           "value of exactly TW_JSON_VALUE_MAX bytes, into TW_JSON_VALUE_MAX + 1");
    is_int(n, TW_JSON_VALUE_MAX, "... length TW_JSON_VALUE_MAX");
    ok(out[TW_JSON_VALUE_MAX] == '\0', "... NUL-terminated");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX, &n), TW_ERR_JSON_UNSAFE_VALUE,
           "... into TW_JSON_VALUE_MAX bytes (no room for the NUL): unsafe");
    ok(n == 0 && out[0] == '\0', "... and nothing is returned");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX + 64, &n), TW_OK, "... into a larger buffer");

    strcpy(doc + 6 + TW_JSON_VALUE_MAX, "x\"}");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX + 64, &n), TW_ERR_JSON_UNSAFE_VALUE,
           "value of TW_JSON_VALUE_MAX + 1 bytes, even into a larger buffer: unsafe");

    /* Multibyte UTF-8 counts bytes: 341 euro signs (1023 bytes) fit, 342 do not. */
    strcpy(doc, "[\"");
    for (i = 0; i < 341; i++)
        memcpy(doc + 2 + 3 * i, "\xe2\x82\xac", 3);
    strcpy(doc + 2 + 3 * i, "\"]");
    is_int(json_parse(NULL, doc, strlen(doc), 1), TW_OK, "341 euro signs fed byte by byte parse");
    is_int(json_get(doc, "/0", out, TW_JSON_VALUE_MAX + 1, &n), TW_OK, "... and their 1023 bytes are exported");
    ok(n == 1023 && memcmp(out, doc + 2, 1023) == 0, "... unchanged");
    strcpy(doc + 2 + 3 * i, "\xe2\x82\xac\"]");
    is_int(json_get(doc, "/0", out, TW_JSON_VALUE_MAX + 1, &n), TW_ERR_JSON_UNSAFE_VALUE,
           "342 euro signs (1026 bytes): unsafe");

    /* out_cap smaller than the value, for strings and for numbers. */
    is_int(json_get("{\"a\":\"abc\"}", "/a", out, 4, &n), TW_OK, "\"abc\" into 4 bytes");
    is_int(json_get("{\"a\":\"abc\"}", "/a", out, 3, &n), TW_ERR_JSON_UNSAFE_VALUE, "\"abc\" into 3 bytes: unsafe");
    is_int(json_get("{\"a\":1.25}", "/a", out, 4, &n), TW_ERR_JSON_UNSAFE_VALUE, "1.25 into 4 bytes: unsafe");
    is_int(json_get("{\"a\":true}", "/a", out, 5, &n), TW_OK, "true into 5 bytes");
    is_int(json_get("{\"a\":\"\"}", "/a", out, 1, &n), TW_OK, "\"\" into 1 byte");
    ok(n == 0 && out[0] == '\0', "... is the empty string");
    free(doc);
    free(out);
}

static const struct verdict_case json_pointer_is_valid_cases[] = {
    { "/", 1, "pointer / is valid (the empty key)" },
    { "/page/id", 1, "pointer /page/id is valid" },
    { "/a/0", 1, "pointer /a/0 is valid" },
    { "//", 1, "pointer // is valid" },
    { "/a~0b~1c", 1, "pointer with ~0 and ~1 is valid" },
    { "/caf\xc3\xa9", 1, "pointer with UTF-8 is valid" },
    { "/a b", 1, "pointer with a space is valid" },
    { "", 0, "pointer \"\" (the whole document) is not valid" },
    { NULL, 0, "NULL pointer is not valid" },
    { "a", 0, "pointer a (no leading /) is not valid" },
    { "#/a", 0, "URI fragment pointer #/a is not valid" },
    { "/a~2", 0, "pointer with ~2 is not valid" },
    { "/a~", 0, "pointer ending in ~ is not valid" },
    { "/~/a", 0, "pointer with ~/ is not valid" },
    { "/a\nb", 0, "pointer with a newline is not valid" },
    { "/a\tb", 0, "pointer with a tab is not valid" },
    { "/a\x1f", 0, "pointer with 0x1f is not valid" },
    { "/a\x7f", 0, "pointer with DEL is not valid" },
};

static void test_json_pointer_valid(void)
{
    CHECK_VERDICTS(tw_json_pointer_is_valid, json_pointer_is_valid_cases);
}

static const struct verdict_case env_name_is_allowed_cases[] = {
    { "TW_PAGE_ID", 1, "env TW_PAGE_ID is allowed" },
    { "A", 1, "env A is allowed" },
    { "_X", 1, "env _X (leading underscore) is allowed" },
    { "X9_", 1, "env X9_ is allowed" },
    { "PHP_VALUES", 1, "env PHP_VALUES is allowed (only PHP_VALUE itself is reserved)" },
    { "PHP_VALUE_X", 1, "env PHP_VALUE_X is allowed" },
    { "TW_WEBHOOK", 1, "env TW_WEBHOOK (no underscore after) is allowed" },
    { "HTTP", 1, "env HTTP (no underscore after) is allowed" },
    { "tw_page_id", 0, "lowercase env is not allowed" },
    { "Tw_Page", 0, "mixed-case env is not allowed" },
    { "HTTP_X", 0, "env HTTP_X is not allowed" },
    { "HTTP_", 0, "env HTTP_ is not allowed" },
    { "REDIRECT_X", 0, "env REDIRECT_X is not allowed" },
    { "TW_WEBHOOK_X", 0, "env TW_WEBHOOK_X is not allowed" },
    { "TW_WEBHOOK_EVENT", 0, "env TW_WEBHOOK_EVENT is not allowed" },
    { "PHP_VALUE", 0, "env PHP_VALUE is not allowed" },
    { "PHP_ADMIN_VALUE", 0, "env PHP_ADMIN_VALUE is not allowed" },
    { "9LIVES", 0, "env with a leading digit is not allowed" },
    { "REMOTE_USER", 0, "env REMOTE_USER (a server fact) is not allowed" },
    { "SCRIPT_FILENAME", 0, "env SCRIPT_FILENAME is not allowed" },
    { "HTTPS", 0, "env HTTPS is not allowed" },
    { "SSL_CLIENT_S_DN", 0, "env SSL_* is not allowed" },
    { "LD_PRELOAD", 0, "env LD_PRELOAD is not allowed" },
    { "REMOTE_USERNAME", 1, "env REMOTE_USERNAME (not a server fact) is allowed" },
    { "", 0, "empty env name is not allowed" },
    { NULL, 0, "NULL env name is not allowed" },
    { "A-B", 0, "env with '-' is not allowed" },
    { "A=B", 0, "env with '=' is not allowed" },
    { "A B", 0, "env with a space is not allowed" },
    { "A\n", 0, "env with a newline is not allowed" },
    { "\xc3\x89T\xc3\x89", 0, "env with UTF-8 is not allowed" },
};

static void test_env_names(void)
{
    char s[TW_ENV_NAME_MAX + 2];
    size_t i;

    /* every listed name, and every listed prefix with something after it */
    for (i = 0; tw_env_reserved_names[i] != NULL; i++)
        ok(!tw_env_name_is_allowed(tw_env_reserved_names[i]), "reserved env %s is not allowed",
           tw_env_reserved_names[i]);
    for (i = 0; tw_env_reserved_prefixes[i] != NULL; i++) {
        snprintf(s, sizeof(s), "%sX", tw_env_reserved_prefixes[i]);
        ok(!tw_env_name_is_allowed(s), "reserved env prefix %s* (%s) is not allowed",
           tw_env_reserved_prefixes[i], s);
    }

    CHECK_VERDICTS(tw_env_name_is_allowed, env_name_is_allowed_cases);
    memset(s, 'V', sizeof(s));
    s[TW_ENV_NAME_MAX] = '\0';
    ok(tw_env_name_is_allowed(s), "env name of 64 characters is allowed");
    s[TW_ENV_NAME_MAX] = 'V';
    s[TW_ENV_NAME_MAX + 1] = '\0';
    ok(!tw_env_name_is_allowed(s), "env name of 65 characters is not allowed");
}

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
        tw_key_create(&keys[i], secrets[i], strlen(secrets[i]));
        tw_hmac_sha256(secrets[i], strlen(secrets[i]), signed_msg, len, macs[i]);
    }
    ab[0] = ba[1] = keys[0];
    ab[1] = ba[0] = keys[1];

    /* Known vector: the NIST "abc", fed as two pieces. */
    {
        unsigned char abc[TW_DIGEST_LEN];

        unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", abc, sizeof(abc));
        is_int(tw_digest_create(&dg), TW_OK, "tw_digest_create");
        tw_digest_update(dg, "ab", 2);
        tw_digest_update(dg, "c", 1);
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

        tw_replay_key(d_first, "h\n/a", 4, k1);
        tw_replay_key(d_second, "h\n/a", 4, k2);
        is_mem(k1, k2, TW_MAC_LEN, "... and so the same replay key in one scope");
        tw_replay_key(d_second, "h\n/b", 4, k2);
        ok(memcmp(k1, k2, TW_MAC_LEN) != 0, "... and another one in another scope");
    }

    /* No digest for a message that did not verify, nor one not asked for. */
    memset(junk, 0x5a, sizeof(junk));
    is_int(verify_with_digest(ab, 2, prefix, body, (const unsigned char (*)[TW_MAC_LEN])junk, 1,
                              &matched, d), TW_ERR_SIG_MISMATCH, "a wrong signature: mismatch");
    tw_verifier_create(&v, ab, 2);
    is_int(tw_verifier_digest(v, d), TW_ERR_ARG, "digest before finish: TW_ERR_ARG");
    tw_verifier_update(v, signed_msg, len);
    is_int(tw_verifier_want_digest(v), TW_ERR_ARG, "want_digest after an update: TW_ERR_ARG");
    is_int(tw_verifier_finish_any(v, macs, 2, NULL, NULL), TW_OK, "verified without a digest");
    is_int(tw_verifier_digest(v, d), TW_ERR_ARG, "... and tw_verifier_digest: TW_ERR_ARG");
    tw_verifier_destroy(v);
    tw_verifier_create(&v, ab, 2);
    tw_verifier_want_digest(v);
    tw_verifier_update(v, signed_msg, len);
    tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])junk, 1, NULL, NULL);
    is_int(tw_verifier_digest(v, d), TW_ERR_ARG, "digest of a mismatch: TW_ERR_ARG");
    tw_verifier_destroy(v);
    is_int(tw_verifier_want_digest(NULL), TW_ERR_ARG, "want_digest(NULL): TW_ERR_ARG");

    /* tw_digest alone over the stored message gives the verifier's digest. */
    tw_digest_create(&dg);
    tw_digest_update(dg, prefix, strlen(prefix));
    tw_digest_update(dg, body, strlen(body));
    tw_digest_finish(dg, d);
    tw_digest_destroy(dg);
    is_mem(d, d_both, TW_DIGEST_LEN, "tw_digest over prefix and body: the verifier's digest");

    for (i = 0; i < 2; i++)
        tw_key_destroy(keys[i]);
}

static void test_cleanse(void)
{
    unsigned char buf[64], zero[32], keep[32];

    memset(buf, 0xa5, sizeof(buf));
    memset(zero, 0, sizeof(zero));
    memset(keep, 0xa5, sizeof(keep));
    tw_cleanse(buf, 32);
    is_mem(buf, zero, 32, "tw_cleanse zeroes the bytes asked for");
    is_mem(buf + 32, keep, 32, "... and not one more");
    tw_cleanse(buf + 32, 0);
    is_mem(buf + 32, keep, 32, "tw_cleanse of 0 bytes changes nothing");
}

/* ---- the spool ---------------------------------------------------------- */

/* Number of entries (other than . and ..) in dir, or -1. */
static int count_dir_entries(const char *dir, apr_pool_t *pool)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return -1;
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
            n++;
    }
    apr_dir_close(d);
    return n;
}

/* Reads the whole spool back in chunk-sized pieces and compares with src. */
static int spool_equals(tw_spool_t *sp, const unsigned char *src, size_t len,
                        size_t chunk, unsigned char *buf)
{
    apr_off_t off = 0;
    apr_size_t got;

    for (;;) {
        if (tw_spool_read_at(sp, off, buf, chunk, &got) != APR_SUCCESS)
            return 0;
        if (got == 0)
            break;
        if ((size_t)off + got > len || memcmp(buf, src + off, got) != 0)
            return 0;
        off += (apr_off_t)got;
    }
    return (size_t)off == len;
}

static void test_spool_memory(apr_pool_t *parent, const char *dir)
{
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    unsigned char src[4096], buf[4096];
    apr_size_t got = 99;
    size_t i;

    for (i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);
    apr_pool_create(&pool, parent);

    is_int(tw_spool_create(&sp, pool, 65536, -1, dir), APR_SUCCESS, "spool created, no size hint");
    is_int(tw_spool_length(sp), 0, "new spool is empty");
    is_int(tw_spool_read_at(sp, 0, buf, sizeof(buf), &got), APR_SUCCESS, "read_at of an empty spool");
    is_int(got, 0, "... gives 0 bytes");
    is_int(tw_spool_append(sp, src, 1000), APR_SUCCESS, "append 1000 bytes");
    is_int(tw_spool_append(sp, src + 1000, 0), APR_SUCCESS, "append nothing");
    is_int(tw_spool_append(sp, src + 1000, 3096), APR_SUCCESS, "append 3096 bytes");
    is_int(tw_spool_length(sp), 4096, "length 4096");
    ok(!tw_spool_on_disk(sp), "small body stays in memory");
    ok(spool_equals(sp, src, 4096, 333, buf), "read back in 333-byte chunks");
    is_int(tw_spool_read_at(sp, 4000, buf, 500, &got), APR_SUCCESS, "read_at near the end");
    is_int(got, 96, "... gives what is left");
    is_int(tw_spool_read_at(sp, 4096, buf, 10, &got), APR_SUCCESS, "read_at at the end");
    is_int(got, 0, "... gives 0 bytes");
    is_int(tw_spool_read_at(sp, 10000, buf, 10, &got), APR_SUCCESS, "read_at past the end");
    is_int(got, 0, "... gives 0 bytes");
    is_int(tw_spool_read_at(sp, -1, buf, 10, &got), APR_EINVAL, "read_at a negative offset: APR_EINVAL");
    is_int(tw_spool_append(sp, NULL, 3), APR_EINVAL, "append NULL data: APR_EINVAL");
    is_int(tw_spool_create(NULL, pool, 10, -1, dir), APR_EINVAL, "create into NULL: APR_EINVAL");
    is_int(tw_spool_create(&sp, NULL, 10, -1, dir), APR_EINVAL, "create in a NULL pool: APR_EINVAL");

    /* Exactly at the limit stays in memory; one more byte spills. */
    is_int(tw_spool_create(&sp, pool, 1024, 1024, dir), APR_SUCCESS, "spool of 1024 bytes, hint 1024");
    is_int(tw_spool_append(sp, src, 1024), APR_SUCCESS, "append exactly mem_limit bytes");
    ok(!tw_spool_on_disk(sp), "... still in memory");
    is_int(tw_spool_append(sp, src + 1024, 1), APR_SUCCESS, "append one more byte");
    ok(tw_spool_on_disk(sp), "... now on disk");
    is_int(tw_spool_length(sp), 1025, "length 1025");
    ok(spool_equals(sp, src, 1025, 7, buf), "read back across the boundary in 7-byte chunks");
    is_int(tw_spool_read_at(sp, 1020, buf, 100, &got), APR_SUCCESS, "one read_at across the boundary");
    ok(got == 5 && memcmp(buf, src + 1020, 5) == 0, "... gives the 5 bytes from both parts");

    /* A hint above the limit, growth by doubling, a zero limit. */
    is_int(tw_spool_create(&sp, pool, 3000, 1 << 30, dir), APR_SUCCESS, "spool with a hint above the limit");
    for (i = 0; i < 3000; i += 100)
        tw_spool_append(sp, src + i, 100);
    ok(!tw_spool_on_disk(sp) && spool_equals(sp, src, 3000, 4096, buf), "filled to its limit in memory");
    is_int(tw_spool_create(&sp, pool, 100000, 10, dir), APR_SUCCESS, "spool with a small hint");
    for (i = 0; i + 13 <= sizeof(src); i += 13)
        tw_spool_append(sp, src + i, 13);
    ok(!tw_spool_on_disk(sp) && spool_equals(sp, src, i, 1000, buf), "grew past its first buffer in memory");
    is_int(tw_spool_create(&sp, pool, 0, -1, dir), APR_SUCCESS, "spool with no memory part");
    is_int(tw_spool_append(sp, src, 10), APR_SUCCESS, "append 10 bytes to it");
    ok(tw_spool_on_disk(sp), "... goes to disk");
    ok(spool_equals(sp, src, 10, 3, buf), "... and reads back");

    apr_pool_destroy(pool);
    is_int(count_dir_entries(dir, parent), 0, "no file left after the pool is gone");
}

static void test_spool_disk(apr_pool_t *parent, const char *dir)
{
    const size_t total = 5 * 1024 * 1024;
    unsigned char *src = malloc(total), *buf = malloc(131072);
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    size_t off, i;
    int append_ok = 1, random_ok = 1, mid_ok = 1;

    if (src == NULL || buf == NULL)
        abort();
    for (i = 0; i < total; i++)
        src[i] = (unsigned char)(rng_next() >> 24);
    apr_pool_create(&pool, parent);

    is_int(tw_spool_create(&sp, pool, 65536, -1, dir), APR_SUCCESS, "spool with a 64 KiB memory part");
    /* Odd chunk sizes (1..8191, plus a few large ones) up to 5 MiB. */
    for (off = 0; off < total; ) {
        size_t n = (rng_next() % 5 == 0) ? 1 + rng_below(100000) : 1 + rng_below(8191);

        if (n > total - off)
            n = total - off;
        if (tw_spool_append(sp, src + off, n) != APR_SUCCESS)
            append_ok = 0;
        off += n;
        /* Interleave reads with the appends: an append must not land where a read left the file position. */
        if (rng_next() % 7 == 0 && off > 0) {
            apr_off_t at = (apr_off_t)rng_below(off);
            apr_size_t got = 0;

            if (tw_spool_read_at(sp, at, buf, 4099, &got) != APR_SUCCESS
                || memcmp(buf, src + at, got) != 0 || got == 0)
                mid_ok = 0;
        }
    }
    ok(append_ok, "5 MiB appended in odd chunks");
    ok(mid_ok, "read_at between appends sees the right bytes");
    is_int(tw_spool_length(sp), total, "length is 5 MiB");
    ok(tw_spool_on_disk(sp), "spool is on disk");
    /* The name goes as soon as the file is open: a crashed process leaves nothing. */
    is_int(count_dir_entries(dir, parent), 0, "no spool file name in the directory, even while in use");

    for (i = 0; i < 2000; i++) {
        apr_off_t at = (apr_off_t)rng_below(total + 100);
        apr_size_t cap = 1 + rng_below(70000), got = 0, want;

        want = (size_t)at >= total ? 0 : (total - (size_t)at < cap ? total - (size_t)at : cap);
        if (tw_spool_read_at(sp, at, buf, cap, &got) != APR_SUCCESS || got != want
            || (got > 0 && memcmp(buf, src + at, got) != 0)) {
            random_ok = 0;
            diag("read_at(%ld, %zu) gave %zu, expected %zu", (long)at, (size_t)cap, (size_t)got, (size_t)want);
            break;
        }
    }
    ok(random_ok, "2000 read_at at random offsets and sizes match the source");
    ok(spool_equals(sp, src, total, 65537, buf), "sequential read back in 65537-byte chunks");
    ok(spool_equals(sp, src, total, 4093, buf), "sequential read back in 4093-byte chunks");

    /* Append after read_at must still append at the end. */
    {
        apr_size_t got = 0;

        tw_spool_read_at(sp, 100, buf, 10, &got);
        is_int(tw_spool_append(sp, "tail", 4), APR_SUCCESS, "append after read_at");
        is_int(tw_spool_read_at(sp, (apr_off_t)total, buf, 10, &got), APR_SUCCESS, "read the tail back");
        ok(got == 4 && memcmp(buf, "tail", 4) == 0, "... it landed at the end");
        ok(spool_equals(sp, src, total, 100003, buf) == 0, "... (the spool is now longer than the source)");
        is_int(tw_spool_read_at(sp, 100, buf, 10, &got), APR_SUCCESS, "the early bytes");
        ok(got == 10 && memcmp(buf, src + 100, 10) == 0, "... were not overwritten");
    }

    apr_pool_destroy(pool);
    is_int(count_dir_entries(dir, parent), 0, "the spool file is removed with its pool");
    free(src);
    free(buf);
}

static void test_spool_bad_dir(apr_pool_t *parent, const char *dir)
{
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    const char *missing = apr_pstrcat(parent, dir, "/does-not-exist/either", NULL);
    apr_size_t got = 0;
    char buf[64];
    apr_status_t rv;

    apr_pool_create(&pool, parent);
    is_int(tw_spool_create(&sp, pool, 16, -1, missing), APR_SUCCESS,
           "spool in a missing directory is created (nothing touches the disk yet)");
    is_int(tw_spool_append(sp, "0123456789", 10), APR_SUCCESS, "appending within the memory part works");
    rv = tw_spool_append(sp, "abcdefghij", 10);
    ok(rv != APR_SUCCESS, "the spill fails with an error (%d)", rv);
    ok(APR_STATUS_IS_ENOENT(rv), "... ENOENT");
    ok(!tw_spool_on_disk(sp), "... and the spool is not on disk");
    ok(tw_spool_append(sp, "x", 1) == rv, "later appends fail the same way");
    is_int(tw_spool_length(sp), 16, "length counts what was stored");
    is_int(tw_spool_read_at(sp, 0, buf, sizeof(buf), &got), APR_SUCCESS, "what was stored reads back");
    ok(got == 16 && memcmp(buf, "0123456789abcdef", 16) == 0, "... all 16 bytes");
    apr_pool_destroy(pool);
}

/*
 * The size of the spool file this process holds open for dir (found
 * through /proc/self/fd: its name is gone from dir), or -1 if none.
 */
static long long spool_file_size(const char *dir)
{
    char link[64], target[4096];
    size_t dlen = strlen(dir);
    struct stat st;
    int fd;

    for (fd = 0; fd < 1024; fd++) {
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, dir, dlen) == 0 && strncmp(target + dlen, "/twwebhook.", 11) == 0
            && fstat(fd, &st) == 0)
            return (long long)st.st_size;
    }
    return -1;
}

/*
 * Appends to the file part are buffered 64 KiB at a time and read back
 * before they are written; tw_spool_finish writes the rest; cursors read
 * in order across the memory part, the file and the write buffer.
 */
static void test_spool_buffered(apr_pool_t *parent, const char *dir)
{
    const size_t mem = 1000, total = mem + 3 * 65536 + 123;
    unsigned char *src = malloc(total), *buf = malloc(total);
    tw_spool_cursor_t a = TW_SPOOL_CURSOR_INIT, b = TW_SPOOL_CURSOR_INIT;
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    apr_size_t got = 0;
    size_t off, i;
    int seq_ok = 1;

    if (src == NULL || buf == NULL)
        abort();
    for (i = 0; i < total; i++)
        src[i] = (unsigned char)(rng_next() >> 24);
    apr_pool_create(&pool, parent);
    is_int(tw_spool_create(&sp, pool, mem, -1, dir), APR_SUCCESS, "spool with a 1000-byte memory part");
    /* 7-byte appends: every write-buffer boundary falls inside one. */
    for (off = 0; off + 7 <= mem + 65536 + 10; off += 7)
        if (tw_spool_append(sp, src + off, 7) != APR_SUCCESS)
            break;
    ok(off + 7 > mem + 65536 + 10, "7-byte appends past the first 64 KiB of the file part");
    is_int(spool_file_size(dir), 65536, "... the file holds one full buffer, the rest is buffered");
    ok(spool_equals(sp, src, off, 4099, buf), "... and what is buffered reads back already");
    /* one append that tops up the buffer and goes on for more than a
     * buffer's worth: the rest of it is written without a copy */
    is_int(tw_spool_append(sp, src + off, total - 123 - off), APR_SUCCESS,
           "append all but 123 bytes in one piece");
    is_int(spool_file_size(dir), (long long)(total - 123 - mem), "... all of it is in the file");
    is_int(tw_spool_append(sp, src + total - 123, 123), APR_SUCCESS, "append the last 123 bytes");
    is_int(tw_spool_length(sp), (long long)total, "length counts the buffered bytes");
    is_int(spool_file_size(dir), (long long)(total - 123 - mem), "... which are not in the file yet");

    /* two cursors, interleaved with each other and with read_at */
    while (seq_ok) {
        apr_size_t ga = 0, gb = 0;

        if (tw_spool_read_next(sp, &a, buf, 4093, &ga) != APR_SUCCESS
            || memcmp(buf, src + a.offset - ga, ga) != 0)
            seq_ok = 0;
        tw_spool_read_at(sp, 5, buf, 3, &got);
        if (tw_spool_read_next(sp, &b, buf, 65537, &gb) != APR_SUCCESS
            || memcmp(buf, src + b.offset - gb, gb) != 0)
            seq_ok = 0;
        if (ga == 0 && gb == 0)
            break;
    }
    ok(seq_ok && a.offset == (apr_off_t)total && b.offset == (apr_off_t)total,
       "two cursors read memory part, file and buffer in order, interleaved");
    is_int(tw_spool_read_next(sp, &a, buf, 10, &got), APR_SUCCESS, "read_next at the end");
    ok(got == 0 && a.offset == (apr_off_t)total, "... gives nothing and stays put");
    is_int(tw_spool_read_next(sp, NULL, buf, 10, &got), APR_EINVAL, "read_next without a cursor: APR_EINVAL");

    is_int(tw_spool_finish(sp), APR_SUCCESS, "finish");
    is_int(spool_file_size(dir), (long long)(total - mem), "... the file holds the whole file part");
    ok(spool_equals(sp, src, total, 65536, buf), "... and it all reads back");
    is_int(tw_spool_append(sp, "more", 4), APR_SUCCESS, "appending after finish");
    is_int(tw_spool_finish(sp), APR_SUCCESS, "... and finishing again");
    is_int(tw_spool_read_at(sp, (apr_off_t)total, buf, 10, &got), APR_SUCCESS, "read the tail back");
    ok(got == 4 && memcmp(buf, "more", 4) == 0, "... at the end");
    apr_pool_destroy(pool);
    free(src);
    free(buf);
}

/*
 * A write that fails (here: past RLIMIT_FSIZE, EFBIG) is reported, also
 * when it is the last flush, held back in the buffer until finish.
 */
static void test_spool_write_failure(apr_pool_t *parent, const char *dir)
{
    static char chunk[65536];
    struct rlimit old, lim;
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    apr_status_t rv;

    if (getrlimit(RLIMIT_FSIZE, &old) != 0) {
        ok(0, "getrlimit(RLIMIT_FSIZE)");
        return;
    }
    signal(SIGXFSZ, SIG_IGN);   /* EFBIG instead of a signal */
    lim = old;
    lim.rlim_cur = 100000;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        ok(0, "setrlimit(RLIMIT_FSIZE, 100000)");
        return;
    }
    memset(chunk, 'x', sizeof(chunk));
    apr_pool_create(&pool, parent);
    tw_spool_create(&sp, pool, 0, -1, dir);
    is_int(tw_spool_append(sp, chunk, 65536), APR_SUCCESS, "64 KiB reach the file (limit 100000)");
    is_int(tw_spool_append(sp, chunk, 40000), APR_SUCCESS, "40000 more are buffered: no error yet");
    rv = tw_spool_finish(sp);
    ok(rv != APR_SUCCESS, "finish reports the failed write (%d)", rv);
    ok(rv == APR_FROM_OS_ERROR(EFBIG), "... EFBIG");
    ok(tw_spool_append(sp, "x", 1) == rv && tw_spool_finish(sp) == rv,
       "later appends and finishes fail the same way");
    apr_pool_destroy(pool);

    apr_pool_create(&pool, parent);
    tw_spool_create(&sp, pool, 0, -1, dir);
    tw_spool_append(sp, chunk, 65536);
    rv = tw_spool_append(sp, chunk, 65536);
    ok(rv != APR_SUCCESS, "an append whose flush fails reports it (%d)", rv);
    apr_pool_destroy(pool);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
}

/* tw_spool_memory_at: the memory part in place, nothing of the file part. */
static void test_spool_memory_at(apr_pool_t *parent, const char *dir)
{
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    unsigned char src[3000];
    const unsigned char *mem;
    apr_size_t len = 99;
    size_t i;

    for (i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 11 + 5);
    apr_pool_create(&pool, parent);
    ok(tw_spool_memory_at(NULL, 0, &len) == NULL && len == 0, "memory_at of no spool: NULL, 0 bytes");
    is_int(tw_spool_create(&sp, pool, 2048, -1, dir), APR_SUCCESS, "spool of 2048 bytes in memory");
    ok(tw_spool_memory_at(sp, 0, NULL) == NULL, "memory_at without a length: NULL");
    len = 99;
    ok(tw_spool_memory_at(sp, 0, &len) == NULL && len == 0, "memory_at of an empty spool: NULL, 0 bytes");
    is_int(tw_spool_append(sp, src, sizeof(src)), APR_SUCCESS, "append 3000 bytes (952 to disk)");
    mem = tw_spool_memory_at(sp, 0, &len);
    ok(mem != NULL && len == 2048 && memcmp(mem, src, 2048) == 0,
       "memory_at 0: the 2048 bytes of the memory part, in place");
    mem = tw_spool_memory_at(sp, 2000, &len);
    ok(mem != NULL && len == 48 && memcmp(mem, src + 2000, 48) == 0,
       "memory_at 2000: the last 48 bytes of the memory part");
    len = 99;
    ok(tw_spool_memory_at(sp, 2048, &len) == NULL && len == 0, "memory_at 2048 (the file part): NULL, 0 bytes");
    len = 99;
    ok(tw_spool_memory_at(sp, 5000, &len) == NULL && len == 0, "memory_at past the end: NULL, 0 bytes");
    len = 99;
    ok(tw_spool_memory_at(sp, -1, &len) == NULL && len == 0, "memory_at a negative offset: NULL, 0 bytes");
    apr_pool_destroy(pool);
    is_int(count_dir_entries(dir, parent), 0, "no file left after the pool is gone");
}

static void test_spool(apr_pool_t *pool)
{
    const char *tmp = NULL;
    char *dir;

    if (apr_temp_dir_get(&tmp, pool) != APR_SUCCESS) {
        ok(0, "apr_temp_dir_get");
        return;
    }
    dir = apr_pstrcat(pool, tmp, "/tw_unit.XXXXXX", NULL);
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp %s", dir);
        return;
    }
    test_spool_memory(pool, dir);
    test_spool_memory_at(pool, dir);
    test_spool_disk(pool, dir);
    test_spool_bad_dir(pool, dir);
    test_spool_buffered(pool, dir);
    test_spool_write_failure(pool, dir);
    ok(apr_dir_remove(dir, pool) == APR_SUCCESS, "the test directory is empty and removed");
}

/* ==== signing schemes: profiles, base64, secret files, candidates ======= */

/* Every new status has its own non-empty description. */
static void test_scheme_status_str(void)
{
    static const tw_status_t all[] = {
        TW_ERR_TS_MISSING, TW_ERR_TS_MALFORMED, TW_ERR_TS_STALE, TW_ERR_TS_FUTURE,
        TW_ERR_ID_MISSING, TW_ERR_ID_MALFORMED, TW_ERR_SECRET_MALFORMED,
        TW_ERR_SECRET_EMPTY, TW_ERR_SECRET_TOO_LONG, TW_ERR_SECRET_LINE_BREAK
    };
    size_t i, j;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *s = tw_status_str(all[i]);

        ok(s != NULL && *s != '\0' && strcmp(s, "unknown status") != 0,
           "tw_status_str(%d) names it: %s", (int)all[i], s ? s : "(null)");
        for (j = 0; j < i; j++) {
            if (strcmp(s, tw_status_str(all[j])) == 0)
                break;
        }
        ok(j == i, "... and no other new status reads the same");
    }
}

/* ---- base64 ---------------------------------------------------------------- */

static void test_base64_vectors(void)
{
    /* RFC 4648 section 10. */
    static const struct { const char *bytes, *b64; } v[] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
    };
    unsigned char out[16];
    char text[16];
    size_t i, n;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t len = strlen(v[i].bytes);

        is_int(tw_base64_encode((const unsigned char *)v[i].bytes, len, text, sizeof(text)), TW_OK,
               "base64 encode \"%s\"", v[i].bytes);
        is_str(text, v[i].b64, "... gives the RFC's text (case %zu)", i);
        n = 99;
        is_int(tw_base64_decode(v[i].b64, strlen(v[i].b64), out, sizeof(out), &n), TW_OK,
               "base64 decode %s", v[i].b64);
        ok(n == len && memcmp(out, v[i].bytes, len) == 0, "... gives \"%s\"", v[i].bytes);
    }
    {
        static const unsigned char all_bits[3] = { 0xfb, 0xff, 0xbf };

        tw_base64_encode(all_bits, 3, text, sizeof(text));
        is_str(text, "+/+/", "base64 uses + and / (not - and _)");
    }
}

static void test_base64_strict(void)
{
    static const char *bad[] = {
        "Zg=", "Zg", "Z", "Z===", "====", "=", "Zg==Zg==", "Zm=v", "Zh==", "Zm9=",
        "Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm-v", "Zm_v", "Zm9v\r\n", "Zg==\n",
        "Zm9v====", "Zm9vYg=", "Zm9\xc3\xa9",
    };
    unsigned char out[16];
    char text[16];
    size_t i, n;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 99;
        is_int(tw_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n), TW_ERR_ARG,
               "base64 decode refuses \"%s\"", bad[i]);
        is_int(n, 0, "... and *plen is 0");
    }
    is_int(tw_base64_decode("Zm9v\0Zm9v", 8, out, sizeof(out), &n), TW_ERR_ARG,
           "base64 decode refuses an embedded NUL");
    is_int(tw_base64_decode("Zm9vYmFy", 8, out, 6, &n), TW_OK, "decode into exactly enough");
    is_int(tw_base64_decode("Zm9vYmFy", 8, out, 5, &n), TW_ERR_ARG, "decode into one byte too few");
    memset(out, 0x55, sizeof(out));
    tw_base64_decode("Zm9vYmF!", 8, out, sizeof(out), &n);
    ok(out[0] == 0 && out[2] == 0 && out[15] == 0, "a failed decode leaves no decoded bytes behind");
    is_int(tw_base64_decode("Zm9v", 4, out, sizeof(out), NULL), TW_ERR_ARG, "decode with plen NULL");
    is_int(tw_base64_decode(NULL, 4, out, sizeof(out), &n), TW_ERR_ARG, "decode NULL text");
    is_int(tw_base64_decode("", 0, NULL, 0, &n), TW_OK, "decode nothing into nothing");

    memset(text, '#', sizeof(text));
    is_int(tw_base64_encode((const unsigned char *)"foo", 3, text, 4), TW_ERR_ARG,
           "encode without room for the NUL: TW_ERR_ARG");
    ok(text[0] == '#', "... and nothing was written");
    is_int(tw_base64_encode((const unsigned char *)"foo", 3, text, 5), TW_OK,
           "encode into exactly TW_BASE64_LEN + 1");
    is_int(tw_base64_encode((const unsigned char *)"f", 1, text, 4), TW_ERR_ARG,
           "encode of one byte needs 5");
    is_int(tw_base64_encode((const unsigned char *)"f", SIZE_MAX, text, SIZE_MAX), TW_ERR_ARG,
           "encode length whose base64 overflows size_t: TW_ERR_ARG");
    is_int(tw_base64_encode(NULL, 3, text, sizeof(text)), TW_ERR_ARG, "encode NULL bytes");
    is_int(tw_base64_encode((const unsigned char *)"f", 1, NULL, 8), TW_ERR_ARG, "encode into NULL");
}

/* Random bytes survive encode and decode; each encoding is the only one. */
static void test_base64_round_trip(void)
{
    unsigned char bytes[64], back[64];
    char text[TW_BASE64_LEN(64) + 1];
    size_t len, n, failures = 0;

    for (len = 0; len <= 64; len++) {
        size_t i;

        for (i = 0; i < len; i++)
            bytes[i] = (unsigned char)rng_next();
        if (tw_base64_encode(bytes, len, text, sizeof(text)) != TW_OK
            || strlen(text) != TW_BASE64_LEN(len)
            || tw_base64_decode(text, strlen(text), back, sizeof(back), &n) != TW_OK
            || n != len || (len > 0 && memcmp(back, bytes, len) != 0))
            failures++;
    }
    is_int(failures, 0, "base64 round trip of 0..64 random bytes");
}

/* ---- secret files -------------------------------------------------------------- */

static void test_secret_from_file(void)
{
    static const struct { const char *file; size_t len; tw_status_t st; size_t want; } cases[] = {
        { "tok", 3, TW_OK, 3 },
        { "tok\n", 4, TW_OK, 3 },
        { "tok\r\n", 5, TW_OK, 3 },
        { "tok\r", 4, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\n\n", 5, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\r\n\r\n", 7, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\n\r\n", 6, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "to\nk", 4, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\nother\n", 10, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "\rtok", 4, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "", 0, TW_ERR_SECRET_EMPTY, 0 },
        { "\n", 1, TW_ERR_SECRET_EMPTY, 0 },
        { "\r\n", 2, TW_ERR_SECRET_EMPTY, 0 },
        { "\r", 1, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "\n\n", 2, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "t\0k\n", 4, TW_OK, 3 },   /* binary tokens are the operator's business */
        { " tok \n", 6, TW_OK, 5 },  /* so are spaces: they are bytes of the key */
    };
    static unsigned char big[TW_SECRET_FILE_READ_MAX];
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = 99;
        is_int(tw_secret_from_file((const unsigned char *)cases[i].file, cases[i].len, &n),
               cases[i].st, "secret file case %zu: %s", i, tw_status_str(cases[i].st));
        is_int(n, cases[i].want, "... length %zu", cases[i].want);
    }
    memset(big, 'k', sizeof(big));
    is_int(tw_secret_from_file(big, TW_SECRET_MAX, &n), TW_OK, "TW_SECRET_MAX bytes: ok");
    big[TW_SECRET_MAX] = '\r';
    big[TW_SECRET_MAX + 1] = '\n';
    is_int(tw_secret_from_file(big, TW_SECRET_MAX + 2, &n), TW_OK, "TW_SECRET_MAX bytes + CRLF: ok");
    is_int(n, TW_SECRET_MAX, "... of TW_SECRET_MAX bytes");
    is_int(tw_secret_from_file(big, TW_SECRET_FILE_READ_MAX, &n), TW_ERR_SECRET_TOO_LONG,
           "a file that fills TW_SECRET_FILE_READ_MAX: too long");
    memset(big, 'k', sizeof(big));
    big[TW_SECRET_MAX + 1] = '\n';
    is_int(tw_secret_from_file(big, TW_SECRET_MAX + 2, &n), TW_ERR_SECRET_TOO_LONG,
           "TW_SECRET_MAX + 1 bytes + LF: too long");
    is_int(tw_secret_from_file(NULL, 3, &n), TW_ERR_ARG, "NULL buffer: TW_ERR_ARG");
    is_int(tw_secret_from_file((const unsigned char *)"tok", 3, NULL), TW_ERR_ARG, "NULL plen: TW_ERR_ARG");
}

/* ---- profiles ------------------------------------------------------------------ */

static void test_profiles(void)
{
    static const char *names[] = {
        "teamwork", "teamwork-projects", "teamwork-desk", "github",
        "standard-webhooks", "stripe", "slack", "shopify"
    };
    const tw_profile_t *p;
    size_t i, n = 0;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        p = tw_profile_find(names[i]);
        ok(p != NULL && strcmp(p->name, names[i]) == 0, "profile %s is found by name", names[i]);
        ok(p != NULL && p->signature_header != NULL && p->description != NULL,
           "... with a signature header and a description");
    }
    while (tw_profile_at(n) != NULL)
        n++;
    is_int(n, sizeof(names) / sizeof(names[0]), "tw_profile_at walks all profiles, then NULL");
    ok(tw_profile_at(0) == tw_profile_default(), "the first profile is the default");
    is_str(tw_profile_default()->name, "teamwork", "the default is teamwork");
    is_str(tw_profile_default()->signature_header, "Signature", "... reading the Signature header");
    ok(tw_profile_find("GitHub") == NULL, "names are case-sensitive");
    ok(tw_profile_find("teamwork ") == NULL, "a trailing space is another name");
    ok(tw_profile_find("") == NULL && tw_profile_find(NULL) == NULL, "empty and NULL names: NULL");

    p = tw_profile_find("standard-webhooks");
    ok(p->signs_timestamp && p->id_header != NULL && strcmp(p->id_header, "webhook-id") == 0
       && strcmp(p->timestamp_header, "webhook-timestamp") == 0,
       "standard-webhooks signs webhook-timestamp and webhook-id");
    ok(p->event_source == TW_SOURCE_BODY && strcmp(p->event_field, "/type") == 0,
       "... and its event is the body's /type");
    p = tw_profile_find("stripe");
    ok(p->signs_timestamp && p->timestamp_header == NULL && p->delivery_source == TW_SOURCE_BODY
       && strcmp(p->delivery_field, "/id") == 0,
       "stripe: timestamp inside the signature, delivery the body's /id");
    p = tw_profile_find("slack");
    ok(p->event_source == TW_SOURCE_NONE && p->delivery_source == TW_SOURCE_NONE
       && strcmp(p->timestamp_header, "X-Slack-Request-Timestamp") == 0,
       "slack: a timestamp header, no event, no delivery");
    for (i = 0; (p = tw_profile_at(i)) != NULL; i++) {
        ok(p->signs_timestamp == (p->signed_form != TW_SIGNED_BODY),
           "%s: signs a timestamp exactly when it signs more than the body", p->name);
    }
}

static void test_profile_key(void)
{
    static unsigned char key[TW_SECRET_MAX];
    const tw_profile_t *sw = tw_profile_find("standard-webhooks");
    const tw_profile_t *stripe = tw_profile_find("stripe");
    static const char *bad[] = {
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw",
        "whsec_====", "whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    };
    unsigned char want[24];
    size_t n, i;

    is_int(tw_base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32, want, sizeof(want), &n), TW_OK,
           "the spec's whsec_ secret is base64");
    n = 0;
    is_int(tw_profile_key(sw, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38, key, sizeof(key), &n),
           TW_OK, "standard-webhooks: whsec_ secret decodes");
    ok(n == 24 && memcmp(key, want, 24) == 0, "... to its 24 bytes");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(key, 0x55, sizeof(key));
        n = 99;
        is_int(tw_profile_key(sw, bad[i], strlen(bad[i]), key, sizeof(key), &n),
               TW_ERR_SECRET_MALFORMED, "standard-webhooks refuses secret \"%s\"", bad[i]);
        ok(n == 0 && key[0] == 0 && key[23] == 0, "... with *plen 0 and the key buffer cleansed");
    }
    is_int(tw_profile_key(stripe, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38, key, sizeof(key), &n),
           TW_OK, "stripe: a whsec_ secret ...");
    ok(n == 38 && memcmp(key, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38) == 0,
       "... is the key as a string");
    is_int(tw_profile_key(tw_profile_default(), "tok", 3, key, sizeof(key), &n), TW_OK,
           "teamwork: raw bytes");
    ok(n == 3 && memcmp(key, "tok", 3) == 0, "... unchanged");
    is_int(tw_profile_key(tw_profile_default(), "tok", 0, key, sizeof(key), &n), TW_ERR_ARG,
           "an empty secret: TW_ERR_ARG");
    is_int(tw_profile_key(tw_profile_default(), key, TW_SECRET_MAX + 1, key, sizeof(key), &n),
           TW_ERR_ARG, "an over-long secret: TW_ERR_ARG");
    is_int(tw_profile_key(tw_profile_default(), "tok", 3, key, TW_SECRET_MAX - 1, &n), TW_ERR_ARG,
           "an output smaller than TW_SECRET_MAX: TW_ERR_ARG");
    is_int(tw_profile_key(NULL, "tok", 3, key, sizeof(key), &n), TW_ERR_ARG, "a NULL profile: TW_ERR_ARG");
    is_int(tw_profile_key(sw, "tok", 3, key, sizeof(key), NULL), TW_ERR_ARG, "a NULL plen: TW_ERR_ARG");
}

/* ---- timestamps and ids ----------------------------------------------------------- */

static void test_timestamp_parse(void)
{
    static const struct { const char *s; tw_status_t st; apr_int64_t v; } cases[] = {
        { "0", TW_OK, 0 },
        { "1614265330", TW_OK, APR_INT64_C(1614265330) },
        { "999999999999", TW_OK, APR_INT64_C(999999999999) },
        { "1000000000000", TW_OK, APR_INT64_C(1000000000000) },
        { "1000000000001", TW_ERR_TS_MALFORMED, 0 },
        { "9999999999999", TW_ERR_TS_MALFORMED, 0 },
        { "10000000000000", TW_ERR_TS_MALFORMED, 0 },
        { "99999999999999999999999", TW_ERR_TS_MALFORMED, 0 },
        { "18446744073709551617", TW_ERR_TS_MALFORMED, 0 },
        { "", TW_ERR_TS_MALFORMED, 0 },
        { "+1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "-1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "-0", TW_ERR_TS_MALFORMED, 0 },
        { " 1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "1614265330 ", TW_ERR_TS_MALFORMED, 0 },
        { "\t1614265330", TW_ERR_TS_MALFORMED, 0 },
        { "1614265330\n", TW_ERR_TS_MALFORMED, 0 },
        { "01614265330", TW_ERR_TS_MALFORMED, 0 },
        { "00", TW_ERR_TS_MALFORMED, 0 },
        { "1614265330.5", TW_ERR_TS_MALFORMED, 0 },
        { "1e9", TW_ERR_TS_MALFORMED, 0 },
        { "0x10", TW_ERR_TS_MALFORMED, 0 },
        { "16142653a0", TW_ERR_TS_MALFORMED, 0 },
        { "\xef\xbc\x91", TW_ERR_TS_MALFORMED, 0 },   /* fullwidth digit one */
        { "2024-01-01T00:00:00Z", TW_ERR_TS_MALFORMED, 0 },
    };
    apr_int64_t v;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 42;
        is_int(tw_timestamp_parse(cases[i].s, &v), cases[i].st, "timestamp \"%s\": %s",
               cases[i].s, tw_status_str(cases[i].st));
        is_int(v, cases[i].v, "... value %" APR_INT64_T_FMT, cases[i].v);
    }
    is_int(tw_timestamp_parse(NULL, &v), TW_ERR_TS_MISSING, "timestamp NULL: missing");
    is_int(tw_timestamp_parse("1", NULL), TW_ERR_ARG, "timestamp into NULL: TW_ERR_ARG");
}

static void test_timestamp_check(void)
{
    const apr_int64_t now = APR_INT64_C(1700000000), tol = 300;

    is_int(tw_timestamp_check(now, now, tol), TW_OK, "timestamp == now: ok");
    is_int(tw_timestamp_check(now - tol, now, tol), TW_OK, "exactly tolerance old: ok");
    is_int(tw_timestamp_check(now - tol - 1, now, tol), TW_ERR_TS_STALE, "tolerance + 1 old: stale");
    is_int(tw_timestamp_check(now + tol, now, tol), TW_OK, "exactly tolerance ahead: ok");
    is_int(tw_timestamp_check(now + tol + 1, now, tol), TW_ERR_TS_FUTURE, "tolerance + 1 ahead: future");
    is_int(tw_timestamp_check(now, now, 0), TW_OK, "tolerance 0, same second: ok");
    is_int(tw_timestamp_check(now - 1, now, 0), TW_ERR_TS_STALE, "tolerance 0, a second old: stale");
    is_int(tw_timestamp_check(now + 1, now, 0), TW_ERR_TS_FUTURE, "tolerance 0, a second ahead: future");
    is_int(tw_timestamp_check(0, now, tol), TW_ERR_TS_STALE, "timestamp 0: stale");
    is_int(tw_timestamp_check(TW_TIMESTAMP_MAX, now, tol), TW_ERR_TS_FUTURE, "timestamp 10^12: future");
    is_int(tw_timestamp_check(0, INT64_MAX, INT64_MAX), TW_OK, "extreme values do not overflow (ok)");
    is_int(tw_timestamp_check(INT64_MIN, INT64_MAX, INT64_MAX), TW_ERR_TS_STALE,
           "extreme values do not overflow (stale)");
    is_int(tw_timestamp_check(INT64_MAX, INT64_MIN, 5), TW_ERR_TS_FUTURE,
           "extreme values do not overflow (future)");
    is_int(tw_timestamp_check(now, now, -1), TW_ERR_ARG, "negative tolerance: TW_ERR_ARG");
}

static const struct verdict_case webhook_id_is_plain_cases[] = {
    { "msg_p5jXN8AQM9LWM0D4loKWxJek", 1, "msg_p5jXN8AQM9LWM0D4loKWxJek is plain" },
    { "a-B_9", 1, "a-B_9 is plain" },
    { "", 0, "empty is not" },
    { NULL, 0, "NULL is not" },
    { "msg.1", 0, "a dot is not (it separates the signed parts)" },
    { "msg 1", 0, "a space is not" },
    { "msg\n1", 0, "a newline is not" },
    { "msg/1", 0, "a slash is not" },
    { "m\xc3\xa9", 0, "non-ASCII is not" },
};

static void test_webhook_id(void)
{
    char id[TW_ID_MAX + 2];

    CHECK_VERDICTS(tw_webhook_id_is_plain, webhook_id_is_plain_cases);
    memset(id, 'a', sizeof(id));
    id[TW_ID_MAX] = '\0';
    ok(tw_webhook_id_is_plain(id), "TW_ID_MAX characters are plain");
    id[TW_ID_MAX] = 'a';
    id[TW_ID_MAX + 1] = '\0';
    ok(!tw_webhook_id_is_plain(id), "TW_ID_MAX + 1 are not");
}

/* ---- parsing and verifying a request ------------------------------------------------ */

/*
 * Verifies body under profile p with the secrets given: parse, key, MAC
 * the prefix then the body, compare with every candidate.
 */
static tw_status_t verify_scheme(const tw_profile_t *p, const char *const *secrets, size_t nsecrets,
                                 const char *sig, const char *ts, const char *id,
                                 const char *body, size_t *pmatched, size_t *pcandidate)
{
    static unsigned char kbuf[TW_SECRET_MAX];
    tw_key_t *keys[4] = { NULL, NULL, NULL, NULL };
    tw_verifier_t *v = NULL;
    tw_signed_t s;
    tw_status_t st;
    size_t i, klen;

    *pmatched = 99;
    *pcandidate = 99;
    st = tw_scheme_parse(p, sig, ts, id, &s);
    if (st != TW_OK)
        return st;
    for (i = 0; i < nsecrets && st == TW_OK; i++) {
        st = tw_profile_key(p, secrets[i], strlen(secrets[i]), kbuf, sizeof(kbuf), &klen);
        if (st == TW_OK)
            st = tw_key_create(&keys[i], kbuf, klen);
    }
    if (st == TW_OK)
        st = tw_verifier_create(&v, (const tw_key_t *const *)keys, nsecrets);
    if (st == TW_OK)
        st = tw_verifier_update(v, s.prefix, s.prefix_len);
    if (st == TW_OK)
        st = tw_verifier_update(v, body, strlen(body));
    if (st == TW_OK)
        st = tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])s.candidates,
                                    s.ncandidates, pmatched, pcandidate);
    tw_verifier_destroy(v);
    for (i = 0; i < nsecrets; i++)
        tw_key_destroy(keys[i]);
    return st;
}

#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS     "1614265330"
#define SW_BODY   "{\"test\": 2432232314}"
#define SW_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_SIG_B64 "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_WRONG  "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

#define SLACK_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define SLACK_TS     "1531420618"
#define SLACK_BODY   "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow" \
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner" \
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands" \
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" \
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define SLACK_SIG    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY   "Hello, World!"
#define GH_HEX    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

/* Computed with Python's hmac for these tests (no published example). */
#define STRIPE_SECRET "whsec_test_secret"
#define STRIPE_BODY   "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\"}"
#define STRIPE_HEX    "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"
#define SHOPIFY_SECRET "shpss_secret"
#define SHOPIFY_BODY   "{\"id\":1}"
#define SHOPIFY_SIG    "xocA3LkeJ/RvNrkxep1EUtFHuj7rIoIqZYaLU26LyPQ="

#define WRONG_HEX "0000000000000000000000000000000000000000000000000000000000000000"

static void test_scheme_examples(void)
{
    const char *sw[1] = { SW_SECRET }, *slack[1] = { SLACK_SECRET }, *gh[1] = { GH_SECRET };
    const char *stripe[1] = { STRIPE_SECRET }, *shopify[1] = { SHOPIFY_SECRET };
    const tw_profile_t *p;
    tw_signed_t s;
    size_t m, c;

    p = tw_profile_find("standard-webhooks");
    is_int(tw_scheme_parse(p, SW_SIG, SW_TS, SW_ID, &s), TW_OK, "standard-webhooks spec example parses");
    ok(s.prefix_len == strlen(SW_ID "." SW_TS ".") && memcmp(s.prefix, SW_ID "." SW_TS ".", s.prefix_len) == 0,
       "... prefix <id>.<timestamp>.");
    ok(s.has_timestamp && s.timestamp == APR_INT64_C(1614265330) && s.ncandidates == 1,
       "... one candidate, timestamp 1614265330");
    is_int(verify_scheme(p, sw, 1, SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c), TW_OK,
           "standard-webhooks spec example verifies");
    ok(m == 1 && c == 1, "... key 1, candidate 1");
    is_int(verify_scheme(p, sw, 1, SW_SIG, "1614265331", SW_ID, SW_BODY, &m, &c), TW_ERR_SIG_MISMATCH,
           "... another timestamp: mismatch");
    is_int(verify_scheme(p, sw, 1, SW_SIG, SW_TS, "msg_p5jXN8AQM9LWM0D4loKWxJel", SW_BODY, &m, &c),
           TW_ERR_SIG_MISMATCH, "... another id: mismatch");
    is_int(verify_scheme(p, sw, 1, SW_SIG, SW_TS, SW_ID, "{\"test\": 2432232315}", &m, &c),
           TW_ERR_SIG_MISMATCH, "... another body: mismatch");
    ok(m == 0 && c == 0, "... key 0, candidate 0");

    p = tw_profile_find("slack");
    is_int(tw_scheme_parse(p, SLACK_SIG, SLACK_TS, NULL, &s), TW_OK, "slack documented example parses");
    ok(s.prefix_len == 14 && memcmp(s.prefix, "v0:" SLACK_TS ":", 14) == 0, "... prefix v0:<timestamp>:");
    is_int(verify_scheme(p, slack, 1, SLACK_SIG, SLACK_TS, NULL, SLACK_BODY, &m, &c), TW_OK,
           "slack documented example verifies");
    is_int(verify_scheme(p, slack, 1, SLACK_SIG, "1531420619", NULL, SLACK_BODY, &m, &c),
           TW_ERR_SIG_MISMATCH, "... another timestamp: mismatch");

    p = tw_profile_find("github");
    is_int(verify_scheme(p, gh, 1, "sha256=" GH_HEX, NULL, NULL, GH_BODY, &m, &c), TW_OK,
           "github documented example verifies");
    is_int(tw_scheme_parse(p, "sha256=" GH_HEX, "1", "x", &s), TW_OK,
           "github ignores a timestamp and an id");
    ok(s.prefix_len == 0 && !s.has_timestamp, "... nothing signed before the body");

    p = tw_profile_find("stripe");
    is_int(tw_scheme_parse(p, "t=1700000000,v1=" STRIPE_HEX ",v0=" WRONG_HEX, NULL, NULL, &s), TW_OK,
           "stripe header parses");
    ok(s.ncandidates == 1 && s.timestamp == APR_INT64_C(1700000000)
       && s.prefix_len == 11 && memcmp(s.prefix, "1700000000.", 11) == 0,
       "... v0 skipped, prefix <t>.");
    is_int(verify_scheme(p, stripe, 1, "t=1700000000,v1=" STRIPE_HEX, "999", NULL, STRIPE_BODY, &m, &c),
           TW_OK, "stripe verifies (whsec_ as a string; a timestamp header is ignored)");
    is_int(verify_scheme(p, stripe, 1, "v1=" STRIPE_HEX ",t=1700000000", NULL, NULL, STRIPE_BODY, &m, &c),
           TW_OK, "... in either order");

    p = tw_profile_find("shopify");
    is_int(verify_scheme(p, shopify, 1, SHOPIFY_SIG, NULL, NULL, SHOPIFY_BODY, &m, &c), TW_OK,
           "shopify base64 verifies");

    p = tw_profile_find("teamwork-desk");
    is_int(verify_scheme(p, gh, 1, GH_HEX, NULL, NULL, GH_BODY, &m, &c), TW_OK,
           "teamwork-desk verifies plain hex");
    p = tw_profile_find("teamwork-projects");
    is_int(verify_scheme(p, gh, 1, "SHA256=" GH_HEX, NULL, NULL, GH_BODY, &m, &c), TW_OK,
           "teamwork-projects accepts the old optional prefix");
}

/* Several candidates and several keys: every combination is found. */
static void test_scheme_candidates(void)
{
    const char *one[1] = { SW_SECRET };
    const char *three[3] = { "whsec_AAAA", SW_SECRET, "whsec_BBBB" };
    const tw_profile_t *sw = tw_profile_find("standard-webhooks"), *stripe = tw_profile_find("stripe");
    const char *stripe_keys[2] = { "old", STRIPE_SECRET };
    size_t m, c;

    is_int(verify_scheme(sw, one, 1, SW_WRONG " " SW_SIG " " SW_WRONG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_OK, "standard-webhooks: 3 candidates, the middle one right");
    ok(m == 1 && c == 2, "... key 1, candidate 2");
    is_int(verify_scheme(sw, three, 3, SW_WRONG " v1a,xyz " SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_OK, "3 keys, a v1a entry skipped, the last candidate right");
    ok(m == 2 && c == 2, "... key 2, candidate 2 (v1a does not count)");
    is_int(verify_scheme(sw, one, 1, SW_WRONG " " SW_WRONG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_ERR_SIG_MISMATCH, "two wrong candidates: mismatch");
    ok(m == 0 && c == 0, "... key 0, candidate 0");
    is_int(verify_scheme(sw, one, 1, SW_SIG " " SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c), TW_OK,
           "the right candidate twice: ok");
    ok(m == 1 && c == 1, "... the first one reported");
    is_int(verify_scheme(sw, one, 1,
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_WRONG " "
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_SIG, SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_OK, "8 candidates (TW_CANDIDATES_MAX), the last right: ok");
    ok(m == 1 && c == 8, "... candidate 8");
    is_int(verify_scheme(sw, one, 1,
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_WRONG " "
                         SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_WRONG " " SW_SIG,
                         SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_ERR_SIG_MALFORMED, "9 candidates: malformed, even with a right one");
    is_int(verify_scheme(sw, one, 1,
                         "v2,a v2,a v2,a v2,a v2,a v2,a v2,a v2,a " SW_SIG,
                         SW_TS, SW_ID, SW_BODY, &m, &c),
           TW_ERR_SIG_MALFORMED, "9 entries, 8 of them skipped: still malformed");

    is_int(verify_scheme(stripe, stripe_keys, 2, "t=1700000000,v1=" WRONG_HEX ",v1=" STRIPE_HEX ",v0=" WRONG_HEX,
                         NULL, NULL, STRIPE_BODY, &m, &c),
           TW_OK, "stripe: two v1, the second right, under the second key");
    ok(m == 2 && c == 2, "... key 2, candidate 2");

    {
        /* The verifier itself, with hand-made candidates. */
        unsigned char cands[TW_CANDIDATES_MAX + 1][TW_MAC_LEN];
        tw_key_t *k = NULL;
        tw_verifier_t *v = NULL;
        size_t i;

        tw_key_create(&k, GH_SECRET, strlen(GH_SECRET));
        for (i = 0; i < TW_CANDIDATES_MAX + 1; i++)
            memset(cands[i], (int)i, TW_MAC_LEN);
        unhex(GH_HEX, cands[5], TW_MAC_LEN);
        tw_verifier_create(&v, (const tw_key_t *const *)&k, 1);
        tw_verifier_update(v, GH_BODY, strlen(GH_BODY));
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 0, &m, &c),
               TW_ERR_ARG, "finish_any with 0 candidates: TW_ERR_ARG");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands,
                                      TW_CANDIDATES_MAX + 1, &m, &c),
               TW_ERR_ARG, "finish_any with TW_CANDIDATES_MAX + 1: TW_ERR_ARG");
        is_int(tw_verifier_finish_any(v, NULL, 1, &m, &c), TW_ERR_ARG, "finish_any with NULL: TW_ERR_ARG");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 6, NULL, NULL),
               TW_OK, "finish_any after refused calls still works; NULL outputs allowed");
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 6, &m, &c),
               TW_ERR_ARG, "finish_any a second time: TW_ERR_ARG");
        ok(m == 0 && c == 0, "... with both outputs 0");
        tw_verifier_destroy(v);
        tw_verifier_create(&v, (const tw_key_t *const *)&k, 1);
        tw_verifier_update(v, GH_BODY, strlen(GH_BODY));
        is_int(tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])cands, 5, &m, &c),
               TW_ERR_SIG_MISMATCH, "the right MAC just past ncandidates is not looked at");
        tw_verifier_destroy(v);
        tw_key_destroy(k);
    }
}

struct scheme_case {
    const char *profile, *sig, *ts, *id;
    tw_status_t st;
    const char *name;
};

static void test_scheme_malformed(void)
{
    static const struct scheme_case cases[] = {
        /* github */
        { "github", NULL, NULL, NULL, TW_ERR_SIG_MISSING, "no header" },
        { "github", GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "no sha256= prefix" },
        { "github", "SHA256=" GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "upper-case prefix" },
        { "github", "sha256=" GH_HEX "0", NULL, NULL, TW_ERR_SIG_MALFORMED, "65 digits" },
        { "github", "sha256=" GH_HEX " ", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing space" },
        { "github", "sha1=" GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "sha1=" },
        { "github", "", NULL, NULL, TW_ERR_SIG_MALFORMED, "empty" },
        /* slack */
        { "slack", "v0=" GH_HEX, NULL, NULL, TW_ERR_TS_MISSING, "no timestamp header" },
        { "slack", "v0=" GH_HEX, "", NULL, TW_ERR_TS_MALFORMED, "empty timestamp" },
        { "slack", "v0=" GH_HEX, " 1531420618", NULL, TW_ERR_TS_MALFORMED, "timestamp with a space" },
        { "slack", "v0=" GH_HEX, "1531420618x", NULL, TW_ERR_TS_MALFORMED, "timestamp with junk" },
        { "slack", "v1=" GH_HEX, "1531420618", NULL, TW_ERR_SIG_MALFORMED, "v1=" },
        { "slack", GH_HEX, "1531420618", NULL, TW_ERR_SIG_MALFORMED, "no v0=" },
        { "slack", "v0=" GH_HEX ",v0=" GH_HEX, "1531420618", NULL, TW_ERR_SIG_MALFORMED, "two" },
        { "slack", "v0=", "x", NULL, TW_ERR_SIG_MALFORMED, "bad signature before bad timestamp" },
        /* shopify */
        { "shopify", SW_SIG_B64 "\n", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing newline" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "no padding" },
        { "shopify", "g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "URL-safe alphabet" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "non-zero unused bits" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "31 bytes" },
        { "shopify", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=g0hM", NULL, NULL, TW_ERR_SIG_MALFORMED,
          "48 characters" },
        { "shopify", GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "hex" },
        /* standard-webhooks */
        { "standard-webhooks", NULL, NULL, NULL, TW_ERR_SIG_MISSING, "nothing at all" },
        { "standard-webhooks", "", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "empty" },
        { "standard-webhooks", SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "no v1," },
        { "standard-webhooks", "v1=" SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "v1=" },
        { "standard-webhooks", "V1," SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "V1, only" },
        { "standard-webhooks", "v1a," SW_SIG_B64, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "v1a only" },
        { "standard-webhooks", "v1,", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "v1, without value" },
        { "standard-webhooks", ",abc", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "no tag" },
        { "standard-webhooks", SW_SIG " ", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "trailing space" },
        { "standard-webhooks", " " SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "leading space" },
        { "standard-webhooks", SW_SIG "  " SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "two spaces" },
        { "standard-webhooks", SW_SIG "\t" SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "tab" },
        { "standard-webhooks", SW_SIG "," SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "comma-separated" },
        { "standard-webhooks", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", SW_TS, SW_ID,
          TW_ERR_SIG_MALFORMED, "unpadded base64" },
        { "standard-webhooks", "v1," GH_HEX, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED, "hex value" },
        { "standard-webhooks", "v1a,xyz " SW_SIG " v1,AAAA", SW_TS, SW_ID, TW_ERR_SIG_MALFORMED,
          "one bad v1 among good entries" },
        { "standard-webhooks", "v12345678901234567,x " SW_SIG, SW_TS, SW_ID, TW_ERR_SIG_MALFORMED,
          "a 17-character tag" },
        { "standard-webhooks", SW_SIG, NULL, SW_ID, TW_ERR_TS_MISSING, "no timestamp" },
        { "standard-webhooks", SW_SIG, "1614265330.0", SW_ID, TW_ERR_TS_MALFORMED, "fractional timestamp" },
        { "standard-webhooks", SW_SIG, "-1614265330", SW_ID, TW_ERR_TS_MALFORMED, "negative timestamp" },
        { "standard-webhooks", SW_SIG, "99999999999999999999", SW_ID, TW_ERR_TS_MALFORMED, "huge timestamp" },
        { "standard-webhooks", SW_SIG, SW_TS, NULL, TW_ERR_ID_MISSING, "no id" },
        { "standard-webhooks", SW_SIG, SW_TS, "", TW_ERR_ID_MALFORMED, "empty id" },
        { "standard-webhooks", SW_SIG, SW_TS, "msg.1", TW_ERR_ID_MALFORMED, "id with a dot" },
        { "standard-webhooks", SW_SIG, SW_TS, "msg 1", TW_ERR_ID_MALFORMED, "id with a space" },
        { "standard-webhooks", SW_SIG, SW_TS, "msg\r\nX: 1", TW_ERR_ID_MALFORMED, "id with CRLF" },
        { "standard-webhooks", SW_SIG, "x", NULL, TW_ERR_TS_MALFORMED, "timestamp checked before id" },
        { "standard-webhooks", "bad", NULL, NULL, TW_ERR_SIG_MALFORMED, "signature checked first" },
        /* stripe */
        { "stripe", NULL, "1700000000", NULL, TW_ERR_SIG_MISSING, "no header" },
        { "stripe", "v1=" STRIPE_HEX, "1700000000", NULL, TW_ERR_TS_MISSING, "no t= (a header is no substitute)" },
        { "stripe", "t=1700000000", NULL, NULL, TW_ERR_SIG_MALFORMED, "no v1=" },
        { "stripe", "t=1700000000,v0=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "only v0=" },
        { "stripe", "t=1700000000,t=1700000001,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "two t=" },
        { "stripe", "t=1700000000,v1=" STRIPE_HEX ",", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing comma" },
        { "stripe", "t=1700000000,,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "empty entry" },
        { "stripe", "t=1700000000, v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "space after comma" },
        { "stripe", "t=1700000000,v1=" STRIPE_HEX "0", NULL, NULL, TW_ERR_SIG_MALFORMED, "65 digits" },
        { "stripe", "t=1700000000,v1", NULL, NULL, TW_ERR_SIG_MALFORMED, "key without =" },
        { "stripe", "t=1700000000,V1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "V1= is not v1=" },
        { "stripe", "t=1700000000;v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "semicolon" },
        { "stripe", "t=,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "empty t=" },
        { "stripe", "t=17e8,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_TS_MALFORMED, "t=17e8" },
        { "stripe", "t=-1,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_TS_MALFORMED, "t=-1" },
        { "stripe", "t=01700000000,v1=" STRIPE_HEX, NULL, NULL, TW_ERR_TS_MALFORMED, "leading zero" },
        { "stripe", "t=1700000000,v0=x,v0=x,v0=x,v0=x,v0=x,v0=x,v0=x,v0=x,v1=" STRIPE_HEX, NULL, NULL,
          TW_ERR_SIG_MALFORMED, "9 signature entries" },
        /* teamwork: the old grammar, unchanged */
        { "teamwork", NULL, NULL, NULL, TW_ERR_SIG_MISSING, "no header" },
        { "teamwork", "v1=" GH_HEX, NULL, NULL, TW_ERR_SIG_MALFORMED, "v1=" },
        { "teamwork-projects", GH_HEX ",", NULL, NULL, TW_ERR_SIG_MALFORMED, "trailing comma" },
    };
    tw_signed_t s, zero;
    size_t i;

    memset(&zero, 0, sizeof(zero));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const tw_profile_t *p = tw_profile_find(cases[i].profile);

        memset(&s, 0xee, sizeof(s));
        is_int(tw_scheme_parse(p, cases[i].sig, cases[i].ts, cases[i].id, &s), cases[i].st,
               "%s, %s: %s", cases[i].profile, cases[i].name, tw_status_str(cases[i].st));
        ok(memcmp(&s, &zero, sizeof(s)) == 0, "... and the output is zeroed");
    }
    is_int(tw_scheme_parse(NULL, GH_HEX, NULL, NULL, &s), TW_ERR_ARG, "a NULL profile: TW_ERR_ARG");
    is_int(tw_scheme_parse(tw_profile_default(), GH_HEX, NULL, NULL, NULL), TW_ERR_ARG,
           "a NULL output: TW_ERR_ARG");
}

/* ---- signing --------------------------------------------------------------------- */

/* The header named name in h, or NULL. */
static const char *signed_header(const tw_signed_headers_t *h, const char *name)
{
    size_t i;

    for (i = 0; i < h->nheaders; i++) {
        if (strcmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    }
    return NULL;
}

static void test_scheme_sign_examples(void)
{
    tw_signed_headers_t h;

    is_int(tw_scheme_sign(tw_profile_find("standard-webhooks"), SW_SECRET, strlen(SW_SECRET),
                          SW_BODY, strlen(SW_BODY), APR_INT64_C(1614265330), SW_ID, &h), TW_OK,
           "sign the standard-webhooks spec example");
    is_int(h.nheaders, 3, "... three headers");
    is_str(h.headers[0].name, "webhook-signature", "... the signature first");
    is_str(signed_header(&h, "webhook-signature"), SW_SIG, "... the spec's signature");
    is_str(signed_header(&h, "webhook-timestamp"), SW_TS, "... its timestamp");
    is_str(signed_header(&h, "webhook-id"), SW_ID, "... its id");

    is_int(tw_scheme_sign(tw_profile_find("slack"), SLACK_SECRET, strlen(SLACK_SECRET),
                          SLACK_BODY, strlen(SLACK_BODY), APR_INT64_C(1531420618), NULL, &h), TW_OK,
           "sign the slack example");
    is_str(signed_header(&h, "X-Slack-Signature"), SLACK_SIG, "... slack's signature");
    is_str(signed_header(&h, "X-Slack-Request-Timestamp"), SLACK_TS, "... and timestamp");

    is_int(tw_scheme_sign(tw_profile_find("github"), GH_SECRET, strlen(GH_SECRET),
                          GH_BODY, strlen(GH_BODY), 0, NULL, &h), TW_OK, "sign the github example");
    is_int(h.nheaders, 1, "... one header");
    is_str(signed_header(&h, "X-Hub-Signature-256"), "sha256=" GH_HEX, "... github's signature");

    tw_scheme_sign(tw_profile_find("stripe"), STRIPE_SECRET, strlen(STRIPE_SECRET),
                   STRIPE_BODY, strlen(STRIPE_BODY), APR_INT64_C(1700000000), NULL, &h);
    is_str(signed_header(&h, "Stripe-Signature"), "t=1700000000,v1=" STRIPE_HEX, "sign for stripe");
    is_int(h.nheaders, 1, "... one header");
    tw_scheme_sign(tw_profile_find("shopify"), SHOPIFY_SECRET, strlen(SHOPIFY_SECRET),
                   SHOPIFY_BODY, strlen(SHOPIFY_BODY), 0, NULL, &h);
    is_str(signed_header(&h, "X-Shopify-Hmac-Sha256"), SHOPIFY_SIG, "sign for shopify");
    tw_scheme_sign(tw_profile_default(), GH_SECRET, strlen(GH_SECRET),
                   GH_BODY, strlen(GH_BODY), 0, NULL, &h);
    is_str(signed_header(&h, "Signature"), GH_HEX, "sign for teamwork: the bare hex, as before");
}

/* Whatever tw_scheme_sign makes, tw_scheme_parse and the verifier accept. */
static void test_scheme_sign_round_trip(void)
{
    static const char body[] = "{\"type\":\"a.b\",\"id\":\"evt_9\"}";
    const tw_profile_t *p;
    size_t i;

    for (i = 0; (p = tw_profile_at(i)) != NULL; i++) {
        const char *secret = p->key_form == TW_KEY_WHSEC_BASE64 ? SW_SECRET : "round-trip";
        const char *secrets[2] = { "other", secret };
        tw_signed_headers_t h;
        size_t m = 0, c = 0;

        is_int(tw_scheme_sign(p, secret, strlen(secret), body, strlen(body),
                              APR_INT64_C(1700000123), "msg_round_trip", &h), TW_OK,
               "%s: sign", p->name);
        is_int(verify_scheme(p, p->key_form == TW_KEY_WHSEC_BASE64 ? secrets + 1 : secrets,
                             p->key_form == TW_KEY_WHSEC_BASE64 ? 1 : 2,
                             signed_header(&h, p->signature_header),
                             p->timestamp_header ? signed_header(&h, p->timestamp_header) : NULL,
                             p->id_header ? signed_header(&h, p->id_header) : NULL,
                             body, &m, &c), TW_OK, "%s: ... and verify what was signed", p->name);
        is_int(m, p->key_form == TW_KEY_WHSEC_BASE64 ? 1 : 2, "%s: ... under the right key", p->name);
    }
}

static void test_scheme_sign_errors(void)
{
    const tw_profile_t *sw = tw_profile_find("standard-webhooks");
    tw_signed_headers_t h;

    is_int(tw_scheme_sign(sw, SW_SECRET, strlen(SW_SECRET), "x", 1, 1, NULL, &h), TW_ERR_ID_MISSING,
           "standard-webhooks without an id: TW_ERR_ID_MISSING");
    ok(h.nheaders == 0, "... and no headers");
    is_int(tw_scheme_sign(sw, SW_SECRET, strlen(SW_SECRET), "x", 1, 1, "a.b", &h), TW_ERR_ID_MALFORMED,
           "an id with a dot: TW_ERR_ID_MALFORMED");
    is_int(tw_scheme_sign(sw, "not-whsec", 9, "x", 1, 1, "a", &h), TW_ERR_SECRET_MALFORMED,
           "a secret without whsec_: TW_ERR_SECRET_MALFORMED");
    is_int(tw_scheme_sign(sw, SW_SECRET, strlen(SW_SECRET), "x", 1, -1, "a", &h), TW_ERR_TS_MALFORMED,
           "a negative timestamp: TW_ERR_TS_MALFORMED");
    is_int(tw_scheme_sign(tw_profile_find("slack"), "k", 1, "x", 1, TW_TIMESTAMP_MAX + 1, NULL, &h),
           TW_ERR_TS_MALFORMED, "a timestamp past 10^12: TW_ERR_TS_MALFORMED");
    is_int(tw_scheme_sign(tw_profile_find("github"), "k", 1, "x", 1, -1, NULL, &h), TW_OK,
           "github ignores the timestamp");
    is_int(tw_scheme_sign(tw_profile_find("github"), "k", 0, "x", 1, 0, NULL, &h), TW_ERR_ARG,
           "an empty secret: TW_ERR_ARG");
    is_int(tw_scheme_sign(NULL, "k", 1, "x", 1, 0, NULL, &h), TW_ERR_ARG, "a NULL profile: TW_ERR_ARG");
    is_int(tw_scheme_sign(tw_profile_default(), "k", 1, NULL, 1, 0, NULL, &h), TW_ERR_ARG,
           "a NULL body of length 1: TW_ERR_ARG");
    is_int(tw_scheme_sign(tw_profile_default(), "k", 1, NULL, 0, 0, NULL, &h), TW_OK,
           "an empty body may be NULL");
    is_int(tw_scheme_sign(tw_profile_default(), "k", 1, "x", 1, 0, NULL, NULL), TW_ERR_ARG,
           "a NULL output: TW_ERR_ARG");
}


/* ---- the inbox (tw_inbox.c) ---------------------------------------------- */

/* A body source over a memory buffer; fail_at >= 0 makes reads from that
 * offset on fail, as a disk would under the spool. */
typedef struct {
    const unsigned char *data;
    apr_size_t len;
    apr_off_t fail_at;
} mem_source_t;

static apr_status_t mem_source(void *ctx, apr_off_t offset, void *buf, apr_size_t cap,
                               apr_size_t *got)
{
    mem_source_t *m = ctx;

    *got = 0;
    if (m->fail_at >= 0 && offset >= m->fail_at)
        return APR_FROM_OS_ERROR(EIO);
    if (offset >= (apr_off_t)m->len)
        return APR_SUCCESS;
    *got = m->len - (apr_size_t)offset < cap ? m->len - (apr_size_t)offset : cap;
    memcpy(buf, m->data + offset, *got);
    return APR_SUCCESS;
}

/* Names in dir, counted: entries (valid ids) and temporary files. */
static void count_dir(const char *dir, apr_pool_t *pool, int *entries, int *temps)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    *entries = *temps = 0;
    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0)
            continue;
        if (tw_inbox_id_is_valid(fi.name))
            (*entries)++;
        else if (fi.name[0] == '.')
            (*temps)++;
    }
    apr_dir_close(d);
}

static const struct verdict_case inbox_name_is_storable_cases[] = {
    { "Signature", 1, "header name Signature storable" },
    { "Bad Name", 0, "a name with a space is not" },
    { "Bad:Name", 0, "a name with a colon is not" },
    { "", 0, "an empty name is not" },
};

static const struct verdict_case inbox_value_is_storable_cases[] = {
    { "application/json; charset=utf-8", 1, "a plain value is storable" },
    { "a\tb", 1, "... with a tab too" },
    { "a\nheader Evil: 1", 0, "a value with LF is not" },
    { "a\rb", 0, "a value with CR is not" },
    { "a\x7f", 0, "a value with DEL is not" },
    { "", 0, "an empty value is not" },
};

static const struct verdict_case inbox_path_is_storable_cases[] = {
    { "/hooks/teamwork?x=1", 1, "a path with a query is storable" },
    { "hooks", 0, "a path not starting with / is not" },
    { "/a b", 0, "a path with a space is not" },
    { "http://evil/", 0, "an absolute URL is not" },
};

static void test_inbox_names(void)
{
    unsigned char key[TW_MAC_LEN];
    char id[TW_INBOX_ID_LEN + 1];
    char big[TW_INBOX_VALUE_MAX + 2];

    memset(key, 0xab, sizeof(key));
    key[0] = 0x01;
    is_int(tw_inbox_id(key, id), TW_OK, "inbox id from a key");
    is_int(strlen(id), TW_INBOX_ID_LEN, "... 64 characters");
    ok(strncmp(id, "01abab", 6) == 0, "... the lowercase hex of the key");
    ok(tw_inbox_id_is_valid(id), "... and a valid id");
    is_int(tw_inbox_id(NULL, id), TW_ERR_ARG, "inbox id of NULL: TW_ERR_ARG");
    ok(!tw_inbox_id_is_valid(NULL), "NULL is no id");
    ok(!tw_inbox_id_is_valid(""), "empty is no id");
    id[5] = 'A';
    ok(!tw_inbox_id_is_valid(id), "uppercase hex is no id");
    id[5] = 'a';
    id[63] = '\0';
    ok(!tw_inbox_id_is_valid(id), "63 digits are no id");
    ok(!tw_inbox_id_is_valid("../../../../etc/passwd"), "a path is no id");

    CHECK_VERDICTS(tw_inbox_name_is_storable, inbox_name_is_storable_cases);
    CHECK_VERDICTS(tw_inbox_value_is_storable, inbox_value_is_storable_cases);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ok(!tw_inbox_value_is_storable(big), "a value over TW_INBOX_VALUE_MAX is not");
    CHECK_VERDICTS(tw_inbox_path_is_storable, inbox_path_is_storable_cases);
}

static void test_inbox_parse(apr_pool_t *parent)
{
    static const char good[] =
        "twwebhook-inbox 1\nreceived 1700000000000000\nupdated 1700000001000000\n"
        "attempts 3\nstatus 502\npath /hooks/tw\nheader Signature: abc\n"
        "header Event: page.updated\nlength 5\n\nhello";
    static const char *bad[] = {
        "twwebhook-inbox 2\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 01\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts -1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 1000\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath x\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nheader A:b\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nheader A B: c\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\nx\n",
        "twwebhook-inbox 1\nreceived 99999999999999999999\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nupdated 1\nreceived 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "",
    };
    apr_pool_t *pool;
    tw_inbox_entry_t e;
    size_t i;

    apr_pool_create(&pool, parent);
    memset(&e, 0, sizeof(e));
    memcpy(e.id, "keep", 5);
    is_int(tw_inbox_parse(good, sizeof(good) - 1, &e, pool), APR_SUCCESS, "parse a good entry");
    is_str(e.id, "keep", "... the id is left as it was");
    ok(e.received == APR_INT64_C(1700000000000000), "... received");
    ok(e.updated == APR_INT64_C(1700000001000000), "... updated");
    is_int(e.attempts, 3, "... attempts");
    is_int(e.last_status, 502, "... last status");
    is_str(e.path, "/hooks/tw", "... path");
    is_int(e.nheaders, 2, "... two headers");
    is_str(e.nheaders > 1 ? e.headers[1].name : "", "Event", "... the second is Event");
    is_str(e.nheaders > 1 ? e.headers[1].value : "", "page.updated", "... with its value");
    is_int(e.body_length, 5, "... body length");
    ok(e.body_offset == (apr_off_t)(sizeof(good) - 1 - 5), "... body offset after the blank line");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(tw_inbox_parse(bad[i], strlen(bad[i]), &e, pool), TW_INBOX_ECORRUPT,
               "malformed entry %u refused", (unsigned)i);
    is_int(tw_inbox_parse(good, 20, &e, pool), TW_INBOX_ECORRUPT, "a cut-off entry refused");
    apr_pool_destroy(pool);
}

static void test_inbox_files(apr_pool_t *parent, const char *base)
{
    const char *dir = apr_pstrcat(parent, base, "/inbox", NULL);
    unsigned char key[TW_MAC_LEN], *body = malloc(200000);
    tw_inbox_entry_t e, *got = NULL;
    apr_array_header_t *list = NULL;
    mem_source_t src;
    unsigned int bad = 99;
    apr_time_t first;
    apr_pool_t *pool;
    int entries, temps, fd = -1;
    size_t i;

    apr_pool_create(&pool, parent);
    is_int(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS, "inbox dir made");
    for (i = 0; i < 200000; i++)
        body[i] = (unsigned char)(i * 31 + 7);
    body[10] = '\n';
    body[11] = '\n';    /* a blank line in the body must not matter */

    memset(&e, 0, sizeof(e));
    memset(key, 0x5a, sizeof(key));
    tw_inbox_id(key, e.id);
    e.path = "/hooks/teamwork?from=test";
    e.headers[0].name = "Signature";
    e.headers[0].value = "0123456789abcdef";
    e.headers[1].name = "Event";
    e.headers[1].value = "page.updated";
    e.nheaders = 2;
    e.body_length = 200000;
    src.data = body;
    src.len = 200000;
    src.fail_at = -1;

    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS, "put a 200000-byte entry");
    count_dir(dir, pool, &entries, &temps);
    is_int(entries, 1, "... one entry in the directory");
    is_int(temps, 0, "... no temporary file left");
    is_int(tw_inbox_open(dir, e.id, &got, &fd, pool), APR_SUCCESS, "open it");
    if (got != NULL && fd >= 0) {
        unsigned char *back = malloc(200001);
        ssize_t n, total = 0;

        while ((n = read(fd, back + total, 200001 - (size_t)total)) > 0)
            total += n;
        close(fd);
        is_int(total, 200000, "... the body is 200000 bytes");
        ok(total == 200000 && memcmp(back, body, 200000) == 0, "... byte for byte");
        free(back);
        is_int(got->attempts, 1, "... attempts 1");
        is_int(got->last_status, 0, "... no status yet");
        is_str(got->path, e.path, "... the path");
        is_int(got->nheaders, 2, "... two headers");
        is_str(got->nheaders ? got->headers[0].value : "", "0123456789abcdef", "... the signature");
        ok(got->received > 0 && got->received <= apr_time_now(), "... received now");
        first = got->received;
    }
    else {
        ok(0, "... (entry could not be opened)");
        first = 0;
    }

    is_int(tw_inbox_set_status(dir, e.id, 502, pool), APR_SUCCESS, "set status 502");
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS, "put a second copy");
    got = NULL;
    is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "open it again");
    is_int(got ? got->attempts : 0, 2, "... attempts 2: one entry for both copies");
    ok(got && got->received == first, "... received is the first copy's");
    is_int(got ? got->last_status : -1, 0, "... the status of the new copy is not known yet");
    is_int(tw_inbox_set_status(dir, e.id, 500, pool), APR_SUCCESS, "set status 500");
    got = NULL;
    tw_inbox_open(dir, e.id, &got, NULL, pool);
    is_int(got ? got->last_status : -1, 500, "... read back 500");
    is_int(got ? got->attempts : 0, 2, "... attempts kept");
    ok(got && got->body_length == 200000, "... body length kept");

    /* a second entry, empty body; then the list */
    {
        tw_inbox_entry_t e2 = e;
        mem_source_t none = { (const unsigned char *)"", 0, -1 };

        key[0] = 0x00;
        tw_inbox_id(key, e2.id);
        e2.nheaders = 0;
        e2.body_length = 0;
        is_int(tw_inbox_put(dir, &e2, mem_source, &none, pool), APR_SUCCESS, "put an empty body");
        /* litter a list must not take for entries */
        apr_file_t *f;
        apr_file_open(&f, apr_pstrcat(pool, dir, "/.leftover.tmp", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE, APR_FPROT_OS_DEFAULT, pool);
        apr_file_close(f);
        apr_file_open(&f, apr_pstrcat(pool, dir, "/notes.txt", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE, APR_FPROT_OS_DEFAULT, pool);
        apr_file_close(f);
        is_int(tw_inbox_list(dir, &list, &bad, pool), APR_SUCCESS, "list");
        is_int(list ? list->nelts : 0, 2, "... two entries");
        is_int(bad, 1, "... one stranger counted as bad (notes.txt), the temporary file ignored");
        ok(list && list->nelts == 2
           && strcmp(APR_ARRAY_IDX(list, 0, tw_inbox_entry_t *)->id, e.id) == 0,
           "... oldest received first");
        is_int(tw_inbox_remove(dir, e2.id, pool), APR_SUCCESS, "remove the empty one");
        ok(APR_STATUS_IS_ENOENT(tw_inbox_remove(dir, e2.id, pool)), "... removing it again: ENOENT");
        ok(APR_STATUS_IS_ENOENT(tw_inbox_set_status(dir, e2.id, 200, pool)),
           "... setting its status: ENOENT");
        apr_file_remove(apr_pstrcat(pool, dir, "/.leftover.tmp", NULL), pool);
        apr_file_remove(apr_pstrcat(pool, dir, "/notes.txt", NULL), pool);
    }

    /* a corrupt entry: cut short */
    {
        const char *path = apr_pstrcat(pool, dir, "/", e.id, NULL);
        apr_finfo_t fi;

        apr_stat(&fi, path, APR_FINFO_SIZE, pool);
        is_int(truncate(path, (off_t)(fi.size - 1)), 0, "cut the entry one byte short");
        is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), TW_INBOX_ECORRUPT, "... open: corrupt");
        is_int(tw_inbox_list(dir, &list, &bad, pool), APR_SUCCESS, "... list still works");
        is_int(list ? list->nelts : -1, 0, "... without it");
        is_int(bad, 1, "... counted as bad");
        is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS,
               "a new copy replaces the corrupt entry");
        got = NULL;
        is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "... which opens again");
        is_int(got ? got->attempts : 0, 1, "... starting over at attempts 1");
    }

    /* the body source fails half-way (a disk error under the spool) */
    src.fail_at = 100000;
    is_int(tw_inbox_remove(dir, e.id, pool), APR_SUCCESS, "remove the entry");
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_FROM_OS_ERROR(EIO), "put with a failing source: EIO");
    count_dir(dir, pool, &entries, &temps);
    is_int(entries, 0, "... no entry");
    is_int(temps, 0, "... no temporary file left");
    src.fail_at = -1;
    src.len = 1000;    /* shorter than announced */
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINCOMPLETE,
           "put with a body shorter than its length: APR_EINCOMPLETE");
    count_dir(dir, pool, &entries, &temps);
    is_int(entries + temps, 0, "... nothing left");

    /* values that may not be stored */
    src.len = 200000;
    e.headers[1].value = "page.updated\nheader Injected: 1";
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINVAL, "a header value with LF: EINVAL");
    e.headers[1].value = "page.updated";
    e.path = "/a b";
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINVAL, "a path with a space: EINVAL");
    e.path = "/hooks";
    memcpy(e.id, "../x", 5);
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINVAL, "an id that is a path: EINVAL");
    tw_inbox_id(key, e.id);

    /* a directory that is not there, or not a directory */
    ok(APR_STATUS_IS_ENOENT(tw_inbox_put(apr_pstrcat(pool, dir, "/missing", NULL), &e,
                                         mem_source, &src, pool)),
       "put into a missing directory: ENOENT");
    {
        const char *file = apr_pstrcat(pool, dir, "/plainfile", NULL);
        apr_file_t *f;

        apr_file_open(&f, file, APR_FOPEN_WRITE | APR_FOPEN_CREATE, APR_FPROT_OS_DEFAULT, pool);
        apr_file_close(f);
        ok(APR_STATUS_IS_ENOTDIR(tw_inbox_put(file, &e, mem_source, &src, pool)),
           "put into a plain file: ENOTDIR");
        apr_file_remove(file, pool);
    }
    if (geteuid() != 0) {
        /* root ignores permissions; t/130_inbox.t checks this under httpd */
        chmod(dir, 0500);
        ok(APR_STATUS_IS_EACCES(tw_inbox_put(dir, &e, mem_source, &src, pool)),
           "put into a read-only directory: EACCES");
        chmod(dir, 0700);
    }
    {
        char msg[128];
        is_str(tw_inbox_strerror(TW_INBOX_ECORRUPT, msg, sizeof(msg)),
               "not a well-formed inbox entry", "tw_inbox_strerror knows TW_INBOX_ECORRUPT");
    }
    is_int(tw_inbox_put(NULL, &e, mem_source, &src, pool), APR_EINVAL, "put with no dir: EINVAL");
    is_int(tw_inbox_list(NULL, &list, NULL, pool), APR_EINVAL, "list with no dir: EINVAL");
    apr_dir_remove(dir, pool);
    free(body);
    apr_pool_destroy(pool);
}

/*
 * Copies of one delivery recorded at the same instant by several
 * processes (httpd's children; twwebhook-inbox beside them), each followed
 * by the status update that comes after the app answered: every copy is
 * counted (the entry is locked across each read-modify-write), and no
 * lock or temporary file is left behind.
 */
#define RACE_PROCS   8
#define RACE_COPIES  40

static int race_child(const char *dir, const tw_inbox_entry_t *e, mem_source_t *src)
{
    apr_pool_t *pool;
    int i, failed = 0;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < RACE_COPIES; i++) {
        if (tw_inbox_put(dir, e, mem_source, src, pool) != APR_SUCCESS)
            failed = 1;
        if (tw_inbox_set_status(dir, e->id, 500 + i % 4, pool) != APR_SUCCESS)
            failed = 1;
        apr_pool_clear(pool);
    }
    return failed;
}

static void test_inbox_concurrent(apr_pool_t *parent, const char *base)
{
    const char *dir = apr_pstrcat(parent, base, "/inbox-race", NULL);
    static const unsigned char body[] = "{\"event\":\"page.updated\"}";
    mem_source_t src = { body, sizeof(body) - 1, -1 };
    unsigned char key[TW_MAC_LEN];
    tw_inbox_entry_t e, *got = NULL;
    pid_t pids[RACE_PROCS];
    int i, failed = 0, entries, temps;
    apr_pool_t *pool;

    apr_pool_create(&pool, parent);
    is_int(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS,
           "race: inbox dir made");
    memset(&e, 0, sizeof(e));
    memset(key, 0x3c, sizeof(key));
    tw_inbox_id(key, e.id);
    e.path = "/hooks/race";
    e.body_length = (apr_off_t)src.len;
    fflush(stdout);     /* the children must not print the parent's buffer again */
    for (i = 0; i < RACE_PROCS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(race_child(dir, &e, &src));
    }
    for (i = 0; i < RACE_PROCS; i++) {
        int wstatus = 0;

        if (pids[i] < 0 || waitpid(pids[i], &wstatus, 0) != pids[i]
            || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
            failed++;
    }
    is_int(failed, 0, "race: every process recorded every copy and status");
    is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "race: the entry opens");
    is_int(got ? (int)got->attempts : -1, RACE_PROCS * RACE_COPIES,
           "race: attempts counts every copy of every process (%d x %d)", RACE_PROCS,
           RACE_COPIES);

    /* twwebhook-inbox redeliver removes only the version it sent */
    {
        tw_inbox_entry_t *seen = got, *again = NULL;

        is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS,
               "a copy comes after the entry was read");
        is_int(seen ? tw_inbox_remove_unchanged(dir, seen, pool) : -1, TW_INBOX_ECHANGED,
               "... removing the version read: TW_INBOX_ECHANGED");
        is_int(tw_inbox_open(dir, e.id, &again, NULL, pool), APR_SUCCESS, "... the entry is kept");
        is_int(again ? (int)again->attempts : -1, RACE_PROCS * RACE_COPIES + 1,
               "... with the new copy counted");
        is_int(again ? tw_inbox_remove_unchanged(dir, again, pool) : -1, APR_SUCCESS,
               "removing the version now read: removed");
        ok(again && APR_STATUS_IS_ENOENT(tw_inbox_remove_unchanged(dir, again, pool)),
           "... and again: ENOENT");
    }
    count_dir(dir, pool, &entries, &temps);
    is_int(entries + temps, 0, "race: no entry, lock or temporary file left");
    apr_dir_remove(dir, pool);
    apr_pool_destroy(pool);
}

/* ---- leases (tw_lease.c) ---------------------------------------------------- */

static void test_lease_values(void)
{
    char node[TW_LEASE_NODE_MAX + 1], value[TW_LEASE_VALUE_MAX + 1];
    tw_lease_t lease, other, parsed;
    size_t len = 0;

    tw_lease_node(node);
    ok(node[0] != '\0' && strchr(node, '/') != NULL && strchr(node, ' ') == NULL,
       "tw_lease_node: boot id and pid namespace, no space");
    is_int(tw_lease_new(&lease, node, 4242), TW_OK, "tw_lease_new: succeeds");
    is_int((long)strlen(lease.token), TW_LEASE_TOKEN_LEN, "... a token of 32 hex digits");
    is_int(tw_lease_new(&other, node, 4242), TW_OK, "a second claim: succeeds");
    ok(strcmp(lease.token, other.token) != 0, "... with another token");
    is_int(tw_lease_format(&lease, value, &len), TW_OK, "tw_lease_format: succeeds");
    is_int((long)len, (long)strlen(value), "... its length");
    ok(strncmp(value, "P1 ", 3) == 0, "... a claim value starts with P1");
    is_int(tw_lease_parse(value, len, &parsed), TW_LEASE_PENDING, "a formatted claim parses as pending");
    is_str(parsed.token, lease.token, "... its token");
    is_str(parsed.node, node, "... its node");
    is_int(parsed.pid, 4242, "... its pid");

    is_int(tw_lease_new(&lease, "", 7), TW_OK, "an unknown node: succeeds");
    is_int(tw_lease_format(&lease, value, &len), TW_OK, "... formats");
    is_int(tw_lease_parse(value, len, &parsed), TW_LEASE_PENDING, "... parses as pending");
    is_str(parsed.node, "", "... with no node");
    is_int(tw_lease_new(&lease, "a b", 1), TW_ERR_ARG, "a node with a space: refused");
    is_int(tw_lease_new(&lease, node, -1), TW_ERR_ARG, "a negative pid: refused");

    is_int(tw_lease_parse("D", 1, &parsed), TW_LEASE_DONE, "\"D\": handled");
    is_int(tw_lease_parse("R", 1, &parsed), TW_LEASE_FREE, "\"R\": released (free)");
    is_int(tw_lease_parse("P", 1, &parsed), TW_LEASE_PENDING, "\"P\": an older version's claim");
    is_str(parsed.token, "", "... with no holder known");
    is_int(tw_lease_parse("", 0, &parsed), TW_LEASE_UNKNOWN, "empty: unknown");
    is_int(tw_lease_parse("DD", 2, &parsed), TW_LEASE_UNKNOWN, "\"DD\": unknown");
    is_int(tw_lease_parse("P1 0123 n 1", 11, &parsed), TW_LEASE_UNKNOWN, "a short token: unknown");
    is_int(tw_lease_parse("P1 0123456789abcdef0123456789abcdeg n 1", 39, &parsed), TW_LEASE_UNKNOWN,
           "a token with a non-hex digit: unknown");
    is_int(tw_lease_parse("P1 0123456789abcdef0123456789abcdef n x", 39, &parsed), TW_LEASE_UNKNOWN,
           "a pid that is no number: unknown");
    is_int(tw_lease_parse("P1 0123456789abcdef0123456789abcdef n 1\0", 40, &parsed),
           TW_LEASE_UNKNOWN, "a NUL inside: unknown");
}

static void test_lease_holder_gone(void)
{
    char node[TW_LEASE_NODE_MAX + 1];
    tw_lease_t lease;
    pid_t child;
    int status;

    tw_lease_node(node);
    is_int(tw_lease_new(&lease, node, (long)getpid()), TW_OK, "a claim of this process");
    ok(!tw_lease_holder_gone(&lease, node), "... this process is alive: not gone");
    ok(!tw_lease_holder_gone(&lease, "another-boot/1"), "... seen from another node: not gone");
    ok(!tw_lease_holder_gone(&lease, ""), "... seen from an unknown node: not gone");

    child = fork();
    if (child == 0)
        _exit(0);
    ok(child > 0, "fork a child that exits at once");
    lease.pid = (long)child;
    usleep(200000);   /* exited, not yet reaped: a zombie */
    ok(tw_lease_holder_gone(&lease, node), "a holder that exited and is not reaped (zombie): gone");
    ok(!tw_lease_holder_gone(&lease, "another-boot/1"), "... but not from another node");
    waitpid(child, &status, 0);
    ok(tw_lease_holder_gone(&lease, node), "a holder reaped (no such process): gone");
    lease.node[0] = '\0';
    ok(!tw_lease_holder_gone(&lease, node), "a holder on an unknown node: never gone on sight");
}

int main(void)
{
    apr_pool_t *pool;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        printf("Bail out! APR initialisation failed\n");
        return 1;
    }
    test_status_str();
    test_hex();
    test_signature();
    test_rfc4231();
    test_github_example();
    test_hmac_args();
    test_key_create();
    test_multi_key();
    test_validators();
    test_event_patterns();
    test_json_args();
    test_json_chunks();
    test_json_documents();
    test_json_depth();
    test_json_scalars();
    test_json_lengths();
    test_json_pointer_valid();
    test_env_names();
    test_replay_key();
    test_lease_values();
    test_lease_holder_gone();
    test_message_digest();
    test_cleanse();
    test_spool(pool);
    test_scheme_status_str();
    test_base64_vectors();
    test_base64_strict();
    test_base64_round_trip();
    test_secret_from_file();
    test_profiles();
    test_profile_key();
    test_timestamp_parse();
    test_timestamp_check();
    test_webhook_id();
    test_scheme_examples();
    test_scheme_candidates();
    test_scheme_malformed();
    test_scheme_sign_examples();
    test_scheme_sign_round_trip();
    test_scheme_sign_errors();
    test_inbox_names();
    test_inbox_parse(pool);
    {
        const char *tmp = NULL;
        char *base;

        apr_temp_dir_get(&tmp, pool);
        base = apr_psprintf(pool, "%s/tw_unit_inbox.%ld", tmp ? tmp : "/tmp", (long)getpid());
        test_inbox_files(pool, base);
        test_inbox_concurrent(pool, base);
        apr_dir_remove(base, pool);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
