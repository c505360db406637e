/*  kh_ready.h - the READY line: one line a kreishub program prints on stdout once it
    serves, saying where, e.g.

        READY client=tcp://127.0.0.1:7701 live=tcp://127.0.0.1:7702 recorder=...

    The programs write it here and whoever starts them (kreishub up, the test harness,
    the bench, scripts) reads it here. A value's bytes up to the space, '%' and DEL
    are written as %XX, so that a value never holds a blank and a path with spaces
    comes back whole; a shell script may take the values of endpoints as they are.
*/
#ifndef KH_READY_H_INCLUDED
#define KH_READY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KH_READY_MAX    2048            /* bytes of a READY line, at most, newline included */

/* Writes "READY key=value ...\n" to out and flushes it. The arguments after out are
   pairs of key (lower-case letters and '_') and value (a string), ending with NULL.
   Returns 0, or -1 if the line would be longer than KH_READY_MAX or cannot be
   written (nothing is written then if it is too long). */
int kh_ready_print (FILE *out, const char *key, ...);

/* True if line (with or without its newline) is a READY line. */
bool kh_ready_is (const char *line);

/* Copies the value of key in the READY line into out (cap bytes), decoded. Returns
   0, or -1 with out "" if line is not a READY line, has no such key, or the value
   does not fit. */
int kh_ready_get (const char *line, const char *key, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
