/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_hex.c - hex codecs with an explicit output capacity that fail closed.
 */
#include <stdint.h>
#include <string.h>

#include "tw/codec.h"
#include "tw_internal.h"

/* The value of one hex digit (either case), or -1 for anything else. */
int tw_hex_digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

tw_status_t tw_hex_decode(const char *hex, size_t hex_len,
                          unsigned char *out, size_t out_cap)
{
    size_t i;

    if ((hex == NULL && hex_len > 0) || hex_len % 2 != 0)
        return TW_ERR_ARG;
    if (hex_len / 2 > out_cap || (out == NULL && hex_len > 0))
        return TW_ERR_ARG;

    for (i = 0; i < hex_len / 2; i++) {
        int hi = tw_hex_digit_value((unsigned char)hex[2 * i]);
        int lo = tw_hex_digit_value((unsigned char)hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            /* Fail closed: leave no half-decoded value behind. */
            memset(out, 0, i);
            return TW_ERR_ARG;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return TW_OK;
}

tw_status_t tw_hex_encode(const unsigned char *in, size_t len,
                          char *out, size_t out_cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    if (in == NULL && len > 0)
        return TW_ERR_ARG;
    /* 2 * len + 1 must neither overflow nor exceed the buffer. */
    if (out == NULL || len > (SIZE_MAX - 1) / 2 || out_cap < 2 * len + 1)
        return TW_ERR_ARG;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return TW_OK;
}
