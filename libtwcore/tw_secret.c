/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_secret.c - the one rule for what a secret file holds, shared by the
 * module (TwWebhookSecret file:...) and twwebhook-sign -f, so that the
 * same file can never give the two different keys.
 */
#include <string.h>

#include "tw/secret.h"

/* The length of buf[0..len) without one trailing "\n" or "\r\n". */
static size_t strip_one_line_end(const unsigned char *buf, size_t len)
{
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    return len;
}

tw_status_t tw_secret_from_file(const unsigned char *buf, size_t len, size_t *plen)
{
    size_t n;

    if (plen == NULL)
        return TW_ERR_ARG;
    *plen = 0;
    if (buf == NULL && len > 0)
        return TW_ERR_ARG;

    n = strip_one_line_end(buf, len);
    if (n == 0)
        return TW_ERR_SECRET_EMPTY;
    if (n > TW_SECRET_MAX)
        return TW_ERR_SECRET_TOO_LONG;
    /* A lone "\r" at the end, a second line end, a second line: refused,
     * because whether they belong to the token is anybody's guess. */
    if (memchr(buf, '\n', n) != NULL || memchr(buf, '\r', n) != NULL)
        return TW_ERR_SECRET_LINE_BREAK;
    *plen = n;
    return TW_OK;
}
