/*
 * SPDX-License-Identifier: Apache-2.0
 * counters.c - delivery counters shared by every child process, shown by
 * mod_status (HTML, and "Key: value" lines for ?auto).
 *
 * Per-process counters would show whichever child answered the status
 * request; these live in one anonymous shared memory segment that the
 * parent creates once and every child inherits at fork. It is made on the
 * process pool, so graceful restarts keep counting.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "mod_status.h"

#include "apr_atomic.h"
#include "apr_optional_hooks.h"
#include "apr_shm.h"

#include "glue.h"

APLOG_USE_MODULE(twwebhook);

#define TW_COUNTERS_KEY "twwebhook-counters"

static const struct {
    const char *auto_key;   /* ?auto line */
    const char *label;      /* HTML */
} counter_names[TW_COUNT_MAX] = {
    [TW_COUNT_VERIFIED]       = { "TwWebhookVerified",       "verified deliveries" },
    [TW_COUNT_DUPLICATE]      = { "TwWebhookDuplicates",     "duplicates answered without the app" },
    [TW_COUNT_IGNORED]        = { "TwWebhookIgnoredEvents",  "events outside TwWebhookEvents, acknowledged" },
    [TW_COUNT_REJECTED_400]   = { "TwWebhookRejected400",    "rejected 400 (unsafe header, not JSON, bad framing)" },
    [TW_COUNT_REJECTED_401]   = { "TwWebhookRejected401",    "rejected 401 (signature missing, malformed or wrong)" },
    [TW_COUNT_REJECTED_405]   = { "TwWebhookRejected405",    "rejected 405 (not a POST)" },
    [TW_COUNT_REJECTED_408]   = { "TwWebhookRejected408",    "rejected 408 (body too slow)" },
    [TW_COUNT_REJECTED_409]   = { "TwWebhookRejected409",    "rejected 409 (same delivery already in progress)" },
    [TW_COUNT_REJECTED_413]   = { "TwWebhookRejected413",    "rejected 413 (body too large)" },
    [TW_COUNT_REJECTED_OTHER] = { "TwWebhookRejectedOther",  "rejected otherwise (client gone, ...)" },
    [TW_COUNT_SERVER_ERROR]   = { "TwWebhookServerErrors",   "server faults (500, 503)" },
    [TW_COUNT_BYTES_VERIFIED] = { "TwWebhookBytesVerified",  "bytes of verified bodies" },
};

/* Set in the parent before any child exists; read-only afterwards. */
static volatile apr_uint64_t *counters;

void tw_count(tw_counter_t which, apr_uint64_t n)
{
    if (counters != NULL && which < TW_COUNT_MAX)
        apr_atomic_add64(&counters[which], n);
}

void tw_count_rejection(int status)
{
    switch (status) {
    case HTTP_BAD_REQUEST:              tw_count(TW_COUNT_REJECTED_400, 1); break;
    case HTTP_UNAUTHORIZED:             tw_count(TW_COUNT_REJECTED_401, 1); break;
    case HTTP_METHOD_NOT_ALLOWED:       tw_count(TW_COUNT_REJECTED_405, 1); break;
    case HTTP_REQUEST_TIME_OUT:         tw_count(TW_COUNT_REJECTED_408, 1); break;
    case HTTP_CONFLICT:                 tw_count(TW_COUNT_REJECTED_409, 1); break;
    case HTTP_REQUEST_ENTITY_TOO_LARGE: tw_count(TW_COUNT_REJECTED_413, 1); break;
    default:
        tw_count(status >= 500 ? TW_COUNT_SERVER_ERROR : TW_COUNT_REJECTED_OTHER, 1);
    }
}

int tw_counters_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    apr_pool_t *process_pool = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    void *data = NULL;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;   /* the dry run before the real start: nothing to share yet */
    apr_pool_userdata_get(&data, TW_COUNTERS_KEY, process_pool);
    if (data != NULL) {
        counters = data;
        return OK;
    }
    rv = apr_shm_create(&shm, sizeof(apr_uint64_t) * TW_COUNT_MAX, NULL, process_pool);
    if (rv != APR_SUCCESS) {
        /* Counting is a convenience: run without it rather than not at all. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "TWW0601: cannot create shared memory for counters; "
                     "mod_status will show none");
        return OK;
    }
    data = apr_shm_baseaddr_get(shm);
    memset(data, 0, sizeof(apr_uint64_t) * TW_COUNT_MAX);
    apr_pool_userdata_set(data, TW_COUNTERS_KEY, apr_pool_cleanup_null, process_pool);
    counters = data;
    return OK;
}

static int hook_status(request_rec *r, int flags)
{
    int i;

    if (counters == NULL)
        return OK;
    if (flags & AP_STATUS_SHORT) {
        ap_rputs("TwWebhookVersion: " TW_VERSION "\n", r);
        for (i = 0; i < TW_COUNT_MAX; i++)
            ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", counter_names[i].auto_key,
                       apr_atomic_read64(&counters[i]));
        return OK;
    }
    ap_rputs("<hr />\n<h2>mod_twwebhook</h2>\n<table>\n"
             "<tr><td>version</td><td>" TW_VERSION "</td></tr>\n", r);
    for (i = 0; i < TW_COUNT_MAX; i++)
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   counter_names[i].label, apr_atomic_read64(&counters[i]));
    ap_rputs("</table>\n", r);
    return OK;
}

void tw_counters_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, hook_status, NULL, NULL, APR_HOOK_MIDDLE);
}
