/*  kh_codec.h - the kreishub wire format: the only code that reads or writes msgpack.

    Everything a process sends or receives as msgpack goes through these functions:
    the publisher's envelope and its body (validated against the schema table in
    kh_schema.c), the records fanned out to subscribers and returned by queries, the
    replies (ACK, ERROR, ROWS, PONG), the heartbeat and the broker<->recorder frames.
    schema/PROTOCOL.md describes the same format for people; keep the two true.

    Untrusted bytes are bounded before msgpack-c sees them (kh_mp_scan): a container
    may not declare more elements than bytes remain, nesting is limited, and no byte
    may follow the object. Decoders never abort on input: they return -1 and fill a
    kh_problem_t with a code from kh_err.h and a readable reason.

    Encoders append to a msgpack_sbuffer that the caller owns (msgpack_sbuffer_init /
    msgpack_sbuffer_destroy). Decoded views (kh_record_t.msg, kh_rows_t.rows) point
    into the caller's input bytes and live as long as those bytes.
*/
#ifndef KH_CODEC_H_INCLUDED
#define KH_CODEC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "kh_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ limits */
#define KH_FORMAT_VERSION   1               /* envelope "v" this build writes and reads */
#define KH_ID_SIZE          16              /* message id: 16 bytes, UUIDv7 layout */
#define KH_ID_STR_SIZE      37              /* "xxxxxxxx-xxxx-...": 36 chars + NUL */
#define KH_TYPE_MAX         16              /* longest type name */
#define KH_AGS_MAX          8               /* AGS: 8 digits; Kreisschluessel: 5 */
#define KH_TITLE_MAX        200             /* bytes of UTF-8 */
#define KH_ENVELOPE_MAX     (64 * 1024)     /* largest valid envelope, bytes */
#define KH_TS_MAX           253402300799999ULL  /* 9999-12-31T23:59:59.999Z, in ms */
#define KH_FRAME_MAX        (1024 * 1024)   /* socket hard cap; larger peers are cut off */
#define KH_DEPTH_MAX        8               /* msgpack nesting accepted from the network */
#define KH_QUERY_PAGE_MAX   1000            /* rows in one ROWS reply at most */
#define KH_QUERY_PAGE_BYTES (4 * 1024 * 1024)  /* soft cap on one ROWS reply */
#define KH_REASON_MAX       256

/* -------------------------------------------------------------- frame names */
/* client -> broker (DEALER -> ROUTER): [command][body] */
#define KH_CMD_PUBLISH  "PUBLISH"
#define KH_CMD_QUERY    "QUERY"
#define KH_CMD_PING     "PING"
/* broker -> client */
#define KH_REP_ACK      "ACK"
#define KH_REP_ERROR    "ERROR"
#define KH_REP_ROWS     "ROWS"
#define KH_REP_PONG     "PONG"
/* recorder <-> broker (DEALER -> ROUTER) */
#define KH_REC_HELLO    "HELLO"     /* recorder -> broker, on connect and every second */
#define KH_REC_STORE    "STORE"     /* broker -> recorder: [STORE][token][envelope] */
#define KH_REC_STORED   "STORED"    /* recorder -> broker: [STORED][token][stored] */
#define KH_REC_FAILED   "FAILED"    /* recorder -> broker: [FAILED][token][error] */
#define KH_REC_BYE      "BYE"       /* recorder -> broker: [BYE], stopping cleanly */
/* queries: [QUERY][client][query] -> [ROWS][client][rows] or [ERROR][client][error] */

/* live updates (XPUB): [topic][record]; the heartbeat: [KH_TOPIC_BEAT][beat] */
#define KH_TOPIC_BEAT   "!hb"
#define KH_TOPIC_MAX    (KH_TYPE_MAX + KH_AGS_MAX + 3)

/* ------------------------------------------------------------------ problems */
typedef struct {
    int  code;                          /* kh_err_t */
    char reason [KH_REASON_MAX];        /* readable, names the field where there is one */
} kh_problem_t;

/* Sets why (if not NULL) to code and a printf-formatted reason; returns -1 always,
   so that a decoder can say `return kh_problem (why, KH_ERANGE, "...", ...)`. */
int kh_problem (kh_problem_t *why, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ----------------------------------------------------------------- bounding */
/* Checks that data holds exactly one msgpack object within KH_DEPTH_MAX levels whose
   containers declare no more elements than bytes remain. Returns 0 if so, else -1
   with why set (KH_EMALFORMED). Run before any msgpack_unpack_next on network input. */
int kh_mp_scan (const void *data, size_t size, kh_problem_t *why);

/* ------------------------------------------------------------------ ids, time */
/* Fills id with a new UUIDv7: 48-bit ms timestamp, version 7, variant, random bits. */
void kh_id_new (uint8_t id [KH_ID_SIZE]);
/* Writes the canonical 8-4-4-4-12 lowercase hex form of id into out. */
void kh_id_format (const uint8_t id [KH_ID_SIZE], char out [KH_ID_STR_SIZE]);
/* Parses the 36-char form (or 32 hex digits); returns 0, or -1 if text is not an id. */
int kh_id_parse (const char *text, uint8_t id [KH_ID_SIZE]);
/* Milliseconds since the Unix epoch, wall clock. */
uint64_t kh_now_ms (void);

/* --------------------------------------------------------------- envelopes */
/* What the hub reads from a valid envelope (the body stays in the bytes). */
typedef struct {
    uint32_t version;
    uint8_t  id [KH_ID_SIZE];
    char     type [KH_TYPE_MAX + 1];
    char     from [KH_AGS_MAX + 1];
    uint64_t ts;                        /* publisher's clock, ms since epoch */
    char     title [KH_TITLE_MAX + 1];
} kh_envelope_t;

/* Validates data as an envelope against the schema: bounded scan, version, id, type,
   sender AGS, timestamp, and every body field's type, limits, UTF-8 and vocabulary.
   Returns 0 and fills env (if not NULL); on any problem returns -1 with why set.
   If the id could be read before the problem was found, env->id holds it and
   *has_id (if not NULL) is true, so that an error reply can name the message. */
int kh_envelope_check (const void *data, size_t size, kh_envelope_t *env,
                       bool *has_id, kh_problem_t *why);

/* Builds an envelope for publishing. Fields are set from text (as a CLI gives them)
   or from a JSON object; the result is validated as a whole when encoded. */
typedef struct kh_builder kh_builder_t;

/* Creates a builder for the message type (e.g. "idea"); NULL if the type is unknown. */
kh_builder_t *kh_builder_new (const char *type);
/* Frees the builder and sets *self_p to NULL; safe on NULL. */
void kh_builder_destroy (kh_builder_t **self_p);
/* Sets a body field from text, converted by the field's kind: integers in decimal,
   lists split at commas (blanks around items trimmed), everything else as given.
   Setting a field again replaces it. Returns 0, or -1 with why set (unknown field,
   not a number). Limits are checked by kh_builder_encode. */
int kh_builder_set (kh_builder_t *self, const char *field, const char *text,
                    kh_problem_t *why);
/* Sets body fields from a JSON object (UTF-8 text of len bytes). Each member is
   converted to msgpack as it stands (string, integer, list, ...). Returns 0 or -1. */
int kh_builder_set_json (kh_builder_t *self, const char *json, size_t len,
                         kh_problem_t *why);
/* Encodes the envelope (version KH_FORMAT_VERSION, id, the builder's type, from, ts
   and body) into out and validates it with kh_envelope_check. Returns 0, or -1 with
   why set and out left with whatever was written (the caller clears it). */
int kh_builder_encode (kh_builder_t *self, const uint8_t id [KH_ID_SIZE],
                       const char *from, uint64_t ts, msgpack_sbuffer *out,
                       kh_problem_t *why);

/* ---------------------------------------------------------------- records */
/* Where a stored message stands in the log. prev_* is the seq of the message before
   it with the same type, the same sender, and the same type and sender (0: none);
   a subscriber filtering on one of those detects a dropped message as a mismatch. */
typedef struct {
    uint64_t seq;                       /* gap-free, from 1 */
    uint64_t at;                        /* recorder's clock at commit, ms since epoch */
    uint64_t prev_type;
    uint64_t prev_sender;
    uint64_t prev_pair;
} kh_seqinfo_t;

/* A stored message as subscribers and queries see it. */
typedef struct {
    kh_seqinfo_t   info;
    const uint8_t *msg;                 /* the envelope, byte for byte as published */
    size_t         msg_size;
} kh_record_t;

/* Appends a record to out. Returns 0, or -1 on allocation failure. */
int kh_record_encode (msgpack_sbuffer *out, const kh_record_t *rec);
/* Decodes a record; rec->msg points into data. Returns 0, or -1 with why set.
   The envelope inside is not validated here: call kh_envelope_check on it. */
int kh_record_decode (const void *data, size_t size, kh_record_t *rec,
                      kh_problem_t *why);

/* The recorder's answer to STORE: where the message stands, and whether the id
   was stored before (dup: then info is the original's). */
int kh_stored_encode (msgpack_sbuffer *out, const kh_seqinfo_t *info, bool dup);
int kh_stored_decode (const void *data, size_t size, kh_seqinfo_t *info, bool *dup,
                      kh_problem_t *why);

/* ----------------------------------------------------------------- queries */
/* A history query. Zero / empty means "no bound" / "any". Bounds are inclusive;
   since_at/until_at compare with the record's `at`. */
typedef struct {
    uint64_t req;                       /* chosen by the client, echoed in the reply */
    uint64_t since_seq;
    uint64_t until_seq;
    uint64_t since_at;
    uint64_t until_at;
    char     type [KH_TYPE_MAX + 1];
    char     from [KH_AGS_MAX + 1];
    uint32_t limit;                     /* rows in this page; 0 or > max: KH_QUERY_PAGE_MAX */
} kh_query_t;

int kh_query_encode (msgpack_sbuffer *out, const kh_query_t *query);
/* Decodes and checks a query (type must be known, from must be an AGS). */
int kh_query_decode (const void *data, size_t size, kh_query_t *query,
                     kh_problem_t *why);

/* A ROWS reply is built row by row: begin, add, finish. `next` is the seq to ask
   for in the next page; `more` says whether the store holds more matching rows. */
typedef struct kh_rows_writer kh_rows_writer_t;
kh_rows_writer_t *kh_rows_writer_new (uint64_t req);
void kh_rows_writer_destroy (kh_rows_writer_t **self_p);
int kh_rows_writer_add (kh_rows_writer_t *self, const kh_record_t *rec);
uint32_t kh_rows_writer_count (kh_rows_writer_t *self);
size_t kh_rows_writer_bytes (kh_rows_writer_t *self);
int kh_rows_writer_finish (kh_rows_writer_t *self, bool more, uint64_t next,
                           msgpack_sbuffer *out);

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

/* ----------------------------------------------------------------- replies */
int kh_ack_encode (msgpack_sbuffer *out, const uint8_t id [KH_ID_SIZE], uint64_t seq,
                   bool dup);
int kh_ack_decode (const void *data, size_t size, uint8_t id [KH_ID_SIZE],
                   uint64_t *seq, bool *dup, kh_problem_t *why);

typedef struct {
    bool     has_id;
    uint8_t  id [KH_ID_SIZE];           /* the publish this answers, if has_id */
    uint64_t req;                       /* the query this answers, 0 if none */
    int      code;                      /* kh_err_t */
    char     name [32];
    char     reason [KH_REASON_MAX];
} kh_error_reply_t;

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

/* HELLO: the recorder's format version and last committed seq. */
int kh_hello_encode (msgpack_sbuffer *out, uint64_t head);
int kh_hello_decode (const void *data, size_t size, uint64_t *head, kh_problem_t *why);

/* ------------------------------------------------------------------ topics */
/* Writes the live topic "<type>/<from>/" into buf. Returns its length, or -1 if it
   does not fit. Subscribers filter by prefix: "idea/" (a type), "idea/05162004/"
   (a type from one sender), "idea/05162" (a type from a Kreis region). */
int kh_topic_format (char *buf, size_t cap, const char *type, const char *from);

/* ------------------------------------------------------------------ schema */
/* The message types, in the order of the schema table. */
size_t kh_schema_type_count (void);
const char *kh_schema_type_name (size_t index);
/* True if text is an AGS (8 digits) or a Kreisschluessel (5 digits). */
bool kh_ags_valid (const char *text, size_t len);
/* Writes the schema's field tables as Markdown (for PROTOCOL.md) to file. */
void kh_schema_print_markdown (FILE *file);

#ifdef __cplusplus
}
#endif
#endif
