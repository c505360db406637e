/*  kh_query.c - the filters that queries share (PROTOCOL.md sections 5 and 14): lists
    of types, senders and stages, a sender given as an AGS or a region prefix, a
    search's words; how each is added, matched, packed and read strictly.

    A filter list is a str (one value) or an array of 1..KH_FILTER_MAX strs on the
    wire; in C it is a fixed array of NUL-terminated values and a count. Every query
    decoder reads its lists through kh__read_list, so that a list is judged the same
    way wherever it appears.
*/
#include <assert.h>
#include <string.h>
#include "kh_mpio.h"
#include "kh_query.h"
#include "kh_schema.h"

/* ------------------------------------------------------------- one value */

/* True if the len bytes at text are a sender filter: an AGS (8 digits) or a
   Kreisschluessel (5), or 1..8 digits followed by '*' (a region prefix). */
bool
kh__sender_valid (const char *text, size_t len)
{
    if (len >= 2 && len <= KH_AGS_MAX + 1 && text [len - 1] == '*') {
        for (size_t i = 0; i + 1 < len; i++)
            if (text [i] < '0' || text [i] > '9')
                return false;
        return true;
    }
    return kh_ags_valid (text, len);
}

/* True if the sender filter matches the AGS ags: equal, or a prefix filter whose
   digits begin it. */
bool
kh__sender_match (const char *filter, const char *ags)
{
    size_t len = strlen (filter);
    if (len > 0 && filter [len - 1] == '*')
        return strncmp (filter, ags, len - 1) == 0;
    return strcmp (filter, ags) == 0;
}

/* True if the len bytes at text are a message type of section 4. */
static bool
s_type_valid (const char *text, size_t len)
{
    return kh__schema_type (text, len) != NULL;
}

/* True if the len bytes at text are an item type (idea, offer, request,
   announcement). */
static bool
s_item_type_valid (const char *text, size_t len)
{
    const kh_msgtype_t *type = kh__schema_type (text, len);
    return type && type->item;
}

/* The lifecycle's stages (PROTOCOL.md section 13), in order. */
static const char *const s_stages [] = {
    "proposed", "discussion", "decided", "pilot", "rollout", "done", "withdrawn"
};
#define S_STAGES (sizeof s_stages / sizeof s_stages [0])

/* True if the len bytes at text name a stage of the lifecycle. */
static bool
s_stage_valid (const char *text, size_t len)
{
    for (size_t i = 0; i < S_STAGES; i++)
        if (strlen (s_stages [i]) == len && memcmp (s_stages [i], text, len) == 0)
            return true;
    return false;
}

/* Judges one value of a list of kind. */
static bool
s_valid (kh_list_kind_t kind, const char *text, size_t len)
{
    switch (kind) {
        case KH_LIST_TYPES:      return s_type_valid (text, len);
        case KH_LIST_ITEM_TYPES: return s_item_type_valid (text, len);
        case KH_LIST_SENDERS:    return kh__sender_valid (text, len);
        case KH_LIST_STAGES:     return s_stage_valid (text, len);
    }
    return false;
}

/* What a value of kind must be, for a reason. */
static const char *
s_expected (kh_list_kind_t kind)
{
    switch (kind) {
        case KH_LIST_TYPES:      return "a message type";
        case KH_LIST_ITEM_TYPES: return "an item type (idea, offer, request, announcement)";
        case KH_LIST_SENDERS:    return "an AGS, or digits and '*' (a region)";
        case KH_LIST_STAGES:     return "a lifecycle stage";
    }
    return "?";
}

/* ------------------------------------------------------------- lists */

/* Adds value to the list values (count of them, each width bytes) if valid for
   kind and not held already (a repeat is no error: it changes nothing). Returns 0,
   or -1 with why set (QUERY). */
int
kh__list_add (kh_list_kind_t kind, const char *key, char *values, size_t width,
              size_t *count, const char *value, size_t len, kh_problem_t *why)
{
    assert (values && count && value);
    if (len == 0 || len >= width || !s_valid (kind, value, len))
        return kh_problem (why, KH_EQUERY, "%s: expected %s", key, s_expected (kind));
    for (size_t i = 0; i < *count; i++) {
        const char *held = values + i * width;
        if (strlen (held) == len && memcmp (held, value, len) == 0)
            return 0;
    }
    if (*count >= KH_FILTER_MAX)
        return kh_problem (why, KH_EQUERY, "%s: at most %d values", key, KH_FILTER_MAX);
    memcpy (values + *count * width, value, len);
    values [*count * width + len] = 0;
    (*count)++;
    return 0;
}

/* True if the list (count values, each width bytes) holds value, or is empty. */
bool
kh__list_wants (const char *values, size_t width, size_t count, const char *value)
{
    if (count == 0)
        return true;
    for (size_t i = 0; i < count; i++)
        if (strcmp (values + i * width, value) == 0)
            return true;
    return false;
}

int
kh__read_list (const msgpack_object *map, const char *key, kh_list_kind_t kind,
               char *values, size_t width, size_t *count, kh_problem_t *why)
{
    *count = 0;
    const msgpack_object *o = kh__get (map, key);
    if (!o)
        return 0;
    if (o->type == MSGPACK_OBJECT_STR)
        return kh__list_add (kind, key, values, width, count, o->via.str.ptr,
                             o->via.str.size, why);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0
    ||  o->via.array.size > KH_FILTER_MAX)
        return kh_problem (why, KH_EQUERY, "%s: a str or an array of 1..%d strs", key,
                           KH_FILTER_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *v = &o->via.array.ptr [i];
        if (v->type != MSGPACK_OBJECT_STR)
            return kh_problem (why, KH_EQUERY, "%s: expected %s", key, s_expected (kind));
        if (kh__list_add (kind, key, values, width, count, v->via.str.ptr, v->via.str.size,
                          why))
            return -1;
    }
    return 0;
}

int
kh__pack_list (msgpack_packer *pk, const char *key, const char *values, size_t width,
               size_t count)
{
    if (count == 0)
        return 0;
    if (kh__pack_cstr (pk, key))
        return -1;
    if (count == 1)
        return kh__pack_cstr (pk, values);
    if (msgpack_pack_array (pk, (uint32_t) count))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (kh__pack_cstr (pk, values + i * width))
            return -1;
    return 0;
}

/* ------------------------------------------------------------- texts */

int
kh__read_text (const msgpack_object *map, const char *key, size_t max, bool word,
               char *out, size_t cap, kh_problem_t *why)
{
    out [0] = 0;
    const msgpack_object *o = kh__get (map, key);
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR || !kh_utf8_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EQUERY, "%s: expected a str of UTF-8", key);
    const uint8_t *p = (const uint8_t *) o->via.str.ptr;
    size_t chars = 0, words = 0;
    bool in_word = false;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        if (p [i] < 0x20 || p [i] == 0x7f || (p [i] == 0xc2 && i + 1 < o->via.str.size
                                              && p [i + 1] <= 0x9f))
            return kh_problem (why, KH_EQUERY, "%s: holds a control character", key);
        chars += (p [i] & 0xc0) != 0x80;
        bool blank = p [i] == ' ';
        words += !blank && !in_word;
        in_word = !blank;
    }
    if (chars == 0 || (word && words == 0) || chars > max || o->via.str.size >= cap)
        return kh_problem (why, KH_EQUERY, "%s: 1..%zu characters%s", key, max,
                           word ? " holding a word" : "");
    kh__copy_str (o, out, cap);
    return 0;
}

int
kh__read_search (const msgpack_object *map, const char *key, char *out, size_t cap,
                 kh_problem_t *why)
{
    return kh__read_text (map, key, KH_SEARCH_MAX, true, out, cap, why);
}

/* ------------------------------------------------------------- strict maps */

int
kh__query_decode (const void *data, size_t size, kh__query_read_fn *read, void *query,
                  size_t query_size, kh_problem_t *why)
{
    assert (read && query);
    memset (query, 0, query_size);
    if (size > KH_ENVELOPE_MAX)
        return kh_problem (why, KH_ETOOLARGE, "query of %zu bytes, at most %d allowed", size,
                           KH_ENVELOPE_MAX);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = read (&u.data, query, why);
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* Every key of the map is one of keys (at most KH__QUERY_KEYS, NULL-terminated), and
   none is given twice. */
static int
s_keys_known (const msgpack_object *map, const char *const keys [], kh_problem_t *why)
{
    bool seen [KH__QUERY_KEYS] = { false };
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        size_t k = 0;
        while (keys [k] && !kh__key_is (key, keys [k]))
            k++;
        assert (k < KH__QUERY_KEYS);
        if (!keys [k])
            return kh_problem (why, KH_EQUERY, "query: unknown key");
        if (seen [k])
            return kh_problem (why, KH_EQUERY, "%s: given twice", keys [k]);
        seen [k] = true;
    }
    return 0;
}

int
kh__query_head (const msgpack_object *map, const char *const keys [], uint64_t *req,
                kh_problem_t *why)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EQUERY, "query: expected a map");
    const msgpack_object *once = kh__get_once (map, "req");
    if (once && once->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *req = once->via.u64;
    if (s_keys_known (map, keys, why)
    ||  kh__get_uint (map, "req", req, KH_EQUERY, why))
        return -1;
    if (*req == 0)
        return kh_problem (why, KH_EQUERY, "req: required and > 0");
    return 0;
}

int
kh__read_ref (const msgpack_object *map, const char *key, bool *has,
              uint8_t id [KH_ID_SIZE], kh_problem_t *why)
{
    const msgpack_object *o = kh__get (map, key);
    *has = o != NULL;
    if (!o)
        return 0;
    static const uint8_t zero [KH_ID_SIZE] = { 0 };
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != KH_ID_SIZE
    ||  memcmp (o->via.bin.ptr, zero, KH_ID_SIZE) == 0)
        return kh_problem (why, KH_EQUERY, "%s: expected an id (bin of 16 bytes)", key);
    memcpy (id, o->via.bin.ptr, KH_ID_SIZE);
    return 0;
}

int
kh__pack_bound (msgpack_packer *pk, const char *key, uint64_t value)
{
    return value ? kh__pack_kv_uint (pk, key, value) : 0;
}

int
kh__pack_filter (msgpack_packer *pk, const char *key, const char *text)
{
    if (!text [0])
        return 0;
    return kh__pack_cstr (pk, key) || kh__pack_cstr (pk, text) ? -1 : 0;
}

/* ------------------------------------------------------------- the API */

int
kh_query_add_type (kh_query_t *query, const char *type, kh_problem_t *why)
{
    if (!query || !type)
        return kh_problem (why, KH_EINVAL, "query: missing argument");
    return kh__list_add (KH_LIST_TYPES, "type", &query->type [0][0], sizeof query->type [0],
                         &query->type_count, type, strlen (type), why);
}

int
kh_query_add_from (kh_query_t *query, const char *from, kh_problem_t *why)
{
    if (!query || !from)
        return kh_problem (why, KH_EINVAL, "query: missing argument");
    return kh__list_add (KH_LIST_SENDERS, "from", &query->from [0][0], sizeof query->from [0],
                         &query->from_count, from, strlen (from), why);
}

bool
kh_query_wants_type (const kh_query_t *query, const char *type)
{
    if (!query || !type)
        return false;
    return kh__list_wants (&query->type [0][0], sizeof query->type [0], query->type_count,
                           type);
}

bool
kh_query_wants_from (const kh_query_t *query, const char *from)
{
    if (!query || !from)
        return false;
    if (query->from_count == 0)
        return true;
    for (size_t i = 0; i < query->from_count; i++)
        if (kh__sender_match (query->from [i], from))
            return true;
    return false;
}
