/*  kh_when.h - times as people in the Kreis read and type them: Europe/Berlin local
    time (CET, or CEST from 01:00 UTC on the last Sunday of March to 01:00 UTC on
    the last Sunday of October, the EU rule since 1996), dates as 30.03.2022 or
    2022-03-30, with a time of day if wanted.

    The hub stores UTC milliseconds; the CLI shows and reads them in Berlin unless
    asked for UTC (`log --utc`), so that "the Kreistag's decision on 30.03.2022"
    finds what was published that day there, not that day in London.
*/
#ifndef KH_WHEN_H_INCLUDED
#define KH_WHEN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define KH_WHEN_SIZE   17               /* "TT.MM.JJJJ HH:MM" and its NUL */
#define KH_WHEN_DAY_MS (24ULL * 3600 * 1000)

/* The offset of Europe/Berlin from UTC at the instant ms (ms since the epoch), in
   seconds: 3600 or 7200. */
int kh_when_offset (uint64_t ms);

/* Writes the instant ms as Berlin local time "TT.MM.JJJJ HH:MM" into out. */
void kh_when_berlin (uint64_t ms, char out [KH_WHEN_SIZE]);

/* Writes the Berlin date of the instant ms, "TT.MM.JJJJ", into out. */
void kh_when_date (uint64_t ms, char out [KH_WHEN_SIZE]);

/* Reads a time as a person gives it: a date, YYYY-MM-DD or TT.MM.JJJJ (also
   T.M.JJJJ), optionally followed by a blank or 'T' and HH:MM or HH:MM:SS (and
   .mmm), local time in Europe/Berlin, or in UTC if utc is true or the text ends in
   'Z'. A date alone is its first millisecond, or with until its last (the bound
   includes that whole day). Returns 0 with *ms set, or -1 if text is no such time
   (a day that does not exist included). */
int kh_when_parse (const char *text, bool utc, bool until, uint64_t *ms);

#endif
