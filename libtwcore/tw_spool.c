/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_spool.c - one request body, memory first, then a temporary file.
 *
 * Layout: bytes [0, mem_len) live in a pool buffer, bytes [mem_len, length)
 * in the file, in order. The file exists only once the memory part is full
 * (mem_len == mem_limit), so a body never has a hole or two orders.
 *
 * Ownership: everything belongs to the pool given to tw_spool_create(). The
 * file comes from apr_file_mktemp(), whose cleanup on that pool closes it,
 * and its name is removed at once: the open descriptor is all that keeps
 * it, so no file is left behind even when a child process dies mid-request.
 * (Not APR_FOPEN_DELONCLOSE on top: once the name is free, mkstemp may hand
 * it to another request, whose file the close would then delete.)
 *
 * Writes are buffered: bytes for the file part collect in a SPOOL_WRITE_BUF
 * buffer and reach the file a buffer at a time (a full buffer, or
 * tw_spool_finish()), so a body that arrives in 8 KB socket reads costs one
 * write(2) per 64 KiB. Until then they are part of the body all the same:
 * reads take them from the buffer.
 *
 * Hazard: the file has one position shared by reads and writes. It is
 * tracked here (file_pos, -1 when unknown after a failure), so a sequential
 * reader (the handback, a second pass) and the appends seek only when the
 * position is not already where they need it.
 */
#include <string.h>

#include <apr_strings.h>

#include "tw/spool.h"

#define SPOOL_MEM_MIN      8192   /* first memory buffer when no bigger hint */
#define SPOOL_WRITE_BUF    ((apr_size_t)64 * 1024)   /* file part, per write(2) */
#define SPOOL_FILE_PREFIX  "twwebhook."

struct tw_spool {
    apr_pool_t *pool;
    const char *dir;          /* NULL: apr_temp_dir_get() at the first spill */
    apr_size_t mem_limit;     /* bytes the memory part may hold */
    apr_size_t mem_first;     /* size of the first buffer, from the hint */
    char *mem;                /* the memory part, allocated lazily */
    apr_size_t mem_cap;
    apr_size_t mem_len;
    apr_file_t *file;         /* the rest, once the memory part is full */
    apr_off_t file_len;       /* bytes written to the file */
    apr_off_t file_pos;       /* the file's position; -1: unknown */
    char *wbuf;               /* bytes [file_len, file_len + wbuf_len) of the */
    apr_size_t wbuf_len;      /* file part, not written yet */
    apr_status_t broken;      /* an append failed: the body is incomplete */
};

/* min(mem_limit, max(size_hint, SPOOL_MEM_MIN)) without overflowing. */
static apr_size_t first_buffer_size(apr_size_t mem_limit, apr_off_t size_hint)
{
    apr_size_t want = SPOOL_MEM_MIN;

    if (size_hint > 0 && (apr_uint64_t)size_hint > want)
        want = (apr_uint64_t)size_hint >= mem_limit ? mem_limit : (apr_size_t)size_hint;
    return want < mem_limit ? want : mem_limit;
}

apr_status_t tw_spool_create(tw_spool_t **psp, apr_pool_t *pool,
                             apr_size_t mem_limit, apr_off_t size_hint,
                             const char *dir)
{
    tw_spool_t *sp;

    if (psp == NULL || pool == NULL)
        return APR_EINVAL;
    sp = apr_pcalloc(pool, sizeof(*sp));
    if (sp == NULL)
        return APR_ENOMEM;
    sp->pool = pool;
    /* An empty dir would put the file in "/": take it as "not set". */
    sp->dir = dir != NULL && *dir != '\0' ? apr_pstrdup(pool, dir) : NULL;
    sp->mem_limit = mem_limit;
    sp->mem_first = first_buffer_size(mem_limit, size_hint);
    *psp = sp;
    return APR_SUCCESS;
}

/*
 * Makes room for need bytes in the memory part (need <= mem_limit),
 * doubling the buffer. A replaced buffer stays in the pool until it goes,
 * so the memory part costs less than 2 * mem_limit in all.
 */
static apr_status_t grow_memory(tw_spool_t *sp, apr_size_t need)
{
    apr_size_t cap = sp->mem_cap > 0 ? sp->mem_cap : sp->mem_first;
    char *mem;

    if (cap == 0)
        cap = 1;
    while (cap < need)
        cap = cap > sp->mem_limit / 2 ? sp->mem_limit : 2 * cap;
    if (cap == sp->mem_cap)
        return APR_SUCCESS;

    mem = apr_palloc(sp->pool, cap);
    if (mem == NULL)
        return APR_ENOMEM;
    if (sp->mem_len > 0)
        memcpy(mem, sp->mem, sp->mem_len);
    sp->mem = mem;
    sp->mem_cap = cap;
    return APR_SUCCESS;
}

/* Appends what fits of data to the memory part; returns how much that was. */
static apr_status_t append_memory(tw_spool_t *sp, const char *data,
                                  apr_size_t len, apr_size_t *taken)
{
    apr_size_t take = sp->mem_limit - sp->mem_len;
    apr_status_t rv;

    *taken = 0;
    if (take > len)
        take = len;
    if (take == 0)
        return APR_SUCCESS;
    if (sp->mem_len + take > sp->mem_cap) {
        rv = grow_memory(sp, sp->mem_len + take);
        if (rv != APR_SUCCESS)
            return rv;
    }
    memcpy(sp->mem + sp->mem_len, data, take);
    sp->mem_len += take;
    *taken = take;
    return APR_SUCCESS;
}

static apr_status_t open_file(tw_spool_t *sp)
{
    const char *dir = sp->dir;
    char *template;
    apr_status_t rv;

    if (dir == NULL) {
        rv = apr_temp_dir_get(&dir, sp->pool);
        if (rv != APR_SUCCESS)
            return rv;
    }
    /* apr_file_mktemp() rewrites the XXXXXX in place: a pool copy. */
    template = apr_pstrcat(sp->pool, dir, "/" SPOOL_FILE_PREFIX "XXXXXX", NULL);
    rv = apr_file_mktemp(&sp->file, template,
                         APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE
                         | APR_FOPEN_EXCL | APR_FOPEN_BINARY, sp->pool);
    if (rv != APR_SUCCESS) {
        sp->file = NULL;
        return rv;
    }
    rv = apr_file_remove(template, sp->pool);
    if (rv != APR_SUCCESS) {
        apr_file_close(sp->file);
        apr_file_remove(template, sp->pool);
        sp->file = NULL;
        return rv;
    }
    sp->file_pos = 0;
    return APR_SUCCESS;
}

/* Moves the file position to pos unless it is known to be there. */
static apr_status_t seek_file(tw_spool_t *sp, apr_off_t pos)
{
    apr_off_t at = pos;
    apr_status_t rv;

    if (sp->file_pos == pos)
        return APR_SUCCESS;
    sp->file_pos = -1;
    rv = apr_file_seek(sp->file, APR_SET, &at);
    if (rv == APR_SUCCESS && at == pos)
        sp->file_pos = pos;
    return rv != APR_SUCCESS ? rv : (at == pos ? APR_SUCCESS : APR_EGENERAL);
}

/* Writes len bytes at the end of the file. */
static apr_status_t write_file(tw_spool_t *sp, const char *data, apr_size_t len)
{
    apr_size_t written = 0;
    apr_status_t rv = seek_file(sp, sp->file_len);

    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_file_write_full(sp->file, data, len, &written);
    sp->file_len += (apr_off_t)written;
    sp->file_pos = rv == APR_SUCCESS ? sp->file_len : -1;
    return rv;
}

/* Writes out the buffered bytes; the buffer is then empty (on failure the
 * spool is broken anyway, see tw_spool_append). */
static apr_status_t flush_file(tw_spool_t *sp)
{
    apr_size_t n = sp->wbuf_len;

    if (n == 0)
        return APR_SUCCESS;
    sp->wbuf_len = 0;
    return write_file(sp, sp->wbuf, n);
}

static apr_status_t append_file(tw_spool_t *sp, const char *data, apr_size_t len)
{
    apr_status_t rv;

    if (sp->file == NULL) {
        rv = open_file(sp);
        if (rv != APR_SUCCESS)
            return rv;
        sp->wbuf = apr_palloc(sp->pool, SPOOL_WRITE_BUF);
        if (sp->wbuf == NULL)
            return APR_ENOMEM;
    }
    while (len > 0) {
        apr_size_t take = SPOOL_WRITE_BUF - sp->wbuf_len;

        /* A buffer's worth or more with nothing pending: no copy. */
        if (sp->wbuf_len == 0 && len >= SPOOL_WRITE_BUF)
            return write_file(sp, data, len);
        if (take > len)
            take = len;
        memcpy(sp->wbuf + sp->wbuf_len, data, take);
        sp->wbuf_len += take;
        data += take;
        len -= take;
        if (sp->wbuf_len == SPOOL_WRITE_BUF && (rv = flush_file(sp)) != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

apr_status_t tw_spool_append(tw_spool_t *sp, const void *data, apr_size_t len)
{
    const char *bytes = data;
    apr_size_t taken = 0;
    apr_status_t rv;

    if (sp == NULL || (data == NULL && len > 0))
        return APR_EINVAL;
    if (sp->broken != APR_SUCCESS)
        return sp->broken;
    if (len == 0)
        return APR_SUCCESS;

    if (sp->file == NULL) {
        rv = append_memory(sp, bytes, len, &taken);
        if (rv == APR_SUCCESS && taken < len)
            rv = append_file(sp, bytes + taken, len - taken);
    }
    else {
        rv = append_file(sp, bytes, len);
    }
    /*
     * Part of this chunk may be stored and part not: the body can never be
     * completed, so every later append reports the same failure.
     */
    if (rv != APR_SUCCESS)
        sp->broken = rv;
    return rv;
}

apr_status_t tw_spool_finish(tw_spool_t *sp)
{
    apr_status_t rv;

    if (sp == NULL)
        return APR_EINVAL;
    if (sp->broken != APR_SUCCESS)
        return sp->broken;
    rv = flush_file(sp);
    if (rv != APR_SUCCESS)
        sp->broken = rv;
    return rv;
}

apr_off_t tw_spool_length(const tw_spool_t *sp)
{
    return sp == NULL ? 0 : (apr_off_t)sp->mem_len + sp->file_len + (apr_off_t)sp->wbuf_len;
}

int tw_spool_on_disk(const tw_spool_t *sp)
{
    return sp != NULL && sp->file != NULL;
}

const void *tw_spool_memory_at(const tw_spool_t *sp, apr_off_t offset, apr_size_t *len)
{
    if (len == NULL)
        return NULL;
    *len = 0;
    if (sp == NULL || offset < 0 || offset >= (apr_off_t)sp->mem_len)
        return NULL;
    *len = sp->mem_len - (apr_size_t)offset;
    return sp->mem + offset;
}

static apr_size_t read_memory(const tw_spool_t *sp, apr_off_t offset,
                              char *buf, apr_size_t cap)
{
    apr_size_t n;
    const void *mem = tw_spool_memory_at(sp, offset, &n);

    if (mem == NULL)
        return 0;
    if (n > cap)
        n = cap;
    memcpy(buf, mem, n);
    return n;
}

/*
 * Reads up to cap bytes of the file part from file_offset (< file_len +
 * wbuf_len): what was written from the file, what is still buffered from
 * the buffer.
 */
static apr_status_t read_file(tw_spool_t *sp, apr_off_t file_offset,
                              char *buf, apr_size_t cap, apr_size_t *got)
{
    apr_size_t n = 0, from_buf;
    apr_status_t rv = APR_SUCCESS;

    *got = 0;
    if (file_offset < sp->file_len) {
        apr_off_t left = sp->file_len - file_offset;

        n = (apr_uint64_t)left < cap ? (apr_size_t)left : cap;
        rv = seek_file(sp, file_offset);
        if (rv == APR_SUCCESS) {
            rv = apr_file_read_full(sp->file, buf, n, got);
            sp->file_pos = rv == APR_SUCCESS ? file_offset + (apr_off_t)*got : -1;
        }
        if (rv != APR_SUCCESS || *got < n)
            return rv != APR_SUCCESS ? rv : APR_EOF;
    }
    from_buf = (apr_size_t)(file_offset + (apr_off_t)n - sp->file_len);
    if (n < cap && from_buf < sp->wbuf_len) {
        apr_size_t m = sp->wbuf_len - from_buf;

        if (m > cap - n)
            m = cap - n;
        memcpy(buf + n, sp->wbuf + from_buf, m);
        *got = n + m;
    }
    return rv;
}

apr_status_t tw_spool_read_at(tw_spool_t *sp, apr_off_t offset,
                              void *buf, apr_size_t cap, apr_size_t *got)
{
    apr_size_t from_memory, from_file = 0;
    apr_off_t file_offset;
    apr_status_t rv = APR_SUCCESS;

    if (got == NULL)
        return APR_EINVAL;
    *got = 0;
    if (sp == NULL || offset < 0 || (buf == NULL && cap > 0))
        return APR_EINVAL;
    if (offset >= tw_spool_length(sp) || cap == 0)
        return APR_SUCCESS;

    from_memory = read_memory(sp, offset, buf, cap);
    file_offset = offset + (apr_off_t)from_memory - (apr_off_t)sp->mem_len;
    if (from_memory < cap && sp->file != NULL
        && file_offset < sp->file_len + (apr_off_t)sp->wbuf_len)
        rv = read_file(sp, file_offset, (char *)buf + from_memory,
                       cap - from_memory, &from_file);
    *got = from_memory + from_file;
    return rv;
}

apr_status_t tw_spool_read_next(tw_spool_t *sp, tw_spool_cursor_t *cur,
                                void *buf, apr_size_t cap, apr_size_t *got)
{
    apr_status_t rv;

    if (got == NULL)
        return APR_EINVAL;
    *got = 0;
    if (cur == NULL)
        return APR_EINVAL;
    rv = tw_spool_read_at(sp, cur->offset, buf, cap, got);
    cur->offset += (apr_off_t)*got;
    return rv;
}
