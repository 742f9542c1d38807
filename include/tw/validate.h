/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/validate.h - the alphabets of values that are not signed: event names,
 * delivery ids, event allow-list patterns and environment variable names.
 *
 * Only the body is signed. Event and Delivery are plain headers: whoever
 * holds one captured delivery can resend its body and signature with other
 * header values, so these checks are about syntax (a value safe to log, to
 * export and to match), never about authenticity.
 *
 * Every check answers 1 (accepted) or 0 and is TW_MUST_CHECK: a check whose
 * answer is dropped lets any value through.
 */
#ifndef TW_VALIDATE_H
#define TW_VALIDATE_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- unsigned header values ----------------------------------------------- */

/* How the event alphabet reads in a configuration error or the docs. */
#define TW_EVENT_SYNTAX "letters, digits and . _ - /, starting with a letter or digit, " \
                        "no two of . / in a row"

/*
 * 1 when s is 1..TW_EVENT_MAX characters of [A-Za-z0-9._/-], starting with
 * a letter or digit, with no two of '.' and '/' in a row ("..", "./", "//"),
 * else 0. Real names pass: page.updated, TASK.CREATED, pull_request,
 * orders/create, payment_intent.succeeded.
 */
TW_MUST_CHECK int tw_event_is_plain(const char *s);

/*
 * 1 when s is 1..TW_DELIVERY_MAX characters of [A-Za-z0-9_-], else 0:
 * UUIDs, GitHub's GUIDs, msg_... and evt_... ids.
 */
TW_MUST_CHECK int tw_delivery_is_plain(const char *s);

/* ---- event allow-lists ------------------------------------------------- */

/*
 * 1 when pattern is an event name as tw_event_is_plain takes it, with '*'
 * also allowed anywhere, where '*' stands for any run of characters
 * ("page.*", "*.deleted", "orders/" "*", "*").
 */
TW_MUST_CHECK int tw_event_pattern_is_valid(const char *pattern);

/* 1 when event matches pattern (see above), ASCII case ignored, else 0. */
TW_MUST_CHECK int tw_event_matches(const char *pattern, const char *event);

/* ---- names a value from a body may take ---------------------------------- */

/*
 * The names a value from a body may never take, NULL-terminated: the one
 * list behind tw_env_name_is_allowed, the configuration error that names
 * them and the README (man/check-docs compares it with these).
 */
extern const char *const tw_env_reserved_prefixes[];  /* "HTTP_": HTTP_* */
extern const char *const tw_env_reserved_names[];     /* exact names */

/*
 * 1 when name may carry a value taken from a body: [A-Z0-9_], not starting
 * with a digit, at most TW_ENV_NAME_MAX, and neither starting with one of
 * tw_env_reserved_prefixes nor one of tw_env_reserved_names.
 */
TW_MUST_CHECK int tw_env_name_is_allowed(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TW_VALIDATE_H */
