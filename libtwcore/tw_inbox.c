/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_inbox.c - the inbox: one file per verified delivery, kept until the
 * app answered 2xx (format and guarantees: include/tw/inbox.h).
 *
 * Durability: an entry is only ever created or changed by writing a whole
 * new file under a temporary name (O_CREAT|O_EXCL, so two writers never
 * share one), fsync()ing it, rename()ing it over the entry and fsync()ing
 * the directory, so that the rename itself survives a power cut. Removal
 * is unlink() plus an fsync() of the directory. Readers therefore see one
 * complete version of an entry or none, and a crash at any point leaves at
 * worst a temporary file, which is never taken for an entry.
 *
 * Plain POSIX file calls (openat, renameat, fsync of a directory): APR has
 * no portable way to fsync a directory or to create relative to one.
 *
 * Concurrency: every read-modify-write of an entry (a new copy counting
 * its attempt, the status update after the app answered, a removal) holds
 * an exclusive lock on that entry from the read to the rename or unlink
 * (lock_entry), so copies recorded at the same instant by several children,
 * or by twwebhook-inbox beside them, never lose a count nor write back an
 * older one. Readers (open, list) take no lock: the rename gives them one
 * whole version. Entries of different deliveries never wait for each other.
 * Hazard left: the order of a 2xx's removal and a new copy of the same
 * delivery is the order they take the lock; a copy recorded just before
 * another copy's 2xx removes it is removed with it (that copy's own answer
 * then finds no entry to update). The glue serialises copies through the
 * replay cache where one is configured.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>      /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "tw/inbox.h"
#include "tw/codec.h"
#include "tw_inbox_file.h"

#define INBOX_MAGIC        "twwebhook-inbox 1\n"
#define INBOX_COPY_CHUNK   ((apr_size_t)64 * 1024)
#define INBOX_TEMP_TRIES   100

/* ---- names and values ----------------------------------------------------- */

tw_status_t tw_inbox_id(const unsigned char key[TW_MAC_LEN], char id[TW_INBOX_ID_LEN + 1])
{
    if (key == NULL || id == NULL)
        return TW_ERR_ARG;
    return tw_hex_encode(key, TW_MAC_LEN, id, TW_INBOX_ID_LEN + 1);
}

int tw_inbox_id_is_valid(const char *s)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < TW_INBOX_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[i] == '\0';
}

int tw_inbox_name_is_storable(const char *name)
{
    const char *p;

    if (name == NULL || *name == '\0' || strlen(name) > 128)
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!apr_isalnum(*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
            return 0;
    return 1;
}

int tw_inbox_value_is_storable(const char *value)
{
    const unsigned char *p;

    if (value == NULL || *value == '\0' || strlen(value) > TW_INBOX_VALUE_MAX)
        return 0;
    for (p = (const unsigned char *)value; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    return 1;
}

int tw_inbox_path_is_storable(const char *path)
{
    return tw_inbox_value_is_storable(path) && path[0] == '/'
           && strchr(path, ' ') == NULL && strchr(path, '\t') == NULL;
}

const char *tw_inbox_strerror(apr_status_t rv, char *buf, apr_size_t bufsize)
{
    if (rv == TW_INBOX_ECORRUPT) {
        apr_cpystrn(buf, "not a well-formed inbox entry", bufsize);
        return buf;
    }
    if (rv == TW_INBOX_ECHANGED) {
        apr_cpystrn(buf, "the entry changed meanwhile (another copy came)", bufsize);
        return buf;
    }
    return apr_strerror(rv, buf, bufsize);
}

/* ---- the metadata ----------------------------------------------------------- */

/*
 * The lines after status are the store's (tw/store.h), each written only
 * when it says something: state (always), next (queued: not before),
 * secret-index (which secret verified it), scope (the location it came in
 * on), owner (who holds the dispatch lease). An entry written by 0.1.0
 * has none of them and reads as direct, secret index unknown (-1).
 */
static char *format_meta(const tw_inbox_record_t *rec, apr_pool_t *pool)
{
    const tw_inbox_entry_t *e = &rec->s.e;
    char *s = apr_psprintf(pool, INBOX_MAGIC "received %" APR_TIME_T_FMT "\nupdated %"
                           APR_TIME_T_FMT "\nattempts %u\nstatus %d\nstate %s\n",
                           e->received, e->updated, e->attempts, e->last_status,
                           tw_state_name(rec->s.state));
    size_t i;

    if (rec->s.next != 0)
        s = apr_psprintf(pool, "%snext %" APR_TIME_T_FMT "\n", s, rec->s.next);
    if (rec->s.secret_index >= 0)
        s = apr_psprintf(pool, "%ssecret-index %d\n", s, rec->s.secret_index);
    if (rec->s.scope != NULL)
        s = apr_pstrcat(pool, s, "scope ", rec->s.scope, "\n", NULL);
    if (rec->owner != NULL)
        s = apr_pstrcat(pool, s, "owner ", rec->owner, "\n", NULL);
    s = apr_pstrcat(pool, s, "path ", e->path, "\n", NULL);
    for (i = 0; i < e->nheaders; i++)
        s = apr_pstrcat(pool, s, "header ", e->headers[i].name, ": ", e->headers[i].value,
                        "\n", NULL);
    return apr_pstrcat(pool, s, "length ", apr_off_t_toa(pool, e->body_length), "\n\n", NULL);
}

static int check_record(const tw_inbox_record_t *rec)
{
    const tw_inbox_entry_t *e = &rec->s.e;
    size_t i;

    if (!tw_inbox_id_is_valid(e->id) || !tw_inbox_path_is_storable(e->path)
        || e->nheaders > TW_INBOX_HEADERS_MAX || e->body_length < 0
        || e->last_status < 0 || e->last_status > 999
        || rec->s.state < TW_STATE_DIRECT || rec->s.state > TW_STATE_DEAD
        || rec->s.next < 0 || rec->s.secret_index < -1
        || (rec->s.scope != NULL && !tw_inbox_value_is_storable(rec->s.scope))
        || (rec->owner != NULL && !tw_inbox_value_is_storable(rec->owner)))
        return 0;
    for (i = 0; i < e->nheaders; i++)
        if (!tw_inbox_name_is_storable(e->headers[i].name)
            || !tw_inbox_value_is_storable(e->headers[i].value))
            return 0;
    return 1;
}

/* A decimal number of 1 to 19 digits without sign or leading zero. */
static int parse_number(const char *s, size_t len, apr_int64_t max, apr_int64_t *out)
{
    apr_int64_t v = 0;
    size_t i;

    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (v > (max - (s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* The next line of [*p, end) (without its "\n") into line/len. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *lf = memchr(*p, '\n', (size_t)(end - *p));

    if (lf == NULL)
        return 0;
    *line = *p;
    *len = (size_t)(lf - *p);
    *p = lf + 1;
    return 1;
}

/* "<key> <value>" with key as expected; the value into v/vlen. */
static int keyed(const char *line, size_t len, const char *key, const char **v, size_t *vlen)
{
    size_t k = strlen(key);

    if (len <= k + 1 || memcmp(line, key, k) != 0 || line[k] != ' ')
        return 0;
    *v = line + k + 1;
    *vlen = len - k - 1;
    return 1;
}

static int keyed_number(const char **p, const char *end, const char *key, apr_int64_t max,
                        apr_int64_t *out)
{
    const char *line, *v;
    size_t len, vlen;

    return next_line(p, end, &line, &len) && keyed(line, len, key, &v, &vlen)
           && parse_number(v, vlen, max, out);
}

/* The next line when it is "<key> <value>": consumed, its value into v/vlen;
 * otherwise nothing is consumed (the store's lines are optional). */
static int optional_keyed(const char **p, const char *end, const char *key, const char **v,
                          size_t *vlen)
{
    const char *q = *p, *line;
    size_t len;

    if (!next_line(&q, end, &line, &len) || !keyed(line, len, key, v, vlen))
        return 0;
    *p = q;
    return 1;
}

/* A copy of a stored value, NULL when it may not be stored (or holds a NUL). */
static const char *stored_value(const char *v, size_t vlen, apr_pool_t *pool)
{
    const char *s = apr_pstrmemdup(pool, v, vlen);

    return strlen(s) == vlen && tw_inbox_value_is_storable(s) ? s : NULL;
}

/* The store's optional lines, in their order; absent ones keep their
 * defaults (direct, next 0, secret index -1, no scope, no owner). */
static int parse_store_lines(const char **p, const char *end, tw_inbox_record_t *rec,
                             apr_pool_t *pool)
{
    const char *v;
    size_t vlen;
    apr_int64_t n;
    int state;

    if (optional_keyed(p, end, "state", &v, &vlen)) {
        if ((state = tw_state_parse(apr_pstrmemdup(pool, v, vlen))) < 0)
            return 0;
        rec->s.state = (tw_state_t)state;
    }
    if (optional_keyed(p, end, "next", &v, &vlen)) {
        if (!parse_number(v, vlen, APR_INT64_MAX, &n))
            return 0;
        rec->s.next = (apr_time_t)n;
    }
    if (optional_keyed(p, end, "secret-index", &v, &vlen)) {
        if (!parse_number(v, vlen, APR_INT32_MAX, &n))
            return 0;
        rec->s.secret_index = (int)n;
    }
    if (optional_keyed(p, end, "scope", &v, &vlen)
        && (rec->s.scope = stored_value(v, vlen, pool)) == NULL)
        return 0;
    if (optional_keyed(p, end, "owner", &v, &vlen)
        && (rec->owner = stored_value(v, vlen, pool)) == NULL)
        return 0;
    return 1;
}

apr_status_t tw_inbox_parse_record(const char *buf, size_t len, tw_inbox_record_t *rec,
                                   apr_pool_t *pool)
{
    const char *p = buf, *end = buf + len, *line, *v;
    size_t llen, vlen;
    apr_int64_t n;
    char id[TW_INBOX_ID_LEN + 1];
    tw_inbox_entry_t *e;

    if (buf == NULL || rec == NULL)
        return APR_EINVAL;
    memcpy(id, rec->s.e.id, sizeof(id));     /* the caller's, from the file name */
    memset(rec, 0, sizeof(*rec));
    e = &rec->s.e;
    memcpy(e->id, id, sizeof(id));
    rec->s.state = TW_STATE_DIRECT;
    rec->s.secret_index = -1;
    if (len < sizeof(INBOX_MAGIC) - 1 || memcmp(buf, INBOX_MAGIC, sizeof(INBOX_MAGIC) - 1) != 0)
        return TW_INBOX_ECORRUPT;
    p += sizeof(INBOX_MAGIC) - 1;
    if (!keyed_number(&p, end, "received", APR_INT64_MAX, &n))
        return TW_INBOX_ECORRUPT;
    e->received = (apr_time_t)n;
    if (!keyed_number(&p, end, "updated", APR_INT64_MAX, &n))
        return TW_INBOX_ECORRUPT;
    e->updated = (apr_time_t)n;
    if (!keyed_number(&p, end, "attempts", APR_UINT32_MAX, &n))
        return TW_INBOX_ECORRUPT;
    e->attempts = (unsigned int)n;
    if (!keyed_number(&p, end, "status", 999, &n))
        return TW_INBOX_ECORRUPT;
    e->last_status = (int)n;
    if (!parse_store_lines(&p, end, rec, pool))
        return TW_INBOX_ECORRUPT;
    if (!next_line(&p, end, &line, &llen) || !keyed(line, llen, "path", &v, &vlen))
        return TW_INBOX_ECORRUPT;
    e->path = apr_pstrmemdup(pool, v, vlen);
    if (strlen(e->path) != vlen || !tw_inbox_path_is_storable(e->path))
        return TW_INBOX_ECORRUPT;
    while (1) {
        const char *colon;
        char *name, *value;

        if (!next_line(&p, end, &line, &llen))
            return TW_INBOX_ECORRUPT;
        if (!keyed(line, llen, "header", &v, &vlen))
            break;
        colon = memchr(v, ':', vlen);
        if (colon == NULL || (size_t)(colon - v) + 2 > vlen || colon[1] != ' '
            || e->nheaders == TW_INBOX_HEADERS_MAX)
            return TW_INBOX_ECORRUPT;
        name = apr_pstrmemdup(pool, v, (apr_size_t)(colon - v));
        value = apr_pstrmemdup(pool, colon + 2, vlen - (size_t)(colon - v) - 2);
        if (strlen(value) != vlen - (size_t)(colon - v) - 2
            || !tw_inbox_name_is_storable(name) || !tw_inbox_value_is_storable(value))
            return TW_INBOX_ECORRUPT;
        e->headers[e->nheaders].name = name;
        e->headers[e->nheaders].value = value;
        e->nheaders++;
    }
    /* the line that ended the headers must be the length */
    if (!keyed(line, llen, "length", &v, &vlen) || !parse_number(v, vlen, APR_INT64_MAX, &n))
        return TW_INBOX_ECORRUPT;
    e->body_length = (apr_off_t)n;
    if (!next_line(&p, end, &line, &llen) || llen != 0)
        return TW_INBOX_ECORRUPT;
    e->body_offset = (apr_off_t)(p - buf);
    return APR_SUCCESS;
}

apr_status_t tw_inbox_parse(const char *buf, size_t len, tw_inbox_entry_t *e, apr_pool_t *pool)
{
    tw_inbox_record_t rec;
    apr_status_t rv;

    if (buf == NULL || e == NULL)
        return APR_EINVAL;
    memcpy(rec.s.e.id, e->id, sizeof(e->id));
    rv = tw_inbox_parse_record(buf, len, &rec, pool);
    *e = rec.s.e;
    return rv;
}

/* ---- file operations --------------------------------------------------------- */

static apr_status_t errno_status(void)
{
    return errno != 0 ? APR_FROM_OS_ERROR(errno) : APR_EGENERAL;
}

static apr_status_t write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno_status() : APR_EGENERAL;
        p += n;
        len -= (size_t)n;
    }
    return APR_SUCCESS;
}

static apr_status_t pread_some(int fd, void *buf, size_t cap, off_t offset, size_t *got)
{
    ssize_t n;

    do
        n = pread(fd, buf, cap, offset);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno_status();
    *got = (size_t)n;
    return APR_SUCCESS;
}

static apr_status_t open_dir(const char *dir, int *pdfd)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return errno_status();
    *pdfd = dfd;
    return APR_SUCCESS;
}

static apr_status_t sync_dir(int dfd)
{
    return fsync(dfd) == 0 ? APR_SUCCESS : errno_status();
}

/* ---- the entry lock ----------------------------------------------------------- */

/*
 * An exclusive flock(2) on ".<id>.lock" in the inbox directory, held for a
 * whole read-modify-write of entry <id>.
 * - The lock file exists only while someone holds or waits for it: the
 *   holder unlinks it before letting go, and a waiter that then gets the
 *   lock on the unlinked file sees it is no longer the one at that name
 *   and starts over. So nothing is left behind in the directory.
 * - A process killed while holding it loses the lock with its descriptor
 *   (the kernel releases flock locks); the file it leaves is taken, and
 *   removed, by the next writer of that entry.
 * - Mode 0644 whatever the umask: twwebhook-inbox run as root and the user
 *   httpd's children run as must each be able to open a lock file the
 *   other made (read-only is enough for flock). It is empty.
 * - Names starting with "." are never entries (tw_inbox_list skips them).
 */
#define INBOX_LOCK_TRIES 1000

typedef struct {
    int fd;
    char name[TW_INBOX_ID_LEN + sizeof("..lock")];
} entry_lock_t;

/* 1 when the file open in fd is still the one named name in dfd. */
static int lock_file_current(int dfd, int fd, const char *name)
{
    struct stat held, named;

    return fstat(fd, &held) == 0 && fstatat(dfd, name, &named, AT_SYMLINK_NOFOLLOW) == 0
           && held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

/* Opens the lock file, creating it if need be. ENOENT: removed meanwhile. */
static int open_lock_file(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

    if (fd >= 0) {
        (void)fchmod(fd, 0644);     /* whatever the umask: see above */
        return fd;
    }
    if (errno != EEXIST)
        return -1;
    return openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

static apr_status_t lock_entry(int dfd, const char *id, entry_lock_t *lk)
{
    int i, rc;

    apr_snprintf(lk->name, sizeof(lk->name), ".%s.lock", id);
    for (i = 0; i < INBOX_LOCK_TRIES; i++) {
        if ((lk->fd = open_lock_file(dfd, lk->name)) < 0) {
            if (errno == ENOENT)
                continue;             /* its holder just removed it */
            return errno_status();
        }
        do
            rc = flock(lk->fd, LOCK_EX);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            apr_status_t rv = errno_status();

            close(lk->fd);
            return rv;
        }
        if (lock_file_current(dfd, lk->fd, lk->name))
            return APR_SUCCESS;
        close(lk->fd);                /* its holder removed it: take the next one */
    }
    return APR_EBUSY;
}

static void unlock_entry(int dfd, entry_lock_t *lk)
{
    unlinkat(dfd, lk->name, 0);       /* while still held: see above */
    close(lk->fd);
}

/* The inbox directory, opened, with entry id locked in it: the start of
 * every read-modify-write of an entry; close_locked ends it. */
static apr_status_t open_locked(const char *dir, const char *id, int *pdfd, entry_lock_t *lk)
{
    apr_status_t rv = open_dir(dir, pdfd);

    if (rv == APR_SUCCESS && (rv = lock_entry(*pdfd, id, lk)) != APR_SUCCESS)
        close(*pdfd);
    return rv;
}

static void close_locked(int dfd, entry_lock_t *lk)
{
    unlock_entry(dfd, lk);
    close(dfd);
}

/*
 * Writes rec and its body to a new temporary file in dfd, makes it durable,
 * renames it to its id and makes the rename durable.
 */
static apr_status_t write_entry(int dfd, const tw_inbox_record_t *rec, tw_inbox_read_fn source,
                                void *ctx, apr_pool_t *pool)
{
    static unsigned int counter;
    const tw_inbox_entry_t *e = &rec->s.e;
    const char *meta = format_meta(rec, pool);
    char *buf = NULL, *tmp = NULL;
    apr_off_t done = 0;
    apr_status_t rv;
    int fd = -1, i;

    for (i = 0; i < INBOX_TEMP_TRIES && fd < 0; i++) {
        tmp = apr_psprintf(pool, ".%s.%ld.%u.tmp", e->id, (long)getpid(),
                           counter++ ^ (unsigned int)(apr_time_now() & 0xffff));
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST)
            return errno_status();
    }
    if (fd < 0)
        return APR_EEXIST;

    rv = write_all(fd, meta, strlen(meta));
    if (rv == APR_SUCCESS && e->body_length > 0)
        buf = apr_palloc(pool, INBOX_COPY_CHUNK);
    while (rv == APR_SUCCESS && done < e->body_length) {
        apr_size_t want = INBOX_COPY_CHUNK, got = 0;

        if ((apr_off_t)want > e->body_length - done)
            want = (apr_size_t)(e->body_length - done);
        rv = source(ctx, done, buf, want, &got);
        if (rv == APR_SUCCESS && got == 0)
            rv = APR_EINCOMPLETE;     /* the body is shorter than announced */
        if (rv == APR_SUCCESS)
            rv = write_all(fd, buf, got);
        done += (apr_off_t)got;
    }
    if (rv == APR_SUCCESS && fsync(fd) != 0)
        rv = errno_status();
    if (close(fd) != 0 && rv == APR_SUCCESS)
        rv = errno_status();
    if (rv == APR_SUCCESS && renameat(dfd, tmp, dfd, e->id) != 0)
        rv = errno_status();
    if (rv != APR_SUCCESS) {
        unlinkat(dfd, tmp, 0);
        return rv;
    }
    return sync_dir(dfd);
}

/* Opens and parses entry id in dfd; the descriptor stays open in *pfd. */
static apr_status_t open_entry(int dfd, const char *id, tw_inbox_record_t **prec, int *pfd,
                               apr_pool_t *pool)
{
    tw_inbox_record_t *rec = apr_pcalloc(pool, sizeof(*rec));
    tw_inbox_entry_t *e = &rec->s.e;
    size_t cap = TW_INBOX_META_MAX, got = 0;
    char *buf;
    struct stat st;
    apr_status_t rv;
    int fd;

    if (!tw_inbox_id_is_valid(id))
        return APR_EINVAL;
    fd = openat(dfd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno_status();
    if (fstat(fd, &st) != 0) {
        rv = errno_status();
        close(fd);
        return rv;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return TW_INBOX_ECORRUPT;
    }
    buf = apr_palloc(pool, cap);
    rv = pread_some(fd, buf, cap, 0, &got);
    memcpy(e->id, id, TW_INBOX_ID_LEN + 1);
    if (rv == APR_SUCCESS)
        rv = tw_inbox_parse_record(buf, got, rec, pool);
    if (rv == APR_SUCCESS && e->body_offset + e->body_length != (apr_off_t)st.st_size)
        rv = TW_INBOX_ECORRUPT;       /* cut short, or more than announced */
    if (rv == APR_SUCCESS && pfd != NULL
        && lseek(fd, (off_t)e->body_offset, SEEK_SET) != (off_t)e->body_offset)
        rv = errno_status();
    if (rv != APR_SUCCESS || pfd == NULL)
        close(fd);
    if (rv != APR_SUCCESS)
        return rv;
    if (pfd != NULL)
        *pfd = fd;
    *prec = rec;
    return APR_SUCCESS;
}

apr_status_t tw_inbox_open_record(const char *dir, const char *id, tw_inbox_record_t **prec,
                                  int *pfd, apr_pool_t *pool)
{
    apr_status_t rv;
    int dfd;

    if (dir == NULL || id == NULL || prec == NULL || pool == NULL)
        return APR_EINVAL;
    if ((rv = open_dir(dir, &dfd)) != APR_SUCCESS)
        return rv;
    rv = open_entry(dfd, id, prec, pfd, pool);
    close(dfd);
    return rv;
}

apr_status_t tw_inbox_open(const char *dir, const char *id, tw_inbox_entry_t **pe,
                           int *pfd, apr_pool_t *pool)
{
    tw_inbox_record_t *rec = NULL;
    apr_status_t rv;

    if (pe == NULL)
        return APR_EINVAL;
    if ((rv = tw_inbox_open_record(dir, id, &rec, pfd, pool)) == APR_SUCCESS)
        *pe = &rec->s.e;
    return rv;
}

apr_status_t tw_inbox_read_file_source(void *ctx, apr_off_t offset, void *buf,
                                       apr_size_t cap, apr_size_t *got)
{
    const tw_inbox_file_source_t *src = ctx;

    return pread_some(src->fd, buf, cap, (off_t)(src->base + offset), got);
}

/* Writes rec over the entry open in fd, the body copied from that file. */
static apr_status_t rewrite_entry(int dfd, const tw_inbox_record_t *rec, int fd,
                                  apr_pool_t *pool)
{
    tw_inbox_file_source_t src = { .fd = fd, .base = rec->s.e.body_offset };

    if (!check_record(rec))
        return APR_EINVAL;
    return write_entry(dfd, rec, tw_inbox_read_file_source, &src, pool);
}

/* A DIRECT copy of an existing entry: one more attempt, whose answer is
 * not known yet; the rest of the record (state, body) stays. */
static apr_status_t count_copy(int dfd, tw_inbox_record_t *old, int fd, apr_pool_t *pool)
{
    if (old->s.e.attempts < APR_UINT32_MAX)
        old->s.e.attempts++;
    old->s.e.last_status = 0;
    old->s.e.updated = apr_time_now();
    return rewrite_entry(dfd, old, fd, pool);
}

apr_status_t tw_inbox_store(const char *dir, const tw_inbox_record_t *in,
                            tw_inbox_read_fn source, void *ctx, int *pcreated,
                            apr_pool_t *pool)
{
    tw_inbox_record_t rec, *old = NULL;
    entry_lock_t lk;
    apr_status_t rv = APR_SUCCESS;
    int dfd, fd = -1, created = 1;

    if (dir == NULL || in == NULL || source == NULL || pool == NULL)
        return APR_EINVAL;
    rec = *in;
    rec.s.e.updated = apr_time_now();
    rec.s.e.received = rec.s.e.updated;
    rec.s.e.attempts = rec.s.state == TW_STATE_DIRECT ? 1 : 0;
    rec.s.e.last_status = 0;
    rec.owner = NULL;
    if ((rec.s.state != TW_STATE_DIRECT && rec.s.state != TW_STATE_QUEUED) || !check_record(&rec))
        return APR_EINVAL;
    if ((rv = open_locked(dir, rec.s.e.id, &dfd, &lk)) != APR_SUCCESS)
        return rv;
    /* An earlier copy: it stays, with its body and state, and a DIRECT copy
     * counts. One that cannot be read (corrupt, another owner) is
     * replaced: this copy must be recorded whatever became of the last. */
    if (open_entry(dfd, rec.s.e.id, &old, &fd, pool) == APR_SUCCESS) {
        created = 0;
        if (rec.s.state == TW_STATE_DIRECT)
            rv = count_copy(dfd, old, fd, pool);
        close(fd);
    }
    else {
        rv = write_entry(dfd, &rec, source, ctx, pool);
    }
    close_locked(dfd, &lk);
    if (rv == APR_SUCCESS && pcreated != NULL)
        *pcreated = created;
    return rv;
}

apr_status_t tw_inbox_put(const char *dir, const tw_inbox_entry_t *e,
                          tw_inbox_read_fn source, void *ctx, apr_pool_t *pool)
{
    tw_inbox_record_t rec;

    if (e == NULL)
        return APR_EINVAL;
    memset(&rec, 0, sizeof(rec));
    rec.s.e = *e;
    rec.s.state = TW_STATE_DIRECT;
    rec.s.secret_index = -1;
    return tw_inbox_store(dir, &rec, source, ctx, NULL, pool);
}

apr_status_t tw_inbox_change(const char *dir, const char *id, tw_inbox_change_fn change,
                             void *arg, apr_pool_t *pool)
{
    tw_inbox_record_t *rec = NULL;
    tw_inbox_change_t what = TW_INBOX_KEEP;
    entry_lock_t lk;
    apr_status_t rv;
    int dfd, fd = -1;

    if (dir == NULL || !tw_inbox_id_is_valid(id) || change == NULL || pool == NULL)
        return APR_EINVAL;
    if ((rv = open_locked(dir, id, &dfd, &lk)) != APR_SUCCESS)
        return rv;
    if ((rv = open_entry(dfd, id, &rec, &fd, pool)) == APR_SUCCESS) {
        rv = change(rec, arg, &what);
        if (rv == APR_SUCCESS && what == TW_INBOX_WRITE) {
            rec->s.e.updated = apr_time_now();
            rv = rewrite_entry(dfd, rec, fd, pool);
        }
        else if (rv == APR_SUCCESS && what == TW_INBOX_DROP) {
            rv = unlinkat(dfd, id, 0) == 0 ? sync_dir(dfd) : errno_status();
        }
        close(fd);
    }
    close_locked(dfd, &lk);
    return rv;
}

static apr_status_t change_status(tw_inbox_record_t *rec, void *arg, tw_inbox_change_t *what)
{
    rec->s.e.last_status = *(const int *)arg;
    *what = TW_INBOX_WRITE;
    return APR_SUCCESS;
}

apr_status_t tw_inbox_set_status(const char *dir, const char *id, int status, apr_pool_t *pool)
{
    if (status < 0 || status > 999)
        return APR_EINVAL;
    return tw_inbox_change(dir, id, change_status, &status, pool);
}

/* Removes entry id, under its lock, whatever it holds (a corrupt entry
 * too: a person drops what cannot be read). */
apr_status_t tw_inbox_remove(const char *dir, const char *id, apr_pool_t *pool)
{
    entry_lock_t lk;
    apr_status_t rv;
    int dfd;

    if (dir == NULL || !tw_inbox_id_is_valid(id))
        return APR_EINVAL;
    if ((rv = open_locked(dir, id, &dfd, &lk)) != APR_SUCCESS)
        return rv;
    rv = unlinkat(dfd, id, 0) == 0 ? sync_dir(dfd) : errno_status();
    close_locked(dfd, &lk);
    return rv;
}

/* Drops the entry only while it is the version seen describes. */
static apr_status_t change_if_unchanged(tw_inbox_record_t *rec, void *arg,
                                        tw_inbox_change_t *what)
{
    const tw_inbox_entry_t *seen = arg;

    if (rec->s.e.updated != seen->updated || rec->s.e.attempts != seen->attempts)
        return TW_INBOX_ECHANGED;
    *what = TW_INBOX_DROP;
    return APR_SUCCESS;
}

apr_status_t tw_inbox_remove_unchanged(const char *dir, const tw_inbox_entry_t *seen,
                                       apr_pool_t *pool)
{
    if (seen == NULL || pool == NULL)
        return APR_EINVAL;
    return tw_inbox_change(dir, seen->id, change_if_unchanged, (void *)seen, pool);
}

static int by_received(const void *a, const void *b)
{
    const tw_inbox_record_t *x = *(tw_inbox_record_t *const *)a;
    const tw_inbox_record_t *y = *(tw_inbox_record_t *const *)b;

    if (x->s.e.received != y->s.e.received)
        return x->s.e.received < y->s.e.received ? -1 : 1;
    return strcmp(x->s.e.id, y->s.e.id);
}

apr_status_t tw_inbox_records(const char *dir, unsigned int states,
                              apr_array_header_t **precords, unsigned int *pbad,
                              apr_pool_t *pool)
{
    apr_array_header_t *out;
    unsigned int bad = 0;
    struct dirent *de;
    apr_status_t rv;
    DIR *d;
    int dfd;

    if (dir == NULL || precords == NULL || pool == NULL)
        return APR_EINVAL;
    if ((rv = open_dir(dir, &dfd)) != APR_SUCCESS)
        return rv;
    if ((d = fdopendir(dfd)) == NULL) {
        rv = errno_status();
        close(dfd);
        return rv;
    }
    out = apr_array_make(pool, 16, sizeof(tw_inbox_record_t *));
    while (1) {
        tw_inbox_record_t *rec = NULL;

        errno = 0;
        if ((de = readdir(d)) == NULL)
            break;
        if (de->d_name[0] == '.')          /* ., .., temporary and lock files */
            continue;
        if (!tw_inbox_id_is_valid(de->d_name)) {
            bad++;
            continue;
        }
        rv = open_entry(dirfd(d), de->d_name, &rec, NULL, pool);
        if (rv == APR_SUCCESS && (states == 0 || (states & (1u << rec->s.state)) != 0))
            APR_ARRAY_PUSH(out, tw_inbox_record_t *) = rec;
        else if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv))  /* removed meanwhile: fine */
            bad++;
    }
    rv = errno != 0 ? errno_status() : APR_SUCCESS;
    closedir(d);
    if (rv != APR_SUCCESS)
        return rv;
    qsort(out->elts, (size_t)out->nelts, sizeof(tw_inbox_record_t *), by_received);
    *precords = out;
    if (pbad != NULL)
        *pbad = bad;
    return APR_SUCCESS;
}

apr_status_t tw_inbox_list(const char *dir, apr_array_header_t **pentries,
                           unsigned int *pbad, apr_pool_t *pool)
{
    apr_array_header_t *records = NULL, *out;
    apr_status_t rv;
    int i;

    if (pentries == NULL)
        return APR_EINVAL;
    if ((rv = tw_inbox_records(dir, 0, &records, pbad, pool)) != APR_SUCCESS)
        return rv;
    out = apr_array_make(pool, records->nelts > 0 ? records->nelts : 1,
                         sizeof(tw_inbox_entry_t *));
    for (i = 0; i < records->nelts; i++)
        APR_ARRAY_PUSH(out, tw_inbox_entry_t *) = &APR_ARRAY_IDX(records, i,
                                                                 tw_inbox_record_t *)->s.e;
    *pentries = out;
    return APR_SUCCESS;
}
