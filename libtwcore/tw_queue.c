/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_queue.c - the retry schedule, the dead decision and the TW-Dispatch
 * credential (format and hazards: include/tw/queue.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tw/queue.h"
#include "tw/codec.h"

/* ---- retries ---------------------------------------------------------------- */

/* min(cap, base * 2^(attempts - 1)), without overflow. */
static apr_interval_time_t backoff(const tw_retry_t *retry, unsigned int attempts)
{
    apr_interval_time_t d = retry->base > 0 ? retry->base : 1;
    unsigned int i;

    for (i = 1; i < attempts && d < retry->cap; i++)
        d = d > retry->cap / 2 ? retry->cap : d * 2;
    return d < retry->cap ? d : retry->cap;
}

apr_interval_time_t tw_retry_delay(const tw_retry_t *retry, unsigned int attempts,
                                   uint32_t rnd)
{
    apr_interval_time_t d = backoff(retry, attempts > 0 ? attempts : 1);
    apr_interval_time_t half = d / 2;

    /* Equal jitter: never sooner than half the backoff (a recovering app
     * is not hit at once), spread over the other half so that entries
     * that failed together do not come back together. */
    return half + (apr_interval_time_t)(((apr_uint64_t)(d - half) * rnd) / 0x100000000ULL);
}

int tw_retry_is_dead(const tw_retry_t *retry, unsigned int attempts, apr_time_t received,
                     apr_time_t next)
{
    if (retry->attempts > 0 && attempts >= retry->attempts)
        return 1;
    return retry->max_age > 0 && next - received > retry->max_age;
}

/* ---- the dispatch credential -------------------------------------------------- */

static int is_token(const char *s)
{
    return s != NULL && *s != '\0' && strpbrk(s, " \t\r\n") == NULL;
}

static tw_status_t dispatch_mac(const unsigned char key[TW_DISPATCH_KEY_LEN], const char *id,
                                unsigned int attempt, apr_int64_t expires, const char *method,
                                const char *target, unsigned char mac[TW_MAC_LEN])
{
    char head[TW_INBOX_ID_LEN + 64];
    size_t tlen = strlen(target), mlen = strlen(method), hlen, outlen = 0;
    unsigned char *msg;
    int n;
    tw_status_t st = TW_OK;

    n = snprintf(head, sizeof(head), "v1\n%s\n%u\n%" APR_INT64_T_FMT "\n", id, attempt, expires);
    if (n < 0 || (size_t)n >= sizeof(head))
        return TW_ERR_ARG;
    hlen = (size_t)n;
    if ((msg = malloc(hlen + mlen + 1 + tlen)) == NULL)
        return TW_ERR_NOMEM;
    memcpy(msg, head, hlen);
    memcpy(msg + hlen, method, mlen);
    msg[hlen + mlen] = '\n';
    memcpy(msg + hlen + mlen + 1, target, tlen);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, TW_DISPATCH_KEY_LEN, msg,
                  hlen + mlen + 1 + tlen, mac, TW_MAC_LEN, &outlen) == NULL
        || outlen != TW_MAC_LEN)
        st = TW_ERR_CRYPTO;
    free(msg);
    return st;
}

tw_status_t tw_dispatch_sign(const unsigned char key[TW_DISPATCH_KEY_LEN], const char *id,
                             unsigned int attempt, apr_int64_t expires, const char *method,
                             const char *target, char out[TW_DISPATCH_VALUE_MAX + 1])
{
    unsigned char mac[TW_MAC_LEN];
    char hex[TW_MAC_HEX_LEN + 1];
    tw_status_t st;

    if (key == NULL || !tw_inbox_id_is_valid(id) || !is_token(method) || target == NULL
        || target[0] != '/' || expires < 0 || out == NULL)
        return TW_ERR_ARG;
    st = dispatch_mac(key, id, attempt, expires, method, target, mac);
    if (st == TW_OK)
        st = tw_hex_encode(mac, sizeof(mac), hex, sizeof(hex));
    if (st == TW_OK)
        snprintf(out, TW_DISPATCH_VALUE_MAX + 1, "v1 %s %u %" APR_INT64_T_FMT " %s",
                 id, attempt, expires, hex);
    tw_cleanse(mac, sizeof(mac));
    tw_cleanse(hex, sizeof(hex));
    return st;
}

/* A decimal number of 1..digits digits, no sign, no leading zero. */
static int parse_decimal(const char *s, size_t len, size_t digits, apr_int64_t *v)
{
    size_t i;

    if (len == 0 || len > digits || (len > 1 && s[0] == '0'))
        return 0;
    *v = 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Splits "v1 id attempt expires mac" on single spaces into d and mac. */
static int parse_value(const char *value, tw_dispatch_t *d, unsigned char mac[TW_MAC_LEN])
{
    const char *f[5];
    size_t len[5];
    const char *p = value;
    apr_int64_t attempt;
    int i;

    if (value == NULL || strlen(value) > TW_DISPATCH_VALUE_MAX)
        return 0;
    for (i = 0; i < 5; i++) {
        f[i] = p;
        len[i] = strcspn(p, " ");
        p += len[i];
        if (i < 4 && *p++ != ' ')
            return 0;
    }
    if (*p != '\0' || len[0] != 2 || memcmp(f[0], "v1", 2) != 0
        || len[1] != TW_INBOX_ID_LEN || len[4] != TW_MAC_HEX_LEN)
        return 0;
    memcpy(d->id, f[1], TW_INBOX_ID_LEN);
    d->id[TW_INBOX_ID_LEN] = '\0';
    if (!tw_inbox_id_is_valid(d->id) || !parse_decimal(f[2], len[2], 9, &attempt)
        || !parse_decimal(f[3], len[3], 18, &d->expires))
        return 0;
    d->attempt = (unsigned int)attempt;
    return tw_hex_decode(f[4], len[4], mac, TW_MAC_LEN) == TW_OK;
}

tw_status_t tw_dispatch_check(const unsigned char key[TW_DISPATCH_KEY_LEN], const char *value,
                              const char *method, const char *target, apr_int64_t now,
                              tw_dispatch_t *d)
{
    unsigned char got[TW_MAC_LEN], want[TW_MAC_LEN];
    tw_status_t st;

    if (key == NULL || d == NULL || !is_token(method) || target == NULL)
        return TW_ERR_ARG;
    memset(d, 0, sizeof(*d));
    if (!parse_value(value, d, got)) {
        memset(d, 0, sizeof(*d));
        return TW_ERR_SIG_MALFORMED;
    }
    st = dispatch_mac(key, d->id, d->attempt, d->expires, method, target, want);
    if (st == TW_OK && CRYPTO_memcmp(got, want, TW_MAC_LEN) != 0)
        st = TW_ERR_SIG_MISMATCH;
    if (st == TW_OK && now > d->expires)
        st = TW_ERR_TS_STALE;
    tw_cleanse(got, sizeof(got));
    tw_cleanse(want, sizeof(want));
    if (st != TW_OK)
        memset(d, 0, sizeof(*d));
    return st;
}
