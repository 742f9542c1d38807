/*
 * SPDX-License-Identifier: Apache-2.0
 * replay_cache.c - "this delivery was already handled": replay and
 * duplicate protection, on one of httpd's socache providers (shmcb or dbm
 * for one server) or on a memcached or redis-server shared by a fleet
 * (glue/replay_net.c).
 *
 * The key is derived from what the sender signed (tw_replay_key), never
 * from the unsigned Delivery header, so resending a captured body under a
 * fresh Delivery value is still a duplicate. A key moves through:
 *
 *   absent --claim--> PENDING(token) --settle(2xx)--> DONE (for the window)
 *                         |  \----settle(other)--> absent (retries go through)
 *                         \--renewed every lease/3 while the app works
 *
 * The claim is a lease (tw/lease.h): a random token, the holder's node and
 * pid, and a time to live of TwWebhookReplayLease. This child's renewer
 * thread extends every claim it holds while its app is still working, so
 * a slow app never loses its claim; a crashed child stops renewing, and
 * its claims run out within the lease. A claim whose holder ran on this
 * very node and is gone is free at once. Settle and release act only where
 * the stored value is still the claim's own (compare-and-set): a copy that
 * lost its claim can never delete or settle another copy's.
 *
 * Who makes the compare-and-set atomic:
 *   socache (shmcb, dbm)   a global mutex around retrieve and store: atomic
 *                          among the processes of one server, which is all
 *                          that shares such a cache;
 *   memcache, redis        the engine (replay_net.c: Lua scripts, cas).
 *
 * Every engine call ends by TwWebhookReplayCacheTimeout (the fleet engines
 * by their own deadlines; the socache ones are local).
 *
 * Across restarts: the parent keeps a socache instance and its mutex on the
 * process pool, so a graceful restart (or a SIGHUP one) with the same
 * TwWebhookReplayCache line finds them again; old and new children then
 * share one cache under one mutex. A changed line starts a new cache. dbm
 * keeps its files even when httpd stops (no provider->destroy, which would
 * delete them).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"

#include "apr_global_mutex.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_proc.h"

#include <stdlib.h>
#include <unistd.h>

#include "glue/glue.h"
#include "glue/config.h"
#include "glue/replay.h"
#include "glue/replay_net.h"

APLOG_USE_MODULE(twwebhook);

#define TW_REPLAY_MUTEX_TYPE     "twwebhook-replay"
#define TW_REPLAY_CACHE_NAME     "twwebhook-rc"     /* socache cname, <= 16 chars */
#define TW_REPLAY_KEPT_KEY       "twwebhook-replay-cache"   /* process pool userdata */

/*
 * A socache instance and its mutex as the parent keeps them across
 * restarts: everything on a subpool of the process pool, which a restart
 * does not clear. The provider is the one looked up by this generation's
 * configuration: a restart unloads and reloads mod_socache_*.so, so a
 * pointer from the last generation may point nowhere.
 */
typedef struct {
    const char *spec;                        /* "provider:args" as configured */
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    apr_pool_t *pool;                        /* owns all of the above */
} replay_kept_t;

/*
 * Server-wide state, made from the settings (glue/config.c's
 * tw_conf_replay(), filled by the TwWebhookReplay* directives): post_config
 * looks up the socache provider and attaches the cache, and the children
 * only read it (but for their own clients and mutex handle, made in
 * child_init).
 */
static struct {
    const ap_socache_provider_t *provider;   /* a socache engine, or NULL */
    int miss_is_egeneral;                    /* dbm: see reserve_socache */
    replay_kept_t *kept;                     /* the socache instance at work */
    apr_global_mutex_t *mutex;               /* kept->mutex, attached in this child */
    /* this child's (child_init) */
    server_rec *server;                      /* for the renewer's log lines */
    char node[TW_LEASE_NODE_MAX + 1];        /* tw_lease_node() */
} replay;

/* The settings, read-only once the configuration is read. */
static APR_INLINE const tw_replay_conf_t *settings(void)
{
    return tw_conf_replay();
}

/*
 * A claim this child holds: a request's, from its reservation until it is
 * settled (or its transaction's pool goes). Listed for the renewer, under
 * renewer.mutex.
 */
struct tw_replay_claim {
    unsigned char key[TW_MAC_LEN];
    char value[TW_LEASE_VALUE_MAX + 1];      /* tw_lease_format()'s */
    apr_size_t len;
    int listed;
    struct tw_replay_claim *prev, *next;
};

/* The child's lease renewer: a thread, and the claims it keeps alive. */
static struct {
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    int stopping;
    tw_replay_claim_t *held;                 /* a doubly linked list */
} renewer;

static void replay_reset(void)
{
    replay.provider = NULL;
    replay.miss_is_egeneral = 0;
    replay.kept = NULL;
    replay.mutex = NULL;
}

int tw_replay_configured(void)
{
    return settings()->spec != NULL;
}

int tw_replay_fails_open(void)
{
    return settings()->fail_open;
}

/* ---- the socache engines: compare-and-set under the global mutex ------------ */

static apr_status_t replay_lock(server_rec *s)
{
    apr_status_t rv = apr_global_mutex_lock(replay.mutex);

    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "TWW0701: cannot lock the replay cache mutex");
    return rv;
}

static void replay_unlock(server_rec *s)
{
    apr_status_t rv = apr_global_mutex_unlock(replay.mutex);

    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "TWW0702: cannot unlock the replay cache mutex");
}

/* What key holds: APR_SUCCESS or APR_NOTFOUND. Under the mutex. */
static apr_status_t socache_get(server_rec *s, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                                tw_net_value_t *value)
{
    unsigned int len = TW_LEASE_VALUE_MAX;
    apr_status_t rv = replay.provider->retrieve(replay.kept->instance, s, key, TW_MAC_LEN,
                                                (unsigned char *)value->data, &len, p);

    /* mod_socache_dbm answers APR_EGENERAL for a key it does not have (the
     * DBM fetch "succeeds" with no data); it logs a file it cannot open
     * itself, with that error instead. */
    if (rv == APR_EGENERAL && replay.miss_is_egeneral)
        return APR_NOTFOUND;
    if (rv == APR_SUCCESS) {
        value->len = len;
        value->data[len] = '\0';
    }
    return rv;
}

static apr_status_t socache_put(server_rec *s, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                                const char *value, apr_size_t len, apr_interval_time_t ttl)
{
    /* One second more than asked: socache providers that count whole
     * seconds round the time left down. */
    return replay.provider->store(replay.kept->instance, s, key, TW_MAC_LEN,
                                  apr_time_now() + ttl + apr_time_from_sec(1),
                                  (unsigned char *)value, (unsigned int)len, p);
}

static int same_value(const tw_net_value_t *v, const char *expected, apr_size_t elen)
{
    return v->len == elen && memcmp(v->data, expected, elen) == 0;
}

static apr_status_t socache_claim(server_rec *s, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                                  const char *value, apr_size_t len, apr_interval_time_t ttl,
                                  tw_net_value_t *current)
{
    apr_status_t rv;

    if ((rv = replay_lock(s)) != APR_SUCCESS)
        return rv;
    rv = socache_get(s, p, key, current);
    if (rv == APR_NOTFOUND)
        rv = socache_put(s, p, key, value, len, ttl);
    else if (rv == APR_SUCCESS)
        rv = APR_EEXIST;
    replay_unlock(s);
    return rv;
}

/* value NULL: remove where it is still expected. */
static apr_status_t socache_swap(server_rec *s, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                                 const char *expected, apr_size_t elen, const char *value,
                                 apr_size_t len, apr_interval_time_t ttl)
{
    tw_net_value_t current;
    apr_status_t rv;

    if ((rv = replay_lock(s)) != APR_SUCCESS)
        return rv;
    rv = socache_get(s, p, key, &current);
    if (rv == APR_NOTFOUND || (rv == APR_SUCCESS && !same_value(&current, expected, elen)))
        rv = TW_NET_CHANGED;
    else if (rv == APR_SUCCESS && value != NULL)
        rv = socache_put(s, p, key, value, len, ttl);
    else if (rv == APR_SUCCESS)
        rv = replay.provider->remove(replay.kept->instance, s, key, TW_MAC_LEN, p);
    replay_unlock(s);
    return rv;
}

/* ---- one interface over every engine ------------------------------------------- */

static apr_time_t op_deadline(void)
{
    return apr_time_now() + settings()->timeout;
}

static int engine_ready(void)
{
    return settings()->net != NULL ? tw_net_ready(settings()->net) : replay.mutex != NULL;
}

static apr_status_t engine_claim(server_rec *s, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                                 const char *value, apr_size_t len, apr_interval_time_t ttl,
                                 tw_net_value_t *current, const char **detail)
{
    tw_net_t *net = settings()->net;

    *detail = NULL;
    if (net != NULL)
        return tw_net_claim(net, p, key, value, len, ttl, op_deadline(), current, detail);
    return socache_claim(s, p, key, value, len, ttl, current);
}

/* Replaces expected by value (or, value NULL, removes it) where it is still there. */
static apr_status_t engine_swap(server_rec *s, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                                const char *expected, apr_size_t elen, const char *value,
                                apr_size_t len, apr_interval_time_t ttl, const char **detail)
{
    *detail = NULL;
    if (settings()->net == NULL)
        return socache_swap(s, p, key, expected, elen, value, len, ttl);
    if (value == NULL)
        return tw_net_release(settings()->net, p, key, expected, elen, op_deadline(), detail);
    return tw_net_swap(settings()->net, p, key, expected, elen, value, len, ttl, op_deadline(),
                       detail);
}

static void log_unavailable(request_rec *r, apr_status_t rv, const char *detail)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "TWW0703: replay cache unavailable (%s); failing %s%s%s",
                  settings()->engine, settings()->fail_open ? "open" : "closed",
                  detail ? ": " : "", detail ? detail : "");
}

static void log_not_recorded(request_rec *r, apr_status_t rv, const char *detail)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "TWW0704: cannot record the delivery in the replay cache (%s)%s%s",
                  settings()->engine, detail ? ": " : "", detail ? detail : "");
}

/* ---- the claims this child holds, and their renewer ------------------------------- */

static void list_claim(tw_replay_claim_t *claim)
{
    apr_thread_mutex_lock(renewer.mutex);
    claim->prev = NULL;
    claim->next = renewer.held;
    if (renewer.held != NULL)
        renewer.held->prev = claim;
    renewer.held = claim;
    claim->listed = 1;
    apr_thread_mutex_unlock(renewer.mutex);
}

static void unlist_claim(tw_replay_claim_t *claim)
{
    /* only the thread that listed it unlists it: no lock needed to look */
    if (!claim->listed)
        return;
    apr_thread_mutex_lock(renewer.mutex);
    if (claim->listed) {
        if (claim->prev != NULL)
            claim->prev->next = claim->next;
        else
            renewer.held = claim->next;
        if (claim->next != NULL)
            claim->next->prev = claim->prev;
        claim->listed = 0;
    }
    apr_thread_mutex_unlock(renewer.mutex);
}

/* A transaction that ends without settling (it should not) stops renewing. */
static apr_status_t forget_claim(void *claim)
{
    unlist_claim(claim);
    return APR_SUCCESS;
}

/* 1 when the renewer still holds a claim with this value (its token is unique). */
static int still_listed(const char *value)
{
    const tw_replay_claim_t *c;
    int found = 0;

    apr_thread_mutex_lock(renewer.mutex);
    for (c = renewer.held; c != NULL && !found; c = c->next)
        found = strcmp(c->value, value) == 0;
    apr_thread_mutex_unlock(renewer.mutex);
    return found;
}

/* The held claims as they are now, copied (the list may change meanwhile). */
static apr_array_header_t *held_claims(apr_pool_t *p)
{
    apr_array_header_t *copy = apr_array_make(p, 8, sizeof(tw_replay_claim_t));
    const tw_replay_claim_t *c;

    apr_thread_mutex_lock(renewer.mutex);
    for (c = renewer.held; c != NULL; c = c->next)
        *(tw_replay_claim_t *)apr_array_push(copy) = *c;
    apr_thread_mutex_unlock(renewer.mutex);
    return copy;
}

/* Extends every claim this child holds by a whole lease. */
static void renew_held(apr_pool_t *p)
{
    apr_array_header_t *held = held_claims(p);
    int i;

    for (i = 0; i < held->nelts; i++) {
        const tw_replay_claim_t *c = &APR_ARRAY_IDX(held, i, tw_replay_claim_t);
        const char *detail = NULL;
        apr_status_t rv = engine_swap(replay.server, p, c->key, c->value, c->len, c->value,
                                      c->len, settings()->lease, &detail);

        if (rv == TW_NET_CHANGED && still_listed(c->value))
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, replay.server,
                         "TWW0713: a claim in the replay cache (%s) ran out while its app "
                         "was still at work (the engine was unreachable for longer than "
                         "TwWebhookReplayLease?): a copy of that delivery may run too",
                         settings()->engine);
        else if (rv != APR_SUCCESS && rv != TW_NET_CHANGED)
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, replay.server,
                         "TWW0714: cannot renew a claim in the replay cache (%s)%s%s",
                         settings()->engine, detail ? ": " : "", detail ? detail : "");
    }
}

static void *APR_THREAD_FUNC renewer_main(apr_thread_t *thread, void *data)
{
    apr_pool_t *p = NULL;

    apr_pool_create(&p, NULL);
    apr_thread_mutex_lock(renewer.mutex);
    while (!renewer.stopping) {
        apr_thread_cond_timedwait(renewer.wake, renewer.mutex, settings()->lease / 3);
        if (renewer.stopping || renewer.held == NULL)
            continue;
        apr_thread_mutex_unlock(renewer.mutex);
        renew_held(p);
        apr_pool_clear(p);
        apr_thread_mutex_lock(renewer.mutex);
    }
    apr_thread_mutex_unlock(renewer.mutex);
    apr_pool_destroy(p);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static apr_status_t renewer_stop(void *data)
{
    apr_status_t rv;

    if (renewer.thread == NULL)
        return APR_SUCCESS;
    apr_thread_mutex_lock(renewer.mutex);
    renewer.stopping = 1;
    apr_thread_cond_signal(renewer.wake);
    apr_thread_mutex_unlock(renewer.mutex);
    apr_thread_join(&rv, renewer.thread);
    renewer.thread = NULL;
    return APR_SUCCESS;
}

static apr_status_t renewer_start(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    renewer.stopping = 0;
    renewer.held = NULL;
    if ((rv = apr_thread_mutex_create(&renewer.mutex, APR_THREAD_MUTEX_DEFAULT, pchild))
        != APR_SUCCESS
        || (rv = apr_thread_cond_create(&renewer.wake, pchild)) != APR_SUCCESS
        || (rv = apr_thread_create(&renewer.thread, NULL, renewer_main, NULL, pchild))
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0715: cannot start this child's replay-cache lease renewer");
        renewer.thread = NULL;
        return rv;
    }
    /* A pre-cleanup: it must join the thread before pchild destroys its
     * subpools, the thread's own among them. */
    apr_pool_pre_cleanup_register(pchild, NULL, renewer_stop);
    return APR_SUCCESS;
}

/* ---- reserve and settle ------------------------------------------------------------ */

/* A new claim's value for this process, or an error. */
static tw_status_t new_claim_value(tw_replay_claim_t *claim)
{
    tw_lease_t lease;
    size_t len = 0;
    tw_status_t st = tw_lease_new(&lease, replay.node, (long)getpid());

    if (st == TW_OK)
        st = tw_lease_format(&lease, claim->value, &len);
    claim->len = len;
    return st;
}

/*
 * What stands in the way of a claim: a handled delivery, a live holder, or
 * nobody (a tombstone, or a holder that died on this node: taken over).
 */
static tw_replay_verdict_t judge_current(request_rec *r, const tw_net_value_t *current,
                                         int *take_over)
{
    tw_lease_t holder;

    *take_over = 0;
    switch (tw_lease_parse(current->data, current->len, &holder)) {
    case TW_LEASE_DONE:
        return TW_REPLAY_DUPLICATE;
    case TW_LEASE_FREE:
        *take_over = 1;
        return TW_REPLAY_FIRST;
    case TW_LEASE_PENDING:
        if (tw_lease_holder_gone(&holder, replay.node)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "TWW0716: the claim on this delivery was held by process %ld, "
                          "which is gone: taken over", holder.pid);
            *take_over = 1;
            return TW_REPLAY_FIRST;
        }
        return TW_REPLAY_IN_FLIGHT;
    default:
        return TW_REPLAY_IN_FLIGHT;   /* a stranger's value: it expires by itself */
    }
}

static tw_replay_verdict_t reserve(request_rec *r, tw_replay_claim_t *claim)
{
    const char *detail = NULL;
    tw_net_value_t current;
    apr_status_t rv = APR_EGENERAL;
    int attempt;

    if (!engine_ready()) {
        log_unavailable(r, rv, "no client in this child (see TWW0707/TWW0710)");
        return TW_REPLAY_UNAVAILABLE;
    }
    if (new_claim_value(claim) != TW_OK) {
        log_unavailable(r, rv, "cannot make a claim token");
        return TW_REPLAY_UNAVAILABLE;
    }
    for (attempt = 0; attempt < 3; attempt++) {
        tw_replay_verdict_t verdict;
        int take_over;

        rv = engine_claim(r->server, r->pool, claim->key, claim->value, claim->len,
                          settings()->lease, &current, &detail);
        if (rv == APR_SUCCESS)
            return TW_REPLAY_FIRST;
        if (rv != APR_EEXIST)
            break;
        verdict = judge_current(r, &current, &take_over);
        if (!take_over)
            return verdict;
        rv = engine_swap(r->server, r->pool, claim->key, current.data, current.len,
                         claim->value, claim->len, settings()->lease, &detail);
        if (rv == APR_SUCCESS)
            return TW_REPLAY_FIRST;
        if (rv != TW_NET_CHANGED)
            break;
        /* someone else moved first: look again */
    }
    if (rv == TW_NET_CHANGED || rv == APR_EEXIST)
        return TW_REPLAY_IN_FLIGHT;
    log_unavailable(r, rv, detail);
    return TW_REPLAY_UNAVAILABLE;
}

tw_replay_verdict_t tw_replay_reserve(request_rec *r, const unsigned char key[TW_MAC_LEN],
                                      tw_replay_claim_t **pclaim)
{
    apr_pool_t *txn_pool = tw_top_request(r)->pool;
    tw_replay_claim_t *claim = apr_pcalloc(txn_pool, sizeof(*claim));
    tw_replay_verdict_t verdict;

    memcpy(claim->key, key, TW_MAC_LEN);
    verdict = reserve(r, claim);
    *pclaim = NULL;
    if (verdict == TW_REPLAY_FIRST) {
        if (renewer.thread != NULL)
            list_claim(claim);
        apr_pool_cleanup_register(txn_pool, claim, forget_claim, apr_pool_cleanup_null);
        *pclaim = claim;
    }
    return verdict;
}

void tw_replay_settle(request_rec *r, tw_replay_claim_t *claim, int handled)
{
    const char *detail = NULL;
    apr_status_t rv;

    /* first off the renewer's list: a renewal racing this settle then
     * finds the key changed and knows it was ours to let go */
    if (renewer.thread != NULL)
        unlist_claim(claim);
    if (handled)
        rv = engine_swap(r->server, r->pool, claim->key, claim->value, claim->len,
                         TW_LEASE_DONE_VALUE, sizeof(TW_LEASE_DONE_VALUE) - 1,
                         settings()->window, &detail);
    else
        rv = engine_swap(r->server, r->pool, claim->key, claim->value, claim->len, NULL, 0, 0,
                         &detail);
    if (rv == TW_NET_CHANGED)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "TWW0717: the claim on this delivery in the replay cache (%s) ran out "
                      "before it was settled (the engine was unreachable for longer than "
                      "TwWebhookReplayLease?): %s", settings()->engine,
                      handled ? "not recorded as handled" : "left to its new holder");
    else if (rv != APR_SUCCESS)
        log_not_recorded(r, rv, detail);
}

/* ---- hooks ---------------------------------------------------------------------- */

int tw_replay_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    apr_status_t rv;

    replay_reset();
    rv = ap_mutex_register(pconf, TW_REPLAY_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    if (rv != APR_SUCCESS) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, rv, plog,
                      "TWW0705: cannot register the %s mutex", TW_REPLAY_MUTEX_TYPE);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/*
 * Runs for "apachectl configtest" too (post_config does not): tuning a
 * replay cache that does not exist is a mistake worth failing on, since
 * the operator believes replays are stopped.
 */
int tw_replay_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    const tw_replay_conf_t *rc = settings();

    if (rc->tuned_by != NULL && rc->spec == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0708: %s is set but TwWebhookReplayCache is not: "
                     "no replay protection is active", rc->tuned_by);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc->spec != NULL && rc->net != NULL && rc->lease <= rc->timeout) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0718: TwWebhookReplayLease (%" APR_TIME_T_FMT " s) must be longer than "
                     "TwWebhookReplayCacheTimeout (%" APR_TIME_T_FMT " ms): a renewal that "
                     "takes its time would find its claim gone", apr_time_sec(rc->lease),
                     apr_time_as_msec(rc->timeout));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/*
 * The socache instance for this configuration: the one kept from the last
 * generation when the TwWebhookReplayCache line is the same, else a new one
 * (and the old one goes). Nothing calls provider->destroy: shmcb's shared
 * memory and the mutex go with the pool they were made on, and dbm's
 * destroy would delete the files that are meant to outlive httpd.
 */
static int attach_socache(apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = {
        .avg_id_len = TW_MAC_LEN, .avg_obj_size = 80,   /* a claim, tw/lease.h */
        .expiry_interval = apr_time_from_sec(30),
    };
    apr_pool_t *process_pool = s->process->pool;
    replay_kept_t *kept = NULL;
    apr_pool_t *pool = NULL;
    const char *err;
    apr_status_t rv;
    void *data = NULL;
    const char *kept_key = tw_kept_key(ptemp, TW_REPLAY_KEPT_KEY, sizeof(replay_kept_t));

    apr_pool_userdata_get(&data, kept_key, process_pool);
    kept = data;
    if (kept != NULL && replay.provider != NULL && strcmp(kept->spec, settings()->spec) == 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     "TWW0709: replay cache (%s) kept across the restart", settings()->engine);
        replay.kept = kept;
        replay.mutex = kept->mutex;
        return OK;
    }
    if (kept != NULL) {
        /* old children may still use it: its shared memory lives on in
         * them, as on every restart before this cache was kept */
        apr_pool_userdata_set(NULL, kept_key, apr_pool_cleanup_null, process_pool);
        apr_pool_destroy(kept->pool);
    }
    if (replay.provider == NULL)
        return OK;   /* no cache, or memcache/redis: made per child */

    rv = apr_pool_create(&pool, process_pool);
    if (rv != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    apr_pool_tag(pool, "twwebhook-replay");
    kept = apr_pcalloc(pool, sizeof(*kept));
    kept->spec = apr_pstrdup(pool, settings()->spec);
    kept->pool = pool;
    err = replay.provider->create(&kept->instance, settings()->engine_args, ptemp, pool);
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "TWW0712: cannot create the replay cache (%s): %s", settings()->engine, err);
        apr_pool_destroy(pool);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = ap_global_mutex_create(&kept->mutex, NULL, TW_REPLAY_MUTEX_TYPE, NULL, s, pool, 0);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return HTTP_INTERNAL_SERVER_ERROR;   /* ap_global_mutex_create logged why */
    }
    rv = replay.provider->init(kept->instance, TW_REPLAY_CACHE_NAME, &hints, s, pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0706: cannot initialise the replay cache (%s)", settings()->engine);
        apr_pool_destroy(pool);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_userdata_set(kept, kept_key, apr_pool_cleanup_null, process_pool);
    replay.kept = kept;
    replay.mutex = kept->mutex;
    return OK;
}

int tw_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    const tw_replay_conf_t *rc = settings();

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;   /* the dry run before the real start */
    /* The directive checked that a socache engine exists; this
     * generation's lookup is the one that is loaded now. */
    if (rc->spec != NULL && rc->net == NULL) {
        replay.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, rc->engine,
                                             AP_SOCACHE_PROVIDER_VERSION);
        replay.miss_is_egeneral = strcmp(rc->engine, "dbm") == 0;
    }
    return attach_socache(ptemp, s);
}

void tw_replay_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (settings()->spec == NULL)
        return;
    replay.server = s;
    tw_lease_node(replay.node);
    if (settings()->net != NULL) {
        tw_net_set_timeout(settings()->net, settings()->timeout);
        tw_net_child_init(settings()->net, p, s);   /* logs its own failure */
    }
    else if (replay.mutex != NULL) {
        rv = apr_global_mutex_child_init(&replay.mutex,
                                         apr_global_mutex_lockfile(replay.mutex), p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "TWW0707: cannot attach to the replay cache mutex in this child");
            replay.mutex = NULL;
        }
    }
    /* once the engine is attached: the renewer uses it from its first round */
    renewer_start(p, s);   /* logs its own failure; claims then only expire */
}
