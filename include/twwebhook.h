/*
 * SPDX-License-Identifier: Apache-2.0
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
#define TW_DIGEST_LEN     32   /* bytes of a SHA-256 (a message digest) */
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
    TW_ERR_JSON_UNSAFE_VALUE, /* too long, or has control characters */
    TW_ERR_TS_MISSING,      /* the profile signs a timestamp and none came */
    TW_ERR_TS_MALFORMED,    /* not 1..13 decimal digits <= 10^12, no leading 0 */
    TW_ERR_TS_STALE,        /* older than the tolerance allows */
    TW_ERR_TS_FUTURE,       /* further ahead than the tolerance allows */
    TW_ERR_ID_MISSING,      /* the profile signs a message id and none came */
    TW_ERR_ID_MALFORMED,    /* not 1..TW_ID_MAX characters of [A-Za-z0-9_-] */
    TW_ERR_SECRET_MALFORMED, /* not a key this profile can use (bad whsec_) */
    TW_ERR_SECRET_EMPTY,    /* a secret (file) with nothing in it */
    TW_ERR_SECRET_TOO_LONG, /* more than TW_SECRET_MAX bytes */
    TW_ERR_SECRET_LINE_BREAK, /* a CR or LF left after the one line end */
    TW_ERR_JSON_AMBIGUOUS   /* valid JSON that parsers read differently: a
                             * repeated name, \u0000 in a name, a lone
                             * surrogate */
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
 * The message digest: an unkeyed SHA-256 of what the sender signed (the
 * profile's prefix, then the body). Unlike a MAC it is the same whichever
 * key signed the message and whichever of its signatures a client sends,
 * and it tells nothing about a key: the replay cache and the inbox key a
 * message by it (tw_replay_key). It is not a signature, so handing it out
 * keeps the promise above.
 *
 * tw_verifier_want_digest() makes v compute it in the same pass as the
 * MACs (one SHA-256 over the data besides the HMACs: ask only where it is
 * used); call it before the first tw_verifier_update(), else TW_ERR_ARG.
 * tw_verifier_digest() gives it after a tw_verifier_finish*() that returned
 * TW_OK, and TW_ERR_ARG otherwise (not asked for, not finished, or the
 * message did not verify): only a verified message has a replay key.
 */
tw_status_t tw_verifier_want_digest(tw_verifier_t *v);
tw_status_t tw_verifier_digest(const tw_verifier_t *v, unsigned char digest[TW_DIGEST_LEN]);

/*
 * The same digest computed alone, for a message already verified and
 * stored (an internal redirect into a location that needs the digest the
 * first pass did not compute): create, update with the prefix and the
 * body, finish once.
 */
typedef struct tw_digest tw_digest_t;

tw_status_t tw_digest_create(tw_digest_t **pd);
tw_status_t tw_digest_update(tw_digest_t *d, const void *data, size_t len);
tw_status_t tw_digest_finish(tw_digest_t *d, unsigned char digest[TW_DIGEST_LEN]);
void tw_digest_destroy(tw_digest_t *d);      /* NULL is a no-op */

/*
 * One-shot HMAC-SHA256, for tools and tests (twwebhook-sign). The module
 * itself never computes a MAC it could hand out.
 */
tw_status_t tw_hmac_sha256(const void *secret, size_t secret_len,
                           const void *data, size_t len,
                           unsigned char out[TW_MAC_LEN]);

/*
 * The replay cache's key for a verified message received in a scope (the
 * glue's name for "this protected location of this virtual host"):
 * SHA-256 over a fixed label, the scope's length and bytes, and the
 * message digest (tw_verifier_digest). One message is one key, whichever
 * key verified it and whichever of its signatures came; cache stores and
 * their logs never hold a signature, and the same delivery sent to two
 * scopes gives two keys. scope may be empty (scope_len 0) but not NULL.
 */
tw_status_t tw_replay_key(const unsigned char digest[TW_DIGEST_LEN],
                          const char *scope, size_t scope_len,
                          unsigned char key[TW_MAC_LEN]);

/* ---- unsigned header values ----------------------------------------------- */

/* How the event alphabet reads in a configuration error or the docs. */
#define TW_EVENT_SYNTAX "letters, digits and . _ - /, starting with a letter or digit, " \
                        "no two of . / in a row"

/*
 * 1 when s is 1..TW_EVENT_MAX characters of [A-Za-z0-9._/-], starting with
 * a letter or digit, with no two of '.' and '/' in a row ("..", "./", "//"),
 * else 0. Real names pass: page.updated, TASK.CREATED, pull_request,
 * orders/create, payment_intent.succeeded.
 */
int tw_event_is_plain(const char *s);

/*
 * 1 when s is 1..TW_DELIVERY_MAX characters of [A-Za-z0-9_-], else 0:
 * UUIDs, GitHub's GUIDs, msg_... and evt_... ids.
 */
int tw_delivery_is_plain(const char *s);

/* ---- the body store: memory first, then a temporary file ------------------- */

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
apr_status_t tw_spool_create(tw_spool_t **psp, apr_pool_t *pool,
                             apr_size_t mem_limit, apr_off_t size_hint,
                             const char *dir);
apr_status_t tw_spool_append(tw_spool_t *sp, const void *data, apr_size_t len);
/*
 * Writes out what appends left buffered. Returns the first failure of any
 * append or of this write (the body is then incomplete, and every later
 * append and finish reports the same); APR_SUCCESS when every byte is
 * stored. Appending after it is allowed. Reads never need it: they see
 * buffered bytes too.
 */
apr_status_t tw_spool_finish(tw_spool_t *sp);
/* Every byte appended so far, buffered or not. */
apr_off_t tw_spool_length(const tw_spool_t *sp);
int tw_spool_on_disk(const tw_spool_t *sp);

/*
 * Copies up to cap bytes starting at offset into buf; *got is 0 at or past
 * the end. Reads never move a shared cursor, so several readers (the replay
 * filter, a re-verification) may each keep their own offset.
 */
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

apr_status_t tw_spool_read_next(tw_spool_t *sp, tw_spool_cursor_t *cur,
                                void *buf, apr_size_t cap, apr_size_t *got);

/* ---- event allow-lists ------------------------------------------------- */

/*
 * 1 when pattern is an event name as tw_event_is_plain takes it, with '*'
 * also allowed anywhere, where '*' stands for any run of characters
 * ("page.*", "*.deleted", "orders/" "*", "*").
 */
int tw_event_pattern_is_valid(const char *pattern);

/* 1 when event matches pattern (see above), ASCII case ignored, else 0. */
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
 * The names a value from a body may never take, NULL-terminated: the one
 * list behind tw_env_name_is_allowed, the configuration error that names
 * them and the README (man/check-docs compares it with these).
 */
extern const char *const tw_env_reserved_prefixes[];  /* "HTTP_": HTTP_* */
extern const char *const tw_env_reserved_names[];     /* exact names */

/*
 * 1 when name may carry a value taken from a body: [A-Z0-9_], not starting
 * with a digit, at most TW_ENV_NAME_MAX, and neither starting with one of
 * tw_env_reserved_prefixes nor one of tw_env_reserved_names.
 */
int tw_env_name_is_allowed(const char *name);

/* ==== signing schemes: profiles, candidates, timestamps ====================
 *
 * One verification pipeline for every provider: a profile names where a
 * provider puts its signature, what it signs and how its key is formed;
 * tw_scheme_parse() turns the header values a request carries into a
 * tw_signed_t (a prefix to MAC before the body, the candidate MACs, the
 * timestamp); the glue then runs
 *
 *     tw_verifier_create(&v, keys, nkeys);
 *     tw_verifier_update(v, s.prefix, s.prefix_len);   -- before the body
 *     tw_verifier_update(v, chunk, n); ...             -- the body
 *     tw_verifier_finish_any(v, s.candidates, s.ncandidates, &key, &cand);
 *     if (s.has_timestamp) tw_timestamp_check(s.timestamp, now, tolerance);
 *
 * and derives the replay key from s.candidates[cand - 1], the one that
 * matched (never from candidates[0], which a client may put anything in).
 * Keys are made with tw_key_create() from what tw_profile_key() returns.
 */

#define TW_CANDIDATES_MAX    8    /* signature entries in one header, at most */
#define TW_SIGNED_PREFIX_MAX 512  /* longest prefix signed before the body */
#define TW_ID_MAX            TW_DELIVERY_MAX  /* a signed message id (webhook-id) */
#define TW_TIMESTAMP_MAX     APR_INT64_C(1000000000000)  /* 10^12 seconds */
#define TW_SIG_ENTRY_MAX     128  /* longest entry of a signature list */

/* Where a profile's event name or delivery id comes from. */
typedef enum {
    TW_SOURCE_NONE,    /* the provider sends none */
    TW_SOURCE_HEADER,  /* the field is a header name */
    TW_SOURCE_BODY     /* the field is an RFC 6901 pointer into the JSON body */
} tw_source_t;

/* The signature header's grammar (the core's; callers need not look). */
typedef enum {
    TW_SIG_HEX,               /* [sha256=]<64 hex>: tw_signature_parse() */
    TW_SIG_HEX_SHA256,        /* "sha256=" <64 hex>, prefix required */
    TW_SIG_HEX_V0,            /* "v0=" <64 hex> */
    TW_SIG_BASE64,            /* <44 base64 characters: 32 bytes> */
    TW_SIG_STANDARD_WEBHOOKS, /* "v1,<base64>" entries separated by one space */
    TW_SIG_STRIPE             /* "t=<ts>,v1=<hex>[,v1=<hex>][,v0=...]" */
} tw_sig_format_t;

/* What is signed before the body (the core's; callers need not look). */
typedef enum {
    TW_SIGNED_BODY,           /* the body alone */
    TW_SIGNED_ID_TS_BODY,     /* "<id>.<timestamp>.<body>" */
    TW_SIGNED_TS_BODY,        /* "<timestamp>.<body>" */
    TW_SIGNED_V0_TS_BODY      /* "v0:<timestamp>:<body>" */
} tw_signed_form_t;

/* How a configured secret becomes the HMAC key. */
typedef enum {
    TW_KEY_RAW,               /* the secret's bytes, as given */
    TW_KEY_WHSEC_BASE64       /* "whsec_" <base64>: the decoded bytes */
} tw_key_form_t;

/*
 * One provider's scheme. Header names are as the provider spells them
 * (httpd compares them case-insensitively). Profiles live in a static,
 * read-only table: the one source of truth for the glue's TwWebhookProfile
 * directive and for the documentation.
 */
typedef struct tw_profile {
    const char *name;              /* "teamwork", "github", ... */
    const char *description;       /* one line of English, for docs and errors */
    const char *signature_header;
    const char *timestamp_header;  /* NULL: none, or inside the signature (stripe) */
    const char *id_header;         /* a signed message id header, else NULL */
    tw_source_t event_source;
    const char *event_field;       /* header name, or JSON pointer for BODY */
    tw_source_t delivery_source;
    const char *delivery_field;
    int signs_timestamp;           /* 1: TwWebhookTimestampTolerance applies */
    /* The core's own. */
    tw_sig_format_t sig_format;
    tw_signed_form_t signed_form;
    tw_key_form_t key_form;
} tw_profile_t;

/* The profile of that exact (case-sensitive) name; NULL when unknown. */
const tw_profile_t *tw_profile_find(const char *name);
/* "teamwork": Teamwork Spaces, the module's behaviour before profiles. */
const tw_profile_t *tw_profile_default(void);
/* The i-th profile (0-based), in a fixed order; NULL past the end. */
const tw_profile_t *tw_profile_at(size_t i);

/*
 * The HMAC key for a secret under profile p, into out (cap bytes, at least
 * TW_SECRET_MAX; *plen gets its length): the secret's bytes for TW_KEY_RAW
 * (Stripe's "whsec_..." included: Stripe keys with the string), the decoded
 * base64 after "whsec_" for TW_KEY_WHSEC_BASE64. Fails with TW_ERR_ARG for
 * an empty or over-long secret and TW_ERR_SECRET_MALFORMED for a whsec_
 * secret that is not exactly "whsec_" and strict base64 of 1..TW_SECRET_MAX
 * bytes (a configuration error; out is then cleansed). *plen is 0 on failure.
 * The caller cleanses out after tw_key_create().
 */
tw_status_t tw_profile_key(const tw_profile_t *p, const void *secret, size_t len,
                           unsigned char *out, size_t cap, size_t *plen);

/* What one request's headers say must be verified. */
typedef struct {
    unsigned char prefix[TW_SIGNED_PREFIX_MAX];  /* MACed before the body */
    size_t prefix_len;
    unsigned char candidates[TW_CANDIDATES_MAX][TW_MAC_LEN];
    size_t ncandidates;                          /* 1..TW_CANDIDATES_MAX on TW_OK */
    int has_timestamp;                           /* 1 when the profile signs one */
    apr_int64_t timestamp;                       /* Unix seconds, 0..TW_TIMESTAMP_MAX */
} tw_signed_t;

/*
 * Parses the header values of one request under profile p into out.
 * signature, timestamp and id are the values as received, NULL when the
 * header is absent (the glue looks them up by the profile's header names,
 * or the operator's overriding ones); timestamp and id are ignored by
 * profiles that do not sign them, and by stripe (whose t= is inside the
 * signature). Grammars, all exact (no whitespace beyond the one space that
 * separates standard-webhooks entries; prefixes and tags in lower case as
 * the providers send them; hex digits in either case):
 *
 *   teamwork*   [sha256=]<64 hex>            (prefix in any case, as before)
 *   github      sha256=<64 hex>
 *   slack       v0=<64 hex>
 *   shopify     <base64 of 32 bytes, padded: 44 characters>
 *   standard-webhooks
 *               <tag>,<value>( <tag>,<value>)*  tag [a-z0-9]{1,16}, value
 *               1..TW_SIG_ENTRY_MAX visible ASCII but ',' and ' '; only v1
 *               entries count, each strict base64 of 32 bytes; at least one
 *   stripe      <key>=<value>(,<key>=<value>)*  key [a-z0-9]{1,16}, value
 *               1..TW_SIG_ENTRY_MAX visible ASCII but ','; exactly one
 *               t=, at least one v1=<64 hex>; other keys (v0=, unknown
 *               ones) are skipped
 *
 * In lists, at most TW_CANDIDATES_MAX signature entries (ignored ones
 * included); more is TW_ERR_SIG_MALFORMED. Timestamps: tw_timestamp_parse().
 * Message ids: tw_webhook_id_is_plain().
 *
 * Checks run in this order, and the first failure is returned: signature
 * absent (TW_ERR_SIG_MISSING), signature grammar (TW_ERR_SIG_MALFORMED),
 * timestamp absent / malformed (TW_ERR_TS_MISSING / TW_ERR_TS_MALFORMED;
 * for stripe: no t= entry / a bad one), message id absent / malformed
 * (TW_ERR_ID_MISSING / TW_ERR_ID_MALFORMED). On any failure out is zeroed
 * (no candidates). The timestamp's age is not checked here: see
 * tw_timestamp_check().
 */
tw_status_t tw_scheme_parse(const tw_profile_t *p, const char *signature,
                            const char *timestamp, const char *id,
                            tw_signed_t *out);

/*
 * Parses Unix seconds: 1..13 ASCII decimal digits, no sign, no whitespace,
 * no leading zero (but "0" itself), at most TW_TIMESTAMP_MAX. Unlike
 * strtol, independent of the locale and never lenient. NULL gives
 * TW_ERR_TS_MISSING, anything else that does not match TW_ERR_TS_MALFORMED
 * (with *pts 0).
 */
tw_status_t tw_timestamp_parse(const char *s, apr_int64_t *pts);

/*
 * TW_OK when |now - timestamp| <= tolerance (both ends included),
 * TW_ERR_TS_STALE when timestamp is older, TW_ERR_TS_FUTURE when it is
 * further ahead; TW_ERR_ARG for a negative tolerance. Overflow-safe for
 * any values.
 */
tw_status_t tw_timestamp_check(apr_int64_t timestamp, apr_int64_t now,
                               apr_int64_t tolerance);

/* 1 when s is 1..TW_ID_MAX characters of [A-Za-z0-9_-] (webhook-id), else 0. */
int tw_webhook_id_is_plain(const char *s);

/*
 * Like tw_verifier_finish(), against ncandidates (1..TW_CANDIDATES_MAX)
 * candidate MACs: EVERY candidate is compared with EVERY key's MAC by
 * CRYPTO_memcmp, and the winner picked with masks, so the time taken does
 * not depend on which key or candidate matched. On TW_OK *pmatched is the
 * 1-based position of the first key that matched any candidate and
 * *pcandidate the 1-based position of the first candidate that key's MAC
 * equals; both are 0 on TW_ERR_SIG_MISMATCH. (Neither names the message:
 * another copy may carry only another key's signature. Its replay key
 * comes from tw_verifier_digest.) Either pointer may be NULL. May be called once.
 */
tw_status_t tw_verifier_finish_any(tw_verifier_t *v,
                                   const unsigned char (*candidates)[TW_MAC_LEN],
                                   size_t ncandidates,
                                   size_t *pmatched, size_t *pcandidate);

/* ---- base64 (RFC 4648 section 4: standard alphabet, padded) -------------- */

/*
 * Decodes exactly b64_len characters of strict base64: length a multiple
 * of 4, '=' only as the one or two last characters, unused bits of the
 * last character zero (so each byte string has exactly one encoding), no
 * whitespace, no line breaks, no URL-safe alphabet. *plen gets the decoded
 * length. Fails closed with TW_ERR_ARG when the text is not that, or the
 * bytes would exceed out_cap; out is then zeroed up to out_cap and *plen is 0.
 */
tw_status_t tw_base64_decode(const char *b64, size_t b64_len,
                             unsigned char *out, size_t out_cap, size_t *plen);

/* The encoded length of len bytes, without NUL: 4 * ceil(len / 3). */
#define TW_BASE64_LEN(len) ((((len) + 2) / 3) * 4)

/*
 * Writes the padded base64 of in[0..len) and a NUL into out. Returns
 * TW_ERR_ARG, writing nothing, when out_cap < TW_BASE64_LEN(len) + 1.
 */
tw_status_t tw_base64_encode(const unsigned char *in, size_t len,
                             char *out, size_t out_cap);

/* ---- secret files ---------------------------------------------------------- */

/* Bytes to read from a secret file: a file that fills this is too long. */
#define TW_SECRET_FILE_READ_MAX (TW_SECRET_MAX + 3)

/*
 * The one rule for secret files (TwWebhookSecret file:..., twwebhook-sign
 * -f): buf[0..len) is what was read (up to TW_SECRET_FILE_READ_MAX bytes);
 * exactly one trailing "\n" or "\r\n" is stripped and *plen is the length
 * left, the secret being buf[0..*plen). Then TW_ERR_SECRET_EMPTY when
 * nothing is left, TW_ERR_SECRET_TOO_LONG when more than TW_SECRET_MAX
 * bytes are, TW_ERR_SECRET_LINE_BREAK when a CR or LF is left anywhere
 * ("tok\r", "tok\n\n": an editor's doing, never a token). *plen is 0 on
 * failure. Never writes to buf.
 */
tw_status_t tw_secret_from_file(const unsigned char *buf, size_t len, size_t *plen);

/* ---- signing, for tools and tests ------------------------------------------ */

#define TW_SIGN_HEADERS_MAX 4
#define TW_HEADER_VALUE_MAX 192

typedef struct {
    const char *name;                   /* static: the profile's header name */
    char value[TW_HEADER_VALUE_MAX];    /* NUL-terminated */
} tw_header_t;

typedef struct {
    tw_header_t headers[TW_SIGN_HEADERS_MAX];
    size_t nheaders;
} tw_signed_headers_t;

/*
 * WARNING: for twwebhook-sign and the tests only. This computes a MAC and
 * hands it out; the module must never call it (it never computes a MAC it
 * could give a client).
 *
 * Signs body under profile p as the provider would, writing into out the
 * headers the scheme needs, in this order: the signature header, then the
 * timestamp header and the message id header when the profile has them.
 * Event and delivery headers are the caller's. timestamp (0..
 * TW_TIMESTAMP_MAX) is used by profiles that sign one, id (plain, see
 * tw_webhook_id_is_plain) by those that sign a message id; both are
 * ignored otherwise. The secret is turned into the key by tw_profile_key().
 * Fails with TW_ERR_ARG, TW_ERR_TS_MALFORMED, TW_ERR_ID_MISSING,
 * TW_ERR_ID_MALFORMED, TW_ERR_SECRET_MALFORMED or TW_ERR_CRYPTO, leaving
 * out with no headers.
 */
tw_status_t tw_scheme_sign(const tw_profile_t *p, const void *secret, size_t secret_len,
                           const void *body, size_t len, apr_int64_t timestamp,
                           const char *id, tw_signed_headers_t *out);

/* ==== end of signing schemes ============================================== */

/* ==== the inbox: verified deliveries kept until the app took them ========= */

/*
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

#include <apr_tables.h>
#include <apr_time.h>

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
tw_status_t tw_inbox_id(const unsigned char key[TW_MAC_LEN],
                        char id[TW_INBOX_ID_LEN + 1]);
/* 1 when s is exactly TW_INBOX_ID_LEN lowercase hex digits. */
int tw_inbox_id_is_valid(const char *s);
/* 1 when a header name (RFC 9110 token) may be stored. */
int tw_inbox_name_is_storable(const char *name);
/* 1 when a value (path or header) may be stored: 1..TW_INBOX_VALUE_MAX
 * bytes, no control character but HTAB. A path must also start with "/"
 * and hold no space. */
int tw_inbox_value_is_storable(const char *value);
int tw_inbox_path_is_storable(const char *path);

/*
 * Records one copy of a delivery: e->id, e->path, e->headers and
 * e->body_length (the body comes from source/ctx and must be exactly that
 * long) are the caller's; received, updated and attempts are set here.
 * A new entry gets attempts 1 and received now; an existing one (an
 * earlier copy) keeps its received, gets attempts + 1 and status 0.
 * Durable when it returns APR_SUCCESS. APR_EINVAL for a value that may
 * not be stored; errno values for the file system (ENOSPC, EACCES, ...).
 */
apr_status_t tw_inbox_put(const char *dir, const tw_inbox_entry_t *e,
                          tw_inbox_read_fn source, void *ctx, apr_pool_t *pool);

/* Sets the last status of an entry (atomic rewrite). APR_ENOENT when it
 * is gone (the delivery was handled meanwhile). */
apr_status_t tw_inbox_set_status(const char *dir, const char *id, int status,
                                 apr_pool_t *pool);

/* Removes an entry, durably (fsync of the directory). APR_ENOENT when it
 * was not there. */
apr_status_t tw_inbox_remove(const char *dir, const char *id, apr_pool_t *pool);

/* Removes entry seen->id only if no copy was recorded and no status set
 * since it was read as seen (its updated and attempts are the same), in
 * one step under the entry's lock: TW_INBOX_ECHANGED, and the entry kept,
 * otherwise. For twwebhook-inbox redeliver, whose own copy may not have
 * passed through the module. APR_ENOENT when it is gone. */
apr_status_t tw_inbox_remove_unchanged(const char *dir, const tw_inbox_entry_t *seen,
                                       apr_pool_t *pool);

/*
 * Opens an entry and parses its metadata. With pfd non-NULL the file
 * stays open in *pfd (close() it), positioned at the start of the body,
 * so metadata and body come from one version of the entry. The strings
 * live in pool.
 */
apr_status_t tw_inbox_open(const char *dir, const char *id, tw_inbox_entry_t **pe,
                           int *pfd, apr_pool_t *pool);

/* Every entry of dir (tw_inbox_entry_t *), oldest received first; entries
 * that do not parse are skipped and counted in *pbad (may be NULL). */
apr_status_t tw_inbox_list(const char *dir, apr_array_header_t **pentries,
                           unsigned int *pbad, apr_pool_t *pool);

/* Parses the metadata part of an entry held in buf (the start of its
 * file; for tests and the fuzzer): TW_INBOX_ECORRUPT unless it is well
 * formed. e->id is left as it was (an entry's id is its file name). */
apr_status_t tw_inbox_parse(const char *buf, size_t len, tw_inbox_entry_t *e,
                            apr_pool_t *pool);

/* apr_strerror, knowing TW_INBOX_ECORRUPT. */
const char *tw_inbox_strerror(apr_status_t rv, char *buf, apr_size_t bufsize);

/* ==== end of the inbox ===================================================== */

#ifdef __cplusplus
}
#endif

#endif /* TWWEBHOOK_H */
