/*
 * twwebhook.h - the httpd-free core of mod_twwebhook.
 *
 * Everything here depends on APR and OpenSSL's libcrypto only: no httpd
 * header may be included by the core (the build compiles it without httpd's
 * include path to enforce that), so it can be unit-tested and fuzzed alone.
 *
 * The core never logs. Every function returns a tw_status_t (or an
 * apr_status_t for the I/O of the spool) that the httpd glue maps to an HTTP
 * status and one error-log line.
 *
 * WARNING: secrets pass through tw_key_create() only. Nothing in the core
 * keeps a copy of a secret outside OpenSSL's keyed context, and no function
 * here returns a computed MAC to its caller: a MAC leaves the core only as
 * the answer "matched key N" or "no key matched".
 */
#ifndef TWWEBHOOK_H
#define TWWEBHOOK_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_file_io.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TW_MAC_LEN        32   /* bytes of an HMAC-SHA256 */
#define TW_MAC_HEX_LEN    64   /* its hex form, without prefix */
#define TW_EVENT_MAX      128  /* longest Event value accepted */
#define TW_DELIVERY_MAX   128  /* longest Delivery value accepted */
#define TW_SECRET_MAX     4096 /* longest secret accepted, in bytes */
#define TW_JSON_MAX_DEPTH 32   /* deepest nesting a body may have */
#define TW_JSON_VALUE_MAX 1024 /* longest value exported from a body */
#define TW_ENV_NAME_MAX   64   /* longest environment variable name */

typedef enum {
    TW_OK = 0,
    TW_ERR_SIG_MISSING,     /* no signature header at all */
    TW_ERR_SIG_MALFORMED,   /* present, but not [sha256=]<64 hex digits> */
    TW_ERR_SIG_MISMATCH,    /* well formed, but no configured key produced it */
    TW_ERR_ARG,             /* caller error: NULL, zero keys, empty secret... */
    TW_ERR_CRYPTO,          /* libcrypto failed (a server fault) */
    TW_ERR_NOMEM,           /* allocation failed (a server fault) */
    TW_ERR_JSON_INVALID,    /* not exactly one JSON document, or too deep */
    TW_ERR_JSON_NOT_FOUND,  /* the pointer names nothing in the document */
    TW_ERR_JSON_NOT_SCALAR, /* it names null, an object or an array */
    TW_ERR_JSON_UNSAFE_VALUE /* too long, or has control characters */
} tw_status_t;

/* A short, static, secret-free English description ("signature mismatch"). */
const char *tw_status_str(tw_status_t status);

/*
 * Overwrites len bytes at p in a way the compiler may not optimise away
 * (OPENSSL_cleanse): for secret file buffers and decoded signatures.
 */
void tw_cleanse(void *p, size_t len);

/* ---- hex --------------------------------------------------------------- */

/*
 * Decodes exactly hex_len hex digits (either case) into hex_len / 2 bytes.
 * Fails closed with TW_ERR_ARG when hex_len is odd, when hex_len / 2 exceeds
 * out_cap, or on any non-hex character; out is then left unspecified.
 */
tw_status_t tw_hex_decode(const char *hex, size_t hex_len,
                          unsigned char *out, size_t out_cap);

/*
 * Writes the lowercase hex of in[0..len) and a NUL into out. Returns
 * TW_ERR_ARG, writing nothing, when out_cap < 2 * len + 1.
 */
tw_status_t tw_hex_encode(const unsigned char *in, size_t len,
                          char *out, size_t out_cap);

/* ---- the Signature header ------------------------------------------------ */

/*
 * Parses a signature header value: 64 hex digits, either case, optionally
 * preceded by "sha256=" (prefix matched case-insensitively). No other
 * characters, no whitespace (httpd has already stripped the header's OWS).
 * value == NULL gives TW_ERR_SIG_MISSING; anything else that does not
 * match gives TW_ERR_SIG_MALFORMED. On TW_OK, mac holds the decoded bytes.
 */
tw_status_t tw_signature_parse(const char *value, unsigned char mac[TW_MAC_LEN]);

/* ---- keys and streaming verification ------------------------------------- */

/*
 * One secret, keyed into an HMAC-SHA256 context once (at configuration
 * time), so that each request only duplicates the keyed state. A key is
 * read-only after creation and may be shared by any number of threads.
 */
typedef struct tw_key tw_key_t;

/* secret_len must be 1..TW_SECRET_MAX. The secret bytes are not retained. */
tw_status_t tw_key_create(tw_key_t **pkey, const void *secret, size_t secret_len);
void tw_key_destroy(tw_key_t *key);   /* NULL is a no-op */

/*
 * The running HMAC of one body under every configured key at once (key
 * rotation: an operator lists the new and the old token side by side).
 */
typedef struct tw_verifier tw_verifier_t;

tw_status_t tw_verifier_create(tw_verifier_t **pv,
                               const tw_key_t *const *keys, size_t nkeys);
tw_status_t tw_verifier_update(tw_verifier_t *v, const void *data, size_t len);

/*
 * Finishes every MAC and compares each with expected using CRYPTO_memcmp,
 * always all of them, so the time taken does not depend on which key (if
 * any) matched or on how much of a MAC matched. On TW_OK *pmatched is the
 * 1-based position of the first matching key; on TW_ERR_SIG_MISMATCH it is
 * 0. May be called once; the computed MACs are cleansed before returning.
 */
tw_status_t tw_verifier_finish(tw_verifier_t *v,
                               const unsigned char expected[TW_MAC_LEN],
                               size_t *pmatched);
void tw_verifier_destroy(tw_verifier_t *v);   /* NULL is a no-op */

/*
 * One-shot HMAC-SHA256, for tools and tests (twwebhook-sign). The module
 * itself never computes a MAC it could hand out.
 */
tw_status_t tw_hmac_sha256(const void *secret, size_t secret_len,
                           const void *data, size_t len,
                           unsigned char out[TW_MAC_LEN]);

/*
 * The replay cache's key for a verified MAC received in a scope (the
 * glue's name for "this protected location of this virtual host"):
 * SHA-256 over a fixed label, the scope's length and bytes, and the MAC.
 * Cache stores and their logs never hold the signature a client sent, and
 * the same delivery sent to two scopes gives two keys. scope may be empty
 * (scope_len 0) but not NULL.
 */
tw_status_t tw_replay_key(const unsigned char mac[TW_MAC_LEN],
                          const char *scope, size_t scope_len,
                          unsigned char key[TW_MAC_LEN]);

/* ---- unsigned header values ----------------------------------------------- */

/* 1 when s is 1..TW_EVENT_MAX characters of [a-z0-9._-], else 0. */
int tw_event_is_plain(const char *s);

/* 1 when s is 1..TW_DELIVERY_MAX characters of [A-Za-z0-9-], else 0. */
int tw_delivery_is_plain(const char *s);

/* ---- the body store: memory first, then a temporary file ------------------- */

/*
 * Holds one request body so it can be replayed to the downstream handler
 * byte for byte. The first mem_limit bytes live in pool memory; the rest
 * goes to a file made by apr_file_mktemp() in dir (NULL: apr_temp_dir_get())
 * whose name is removed as soon as it is open: only the descriptor keeps
 * it, and the pool's cleanup closes that. Pool memory used stays under 2 * mem_limit whatever the
 * body size (the buffer doubles as it grows; a size_hint >= the body's
 * length sizes it once, and then it is at most mem_limit).
 */
typedef struct tw_spool tw_spool_t;

/*
 * size_hint: the expected body length (Content-Length) or -1 when unknown;
 * it only sizes the memory buffer, never limits what may be appended.
 */
apr_status_t tw_spool_create(tw_spool_t **psp, apr_pool_t *pool,
                             apr_size_t mem_limit, apr_off_t size_hint,
                             const char *dir);
apr_status_t tw_spool_append(tw_spool_t *sp, const void *data, apr_size_t len);
apr_off_t tw_spool_length(const tw_spool_t *sp);
int tw_spool_on_disk(const tw_spool_t *sp);

/*
 * Copies up to cap bytes starting at offset into buf; *got is 0 at or past
 * the end. Reads never move a shared cursor, so several readers (the replay
 * filter, a re-verification) may each keep their own offset.
 */
apr_status_t tw_spool_read_at(tw_spool_t *sp, apr_off_t offset,
                              void *buf, apr_size_t cap, apr_size_t *got);

/* ---- event allow-lists ------------------------------------------------- */

/*
 * 1 when pattern is 1..TW_EVENT_MAX characters of [a-z0-9._-] and '*',
 * where '*' stands for any run of characters ("page.*", "*.deleted", "*").
 */
int tw_event_pattern_is_valid(const char *pattern);

/* 1 when event matches pattern (see above), else 0. */
int tw_event_matches(const char *pattern, const char *event);

/* ---- the verified body as JSON ------------------------------------------ */

/*
 * One JSON document fed in chunks (RFC 8259, strict; at most
 * TW_JSON_MAX_DEPTH levels; whitespace may follow it, nothing else may).
 * Memory grows with the document: callers bound the body size first.
 */
typedef struct tw_json tw_json_t;

tw_status_t tw_json_create(tw_json_t **pjson);
/* TW_ERR_JSON_INVALID as soon as the bytes so far cannot be one document. */
tw_status_t tw_json_feed(tw_json_t *json, const void *data, size_t len);
/* After the last chunk: TW_OK when exactly one document was seen. */
tw_status_t tw_json_finish(tw_json_t *json);
/*
 * Copies the scalar at RFC 6901 pointer into out (NUL-terminated): strings
 * as their value, numbers as written, booleans as "true"/"false". Fails
 * with TW_ERR_JSON_NOT_FOUND, TW_ERR_JSON_NOT_SCALAR (null, object, array)
 * or TW_ERR_JSON_UNSAFE_VALUE (longer than TW_JSON_VALUE_MAX or out_cap - 1,
 * or any control character): such a value must never reach an environment.
 */
tw_status_t tw_json_get_scalar(const tw_json_t *json, const char *pointer,
                               char *out, size_t out_cap, size_t *plen);
void tw_json_destroy(tw_json_t *json);   /* NULL is a no-op */

/* 1 for a non-empty RFC 6901 pointer ("/page/id"; ~0 and ~1 escapes). */
int tw_json_pointer_is_valid(const char *pointer);

/*
 * 1 when name may carry a value taken from a body: [A-Z0-9_], not starting
 * with a digit, at most TW_ENV_NAME_MAX, and not one httpd, PHP or this
 * module gives another meaning (HTTP_*, REDIRECT_*, TW_WEBHOOK_*,
 * PHP_VALUE, PHP_ADMIN_VALUE).
 */
int tw_env_name_is_allowed(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TWWEBHOOK_H */
