/*  kh_suggest.h - "did you mean": how near a mistyped word is to the words a program
    knows (options, commands, message types, fields, names of municipalities).

    Words are compared as a person types them: folded first (kh_suggest_fold: any
    case, an umlaut alike as ä or ae, ß as ss), then by their edit distance in
    characters (a character inserted, deleted, replaced, or two neighbours swapped
    count one each). A word is near a typed one if the distance is small for the
    typed word's length: 1 up to 4 characters, 2 up to 8, else 3.
*/
#ifndef KH_SUGGEST_H_INCLUDED
#define KH_SUGGEST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KH_SUGGEST_CHARS_MAX  64        /* characters compared; longer words are far */

/* Writes text folded into out (cap bytes, NUL-terminated, cut at a character's
   boundary if it does not fit): A-Z and the Latin-1 capitals (Ä, Ö, Ü, ...) in
   lower case, ä ö ü as ae oe ue, ß as ss; everything else as it is. */
void kh_suggest_fold (const char *text, char *out, size_t cap);

/* The characters of the UTF-8 text (code points: every byte but a continuation
   byte counts), as a column of a table or a person counts them. */
size_t kh_suggest_length (const char *text);

/* The edit distance between the folded forms of a and b, in characters (bytes that
   are not UTF-8 count one each). Above KH_SUGGEST_CHARS_MAX characters either way,
   returns (size_t) -1. */
size_t kh_suggest_distance (const char *a, const char *b);

/* True if word is near typed (see above) without being equal to it once folded. */
bool kh_suggest_near (const char *typed, const char *word);

/* Returns the index of the word of words (count of them; a NULL entry is skipped)
   nearest to typed among the near ones, the first of equals; or -1 if none is near. */
int kh_suggest_best (const char *typed, const char *const words [], size_t count);

/* Writes the indices of the words near typed into found (at most max), nearest
   first, in their order among equals. Returns how many it wrote. */
size_t kh_suggest_all (const char *typed, const char *const words [], size_t count,
                       size_t found [], size_t max);

#ifdef __cplusplus
}
#endif
#endif
