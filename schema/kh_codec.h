/*  kh_codec.h - the kreishub wire format in msgpack (internal to the tree).

    Everything a process sends or receives as msgpack goes through the codec: the
    publisher's envelope and its body (validated against the schema table in
    kh_schema.c), the records fanned out to subscribers and returned by queries, the
    replies (ACK, ERROR, ROWS, PONG) and the heartbeat; kh_link.h adds the frames
    between broker and recorder. What a client needs without msgpack types is public
    in kreishub/kh_wire.h. schema/PROTOCOL.md describes the same format for people;
    keep the two true.

    Untrusted bytes are bounded before msgpack-c sees them (kh_mp_scan): a container
    may not declare more elements than bytes remain, nesting is limited, and no byte
    may follow the object. Decoders never abort on input: they return -1 and fill a
    kh_problem_t with a code from kh_err.h and a readable reason.

    Arguments are the caller's promise, as in czmq: inside the tree a NULL where a
    function needs a pointer (out, self, the decoder's results) is a programmer
    error, caught by assert. Only the KH_EXPORT functions of kreishub/kh_wire.h,
    which programs of others call, answer NULL with KH_EINVAL. A why may always be
    NULL; bytes may be anything (data may be NULL when size is 0).

    Encoders append to a msgpack_sbuffer that the caller owns (msgpack_sbuffer_init /
    msgpack_sbuffer_destroy). Each returns 0, or -1 if memory runs out, and then
    leaves out as it was: a frame is appended whole or not at all, never in part
    (kh_codec_fault_test fails every write of every encoder in turn). Decoded views (kh_record_t.msg, kh_rows_t.rows) point
    into the caller's input bytes and live as long as those bytes.
*/
#ifndef KH_CODEC_H_INCLUDED
#define KH_CODEC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <msgpack.h>
#include "kreishub/kh_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ limits */
#define KH_DEPTH_MAX        8               /* msgpack nesting accepted from the network */

/* -------------------------------------------------------------- frame names */
/* client -> broker (DEALER -> ROUTER): [command][body] */
#define KH_CMD_PUBLISH  "PUBLISH"
#define KH_CMD_QUERY    "QUERY"
#define KH_CMD_PING     "PING"
#define KH_CMD_AUDIT    "AUDIT"         /* [AUDIT][audit query]: admins only */
#define KH_CMD_ITEMS    "ITEMS"         /* [ITEMS][items query]: the catalogue */
#define KH_CMD_STATS    "STATS"         /* [STATS][stats query]: counts of the log */
#define KH_CMD_COUNTERS "COUNTERS"      /* [COUNTERS][{req}]: the broker's counters */
/* broker -> client */
#define KH_REP_ACK      "ACK"
#define KH_REP_ERROR    "ERROR"
#define KH_REP_ROWS     "ROWS"
#define KH_REP_PONG     "PONG"
#define KH_REP_COUNTERS "COUNTERS"      /* [COUNTERS][counters] */

/* live updates (XPUB): [topic][record]; the heartbeat: [KH_TOPIC_BEAT][beat] */
#define KH_TOPIC_BEAT   "!hb"
#define KH_TOPIC_MAX    (KH_TYPE_MAX + KH_AGS_MAX + 3)

/* ------------------------------------------------------------------ problems */
/* Sets why (if not NULL) to code and a printf-formatted reason; returns -1 always,
   so that a decoder can say `return kh_problem (why, KH_ERANGE, "...", ...)`. */
int kh_problem (kh_problem_t *why, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ------------------------------------------------------------------ numbers */
/* Reads text as a whole decimal number of at most max into *value: digits only (no
   sign, blank, base prefix, exponent or unit; leading zeros are fine). Returns 0, or
   -1 with *value untouched if text is empty, holds anything but digits, or is above
   max. The tree's one number reader: the builder's number fields use it, and every
   program's flags, environment and config through support's kh_value_uint. */
int kh_uint_parse (const char *text, uint64_t max, uint64_t *value);

/* ----------------------------------------------------------------- bounding */
/* Checks that data holds exactly one msgpack object within KH_DEPTH_MAX levels whose
   containers declare no more elements than bytes remain. Returns 0 if so, else -1
   with why set (KH_EMALFORMED). Run before any msgpack_unpack_next on network input. */
int kh_mp_scan (const void *data, size_t size, kh_problem_t *why);

/* --------------------------------------------------------------- envelopes */
/* Returns the length (1..4) of the well-formed UTF-8 sequence at p, which has n > 0
   bytes left, or 0 if none starts there: overlong forms, encoded surrogates, code
   points above U+10FFFF and truncated sequences are not well-formed. */
size_t kh_utf8_seq (const uint8_t *p, size_t n);
/* True if the len bytes at s are well-formed UTF-8 throughout. */
bool kh_utf8_valid (const void *s, size_t len);

/* Sets a body field of the builder to one msgpack object, the size bytes at value,
   as given (the JSON input of the CLI arrives so), but a str holding an id's text
   for a ref (JSON has no bin). field may be "fields.NAME" as for kh_builder_set; a
   revise's whole fields map set so replaces the fields set one at a time. Setting a
   field again replaces it. Returns 0, or -1 with why set (unknown field, not one
   object, out of memory); the field then keeps what it held. What the object holds
   is checked by kh_builder_encode. */
int kh_builder_set_msgpack (kh_builder_t *self, const char *field, size_t field_len,
                            const void *value, size_t size, kh_problem_t *why);

/* Encodes the builder's envelope as kh_builder_encode does, appending it to out.
   Returns 0, or -1 with why set: if memory ran out (KH_ENOMEM), out is as it was;
   if the envelope is not valid, it stays in out, whole (tests send it so). */
int kh_builder_pack (kh_builder_t *self, const uint8_t id [KH_ID_SIZE], const char *from,
                     uint64_t ts, msgpack_sbuffer *out, kh_problem_t *why);

/* ---------------------------------------------------------------- records */
/* Appends a record to out. Returns 0, or -1 if memory runs out (out as it was). */
int kh_record_encode (msgpack_sbuffer *out, const kh_record_t *rec);
/* ----------------------------------------------------------------- queries */
int kh_query_encode (msgpack_sbuffer *out, const kh_query_t *query);
/* Decodes and checks a query as PROTOCOL.md section 5 says. Returns 0, or -1 with
   why set: TOO_LARGE over KH_ENVELOPE_MAX bytes, MALFORMED if not one well-formed
   msgpack object (as for an envelope), QUERY for anything else (not a map, a key
   unknown or given twice, req missing or 0, a bound not an integer >= 0, an unknown
   type, a from that is no AGS). query->req holds the query's req whenever the map
   has it once as an integer > 0, also when -1 is returned, for the ERROR to echo. */
int kh_query_decode (const void *data, size_t size, kh_query_t *query,
                     kh_problem_t *why);

/* A ROWS reply is built row by row: begin, add, finish. `next` is the seq to ask
   for in the next page; `more` says whether the store holds more matching rows. */
typedef struct kh_rows_writer kh_rows_writer_t;
/* Begins a reply to the query req; NULL if memory runs out. */
kh_rows_writer_t *kh_rows_writer_new (uint64_t req);
/* Frees the writer and sets *self_p to NULL; safe on NULL. */
void kh_rows_writer_destroy (kh_rows_writer_t **self_p);
/* Adds a record. Returns 0, or -1 if memory runs out (the writer as it was). */
int kh_rows_writer_add (kh_rows_writer_t *self, const kh_record_t *rec);
/* The records added so far, and the bytes they take. */
uint32_t kh_rows_writer_count (kh_rows_writer_t *self);
size_t kh_rows_writer_bytes (kh_rows_writer_t *self);
/* Appends the ROWS reply with every record added to out. Returns 0, or -1 if memory
   runs out (out as it was). The writer stays as it is. */
int kh_rows_writer_finish (kh_rows_writer_t *self, bool more, uint64_t next,
                           msgpack_sbuffer *out);
/* Makes room for bytes more of records, so that adding them does not move the
   page. Returns 0, or -1 if memory runs out (the writer as it was). */
int kh_rows_writer_reserve (kh_rows_writer_t *self, size_t bytes);
/* Ends the ROWS reply in place, as kh_rows_writer_finish would append it, without
   copying the rows: returns its first byte and sets *size; *block is the memory
   that holds it, the caller's now (free it once the reply is sent). The writer is
   left empty: destroy it. Cannot fail. */
const void *kh_rows_writer_seal (kh_rows_writer_t *self, bool more, uint64_t next,
                                 size_t *size, void **block);

typedef struct {
    uint64_t     req;
    bool         more;
    uint64_t     next;
    uint32_t     count;
    kh_record_t *rows;                  /* count records pointing into the input */
} kh_rows_t;

/* Decodes a ROWS reply; free with kh_rows_release. Returns 0, or -1 with why set. */
int kh_rows_decode (const void *data, size_t size, kh_rows_t *rows, kh_problem_t *why);
void kh_rows_release (kh_rows_t *rows);

/* ------------------------------------------------------------ audit queries */
/* An audit query (PROTOCOL.md section 12) is a map like a query's, with the keys
   req, since_seq, until_seq, since_at, until_at, code, ags and limit. Its decoder
   judges it as kh_query_decode judges a query (TOO_LARGE, MALFORMED, else QUERY:
   an unknown or repeated key, req missing or 0, a value of the wrong kind, a code
   that names no error, an ags that is no AGS); query->req is kept for the ERROR
   as there. */
int kh_audit_query_encode (msgpack_sbuffer *out, const kh_audit_query_t *query);
int kh_audit_query_decode (const void *data, size_t size, kh_audit_query_t *query,
                           kh_problem_t *why);

/* Adds an audit record as a row (kh_audit_encode) to a ROWS reply in the making, as
   kh_rows_writer_add adds a record. A writer holds rows of one kind. */
int kh_rows_writer_add_audit (kh_rows_writer_t *self, const kh_audit_t *rec);

/* A ROWS reply to an audit query, its rows copied out of the bytes. */
typedef struct {
    uint64_t    req;
    bool        more;
    uint64_t    next;
    uint32_t    count;
    kh_audit_t *rows;                   /* count records */
} kh_audit_rows_t;

/* Decodes it; free with kh_audit_rows_release. Returns 0, or -1 with why set. */
int kh_audit_rows_decode (const void *data, size_t size, kh_audit_rows_t *rows,
                          kh_problem_t *why);
void kh_audit_rows_release (kh_audit_rows_t *rows);

/* ------------------------------------------------------------ items queries */
/* An items query (PROTOCOL.md section 14) is a map of req, id, type, from,
   status, hf, topic, participant, open, search, before and limit; decoded strictly
   as a query is (TOO_LARGE, MALFORMED, else QUERY), query->req kept for the ERROR. */
int kh_items_query_encode (msgpack_sbuffer *out, const kh_items_query_t *query);
int kh_items_query_decode (const void *data, size_t size, kh_items_query_t *query,
                           kh_problem_t *why);

/* Adds an item (its participants and its fields map with it) as a row to a ROWS
   reply in the making. A writer holds rows of one kind. Returns 0, or -1 if memory
   runs out. */
int kh_rows_writer_add_item (kh_rows_writer_t *self, const kh_item_t *item);

/* A ROWS reply to an items query; the items' views point into the input bytes or
   into storage the reply owns. */
typedef struct {
    uint64_t   req;
    bool       more;
    uint64_t   next;                    /* ask again with before = next */
    uint32_t   count;
    kh_item_t *rows;
    void      *storage;                 /* the participants of every row */
} kh_item_rows_t;

/* Decodes it; free with kh_item_rows_release. Returns 0, or -1 with why set. */
int kh_item_rows_decode (const void *data, size_t size, kh_item_rows_t *rows,
                         kh_problem_t *why);
void kh_item_rows_release (kh_item_rows_t *rows);

/* ------------------------------------------------------------ stats queries */
/* A stats query (PROTOCOL.md section 14): req, by, since_ts, until_ts, type, from;
   decoded strictly as a query is. */
int kh_stats_query_encode (msgpack_sbuffer *out, const kh_stats_query_t *query);
int kh_stats_query_decode (const void *data, size_t size, kh_stats_query_t *query,
                           kh_problem_t *why);
/* The ROWS reply to it: req and the count. Returns 0, or -1 if memory runs out. */
int kh_stats_reply_encode (msgpack_sbuffer *out, uint64_t req, const kh_stats_t *stats);
/* Decodes it into a new count in *stats_p (free with kh_stats_destroy). Returns 0,
   or -1 with why set. */
int kh_stats_reply_decode (const void *data, size_t size, uint64_t *req,
                           kh_stats_t **stats_p, kh_problem_t *why);

/* ----------------------------------------------------------------- counters */
/* [COUNTERS][{req}] and its answer [COUNTERS][{req, ...counters}]. */
int kh_counters_query_encode (msgpack_sbuffer *out, uint64_t req);
int kh_counters_query_decode (const void *data, size_t size, uint64_t *req,
                              kh_problem_t *why);
int kh_counters_encode (msgpack_sbuffer *out, uint64_t req, const kh_counters_t *counters);
int kh_counters_decode (const void *data, size_t size, uint64_t *req,
                        kh_counters_t *counters, kh_problem_t *why);

/* ----------------------------------------------------------------- replies */
int kh_ack_encode (msgpack_sbuffer *out, const uint8_t id [KH_ID_SIZE], uint64_t seq,
                   bool dup);
int kh_ack_decode (const void *data, size_t size, uint8_t id [KH_ID_SIZE],
                   uint64_t *seq, bool *dup, kh_problem_t *why);

/* id may be NULL (no message id known); req 0 if not answering a query. */
int kh_error_encode (msgpack_sbuffer *out, const uint8_t *id, uint64_t req, int code,
                     const char *reason);
int kh_error_decode (const void *data, size_t size, kh_error_reply_t *err,
                     kh_problem_t *why);

/* PONG: the broker's last published seq and whether a recorder is connected. */
int kh_pong_encode (msgpack_sbuffer *out, uint64_t head, bool recorder);
int kh_pong_decode (const void *data, size_t size, uint64_t *head, bool *recorder,
                    kh_problem_t *why);

/* Heartbeat on KH_TOPIC_BEAT: the last published seq and the broker's clock. */
int kh_beat_encode (msgpack_sbuffer *out, uint64_t head, uint64_t at);
int kh_beat_decode (const void *data, size_t size, uint64_t *head, uint64_t *at,
                    kh_problem_t *why);

/* ------------------------------------------------------------------ topics */
/* Writes the live topic "<type>/<from>/" into buf. Returns its length, or -1 if it
   does not fit. Subscribers filter by prefix: "idea/" (a type), "idea/05162004/"
   (a type from one sender), "idea/05162" (a type from a Kreis region). */
int kh_topic_format (char *buf, size_t cap, const char *type, const char *from);

/* ------------------------------------------------------------------ schema */
/* Writes the schema's field tables as Markdown (for PROTOCOL.md) to file. */
void kh_schema_print_markdown (FILE *file);

#ifdef __cplusplus
}
#endif
#endif
