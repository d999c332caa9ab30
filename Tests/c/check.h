/* Minimal assertion helpers for the C unit tests: each test program is a
 * main() that returns non-zero when any check failed. */
#ifndef RF_TEST_CHECK_H
#define RF_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int rf_test_failures;
static long rf_test_checks;

#define CHECK(cond)                                                                \
    do {                                                                           \
        rf_test_checks++;                                                          \
        if (!(cond)) {                                                             \
            rf_test_failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                             \
    do {                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                      \
        rf_test_checks++;                                                          \
        if (va_ != vb_) {                                                          \
            rf_test_failures++;                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,    \
                    __LINE__, #a, #b, va_, vb_);                                   \
        }                                                                          \
    } while (0)

/* Stop early when a loop of checks has already failed many times. */
#define CHECK_BAIL()                                                               \
    do {                                                                           \
        if (rf_test_failures > 50) {                                               \
            fprintf(stderr, "too many failures, stopping\n");                      \
            return 1;                                                              \
        }                                                                          \
    } while (0)

#define TEST_DONE(name)                                                            \
    do {                                                                           \
        printf("%-28s %s (%ld checks, %d failed)\n", name,                         \
               rf_test_failures ? "FAIL" : "ok", rf_test_checks, rf_test_failures); \
        return rf_test_failures ? 1 : 0;                                           \
    } while (0)

#endif
