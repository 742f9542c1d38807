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
