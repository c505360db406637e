/*  kh_sync_test.c - the recorder's durability modes by name. */
#include <string.h>
#include "kh_check.h"
#include "kh_sync.h"

int
main (void)
{
    static const struct {
        const char *text;
        kh_sync_t   mode;
    } good [] = {
        { "full", KH_SYNC_FULL }, { "normal", KH_SYNC_NORMAL }, { "off", KH_SYNC_OFF },
        { "FULL", KH_SYNC_FULL }, { "Normal", KH_SYNC_NORMAL }, { "oFF", KH_SYNC_OFF },
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++) {
        kh_sync_t mode = (kh_sync_t) 99;
        KH_CHECK ("a mode's name is read in any case",
                  kh_sync_parse (good [i].text, &mode) == 0 && mode == good [i].mode,
                  "'%s' gave %d", good [i].text, (int) mode);
    }
    const char *bad [] = { "", "fast", "ful", "full ", NULL };
    for (int i = 0; bad [i]; i++) {
        kh_sync_t mode = KH_SYNC_NORMAL;
        KH_CHECK ("anything else is refused and the mode left as it was",
                  kh_sync_parse (bad [i], &mode) == -1 && mode == KH_SYNC_NORMAL,
                  "'%s' accepted", bad [i]);
    }
    kh_sync_t mode;
    KH_CHECK ("NULL is no mode", kh_sync_parse (NULL, &mode) == -1, "accepted");
    KH_CHECK ("every mode has its lower-case name",
              strcmp (kh_sync_name (KH_SYNC_FULL), "full") == 0
              && strcmp (kh_sync_name (KH_SYNC_NORMAL), "normal") == 0
              && strcmp (kh_sync_name (KH_SYNC_OFF), "off") == 0, "names differ");
    KH_CHECK ("a mode out of range is named full, the safe one",
              strcmp (kh_sync_name ((kh_sync_t) 7), "full") == 0, "'%s'",
              kh_sync_name ((kh_sync_t) 7));
    return kh_check_done ("sync_test");
}
