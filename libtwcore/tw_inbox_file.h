/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_inbox_file.h - the inbox's entry files as the directory engine
 * (libtwcore/tw_store_dir.c) sees them: whole records (tw/inbox.h's
 * fields, the store's and the dispatch lease's owner) and one locked
 * read-modify-write. Shared by tw_inbox.c and tw_store_dir.c only; not
 * part of the core's interface.
 */
#ifndef TW_INBOX_FILE_H
#define TW_INBOX_FILE_H

#include "tw/store.h"

/* An entry file's whole metadata. s.secret_index is -1 when unknown
 * (entries written by 0.1.0, or by tw_inbox_put). */
typedef struct {
    tw_stored_t s;
    const char *owner;        /* who holds the dispatch lease; NULL: nobody */
} tw_inbox_record_t;

/* What a change function decided for the entry it was shown. */
typedef enum {
    TW_INBOX_KEEP,            /* leave it as it is */
    TW_INBOX_WRITE,           /* write the record back (updated set to now) */
    TW_INBOX_DROP             /* remove the entry */
} tw_inbox_change_t;

/* Looks at (and may change) rec under the entry's lock; a status other
 * than APR_SUCCESS leaves the entry as it is and is returned. */
typedef apr_status_t (*tw_inbox_change_fn)(tw_inbox_record_t *rec, void *arg,
                                           tw_inbox_change_t *what);

/*
 * One read-modify-write of entry id under its lock: reads it, asks change,
 * and writes (body kept, durably) or removes it as change says. APR_ENOENT
 * when there is no such entry; TW_INBOX_ECORRUPT when it does not parse.
 */
apr_status_t tw_inbox_change(const char *dir, const char *id, tw_inbox_change_fn change,
                             void *arg, apr_pool_t *pool);

/*
 * Records a copy (tw_store_put's meaning): rec's received, updated and
 * attempts are set here. A new entry: attempts 1 for a DIRECT copy, 0 for
 * a QUEUED one (the dispatcher counts its own). An existing one keeps its
 * body and record; a DIRECT copy counts one more attempt and clears the
 * status. An entry that does not parse is replaced.
 */
apr_status_t tw_inbox_store(const char *dir, const tw_inbox_record_t *rec,
                            tw_inbox_read_fn source, void *ctx, int *pcreated,
                            apr_pool_t *pool);

/* Opens and parses one entry (tw_inbox_open's meaning, the whole record). */
apr_status_t tw_inbox_open_record(const char *dir, const char *id, tw_inbox_record_t **prec,
                                  int *pfd, apr_pool_t *pool);

/* Every entry (tw_inbox_record_t *) whose state is in the mask (0: all),
 * oldest received first; unreadable ones counted in *pbad. */
apr_status_t tw_inbox_records(const char *dir, unsigned int states,
                              apr_array_header_t **precords, unsigned int *pbad,
                              apr_pool_t *pool);

/* Reads a record's metadata from buf (tw_inbox_parse's meaning). */
apr_status_t tw_inbox_parse_record(const char *buf, size_t len, tw_inbox_record_t *rec,
                                   apr_pool_t *pool);

/* The body of an entry file open in fd, read by offset from base, its
 * body_offset (a tw_inbox_read_fn over a tw_inbox_file_source_t). */
typedef struct {
    int fd;
    apr_off_t base;
} tw_inbox_file_source_t;

apr_status_t tw_inbox_read_file_source(void *ctx, apr_off_t offset, void *buf,
                                       apr_size_t cap, apr_size_t *got);

#endif /* TW_INBOX_FILE_H */
