/*  kh_codec.c - the frames a client exchanges with the hub: records, queries, ROWS
    pages, audit queries and their pages, the replies (ACK, ERROR, PONG), the
    heartbeat and the live topics.

    Decoders share one path (kh_mpio.h): bound the bytes (kh_mp_scan), unpack exactly
    one object, then read maps by key. msgpack-c's str and bin objects point into the
    caller's bytes, so views handed out here live as long as those bytes. Replies are
    decoded leniently (unknown keys ignored, so that a newer hub can add keys); what
    the hub itself accepts (queries; envelopes in kh_envelope.c) is decoded strictly.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_link.h"
#include "kh_mpio.h"
#include "kh_query.h"
#include "kh_schema.h"

/* ---------------------------------------------------------------- records */

int
kh_record_encode (msgpack_sbuffer *out, const kh_record_t *rec)
{
    assert (out);
    assert (rec);
    assert (rec->msg || rec->msg_size == 0);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 6)
    ||  kh__pack_seqinfo (&pk, &rec->info)
    ||  kh__pack_cstr (&pk, "msg") || kh__pack_bin (&pk, rec->msg, rec->msg_size))
        return kh__undo (out, start);
    return 0;
}

/* Reads a record from an unpacked map; msg points into the original bytes. */
static int
s_read_record (const msgpack_object *map, kh_record_t *rec, kh_problem_t *why)
{
    memset (rec, 0, sizeof *rec);
    if (kh__read_seqinfo (map, &rec->info, why))
        return -1;
    const msgpack_object *msg = kh__get (map, "msg");
    if (!msg || msg->type != MSGPACK_OBJECT_BIN)
        return kh_problem (why, KH_EMISSING, "msg: required bin missing");
    rec->msg = (const uint8_t *) msg->via.bin.ptr;
    rec->msg_size = msg->via.bin.size;
    return 0;
}

int
kh_record_decode (const void *data, size_t size, kh_record_t *rec, kh_problem_t *why)
{
    if (!rec || (!data && size > 0))
        return kh_problem (why, KH_EINVAL, "record: missing argument");
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = s_read_record (&u.data, rec, why);
    kh__unpacked_release (&u);
    return rc;
}

/* ----------------------------------------------------------------- queries */

int
kh_query_encode (msgpack_sbuffer *out, const kh_query_t *q)
{
    assert (out);
    assert (q);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    uint32_t n = 1 + (q->since_seq > 0) + (q->until_seq > 0) + (q->since_at > 0)
               + (q->until_at > 0) + (q->since_ts > 0) + (q->until_ts > 0)
               + (q->limit > 0) + (q->type_count > 0) + (q->from_count > 0)
               + q->has_ref + (q->search [0] != 0);
    if (msgpack_pack_map (&pk, n)
    ||  kh__pack_kv_uint (&pk, "req", q->req)
    ||  kh__pack_bound (&pk, "since_seq", q->since_seq)
    ||  kh__pack_bound (&pk, "until_seq", q->until_seq)
    ||  kh__pack_bound (&pk, "since_at", q->since_at)
    ||  kh__pack_bound (&pk, "until_at", q->until_at)
    ||  kh__pack_bound (&pk, "limit", q->limit)
    ||  kh__pack_bound (&pk, "since_ts", q->since_ts)
    ||  kh__pack_bound (&pk, "until_ts", q->until_ts)
    ||  kh__pack_list (&pk, "type", &q->type [0][0], sizeof q->type [0], q->type_count)
    ||  kh__pack_list (&pk, "from", &q->from [0][0], sizeof q->from [0], q->from_count)
    ||  (q->has_ref && (kh__pack_cstr (&pk, "ref") || kh__pack_bin (&pk, q->ref, KH_ID_SIZE)))
    ||  kh__pack_filter (&pk, "search", q->search))
        return kh__undo (out, start);
    return 0;
}

/* The keys of a query and of an audit query, each allowed once; both begin with
   the keys of a page (S_PAGE_KEYS); NULL ends a list. */
static const char *const s_query_keys [] = { "req", "since_seq", "until_seq", "since_at",
                                             "until_at", "limit", "type", "from",
                                             "since_ts", "until_ts", "ref", "search",
                                             NULL };
static const char *const s_audit_keys [] = { "req", "since_seq", "until_seq", "since_at",
                                             "until_at", "limit", "code", "ags", NULL };
#define S_PAGE_KEYS 6

/* What every query says about its page: which, where, how many. */
typedef struct {
    uint64_t req, since_seq, until_seq, since_at, until_at;
    uint32_t limit;                     /* KH_QUERY_PAGE_MAX for absent, 0 or too many */
} s_page_t;

/* Reads a query map's page keys strictly: a map of known keys (keys), each once,
   the page's integers, req > 0. Before any check, *req gets the map's "req" if it
   holds it exactly once as an integer > 0 (PROTOCOL.md section 5), for the ERROR.
   Every problem is QUERY. */
static int
s_read_page (const msgpack_object *map, const char *const keys [], s_page_t *p,
             uint64_t *req, kh_problem_t *why)
{
    uint64_t limit;
    if (kh__query_head (map, keys, req, why))
        return -1;
    p->req = *req;
    if (kh__get_uint (map, "since_seq", &p->since_seq, KH_EQUERY, why)
    ||  kh__get_uint (map, "until_seq", &p->until_seq, KH_EQUERY, why)
    ||  kh__get_uint (map, "since_at", &p->since_at, KH_EQUERY, why)
    ||  kh__get_uint (map, "until_at", &p->until_at, KH_EQUERY, why)
    ||  kh__get_uint (map, "limit", &limit, KH_EQUERY, why))
        return -1;
    p->limit = limit == 0 || limit > KH_QUERY_PAGE_MAX ? KH_QUERY_PAGE_MAX : (uint32_t) limit;
    return 0;
}

/* Checks a query map strictly: known keys, each once, right types, known types,
   senders, a ref and a search. Every problem is QUERY. */
static int
s_read_query (const msgpack_object *map, void *query, kh_problem_t *why)
{
    kh_query_t *q = (kh_query_t *) query;
    s_page_t p;
    if (s_read_page (map, s_query_keys, &p, &q->req, why))
        return -1;
    q->since_seq = p.since_seq;
    q->until_seq = p.until_seq;
    q->since_at = p.since_at;
    q->until_at = p.until_at;
    q->limit = p.limit;
    if (kh__get_uint (map, "since_ts", &q->since_ts, KH_EQUERY, why)
    ||  kh__get_uint (map, "until_ts", &q->until_ts, KH_EQUERY, why)
    ||  kh__read_list (map, "type", KH_LIST_TYPES, &q->type [0][0], sizeof q->type [0],
                       &q->type_count, why)
    ||  kh__read_list (map, "from", KH_LIST_SENDERS, &q->from [0][0], sizeof q->from [0],
                       &q->from_count, why)
    ||  kh__read_ref (map, "ref", &q->has_ref, q->ref, why)
    ||  kh__read_search (map, "search", q->search, sizeof q->search, why))
        return -1;
    return 0;
}

int
kh_query_decode (const void *data, size_t size, kh_query_t *q, kh_problem_t *why)
{
    assert (q);
    return kh__query_decode (data, size, s_read_query, q, sizeof *q, why);
}

/* ------------------------------------------------------------ audit queries */

int
kh_audit_query_encode (msgpack_sbuffer *out, const kh_audit_query_t *q)
{
    assert (out);
    assert (q);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    uint64_t code = q->code > 0 ? (uint64_t) q->code : 0;
    uint32_t n = 1 + (q->since_seq > 0) + (q->until_seq > 0) + (q->since_at > 0)
               + (q->until_at > 0) + (q->limit > 0) + (code > 0) + (q->ags [0] != 0);
    if (msgpack_pack_map (&pk, n)
    ||  kh__pack_kv_uint (&pk, "req", q->req)
    ||  kh__pack_bound (&pk, "since_seq", q->since_seq)
    ||  kh__pack_bound (&pk, "until_seq", q->until_seq)
    ||  kh__pack_bound (&pk, "since_at", q->since_at)
    ||  kh__pack_bound (&pk, "until_at", q->until_at)
    ||  kh__pack_bound (&pk, "limit", q->limit)
    ||  kh__pack_bound (&pk, "code", code)
    ||  kh__pack_filter (&pk, "ags", q->ags))
        return kh__undo (out, start);
    return 0;
}

/* Checks an audit query map as s_read_query checks a query: the page, then a code
   that names an error and an ags that is an AGS. Every problem is QUERY. */
static int
s_read_audit_query (const msgpack_object *map, void *query, kh_problem_t *why)
{
    kh_audit_query_t *q = (kh_audit_query_t *) query;
    s_page_t p;
    uint64_t code;
    if (s_read_page (map, s_audit_keys, &p, &q->req, why)
    ||  kh__get_uint (map, "code", &code, KH_EQUERY, why))
        return -1;
    q->since_seq = p.since_seq;
    q->until_seq = p.until_seq;
    q->since_at = p.since_at;
    q->until_at = p.until_at;
    q->limit = p.limit;
    if (code >= KH_ERR_COUNT_)
        return kh_problem (why, KH_EQUERY, "code: names no error");
    q->code = (int) code;
    const msgpack_object *ags = kh__get (map, "ags");
    if (ags) {
        if (ags->type != MSGPACK_OBJECT_STR || !kh_ags_valid (ags->via.str.ptr, ags->via.str.size))
            return kh_problem (why, KH_EQUERY, "ags: not an AGS");
        kh__copy_str (ags, q->ags, sizeof q->ags);
    }
    return 0;
}

int
kh_audit_query_decode (const void *data, size_t size, kh_audit_query_t *q,
                       kh_problem_t *why)
{
    assert (q);
    return kh__query_decode (data, size, s_read_audit_query, q, sizeof *q, why);
}

/* ------------------------------------------------------------------- rows */

/*  The packed records go into rows after S_HEAD_ROOM bytes kept free at its start,
    so that kh_rows_writer_seal can write the reply's head (req, more, next and the
    array's length, known only at the end) right in front of them and hand the block
    on without copying the page. */
#define S_HEAD_ROOM     48          /* >= the longest head: 44 bytes */
#define S_ROWS_FIRST    8192        /* the block's first size */

struct kh_rows_writer {
    uint64_t        req;                /* echoed */
    uint32_t        count;              /* records packed so far */
    msgpack_sbuffer rows;               /* S_HEAD_ROOM bytes, then the packed records */
};

kh_rows_writer_t *
kh_rows_writer_new (uint64_t req)
{
    kh_rows_writer_t *self = (kh_rows_writer_t *) calloc (1, sizeof *self);
    char *block = (char *) malloc (S_ROWS_FIRST);
    if (!self || !block) {
        free (self);
        free (block);
        return NULL;
    }
    self->req = req;
    self->rows.data = block;
    self->rows.alloc = S_ROWS_FIRST;
    self->rows.size = S_HEAD_ROOM;
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
kh_rows_writer_reserve (kh_rows_writer_t *self, size_t bytes)
{
    assert (self);
    if (self->rows.alloc - self->rows.size >= bytes)
        return 0;
    if (bytes > SIZE_MAX - self->rows.size)
        return -1;
    char *block = (char *) realloc (self->rows.data, self->rows.size + bytes);
    if (!block)
        return -1;
    self->rows.data = block;
    self->rows.alloc = self->rows.size + bytes;
    return 0;
}

int
kh__rows_writer_add_row (kh_rows_writer_t *self, kh__row_encode_fn *encode, const void *row)
{
    assert (self);
    assert (encode);
    if (encode (&self->rows, row))
        return -1;
    self->count++;
    return 0;
}

/* kh_record_encode as a kh__row_encode_fn. */
static int
s_encode_record (msgpack_sbuffer *out, const void *row)
{
    return kh_record_encode (out, (const kh_record_t *) row);
}

int
kh_rows_writer_add (kh_rows_writer_t *self, const kh_record_t *rec)
{
    return kh__rows_writer_add_row (self, s_encode_record, rec);
}

uint32_t
kh_rows_writer_count (kh_rows_writer_t *self)
{
    assert (self);
    return self->count;
}

size_t
kh_rows_writer_bytes (kh_rows_writer_t *self)
{
    assert (self);
    return self->rows.size - S_HEAD_ROOM;
}

/* Packs the head of the reply with self's rows: the map up to the array's length. */
static int
s_rows_head (kh_rows_writer_t *self, bool more, uint64_t next, msgpack_packer *pk)
{
    return msgpack_pack_map (pk, 4)
        || kh__pack_kv_uint (pk, "req", self->req)
        || kh__pack_cstr (pk, "more") || kh__pack_bool (pk, more)
        || kh__pack_kv_uint (pk, "next", next)
        || kh__pack_cstr (pk, "rows") || msgpack_pack_array (pk, self->count) ? -1 : 0;
}

int
kh_rows_writer_finish (kh_rows_writer_t *self, bool more, uint64_t next,
                       msgpack_sbuffer *out)
{
    assert (self);
    assert (out);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (s_rows_head (self, more, next, &pk)
    ||  kh__write (out, self->rows.data + S_HEAD_ROOM, self->rows.size - S_HEAD_ROOM))
        return kh__undo (out, start);
    return 0;
}

/* Where s_rows_head writes for kh_rows_writer_seal: a fixed buffer. */
typedef struct {
    char   data [S_HEAD_ROOM];
    size_t size;
} s_head_buf_t;

/* A msgpack write callback into an s_head_buf_t. */
static int
s_head_write (void *data, const char *buf, size_t len)
{
    s_head_buf_t *head = (s_head_buf_t *) data;
    if (len > sizeof head->data - head->size)
        return -1;
    memcpy (head->data + head->size, buf, len);
    head->size += len;
    return 0;
}

const void *
kh_rows_writer_seal (kh_rows_writer_t *self, bool more, uint64_t next, size_t *size,
                     void **block)
{
    assert (self && size && block);
    s_head_buf_t head = { .size = 0 };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &head, s_head_write);
    int rc = s_rows_head (self, more, next, &pk);
    assert (rc == 0);                   /* S_HEAD_ROOM holds the longest head */
    (void) rc;
    char *start = self->rows.data + S_HEAD_ROOM - head.size;
    memcpy (start, head.data, head.size);
    *size = self->rows.size - S_HEAD_ROOM + head.size;
    *block = self->rows.data;
    self->rows.data = NULL;             /* the writer is done: destroy it */
    self->rows.size = self->rows.alloc = 0;
    return start;
}

int
kh__rows_head (const msgpack_object *map, uint64_t *req, bool *more, uint64_t *next,
             const msgpack_object **list, kh_problem_t *why)
{
    *list = kh__get (map, "rows");
    if (!*list || (*list)->type != MSGPACK_OBJECT_ARRAY)
        return kh_problem (why, KH_EMISSING, "rows: required list missing");
    return kh__get_uint (map, "req", req, KH_EWRONGTYPE, why)
        || kh__get_uint (map, "next", next, KH_EWRONGTYPE, why)
        || kh__get_bool (map, "more", more, why) ? -1 : 0;
}

/* Reads one row of a page into row: a kh_record_t or a kh_audit_t. */
typedef int (s_row_fn) (const msgpack_object *o, void *row, kh_problem_t *why);

/* Decodes a ROWS reply whose rows s_row_fn read, each row_size bytes, into a new
   array *rows of *count (NULL and 0 for none). A page declaring more than max rows
   is refused before they are read. Returns 0, or -1 with why set and nothing kept. */
static int
s_page_decode (const void *data, size_t size, uint64_t *req, bool *more, uint64_t *next,
               void **rows, uint32_t *count, size_t row_size, uint32_t max,
               s_row_fn *read, kh_problem_t *why)
{
    msgpack_unpacked u;
    const msgpack_object *list = NULL;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__rows_head (&u.data, req, more, next, &list, why);
    if (rc == 0 && list->via.array.size > max)
        rc = kh_problem (why, KH_ERANGE, "rows: more than %u in a page", max);
    if (rc == 0 && list->via.array.size > 0) {
        *rows = calloc (list->via.array.size, row_size);
        if (!*rows)
            rc = kh_problem (why, KH_ENOMEM, "rows: out of memory");
    }
    for (uint32_t i = 0; rc == 0 && i < list->via.array.size; i++)
        rc = read (&list->via.array.ptr [i], (char *) *rows + i * row_size, why);
    if (rc == 0)
        *count = list->via.array.size;
    else {
        free (*rows);
        *rows = NULL;
    }
    kh__unpacked_release (&u);
    return rc;
}

static int
s_row_record (const msgpack_object *o, void *row, kh_problem_t *why)
{
    return s_read_record (o, (kh_record_t *) row, why);
}

int
kh_rows_decode (const void *data, size_t size, kh_rows_t *rows, kh_problem_t *why)
{
    assert (rows);
    memset (rows, 0, sizeof *rows);
    void *list = NULL;
    int rc = s_page_decode (data, size, &rows->req, &rows->more, &rows->next, &list,
                            &rows->count, sizeof (kh_record_t), UINT32_MAX, s_row_record,
                            why);
    rows->rows = (kh_record_t *) list;
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

/* kh_audit_encode as a kh__row_encode_fn. */
static int
s_encode_audit (msgpack_sbuffer *out, const void *row)
{
    return kh_audit_encode (out, (const kh_audit_t *) row);
}

int
kh_rows_writer_add_audit (kh_rows_writer_t *self, const kh_audit_t *rec)
{
    return kh__rows_writer_add_row (self, s_encode_audit, rec);
}

static int
s_row_audit (const msgpack_object *o, void *row, kh_problem_t *why)
{
    return kh__audit_read (o, (kh_audit_t *) row, why);
}

int
kh_audit_rows_decode (const void *data, size_t size, kh_audit_rows_t *rows,
                      kh_problem_t *why)
{
    assert (rows);
    memset (rows, 0, sizeof *rows);
    /* Each row is copied out, so a page's declared count is bounded first. */
    void *list = NULL;
    int rc = s_page_decode (data, size, &rows->req, &rows->more, &rows->next, &list,
                            &rows->count, sizeof (kh_audit_t), KH_QUERY_PAGE_MAX,
                            s_row_audit, why);
    rows->rows = (kh_audit_t *) list;
    return rc;
}

void
kh_audit_rows_release (kh_audit_rows_t *rows)
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
    assert (out);
    assert (id);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 3)
    ||  kh__pack_cstr (&pk, "id") || kh__pack_bin (&pk, id, KH_ID_SIZE)
    ||  kh__pack_kv_uint (&pk, "seq", seq)
    ||  kh__pack_cstr (&pk, "dup") || kh__pack_bool (&pk, dup))
        return kh__undo (out, start);
    return 0;
}

/* Reads an id under "id": bin 16 -> 1, nil or absent -> 0, else -1. */
static int
s_read_id (const msgpack_object *map, uint8_t id [KH_ID_SIZE], kh_problem_t *why)
{
    const msgpack_object *o = kh__get (map, "id");
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
    assert (id);
    assert (seq);
    assert (dup);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0) {
        int got = s_read_id (&u.data, id, why);
        rc = got < 0 ? -1 : got == 0 ? kh_problem (why, KH_EMISSING, "ack: id missing") : 0;
    }
    if (rc == 0)
        rc = kh__get_uint (&u.data, "seq", seq, KH_EWRONGTYPE, why)
          || kh__get_bool (&u.data, "dup", dup, why) ? -1 : 0;
    if (rc == 0 && *seq == 0)
        rc = kh_problem (why, KH_EMISSING, "ack: seq missing");
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_error_encode (msgpack_sbuffer *out, const uint8_t *id, uint64_t req, int code,
                 const char *reason)
{
    assert (out);
    /* A reason built from hostile bytes may hold invalid UTF-8: send only valid text. */
    if (!reason)
        reason = "";
    if (!kh_utf8_valid (reason, strlen (reason)))
        reason = kh_strerror (code);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 5)
    ||  kh__pack_cstr (&pk, "id")
    ||  (id ? kh__pack_bin (&pk, id, KH_ID_SIZE) : msgpack_pack_nil (&pk))
    ||  kh__pack_kv_uint (&pk, "req", req)
    ||  kh__pack_kv_uint (&pk, "code", (uint64_t) code)
    ||  kh__pack_cstr (&pk, "name") || kh__pack_cstr (&pk, kh_errname (code))
    ||  kh__pack_cstr (&pk, "reason") || kh__pack_cstr (&pk, reason))
        return kh__undo (out, start);
    return 0;
}

int
kh_error_decode (const void *data, size_t size, kh_error_reply_t *err, kh_problem_t *why)
{
    assert (err);
    memset (err, 0, sizeof *err);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    uint64_t code = 0;
    if (rc == 0) {
        int got = s_read_id (&u.data, err->id, why);
        err->has_id = got == 1;
        rc = got < 0 ? -1 : 0;
    }
    if (rc == 0)
        rc = kh__get_uint (&u.data, "req", &err->req, KH_EWRONGTYPE, why)
          || kh__get_uint (&u.data, "code", &code, KH_EWRONGTYPE, why) ? -1 : 0;
    if (rc == 0) {
        err->code = code > 0x7fff ? KH_ERR_COUNT_ : (int) code;
        const msgpack_object *name = kh__get (&u.data, "name"), *reason = kh__get (&u.data, "reason");
        if (name && name->type == MSGPACK_OBJECT_STR)
            kh__copy_str (name, err->name, sizeof err->name);
        else
            snprintf (err->name, sizeof err->name, "%s", kh_errname (err->code));
        if (reason && reason->type == MSGPACK_OBJECT_STR)
            kh__copy_str (reason, err->reason, sizeof err->reason);
        else
            snprintf (err->reason, sizeof err->reason, "%s", kh_strerror (err->code));
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}
int
kh_pong_encode (msgpack_sbuffer *out, uint64_t head, bool recorder)
{
    assert (out);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 2)
    ||  kh__pack_kv_uint (&pk, "head", head)
    ||  kh__pack_cstr (&pk, "recorder") || kh__pack_bool (&pk, recorder))
        return kh__undo (out, start);
    return 0;
}

int
kh_pong_decode (const void *data, size_t size, uint64_t *head, bool *recorder,
                kh_problem_t *why)
{
    assert (head);
    assert (recorder);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__get_uint (&u.data, "head", head, KH_EWRONGTYPE, why)
          || kh__get_bool (&u.data, "recorder", recorder, why) ? -1 : 0;
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_beat_encode (msgpack_sbuffer *out, uint64_t head, uint64_t at)
{
    assert (out);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 2)
    ||  kh__pack_kv_uint (&pk, "head", head)
    ||  kh__pack_kv_uint (&pk, "at", at))
        return kh__undo (out, start);
    return 0;
}

int
kh_beat_decode (const void *data, size_t size, uint64_t *head, uint64_t *at,
                kh_problem_t *why)
{
    assert (head);
    assert (at);
    msgpack_unpacked u;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__get_uint (&u.data, "head", head, KH_EWRONGTYPE, why)
          || kh__get_uint (&u.data, "at", at, KH_EWRONGTYPE, why) ? -1 : 0;
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ------------------------------------------------------------------ topics */

int
kh_topic_format (char *buf, size_t cap, const char *type, const char *from)
{
    assert (buf);
    assert (type);
    assert (from);
    /* Copied, not printed: the broker makes a topic for every publish. */
    size_t type_len = strlen (type), from_len = strlen (from);
    size_t n = type_len + 1 + from_len + 1;
    if (n >= cap)
        return -1;
    memcpy (buf, type, type_len);
    buf [type_len] = '/';
    memcpy (buf + type_len + 1, from, from_len);
    buf [n - 1] = '/';
    buf [n] = 0;
    return (int) n;
}
