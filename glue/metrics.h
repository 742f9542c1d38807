/*
 * SPDX-License-Identifier: Apache-2.0
 * metrics.h - every outcome a request can have here, counted once, in one
 * shared-memory table (glue/metrics.c) that both /metrics
 * ("SetHandler twwebhook-metrics", Prometheus text format 0.0.4) and
 * server-status (glue/status.c) read.
 *
 * The table has one row per (virtual) server and protected scope (the
 * section whose TwWebhookSecret applies), assigned in post_config; a
 * request whose scope has none (no secret applies, a section inside <If>)
 * counts under the server's location "-". server-status shows the sums.
 */
#ifndef TWWEBHOOK_GLUE_METRICS_H
#define TWWEBHOOK_GLUE_METRICS_H

#include "httpd.h"

#include "glue/glue.h"
#include "glue/config.h"
#include "glue/replay.h"

/* The access-log note naming the outcome (%{twwebhook-outcome}n). The
 * note says "rejected-<status>" with the very status; the counters group
 * rejections as below. */
#define TW_NOTE_OUTCOME       "twwebhook-outcome"

/*
 * What became of a request to a protected location: the "outcome" label
 * of twwebhook_requests_total, and (but for rejections) its note.
 */
typedef enum {
    TW_OUTCOME_VERIFIED,        /* verified and handed to the app (not held) */
    TW_OUTCOME_DUPLICATE,       /* verified, acknowledged without the app: seen before */
    TW_OUTCOME_IGNORED,         /* verified, acknowledged without the app: event not wanted */
    TW_OUTCOME_HELD,            /* handed to the app, which failed: answered 200, kept */
    TW_OUTCOME_QUEUED,          /* verified, in the inbox, answered 200 (TwWebhookQueue) */
    TW_OUTCOME_DEAD,            /* a queued delivery the dispatcher gave up (TwWebhookQueueRetry) */
    TW_OUTCOME_REJECTED_400,
    TW_OUTCOME_REJECTED_401,
    TW_OUTCOME_REJECTED_405,
    TW_OUTCOME_REJECTED_408,
    TW_OUTCOME_REJECTED_409,
    TW_OUTCOME_REJECTED_413,
    TW_OUTCOME_REJECTED_4XX,    /* any other 4xx (415, ...) */
    TW_OUTCOME_REJECTED_500,
    TW_OUTCOME_REJECTED_503,
    TW_OUTCOME_REJECTED_5XX,    /* any other 5xx */
    TW_OUTCOME_REJECTED_OTHER,  /* any other status */
    TW_OUTCOME_MAX
} tw_outcome_t;

/* "verified", "held", "rejected-401", "rejected-4xx", ... */
const char *tw_outcome_name(tw_outcome_t outcome);
/* The outcome a rejection with this HTTP status is counted as. */
tw_outcome_t tw_outcome_of_status(int status);

/*
 * THE counting call: one request (a rejection: every time reject() answers
 * one) or one transaction (verified, duplicate, ignored, held: once) has
 * this outcome, counted under r's scope.
 */
void tw_metrics_count(request_rec *r, tw_outcome_t outcome);

/* A body read to its end and compared (once per transaction): how long
 * that took (from the first body read to the comparison), and, if the
 * signature matched, its size. */
void tw_metrics_verification(request_rec *r, int matched, apr_off_t bytes,
                             apr_interval_time_t took);
/* What the replay cache answered (counted as hit, miss or error). */
void tw_metrics_replay(request_rec *r, tw_replay_verdict_t verdict);

/*
 * The queue's dispatcher (glue/queue.c), under the location (server s,
 * section dc) an entry belongs to: one dispatch attempt's result; an
 * entry given up (outcome dead); and the gauges from the store's counts
 * (entries queued and dead, and the age of the oldest queued one).
 */
typedef enum {
    TW_DISPATCH_2XX, TW_DISPATCH_4XX, TW_DISPATCH_5XX,
    TW_DISPATCH_FAILED,         /* not reached, timed out, or another status (3xx) */
    TW_DISPATCH_RESULTS
} tw_dispatch_result_t;
void tw_metrics_dispatch(server_rec *s, const tw_dir_conf_t *dc, tw_dispatch_result_t result);
void tw_metrics_dead(server_rec *s, const tw_dir_conf_t *dc);
void tw_metrics_queue_gauges(server_rec *s, const tw_dir_conf_t *dc, apr_uint64_t queued,
                             apr_uint64_t dead, apr_interval_time_t oldest_age);

/* The table summed over every row (server-status); 0 when there is none. */
typedef struct {
    apr_uint64_t outcomes[TW_OUTCOME_MAX];
    apr_uint64_t matched;           /* signatures matched (first read of a body) */
    apr_uint64_t matched_bytes;     /* ... and their bytes */
    apr_uint64_t dispatches[TW_DISPATCH_RESULTS];
    apr_uint64_t queue_depth;       /* gauges, summed */
    apr_uint64_t queue_dead;
    apr_uint64_t queue_oldest_usec; /* the largest */
} tw_metrics_totals_t;

/* 0 when there is no table (TWW0602 at start-up). */
int tw_metrics_totals(tw_metrics_totals_t *totals);

/* The version, from configure.ac's AC_INIT (Makefile.am passes it). */
#ifndef TW_VERSION
#error "TW_VERSION must be defined by the build (Makefile.am)"
#endif

/* Assigns the rows (skips the dry run); returns OK, or logs and returns
 * OK without metrics when shared memory cannot be had. */
int tw_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);
/* How many protected scopes post_config found, over all servers. */
int tw_metrics_scopes(void);
void tw_metrics_register_hooks(void);
/* server-status (glue/status.c): the totals, for mod_status. */
void tw_status_register_hooks(void);

#endif /* TWWEBHOOK_GLUE_METRICS_H */
