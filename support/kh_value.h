/*  kh_value.h - reading small values from text that a person typed (a flag, an
    environment variable, a config file): numbers in a range, yes/no, one of a list.

    Every program of the hub reads its numbers here, with the codec's kh_uint_parse
    that the builder's number fields use too, so that "10x", "-1", " 5" and "0x10"
    are refused alike everywhere, and every refusal reads alike.
*/
#ifndef KH_VALUE_H_INCLUDED
#define KH_VALUE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a decimal number from min to max into *value with the codec's
   kh_uint_parse, as the builder reads number fields: digits only (no sign, blank,
   base prefix or unit; leading zeros are fine). Returns 0, or -1 with *value
   untouched if text is NULL, empty, not all digits, too large or out of range. */
int kh_value_uint (const char *text, uint64_t min, uint64_t max, uint64_t *value);

/* The same, and on failure says on stderr
   "PROGRAM: WHAT must be a number from MIN to MAX, not 'TEXT'". */
int kh_value_number (const char *program, const char *what, const char *text,
                     uint64_t min, uint64_t max, uint64_t *value);

/* True if text says yes: 1, true, yes or on, in any case. Anything else, NULL
   included, is no. */
bool kh_value_yes (const char *text);

/* Finds text among names (NULL-terminated), ignoring case. Returns its index, or -1
   if text is NULL or not one of them. */
int kh_value_choice (const char *text, const char *const names []);

#ifdef __cplusplus
}
#endif
#endif
