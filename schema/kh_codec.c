/*  kh_codec.c - encode, decode and validate every msgpack frame of kreishub.

    Decoders share one path: bound the bytes (kh_mp_scan), unpack exactly one object,
    then read maps by key. msgpack-c's str and bin objects point into the caller's
    bytes, so views handed out here live as long as those bytes. Replies are decoded
    leniently (unknown keys ignored, so that a newer hub can add keys); what the hub
    itself accepts (envelopes, queries) is decoded strictly.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_schema.h"

int
kh_problem (kh_problem_t *why, int code, const char *fmt, ...)
{
    if (why) {
        why->code = code;
        va_list args;
        va_start (args, fmt);
        vsnprintf (why->reason, sizeof why->reason, fmt, args);
        va_end (args);
    }
    return -1;
}

/* ------------------------------------------------------------------ ids, time */

uint64_t
kh_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

void
kh_id_new (uint8_t id [KH_ID_SIZE])
{
    uint64_t ms = kh_now_ms ();
    /* getrandom: thread-safe, no file to open; 16 bytes never block once the kernel's
       pool is initialised, and never come back short. */
    if (getrandom (id, KH_ID_SIZE, 0) != KH_ID_SIZE) {
        /* Without it, fall back to a clock-seeded generator. */
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        uint64_t x = ms ^ ((uint64_t) getpid () << 32) ^ (uint64_t) ts.tv_nsec;
        for (int i = 0; i < KH_ID_SIZE; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            id [i] = (uint8_t) x;
        }
    }
    for (int i = 0; i < 6; i++)
        id [i] = (uint8_t) (ms >> (40 - 8 * i));
    id [6] = (uint8_t) (0x70 | (id [6] & 0x0f));
    id [8] = (uint8_t) (0x80 | (id [8] & 0x3f));
}

void
kh_id_format (const uint8_t id [KH_ID_SIZE], char out [KH_ID_STR_SIZE])
{
    static const char hex [] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < KH_ID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex [id [i] >> 4];
        *p++ = hex [id [i] & 15];
    }
    *p = 0;
}

/* Returns the value of hex digit c, or -1. */
static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int
kh_id_parse (const char *text, uint8_t id [KH_ID_SIZE])
{
    size_t len = text ? strlen (text) : 0;
    bool dashed = len == 36;
    if (!dashed && len != 32)
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; ) {
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (text [i] != '-')
                return -1;
            i++;
            continue;
        }
        int hi = s_hexval (text [i]), lo = s_hexval (text [i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        id [n++] = (uint8_t) (hi << 4 | lo);
        i += 2;
    }
    return n == KH_ID_SIZE ? 0 : -1;
}

/* ------------------------------------------------------------ decode helpers */

/* Bounds and unpacks data into u, which the caller destroys. Returns 0 or -1. */
static int
s_unpack (const void *data, size_t size, msgpack_unpacked *u, kh_problem_t *why)
{
    msgpack_unpacked_init (u);
    if (kh_mp_scan (data, size, why))
        return -1;
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (u, (const char *) data, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != size)
        return kh_problem (why, rc == MSGPACK_UNPACK_NOMEM_ERROR ? KH_ENOMEM : KH_EMALFORMED,
                           "msgpack could not be decoded");
    return 0;
}

/* True if the object is a str equal to the C string key. */
static bool
s_key_is (const msgpack_object *o, const char *key)
{
    size_t len = strlen (key);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len
        && memcmp (o->via.str.ptr, key, len) == 0;
}

/* Returns the value stored under key in map, or NULL. */
static const msgpack_object *
s_get (const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_key_is (&map->via.map.ptr [i].key, key))
            return &map->via.map.ptr [i].val;
    return NULL;
}

/* Reads an optional uint under key (absent: *value = 0). Returns 0 or -1. */
static int
s_get_uint (const msgpack_object *map, const char *key, uint64_t *value,
            int code, kh_problem_t *why)
{
    const msgpack_object *o = s_get (map, key);
    *value = 0;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return kh_problem (why, code, "%s: expected a non-negative integer", key);
    *value = o->via.u64;
    return 0;
}

/* Reads an optional bool under key (absent: false). Returns 0 or -1. */
static int
s_get_bool (const msgpack_object *map, const char *key, bool *value, kh_problem_t *why)
{
    const msgpack_object *o = s_get (map, key);
    *value = false;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a bool", key);
    *value = o->via.boolean;
    return 0;
}

/* Copies a str object into buf (cap bytes incl. NUL), truncating. */
static void
s_copy_str (const msgpack_object *o, char *buf, size_t cap)
{
    size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
    memcpy (buf, o->via.str.ptr, n);
    buf [n] = 0;
}

/* Packs a C string as a msgpack str. */
static void
s_pack_cstr (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

/* Packs a key and an unsigned value. */
static void
s_pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    s_pack_cstr (pk, key);
    msgpack_pack_uint64 (pk, value);
}

/* ------------------------------------------------------------ value checks */

/* The one UTF-8 check of the tree: a table of the well-formed sequences (Unicode
   section 3.9, table 3-7), read one lead byte at a time. */
size_t
kh_utf8_seq (const uint8_t *p, size_t n)
{
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
    const uint8_t *s = (const uint8_t *) data;
    for (size_t i = 0, n; i < len; i += n)
        if ((n = kh_utf8_seq (s + i, len - i)) == 0)
            return false;
    return true;
}

bool
kh_ags_valid (const char *text, size_t len)
{
    if (len != 5 && len != 8)
        return false;
    for (size_t i = 0; i < len; i++)
        if (text [i] < '0' || text [i] > '9')
            return false;
    return true;
}

/* True if the 10 bytes at s are a real calendar date YYYY-MM-DD (1900..9999). */
static bool
s_date_valid (const char *s, size_t len)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (len != 10 || s [4] != '-' || s [7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s [i] < '0' || s [i] > '9'))
            return false;
    int year = atoi (s), month = (s [5] - '0') * 10 + (s [6] - '0');
    int day = (s [8] - '0') * 10 + (s [9] - '0');
    if (year < 1900 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days [month - 1] + (month == 2 && leap);
}

/* Checks a str object: type, UTF-8, no NUL, length within min..max bytes. */
static int
s_check_str (const msgpack_object *o, const char *path, uint64_t min, uint64_t max,
             kh_problem_t *why)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a string", path);
    if (!kh_utf8_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EUTF8, "%s: not valid UTF-8", path);
    if (memchr (o->via.str.ptr, 0, o->via.str.size))
        return kh_problem (why, KH_EVALUE, "%s: contains a NUL character", path);
    if (o->via.str.size < min || o->via.str.size > max)
        return kh_problem (why, KH_ERANGE, "%s: %u bytes, allowed %llu..%llu", path,
                           o->via.str.size, (unsigned long long) min,
                           (unsigned long long) max);
    return 0;
}

/* Checks a str object holding an AGS. */
static int
s_check_ags (const msgpack_object *o, const char *path, kh_problem_t *why)
{
    if (s_check_str (o, path, 1, KH_AGS_MAX, why) && (!why || why->code != KH_ERANGE))
        return -1;
    if (o->type != MSGPACK_OBJECT_STR || !kh_ags_valid (o->via.str.ptr, o->via.str.size))
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
        if (s_check_str (item, ipath, 1, f->item_max, why))
            return -1;
    }
    return 0;
}

/* Checks one body field value against its schema entry. */
static int
s_check_field (const kh_field_t *f, const msgpack_object *o, kh_problem_t *why)
{
    char path [64];
    snprintf (path, sizeof path, "body.%s", f->name);
    switch (f->kind) {
        case KH_KIND_STR:
            return s_check_str (o, path, f->min, f->max, why);
        case KH_KIND_UINT:
            if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return kh_problem (why, KH_ERANGE, "%s: allowed %llu..%llu", path,
                                   (unsigned long long) f->min, (unsigned long long) f->max);
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return kh_problem (why, KH_EWRONGTYPE, "%s: expected an integer", path);
            if (o->via.u64 < f->min || o->via.u64 > f->max)
                return kh_problem (why, KH_ERANGE, "%s: %llu, allowed %llu..%llu", path,
                                   (unsigned long long) o->via.u64,
                                   (unsigned long long) f->min, (unsigned long long) f->max);
            return 0;
        case KH_KIND_AGS:
            return s_check_ags (o, path, why);
        case KH_KIND_STRLIST:
        case KH_KIND_AGSLIST:
            return s_check_list (f, o, path, why);
        case KH_KIND_DATE:
            if (s_check_str (o, path, 10, 10, why)
            &&  (!why || why->code != KH_ERANGE))
                return -1;
            if (o->type != MSGPACK_OBJECT_STR || !s_date_valid (o->via.str.ptr, o->via.str.size))
                return kh_problem (why, KH_EVALUE, "%s: not a date YYYY-MM-DD", path);
            return 0;
        case KH_KIND_ENUM:
            if (s_check_str (o, path, 1, 64, why))
                return -1;
            for (const char *const *v = f->values; *v; v++)
                if (strlen (*v) == o->via.str.size && memcmp (*v, o->via.str.ptr, o->via.str.size) == 0)
                    return 0;
            return kh_problem (why, KH_EVALUE, "%s: '%.*s' is not one of the allowed values",
                               path, (int) o->via.str.size, o->via.str.ptr);
    }
    return kh_problem (why, KH_EINVAL, "%s: unknown kind", path);
}

/* Checks a body map against the type: unknown and repeated keys, then each field in
   table order (missing required fields, values). */
static int
s_check_body (const kh_msgtype_t *type, const msgpack_object *body, kh_problem_t *why)
{
    const msgpack_object *values [KH_FIELDS_MAX] = { NULL };
    if (body->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "body: expected a map");
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object *key = &body->via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return kh_problem (why, KH_EWRONGTYPE, "body: keys must be strings");
        int index = kh__schema_field (type, key->via.str.ptr, key->via.str.size);
        if (index < 0)
            return kh_problem (why, KH_EUNKNOWNFIELD, "body.%.*s: not a field of %s",
                               (int) (key->via.str.size > 64 ? 64 : key->via.str.size),
                               key->via.str.ptr, type->name);
        if (values [index])
            return kh_problem (why, KH_EMALFORMED, "body.%s: given twice",
                               type->fields [index].name);
        values [index] = &body->via.map.ptr [i].val;
    }
    for (size_t i = 0; i < type->count; i++) {
        const kh_field_t *f = &type->fields [i];
        if (!values [i]) {
            if (f->required)
                return kh_problem (why, KH_EMISSING, "body.%s: required field missing",
                                   f->name);
            continue;
        }
        if (s_check_field (f, values [i], why))
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
        while (k < S_ENV_KEYS && !s_key_is (key, s_env_keys [k]))
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

/* Checks "v" and "id"; fills env->version and env->id. */
static int
s_check_head (const msgpack_object *slot [S_ENV_KEYS], kh_envelope_t *env, bool *has_id,
              kh_problem_t *why)
{
    const msgpack_object *v = slot [S_V], *id = slot [S_ID];
    if (!v)
        return kh_problem (why, KH_EMISSING, "v: required field missing");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return kh_problem (why, KH_EWRONGTYPE, "v: expected an integer");
    if (v->via.u64 != KH_FORMAT_VERSION)
        return kh_problem (why, KH_EVERSION, "v: format version %llu is not supported "
                           "(this hub speaks %d)", (unsigned long long) v->via.u64,
                           KH_FORMAT_VERSION);
    env->version = (uint32_t) v->via.u64;
    if (!id)
        return kh_problem (why, KH_EMISSING, "id: required field missing");
    if (id->type != MSGPACK_OBJECT_BIN)
        return kh_problem (why, KH_EWRONGTYPE, "id: expected bin of 16 bytes");
    if (id->via.bin.size != KH_ID_SIZE)
        return kh_problem (why, KH_ERANGE, "id: %u bytes, must be 16", id->via.bin.size);
    memcpy (env->id, id->via.bin.ptr, KH_ID_SIZE);
    if (has_id)
        *has_id = true;
    static const uint8_t zero [KH_ID_SIZE] = { 0 };
    if (memcmp (env->id, zero, KH_ID_SIZE) == 0)
        return kh_problem (why, KH_EVALUE, "id: must not be all zero");
    return 0;
}

/* Checks "type", "from" and "ts"; fills env and returns the type's schema in *type. */
static int
s_check_meta (const msgpack_object *slot [S_ENV_KEYS], kh_envelope_t *env,
              const kh_msgtype_t **type, kh_problem_t *why)
{
    const msgpack_object *t = slot [S_TYPE], *from = slot [S_FROM], *ts = slot [S_TS];
    if (!t)
        return kh_problem (why, KH_EMISSING, "type: required field missing");
    if (s_check_str (t, "type", 1, KH_TYPE_MAX, why) && why && why->code != KH_ERANGE)
        return -1;
    *type = t->type == MSGPACK_OBJECT_STR ? kh__schema_type (t->via.str.ptr, t->via.str.size) : NULL;
    if (!*type)
        return kh_problem (why, KH_ETYPE, "type: '%.*s' is not a message type",
                           t->via.str.size > 32 ? 32 : (int) t->via.str.size, t->via.str.ptr);
    snprintf (env->type, sizeof env->type, "%s", (*type)->name);
    if (!from)
        return kh_problem (why, KH_EMISSING, "from: required field missing");
    if (s_check_ags (from, "from", why))
        return -1;
    s_copy_str (from, env->from, sizeof env->from);
    if (!ts)
        return kh_problem (why, KH_EMISSING, "ts: required field missing");
    if (ts->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return kh_problem (why, KH_EWRONGTYPE, "ts: expected milliseconds since 1970 as an integer");
    if (ts->via.u64 == 0 || ts->via.u64 > KH_TS_MAX)
        return kh_problem (why, KH_ERANGE, "ts: must be > 0 and before the year 10000");
    env->ts = ts->via.u64;
    return 0;
}

/* Runs all envelope checks on the unpacked root object. */
static int
s_check_envelope (const msgpack_object *root, kh_envelope_t *env, bool *has_id,
                  kh_problem_t *why)
{
    const msgpack_object *slot [S_ENV_KEYS] = { NULL }, *unknown;
    const kh_msgtype_t *type = NULL;
    if (root->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "envelope: expected a map");
    if (s_env_slots (root, slot, &unknown, why) || s_check_head (slot, env, has_id, why))
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
    const msgpack_object *title = s_get (slot [S_BODY], "title");
    s_copy_str (title, env->title, sizeof env->title);
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
    if (size > KH_ENVELOPE_MAX)
        return kh_problem (why, KH_ETOOLARGE, "envelope of %zu bytes, at most %d allowed",
                           size, KH_ENVELOPE_MAX);
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_check_envelope (&u.data, env, has_id, why);
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ----------------------------------------------------------------- builder */

struct kh_builder {
    const kh_msgtype_t *type;                   /* what is being built */
    msgpack_sbuffer     value [KH_FIELDS_MAX];  /* packed value per field; size 0: unset */
    msgpack_sbuffer     encoded;                /* the last envelope kh_builder_encode made */
};

kh_builder_t *
kh_builder_new (const char *type)
{
    const kh_msgtype_t *t = type ? kh__schema_type (type, strlen (type)) : NULL;
    if (!t)
        return NULL;
    kh_builder_t *self = (kh_builder_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->type = t;
    for (size_t i = 0; i < KH_FIELDS_MAX; i++)
        msgpack_sbuffer_init (&self->value [i]);
    msgpack_sbuffer_init (&self->encoded);
    return self;
}

void
kh_builder_destroy (kh_builder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_builder_t *self = *self_p;
    for (size_t i = 0; i < KH_FIELDS_MAX; i++)
        msgpack_sbuffer_destroy (&self->value [i]);
    msgpack_sbuffer_destroy (&self->encoded);
    free (self);
    *self_p = NULL;
}

/* Finds the field by name, clears its value and returns a packer onto it; -1 if the
   type has no such field. */
static int
s_builder_slot (kh_builder_t *self, const char *field, size_t len, msgpack_packer *pk,
                kh_problem_t *why)
{
    int index = kh__schema_field (self->type, field, len);
    if (index < 0)
        return kh_problem (why, KH_EUNKNOWNFIELD, "%.*s: not a field of %s",
                           len > 64 ? 64 : (int) len, field, self->type->name);
    msgpack_sbuffer_clear (&self->value [index]);
    msgpack_packer_init (pk, &self->value [index], msgpack_sbuffer_write);
    return index;
}

/* Packs text as a list, split at commas, blanks around items trimmed, empties dropped. */
static void
s_pack_list (msgpack_packer *pk, const char *text)
{
    uint32_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *p = text;
        if (pass == 1)
            msgpack_pack_array (pk, count);
        while (*p) {
            const char *end = strchr (p, ',');
            if (!end)
                end = p + strlen (p);
            const char *a = p, *b = end;
            while (a < b && (*a == ' ' || *a == '\t')) a++;
            while (b > a && (b [-1] == ' ' || b [-1] == '\t')) b--;
            if (b > a) {
                if (pass == 0)
                    count++;
                else {
                    msgpack_pack_str (pk, (size_t) (b - a));
                    msgpack_pack_str_body (pk, a, (size_t) (b - a));
                }
            }
            p = *end ? end + 1 : end;
        }
    }
}

int
kh_builder_set (kh_builder_t *self, const char *field, const char *text, kh_problem_t *why)
{
    if (!self || !field || !text)
        return kh_problem (why, KH_EINVAL, "builder: missing argument");
    msgpack_packer pk;
    int index = s_builder_slot (self, field, strlen (field), &pk, why);
    if (index < 0)
        return -1;
    switch (self->type->fields [index].kind) {
        case KH_KIND_UINT: {
            char *end = NULL;
            errno = 0;
            unsigned long long value = strtoull (text, &end, 10);
            if (!*text || *end || errno || text [0] == '-')
                return kh_problem (why, KH_EWRONGTYPE, "%s: '%s' is not a whole number",
                                   field, text);
            msgpack_pack_uint64 (&pk, value);
            break;
        }
        case KH_KIND_STRLIST:
        case KH_KIND_AGSLIST:
            s_pack_list (&pk, text);
            break;
        default:
            s_pack_cstr (&pk, text);
            break;
    }
    return 0;
}

int
kh_builder_set_msgpack (kh_builder_t *self, const char *field, size_t field_len,
                        const void *value, size_t size, kh_problem_t *why)
{
    if (!self || !field || !value)
        return kh_problem (why, KH_EINVAL, "builder: missing argument");
    if (kh_mp_scan (value, size, why))
        return -1;
    msgpack_packer pk;
    int index = s_builder_slot (self, field, field_len, &pk, why);
    if (index < 0)
        return -1;
    if (msgpack_sbuffer_write (&self->value [index], (const char *) value, size)) {
        msgpack_sbuffer_clear (&self->value [index]);
        return kh_problem (why, KH_ENOMEM, "builder: out of memory");
    }
    return 0;
}

int
kh_builder_encode (kh_builder_t *self, const uint8_t id [KH_ID_SIZE], const char *from,
                   uint64_t ts, kh_problem_t *why)
{
    if (!self)
        return kh_problem (why, KH_EINVAL, "builder: missing argument");
    msgpack_sbuffer_clear (&self->encoded);
    if (kh_builder_pack (self, id, from, ts, &self->encoded, why)) {
        msgpack_sbuffer_clear (&self->encoded);
        return -1;
    }
    return 0;
}

const void *
kh_builder_data (const kh_builder_t *self, size_t *size)
{
    bool has = self && self->encoded.size > 0;
    if (size)
        *size = has ? self->encoded.size : 0;
    return has ? self->encoded.data : NULL;
}

int
kh_builder_pack (kh_builder_t *self, const uint8_t id [KH_ID_SIZE], const char *from,
                 uint64_t ts, msgpack_sbuffer *out, kh_problem_t *why)
{
    if (!self || !id || !from || !out)
        return kh_problem (why, KH_EINVAL, "builder: missing argument");
    size_t start = out->size;
    uint32_t fields = 0;
    for (size_t i = 0; i < self->type->count; i++)
        fields += self->value [i].size > 0;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    s_pack_kv_uint (&pk, "v", KH_FORMAT_VERSION);
    s_pack_cstr (&pk, "id");
    msgpack_pack_bin (&pk, KH_ID_SIZE);
    msgpack_pack_bin_body (&pk, id, KH_ID_SIZE);
    s_pack_cstr (&pk, "type");
    s_pack_cstr (&pk, self->type->name);
    s_pack_cstr (&pk, "from");
    s_pack_cstr (&pk, from);
    s_pack_kv_uint (&pk, "ts", ts);
    s_pack_cstr (&pk, "body");
    msgpack_pack_map (&pk, fields);
    for (size_t i = 0; i < self->type->count; i++)
        if (self->value [i].size > 0) {
            s_pack_cstr (&pk, self->type->fields [i].name);
            msgpack_sbuffer_write (out, self->value [i].data, self->value [i].size);
        }
    return kh_envelope_check (out->data + start, out->size - start, NULL, NULL, why);
}

/* ---------------------------------------------------------------- records */

/* Packs the five position keys of info (the map header is the caller's). */
static void
s_pack_seqinfo (msgpack_packer *pk, const kh_seqinfo_t *info)
{
    s_pack_kv_uint (pk, "seq", info->seq);
    s_pack_kv_uint (pk, "at", info->at);
    s_pack_kv_uint (pk, "pt", info->prev_type);
    s_pack_kv_uint (pk, "ps", info->prev_sender);
    s_pack_kv_uint (pk, "pts", info->prev_pair);
}

/* Reads the position keys from a map; seq is required and > 0. */
static int
s_read_seqinfo (const msgpack_object *map, kh_seqinfo_t *info, kh_problem_t *why)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "record: expected a map");
    if (s_get_uint (map, "seq", &info->seq, KH_EWRONGTYPE, why)
    ||  s_get_uint (map, "at", &info->at, KH_EWRONGTYPE, why)
    ||  s_get_uint (map, "pt", &info->prev_type, KH_EWRONGTYPE, why)
    ||  s_get_uint (map, "ps", &info->prev_sender, KH_EWRONGTYPE, why)
    ||  s_get_uint (map, "pts", &info->prev_pair, KH_EWRONGTYPE, why))
        return -1;
    if (info->seq == 0)
        return kh_problem (why, KH_EMISSING, "seq: required and > 0");
    return 0;
}

int
kh_record_encode (msgpack_sbuffer *out, const kh_record_t *rec)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    s_pack_seqinfo (&pk, &rec->info);
    s_pack_cstr (&pk, "msg");
    msgpack_pack_bin (&pk, rec->msg_size);
    return msgpack_pack_bin_body (&pk, rec->msg, rec->msg_size);
}

/* Reads a record from an unpacked map; msg points into the original bytes. */
static int
s_read_record (const msgpack_object *map, kh_record_t *rec, kh_problem_t *why)
{
    memset (rec, 0, sizeof *rec);
    if (s_read_seqinfo (map, &rec->info, why))
        return -1;
    const msgpack_object *msg = s_get (map, "msg");
    if (!msg || msg->type != MSGPACK_OBJECT_BIN)
        return kh_problem (why, KH_EMISSING, "msg: required bin missing");
    rec->msg = (const uint8_t *) msg->via.bin.ptr;
    rec->msg_size = msg->via.bin.size;
    return 0;
}

int
kh_record_decode (const void *data, size_t size, kh_record_t *rec, kh_problem_t *why)
{
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_read_record (&u.data, rec, why);
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_stored_encode (msgpack_sbuffer *out, const kh_seqinfo_t *info, bool dup)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    s_pack_seqinfo (&pk, info);
    s_pack_cstr (&pk, "dup");
    return dup ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
}

int
kh_stored_decode (const void *data, size_t size, kh_seqinfo_t *info, bool *dup,
                  kh_problem_t *why)
{
    msgpack_unpacked u;
    memset (info, 0, sizeof *info);
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_read_seqinfo (&u.data, info, why);
    if (rc == 0)
        rc = s_get_bool (&u.data, "dup", dup, why);
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ----------------------------------------------------------------- queries */

int
kh_query_encode (msgpack_sbuffer *out, const kh_query_t *q)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    uint32_t n = 1 + (q->since_seq > 0) + (q->until_seq > 0) + (q->since_at > 0)
               + (q->until_at > 0) + (q->type [0] != 0) + (q->from [0] != 0) + (q->limit > 0);
    msgpack_pack_map (&pk, n);
    s_pack_kv_uint (&pk, "req", q->req);
    if (q->since_seq) s_pack_kv_uint (&pk, "since_seq", q->since_seq);
    if (q->until_seq) s_pack_kv_uint (&pk, "until_seq", q->until_seq);
    if (q->since_at)  s_pack_kv_uint (&pk, "since_at", q->since_at);
    if (q->until_at)  s_pack_kv_uint (&pk, "until_at", q->until_at);
    if (q->limit)     s_pack_kv_uint (&pk, "limit", q->limit);
    if (q->type [0]) { s_pack_cstr (&pk, "type"); s_pack_cstr (&pk, q->type); }
    if (q->from [0]) { s_pack_cstr (&pk, "from"); s_pack_cstr (&pk, q->from); }
    return 0;
}

/* Checks a query map strictly: known keys only, right types, known type, AGS. */
static int
s_read_query (const msgpack_object *map, kh_query_t *q, kh_problem_t *why)
{
    static const char *const keys [] = { "req", "since_seq", "until_seq", "since_at",
                                         "until_at", "limit", "type", "from", NULL };
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EQUERY, "query: expected a map");
    /* req first, so that even a refused query's error can echo it */
    if (s_get_uint (map, "req", &q->req, KH_EQUERY, why))
        return -1;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const char *const *k = keys;
        while (*k && !s_key_is (&map->via.map.ptr [i].key, *k))
            k++;
        if (!*k)
            return kh_problem (why, KH_EQUERY, "query: unknown key");
    }
    uint64_t limit;
    if (s_get_uint (map, "since_seq", &q->since_seq, KH_EQUERY, why)
    ||  s_get_uint (map, "until_seq", &q->until_seq, KH_EQUERY, why)
    ||  s_get_uint (map, "since_at", &q->since_at, KH_EQUERY, why)
    ||  s_get_uint (map, "until_at", &q->until_at, KH_EQUERY, why)
    ||  s_get_uint (map, "limit", &limit, KH_EQUERY, why))
        return -1;
    if (q->req == 0)
        return kh_problem (why, KH_EQUERY, "req: required and > 0");
    q->limit = limit == 0 || limit > KH_QUERY_PAGE_MAX ? KH_QUERY_PAGE_MAX : (uint32_t) limit;
    const msgpack_object *type = s_get (map, "type"), *from = s_get (map, "from");
    if (type) {
        if (type->type != MSGPACK_OBJECT_STR
        ||  !kh__schema_type (type->via.str.ptr, type->via.str.size))
            return kh_problem (why, KH_EQUERY, "type: not a message type");
        s_copy_str (type, q->type, sizeof q->type);
    }
    if (from) {
        if (from->type != MSGPACK_OBJECT_STR || !kh_ags_valid (from->via.str.ptr, from->via.str.size))
            return kh_problem (why, KH_EQUERY, "from: not an AGS");
        s_copy_str (from, q->from, sizeof q->from);
    }
    return 0;
}

int
kh_query_decode (const void *data, size_t size, kh_query_t *q, kh_problem_t *why)
{
    memset (q, 0, sizeof *q);
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    if (rc && why)
        why->code = KH_EQUERY;
    else
    if (rc == 0)
        rc = s_read_query (&u.data, q, why);
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ------------------------------------------------------------------- rows */

struct kh_rows_writer {
    uint64_t        req;                /* echoed */
    uint32_t        count;              /* records packed so far */
    msgpack_sbuffer rows;               /* the packed records, back to back */
};

kh_rows_writer_t *
kh_rows_writer_new (uint64_t req)
{
    kh_rows_writer_t *self = (kh_rows_writer_t *) calloc (1, sizeof *self);
    if (self) {
        self->req = req;
        msgpack_sbuffer_init (&self->rows);
    }
    return self;
}

void
kh_rows_writer_destroy (kh_rows_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    msgpack_sbuffer_destroy (&(*self_p)->rows);
    free (*self_p);
    *self_p = NULL;
}

int
kh_rows_writer_add (kh_rows_writer_t *self, const kh_record_t *rec)
{
    if (kh_record_encode (&self->rows, rec))
        return -1;
    self->count++;
    return 0;
}

uint32_t
kh_rows_writer_count (kh_rows_writer_t *self)
{
    return self->count;
}

size_t
kh_rows_writer_bytes (kh_rows_writer_t *self)
{
    return self->rows.size;
}

int
kh_rows_writer_finish (kh_rows_writer_t *self, bool more, uint64_t next,
                       msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    s_pack_kv_uint (&pk, "req", self->req);
    s_pack_cstr (&pk, "more");
    more ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    s_pack_kv_uint (&pk, "next", next);
    s_pack_cstr (&pk, "rows");
    msgpack_pack_array (&pk, self->count);
    return msgpack_sbuffer_write (out, self->rows.data, self->rows.size);
}

int
kh_rows_decode (const void *data, size_t size, kh_rows_t *rows, kh_problem_t *why)
{
    memset (rows, 0, sizeof *rows);
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    const msgpack_object *list = rc == 0 ? s_get (&u.data, "rows") : NULL;
    if (rc == 0 && (!list || list->type != MSGPACK_OBJECT_ARRAY))
        rc = kh_problem (why, KH_EMISSING, "rows: required list missing");
    if (rc == 0)
        rc = s_get_uint (&u.data, "req", &rows->req, KH_EWRONGTYPE, why)
          || s_get_uint (&u.data, "next", &rows->next, KH_EWRONGTYPE, why)
          || s_get_bool (&u.data, "more", &rows->more, why) ? -1 : 0;
    if (rc == 0 && list->via.array.size > 0) {
        rows->rows = (kh_record_t *) calloc (list->via.array.size, sizeof (kh_record_t));
        if (!rows->rows)
            rc = kh_problem (why, KH_ENOMEM, "rows: out of memory");
    }
    for (uint32_t i = 0; rc == 0 && list && i < list->via.array.size; i++)
        rc = s_read_record (&list->via.array.ptr [i], &rows->rows [i], why);
    if (rc == 0)
        rows->count = list->via.array.size;
    else
        kh_rows_release (rows);
    msgpack_unpacked_destroy (&u);
    return rc;
}

void
kh_rows_release (kh_rows_t *rows)
{
    if (rows) {
        free (rows->rows);
        rows->rows = NULL;
        rows->count = 0;
    }
}

/* ----------------------------------------------------------------- replies */

int
kh_ack_encode (msgpack_sbuffer *out, const uint8_t id [KH_ID_SIZE], uint64_t seq, bool dup)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    s_pack_cstr (&pk, "id");
    msgpack_pack_bin (&pk, KH_ID_SIZE);
    msgpack_pack_bin_body (&pk, id, KH_ID_SIZE);
    s_pack_kv_uint (&pk, "seq", seq);
    s_pack_cstr (&pk, "dup");
    return dup ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
}

/* Reads an id under "id": bin 16 -> 1, nil or absent -> 0, else -1. */
static int
s_read_id (const msgpack_object *map, uint8_t id [KH_ID_SIZE], kh_problem_t *why)
{
    const msgpack_object *o = s_get (map, "id");
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != KH_ID_SIZE)
        return kh_problem (why, KH_EWRONGTYPE, "id: expected bin of 16 bytes");
    memcpy (id, o->via.bin.ptr, KH_ID_SIZE);
    return 1;
}

int
kh_ack_decode (const void *data, size_t size, uint8_t id [KH_ID_SIZE], uint64_t *seq,
               bool *dup, kh_problem_t *why)
{
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0) {
        int got = s_read_id (&u.data, id, why);
        rc = got < 0 ? -1 : got == 0 ? kh_problem (why, KH_EMISSING, "ack: id missing") : 0;
    }
    if (rc == 0)
        rc = s_get_uint (&u.data, "seq", seq, KH_EWRONGTYPE, why)
          || s_get_bool (&u.data, "dup", dup, why) ? -1 : 0;
    if (rc == 0 && *seq == 0)
        rc = kh_problem (why, KH_EMISSING, "ack: seq missing");
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_error_encode (msgpack_sbuffer *out, const uint8_t *id, uint64_t req, int code,
                 const char *reason)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    s_pack_cstr (&pk, "id");
    if (id) {
        msgpack_pack_bin (&pk, KH_ID_SIZE);
        msgpack_pack_bin_body (&pk, id, KH_ID_SIZE);
    }
    else
        msgpack_pack_nil (&pk);
    s_pack_kv_uint (&pk, "req", req);
    s_pack_kv_uint (&pk, "code", (uint64_t) code);
    s_pack_cstr (&pk, "name");
    s_pack_cstr (&pk, kh_errname (code));
    s_pack_cstr (&pk, "reason");
    /* A reason built from hostile bytes may hold invalid UTF-8: send only valid text. */
    size_t len = reason ? strlen (reason) : 0;
    if (!kh_utf8_valid (reason, len))
        reason = kh_strerror (code), len = strlen (reason);
    msgpack_pack_str (&pk, len);
    return msgpack_pack_str_body (&pk, reason ? reason : "", len);
}

int
kh_error_decode (const void *data, size_t size, kh_error_reply_t *err, kh_problem_t *why)
{
    memset (err, 0, sizeof *err);
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    uint64_t code = 0;
    if (rc == 0) {
        int got = s_read_id (&u.data, err->id, why);
        err->has_id = got == 1;
        rc = got < 0 ? -1 : 0;
    }
    if (rc == 0)
        rc = s_get_uint (&u.data, "req", &err->req, KH_EWRONGTYPE, why)
          || s_get_uint (&u.data, "code", &code, KH_EWRONGTYPE, why) ? -1 : 0;
    if (rc == 0) {
        err->code = code > 0x7fff ? KH_ERR_COUNT_ : (int) code;
        const msgpack_object *name = s_get (&u.data, "name"), *reason = s_get (&u.data, "reason");
        if (name && name->type == MSGPACK_OBJECT_STR)
            s_copy_str (name, err->name, sizeof err->name);
        else
            snprintf (err->name, sizeof err->name, "%s", kh_errname (err->code));
        if (reason && reason->type == MSGPACK_OBJECT_STR)
            s_copy_str (reason, err->reason, sizeof err->reason);
        else
            snprintf (err->reason, sizeof err->reason, "%s", kh_strerror (err->code));
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* Encodes a map of two uints (a, b) - the shape of PONG, beat and HELLO. */
static int
s_encode_pair (msgpack_sbuffer *out, const char *ka, uint64_t a, const char *kb, uint64_t b)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    s_pack_kv_uint (&pk, ka, a);
    s_pack_kv_uint (&pk, kb, b);
    return 0;
}

int
kh_pong_encode (msgpack_sbuffer *out, uint64_t head, bool recorder)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    s_pack_kv_uint (&pk, "head", head);
    s_pack_cstr (&pk, "recorder");
    return recorder ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
}

int
kh_pong_decode (const void *data, size_t size, uint64_t *head, bool *recorder,
                kh_problem_t *why)
{
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_get_uint (&u.data, "head", head, KH_EWRONGTYPE, why)
          || s_get_bool (&u.data, "recorder", recorder, why) ? -1 : 0;
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_beat_encode (msgpack_sbuffer *out, uint64_t head, uint64_t at)
{
    return s_encode_pair (out, "head", head, "at", at);
}

int
kh_beat_decode (const void *data, size_t size, uint64_t *head, uint64_t *at,
                kh_problem_t *why)
{
    msgpack_unpacked u;
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_get_uint (&u.data, "head", head, KH_EWRONGTYPE, why)
          || s_get_uint (&u.data, "at", at, KH_EWRONGTYPE, why) ? -1 : 0;
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_hello_encode (msgpack_sbuffer *out, uint64_t head)
{
    return s_encode_pair (out, "v", KH_FORMAT_VERSION, "head", head);
}

int
kh_hello_decode (const void *data, size_t size, uint64_t *head, kh_problem_t *why)
{
    msgpack_unpacked u;
    uint64_t version = 0;
    int rc = s_unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_get_uint (&u.data, "v", &version, KH_EWRONGTYPE, why)
          || s_get_uint (&u.data, "head", head, KH_EWRONGTYPE, why) ? -1 : 0;
    if (rc == 0 && version != KH_FORMAT_VERSION)
        rc = kh_problem (why, KH_EVERSION, "hello: recorder speaks version %llu",
                         (unsigned long long) version);
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ------------------------------------------------------------------ topics */

int
kh_topic_format (char *buf, size_t cap, const char *type, const char *from)
{
    int n = snprintf (buf, cap, "%s/%s/", type, from);
    return n < 0 || (size_t) n >= cap ? -1 : n;
}
