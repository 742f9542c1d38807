/*
 * SPDX-License-Identifier: Apache-2.0
 * mod_twwebhook.c - verify Teamwork webhooks before any application code runs.
 *
 * Request flow (all in the fixups hook, APR_HOOK_REALLY_FIRST, so that
 * httpd's own access control such as "Require ip" has already run and
 * mod_rewrite's per-directory rules have not):
 *
 *   1. A request under a protected location (a TwWebhookSecret applies and
 *      TwWebhook is not Off) must be a POST with a well-formed Signature
 *      header and no Content-Encoding (the signature covers the bytes as
 *      sent; DEFLATE must never inflate them for the app). All are checked
 *      before the first body read, so a client that sent "Expect:
 *      100-continue" is refused without ever being told to send its body.
 *   2. The body is read to its end from the request's protocol input filters,
 *      streamed through one HMAC-SHA256 per configured secret and into a
 *      tw_spool (memory up to TwWebhookSpoolMemoryLimit, a temporary file
 *      in TwWebhookSpoolDir beyond).
 *   3. No secret matches: 401. One does: the Event and Delivery headers must
 *      be plain (they are not signed), else 400.
 *   4. The protocol input filters that were used up (HTTP_IN, and under
 *      HTTP/2 H2_C2_REQUEST_IN) are replaced by the "TWWEBHOOK_REPLAY"
 *      filter, which hands the stored body to whatever handler the location
 *      has (CGI, mod_proxy_fcgi, mod_proxy_http, mod_php) byte for byte,
 *      with a true Content-Length, then answers EOS for ever after.
 *   5. The verified facts go into r->subprocess_env as TW_WEBHOOK_*.
 *   6. The handler hook, first of all, once every insert_filter hook has
 *      run: no app reads the handed-back body through an input filter that
 *      may change it (500, see transforming_input_filter).
 *
 * The outcome of a transaction (the top-level request, its internal
 * redirects and its subrequests) lives in a tw_txn_t on the top request's
 * pool, so verification happens once, internal redirects (which share that
 * pool) get the variables set again under their plain names, and a
 * subrequest into a protected location is only let through when its
 * transaction was verified against the same secrets.
 *
 * Everything cryptographic and every parser lives in the httpd-free core
 * (include/twwebhook.h). This file is the flow and the policy: which
 * request reads, verifies, refuses or passes on a body. The filters that
 * hand the body back, withhold it and settle the replay claim are in
 * glue/body.c; the transaction's state in glue/txn.h.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "mod_core.h"         /* ap_response_code_string: is there an ErrorDocument? */

#include "apr_strings.h"
#include "apr_file_info.h"
#include "apr_lib.h"

#include "twwebhook.h"
#include "glue/glue.h"
#include "glue/config.h"
#include "glue/replay.h"
#include "glue/inbox.h"
#include "glue/metrics.h"
#include "glue/deliveries.h"
#include "glue/txn.h"
#include "glue/body.h"
#include "glue/queue.h"

/* Declared here, defined by AP_DECLARE_MODULE at the bottom (which also
 * makes "LogLevel twwebhook:debug" apply to every log call above it). */
module AP_MODULE_DECLARE_DATA twwebhook_module;

/* ---- defaults and limits ------------------------------------------------ */

#define TW_READ_CHUNK         ((apr_off_t)64 * 1024)    /* per ap_get_brigade */
#define TW_REREAD_CHUNK       ((apr_size_t)64 * 1024)   /* per read of the stored body */

#define TW_JSON_MAX_BYTES     ((apr_off_t)4 * 1024 * 1024) /* parsed at most */

#define TW_NOTE_DELIVERY      "twwebhook-delivery"

/* ---- what one location makes of the body ---------------------------------- */

/*
 * The transaction (tw_txn_t, shared by every request of one delivery) is
 * in glue/txn.h. The view is what one protected location makes of the
 * verified body: its own header names, JSON exports and event list. Kept
 * per request (request_config), so that the location a request ends up
 * in decides, and a subrequest's view never leaks into its main request.
 */
typedef struct {
    const char *verified;
    const char *profile;               /* TwWebhookProfile's name */
    const char *timestamp;             /* the signed timestamp, if the profile has one */
    const char *event;                 /* NULL when the sender sent none */
    const char *delivery;
    const char *secret_index;
    const char *attempt;               /* TW_WEBHOOK_ATTEMPT */
    apr_array_header_t *exported;      /* tw_exported_t, from TwWebhookExportJSON */
    const char *ack;                   /* set: answer 200 with this, skip the app */
    tw_outcome_t outcome;              /* verified (0), duplicate or ignored */
    const char *entry;                 /* the inbox entry's id, once recorded or queued */
} tw_view_t;

typedef struct {
    const char *name;
    const char *value;                 /* NULL: not available in this body */
} tw_exported_t;

static tw_view_t *view_get(request_rec *r)
{
    const tw_req_t *q = ap_get_module_config(r->request_config, &twwebhook_module);

    return q != NULL ? q->view : NULL;
}

/*
 * The view that applies to r: its own, else that of the request it was
 * internally redirected from (a redirect out of a protected location
 * keeps the facts of the body it carries), else its main request's.
 */
static const tw_view_t *view_find(request_rec *r)
{
    for (; r != NULL; r = r->main) {
        request_rec *q;

        for (q = r; q != NULL; q = q->prev) {
            const tw_view_t *view = view_get(q);
            if (view != NULL)
                return view;
        }
    }
    return NULL;
}

/* The access-log notes, again for each request of the transaction: an
 * internal redirect starts with empty notes, and %{...}n reads the last. */
static void set_view_notes(request_rec *r, const tw_view_t *view)
{
    apr_table_setn(r->notes, TW_NOTE_OUTCOME, tw_outcome_name(view->outcome));
    if (view->delivery != NULL)
        apr_table_setn(r->notes, TW_NOTE_DELIVERY, view->delivery);
}

/* ---- the environment handed to the downstream ------------------------------ */

static const struct {
    const char *name;
    size_t offset;   /* of a const char * in tw_view_t */
} tw_env_vars[] = {
    { "TW_WEBHOOK_VERIFIED",     APR_OFFSETOF(tw_view_t, verified) },
    { "TW_WEBHOOK_PROFILE",      APR_OFFSETOF(tw_view_t, profile) },
    { "TW_WEBHOOK_TIMESTAMP",    APR_OFFSETOF(tw_view_t, timestamp) },
    { "TW_WEBHOOK_EVENT",        APR_OFFSETOF(tw_view_t, event) },
    { "TW_WEBHOOK_DELIVERY",     APR_OFFSETOF(tw_view_t, delivery) },
    { "TW_WEBHOOK_SECRET_INDEX", APR_OFFSETOF(tw_view_t, secret_index) },
    { "TW_WEBHOOK_ATTEMPT",      APR_OFFSETOF(tw_view_t, attempt) },
};

/*
 * Sets every TW_WEBHOOK_* variable from the view, and removes any of them
 * that something else put there for a value we do not have (e.g. an
 * absent Event): only this module speaks under these names. With no view
 * (a refused transaction), all of them are removed.
 */
static void export_env(request_rec *r, const tw_view_t *view)
{
    apr_size_t i;

    for (i = 0; i < sizeof(tw_env_vars) / sizeof(tw_env_vars[0]); i++) {
        const char *value = view == NULL ? NULL
            : *(const char *const *)((const char *)view + tw_env_vars[i].offset);

        if (value != NULL)
            apr_table_setn(r->subprocess_env, tw_env_vars[i].name, value);
        else
            apr_table_unset(r->subprocess_env, tw_env_vars[i].name);
    }
    for (i = 0; view != NULL && view->exported != NULL
                && i < (apr_size_t)view->exported->nelts; i++) {
        const tw_exported_t *e = &APR_ARRAY_IDX(view->exported, i, tw_exported_t);

        if (e->value != NULL)
            apr_table_setn(r->subprocess_env, e->name, e->value);
        else
            apr_table_unset(r->subprocess_env, e->name);
    }
}

/* ---- logging and rejection -------------------------------------------------- */

/* A header value made safe and short enough for one error-log line. */
static const char *loggable(request_rec *r, const char *value)
{
    if (value == NULL)
        return "-";
    if (strlen(value) > TW_EVENT_MAX)
        value = apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, value, TW_EVENT_MAX), "...", NULL);
    return ap_escape_logitem(r->pool, value);
}

/* The twwebhook-delivery note, for mod_log_config's %{twwebhook-delivery}n;
 * only a plain value, so an access log line cannot be forged through it. */
static void set_delivery_note(request_rec *r, const char *delivery)
{
    if (delivery != NULL && tw_delivery_is_plain(delivery))
        apr_table_setn(r->notes, TW_NOTE_DELIVERY, delivery);
}

/*
 * The answer's body for a client-caused refusal: one line saying what
 * failed, in place of httpd's stock page (whose 401 text speaks of a
 * browser and credentials). Never the secret, a MAC or the signature; the
 * reasons passed to reject() never hold them. Only where the location has
 * no ErrorDocument of its own for the status, and not for server faults
 * (500, 503), whose stock page says nothing about the setup.
 */
static void set_refusal_body(request_rec *r, int status, const char *reason)
{
    switch (status) {
    case HTTP_BAD_REQUEST:
    case HTTP_UNAUTHORIZED:
    case HTTP_METHOD_NOT_ALLOWED:
    case HTTP_REQUEST_TIME_OUT:
    case HTTP_CONFLICT:
    case HTTP_REQUEST_ENTITY_TOO_LARGE:
    case HTTP_UNSUPPORTED_MEDIA_TYPE:
        break;
    default:
        return;
    }
    if (r->main != NULL || ap_response_code_string(r, ap_index_of_response(status)) != NULL)
        return;
    /* httpd sends it as text/html: escape, though the reasons are ours
     * (most have nothing to escape: no copy for those). No formatter: a
     * flood of junk is refused through here. */
    if (strpbrk(reason, "<>&\"'") != NULL)
        reason = ap_escape_html(r->pool, reason);
    ap_custom_response(r, status, apr_pstrcat(r->pool, "webhook rejected with ",
                                              apr_itoa(r->pool, status), ": ", reason, "\n",
                                              NULL));
}

/* The Content-Length, or -1 when absent or malformed (HTTP_IN refuses the
 * latter itself when the body is read). */
static apr_off_t announced_length(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t len;
    char *end;

    if (cl == NULL || apr_strtoff(&len, cl, &end, 10) != APR_SUCCESS || end == cl
        || *end != '\0' || len < 0)
        return -1;
    return len;
}

/*
 * Why a body refused before it was read is left unread (the connection
 * then closes after the answer, as tw_txn_hold_keepalive arranged), NULL
 * when it is worth discarding: as for httpd's own refusals
 * (ap_discard_request_body), reading and dropping a small body costs less
 * than the client's new connection and the lingering close, which matters
 * most under a flood of junk. Not worth it, or not safe: under HTTP/2
 * (a refusal costs no connection there: the stream is answered and reset,
 * and its flow-control window bounds what the client can send unread),
 * when the client waits for "100 Continue" (reading would make HTTP_IN
 * send it), when the status drops the connection anyway, when the body is
 * announced larger than the location takes, and where its Content-Length
 * is over LimitRequestBody (HTTP_IN would refuse the read and answer a
 * second time; a chunked body is held under it instead, discard_bound).
 */
static const char *why_left_unread(request_rec *r, const tw_dir_conf_t *dc, int status,
                                   apr_off_t announced)
{
    apr_off_t limit = ap_get_limit_req_body(r);

    if (r->proto_num >= HTTP_VERSION(2, 0))
        return "HTTP/2";
    if (r->expecting_100)
        return "Expect: 100-continue";
    if (ap_status_drops_connection(status))
        return "the status closes the connection";
    if (announced > tw_conf_max_body(dc))
        return "Content-Length over TwWebhookMaxBodySize";
    if (limit > 0 && announced > limit)
        return "LimitRequestBody would refuse the read itself";
    return NULL;
}

/*
 * How much of a refused body discard_unread_body reads at most, and which
 * setting says so: its Content-Length (within both limits, as
 * why_left_unread checked), else, for a chunked body, TwWebhookMaxBodySize
 * or, where it is lower, one byte under LimitRequestBody: reading the
 * byte over the bound must never make HTTP_IN refuse the body and answer
 * 413 after the module's own refusal.
 */
static apr_off_t discard_bound(request_rec *r, const tw_dir_conf_t *dc, apr_off_t announced,
                               const char **pname)
{
    apr_off_t bound = tw_conf_max_body(dc), limit = ap_get_limit_req_body(r);

    *pname = "TwWebhookMaxBodySize";
    if (announced >= 0)
        return announced < bound ? announced : bound;
    if (limit > 0 && limit - 1 < bound) {
        *pname = "LimitRequestBody";
        bound = limit - 1;
    }
    return bound;
}

/* TWW0128: what became of a body refused before it was read. */
static void log_discard(request_rec *r, const char *why, apr_status_t rv, apr_off_t got,
                        const char *bound_name)
{
    const char *what;

    if (why != NULL)
        what = apr_psprintf(r->pool, "left unread (%s), %s", why,
                            r->proto_num >= HTTP_VERSION(2, 0)
                            ? "the stream is reset after the answer" : "connection closes");
    else if (rv == APR_SUCCESS)
        what = apr_psprintf(r->pool, "%" APR_OFF_T_FMT " bytes discarded unread, "
                            "connection kept", got);
    else if (rv == APR_ENOSPC)
        what = apr_psprintf(r->pool, "%" APR_OFF_T_FMT " bytes read, over %s: the rest "
                            "left unread, connection closes", got, bound_name);
    else
        what = apr_psprintf(r->pool, "discarding failed after %" APR_OFF_T_FMT " bytes%s, "
                            "connection closes", got, rv == AP_FILTER_ERROR
                            ? " (httpd refused its framing and answered itself)" : "");
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG,
                  rv == AP_FILTER_ERROR || rv == APR_ENOSPC ? APR_SUCCESS : rv, r,
                  "TWW0128: refused before its body was read: %s", what);
}

/*
 * A refusal on the headers alone, by the request that was to read the
 * body: the body is read and dropped up to min(Content-Length,
 * TwWebhookMaxBodySize) (chunked: TwWebhookMaxBodySize as it arrives) and
 * the connection is kept when it ended within that; otherwise it is left
 * unread and the connection closes. Returns OK, or AP_FILTER_ERROR when
 * HTTP_IN refused the body's framing and has answered itself.
 */
static int discard_unread_body(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                               int status)
{
    apr_off_t announced = announced_length(r), got = 0;
    const char *why = why_left_unread(r, dc, status, announced);
    const char *bound_name = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (why == NULL) {
        rv = tw_body_discard(r, discard_bound(r, dc, announced, &bound_name), &got);
        if (rv == APR_SUCCESS) {
            txn->body_discarded = 1;
            tw_txn_release_keepalive(r, txn);   /* read to its end: safe to keep */
        }
    }
    /* Its words are formatted only where the line is logged: this runs
     * for every refusal of a flood of junk. */
    if (APLOG_R_IS_LEVEL(r, APLOG_DEBUG))
        log_discard(r, why, rv, got, bound_name);
    return rv == AP_FILTER_ERROR ? AP_FILTER_ERROR : OK;
}

/* The access-log note of a refusal: its exact status ("rejected-415"),
 * which the metrics' outcome groups ("rejected-4xx"). The statuses that
 * have an outcome of their own are named without formatting: a flood of
 * junk is refused through here. */
static const char *rejection_note(request_rec *r, int status, tw_outcome_t outcome)
{
    switch (outcome) {
    case TW_OUTCOME_REJECTED_4XX:
    case TW_OUTCOME_REJECTED_5XX:
    case TW_OUTCOME_REJECTED_OTHER:
        return apr_pstrcat(r->pool, "rejected-", apr_itoa(r->pool, status), NULL);
    default:
        return tw_outcome_name(outcome);
    }
}

/*
 * Logs one rejection line (tag is the call site's own), refuses the
 * transaction (its body is withheld from every handler from now on) and
 * returns status for the hook to answer with. Client-caused rejections log
 * at info, so a hostile client cannot flood the error log at the default
 * LogLevel; server faults log at error. A body refused before it was read
 * is discarded where that is cheap (discard_unread_body).
 */
static int reject(request_rec *r, int level, apr_status_t rv, int status,
                  const char *tag, const char *reason)
{
    const tw_dir_conf_t *dc = tw_conf_of(r);
    tw_txn_t *txn = tw_txn_get(r);

    const char *delivery = tw_header_in(r, tw_conf_delivery_header(dc));
    tw_outcome_t outcome = tw_outcome_of_status(status);

    ap_log_rerror(APLOG_MARK, level, rv, r,
                  "%s: rejected with %d: %s (client %s, delivery %s, event %s)",
                  tag, status, reason, r->useragent_ip, loggable(r, delivery),
                  loggable(r, tw_header_in(r, tw_conf_event_header(dc))));
    apr_table_setn(r->notes, TW_NOTE_OUTCOME, rejection_note(r, status, outcome));
    set_delivery_note(r, delivery);
    tw_metrics_count(r, outcome);
    tw_deliveries_record(r, outcome, status, tag, reason, NULL, NULL);
    set_refusal_body(r, status, reason);
    if (r->main == NULL) {
        if (txn == NULL)
            txn = tw_txn_begin(r);
        if (txn->state == TW_TXN_PENDING && txn->owner == r && txn->body == NULL
            && discard_unread_body(r, dc, txn, status) == AP_FILTER_ERROR)
            status = AP_FILTER_ERROR;
        txn->state = TW_TXN_REFUSED;
        tw_body_withhold(r, txn);
    }
    return status;
}

/* ---- verification ------------------------------------------------------------ */

static apr_status_t cleanup_verifier(void *v)
{
    tw_verifier_destroy(v);
    return APR_SUCCESS;
}

static tw_verifier_t *verifier_for(request_rec *r, const apr_array_header_t *keys)
{
    tw_verifier_t *v = NULL;

    if (tw_verifier_create(&v, (const tw_key_t *const *)keys->elts,
                           (size_t)keys->nelts) != TW_OK)
        return NULL;
    apr_pool_cleanup_register(r->pool, v, cleanup_verifier, apr_pool_cleanup_null);
    return v;
}

/*
 * Maps a failed body read to the status to answer with. AP_FILTER_ERROR
 * means an input filter below (HTTP_IN: LimitRequestBody, bad chunking)
 * has already answered, with r->status, and must be passed through as is.
 */
static int read_failure(request_rec *r, apr_status_t rv)
{
    int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);

    if (status == HTTP_REQUEST_TIME_OUT)
        return reject(r, APLOG_INFO, rv, status, "TWW0105", "body read timed out");
    if (status == AP_FILTER_ERROR) {
        reject(r, APLOG_INFO, rv, r->status, "TWW0106",
               "body refused by httpd's input filters (LimitRequestBody, bad framing)");
        return AP_FILTER_ERROR;
    }
    return reject(r, APLOG_INFO, rv, status, "TWW0107", "body could not be read (client gone?)");
}

/* What the body is streamed through as it is read: the verifier, or (for
 * a dispatched entry, verified at accept) the message digest alone. */
typedef tw_status_t (*tw_chunk_feed_t)(void *ctx, const void *data, size_t len);

/*
 * Reads the whole body from the protocol input filters into the spool and
 * through feed. Returns OK or the status to answer with (already logged).
 */
static int read_body(request_rec *r, tw_txn_t *txn, tw_chunk_feed_t feed, void *v,
                     apr_off_t max_body)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_off_t total = 0;

    while (!txn->body_complete) {
        apr_status_t rv = ap_get_brigade(r->proto_input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, TW_READ_CHUNK);
        apr_bucket *b;

        if (rv != APR_SUCCESS)
            return read_failure(r, rv);
        if (APR_BRIGADE_EMPTY(bb))  /* a blocking read must return something */
            return reject(r, APLOG_INFO, APR_EGENERAL, HTTP_BAD_REQUEST, "TWW0116",
                          "body could not be read (no data from input filters)");

        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                /* The spool buffers its file writes: the last of them
                 * can fail here, and then the body is not stored whole. */
                rv = tw_spool_finish(txn->body);
                if (rv != APR_SUCCESS)
                    return reject(r, APLOG_ERR, rv, HTTP_INTERNAL_SERVER_ERROR, "TWW0420",
                                  "cannot store the body (spool directory full or unwritable?)");
                txn->body_complete = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b))
                continue;
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
            if (rv != APR_SUCCESS)
                return reject(r, APLOG_INFO, rv, ap_map_http_request_error(rv, HTTP_BAD_REQUEST),
                              "TWW0108", "body could not be read");
            total += (apr_off_t)len;
            if (total > max_body)
                return reject(r, APLOG_INFO, 0, HTTP_REQUEST_ENTITY_TOO_LARGE, "TWW0109",
                              "body larger than TwWebhookMaxBodySize");
            if (feed(v, data, len) != TW_OK)
                return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0401",
                              "HMAC computation failed (libcrypto)");
            /* The data is copied: buckets from TLS and HTTP/2 are transient. */
            rv = tw_spool_append(txn->body, data, len);
            if (rv != APR_SUCCESS)
                return reject(r, APLOG_ERR, rv, HTTP_INTERNAL_SERVER_ERROR, "TWW0402",
                              "cannot store the body (spool directory full or unwritable?)");
        }
        apr_brigade_cleanup(bb);
    }
    return OK;
}

/*
 * Reads the stored body back from the start and hands every chunk to feed,
 * for a second pass (another key list, the JSON parser). Stops at the first
 * status other than TW_OK; a failed read is io_status, a server fault.
 */

static tw_status_t feed_stored_body(request_rec *r, tw_spool_t *spool,
                                    tw_chunk_feed_t feed, void *ctx, tw_status_t io_status)
{
    tw_spool_cursor_t cursor = TW_SPOOL_CURSOR_INIT;
    apr_size_t got;
    const void *mem = tw_spool_memory_at(spool, 0, &got);
    tw_status_t st = TW_OK;
    char *buf;

    if (mem != NULL) {   /* the memory part in place, then the file part */
        st = feed(ctx, mem, got);
        cursor.offset = (apr_off_t)got;
    }
    if (st != TW_OK || cursor.offset == tw_spool_length(spool))
        return st;
    buf = apr_palloc(r->pool, TW_REREAD_CHUNK);
    while (st == TW_OK) {
        if (tw_spool_read_next(spool, &cursor, buf, TW_REREAD_CHUNK, &got) != APR_SUCCESS)
            return io_status;   /* the disk failed under us */
        if (got == 0)
            break;
        st = feed(ctx, buf, got);
    }
    return st;
}

static tw_status_t feed_verifier(void *v, const void *data, size_t len)
{
    return tw_verifier_update(v, data, len);
}

static tw_status_t feed_json(void *json, const void *data, size_t len)
{
    return tw_json_feed(json, data, len);
}

static tw_status_t feed_digest(void *digest, const void *data, size_t len)
{
    return tw_digest_update(digest, data, len);
}

/*
 * Looks at one Content-Encoding header line (a table entry; apr_table_do
 * sees them all, should a protocol module not join repeated lines) and
 * stops at the first that names a content coding other than identity. The
 * value is a list (RFC 9110 sec. 8.4): "gzip, identity" is as coded as
 * "gzip", an empty element is no coding.
 */
static int find_content_coding(void *found, const char *name, const char *value)
{
    const char *coding = value;

    while (*coding != '\0') {
        apr_size_t len;

        coding += strspn(coding, " \t,");
        len = strcspn(coding, ",");
        while (len > 0 && (coding[len - 1] == ' ' || coding[len - 1] == '\t'))
            len--;
        if (len > 0 && !(len == sizeof("identity") - 1
                         && strncasecmp(coding, "identity", len) == 0)) {
            *(const char **)found = value;
            return 0;   /* stop */
        }
        coding += strcspn(coding, ",");
    }
    return 1;
}

/* The request's Content-Encoding line that names a content coding, else NULL. */
static const char *content_coding(request_rec *r)
{
    const char *found = NULL;

    apr_table_do(find_content_coding, &found, r->headers_in, "Content-Encoding", NULL);
    return found;
}

/* Refused before a byte of the body is read: the method... */
static int check_method(request_rec *r)
{
    if (r->method_number == M_POST)
        return OK;
    /* ap_send_error_response builds "Allow" from r->allowed_methods. */
    r->allowed = (AP_METHOD_BIT << M_POST);
    r->allowed_methods->method_mask = (AP_METHOD_BIT << M_POST);
    return reject(r, APLOG_INFO, 0, HTTP_METHOD_NOT_ALLOWED, "TWW0101",
                  apr_psprintf(r->pool, "method %s not allowed",
                               ap_escape_logitem(r->pool, r->method)));
}

/*
 * ... a body in a content coding: the signature covers the bytes as sent,
 * but SetInputFilter DEFLATE would inflate them above this module (the app
 * would read other bytes than were verified, with the Content-Length of
 * the compressed ones), and the JSON rules would read compressed bytes. No
 * sender compresses its webhooks: 415 with the coding that is accepted
 * (RFC 7694 sec. 3), before the body is read.
 */
static int check_content_encoding(request_rec *r)
{
    const char *coding = content_coding(r);

    if (coding == NULL)
        return OK;
    apr_table_setn(r->err_headers_out, "Accept-Encoding", "identity");
    return reject(r, APLOG_INFO, 0, HTTP_UNSUPPORTED_MEDIA_TYPE, "TWW0127",
                  apr_psprintf(r->pool, "Content-Encoding %s not supported: the signature "
                               "covers the body as sent, without a content coding",
                               loggable(r, coding)));
}

/* ... and a body announced larger than this location takes. */
static int check_announced_length(request_rec *r, const tw_dir_conf_t *dc)
{
    if (announced_length(r) > tw_conf_max_body(dc))
        return reject(r, APLOG_INFO, 0, HTTP_REQUEST_ENTITY_TOO_LARGE, "TWW0104",
                      "body larger than TwWebhookMaxBodySize (by Content-Length)");
    return OK;
}

/*
 * What this location's profile reads from the headers (the signature
 * header, and a timestamp or message id where the profile signs one),
 * parsed into what must be verified. Refused with 401 when any is missing
 * or malformed, before the body is read.
 */
static int parse_signed(request_rec *r, const tw_dir_conf_t *dc, tw_signed_t *sig)
{
    const tw_profile_t *p = tw_conf_profile(dc);
    tw_status_t st = tw_scheme_parse(p, tw_header_in(r, tw_conf_signature_header(dc)),
                                     tw_header_in(r, p->timestamp_header),
                                     tw_header_in(r, p->id_header), sig);

    switch (st) {
    case TW_OK:
        return OK;
    case TW_ERR_SIG_MISSING:
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0102", "signature header missing");
    case TW_ERR_SIG_MALFORMED:
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0103", "signature header malformed");
    case TW_ERR_TS_MISSING:
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0121", "signed timestamp missing");
    case TW_ERR_TS_MALFORMED:
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0122", "signed timestamp malformed");
    case TW_ERR_ID_MISSING:
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0123", "signed message id missing");
    case TW_ERR_ID_MALFORMED:
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0124", "signed message id malformed");
    default:
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0412",
                      apr_pstrcat(r->pool, "cannot parse the signature: ", tw_status_str(st), NULL));
    }
}

/* A signed timestamp must lie within TwWebhookTimestampTolerance of now. */
static int check_timestamp(request_rec *r, const tw_dir_conf_t *dc, const tw_signed_t *sig)
{
    tw_status_t st;

    if (!sig->has_timestamp)
        return OK;
    st = tw_timestamp_check(sig->timestamp, (apr_int64_t)apr_time_sec(r->request_time),
                            tw_conf_tolerance(dc));
    if (st == TW_ERR_TS_STALE)
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0125",
                      "signed timestamp older than TwWebhookTimestampTolerance");
    if (st == TW_ERR_TS_FUTURE)
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0126",
                      "signed timestamp further ahead than TwWebhookTimestampTolerance");
    return OK;
}

/* Reads the body (the first time) into a new spool, through feed. */
static int read_new_body(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                         tw_chunk_feed_t feed, void *v)
{
    apr_status_t rv = tw_spool_create(&txn->body, tw_top_request(r)->pool,
                                      tw_conf_spool_memory(dc), announced_length(r),
                                      tw_conf_spool_dir(r->server));

    if (rv != APR_SUCCESS)
        return reject(r, APLOG_ERR, rv, HTTP_INTERNAL_SERVER_ERROR, "TWW0403",
                      "cannot set up body storage");
    return read_body(r, txn, feed, v, tw_conf_max_body(dc));
}

/* 1 when sig has the transaction's signed prefix (the same profile and
 * signed headers as the verification before). */
static int same_signed_prefix(const tw_txn_t *txn, const tw_signed_t *sig)
{
    return txn->signed_prefix != NULL && txn->signed_prefix_len == sig->prefix_len
        && memcmp(txn->signed_prefix, sig->prefix, sig->prefix_len) == 0;
}

/*
 * 1 when this location keys the message (a replay cache, an inbox) and the
 * transaction has no digest of what sig says was signed: then the HMAC
 * pass computes it too. Where nothing keys messages it costs nothing.
 */
static int digest_wanted(const tw_dir_conf_t *dc, const tw_txn_t *txn, const tw_signed_t *sig)
{
    if (!tw_replay_configured() && !tw_inbox_configured(dc))
        return 0;
    return !txn->has_digest || !same_signed_prefix(txn, sig);
}

/*
 * After a verification: keeps what was signed before the body, and the
 * digest when v computed one. A digest of another prefix is dropped
 * (another profile verified it here); message_key() makes it again from
 * the stored body if a location needs it.
 */
static void keep_signed_message(request_rec *r, tw_txn_t *txn, const tw_signed_t *sig,
                                const tw_verifier_t *v, int want_digest)
{
    int same_prefix = same_signed_prefix(txn, sig);

    if (want_digest)
        txn->has_digest = (tw_verifier_digest(v, txn->digest) == TW_OK);
    else if (!same_prefix)
        txn->has_digest = 0;
    if (!same_prefix) {
        txn->signed_prefix = apr_pmemdup(tw_top_request(r)->pool, sig->prefix, sig->prefix_len);
        txn->signed_prefix_len = sig->prefix_len;
    }
}

/* 1 when this location would verify exactly what the transaction was verified with. */
static int verified_alike(const tw_txn_t *txn, const tw_dir_conf_t *dc,
                          const apr_array_header_t *keys)
{
    return txn->keys == keys && txn->profile == tw_conf_profile(dc)
        && strcasecmp(txn->signature_header, tw_conf_signature_header(dc)) == 0;
}

/* ---- a dispatch of a queued entry ---------------------------------------------- */

static tw_status_t message_key(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                               unsigned char key[TW_MAC_LEN]);

/*
 * Whether TW-Dispatch makes this request the dispatcher's (glue/queue.c):
 * TW_OK, else the refusal's tag and reason. The header is taken out of
 * the request whatever it says, so the app never sees it.
 */
static int check_dispatch_credential(request_rec *r, const tw_dir_conf_t *dc,
                                     tw_dispatch_t *cred)
{
    const char *value = apr_table_get(r->headers_in, TW_DISPATCH_HEADER);
    tw_status_t st;

    apr_table_unset(r->headers_in, TW_DISPATCH_HEADER);
    if (!tw_inbox_configured(dc))
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0129",
                      "TW-Dispatch at a location without TwWebhookInbox (nothing is "
                      "dispatched here)");
    st = tw_queue_key() == NULL ? TW_ERR_SIG_MISMATCH
        : tw_dispatch_check(tw_queue_key(), value, r->method, r->unparsed_uri,
                            (apr_int64_t)apr_time_sec(apr_time_now()), cred);
    if (st == TW_ERR_TS_STALE)
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0130", "TW-Dispatch expired");
    if (st != TW_OK)
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0131",
                      "TW-Dispatch not valid here (malformed, or not made by this server's "
                      "dispatcher for this entry, method and path)");
    return OK;
}

/*
 * A request the dispatcher made for a queued entry: the sender's
 * signature and timestamp were verified when the delivery was accepted
 * (the secret may have rotated since, the timestamp is old by now), so
 * the body is read through the message digest alone. The signed headers
 * must still parse (the digest covers what they sign), and the message's
 * key must be the credential's entry id: that binds this body and these
 * headers to the entry that was verified. Then the request is VERIFIED
 * like a sender's, minus the replay claim (settled at accept) and the
 * inbox record (the entry exists; the dispatcher ends it).
 */
static int receive_dispatch(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn)
{
    unsigned char key[TW_MAC_LEN];
    char id[TW_INBOX_ID_LEN + 1];
    const char *bad_key;
    tw_dispatch_t cred;
    tw_digest_t *d = NULL;
    tw_signed_t sig;
    int status, secret_index = -1;
    apr_status_t rv;

    if ((status = check_dispatch_credential(r, dc, &cred)) != OK
        || (status = check_method(r)) != OK || (status = check_content_encoding(r)) != OK
        || (status = parse_signed(r, dc, &sig)) != OK
        || (status = check_announced_length(r, dc)) != OK)
        return status;
    if (tw_digest_create(&d) != TW_OK || tw_digest_update(d, sig.prefix, sig.prefix_len) != TW_OK) {
        tw_digest_destroy(d);
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0460",
                      "cannot set up the message digest (libcrypto)");
    }
    status = read_new_body(r, dc, txn, feed_digest, d);
    if (status == OK && tw_digest_finish(d, txn->digest) != TW_OK)
        status = reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0461",
                        "cannot compute the message digest (libcrypto)");
    tw_digest_destroy(d);
    if (status != OK)
        return status;
    tw_txn_release_keepalive(r, txn);   /* read to the end: safe to keep */
    txn->has_digest = 1;
    txn->signed_prefix = apr_pmemdup(tw_top_request(r)->pool, sig.prefix, sig.prefix_len);
    txn->signed_prefix_len = sig.prefix_len;
    if (message_key(r, dc, txn, key) != TW_OK || tw_inbox_id(key, id) != TW_OK)
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0462",
                      "cannot derive the dispatched delivery's key (libcrypto)");
    if (strcmp(id, cred.id) != 0)
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0132",
                      "TW-Dispatch names another entry than this body and its signed "
                      "headers make");
    if ((rv = tw_inbox_secret_index(r, dc, id, &secret_index)) != APR_SUCCESS)
        return reject(r, APLOG_INFO, rv, HTTP_CONFLICT, "TWW0133",
                      "the dispatched entry is no longer in the inbox (delivered, dropped "
                      "or redelivered meanwhile)");

    txn->state = TW_TXN_VERIFIED;
    txn->keys = tw_conf_keys(dc, &bad_key);
    txn->profile = tw_conf_profile(dc);
    txn->signature_header = tw_conf_signature_header(dc);
    /* -1: the entry does not say (written by hand, or by an older
     * version): no TW_WEBHOOK_SECRET_INDEX rather than a wrong one. */
    txn->secret_index = secret_index >= 0
        ? apr_psprintf(tw_top_request(r)->pool, "%d", secret_index) : NULL;
    txn->timestamp = sig.has_timestamp
        ? apr_psprintf(tw_top_request(r)->pool, "%" APR_INT64_T_FMT, sig.timestamp) : NULL;
    txn->dispatched = 1;
    txn->dispatch_attempt = cred.attempt;
    txn->replay_checked = 1;   /* settled when it was accepted */
    tw_cleanse(&sig, sizeof(sig));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "TWW0236: dispatch of queued entry %s, attempt %u", id, cred.attempt);
    return OK;
}

/*
 * The one verification path, for every profile. The first protected
 * request of a transaction reads the body while the HMACs run over the
 * profile's prefix and the body; a later one (an internal redirect or
 * subrequest into a location with other secrets, another profile or
 * signature header) runs them over the stored body. Either way one of the
 * signatures this location reads must match one of its keys, and a signed
 * timestamp must be within its tolerance.
 */
static int verify_body(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn)
{
    int first = (txn->state == TW_TXN_PENDING);
    const apr_array_header_t *keys;
    size_t matched = 0;
    const char *bad_key;
    tw_signed_t sig;
    tw_verifier_t *v;
    tw_status_t st;
    int status, want_digest;

    if (first && apr_table_get(r->headers_in, TW_DISPATCH_HEADER) != NULL)
        return receive_dispatch(r, dc, txn);
    if (first && ((status = check_method(r)) != OK
                  || (status = check_content_encoding(r)) != OK))
        return status;
    if ((status = parse_signed(r, dc, &sig)) != OK
        || (status = check_timestamp(r, dc, &sig)) != OK)
        return status;
    if (first && (status = check_announced_length(r, dc)) != OK)
        return status;
    if ((keys = tw_conf_keys(dc, &bad_key)) == NULL)
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0413",
                      apr_psprintf(r->pool, "TwWebhookSecret: %s is not a whsec_ secret, which "
                                   "TwWebhookProfile %s needs", bad_key, tw_conf_profile(dc)->name));
    if (!first && verified_alike(txn, dc, keys))
        return OK;
    want_digest = digest_wanted(dc, txn, &sig);
    if ((v = verifier_for(r, keys)) == NULL
        || (want_digest && tw_verifier_want_digest(v) != TW_OK)
        || tw_verifier_update(v, sig.prefix, sig.prefix_len) != TW_OK)
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0404",
                      "cannot set up HMAC-SHA256 (libcrypto)");
    if (first) {
        if ((status = read_new_body(r, dc, txn, feed_verifier, v)) != OK)
            return status;
        tw_txn_release_keepalive(r, txn);   /* read to the end: safe to keep */
        st = TW_OK;
    }
    else {
        st = feed_stored_body(r, txn->body, feed_verifier, v, TW_ERR_CRYPTO);
    }
    if (st == TW_OK)
        st = tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])sig.candidates,
                                    sig.ncandidates, &matched, NULL);
    if (st == TW_ERR_SIG_MISMATCH)
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, first ? "TWW0110" : "TWW0114",
                      first ? "signature mismatch"
                            : "signature mismatch under this location's secrets (re-verification)");
    if (st != TW_OK)
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0405",
                      "HMAC computation failed (libcrypto)");

    /* The message, not the candidate that matched, names it for the
     * replay cache: a copy may carry only another key's signature. */
    keep_signed_message(r, txn, &sig, v, want_digest);
    txn->state = TW_TXN_VERIFIED;
    txn->keys = keys;
    txn->profile = tw_conf_profile(dc);
    txn->signature_header = tw_conf_signature_header(dc);
    txn->secret_index = apr_psprintf(tw_top_request(r)->pool, "%" APR_SIZE_T_FMT, matched);
    txn->timestamp = sig.has_timestamp
        ? apr_psprintf(tw_top_request(r)->pool, "%" APR_INT64_T_FMT, sig.timestamp) : NULL;
    tw_cleanse(&sig, sizeof(sig));
    return OK;
}

/* ---- the location's own policy ------------------------------------------------- */

/*
 * The body as JSON, parsed once for every rule of this location that reads
 * it (TwWebhookRequireJSON, TwWebhookExportJSON, a profile whose event or
 * delivery id is a body field), bounded by TW_JSON_MAX_BYTES and
 * TW_JSON_MAX_DEPTH. *pjson is NULL when nothing reads it or the body is
 * not one unambiguous JSON document, which TwWebhookRequireJSON refuses.
 */
static int parse_json(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                      tw_json_t **pjson)
{
    tw_json_t *json = NULL;
    tw_status_t st;

    *pjson = NULL;
    if (!tw_conf_wants_json(dc))
        return OK;
    if (tw_spool_length(txn->body) > TW_JSON_MAX_BYTES)
        st = TW_ERR_JSON_INVALID;
    else if ((st = tw_json_create(&json)) == TW_OK)
        st = feed_stored_body(r, txn->body, feed_json, json, TW_ERR_NOMEM);
    if (st == TW_OK)
        st = tw_json_finish(json);
    if (st != TW_OK)
        tw_json_destroy(json);

    if (st == TW_ERR_NOMEM || st == TW_ERR_ARG)
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0409",
                      "cannot parse the body as JSON (server fault)");
    if (st != TW_OK && tw_conf_requires_json(dc))
        return reject(r, APLOG_INFO, 0, HTTP_BAD_REQUEST, "TWW0117",
                      tw_spool_length(txn->body) > TW_JSON_MAX_BYTES
                      ? "body too large to check as JSON (TwWebhookRequireJSON)"
                      : apr_pstrcat(r->pool, "body is not one JSON document that every parser "
                                    "reads alike (TwWebhookRequireJSON): ",
                                    tw_status_str(st), NULL));
    *pjson = st == TW_OK ? json : NULL;
    return OK;
}

/*
 * The event name or delivery id, from where this location takes it: a
 * header (not signed, so held to the plain alphabet), or a field of the
 * signed body (held to it too: it goes into the environment and the log).
 * NULL when there is none.
 */
static int identify(request_rec *r, tw_source_t source, const char *field,
                    const tw_json_t *json, int (*is_plain)(const char *),
                    const char *what, const char *tag, const char **pvalue)
{
    char value[TW_JSON_VALUE_MAX + 1];
    size_t len;

    *pvalue = NULL;
    if (source == TW_SOURCE_HEADER)
        *pvalue = tw_header_in(r, field);
    else if (source == TW_SOURCE_BODY && json != NULL
             && tw_json_get_scalar(json, field, value, sizeof(value), &len) == TW_OK)
        *pvalue = apr_pstrmemdup(r->pool, value, len);
    if (*pvalue != NULL && !is_plain(*pvalue))
        return reject(r, APLOG_INFO, 0, HTTP_BAD_REQUEST, tag,
                      apr_psprintf(r->pool, "%s %s not plain", what,
                                   source == TW_SOURCE_HEADER
                                   ? "header" : "field of the signed body"));
    return OK;
}

static int identify_delivery(request_rec *r, const tw_dir_conf_t *dc, const tw_json_t *json,
                             tw_view_t *view)
{
    const char *event_field, *delivery_field;
    tw_source_t event_source = tw_conf_event_source(dc, &event_field);
    tw_source_t delivery_source = tw_conf_delivery_source(dc, &delivery_field);
    int status;

    if ((status = identify(r, event_source, event_field, json, tw_event_is_plain,
                           "Event", "TWW0111", &view->event)) != OK)
        return status;
    return identify(r, delivery_source, delivery_field, json, tw_delivery_is_plain,
                    "Delivery", "TWW0112", &view->delivery);
}

/* The scalars TwWebhookExportJSON asks for, or NULL values where absent. */
static void collect_exports(request_rec *r, const tw_dir_conf_t *dc, tw_view_t *view,
                            const tw_json_t *json)
{
    const apr_array_header_t *exports = tw_conf_exports(dc);
    char value[TW_JSON_VALUE_MAX + 1];
    int i;

    if (exports == NULL)
        return;
    view->exported = apr_array_make(r->pool, exports->nelts, sizeof(tw_exported_t));
    for (i = 0; i < exports->nelts; i++) {
        const tw_export_t *x = &APR_ARRAY_IDX(exports, i, tw_export_t);
        tw_exported_t *e = apr_array_push(view->exported);
        size_t len = 0;
        tw_status_t st = json ? tw_json_get_scalar(json, x->pointer, value, sizeof(value), &len)
                              : TW_ERR_JSON_INVALID;

        e->name = x->env_name;
        e->value = (st == TW_OK) ? apr_pstrmemdup(r->pool, value, len) : NULL;
        if (st != TW_OK)
            ap_log_rerror(APLOG_MARK, st == TW_ERR_JSON_UNSAFE_VALUE ? APLOG_INFO : APLOG_DEBUG,
                          0, r, "TWW0202: %s not exported from %s: %s",
                          x->env_name, ap_escape_logitem(r->pool, x->pointer), tw_status_str(st));
    }
}

/*
 * What the body says, read once: JSON rules, exports, and the event and
 * delivery id wherever this location takes them from.
 */
static int inspect_body(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                        tw_view_t *view)
{
    tw_json_t *json;
    int status;

    if ((status = parse_json(r, dc, txn, &json)) != OK)
        return status;
    status = identify_delivery(r, dc, json, view);
    if (status == OK)
        collect_exports(r, dc, view, json);
    tw_json_destroy(json);
    return status;
}

/* TwWebhookEvents: events nobody listens to are acknowledged, not passed on. */
static int apply_event_filter(request_rec *r, const tw_dir_conf_t *dc, tw_view_t *view)
{
    const apr_array_header_t *events = tw_conf_events(dc);
    int i;

    if (events == NULL)
        return OK;
    for (i = 0; view->event != NULL && i < events->nelts; i++)
        if (tw_event_matches(APR_ARRAY_IDX(events, i, const char *), view->event))
            return OK;
    /* 200, not an error: a sender retries errors and may switch a webhook
     * off after too many, while this event is simply not wanted here. */
    view->ack = "ignored: event not handled here\n";
    view->outcome = TW_OUTCOME_IGNORED;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "TWW0203: event %s is not in TwWebhookEvents: acknowledged without the app "
                  "(delivery %s)", loggable(r, view->event), loggable(r, view->delivery));
    return OK;
}

/*
 * The replay cache's scope: the virtual host (by its configured name, so
 * that every member of a fleet agrees) and the configuration section whose
 * TwWebhookSecret applies. Two webhooks sharing one token in two protected
 * locations are two deliveries; the same body again at one location is a
 * duplicate, whatever its Delivery header says.
 */
static const char *replay_scope(request_rec *r, const tw_dir_conf_t *dc)
{
    return apr_pstrcat(r->pool, r->server->server_hostname ? r->server->server_hostname : "",
                       "\n", tw_conf_scope_name(dc), NULL);
}

/* The digest of what the transaction was last verified as signed, from
 * the stored body: for a location that needs it when the HMAC pass did
 * not compute it (an internal redirect into a location with an inbox). */
static tw_status_t digest_stored_body(request_rec *r, tw_txn_t *txn)
{
    tw_digest_t *d = NULL;
    tw_status_t st = tw_digest_create(&d);

    if (st == TW_OK)
        st = tw_digest_update(d, txn->signed_prefix, txn->signed_prefix_len);
    if (st == TW_OK)
        st = feed_stored_body(r, txn->body, feed_digest, d, TW_ERR_CRYPTO);
    if (st == TW_OK)
        st = tw_digest_finish(d, txn->digest);
    tw_digest_destroy(d);
    txn->has_digest = (st == TW_OK);
    return st;
}

/*
 * The replay cache's and the inbox's key for the verified message at this
 * location: tw_replay_key over the digest of what the sender signed (the
 * same for every copy, whichever of its signatures came and whichever key
 * verified it) and this location's scope.
 */
static tw_status_t message_key(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                               unsigned char key[TW_MAC_LEN])
{
    const char *scope = replay_scope(r, dc);
    tw_status_t st = txn->has_digest ? TW_OK : digest_stored_body(r, txn);

    return st == TW_OK ? tw_replay_key(txn->digest, scope, strlen(scope), key) : st;
}

/*
 * TwWebhookReplayCache: a body handled within the window is acknowledged
 * again without the app; one being handled right now gets 409 (a retryable
 * status, so the sender's next try finds it settled). Asked once per
 * transaction, by the request that is about to hand the body to an app.
 */
static int check_replay(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                        tw_view_t *view)
{
    tw_replay_verdict_t verdict;

    if (!tw_replay_configured() || view->ack != NULL || r->main != NULL || txn->replay_checked)
        return OK;
    txn->replay_checked = 1;
    if (message_key(r, dc, txn, txn->replay_key) != TW_OK)
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0411",
                      "cannot derive the replay cache key (libcrypto, or the stored "
                      "body unreadable)");
    verdict = tw_replay_reserve(r, txn->replay_key, &txn->replay_claim);
    tw_metrics_replay(r, verdict);   /* hits, misses and errors, for every engine */
    switch (verdict) {
    case TW_REPLAY_FIRST:
        /* Settle as the response leaves, not after it has gone: a copy
         * sent the moment the 2xx arrives must find it settled. */
        tw_body_settle_on_response(r, txn);
        return OK;
    case TW_REPLAY_DUPLICATE:
        view->ack = "duplicate: already handled\n";
        view->outcome = TW_OUTCOME_DUPLICATE;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "TWW0204: duplicate of a body already handled: acknowledged without "
                      "the app (delivery %s, event %s)",
                      loggable(r, view->delivery), loggable(r, view->event));
        return OK;
    case TW_REPLAY_IN_FLIGHT:
        return reject(r, APLOG_INFO, 0, HTTP_CONFLICT, "TWW0118",
                      "the same body is being handled by another request right now");
    case TW_REPLAY_UNAVAILABLE:
    default:
        if (tw_replay_fails_open())
            return OK;   /* logged by tw_replay_reserve */
        return reject(r, APLOG_ERR, 0, HTTP_SERVICE_UNAVAILABLE, "TWW0410",
                      "replay cache unavailable (TwWebhookReplayCacheFailure closed)");
    }
}

/* The entry id the inbox records this delivery under, for the page's row. */
static const char *entry_id_of(request_rec *r, const unsigned char key[TW_MAC_LEN])
{
    char *id = apr_palloc(r->pool, TW_INBOX_ID_LEN + 1);

    return tw_inbox_id(key, id) == TW_OK ? id : NULL;
}

/*
 * TwWebhookInbox (glue/inbox.c): a body about to be handed to the app is
 * recorded first, under the replay cache's key; one that cannot be
 * recorded is refused with 503 and never reaches the app.
 */
static int record_in_inbox(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn)
{
    tw_view_t *view = view_get(r);
    unsigned char key[TW_MAC_LEN];
    apr_status_t rv;

    if (!tw_inbox_configured(dc) || r->main != NULL || view == NULL || view->ack != NULL
        || txn->dispatched)   /* the entry is there; the dispatcher ends it */
        return OK;
    if (message_key(r, dc, txn, key) != TW_OK)
        return reject(r, APLOG_ERR, 0, HTTP_SERVICE_UNAVAILABLE, "TWW0419",
                      "cannot derive the inbox entry's key (libcrypto, or the stored "
                      "body unreadable): the app is not run");
    if ((rv = tw_inbox_record(r, dc, key, txn->body)) != APR_SUCCESS)
        return reject(r, APLOG_ERR, rv, HTTP_SERVICE_UNAVAILABLE, "TWW0418",
                      apr_psprintf(r->pool, "cannot record the delivery in TwWebhookInbox %s "
                                   "(disk full or not writable?): the app is not run",
                                   tw_conf_inbox_dir(dc)));
    view->entry = entry_id_of(r, key);
    return OK;
}

/*
 * TwWebhookQueue On: a verified delivery the app would get is committed to
 * the inbox as QUEUED and answered 200 "accepted: queued" at once; the
 * dispatcher (glue/queue.c) hands it to the app. Nothing is answered 200
 * that is not durably in the inbox: a failed put is 503 (the sender
 * retries). A replay cache's claim settles as handled on that 200, so the
 * sender's next copy is a duplicate; without one, the put is idempotent by
 * the entry id while the entry is there.
 */
static int queue_delivery(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                          tw_view_t *view)
{
    unsigned char key[TW_MAC_LEN];
    int created = 0;
    apr_status_t rv;

    if (!tw_conf_queue(dc) || !tw_inbox_configured(dc) || view->ack != NULL
        || r->main != NULL || txn->dispatched)
        return OK;
    if (message_key(r, dc, txn, key) != TW_OK)
        return reject(r, APLOG_ERR, 0, HTTP_SERVICE_UNAVAILABLE, "TWW0463",
                      "cannot derive the inbox entry's key (libcrypto, or the stored "
                      "body unreadable): not queued");
    if ((rv = tw_inbox_queue(r, dc, key, txn->body, &created))
        != APR_SUCCESS)
        return reject(r, APLOG_ERR, rv, HTTP_SERVICE_UNAVAILABLE, "TWW0464",
                      apr_psprintf(r->pool, "cannot queue the delivery in TwWebhookInbox %s "
                                   "(disk full, not writable, or the store unreachable?): "
                                   "not accepted", tw_conf_inbox_dir(dc)));
    view->ack = "accepted: queued\n";
    view->outcome = TW_OUTCOME_QUEUED;
    view->entry = entry_id_of(r, key);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "TWW0237: %s (delivery %s, event %s)",
                  created ? "queued for the app" : "already queued: this copy is the same entry",
                  loggable(r, view->delivery), loggable(r, view->event));
    return OK;
}

/*
 * Everything this location says about a verified body, for a request
 * handled here however it arrived (the first request, an internal redirect,
 * a subrequest): its size limit, header names, JSON rules, event list and
 * the replay cache. Leaves the request's view in its request_config.
 */
static int apply_location_policy(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn,
                                 int first)
{
    tw_view_t *view = apr_pcalloc(r->pool, sizeof(*view));
    int status;

    if (tw_spool_length(txn->body) > tw_conf_max_body(dc))
        return reject(r, APLOG_INFO, 0, HTTP_REQUEST_ENTITY_TOO_LARGE, "TWW0119",
                      "body larger than this location's TwWebhookMaxBodySize");
    view->verified = "1";
    view->profile = txn->profile->name;
    view->timestamp = txn->timestamp;
    view->secret_index = txn->secret_index;
    view->attempt = txn->dispatched
        ? apr_psprintf(r->pool, "%u", txn->dispatch_attempt) : "1";
    if ((status = inspect_body(r, dc, txn, view)) != OK
        || (status = apply_event_filter(r, dc, view)) != OK
        || (status = check_replay(r, dc, txn, view)) != OK
        || (status = queue_delivery(r, dc, txn, view)) != OK)
        return status;

    tw_req_of(r)->view = view;
    if (view->ack == NULL && r->main == NULL)
        tw_body_hand_back(r, txn);
    /* One TWW0201 per transaction; the later requests of it say which
     * location's policy they were handled under. */
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "%s with secret %s: %" APR_OFF_T_FMT " bytes%s (delivery %s, event %s)%s",
                  first ? "TWW0201: verified"
                        : "TWW0205: this location's policy applied to a body verified",
                  view->secret_index ? view->secret_index : "-", tw_spool_length(txn->body),
                  tw_spool_on_disk(txn->body) ? ", spooled to disk" : "",
                  loggable(r, view->delivery), loggable(r, view->event),
                  view->ack ? "; acknowledged without the app" : "");
    return OK;
}

/* The deliveries page's row for a verified transaction, naming the line
 * that said what became of it (the tag stays with its one call site). */
static void record_delivery(request_rec *r, const tw_view_t *view)
{
    const char *reason = "verified, handed to the app (TWW0201 at debug)";

    if (view->outcome == TW_OUTCOME_IGNORED)
        reason = "event not in TwWebhookEvents: acknowledged without the app (TWW0203)";
    else if (view->outcome == TW_OUTCOME_DUPLICATE)
        reason = "duplicate of a body already handled: acknowledged without the app (TWW0204)";
    else if (view->outcome == TW_OUTCOME_QUEUED)
        reason = "verified and queued: the dispatcher hands it to the app";
    tw_deliveries_record(r, view->outcome, 0, NULL, reason, view->event, view->delivery);
    tw_deliveries_entry(r, view->entry);
}

/* ---- hooks ------------------------------------------------------------------- */

/*
 * Before any access check: a protected request begins its transaction and
 * holds its connection until the body is read (see tw_txn_hold_keepalive), so a
 * refusal by anyone keeps the body unread and the connection closes.
 * httpd runs this hook for top-level requests and internal redirects only.
 */
static int hook_header_parser(request_rec *r)
{
    const tw_dir_conf_t *dc = tw_conf_of(r);

    if (tw_conf_protects(dc) && tw_txn_get(r) == NULL)
        tw_txn_hold_keepalive(r, tw_txn_begin(r));
    return DECLINED;
}

/*
 * A request of a transaction whose body is not (or no longer) to be read:
 * refused by this module, or by someone else before this module ran (the
 * owner is still pending, and this is its error document). Its handler
 * gets no body and no facts; in a protected location it does not run.
 */
static int unverifiable_request(request_rec *r, const tw_dir_conf_t *dc, tw_txn_t *txn)
{
    tw_body_withhold(r, txn);
    export_env(r, NULL);
    if (tw_conf_protects(dc))
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0120",
                      "a request whose body was refused reached a protected location");
    return DECLINED;
}

static int hook_fixups(request_rec *r)
{
    const tw_dir_conf_t *dc = tw_conf_of(r);
    tw_txn_t *txn = tw_txn_get(r);
    const tw_view_t *view;
    apr_time_t started;
    int first, status;

    if (txn != NULL && (txn->state == TW_TXN_REFUSED
                        || (txn->state == TW_TXN_PENDING && txn->owner != r && r->main == NULL)))
        return unverifiable_request(r, dc, txn);
    if (!tw_conf_protects(dc)) {
        /* An internal redirect out of a protected location still carries
         * the verified body, so the facts about it still hold. */
        if (txn != NULL && (view = view_find(r)) != NULL) {
            export_env(r, view);
            set_view_notes(r, view);
        }
        return DECLINED;
    }
    if (!tw_conf_has_secret(dc))
        return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0408",
                      apr_pstrcat(r->pool, tw_conf_why_protected(dc),
                                  ", but no TwWebhookSecret applies here", NULL));
    if (r->main != NULL && (txn == NULL || txn->state != TW_TXN_VERIFIED))
        /* The body belongs to the top request; a subrequest cannot be the
         * first to read it, and must not be waved through unverified. */
        return reject(r, APLOG_INFO, 0, HTTP_UNAUTHORIZED, "TWW0115",
                      "subrequest into a protected location without a verified request");
    if (txn == NULL)   /* no header_parser run: a request httpd began itself */
        txn = tw_txn_begin(r);

    first = (txn->state == TW_TXN_PENDING);
    started = apr_time_now();
    status = verify_body(r, dc, txn);
    if (first && txn->body_complete && !txn->dispatched)   /* read to its end and compared */
        tw_metrics_verification(r, status == OK, tw_spool_length(txn->body),
                                apr_time_now() - started);
    if (status != OK || (status = apply_location_policy(r, dc, txn, first)) != OK
        || (status = record_in_inbox(r, dc, txn)) != OK)
        return status;
    view = view_get(r);
    /* Once per transaction; a delivery the inbox may hold is counted by the
     * inbox once the app has answered (held, or verified); a dispatch of a
     * queued one was counted as queued, and is counted by the dispatcher
     * (twwebhook_queue_dispatches_total). */
    if (first && !tw_inbox_counts_outcome(r) && !txn->dispatched)
        tw_metrics_count(r, view->outcome);
    /* The page's row: written now, completed once the app has answered. A
     * dispatch of a queued entry has none of its own: the dispatcher
     * updates the entry's row (tw_deliveries_dispatched). */
    if (first && !txn->dispatched)
        record_delivery(r, view);
    export_env(r, view);
    set_view_notes(r, view);
    return DECLINED;   /* let the other fixups run */
}

/* ---- input filters above the handed-back body ------------------------------- */

/* Other modules' input filters known to keep bytes, by the handle their
 * registration made (post_config; NULL for a module not loaded). */
static ap_filter_rec_t *deflate_filter, *keep_body_filter, *kept_body_filter;

static void find_known_input_filters(void)
{
    deflate_filter = ap_get_input_filter_handle("DEFLATE");
    keep_body_filter = ap_get_input_filter_handle("KEEP_BODY");
    kept_body_filter = ap_get_input_filter_handle("KEPT_BODY");
}

/*
 * 1 for an input filter known to hand the verified bytes on unchanged. An
 * explicit list, because any other filter between the handback filter and
 * the handler (mod_sed's Sed, mod_charset_lite's XLATEIN, mod_ext_filter's
 * filters, a third-party one) may change bytes, and the app would read
 * them as verified, with the verified body's Content-Length.
 */
static int keeps_bytes(request_rec *r, const ap_filter_t *f)
{
    /* mod_deflate inflates only a body whose Content-Encoding ends in
     * gzip; check_content_encoding refused those, so it passes the body
     * on untouched. Asked again here in case a later fixup (a
     * RequestHeader) put a coding back. */
    if (f->frec == deflate_filter)
        return content_coding(r) == NULL;
    /* mod_request (KeptBodySize): KEEP_BODY keeps a copy of what passes
     * it for a later request, KEPT_BODY hands that copy back; neither
     * changes a byte. */
    return f->frec == keep_body_filter || f->frec == kept_body_filter;
}

/*
 * The first input filter of r that would change the verified body before
 * the handler reads it: one above the handback filter (the content and
 * resource filters; SetInputFilter, AddInputFilter, a module's
 * insert_filter) that keeps_bytes does not know. NULL when there is none,
 * or r does not read the handed-back body at all.
 */
static const ap_filter_t *transforming_input_filter(request_rec *r)
{
    const ap_filter_t *f, *unknown = NULL;

    for (f = r->input_filters; f != NULL; f = f->next) {
        if (tw_body_is_handback(f))
            return unknown;
        if (unknown == NULL && !keeps_bytes(r, f))
            unknown = f;
    }
    return NULL;
}

/*
 * A verified body about to be read by the handler through a filter that
 * may change it: the app is not run (500, a configuration fault), and the
 * body is withheld from the error page. The replay reservation and the
 * inbox entry settle on the 500 as "not handled", so the sender's retry
 * goes through once the filter is gone.
 */
static int refuse_transformed_body(request_rec *r, tw_txn_t *txn)
{
    const ap_filter_t *f;

    if (txn->state != TW_TXN_VERIFIED || !txn->handback_installed
        || (f = transforming_input_filter(r)) == NULL)
        return OK;
    return reject(r, APLOG_ERR, 0, HTTP_INTERNAL_SERVER_ERROR, "TWW0421",
                  apr_psprintf(r->pool, "input filter \"%s\" would change the verified body "
                               "before the app reads it: the app is not run; remove it from "
                               "where the webhook is handled (SetInputFilter, AddInputFilter)",
                               ap_escape_logitem(r->pool, f->frec->name)));
}

/*
 * Runs first, whatever handler the location has (mod_proxy picks itself
 * without r->handler), when the request's filters are in place
 * (ap_invoke_handler runs the insert_filter hooks just before): answers an
 * acknowledged delivery (duplicate, ignored event) itself, and keeps the
 * app from a verified body that a filter would change.
 */
static int hook_handler(request_rec *r)
{
    tw_txn_t *txn = tw_txn_get(r);
    const tw_view_t *view = txn != NULL ? view_find(r) : NULL;
    int status;

    if (view != NULL && view->ack != NULL) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rputs(view->ack, r);
        return OK;
    }
    if (txn != NULL && (status = refuse_transformed_body(r, txn)) != OK)
        return status;
    return DECLINED;
}

/* For a response that never passed the filter (the client went away). */
static int hook_log_transaction(request_rec *r)
{
    tw_txn_t *txn = tw_txn_get(r);

    if (txn != NULL)
        tw_body_settle_replay(r, txn);
    return DECLINED;
}


static int hook_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    tw_config_pre_config();
    return tw_replay_pre_config(pconf, plog, ptemp);
}

static int hook_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    int status = tw_metrics_post_config(pconf, plog, ptemp, s);

    if (status == OK)
        status = tw_deliveries_post_config(pconf, plog, ptemp, s);
    find_known_input_filters();   /* every module has registered its own */
    if (status == OK)
        status = tw_replay_post_config(pconf, plog, ptemp, s);
    if (status == OK)
        status = tw_queue_post_config(pconf, plog, ptemp, s);
    if (status == OK && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "TWW0901: mod_twwebhook " TW_VERSION " ready: %d protected scope(s)",
                     tw_metrics_scopes());
    return status;
}

static void hook_child_init(apr_pool_t *p, server_rec *s)
{
    tw_replay_child_init(p, s);
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(hook_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(tw_config_check, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(tw_replay_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(tw_queue_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(hook_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(hook_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_rewrite's per-directory fixup (APR_HOOK_FIRST), so the
     * body is verified before a front-controller rule redirects. */
    ap_hook_header_parser(hook_header_parser, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(hook_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(hook_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_log_transaction(hook_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    tw_body_register_filters();
    tw_status_register_hooks();
    tw_inbox_register_hooks();
    tw_metrics_register_hooks();
    tw_deliveries_register_hooks();
}

AP_DECLARE_MODULE(twwebhook) = {
    STANDARD20_MODULE_STUFF,
    tw_create_dir_conf,
    tw_merge_dir_conf,
    tw_create_srv_conf,
    tw_merge_srv_conf,
    tw_cmds,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
