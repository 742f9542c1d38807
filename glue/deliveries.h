/*
 * SPDX-License-Identifier: Apache-2.0
 * deliveries.h - the recent deliveries (glue/deliveries.c): a ring of the
 * last TwWebhookDeliveriesLog transactions per (virtual) server, one
 * fixed-size row each, in shared memory that every child and a graceful
 * restart see; served by "SetHandler twwebhook-deliveries" (HTML, and
 * ?format=json), with the inbox's entries and their Redeliver and Drop.
 *
 * A row is written once, when the transaction's outcome is known (the
 * flow calls tw_deliveries_record next to tw_metrics_count), and
 * completed in log_transaction with what the app answered; a delivery the
 * inbox recorded is then followed through the queue by its entry id.
 */
#ifndef TWWEBHOOK_GLUE_DELIVERIES_H
#define TWWEBHOOK_GLUE_DELIVERIES_H

#include "httpd.h"

#include "glue/glue.h"
#include "glue/metrics.h"

/* What became of a delivery, as the page says it (colour and word). */
typedef enum {
    TW_DLV_PENDING,       /* outcome known, the app has not answered yet */
    TW_DLV_DELIVERED,     /* handed to the app, which answered 1xx-3xx */
    TW_DLV_FAILED,        /* handed to the app, which failed: the sender retries */
    TW_DLV_HELD,          /* the app failed, answered 200 and kept (TwWebhookInboxHold) */
    TW_DLV_QUEUED,        /* taken by the queue (TwWebhookQueue) */
    TW_DLV_DEAD,          /* the queue gave up */
    TW_DLV_ACKNOWLEDGED,  /* answered without the app: duplicate, ignored event */
    TW_DLV_REFUSED,       /* rejected by the module */
    TW_DLV_STATE_MAX
} tw_dlv_state_t;

/* "pending", "delivered", "failed", ... */
const char *tw_deliveries_state_name(tw_dlv_state_t state);

/*
 * The transaction of r has this outcome: writes its row (the first call)
 * or rewrites its verdict (a later refusal of the same transaction).
 * status is the module's answer for a rejection (0 otherwise); tag is
 * the refusal's log tag (reject()'s; NULL for the others, whose reason
 * names the line it refers to) and reason says why in words, never a
 * secret; event and delivery
 * as the location reads them (NULL: from the headers). Cheap and silent
 * when the ring is off (TwWebhookDeliveriesLog 0).
 */
void tw_deliveries_record(request_rec *r, tw_outcome_t outcome, int status, const char *tag,
                          const char *reason, const char *event, const char *delivery);

/* The inbox entry the transaction's delivery was recorded as (held,
 * queued, or direct): its row then follows the entry through the queue
 * (tw_deliveries_dispatched, tw_deliveries_requeued). */
void tw_deliveries_entry(request_rec *r, const char *entry_id);

/*
 * What the queue's dispatcher (glue/queue.c) made of one try of an entry:
 * the newest row still kept for entry_id, in any server's ring, says
 * state (delivered, queued with its next try, or dead), the tries so far,
 * what the app answered (0: not reached) and how long the try took;
 * reason says it in words and names the log line. Nothing when no row
 * is kept for it (overwritten, or the entry came in on another server of
 * a fleet sharing a Redis inbox). Callable from any thread of any child.
 */
void tw_deliveries_dispatched(const char *entry_id, tw_dlv_state_t state, unsigned int attempts,
                              int app_status, apr_interval_time_t took, apr_time_t next_try,
                              const char *reason);

/* A person asked for entry_id to be redelivered (the page): its row, if
 * kept, says queued, due now. */
void tw_deliveries_requeued(const char *entry_id, const char *reason);

/* For server-status: the rows kept for s, by state; 0 when there is no ring. */
typedef struct {
    int capacity;
    apr_uint64_t kept;
    apr_uint64_t by_state[TW_DLV_STATE_MAX];
} tw_deliveries_summary_t;
int tw_deliveries_summary(const server_rec *s, tw_deliveries_summary_t *sum);

/* The rings (one per server name and port, kept across graceful restarts)
 * and this start's action nonce; skips the dry run. */
int tw_deliveries_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);
/* The page's handler and the log_transaction hook that completes rows. */
void tw_deliveries_register_hooks(void);

#endif /* TWWEBHOOK_GLUE_DELIVERIES_H */
