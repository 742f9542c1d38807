/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/json.h - the verified body as JSON: one strict document fed in
 * chunks, and bounded access to its scalars by RFC 6901 pointer.
 *
 * Hazards: memory grows with the document, so callers bound the body size
 * first; a value taken from a body reaches an environment only through
 * tw_json_get_scalar(), which refuses what is too long or holds a control
 * character, and only under a name tw_env_name_is_allowed() accepts
 * (tw/validate.h). Documents that parsers read differently (a repeated
 * name, a lone surrogate) are refused outright: the app must see what the
 * module checked.
 */
#ifndef TW_JSON_H
#define TW_JSON_H

#include <stddef.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One JSON document fed in chunks (RFC 8259, strict; at most
 * TW_JSON_MAX_DEPTH levels; whitespace may follow it, nothing else may).
 */
typedef struct tw_json tw_json_t;

TW_MUST_CHECK
tw_status_t tw_json_create(tw_json_t **pjson);
/* TW_ERR_JSON_INVALID as soon as the bytes so far cannot be one document. */
TW_MUST_CHECK
tw_status_t tw_json_feed(tw_json_t *json, const void *data, size_t len);
/* After the last chunk: TW_OK when exactly one document was seen. */
TW_MUST_CHECK
tw_status_t tw_json_finish(tw_json_t *json);
/*
 * Copies the scalar at RFC 6901 pointer into out (NUL-terminated): strings
 * as their value, numbers as written, booleans as "true"/"false". Fails
 * with TW_ERR_JSON_NOT_FOUND, TW_ERR_JSON_NOT_SCALAR (null, object, array)
 * or TW_ERR_JSON_UNSAFE_VALUE (longer than TW_JSON_VALUE_MAX or out_cap - 1,
 * or any control character): such a value must never reach an environment.
 */
TW_MUST_CHECK
tw_status_t tw_json_get_scalar(const tw_json_t *json, const char *pointer,
                               char *out, size_t out_cap, size_t *plen);
void tw_json_destroy(tw_json_t *json);   /* NULL is a no-op */

/* 1 for a non-empty RFC 6901 pointer ("/page/id"; ~0 and ~1 escapes). */
TW_MUST_CHECK int tw_json_pointer_is_valid(const char *pointer);

#ifdef __cplusplus
}
#endif

#endif /* TW_JSON_H */
