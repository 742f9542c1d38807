/*
 * SPDX-License-Identifier: Apache-2.0
 * tap.h - a tiny Test Anything Protocol helper for the unit tests.
 *
 * One test program per process, built from several files: the counters
 * are declared here and defined once (unit_common.c), so the numbers run on
 * from one file to the next. Every check prints "ok N - name" or "not ok
 * N - name" plus "# " diagnostics, and done_testing() prints the plan and
 * yields the exit status (non-zero when anything failed), so a test that
 * dies half-way is a failure too.
 *
 *   ok(cond, "name %d", i);            is_int(got, want, "name");
 *   is_str(got, want, "name");         is_mem(got, want, len, "name");
 *   require_int(got, want, "what");    (no test: bails out unless equal)
 *   return done_testing();
 */
#ifndef TW_TAP_H
#define TW_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern unsigned tap_run, tap_failed;

static inline int tap_vok(int pass, const char *file, int line,
                          const char *fmt, va_list ap)
{
    tap_run++;
    printf("%sok %u - ", pass ? "" : "not ", tap_run);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s line %d\n", file, line);
    }
    fflush(stdout);
    return pass;
}

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = tap_vok(pass, file, line, fmt, ap);
    va_end(ap);
    return r;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static inline void tap_diag_hex(const char *label, const void *p, size_t len)
{
    const unsigned char *b = p;
    size_t i;

    printf("#   %8s: ", label);
    for (i = 0; i < len; i++)
        printf("%02x", b[i]);
    printf("\n");
}

/* Prints the plan after the tests; the exit status for main(). */
static inline int tap_done_testing(void)
{
    printf("1..%u\n", tap_run);
    if (tap_failed > 0)
        printf("# failed %u of %u tests\n", tap_failed, tap_run);
    fflush(stdout);
    return tap_failed > 0 ? 1 : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define diag(...) tap_diag(__VA_ARGS__)
#define done_testing() tap_done_testing()

#define is_int(got, want, ...) do {                                           \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);      \
        if (!ok(tap_g_ == tap_w_, __VA_ARGS__))                               \
            diag("  got: %lld, expected: %lld", tap_g_, tap_w_);              \
    } while (0)

#define is_str(got, want, ...) do {                                           \
        const char *tap_g_ = (got), *tap_w_ = (want);                         \
        int tap_eq_ = (tap_g_ == NULL || tap_w_ == NULL)                      \
            ? tap_g_ == tap_w_ : strcmp(tap_g_, tap_w_) == 0;                 \
        if (!ok(tap_eq_, __VA_ARGS__))                                        \
            diag("  got: '%s', expected: '%s'", tap_g_ ? tap_g_ : "(null)",   \
                 tap_w_ ? tap_w_ : "(null)");                                 \
    } while (0)

#define is_mem(got, want, len, ...) do {                                      \
        const void *tap_g_ = (got), *tap_w_ = (want);                         \
        size_t tap_n_ = (len);                                                \
        if (!ok(memcmp(tap_g_, tap_w_, tap_n_) == 0, __VA_ARGS__)) {          \
            tap_diag_hex("got", tap_g_, tap_n_);                              \
            tap_diag_hex("expected", tap_w_, tap_n_);                         \
        }                                                                     \
    } while (0)

/*
 * A step the checks after it depend on (a setup call, or a call made for
 * what it leaves behind) whose result must be want: otherwise the run
 * stops with "Bail out!", since the checks that follow would test
 * garbage. Not a test itself, so the numbering does not change. (The
 * core's verdicts are warn_unused_result: a test that means to ignore one
 * states what it expects here instead.)
 */
static inline void tap_bail(const char *file, int line, long long got, long long want,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6), noreturn));
static inline void tap_bail(const char *file, int line, long long got, long long want,
                            const char *fmt, ...)
{
    va_list ap;

    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" (%s line %d: got %lld, expected %lld)\n", file, line, got, want);
    fflush(stdout);
    exit(255);
}

#define require_int(got, want, ...) do {                                      \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);      \
        if (tap_g_ != tap_w_)                                                 \
            tap_bail(__FILE__, __LINE__, tap_g_, tap_w_, __VA_ARGS__);        \
    } while (0)

#endif /* TW_TAP_H */
