/*
 * SPDX-License-Identifier: Apache-2.0
 * deliveries_page.c - "SetHandler twwebhook-deliveries": the recent
 * deliveries of the server (glue/deliveries.c keeps them) and the inbox's
 * entries, as HTML for people and ?format=json for scripts, with
 * Redeliver and Drop.
 *
 * Safe by construction: every value that came from a request was made
 * safe text when its row was written and is escaped again here
 * (ap_escape_html2 for HTML, json_string for JSON); the page has no
 * script, and its one style sheet carries a nonce made for each answer
 * (Content-Security-Policy: default-src 'none'). A GET never changes
 * anything; an action is a form POST that must carry this start's nonce
 * (tw_deliveries_nonce) and come from the page's own origin (Origin, else
 * Referer), else 403 and a notice line (TWW0250); every action is logged
 * at notice with the user, the address and what it did (TWW0251). The
 * inbox's entries come from every TwWebhookInbox of the configuration
 * (glue/inbox.c's tw_inbox_stores) through tw/store.h.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "apr_strings.h"

#include "glue/glue.h"
#include "glue/inbox.h"
#include "glue/metrics.h"
#include "glue/deliveries.h"
#include "glue/deliveries_row.h"

APLOG_USE_MODULE(twwebhook);

#define TW_DLV_HANDLER      "twwebhook-deliveries"
#define TW_DLV_FORM_MAX     8192    /* a POST's form, at most */
#define TW_DLV_STYLE_NONCE_BYTES 16

/* ---- the inbox's stores ----------------------------------------------------------
 * The only code that touches them: every TwWebhookInbox of the
 * configuration (tw_inbox_stores), each through this child's handle
 * (tw_inbox_store_for), one call at a time under its lock. */

typedef struct {
    const char *id;
    const char *state;          /* tw_state_name: direct, held, queued, dead */
    apr_time_t received;
    unsigned int attempts;
    int last_status;            /* 0: none known */
    const char *path;
    apr_off_t length;
} tw_page_entry_t;

static apr_status_t store_list(const char *spec, apr_array_header_t **pentries,
                               unsigned int *pbad, apr_pool_t *p)
{
    apr_array_header_t *raw = NULL;
    tw_store_t *store;
    apr_status_t rv;
    int i;

    *pentries = apr_array_make(p, 8, sizeof(tw_page_entry_t));
    if ((rv = tw_inbox_store_for(spec, &store)) != APR_SUCCESS)
        return rv;
    if ((rv = tw_inbox_store_lock(store)) == APR_SUCCESS)
        rv = tw_store_list(store, 0, &raw, pbad, p);
    tw_inbox_store_unlock_after(store, rv);
    for (i = 0; rv == APR_SUCCESS && i < raw->nelts; i++) {
        const tw_stored_t *st = APR_ARRAY_IDX(raw, i, const tw_stored_t *);
        tw_page_entry_t *pe = apr_array_push(*pentries);

        pe->id = apr_pstrdup(p, st->e.id);
        pe->state = tw_state_name(st->state);
        pe->received = st->e.received;
        pe->attempts = st->e.attempts;
        pe->last_status = st->e.last_status;
        pe->path = st->e.path;
        pe->length = st->e.body_length;
    }
    return rv;
}

/* Redeliver (queued again, for the dispatcher) or Drop (removed). */
static apr_status_t store_apply(const char *action, const char *spec, const char *id,
                                apr_pool_t *p)
{
    tw_store_t *store;
    apr_status_t rv;

    if ((rv = tw_inbox_store_for(spec, &store)) != APR_SUCCESS)
        return rv;
    if ((rv = tw_inbox_store_lock(store)) == APR_SUCCESS)
        rv = strcmp(action, "redeliver") == 0 ? tw_store_requeue(store, id, p)
                                              : tw_store_remove(store, id, p);
    tw_inbox_store_unlock_after(store, rv);
    if (rv == APR_SUCCESS && strcmp(action, "redeliver") == 0)
        tw_deliveries_requeued(id, "redelivered from the deliveries page (TWW0251): "
                               "queued for the dispatcher");
    return rv;
}

/* How the page and the log name a store: the store's own name (never a
 * password, should a spec ever carry one), else the spec. */
static const char *store_label(const char *spec)
{
    tw_store_t *store;

    return tw_inbox_store_for(spec, &store) == APR_SUCCESS ? tw_store_name(store) : spec;
}

static const char *store_error(apr_status_t rv, apr_pool_t *p)
{
    char buf[160];

    return apr_pstrdup(p, tw_store_strerror(rv, buf, sizeof(buf)));
}

/* ---- the page: helpers ------------------------------------------------------- */

typedef struct {
    request_rec *r;
    apr_table_t *args;
    const char *state, *verdict, *event, *delivery;   /* filters; NULL: any */
    apr_time_t now;
    const char *style_nonce;
    int kept;                           /* the server keeps rows */
    const apr_array_header_t *stores;   /* tw_inbox_stores */
} tw_page_t;

static const char *esc(apr_pool_t *p, const char *s)
{
    return ap_escape_html2(p, s ? s : "", 0);
}

static const char *arg(const tw_page_t *pg, const char *name)
{
    const char *v = apr_table_get(pg->args, name);

    return v != NULL && *v != '\0' ? v : NULL;
}

static const char *utc(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    char buf[64];
    apr_size_t n;

    if (apr_time_exp_gmt(&x, t) != APR_SUCCESS
        || apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &x) != APR_SUCCESS)
        return "-";
    return apr_pstrdup(p, buf);
}

static const char *ago(apr_pool_t *p, apr_time_t now, apr_time_t t)
{
    apr_int64_t s = (apr_int64_t)apr_time_sec(now - t);

    if (s < 0)
        s = 0;
    if (s < 60)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " s ago", s);
    if (s < 3600)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min ago", s / 60);
    if (s < 86400)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " h ago", s / 3600);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " d ago", s / 86400);
}

static const char *verdict_of(apr_pool_t *p, const tw_dlv_row_t *row)
{
    if (row->outcome >= TW_OUTCOME_REJECTED_400 && row->status >= 400)
        return apr_psprintf(p, "rejected-%d", (int)row->status);
    return tw_outcome_name((tw_outcome_t)row->outcome);
}

static int row_matches(const tw_page_t *pg, const tw_dlv_row_t *row)
{
    const char *verdict = verdict_of(pg->r->pool, row);

    if (pg->state && strcmp(pg->state, tw_deliveries_state_name(row->state)) != 0)
        return 0;
    if (pg->verdict && strcmp(pg->verdict, verdict) != 0
        && !(strcmp(pg->verdict, "rejected") == 0 && strncmp(verdict, "rejected-", 9) == 0))
        return 0;
    if (pg->event && strcmp(pg->event, row->event) != 0)
        return 0;
    if (pg->delivery && strcmp(pg->delivery, row->delivery) != 0)
        return 0;
    return 1;
}

/* The requests a row stands for: identical refusals in a row are counted
 * in one (glue/deliveries.c, "Refusals in a row"). */
static int count_of(const tw_dlv_row_t *row)
{
    return row->count > 1 ? (int)row->count : 1;
}

/* Copies of a delivery id the sender sent so far (rows still kept), up to
 * and including this one: its attempts as seen here. */
static int attempts_of(const apr_array_header_t *rows, int at)
{
    const tw_dlv_row_t *row = APR_ARRAY_IDX(rows, at, const tw_dlv_row_t *);
    int i, n = count_of(row);

    if (row->delivery[0] == '\0')
        return n;
    for (i = at + 1; i < rows->nelts; i++) {
        const tw_dlv_row_t *older = APR_ARRAY_IDX(rows, i, const tw_dlv_row_t *);

        if (strcmp(older->delivery, row->delivery) == 0)
            n += count_of(older);
    }
    return n;
}

/* "" for a row of one request; else how many identical refusals it
 * counts and when the last came, as HTML. */
static const char *repeats_note(apr_pool_t *p, apr_time_t now, const tw_dlv_row_t *row)
{
    if (count_of(row) == 1)
        return "";
    return apr_psprintf(p, "<br><small class=\"repeats\">&times;%d in a row, the last %s</small>",
                        count_of(row), ap_escape_html(p, ago(p, now, row->last_time)));
}

/* The tries: the dispatcher's for a delivery it took (queued, or held and
 * redelivered), else the sender's copies seen. */
static int tries_of(const apr_array_header_t *rows, int at)
{
    const tw_dlv_row_t *row = APR_ARRAY_IDX(rows, at, const tw_dlv_row_t *);

    return row->attempts > 0 ? (int)row->attempts : attempts_of(rows, at);
}

/* A JSON string literal of s (valid UTF-8, as every row's text is);
 * <, > and & as \u escapes, so no sniffer ever finds markup in it. */
static const char *json_string(apr_pool_t *p, const char *s)
{
    apr_size_t n = 2;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++)
        n += ((unsigned char)*c < 0x20 || strchr("\"\\<>&", *c)) ? 6 : 1;
    o = out = apr_palloc(p, n + 1);
    *o++ = '"';
    for (c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;

        if (u < 0x20 || strchr("\"\\<>&", *c)) {
            apr_snprintf(o, 7, "\\u%04x", u);
            o += 6;
        }
        else
            *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static void set_page_headers(request_rec *r, const char *style_nonce)
{
    apr_table_t *h = r->err_headers_out;   /* for error pages too */

    apr_table_setn(h, "Content-Security-Policy",
                   apr_psprintf(r->pool, "default-src 'none'; style-src 'nonce-%s'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                                style_nonce));
    apr_table_setn(h, "X-Frame-Options", "DENY");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "Referrer-Policy", "same-origin");
}

/* ---- the page: JSON ------------------------------------------------------------ */

/* Why the row holds no SHA-256 of its body, as HTML; NULL when it holds one. */
static const char *sha256_missing(const tw_dlv_row_t *row)
{
    if (row->sha256[0] == '\0')
        return "&ndash; (not verified)";
    if (strcmp(row->sha256, TW_DLV_SHA256_SPOOLED) == 0)
        return "&ndash; (not computed: the body was over TwWebhookSpoolMemoryLimit)";
    if (strcmp(row->sha256, TW_DLV_SHA256_UNASKED) == 0)
        return "&ndash; (not computed: no replay cache or inbox hashed this body, and "
               "TwWebhookDeliveriesShowBody is Off)";
    return NULL;
}

static void json_row(request_rec *r, const apr_array_header_t *rows, int at, int with_body,
                     int first)
{
    const tw_dlv_row_t *row = APR_ARRAY_IDX(rows, at, const tw_dlv_row_t *);
    apr_pool_t *p = r->pool;
    int i;

    ap_rprintf(r, "%s{\"id\":%u,\"time\":%s,\"time_unix\":%" APR_INT64_T_FMT
               ",\"location\":%s,\"profile\":%s,\"method\":%s,\"path\":%s,\"client\":%s,"
               "\"event\":%s,\"delivery\":%s,\"verdict\":%s,\"tag\":%s,\"reason\":%s,"
               "\"status\":%d,\"body_size\":%" APR_INT64_T_FMT ",\"body_sha256\":%s,"
               "\"app_status\":%d,\"app_time_ms\":%" APR_INT64_T_FMT ",\"attempts\":%d,"
               "\"state\":%s,\"next_try\":%s,\"next_try_unix\":%s,\"entry\":%s,"
               "\"dispatched_at\":%s,\"dispatch_ms\":%s,\"count\":%d,\"last_time\":%s,"
               "\"headers\":[",
               first ? "" : ",", (unsigned)row->serial, json_string(p, utc(p, row->time)),
               (apr_int64_t)apr_time_sec(row->time), json_string(p, row->location),
               json_string(p, row->profile), json_string(p, row->method),
               json_string(p, row->path), json_string(p, row->client),
               json_string(p, row->event), json_string(p, row->delivery),
               json_string(p, verdict_of(p, row)),
               row->tag[0] ? json_string(p, row->tag) : "null",
               json_string(p, row->reason), (int)row->status, (apr_int64_t)row->body_size,
               sha256_missing(row) ? "null" : json_string(p, row->sha256),
               (int)row->app_status,
               row->took >= 0 ? (apr_int64_t)(row->took / 1000) : (apr_int64_t)-1,
               tries_of(rows, at), json_string(p, tw_deliveries_state_name(row->state)),
               row->next_try ? json_string(p, utc(p, row->next_try)) : "null",
               row->next_try ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                            (apr_int64_t)apr_time_sec(row->next_try)) : "null",
               row->entry[0] ? json_string(p, row->entry) : "null",
               row->dispatched_at ? json_string(p, utc(p, row->dispatched_at)) : "null",
               row->dispatched_at ? apr_psprintf(p, "%" APR_INT64_T_FMT,
                                                 (apr_int64_t)(row->dispatch_took / 1000))
                                  : "null",
               count_of(row), json_string(p, utc(p, count_of(row) > 1 ? row->last_time
                                                                      : row->time)));
    for (i = 0; i < row->nheaders; i++)
        ap_rprintf(r, "%s{\"name\":%s,\"value\":%s}", i ? "," : "",
                   json_string(p, row->headers[i].name), json_string(p, row->headers[i].value));
    ap_rprintf(r, "],\"headers_left_out\":%d", (int)row->headers_left_out);
    if (with_body)
        ap_rprintf(r, ",\"body\":%s", row->body_len >= 0 ? json_string(p, row->body) : "null");
    ap_rputs("}", r);
}

static void json_inbox(const tw_page_t *pg)
{
    request_rec *r = pg->r;
    int i, j;

    ap_rputs(",\"inbox\":[", r);
    for (i = 0; pg->stores != NULL && i < pg->stores->nelts; i++) {
        const char *spec = APR_ARRAY_IDX(pg->stores, i, const char *);
        apr_array_header_t *entries = NULL;
        unsigned int bad = 0;
        apr_status_t rv = store_list(spec, &entries, &bad, r->pool);

        ap_rprintf(r, "%s{\"store\":%s,\"index\":%d,", i ? "," : "",
                   json_string(r->pool, store_label(spec)), i);
        if (rv != APR_SUCCESS) {
            ap_rprintf(r, "\"error\":%s,\"entries\":[]}",
                       json_string(r->pool, store_error(rv, r->pool)));
            continue;
        }
        ap_rprintf(r, "\"unreadable\":%u,\"entries\":[", bad);
        for (j = 0; j < entries->nelts; j++) {
            const tw_page_entry_t *e = &APR_ARRAY_IDX(entries, j, tw_page_entry_t);
            char path[TW_DLV_PATH];

            tw_deliveries_put_text(path, sizeof(path), e->path);
            ap_rprintf(r, "%s{\"id\":%s,\"state\":%s,\"received\":%s,\"attempts\":%u,"
                       "\"last_status\":%d,\"path\":%s,\"body_size\":%" APR_OFF_T_FMT "}",
                       j ? "," : "", json_string(r->pool, e->id),
                       json_string(r->pool, e->state),
                       json_string(r->pool, utc(r->pool, e->received)), e->attempts,
                       e->last_status, json_string(r->pool, path), e->length);
        }
        ap_rputs("]}", r);
    }
    ap_rputs("]", r);
}

static int write_json(tw_page_t *pg, apr_array_header_t *rows, long one)
{
    request_rec *r = pg->r;
    tw_deliveries_summary_t sum;
    int i, n = 0;

    ap_set_content_type(r, "application/json");
    if (r->header_only)
        return OK;
    tw_deliveries_summary(r->server, &sum);
    ap_rprintf(r, "{\"server\":%s,\"capacity\":%d,\"kept\":%" APR_UINT64_T_FMT ",\"counts\":{",
               json_string(r->pool, apr_psprintf(r->pool, "%s:%u", ap_get_server_name(r),
                                                 (unsigned)ap_get_server_port(r))),
               sum.capacity, sum.kept);
    for (i = 0; i < TW_DLV_STATE_MAX; i++)
        ap_rprintf(r, "%s\"%s\":%" APR_UINT64_T_FMT, i ? "," : "", tw_deliveries_state_name((tw_dlv_state_t)i), sum.by_state[i]);
    ap_rputs("},\"deliveries\":[", r);
    for (i = 0; i < rows->nelts; i++) {
        const tw_dlv_row_t *row = APR_ARRAY_IDX(rows, i, const tw_dlv_row_t *);

        if (one > 0 ? row->serial != (apr_uint32_t)one : !row_matches(pg, row))
            continue;
        json_row(r, rows, i, one > 0, n++ == 0);
    }
    ap_rputs("]", r);
    if (one <= 0)
        json_inbox(pg);
    ap_rputs("}\n", r);
    return OK;
}

/* ---- the page: HTML ------------------------------------------------------------ */

static const char page_css[] =
    ":root{--fg:#1d232b;--muted:#5b6570;--line:#d9dee3;--bg:#f6f7f9;--card:#fff}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    "header{background:#1f2d3d;color:#fff;padding:14px 20px}"
    "header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#c9d3dd;font-size:13px}"
    "main{padding:16px 20px;max-width:1400px}"
    "a{color:#0b5cad}"
    ".counts{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 16px;padding:0;list-style:none}"
    ".counts li{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:8px 12px;min-width:110px}"
    ".counts b{display:block;font-size:22px}"
    "form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;background:var(--card);"
    "border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin-bottom:16px}"
    "form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}"
    "input,select,button{font:inherit;padding:5px 8px;border:1px solid #b9c1c9;border-radius:6px;"
    "background:#fff}"
    "button{cursor:pointer;background:#eef2f6}button.danger{border-color:#c0392b;color:#a02c20}"
    "table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line)}"
    "th,td{text-align:left;padding:7px 9px;border-bottom:1px solid var(--line);vertical-align:top}"
    "th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);"
    "background:#fafbfc}"
    "td.mono,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;"
    "word-break:break-all}"
    "small{color:var(--muted)}"
    "td.num{white-space:nowrap}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
    "font-weight:600;border:1px solid}"
    ".badge::before{margin-right:4px}"
    ".s-delivered{background:#e3f5e8;color:#14622f;border-color:#8fd0a4}"
    ".s-delivered::before{content:'\\2713'}"
    ".s-failed{background:#fde8e6;color:#9c2418;border-color:#ee9d94}"
    ".s-failed::before{content:'!'}"
    ".s-held{background:#fff4d6;color:#7a5200;border-color:#e8c15c}"
    ".s-held::before{content:'\\2016'}"
    ".s-queued{background:#e4eefc;color:#17468a;border-color:#95b5e6}"
    ".s-queued::before{content:'\\21BB'}"
    ".s-dead{background:#ece7f3;color:#4b2a73;border-color:#b39ad1}"
    ".s-dead::before{content:'\\2020'}"
    ".s-acknowledged{background:#eef1f4;color:#39434d;border-color:#b7c0c9}"
    ".s-acknowledged::before{content:'\\2261'}"
    ".s-refused{background:#fbe9ef;color:#8a1538;border-color:#e497ad}"
    ".s-refused::before{content:'\\00D7'}"
    ".s-pending{background:#f3f3f3;color:#555;border-color:#ccc}"
    ".s-pending::before{content:'\\2026'}"
    ".s-direct{background:#e4eefc;color:#17468a;border-color:#95b5e6}"
    "section{margin-top:22px}h2{font-size:17px;margin:0 0 8px}"
    "dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;background:var(--card);"
    "border:1px solid var(--line);border-radius:8px;padding:12px}"
    "dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}"
    "pre{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px;"
    "overflow:auto;white-space:pre-wrap;word-break:break-all}"
    "form.inline{display:inline}"
    ".flash{background:#e4eefc;border:1px solid #95b5e6;border-radius:8px;padding:8px 12px}"
    ".note{color:var(--muted);font-size:13px}"
    "@media (max-width:760px){"
    "table.rows thead{display:none}"
    "table.rows tr{display:block;border-bottom:2px solid var(--line);padding:6px 0}"
    "table.rows td{display:flex;gap:10px;border:0;padding:3px 10px}"
    "table.rows td::before{content:attr(data-label);min-width:88px;color:var(--muted);"
    "font-size:12px;text-transform:uppercase}"
    "header,main{padding-left:12px;padding-right:12px}}";

static void html_start(tw_page_t *pg, const char *title)
{
    request_rec *r = pg->r;
    apr_pool_t *p = r->pool;

    ap_rprintf(r, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<meta name=\"referrer\" content=\"same-origin\">"
               "<title>%s</title><style nonce=\"%s\">%s</style></head><body>\n"
               "<header><h1>%s</h1><p>%s &middot; %s &middot; mod_twwebhook " TW_VERSION
               "</p></header>\n<main>\n",
               esc(p, title), pg->style_nonce, page_css, esc(p, title),
               esc(p, apr_psprintf(p, "%s:%u", ap_get_server_name(r),
                                   (unsigned)ap_get_server_port(r))),
               esc(p, utc(p, pg->now)));
}

static void html_end(request_rec *r)
{
    ap_rputs("</main></body></html>\n", r);
}

static const char *badge(apr_pool_t *p, const char *state)
{
    return apr_psprintf(p, "<span class=\"badge s-%s\">%s</span>", esc(p, state), esc(p, state));
}

/* The page's own address, for links and forms. */
static const char *self_uri(request_rec *r)
{
    return esc(r->pool, ap_escape_uri(r->pool, r->uri));
}

static void html_counts(tw_page_t *pg)
{
    request_rec *r = pg->r;
    tw_deliveries_summary_t sum;
    int i;

    tw_deliveries_summary(r->server, &sum);
    ap_rprintf(r, "<ul class=\"counts\"><li><b>%" APR_UINT64_T_FMT "</b>kept of %d</li>",
               sum.kept, sum.capacity);
    for (i = 0; i < TW_DLV_STATE_MAX; i++)
        if (sum.by_state[i] != 0 || i == TW_DLV_DELIVERED || i == TW_DLV_REFUSED)
            ap_rprintf(r, "<li><b>%" APR_UINT64_T_FMT "</b>%s</li>", sum.by_state[i],
                       badge(r->pool, tw_deliveries_state_name((tw_dlv_state_t)i)));
    ap_rputs("</ul>\n", r);
}

static void html_select(request_rec *r, const char *name, const char *label, const char *current,
                        const char *const *values, int n)
{
    int i;

    ap_rprintf(r, "<label>%s<select name=\"%s\"><option value=\"\">any</option>", label, name);
    for (i = 0; i < n; i++)
        ap_rprintf(r, "<option%s>%s</option>",
                   current && strcmp(current, values[i]) == 0 ? " selected" : "",
                   esc(r->pool, values[i]));
    ap_rputs("</select></label>", r);
}

static void html_filters(tw_page_t *pg)
{
    request_rec *r = pg->r;
    const char *verdicts[TW_OUTCOME_MAX + 1], *states[TW_DLV_STATE_MAX];
    int i, n = 0;

    for (i = 0; i < TW_OUTCOME_MAX; i++)
        if (i < TW_OUTCOME_REJECTED_400)
            verdicts[n++] = tw_outcome_name((tw_outcome_t)i);
    verdicts[n++] = "rejected";
    verdicts[n++] = "rejected-400";
    verdicts[n++] = "rejected-401";
    verdicts[n++] = "rejected-405";
    verdicts[n++] = "rejected-409";
    verdicts[n++] = "rejected-413";
    verdicts[n++] = "rejected-500";
    verdicts[n++] = "rejected-503";
    ap_rprintf(r, "<form class=\"filters\" method=\"get\" action=\"%s\">"
               "<label>Delivery id<input name=\"delivery\" size=\"38\" value=\"%s\" "
               "placeholder=\"the UUID the sender shows\"></label>"
               "<label>Event<input name=\"event\" size=\"18\" value=\"%s\"></label>",
               self_uri(r), esc(r->pool, pg->delivery), esc(r->pool, pg->event));
    for (i = 0; i < TW_DLV_STATE_MAX; i++)
        states[i] = tw_deliveries_state_name((tw_dlv_state_t)i);
    html_select(r, "state", "State", pg->state, states, TW_DLV_STATE_MAX);
    html_select(r, "verdict", "Verdict", pg->verdict, verdicts, n);
    ap_rprintf(r, "<button type=\"submit\">Find</button> <a href=\"%s\">clear</a></form>\n",
               self_uri(r));
}

static const char *app_cell(apr_pool_t *p, const tw_dlv_row_t *row)
{
    if (row->app_status == 0)
        return "&ndash;";
    return apr_psprintf(p, "%d", (int)row->app_status);
}

/* How long the app took: the queue's last try for a delivery it took
 * (the sender's own request was answered without the app), else the
 * sender's request. */
static const char *took_cell(apr_pool_t *p, const tw_dlv_row_t *row)
{
    apr_int64_t took = row->dispatched_at ? row->dispatch_took : row->took;

    if (took < 0)
        return "&ndash;";
    if (took < 10000)
        return apr_psprintf(p, "%.1f ms", (double)took / 1000.0);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " ms", took / 1000);
}

/* The body's SHA-256, or why there is none. */
static const char *sha256_cell(apr_pool_t *p, const tw_dlv_row_t *row)
{
    const char *missing = sha256_missing(row);

    return missing != NULL ? missing : esc(p, row->sha256);
}

static const char *size_cell(apr_pool_t *p, const tw_dlv_row_t *row)
{
    return row->body_size < 0 ? "&ndash;"
                              : apr_psprintf(p, "%" APR_INT64_T_FMT " B", (apr_int64_t)row->body_size);
}

/* How long until t, as the page says times ago. */
static const char *in_time(apr_pool_t *p, apr_time_t now, apr_time_t t)
{
    apr_int64_t s = t > now ? (apr_int64_t)apr_time_sec(t - now) : 0;

    if (s < 60)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " s", s);
    if (s < 3600)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min", s / 60);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " h", s / 3600);
}

/* The state's badge, and for a queued delivery when it is tried next. */
static const char *state_cell(const tw_page_t *pg, const tw_dlv_row_t *row)
{
    apr_pool_t *p = pg->r->pool;
    const char *b = badge(p, tw_deliveries_state_name(row->state));

    if (row->state != TW_DLV_QUEUED || row->next_try == 0)
        return b;
    return apr_psprintf(p, "%s<br><small>next try in %s</small>", b,
                        in_time(p, pg->now, row->next_try));
}

static void html_list(tw_page_t *pg, apr_array_header_t *rows)
{
    request_rec *r = pg->r;
    apr_pool_t *p = r->pool;
    int i, shown = 0;

    ap_rputs("<section><h2>Recent deliveries</h2>\n<table class=\"rows\"><thead><tr>"
             "<th>Time</th><th>State</th><th>Verdict</th><th>Event</th><th>Delivery id</th>"
             "<th>Location</th><th>Size</th><th>App</th><th>Took</th><th>Tries</th>"
             "</tr></thead><tbody>\n", r);
    for (i = 0; i < rows->nelts; i++) {
        const tw_dlv_row_t *row = APR_ARRAY_IDX(rows, i, const tw_dlv_row_t *);

        if (!row_matches(pg, row))
            continue;
        shown++;
        ap_rprintf(r, "<tr class=\"row\" id=\"d%u\">"
                   "<td data-label=\"Time\"><a href=\"%s?id=%u\">%s</a><br><small>%s</small></td>"
                   "<td data-label=\"State\">%s</td>"
                   "<td data-label=\"Verdict\"><span class=\"verdict\">%s</span><br>"
                   "<small>%s %s</small>%s</td>"
                   "<td data-label=\"Event\" class=\"mono event\">%s</td>"
                   "<td data-label=\"Delivery id\" class=\"mono delivery\">%s</td>"
                   "<td data-label=\"Location\" class=\"mono\">%s</td>"
                   "<td data-label=\"Size\" class=\"num\">%s</td>"
                   "<td data-label=\"App\" class=\"num\">%s</td>"
                   "<td data-label=\"Took\" class=\"num\">%s</td>"
                   "<td data-label=\"Tries\" class=\"num\">%d</td></tr>\n",
                   (unsigned)row->serial, self_uri(r), (unsigned)row->serial,
                   esc(p, utc(p, row->time)), esc(p, ago(p, pg->now, row->time)),
                   state_cell(pg, row), esc(p, verdict_of(p, row)),
                   esc(p, row->tag), esc(p, row->reason), repeats_note(p, pg->now, row),
                   esc(p, row->event),
                   esc(p, row->delivery), esc(p, row->location), size_cell(p, row),
                   app_cell(p, row), took_cell(p, row), tries_of(rows, i));
    }
    if (shown == 0)
        ap_rputs("<tr><td colspan=\"10\" class=\"note\">No delivery kept matches.</td></tr>\n", r);
    ap_rputs("</tbody></table></section>\n", r);
}

static void html_action_form(tw_page_t *pg, int store, const char *entry, const char *action,
                             const char *label, int danger)
{
    request_rec *r = pg->r;

    ap_rprintf(r, "<form class=\"inline\" method=\"post\" action=\"%s\">"
               "<input type=\"hidden\" name=\"nonce\" value=\"%s\">"
               "<input type=\"hidden\" name=\"store\" value=\"%d\">"
               "<input type=\"hidden\" name=\"entry\" value=\"%s\">"
               "<button type=\"submit\" name=\"action\" value=\"%s\"%s>%s</button></form> ",
               self_uri(r), tw_deliveries_nonce(), store, esc(r->pool, entry), action,
               danger ? " class=\"danger\"" : "", label);
}

static void html_inbox(tw_page_t *pg)
{
    request_rec *r = pg->r;
    apr_pool_t *p = r->pool;
    int i, j;

    ap_rputs("<section><h2>Inbox</h2>\n", r);
    if (pg->stores == NULL || pg->stores->nelts == 0)
        ap_rputs("<p class=\"note\">No TwWebhookInbox is configured.</p>\n", r);
    for (i = 0; pg->stores != NULL && i < pg->stores->nelts; i++) {
        const char *spec = APR_ARRAY_IDX(pg->stores, i, const char *);
        apr_array_header_t *entries = NULL;
        unsigned int bad = 0;
        apr_status_t rv = store_list(spec, &entries, &bad, p);

        ap_rprintf(r, "<h3 class=\"mono\">%s</h3>\n", esc(p, store_label(spec)));
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "TWW0470: deliveries page: cannot list the inbox %s",
                          store_label(spec));
            ap_rprintf(r, "<p class=\"note\">Cannot list it: %s</p>\n",
                       esc(p, store_error(rv, p)));
            continue;
        }
        ap_rprintf(r, "<div class=\"note\">%d entr%s%s. ", entries->nelts,
                   entries->nelts == 1 ? "y" : "ies",
                   bad ? apr_psprintf(p, ", %u unreadable", bad) : "");
        if (entries->nelts > 0) {
            html_action_form(pg, i, "all", "redeliver", "Redeliver all", 0);
            html_action_form(pg, i, "all", "drop", "Drop all", 1);
        }
        ap_rputs("</div>\n", r);
        if (entries->nelts == 0)
            continue;
        ap_rputs("<table class=\"rows inbox\"><thead><tr><th>Received</th><th>State</th>"
                 "<th>Entry</th><th>Path</th><th>Size</th><th>Tries</th><th>Last status</th>"
                 "<th></th></tr></thead><tbody>\n", r);
        for (j = 0; j < entries->nelts; j++) {
            const tw_page_entry_t *e = &APR_ARRAY_IDX(entries, j, tw_page_entry_t);
            char path[TW_DLV_PATH];

            tw_deliveries_put_text(path, sizeof(path), e->path);
            ap_rprintf(r, "<tr class=\"entry\"><td data-label=\"Received\">%s<br><small>%s</small>"
                       "</td><td data-label=\"State\">%s</td>"
                       "<td data-label=\"Entry\" class=\"mono\">%.12s&hellip;</td>"
                       "<td data-label=\"Path\" class=\"mono\">%s</td>"
                       "<td data-label=\"Size\">%" APR_OFF_T_FMT " B</td>"
                       "<td data-label=\"Tries\">%u</td><td data-label=\"Last status\">%s</td>"
                       "<td>",
                       esc(p, utc(p, e->received)), esc(p, ago(p, pg->now, e->received)),
                       badge(p, e->state), esc(p, e->id), esc(p, path), e->length, e->attempts,
                       e->last_status ? apr_psprintf(p, "%d", e->last_status) : "&ndash;");
            html_action_form(pg, i, e->id, "redeliver", "Redeliver", 0);
            html_action_form(pg, i, e->id, "drop", "Drop", 1);
            ap_rputs("</td></tr>\n", r);
        }
        ap_rputs("</tbody></table>\n", r);
    }
    ap_rputs("</section>\n", r);
}

/* For the one delivery's view: the queue's last try and its next. */
static const char *dispatch_note(const tw_page_t *pg, const tw_dlv_row_t *row)
{
    apr_pool_t *p = pg->r->pool;
    const char *note = "";

    if (row->dispatched_at)
        note = apr_psprintf(p, " &middot; last by the queue %s (%s)",
                            esc(p, utc(p, row->dispatched_at)),
                            esc(p, ago(p, pg->now, row->dispatched_at)));
    if (row->state == TW_DLV_QUEUED && row->next_try)
        note = apr_pstrcat(p, note, " &middot; next try ", esc(p, utc(p, row->next_try)),
                           " (in ", esc(p, in_time(p, pg->now, row->next_try)), ")", NULL);
    return note;
}

static void html_one(tw_page_t *pg, apr_array_header_t *rows, long id)
{
    request_rec *r = pg->r;
    apr_pool_t *p = r->pool;
    const tw_dlv_row_t *row = NULL;
    int i, at = 0;

    for (i = 0; i < rows->nelts && row == NULL; i++)
        if (APR_ARRAY_IDX(rows, i, const tw_dlv_row_t *)->serial == (apr_uint32_t)id)
            row = APR_ARRAY_IDX(rows, (at = i), const tw_dlv_row_t *);
    ap_rprintf(r, "<p><a href=\"%s\">&larr; all deliveries</a></p>\n", self_uri(r));
    if (row == NULL) {
        ap_rprintf(r, "<p class=\"note\">Delivery %ld is no longer kept.</p>\n", id);
        return;
    }
    ap_rprintf(r, "<section><h2>Delivery %u %s</h2><dl class=\"kv one\">"
               "<dt>Received</dt><dd>%s (%s)</dd><dt>Location</dt><dd class=\"mono\">%s</dd>"
               "<dt>Profile</dt><dd>%s</dd><dt>Request</dt><dd class=\"mono\">%s %s</dd>"
               "<dt>Client</dt><dd class=\"mono\">%s</dd>"
               "<dt>Event</dt><dd class=\"mono event\">%s</dd>"
               "<dt>Delivery id</dt><dd class=\"mono delivery\">%s</dd>"
               "<dt>Verdict</dt><dd>%s &mdash; %s %s%s</dd>"
               "<dt>Answered</dt><dd>%s</dd><dt>App</dt><dd>%s, took %s</dd>"
               "<dt>Tries</dt><dd>%d%s</dd>"
               "<dt>Body</dt><dd>%s</dd><dt>Body SHA-256</dt><dd class=\"mono\">%s</dd></dl>"
               "</section>\n",
               (unsigned)row->serial, badge(p, tw_deliveries_state_name(row->state)),
               esc(p, utc(p, row->time)), esc(p, ago(p, pg->now, row->time)),
               esc(p, row->location), esc(p, row->profile), esc(p, row->method),
               esc(p, row->path), esc(p, row->client), esc(p, row->event),
               esc(p, row->delivery), esc(p, verdict_of(p, row)), esc(p, row->tag),
               esc(p, row->reason), repeats_note(p, pg->now, row),
               row->status ? apr_psprintf(p, "%d", (int)row->status) : "&ndash;",
               app_cell(p, row), took_cell(p, row), tries_of(rows, at), dispatch_note(pg, row),
               size_cell(p, row),
               sha256_cell(p, row));
    ap_rputs("<section><h2>Request headers</h2><table class=\"rows headers\"><thead><tr>"
             "<th>Name</th><th>Value</th></tr></thead><tbody>\n", r);
    for (i = 0; i < row->nheaders; i++)
        ap_rprintf(r, "<tr><td data-label=\"Name\" class=\"mono\">%s</td>"
                   "<td data-label=\"Value\" class=\"mono\">%s</td></tr>\n",
                   esc(p, row->headers[i].name), esc(p, row->headers[i].value));
    ap_rputs("</tbody></table>", r);
    if (row->headers_left_out)
        ap_rprintf(r, "<p class=\"note\">%d more header lines not kept.</p>",
                   (int)row->headers_left_out);
    ap_rputs("</section>\n<section><h2>Body</h2>", r);
    if (row->body_len >= 0)
        ap_rprintf(r, "<pre class=\"body\">%s</pre>", esc(p, row->body));
    else
        ap_rputs("<p class=\"note\">Not kept: only a verified body, and only where "
                 "TwWebhookDeliveriesShowBody On applies.</p>", r);
    ap_rputs("</section>\n", r);
}

static int write_html(tw_page_t *pg, apr_array_header_t *rows, long one)
{
    request_rec *r = pg->r;

    ap_set_content_type(r, "text/html; charset=utf-8");
    if (r->header_only)
        return OK;
    html_start(pg, "Webhook deliveries");
    if (!pg->kept)
        ap_rputs("<p class=\"note\">No recent deliveries are kept on this server "
                 "(TwWebhookDeliveriesLog 0, or see TWW0851 at start-up).</p>\n", r);
    if (one > 0) {
        html_one(pg, rows, one);
    }
    else {
        const char *done = arg(pg, "done"), *failed = arg(pg, "failed");

        /* after an action (handle_post's redirect): numbers only, never
         * the query's text */
        if (done != NULL)
            ap_rprintf(r, "<p class=\"flash\">Action done for %d entr%s, failed for %d.</p>\n",
                       atoi(done), atoi(done) == 1 ? "y" : "ies", failed ? atoi(failed) : 0);
        html_counts(pg);
        html_filters(pg);
        html_list(pg, rows);
        html_inbox(pg);
    }
    html_end(r);
    return OK;
}

/* ---- the page: actions ---------------------------------------------------------- */

/* Constant-time: the nonce is compared as balancer-manager's is not. */
static int nonce_matches(const char *given)
{
    const char *nonce = tw_deliveries_nonce();
    apr_size_t n = strlen(nonce), i;
    unsigned char diff = 0;

    if (given == NULL || n == 0 || strlen(given) != n)
        return 0;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(given[i] ^ nonce[i]);
    return diff == 0;
}

/* NULL when the request comes from this page's own origin: its Origin, or
 * without one its Referer, names this scheme, host and port. */
static const char *foreign_origin(request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *referer = apr_table_get(r->headers_in, "Referer");
    const char *self = ap_construct_url(r->pool, "/", r);   /* "http://host:port/" */
    apr_size_t n = strlen(self) - 1;                       /* without the '/' */

    if (origin != NULL)
        return strlen(origin) == n && strncasecmp(origin, self, n) == 0 ? NULL
               : "Origin is not this page's";
    if (referer == NULL)
        return "neither Origin nor Referer";
    return strncasecmp(referer, self, n + 1) == 0 ? NULL : "Referer is not this page's";
}

static int refuse_action(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "TWW0250: deliveries page: action refused (%s): user %s, client %s",
                  why, r->user ? ap_escape_logitem(r->pool, r->user) : "-", r->useragent_ip);
    return HTTP_FORBIDDEN;
}

static const char *form_value(request_rec *r, apr_array_header_t *pairs, const char *name)
{
    int i;

    for (i = 0; pairs != NULL && i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_size_t size;
        char *buf;

        if (strcmp(pair->name, name) != 0)
            continue;
        if (apr_brigade_length(pair->value, 1, &len) != APR_SUCCESS || len > TW_DLV_FORM_MAX)
            return NULL;
        size = (apr_size_t)len;
        buf = apr_palloc(r->pool, size + 1);
        if (apr_brigade_flatten(pair->value, buf, &size) != APR_SUCCESS)
            return NULL;
        buf[size] = '\0';
        return buf;
    }
    return NULL;
}

static int handle_post(tw_page_t *pg)
{
    request_rec *r = pg->r;
    apr_array_header_t *pairs = NULL;
    const char *why, *action, *entry, *store_arg, *spec;
    int store, done = 0, failed = 0, i;
    apr_status_t first_error = APR_SUCCESS;
    char *end = "";

    if ((why = foreign_origin(r)) != NULL)
        return refuse_action(r, why);
    if (ap_parse_form_data(r, NULL, &pairs, 8, TW_DLV_FORM_MAX) != OK)
        return refuse_action(r, "no readable form");
    if (!nonce_matches(form_value(r, pairs, "nonce")))
        return refuse_action(r, "no nonce, or not this start's");
    action = form_value(r, pairs, "action");
    entry = form_value(r, pairs, "entry");
    store_arg = form_value(r, pairs, "store");
    store = store_arg ? (int)strtol(store_arg, &end, 10) : -1;
    if (action == NULL || (strcmp(action, "redeliver") != 0 && strcmp(action, "drop") != 0)
        || entry == NULL || (strcmp(entry, "all") != 0 && !tw_inbox_id_is_valid(entry))
        || store_arg == NULL || *end != '\0' || store < 0 || pg->stores == NULL
        || store >= pg->stores->nelts)
        return refuse_action(r, "not an action of this page");
    spec = APR_ARRAY_IDX(pg->stores, store, const char *);

    if (strcmp(entry, "all") == 0) {
        apr_array_header_t *entries = NULL;
        apr_status_t rv = store_list(spec, &entries, NULL, r->pool);

        if (rv != APR_SUCCESS) {
            failed = 1;
            first_error = rv;
        }
        for (i = 0; rv == APR_SUCCESS && i < entries->nelts; i++) {
            apr_status_t one = store_apply(action, spec,
                                            APR_ARRAY_IDX(entries, i, tw_page_entry_t).id,
                                            r->pool);
            if (one == APR_SUCCESS)
                done++;
            else if (failed++ == 0)
                first_error = one;
        }
    }
    else {
        first_error = store_apply(action, spec, entry, r->pool);
        done = first_error == APR_SUCCESS;
        failed = !done;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "TWW0251: deliveries page: %s of %s in the inbox %s by user %s, client %s: "
                  "%d done, %d failed%s%s", action, entry, store_label(spec),
                  r->user ? ap_escape_logitem(r->pool, r->user) : "-", r->useragent_ip,
                  done, failed, failed ? ": " : "",
                  failed ? store_error(first_error, r->pool) : "");
    /* Back to the page (POST, redirect, GET), saying what happened. */
    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "%s?done=%d&failed=%d",
                                ap_construct_url(r->pool, ap_escape_uri(r->pool, r->uri), r),
                                done, failed));
    return HTTP_SEE_OTHER;
}

/* ---- the handler ---------------------------------------------------------------- */

static int hook_handler(request_rec *r)
{
    unsigned char random[TW_DLV_STYLE_NONCE_BYTES];
    char style_nonce[TW_DLV_STYLE_NONCE_BYTES * 2 + 1];
    apr_array_header_t *rows;
    tw_page_t pg;
    const char *id;
    long one = 0;

    if (r->handler == NULL || strcmp(r->handler, TW_DLV_HANDLER) != 0)
        return DECLINED;
    r->allowed |= (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number != M_GET && r->method_number != M_POST)
        return HTTP_METHOD_NOT_ALLOWED;
    /* A fresh nonce per response for the one inline style sheet. */
    if (apr_generate_random_bytes(random, sizeof(random)) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_bin2hex(random, sizeof(random), style_nonce);
    set_page_headers(r, style_nonce);

    memset(&pg, 0, sizeof(pg));
    pg.r = r;
    pg.now = apr_time_now();
    pg.style_nonce = style_nonce;
    rows = tw_deliveries_rows(r->server, r->pool);
    pg.kept = rows != NULL;
    pg.stores = tw_inbox_stores();
    ap_args_to_table(r, &pg.args);
    if (r->method_number == M_POST)
        return handle_post(&pg);
    /* A GET never changes anything: one carrying an action is a forged
     * link (or an old bookmark), refused so that nobody believes it worked. */
    if (apr_table_get(pg.args, "action") != NULL || apr_table_get(pg.args, "nonce") != NULL)
        return refuse_action(r, "an action asked for with GET");
    pg.state = arg(&pg, "state");
    pg.verdict = arg(&pg, "verdict");
    pg.event = arg(&pg, "event");
    pg.delivery = arg(&pg, "delivery");
    if ((id = arg(&pg, "id")) != NULL) {
        char *end;

        one = strtol(id, &end, 10);
        if (*end != '\0' || one <= 0)
            return HTTP_NOT_FOUND;
    }
    if (rows == NULL) {
        if (one > 0)
            return HTTP_NOT_FOUND;
        rows = apr_array_make(r->pool, 1, sizeof(void *));
    }
    {
        const char *format = arg(&pg, "format");

        if (format != NULL && strcmp(format, "json") == 0)
            return write_json(&pg, rows, one);
    }
    return write_html(&pg, rows, one);
}

void tw_deliveries_page_register_hooks(void)
{
    ap_hook_handler(hook_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
