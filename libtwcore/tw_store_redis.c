/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_store_redis.c - the inbox on one redis-server shared by a fleet
 * (TwWebhookInbox redis:host:port[/db] or redis:/path.sock), behind
 * tw/store.h: any server of the fleet can deliver what any other took.
 *
 * Keys (all under "twwebhook:", in the spec's database):
 *
 *   twwebhook:e:<id>          a hash per entry: received, updated,
 *                             attempts, status, path, headers ("Name:
 *                             value\n" lines), length, body (binary),
 *                             state, next, secret, scope, owner (the
 *                             last taker), msg (its message in the queue
 *                             stream, "" when none), deadmsg (its message
 *                             in the dead stream)
 *   twwebhook:queue           a Stream, consumer group "dispatch": one
 *                             message ("id" <id>) per QUEUED entry; the
 *                             consumer is the taker (owner, host:pid)
 *   twwebhook:dead            a Stream: one message ("id", "status") per
 *                             entry that died, for tools that follow it
 *   twwebhook:state:<state>   a sorted set per state of the ids, scored
 *                             by received: list and count read these
 *   twwebhook:claim-cursor    where the next XAUTOCLAIM sweep goes on
 *   twwebhook:consumers-swept a minute's mark: the group's dead
 *                             consumers were deleted not long ago
 *
 * Every change is one Lua script (EVALSHA, EVAL when the server does not
 * know it yet), so it is atomic on the server and an answer means Redis
 * applied all of it. Keys are named inside the scripts, not passed as
 * KEYS: one redis-server (or a primary), not Redis Cluster.
 *
 * The queue: a taker looks, in one script, (1) at its own pending
 * messages (XPENDING/XCLAIM, which also resets their idle time, so
 * nobody else claims what a living taker holds), (2) at messages idle
 * for longer than the lease (XAUTOCLAIM: their taker died), (3) at new
 * messages (XREADGROUP). An entry is taken only when its `next` has come
 * and its scope is not one the taker leaves alone (take_except: its
 * location is at its concurrency limit); one that is not due (retry
 * backoff, or still leased) or skipped stays pending with whoever has
 * it. Taking counts attempts + 1 and sets next to the lease's end. A
 * retry keeps the same message pending; delivered and dead acknowledge
 * and delete it. Times are the callers' clocks
 * (microseconds since the epoch), passed as decimal strings: a Lua
 * number is a double, exact for them, but would be printed in
 * exponent form.
 *
 * Deadlines: every call gets the store's timeout, connecting included
 * (hiredis' connect and socket timeouts are set to the time left). A
 * connection that failed or timed out is dropped and made again by the
 * next call; only a used one that was closed under us (a restart of
 * redis-server) is tried again within the same call, while time is left
 * (every script is safe to repeat: a put finds its entry, a take counts
 * one more attempt, an end finds the entry gone or changed).
 *
 * Hazard: a host name is resolved by getaddrinfo(3), which no timeout
 * bounds: name Redis by address (or /etc/hosts) where a slow resolver
 * could hold a request. redis:/path.sock always uses database 0.
 *
 * Hazard: hiredis writes with write(2), so a process that talks to a
 * Redis that went away gets SIGPIPE unless it ignores it (httpd does;
 * twwebhook-inbox and the tests must).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <apr_network_io.h>
#include <apr_strings.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "tw/inbox.h"
#include "tw/store.h"
#include "tw_store_engine.h"

#define RS_SPEC_PREFIX   "redis:"
#define RS_DEFAULT_PORT  6379
#define RS_DB_MAX        1000000L
#define RS_ENTRY_PREFIX  "twwebhook:e:"
/* Redis' proto-max-bulk-len default: a bigger body could not be sent. */
#define RS_BODY_MAX      ((apr_off_t)512 * 1024 * 1024)
/* Messages a take looks at in each of its own pending list and the
 * XAUTOCLAIM sweep: bounds the script's time on the server. */
#define RS_SCAN_MAX      256
#define RS_SHA_HEX_LEN   40

/* A script's answers that are not "done". */
#define RS_GONE     (-1)      /* no such entry: APR_ENOENT */
#define RS_CHANGED  (-2)      /* attempts moved on: TW_INBOX_ECHANGED */

/* ---- the scripts ---------------------------------------------------------- */

/*
 * What every script shares. The metadata fields, in the order
 * rs_fields_parse reads them; the body is only ever read by open_body.
 * Leaving QUEUED acknowledges and deletes the entry's queue message, so
 * a stream never holds a message for an entry that is not queued (one
 * that does, left by a crash between versions, is dropped by a take).
 */
#define RS_LUA_COMMON \
    "local P = 'twwebhook:' " \
    "local Q, DEAD, G = P .. 'queue', P .. 'dead', 'dispatch' " \
    "local META = {'received', 'updated', 'attempts', 'status', 'path', 'headers', " \
    "  'length', 'state', 'next', 'secret', 'scope'} " \
    "local function zk(st) return P .. 'state:' .. st end " \
    "local function ek(id) return P .. 'e:' .. id end " \
    "local function meta(id) " \
    "  local v = redis.call('HMGET', ek(id), unpack(META)) " \
    "  table.insert(v, 1, id) return v end " \
    "local function ensure_group() " \
    "  redis.pcall('XGROUP', 'CREATE', Q, G, '0', 'MKSTREAM') end " \
    "local function unqueue(h) " \
    "  local m = redis.call('HGET', h, 'msg') " \
    "  if m and m ~= '' then redis.call('XACK', Q, G, m) redis.call('XDEL', Q, m) end " \
    "  redis.call('HSET', h, 'msg', '') end " \
    "local function undead(h) " \
    "  local m = redis.call('HGET', h, 'deadmsg') " \
    "  if m and m ~= '' then redis.call('XDEL', DEAD, m) end " \
    "  redis.call('HSET', h, 'deadmsg', '') end " \
    "local function enqueue(h, id) " \
    "  ensure_group() " \
    "  redis.call('HSET', h, 'msg', redis.call('XADD', Q, '*', 'id', id)) end " \
    "local function move(h, id, to) " \
    "  local from = redis.call('HGET', h, 'state') " \
    "  if from == to then return end " \
    "  if from then redis.call('ZREM', zk(from), id) end " \
    "  if to ~= 'queued' then unqueue(h) end " \
    "  redis.call('ZADD', zk(to), redis.call('HGET', h, 'received'), id) " \
    "  redis.call('HSET', h, 'state', to) end " \
    "local function drop(h, id) " \
    "  unqueue(h) undead(h) " \
    "  local st = redis.call('HGET', h, 'state') " \
    "  if st then redis.call('ZREM', zk(st), id) end " \
    "  redis.call('DEL', h) end "

/*
 * put. ARGV: id, state, now, next, secret, scope, path, headers, length,
 * body. 1 when made; 0 when the entry was there (a direct copy counts an
 * attempt and clears the status, as tw_inbox_put does). A queued entry
 * starts at attempts 0 (the take counts them), a direct one at 1 (it goes
 * to the app now).
 */
static const char rs_put_lua[] = RS_LUA_COMMON
    "local id, st, now = ARGV[1], ARGV[2], ARGV[3] "
    "local h = ek(id) "
    "if redis.call('EXISTS', h) == 1 then "
    "  if st == 'direct' then "
    "    redis.call('HINCRBY', h, 'attempts', 1) "
    "    redis.call('HSET', h, 'status', '0', 'updated', now) "
    "  end "
    "  return 0 "
    "end "
    "redis.call('HSET', h, 'received', now, 'updated', now, "
    "  'attempts', st == 'direct' and '1' or '0', 'status', '0', 'next', ARGV[4], "
    "  'secret', ARGV[5], 'scope', ARGV[6], 'path', ARGV[7], 'headers', ARGV[8], "
    "  'length', ARGV[9], 'body', ARGV[10], 'owner', '', 'msg', '', 'deadmsg', '', "
    "  'state', st) "
    "redis.call('ZADD', zk(st), now, id) "
    "if st == 'queued' then enqueue(h, id) end "
    "return 1";

/*
 * take. ARGV: owner, max, lease in ms, now, the lease's end, scan size,
 * then the scopes to leave alone (take_except; "" never matches). The
 * entries taken, each as meta() after the take. An entry of a skipped
 * scope is treated as one not due yet: its message stays pending with
 * this taker (or unread), nothing of the entry changes, and a later take
 * considers it again.
 */
static const char rs_take_lua[] = RS_LUA_COMMON
    "local owner, max, lease_ms, now, lend, scan = ARGV[1], tonumber(ARGV[2]), ARGV[3], "
    "  ARGV[4], ARGV[5], tonumber(ARGV[6]) "
    "local skip = {} "
    "for i = 7, #ARGV do if ARGV[i] ~= '' then skip[ARGV[i]] = true end end "
    "local out = {} "
    "local function consider(msgid, fields) "
    "  local id = fields and fields[2] "
    "  local cur = id and redis.call('HMGET', ek(id), 'msg', 'state', 'next', 'scope') "
    "  if not cur or cur[1] ~= msgid or cur[2] ~= 'queued' then "
    "    redis.call('XACK', Q, G, msgid) redis.call('XDEL', Q, msgid) return "
    "  end "
    "  if #out >= max or (tonumber(cur[3]) or 0) > tonumber(now) then return end "
    "  if cur[4] and skip[cur[4]] then return end "
    "  redis.call('HINCRBY', ek(id), 'attempts', 1) "
    "  redis.call('HSET', ek(id), 'next', lend, 'owner', owner, 'updated', now) "
    "  out[#out + 1] = meta(id) "
    "end "
    "ensure_group() "
    /* (1) this taker's own pending messages: due ones are taken, and
     * every one is claimed again, which resets its idle time */
    "local mine = redis.call('XPENDING', Q, G, '-', '+', scan, owner) "
    "if #mine > 0 then "
    "  local ids = {} "
    "  for i, p in ipairs(mine) do ids[i] = p[1] end "
    "  for _, m in ipairs(redis.call('XCLAIM', Q, G, owner, 0, unpack(ids))) do "
    "    consider(m[1], m[2]) end "
    "end "
    /* (2) messages whose taker has not been seen for a lease */
    "if #out < max then "
    "  local cursor = redis.call('GET', P .. 'claim-cursor') or '0-0' "
    "  local r = redis.call('XAUTOCLAIM', Q, G, owner, lease_ms, cursor, 'COUNT', scan) "
    "  redis.call('SET', P .. 'claim-cursor', r[1]) "
    "  for _, m in ipairs(r[2]) do consider(m[1], m[2]) end "
    "end "
    /* consumers are made by every taker (host:pid) and outlive it: once
     * a minute, those with nothing pending and idle for ten leases are
     * deleted (harmless for a living one: its next read makes it again) */
    "if redis.call('SET', P .. 'consumers-swept', now, 'NX', 'PX', 60000) then "
    "  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', Q, G)) do "
    "    local f = {} "
    "    for i = 1, #c, 2 do f[c[i]] = c[i + 1] end "
    "    if f['pending'] == 0 and f['idle'] > 10 * tonumber(lease_ms) then "
    "      redis.call('XGROUP', 'DELCONSUMER', Q, G, f['name']) end "
    "  end "
    "end "
    /* (3) messages nobody read yet */
    "if #out < max then "
    "  local r = redis.call('XREADGROUP', 'GROUP', G, owner, 'COUNT', max - #out, "
    "    'STREAMS', Q, '>') "
    "  if r then for _, m in ipairs(r[1][2]) do consider(m[1], m[2]) end end "
    "end "
    "return out";

/*
 * end_dispatch. ARGV: id, end (delivered, retry, dead), the attempts the
 * take counted, status, next, now. 1 done, RS_GONE, RS_CHANGED.
 */
static const char rs_end_lua[] = RS_LUA_COMMON
    "local id, e, now = ARGV[1], ARGV[2], ARGV[6] "
    "local h = ek(id) "
    "local a = redis.call('HGET', h, 'attempts') "
    "if not a then return -1 end "
    "if a ~= ARGV[3] then return -2 end "
    "if e == 'delivered' then drop(h, id) return 1 end "
    "redis.call('HSET', h, 'status', ARGV[4], 'updated', now) "
    "if e == 'retry' then "
    "  redis.call('HSET', h, 'next', ARGV[5]) "
    "  if redis.call('HGET', h, 'state') == 'queued' and redis.call('HGET', h, 'msg') == '' "
    "    then enqueue(h, id) end "
    "  return 1 "
    "end "
    "undead(h) move(h, id, 'dead') "
    "redis.call('HSET', h, 'deadmsg', redis.call('XADD', DEAD, '*', 'id', id, 'status', ARGV[4])) "
    "return 1";

/* settle_direct. ARGV: id, status, held (1/0), now, 2xx (1/0). */
static const char rs_settle_lua[] = RS_LUA_COMMON
    "local id = ARGV[1] "
    "local h = ek(id) "
    "if redis.call('EXISTS', h) == 0 then return -1 end "
    "if ARGV[5] == '1' then drop(h, id) return 1 end "
    "redis.call('HSET', h, 'status', ARGV[2], 'updated', ARGV[4]) "
    "if ARGV[3] == '1' then move(h, id, 'held') end "
    "return 1";

/* requeue. ARGV: id, now. A new queue message, due now. */
static const char rs_requeue_lua[] = RS_LUA_COMMON
    "local id, now = ARGV[1], ARGV[2] "
    "local h = ek(id) "
    "if redis.call('EXISTS', h) == 0 then return -1 end "
    "unqueue(h) undead(h) move(h, id, 'queued') "
    "redis.call('HSET', h, 'next', now, 'updated', now, 'owner', '') "
    "enqueue(h, id) "
    "return 1";

/* remove. ARGV: id. */
static const char rs_remove_lua[] = RS_LUA_COMMON
    "local h = ek(ARGV[1]) "
    "if redis.call('EXISTS', h) == 0 then return -1 end "
    "drop(h, ARGV[1]) "
    "return 1";

/* remove_unchanged. ARGV: id, updated and attempts as seen. Removes it
 * only while no copy, status or take changed it since (RS_CHANGED). */
static const char rs_remove_unchanged_lua[] = RS_LUA_COMMON
    "local h = ek(ARGV[1]) "
    "local cur = redis.call('HMGET', h, 'updated', 'attempts') "
    "if not cur[1] then return -1 end "
    "if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then return -2 end "
    "drop(h, ARGV[1]) "
    "return 1";

/* list. ARGV: the states wanted. meta() of each, state by state. */
static const char rs_list_lua[] = RS_LUA_COMMON
    "local out = {} "
    "for _, st in ipairs(ARGV) do "
    "  for _, id in ipairs(redis.call('ZRANGE', zk(st), 0, -1)) do out[#out + 1] = meta(id) end "
    "end "
    "return out";

/* count. By state in tw_state_t's order, then the oldest queued one's
 * received ("" when none). */
static const char rs_count_lua[] = RS_LUA_COMMON
    "local r = {} "
    "for i, st in ipairs({'direct', 'held', 'queued', 'dead'}) do "
    "  r[i] = redis.call('ZCARD', zk(st)) end "
    "local o = redis.call('ZRANGE', zk('queued'), 0, 0) "
    "r[5] = o[1] and redis.call('HGET', ek(o[1]), 'received') or '' "
    "return r";

typedef enum {
    RS_PUT, RS_TAKE, RS_END, RS_SETTLE, RS_REQUEUE, RS_REMOVE, RS_REMOVE_UNCHANGED, RS_LIST,
    RS_COUNT, RS_NSCRIPTS
} rs_script_t;

static const char *const rs_script_text[RS_NSCRIPTS] = {
    [RS_PUT] = rs_put_lua, [RS_TAKE] = rs_take_lua, [RS_END] = rs_end_lua,
    [RS_SETTLE] = rs_settle_lua, [RS_REQUEUE] = rs_requeue_lua, [RS_REMOVE] = rs_remove_lua,
    [RS_REMOVE_UNCHANGED] = rs_remove_unchanged_lua,
    [RS_LIST] = rs_list_lua, [RS_COUNT] = rs_count_lua,
};

/* The states as stored: the engine's own format, fixed whatever names
 * tw_state_name gives them elsewhere. */
static const char *const rs_state_names[TW_STATE_DEAD + 1] = {
    [TW_STATE_DIRECT] = "direct", [TW_STATE_HELD] = "held",
    [TW_STATE_QUEUED] = "queued", [TW_STATE_DEAD] = "dead",
};

/* The fields meta() returns after the id, in its order. */
enum {
    M_ID, M_RECEIVED, M_UPDATED, M_ATTEMPTS, M_STATUS, M_PATH, M_HEADERS, M_LENGTH,
    M_STATE, M_NEXT, M_SECRET, M_SCOPE, M_COUNT
};

/* ---- the store ------------------------------------------------------------- */

typedef struct {
    const char *spec;
    const char *host;                /* NULL for a unix socket */
    apr_port_t port;
    const char *socket_path;
    long db;
    apr_interval_time_t timeout;
    redisContext *c;                 /* NULL until connected, and after a failure */
    int used;                        /* c has answered a command */
    char sha[RS_NSCRIPTS][RS_SHA_HEX_LEN + 1];
} rs_store_t;

/* ---- the spec -------------------------------------------------------------- */

/* 1 when what follows the host ("[v6]" or a name), if anything, is ":digits". */
static int rs_port_is_numeric(const char *hostport)
{
    const char *p = hostport[0] == '[' ? strchr(hostport, ']') : hostport;

    if (p == NULL)
        return 0;
    p = strchr(p, ':');
    if (p == NULL)
        return 1;
    if (*++p == '\0')
        return 0;
    return strspn(p, "0123456789") == strlen(p);
}

/* Parses "redis:host[:port][/db]" or "redis:/path.sock": NULL, or why not. */
static const char *rs_parse_spec(const char *spec, rs_store_t *rs, apr_pool_t *pool)
{
    const char *rest, *slash;
    char *hostport, *host = NULL, *scope = NULL, *end;
    apr_port_t port = 0;

    if (spec == NULL || strncmp(spec, RS_SPEC_PREFIX, sizeof(RS_SPEC_PREFIX) - 1) != 0)
        return "a Redis store is named redis:host:port[/db] or redis:/path.sock";
    rest = spec + sizeof(RS_SPEC_PREFIX) - 1;
    rs->db = 0;
    if (rest[0] == '/') {
        if (rest[1] == '\0')
            return "redis:/path.sock needs the socket's path";
        rs->socket_path = rest;
        return NULL;
    }
    slash = strchr(rest, '/');
    hostport = slash ? apr_pstrmemdup(pool, rest, (apr_size_t)(slash - rest))
                     : apr_pstrdup(pool, rest);
    if (slash) {
        errno = 0;
        rs->db = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0
            || rs->db < 0 || rs->db > RS_DB_MAX)
            return apr_psprintf(pool, "'%s' is not a database number (redis:host:port/db)",
                                slash + 1);
    }
    /* apr_parse_addr_port takes "host:word" for a host named so */
    if (*hostport == '\0' || !rs_port_is_numeric(hostport)
        || apr_parse_addr_port(&host, &scope, &port, hostport, pool) != APR_SUCCESS
        || host == NULL || scope != NULL)
        return apr_psprintf(pool, "'%s' is not host:port (redis:host:port[/db])", hostport);
    rs->host = host;
    rs->port = port ? port : RS_DEFAULT_PORT;
    return NULL;
}

static const char *rs_check_spec(const char *spec, apr_pool_t *pool)
{
    rs_store_t rs;

    memset(&rs, 0, sizeof(rs));
    return rs_parse_spec(spec, &rs, pool);
}

/* ---- the connection ---------------------------------------------------------- */

static struct timeval rs_timeval(apr_interval_time_t t)
{
    struct timeval tv = { .tv_sec = (time_t)apr_time_sec(t),
                          .tv_usec = (suseconds_t)apr_time_usec(t) };
    return tv;
}

/* The time left before deadline; at least 1 ms while any is left. */
static apr_interval_time_t rs_left(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    if (left <= 0)
        return 0;
    return left < 1000 ? 1000 : left;
}

/* What a failed hiredis context means, as tw/store.h's statuses. errno is
 * still the system call's (hiredis keeps it; nothing ran since). */
static apr_status_t rs_io_status(const redisContext *c, int err)
{
    if (c->err == REDIS_ERR_EOF)
        return APR_FROM_OS_ERROR(ECONNRESET);
    if (c->err == REDIS_ERR_IO) {
        if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT || err == EINPROGRESS)
            return APR_TIMEUP;
        if (err != 0)
            return APR_FROM_OS_ERROR(err);
    }
    return APR_EGENERAL;
}

/* What an error reply means: Redis' own error codes, mapped to the
 * statuses a caller can act on (503 for all of them, but the log says
 * which). */
static apr_status_t rs_reply_status(const redisReply *reply)
{
    static const struct { const char *code; int err; } codes[] = {
        { "OOM ", ENOSPC },          /* maxmemory reached (noeviction) */
        { "MISCONF ", EIO },         /* persistence is failing: writes refused */
        { "READONLY ", EROFS },      /* a replica */
        { "NOAUTH ", EACCES },
        { "NOPERM ", EACCES },
        { "LOADING ", EBUSY },       /* a restart still loading its AOF */
        { "BUSY ", EBUSY },          /* another script runs too long */
    };
    size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (reply->len >= strlen(codes[i].code)
            && strncmp(reply->str, codes[i].code, strlen(codes[i].code)) == 0)
            return APR_FROM_OS_ERROR(codes[i].err);
    return APR_EGENERAL;
}

static void rs_drop(rs_store_t *rs)
{
    if (rs->c != NULL)
        redisFree(rs->c);
    rs->c = NULL;
    rs->used = 0;
}

static apr_status_t rs_cleanup(void *data)
{
    rs_drop(data);
    return APR_SUCCESS;
}

/* Sends one command on rs->c with what is left of the deadline. */
static apr_status_t rs_send(rs_store_t *rs, apr_time_t deadline, int argc, const char **argv,
                            const size_t *lens, redisReply **preply)
{
    apr_interval_time_t left = rs_left(deadline);
    redisReply *reply;
    int err;

    if (left == 0)
        return APR_TIMEUP;
    errno = 0;
    if (redisSetTimeout(rs->c, rs_timeval(left)) != REDIS_OK)
        return rs_io_status(rs->c, errno);
    reply = redisCommandArgv(rs->c, argc, argv, lens);
    err = errno;
    if (reply == NULL)
        return rs_io_status(rs->c, err);
    *preply = reply;
    return APR_SUCCESS;
}

/* Connects (and selects the database) within the deadline. */
static apr_status_t rs_connect(rs_store_t *rs, apr_time_t deadline)
{
    apr_interval_time_t left = rs_left(deadline);
    apr_status_t rv;
    int err;

    if (left == 0)
        return APR_TIMEUP;
    errno = 0;
    rs->c = rs->host ? redisConnectWithTimeout(rs->host, rs->port, rs_timeval(left))
                     : redisConnectUnixWithTimeout(rs->socket_path, rs_timeval(left));
    err = errno;
    if (rs->c == NULL)
        return APR_ENOMEM;
    if (rs->c->err != 0) {
        rv = rs_io_status(rs->c, err);
        rs_drop(rs);
        return rv;
    }
    if (rs->db != 0) {
        char db[24];
        const char *argv[] = { "SELECT", db };
        size_t lens[2] = { 6, 0 };
        redisReply *reply = NULL;

        lens[1] = (size_t)apr_snprintf(db, sizeof(db), "%ld", rs->db);
        rv = rs_send(rs, deadline, 2, argv, lens, &reply);
        if (rv == APR_SUCCESS && reply->type == REDIS_REPLY_ERROR)
            rv = APR_EINVAL;       /* no such database on this server */
        if (reply != NULL)
            freeReplyObject(reply);
        if (rv != APR_SUCCESS) {
            rs_drop(rs);
            return rv;
        }
    }
    return APR_SUCCESS;
}

/*
 * One command by the deadline; *preply is the reply (free it) unless an
 * error is returned, error replies included. A connection that failed is
 * dropped; one that had answered before and was closed under us is made
 * again once, while time is left (see the top).
 */
static apr_status_t rs_command(rs_store_t *rs, apr_time_t deadline, int argc,
                               const char **argv, const size_t *lens, redisReply **preply)
{
    int tries;

    for (tries = 0; tries < 2; tries++) {
        apr_status_t rv = APR_SUCCESS;
        int was_used;

        if (rs->c == NULL && (rv = rs_connect(rs, deadline)) != APR_SUCCESS)
            return rs_left(deadline) == 0 ? APR_TIMEUP : rv;
        was_used = rs->used;
        rv = rs_send(rs, deadline, argc, argv, lens, preply);
        if (rv == APR_SUCCESS) {
            rs->used = 1;
            return APR_SUCCESS;
        }
        rs_drop(rs);
        /* whatever errno hiredis left, a failure at the deadline is the deadline's */
        if (rs_left(deadline) == 0)
            return APR_TIMEUP;
        if (!was_used || APR_STATUS_IS_TIMEUP(rv))
            return rv;
    }
    return APR_FROM_OS_ERROR(ECONNRESET);
}

/* The SHA-1 Redis names a script by, in hex. */
static void rs_script_sha(const char *text, char out[RS_SHA_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        out[0] = '\0';        /* EVALSHA then fails with NOSCRIPT: EVAL is used */
        return;
    }
    for (i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * mdlen] = '\0';
}

static int rs_is_noscript(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR && reply->len >= 8
           && strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

/*
 * Runs a script with nargs arguments (no KEYS): EVALSHA, or EVAL when the
 * server does not know it (first use, a restart, SCRIPT FLUSH). An error
 * reply is mapped to a status; *preply is the reply otherwise.
 */
static apr_status_t rs_eval(rs_store_t *rs, apr_time_t deadline, rs_script_t script,
                            int nargs, const char *const *args, const size_t *arglens,
                            apr_pool_t *pool, redisReply **preply)
{
    const char **argv = apr_palloc(pool, sizeof(*argv) * (size_t)(nargs + 3));
    size_t *lens = apr_palloc(pool, sizeof(*lens) * (size_t)(nargs + 3));
    redisReply *reply = NULL;
    apr_status_t rv;
    int i;

    argv[0] = "EVALSHA";
    argv[1] = rs->sha[script];
    argv[2] = "0";
    lens[0] = 7;
    lens[1] = strlen(rs->sha[script]);
    lens[2] = 1;
    for (i = 0; i < nargs; i++) {
        argv[3 + i] = args[i];
        lens[3 + i] = arglens ? arglens[i] : strlen(args[i]);
    }
    rv = rs_command(rs, deadline, nargs + 3, argv, lens, &reply);
    if (rv == APR_SUCCESS && rs_is_noscript(reply)) {
        freeReplyObject(reply);
        reply = NULL;
        argv[0] = "EVAL";
        argv[1] = rs_script_text[script];
        lens[0] = 4;
        lens[1] = strlen(rs_script_text[script]);
        rv = rs_command(rs, deadline, nargs + 3, argv, lens, &reply);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type == REDIS_REPLY_ERROR) {
        rv = rs_reply_status(reply);
        freeReplyObject(reply);
        return rv;
    }
    *preply = reply;
    return APR_SUCCESS;
}

/* A script answering 1, RS_GONE or RS_CHANGED (or 0/1 for put). */
static apr_status_t rs_eval_int(rs_store_t *rs, rs_script_t script, int nargs,
                                const char *const *args, const size_t *arglens,
                                apr_pool_t *pool, long long *pn)
{
    redisReply *reply = NULL;
    apr_status_t rv = rs_eval(rs, apr_time_now() + rs->timeout, script, nargs, args, arglens,
                              pool, &reply);

    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type != REDIS_REPLY_INTEGER)
        rv = APR_EGENERAL;
    else if (reply->integer == RS_GONE)
        rv = APR_ENOENT;
    else if (reply->integer == RS_CHANGED)
        rv = TW_INBOX_ECHANGED;
    else if (pn != NULL)
        *pn = reply->integer;
    freeReplyObject(reply);
    return rv;
}

static apr_status_t rs_open(const char *spec, apr_interval_time_t timeout, void **pimpl,
                            apr_pool_t *pool)
{
    rs_store_t *rs = apr_pcalloc(pool, sizeof(*rs));
    int i;

    if (rs_parse_spec(spec, rs, pool) != NULL || timeout <= 0)
        return APR_EINVAL;
    rs->spec = apr_pstrdup(pool, spec);
    rs->timeout = timeout;
    for (i = 0; i < RS_NSCRIPTS; i++)
        rs_script_sha(rs_script_text[i], rs->sha[i]);
    apr_pool_cleanup_register(pool, rs, rs_cleanup, apr_pool_cleanup_null);
    *pimpl = rs;
    return APR_SUCCESS;
}

/* ---- entries ----------------------------------------------------------------- */

static const char *rs_time(apr_pool_t *pool, apr_time_t t)
{
    return apr_psprintf(pool, "%" APR_TIME_T_FMT, t);
}

/* "Name: value\n" per header: names are tokens and values hold no LF
 * (checked by put), so the lines split back exactly. */
static const char *rs_headers_join(const tw_inbox_entry_t *e, apr_pool_t *pool)
{
    const char *out = "";
    size_t i;

    for (i = 0; i < e->nheaders; i++)
        out = apr_pstrcat(pool, out, e->headers[i].name, ": ", e->headers[i].value, "\n",
                          NULL);
    return out;
}

static int rs_headers_split(const char *s, size_t len, tw_inbox_entry_t *e, apr_pool_t *pool)
{
    const char *p = s, *end = s + len;

    e->nheaders = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *colon;
        tw_inbox_header_t *h;

        if (nl == NULL || e->nheaders == TW_INBOX_HEADERS_MAX)
            return 0;
        colon = memchr(p, ':', (size_t)(nl - p));
        if (colon == NULL || colon + 1 >= nl || colon[1] != ' ')
            return 0;
        h = &e->headers[e->nheaders++];
        h->name = apr_pstrmemdup(pool, p, (apr_size_t)(colon - p));
        h->value = apr_pstrmemdup(pool, colon + 2, (apr_size_t)(nl - colon - 2));
        p = nl + 1;
    }
    return 1;
}

static int rs_number(const redisReply *r, apr_int64_t min, apr_int64_t max, apr_int64_t *out)
{
    char buf[32], *end;
    apr_int64_t n;

    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= sizeof(buf))
        return 0;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    if (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9'))
        return 0;
    errno = 0;
    n = apr_strtoi64(buf, &end, 10);
    if (*end != '\0' || errno != 0 || n < min || n > max)
        return 0;
    *out = n;
    return 1;
}

static int rs_state_of(const redisReply *r)
{
    int i;

    if (r->type != REDIS_REPLY_STRING)
        return -1;
    for (i = 0; i <= TW_STATE_DEAD; i++)
        if (strlen(rs_state_names[i]) == r->len && memcmp(rs_state_names[i], r->str, r->len) == 0)
            return i;
    return -1;
}

/* An entry from its id and its fields in META's order (f[0] is
 * received): TW_INBOX_ECORRUPT unless whole. */
#define F(x) (f[(x) - M_RECEIVED])     /* field x of META */
static apr_status_t rs_fields_parse(const char *id, size_t idlen, redisReply *const *f,
                                    tw_stored_t **ps, apr_pool_t *pool)
{
    tw_stored_t *s;
    apr_int64_t n;
    size_t i;
    int state;

    for (i = M_RECEIVED; i < M_COUNT; i++)
        if (F(i)->type != REDIS_REPLY_STRING)
            return TW_INBOX_ECORRUPT;
    if (idlen != TW_INBOX_ID_LEN)
        return TW_INBOX_ECORRUPT;
    s = apr_pcalloc(pool, sizeof(*s));
    memcpy(s->e.id, id, TW_INBOX_ID_LEN);
    s->e.id[TW_INBOX_ID_LEN] = '\0';
    if (!tw_inbox_id_is_valid(s->e.id))
        return TW_INBOX_ECORRUPT;
    if (!rs_number(F(M_RECEIVED), 0, APR_INT64_MAX, &n))
        return TW_INBOX_ECORRUPT;
    s->e.received = (apr_time_t)n;
    if (!rs_number(F(M_UPDATED), 0, APR_INT64_MAX, &n))
        return TW_INBOX_ECORRUPT;
    s->e.updated = (apr_time_t)n;
    if (!rs_number(F(M_ATTEMPTS), 0, APR_UINT32_MAX, &n))
        return TW_INBOX_ECORRUPT;
    s->e.attempts = (unsigned int)n;
    if (!rs_number(F(M_STATUS), 0, 999, &n))
        return TW_INBOX_ECORRUPT;
    s->e.last_status = (int)n;
    s->e.path = apr_pstrmemdup(pool, F(M_PATH)->str, F(M_PATH)->len);
    if (!tw_inbox_path_is_storable(s->e.path))
        return TW_INBOX_ECORRUPT;
    if (!rs_headers_split(F(M_HEADERS)->str, F(M_HEADERS)->len, &s->e, pool))
        return TW_INBOX_ECORRUPT;
    if (!rs_number(F(M_LENGTH), 0, RS_BODY_MAX, &n))
        return TW_INBOX_ECORRUPT;
    s->e.body_length = (apr_off_t)n;
    s->e.body_offset = 0;
    if ((state = rs_state_of(F(M_STATE))) < 0)
        return TW_INBOX_ECORRUPT;
    s->state = (tw_state_t)state;
    if (!rs_number(F(M_NEXT), 0, APR_INT64_MAX, &n))
        return TW_INBOX_ECORRUPT;
    s->next = (apr_time_t)n;
    if (!rs_number(F(M_SECRET), INT_MIN, INT_MAX, &n))
        return TW_INBOX_ECORRUPT;
    s->secret_index = (int)n;
    s->scope = apr_pstrmemdup(pool, F(M_SCOPE)->str, F(M_SCOPE)->len);
    *ps = s;
    return APR_SUCCESS;
}
#undef F

/* An entry from one meta() array (the id, then META's fields). */
static apr_status_t rs_meta_parse(const redisReply *r, tw_stored_t **ps, apr_pool_t *pool)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != M_COUNT
        || r->element[M_ID]->type != REDIS_REPLY_STRING)
        return TW_INBOX_ECORRUPT;
    return rs_fields_parse(r->element[M_ID]->str, r->element[M_ID]->len,
                           r->element + M_RECEIVED, ps, pool);
}

/* The entries of an array of meta() arrays; the unreadable ones counted. */
static apr_array_header_t *rs_meta_list(const redisReply *r, unsigned int *pbad,
                                        apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, (int)r->elements + 1, sizeof(tw_stored_t *));
    size_t i;

    for (i = 0; i < r->elements; i++) {
        tw_stored_t *s;

        if (rs_meta_parse(r->element[i], &s, pool) == APR_SUCCESS)
            APR_ARRAY_PUSH(out, tw_stored_t *) = s;
        else if (pbad != NULL)
            (*pbad)++;
    }
    return out;
}

/* put refuses what could not be read back: the same checks as tw_inbox_put. */
static apr_status_t rs_check_put(const tw_stored_t *s)
{
    size_t i;

    if (!tw_inbox_id_is_valid(s->e.id) || !tw_inbox_path_is_storable(s->e.path)
        || (s->state != TW_STATE_DIRECT && s->state != TW_STATE_QUEUED)
        || s->e.nheaders > TW_INBOX_HEADERS_MAX || s->e.body_length < 0
        || s->next < 0)
        return APR_EINVAL;
    if (s->e.body_length > RS_BODY_MAX)
        return APR_FROM_OS_ERROR(E2BIG);
    for (i = 0; i < s->e.nheaders; i++)
        if (!tw_inbox_name_is_storable(s->e.headers[i].name)
            || !tw_inbox_value_is_storable(s->e.headers[i].value))
            return APR_EINVAL;
    return APR_SUCCESS;
}

/* The whole body from the source, exactly length bytes. */
static apr_status_t rs_read_body(tw_inbox_read_fn source, void *ctx, apr_off_t length,
                                 char **pbody, apr_pool_t *pool)
{
    char *body = apr_palloc(pool, (apr_size_t)length + 1);
    apr_off_t done = 0;

    while (done < length) {
        apr_size_t got = 0;
        apr_status_t rv = source(ctx, done, body + done, (apr_size_t)(length - done), &got);

        if (rv != APR_SUCCESS)
            return rv;
        if (got == 0)
            return APR_EINCOMPLETE;       /* the body is shorter than announced */
        done += (apr_off_t)got;
    }
    *pbody = body;
    return APR_SUCCESS;
}

static apr_status_t rs_put(void *impl, const tw_stored_t *s, tw_inbox_read_fn source,
                           void *ctx, int *pcreated, apr_pool_t *pool)
{
    rs_store_t *rs = impl;
    const char *args[10];
    size_t lens[10];
    char *body = NULL;
    long long created = 0;
    apr_status_t rv;
    int i;

    if ((rv = rs_check_put(s)) != APR_SUCCESS)
        return rv;
    if ((rv = rs_read_body(source, ctx, s->e.body_length, &body, pool)) != APR_SUCCESS)
        return rv;
    args[0] = s->e.id;
    args[1] = rs_state_names[s->state];
    args[2] = rs_time(pool, apr_time_now());
    args[3] = rs_time(pool, s->next);
    args[4] = apr_itoa(pool, s->secret_index);
    args[5] = s->scope ? s->scope : "";
    args[6] = s->e.path;
    args[7] = rs_headers_join(&s->e, pool);
    args[8] = apr_off_t_toa(pool, s->e.body_length);
    args[9] = body;
    for (i = 0; i < 9; i++)
        lens[i] = strlen(args[i]);
    lens[9] = (size_t)s->e.body_length;
    rv = rs_eval_int(rs, RS_PUT, 10, args, lens, pool, &created);
    if (rv == APR_SUCCESS && pcreated != NULL)
        *pcreated = created == 1;
    return rv;
}

static apr_status_t rs_settle_direct(void *impl, const char *id, int status, int held,
                                     apr_pool_t *pool)
{
    const char *args[] = { id, apr_itoa(pool, status), held ? "1" : "0",
                           rs_time(pool, apr_time_now()),
                           status >= 200 && status < 300 ? "1" : "0" };

    if (!tw_inbox_id_is_valid(id))
        return APR_EINVAL;
    return rs_eval_int(impl, RS_SETTLE, 5, args, NULL, pool, NULL);
}

static apr_status_t rs_take_except(void *impl, int max, apr_interval_time_t lease,
                                   const char *owner, const apr_array_header_t *skip,
                                   apr_array_header_t **ptaken, apr_pool_t *pool)
{
    rs_store_t *rs = impl;
    apr_time_t now = apr_time_now();
    apr_int64_t lease_ms = apr_time_as_msec(lease);
    int nskip = skip != NULL ? skip->nelts : 0;
    const char **args;
    redisReply *reply = NULL;
    apr_status_t rv;
    int i;

    if (max <= 0 || lease_ms < 1 || owner == NULL || *owner == '\0')
        return APR_EINVAL;
    args = apr_palloc(pool, sizeof(*args) * (6 + nskip));
    for (i = 0; i < nskip; i++)
        args[6 + i] = APR_ARRAY_IDX(skip, i, const char *);
    args[0] = owner;
    args[1] = apr_itoa(pool, max);
    args[2] = apr_psprintf(pool, "%" APR_INT64_T_FMT, lease_ms);
    args[3] = rs_time(pool, now);
    args[4] = rs_time(pool, now + lease);
    args[5] = apr_itoa(pool, RS_SCAN_MAX);
    rv = rs_eval(rs, now + rs->timeout, RS_TAKE, 6 + nskip, args, NULL, pool, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type != REDIS_REPLY_ARRAY)
        rv = APR_EGENERAL;
    else
        /* an entry taken whose fields do not parse stays taken: its lease
         * runs out and it is seen again (and counted bad by list) */
        *ptaken = rs_meta_list(reply, NULL, pool);
    freeReplyObject(reply);
    return rv;
}

static apr_status_t rs_take(void *impl, int max, apr_interval_time_t lease, const char *owner,
                            apr_array_header_t **ptaken, apr_pool_t *pool)
{
    return rs_take_except(impl, max, lease, owner, NULL, ptaken, pool);
}

/* A body held in memory, read as tw_inbox_read_fn. */
typedef struct {
    const char *data;
    apr_size_t len;
} rs_body_t;

static apr_status_t rs_body_read(void *ctx, apr_off_t offset, void *buf, apr_size_t cap,
                                 apr_size_t *got)
{
    const rs_body_t *b = ctx;

    *got = 0;
    if (offset < 0)
        return APR_EINVAL;
    if ((apr_size_t)offset >= b->len)
        return APR_SUCCESS;
    *got = b->len - (apr_size_t)offset < cap ? b->len - (apr_size_t)offset : cap;
    memcpy(buf, b->data + offset, *got);
    return APR_SUCCESS;
}

static apr_status_t rs_open_body(void *impl, const char *id, tw_stored_t **ps,
                                 tw_inbox_read_fn *pread, void **pctx, apr_pool_t *pool)
{
    rs_store_t *rs = impl;
    static const char *const fields[] = { "received", "updated", "attempts", "status", "path",
                                          "headers", "length", "state", "next", "secret",
                                          "scope", "body" };
    const char *argv[2 + sizeof(fields) / sizeof(fields[0])];
    redisReply *reply = NULL, *body;
    rs_body_t *b;
    apr_status_t rv;
    size_t i, n = sizeof(fields) / sizeof(fields[0]);

    if (!tw_inbox_id_is_valid(id))
        return APR_EINVAL;
    argv[0] = "HMGET";
    argv[1] = apr_pstrcat(pool, RS_ENTRY_PREFIX, id, NULL);
    for (i = 0; i < n; i++)
        argv[2 + i] = fields[i];
    rv = rs_command(rs, apr_time_now() + rs->timeout, (int)(2 + n), argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
        rv = reply->type == REDIS_REPLY_ERROR ? rs_reply_status(reply) : APR_EGENERAL;
        freeReplyObject(reply);
        return rv;
    }
    if (reply->element[0]->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        return APR_ENOENT;
    }
    /* META's fields, then the body: one version of the entry */
    rv = rs_fields_parse(id, strlen(id), reply->element, ps, pool);
    body = reply->element[n - 1];
    if (rv == APR_SUCCESS && (body->type != REDIS_REPLY_STRING
                              || (apr_off_t)body->len != (*ps)->e.body_length))
        rv = TW_INBOX_ECORRUPT;
    if (rv == APR_SUCCESS) {
        b = apr_palloc(pool, sizeof(*b));
        b->data = apr_pmemdup(pool, body->str, body->len + 1);
        b->len = body->len;
        *pread = rs_body_read;
        *pctx = b;
    }
    freeReplyObject(reply);
    return rv;
}

static const char *const rs_end_names[] = {
    [TW_DISPATCH_DELIVERED] = "delivered", [TW_DISPATCH_RETRY] = "retry",
    [TW_DISPATCH_DEAD] = "dead",
};

static apr_status_t rs_end_dispatch(void *impl, const tw_stored_t *taken, tw_dispatch_end_t end,
                                    int status, apr_time_t next, apr_pool_t *pool)
{
    const char *args[6];

    if ((int)end < TW_DISPATCH_DELIVERED || end > TW_DISPATCH_DEAD
        || !tw_inbox_id_is_valid(taken->e.id) || next < 0)
        return APR_EINVAL;
    args[0] = taken->e.id;
    args[1] = rs_end_names[end];
    args[2] = apr_psprintf(pool, "%u", taken->e.attempts);
    args[3] = apr_itoa(pool, status);
    args[4] = rs_time(pool, next);
    args[5] = rs_time(pool, apr_time_now());
    return rs_eval_int(impl, RS_END, 6, args, NULL, pool, NULL);
}

static int rs_by_received(const void *a, const void *b)
{
    const tw_stored_t *x = *(tw_stored_t *const *)a, *y = *(tw_stored_t *const *)b;

    return x->e.received < y->e.received ? -1 : x->e.received > y->e.received;
}

static apr_status_t rs_list(void *impl, unsigned int states, apr_array_header_t **pentries,
                            unsigned int *pbad, apr_pool_t *pool)
{
    rs_store_t *rs = impl;
    const char *args[TW_STATE_DEAD + 1];
    redisReply *reply = NULL;
    apr_array_header_t *out;
    apr_status_t rv;
    int i, n = 0;

    if (pbad != NULL)
        *pbad = 0;
    for (i = 0; i <= TW_STATE_DEAD; i++)
        if (states == 0 || (states & (1u << i)))
            args[n++] = rs_state_names[i];
    rv = rs_eval(rs, apr_time_now() + rs->timeout, RS_LIST, n, args, NULL, pool, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return APR_EGENERAL;
    }
    out = rs_meta_list(reply, pbad, pool);
    freeReplyObject(reply);
    qsort(out->elts, (size_t)out->nelts, sizeof(tw_stored_t *), rs_by_received);
    *pentries = out;
    return APR_SUCCESS;
}

static apr_status_t rs_requeue(void *impl, const char *id, apr_pool_t *pool)
{
    const char *args[] = { id, rs_time(pool, apr_time_now()) };

    if (!tw_inbox_id_is_valid(id))
        return APR_EINVAL;
    return rs_eval_int(impl, RS_REQUEUE, 2, args, NULL, pool, NULL);
}

static apr_status_t rs_remove(void *impl, const char *id, apr_pool_t *pool)
{
    const char *args[] = { id };

    if (!tw_inbox_id_is_valid(id))
        return APR_EINVAL;
    return rs_eval_int(impl, RS_REMOVE, 1, args, NULL, pool, NULL);
}

static apr_status_t rs_remove_unchanged(void *impl, const tw_stored_t *seen, apr_pool_t *pool)
{
    const char *args[] = { seen->e.id, rs_time(pool, seen->e.updated),
                           apr_psprintf(pool, "%u", seen->e.attempts) };

    if (!tw_inbox_id_is_valid(seen->e.id))
        return APR_EINVAL;
    return rs_eval_int(impl, RS_REMOVE_UNCHANGED, 3, args, NULL, pool, NULL);
}

static apr_status_t rs_count(void *impl, tw_store_counts_t *counts, apr_pool_t *pool)
{
    rs_store_t *rs = impl;
    redisReply *reply = NULL;
    apr_status_t rv;
    apr_int64_t n;
    int i;

    memset(counts, 0, sizeof(*counts));
    rv = rs_eval(rs, apr_time_now() + rs->timeout, RS_COUNT, 0, NULL, NULL, pool, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != TW_STATE_DEAD + 2) {
        freeReplyObject(reply);
        return APR_EGENERAL;
    }
    for (i = 0; i <= TW_STATE_DEAD; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER || reply->element[i]->integer < 0) {
            freeReplyObject(reply);
            return APR_EGENERAL;
        }
        counts->by_state[i] = (apr_uint64_t)reply->element[i]->integer;
    }
    if (rs_number(reply->element[TW_STATE_DEAD + 1], 0, APR_INT64_MAX, &n))
        counts->oldest_queued = (apr_time_t)n;
    freeReplyObject(reply);
    return APR_SUCCESS;
}

const tw_store_engine_t tw_store_engine_redis = {
    .name = "redis",
    .check_spec = rs_check_spec,
    .open = rs_open,
    .put = rs_put,
    .settle_direct = rs_settle_direct,
    .take = rs_take,
    .open_body = rs_open_body,
    .end_dispatch = rs_end_dispatch,
    .list = rs_list,
    .requeue = rs_requeue,
    .remove = rs_remove,
    .count = rs_count,
    .remove_unchanged = rs_remove_unchanged,
    .take_except = rs_take_except,
};
