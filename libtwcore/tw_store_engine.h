/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_store_engine.h - what an engine behind tw/store.h provides. The
 * public calls (libtwcore/tw_store.c) check their arguments and pass on
 * to the engine the spec chose: the directory (libtwcore/tw_inbox.c) or
 * Redis (libtwcore/tw_store_redis.c). Each function has the meaning of the
 * tw_store_* call of the same name, with the engine's own state first.
 */
#ifndef TW_STORE_ENGINE_H
#define TW_STORE_ENGINE_H

#include "tw/store.h"

typedef struct {
    const char *name;   /* "directory", "redis" */
    const char *(*check_spec)(const char *spec, apr_pool_t *pool);
    apr_status_t (*open)(const char *spec, apr_interval_time_t timeout, void **pimpl,
                         apr_pool_t *pool);
    apr_status_t (*put)(void *impl, const tw_stored_t *s, tw_inbox_read_fn source,
                        void *ctx, int *pcreated, apr_pool_t *pool);
    apr_status_t (*settle_direct)(void *impl, const char *id, int status, int held,
                                  apr_pool_t *pool);
    apr_status_t (*take)(void *impl, int max, apr_interval_time_t lease, const char *owner,
                         apr_array_header_t **ptaken, apr_pool_t *pool);
    apr_status_t (*open_body)(void *impl, const char *id, tw_stored_t **ps,
                              tw_inbox_read_fn *pread, void **pctx, apr_pool_t *pool);
    apr_status_t (*end_dispatch)(void *impl, const tw_stored_t *taken, tw_dispatch_end_t end,
                                 int status, apr_time_t next, apr_pool_t *pool);
    apr_status_t (*list)(void *impl, unsigned int states, apr_array_header_t **pentries,
                         unsigned int *pbad, apr_pool_t *pool);
    apr_status_t (*requeue)(void *impl, const char *id, apr_pool_t *pool);
    apr_status_t (*remove)(void *impl, const char *id, apr_pool_t *pool);
    apr_status_t (*count)(void *impl, tw_store_counts_t *counts, apr_pool_t *pool);
    /* optional (NULL: APR_ENOTIMPL); added after the first version */
    apr_status_t (*remove_unchanged)(void *impl, const tw_stored_t *seen, apr_pool_t *pool);
    /* optional (NULL: take, and APR_ENOTIMPL when skip is not empty);
     * skip is never NULL here (an empty array for none) */
    apr_status_t (*take_except)(void *impl, int max, apr_interval_time_t lease,
                                const char *owner, const apr_array_header_t *skip,
                                apr_array_header_t **ptaken, apr_pool_t *pool);
} tw_store_engine_t;

extern const tw_store_engine_t tw_store_engine_directory;   /* tw_inbox.c */
extern const tw_store_engine_t tw_store_engine_redis;       /* tw_store_redis.c */

#endif /* TW_STORE_ENGINE_H */
