/*  kh_reads.c - the catalogue, counts and counters on the wire (PROTOCOL.md section
    14): items queries and their ROWS of items, stats queries and their count, the
    COUNTERS request and answer, and an item's fields as text.

    The queries are read as strictly as a history query (kh_query.h: every key known
    and given once, req kept for the ERROR, every problem QUERY); the answers are
    read leniently (unknown keys ignored), as every reply is. An item's fields map
    and its participants are copied into storage the decoded page owns, since a
    msgpack object does not say where its bytes lie in the input.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_mpio.h"
#include "kh_query.h"

/* ------------------------------------------------------------ strict values */

/* Reads an optional bool of a query under key (absent: false). Returns 0, or -1 with
   why set (QUERY). */
static int
s_read_bool (const msgpack_object *map, const char *key, bool *value, kh_problem_t *why)
{
    const msgpack_object *o = kh__get (map, key);
    *value = false;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return kh_problem (why, KH_EQUERY, "%s: expected a bool", key);
    *value = o->via.boolean;
    return 0;
}

/* Reads the optional AGS of a query under key into out (absent: ""). */
static int
s_read_ags (const msgpack_object *map, const char *key, char out [KH_AGS_MAX + 1],
            kh_problem_t *why)
{
    out [0] = 0;
    const msgpack_object *o = kh__get (map, key);
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR || !kh_ags_valid (o->via.str.ptr, o->via.str.size))
        return kh_problem (why, KH_EQUERY, "%s: not an AGS", key);
    kh__copy_str (o, out, KH_AGS_MAX + 1);
    return 0;
}

/* The limit of a page as a query asks it: absent, 0 or too many is a full page. */
static uint32_t
s_limit (uint64_t limit)
{
    return limit == 0 || limit > KH_QUERY_PAGE_MAX ? KH_QUERY_PAGE_MAX : (uint32_t) limit;
}

/* ------------------------------------------------------------ items queries */

static const char *const s_items_keys [] = { "req", "id", "type", "from", "status", "hf",
                                             "topic", "participant", "open", "search",
                                             "before", "limit", NULL };

int
kh_items_query_encode (msgpack_sbuffer *out, const kh_items_query_t *q)
{
    assert (out);
    assert (q);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    uint32_t n = 1 + q->has_id + (q->type_count > 0) + (q->from_count > 0)
               + (q->status_count > 0) + (q->hf > 0) + (q->topic [0] != 0)
               + (q->participant [0] != 0) + q->open + (q->search [0] != 0)
               + (q->before > 0) + (q->limit > 0);
    if (msgpack_pack_map (&pk, n)
    ||  kh__pack_kv_uint (&pk, "req", q->req)
    ||  (q->has_id && (kh__pack_cstr (&pk, "id") || kh__pack_bin (&pk, q->id, KH_ID_SIZE)))
    ||  kh__pack_list (&pk, "type", &q->type [0][0], sizeof q->type [0], q->type_count)
    ||  kh__pack_list (&pk, "from", &q->from [0][0], sizeof q->from [0], q->from_count)
    ||  kh__pack_list (&pk, "status", &q->status [0][0], sizeof q->status [0],
                       q->status_count)
    ||  kh__pack_bound (&pk, "hf", q->hf)
    ||  kh__pack_filter (&pk, "topic", q->topic)
    ||  kh__pack_filter (&pk, "participant", q->participant)
    ||  (q->open && (kh__pack_cstr (&pk, "open") || kh__pack_bool (&pk, true)))
    ||  kh__pack_filter (&pk, "search", q->search)
    ||  kh__pack_bound (&pk, "before", q->before)
    ||  kh__pack_bound (&pk, "limit", q->limit))
        return kh__undo (out, start);
    return 0;
}

/* Checks an items query map strictly; every problem is QUERY. */
static int
s_read_items_query (const msgpack_object *map, void *query, kh_problem_t *why)
{
    kh_items_query_t *q = (kh_items_query_t *) query;
    uint64_t hf, limit;
    if (kh__query_head (map, s_items_keys, &q->req, why)
    ||  kh__read_ref (map, "id", &q->has_id, q->id, why)
    ||  kh__read_list (map, "type", KH_LIST_ITEM_TYPES, &q->type [0][0], sizeof q->type [0],
                       &q->type_count, why)
    ||  kh__read_list (map, "from", KH_LIST_SENDERS, &q->from [0][0], sizeof q->from [0],
                       &q->from_count, why)
    ||  kh__read_list (map, "status", KH_LIST_STAGES, &q->status [0][0],
                       sizeof q->status [0], &q->status_count, why)
    ||  kh__get_uint (map, "hf", &hf, KH_EQUERY, why)
    ||  kh__read_text (map, "topic", KH_TOPIC_CHARS, false, q->topic, sizeof q->topic,
                       why)
    ||  s_read_ags (map, "participant", q->participant, why)
    ||  s_read_bool (map, "open", &q->open, why)
    ||  kh__read_search (map, "search", q->search, sizeof q->search, why)
    ||  kh__get_uint (map, "before", &q->before, KH_EQUERY, why)
    ||  kh__get_uint (map, "limit", &limit, KH_EQUERY, why))
        return -1;
    if (kh__get (map, "hf") && (hf < 1 || hf > 5))
        return kh_problem (why, KH_EQUERY, "hf: expected a Handlungsfeld, 1..5");
    q->hf = (uint32_t) hf;
    q->limit = s_limit (limit);
    return 0;
}

int
kh_items_query_decode (const void *data, size_t size, kh_items_query_t *q,
                       kh_problem_t *why)
{
    assert (q);
    return kh__query_decode (data, size, s_read_items_query, q, sizeof *q, why);
}

/* ------------------------------------------------------------ item rows */

/* True if the size bytes at data are one well-formed msgpack map. */
static bool
s_is_map (const uint8_t *data, size_t size)
{
    if (!data || size == 0 || kh_mp_scan (data, size, NULL))
        return false;
    return (data [0] & 0xf0) == 0x80 || data [0] == 0xde || data [0] == 0xdf;
}

/* Packs the participants of item as an array of maps. */
static int
s_pack_participants (msgpack_packer *pk, const kh_item_t *item)
{
    if (msgpack_pack_array (pk, (uint32_t) item->participant_count))
        return -1;
    for (size_t i = 0; i < item->participant_count; i++) {
        const kh_participant_t *p = &item->participants [i];
        if (msgpack_pack_map (pk, 4)
        ||  kh__pack_cstr (pk, "ags") || kh__pack_cstr (pk, p->ags)
        ||  kh__pack_cstr (pk, "state") || kh__pack_cstr (pk, p->state)
        ||  kh__pack_kv_uint (pk, "since", p->since)
        ||  kh__pack_kv_uint (pk, "seq", p->seq))
            return -1;
    }
    return 0;
}

/* Packs an item's fields: its map as given, or an empty map if it holds none (or
   bytes that are not one map, which the store should never give). */
static int
s_pack_fields (msgpack_packer *pk, msgpack_sbuffer *out, const kh_item_t *item)
{
    if (kh__pack_cstr (pk, "fields"))
        return -1;
    if (!s_is_map (item->fields, item->fields_size))
        return msgpack_pack_map (pk, 0) ? -1 : 0;
    return kh__write (out, (const char *) item->fields, item->fields_size);
}

/* Encodes an item row (PROTOCOL.md section 14) onto out. */
static int
s_encode_item (msgpack_sbuffer *out, const void *row)
{
    const kh_item_t *item = (const kh_item_t *) row;
    assert (item->participants || item->participant_count == 0);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 18)
    ||  kh__pack_cstr (&pk, "id") || kh__pack_bin (&pk, item->id, KH_ID_SIZE)
    ||  kh__pack_kv_uint (&pk, "seq", item->seq)
    ||  kh__pack_cstr (&pk, "type") || kh__pack_cstr (&pk, item->type)
    ||  kh__pack_cstr (&pk, "from") || kh__pack_cstr (&pk, item->owner)
    ||  kh__pack_kv_uint (&pk, "ts", item->ts)
    ||  kh__pack_cstr (&pk, "status") || kh__pack_cstr (&pk, item->status)
    ||  kh__pack_kv_uint (&pk, "status_seq", item->status_seq)
    ||  kh__pack_kv_uint (&pk, "status_ts", item->status_ts)
    ||  kh__pack_cstr (&pk, "expired") || kh__pack_bool (&pk, item->expired)
    ||  kh__pack_kv_uint (&pk, "interested", item->interested)
    ||  kh__pack_kv_uint (&pk, "joined", item->joined)
    ||  kh__pack_kv_uint (&pk, "declined", item->declined)
    ||  kh__pack_kv_uint (&pk, "left", item->left)
    ||  kh__pack_kv_uint (&pk, "messages", item->messages)
    ||  kh__pack_kv_uint (&pk, "last_seq", item->last_seq)
    ||  kh__pack_kv_uint (&pk, "last_ts", item->last_ts)
    ||  s_pack_fields (&pk, out, item)
    ||  kh__pack_cstr (&pk, "participants") || s_pack_participants (&pk, item))
        return kh__undo (out, start);
    return 0;
}

int
kh_rows_writer_add_item (kh_rows_writer_t *self, const kh_item_t *item)
{
    assert (item);
    return kh__rows_writer_add_row (self, s_encode_item, item);
}

/* Copies the str under key of map into buf (cap bytes with its NUL); absent: "".
   Returns 0, or -1 with why set if it is no str (WRONG_TYPE) or does not fit
   (RANGE): a cut name would name something else. */
static int
s_get_str (const msgpack_object *map, const char *key, char *buf, size_t cap,
           kh_problem_t *why)
{
    buf [0] = 0;
    const msgpack_object *o = kh__get (map, key);
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a str", key);
    if (o->via.str.size >= cap)
        return kh_problem (why, KH_ERANGE, "%s: longer than %zu bytes", key, cap - 1);
    kh__copy_str (o, buf, cap);
    return 0;
}

/* Reads an optional uint under key that must fit 32 bits. */
static int
s_get_u32 (const msgpack_object *map, const char *key, uint32_t *value, kh_problem_t *why)
{
    uint64_t v;
    if (kh__get_uint (map, key, &v, KH_EWRONGTYPE, why))
        return -1;
    if (v > UINT32_MAX)
        return kh_problem (why, KH_ERANGE, "%s: above %u", key, UINT32_MAX);
    *value = (uint32_t) v;
    return 0;
}

/* Reads a participant's map into p. */
static int
s_read_participant (const msgpack_object *map, kh_participant_t *p, kh_problem_t *why)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "participants: expected maps");
    return s_get_str (map, "ags", p->ags, sizeof p->ags, why)
        || s_get_str (map, "state", p->state, sizeof p->state, why)
        || kh__get_uint (map, "since", &p->since, KH_EWRONGTYPE, why)
        || kh__get_uint (map, "seq", &p->seq, KH_EWRONGTYPE, why) ? -1 : 0;
}

/* Reads an item row's scalars into item (its views are set by the caller). */
static int
s_read_item (const msgpack_object *map, kh_item_t *item, kh_problem_t *why)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "item: expected a map");
    const msgpack_object *id = kh__get (map, "id");
    if (!id || id->type != MSGPACK_OBJECT_BIN || id->via.bin.size != KH_ID_SIZE)
        return kh_problem (why, KH_EMISSING, "id: required bin of 16 bytes missing");
    memcpy (item->id, id->via.bin.ptr, KH_ID_SIZE);
    if (s_get_str (map, "type", item->type, sizeof item->type, why)
    ||  s_get_str (map, "from", item->owner, sizeof item->owner, why)
    ||  s_get_str (map, "status", item->status, sizeof item->status, why)
    ||  kh__get_uint (map, "seq", &item->seq, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "ts", &item->ts, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "status_seq", &item->status_seq, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "status_ts", &item->status_ts, KH_EWRONGTYPE, why)
    ||  kh__get_bool (map, "expired", &item->expired, why)
    ||  s_get_u32 (map, "interested", &item->interested, why)
    ||  s_get_u32 (map, "joined", &item->joined, why)
    ||  s_get_u32 (map, "declined", &item->declined, why)
    ||  s_get_u32 (map, "left", &item->left, why)
    ||  kh__get_uint (map, "messages", &item->messages, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "last_seq", &item->last_seq, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "last_ts", &item->last_ts, KH_EWRONGTYPE, why))
        return -1;
    if (item->seq == 0)
        return kh_problem (why, KH_EMISSING, "seq: required and > 0");
    const msgpack_object *fields = kh__get (map, "fields");
    if (fields && fields->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "fields: expected a map");
    const msgpack_object *list = kh__get (map, "participants");
    if (list && list->type != MSGPACK_OBJECT_ARRAY)
        return kh_problem (why, KH_EWRONGTYPE, "participants: expected an array");
    item->participant_count = list ? list->via.array.size : 0;
    return 0;
}

/* What a decoded page of items owns: every row's participants, back to back, and
   every row's fields map, packed again back to back. */
typedef struct {
    kh_participant_t *participants;
    msgpack_sbuffer   fields;
} s_item_storage_t;

/* Frees a page's storage; safe on NULL. */
static void
s_storage_free (s_item_storage_t *storage)
{
    if (storage) {
        free (storage->participants);
        msgpack_sbuffer_destroy (&storage->fields);
        free (storage);
    }
}

/* Reads rows [i]'s participants and fields (the scalars read) into storage: the
   participants from *used on, the fields at the end of its buffer (their offset in
   offsets [i], since the buffer may move as it grows). */
static int
s_read_item_views (const msgpack_object *map, kh_item_t *item, s_item_storage_t *storage,
                   size_t *used, size_t *offset, kh_problem_t *why)
{
    const msgpack_object *list = kh__get (map, "participants");
    for (size_t k = 0; k < item->participant_count; k++)
        if (s_read_participant (&list->via.array.ptr [k],
                                &storage->participants [*used + k], why))
            return -1;
    *used += item->participant_count;
    const msgpack_object *fields = kh__get (map, "fields");
    msgpack_packer pk;
    kh__packer_init (&pk, &storage->fields);
    *offset = storage->fields.size;
    if (fields ? msgpack_pack_object (&pk, *fields) : msgpack_pack_map (&pk, 0))
        return kh_problem (why, KH_ENOMEM, "fields: out of memory");
    item->fields_size = storage->fields.size - *offset;
    return 0;
}

/* Reads the rows of list into rows->rows (allocated here), their views into a new
   storage. Returns 0, or -1 with why set (what was allocated stays in rows for
   kh_item_rows_release). */
static int
s_read_items (const msgpack_object *list, kh_item_rows_t *rows, kh_problem_t *why)
{
    uint32_t count = list->via.array.size;
    s_item_storage_t *storage = (s_item_storage_t *) calloc (1, sizeof *storage);
    rows->storage = storage;
    if (!storage)
        return kh_problem (why, KH_ENOMEM, "rows: out of memory");
    msgpack_sbuffer_init (&storage->fields);
    rows->rows = (kh_item_t *) calloc (count ? count : 1, sizeof (kh_item_t));
    size_t *offsets = (size_t *) calloc (count ? count : 1, sizeof (size_t));
    size_t total = 0, used = 0;
    int rc = rows->rows && offsets ? 0 : kh_problem (why, KH_ENOMEM, "rows: out of memory");
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = s_read_item (&list->via.array.ptr [i], &rows->rows [i], why);
        total += rc == 0 ? rows->rows [i].participant_count : 0;
    }
    if (rc == 0 && total > 0) {
        storage->participants = (kh_participant_t *) calloc (total, sizeof (kh_participant_t));
        rc = storage->participants ? 0 : kh_problem (why, KH_ENOMEM, "rows: out of memory");
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rows->rows [i].participants = total ? storage->participants + used : NULL;
        rc = s_read_item_views (&list->via.array.ptr [i], &rows->rows [i], storage, &used,
                                &offsets [i], why);
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++)
        rows->rows [i].fields = (const uint8_t *) storage->fields.data + offsets [i];
    if (rc == 0)
        rows->count = count;
    free (offsets);
    return rc;
}

int
kh_item_rows_decode (const void *data, size_t size, kh_item_rows_t *rows,
                     kh_problem_t *why)
{
    assert (rows);
    memset (rows, 0, sizeof *rows);
    msgpack_unpacked u;
    const msgpack_object *list = NULL;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__rows_head (&u.data, &rows->req, &rows->more, &rows->next, &list, why);
    if (rc == 0 && list->via.array.size > KH_QUERY_PAGE_MAX)
        rc = kh_problem (why, KH_ERANGE, "rows: more than %d in a page", KH_QUERY_PAGE_MAX);
    if (rc == 0)
        rc = s_read_items (list, rows, why);
    if (rc)
        kh_item_rows_release (rows);
    kh__unpacked_release (&u);
    return rc;
}

void
kh_item_rows_release (kh_item_rows_t *rows)
{
    if (rows) {
        free (rows->rows);
        s_storage_free ((s_item_storage_t *) rows->storage);
        rows->rows = NULL;
        rows->storage = NULL;
        rows->count = 0;
    }
}

/* ------------------------------------------------------------ an item's field */

/* Appends the len bytes at text to out (size bytes, *used of them held). Returns 0,
   or -1 if they do not fit: then as much as fits is kept, cut where a character
   begins. */
static int
s_append (char *out, size_t size, size_t *used, const char *text, size_t len)
{
    size_t room = size - 1 - *used;
    size_t take = len < room ? len : room;
    while (take < len && take > 0 && ((uint8_t) text [take] & 0xc0) == 0x80)
        take--;
    memcpy (out + *used, text, take);
    *used += take;
    out [*used] = 0;
    return take == len ? 0 : -1;
}

/* Appends one scalar of a field (str, integer, bool, an id) as text. Returns 0, or
   -1 if it does not fit or is of another kind. */
static int
s_append_value (const msgpack_object *o, char *out, size_t size, size_t *used)
{
    char text [KH_ID_STR_SIZE + 24];
    switch (o->type) {
        case MSGPACK_OBJECT_STR:
            return s_append (out, size, used, o->via.str.ptr, o->via.str.size);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            snprintf (text, sizeof text, "%llu", (unsigned long long) o->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            snprintf (text, sizeof text, "%lld", (long long) o->via.i64);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            snprintf (text, sizeof text, "%s", o->via.boolean ? "true" : "false");
            break;
        case MSGPACK_OBJECT_BIN:
            if (o->via.bin.size != KH_ID_SIZE)
                return -1;
            kh_id_format ((const uint8_t *) o->via.bin.ptr, text);
            break;
        default:
            return -1;
    }
    return s_append (out, size, used, text, strlen (text));
}

int
kh_item_field (const kh_item_t *item, const char *name, char *out, size_t size)
{
    if (!out || size == 0)
        return -1;
    out [0] = 0;
    if (!item || !name)
        return -1;
    if (!item->fields || item->fields_size == 0)
        return 0;
    msgpack_unpacked u;
    int rc = kh__unpack (item->fields, item->fields_size, &u, NULL);
    if (rc == 0 && u.data.type != MSGPACK_OBJECT_MAP)
        rc = -1;
    const msgpack_object *o = rc == 0 ? kh__get (&u.data, name) : NULL;
    size_t used = 0;
    if (o && o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; rc == 0 && i < o->via.array.size; i++)
            rc = (i > 0 && s_append (out, size, &used, ", ", 2))
              || s_append_value (&o->via.array.ptr [i], out, size, &used) ? -1 : 0;
    else
    if (o)
        rc = s_append_value (o, out, size, &used);
    kh__unpacked_release (&u);
    return rc;
}

/* ------------------------------------------------------------ stats queries */

static const char *const s_stats_keys [] = { "req", "by", "since_ts", "until_ts", "type",
                                             "from", NULL };

/* The groups a count may be made by; "" is the totals alone. */
static const char *const s_stats_by [] = { "", "municipality", "type", "month", "hf",
                                           "status", NULL };

int
kh_stats_query_encode (msgpack_sbuffer *out, const kh_stats_query_t *q)
{
    assert (out);
    assert (q);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    uint32_t n = 1 + (q->by [0] != 0) + (q->since_ts > 0) + (q->until_ts > 0)
               + (q->type_count > 0) + (q->from_count > 0);
    if (msgpack_pack_map (&pk, n)
    ||  kh__pack_kv_uint (&pk, "req", q->req)
    ||  kh__pack_filter (&pk, "by", q->by)
    ||  kh__pack_bound (&pk, "since_ts", q->since_ts)
    ||  kh__pack_bound (&pk, "until_ts", q->until_ts)
    ||  kh__pack_list (&pk, "type", &q->type [0][0], sizeof q->type [0], q->type_count)
    ||  kh__pack_list (&pk, "from", &q->from [0][0], sizeof q->from [0], q->from_count))
        return kh__undo (out, start);
    return 0;
}

/* Reads the optional "by" of a stats query: a str naming a grouping. */
static int
s_read_by (const msgpack_object *map, char by [KH_STAGE_MAX + 1], kh_problem_t *why)
{
    by [0] = 0;
    const msgpack_object *o = kh__get (map, "by");
    if (!o)
        return 0;
    for (size_t i = 0; o->type == MSGPACK_OBJECT_STR && s_stats_by [i]; i++)
        if (kh__key_is (o, s_stats_by [i])) {
            kh__copy_str (o, by, KH_STAGE_MAX + 1);
            return 0;
        }
    return kh_problem (why, KH_EQUERY, "by: expected municipality, type, month, hf or "
                       "status");
}

/* Checks a stats query map strictly; every problem is QUERY. */
static int
s_read_stats_query (const msgpack_object *map, void *query, kh_problem_t *why)
{
    kh_stats_query_t *q = (kh_stats_query_t *) query;
    return kh__query_head (map, s_stats_keys, &q->req, why)
        || s_read_by (map, q->by, why)
        || kh__get_uint (map, "since_ts", &q->since_ts, KH_EQUERY, why)
        || kh__get_uint (map, "until_ts", &q->until_ts, KH_EQUERY, why)
        || kh__read_list (map, "type", KH_LIST_TYPES, &q->type [0][0], sizeof q->type [0],
                          &q->type_count, why)
        || kh__read_list (map, "from", KH_LIST_SENDERS, &q->from [0][0],
                          sizeof q->from [0], &q->from_count, why) ? -1 : 0;
}

int
kh_stats_query_decode (const void *data, size_t size, kh_stats_query_t *q,
                       kh_problem_t *why)
{
    assert (q);
    return kh__query_decode (data, size, s_read_stats_query, q, sizeof *q, why);
}

/* ------------------------------------------------------------ stats replies */

int
kh_stats_reply_encode (msgpack_sbuffer *out, uint64_t req, const kh_stats_t *stats)
{
    assert (out);
    assert (stats);
    assert (stats->rows || stats->count == 0);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 8)
    ||  kh__pack_kv_uint (&pk, "req", req)
    ||  kh__pack_cstr (&pk, "more") || kh__pack_bool (&pk, stats->more)
    ||  kh__pack_kv_uint (&pk, "next", 0)
    ||  kh__pack_cstr (&pk, "rows") || msgpack_pack_array (&pk, (uint32_t) stats->count))
        return kh__undo (out, start);
    for (size_t i = 0; i < stats->count; i++)
        if (msgpack_pack_map (&pk, 3)
        ||  kh__pack_cstr (&pk, "key") || kh__pack_cstr (&pk, stats->rows [i].key)
        ||  kh__pack_kv_uint (&pk, "items", stats->rows [i].items)
        ||  kh__pack_kv_uint (&pk, "messages", stats->rows [i].messages))
            return kh__undo (out, start);
    if (kh__pack_kv_uint (&pk, "items", stats->items)
    ||  kh__pack_kv_uint (&pk, "messages", stats->messages)
    ||  kh__pack_kv_uint (&pk, "head", stats->head)
    ||  kh__pack_kv_uint (&pk, "store_bytes", stats->store_bytes))
        return kh__undo (out, start);
    return 0;
}

/* Reads a count's rows and totals from its unpacked reply into stats. */
static int
s_read_stats (const msgpack_object *map, uint64_t *req, kh_stats_t *stats,
              kh_problem_t *why)
{
    const msgpack_object *list;
    uint64_t next;
    if (kh__rows_head (map, req, &stats->more, &next, &list, why)
    ||  kh__get_uint (map, "items", &stats->items, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "messages", &stats->messages, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "head", &stats->head, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "store_bytes", &stats->store_bytes, KH_EWRONGTYPE, why))
        return -1;
    if (list->via.array.size > KH_QUERY_PAGE_MAX)
        return kh_problem (why, KH_ERANGE, "rows: more than %d groups", KH_QUERY_PAGE_MAX);
    if (list->via.array.size == 0)
        return 0;
    stats->rows = (kh_stats_row_t *) calloc (list->via.array.size, sizeof *stats->rows);
    if (!stats->rows)
        return kh_problem (why, KH_ENOMEM, "rows: out of memory");
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *row = &list->via.array.ptr [i];
        kh_stats_row_t *r = &stats->rows [i];
        if (row->type != MSGPACK_OBJECT_MAP)
            return kh_problem (why, KH_EWRONGTYPE, "rows: expected maps");
        if (s_get_str (row, "key", r->key, sizeof r->key, why)
        ||  kh__get_uint (row, "items", &r->items, KH_EWRONGTYPE, why)
        ||  kh__get_uint (row, "messages", &r->messages, KH_EWRONGTYPE, why))
            return -1;
        stats->count++;
    }
    return 0;
}

int
kh_stats_reply_decode (const void *data, size_t size, uint64_t *req, kh_stats_t **stats_p,
                       kh_problem_t *why)
{
    assert (req);
    assert (stats_p);
    *req = 0;
    *stats_p = NULL;
    kh_stats_t *stats = (kh_stats_t *) calloc (1, sizeof *stats);
    if (!stats)
        return kh_problem (why, KH_ENOMEM, "stats: out of memory");
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_read_stats (&u.data, req, stats, why);
    kh__unpacked_release (&u);
    if (rc)
        kh_stats_destroy (&stats);
    *stats_p = stats;
    return rc;
}

void
kh_stats_destroy (kh_stats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->rows);
    free (*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------ counters */

static const char *const s_counters_keys [] = { "req", NULL };

int
kh_counters_query_encode (msgpack_sbuffer *out, uint64_t req)
{
    assert (out);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 1) || kh__pack_kv_uint (&pk, "req", req))
        return kh__undo (out, start);
    return 0;
}

/* Reads a COUNTERS request's map: req and nothing else. */
static int
s_read_counters_query (const msgpack_object *map, void *req, kh_problem_t *why)
{
    return kh__query_head (map, s_counters_keys, (uint64_t *) req, why);
}

int
kh_counters_query_decode (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    assert (req);
    return kh__query_decode (data, size, s_read_counters_query, req, sizeof *req, why);
}

int
kh_counters_encode (msgpack_sbuffer *out, uint64_t req, const kh_counters_t *c)
{
    assert (out);
    assert (c);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 11)
    ||  kh__pack_kv_uint (&pk, "req", req)
    ||  kh__pack_kv_uint (&pk, "uptime_ms", c->uptime_ms)
    ||  kh__pack_kv_uint (&pk, "clients", c->clients)
    ||  kh__pack_kv_uint (&pk, "subscribers", c->subscribers)
    ||  kh__pack_cstr (&pk, "recorder") || kh__pack_bool (&pk, c->recorder_up)
    ||  kh__pack_kv_uint (&pk, "head", c->head)
    ||  kh__pack_kv_uint (&pk, "published", c->published)
    ||  kh__pack_kv_uint (&pk, "rate", c->rate)
    ||  kh__pack_kv_uint (&pk, "errors", c->errors)
    ||  kh__pack_kv_uint (&pk, "busy", c->busy)
    ||  kh__pack_kv_uint (&pk, "audit_dropped", c->audit_dropped))
        return kh__undo (out, start);
    return 0;
}

int
kh_counters_decode (const void *data, size_t size, uint64_t *req, kh_counters_t *c,
                    kh_problem_t *why)
{
    assert (req);
    assert (c);
    memset (c, 0, sizeof *c);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    const msgpack_object *map = &u.data;
    if (rc == 0 && map->type != MSGPACK_OBJECT_MAP)
        rc = kh_problem (why, KH_EWRONGTYPE, "counters: expected a map");
    if (rc == 0)
        rc = kh__get_uint (map, "req", req, KH_EWRONGTYPE, why)
          || kh__get_uint (map, "uptime_ms", &c->uptime_ms, KH_EWRONGTYPE, why)
          || s_get_u32 (map, "clients", &c->clients, why)
          || s_get_u32 (map, "subscribers", &c->subscribers, why)
          || kh__get_bool (map, "recorder", &c->recorder_up, why)
          || kh__get_uint (map, "head", &c->head, KH_EWRONGTYPE, why)
          || kh__get_uint (map, "published", &c->published, KH_EWRONGTYPE, why)
          || kh__get_uint (map, "rate", &c->rate, KH_EWRONGTYPE, why)
          || kh__get_uint (map, "errors", &c->errors, KH_EWRONGTYPE, why)
          || kh__get_uint (map, "busy", &c->busy, KH_EWRONGTYPE, why)
          || kh__get_uint (map, "audit_dropped", &c->audit_dropped, KH_EWRONGTYPE, why)
           ? -1 : 0;
    kh__unpacked_release (&u);
    return rc;
}
