/*
 * SPDX-License-Identifier: Apache-2.0
 * test_signature.c - unit tests of tw_signature.c: parsing the Signature header
 * ([sha256=]<64 hex digits>, nothing else).
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

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

void unit_signature(void)
{
    test_signature();
}
