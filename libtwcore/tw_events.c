/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_events.c - event allow-list patterns (TwWebhookEvents).
 *
 * Patterns are plain event names with '*' wildcards. Both sides come from
 * a small alphabet (tw_event_is_plain, tw_event_pattern_is_valid in
 * tw_validate.c), so the matcher needs no escaping rules.
 */
#include <apr_lib.h>

#include "tw/validate.h"

/* Events are matched without regard to case: Teamwork Projects sends
 * TASK.CREATED where Spaces sends page.updated. ASCII only (the alphabet
 * is ASCII). */
static int same_char(char a, char b)
{
    return apr_tolower((unsigned char)a) == apr_tolower((unsigned char)b);
}

/*
 * Iterative glob with single backtracking point: linear in practice and
 * never recursive, whatever an operator writes.
 */
int tw_event_matches(const char *pattern, const char *event)
{
    const char *star = NULL, *resume = NULL;

    if (pattern == NULL || event == NULL)
        return 0;
    while (*event != '\0') {
        if (*pattern == '*') {
            star = pattern++;
            resume = event;
        }
        else if (same_char(*pattern, *event)) {
            pattern++;
            event++;
        }
        else if (star != NULL) {
            pattern = star + 1;
            event = ++resume;
        }
        else {
            return 0;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}
