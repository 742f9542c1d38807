/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_json.c - the verified body as JSON: one document, parsed in chunks
 * (from memory or the spool file) with a bounded nesting depth, and scalar
 * values looked up by RFC 6901 JSON pointer for export to the environment.
 *
 * json-c does the parsing; this file adds what an environment variable
 * needs: a value is exported only when it is a scalar, short, and free of
 * control characters, so that no body can smuggle a newline or a NUL into
 * a CGI environment or a FastCGI parameter.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <json-c/json_object.h>
#include <json-c/json_object_iterator.h>
#include <json-c/json_pointer.h>
#include <json-c/json_tokener.h>

#include "tw/json.h"
#include "tw/validate.h"
#include "tw_internal.h"

/* What the guard remembers across chunks beyond its state. */
struct lex {
    int state;                 /* enum lex_state */
    unsigned hex;              /* the \\u escape's value so far */
    int hex_digits;            /* how many of its 4 digits were seen */
    int want_low;              /* a high surrogate was seen: a low one must follow */
    int string_has_nul;        /* this string holds \\u0000 */
    int after_nul_string;      /* the last token was such a string */
    size_t names;              /* member names seen (each ':' outside strings) */
    int ambiguous;             /* seen: \\u0000 in a name, a lone surrogate */
    int utf8_need;             /* continuation bytes still owed in a string */
    unsigned char utf8_lo, utf8_hi;   /* the range the next one must be in */
};

struct tw_json {
    struct json_tokener *tok;
    struct json_object *doc;   /* the parsed value (NULL for a top-level null) */
    int done;                  /* one whole value has been parsed */
    int failed;                /* invalid JSON, too deep, or trailing data */
    int ambiguous;             /* valid, but not read alike by every parser */
    struct lex lex;            /* the RFC 8259 guard */
};

/*
 * The RFC 8259 guard, which also looks for what parsers read differently
 * (RFC 8259 leaves it to them), so that what the module exports always
 * agrees with what the app's own parser (PHP's json_decode, say) reads:
 * - a member name holding \\u0000: json-c's names are C strings and end
 *   there, PHP's do not ({"id":1,"id\\u0000":2} is id=2 to one, 1 to the
 *   other);
 * - duplicate member names: parsers keep the first, the last, or refuse;
 *   counted here (one ':' outside strings per name) against the members
 *   json-c kept, which is fewer exactly when a name repeats;
 * - a lone UTF-16 surrogate escape (PHP refuses the document, json-c
 *   makes something up).
 * Bytes that are not UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF) are refused outright, as PHP does; json-c's own
 * check (JSON_TOKENER_VALIDATE_UTF8) fails on a character split between
 * two chunks.
 * Such a body is valid JSON but ambiguous: TW_ERR_JSON_AMBIGUOUS.
 * JSON_TOKENER_STRICT is not RFC 8259: json-c 0.16
 * still accepts NaN, Infinity and -Infinity, single-quoted keys, raw
 * control characters (NUL, newline...) inside strings, and the numbers
 * "1.", "-.5", "1.e5", "00" and "-01" (the last two read back as 0 and -1,
 * not as written); and fed in chunks, it reads "[4" + "-1]" as [4]. This
 * lexer sees every byte before json-c does, keeps its state across chunks,
 * and refuses exactly those; json-c still checks the structure, the escapes
 * and the depth.
 */
enum lex_state {
    LEX_OUT = 0,        /* between tokens, or inside true/false/null */
    LEX_STRING,
    LEX_ESCAPE,         /* after a backslash in a string */
    LEX_UHEX,           /* in the 4 hex digits of a \\u escape */
    LEX_MINUS,          /* "-": a digit must follow */
    LEX_ZERO,           /* a leading 0: no digit may follow */
    LEX_INT,            /* 1-9 digits */
    LEX_DOT,            /* ".": a digit must follow */
    LEX_FRAC,
    LEX_EXP,            /* "e"/"E": a sign or a digit must follow */
    LEX_EXP_SIGN,       /* a digit must follow */
    LEX_EXP_DIGITS
};

/* 1 when the input may end in this state (outside a token or after a complete number). */
static int lex_may_end(int state)
{
    return state == LEX_OUT || state == LEX_ZERO || state == LEX_INT
        || state == LEX_FRAC || state == LEX_EXP_DIGITS;
}

/*
 * One byte of a string's raw UTF-8 (RFC 3629, table 3-7 of Unicode): 0 when
 * it cannot continue a valid text. The state survives chunk boundaries.
 */
static int lex_utf8(struct lex *l, unsigned char c)
{
    if (l->utf8_need > 0) {
        if (c < l->utf8_lo || c > l->utf8_hi)
            return 0;
        l->utf8_need--;
        l->utf8_lo = 0x80;
        l->utf8_hi = 0xBF;
        return 1;
    }
    if (c < 0x80)
        return 1;
    l->utf8_lo = 0x80;
    l->utf8_hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        l->utf8_need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        l->utf8_need = 2;
        if (c == 0xE0)
            l->utf8_lo = 0xA0;      /* no overlong forms */
        else if (c == 0xED)
            l->utf8_hi = 0x9F;      /* no UTF-16 surrogates */
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        l->utf8_need = 3;
        if (c == 0xF0)
            l->utf8_lo = 0x90;
        else if (c == 0xF4)
            l->utf8_hi = 0x8F;      /* nothing past U+10FFFF */
    }
    else
        return 0;                   /* 80-C1, F5-FF */
    return 1;
}

/* A \uXXXX escape's value is complete: NULs and surrogate pairs. */
static void lex_escape_done(struct lex *l)
{
    unsigned v = l->hex;
    int high = v >= 0xD800 && v <= 0xDBFF, low = v >= 0xDC00 && v <= 0xDFFF;

    if (v == 0)
        l->string_has_nul = 1;
    if (l->want_low) {
        l->want_low = 0;
        if (!low)
            l->ambiguous = 1;
        return;
    }
    if (low)
        l->ambiguous = 1;
    l->want_low = high;
}

/* Between tokens: each ':' is one member name. */
static void lex_between_tokens(struct lex *l, unsigned char c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return;
    if (c == ':') {
        l->names++;
        if (l->after_nul_string)
            l->ambiguous = 1;
    }
    l->after_nul_string = 0;
}

/* 0 as soon as the bytes cannot be part of an RFC 8259 text, else 1. */
static int lex_rfc8259(struct lex *l, const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        int digit = c >= '0' && c <= '9';

        switch (l->state) {
        case LEX_STRING:
            if (c < 0x20 || !lex_utf8(l, c))
                return 0;
            if (l->want_low && c != '\\') {   /* a high surrogate alone */
                l->want_low = 0;
                l->ambiguous = 1;
            }
            if (c == '"') {
                l->state = LEX_OUT;
                l->after_nul_string = l->string_has_nul;
            }
            else if (c == '\\') {
                l->state = LEX_ESCAPE;
            }
            continue;
        case LEX_ESCAPE:    /* which escapes exist is json-c's to check */
            if (c < 0x20)
                return 0;
            if (c == 'u') {
                l->state = LEX_UHEX;
                l->hex = 0;
                l->hex_digits = 0;
                continue;
            }
            if (l->want_low) {
                l->want_low = 0;
                l->ambiguous = 1;
            }
            l->state = LEX_STRING;
            continue;
        case LEX_UHEX:
            if (tw_hex_digit_value(c) < 0)
                return 0;
            l->hex = l->hex * 16 + (unsigned)tw_hex_digit_value(c);
            if (++l->hex_digits == 4) {
                lex_escape_done(l);
                l->state = LEX_STRING;
            }
            continue;
        case LEX_MINUS:
            if (!digit)
                return 0;
            l->state = c == '0' ? LEX_ZERO : LEX_INT;
            continue;
        case LEX_DOT:
        case LEX_EXP_SIGN:
            if (!digit)
                return 0;
            l->state = l->state == LEX_DOT ? LEX_FRAC : LEX_EXP_DIGITS;
            continue;
        case LEX_EXP:
            if (!digit && c != '+' && c != '-')
                return 0;
            l->state = digit ? LEX_EXP_DIGITS : LEX_EXP_SIGN;
            continue;
        case LEX_ZERO:
        case LEX_INT:
        case LEX_FRAC:
        case LEX_EXP_DIGITS:
            if (digit) {
                if (l->state == LEX_ZERO)
                    return 0;
                continue;
            }
            if (c == '.' && (l->state == LEX_ZERO || l->state == LEX_INT)) {
                l->state = LEX_DOT;
                continue;
            }
            if ((c == 'e' || c == 'E') && l->state != LEX_EXP_DIGITS) {
                l->state = LEX_EXP;
                continue;
            }
            /* The number has ended: only whitespace, ',', ']' or '}' may
             * follow. json-c 0.16 checks this too, except when a chunk
             * boundary falls inside the number: "[4" then "-1]" is [4]. */
            if (c == '\0' || strchr(" \t\n\r,]}", c) == NULL)
                return 0;
            l->state = LEX_OUT;
            break;
        default:
            break;
        }
        lex_between_tokens(l, c);
        if (c == '"') {
            l->state = LEX_STRING;
            l->string_has_nul = 0;
        }
        else if (c == '-')
            l->state = LEX_MINUS;
        else if (c == '0')
            l->state = LEX_ZERO;
        else if (digit)
            l->state = LEX_INT;
        else if (c == '\0' || strchr(" \t\n\r{}[],:truefalsn", c) == NULL)
            return 0;       /* NaN, Infinity, 'key', +1, .5, ... */
    }
    return 1;
}

/*
 * The member names json-c kept, in the whole document: fewer than the
 * names in the text exactly when one object repeats a name (the later
 * value replaces the earlier, and with it every name inside it).
 */
static size_t kept_names(struct json_object *obj)
{
    size_t n = 0, i, len;

    switch (json_object_get_type(obj)) {
    case json_type_object: {
        struct json_object_iterator it = json_object_iter_begin(obj);
        struct json_object_iterator end = json_object_iter_end(obj);

        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
            n += 1 + kept_names(json_object_iter_peek_value(&it));
        return n;
    }
    case json_type_array:
        len = json_object_array_length(obj);
        for (i = 0; i < len; i++)
            n += kept_names(json_object_array_get_idx(obj, i));
        return n;
    default:
        return 0;
    }
}

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
    if (json->done) {
        if (!all_whitespace(p, len))
            json_fail(json);
        return json->failed ? TW_ERR_JSON_INVALID : TW_OK;
    }
    if (!lex_rfc8259(&json->lex, p, len)) {
        json_fail(json);
        return TW_ERR_JSON_INVALID;
    }
    /* json-c takes an int length; feed in pieces that fit. */
    while (len > 0 && !json->done) {
        int piece = len > (size_t)(64 * 1024) ? 64 * 1024 : (int)len;
        enum json_tokener_error jerr;

        json->doc = json_tokener_parse_ex(json->tok, p, piece);
        jerr = json_tokener_get_error(json->tok);
        /* Success is the error code, not a non-NULL object: a top-level
         * "null" parses to NULL, and is one whole document. */
        if (jerr != json_tokener_continue && jerr != json_tokener_success) {
            json_fail(json);
            return TW_ERR_JSON_INVALID;
        }
        json->done = (jerr == json_tokener_success);
        used = json->done ? json_tokener_get_parse_end(json->tok) : (size_t)piece;
        p += used;
        len -= used;
    }
    if (json->done && !all_whitespace(p, len)) {
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
    if (!json->done) {
        if (!lex_may_end(json->lex.state)) {   /* "1.", "-", "1e": json-c takes some */
            json_fail(json);
            return TW_ERR_JSON_INVALID;
        }
        /* A top-level number only ends at the end of input: say so with
         * the terminating NUL json-c understands. */
        json->doc = json_tokener_parse_ex(json->tok, "", 1);
        if (json_tokener_get_error(json->tok) != json_tokener_success) {
            json_fail(json);
            return TW_ERR_JSON_INVALID;
        }
        json->done = 1;
    }
    if (json->lex.ambiguous || json->lex.names != kept_names(json->doc))
        json->ambiguous = 1;
    return json->ambiguous ? TW_ERR_JSON_AMBIGUOUS : TW_OK;
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
    if (json->failed || !json->done)
        return TW_ERR_JSON_INVALID;
    if (json->ambiguous)
        return TW_ERR_JSON_AMBIGUOUS;
    if (json->doc == NULL)   /* the whole document is null */
        return pointer[0] == '\0' ? TW_ERR_JSON_NOT_SCALAR : TW_ERR_JSON_NOT_FOUND;
    /* json_pointer_get takes a non-const object but does not modify it. */
    if (json_pointer_get((struct json_object *)json->doc, pointer, &value) != 0)
        return TW_ERR_JSON_NOT_FOUND;
    switch (json_object_get_type(value)) {
    case json_type_string:
        s = json_object_get_string(value);
        len = (size_t)json_object_get_string_len(value);
        break;
    case json_type_int:
        /* json-c 0.16 silently clamps integers beyond int64/uint64 to these
         * limits: the body may have said something else, so such a value
         * cannot be exported as written. (The limits themselves, written
         * out, are refused too: failing closed on two values is cheaper
         * than exporting a wrong ID.) */
        if (json_object_get_int64(value) == INT64_MIN
            || json_object_get_uint64(value) == UINT64_MAX)
            return TW_ERR_JSON_UNSAFE_VALUE;
        /* fall through */
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

/* Prefixes of names httpd, mod_ssl or this module fill in themselves. */
const char *const tw_env_reserved_prefixes[] = {
    "HTTP_",        /* request headers overwrite these */
    "REDIRECT_",    /* httpd's renaming on internal redirects */
    "TW_WEBHOOK_",  /* the module's own facts */
    "SSL_",         /* mod_ssl's facts about the connection */
    NULL
};

/* Names an application reads as facts established by the server: a value
 * from a body, however well signed, must not pose as one (and where httpd
 * sets them later it would silently win anyway). */
const char *const tw_env_reserved_names[] = {
    "PHP_VALUE", "PHP_ADMIN_VALUE",   /* php-fpm reads these as ini settings */
    /* RFC 3875's meta-variables, and what httpd adds to them */
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE",
    "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR",
    "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
    "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
    "SERVER_SOFTWARE", "DOCUMENT_ROOT", "SCRIPT_FILENAME", "REQUEST_URI",
    "REQUEST_SCHEME", "CONTEXT_PREFIX", "CONTEXT_DOCUMENT_ROOT",
    "SERVER_ADDR", "SERVER_ADMIN", "SERVER_SIGNATURE", "REMOTE_PORT",
    "HTTPS", "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH",
    NULL
};

int tw_env_name_is_allowed(const char *name)
{
    size_t i;
    const char *p;

    if (name == NULL || name[0] == '\0' || strlen(name) > TW_ENV_NAME_MAX)
        return 0;
    if (name[0] >= '0' && name[0] <= '9')
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    for (i = 0; tw_env_reserved_prefixes[i] != NULL; i++)
        if (strncmp(name, tw_env_reserved_prefixes[i], strlen(tw_env_reserved_prefixes[i])) == 0)
            return 0;
    for (i = 0; tw_env_reserved_names[i] != NULL; i++)
        if (strcmp(name, tw_env_reserved_names[i]) == 0)
            return 0;
    return 1;
}
