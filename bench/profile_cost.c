/*
 * SPDX-License-Identifier: Apache-2.0
 * profile_cost - what verifying one delivery costs under each profile, in
 * the core alone: the work the module does per request between the headers
 * and the handback (parse the signature headers, HMAC the profile's prefix
 * and the body under each secret, compare every candidate, and for the
 * profiles whose event or delivery id is a body field, one JSON parse).
 *
 *   bench/profile_cost [BODY_BYTES [ITERATIONS]]     (defaults 2048, 20000)
 *
 * Prints one TSV line per profile: name, nanoseconds per verification
 * (median of 5 runs), and the ratio to the teamwork profile measured in the
 * same run. Each request is signed first with libtwsign's tw_scheme_sign
 * (as twwebhook-sign does), then verified as the module verifies; a
 * verification that fails aborts the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>

#include "twwebhook.h"
#include "tw/sign.h"

#define RUNS 5

typedef struct {
    const tw_profile_t *p;
    tw_key_t *key;
    tw_signed_headers_t headers;
    const char *signature, *timestamp, *id;
} case_t;

static void die(const char *what, const tw_profile_t *p, tw_status_t st)
{
    fprintf(stderr, "profile_cost: %s failed for %s: %s\n", what, p->name, tw_status_str(st));
    exit(1);
}

static const char *header(const tw_signed_headers_t *h, const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < h->nheaders; i++)
        if (strcmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    return NULL;
}

/* One verification, as the module runs it; 1 when it matched. */
static int verify_once(const case_t *c, const char *body, size_t len)
{
    tw_signed_t sig;
    tw_verifier_t *v = NULL;
    size_t matched = 0, candidate = 0;
    const tw_key_t *keys[1];
    tw_status_t st;

    keys[0] = c->key;
    st = tw_scheme_parse(c->p, c->signature, c->timestamp, c->id, &sig);
    if (st == TW_OK)
        st = tw_verifier_create(&v, keys, 1);
    if (st == TW_OK)
        st = tw_verifier_update(v, sig.prefix, sig.prefix_len);
    if (st == TW_OK)
        st = tw_verifier_update(v, body, len);
    if (st == TW_OK)
        st = tw_verifier_finish_any(v, (const unsigned char (*)[TW_MAC_LEN])sig.candidates,
                                    sig.ncandidates, &matched, &candidate);
    tw_verifier_destroy(v);
    if (st == TW_OK && (c->p->event_source == TW_SOURCE_BODY
                        || c->p->delivery_source == TW_SOURCE_BODY)) {
        tw_json_t *json = NULL;
        char out[TW_JSON_VALUE_MAX + 1];
        size_t n;

        if ((st = tw_json_create(&json)) == TW_OK && (st = tw_json_feed(json, body, len)) == TW_OK
            && (st = tw_json_finish(json)) == TW_OK)
            st = tw_json_get_scalar(json, c->p->event_field, out, sizeof(out), &n);
        tw_json_destroy(json);
    }
    return st == TW_OK && matched == 1;
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A JSON body of about len bytes with the fields every profile may read. */
static char *make_body(size_t len)
{
    static const char head[] = "{\"type\":\"payment_intent.succeeded\",\"id\":\"evt_1N\",\"pad\":\"";
    char *body = malloc(len + sizeof(head) + 4);
    size_t i, n = sizeof(head) - 1;

    if (body == NULL)
        exit(1);
    memcpy(body, head, n);
    for (i = n; i + 2 < len; i++)
        body[i] = (char)('a' + i % 26);
    memcpy(body + (i > n ? i : n), "\"}", 3);
    return body;
}

int main(int argc, char **argv)
{
    size_t len = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2048;
    long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    char *body = make_body(len);
    double base = 0;
    const tw_profile_t *p;
    size_t i;

    apr_initialize();
    len = strlen(body);
    printf("# profile\tns_per_verify\tratio_to_teamwork\t(body %zu bytes, %ld verifications x %d runs, median)\n",
           len, iterations, RUNS);
    for (i = 0; (p = tw_profile_at(i)) != NULL; i++) {
        unsigned char key[TW_SECRET_MAX];
        size_t key_len = 0;
        double runs[RUNS];
        case_t c = { p, NULL, { { { 0 } }, 0 }, NULL, NULL, NULL };
        tw_status_t st;
        int r;
        long k;

        if ((st = tw_profile_key(p, secret, sizeof(secret) - 1, key, sizeof(key), &key_len)) != TW_OK)
            die("tw_profile_key", p, st);
        if ((st = tw_key_create(&c.key, key, key_len)) != TW_OK)
            die("tw_key_create", p, st);
        tw_cleanse(key, sizeof(key));
        if ((st = tw_scheme_sign(p, secret, sizeof(secret) - 1, body, len, (apr_int64_t)time(NULL),
                                 "msg_bench", &c.headers)) != TW_OK)
            die("tw_scheme_sign", p, st);
        c.signature = header(&c.headers, p->signature_header);
        c.timestamp = header(&c.headers, p->timestamp_header);
        c.id = header(&c.headers, p->id_header);
        if (!verify_once(&c, body, len))
            die("verification", p, TW_ERR_SIG_MISMATCH);
        for (r = 0; r < RUNS; r++) {
            double t0 = now_ns();
            for (k = 0; k < iterations; k++)
                if (!verify_once(&c, body, len))
                    die("verification", p, TW_ERR_SIG_MISMATCH);
            runs[r] = (now_ns() - t0) / (double)iterations;
        }
        qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
        if (i == 0)
            base = runs[RUNS / 2];
        printf("%s\t%.0f\t%.2f\n", p->name, runs[RUNS / 2], runs[RUNS / 2] / base);
        tw_key_destroy(c.key);
    }
    free(body);
    apr_terminate();
    return 0;
}
