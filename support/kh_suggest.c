/*  kh_suggest.c - "did you mean": folding and the edit distance (see kh_suggest.h). */
#include <stdint.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_suggest.h"

/* Room for a folded word: KH_SUGGEST_CHARS_MAX + 1 characters of up to 4 bytes, so
   that a word cut to fit still shows that it is too long. */
#define S_FOLD_CAP   (4 * (KH_SUGGEST_CHARS_MAX + 1) + 1)

/* The length of the character at p (n bytes left): a UTF-8 sequence, else 1. */
static size_t
s_char_len (const uint8_t *p, size_t n)
{
    size_t len = kh_utf8_seq (p, n);
    return len ? len : 1;
}

/* What the character of the two-byte UTF-8 sequence C3 second folds to when it
   becomes two letters (ä: ae, ß: ss), or NULL. */
static const char *
s_fold_latin1 (uint8_t second)
{
    switch (second) {
        case 0x84: case 0xa4: return "ae";          /* Ä ä */
        case 0x96: case 0xb6: return "oe";          /* Ö ö */
        case 0x9c: case 0xbc: return "ue";          /* Ü ü */
        case 0x9f:            return "ss";          /* ß */
        default:              return NULL;
    }
}

void
kh_suggest_fold (const char *text, char *out, size_t cap)
{
    const uint8_t *p = (const uint8_t *) text;
    size_t left = strlen (text), n = 0;
    if (cap == 0)
        return;
    while (left) {
        size_t len = s_char_len (p, left);
        char piece [5] = "";
        memcpy (piece, p, len);
        if (len == 1 && p [0] >= 'A' && p [0] <= 'Z')
            piece [0] = (char) (p [0] + 'a' - 'A');
        else
        if (len == 2 && p [0] == 0xc3 && s_fold_latin1 (p [1]))
            memcpy (piece, s_fold_latin1 (p [1]), 3);
        else
        if (len == 2 && p [0] == 0xc3 && p [1] >= 0x80 && p [1] <= 0x9e && p [1] != 0x97)
            piece [1] = (char) (p [1] + 0x20);      /* À..Þ to à..þ, but not × */
        size_t size = strlen (piece);
        if (n + size >= cap)
            break;
        memcpy (out + n, piece, size);
        n += size;
        p += len;
        left -= len;
    }
    out [n] = 0;
}

size_t
kh_suggest_length (const char *text)
{
    size_t chars = 0;
    for (; *text; text++)
        chars += ((unsigned char) *text & 0xc0) != 0x80;
    return chars;
}

/* Decodes the folded form of text into chars (one number per character; a byte
   that is no UTF-8 as itself with the top bit set). Returns the number of
   characters, or more than KH_SUGGEST_CHARS_MAX if text is longer. */
static size_t
s_chars (const char *text, uint32_t chars [KH_SUGGEST_CHARS_MAX])
{
    char folded [S_FOLD_CAP];
    kh_suggest_fold (text, folded, sizeof folded);
    const uint8_t *p = (const uint8_t *) folded;
    size_t left = strlen (folded), count = 0;
    while (left) {
        size_t len = kh_utf8_seq (p, left);
        uint32_t c = len ? 0 : 0x80000000u | p [0];
        for (size_t i = 0; i < len; i++)
            c = c << 8 | p [i];
        len = len ? len : 1;
        if (count == KH_SUGGEST_CHARS_MAX)
            return count + 1;
        chars [count++] = c;
        p += len;
        left -= len;
    }
    return count;
}

/* The smallest of three. */
static uint8_t
s_min3 (unsigned a, unsigned b, unsigned c)
{
    unsigned m = a < b ? a : b;
    return (uint8_t) (m < c ? m : c);
}

size_t
kh_suggest_distance (const char *a, const char *b)
{
    uint32_t x [KH_SUGGEST_CHARS_MAX], y [KH_SUGGEST_CHARS_MAX];
    size_t n = s_chars (a, x), m = s_chars (b, y);
    if (n > KH_SUGGEST_CHARS_MAX || m > KH_SUGGEST_CHARS_MAX)
        return (size_t) -1;
    /* d[i][j]: the distance between the first i of x and the first j of y
       (optimal string alignment: a swap of neighbours counts one) */
    uint8_t d [KH_SUGGEST_CHARS_MAX + 1][KH_SUGGEST_CHARS_MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d [i][0] = (uint8_t) i;
    for (size_t j = 0; j <= m; j++)
        d [0][j] = (uint8_t) j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            unsigned cost = x [i - 1] != y [j - 1];
            d [i][j] = s_min3 (d [i - 1][j] + 1u, d [i][j - 1] + 1u, d [i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && x [i - 1] == y [j - 2] && x [i - 2] == y [j - 1]
            &&  d [i - 2][j - 2] + 1u < d [i][j])
                d [i][j] = (uint8_t) (d [i - 2][j - 2] + 1u);
        }
    return d [n][m];
}

/* The largest distance at which a word is near a typed word of chars characters. */
static size_t
s_allowed (size_t chars)
{
    return chars <= 4 ? 1 : chars <= 8 ? 2 : 3;
}

/* The distance of word from typed if it is near, else (size_t) -1. */
static size_t
s_nearness (const char *typed, const char *word)
{
    uint32_t chars [KH_SUGGEST_CHARS_MAX];
    size_t distance = kh_suggest_distance (typed, word);
    size_t length = s_chars (typed, chars);
    return distance > 0 && distance <= s_allowed (length) ? distance : (size_t) -1;
}

bool
kh_suggest_near (const char *typed, const char *word)
{
    return s_nearness (typed, word) != (size_t) -1;
}

int
kh_suggest_best (const char *typed, const char *const words [], size_t count)
{
    size_t found;
    return kh_suggest_all (typed, words, count, &found, 1) ? (int) found : -1;
}

size_t
kh_suggest_all (const char *typed, const char *const words [], size_t count,
                size_t found [], size_t max)
{
    size_t written = 0;
    for (size_t distance = 1; distance <= 3 && written < max; distance++)
        for (size_t i = 0; i < count && written < max; i++)
            if (words [i] && s_nearness (typed, words [i]) == distance)
                found [written++] = i;
    return written;
}
