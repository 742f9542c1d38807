/*
 * SPDX-License-Identifier: Apache-2.0
 * queue.h - TwWebhookQueue's dispatcher (glue/queue.c): a mod_watchdog
 * singleton that hands queued inbox entries to this server's own
 * listener, and the key that signs each such request's TW-Dispatch
 * header (the receiving side is mod_twwebhook.c).
 */
#ifndef TWWEBHOOK_GLUE_QUEUE_H
#define TWWEBHOOK_GLUE_QUEUE_H

#include "httpd.h"

#include "glue/glue.h"
#include "glue/config.h"

/* This server's dispatch key (TW_DISPATCH_KEY_LEN bytes), NULL before
 * post_config made it. The same in every process of every generation of
 * one httpd; never written anywhere or logged. */
const unsigned char *tw_queue_key(void);

/* check_config: TwWebhookQueue On needs mod_watchdog (TWW0841). */
int tw_queue_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
/* post_config: the key (first generation), the stores to dispatch from
 * and the watchdog callback. */
int tw_queue_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                         server_rec *s);

#endif /* TWWEBHOOK_GLUE_QUEUE_H */
