/*
 * SPDX-License-Identifier: Apache-2.0
 * txn.h - the transaction: what every request of one delivery shares.
 *
 * Kept on the top request's pool (tw_shared_get, slot TW_SHARED_TXN):
 * internal redirects share that pool, subrequests reach it through
 * r->main. mod_twwebhook.c moves a transaction through its states;
 * glue/body.c hands its body back (or withholds it) and settles its
 * replay claim.
 */
#ifndef TWWEBHOOK_GLUE_TXN_H
#define TWWEBHOOK_GLUE_TXN_H

#include "httpd.h"
#include "apr_buckets.h"

#include "glue/glue.h"
#include "glue/replay.h"

/*
 * A transaction is the top-level request with its internal redirects (which
 * share its pool) and its subrequests. Its body is read once, by the first
 * request of it that reaches a protected location, and from then on it is
 * in one of three states: no request of it may read the body until it is
 * verified, and none ever may once it was refused.
 */
typedef enum {
    TW_TXN_PENDING,     /* a protected request began; the body is unread */
    TW_TXN_VERIFIED,    /* read and verified: it may be handed back */
    TW_TXN_REFUSED      /* refused: no handler may read a byte of it */
} tw_txn_state_t;

typedef struct {
    tw_txn_state_t state;
    request_rec *owner;                /* the request that reads the body */
    int held_keepalive;                /* the keep-alive state we overrode */
    int keepalive_held;                /* 1 while the connection will close */
    int body_complete;                 /* read to its end (EOS) */
    int body_discarded;                /* refused unread, then read to its end and dropped */
    tw_spool_t *body;                  /* the body, handed back from here */
    apr_off_t handback_offset;         /* how much of it the handler has read */
    tw_spool_cursor_t handback_cursor; /* how much of it was read ahead... */
    apr_bucket_brigade *handback_ahead; /* ...into this, not yet handed back */
    int handback_installed;
    /* What the body was verified against: a location with the same key
     * list and signature header needs no second look. */
    const apr_array_header_t *keys;
    const tw_profile_t *profile;
    const char *signature_header;
    const char *secret_index;
    const char *timestamp;             /* the signed timestamp, NULL for none */
    /* What the sender signed before the body (the profile's prefix, as
     * last verified) and the digest of it and the body, when computed:
     * the replay cache's and the inbox's key for the location where the
     * app runs come from the digest (message_key), never from a MAC, so
     * every copy of one message has one key whichever signature it
     * carried. */
    const unsigned char *signed_prefix;
    size_t signed_prefix_len;
    int has_digest;
    unsigned char digest[TW_DIGEST_LEN];
    int replay_checked;                /* the cache was asked, once */
    unsigned char replay_key[TW_MAC_LEN];
    tw_replay_claim_t *replay_claim;   /* settle it once the status is known */
    /* A dispatch of a queued entry (TW-Dispatch checked, glue/queue.c):
     * verified at accept, so the sender's HMAC and timestamp are not
     * looked at again; the entry's attempt and secret index. */
    int dispatched;
    unsigned int dispatch_attempt;
    const char *dispatch_secret_index;
} tw_txn_t;

/* The transaction r belongs to, NULL when none began. */
static APR_INLINE tw_txn_t *tw_txn_get(request_rec *r)
{
    return tw_shared_get(r, TW_SHARED_TXN);
}

static APR_INLINE tw_txn_t *tw_txn_begin(request_rec *r)
{
    tw_txn_t *txn = apr_pcalloc(tw_top_request(r)->pool, sizeof(*txn));

    txn->state = TW_TXN_PENDING;
    txn->owner = r;
    tw_shared_set(r, TW_SHARED_TXN, txn);
    return txn;
}

/*
 * Until its body has been read to the end, a protected request's
 * connection is marked to close: whoever refuses it (this module, Require,
 * an auth module), httpd then closes instead of reading the rest of the
 * body to discard it (up to LimitRequestBody, far past
 * TwWebhookMaxBodySize). ap_set_keepalive() never reopens a closed mark.
 * Released only once the body was read to its end: verified, or discarded
 * within TwWebhookMaxBodySize after a refusal (discard_unread_body).
 */
static APR_INLINE void tw_txn_hold_keepalive(request_rec *r, tw_txn_t *txn)
{
    if (txn->keepalive_held)
        return;
    txn->held_keepalive = r->connection->keepalive;
    txn->keepalive_held = 1;
    r->connection->keepalive = AP_CONN_CLOSE;
}

static APR_INLINE void tw_txn_release_keepalive(request_rec *r, tw_txn_t *txn)
{
    if (!txn->keepalive_held)
        return;
    txn->keepalive_held = 0;
    r->connection->keepalive = txn->held_keepalive;
}

#endif /* TWWEBHOOK_GLUE_TXN_H */
