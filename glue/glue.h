/*
 * SPDX-License-Identifier: Apache-2.0
 * glue.h - what every httpd glue file shares: the module record and the
 * transaction's top request. httpd types are welcome here and nowhere in
 * the core: include/twwebhook.h stays httpd-free.
 *
 * The glue in one direction (each header includes only those below it):
 *
 *   mod_twwebhook.c      the request flow and policy
 *   deliveries.h         the recent deliveries and their page
 *   body.h  txn.h        the transaction and the filters around its body
 *   metrics.h  inbox.h  replay.h     what the flow counts, keeps, remembers
 *   config.h             every directive's state, handler and getter
 *   replay_net.h         memcached / redis clients (no configuration)
 *   glue.h               this file
 */
#ifndef TWWEBHOOK_GLUE_H
#define TWWEBHOOK_GLUE_H

#include "httpd.h"
#include "http_config.h"

#include "apr_strings.h"

#include "twwebhook.h"

extern module AP_MODULE_DECLARE_DATA twwebhook_module;

/* The request whose pool outlives every request of the transaction:
 * internal redirects share it, subrequests hang below it. */
static APR_INLINE request_rec *tw_top_request(request_rec *r)
{
    while (r->main != NULL)
        r = r->main;
    return r;
}

/*
 * What the requests of one transaction share (internal redirects share the
 * top request's pool, subrequests reach it through r->main) is one record
 * on that pool (apr_pool_userdata, key TW_SHARED_KEY), made when the first
 * value is set. Each request_rec keeps a pointer to it in its
 * request_config (tw_req_t), so it hashes the key at most once; a value
 * not (yet) set is then an empty slot, not another look-up: a refused
 * request used to hash a key about a dozen times (issue 22).
 */
#define TW_SHARED_KEY "twwebhook-shared"

typedef enum {
    TW_SHARED_TXN,      /* glue/txn.h: the transaction */
    TW_SHARED_INBOX,    /* glue/inbox.c: its inbox entry, once recorded */
    TW_SHARED_ROW,      /* glue/deliveries.c: its row on the deliveries page */
    TW_SHARED_MAX
} tw_shared_t;

typedef struct {
    void *slot[TW_SHARED_MAX];
} tw_shared_state_t;

typedef struct {
    void *view;                   /* mod_twwebhook.c: this request's own view */
    tw_shared_state_t *shared;    /* the top request's record, once found */
} tw_req_t;

/* r's own record, made on first use. */
static APR_INLINE tw_req_t *tw_req_of(request_rec *r)
{
    tw_req_t *q = ap_get_module_config(r->request_config, &twwebhook_module);

    if (q == NULL) {
        q = apr_pcalloc(r->pool, sizeof(*q));
        ap_set_module_config(r->request_config, &twwebhook_module, q);
    }
    return q;
}

/* The transaction's shared record; made when create says so, else NULL
 * while nothing was set (every request of the server that reaches a hook
 * asks: those of no transaction get no record). */
static APR_INLINE tw_shared_state_t *tw_shared_of(request_rec *r, int create)
{
    tw_req_t *q = tw_req_of(r);

    if (q->shared == NULL) {
        apr_pool_t *top = tw_top_request(r)->pool;
        void *found = NULL;

        apr_pool_userdata_get(&found, TW_SHARED_KEY, top);
        if (found == NULL && create) {
            found = apr_pcalloc(top, sizeof(tw_shared_state_t));
            apr_pool_userdata_setn(found, TW_SHARED_KEY, NULL, top);
        }
        q->shared = found;
    }
    return q->shared;
}

/* The transaction's value in slot, NULL while unset. */
static APR_INLINE void *tw_shared_get(request_rec *r, tw_shared_t slot)
{
    tw_shared_state_t *shared = tw_shared_of(r, 0);

    return shared != NULL ? shared->slot[slot] : NULL;
}

/* Sets it for every request of the transaction; value must live on the
 * top request's pool (or longer). */
static APR_INLINE void tw_shared_set(request_rec *r, tw_shared_t slot, void *value)
{
    tw_shared_of(r, 1)->slot[slot] = value;
}

/* The request header of that name (a location's Signature, Event or
 * Delivery header); NULL for none, or no name configured. */
static APR_INLINE const char *tw_header_in(const request_rec *r, const char *name)
{
    return name != NULL ? apr_table_get(r->headers_in, name) : NULL;
}

/*
 * The name under which state kept in the process pool across restarts
 * (shared memory, a replay cache) is filed: name, the module's version and
 * the size of what is kept. httpd loads the module afresh at every
 * restart, so after an upgrade and a graceful restart the new code must
 * never take the old code's structures for its own: a changed layout gets
 * a new name, and starts empty (the old one stays where it is, in use by
 * the old generation's children until they go).
 */
static APR_INLINE const char *tw_kept_key(apr_pool_t *p, const char *name,
                                          apr_size_t layout)
{
    return apr_psprintf(p, "%s/%s/%" APR_SIZE_T_FMT, name, TW_VERSION, layout);
}

#endif /* TWWEBHOOK_GLUE_H */
