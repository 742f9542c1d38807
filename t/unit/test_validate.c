/*
 * SPDX-License-Identifier: Apache-2.0
 * test_validate.c - unit tests of tw_validate.c: what an unsigned Event or
 * Delivery header, and an event allow-list pattern, may hold.
 */
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- Event and Delivery ------------------------------------------------------ */

static const struct verdict_case event_is_plain_cases[] = {
    { "page.updated", 1, "event page.updated is plain" },
    { "task_created", 1, "event task_created is plain" },
    { "time-log.v2.0", 1, "event time-log.v2.0 is plain" },
    { "a", 1, "event of one character is plain" },
    { "TASK.CREATED", 1, "Teamwork Projects' TASK.CREATED is plain" },
    { "Page.updated", 1, "mixed-case event is plain" },
    { "orders/create", 1, "Shopify's orders/create is plain" },
    { "payment_intent.succeeded", 1, "Stripe's payment_intent.succeeded is plain" },
    { "pull_request", 1, "GitHub's pull_request is plain" },
    { "../etc/passwd", 0, "event with .. is not plain" },
    { "a/../b", 0, "event with /../ is not plain" },
    { "a//b", 0, "event with // is not plain" },
    { "a/.b", 0, "event with /. is not plain" },
    { "a./b", 0, "event with ./ is not plain" },
    { "/orders", 0, "event starting with / is not plain" },
    { ".hidden", 0, "event starting with . is not plain" },
    { "-x", 0, "event starting with - is not plain" },
    { "_x", 0, "event starting with _ is not plain" },
    { "page.*", 0, "event with * is not plain (patterns only)" },
    { "", 0, "empty event is not plain" },
    { NULL, 0, "NULL event is not plain" },
    { "page updated", 0, "event with a space is not plain" },
    { "a;rm -rf", 0, "event with ';' is not plain" },
    { "page\nupdated", 0, "event with a newline is not plain" },
    { "caf\xc3\xa9", 0, "event with UTF-8 is not plain" },
    { "abc\0DEF", 1, "event stops at its NUL (values from httpd hold none)" },
};

static const struct verdict_case delivery_is_plain_cases[] = {
    { "4f1c2a3b-0d9e-4b8a-9c7d-6e5f4a3b2c1d", 1, "UUID delivery is plain" },
    { "ABC-def-123", 1, "mixed-case delivery is plain" },
    { "12345", 1, "numeric delivery is plain" },
    { "-", 1, "delivery '-' is plain" },
    { "a/b", 0, "delivery with '/' is not plain" },
    { "a.b", 0, "delivery with '.' is not plain" },
    { "a_b", 1, "delivery with '_' is plain" },
    { "evt_1NG8Du2eZvKYlo2CUI79vXWy", 1, "Stripe's evt_... id is plain" },
    { "msg_p5jXN8AQM9LWM0D4loKWxJek", 1, "Standard Webhooks' msg_... id is plain" },
    { "a b", 0, "delivery with a space is not plain" },
    { "{abc}", 0, "delivery with braces is not plain" },
    { "", 0, "empty delivery is not plain" },
    { NULL, 0, "NULL delivery is not plain" },
    { "\xff", 0, "delivery with a high byte is not plain" },
    { "abc\0..", 1, "delivery stops at its NUL" },
};

static void test_validators(void)
{
    char s[TW_EVENT_MAX + 2];

    CHECK_VERDICTS(tw_event_is_plain, event_is_plain_cases);

    memset(s, 'a', sizeof(s));
    s[TW_EVENT_MAX] = '\0';
    ok(tw_event_is_plain(s), "event of 128 characters is plain");
    s[TW_EVENT_MAX] = 'a';
    s[TW_EVENT_MAX + 1] = '\0';
    ok(!tw_event_is_plain(s), "event of 129 characters is not plain");
    s[TW_EVENT_MAX - 1] = ' ';
    s[TW_EVENT_MAX] = '\0';
    ok(!tw_event_is_plain(s), "event of 128 characters with a space last is not plain");

    CHECK_VERDICTS(tw_delivery_is_plain, delivery_is_plain_cases);

    memset(s, 'Z', sizeof(s));
    s[TW_DELIVERY_MAX] = '\0';
    ok(tw_delivery_is_plain(s), "delivery of 128 characters is plain");
    s[TW_DELIVERY_MAX] = '9';
    s[TW_DELIVERY_MAX + 1] = '\0';
    ok(!tw_delivery_is_plain(s), "delivery of 129 characters is not plain");
}

/* ---- event allow-list patterns ------------------------------------------ */

static const struct verdict_case event_pattern_is_valid_cases[] = {
    { "page.updated", 1, "pattern page.updated (no star) is valid" },
    { "page.*", 1, "pattern page.* is valid" },
    { "*.deleted", 1, "pattern *.deleted is valid" },
    { "*", 1, "pattern * is valid" },
    { "a*b*c", 1, "pattern a*b*c is valid" },
    { "**", 1, "pattern ** is valid" },
    { "*-v2_0.*.*", 1, "pattern with '-', '_', digits and several stars is valid" },
    { "", 0, "empty pattern is not valid" },
    { NULL, 0, "NULL pattern is not valid" },
    { "TASK.*", 1, "uppercase pattern is valid" },
    { "orders/*", 1, "pattern orders/* is valid" },
    { "../*", 0, "pattern with .. is not valid" },
    { "orders//*", 0, "pattern with // is not valid" },
    { "page.?", 0, "pattern with '?' is not valid" },
    { "page.[ab]", 0, "pattern with brackets is not valid" },
    { "page *", 0, "pattern with a space is not valid" },
    { "page.*\n", 0, "pattern with a newline is not valid" },
    { "caf\xc3\xa9.*", 0, "pattern with UTF-8 is not valid" },
};

static void test_event_pattern_valid(void)
{
    char s[TW_EVENT_MAX + 2];

    CHECK_VERDICTS(tw_event_pattern_is_valid, event_pattern_is_valid_cases);
    memset(s, '*', sizeof(s));
    s[TW_EVENT_MAX] = '\0';
    ok(tw_event_pattern_is_valid(s), "pattern of 128 stars is valid");
    s[TW_EVENT_MAX] = 'a';
    s[TW_EVENT_MAX + 1] = '\0';
    ok(!tw_event_pattern_is_valid(s), "pattern of 129 characters is not valid");
    s[TW_EVENT_MAX - 1] = '?';
    s[TW_EVENT_MAX] = '\0';
    ok(!tw_event_pattern_is_valid(s), "pattern of 128 characters with a '?' last is not valid");
}

void unit_validate(void)
{
    test_validators();
    test_event_pattern_valid();
}
