/*  kh_when_test.c - Europe/Berlin times as the CLI shows and reads them: both date
    forms, a time of day, UTC on request, an upper bound's whole day, the changes of
    summer time, and what is no time. */
#include "kh_check.h"
#include <string.h>
#include "kh_when.h"

#define S_MAR30_BERLIN  1648591200000ULL    /* 2022-03-30 00:00 CEST = 03-29T22:00Z */
#define S_MAR30_UTC     1648598400000ULL    /* 2022-03-30T00:00Z */

/* Parses text and checks it gives want. */
static void
s_check (const char *name, const char *text, bool utc, bool until, uint64_t want)
{
    uint64_t ms = 0;
    int rc = kh_when_parse (text, utc, until, &ms);
    KH_CHECK (name, rc == 0 && ms == want, "'%s': rc %d ms %llu, want %llu", text, rc,
              (unsigned long long) ms, (unsigned long long) want);
}

static void
s_test_parse (void)
{
    s_check ("an ISO date is its midnight in Berlin", "2022-03-30", false, false,
             S_MAR30_BERLIN);
    s_check ("a German date is the same day", "30.03.2022", false, false, S_MAR30_BERLIN);
    s_check ("a German date without leading zeros", "1.4.2022", false, false,
             S_MAR30_BERLIN + 2 * KH_WHEN_DAY_MS);
    s_check ("with --utc a date is its midnight in UTC", "30.03.2022", true, false,
             S_MAR30_UTC);
    s_check ("an upper bound's date includes the whole day in Berlin", "2022-03-30", false,
             true, 1648677599999ULL);
    s_check ("a time of day in winter is CET", "15.01.2022 10:30", false, false,
             1642239000000ULL);
    s_check ("a time of day with T and seconds", "2022-01-15T10:30:00", false, true,
             1642239000000ULL);
    s_check ("an ISO time ending in Z is UTC", "2022-01-15T09:30Z", false, false,
             1642239000000ULL);
    s_check ("the hour before summer time is CET", "27.03.2022 01:30", false, false,
             1648341000000ULL);
    s_check ("02:59 on the last Sunday of October, shown twice, is the first (CEST)", "30.10.2022 02:59",
             false, false, 1667091540000ULL);
    const char *bad [] = { "", "30.02.2022", "2022-3-30", "30.03.22", "2022-03-30 25:00",
                           "2022-03-30x", "yesterday", "12", "2022-03-30 10", NULL };
    uint64_t ms;
    for (int i = 0; bad [i]; i++)
        KH_CHECK ("what is no time is refused", kh_when_parse (bad [i], false, false, &ms) == -1,
                  "'%s' was read", bad [i]);
}

static void
s_test_show (void)
{
    char out [KH_WHEN_SIZE];
    kh_when_berlin (S_MAR30_BERLIN, out);
    KH_CHECK ("an instant is shown in Berlin's time", strcmp (out, "30.03.2022 00:00") == 0,
              "'%s'", out);
    kh_when_date (S_MAR30_BERLIN - 1, out);
    KH_CHECK ("a date is the Berlin day", strcmp (out, "29.03.2022") == 0, "'%s'", out);
    KH_CHECK ("summer time is two hours, winter one",
              kh_when_offset (S_MAR30_BERLIN) == 7200 && kh_when_offset (1642239000000ULL)
              == 3600, "%d %d", kh_when_offset (S_MAR30_BERLIN),
              kh_when_offset (1642239000000ULL));
}

int
main (void)
{
    s_test_parse ();
    s_test_show ();
    return kh_check_done ("when_test");
}
