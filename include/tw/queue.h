/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/queue.h - the queued mode's arithmetic and its credential, without
 * httpd: when the dispatcher tries an entry again, when it gives up, and
 * the TW-Dispatch header that lets a dispatched request skip the sender's
 * verification (libtwcore/tw_queue.c; the dispatcher is glue/queue.c).
 *
 * Retry schedule. After attempt n failed, the next one comes after
 * d(n) = min(cap, base * 2^(n-1)), with "equal jitter": half of d(n) for
 * sure, plus a random part of the other half. The random value is passed
 * in (rnd, uniform over 0..UINT32_MAX), so the schedule is testable and
 * the core draws no randomness of its own here. An entry is dead once it
 * had the attempts the limit allows, or when its next try would come later
 * than max_age after it was received (0: that limit is off).
 *
 * Dispatch credential (TW-Dispatch). A per-server 32-byte random key that
 * only the module's processes hold (never written, never logged) MACs
 *
 *   "v1" LF id LF attempt LF expires LF method LF target
 *
 * (HMAC-SHA256), and the header says
 *
 *   TW-Dispatch: v1 <id> <attempt> <expires, unix s> <64 hex of the MAC>
 *
 * The receiving side recomputes the MAC over its own method and request
 * target and compares in constant time, so a credential is good for one
 * entry, one attempt, one path and a short time. Hazards: the key is the
 * whole of the protection; whoever holds it can make the module skip the
 * sender's signature. The MAC is compared, cleansed and never returned by
 * tw_dispatch_check.
 */
#ifndef TW_QUEUE_H
#define TW_QUEUE_H

#include <stdint.h>

#include <apr_time.h>

#include "base.h"
#include "inbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TwWebhookQueueRetry's defaults (docs/reference.md). */
#define TW_RETRY_DEFAULT_ATTEMPTS  10
#define TW_RETRY_DEFAULT_MAX_AGE   apr_time_from_sec(3 * 24 * 3600)
#define TW_RETRY_DEFAULT_BASE      apr_time_from_sec(5)
#define TW_RETRY_DEFAULT_CAP       apr_time_from_sec(3600)

typedef struct {
    unsigned int attempts;          /* the most an entry gets; 0: no limit */
    apr_interval_time_t max_age;    /* since received; 0: no limit */
    apr_interval_time_t base;       /* the first delay, > 0 */
    apr_interval_time_t cap;        /* no delay longer, >= base */
} tw_retry_t;

/* The delay before the next try of an entry whose attempt number
 * `attempts` (1 for the first) just failed; rnd draws the jitter. */
apr_interval_time_t tw_retry_delay(const tw_retry_t *retry, unsigned int attempts,
                                   uint32_t rnd);

/* 1 when an entry received at `received` whose attempt number `attempts`
 * just failed is given up rather than tried again at `next`. */
TW_MUST_CHECK
int tw_retry_is_dead(const tw_retry_t *retry, unsigned int attempts, apr_time_t received,
                     apr_time_t next);

#define TW_DISPATCH_KEY_LEN    32
#define TW_DISPATCH_HEADER     "TW-Dispatch"
/* "v1 " id " " attempt " " expires " " mac */
#define TW_DISPATCH_VALUE_MAX  (3 + TW_INBOX_ID_LEN + 1 + 10 + 1 + 20 + 1 + TW_MAC_HEX_LEN)

/* What a checked credential names. */
typedef struct {
    char id[TW_INBOX_ID_LEN + 1];
    unsigned int attempt;
    apr_int64_t expires;            /* unix seconds */
} tw_dispatch_t;

/*
 * Writes the TW-Dispatch value for entry id's attempt, good until expires
 * (unix seconds), for a request with this method and target (as it will
 * be on the request line), into out (TW_DISPATCH_VALUE_MAX + 1 bytes).
 * TW_ERR_ARG for an id that is no entry id, an empty method or a target
 * not starting with "/"; TW_ERR_CRYPTO when libcrypto fails.
 */
TW_MUST_CHECK
tw_status_t tw_dispatch_sign(const unsigned char key[TW_DISPATCH_KEY_LEN], const char *id,
                             unsigned int attempt, apr_int64_t expires, const char *method,
                             const char *target, char out[TW_DISPATCH_VALUE_MAX + 1]);

/*
 * Checks a TW-Dispatch value received with method and target at now (unix
 * seconds): TW_OK and *d filled, or TW_ERR_SIG_MALFORMED (not a v1
 * credential), TW_ERR_SIG_MISMATCH (the MAC is not ours for this entry,
 * attempt, expiry, method and target), TW_ERR_TS_STALE (expired),
 * TW_ERR_CRYPTO. Expiry is looked at only once the MAC matched.
 */
TW_MUST_CHECK
tw_status_t tw_dispatch_check(const unsigned char key[TW_DISPATCH_KEY_LEN], const char *value,
                              const char *method, const char *target, apr_int64_t now,
                              tw_dispatch_t *d);

#ifdef __cplusplus
}
#endif

#endif /* TW_QUEUE_H */
