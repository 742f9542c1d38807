/*
 * SPDX-License-Identifier: Apache-2.0
 * status.c - the delivery counters in mod_status' server-status (HTML, and
 * "Key: value" lines for ?auto): the sums of the one outcome table that
 * /metrics shows per scope (glue/metrics.c), so the two pages never
 * disagree. Nothing is counted here.
 *
 * Each line is a sum of outcomes (or of the signature counter), and keeps
 * the name and meaning it had when server-status kept its own counters:
 *   TwWebhookVerified       bodies whose signature matched (read once per
 *                           transaction), whatever came of them after:
 *                           handed to the app, duplicate, ignored, held,
 *                           or refused by a later check
 *   TwWebhookBytesVerified  their bytes
 *   TwWebhookHandedToApp    outcome verified: handed to the app, not held
 *   TwWebhookHeld           outcome held (TwWebhookInboxHold)
 *   TwWebhookRejectedOther  rejected with another 4xx, or a status that is
 *                           neither 4xx nor 5xx
 *   TwWebhookServerErrors   rejected with a 5xx (500, 503, other)
 *   TwWebhookQueued         outcome queued (TwWebhookQueue: answered 200,
 *                           handed to the app in the background)
 *   TwWebhookDead           queued deliveries the dispatcher gave up
 *   TwWebhookDispatch2xx, ...4xx, ...5xx, ...Failed
 *                           the dispatcher's attempts, by result
 *   TwWebhookQueueDepth, TwWebhookQueueDeadEntries (now, summed over the
 *   locations) and TwWebhookQueueOldestSeconds (the oldest of them)
 *
 * And one line from the deliveries page's ring of this server
 * (glue/deliveries.c), for ?auto the rows it keeps:
 *   TwWebhookDeliveriesKept rows kept now (at most TwWebhookDeliveriesLog)
 */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "mod_status.h"

#include "apr_optional_hooks.h"
#include "apr_strings.h"

#include "glue/glue.h"
#include "glue/metrics.h"
#include "glue/deliveries.h"

#define OUT(o) (1u << (o))
#define MATCHED        (1u << 30)   /* the signature counter, not an outcome */
#define MATCHED_BYTES  (1u << 31)   /* ... and its bytes */
/* Every outcome has its bit below MATCHED. */
typedef char tw_outcomes_fit[TW_OUTCOME_MAX <= 30 ? 1 : -1];

static const struct {
    const char *auto_key;   /* ?auto line */
    const char *label;      /* HTML */
    unsigned int sum;       /* OUT() bits, or MATCHED / MATCHED_BYTES */
} lines[] = {
    { "TwWebhookVerified",      "verified deliveries", MATCHED },
    { "TwWebhookDuplicates",    "duplicates answered without the app",
      OUT(TW_OUTCOME_DUPLICATE) },
    { "TwWebhookIgnoredEvents", "events outside TwWebhookEvents, acknowledged",
      OUT(TW_OUTCOME_IGNORED) },
    { "TwWebhookHandedToApp",   "deliveries handed to the app (not held)",
      OUT(TW_OUTCOME_VERIFIED) },
    { "TwWebhookHeld",          "deliveries held for redelivery (TwWebhookInboxHold)",
      OUT(TW_OUTCOME_HELD) },
    { "TwWebhookQueued",        "deliveries queued, answered 200 at once (TwWebhookQueue)",
      OUT(TW_OUTCOME_QUEUED) },
    { "TwWebhookDead",          "queued deliveries given up (dead, TwWebhookQueueRetry)",
      OUT(TW_OUTCOME_DEAD) },
    { "TwWebhookRejected400",   "rejected 400 (unsafe header, not JSON, bad framing)",
      OUT(TW_OUTCOME_REJECTED_400) },
    { "TwWebhookRejected401",   "rejected 401 (signature missing, malformed or wrong)",
      OUT(TW_OUTCOME_REJECTED_401) },
    { "TwWebhookRejected405",   "rejected 405 (not a POST)", OUT(TW_OUTCOME_REJECTED_405) },
    { "TwWebhookRejected408",   "rejected 408 (body too slow)", OUT(TW_OUTCOME_REJECTED_408) },
    { "TwWebhookRejected409",   "rejected 409 (same delivery already in progress)",
      OUT(TW_OUTCOME_REJECTED_409) },
    { "TwWebhookRejected413",   "rejected 413 (body too large)", OUT(TW_OUTCOME_REJECTED_413) },
    { "TwWebhookRejectedOther", "rejected otherwise (client gone, ...)",
      OUT(TW_OUTCOME_REJECTED_4XX) | OUT(TW_OUTCOME_REJECTED_OTHER) },
    { "TwWebhookServerErrors",  "server faults (500, 503)",
      OUT(TW_OUTCOME_REJECTED_500) | OUT(TW_OUTCOME_REJECTED_503)
      | OUT(TW_OUTCOME_REJECTED_5XX) },
    { "TwWebhookBytesVerified", "bytes of verified bodies", MATCHED_BYTES },
};
#define NLINES (sizeof(lines) / sizeof(lines[0]))

/* The queue's dispatch attempts and gauges (glue/queue.c). */
static const struct {
    const char *auto_key;
    const char *label;
    size_t offset;          /* of an apr_uint64_t in tw_metrics_totals_t */
} queue_lines[] = {
    { "TwWebhookDispatch2xx", "queued deliveries the app answered 2xx",
      APR_OFFSETOF(tw_metrics_totals_t, dispatches[TW_DISPATCH_2XX]) },
    { "TwWebhookDispatch4xx", "dispatches the app answered 4xx",
      APR_OFFSETOF(tw_metrics_totals_t, dispatches[TW_DISPATCH_4XX]) },
    { "TwWebhookDispatch5xx", "dispatches the app answered 5xx",
      APR_OFFSETOF(tw_metrics_totals_t, dispatches[TW_DISPATCH_5XX]) },
    { "TwWebhookDispatchFailed", "dispatches that failed (not reached, timed out)",
      APR_OFFSETOF(tw_metrics_totals_t, dispatches[TW_DISPATCH_FAILED]) },
    { "TwWebhookQueueDepth", "entries queued now",
      APR_OFFSETOF(tw_metrics_totals_t, queue_depth) },
    { "TwWebhookQueueDeadEntries", "dead entries now",
      APR_OFFSETOF(tw_metrics_totals_t, queue_dead) },
};
#define NQUEUE_LINES (sizeof(queue_lines) / sizeof(queue_lines[0]))
#define QUEUE_VALUE(t, i) (*(const apr_uint64_t *)((const char *)(t) + queue_lines[i].offset))

static apr_uint64_t line_value(const tw_metrics_totals_t *t, unsigned int sum)
{
    apr_uint64_t v = 0;
    int o;

    if (sum == MATCHED)
        return t->matched;
    if (sum == MATCHED_BYTES)
        return t->matched_bytes;
    for (o = 0; o < TW_OUTCOME_MAX; o++)
        if (sum & OUT(o))
            v += t->outcomes[o];
    return v;
}

/* "12 kept of 200: 9 delivered, 1 held, 2 refused" (states with rows). */
static const char *deliveries_summary(request_rec *r, const tw_deliveries_summary_t *d)
{
    const char *line = apr_psprintf(r->pool, "%" APR_UINT64_T_FMT " kept of %d", d->kept,
                                    d->capacity);
    const char *sep = ": ";
    int i;

    for (i = 0; i < TW_DLV_STATE_MAX; i++) {
        if (d->by_state[i] == 0)
            continue;
        line = apr_psprintf(r->pool, "%s%s%" APR_UINT64_T_FMT " %s", line, sep, d->by_state[i],
                            tw_deliveries_state_name((tw_dlv_state_t)i));
        sep = ", ";
    }
    return line;
}

static int hook_status(request_rec *r, int flags)
{
    tw_metrics_totals_t t;
    tw_deliveries_summary_t d;
    int has_ring = tw_deliveries_summary(r->server, &d);
    apr_size_t i;

    if (!tw_metrics_totals(&t))
        return OK;
    if (flags & AP_STATUS_SHORT) {
        ap_rputs("TwWebhookVersion: " TW_VERSION "\n", r);
        for (i = 0; i < NLINES; i++)
            ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", lines[i].auto_key,
                       line_value(&t, lines[i].sum));
        for (i = 0; i < NQUEUE_LINES; i++)
            ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", queue_lines[i].auto_key,
                       QUEUE_VALUE(&t, i));
        ap_rprintf(r, "TwWebhookQueueOldestSeconds: %" APR_UINT64_T_FMT "\n",
                   t.queue_oldest_usec / APR_USEC_PER_SEC);
        if (has_ring)
            ap_rprintf(r, "TwWebhookDeliveriesKept: %" APR_UINT64_T_FMT "\n", d.kept);
        return OK;
    }
    ap_rputs("<hr />\n<h2>mod_twwebhook</h2>\n<table>\n"
             "<tr><td>version</td><td>" TW_VERSION "</td></tr>\n", r);
    for (i = 0; i < NLINES; i++)
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   lines[i].label, line_value(&t, lines[i].sum));
    for (i = 0; i < NQUEUE_LINES; i++)
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   queue_lines[i].label, QUEUE_VALUE(&t, i));
    ap_rprintf(r, "<tr><td>oldest queued entry, seconds</td><td>%" APR_UINT64_T_FMT
               "</td></tr>\n", t.queue_oldest_usec / APR_USEC_PER_SEC);
    if (has_ring)   /* only numbers and our own words: nothing to escape */
        ap_rprintf(r, "<tr><td>recent deliveries (twwebhook-deliveries)</td><td>%s</td></tr>\n",
                   deliveries_summary(r, &d));
    ap_rputs("</table>\n", r);
    return OK;
}

void tw_status_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, hook_status, NULL, NULL, APR_HOOK_MIDDLE);
}
