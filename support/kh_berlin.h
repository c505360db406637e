/*  kh_berlin.h - the calendar date in Europe/Berlin of an instant, as the hub judges days.

    An item's valid_until is a day in Europe/Berlin (PROTOCOL.md section 13); the
    recorder judges it against its own clock. The date is worked out here from the
    rule alone, not from the machine's time zone files or TZ, so that every machine
    and every rebuild of the state judges a day the same: CET (UTC+1), and CEST
    (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
    Sunday of October (the EU rule in force since 1996, applied to every year).
*/
#ifndef KH_BERLIN_H_INCLUDED
#define KH_BERLIN_H_INCLUDED

#include <stdint.h>

#define KH_DATE_SIZE 11                 /* "YYYY-MM-DD" and its NUL */

/* Writes the date in Europe/Berlin at ms milliseconds since the Unix epoch as
   YYYY-MM-DD into out. Instants after 9999-12-31 in Berlin give "9999-12-31". */
void kh_berlin_date (uint64_t ms, char out [KH_DATE_SIZE]);

/* Returns the offset of Europe/Berlin from UTC at ms, in seconds: 3600 or 7200. */
int kh_berlin_offset (uint64_t ms);

#endif
