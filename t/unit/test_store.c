/*
 * SPDX-License-Identifier: Apache-2.0
 * test_store.c - unit tests of tw_store.c and the directory engine
 * (tw_store_dir.c over tw_inbox.c): states, direct settling, the
 * dispatcher's take and lease, a person's requeue, counts, entries written
 * by 0.1.0, and several takers at once.
 *
 * Makes (and removes) a directory under apr_temp_dir_get().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

#define SEC APR_USEC_PER_SEC

typedef struct {
    const char *data;
    apr_size_t len;
} body_t;

static apr_status_t body_source(void *ctx, apr_off_t offset, void *buf, apr_size_t cap,
                                apr_size_t *got)
{
    const body_t *b = ctx;

    *got = 0;
    if (offset >= (apr_off_t)b->len)
        return APR_SUCCESS;
    *got = b->len - (apr_size_t)offset < cap ? b->len - (apr_size_t)offset : cap;
    memcpy(buf, b->data + offset, *got);
    return APR_SUCCESS;
}

/* A copy of delivery number n, in state, with the body given. */
static tw_stored_t copy_of(int n, tw_state_t state, const body_t *body)
{
    unsigned char key[TW_MAC_LEN];
    tw_stored_t s;

    memset(&s, 0, sizeof(s));
    memset(key, 0x40 + n, sizeof(key));
    if (tw_inbox_id(key, s.e.id) != TW_OK)
        abort();
    s.e.path = "/hooks/store";
    s.e.headers[0].name = "Event";
    s.e.headers[0].value = "task.created";
    s.e.nheaders = 1;
    s.e.body_length = (apr_off_t)body->len;
    s.state = state;
    s.secret_index = 1;
    s.scope = "example.org /hooks";
    return s;
}

/* The stored entry id, or NULL when it is not there. */
static const tw_stored_t *find(tw_store_t *st, const char *id, apr_pool_t *pool)
{
    apr_array_header_t *all = NULL;
    int i;

    if (tw_store_list(st, 0, &all, NULL, pool) != APR_SUCCESS)
        return NULL;
    for (i = 0; i < all->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(all, i, tw_stored_t *)->e.id, id) == 0)
            return APR_ARRAY_IDX(all, i, tw_stored_t *);
    return NULL;
}

static int taken_count(tw_store_t *st, const char *owner, apr_interval_time_t lease,
                       apr_array_header_t **ptaken, apr_pool_t *pool)
{
    apr_array_header_t *taken = NULL;

    if (tw_store_take(st, 100, lease, owner, &taken, pool) != APR_SUCCESS)
        return -1;
    if (ptaken != NULL)
        *ptaken = taken;
    return taken->nelts;
}

static void test_store_names(apr_pool_t *pool)
{
    char buf[128];

    is_str(tw_state_name(TW_STATE_DIRECT), "direct", "state name: direct");
    is_str(tw_state_name(TW_STATE_HELD), "held", "state name: held");
    is_str(tw_state_name(TW_STATE_QUEUED), "queued", "state name: queued");
    is_str(tw_state_name(TW_STATE_DEAD), "dead", "state name: dead");
    is_int(tw_state_parse("queued"), TW_STATE_QUEUED, "state parse: queued");
    is_int(tw_state_parse("dead"), TW_STATE_DEAD, "state parse: dead");
    is_int(tw_state_parse("Queued"), -1, "state parse: Queued is unknown (exact names)");
    is_int(tw_state_parse(NULL), -1, "state parse: NULL is unknown");

    ok(tw_store_check_spec("/var/spool/twwebhook", pool) == NULL, "spec: an absolute directory");
    ok(tw_store_check_spec("var/spool", pool) != NULL, "spec: a relative one is refused");
    ok(tw_store_check_spec("", pool) != NULL, "spec: empty is refused");
    ok(tw_store_check_spec(NULL, pool) != NULL, "spec: NULL is refused");
    ok(tw_store_check_spec("redis:127.0.0.1:6379", pool) == NULL, "spec: redis:host:port");
    ok(tw_store_check_spec("redis:127.0.0.1:6379/2", pool) == NULL, "spec: redis:host:port/db");
    ok(tw_store_check_spec("redis:127.0.0.1", pool) == NULL, "spec: redis without a port: 6379, as the replay cache");
    ok(tw_store_spec_is_redis("redis:h:1"), "redis:h:1 names Redis");
    ok(!tw_store_spec_is_redis("/redis:h:1"), "/redis:h:1 names a directory");
    is_str(tw_store_strerror(TW_INBOX_ECHANGED, buf, sizeof(buf)),
           "the entry changed meanwhile (another copy came)",
           "tw_store_strerror knows the inbox's statuses");
    is_str(tw_store_strerror(APR_TIMEUP, buf, sizeof(buf)), "the store did not answer in time",
           "... and APR_TIMEUP");
}

static void test_store_parse(apr_pool_t *pool)
{
    static const char with_store[] =
        "twwebhook-inbox 1\nreceived 1\nupdated 2\nattempts 3\nstatus 503\nstate queued\n"
        "next 1700000000000000\nsecret-index 2\nscope example.org /hooks\nowner web1:42\n"
        "path /hooks\nlength 0\n\n";
    static const char *bad[] = {
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\nstate sleeping\n"
        "path /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\nnext -1\n"
        "path /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\nnext 1\nstate dead\n"
        "path /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\nscope a\x01\n"
        "path /\nlength 0\n\n",
    };
    tw_inbox_entry_t e;
    size_t i;

    memset(&e, 0, sizeof(e));
    is_int(tw_inbox_parse(with_store, sizeof(with_store) - 1, &e, pool), APR_SUCCESS,
           "an entry with the store's lines parses (tw_inbox_parse)");
    is_str(e.path, "/hooks", "... its path after them");
    is_int(e.last_status, 503, "... its status before them");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(tw_inbox_parse(bad[i], strlen(bad[i]), &e, pool), TW_INBOX_ECORRUPT,
               "malformed store line %u refused", (unsigned)i);
}

/* put, settle_direct and the old calls beside them */
static void test_store_direct(tw_store_t *st, const char *dir, apr_pool_t *pool)
{
    body_t body = { "{\"a\":1}", 7 };
    tw_stored_t s = copy_of(1, TW_STATE_DIRECT, &body);
    const tw_stored_t *got;
    int created = -1;

    is_int(tw_store_put(st, &s, body_source, &body, &created, pool), APR_SUCCESS,
           "direct: put a copy");
    is_int(created, 1, "... it made the entry");
    got = find(st, s.e.id, pool);
    ok(got != NULL, "... listed");
    is_int(got ? (int)got->state : -1, TW_STATE_DIRECT, "... state direct");
    is_int(got ? (int)got->e.attempts : -1, 1, "... attempts 1");
    is_int(got ? got->secret_index : -2, 1, "... the secret index kept");
    is_str(got && got->scope ? got->scope : "", "example.org /hooks", "... the scope kept");
    is_int(tw_store_put(st, &s, body_source, &body, &created, pool), APR_SUCCESS,
           "direct: a second copy");
    is_int(created, 0, "... did not make the entry");
    got = find(st, s.e.id, pool);
    is_int(got ? (int)got->e.attempts : -1, 2, "... attempts 2");

    is_int(tw_store_settle_direct(st, s.e.id, 502, 0, pool), APR_SUCCESS,
           "direct: the app answered 502, no hold");
    got = find(st, s.e.id, pool);
    is_int(got ? got->e.last_status : -1, 502, "... status 502");
    is_int(got ? (int)got->state : -1, TW_STATE_DIRECT, "... still direct");
    is_int(tw_inbox_set_status(dir, s.e.id, 504, pool), APR_SUCCESS,
           "the old tw_inbox_set_status on it");
    got = find(st, s.e.id, pool);
    ok(got && got->secret_index == 1 && got->scope != NULL, "... keeps the store's lines");
    is_int(tw_store_settle_direct(st, s.e.id, 503, 1, pool), APR_SUCCESS,
           "direct: the app answered 503, held");
    got = find(st, s.e.id, pool);
    is_int(got ? (int)got->state : -1, TW_STATE_HELD, "... state held");
    is_int(got ? got->e.last_status : -1, 503, "... status 503");
    is_int(tw_store_put(st, &s, body_source, &body, &created, pool), APR_SUCCESS,
           "direct: a copy of a held entry");
    got = find(st, s.e.id, pool);
    ok(got && got->state == TW_STATE_HELD && got->e.attempts == 3 && got->e.last_status == 0,
       "... stays held, attempts 3, status cleared");
    is_int(tw_store_settle_direct(st, s.e.id, 200, 0, pool), APR_SUCCESS,
           "direct: its 2xx");
    ok(find(st, s.e.id, pool) == NULL, "... removed the entry");
    ok(APR_STATUS_IS_ENOENT(tw_store_settle_direct(st, s.e.id, 500, 0, pool)),
       "settling a gone entry: ENOENT");

    /* twwebhook-inbox redeliver: removed only while unchanged */
    s.state = TW_STATE_DIRECT;
    is_int(tw_store_put(st, &s, body_source, &body, NULL, pool), APR_SUCCESS,
           "unchanged: put a copy");
    got = find(st, s.e.id, pool);
    is_int(tw_store_put(st, &s, body_source, &body, NULL, pool), APR_SUCCESS,
           "... another copy comes after it was read");
    is_int(got ? tw_store_remove_unchanged(st, got, pool) : -1, TW_INBOX_ECHANGED,
           "... removing the version read: TW_INBOX_ECHANGED");
    got = find(st, s.e.id, pool);
    ok(got != NULL, "... kept");
    is_int(got ? tw_store_remove_unchanged(st, got, pool) : -1, APR_SUCCESS,
           "... removing the version now read: removed");
    ok(got && APR_STATUS_IS_ENOENT(tw_store_remove_unchanged(st, got, pool)), "... again: ENOENT");

    s.state = TW_STATE_HELD;
    is_int(tw_store_put(st, &s, body_source, &body, NULL, pool), APR_EINVAL,
           "put in state held: EINVAL (a copy starts direct or queued)");
}

/* take, open_body, end_dispatch, requeue, and the lease running out */
static void test_store_dispatch(tw_store_t *st, apr_pool_t *pool)
{
    body_t body = { "{\"queued\":true}", 15 };
    tw_stored_t s = copy_of(2, TW_STATE_QUEUED, &body), later = copy_of(3, TW_STATE_QUEUED, &body);
    apr_array_header_t *taken = NULL;
    const tw_stored_t *a = NULL, *b = NULL, *got;
    tw_stored_t *opened = NULL;
    tw_inbox_read_fn rd = NULL;
    void *ctx = NULL;
    char buf[64];
    apr_size_t n = 0;
    apr_time_t before;
    int created = -1;

    is_int(tw_store_put(st, &s, body_source, &body, &created, pool), APR_SUCCESS,
           "queue: put a queued copy");
    is_int(created, 1, "... it made the entry");
    got = find(st, s.e.id, pool);
    ok(got && got->state == TW_STATE_QUEUED && got->e.attempts == 0,
       "... queued, attempts 0 (the dispatcher counts its own)");
    later.next = apr_time_now() + 3600 * SEC;
    is_int(tw_store_put(st, &later, body_source, &body, NULL, pool), APR_SUCCESS,
           "queue: put one not due for an hour");

    before = apr_time_now();
    is_int(taken_count(st, "web1:1", 60 * SEC, &taken, pool), 1,
           "take: one entry is due, taken by web1:1");
    a = taken && taken->nelts ? APR_ARRAY_IDX(taken, 0, tw_stored_t *) : NULL;
    is_str(a ? a->e.id : "", s.e.id, "... the due one");
    is_int(a ? (int)a->e.attempts : -1, 1, "... attempts 1");
    ok(a && a->next >= before + 60 * SEC && a->next <= apr_time_now() + 60 * SEC,
       "... next is the lease's end");
    is_int(taken_count(st, "web2:2", 60 * SEC, NULL, pool), 0,
           "take: a second taker gets nothing while the lease runs");
    is_int(tw_store_requeue(st, s.e.id, pool), APR_SUCCESS, "requeue of the entry in flight");
    is_int(taken_count(st, "web2:2", 60 * SEC, NULL, pool), 0,
           "... leaves the lease alone (no second dispatch)");

    is_int(tw_store_open_body(st, s.e.id, &opened, &rd, &ctx, pool), APR_SUCCESS,
           "open_body of the taken entry");
    if (rd != NULL)
        is_int(rd(ctx, 0, buf, sizeof(buf), &n), APR_SUCCESS, "... reads");
    else
        ok(0, "... reads (no reader)");
    ok(n == body.len && memcmp(buf, body.data, n) == 0, "... the body, byte for byte");
    is_int(opened ? (int)opened->e.attempts : -1, 1, "... with the taken version's metadata");

    is_int(a ? tw_store_end_dispatch(st, a, TW_DISPATCH_RETRY, 503, apr_time_now() - 1, pool)
             : -1, APR_SUCCESS, "end: retry after a 503, due at once");
    got = find(st, s.e.id, pool);
    ok(got && got->state == TW_STATE_QUEUED && got->e.last_status == 503,
       "... queued, status 503");
    is_int(taken_count(st, "web2:2", 60 * SEC, &taken, pool), 1, "take: web2:2 takes it now");
    b = taken && taken->nelts ? APR_ARRAY_IDX(taken, 0, tw_stored_t *) : NULL;
    is_int(b ? (int)b->e.attempts : -1, 2, "... attempts 2");
    is_int(a ? tw_store_end_dispatch(st, a, TW_DISPATCH_DELIVERED, 200, 0, pool) : -1,
           TW_INBOX_ECHANGED, "end: web1:1's stale take: TW_INBOX_ECHANGED");
    ok(find(st, s.e.id, pool) != NULL, "... and the entry is kept");
    is_int(b ? tw_store_end_dispatch(st, b, TW_DISPATCH_DEAD, 500, 0, pool) : -1, APR_SUCCESS,
           "end: web2:2 gives up (dead, 500)");
    got = find(st, s.e.id, pool);
    ok(got && got->state == TW_STATE_DEAD && got->e.last_status == 500, "... dead, status 500");
    is_int(taken_count(st, "web2:2", 60 * SEC, NULL, pool), 0, "take: a dead entry is not taken");

    is_int(tw_store_requeue(st, s.e.id, pool), APR_SUCCESS, "requeue the dead entry");
    got = find(st, s.e.id, pool);
    ok(got && got->state == TW_STATE_QUEUED && got->next <= apr_time_now(), "... queued, due now");

    /* the lease runs out: a dispatcher that died leaves it due again */
    is_int(taken_count(st, "web1:1", 2000, &taken, pool), 1, "take with a 2 ms lease");
    a = taken && taken->nelts ? APR_ARRAY_IDX(taken, 0, tw_stored_t *) : NULL;
    apr_sleep(20000);
    is_int(taken_count(st, "web2:2", 60 * SEC, &taken, pool), 1,
           "take: once the lease ran out, another taker gets it");
    b = taken && taken->nelts ? APR_ARRAY_IDX(taken, 0, tw_stored_t *) : NULL;
    is_int(b ? (int)b->e.attempts : -1, 4, "... attempts 4");
    is_int(a ? tw_store_end_dispatch(st, a, TW_DISPATCH_RETRY, 502, 0, pool) : -1,
           TW_INBOX_ECHANGED, "end: the first taker, late: TW_INBOX_ECHANGED");
    is_int(b ? tw_store_end_dispatch(st, b, TW_DISPATCH_DELIVERED, 200, 0, pool) : -1,
           APR_SUCCESS, "end: the second taker delivered");
    ok(find(st, s.e.id, pool) == NULL, "... the entry is gone");
    ok(b && APR_STATUS_IS_ENOENT(tw_store_end_dispatch(st, b, TW_DISPATCH_DELIVERED, 200, 0,
                                                       pool)),
       "end: again: ENOENT");

    /* a queued copy of an existing entry changes nothing */
    is_int(tw_store_put(st, &later, body_source, &body, &created, pool), APR_SUCCESS,
           "queue: a second queued copy");
    got = find(st, later.e.id, pool);
    ok(created == 0 && got && got->e.attempts == 0 && got->next == later.next,
       "... kept the entry as it was");
    is_int(tw_store_remove(st, later.e.id, pool), APR_SUCCESS, "remove (drop) it");
    ok(APR_STATUS_IS_ENOENT(tw_store_remove(st, later.e.id, pool)), "... again: ENOENT");

    is_int(tw_store_take(st, 0, SEC, "x", &taken, pool), APR_EINVAL, "take max 0: EINVAL");
    is_int(tw_store_take(st, 1, SEC, "a\nb", &taken, pool), APR_EINVAL,
           "take with an owner holding LF: EINVAL");
}

/* An entry as 0.1.0 wrote it (no store lines): direct, and usable. */
static void test_store_old_entry(tw_store_t *st, const char *dir, apr_pool_t *pool)
{
    static const char old[] =
        "twwebhook-inbox 1\nreceived 1000\nupdated 2000\nattempts 2\nstatus 503\n"
        "path /hooks/old\nheader Event: x\nlength 3\n\nold";
    const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    apr_array_header_t *taken = NULL;
    const tw_stored_t *got;
    apr_file_t *f;
    apr_size_t len = sizeof(old) - 1;
    char *text = NULL;

    is_int(apr_file_open(&f, apr_pstrcat(pool, dir, "/", id, NULL),
                         APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL, APR_FPROT_UREAD
                         | APR_FPROT_UWRITE, pool), APR_SUCCESS, "0.1.0: write an old entry");
    apr_file_write_full(f, old, len, NULL);
    apr_file_close(f);
    got = find(st, id, pool);
    ok(got != NULL, "0.1.0: listed");
    is_int(got ? (int)got->state : -1, TW_STATE_DIRECT, "... as direct (status 503 or not)");
    is_int(got ? got->secret_index : -2, -1, "... secret index unknown (-1)");
    ok(got && got->scope == NULL && got->next == 0, "... no scope, next 0");
    is_int(tw_store_requeue(st, id, pool), APR_SUCCESS, "0.1.0: requeue it");
    is_int(taken_count(st, "web3:3", 60 * SEC, &taken, pool), 1, "... taken");
    got = taken && taken->nelts ? APR_ARRAY_IDX(taken, 0, tw_stored_t *) : NULL;
    ok(got && got->e.received == 1000 && got->e.attempts == 3, "... received kept, attempts 3");
    {
        apr_file_t *in;
        apr_finfo_t fi;

        if (apr_file_open(&in, apr_pstrcat(pool, dir, "/", id, NULL), APR_FOPEN_READ, 0, pool)
            == APR_SUCCESS) {
            apr_file_info_get(&fi, APR_FINFO_SIZE, in);
            text = apr_pcalloc(pool, (apr_size_t)fi.size + 1);
            apr_file_read_full(in, text, (apr_size_t)fi.size, NULL);
            apr_file_close(in);
        }
    }
    ok(text && strstr(text, "\nstate queued\nnext ") && strstr(text, "\nowner web3:3\npath ")
       && strstr(text, "\nlength 3\n\nold"), "... rewritten with the store's lines, body kept");
    is_int(got ? tw_store_end_dispatch(st, got, TW_DISPATCH_DELIVERED, 200, 0, pool) : -1,
           APR_SUCCESS, "... delivered: gone");
}

static void test_store_list_count(tw_store_t *st, apr_pool_t *pool)
{
    body_t body = { "x", 1 };
    tw_stored_t d = copy_of(4, TW_STATE_DIRECT, &body), q1 = copy_of(5, TW_STATE_QUEUED, &body),
                q2 = copy_of(6, TW_STATE_QUEUED, &body);
    apr_array_header_t *list = NULL;
    tw_store_counts_t c;
    const tw_stored_t *first;

    is_int(tw_store_put(st, &d, body_source, &body, NULL, pool), APR_SUCCESS, "count: a direct");
    is_int(tw_store_put(st, &q1, body_source, &body, NULL, pool), APR_SUCCESS, "count: a queued");
    apr_sleep(1000);
    is_int(tw_store_put(st, &q2, body_source, &body, NULL, pool), APR_SUCCESS,
           "count: another queued, later");
    is_int(tw_store_settle_direct(st, d.e.id, 500, 1, pool), APR_SUCCESS, "... the direct held");
    is_int(tw_store_count(st, &c, pool), APR_SUCCESS, "count");
    ok(c.by_state[TW_STATE_DIRECT] == 0 && c.by_state[TW_STATE_HELD] == 1
       && c.by_state[TW_STATE_QUEUED] == 2 && c.by_state[TW_STATE_DEAD] == 0,
       "... 0 direct, 1 held, 2 queued, 0 dead");
    first = find(st, q1.e.id, pool);
    ok(first && c.oldest_queued == first->e.received, "... the oldest queued is the first");
    is_int(tw_store_list(st, 1u << TW_STATE_QUEUED, &list, NULL, pool), APR_SUCCESS,
           "list the queued");
    is_int(list ? list->nelts : -1, 2, "... two");
    is_str(list && list->nelts ? APR_ARRAY_IDX(list, 0, tw_stored_t *)->e.id : "", q1.e.id,
           "... oldest first");
    is_int(tw_store_list(st, (1u << TW_STATE_HELD) | (1u << TW_STATE_DEAD), &list, NULL, pool),
           APR_SUCCESS, "list held and dead");
    is_int(list ? list->nelts : -1, 1, "... one");
    is_int(tw_store_list(st, 1u << 7, &list, NULL, pool), APR_EINVAL,
           "list with an unknown state bit: EINVAL");
    ok(tw_store_remove(st, d.e.id, pool) == APR_SUCCESS
       && tw_store_remove(st, q1.e.id, pool) == APR_SUCCESS
       && tw_store_remove(st, q2.e.id, pool) == APR_SUCCESS, "count: drop them");
    is_int(tw_store_count(st, &c, pool), APR_SUCCESS, "count again");
    ok(c.by_state[TW_STATE_QUEUED] == 0 && c.oldest_queued == 0, "... none queued, no oldest");
}

/* take_except: a full location's entries are left alone, their
 * attempts not counted, and taken by a later take without the skip. */
static void test_store_take_except(tw_store_t *st, apr_pool_t *pool)
{
    body_t body = { "y", 1 };
    tw_stored_t a1 = copy_of(7, TW_STATE_QUEUED, &body), a2 = copy_of(8, TW_STATE_QUEUED, &body),
                b = copy_of(9, TW_STATE_QUEUED, &body), none = copy_of(10, TW_STATE_QUEUED, &body);
    apr_array_header_t *skip = apr_array_make(pool, 2, sizeof(const char *));
    apr_array_header_t *taken = NULL;
    const tw_stored_t *t, *seen;
    int i, got_a = 0, got_b = 0, got_none = 0;

    a1.scope = a2.scope = "example.org /a";
    b.scope = "example.org /b";
    none.scope = NULL;
    ok(tw_store_put(st, &a1, body_source, &body, NULL, pool) == APR_SUCCESS
       && tw_store_put(st, &a2, body_source, &body, NULL, pool) == APR_SUCCESS
       && tw_store_put(st, &b, body_source, &body, NULL, pool) == APR_SUCCESS
       && tw_store_put(st, &none, body_source, &body, NULL, pool) == APR_SUCCESS,
       "take_except: 2 queued from /a, 1 from /b, 1 without a scope");
    APR_ARRAY_PUSH(skip, const char *) = "example.org /a";
    is_int(tw_store_take_except(st, 10, 60 * SEC, "web1:1", skip, &taken, pool), APR_SUCCESS,
           "take_except, leaving /a alone");
    for (i = 0; taken != NULL && i < taken->nelts; i++) {
        t = APR_ARRAY_IDX(taken, i, tw_stored_t *);
        got_a += strcmp(t->e.id, a1.e.id) == 0 || strcmp(t->e.id, a2.e.id) == 0;
        got_b += strcmp(t->e.id, b.e.id) == 0;
        got_none += strcmp(t->e.id, none.e.id) == 0;
    }
    ok(taken && taken->nelts == 2 && got_a == 0 && got_b == 1 && got_none == 1,
       "... takes /b's and the one without a scope, none of /a's");
    seen = find(st, a1.e.id, pool);
    ok(seen && seen->state == TW_STATE_QUEUED && seen->e.attempts == 0 && seen->next == 0,
       "... /a's entry unchanged: queued, attempts 0, due now");
    is_int(taken_count(st, "web2:2", 60 * SEC, &taken, pool), 2,
           "a take without the skip then gets /a's two");
    for (i = 0; taken != NULL && i < taken->nelts; i++)
        ok(APR_ARRAY_IDX(taken, i, tw_stored_t *)->e.attempts == 1,
           "... entry %d of /a: attempts 1 (the skip counted none)", i + 1);
    apr_array_clear(skip);
    is_int(tw_store_take_except(st, 10, 60 * SEC, "web1:1", skip, &taken, pool), APR_SUCCESS,
           "take_except with an empty skip: as take");
    is_int(taken ? taken->nelts : -1, 0, "... nothing left due");
    APR_ARRAY_PUSH(skip, const char *) = NULL;
    is_int(tw_store_take_except(st, 10, 60 * SEC, "web1:1", skip, &taken, pool), APR_EINVAL,
           "take_except with a NULL scope in skip: EINVAL");
    ok(tw_store_remove(st, a1.e.id, pool) == APR_SUCCESS
       && tw_store_remove(st, a2.e.id, pool) == APR_SUCCESS
       && tw_store_remove(st, b.e.id, pool) == APR_SUCCESS
       && tw_store_remove(st, none.e.id, pool) == APR_SUCCESS, "take_except: drop them");
}

/*
 * Several dispatchers (processes) take from one directory at once: every
 * entry is taken exactly once while the leases run.
 */
#define TAKERS    6
#define QUEUED_N  30

static int taker_child(const char *dir, int k, int out_fd)
{
    apr_pool_t *pool;
    tw_store_t *st = NULL;
    apr_array_header_t *taken = NULL;
    int i, rounds;

    apr_pool_create(&pool, NULL);
    if (tw_store_open(dir, SEC, &st, pool) != APR_SUCCESS)
        return 1;
    for (rounds = 0; rounds < 20; rounds++) {
        if (tw_store_take(st, 3, 600 * SEC, apr_psprintf(pool, "taker:%d", k), &taken, pool)
            != APR_SUCCESS)
            return 1;
        for (i = 0; i < taken->nelts; i++) {
            const char *line = apr_pstrcat(pool, APR_ARRAY_IDX(taken, i, tw_stored_t *)->e.id,
                                           "\n", NULL);
            if (write(out_fd, line, strlen(line)) != (ssize_t)strlen(line))
                return 1;
        }
    }
    return 0;
}

static void test_store_takers(apr_pool_t *parent, const char *base)
{
    const char *dir = apr_pstrcat(parent, base, "/takers", NULL);
    body_t body = { "{}", 2 };
    pid_t pids[TAKERS];
    int i, fds[2], failed = 0, lines = 0, dup = 0;
    char *all, *line, *last;
    apr_hash_t *seen;
    apr_pool_t *pool;
    tw_store_t *st = NULL;
    char buf[QUEUED_N * 2 * (TW_INBOX_ID_LEN + 1) + 1];
    size_t got = 0;
    ssize_t n;

    apr_pool_create(&pool, parent);
    is_int(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS,
           "takers: directory made");
    require_int(tw_store_open(dir, SEC, &st, pool), APR_SUCCESS, "takers: store opened");
    for (i = 0; i < QUEUED_N; i++) {
        tw_stored_t s = copy_of(0, TW_STATE_QUEUED, &body);

        apr_snprintf(s.e.id + 56, 9, "%08x", (unsigned)i);
        if (tw_store_put(st, &s, body_source, &body, NULL, pool) != APR_SUCCESS)
            failed++;
    }
    is_int(failed, 0, "takers: %d queued entries put", QUEUED_N);
    require_int(pipe(fds), 0, "takers: a pipe");
    fflush(stdout);
    for (i = 0; i < TAKERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(fds[0]);
            _exit(taker_child(dir, i, fds[1]));
        }
    }
    close(fds[1]);
    while (got < sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    failed = 0;
    for (i = 0; i < TAKERS; i++) {
        int wstatus = 0;

        if (pids[i] < 0 || waitpid(pids[i], &wstatus, 0) != pids[i] || !WIFEXITED(wstatus)
            || WEXITSTATUS(wstatus) != 0)
            failed++;
    }
    is_int(failed, 0, "takers: %d processes took without an error", TAKERS);
    seen = apr_hash_make(pool);
    all = apr_pstrdup(pool, buf);
    for (line = apr_strtok(all, "\n", &last); line != NULL; line = apr_strtok(NULL, "\n", &last)) {
        lines++;
        if (apr_hash_get(seen, line, APR_HASH_KEY_STRING) != NULL)
            dup++;
        apr_hash_set(seen, line, APR_HASH_KEY_STRING, line);
    }
    is_int(lines, QUEUED_N, "takers: %d takes in all, one per entry", QUEUED_N);
    is_int(dup, 0, "takers: no entry taken twice");
    {
        apr_array_header_t *list = NULL;
        int attempts_ok = 1, removed = 0;

        is_int(tw_store_list(st, 0, &list, NULL, pool), APR_SUCCESS, "takers: list");
        for (i = 0; list != NULL && i < list->nelts; i++) {
            const tw_stored_t *s = APR_ARRAY_IDX(list, i, tw_stored_t *);

            attempts_ok &= s->e.attempts == 1;
            removed += tw_store_remove(st, s->e.id, pool) == APR_SUCCESS;
        }
        ok(list && list->nelts == QUEUED_N && attempts_ok, "takers: each entry counted once");
        is_int(removed, QUEUED_N, "takers: all dropped");
    }
    apr_dir_remove(dir, pool);
    apr_pool_destroy(pool);
}

void unit_store(apr_pool_t *parent)
{
    const char *tmp = NULL, *base, *dir;
    tw_store_t *st = NULL;
    apr_pool_t *pool;

    apr_pool_create(&pool, parent);
    test_store_names(pool);
    test_store_parse(pool);
    apr_temp_dir_get(&tmp, pool);
    base = apr_psprintf(pool, "%s/tw_unit_store.%ld", tmp ? tmp : "/tmp", (long)getpid());
    dir = apr_pstrcat(pool, base, "/inbox", NULL);
    require_int(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS,
                "store directory made");
    is_int(tw_store_open("relative/dir", SEC, &st, pool), APR_EINVAL, "open a relative dir: EINVAL");
    require_int(tw_store_open(dir, SEC, &st, pool), APR_SUCCESS, "open the directory store");
    is_str(tw_store_name(st), dir, "... named by its spec");
    test_store_direct(st, dir, pool);
    test_store_dispatch(st, pool);
    test_store_old_entry(st, dir, pool);
    test_store_list_count(st, pool);
    test_store_take_except(st, pool);
    test_store_takers(pool, base);
    apr_dir_remove(dir, pool);
    apr_dir_remove(base, pool);
    apr_pool_destroy(pool);
}
