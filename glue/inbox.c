/*
 * SPDX-License-Identifier: Apache-2.0
 * inbox.c - TwWebhookInbox and TwWebhookInboxHold: no verified delivery is
 * lost while the app behind the module is down.
 *
 * Life of an entry (kept through tw/store.h: a directory, libtwcore/
 * tw_store_dir.c over tw_inbox.c; Redis, libtwcore/tw_store_redis.c):
 *
 *   fixups     the verified body is about to be handed to the app: it is
 *              written to the inbox first, durably, in state direct
 *              (tw_inbox_record, called by mod_twwebhook.c), with the
 *              secret index and the scope it was verified under. If that
 *              fails the request gets 503 and the app never runs.
 *   response   the first brigade of the response passes "TWWEBHOOK_INBOX"
 *              (a content filter, added by insert_filter for the app's
 *              response and by insert_error_filter for error pages such as
 *              mod_proxy's 502/503, which ap_send_error_response sends
 *              through r->proto_output_filters only). With
 *              TwWebhookInboxHold On and a 5xx, the response becomes
 *              200 "accepted: held for redelivery" (200, not 202: the
 *              module has taken responsibility for the delivery, and
 *              Teamwork.com counts anything but 200 as a failure, then
 *              deactivates the webhook) and the rest of the app's answer
 *              is dropped.
 *              Then, before the status goes out, a 2xx from the app
 *              removes the entry; anything else records the status and
 *              keeps the entry for redelivery (twwebhook-inbox
 *              redeliver), a held 5xx in state held
 *              (tw_store_settle_direct). log_transaction does the same
 *              for a response that never passed the filter.
 *
 * Stores: each child opens each store it uses once, on first use
 * (tw_inbox_store_for), and keeps it. A directory store holds nothing but
 * its name, so every thread of the child shares it; a Redis store is one
 * connection, used by one thread at a time (tw/store.h): every call on one
 * goes between tw_inbox_store_lock and tw_inbox_store_unlock_after.
 * Each call ends within TwWebhookInboxTimeout; threads that waited for
 * the connection while a call on it ran out of time give up at once
 * (APR_TIMEUP), so a frozen Redis costs every request one timeout at
 * most, not one per request queued in front of it.
 *
 * A child killed at any point after the write leaves the entry in place:
 * the worst outcome is a delivery handed to the app twice, never one lost.
 * The per-transaction state lives on the top request's pool.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "unixd.h"

#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <unistd.h>
#include <sys/stat.h>

#include "glue/glue.h"
#include "glue/config.h"
#include "glue/inbox.h"
#include "glue/metrics.h"
#include "glue/txn.h"

APLOG_USE_MODULE(twwebhook);

#define TW_INBOX_FILTER     "TWWEBHOOK_INBOX"
#define TW_INBOX_HELD_BODY  "accepted: held for redelivery\n"

typedef struct {
    const char *spec;         /* the TwWebhookInbox it was recorded in */
    tw_store_t *store;        /* this child's (tw_inbox_store_for) */
    char id[TW_INBOX_ID_LEN + 1];
    const char *delivery;     /* for log lines; plain, checked by the glue */
    int hold;                 /* TwWebhookInboxHold On where it was recorded */
    request_rec *recorded_by; /* counts the outcome under its scope (hold) */
    int seen;                 /* a response passed the filter */
    int status;               /* the app's status, as the filter last saw it */
    int held;                 /* the response was turned into the held 200 */
    int settled;
} tw_inbox_txn_t;

typedef struct {
    tw_inbox_txn_t *it;
    int swallow;              /* held: the app's body is dropped */
} tw_inbox_filter_ctx_t;

static tw_inbox_txn_t *inbox_txn(request_rec *r)
{
    return tw_shared_get(r, TW_SHARED_INBOX);
}

/* ---- configuration (the directives: glue/config.c) ---------------------- */

int tw_inbox_configured(const tw_dir_conf_t *dc)
{
    return tw_conf_inbox_dir(dc) != NULL;
}

/* The user and group the children run as: User/Group when started as
 * root, else whoever started httpd (User is then ignored). */
static void server_user(uid_t *uid, gid_t *gid, const char **name)
{
    if (geteuid() == 0) {
        *uid = ap_unixd_config.user_id;
        *gid = ap_unixd_config.group_id;
        *name = ap_unixd_config.user_name ? ap_unixd_config.user_name : "?";
    }
    else {
        *uid = geteuid();
        *gid = getegid();
        *name = "the user httpd runs as";
    }
}

/* Owner, group or other bits: write and search for that user. (ACLs and
 * supplementary groups are not looked at; a directory the server can
 * write only through them is refused: chown it to the user instead.) */
static int writable_by(const struct stat *st, uid_t uid, gid_t gid)
{
    if (uid == 0)
        return 1;
    if (st->st_uid == uid)
        return (st->st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
    if (st->st_gid == gid)
        return (st->st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
    return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/* Entries hold delivery bodies and the sender's signatures: a directory
 * that group or others can reach is a warning (the README asks for 0700),
 * not a reason to stop the webhooks. Once per directive. */
static void warn_inbox_mode(apr_pool_t *ptemp, server_rec *s, const tw_dir_conf_t *dc,
                            const struct stat *st, const char *user)
{
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) == 0
        || !tw_config_first_warning(ptemp, apr_pstrcat(ptemp, "inbox ", tw_conf_inbox_at(dc),
                                                        NULL)))
        return;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "TWW0811: %s: TwWebhookInbox %s has mode %04o: group or others can reach "
                 "the deliveries kept there; make it 0700, owned by %s", tw_conf_inbox_at(dc),
                 tw_conf_inbox_dir(dc), (unsigned)(st->st_mode & 07777), user);
}

/* Every distinct TwWebhookInbox of the configuration, as check_config
 * last found them (from pconf: the parent's, and each child's copy). */
static apr_array_header_t *configured_stores;

static void note_store(apr_pool_t *pconf, const char *spec)
{
    int i;

    if (configured_stores == NULL)
        configured_stores = apr_array_make(pconf, 2, sizeof(const char *));
    for (i = 0; i < configured_stores->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(configured_stores, i, const char *), spec) == 0)
            return;
    APR_ARRAY_PUSH(configured_stores, const char *) = apr_pstrdup(pconf, spec);
}

const apr_array_header_t *tw_inbox_stores(void)
{
    return configured_stores;
}

/* A directory store exists and the children can write it; a Redis store
 * was checked by its directive (tw_store_check_spec) and is reached only
 * at run time. */
static int check_inbox_dir(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                           const tw_dir_conf_t *dc)
{
    const char *dir = tw_conf_inbox_dir(dc), *at = tw_conf_inbox_at(dc);
    uid_t uid;
    gid_t gid;
    const char *user;
    struct stat st;

    if (dir == NULL)
        return OK;
    note_store(pconf, dir);
    if (tw_store_spec_is_redis(dir))
        return OK;
    server_user(&uid, &gid, &user);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0805: %s: TwWebhookInbox %s is not an existing directory",
                     at, dir);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!writable_by(&st, uid, gid)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0806: %s: TwWebhookInbox %s is not writable by %s (uid %ld, gid %ld): "
                     "make that user its owner with mode 0700",
                     at, dir, user, (long)uid, (long)gid);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    warn_inbox_mode(ptemp, s, dc, &st, user);
    return OK;
}

static int check_sections(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                          apr_array_header_t *vectors, int depth)
{
    int i, status;

    for (i = 0; vectors != NULL && i < vectors->nelts; i++) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(vectors, i, ap_conf_vector_t *);
        const core_dir_config *core = ap_get_core_module_config(v);

        if ((status = check_inbox_dir(pconf, ptemp, s,
                                      ap_get_module_config(v, &twwebhook_module))) != OK)
            return status;
        if (depth == 0 && (status = check_sections(pconf, ptemp, s, core->sec_file, 1)) != OK)
            return status;   /* <Files> inside <Directory> */
    }
    return OK;
}

int tw_inbox_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    int status;

    configured_stores = NULL;     /* the last configuration's went with its pconf */
    for (; s != NULL; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        core_dir_config *dcore = ap_get_core_module_config(s->lookup_defaults);

        if ((status = check_inbox_dir(pconf, ptemp, s,
                                      ap_get_module_config(s->lookup_defaults,
                                                           &twwebhook_module))) != OK
            || (status = check_sections(pconf, ptemp, s, core->sec_url, 1)) != OK
            || (status = check_sections(pconf, ptemp, s, core->sec_dir, 0)) != OK
            || (status = check_sections(pconf, ptemp, s, dcore->sec_file, 1)) != OK)
            return status;
    }
    return OK;
}

/* ---- this child's stores ----------------------------------------------------- */

/* One per TwWebhookInbox value this child used; lives as long as it. */
typedef struct {
    tw_store_t *store;
    apr_thread_mutex_t *lock;     /* Redis: one thread at a time; NULL: directory */
    apr_time_t timed_out_at;      /* under lock: when a call last ran out of time */
} child_store_t;

static struct {
    apr_pool_t *pool;             /* the child's */
    apr_thread_mutex_t *lock;     /* guards the two tables (threaded MPMs) */
    apr_hash_t *by_spec;          /* spec -> child_store_t */
    apr_hash_t *by_store;         /* tw_store_t * -> child_store_t */
} stores;

static void hook_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    stores.pool = pchild;
    stores.by_spec = apr_hash_make(pchild);
    stores.by_store = apr_hash_make(pchild);
    rv = apr_thread_mutex_create(&stores.lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv != APR_SUCCESS) {
        stores.lock = NULL;       /* tw_inbox_store_for then refuses */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "TWW0430: cannot create the inbox's store table lock: "
                     "every delivery to a TwWebhookInbox location will be refused (503)");
    }
}

/* Opens spec in a pool of its own below the child's, which a failed open
 * gives back (it is tried again by the next request: no leak per try);
 * the caller holds stores.lock. */
static apr_status_t open_child_store(const char *spec, child_store_t **pcs)
{
    child_store_t *cs;
    apr_pool_t *pool;
    apr_status_t rv;

    if ((rv = apr_pool_create(&pool, stores.pool)) != APR_SUCCESS)
        return rv;
    cs = apr_pcalloc(pool, sizeof(*cs));
    rv = tw_store_open(spec, tw_conf_inbox_timeout(), &cs->store, pool);
    if (rv == APR_SUCCESS && tw_store_spec_is_redis(spec))
        rv = apr_thread_mutex_create(&cs->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return rv;
    }
    apr_hash_set(stores.by_spec, apr_pstrdup(pool, spec), APR_HASH_KEY_STRING, cs);
    apr_hash_set(stores.by_store, &cs->store, sizeof(cs->store), cs);
    *pcs = cs;
    return APR_SUCCESS;
}

apr_status_t tw_inbox_store_for(const char *spec, tw_store_t **pstore)
{
    child_store_t *cs;
    apr_status_t rv = APR_SUCCESS;

    if (spec == NULL || pstore == NULL)
        return APR_EINVAL;
    if (stores.lock == NULL)
        return APR_EINIT;         /* not a child, or its lock failed (TWW0430) */
    if ((rv = apr_thread_mutex_lock(stores.lock)) != APR_SUCCESS)
        return rv;
    cs = apr_hash_get(stores.by_spec, spec, APR_HASH_KEY_STRING);
    if (cs == NULL)
        rv = open_child_store(spec, &cs);
    apr_thread_mutex_unlock(stores.lock);
    if (rv == APR_SUCCESS)
        *pstore = cs->store;
    return rv;
}

/* The child's record of a store from tw_inbox_store_for; NULL when it
 * needs no lock (a directory). */
static child_store_t *locked_store_of(tw_store_t *store)
{
    child_store_t *cs = NULL;

    if (store == NULL || stores.lock == NULL || apr_thread_mutex_lock(stores.lock) != APR_SUCCESS)
        return NULL;
    cs = apr_hash_get(stores.by_store, &store, sizeof(store));
    apr_thread_mutex_unlock(stores.lock);
    return cs != NULL && cs->lock != NULL ? cs : NULL;
}

/*
 * Threads of a child share one Redis connection, one call at a time. When
 * Redis hangs, each call runs to its deadline: without the check below, n
 * requests that arrived together would wait n times the timeout, the last
 * far beyond what the sender waits. A thread that queued behind a call
 * that then ran out of time gives up as soon as it has the lock.
 */
apr_status_t tw_inbox_store_lock(tw_store_t *store)
{
    child_store_t *cs = locked_store_of(store);
    apr_time_t arrived = apr_time_now();

    if (cs == NULL)
        return APR_SUCCESS;
    apr_thread_mutex_lock(cs->lock);
    return cs->timed_out_at >= arrived ? APR_TIMEUP : APR_SUCCESS;
}

void tw_inbox_store_unlock_after(tw_store_t *store, apr_status_t rv)
{
    child_store_t *cs = locked_store_of(store);

    if (cs == NULL)
        return;
    if (APR_STATUS_IS_TIMEUP(rv))
        cs->timed_out_at = apr_time_now();
    apr_thread_mutex_unlock(cs->lock);
}

/* ---- recording ----------------------------------------------------------- */

static apr_status_t read_spool(void *ctx, apr_off_t offset, void *buf, apr_size_t cap,
                               apr_size_t *got)
{
    return tw_spool_read_at(ctx, offset, buf, cap, got);
}

/* The request target the delivery came in on (before internal redirects). */
static const char *original_path(request_rec *r)
{
    while (r->prev != NULL)
        r = r->prev;
    if (r->unparsed_uri != NULL && r->unparsed_uri[0] == '/')
        return r->unparsed_uri;
    return apr_pstrcat(r->pool, ap_escape_uri(r->pool, r->uri ? r->uri : "/"),
                       r->args ? "?" : "", r->args ? r->args : "", NULL);
}

/* The secret that verified this transaction (TW_WEBHOOK_SECRET_INDEX),
 * -1 when unknown. */
static int secret_index(request_rec *r)
{
    const tw_txn_t *txn = tw_txn_get(r);
    apr_int64_t n;
    char *end;

    if (txn == NULL || txn->secret_index == NULL)
        return -1;
    n = apr_strtoi64(txn->secret_index, &end, 10);
    return (*end == '\0' && end != txn->secret_index && n >= 0 && n <= APR_INT32_MAX)
           ? (int)n : -1;
}

/* The location it came in on, for the deliveries page: the virtual host
 * and the section of the TwWebhookSecret (the replay cache's scope, which
 * the id binds already); NULL when it may not be stored. */
static const char *entry_scope(request_rec *r, const tw_dir_conf_t *dc)
{
    const char *scope = tw_inbox_scope_of(r->pool, r->server, dc);

    return tw_inbox_value_is_storable(scope) ? scope : NULL;
}

const char *tw_inbox_scope_of(apr_pool_t *p, const server_rec *s, const tw_dir_conf_t *dc)
{
    const char *host = s->server_hostname ? s->server_hostname : "";
    const char *section = tw_conf_scope_name(dc);

    return *section ? apr_pstrcat(p, host, " ", section, NULL) : host;
}

/* The headers the scheme signs or reads, as sent, into e. */
static void keep_headers(request_rec *r, const tw_dir_conf_t *dc, tw_inbox_entry_t *e)
{
    apr_array_header_t *names = tw_conf_header_names(dc, r->pool);
    int i, j;

    for (i = 0; i < names->nelts && e->nheaders < TW_INBOX_HEADERS_MAX; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *value = apr_table_get(r->headers_in, name);
        int dup = 0;

        for (j = 0; j < (int)e->nheaders; j++)
            dup |= (strcasecmp(e->headers[j].name, name) == 0);
        if (dup || value == NULL)
            continue;
        if (!tw_inbox_name_is_storable(name) || !tw_inbox_value_is_storable(value)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "TWW0207: header %s not kept in the inbox (not storable)",
                          ap_escape_logitem(r->pool, name));
            continue;
        }
        e->headers[e->nheaders].name = name;
        e->headers[e->nheaders].value = value;
        e->nheaders++;
    }
}

/* What an entry keeps of r in state: its id, path, the headers the
 * location's scheme reads, the body's length, the secret index and the
 * scope. APR_EINVAL when it cannot be kept. */
static apr_status_t describe_entry(request_rec *r, const tw_dir_conf_t *dc,
                                   const unsigned char key[TW_MAC_LEN], tw_spool_t *body,
                                   tw_state_t state, tw_stored_t *s)
{
    memset(s, 0, sizeof(*s));
    if (tw_inbox_id(key, s->e.id) != TW_OK)
        return APR_EINVAL;
    s->e.path = original_path(r);
    s->e.body_length = tw_spool_length(body);
    keep_headers(r, dc, &s->e);
    s->state = state;
    s->secret_index = secret_index(r);
    s->scope = entry_scope(r, dc);
    return tw_inbox_path_is_storable(s->e.path) ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t tw_inbox_record(request_rec *r, const tw_dir_conf_t *dc,
                             const unsigned char key[TW_MAC_LEN], tw_spool_t *body)
{
    request_rec *top = tw_top_request(r);
    const char *spec = tw_conf_inbox_dir(dc);
    tw_store_t *store = NULL;
    tw_stored_t s;
    tw_inbox_txn_t *it;
    apr_status_t rv;

    if (inbox_txn(r) != NULL)
        return APR_SUCCESS;   /* this transaction's copy is recorded */
    if ((rv = describe_entry(r, dc, key, body, TW_STATE_DIRECT, &s)) != APR_SUCCESS
        || (rv = tw_inbox_store_for(spec, &store)) != APR_SUCCESS)
        return rv;
    if ((rv = tw_inbox_store_lock(store)) == APR_SUCCESS)
        rv = tw_store_put(store, &s, read_spool, body, NULL, r->pool);
    tw_inbox_store_unlock_after(store, rv);
    if (rv != APR_SUCCESS)
        return rv;

    it = apr_pcalloc(top->pool, sizeof(*it));
    it->spec = spec;
    it->store = store;
    memcpy(it->id, s.e.id, sizeof(it->id));
    it->hold = tw_conf_inbox_hold(dc);
    it->recorded_by = r;      /* on the top request's pool, as it is */
    /* the delivery id when it is a header (a body field is in the body) */
    it->delivery = tw_header_in(r, tw_conf_delivery_header(dc));
    if (it->delivery != NULL && !tw_delivery_is_plain(it->delivery))
        it->delivery = NULL;
    tw_shared_set(r, TW_SHARED_INBOX, it);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "TWW0208: recorded in the inbox as %s (%" APR_OFF_T_FMT " bytes, delivery %s)",
                  it->id, s.e.body_length, it->delivery ? it->delivery : "-");
    return APR_SUCCESS;
}

/* ---- the queue (TwWebhookQueue) ------------------------------------------------ */

apr_status_t tw_inbox_queue(request_rec *r, const tw_dir_conf_t *dc,
                            const unsigned char key[TW_MAC_LEN], tw_spool_t *body,
                            int *pcreated)
{
    tw_store_t *store = NULL;
    tw_stored_t s;
    apr_status_t rv;

    if ((rv = describe_entry(r, dc, key, body, TW_STATE_QUEUED, &s)) != APR_SUCCESS
        || (rv = tw_inbox_store_for(tw_conf_inbox_dir(dc), &store)) != APR_SUCCESS)
        return rv;
    s.next = 0;   /* due now */
    if ((rv = tw_inbox_store_lock(store)) == APR_SUCCESS)
        rv = tw_store_put(store, &s, read_spool, body, pcreated, r->pool);
    tw_inbox_store_unlock_after(store, rv);
    return rv;
}

apr_status_t tw_inbox_secret_index(request_rec *r, const tw_dir_conf_t *dc, const char *id,
                                   int *psecret_index)
{
    tw_store_t *store = NULL;
    tw_inbox_read_fn read;
    tw_stored_t *s = NULL;
    void *ctx;
    apr_status_t rv;

    if ((rv = tw_inbox_store_for(tw_conf_inbox_dir(dc), &store)) != APR_SUCCESS)
        return rv;
    if ((rv = tw_inbox_store_lock(store)) == APR_SUCCESS)
        rv = tw_store_open_body(store, id, &s, &read, &ctx, r->pool);
    tw_inbox_store_unlock_after(store, rv);
    if (rv == APR_SUCCESS)
        *psecret_index = s->secret_index;
    return rv;
}

int tw_inbox_counts_outcome(request_rec *r)
{
    const tw_inbox_txn_t *it = inbox_txn(r);

    return it != NULL && it->hold;
}

int tw_inbox_held(request_rec *r)
{
    const tw_inbox_txn_t *it = inbox_txn(r);

    return it != NULL && it->held;
}

int tw_inbox_app_status(request_rec *r)
{
    const tw_inbox_txn_t *it = inbox_txn(r);

    return it != NULL && it->seen ? it->status : 0;
}

/* ---- the response ---------------------------------------------------------- */

static void settle_entry(request_rec *r, tw_inbox_txn_t *it, int status);

/*
 * Turns r's response into 200 "accepted: held for redelivery": the app's
 * headers and body go. 200 for every profile, because it is the one status
 * every sender counts as received (Teamwork.com: "any response code
 * outside of 200" is a failure; docs/reference.md, Statuses); the entry
 * itself, not this status, tells twwebhook-inbox that the app failed.
 */
static void hold_response(request_rec *r, tw_inbox_txn_t *it)
{
    it->held = 1;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "TWW0206: the app answered %d: answered 200 and held for redelivery "
                  "(TwWebhookInboxHold On; entry %s, delivery %s)",
                  r->status, it->id, it->delivery ? it->delivery : "-");
    r->status = HTTP_OK;
    r->status_line = NULL;
    apr_table_clear(r->headers_out);
    apr_table_clear(r->err_headers_out);
    r->content_encoding = NULL;
    r->content_languages = NULL;
    ap_set_content_type(r, "text/plain; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(TW_INBOX_HELD_BODY));
    apr_table_setn(r->notes, TW_NOTE_OUTCOME, tw_outcome_name(TW_OUTCOME_HELD));
}

static apr_status_t filter_inbox(ap_filter_t *f, apr_bucket_brigade *bb)
{
    tw_inbox_filter_ctx_t *ctx = f->ctx;
    request_rec *r = f->r;
    apr_bucket *b, *next;

    if (!ctx->swallow) {
        int status = r->status;

        ctx->it->seen = 1;
        ctx->it->status = status;
        if (!(ctx->it->hold && status >= 500) || ctx->it->held) {
            settle_entry(r, ctx->it, status);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        hold_response(r, ctx->it);
        settle_entry(r, ctx->it, status);
        ctx->swallow = 1;
        APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_immortal_create(TW_INBOX_HELD_BODY,
                                    strlen(TW_INBOX_HELD_BODY), f->c->bucket_alloc));
        b = APR_BUCKET_NEXT(APR_BRIGADE_FIRST(bb));
    }
    else {
        b = APR_BRIGADE_FIRST(bb);
    }
    /* Drop the app's (or the error page's) data; keep EOS and FLUSH. */
    for (; b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b))
            apr_bucket_delete(b);
    }
    return ap_pass_brigade(f->next, bb);
}

/* Kept from registration: the chain is searched by handle, not by name. */
static ap_filter_rec_t *inbox_filter;

static int has_filter(request_rec *r)
{
    ap_filter_t *f;

    for (f = r->output_filters; f != NULL && f != r->proto_output_filters; f = f->next)
        if (f->r == r && f->frec == inbox_filter)
            return 1;
    return 0;
}

/* For every request of a recorded transaction that answers: the app's
 * response (insert_filter) and an error page (insert_error_filter). */
static void hook_insert_filter(request_rec *r)
{
    tw_inbox_txn_t *it;
    tw_inbox_filter_ctx_t *ctx;

    if (r->main != NULL || (it = inbox_txn(r)) == NULL || it->settled || has_filter(r))
        return;
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->it = it;
    ap_add_output_filter_handle(inbox_filter, ctx, r, r->connection);
}

/*
 * Settles the entry once the app's final status is known: a 2xx removes
 * it, anything else (a held 5xx included) records the status and keeps it.
 * Done as the response's first bytes leave, so that whoever sees the
 * answer (the sender, twwebhook-inbox) finds the entry settled.
 */
static void settle_entry(request_rec *r, tw_inbox_txn_t *it, int status)
{
    apr_status_t rv;
    char err[128];

    if (it->settled)
        return;
    it->settled = 1;
    /* Once the app has answered, with TwWebhookInboxHold On: held (a 5xx
     * turned into the held 200) or handed to the app. */
    if (it->hold)
        tw_metrics_count(it->recorded_by, it->held ? TW_OUTCOME_HELD : TW_OUTCOME_VERIFIED);
    if ((rv = tw_inbox_store_lock(it->store)) == APR_SUCCESS)
        rv = tw_store_settle_direct(it->store, it->id, status, it->held, r->pool);
    tw_inbox_store_unlock_after(it->store, rv);
    if (APR_STATUS_IS_ENOENT(rv))
        return;               /* handled meanwhile (a redelivery's 2xx) */
    if (ap_is_HTTP_SUCCESS(status) && !it->held) {
        if (rv != APR_SUCCESS)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "TWW0416: cannot remove handled entry %s from the inbox %s (%s): "
                          "it will be delivered again by a redelivery",
                          it->id, it->spec, tw_store_strerror(rv, err, sizeof(err)));
        return;
    }
    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "TWW0417: cannot record status %d in inbox entry %s (%s); "
                      "the entry is kept", status, it->id,
                      tw_store_strerror(rv, err, sizeof(err)));
    else
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "TWW0209: the app answered %d: kept in the inbox as %s (delivery %s)",
                      status, it->id, it->delivery ? it->delivery : "-");
}

/* For a response that never passed the filter (the client went away, or
 * the handler failed before any output). */
static int hook_log_transaction(request_rec *r)
{
    tw_inbox_txn_t *it = inbox_txn(r);
    request_rec *last = r;

    if (it == NULL || it->settled || r->main != NULL)
        return DECLINED;
    while (last->next != NULL)
        last = last->next;
    settle_entry(r, it, it->seen ? it->status : last->status);
    return DECLINED;
}

void tw_inbox_register_hooks(void)
{
    /* A content filter: after ap_send_error_response has reset the chain to
     * the protocol filters, one added by insert_error_filter sits in front
     * of them, before HTTP_HEADER sends the status. */
    inbox_filter = ap_register_output_filter(TW_INBOX_FILTER, filter_inbox, NULL,
                                             AP_FTYPE_CONTENT_SET);
    ap_hook_insert_filter(hook_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(hook_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(hook_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(tw_inbox_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(hook_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
