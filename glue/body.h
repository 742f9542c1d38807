/*
 * SPDX-License-Identifier: Apache-2.0
 * body.h - the filters a transaction puts around its body and response
 * (glue/body.c): the verified body handed back, a refused body withheld,
 * the replay claim settled as the response leaves.
 */
#ifndef TWWEBHOOK_GLUE_BODY_H
#define TWWEBHOOK_GLUE_BODY_H

#include "httpd.h"
#include "util_filter.h"

#include "glue/txn.h"

/* register_hooks: the three filters, keeping their handles. */
void tw_body_register_filters(void);

/*
 * The verified body goes to the handler in place of the used-up protocol
 * input filters, once per transaction, with a true Content-Length (the
 * request may have come chunked, or as HTTP/2 frames without a length).
 */
void tw_body_hand_back(request_rec *r, tw_txn_t *txn);

/*
 * A refused transaction's body stays where it is, unread: whatever handler
 * runs next for it (an ErrorDocument page, a redirect's target) sees an
 * empty body (Content-Length 0), and a body neither read nor discarded to
 * its end closes the connection. Subrequests are left alone.
 */
void tw_body_withhold(request_rec *r, tw_txn_t *txn);

/*
 * Before tw_body_withhold, for a body refused unread: reads it to its end
 * from the protocol input filters and drops every byte, up to bound bytes.
 * APR_SUCCESS when it ended within bound; APR_ENOSPC when it is larger
 * (bound + 1 bytes read, no more); AP_FILTER_ERROR when HTTP_IN refused
 * its framing and answered itself; else the read's error (APR_TIMEUP...).
 * *pread: the bytes read. The caller decides when it is worth it.
 */
apr_status_t tw_body_discard(request_rec *r, apr_off_t bound, apr_off_t *pread);

/* 1 when f is the filter that hands the verified body back. */
int tw_body_is_handback(const ap_filter_t *f);

/* Settles the transaction's replay claim as r's response leaves (its first
 * bytes carry the final status), or at once with tw_body_settle_replay for
 * a response that never passed (the client went away). Once. */
void tw_body_settle_on_response(request_rec *r, tw_txn_t *txn);
void tw_body_settle_replay(request_rec *r, tw_txn_t *txn);

#endif /* TWWEBHOOK_GLUE_BODY_H */
