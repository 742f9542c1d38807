/*
 * SPDX-License-Identifier: Apache-2.0
 * config.c - mod_twwebhook's configuration, the bottom of the glue: the
 * per-directory and per-server records (opaque elsewhere: glue/config.h's
 * getters), how they merge, every directive's handler (the replay cache's
 * server-wide settings and TwWebhookInbox included) and the command table,
 * and the checks across sections that run at start-up and in apachectl
 * configtest (check_config). It calls nothing of the glue above it; the
 * replay cache's memcached/redis client (glue/replay_net.c, which knows no
 * configuration) is made here so that a bad address fails with file:line. Every error names the directive:
 * httpd adds the file and line to a handler's; check_config's lines carry
 * the "file:line" each handler noted (note_directive). Fail closed:
 * a section that sets a TwWebhook* directive where no secret can apply, or
 * a directive without the one it needs, is an error; modes that expose a
 * secret file or the inbox are a warning.
 */
#include <errno.h>
#include <sys/stat.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "apr_strings.h"
#include "apr_file_info.h"
#include "apr_hash.h"
#include "apr_lib.h"

#include "ap_provider.h"
#include "ap_socache.h"

#include "glue/config.h"

APLOG_USE_MODULE(twwebhook);

/* ---- the records (opaque outside this file: read through the getters) ---- */

#define TW_UNSET (-1)

/* A TwWebhookSecret file:, kept so check_config can look at its mode. */
typedef struct {
    const char *path;          /* absolute */
    const char *at;            /* "file:line" of the directive */
} tw_secret_file_t;

struct tw_dir_conf {
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
    const char *inbox_dir;         /* TwWebhookInbox: absolute or redis:...; NULL inherits */
    const char *inbox_at;          /* "file:line" of it, for check_config */
    int inbox_hold;                /* TwWebhookInboxHold: TW_UNSET, 0 or 1 */
    const char *inbox_hold_at;     /* "file:line" of it, for check_config */
    int deliveries_show_body;      /* TwWebhookDeliveriesShowBody: TW_UNSET, 0 or 1 */
    int queue;                     /* TwWebhookQueue: TW_UNSET, 0 or 1 */
    const char *queue_at;          /* "file:line" of it, for check_config */
    const tw_retry_t *retry;       /* TwWebhookQueueRetry; NULL inherits */
    int concurrency;               /* TwWebhookQueueConcurrency; TW_UNSET inherits */
};

struct tw_srv_conf {
    const char *spool_dir;     /* TwWebhookSpoolDir; NULL: apr_temp_dir_get() */
    int deliveries_log;        /* TwWebhookDeliveriesLog; TW_UNSET inherits */
};

/* Every directive handler but TwWebhook Off's calls it: notes the
 * directive being handled as the record's first (set_at), and returns its
 * "file:line" for check_config's lines. */
static const char *note_directive(cmd_parms *cmd, tw_dir_conf_t *dc);

#define TW_REPLAY_DEFAULT_WINDOW apr_time_from_sec(3600)
#define TW_REPLAY_DEFAULT_LEASE  apr_time_from_sec(30)
#define TW_REPLAY_DEFAULT_TIMEOUT apr_time_from_sec(2)
#define TW_REPLAY_MAX_LEASE      3600     /* seconds */
#define TW_REPLAY_MAX_TIMEOUT    60       /* seconds */

/* Server-wide: the directives fill it, tw_config_pre_config resets it. */
static tw_replay_conf_t replay_conf;

/* TwWebhookInboxTimeout: server-wide as the stores it bounds, which every
 * virtual host naming the same TwWebhookInbox shares (one per child). */
#define TW_INBOX_DEFAULT_TIMEOUT apr_time_from_sec(2)
static apr_interval_time_t inbox_timeout;

#define TW_DEFAULT_MAX_BODY   ((apr_off_t)1024 * 1024)  /* 1 MiB */
/* Of each body, what stays in memory; the rest goes to TwWebhookSpoolDir.
 * Every request in flight may hold this much, so the default is small and
 * the ceiling keeps a typo (an extra zero or two) from costing gigabytes. */
#define TW_DEFAULT_SPOOL_MEMORY ((apr_off_t)64 * 1024)         /* 64 KiB */
#define TW_SPOOL_MEMORY_MAX     ((apr_off_t)64 * 1024 * 1024)  /* 64 MiB */
#define TW_DEFAULT_TOLERANCE  300                       /* seconds, as Stripe and Slack */
#define TW_TOLERANCE_MAX      (30 * 24 * 3600)          /* the longest replay window */
/* Rows of the deliveries page per server; each costs about 8.2 KiB of
 * shared memory (glue/deliveries.c's row), so the ceiling keeps a typo small. */
#define TW_DEFAULT_DELIVERIES_LOG 200
#define TW_DELIVERIES_LOG_MAX     10000

void *tw_create_dir_conf(apr_pool_t *p, char *dir)
{
    tw_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->enabled = TW_UNSET;
    dc->max_body = TW_UNSET;
    dc->spool_memory = TW_UNSET;
    dc->require_json = TW_UNSET;
    dc->tolerance = TW_UNSET;
    dc->inbox_hold = TW_UNSET;
    dc->deliveries_show_body = TW_UNSET;
    dc->queue = TW_UNSET;
    dc->concurrency = TW_UNSET;
    return dc;   /* pointers are NULL: inherit */
}

#define MERGE_PTR(field)   dc->field = (add->field != NULL) ? add->field : base->field
#define MERGE_VAL(field)   dc->field = (add->field != TW_UNSET) ? add->field : base->field

void *tw_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const tw_dir_conf_t *base = basev, *add = addv;
    tw_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    /* A section listing its own secrets (events, exports) replaces the
     * inherited list rather than extending it: what an operator reads in
     * one section is exactly what applies there. The key list pointer is
     * shared, not copied, so a later request of the transaction can tell
     * whether it is protected by the same list (verified_alike in
     * mod_twwebhook.c). */
    /* set_at, set_name, set_section: a section's own, never merged */
    MERGE_PTR(section_setting);
    MERGE_VAL(enabled);
    MERGE_PTR(enabled_at);
    MERGE_PTR(keys);
    dc->secret_files = (add->keys != NULL) ? add->secret_files : base->secret_files;
    /* the same secrets, keyed for the profiles that decode them */
    dc->keys_whsec = (add->keys != NULL) ? add->keys_whsec : base->keys_whsec;
    dc->keys_scope = (add->keys != NULL) ? add->keys_scope : base->keys_scope;
    MERGE_PTR(profile);
    MERGE_VAL(tolerance);
    MERGE_PTR(tolerance_at);
    MERGE_VAL(max_body);
    MERGE_VAL(spool_memory);
    MERGE_PTR(signature_header);
    MERGE_PTR(event_header);
    MERGE_PTR(delivery_header);
    MERGE_PTR(events);
    dc->events_at = (add->events != NULL) ? add->events_at : base->events_at;
    MERGE_PTR(exports);
    MERGE_VAL(require_json);
    MERGE_PTR(inbox_dir);
    dc->inbox_at = (add->inbox_dir != NULL) ? add->inbox_at : base->inbox_at;
    MERGE_VAL(inbox_hold);
    dc->inbox_hold_at = (add->inbox_hold != TW_UNSET) ? add->inbox_hold_at : base->inbox_hold_at;
    MERGE_VAL(deliveries_show_body);
    MERGE_VAL(queue);
    dc->queue_at = (add->queue != TW_UNSET) ? add->queue_at : base->queue_at;
    MERGE_PTR(retry);
    MERGE_VAL(concurrency);
    return dc;
}

void *tw_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    tw_srv_conf_t *sc = apr_pcalloc(p, sizeof(tw_srv_conf_t));

    sc->deliveries_log = TW_UNSET;
    return sc;
}

void *tw_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const tw_srv_conf_t *base = basev, *add = addv;
    tw_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->spool_dir = add->spool_dir ? add->spool_dir : base->spool_dir;
    sc->deliveries_log = add->deliveries_log != TW_UNSET ? add->deliveries_log
                                                         : base->deliveries_log;
    return sc;
}

/* A section that sets any TwWebhook* directive (but Off) is protected:
 * where no secret turns out to apply at run time, it fails closed rather
 * than letting a request through that looked protected. */
int tw_conf_protects(const tw_dir_conf_t *dc)
{
    if (dc->enabled == 0)
        return 0;
    return dc->enabled == 1 || dc->keys != NULL || dc->section_setting != NULL;
}

const char *tw_conf_why_protected(const tw_dir_conf_t *dc)
{
    if (dc->enabled == 1 || dc->section_setting == NULL)
        return "TwWebhook On";
    return dc->section_setting;
}

apr_off_t tw_conf_max_body(const tw_dir_conf_t *dc)
{
    return dc->max_body == TW_UNSET ? TW_DEFAULT_MAX_BODY : dc->max_body;
}

apr_size_t tw_conf_spool_memory(const tw_dir_conf_t *dc)
{
    return (apr_size_t)(dc->spool_memory == TW_UNSET ? TW_DEFAULT_SPOOL_MEMORY
                                                     : dc->spool_memory);
}

const tw_profile_t *tw_conf_profile(const tw_dir_conf_t *dc)
{
    return dc->profile ? dc->profile : tw_profile_default();
}

/* TwWebhookSignatureHeader, else the profile's. */
const char *tw_conf_signature_header(const tw_dir_conf_t *dc)
{
    return dc->signature_header ? dc->signature_header : tw_conf_profile(dc)->signature_header;
}

/*
 * Where the event name comes from: TwWebhookEventHeader (a header, whatever
 * the profile says), else the profile's header or body field. *pfield is
 * the header name or the JSON pointer; NULL for TW_SOURCE_NONE.
 */
tw_source_t tw_conf_event_source(const tw_dir_conf_t *dc, const char **pfield)
{
    const tw_profile_t *p = tw_conf_profile(dc);

    *pfield = dc->event_header ? dc->event_header : p->event_field;
    return dc->event_header ? TW_SOURCE_HEADER : p->event_source;
}

tw_source_t tw_conf_delivery_source(const tw_dir_conf_t *dc, const char **pfield)
{
    const tw_profile_t *p = tw_conf_profile(dc);

    *pfield = dc->delivery_header ? dc->delivery_header : p->delivery_field;
    return dc->delivery_header ? TW_SOURCE_HEADER : p->delivery_source;
}

/* The header the event comes from, or NULL when it does not come from one. */
const char *tw_conf_event_header(const tw_dir_conf_t *dc)
{
    const char *field;

    return tw_conf_event_source(dc, &field) == TW_SOURCE_HEADER ? field : NULL;
}

const char *tw_conf_delivery_header(const tw_dir_conf_t *dc)
{
    const char *field;

    return tw_conf_delivery_source(dc, &field) == TW_SOURCE_HEADER ? field : NULL;
}


int tw_conf_requires_json(const tw_dir_conf_t *dc)
{
    return dc->require_json == 1;
}

const apr_array_header_t *tw_conf_exports(const tw_dir_conf_t *dc)
{
    return dc->exports;
}

const apr_array_header_t *tw_conf_events(const tw_dir_conf_t *dc)
{
    return dc->events;
}

int tw_conf_has_secret(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->keys != NULL;
}

/* The key list pointer is shared by every record that inherits it (see
 * tw_merge_dir_conf): it names the section that listed the keys. */
const void *tw_conf_scope_id(const tw_dir_conf_t *dc)
{
    return dc != NULL ? dc->keys : NULL;
}

const char *tw_conf_scope_name(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->keys_scope != NULL ? dc->keys_scope : "";
}

const char *tw_conf_inbox_dir(const tw_dir_conf_t *dc)
{
    return dc != NULL ? dc->inbox_dir : NULL;
}

const char *tw_conf_inbox_at(const tw_dir_conf_t *dc)
{
    return dc != NULL ? dc->inbox_at : NULL;
}

int tw_conf_inbox_hold(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->inbox_hold == 1;
}

int tw_conf_queue(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->queue == 1;
}

const char *tw_conf_queue_at(const tw_dir_conf_t *dc)
{
    return dc != NULL ? dc->queue_at : NULL;
}

static const tw_retry_t default_retry = {
    .attempts = TW_RETRY_DEFAULT_ATTEMPTS, .max_age = TW_RETRY_DEFAULT_MAX_AGE,
    .base = TW_RETRY_DEFAULT_BASE, .cap = TW_RETRY_DEFAULT_CAP,
};

const tw_retry_t *tw_conf_queue_retry(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->retry != NULL ? dc->retry : &default_retry;
}

int tw_conf_queue_concurrency(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->concurrency != TW_UNSET ? dc->concurrency
                                                     : TW_QUEUE_DEFAULT_CONCURRENCY;
}

const char *tw_conf_spool_dir(const server_rec *s)
{
    const tw_srv_conf_t *sc = ap_get_module_config(s->module_config, &twwebhook_module);

    return sc->spool_dir;
}

int tw_conf_deliveries_log(const server_rec *s)
{
    const tw_srv_conf_t *sc = ap_get_module_config(s->module_config, &twwebhook_module);

    return sc->deliveries_log == TW_UNSET ? TW_DEFAULT_DELIVERIES_LOG : sc->deliveries_log;
}

int tw_conf_deliveries_show_body(const tw_dir_conf_t *dc)
{
    return dc != NULL && dc->deliveries_show_body == 1;
}

/*
 * The keys for this section's profile: each secret keyed as the profile
 * forms keys (the raw bytes, or whsec_ decoded). NULL when a secret has no
 * such key (not a whsec_ secret under standard-webhooks): *pbad then says
 * which, for the error line.
 */
const apr_array_header_t *tw_conf_keys(const tw_dir_conf_t *dc, const char **pbad)
{
    int i;

    *pbad = NULL;
    if (dc->keys == NULL || tw_conf_profile(dc)->key_form == TW_KEY_RAW)
        return dc->keys;
    for (i = 0; i < dc->keys_whsec->nelts; i++)
        if (APR_ARRAY_IDX(dc->keys_whsec, i, const tw_key_t *) == NULL) {
            *pbad = apr_psprintf(dc->keys_whsec->pool, "secret %d", i + 1);
            return NULL;
        }
    return dc->keys_whsec;
}

apr_int64_t tw_conf_tolerance(const tw_dir_conf_t *dc)
{
    return dc->tolerance == TW_UNSET ? TW_DEFAULT_TOLERANCE : dc->tolerance;
}

int tw_conf_wants_json(const tw_dir_conf_t *dc)
{
    const char *field;

    return dc->require_json == 1 || (dc->exports != NULL && dc->exports->nelts > 0)
        || tw_conf_event_source(dc, &field) == TW_SOURCE_BODY
        || tw_conf_delivery_source(dc, &field) == TW_SOURCE_BODY;
}

apr_array_header_t *tw_conf_header_names(const tw_dir_conf_t *dc, apr_pool_t *p)
{
    const tw_profile_t *profile = tw_conf_profile(dc);
    const char *candidates[] = {
        tw_conf_signature_header(dc), profile->timestamp_header, profile->id_header,
        tw_conf_event_header(dc), tw_conf_delivery_header(dc), "Content-Type", "User-Agent",
    };
    apr_array_header_t *names = apr_array_make(p, 7, sizeof(const char *));
    size_t i;

    /* what the profile signs or reads; NULL where it reads nothing there */
    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (candidates[i] != NULL)
            APR_ARRAY_PUSH(names, const char *) = candidates[i];
    return names;
}

/* ---- directive handlers -------------------------------------------------- */

/* The section a directive sits in, as written ("<Location /h>"), looking
 * through <IfModule>, <IfDefine> and the like, which are not sections
 * (<If> is); NULL at server or virtual-host level. */
static const char *section_as_written(cmd_parms *cmd)
{
    const ap_directive_t *d;

    if (cmd->path == NULL)
        return NULL;
    for (d = cmd->directive->parent; d != NULL; d = d->parent)
        if (ap_cstr_casecmpn(d->directive, "<If", 3) != 0 || d->directive[3] == '\0')
            return apr_pstrcat(cmd->pool, d->directive, " ", d->args, NULL);
    return NULL;
}

static const char *note_directive(cmd_parms *cmd, tw_dir_conf_t *dc)
{
    const char *at = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                  cmd->directive->line_num);

    if (cmd->path != NULL && dc->section_setting == NULL)
        dc->section_setting = apr_psprintf(cmd->pool, "%s (%s)", cmd->cmd->name, at);
    if (dc->set_at == NULL) {
        dc->set_at = at;
        dc->set_name = cmd->cmd->name;
        dc->set_section = section_as_written(cmd);
    }
    return at;
}

static apr_status_t cleanup_key(void *key)
{
    tw_key_destroy(key);
    return APR_SUCCESS;
}

/*
 * Reads a secret file into buf (capacity TW_SECRET_FILE_READ_MAX, so that
 * a file one byte too long is seen) and applies the core's one rule for
 * secret files (tw_secret_from_file), which twwebhook-sign applies too.
 * Runs as root in the parent, before httpd drops privileges.
 */
static const char *read_secret_file(cmd_parms *cmd, const char *path,
                                    unsigned char *buf, apr_size_t cap, apr_size_t *plen)
{
    apr_file_t *fd;
    apr_size_t len = cap;
    apr_status_t rv;
    tw_status_t st;
    char errbuf[128];

    rv = apr_file_open(&fd, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, cmd->temp_pool);
    if (rv != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot open secret file %s: %s",
                            cmd->cmd->name, path, apr_strerror(rv, errbuf, sizeof(errbuf)));
    rv = apr_file_read_full(fd, buf, cap, &len);
    apr_file_close(fd);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(cmd->pool, "%s: cannot read secret file %s: %s",
                            cmd->cmd->name, path, apr_strerror(rv, errbuf, sizeof(errbuf)));
    if ((st = tw_secret_from_file(buf, len, plen)) != TW_OK)
        return apr_psprintf(cmd->pool, "%s: secret file %s: %s (at most %d bytes, "
                            "one line; one trailing newline is ignored)",
                            cmd->cmd->name, path, tw_status_str(st), TW_SECRET_MAX);
    return NULL;
}

static tw_key_t *new_key(cmd_parms *cmd, const void *bytes, apr_size_t len)
{
    tw_key_t *key;

    if (tw_key_create(&key, bytes, len) != TW_OK)
        return NULL;
    apr_pool_cleanup_register(cmd->pool, key, cleanup_key, apr_pool_cleanup_null);
    return key;
}

/* The profile whose keys are "whsec_" + base64, decoded (standard-webhooks). */
static const tw_profile_t *whsec_profile(void)
{
    const tw_profile_t *p;
    size_t i;

    for (i = 0; (p = tw_profile_at(i)) != NULL; i++)
        if (p->key_form == TW_KEY_WHSEC_BASE64)
            return p;
    return NULL;
}

/*
 * Keys one secret twice: as its bytes (every profile but one), and, when it
 * is a whsec_ secret, as the decoded bytes (standard-webhooks). The profile
 * may be named after the secret, or inherited: which key is used is only
 * known per request (tw_conf_keys).
 */
static const char *add_key(cmd_parms *cmd, tw_dir_conf_t *dc,
                           const void *secret, apr_size_t len, const char *origin)
{
    unsigned char decoded[TW_SECRET_MAX];
    const tw_profile_t *whsec = whsec_profile();
    apr_size_t decoded_len = 0;
    tw_key_t *raw, *dec = NULL;

    if (len == 0)
        return apr_psprintf(cmd->pool, "%s: the secret %s is empty", cmd->cmd->name, origin);
    if (len > TW_SECRET_MAX)
        return apr_psprintf(cmd->pool, "%s: the secret %s is longer than %d bytes",
                            cmd->cmd->name, origin, TW_SECRET_MAX);
    if ((raw = new_key(cmd, secret, len)) == NULL)
        return apr_psprintf(cmd->pool, "%s: cannot key HMAC-SHA256 (libcrypto failure)",
                            cmd->cmd->name);
    if (whsec != NULL && tw_profile_key(whsec, secret, len, decoded, sizeof(decoded),
                                        &decoded_len) == TW_OK) {
        dec = new_key(cmd, decoded, decoded_len);
        tw_cleanse(decoded, sizeof(decoded));
        if (dec == NULL)
            return apr_psprintf(cmd->pool, "%s: cannot key HMAC-SHA256 (libcrypto failure)",
                                cmd->cmd->name);
    }
    /* Said where the mistake is: a profile named before the secret. */
    if (dec == NULL && dc->profile != NULL && dc->profile->key_form == TW_KEY_WHSEC_BASE64)
        return apr_psprintf(cmd->pool, "%s: the secret %s is not a whsec_<base64> secret, "
                            "which TwWebhookProfile %s needs", cmd->cmd->name, origin,
                            dc->profile->name);
    if (dc->keys == NULL) {
        dc->keys = apr_array_make(cmd->pool, 2, sizeof(const tw_key_t *));
        dc->keys_whsec = apr_array_make(cmd->pool, 2, sizeof(const tw_key_t *));
        dc->keys_scope = cmd->path ? cmd->path : "";
    }
    APR_ARRAY_PUSH(dc->keys, const tw_key_t *) = raw;
    APR_ARRAY_PUSH(dc->keys_whsec, const tw_key_t *) = dec;
    return NULL;
}

/* Kept for check_secret_file_modes (after add_key made dc->keys). */
static void note_secret_file(cmd_parms *cmd, tw_dir_conf_t *dc, const char *path)
{
    tw_secret_file_t *f;

    if (dc->secret_files == NULL)
        dc->secret_files = apr_array_make(cmd->pool, 2, sizeof(tw_secret_file_t));
    f = apr_array_push(dc->secret_files);
    f->path = apr_pstrdup(cmd->pool, path);
    f->at = note_directive(cmd, dc);
}

/*
 * TwWebhookSecret <token> | file:<path>. Raw arguments, so that an empty
 * token ("") gets its own message instead of httpd's "takes one argument".
 */
static const char *cmd_secret(cmd_parms *cmd, void *dcv, const char *args)
{
    tw_dir_conf_t *dc = dcv;
    unsigned char buf[TW_SECRET_FILE_READ_MAX];
    apr_size_t len = 0;
    const char *arg = ap_getword_conf(cmd->temp_pool, &args);
    const char *path, *err;

    if (*args != '\0')
        return apr_psprintf(cmd->pool, "%s takes one argument: a token, or file:<path>",
                            cmd->cmd->name);
    if (*arg == '\0')
        return apr_psprintf(cmd->pool, "%s: empty token (a webhook token has at least "
                            "one character)", cmd->cmd->name);
    note_directive(cmd, dc);
    if (strncmp(arg, "file:", 5) != 0)
        return add_key(cmd, dc, arg, strlen(arg), "given inline");

    path = (arg[5] != '\0') ? ap_server_root_relative(cmd->temp_pool, arg + 5) : NULL;
    if (path == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'", cmd->cmd->name, arg + 5);
    err = read_secret_file(cmd, path, buf, sizeof(buf), &len);
    if (err == NULL)
        err = add_key(cmd, dc, buf, len, apr_pstrcat(cmd->temp_pool, "in file ", path, NULL));
    tw_cleanse(buf, sizeof(buf));
    tw_cleanse((char *)arg, strlen(arg));
    if (err == NULL)
        note_secret_file(cmd, dc, path);
    return err;
}

/* TwWebhook On|Off; where it was turned on is kept for check_secret_applies.
 * Off is not noted as the section's first directive: it can only take
 * protection away, so it needs no secret. */
static const char *cmd_enable(cmd_parms *cmd, void *dcv, int on)
{
    tw_dir_conf_t *dc = dcv;

    dc->enabled = on ? 1 : 0;
    dc->enabled_at = on ? note_directive(cmd, dc) : NULL;
    return NULL;
}

/* The known profile names, for an error message. */
static const char *profile_names(apr_pool_t *p)
{
    const char *names = "";
    const tw_profile_t *prof;
    size_t i;

    for (i = 0; (prof = tw_profile_at(i)) != NULL; i++)
        names = apr_pstrcat(p, names, i ? ", " : "", prof->name, NULL);
    return names;
}

/* TwWebhookProfile <name> */
static const char *cmd_profile(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    const tw_profile_t *p = tw_profile_find(arg);
    const char *bad;

    note_directive(cmd, dc);
    if (p == NULL)
        return apr_psprintf(cmd->pool, "%s: unknown profile '%s' (known: %s)",
                            cmd->cmd->name, arg, profile_names(cmd->temp_pool));
    dc->profile = p;
    if (dc->keys != NULL && tw_conf_keys(dc, &bad) == NULL)
        return apr_psprintf(cmd->pool, "%s %s: %s of this section is not a whsec_<base64> "
                            "secret", cmd->cmd->name, arg, bad);
    return NULL;
}

/* TwWebhookTimestampTolerance <seconds> */
static const char *cmd_tolerance(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    apr_int64_t secs;
    char *end;

    errno = 0;
    secs = apr_strtoi64(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || secs <= 0 || secs > TW_TOLERANCE_MAX)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number of seconds from 1 to %d",
                            cmd->cmd->name, arg, TW_TOLERANCE_MAX);
    dc->tolerance = secs;
    dc->tolerance_at = note_directive(cmd, dc);
    return NULL;
}

/* 1 when arg is a whole number of bytes (decimal digits only, no sign). */
static int parse_bytes(const char *arg, apr_off_t *psize)
{
    char *end;

    return apr_isdigit(*arg) && apr_strtoff(psize, arg, &end, 10) == APR_SUCCESS
        && *end == '\0';
}

/* TwWebhookMaxBodySize <bytes> */
static const char *cmd_max_body(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    apr_off_t size;

    if (!parse_bytes(arg, &size) || size == 0)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a positive whole number of bytes",
                            cmd->cmd->name, arg);
    note_directive(cmd, dc);
    dc->max_body = size;
    return NULL;
}

/* TwWebhookSpoolMemoryLimit <bytes> */
static const char *cmd_spool_memory(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    apr_off_t size;

    if (!parse_bytes(arg, &size) || size > TW_SPOOL_MEMORY_MAX)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a whole number of bytes from 0 to %" APR_OFF_T_FMT,
                            cmd->cmd->name, arg, TW_SPOOL_MEMORY_MAX);
    note_directive(cmd, dc);
    dc->spool_memory = size;
    return NULL;
}

/* TwWebhookSpoolDir <directory> */
static const char *cmd_spool_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    tw_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config, &twwebhook_module);
    const char *dir = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t finfo;

    if (dir == NULL || apr_stat(&finfo, dir, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || finfo.filetype != APR_DIR)
        return apr_psprintf(cmd->pool, "%s: '%s' is not an existing directory",
                            cmd->cmd->name, arg);
    sc->spool_dir = dir;
    return NULL;
}

/* An HTTP field name (RFC 9110 token), as TwWebhook*Header takes. */
static int is_header_name(const char *name)
{
    const char *p;

    if (*name == '\0')
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!apr_isalnum(*p) && !ap_strchr_c("!#$%&'*+-.^_`|~", *p))
            return 0;
    return 1;
}

/* TwWebhookSignatureHeader, TwWebhookEventHeader, TwWebhookDeliveryHeader */
static const char *cmd_header_name(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    const char **field = (const char **)((char *)dc + (apr_size_t)cmd->info);

    if (!is_header_name(arg))
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header field name",
                            cmd->cmd->name, arg);
    note_directive(cmd, dc);
    *field = arg;
    return NULL;
}

/* TwWebhookEvents <pattern> ... */
static const char *cmd_events(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;

    if (!tw_event_pattern_is_valid(arg))
        return apr_psprintf(cmd->pool, "%s: '%s' is not an event pattern "
                            "(%s, and '*'; at most %d characters)",
                            cmd->cmd->name, arg, TW_EVENT_SYNTAX, TW_EVENT_MAX);
    if (dc->events == NULL) {
        dc->events = apr_array_make(cmd->pool, 4, sizeof(const char *));
        dc->events_at = note_directive(cmd, dc);
    }
    APR_ARRAY_PUSH(dc->events, const char *) = arg;
    return NULL;
}

/* "HTTP_*, ..., PHP_VALUE, ...": the reserved names, from the core's lists. */
static const char *reserved_env_names_text(apr_pool_t *p)
{
    const char *text = NULL;
    size_t i;

    for (i = 0; tw_env_reserved_prefixes[i] != NULL; i++)
        text = text ? apr_pstrcat(p, text, ", ", tw_env_reserved_prefixes[i], "*", NULL)
                    : apr_pstrcat(p, tw_env_reserved_prefixes[i], "*", NULL);
    for (i = 0; tw_env_reserved_names[i] != NULL; i++)
        text = apr_pstrcat(p, text, ", ", tw_env_reserved_names[i], NULL);
    return text;
}

/* TwWebhookExportJSON <json-pointer> <ENV_NAME> */
static const char *cmd_export_json(cmd_parms *cmd, void *dcv, const char *pointer,
                                   const char *name)
{
    tw_dir_conf_t *dc = dcv;
    tw_export_t *export;

    if (!tw_json_pointer_is_valid(pointer))
        return apr_psprintf(cmd->pool, "%s: '%s' is not a JSON pointer (RFC 6901: "
                            "\"/page/id\", with ~0 for ~ and ~1 for /)", cmd->cmd->name, pointer);
    if (!tw_env_name_is_allowed(name))
        return apr_psprintf(cmd->pool, "%s: '%s' cannot be used as a variable name "
                            "([A-Z0-9_], not starting with a digit, at most %d characters, "
                            "not %s)", cmd->cmd->name, name, TW_ENV_NAME_MAX,
                            reserved_env_names_text(cmd->pool));
    note_directive(cmd, dc);
    if (dc->exports == NULL)
        dc->exports = apr_array_make(cmd->pool, 4, sizeof(tw_export_t));
    export = apr_array_push(dc->exports);
    export->pointer = pointer;
    export->env_name = name;
    return NULL;
}

/* TwWebhookRequireJSON On|Off */
static const char *cmd_require_json(cmd_parms *cmd, void *dcv, int on)
{
    tw_dir_conf_t *dc = dcv;

    note_directive(cmd, dc);
    dc->require_json = on;
    return NULL;
}

/* TwWebhookInboxHold On|Off; where, for check_inbox_hold. */
static const char *cmd_inbox_hold(cmd_parms *cmd, void *dcv, int on)
{
    tw_dir_conf_t *dc = dcv;

    dc->inbox_hold = on;
    dc->inbox_hold_at = note_directive(cmd, dc);
    return NULL;
}

/* TwWebhookDeliveriesLog <rows>: server-wide, 0 switches the ring off. */
static const char *cmd_deliveries_log(cmd_parms *cmd, void *dummy, const char *arg)
{
    tw_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config, &twwebhook_module);
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (end == arg || *end != '\0' || n < 0 || n > TW_DELIVERIES_LOG_MAX)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of rows from 0 to %d",
                            cmd->cmd->name, arg, TW_DELIVERIES_LOG_MAX);
    sc->deliveries_log = (int)n;
    return NULL;
}

/* TwWebhookDeliveriesShowBody On|Off: where the webhook is handled, whether
 * its verified body is kept (its first 4 KiB) for the deliveries page. */
static const char *cmd_deliveries_show_body(cmd_parms *cmd, void *dcv, int on)
{
    tw_dir_conf_t *dc = dcv;

    note_directive(cmd, dc);
    dc->deliveries_show_body = on;
    return NULL;
}

/* TwWebhookInbox <directory>|redis:host:port[/db]: a directory is checked
 * in check_config, once User is known (glue/inbox.c's
 * tw_inbox_check_config); a Redis store by its syntax here. */
static const char *cmd_inbox(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    const char *spec, *why;

    if (tw_store_spec_is_redis(arg))
        spec = arg;
    else if ((spec = ap_server_root_relative(cmd->pool, arg)) == NULL || *arg == '\0')
        return apr_psprintf(cmd->pool, "%s: invalid directory path '%s'", cmd->cmd->name, arg);
    if ((why = tw_store_check_spec(spec, cmd->pool)) != NULL)
        return apr_psprintf(cmd->pool, "%s: %s: %s", cmd->cmd->name, arg, why);
    dc->inbox_dir = spec;
    dc->inbox_at = note_directive(cmd, dc);
    return NULL;
}

/* TwWebhookQueue On|Off; where, for check_queue. */
static const char *cmd_queue(cmd_parms *cmd, void *dcv, int on)
{
    tw_dir_conf_t *dc = dcv;

    dc->queue = on;
    dc->queue_at = note_directive(cmd, dc);
    return NULL;
}

/*
 * A duration: a whole number with a unit (ms, s, m, h, d; seconds without
 * one), from min to max. NULL when good, else why not.
 */
static const char *parse_duration(apr_pool_t *p, const char *arg, apr_interval_time_t min,
                                  apr_interval_time_t max, apr_interval_time_t *out)
{
    static const struct { const char *unit; apr_interval_time_t usec; } units[] = {
        { "", APR_USEC_PER_SEC }, { "ms", 1000 }, { "s", APR_USEC_PER_SEC },
        { "m", 60 * APR_USEC_PER_SEC }, { "h", 3600 * APR_USEC_PER_SEC },
        { "d", 86400 * APR_USEC_PER_SEC },
    };
    apr_off_t n;
    char *end;
    apr_size_t i;

    if (apr_strtoff(&n, arg, &end, 10) == APR_SUCCESS && end != arg && apr_isdigit(*arg)
        && n <= 1000000000) {
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strcasecmp(end, units[i].unit) != 0)
                continue;
            *out = (apr_interval_time_t)n * units[i].usec;
            if (*out >= min && *out <= max)
                return NULL;
            break;
        }
    }
    return apr_psprintf(p, "'%s' is not a duration from %" APR_TIME_T_FMT "ms to %"
                        APR_TIME_T_FMT "s (a whole number with ms, s, m, h or d)",
                        arg, apr_time_as_msec(min), apr_time_sec(max));
}

/*
 * TwWebhookQueueRetry [attempts=N] [max-age=DURATION] [base=DURATION]
 * [cap=DURATION]: key=value pairs, as ProxyPass takes its parameters; what
 * is not named keeps its default (not the enclosing section's value: one
 * line says the whole schedule).
 */
static const char *cmd_queue_retry(cmd_parms *cmd, void *dcv, const char *args)
{
    tw_dir_conf_t *dc = dcv;
    tw_retry_t *retry = apr_pmemdup(cmd->pool, &default_retry, sizeof(*retry));
    const char *word, *err = NULL;

    note_directive(cmd, dc);
    if (*args == '\0')
        return apr_psprintf(cmd->pool, "%s: name at least one of attempts=, max-age=, base=, "
                            "cap=", cmd->cmd->name);
    while (*(word = ap_getword_conf(cmd->temp_pool, &args)) != '\0') {
        const char *eq = strchr(word, '=');
        const char *key = eq ? apr_pstrmemdup(cmd->temp_pool, word, (apr_size_t)(eq - word)) : word;
        const char *val = eq ? eq + 1 : "";
        apr_off_t n;
        char *end;

        if (strcasecmp(key, "attempts") == 0) {
            if (apr_strtoff(&n, val, &end, 10) != APR_SUCCESS || end == val || *end != '\0'
                || n < 0 || n > TW_QUEUE_MAX_ATTEMPTS)
                err = apr_psprintf(cmd->pool, "attempts '%s' is not a number from 0 (no "
                                   "limit) to %d", val, TW_QUEUE_MAX_ATTEMPTS);
            else
                retry->attempts = (unsigned int)n;
        }
        else if (strcasecmp(key, "max-age") == 0)
            err = strcmp(val, "0") == 0 ? (retry->max_age = 0, NULL)
                : parse_duration(cmd->pool, val, apr_time_from_sec(1),
                                 apr_time_from_sec(30 * 86400), &retry->max_age);
        else if (strcasecmp(key, "base") == 0)
            err = parse_duration(cmd->pool, val, apr_time_from_msec(10),
                                 apr_time_from_sec(3600), &retry->base);
        else if (strcasecmp(key, "cap") == 0)
            err = parse_duration(cmd->pool, val, apr_time_from_msec(10),
                                 apr_time_from_sec(86400), &retry->cap);
        else
            err = apr_psprintf(cmd->pool, "unknown parameter '%s' (attempts=, max-age=, "
                               "base=, cap=)", word);
        if (err != NULL)
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    if (retry->cap < retry->base)
        return apr_psprintf(cmd->pool, "%s: cap is shorter than base", cmd->cmd->name);
    if (retry->attempts == 0 && retry->max_age == 0)
        return apr_psprintf(cmd->pool, "%s: attempts=0 and max-age=0: an entry would be tried "
                            "for ever; keep one limit", cmd->cmd->name);
    dc->retry = retry;
    return NULL;
}

/* TwWebhookQueueConcurrency N */
static const char *cmd_queue_concurrency(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    apr_off_t n;
    char *end;

    note_directive(cmd, dc);
    if (apr_strtoff(&n, arg, &end, 10) != APR_SUCCESS || end == arg || *end != '\0'
        || n < 1 || n > TW_QUEUE_MAX_CONCURRENCY)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number from 1 to %d",
                            cmd->cmd->name, arg, TW_QUEUE_MAX_CONCURRENCY);
    dc->concurrency = (int)n;
    return NULL;
}

/* ---- the replay cache's directives (server-wide; used by replay_cache.c) -- */

void tw_config_pre_config(void)
{
    memset(&replay_conf, 0, sizeof(replay_conf));
    replay_conf.window = TW_REPLAY_DEFAULT_WINDOW;
    replay_conf.lease = TW_REPLAY_DEFAULT_LEASE;
    replay_conf.timeout = TW_REPLAY_DEFAULT_TIMEOUT;
    replay_conf.fail_open = 1;
    inbox_timeout = TW_INBOX_DEFAULT_TIMEOUT;
}

apr_interval_time_t tw_conf_inbox_timeout(void)
{
    return inbox_timeout;
}

const tw_replay_conf_t *tw_conf_replay(void)
{
    return &replay_conf;
}

/* "Directive (file:line)", for the check_config lines about tuning. */
static const char *tuning_directive(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s (%s:%d)", cmd->cmd->name, cmd->directive->filename,
                        cmd->directive->line_num);
}

/* TwWebhookReplayCache <provider>[:<args>] */
static const char *cmd_replay_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep, *name, *args = NULL;
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *probe = NULL;

    if (err != NULL)
        return err;
    sep = ap_strchr_c(arg, ':');
    name = sep ? apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(sep - arg)) : apr_pstrdup(cmd->pool, arg);
    if (sep != NULL)
        args = apr_pstrdup(cmd->pool, sep + 1);
    replay_conf.spec = apr_pstrdup(cmd->pool, arg);
    replay_conf.engine = name;
    replay_conf.engine_args = args;
    replay_conf.net = NULL;
    if (strcmp(name, "memcache") == 0 || strcmp(name, "redis") == 0) {
        err = tw_net_create(&replay_conf.net, name, args, cmd->pool);
        return err ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err) : NULL;
    }
    provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (provider == NULL)
        return apr_psprintf(cmd->pool,
                            "%s: unknown cache provider '%s' (is mod_socache_%s loaded?)",
                            cmd->cmd->name, name, name);
    /* Only to check the arguments here, where the message gets the file and
     * line: the instance that serves is made (or kept) in post_config. */
    err = provider->create(&probe, args, cmd->temp_pool, cmd->temp_pool);
    if (err != NULL)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    return NULL;
}

/* A whole number of seconds from min to max, else the directive's error. */
static const char *parse_seconds(cmd_parms *cmd, const char *arg, apr_off_t min,
                                 apr_off_t max, apr_interval_time_t *out)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_off_t secs;
    char *end;

    if (err != NULL)
        return err;
    if (apr_strtoff(&secs, arg, &end, 10) != APR_SUCCESS || end == arg || *end != '\0'
        || secs < min || secs > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds from %"
                            APR_OFF_T_FMT " to %" APR_OFF_T_FMT, cmd->cmd->name, arg, min, max);
    *out = apr_time_from_sec(secs);
    replay_conf.tuned_by = tuning_directive(cmd);
    return NULL;
}

/* TwWebhookReplayWindow <seconds>: 1 to 30 days */
static const char *cmd_replay_window(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_seconds(cmd, arg, 1, 30L * 24 * 3600, &replay_conf.window);
}

/* TwWebhookReplayCacheFailure open|closed */
static const char *cmd_replay_failure(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err != NULL)
        return err;
    if (strcasecmp(arg, "open") == 0)
        replay_conf.fail_open = 1;
    else if (strcasecmp(arg, "closed") == 0)
        replay_conf.fail_open = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is neither 'open' nor 'closed'",
                            cmd->cmd->name, arg);
    replay_conf.tuned_by = tuning_directive(cmd);
    return NULL;
}

/* TwWebhookReplayLease <seconds> */
static const char *cmd_replay_lease(cmd_parms *cmd, void *dummy, const char *arg)
{
    return parse_seconds(cmd, arg, 3, TW_REPLAY_MAX_LEASE, &replay_conf.lease);
}

/* TwWebhookReplayCacheTimeout <seconds>[ms] */
static const char *cmd_replay_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t timeout;

    if (err != NULL)
        return err;
    if (ap_timeout_parameter_parse(arg, &timeout, "s") != APR_SUCCESS
        || timeout < apr_time_from_msec(10) || timeout > apr_time_from_sec(TW_REPLAY_MAX_TIMEOUT))
        return apr_psprintf(cmd->pool, "%s: '%s' is not a time from 10ms to %d (seconds, "
                            "or with ms)", cmd->cmd->name, arg, TW_REPLAY_MAX_TIMEOUT);
    replay_conf.timeout = timeout;
    replay_conf.tuned_by = tuning_directive(cmd);
    return NULL;
}

/* TwWebhookInboxTimeout <seconds>[ms]: the same range as the replay
 * cache's, for the same reason (a sender gives up after a few seconds). */
static const char *cmd_inbox_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t timeout;

    if (err != NULL)
        return err;
    if (ap_timeout_parameter_parse(arg, &timeout, "s") != APR_SUCCESS
        || timeout < apr_time_from_msec(10) || timeout > apr_time_from_sec(TW_REPLAY_MAX_TIMEOUT))
        return apr_psprintf(cmd->pool, "%s: '%s' is not a time from 10ms to %d (seconds, "
                            "or with ms)", cmd->cmd->name, arg, TW_REPLAY_MAX_TIMEOUT);
    inbox_timeout = timeout;
    return NULL;
}

/* For handlers that set one field (cmd_header_name). */
#define DIR_FIELD(field) ((void *)APR_OFFSETOF(tw_dir_conf_t, field))

const command_rec tw_cmds[] = {
    /* RSRC_CONF|ACCESS_CONF and no OR_* override class: none of these can
     * appear in .htaccess, whatever AllowOverride says. */
    AP_INIT_RAW_ARGS("TwWebhookSecret", cmd_secret, NULL, RSRC_CONF | ACCESS_CONF,
                  "a webhook token, or file:<path> to read it from a file; "
                  "repeat to accept several (key rotation)"),
    AP_INIT_FLAG("TwWebhook", cmd_enable, NULL, RSRC_CONF | ACCESS_CONF,
                 "On to verify webhooks here (the default where a secret applies), "
                 "Off to stop"),
    AP_INIT_TAKE1("TwWebhookProfile", cmd_profile, NULL, RSRC_CONF | ACCESS_CONF,
                  "the sender's signing scheme: teamwork (default), teamwork-projects, "
                  "teamwork-desk, github, standard-webhooks, stripe, slack, shopify"),
    AP_INIT_TAKE1("TwWebhookTimestampTolerance", cmd_tolerance, NULL, RSRC_CONF | ACCESS_CONF,
                  "seconds a signed timestamp may lie in the past or future (default 300)"),
    AP_INIT_TAKE1("TwWebhookMaxBodySize", cmd_max_body, NULL, RSRC_CONF | ACCESS_CONF,
                  "largest webhook body accepted, in bytes (default 1048576)"),
    AP_INIT_TAKE1("TwWebhookSpoolMemoryLimit", cmd_spool_memory, NULL, RSRC_CONF | ACCESS_CONF,
                  "bytes of each body kept in memory, the rest going to TwWebhookSpoolDir "
                  "(default 65536)"),
    AP_INIT_TAKE1("TwWebhookSpoolDir", cmd_spool_dir, NULL, RSRC_CONF,
                  "directory for bodies too large to keep in memory "
                  "(default: the system temporary directory)"),
    AP_INIT_TAKE1("TwWebhookSignatureHeader", cmd_header_name, DIR_FIELD(signature_header),
                  RSRC_CONF | ACCESS_CONF, "header carrying the signature (default Signature)"),
    AP_INIT_TAKE1("TwWebhookEventHeader", cmd_header_name, DIR_FIELD(event_header),
                  RSRC_CONF | ACCESS_CONF, "header naming the event (default Event)"),
    AP_INIT_TAKE1("TwWebhookDeliveryHeader", cmd_header_name, DIR_FIELD(delivery_header),
                  RSRC_CONF | ACCESS_CONF, "header carrying the delivery id (default Delivery)"),
    AP_INIT_ITERATE("TwWebhookEvents", cmd_events, NULL, RSRC_CONF | ACCESS_CONF,
                    "events handed to the app (patterns such as page.*); "
                    "others are acknowledged without it"),
    AP_INIT_TAKE2("TwWebhookExportJSON", cmd_export_json, NULL, RSRC_CONF | ACCESS_CONF,
                  "a JSON pointer into the verified body and the variable to export it as"),
    AP_INIT_FLAG("TwWebhookRequireJSON", cmd_require_json, NULL, RSRC_CONF | ACCESS_CONF,
                 "On to answer 400 to a verified body that is not one JSON document"),
    AP_INIT_TAKE1("TwWebhookInbox", cmd_inbox, NULL, RSRC_CONF | ACCESS_CONF,
                  "directory (relative to ServerRoot) or redis:host:port[/db] where every "
                  "verified delivery is kept until the app answered 2xx"),
    AP_INIT_FLAG("TwWebhookInboxHold", cmd_inbox_hold, NULL, RSRC_CONF | ACCESS_CONF,
                 "On to answer 200 and hold the delivery when the app fails with 5xx "
                 "or cannot be reached (default Off: the sender sees the failure)"),
    AP_INIT_TAKE1("TwWebhookInboxTimeout", cmd_inbox_timeout, NULL, RSRC_CONF,
                  "longest time one call on the inbox's store may take, connecting "
                  "included, e.g. 2 or 500ms (default 2)"),
    AP_INIT_TAKE1("TwWebhookDeliveriesLog", cmd_deliveries_log, NULL, RSRC_CONF,
                  "recent deliveries the twwebhook-deliveries page keeps per server "
                  "(default 200, 0: none; about 8.2 KiB of shared memory each)"),
    AP_INIT_FLAG("TwWebhookDeliveriesShowBody", cmd_deliveries_show_body, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On to keep the first 4 KiB of each verified body for the deliveries "
                 "page (default Off)"),
    AP_INIT_FLAG("TwWebhookQueue", cmd_queue, NULL, RSRC_CONF | ACCESS_CONF,
                 "On to answer 200 once a verified delivery is in the inbox and hand it "
                 "to the app in the background (default Off)"),
    AP_INIT_RAW_ARGS("TwWebhookQueueRetry", cmd_queue_retry, NULL, RSRC_CONF | ACCESS_CONF,
                     "[attempts=N] [max-age=DURATION] [base=DURATION] [cap=DURATION]: "
                     "when the queue tries a delivery again and when it gives up"),
    AP_INIT_TAKE1("TwWebhookQueueConcurrency", cmd_queue_concurrency, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "most queued deliveries in this location's app at once (default 4)"),
    AP_INIT_TAKE1("TwWebhookReplayCache", cmd_replay_cache, NULL, RSRC_CONF,
                  "socache provider[:arguments] remembering handled deliveries "
                  "(server-wide), e.g. shmcb, memcache:host:port, redis:host:port"),
    AP_INIT_TAKE1("TwWebhookReplayWindow", cmd_replay_window, NULL, RSRC_CONF,
                  "seconds a handled delivery is remembered (default 3600)"),
    AP_INIT_TAKE1("TwWebhookReplayCacheFailure", cmd_replay_failure, NULL, RSRC_CONF,
                  "open (deliver) or closed (answer 503) when the replay cache fails "
                  "(default open)"),
    AP_INIT_TAKE1("TwWebhookReplayLease", cmd_replay_lease, NULL, RSRC_CONF,
                  "seconds a claim outlives a holder that stopped renewing it "
                  "(default 30)"),
    AP_INIT_TAKE1("TwWebhookReplayCacheTimeout", cmd_replay_timeout, NULL, RSRC_CONF,
                  "longest time one replay cache operation may take, e.g. 2 or 500ms "
                  "(default 2)"),
    {NULL}
};

/* ---- checks across sections (check_config) ------------------------------- */

/* One configuration section: its core settings and ours (NULL: none). */
typedef struct {
    const core_dir_config *core;
    const tw_dir_conf_t *tw;
    int kind;                  /* which walk: TW_SECTION_URL, _DIR, _FILE; or _IF */
    int parent;                /* _IF: the index of the section it sits in; -1: the server */
} tw_section_t;

enum { TW_SECTION_URL, TW_SECTION_DIR, TW_SECTION_FILE, TW_SECTION_IF };

#define SECTION_AT(sections, i) (&APR_ARRAY_IDX((sections), (i), tw_section_t))

static void collect_sections(apr_array_header_t *out, apr_array_header_t *vectors, int kind,
                             int parent, int with_if)
{
    int i;

    for (i = 0; vectors != NULL && i < vectors->nelts; i++) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(vectors, i, ap_conf_vector_t *);
        const core_dir_config *core = ap_get_core_module_config(v);
        tw_section_t *sec = apr_array_push(out);
        int self = out->nelts - 1;

        sec->core = core;
        sec->tw = ap_get_module_config(v, &twwebhook_module);
        sec->kind = kind;
        sec->parent = kind == TW_SECTION_IF ? parent : -1;
        if (kind == TW_SECTION_DIR)   /* <Files> inside <Directory> */
            collect_sections(out, core->sec_file, TW_SECTION_FILE, -1, with_if);
        if (with_if)                  /* <If>, <ElseIf>, <Else> inside it */
            collect_sections(out, core->sec_if, TW_SECTION_IF, self, with_if);
    }
}

/* Every section of server s: its <Location>s, <Directory>s and <Files>,
 * and with with_if the <If>, <ElseIf> and <Else> sections in them and at
 * server level. */
static apr_array_header_t *server_sections(apr_pool_t *p, server_rec *s, int with_if)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    core_dir_config *defaults = ap_get_core_module_config(s->lookup_defaults);
    apr_array_header_t *sections = apr_array_make(p, 16, sizeof(tw_section_t));

    collect_sections(sections, core->sec_url, TW_SECTION_URL, -1, with_if);
    collect_sections(sections, core->sec_dir, TW_SECTION_DIR, -1, with_if);
    collect_sections(sections, defaults->sec_file, TW_SECTION_FILE, -1, with_if);
    if (with_if)
        collect_sections(sections, defaults->sec_if, TW_SECTION_IF, -1, with_if);
    return sections;
}

/* 1 when a secret set in section k may apply where section s applies. */
static int section_may_enclose(const apr_array_header_t *sections, const tw_section_t *k,
                               const tw_section_t *s)
{
    size_t n;

    /* An <If> applies within the section it sits in (the whole server for
     * one at server level), whenever its expression holds. */
    if (k->kind == TW_SECTION_IF) {
        const tw_section_t *in = k->parent >= 0 ? SECTION_AT(sections, k->parent) : NULL;

        return in == NULL || in == s || section_may_enclose(sections, in, s);
    }
    /* Across walks (a <Directory> secret and a <Location> request), or
     * with a regex on either side, a request may meet both: assume so. */
    if (k->kind != s->kind || k->core->r != NULL || s->core->r != NULL
        || k->core->d == NULL || s->core->d == NULL || k->core->d_is_fnmatch)
        return 1;
    n = strlen(k->core->d);
    return strncmp(k->core->d, s->core->d, n) == 0;
}

/* 1 when some section other than sec that may enclose it satisfies want
 * (sec NULL: the server level, which any section of the server refines). */
static int enclosing_section_has(const apr_array_header_t *sections, const tw_section_t *sec,
                                 int (*want)(const tw_dir_conf_t *))
{
    int j;

    for (j = 0; j < sections->nelts; j++) {
        const tw_section_t *k = &APR_ARRAY_IDX(sections, j, tw_section_t);
        if (k != sec && k->tw != NULL && want(k->tw)
            && (sec == NULL || section_may_enclose(sections, k, sec)))
            return 1;
    }
    return 0;
}

/*
 * 1 when a setting that want looks for may apply where sec applies: set
 * in sec itself, at the server or virtual host, or in a section that may
 * enclose sec (a shorter path of the same walk, another walk, a regex).
 * Only where none can is a dependent directive an error: a request may
 * meet sections of different walks, which only the request decides.
 */
static int may_apply(const tw_dir_conf_t *server_dc, const apr_array_header_t *sections,
                     const tw_section_t *sec, int (*want)(const tw_dir_conf_t *))
{
    /* An <If> is merged over what applies to the section it sits in (at
     * server level: over any section of the server), per request. */
    if (sec != NULL && sec->kind == TW_SECTION_IF)
        return (sec->tw != NULL && want(sec->tw))
            || may_apply(server_dc, sections,
                         sec->parent >= 0 ? SECTION_AT(sections, sec->parent) : NULL, want);
    return want(server_dc) || (sec != NULL && sec->tw != NULL && want(sec->tw))
        || enclosing_section_has(sections, sec, want);
}

static int has_keys(const tw_dir_conf_t *dc)
{
    return dc->keys != NULL;
}

static int signs_timestamp(const tw_dir_conf_t *dc)
{
    return dc->profile != NULL && dc->profile->signs_timestamp;
}

static int has_inbox(const tw_dir_conf_t *dc)
{
    return dc->inbox_dir != NULL;
}

static int has_event_header(const tw_dir_conf_t *dc)
{
    return dc->event_header != NULL;
}

/*
 * A section that sets any TwWebhook* directive but "TwWebhook Off" where
 * no TwWebhookSecret can apply looks protected and is not: its requests
 * reach the app unverified (and "TwWebhook On" there answers 500 to every
 * one). Refuse it at start-up and in apachectl configtest, naming the
 * section and its first such directive. A TwWebhook* setting at server or
 * virtual-host level is a default for the sections where a secret
 * applies, not an error. An <If> is checked as merged over the section it
 * sits in, whatever its expression says.
 */
static int check_secret_applies(server_rec *s, const tw_dir_conf_t *server_dc,
                                const apr_array_header_t *sections, const tw_section_t *sec)
{
    if (sec->tw->set_at == NULL || may_apply(server_dc, sections, sec, has_keys))
        return OK;
    if (sec->tw->enabled == 1)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0802: %s: TwWebhook On, but no TwWebhookSecret applies here "
                     "(none in this section, one that may enclose it, or the server)",
                     sec->tw->enabled_at);
    else
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0807: %s: %s in %s, but no TwWebhookSecret applies there (none in "
                     "this section, one that may enclose it, or the server): its requests "
                     "would reach the app unverified. Add the secret, or move the directive "
                     "into a protected section", sec->tw->set_at, sec->tw->set_name,
                     sec->tw->set_section ? sec->tw->set_section : "this section");
    return HTTP_INTERNAL_SERVER_ERROR;
}

/*
 * TwWebhookTimestampTolerance only means something under a profile that
 * signs a timestamp, and the replay cache must remember a delivery at least
 * as long as its timestamp is accepted: within the tolerance the cache
 * stops a replay, beyond it the timestamp does. A section's own profile is
 * the one that applies there; without one, any that may enclose it.
 */
static int check_tolerance(server_rec *s, const tw_dir_conf_t *server_dc,
                           const apr_array_header_t *sections, const tw_section_t *sec)
{
    const tw_dir_conf_t *dc = sec != NULL ? sec->tw : server_dc;
    int timestamped = dc->profile != NULL ? dc->profile->signs_timestamp
                      : (sec != NULL && may_apply(server_dc, sections, sec, signs_timestamp));

    if (dc->tolerance != TW_UNSET && !timestamped) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0803: %s: TwWebhookTimestampTolerance, but no TwWebhookProfile "
                     "that signs a timestamp applies here (%s)", dc->tolerance_at,
                     tw_conf_profile(dc)->name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (timestamped && replay_conf.spec != NULL
        && apr_time_sec(replay_conf.window) < tw_conf_tolerance(dc)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0804: %s: TwWebhookReplayWindow (%" APR_TIME_T_FMT " s) is shorter "
                     "than TwWebhookTimestampTolerance (%" APR_INT64_T_FMT " s): a delivery "
                     "could be replayed once the cache forgot it and before its timestamp "
                     "expired", dc->tolerance_at ? dc->tolerance_at : "the default tolerance",
                     apr_time_sec(replay_conf.window), tw_conf_tolerance(dc));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int inbox_hold_error(server_rec *s, const tw_dir_conf_t *dc)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                 "TWW0808: %s: TwWebhookInboxHold On, but no TwWebhookInbox applies here "
                 "(none in this section, one that may enclose it, or the server): there is "
                 "nowhere to hold a delivery", dc->inbox_hold_at);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* TwWebhookInboxHold On in a section holds deliveries in the inbox:
 * without one that may apply it would do nothing. (Off needs none: it is
 * the default.) At server level see check_server. */
static int check_inbox_hold(server_rec *s, const tw_dir_conf_t *server_dc,
                            const apr_array_header_t *sections, const tw_section_t *sec)
{
    if (sec->tw->inbox_hold != 1 || may_apply(server_dc, sections, sec, has_inbox))
        return OK;
    return inbox_hold_error(s, sec->tw);
}

static int queue_error(server_rec *s, const tw_dir_conf_t *dc)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                 "TWW0840: %s: TwWebhookQueue On, but no TwWebhookInbox applies here "
                 "(none in this section, one that may enclose it, or the server): a queued "
                 "delivery is kept in the inbox", dc->queue_at);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* TwWebhookQueue On needs an inbox, as TwWebhookInboxHold On does. */
static int check_queue(server_rec *s, const tw_dir_conf_t *server_dc,
                       const apr_array_header_t *sections, const tw_section_t *sec)
{
    if (sec->tw->queue != 1 || may_apply(server_dc, sections, sec, has_inbox))
        return OK;
    return queue_error(s, sec->tw);
}

static int has_queue(const tw_dir_conf_t *dc)
{
    return dc->queue == 1;
}

const char *tw_config_queue_at(apr_pool_t *ptemp, server_rec *s)
{
    for (; s != NULL; s = s->next) {
        const tw_dir_conf_t *server_dc = ap_get_module_config(s->lookup_defaults,
                                                              &twwebhook_module);
        apr_array_header_t *sections = server_sections(ptemp, s, 1);
        int i;

        if (has_queue(server_dc))
            return server_dc->queue_at;
        for (i = 0; i < sections->nelts; i++)
            if (SECTION_AT(sections, i)->tw != NULL && has_queue(SECTION_AT(sections, i)->tw))
                return SECTION_AT(sections, i)->tw->queue_at;
    }
    return NULL;
}

/* 1 when some server or section of the configuration has an inbox. */
static int config_has_inbox(apr_pool_t *ptemp, server_rec *s)
{
    for (; s != NULL; s = s->next)
        if (may_apply(ap_get_module_config(s->lookup_defaults, &twwebhook_module),
                      server_sections(ptemp, s, 1), NULL, has_inbox))
            return 1;
    return 0;
}

/* TwWebhookEvents under a profile that reads no event name (slack) and
 * with no TwWebhookEventHeader would acknowledge every delivery as
 * "ignored" without running the app. Only the record's own profile is
 * certain to apply, so only it is looked at. */
static int check_events(server_rec *s, const tw_dir_conf_t *server_dc,
                        const apr_array_header_t *sections, const tw_section_t *sec)
{
    const tw_dir_conf_t *dc = sec != NULL ? sec->tw : server_dc;

    if (dc->events == NULL || dc->profile == NULL || dc->profile->event_source != TW_SOURCE_NONE
        || may_apply(server_dc, sections, sec, has_event_header))
        return OK;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                 "TWW0809: %s: TwWebhookEvents, but TwWebhookProfile %s reads no event name "
                 "and no TwWebhookEventHeader applies here: every delivery would be "
                 "answered \"ignored\" without reaching the app", dc->events_at,
                 dc->profile->name);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/*
 * A secret file that group or others can read (or write) is a warning,
 * not an error: the README asks for 0400 or 0600, and refusing to start
 * over it would take the webhooks down with it. Once per directive,
 * though a server-level secret is inherited by every virtual host.
 */
static void check_secret_file_modes(apr_pool_t *ptemp, server_rec *s, const tw_dir_conf_t *dc)
{
    struct stat st;
    int i;

    for (i = 0; dc->secret_files != NULL && i < dc->secret_files->nelts; i++) {
        const tw_secret_file_t *f = &APR_ARRAY_IDX(dc->secret_files, i, tw_secret_file_t);

        if (stat(f->path, &st) != 0
            || (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) == 0
            || !tw_config_first_warning(ptemp, apr_pstrcat(ptemp, "secret ", f->at, NULL)))
            continue;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TWW0810: %s: TwWebhookSecret file %s has mode %04o: group or others "
                     "can reach it; make it 0400 or 0600", f->at, f->path,
                     (unsigned)(st.st_mode & 07777));
    }
}

int tw_config_first_warning(apr_pool_t *ptemp, const char *key)
{
    apr_hash_t *seen = NULL;

    apr_pool_userdata_get((void **)&seen, "twwebhook-warned", ptemp);
    if (seen == NULL) {
        seen = apr_hash_make(ptemp);
        apr_pool_userdata_setn(seen, "twwebhook-warned", NULL, ptemp);
    }
    if (apr_hash_get(seen, key, APR_HASH_KEY_STRING) != NULL)
        return 0;
    apr_hash_set(seen, apr_pstrdup(ptemp, key), APR_HASH_KEY_STRING, "");
    return 1;
}

/* The checks every record (sec NULL: the server's own) goes through. */
typedef int (*tw_check_fn)(server_rec *, const tw_dir_conf_t *, const apr_array_header_t *,
                           const tw_section_t *);

static int check_server(apr_pool_t *ptemp, server_rec *s, int any_inbox)
{
    static const tw_check_fn section_checks[] = {
        check_secret_applies, check_tolerance, check_inbox_hold, check_queue, check_events,
    };
    static const tw_check_fn server_checks[] = {
        check_tolerance, check_events,
    };
    const tw_dir_conf_t *server_dc = ap_get_module_config(s->lookup_defaults, &twwebhook_module);
    apr_array_header_t *sections = server_sections(ptemp, s, 1);
    size_t c;
    int i, status;

    if (server_dc->enabled == 1 && server_dc->keys == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0801: %s: TwWebhook On, but no TwWebhookSecret applies at the "
                     "server level", server_dc->enabled_at);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* At server or virtual-host level TwWebhookInboxHold On is a default
     * for whichever sections have an inbox, in this server or (inherited)
     * in the virtual hosts: an error only when no inbox is anywhere. */
    if (server_dc->inbox_hold == 1 && !any_inbox)
        return inbox_hold_error(s, server_dc);
    if (server_dc->queue == 1 && !any_inbox)
        return queue_error(s, server_dc);
    for (c = 0; c < sizeof(server_checks) / sizeof(server_checks[0]); c++)
        if ((status = server_checks[c](s, server_dc, sections, NULL)) != OK)
            return status;
    check_secret_file_modes(ptemp, s, server_dc);
    for (i = 0; i < sections->nelts; i++) {
        const tw_section_t *sec = &APR_ARRAY_IDX(sections, i, tw_section_t);

        if (sec->tw == NULL)
            continue;
        for (c = 0; c < sizeof(section_checks) / sizeof(section_checks[0]); c++)
            if ((status = section_checks[c](s, server_dc, sections, sec)) != OK)
                return status;
        check_secret_file_modes(ptemp, s, sec->tw);
    }
    return OK;
}

/*
 * The configuration records of server s that list their own secrets (the
 * server or virtual host itself, and its <Location>, <Directory> and
 * <Files> sections), in configuration order: one protected scope each,
 * named by keys_scope. Sections inside <If> are not walked.
 */
void tw_config_protected_sections(apr_pool_t *p, server_rec *s, apr_array_header_t *out)
{
    const tw_dir_conf_t *server_dc = ap_get_module_config(s->lookup_defaults, &twwebhook_module);
    apr_array_header_t *sections = server_sections(p, s, 0);
    int i;

    if (server_dc != NULL && server_dc->keys != NULL)
        APR_ARRAY_PUSH(out, const tw_dir_conf_t *) = server_dc;
    for (i = 0; i < sections->nelts; i++) {
        const tw_section_t *sec = &APR_ARRAY_IDX(sections, i, tw_section_t);

        if (sec->tw != NULL && sec->tw->keys != NULL)
            APR_ARRAY_PUSH(out, const tw_dir_conf_t *) = sec->tw;
    }
}

int tw_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int any_inbox = config_has_inbox(ptemp, s);

    for (; s != NULL; s = s->next) {
        int status = check_server(ptemp, s, any_inbox);
        if (status != OK)
            return status;
    }
    return OK;
}
