/*
 * tw_validate.c - syntax checks for the unsigned Event and Delivery headers.
 *
 * Only the body is signed: these values reach the downstream application
 * (as environment variables) with no proof of origin, so they are held to a
 * narrow alphabet that is harmless in a shell, a log line, a file name or a
 * SQL string, and to a bounded length.
 */
#include <string.h>

#include "twwebhook.h"

static int is_event_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-';
}

static int is_delivery_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-';
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
    return is_plain(s, TW_EVENT_MAX, is_event_char);
}

int tw_delivery_is_plain(const char *s)
{
    return is_plain(s, TW_DELIVERY_MAX, is_delivery_char);
}
