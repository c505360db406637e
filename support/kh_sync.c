/*  kh_sync.c - the recorder's durability modes by name (see kh_sync.h). */
#include <stddef.h>
#include "kh_sync.h"
#include "kh_value.h"

static const char *const s_names [] = {
    [KH_SYNC_FULL] = "full", [KH_SYNC_NORMAL] = "normal", [KH_SYNC_OFF] = "off", NULL
};

int
kh_sync_parse (const char *text, kh_sync_t *mode)
{
    int index = kh_value_choice (text, s_names);
    if (index < 0)
        return -1;
    *mode = (kh_sync_t) index;
    return 0;
}

const char *
kh_sync_name (kh_sync_t mode)
{
    return (unsigned) mode <= KH_SYNC_OFF ? s_names [mode] : s_names [KH_SYNC_FULL];
}
