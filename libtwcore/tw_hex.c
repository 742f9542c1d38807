/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_hex.c - hex codecs with an explicit output capacity that fail closed.
 */
#include <stdint.h>
#include <string.h>

#include "tw/codec.h"
#include "tw_internal.h"

/*
 * One more than the value of each hex digit (either case), 0 for every
 * other byte: a look-up instead of three range tests per digit, as the
 * signature of every delivery and forgery is decoded (64 digits; issue 22).
 * The received hex is no secret, so indexing by it leaks nothing.
 */
static const unsigned char digit_value_plus_one[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,
    ['5'] = 6,  ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The value of one hex digit (either case), or -1 for anything else.
 * Static, so tw_hex_decode gets it inlined: the exported name below may be
 * interposed in a shared object, and a call per digit costs as much as
 * the look-up. */
static int digit_value(unsigned char c)
{
    return (int)digit_value_plus_one[c] - 1;
}

int tw_hex_digit_value(unsigned char c)
{
    return digit_value(c);
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
        int hi = digit_value((unsigned char)hex[2 * i]);
        int lo = digit_value((unsigned char)hex[2 * i + 1]);

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
