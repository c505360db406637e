/*  kh_wire.h - what a client of kreishub needs to know of the wire format: limits,
    default endpoints, message ids, envelopes (built and checked), records and
    queries, and the hub's error replies. Nothing here names a msgpack type: the
    encoding itself is the codec's business (schema/PROTOCOL.md describes it for
    other languages).

    Envelopes are built with a kh_builder_t and validated against the schema table
    that the hub itself enforces, so a message refused here would be refused by the
    hub with the same code and reason. Decoded views (kh_record_t.msg) point into
    the caller's bytes and live as long as those bytes.

    These functions are the library's boundary: given NULL where they need an
    argument (why may always be NULL), they return -1 with why set to KH_EINVAL,
    or NULL, false or nothing done as their result allows; they never abort.
*/
#ifndef KH_WIRE_H_INCLUDED
#define KH_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
#define KH_TITLE_MAX        200             /* characters (Unicode code points) */
#define KH_TITLE_BYTES      (4 * KH_TITLE_MAX)  /* a title's bytes of UTF-8 at most */
#define KH_ENVELOPE_MAX     (64 * 1024)     /* largest valid envelope, bytes */
#define KH_TS_MAX           253402300799999ULL  /* 9999-12-31T23:59:59.999Z, in ms */
#define KH_FRAME_MAX        (1024 * 1024)   /* socket hard cap; larger peers are cut off */
#define KH_QUERY_PAGE_MAX   1000            /* rows in one ROWS reply at most */
#define KH_QUERY_PAGE_BYTES (4 * 1024 * 1024)  /* soft cap on one ROWS reply */
#define KH_REASON_MAX       256
#define KH_FILTER_MAX       16              /* values of one filter (types, senders, stages) */
#define KH_SENDER_MAX       (KH_AGS_MAX + 1)    /* a sender filter: an AGS, or digits and '*' */
#define KH_SEARCH_MAX       200             /* characters of a full-text search */
#define KH_SEARCH_BYTES     (4 * KH_SEARCH_MAX)
#define KH_STAGE_MAX        16              /* longest lifecycle stage, participant state */
#define KH_TOPIC_CHARS      100             /* an item's topic, characters */
#define KH_TOPIC_BYTES      (4 * KH_TOPIC_CHARS)

/* ------------------------------------------------------- default endpoints */
/* Where a hub listens unless told otherwise (PROTOCOL.md section 1). */
#define KH_DEFAULT_CLIENT   "tcp://127.0.0.1:7701"  /* broker: publish, query, ping */
#define KH_DEFAULT_LIVE     "tcp://127.0.0.1:7702"  /* broker: live updates */
#define KH_DEFAULT_RECORDER "tcp://127.0.0.1:7703"  /* broker: the recorder's link */

/* ------------------------------------------------------------------ problems */
/* Why something was refused: a code from kh_err.h and a readable reason that
   names the field where there is one. */
typedef struct {
    int  code;                          /* kh_err_t */
    char reason [KH_REASON_MAX];
} kh_problem_t;

/* ------------------------------------------------------------------ ids, time */
/* Fills id with a new UUIDv7: 48-bit ms timestamp, version 7, variant, random bits. */
KH_EXPORT void kh_id_new (uint8_t id [KH_ID_SIZE]);
/* Writes the canonical 8-4-4-4-12 lowercase hex form of id into out. */
KH_EXPORT void kh_id_format (const uint8_t id [KH_ID_SIZE], char out [KH_ID_STR_SIZE]);
/* Parses the 36-char form (or 32 hex digits); returns 0, or -1 if text is not an id. */
KH_EXPORT int kh_id_parse (const char *text, uint8_t id [KH_ID_SIZE]);
/* Milliseconds since the Unix epoch, wall clock. */
KH_EXPORT uint64_t kh_now_ms (void);

/* ------------------------------------------------------------------ schema */
/* The message types, in the order of the schema table. */
KH_EXPORT size_t kh_schema_type_count (void);
KH_EXPORT const char *kh_schema_type_name (size_t index);
/* True if type (NUL-terminated) names a message type of the schema. */
KH_EXPORT bool kh_schema_type_known (const char *type);
/* True if type names an item type (idea, offer, request, announcement): a message
   that starts an item, whose id is the item's id. The other types are about an item
   and name it in their body's ref. */
KH_EXPORT bool kh_schema_type_item (const char *type);
/* True if the len bytes at text are an AGS (8 digits) or a Kreisschluessel (5). */
KH_EXPORT bool kh_ags_valid (const char *text, size_t len);

/* --------------------------------------------------------------- envelopes */
/* What the hub reads from a valid envelope (the body stays in the bytes). */
typedef struct {
    uint32_t version;
    uint8_t  id [KH_ID_SIZE];
    char     type [KH_TYPE_MAX + 1];
    char     from [KH_AGS_MAX + 1];
    uint64_t ts;                        /* publisher's clock, ms since epoch */
    char     title [KH_TITLE_BYTES + 1];    /* an item's title; "" for the other types */
    bool     has_ref;                   /* the body names an item (every type but items) */
    uint8_t  ref [KH_ID_SIZE];          /* that item's id, if has_ref */
} kh_envelope_t;

/* Validates the size bytes at data as an envelope against the schema: version, id,
   type, sender AGS, timestamp, and every body field's type, limits, UTF-8 and
   vocabulary. Returns 0 and fills env (if not NULL); on any problem returns -1 with
   why (if not NULL) set. If the id could be read before the problem was found,
   env->id holds it and *has_id (if not NULL) is true. */
KH_EXPORT int kh_envelope_check (const void *data, size_t size, kh_envelope_t *env,
                                 bool *has_id, kh_problem_t *why);

/* Builds an envelope for publishing, one body field at a time. */
typedef struct kh_builder kh_builder_t;

/* Creates a builder for the message type (e.g. "offer"); NULL if the type is unknown
   or memory runs out. */
KH_EXPORT kh_builder_t *kh_builder_new (const char *type);
/* Frees the builder and sets *self_p to NULL; safe on NULL. */
KH_EXPORT void kh_builder_destroy (kh_builder_t **self_p);
/* Sets a body field from text, converted by the field's kind: integers in decimal,
   lists split at commas (blanks around items trimmed), a ref (an item's id) in the
   form kh_id_format writes (or 32 hex digits), everything else as given. A revise's
   changed fields are set one at a time as "fields.NAME" (e.g. "fields.title"), each
   converted by the kind of the item field NAME. Setting a field again replaces it.
   Returns 0, or -1 with why set (unknown field, not a number, not an id, out of
   memory); the field then keeps what it held. Limits are checked by
   kh_builder_encode. */
KH_EXPORT int kh_builder_set (kh_builder_t *self, const char *field, const char *text,
                              kh_problem_t *why);
/* Encodes the envelope (version KH_FORMAT_VERSION, id, the builder's type, from, ts
   and the body fields set so far) and validates it as the hub will. Returns 0, or
   -1 with why set and no bytes in the builder. The bytes stay in the builder
   (kh_builder_data) until the next encode or the builder's destruction. */
KH_EXPORT int kh_builder_encode (kh_builder_t *self, const uint8_t id [KH_ID_SIZE],
                                 const char *from, uint64_t ts, kh_problem_t *why);
/* Returns the bytes of the last successful kh_builder_encode and their size in
   *size, or NULL (and 0) if there are none. */
KH_EXPORT const void *kh_builder_data (const kh_builder_t *self, size_t *size);

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

/* Decodes a record as the live endpoint sends it; rec->msg points into data.
   Returns 0, or -1 with why set. The envelope inside is not validated here: call
   kh_envelope_check on rec->msg to read it. */
KH_EXPORT int kh_record_decode (const void *data, size_t size, kh_record_t *rec,
                                kh_problem_t *why);

/* ----------------------------------------------------------------- queries */
/* A history query (PROTOCOL.md section 5). Zero / empty means "no bound" / "any".
   Bounds are inclusive; since_at/until_at compare with the record's `at` (commit
   time), since_ts/until_ts with its envelope's `ts` (publication time). A record
   matches when every given filter matches: one of the types, one of the senders
   (an AGS matches itself; digits followed by '*' match every AGS they begin, e.g.
   "0516*"), the item ref (the item itself and every message about it), and the
   search (every word of it occurs in the message's texts). */
typedef struct {
    uint64_t req;                       /* chosen by the client, echoed in the reply */
    uint64_t since_seq;
    uint64_t until_seq;
    uint64_t since_at;
    uint64_t until_at;
    uint64_t since_ts;
    uint64_t until_ts;
    size_t   type_count;                /* types given in type, 0: any */
    char     type [KH_FILTER_MAX][KH_TYPE_MAX + 1];
    size_t   from_count;                /* senders given in from, 0: any */
    char     from [KH_FILTER_MAX][KH_SENDER_MAX + 1];
    bool     has_ref;                   /* only the item ref and messages about it */
    uint8_t  ref [KH_ID_SIZE];
    char     search [KH_SEARCH_BYTES + 1];  /* words, "" for none */
    uint32_t limit;                     /* rows in this page; 0 or > max: KH_QUERY_PAGE_MAX */
} kh_query_t;

/* Adds a type (a name of section 4) or a sender filter (an AGS, or 1-8 digits and
   '*') to the query. Returns 0, or -1 with why set (KH_EQUERY: not a type, not an
   AGS or prefix, or KH_FILTER_MAX given already). */
KH_EXPORT int kh_query_add_type (kh_query_t *query, const char *type, kh_problem_t *why);
KH_EXPORT int kh_query_add_from (kh_query_t *query, const char *from, kh_problem_t *why);
/* True if the query's types (none: any) hold type; if its senders (none: any)
   match the AGS from (exactly, or by a prefix filter). */
KH_EXPORT bool kh_query_wants_type (const kh_query_t *query, const char *type);
KH_EXPORT bool kh_query_wants_from (const kh_query_t *query, const char *from);

/* ------------------------------------------------------------------- items */
/* A query of the catalogue (PROTOCOL.md section 14): the items as their messages
   left them, sorted by last activity, newest first. Zero / empty means "any". */
typedef struct {
    uint64_t req;                       /* chosen by the client, echoed in the reply */
    bool     has_id;                    /* only the item with this id */
    uint8_t  id [KH_ID_SIZE];
    size_t   type_count;                /* item types, 0: any */
    char     type [KH_FILTER_MAX][KH_TYPE_MAX + 1];
    size_t   from_count;                /* owners: AGS or prefix as in kh_query_t */
    char     from [KH_FILTER_MAX][KH_SENDER_MAX + 1];
    size_t   status_count;              /* lifecycle stages now, 0: any */
    char     status [KH_FILTER_MAX][KH_STAGE_MAX + 1];
    uint32_t hf;                        /* Handlungsfeld 1-5, 0: any */
    char     topic [KH_TOPIC_BYTES + 1];    /* exactly this topic, "" any */
    char     participant [KH_AGS_MAX + 1];  /* joined or interested now, or named as
                                               lead or participant by its fields */
    bool     open;                      /* only items neither done, withdrawn nor expired */
    char     search [KH_SEARCH_BYTES + 1];  /* words in its texts or its messages' */
    uint64_t before;                    /* only items whose last_seq is below (0: none) */
    uint32_t limit;                     /* rows in this page; 0 or > max: KH_QUERY_PAGE_MAX */
} kh_items_query_t;

/* A body that answered an item with an interest, as its latest interest left it. */
typedef struct {
    char     ags [KH_AGS_MAX + 1];
    char     state [KH_STAGE_MAX + 1];  /* interested, joined, declined or left */
    uint64_t since;                     /* that interest's publication time, ms */
    uint64_t seq;                       /*   and seq */
} kh_participant_t;

/* An item now. Views (fields, participants) point into the reply that carried it
   and live as long as the callback that is given the item. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    uint64_t seq;                       /* its first message */
    char     type [KH_TYPE_MAX + 1];
    char     owner [KH_AGS_MAX + 1];    /* its first message's from */
    uint64_t ts;                        /* its first message's publication time, ms */
    char     status [KH_STAGE_MAX + 1]; /* its stage in the lifecycle */
    uint64_t status_seq;                /* the message that set it, and its */
    uint64_t status_ts;                 /*   publication time */
    bool     expired;                   /* its valid_until is before today (Berlin) */
    uint32_t interested;                /* bodies whose latest interest says so */
    uint32_t joined;
    uint32_t declined;
    uint32_t left;
    uint64_t messages;                  /* messages about it, its first included */
    uint64_t last_seq;                  /* its latest message (last activity) */
    uint64_t last_ts;
    const uint8_t *fields;              /* its fields now: a msgpack map as in a body */
    size_t   fields_size;
    size_t   participant_count;
    const kh_participant_t *participants;   /* in the order they first answered */
} kh_item_t;

/* Writes item field name ("title", "hf", "keywords", ...) as text into out (lists
   joined by ", "); "" if the item does not have it. Returns 0, or -1 if out is too
   small (out then holds a cut, valid UTF-8 prefix) or the fields are malformed. */
KH_EXPORT int kh_item_field (const kh_item_t *item, const char *name, char *out,
                             size_t size);

/* ------------------------------------------------------------------- stats */
/* A count of the log (PROTOCOL.md section 14): messages and items, grouped by the
   given dimension, over the messages the filters select. */
typedef struct {
    uint64_t req;                       /* chosen by the client, echoed in the reply */
    char     by [KH_STAGE_MAX + 1];     /* "" (totals), municipality, type, month, hf,
                                           status */
    uint64_t since_ts;                  /* publication time, inclusive, 0: no bound */
    uint64_t until_ts;
    size_t   type_count;
    char     type [KH_FILTER_MAX][KH_TYPE_MAX + 1];
    size_t   from_count;
    char     from [KH_FILTER_MAX][KH_SENDER_MAX + 1];
} kh_stats_query_t;

/* One group of a count: its key (an AGS, a type, "YYYY-MM" in Berlin, "1".."5",
   a stage; "" for messages that have none, e.g. no hf) and what it holds. */
typedef struct {
    char     key [KH_TYPE_MAX + 1];
    uint64_t items;                     /* items begun in the group */
    uint64_t messages;                  /* messages in the group, items included */
} kh_stats_row_t;

/* A whole count, as kh_client_stats returns it. */
typedef struct {
    uint64_t items;                     /* totals over the selected messages */
    uint64_t messages;
    uint64_t head;                      /* the store's last seq */
    uint64_t store_bytes;               /* the store's size on disk */
    bool     more;                      /* groups beyond KH_QUERY_PAGE_MAX were left out */
    size_t   count;
    kh_stats_row_t *rows;               /* in the key's order */
} kh_stats_t;

/* Frees a count and sets *self_p to NULL; safe on NULL. */
KH_EXPORT void kh_stats_destroy (kh_stats_t **self_p);

/* What the broker counts while it runs (PROTOCOL.md section 14). */
typedef struct {
    uint64_t uptime_ms;
    uint32_t clients;                   /* connections on the client endpoint now */
    uint32_t subscribers;               /* connections on the live endpoint now */
    bool     recorder_up;
    uint64_t head;                      /* last seq published live */
    uint64_t published;                 /* records published live since start */
    uint64_t rate;                      /* records published per second, last 10 s */
    uint64_t errors;                    /* ERROR replies sent since start */
    uint64_t busy;                      /*   of them BUSY */
    uint64_t audit_dropped;             /* audit records it could not keep */
} kh_counters_t;

/* ------------------------------------------------------------------ audit */
/* What the hub refused (PROTOCOL.md section 12): a message it answered with an
   ERROR or dropped unanswered, or a connection it refused; and a note of the hub's
   own when it had to drop audit records. Every text is bounded, valid UTF-8 without
   control characters, and "" where it is not known. */
#define KH_AUDIT_NAME_MAX   16              /* endpoint, command, role: bytes with NUL */
#define KH_AUDIT_PEER_MAX   64              /* a peer's address, with NUL */
#define KH_AUDIT_KEY_MAX    41              /* a Z85 public key (40 chars) and NUL */
#define KH_AUDIT_REASON_MAX 128             /* a reason's bytes with NUL */

typedef struct {
    uint64_t seq;                       /* the audit's own, gap-free from 1 (0: not stored) */
    uint64_t at;                        /* the broker's clock at the refusal, ms since epoch */
    int      code;                      /* kh_err_t; 0 for a note of the hub's own */
    uint32_t size;                      /* bytes of the refused message; 0 for a connection */
    char     endpoint [KH_AUDIT_NAME_MAX];  /* "client", "live", "recorder", "broker" */
    char     command [KH_AUDIT_NAME_MAX];   /* the command frame (PUBLISH, ...), CONNECT */
    char     peer [KH_AUDIT_PEER_MAX];      /* the peer's IP (with :port for a connection) */
    char     claimed [KH_AGS_MAX + 1];      /* the envelope's from, when readable */
    char     ags [KH_AGS_MAX + 1];          /* the certificate the connection was made */
    char     role [KH_AUDIT_NAME_MAX];      /*   with: its ags, role and public key */
    char     key [KH_AUDIT_KEY_MAX];
    char     reason [KH_AUDIT_REASON_MAX];  /* why, in a short sentence */
} kh_audit_t;

/* A query of the audit (admins only). Zero / empty means "no bound" / "any"; bounds
   are inclusive, since_at/until_at compare with the record's `at`. */
typedef struct {
    uint64_t req;                       /* chosen by the client, echoed in the reply */
    uint64_t since_seq;
    uint64_t until_seq;
    uint64_t since_at;
    uint64_t until_at;
    int      code;                      /* only this error code (0: any) */
    char     ags [KH_AGS_MAX + 1];      /* only this AGS, claimed or authenticated */
    uint32_t limit;                     /* rows in this page; 0 or > max: KH_QUERY_PAGE_MAX */
} kh_audit_query_t;

/* ----------------------------------------------------------------- errors */
/* An ERROR reply of the hub. */
typedef struct {
    bool     has_id;
    uint8_t  id [KH_ID_SIZE];           /* the publish this answers, if has_id */
    uint64_t req;                       /* the query this answers, 0 if none */
    int      code;                      /* kh_err_t */
    char     name [32];                 /* the code's wire name, as sent */
    char     reason [KH_REASON_MAX];
} kh_error_reply_t;

#ifdef __cplusplus
}
#endif
#endif
