/*
 * SPDX-License-Identifier: Apache-2.0
 * test_secret.c - unit tests of tw_secret.c: what a secret file may hold.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- secret files -------------------------------------------------------------- */

static void test_secret_from_file(void)
{
    static const struct { const char *file; size_t len; tw_status_t st; size_t want; } cases[] = {
        { "tok", 3, TW_OK, 3 },
        { "tok\n", 4, TW_OK, 3 },
        { "tok\r\n", 5, TW_OK, 3 },
        { "tok\r", 4, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\n\n", 5, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\r\n\r\n", 7, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\n\r\n", 6, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "to\nk", 4, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "tok\nother\n", 10, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "\rtok", 4, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "", 0, TW_ERR_SECRET_EMPTY, 0 },
        { "\n", 1, TW_ERR_SECRET_EMPTY, 0 },
        { "\r\n", 2, TW_ERR_SECRET_EMPTY, 0 },
        { "\r", 1, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "\n\n", 2, TW_ERR_SECRET_LINE_BREAK, 0 },
        { "t\0k\n", 4, TW_OK, 3 },   /* binary tokens are the operator's business */
        { " tok \n", 6, TW_OK, 5 },  /* so are spaces: they are bytes of the key */
    };
    static unsigned char big[TW_SECRET_FILE_READ_MAX];
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = 99;
        is_int(tw_secret_from_file((const unsigned char *)cases[i].file, cases[i].len, &n),
               cases[i].st, "secret file case %zu: %s", i, tw_status_str(cases[i].st));
        is_int(n, cases[i].want, "... length %zu", cases[i].want);
    }
    memset(big, 'k', sizeof(big));
    is_int(tw_secret_from_file(big, TW_SECRET_MAX, &n), TW_OK, "TW_SECRET_MAX bytes: ok");
    big[TW_SECRET_MAX] = '\r';
    big[TW_SECRET_MAX + 1] = '\n';
    is_int(tw_secret_from_file(big, TW_SECRET_MAX + 2, &n), TW_OK, "TW_SECRET_MAX bytes + CRLF: ok");
    is_int(n, TW_SECRET_MAX, "... of TW_SECRET_MAX bytes");
    is_int(tw_secret_from_file(big, TW_SECRET_FILE_READ_MAX, &n), TW_ERR_SECRET_TOO_LONG,
           "a file that fills TW_SECRET_FILE_READ_MAX: too long");
    memset(big, 'k', sizeof(big));
    big[TW_SECRET_MAX + 1] = '\n';
    is_int(tw_secret_from_file(big, TW_SECRET_MAX + 2, &n), TW_ERR_SECRET_TOO_LONG,
           "TW_SECRET_MAX + 1 bytes + LF: too long");
    is_int(tw_secret_from_file(NULL, 3, &n), TW_ERR_ARG, "NULL buffer: TW_ERR_ARG");
    is_int(tw_secret_from_file((const unsigned char *)"tok", 3, NULL), TW_ERR_ARG, "NULL plen: TW_ERR_ARG");
}

void unit_secret(void)
{
    test_secret_from_file();
}
