/*  kh_broker.c - the broker: validates publishes, has the recorder commit them, then
    acknowledges and publishes them live; passes queries through to the recorder. */
#include <errno.h>
#include <limits.h>
#include "kh_broker.h"
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_pending.h"

#define S_BATCH         256     /* messages read from one socket per wake-up, at most */
#define S_FLUSH_MAX     4096    /* STOREs handed to the recorder per loop turn, at most */
#define S_PARTS_MAX     5       /* frames kept of one message; the rest are only counted */
#define S_BEAT_MS       1000    /* heartbeat period */
#define S_BLOCKED_MS    10      /* retry period while the recorder's queue is full */
#define S_TOKEN_SIZE    8       /* bytes of a STORE token on the wire */
/* The recorder is ours and its ROWS pages may reach KH_QUERY_PAGE_BYTES plus one
   record, so its socket allows larger parts than the clients' KH_FRAME_MAX. */
#define S_RECORDER_FRAME_MAX (2 * KH_QUERY_PAGE_BYTES)

/*  The broker's whole state; one instance, touched only by the thread that runs it.
    Pending entries with tokens below send_from have been handed to the current
    recorder (or answered); entries from send_from on wait for it. */
struct _kh_broker_t {
    zsock_t  *client;                   /* ROUTER: [id][command][body] from clients */
    zsock_t  *live;                     /* XPUB: [topic][record] out, subscriptions in */
    zsock_t  *recorder;                 /* ROUTER: the recorder's DEALER connects here */
    void     *client_h;                 /* libzmq handles of the three, for zmq_send */
    void     *live_h;
    void     *recorder_h;
    char     *client_ep;                /* bound endpoints, real ports */
    char     *live_ep;
    char     *recorder_ep;
    kh_pending_t *pending;              /* publishes waiting for the recorder */
    zframe_t *rec_id;                   /* routing id of the latest recorder, or NULL */
    bool      rec_alive;                /* it said something within rec_ttl */
    int64_t   rec_seen;                 /* zclock_mono of its last message */
    int64_t   rec_ttl;                  /* ms of silence after which it is gone */
    int64_t   resend_ms;                /* ms after which an unanswered STORE goes again */
    zhashx_t *queries;                  /* client routing id (hex) -> s_queries_t */
    uint64_t  send_no;                  /* STOREs sent so far (numbers each send) */
    uint64_t  answered_no;              /* highest send_no the current recorder answered */
    int64_t   answered_at;              /* zclock_mono of its last STORED or FAILED */
    size_t    pending_bytes;            /* envelope bytes allowed to wait, at most */
    zhashx_t *senders;                  /* AGS allowed to publish, or NULL: any */
    uint64_t  send_from;                /* first token not yet handed to the recorder */
    bool      send_blocked;             /* the recorder's queue was full at last try */
    uint64_t  head;                     /* highest seq known to be committed */
    bool      head_known;               /* a recorder has told us the store's head */
    int64_t   next_beat;                /* zclock_mono when the heartbeat is due */
    msgpack_sbuffer buf;                /* reused by every encode on the hot path */
    kh_broker_stats_t stats;
    bool      verbose;
};

/* One received message: part [0] is the routing id, part [1] the command. Handlers may
   take a part by setting it to NULL; the rest are destroyed after the handler. */
typedef struct {
    zframe_t *part [S_PARTS_MAX];
    int       count;                    /* frames the message had, may exceed S_PARTS_MAX */
} s_parts_t;

typedef void (s_handler_fn) (kh_broker_t *self, s_parts_t *msg);

/* A command a peer may send, with how many frames it takes after the routing id
   (the command frame included). */
typedef struct {
    const char   *name;
    int           min_frames;
    int           max_frames;
    s_handler_fn *handler;
} s_command_t;

/* ------------------------------------------------------------ frames, sends */

static void
s_token_put (uint8_t out [S_TOKEN_SIZE], uint64_t token)
{
    for (int i = S_TOKEN_SIZE - 1; i >= 0; i--, token >>= 8)
        out [i] = (uint8_t) token;
}

/* Reads a token frame; returns 0, or -1 if it is not S_TOKEN_SIZE bytes. */
static int
s_token_get (zframe_t *frame, uint64_t *token)
{
    if (zframe_size (frame) != S_TOKEN_SIZE)
        return -1;
    const uint8_t *data = zframe_data (frame);
    *token = 0;
    for (int i = 0; i < S_TOKEN_SIZE; i++)
        *token = *token << 8 | data [i];
    return 0;
}

/* Receives one whole message, keeping its first S_PARTS_MAX frames. Returns 0, or -1
   if the receive was interrupted. */
static int
s_recv_parts (zsock_t *sock, s_parts_t *msg)
{
    memset (msg, 0, sizeof *msg);
    bool more = true;
    while (more) {
        zframe_t *frame = zframe_recv (sock);
        if (!frame)
            return -1;
        more = zframe_more (frame);
        if (msg->count < S_PARTS_MAX)
            msg->part [msg->count] = frame;
        else
            zframe_destroy (&frame);
        msg->count++;
    }
    return 0;
}

static void
s_parts_clear (s_parts_t *msg)
{
    for (int i = 0; i < S_PARTS_MAX; i++)
        zframe_destroy (&msg->part [i]);
}

/* Returns the command in table matching frame, or NULL. */
static const s_command_t *
s_command_find (const s_command_t *table, size_t size, zframe_t *frame)
{
    for (size_t i = 0; frame && i < size; i++)
        if (zframe_streq (frame, table [i].name))
            return &table [i];
    return NULL;
}

/* Starts [routing id][command] to a client without blocking. Returns 0, or -1 if the
   client is gone or too slow to read (ROUTER_MANDATORY: the reply is dropped, never
   waited for, and counted). */
static int
s_reply_start (kh_broker_t *self, zframe_t *client, const char *command)
{
    if (zmq_send (self->client_h, zframe_data (client), zframe_size (client),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        self->stats.dropped++;
        return -1;
    }
    /* The first part was taken, so the rest of the message is too. */
    zmq_send (self->client_h, command, strlen (command), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    return 0;
}

/* Sends [routing id][command][data] to a client without blocking. */
static void
s_reply (kh_broker_t *self, zframe_t *client, const char *command, const void *data,
         size_t size)
{
    if (s_reply_start (self, client, command) == 0)
        zmq_send (self->client_h, data, size, ZMQ_DONTWAIT);
}

/* Sends [routing id][command][*body_p] to a client, passing the body frame on
   without copying it; *body_p is NULL afterwards. */
static void
s_reply_frame (kh_broker_t *self, zframe_t *client, const char *command, zframe_t **body_p)
{
    if (s_reply_start (self, client, command) == 0)
        zframe_send (body_p, self->client, ZFRAME_DONTWAIT);
    zframe_destroy (body_p);
}

/* Writes the routing id as hex into key (2 * 255 + 1 bytes). */
static void
s_client_key (zframe_t *client, char key [2 * 255 + 1])
{
    static const char hex [] = "0123456789abcdef";
    size_t size = zframe_size (client) < 255 ? zframe_size (client) : 255;
    const uint8_t *data = zframe_data (client);
    for (size_t i = 0; i < size; i++) {
        key [2 * i] = hex [data [i] >> 4];
        key [2 * i + 1] = hex [data [i] & 15];
    }
    key [2 * size] = 0;
}

/* A client's queries in flight, and when that count last changed. */
typedef struct {
    size_t  count;
    int64_t touched;
} s_queries_t;

static void
s_queries_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

/* Returns how many queries the client has in flight; adds delta first (the count
   never goes below 0; at 0 the client is forgotten). */
static size_t
s_queries_add (kh_broker_t *self, zframe_t *client, int delta)
{
    char key [2 * 255 + 1];
    s_client_key (client, key);
    s_queries_t *q = (s_queries_t *) zhashx_lookup (self->queries, key);
    if (!q && delta > 0) {
        q = (s_queries_t *) calloc (1, sizeof *q);
        if (!q || zhashx_insert (self->queries, key, q)) {
            free (q);
            return 0;                   /* out of memory: not counted, not refused */
        }
    }
    if (!q)
        return 0;
    if (delta < 0 && q->count < (size_t) -delta)
        q->count = 0;
    else
        q->count += delta;
    if (delta)
        q->touched = zclock_mono ();
    size_t count = q->count;
    if (count == 0)
        zhashx_delete (self->queries, key);
    return count;
}

/* Forgets the queries of clients that have had no answer for resend_ms: the
   recorder drops answers the broker's queue has no room for, and those must not
   hold a client at the cap for ever. */
static void
s_queries_expire (kh_broker_t *self, int64_t now)
{
    zlistx_t *keys = zhashx_keys (self->queries);
    for (const char *key = keys ? (const char *) zlistx_first (keys) : NULL; key;
         key = (const char *) zlistx_next (keys)) {
        s_queries_t *q = (s_queries_t *) zhashx_lookup (self->queries, key);
        if (q && now - q->touched >= self->resend_ms)
            zhashx_delete (self->queries, key);
    }
    zlistx_destroy (&keys);
}

/* Answers a client with [ERROR][error]; id may be NULL, req 0. */
static void
s_reply_error (kh_broker_t *self, zframe_t *client, const uint8_t *id, uint64_t req,
               int code, const char *reason)
{
    msgpack_sbuffer_clear (&self->buf);
    kh_error_encode (&self->buf, id, req, code, reason);
    s_reply (self, client, KH_REP_ERROR, self->buf.data, self->buf.size);
    self->stats.errors++;
    if (self->verbose)
        zsys_debug ("broker: ERROR %s: %s", kh_errname (code), reason);
}

/* Marks the recorder gone; what waits for it stays pending until one says HELLO. */
static void
s_recorder_lost (kh_broker_t *self, const char *why)
{
    if (!self->rec_alive)
        return;
    self->rec_alive = false;
    zhashx_purge (self->queries);        /* their answers will not come */
    zsys_warning ("broker: recorder %s; %zu publishes wait for one", why,
                  kh_pending_size (self->pending));
}

/* Sends [recorder id][command][frame] and, if more is true, leaves the message open.
   Returns 0, or -1 if nothing could be sent: the recorder's queue is full, or it is
   gone (then it is marked so). */
static int
s_send_recorder (kh_broker_t *self, const char *command, const void *data, size_t size,
                 bool more)
{
    if (zmq_send (self->recorder_h, zframe_data (self->rec_id), zframe_size (self->rec_id),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        if (zmq_errno () == EHOSTUNREACH)
            s_recorder_lost (self, "is unreachable");
        return -1;
    }
    zmq_send (self->recorder_h, command, strlen (command), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->recorder_h, data, size, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    return 0;
}

/* ------------------------------------------------------------ the recorder */

/* Hands the entry to the recorder as [STORE][token][envelope], sharing the envelope
   frame's bytes. Returns 0, or -1 if it could not be sent now. */
static int
s_send_store (kh_broker_t *self, kh_pending_entry_t *entry)
{
    uint8_t token [S_TOKEN_SIZE];
    s_token_put (token, entry->token);
    if (s_send_recorder (self, KH_REC_STORE, token, sizeof token, true))
        return -1;
    zframe_send (&entry->envelope, self->recorder, ZFRAME_REUSE | ZFRAME_DONTWAIT);
    entry->sent = true;
    entry->sent_at = zclock_mono ();
    entry->send_no = ++self->send_no;
    self->stats.stored++;
    return 0;
}

/* Hands the recorder, in token order, what it does not have yet: at most S_FLUSH_MAX
   entries per call, stopping early when its queue is full. */
static void
s_flush (kh_broker_t *self)
{
    uint64_t next = kh_pending_next (self->pending);
    self->send_blocked = false;
    for (int sent = 0; self->rec_alive && self->send_from < next && sent < S_FLUSH_MAX; ) {
        kh_pending_entry_t *entry = kh_pending_lookup (self->pending, self->send_from);
        if (entry && !entry->sent) {
            if (s_send_store (self, entry)) {
                self->send_blocked = true;
                return;
            }
            sent++;
        }
        self->send_from++;
    }
}

/* A recorder takes over: a new one, or one we had given up on (after its silence we
   cannot know what it kept). Everything pending goes to it again, oldest first;
   the recorder's de-duplication by id makes that safe. */
static void
s_recorder_take (kh_broker_t *self, zframe_t **id_p)
{
    if (self->rec_alive)
        zsys_warning ("broker: a second recorder connected; the newest one is used");
    zframe_destroy (&self->rec_id);
    self->rec_id = *id_p;
    *id_p = NULL;
    uint64_t oldest = kh_pending_oldest (self->pending);
    for (uint64_t token = oldest; token < kh_pending_next (self->pending); token++) {
        kh_pending_entry_t *entry = kh_pending_lookup (self->pending, token);
        if (entry) {
            entry->resent |= entry->sent;
            entry->sent = false;
        }
    }
    self->send_from = oldest;
    self->rec_alive = true;
    self->answered_no = 0;
    self->answered_at = zclock_mono ();
    zhashx_purge (self->queries);
    zsys_info ("broker: recorder connected; %zu publishes to hand over",
               kh_pending_size (self->pending));
}

/* Logs and counts a frame from the recorder that we cannot use. */
static void
s_recorder_ignore (kh_broker_t *self, const char *what)
{
    self->stats.ignored++;
    zsys_warning ("broker: ignored from recorder: %s", what);
}

/* [HELLO][hello]: the recorder is alive; one that was not gets everything pending. */
static void
s_recorder_hello (kh_broker_t *self, s_parts_t *msg)
{
    uint64_t head;
    kh_problem_t why;
    if (kh_hello_decode (zframe_data (msg->part [2]), zframe_size (msg->part [2]), &head,
                         &why)) {
        s_recorder_ignore (self, why.reason);
        return;
    }
    if (!self->rec_alive || !zframe_eq (self->rec_id, msg->part [0]))
        s_recorder_take (self, &msg->part [0]);
    self->rec_seen = zclock_mono ();
    if (head > self->head)
        self->head = head;
    self->head_known = true;
    s_flush (self);
}

/* Publishes the committed entry live as [topic][record]. */
static void
s_publish (kh_broker_t *self, kh_pending_entry_t *entry, const kh_seqinfo_t *info)
{
    kh_record_t record = { .info = *info, .msg = zframe_data (entry->envelope),
                           .msg_size = zframe_size (entry->envelope) };
    msgpack_sbuffer_clear (&self->buf);
    if (kh_record_encode (&self->buf, &record)) {
        zsys_error ("broker: out of memory encoding record %llu",
                    (unsigned long long) info->seq);
        return;
    }
    zmq_send (self->live_h, entry->topic, strlen (entry->topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->live_h, self->buf.data, self->buf.size, ZMQ_DONTWAIT);
    self->stats.published++;
}

/* Returns the pending entry a [STORED|FAILED][token][...] answers, or NULL. An
   answer from the current recorder also tells which sends before it lost theirs
   (it answers in order). */
static kh_pending_entry_t *
s_answered_entry (kh_broker_t *self, s_parts_t *msg)
{
    uint64_t token;
    if (s_token_get (msg->part [2], &token)) {
        s_recorder_ignore (self, "token is not 8 bytes");
        return NULL;
    }
    kh_pending_entry_t *entry = kh_pending_lookup (self->pending, token);
    if (!entry && self->verbose)    /* answered already, or before a restart */
        zsys_debug ("broker: answer for unknown token %llu", (unsigned long long) token);
    if (entry && entry->sent && self->rec_alive && zframe_eq (msg->part [0], self->rec_id)) {
        if (entry->send_no > self->answered_no)
            self->answered_no = entry->send_no;
        self->answered_at = zclock_mono ();
    }
    return entry;
}

/* [STORED][token][stored]: publish (once), acknowledge, forget. */
static void
s_recorder_stored (kh_broker_t *self, s_parts_t *msg)
{
    kh_pending_entry_t *entry = s_answered_entry (self, msg);
    if (!entry)
        return;
    kh_seqinfo_t info;
    bool dup;
    kh_problem_t why;
    if (kh_stored_decode (zframe_data (msg->part [3]), zframe_size (msg->part [3]), &info,
                          &dup, &why)) {
        s_recorder_ignore (self, why.reason);
        s_reply_error (self, entry->client, entry->id, 0, KH_ESTORE,
                       "the recorder's answer could not be read");
        kh_pending_remove (self->pending, entry->token);
        return;
    }
    /* A duplicate was published when first stored - unless that answer went to a
       broker that lost it, which a resend to a new recorder cannot rule out. */
    if (!dup || entry->resent)
        s_publish (self, entry, &info);
    msgpack_sbuffer_clear (&self->buf);
    kh_ack_encode (&self->buf, entry->id, info.seq, dup);
    s_reply (self, entry->client, KH_REP_ACK, self->buf.data, self->buf.size);
    self->stats.acked++;
    if (info.seq > self->head)
        self->head = info.seq;
    kh_pending_remove (self->pending, entry->token);
}

/* [FAILED][token][error]: the client gets the recorder's error, naming its id. */
static void
s_recorder_failed (kh_broker_t *self, s_parts_t *msg)
{
    kh_pending_entry_t *entry = s_answered_entry (self, msg);
    if (!entry)
        return;
    kh_error_reply_t err;
    kh_problem_t why;
    memset (&err, 0, sizeof err);
    int rc = kh_error_decode (zframe_data (msg->part [3]), zframe_size (msg->part [3]), &err,
                              &why);
    if (rc == 0 && err.has_id) {
        s_reply_frame (self, entry->client, KH_REP_ERROR, &msg->part [3]);
        self->stats.errors++;
    }
    else
    if (rc == 0)                        /* readable, but without the id the client needs */
        s_reply_error (self, entry->client, entry->id, 0, err.code ? err.code : KH_ESTORE,
                       err.reason);
    else {
        s_recorder_ignore (self, why.reason);
        s_reply_error (self, entry->client, entry->id, 0, KH_ESTORE,
                       "the store failed to commit");
    }
    kh_pending_remove (self->pending, entry->token);
}

/* [ROWS|ERROR][client id][body]: a query's answer, passed on as [ROWS|ERROR][body]. */
static void
s_recorder_reply (kh_broker_t *self, s_parts_t *msg)
{
    bool rows = zframe_streq (msg->part [1], KH_REP_ROWS);
    s_queries_add (self, msg->part [2], -1);
    s_reply_frame (self, msg->part [2], rows ? KH_REP_ROWS : KH_REP_ERROR, &msg->part [3]);
    if (!rows)
        self->stats.errors++;
}

/* [BYE]: the current recorder stops; what it has not answered waits for the next. */
static void
s_recorder_bye (kh_broker_t *self, s_parts_t *msg)
{
    if (self->rec_alive && zframe_eq (msg->part [0], self->rec_id))
        s_recorder_lost (self, "stopped");
}

static const s_command_t s_recorder_commands [] = {
    { KH_REC_HELLO,  2, 2, s_recorder_hello },
    { KH_REC_BYE,    1, 1, s_recorder_bye },
    { KH_REC_STORED, 3, 3, s_recorder_stored },
    { KH_REC_FAILED, 3, 3, s_recorder_failed },
    { KH_REP_ROWS,   3, 3, s_recorder_reply },
    { KH_REP_ERROR,  3, 3, s_recorder_reply },
};

/* Dispatches a message from the recorder socket; anything malformed is logged. Any
   message from the current recorder shows it alive, so that a HELLO queued behind many
   answers on a busy link does not make us give up on it. */
static void
s_recorder_message (kh_broker_t *self, s_parts_t *msg)
{
    if (self->rec_alive && zframe_eq (msg->part [0], self->rec_id))
        self->rec_seen = zclock_mono ();
    const s_command_t *command = s_command_find (s_recorder_commands,
        sizeof s_recorder_commands / sizeof s_recorder_commands [0], msg->part [1]);
    if (!command)
        s_recorder_ignore (self, "unknown command");
    else
    if (msg->count - 1 < command->min_frames || msg->count - 1 > command->max_frames)
        s_recorder_ignore (self, "wrong number of frames");
    else
        command->handler (self, msg);
}

/* ------------------------------------------------------------ clients */

/* [PUBLISH][envelope]: validate, then keep it pending and hand it to the recorder. */
static void
s_client_publish (kh_broker_t *self, s_parts_t *msg)
{
    zframe_t *body = msg->part [2];
    if (zframe_size (body) > KH_ENVELOPE_MAX) {
        s_reply_error (self, msg->part [0], NULL, 0, KH_ETOOLARGE,
                       "envelope larger than 65536 bytes");
        return;
    }
    kh_envelope_t env;
    bool has_id;
    kh_problem_t why;
    if (kh_envelope_check (zframe_data (body), zframe_size (body), &env, &has_id, &why)) {
        s_reply_error (self, msg->part [0], has_id ? env.id : NULL, 0, why.code, why.reason);
        return;
    }
    if (self->senders && !zhashx_lookup (self->senders, env.from)) {
        char reason [KH_REASON_MAX];
        snprintf (reason, sizeof reason, "from: %s is not a sender of this hub", env.from);
        s_reply_error (self, msg->part [0], env.id, 0, KH_EFORBIDDEN, reason);
        return;
    }
    /* Refused now rather than kept: UNAVAILABLE means certainly not stored, so the
       publisher knows to retry (what was pending when a recorder went away stays
       pending and goes to the next one). */
    if (!self->rec_alive) {
        s_reply_error (self, msg->part [0], env.id, 0, KH_EUNAVAILABLE,
                       "no recorder is connected; this publish was not stored, try again");
        return;
    }
    kh_pending_entry_t *entry = NULL;
    if (kh_pending_bytes (self->pending) + zframe_size (body) <= self->pending_bytes)
        entry = kh_pending_add (self->pending, &msg->part [0], &msg->part [2]);
    if (!entry) {
        s_reply_error (self, msg->part [0], env.id, 0, KH_EUNAVAILABLE,
                       "too many messages wait for the recorder; try again");
        return;
    }
    memcpy (entry->id, env.id, KH_ID_SIZE);
    kh_topic_format (entry->topic, sizeof entry->topic, env.type, env.from);
    if (self->send_from + 1 == kh_pending_next (self->pending))
        s_flush (self);                 /* nothing queued before it: send at once */
}

/* [QUERY][query]: checked here, answered by the recorder. */
static void
s_client_query (kh_broker_t *self, s_parts_t *msg)
{
    zframe_t *body = msg->part [2];
    if (zframe_size (body) > KH_ENVELOPE_MAX) {
        s_reply_error (self, msg->part [0], NULL, 0, KH_ETOOLARGE,
                       "query larger than 65536 bytes");
        return;
    }
    kh_query_t query;
    kh_problem_t why;
    if (kh_query_decode (zframe_data (body), zframe_size (body), &query, &why)) {
        s_reply_error (self, msg->part [0], NULL, query.req, KH_EQUERY, why.reason);
        return;
    }
    /* Each answer may be megabytes: a client that does not read them must not make
       the broker hold more than a few for it. */
    if (s_queries_add (self, msg->part [0], 0) >= KH_BROKER_QUERIES_MAX) {
        s_reply_error (self, msg->part [0], NULL, query.req, KH_EUNAVAILABLE,
                       "too many queries in flight; read the answers first");
        return;
    }
    if (!self->rec_alive
    ||  s_send_recorder (self, KH_CMD_QUERY, zframe_data (msg->part [0]),
                         zframe_size (msg->part [0]), true)) {
        s_reply_error (self, msg->part [0], NULL, query.req, KH_EUNAVAILABLE,
                       "the recorder is not connected");
        return;
    }
    zframe_send (&msg->part [2], self->recorder, ZFRAME_DONTWAIT);
    s_queries_add (self, msg->part [0], 1);
    self->stats.queries++;
}

/* [PING] or [PING][anything]: answered [PONG][{head, recorder}]. */
static void
s_client_ping (kh_broker_t *self, s_parts_t *msg)
{
    msgpack_sbuffer_clear (&self->buf);
    kh_pong_encode (&self->buf, self->head, self->rec_alive);
    s_reply (self, msg->part [0], KH_REP_PONG, self->buf.data, self->buf.size);
}

static const s_command_t s_client_commands [] = {
    { KH_CMD_PUBLISH, 2, 2, s_client_publish },
    { KH_CMD_QUERY,   2, 2, s_client_query },
    { KH_CMD_PING,    1, 2, s_client_ping },
};

/* Dispatches a client request; every bad request is answered, never dropped. */
static void
s_client_message (kh_broker_t *self, s_parts_t *msg)
{
    const s_command_t *command = s_command_find (s_client_commands,
        sizeof s_client_commands / sizeof s_client_commands [0], msg->part [1]);
    char reason [KH_REASON_MAX];
    if (!command) {
        zframe_t *name = msg->part [1];
        snprintf (reason, sizeof reason, "unknown command '%.*s'",
                  name ? (int) (zframe_size (name) < 32 ? zframe_size (name) : 32) : 0,
                  name ? (const char *) zframe_data (name) : "");
        s_reply_error (self, msg->part [0], NULL, 0, KH_ECOMMAND, reason);
    }
    else
    if (msg->count - 1 < command->min_frames || msg->count - 1 > command->max_frames) {
        if (command->min_frames == command->max_frames)
            snprintf (reason, sizeof reason, "%s takes %d frames, got %d", command->name,
                      command->max_frames, msg->count - 1);
        else
            snprintf (reason, sizeof reason, "%s takes %d to %d frames, got %d",
                      command->name, command->min_frames, command->max_frames,
                      msg->count - 1);
        s_reply_error (self, msg->part [0], NULL, 0, KH_EFRAMES, reason);
    }
    else
        command->handler (self, msg);
}

/* [0x01|0x00][prefix] from the XPUB: a subscription opened or closed. */
static void
s_live_message (kh_broker_t *self, s_parts_t *msg)
{
    zframe_t *frame = msg->part [0];
    if (!frame || zframe_size (frame) == 0)
        return;
    if (zframe_data (frame) [0] == 1)
        self->stats.subscribers++;
    else
    if (zframe_data (frame) [0] == 0 && self->stats.subscribers > 0)
        self->stats.subscribers--;
    if (self->verbose)
        zsys_debug ("broker: %s '%.*s'", zframe_data (frame) [0] ? "subscribe" : "unsubscribe",
                    (int) zframe_size (frame) - 1, (const char *) zframe_data (frame) + 1);
}

/* ------------------------------------------------------------ the loop */

/* Reads up to S_BATCH messages from sock and hands each to handler. */
static void
s_drain (kh_broker_t *self, zsock_t *sock, s_handler_fn *handler)
{
    for (int i = 0; i < S_BATCH && (zsock_events (sock) & ZMQ_POLLIN); i++) {
        s_parts_t msg;
        if (s_recv_parts (sock, &msg) == 0)
            handler (self, &msg);
        s_parts_clear (&msg);
    }
}

/* Publishes the heartbeat [!hb][{head, at}]. */
static void
s_beat (kh_broker_t *self)
{
    msgpack_sbuffer_clear (&self->buf);
    kh_beat_encode (&self->buf, self->head, kh_now_ms ());
    zmq_send (self->live_h, KH_TOPIC_BEAT, strlen (KH_TOPIC_BEAT), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->live_h, self->buf.data, self->buf.size, ZMQ_DONTWAIT);
}

/* Finds STOREs whose answer was lost (the recorder drops answers the broker's
   queue has no room for) and marks them to be sent again, oldest first. The
   recorder answers in order, so a STORE sent before one it has answered has lost
   its answer. The last answers of a burst have no later one to show it: if the
   recorder has answered nothing for resend_ms, the oldest STORE older than that
   goes again (one only: a recorder that is just slow is not flooded with copies). */
static void
s_resend_stale (kh_broker_t *self, int64_t now)
{
    bool silent = now - self->answered_at >= self->resend_ms;
    uint64_t next = kh_pending_next (self->pending);
    for (uint64_t token = kh_pending_oldest (self->pending); token < next; token++) {
        kh_pending_entry_t *entry = kh_pending_lookup (self->pending, token);
        if (!entry || !entry->sent)
            continue;
        bool lost = entry->send_no < self->answered_no;
        if (!lost && !(silent && now - entry->sent_at >= self->resend_ms))
            break;
        entry->sent = false;
        entry->resent = true;           /* its first answer may never have gone live */
        if (token < self->send_from)
            self->send_from = token;
        self->stats.resent++;
        if (!lost)
            break;
    }
}

/* Timed work: heartbeat, recorder liveness, lost answers, handing over what waits. */
static void
s_tick (kh_broker_t *self)
{
    int64_t now = zclock_mono ();
    if (now >= self->next_beat) {
        /* Until a recorder has said HELLO our head may be below the store's: a beat
           would tell subscribers a head that is not. */
        if (self->head_known)
            s_beat (self);
        if (self->rec_alive)
            s_resend_stale (self, now);
        s_queries_expire (self, now);
        self->next_beat = now + S_BEAT_MS;
    }
    if (self->rec_alive && now - self->rec_seen > self->rec_ttl)
        s_recorder_lost (self, "has been silent too long");
    if (self->rec_alive && self->send_from < kh_pending_next (self->pending))
        s_flush (self);
}

/* How long the loop may sleep: until the heartbeat or the recorder's deadline, not at
   all while there is more to hand over, briefly while its queue is full. */
static long
s_timeout (kh_broker_t *self)
{
    if (self->rec_alive && self->send_from < kh_pending_next (self->pending))
        return self->send_blocked ? S_BLOCKED_MS : 0;
    int64_t now = zclock_mono ();
    int64_t wait = self->next_beat - now;
    if (self->rec_alive && self->rec_seen + self->rec_ttl + 1 - now < wait)
        wait = self->rec_seen + self->rec_ttl + 1 - now;
    return wait < 0 ? 0 : (long) wait;
}

/* Answers one command from the actor's pipe; returns true on "$TERM". Works with
   self NULL (a broker that could not start). */
static bool
s_pipe_command (kh_broker_t *self, zsock_t *pipe)
{
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    if (command && streq (command, "ENDPOINTS"))
        zsock_send (pipe, "sss", self ? self->client_ep : "", self ? self->live_ep : "",
                    self ? self->recorder_ep : "");
    else
    if (command && streq (command, "STATS")) {
        kh_broker_stats_t s = { 0 };
        if (self)
            kh_broker_stats (self, &s);
        zsock_send (pipe, "888888888", s.published, s.acked, s.errors, s.subscribers,
                    s.stored, s.queries, s.ignored, s.dropped, s.resent);
    }
    zstr_free (&command);
    return term;
}

int
kh_broker_run (kh_broker_t *self, zsock_t *pipe)
{
    zmq_pollitem_t items [] = {
        { self->recorder_h, 0, ZMQ_POLLIN, 0 },
        { self->client_h, 0, ZMQ_POLLIN, 0 },
        { self->live_h, 0, ZMQ_POLLIN, 0 },
        { pipe ? zsock_resolve (pipe) : NULL, 0, ZMQ_POLLIN, 0 },
    };
    int count = pipe ? 4 : 3;
    self->next_beat = zclock_mono () + S_BEAT_MS;
    while (!zsys_interrupted) {
        if (zmq_poll (items, count, s_timeout (self)) == -1) {
            if (zmq_errno () == EINTR)
                continue;
            zsys_error ("broker: poll failed: %s", zmq_strerror (zmq_errno ()));
            return -1;
        }
        if (pipe && (items [3].revents & ZMQ_POLLIN) && s_pipe_command (self, pipe))
            break;
        /* Answers first: they free pending entries for the requests after them. */
        if (items [0].revents & ZMQ_POLLIN)
            s_drain (self, self->recorder, s_recorder_message);
        if (items [1].revents & ZMQ_POLLIN)
            s_drain (self, self->client, s_client_message);
        if (items [2].revents & ZMQ_POLLIN)
            s_drain (self, self->live, s_live_message);
        s_tick (self);
    }
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

/* Reads the allowed senders from list (AGS keys separated by commas or spaces) into
   *set; NULL or an empty list leaves *set NULL (any sender). Returns 0, or -1 after
   logging an entry that is not an AGS. */
static int
s_senders (const char *list, zhashx_t **set)
{
    *set = NULL;
    if (!list || !*list)
        return 0;
    *set = zhashx_new ();
    if (!*set)
        return -1;
    const char *p = list;
    while (*p) {
        size_t skip = strspn (p, ", \t"), len = strcspn (p + skip, ", \t");
        p += skip;
        if (len == 0)
            break;
        if (!kh_ags_valid (p, len)) {
            zsys_error ("broker: senders: '%.*s' is not an AGS (8 or 5 digits)",
                        (int) (len > 32 ? 32 : len), p);
            return -1;
        }
        char ags [KH_AGS_MAX + 1];
        memcpy (ags, p, len);
        ags [len] = 0;
        zhashx_update (*set, ags, (void *) 1);
        p += len;
    }
    if (zhashx_size (*set) == 0) {
        zsys_error ("broker: senders: '%s' names no AGS (leave it out to allow any)", list);
        return -1;
    }
    return 0;
}

/* Makes a socket of type with its send queue and part size limits; NULL on failure. */
static zsock_t *
s_socket (int type, int sndhwm, int maxmsgsize)
{
    zsock_t *sock = zsock_new (type);
    if (sock) {
        zsock_set_sndhwm (sock, sndhwm);
        zsock_set_maxmsgsize (sock, maxmsgsize);
        zsock_set_linger (sock, 0);
    }
    return sock;
}

/* Binds sock to endpoint and stores the real endpoint (wildcard port resolved) in
   *bound. Returns 0, or -1 after logging why. */
static int
s_bind (zsock_t *sock, const char *endpoint, char **bound)
{
    if (!sock)
        return -1;
    if (zsock_bind (sock, "%s", endpoint) == -1) {
        zsys_error ("broker: cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    *bound = zsock_last_endpoint (sock);
    return *bound ? 0 : -1;
}

kh_broker_t *
kh_broker_new (const kh_broker_config_t *config)
{
    kh_broker_t *self = (kh_broker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    msgpack_sbuffer_init (&self->buf);
    self->verbose = config->verbose;
    size_t pending_max = config->pending_max ? config->pending_max : KH_BROKER_PENDING_MAX;
    int live_hwm = config->live_hwm > 0 ? config->live_hwm : KH_BROKER_LIVE_HWM;
    self->rec_ttl = config->recorder_ttl > 0 ? config->recorder_ttl : KH_BROKER_RECORDER_TTL;
    self->resend_ms = config->resend_ms > 0 ? config->resend_ms : KH_BROKER_RESEND_MS;
    self->pending_bytes = KH_BROKER_PENDING_BYTES;
    self->queries = zhashx_new ();
    if (self->queries)
        zhashx_set_destructor (self->queries, s_queries_free);
    /* Every pending publish may be answered at once: room for that many replies. */
    int reply_hwm = pending_max < INT_MAX - 1000 ? (int) pending_max + 1000 : INT_MAX;
    /* Tokens of an earlier broker on this machine sort below ours, so a late answer
       meant for it never matches one of our publishes. */
    self->pending = kh_pending_new (pending_max, (kh_now_ms () << 20) + 1);
    if (self->pending)
        self->send_from = kh_pending_next (self->pending);
    self->client = s_socket (ZMQ_ROUTER, reply_hwm, KH_FRAME_MAX);
    self->live = s_socket (ZMQ_XPUB, live_hwm, KH_FRAME_MAX);
    self->recorder = s_socket (ZMQ_ROUTER, reply_hwm, S_RECORDER_FRAME_MAX);
    if (self->live)
        zsock_set_xpub_verboser (self->live, 1);       /* every (un)subscribe */
    if (self->recorder)
        zsock_set_router_mandatory (self->recorder, 1); /* full queue: EAGAIN, no drop */
    if (self->client)
        zsock_set_router_mandatory (self->client, 1);   /* a reply that cannot go is counted */
    if (!self->pending || !self->queries || s_senders (config->senders, &self->senders)
    ||  s_bind (self->client, config->client ? config->client : KH_DEFAULT_CLIENT,
                &self->client_ep)
    ||  s_bind (self->live, config->live ? config->live : KH_DEFAULT_LIVE, &self->live_ep)
    ||  s_bind (self->recorder, config->recorder ? config->recorder : KH_DEFAULT_RECORDER,
                &self->recorder_ep)) {
        kh_broker_destroy (&self);
        return NULL;
    }
    self->client_h = zsock_resolve (self->client);
    self->live_h = zsock_resolve (self->live);
    self->recorder_h = zsock_resolve (self->recorder);
    return self;
}

void
kh_broker_destroy (kh_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_broker_t *self = *self_p;
    zsock_destroy (&self->client);
    zsock_destroy (&self->live);
    zsock_destroy (&self->recorder);
    zstr_free (&self->client_ep);
    zstr_free (&self->live_ep);
    zstr_free (&self->recorder_ep);
    zframe_destroy (&self->rec_id);
    kh_pending_destroy (&self->pending);
    zhashx_destroy (&self->queries);
    zhashx_destroy (&self->senders);
    msgpack_sbuffer_destroy (&self->buf);
    free (self);
    *self_p = NULL;
}

const char *
kh_broker_client_endpoint (kh_broker_t *self)
{
    return self->client_ep;
}

const char *
kh_broker_live_endpoint (kh_broker_t *self)
{
    return self->live_ep;
}

const char *
kh_broker_recorder_endpoint (kh_broker_t *self)
{
    return self->recorder_ep;
}

void
kh_broker_stats (kh_broker_t *self, kh_broker_stats_t *stats)
{
    *stats = self->stats;
}

void
kh_broker_actor (zsock_t *pipe, void *args)
{
    kh_broker_t *self = kh_broker_new ((const kh_broker_config_t *) args);
    zsock_signal (pipe, 0);
    if (self)
        kh_broker_run (self, pipe);
    else
        while (!s_pipe_command (NULL, pipe))
            ;
    kh_broker_destroy (&self);
}
