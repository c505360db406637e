/*  kh_builder.c - builds an envelope one body field at a time, and validates it as
    the hub will before handing out its bytes.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "kh_mpio.h"
#include "kh_schema.h"

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

/* Returns the index of the field named by the len bytes at field, or -1 with why
   set if the builder's type has no such field. */
static int
s_builder_field (kh_builder_t *self, const char *field, size_t len, kh_problem_t *why)
{
    int index = kh__schema_field (self->type, field, len);
    if (index < 0)
        return kh_problem (why, KH_EUNKNOWNFIELD, "%.*s: not a field of %s",
                           len > 64 ? 64 : (int) len, field, self->type->name);
    return index;
}

/* Makes the packed bytes in *value the field's value, in place of what it held; the
   builder owns them now, and *value is left empty. */
static void
s_builder_take (kh_builder_t *self, int index, msgpack_sbuffer *value)
{
    msgpack_sbuffer_destroy (&self->value [index]);
    self->value [index] = *value;
    msgpack_sbuffer_init (value);
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
    int index = s_builder_field (self, field, strlen (field), why);
    if (index < 0)
        return -1;
    msgpack_sbuffer value;
    msgpack_sbuffer_init (&value);
    int rc = s_pack_text (&self->type->fields [index], text, &value, why);
    if (rc == 0)
        s_builder_take (self, index, &value);
    msgpack_sbuffer_destroy (&value);
    return rc;
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
    int index = s_builder_field (self, field, field_len, why);
    if (index < 0)
        return -1;
    msgpack_sbuffer copy;
    msgpack_sbuffer_init (&copy);
    int rc = kh__write (&copy, (const char *) value, size);
    if (rc == 0)
        s_builder_take (self, index, &copy);
    msgpack_sbuffer_destroy (&copy);
    return rc ? kh_problem (why, KH_ENOMEM, "builder: out of memory") : 0;
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
