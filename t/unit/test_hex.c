/*
 * SPDX-License-Identifier: Apache-2.0
 * test_hex.c - unit tests of tw_hex.c: hex codecs that fail closed.
 */
#include <stdint.h>
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

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
    require_int(tw_hex_decode("aabbccdd1z", 10, out, 8), TW_ERR_ARG, "decode a 'z'");
    ok(out[0] == 0 && out[3] == 0, "a failed decode leaves no decoded bytes behind");
    is_int(tw_hex_decode("", 0, out, 0), TW_OK, "decode nothing");
    is_int(tw_hex_decode(NULL, 2, out, 8), TW_ERR_ARG, "decode NULL: TW_ERR_ARG");
}

/* Every byte value, against the rule written out: a digit of "0-9a-fA-F"
 * has its value and any other byte none, in either half of a pair. */
static void test_hex_every_byte(void)
{
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    int c, wrong = 0;

    for (c = 0; c < 256; c++) {
        const char *l = c != 0 ? strchr(lower, c) : NULL;
        const char *u = c != 0 ? strchr(upper, c) : NULL;
        int want = l != NULL ? (int)(l - lower) : u != NULL ? (int)(u - upper) : -1;
        char pair_hi[2] = { (char)c, '7' }, pair_lo[2] = { '7', (char)c };
        unsigned char hi = 0x55, lo = 0x55;
        tw_status_t st_hi = tw_hex_decode(pair_hi, 2, &hi, 1);
        tw_status_t st_lo = tw_hex_decode(pair_lo, 2, &lo, 1);

        if (want < 0 ? st_hi != TW_ERR_ARG || st_lo != TW_ERR_ARG
                     : st_hi != TW_OK || st_lo != TW_OK || hi != (want << 4 | 7)
                       || lo != (7 << 4 | want))
            wrong++;
    }
    is_int(wrong, 0, "every byte value, in either half of a pair: decoded or refused as the rule says");
}

void unit_hex(void)
{
    test_hex();
    test_hex_every_byte();
}
