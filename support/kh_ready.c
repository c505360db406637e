/*  kh_ready.c - writes and reads READY lines (see kh_ready.h). */
#include <assert.h>
#include <stdarg.h>
#include <string.h>
#include "kh_ready.h"

#define S_WORD  "READY"

/* True if byte c is written as %XX. */
static bool
s_escaped (unsigned char c)
{
    return c <= ' ' || c == '%' || c == 0x7f;
}

/* Appends text to line (used of cap), escaping if escape. Returns false if it does
   not fit. */
static bool
s_append (char *line, size_t cap, size_t *used, const char *text, bool escape)
{
    static const char hex [] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        bool three = escape && s_escaped (*p);
        if (*used + (three ? 3 : 1) >= cap)
            return false;
        if (three) {
            line [(*used)++] = '%';
            line [(*used)++] = hex [*p >> 4];
            line [(*used)++] = hex [*p & 15];
        }
        else
            line [(*used)++] = (char) *p;
    }
    line [*used] = 0;
    return true;
}

int
kh_ready_print (FILE *out, const char *key, ...)
{
    char line [KH_READY_MAX];
    size_t used = 0;
    bool fits = s_append (line, sizeof line - 1, &used, S_WORD, false);
    va_list args;
    va_start (args, key);
    for (; key && fits; key = va_arg (args, const char *)) {
        assert (*key && strspn (key, "abcdefghijklmnopqrstuvwxyz_") == strlen (key));
        const char *value = va_arg (args, const char *);
        fits = s_append (line, sizeof line - 1, &used, " ", false)
            && s_append (line, sizeof line - 1, &used, key, false)
            && s_append (line, sizeof line - 1, &used, "=", false)
            && s_append (line, sizeof line - 1, &used, value ? value : "", true);
    }
    va_end (args);
    if (!fits)
        return -1;
    line [used++] = '\n';
    line [used] = 0;
    return fputs (line, out) < 0 || fflush (out) ? -1 : 0;
}

bool
kh_ready_is (const char *line)
{
    size_t n = strlen (S_WORD);
    return line && strncmp (line, S_WORD, n) == 0
        && (line [n] == ' ' || line [n] == 0 || line [n] == '\n' || line [n] == '\r');
}

/* The value of hex digit c (either case), or -1. */
static int
s_hex (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes len bytes of value into out (cap bytes); a '%' not followed by two hex
   digits stands for itself. Returns 0, or -1 if it does not fit. */
static int
s_decode (const char *value, size_t len, char *out, size_t cap)
{
    size_t used = 0;
    for (size_t i = 0; i < len; i++) {
        char c = value [i];
        if (c == '%' && i + 2 < len && s_hex (value [i + 1]) >= 0
        &&  s_hex (value [i + 2]) >= 0) {
            c = (char) (s_hex (value [i + 1]) << 4 | s_hex (value [i + 2]));
            i += 2;
        }
        if (used + 1 >= cap)
            return -1;
        out [used++] = c;
    }
    out [used] = 0;
    return 0;
}

int
kh_ready_get (const char *line, const char *key, char *out, size_t cap)
{
    if (cap)
        out [0] = 0;
    if (!kh_ready_is (line) || !cap)
        return -1;
    size_t klen = strlen (key);
    for (const char *p = line + strlen (S_WORD); *p; ) {
        p += strspn (p, " ");
        size_t len = strcspn (p, " \r\n");
        if (len > klen && strncmp (p, key, klen) == 0 && p [klen] == '=') {
            if (s_decode (p + klen + 1, len - klen - 1, out, cap) == 0)
                return 0;
            out [0] = 0;
            return -1;
        }
        if (!len)
            break;
        p += len;
    }
    return -1;
}
