/*  kh_uint.c - the tree's one reader of whole decimal numbers in text (see kh_codec.h):
    the builder's number fields, and through support's kh_value every flag,
    environment variable and config value of the hub's programs. */
#include <assert.h>
#include "kh_codec.h"

int
kh_uint_parse (const char *text, uint64_t max, uint64_t *value)
{
    assert (text);
    assert (value);
    if (!*text)
        return -1;
    uint64_t number = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t digit = (uint64_t) (*p - '0');
        /* number * 10 + digit <= max, asked without overflowing */
        if (digit > max || number > (max - digit) / 10)
            return -1;
        number = number * 10 + digit;
    }
    *value = number;
    return 0;
}
