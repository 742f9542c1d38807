/*
 * tw_events.c - event allow-list patterns (TwWebhookEvents).
 *
 * Patterns are plain event names with '*' wildcards. Both sides come from
 * a small alphabet (tw_event_is_plain, tw_event_pattern_is_valid), so the
 * matcher needs no escaping rules.
 */
#include "twwebhook.h"

static int is_pattern_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-' || c == '*';
}

int tw_event_pattern_is_valid(const char *pattern)
{
    size_t n = 0;

    if (pattern == NULL)
        return 0;
    for (; pattern[n] != '\0'; n++)
        if (n >= TW_EVENT_MAX || !is_pattern_char(pattern[n]))
            return 0;
    return n > 0;
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
        else if (*pattern == *event) {
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
