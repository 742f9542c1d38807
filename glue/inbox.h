/*
 * SPDX-License-Identifier: Apache-2.0
 * inbox.h - TwWebhookInbox at run time (glue/inbox.c; the store:
 * include/tw/store.h). The directives are glue/config.c's.
 */
#ifndef TWWEBHOOK_GLUE_INBOX_H
#define TWWEBHOOK_GLUE_INBOX_H

#include "httpd.h"

#include "glue/glue.h"
#include "glue/config.h"

/* configtest and start-up: every TwWebhookInbox directory exists and is
 * writable by the user the children run as (a Redis store is checked by
 * its directive's syntax only); also notes every store for
 * tw_inbox_stores. */
int tw_inbox_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
int tw_inbox_configured(const tw_dir_conf_t *dc);
/* Every distinct TwWebhookInbox value (const char *, as the directive
 * names it: tw_conf_inbox_dir) in the whole server tree, as the last
 * check_config found them; NULL when there is none. For the dispatcher
 * and the deliveries page, in the parent after check_config and in the
 * children. */
const apr_array_header_t *tw_inbox_stores(void);
/*
 * This child's store for spec (a value of tw_inbox_stores, or
 * tw_conf_inbox_dir(dc)), opened on first use and kept for the child's
 * life. Only in a child (after child_init): APR_EINIT elsewhere. A store
 * is used by one thread at a time (tw/store.h): put every call on it
 * between tw_inbox_store_lock and tw_inbox_store_unlock_after (which lock only
 * where the engine needs it: Redis, not a directory).
 */
apr_status_t tw_inbox_store_for(const char *spec, tw_store_t **pstore);
/*
 * The lock is always taken (unlock it in every case). APR_TIMEUP instead
 * of APR_SUCCESS: a call on the same connection ran out of its time
 * (TwWebhookInboxTimeout) while this thread waited for the lock; give up
 * at once rather than wait that long again (the Redis is frozen or
 * unreachable, and the sender's 503 must come in bounded time). Record
 * a call's result with tw_inbox_store_unlock_after so that the waiters
 * learn it.
 */
TW_MUST_CHECK apr_status_t tw_inbox_store_lock(tw_store_t *store);
void tw_inbox_store_unlock_after(tw_store_t *store, apr_status_t rv);
/*
 * Records, once per transaction and durably, the verified body about to be
 * handed to the app, under the entry id made from key (tw_replay_key's).
 * Not APR_SUCCESS: nothing was recorded and the app must not run.
 */
apr_status_t tw_inbox_record(request_rec *r, const tw_dir_conf_t *dc,
                             const unsigned char key[TW_MAC_LEN], tw_spool_t *body);
/* The scope an entry records (the page shows it, the dispatcher finds the
 * entry's location by it): "ServerName section", or the ServerName for a
 * server-wide secret. */
const char *tw_inbox_scope_of(apr_pool_t *p, const server_rec *s, const tw_dir_conf_t *dc);
/* TwWebhookQueue: records the delivery as QUEUED (due now), with the
 * secret index that verified it and its scope; idempotent by the entry
 * id (*pcreated 0 when it was there). Durable when APR_SUCCESS. */
apr_status_t tw_inbox_queue(request_rec *r, const tw_dir_conf_t *dc,
                            const unsigned char key[TW_MAC_LEN], tw_spool_t *body,
                            int *pcreated);
/* The secret index kept with entry id of dc's inbox (for a dispatch);
 * APR_ENOENT when the entry is gone. */
apr_status_t tw_inbox_secret_index(request_rec *r, const tw_dir_conf_t *dc, const char *id,
                                   int *psecret_index);
/* 1 when this transaction's response was turned into the held 200
 * ("accepted: held for redelivery"): it is not handled, whatever its
 * status says (the replay cache must not
 * remember it). */
int tw_inbox_held(request_rec *r);
/* What the app answered in this transaction, as the response filter saw
 * it before holding it (a held 5xx included); 0 when not seen. */
int tw_inbox_app_status(request_rec *r);
/* 1 when this transaction's entry is recorded with TwWebhookInboxHold On:
 * then the inbox counts its outcome (held or verified) once the app has
 * answered, and the flow does not. */
int tw_inbox_counts_outcome(request_rec *r);
/* The held-response filter, its insert hooks and the settling of entries
 * after the response (log_transaction). */
void tw_inbox_register_hooks(void);

#endif /* TWWEBHOOK_GLUE_INBOX_H */
