/*
 * SPDX-License-Identifier: Apache-2.0
 * replay_net.h - the replay cache's clients for memcached and redis
 * (glue/replay_net.c): created by the TwWebhookReplayCache directive
 * (glue/config.c), used by glue/replay_cache.c. Knows no configuration.
 */
#ifndef TWWEBHOOK_GLUE_REPLAY_NET_H
#define TWWEBHOOK_GLUE_REPLAY_NET_H

#include "glue/glue.h"

/* One memcached (or a list) or one redis-server shared by a fleet, used
 * through its own atomic operations. The key is the 32-byte replay key,
 * values are tw/lease.h's. */
typedef struct tw_net tw_net_t;

typedef struct {
    char data[TW_LEASE_VALUE_MAX + 1];
    apr_size_t len;
} tw_net_value_t;

/* The key holds another value than the one expected, or none. */
#define TW_NET_CHANGED APR_EMISMATCH

/* engine "memcache" or "redis", args "host[:port][,...]"; NULL or an error. */
const char *tw_net_create(tw_net_t **pnet, const char *engine, const char *args,
                          apr_pool_t *p);
/* How long one operation may take, connecting included (before child_init). */
void tw_net_set_timeout(tw_net_t *net, apr_interval_time_t timeout);
const char *tw_net_name(const tw_net_t *net);
/* This child's clients; logs a failure itself. */
apr_status_t tw_net_child_init(tw_net_t *net, apr_pool_t *pchild, server_rec *s);
int tw_net_ready(const tw_net_t *net);
/*
 * Each returns by deadline, whatever the engine does, and may set *detail
 * to what went wrong (for a log line). Anything but the statuses named
 * here is a failure.
 * claim:   APR_SUCCESS (stored for ttl) or APR_EEXIST (*current is what is there);
 * swap:    APR_SUCCESS (value stored for ttl) or TW_NET_CHANGED;
 * release: APR_SUCCESS (gone) or TW_NET_CHANGED.
 */
apr_status_t tw_net_claim(tw_net_t *net, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                          const char *value, apr_size_t len, apr_interval_time_t ttl,
                          apr_time_t deadline, tw_net_value_t *current, const char **detail);
apr_status_t tw_net_swap(tw_net_t *net, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                         const char *expected, apr_size_t elen, const char *value,
                         apr_size_t len, apr_interval_time_t ttl, apr_time_t deadline,
                         const char **detail);
apr_status_t tw_net_release(tw_net_t *net, apr_pool_t *p, const unsigned char key[TW_MAC_LEN],
                            const char *expected, apr_size_t elen, apr_time_t deadline,
                            const char **detail);

#endif /* TWWEBHOOK_GLUE_REPLAY_NET_H */
