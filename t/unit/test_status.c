/*
 * SPDX-License-Identifier: Apache-2.0
 * test_status.c - unit tests of tw_status.c: every status code has its own
 * description.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- status strings ------------------------------------------------------ */

static void test_status_str(void)
{
    static const tw_status_t all[] = {
        TW_OK, TW_ERR_SIG_MISSING, TW_ERR_SIG_MALFORMED, TW_ERR_SIG_MISMATCH,
        TW_ERR_ARG, TW_ERR_CRYPTO, TW_ERR_NOMEM, TW_ERR_JSON_INVALID,
        TW_ERR_JSON_NOT_FOUND, TW_ERR_JSON_NOT_SCALAR, TW_ERR_JSON_UNSAFE_VALUE
    };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *s = tw_status_str(all[i]);

        ok(s != NULL && *s != '\0', "tw_status_str(%d) is a non-empty string: %s",
           (int)all[i], s ? s : "(null)");
    }
    ok(tw_status_str((tw_status_t)99) != NULL, "tw_status_str of an unknown code is not NULL");
    is_str(tw_status_str(TW_ERR_SIG_MISMATCH), "signature mismatch",
           "mismatch reads as the log line says");
}

/* ---- the signing schemes' status strings -------------------------------- */

/* Every new status has its own non-empty description. */
static void test_scheme_status_str(void)
{
    static const tw_status_t all[] = {
        TW_ERR_TS_MISSING, TW_ERR_TS_MALFORMED, TW_ERR_TS_STALE, TW_ERR_TS_FUTURE,
        TW_ERR_ID_MISSING, TW_ERR_ID_MALFORMED, TW_ERR_SECRET_MALFORMED,
        TW_ERR_SECRET_EMPTY, TW_ERR_SECRET_TOO_LONG, TW_ERR_SECRET_LINE_BREAK
    };
    size_t i, j;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *s = tw_status_str(all[i]);

        ok(s != NULL && *s != '\0' && strcmp(s, "unknown status") != 0,
           "tw_status_str(%d) names it: %s", (int)all[i], s ? s : "(null)");
        for (j = 0; j < i; j++) {
            if (strcmp(s, tw_status_str(all[j])) == 0)
                break;
        }
        ok(j == i, "... and no other new status reads the same");
    }
}

void unit_status(void)
{
    test_status_str();
}

void unit_status_scheme(void)
{
    test_scheme_status_str();
}
