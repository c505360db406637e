/*  kh_berlin.c - the calendar date in Europe/Berlin of an instant, from the EU rule. */
#include <stdbool.h>
#include <time.h>
#include "kh_berlin.h"

/* 9999-12-31T23:59:59Z: the last second a date of four digits can name. */
#define S_SECONDS_MAX   253402300799LL

/* Returns the instant (seconds since the epoch) of 01:00 UTC on the last Sunday of
   month (0-based, as struct tm counts) of year (as struct tm counts, from 1900). */
static time_t
s_last_sunday (int year, int month)
{
    /* The 31st of March and of October is each month's last day. */
    struct tm day = { .tm_year = year, .tm_mon = month, .tm_mday = 31, .tm_hour = 1 };
    time_t last = timegm (&day);
    struct tm check;
    gmtime_r (&last, &check);
    return last - (time_t) check.tm_wday * 24 * 3600;
}

int
kh_berlin_offset (uint64_t ms)
{
    time_t t = (time_t) (ms / 1000 > (uint64_t) S_SECONDS_MAX ? S_SECONDS_MAX : ms / 1000);
    struct tm utc;
    gmtime_r (&t, &utc);
    bool summer = t >= s_last_sunday (utc.tm_year, 2) && t < s_last_sunday (utc.tm_year, 9);
    return summer ? 7200 : 3600;
}

void
kh_berlin_date (uint64_t ms, char out [KH_DATE_SIZE])
{
    uint64_t seconds = ms / 1000 + (uint64_t) kh_berlin_offset (ms);
    time_t t = (time_t) (seconds > (uint64_t) S_SECONDS_MAX ? S_SECONDS_MAX : seconds);
    struct tm day;
    gmtime_r (&t, &day);
    if (strftime (out, KH_DATE_SIZE, "%Y-%m-%d", &day) == 0)
        out [0] = 0;                    /* cannot happen: years 1970 to 9999 */
}
