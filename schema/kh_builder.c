/*  kh_builder.c - builds an envelope one body field at a time, and validates it as
    the hub will before handing out its bytes.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "kh_mpio.h"
#include "kh_schema.h"

/*  A field's packed value is kept per field of the type. A revise's fields map is
    kept twice: as the field's value (the map, packed), and per item field as set
    one at a time ("fields.NAME"), from which the map is packed again at each set;
    setting the map whole forgets those. */
struct kh_builder {
    const kh_msgtype_t *type;                   /* what is being built */
    msgpack_sbuffer     value [KH_FIELDS_MAX];  /* packed value per field; size 0: unset */
    msgpack_sbuffer     item [KH_FIELDS_MAX];   /* per item field, for "fields.NAME" */
    msgpack_sbuffer     encoded;                /* the last envelope kh_builder_encode made */
};

/* Where a value given by name goes: a field of the type, or an item field inside
   that field's map ("fields.NAME"). */
typedef struct {
    int               index;                    /* the type's field */
    int               sub;                      /* the item field, or -1 */
    const kh_field_t *field;                    /* the entry the value is checked by */
} s_where_t;

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
    for (size_t i = 0; i < KH_FIELDS_MAX; i++) {
        msgpack_sbuffer_init (&self->value [i]);
        msgpack_sbuffer_init (&self->item [i]);
    }
    msgpack_sbuffer_init (&self->encoded);
    return self;
}

void
kh_builder_destroy (kh_builder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_builder_t *self = *self_p;
    for (size_t i = 0; i < KH_FIELDS_MAX; i++) {
        msgpack_sbuffer_destroy (&self->value [i]);
        msgpack_sbuffer_destroy (&self->item [i]);
    }
    msgpack_sbuffer_destroy (&self->encoded);
    free (self);
    *self_p = NULL;
}

/* Finds where the value named by the len bytes at name goes: a field of the
   builder's type, or "MAP.NAME", an item field in the type's fields map MAP.
   Returns 0 with *where set, or -1 with why set if there is no such field. */
static int
s_builder_where (kh_builder_t *self, const char *name, size_t len, s_where_t *where,
                 kh_problem_t *why)
{
    const char *dot = len ? (const char *) memchr (name, '.', len) : NULL;  /* "" may be NULL */
    size_t head = dot ? (size_t) (dot - name) : len;
    where->index = kh__schema_field (self->type, name, head);
    where->sub = -1;
    if (where->index < 0 || (dot && self->type->fields [where->index].kind != KH_KIND_FIELDS))
        return kh_problem (why, KH_EUNKNOWNFIELD, "%.*s: not a field of %s",
                           len > 64 ? 64 : (int) len, name, self->type->name);
    where->field = &self->type->fields [where->index];
    if (!dot)
        return 0;
    where->sub = kh__schema_item_field (dot + 1, len - head - 1);
    if (where->sub < 0)
        return kh_problem (why, KH_EUNKNOWNFIELD, "%.*s: not a field of an item",
                           len > 64 ? 64 : (int) len, name);
    where->field = kh__schema_item_field_at ((size_t) where->sub);
    return 0;
}

/* Packs the fields map of the item fields set one at a time into map, with value in
   place of item field sub's. Returns 0, or -1 at the first write that fails. */
static int
s_pack_item_map (kh_builder_t *self, int sub, const msgpack_sbuffer *value,
                 msgpack_sbuffer *map)
{
    uint32_t count = 0;
    for (int i = 0; i < KH_FIELDS_MAX; i++)
        count += (i == sub ? value : &self->item [i])->size > 0;
    msgpack_packer pk;
    kh__packer_init (&pk, map);
    if (msgpack_pack_map (&pk, count))
        return -1;
    for (int i = 0; i < KH_FIELDS_MAX; i++) {
        const msgpack_sbuffer *v = i == sub ? value : &self->item [i];
        if (v->size > 0
        &&  (kh__pack_cstr (&pk, kh__schema_item_field_at ((size_t) i)->name)
         ||  kh__write (map, v->data, v->size)))
            return -1;
    }
    return 0;
}

/* Makes the packed bytes in *value the value where says, in place of what it held;
   the builder owns them now, and *value is left empty. A map set whole forgets its
   fields set one at a time. Returns 0, or -1 with why set if memory runs out (the
   builder as it was). */
static int
s_builder_take (kh_builder_t *self, const s_where_t *where, msgpack_sbuffer *value,
                kh_problem_t *why)
{
    msgpack_sbuffer map;
    msgpack_sbuffer_init (&map);
    if (where->sub >= 0 && s_pack_item_map (self, where->sub, value, &map)) {
        msgpack_sbuffer_destroy (&map);
        return kh_problem (why, KH_ENOMEM, "builder: out of memory");
    }
    msgpack_sbuffer *slot = &self->value [where->index];
    if (where->sub >= 0) {
        msgpack_sbuffer_destroy (&self->item [where->sub]);
        self->item [where->sub] = *value;
        msgpack_sbuffer_init (value);
        value = &map;
    }
    else
    if (where->field->kind == KH_KIND_FIELDS)
        for (int i = 0; i < KH_FIELDS_MAX; i++)
            msgpack_sbuffer_clear (&self->item [i]);
    msgpack_sbuffer_destroy (slot);
    *slot = *value;
    msgpack_sbuffer_init (value);
    msgpack_sbuffer_destroy (&map);
    return 0;
}

/* Packs text as a list, split at commas, blanks around items trimmed, empties
   dropped. Returns 0, or -1 at the first write that fails. */
static int
s_pack_list (msgpack_packer *pk, const char *text)
{
    uint32_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *p = text;
        if (pass == 1 && msgpack_pack_array (pk, count))
            return -1;
        while (*p) {
            const char *end = strchr (p, ',');
            if (!end)
                end = p + strlen (p);
            const char *a = p, *b = end;
            while (a < b && (*a == ' ' || *a == '\t')) a++;
            while (b > a && (b [-1] == ' ' || b [-1] == '\t')) b--;
            if (b > a && pass == 0)
                count++;
            else
            if (b > a && (msgpack_pack_str (pk, (size_t) (b - a))
                      ||  msgpack_pack_str_body (pk, a, (size_t) (b - a))))
                return -1;
            p = *end ? end + 1 : end;
        }
    }
    return 0;
}

/* Packs text into value as field f wants it: a number, a list or a string. Returns
   0, or -1 with why set (not a number; out of memory). */
static int
s_pack_text (const kh_field_t *f, const char *text, msgpack_sbuffer *value,
             kh_problem_t *why)
{
    msgpack_packer pk;
    kh__packer_init (&pk, value);
    int rc;
    switch (f->kind) {
        case KH_KIND_UINT: {
            uint64_t number;
            if (kh_uint_parse (text, UINT64_MAX, &number))
                return kh_problem (why, KH_EWRONGTYPE, "%s: '%s' is not a whole number",
                                   f->name, text);
            rc = msgpack_pack_uint64 (&pk, number);
            break;
        }
        case KH_KIND_STRLIST:
        case KH_KIND_AGSLIST:
            rc = s_pack_list (&pk, text);
            break;
        case KH_KIND_REF: {
            uint8_t id [KH_ID_SIZE];
            if (kh_id_parse (text, id))
                return kh_problem (why, KH_EWRONGTYPE, "%s: '%.40s' is not an id "
                                   "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", f->name, text);
            rc = kh__pack_bin (&pk, id, KH_ID_SIZE);
            break;
        }
        case KH_KIND_FIELDS:
            return kh_problem (why, KH_EWRONGTYPE, "%s: give each changed field as "
                               "%s.NAME", f->name, f->name);
        default:
            rc = kh__pack_cstr (&pk, text);
            break;
    }
    return rc ? kh_problem (why, KH_ENOMEM, "builder: out of memory") : 0;
}

int
kh_builder_set (kh_builder_t *self, const char *field, const char *text, kh_problem_t *why)
{
    if (!self || !field || !text)
        return kh_problem (why, KH_EINVAL, "builder: missing argument");
    s_where_t where;
    if (s_builder_where (self, field, strlen (field), &where, why))
        return -1;
    msgpack_sbuffer value;
    msgpack_sbuffer_init (&value);
    int rc = s_pack_text (where.field, text, &value, why);
    if (rc == 0)
        rc = s_builder_take (self, &where, &value, why);
    msgpack_sbuffer_destroy (&value);
    return rc;
}

/* Packs into out the size bytes at value, one msgpack object, as field f takes it:
   as they are, but a str holding an id's text for a ref (JSON has no bin). Returns
   0, or -1 if memory runs out. */
static int
s_pack_given (const kh_field_t *f, const void *value, size_t size, msgpack_sbuffer *out)
{
    uint8_t id [KH_ID_SIZE];
    char text [KH_ID_STR_SIZE + 1] = "";
    if (f->kind == KH_KIND_REF) {
        msgpack_unpacked u;
        if (kh__unpack (value, size, &u, NULL) == 0 && u.data.type == MSGPACK_OBJECT_STR
        &&  u.data.via.str.size < sizeof text)
            memcpy (text, u.data.via.str.ptr, u.data.via.str.size);
        kh__unpacked_release (&u);
    }
    if (*text && kh_id_parse (text, id) == 0) {
        msgpack_packer pk;
        kh__packer_init (&pk, out);
        return kh__pack_bin (&pk, id, KH_ID_SIZE);
    }
    return kh__write (out, (const char *) value, size);
}

int
kh_builder_set_msgpack (kh_builder_t *self, const char *field, size_t field_len,
                        const void *value, size_t size, kh_problem_t *why)
{
    assert (self);
    assert (field || field_len == 0);
    assert (value || size == 0);
    if (kh_mp_scan (value, size, why))
        return -1;
    s_where_t where;
    if (s_builder_where (self, field, field_len, &where, why))
        return -1;
    msgpack_sbuffer copy;
    msgpack_sbuffer_init (&copy);
    int rc = s_pack_given (where.field, value, size, &copy)
           ? kh_problem (why, KH_ENOMEM, "builder: out of memory")
           : s_builder_take (self, &where, &copy, why);
    msgpack_sbuffer_destroy (&copy);
    return rc;
}

int
kh_builder_encode (kh_builder_t *self, const uint8_t id [KH_ID_SIZE], const char *from,
                   uint64_t ts, kh_problem_t *why)
{
    if (!self || !id || !from)
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

/* Packs the envelope's keys and the body fields set so far. Returns 0, or -1 at the
   first write that fails. */
static int
s_pack_envelope (kh_builder_t *self, const uint8_t id [KH_ID_SIZE], const char *from,
                 uint64_t ts, msgpack_sbuffer *out)
{
    uint32_t fields = 0;
    for (size_t i = 0; i < self->type->count; i++)
        fields += self->value [i].size > 0;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 6)
    ||  kh__pack_kv_uint (&pk, "v", KH_FORMAT_VERSION)
    ||  kh__pack_cstr (&pk, "id") || kh__pack_bin (&pk, id, KH_ID_SIZE)
    ||  kh__pack_cstr (&pk, "type") || kh__pack_cstr (&pk, self->type->name)
    ||  kh__pack_cstr (&pk, "from") || kh__pack_cstr (&pk, from)
    ||  kh__pack_kv_uint (&pk, "ts", ts)
    ||  kh__pack_cstr (&pk, "body") || msgpack_pack_map (&pk, fields))
        return -1;
    for (size_t i = 0; i < self->type->count; i++)
        if (self->value [i].size > 0
        &&  (kh__pack_cstr (&pk, self->type->fields [i].name)
         ||  kh__write (out, self->value [i].data, self->value [i].size)))
            return -1;
    return 0;
}

int
kh_builder_pack (kh_builder_t *self, const uint8_t id [KH_ID_SIZE], const char *from,
                 uint64_t ts, msgpack_sbuffer *out, kh_problem_t *why)
{
    assert (self);
    assert (id);
    assert (from);
    assert (out);
    size_t start = out->size;
    if (s_pack_envelope (self, id, from, ts, out)) {
        kh__undo (out, start);
        return kh_problem (why, KH_ENOMEM, "builder: out of memory");
    }
    return kh_envelope_check (out->data + start, out->size - start, NULL, NULL, why);
}
