/*
 * SPDX-License-Identifier: Apache-2.0
 * test_events.c - unit tests of tw_events.c: matching an event against an
 * allow-list pattern ('*' wildcards, case ignored).
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- event allow-list patterns ------------------------------------------ */

static void test_event_matches(void)
{
    char s[TW_EVENT_MAX + 2];
    static const struct { const char *pattern, *event; int match; } cases[] = {
        { "page.updated", "page.updated", 1 },
        { "page.updated", "page.updatedx", 0 },
        { "page.updated", "page.update", 0 },
        { "page.updated", "Page.updated", 1 },   /* case is ignored */
        { "task.*", "TASK.CREATED", 1 },
        { "TASK.CREATED", "task.created", 1 },
        { "TASK.*", "task.created", 1 },
        { "orders/*", "orders/create", 1 },
        { "orders/*", "orders", 0 },
        { "page.*", "page.updated", 1 },
        { "page.*", "page.", 1 },             /* '*' may stand for nothing */
        { "page.*", "page.comment.created", 1 },
        { "page.*", "page", 0 },
        { "page.*", "pages.x", 0 },
        { "page.*", "xpage.y", 0 },
        { "*.deleted", "task.deleted", 1 },
        { "*.deleted", ".deleted", 1 },
        { "*.deleted", "deleted", 0 },
        { "*.deleted", "task.deleted.x", 0 },
        { "*.deleted", "task.deleted.deleted", 1 },
        { "*", "a", 1 },
        { "*", "page.updated", 1 },
        { "**", "x", 1 },
        { "*.*", "a", 0 },
        { "*.*", "a.b.c", 1 },
        { "a*b*c", "abc", 1 },
        { "a*b*c", "aXbYc", 1 },
        { "a*b*c", "abcbc", 1 },
        { "a*b*c", "a.b.c", 1 },
        { "a*b*c", "acb", 0 },
        { "a*b*c", "ab", 0 },
        { "a*b*c", "abcx", 0 },
        { "page.*.created", "page.comment.created", 1 },
        { "page.*.created", "page.created", 0 },
        { "*ab", "aab", 1 },                  /* needs the backtrack */
        { "a*ab", "aab", 1 },
        { "*created", "created", 1 },
        { "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
        { "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 1 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(tw_event_matches(cases[i].pattern, cases[i].event), cases[i].match,
               "pattern %s %s event %s", cases[i].pattern,
               cases[i].match ? "matches" : "does not match", cases[i].event);
    memset(s, 'a', sizeof(s));
    s[TW_EVENT_MAX] = '\0';
    ok(tw_event_matches(s, s), "a 128-character pattern without stars matches itself");
    ok(!tw_event_matches(NULL, "page.updated"), "NULL pattern matches nothing");
    ok(!tw_event_matches("*", NULL), "no event (NULL) matches nothing, not even *");
}

void unit_events(void)
{
    test_event_matches();
}
