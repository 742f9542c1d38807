/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/inbox.h - the inbox: verified deliveries kept on disk until the app
 * took them.
 *
 * Hazards: an entry holds a body and the sender's own signature header, so
 * the directory is an operator's store, never a web-served one (entries
 * are written mode 0600); ids are replay keys, never MACs. Every write and read
 * reports an apr_status_t and is TW_MUST_CHECK: an unnoticed failed write
 * loses a delivery the sender was told was taken.
 *
 * TwWebhookInbox keeps every verified delivery that is handed to the app
 * in a directory, one file per delivery, until the app answered 2xx; the
 * module (glue/inbox.c) and twwebhook-inbox (tools/) share this code. An
 * entry holds no secret: the body, the headers the scheme signs or reads
 * (the Signature is the sender's own, needed to deliver it again through
 * the module), the path it came in on, when it came, how often it was
 * tried and the last status. The format (README, Internals):
 *
 *   twwebhook-inbox 1\n
 *   received <microseconds since the epoch>\n
 *   updated <microseconds since the epoch>\n
 *   attempts <n>\n
 *   status <last HTTP status, 0 while none is known>\n
 *   state, next, secret-index, scope, owner   (tw/store.h's; optional)
 *   path <request target, /...>\n
 *   header <Name>: <value>\n          (0 to TW_INBOX_HEADERS_MAX times)
 *   length <body bytes>\n
 *   \n
 *   <the body, byte for byte>
 *
 * An entry is named by its id: the hex of the replay cache's key
 * (tw_replay_key over the message digest and the scope), so every copy of
 * one delivery is one entry, whichever of its signatures it carried, and
 * the name is never a MAC. Every write goes
 * to a new temporary file (".<id>.<pid>.<n>.tmp", O_CREAT|O_EXCL, mode
 * 0600), is fsync()ed, renamed over the entry and followed by an fsync()
 * of the directory: a reader sees the old entry or the new one, and a
 * crash leaves at worst a temporary file (names starting with "." are
 * never entries). Every change of an entry (put, set_status, remove)
 * holds an exclusive flock(2) on ".<id>.lock" across its read and its
 * write, so concurrent copies never lose an attempt; the lock file lives
 * only while held. Errors are apr_status_t (errno values); an entry that
 * does not parse is TW_INBOX_ECORRUPT.
 */
#ifndef TW_INBOX_H
#define TW_INBOX_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_INBOX_ID_LEN       TW_MAC_HEX_LEN  /* hex of a tw_replay_key */
#define TW_INBOX_HEADERS_MAX  16              /* header lines in one entry */
#define TW_INBOX_VALUE_MAX    8192            /* longest path or header value */
#define TW_INBOX_META_MAX     (64 * 1024)     /* longest metadata part */
#define TW_INBOX_ECORRUPT     (APR_OS_START_USERERR + 71)  /* not an entry */
#define TW_INBOX_ECHANGED     (APR_OS_START_USERERR + 72)  /* another copy came */

typedef struct {
    const char *name;
    const char *value;
} tw_inbox_header_t;

typedef struct {
    char id[TW_INBOX_ID_LEN + 1];
    apr_time_t received;         /* the first copy, kept across updates */
    apr_time_t updated;          /* the last write */
    unsigned int attempts;       /* copies handed to the app */
    int last_status;             /* the app's last answer; 0: none known */
    const char *path;
    tw_inbox_header_t headers[TW_INBOX_HEADERS_MAX];
    size_t nheaders;
    apr_off_t body_length;
    apr_off_t body_offset;       /* where the body starts in the file */
} tw_inbox_entry_t;

/* Reads up to cap bytes of the body at offset (the signature of
 * tw_spool_read_at, so a spool can be the source); *got 0 at the end. */
typedef apr_status_t (*tw_inbox_read_fn)(void *ctx, apr_off_t offset,
                                         void *buf, apr_size_t cap, apr_size_t *got);

/* The entry id for a replay key (TW_INBOX_ID_LEN hex digits and a NUL). */
TW_MUST_CHECK
tw_status_t tw_inbox_id(const unsigned char key[TW_MAC_LEN],
                        char id[TW_INBOX_ID_LEN + 1]);
/* 1 when s is exactly TW_INBOX_ID_LEN lowercase hex digits. */
TW_MUST_CHECK int tw_inbox_id_is_valid(const char *s);
/* 1 when a header name (RFC 9110 token) may be stored. */
TW_MUST_CHECK int tw_inbox_name_is_storable(const char *name);
/* 1 when a value (path or header) may be stored: 1..TW_INBOX_VALUE_MAX
 * bytes, no control character but HTAB. A path must also start with "/"
 * and hold no space. */
TW_MUST_CHECK int tw_inbox_value_is_storable(const char *value);
TW_MUST_CHECK int tw_inbox_path_is_storable(const char *path);

/*
 * Records one copy of a delivery: e->id, e->path, e->headers and
 * e->body_length (the body comes from source/ctx and must be exactly that
 * long) are the caller's; received, updated and attempts are set here.
 * A new entry gets attempts 1 and received now; an existing one (an
 * earlier copy) keeps its received, gets attempts + 1 and status 0.
 * Durable when it returns APR_SUCCESS. APR_EINVAL for a value that may
 * not be stored; errno values for the file system (ENOSPC, EACCES, ...).
 */
TW_MUST_CHECK
apr_status_t tw_inbox_put(const char *dir, const tw_inbox_entry_t *e,
                          tw_inbox_read_fn source, void *ctx, apr_pool_t *pool);

/* Sets the last status of an entry (atomic rewrite). APR_ENOENT when it
 * is gone (the delivery was handled meanwhile). */
TW_MUST_CHECK
apr_status_t tw_inbox_set_status(const char *dir, const char *id, int status,
                                 apr_pool_t *pool);

/* Removes an entry, durably (fsync of the directory). APR_ENOENT when it
 * was not there. */
TW_MUST_CHECK
apr_status_t tw_inbox_remove(const char *dir, const char *id, apr_pool_t *pool);

/* Removes entry seen->id only if no copy was recorded and no status set
 * since it was read as seen (its updated and attempts are the same), in
 * one step under the entry's lock: TW_INBOX_ECHANGED, and the entry kept,
 * otherwise. For twwebhook-inbox redeliver, whose own copy may not have
 * passed through the module. APR_ENOENT when it is gone. */
TW_MUST_CHECK
apr_status_t tw_inbox_remove_unchanged(const char *dir, const tw_inbox_entry_t *seen,
                                       apr_pool_t *pool);

/*
 * Opens an entry and parses its metadata. With pfd non-NULL the file
 * stays open in *pfd (close() it), positioned at the start of the body,
 * so metadata and body come from one version of the entry. The strings
 * live in pool.
 */
TW_MUST_CHECK
apr_status_t tw_inbox_open(const char *dir, const char *id, tw_inbox_entry_t **pe,
                           int *pfd, apr_pool_t *pool);

/* Every entry of dir (tw_inbox_entry_t *), oldest received first; entries
 * that do not parse are skipped and counted in *pbad (may be NULL). */
TW_MUST_CHECK
apr_status_t tw_inbox_list(const char *dir, apr_array_header_t **pentries,
                           unsigned int *pbad, apr_pool_t *pool);

/* Parses the metadata part of an entry held in buf (the start of its
 * file; for tests and the fuzzer): TW_INBOX_ECORRUPT unless it is well
 * formed. e->id is left as it was (an entry's id is its file name). */
TW_MUST_CHECK
apr_status_t tw_inbox_parse(const char *buf, size_t len, tw_inbox_entry_t *e,
                            apr_pool_t *pool);

/* apr_strerror, knowing TW_INBOX_ECORRUPT. */
const char *tw_inbox_strerror(apr_status_t rv, char *buf, apr_size_t bufsize);

#ifdef __cplusplus
}
#endif

#endif /* TW_INBOX_H */
