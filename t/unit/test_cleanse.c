/*
 * SPDX-License-Identifier: Apache-2.0
 * test_cleanse.c - unit tests of tw_cleanse.c: zeroing secrets, exactly the
 * bytes asked for.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

static void test_cleanse(void)
{
    unsigned char buf[64], zero[32], keep[32];

    memset(buf, 0xa5, sizeof(buf));
    memset(zero, 0, sizeof(zero));
    memset(keep, 0xa5, sizeof(keep));
    tw_cleanse(buf, 32);
    is_mem(buf, zero, 32, "tw_cleanse zeroes the bytes asked for");
    is_mem(buf + 32, keep, 32, "... and not one more");
    tw_cleanse(buf + 32, 0);
    is_mem(buf + 32, keep, 32, "tw_cleanse of 0 bytes changes nothing");
}

void unit_cleanse(void)
{
    test_cleanse();
}
