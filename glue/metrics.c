/*
 * SPDX-License-Identifier: Apache-2.0
 * metrics.c - the one table of outcomes, counters and the
 * verification-time histogram, per (virtual) server and protected scope
 * (the section whose TwWebhookSecret applies), served in Prometheus' text
 * exposition format (0.0.4) by "SetHandler twwebhook-metrics", and summed
 * for server-status (glue/status.c reads tw_metrics_totals).
 *
 * Everything lives in one anonymous shared memory segment
 * that the parent creates and every child inherits at fork: per-process
 * numbers would show whichever child answered the scrape. Each scope gets
 * a slot in post_config. Which label pair owns which slot is remembered on
 * the process pool, so a graceful restart keeps counting for the scopes
 * that are still configured; when a new configuration needs more slots
 * the parent copies the segment into a larger one (increments made by
 * children of the old generation after that moment are lost: they are
 * finishing their last requests).
 *
 * Slots are only written with atomic adds and only read with atomic
 * reads; the label table is built before any child exists and read-only
 * afterwards.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "glue/glue.h"
#include "glue/config.h"
#include "glue/metrics.h"

APLOG_USE_MODULE(twwebhook);

#define TW_METRICS_KEY      "twwebhook-metrics"
#define TW_METRICS_HANDLER  "twwebhook-metrics"
#define TW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TW_NO_SCOPE         "-"         /* location label without a slot */
#define TW_SERVER_SCOPE     "(server)"  /* a secret set for a whole server */

/* The "outcome" label values (and the notes, but for rejections). */
static const char *const outcome_names[TW_OUTCOME_MAX] = {
    [TW_OUTCOME_VERIFIED] = "verified",         [TW_OUTCOME_DUPLICATE] = "duplicate",
    [TW_OUTCOME_IGNORED] = "ignored",           [TW_OUTCOME_HELD] = "held",
    [TW_OUTCOME_QUEUED] = "queued",             [TW_OUTCOME_DEAD] = "dead",
    [TW_OUTCOME_REJECTED_400] = "rejected-400", [TW_OUTCOME_REJECTED_401] = "rejected-401",
    [TW_OUTCOME_REJECTED_405] = "rejected-405", [TW_OUTCOME_REJECTED_408] = "rejected-408",
    [TW_OUTCOME_REJECTED_409] = "rejected-409", [TW_OUTCOME_REJECTED_413] = "rejected-413",
    [TW_OUTCOME_REJECTED_4XX] = "rejected-4xx", [TW_OUTCOME_REJECTED_500] = "rejected-500",
    [TW_OUTCOME_REJECTED_503] = "rejected-503", [TW_OUTCOME_REJECTED_5XX] = "rejected-5xx",
    [TW_OUTCOME_REJECTED_OTHER] = "rejected-other",
};

static const char *const dispatch_names[TW_DISPATCH_RESULTS] = {
    [TW_DISPATCH_2XX] = "2xx", [TW_DISPATCH_4XX] = "4xx", [TW_DISPATCH_5XX] = "5xx",
    [TW_DISPATCH_FAILED] = "failed",
};

const char *tw_outcome_name(tw_outcome_t outcome)
{
    return outcome < TW_OUTCOME_MAX ? outcome_names[outcome] : "-";
}

tw_outcome_t tw_outcome_of_status(int status)
{
    switch (status) {
    case HTTP_BAD_REQUEST:              return TW_OUTCOME_REJECTED_400;
    case HTTP_UNAUTHORIZED:             return TW_OUTCOME_REJECTED_401;
    case HTTP_METHOD_NOT_ALLOWED:       return TW_OUTCOME_REJECTED_405;
    case HTTP_REQUEST_TIME_OUT:         return TW_OUTCOME_REJECTED_408;
    case HTTP_CONFLICT:                 return TW_OUTCOME_REJECTED_409;
    case HTTP_REQUEST_ENTITY_TOO_LARGE: return TW_OUTCOME_REJECTED_413;
    case HTTP_INTERNAL_SERVER_ERROR:    return TW_OUTCOME_REJECTED_500;
    case HTTP_SERVICE_UNAVAILABLE:      return TW_OUTCOME_REJECTED_503;
    default:
        if (ap_is_HTTP_CLIENT_ERROR(status))
            return TW_OUTCOME_REJECTED_4XX;
        return ap_is_HTTP_SERVER_ERROR(status) ? TW_OUTCOME_REJECTED_5XX
                                               : TW_OUTCOME_REJECTED_OTHER;
    }
}

/* Upper bounds of the histogram's buckets, in microseconds, and as the
 * "le" label says them; the last bucket (+Inf) is implied. */
static const struct {
    apr_uint64_t usec;
    const char *le;
} buckets[] = {
    { 250, "0.00025" }, { 500, "0.0005" }, { 1000, "0.001" }, { 2500, "0.0025" },
    { 5000, "0.005" }, { 10000, "0.01" }, { 25000, "0.025" }, { 50000, "0.05" },
    { 100000, "0.1" }, { 250000, "0.25" }, { 500000, "0.5" }, { 1000000, "1" },
    { 2500000, "2.5" }, { 5000000, "5" }, { 10000000, "10" },
};
#define TW_NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* One scope's numbers; only ever touched with apr_atomic_*64. */
typedef struct {
    apr_uint64_t requests[TW_OUTCOME_MAX];
    apr_uint64_t matched;           /* bodies whose signature matched */
    apr_uint64_t verified_bytes;    /* ... and their bytes */
    apr_uint64_t replay_hits, replay_misses, replay_errors;
    apr_uint64_t bucket[TW_NBUCKETS + 1];   /* not cumulative; last: +Inf */
    apr_uint64_t sum_usec;
    apr_uint64_t dispatches[TW_DISPATCH_RESULTS];   /* the queue's attempts */
    apr_uint64_t queue_depth, queue_dead, queue_oldest_usec;   /* gauges (apr_atomic_set64) */
} tw_slot_t;

/* Kept on the process pool across generations. */
typedef struct {
    apr_shm_t *shm;
    tw_slot_t *slots;
    int capacity;
    int used;
    apr_hash_t *slot_of_label;  /* "server\nlocation" -> int * (slot) */
} tw_metrics_store_t;

/* This generation's series, in configuration order. */
typedef struct {
    const char *server;         /* label values, unescaped */
    const char *location;
    int slot;
    int fallback;               /* location "-": shown only once it counts */
} tw_series_t;

typedef struct {
    const server_rec *s;
    const void *keys;           /* the scope's key list; NULL: no scope */
} tw_slot_key_t;

/* Set in the parent before any child exists; read-only afterwards. */
static tw_metrics_store_t *store;
static apr_array_header_t *series;      /* tw_series_t */
static apr_hash_t *slot_of_scope;       /* tw_slot_key_t -> int * */
static int scopes_found;

/* ---- counting --------------------------------------------------------------- */

/* r's row: its scope's, else its server's "-" row. */
static tw_slot_t *slot_for(request_rec *r)
{
    tw_slot_key_t key;
    const int *slot;

    if (store == NULL || slot_of_scope == NULL)
        return NULL;
    memset(&key, 0, sizeof(key));
    key.s = r->server;
    key.keys = tw_conf_scope_id(tw_conf_of(r));
    slot = apr_hash_get(slot_of_scope, &key, sizeof(key));
    if (slot == NULL && key.keys != NULL) {
        key.keys = NULL;
        slot = apr_hash_get(slot_of_scope, &key, sizeof(key));
    }
    return slot != NULL ? &store->slots[*slot] : NULL;
}

/* The row of the location (s, dc) for the dispatcher, which has no request. */
static tw_slot_t *slot_of_location(server_rec *s, const tw_dir_conf_t *dc)
{
    tw_slot_key_t key;
    const int *slot;

    if (store == NULL || slot_of_scope == NULL)
        return NULL;
    memset(&key, 0, sizeof(key));
    key.s = s;
    key.keys = tw_conf_scope_id(dc);
    slot = apr_hash_get(slot_of_scope, &key, sizeof(key));
    return slot != NULL ? &store->slots[*slot] : NULL;
}

void tw_metrics_dispatch(server_rec *s, const tw_dir_conf_t *dc, tw_dispatch_result_t result)
{
    tw_slot_t *slot = slot_of_location(s, dc);

    if (slot != NULL && result < TW_DISPATCH_RESULTS)
        apr_atomic_inc64(&slot->dispatches[result]);
}

void tw_metrics_dead(server_rec *s, const tw_dir_conf_t *dc)
{
    tw_slot_t *slot = slot_of_location(s, dc);

    if (slot != NULL)
        apr_atomic_inc64(&slot->requests[TW_OUTCOME_DEAD]);
}

void tw_metrics_queue_gauges(server_rec *s, const tw_dir_conf_t *dc, apr_uint64_t queued,
                             apr_uint64_t dead, apr_interval_time_t oldest_age)
{
    tw_slot_t *slot = slot_of_location(s, dc);

    if (slot == NULL)
        return;
    apr_atomic_set64(&slot->queue_depth, queued);
    apr_atomic_set64(&slot->queue_dead, dead);
    apr_atomic_set64(&slot->queue_oldest_usec, oldest_age > 0 ? (apr_uint64_t)oldest_age : 0);
}

void tw_metrics_count(request_rec *r, tw_outcome_t outcome)
{
    tw_slot_t *slot = slot_for(r);

    if (slot != NULL && outcome < TW_OUTCOME_MAX)
        apr_atomic_inc64(&slot->requests[outcome]);
}

void tw_metrics_verification(request_rec *r, int matched, apr_off_t bytes,
                             apr_interval_time_t took)
{
    tw_slot_t *slot = slot_for(r);
    apr_uint64_t usec = took > 0 ? (apr_uint64_t)took : 0;
    apr_size_t i;

    if (slot == NULL)
        return;
    if (matched) {
        apr_atomic_inc64(&slot->matched);
        if (bytes > 0)
            apr_atomic_add64(&slot->verified_bytes, (apr_uint64_t)bytes);
    }
    for (i = 0; i < TW_NBUCKETS && usec > buckets[i].usec; i++)
        ;
    apr_atomic_inc64(&slot->bucket[i]);
    apr_atomic_add64(&slot->sum_usec, usec);
}

void tw_metrics_replay(request_rec *r, tw_replay_verdict_t verdict)
{
    tw_slot_t *slot = slot_for(r);

    if (slot == NULL)
        return;
    switch (verdict) {
    case TW_REPLAY_FIRST:       apr_atomic_inc64(&slot->replay_misses); break;
    case TW_REPLAY_DUPLICATE:
    case TW_REPLAY_IN_FLIGHT:   apr_atomic_inc64(&slot->replay_hits); break;
    default:                    apr_atomic_inc64(&slot->replay_errors); break;
    }
}

int tw_metrics_totals(tw_metrics_totals_t *totals)
{
    int i, o;

    memset(totals, 0, sizeof(*totals));
    if (store == NULL || store->slots == NULL)
        return 0;
    /* Every row ever assigned, those of scopes no longer configured too:
     * the totals keep counting across graceful restarts. */
    for (i = 0; i < store->used && i < store->capacity; i++) {
        tw_slot_t *slot = &store->slots[i];

        for (o = 0; o < TW_OUTCOME_MAX; o++)
            totals->outcomes[o] += apr_atomic_read64(&slot->requests[o]);
        totals->matched += apr_atomic_read64(&slot->matched);
        totals->matched_bytes += apr_atomic_read64(&slot->verified_bytes);
        for (o = 0; o < TW_DISPATCH_RESULTS; o++)
            totals->dispatches[o] += apr_atomic_read64(&slot->dispatches[o]);
    }
    /* The gauges of the configured locations only (a store's numbers
     * are shown under each location that uses it: one row each). */
    for (i = 0; series != NULL && i < series->nelts; i++) {
        tw_slot_t *slot = &store->slots[APR_ARRAY_IDX(series, i, tw_series_t).slot];
        apr_uint64_t oldest = apr_atomic_read64(&slot->queue_oldest_usec);

        totals->queue_depth += apr_atomic_read64(&slot->queue_depth);
        totals->queue_dead += apr_atomic_read64(&slot->queue_dead);
        if (oldest > totals->queue_oldest_usec)
            totals->queue_oldest_usec = oldest;
    }
    return 1;
}

/* ---- slots, at start-up ----------------------------------------------------- */

/* The "server" label: the ServerName of the (virtual) server and its port. */
static const char *server_label(apr_pool_t *p, const server_rec *s)
{
    apr_port_t port = s->port;

    if (port == 0 && s->addrs != NULL)
        port = s->addrs->host_port;
    if (port == 0)
        return s->server_hostname ? s->server_hostname : "";
    return apr_psprintf(p, "%s:%u", s->server_hostname ? s->server_hostname : "",
                        (unsigned)port);
}

/* A slot for this label pair: the one it had in an earlier generation,
 * else the next free one (the segment grows later if need be). */
static int slot_for_label(apr_pool_t *process_pool, const char *server, const char *location)
{
    const char *label = apr_pstrcat(process_pool, server, "\n", location, NULL);
    int *slot = apr_hash_get(store->slot_of_label, label, APR_HASH_KEY_STRING);

    if (slot == NULL) {
        slot = apr_palloc(process_pool, sizeof(*slot));
        *slot = store->used++;
        apr_hash_set(store->slot_of_label, label, APR_HASH_KEY_STRING, slot);
    }
    return *slot;
}

static void add_scope(apr_pool_t *pconf, apr_pool_t *process_pool, const server_rec *s,
                      const void *keys, const char *server, const char *location)
{
    tw_slot_key_t *key = apr_pcalloc(pconf, sizeof(*key));
    int *slot = apr_palloc(pconf, sizeof(*slot));
    int i;

    key->s = s;
    key->keys = keys;
    if (apr_hash_get(slot_of_scope, key, sizeof(*key)) != NULL)
        return;   /* the same section seen twice */
    *slot = slot_for_label(process_pool, server, location);
    apr_hash_set(slot_of_scope, key, sizeof(*key), slot);
    /* Two server_recs with the same name and port share their series. */
    for (i = 0; i < series->nelts; i++)
        if (APR_ARRAY_IDX(series, i, tw_series_t).slot == *slot)
            return;
    {
        tw_series_t *ser = apr_array_push(series);

        ser->server = server;
        ser->location = location;
        ser->slot = *slot;
        ser->fallback = (keys == NULL);
    }
}

/* Makes sure the segment holds store->used slots, keeping what it counted. */
static apr_status_t ensure_capacity(apr_pool_t *process_pool)
{
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    int capacity;
    tw_slot_t *slots;

    if (store->used <= store->capacity)
        return APR_SUCCESS;
    capacity = store->capacity * 2 > store->used ? store->capacity * 2 : store->used + 16;
    rv = apr_shm_create(&shm, sizeof(tw_slot_t) * (apr_size_t)capacity, NULL, process_pool);
    if (rv != APR_SUCCESS)
        return rv;
    slots = apr_shm_baseaddr_get(shm);
    memset(slots, 0, sizeof(tw_slot_t) * (apr_size_t)capacity);
    if (store->slots != NULL) {
        memcpy(slots, store->slots, sizeof(tw_slot_t) * (apr_size_t)store->capacity);
        /* The old generation's children keep their own mapping of it. */
        apr_shm_destroy(store->shm);
    }
    store->shm = shm;
    store->slots = slots;
    store->capacity = capacity;
    return APR_SUCCESS;
}

int tw_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    apr_array_header_t *dcs = apr_array_make(ptemp, 8, sizeof(const tw_dir_conf_t *));
    server_rec *vs;
    apr_status_t rv;
    void *data = NULL;
    const char *kept_key;

    series = NULL;
    slot_of_scope = NULL;
    scopes_found = 0;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;   /* the dry run before the real start */
    kept_key = tw_kept_key(ptemp, TW_METRICS_KEY,
                           sizeof(tw_slot_t) * 256 + sizeof(tw_metrics_store_t));
    apr_pool_userdata_get(&data, kept_key, process_pool);
    if (data == NULL) {
        data = apr_pcalloc(process_pool, sizeof(tw_metrics_store_t));
        ((tw_metrics_store_t *)data)->slot_of_label = apr_hash_make(process_pool);
        apr_pool_userdata_set(data, kept_key, apr_pool_cleanup_null, process_pool);
    }
    store = data;
    series = apr_array_make(pconf, 8, sizeof(tw_series_t));
    slot_of_scope = apr_hash_make(pconf);

    for (vs = s; vs != NULL; vs = vs->next) {
        const char *server = server_label(pconf, vs);
        int i;

        apr_array_clear(dcs);
        tw_config_protected_sections(ptemp, vs, dcs);
        for (i = 0; i < dcs->nelts; i++) {
            const tw_dir_conf_t *dc = APR_ARRAY_IDX(dcs, i, const tw_dir_conf_t *);
            const char *scope = tw_conf_scope_name(dc);
            const char *location = *scope ? apr_pstrdup(pconf, scope) : TW_SERVER_SCOPE;

            add_scope(pconf, process_pool, vs, tw_conf_scope_id(dc), server, location);
        }
        add_scope(pconf, process_pool, vs, NULL, server, TW_NO_SCOPE);
    }
    scopes_found = 0;
    {
        int i;
        for (i = 0; i < series->nelts; i++)
            scopes_found += !APR_ARRAY_IDX(series, i, tw_series_t).fallback;
    }
    if ((rv = ensure_capacity(process_pool)) != APR_SUCCESS) {
        /* Metrics are a convenience: run without them rather than not at all. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "TWW0602: cannot create shared memory for the metrics; "
                     "twwebhook-metrics will show none");
        store = NULL;
        apr_pool_userdata_set(NULL, kept_key, apr_pool_cleanup_null, process_pool);
    }
    return OK;
}

int tw_metrics_scopes(void)
{
    return scopes_found;
}

/* ---- the exposition ----------------------------------------------------------- */

/* A label value as the format wants it: \\, \" and \n escaped. */
static const char *label_value(apr_pool_t *p, const char *v)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = v; *c; c++)
        n += (*c == '\\' || *c == '"' || *c == '\n') ? 2 : 1;
    o = out = apr_palloc(p, n + 1);
    for (c = v; *c; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n') {
            *o++ = '\\';
            *o++ = (*c == '\n') ? 'n' : *c;
        }
        else
            *o++ = *c;
    }
    *o = '\0';
    return out;
}

/* The counters with one value per scope, as they are exposed. */
static const struct {
    const char *name;
    const char *help;
    size_t offset;   /* of an apr_uint64_t in tw_slot_t */
} scope_counters[] = {
    { "twwebhook_verified_bytes_total", "Bytes of bodies whose signature matched.",
      APR_OFFSETOF(tw_slot_t, verified_bytes) },
    { "twwebhook_replay_cache_hits_total",
      "Replay cache lookups that found the body (duplicate, or in flight).",
      APR_OFFSETOF(tw_slot_t, replay_hits) },
    { "twwebhook_replay_cache_misses_total",
      "Replay cache lookups that did not find the body (first delivery).",
      APR_OFFSETOF(tw_slot_t, replay_misses) },
    { "twwebhook_replay_cache_errors_total",
      "Replay cache lookups that failed (cache or mutex unavailable).",
      APR_OFFSETOF(tw_slot_t, replay_errors) },
};

static apr_uint64_t get(apr_uint64_t *v)
{
    return apr_atomic_read64(v);
}

static int slot_counted(tw_slot_t *slot)
{
    apr_size_t i;

    for (i = 0; i < TW_OUTCOME_MAX; i++)
        if (get(&slot->requests[i]) != 0)
            return 1;
    for (i = 0; i <= TW_NBUCKETS; i++)
        if (get(&slot->bucket[i]) != 0)
            return 1;
    return get(&slot->replay_hits) || get(&slot->replay_misses) || get(&slot->replay_errors);
}

static void family(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_metrics(request_rec *r)
{
    const int n = series->nelts;
    const char **labels = apr_pcalloc(r->pool, sizeof(*labels) * (apr_size_t)(n + 1));
    tw_slot_t **slots = apr_pcalloc(r->pool, sizeof(*slots) * (apr_size_t)(n + 1));
    int i, k = 0;
    apr_size_t j, c;

    /* The series to show: every configured scope, and the catch-all of
     * a server once something was counted there. */
    for (i = 0; i < n; i++) {
        const tw_series_t *ser = &APR_ARRAY_IDX(series, i, tw_series_t);
        tw_slot_t *slot = &store->slots[ser->slot];

        if (ser->fallback && !slot_counted(slot))
            continue;
        labels[k] = apr_psprintf(r->pool, "server=\"%s\",location=\"%s\"",
                                 label_value(r->pool, ser->server),
                                 label_value(r->pool, ser->location));
        slots[k++] = slot;
    }

    family(r, "twwebhook_build_info", "gauge", "mod_twwebhook's version (always 1).");
    ap_rprintf(r, "twwebhook_build_info{version=\"%s\"} 1\n", label_value(r->pool, TW_VERSION));

    family(r, "twwebhook_requests_total", "counter",
           "Requests to protected locations, by outcome (the twwebhook-outcome note).");
    for (i = 0; i < k; i++)
        for (j = 0; j < TW_OUTCOME_MAX; j++)
            ap_rprintf(r, "twwebhook_requests_total{%s,outcome=\"%s\"} %" APR_UINT64_T_FMT
                       "\n", labels[i], outcome_names[j], get(&slots[i]->requests[j]));

    for (c = 0; c < sizeof(scope_counters) / sizeof(scope_counters[0]); c++) {
        family(r, scope_counters[c].name, "counter", scope_counters[c].help);
        for (i = 0; i < k; i++)
            ap_rprintf(r, "%s{%s} %" APR_UINT64_T_FMT "\n", scope_counters[c].name, labels[i],
                       get((apr_uint64_t *)((char *)slots[i] + scope_counters[c].offset)));
    }

    family(r, "twwebhook_queue_dispatches_total", "counter",
           "The queue's dispatch attempts to the app, by result (2xx, 4xx, 5xx, failed: not "
           "reached, timed out, or another status).");
    for (i = 0; i < k; i++)
        for (j = 0; j < TW_DISPATCH_RESULTS; j++)
            ap_rprintf(r, "twwebhook_queue_dispatches_total{%s,result=\"%s\"} %"
                       APR_UINT64_T_FMT "\n", labels[i], dispatch_names[j],
                       get(&slots[i]->dispatches[j]));
    family(r, "twwebhook_queue_depth", "gauge",
           "Entries of this location's inbox waiting for the dispatcher (queued).");
    for (i = 0; i < k; i++)
        ap_rprintf(r, "twwebhook_queue_depth{%s} %" APR_UINT64_T_FMT "\n", labels[i],
                   get(&slots[i]->queue_depth));
    family(r, "twwebhook_queue_dead_entries", "gauge",
           "Entries of this location's inbox the dispatcher gave up (dead), until a person "
           "redelivers or drops them.");
    for (i = 0; i < k; i++)
        ap_rprintf(r, "twwebhook_queue_dead_entries{%s} %" APR_UINT64_T_FMT "\n", labels[i],
                   get(&slots[i]->queue_dead));
    family(r, "twwebhook_queue_oldest_seconds", "gauge",
           "Age of the oldest queued entry of this location's inbox (0: none).");
    for (i = 0; i < k; i++) {
        apr_uint64_t usec = get(&slots[i]->queue_oldest_usec);

        ap_rprintf(r, "twwebhook_queue_oldest_seconds{%s} %" APR_UINT64_T_FMT ".%06u\n",
                   labels[i], usec / 1000000, (unsigned)(usec % 1000000));
    }

    family(r, "twwebhook_verify_seconds", "histogram",
           "Time from the first body read to the signature comparison, for bodies read to "
           "their end.");
    for (i = 0; i < k; i++) {
        apr_uint64_t cumulative = 0;

        for (j = 0; j <= TW_NBUCKETS; j++) {
            cumulative += get(&slots[i]->bucket[j]);
            ap_rprintf(r, "twwebhook_verify_seconds_bucket{%s,le=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       labels[i], j < TW_NBUCKETS ? buckets[j].le : "+Inf", cumulative);
        }
        {
            apr_uint64_t usec = get(&slots[i]->sum_usec);

            ap_rprintf(r, "twwebhook_verify_seconds_sum{%s} %" APR_UINT64_T_FMT ".%06u\n",
                       labels[i], usec / 1000000, (unsigned)(usec % 1000000));
        }
        ap_rprintf(r, "twwebhook_verify_seconds_count{%s} %" APR_UINT64_T_FMT "\n",
                   labels[i], cumulative);
    }
}

static int hook_metrics_handler(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, TW_METRICS_HANDLER) != 0)
        return DECLINED;
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    if (store == NULL || series == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "TWW0603: twwebhook-metrics: no metrics (see TWW0602 at start-up)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ap_set_content_type(r, TW_METRICS_CONTENT_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only)
        return OK;
    write_metrics(r);
    return OK;
}

void tw_metrics_register_hooks(void)
{
    ap_hook_handler(hook_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
