/*  kh_value.c - numbers, yes/no and choices from text (see kh_value.h). */
#include <stdio.h>
#include <strings.h>
#include "kh_codec.h"                   /* kh_uint_parse, the tree's one number reader */
#include "kh_value.h"

int
kh_value_uint (const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    uint64_t number;
    if (!text || kh_uint_parse (text, max, &number) || number < min)
        return -1;
    *value = number;
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
