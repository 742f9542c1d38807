/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_store_redis.c - TEMPORARY stub of the Redis engine of tw/store.h,
 * so that the directory engine and its users build and run before the
 * real engine lands. It is replaced as a whole by the Redis engine
 * (written in parallel; the lead merges it over this file). Until then a
 * "redis:host:port[/db]" spec passes configtest and every open of it
 * fails with APR_ENOTIMPL.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "tw/store.h"
#include "tw_store_engine.h"

/* redis:host:port[/db], port 1..65535, db 0..15 (the spec's syntax only). */
static const char *redis_check_spec(const char *spec, apr_pool_t *pool)
{
    const char *host = spec + strlen("redis:"), *colon = strrchr(host, ':');
    char *end;
    long port, db;

    (void)pool;
    if (colon == NULL || colon == host)
        return "redis:host:port[/db] wants a host and a port";
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port < 1 || port > 65535)
        return "redis:host:port[/db] wants a port of 1 to 65535";
    if (*end == '/') {
        const char *d = end + 1;

        db = strtol(d, &end, 10);
        if (end == d || db < 0 || db > 15)
            return "redis:host:port/db wants a db of 0 to 15";
    }
    return *end == '\0' ? NULL : "redis:host:port[/db]: unexpected text after the port";
}

static apr_status_t redis_open(const char *spec, apr_interval_time_t timeout, void **pimpl,
                               apr_pool_t *pool)
{
    (void)spec; (void)timeout; (void)pimpl; (void)pool;
    return APR_ENOTIMPL;
}

/* Only these two: open fails, so no store of this engine ever exists and
 * tw_store.c never calls the others. */
const tw_store_engine_t tw_store_engine_redis = {
    .name = "redis",
    .check_spec = redis_check_spec,
    .open = redis_open,
};
