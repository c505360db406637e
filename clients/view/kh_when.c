/*  kh_when.c - Europe/Berlin times, shown and read (see kh_when.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "kh_berlin.h"
#include "kh_when.h"

#define S_SECONDS_MAX  253402300799LL   /* 9999-12-31T23:59:59Z */

int
kh_when_offset (uint64_t ms)
{
    return kh_berlin_offset (ms);       /* the rule, written once (support/kh_berlin.c) */
}

/* Fills tm with the Berlin local time of the instant ms. */
static void
s_local (uint64_t ms, struct tm *tm)
{
    uint64_t secs = ms / 1000 + (uint64_t) kh_when_offset (ms);
    time_t t = (time_t) (secs > (uint64_t) S_SECONDS_MAX ? S_SECONDS_MAX : secs);
    gmtime_r (&t, tm);
}

void
kh_when_berlin (uint64_t ms, char out [KH_WHEN_SIZE])
{
    struct tm tm;
    s_local (ms, &tm);
    snprintf (out, KH_WHEN_SIZE, "%02u.%02u.%04u %02u:%02u", (unsigned) tm.tm_mday % 100,
              (unsigned) (tm.tm_mon + 1) % 100, (unsigned) (tm.tm_year + 1900) % 10000,
              (unsigned) tm.tm_hour % 100, (unsigned) tm.tm_min % 100);
}

void
kh_when_date (uint64_t ms, char out [KH_WHEN_SIZE])
{
    kh_when_berlin (ms, out);
    out [10] = 0;
}

/* Reads 1..max digits at *p into *value and moves *p past them. Returns true if
   there were at least min. */
static bool
s_number (const char **p, int min, int max, int *value)
{
    int n = 0;
    *value = 0;
    while (n < max && isdigit ((unsigned char) (*p) [0])) {
        *value = *value * 10 + (*(*p)++ - '0');
        n++;
    }
    return n >= min && !isdigit ((unsigned char) (*p) [0]);
}

/* Reads the date at *p, YYYY-MM-DD or D.M.YYYY, into tm. Returns true if it is one. */
static bool
s_date (const char **p, struct tm *tm)
{
    int a, b, c;
    const char *start = *p;
    if (!s_number (p, 1, 4, &a))
        return false;
    char sep = **p;
    size_t width = (size_t) (*p - start);
    if ((sep != '-' || width != 4) && (sep != '.' || width > 2))
        return false;
    (*p)++;
    if (!s_number (p, sep == '-' ? 2 : 1, 2, &b) || **p != sep)
        return false;
    (*p)++;
    if (!s_number (p, sep == '-' ? 2 : 4, sep == '-' ? 2 : 4, &c))
        return false;
    tm->tm_year = (sep == '-' ? a : c) - 1900;
    tm->tm_mon = b - 1;
    tm->tm_mday = sep == '-' ? c : a;
    return true;
}

/* Reads an optional time of day at *p (" HH:MM[:SS[.mmm]]" or with 'T') into tm
   and *millis; *clock says whether one was given. Returns false if what follows
   the date is not one. */
static bool
s_clock (const char **p, struct tm *tm, int *millis, bool *clock)
{
    *millis = 0;
    *clock = **p == ' ' || **p == 'T';
    if (!*clock)
        return true;
    (*p)++;
    if (!s_number (p, 2, 2, &tm->tm_hour) || *(*p)++ != ':'
    ||  !s_number (p, 2, 2, &tm->tm_min))
        return false;
    if (**p == ':' && ((*p)++, !s_number (p, 2, 2, &tm->tm_sec)))
        return false;
    if (**p == '.' && ((*p)++, !s_number (p, 3, 3, millis)))
        return false;
    return tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 60;
}

/* The instant (ms) of the Berlin local time local (s since the epoch, as if it were
   UTC): local less the offset Berlin has then. Of the hour that October's change
   shows twice, the first (summer time) is taken. */
static uint64_t
s_from_local (time_t local)
{
    uint64_t guess = (uint64_t) (local - 7200) * 1000;
    time_t utc = local - kh_when_offset (guess);
    if (kh_when_offset ((uint64_t) utc * 1000) != (int) (local - utc))
        utc = local - kh_when_offset ((uint64_t) utc * 1000);
    return (uint64_t) utc * 1000;
}

int
kh_when_parse (const char *text, bool utc, bool until, uint64_t *ms)
{
    struct tm tm = { .tm_sec = 0 };
    const char *p = text;
    int millis;
    bool clock;
    if (!text || !s_date (&p, &tm) || !s_clock (&p, &tm, &millis, &clock))
        return -1;
    if (clock && *p == 'Z') {
        utc = true;
        p++;
    }
    if (*p || tm.tm_year < 70 || tm.tm_year > 8099)
        return -1;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    time_t local = timegm (&tm);        /* normalises tm: 31.02. becomes 03.03. */
    if (tm.tm_mday != mday || tm.tm_mon != mon)
        return -1;
    *ms = utc ? (uint64_t) local * 1000 : s_from_local (local);
    *ms += (uint64_t) millis;
    if (until && !clock)
        *ms = (utc ? (uint64_t) (local + 24 * 3600) * 1000
                   : s_from_local (local + 24 * 3600)) - 1;
    return 0;
}
