/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/spool.h - the body store: memory first, then a temporary file, so a
 * request body can be verified and then replayed to the app byte for byte.
 *
 * Errors are apr_status_t (errno values from the file system), and every
 * write and read is TW_MUST_CHECK: a short write that goes unnoticed hands
 * the app a body other than the one verified.
 *
 * Hazards: the file part's name is removed as soon as it is open, so only
 * the descriptor (closed by the pool's cleanup) keeps it; appends to the
 * file part are buffered, and only tw_spool_finish() says whether the body
 * reached the file whole.
 */
#ifndef TW_SPOOL_H
#define TW_SPOOL_H

#include <apr_pools.h>
#include <apr_file_io.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Holds one request body so it can be replayed to the downstream handler
 * byte for byte. The first mem_limit bytes live in pool memory; the rest
 * goes to a file made by apr_file_mktemp() in dir (NULL: apr_temp_dir_get())
 * whose name is removed as soon as it is open: only the descriptor keeps
 * it, and the pool's cleanup closes that. Pool memory used stays under
 * 2 * mem_limit + 64 KiB whatever the body size (the buffer doubles as it
 * grows; a size_hint >= the body's length sizes it once, and then it is at
 * most mem_limit; the 64 KiB are the file part's write buffer, allocated
 * at the spill). Appends to the file part are buffered: call
 * tw_spool_finish() after the last one to learn whether the body reached
 * the file whole.
 */
typedef struct tw_spool tw_spool_t;

/*
 * size_hint: the expected body length (Content-Length) or -1 when unknown;
 * it only sizes the memory buffer, never limits what may be appended.
 */
TW_MUST_CHECK
apr_status_t tw_spool_create(tw_spool_t **psp, apr_pool_t *pool,
                             apr_size_t mem_limit, apr_off_t size_hint,
                             const char *dir);
TW_MUST_CHECK
apr_status_t tw_spool_append(tw_spool_t *sp, const void *data, apr_size_t len);
/*
 * Writes out what appends left buffered. Returns the first failure of any
 * append or of this write (the body is then incomplete, and every later
 * append and finish reports the same); APR_SUCCESS when every byte is
 * stored. Appending after it is allowed. Reads never need it: they see
 * buffered bytes too.
 */
TW_MUST_CHECK
apr_status_t tw_spool_finish(tw_spool_t *sp);
/* Every byte appended so far, buffered or not. */
apr_off_t tw_spool_length(const tw_spool_t *sp);
int tw_spool_on_disk(const tw_spool_t *sp);

/*
 * Copies up to cap bytes starting at offset into buf; *got is 0 at or past
 * the end. Reads never move a shared cursor, so several readers (the replay
 * filter, a re-verification) may each keep their own offset.
 */
TW_MUST_CHECK
apr_status_t tw_spool_read_at(tw_spool_t *sp, apr_off_t offset,
                              void *buf, apr_size_t cap, apr_size_t *got);

/*
 * The memory part of the body from offset on, in place: *len bytes at the
 * address returned, or NULL and *len 0 when offset is not in the memory
 * part (past its end, or in the file part). No copy, so a reader that
 * only passes bytes on (the replay filter, a second HMAC pass) saves one;
 * the address stays valid until the next append and while the spool's
 * pool lives.
 */
const void *tw_spool_memory_at(const tw_spool_t *sp, apr_off_t offset, apr_size_t *len);

/*
 * A reader's own place in the body, for reading it front to back:
 * tw_spool_read_next() copies up to cap bytes from *cur's offset and moves
 * it past them (*got is 0 at the end). Initialise with
 * TW_SPOOL_CURSOR_INIT. The spool tracks its file's position, so a reader
 * that alone reads in order costs one read(2) per call and no lseek(2);
 * interleaved readers stay correct, each call seeking where it must.
 */
typedef struct {
    apr_off_t offset;
} tw_spool_cursor_t;

#define TW_SPOOL_CURSOR_INIT { 0 }

TW_MUST_CHECK
apr_status_t tw_spool_read_next(tw_spool_t *sp, tw_spool_cursor_t *cur,
                                void *buf, apr_size_t cap, apr_size_t *got);

#ifdef __cplusplus
}
#endif

#endif /* TW_SPOOL_H */
