/*  kh_envelope.c - validates an envelope against the schema table: the value checks
    (UTF-8, texts counted in characters, AGS, dates, lists, enums, refs, a revise's
    fields), the body, the envelope's own keys, and who may send the type.

    What the hub accepts is decoded strictly: unknown keys, keys given twice and
    values outside their limits are refused with a code and a reason that names the
    field; the first problem in the order PROTOCOL.md section 3 gives is reported.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_mpio.h"
#include "kh_schema.h"

#define S_ONES      0x0101010101010101ull   /* a one in each byte of a word */
#define S_HIGH_BITS 0x8080808080808080ull   /* the high bit of each byte */

/* ------------------------------------------------------------ value checks */

/* The one UTF-8 check of the tree: a table of the well-formed sequences (Unicode
   section 3.9, table 3-7), read one lead byte at a time. */
size_t
kh_utf8_seq (const uint8_t *p, size_t n)
{
    assert (p);
    assert (n > 0);
    uint8_t c = p [0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80)
        return 1;
    else
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else
    if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;   /* below U+0800 is overlong */
        hi = c == 0xed ? 0x9f : 0xbf;   /* U+D800..DFFF are surrogates */
    }
    else
    if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;   /* below U+10000 is overlong */
        hi = c == 0xf4 ? 0x8f : 0xbf;   /* above U+10FFFF */
    }
    else
        return 0;
    if (n < len || p [1] < lo || p [1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p [i] < 0x80 || p [i] > 0xbf)
            return 0;
    return len;
}

bool
kh_utf8_valid (const void *data, size_t len)
{
    assert (data || len == 0);
    const uint8_t *s = (const uint8_t *) data;
    for (size_t i = 0, n; i < len; i += n) {
        uint64_t word;
        if (len - i >= 8 && (memcpy (&word, s + i, 8), (word & S_HIGH_BITS) == 0))
            n = 8;                      /* ASCII, eight bytes at once */
        else
        if ((n = kh_utf8_seq (s + i, len - i)) == 0)
            return false;
    }
    return true;
}

bool
kh_ags_valid (const char *text, size_t len)
{
    if (!text || (len != 5 && len != 8))
        return false;
    for (size_t i = 0; i < len; i++)
        if (text [i] < '0' || text [i] > '9')
            return false;
    return true;
}

/* Reads the n decimal digits at s; -1 if one of them is not a digit. */
static int
s_digits (const char *s, int n)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (s [i] < '0' || s [i] > '9')
            return -1;
        value = value * 10 + (s [i] - '0');
    }
    return value;
}

/* True if the len bytes at s are a real calendar date YYYY-MM-DD of the Gregorian
   calendar (extended backwards), years 0001..9999 (PROTOCOL.md section 4). */
static bool
s_date_valid (const char *s, size_t len)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (len != 10 || s [4] != '-' || s [7] != '-')
        return false;
    int year = s_digits (s, 4), month = s_digits (s + 5, 2), day = s_digits (s + 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days [month - 1] + (month == 2 && leap);
}

/* The checks every str value gets first, in this order (PROTOCOL.md section 3):
   its msgpack type (WRONG_TYPE), then well-formed UTF-8 (UTF8). */
static int
s_check_text (const msgpack_object *o, const char *path, kh_problem_t *why)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a string", path);
    if (!kh_utf8_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EUTF8, "%s: not valid UTF-8", path);
    return 0;
}

/* No str value may hold the NUL character (VALUE), checked after its size. */
static int
s_check_nul (const msgpack_object *o, const char *path, kh_problem_t *why)
{
    if (memchr (o->via.str.ptr, 0, o->via.str.size))
        return kh_problem (why, KH_EVALUE, "%s: contains a NUL character", path);
    return 0;
}

/* Returns the first control character in the n bytes of well-formed UTF-8 at p that
   a text may not hold: any of C0 (U+0000..U+001F), DEL (U+007F) and C1
   (U+0080..U+009F), but LF and TAB in a multi-line text; its position (in
   characters, from 0) goes to *at. Returns -1 if there is none. */
static int32_t
s_control (const uint8_t *p, size_t n, bool multiline, uint64_t *at)
{
    uint64_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t cp = -1;
        if (p [i] < 0x20 && !(multiline && (p [i] == '\n' || p [i] == '\t')))
            cp = p [i];
        else
        if (p [i] == 0x7f)
            cp = 0x7f;
        else
        if (p [i] == 0xc2 && i + 1 < n && p [i + 1] <= 0x9f)
            cp = p [i + 1];             /* U+0080..U+009F: C2 80..C2 9F */
        if (cp >= 0) {
            *at = chars;
            return cp;
        }
        chars += (p [i] & 0xc0) != 0x80;
    }
    return -1;
}

/* Checks a str object that people write: type, UTF-8, its length within min..max
   characters (Unicode code points; RANGE), then no control character (VALUE): none
   on one line, LF and TAB only in a multi-line text (PROTOCOL.md section 3). A
   character takes 1 to 4 bytes of UTF-8, so max characters are 4 * max bytes at
   most. */
/* True if each of the n bytes at p is printable ASCII (0x20..0x7E), or LF or TAB in
   a multi-line text: such a text is well-formed UTF-8 of n characters without a
   control character, and s_check_chars need not look at it byte by byte. Eight bytes
   at once: a word with no high bit, no byte below 0x20 and none 0x7F is printable. */
static bool
s_plain (const uint8_t *p, size_t n, bool multiline)
{
    size_t i = 0;
    while (i < n) {
        uint64_t word, del;
        if (i + 8 <= n) {
            memcpy (&word, p + i, 8);
            del = word ^ (0x7f * S_ONES);
            if (((word | ((word - 0x20 * S_ONES) & ~word) | ((del - S_ONES) & ~del))
                 & S_HIGH_BITS) == 0) {
                i += 8;
                continue;
            }
        }
        for (size_t end = i + 8 <= n ? i + 8 : n; i < end; i++)
            if ((p [i] < 0x20 || p [i] > 0x7e)
            &&  !(multiline && (p [i] == '\n' || p [i] == '\t')))
                return false;
    }
    return true;
}

static int
s_check_chars (const msgpack_object *o, const char *path, uint64_t min, uint64_t max,
               bool multiline, kh_problem_t *why)
{
    const uint8_t *p = (const uint8_t *) o->via.str.ptr;
    uint64_t chars = 0, at = 0;
    bool plain = o->type == MSGPACK_OBJECT_STR && s_plain (p, o->via.str.size, multiline);
    if (!plain && s_check_text (o, path, why))
        return -1;
    if (plain)
        chars = o->via.str.size;
    else
    for (uint32_t i = 0; i < o->via.str.size; i++)
        chars += (p [i] & 0xc0) != 0x80;        /* each lead byte begins a character */
    if (chars < min || chars > max)
        return kh_problem (why, KH_ERANGE, "%s: %llu characters, allowed %llu..%llu", path,
                           (unsigned long long) chars, (unsigned long long) min,
                           (unsigned long long) max);
    int32_t cp = plain ? -1 : s_control (p, o->via.str.size, multiline, &at);
    if (cp >= 0)
        return kh_problem (why, KH_EVALUE, "%s: control character U+%04X at character "
                           "%llu; %s", path, (unsigned) cp, (unsigned long long) at + 1,
                           multiline ? "a text holds LF and TAB, no others"
                                     : "one line holds none");
    return 0;
}

/* Checks a str object holding an AGS: a str of another form, of any length, is
   VALUE (an AGS has a form, not a size limit). */
static int
s_check_ags (const msgpack_object *o, const char *path, kh_problem_t *why)
{
    if (s_check_text (o, path, why) || s_check_nul (o, path, why))
        return -1;
    if (!kh_ags_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EVALUE, "%s: not an AGS (8 digits) or Kreisschluessel "
                           "(5 digits)", path);
    return 0;
}

/* Checks the elements of a list field (STRLIST or AGSLIST). */
static int
s_check_list (const kh_field_t *f, const msgpack_object *o, const char *path,
              kh_problem_t *why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a list", path);
    uint32_t n = o->via.array.size;
    if (n < f->min || n > f->max)
        return kh_problem (why, KH_ERANGE, "%s: %u items, allowed %llu..%llu", path, n,
                           (unsigned long long) f->min, (unsigned long long) f->max);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *item = &o->via.array.ptr [i];
        char ipath [96];
        snprintf (ipath, sizeof ipath, "%s[%u]", path, i);
        if (f->kind == KH_KIND_AGSLIST) {
            if (s_check_ags (item, ipath, why))
                return -1;
            for (uint32_t k = 0; k < i; k++)
                if (o->via.array.ptr [k].via.str.size == item->via.str.size
                &&  memcmp (o->via.array.ptr [k].via.str.ptr, item->via.str.ptr,
                            item->via.str.size) == 0)
                    return kh_problem (why, KH_EVALUE, "%s: repeats %.*s", ipath,
                                       (int) item->via.str.size, item->via.str.ptr);
        }
        else
        if (s_check_chars (item, ipath, 1, f->item_max, false, why))
            return -1;
    }
    return 0;
}

/* Checks an integer object against min..max: another msgpack type is WRONG_TYPE; an
   integer outside the limits, a negative one included, is RANGE. Any of msgpack's
   integer formats will do (a uint field given 2 as int8 holds 2). */
static int
s_check_uint (const msgpack_object *o, const char *path, uint64_t min, uint64_t max,
              kh_problem_t *why)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return kh_problem (why, KH_ERANGE, "%s: %lld, allowed %llu..%llu", path,
                           (long long) o->via.i64, (unsigned long long) min,
                           (unsigned long long) max);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected an integer", path);
    if (o->via.u64 < min || o->via.u64 > max)
        return kh_problem (why, KH_ERANGE, "%s: %llu, allowed %llu..%llu", path,
                           (unsigned long long) o->via.u64, (unsigned long long) min,
                           (unsigned long long) max);
    return 0;
}

/* Checks a str object against the values of an enum: a str not listed, of any
   length, is VALUE (an enum has values, not a size limit). */
static int
s_check_enum (const kh_field_t *f, const msgpack_object *o, const char *path,
              kh_problem_t *why)
{
    if (s_check_text (o, path, why) || s_check_nul (o, path, why))
        return -1;
    char allowed [128] = "";
    size_t used = 0;
    for (const char *const *v = f->values; *v; v++) {
        if (strlen (*v) == o->via.str.size && memcmp (*v, o->via.str.ptr, o->via.str.size) == 0)
            return 0;
        int n = snprintf (allowed + used, sizeof allowed - used, "%s%s",
                          v == f->values ? "" : ", ", *v);
        used += n > 0 && (size_t) n < sizeof allowed - used ? (size_t) n : 0;
    }
    return kh_problem (why, KH_EVALUE, "%s: '%.*s' is not one of %s", path,
                       o->via.str.size > 32 ? 32 : (int) o->via.str.size, o->via.str.ptr,
                       allowed);
}

/* Checks an id: a bin (WRONG_TYPE) of 16 bytes (RANGE), not all zero (VALUE). The
   envelope's id and every ref are ids. */
static int
s_check_id (const msgpack_object *o, const char *path, kh_problem_t *why)
{
    static const uint8_t zero [KH_ID_SIZE] = { 0 };
    if (o->type != MSGPACK_OBJECT_BIN)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected bin of 16 bytes", path);
    if (o->via.bin.size != KH_ID_SIZE)
        return kh_problem (why, KH_ERANGE, "%s: %u bytes, must be 16", path, o->via.bin.size);
    if (memcmp (o->via.bin.ptr, zero, KH_ID_SIZE) == 0)
        return kh_problem (why, KH_EVALUE, "%s: must not be all zero", path);
    return 0;
}

/* Sorts the pairs of map into values [index], each key's index given by type's
   table, or by the item fields' if type is NULL (a revise's fields). A key that is
   not a str is WRONG_TYPE, one that names no field UNKNOWN_FIELD, one given twice
   MALFORMED; path names the map in the reason. */
static int
s_sort_keys (const msgpack_object *map, const kh_msgtype_t *type, const char *path,
             const msgpack_object *values [KH_FIELDS_MAX], kh_problem_t *why)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return kh_problem (why, KH_EWRONGTYPE, "%s: keys must be strings", path);
        const char *name = key->via.str.ptr;
        uint32_t len = key->via.str.size;
        int index = type ? kh__schema_field (type, name, len)
                         : kh__schema_item_field (name, len);
        if (index < 0)
            return kh_problem (why, KH_EUNKNOWNFIELD, "%s.%.*s: not a field of %s", path,
                               (int) (len > 64 ? 64 : len), name,
                               type ? type->name : "an item");
        if (values [index])
            return kh_problem (why, KH_EMALFORMED, "%s.%.*s: given twice", path, (int) len,
                               name);
        values [index] = &map->via.map.ptr [i].val;
    }
    return 0;
}

static int s_check_field (const kh_field_t *f, const msgpack_object *o, const char *map,
                          kh_problem_t *why);

/* Checks a revise's fields: a map (WRONG_TYPE) of at least f->min pairs (RANGE),
   its keys (s_sort_keys, against the item fields), then each value in the order of
   the item fields, by its field's kind. */
static int
s_check_fields (const kh_field_t *f, const msgpack_object *o, const char *path,
                kh_problem_t *why)
{
    const msgpack_object *values [KH_FIELDS_MAX] = { NULL };
    if (o->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a map of item fields", path);
    if (o->via.map.size < f->min)
        return kh_problem (why, KH_ERANGE, "%s: %u fields, at least %llu", path,
                           o->via.map.size, (unsigned long long) f->min);
    if (s_sort_keys (o, NULL, path, values, why))
        return -1;
    const kh_field_t *item;
    for (size_t i = 0; (item = kh__schema_item_field_at (i)) != NULL; i++)
        if (values [i] && s_check_field (item, values [i], path, why))
            return -1;
    return 0;
}

/* Checks a str object holding a date YYYY-MM-DD: a str of another form is VALUE. */
static int
s_check_date (const msgpack_object *o, const char *path, kh_problem_t *why)
{
    if (s_check_text (o, path, why) || s_check_nul (o, path, why))
        return -1;
    if (!s_date_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EVALUE, "%s: not a date YYYY-MM-DD (0001..9999)", path);
    return 0;
}

/* Checks the value of field f, found in the map named map ("body", "body.fields"),
   against its schema entry. */
static int
s_check_field (const kh_field_t *f, const msgpack_object *o, const char *map,
               kh_problem_t *why)
{
    char path [64];
    snprintf (path, sizeof path, "%s.%s", map, f->name);
    switch (f->kind) {
        case KH_KIND_LINE:
        case KH_KIND_TEXT:
            return s_check_chars (o, path, f->min, f->max, f->kind == KH_KIND_TEXT, why);
        case KH_KIND_UINT:
            return s_check_uint (o, path, f->min, f->max, why);
        case KH_KIND_AGS:
            return s_check_ags (o, path, why);
        case KH_KIND_STRLIST:
        case KH_KIND_AGSLIST:
            return s_check_list (f, o, path, why);
        case KH_KIND_DATE:
            return s_check_date (o, path, why);
        case KH_KIND_ENUM:
            return s_check_enum (f, o, path, why);
        case KH_KIND_REF:
            return s_check_id (o, path, why);
        case KH_KIND_FIELDS:
            return s_check_fields (f, o, path, why);
    }
    /* Every kind has its case (-Wswitch names a missing one): only a corrupt schema
       table gets here, a programmer error. A build without asserts refuses. */
    assert (!"s_check_field: a field kind without a check");
    return kh_problem (why, KH_EVALUE, "%s: no check for this field's kind", path);
}

/* Checks a body map against the type: unknown and repeated keys, then each field in
   table order (missing required fields, values). */
static int
s_check_body (const kh_msgtype_t *type, const msgpack_object *body, kh_problem_t *why)
{
    const msgpack_object *values [KH_FIELDS_MAX] = { NULL };
    if (body->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "body: expected a map");
    if (s_sort_keys (body, type, "body", values, why))
        return -1;
    for (size_t i = 0; i < type->count; i++) {
        const kh_field_t *f = &type->fields [i];
        if (!values [i]) {
            if (f->required)
                return kh_problem (why, KH_EMISSING, "body.%s: required field missing",
                                   f->name);
            continue;
        }
        if (s_check_field (f, values [i], "body", why))
            return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- envelopes */

/* The envelope's keys, in checking order. */
enum { S_V, S_ID, S_TYPE, S_FROM, S_TS, S_BODY, S_ENV_KEYS };
static const char *const s_env_keys [S_ENV_KEYS] = { "v", "id", "type", "from", "ts", "body" };

/* Sorts the envelope map's values into slots; remembers the first unknown key. */
static int
s_env_slots (const msgpack_object *map, const msgpack_object *slot [S_ENV_KEYS],
             const msgpack_object **unknown, kh_problem_t *why)
{
    *unknown = NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        int k = 0;
        while (k < S_ENV_KEYS && !kh__key_is (key, s_env_keys [k]))
            k++;
        if (k == S_ENV_KEYS) {
            if (!*unknown)
                *unknown = key;
            continue;
        }
        if (slot [k])
            return kh_problem (why, KH_EMALFORMED, "%s: given twice", s_env_keys [k]);
        slot [k] = &map->via.map.ptr [i].val;
    }
    return 0;
}

/* Reads the id for the ERROR reply, before any other check of the map: if the map
   holds the key "id" exactly once, with a bin of 16 bytes, env->id gets it and
   *has_id (if not NULL) is set, whatever else is wrong with the envelope (PROTOCOL.md
   section 3, "The id of an ERROR"). */
static void
s_read_id (const msgpack_object *map, kh_envelope_t *env, bool *has_id)
{
    const msgpack_object *id = kh__get_once (map, "id");
    if (!id || id->type != MSGPACK_OBJECT_BIN || id->via.bin.size != KH_ID_SIZE)
        return;
    memcpy (env->id, id->via.bin.ptr, KH_ID_SIZE);
    if (has_id)
        *has_id = true;
}

/* Checks "v" and "id"; fills env->version. Any integer but 1 is VERSION, a negative
   one too; a v of another msgpack type is WRONG_TYPE. */
static int
s_check_head (const msgpack_object *slot [S_ENV_KEYS], kh_envelope_t *env,
              kh_problem_t *why)
{
    const msgpack_object *v = slot [S_V], *id = slot [S_ID];
    if (!v)
        return kh_problem (why, KH_EMISSING, "v: required field missing");
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return kh_problem (why, KH_EVERSION, "v: format version %lld is not supported "
                           "(this hub speaks %d)", (long long) v->via.i64, KH_FORMAT_VERSION);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return kh_problem (why, KH_EWRONGTYPE, "v: expected an integer");
    if (v->via.u64 != KH_FORMAT_VERSION)
        return kh_problem (why, KH_EVERSION, "v: format version %llu is not supported "
                           "(this hub speaks %d)", (unsigned long long) v->via.u64,
                           KH_FORMAT_VERSION);
    env->version = (uint32_t) v->via.u64;
    if (!id)
        return kh_problem (why, KH_EMISSING, "id: required field missing");
    return s_check_id (id, "id", why);
}

/* Checks "type", "from" and "ts"; fills env and returns the type's schema in *type.
   A str that names no type, of any length, is TYPE. */
static int
s_check_meta (const msgpack_object *slot [S_ENV_KEYS], kh_envelope_t *env,
              const kh_msgtype_t **type, kh_problem_t *why)
{
    const msgpack_object *t = slot [S_TYPE], *from = slot [S_FROM], *ts = slot [S_TS];
    if (!t)
        return kh_problem (why, KH_EMISSING, "type: required field missing");
    if (s_check_text (t, "type", why) || s_check_nul (t, "type", why))
        return -1;
    *type = kh__schema_type (t->via.str.ptr, t->via.str.size);
    if (!*type)
        return kh_problem (why, KH_ETYPE, "type: '%.*s' is not a message type",
                           t->via.str.size > 32 ? 32 : (int) t->via.str.size, t->via.str.ptr);
    snprintf (env->type, sizeof env->type, "%s", (*type)->name);
    if (!from)
        return kh_problem (why, KH_EMISSING, "from: required field missing");
    if (s_check_ags (from, "from", why))
        return -1;
    kh__copy_str (from, env->from, sizeof env->from);
    if (!ts)
        return kh_problem (why, KH_EMISSING, "ts: required field missing");
    if (s_check_uint (ts, "ts", 1, KH_TS_MAX, why))
        return -1;
    env->ts = ts->via.u64;
    return 0;
}

/* Copies what the hub reads from a valid body into env: an item's title, the ref of
   a message about an item. */
static void
s_read_body (const msgpack_object *body, kh_envelope_t *env)
{
    const msgpack_object *title = kh__get (body, "title");
    if (title)
        kh__copy_str (title, env->title, sizeof env->title);
    const msgpack_object *ref = kh__get (body, "ref");
    if (ref && ref->type == MSGPACK_OBJECT_BIN && ref->via.bin.size == KH_ID_SIZE) {
        memcpy (env->ref, ref->via.bin.ptr, KH_ID_SIZE);
        env->has_ref = true;
    }
}

/* Runs all envelope checks on the unpacked root object, in the order of PROTOCOL.md
   section 3. */
static int
s_check_envelope (const msgpack_object *root, kh_envelope_t *env, bool *has_id,
                  kh_problem_t *why)
{
    const msgpack_object *slot [S_ENV_KEYS] = { NULL }, *unknown;
    const kh_msgtype_t *type = NULL;
    if (root->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "envelope: expected a map");
    s_read_id (root, env, has_id);
    if (s_env_slots (root, slot, &unknown, why) || s_check_head (slot, env, why))
        return -1;
    if (unknown) {
        if (unknown->type != MSGPACK_OBJECT_STR)
            return kh_problem (why, KH_EWRONGTYPE, "envelope: keys must be strings");
        return kh_problem (why, KH_EUNKNOWNFIELD, "%.*s: not an envelope field",
                           unknown->via.str.size > 64 ? 64 : (int) unknown->via.str.size,
                           unknown->via.str.ptr);
    }
    if (s_check_meta (slot, env, &type, why))
        return -1;
    if (!slot [S_BODY])
        return kh_problem (why, KH_EMISSING, "body: required field missing");
    if (s_check_body (type, slot [S_BODY], why))
        return -1;
    s_read_body (slot [S_BODY], env);
    if (type->kreis_only && strlen (env->from) != 5)
        return kh_problem (why, KH_EFORBIDDEN, "from: %s is not a Kreis; only a Kreis "
                           "(its 5-digit key) sends an %s", env->from, type->name);
    return 0;
}

int
kh_envelope_check (const void *data, size_t size, kh_envelope_t *env, bool *has_id,
                   kh_problem_t *why)
{
    kh_envelope_t scratch;
    if (!env)
        env = &scratch;
    memset (env, 0, sizeof *env);
    if (has_id)
        *has_id = false;
    if (!data && size > 0)
        return kh_problem (why, KH_EINVAL, "envelope: no bytes");
    if (size > KH_ENVELOPE_MAX)
        return kh_problem (why, KH_ETOOLARGE, "envelope of %zu bytes, at most %d allowed",
                           size, KH_ENVELOPE_MAX);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_check_envelope (&u.data, env, has_id, why);
    kh__unpacked_release (&u);
    return rc;
}
