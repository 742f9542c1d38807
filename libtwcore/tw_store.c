/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_store.c - the inbox's store (tw/store.h): picks the engine by the
 * spec's form, checks the arguments every engine would have to check, and
 * passes on. The engines (tw_store_dir.c, tw_store_redis.c) may then take
 * their arguments as valid.
 */
#include <string.h>

#include <apr_strings.h>

#include "tw/store.h"
#include "tw_store_engine.h"

#define STORE_REDIS_PREFIX "redis:"

struct tw_store {
    const tw_store_engine_t *engine;
    void *impl;
    const char *name;        /* the spec, for log lines and the page */
};

static const char *const state_names[] = {
    [TW_STATE_DIRECT] = "direct",
    [TW_STATE_HELD] = "held",
    [TW_STATE_QUEUED] = "queued",
    [TW_STATE_DEAD] = "dead",
};

const char *tw_state_name(tw_state_t state)
{
    if ((int)state < 0 || (size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
        return "unknown";
    return state_names[state];
}

int tw_state_parse(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(name, state_names[i]) == 0)
            return (int)i;
    return -1;
}

int tw_store_spec_is_redis(const char *spec)
{
    return spec != NULL && strncmp(spec, STORE_REDIS_PREFIX, strlen(STORE_REDIS_PREFIX)) == 0;
}

/* The engine for spec's form; NULL when it has neither. */
static const tw_store_engine_t *engine_for(const char *spec)
{
    if (tw_store_spec_is_redis(spec))
        return &tw_store_engine_redis;
    if (spec != NULL && spec[0] == '/')
        return &tw_store_engine_directory;
    return NULL;
}

const char *tw_store_check_spec(const char *spec, apr_pool_t *pool)
{
    const tw_store_engine_t *engine = engine_for(spec);

    if (engine == NULL)
        return "neither an absolute directory nor redis:host:port[/db]";
    return engine->check_spec(spec, pool);
}

/* The spec without a user:password@ (a Redis URL may carry one). */
static const char *public_name(const char *spec, apr_pool_t *pool)
{
    const char *at;

    if (!tw_store_spec_is_redis(spec) || (at = strrchr(spec, '@')) == NULL)
        return apr_pstrdup(pool, spec);
    return apr_pstrcat(pool, STORE_REDIS_PREFIX, at + 1, NULL);
}

apr_status_t tw_store_open(const char *spec, apr_interval_time_t timeout,
                           tw_store_t **pstore, apr_pool_t *pool)
{
    const tw_store_engine_t *engine = engine_for(spec);
    tw_store_t *store;
    apr_status_t rv;

    if (engine == NULL || pstore == NULL || pool == NULL || timeout <= 0
        || engine->check_spec(spec, pool) != NULL)
        return APR_EINVAL;
    store = apr_pcalloc(pool, sizeof(*store));
    store->engine = engine;
    store->name = public_name(spec, pool);
    if ((rv = engine->open(spec, timeout, &store->impl, pool)) != APR_SUCCESS)
        return rv;
    *pstore = store;
    return APR_SUCCESS;
}

const char *tw_store_name(const tw_store_t *store)
{
    return store != NULL ? store->name : "(none)";
}

/* What every stored copy must be: a valid id, a state a copy may start
 * in, and the fields tw_inbox_put checks itself. */
static int copy_is_valid(const tw_stored_t *s)
{
    return s != NULL && tw_inbox_id_is_valid(s->e.id)
           && (s->state == TW_STATE_DIRECT || s->state == TW_STATE_QUEUED)
           && s->e.body_length >= 0 && s->next >= 0 && s->secret_index >= -1
           && (s->scope == NULL || tw_inbox_value_is_storable(s->scope));
}

apr_status_t tw_store_put(tw_store_t *store, const tw_stored_t *s, tw_inbox_read_fn source,
                          void *ctx, int *pcreated, apr_pool_t *pool)
{
    int created = 0;
    apr_status_t rv;

    if (store == NULL || !copy_is_valid(s) || source == NULL || pool == NULL)
        return APR_EINVAL;
    rv = store->engine->put(store->impl, s, source, ctx, &created, pool);
    if (rv == APR_SUCCESS && pcreated != NULL)
        *pcreated = created;
    return rv;
}

apr_status_t tw_store_settle_direct(tw_store_t *store, const char *id, int status, int held,
                                    apr_pool_t *pool)
{
    if (store == NULL || !tw_inbox_id_is_valid(id) || status < 0 || status > 999
        || pool == NULL)
        return APR_EINVAL;
    return store->engine->settle_direct(store->impl, id, status, held != 0, pool);
}

apr_status_t tw_store_take(tw_store_t *store, int max, apr_interval_time_t lease,
                           const char *owner, apr_array_header_t **ptaken, apr_pool_t *pool)
{
    if (store == NULL || max <= 0 || lease <= 0 || owner == NULL
        || !tw_inbox_value_is_storable(owner) || ptaken == NULL || pool == NULL)
        return APR_EINVAL;
    return store->engine->take(store->impl, max, lease, owner, ptaken, pool);
}

apr_status_t tw_store_take_except(tw_store_t *store, int max, apr_interval_time_t lease,
                                  const char *owner, const apr_array_header_t *skip,
                                  apr_array_header_t **ptaken, apr_pool_t *pool)
{
    static const apr_array_header_t none = { .elt_size = sizeof(const char *) };
    int i;

    if (store == NULL || max <= 0 || lease <= 0 || owner == NULL
        || !tw_inbox_value_is_storable(owner) || ptaken == NULL || pool == NULL
        || (skip != NULL && skip->elt_size != sizeof(const char *)))
        return APR_EINVAL;
    for (i = 0; skip != NULL && i < skip->nelts; i++)
        if (APR_ARRAY_IDX(skip, i, const char *) == NULL)
            return APR_EINVAL;
    if (skip == NULL || skip->nelts == 0) {
        if (store->engine->take_except == NULL)
            return store->engine->take(store->impl, max, lease, owner, ptaken, pool);
        skip = &none;
    }
    if (store->engine->take_except == NULL)
        return APR_ENOTIMPL;
    return store->engine->take_except(store->impl, max, lease, owner, skip, ptaken, pool);
}

apr_status_t tw_store_open_body(tw_store_t *store, const char *id, tw_stored_t **ps,
                                tw_inbox_read_fn *pread, void **pctx, apr_pool_t *pool)
{
    if (store == NULL || !tw_inbox_id_is_valid(id) || ps == NULL || pread == NULL
        || pctx == NULL || pool == NULL)
        return APR_EINVAL;
    return store->engine->open_body(store->impl, id, ps, pread, pctx, pool);
}

apr_status_t tw_store_end_dispatch(tw_store_t *store, const tw_stored_t *taken,
                                   tw_dispatch_end_t end, int status, apr_time_t next,
                                   apr_pool_t *pool)
{
    if (store == NULL || taken == NULL || !tw_inbox_id_is_valid(taken->e.id) || pool == NULL
        || (end != TW_DISPATCH_DELIVERED && end != TW_DISPATCH_RETRY && end != TW_DISPATCH_DEAD)
        || status < 0 || status > 999 || next < 0)
        return APR_EINVAL;
    return store->engine->end_dispatch(store->impl, taken, end, status, next, pool);
}

apr_status_t tw_store_list(tw_store_t *store, unsigned int states,
                           apr_array_header_t **pentries, unsigned int *pbad,
                           apr_pool_t *pool)
{
    unsigned int bad = 0;
    apr_status_t rv;

    if (store == NULL || pentries == NULL || pool == NULL
        || (states & ~((1u << (TW_STATE_DEAD + 1)) - 1)) != 0)
        return APR_EINVAL;
    rv = store->engine->list(store->impl, states, pentries, &bad, pool);
    if (rv == APR_SUCCESS && pbad != NULL)
        *pbad = bad;
    return rv;
}

apr_status_t tw_store_requeue(tw_store_t *store, const char *id, apr_pool_t *pool)
{
    if (store == NULL || !tw_inbox_id_is_valid(id) || pool == NULL)
        return APR_EINVAL;
    return store->engine->requeue(store->impl, id, pool);
}

apr_status_t tw_store_remove(tw_store_t *store, const char *id, apr_pool_t *pool)
{
    if (store == NULL || !tw_inbox_id_is_valid(id) || pool == NULL)
        return APR_EINVAL;
    return store->engine->remove(store->impl, id, pool);
}

apr_status_t tw_store_remove_unchanged(tw_store_t *store, const tw_stored_t *seen,
                                       apr_pool_t *pool)
{
    if (store == NULL || seen == NULL || !tw_inbox_id_is_valid(seen->e.id) || pool == NULL)
        return APR_EINVAL;
    if (store->engine->remove_unchanged == NULL)
        return APR_ENOTIMPL;
    return store->engine->remove_unchanged(store->impl, seen, pool);
}

apr_status_t tw_store_count(tw_store_t *store, tw_store_counts_t *counts, apr_pool_t *pool)
{
    if (store == NULL || counts == NULL || pool == NULL)
        return APR_EINVAL;
    memset(counts, 0, sizeof(*counts));
    return store->engine->count(store->impl, counts, pool);
}

const char *tw_store_strerror(apr_status_t rv, char *buf, apr_size_t bufsize)
{
    if (rv == APR_TIMEUP) {
        apr_cpystrn(buf, "the store did not answer in time", bufsize);
        return buf;
    }
    if (rv == APR_ENOTIMPL) {
        apr_cpystrn(buf, "this build has no engine for that store", bufsize);
        return buf;
    }
    return tw_inbox_strerror(rv, buf, bufsize);
}
