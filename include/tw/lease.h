/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/lease.h - the replay cache's claims as values an engine stores: who
 * holds a delivery while its app runs, and how to tell when that holder is
 * gone. httpd-free, like the rest of the core (twwebhook.h).
 * Every parse and check is TW_MUST_CHECK: a claim misread as free runs
 * the app twice.
 *
 * A replay key holds one of:
 *
 *   "D"                                  handled: a duplicate from now on
 *   "P1 <token> <node> <pid>"            claimed (pending) by one process
 *   "R"                                  released (memcached's tombstone:
 *                                        it cannot delete only if unchanged)
 *   "P"                                  claimed by a version before leases
 *
 * token is 32 random hex digits, new for every claim: settle and release
 * act only where the stored value is still the caller's own, so a claim
 * that expired and was taken by another copy is never deleted or marked
 * handled by its first owner. node names a kernel and pid namespace (the
 * boot id and the namespace's inode), so that "process pid is gone" can be
 * told from the same machine; any other reader must wait for the lease to
 * run out.
 */
#ifndef TW_LEASE_H
#define TW_LEASE_H

#include <stddef.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_LEASE_TOKEN_LEN 32    /* hex digits */
#define TW_LEASE_NODE_MAX  64    /* longest node name kept */
#define TW_LEASE_VALUE_MAX 128   /* longest value ever stored */

typedef enum {
    TW_LEASE_FREE,      /* "R": nobody holds it (absent keys never parse) */
    TW_LEASE_PENDING,   /* claimed: the holder (if known) is in the lease */
    TW_LEASE_DONE,      /* handled */
    TW_LEASE_UNKNOWN    /* anything else: treated as claimed by a stranger */
} tw_lease_state_t;

typedef struct {
    char token[TW_LEASE_TOKEN_LEN + 1];   /* "" for a claim without one */
    char node[TW_LEASE_NODE_MAX + 1];     /* "" when unknown */
    long pid;                             /* 0 when unknown */
} tw_lease_t;

/* The values of the two states that carry no holder. */
#define TW_LEASE_DONE_VALUE     "D"
#define TW_LEASE_RELEASED_VALUE "R"

/*
 * This process's node name: "<boot id>/<pid namespace inode>", read from
 * /proc; "" where either cannot be read (then no claim is ever taken as
 * abandoned on sight, only by its expiry).
 */
void tw_lease_node(char node[TW_LEASE_NODE_MAX + 1]);

/* A new claim for process pid on node, with a fresh random token. */
TW_MUST_CHECK
tw_status_t tw_lease_new(tw_lease_t *lease, const char *node, long pid);

/* The value to store for a claim, NUL-terminated; its length in *len. */
TW_MUST_CHECK
tw_status_t tw_lease_format(const tw_lease_t *lease, char out[TW_LEASE_VALUE_MAX + 1],
                            size_t *len);

/* What a stored value says; for PENDING, *lease gets its holder. */
TW_MUST_CHECK
tw_lease_state_t tw_lease_parse(const char *value, size_t len, tw_lease_t *lease);

/*
 * 1 when the claim's holder is known to be gone: it ran on this very node
 * and no process has its pid any more. 0 when it may be alive (or cannot
 * be told from here): then only its lease's expiry frees the claim.
 */
TW_MUST_CHECK int tw_lease_holder_gone(const tw_lease_t *lease, const char *this_node);

#ifdef __cplusplus
}
#endif

#endif /* TW_LEASE_H */
