/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/secret.h - the one rule for secret files, shared by TwWebhookSecret
 * file:... and twwebhook-sign -f.
 *
 * WARNING: the buffer holds a secret, and it stays the caller's: cleanse
 * all of it (tw_cleanse) once the key is made, on failure too. Nothing
 * here copies the secret, and no status names its bytes.
 */
#ifndef TW_SECRET_H
#define TW_SECRET_H

#include <stddef.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes to read from a secret file: a file that fills this is too long. */
#define TW_SECRET_FILE_READ_MAX (TW_SECRET_MAX + 3)

/*
 * buf[0..len) is what was read (up to TW_SECRET_FILE_READ_MAX bytes);
 * exactly one trailing "\n" or "\r\n" is stripped and *plen is the length
 * left, the secret being buf[0..*plen). Then TW_ERR_SECRET_EMPTY when
 * nothing is left, TW_ERR_SECRET_TOO_LONG when more than TW_SECRET_MAX
 * bytes are, TW_ERR_SECRET_LINE_BREAK when a CR or LF is left anywhere
 * ("tok\r", "tok\n\n": an editor's doing, never a token). *plen is 0 on
 * failure. Never writes to buf.
 */
TW_MUST_CHECK
tw_status_t tw_secret_from_file(const unsigned char *buf, size_t len, size_t *plen);

#ifdef __cplusplus
}
#endif

#endif /* TW_SECRET_H */
