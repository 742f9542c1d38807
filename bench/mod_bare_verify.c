/*
 * SPDX-License-Identifier: Apache-2.0
 * mod_bare_verify.c - the benchmark's floor for verifying before the app:
 * the least an httpd module must do to hand an app only bodies whose
 * HMAC-SHA256 matches, and nothing more. Built and loaded by bench/run
 * only (the "bare" row); never installed, never a product.
 *
 *   BareVerifySecret SECRET   (directory context)
 *
 * In the fixups of a request to such a location it reads the whole body
 * (up to BARE_MAX_BODY) into one buffer sized by Content-Length, computes
 * its HMAC as it comes with a keyed context the connection keeps
 * (re-initialised per request: no allocation, no key set-up), compares it
 * with the hex "Signature" header in constant time, answers 401 when they
 * differ, and otherwise sets the six variables mod_twwebhook sets for the
 * same delivery and hands the body back to the handler from memory, as
 * mod_twwebhook does for a body within TwWebhookSpoolMemoryLimit (a
 * larger one it spools to a file; bare keeps every body in memory).
 *
 * What it leaves out is what mod_twwebhook adds to that floor: profiles,
 * header and delivery checks, the replay cache, the inbox, the deliveries
 * page's row, metrics, log lines, the spool file, HTTP/2, error documents
 * and every refusal path but one. So "module / bare" in the report is the
 * cost of those features, and "bare / plain" the cost of verifying before
 * the app at all, on the machine the benchmark runs on.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "apr_lib.h"
#include "apr_strings.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define BARE_MAX_BODY  ((apr_size_t)4 * 1024 * 1024)
#define BARE_MAC_LEN   32
#define BARE_READ_CHUNK  ((apr_off_t)64 * 1024)   /* per ap_get_brigade, as the module */

module AP_MODULE_DECLARE_DATA bare_verify_module;

typedef struct {
    EVP_MAC_CTX *keyed;   /* initialised with the secret once, never updated */
} bare_dir_conf_t;

/* The connection's running context, and the key it was duplicated from. */
typedef struct {
    EVP_MAC_CTX *ctx;
    const EVP_MAC_CTX *from;
} bare_conn_t;

typedef struct {
    const char *body;
    apr_size_t len, handed;
} bare_handback_t;

static ap_filter_rec_t *handback_filter;

static apr_status_t free_mac_ctx(void *ctx)
{
    EVP_MAC_CTX_free(ctx);
    return APR_SUCCESS;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p, sizeof(bare_dir_conf_t));
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    bare_dir_conf_t *base = basev, *add = addv, *conf = apr_palloc(p, sizeof(*conf));

    conf->keyed = add->keyed != NULL ? add->keyed : base->keyed;
    return conf;
}

static const char *cmd_secret(cmd_parms *cmd, void *dconf, const char *secret)
{
    bare_dir_conf_t *conf = dconf;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", digest, 0),
        OSSL_PARAM_construct_end()
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

    conf->keyed = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    if (conf->keyed == NULL
        || !EVP_MAC_init(conf->keyed, (const unsigned char *)secret, strlen(secret), params))
        return "BareVerifySecret: cannot key HMAC-SHA256";
    apr_pool_cleanup_register(cmd->pool, conf->keyed, free_mac_ctx, apr_pool_cleanup_null);
    return NULL;
}

/* The connection's context, re-initialised with conf's key. */
static EVP_MAC_CTX *running_ctx(conn_rec *c, const bare_dir_conf_t *conf)
{
    bare_conn_t *bc = ap_get_module_config(c->conn_config, &bare_verify_module);

    if (bc == NULL) {
        bc = apr_pcalloc(c->pool, sizeof(*bc));
        ap_set_module_config(c->conn_config, &bare_verify_module, bc);
    }
    if (bc->ctx != NULL && bc->from == conf->keyed)
        return EVP_MAC_init(bc->ctx, NULL, 0, NULL) ? bc->ctx : NULL;
    if (bc->ctx != NULL)
        apr_pool_cleanup_run(c->pool, bc->ctx, free_mac_ctx);
    bc->ctx = EVP_MAC_CTX_dup(conf->keyed);
    bc->from = conf->keyed;
    if (bc->ctx != NULL)
        apr_pool_cleanup_register(c->pool, bc->ctx, free_mac_ctx, apr_pool_cleanup_null);
    return bc->ctx;
}

static int hex_decode(const char *hex, unsigned char out[BARE_MAC_LEN])
{
    int i;

    if (hex == NULL || strlen(hex) != 2 * BARE_MAC_LEN)
        return 0;
    for (i = 0; i < 2 * BARE_MAC_LEN; i++) {
        int c = apr_tolower(hex[i]), v;

        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else
            return 0;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return 1;
}

/* The first buffer's size: the announced length when there is one (one
 * allocation, no copy), else 8 KB, doubled as the body comes. */
static apr_size_t first_capacity(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t announced;

    if (cl != NULL && apr_strtoff(&announced, cl, NULL, 10) == APR_SUCCESS
        && announced > 0 && (apr_uint64_t)announced <= BARE_MAX_BODY)
        return (apr_size_t)announced;
    return 8192;
}

/* Reads the whole body into one buffer of r's pool, hashing as it comes. */
static int read_and_hash(request_rec *r, EVP_MAC_CTX *ctx, char **pbody, apr_size_t *plen)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_size_t cap = first_capacity(r), len = 0;
    char *body = apr_palloc(r->pool, cap);
    int eos = 0;

    while (!eos) {
        apr_bucket *b;

        if (ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ,
                           BARE_READ_CHUNK) != APR_SUCCESS)
            return HTTP_BAD_REQUEST;
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;

            if (APR_BUCKET_IS_EOS(b)) {
                eos = 1;
                break;
            }
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS)
                return HTTP_BAD_REQUEST;
            if (len + n > BARE_MAX_BODY)
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            if (len + n > cap) {
                char *grown;

                while (cap < len + n)
                    cap *= 2;
                grown = apr_palloc(r->pool, cap);
                memcpy(grown, body, len);
                body = grown;
            }
            memcpy(body + len, data, n);
            len += n;
            if (!EVP_MAC_update(ctx, (const unsigned char *)data, n))
                return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_brigade_cleanup(bb);
    }
    *pbody = body;
    *plen = len;
    return OK;
}

/* The verified body, from memory, then EOS for ever. */
static apr_status_t filter_handback(ap_filter_t *f, apr_bucket_brigade *bb,
                                    ap_input_mode_t mode, apr_read_type_e block,
                                    apr_off_t readbytes)
{
    bare_handback_t *hb = f->ctx;
    apr_size_t n = hb->len - hb->handed;

    if (mode == AP_MODE_INIT)
        return APR_SUCCESS;
    if (mode != AP_MODE_READBYTES)
        return APR_ENOTIMPL;
    if (readbytes > 0 && (apr_uint64_t)readbytes < n)
        n = (apr_size_t)readbytes;
    if (n > 0) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(hb->body + hb->handed, n,
                                                           f->r->pool, f->c->bucket_alloc));
        hb->handed += n;
    }
    if (hb->handed == hb->len)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return APR_SUCCESS;
}

static void hand_back(request_rec *r, char *body, apr_size_t len)
{
    bare_handback_t *hb = apr_palloc(r->pool, sizeof(*hb));
    ap_filter_t *f = r->proto_input_filters;

    hb->body = body;
    hb->len = len;
    hb->handed = 0;
    while (f != NULL && f->frec->ftype < AP_FTYPE_CONNECTION) {   /* HTTP_IN */
        ap_filter_t *next = f->next;

        if (f->r == r && f->frec->ftype >= AP_FTYPE_PROTOCOL)
            ap_remove_input_filter(f);
        f = next;
    }
    ap_add_input_filter_handle(handback_filter, hb, r, r->connection);
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    apr_table_setn(r->headers_in, "Content-Length", apr_off_t_toa(r->pool, (apr_off_t)len));
}

static void set_from_header(request_rec *r, const char *var, const char *header)
{
    const char *value = apr_table_get(r->headers_in, header);

    if (value != NULL)
        apr_table_set(r->subprocess_env, var, value);
}

static int hook_fixups(request_rec *r)
{
    const bare_dir_conf_t *conf = ap_get_module_config(r->per_dir_config, &bare_verify_module);
    unsigned char want[BARE_MAC_LEN], got[BARE_MAC_LEN];
    size_t got_len = 0;
    EVP_MAC_CTX *ctx;
    char *body = NULL;
    apr_size_t len = 0;
    int status;

    if (conf->keyed == NULL || r->main != NULL || r->prev != NULL)
        return DECLINED;
    if (!hex_decode(apr_table_get(r->headers_in, "Signature"), want))
        return HTTP_UNAUTHORIZED;
    if ((ctx = running_ctx(r->connection, conf)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if ((status = read_and_hash(r, ctx, &body, &len)) != OK)
        return status;
    if (!EVP_MAC_final(ctx, got, &got_len, sizeof(got)) || got_len != sizeof(got)
        || CRYPTO_memcmp(got, want, sizeof(got)) != 0)
        return HTTP_UNAUTHORIZED;

    apr_table_setn(r->subprocess_env, "TW_WEBHOOK_VERIFIED", "1");
    apr_table_setn(r->subprocess_env, "TW_WEBHOOK_PROFILE", "teamwork");
    set_from_header(r, "TW_WEBHOOK_EVENT", "Event");
    set_from_header(r, "TW_WEBHOOK_DELIVERY", "Delivery");
    apr_table_setn(r->subprocess_env, "TW_WEBHOOK_SECRET_INDEX", "1");
    apr_table_setn(r->subprocess_env, "TW_WEBHOOK_ATTEMPT", "1");
    hand_back(r, body, len);
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(hook_fixups, NULL, NULL, APR_HOOK_FIRST);
    handback_filter = ap_register_input_filter("BARE_VERIFY_HANDBACK", filter_handback, NULL,
                                               AP_FTYPE_PROTOCOL);
}

static const command_rec commands[] = {
    AP_INIT_TAKE1("BareVerifySecret", cmd_secret, NULL, ACCESS_CONF,
                  "the HMAC-SHA256 secret whose signature bodies must carry"),
    { NULL }
};

AP_DECLARE_MODULE(bare_verify) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    NULL,
    NULL,
    commands,
    register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
