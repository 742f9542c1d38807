/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_store_dir.c - the directory engine of tw/store.h: the inbox's entry
 * files (libtwcore/tw_inbox.c) with the store's lines (state, next,
 * secret-index, scope, owner; docs/internals.md).
 *
 * Every change of an entry is one tw_inbox_change(): under the entry's
 * flock, read, decided here, written to a temporary file, fsynced, renamed
 * and the directory fsynced (or unlinked), so a change is atomic against
 * every other writer of that entry, in httpd's children and in
 * twwebhook-inbox alike, and durable when it returns.
 *
 * The dispatcher's lease: tw_store_take sets a QUEUED entry's next to the
 * lease's end, its owner and attempts + 1 in one such change, after
 * checking, under the lock, that it is still QUEUED and due. A second
 * taker then finds it not due; a taker that dies leaves it due again once
 * the lease ran out. tw_store_end_dispatch acts only while attempts is the
 * one its take counted: a later take (the lease had run out) or a new copy
 * makes it TW_INBOX_ECHANGED, and the later holder decides.
 *
 * Hazard: take and count read every entry's metadata (one pread of up to
 * TW_INBOX_META_MAX each); fine for an inbox of thousands, not millions.
 * The directory engine has no network: the timeout is not used.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "tw/store.h"
#include "tw_inbox_file.h"
#include "tw_store_engine.h"

#define DIR_PATH_MAX 4096

typedef struct {
    const char *dir;
} dir_store_t;

static const char *dir_check_spec(const char *spec, apr_pool_t *pool)
{
    if (spec == NULL || spec[0] != '/')
        return "not an absolute directory";
    if (strlen(spec) > DIR_PATH_MAX)
        return "a directory name longer than 4096 bytes";
    return NULL;
}

static apr_status_t dir_open(const char *spec, apr_interval_time_t timeout, void **pimpl,
                             apr_pool_t *pool)
{
    dir_store_t *d = apr_pcalloc(pool, sizeof(*d));

    (void)timeout;          /* no network: every call is local file I/O */
    d->dir = apr_pstrdup(pool, spec);
    *pimpl = d;
    return APR_SUCCESS;
}

static apr_status_t dir_put(void *impl, const tw_stored_t *s, tw_inbox_read_fn source,
                            void *ctx, int *pcreated, apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    tw_inbox_record_t rec;

    memset(&rec, 0, sizeof(rec));
    rec.s = *s;
    return tw_inbox_store(d->dir, &rec, source, ctx, pcreated, pool);
}

/* ---- direct mode ------------------------------------------------------------ */

typedef struct {
    int status;
    int held;
} settle_arg_t;

static apr_status_t change_settle(tw_inbox_record_t *rec, void *arg, tw_inbox_change_t *what)
{
    const settle_arg_t *a = arg;

    if (a->status >= 200 && a->status <= 299 && !a->held) {
        *what = TW_INBOX_DROP;
        return APR_SUCCESS;
    }
    rec->s.e.last_status = a->status;
    if (a->held) {
        rec->s.state = TW_STATE_HELD;
        rec->s.next = 0;
        rec->owner = NULL;
    }
    *what = TW_INBOX_WRITE;
    return APR_SUCCESS;
}

static apr_status_t dir_settle_direct(void *impl, const char *id, int status, int held,
                                      apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    settle_arg_t a = { .status = status, .held = held };

    return tw_inbox_change(d->dir, id, change_settle, &a, pool);
}

/* ---- the dispatcher's side ---------------------------------------------------- */

typedef struct {
    apr_time_t now;
    apr_interval_time_t lease;
    const char *owner;
    tw_inbox_record_t *taken;   /* set when this take leased it */
} take_arg_t;

/* Leases one entry if, under its lock, it is still QUEUED and due. */
static apr_status_t change_take(tw_inbox_record_t *rec, void *arg, tw_inbox_change_t *what)
{
    take_arg_t *a = arg;

    if (rec->s.state != TW_STATE_QUEUED || rec->s.next > a->now)
        return APR_SUCCESS;                 /* taken or settled meanwhile */
    rec->s.next = a->now + a->lease;
    rec->owner = a->owner;
    if (rec->s.e.attempts < APR_UINT32_MAX)
        rec->s.e.attempts++;
    a->taken = rec;
    *what = TW_INBOX_WRITE;
    return APR_SUCCESS;
}

/* 1 when scope is one of skip's (a location the dispatcher left alone). */
static int scope_skipped(const char *scope, const apr_array_header_t *skip)
{
    int i;

    for (i = 0; scope != NULL && *scope != '\0' && skip != NULL && i < skip->nelts; i++)
        if (strcmp(scope, APR_ARRAY_IDX(skip, i, const char *)) == 0)
            return 1;
    return 0;
}

/*
 * A write that fails for one entry (the disk is full) ends the take; the
 * entries taken until then are handed out (their leases would otherwise
 * only delay them) and the error is returned only when there are none.
 * An entry of a skipped scope is passed over before its lock is taken,
 * so nothing of it changes (the scope is set when the entry is made and
 * never after).
 */
static apr_status_t dir_take_except(void *impl, int max, apr_interval_time_t lease,
                                    const char *owner, const apr_array_header_t *skip,
                                    apr_array_header_t **ptaken, apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    apr_array_header_t *queued = NULL, *out;
    apr_status_t rv;
    int i;

    if ((rv = tw_inbox_records(d->dir, 1u << TW_STATE_QUEUED, &queued, NULL, pool))
        != APR_SUCCESS)
        return rv;
    out = apr_array_make(pool, max < 16 ? max : 16, sizeof(tw_stored_t *));
    for (i = 0; i < queued->nelts && out->nelts < max; i++) {
        const tw_inbox_record_t *seen = APR_ARRAY_IDX(queued, i, tw_inbox_record_t *);
        take_arg_t a = { .now = apr_time_now(), .lease = lease, .owner = owner, .taken = NULL };

        if (seen->s.next > a.now)
            continue;                       /* not due, or leased to someone */
        if (scope_skipped(seen->s.scope, skip))
            continue;                       /* its location is full this time */
        rv = tw_inbox_change(d->dir, seen->s.e.id, change_take, &a, pool);
        if (rv == APR_SUCCESS && a.taken != NULL)
            APR_ARRAY_PUSH(out, tw_stored_t *) = &a.taken->s;
        else if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv) && rv != TW_INBOX_ECORRUPT) {
            if (out->nelts == 0)
                return rv;
            break;
        }
    }
    *ptaken = out;
    return APR_SUCCESS;
}

static apr_status_t dir_take(void *impl, int max, apr_interval_time_t lease, const char *owner,
                             apr_array_header_t **ptaken, apr_pool_t *pool)
{
    return dir_take_except(impl, max, lease, owner, NULL, ptaken, pool);
}

static apr_status_t close_body_file(void *ctx)
{
    tw_inbox_file_source_t *b = ctx;

    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    return APR_SUCCESS;
}

/* The file stays open until pool goes (the entry may be replaced or
 * removed meanwhile: this descriptor still reads the version opened). */
static apr_status_t dir_open_body(void *impl, const char *id, tw_stored_t **ps,
                                  tw_inbox_read_fn *pread_fn, void **pctx, apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    tw_inbox_record_t *rec = NULL;
    tw_inbox_file_source_t *b;
    apr_status_t rv;
    int fd = -1;

    if ((rv = tw_inbox_open_record(d->dir, id, &rec, &fd, pool)) != APR_SUCCESS)
        return rv;
    b = apr_palloc(pool, sizeof(*b));
    b->fd = fd;
    b->base = rec->s.e.body_offset;
    apr_pool_cleanup_register(pool, b, close_body_file, apr_pool_cleanup_null);
    *ps = &rec->s;
    *pread_fn = tw_inbox_read_file_source;
    *pctx = b;
    return APR_SUCCESS;
}

typedef struct {
    unsigned int attempts;      /* as the take counted */
    tw_dispatch_end_t end;
    int status;
    apr_time_t next;
} end_arg_t;

static apr_status_t change_end(tw_inbox_record_t *rec, void *arg, tw_inbox_change_t *what)
{
    const end_arg_t *a = arg;

    if (rec->s.e.attempts != a->attempts)
        return TW_INBOX_ECHANGED;           /* taken again, or a new copy came */
    if (a->end == TW_DISPATCH_DELIVERED) {
        *what = TW_INBOX_DROP;
        return APR_SUCCESS;
    }
    rec->s.e.last_status = a->status;
    rec->owner = NULL;
    if (a->end == TW_DISPATCH_DEAD) {
        rec->s.state = TW_STATE_DEAD;
        rec->s.next = 0;
    }
    else {
        rec->s.state = TW_STATE_QUEUED;
        rec->s.next = a->next;
    }
    *what = TW_INBOX_WRITE;
    return APR_SUCCESS;
}

static apr_status_t dir_end_dispatch(void *impl, const tw_stored_t *taken,
                                     tw_dispatch_end_t end, int status, apr_time_t next,
                                     apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    end_arg_t a = { .attempts = taken->e.attempts, .end = end, .status = status, .next = next };

    return tw_inbox_change(d->dir, taken->e.id, change_end, &a, pool);
}

/* ---- a person's side ----------------------------------------------------------- */

static apr_status_t dir_list(void *impl, unsigned int states, apr_array_header_t **pentries,
                             unsigned int *pbad, apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    apr_array_header_t *records = NULL, *out;
    apr_status_t rv;
    int i;

    if ((rv = tw_inbox_records(d->dir, states, &records, pbad, pool)) != APR_SUCCESS)
        return rv;
    out = apr_array_make(pool, records->nelts > 0 ? records->nelts : 1, sizeof(tw_stored_t *));
    for (i = 0; i < records->nelts; i++)
        APR_ARRAY_PUSH(out, tw_stored_t *) = &APR_ARRAY_IDX(records, i, tw_inbox_record_t *)->s;
    *pentries = out;
    return APR_SUCCESS;
}

/* QUEUED and due now; an entry whose dispatch is in flight (leased, the
 * lease running) is left to it, so a requeue never sends it twice at once. */
static apr_status_t change_requeue(tw_inbox_record_t *rec, void *arg, tw_inbox_change_t *what)
{
    apr_time_t now = *(const apr_time_t *)arg;

    if (rec->s.state == TW_STATE_QUEUED && rec->owner != NULL && rec->s.next > now)
        return APR_SUCCESS;
    rec->s.state = TW_STATE_QUEUED;
    rec->s.next = now;
    rec->owner = NULL;
    *what = TW_INBOX_WRITE;
    return APR_SUCCESS;
}

static apr_status_t dir_requeue(void *impl, const char *id, apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    apr_time_t now = apr_time_now();

    return tw_inbox_change(d->dir, id, change_requeue, &now, pool);
}

static apr_status_t dir_remove(void *impl, const char *id, apr_pool_t *pool)
{
    const dir_store_t *d = impl;

    return tw_inbox_remove(d->dir, id, pool);
}

static apr_status_t dir_remove_unchanged(void *impl, const tw_stored_t *seen, apr_pool_t *pool)
{
    const dir_store_t *d = impl;

    return tw_inbox_remove_unchanged(d->dir, &seen->e, pool);
}

static apr_status_t dir_count(void *impl, tw_store_counts_t *counts, apr_pool_t *pool)
{
    const dir_store_t *d = impl;
    apr_array_header_t *records = NULL;
    apr_status_t rv;
    int i;

    if ((rv = tw_inbox_records(d->dir, 0, &records, NULL, pool)) != APR_SUCCESS)
        return rv;
    for (i = 0; i < records->nelts; i++) {
        const tw_inbox_record_t *rec = APR_ARRAY_IDX(records, i, tw_inbox_record_t *);

        counts->by_state[rec->s.state]++;
        if (rec->s.state == TW_STATE_QUEUED
            && (counts->oldest_queued == 0 || rec->s.e.received < counts->oldest_queued))
            counts->oldest_queued = rec->s.e.received;
    }
    return APR_SUCCESS;
}

const tw_store_engine_t tw_store_engine_directory = {
    .name = "directory",
    .check_spec = dir_check_spec,
    .open = dir_open,
    .put = dir_put,
    .settle_direct = dir_settle_direct,
    .take = dir_take,
    .open_body = dir_open_body,
    .end_dispatch = dir_end_dispatch,
    .list = dir_list,
    .requeue = dir_requeue,
    .remove = dir_remove,
    .count = dir_count,
    .remove_unchanged = dir_remove_unchanged,
    .take_except = dir_take_except,
};
