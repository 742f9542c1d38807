/*
 * SPDX-License-Identifier: Apache-2.0
 * deliveries_row.h - between the ring (glue/deliveries.c) and the page
 * (glue/deliveries_page.c) only: what a row holds, consistent copies of a
 * server's rows, this start's action nonce, and the one rule for making
 * text safe to keep and show. The flow sees glue/deliveries.h alone.
 */
#ifndef TWWEBHOOK_GLUE_DELIVERIES_ROW_H
#define TWWEBHOOK_GLUE_DELIVERIES_ROW_H

#include "httpd.h"
#include "apr_tables.h"

#include "glue/deliveries.h"

/* Caps of a row's fields (bytes, with the NUL); longer values are cut
 * and end in "...". */
#define TW_DLV_TEXT         96      /* location, event, delivery id */
#define TW_DLV_REASON       192
#define TW_DLV_PATH         192
#define TW_DLV_HEADERS      16      /* header lines kept */
#define TW_DLV_HNAME        48
#define TW_DLV_HVALUE       160
#define TW_DLV_BODY         4096    /* TwWebhookDeliveriesShowBody On */
/* In sha256 for a verified body whose SHA-256 was not computed: spooled
 * to disk, or nothing here computed it (glue/deliveries.c, fill_row). */
#define TW_DLV_SHA256_SPOOLED   "-"
#define TW_DLV_SHA256_UNASKED   "0"

typedef struct {
    char name[TW_DLV_HNAME];
    char value[TW_DLV_HVALUE];
} tw_dlv_header_t;

/* One delivery. Fixed size, no pointers: it lives in shared memory. */
typedef struct {
    apr_uint32_t seq;           /* odd while written (glue/deliveries.c, "Torn rows") */
    apr_uint32_t serial;        /* 1, 2, ... per ring; 0: never written */
    apr_time_t time;            /* the request's arrival */
    apr_int64_t took;           /* usec, arrival to logging; -1 until known */
    apr_int64_t body_size;      /* -1: not read */
    apr_int32_t outcome;        /* tw_outcome_t */
    apr_int32_t state;          /* tw_dlv_state_t */
    apr_int32_t status;         /* what the sender was answered; 0 until known */
    apr_int32_t app_status;     /* what the app answered; 0: it did not run */
    apr_int32_t nheaders;
    apr_int32_t headers_left_out;
    apr_int32_t body_len;       /* bytes in body; -1: not kept */
    apr_int32_t attempts;       /* the dispatcher's tries so far; 0: none (the sender's own) */
    apr_uint32_t count;         /* identical refusals in a row this row stands for (1: itself) */
    apr_time_t last_time;       /* the arrival of the newest of them */
    apr_time_t next_try;        /* queued: the dispatcher's next try; 0: none */
    apr_time_t dispatched_at;   /* the last dispatch's end; 0: never dispatched */
    apr_int64_t dispatch_took;  /* usec the last dispatch took */
    char entry[TW_INBOX_ID_LEN + 1];   /* the inbox entry it was recorded as; "": none */
    char tag[8];                /* a refusal's tag, "TWW0110"; "" for the others */
    char sha256[TW_DIGEST_LEN * 2 + 1];   /* "" unless verified */
    char method[16];
    char client[48];
    char profile[32];
    char location[TW_DLV_TEXT];
    char event[TW_DLV_TEXT];
    char delivery[TW_DLV_TEXT];
    char reason[TW_DLV_REASON];
    char path[TW_DLV_PATH];
    tw_dlv_header_t headers[TW_DLV_HEADERS];
    char body[TW_DLV_BODY];
} tw_dlv_row_t;

/* Consistent copies (tw_dlv_row_t *) of s's rows, newest first; NULL
 * when s keeps none (TwWebhookDeliveriesLog 0, or TWW0851). */
apr_array_header_t *tw_deliveries_rows(const server_rec *s, apr_pool_t *p);

/* This start's nonce for the page's forms (hex; "" before post_config). */
const char *tw_deliveries_nonce(void);

/* src as text a page can show, into dst of capacity cap: control
 * characters and bytes that are not UTF-8 as \xNN, cut with "..." when
 * it does not fit. */
void tw_deliveries_put_text(char *dst, apr_size_t cap, const char *src);

/* The handler of "SetHandler twwebhook-deliveries" (deliveries_page.c). */
void tw_deliveries_page_register_hooks(void);

#endif /* TWWEBHOOK_GLUE_DELIVERIES_ROW_H */
