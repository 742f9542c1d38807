/*
 * replay_cache.c - "this body was already handled": replay and duplicate
 * protection on one of httpd's socache providers (shmcb for one server,
 * memcache or redis shared by a fleet).
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
 * Check-and-reserve runs under a global mutex, so of concurrent copies on
 * one server exactly one is reserved. Across servers sharing memcache or
 * redis there is no atomic add in the socache API: two servers receiving the
 * same body in the same instant may both deliver it (the README says so).
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
#define TW_REPLAY_DEFAULT_WINDOW apr_time_from_sec(3600)
#define TW_REPLAY_PENDING_TTL    apr_time_from_sec(300)
#define TW_REPLAY_STATE_PENDING  'P'
#define TW_REPLAY_STATE_DONE     'D'

/*
 * Server-wide state. The directives fill it while the parent reads the
 * configuration, pre_config clears it before every (re)read, and the
 * children only read it.
 */
static struct {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    apr_interval_time_t window;
    int fail_open;
    const char *tuned_by;      /* a Window/Failure directive, for check_config */
} replay;

static void replay_reset(void)
{
    replay.provider = NULL;
    replay.instance = NULL;
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

    if (err != NULL)
        return err;
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->temp_pool, arg, (apr_size_t)(sep - arg)) : arg;
    if (sep != NULL)
        args = sep + 1;
    replay.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (replay.provider == NULL)
        return apr_psprintf(cmd->pool,
                            "%s: unknown cache provider '%s' (is mod_socache_%s loaded?)",
                            cmd->cmd->name, name, name);
    err = replay.provider->create(&replay.instance, args, cmd->temp_pool, cmd->pool);
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
    return replay.provider != NULL;
}

apr_interval_time_t tw_replay_window(void)
{
    return replay.window;
}

int tw_replay_fails_open(void)
{
    return replay.fail_open;
}

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
    /* One second more than asked: mod_socache_memcache rounds the time
     * left down to whole seconds, which made every window a second short
     * and a one-second window a failed store. */
    return replay.provider->store(replay.instance, r->server, key, TW_MAC_LEN,
                                  apr_time_now() + ttl + apr_time_from_sec(1),
                                  &state, 1, r->pool);
}

tw_replay_verdict_t tw_replay_reserve(request_rec *r, const unsigned char key[TW_MAC_LEN])
{
    unsigned char state = 0;
    unsigned int len = 1;
    tw_replay_verdict_t verdict;
    apr_status_t rv;

    if (replay_lock(r) != APR_SUCCESS) {
        tw_metrics_replay(r, TW_REPLAY_UNAVAILABLE);
        return TW_REPLAY_UNAVAILABLE;
    }
    rv = replay.provider->retrieve(replay.instance, r->server, key, TW_MAC_LEN,
                                   &state, &len, r->pool);
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
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "TWW0703: replay cache unavailable (%s); failing %s",
                      replay.provider->name, replay.fail_open ? "open" : "closed");
    tw_metrics_replay(r, verdict);
    return verdict;
}

void tw_replay_settle(request_rec *r, const unsigned char key[TW_MAC_LEN], int handled)
{
    apr_status_t rv;

    if (replay_lock(r) != APR_SUCCESS)
        return;   /* the PENDING entry expires by itself */
    if (handled)
        rv = replay_store(r, key, TW_REPLAY_STATE_DONE, replay.window);
    else
        rv = replay.provider->remove(replay.instance, r->server, key, TW_MAC_LEN, r->pool);
    replay_unlock(r);
    if (rv != APR_SUCCESS && !(rv == APR_NOTFOUND && !handled))
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "TWW0704: cannot record the delivery in the replay cache (%s)",
                      replay.provider->name);
}

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
    if (replay.tuned_by != NULL && replay.provider == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0708: %s is set but TwWebhookReplayCache is not: "
                     "no replay protection is active", replay.tuned_by);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t cleanup_cache(void *s)
{
    if (replay.instance != NULL)
        replay.provider->destroy(replay.instance, s);
    replay.instance = NULL;
    return APR_SUCCESS;
}

int tw_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    struct ap_socache_hints hints = {
        .avg_id_len = TW_MAC_LEN, .avg_obj_size = 1,
        .expiry_interval = apr_time_from_sec(30),
    };
    apr_status_t rv;

    if (replay.provider == NULL
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    rv = ap_global_mutex_create(&replay.mutex, NULL, TW_REPLAY_MUTEX_TYPE, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;   /* ap_global_mutex_create logged why */
    rv = replay.provider->init(replay.instance, TW_REPLAY_CACHE_NAME, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0706: cannot initialise the replay cache (%s)", replay.provider->name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, cleanup_cache, apr_pool_cleanup_null);
    return OK;
}

void tw_replay_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (replay.mutex == NULL)
        return;
    rv = apr_global_mutex_child_init(&replay.mutex,
                                     apr_global_mutex_lockfile(replay.mutex), p);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0707: cannot attach to the replay cache mutex in this child");
}
