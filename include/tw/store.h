/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/store.h - where the inbox keeps deliveries: a directory on this
 * server (libtwcore/tw_inbox.c) or a Redis shared by a fleet
 * (libtwcore/tw_store_redis.c), behind one interface used by the module
 * (glue/inbox.c, the dispatcher in glue/queue.c, the deliveries page) and
 * by twwebhook-inbox.
 *
 * A store is named as TwWebhookInbox names it: an absolute directory
 * ("/var/spool/twwebhook") or "redis:host:port[/db]". One store holds the
 * entries of every scope (location) that names it; an entry's id is the
 * replay key's hex (tw_inbox_id), which already binds the scope, so ids
 * never collide across scopes.
 *
 * An entry is in one of these states:
 *
 *   direct   recorded before the app runs in the sender's own request
 *            (TwWebhookInbox without TwWebhookQueue); removed on the
 *            app's 2xx. One left behind (httpd killed while the app ran)
 *            is listed, and a person redelivers it.
 *   held     the app failed in the sender's request (TwWebhookInboxHold
 *            On answered 200 for it): waits for a person (redeliver).
 *   queued   TwWebhookQueue On took it, or a person asked to redeliver
 *            it: the dispatcher hands it to the app once `next` has come.
 *            While a dispatch is in flight, `next` is the lease's end, so
 *            a dispatcher that died leaves it due again (never lost).
 *   dead     the dispatcher gave up (TwWebhookQueueRetry): kept, listed,
 *            redeliverable by hand, never removed but by a person.
 *
 * Every call that may block on the network returns within the store's
 * timeout (tw_store_open). Every write is durable when it returns
 * APR_SUCCESS (directory: fsync of the file and the directory; Redis: the
 * server acknowledged it, and its own persistence decides the rest, see
 * docs/inbox.md). Errors are apr_status_t: TW_INBOX_ECORRUPT,
 * TW_INBOX_ECHANGED (tw/inbox.h), APR_ENOENT (no such entry), APR_TIMEUP
 * (the engine did not answer in time), errno values (ENOSPC, EACCES,
 * ECONNREFUSED, ...). tw_store_strerror says what each means.
 */
#ifndef TW_STORE_H
#define TW_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "base.h"
#include "inbox.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TW_STATE_DIRECT = 0,
    TW_STATE_HELD,
    TW_STATE_QUEUED,
    TW_STATE_DEAD
} tw_state_t;

/* "direct", "held", "queued", "dead"; tw_state_parse: -1 when unknown. */
const char *tw_state_name(tw_state_t state);
int tw_state_parse(const char *name);

/* What a store keeps besides tw_inbox_entry_t's fields (which it keeps
 * too: received, updated, attempts, last_status, path, headers, length). */
typedef struct {
    tw_inbox_entry_t e;
    tw_state_t state;
    apr_time_t next;          /* queued: not before this (0: now) */
    int secret_index;         /* which secret verified it (TW_WEBHOOK_SECRET_INDEX,
                                 1-based); -1: unknown (older entries) */
    const char *scope;        /* the location it came in on (for the page) */
} tw_stored_t;

typedef struct tw_store tw_store_t;

/*
 * Opens (does not create) the store named spec: TW_STORE_SPEC_DIR or
 * TW_STORE_SPEC_REDIS by its form. timeout bounds each call that may block
 * on the network, connecting included. Cheap; no I/O until a call needs
 * it. A store is used by one thread at a time.
 */
TW_MUST_CHECK
apr_status_t tw_store_open(const char *spec, apr_interval_time_t timeout,
                           tw_store_t **pstore, apr_pool_t *pool);
/* 1 when spec names a Redis store ("redis:..."), 0 for a directory. */
int tw_store_spec_is_redis(const char *spec);
/* NULL when spec is a valid store name, else why not (for configtest). */
const char *tw_store_check_spec(const char *spec, apr_pool_t *pool);
/* The spec it was opened with (for log lines and the page; no password). */
const char *tw_store_name(const tw_store_t *store);

/*
 * Records one copy of a delivery in state s->state (DIRECT or QUEUED;
 * s->next for QUEUED), body from source/ctx, exactly s->e.body_length
 * bytes. Idempotent by s->e.id: *pcreated 1 when this copy made the
 * entry; 0 when an entry with that id was there (its body and state are
 * kept; a DIRECT copy still counts one more attempt and clears the
 * status, as tw_inbox_put does). Durable when APR_SUCCESS.
 */
TW_MUST_CHECK
apr_status_t tw_store_put(tw_store_t *store, const tw_stored_t *s,
                          tw_inbox_read_fn source, void *ctx, int *pcreated,
                          apr_pool_t *pool);

/* The app answered status in a sender's request (direct mode): a 2xx
 * removes the entry; anything else records the status, and held 1 makes
 * it HELD. APR_ENOENT when it is gone. */
TW_MUST_CHECK
apr_status_t tw_store_settle_direct(tw_store_t *store, const char *id, int status,
                                    int held, apr_pool_t *pool);

/*
 * The dispatcher's side. tw_store_take hands out up to max QUEUED entries
 * whose next has come, oldest first, each leased to owner until now +
 * lease (its next is set to that, attempts counted up by one, in one
 * atomic step per entry, so two dispatchers never take the same entry
 * while the lease runs). owner names the taker (host:pid) for the page.
 * The array holds tw_stored_t *.
 */
TW_MUST_CHECK
apr_status_t tw_store_take(tw_store_t *store, int max, apr_interval_time_t lease,
                           const char *owner, apr_array_header_t **ptaken,
                           apr_pool_t *pool);
/*
 * tw_store_take, leaving alone every entry whose scope is one of skip's
 * (const char *; NULL or empty: none): such an entry is not taken and its
 * attempts are not counted, as if it were not due yet, so a later take
 * (this dispatcher's next tick, or another one's) takes it. For a limit
 * per location (TwWebhookQueueConcurrency) on a store several locations
 * share: skip names the locations that are full. An entry without a scope
 * is never skipped. APR_ENOTIMPL from an engine without take_except when
 * skip is not empty.
 */
TW_MUST_CHECK
apr_status_t tw_store_take_except(tw_store_t *store, int max, apr_interval_time_t lease,
                                  const char *owner, const apr_array_header_t *skip,
                                  apr_array_header_t **ptaken, apr_pool_t *pool);
/* Opens the body of an entry for reading (tw_inbox_read_fn over *pctx);
 * the metadata in *ps comes from the same version as the body. */
TW_MUST_CHECK
apr_status_t tw_store_open_body(tw_store_t *store, const char *id, tw_stored_t **ps,
                                tw_inbox_read_fn *pread, void **pctx, apr_pool_t *pool);
/* A taken entry's dispatch ended: delivered (2xx: the entry goes), to be
 * tried again at next (status recorded, stays QUEUED), or dead (status
 * recorded). Only while attempts is still what the take counted
 * (TW_INBOX_ECHANGED otherwise: someone else took it since). */
typedef enum { TW_DISPATCH_DELIVERED, TW_DISPATCH_RETRY, TW_DISPATCH_DEAD } tw_dispatch_end_t;
TW_MUST_CHECK
apr_status_t tw_store_end_dispatch(tw_store_t *store, const tw_stored_t *taken,
                                   tw_dispatch_end_t end, int status, apr_time_t next,
                                   apr_pool_t *pool);

/* A person's side (twwebhook-inbox, the deliveries page). */
/* Every entry whose state is in the mask (1 << TW_STATE_x; 0: all),
 * oldest received first, as tw_stored_t *; unreadable ones counted in
 * *pbad (may be NULL). With Redis, the whole fleet's. */
TW_MUST_CHECK
apr_status_t tw_store_list(tw_store_t *store, unsigned int states,
                           apr_array_header_t **pentries, unsigned int *pbad,
                           apr_pool_t *pool);
/* Makes an entry QUEUED with next now (redeliver through the dispatcher). */
TW_MUST_CHECK
apr_status_t tw_store_requeue(tw_store_t *store, const char *id, apr_pool_t *pool);
/* Removes an entry whatever its state (drop). APR_ENOENT when not there. */
TW_MUST_CHECK
apr_status_t tw_store_remove(tw_store_t *store, const char *id, apr_pool_t *pool);
/* Removes an entry only while it is the version seen describes (no copy
 * recorded, no status set since: the same updated and attempts), in one
 * atomic step; TW_INBOX_ECHANGED, and the entry kept, otherwise; APR_ENOENT
 * when it is gone. For twwebhook-inbox redeliver, whose POST may not have
 * passed through a module with this inbox. APR_ENOTIMPL from an engine
 * that has no remove_unchanged. */
TW_MUST_CHECK
apr_status_t tw_store_remove_unchanged(tw_store_t *store, const tw_stored_t *seen,
                                       apr_pool_t *pool);

/* Counts for metrics and the page: entries by state, and the received
 * time of the oldest QUEUED one (0: none). */
typedef struct {
    apr_uint64_t by_state[TW_STATE_DEAD + 1];
    apr_time_t oldest_queued;
} tw_store_counts_t;
TW_MUST_CHECK
apr_status_t tw_store_count(tw_store_t *store, tw_store_counts_t *counts,
                            apr_pool_t *pool);

/* apr_strerror, knowing the inbox's and the engines' own statuses. */
const char *tw_store_strerror(apr_status_t rv, char *buf, apr_size_t bufsize);

#ifdef __cplusplus
}
#endif

#endif /* TW_STORE_H */
