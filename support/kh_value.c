/*  kh_value.c - numbers, yes/no and choices from text (see kh_value.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include "kh_value.h"

int
kh_value_uint (const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    if (!text || !isdigit ((unsigned char) text [0]))
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull (text, &end, 10);
    if (*end || errno || n < min || n > max)
        return -1;
    *value = n;
    return 0;
}

int
kh_value_number (const char *program, const char *what, const char *text, uint64_t min,
                 uint64_t max, uint64_t *value)
{
    if (kh_value_uint (text, min, max, value) == 0)
        return 0;
    fprintf (stderr, "%s: %s must be a number from %llu to %llu, not '%s'\n", program,
             what, (unsigned long long) min, (unsigned long long) max, text ? text : "");
    return -1;
}

bool
kh_value_yes (const char *text)
{
    static const char *const yes [] = { "1", "true", "yes", "on", NULL };
    return kh_value_choice (text, yes) >= 0;
}

int
kh_value_choice (const char *text, const char *const names [])
{
    for (int i = 0; text && names [i]; i++)
        if (strcasecmp (text, names [i]) == 0)
            return i;
    return -1;
}
