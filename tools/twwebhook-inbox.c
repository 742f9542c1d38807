/*
 * SPDX-License-Identifier: Apache-2.0
 * twwebhook-inbox - look after the deliveries TwWebhookInbox holds.
 *
 *   twwebhook-inbox list <dir>
 *   twwebhook-inbox show <dir> <id> [--body]
 *   twwebhook-inbox redeliver <dir> [--url URL] [--timeout SECONDS] (<id>...|--all)
 *   twwebhook-inbox drop <dir> <id>...
 *
 * The entries are read and removed through the core (libtwcore/tw_inbox.c),
 * as the module writes them, so it is safe to run while httpd runs, from
 * cron or a systemd timer. It never rewrites an entry: a redelivery goes
 * through the module like any delivery (verified again, counted in the
 * entry by the module), and an entry is removed here only once the answer
 * was 2xx. The HTTP client is a plain POSIX socket speaking HTTP/1.1 over
 * http:// only (no TLS): point it at a loopback listener of the server.
 * Exit status: 0 done, 1 something failed, 2 usage.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "twwebhook.h"

#define EXIT_USAGE        2
#define DEFAULT_HOST      "127.0.0.1"
#define DEFAULT_PORT      "80"
#define DEFAULT_TIMEOUT   30
#define RESPONSE_HEAD_MAX 8192
#define COPY_CHUNK        65536

static const char *progname = "twwebhook-inbox";

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: %s list <dir>\n"
        "       %s show <dir> <id> [--body]\n"
        "       %s redeliver <dir> [--url URL] [--timeout SECONDS] (<id>...|--all)\n"
        "       %s drop <dir> <id>...\n"
        "\n"
        "Looks after the verified deliveries mod_twwebhook keeps in a TwWebhookInbox\n"
        "directory until the app has answered them with 2xx.\n"
        "\n"
        "  list       one line per entry, oldest first: id, received (UTC), event,\n"
        "             delivery, body bytes, attempts, last status (- for none)\n"
        "  show       the entry's metadata; --body writes the raw body to stdout\n"
        "  redeliver  POSTs each entry again with its original headers to URL\n"
        "             (default http://127.0.0.1 followed by the path it came in on;\n"
        "             a URL without a path keeps the original path), so the module\n"
        "             verifies it like any delivery; removes it on a 2xx answer.\n"
        "             http:// only. Exit status 1 if any redelivery failed.\n"
        "  drop       removes entries without delivering them\n"
        "\n"
        "Safe to run while httpd runs (from cron or a systemd timer). Exit status:\n"
        "0 done, 1 failure, 2 usage.\n", progname, progname, progname, progname);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", progname, what, detail ? ": " : "", detail ? detail : "");
}

static const char *errstr(apr_status_t rv)
{
    static char buf[256];

    return tw_inbox_strerror(rv, buf, sizeof(buf));
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

static int cmd_list(const char *dir, apr_pool_t *pool)
{
    apr_array_header_t *entries = NULL;
    unsigned int bad = 0;
    apr_status_t rv = tw_inbox_list(dir, &entries, &bad, pool);
    char when[32], status[16];
    int i;

    if (rv != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot list %s", dir), errstr(rv));
        return 1;
    }
    for (i = 0; i < entries->nelts; i++) {
        const tw_inbox_entry_t *e = APR_ARRAY_IDX(entries, i, tw_inbox_entry_t *);
        const char *event = header_like(e, "Event"), *delivery = header_like(e, "Delivery");

        if (e->last_status > 0)
            snprintf(status, sizeof(status), "%d", e->last_status);
        else
            apr_cpystrn(status, "-", sizeof(status));
        printf("%s %s %s %s %" APR_OFF_T_FMT " %u %s\n", e->id,
               iso_time(e->received, when, sizeof(when)), event ? event : "-",
               delivery ? delivery : "-", e->body_length, e->attempts, status);
    }
    if (bad > 0)
        fprintf(stderr, "%s: %u file(s) in %s are not inbox entries (not listed)\n",
                progname, bad, dir);
    return 0;
}

static int copy_body(int fd, FILE *out, apr_off_t len)
{
    char buf[COPY_CHUNK];

    while (len > 0) {
        ssize_t n = read(fd, buf, len < (apr_off_t)sizeof(buf) ? (size_t)len : sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || fwrite(buf, 1, (size_t)n, out) != (size_t)n)
            return 0;
        len -= n;
    }
    return fflush(out) == 0;
}

static int cmd_show(const char *dir, const char *id, int body, apr_pool_t *pool)
{
    tw_inbox_entry_t *e = NULL;
    apr_status_t rv;
    char when[32];
    size_t i;
    int fd = -1, ok = 1;

    rv = tw_inbox_open(dir, id, &e, &fd, pool);
    if (rv != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot open entry %s", id), errstr(rv));
        return 1;
    }
    if (body) {
        ok = copy_body(fd, stdout, e->body_length);
        if (!ok)
            fail("cannot write the body", strerror(errno));
    }
    else {
        printf("id: %s\n", e->id);
        printf("received: %s\n", iso_time(e->received, when, sizeof(when)));
        printf("updated: %s\n", iso_time(e->updated, when, sizeof(when)));
        printf("attempts: %u\n", e->attempts);
        printf("last status: %d\n", e->last_status);
        printf("path: %s\n", e->path);
        for (i = 0; i < e->nheaders; i++)
            printf("header: %s: %s\n", e->headers[i].name, e->headers[i].value);
        printf("bytes: %" APR_OFF_T_FMT "\n", e->body_length);
    }
    close(fd);
    return ok ? 0 : 1;
}

static int cmd_drop(const char *dir, char **ids, int n, apr_pool_t *pool)
{
    int i, failed = 0;

    for (i = 0; i < n; i++) {
        apr_status_t rv = tw_inbox_remove(dir, ids[i], pool);
        if (rv != APR_SUCCESS) {
            fail(apr_psprintf(pool, "cannot drop %s", ids[i]), errstr(rv));
            failed = 1;
        }
        else
            printf("%s dropped\n", ids[i]);
    }
    return failed;
}

/* ---- redelivery: a minimal HTTP/1.1 client ----------------------------------- */

typedef struct {
    const char *host;          /* for connect() */
    const char *port;
    const char *host_header;
    const char *path;          /* NULL: the entry's own */
} target_t;

/* http://host[:port][/path]; IPv6 literals in brackets. */
static int parse_url(const char *url, target_t *t, apr_pool_t *pool)
{
    const char *p, *slash, *hostport;

    if (strncasecmp(url, "http://", 7) != 0)
        return 0;
    p = url + 7;
    slash = strchr(p, '/');
    hostport = slash ? apr_pstrmemdup(pool, p, (apr_size_t)(slash - p)) : apr_pstrdup(pool, p);
    if (*hostport == '\0')
        return 0;
    t->host_header = hostport;
    if (hostport[0] == '[') {
        const char *close_br = strchr(hostport, ']');
        if (close_br == NULL)
            return 0;
        t->host = apr_pstrmemdup(pool, hostport + 1, (apr_size_t)(close_br - hostport - 1));
        t->port = close_br[1] == ':' ? close_br + 2 : DEFAULT_PORT;
    }
    else {
        const char *colon = strrchr(hostport, ':');
        t->host = colon ? apr_pstrmemdup(pool, hostport, (apr_size_t)(colon - hostport)) : hostport;
        t->port = colon ? colon + 1 : DEFAULT_PORT;
    }
    if (*t->host == '\0' || *t->port == '\0')
        return 0;
    t->path = (slash && slash[1] != '\0') ? slash : NULL;
    return t->path == NULL || tw_inbox_path_is_storable(t->path);
}

static int connect_to(const target_t *t, int timeout, char *err, size_t errcap)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct timeval tv = { .tv_sec = timeout, .tv_usec = 0 };
    int fd = -1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
        snprintf(err, errcap, "cannot resolve %s: %s", t->host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        snprintf(err, errcap, "cannot connect to %s:%s: %s", t->host, t->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Headers the client sets itself, never taken from the entry. */
static int is_framing_header(const char *name)
{
    return strcasecmp(name, "Host") == 0 || strcasecmp(name, "Content-Length") == 0
           || strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "Connection") == 0
           || strcasecmp(name, "Expect") == 0;
}

/* POSTs one entry; returns the HTTP status, or 0 with err set. */
static int post_entry(const target_t *t, const tw_inbox_entry_t *e, int body_fd, int timeout,
                      char *err, size_t errcap, apr_pool_t *pool)
{
    char head[RESPONSE_HEAD_MAX + 1], buf[COPY_CHUNK];
    const char *req;
    apr_off_t left = e->body_length;
    size_t i, got = 0;
    int fd, status = 0;

    req = apr_psprintf(pool, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %" APR_OFF_T_FMT
                       "\r\nConnection: close\r\n", t->path ? t->path : e->path, t->host_header,
                       e->body_length);
    for (i = 0; i < e->nheaders; i++)
        if (!is_framing_header(e->headers[i].name))
            req = apr_pstrcat(pool, req, e->headers[i].name, ": ", e->headers[i].value, "\r\n",
                              NULL);
    req = apr_pstrcat(pool, req, "\r\n", NULL);

    if ((fd = connect_to(t, timeout, err, errcap)) < 0)
        return 0;
    if (!send_all(fd, req, strlen(req))) {
        snprintf(err, errcap, "cannot send the request: %s", strerror(errno));
        close(fd);
        return 0;
    }
    while (left > 0) {
        ssize_t n = read(body_fd, buf, left < (apr_off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || !send_all(fd, buf, (size_t)n)) {
            snprintf(err, errcap, "cannot send the body: %s", n <= 0 ? "entry file cut short"
                                                                      : strerror(errno));
            close(fd);
            return 0;
        }
        left -= n;
    }
    /* the status line is all we need */
    while (got < RESPONSE_HEAD_MAX && memchr(head, '\n', got) == NULL) {
        ssize_t n = recv(fd, head + got, RESPONSE_HEAD_MAX - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    head[got] = '\0';
    close(fd);
    if (strncmp(head, "HTTP/1.", 7) != 0 || got < 12 || sscanf(head + 9, "%3d", &status) != 1
        || status < 100 || status > 999) {
        snprintf(err, errcap, "no HTTP response%s", got == 0 ? " (connection closed)" : "");
        return 0;
    }
    return status;
}

static int redeliver_one(const char *dir, const char *id, const target_t *t, int timeout,
                         apr_pool_t *pool)
{
    tw_inbox_entry_t *e = NULL;
    char err[512] = "";
    apr_status_t rv;
    int fd = -1, status;

    rv = tw_inbox_open(dir, id, &e, &fd, pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        printf("%s gone (handled meanwhile)\n", id);
        return 0;
    }
    if (rv != APR_SUCCESS) {
        fail(apr_psprintf(pool, "cannot open entry %s", id), errstr(rv));
        return 1;
    }
    status = post_entry(t, e, fd, timeout, err, sizeof(err), pool);
    close(fd);
    if (status == 0) {
        printf("%s failed: %s\n", id, err);
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
    rv = tw_inbox_remove_unchanged(dir, e, pool);   /* compared and removed under its lock */
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

static int cmd_redeliver(const char *dir, int argc, char **argv, apr_pool_t *pool)
{
    target_t t = { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_HOST, NULL };
    apr_array_header_t *ids = apr_array_make(pool, 8, sizeof(const char *));
    int i, all = 0, timeout = DEFAULT_TIMEOUT, failed = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            if (!parse_url(argv[++i], &t, pool)) {
                fail("--url wants http://host[:port][/path] (http:// only)", argv[i]);
                return EXIT_USAGE;
            }
        }
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 3600) {
                fail("--timeout wants 1 to 3600 seconds", argv[i]);
                return EXIT_USAGE;
            }
            timeout = (int)v;
        }
        else if (argv[i][0] == '-') {
            fail("unknown option", argv[i]);
            return EXIT_USAGE;
        }
        else
            APR_ARRAY_PUSH(ids, const char *) = argv[i];
    }
    if (all == (ids->nelts > 0)) {
        fail("redeliver wants entry ids or --all (not both)", NULL);
        return EXIT_USAGE;
    }
    if (all) {
        apr_array_header_t *entries = NULL;
        apr_status_t rv = tw_inbox_list(dir, &entries, NULL, pool);

        if (rv != APR_SUCCESS) {
            fail(apr_psprintf(pool, "cannot list %s", dir), errstr(rv));
            return 1;
        }
        for (i = 0; i < entries->nelts; i++)
            APR_ARRAY_PUSH(ids, const char *) = APR_ARRAY_IDX(entries, i, tw_inbox_entry_t *)->id;
    }
    for (i = 0; i < ids->nelts; i++) {
        apr_pool_t *sub;

        apr_pool_create(&sub, pool);
        failed |= redeliver_one(dir, APR_ARRAY_IDX(ids, i, const char *), &t, timeout, sub);
        apr_pool_destroy(sub);
    }
    return failed ? 1 : 0;
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
    if (strcmp(argv[1], "list") == 0 && argc == 3)
        rc = cmd_list(argv[2], pool);
    else if (strcmp(argv[1], "show") == 0 && (argc == 4 || (argc == 5 && strcmp(argv[4], "--body") == 0)))
        rc = cmd_show(argv[2], argv[3], argc == 5, pool);
    else if (strcmp(argv[1], "show") == 0 && argc == 5 && strcmp(argv[3], "--body") == 0)
        rc = cmd_show(argv[2], argv[4], 1, pool);
    else if (strcmp(argv[1], "redeliver") == 0)
        rc = cmd_redeliver(argv[2], argc - 3, argv + 3, pool);
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
