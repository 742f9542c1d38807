/*
 * SPDX-License-Identifier: Apache-2.0
 * test_lease.c - unit tests of tw_lease.c: claim values for the replay cache
 * and when a holder is gone.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "twwebhook.h"
#include "tap.h"
#include "unit_common.h"

/* ---- leases (tw_lease.c) ---------------------------------------------------- */

static void test_lease_values(void)
{
    char node[TW_LEASE_NODE_MAX + 1], value[TW_LEASE_VALUE_MAX + 1];
    tw_lease_t lease, other, parsed;
    size_t len = 0;

    tw_lease_node(node);
    ok(node[0] != '\0' && strchr(node, '/') != NULL && strchr(node, ' ') == NULL,
       "tw_lease_node: boot id and pid namespace, no space");
    is_int(tw_lease_new(&lease, node, 4242), TW_OK, "tw_lease_new: succeeds");
    is_int((long)strlen(lease.token), TW_LEASE_TOKEN_LEN, "... a token of 32 hex digits");
    is_int(tw_lease_new(&other, node, 4242), TW_OK, "a second claim: succeeds");
    ok(strcmp(lease.token, other.token) != 0, "... with another token");
    is_int(tw_lease_format(&lease, value, &len), TW_OK, "tw_lease_format: succeeds");
    is_int((long)len, (long)strlen(value), "... its length");
    ok(strncmp(value, "P1 ", 3) == 0, "... a claim value starts with P1");
    is_int(tw_lease_parse(value, len, &parsed), TW_LEASE_PENDING, "a formatted claim parses as pending");
    is_str(parsed.token, lease.token, "... its token");
    is_str(parsed.node, node, "... its node");
    is_int(parsed.pid, 4242, "... its pid");

    is_int(tw_lease_new(&lease, "", 7), TW_OK, "an unknown node: succeeds");
    is_int(tw_lease_format(&lease, value, &len), TW_OK, "... formats");
    is_int(tw_lease_parse(value, len, &parsed), TW_LEASE_PENDING, "... parses as pending");
    is_str(parsed.node, "", "... with no node");
    is_int(tw_lease_new(&lease, "a b", 1), TW_ERR_ARG, "a node with a space: refused");
    is_int(tw_lease_new(&lease, node, -1), TW_ERR_ARG, "a negative pid: refused");

    is_int(tw_lease_parse("D", 1, &parsed), TW_LEASE_DONE, "\"D\": handled");
    is_int(tw_lease_parse("R", 1, &parsed), TW_LEASE_FREE, "\"R\": released (free)");
    is_int(tw_lease_parse("P", 1, &parsed), TW_LEASE_PENDING, "\"P\": an older version's claim");
    is_str(parsed.token, "", "... with no holder known");
    is_int(tw_lease_parse("", 0, &parsed), TW_LEASE_UNKNOWN, "empty: unknown");
    is_int(tw_lease_parse("DD", 2, &parsed), TW_LEASE_UNKNOWN, "\"DD\": unknown");
    is_int(tw_lease_parse("P1 0123 n 1", 11, &parsed), TW_LEASE_UNKNOWN, "a short token: unknown");
    is_int(tw_lease_parse("P1 0123456789abcdef0123456789abcdeg n 1", 39, &parsed), TW_LEASE_UNKNOWN,
           "a token with a non-hex digit: unknown");
    is_int(tw_lease_parse("P1 0123456789abcdef0123456789abcdef n x", 39, &parsed), TW_LEASE_UNKNOWN,
           "a pid that is no number: unknown");
    is_int(tw_lease_parse("P1 0123456789abcdef0123456789abcdef n 1\0", 40, &parsed),
           TW_LEASE_UNKNOWN, "a NUL inside: unknown");
}

static void test_lease_holder_gone(void)
{
    char node[TW_LEASE_NODE_MAX + 1];
    tw_lease_t lease;
    pid_t child;
    int status;

    tw_lease_node(node);
    is_int(tw_lease_new(&lease, node, (long)getpid()), TW_OK, "a claim of this process");
    ok(!tw_lease_holder_gone(&lease, node), "... this process is alive: not gone");
    ok(!tw_lease_holder_gone(&lease, "another-boot/1"), "... seen from another node: not gone");
    ok(!tw_lease_holder_gone(&lease, ""), "... seen from an unknown node: not gone");

    child = fork();
    if (child == 0)
        _exit(0);
    ok(child > 0, "fork a child that exits at once");
    lease.pid = (long)child;
    usleep(200000);   /* exited, not yet reaped: a zombie */
    ok(tw_lease_holder_gone(&lease, node), "a holder that exited and is not reaped (zombie): gone");
    ok(!tw_lease_holder_gone(&lease, "another-boot/1"), "... but not from another node");
    waitpid(child, &status, 0);
    ok(tw_lease_holder_gone(&lease, node), "a holder reaped (no such process): gone");
    lease.node[0] = '\0';
    ok(!tw_lease_holder_gone(&lease, node), "a holder on an unknown node: never gone on sight");
}

void unit_lease(void)
{
    test_lease_values();
    test_lease_holder_gone();
}
