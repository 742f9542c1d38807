/*
 * SPDX-License-Identifier: Apache-2.0
 * replay_net.c - the replay cache's fleet engines: one memcached (or a
 * list) or one redis-server shared by several httpds. Three atomic
 * operations on one key, and nothing else (httpd's socache API has none of
 * them):
 *
 *   claim    store a value where the key is absent, else say what is there
 *   swap     replace the value only where it is still the one expected
 *   release  delete the value only where it is still the one expected
 *
 *   redis     one Lua script each (EVAL: atomic on the server), through
 *             hiredis
 *   memcache  add / gets + cas, through libmemcached; memcached cannot
 *             delete only if unchanged, so release swaps in the "R"
 *             tombstone (tw/lease.h), which a claim takes as free
 *
 * Every operation ends by its deadline, whatever the engine does (frozen,
 * filtered, half-open): each command is given only the time left, a
 * connection that timed out is dropped and not retried (another would
 * wait just as long), and only connections closed under us (an engine
 * restart) are tried again while time is left.
 *
 * Each child makes its own clients in child_init: an apr_reslist of
 * hiredis contexts or of libmemcached clones, one per thread at work plus
 * one for the lease renewer.
 *
 * Keys are "twwebhook-rc:" and the 32-byte replay key in lowercase hex;
 * values are tw/lease.h's. The key is a SHA-256 the core derived; neither
 * it nor a value says anything secret, and neither is logged here.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"

#include "apr_reslist.h"
#include "apr_strings.h"

#include <errno.h>
#include <stdlib.h>
#include <hiredis/hiredis.h>
#include <libmemcached/memcached.h>

#include "glue/glue.h"
#include "glue/replay_net.h"

APLOG_USE_MODULE(twwebhook);

#define TW_NET_KEY_PREFIX        "twwebhook-rc:"
#define TW_NET_KEY_LEN           (sizeof(TW_NET_KEY_PREFIX) - 1 + 2 * TW_MAC_LEN)
#define TW_NET_MEMCACHE_PORT     11211
#define TW_NET_REDIS_PORT        6379
#define TW_NET_MEMCACHE_MAX_TTL  2592000     /* beyond: memcached reads an absolute time */
#define TW_NET_TOMBSTONE_TTL     apr_time_from_sec(1)
/* An idle pooled connection older than this is closed, not reused. */
#define TW_NET_CONN_TTL          apr_time_from_sec(30)

typedef enum { ENGINE_MEMCACHE, ENGINE_REDIS } engine_t;

typedef struct {
    const char *host;
    apr_port_t port;
} server_t;

struct tw_net {
    engine_t engine;
    const char *name;                /* "memcache" or "redis", for log lines */
    apr_array_header_t *servers;     /* server_t, in the configured order */
    apr_interval_time_t timeout;     /* per operation (TwWebhookReplayCacheTimeout) */
    /* this child's clients (child_init) */
    apr_reslist_t *clients;
    memcached_st *mc_master;         /* what each memcached client is cloned from */
};

/* A pooled redis connection; "used" once it has answered a command. */
typedef struct {
    redisContext *c;
    int used;
} redis_conn_t;

const char *tw_net_create(tw_net_t **pnet, const char *engine, const char *args,
                          apr_pool_t *p)
{
    tw_net_t *net = apr_pcalloc(p, sizeof(*net));
    char *list, *item, *state = NULL;

    if (strcmp(engine, "memcache") == 0)
        net->engine = ENGINE_MEMCACHE;
    else if (strcmp(engine, "redis") == 0)
        net->engine = ENGINE_REDIS;
    else
        return apr_psprintf(p, "'%s' is no fleet engine", engine);
    net->name = net->engine == ENGINE_MEMCACHE ? "memcache" : "redis";
    net->timeout = apr_time_from_sec(2);
    if (args == NULL || *args == '\0')
        return apr_psprintf(p, "%s needs a server: %s:host:port", net->name, net->name);
    net->servers = apr_array_make(p, 2, sizeof(server_t));
    list = apr_pstrdup(p, args);
    for (item = apr_strtok(list, ",", &state); item != NULL; item = apr_strtok(NULL, ",", &state)) {
        server_t *srv = apr_array_push(net->servers);
        char *host, *scope;
        apr_port_t port = 0;

        if (apr_parse_addr_port(&host, &scope, &port, item, p) != APR_SUCCESS
            || host == NULL || scope != NULL)
            return apr_psprintf(p, "'%s' is not host:port", item);
        srv->host = host;
        srv->port = port ? port
                  : net->engine == ENGINE_MEMCACHE ? TW_NET_MEMCACHE_PORT : TW_NET_REDIS_PORT;
    }
    if (net->servers->nelts == 0)
        return apr_psprintf(p, "%s needs a server: %s:host:port", net->name, net->name);
    if (net->engine == ENGINE_REDIS && net->servers->nelts > 1)
        return "redis takes one server (host:port); a list would split the keys "
               "between servers that cannot see each other's claims";
    *pnet = net;
    return NULL;
}

void tw_net_set_timeout(tw_net_t *net, apr_interval_time_t timeout)
{
    net->timeout = timeout;
}

const char *tw_net_name(const tw_net_t *net)
{
    return net->name;
}

/* The time left before deadline, in whole milliseconds (at least 1 while any is left). */
static long ms_left(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    if (left <= 0)
        return 0;
    return left < 1000 ? 1 : (long)apr_time_as_msec(left);
}

static void make_key(char out[TW_NET_KEY_LEN + 1], const unsigned char key[TW_MAC_LEN])
{
    memcpy(out, TW_NET_KEY_PREFIX, sizeof(TW_NET_KEY_PREFIX) - 1);
    ap_bin2hex(key, TW_MAC_LEN, out + sizeof(TW_NET_KEY_PREFIX) - 1);   /* NUL-terminates */
}

static void set_value(tw_net_value_t *v, const char *data, size_t len)
{
    v->len = len > TW_LEASE_VALUE_MAX ? TW_LEASE_VALUE_MAX : len;
    memcpy(v->data, data, v->len);
    v->data[v->len] = '\0';
}

/* ---- redis ------------------------------------------------------------------- */

/* KEYS[1] key; ARGV: value, ttl in ms. 1 when stored, else what is there. */
static const char redis_claim_script[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end "
    "return redis.call('GET', KEYS[1])";
/* ARGV: expected, value, ttl in ms. 1 when swapped, 0 when the key held another value. */
static const char redis_swap_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
/* ARGV: expected. 1 when deleted, 0 when the key held another value. */
static const char redis_release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end "
    "return 0";

static apr_status_t redis_error_status(const redisContext *c)
{
    if (c->err == REDIS_ERR_EOF)
        return APR_EOF;
    if (c->err == REDIS_ERR_IO && errno != 0)
        return APR_FROM_OS_ERROR(errno);
    return APR_EGENERAL;
}

static int is_timeout(apr_status_t rv)
{
    return APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv) || rv == APR_ETIMEDOUT;
}

static apr_status_t redis_connect(void **resource, void *params, apr_pool_t *pool)
{
    const tw_net_t *net = params;
    const server_t *srv = &APR_ARRAY_IDX(net->servers, 0, server_t);
    /* half the operation's time: the command itself gets what is left */
    struct timeval connect_tv = { .tv_sec = (time_t)apr_time_sec(net->timeout / 2),
                                  .tv_usec = (suseconds_t)apr_time_usec(net->timeout / 2) };
    redis_conn_t *conn;
    redisContext *c;
    apr_status_t rv;

    errno = 0;
    c = redisConnectWithTimeout(srv->host, srv->port, connect_tv);
    if (c == NULL)
        return APR_ENOMEM;
    if (c->err != 0) {
        rv = redis_error_status(c);
        redisFree(c);
        return rv;
    }
    /* malloc, not the list's pool: that pool lives as long as the child,
     * and a connection may be made again after every outage */
    conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        redisFree(c);
        return APR_ENOMEM;
    }
    conn->c = c;
    *resource = conn;
    return APR_SUCCESS;
}

static apr_status_t redis_disconnect(void *resource, void *params, apr_pool_t *pool)
{
    redis_conn_t *conn = resource;

    redisFree(conn->c);
    free(conn);
    return APR_SUCCESS;
}

/*
 * One command, by the deadline; *preply is the reply (free it) unless an
 * error is returned. Pooled connections may all have been closed by an
 * engine restart meanwhile: one that fails with the connection closed is
 * dropped and the command sent on the next, while time is left. One that
 * times out, or a fresh one that fails, ends it: the engine is at fault.
 * (A command that did reach the engine but lost its reply is harmless:
 * a claim then finds its own value, held by a live process, and answers
 * 409; the lease frees it.)
 */
static apr_status_t redis_command(tw_net_t *net, apr_pool_t *p, apr_time_t deadline,
                                  redisReply **preply, const char **detail,
                                  int argc, const char **argv, const size_t *argvlen)
{
    apr_status_t rv = APR_TIMEUP;

    *detail = "no time left";
    for (;;) {
        struct timeval tv;
        redis_conn_t *conn;
        redisReply *reply;
        void *res;
        long left;
        int was_used;

        if (ms_left(deadline) == 0)
            return rv;
        rv = apr_reslist_acquire(net->clients, &res);
        if (rv != APR_SUCCESS) {
            *detail = "cannot connect";
            return rv;
        }
        conn = res;
        /* what is left after waiting for (or making) the connection */
        if ((left = ms_left(deadline)) == 0) {
            apr_reslist_release(net->clients, conn);
            *detail = "no time left";
            return APR_TIMEUP;
        }
        tv.tv_sec = left / 1000;
        tv.tv_usec = (left % 1000) * 1000;
        errno = 0;
        reply = redisSetTimeout(conn->c, tv) == REDIS_OK
              ? redisCommandArgv(conn->c, argc, argv, argvlen) : NULL;
        if (reply != NULL) {
            conn->used = 1;
            apr_reslist_release(net->clients, conn);
            if (reply->type == REDIS_REPLY_ERROR) {
                *detail = apr_pstrmemdup(p, reply->str, reply->len);
                freeReplyObject(reply);
                return APR_EGENERAL;
            }
            *preply = reply;
            return APR_SUCCESS;
        }
        rv = redis_error_status(conn->c);
        *detail = apr_pstrdup(p, conn->c->errstr[0] ? conn->c->errstr : "no reply");
        was_used = conn->used;
        apr_reslist_invalidate(net->clients, conn);
        if (!was_used || is_timeout(rv))
            return rv;
    }
}

/* EVAL script 1 key argv...: the reply, or an error. */
static apr_status_t redis_eval(tw_net_t *net, apr_pool_t *p, apr_time_t deadline,
                               const char *script, const char *key, int nargs,
                               const char *const *args, const size_t *arglens,
                               redisReply **preply, const char **detail)
{
    const char *argv[4 + 3];
    size_t argvlen[4 + 3];
    int i;

    argv[0] = "EVAL";       argvlen[0] = 4;
    argv[1] = script;       argvlen[1] = strlen(script);
    argv[2] = "1";          argvlen[2] = 1;
    argv[3] = key;          argvlen[3] = TW_NET_KEY_LEN;
    for (i = 0; i < nargs && i < 3; i++) {
        argv[4 + i] = args[i];
        argvlen[4 + i] = arglens[i];
    }
    return redis_command(net, p, deadline, preply, detail, 4 + i, argv, argvlen);
}

static apr_status_t redis_claim(tw_net_t *net, apr_pool_t *p, const char *key,
                                const char *value, apr_size_t len, apr_interval_time_t ttl,
                                apr_time_t deadline, tw_net_value_t *current, const char **detail)
{
    const char *ms = apr_ltoa(p, (long)apr_time_as_msec(ttl));
    const char *args[] = { value, ms };
    size_t lens[] = { len, strlen(ms) };
    redisReply *reply = NULL;
    apr_status_t rv = redis_eval(net, p, deadline, redis_claim_script, key, 2, args, lens,
                                 &reply, detail);

    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        rv = APR_SUCCESS;
    else if (reply->type == REDIS_REPLY_STRING) {
        set_value(current, reply->str, reply->len);
        rv = APR_EEXIST;
    }
    else {
        *detail = "unexpected reply to the claim";
        rv = APR_EGENERAL;
    }
    freeReplyObject(reply);
    return rv;
}

/* A script that answers 1 (done) or 0 (the key held another value). */
static apr_status_t redis_compare(tw_net_t *net, apr_pool_t *p, const char *script,
                                  const char *key, int nargs, const char *const *args,
                                  const size_t *lens, apr_time_t deadline, const char **detail)
{
    redisReply *reply = NULL;
    apr_status_t rv = redis_eval(net, p, deadline, script, key, nargs, args, lens, &reply, detail);

    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type == REDIS_REPLY_INTEGER)
        rv = reply->integer == 1 ? APR_SUCCESS : TW_NET_CHANGED;
    else {
        *detail = "unexpected reply";
        rv = APR_EGENERAL;
    }
    freeReplyObject(reply);
    return rv;
}

/* ---- memcached ------------------------------------------------------------------ */

/* memcached counts whole seconds on a coarse clock: one more, so that an
 * entry lasts at least as long as asked; never past 30 days. */
static time_t memcache_ttl(apr_interval_time_t ttl)
{
    apr_int64_t secs = apr_time_sec(ttl) + 1;

    return (time_t)(secs > TW_NET_MEMCACHE_MAX_TTL ? TW_NET_MEMCACHE_MAX_TTL : secs);
}

static apr_status_t memcache_make(void **resource, void *params, apr_pool_t *pool)
{
    tw_net_t *net = params;
    memcached_st *mc = memcached_clone(NULL, net->mc_master);

    if (mc == NULL)
        return APR_ENOMEM;
    *resource = mc;
    return APR_SUCCESS;
}

static apr_status_t memcache_free(void *resource, void *params, apr_pool_t *pool)
{
    memcached_free(resource);
    return APR_SUCCESS;
}

static apr_status_t memcache_status(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_STORED:
        return APR_SUCCESS;
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
        return APR_EEXIST;
    case MEMCACHED_NOTFOUND:
        return APR_NOTFOUND;
    case MEMCACHED_TIMEOUT:
        return APR_TIMEUP;
    default:
        return APR_EGENERAL;
    }
}

/*
 * Gives this client only the time left: libmemcached reads both settings
 * on every connect and every poll, so a frozen engine costs the deadline.
 */
static apr_status_t memcache_budget(memcached_st *mc, apr_time_t deadline, const char **detail)
{
    long left = ms_left(deadline);

    if (left == 0) {
        *detail = "no time left";
        return APR_TIMEUP;
    }
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)left);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)left);
    return APR_SUCCESS;
}

/* What key holds, with its cas version: APR_SUCCESS or APR_NOTFOUND. */
static apr_status_t memcache_gets(memcached_st *mc, apr_pool_t *p, const char *key,
                                  apr_time_t deadline, tw_net_value_t *value, uint64_t *cas,
                                  const char **detail)
{
    const char *keys[] = { key };
    size_t lens[] = { TW_NET_KEY_LEN };
    memcached_result_st *res;
    memcached_return_t rc;
    apr_status_t rv;

    if ((rv = memcache_budget(mc, deadline, detail)) != APR_SUCCESS)
        return rv;
    rc = memcached_mget(mc, keys, lens, 1);
    if (rc != MEMCACHED_SUCCESS) {
        *detail = apr_pstrdup(p, memcached_last_error_message(mc));
        return memcache_status(rc);
    }
    res = memcached_fetch_result(mc, NULL, &rc);
    if (res == NULL) {
        if (rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND)
            return APR_NOTFOUND;
        *detail = apr_pstrdup(p, memcached_last_error_message(mc));
        return memcache_status(rc);
    }
    set_value(value, memcached_result_value(res), memcached_result_length(res));
    *cas = memcached_result_cas(res);
    memcached_result_free(res);
    /* read the end of the answer, so the next command starts clean */
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL)
        memcached_result_free(res);
    return APR_SUCCESS;
}

static apr_status_t memcache_claim(memcached_st *mc, apr_pool_t *p, const char *key,
                                   const char *value, apr_size_t len, apr_interval_time_t ttl,
                                   apr_time_t deadline, tw_net_value_t *current,
                                   const char **detail)
{
    uint64_t cas;
    apr_status_t rv;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        memcached_return_t rc;

        if ((rv = memcache_budget(mc, deadline, detail)) != APR_SUCCESS)
            return rv;
        rc = memcached_add(mc, key, TW_NET_KEY_LEN, value, len, memcache_ttl(ttl), 0);
        rv = memcache_status(rc);
        if (rv != APR_EEXIST) {
            if (rv != APR_SUCCESS)
                *detail = apr_pstrdup(p, memcached_last_error_message(mc));
            return rv;
        }
        rv = memcache_gets(mc, p, key, deadline, current, &cas, detail);
        if (rv != APR_NOTFOUND)
            return rv == APR_SUCCESS ? APR_EEXIST : rv;
        /* gone between the two (expired): add again, once */
    }
    *detail = "the key came and went twice";
    return APR_EGENERAL;
}

static apr_status_t memcache_swap(memcached_st *mc, apr_pool_t *p, const char *key,
                                  const char *expected, apr_size_t elen, const char *value,
                                  apr_size_t len, apr_interval_time_t ttl, apr_time_t deadline,
                                  const char **detail)
{
    tw_net_value_t current;
    memcached_return_t rc;
    uint64_t cas = 0;
    apr_status_t rv = memcache_gets(mc, p, key, deadline, &current, &cas, detail);

    if (rv == APR_NOTFOUND)
        return TW_NET_CHANGED;
    if (rv != APR_SUCCESS)
        return rv;
    if (current.len != elen || memcmp(current.data, expected, elen) != 0)
        return TW_NET_CHANGED;
    if ((rv = memcache_budget(mc, deadline, detail)) != APR_SUCCESS)
        return rv;
    rc = memcached_cas(mc, key, TW_NET_KEY_LEN, value, len, memcache_ttl(ttl), 0, cas);
    rv = memcache_status(rc);
    if (rv == APR_EEXIST || rv == APR_NOTFOUND)
        return TW_NET_CHANGED;   /* changed or gone since the gets */
    if (rv != APR_SUCCESS)
        *detail = apr_pstrdup(p, memcached_last_error_message(mc));
    return rv;
}

/* ---- the three operations ---------------------------------------------------------- */

/* This child's memcached client for one operation, or an error. */
static apr_status_t memcache_acquire(tw_net_t *net, memcached_st **pmc, const char **detail)
{
    void *res = NULL;
    apr_status_t rv = apr_reslist_acquire(net->clients, &res);

    if (rv != APR_SUCCESS)
        *detail = "no memcache client free";
    *pmc = res;
    return rv;
}

apr_status_t tw_net_claim(tw_net_t *net, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                          const char *value, apr_size_t len, apr_interval_time_t ttl,
                          apr_time_t deadline, tw_net_value_t *current, const char **detail)
{
    char k[TW_NET_KEY_LEN + 1];
    memcached_st *mc;
    apr_status_t rv;

    *detail = NULL;
    make_key(k, key);
    if (net->engine == ENGINE_REDIS)
        return redis_claim(net, p, k, value, len, ttl, deadline, current, detail);
    if ((rv = memcache_acquire(net, &mc, detail)) != APR_SUCCESS)
        return rv;
    rv = memcache_claim(mc, p, k, value, len, ttl, deadline, current, detail);
    apr_reslist_release(net->clients, mc);
    return rv;
}

apr_status_t tw_net_swap(tw_net_t *net, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                         const char *expected, apr_size_t elen, const char *value,
                         apr_size_t len, apr_interval_time_t ttl, apr_time_t deadline,
                         const char **detail)
{
    char k[TW_NET_KEY_LEN + 1];
    memcached_st *mc;
    apr_status_t rv;

    *detail = NULL;
    make_key(k, key);
    if (net->engine == ENGINE_REDIS) {
        const char *ms = apr_ltoa(p, (long)apr_time_as_msec(ttl));
        const char *args[] = { expected, value, ms };
        size_t lens[] = { elen, len, strlen(ms) };

        return redis_compare(net, p, redis_swap_script, k, 3, args, lens, deadline, detail);
    }
    if ((rv = memcache_acquire(net, &mc, detail)) != APR_SUCCESS)
        return rv;
    rv = memcache_swap(mc, p, k, expected, elen, value, len, ttl, deadline, detail);
    apr_reslist_release(net->clients, mc);
    return rv;
}

apr_status_t tw_net_release(tw_net_t *net, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                            const char *expected, apr_size_t elen, apr_time_t deadline,
                            const char **detail)
{
    char k[TW_NET_KEY_LEN + 1];
    memcached_st *mc;
    apr_status_t rv;

    *detail = NULL;
    make_key(k, key);
    if (net->engine == ENGINE_REDIS) {
        const char *args[] = { expected };
        size_t lens[] = { elen };

        return redis_compare(net, p, redis_release_script, k, 1, args, lens, deadline, detail);
    }
    if ((rv = memcache_acquire(net, &mc, detail)) != APR_SUCCESS)
        return rv;
    rv = memcache_swap(mc, p, k, expected, elen, TW_LEASE_RELEASED_VALUE,
                       sizeof(TW_LEASE_RELEASED_VALUE) - 1, TW_NET_TOMBSTONE_TTL, deadline,
                       detail);
    apr_reslist_release(net->clients, mc);
    return rv;
}

/* ---- per child --------------------------------------------------------------- */

static apr_status_t memcache_master_free(void *mc)
{
    memcached_free(mc);
    return APR_SUCCESS;
}

static apr_status_t memcache_master(tw_net_t *net, apr_pool_t *pchild)
{
    int i;

    net->mc_master = memcached_create(NULL);
    if (net->mc_master == NULL)
        return APR_ENOMEM;
    for (i = 0; i < net->servers->nelts; i++) {
        const server_t *srv = &APR_ARRAY_IDX(net->servers, i, server_t);

        if (memcached_server_add(net->mc_master, srv->host, srv->port) != MEMCACHED_SUCCESS)
            return APR_EGENERAL;
    }
    memcached_behavior_set(net->mc_master, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_behavior_set(net->mc_master, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    /* Consistent hashing: every server of the fleet maps a key to the
     * same memcached. No automatic ejection of a failed memcached: a
     * client that rehashed alone would claim on another memcached than
     * its peers, and both copies would run. */
    memcached_behavior_set(net->mc_master, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                           MEMCACHED_DISTRIBUTION_CONSISTENT);
    memcached_behavior_set(net->mc_master, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0);
    apr_pool_cleanup_register(pchild, net->mc_master, memcache_master_free,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t tw_net_child_init(tw_net_t *net, apr_pool_t *pchild, server_rec *s)
{
    int threads = 1;
    apr_status_t rv = APR_SUCCESS;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    threads++;   /* the lease renewer's */
    if (net->engine == ENGINE_MEMCACHE)
        rv = memcache_master(net, pchild);
    if (rv == APR_SUCCESS)
        rv = apr_reslist_create(&net->clients, 0, threads, threads, TW_NET_CONN_TTL,
                                net->engine == ENGINE_REDIS ? redis_connect : memcache_make,
                                net->engine == ENGINE_REDIS ? redis_disconnect : memcache_free,
                                net, pchild);
    if (rv == APR_SUCCESS)
        apr_reslist_timeout_set(net->clients, net->timeout);
    else {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0710: cannot make this child's %s clients", net->name);
        net->clients = NULL;
    }
    return rv;
}

int tw_net_ready(const tw_net_t *net)
{
    return net->clients != NULL;
}
