/*
 * SPDX-License-Identifier: Apache-2.0
 * test_store_redis.c - unit tests of tw_store_redis.c, the inbox on Redis,
 * against a real redis-server: "tw_unit redis <phase> <spec> [<extra>]".
 *
 * t/137_store_redis.t starts redis-server (appendonly yes, appendfsync
 * always) on a free loopback port and runs the phases; the plain
 * "make check" run of tw_unit needs no network and does not run them.
 * The engine is called through tw_store_engine_redis's pointers, as
 * tw_store.c does.
 *
 *   all      FLUSHDB, then every call: idempotent put, two takers,
 *            XAUTOCLAIM after a taker died, retry backoff, dead,
 *            requeue, remove, count, list, errors
 *   put      FLUSHDB, one queued entry (CRASH_ID)
 *   check    that entry, whole, after redis-server was killed (-9) and
 *            restarted from its AOF
 *   frozen   <pid> is redis-server's: stops it (SIGSTOP) and checks that
 *            calls end with APR_TIMEUP within the timeout and a slack,
 *            on a used connection and on a new one; then SIGCONT
 *   unix     <extra> is "redis:/path" of the same server's unix socket:
 *            put, read back, remove through it
 *
 * The raw checks (stream lengths, pending counts) use hiredis directly.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <hiredis/hiredis.h>

#include "twwebhook.h"
#include "tw/store.h"
#include "../../libtwcore/tw_store_engine.h"
#include "tap.h"
#include "unit_common.h"

#define E (&tw_store_engine_redis)
#define CRASH_ID "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
#define TIMEOUT  apr_time_from_msec(500)
#define SLACK    apr_time_from_msec(400)

typedef struct {
    const unsigned char *data;
    apr_size_t len;
} body_t;

static apr_status_t body_read(void *ctx, apr_off_t offset, void *buf, apr_size_t cap,
                              apr_size_t *got)
{
    body_t *b = ctx;

    *got = 0;
    if (offset >= (apr_off_t)b->len)
        return APR_SUCCESS;
    *got = b->len - (apr_size_t)offset < cap ? b->len - (apr_size_t)offset : cap;
    /* a few bytes at a time: put must loop over its source */
    if (*got > 7)
        *got = 7;
    memcpy(buf, b->data + offset, *got);
    return APR_SUCCESS;
}

/* Binary on purpose: NUL, CR, LF and high bytes must come back as they were. */
static const unsigned char BODY[] = "{\"a\":1}\0\r\n\xff\xfe tail";
#define BODY_LEN (sizeof(BODY) - 1)

/* An id from a small number (64 hex digits). */
static const char *make_id(apr_pool_t *pool, unsigned n)
{
    return apr_psprintf(pool, "%064x", n);
}

static tw_stored_t *make_entry(apr_pool_t *pool, const char *id, tw_state_t state)
{
    tw_stored_t *s = apr_pcalloc(pool, sizeof(*s));

    apr_cpystrn(s->e.id, id, sizeof(s->e.id));
    s->e.path = "/hooks/teamwork?x=1";
    s->e.headers[0].name = "Content-Type";
    s->e.headers[0].value = "application/json";
    s->e.headers[1].name = "X-Projects-Signature";
    s->e.headers[1].value = "sha256=abc: with a colon";
    s->e.nheaders = 2;
    s->e.body_length = BODY_LEN;
    s->state = state;
    s->secret_index = 2;
    s->scope = "/hooks/teamwork";
    return s;
}

static apr_status_t put(void *st, const tw_stored_t *s, int *created, apr_pool_t *pool)
{
    body_t b = { BODY, BODY_LEN };

    return E->put(st, s, body_read, &b, created, pool);
}

/* ---- raw looks at the server ---------------------------------------------- */

static redisContext *raw;

static long long raw_int(const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(raw, fmt, arg);
    long long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        n = r->integer;
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

/* Messages of the group not yet acknowledged. */
static long long raw_pending(void)
{
    redisReply *r = redisCommand(raw, "XPENDING twwebhook:queue dispatch");
    long long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1
        && r->element[0]->type == REDIS_REPLY_INTEGER)
        n = r->element[0]->integer;
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

static int raw_connect(const char *spec)
{
    const char *hp = spec + strlen("redis:");
    const char *colon = strrchr(hp, ':');
    char host[256];
    struct timeval tv = { 2, 0 };

    if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
        return 0;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    raw = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    if (raw == NULL || raw->err)
        return 0;
    redisSetTimeout(raw, tv);
    return 1;
}

static void raw_flush(void)
{
    redisReply *r = redisCommand(raw, "FLUSHDB");

    if (r != NULL)
        freeReplyObject(r);
}

/* ---- helpers over the engine ---------------------------------------------- */

static tw_stored_t *find(apr_array_header_t *a, const char *id)
{
    int i;

    for (i = 0; a != NULL && i < a->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(a, i, tw_stored_t *)->e.id, id) == 0)
            return APR_ARRAY_IDX(a, i, tw_stored_t *);
    return NULL;
}

static tw_stored_t *take1(void *st, const char *owner, apr_interval_time_t lease,
                          apr_pool_t *pool, int *pn)
{
    apr_array_header_t *a = NULL;
    apr_status_t rv = E->take(st, 10, lease, owner, &a, pool);

    *pn = rv == APR_SUCCESS && a != NULL ? a->nelts : -1;
    return *pn > 0 ? APR_ARRAY_IDX(a, 0, tw_stored_t *) : NULL;
}

static tw_stored_t *listed(void *st, unsigned states, const char *id, apr_pool_t *pool)
{
    apr_array_header_t *a = NULL;

    if (E->list(st, states, &a, NULL, pool) != APR_SUCCESS)
        return NULL;
    return find(a, id);
}

static void check_body(void *st, const char *id, const char *what, apr_pool_t *pool)
{
    tw_stored_t *s = NULL;
    tw_inbox_read_fn rd = NULL;
    void *ctx = NULL;
    unsigned char buf[64];
    apr_size_t got = 0, total = 0;
    apr_status_t rv = E->open_body(st, id, &s, &rd, &ctx, pool);

    if (!ok(rv == APR_SUCCESS, "%s: open_body", what))
        return;
    while (rd(ctx, (apr_off_t)total, buf + total, 5, &got) == APR_SUCCESS && got > 0
           && total + got <= sizeof(buf) - 5)
        total += got;
    ok(total == BODY_LEN && memcmp(buf, BODY, BODY_LEN) == 0,
       "%s: the body comes back byte for byte (%lu bytes)", what, (unsigned long)total);
    ok(s->e.body_length == (apr_off_t)BODY_LEN && strcmp(s->e.path, "/hooks/teamwork?x=1") == 0
       && s->e.nheaders == 2 && strcmp(s->e.headers[1].name, "X-Projects-Signature") == 0
       && strcmp(s->e.headers[1].value, "sha256=abc: with a colon") == 0
       && s->secret_index == 2 && strcmp(s->scope, "/hooks/teamwork") == 0,
       "%s: path, headers, secret index and scope come back", what);
}

/* ---- the phases ------------------------------------------------------------ */

static void test_spec(apr_pool_t *pool)
{
    static const struct { const char *spec; int valid; } cases[] = {
        { "redis:127.0.0.1:6379", 1 }, { "redis:localhost", 1 }, { "redis:db.example:7000/3", 1 },
        { "redis:[::1]:6379/0", 1 }, { "redis:/run/redis/redis.sock", 1 },
        { "redis:", 0 }, { "redis:/", 0 }, { "redis:host:port", 0 }, { "redis:host:6379/", 0 },
        { "redis:host:6379/x", 0 }, { "redis:host:6379/-1", 0 }, { "redis:host:99999", 0 },
        { "/var/spool/twwebhook", 0 }, { "redis:host:6379/1/2", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = E->check_spec(cases[i].spec, pool);

        ok((why == NULL) == cases[i].valid, "check_spec(%s) %s%s%s", cases[i].spec,
           cases[i].valid ? "accepts it" : "refuses it", why ? ": " : "", why ? why : "");
    }
}

static void test_put(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 1);
    tw_stored_t *s = make_entry(pool, id, TW_STATE_QUEUED), *l;
    tw_store_counts_t c;
    int created = -1;

    ok(put(st, s, &created, pool) == APR_SUCCESS && created == 1, "put: a queued entry is made");
    created = -1;
    ok(put(st, s, &created, pool) == APR_SUCCESS && created == 0,
       "put: a second copy finds it (created 0)");
    is_int(raw_int("XLEN %s", "twwebhook:queue"), 1, "put: one stream message for two puts");
    ok(E->count(st, &c, pool) == APR_SUCCESS && c.by_state[TW_STATE_QUEUED] == 1
       && c.by_state[TW_STATE_DIRECT] == 0 && c.oldest_queued > 0, "count: one queued");
    l = listed(st, 0, id, pool);
    ok(l != NULL && l->state == TW_STATE_QUEUED && l->e.attempts == 0 && l->e.last_status == 0,
       "list: queued, attempts 0 (the take counts them)");
    check_body(st, id, "queued put", pool);
    ok(E->remove(st, id, pool) == APR_SUCCESS, "remove: the queued entry");
    is_int(raw_int("XLEN %s", "twwebhook:queue"), 0, "remove: its stream message is gone too");
    ok(E->remove(st, id, pool) == APR_ENOENT, "remove again: APR_ENOENT");
    ok(E->open_body(st, id, &l, &(tw_inbox_read_fn){ NULL }, &(void *){ NULL }, pool)
       == APR_ENOENT, "open_body of a removed entry: APR_ENOENT");
}

static void test_direct(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 2);
    tw_stored_t *s = make_entry(pool, id, TW_STATE_DIRECT), *l;
    int created = -1;

    ok(put(st, s, &created, pool) == APR_SUCCESS && created == 1, "direct put: made");
    ok(E->settle_direct(st, id, 502, 0, pool) == APR_SUCCESS, "settle_direct 502, not held");
    ok(put(st, s, &created, pool) == APR_SUCCESS && created == 0, "direct put again: found");
    l = listed(st, 1u << TW_STATE_DIRECT, id, pool);
    ok(l != NULL && l->e.attempts == 2 && l->e.last_status == 0 && l->state == TW_STATE_DIRECT,
       "a direct copy counts an attempt and clears the status");
    is_int(raw_int("XLEN %s", "twwebhook:queue"), 0, "a direct entry is not in the queue");
    ok(E->settle_direct(st, id, 503, 1, pool) == APR_SUCCESS, "settle_direct 503 held");
    l = listed(st, 1u << TW_STATE_HELD, id, pool);
    ok(l != NULL && l->state == TW_STATE_HELD && l->e.last_status == 503,
       "held: listed under held with its status");
    ok(listed(st, 1u << TW_STATE_DIRECT, id, pool) == NULL, "... and no longer under direct");
    ok(E->settle_direct(st, id, 204, 0, pool) == APR_SUCCESS, "settle_direct 204");
    ok(listed(st, 0, id, pool) == NULL, "a 2xx removes the entry");
    ok(E->settle_direct(st, id, 204, 0, pool) == APR_ENOENT, "settle_direct of a gone one: ENOENT");
}

static void test_two_takers(void *st, apr_pool_t *pool)
{
    apr_array_header_t *a = NULL, *b = NULL, *again = NULL;
    int i, created, overlap = 0, all_one = 1;

    for (i = 0; i < 4; i++)
        ok(put(st, make_entry(pool, make_id(pool, 10 + (unsigned)i), TW_STATE_QUEUED), &created,
               pool) == APR_SUCCESS, "two takers: put %d", i);
    ok(E->take(st, 2, apr_time_from_sec(5), "hostA:1", &a, pool) == APR_SUCCESS && a->nelts == 2,
       "taker A gets 2 (max 2)");
    ok(E->take(st, 10, apr_time_from_sec(5), "hostB:2", &b, pool) == APR_SUCCESS && b->nelts == 2,
       "taker B gets the other 2");
    for (i = 0; a != NULL && b != NULL && i < a->nelts; i++) {
        tw_stored_t *s = APR_ARRAY_IDX(a, i, tw_stored_t *);

        overlap += find(b, s->e.id) != NULL;
        all_one &= s->e.attempts == 1 && s->next > apr_time_now();
    }
    ok(overlap == 0, "never the same entry to both while the lease runs");
    ok(all_one, "taken: attempts 1, next is the lease's end");
    ok(E->take(st, 10, apr_time_from_sec(5), "hostA:1", &again, pool) == APR_SUCCESS
       && again->nelts == 0, "A again: nothing (its own are leased)");
    ok(E->take(st, 10, apr_time_from_sec(5), "hostB:2", &again, pool) == APR_SUCCESS
       && again->nelts == 0, "B again: nothing");
    for (i = 0; a != NULL && b != NULL && i < 2; i++) {
        ok(E->end_dispatch(st, APR_ARRAY_IDX(a, i, tw_stored_t *), TW_DISPATCH_DELIVERED, 200, 0,
                           pool) == APR_SUCCESS, "A: delivered %d", i);
        ok(E->end_dispatch(st, APR_ARRAY_IDX(b, i, tw_stored_t *), TW_DISPATCH_DELIVERED, 204, 0,
                           pool) == APR_SUCCESS, "B: delivered %d", i);
    }
    is_int(raw_int("XLEN %s", "twwebhook:queue"), 0, "delivered: no message left in the stream");
    is_int(raw_pending(), 0, "delivered: none pending in the group");
    if (a != NULL)
        ok(E->end_dispatch(st, APR_ARRAY_IDX(a, 0, tw_stored_t *), TW_DISPATCH_DELIVERED, 200, 0,
                           pool) == APR_ENOENT, "delivered twice: APR_ENOENT");
}

static void test_dead_taker(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 20);
    tw_stored_t *s = make_entry(pool, id, TW_STATE_QUEUED), *ta, *tb;
    apr_interval_time_t lease = apr_time_from_msec(200);
    int created, n;

    ok(put(st, s, &created, pool) == APR_SUCCESS, "dead taker: put");
    ta = take1(st, "hostA:1", lease, pool, &n);
    ok(ta != NULL && strcmp(ta->e.id, id) == 0 && ta->e.attempts == 1,
       "A takes it (lease 200 ms) and dies");
    take1(st, "hostB:2", lease, pool, &n);
    is_int(n, 0, "B before the lease ran out: nothing");
    apr_sleep(apr_time_from_msec(300));
    tb = take1(st, "hostB:2", lease, pool, &n);
    ok(tb != NULL && strcmp(tb->e.id, id) == 0 && tb->e.attempts == 2,
       "B after the lease: claims it (XAUTOCLAIM), attempts 2");
    if (ta != NULL)
        ok(E->end_dispatch(st, ta, TW_DISPATCH_DELIVERED, 200, 0, pool) == TW_INBOX_ECHANGED,
           "A's late end: TW_INBOX_ECHANGED, the entry kept");
    if (tb != NULL)
        ok(E->end_dispatch(st, tb, TW_DISPATCH_DELIVERED, 200, 0, pool) == APR_SUCCESS,
           "B's end: delivered");
    is_int(raw_pending(), 0, "none pending");
}

static void test_retry_dead_requeue(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 30);
    tw_stored_t *s = make_entry(pool, id, TW_STATE_QUEUED), *t, *l;
    apr_interval_time_t lease = apr_time_from_sec(5);
    tw_store_counts_t c;
    int created, n;

    ok(put(st, s, &created, pool) == APR_SUCCESS, "retry: put");
    t = take1(st, "hostA:1", lease, pool, &n);
    ok(t != NULL && n == 1, "A takes it (lease 5 s)");
    if (t == NULL)
        return;
    ok(E->end_dispatch(st, t, TW_DISPATCH_RETRY, 503, apr_time_now() + apr_time_from_msec(700),
                       pool) == APR_SUCCESS, "retry at now + 700 ms (status 503)");
    take1(st, "hostA:1", lease, pool, &n);
    is_int(n, 0, "A before next: not taken early");
    take1(st, "hostB:2", lease, pool, &n);
    is_int(n, 0, "B before next: not taken early");
    l = listed(st, 1u << TW_STATE_QUEUED, id, pool);
    ok(l != NULL && l->e.last_status == 503 && l->e.attempts == 1, "listed queued, status 503");
    apr_sleep(apr_time_from_msec(800));
    t = take1(st, "hostA:1", lease, pool, &n);
    ok(t != NULL && t->e.attempts == 2 && t->e.last_status == 503,
       "A after next: takes its own pending entry at once (no idle wait), attempts 2");
    if (t == NULL)
        return;
    ok(E->end_dispatch(st, t, TW_DISPATCH_DEAD, 500, 0, pool) == APR_SUCCESS, "dead (500)");
    is_int(raw_int("XLEN %s", "twwebhook:dead"), 1, "dead: one message in the dead stream");
    is_int(raw_int("XLEN %s", "twwebhook:queue"), 0, "dead: out of the queue stream");
    is_int(raw_pending(), 0, "dead: not pending");
    l = listed(st, 1u << TW_STATE_DEAD, id, pool);
    ok(l != NULL && l->state == TW_STATE_DEAD && l->e.last_status == 500, "dead: listed as dead");
    ok(listed(st, 1u << TW_STATE_QUEUED, id, pool) == NULL, "... not as queued");
    ok(E->count(st, &c, pool) == APR_SUCCESS && c.by_state[TW_STATE_DEAD] == 1
       && c.by_state[TW_STATE_QUEUED] == 0 && c.oldest_queued == 0, "count: one dead, none queued");
    take1(st, "hostB:2", lease, pool, &n);
    is_int(n, 0, "a dead entry is not taken");
    ok(E->requeue(st, id, pool) == APR_SUCCESS, "requeue the dead entry");
    is_int(raw_int("XLEN %s", "twwebhook:dead"), 0, "requeue: out of the dead stream");
    t = take1(st, "hostB:2", lease, pool, &n);
    ok(t != NULL && strcmp(t->e.id, id) == 0 && t->state == TW_STATE_QUEUED,
       "requeued: taken at once");
    ok(E->requeue(st, make_id(pool, 31), pool) == APR_ENOENT, "requeue of no entry: ENOENT");
    if (t != NULL)
        ok(E->end_dispatch(st, t, TW_DISPATCH_DELIVERED, 200, 0, pool) == APR_SUCCESS,
           "requeued: delivered");
}

static void test_list_count(void *st, apr_pool_t *pool)
{
    apr_array_header_t *a = NULL;
    tw_store_counts_t c;
    tw_stored_t *first = NULL;
    unsigned bad = 99;
    int created, i, sorted = 1;

    for (i = 0; i < 3; i++) {
        tw_stored_t *s = make_entry(pool, make_id(pool, 40 + (unsigned)i),
                                    i == 1 ? TW_STATE_DIRECT : TW_STATE_QUEUED);
        ok(put(st, s, &created, pool) == APR_SUCCESS, "list: put %d", i);
    }
    ok(E->settle_direct(st, make_id(pool, 41), 500, 1, pool) == APR_SUCCESS, "list: one held");
    raw_int("HSET twwebhook:e:%s received x", make_id(pool, 42));  /* spoiled by hand */
    ok(E->list(st, 0, &a, &bad, pool) == APR_SUCCESS && a->nelts == 2 && bad == 1,
       "list all: 2 entries, 1 unreadable counted");
    for (i = 1; a != NULL && i < a->nelts; i++)
        sorted &= APR_ARRAY_IDX(a, i - 1, tw_stored_t *)->e.received
                  <= APR_ARRAY_IDX(a, i, tw_stored_t *)->e.received;
    ok(sorted, "list: oldest received first");
    ok(E->list(st, 1u << TW_STATE_HELD, &a, &bad, pool) == APR_SUCCESS && a->nelts == 1
       && bad == 0, "list held: 1");
    ok(E->count(st, &c, pool) == APR_SUCCESS && c.by_state[TW_STATE_QUEUED] == 2
       && c.by_state[TW_STATE_HELD] == 1, "count: 2 queued, 1 held");
    first = listed(st, 1u << TW_STATE_QUEUED, make_id(pool, 40), pool);
    ok(first != NULL && c.oldest_queued == first->e.received,
       "count: the oldest queued one's received");
    for (i = 0; i < 3; i++)
        ok(E->remove(st, make_id(pool, 40 + (unsigned)i), pool) == APR_SUCCESS, "remove %d", i);
    ok(E->count(st, &c, pool) == APR_SUCCESS && c.by_state[0] + c.by_state[1] + c.by_state[2]
       + c.by_state[3] == 0, "count: all gone");
    is_int(raw_int("XLEN %s", "twwebhook:queue"), 0, "no message left in the stream");
}

static void test_refusals(void *st, apr_pool_t *pool)
{
    tw_stored_t *s = make_entry(pool, make_id(pool, 50), TW_STATE_QUEUED);
    void *nowhere = NULL;
    apr_time_t t0;
    apr_status_t rv;
    int created;

    s->e.path = "no-slash";
    ok(put(st, s, &created, pool) == APR_EINVAL, "put: a path that may not be stored: EINVAL");
    s = make_entry(pool, make_id(pool, 50), TW_STATE_QUEUED);
    s->e.headers[0].value = "a\r\nInjected: 1";
    ok(put(st, s, &created, pool) == APR_EINVAL, "put: a header value with CRLF: EINVAL");
    s = make_entry(pool, make_id(pool, 50), TW_STATE_DEAD);
    ok(put(st, s, &created, pool) == APR_EINVAL, "put: only direct or queued");
    ok(E->remove(st, "../x", pool) == APR_EINVAL, "remove: an id that is no id: EINVAL");
    ok(E->open("redis:127.0.0.1:1", TIMEOUT, &nowhere, pool) == APR_SUCCESS,
       "open of a closed port: no I/O yet");
    s = make_entry(pool, make_id(pool, 50), TW_STATE_QUEUED);
    t0 = apr_time_now();
    rv = put(nowhere, s, &created, pool);
    ok(APR_TO_OS_ERROR(rv) == ECONNREFUSED && apr_time_now() - t0 < TIMEOUT,
       "nobody listening: ECONNREFUSED at once (%d)", rv);
}

/* Consumers of the group (one per taker ever seen). */
static long long raw_consumers(void)
{
    redisReply *r = redisCommand(raw, "XINFO CONSUMERS twwebhook:queue dispatch");
    long long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_ARRAY)
        n = (long long)r->elements;
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

static void test_consumers_swept(void *st, apr_pool_t *pool)
{
    tw_stored_t *t;
    int n, created;

    ok(raw_consumers() >= 2, "the takers so far are consumers of the group");
    apr_sleep(apr_time_from_msec(300));
    raw_int("DEL %s", "twwebhook:consumers-swept");
    ok(put(st, make_entry(pool, make_id(pool, 45), TW_STATE_QUEUED), &created, pool)
       == APR_SUCCESS, "sweep: put");
    t = take1(st, "hostC:3", apr_time_from_msec(20), pool, &n);
    is_int(raw_consumers(), 1, "idle for ten leases with nothing pending: deleted, "
           "the taker holding an entry kept");
    ok(t != NULL && E->end_dispatch(st, t, TW_DISPATCH_DELIVERED, 200, 0, pool) == APR_SUCCESS,
       "sweep: delivered");
}

/* twwebhook-inbox redeliver's removal: only the version it saw. */
static void test_remove_unchanged(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 48);
    tw_stored_t *seen, *now;
    int created;

    ok(put(st, make_entry(pool, id, TW_STATE_DIRECT), &created, pool) == APR_SUCCESS
       && E->settle_direct(st, id, 503, 1, pool) == APR_SUCCESS, "remove_unchanged: a held entry");
    seen = listed(st, 0, id, pool);
    apr_sleep(2000);                  /* so that the next write has another updated */
    ok(seen != NULL && put(st, make_entry(pool, id, TW_STATE_DIRECT), &created, pool)
       == APR_SUCCESS, "remove_unchanged: another copy came since");
    ok(seen != NULL && E->remove_unchanged(st, seen, pool) == TW_INBOX_ECHANGED,
       "remove_unchanged of an older version: TW_INBOX_ECHANGED");
    now = listed(st, 0, id, pool);
    ok(now != NULL && E->remove_unchanged(st, now, pool) == APR_SUCCESS,
       "remove_unchanged of the version there: removed");
    ok(listed(st, 0, id, pool) == NULL, "remove_unchanged: gone");
    ok(now != NULL && E->remove_unchanged(st, now, pool) == APR_ENOENT,
       "remove_unchanged again: APR_ENOENT");
}

/* A body of 1 MiB, every byte value, comes back whole. */
static void test_big_body(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 44);
    apr_size_t len = 1024 * 1024, i, total = 0, got = 0;
    unsigned char *data = apr_palloc(pool, len), *back = apr_palloc(pool, len);
    tw_stored_t *s = make_entry(pool, id, TW_STATE_QUEUED), *o = NULL;
    tw_inbox_read_fn rd = NULL;
    void *ctx = NULL;
    int created;

    for (i = 0; i < len; i++)
        data[i] = (unsigned char)rng_below(256);
    s->e.body_length = (apr_off_t)len;
    {
        body_t b = { data, len };

        ok(E->put(st, s, body_read, &b, &created, pool) == APR_SUCCESS && created == 1,
           "big body: put 1 MiB");
    }
    ok(E->open_body(st, id, &o, &rd, &ctx, pool) == APR_SUCCESS
       && o->e.body_length == (apr_off_t)len, "big body: open_body, length 1 MiB");
    while (rd != NULL && total < len
           && rd(ctx, (apr_off_t)total, back + total, len - total, &got) == APR_SUCCESS && got > 0)
        total += got;
    ok(total == len && memcmp(data, back, len) == 0, "big body: byte for byte");
    ok(E->remove(st, id, pool) == APR_SUCCESS, "big body: removed");
}

/* A full Redis (maxmemory reached, noeviction) refuses the put: ENOSPC,
 * which the module answers 503; nothing half-written stays. */
static void test_full(void *st, apr_pool_t *pool)
{
    const char *id = make_id(pool, 49);
    apr_status_t rv;
    redisReply *r;
    int created;

    r = redisCommand(raw, "CONFIG SET maxmemory 1");
    ok(r != NULL && r->type == REDIS_REPLY_STATUS, "full: maxmemory 1 byte");
    if (r != NULL)
        freeReplyObject(r);
    rv = put(st, make_entry(pool, id, TW_STATE_QUEUED), &created, pool);
    ok(APR_TO_OS_ERROR(rv) == ENOSPC, "full: put refused with ENOSPC (%d)", rv);
    r = redisCommand(raw, "CONFIG SET maxmemory 0");
    if (r != NULL)
        freeReplyObject(r);
    ok(listed(st, 0, id, pool) == NULL, "full: nothing stored");
    is_int(raw_int("EXISTS twwebhook:e:%s", id), 0, "full: no hash left behind");
}

/* take_except: a full location's entries stay pending (or unread) with
 * nothing of them changed, and a later take without the skip gets them. */
static void test_take_except(void *st, apr_pool_t *pool)
{
    const char *a1 = make_id(pool, 80), *a2 = make_id(pool, 81), *b = make_id(pool, 82);
    tw_stored_t *s, *l;
    apr_array_header_t *skip = apr_array_make(pool, 1, sizeof(const char *));
    apr_array_header_t *taken = NULL;
    int created, i, got_b = 0;

    s = make_entry(pool, a1, TW_STATE_QUEUED);
    s->scope = "web /a";
    ok(put(st, s, &created, pool) == APR_SUCCESS, "take_except: put /a's first");
    s = make_entry(pool, a2, TW_STATE_QUEUED);
    s->scope = "web /a";
    ok(put(st, s, &created, pool) == APR_SUCCESS, "take_except: put /a's second");
    s = make_entry(pool, b, TW_STATE_QUEUED);
    s->scope = "web /b";
    ok(put(st, s, &created, pool) == APR_SUCCESS, "take_except: put /b's");
    APR_ARRAY_PUSH(skip, const char *) = "web /a";
    ok(E->take_except != NULL
       && E->take_except(st, 10, apr_time_from_sec(5), "hostE:5", skip, &taken, pool)
          == APR_SUCCESS, "take_except, leaving /a alone");
    for (i = 0; taken != NULL && i < taken->nelts; i++)
        got_b += strcmp(APR_ARRAY_IDX(taken, i, tw_stored_t *)->e.id, b) == 0;
    ok(taken && taken->nelts == 1 && got_b == 1, "... takes /b's only");
    l = listed(st, 0, a1, pool);
    ok(l && l->state == TW_STATE_QUEUED && l->e.attempts == 0 && l->next == 0,
       "... /a's entry unchanged: queued, attempts 0, due now");
    is_int(raw_pending(), 3, "... /a's messages stay pending with the taker (read, not acknowledged)");
    ok(E->take_except(st, 10, apr_time_from_sec(5), "hostE:5", skip, &taken, pool) == APR_SUCCESS
       && taken->nelts == 0, "a second take_except, /a still full: nothing, /b's is leased");
    l = listed(st, 0, a2, pool);
    ok(l && l->e.attempts == 0, "... still no attempt counted for /a's");
    ok(E->take(st, 10, apr_time_from_sec(5), "hostE:5", &taken, pool) == APR_SUCCESS
       && taken->nelts == 2, "/a has room again: the taker's next take gets its two");
    for (i = 0; taken != NULL && i < taken->nelts; i++)
        ok(APR_ARRAY_IDX(taken, i, tw_stored_t *)->e.attempts == 1,
           "... /a's entry %d at attempts 1", i + 1);
    ok(E->remove(st, a1, pool) == APR_SUCCESS && E->remove(st, a2, pool) == APR_SUCCESS
       && E->remove(st, b, pool) == APR_SUCCESS, "take_except: drop them");
    is_int(raw_pending(), 0, "... no message left pending");
}

/* An entry spoiled by hand (its next field gone) must not stop every take. */
static void test_spoiled_next(void *st, apr_pool_t *pool)
{
    apr_array_header_t *a = NULL;
    int created;

    ok(put(st, make_entry(pool, make_id(pool, 46), TW_STATE_QUEUED), &created, pool)
       == APR_SUCCESS && put(st, make_entry(pool, make_id(pool, 47), TW_STATE_QUEUED), &created,
                             pool) == APR_SUCCESS, "spoiled: two puts");
    raw_int("HDEL twwebhook:e:%s next", make_id(pool, 46));
    ok(E->take(st, 10, apr_time_from_sec(5), "hostD:4", &a, pool) == APR_SUCCESS
       && find(a, make_id(pool, 47)) != NULL,
       "spoiled: the take still hands out the sound entry");
    ok(E->remove(st, make_id(pool, 46), pool) == APR_SUCCESS
       && E->remove(st, make_id(pool, 47), pool) == APR_SUCCESS, "spoiled: both removed");
}

/* A connection closed under the store (a restart of redis-server, a
 * timeout on its side) is made again within the call. */
static void test_reconnect(void *st, apr_pool_t *pool)
{
    tw_store_counts_t c;
    redisReply *r;

    ok(E->count(st, &c, pool) == APR_SUCCESS, "reconnect: the store is connected");
    r = redisCommand(raw, "CLIENT KILL TYPE normal SKIPME yes");
    ok(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 1,
       "reconnect: its connection killed on the server");
    if (r != NULL)
        freeReplyObject(r);
    ok(E->count(st, &c, pool) == APR_SUCCESS, "reconnect: the next call still succeeds");
}

static void phase_all(void *st, apr_pool_t *pool)
{
    test_spec(pool);
    test_put(st, pool);
    test_direct(st, pool);
    test_two_takers(st, pool);
    test_dead_taker(st, pool);
    test_retry_dead_requeue(st, pool);
    test_list_count(st, pool);
    test_consumers_swept(st, pool);
    test_take_except(st, pool);
    test_spoiled_next(st, pool);
    test_remove_unchanged(st, pool);
    test_big_body(st, pool);
    test_full(st, pool);
    test_reconnect(st, pool);
    test_refusals(st, pool);
}

static void phase_put(void *st, apr_pool_t *pool)
{
    int created = -1;

    ok(put(st, make_entry(pool, CRASH_ID, TW_STATE_QUEUED), &created, pool) == APR_SUCCESS
       && created == 1, "crash: put acknowledged");
}

static void phase_check(void *st, apr_pool_t *pool)
{
    tw_stored_t *t;
    int n;

    check_body(st, CRASH_ID, "after kill -9 and restart", pool);
    t = take1(st, "hostB:2", apr_time_from_sec(5), pool, &n);
    ok(t != NULL && strcmp(t->e.id, CRASH_ID) == 0, "after restart: still queued, taken");
    if (t != NULL)
        ok(E->end_dispatch(st, t, TW_DISPATCH_DELIVERED, 200, 0, pool) == APR_SUCCESS,
           "after restart: delivered");
}

/* The same store through redis-server's unix socket (spec "redis:/path"). */
static void phase_unix(const char *spec, apr_pool_t *pool)
{
    const char *id = make_id(pool, 70);
    void *st = NULL;
    int created = -1;

    if (!ok(spec != NULL && E->check_spec(spec, pool) == NULL
            && E->open(spec, TIMEOUT, &st, pool) == APR_SUCCESS, "unix: open %s",
            spec ? spec : "(none)"))
        return;
    ok(put(st, make_entry(pool, id, TW_STATE_QUEUED), &created, pool) == APR_SUCCESS
       && created == 1, "unix: put");
    check_body(st, id, "unix", pool);
    is_int(raw_int("EXISTS twwebhook:e:%s", id), 1, "unix: the same server as over TCP");
    ok(E->remove(st, id, pool) == APR_SUCCESS, "unix: removed");
}

/* One call on a frozen server: APR_TIMEUP within the timeout and a slack. */
static void frozen_call(void *st, const char *what, apr_pool_t *pool)
{
    tw_store_counts_t c;
    apr_time_t t0 = apr_time_now();
    apr_status_t rv = E->count(st, &c, pool);
    apr_interval_time_t took = apr_time_now() - t0;

    ok(APR_STATUS_IS_TIMEUP(rv), "frozen, %s: APR_TIMEUP (%d)", what, rv);
    ok(took >= TIMEOUT - apr_time_from_msec(50) && took < TIMEOUT + SLACK,
       "frozen, %s: within the timeout (%ld ms)", what, (long)apr_time_as_msec(took));
}

static void phase_frozen(void *st, pid_t pid, apr_pool_t *pool)
{
    tw_store_counts_t c;
    tw_stored_t *s = make_entry(pool, make_id(pool, 60), TW_STATE_QUEUED);
    apr_time_t t0;
    apr_status_t rv;
    int created;

    ok(E->count(st, &c, pool) == APR_SUCCESS, "frozen: a first call connects");
    if (!ok(pid > 0 && kill(pid, SIGSTOP) == 0, "frozen: redis-server stopped (SIGSTOP)"))
        return;
    frozen_call(st, "on the connection it had", pool);
    frozen_call(st, "on a new connection", pool);
    t0 = apr_time_now();
    rv = put(st, s, &created, pool);
    ok(APR_STATUS_IS_TIMEUP(rv) && apr_time_now() - t0 < TIMEOUT + SLACK,
       "frozen: a put ends with APR_TIMEUP too (%d)", rv);
    ok(kill(pid, SIGCONT) == 0, "redis-server continued (SIGCONT)");
    ok(E->count(st, &c, pool) == APR_SUCCESS, "thawed: the next call works (a new connection)");
}

int unit_store_redis(apr_pool_t *pool, const char *phase, const char *spec, const char *extra)
{
    void *st = NULL;

    signal(SIGPIPE, SIG_IGN);         /* hiredis writes with write(2) */
    if (!raw_connect(spec)) {
        printf("Bail out! cannot reach %s\n", spec);
        return 0;
    }
    if (strcmp(phase, "all") == 0 || strcmp(phase, "put") == 0)
        raw_flush();
    if (!ok(E->open(spec, TIMEOUT, &st, pool) == APR_SUCCESS, "open %s", spec))
        return 1;
    if (strcmp(phase, "all") == 0)
        phase_all(st, pool);
    else if (strcmp(phase, "put") == 0)
        phase_put(st, pool);
    else if (strcmp(phase, "check") == 0)
        phase_check(st, pool);
    else if (strcmp(phase, "frozen") == 0)
        phase_frozen(st, extra ? (pid_t)atol(extra) : 0, pool);
    else if (strcmp(phase, "unix") == 0)
        phase_unix(extra, pool);
    else {
        printf("Bail out! unknown phase %s\n", phase);
        return 0;
    }
    redisFree(raw);
    return 1;
}
