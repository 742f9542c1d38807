/*
 * SPDX-License-Identifier: Apache-2.0
 * twwebhook-inbox - look after the deliveries TwWebhookInbox holds.
 *
 *   twwebhook-inbox list <store> [--state S[,S...]]
 *   twwebhook-inbox show <store> <id> [--body]
 *   twwebhook-inbox redeliver <store> [--url URL] [--timeout SECONDS]
 *                   [--connect-timeout SECONDS] [--cacert FILE] (<id>...|--all)
 *   twwebhook-inbox requeue <store> (<id>...|--all [--state S[,S...]])
 *   twwebhook-inbox drop <store> <id>...
 *
 * <store> is what TwWebhookInbox names: a directory or redis:host:port[/db].
 * The entries are read and changed through the core's store (tw/store.h),
 * as the module keeps them, so it is safe to run while httpd runs, from
 * cron or a systemd timer. Only requeue rewrites an entry (its state, for
 * the module's dispatcher); a redelivery goes through the module like any
 * delivery (verified again, counted in the entry by the module), and an
 * entry is removed here only once the answer was 2xx. The HTTP client is
 * libcurl (HTTP/1.1, http:// and https://, TLS verified, no redirect
 * followed, no proxy, two deadlines: see target_t); the module itself
 * never links libcurl. The entry's headers carry the sender's signature:
 * they go on the wire and nowhere else (never in a message, and libcurl's
 * verbose mode stays off).
 * Exit status: 0 done, 1 something failed, 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "twwebhook.h"

#define EXIT_USAGE        2
#define DEFAULT_HOST            "127.0.0.1"
#define DEFAULT_BASE            "http://" DEFAULT_HOST
#define DEFAULT_CONNECT_TIMEOUT 10L     /* seconds */
#define DEFAULT_TIMEOUT         30L     /* seconds, a whole request */
#define COPY_CHUNK              65536
#define STORE_TIMEOUT           apr_time_from_sec(5)   /* each call on a Redis store */

static const char *progname = "twwebhook-inbox";

#define STATE_BIT(s)   (1u << (s))
#define ALL_STATES     (STATE_BIT(TW_STATE_DIRECT) | STATE_BIT(TW_STATE_HELD) \
                        | STATE_BIT(TW_STATE_QUEUED) | STATE_BIT(TW_STATE_DEAD))
#define PERSON_STATES  (ALL_STATES & ~STATE_BIT(TW_STATE_QUEUED))   /* a person's to act on */

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: %s list <store> [--state S[,S...]]\n"
        "       %s show <store> <id> [--body]\n"
        "       %s redeliver <store> [--url URL] [--timeout SECONDS] [--connect-timeout SECONDS]\n"
        "                 [--cacert FILE] (<id>...|--all)\n"
        "       %s requeue <store> (<id>...|--all [--state S[,S...]])\n"
        "       %s drop <store> <id>...\n"
        "\n"
        "Looks after the verified deliveries mod_twwebhook keeps in a TwWebhookInbox\n"
        "until the app has answered them with 2xx. <store> is what TwWebhookInbox\n"
        "names: a directory or redis:host:port[/db].\n"
        "\n"
        "  list       one line per entry, oldest first: id, received (UTC), event,\n"
        "             delivery, body bytes, attempts, state (direct, held, queued,\n"
        "             dead), last status (- for none); --state lists only those\n"
        "  show       the entry's metadata; --body writes the raw body to stdout\n"
        "  redeliver  POSTs each entry again with its original headers to URL\n"
        "             (default http://127.0.0.1 followed by the path it came in on;\n"
        "             a URL without a path keeps the original path), so the module\n"
        "             verifies it like any delivery; removes it on a 2xx answer.\n"
        "             --all: every entry but the queued ones (the dispatcher's).\n"
        "             http:// or https:// (certificate checked against the system's\n"
        "             CAs, or --cacert FILE); redirects are not followed (a 3xx\n"
        "             keeps the entry); no proxy, whatever the environment says.\n"
        "             --timeout: the whole request (default 30 s); --connect-timeout:\n"
        "             the connection (default 10 s). Exit status 1 if any failed.\n"
        "  requeue    makes entries queued, for the dispatcher in httpd to deliver;\n"
        "             --all: the held and dead ones, or those in the --state given\n"
        "  drop       removes entries without delivering them\n"
        "\n"
        "Safe to run while httpd runs (from cron or a systemd timer). Exit status:\n"
        "0 done, 1 failure, 2 usage.\n", progname, progname, progname, progname, progname);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", progname, what, detail ? ": " : "", detail ? detail : "");
}

static const char *errstr(apr_status_t rv)
{
    static char buf[256];

    return tw_store_strerror(rv, buf, sizeof(buf));
}

/* The store spec names: a directory relative to the working directory is
 * made absolute (as earlier versions took it); NULL when it names none. */
static tw_store_t *open_store(const char *spec, apr_pool_t *pool)
{
    tw_store_t *store = NULL;
    char *abs = NULL;
    const char *why;
    apr_status_t rv;

    if (!tw_store_spec_is_redis(spec) && spec[0] != '/') {
        if (*spec == '\0'
            || apr_filepath_merge(&abs, NULL, spec, APR_FILEPATH_NOTRELATIVE, pool) != APR_SUCCESS) {
            fail("not a directory or redis:host:port[/db]", spec);
            return NULL;
        }
        spec = abs;
    }
    if ((why = tw_store_check_spec(spec, pool)) != NULL) {
        fail(apr_psprintf(pool, "%s", spec), why);
        return NULL;
    }
    if ((rv = tw_store_open(spec, STORE_TIMEOUT, &store, pool)) != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot open %s", spec), errstr(rv));
        return NULL;
    }
    return store;
}

/* "held,dead" into a tw_store_list mask; 0 with a message when a name is
 * not a state (or not one of allowed). */
static unsigned int parse_states(const char *arg, unsigned int allowed, apr_pool_t *pool)
{
    char *copy = apr_pstrdup(pool, arg), *name, *last;
    unsigned int mask = 0;
    int state;

    for (name = apr_strtok(copy, ",", &last); name != NULL; name = apr_strtok(NULL, ",", &last)) {
        if ((state = tw_state_parse(name)) < 0 || (allowed & (1u << state)) == 0) {
            fail("--state wants a comma-separated list of", allowed == ALL_STATES
                 ? "direct, held, queued, dead" : "direct, held, dead");
            return 0;
        }
        mask |= 1u << state;
    }
    if (mask == 0)
        fail("--state wants at least one state", NULL);
    return mask;
}

/* The value of the first stored header named name, or one ending in
 * "-" name (X-GitHub-Event), or NULL. */
static const char *header_like(const tw_inbox_entry_t *e, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < e->nheaders; i++)
        if (strcasecmp(e->headers[i].name, name) == 0)
            return e->headers[i].value;
    for (i = 0; i < e->nheaders; i++) {
        size_t len = strlen(e->headers[i].name);
        if (len > n + 1 && e->headers[i].name[len - n - 1] == '-'
            && strcasecmp(e->headers[i].name + len - n, name) == 0)
            return e->headers[i].value;
    }
    return NULL;
}

static const char *iso_time(apr_time_t t, char *buf, size_t cap)
{
    time_t secs = (time_t)apr_time_sec(t);
    struct tm tm;

    if (gmtime_r(&secs, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        apr_cpystrn(buf, "-", cap);
    return buf;
}

/* list <store> [--state S[,S...]] */
static int cmd_list(const char *spec, int argc, char **argv, apr_pool_t *pool)
{
    apr_array_header_t *entries = NULL;
    unsigned int bad = 0, states = 0;
    tw_store_t *store;
    apr_status_t rv;
    char when[32], status[16];
    int i;

    if (argc == 2 && strcmp(argv[0], "--state") == 0) {
        if ((states = parse_states(argv[1], ALL_STATES, pool)) == 0)
            return EXIT_USAGE;
    }
    else if (argc != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((store = open_store(spec, pool)) == NULL)
        return 1;
    if ((rv = tw_store_list(store, states, &entries, &bad, pool)) != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot list %s", tw_store_name(store)), errstr(rv));
        return 1;
    }
    for (i = 0; i < entries->nelts; i++) {
        const tw_stored_t *s = APR_ARRAY_IDX(entries, i, tw_stored_t *);
        const tw_inbox_entry_t *e = &s->e;
        const char *event = header_like(e, "Event"), *delivery = header_like(e, "Delivery");

        if (e->last_status > 0)
            snprintf(status, sizeof(status), "%d", e->last_status);
        else
            apr_cpystrn(status, "-", sizeof(status));
        printf("%s %s %s %s %" APR_OFF_T_FMT " %u %s %s\n", e->id,
               iso_time(e->received, when, sizeof(when)), event ? event : "-",
               delivery ? delivery : "-", e->body_length, e->attempts,
               tw_state_name(s->state), status);
    }
    if (bad > 0)
        fprintf(stderr, "%s: %u item(s) in %s are not inbox entries (not listed)\n",
                progname, bad, tw_store_name(store));
    return 0;
}

/* Copies the body of an entry opened by tw_store_open_body to out. */
static int copy_body(tw_inbox_read_fn rd, void *ctx, FILE *out, apr_off_t len)
{
    char buf[COPY_CHUNK];
    apr_off_t done = 0;

    while (done < len) {
        apr_size_t want = len - done < (apr_off_t)sizeof(buf) ? (apr_size_t)(len - done)
                                                              : sizeof(buf);
        apr_size_t got = 0;

        if (rd(ctx, done, buf, want, &got) != APR_SUCCESS || got == 0
            || fwrite(buf, 1, got, out) != got)
            return 0;
        done += (apr_off_t)got;
    }
    return fflush(out) == 0;
}

static int cmd_show(const char *spec, const char *id, int body, apr_pool_t *pool)
{
    tw_store_t *store = open_store(spec, pool);
    tw_stored_t *s = NULL;
    tw_inbox_read_fn rd = NULL;
    void *ctx = NULL;
    apr_status_t rv;
    char when[32];
    size_t i;

    if (store == NULL)
        return 1;
    rv = tw_store_open_body(store, id, &s, &rd, &ctx, pool);
    if (rv != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot open entry %s", id), errstr(rv));
        return 1;
    }
    if (body) {
        if (!copy_body(rd, ctx, stdout, s->e.body_length)) {
            fail("cannot write the body", strerror(errno));
            return 1;
        }
        return 0;
    }
    printf("id: %s\n", s->e.id);
    printf("state: %s\n", tw_state_name(s->state));
    printf("received: %s\n", iso_time(s->e.received, when, sizeof(when)));
    printf("updated: %s\n", iso_time(s->e.updated, when, sizeof(when)));
    if (s->next != 0)
        printf("next: %s\n", iso_time(s->next, when, sizeof(when)));
    printf("attempts: %u\n", s->e.attempts);
    printf("last status: %d\n", s->e.last_status);
    if (s->secret_index >= 0)
        printf("secret index: %d\n", s->secret_index);
    if (s->scope != NULL)
        printf("scope: %s\n", s->scope);
    printf("path: %s\n", s->e.path);
    for (i = 0; i < s->e.nheaders; i++)
        printf("header: %s: %s\n", s->e.headers[i].name, s->e.headers[i].value);
    printf("bytes: %" APR_OFF_T_FMT "\n", s->e.body_length);
    return 0;
}

static int cmd_drop(const char *spec, char **ids, int n, apr_pool_t *pool)
{
    tw_store_t *store = open_store(spec, pool);
    int i, failed = 0;

    if (store == NULL)
        return 1;
    for (i = 0; i < n; i++) {
        apr_status_t rv = tw_store_remove(store, ids[i], pool);
        if (rv != APR_SUCCESS) {
            fail(apr_psprintf(pool, "cannot drop %s", ids[i]), errstr(rv));
            failed = 1;
        }
        else
            printf("%s dropped\n", ids[i]);
    }
    return failed;
}

/* The ids of every entry in states (oldest first); NULL when it cannot list. */
static apr_array_header_t *ids_in(tw_store_t *store, unsigned int states, apr_pool_t *pool)
{
    apr_array_header_t *entries = NULL, *ids;
    apr_status_t rv = tw_store_list(store, states, &entries, NULL, pool);
    int i;

    if (rv != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot list %s", tw_store_name(store)), errstr(rv));
        return NULL;
    }
    ids = apr_array_make(pool, entries->nelts > 0 ? entries->nelts : 1, sizeof(const char *));
    for (i = 0; i < entries->nelts; i++)
        APR_ARRAY_PUSH(ids, const char *) = APR_ARRAY_IDX(entries, i, tw_stored_t *)->e.id;
    return ids;
}

/* requeue <store> (<id>...|--all [--state S[,S...]]) */
static int cmd_requeue(const char *spec, int argc, char **argv, apr_pool_t *pool)
{
    apr_array_header_t *ids = apr_array_make(pool, 8, sizeof(const char *));
    unsigned int states = 0;
    tw_store_t *store;
    int i, all = 0, failed = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            if ((states = parse_states(argv[++i], PERSON_STATES, pool)) == 0)
                return EXIT_USAGE;
        }
        else if (argv[i][0] == '-') {
            fail(i + 1 == argc ? "unknown option or missing value" : "unknown option", argv[i]);
            return EXIT_USAGE;
        }
        else
            APR_ARRAY_PUSH(ids, const char *) = argv[i];
    }
    if (all == (ids->nelts > 0) || (states != 0 && !all)) {
        fail("requeue wants entry ids or --all [--state S] (not both)", NULL);
        return EXIT_USAGE;
    }
    if ((store = open_store(spec, pool)) == NULL)
        return 1;
    if (all && (ids = ids_in(store, states != 0 ? states
                                 : STATE_BIT(TW_STATE_HELD) | STATE_BIT(TW_STATE_DEAD),
                             pool)) == NULL)
        return 1;
    for (i = 0; i < ids->nelts; i++) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        apr_status_t rv = tw_store_requeue(store, id, pool);

        if (all && APR_STATUS_IS_ENOENT(rv))
            printf("%s gone (handled meanwhile)\n", id);
        else if (rv != APR_SUCCESS) {
            fail(apr_psprintf(pool, "cannot requeue %s", id), errstr(rv));
            failed = 1;
        }
        else
            printf("%s queued\n", id);
    }
    return failed;
}

/* ---- redelivery: HTTP through libcurl ------------------------------------------ */

/*
 * Where and how redeliver posts. libcurl does the HTTP and the TLS; this
 * tool decides what it may do: HTTP/1.1 only, http:// and https:// only,
 * certificates verified (against --cacert or the system's CAs), no
 * redirect followed (a 3xx is an answer, and not a 2xx), no proxy (the
 * environment's http_proxy and friends are ignored: the target is the
 * server itself, usually on loopback, and a cron job run as root must not
 * send signed deliveries through whatever proxy its environment names),
 * and a deadline for the connection and one for the whole request.
 */
typedef struct {
    const char *base;          /* scheme://authority, no path */
    const char *authority;     /* host[:port] without user:password@, for messages */
    const char *path;          /* NULL: each entry's own */
    const char *cacert;        /* NULL: the system's CAs */
    long connect_timeout;      /* seconds */
    long timeout;              /* seconds, the whole request */
} target_t;

typedef struct {
    CURL *curl;
    const target_t *target;
    char errbuf[CURL_ERROR_SIZE];
} client_t;

/* The request body, read from the store as libcurl asks for it. */
typedef struct {
    tw_inbox_read_fn read;
    void *ctx;
    apr_off_t done;
    apr_off_t left;
    int cut_short;
} body_reader_t;

/* Whether libcurl itself takes url as an absolute http(s) URL with a host. */
static int url_is_usable(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int ok;

    if (u == NULL)
        return 0;
    ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
         && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL && *host != '\0';
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* http[s]://host[:port][/path]; IPv6 literals in brackets. */
static int parse_url(const char *url, target_t *t, apr_pool_t *pool)
{
    const char *authority, *slash;
    size_t len;

    if (strncasecmp(url, "http://", 7) == 0)
        authority = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        authority = url + 8;
    else
        return 0;
    slash = strchr(authority, '/');
    len = slash ? (size_t)(slash - authority) : strlen(authority);
    /* an entry's path is appended to the authority: no query or fragment there */
    if (len == 0 || strcspn(authority, "?#") < len)
        return 0;
    t->authority = apr_pstrmemdup(pool, authority, len);
    if (strrchr(t->authority, '@') != NULL)    /* user:password@: never in a message */
        t->authority = strrchr(t->authority, '@') + 1;
    t->base = apr_pstrmemdup(pool, url, (apr_size_t)(authority + len - url));
    t->path = (slash && slash[1] != '\0') ? slash : NULL;
    if (t->path != NULL && !tw_inbox_path_is_storable(t->path))
        return 0;
    return url_is_usable(apr_pstrcat(pool, t->base, t->path ? t->path : "/", NULL));
}

static size_t read_body(char *buf, size_t size, size_t nitems, void *arg)
{
    body_reader_t *r = arg;
    apr_size_t want = size * nitems, got = 0;

    if (r->left <= 0)
        return 0;
    if ((apr_off_t)want > r->left)
        want = (apr_size_t)r->left;
    if (r->read(r->ctx, r->done, buf, want, &got) != APR_SUCCESS || got == 0) {
        r->cut_short = 1;
        return CURL_READFUNC_ABORT;
    }
    r->done += (apr_off_t)got;
    r->left -= (apr_off_t)got;
    return got;
}

/* Only the status matters: the answer's body goes nowhere (not stdout). */
static size_t discard_response(char *data, size_t size, size_t nmemb, void *arg)
{
    return size * nmemb;
}

/* Headers libcurl sets itself, never taken from the entry. */
static int is_framing_header(const char *name)
{
    return strcasecmp(name, "Host") == 0 || strcasecmp(name, "Content-Length") == 0
           || strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "Connection") == 0
           || strcasecmp(name, "Expect") == 0;
}

static int entry_has_header(const tw_inbox_entry_t *e, const char *name)
{
    size_t i;

    for (i = 0; i < e->nheaders; i++)
        if (strcasecmp(e->headers[i].name, name) == 0)
            return 1;
    return 0;
}

/*
 * The entry's headers as libcurl takes them, and "Name:" (remove) for what
 * libcurl would add on its own and the sender did not send: Accept, a form
 * Content-Type, and Expect: 100-continue (which would make a large body
 * wait for a round trip). The app sees the headers the old client sent.
 * NULL when out of memory.
 */
static struct curl_slist *request_headers(const tw_inbox_entry_t *e, apr_pool_t *pool)
{
    static const char *const curl_adds[] = { "Accept", "Content-Type", "Expect" };
    struct curl_slist *list = NULL, *grown;
    const char *line;
    size_t i;

    for (i = 0; i < e->nheaders + sizeof(curl_adds) / sizeof(curl_adds[0]); i++) {
        if (i < e->nheaders) {
            const char *name = e->headers[i].name, *value = e->headers[i].value;
            if (is_framing_header(name))
                continue;
            /* "Name;" is libcurl's spelling of a header with an empty value */
            line = *value ? apr_pstrcat(pool, name, ": ", value, NULL)
                          : apr_pstrcat(pool, name, ";", NULL);
        }
        else {
            const char *name = curl_adds[i - e->nheaders];
            if (entry_has_header(e, name) && !is_framing_header(name))
                continue;
            line = apr_pstrcat(pool, name, ":", NULL);
        }
        if ((grown = curl_slist_append(list, line)) == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = grown;
    }
    return list;
}

/* The options every redelivery shares; 0 with err set when one is refused. */
static int client_open(client_t *c, const target_t *t, char *err, size_t errcap)
{
    CURLcode rc = CURLE_OK;

#define CLIENT_SET(option, value) \
    do { if (rc == CURLE_OK) rc = curl_easy_setopt(c->curl, option, value); } while (0)

    c->target = t;
    c->errbuf[0] = '\0';
    if ((c->curl = curl_easy_init()) == NULL) {
        snprintf(err, errcap, "cannot start libcurl");
        return 0;
    }
    CLIENT_SET(CURLOPT_ERRORBUFFER, c->errbuf);
    CLIENT_SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500   /* 7.85: CURLOPT_PROTOCOLS deprecated */
    CLIENT_SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    CLIENT_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* HTTP/1.1 as before, also over TLS: curl 7.88 loses the answer of an
     * HTTP/2 stream refused before its body was read (see t/092_h2.t) */
    CLIENT_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    CLIENT_SET(CURLOPT_FOLLOWLOCATION, 0L);
    CLIENT_SET(CURLOPT_PROXY, "");          /* "": no proxy, whatever the environment says */
    CLIENT_SET(CURLOPT_SSL_VERIFYPEER, 1L);
    CLIENT_SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (t->cacert != NULL)
        CLIENT_SET(CURLOPT_CAINFO, t->cacert);
    CLIENT_SET(CURLOPT_CONNECTTIMEOUT, t->connect_timeout);
    CLIENT_SET(CURLOPT_TIMEOUT, t->timeout);
    CLIENT_SET(CURLOPT_POST, 1L);
    CLIENT_SET(CURLOPT_READFUNCTION, read_body);
    CLIENT_SET(CURLOPT_WRITEFUNCTION, discard_response);
#undef CLIENT_SET
    if (rc != CURLE_OK) {
        snprintf(err, errcap, "libcurl refused an option: %s", curl_easy_strerror(rc));
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
        return 0;
    }
    return 1;
}

static void client_close(client_t *c)
{
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
}

/* Why a transfer ended without an answer, in the words redeliver prints.
 * libcurl's own text names hosts and ports, never a request header. */
static void transfer_error(client_t *c, CURLcode rc, const body_reader_t *body, char *err,
                           size_t errcap)
{
    const target_t *t = c->target;
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    curl_off_t tcp_done = 0, tls_done = 0;
    long os_errno = 0;
    int connected;

    /* the connection phase, as --connect-timeout counts it, ends after the
     * TLS handshake for https:// */
    curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &tcp_done);
    curl_easy_getinfo(c->curl, CURLINFO_APPCONNECT_TIME_T, &tls_done);
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
    connected = tcp_done > 0 && (strncasecmp(t->base, "https:", 6) != 0 || tls_done > 0);
    if (rc == CURLE_OPERATION_TIMEDOUT && !connected)
        snprintf(err, errcap, "cannot connect to %s: timed out after %ld s%s", t->authority,
                 t->connect_timeout < t->timeout ? t->connect_timeout : t->timeout,
                 t->connect_timeout < t->timeout ? " (--connect-timeout)" : " (--timeout)");
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(err, errcap, "timed out after %ld s (--timeout)", t->timeout);
    else if (rc == CURLE_COULDNT_CONNECT)
        snprintf(err, errcap, "cannot connect to %s: %s", t->authority,
                 os_errno ? strerror((int)os_errno) : why);
    else if (rc == CURLE_COULDNT_RESOLVE_HOST)
        snprintf(err, errcap, "cannot resolve %s: %s", t->authority, why);
    else if (rc == CURLE_ABORTED_BY_CALLBACK && body->cut_short)
        snprintf(err, errcap, "cannot send the body: the entry's body cut short");
    else if (rc == CURLE_GOT_NOTHING)
        snprintf(err, errcap, "no HTTP response (connection closed)");
    else if (rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_UNSUPPORTED_PROTOCOL)
        snprintf(err, errcap, "no HTTP response: %s", why);
    else
        snprintf(err, errcap, "%s", why);
}

/*
 * POSTs one entry; returns the HTTP status (*location set for a 3xx
 * that named one), or 0 with err set.
 */
static int post_entry(client_t *c, const tw_inbox_entry_t *e, tw_inbox_read_fn rd, void *ctx,
                      const char **location, char *err, size_t errcap, apr_pool_t *pool)
{
    const target_t *t = c->target;
    body_reader_t body = { .read = rd, .ctx = ctx, .done = 0, .left = e->body_length,
                           .cut_short = 0 };
    struct curl_slist *headers = request_headers(e, pool);
    const char *url = apr_pstrcat(pool, t->base, t->path ? t->path : e->path, NULL);
    char *redirect = NULL;
    long status = 0;
    CURLcode rc;

    if (headers == NULL) {
        snprintf(err, errcap, "out of memory");
        return 0;
    }
    c->errbuf[0] = '\0';
    rc = curl_easy_setopt(c->curl, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->body_length);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_READDATA, &body);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c->curl);
    /* the list and the reader live on this stack frame only */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_READDATA, NULL);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        transfer_error(c, rc, &body, err, errcap);
        return 0;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 100 || status > 999) {
        snprintf(err, errcap, "no HTTP response");
        return 0;
    }
    if (status >= 300 && status <= 399
        && curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect)
        *location = apr_pstrdup(pool, redirect);
    return (int)status;
}

static int redeliver_one(tw_store_t *store, const char *id, client_t *c, apr_pool_t *pool)
{
    const char *location = NULL;
    tw_stored_t *s = NULL;
    tw_inbox_read_fn rd = NULL;
    void *ctx = NULL;
    char err[512] = "";
    apr_status_t rv;
    int status;

    rv = tw_store_open_body(store, id, &s, &rd, &ctx, pool);   /* closed with pool */
    if (APR_STATUS_IS_ENOENT(rv)) {
        printf("%s gone (handled meanwhile)\n", id);
        return 0;
    }
    if (rv != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot open entry %s", id), errstr(rv));
        return 1;
    }
    status = post_entry(c, &s->e, rd, ctx, &location, err, sizeof(err), pool);
    if (status == 0) {
        printf("%s failed: %s\n", id, err);
        return 1;
    }
    if (status >= 300 && status <= 399) {
        /* never followed: the module at the new place would see another URL */
        printf("%s %d kept: a redirect (not followed)%s%s\n", id, status,
               location ? " to " : "", location ? location : "");
        return 1;
    }
    if (status < 200 || status > 299) {
        printf("%s %d kept\n", id, status);
        return 1;
    }
    /*
     * A module with this inbox recorded the copy (the entry changed): it
     * has removed the entry if the app answered 2xx, and kept it if not,
     * a held 200 included, so the entry decides. An entry nobody touched
     * got a 2xx without an inbox on the way (a duplicate from the replay
     * cache, another URL): it is removed here.
     */
    rv = tw_store_remove_unchanged(store, s, pool);   /* compared and removed atomically */
    if (rv == TW_INBOX_ECHANGED) {
        printf("%s %d kept\n", id, status);
        return 1;
    }
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        printf("%s %d delivered, but cannot remove: %s\n", id, status, errstr(rv));
        return 1;
    }
    printf("%s %d removed\n", id, status);
    return 0;
}

/* a whole number of seconds in 1..3600, or 0 */
static long seconds_arg(const char *arg)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    return (errno == 0 && end != arg && *end == '\0' && v >= 1 && v <= 3600) ? v : 0;
}

static int redeliver_all(tw_store_t *store, apr_array_header_t *ids, const target_t *t,
                         apr_pool_t *pool)
{
    client_t c;
    char err[256];
    int i, failed = 0;

    if (!client_open(&c, t, err, sizeof(err))) {
        fail(err, NULL);
        return 1;
    }
    for (i = 0; i < ids->nelts; i++) {
        apr_pool_t *sub;

        apr_pool_create(&sub, pool);
        failed |= redeliver_one(store, APR_ARRAY_IDX(ids, i, const char *), &c, sub);
        apr_pool_destroy(sub);
    }
    client_close(&c);
    return failed;
}

static int cmd_redeliver(const char *spec, int argc, char **argv, apr_pool_t *pool)
{
    tw_store_t *store;
    target_t t = { .base = DEFAULT_BASE, .authority = DEFAULT_HOST, .path = NULL, .cacert = NULL,
                   .connect_timeout = DEFAULT_CONNECT_TIMEOUT, .timeout = DEFAULT_TIMEOUT };
    apr_array_header_t *ids = apr_array_make(pool, 8, sizeof(const char *));
    int i, all = 0, rc;
    FILE *ca;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            if (!parse_url(argv[++i], &t, pool)) {
                fail("--url wants http[s]://host[:port][/path]", argv[i]);
                return EXIT_USAGE;
            }
        }
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if ((t.timeout = seconds_arg(argv[++i])) == 0) {
                fail("--timeout wants 1 to 3600 seconds", argv[i]);
                return EXIT_USAGE;
            }
        }
        else if (strcmp(argv[i], "--connect-timeout") == 0 && i + 1 < argc) {
            if ((t.connect_timeout = seconds_arg(argv[++i])) == 0) {
                fail("--connect-timeout wants 1 to 3600 seconds", argv[i]);
                return EXIT_USAGE;
            }
        }
        else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc)
            t.cacert = argv[++i];
        else if (argv[i][0] == '-') {
            fail(i + 1 == argc ? "unknown option or missing value" : "unknown option", argv[i]);
            return EXIT_USAGE;
        }
        else
            APR_ARRAY_PUSH(ids, const char *) = argv[i];
    }
    if (all == (ids->nelts > 0)) {
        fail("redeliver wants entry ids or --all (not both)", NULL);
        return EXIT_USAGE;
    }
    /* say it once, not once per entry as libcurl would */
    if (t.cacert != NULL) {
        if ((ca = fopen(t.cacert, "r")) == NULL) {
            fail(apr_psprintf(pool, "cannot read --cacert %s", t.cacert), strerror(errno));
            return 1;
        }
        fclose(ca);
    }
    if ((store = open_store(spec, pool)) == NULL)
        return 1;
    /* --all: what waits for a person; a queued entry is the dispatcher's */
    if (all && (ids = ids_in(store, PERSON_STATES, pool)) == NULL)
        return 1;
    /* a server closing mid-request is an error to report, not a signal that
     * kills the tool: libcurl's NOSIGNAL leaves SIGPIPE to us, and
     * OpenSSL writes to the socket without MSG_NOSIGNAL */
    signal(SIGPIPE, SIG_IGN);
    /* once per process, before any handle: it sets up OpenSSL */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fail("libcurl initialisation failed", NULL);
        return 1;
    }
    rc = redeliver_all(store, ids, &t, pool) ? 1 : 0;
    curl_global_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 3) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fail("APR initialisation failed", NULL);
        return 1;
    }
    if (strcmp(argv[1], "list") == 0)
        rc = cmd_list(argv[2], argc - 3, argv + 3, pool);
    else if (strcmp(argv[1], "show") == 0 && (argc == 4 || (argc == 5 && strcmp(argv[4], "--body") == 0)))
        rc = cmd_show(argv[2], argv[3], argc == 5, pool);
    else if (strcmp(argv[1], "show") == 0 && argc == 5 && strcmp(argv[3], "--body") == 0)
        rc = cmd_show(argv[2], argv[4], 1, pool);
    else if (strcmp(argv[1], "redeliver") == 0)
        rc = cmd_redeliver(argv[2], argc - 3, argv + 3, pool);
    else if (strcmp(argv[1], "requeue") == 0)
        rc = cmd_requeue(argv[2], argc - 3, argv + 3, pool);
    else if (strcmp(argv[1], "drop") == 0 && argc >= 4)
        rc = cmd_drop(argv[2], argv + 3, argc - 3, pool);
    else {
        usage(stderr);
        rc = EXIT_USAGE;
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
