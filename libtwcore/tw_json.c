/*
 * tw_json.c - the verified body as JSON: one document, parsed in chunks
 * (from memory or the spool file) with a bounded nesting depth, and scalar
 * values looked up by RFC 6901 JSON pointer for export to the environment.
 *
 * json-c does the parsing; this file adds what an environment variable
 * needs: a value is exported only when it is a scalar, short, and free of
 * control characters, so that no body can smuggle a newline or a NUL into
 * a CGI environment or a FastCGI parameter.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <json-c/json_object.h>
#include <json-c/json_pointer.h>
#include <json-c/json_tokener.h>

#include "twwebhook.h"

struct tw_json {
    struct json_tokener *tok;
    struct json_object *doc;   /* set once one whole value has been parsed */
    int failed;                /* invalid JSON, too deep, or trailing data */
};

tw_status_t tw_json_create(tw_json_t **pjson)
{
    tw_json_t *json;

    if (pjson == NULL)
        return TW_ERR_ARG;
    *pjson = NULL;
    json = calloc(1, sizeof(*json));
    if (json == NULL)
        return TW_ERR_NOMEM;
    json->tok = json_tokener_new_ex(TW_JSON_MAX_DEPTH);
    if (json->tok == NULL) {
        free(json);
        return TW_ERR_NOMEM;
    }
    /* Strict RFC 8259, and trailing bytes are ours to judge (whitespace is
     * fine, a second document is not). */
    json_tokener_set_flags(json->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    *pjson = json;
    return TW_OK;
}

static int all_whitespace(const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return 0;
    return 1;
}

static void json_fail(tw_json_t *json)
{
    json->failed = 1;
    if (json->doc != NULL) {
        json_object_put(json->doc);
        json->doc = NULL;
    }
}

tw_status_t tw_json_feed(tw_json_t *json, const void *data, size_t len)
{
    const char *p = data;
    size_t used;

    if (json == NULL || (data == NULL && len > 0))
        return TW_ERR_ARG;
    if (json->failed)
        return TW_ERR_JSON_INVALID;
    if (json->doc != NULL) {
        if (!all_whitespace(p, len))
            json_fail(json);
        return json->failed ? TW_ERR_JSON_INVALID : TW_OK;
    }
    /* json-c takes an int length; feed in pieces that fit. */
    while (len > 0 && json->doc == NULL) {
        int piece = len > (size_t)(64 * 1024) ? 64 * 1024 : (int)len;
        enum json_tokener_error jerr;

        json->doc = json_tokener_parse_ex(json->tok, p, piece);
        jerr = json_tokener_get_error(json->tok);
        if (json->doc == NULL && jerr != json_tokener_continue) {
            json_fail(json);
            return TW_ERR_JSON_INVALID;
        }
        used = json->doc != NULL ? json_tokener_get_parse_end(json->tok) : (size_t)piece;
        p += used;
        len -= used;
    }
    if (json->doc != NULL && !all_whitespace(p, len)) {
        json_fail(json);
        return TW_ERR_JSON_INVALID;
    }
    return TW_OK;
}

tw_status_t tw_json_finish(tw_json_t *json)
{
    if (json == NULL)
        return TW_ERR_ARG;
    if (json->failed)
        return TW_ERR_JSON_INVALID;
    if (json->doc == NULL) {
        /* A top-level number only ends at the end of input: say so with
         * the terminating NUL json-c understands. */
        json->doc = json_tokener_parse_ex(json->tok, "", 1);
        if (json->doc == NULL) {
            json_fail(json);
            return TW_ERR_JSON_INVALID;
        }
    }
    return TW_OK;
}

static int value_is_env_safe(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

tw_status_t tw_json_get_scalar(const tw_json_t *json, const char *pointer,
                               char *out, size_t out_cap, size_t *plen)
{
    struct json_object *value = NULL;
    const char *s;
    size_t len;

    if (json == NULL || pointer == NULL || out == NULL || out_cap == 0 || plen == NULL)
        return TW_ERR_ARG;
    *plen = 0;
    out[0] = '\0';
    if (json->doc == NULL)
        return TW_ERR_JSON_INVALID;
    /* json_pointer_get takes a non-const object but does not modify it. */
    if (json_pointer_get((struct json_object *)json->doc, pointer, &value) != 0)
        return TW_ERR_JSON_NOT_FOUND;
    switch (json_object_get_type(value)) {
    case json_type_string:
        s = json_object_get_string(value);
        len = (size_t)json_object_get_string_len(value);
        break;
    case json_type_int:
    case json_type_double:
    case json_type_boolean:
        /* The body's own spelling for numbers, "true"/"false" for booleans. */
        s = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
        len = strlen(s);
        break;
    default:   /* null, object, array */
        return TW_ERR_JSON_NOT_SCALAR;
    }
    if (len >= out_cap || len > TW_JSON_VALUE_MAX || !value_is_env_safe(s, len))
        return TW_ERR_JSON_UNSAFE_VALUE;
    memcpy(out, s, len);
    out[len] = '\0';
    *plen = len;
    return TW_OK;
}

void tw_json_destroy(tw_json_t *json)
{
    if (json == NULL)
        return;
    if (json->doc != NULL)
        json_object_put(json->doc);
    json_tokener_free(json->tok);
    free(json);
}

int tw_json_pointer_is_valid(const char *pointer)
{
    const char *p;

    if (pointer == NULL || pointer[0] != '/')
        return 0;   /* "" (the whole document) is never a scalar to export */
    for (p = pointer; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == '~' && p[1] != '0' && p[1] != '1')
            return 0;
    }
    return 1;
}

int tw_env_name_is_allowed(const char *name)
{
    static const char *const reserved_prefixes[] = {
        "HTTP_",        /* request headers overwrite these */
        "REDIRECT_",    /* httpd's renaming on internal redirects */
        "TW_WEBHOOK_",  /* the module's own facts */
    };
    static const char *const reserved_names[] = {
        "PHP_VALUE", "PHP_ADMIN_VALUE",   /* php-fpm reads these as ini settings */
    };
    size_t i;
    const char *p;

    if (name == NULL || name[0] == '\0' || strlen(name) > TW_ENV_NAME_MAX)
        return 0;
    if (name[0] >= '0' && name[0] <= '9')
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    for (i = 0; i < sizeof(reserved_prefixes) / sizeof(reserved_prefixes[0]); i++)
        if (strncmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
            return 0;
    for (i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
        if (strcmp(name, reserved_names[i]) == 0)
            return 0;
    return 1;
}
