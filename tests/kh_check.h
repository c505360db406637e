/*  kh_check.h - the checks of the unit tests: named as sentences, a FAIL line with the
    detail for each one that does not hold, and a closing count (test code only; each
    test program includes it once, in its main file). */
#ifndef KH_CHECK_H_INCLUDED
#define KH_CHECK_H_INCLUDED

#include <stdio.h>

static int s_checks, s_failed;

#define KH_CHECK(name, cond, ...) do { \
    s_checks++; \
    if (!(cond)) { \
        s_failed++; \
        printf ("FAIL %s: ", name); \
        printf (__VA_ARGS__); \
        printf ("  (%s:%d)\n", __FILE__, __LINE__); \
        fflush (stdout); \
    } \
} while (0)

/* Prints the closing line; returns the exit status for main. */
static inline int
kh_check_done (const char *test)
{
    printf ("%s: %d checks, %d failed\n", test, s_checks, s_failed);
    return s_failed ? 1 : 0;
}

#endif
