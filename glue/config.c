/*
 * config.c - mod_twwebhook's configuration: the per-directory and
 * per-server records, how they merge, the directive handlers and the
 * command table, and the checks across sections that run at start-up and
 * in apachectl configtest (check_config). Every error names the directive;
 * httpd adds the file and line.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "apr_strings.h"
#include "apr_file_info.h"
#include "apr_lib.h"

#include "glue/glue.h"

APLOG_USE_MODULE(twwebhook);

#define TW_DEFAULT_MAX_BODY   ((apr_off_t)1024 * 1024)  /* 1 MiB */
#define TW_DEFAULT_SIGNATURE_HEADER "Signature"
#define TW_DEFAULT_EVENT_HEADER     "Event"
#define TW_DEFAULT_DELIVERY_HEADER  "Delivery"

void *tw_create_dir_conf(apr_pool_t *p, char *dir)
{
    tw_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->enabled = TW_UNSET;
    dc->max_body = TW_UNSET;
    dc->require_json = TW_UNSET;
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
     * whether it is protected by the same list (reverify_request). */
    MERGE_VAL(enabled);
    MERGE_PTR(enabled_at);
    MERGE_PTR(keys);
    dc->keys_scope = (add->keys != NULL) ? add->keys_scope : base->keys_scope;
    MERGE_VAL(max_body);
    MERGE_PTR(signature_header);
    MERGE_PTR(event_header);
    MERGE_PTR(delivery_header);
    MERGE_PTR(events);
    MERGE_PTR(exports);
    MERGE_VAL(require_json);
    return dc;
}

void *tw_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(tw_srv_conf_t));
}

void *tw_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const tw_srv_conf_t *base = basev, *add = addv;
    tw_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->spool_dir = add->spool_dir ? add->spool_dir : base->spool_dir;
    return sc;
}

int tw_conf_protects(const tw_dir_conf_t *dc)
{
    if (dc->enabled == 0)
        return 0;
    return dc->enabled == 1 || dc->keys != NULL;
}

apr_off_t tw_conf_max_body(const tw_dir_conf_t *dc)
{
    return dc->max_body == TW_UNSET ? TW_DEFAULT_MAX_BODY : dc->max_body;
}

const char *tw_conf_signature_header(const tw_dir_conf_t *dc)
{
    return dc->signature_header ? dc->signature_header : TW_DEFAULT_SIGNATURE_HEADER;
}

const char *tw_conf_event_header(const tw_dir_conf_t *dc)
{
    return dc->event_header ? dc->event_header : TW_DEFAULT_EVENT_HEADER;
}

const char *tw_conf_delivery_header(const tw_dir_conf_t *dc)
{
    return dc->delivery_header ? dc->delivery_header : TW_DEFAULT_DELIVERY_HEADER;
}

int tw_conf_wants_json(const tw_dir_conf_t *dc)
{
    return dc->require_json == 1 || (dc->exports != NULL && dc->exports->nelts > 0);
}

/* ---- directive handlers -------------------------------------------------- */

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

static const char *add_key(cmd_parms *cmd, tw_dir_conf_t *dc,
                           const void *secret, apr_size_t len, const char *origin)
{
    tw_key_t *key;

    if (len == 0)
        return apr_psprintf(cmd->pool, "%s: the secret %s is empty", cmd->cmd->name, origin);
    if (len > TW_SECRET_MAX)
        return apr_psprintf(cmd->pool, "%s: the secret %s is longer than %d bytes",
                            cmd->cmd->name, origin, TW_SECRET_MAX);
    if (tw_key_create(&key, secret, len) != TW_OK)
        return apr_psprintf(cmd->pool, "%s: cannot key HMAC-SHA256 (libcrypto failure)",
                            cmd->cmd->name);
    apr_pool_cleanup_register(cmd->pool, key, cleanup_key, apr_pool_cleanup_null);
    if (dc->keys == NULL) {
        dc->keys = apr_array_make(cmd->pool, 2, sizeof(const tw_key_t *));
        dc->keys_scope = cmd->path ? cmd->path : "";
    }
    APR_ARRAY_PUSH(dc->keys, const tw_key_t *) = key;
    return NULL;
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
    return err;
}

/* TwWebhook On|Off; where it was turned on is kept for check_secrets_apply. */
static const char *cmd_enable(cmd_parms *cmd, void *dcv, int on)
{
    tw_dir_conf_t *dc = dcv;

    dc->enabled = on ? 1 : 0;
    dc->enabled_at = on ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                       cmd->directive->line_num)
                        : NULL;
    return NULL;
}

/* TwWebhookMaxBodySize <bytes> */
static const char *cmd_max_body(cmd_parms *cmd, void *dcv, const char *arg)
{
    tw_dir_conf_t *dc = dcv;
    apr_off_t size;
    char *end;

    if (apr_strtoff(&size, arg, &end, 10) != APR_SUCCESS || end == arg || *end != '\0'
        || size <= 0)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a positive whole number of bytes",
                            cmd->cmd->name, arg);
    dc->max_body = size;
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
    if (dc->events == NULL)
        dc->events = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(dc->events, const char *) = arg;
    return NULL;
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
                            "not HTTP_*, REDIRECT_*, TW_WEBHOOK_*, PHP_VALUE or PHP_ADMIN_VALUE)",
                            cmd->cmd->name, name, TW_ENV_NAME_MAX);
    if (dc->exports == NULL)
        dc->exports = apr_array_make(cmd->pool, 4, sizeof(tw_export_t));
    export = apr_array_push(dc->exports);
    export->pointer = pointer;
    export->env_name = name;
    return NULL;
}

/* For handlers that set one field (ap_set_flag_slot, cmd_header_name). */
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
    AP_INIT_TAKE1("TwWebhookMaxBodySize", cmd_max_body, NULL, RSRC_CONF | ACCESS_CONF,
                  "largest webhook body accepted, in bytes (default 1048576)"),
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
    AP_INIT_FLAG("TwWebhookRequireJSON", ap_set_flag_slot, DIR_FIELD(require_json), RSRC_CONF | ACCESS_CONF,
                 "On to answer 400 to a verified body that is not one JSON document"),
    AP_INIT_TAKE1("TwWebhookReplayCache", tw_replay_cmd_cache, NULL, RSRC_CONF,
                  "socache provider[:arguments] remembering handled deliveries "
                  "(server-wide), e.g. shmcb, memcache:host:port, redis:host:port"),
    AP_INIT_TAKE1("TwWebhookReplayWindow", tw_replay_cmd_window, NULL, RSRC_CONF,
                  "seconds a handled delivery is remembered (default 3600)"),
    AP_INIT_TAKE1("TwWebhookReplayCacheFailure", tw_replay_cmd_failure, NULL, RSRC_CONF,
                  "open (deliver) or closed (answer 503) when the replay cache fails "
                  "(default open)"),
    {NULL}
};

/* ---- checks across sections (check_config) ------------------------------- */

/* One configuration section: its core settings and ours (NULL: none). */
typedef struct {
    const core_dir_config *core;
    const tw_dir_conf_t *tw;
    int kind;                  /* which walk: TW_SECTION_URL, _DIR or _FILE */
} tw_section_t;

enum { TW_SECTION_URL, TW_SECTION_DIR, TW_SECTION_FILE };

static void collect_sections(apr_array_header_t *out, apr_array_header_t *vectors, int kind)
{
    int i;

    for (i = 0; vectors != NULL && i < vectors->nelts; i++) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(vectors, i, ap_conf_vector_t *);
        const core_dir_config *core = ap_get_core_module_config(v);
        tw_section_t *sec = apr_array_push(out);

        sec->core = core;
        sec->tw = ap_get_module_config(v, &twwebhook_module);
        sec->kind = kind;
        if (kind == TW_SECTION_DIR)   /* <Files> inside <Directory> */
            collect_sections(out, core->sec_file, TW_SECTION_FILE);
    }
}

/* 1 when a secret set in section k may apply where section s applies. */
static int section_may_enclose(const tw_section_t *k, const tw_section_t *s)
{
    size_t n;

    /* Across walks (a <Directory> secret and a <Location> request), or
     * with a regex on either side, a request may meet both: assume so. */
    if (k->kind != s->kind || k->core->r != NULL || s->core->r != NULL
        || k->core->d == NULL || s->core->d == NULL || k->core->d_is_fnmatch)
        return 1;
    n = strlen(k->core->d);
    return strncmp(k->core->d, s->core->d, n) == 0;
}

/*
 * "TwWebhook On" where no TwWebhookSecret can ever apply answers 500 to
 * every request: refuse it at start-up (and apachectl configtest), naming
 * the line. A secret may come from the server or virtual host, or from any
 * section that may enclose this one (a shorter path of the same walk,
 * another walk, a regex): only where none can is it an error.
 */
static int check_server_secrets(apr_pool_t *ptemp, server_rec *s)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    const tw_dir_conf_t *server_dc = ap_get_module_config(s->lookup_defaults, &twwebhook_module);
    apr_array_header_t *sections = apr_array_make(ptemp, 16, sizeof(tw_section_t));
    int i, j;

    if (server_dc->enabled == 1 && server_dc->keys == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "TWW0801: %s: TwWebhook On, but no TwWebhookSecret applies at the "
                     "server level", server_dc->enabled_at);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    collect_sections(sections, core->sec_url, TW_SECTION_URL);
    collect_sections(sections, core->sec_dir, TW_SECTION_DIR);
    collect_sections(sections, ((core_dir_config *)ap_get_core_module_config(s->lookup_defaults))
                                   ->sec_file, TW_SECTION_FILE);
    for (i = 0; i < sections->nelts; i++) {
        const tw_section_t *sec = &APR_ARRAY_IDX(sections, i, tw_section_t);
        int found = (server_dc->keys != NULL);

        if (sec->tw == NULL || sec->tw->enabled != 1 || sec->tw->keys != NULL)
            continue;
        for (j = 0; !found && j < sections->nelts; j++) {
            const tw_section_t *k = &APR_ARRAY_IDX(sections, j, tw_section_t);
            found = (j != i && k->tw != NULL && k->tw->keys != NULL
                     && section_may_enclose(k, sec));
        }
        if (!found) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                         "TWW0802: %s: TwWebhook On, but no TwWebhookSecret applies here "
                         "(none in this section, one that may enclose it, or the server)",
                         sec->tw->enabled_at);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
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
    core_server_config *core = ap_get_core_module_config(s->module_config);
    const tw_dir_conf_t *server_dc = ap_get_module_config(s->lookup_defaults, &twwebhook_module);
    apr_array_header_t *sections = apr_array_make(p, 16, sizeof(tw_section_t));
    int i;

    if (server_dc != NULL && server_dc->keys != NULL)
        APR_ARRAY_PUSH(out, const tw_dir_conf_t *) = server_dc;
    collect_sections(sections, core->sec_url, TW_SECTION_URL);
    collect_sections(sections, core->sec_dir, TW_SECTION_DIR);
    collect_sections(sections, ((core_dir_config *)ap_get_core_module_config(s->lookup_defaults))
                                   ->sec_file, TW_SECTION_FILE);
    for (i = 0; i < sections->nelts; i++) {
        const tw_section_t *sec = &APR_ARRAY_IDX(sections, i, tw_section_t);

        if (sec->tw != NULL && sec->tw->keys != NULL)
            APR_ARRAY_PUSH(out, const tw_dir_conf_t *) = sec->tw;
    }
}

int tw_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    for (; s != NULL; s = s->next) {
        int status = check_server_secrets(ptemp, s);
        if (status != OK)
            return status;
    }
    return OK;
}
