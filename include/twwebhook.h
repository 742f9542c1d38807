/*
 * SPDX-License-Identifier: Apache-2.0
 * twwebhook.h - the httpd-free core of mod_twwebhook: the umbrella of the
 * headers under include/tw/, one per concern.
 *
 *   tw/base.h      limits, tw_status_t, TW_MUST_CHECK, tw_cleanse
 *   tw/codec.h     hex and base64, strict both ways
 *   tw/verify.h    keys, the streaming verifier, the Signature header
 *   tw/digest.h    the message digest and the replay cache's key
 *   tw/scheme.h    profiles, tw_scheme_parse, timestamps
 *   tw/secret.h    the rule for secret files
 *   tw/validate.h  event, delivery and environment-name alphabets
 *   tw/json.h      the verified body as JSON
 *   tw/spool.h     the body store, memory then disk
 *   tw/inbox.h     verified deliveries kept until the app took them
 *   tw/lease.h     the replay cache's claims
 *   tw/store.h     where the inbox keeps deliveries (a directory, Redis)
 *
 * Everything here depends on APR and OpenSSL's libcrypto only, and is
 * built into libtwcore, which the module links. The core never logs; every
 * verdict is TW_MUST_CHECK (tw/base.h).
 *
 * WARNING: no function declared through this header hands out a computed
 * MAC: a MAC leaves the core only as the answer "matched key N" or "no key
 * matched". Signing (tw_hmac_sha256, tw_scheme_sign) is tw/sign.h, which
 * this header deliberately does not include, in libtwsign, which only the
 * tools, the unit tests, the fuzz targets and the benchmark link.
 */
#ifndef TWWEBHOOK_H
#define TWWEBHOOK_H

#include "tw/base.h"
#include "tw/codec.h"
#include "tw/verify.h"
#include "tw/digest.h"
#include "tw/scheme.h"
#include "tw/secret.h"
#include "tw/validate.h"
#include "tw/json.h"
#include "tw/spool.h"
#include "tw/inbox.h"
#include "tw/lease.h"
#include "tw/store.h"
#include "tw/queue.h"

#endif /* TWWEBHOOK_H */
