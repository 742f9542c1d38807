/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_signature.c - parsing the Signature header: [sha256=]<64 hex digits>.
 */
#include <string.h>

#include "tw/verify.h"
#include "tw/codec.h"

#define SIG_PREFIX     "sha256="
#define SIG_PREFIX_LEN (sizeof(SIG_PREFIX) - 1)

/* ASCII-only lowercase, independent of the process locale. */
static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* 1 when s starts with the lowercase ASCII prefix, in any case. */
static int has_prefix_nocase(const char *s, const char *prefix, size_t prefix_len)
{
    size_t i;

    /* Stops at s's NUL, which never equals a prefix character. */
    for (i = 0; i < prefix_len; i++) {
        if (ascii_lower((unsigned char)s[i]) != (unsigned char)prefix[i])
            return 0;
    }
    return 1;
}

/* strlen() that looks at no more than max + 1 bytes: values are client data. */
static size_t length_up_to(const char *s, size_t max)
{
    size_t n = 0;

    while (n <= max && s[n] != '\0')
        n++;
    return n;
}

tw_status_t tw_signature_parse(const char *value, unsigned char mac[TW_MAC_LEN])
{
    const char *digits = value;

    if (mac == NULL)
        return TW_ERR_ARG;
    memset(mac, 0, TW_MAC_LEN);
    if (value == NULL)
        return TW_ERR_SIG_MISSING;

    if (has_prefix_nocase(value, SIG_PREFIX, SIG_PREFIX_LEN))
        digits += SIG_PREFIX_LEN;
    if (length_up_to(digits, TW_MAC_HEX_LEN) != TW_MAC_HEX_LEN)
        return TW_ERR_SIG_MALFORMED;
    if (tw_hex_decode(digits, TW_MAC_HEX_LEN, mac, TW_MAC_LEN) != TW_OK)
        return TW_ERR_SIG_MALFORMED;
    return TW_OK;
}
