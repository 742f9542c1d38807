/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_lease.c - claim values for the replay cache (format: include/tw/lease.h).
 *
 * Hazard: tw_lease_holder_gone() must never say "gone" of a live holder,
 * or two copies of one delivery run the app. So it says so only for a
 * holder on this very node (same boot, same pid namespace) whose pid no
 * longer exists (kill(pid, 0) fails with ESRCH, or it is a zombie its parent
 * has not reaped yet). A reused pid errs the safe
 * way: the claim looks alive and waits for its lease to expire.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/rand.h>

#include "tw/lease.h"
#include "tw/codec.h"
#include "tw_internal.h"

#define LEASE_PREFIX   "P1 "
#define BOOT_ID_PATH   "/proc/sys/kernel/random/boot_id"
#define PID_NS_PATH    "/proc/self/ns/pid"

/* The boot id's first line into buf (at most cap - 1 characters), or "". */
static void read_boot_id(char *buf, size_t cap)
{
    FILE *f = fopen(BOOT_ID_PATH, "r");
    size_t n;

    buf[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(buf, (int)cap, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
}

void tw_lease_node(char node[TW_LEASE_NODE_MAX + 1])
{
    char boot[40];
    struct stat st;

    node[0] = '\0';
    read_boot_id(boot, sizeof(boot));
    if (boot[0] == '\0' || stat(PID_NS_PATH, &st) != 0)
        return;
    snprintf(node, TW_LEASE_NODE_MAX + 1, "%s/%lu", boot, (unsigned long)st.st_ino);
}

tw_status_t tw_lease_new(tw_lease_t *lease, const char *node, long pid)
{
    unsigned char raw[TW_LEASE_TOKEN_LEN / 2];
    tw_status_t st;

    if (lease == NULL || node == NULL || strlen(node) > TW_LEASE_NODE_MAX
        || strchr(node, ' ') != NULL || pid < 0)
        return TW_ERR_ARG;
    if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
        return TW_ERR_CRYPTO;
    st = tw_hex_encode(raw, sizeof(raw), lease->token, sizeof(lease->token));
    if (st != TW_OK)
        return st;
    strcpy(lease->node, node);
    lease->pid = pid;
    return TW_OK;
}

tw_status_t tw_lease_format(const tw_lease_t *lease, char out[TW_LEASE_VALUE_MAX + 1],
                            size_t *len)
{
    int n;

    if (lease == NULL || out == NULL || len == NULL || strlen(lease->token) != TW_LEASE_TOKEN_LEN)
        return TW_ERR_ARG;
    /* an unknown node is stored as "-", so the value keeps its 4 fields */
    n = snprintf(out, TW_LEASE_VALUE_MAX + 1, LEASE_PREFIX "%s %s %ld", lease->token,
                 lease->node[0] ? lease->node : "-", lease->pid);
    if (n < 0 || n > TW_LEASE_VALUE_MAX)
        return TW_ERR_ARG;
    *len = (size_t)n;
    return TW_OK;
}

/* "<token> <node> <pid>" after the prefix; 0 when any part is off. */
static int parse_holder(const char *s, size_t len, tw_lease_t *lease)
{
    char copy[TW_LEASE_VALUE_MAX + 1], *node, *pid, *end;
    long n;
    size_t i;

    if (len > TW_LEASE_VALUE_MAX || memchr(s, '\0', len) != NULL)
        return 0;
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (len < TW_LEASE_TOKEN_LEN + 1 || copy[TW_LEASE_TOKEN_LEN] != ' ')
        return 0;
    for (i = 0; i < TW_LEASE_TOKEN_LEN; i++)
        if (tw_hex_digit_value((unsigned char)copy[i]) < 0)
            return 0;
    node = copy + TW_LEASE_TOKEN_LEN + 1;
    if ((pid = strchr(node, ' ')) == NULL || (size_t)(pid - node) > TW_LEASE_NODE_MAX)
        return 0;
    *pid++ = '\0';
    errno = 0;
    n = strtol(pid, &end, 10);
    if (errno != 0 || end == pid || *end != '\0' || n < 0)
        return 0;
    memcpy(lease->token, copy, TW_LEASE_TOKEN_LEN);
    lease->token[TW_LEASE_TOKEN_LEN] = '\0';
    strcpy(lease->node, strcmp(node, "-") == 0 ? "" : node);
    lease->pid = n;
    return 1;
}

tw_lease_state_t tw_lease_parse(const char *value, size_t len, tw_lease_t *lease)
{
    tw_lease_t ignored;

    if (lease == NULL)
        lease = &ignored;
    memset(lease, 0, sizeof(*lease));
    if (value == NULL)
        return TW_LEASE_UNKNOWN;
    if (len == 1 && value[0] == 'D')
        return TW_LEASE_DONE;
    if (len == 1 && value[0] == 'R')
        return TW_LEASE_FREE;
    if (len == 1 && value[0] == 'P')
        return TW_LEASE_PENDING;   /* an older version's claim: holder unknown */
    if (len > sizeof(LEASE_PREFIX) - 1 && memcmp(value, LEASE_PREFIX, sizeof(LEASE_PREFIX) - 1) == 0
        && parse_holder(value + sizeof(LEASE_PREFIX) - 1, len - (sizeof(LEASE_PREFIX) - 1), lease))
        return TW_LEASE_PENDING;
    memset(lease, 0, sizeof(*lease));
    return TW_LEASE_UNKNOWN;
}

/*
 * 1 when pid is a zombie: killed, but not yet reaped by its parent (httpd
 * reaps its children about once a second), so kill(pid, 0) still succeeds.
 */
static int is_zombie(long pid)
{
    char path[64], line[512], *state;
    FILE *f;
    int zombie = 0;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    /* "pid (comm) S ...": the state follows the last ')' (comm may hold one) */
    if (fgets(line, (int)sizeof(line), f) != NULL && (state = strrchr(line, ')')) != NULL)
        zombie = state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
    fclose(f);
    return zombie;
}

int tw_lease_holder_gone(const tw_lease_t *lease, const char *this_node)
{
    if (lease == NULL || this_node == NULL || this_node[0] == '\0' || lease->node[0] == '\0'
        || strcmp(lease->node, this_node) != 0 || lease->pid <= 0)
        return 0;
    if (kill((pid_t)lease->pid, 0) != 0)
        return errno == ESRCH;
    return is_zombie(lease->pid);
}
