/*  kh_client.c - kh_client_t: one DEALER connection to the broker for publish, ping
    and history queries (PROTOCOL.md section 2 and 5).

    Replies are read with kh_parts into frames the client owns and reuses, so the
    steady state of a pipelined publisher allocates nothing per reply here. Decoded
    views (a ROWS page) point into the last body received and stay valid until the
    client receives again.
*/
#include <errno.h>
#include <string.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_client_priv.h"
#include "kh_watch.h"

#define S_SEND_TIMEOUT  5000    /* ms a send may wait for room in the socket queue */
#define S_SEND_HWM      100000  /* requests queued towards the broker, at most */
#define S_BACKOFF_MS    100     /* pause before resending after a transient refusal */
#define S_DRAIN_MS      1000    /* answers still in flight of a range that ended are
                                   waited for so long at most (s_pages_drain) */

struct _kh_client_t {
    zsock_t         *dealer;            /* connected to the broker's client endpoint */
    void            *handle;            /* dealer's libzmq socket */
    kh_parts_t       reply;             /* the last reply: [command][body] */
    msgpack_sbuffer  buf;               /* requests are encoded here */
    uint64_t         next_req;          /* last query req used */
    kh_error_reply_t last_error;        /* last ERROR answering our query/publish */
    kh_watch_t      *watch;             /* the connection's state, or NULL */
};

/* --------------------------------------------------------------- lifecycle */

kh_client_t *
kh__client_new (const char *endpoint, const kh_keys_t *keys, bool watch)
{
    if (!endpoint || !*endpoint)
        return NULL;
    kh_client_t *self = (kh_client_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer) {
        free (self);
        return NULL;
    }
    self->handle = zsock_resolve (self->dealer);
    zsock_set_linger (self->dealer, 0);
    zsock_set_maxmsgsize (self->dealer, KH_CLIENT_FRAME_MAX);
    zsock_set_sndtimeo (self->dealer, S_SEND_TIMEOUT);
    zsock_set_sndhwm (self->dealer, S_SEND_HWM);
    zsock_set_rcvhwm (self->dealer, S_SEND_HWM);
    if (keys)
        kh__keys_apply (keys, self->dealer);
    msgpack_sbuffer_init (&self->buf);
    if (watch)                          /* before the connection, to see all of it */
        self->watch = kh__watch_new (self->dealer);
    if ((watch && !self->watch) || zsock_connect (self->dealer, "%s", endpoint)) {
        kh_client_destroy (&self);
        return NULL;
    }
    return self;
}

kh_client_t *
kh_client_new (const char *endpoint)
{
    return kh__client_new (endpoint, NULL, false);
}

kh_client_t *
kh_client_new_secure (const char *endpoint, const kh_keys_t *keys)
{
    return keys ? kh__client_new (endpoint, keys, false) : NULL;
}

kh_client_t *
kh_client_new_watched (const char *endpoint, const kh_keys_t *keys)
{
    return kh__client_new (endpoint, keys, true);
}

kh_link_t
kh_client_link (kh_client_t *self)
{
    return self ? kh__watch_link (self->watch) : KH_LINK_UNKNOWN;
}

void
kh_client_destroy (kh_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_client_t *self = *self_p;
    kh__watch_destroy (&self->watch, self->dealer);     /* before the socket closes */
    zsock_destroy (&self->dealer);
    kh_parts_close (&self->reply);
    msgpack_sbuffer_destroy (&self->buf);
    free (self);
    *self_p = NULL;
}

const kh_error_reply_t *
kh_client_last_error (kh_client_t *self)
{
    return self ? &self->last_error : NULL;
}

/* ------------------------------------------------------------------ timing */

int64_t
kh__deadline (int timeout_ms)
{
    return timeout_ms < 0 ? -1 : zclock_mono () + timeout_ms;
}

int
kh__wait_readable (void *handle, int64_t deadline)
{
    assert (handle);
    for (;;) {
        long timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zclock_mono ();
            timeout = left > 0 ? (long) left : 0;
        }
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (&item, 1, timeout);
        if (rc > 0)
            return 0;
        if (rc == 0 || errno != EINTR || zsys_interrupted)
            return KH_ETIMEOUT;
    }
}

/* --------------------------------------------------------------- transport */

/* Sends [command][body] (body NULL: the command alone). Returns 0, or
   KH_ETIMEOUT if the queue towards the broker stayed full. */
static int
s_send (kh_client_t *self, const char *command, const void *body, size_t size)
{
    int flags = body ? ZMQ_SNDMORE : 0;
    if (zmq_send (self->handle, command, strlen (command), flags) < 0)
        return errno == EAGAIN ? KH_ETIMEOUT : KH_EIO;
    if (body && zmq_send (self->handle, body, size, 0) < 0)
        return KH_EIO;              /* cannot block once the first part went */
    return 0;
}

int
kh__recv (void *handle, kh_parts_t *parts, int64_t deadline)
{
    assert (handle && parts);
    for (;;) {
        kh_parts_close (parts);
        int frames = kh_parts_recv (parts, handle, ZMQ_DONTWAIT);
        if (frames == 1 || frames == 2)
            return 0;
        if (frames > 2)
            continue;                   /* not a kreishub message: skip it */
        if (frames < 0 && zmq_errno () != EINTR)
            return KH_EIO;
        int rc = kh__wait_readable (handle, deadline);
        if (rc)
            return rc;
    }
}

const void *
kh__body (kh_parts_t *parts, size_t *size)
{
    assert (parts && size);
    zmq_msg_t *body = kh_parts_at (parts, 1);
    *size = body ? zmq_msg_size (body) : 0;
    return body ? zmq_msg_data (body) : NULL;
}

/* Receives the next reply, waiting until the deadline. Returns 0, KH_ETIMEOUT, or
   KH_EIO if the socket failed. */
static int
s_recv (kh_client_t *self, int64_t deadline)
{
    return kh__recv (self->handle, &self->reply, deadline);
}

/* True if the last reply's command frame is name. */
static bool
s_is (kh_client_t *self, const char *name)
{
    return kh_parts_is (&self->reply, 0, name);
}

/* ----------------------------------------------------------------- publish */

int
kh_client_send (kh_client_t *self, const void *envelope, size_t size)
{
    if (!self || !envelope)
        return KH_EINVAL;
    if (size > KH_FRAME_MAX)
        return KH_ETOOLARGE;           /* the broker would cut the connection */
    return s_send (self, KH_CMD_PUBLISH, envelope, size);
}

/* Reads the last reply as an answer to a publish. Returns 0 if it is an ACK or
   ERROR (reply filled), -1 for anything else. */
static int
s_read_reply (kh_client_t *self, kh_reply_t *reply)
{
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->reply, &size);
    memset (reply, 0, sizeof *reply);
    if (s_is (self, KH_REP_ACK)) {
        reply->kind = KH_REPLY_ACK;
        return kh_ack_decode (body, size, reply->id, &reply->seq, &reply->dup, &why);
    }
    if (s_is (self, KH_REP_ERROR)) {
        reply->kind = KH_REPLY_ERROR;
        if (kh_error_decode (body, size, &reply->error, &why))
            return -1;
        if (reply->error.code == KH_OK)         /* an error must not read as success */
            reply->error.code = KH_EMALFORMED;
        return 0;
    }
    return -1;
}

int
kh_client_recv_reply (kh_client_t *self, int timeout_ms, kh_reply_t *reply)
{
    if (!self || !reply)
        return KH_EINVAL;
    int64_t deadline = kh__deadline (timeout_ms);
    for (;;) {
        int rc = s_recv (self, deadline);
        if (rc)
            return rc;
        if (s_read_reply (self, reply) == 0)
            return 0;
    }
}

/* True if reply answers the publish of id (has_id false: the id was unreadable). An
   ERROR that names no id answers only a publish whose id the hub could not read
   either (the hub reads ids with the same codec); for any other it is a late answer
   to something else this connection sent. */
static bool
s_answers (const kh_reply_t *reply, const uint8_t *id, bool has_id)
{
    if (reply->kind == KH_REPLY_ACK)
        return has_id && memcmp (reply->id, id, KH_ID_SIZE) == 0;
    if (reply->error.has_id)
        return has_id && memcmp (reply->error.id, id, KH_ID_SIZE) == 0;
    return !has_id && reply->error.req == 0;
}

/* Waits until the deadline for the answer to the publish of id. Returns 0 (ACK),
   KH_ETIMEOUT, or the error code of the ERROR (err filled). */
static int
s_await_publish (kh_client_t *self, const uint8_t *id, bool has_id, int64_t deadline,
                 uint64_t *seq, bool *dup, kh_error_reply_t *err)
{
    kh_reply_t reply;
    for (;;) {
        int rc = s_recv (self, deadline);
        if (rc)
            return rc;
        if (s_read_reply (self, &reply) || !s_answers (&reply, id, has_id))
            continue;
        if (reply.kind == KH_REPLY_ERROR) {
            self->last_error = reply.error;
            if (err)
                *err = reply.error;
            return reply.error.code;
        }
        if (seq)
            *seq = reply.seq;
        if (dup)
            *dup = reply.dup;
        return 0;
    }
}

int
kh_client_publish (kh_client_t *self, const void *envelope, size_t size, int timeout_ms,
                   int retries, uint64_t *seq, bool *dup, kh_error_reply_t *err)
{
    if (err)
        memset (err, 0, sizeof *err);
    if (!self || !envelope)
        return KH_EINVAL;
    /* The id is read with the codec; an envelope the codec refuses is sent all the
       same, so that the hub's answer (with the same codes) is what the caller sees. */
    kh_envelope_t env;
    memset (&env, 0, sizeof env);
    bool has_id = false;
    kh_problem_t why;
    kh_envelope_check (envelope, size, &env, &has_id, &why);
    int rc = KH_ETIMEOUT;
    bool unanswered = false;            /* an attempt may still be stored */
    for (int attempt = 0; attempt <= (retries > 0 ? retries : 0); attempt++) {
        if (kh_err_transient (rc)) {
            int pause = S_BACKOFF_MS * attempt;
            zclock_sleep (timeout_ms >= 0 && pause > timeout_ms ? timeout_ms : pause);
        }
        int sent = kh_client_send (self, envelope, size);
        if (sent)
            return sent;
        rc = s_await_publish (self, env.id, has_id, kh__deadline (timeout_ms), seq, dup,
                              err);
        if (rc != KH_ETIMEOUT && !kh_err_transient (rc))
            return rc;
        unanswered |= rc == KH_ETIMEOUT;
        if (zsys_interrupted)
            break;
    }
    /* A refusal after an attempt nobody answered does not settle that attempt: the
       broker may have handed it to a recorder that died, and the next one stores it.
       The caller must hear "unknown", not "not stored". */
    return unanswered ? KH_ETIMEOUT : rc;
}

/* -------------------------------------------------------------------- ping */

int
kh_client_ping (kh_client_t *self, int timeout_ms, uint64_t *head, bool *recorder_up)
{
    if (!self)
        return KH_EINVAL;
    int rc = s_send (self, KH_CMD_PING, NULL, 0);
    int64_t deadline = kh__deadline (timeout_ms);
    while (rc == 0 && (rc = s_recv (self, deadline)) == 0) {
        uint64_t h;
        bool up;
        kh_problem_t why;
        size_t size;
        const void *body = kh__body (&self->reply, &size);
        if (s_is (self, KH_REP_PONG) && kh_pong_decode (body, size, &h, &up, &why) == 0) {
            if (head)
                *head = h;
            if (recorder_up)
                *recorder_up = up;
            return 0;
        }
        kh_error_reply_t err;
        if (s_is (self, KH_REP_ERROR) && kh_error_decode (body, size, &err, &why) == 0
        &&  !err.has_id && err.req == 0 && err.code != KH_OK) {
            self->last_error = err;     /* a refusal of whoever we are, e.g. FORBIDDEN */
            return err.code;
        }
    }
    return rc;
}

/* ------------------------------------------------------------------- query */

/* Reads the last reply as an ERROR answering req: returns its code (KH_EQUERY if it
   carries none), or -1 if it is not one. */
static int
s_error_for (kh_client_t *self, uint64_t req)
{
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->reply, &size);
    kh_error_reply_t err;
    if (!s_is (self, KH_REP_ERROR) || kh_error_decode (body, size, &err, &why)
    ||  err.req != req)
        return -1;
    self->last_error = err;
    return err.code != KH_OK ? err.code : KH_EQUERY;
}

/* ------------------------------------------------------------------- pages */

/*  Three queries page through their answers alike (records, the audit, the
    catalogue): ask with a cursor, hand each row of the ROWS to the caller's
    callback, ask again from the page's next while more, until the callback stops or
    max_rows came. A kind says what differs: the command, how the query is encoded
    with req, limit and cursor set, how its page is decoded, released and handed on,
    and which way the cursor goes (since_seq = next up, before = next down). */
typedef union {
    kh_rows_t       records;
    kh_audit_rows_t audit;
    kh_item_rows_t  items;
} s_rows_t;

/* What every page says beside its rows. */
typedef struct {
    uint64_t req;
    bool     more;
    uint64_t next;
    uint32_t count;
} s_head_t;

typedef void (s_any_fn) (void);         /* the caller's callback, of the kind's type */

typedef struct {
    const char *command;
    bool        down;                   /* the cursor goes down (before = next) */
    int  (*encode) (msgpack_sbuffer *out, const void *query, uint64_t req, uint32_t limit,
                    uint64_t cursor);
    int  (*decode) (const void *data, size_t size, s_rows_t *rows, s_head_t *head,
                    kh_problem_t *why);
    void (*release) (s_rows_t *rows);
    int  (*deliver) (const s_rows_t *rows, uint32_t i, s_any_fn *callback, void *arg);
} s_kind_t;

static int
s_records_encode (msgpack_sbuffer *out, const void *query, uint64_t req, uint32_t limit,
                  uint64_t cursor)
{
    kh_query_t q = *(const kh_query_t *) query;
    q.req = req;
    q.limit = limit;
    q.since_seq = cursor;
    return kh_query_encode (out, &q);
}

static int
s_records_decode (const void *data, size_t size, s_rows_t *rows, s_head_t *head,
                  kh_problem_t *why)
{
    int rc = kh_rows_decode (data, size, &rows->records, why);
    *head = (s_head_t) { rows->records.req, rows->records.more, rows->records.next,
                         rows->records.count };
    return rc;
}

static void
s_records_release (s_rows_t *rows)
{
    kh_rows_release (&rows->records);
}

static int
s_records_deliver (const s_rows_t *rows, uint32_t i, s_any_fn *callback, void *arg)
{
    return ((kh_record_fn *) callback) (&rows->records.rows [i], arg);
}

static const s_kind_t s_records = { KH_CMD_QUERY, false, s_records_encode,
                                    s_records_decode, s_records_release,
                                    s_records_deliver };

static int
s_audit_encode (msgpack_sbuffer *out, const void *query, uint64_t req, uint32_t limit,
                uint64_t cursor)
{
    kh_audit_query_t q = *(const kh_audit_query_t *) query;
    q.req = req;
    q.limit = limit;
    q.since_seq = cursor;
    return kh_audit_query_encode (out, &q);
}

static int
s_audit_decode (const void *data, size_t size, s_rows_t *rows, s_head_t *head,
                kh_problem_t *why)
{
    int rc = kh_audit_rows_decode (data, size, &rows->audit, why);
    *head = (s_head_t) { rows->audit.req, rows->audit.more, rows->audit.next,
                         rows->audit.count };
    return rc;
}

static void
s_audit_release (s_rows_t *rows)
{
    kh_audit_rows_release (&rows->audit);
}

static int
s_audit_deliver (const s_rows_t *rows, uint32_t i, s_any_fn *callback, void *arg)
{
    return ((kh_audit_fn *) callback) (&rows->audit.rows [i], arg);
}

static const s_kind_t s_audit = { KH_CMD_AUDIT, false, s_audit_encode, s_audit_decode,
                                  s_audit_release, s_audit_deliver };

static int
s_items_encode (msgpack_sbuffer *out, const void *query, uint64_t req, uint32_t limit,
                uint64_t cursor)
{
    kh_items_query_t q = *(const kh_items_query_t *) query;
    q.req = req;
    q.limit = limit;
    q.before = cursor;
    return kh_items_query_encode (out, &q);
}

static int
s_items_decode (const void *data, size_t size, s_rows_t *rows, s_head_t *head,
                kh_problem_t *why)
{
    int rc = kh_item_rows_decode (data, size, &rows->items, why);
    *head = (s_head_t) { rows->items.req, rows->items.more, rows->items.next,
                         rows->items.count };
    return rc;
}

static void
s_items_release (s_rows_t *rows)
{
    kh_item_rows_release (&rows->items);
}

static int
s_items_deliver (const s_rows_t *rows, uint32_t i, s_any_fn *callback, void *arg)
{
    return ((kh_item_fn *) callback) (&rows->items.rows [i], arg);
}

static const s_kind_t s_items = { KH_CMD_ITEMS, true, s_items_encode, s_items_decode,
                                  s_items_release, s_items_deliver };

/* Reads the last reply as the answer to req (a question whose answer read reads,
   with ctx). Returns 0 with the answer read, the hub's error code for an ERROR
   naming req, or -1 if it answers something else (or cannot be read). */
typedef int (s_answer_fn) (kh_client_t *self, uint64_t req, void *ctx);

/* Where a page goes: the kind that reads it, its rows and head. */
typedef struct {
    const s_kind_t *kind;
    s_rows_t       *rows;
    s_head_t        head;
} s_page_t;

static int
s_read_page (kh_client_t *self, uint64_t req, void *ctx)
{
    s_page_t *page = (s_page_t *) ctx;
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->reply, &size);
    if (!s_is (self, KH_REP_ROWS))
        return s_error_for (self, req);
    if (page->kind->decode (body, size, page->rows, &page->head, &why))
        return -1;
    if (page->head.req == req)
        return 0;
    page->kind->release (page->rows);
    return -1;
}

/* Sends [command][self->buf], a question whose req is req, and waits up to
   timeout_ms for its answer, read by read with ctx. Returns 0 (answer read), the
   hub's code, KH_ETIMEOUT or KH_EIO. */
static int
s_ask (kh_client_t *self, const char *command, uint64_t req, int timeout_ms,
       s_answer_fn *read, void *ctx)
{
    int rc = s_send (self, command, self->buf.data, self->buf.size);
    int64_t deadline = kh__deadline (timeout_ms);
    while (rc == 0 && (rc = s_recv (self, deadline)) == 0) {
        rc = read (self, req, ctx);
        if (rc >= 0)
            return rc;
        rc = 0;
    }
    return rc;
}

/* Asks for one page of query as kind: cursor and limit as given, req new. Returns
   0 with rows and head read, or a code as s_ask. */
static int
s_page (kh_client_t *self, const s_kind_t *kind, const void *query, uint32_t limit,
        uint64_t cursor, int timeout_ms, s_rows_t *rows, s_head_t *head)
{
    memset (rows, 0, sizeof *rows);
    uint64_t req = ++self->next_req;
    msgpack_sbuffer_clear (&self->buf);
    if (kind->encode (&self->buf, query, req, limit, cursor))
        return KH_ENOMEM;
    s_page_t page = { kind, rows, { 0 } };
    int rc = s_ask (self, kind->command, req, timeout_ms, s_read_page, &page);
    *head = page.head;
    return rc;
}

/* ------------------------------------------------------- pages of a range */

void
kh__pages_start (kh__pages_t *pages, const kh_query_t *query)
{
    assert (pages && query);
    const kh_query_t *q = query;
    memset (pages, 0, sizeof *pages);
    pages->query = *query;
    pages->query.req = 0;
    pages->query.limit = 0;
    if (!pages->query.since_seq)
        pages->query.since_seq = 1;
    pages->from = pages->query.since_seq;
    pages->windowed = !q->type_count && !q->from_count && !q->has_ref && !q->search [0]
                   && !q->since_at && !q->until_at && !q->since_ts && !q->until_ts;
    pages->window = KH_QUERY_PAGE_MAX;
    pages->done = q->until_seq && pages->query.since_seq > q->until_seq;
}

bool
kh__pages_done (const kh__pages_t *pages)
{
    assert (pages);
    return pages->done;
}

/* Asks for the next page of pages: a window from query.since_seq, or the rest of
   the range. Returns 0 or a code as s_send. */
static int
s_pages_ask (kh_client_t *self, kh__pages_t *pages)
{
    kh_query_t q = pages->query;
    uint64_t until = pages->query.until_seq;
    if (pages->windowed) {
        uint64_t end = q.since_seq + pages->window - 1;
        if (end < q.since_seq)
            end = UINT64_MAX;
        if (!until || end < until)
            until = end;
        q.until_seq = until;
        q.limit = pages->window;
    }
    q.req = ++self->next_req;
    msgpack_sbuffer_clear (&self->buf);
    if (kh_query_encode (&self->buf, &q))
        return KH_ENOMEM;
    int rc = s_send (self, KH_CMD_QUERY, self->buf.data, self->buf.size);
    if (rc)
        return rc;
    if (pages->flying == 0)
        pages->first_req = q.req;
    pages->ends [pages->flying++] = until;
    if (pages->windowed)
        pages->query.since_seq = until + 1;
    return 0;
}

/* Receives until the answer to req, the oldest page in flight (which is read into
   rows as s_read_page reads it), or an ERROR for any page in flight; answers to the
   reqs before it are dropped, and counted off stale. Returns 0, the hub's code,
   KH_ETIMEOUT or KH_EIO. */
static int
s_pages_recv (kh_client_t *self, kh__pages_t *pages, uint64_t req, int64_t deadline,
              kh_rows_t *rows)
{
    for (;;) {
        int rc = s_recv (self, deadline);
        if (rc)
            return rc;
        s_rows_t page;
        memset (&page, 0, sizeof page);
        s_page_t read = { &s_records, &page, { 0 } };
        rc = s_read_page (self, req, &read);
        if (rc == 0)
            *rows = page.records;
        if (rc >= 0)
            return rc;
        /* A refusal may overtake the answers before it (the broker's or recorder's
           UNAVAILABLE): one for a later page in flight fails this one too. */
        for (uint32_t i = 1; i < pages->flying && s_is (self, KH_REP_ERROR); i++)
            if ((rc = s_error_for (self, req + i)) >= 0)
                return rc;
        if (pages->stale > 0)           /* (an unreadable reply counts as one) */
            pages->stale--;
    }
}

/* Drops the answers still to come of a range that ended or was cut: read as they
   come, until none is left, the deadline (-1: none) passes, or S_DRAIN_MS did. An
   answer may never come (a broker or recorder whose queue to us was full dropped
   it), so the wait is bounded even without a deadline; one that comes later is
   dropped where it arrives, by its req (s_pages_recv, s_ask). Returns 0, or
   KH_EIO if the socket failed. */
static int
s_pages_drain (kh_client_t *self, kh__pages_t *pages, int64_t deadline)
{
    int64_t bound = zclock_mono () + S_DRAIN_MS;
    if (deadline < 0 || deadline > bound)
        deadline = bound;
    while (pages->stale > 0) {
        int rc = s_recv (self, deadline);
        if (rc == KH_EIO)
            return rc;
        if (rc) {
            pages->stale = 0;           /* given up: dropped by req if they come */
            return 0;
        }
        pages->stale--;
    }
    return 0;
}

/* Takes in rows, the page that answered the oldest query in flight: ends the
   range, or moves on past it. */
static void
s_pages_took (kh__pages_t *pages, const kh_rows_t *rows)
{
    uint64_t since = pages->from, end = pages->ends [0];
    pages->from = rows->next;
    pages->flying--;
    pages->first_req++;
    memmove (&pages->ends [0], &pages->ends [1], pages->flying * sizeof pages->ends [0]);
    bool advanced = rows->next > since;
    pages->stuck = rows->more && !advanced;
    if (!pages->windowed) {
        /* A page that does not advance would loop for ever: end the range there. */
        pages->done = !rows->more || !advanced;
        pages->query.since_seq = rows->next;
        return;
    }
    bool whole = !rows->more && rows->count == end - since + 1;
    if (whole) {
        pages->from = end + 1;
        pages->done = end == pages->query.until_seq;
        return;
    }
    /* Cut by bytes, or the store ends here: what is in flight starts too late. */
    pages->stale += pages->flying;
    pages->flying = 0;
    pages->done = !rows->more || !advanced;
    pages->query.since_seq = rows->next;
    if (rows->more && rows->count > 0)
        pages->window = rows->count > 4 ? rows->count * 3 / 4 : rows->count;
}

int
kh__pages_next (kh_client_t *self, kh__pages_t *pages, int timeout_ms, kh_rows_t *rows)
{
    assert (self && pages && rows);
    memset (rows, 0, sizeof *rows);
    if (pages->done)
        return 0;
    int64_t deadline = kh__deadline (timeout_ms);
    uint64_t until = pages->query.until_seq;
    int rc = s_pages_drain (self, pages, deadline);
    uint32_t ahead = pages->windowed ? KH__PAGES_AHEAD : 1;
    while (rc == 0 && pages->flying < ahead && pages->query.since_seq != 0  /* wrapped */
       &&  (!until || pages->query.since_seq <= until))
        rc = s_pages_ask (self, pages);
    if (rc == 0)
        rc = s_pages_recv (self, pages, pages->first_req, deadline, rows);
    if (rc) {
        /* Asked again from the first row not returned; what is in flight is dropped. */
        pages->stale = 0;
        pages->flying = 0;
        pages->query.since_seq = pages->from;
        return rc;
    }
    s_pages_took (pages, rows);
    return 0;
}

/* Pages through query as kind from cursor, handing every row to callback, until no
   more match, the callback stops, or max_rows (0: no limit) were delivered. Returns
   0, a code as s_ask, or KH_EMALFORMED for a page whose next does not move on. */
static int
s_paged (kh_client_t *self, const s_kind_t *kind, const void *query, uint64_t cursor,
         uint64_t max_rows, int timeout_ms, s_any_fn *callback, void *arg)
{
    for (uint64_t delivered = 0; ; ) {
        uint64_t left = max_rows ? max_rows - delivered : 0;
        uint32_t limit = left && left < KH_QUERY_PAGE_MAX ? (uint32_t) left
                                                          : KH_QUERY_PAGE_MAX;
        s_rows_t rows;
        s_head_t head;
        int rc = s_page (self, kind, query, limit, cursor, timeout_ms, &rows, &head);
        if (rc)
            return rc;
        bool stop = false;
        for (uint32_t i = 0; i < head.count && !stop; i++)
            stop = kind->deliver (&rows, i, callback, arg)
                || (max_rows && ++delivered >= max_rows);
        kind->release (&rows);
        if (stop || !head.more)
            return 0;
        /* A page that does not move on: not a kreishub hub. */
        if (kind->down ? head.next == 0 || (cursor && head.next >= cursor)
                       : head.next <= cursor)
            return KH_EMALFORMED;
        cursor = head.next;
    }
}

/* kh_client_query of a range without filters: windows of seqs asked ahead
   (kh__pages_t), max_rows (0: no limit) taken as the last seq it reaches, since
   the rows are gap-free. The answers still in flight when the callback stops are
   read and dropped before returning, so that the client's next question does not
   meet them. Returns as kh_client_query. */
static int
s_query_ahead (kh_client_t *self, const kh_query_t *query, uint64_t max_rows,
               int timeout_ms, kh_record_fn *callback, void *arg)
{
    kh_query_t range = *query;
    uint64_t since = range.since_seq ? range.since_seq : 1;
    if (max_rows && max_rows - 1 <= UINT64_MAX - since
    &&  (!range.until_seq || since + (max_rows - 1) < range.until_seq))
        range.until_seq = since + (max_rows - 1);
    kh__pages_t pages;
    kh__pages_start (&pages, &range);
    bool stop = false;
    int rc = 0;
    while (rc == 0 && !stop && !kh__pages_done (&pages)) {
        kh_rows_t rows;
        rc = kh__pages_next (self, &pages, timeout_ms, &rows);
        for (uint32_t i = 0; rc == 0 && i < rows.count && !stop; i++)
            stop = callback (&rows.rows [i], arg) != 0;
        kh_rows_release (&rows);
    }
    pages.stale += pages.flying;
    if (s_pages_drain (self, &pages, kh__deadline (timeout_ms)) && rc == 0)
        rc = KH_EIO;
    return rc == 0 && pages.stuck ? KH_EMALFORMED : rc;
}

int
kh_client_query (kh_client_t *self, const kh_query_t *query, uint64_t max_rows,
                 int timeout_ms, kh_record_fn *callback, void *arg)
{
    if (!self || !query || !callback)
        return KH_EINVAL;
    kh__pages_t probe;
    kh__pages_start (&probe, query);
    if (probe.windowed)
        return s_query_ahead (self, query, max_rows, timeout_ms, callback, arg);
    return s_paged (self, &s_records, query, query->since_seq, max_rows, timeout_ms,
                    (s_any_fn *) callback, arg);
}

int
kh_client_audit (kh_client_t *self, const kh_audit_query_t *query, uint64_t max_rows,
                 int timeout_ms, kh_audit_fn *callback, void *arg)
{
    if (!self || !query || !callback)
        return KH_EINVAL;
    return s_paged (self, &s_audit, query, query->since_seq, max_rows, timeout_ms,
                    (s_any_fn *) callback, arg);
}

int
kh_client_items (kh_client_t *self, const kh_items_query_t *query, uint64_t max_rows,
                 int timeout_ms, kh_item_fn *callback, void *arg)
{
    if (!self || !query || !callback)
        return KH_EINVAL;
    return s_paged (self, &s_items, query, 0, max_rows, timeout_ms, (s_any_fn *) callback,
                    arg);
}

/* ------------------------------------------------------------------- stats */

/* Reads the last reply as the count answering req into *ctx (a kh_stats_t **). */
static int
s_read_stats (kh_client_t *self, uint64_t req, void *ctx)
{
    kh_stats_t **stats_p = (kh_stats_t **) ctx;
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->reply, &size);
    uint64_t got = 0;
    if (!s_is (self, KH_REP_ROWS))
        return s_error_for (self, req);
    if (kh_stats_reply_decode (body, size, &got, stats_p, &why))
        return -1;
    if (got == req)
        return 0;
    kh_stats_destroy (stats_p);
    return -1;
}

int
kh_client_stats (kh_client_t *self, const kh_stats_query_t *query, int timeout_ms,
                 kh_stats_t **stats_p)
{
    if (stats_p)
        *stats_p = NULL;
    if (!self || !query || !stats_p)
        return KH_EINVAL;
    kh_stats_query_t q = *query;
    q.req = ++self->next_req;
    msgpack_sbuffer_clear (&self->buf);
    if (kh_stats_query_encode (&self->buf, &q))
        return KH_ENOMEM;
    return s_ask (self, KH_CMD_STATS, q.req, timeout_ms, s_read_stats, stats_p);
}

/* ---------------------------------------------------------------- counters */

/* Reads the last reply as the counters answering req into *ctx (a kh_counters_t);
   an ERROR naming req, or no id and no query (a refusal of whoever we are, as for
   a ping), is the answer too. */
static int
s_read_counters (kh_client_t *self, uint64_t req, void *ctx)
{
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->reply, &size);
    uint64_t got = 0;
    if (s_is (self, KH_REP_COUNTERS))
        return kh_counters_decode (body, size, &got, (kh_counters_t *) ctx, &why) == 0
            && got == req ? 0 : -1;
    int rc = s_error_for (self, req);
    if (rc < 0)
        rc = s_error_for (self, 0);
    return rc >= 0 && self->last_error.has_id ? -1 : rc;
}

int
kh_client_counters (kh_client_t *self, int timeout_ms, kh_counters_t *counters)
{
    if (!self || !counters)
        return KH_EINVAL;
    uint64_t req = ++self->next_req;
    msgpack_sbuffer_clear (&self->buf);
    if (kh_counters_query_encode (&self->buf, req))
        return KH_ENOMEM;
    return s_ask (self, KH_CMD_COUNTERS, req, timeout_ms, s_read_counters, counters);
}
