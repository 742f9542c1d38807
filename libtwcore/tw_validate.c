/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_validate.c - syntax checks for the unsigned Event and Delivery headers
 * (and the TwWebhookEvents patterns that match events).
 *
 * Only the body is signed: these values reach the downstream application
 * (as environment variables) with no proof of origin, so they are held to a
 * narrow alphabet that is harmless in a shell, a log line or a SQL string,
 * and to a bounded length. Events are the providers' own names, in the case
 * they send (Teamwork Projects: TASK.CREATED; Shopify: orders/create), so
 * '/' is allowed, but never where it could climb out of a directory when an
 * app builds a path from the name: no "..", "./", "/." or "//", and the
 * first character is a letter or digit.
 */
#include <string.h>

#include "tw/validate.h"

static int is_event_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-' || c == '/';
}

static int is_separator(unsigned char c)
{
    return c == '.' || c == '/';
}

/*
 * 1 when s is 1..TW_EVENT_MAX characters of the event alphabet (and '*'
 * when wildcards is set) with no two separators in a row and a letter or
 * digit (or '*') first; looks at no more than TW_EVENT_MAX + 1 bytes.
 */
static int is_event_text(const char *s, int wildcards)
{
    size_t n;

    if (s == NULL)
        return 0;
    for (n = 0; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];

        if (n == TW_EVENT_MAX)
            return 0;
        if (c == '*' && wildcards)
            continue;
        if (!is_event_char(c))
            return 0;
        if (is_separator(c) && (n == 0 || is_separator((unsigned char)s[n - 1])))
            return 0;
        if (n == 0 && (c == '_' || c == '-'))
            return 0;
    }
    return n > 0;
}

static int is_delivery_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* 1 when s is 1..max characters all accepted by is_allowed, else 0. */
static int is_plain(const char *s, size_t max, int (*is_allowed)(unsigned char))
{
    size_t n;

    if (s == NULL)
        return 0;
    /* Looks at no more than max + 1 bytes, whatever the value's length. */
    for (n = 0; s[n] != '\0'; n++) {
        if (n == max || !is_allowed((unsigned char)s[n]))
            return 0;
    }
    return n > 0;
}

int tw_event_is_plain(const char *s)
{
    return is_event_text(s, 0);
}

int tw_event_pattern_is_valid(const char *pattern)
{
    return is_event_text(pattern, 1);
}

int tw_delivery_is_plain(const char *s)
{
    return is_plain(s, TW_DELIVERY_MAX, is_delivery_char);
}
