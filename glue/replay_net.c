/*
 * replay_net.c - the replay cache's fleet engines: one memcached or one
 * redis-server shared by several httpds, each used through its own atomic
 * "add if absent", so that of two servers receiving the same delivery at
 * the same instant exactly one claims it (httpd's socache API has no such
 * operation):
 *
 *   memcache  memcached's "add", through APR-util's apr_memcache
 *   redis     "SET key value NX PX ms", through hiredis
 *
 * Four operations on one key and nothing else: add, get, set, remove.
 * Every child process makes its own clients in child_init: apr_memcache
 * keeps a connection pool per server; for redis a resource list holds one
 * hiredis context per thread at work.
 *
 * Keys and values are the ones mod_socache_memcache and mod_socache_redis
 * stored for this module before ("twwebhook-rc:" and the 32-byte replay key
 * in lowercase hex; one state byte), so old and new servers share entries
 * during a rolling upgrade. The key is a SHA-256 the core derived from the
 * MAC; neither is ever logged here.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"

#include "apr_memcache.h"
#include "apr_reslist.h"
#include "apr_strings.h"

#include <errno.h>
#include <stdlib.h>
#include <hiredis/hiredis.h>

#include "glue.h"

APLOG_USE_MODULE(twwebhook);

#define TW_NET_KEY_PREFIX        "twwebhook-rc:"
#define TW_NET_KEY_LEN           (sizeof(TW_NET_KEY_PREFIX) - 1 + 2 * TW_MAC_LEN)
#define TW_NET_MEMCACHE_PORT     11211
#define TW_NET_REDIS_PORT        6379
/* An idle connection older than this is closed, not reused. Short, because
 * apr_memcache takes a server for dead for 5 s after any failed connection:
 * after a memcached restart, each stale pooled connection would cost 5 s. */
#define TW_NET_MEMCACHE_CONN_TTL apr_time_from_sec(2)
#define TW_NET_MEMCACHE_MAX_TTL  2592000                /* beyond: an absolute time */
#define TW_NET_REDIS_CONNECT_TIMEOUT 1                  /* seconds */
#define TW_NET_REDIS_IO_TIMEOUT      2                  /* seconds */
#define TW_NET_REDIS_MAX_ATTEMPTS    64   /* stale pooled connections dropped per command */

typedef enum { ENGINE_MEMCACHE, ENGINE_REDIS } engine_t;

typedef struct {
    const char *host;
    apr_port_t port;
} server_t;

struct tw_net {
    engine_t engine;
    const char *name;                /* "memcache" or "redis", for log lines */
    apr_array_header_t *servers;     /* server_t, in the configured order */
    /* this child's clients (child_init) */
    apr_memcache_t *mc;
    apr_reslist_t *redis;
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

const char *tw_net_name(const tw_net_t *net)
{
    return net->name;
}

/* ---- redis connections ----------------------------------------------------- */

static apr_status_t redis_error_status(const redisContext *c)
{
    if (c->err == REDIS_ERR_EOF)
        return APR_EOF;
    if (c->err == REDIS_ERR_IO && errno != 0)
        return APR_FROM_OS_ERROR(errno);
    return APR_EGENERAL;
}

static apr_status_t redis_connect(void **resource, void *params, apr_pool_t *pool)
{
    const tw_net_t *net = params;
    const server_t *srv = &APR_ARRAY_IDX(net->servers, 0, server_t);
    struct timeval connect_tv = { .tv_sec = TW_NET_REDIS_CONNECT_TIMEOUT };
    struct timeval io_tv = { .tv_sec = TW_NET_REDIS_IO_TIMEOUT };
    redis_conn_t *conn;
    redisContext *c;
    apr_status_t rv;

    errno = 0;
    c = redisConnectWithTimeout(srv->host, srv->port, connect_tv);
    if (c == NULL)
        return APR_ENOMEM;
    if (c->err != 0 || redisSetTimeout(c, io_tv) != REDIS_OK) {
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
 * One command; *preply is the reply (free it) unless an error is returned.
 * Connections that served before may all have been closed by a restart of
 * the server meanwhile: each one that fails is dropped and the command sent
 * again, until one made just now fails too (the server is down) or one
 * answers. (If a failed attempt did reach the server and only its reply
 * was lost, a claim finds its own PENDING entry: the sender gets 409 and
 * retries after the entry expires. Never a second delivery.)
 */
static apr_status_t redis_command(tw_net_t *net, request_rec *r, redisReply **preply,
                                  const char **detail, int argc, const char **argv,
                                  const size_t *argvlen)
{
    apr_status_t rv = APR_EGENERAL;
    int attempt;

    for (attempt = 0; attempt < TW_NET_REDIS_MAX_ATTEMPTS; attempt++) {
        redis_conn_t *conn;
        redisReply *reply;
        void *res;
        int was_used;

        rv = apr_reslist_acquire(net->redis, &res);
        if (rv != APR_SUCCESS) {
            *detail = "cannot connect";
            return rv;
        }
        conn = res;
        reply = redisCommandArgv(conn->c, argc, argv, argvlen);
        if (reply != NULL) {
            conn->used = 1;
            apr_reslist_release(net->redis, conn);
            if (reply->type == REDIS_REPLY_ERROR) {
                *detail = apr_pstrmemdup(r->pool, reply->str, reply->len);
                freeReplyObject(reply);
                return APR_EGENERAL;
            }
            *preply = reply;
            return APR_SUCCESS;
        }
        rv = redis_error_status(conn->c);
        *detail = apr_pstrdup(r->pool, conn->c->errstr);
        was_used = conn->used;
        apr_reslist_invalidate(net->redis, conn);
        if (!was_used)
            break;   /* a new connection failed: the server is at fault */
    }
    return rv;
}

/* ---- the four operations --------------------------------------------------- */

static void make_key(char out[TW_NET_KEY_LEN + 1], const unsigned char key[TW_MAC_LEN])
{
    memcpy(out, TW_NET_KEY_PREFIX, sizeof(TW_NET_KEY_PREFIX) - 1);
    ap_bin2hex(key, TW_MAC_LEN, out + sizeof(TW_NET_KEY_PREFIX) - 1);   /* NUL-terminates */
}

/* memcached counts whole seconds on a coarse clock: one more, so that an
 * entry lasts at least as long as asked; never past 30 days, beyond which
 * memcached reads the number as an absolute time. */
static apr_uint32_t memcache_ttl(apr_interval_time_t ttl)
{
    apr_int64_t secs = apr_time_sec(ttl) + 1;

    return (apr_uint32_t)(secs > TW_NET_MEMCACHE_MAX_TTL ? TW_NET_MEMCACHE_MAX_TTL : secs);
}

static apr_status_t redis_store(tw_net_t *net, request_rec *r, const char *key,
                                unsigned char state, apr_interval_time_t ttl, int only_new,
                                const char **detail)
{
    const char *ms = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_as_msec(ttl));
    const char *argv[] = { "SET", key, (const char *)&state, "PX", ms, "NX" };
    size_t argvlen[] = { 3, TW_NET_KEY_LEN, 1, 2, strlen(ms), 2 };
    redisReply *reply = NULL;
    apr_status_t rv;

    rv = redis_command(net, r, &reply, detail, only_new ? 6 : 5, argv, argvlen);
    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type == REDIS_REPLY_STATUS)
        rv = APR_SUCCESS;                    /* +OK */
    else if (reply->type == REDIS_REPLY_NIL && only_new)
        rv = APR_EEXIST;                     /* NX: the key is there */
    else {
        *detail = "unexpected reply to SET";
        rv = APR_EGENERAL;
    }
    freeReplyObject(reply);
    return rv;
}

/* Stores state under key for ttl; only_if_absent: the engine's atomic add. */
static apr_status_t net_store(tw_net_t *net, request_rec *r, const unsigned char key[TW_MAC_LEN],
                              unsigned char state, apr_interval_time_t ttl, int only_if_absent,
                              const char **detail)
{
    char k[TW_NET_KEY_LEN + 1];
    apr_status_t rv;

    *detail = NULL;
    make_key(k, key);
    if (net->engine == ENGINE_REDIS)
        return redis_store(net, r, k, state, ttl, only_if_absent, detail);
    rv = only_if_absent ? apr_memcache_add(net->mc, k, (char *)&state, 1, memcache_ttl(ttl), 0)
                        : apr_memcache_set(net->mc, k, (char *)&state, 1, memcache_ttl(ttl), 0);
    /* apr_memcache answers APR_NOTFOUND when it has no live server */
    return rv == APR_NOTFOUND ? APR_EGENERAL : rv;
}

apr_status_t tw_net_add(tw_net_t *net, request_rec *r, const unsigned char key[TW_MAC_LEN],
                        unsigned char state, apr_interval_time_t ttl, const char **detail)
{
    return net_store(net, r, key, state, ttl, 1, detail);
}

apr_status_t tw_net_set(tw_net_t *net, request_rec *r, const unsigned char key[TW_MAC_LEN],
                        unsigned char state, apr_interval_time_t ttl, const char **detail)
{
    return net_store(net, r, key, state, ttl, 0, detail);
}

apr_status_t tw_net_get(tw_net_t *net, request_rec *r, const unsigned char key[TW_MAC_LEN],
                        unsigned char *state, const char **detail)
{
    char k[TW_NET_KEY_LEN + 1];
    apr_status_t rv;

    *detail = NULL;
    make_key(k, key);
    if (net->engine == ENGINE_REDIS) {
        const char *argv[] = { "GET", k };
        size_t argvlen[] = { 3, TW_NET_KEY_LEN };
        redisReply *reply = NULL;

        rv = redis_command(net, r, &reply, detail, 2, argv, argvlen);
        if (rv != APR_SUCCESS)
            return rv;
        if (reply->type == REDIS_REPLY_NIL)
            rv = APR_NOTFOUND;
        else if (reply->type == REDIS_REPLY_STRING && reply->len == 1)
            *state = (unsigned char)reply->str[0];
        else {
            *detail = "unexpected value";
            rv = APR_EGENERAL;
        }
        freeReplyObject(reply);
        return rv;
    }
    else {
        char *value = NULL;
        apr_size_t len = 0;
        apr_uint16_t flags = 0;

        /* APR_NOTFOUND here may also mean "no live server": the caller
         * then claims again, and that add fails */
        rv = apr_memcache_getp(net->mc, r->pool, k, &value, &len, &flags);
        if (rv != APR_SUCCESS)
            return rv;
        if (len != 1) {
            *detail = "unexpected value";
            return APR_EGENERAL;
        }
        *state = (unsigned char)value[0];
        return APR_SUCCESS;
    }
}

apr_status_t tw_net_remove(tw_net_t *net, request_rec *r, const unsigned char key[TW_MAC_LEN],
                           const char **detail)
{
    char k[TW_NET_KEY_LEN + 1];

    *detail = NULL;
    make_key(k, key);
    if (net->engine == ENGINE_REDIS) {
        const char *argv[] = { "DEL", k };
        size_t argvlen[] = { 3, TW_NET_KEY_LEN };
        redisReply *reply = NULL;
        apr_status_t rv = redis_command(net, r, &reply, detail, 2, argv, argvlen);

        if (rv != APR_SUCCESS)
            return rv;
        rv = (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) ? APR_NOTFOUND : APR_SUCCESS;
        freeReplyObject(reply);
        return rv;
    }
    return apr_memcache_delete(net->mc, k, 0);
}

/* ---- per child --------------------------------------------------------------- */

apr_status_t tw_net_child_init(tw_net_t *net, apr_pool_t *pchild, server_rec *s)
{
    int threads = 1;
    apr_status_t rv;
    int i;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    if (net->engine == ENGINE_REDIS) {
        rv = apr_reslist_create(&net->redis, 0, threads, threads, 0,
                                redis_connect, redis_disconnect, net, pchild);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "TWW0710: cannot make this child's redis connection pool");
        return rv;
    }
    rv = apr_memcache_create(pchild, (apr_uint16_t)net->servers->nelts, 0, &net->mc);
    for (i = 0; rv == APR_SUCCESS && i < net->servers->nelts; i++) {
        const server_t *srv = &APR_ARRAY_IDX(net->servers, i, server_t);
        apr_memcache_server_t *ms;

        rv = apr_memcache_server_create(pchild, srv->host, srv->port, 0, 1, threads,
                                        TW_NET_MEMCACHE_CONN_TTL, &ms);
        if (rv == APR_SUCCESS)
            rv = apr_memcache_add_server(net->mc, ms);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "TWW0711: cannot make this child's memcache client");
        net->mc = NULL;
    }
    return rv;
}

int tw_net_ready(const tw_net_t *net)
{
    return net->engine == ENGINE_REDIS ? net->redis != NULL : net->mc != NULL;
}
