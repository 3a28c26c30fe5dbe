/*
 * check.h - a minimal test runner: every failed CHECK is reported (file,
 * line, expression) and the test goes on; the summary line is
 * "N passed, M failed" over test functions.
 */
#ifndef WHVEMU_TESTS_CHECK_H
#define WHVEMU_TESTS_CHECK_H

#include <stdio.h>

static int check_failures_in_test;
static int check_tests_passed;
static int check_tests_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                               \
            check_failures_in_test++;                                                              \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long check_a_ = (unsigned long long)(a);                                     \
        unsigned long long check_b_ = (unsigned long long)(b);                                     \
        if (check_a_ != check_b_) {                                                                \
            printf("  FAIL %s:%d: %s == %s (0x%llx != 0x%llx)\n", __FILE__, __LINE__, #a, #b,      \
                   check_a_, check_b_);                                                            \
            check_failures_in_test++;                                                              \
        }                                                                                          \
    } while (0)

#define RUN(test)                                                                                  \
    do {                                                                                           \
        check_failures_in_test = 0;                                                                \
        test();                                                                                    \
        if (check_failures_in_test) {                                                              \
            printf("FAIL %s\n", #test);                                                            \
            check_tests_failed++;                                                                  \
        } else {                                                                                   \
            printf("ok   %s\n", #test);                                                            \
            check_tests_passed++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_SUMMARY()                                                                            \
    (printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed),                     \
     check_tests_failed ? 1 : 0)

#endif /* WHVEMU_TESTS_CHECK_H */
