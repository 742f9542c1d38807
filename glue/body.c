/*
 * SPDX-License-Identifier: Apache-2.0
 * body.c - the filters a transaction puts around its body and response.
 *
 *   TWWEBHOOK_HANDBACK  (input, protocol level) hands the verified body,
 *                       stored in the transaction's tw_spool, to whatever
 *                       handler reads it, byte for byte, then EOS for ever.
 *   TWWEBHOOK_NO_BODY   (input, protocol level) stands for the body of a
 *                       refused transaction: EOS at once, nothing below it
 *                       is ever read (so no "100 Continue" either).
 *   TWWEBHOOK_SETTLE    (output, protocol level) settles the replay cache's
 *                       claim as the first response bytes leave.
 *
 * The two input filters take the place of the protocol input filters the
 * verifier used up (HTTP_IN; under HTTP/2 H2_C2_REQUEST_IN), so internal
 * redirects (which copy r->proto_input_filters) inherit them and content
 * filters stay above them. Each filter is found by the handle its
 * registration returned (as httpd's mod_request does), never by name.
 * When to hand back or withhold is the flow's decision (mod_twwebhook.c).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "apr_strings.h"

#include "glue/glue.h"
#include "glue/replay.h"
#include "glue/inbox.h"
#include "glue/txn.h"
#include "glue/body.h"

APLOG_USE_MODULE(twwebhook);

#define TW_HANDBACK_CHUNK     ((apr_size_t)64 * 1024)   /* per bucket handed back */
#define TW_DISCARD_CHUNK      ((apr_off_t)64 * 1024)    /* per read of a refused body */

/* Kept from registration (tw_body_register_filters); read-only after. */
static ap_filter_rec_t *handback_filter;
static ap_filter_rec_t *no_body_filter;
static ap_filter_rec_t *settle_filter;

/* ---- withholding a body nobody may read -------------------------------------- */

/*
 * The input filter of a refused transaction: every read ends at once (EOS),
 * and nothing below it is ever asked for a byte (so no "100 Continue"
 * either). It takes the place of the protocol filters, like the handback
 * filter, so internal redirects (error documents) inherit it.
 */
static apr_status_t filter_no_body(ap_filter_t *f, apr_bucket_brigade *bb,
                                   ap_input_mode_t mode, apr_read_type_e block,
                                   apr_off_t readbytes)
{
    if (mode == AP_MODE_INIT)
        return APR_SUCCESS;
    if (mode == AP_MODE_EATCRLF)
        return APR_ENOTIMPL;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return APR_SUCCESS;
}

/*
 * Puts the filter in place of the protocol input filters of r (for
 * HTTP/1 HTTP_IN, under HTTP/2 H2_C2_REQUEST_IN). Only filters of this
 * very request between the protocol and connection levels are removed:
 * content filters above (SetInputFilter DEFLATE) stay above, and the
 * connection's own filters stay below. Once removed they are gone for
 * internal redirects too, which copy r->proto_input_filters.
 */
static void replace_protocol_input(request_rec *r, ap_filter_rec_t *filter, void *ctx)
{
    ap_filter_t *f = r->proto_input_filters;

    while (f != NULL && f->frec->ftype < AP_FTYPE_CONNECTION) {
        ap_filter_t *next = f->next;

        if (f->r == r && f->frec->ftype >= AP_FTYPE_PROTOCOL)
            ap_remove_input_filter(f);
        f = next;
    }
    ap_add_input_filter_handle(filter, ctx, r, r->connection);
}

static int has_input_filter(request_rec *r, const ap_filter_rec_t *filter)
{
    ap_filter_t *f;

    for (f = r->proto_input_filters; f != NULL; f = f->next)
        if (f->frec == filter)
            return 1;
    return 0;
}

/*
 * A refused transaction's body stays where it is, unread: whatever handler
 * runs next for it (an ErrorDocument page, a redirect's target) sees an
 * empty body and is told so, and an unread body closes the connection.
 * Subrequests share their main request's filters and are left alone: they
 * are refused, and never read the body themselves.
 */
void tw_body_withhold(request_rec *r, tw_txn_t *txn)
{
    if (r->main != NULL)
        return;
    if (!txn->body_complete && !txn->body_discarded)
        tw_txn_hold_keepalive(r, txn);
    if (!has_input_filter(r, no_body_filter))
        replace_protocol_input(r, no_body_filter, NULL);
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    apr_table_setn(r->headers_in, "Content-Length", "0");
}

/* Adds up what bb holds (the data buckets) and tells whether it ends the body. */
static apr_status_t count_and_drop(apr_bucket_brigade *bb, apr_off_t *total, int *eos)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;
        apr_status_t rv;

        if (APR_BUCKET_IS_EOS(b)) {
            *eos = 1;
            break;
        }
        if (APR_BUCKET_IS_METADATA(b))
            continue;
        if (b->length != (apr_size_t)-1)
            len = b->length;
        else if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ)) != APR_SUCCESS)
            return rv;
        *total += (apr_off_t)len;
    }
    apr_brigade_cleanup(bb);   /* the bytes go nowhere */
    return APR_SUCCESS;
}

/*
 * Reads what is left of a refused request's body from its protocol input
 * filters (HTTP_IN: de-chunked, under the read timeout mod_reqtimeout or
 * Timeout sets) and drops it: no hash, no spool, no handler ever sees it.
 * At most bound + 1 bytes are asked for (the one byte over says the body
 * is larger), so a chunked body is never read further than that. Must run
 * before tw_body_withhold puts the no-body filter in their place; refuses
 * to run once it (or the handback filter) is there, as they would answer
 * EOS and make an unread body look discarded.
 */
apr_status_t tw_body_discard(request_rec *r, apr_off_t bound, apr_off_t *pread)
{
    apr_bucket_brigade *bb;
    apr_status_t rv = APR_SUCCESS;
    int eos = 0;

    *pread = 0;
    if (r->main != NULL || has_input_filter(r, no_body_filter)
        || has_input_filter(r, handback_filter))
        return APR_EINIT;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!eos && *pread <= bound) {
        apr_off_t want = bound - *pread + 1;

        rv = ap_get_brigade(r->proto_input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ,
                            want < TW_DISCARD_CHUNK ? want : TW_DISCARD_CHUNK);
        if (rv == APR_SUCCESS && APR_BRIGADE_EMPTY(bb))   /* a blocking read returns data */
            rv = APR_EGENERAL;
        if (rv == APR_SUCCESS)
            rv = count_and_drop(bb, pread, &eos);
        if (rv != APR_SUCCESS)
            break;
    }
    apr_brigade_destroy(bb);
    if (rv == APR_SUCCESS && *pread > bound)
        rv = APR_ENOSPC;
    return rv;
}

/* ---- the handback filter ----------------------------------------------------- */

/*
 * Hands the stored body to whoever reads the request body, honouring
 * readbytes, then EOS on every call after the last byte (httpd reads again
 * in ap_discard_request_body after each response).
 *
 * The body is read ahead front to back into handback_ahead and handed back
 * as pieces split off at readbytes (mod_cgid asks for 8 KB per call; the
 * pieces share their bucket's data instead of each costing a copy).
 *
 * The memory part goes as one pool bucket over the spool's own buffer: no
 * copy, and the bucket copies itself to the heap should a handler keep it
 * beyond the top request's pool, which owns that buffer. The file part goes
 * TW_HANDBACK_CHUNK at a time as heap buckets (the spool's cursor: one
 * read(2), no lseek(2), per chunk). Not file buckets: the spool's file
 * belongs to the transaction and a handler may set buckets aside beyond
 * it, and a file bucket read by the handler would seek per read or map up
 * to 4 MiB of the file into the child.
 */
static apr_status_t handback_read_ahead(ap_filter_t *f, tw_txn_t *txn)
{
    apr_bucket_alloc_t *ba = f->c->bucket_alloc;
    apr_size_t got = 0;
    const void *mem = tw_spool_memory_at(txn->body, txn->handback_cursor.offset, &got);
    char *buf;
    apr_status_t rv;

    if (mem != NULL) {
        APR_BRIGADE_INSERT_TAIL(txn->handback_ahead,
                                apr_bucket_pool_create(mem, got, tw_top_request(f->r)->pool,
                                                       ba));
        txn->handback_cursor.offset += (apr_off_t)got;
        return APR_SUCCESS;
    }
    buf = apr_bucket_alloc(TW_HANDBACK_CHUNK, ba);
    rv = tw_spool_read_next(txn->body, &txn->handback_cursor, buf, TW_HANDBACK_CHUNK, &got);
    if (rv != APR_SUCCESS || got == 0) {
        apr_bucket_free(buf);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, f->r,
                      "TWW0501: cannot read the stored body back at offset %" APR_OFF_T_FMT,
                      txn->handback_cursor.offset);
        return rv != APR_SUCCESS ? rv : APR_EGENERAL;
    }
    APR_BRIGADE_INSERT_TAIL(txn->handback_ahead,
                            apr_bucket_heap_create(buf, got, apr_bucket_free, ba));
    return APR_SUCCESS;
}

static apr_status_t filter_handback(ap_filter_t *f, apr_bucket_brigade *bb,
                                    ap_input_mode_t mode, apr_read_type_e block,
                                    apr_off_t readbytes)
{
    tw_txn_t *txn = f->ctx;
    apr_bucket_alloc_t *ba = f->c->bucket_alloc;
    apr_off_t total = tw_spool_length(txn->body);
    apr_size_t n;
    apr_bucket *b;
    apr_status_t rv;

    if (mode == AP_MODE_INIT)
        return APR_SUCCESS;
    if (mode == AP_MODE_EATCRLF)
        return APR_ENOTIMPL;

    if (txn->handback_offset >= total) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
        return APR_SUCCESS;
    }
    /* On the top request's pool: internal redirects share it, and its
     * cleanup frees what is left when nobody read the body to the end. */
    if (txn->handback_ahead == NULL)
        txn->handback_ahead = apr_brigade_create(tw_top_request(f->r)->pool, ba);
    if (APR_BRIGADE_EMPTY(txn->handback_ahead)
        && (rv = handback_read_ahead(f, txn)) != APR_SUCCESS)
        return rv;

    b = APR_BRIGADE_FIRST(txn->handback_ahead);   /* pool or heap, never empty */
    n = b->length;
    if (readbytes > 0 && (apr_uint64_t)readbytes < n)
        n = (apr_size_t)readbytes;
    if (mode == AP_MODE_GETLINE) {
        const char *data, *lf;
        apr_size_t len;

        if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ)) != APR_SUCCESS)
            return rv;
        if ((lf = memchr(data, '\n', n)) != NULL)
            n = (apr_size_t)(lf - data) + 1;
    }
    if (n < b->length && (rv = apr_bucket_split(b, n)) != APR_SUCCESS)
        return rv;
    if (mode == AP_MODE_SPECULATIVE) {
        apr_bucket *copy;

        if ((rv = apr_bucket_copy(b, &copy)) != APR_SUCCESS)
            return rv;
        APR_BRIGADE_INSERT_TAIL(bb, copy);
        return APR_SUCCESS;
    }
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(bb, b);
    txn->handback_offset += (apr_off_t)n;
    if (txn->handback_offset >= total)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
    return APR_SUCCESS;
}

/* The verified body goes to the handler in place of the used-up filters. */
void tw_body_hand_back(request_rec *r, tw_txn_t *txn)
{
    if (txn->handback_installed)
        return;
    txn->handback_installed = 1;
    replace_protocol_input(r, handback_filter, txn);

    /* What was read may have come chunked (or as HTTP/2 frames without a
     * length); what is handed back has a length, and handlers that set up
     * a CGI or FastCGI environment take CONTENT_LENGTH from here. */
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    apr_table_setn(r->headers_in, "Content-Length",
                   apr_off_t_toa(r->pool, tw_spool_length(txn->body)));
}

int tw_body_is_handback(const ap_filter_t *f)
{
    return f->frec == handback_filter;
}

/* ---- settling the replay claim ------------------------------------------------ */

/* Records a reserved delivery as handled (2xx) or not, once. */
void tw_body_settle_replay(request_rec *r, tw_txn_t *txn)
{
    tw_replay_claim_t *claim = txn->replay_claim;
    request_rec *last = r;

    if (claim == NULL)
        return;
    while (last->next != NULL)   /* the status of the last internal redirect */
        last = last->next;
    txn->replay_claim = NULL;
    /* A held 200 (TwWebhookInboxHold) is a failure kept for redelivery. */
    tw_replay_settle(r, claim, ap_is_HTTP_SUCCESS(last->status) && !tw_inbox_held(r));
}

/* The first response bytes carry the final status: settle before they go. */
static apr_status_t filter_settle(ap_filter_t *f, apr_bucket_brigade *bb)
{
    tw_body_settle_replay(f->r, f->ctx);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void tw_body_settle_on_response(request_rec *r, tw_txn_t *txn)
{
    ap_add_output_filter_handle(settle_filter, txn, r, r->connection);
}

void tw_body_register_filters(void)
{
    handback_filter = ap_register_input_filter("TWWEBHOOK_HANDBACK", filter_handback, NULL,
                                               AP_FTYPE_PROTOCOL);
    no_body_filter = ap_register_input_filter("TWWEBHOOK_NO_BODY", filter_no_body, NULL,
                                              AP_FTYPE_PROTOCOL);
    /* Protocol level: survives internal redirects, sees error pages too. */
    settle_filter = ap_register_output_filter("TWWEBHOOK_SETTLE", filter_settle, NULL,
                                              AP_FTYPE_PROTOCOL);
}
