/*  kh_json.c - JSON text to and from msgpack, for the CLI's input and output.

    The parser is a recursive descent over RFC 8259 that packs as it reads. A msgpack
    container starts with its element count, which is known only at the container's
    end, so its elements are packed first and the header is slid in before them
    (nesting is at most KH_DEPTH_MAX, so each byte moves at most that many times).
    The writer renders any msgpack object and never produces invalid JSON, whatever
    bytes a str holds. Records are rendered defensively: they come from the hub and
    should be valid, but a piece that is missing or odd gives NULL, not a crash.
*/
#include <assert.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kh_json.h"

/* ============================================================== growing text */

/* A growing NUL-terminated text. After an allocation fails it stays failed and
   further appends do nothing, so that a writer checks once, at the end. */
typedef struct {
    char   *data;                       /* malloc'd, NUL-terminated; NULL until first append */
    size_t  size;                       /* bytes of text, without the NUL */
    size_t  cap;                        /* bytes allocated */
    bool    failed;                     /* an allocation failed; data is incomplete */
} s_text_t;

/* Makes room for len more bytes and the NUL. Returns false (and marks the text
   failed) if memory runs out. */
static bool
s_text_reserve (s_text_t *self, size_t len)
{
    if (self->failed)
        return false;
    if (self->cap - self->size > len)
        return true;
    size_t cap = self->cap ? self->cap : 64;
    while (cap - self->size <= len) {
        if (cap > SIZE_MAX / 2) {
            self->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *data = (char *) realloc (self->data, cap);
    if (!data) {
        self->failed = true;
        return false;
    }
    self->data = data;
    self->cap = cap;
    return true;
}

/* Appends len bytes. */
static void
s_text_put (s_text_t *self, const void *bytes, size_t len)
{
    if (!s_text_reserve (self, len))
        return;
    if (len)
        memcpy (self->data + self->size, bytes, len);
    self->size += len;
    self->data [self->size] = 0;
}

/* Appends a C string. */
static void
s_text_puts (s_text_t *self, const char *string)
{
    s_text_put (self, string, strlen (string));
}

/* Appends one byte. */
static void
s_text_putc (s_text_t *self, char c)
{
    s_text_put (self, &c, 1);
}

/* Appends printf-formatted text. */
static void __attribute__ ((format (printf, 2, 3)))
s_text_printf (s_text_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    int len = vsnprintf (NULL, 0, fmt, args);
    va_end (args);
    if (len < 0) {
        self->failed = true;
        return;
    }
    if (!s_text_reserve (self, (size_t) len))
        return;
    va_start (args, fmt);
    vsnprintf (self->data + self->size, (size_t) len + 1, fmt, args);
    va_end (args);
    self->size += (size_t) len;
}

/* Hands the text to the caller: a malloc'd string (empty if nothing was appended),
   or NULL if an allocation failed on the way. */
static char *
s_text_release (s_text_t *self)
{
    s_text_put (self, "", 0);
    if (self->failed) {
        free (self->data);
        self->data = NULL;
    }
    return self->data;
}

/* ==================================================================== UTF-8 */

/* Appends code point cp (not a surrogate, at most U+10FFFF) as UTF-8. */
static void
s_utf8_put (s_text_t *text, uint32_t cp)
{
    uint8_t bytes [4];
    size_t len;
    if (cp < 0x80) {
        bytes [0] = (uint8_t) cp;
        len = 1;
    }
    else
    if (cp < 0x800) {
        bytes [0] = (uint8_t) (0xc0 | cp >> 6);
        bytes [1] = (uint8_t) (0x80 | (cp & 0x3f));
        len = 2;
    }
    else
    if (cp < 0x10000) {
        bytes [0] = (uint8_t) (0xe0 | cp >> 12);
        bytes [1] = (uint8_t) (0x80 | (cp >> 6 & 0x3f));
        bytes [2] = (uint8_t) (0x80 | (cp & 0x3f));
        len = 3;
    }
    else {
        bytes [0] = (uint8_t) (0xf0 | cp >> 18);
        bytes [1] = (uint8_t) (0x80 | (cp >> 12 & 0x3f));
        bytes [2] = (uint8_t) (0x80 | (cp >> 6 & 0x3f));
        bytes [3] = (uint8_t) (0x80 | (cp & 0x3f));
        len = 4;
    }
    s_text_put (text, bytes, len);
}

/* ============================================================= JSON parser */

/* One parse: the text, where it stands, and where it packs. depth counts the
   containers open around pos; it never exceeds KH_DEPTH_MAX, which also bounds
   the recursion. */
typedef struct {
    const uint8_t   *text;              /* the JSON text, not NUL-terminated */
    size_t           len;               /* bytes of text */
    size_t           pos;               /* next byte to read */
    int              depth;             /* containers open around pos */
    msgpack_sbuffer *out;               /* where msgpack goes */
    msgpack_packer   pk;                /* writes to out */
    s_text_t         scratch;           /* the string being decoded */
    bool             lf;                /* a CR LF in a string becomes LF */
    kh_problem_t    *why;               /* the caller's, may be NULL */
} s_parser_t;

static int s_parse_value (s_parser_t *self);

/* Reports that the text is not JSON, at the current byte. Returns -1. */
static int
s_malformed (s_parser_t *self, const char *what)
{
    return kh_problem (self->why, KH_EMALFORMED, "json: %s at byte %zu", what, self->pos);
}

/* Reports that something else was expected at the current byte. Returns -1. */
static int
s_expected (s_parser_t *self, const char *what)
{
    if (self->pos >= self->len)
        return s_malformed (self, "unexpected end of input");
    return kh_problem (self->why, KH_EMALFORMED, "json: expected %s at byte %zu",
                       what, self->pos);
}

/* Reports a failed allocation. Returns -1. */
static int
s_nomem (s_parser_t *self)
{
    return kh_problem (self->why, KH_ENOMEM, "json: out of memory at byte %zu", self->pos);
}

/* Returns the current byte, or -1 at the end of the text. */
static int
s_peek (s_parser_t *self)
{
    return self->pos < self->len ? self->text [self->pos] : -1;
}

/* Consumes the current byte if it is c. Returns whether it did. */
static bool
s_accept (s_parser_t *self, char c)
{
    if (s_peek (self) != (uint8_t) c)
        return false;
    self->pos++;
    return true;
}

/* True if the current byte is an ASCII digit. */
static bool
s_at_digit (s_parser_t *self)
{
    int c = s_peek (self);
    return c >= '0' && c <= '9';
}

/* Skips JSON white space: space, tab, line feed, carriage return. */
static void
s_skip_space (s_parser_t *self)
{
    int c = s_peek (self);
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        self->pos++;
        c = s_peek (self);
    }
}

/* Reads four hex digits after "\u" into unit. Returns 0, or -1 if they are not. */
static int
s_parse_hex4 (s_parser_t *self, uint32_t *unit)
{
    *unit = 0;
    for (int i = 0; i < 4; i++) {
        int c = s_peek (self), value;
        if (c >= '0' && c <= '9')
            value = c - '0';
        else
        if (c >= 'a' && c <= 'f')
            value = c - 'a' + 10;
        else
        if (c >= 'A' && c <= 'F')
            value = c - 'A' + 10;
        else
            return s_expected (self, "four hex digits after \\u");
        *unit = *unit << 4 | (uint32_t) value;
        self->pos++;
    }
    return 0;
}

/* Decodes a \uXXXX escape (pos after the 'u'), joining a surrogate pair, into the
   scratch text. A surrogate without its partner is an error, reported at start. */
static int
s_parse_unicode (s_parser_t *self, size_t start)
{
    uint32_t unit, low = 0;
    if (s_parse_hex4 (self, &unit))
        return -1;
    if (unit >= 0xd800 && unit <= 0xdbff) {
        if (self->pos + 1 < self->len && self->text [self->pos] == '\\'
        &&  self->text [self->pos + 1] == 'u') {
            self->pos += 2;
            if (s_parse_hex4 (self, &low))
                return -1;
        }
        if (low < 0xdc00 || low > 0xdfff) {
            self->pos = start;
            return s_malformed (self, "lone surrogate in \\u escape");
        }
        unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
    }
    else
    if (unit >= 0xdc00 && unit <= 0xdfff) {
        self->pos = start;
        return s_malformed (self, "lone surrogate in \\u escape");
    }
    s_utf8_put (&self->scratch, unit);
    return 0;
}

/* Decodes one escape (pos at the backslash) into the scratch text. */
static int
s_parse_escape (s_parser_t *self)
{
    static const char names [] = "\"\\/bfnrt";
    static const char chars [] = "\"\\/\b\f\n\r\t";
    size_t start = self->pos++;
    int c = s_peek (self);
    const char *name = c > 0 ? strchr (names, c) : NULL;
    if (name) {
        self->pos++;
        s_text_putc (&self->scratch, chars [name - names]);
        return 0;
    }
    if (c == 'u') {
        self->pos++;
        return s_parse_unicode (self, start);
    }
    if (c < 0)
        return s_malformed (self, "unterminated string");
    self->pos = start;
    return s_malformed (self, "invalid escape");
}

/* Decodes a string (pos at its opening quote) into the scratch text, checking that
   it holds no raw control characters and only well-formed UTF-8. */
static int
s_parse_string (s_parser_t *self)
{
    self->scratch.size = 0;
    self->pos++;
    while (true) {
        int c = s_peek (self);
        if (c < 0)
            return s_malformed (self, "unterminated string");
        if (c == '"')
            break;
        if (c == '\\') {
            if (s_parse_escape (self))
                return -1;
            continue;
        }
        if (c < 0x20)
            return s_malformed (self, "control character in string");
        size_t n = kh_utf8_seq (self->text + self->pos, self->len - self->pos);
        if (n == 0)
            return s_malformed (self, "invalid UTF-8 in string");
        s_text_put (&self->scratch, self->text + self->pos, n);
        self->pos += n;
    }
    self->pos++;
    if (self->scratch.failed)
        return s_nomem (self);
    if (self->scratch.size > UINT32_MAX)
        return s_malformed (self, "string too long");
    return 0;
}

/* Parses a string and packs it as a msgpack str. */
static int
s_pack_string (s_parser_t *self)
{
    if (s_parse_string (self))
        return -1;
    if (self->lf)
        self->scratch.size = kh_crlf_to_lf (self->scratch.data, self->scratch.size);
    if (msgpack_pack_str (&self->pk, self->scratch.size)
    ||  msgpack_pack_str_body (&self->pk, self->scratch.data, self->scratch.size))
        return s_nomem (self);
    return 0;
}

/* Packs the integer text [start, pos) (digits after an optional '-') as an int64
   or uint64 and sets *rc to 0, or to -1 if memory ran out. Returns false, packing
   nothing and leaving *rc alone, if the number fits neither. */
static bool
s_pack_integer (s_parser_t *self, size_t start, int *rc)
{
    bool negative = self->text [start] == '-';
    uint64_t magnitude = 0;
    for (size_t i = start + negative; i < self->pos; i++) {
        unsigned digit = (unsigned) (self->text [i] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10)
            return false;
        magnitude = magnitude * 10 + digit;
    }
    if (negative && magnitude > (uint64_t) INT64_MAX + 1)
        return false;
    if (negative)
        *rc = msgpack_pack_int64 (&self->pk, magnitude == (uint64_t) INT64_MAX + 1
                                  ? INT64_MIN : -(int64_t) magnitude);
    else
        *rc = msgpack_pack_uint64 (&self->pk, magnitude);
    if (*rc)
        *rc = s_nomem (self);
    return true;
}

/* Converts the number text [start, pos), already checked against the JSON grammar,
   with strtod whatever the locale's decimal point is, and packs it as a float64. */
static int
s_pack_double (s_parser_t *self, size_t start)
{
    const char *point = localeconv ()->decimal_point;
    size_t len = self->pos - start, point_len = point && *point ? strlen (point) : 1;
    char small [64];
    char *copy = len + point_len < sizeof small ? small : (char *) malloc (len + point_len + 1);
    if (!copy)
        return s_nomem (self);
    size_t at = 0;
    for (size_t i = start; i < self->pos; i++) {
        if (self->text [i] == '.' && point && *point) {
            memcpy (copy + at, point, point_len);
            at += point_len;
        }
        else
            copy [at++] = (char) self->text [i];
    }
    copy [at] = 0;
    double value = strtod (copy, NULL);
    if (copy != small)
        free (copy);
    if (!isfinite (value)) {
        self->pos = start;
        return s_malformed (self, "number out of range");
    }
    return msgpack_pack_double (&self->pk, value) ? s_nomem (self) : 0;
}

/* Skips a run of digits, of which there must be at least one. */
static int
s_skip_digits (s_parser_t *self)
{
    if (!s_at_digit (self))
        return s_expected (self, "a digit");
    while (s_at_digit (self))
        self->pos++;
    return 0;
}

/* Parses a number: integers that fit int64 or uint64 as such, others as float64. */
static int
s_parse_number (s_parser_t *self)
{
    size_t start = self->pos;
    bool integer = true;
    s_accept (self, '-');
    if (s_accept (self, '0')) {
        /* a leading zero stands alone; what follows is not part of this number */
    }
    else
    if (s_skip_digits (self))
        return -1;
    if (s_accept (self, '.')) {
        integer = false;
        if (s_skip_digits (self))
            return -1;
    }
    if (s_accept (self, 'e') || s_accept (self, 'E')) {
        integer = false;
        if (!s_accept (self, '+'))
            s_accept (self, '-');
        if (s_skip_digits (self))
            return -1;
    }
    int rc = 0;
    if (integer && s_pack_integer (self, start, &rc))
        return rc;
    return s_pack_double (self, start);
}

/* Parses the literal word (pos at its first letter) and packs what it stands for. */
static int
s_parse_literal (s_parser_t *self)
{
    static const char *words [] = { "true", "false", "null" };
    for (int i = 0; i < 3; i++) {
        size_t len = strlen (words [i]);
        if (self->len - self->pos >= len
        &&  memcmp (self->text + self->pos, words [i], len) == 0) {
            self->pos += len;
            int rc = i == 0 ? msgpack_pack_true (&self->pk)
                   : i == 1 ? msgpack_pack_false (&self->pk)
                   : msgpack_pack_nil (&self->pk);
            return rc ? s_nomem (self) : 0;
        }
    }
    return s_expected (self, "a value");
}

/* Enters a container (pos at its bracket), refusing one level too many. */
static int
s_enter (s_parser_t *self)
{
    if (self->depth >= KH_DEPTH_MAX)
        return kh_problem (self->why, KH_EMALFORMED, "json: nested deeper than %d levels "
                           "at byte %zu", KH_DEPTH_MAX, self->pos);
    self->depth++;
    self->pos++;
    return 0;
}

/* A msgpack container header, written by a packer into a few bytes. */
typedef struct {
    char   bytes [8];                   /* map32/array32 take 5 */
    size_t size;
} s_header_t;

/* msgpack_packer callback that writes into an s_header_t. */
static int
s_header_write (void *data, const char *buf, size_t len)
{
    s_header_t *header = (s_header_t *) data;
    if (len > sizeof header->bytes - header->size)
        return -1;
    memcpy (header->bytes + header->size, buf, len);
    header->size += len;
    return 0;
}

/* Leaves the container whose count elements (pairs, for a map) were packed from
   byte start of out on: slides its msgpack header in before them. */
static int
s_leave (s_parser_t *self, size_t start, size_t count, bool map)
{
    self->depth--;
    if (count > UINT32_MAX)
        return s_malformed (self, "container too large");
    s_header_t header = { .size = 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &header, s_header_write);
    if (map ? msgpack_pack_map (&pk, count) : msgpack_pack_array (&pk, count))
        return s_nomem (self);
    size_t body = self->out->size - start;
    if (msgpack_sbuffer_write (self->out, header.bytes, header.size))
        return s_nomem (self);
    memmove (self->out->data + start + header.size, self->out->data + start, body);
    memcpy (self->out->data + start, header.bytes, header.size);
    return 0;
}

/* Parses an array (pos at its '['). */
static int
s_parse_array (s_parser_t *self)
{
    if (s_enter (self))
        return -1;
    size_t start = self->out->size, count = 0;
    s_skip_space (self);
    if (!s_accept (self, ']')) {
        do {
            if (s_parse_value (self))
                return -1;
            count++;
        } while (s_accept (self, ','));
        if (!s_accept (self, ']'))
            return s_expected (self, "',' or ']'");
    }
    return s_leave (self, start, count, false);
}

/* Parses an object (pos at its '{'). Members are packed in order; a name given
   twice is kept twice, as the text has it. */
static int
s_parse_object (s_parser_t *self)
{
    if (s_enter (self))
        return -1;
    size_t start = self->out->size, count = 0;
    s_skip_space (self);
    if (!s_accept (self, '}')) {
        do {
            s_skip_space (self);
            if (s_peek (self) != '"')
                return s_expected (self, "a string as member name");
            if (s_pack_string (self))
                return -1;
            s_skip_space (self);
            if (!s_accept (self, ':'))
                return s_expected (self, "':'");
            if (s_parse_value (self))
                return -1;
            count++;
        } while (s_accept (self, ','));
        if (!s_accept (self, '}'))
            return s_expected (self, "',' or '}'");
    }
    return s_leave (self, start, count, true);
}

/* Parses one value with the white space around it. */
static int
s_parse_value (s_parser_t *self)
{
    s_skip_space (self);
    int c = s_peek (self), rc;
    if (c == '{')
        rc = s_parse_object (self);
    else
    if (c == '[')
        rc = s_parse_array (self);
    else
    if (c == '"')
        rc = s_pack_string (self);
    else
    if (c == '-' || (c >= '0' && c <= '9'))
        rc = s_parse_number (self);
    else
        rc = s_parse_literal (self);
    s_skip_space (self);
    return rc;
}

size_t
kh_crlf_to_lf (char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; text && i < len; i++)
        if (text [i] != '\r' || i + 1 == len || text [i + 1] != '\n')
            text [n++] = text [i];
    if (text && n < len)
        text [n] = 0;
    return n;
}

int
kh_json_set_text (kh_builder_t *builder, const char *name, const char *text,
                  kh_problem_t *why)
{
    char *copy = strdup (text);
    if (!copy)
        return kh_problem (why, KH_ENOMEM, "out of memory");
    kh_crlf_to_lf (copy, strlen (copy));
    int rc = kh_builder_set (builder, name, copy, why);
    free (copy);
    return rc;
}

/* Parses len bytes of JSON into out, a CR LF in a string as LF if lf. On error out
   is left as it was. */
static int
s_to_msgpack (const char *json, size_t len, msgpack_sbuffer *out, bool lf, kh_problem_t *why)
{
    assert (out);
    assert (json || len == 0);
    s_parser_t self = { .text = (const uint8_t *) json, .len = len, .out = out, .lf = lf,
                        .why = why };
    msgpack_packer_init (&self.pk, out, msgpack_sbuffer_write);
    size_t start = out->size;
    int rc = s_parse_value (&self);
    if (rc == 0 && self.pos < self.len)
        rc = s_malformed (&self, "trailing characters after the value");
    free (self.scratch.data);
    if (rc)
        out->size = start;
    return rc;
}

int
kh_json_to_msgpack (const char *json, size_t len, msgpack_sbuffer *out, kh_problem_t *why)
{
    return s_to_msgpack (json, len, out, false, why);
}

/* ============================================================ body fields */

int
kh_json_set_body (kh_builder_t *builder, const char *json, size_t len, kh_problem_t *why)
{
    assert (builder);
    assert (json || len == 0);
    msgpack_sbuffer buf, value;
    msgpack_sbuffer_init (&buf);
    msgpack_sbuffer_init (&value);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    int rc = s_to_msgpack (json, len, &buf, true, why);
    if (rc == 0 && msgpack_unpack_next (&u, buf.data, buf.size, &off)
                   != MSGPACK_UNPACK_SUCCESS)
        rc = kh_problem (why, KH_ENOMEM, "json: out of memory");
    if (rc == 0 && u.data.type != MSGPACK_OBJECT_MAP)
        rc = kh_problem (why, KH_EWRONGTYPE, "json: expected an object of body fields");
    msgpack_packer pk;
    msgpack_packer_init (&pk, &value, msgpack_sbuffer_write);
    for (uint32_t i = 0; rc == 0 && i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr [i];
        msgpack_sbuffer_clear (&value);
        if (kv->key.type != MSGPACK_OBJECT_STR)
            rc = kh_problem (why, KH_EWRONGTYPE, "json: keys must be strings");
        else
        if (msgpack_pack_object (&pk, kv->val))
            rc = kh_problem (why, KH_ENOMEM, "json: out of memory");
        else
            rc = kh_builder_set_msgpack (builder, kv->key.via.str.ptr, kv->key.via.str.size,
                                         value.data, value.size, why);
    }
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&value);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* ============================================================= JSON writer */

static void s_write_object (s_text_t *text, const msgpack_object *obj);

/* Appends bytes as a JSON string: quote and backslash escaped, control characters
   as \u00XX, each byte that is not part of well-formed UTF-8 as \ufffd. */
static void
s_write_string (s_text_t *text, const char *ptr, size_t size)
{
    static const char hex [] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *) ptr;
    s_text_putc (text, '"');
    for (size_t i = 0; i < size; ) {
        size_t n = kh_utf8_seq (p + i, size - i);
        if (n == 0) {
            s_text_puts (text, "\\ufffd");
            n = 1;
        }
        else
        if (p [i] == '"' || p [i] == '\\') {
            char escape [2] = { '\\', (char) p [i] };
            s_text_put (text, escape, 2);
        }
        else
        if (p [i] < 0x20) {
            char escape [6] = { '\\', 'u', '0', '0', hex [p [i] >> 4], hex [p [i] & 15] };
            s_text_put (text, escape, 6);
        }
        else
            s_text_put (text, p + i, n);
        i += n;
    }
    s_text_putc (text, '"');
}

/* Appends bytes as a JSON string of lowercase hex digits. */
static void
s_write_hex (s_text_t *text, const char *ptr, size_t size)
{
    static const char hex [] = "0123456789abcdef";
    s_text_putc (text, '"');
    for (size_t i = 0; i < size; i++) {
        uint8_t byte = (uint8_t) ptr [i];
        char digits [2] = { hex [byte >> 4], hex [byte & 15] };
        s_text_put (text, digits, 2);
    }
    s_text_putc (text, '"');
}

/* Appends an id (a ref) as a JSON string in the form the CLI prints ids in, which
   kh_json_set_body and `publish --ref` read back. */
static void
s_write_id (s_text_t *text, const uint8_t id [KH_ID_SIZE])
{
    char form [KH_ID_STR_SIZE];
    kh_id_format (id, form);
    s_text_printf (text, "\"%s\"", form);
}

/* Appends a double with 17 significant digits, whatever the locale's decimal point;
   NaN and the infinities, which JSON cannot say, as null. */
static void
s_write_double (s_text_t *text, double value)
{
    if (!isfinite (value)) {
        s_text_puts (text, "null");
        return;
    }
    char number [64];
    snprintf (number, sizeof number, "%.17g", value);
    const char *point = localeconv ()->decimal_point;
    char *at = point && *point && strcmp (point, ".") != 0 ? strstr (number, point) : NULL;
    if (at) {
        *at = '.';
        memmove (at + 1, at + strlen (point), strlen (at + strlen (point)) + 1);
    }
    s_text_puts (text, number);
}

/* Appends a map key: strings and bin as themselves, anything else as the string
   of its JSON text, since JSON names must be strings. */
static void
s_write_key (s_text_t *text, const msgpack_object *key)
{
    if (key->type == MSGPACK_OBJECT_STR || key->type == MSGPACK_OBJECT_BIN) {
        s_write_object (text, key);
        return;
    }
    s_text_t inner = { .data = NULL };
    s_write_object (&inner, key);
    if (inner.failed)
        text->failed = true;
    else
        s_write_string (text, inner.data, inner.size);
    free (inner.data);
}

/* Appends an array's or a map's elements between brackets. */
static void
s_write_container (s_text_t *text, const msgpack_object *obj)
{
    bool map = obj->type == MSGPACK_OBJECT_MAP;
    uint32_t size = map ? obj->via.map.size : obj->via.array.size;
    s_text_putc (text, map ? '{' : '[');
    for (uint32_t i = 0; i < size; i++) {
        if (i)
            s_text_putc (text, ',');
        if (map) {
            s_write_key (text, &obj->via.map.ptr [i].key);
            s_text_putc (text, ':');
            s_write_object (text, &obj->via.map.ptr [i].val);
        }
        else
            s_write_object (text, &obj->via.array.ptr [i]);
    }
    s_text_putc (text, map ? '}' : ']');
}

/* Appends one msgpack object as JSON. */
static void
s_write_object (s_text_t *text, const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_BOOLEAN:
            s_text_puts (text, obj->via.boolean ? "true" : "false");
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            s_text_printf (text, "%" PRIu64, obj->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            s_text_printf (text, "%" PRId64, obj->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            s_write_double (text, obj->via.f64);
            break;
        case MSGPACK_OBJECT_STR:
            s_write_string (text, obj->via.str.ptr, obj->via.str.size);
            break;
        case MSGPACK_OBJECT_BIN:
            if (obj->via.bin.size == KH_ID_SIZE)
                s_write_id (text, (const uint8_t *) obj->via.bin.ptr);
            else
                s_write_hex (text, obj->via.bin.ptr, obj->via.bin.size);
            break;
        case MSGPACK_OBJECT_ARRAY:
        case MSGPACK_OBJECT_MAP:
            s_write_container (text, obj);
            break;
        default:                        /* nil, ext */
            s_text_puts (text, "null");
            break;
    }
}

/* Returns obj as malloc'd JSON text, or NULL if obj is NULL or memory runs out. */
char *
kh_json_from_object (const msgpack_object *obj)
{
    if (!obj)
        return NULL;
    s_text_t text = { .data = NULL };
    s_write_object (&text, obj);
    return s_text_release (&text);
}

void
kh_json_print_str (FILE *file, const char *text)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_STR };
    o.via.str.ptr = text;
    o.via.str.size = (uint32_t) strlen (text);
    char *json = kh_json_from_object (&o);
    fputs (json ? json : "\"\"", file);
    free (json);
}

/* ================================================================= records */

/* Returns the value under the str key in map (the first, if given twice), or NULL. */
static const msgpack_object *
s_lookup (const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t len = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len
        &&  memcmp (k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr [i].val;
    }
    return NULL;
}

/* Returns the value under key if it has the given type, else NULL. */
static const msgpack_object *
s_lookup_typed (const msgpack_object *map, const char *key, msgpack_object_type type)
{
    const msgpack_object *value = s_lookup (map, key);
    return value && value->type == type ? value : NULL;
}

const msgpack_object *
kh_json_lookup (const msgpack_object *map, const char *key)
{
    return map && key ? s_lookup (map, key) : NULL;
}

int
kh_record_unpack (const kh_record_t *rec, msgpack_unpacked *u, kh_record_pieces_t *pieces)
{
    msgpack_unpacked_init (u);
    if (!rec || !rec->msg || kh_mp_scan (rec->msg, rec->msg_size, NULL))
        return -1;
    size_t off = 0;
    if (msgpack_unpack_next (u, (const char *) rec->msg, rec->msg_size, &off)
            != MSGPACK_UNPACK_SUCCESS
    ||  off != rec->msg_size || u->data.type != MSGPACK_OBJECT_MAP)
        return -1;
    const msgpack_object *v = s_lookup_typed (&u->data, "v", MSGPACK_OBJECT_POSITIVE_INTEGER);
    const msgpack_object *id = s_lookup_typed (&u->data, "id", MSGPACK_OBJECT_BIN);
    const msgpack_object *ts = s_lookup_typed (&u->data, "ts", MSGPACK_OBJECT_POSITIVE_INTEGER);
    pieces->type = s_lookup_typed (&u->data, "type", MSGPACK_OBJECT_STR);
    pieces->from = s_lookup_typed (&u->data, "from", MSGPACK_OBJECT_STR);
    pieces->body = s_lookup_typed (&u->data, "body", MSGPACK_OBJECT_MAP);
    if (!v || !id || id->via.bin.size != KH_ID_SIZE || !ts
    ||  !pieces->type || !pieces->from || !pieces->body)
        return -1;
    pieces->id = (const uint8_t *) id->via.bin.ptr;
    pieces->ts = ts->via.u64;
    return 0;
}

/* Appends the record as one line of JSON. */
static void
s_write_record_json (s_text_t *text, const kh_record_t *rec, const kh_record_pieces_t *pieces)
{
    char at [25], ts [25], id [KH_ID_STR_SIZE];
    kh_time_format (rec->info.at, at);
    kh_time_format (pieces->ts, ts);
    kh_id_format (pieces->id, id);
    s_text_printf (text, "{\"seq\":%" PRIu64 ",\"at\":\"%s\",\"id\":\"%s\",\"type\":",
                   rec->info.seq, at, id);
    s_write_string (text, pieces->type->via.str.ptr, pieces->type->via.str.size);
    s_text_puts (text, ",\"from\":");
    s_write_string (text, pieces->from->via.str.ptr, pieces->from->via.str.size);
    s_text_printf (text, ",\"ts\":\"%s\",\"prev_type\":%" PRIu64 ",\"prev_sender\":%" PRIu64
                   ",\"prev_pair\":%" PRIu64 ",\"body\":", ts, rec->info.prev_type,
                   rec->info.prev_sender, rec->info.prev_pair);
    s_write_object (text, pieces->body);
    s_text_putc (text, '}');
}

/* Returns the record as malloc'd JSON, or NULL if it cannot be rendered. */
char *
kh_record_to_json (const kh_record_t *rec)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    char *line = NULL;
    if (kh_record_unpack (rec, &u, &pieces) == 0) {
        s_text_t text = { .data = NULL };
        s_write_record_json (&text, rec, &pieces);
        line = s_text_release (&text);
    }
    msgpack_unpacked_destroy (&u);
    return line;
}

/* Appends bytes as one CSV field (RFC 4180): quoted if always or if they hold the
   separator sep, a quote, CR or LF, with quotes doubled. Bytes that are not
   well-formed UTF-8, and NUL, which would end the line early, become U+FFFD. */
static void
s_write_csv_quoted (s_text_t *text, const char *ptr, size_t size, char sep, bool always)
{
    const uint8_t *p = (const uint8_t *) ptr;
    bool quote = always;
    for (size_t i = 0; i < size && !quote; i++)
        quote = p [i] == sep || p [i] == '"' || p [i] == '\r' || p [i] == '\n';
    if (quote)
        s_text_putc (text, '"');
    for (size_t i = 0; i < size; ) {
        size_t n = kh_utf8_seq (p + i, size - i);
        if (n == 0 || p [i] == 0) {
            s_text_puts (text, "\xef\xbf\xbd");
            n = 1;
        }
        else
        if (p [i] == '"')
            s_text_puts (text, "\"\"");
        else
            s_text_put (text, p + i, n);
        i += n;
    }
    if (quote)
        s_text_putc (text, '"');
}

/* Appends bytes as one CSV field of the comma-separated kind. */
static void
s_write_csv_field (s_text_t *text, const char *ptr, size_t size)
{
    s_write_csv_quoted (text, ptr, size, ',', false);
}

char *
kh_csv_field (const char *ptr, size_t size, char sep, bool always)
{
    s_text_t text = { .data = NULL };
    s_write_csv_quoted (&text, ptr ? ptr : "", ptr ? size : 0, sep, always);
    return s_text_release (&text);
}

/* Appends the record as one CSV line, columns as kh_record_csv_header names them. */
static void
s_write_record_csv (s_text_t *text, const kh_record_t *rec, const kh_record_pieces_t *pieces)
{
    char at [25], ts [25], id [KH_ID_STR_SIZE];
    kh_time_format (rec->info.at, at);
    kh_time_format (pieces->ts, ts);
    kh_id_format (pieces->id, id);
    s_text_printf (text, "%" PRIu64 ",%s,%s,", rec->info.seq, at, id);
    s_write_csv_field (text, pieces->type->via.str.ptr, pieces->type->via.str.size);
    s_text_putc (text, ',');
    s_write_csv_field (text, pieces->from->via.str.ptr, pieces->from->via.str.size);
    s_text_printf (text, ",%s,", ts);
    const msgpack_object *title = s_lookup_typed (pieces->body, "title", MSGPACK_OBJECT_STR);
    if (title)
        s_write_csv_field (text, title->via.str.ptr, title->via.str.size);
    s_text_putc (text, ',');
    s_text_t body = { .data = NULL };
    s_write_object (&body, pieces->body);
    if (body.failed)
        text->failed = true;
    else
        s_write_csv_field (text, body.data, body.size);
    free (body.data);
}

const char *
kh_record_csv_header (void)
{
    return "seq,at,id,type,from,ts,title,body";
}

/* Returns the record as a malloc'd CSV line, or NULL if it cannot be rendered. */
char *
kh_record_to_csv (const kh_record_t *rec)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    char *line = NULL;
    if (kh_record_unpack (rec, &u, &pieces) == 0) {
        s_text_t text = { .data = NULL };
        s_write_record_csv (&text, rec, &pieces);
        line = s_text_release (&text);
    }
    msgpack_unpacked_destroy (&u);
    return line;
}

/* ==================================================================== time */

/* The last instant a four-digit year can show: 9999-12-31T23:59:59.999Z. */
#define S_TIME_LAST  253402300799999ULL

/* Writes value (0 <= value < 10^width) as width decimal digits at out. */
static void
s_put_digits (char *out, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out [i] = (char) ('0' + value % 10);
        value /= 10;
    }
}

/* Formats ms as ISO 8601 UTC with milliseconds. Times after the year 9999 are shown
   as S_TIME_LAST, so that the text always has its 24 characters. */
void
kh_time_format (uint64_t ms, char out [25])
{
    if (ms > S_TIME_LAST)
        ms = S_TIME_LAST;
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    if (!gmtime_r (&secs, &tm)) {
        memcpy (out, "9999-12-31T23:59:59.999Z", 25);
        return;
    }
    memcpy (out, "0000-00-00T00:00:00.000Z", 25);
    s_put_digits (out, tm.tm_year + 1900, 4);
    s_put_digits (out + 5, tm.tm_mon + 1, 2);
    s_put_digits (out + 8, tm.tm_mday, 2);
    s_put_digits (out + 11, tm.tm_hour, 2);
    s_put_digits (out + 14, tm.tm_min, 2);
    s_put_digits (out + 17, tm.tm_sec, 2);
    s_put_digits (out + 20, (int) (ms % 1000), 3);
}

/* Reads exactly digits decimal digits at *p into value, advancing *p. Returns
   whether there were that many. */
static bool
s_take_digits (const char **p, int digits, int *value)
{
    *value = 0;
    for (int i = 0; i < digits; i++) {
        char c = (*p) [i];
        if (c < '0' || c > '9')
            return false;
        *value = *value * 10 + (c - '0');
    }
    *p += digits;
    return true;
}

/* Consumes c at *p. Returns whether it was there. */
static bool
s_take_char (const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Reads the optional ".m", ".mm" or ".mmm" at *p as milliseconds. */
static bool
s_take_millis (const char **p, int *ms)
{
    *ms = 0;
    if (!s_take_char (p, '.'))
        return true;
    int digits = 0;
    while (digits < 3 && (*p) [digits] >= '0' && (*p) [digits] <= '9')
        digits++;
    if (digits == 0 || !s_take_digits (p, digits, ms))
        return false;
    for (; digits < 3; digits++)
        *ms *= 10;
    return true;
}

/* Reads the time of day after the date ("THH:MM[:SS[.mmm]][Z]", or with a blank
   for the T) into tm and ms; an absent time of day is midnight. */
static bool
s_take_clock (const char **p, struct tm *tm, int *ms)
{
    *ms = 0;
    if (**p == 0)
        return true;
    if (!s_take_char (p, 'T') && !s_take_char (p, ' '))
        return false;
    if (!s_take_digits (p, 2, &tm->tm_hour) || !s_take_char (p, ':')
    ||  !s_take_digits (p, 2, &tm->tm_min))
        return false;
    if (s_take_char (p, ':')
    && (!s_take_digits (p, 2, &tm->tm_sec) || !s_take_millis (p, ms)))
        return false;
    s_take_char (p, 'Z');
    return true;
}

/* True if the fields of tm name a real instant from 1970 to 9999, UTC. */
static bool
s_tm_valid (const struct tm *tm)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int year = tm->tm_year + 1900;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1)
        return false;
    if (tm->tm_mday > days [tm->tm_mon] + (tm->tm_mon == 1 && leap))
        return false;
    return tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 60;
}

/* Parses an ISO 8601 date or UTC date and time into ms since the epoch. */
int
kh_time_parse (const char *text, uint64_t *ms)
{
    if (!text || !ms)
        return -1;
    struct tm tm = { .tm_sec = 0 };
    int year, month, millis;
    const char *p = text;
    if (!s_take_digits (&p, 4, &year) || !s_take_char (&p, '-')
    ||  !s_take_digits (&p, 2, &month) || !s_take_char (&p, '-')
    ||  !s_take_digits (&p, 2, &tm.tm_mday) || !s_take_clock (&p, &tm, &millis) || *p)
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    if (!s_tm_valid (&tm))
        return -1;
    time_t secs = timegm (&tm);
    if (secs < 0)
        return -1;
    *ms = (uint64_t) secs * 1000 + (uint64_t) millis;
    return 0;
}
