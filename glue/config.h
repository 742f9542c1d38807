/*
 * SPDX-License-Identifier: Apache-2.0
 * config.h - mod_twwebhook's configuration (glue/config.c), the bottom of
 * the glue: every directive's state and handler live there, and the other
 * files read them only through these getters (the records are opaque).
 * Includes nothing of the glue above it.
 */
#ifndef TWWEBHOOK_GLUE_CONFIG_H
#define TWWEBHOOK_GLUE_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "glue/glue.h"
#include "glue/replay_net.h"

/* A location's configuration (per-directory record) and a server's. */
typedef struct tw_dir_conf tw_dir_conf_t;
typedef struct tw_srv_conf tw_srv_conf_t;

/* One TwWebhookExportJSON. */
typedef struct {
    const char *pointer;       /* RFC 6901, checked at config time */
    const char *env_name;      /* checked by tw_env_name_is_allowed */
} tw_export_t;

/* r's location's record. */
static APR_INLINE const tw_dir_conf_t *tw_conf_of(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &twwebhook_module);
}

void *tw_create_dir_conf(apr_pool_t *p, char *dir);
void *tw_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *tw_create_srv_conf(apr_pool_t *p, server_rec *s);
void *tw_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
extern const command_rec tw_cmds[];

/* What a section's settings come to, defaults resolved. */
int tw_conf_protects(const tw_dir_conf_t *dc);
/* Why a section without a secret is protected, for TWW0408. */
const char *tw_conf_why_protected(const tw_dir_conf_t *dc);
apr_off_t tw_conf_max_body(const tw_dir_conf_t *dc);
apr_size_t tw_conf_spool_memory(const tw_dir_conf_t *dc);
const tw_profile_t *tw_conf_profile(const tw_dir_conf_t *dc);
const apr_array_header_t *tw_conf_keys(const tw_dir_conf_t *dc, const char **pbad);
apr_int64_t tw_conf_tolerance(const tw_dir_conf_t *dc);
const char *tw_conf_signature_header(const tw_dir_conf_t *dc);
tw_source_t tw_conf_event_source(const tw_dir_conf_t *dc, const char **pfield);
tw_source_t tw_conf_delivery_source(const tw_dir_conf_t *dc, const char **pfield);
/* The header naming the event / delivery, NULL when it comes from elsewhere. */
const char *tw_conf_event_header(const tw_dir_conf_t *dc);
const char *tw_conf_delivery_header(const tw_dir_conf_t *dc);
int tw_conf_wants_json(const tw_dir_conf_t *dc);
/* TwWebhookRequireJSON On applies. */
int tw_conf_requires_json(const tw_dir_conf_t *dc);
/* TwWebhookExportJSON: tw_export_t; NULL for none. */
const apr_array_header_t *tw_conf_exports(const tw_dir_conf_t *dc);
/* TwWebhookEvents: const char * patterns; NULL: every event is wanted. */
const apr_array_header_t *tw_conf_events(const tw_dir_conf_t *dc);
/* 1 when a TwWebhookSecret applies (tw_conf_keys may still refuse them). */
int tw_conf_has_secret(const tw_dir_conf_t *dc);
/*
 * The protected scope: the section whose TwWebhookSecret applies. Its
 * identity (the same for every request under it, NULL for none) keys the
 * metrics' rows; its name (the section as written, "" for the server)
 * the replay cache's scope and the metrics' location label.
 */
const void *tw_conf_scope_id(const tw_dir_conf_t *dc);
const char *tw_conf_scope_name(const tw_dir_conf_t *dc);
/* TwWebhookInbox (a store spec, tw/store.h: an absolute directory or
 * redis:host:port[/db]; NULL for none), where it was set, and whether
 * TwWebhookInboxHold On applies. */
const char *tw_conf_inbox_dir(const tw_dir_conf_t *dc);
const char *tw_conf_inbox_at(const tw_dir_conf_t *dc);
int tw_conf_inbox_hold(const tw_dir_conf_t *dc);
/* TwWebhookQueue On applies (and where it was set), TwWebhookQueueRetry
 * (defaults resolved) and TwWebhookQueueConcurrency. */
#define TW_QUEUE_DEFAULT_CONCURRENCY  4
#define TW_QUEUE_MAX_CONCURRENCY      256
#define TW_QUEUE_MAX_ATTEMPTS         1000
int tw_conf_queue(const tw_dir_conf_t *dc);
const char *tw_conf_queue_at(const tw_dir_conf_t *dc);
const tw_retry_t *tw_conf_queue_retry(const tw_dir_conf_t *dc);
int tw_conf_queue_concurrency(const tw_dir_conf_t *dc);
/* "file:line" of the first TwWebhookQueue On in the configuration, NULL
 * for none (the dispatcher's check for mod_watchdog). */
const char *tw_config_queue_at(apr_pool_t *ptemp, server_rec *s);
/* TwWebhookSpoolDir of this server; NULL: apr_temp_dir_get(). */
const char *tw_conf_spool_dir(const server_rec *s);
/* TwWebhookDeliveriesLog of this server: rows of its ring (0: none). */
int tw_conf_deliveries_log(const server_rec *s);
/* TwWebhookDeliveriesShowBody On applies where the webhook is handled. */
int tw_conf_deliveries_show_body(const tw_dir_conf_t *dc);

/*
 * The replay cache's settings (TwWebhookReplayCache and its tuning),
 * server-wide: filled by the directives while the parent reads the
 * configuration, cleared by tw_config_pre_config before every (re)read,
 * read-only afterwards.
 */
typedef struct {
    const char *spec;               /* TwWebhookReplayCache as written; NULL: none */
    const char *engine;             /* "shmcb", "dbm", "memcache", "redis", ... */
    const char *engine_args;        /* what follows the ':'; NULL for none */
    tw_net_t *net;                  /* memcache or redis: the fleet's clients */
    apr_interval_time_t window;     /* TwWebhookReplayWindow */
    apr_interval_time_t lease;      /* TwWebhookReplayLease */
    apr_interval_time_t timeout;    /* TwWebhookReplayCacheTimeout */
    int fail_open;                  /* TwWebhookReplayCacheFailure open */
    const char *tuned_by;           /* a tuning directive, "Name (file:line)" */
} tw_replay_conf_t;

const tw_replay_conf_t *tw_conf_replay(void);
/* TwWebhookInboxTimeout: the longest one call on an inbox's store may
 * take, connecting included (server-wide, reset by tw_config_pre_config). */
apr_interval_time_t tw_conf_inbox_timeout(void);
/* pre_config: the server-wide settings back to their defaults. */
void tw_config_pre_config(void);
/* The request headers a location's scheme signs or reads, plus
 * Content-Type and User-Agent: what an inbox entry keeps to deliver a
 * body again. Extend it with every header a new profile reads. */
apr_array_header_t *tw_conf_header_names(const tw_dir_conf_t *dc, apr_pool_t *p);

/* 1 the first time key is seen during this configuration's checks (ptemp's
 * life): a warning about a directive inherited by several servers is
 * given once. */
int tw_config_first_warning(apr_pool_t *ptemp, const char *key);

/* The records that list their own secrets, one per protected scope. */
void tw_config_protected_sections(apr_pool_t *p, server_rec *s, apr_array_header_t *out);

/* Checks across sections, at start-up and configtest (check_config). */
int tw_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

#endif /* TWWEBHOOK_GLUE_CONFIG_H */
