/*
 * glue.h - what the httpd glue files share. httpd types are welcome here
 * and nowhere in the core: include/twwebhook.h stays httpd-free.
 */
#ifndef TWWEBHOOK_GLUE_H
#define TWWEBHOOK_GLUE_H

#include "httpd.h"
#include "http_config.h"

#include "twwebhook.h"

extern module AP_MODULE_DECLARE_DATA twwebhook_module;

/* ---- replay cache (glue/replay_cache.c) ---------------------------------- */

typedef enum {
    TW_REPLAY_FIRST,        /* never seen: reserved for this request */
    TW_REPLAY_DUPLICATE,    /* handled successfully within the window */
    TW_REPLAY_IN_FLIGHT,    /* another request with this body is at work now */
    TW_REPLAY_UNAVAILABLE   /* the cache (or its mutex) failed: logged */
} tw_replay_verdict_t;

const char *tw_replay_cmd_cache(cmd_parms *cmd, void *dummy, const char *arg);
const char *tw_replay_cmd_window(cmd_parms *cmd, void *dummy, const char *arg);
const char *tw_replay_cmd_failure(cmd_parms *cmd, void *dummy, const char *arg);

int tw_replay_configured(void);
int tw_replay_fails_open(void);
tw_replay_verdict_t tw_replay_reserve(request_rec *r, const unsigned char key[TW_MAC_LEN]);
/* Records the outcome of a reserved delivery: handled (2xx) or not. */
void tw_replay_settle(request_rec *r, const unsigned char key[TW_MAC_LEN], int handled);

int tw_replay_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int tw_replay_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);
int tw_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
void tw_replay_child_init(apr_pool_t *p, server_rec *s);

/* ---- counters shown by mod_status (glue/counters.c) ---------------------- */

typedef enum {
    TW_COUNT_VERIFIED,
    TW_COUNT_DUPLICATE,
    TW_COUNT_IGNORED,
    TW_COUNT_REJECTED_400,
    TW_COUNT_REJECTED_401,
    TW_COUNT_REJECTED_405,
    TW_COUNT_REJECTED_408,
    TW_COUNT_REJECTED_409,
    TW_COUNT_REJECTED_413,
    TW_COUNT_REJECTED_OTHER,
    TW_COUNT_SERVER_ERROR,
    TW_COUNT_BYTES_VERIFIED,
    TW_COUNT_MAX
} tw_counter_t;

void tw_count(tw_counter_t which, apr_uint64_t n);
/* Counts a rejection under the counter its HTTP status belongs to. */
void tw_count_rejection(int status);
int tw_counters_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s);
void tw_counters_register_hooks(void);

#endif /* TWWEBHOOK_GLUE_H */
