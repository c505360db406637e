/*  kh_queries.c - the recorder's query actor: answers the reads the broker passes on
    (QUERY, AUDIT_QUERY, ITEMS, STATS) from a read-only store, beside the writer. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "kh_link.h"
#include "kh_parts.h"
#include "kh_queries.h"

/* A query of any kind, as its decoder fills it. */
typedef union {
    kh_query_t       query;
    kh_audit_query_t audit;
    kh_items_query_t items;
    kh_stats_query_t stats;
} s_any_query_t;

/* Decodes the size bytes at data into q and sets *req to its req (also when it
   fails, if the map had one). Returns 0, or -1 with why set. */
typedef int (s_decode_fn) (const void *data, size_t size, s_any_query_t *q, uint64_t *req,
                           kh_problem_t *why);
/* A reply's body on its way: size bytes at data, inside block (free it once sent). */
typedef struct {
    void       *block;
    const void *data;
    size_t      size;
} s_reply_t;

/* Answers q (of req) from reader: the reply's body into reply, built in buf or on
   its own. Returns KH_OK, or the error code with why set (reply empty). */
typedef int (s_answer_fn) (kh_store_t *reader, const s_any_query_t *q, uint64_t req,
                           msgpack_sbuffer *buf, s_reply_t *reply, kh_problem_t *why);

/* A kind of read the broker passes on: [command][client][query], answered
   [rows][client][reply] or [error][client][error]. */
typedef struct {
    const char  *command;
    const char  *rows;
    const char  *error;
    s_decode_fn *decode;
    s_answer_fn *answer;
} s_read_t;

static int
s_decode_query (const void *data, size_t size, s_any_query_t *q, uint64_t *req,
                kh_problem_t *why)
{
    int rc = kh_query_decode (data, size, &q->query, why);
    *req = q->query.req;
    return rc;
}

static int
s_decode_audit (const void *data, size_t size, s_any_query_t *q, uint64_t *req,
                kh_problem_t *why)
{
    int rc = kh_audit_query_decode (data, size, &q->audit, why);
    *req = q->audit.req;
    return rc;
}

static int
s_decode_items (const void *data, size_t size, s_any_query_t *q, uint64_t *req,
                kh_problem_t *why)
{
    int rc = kh_items_query_decode (data, size, &q->items, why);
    *req = q->items.req;
    return rc;
}

static int
s_decode_stats (const void *data, size_t size, s_any_query_t *q, uint64_t *req,
                kh_problem_t *why)
{
    int rc = kh_stats_query_decode (data, size, &q->stats, why);
    *req = q->stats.req;
    return rc;
}

/* Ends a page that a store call (rc) wrote into w: the ROWS reply, sealed in place
   (no copy of the page). Frees w. Returns KH_OK, or the error code with why set. */
static int
s_finish (kh_rows_writer_t *w, int rc, bool more, uint64_t next, s_reply_t *reply,
          kh_problem_t *why)
{
    int code = !w ? KH_ENOMEM : rc ? why->code : KH_OK;
    if (code == KH_ENOMEM)
        kh_problem (why, KH_ENOMEM, "recorder: out of memory for a page");
    if (code == KH_OK)
        reply->data = kh_rows_writer_seal (w, more, next, &reply->size, &reply->block);
    kh_rows_writer_destroy (&w);
    return code;
}

static int
s_answer_query (kh_store_t *reader, const s_any_query_t *q, uint64_t req,
                msgpack_sbuffer *buf, s_reply_t *reply, kh_problem_t *why)
{
    kh_rows_writer_t *w = kh_rows_writer_new (req);
    bool more = false;
    uint64_t next = 0;
    int rc = w ? kh_store_query (reader, &q->query, w, &more, &next, why) : -1;
    return s_finish (w, rc, more, next, reply, why);
}

static int
s_answer_audit (kh_store_t *reader, const s_any_query_t *q, uint64_t req,
                msgpack_sbuffer *buf, s_reply_t *reply, kh_problem_t *why)
{
    kh_rows_writer_t *w = kh_rows_writer_new (req);
    bool more = false;
    uint64_t next = 0;
    int rc = w ? kh_store_audit_query (reader, &q->audit, w, &more, &next, why) : -1;
    return s_finish (w, rc, more, next, reply, why);
}

static int
s_answer_items (kh_store_t *reader, const s_any_query_t *q, uint64_t req,
                msgpack_sbuffer *buf, s_reply_t *reply, kh_problem_t *why)
{
    kh_rows_writer_t *w = kh_rows_writer_new (req);
    bool more = false;
    uint64_t next = 0;
    int rc = w ? kh_store_items (reader, &q->items, w, &more, &next, why) : -1;
    return s_finish (w, rc, more, next, reply, why);
}

/* Hands the reply encoded in buf over as reply (buf is left empty). */
static void
s_take_buf (msgpack_sbuffer *buf, s_reply_t *reply)
{
    reply->size = buf->size;
    reply->block = msgpack_sbuffer_release (buf);
    reply->data = reply->block;
}

static int
s_answer_stats (kh_store_t *reader, const s_any_query_t *q, uint64_t req,
                msgpack_sbuffer *buf, s_reply_t *reply, kh_problem_t *why)
{
    kh_stats_t *stats = NULL;
    if (kh_store_stats (reader, &q->stats, &stats, why))
        return why->code;
    int rc = kh_stats_reply_encode (buf, req, stats);
    kh_stats_destroy (&stats);
    if (rc == 0) {
        s_take_buf (buf, reply);
        return KH_OK;
    }
    kh_problem (why, KH_ENOMEM, "recorder: out of memory for a count");
    return KH_ENOMEM;
}

static const s_read_t s_reads [] = {
    { KH_CMD_QUERY,       KH_REP_ROWS,       KH_REP_ERROR,       s_decode_query,
      s_answer_query },
    { KH_REC_AUDIT_QUERY, KH_REC_AUDIT_ROWS, KH_REC_AUDIT_ERROR, s_decode_audit,
      s_answer_audit },
    { KH_CMD_ITEMS,       KH_REP_ROWS,       KH_REP_ERROR,       s_decode_items,
      s_answer_items },
    { KH_CMD_STATS,       KH_REP_ROWS,       KH_REP_ERROR,       s_decode_stats,
      s_answer_stats },
};

/* Returns the kind of read whose command frame msg begins with, or NULL. */
static const s_read_t *
s_read_of (kh_parts_t *msg)
{
    for (size_t i = 0; i < sizeof s_reads / sizeof s_reads [0]; i++)
        if (kh_parts_is (msg, 0, s_reads [i].command))
            return &s_reads [i];
    return NULL;
}

int
kh_queries_refusal (kh_parts_t *msg, msgpack_sbuffer *buf, const char **command)
{
    const s_read_t *read = s_read_of (msg);
    assert (read);                      /* the recorder passes only the reads */
    s_any_query_t query;
    kh_problem_t why = { 0 };
    uint64_t req = 0;
    int code = KH_EUNAVAILABLE;
    const char *reason = "the recorder has too many queries waiting; try again";
    zmq_msg_t *body = kh_parts_at (msg, 2);
    if (read->decode (zmq_msg_data (body), zmq_msg_size (body), &query, &req, &why)) {
        code = KH_EQUERY;
        reason = why.reason;
    }
    *command = read->error;
    return kh_error_encode (buf, NULL, req, code, reason) ? -1 : 0;
}


/* Frees a reply's block (hint) once libzmq is done with the reply in it. */
static void
s_free (void *data, void *hint)
{
    free (hint);
}

/* Answers [command][client][query] of the kind read from reader: [rows][client][reply]
   or [error][client][error] back up the pipe. The reply goes without a copy. */
static void
s_query_answer (kh_store_t *reader, void *pipe, kh_parts_t *msg, const s_read_t *read,
                msgpack_sbuffer *buf)
{
    s_any_query_t query;
    kh_problem_t why = { 0 };
    uint64_t req = 0;
    zmq_msg_t *body = kh_parts_at (msg, 2);
    s_reply_t reply = { NULL, NULL, 0 };
    msgpack_sbuffer_clear (buf);
    int code = read->decode (zmq_msg_data (body), zmq_msg_size (body), &query, &req, &why)
             ? KH_EQUERY : read->answer (reader, &query, req, buf, &reply, &why);
    const char *command = read->rows;
    if (code != KH_OK) {
        msgpack_sbuffer_clear (buf);
        if (kh_error_encode (buf, NULL, req, code, why.reason)) {
            zsys_error ("recorder: out of memory encoding a query's ERROR; not sent");
            return;                     /* the broker forgets the query after a while */
        }
        s_take_buf (buf, &reply);
        command = read->error;
    }
    zmq_msg_t out;
    if (zmq_msg_init_data (&out, (void *) reply.data, reply.size, s_free, reply.block)) {
        free (reply.block);
        return;
    }
    zmq_send (pipe, command, strlen (command), ZMQ_SNDMORE);
    zmq_msg_send (kh_parts_at (msg, 1), pipe, ZMQ_SNDMORE);
    zmq_msg_send (&out, pipe, 0);
    zmq_msg_close (&out);
}

void
kh_queries_actor (zsock_t *pipe, void *args)
{
    kh_store_t *reader = (kh_store_t *) args;
    void *handle = zsock_resolve (pipe);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    zsock_signal (pipe, 0);
    for (bool running = true; running; ) {
        kh_parts_t msg;
        int frames = kh_parts_recv (&msg, handle, 0);
        if (frames < 0 && zmq_errno () == EINTR)
            continue;                   /* a signal: the recorder will say $TERM */
        if (frames < 0)
            break;
        running = !kh_parts_is (&msg, 0, "$TERM");
        const s_read_t *read = frames == 3 ? s_read_of (&msg) : NULL;
        if (read)
            s_query_answer (reader, handle, &msg, read, &buf);
        kh_parts_close (&msg);
    }
    msgpack_sbuffer_destroy (&buf);
    kh_store_destroy (&reader);
}
