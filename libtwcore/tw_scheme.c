/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_scheme.c - what a request's headers say must be verified, for every
 * profile's grammar (see tw_scheme_parse in tw/scheme.h), and the
 * timestamp rules.
 *
 * Every parser here reads client data: each stops at the string's NUL or
 * at a bound, whichever comes first, accepts exactly its grammar and
 * leaves nothing behind on failure (the output is zeroed). No strtol, no
 * ctype: nothing depends on the locale.
 */
#include <string.h>

#include "tw/scheme.h"
#include "tw/codec.h"
#include "tw/validate.h"
#include "tw/verify.h"

#define TS_DIGITS_MAX  13    /* TW_TIMESTAMP_MAX, 10^12, has 13 digits */
#define TAG_MAX        16    /* longest tag or key of a list entry */
#define B64_MAC_LEN    44    /* TW_BASE64_LEN(TW_MAC_LEN) */

/* A piece of a header value: not NUL-terminated. */
typedef struct {
    const char *s;
    size_t len;
} slice_t;

/* One entry of a signature list: <tag><separator><value>. */
typedef struct {
    slice_t tag, value;
} entry_t;

/* strlen() that looks at no more than max + 1 bytes: values are client data. */
static size_t length_up_to(const char *s, size_t max)
{
    size_t n = 0;

    while (n <= max && s[n] != '\0')
        n++;
    return n;
}

static int slice_is(slice_t sl, const char *word)
{
    size_t n = strlen(word);

    return sl.len == n && memcmp(sl.s, word, n) == 0;
}

/* ---- timestamps and ids ------------------------------------------------------ */

/* The timestamp in s[0..len) (not NUL-terminated), by tw_timestamp_parse's rule. */
static tw_status_t timestamp_from_slice(slice_t sl, apr_int64_t *pts)
{
    apr_int64_t v = 0;
    size_t i;

    *pts = 0;
    if (sl.len == 0 || sl.len > TS_DIGITS_MAX)
        return TW_ERR_TS_MALFORMED;
    if (sl.s[0] == '0' && sl.len > 1)
        return TW_ERR_TS_MALFORMED;   /* one spelling per value: it is signed as text */
    for (i = 0; i < sl.len; i++) {
        if (sl.s[i] < '0' || sl.s[i] > '9')
            return TW_ERR_TS_MALFORMED;
        v = v * 10 + (sl.s[i] - '0');   /* 13 digits cannot overflow */
    }
    if (v > TW_TIMESTAMP_MAX)
        return TW_ERR_TS_MALFORMED;
    *pts = v;
    return TW_OK;
}

tw_status_t tw_timestamp_parse(const char *s, apr_int64_t *pts)
{
    slice_t sl;

    if (pts == NULL)
        return TW_ERR_ARG;
    *pts = 0;
    if (s == NULL)
        return TW_ERR_TS_MISSING;
    sl.s = s;
    sl.len = length_up_to(s, TS_DIGITS_MAX);
    return timestamp_from_slice(sl, pts);
}

tw_status_t tw_timestamp_check(apr_int64_t timestamp, apr_int64_t now,
                               apr_int64_t tolerance)
{
    apr_uint64_t distance;

    if (tolerance < 0)
        return TW_ERR_ARG;
    /* Unsigned subtraction of the larger minus the smaller never overflows. */
    if (now >= timestamp) {
        distance = (apr_uint64_t)now - (apr_uint64_t)timestamp;
        return distance > (apr_uint64_t)tolerance ? TW_ERR_TS_STALE : TW_OK;
    }
    distance = (apr_uint64_t)timestamp - (apr_uint64_t)now;
    return distance > (apr_uint64_t)tolerance ? TW_ERR_TS_FUTURE : TW_OK;
}

/* A signed message id becomes the delivery id: one alphabet for both. */
int tw_webhook_id_is_plain(const char *s)
{
    return tw_delivery_is_plain(s);
}

/* ---- single signatures ------------------------------------------------------- */

/* Exactly 64 hex digits (either case) into mac. */
static int hex_mac_from_slice(slice_t sl, unsigned char mac[TW_MAC_LEN])
{
    return sl.len == TW_MAC_HEX_LEN
        && tw_hex_decode(sl.s, sl.len, mac, TW_MAC_LEN) == TW_OK;
}

/* Exactly the 44 characters of strict base64 of 32 bytes into mac. */
static int base64_mac_from_slice(slice_t sl, unsigned char mac[TW_MAC_LEN])
{
    size_t n = 0;

    return sl.len == B64_MAC_LEN
        && tw_base64_decode(sl.s, sl.len, mac, TW_MAC_LEN, &n) == TW_OK
        && n == TW_MAC_LEN;
}

/* s is exactly prefix (case-sensitive) followed by 64 hex digits. */
static int prefixed_hex_mac(const char *s, const char *prefix, unsigned char mac[TW_MAC_LEN])
{
    size_t plen = strlen(prefix);
    slice_t rest;

    /* Stops at s's NUL, which never equals a prefix character. */
    if (strncmp(s, prefix, plen) != 0)
        return 0;
    rest.s = s + plen;
    rest.len = length_up_to(rest.s, TW_MAC_HEX_LEN);
    return hex_mac_from_slice(rest, mac);
}

/* ---- signature lists --------------------------------------------------------- */

static int is_tag_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Visible ASCII but the list's separators. */
static int is_value_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != ',';
}

/*
 * Reads one entry, <tag><kv><value>, at *cursor, and the entry separator
 * after it, if any. Returns 1 with *cursor past the separator (or at the
 * NUL; *last set), 0 when the text there is not an entry.
 */
static int next_entry(const char **cursor, char kv, char sep, entry_t *e, int *last)
{
    const char *s = *cursor;
    size_t n = 0;

    while (n <= TAG_MAX && is_tag_char((unsigned char)s[n]))
        n++;
    if (n == 0 || n > TAG_MAX || s[n] != kv)
        return 0;
    e->tag.s = s;
    e->tag.len = n;
    s += n + 1;

    n = 0;
    while (n <= TW_SIG_ENTRY_MAX && is_value_char((unsigned char)s[n]))
        n++;
    if (n == 0 || n > TW_SIG_ENTRY_MAX)
        return 0;
    e->value.s = s;
    e->value.len = n;
    s += n;

    if (*s == '\0') {
        *last = 1;
    }
    else if (*s == sep && s[1] != '\0') {
        *last = 0;
        s++;
    }
    else {
        return 0;   /* another character, or a separator with nothing after it */
    }
    *cursor = s;
    return 1;
}

/* "v1,<base64>" entries, one space apart; other tags skipped. */
static tw_status_t parse_standard_webhooks(const char *sig, tw_signed_t *out)
{
    size_t entries = 0;
    int last = 0;
    entry_t e;

    while (!last) {
        if (!next_entry(&sig, ',', ' ', &e, &last) || ++entries > TW_CANDIDATES_MAX)
            return TW_ERR_SIG_MALFORMED;
        if (!slice_is(e.tag, "v1"))
            continue;
        if (!base64_mac_from_slice(e.value, out->candidates[out->ncandidates]))
            return TW_ERR_SIG_MALFORMED;
        out->ncandidates++;
    }
    return out->ncandidates > 0 ? TW_OK : TW_ERR_SIG_MALFORMED;
}

/*
 * "t=<ts>,v1=<hex>..." in any order; other keys skipped. The timestamp's
 * text goes to *ts (len 0 when there was no t=) and is checked by the
 * caller, after the signatures: grammar errors come first.
 */
static tw_status_t parse_stripe(const char *sig, tw_signed_t *out, slice_t *ts)
{
    size_t entries = 0;
    int last = 0, seen_t = 0;
    entry_t e;

    ts->s = NULL;
    ts->len = 0;
    while (!last) {
        if (!next_entry(&sig, '=', ',', &e, &last))
            return TW_ERR_SIG_MALFORMED;
        if (slice_is(e.tag, "t")) {
            if (seen_t++)
                return TW_ERR_SIG_MALFORMED;   /* which one would be signed? */
            *ts = e.value;
            continue;
        }
        if (++entries > TW_CANDIDATES_MAX)
            return TW_ERR_SIG_MALFORMED;
        if (!slice_is(e.tag, "v1"))
            continue;
        if (!hex_mac_from_slice(e.value, out->candidates[out->ncandidates]))
            return TW_ERR_SIG_MALFORMED;
        out->ncandidates++;
    }
    return out->ncandidates > 0 ? TW_OK : TW_ERR_SIG_MALFORMED;
}

/* The signature header under p into out's candidates; *ts for stripe's t=. */
static tw_status_t parse_signature(const tw_profile_t *p, const char *sig,
                                   tw_signed_t *out, slice_t *ts)
{
    slice_t whole;

    switch (p->sig_format) {
    case TW_SIG_HEX:
        if (tw_signature_parse(sig, out->candidates[0]) != TW_OK)
            return TW_ERR_SIG_MALFORMED;
        break;
    case TW_SIG_HEX_SHA256:
        if (!prefixed_hex_mac(sig, "sha256=", out->candidates[0]))
            return TW_ERR_SIG_MALFORMED;
        break;
    case TW_SIG_HEX_V0:
        if (!prefixed_hex_mac(sig, "v0=", out->candidates[0]))
            return TW_ERR_SIG_MALFORMED;
        break;
    case TW_SIG_BASE64:
        whole.s = sig;
        whole.len = length_up_to(sig, B64_MAC_LEN);
        if (!base64_mac_from_slice(whole, out->candidates[0]))
            return TW_ERR_SIG_MALFORMED;
        break;
    case TW_SIG_STANDARD_WEBHOOKS:
        return parse_standard_webhooks(sig, out);
    case TW_SIG_STRIPE:
        return parse_stripe(sig, out, ts);
    default:
        return TW_ERR_ARG;
    }
    out->ncandidates = 1;
    return TW_OK;
}

/* ---- the signed prefix ---------------------------------------------------------- */

static void prefix_add(tw_signed_t *out, const char *s, size_t len)
{
    /* Bounded by construction (TW_ID_MAX + TS_DIGITS_MAX + 4 < the buffer). */
    memcpy(out->prefix + out->prefix_len, s, len);
    out->prefix_len += len;
}

static void build_prefix(const tw_profile_t *p, slice_t ts, slice_t id, tw_signed_t *out)
{
    switch (p->signed_form) {
    case TW_SIGNED_ID_TS_BODY:
        prefix_add(out, id.s, id.len);
        prefix_add(out, ".", 1);
        prefix_add(out, ts.s, ts.len);
        prefix_add(out, ".", 1);
        break;
    case TW_SIGNED_TS_BODY:
        prefix_add(out, ts.s, ts.len);
        prefix_add(out, ".", 1);
        break;
    case TW_SIGNED_V0_TS_BODY:
        prefix_add(out, "v0:", 3);
        prefix_add(out, ts.s, ts.len);
        prefix_add(out, ":", 1);
        break;
    case TW_SIGNED_BODY:
    default:
        break;
    }
}

/* The timestamp's text and value: from the signature (stripe) or its header. */
static tw_status_t signed_timestamp(const tw_profile_t *p, const char *header,
                                    slice_t *ts, tw_signed_t *out)
{
    if (p->sig_format != TW_SIG_STRIPE) {
        if (header == NULL)
            return TW_ERR_TS_MISSING;
        ts->s = header;
        ts->len = length_up_to(header, TS_DIGITS_MAX);
    }
    else if (ts->s == NULL) {
        return TW_ERR_TS_MISSING;
    }
    out->has_timestamp = 1;
    return timestamp_from_slice(*ts, &out->timestamp);
}

tw_status_t tw_scheme_parse(const tw_profile_t *p, const char *signature,
                            const char *timestamp, const char *id,
                            tw_signed_t *out)
{
    slice_t ts = { NULL, 0 }, msg_id = { NULL, 0 };
    tw_status_t st;

    if (out == NULL)
        return TW_ERR_ARG;
    memset(out, 0, sizeof(*out));
    if (p == NULL)
        return TW_ERR_ARG;
    if (signature == NULL)
        return TW_ERR_SIG_MISSING;

    st = parse_signature(p, signature, out, &ts);
    if (st == TW_OK && p->signs_timestamp)
        st = signed_timestamp(p, timestamp, &ts, out);
    if (st == TW_OK && p->signed_form == TW_SIGNED_ID_TS_BODY) {
        if (id == NULL)
            st = TW_ERR_ID_MISSING;
        else if (!tw_webhook_id_is_plain(id))
            st = TW_ERR_ID_MALFORMED;
        msg_id.s = id;
        msg_id.len = st == TW_OK ? strlen(id) : 0;
    }
    if (st != TW_OK) {
        memset(out, 0, sizeof(*out));
        return st;
    }
    build_prefix(p, ts, msg_id, out);
    return TW_OK;
}
