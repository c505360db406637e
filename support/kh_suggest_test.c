/*  kh_suggest_test.c - folding, the edit distance, and which words are suggested. */
#include <czmq.h>
#include "kh_check.h"
#include "kh_suggest.h"

static void
s_test_fold (void)
{
    char out [64];
    kh_suggest_fold ("J\xc3\xbc" "chen", out, sizeof out);
    KH_CHECK ("an umlaut folds to its two letters", streq (out, "juechen"), "got '%s'", out);
    kh_suggest_fold ("GRO\xc3\x9f" "E \xc3\x84MTER", out, sizeof out);
    KH_CHECK ("capitals fold to small letters, Ä to ae and ß to ss",
              streq (out, "grosse aemter"), "got '%s'", out);
    kh_suggest_fold ("\xc3\x89" "cole \xc3\x97", out, sizeof out);
    KH_CHECK ("other Latin-1 capitals fold to small ones, the sign × stays",
              streq (out, "\xc3\xa9" "cole \xc3\x97"), "got '%s'", out);
    kh_suggest_fold ("\xc3\xbc\xc3\xbc\xc3\xbc", out, 6);
    KH_CHECK ("folding stops where the next piece does not fit", streq (out, "ueue"),
              "got '%s'", out);
    kh_suggest_fold ("a\xff" "B", out, sizeof out);
    KH_CHECK ("a byte that is no UTF-8 stays as it is", streq (out, "a\xff" "b"),
              "got '%s'", out);
}

static void
s_test_distance (void)
{
    KH_CHECK ("a length is counted in characters", kh_suggest_length ("J\xc3\xbc" "chen") == 6
              && kh_suggest_length ("") == 0, "got %zu", kh_suggest_length ("J\xc3\xbc" "chen"));
    KH_CHECK ("equal words have distance 0", kh_suggest_distance ("type", "type") == 0, "wrong");
    KH_CHECK ("case does not count", kh_suggest_distance ("TYPE", "type") == 0, "wrong");
    KH_CHECK ("a swap of neighbours counts one", kh_suggest_distance ("tpye", "type") == 1,
              "got %zu", kh_suggest_distance ("tpye", "type"));
    KH_CHECK ("a letter missing, added or replaced counts one each",
              kh_suggest_distance ("fromat", "format") == 1
              && kh_suggest_distance ("limt", "limit") == 1
              && kh_suggest_distance ("limiit", "limit") == 1
              && kh_suggest_distance ("lumit", "limit") == 1, "wrong");
    KH_CHECK ("an umlaut typed as u is one from ue", kh_suggest_distance ("juchen",
              "J\xc3\xbc" "chen") == 1, "got %zu",
              kh_suggest_distance ("juchen", "J\xc3\xbc" "chen"));
    KH_CHECK ("distance is counted in characters, not bytes",
              kh_suggest_distance ("\xc3\xa9t\xc3\xa9", "ete") == 2, "got %zu",
              kh_suggest_distance ("\xc3\xa9t\xc3\xa9", "ete"));
    char long_word [200];
    memset (long_word, 'a', 199);
    long_word [199] = 0;
    KH_CHECK ("a word longer than can be compared is far",
              kh_suggest_distance (long_word, "a") == (size_t) -1, "wrong");
    long_word [KH_SUGGEST_CHARS_MAX] = 0;
    KH_CHECK ("a word of the longest length is compared",
              kh_suggest_distance (long_word, long_word) == 0, "wrong");
}

static void
s_test_near (void)
{
    KH_CHECK ("short words allow one edit", kh_suggest_near ("tpye", "type")
              && !kh_suggest_near ("tyx", "idea"), "wrong");
    KH_CHECK ("longer words allow two", kh_suggest_near ("subscirbe", "subscribe")
              && kh_suggest_near ("lmit", "limit") && kh_suggest_near ("fomat", "format"),
              "wrong");
    KH_CHECK ("a word is not near itself", !kh_suggest_near ("Log", "log"), "wrong");
    KH_CHECK ("unrelated words are not near", !kh_suggest_near ("xml", "csv")
              && !kh_suggest_near ("bogus", "json"), "wrong");
    const char *words [] = { "since", "until", NULL, "type", "timeout", "format", "from" };
    size_t count = sizeof words / sizeof words [0];
    KH_CHECK ("the nearest word is suggested", kh_suggest_best ("tyep", words, count) == 3,
              "got %d", kh_suggest_best ("tyep", words, count));
    KH_CHECK ("no word is suggested when none is near",
              kh_suggest_best ("colour", words, count) == -1, "got %d",
              kh_suggest_best ("colour", words, count));
    size_t found [4];
    size_t n = kh_suggest_all ("fromat", words, count, found, 4);
    KH_CHECK ("all near words come nearest first",
              n == 2 && found [0] == 5 && found [1] == 6, "n %zu", n);
    n = kh_suggest_all ("fromat", words, count, found, 1);
    KH_CHECK ("no more than asked for", n == 1 && found [0] == 5, "n %zu", n);
}

int
main (void)
{
    s_test_fold ();
    s_test_distance ();
    s_test_near ();
    return kh_check_done ("suggest_test");
}
