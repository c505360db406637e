/*  kh_ready_test.c - READY lines written and read back. */
#include <czmq.h>
#include "kh_check.h"
#include "kh_ready.h"

/* Writes a READY line of two pairs into line (cap bytes) through a temporary file.
   Returns what kh_ready_print returned. */
static int
s_write (char *line, size_t cap, const char *k1, const char *v1, const char *k2,
         const char *v2)
{
    FILE *file = tmpfile ();
    int rc = file ? kh_ready_print (file, k1, v1, k2, v2, NULL) : -2;
    line [0] = 0;
    if (file) {
        rewind (file);
        if (!fgets (line, (int) cap, file))
            line [0] = 0;
        fclose (file);
    }
    return rc;
}

static void
s_test_round_trip (void)
{
    char line [KH_READY_MAX], value [256];
    int rc = s_write (line, sizeof line, "client", "tcp://127.0.0.1:7701", "db",
                      "/tmp/Meine Daten/100%/kreishub.db");
    KH_CHECK ("a READY line is one line of key=value pairs, blanks and % escaped",
              rc == 0 && streq (line, "READY client=tcp://127.0.0.1:7701 "
                                "db=/tmp/Meine%20Daten/100%25/kreishub.db\n"),
              "rc %d '%s'", rc, line);
    KH_CHECK ("it is a READY line", kh_ready_is (line), "'%s'", line);
    rc = kh_ready_get (line, "db", value, sizeof value);
    KH_CHECK ("a value comes back as it was written",
              rc == 0 && streq (value, "/tmp/Meine Daten/100%/kreishub.db"), "rc %d '%s'", rc,
              value);
    rc = kh_ready_get (line, "client", value, sizeof value);
    KH_CHECK ("an endpoint comes back as it was written",
              rc == 0 && streq (value, "tcp://127.0.0.1:7701"), "rc %d '%s'", rc, value);
    rc = s_write (line, sizeof line, "head", "0", "empty", "");
    KH_CHECK ("an empty value is written as key=", rc == 0
              && streq (line, "READY head=0 empty=\n")
              && kh_ready_get (line, "empty", value, sizeof value) == 0 && !*value,
              "rc %d '%s'", rc, line);
}

static void
s_test_reading (void)
{
    char value [16];
    const char *line = "READY xdb=1 db=2 db_x=3\n";
    KH_CHECK ("a key is matched whole, not as a part of another",
              kh_ready_get (line, "db", value, sizeof value) == 0 && streq (value, "2"),
              "'%s'", value);
    KH_CHECK ("a key that is not there is -1 with an empty value",
              kh_ready_get (line, "d", value, sizeof value) == -1 && !*value, "'%s'", value);
    KH_CHECK ("a value too long for the buffer is -1, not cut",
              kh_ready_get ("READY a=123456789", "a", value, 5) == -1 && !*value, "'%s'",
              value);
    KH_CHECK ("a line that does not start with the word READY is no READY line",
              !kh_ready_is ("READYING a=1") && !kh_ready_is ("ready a=1")
              && !kh_ready_is (" READY a=1") && !kh_ready_is (NULL)
              && kh_ready_get ("NOTREADY a=1", "a", value, sizeof value) == -1, "taken");
    KH_CHECK ("READY alone and READY with a carriage return are READY lines",
              kh_ready_is ("READY") && kh_ready_is ("READY\r\n")
              && kh_ready_get ("READY a=1\r\n", "a", value, sizeof value) == 0
              && streq (value, "1"), "'%s'", value);
    KH_CHECK ("a % without two hex digits stands for itself",
              kh_ready_get ("READY a=5%_%4", "a", value, sizeof value) == 0
              && streq (value, "5%_%4"), "'%s'", value);
}

static void
s_test_too_long (void)
{
    static char big [KH_READY_MAX];
    memset (big, 'x', sizeof big - 1);
    FILE *file = tmpfile ();
    int rc = file ? kh_ready_print (file, "a", big, NULL) : -2;
    long size = file ? ftell (file) : -1;
    if (file)
        fclose (file);
    KH_CHECK ("a line longer than KH_READY_MAX is refused and nothing written",
              rc == -1 && size == 0, "rc %d, %ld bytes", rc, size);
}

int
main (void)
{
    s_test_round_trip ();
    s_test_reading ();
    s_test_too_long ();
    return kh_check_done ("ready_test");
}
