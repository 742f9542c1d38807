/*
 * SPDX-License-Identifier: Apache-2.0
 * test_inbox.c - unit tests of tw_inbox.c: entries stored, parsed, listed and
 * updated, also by several processes at once.
 *
 * Makes (and removes) a directory under apr_temp_dir_get().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- the inbox (tw_inbox.c) ---------------------------------------------- */

/* A body source over a memory buffer; fail_at >= 0 makes reads from that
 * offset on fail, as a disk would under the spool. */
typedef struct {
    const unsigned char *data;
    apr_size_t len;
    apr_off_t fail_at;
} mem_source_t;

static apr_status_t mem_source(void *ctx, apr_off_t offset, void *buf, apr_size_t cap,
                               apr_size_t *got)
{
    mem_source_t *m = ctx;

    *got = 0;
    if (m->fail_at >= 0 && offset >= m->fail_at)
        return APR_FROM_OS_ERROR(EIO);
    if (offset >= (apr_off_t)m->len)
        return APR_SUCCESS;
    *got = m->len - (apr_size_t)offset < cap ? m->len - (apr_size_t)offset : cap;
    memcpy(buf, m->data + offset, *got);
    return APR_SUCCESS;
}

/* Names in dir, counted: entries (valid ids) and temporary files. */
static void count_dir(const char *dir, apr_pool_t *pool, int *entries, int *temps)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    *entries = *temps = 0;
    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0)
            continue;
        if (tw_inbox_id_is_valid(fi.name))
            (*entries)++;
        else if (fi.name[0] == '.')
            (*temps)++;
    }
    apr_dir_close(d);
}

static const struct verdict_case inbox_name_is_storable_cases[] = {
    { "Signature", 1, "header name Signature storable" },
    { "Bad Name", 0, "a name with a space is not" },
    { "Bad:Name", 0, "a name with a colon is not" },
    { "", 0, "an empty name is not" },
};

static const struct verdict_case inbox_value_is_storable_cases[] = {
    { "application/json; charset=utf-8", 1, "a plain value is storable" },
    { "a\tb", 1, "... with a tab too" },
    { "a\nheader Evil: 1", 0, "a value with LF is not" },
    { "a\rb", 0, "a value with CR is not" },
    { "a\x7f", 0, "a value with DEL is not" },
    { "", 0, "an empty value is not" },
};

static const struct verdict_case inbox_path_is_storable_cases[] = {
    { "/hooks/teamwork?x=1", 1, "a path with a query is storable" },
    { "hooks", 0, "a path not starting with / is not" },
    { "/a b", 0, "a path with a space is not" },
    { "http://evil/", 0, "an absolute URL is not" },
};

static void test_inbox_names(void)
{
    unsigned char key[TW_MAC_LEN];
    char id[TW_INBOX_ID_LEN + 1];
    char big[TW_INBOX_VALUE_MAX + 2];

    memset(key, 0xab, sizeof(key));
    key[0] = 0x01;
    is_int(tw_inbox_id(key, id), TW_OK, "inbox id from a key");
    is_int(strlen(id), TW_INBOX_ID_LEN, "... 64 characters");
    ok(strncmp(id, "01abab", 6) == 0, "... the lowercase hex of the key");
    ok(tw_inbox_id_is_valid(id), "... and a valid id");
    is_int(tw_inbox_id(NULL, id), TW_ERR_ARG, "inbox id of NULL: TW_ERR_ARG");
    ok(!tw_inbox_id_is_valid(NULL), "NULL is no id");
    ok(!tw_inbox_id_is_valid(""), "empty is no id");
    id[5] = 'A';
    ok(!tw_inbox_id_is_valid(id), "uppercase hex is no id");
    id[5] = 'a';
    id[63] = '\0';
    ok(!tw_inbox_id_is_valid(id), "63 digits are no id");
    ok(!tw_inbox_id_is_valid("../../../../etc/passwd"), "a path is no id");

    CHECK_VERDICTS(tw_inbox_name_is_storable, inbox_name_is_storable_cases);
    CHECK_VERDICTS(tw_inbox_value_is_storable, inbox_value_is_storable_cases);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ok(!tw_inbox_value_is_storable(big), "a value over TW_INBOX_VALUE_MAX is not");
    CHECK_VERDICTS(tw_inbox_path_is_storable, inbox_path_is_storable_cases);
}

static void test_inbox_parse(apr_pool_t *parent)
{
    static const char good[] =
        "twwebhook-inbox 1\nreceived 1700000000000000\nupdated 1700000001000000\n"
        "attempts 3\nstatus 502\npath /hooks/tw\nheader Signature: abc\n"
        "header Event: page.updated\nlength 5\n\nhello";
    static const char *bad[] = {
        "twwebhook-inbox 2\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 01\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts -1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 1000\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath x\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nheader A:b\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nheader A B: c\nlength 0\n\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n",
        "twwebhook-inbox 1\nreceived 1\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\nx\n",
        "twwebhook-inbox 1\nreceived 99999999999999999999\nupdated 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "twwebhook-inbox 1\nupdated 1\nreceived 1\nattempts 1\nstatus 0\npath /\nlength 0\n\n",
        "",
    };
    apr_pool_t *pool;
    tw_inbox_entry_t e;
    size_t i;

    apr_pool_create(&pool, parent);
    memset(&e, 0, sizeof(e));
    memcpy(e.id, "keep", 5);
    is_int(tw_inbox_parse(good, sizeof(good) - 1, &e, pool), APR_SUCCESS, "parse a good entry");
    is_str(e.id, "keep", "... the id is left as it was");
    ok(e.received == APR_INT64_C(1700000000000000), "... received");
    ok(e.updated == APR_INT64_C(1700000001000000), "... updated");
    is_int(e.attempts, 3, "... attempts");
    is_int(e.last_status, 502, "... last status");
    is_str(e.path, "/hooks/tw", "... path");
    is_int(e.nheaders, 2, "... two headers");
    is_str(e.nheaders > 1 ? e.headers[1].name : "", "Event", "... the second is Event");
    is_str(e.nheaders > 1 ? e.headers[1].value : "", "page.updated", "... with its value");
    is_int(e.body_length, 5, "... body length");
    ok(e.body_offset == (apr_off_t)(sizeof(good) - 1 - 5), "... body offset after the blank line");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(tw_inbox_parse(bad[i], strlen(bad[i]), &e, pool), TW_INBOX_ECORRUPT,
               "malformed entry %u refused", (unsigned)i);
    is_int(tw_inbox_parse(good, 20, &e, pool), TW_INBOX_ECORRUPT, "a cut-off entry refused");
    apr_pool_destroy(pool);
}

static void test_inbox_files(apr_pool_t *parent, const char *base)
{
    const char *dir = apr_pstrcat(parent, base, "/inbox", NULL);
    unsigned char key[TW_MAC_LEN], *body = malloc(200000);
    tw_inbox_entry_t e, *got = NULL;
    apr_array_header_t *list = NULL;
    mem_source_t src;
    unsigned int bad = 99;
    apr_time_t first;
    apr_pool_t *pool;
    int entries, temps, fd = -1;
    size_t i;

    apr_pool_create(&pool, parent);
    is_int(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS, "inbox dir made");
    for (i = 0; i < 200000; i++)
        body[i] = (unsigned char)(i * 31 + 7);
    body[10] = '\n';
    body[11] = '\n';    /* a blank line in the body must not matter */

    memset(&e, 0, sizeof(e));
    memset(key, 0x5a, sizeof(key));
    require_int(tw_inbox_id(key, e.id), TW_OK, "the entry id of a key");
    e.path = "/hooks/teamwork?from=test";
    e.headers[0].name = "Signature";
    e.headers[0].value = "0123456789abcdef";
    e.headers[1].name = "Event";
    e.headers[1].value = "page.updated";
    e.nheaders = 2;
    e.body_length = 200000;
    src.data = body;
    src.len = 200000;
    src.fail_at = -1;

    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS, "put a 200000-byte entry");
    count_dir(dir, pool, &entries, &temps);
    is_int(entries, 1, "... one entry in the directory");
    is_int(temps, 0, "... no temporary file left");
    is_int(tw_inbox_open(dir, e.id, &got, &fd, pool), APR_SUCCESS, "open it");
    if (got != NULL && fd >= 0) {
        unsigned char *back = malloc(200001);
        ssize_t n, total = 0;

        while ((n = read(fd, back + total, 200001 - (size_t)total)) > 0)
            total += n;
        close(fd);
        is_int(total, 200000, "... the body is 200000 bytes");
        ok(total == 200000 && memcmp(back, body, 200000) == 0, "... byte for byte");
        free(back);
        is_int(got->attempts, 1, "... attempts 1");
        is_int(got->last_status, 0, "... no status yet");
        is_str(got->path, e.path, "... the path");
        is_int(got->nheaders, 2, "... two headers");
        is_str(got->nheaders ? got->headers[0].value : "", "0123456789abcdef", "... the signature");
        ok(got->received > 0 && got->received <= apr_time_now(), "... received now");
        first = got->received;
    }
    else {
        ok(0, "... (entry could not be opened)");
        first = 0;
    }

    is_int(tw_inbox_set_status(dir, e.id, 502, pool), APR_SUCCESS, "set status 502");
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS, "put a second copy");
    got = NULL;
    is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "open it again");
    is_int(got ? got->attempts : 0, 2, "... attempts 2: one entry for both copies");
    ok(got && got->received == first, "... received is the first copy's");
    is_int(got ? got->last_status : -1, 0, "... the status of the new copy is not known yet");
    is_int(tw_inbox_set_status(dir, e.id, 500, pool), APR_SUCCESS, "set status 500");
    got = NULL;
    require_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "open the entry");
    is_int(got ? got->last_status : -1, 500, "... read back 500");
    is_int(got ? got->attempts : 0, 2, "... attempts kept");
    ok(got && got->body_length == 200000, "... body length kept");

    /* a second entry, empty body; then the list */
    {
        tw_inbox_entry_t e2 = e;
        mem_source_t none = { (const unsigned char *)"", 0, -1 };

        key[0] = 0x00;
        require_int(tw_inbox_id(key, e2.id), TW_OK, "the entry id of a key");
        e2.nheaders = 0;
        e2.body_length = 0;
        is_int(tw_inbox_put(dir, &e2, mem_source, &none, pool), APR_SUCCESS, "put an empty body");
        /* litter a list must not take for entries */
        apr_file_t *f;
        apr_file_open(&f, apr_pstrcat(pool, dir, "/.leftover.tmp", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE, APR_FPROT_OS_DEFAULT, pool);
        apr_file_close(f);
        apr_file_open(&f, apr_pstrcat(pool, dir, "/notes.txt", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE, APR_FPROT_OS_DEFAULT, pool);
        apr_file_close(f);
        is_int(tw_inbox_list(dir, &list, &bad, pool), APR_SUCCESS, "list");
        is_int(list ? list->nelts : 0, 2, "... two entries");
        is_int(bad, 1, "... one stranger counted as bad (notes.txt), the temporary file ignored");
        ok(list && list->nelts == 2
           && strcmp(APR_ARRAY_IDX(list, 0, tw_inbox_entry_t *)->id, e.id) == 0,
           "... oldest received first");
        is_int(tw_inbox_remove(dir, e2.id, pool), APR_SUCCESS, "remove the empty one");
        ok(APR_STATUS_IS_ENOENT(tw_inbox_remove(dir, e2.id, pool)), "... removing it again: ENOENT");
        ok(APR_STATUS_IS_ENOENT(tw_inbox_set_status(dir, e2.id, 200, pool)),
           "... setting its status: ENOENT");
        apr_file_remove(apr_pstrcat(pool, dir, "/.leftover.tmp", NULL), pool);
        apr_file_remove(apr_pstrcat(pool, dir, "/notes.txt", NULL), pool);
    }

    /* a corrupt entry: cut short */
    {
        const char *path = apr_pstrcat(pool, dir, "/", e.id, NULL);
        apr_finfo_t fi;

        apr_stat(&fi, path, APR_FINFO_SIZE, pool);
        is_int(truncate(path, (off_t)(fi.size - 1)), 0, "cut the entry one byte short");
        is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), TW_INBOX_ECORRUPT, "... open: corrupt");
        is_int(tw_inbox_list(dir, &list, &bad, pool), APR_SUCCESS, "... list still works");
        is_int(list ? list->nelts : -1, 0, "... without it");
        is_int(bad, 1, "... counted as bad");
        is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS,
               "a new copy replaces the corrupt entry");
        got = NULL;
        is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "... which opens again");
        is_int(got ? got->attempts : 0, 1, "... starting over at attempts 1");
    }

    /* the body source fails half-way (a disk error under the spool) */
    src.fail_at = 100000;
    is_int(tw_inbox_remove(dir, e.id, pool), APR_SUCCESS, "remove the entry");
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_FROM_OS_ERROR(EIO), "put with a failing source: EIO");
    count_dir(dir, pool, &entries, &temps);
    is_int(entries, 0, "... no entry");
    is_int(temps, 0, "... no temporary file left");
    src.fail_at = -1;
    src.len = 1000;    /* shorter than announced */
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINCOMPLETE,
           "put with a body shorter than its length: APR_EINCOMPLETE");
    count_dir(dir, pool, &entries, &temps);
    is_int(entries + temps, 0, "... nothing left");

    /* values that may not be stored */
    src.len = 200000;
    e.headers[1].value = "page.updated\nheader Injected: 1";
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINVAL, "a header value with LF: EINVAL");
    e.headers[1].value = "page.updated";
    e.path = "/a b";
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINVAL, "a path with a space: EINVAL");
    e.path = "/hooks";
    memcpy(e.id, "../x", 5);
    is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_EINVAL, "an id that is a path: EINVAL");
    require_int(tw_inbox_id(key, e.id), TW_OK, "the entry id of a key");

    /* a directory that is not there, or not a directory */
    ok(APR_STATUS_IS_ENOENT(tw_inbox_put(apr_pstrcat(pool, dir, "/missing", NULL), &e,
                                         mem_source, &src, pool)),
       "put into a missing directory: ENOENT");
    {
        const char *file = apr_pstrcat(pool, dir, "/plainfile", NULL);
        apr_file_t *f;

        apr_file_open(&f, file, APR_FOPEN_WRITE | APR_FOPEN_CREATE, APR_FPROT_OS_DEFAULT, pool);
        apr_file_close(f);
        ok(APR_STATUS_IS_ENOTDIR(tw_inbox_put(file, &e, mem_source, &src, pool)),
           "put into a plain file: ENOTDIR");
        apr_file_remove(file, pool);
    }
    if (geteuid() != 0) {
        /* root ignores permissions; t/130_inbox.t checks this under httpd */
        chmod(dir, 0500);
        ok(APR_STATUS_IS_EACCES(tw_inbox_put(dir, &e, mem_source, &src, pool)),
           "put into a read-only directory: EACCES");
        chmod(dir, 0700);
    }
    {
        char msg[128];
        is_str(tw_inbox_strerror(TW_INBOX_ECORRUPT, msg, sizeof(msg)),
               "not a well-formed inbox entry", "tw_inbox_strerror knows TW_INBOX_ECORRUPT");
    }
    is_int(tw_inbox_put(NULL, &e, mem_source, &src, pool), APR_EINVAL, "put with no dir: EINVAL");
    is_int(tw_inbox_list(NULL, &list, NULL, pool), APR_EINVAL, "list with no dir: EINVAL");
    apr_dir_remove(dir, pool);
    free(body);
    apr_pool_destroy(pool);
}

/*
 * Copies of one delivery recorded at the same instant by several
 * processes (httpd's children; twwebhook-inbox beside them), each followed
 * by the status update that comes after the app answered: every copy is
 * counted (the entry is locked across each read-modify-write), and no
 * lock or temporary file is left behind.
 */
#define RACE_PROCS   8
#define RACE_COPIES  40

static int race_child(const char *dir, const tw_inbox_entry_t *e, mem_source_t *src)
{
    apr_pool_t *pool;
    int i, failed = 0;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < RACE_COPIES; i++) {
        if (tw_inbox_put(dir, e, mem_source, src, pool) != APR_SUCCESS)
            failed = 1;
        if (tw_inbox_set_status(dir, e->id, 500 + i % 4, pool) != APR_SUCCESS)
            failed = 1;
        apr_pool_clear(pool);
    }
    return failed;
}

static void test_inbox_concurrent(apr_pool_t *parent, const char *base)
{
    const char *dir = apr_pstrcat(parent, base, "/inbox-race", NULL);
    static const unsigned char body[] = "{\"event\":\"page.updated\"}";
    mem_source_t src = { body, sizeof(body) - 1, -1 };
    unsigned char key[TW_MAC_LEN];
    tw_inbox_entry_t e, *got = NULL;
    pid_t pids[RACE_PROCS];
    int i, failed = 0, entries, temps;
    apr_pool_t *pool;

    apr_pool_create(&pool, parent);
    is_int(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS,
           "race: inbox dir made");
    memset(&e, 0, sizeof(e));
    memset(key, 0x3c, sizeof(key));
    require_int(tw_inbox_id(key, e.id), TW_OK, "the entry id of a key");
    e.path = "/hooks/race";
    e.body_length = (apr_off_t)src.len;
    fflush(stdout);     /* the children must not print the parent's buffer again */
    for (i = 0; i < RACE_PROCS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(race_child(dir, &e, &src));
    }
    for (i = 0; i < RACE_PROCS; i++) {
        int wstatus = 0;

        if (pids[i] < 0 || waitpid(pids[i], &wstatus, 0) != pids[i]
            || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
            failed++;
    }
    is_int(failed, 0, "race: every process recorded every copy and status");
    is_int(tw_inbox_open(dir, e.id, &got, NULL, pool), APR_SUCCESS, "race: the entry opens");
    is_int(got ? (int)got->attempts : -1, RACE_PROCS * RACE_COPIES,
           "race: attempts counts every copy of every process (%d x %d)", RACE_PROCS,
           RACE_COPIES);

    /* twwebhook-inbox redeliver removes only the version it sent */
    {
        tw_inbox_entry_t *seen = got, *again = NULL;

        is_int(tw_inbox_put(dir, &e, mem_source, &src, pool), APR_SUCCESS,
               "a copy comes after the entry was read");
        is_int(seen ? tw_inbox_remove_unchanged(dir, seen, pool) : -1, TW_INBOX_ECHANGED,
               "... removing the version read: TW_INBOX_ECHANGED");
        is_int(tw_inbox_open(dir, e.id, &again, NULL, pool), APR_SUCCESS, "... the entry is kept");
        is_int(again ? (int)again->attempts : -1, RACE_PROCS * RACE_COPIES + 1,
               "... with the new copy counted");
        is_int(again ? tw_inbox_remove_unchanged(dir, again, pool) : -1, APR_SUCCESS,
               "removing the version now read: removed");
        ok(again && APR_STATUS_IS_ENOENT(tw_inbox_remove_unchanged(dir, again, pool)),
           "... and again: ENOENT");
    }
    count_dir(dir, pool, &entries, &temps);
    is_int(entries + temps, 0, "race: no entry, lock or temporary file left");
    apr_dir_remove(dir, pool);
    apr_pool_destroy(pool);
}

void unit_inbox(apr_pool_t *pool)
{
    const char *tmp = NULL;
    char *base;

    test_inbox_names();
    test_inbox_parse(pool);
    apr_temp_dir_get(&tmp, pool);
    base = apr_psprintf(pool, "%s/tw_unit_inbox.%ld", tmp ? tmp : "/tmp", (long)getpid());
    test_inbox_files(pool, base);
    test_inbox_concurrent(pool, base);
    apr_dir_remove(base, pool);
}
