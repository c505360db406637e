/*  kh_link.c - the broker<->recorder frames of kh_link.h: STORED, HELLO and the audit
    record (with the from an audited publish claimed). */
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include "kh_link.h"
#include "kh_mpio.h"

int
kh_stored_encode (msgpack_sbuffer *out, const kh_seqinfo_t *info, bool dup)
{
    assert (out);
    assert (info);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 6)
    ||  kh__pack_seqinfo (&pk, info)
    ||  kh__pack_cstr (&pk, "dup") || kh__pack_bool (&pk, dup))
        return kh__undo (out, start);
    return 0;
}

int
kh_stored_decode (const void *data, size_t size, kh_seqinfo_t *info, bool *dup,
                  kh_problem_t *why)
{
    assert (info);
    assert (dup);
    msgpack_unpacked u;
    memset (info, 0, sizeof *info);
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__read_seqinfo (&u.data, info, why);
    if (rc == 0)
        rc = kh__get_bool (&u.data, "dup", dup, why);
    kh__unpacked_release (&u);
    return rc;
}

int
kh_hello_encode (msgpack_sbuffer *out, uint64_t head)
{
    assert (out);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 2)
    ||  kh__pack_kv_uint (&pk, "v", KH_FORMAT_VERSION)
    ||  kh__pack_kv_uint (&pk, "head", head))
        return kh__undo (out, start);
    return 0;
}

int
kh_hello_decode (const void *data, size_t size, uint64_t *head, kh_problem_t *why)
{
    assert (head);
    msgpack_unpacked u;
    uint64_t version = 0;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__get_uint (&u.data, "v", &version, KH_EWRONGTYPE, why)
          || kh__get_uint (&u.data, "head", head, KH_EWRONGTYPE, why) ? -1 : 0;
    if (rc == 0 && version != KH_FORMAT_VERSION)
        rc = kh_problem (why, KH_EVERSION, "hello: recorder speaks version %llu",
                         (unsigned long long) version);
    kh__unpacked_release (&u);
    return rc;
}

/* ------------------------------------------------------------------ audit */

/* The texts of an audit record: its key on the wire, where it lives in the record
   and how many bytes (with the NUL) that field holds. */
typedef struct {
    const char *key;
    size_t      offset;
    size_t      cap;
} s_audit_text_t;

#define S_TEXT(field) { #field, offsetof (kh_audit_t, field), \
                        sizeof (((kh_audit_t *) 0)->field) }
static const s_audit_text_t s_audit_texts [] = {
    S_TEXT (endpoint), S_TEXT (command), S_TEXT (peer), S_TEXT (claimed), S_TEXT (ags),
    S_TEXT (role), S_TEXT (key), S_TEXT (reason)
};
#define S_AUDIT_TEXTS (sizeof s_audit_texts / sizeof s_audit_texts [0])

int
kh_audit_encode (msgpack_sbuffer *out, const kh_audit_t *rec)
{
    assert (out);
    assert (rec);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 4 + S_AUDIT_TEXTS)
    ||  kh__pack_kv_uint (&pk, "seq", rec->seq)
    ||  kh__pack_kv_uint (&pk, "at", rec->at)
    ||  kh__pack_kv_uint (&pk, "code", rec->code > 0 ? (uint64_t) rec->code : 0)
    ||  kh__pack_kv_uint (&pk, "size", rec->size))
        return kh__undo (out, start);
    for (size_t i = 0; i < S_AUDIT_TEXTS; i++) {
        const char *text = (const char *) rec + s_audit_texts [i].offset;
        if (kh__pack_cstr (&pk, s_audit_texts [i].key) || kh__pack_cstr (&pk, text))
            return kh__undo (out, start);
    }
    return 0;
}

/* Reads the text under t's key of map into its field of rec ("" if absent).
   Returns 0, or -1 with why set: not a str, not UTF-8, a NUL or too long. */
static int
s_audit_text (const msgpack_object *map, const s_audit_text_t *t, kh_audit_t *rec,
              kh_problem_t *why)
{
    char *field = (char *) rec + t->offset;
    const msgpack_object *o = kh__get (map, t->key);
    field [0] = 0;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR)
        return kh_problem (why, KH_EWRONGTYPE, "audit %s: expected a str", t->key);
    if (!kh_utf8_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EUTF8, "audit %s: not UTF-8", t->key);
    if (o->via.str.size >= t->cap || memchr (o->via.str.ptr, 0, o->via.str.size))
        return kh_problem (why, KH_ERANGE, "audit %s: longer than %zu bytes", t->key,
                           t->cap - 1);
    kh__copy_str (o, field, t->cap);
    return 0;
}

int
kh__audit_read (const msgpack_object *map, kh_audit_t *rec, kh_problem_t *why)
{
    assert (rec);
    memset (rec, 0, sizeof *rec);
    uint64_t code, size;
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "audit: expected a map");
    if (!kh__get (map, "at") || !kh__get (map, "code"))
        return kh_problem (why, KH_EMISSING, "audit: at and code are required");
    if (kh__get_uint (map, "seq", &rec->seq, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "at", &rec->at, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "code", &code, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "size", &size, KH_EWRONGTYPE, why))
        return -1;
    if (code > 0x7fff || size > UINT32_MAX)
        return kh_problem (why, KH_ERANGE, "audit: code or size out of range");
    rec->code = (int) code;
    rec->size = (uint32_t) size;
    for (size_t i = 0; i < S_AUDIT_TEXTS; i++)
        if (s_audit_text (map, &s_audit_texts [i], rec, why))
            return -1;
    return 0;
}

int
kh_audit_decode (const void *data, size_t size, kh_audit_t *rec, kh_problem_t *why)
{
    assert (rec);
    memset (rec, 0, sizeof *rec);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__audit_read (&u.data, rec, why);
    kh__unpacked_release (&u);
    return rc;
}

void
kh_audit_claimed (const void *data, size_t size, char from [KH_AGS_MAX + 1])
{
    from [0] = 0;
    if (size > KH_ENVELOPE_MAX)
        return;
    msgpack_unpacked u;
    if (kh__unpack (data, size, &u, NULL) == 0) {
        const msgpack_object *o = kh__get_once (&u.data, "from");
        if (o && o->type == MSGPACK_OBJECT_STR
        &&  kh_ags_valid (o->via.str.ptr, o->via.str.size))
            kh__copy_str (o, from, KH_AGS_MAX + 1);
    }
    kh__unpacked_release (&u);
}

size_t
kh_utf8_line (char *dst, size_t cap, const void *src, size_t len)
{
    assert (dst && cap > 0);
    const uint8_t *p = (const uint8_t *) src;
    size_t n = 0;
    for (size_t i = 0; i < len; ) {
        size_t seq = kh_utf8_seq (p + i, len - i);
        bool plain = seq == 1 && p [i] >= 0x20 && p [i] != 0x7f;
        size_t take = seq > 1 ? seq : 1;
        if (n + take >= cap)
            break;
        if (seq > 1)
            memcpy (dst + n, p + i, seq);
        else
            dst [n] = plain ? (char) p [i] : '?';
        n += take;
        i += seq ? seq : 1;
    }
    dst [n] = 0;
    return n;
}
