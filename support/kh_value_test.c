/*  kh_value_test.c - numbers, yes/no and choices from text. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_value.h"

static void
s_test_numbers (void)
{
    uint64_t value = 7;
    KH_CHECK ("a decimal number within its range is read",
              kh_value_uint ("1000", 0, 1000, &value) == 0 && value == 1000, "value %llu",
              (unsigned long long) value);
    KH_CHECK ("leading zeros are fine", kh_value_uint ("007", 1, 10, &value) == 0
              && value == 7, "value %llu", (unsigned long long) value);
    KH_CHECK ("the largest 64-bit number is read",
              kh_value_uint ("18446744073709551615", 0, UINT64_MAX, &value) == 0
              && value == UINT64_MAX, "value %llu", (unsigned long long) value);
    const char *bad [] = { "", "-1", "+1", " 1", "1 ", "1x", "1001", "0x10", "1e3",
                           "18446744073709551616", "0", NULL };
    for (int i = 0; bad [i]; i++) {
        value = 7;
        KH_CHECK ("a sign, a blank, letters, overflow or a value out of range is refused, "
                  "the value untouched", kh_value_uint (bad [i], 1, 1000, &value) == -1
                  && value == 7, "'%s' accepted as %llu", bad [i], (unsigned long long) value);
    }
    KH_CHECK ("NULL is no number", kh_value_uint (NULL, 0, 10, &value) == -1, "accepted");
}

/* Runs kh_value_number with stderr into a file; copies what it said into text. */
static int
s_number_said (const char *text_in, char *text, size_t cap, uint64_t *value)
{
    char path [] = "/tmp/kh-value-XXXXXX";
    int fd = mkstemp (path), saved = dup (STDERR_FILENO);
    fflush (stderr);
    if (fd >= 0)
        dup2 (fd, STDERR_FILENO);
    int rc = kh_value_number ("kh-test", "--window", text_in, 1, 100000, value);
    fflush (stderr);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    ssize_t n = fd >= 0 ? pread (fd, text, cap - 1, 0) : 0;
    text [n > 0 ? n : 0] = 0;
    if (fd >= 0)
        close (fd);
    unlink (path);
    return rc;
}

static void
s_test_number_message (void)
{
    char text [256];
    uint64_t value = 0;
    int rc = s_number_said ("ten", text, sizeof text, &value);
    KH_CHECK ("a refused number is explained with the program, the range and the text",
              rc == -1 && strcmp (text, "kh-test: --window must be a number from 1 to "
                                  "100000, not 'ten'\n") == 0, "rc %d '%s'", rc, text);
    rc = s_number_said ("10", text, sizeof text, &value);
    KH_CHECK ("a good number is taken without a word", rc == 0 && value == 10 && !*text,
              "rc %d '%s'", rc, text);
}

static void
s_test_yes_and_choices (void)
{
    const char *yes [] = { "1", "true", "yes", "on", "TRUE", "Yes", "ON", NULL };
    for (int i = 0; yes [i]; i++)
        KH_CHECK ("1, true, yes and on in any case mean yes", kh_value_yes (yes [i]),
                  "'%s' is no", yes [i]);
    const char *no [] = { "0", "false", "no", "off", "", "ja", "yes please", NULL };
    for (int i = 0; no [i]; i++)
        KH_CHECK ("anything else means no", !kh_value_yes (no [i]), "'%s' is yes", no [i]);
    KH_CHECK ("NULL means no", !kh_value_yes (NULL), "yes");
    const char *const names [] = { "table", "json", "csv", NULL };
    KH_CHECK ("a choice is found by its index, in any case",
              kh_value_choice ("JSON", names) == 1 && kh_value_choice ("csv", names) == 2,
              "%d %d", kh_value_choice ("JSON", names), kh_value_choice ("csv", names));
    KH_CHECK ("a word that is not a choice, a prefix or NULL is -1",
              kh_value_choice ("xml", names) == -1 && kh_value_choice ("js", names) == -1
              && kh_value_choice (NULL, names) == -1, "found");
}

int
main (void)
{
    s_test_numbers ();
    s_test_number_message ();
    s_test_yes_and_choices ();
    return kh_check_done ("value_test");
}
