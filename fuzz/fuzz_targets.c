/*
 * SPDX-License-Identifier: Apache-2.0
 * fuzz_targets.c - fuzz entry points for the core (see fuzz_targets.h).
 *
 * The references here are written the obvious way on purpose (strlen,
 * strncasecmp, strchr, sscanf, strtoll, and OpenSSL's EVP_EncodeBlock as the
 * base64 oracle): they must not share a bug with the core.
 * Everything runs in the "C" locale (libFuzzer and fuzz_run_inputs never call
 * setlocale), so strncasecmp is plain ASCII.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json_object.h>
#include <json-c/json_pointer.h>
#include <json-c/json_tokener.h>

#include <openssl/evp.h>

#include "twwebhook.h"
#include "tw/sign.h"
#include "fuzz_targets.h"

const tw_fuzz_target_t tw_fuzz_targets[] = {
    { "signature", tw_fuzz_signature },
    { "hex",       tw_fuzz_hex },
    { "verify",    tw_fuzz_verify },
    { "validate",  tw_fuzz_validate },
    { "json",      tw_fuzz_json },
    { "events",    tw_fuzz_events },
    { "base64",    tw_fuzz_base64 },
    { "scheme",    tw_fuzz_scheme },
    { "secret",    tw_fuzz_secret },
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

/*
 * The event rule the plain way: the alphabet by strspn, then no two
 * separators in a row by strstr, then the first character by isalnum.
 */
static int naive_event_ok(const char *s, int wildcards)
{
    static const char event_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/";
    static const char pattern_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/*";
    static const char *const pairs[] = { "..", "./", "/.", "//" };
    size_t k;

    if (!naive_is_plain(s, wildcards ? pattern_chars : event_chars, TW_EVENT_MAX))
        return 0;
    for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
        if (strstr(s, pairs[k]) != NULL)
            return 0;
    return isalnum((unsigned char)s[0]) || (wildcards && s[0] == '*');
}

int tw_fuzz_validate(const uint8_t *data, size_t size)
{
    static const char delivery_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    char *s = copy_string(data, size);

    if (tw_event_is_plain(s) != naive_event_ok(s, 0))
        fail("validate", "tw_event_is_plain disagrees with the reference");
    if (tw_delivery_is_plain(s) != naive_is_plain(s, delivery_chars, TW_DELIVERY_MAX))
        fail("validate", "tw_delivery_is_plain disagrees with the reference");
    free(s);
    return 0;
}

/* ---- json ------------------------------------------------------------------------ */

/* JSON whitespace (RFC 8259): not \v, not \f. */
static int naive_json_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * A naive RFC 8259 validator: recursive descent over the grammar as the RFC
 * writes it, with json-c's depth rule (a value's level is the number of
 * values on the path from the root to it, itself included; at most
 * TW_JSON_MAX_DEPTH). Returns 1 when s[0..n) is exactly one JSON text.
 */
struct naive_json {
    const uint8_t *s;
    size_t n, i;
};

static int nj_peek(const struct naive_json *j)
{
    return j->i < j->n ? j->s[j->i] : -1;
}

static void nj_ws(struct naive_json *j)
{
    while (j->i < j->n && naive_json_ws(j->s[j->i]))
        j->i++;
}

static int nj_digits(struct naive_json *j)
{
    size_t start = j->i;

    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
        j->i++;
    return j->i > start;
}

/* number = [ minus ] int [ frac ] [ exp ] */
static int nj_number(struct naive_json *j)
{
    if (nj_peek(j) == '-')
        j->i++;
    if (nj_peek(j) == '0')
        j->i++;
    else if (nj_peek(j) >= '1' && nj_peek(j) <= '9')
        nj_digits(j);
    else
        return 0;
    if (nj_peek(j) == '.') {
        j->i++;
        if (!nj_digits(j))
            return 0;
    }
    if (nj_peek(j) == 'e' || nj_peek(j) == 'E') {
        j->i++;
        if (nj_peek(j) == '+' || nj_peek(j) == '-')
            j->i++;
        if (!nj_digits(j))
            return 0;
    }
    return 1;
}

static int nj_string(struct naive_json *j)
{
    int k;

    j->i++;   /* the opening quote */
    while (j->i < j->n) {
        uint8_t c = j->s[j->i++];

        if (c == '"')
            return 1;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (j->i >= j->n)
                return 0;
            c = j->s[j->i++];
            if (c == 'u') {
                for (k = 0; k < 4; k++, j->i++)
                    if (j->i >= j->n || strchr("0123456789abcdefABCDEF", j->s[j->i]) == NULL
                        || j->s[j->i] == '\0')
                        return 0;
            }
            else if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL)
                return 0;
        }
    }
    return 0;
}

static int nj_literal(struct naive_json *j, const char *word)
{
    size_t len = strlen(word);

    if (j->n - j->i < len || memcmp(j->s + j->i, word, len) != 0)
        return 0;
    j->i += len;
    return 1;
}

/* One value at the given level (1 for the root), with the whitespace around it. */
static int nj_value(struct naive_json *j, int level)
{
    int c, first = 1;

    if (level > TW_JSON_MAX_DEPTH)
        return 0;
    nj_ws(j);
    c = nj_peek(j);
    if (c == '{' || c == '[') {
        int close = c == '{' ? '}' : ']';

        j->i++;
        nj_ws(j);
        if (nj_peek(j) == close) {
            j->i++;
            nj_ws(j);
            return 1;
        }
        for (;;) {
            if (!first) {
                if (nj_peek(j) != ',')
                    return 0;
                j->i++;
            }
            first = 0;
            if (close == '}') {
                nj_ws(j);
                if (nj_peek(j) != '"' || !nj_string(j))
                    return 0;
                nj_ws(j);
                if (nj_peek(j) != ':')
                    return 0;
                j->i++;
            }
            if (!nj_value(j, level + 1))
                return 0;
            if (nj_peek(j) == close) {
                j->i++;
                nj_ws(j);
                return 1;
            }
        }
    }
    if (c == '"') {
        if (!nj_string(j))
            return 0;
    }
    else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!nj_number(j))
            return 0;
    }
    else if (!nj_literal(j, "true") && !nj_literal(j, "false") && !nj_literal(j, "null")) {
        return 0;
    }
    nj_ws(j);
    return 1;
}

static int naive_json_valid(const uint8_t *s, size_t n)
{
    struct naive_json j;

    j.s = s;
    j.n = n;
    j.i = 0;
    return nj_value(&j, 1) && j.i == n;
}

/*
 * The reference for what tw_json calls ambiguous, written the slow way: a
 * second descent over a document the validator above accepted, decoding
 * every string to code points (raw UTF-8 and \u escapes, pairs joined) and
 * comparing each object's names pairwise. Ambiguous: a repeated name, a
 * name holding U+0000, a lone surrogate anywhere. Not UTF-8 at all: *bad.
 */
struct naive_amb {
    const uint8_t *s;
    size_t n, i;
    int ambiguous, bad;
};

/* Decodes the string at a->i (its opening quote) into cp (room for a->n). */
static size_t na_string(struct naive_amb *a, uint32_t *cp)
{
    size_t len = 0;

    a->i++;
    while (a->i < a->n && a->s[a->i] != '"') {
        uint32_t c = a->s[a->i++];

        if (c == '\\') {
            uint8_t e = a->s[a->i++];
            if (e != 'u') {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                c = (uint8_t)to[strchr(from, e) - from];
            }
            else {
                char hex[5] = { 0 };
                memcpy(hex, a->s + a->i, 4);
                a->i += 4;
                c = (uint32_t)strtoul(hex, NULL, 16);
            }
        }
        else if (c >= 0x80) {
            int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
            uint32_t min = more == 3 ? 0x10000 : more == 2 ? 0x800 : 0x80;
            int k;

            if (more < 0 || c >= 0xF8) {
                a->bad = 1;
                return len;
            }
            c &= 0x3Fu >> more;
            for (k = 0; k < more; k++) {
                if (a->i >= a->n || (a->s[a->i] & 0xC0) != 0x80) {
                    a->bad = 1;
                    return len;
                }
                c = (c << 6) | (a->s[a->i++] & 0x3F);
            }
            if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                a->bad = 1;
            cp[len++] = c;
            continue;
        }
        cp[len++] = c;
    }
    a->i++;   /* the closing quote */
    /* surrogates from escapes: pairs in order, nothing else */
    {
        size_t r, w = 0;
        for (r = 0; r < len; r++) {
            uint32_t c = cp[r];
            if (c >= 0xD800 && c <= 0xDBFF && r + 1 < len && cp[r + 1] >= 0xDC00
                && cp[r + 1] <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (cp[r + 1] - 0xDC00);
                r++;
            }
            else if (c >= 0xD800 && c <= 0xDFFF) {
                a->ambiguous = 1;
            }
            cp[w++] = c;
        }
        len = w;
    }
    return len;
}

static void na_ws(struct naive_amb *a)
{
    while (a->i < a->n && naive_json_ws(a->s[a->i]))
        a->i++;
}

static void na_value(struct naive_amb *a)
{
    uint8_t c;

    na_ws(a);
    if (a->bad || a->i >= a->n) {   /* not UTF-8: stop where it stopped */
        a->bad = 1;
        return;
    }
    c = a->s[a->i];
    if (c == '{' || c == '[') {
        uint32_t **names = NULL;
        size_t *lens = NULL, count = 0, k;

        a->i++;
        na_ws(a);
        while (!a->bad && a->i < a->n && a->s[a->i] != (c == '{' ? '}' : ']')) {
            if (a->s[a->i] == ',')
                a->i++;
            if (c == '{') {
                uint32_t *cp;
                size_t len;

                na_ws(a);
                cp = malloc((a->n + 1) * sizeof(*cp));
                names = realloc(names, (count + 1) * sizeof(*names));
                lens = realloc(lens, (count + 1) * sizeof(*lens));
                if (cp == NULL || names == NULL || lens == NULL)
                    fail("json", "out of memory");
                len = na_string(a, cp);
                for (k = 0; k < len; k++)
                    if (cp[k] == 0)
                        a->ambiguous = 1;
                for (k = 0; k < count; k++)
                    if (lens[k] == len && memcmp(names[k], cp, len * sizeof(*cp)) == 0)
                        a->ambiguous = 1;
                names[count] = cp;
                lens[count++] = len;
                if (a->bad)
                    break;
                na_ws(a);
                a->i++;   /* ':' */
            }
            na_value(a);
        }
        a->i++;
        for (k = 0; k < count; k++)
            free(names[k]);
        free(names);
        free(lens);
    }
    else if (c == '"') {
        uint32_t *cp = malloc((a->n + 1) * sizeof(*cp));
        if (cp == NULL)
            fail("json", "out of memory");
        na_string(a, cp);
        free(cp);
    }
    else {
        while (a->i < a->n && strchr(",]} \t\n\r", a->s[a->i]) == NULL)
            a->i++;
    }
    na_ws(a);
}

/* For a document naive_json_valid accepts: 1 ambiguous, 0 not, -1 not UTF-8. */
static int naive_json_ambiguous(const uint8_t *s, size_t n)
{
    struct naive_amb a = { s, n, 0, 0, 0 };

    na_value(&a);
    return a.bad ? -1 : a.ambiguous;
}

/* 1 when s[0..n) is an RFC 8259 number, nothing else. */
static int naive_json_number(const char *s, size_t n)
{
    struct naive_json j;

    j.s = (const uint8_t *)s;
    j.n = n;
    j.i = 0;
    return nj_number(&j) && j.i == n;
}

/*
 * The reference verdict: json-c parsing the whole input in one call (with
 * its terminating NUL, which ends a top-level number), with tw_json's depth
 * and flags; then only JSON whitespace may follow. *pobj gets the value.
 */
static int jsonc_one_shot(const uint8_t *data, size_t size, struct json_object **pobj)
{
    struct json_tokener *tok = json_tokener_new_ex(TW_JSON_MAX_DEPTH);
    char *copy = copy_string(data, size);
    size_t end, i;
    int valid;

    if (tok == NULL || size > INT32_MAX - 1)
        fail("json", "json_tokener_new_ex failed, or input too large");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    *pobj = json_tokener_parse_ex(tok, copy, (int)size + 1);
    valid = json_tokener_get_error(tok) == json_tokener_success;
    end = json_tokener_get_parse_end(tok);
    if (valid && end > size)
        valid = 0;
    for (i = end; valid && i < size; i++)
        if (!naive_json_ws(data[i]))
            valid = 0;
    if (!valid && *pobj != NULL) {
        json_object_put(*pobj);
        *pobj = NULL;
    }
    json_tokener_free(tok);
    free(copy);
    return valid;
}

/* What tw_json_get_scalar owes for pointer, worked out from json-c's value. */
static tw_status_t expected_scalar(struct json_object *doc, const char *pointer, size_t cap,
                                   const char **ptext, size_t *plen)
{
    struct json_object *v = NULL;
    const char *text;
    size_t len, i;

    *ptext = "";
    *plen = 0;
    if (doc == NULL)   /* a valid document that is null */
        return pointer[0] == '\0' ? TW_ERR_JSON_NOT_SCALAR : TW_ERR_JSON_NOT_FOUND;
    if (json_pointer_get(doc, pointer, &v) != 0)
        return TW_ERR_JSON_NOT_FOUND;
    switch (json_object_get_type(v)) {
    case json_type_string:
        text = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        break;
    case json_type_int:
        if (json_object_get_int64(v) == INT64_MIN || json_object_get_uint64(v) == UINT64_MAX)
            return TW_ERR_JSON_UNSAFE_VALUE;
        /* fall through */
    case json_type_double:
    case json_type_boolean:
        text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        len = strlen(text);
        break;
    default:
        return TW_ERR_JSON_NOT_SCALAR;
    }
    if (len >= cap || len > TW_JSON_VALUE_MAX)
        return TW_ERR_JSON_UNSAFE_VALUE;
    for (i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            return TW_ERR_JSON_UNSAFE_VALUE;
    *ptext = text;
    *plen = len;
    return TW_OK;
}

/* Appends token to pointer as one RFC 6901 reference token ("/" + escaped). */
static void pointer_append(char *pointer, size_t cap, const uint8_t *token, size_t len)
{
    size_t at = strlen(pointer), i;

    if (at + 1 + 2 * len + 1 > cap)
        return;
    pointer[at++] = '/';
    for (i = 0; i < len; i++) {
        if (token[i] == '~' || token[i] == '/') {
            pointer[at++] = '~';
            pointer[at++] = token[i] == '~' ? '0' : '1';
        }
        else {
            pointer[at++] = (char)token[i];
        }
    }
    pointer[at] = '\0';
}

#define JSON_FUZZ_TOKENS 4
#define JSON_FUZZ_TOKEN_MAX 32

/*
 * Pointers worth asking for: built from the first few plain quoted strings
 * of the input (no backslash, no control character), which are likely keys.
 */
static size_t json_fuzz_pointers(const uint8_t *doc, size_t size,
                                 char pointers[][4 * JSON_FUZZ_TOKEN_MAX * 2 + 16], size_t max)
{
    const uint8_t *tok[JSON_FUZZ_TOKENS];
    size_t tok_len[JSON_FUZZ_TOKENS], ntok = 0, np = 0, i, j;

    for (i = 0; i < size && ntok < JSON_FUZZ_TOKENS; i++) {
        if (doc[i] != '"')
            continue;
        for (j = i + 1; j < size && doc[j] != '"' && doc[j] != '\\' && doc[j] >= 0x20
             && j - i <= JSON_FUZZ_TOKEN_MAX; j++)
            ;
        if (j < size && doc[j] == '"') {
            tok[ntok] = doc + i + 1;
            tok_len[ntok++] = j - i - 1;
        }
        i = j;
    }
#define PTR_NEW() (pointers[np][0] = '\0', np++)
    PTR_NEW();                                        /* "" */
    PTR_NEW(); pointer_append(pointers[np - 1], sizeof(pointers[0]), (const uint8_t *)"0", 1);
    PTR_NEW(); pointer_append(pointers[np - 1], sizeof(pointers[0]), (const uint8_t *)"", 0);
    for (i = 0; i < ntok && np + 3 <= max; i++) {
        PTR_NEW(); pointer_append(pointers[np - 1], sizeof(pointers[0]), tok[i], tok_len[i]);
        PTR_NEW(); pointer_append(pointers[np - 1], sizeof(pointers[0]), tok[i], tok_len[i]);
        pointer_append(pointers[np - 1], sizeof(pointers[0]), (const uint8_t *)"0", 1);
        /* The path through all tokens so far (nested keys). */
        PTR_NEW();
        for (j = 0; j <= i; j++)
            pointer_append(pointers[np - 1], sizeof(pointers[0]), tok[j], tok_len[j]);
    }
#undef PTR_NEW
    return np;
}

/*
 * Input layout: byte 0 chooses how the rest, the document, is fed: its low
 * 2 bits select whole (0), byte by byte (1), fixed chunks of
 * 1 + (byte 0 >> 2) bytes (2), or chunks of 1..32 bytes drawn from the
 * input's hash (3); its high bits also give a small out_cap for lookups.
 *
 * The verdict of tw_json fed that way must be that of json-c parsing the
 * whole document in one call with the same flags and depth, narrowed by a
 * naive RFC 8259 validator (JSON_TOKENER_STRICT lets some non-JSON
 * through, which tw_json refuses). Then scalars are looked up at pointers
 * taken from the document, and compared with what json-c's one-shot value
 * says they must be; any value returned is checked for control characters
 * and length.
 */
int tw_fuzz_json(const uint8_t *data, size_t size)
{
    char pointers[3 + 3 * JSON_FUZZ_TOKENS][4 * JSON_FUZZ_TOKEN_MAX * 2 + 16];
    const uint8_t *doc;
    struct json_object *ref = NULL;
    tw_json_t *json = NULL;
    size_t doc_len, off = 0, np, i, c, caps[2];
    uint64_t rng;
    tw_status_t st;
    int mode, want, rfc, amb;
    char *out;

    if (size < 1)
        return 0;
    mode = data[0] & 3;
    doc = data + 1;
    doc_len = size - 1;
    rng = fnv1a(data, size);

    if (tw_json_create(&json) != TW_OK)
        fail("json", "tw_json_create failed");
    for (st = TW_OK; st == TW_OK && off < doc_len; ) {
        size_t n = mode == 0 ? doc_len : mode == 1 ? 1 : mode == 2 ? 1 + (size_t)(data[0] >> 2)
                 : 1 + (size_t)(fuzz_rng_next(&rng) % 32);

        if (n > doc_len - off)
            n = doc_len - off;
        st = tw_json_feed(json, doc + off, n);
        off += n;
    }
    if (st == TW_OK)
        st = tw_json_finish(json);
    if (st != TW_OK && st != TW_ERR_JSON_INVALID && st != TW_ERR_JSON_AMBIGUOUS)
        fail("json", "feed/finish gave neither ok, invalid nor ambiguous");

    want = jsonc_one_shot(doc, doc_len, &ref);
    rfc = naive_json_valid(doc, doc_len);
    amb = rfc ? naive_json_ambiguous(doc, doc_len) : 0;
    if (amb < 0)
        rfc = 0;   /* not UTF-8: not JSON (json-c's one-shot does not check) */
    if ((st != TW_ERR_JSON_INVALID) != (want && rfc)
        || (st != TW_ERR_JSON_INVALID && (st == TW_ERR_JSON_AMBIGUOUS) != (amb == 1))) {
        fprintf(stderr, "tw_json: %s, json-c one-shot: %s, naive RFC 8259: %s, naive "
                "ambiguity: %d (mode %d)\n", tw_status_str(st), want ? "valid" : "invalid",
                rfc ? "valid" : "invalid", amb, mode);
        fail("json", "chunked verdict differs from the one-shot references");
    }
    if (st == TW_ERR_JSON_AMBIGUOUS) {   /* nothing is looked up in such a body */
        tw_json_destroy(json);
        json_object_put(ref);
        return 0;
    }

    np = json_fuzz_pointers(doc, doc_len, pointers, sizeof(pointers) / sizeof(pointers[0]));
    caps[0] = TW_JSON_VALUE_MAX + 1;
    caps[1] = 1 + (size_t)(data[0] >> 2) % 16;
    out = malloc(TW_JSON_VALUE_MAX + 2);
    if (out == NULL)
        fail("json", "out of memory");
    for (i = 0; i < np; i++) {
        for (c = 0; c < 2; c++) {
            const char *want_text;
            size_t len = 99, want_len, k;
            tw_status_t got, exp;

            memset(out, '#', TW_JSON_VALUE_MAX + 2);
            got = tw_json_get_scalar(json, pointers[i], out, caps[c], &len);
            if (got == TW_OK) {
                if (len >= caps[c] || len > TW_JSON_VALUE_MAX || out[len] != '\0')
                    fail("json", "a value longer than allowed, or not NUL-terminated");
                for (k = 0; k < len; k++)
                    if ((unsigned char)out[k] < 0x20 || out[k] == 0x7f)
                        fail("json", "a value with a control character");
            }
            else if (len != 0 || out[0] != '\0') {
                fail("json", "a failed lookup left a value behind");
            }
            if (st != TW_OK) {
                if (got != TW_ERR_JSON_INVALID)
                    fail("json", "a lookup in an invalid document did not say invalid");
                continue;
            }
            exp = expected_scalar(ref, pointers[i], caps[c], &want_text, &want_len);
            if (got != exp) {
                fprintf(stderr, "pointer \"%s\" cap %zu: got %s, expected %s\n", pointers[i],
                        caps[c], tw_status_str(got), tw_status_str(exp));
                fail("json", "get_scalar disagrees with json-c's one-shot value");
            }
            if (got == TW_OK && (len != want_len || memcmp(out, want_text, len) != 0))
                fail("json", "get_scalar gave other bytes than json-c's one-shot value");
            /* A number from a valid document is exported as an RFC 8259 number. */
            if (got == TW_OK) {
                struct json_object *v = NULL;

                if (json_pointer_get(ref, pointers[i], &v) == 0
                    && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
                    && !naive_json_number(out, len))
                    fail("json", "an exported number is not an RFC 8259 number");
            }
        }
    }
    free(out);
    json_object_put(ref);
    tw_json_destroy(json);
    return 0;
}

/* ---- events ------------------------------------------------------------------------ */

/*
 * The reference glob, the recursive definition ('*' matches nothing, or
 * one more character; letters match either case), memoised so that "*a*a*a*a..." stays polynomial.
 * memo[pi * (elen + 1) + ei]: 0 unknown, 1 no, 2 yes.
 */
static int naive_glob(const char *p, size_t pi, size_t plen, const char *e, size_t ei, size_t elen,
                      unsigned char *memo)
{
    unsigned char *m = &memo[pi * (elen + 1) + ei];
    int r;

    if (*m != 0)
        return *m == 2;
    if (pi == plen)
        r = ei == elen;
    else if (p[pi] == '*')
        r = naive_glob(p, pi + 1, plen, e, ei, elen, memo)
            || (ei < elen && naive_glob(p, pi, plen, e, ei + 1, elen, memo));
    else
        r = ei < elen && tolower((unsigned char)p[pi]) == tolower((unsigned char)e[ei])
            && naive_glob(p, pi + 1, plen, e, ei + 1, elen, memo);
    *m = r ? 2 : 1;
    return r;
}

/*
 * Input layout: the pattern, a NUL, the event (up to the next NUL or the
 * end); no NUL means an empty event. Both validators are compared with
 * strspn references, and tw_event_matches with the recursive glob when
 * both sides are valid (what the module ever passes it).
 */
int tw_fuzz_events(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t plen = nul != NULL ? (size_t)(nul - data) : size;
    char *pattern = copy_string(data, plen);
    char *event = nul != NULL ? copy_string(nul + 1, size - plen - 1) : copy_string(data, 0);
    int pattern_ok = tw_event_pattern_is_valid(pattern);
    int event_ok = tw_event_is_plain(event);

    if (pattern_ok != naive_event_ok(pattern, 1))
        fail("events", "tw_event_pattern_is_valid disagrees with the reference");
    if (event_ok != naive_event_ok(event, 0))
        fail("events", "tw_event_is_plain disagrees with the reference");
    if (pattern_ok && event_ok) {
        size_t pl = strlen(pattern), el = strlen(event);
        unsigned char *memo = calloc((pl + 1) * (el + 1), 1);
        int want, got;

        if (memo == NULL)
            fail("events", "out of memory");
        want = naive_glob(pattern, 0, pl, event, 0, el, memo);
        got = tw_event_matches(pattern, event);
        if (got != want) {
            fprintf(stderr, "pattern \"%s\" event \"%s\": got %d, expected %d\n", pattern, event, got, want);
            fail("events", "tw_event_matches disagrees with the recursive glob");
        }
        free(memo);
    }
    free(pattern);
    free(event);
    return 0;
}

/* ---- base64 ------------------------------------------------------------------------ */

static const char naive_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * The strict rule, the obvious way: decode leniently with a bit
 * accumulator, then demand that OpenSSL's encoder gives back exactly the
 * input (which rules out bad padding and non-zero unused bits at once).
 * Returns the decoded length, or -1.
 */
static long naive_base64_decode(const char *s, size_t n, unsigned char *out)
{
    unsigned long acc = 0;
    size_t i, pad = 0, len = 0;
    int bits = 0;
    unsigned char *check;
    int ok;

    if (n % 4 != 0)
        return -1;
    for (i = 0; i < n; i++) {
        const char *at;

        if (s[i] == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || s[i] == '\0' || (at = strchr(naive_b64_alphabet, s[i])) == NULL)
            return -1;
        acc = (acc << 6 | (unsigned long)(at - naive_b64_alphabet)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    if (pad > 2)
        return -1;
    check = malloc(n + 1);
    if (check == NULL)
        fail("base64", "out of memory");
    ok = EVP_EncodeBlock(check, out, (int)len) == (int)n && memcmp(check, s, n) == 0;
    free(check);
    return ok ? (long)len : -1;
}

int tw_fuzz_base64(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    unsigned char *got = malloc(size + 1), *want = malloc(size + 1);
    char *enc = malloc(TW_BASE64_LEN(size) + 1), *ref = malloc(TW_BASE64_LEN(size) + 1);
    long want_len;
    size_t got_len = 99;
    tw_status_t st;

    if (got == NULL || want == NULL || enc == NULL || ref == NULL || size > 65536)
        fail("base64", "out of memory, or input too large");
    /* The input as base64 text. */
    want_len = naive_base64_decode(text, size, want);
    st = tw_base64_decode(text, size, got, size, &got_len);
    if ((st == TW_OK) != (want_len >= 0))
        fail("base64", "decode accepted what the reference rejects, or the reverse");
    if (st == TW_OK) {
        if (got_len != (size_t)want_len || (got_len > 0 && memcmp(got, want, got_len) != 0))
            fail("base64", "decoded bytes differ from the reference");
        if (got_len > 0 && tw_base64_decode(text, size, got, got_len - 1, &got_len) != TW_ERR_ARG)
            fail("base64", "decode into one byte too few did not fail");
    }
    else if (got_len != 0) {
        fail("base64", "a failed decode left *plen non-zero");
    }
    /* The input as bytes. */
    if (tw_base64_encode(data, size, enc, TW_BASE64_LEN(size)) != TW_ERR_ARG)
        fail("base64", "encode without room for the NUL did not fail");
    if (tw_base64_encode(data, size, enc, TW_BASE64_LEN(size) + 1) != TW_OK)
        fail("base64", "encode failed");
    EVP_EncodeBlock((unsigned char *)ref, data, (int)size);
    if (strcmp(enc, ref) != 0)
        fail("base64", "encode differs from OpenSSL's EVP_EncodeBlock");
    if (tw_base64_decode(enc, strlen(enc), got, size, &got_len) != TW_OK || got_len != size
        || (size > 0 && memcmp(got, data, size) != 0))
        fail("base64", "encode/decode round trip changed the bytes");
    free(got);
    free(want);
    free(enc);
    free(ref);
    return 0;
}

/* ---- scheme ------------------------------------------------------------------------ */

/* Everything naive_scheme_parse decides, to compare with a tw_signed_t. */
struct naive_signed {
    tw_status_t st;
    unsigned char cands[TW_CANDIDATES_MAX][TW_MAC_LEN];
    size_t ncands;
    char prefix[TW_SIGNED_PREFIX_MAX];
    int has_ts;
    long long ts;
};

static int naive_hex64(const char *s, unsigned char mac[TW_MAC_LEN])
{
    size_t i;
    unsigned int byte;

    if (strlen(s) != 64 || !naive_is_hex(s, 64))
        return 0;
    for (i = 0; i < TW_MAC_LEN; i++) {
        char two[3] = { s[2 * i], s[2 * i + 1], '\0' };

        if (sscanf(two, "%2x", &byte) != 1)
            return 0;
        mac[i] = (unsigned char)byte;
    }
    return 1;
}

static int naive_b64_mac(const char *s, unsigned char mac[TW_MAC_LEN])
{
    unsigned char buf[64];

    if (strlen(s) != 44)
        return 0;
    if (naive_base64_decode(s, 44, buf) != TW_MAC_LEN)
        return 0;
    memcpy(mac, buf, TW_MAC_LEN);
    return 1;
}

/* 1..13 digits, no leading zero, at most 10^12. */
static int naive_ts(const char *s, long long *v)
{
    size_t n = strlen(s);

    if (n < 1 || n > 13 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
        return 0;
    *v = strtoll(s, NULL, 10);
    return *v <= 1000000000000LL;
}

static int naive_id(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= TW_ID_MAX
        && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* tag [a-z0-9]{1,16}, value 1..TW_SIG_ENTRY_MAX of 0x21..0x7e but ','. */
static int naive_entry(const char *tag, size_t tag_len, const char *value)
{
    size_t n = strlen(value), i;

    if (tag_len < 1 || tag_len > 16 || strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789") < tag_len)
        return 0;
    if (n < 1 || n > TW_SIG_ENTRY_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        if (value[i] <= 0x20 || value[i] >= 0x7f || value[i] == ',')
            return 0;
    }
    return 1;
}

/*
 * Splits list (modified in place) at sep into at most max + 1 pieces;
 * returns the count, or -1 when a piece is empty.
 */
static int naive_split(char *list, char sep, char **pieces, int max)
{
    int n = 0;
    char *p = list, *next;

    for (;;) {
        next = strchr(p, sep);
        if (next != NULL)
            *next = '\0';
        if (*p == '\0')
            return -1;
        if (n <= max)
            pieces[n] = p;
        n++;
        if (next == NULL)
            return n;
        p = next + 1;
    }
}

static tw_status_t naive_standard_webhooks(char *sig, struct naive_signed *r)
{
    char *pieces[TW_CANDIDATES_MAX + 1];
    int n = naive_split(sig, ' ', pieces, TW_CANDIDATES_MAX), i;

    if (n < 1 || n > TW_CANDIDATES_MAX)
        return TW_ERR_SIG_MALFORMED;
    for (i = 0; i < n; i++) {
        char *comma = strchr(pieces[i], ',');

        if (comma == NULL)
            return TW_ERR_SIG_MALFORMED;
        *comma = '\0';
        if (!naive_entry(pieces[i], strlen(pieces[i]), comma + 1))
            return TW_ERR_SIG_MALFORMED;
        if (strcmp(pieces[i], "v1") == 0 && !naive_b64_mac(comma + 1, r->cands[r->ncands++]))
            return TW_ERR_SIG_MALFORMED;
    }
    return r->ncands > 0 ? TW_OK : TW_ERR_SIG_MALFORMED;
}

static tw_status_t naive_stripe(char *sig, struct naive_signed *r, const char **t)
{
    char *pieces[2 * TW_CANDIDATES_MAX + 2];
    int n = naive_split(sig, ',', pieces, 2 * TW_CANDIDATES_MAX + 1), i, others = 0, ts_count = 0;

    *t = NULL;
    if (n < 1 || n > 2 * TW_CANDIDATES_MAX + 1)
        return TW_ERR_SIG_MALFORMED;
    for (i = 0; i < n; i++) {
        char *eq = strchr(pieces[i], '=');

        if (eq == NULL)
            return TW_ERR_SIG_MALFORMED;
        *eq = '\0';
        if (!naive_entry(pieces[i], strlen(pieces[i]), eq + 1))
            return TW_ERR_SIG_MALFORMED;
        if (strcmp(pieces[i], "t") == 0) {
            if (++ts_count > 1)
                return TW_ERR_SIG_MALFORMED;
            *t = eq + 1;
            continue;
        }
        if (++others > TW_CANDIDATES_MAX)
            return TW_ERR_SIG_MALFORMED;
        if (strcmp(pieces[i], "v1") == 0 && !naive_hex64(eq + 1, r->cands[r->ncands++]))
            return TW_ERR_SIG_MALFORMED;
    }
    return r->ncands > 0 ? TW_OK : TW_ERR_SIG_MALFORMED;
}

/* The whole of tw_scheme_parse, by profile name rather than by its fields. */
static void naive_scheme_parse(const tw_profile_t *p, const char *sig_in, const char *ts_in,
                               const char *id, struct naive_signed *r)
{
    const char *name = p->name, *ts = ts_in;
    char *sig;

    memset(r, 0, sizeof(*r));
    if (sig_in == NULL) {
        r->st = TW_ERR_SIG_MISSING;
        return;
    }
    sig = strdup(sig_in);
    if (sig == NULL)
        fail("scheme", "out of memory");
    if (strncmp(name, "teamwork", 8) == 0) {
        r->st = naive_signature_parse(sig, r->cands[0]);
        r->ncands = 1;
    }
    else if (strcmp(name, "github") == 0 || strcmp(name, "slack") == 0) {
        const char *pre = name[0] == 'g' ? "sha256=" : "v0=";

        r->st = strncmp(sig, pre, strlen(pre)) == 0 && naive_hex64(sig + strlen(pre), r->cands[0])
            ? TW_OK : TW_ERR_SIG_MALFORMED;
        r->ncands = 1;
    }
    else if (strcmp(name, "shopify") == 0) {
        r->st = naive_b64_mac(sig, r->cands[0]) ? TW_OK : TW_ERR_SIG_MALFORMED;
        r->ncands = 1;
    }
    else if (strcmp(name, "standard-webhooks") == 0) {
        r->st = naive_standard_webhooks(sig, r);
    }
    else if (strcmp(name, "stripe") == 0) {
        r->st = naive_stripe(sig, r, &ts);
    }
    else {
        fail("scheme", "a profile the reference does not know: teach it");
    }

    if (r->st == TW_OK && (strcmp(name, "standard-webhooks") == 0 || strcmp(name, "stripe") == 0
                           || strcmp(name, "slack") == 0)) {
        r->has_ts = 1;
        if (ts == NULL)
            r->st = TW_ERR_TS_MISSING;
        else if (!naive_ts(ts, &r->ts))
            r->st = TW_ERR_TS_MALFORMED;
    }
    if (r->st == TW_OK && strcmp(name, "standard-webhooks") == 0) {
        if (id == NULL)
            r->st = TW_ERR_ID_MISSING;
        else if (!naive_id(id))
            r->st = TW_ERR_ID_MALFORMED;
    }
    if (r->st == TW_OK) {
        if (strcmp(name, "standard-webhooks") == 0)
            snprintf(r->prefix, sizeof(r->prefix), "%s.%lld.", id, r->ts);
        else if (strcmp(name, "stripe") == 0)
            snprintf(r->prefix, sizeof(r->prefix), "%lld.", r->ts);
        else if (strcmp(name, "slack") == 0)
            snprintf(r->prefix, sizeof(r->prefix), "v0:%lld:", r->ts);
    }
    free(sig);
}

/* Up to three NUL-separated strings from data; missing ones are "". */
static void split_fields(const uint8_t *data, size_t size, char *fields[3])
{
    size_t i, start = 0;
    int k = 0;

    for (i = 0; i <= size && k < 3; i++) {
        if (i == size || data[i] == '\0') {
            fields[k++] = copy_string(data + start, i - start);
            start = i + 1;
        }
    }
    while (k < 3)
        fields[k++] = copy_string(data, 0);
}

/*
 * Input layout: byte 0's low 3 bits pick the profile (tw_profile_at,
 * modulo the count); its bits 3, 4, 5 make the signature, timestamp and
 * id NULL (an absent header). The rest is "signature\0timestamp\0id".
 */
int tw_fuzz_scheme(const uint8_t *data, size_t size)
{
    const tw_profile_t *p;
    struct naive_signed want;
    tw_signed_t got;
    char *fields[3];
    const char *sig, *ts, *id;
    size_t nprofiles = 0, i;
    tw_status_t st;

    if (size < 1)
        return 0;
    while (tw_profile_at(nprofiles) != NULL)
        nprofiles++;
    p = tw_profile_at((data[0] & 7) % nprofiles);
    split_fields(data + 1, size - 1, fields);
    sig = (data[0] & 0x08) ? NULL : fields[0];
    ts = (data[0] & 0x10) ? NULL : fields[1];
    id = (data[0] & 0x20) ? NULL : fields[2];

    memset(&got, 0xa5, sizeof(got));
    naive_scheme_parse(p, sig, ts, id, &want);
    st = tw_scheme_parse(p, sig, ts, id, &got);
    if (st != want.st) {
        fprintf(stderr, "profile %s: got %s, expected %s\n", p->name,
                tw_status_str(st), tw_status_str(want.st));
        fail("scheme", "status differs from the naive parser");
    }
    if (want.st != TW_OK) {
        static const tw_signed_t zero;

        if (memcmp(&got, &zero, sizeof(got)) != 0)
            fail("scheme", "a failed parse left something in the output");
    }
    else {
        if (got.ncandidates != want.ncands)
            fail("scheme", "candidate count differs");
        for (i = 0; i < want.ncands; i++) {
            if (memcmp(got.candidates[i], want.cands[i], TW_MAC_LEN) != 0)
                fail("scheme", "a candidate differs");
        }
        if (got.prefix_len != strlen(want.prefix) || memcmp(got.prefix, want.prefix, got.prefix_len) != 0)
            fail("scheme", "the signed prefix differs");
        if (got.has_timestamp != want.has_ts || (want.has_ts && got.timestamp != want.ts))
            fail("scheme", "the timestamp differs");
    }
    for (i = 0; i < 3; i++)
        free(fields[i]);
    return 0;
}

/* ---- secret ------------------------------------------------------------------------ */

int tw_fuzz_secret(const uint8_t *data, size_t size)
{
    size_t n = size, got_len = 99, i;
    tw_status_t want = TW_OK, got;

    /* One line end off the end, the longest first. */
    if (n >= 2 && data[n - 2] == '\r' && data[n - 1] == '\n')
        n -= 2;
    else if (n >= 1 && data[n - 1] == '\n')
        n -= 1;
    for (i = 0; i < n; i++) {
        if (data[i] == '\r' || data[i] == '\n')
            want = TW_ERR_SECRET_LINE_BREAK;
    }
    if (n > TW_SECRET_MAX)
        want = TW_ERR_SECRET_TOO_LONG;
    if (n == 0)
        want = TW_ERR_SECRET_EMPTY;
    got = tw_secret_from_file(data, size, &got_len);
    if (got != want)
        fail("secret", "status differs from the reference");
    if (got_len != (got == TW_OK ? n : 0))
        fail("secret", "length differs from the reference");
    return 0;
}
