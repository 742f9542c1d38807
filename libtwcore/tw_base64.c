/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_base64.c - strict RFC 4648 base64 (standard alphabet, padded) with an
 * explicit output capacity, failing closed like tw_hex.c.
 *
 * Strict means one encoding per byte string: no whitespace, no missing or
 * extra padding, no URL-safe characters, and the unused low bits of the
 * last character must be zero ("QQ==" is "A"; "QR==" is refused).
 */
#include <stdint.h>
#include <string.h>

#include "tw/codec.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of one alphabet character, or -1 (for '=' too). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* How many '=' end the text (0..2), or -1 when the padding is not valid. */
static int b64_padding(const char *b64, size_t b64_len)
{
    size_t pad = 0;

    while (pad < b64_len && pad < 3 && b64[b64_len - 1 - pad] == '=')
        pad++;
    return pad > 2 ? -1 : (int)pad;
}

/* Decodes one group of four characters (pad of them '=') into out. */
static int b64_decode_group(const char *g, int pad, unsigned char *out)
{
    int v[4], i;

    for (i = 0; i < 4 - pad; i++) {
        v[i] = b64_value((unsigned char)g[i]);
        if (v[i] < 0)
            return 0;
    }
    for (; i < 4; i++)
        v[i] = 0;
    /* The bits padding leaves unused must be zero: one encoding only. */
    if ((pad == 2 && (v[1] & 0x0f) != 0) || (pad == 1 && (v[2] & 0x03) != 0))
        return 0;
    out[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
    if (pad < 2)
        out[1] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
    if (pad < 1)
        out[2] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
    return 1;
}

tw_status_t tw_base64_decode(const char *b64, size_t b64_len,
                             unsigned char *out, size_t out_cap, size_t *plen)
{
    size_t n, i, o = 0;
    int pad;

    if (plen != NULL)
        *plen = 0;
    if (plen == NULL || (b64 == NULL && b64_len > 0) || (out == NULL && out_cap > 0))
        return TW_ERR_ARG;
    if (b64_len % 4 != 0)
        goto fail;
    pad = b64_padding(b64, b64_len);
    if (pad < 0)
        goto fail;
    n = b64_len / 4 * 3 - (size_t)pad;
    if (n > out_cap)
        goto fail;

    for (i = 0; i < b64_len; i += 4) {
        int group_pad = i + 4 == b64_len ? pad : 0;

        if (!b64_decode_group(b64 + i, group_pad, out + o))
            goto fail;
        o += 3 - (size_t)group_pad;
    }
    *plen = n;
    return TW_OK;

fail:
    /* Leave no half-decoded bytes behind: they may be key material. */
    if (out != NULL && out_cap > 0)
        memset(out, 0, out_cap);
    return TW_ERR_ARG;
}

tw_status_t tw_base64_encode(const unsigned char *in, size_t len,
                             char *out, size_t out_cap)
{
    size_t i, o = 0;

    if (in == NULL && len > 0)
        return TW_ERR_ARG;
    /* TW_BASE64_LEN(len) + 1 must neither overflow nor exceed the buffer. */
    if (out == NULL || len > (SIZE_MAX - 1) / 4 * 3 - 2 || out_cap < TW_BASE64_LEN(len) + 1)
        return TW_ERR_ARG;

    for (i = 0; i + 3 <= len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];

        out[o++] = b64_alphabet[v >> 18 & 0x3f];
        out[o++] = b64_alphabet[v >> 12 & 0x3f];
        out[o++] = b64_alphabet[v >> 6 & 0x3f];
        out[o++] = b64_alphabet[v & 0x3f];
    }
    if (len - i == 1) {
        out[o++] = b64_alphabet[in[i] >> 2];
        out[o++] = b64_alphabet[(in[i] & 0x03) << 4];
        out[o++] = '=';
        out[o++] = '=';
    }
    else if (len - i == 2) {
        out[o++] = b64_alphabet[in[i] >> 2];
        out[o++] = b64_alphabet[(in[i] & 0x03) << 4 | in[i + 1] >> 4];
        out[o++] = b64_alphabet[(in[i + 1] & 0x0f) << 2];
        out[o++] = '=';
    }
    out[o] = '\0';
    return TW_OK;
}
