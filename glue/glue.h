/*
 * SPDX-License-Identifier: Apache-2.0
 * glue.h - what the httpd glue files share. httpd types are welcome here
 * and nowhere in the core: include/twwebhook.h stays httpd-free.
 */
#ifndef TWWEBHOOK_GLUE_H
#define TWWEBHOOK_GLUE_H

#include "httpd.h"
#include "http_config.h"

#include "twwebhook.h"
#include "tw_lease.h"

extern module AP_MODULE_DECLARE_DATA twwebhook_module;

/* The request whose pool outlives every request of the transaction:
 * internal redirects share it, subrequests hang below it. */
static APR_INLINE request_rec *tw_top_request(request_rec *r)
{
    while (r->main != NULL)
        r = r->main;
    return r;
}

/* ---- configuration (glue/config.c) ----------------------------------------- */

#define TW_UNSET (-1)

typedef struct {
    const char *pointer;       /* RFC 6901, checked at config time */
    const char *env_name;      /* checked by tw_env_name_is_allowed */
} tw_export_t;

/* A TwWebhookSecret file:, kept so check_config can look at its mode. */
typedef struct {
    const char *path;          /* absolute */
    const char *at;            /* "file:line" of the directive */
} tw_secret_file_t;

typedef struct {
    /* The first TwWebhook* directive of this record but "TwWebhook Off":
     * check_config refuses a section that sets one where no secret can
     * apply. Not merged: only a section's own record is looked at. */
    const char *set_at;        /* "file:line" */
    const char *set_name;      /* the directive's name */
    const char *set_section;   /* the section it sits in, as written: "<Location /h>" */
    /* "Directive (file:line)" of the innermost section that set a
     * TwWebhook* directive but "TwWebhook Off". Merged: such a section is
     * protected, and fails closed where no secret applies at run time. */
    const char *section_setting;
    int enabled;               /* TwWebhook: TW_UNSET, 0 or 1 */
    const char *enabled_at;    /* "file:line" of a TwWebhook On, for check_config */
    apr_array_header_t *keys;  /* TwWebhookSecret: const tw_key_t *; NULL inherits */
    apr_array_header_t *secret_files;  /* tw_secret_file_t of this record's keys */
    apr_array_header_t *keys_whsec;  /* the same, whsec_-decoded (or NULL entries) */
    const tw_profile_t *profile;     /* TwWebhookProfile; NULL inherits */
    apr_int64_t tolerance;           /* TwWebhookTimestampTolerance; TW_UNSET inherits */
    const char *tolerance_at;        /* "file:line", for check_config */
    const char *keys_scope;    /* the section that listed them (replay scope) */
    apr_off_t max_body;        /* TwWebhookMaxBodySize; TW_UNSET inherits */
    apr_off_t spool_memory;    /* TwWebhookSpoolMemoryLimit; TW_UNSET inherits */
    const char *signature_header;  /* TwWebhookSignatureHeader; NULL inherits */
    const char *event_header;      /* TwWebhookEventHeader; NULL inherits */
    const char *delivery_header;   /* TwWebhookDeliveryHeader; NULL inherits */
    apr_array_header_t *events;    /* TwWebhookEvents: const char *; NULL inherits */
    const char *events_at;         /* "file:line" of the first, for check_config */
    apr_array_header_t *exports;   /* TwWebhookExportJSON: tw_export_t; NULL inherits */
    int require_json;              /* TwWebhookRequireJSON: TW_UNSET, 0 or 1 */
    const char *inbox_dir;         /* TwWebhookInbox, absolute; NULL inherits */
    const char *inbox_at;          /* "file:line" of it, for check_config */
    int inbox_hold;                /* TwWebhookInboxHold: TW_UNSET, 0 or 1 */
    const char *inbox_hold_at;     /* "file:line" of it, for check_config */
} tw_dir_conf_t;

typedef struct {
    const char *spool_dir;     /* TwWebhookSpoolDir; NULL: apr_temp_dir_get() */
} tw_srv_conf_t;

void *tw_create_dir_conf(apr_pool_t *p, char *dir);
void *tw_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *tw_create_srv_conf(apr_pool_t *p, server_rec *s);
void *tw_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
extern const command_rec tw_cmds[];

/* What a section's settings come to, defaults resolved. */
int tw_conf_protects(const tw_dir_conf_t *dc);
/* Why a section without a secret is protected, for TWW0408. */
const char *tw_conf_why_protected(const tw_dir_conf_t *dc, apr_pool_t *p);
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
/* The request headers a location's scheme signs or reads, plus
 * Content-Type and User-Agent: what an inbox entry keeps to deliver a
 * body again. Extend it with every header a new profile reads. */
apr_array_header_t *tw_conf_header_names(const tw_dir_conf_t *dc, apr_pool_t *p);

/* Every directive handler but TwWebhook Off's calls it: notes the
 * directive being handled as the record's first (set_at), and returns its
 * "file:line" for check_config's lines. */
const char *tw_conf_note_directive(cmd_parms *cmd, tw_dir_conf_t *dc);
/* 1 the first time key is seen during this configuration's checks (ptemp's
 * life): a warning about a directive inherited by several servers is
 * given once. */
int tw_config_first_warning(apr_pool_t *ptemp, const char *key);

/* The records that list their own secrets, one per protected scope. */
void tw_config_protected_sections(apr_pool_t *p, server_rec *s, apr_array_header_t *out);

/* Checks across sections, at start-up and configtest (check_config). */
int tw_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* ---- replay cache (glue/replay_cache.c) ---------------------------------- */

typedef enum {
    TW_REPLAY_FIRST,        /* never seen: claimed for this request */
    TW_REPLAY_DUPLICATE,    /* handled successfully within the window */
    TW_REPLAY_IN_FLIGHT,    /* another live request holds a claim on it now */
    TW_REPLAY_UNAVAILABLE   /* the cache (or its mutex) failed: logged */
} tw_replay_verdict_t;

/* This request's claim on a key: held (and renewed) until settled. */
typedef struct tw_replay_claim tw_replay_claim_t;

const char *tw_replay_cmd_cache(cmd_parms *cmd, void *dummy, const char *arg);
const char *tw_replay_cmd_window(cmd_parms *cmd, void *dummy, const char *arg);
const char *tw_replay_cmd_failure(cmd_parms *cmd, void *dummy, const char *arg);
const char *tw_replay_cmd_lease(cmd_parms *cmd, void *dummy, const char *arg);
const char *tw_replay_cmd_timeout(cmd_parms *cmd, void *dummy, const char *arg);

int tw_replay_configured(void);
/* How long a handled delivery is remembered (TwWebhookReplayWindow). */
apr_interval_time_t tw_replay_window(void);
int tw_replay_fails_open(void);
/* FIRST: *pclaim is this transaction's claim, to settle once. */
tw_replay_verdict_t tw_replay_reserve(request_rec *r, const unsigned char key[TW_MAC_LEN],
                                      tw_replay_claim_t **pclaim);
/* Records the outcome of a claimed delivery: handled (2xx) or not. */
void tw_replay_settle(request_rec *r, tw_replay_claim_t *claim, int handled);

int tw_replay_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int tw_replay_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);
int tw_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
void tw_replay_child_init(apr_pool_t *p, server_rec *s);

/* ---- the inbox (glue/inbox.c; the files: libtwcore/tw_inbox.c) ----------- */

const char *tw_inbox_cmd_dir(cmd_parms *cmd, void *dcv, const char *arg);
/* configtest and start-up: every TwWebhookInbox exists and is writable by
 * the user the children run as. */
int tw_inbox_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
int tw_inbox_configured(const tw_dir_conf_t *dc);
/*
 * Records, once per transaction and durably, the verified body about to be
 * handed to the app, under the entry id made from key (tw_replay_key's).
 * Not APR_SUCCESS: nothing was recorded and the app must not run.
 */
apr_status_t tw_inbox_record(request_rec *r, const tw_dir_conf_t *dc,
                             const unsigned char key[TW_MAC_LEN], tw_spool_t *body);
/* 1 when this transaction's response was turned into "202 held": it is
 * not handled, whatever its status says (the replay cache must not
 * remember it). */
int tw_inbox_held(request_rec *r);
/* 1 when this transaction's entry is recorded with TwWebhookInboxHold On:
 * then the inbox counts its outcome (held or verified) once the app has
 * answered, and the flow does not. */
int tw_inbox_counts_outcome(request_rec *r);
/* The held-response filter, its insert hooks and the settling of entries
 * after the response (log_transaction). */
void tw_inbox_register_hooks(void);

/* ---- the replay cache on memcached or redis (glue/replay_net.c) ---------- */

/* One memcached (or a list) or one redis-server shared by a fleet, used
 * through its own atomic operations. The key is the 32-byte replay key,
 * values are tw_lease.h's. */
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

#endif /* TWWEBHOOK_GLUE_H */
