/*
 * SPDX-License-Identifier: Apache-2.0
 * test_base64.c - unit tests of tw_base64.c: strict RFC 4648 base64.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

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

        require_int(tw_base64_encode(all_bits, 3, text, sizeof(text)), TW_OK, "encode fb ff bf");
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
    require_int(tw_base64_decode("Zm9vYmF!", 8, out, sizeof(out), &n), TW_ERR_ARG, "decode a '!'");
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

void unit_base64(void)
{
    test_base64_vectors();
    test_base64_strict();
    test_base64_round_trip();
}
