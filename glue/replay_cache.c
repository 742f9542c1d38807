/*
 * replay_cache.c - "this body was already handled": replay and duplicate
 * protection, on one of httpd's socache providers (shmcb or dbm for one
 * server) or on a memcached or redis-server shared by a fleet
 * (glue/replay_net.c).
 *
 * The key is derived from the verified MAC of the body (tw_replay_key),
 * never from the unsigned Delivery header, so resending a captured body
 * under a fresh Delivery value is still a duplicate. A key moves through
 * two states:
 *
 *   absent --reserve--> PENDING --settle(2xx)--> DONE (for the window)
 *                          \----settle(other)--> absent (retries go through)
 *
 * PENDING expires on its own after TW_REPLAY_PENDING_TTL, so a child that
 * dies mid-request does not block a delivery for longer than that.
 *
 * Who makes check-and-reserve atomic:
 *   socache (shmcb, dbm)   a global mutex around retrieve and store: atomic
 *                          among the processes of one server, which is all
 *                          that shares such a cache;
 *   memcache, redis        the engine's own "add if absent" (memcached add,
 *                          SET NX): atomic across every server of a fleet.
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

#include "glue.h"

APLOG_USE_MODULE(twwebhook);

#define TW_REPLAY_MUTEX_TYPE     "twwebhook-replay"
#define TW_REPLAY_CACHE_NAME     "twwebhook-rc"     /* socache cname, <= 16 chars */
#define TW_REPLAY_KEPT_KEY       "twwebhook-replay-cache"   /* process pool userdata */
#define TW_REPLAY_DEFAULT_WINDOW apr_time_from_sec(3600)
#define TW_REPLAY_PENDING_TTL    apr_time_from_sec(300)
#define TW_REPLAY_STATE_PENDING  'P'
#define TW_REPLAY_STATE_DONE     'D'

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
 * Server-wide state. The directives fill it while the parent reads the
 * configuration, pre_config clears it before every (re)read, post_config
 * attaches the cache, and the children only read it (but for their own
 * clients and mutex handle, made in child_init).
 */
static struct {
    const char *spec;                        /* TwWebhookReplayCache; NULL: none */
    const char *engine;                      /* "shmcb", "dbm", "memcache", ... */
    const ap_socache_provider_t *provider;   /* a socache engine, or ... */
    const char *provider_args;
    int miss_is_egeneral;                    /* dbm: see reserve_socache */
    tw_net_t *net;                           /* ... memcache or redis */
    replay_kept_t *kept;                     /* the socache instance at work */
    apr_global_mutex_t *mutex;               /* kept->mutex, attached in this child */
    apr_interval_time_t window;
    int fail_open;
    const char *tuned_by;      /* a Window/Failure directive, for check_config */
} replay;

static void replay_reset(void)
{
    replay.spec = NULL;
    replay.engine = NULL;
    replay.provider = NULL;
    replay.provider_args = NULL;
    replay.miss_is_egeneral = 0;
    replay.net = NULL;
    replay.kept = NULL;
    replay.mutex = NULL;
    replay.window = TW_REPLAY_DEFAULT_WINDOW;
    replay.fail_open = 1;
    replay.tuned_by = NULL;
}

/* TwWebhookReplayCache <provider>[:<args>] */
const char *tw_replay_cmd_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep, *name, *args = NULL;
    ap_socache_instance_t *probe = NULL;

    if (err != NULL)
        return err;
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(sep - arg)) : apr_pstrdup(cmd->pool, arg);
    if (sep != NULL)
        args = apr_pstrdup(cmd->pool, sep + 1);
    replay.spec = apr_pstrdup(cmd->pool, arg);
    replay.engine = name;
    replay.provider = NULL;
    replay.provider_args = args;
    replay.miss_is_egeneral = strcmp(name, "dbm") == 0;
    replay.net = NULL;
    if (strcmp(name, "memcache") == 0 || strcmp(name, "redis") == 0) {
        err = tw_net_create(&replay.net, name, args, cmd->pool);
        return err ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err) : NULL;
    }
    replay.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (replay.provider == NULL)
        return apr_psprintf(cmd->pool,
                            "%s: unknown cache provider '%s' (is mod_socache_%s loaded?)",
                            cmd->cmd->name, name, name);
    /* Only to check the arguments here, where the message gets the file and
     * line: the instance that serves is made (or kept) in post_config. */
    err = replay.provider->create(&probe, args, cmd->temp_pool, cmd->temp_pool);
    if (err != NULL)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    return NULL;
}

/* TwWebhookReplayWindow <seconds> */
const char *tw_replay_cmd_window(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_off_t secs;
    char *end;

    if (err != NULL)
        return err;
    if (apr_strtoff(&secs, arg, &end, 10) != APR_SUCCESS || end == arg || *end != '\0'
        || secs < 1 || secs > 30L * 24 * 3600)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "from 1 to 2592000 (30 days)", cmd->cmd->name, arg);
    replay.window = apr_time_from_sec(secs);
    replay.tuned_by = cmd->cmd->name;
    return NULL;
}

/* TwWebhookReplayCacheFailure open|closed */
const char *tw_replay_cmd_failure(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err != NULL)
        return err;
    if (strcasecmp(arg, "open") == 0)
        replay.fail_open = 1;
    else if (strcasecmp(arg, "closed") == 0)
        replay.fail_open = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is neither 'open' nor 'closed'",
                            cmd->cmd->name, arg);
    replay.tuned_by = cmd->cmd->name;
    return NULL;
}

int tw_replay_configured(void)
{
    return replay.spec != NULL;
}

apr_interval_time_t tw_replay_window(void)
{
    return replay.window;
}

int tw_replay_fails_open(void)
{
    return replay.fail_open;
}

static void log_unavailable(request_rec *r, apr_status_t rv, const char *detail)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "TWW0703: replay cache unavailable (%s); failing %s%s%s",
                  replay.engine, replay.fail_open ? "open" : "closed",
                  detail ? ": " : "", detail ? detail : "");
}

static void log_not_recorded(request_rec *r, apr_status_t rv, const char *detail)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "TWW0704: cannot record the delivery in the replay cache (%s)%s%s",
                  replay.engine, detail ? ": " : "", detail ? detail : "");
}

/* ---- memcache, redis: the engine's atomic add ---------------------------- */

static tw_replay_verdict_t reserve_net(request_rec *r, const unsigned char key[TW_MAC_LEN])
{
    const char *detail = NULL;
    unsigned char state = 0;
    apr_status_t rv = APR_EGENERAL;
    int attempt;

    if (!tw_net_ready(replay.net)) {
        log_unavailable(r, rv, "no client in this child (see TWW0710/TWW0711)");
        return TW_REPLAY_UNAVAILABLE;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        rv = tw_net_add(replay.net, r, key, TW_REPLAY_STATE_PENDING, TW_REPLAY_PENDING_TTL,
                        &detail);
        if (rv == APR_SUCCESS)
            return TW_REPLAY_FIRST;
        if (rv != APR_EEXIST)
            break;
        rv = tw_net_get(replay.net, r, key, &state, &detail);
        if (rv == APR_SUCCESS)
            return state == TW_REPLAY_STATE_DONE ? TW_REPLAY_DUPLICATE : TW_REPLAY_IN_FLIGHT;
        if (rv != APR_NOTFOUND)
            break;
        /* released or expired between the two: claim again, once */
    }
    if (rv == APR_NOTFOUND)
        return TW_REPLAY_IN_FLIGHT;   /* came and went twice: someone is at it */
    log_unavailable(r, rv, detail);
    return TW_REPLAY_UNAVAILABLE;
}

static void settle_net(request_rec *r, const unsigned char key[TW_MAC_LEN], int handled)
{
    const char *detail = NULL;
    apr_status_t rv;

    if (!tw_net_ready(replay.net))
        return;   /* reserve_net said so already */
    if (handled)
        rv = tw_net_set(replay.net, r, key, TW_REPLAY_STATE_DONE, replay.window, &detail);
    else
        rv = tw_net_remove(replay.net, r, key, &detail);
    if (rv != APR_SUCCESS && !(rv == APR_NOTFOUND && !handled))
        log_not_recorded(r, rv, detail);
}

/* ---- socache: check and store under the global mutex ------------------------ */

static apr_status_t replay_lock(request_rec *r)
{
    apr_status_t rv = apr_global_mutex_lock(replay.mutex);

    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "TWW0701: cannot lock the replay cache mutex");
    return rv;
}

static void replay_unlock(request_rec *r)
{
    apr_status_t rv = apr_global_mutex_unlock(replay.mutex);

    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "TWW0702: cannot unlock the replay cache mutex");
}

static apr_status_t replay_store(request_rec *r, const unsigned char key[TW_MAC_LEN],
                                 unsigned char state, apr_interval_time_t ttl)
{
    /* One second more than asked: socache providers that count whole
     * seconds round the time left down. */
    return replay.provider->store(replay.kept->instance, r->server, key, TW_MAC_LEN,
                                  apr_time_now() + ttl + apr_time_from_sec(1),
                                  &state, 1, r->pool);
}

static tw_replay_verdict_t reserve_socache(request_rec *r, const unsigned char key[TW_MAC_LEN])
{
    unsigned char state = 0;
    unsigned int len = 1;
    tw_replay_verdict_t verdict;
    apr_status_t rv;

    if (replay_lock(r) != APR_SUCCESS)
        return TW_REPLAY_UNAVAILABLE;
    rv = replay.provider->retrieve(replay.kept->instance, r->server, key, TW_MAC_LEN,
                                   &state, &len, r->pool);
    /* mod_socache_dbm answers APR_EGENERAL for a key it does not have (the
     * DBM fetch "succeeds" with no data); it logs a file it cannot open
     * itself, with that error instead. */
    if (rv == APR_EGENERAL && replay.miss_is_egeneral)
        rv = APR_NOTFOUND;
    if (rv == APR_SUCCESS && len == 1)
        verdict = (state == TW_REPLAY_STATE_DONE) ? TW_REPLAY_DUPLICATE : TW_REPLAY_IN_FLIGHT;
    else if (rv == APR_NOTFOUND) {
        rv = replay_store(r, key, TW_REPLAY_STATE_PENDING, TW_REPLAY_PENDING_TTL);
        verdict = (rv == APR_SUCCESS) ? TW_REPLAY_FIRST : TW_REPLAY_UNAVAILABLE;
    }
    else
        verdict = TW_REPLAY_UNAVAILABLE;
    replay_unlock(r);

    if (verdict == TW_REPLAY_UNAVAILABLE)
        log_unavailable(r, rv, NULL);
    return verdict;
}

static void settle_socache(request_rec *r, const unsigned char key[TW_MAC_LEN], int handled)
{
    apr_status_t rv;

    if (replay_lock(r) != APR_SUCCESS)
        return;   /* the PENDING entry expires by itself */
    if (handled)
        rv = replay_store(r, key, TW_REPLAY_STATE_DONE, replay.window);
    else
        rv = replay.provider->remove(replay.kept->instance, r->server, key, TW_MAC_LEN, r->pool);
    replay_unlock(r);
    if (rv != APR_SUCCESS && !(rv == APR_NOTFOUND && !handled))
        log_not_recorded(r, rv, NULL);
}

tw_replay_verdict_t tw_replay_reserve(request_rec *r, const unsigned char key[TW_MAC_LEN])
{
    tw_replay_verdict_t verdict = replay.net != NULL ? reserve_net(r, key)
                                                     : reserve_socache(r, key);

    tw_metrics_replay(r, verdict);   /* hits, misses and errors, for every engine */
    return verdict;
}

void tw_replay_settle(request_rec *r, const unsigned char key[TW_MAC_LEN], int handled)
{
    if (replay.net != NULL)
        settle_net(r, key, handled);
    else
        settle_socache(r, key, handled);
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
    if (replay.tuned_by != NULL && replay.spec == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0708: %s is set but TwWebhookReplayCache is not: "
                     "no replay protection is active", replay.tuned_by);
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
        .avg_id_len = TW_MAC_LEN, .avg_obj_size = 1,
        .expiry_interval = apr_time_from_sec(30),
    };
    apr_pool_t *process_pool = s->process->pool;
    replay_kept_t *kept = NULL;
    apr_pool_t *pool = NULL;
    const char *err;
    apr_status_t rv;
    void *data = NULL;

    apr_pool_userdata_get(&data, TW_REPLAY_KEPT_KEY, process_pool);
    kept = data;
    if (kept != NULL && replay.provider != NULL && strcmp(kept->spec, replay.spec) == 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     "TWW0709: replay cache (%s) kept across the restart", replay.engine);
        replay.kept = kept;
        replay.mutex = kept->mutex;
        return OK;
    }
    if (kept != NULL) {
        /* old children may still use it: its shared memory lives on in
         * them, as on every restart before this cache was kept */
        apr_pool_userdata_set(NULL, TW_REPLAY_KEPT_KEY, apr_pool_cleanup_null, process_pool);
        apr_pool_destroy(kept->pool);
    }
    if (replay.provider == NULL)
        return OK;   /* no cache, or memcache/redis: made per child */

    rv = apr_pool_create(&pool, process_pool);
    if (rv != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    apr_pool_tag(pool, "twwebhook-replay");
    kept = apr_pcalloc(pool, sizeof(*kept));
    kept->spec = apr_pstrdup(pool, replay.spec);
    kept->pool = pool;
    err = replay.provider->create(&kept->instance, replay.provider_args, ptemp, pool);
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "TWW0712: cannot create the replay cache (%s): %s", replay.engine, err);
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
                     "TWW0706: cannot initialise the replay cache (%s)", replay.engine);
        apr_pool_destroy(pool);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_userdata_set(kept, TW_REPLAY_KEPT_KEY, apr_pool_cleanup_null, process_pool);
    replay.kept = kept;
    replay.mutex = kept->mutex;
    return OK;
}

int tw_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;   /* the dry run before the real start */
    return attach_socache(ptemp, s);
}

void tw_replay_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (replay.net != NULL) {
        tw_net_child_init(replay.net, p, s);   /* logs its own failure */
        return;
    }
    if (replay.mutex == NULL)
        return;
    rv = apr_global_mutex_child_init(&replay.mutex,
                                     apr_global_mutex_lockfile(replay.mutex), p);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0707: cannot attach to the replay cache mutex in this child");
}
