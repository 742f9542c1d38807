/*
 * SPDX-License-Identifier: Apache-2.0
 * replay.h - the replay cache (glue/replay_cache.c): "this delivery was
 * already handled". Its settings are glue/config.c's (tw_conf_replay);
 * what it answers is counted by the caller (tw_metrics_replay).
 */
#ifndef TWWEBHOOK_GLUE_REPLAY_H
#define TWWEBHOOK_GLUE_REPLAY_H

#include "httpd.h"

#include "glue/glue.h"
#include "glue/config.h"

typedef enum {
    TW_REPLAY_FIRST,        /* never seen: claimed for this request */
    TW_REPLAY_DUPLICATE,    /* handled successfully within the window */
    TW_REPLAY_IN_FLIGHT,    /* another live request holds a claim on it now */
    TW_REPLAY_UNAVAILABLE   /* the cache (or its mutex) failed: logged */
} tw_replay_verdict_t;

/* This request's claim on a key: held (and renewed) until settled. */
typedef struct tw_replay_claim tw_replay_claim_t;

/* The directives (TwWebhookReplay*) are glue/config.c's: tw_conf_replay(). */
int tw_replay_configured(void);
/* TwWebhookReplayCacheFailure open: deliver when the cache fails. */
int tw_replay_fails_open(void);

/* FIRST: *pclaim is this transaction's claim, to settle once. */
tw_replay_verdict_t tw_replay_reserve(request_rec *r, const unsigned char key[TW_MAC_LEN],
                                      tw_replay_claim_t **pclaim);
/* Records the outcome of a claimed delivery: handled (2xx) or not. */
void tw_replay_settle(request_rec *r, tw_replay_claim_t *claim, int handled);

int tw_replay_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int tw_replay_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);
int tw_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
void tw_replay_child_init(apr_pool_t *p, server_rec *s);

#endif /* TWWEBHOOK_GLUE_REPLAY_H */
