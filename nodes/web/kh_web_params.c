/*  kh_web_params.c - query strings, form bodies and paths decoded with bounds (see kh_web.h). */
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_web.h"

/* The value of hex digit c, or -1. */
static int
s_hex (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes len bytes of text into out (room for len + 1), %XX escapes and, if
   plus, '+' as a blank; NUL-terminates. Returns the decoded length, or -1 for a
   bad escape, a decoded NUL or bytes that are not UTF-8. */
static long
s_decode (const char *text, size_t len, bool plus, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = s_hex (text [i + 1]);
            int lo = s_hex (text [i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char) (hi * 16 + lo);
            i += 2;
        }
        else
        if (c == '+' && plus)
            c = ' ';
        if (c == '\0')
            return -1;
        out [n++] = c;
    }
    out [n] = '\0';
    return kh_utf8_valid (out, n) ? (long) n : -1;
}

int
kh_web_path_decode (const char *text, size_t len, char *out, size_t cap)
{
    if (!text || !out || cap == 0 || len >= cap)
        return -1;                      /* decoding never grows, so len < cap fits */
    return s_decode (text, len, false, out) < 0 ? -1 : 0;
}

void
kh_web_params_reset (kh_web_params_t *params)
{
    free (params->store);
    memset (params, 0, sizeof *params);
}

/* Decodes the pair text (len bytes, "key=value" or "key") into params at *at
   in its store. Returns 0, or -1 if it is bad or too large. */
static int
s_pair (kh_web_params_t *params, const char *text, size_t len, char **at)
{
    const char *eq = memchr (text, '=', len);
    size_t klen = eq ? (size_t) (eq - text) : len;
    size_t vlen = eq ? len - klen - 1 : 0;
    if (params->count == KH_WEB_PARAMS_MAX)
        return -1;
    char *key = *at;
    long k = s_decode (text, klen, true, key);
    if (k < 0 || k > KH_WEB_KEY_MAX)
        return -1;
    char *value = key + k + 1;
    long v = s_decode (eq ? eq + 1 : "", vlen, true, value);
    if (v < 0 || v > KH_WEB_VALUE_MAX)
        return -1;
    params->keys [params->count] = key;
    params->values [params->count] = value;
    params->count++;
    *at = value + v + 1;
    return 0;
}

int
kh_web_params_parse (kh_web_params_t *params, const char *text, size_t len)
{
    memset (params, 0, sizeof *params);
    if (!text)
        return 0;
    params->store = malloc (len + 2 * KH_WEB_PARAMS_MAX + 2);
    if (!params->store)
        return -1;
    char *at = params->store;
    const char *end = text + len;
    while (text < end) {
        const char *amp = memchr (text, '&', (size_t) (end - text));
        size_t plen = amp ? (size_t) (amp - text) : (size_t) (end - text);
        if (plen > 0 && s_pair (params, text, plen, &at)) {
            kh_web_params_reset (params);
            return -1;
        }
        text += plen + (amp ? 1 : 0);
    }
    return 0;
}

const char *
kh_web_params_get (const kh_web_params_t *params, const char *key)
{
    for (size_t i = 0; i < params->count; i++)
        if (strcmp (params->keys [i], key) == 0)
            return params->values [i];
    return NULL;
}
