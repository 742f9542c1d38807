/*
 * SPDX-License-Identifier: Apache-2.0
 * deliveries.c - what came in and what became of it: the recent
 * deliveries of each (virtual) server, kept for the page that shows them
 * ("SetHandler twwebhook-deliveries", glue/deliveries_page.c).
 *
 * The ring. One anonymous shared memory segment per server name and port
 * (as the metrics label them), created by the parent in post_config and
 * inherited by every child; which label owns which segment is kept on the
 * process pool, so a graceful restart finds the same rows (a new row count
 * copies the newest rows into a new segment). A row (deliveries_row.h)
 * has a fixed size, is written once when the transaction's outcome is known
 * (tw_deliveries_record, next to tw_metrics_count) and completed in
 * log_transaction with the app's status and the time taken.
 *
 * Rows that follow an inbox entry. A delivery the inbox recorded (held,
 * queued, direct) keeps its entry id in its row (tw_deliveries_entry).
 * The queue's dispatcher, whose watchdog thread runs in some child, ends
 * each try by looking the id up in every ring (tw_deliveries_dispatched:
 * the same seqlock as any writer), and a Redeliver from the page does
 * the same (tw_deliveries_requeued): one row per delivery whatever the
 * number of tries, while the row is still kept. A dispatched request
 * writes no row of its own.
 *
 * Refusals in a row. A refusal identical to the one the newest row
 * holds (the same location, client, method, path, event, delivery id,
 * status and reason: a sender retrying what is refused, or a flood of
 * one junk request) is counted in that row (count, last_time) instead
 * of taking a row of its own: a flood of junk cannot push the deliveries
 * out of the ring, and costs a compare and an increment per request
 * rather than a row (issue 22). Any other row in between starts a new
 * one.
 *
 * Torn rows. Each row has a sequence number, odd while a writer is in it
 * (a seqlock): writers take a row by moving it from even to odd with a
 * compare-and-swap and give it back with an increment; readers copy the
 * row and keep the copy only if the number was even and unchanged around
 * the copy. A child killed inside a row (a few microseconds of memcpy)
 * leaves it odd: the next writer waits a bounded time and takes it over.
 *
 * What a row may hold. Everything in it came from a client and is shown to
 * a person: strings are stored with control characters and bytes that are
 * not UTF-8 written as \xNN, cut visibly ("...") at fixed caps, and escaped
 * again on the way out (ap_escape_html2 for HTML, json_string for JSON).
 * Header values that carry a credential (the signature header, anything
 * named like a signature, token, secret, key, cookie or authorization) are
 * replaced by their length before they reach shared memory. The body's
 * SHA-256 is kept only for a verified body, and only where it costs no
 * pass of its own (the verifier's digest) or the page is to show bodies
 * (TwWebhookDeliveriesShowBody On); the body itself (its first
 * TW_DLV_BODY bytes) only where TwWebhookDeliveriesShowBody On applies and
 * only for a verified body.
 *
 * Each start also makes the nonce the page's forms must carry (random,
 * in post_config, as balancer-manager's).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "glue/glue.h"
#include "glue/config.h"
#include "glue/metrics.h"
#include "glue/inbox.h"
#include "glue/txn.h"
#include "glue/deliveries.h"
#include "glue/deliveries_row.h"

APLOG_USE_MODULE(twwebhook);

#define TW_DLV_KEY          "twwebhook-deliveries"      /* process pool: the rings */
#define TW_DLV_SERVER_SCOPE "(server)"

#define TW_DLV_NONCE_BYTES  16

/* A writer waits this often (TW_DLV_WAIT each) for a row another writer
 * holds before it takes the row over (that writer died in it). */
#define TW_DLV_SPINS        200
#define TW_DLV_WAIT         apr_time_from_msec(1)
#define TW_DLV_READ_TRIES   100

/* docs/reference.md (TwWebhookDeliveriesLog) gives the memory per row:
 * 8440 bytes on x86-64; a row that grows needs the docs changed too. */
typedef char tw_row_size_as_documented[sizeof(tw_dlv_row_t) <= 8448 ? 1 : -1];

typedef struct {
    apr_uint32_t next;          /* serials handed out (atomic) */
    apr_uint32_t capacity;
} tw_ring_head_t;

/* One server's ring; the struct on the process pool, the rows shared. */
typedef struct {
    apr_shm_t *shm;
    tw_ring_head_t *head;
    tw_dlv_row_t *rows;
    apr_uint32_t capacity;
} tw_ring_t;

/* The transaction's row, on its top request's pool. */
typedef struct {
    tw_ring_t *ring;
    apr_uint32_t serial;
} tw_dlv_handle_t;

/* This generation's: set in the parent before any child exists. */
static apr_hash_t *ring_of_server;      /* server_rec * -> tw_ring_t * */
static apr_array_header_t *all_rings;   /* tw_ring_t *, each once (a label's servers share one) */
static char action_nonce[TW_DLV_NONCE_BYTES * 2 + 1];

static const char *const state_names[TW_DLV_STATE_MAX] = {
    [TW_DLV_PENDING] = "pending",     [TW_DLV_DELIVERED] = "delivered",
    [TW_DLV_FAILED] = "failed",       [TW_DLV_HELD] = "held",
    [TW_DLV_QUEUED] = "queued",       [TW_DLV_DEAD] = "dead",
    [TW_DLV_ACKNOWLEDGED] = "acknowledged", [TW_DLV_REFUSED] = "refused",
};

const char *tw_deliveries_state_name(tw_dlv_state_t state)
{
    return (unsigned)state < TW_DLV_STATE_MAX ? state_names[state] : "-";
}

/* ---- text made safe to keep and show ------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (shortest form, no surrogates),
 * 0 when there is none. */
static apr_size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80
            || (s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80
            || (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* How the unit at s[0..] is written: *in bytes of input give *out bytes of
 * output (the unit itself, or "\xNN" for a control character or a byte
 * that is not UTF-8; newline and tab kept where multiline). */
static void next_unit(const unsigned char *s, apr_size_t left, int multiline,
                      apr_size_t *in, apr_size_t *out)
{
    unsigned char tmp[4] = { 0, 0, 0, 0 };
    apr_size_t n;

    /* utf8_len looks at up to 4 bytes: near the end, at a copy padded
     * with NULs (which no continuation byte matches) */
    if (left < 4) {
        memcpy(tmp, s, left);
        s = tmp;
    }
    n = utf8_len(s);
    if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)
        && !(multiline && (s[0] == '\n' || s[0] == '\t')))
        n = 0;
    *in = n ? n : 1;
    *out = n ? n : 4;
}

/* 1 when s[0..len) is printable ASCII only: every byte a unit of its own
 * that next_unit writes as itself. */
static int is_plain_ascii(const unsigned char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f)
            return 0;
    return 1;
}

/*
 * Copies len bytes of src into dst (capacity cap, NUL included) as text a
 * page can show: control characters and non-UTF-8 bytes as \xNN, cut to
 * fit with "..." at the end when it does not, or when src is only the
 * start of something longer (more).
 */
static void put_text(char *dst, apr_size_t cap, const char *src, apr_size_t len, int multiline,
                     int more)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    apr_size_t o = 0, i = 0, in, out, need = 0, j;

    if (cap == 0)
        return;
    if (!more && len < cap && is_plain_ascii(s, len)) {
        /* The common case (a method, a path, most header lines): nothing
         * to escape and it fits, so a copy writes what the loop would. */
        memcpy(dst, s, len);
        dst[len] = '\0';
        return;
    }
    for (j = 0; j < len; j += in) {          /* does all of it fit? */
        next_unit(s + j, len - j, multiline, &in, &out);
        need += out;
    }
    if (more)
        need = cap;   /* never fits: always the mark */
    while (i < len || (more && o + 3 <= cap - 1)) {
        if (i == len) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        next_unit(s + i, len - i, multiline, &in, &out);
        if (need > cap - 1 && o + out > cap - 1 - 3) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (out == 4 && in == 1) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[s[i] >> 4];
            dst[o++] = hex[s[i] & 15];
        }
        else {
            memcpy(dst + o, s + i, in);
            o += in;
        }
        i += in;
    }
    dst[o] = '\0';
}

static void put_str(char *dst, apr_size_t cap, const char *src)
{
    apr_size_t i;

    if (src == NULL)
        src = "";
    /* The common case (a method, a path, most header lines) in one pass:
     * printable ASCII that fits, copied as it is checked; anything else
     * is written again by put_text from the start. */
    for (i = 0; i < cap && (unsigned char)src[i] >= 0x20 && (unsigned char)src[i] < 0x7f; i++)
        dst[i] = src[i];
    if (i < cap && src[i] == '\0') {
        dst[i] = '\0';
        return;
    }
    put_text(dst, cap, src, strlen(src), 0, 0);
}

void tw_deliveries_put_text(char *dst, apr_size_t cap, const char *src)
{
    put_str(dst, cap, src);
}

/* 1 when s starts with word (lower case), whatever the case of s. */
static int starts_with_word(const char *s, const char *word)
{
    for (; *word != '\0'; s++, word++)
        if (apr_tolower(*s) != *word)
            return 0;
    return 1;
}

/* A header whose value may let someone sign, authenticate or replay:
 * the location's signature header, and any name that says so (contains
 * signature, token, secret, auth, cookie, key, hmac or password, in any
 * case). One pass over the name: this runs for every header line of
 * every request a row is written for, refusals of a flood included. */
static int header_is_credential(const char *name, const char *signature_header)
{
    const char *c;

    if (signature_header != NULL && strcasecmp(name, signature_header) == 0)
        return 1;
    for (c = name; *c != '\0'; c++) {
        if (c - name >= TW_DLV_HNAME - 1)
            return 1;   /* too long to look at whole: keep it out */
        switch (apr_tolower(*c)) {
        case 's':
            if (starts_with_word(c, "signature") || starts_with_word(c, "secret"))
                return 1;
            break;
        case 't': if (starts_with_word(c, "token"))    return 1; break;
        case 'a': if (starts_with_word(c, "auth"))     return 1; break;
        case 'c': if (starts_with_word(c, "cookie"))   return 1; break;
        case 'k': if (starts_with_word(c, "key"))      return 1; break;
        case 'h': if (starts_with_word(c, "hmac"))     return 1; break;
        case 'p': if (starts_with_word(c, "password")) return 1; break;
        }
    }
    return 0;
}

/* ---- the rings --------------------------------------------------------------- */

/* The ring's label: the ServerName of the (virtual) server and its port. */
static const char *server_label(apr_pool_t *p, const server_rec *s)
{
    apr_port_t port = s->port;

    if (port == 0 && s->addrs != NULL)
        port = s->addrs->host_port;
    return apr_psprintf(p, "%s:%u", s->server_hostname ? s->server_hostname : "",
                        (unsigned)port);
}

static tw_dlv_row_t *row_at(const tw_ring_t *ring, apr_uint32_t serial)
{
    return &ring->rows[(serial - 1) % ring->capacity];
}

/* Takes a row for writing (even -> odd). */
static void row_acquire(tw_dlv_row_t *row)
{
    int i;

    for (i = 0; i < TW_DLV_SPINS; i++) {
        apr_uint32_t s = apr_atomic_read32(&row->seq);

        if (!(s & 1) && apr_atomic_cas32(&row->seq, s + 1, s) == s)
            return;
        apr_sleep(TW_DLV_WAIT);
    }
    /* Held for far longer than any copy takes: its writer died in it. */
    apr_atomic_set32(&row->seq, apr_atomic_read32(&row->seq) | 1);
}

/* row_acquire without the wait: 0 when another writer is in it. */
static int row_try_acquire(tw_dlv_row_t *row)
{
    apr_uint32_t s = apr_atomic_read32(&row->seq);

    return !(s & 1) && apr_atomic_cas32(&row->seq, s + 1, s) == s;
}

static void row_release(tw_dlv_row_t *row)
{
    apr_atomic_inc32(&row->seq);   /* odd -> even */
}

/* A consistent copy of a written row into out; 0 when there is none (never
 * written, or a writer kept it busy for every try). */
static int row_read(tw_dlv_row_t *row, tw_dlv_row_t *out)
{
    int i;

    for (i = 0; i < TW_DLV_READ_TRIES; i++) {
        /* The atomic adds of 0 are full barriers around the copy. */
        apr_uint32_t before = apr_atomic_add32(&row->seq, 0);

        if (before & 1) {
            apr_sleep(TW_DLV_WAIT / 10);
            continue;
        }
        memcpy(out, row, sizeof(*out));
        if (apr_atomic_add32(&row->seq, 0) == before)
            return out->serial != 0;
    }
    return 0;
}

static tw_ring_t *ring_create(apr_pool_t *process_pool, apr_uint32_t capacity)
{
    tw_ring_t *ring = apr_pcalloc(process_pool, sizeof(*ring));
    apr_size_t size = sizeof(tw_ring_head_t) + sizeof(tw_dlv_row_t) * (apr_size_t)capacity;
    char *base;

    if (apr_shm_create(&ring->shm, size, NULL, process_pool) != APR_SUCCESS)
        return NULL;
    base = apr_shm_baseaddr_get(ring->shm);
    memset(base, 0, size);
    ring->head = (tw_ring_head_t *)base;
    /* rows after the head, aligned as the head's size keeps them (8) */
    ring->rows = (tw_dlv_row_t *)(base + sizeof(tw_ring_head_t));
    ring->head->capacity = capacity;
    ring->capacity = capacity;
    return ring;
}

/* A new ring with the newest rows of old (a restart changed the count). */
static tw_ring_t *ring_resize(apr_pool_t *process_pool, tw_ring_t *old, apr_uint32_t capacity)
{
    tw_ring_t *ring = ring_create(process_pool, capacity);
    apr_uint32_t next, serial, first;

    if (ring == NULL)
        return NULL;
    next = apr_atomic_read32(&old->head->next);
    first = next > capacity ? next - capacity + 1 : 1;
    for (serial = first; serial != 0 && serial <= next; serial++) {
        tw_dlv_row_t *from = row_at(old, serial);

        if (from->serial == serial) {
            memcpy(row_at(ring, serial), from, sizeof(tw_dlv_row_t));
            row_at(ring, serial)->seq = 0;
        }
    }
    apr_atomic_set32(&ring->head->next, next);
    /* The old generation's children keep their own mapping of it. */
    apr_shm_destroy(old->shm);
    return ring;
}

/* The ring for this label with this many rows: the earlier generation's
 * when it has the same size, else a new one. NULL when none can be had. */
static tw_ring_t *ring_for_label(apr_pool_t *process_pool, apr_hash_t *rings,
                                 const char *label, apr_uint32_t capacity)
{
    tw_ring_t *ring = apr_hash_get(rings, label, APR_HASH_KEY_STRING);

    if (ring != NULL && ring->capacity == capacity)
        return ring;
    ring = ring != NULL ? ring_resize(process_pool, ring, capacity)
                        : ring_create(process_pool, capacity);
    if (ring != NULL)
        apr_hash_set(rings, apr_pstrdup(process_pool, label), APR_HASH_KEY_STRING, ring);
    return ring;
}

static void note_ring(apr_array_header_t *rings, tw_ring_t *ring)
{
    int i;

    for (i = 0; i < rings->nelts; i++)
        if (APR_ARRAY_IDX(rings, i, tw_ring_t *) == ring)
            return;
    APR_ARRAY_PUSH(rings, tw_ring_t *) = ring;
}

static tw_ring_t *ring_of(const server_rec *s)
{
    return ring_of_server != NULL ? apr_hash_get(ring_of_server, &s, sizeof(s)) : NULL;
}

int tw_deliveries_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    unsigned char random[TW_DLV_NONCE_BYTES];
    apr_hash_t *rings = NULL;
    const char *kept_key;
    server_rec *vs;
    apr_status_t rv;

    ring_of_server = NULL;
    all_rings = NULL;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;   /* the dry run before the real start */
    /* A new nonce per start: a form from before a restart is refused. */
    if ((rv = apr_generate_random_bytes(random, sizeof(random))) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, s,
                     "TWW0850: no random bytes for the deliveries page's nonce");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_bin2hex(random, sizeof(random), action_nonce);

    kept_key = tw_kept_key(ptemp, TW_DLV_KEY, sizeof(tw_dlv_row_t) * 256 + sizeof(tw_ring_t));
    apr_pool_userdata_get((void **)&rings, kept_key, process_pool);
    if (rings == NULL) {
        rings = apr_hash_make(process_pool);
        apr_pool_userdata_set(rings, kept_key, apr_pool_cleanup_null, process_pool);
    }
    ring_of_server = apr_hash_make(pconf);
    all_rings = apr_array_make(pconf, 4, sizeof(tw_ring_t *));
    for (vs = s; vs != NULL; vs = vs->next) {
        server_rec **key = apr_pmemdup(pconf, &vs, sizeof(vs));
        int rows = tw_conf_deliveries_log(vs);
        tw_ring_t *ring;

        if (rows == 0)
            continue;
        ring = ring_for_label(process_pool, rings, server_label(ptemp, vs), (apr_uint32_t)rows);
        if (ring == NULL) {
            /* The page is a convenience: run without it rather than not at all. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs,
                         "TWW0851: cannot create %d rows of shared memory for the recent "
                         "deliveries (TwWebhookDeliveriesLog); the deliveries page of %s "
                         "will show none", rows, server_label(ptemp, vs));
            continue;
        }
        apr_hash_set(ring_of_server, key, sizeof(*key), ring);
        note_ring(all_rings, ring);
    }
    return OK;
}

/* ---- writing a row ------------------------------------------------------------- */

static tw_dlv_state_t state_of_outcome(tw_outcome_t outcome)
{
    switch (outcome) {
    case TW_OUTCOME_VERIFIED:   return TW_DLV_PENDING;
    case TW_OUTCOME_DUPLICATE:
    case TW_OUTCOME_IGNORED:    return TW_DLV_ACKNOWLEDGED;
    case TW_OUTCOME_HELD:       return TW_DLV_HELD;
    case TW_OUTCOME_QUEUED:     return TW_DLV_QUEUED;
    case TW_OUTCOME_DEAD:       return TW_DLV_DEAD;
    default:                    return TW_DLV_REFUSED;
    }
}

static int outcome_is_rejection(tw_outcome_t outcome)
{
    return outcome >= TW_OUTCOME_REJECTED_400 && outcome < TW_OUTCOME_MAX;
}

static tw_dlv_handle_t *handle_of(request_rec *r)
{
    return tw_shared_get(r, TW_SHARED_ROW);
}

/* The request the client sent, before internal redirects. */
static request_rec *first_request(request_rec *r)
{
    r = tw_top_request(r);
    while (r->prev != NULL)
        r = r->prev;
    return r;
}

static apr_status_t read_spool(tw_spool_t *body, apr_off_t offset, char *buf, apr_size_t cap,
                               apr_size_t *got)
{
    apr_size_t n = 0;
    apr_status_t rv = APR_SUCCESS;

    *got = 0;
    while (*got < cap && (rv = tw_spool_read_at(body, offset + (apr_off_t)*got, buf + *got,
                                                cap - *got, &n)) == APR_SUCCESS && n > 0)
        *got += n;
    return rv;
}

/* The SHA-256 of the stored body, in hex; 0 when it cannot be read. */
static int body_sha256(tw_spool_t *body, char hex[TW_DIGEST_LEN * 2 + 1], apr_pool_t *p)
{
    unsigned char digest[TW_DIGEST_LEN];
    apr_off_t length = tw_spool_length(body);
    /* no bigger than the body: 64 KiB on the request pool would cost a
     * fresh pool block for every small delivery */
    apr_size_t cap = length > 0 && length < 64 * 1024 ? (apr_size_t)length : 64 * 1024;
    char *buf = apr_palloc(p, cap);
    tw_digest_t *d = NULL;
    apr_off_t offset = 0;
    apr_size_t got;
    int ok = tw_digest_create(&d) == TW_OK;

    while (ok && read_spool(body, offset, buf, cap, &got) == APR_SUCCESS && got > 0) {
        ok = tw_digest_update(d, buf, got) == TW_OK;
        offset += (apr_off_t)got;
    }
    ok = ok && offset == length && tw_digest_finish(d, digest) == TW_OK;
    tw_digest_destroy(d);
    if (ok)
        ap_bin2hex(digest, sizeof(digest), hex);
    return ok;
}

static void fill_headers(tw_dlv_row_t *row, request_rec *q, const char *signature_header)
{
    const apr_array_header_t *arr = apr_table_elts(q->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        tw_dlv_header_t *h;

        if (e[i].key == NULL)
            continue;
        if (row->nheaders >= TW_DLV_HEADERS) {
            row->headers_left_out++;
            continue;
        }
        h = &row->headers[row->nheaders++];
        memset(h, 0, sizeof(*h));   /* whole, as it is copied whole: no stale pool bytes */
        put_str(h->name, sizeof(h->name), e[i].key);
        if (header_is_credential(e[i].key, signature_header))
            apr_snprintf(h->value, sizeof(h->value), "[redacted: %" APR_SIZE_T_FMT " bytes]",
                         e[i].val ? strlen(e[i].val) : 0);
        else
            put_str(h->value, sizeof(h->value), e[i].val);
    }
}

/* The row's location: the scope whose secret applies, else the server's. */
static const char *location_of(const tw_dir_conf_t *dc)
{
    const char *scope = tw_conf_scope_name(dc);

    return *scope ? scope : TW_DLV_SERVER_SCOPE;
}

/*
 * What a row says of the request's verdict and request line, looked up
 * once: a refusal is compared with the newest row by these (count_repeat,
 * "Refusals in a row") and a new row is written from them (fill_row).
 * event and delivery are the verdict's, else the headers'.
 */
typedef struct {
    tw_outcome_t outcome;
    int status;
    const char *tag, *reason;
    const char *delivery, *path, *client, *method, *location, *event;
} tw_verdict_t;

static void describe_verdict(tw_verdict_t *v, request_rec *r, tw_outcome_t outcome, int status,
                             const char *tag, const char *reason, const char *event,
                             const char *delivery)
{
    const tw_dir_conf_t *dc = tw_conf_of(r);
    request_rec *q = first_request(r);

    v->outcome = outcome;
    v->status = status;
    v->tag = tag;
    v->reason = reason;
    v->delivery = delivery ? delivery : tw_header_in(q, tw_conf_delivery_header(dc));
    v->path = q->unparsed_uri;
    v->client = r->useragent_ip;
    v->method = q->method;
    v->location = location_of(dc);
    v->event = event ? event : tw_header_in(q, tw_conf_event_header(dc));
}

/* Everything a new row says, built outside the row's lock. */
static void fill_row(tw_dlv_row_t *row, request_rec *r, const tw_verdict_t *v)
{
    const tw_dir_conf_t *dc = tw_conf_of(r);
    request_rec *q = first_request(r);
    tw_txn_t *txn = tw_txn_get(r);
    const tw_profile_t *profile = tw_conf_has_secret(dc) ? tw_conf_profile(dc) : NULL;
    int verified = txn != NULL && txn->state == TW_TXN_VERIFIED && txn->body != NULL
                   && !outcome_is_rejection(v->outcome);

    /* Only the fixed fields: the header lines and the body are written
     * as far as they are used (nheaders, body_len say how far), which
     * spares clearing and copying most of the row's 8 KiB (issue 22). */
    memset(row, 0, offsetof(tw_dlv_row_t, headers));
    row->body[0] = '\0';
    row->time = row->last_time = q->request_time;
    row->count = 1;
    row->took = -1;
    row->outcome = v->outcome;
    row->state = state_of_outcome(v->outcome);
    row->status = v->status;
    row->body_size = txn != NULL && txn->body != NULL ? tw_spool_length(txn->body) : -1;
    row->body_len = -1;
    put_str(row->tag, sizeof(row->tag), v->tag);
    put_str(row->reason, sizeof(row->reason), v->reason);
    put_str(row->method, sizeof(row->method), v->method);
    put_str(row->client, sizeof(row->client), v->client);
    put_str(row->profile, sizeof(row->profile), profile ? profile->name : "");
    put_str(row->location, sizeof(row->location), v->location);
    put_str(row->event, sizeof(row->event), v->event);
    put_str(row->delivery, sizeof(row->delivery), v->delivery);
    put_str(row->path, sizeof(row->path), v->path);
    fill_headers(row, q, tw_conf_signature_header(dc));
    if (!verified)
        return;   /* never a digest or a body of what was not verified */
    if (txn->has_digest && txn->signed_prefix_len == 0)
        /* a replay cache or inbox had the verifier compute the message
         * digest in its pass: with nothing signed before the body, that
         * is the body's own SHA-256, and no second pass is needed. (Not
         * asked for here: it would cost every forgery a hash pass.) */
        ap_bin2hex(txn->digest, sizeof(txn->digest), row->sha256);
    else if (!tw_conf_deliveries_show_body(dc))
        /* A second pass over the body only for a page nobody may open
         * costs a small delivery as much as its HMAC (issue 22): only
         * where the page is to show bodies (the body is read back for
         * the row then anyway). Said on the page, not computed. */
        put_str(row->sha256, sizeof(row->sha256), TW_DLV_SHA256_UNASKED);
    else if (tw_spool_on_disk(txn->body))
        /* A body over TwWebhookSpoolMemoryLimit: a second pass would double
         * the cost of verifying it (the HMAC is the same work). */
        put_str(row->sha256, sizeof(row->sha256), TW_DLV_SHA256_SPOOLED);
    else if (!body_sha256(txn->body, row->sha256, r->pool))
        row->sha256[0] = '\0';
    if (tw_conf_deliveries_show_body(dc)) {
        char *buf = apr_palloc(r->pool, TW_DLV_BODY);
        apr_size_t got = 0;

        if (read_spool(txn->body, 0, buf, TW_DLV_BODY, &got) == APR_SUCCESS) {
            put_text(row->body, sizeof(row->body), buf, got, 1,
                     (apr_off_t)got < tw_spool_length(txn->body));
            row->body_len = (apr_int32_t)strlen(row->body);
        }
    }
}

/* Copies what fill_row wrote into the shared row: the fixed fields, the
 * header lines kept and the body's text when kept, not the whole 8 KiB
 * (the rest of from was never written; the page reads no further than
 * nheaders and body_len). */
static void row_copy(tw_dlv_row_t *to, const tw_dlv_row_t *from)
{
    memcpy(to, from, offsetof(tw_dlv_row_t, headers));
    memcpy(to->headers, from->headers, (apr_size_t)from->nheaders * sizeof(tw_dlv_header_t));
    if (from->body_len >= 0)
        memcpy(to->body, from->body, (apr_size_t)from->body_len + 1);
    else
        to->body[0] = '\0';   /* never an older delivery's body */
}

/* 1 when the stored text is s as put_str keeps it (s printable ASCII
 * that fits; anything else never compares equal: a new row then). */
static int same_text(const char *stored, const char *s)
{
    return strcmp(stored, s != NULL ? s : "") == 0;
}

/* 1 when row holds a refusal identical to f; the row is read as it is,
 * and read again under its lock. */
static int same_refusal(const tw_dlv_row_t *row, const tw_verdict_t *f)
{
    /* What tells refusals apart most often first: a flood that varies
     * its requests pays as little as it can before its row is written. */
    return row->outcome == (apr_int32_t)f->outcome && row->status == f->status
           && row->state == TW_DLV_REFUSED && row->count < APR_UINT32_MAX
           && same_text(row->delivery, f->delivery) && same_text(row->path, f->path)
           && same_text(row->client, f->client)
           && same_text(row->tag, f->tag) && same_text(row->reason, f->reason)
           && same_text(row->method, f->method) && same_text(row->location, f->location)
           && same_text(row->event, f->event);
}

/* Counts the refusal in the ring's newest row when that row holds the
 * same one; 0 when a row of its own is to be written. Never waits: a
 * row another writer is in gets a new row instead. */
static int count_repeat(tw_ring_t *ring, request_rec *r, const tw_verdict_t *v)
{
    apr_uint32_t serial = apr_atomic_read32(&ring->head->next);
    tw_dlv_row_t *row;
    int counted;

    if (serial == 0)
        return 0;
    row = row_at(ring, serial);
    if (row->serial != serial || !same_refusal(row, v) || !row_try_acquire(row))
        return 0;
    counted = row->serial == serial && apr_atomic_read32(&ring->head->next) == serial
              && same_refusal(row, v);
    if (counted) {
        row->count++;
        row->last_time = first_request(r)->request_time;
    }
    row_release(row);
    return counted;
}

void tw_deliveries_record(request_rec *r, tw_outcome_t outcome, int status, const char *tag,
                          const char *reason, const char *event, const char *delivery)
{
    tw_ring_t *ring = ring_of(r->server);
    tw_dlv_handle_t *h;
    tw_dlv_row_t *row;

    if (ring == NULL)
        return;
    h = handle_of(r);
    if (h == NULL) {
        /* On the stack, not the request pool: 8 KiB there would take a
         * new pool block for every request (fill_row writes, and
         * row_copy copies, only the part a row uses). */
        tw_dlv_row_t fresh_row, *fresh = &fresh_row;
        tw_verdict_t v;

        describe_verdict(&v, r, outcome, status, tag, reason, event, delivery);
        /* Only a refusal the transaction began with (event and delivery
         * as the headers say): a later verdict rewrites its own row,
         * below. */
        if (outcome_is_rejection(outcome) && event == NULL && delivery == NULL
            && count_repeat(ring, r, &v))
            return;

        h = apr_pcalloc(tw_top_request(r)->pool, sizeof(*h));
        h->ring = ring;
        h->serial = apr_atomic_inc32(&ring->head->next) + 1;
        if (h->serial == 0)   /* wrapped after 2^32 rows: 0 means empty */
            h->serial = apr_atomic_inc32(&ring->head->next) + 1;
        tw_shared_set(r, TW_SHARED_ROW, h);
        fill_row(fresh, r, &v);
        fresh->serial = h->serial;
        row = row_at(ring, h->serial);
        row_acquire(row);
        /* A writer that took its serial a whole ring later got here
         * first (this one was very slow): its row is the newer. */
        if (row->serial == 0 || (apr_int32_t)(h->serial - row->serial) > 0) {
            fresh->seq = row->seq;   /* odd: ours */
            row_copy(row, fresh);
        }
        row_release(row);
        return;
    }
    /* A later verdict on the same transaction (a refusal after it was
     * verified): the row says the last one, and forgets the body. */
    row = row_at(h->ring, h->serial);
    row_acquire(row);
    if (row->serial == h->serial) {
        row->outcome = outcome;
        row->state = state_of_outcome(outcome);
        row->status = status;
        put_str(row->tag, sizeof(row->tag), tag);
        put_str(row->reason, sizeof(row->reason), reason);
        if (outcome_is_rejection(outcome)) {
            row->sha256[0] = '\0';
            row->body[0] = '\0';
            row->body_len = -1;
        }
    }
    row_release(row);
}

void tw_deliveries_entry(request_rec *r, const char *entry_id)
{
    tw_dlv_handle_t *h = handle_of(r);
    tw_dlv_row_t *row;

    if (h == NULL || entry_id == NULL)
        return;
    row = row_at(h->ring, h->serial);
    row_acquire(row);
    if (row->serial == h->serial)
        apr_cpystrn(row->entry, entry_id, sizeof(row->entry));
    row_release(row);
}

/* ---- rows that follow their inbox entry ----------------------------------------- */

/* What a row of an entry becomes (the row is held by its writer). */
typedef struct {
    tw_dlv_state_t state;
    unsigned int attempts;
    int app_status;
    apr_interval_time_t took;
    apr_time_t next_try;
    const char *reason;
    int dispatched;             /* 0: a person's requeue, nothing ran */
} tw_dlv_follow_t;

static void follow_row(tw_dlv_row_t *row, const tw_dlv_follow_t *f)
{
    row->state = f->state;
    row->next_try = f->state == TW_DLV_QUEUED ? f->next_try : 0;
    row->tag[0] = '\0';
    put_str(row->reason, sizeof(row->reason), f->reason);
    if (!f->dispatched)
        return;
    row->attempts = (apr_int32_t)f->attempts;
    row->app_status = f->app_status;
    row->dispatched_at = apr_time_now();
    row->dispatch_took = f->took;
}

/*
 * The newest row of ring recorded for entry_id, updated as f says. The
 * entry id is looked at without the row's lock (a hint: a row being
 * written may read torn) and checked again under it.
 */
static int follow_in_ring(tw_ring_t *ring, const char *entry_id, const tw_dlv_follow_t *f)
{
    apr_uint32_t next = apr_atomic_read32(&ring->head->next), n, serial;
    apr_size_t len = strlen(entry_id);

    for (n = 0, serial = next; n < ring->capacity && serial > 0; n++, serial--) {
        tw_dlv_row_t *row = row_at(ring, serial);
        int found = 0;

        if (row->serial != serial || memcmp(row->entry, entry_id, len + 1) != 0)
            continue;
        row_acquire(row);
        if (row->serial == serial && strcmp(row->entry, entry_id) == 0) {
            follow_row(row, f);
            found = 1;
        }
        row_release(row);
        if (found)
            return 1;
    }
    return 0;
}

/* The entry's row in whichever ring keeps it (an entry came in on one
 * server). all_rings is read only after post_config: no lock. */
static void follow_entry(const char *entry_id, const tw_dlv_follow_t *f)
{
    int i;

    if (all_rings == NULL || entry_id == NULL || strlen(entry_id) != TW_INBOX_ID_LEN)
        return;
    for (i = 0; i < all_rings->nelts; i++)
        if (follow_in_ring(APR_ARRAY_IDX(all_rings, i, tw_ring_t *), entry_id, f))
            return;
}

void tw_deliveries_dispatched(const char *entry_id, tw_dlv_state_t state, unsigned int attempts,
                              int app_status, apr_interval_time_t took, apr_time_t next_try,
                              const char *reason)
{
    tw_dlv_follow_t f = { .state = state, .attempts = attempts, .app_status = app_status,
                          .took = took, .next_try = next_try, .reason = reason,
                          .dispatched = 1 };

    follow_entry(entry_id, &f);
}

void tw_deliveries_requeued(const char *entry_id, const char *reason)
{
    tw_dlv_follow_t f = { .state = TW_DLV_QUEUED, .next_try = apr_time_now(),
                          .reason = reason };

    follow_entry(entry_id, &f);
}

/* After the response: what the sender got, what the app answered, how
 * long it all took, and so the state. */
static int hook_log_transaction(request_rec *r)
{
    tw_dlv_handle_t *h;
    tw_dlv_row_t *row;
    request_rec *last = r;
    int held, app;

    if (r->main != NULL || (h = handle_of(r)) == NULL)
        return DECLINED;
    while (last->next != NULL)
        last = last->next;
    held = tw_inbox_held(r);
    app = held ? tw_inbox_app_status(r) : last->status;
    row = row_at(h->ring, h->serial);
    row_acquire(row);
    if (row->serial == h->serial) {
        row->took = apr_time_now() - r->request_time;
        if (row->status == 0)   /* a refusal keeps the status it was refused with */
            row->status = last->status;
        if (row->state == TW_DLV_PENDING) {
            row->app_status = app;
            if (held) {
                row->outcome = TW_OUTCOME_HELD;
                row->state = TW_DLV_HELD;
                row->tag[0] = '\0';
                put_str(row->reason, sizeof(row->reason),
                        apr_psprintf(r->pool, "the app answered %d: answered 200 and held "
                                     "for redelivery (TWW0206)", app));
            }
            else if (app > 0 && app < 400) {
                row->state = TW_DLV_DELIVERED;
            }
            else {
                row->state = TW_DLV_FAILED;
                put_str(row->reason, sizeof(row->reason),
                        apr_psprintf(r->pool, "verified; the app answered %d: the sender "
                                     "sees the failure%s", app,
                                     tw_inbox_configured(tw_conf_of(r))
                                     ? ", the inbox keeps the entry" : ""));
            }
        }
    }
    row_release(row);
    return DECLINED;
}

/* ---- reading the ring --------------------------------------------------------- */

/* Every row of the ring, newest first, as consistent copies. */
static apr_array_header_t *read_rows(apr_pool_t *p, tw_ring_t *ring)
{
    apr_uint32_t next = apr_atomic_read32(&ring->head->next), n, serial;
    apr_array_header_t *rows = apr_array_make(p, 16, sizeof(tw_dlv_row_t *));

    for (n = 0, serial = next; n < ring->capacity && serial > 0; n++, serial--) {
        tw_dlv_row_t *copy = apr_palloc(p, sizeof(*copy));

        if (row_read(row_at(ring, serial), copy) && copy->serial == serial)
            APR_ARRAY_PUSH(rows, tw_dlv_row_t *) = copy;
    }
    return rows;
}

int tw_deliveries_summary(const server_rec *s, tw_deliveries_summary_t *sum)
{
    tw_ring_t *ring = ring_of(s);
    apr_uint32_t i;

    memset(sum, 0, sizeof(*sum));
    if (ring == NULL)
        return 0;
    sum->capacity = (int)ring->capacity;
    for (i = 0; i < ring->capacity; i++) {
        tw_dlv_row_t *row = &ring->rows[i];
        int tries;

        /* the state only, under the same rule as a whole copy */
        for (tries = 0; tries < TW_DLV_READ_TRIES; tries++) {
            apr_uint32_t before = apr_atomic_add32(&row->seq, 0);
            apr_uint32_t serial = row->serial;
            apr_int32_t state = row->state;

            if (!(before & 1) && apr_atomic_add32(&row->seq, 0) == before) {
                if (serial != 0 && (unsigned)state < TW_DLV_STATE_MAX) {
                    sum->kept++;
                    sum->by_state[state]++;
                }
                break;
            }
        }
    }
    return 1;
}

apr_array_header_t *tw_deliveries_rows(const server_rec *s, apr_pool_t *p)
{
    tw_ring_t *ring = ring_of(s);

    return ring != NULL ? read_rows(p, ring) : NULL;
}

const char *tw_deliveries_nonce(void)
{
    return action_nonce;
}

void tw_deliveries_register_hooks(void)
{
    ap_hook_log_transaction(hook_log_transaction, NULL, NULL, APR_HOOK_MIDDLE);
    tw_deliveries_page_register_hooks();
}
