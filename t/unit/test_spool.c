/*
 * SPDX-License-Identifier: Apache-2.0
 * test_spool.c - unit tests of tw_spool.c: one body, memory first, then a
 * temporary file.
 *
 * Makes (and removes) a directory under apr_temp_dir_get().
 */
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- the spool ---------------------------------------------------------- */

/* Number of entries (other than . and ..) in dir, or -1. */
static int count_dir_entries(const char *dir, apr_pool_t *pool)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return -1;
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
            n++;
    }
    apr_dir_close(d);
    return n;
}

/* Reads the whole spool back in chunk-sized pieces and compares with src. */
static int spool_equals(tw_spool_t *sp, const unsigned char *src, size_t len,
                        size_t chunk, unsigned char *buf)
{
    apr_off_t off = 0;
    apr_size_t got;

    for (;;) {
        if (tw_spool_read_at(sp, off, buf, chunk, &got) != APR_SUCCESS)
            return 0;
        if (got == 0)
            break;
        if ((size_t)off + got > len || memcmp(buf, src + off, got) != 0)
            return 0;
        off += (apr_off_t)got;
    }
    return (size_t)off == len;
}

static void test_spool_memory(apr_pool_t *parent, const char *dir)
{
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    unsigned char src[4096], buf[4096];
    apr_size_t got = 99;
    size_t i;

    for (i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);
    apr_pool_create(&pool, parent);

    is_int(tw_spool_create(&sp, pool, 65536, -1, dir), APR_SUCCESS, "spool created, no size hint");
    is_int(tw_spool_length(sp), 0, "new spool is empty");
    is_int(tw_spool_read_at(sp, 0, buf, sizeof(buf), &got), APR_SUCCESS, "read_at of an empty spool");
    is_int(got, 0, "... gives 0 bytes");
    is_int(tw_spool_append(sp, src, 1000), APR_SUCCESS, "append 1000 bytes");
    is_int(tw_spool_append(sp, src + 1000, 0), APR_SUCCESS, "append nothing");
    is_int(tw_spool_append(sp, src + 1000, 3096), APR_SUCCESS, "append 3096 bytes");
    is_int(tw_spool_length(sp), 4096, "length 4096");
    ok(!tw_spool_on_disk(sp), "small body stays in memory");
    ok(spool_equals(sp, src, 4096, 333, buf), "read back in 333-byte chunks");
    is_int(tw_spool_read_at(sp, 4000, buf, 500, &got), APR_SUCCESS, "read_at near the end");
    is_int(got, 96, "... gives what is left");
    is_int(tw_spool_read_at(sp, 4096, buf, 10, &got), APR_SUCCESS, "read_at at the end");
    is_int(got, 0, "... gives 0 bytes");
    is_int(tw_spool_read_at(sp, 10000, buf, 10, &got), APR_SUCCESS, "read_at past the end");
    is_int(got, 0, "... gives 0 bytes");
    is_int(tw_spool_read_at(sp, -1, buf, 10, &got), APR_EINVAL, "read_at a negative offset: APR_EINVAL");
    is_int(tw_spool_append(sp, NULL, 3), APR_EINVAL, "append NULL data: APR_EINVAL");
    is_int(tw_spool_create(NULL, pool, 10, -1, dir), APR_EINVAL, "create into NULL: APR_EINVAL");
    is_int(tw_spool_create(&sp, NULL, 10, -1, dir), APR_EINVAL, "create in a NULL pool: APR_EINVAL");

    /* Exactly at the limit stays in memory; one more byte spills. */
    is_int(tw_spool_create(&sp, pool, 1024, 1024, dir), APR_SUCCESS, "spool of 1024 bytes, hint 1024");
    is_int(tw_spool_append(sp, src, 1024), APR_SUCCESS, "append exactly mem_limit bytes");
    ok(!tw_spool_on_disk(sp), "... still in memory");
    is_int(tw_spool_append(sp, src + 1024, 1), APR_SUCCESS, "append one more byte");
    ok(tw_spool_on_disk(sp), "... now on disk");
    is_int(tw_spool_length(sp), 1025, "length 1025");
    ok(spool_equals(sp, src, 1025, 7, buf), "read back across the boundary in 7-byte chunks");
    is_int(tw_spool_read_at(sp, 1020, buf, 100, &got), APR_SUCCESS, "one read_at across the boundary");
    ok(got == 5 && memcmp(buf, src + 1020, 5) == 0, "... gives the 5 bytes from both parts");

    /* A hint above the limit, growth by doubling, a zero limit. */
    is_int(tw_spool_create(&sp, pool, 3000, 1 << 30, dir), APR_SUCCESS, "spool with a hint above the limit");
    for (i = 0; i < 3000; i += 100)
        require_int(tw_spool_append(sp, src + i, 100), APR_SUCCESS, "append 100 bytes at %zu", (size_t)i);
    ok(!tw_spool_on_disk(sp) && spool_equals(sp, src, 3000, 4096, buf), "filled to its limit in memory");
    is_int(tw_spool_create(&sp, pool, 100000, 10, dir), APR_SUCCESS, "spool with a small hint");
    for (i = 0; i + 13 <= sizeof(src); i += 13)
        require_int(tw_spool_append(sp, src + i, 13), APR_SUCCESS, "append 13 bytes at %zu", (size_t)i);
    ok(!tw_spool_on_disk(sp) && spool_equals(sp, src, i, 1000, buf), "grew past its first buffer in memory");
    is_int(tw_spool_create(&sp, pool, 0, -1, dir), APR_SUCCESS, "spool with no memory part");
    is_int(tw_spool_append(sp, src, 10), APR_SUCCESS, "append 10 bytes to it");
    ok(tw_spool_on_disk(sp), "... goes to disk");
    ok(spool_equals(sp, src, 10, 3, buf), "... and reads back");

    apr_pool_destroy(pool);
    is_int(count_dir_entries(dir, parent), 0, "no file left after the pool is gone");
}

static void test_spool_disk(apr_pool_t *parent, const char *dir)
{
    const size_t total = 5 * 1024 * 1024;
    unsigned char *src = malloc(total), *buf = malloc(131072);
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    size_t off, i;
    int append_ok = 1, random_ok = 1, mid_ok = 1;

    if (src == NULL || buf == NULL)
        abort();
    for (i = 0; i < total; i++)
        src[i] = (unsigned char)(rng_next() >> 24);
    apr_pool_create(&pool, parent);

    is_int(tw_spool_create(&sp, pool, 65536, -1, dir), APR_SUCCESS, "spool with a 64 KiB memory part");
    /* Odd chunk sizes (1..8191, plus a few large ones) up to 5 MiB. */
    for (off = 0; off < total; ) {
        size_t n = (rng_next() % 5 == 0) ? 1 + rng_below(100000) : 1 + rng_below(8191);

        if (n > total - off)
            n = total - off;
        if (tw_spool_append(sp, src + off, n) != APR_SUCCESS)
            append_ok = 0;
        off += n;
        /* Interleave reads with the appends: an append must not land where a read left the file position. */
        if (rng_next() % 7 == 0 && off > 0) {
            apr_off_t at = (apr_off_t)rng_below(off);
            apr_size_t got = 0;

            if (tw_spool_read_at(sp, at, buf, 4099, &got) != APR_SUCCESS
                || memcmp(buf, src + at, got) != 0 || got == 0)
                mid_ok = 0;
        }
    }
    ok(append_ok, "5 MiB appended in odd chunks");
    ok(mid_ok, "read_at between appends sees the right bytes");
    is_int(tw_spool_length(sp), total, "length is 5 MiB");
    ok(tw_spool_on_disk(sp), "spool is on disk");
    /* The name goes as soon as the file is open: a crashed process leaves nothing. */
    is_int(count_dir_entries(dir, parent), 0, "no spool file name in the directory, even while in use");

    for (i = 0; i < 2000; i++) {
        apr_off_t at = (apr_off_t)rng_below(total + 100);
        apr_size_t cap = 1 + rng_below(70000), got = 0, want;

        want = (size_t)at >= total ? 0 : (total - (size_t)at < cap ? total - (size_t)at : cap);
        if (tw_spool_read_at(sp, at, buf, cap, &got) != APR_SUCCESS || got != want
            || (got > 0 && memcmp(buf, src + at, got) != 0)) {
            random_ok = 0;
            diag("read_at(%ld, %zu) gave %zu, expected %zu", (long)at, (size_t)cap, (size_t)got, (size_t)want);
            break;
        }
    }
    ok(random_ok, "2000 read_at at random offsets and sizes match the source");
    ok(spool_equals(sp, src, total, 65537, buf), "sequential read back in 65537-byte chunks");
    ok(spool_equals(sp, src, total, 4093, buf), "sequential read back in 4093-byte chunks");

    /* Append after read_at must still append at the end. */
    {
        apr_size_t got = 0;

        require_int(tw_spool_read_at(sp, 100, buf, 10, &got), APR_SUCCESS, "read_at 100");
        is_int(tw_spool_append(sp, "tail", 4), APR_SUCCESS, "append after read_at");
        is_int(tw_spool_read_at(sp, (apr_off_t)total, buf, 10, &got), APR_SUCCESS, "read the tail back");
        ok(got == 4 && memcmp(buf, "tail", 4) == 0, "... it landed at the end");
        ok(spool_equals(sp, src, total, 100003, buf) == 0, "... (the spool is now longer than the source)");
        is_int(tw_spool_read_at(sp, 100, buf, 10, &got), APR_SUCCESS, "the early bytes");
        ok(got == 10 && memcmp(buf, src + 100, 10) == 0, "... were not overwritten");
    }

    apr_pool_destroy(pool);
    is_int(count_dir_entries(dir, parent), 0, "the spool file is removed with its pool");
    free(src);
    free(buf);
}

static void test_spool_bad_dir(apr_pool_t *parent, const char *dir)
{
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    const char *missing = apr_pstrcat(parent, dir, "/does-not-exist/either", NULL);
    apr_size_t got = 0;
    char buf[64];
    apr_status_t rv;

    apr_pool_create(&pool, parent);
    is_int(tw_spool_create(&sp, pool, 16, -1, missing), APR_SUCCESS,
           "spool in a missing directory is created (nothing touches the disk yet)");
    is_int(tw_spool_append(sp, "0123456789", 10), APR_SUCCESS, "appending within the memory part works");
    rv = tw_spool_append(sp, "abcdefghij", 10);
    ok(rv != APR_SUCCESS, "the spill fails with an error (%d)", rv);
    ok(APR_STATUS_IS_ENOENT(rv), "... ENOENT");
    ok(!tw_spool_on_disk(sp), "... and the spool is not on disk");
    ok(tw_spool_append(sp, "x", 1) == rv, "later appends fail the same way");
    is_int(tw_spool_length(sp), 16, "length counts what was stored");
    is_int(tw_spool_read_at(sp, 0, buf, sizeof(buf), &got), APR_SUCCESS, "what was stored reads back");
    ok(got == 16 && memcmp(buf, "0123456789abcdef", 16) == 0, "... all 16 bytes");
    apr_pool_destroy(pool);
}

/*
 * The size of the spool file this process holds open for dir (found
 * through /proc/self/fd: its name is gone from dir), or -1 if none.
 */
static long long spool_file_size(const char *dir)
{
    char link[64], target[4096];
    size_t dlen = strlen(dir);
    struct stat st;
    int fd;

    for (fd = 0; fd < 1024; fd++) {
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, dir, dlen) == 0 && strncmp(target + dlen, "/twwebhook.", 11) == 0
            && fstat(fd, &st) == 0)
            return (long long)st.st_size;
    }
    return -1;
}

/*
 * Appends to the file part are buffered 64 KiB at a time and read back
 * before they are written; tw_spool_finish writes the rest; cursors read
 * in order across the memory part, the file and the write buffer.
 */
static void test_spool_buffered(apr_pool_t *parent, const char *dir)
{
    const size_t mem = 1000, total = mem + 3 * 65536 + 123;
    unsigned char *src = malloc(total), *buf = malloc(total);
    tw_spool_cursor_t a = TW_SPOOL_CURSOR_INIT, b = TW_SPOOL_CURSOR_INIT;
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    apr_size_t got = 0;
    size_t off, i;
    int seq_ok = 1;

    if (src == NULL || buf == NULL)
        abort();
    for (i = 0; i < total; i++)
        src[i] = (unsigned char)(rng_next() >> 24);
    apr_pool_create(&pool, parent);
    is_int(tw_spool_create(&sp, pool, mem, -1, dir), APR_SUCCESS, "spool with a 1000-byte memory part");
    /* 7-byte appends: every write-buffer boundary falls inside one. */
    for (off = 0; off + 7 <= mem + 65536 + 10; off += 7)
        if (tw_spool_append(sp, src + off, 7) != APR_SUCCESS)
            break;
    ok(off + 7 > mem + 65536 + 10, "7-byte appends past the first 64 KiB of the file part");
    is_int(spool_file_size(dir), 65536, "... the file holds one full buffer, the rest is buffered");
    ok(spool_equals(sp, src, off, 4099, buf), "... and what is buffered reads back already");
    /* one append that tops up the buffer and goes on for more than a
     * buffer's worth: the rest of it is written without a copy */
    is_int(tw_spool_append(sp, src + off, total - 123 - off), APR_SUCCESS,
           "append all but 123 bytes in one piece");
    is_int(spool_file_size(dir), (long long)(total - 123 - mem), "... all of it is in the file");
    is_int(tw_spool_append(sp, src + total - 123, 123), APR_SUCCESS, "append the last 123 bytes");
    is_int(tw_spool_length(sp), (long long)total, "length counts the buffered bytes");
    is_int(spool_file_size(dir), (long long)(total - 123 - mem), "... which are not in the file yet");

    /* two cursors, interleaved with each other and with read_at */
    while (seq_ok) {
        apr_size_t ga = 0, gb = 0;

        if (tw_spool_read_next(sp, &a, buf, 4093, &ga) != APR_SUCCESS
            || memcmp(buf, src + a.offset - ga, ga) != 0)
            seq_ok = 0;
        if (tw_spool_read_at(sp, 5, buf, 3, &got) != APR_SUCCESS)
            seq_ok = 0;
        if (tw_spool_read_next(sp, &b, buf, 65537, &gb) != APR_SUCCESS
            || memcmp(buf, src + b.offset - gb, gb) != 0)
            seq_ok = 0;
        if (ga == 0 && gb == 0)
            break;
    }
    ok(seq_ok && a.offset == (apr_off_t)total && b.offset == (apr_off_t)total,
       "two cursors read memory part, file and buffer in order, interleaved");
    is_int(tw_spool_read_next(sp, &a, buf, 10, &got), APR_SUCCESS, "read_next at the end");
    ok(got == 0 && a.offset == (apr_off_t)total, "... gives nothing and stays put");
    is_int(tw_spool_read_next(sp, NULL, buf, 10, &got), APR_EINVAL, "read_next without a cursor: APR_EINVAL");

    is_int(tw_spool_finish(sp), APR_SUCCESS, "finish");
    is_int(spool_file_size(dir), (long long)(total - mem), "... the file holds the whole file part");
    ok(spool_equals(sp, src, total, 65536, buf), "... and it all reads back");
    is_int(tw_spool_append(sp, "more", 4), APR_SUCCESS, "appending after finish");
    is_int(tw_spool_finish(sp), APR_SUCCESS, "... and finishing again");
    is_int(tw_spool_read_at(sp, (apr_off_t)total, buf, 10, &got), APR_SUCCESS, "read the tail back");
    ok(got == 4 && memcmp(buf, "more", 4) == 0, "... at the end");
    apr_pool_destroy(pool);
    free(src);
    free(buf);
}

/*
 * A write that fails (here: past RLIMIT_FSIZE, EFBIG) is reported, also
 * when it is the last flush, held back in the buffer until finish.
 */
static void test_spool_write_failure(apr_pool_t *parent, const char *dir)
{
    static char chunk[65536];
    struct rlimit old, lim;
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    apr_status_t rv;

    if (getrlimit(RLIMIT_FSIZE, &old) != 0) {
        ok(0, "getrlimit(RLIMIT_FSIZE)");
        return;
    }
    signal(SIGXFSZ, SIG_IGN);   /* EFBIG instead of a signal */
    lim = old;
    lim.rlim_cur = 100000;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        ok(0, "setrlimit(RLIMIT_FSIZE, 100000)");
        return;
    }
    memset(chunk, 'x', sizeof(chunk));
    apr_pool_create(&pool, parent);
    require_int(tw_spool_create(&sp, pool, 0, -1, dir), APR_SUCCESS, "spool with no memory part");
    is_int(tw_spool_append(sp, chunk, 65536), APR_SUCCESS, "64 KiB reach the file (limit 100000)");
    is_int(tw_spool_append(sp, chunk, 40000), APR_SUCCESS, "40000 more are buffered: no error yet");
    rv = tw_spool_finish(sp);
    ok(rv != APR_SUCCESS, "finish reports the failed write (%d)", rv);
    ok(rv == APR_FROM_OS_ERROR(EFBIG), "... EFBIG");
    ok(tw_spool_append(sp, "x", 1) == rv && tw_spool_finish(sp) == rv,
       "later appends and finishes fail the same way");
    apr_pool_destroy(pool);

    apr_pool_create(&pool, parent);
    require_int(tw_spool_create(&sp, pool, 0, -1, dir), APR_SUCCESS, "spool with no memory part");
    require_int(tw_spool_append(sp, chunk, 65536), APR_SUCCESS, "the first 64 KiB (buffered)");
    rv = tw_spool_append(sp, chunk, 65536);
    ok(rv != APR_SUCCESS, "an append whose flush fails reports it (%d)", rv);
    apr_pool_destroy(pool);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
}

/* tw_spool_memory_at: the memory part in place, nothing of the file part. */
static void test_spool_memory_at(apr_pool_t *parent, const char *dir)
{
    apr_pool_t *pool;
    tw_spool_t *sp = NULL;
    unsigned char src[3000];
    const unsigned char *mem;
    apr_size_t len = 99;
    size_t i;

    for (i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 11 + 5);
    apr_pool_create(&pool, parent);
    ok(tw_spool_memory_at(NULL, 0, &len) == NULL && len == 0, "memory_at of no spool: NULL, 0 bytes");
    is_int(tw_spool_create(&sp, pool, 2048, -1, dir), APR_SUCCESS, "spool of 2048 bytes in memory");
    ok(tw_spool_memory_at(sp, 0, NULL) == NULL, "memory_at without a length: NULL");
    len = 99;
    ok(tw_spool_memory_at(sp, 0, &len) == NULL && len == 0, "memory_at of an empty spool: NULL, 0 bytes");
    is_int(tw_spool_append(sp, src, sizeof(src)), APR_SUCCESS, "append 3000 bytes (952 to disk)");
    mem = tw_spool_memory_at(sp, 0, &len);
    ok(mem != NULL && len == 2048 && memcmp(mem, src, 2048) == 0,
       "memory_at 0: the 2048 bytes of the memory part, in place");
    mem = tw_spool_memory_at(sp, 2000, &len);
    ok(mem != NULL && len == 48 && memcmp(mem, src + 2000, 48) == 0,
       "memory_at 2000: the last 48 bytes of the memory part");
    len = 99;
    ok(tw_spool_memory_at(sp, 2048, &len) == NULL && len == 0, "memory_at 2048 (the file part): NULL, 0 bytes");
    len = 99;
    ok(tw_spool_memory_at(sp, 5000, &len) == NULL && len == 0, "memory_at past the end: NULL, 0 bytes");
    len = 99;
    ok(tw_spool_memory_at(sp, -1, &len) == NULL && len == 0, "memory_at a negative offset: NULL, 0 bytes");
    apr_pool_destroy(pool);
    is_int(count_dir_entries(dir, parent), 0, "no file left after the pool is gone");
}

static void test_spool(apr_pool_t *pool)
{
    const char *tmp = NULL;
    char *dir;

    if (apr_temp_dir_get(&tmp, pool) != APR_SUCCESS) {
        ok(0, "apr_temp_dir_get");
        return;
    }
    dir = apr_pstrcat(pool, tmp, "/tw_unit.XXXXXX", NULL);
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp %s", dir);
        return;
    }
    test_spool_memory(pool, dir);
    test_spool_memory_at(pool, dir);
    test_spool_disk(pool, dir);
    test_spool_bad_dir(pool, dir);
    test_spool_buffered(pool, dir);
    test_spool_write_failure(pool, dir);
    ok(apr_dir_remove(dir, pool) == APR_SUCCESS, "the test directory is empty and removed");
}

void unit_spool(apr_pool_t *pool)
{
    test_spool(pool);
}
