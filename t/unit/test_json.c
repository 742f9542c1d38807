/*
 * SPDX-License-Identifier: Apache-2.0
 * test_json.c - unit tests of tw_json.c: the body parsed as JSON in chunks,
 * bounded depth, scalar look-ups by JSON pointer, environment names.
 */
#include <stdlib.h>
#include <string.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- JSON ---------------------------------------------------------------- */

#define JSON_WHOLE ((size_t)-1)

/*
 * Feeds len bytes of doc in chunks of chunk bytes (JSON_WHOLE: one feed)
 * and finishes; the first failure is the result. The parser is kept in
 * *pjson (for lookups) when pjson is not NULL, else destroyed.
 */
static tw_status_t json_parse(tw_json_t **pjson, const char *doc, size_t len, size_t chunk)
{
    tw_json_t *json = NULL;
    tw_status_t st;
    size_t off = 0;

    st = tw_json_create(&json);
    if (chunk == JSON_WHOLE)
        chunk = len > 0 ? len : 1;
    while (st == TW_OK && off < len) {
        size_t n = len - off < chunk ? len - off : chunk;

        st = tw_json_feed(json, doc + off, n);
        off += n;
    }
    if (st == TW_OK)
        st = tw_json_finish(json);
    if (pjson != NULL)
        *pjson = json;
    else
        tw_json_destroy(json);
    return st;
}

/* The verdict on a C-string document, the same fed whole or byte by byte (else TW_ERR_ARG). */
static tw_status_t json_verdict(const char *doc)
{
    tw_status_t whole = json_parse(NULL, doc, strlen(doc), JSON_WHOLE);
    tw_status_t bytes = json_parse(NULL, doc, strlen(doc), 1);

    return whole == bytes ? whole : TW_ERR_ARG;
}

/* get_scalar of pointer in doc (parsed whole) into out[cap]; TW_ERR_ARG if doc is invalid. */
static tw_status_t json_get(const char *doc, const char *pointer, char *out, size_t cap, size_t *plen)
{
    tw_json_t *json = NULL;
    tw_status_t st = json_parse(&json, doc, strlen(doc), JSON_WHOLE);

    if (st == TW_OK)
        st = tw_json_get_scalar(json, pointer, out, cap, plen);
    else
        st = TW_ERR_ARG;
    tw_json_destroy(json);
    return st;
}

static void test_json_args(void)
{
    tw_json_t *json = (tw_json_t *)&json;
    char out[16];
    size_t len = 99;

    is_int(tw_json_create(NULL), TW_ERR_ARG, "json create into NULL: TW_ERR_ARG");
    is_int(tw_json_feed(NULL, "{}", 2), TW_ERR_ARG, "feed NULL parser: TW_ERR_ARG");
    is_int(tw_json_finish(NULL), TW_ERR_ARG, "finish NULL parser: TW_ERR_ARG");
    tw_json_destroy(NULL);   /* a no-op; a crash would end the run, a failure */
    is_int(tw_json_create(&json), TW_OK, "json create");
    is_int(tw_json_feed(json, NULL, 3), TW_ERR_ARG, "feed NULL data, len 3: TW_ERR_ARG");
    is_int(tw_json_feed(json, NULL, 0), TW_OK, "feed NULL data, len 0: nothing to do");
    is_int(tw_json_feed(json, "{\"a\":", 5), TW_OK, "feed half a document");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_ERR_JSON_INVALID,
           "get_scalar of an unfinished document: TW_ERR_JSON_INVALID");
    is_int(len, 0, "... *plen is 0");
    is_str(out, "", "... out is empty");
    is_int(tw_json_feed(json, "\"x\"}", 4), TW_OK, "feed the rest");
    is_int(tw_json_get_scalar(NULL, "/a", out, sizeof(out), &len), TW_ERR_ARG, "get_scalar of NULL: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, NULL, out, sizeof(out), &len), TW_ERR_ARG, "get_scalar of a NULL pointer: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, "/a", NULL, sizeof(out), &len), TW_ERR_ARG, "get_scalar into NULL: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, "/a", out, 0, &len), TW_ERR_ARG, "get_scalar into 0 bytes: TW_ERR_ARG");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), NULL), TW_ERR_ARG, "get_scalar with NULL plen: TW_ERR_ARG");
    /* A value may be looked up once the document is complete, before finish
     * (the module always finishes first; trailing bytes could still fail it). */
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_OK,
           "get_scalar of a complete document before finish");
    is_int(tw_json_finish(json), TW_OK, "finish");
    is_int(tw_json_finish(json), TW_OK, "finish again: still one document");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_OK, "get_scalar after finish");
    ok(len == 1 && strcmp(out, "x") == 0, "... gives x, length 1");
    is_int(tw_json_feed(json, "\r\n", 2), TW_OK, "whitespace fed after finish is fine");
    is_int(tw_json_feed(json, "1", 1), TW_ERR_JSON_INVALID, "a digit fed after finish: invalid");
    is_int(tw_json_finish(json), TW_ERR_JSON_INVALID, "... and finish now fails");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_ERR_JSON_INVALID,
           "... and so does get_scalar");
    tw_json_destroy(json);

    /* A failed parser stays failed. */
    require_int(tw_json_create(&json), TW_OK, "tw_json_create");
    is_int(tw_json_feed(json, "{\"a\":1,,", 8), TW_ERR_JSON_INVALID, "feed of invalid JSON fails at once");
    is_int(tw_json_feed(json, "\"b\":2}", 6), TW_ERR_JSON_INVALID, "feed after a failure keeps failing");
    is_int(tw_json_feed(json, "", 0), TW_ERR_JSON_INVALID, "... even an empty feed");
    is_int(tw_json_finish(json), TW_ERR_JSON_INVALID, "finish after a failure fails");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &len), TW_ERR_JSON_INVALID,
           "get_scalar on a failed document: TW_ERR_JSON_INVALID");
    tw_json_destroy(json);
}

static void test_json_chunks(void)
{
    static const char doc[] =
        "{\"event\":\"page.updated\",\"page\":{\"id\":4711,\"title\":\"Caf\\u00e9 \xe2\x82\xac\","
        "\"tags\":[\"a\",\"b\",{\"c\":[true,false,null]}],\"ratio\":-1.50e-3},"
        "\"deep\":[[[[[[1]]]]]],\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\",\"empty\":{},\"none\":[]}";
    static const size_t chunks[] = { 1, 2, 3, 5, 7, 13, 64 };
    size_t len = strlen(doc), i;
    char out[64];
    size_t n;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]) + 1; i++) {
        size_t chunk = i < sizeof(chunks) / sizeof(chunks[0]) ? chunks[i] : JSON_WHOLE;
        tw_json_t *json = NULL;
        int all = 1;

        if (chunk == JSON_WHOLE)
            is_int(json_parse(&json, doc, len, chunk), TW_OK, "document fed whole is valid");
        else
            is_int(json_parse(&json, doc, len, chunk), TW_OK, "document fed in %zu-byte chunks is valid", chunk);
        all &= tw_json_get_scalar(json, "/page/id", out, sizeof(out), &n) == TW_OK && strcmp(out, "4711") == 0;
        all &= tw_json_get_scalar(json, "/page/title", out, sizeof(out), &n) == TW_OK
               && strcmp(out, "Caf\xc3\xa9 \xe2\x82\xac") == 0;
        all &= tw_json_get_scalar(json, "/page/tags/2/c/1", out, sizeof(out), &n) == TW_OK && strcmp(out, "false") == 0;
        all &= tw_json_get_scalar(json, "/page/ratio", out, sizeof(out), &n) == TW_OK && strcmp(out, "-1.50e-3") == 0;
        all &= tw_json_get_scalar(json, "/deep/0/0/0/0/0/0", out, sizeof(out), &n) == TW_OK && strcmp(out, "1") == 0;
        all &= tw_json_get_scalar(json, "/event", out, sizeof(out), &n) == TW_OK && strcmp(out, "page.updated") == 0;
        ok(all, "... and its values are the same");
        tw_json_destroy(json);
    }
    /* Random chunking of the same document. */
    {
        int same = 1, round;

        for (round = 0; round < 200 && same; round++) {
            tw_json_t *json = NULL;
            tw_status_t st;
            size_t off = 0;

            require_int(tw_json_create(&json), TW_OK, "tw_json_create");
            for (st = TW_OK; st == TW_OK && off < len; ) {
                size_t k = 1 + rng_below(17);

                if (k > len - off)
                    k = len - off;
                st = tw_json_feed(json, doc + off, k);
                off += k;
            }
            if (st == TW_OK)
                st = tw_json_finish(json);
            same = st == TW_OK && tw_json_get_scalar(json, "/page/title", out, sizeof(out), &n) == TW_OK
                   && n == 9;
            tw_json_destroy(json);
        }
        ok(same, "200 random chunkings (1..17 bytes) parse alike");
    }
}

static void test_json_documents(void)
{
    static const struct { const char *doc; tw_status_t st; const char *name; } cases[] = {
        { "{}", TW_OK, "empty object" },
        { "[]", TW_OK, "empty array" },
        { "{} \t\r\n", TW_OK, "trailing JSON whitespace" },
        { " \n{}", TW_OK, "leading whitespace" },
        { "42", TW_OK, "top-level number (ends only at finish)" },
        { "42 ", TW_OK, "top-level number and a space" },
        { "-0", TW_OK, "top-level -0" },
        { "\"x\"", TW_OK, "top-level string" },
        { "true", TW_OK, "top-level true" },
        { "null", TW_OK, "top-level null" },
        { "null ", TW_OK, "top-level null and a space" },
        { "[null]", TW_OK, "null in an array" },
        { "[0,-0,0.0,-0.0e0,1E+05,1e-5,-1.5e-3,123456789012345678901234567890.5]", TW_OK, "RFC numbers" },
        { "[\"\\u0000\",\"\\ud83d\\ude00\",\"\\/\",\"\x7f\"]", TW_OK, "escapes, a surrogate pair, a raw DEL" },
        /* what parsers read differently is refused (parity with PHP & co.) */
        { "{\"a\":1,\"a\":2}", TW_ERR_JSON_AMBIGUOUS, "duplicate keys" },
        { "{\"page\":{\"id\":1,\"id\\u0000\":2}}", TW_ERR_JSON_AMBIGUOUS,
          "a name with \\u0000 (json-c reads id=2, PHP id=1)" },
        { "{\"a\\u0000\":1}", TW_ERR_JSON_AMBIGUOUS, "a name with \\u0000, alone" },
        { "{\"a\\u0000b\" :1}", TW_ERR_JSON_AMBIGUOUS, "a name with \\u0000 inside, space before ':'" },
        { "{\"a\":\"x\\u0000y\"}", TW_OK, "\\u0000 in a value (never exported: unsafe)" },
        { "[\"\\u0000\",{\"b\":1}]", TW_OK, "\\u0000 in an array string, then a name" },
        { "{\"id\":1,\"\\u0069d\":2}", TW_ERR_JSON_AMBIGUOUS, "duplicate keys, one spelled with an escape" },
        { "{\"a\":{\"b\":1,\"c\":2},\"a\":{\"b\":1}}", TW_ERR_JSON_AMBIGUOUS, "a repeated name holding an object" },
        { "{\"x\":[{\"a\":1},{\"a\":1}],\"y\":{\"a\":{\"a\":1}}}", TW_OK,
          "the same name in different objects" },
        { "{\"x\":[1,{\"k\":{\"k\":2,\"k\":3}}]}", TW_ERR_JSON_AMBIGUOUS, "a duplicate deep inside" },
        { "[\"\\ud800\"]", TW_ERR_JSON_AMBIGUOUS, "a lone high surrogate" },
        { "[\"\\udc00\"]", TW_ERR_JSON_AMBIGUOUS, "a lone low surrogate" },
        { "[\"\\ud83dx\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then a letter" },
        { "[\"\\ud83d\\u0041\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then another escape" },
        { "[\"\\ud83d\\n\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then \\n" },
        { "[\"\\ud83d\xc3\xa9\"]", TW_ERR_JSON_AMBIGUOUS, "a high surrogate, then raw UTF-8" },
        { "[\"\\ude00\\ud83d\"]", TW_ERR_JSON_AMBIGUOUS, "a pair in the wrong order" },
        { "[\"\\uD83D\\uDE00\"]", TW_OK, "a surrogate pair in upper case" },
        /* bytes that are not UTF-8 are not JSON (RFC 8259 8.1) */
        { "[\"\xc3\"]", TW_ERR_JSON_INVALID, "a truncated UTF-8 sequence" },
        { "[\"\xc0\xaf\"]", TW_ERR_JSON_INVALID, "an overlong UTF-8 form" },
        { "[\"\xe0\x80\xaf\"]", TW_ERR_JSON_INVALID, "an overlong 3-byte form" },
        { "[\"\xed\xa0\x80\"]", TW_ERR_JSON_INVALID, "a UTF-8-encoded surrogate" },
        { "[\"\xf4\x90\x80\x80\"]", TW_ERR_JSON_INVALID, "past U+10FFFF" },
        { "[\"\xff\"]", TW_ERR_JSON_INVALID, "the byte FF" },
        { "[\"\x80\"]", TW_ERR_JSON_INVALID, "a lone continuation byte" },
        { "[\"\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\"]", TW_OK, "4-, 3- and 2-byte UTF-8" },
        { "[\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]", TW_OK, "U+FFFF and U+10FFFF" },
        { "", TW_ERR_JSON_INVALID, "empty input" },
        { " \r\n\t", TW_ERR_JSON_INVALID, "whitespace only" },
        { "{} x", TW_ERR_JSON_INVALID, "trailing garbage" },
        { "{}{}", TW_ERR_JSON_INVALID, "two documents" },
        { "{} {}", TW_ERR_JSON_INVALID, "two documents, a space apart" },
        { "1 2", TW_ERR_JSON_INVALID, "two numbers" },
        { "{}\v", TW_ERR_JSON_INVALID, "trailing vertical tab (not JSON whitespace)" },
        { "{}\f", TW_ERR_JSON_INVALID, "trailing form feed (not JSON whitespace)" },
        { "\xef\xbb\xbf{}", TW_ERR_JSON_INVALID, "a byte order mark" },
        { "{", TW_ERR_JSON_INVALID, "unterminated object" },
        { "[1", TW_ERR_JSON_INVALID, "unterminated array" },
        { "\"abc", TW_ERR_JSON_INVALID, "unterminated string" },
        { "tru", TW_ERR_JSON_INVALID, "truncated true" },
        /* Strict RFC 8259: what json-c's JSON_TOKENER_STRICT alone lets through is refused too. */
        { "{'a':1}", TW_ERR_JSON_INVALID, "strict: single-quoted key" },
        { "['a']", TW_ERR_JSON_INVALID, "strict: single-quoted value" },
        { "[1,]", TW_ERR_JSON_INVALID, "strict: trailing comma in an array" },
        { "{\"a\":1,}", TW_ERR_JSON_INVALID, "strict: trailing comma in an object" },
        { "[1,,2]", TW_ERR_JSON_INVALID, "strict: empty array element" },
        { "[1]/*c*/", TW_ERR_JSON_INVALID, "strict: trailing comment" },
        { "/*c*/[1]", TW_ERR_JSON_INVALID, "strict: leading comment" },
        { "//c\n[1]", TW_ERR_JSON_INVALID, "strict: line comment" },
        { "{a:1}", TW_ERR_JSON_INVALID, "strict: unquoted key" },
        { "[NaN]", TW_ERR_JSON_INVALID, "strict: NaN" },
        { "[Infinity]", TW_ERR_JSON_INVALID, "strict: Infinity" },
        { "[-Infinity]", TW_ERR_JSON_INVALID, "strict: -Infinity" },
        { "NaN", TW_ERR_JSON_INVALID, "strict: top-level NaN" },
        { "[TRUE]", TW_ERR_JSON_INVALID, "strict: TRUE" },
        { "[01]", TW_ERR_JSON_INVALID, "strict: leading zero" },
        { "[00]", TW_ERR_JSON_INVALID, "strict: 00" },
        { "[-01]", TW_ERR_JSON_INVALID, "strict: -01" },
        { "01", TW_ERR_JSON_INVALID, "strict: top-level 01" },
        { "[1.]", TW_ERR_JSON_INVALID, "strict: 1." },
        { "1.", TW_ERR_JSON_INVALID, "strict: top-level 1." },
        { "-", TW_ERR_JSON_INVALID, "strict: top-level -" },
        { "1e", TW_ERR_JSON_INVALID, "strict: top-level 1e" },
        { "1e+", TW_ERR_JSON_INVALID, "strict: top-level 1e+" },
        { "[-.5]", TW_ERR_JSON_INVALID, "strict: -.5" },
        { "[.5]", TW_ERR_JSON_INVALID, "strict: .5" },
        { "[1.e5]", TW_ERR_JSON_INVALID, "strict: 1.e5" },
        { "[+1]", TW_ERR_JSON_INVALID, "strict: +1" },
        { "[0x10]", TW_ERR_JSON_INVALID, "strict: hex number" },
        { "[\"a\nb\"]", TW_ERR_JSON_INVALID, "strict: raw newline in a string" },
        { "[\"a\tb\"]", TW_ERR_JSON_INVALID, "strict: raw tab in a string" },
        { "{\"a\nb\":1}", TW_ERR_JSON_INVALID, "strict: raw newline in a key" },
        { "[\"\\x\"]", TW_ERR_JSON_INVALID, "strict: unknown escape" },
        { "[\"\\'\"]", TW_ERR_JSON_INVALID, "strict: escaped single quote" },
        { "[\"\\u00zz\"]", TW_ERR_JSON_INVALID, "strict: bad \\u escape" },
        /* json-c 0.16, fed in chunks, reads "[4" + "-1]" as [4]. */
        { "[4-1]", TW_ERR_JSON_INVALID, "a minus right after a number" },
        { "4-1", TW_ERR_JSON_INVALID, "top-level 4-1" },
        { "[-1-1]", TW_ERR_JSON_INVALID, "-1-1" },
        { "[1e5-3]", TW_ERR_JSON_INVALID, "a minus right after an exponent" },
        { "[1+1]", TW_ERR_JSON_INVALID, "a plus right after a number" },
        { "[1true]", TW_ERR_JSON_INVALID, "a literal right after a number" },
        { "{\"a\":1\"b\"}", TW_ERR_JSON_INVALID, "a string right after a number" },
        { "{\"a\"}", TW_ERR_JSON_INVALID, "object member without a value" },
        { "[1 2]", TW_ERR_JSON_INVALID, "array without a comma" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(json_verdict(cases[i].doc), cases[i].st, "json %s (whole and byte by byte): %s",
               cases[i].name, tw_status_str(cases[i].st));
    /* NUL bytes: C strings cannot carry them. */
    is_int(json_parse(NULL, "[1]\0", 4, JSON_WHOLE), TW_ERR_JSON_INVALID, "json: a NUL after the document");
    is_int(json_parse(NULL, "42\0", 3, 1), TW_ERR_JSON_INVALID, "json: a NUL after a top-level number");
    is_int(json_parse(NULL, "[\"a\0b\"]", 7, JSON_WHOLE), TW_ERR_JSON_INVALID, "json: a raw NUL in a string");
    is_int(json_parse(NULL, "[1,\0 2]", 7, JSON_WHOLE), TW_ERR_JSON_INVALID, "json: a NUL between values");
}

/* count arrays (or objects, with "{\"k\":") around inner. */
static char *json_nest(int count, int objects, const char *inner)
{
    size_t open = objects ? 5 : 1, len = strlen(inner);
    char *s = malloc((size_t)count * (open + 1) + len + 1), *p = s;
    int i;

    if (s == NULL)
        abort();
    for (i = 0; i < count; i++, p += open)
        memcpy(p, objects ? "{\"k\":" : "[", open);
    memcpy(p, inner, len);
    p += len;
    for (i = 0; i < count; i++)
        *p++ = objects ? '}' : ']';
    *p = '\0';
    return s;
}

/*
 * Depth, as json-c counts it (json_tokener_new_ex(TW_JSON_MAX_DEPTH)): the
 * values on the path from the root to the deepest value, that value
 * included. So 31 containers around a scalar is 32 levels and the most
 * allowed; 32 empty arrays nested ("[[...[]...]]") is also 32 levels, the
 * innermost empty one being the deepest value.
 */
static void test_json_depth(void)
{
    static const struct { int count, objects; const char *inner; tw_status_t st; const char *name; } cases[] = {
        { TW_JSON_MAX_DEPTH - 1, 0, "1",  TW_OK, "31 arrays around a scalar (32 levels)" },
        { TW_JSON_MAX_DEPTH,     0, "1",  TW_ERR_JSON_INVALID, "32 arrays around a scalar (33 levels)" },
        { TW_JSON_MAX_DEPTH - 1, 0, "[]", TW_OK, "32 nested arrays, the innermost empty (32 levels)" },
        { TW_JSON_MAX_DEPTH,     0, "[]", TW_ERR_JSON_INVALID, "33 nested arrays, the innermost empty (33 levels)" },
        { TW_JSON_MAX_DEPTH - 1, 1, "1",  TW_OK, "31 objects around a scalar (32 levels)" },
        { TW_JSON_MAX_DEPTH,     1, "1",  TW_ERR_JSON_INVALID, "32 objects around a scalar (33 levels)" },
        { TW_JSON_MAX_DEPTH - 1, 1, "{}", TW_OK, "32 nested objects, the innermost empty (32 levels)" },
        { TW_JSON_MAX_DEPTH,     1, "{}", TW_ERR_JSON_INVALID, "33 nested objects, the innermost empty (33 levels)" },
        { 1000,                  0, "1",  TW_ERR_JSON_INVALID, "1000 arrays" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *doc = json_nest(cases[i].count, cases[i].objects, cases[i].inner);

        is_int(json_verdict(doc), cases[i].st, "json depth: %s: %s", cases[i].name, tw_status_str(cases[i].st));
        free(doc);
    }
    {
        char *doc = json_nest(TW_JSON_MAX_DEPTH - 1, 0, "\"deep\"");
        char ptr[3 * TW_JSON_MAX_DEPTH];
        char out[16];
        size_t n = 0;
        int k;

        ptr[0] = '\0';
        for (k = 0; k < TW_JSON_MAX_DEPTH - 1; k++)
            strcat(ptr, "/0");
        is_int(json_get(doc, ptr, out, sizeof(out), &n), TW_OK, "the value at the deepest level is found");
        is_str(out, "deep", "... and read");
        free(doc);
    }
}

static void test_json_scalars(void)
{
    static const char doc[] =
        "{\"s\":\"text\",\"i\":4711,\"neg\":-42,\"zero\":-0,\"d\":1.50,\"e\":1e3,\"E\":-2.5E+3,\"nz\":-0.0,"
        "\"t\":true,\"f\":false,\"n\":null,\"o\":{\"x\":1},\"a\":[10,\"eleven\",[12]],\"emptyo\":{},\"emptya\":[],"
        "\"a/b\":\"slash\",\"m~n\":\"tilde\",\"~1\":\"tilde-one\",\"\":\"empty key\",\"sp ace\":\"space\","
        "\"utf\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"esc\":\"\\u00e9\\ud83d\\ude00\","
        "\"nl\":\"a\\nb\",\"nul\":\"a\\u0000b\",\"us\":\"a\\u001fb\",\"del\":\"a\\u007fb\",\"tab\":\"a\\tb\","
        "\"quote\":\"\\\"q\\\"\",\"sq\":\"it's\","
        "\"i64max\":9223372036854775807,\"i64min1\":-9223372036854775807,\"u64max1\":18446744073709551614,"
        "\"u64max\":18446744073709551615,\"i64min\":-9223372036854775808,"
        "\"huge\":99999999999999999999999,\"hugeneg\":-99999999999999999999,\"hugedbl\":1e400}";
    static const struct { const char *pointer; tw_status_t st; const char *want; const char *name; } cases[] = {
        { "/s", TW_OK, "text", "string" },
        { "/i", TW_OK, "4711", "integer" },
        { "/neg", TW_OK, "-42", "negative integer" },
        { "/zero", TW_OK, "0", "-0 (json-c reads an integer: exported as 0)" },
        { "/d", TW_OK, "1.50", "1.50 as written" },
        { "/e", TW_OK, "1e3", "1e3 as written" },
        { "/E", TW_OK, "-2.5E+3", "-2.5E+3 as written" },
        { "/nz", TW_OK, "-0.0", "-0.0 as written" },
        { "/t", TW_OK, "true", "true" },
        { "/f", TW_OK, "false", "false" },
        { "/n", TW_ERR_JSON_NOT_SCALAR, "", "null" },
        { "/o", TW_ERR_JSON_NOT_SCALAR, "", "object" },
        { "/a", TW_ERR_JSON_NOT_SCALAR, "", "array" },
        { "/emptyo", TW_ERR_JSON_NOT_SCALAR, "", "empty object" },
        { "/emptya", TW_ERR_JSON_NOT_SCALAR, "", "empty array" },
        { "", TW_ERR_JSON_NOT_SCALAR, "", "the whole document (pointer \"\")" },
        { "/missing", TW_ERR_JSON_NOT_FOUND, "", "missing member" },
        { "/s/x", TW_ERR_JSON_NOT_FOUND, "", "member of a string" },
        { "/o/y", TW_ERR_JSON_NOT_FOUND, "", "missing nested member" },
        { "/o/x", TW_OK, "1", "nested member" },
        { "/a/0", TW_OK, "10", "array index 0" },
        { "/a/1", TW_OK, "eleven", "array index 1" },
        { "/a/2/0", TW_OK, "12", "nested array index" },
        { "/a/3", TW_ERR_JSON_NOT_FOUND, "", "array index past the end" },
        { "/a/01", TW_ERR_JSON_NOT_FOUND, "", "array index with a leading zero" },
        { "/a/-", TW_ERR_JSON_NOT_FOUND, "", "array index - (past the end)" },
        { "/a/-1", TW_ERR_JSON_NOT_FOUND, "", "negative array index" },
        { "/a/x", TW_ERR_JSON_NOT_FOUND, "", "non-numeric array index" },
        { "/a/99999999999999999999", TW_ERR_JSON_NOT_FOUND, "", "huge array index" },
        { "/a~1b", TW_OK, "slash", "~1 escapes /" },
        { "/m~0n", TW_OK, "tilde", "~0 escapes ~" },
        { "/~01", TW_OK, "tilde-one", "~01 is ~1, not /" },
        { "/a/b", TW_ERR_JSON_NOT_FOUND, "", "unescaped / is a separator" },
        { "/", TW_OK, "empty key", "/ names the empty key" },
        { "/sp ace", TW_OK, "space", "key with a space" },
        { "/utf", TW_OK, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "raw UTF-8 passes through" },
        { "/esc", TW_OK, "\xc3\xa9\xf0\x9f\x98\x80", "\\u escapes come out as UTF-8" },
        { "/nl", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\n" },
        { "/nul", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\u0000" },
        { "/us", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\u001f" },
        { "/del", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\u007f" },
        { "/tab", TW_ERR_JSON_UNSAFE_VALUE, "", "value with \\t" },
        { "/quote", TW_OK, "\"q\"", "escaped quotes" },
        { "/sq", TW_OK, "it's", "a single quote inside a string" },
        { "/i64max", TW_OK, "9223372036854775807", "INT64_MAX as written" },
        { "/i64min1", TW_OK, "-9223372036854775807", "INT64_MIN + 1 as written" },
        { "/u64max1", TW_OK, "18446744073709551614", "UINT64_MAX - 1 as written" },
        { "/huge", TW_ERR_JSON_UNSAFE_VALUE, "", "integer past UINT64_MAX (json-c clamps it)" },
        { "/hugeneg", TW_ERR_JSON_UNSAFE_VALUE, "", "integer below INT64_MIN (json-c clamps it)" },
        { "/u64max", TW_ERR_JSON_UNSAFE_VALUE, "", "UINT64_MAX (a clamp value: refused)" },
        { "/i64min", TW_ERR_JSON_UNSAFE_VALUE, "", "INT64_MIN (a clamp value: refused)" },
        { "/hugedbl", TW_OK, "1e400", "1e400 as written (doubles keep their text)" },
    };
    tw_json_t *json = NULL;
    char out[TW_JSON_VALUE_MAX + 1];
    size_t i, n;

    is_int(json_parse(&json, doc, strlen(doc), 7), TW_OK, "scalar test document parses");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tw_status_t st;

        memset(out, '#', sizeof(out));
        n = 99;
        st = tw_json_get_scalar(json, cases[i].pointer, out, sizeof(out), &n);
        is_int(st, cases[i].st, "get_scalar %s (\"%s\"): %s", cases[i].name, cases[i].pointer,
               tw_status_str(cases[i].st));
        ok(strcmp(out, cases[i].want) == 0 && n == strlen(cases[i].want),
           "... gives \"%s\", length %zu", cases[i].want, strlen(cases[i].want));
    }
    tw_json_destroy(json);

    /* A top-level null: a document, but not a scalar. */
    is_int(json_parse(&json, "null", 4, JSON_WHOLE), TW_OK, "top-level null parses");
    is_int(tw_json_get_scalar(json, "", out, sizeof(out), &n), TW_ERR_JSON_NOT_SCALAR, "... \"\" names null: not a scalar");
    is_int(tw_json_get_scalar(json, "/a", out, sizeof(out), &n), TW_ERR_JSON_NOT_FOUND, "... /a names nothing");
    tw_json_destroy(json);
    is_int(json_get("42", "", out, sizeof(out), &n), TW_OK, "top-level 42 is read with pointer \"\"");
    is_str(out, "42", "... as 42");
    is_int(json_get("\"top\" ", "", out, sizeof(out), &n), TW_OK, "top-level string read with pointer \"\"");
    is_str(out, "top", "... as top");
}

static void test_json_lengths(void)
{
    char *doc = malloc(TW_JSON_VALUE_MAX + 64), *out = malloc(TW_JSON_VALUE_MAX + 64);
    size_t n = 99, i;

    if (doc == NULL || out == NULL)
        abort();
    /* {"v":"xxx...x"} with exactly TW_JSON_VALUE_MAX bytes of value. */
    strcpy(doc, "{\"v\":\"");
    memset(doc + 6, 'x', TW_JSON_VALUE_MAX);
    strcpy(doc + 6 + TW_JSON_VALUE_MAX, "\"}");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX + 1, &n), TW_OK,
           "value of exactly TW_JSON_VALUE_MAX bytes, into TW_JSON_VALUE_MAX + 1");
    is_int(n, TW_JSON_VALUE_MAX, "... length TW_JSON_VALUE_MAX");
    ok(out[TW_JSON_VALUE_MAX] == '\0', "... NUL-terminated");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX, &n), TW_ERR_JSON_UNSAFE_VALUE,
           "... into TW_JSON_VALUE_MAX bytes (no room for the NUL): unsafe");
    ok(n == 0 && out[0] == '\0', "... and nothing is returned");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX + 64, &n), TW_OK, "... into a larger buffer");

    strcpy(doc + 6 + TW_JSON_VALUE_MAX, "x\"}");
    is_int(json_get(doc, "/v", out, TW_JSON_VALUE_MAX + 64, &n), TW_ERR_JSON_UNSAFE_VALUE,
           "value of TW_JSON_VALUE_MAX + 1 bytes, even into a larger buffer: unsafe");

    /* Multibyte UTF-8 counts bytes: 341 euro signs (1023 bytes) fit, 342 do not. */
    strcpy(doc, "[\"");
    for (i = 0; i < 341; i++)
        memcpy(doc + 2 + 3 * i, "\xe2\x82\xac", 3);
    strcpy(doc + 2 + 3 * i, "\"]");
    is_int(json_parse(NULL, doc, strlen(doc), 1), TW_OK, "341 euro signs fed byte by byte parse");
    is_int(json_get(doc, "/0", out, TW_JSON_VALUE_MAX + 1, &n), TW_OK, "... and their 1023 bytes are exported");
    ok(n == 1023 && memcmp(out, doc + 2, 1023) == 0, "... unchanged");
    strcpy(doc + 2 + 3 * i, "\xe2\x82\xac\"]");
    is_int(json_get(doc, "/0", out, TW_JSON_VALUE_MAX + 1, &n), TW_ERR_JSON_UNSAFE_VALUE,
           "342 euro signs (1026 bytes): unsafe");

    /* out_cap smaller than the value, for strings and for numbers. */
    is_int(json_get("{\"a\":\"abc\"}", "/a", out, 4, &n), TW_OK, "\"abc\" into 4 bytes");
    is_int(json_get("{\"a\":\"abc\"}", "/a", out, 3, &n), TW_ERR_JSON_UNSAFE_VALUE, "\"abc\" into 3 bytes: unsafe");
    is_int(json_get("{\"a\":1.25}", "/a", out, 4, &n), TW_ERR_JSON_UNSAFE_VALUE, "1.25 into 4 bytes: unsafe");
    is_int(json_get("{\"a\":true}", "/a", out, 5, &n), TW_OK, "true into 5 bytes");
    is_int(json_get("{\"a\":\"\"}", "/a", out, 1, &n), TW_OK, "\"\" into 1 byte");
    ok(n == 0 && out[0] == '\0', "... is the empty string");
    free(doc);
    free(out);
}

static const struct verdict_case json_pointer_is_valid_cases[] = {
    { "/", 1, "pointer / is valid (the empty key)" },
    { "/page/id", 1, "pointer /page/id is valid" },
    { "/a/0", 1, "pointer /a/0 is valid" },
    { "//", 1, "pointer // is valid" },
    { "/a~0b~1c", 1, "pointer with ~0 and ~1 is valid" },
    { "/caf\xc3\xa9", 1, "pointer with UTF-8 is valid" },
    { "/a b", 1, "pointer with a space is valid" },
    { "", 0, "pointer \"\" (the whole document) is not valid" },
    { NULL, 0, "NULL pointer is not valid" },
    { "a", 0, "pointer a (no leading /) is not valid" },
    { "#/a", 0, "URI fragment pointer #/a is not valid" },
    { "/a~2", 0, "pointer with ~2 is not valid" },
    { "/a~", 0, "pointer ending in ~ is not valid" },
    { "/~/a", 0, "pointer with ~/ is not valid" },
    { "/a\nb", 0, "pointer with a newline is not valid" },
    { "/a\tb", 0, "pointer with a tab is not valid" },
    { "/a\x1f", 0, "pointer with 0x1f is not valid" },
    { "/a\x7f", 0, "pointer with DEL is not valid" },
};

static void test_json_pointer_valid(void)
{
    CHECK_VERDICTS(tw_json_pointer_is_valid, json_pointer_is_valid_cases);
}

static const struct verdict_case env_name_is_allowed_cases[] = {
    { "TW_PAGE_ID", 1, "env TW_PAGE_ID is allowed" },
    { "A", 1, "env A is allowed" },
    { "_X", 1, "env _X (leading underscore) is allowed" },
    { "X9_", 1, "env X9_ is allowed" },
    { "PHP_VALUES", 1, "env PHP_VALUES is allowed (only PHP_VALUE itself is reserved)" },
    { "PHP_VALUE_X", 1, "env PHP_VALUE_X is allowed" },
    { "TW_WEBHOOK", 1, "env TW_WEBHOOK (no underscore after) is allowed" },
    { "HTTP", 1, "env HTTP (no underscore after) is allowed" },
    { "tw_page_id", 0, "lowercase env is not allowed" },
    { "Tw_Page", 0, "mixed-case env is not allowed" },
    { "HTTP_X", 0, "env HTTP_X is not allowed" },
    { "HTTP_", 0, "env HTTP_ is not allowed" },
    { "REDIRECT_X", 0, "env REDIRECT_X is not allowed" },
    { "TW_WEBHOOK_X", 0, "env TW_WEBHOOK_X is not allowed" },
    { "TW_WEBHOOK_EVENT", 0, "env TW_WEBHOOK_EVENT is not allowed" },
    { "PHP_VALUE", 0, "env PHP_VALUE is not allowed" },
    { "PHP_ADMIN_VALUE", 0, "env PHP_ADMIN_VALUE is not allowed" },
    { "9LIVES", 0, "env with a leading digit is not allowed" },
    { "REMOTE_USER", 0, "env REMOTE_USER (a server fact) is not allowed" },
    { "SCRIPT_FILENAME", 0, "env SCRIPT_FILENAME is not allowed" },
    { "HTTPS", 0, "env HTTPS is not allowed" },
    { "SSL_CLIENT_S_DN", 0, "env SSL_* is not allowed" },
    { "LD_PRELOAD", 0, "env LD_PRELOAD is not allowed" },
    { "REMOTE_USERNAME", 1, "env REMOTE_USERNAME (not a server fact) is allowed" },
    { "", 0, "empty env name is not allowed" },
    { NULL, 0, "NULL env name is not allowed" },
    { "A-B", 0, "env with '-' is not allowed" },
    { "A=B", 0, "env with '=' is not allowed" },
    { "A B", 0, "env with a space is not allowed" },
    { "A\n", 0, "env with a newline is not allowed" },
    { "\xc3\x89T\xc3\x89", 0, "env with UTF-8 is not allowed" },
};

static void test_env_names(void)
{
    char s[TW_ENV_NAME_MAX + 2];
    size_t i;

    /* every listed name, and every listed prefix with something after it */
    for (i = 0; tw_env_reserved_names[i] != NULL; i++)
        ok(!tw_env_name_is_allowed(tw_env_reserved_names[i]), "reserved env %s is not allowed",
           tw_env_reserved_names[i]);
    for (i = 0; tw_env_reserved_prefixes[i] != NULL; i++) {
        snprintf(s, sizeof(s), "%sX", tw_env_reserved_prefixes[i]);
        ok(!tw_env_name_is_allowed(s), "reserved env prefix %s* (%s) is not allowed",
           tw_env_reserved_prefixes[i], s);
    }

    CHECK_VERDICTS(tw_env_name_is_allowed, env_name_is_allowed_cases);
    memset(s, 'V', sizeof(s));
    s[TW_ENV_NAME_MAX] = '\0';
    ok(tw_env_name_is_allowed(s), "env name of 64 characters is allowed");
    s[TW_ENV_NAME_MAX] = 'V';
    s[TW_ENV_NAME_MAX + 1] = '\0';
    ok(!tw_env_name_is_allowed(s), "env name of 65 characters is not allowed");
}

void unit_json(void)
{
    test_json_args();
    test_json_chunks();
    test_json_documents();
    test_json_depth();
    test_json_scalars();
    test_json_lengths();
    test_json_pointer_valid();
    test_env_names();
}
