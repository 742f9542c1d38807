/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_unit.c - unit tests of the httpd-free core, printing TAP.
 *
 * Run by "make check" (t/unit/tw_unit). Needs no httpd and no network; the
 * spool and inbox tests make (and remove) directories under
 * apr_temp_dir_get().
 *
 * The tests of libtwcore/<unit>.c live in t/unit/test_<unit>.c, which
 * exports unit_<unit>(); shared helpers are in unit_common.c. This file
 * only sets APR up and calls the units. The order is the one the tests
 * have always run in, so a test keeps its number (and the random
 * generator its sequence): two units therefore have a second entry point
 * later on (unit_message_digest in test_replay_key.c, unit_status_scheme
 * in test_status.c). A new unit's call goes at the end.
 *
 * "tw_unit redis <phase> redis:host:port [<extra>]" runs instead one phase
 * of the Redis engine's tests (test_store_redis.c) against a redis-server
 * that t/137_store_redis.t started: the plain run needs no network.
 */
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

int main(int argc, char **argv)
{
    apr_pool_t *pool;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        printf("Bail out! APR initialisation failed\n");
        return 1;
    }
    if (argc >= 4 && strcmp(argv[1], "redis") == 0) {
        if (!unit_store_redis(pool, argv[2], argv[3], argc >= 5 ? argv[4] : NULL))
            return 1;
        apr_pool_destroy(pool);
        apr_terminate();
        return done_testing();
    }
    if (argc != 1) {
        printf("Bail out! usage: tw_unit [redis <phase> redis:host:port [<extra>]]\n");
        return 1;
    }
    unit_status();
    unit_hex();
    unit_signature();
    unit_hmac();
    unit_validate();
    unit_events();
    unit_json();
    unit_replay_key();
    unit_lease();
    unit_message_digest();
    unit_cleanse();
    unit_spool(pool);
    unit_status_scheme();
    unit_base64();
    unit_secret();
    unit_profile();
    unit_scheme();
    unit_sign();
    unit_inbox(pool);
    unit_store(pool);
    unit_queue();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
