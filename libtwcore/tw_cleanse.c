/* SPDX-License-Identifier: Apache-2.0 */
/* tw_cleanse.c - wiping buffers that held secret material. */
#include <openssl/crypto.h>

#include "tw/base.h"

void tw_cleanse(void *p, size_t len)
{
    /* A plain memset of a buffer that is about to go out of scope is a
     * dead store the compiler may drop; OPENSSL_cleanse is not. */
    OPENSSL_cleanse(p, len);
}
