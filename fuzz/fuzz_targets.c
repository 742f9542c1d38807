/*
 * fuzz_targets.c - fuzz entry points for the core (see fuzz_targets.h).
 *
 * The references here are written the obvious way on purpose (strlen,
 * strncasecmp, strchr, sscanf): they must not share a bug with the core.
 * Everything runs in the "C" locale (libFuzzer and fuzz_replay never call
 * setlocale), so strncasecmp is plain ASCII.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "twwebhook.h"
#include "fuzz_targets.h"

const tw_fuzz_target_t tw_fuzz_targets[] = {
    { "signature", tw_fuzz_signature },
    { "hex",       tw_fuzz_hex },
    { "verify",    tw_fuzz_verify },
    { "validate",  tw_fuzz_validate },
    { NULL, NULL }
};

static void fail(const char *target, const char *what)
{
    fprintf(stderr, "tw_fuzz_%s: %s\n", target, what);
    abort();
}

/* A NUL-terminated heap copy (the input may hold NULs; C strings stop there). */
static char *copy_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        fail("copy", "out of memory");
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* ---- signature ------------------------------------------------------------- */

static int naive_is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || strchr("0123456789abcdefABCDEF", s[i]) == NULL)
            return 0;
    }
    return 1;
}

/* The header grammar, spelled out: [sha256=]<64 hex digits>. */
static tw_status_t naive_signature_parse(const char *s, unsigned char mac[TW_MAC_LEN])
{
    size_t len = strlen(s), i;
    unsigned int byte;

    if (len == 71 && strncasecmp(s, "sha256=", 7) == 0)
        s += 7;
    else if (len != 64)
        return TW_ERR_SIG_MALFORMED;
    if (!naive_is_hex(s, 64))
        return TW_ERR_SIG_MALFORMED;
    for (i = 0; i < TW_MAC_LEN; i++) {
        char two[3] = { s[2 * i], s[2 * i + 1], '\0' };

        if (sscanf(two, "%2x", &byte) != 1)
            return TW_ERR_SIG_MALFORMED;
        mac[i] = (unsigned char)byte;
    }
    return TW_OK;
}

int tw_fuzz_signature(const uint8_t *data, size_t size)
{
    char *s = copy_string(data, size);
    unsigned char mac[TW_MAC_LEN], ref[TW_MAC_LEN];
    tw_status_t got, want;

    got = tw_signature_parse(s, mac);
    want = naive_signature_parse(s, ref);
    if (got != want)
        fail("signature", "status differs from the naive parser");
    if (got == TW_OK && memcmp(mac, ref, TW_MAC_LEN) != 0)
        fail("signature", "decoded bytes differ from the naive parser");
    if (got != TW_OK && got != TW_ERR_SIG_MALFORMED)
        fail("signature", "a non-NULL value gave neither ok nor malformed");
    free(s);
    return 0;
}

/* ---- hex --------------------------------------------------------------------- */

/* Decodes the input as hex text and, when valid, encodes it back. */
static void hex_text_round_trip(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t n = size / 2, i;
    unsigned char *bytes = malloc(n + 1);
    char *back = malloc(size + 1);
    int valid = size % 2 == 0 && naive_is_hex(text, size);
    tw_status_t st;

    if (bytes == NULL || back == NULL)
        fail("hex", "out of memory");
    st = tw_hex_decode(text, size, bytes, n);
    if ((st == TW_OK) != valid)
        fail("hex", "decode accepted what the reference rejects, or the reverse");
    if (st == TW_OK) {
        if (tw_hex_encode(bytes, n, back, size + 1) != TW_OK)
            fail("hex", "encode of decoded bytes failed");
        for (i = 0; i < size; i++) {
            char c = text[i];

            if (c >= 'A' && c <= 'F')
                c = (char)(c - 'A' + 'a');
            if (back[i] != c)
                fail("hex", "decode/encode round trip changed the text");
        }
        if (n > 0 && tw_hex_decode(text, size, bytes, n - 1) != TW_ERR_ARG)
            fail("hex", "decode into one byte too few did not fail");
    }
    free(bytes);
    free(back);
}

/* Encodes the input bytes and decodes them back. */
static void hex_bytes_round_trip(const uint8_t *data, size_t size)
{
    char *text = malloc(2 * size + 1);
    unsigned char *back = malloc(size + 1);

    if (text == NULL || back == NULL)
        fail("hex", "out of memory");
    memset(text, '#', 2 * size + 1);
    if (tw_hex_encode(data, size, text, 2 * size) != TW_ERR_ARG)
        fail("hex", "encode without room for the NUL did not fail");
    if (text[0] != '#')
        fail("hex", "a failed encode wrote to the buffer");
    if (tw_hex_encode(data, size, text, 2 * size + 1) != TW_OK)
        fail("hex", "encode failed");
    if (strlen(text) != 2 * size)
        fail("hex", "encoded text has the wrong length");
    if (tw_hex_decode(text, 2 * size, back, size) != TW_OK)
        fail("hex", "decode of encoded text failed");
    if (size > 0 && memcmp(back, data, size) != 0)
        fail("hex", "encode/decode round trip changed the bytes");
    free(text);
    free(back);
}

int tw_fuzz_hex(const uint8_t *data, size_t size)
{
    hex_text_round_trip(data, size);
    hex_bytes_round_trip(data, size);
    return 0;
}

/* ---- verify ------------------------------------------------------------------ */

#define VERIFY_MAX_KEYS 4

/* xorshift64, seeded from the input, so a replay takes the same chunk sizes. */
static uint64_t fuzz_rng_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static uint64_t fnv1a(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3ULL;
    return h | 1;   /* xorshift needs a non-zero state */
}

/*
 * Input layout: byte 0 selects the split. Its low 2 bits give the number of
 * keys (1..4); its high 6 bits the key length (1 + 3 * n, so 1..190 bytes,
 * reaching past SHA-256's 64-byte block). Key j is the key length of bytes
 * starting at offset j of the rest (overlapping slices, so keys can also
 * coincide); the body is everything after the last key. The expected MAC
 * is key t's one-shot MAC, t chosen by the input hash; t == nkeys means a
 * corrupted MAC that no key should produce.
 */
int tw_fuzz_verify(const uint8_t *data, size_t size)
{
    unsigned char macs[VERIFY_MAX_KEYS][TW_MAC_LEN], expected[TW_MAC_LEN];
    tw_key_t *keys[VERIFY_MAX_KEYS] = { NULL };
    tw_verifier_t *v = NULL;
    const uint8_t *rest, *body;
    size_t nkeys, key_len, rest_len, body_len, t, want_match, got_match = 99, off, j;
    uint64_t rng;
    tw_status_t st, want_st;

    if (size < 2)
        return 0;
    nkeys = 1 + (data[0] & 3);
    key_len = 1 + 3 * (size_t)(data[0] >> 2);
    rest = data + 1;
    rest_len = size - 1;
    if (key_len > rest_len)
        key_len = rest_len;
    if (nkeys > rest_len - key_len + 1)
        nkeys = rest_len - key_len + 1;
    body = rest + key_len + nkeys - 1;
    body_len = rest_len - key_len - (nkeys - 1);
    rng = fnv1a(data, size);

    for (j = 0; j < nkeys; j++) {
        if (tw_hmac_sha256(rest + j, key_len, body, body_len, macs[j]) != TW_OK)
            fail("verify", "one-shot MAC failed");
        if (tw_key_create(&keys[j], rest + j, key_len) != TW_OK)
            fail("verify", "key creation failed");
    }
    t = (size_t)(fuzz_rng_next(&rng) % (nkeys + 1));
    if (t < nkeys) {
        memcpy(expected, macs[t], TW_MAC_LEN);
    }
    else {
        memcpy(expected, macs[0], TW_MAC_LEN);
        expected[fuzz_rng_next(&rng) % TW_MAC_LEN] ^= (unsigned char)(1 + fuzz_rng_next(&rng) % 255);
    }
    /* The answer the verifier owes: the first key whose MAC is expected. */
    want_match = 0;
    for (j = nkeys; j > 0; j--) {
        if (memcmp(macs[j - 1], expected, TW_MAC_LEN) == 0)
            want_match = j;
    }
    want_st = want_match > 0 ? TW_OK : TW_ERR_SIG_MISMATCH;

    if (tw_verifier_create(&v, (const tw_key_t *const *)keys, nkeys) != TW_OK)
        fail("verify", "verifier creation failed");
    for (off = 0; off < body_len; ) {
        size_t n = 1 + (size_t)(fuzz_rng_next(&rng) % 97);

        if (n > body_len - off)
            n = body_len - off;
        if (tw_verifier_update(v, body + off, n) != TW_OK)
            fail("verify", "verifier update failed");
        off += n;
    }
    st = tw_verifier_finish(v, expected, &got_match);
    if (st != want_st)
        fail("verify", "streaming verifier disagrees with the one-shot MAC");
    if (got_match != want_match)
        fail("verify", "streaming verifier reports the wrong key");

    tw_verifier_destroy(v);
    for (j = 0; j < nkeys; j++)
        tw_key_destroy(keys[j]);
    return 0;
}

/* ---- validate ------------------------------------------------------------------ */

static int naive_is_plain(const char *s, const char *alphabet, size_t max)
{
    size_t len = strlen(s);

    return len >= 1 && len <= max && strspn(s, alphabet) == len;
}

int tw_fuzz_validate(const uint8_t *data, size_t size)
{
    static const char event_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    static const char delivery_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    char *s = copy_string(data, size);

    if (tw_event_is_plain(s) != naive_is_plain(s, event_chars, TW_EVENT_MAX))
        fail("validate", "tw_event_is_plain disagrees with the reference");
    if (tw_delivery_is_plain(s) != naive_is_plain(s, delivery_chars, TW_DELIVERY_MAX))
        fail("validate", "tw_delivery_is_plain disagrees with the reference");
    free(s);
    return 0;
}
