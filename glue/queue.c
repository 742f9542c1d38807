/*
 * SPDX-License-Identifier: Apache-2.0
 * queue.c - TwWebhookQueue's dispatcher: hands queued inbox entries to the
 * location's app, through this server's own listener, in the background.
 *
 * Where it runs: a callback of mod_watchdog's singleton child watchdog
 * (AP_WATCHDOG_SINGLETON), so exactly one thread of one child of this
 * httpd dispatches at any time, under every MPM; a graceful restart stops
 * it in the old generation's child (STOPPING) and starts it in a new one.
 * Nothing is kept in memory that the store does not also know: a taken
 * entry's `next` is its lease's end, so an entry whose dispatch was
 * abandoned (STOPPING, a crash, kill -9) is due again once the lease ran
 * out. Delivery is at least once.
 *
 * One tick (every AP_WD_TM_SLICE):
 *   1. finished transfers are harvested: the app's 2xx ends the entry
 *      (tw_store_end_dispatch DELIVERED, which removes it: the one place
 *      that does), anything else schedules the next try
 *      (tw_retry_delay) or, past TwWebhookQueueRetry's limits, makes it
 *      dead (warn line TWW0451): the limits of the location the entry
 *      came in on (its scope), whichever others share its inbox;
 *   2. for every store that some inbox names, due entries are taken,
 *      leased for the dispatch timeout plus a margin, and POSTed through
 *      libcurl's multi interface, never blocking the tick for the app's
 *      time. Each location has its own TwWebhookQueueConcurrency: the
 *      take leaves the entries of full locations alone
 *      (tw_store_take_except, no attempt counted) and takes at most the
 *      smallest room left among the others, again until nothing more is
 *      due or every location is full; slots that transfers free during the
 *      tick are filled again while a store has more due (up to
 *      TW_QUEUE_TICK_BUDGET);
 *   3. about once a second, the store's counts become the queue gauges.
 *
 * The request: to the address of the location's virtual host (loopback
 * for a wildcard listener), Host its ServerName, the path the delivery
 * came in on, the headers the inbox kept, the body byte for byte, and
 * TW-Dispatch (tw/queue.h), which lets mod_twwebhook.c skip the sender's
 * verification (done at accept) for exactly that entry, attempt and path.
 * An https listener is reached without checking its certificate: the
 * connection goes to this very server's own address, chosen here from its
 * configuration, never to a name from the request, and TW-Dispatch (not
 * TLS) is what authenticates the request to the receiving side.
 *
 * The dispatch key is made once per httpd (the first generation's
 * post_config) and kept on the process pool, so children of every
 * generation, and the dispatcher, share it across graceful restarts; it
 * never leaves memory.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_listen.h"
#include "mod_watchdog.h"

#include "apr_strings.h"
#include "apr_network_io.h"

#include <unistd.h>

#include <curl/curl.h>

#include "tw/store.h"
#include "glue/glue.h"
#include "glue/config.h"
#include "glue/inbox.h"
#include "glue/metrics.h"
#include "glue/deliveries.h"
#include "glue/queue.h"

APLOG_USE_MODULE(twwebhook);

#define TW_QUEUE_KEY_NOTE     "twwebhook-dispatch-key"
#define TW_QUEUE_WATCHDOG_TICK AP_WD_TM_SLICE
#define TW_QUEUE_TICK_BUDGET  apr_time_from_msec(160)  /* curl's and the takes' share of a tick */
#define TW_QUEUE_COUNT_EVERY  apr_time_from_sec(1)
#define TW_QUEUE_LEASE_MARGIN apr_time_from_sec(5)    /* past the transfer's own timeout */
#define TW_QUEUE_CONNECT_TIMEOUT_MS 5000L
/* A store that keeps failing (Redis down for an hour) is logged once when
 * it starts, then at most this often, not once per tick. */
#define TW_QUEUE_FAILURE_LOG_EVERY apr_time_from_sec(60)

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;

/* ---- the key ------------------------------------------------------------------ */

static const unsigned char *dispatch_key;

const unsigned char *tw_queue_key(void)
{
    return dispatch_key;
}

/* Made once per httpd and kept on the process pool (graceful restarts
 * keep it); children inherit it at fork. */
static apr_status_t make_key(server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    void *key = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&key, TW_QUEUE_KEY_NOTE, process_pool);
    if (key == NULL) {
        key = apr_palloc(process_pool, TW_DISPATCH_KEY_LEN);
        if ((rv = apr_generate_random_bytes(key, TW_DISPATCH_KEY_LEN)) != APR_SUCCESS)
            return rv;
        apr_pool_userdata_set(key, TW_QUEUE_KEY_NOTE, apr_pool_cleanup_null, process_pool);
    }
    dispatch_key = key;
    return APR_SUCCESS;
}

/* ---- what to dispatch, from the configuration ------------------------------------ */

/* One location whose entries a store holds, and where to send them. */
typedef struct {
    server_rec *s;
    const tw_dir_conf_t *dc;
    const char *scope;          /* as entries record it (tw_inbox_scope_of) */
    const char *base_url;       /* scheme://ServerName:port */
    const char *connect_to;     /* "::address:port" for CURLOPT_CONNECT_TO */
    int https;
    int inflight;               /* its dispatches now (TwWebhookQueueConcurrency) */
} tw_target_t;

typedef struct {
    const char *spec;
    apr_array_header_t *targets;    /* tw_target_t */
    tw_target_t *policy;            /* whose limits apply to an entry of no known
                                       location (no scope, or one no longer
                                       configured): the first queued one */
    tw_store_t *store;              /* the watchdog thread's own handle */
    apr_array_header_t *full;       /* scopes at their limit (const char *), per tick */
    apr_time_t last_counted;
    apr_time_t failing_since;       /* the first failed take of a run of them; 0: none */
    apr_time_t failure_logged;      /* when TWW0453 was last logged */
    unsigned int failures;          /* failed takes since failing_since */
} tw_qstore_t;

typedef struct {
    server_rec *s;
    apr_array_header_t *stores;     /* tw_qstore_t */
    apr_pool_t *pool;               /* from STARTING to STOPPING, the thread's own */
    CURLM *multi;
    const char *owner;              /* host:pid, for the page */
    apr_interval_time_t timeout;    /* of one dispatch (the server's Timeout) */
    struct tw_transfer *transfers;  /* in flight, to abandon on STOPPING */
} tw_dispatcher_t;

static int listener_is_https(const ap_listen_rec *lr)
{
    return lr->protocol != NULL && strcasecmp(lr->protocol, "https") == 0;
}

/*
 * The listener a server's deliveries are dispatched to: the one on its
 * own port; for a server without one (the main server, whose locations
 * every listener no virtual host claims may reach), a plain HTTP one
 * before a TLS one, the lowest port first. Not "the first listener":
 * ap_listeners is not in the order of the Listen lines (listeners reused
 * across a reading of the configuration, as the start's second one and
 * every restart do, go first), and Debian's ports.conf puts Listen 443
 * after Listen 80.
 */
static ap_listen_rec *target_listener(apr_port_t port)
{
    ap_listen_rec *lr, *best = NULL;

    for (lr = ap_listeners; lr != NULL; lr = lr->next) {
        if (port != 0 && lr->bind_addr->port == port)
            return lr;
        if (best == NULL
            || (listener_is_https(best) && !listener_is_https(lr))
            || (listener_is_https(best) == listener_is_https(lr)
                && lr->bind_addr->port < best->bind_addr->port))
            best = lr;
    }
    return best;
}

/* Where a virtual host is reached: its own address, or loopback for a
 * wildcard one; the port and scheme of its listener (target_listener). */
static void target_address(apr_pool_t *p, server_rec *s, tw_target_t *t)
{
    apr_port_t port = s->port;
    char *ip = NULL;
    ap_listen_rec *lr;

    if (s->addrs != NULL) {
        if (s->addrs->host_port != 0)
            port = s->addrs->host_port;
        if (s->addrs->host_addr != NULL && !apr_sockaddr_is_wildcard(s->addrs->host_addr))
            apr_sockaddr_ip_get(&ip, s->addrs->host_addr);
    }
    if ((lr = target_listener(port)) != NULL) {
        port = lr->bind_addr->port;
        t->https = listener_is_https(lr);
        if (ip == NULL && !apr_sockaddr_is_wildcard(lr->bind_addr))
            apr_sockaddr_ip_get(&ip, lr->bind_addr);
        else if (ip == NULL && lr->bind_addr->family == APR_INET6)
            ip = "::1";
    }
    if (ip == NULL)
        ip = "127.0.0.1";   /* a wildcard listener is reached on loopback */
    t->connect_to = apr_psprintf(p, strchr(ip, ':') ? "::[%s]:%u" : "::%s:%u", ip,
                                 (unsigned)port);
    t->base_url = apr_psprintf(p, "%s://%s:%u", t->https ? "https" : "http",
                               s->server_hostname ? s->server_hostname : "localhost",
                               (unsigned)port);
}

static tw_qstore_t *qstore_for(tw_dispatcher_t *d, const char *spec)
{
    tw_qstore_t *qs;
    int i;

    for (i = 0; i < d->stores->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(d->stores, i, tw_qstore_t).spec, spec) == 0)
            return &APR_ARRAY_IDX(d->stores, i, tw_qstore_t);
    qs = apr_array_push(d->stores);
    memset(qs, 0, sizeof(*qs));
    qs->spec = spec;
    qs->targets = apr_array_make(d->stores->pool, 4, sizeof(tw_target_t));
    return qs;
}

/* Every protected scope with an inbox (its own or its server's), queued
 * or not: a person's requeue is delivered by the dispatcher too. */
static void collect_targets(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                            tw_dispatcher_t *d)
{
    apr_array_header_t *dcs = apr_array_make(ptemp, 8, sizeof(const tw_dir_conf_t *));
    server_rec *vs;
    int i;

    for (vs = s; vs != NULL; vs = vs->next) {
        const tw_dir_conf_t *server_dc = ap_get_module_config(vs->lookup_defaults,
                                                              &twwebhook_module);

        apr_array_clear(dcs);
        tw_config_protected_sections(ptemp, vs, dcs);
        for (i = 0; i < dcs->nelts; i++) {
            const tw_dir_conf_t *dc = APR_ARRAY_IDX(dcs, i, const tw_dir_conf_t *);
            const char *spec = tw_conf_inbox_dir(dc) ? tw_conf_inbox_dir(dc)
                                                     : tw_conf_inbox_dir(server_dc);
            tw_qstore_t *qs;
            tw_target_t *t;

            if (spec == NULL)
                continue;
            qs = qstore_for(d, spec);
            t = apr_array_push(qs->targets);
            memset(t, 0, sizeof(*t));
            t->s = vs;
            t->dc = dc;
            t->scope = tw_inbox_scope_of(pconf, vs, dc);
            target_address(pconf, vs, t);
        }
    }
    /* Chosen once every target is in place: an array that grew moved
     * them, and a pointer taken earlier would count on a stale copy. */
    for (i = 0; i < d->stores->nelts; i++) {
        tw_qstore_t *qs = &APR_ARRAY_IDX(d->stores, i, tw_qstore_t);
        int j;

        for (j = 0; j < qs->targets->nelts; j++) {
            tw_target_t *t = &APR_ARRAY_IDX(qs->targets, j, tw_target_t);

            if (qs->policy == NULL || (!tw_conf_queue(qs->policy->dc) && tw_conf_queue(t->dc)))
                qs->policy = t;
        }
    }
}

/* The location an entry came in on: its scope, else the store's policy. */
static tw_target_t *target_of(const tw_qstore_t *qs, const tw_stored_t *e)
{
    int i;

    for (i = 0; e->scope != NULL && i < qs->targets->nelts; i++) {
        tw_target_t *t = &APR_ARRAY_IDX(qs->targets, i, tw_target_t);

        if (strcmp(e->scope, t->scope) == 0)
            return t;
    }
    return qs->policy;
}

/* ---- one transfer ------------------------------------------------------------------ */

typedef struct tw_transfer {
    struct tw_transfer *next, *prev;
    tw_dispatcher_t *d;
    tw_qstore_t *qs;
    tw_target_t *target;
    tw_stored_t *taken;
    apr_pool_t *pool;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *connect_to;
    tw_inbox_read_fn read;
    void *ctx;
    apr_off_t offset;
    char error[CURL_ERROR_SIZE];
} tw_transfer_t;

static void link_transfer(tw_transfer_t *x)
{
    x->prev = NULL;
    x->next = x->d->transfers;
    if (x->next != NULL)
        x->next->prev = x;
    x->d->transfers = x;
}

static size_t read_body(char *buf, size_t size, size_t n, void *userdata)
{
    tw_transfer_t *x = userdata;
    apr_size_t got = 0;

    if (x->offset >= x->taken->e.body_length)
        return 0;
    if (x->read(x->ctx, x->offset, buf, size * n, &got) != APR_SUCCESS)
        return CURL_READFUNC_ABORT;
    x->offset += (apr_off_t)got;
    return got;
}

static size_t drop_answer(char *data, size_t size, size_t n, void *userdata)
{
    return size * n;   /* the app's answer body is not kept */
}

/* The delivery id, from the kept headers, for log lines. */
static const char *delivery_of(const tw_transfer_t *x)
{
    const char *name = tw_conf_delivery_header(x->target->dc);
    size_t i;

    for (i = 0; name != NULL && i < x->taken->e.nheaders; i++)
        if (strcasecmp(x->taken->e.headers[i].name, name) == 0
            && tw_delivery_is_plain(x->taken->e.headers[i].value))
            return x->taken->e.headers[i].value;
    return "-";
}

static void free_transfer(tw_transfer_t *x)
{
    if (x->easy != NULL) {
        curl_multi_remove_handle(x->d->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->connect_to);
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        x->d->transfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->target->inflight--;
    apr_pool_destroy(x->pool);
}

static int add_header(tw_transfer_t *x, const char *line)
{
    struct curl_slist *l = curl_slist_append(x->headers, line);

    if (l == NULL)
        return 0;
    x->headers = l;
    return 1;
}

/* The request for one taken entry: NULL on success, else why not. */
static const char *start_transfer(tw_transfer_t *x)
{
    const tw_stored_t *e = x->taken;
    char credential[TW_DISPATCH_VALUE_MAX + 1];
    apr_int64_t expires = apr_time_sec(apr_time_now() + x->d->timeout);
    int has_type = 0;
    apr_status_t rv;
    tw_stored_t *meta;
    size_t i;

    if ((rv = tw_store_open_body(x->qs->store, e->e.id, &meta, &x->read, &x->ctx, x->pool))
        != APR_SUCCESS) {
        char buf[120];
        return apr_psprintf(x->pool, "cannot open its body: %s",
                            tw_store_strerror(rv, buf, sizeof(buf)));
    }
    if (tw_dispatch_sign(tw_queue_key(), e->e.id, e->e.attempts, expires, "POST", e->e.path,
                         credential) != TW_OK)
        return "cannot sign TW-Dispatch (libcrypto, or a path that is no request target)";
    for (i = 0; i < e->e.nheaders; i++) {
        has_type |= strcasecmp(e->e.headers[i].name, "Content-Type") == 0;
        if (!add_header(x, apr_pstrcat(x->pool, e->e.headers[i].name, ": ",
                                       e->e.headers[i].value, NULL)))
            return "out of memory";
    }
    if (!add_header(x, apr_pstrcat(x->pool, TW_DISPATCH_HEADER ": ", credential, NULL))
        || !add_header(x, "Expect:")                  /* no 100-continue round trip */
        || (!has_type && !add_header(x, "Content-Type:")))   /* not curl's form type */
        return "out of memory";
    tw_cleanse(credential, sizeof(credential));

    if ((x->easy = curl_easy_init()) == NULL)
        return "curl_easy_init failed";
    curl_easy_setopt(x->easy, CURLOPT_URL, apr_pstrcat(x->pool, x->target->base_url,
                                                       e->e.path, NULL));
    if ((x->connect_to = curl_slist_append(NULL, x->target->connect_to)) == NULL)
        return "out of memory";
    curl_easy_setopt(x->easy, CURLOPT_CONNECT_TO, x->connect_to);
    curl_easy_setopt(x->easy, CURLOPT_PATH_AS_IS, 1L);   /* the target as it was signed */
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->e.body_length);
    curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, drop_answer);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_PROXY, "");   /* never a proxy from the environment */
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, TW_QUEUE_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)apr_time_as_msec(x->d->timeout));
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->error);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    if (x->target->https) {
        /* This server's own listener, by address: see the file head. */
        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (curl_multi_add_handle(x->d->multi, x->easy) != CURLM_OK)
        return "curl_multi_add_handle failed";
    return NULL;
}

/* The deliveries page's row of the entry, if one is kept, says what this
 * try came to (glue/deliveries.c), naming the log line below; answer is
 * the try's outcome in words (end_transfer). */
static void show_on_page(tw_transfer_t *x, tw_dispatch_end_t end, long status, apr_time_t next,
                         const char *answer)
{
    static const tw_dlv_state_t state_of[] = {
        [TW_DISPATCH_DELIVERED] = TW_DLV_DELIVERED, [TW_DISPATCH_RETRY] = TW_DLV_QUEUED,
        [TW_DISPATCH_DEAD] = TW_DLV_DEAD,
    };
    unsigned int attempts = x->taken->e.attempts;
    curl_off_t took = 0;
    const char *reason;

    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &took);
    if (end == TW_DISPATCH_DELIVERED)
        reason = apr_psprintf(x->pool, "delivered by the queue on attempt %u: %s "
                              "(TWW0230 at debug)", attempts, answer);
    else if (end == TW_DISPATCH_DEAD)
        reason = apr_psprintf(x->pool, "dead after %u attempts (last: %s): kept for a "
                              "redeliver by hand (TWW0451)", attempts, answer);
    else
        reason = apr_psprintf(x->pool, "attempt %u: %s; tried again by the queue (TWW0231)",
                              attempts, answer);
    tw_deliveries_dispatched(x->taken->e.id, state_of[end], attempts, (int)status,
                             (apr_interval_time_t)took, next, reason);
}

/* What a finished dispatch comes to, in the store, the log and the metrics. */
static void end_transfer(tw_transfer_t *x, CURLcode result)
{
    const tw_retry_t *retry = tw_conf_queue_retry(x->target->dc);   /* its own location's */
    const tw_stored_t *e = x->taken;
    long status = 0;
    tw_dispatch_end_t end = TW_DISPATCH_RETRY;
    tw_dispatch_result_t counted;
    apr_time_t next = 0;
    apr_uint32_t rnd = 0;
    apr_status_t rv;
    const char *answer;
    char buf[120];

    if (result == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    counted = result != CURLE_OK ? TW_DISPATCH_FAILED
            : status >= 200 && status < 300 ? TW_DISPATCH_2XX
            : status >= 400 && status < 500 ? TW_DISPATCH_4XX
            : status >= 500 && status < 600 ? TW_DISPATCH_5XX : TW_DISPATCH_FAILED;
    tw_metrics_dispatch(x->target->s, x->target->dc, counted);
    if (counted == TW_DISPATCH_2XX) {
        end = TW_DISPATCH_DELIVERED;
    }
    else {
        (void)apr_generate_random_bytes((unsigned char *)&rnd, sizeof(rnd));
        next = apr_time_now() + tw_retry_delay(retry, e->e.attempts, rnd);
        if (tw_retry_is_dead(retry, e->e.attempts, e->e.received, next))
            end = TW_DISPATCH_DEAD;
    }
    rv = tw_store_end_dispatch(x->qs->store, e, end, (int)status, next, x->pool);
    if (rv == TW_INBOX_ECHANGED || rv == APR_ENOENT) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, x->d->s,
                     "TWW0232: dispatch of entry %s (attempt %u) ended with %ld, but the "
                     "entry changed meanwhile (taken again after its lease, redelivered or "
                     "dropped by hand): left as it is", e->e.id, e->e.attempts, status);
        return;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, x->d->s,
                     "TWW0452: cannot record the end of the dispatch of entry %s in %s (%s): "
                     "it is tried again once its lease ran out", e->e.id,
                     tw_store_name(x->qs->store), tw_store_strerror(rv, buf, sizeof(buf)));
        return;
    }
    answer = result != CURLE_OK ? apr_psprintf(x->pool, "not reached: %s", x->error)
                                : apr_psprintf(x->pool, "the app answered %ld", status);
    show_on_page(x, end, status, next, answer);
    if (end == TW_DISPATCH_DELIVERED)
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, x->d->s,
                     "TWW0230: entry %s delivered (attempt %u, the app answered %ld; "
                     "delivery %s)", e->e.id, e->e.attempts, status, delivery_of(x));
    else if (end == TW_DISPATCH_DEAD) {
        tw_metrics_dead(x->target->s, x->target->dc);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, x->d->s,
                     "TWW0451: entry %s is dead after %u attempt(s) (last: %s; delivery %s): "
                     "kept in %s for twwebhook-inbox redeliver or requeue "
                     "(TwWebhookQueueRetry)", e->e.id, e->e.attempts,
                     result != CURLE_OK ? apr_psprintf(x->pool, "not reached: %s", x->error)
                                        : apr_psprintf(x->pool, "%ld", status),
                     delivery_of(x), tw_store_name(x->qs->store));
    }
    else
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, x->d->s,
                     "TWW0231: entry %s not delivered (attempt %u: %s); next try in %"
                     APR_TIME_T_FMT " ms (delivery %s)", e->e.id, e->e.attempts, answer,
                     apr_time_as_msec(next - apr_time_now()), delivery_of(x));
}

/* Every finished transfer: ended in the store, freed; how many. */
static int harvest(tw_dispatcher_t *d)
{
    CURLMsg *msg;
    int left, n = 0;

    while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
        tw_transfer_t *x = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x == NULL)
            continue;
        end_transfer(x, msg->data.result);
        free_transfer(x);
        n++;
    }
    return n;
}

/* curl's work until `until` at most (never the app's time), or until
 * some transfers finished, so that their slots can be filled again in the
 * same tick; how many finished. */
static int run_transfers(tw_dispatcher_t *d, apr_time_t until)
{
    int running = 0, finished = 0;

    do {
        curl_multi_perform(d->multi, &running);
        finished += harvest(d);
        if (running == 0 || finished > 0)
            break;
        curl_multi_poll(d->multi, NULL, 0, 20, NULL);
    } while (apr_time_now() < until);
    return finished;
}

/* ---- one store per tick ----------------------------------------------------------- */

static void count_store(tw_dispatcher_t *d, tw_qstore_t *qs, apr_pool_t *ptick)
{
    tw_store_counts_t counts;
    apr_time_t now = apr_time_now();
    int i;

    if (now - qs->last_counted < TW_QUEUE_COUNT_EVERY)
        return;
    qs->last_counted = now;
    if (tw_store_count(qs->store, &counts, ptick) != APR_SUCCESS)
        return;   /* a failing store shows in take's line */
    /* The store's numbers, under each location that uses it. */
    for (i = 0; i < qs->targets->nelts; i++) {
        const tw_target_t *t = &APR_ARRAY_IDX(qs->targets, i, tw_target_t);

        tw_metrics_queue_gauges(t->s, t->dc, counts.by_state[TW_STATE_QUEUED],
                                counts.by_state[TW_STATE_DEAD],
                                counts.oldest_queued > 0 ? now - counts.oldest_queued : 0);
    }
}

/* A taken entry, kept in the transfer's pool (take's lives for one tick). */
static tw_stored_t *copy_taken(apr_pool_t *p, const tw_stored_t *e)
{
    tw_stored_t *c = apr_pmemdup(p, e, sizeof(*e));
    size_t i;

    c->e.path = apr_pstrdup(p, e->e.path);
    c->scope = e->scope != NULL ? apr_pstrdup(p, e->scope) : NULL;
    for (i = 0; i < e->e.nheaders; i++) {
        c->e.headers[i].name = apr_pstrdup(p, e->e.headers[i].name);
        c->e.headers[i].value = apr_pstrdup(p, e->e.headers[i].value);
    }
    return c;
}

/*
 * A take failed: the store is unreachable, frozen or refusing. The tick
 * tries again every AP_WD_TM_SLICE, so a Redis that is down would write
 * ten error lines a second; the first failure of a run is logged, then
 * one line a minute while it lasts, and TWW0238 when it ends.
 */
static void take_failed(tw_dispatcher_t *d, tw_qstore_t *qs, apr_status_t rv)
{
    apr_time_t now = apr_time_now();
    char buf[120];

    qs->failures++;
    if (qs->failing_since == 0)
        qs->failing_since = now;
    else if (now - qs->failure_logged < TW_QUEUE_FAILURE_LOG_EVERY)
        return;
    qs->failure_logged = now;
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, d->s,
                 "TWW0453: cannot take queued entries from %s: %s (%u failed tr%s in %"
                 APR_TIME_T_FMT " s; logged again once a minute while it lasts)",
                 tw_store_name(qs->store), tw_store_strerror(rv, buf, sizeof(buf)),
                 qs->failures, qs->failures == 1 ? "y" : "ies",
                 apr_time_sec(now - qs->failing_since));
}

static void take_recovered(tw_dispatcher_t *d, tw_qstore_t *qs)
{
    apr_time_t now = apr_time_now();

    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s,
                 "TWW0238: taking queued entries from %s again after %u failed tr%s over "
                 "%.1f s", tw_store_name(qs->store), qs->failures,
                 qs->failures == 1 ? "y" : "ies", (double)(now - qs->failing_since) / APR_USEC_PER_SEC);
    qs->failing_since = 0;
    qs->failures = 0;
}

/*
 * The scopes of the store's locations that are at their
 * TwWebhookQueueConcurrency, into qs->full; returns the smallest room
 * left among the others (0: every location is full), so that a take of
 * that many, whichever locations its entries come from, fills none past
 * its limit. (An entry of no known location counts against the policy's
 * limit, which a take cannot skip: those few may pass it.)
 */
static int room_left(tw_qstore_t *qs)
{
    int i, room = 0;

    apr_array_clear(qs->full);
    for (i = 0; i < qs->targets->nelts; i++) {
        const tw_target_t *t = &APR_ARRAY_IDX(qs->targets, i, tw_target_t);
        int free_slots = tw_conf_queue_concurrency(t->dc) - t->inflight;

        if (free_slots <= 0)
            APR_ARRAY_PUSH(qs->full, const char *) = t->scope;
        else if (room == 0 || free_slots < room)
            room = free_slots;
    }
    return room;
}

/* Starts the dispatch of each entry taken; how many started. */
static int start_taken(tw_dispatcher_t *d, tw_qstore_t *qs, const apr_array_header_t *taken)
{
    int i, started = 0;

    for (i = 0; i < taken->nelts; i++) {
        const tw_stored_t *e = APR_ARRAY_IDX(taken, i, tw_stored_t *);
        tw_transfer_t *x;
        apr_pool_t *p;
        const char *why;

        apr_pool_create(&p, d->pool);
        x = apr_pcalloc(p, sizeof(*x));
        x->d = d;
        x->qs = qs;
        x->pool = p;
        x->taken = copy_taken(p, e);
        x->target = target_of(qs, x->taken);
        x->target->inflight++;
        link_transfer(x);
        if ((why = start_transfer(x)) != NULL) {
            /* Its lease makes it due again; a body that cannot be read
             * is not a reason to give the entry up. */
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, d->s,
                         "TWW0454: cannot dispatch entry %s from %s: %s; tried again once "
                         "its lease ran out", e->e.id, tw_store_name(qs->store), why);
            free_transfer(x);
            continue;
        }
        started++;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s,
                     "TWW0233: dispatching entry %s (attempt %u) to %s%s",
                     e->e.id, e->e.attempts, x->target->base_url, e->e.path);
    }
    return started;
}

/*
 * Takes and starts due entries until every location of the store is at
 * its limit (1: more may be due) or nothing more is due (0). Each round
 * takes at most the smallest room left (room_left) and leaves full
 * locations alone; a round that starts nothing (or takes less than it
 * asked for) ends the tick, so it never spins on entries it cannot start.
 */
static int fill_store(tw_dispatcher_t *d, tw_qstore_t *qs, apr_pool_t *ptick)
{
    apr_array_header_t *taken = NULL;
    apr_status_t rv;
    int room;

    while ((room = room_left(qs)) > 0) {
        rv = tw_store_take_except(qs->store, room, d->timeout + TW_QUEUE_LEASE_MARGIN, d->owner,
                                  qs->full, &taken, ptick);
        if (rv != APR_SUCCESS) {
            take_failed(d, qs, rv);
            return 0;
        }
        if (qs->failing_since != 0)
            take_recovered(d, qs);
        if (start_taken(d, qs, taken) == 0 || taken->nelts < room)
            return 0;   /* nothing more due now */
    }
    return 1;   /* every location is full: more may be due once slots free */
}

/* ---- the watchdog ------------------------------------------------------------------ */

static apr_status_t dispatcher_start(tw_dispatcher_t *d, apr_pool_t *wpool)
{
    char host[APRMAXHOSTLEN + 1];
    apr_status_t rv;
    int i, j;

    /* Not below wpool: mod_watchdog destroys the pool it passes to
     * STARTING once the callbacks have started. A pool of our own, below
     * the global one (which is thread-safe to create under), until
     * STOPPING. */
    if ((rv = apr_pool_create(&d->pool, NULL)) != APR_SUCCESS)
        return rv;
    if ((d->multi = curl_multi_init()) == NULL)
        return APR_ENOMEM;
    if (apr_gethostname(host, sizeof(host), d->pool) != APR_SUCCESS)
        apr_cpystrn(host, "-", sizeof(host));
    d->owner = apr_psprintf(d->pool, "%s:%ld", host, (long)getpid());
    for (i = 0; i < d->stores->nelts; i++) {
        tw_qstore_t *qs = &APR_ARRAY_IDX(d->stores, i, tw_qstore_t);

        for (j = 0; j < qs->targets->nelts; j++)
            APR_ARRAY_IDX(qs->targets, j, tw_target_t).inflight = 0;
        qs->full = apr_array_make(d->pool, qs->targets->nelts, sizeof(const char *));
        qs->failing_since = 0;
        qs->failures = 0;
        if ((rv = tw_store_open(qs->spec, tw_conf_inbox_timeout(), &qs->store, d->pool))
            != APR_SUCCESS) {
            char buf[120];
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, d->s,
                         "TWW0455: cannot open TwWebhookInbox %s for the dispatcher: %s",
                         qs->spec, tw_store_strerror(rv, buf, sizeof(buf)));
            qs->store = NULL;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s,
                 "TWW0234: queue dispatcher started in process %ld for %d inbox(es)",
                 (long)getpid(), d->stores->nelts);
    return APR_SUCCESS;
}

/* In-flight transfers are abandoned: their leases make them due again. */
static void dispatcher_stop(tw_dispatcher_t *d)
{
    int n = 0;

    if (d->multi == NULL)
        return;
    while (d->transfers != NULL) {
        free_transfer(d->transfers);
        n++;
    }
    curl_multi_cleanup(d->multi);
    d->multi = NULL;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s,
                 "TWW0235: queue dispatcher stopping: %d dispatch(es) abandoned, due again "
                 "once their lease ran out", n);
    apr_pool_destroy(d->pool);
    d->pool = NULL;
}

static apr_status_t dispatcher_tick(int state, void *data, apr_pool_t *pool)
{
    tw_dispatcher_t *d = data;
    apr_pool_t *ptick;
    apr_time_t until;
    int i, more;

    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        return dispatcher_start(d, pool);
    case AP_WATCHDOG_STATE_STOPPING:
        dispatcher_stop(d);
        return APR_SUCCESS;
    default:
        break;
    }
    if (d->multi == NULL)
        return APR_SUCCESS;
    apr_pool_create(&ptick, d->pool);
    until = apr_time_now() + TW_QUEUE_TICK_BUDGET;
    run_transfers(d, until - TW_QUEUE_TICK_BUDGET / 2);   /* half for what runs already */
    /* Slots freed by finished transfers are filled again within the tick
     * while a store had more due than free slots: otherwise a fast app
     * would get TwWebhookQueueConcurrency deliveries per tick at most
     * (40 a second at the defaults), however fast it answers. */
    do {
        more = 0;
        for (i = 0; i < d->stores->nelts; i++) {
            tw_qstore_t *qs = &APR_ARRAY_IDX(d->stores, i, tw_qstore_t);

            if (qs->store == NULL)
                continue;
            count_store(d, qs, ptick);
            more |= fill_store(d, qs, ptick);
        }
    } while (run_transfers(d, until) > 0 && more && apr_time_now() < until);
    apr_pool_destroy(ptick);
    return APR_SUCCESS;
}

/* ---- start-up ------------------------------------------------------------------------ */

int tw_queue_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    const char *at = tw_config_queue_at(ptemp, s);

    if (at == NULL || (APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance) != NULL
                       && APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback) != NULL))
        return OK;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                 "TWW0841: %s: TwWebhookQueue On needs mod_watchdog, which runs the "
                 "dispatcher: load it (LoadModule watchdog_module ...; Debian's apache2 has "
                 "it built in)", at);
    return HTTP_INTERNAL_SERVER_ERROR;
}

int tw_queue_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                         server_rec *s)
{
    static int curl_ready;
    ap_watchdog_t *watchdog;
    tw_dispatcher_t *d;
    apr_status_t rv;

    if ((rv = make_key(s)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0456: cannot make the dispatch key (no randomness)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    d = apr_pcalloc(pconf, sizeof(*d));
    d->s = s;
    d->stores = apr_array_make(pconf, 4, sizeof(tw_qstore_t));
    d->timeout = s->timeout > 0 ? s->timeout : apr_time_from_sec(60);
    collect_targets(pconf, ptemp, s, d);
    if (d->stores->nelts == 0)
        return OK;   /* no inbox: nothing to dispatch */
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (wd_get_instance == NULL || wd_register_callback == NULL)
        return OK;   /* no queue (check_config): requeued entries wait for redeliver */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "TWW0457: cannot initialise libcurl for the queue's dispatcher");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        curl_ready = 1;
    }
    if ((rv = wd_get_instance(&watchdog, AP_WATCHDOG_SINGLETON, 0, 1, pconf)) != APR_SUCCESS
        || (rv = wd_register_callback(watchdog, TW_QUEUE_WATCHDOG_TICK, d, dispatcher_tick))
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0458: cannot register the queue's dispatcher with mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}
