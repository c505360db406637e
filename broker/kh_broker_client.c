/*  kh_broker_client.c - the broker's client socket: one handler per request (PUBLISH,
    QUERY, ITEMS, STATS, PING, COUNTERS; AUDIT in kh_broker_audit.c), the replies, and
    how many queries each client has in flight. */
#include <stdatomic.h>
#include "kh_broker_priv.h"

/* ------------------------------------------------------------ replies */

/* Starts [routing id][command] to a client without blocking. Returns 0, or -1 if the
   client is gone or too slow to read (ROUTER_MANDATORY: the reply is dropped, never
   waited for, and counted). */
static int
s_reply_start (kh_broker_t *self, const void *client, size_t client_size,
               const char *command)
{
    if (zmq_send (self->client_h, client, client_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        self->stats.dropped++;
        return -1;
    }
    /* The first part was taken, so the rest of the message is too. */
    zmq_send (self->client_h, command, strlen (command), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    return 0;
}

void
kh__reply (kh_broker_t *self, const void *client, size_t client_size, const char *command,
           const void *data, size_t size)
{
    if (s_reply_start (self, client, client_size, command) == 0)
        zmq_send (self->client_h, data, size, ZMQ_DONTWAIT);
}

void
kh__reply_msg (kh_broker_t *self, const void *client, size_t client_size,
               const char *command, zmq_msg_t *body)
{
    if (s_reply_start (self, client, client_size, command) == 0)
        zmq_msg_send (body, self->client_h, ZMQ_DONTWAIT);
}

void
kh__reply_error (kh_broker_t *self, const void *client, size_t client_size,
                 const uint8_t *id, uint64_t req, int code, const char *reason)
{
    msgpack_sbuffer_clear (&self->buf);
    if (kh_error_encode (&self->buf, id, req, code, reason)) {
        /* Out of memory: no answer rather than a broken one; the client times out
           and asks again, which is what an ERROR would have it do too. */
        zsys_error ("broker: out of memory encoding an ERROR");
        self->stats.dropped++;
        return;
    }
    kh__reply (self, client, client_size, KH_REP_ERROR, self->buf.data, self->buf.size);
    self->stats.errors++;
    if (self->verbose)
        zsys_debug ("broker: ERROR %s: %s", kh_errname (code), reason);
}

/* Answers the client that sent msg with [ERROR][error]. */
static void
s_error (kh_broker_t *self, kh_parts_t *msg, const uint8_t *id, uint64_t req, int code,
         const char *reason)
{
    zmq_msg_t *client = kh_parts_at (msg, 0);
    kh__audit_refusal (self, msg, code, reason);        /* every refusal is audited */
    kh__reply_error (self, zmq_msg_data (client), zmq_msg_size (client), id, req, code,
                     reason);
}

/* ------------------------------------------------------------ queries in flight */

/*  A client's queries in flight: count at the recorder (touched: when that count last
    changed), and queued of their answers that the broker still holds for it, passed
    to the client socket but not yet written out to the connection. A client that
    does not read its answers keeps them queued, so count + queued is what the
    KH_BROKER_QUERIES_MAX cap weighs: at most that many pages (each at most ~4 MiB)
    are held for one client.

    libzmq's I/O thread lets go of an answer once it is written out (or its
    connection is gone) and calls s_answer_gone, which lowers queued: that field is
    atomic, and the struct is freed by whoever drops its last reference (refs: one
    for the queries table's entry, one for each answer queued). */
typedef struct {
    size_t        count;
    int64_t       touched;
    atomic_size_t queued;
    atomic_int    refs;
} s_queries_t;

/* An answer on its way: the page as the recorder sent it, and whose it is. */
typedef struct {
    zmq_msg_t    page;
    s_queries_t *owner;
} s_answer_t;

/* Drops a reference to q; the last one frees it. */
static void
s_queries_release (s_queries_t *q)
{
    if (atomic_fetch_sub (&q->refs, 1) == 1)
        free (q);
}

/* The queries table's destructor: drops the table's reference. */
static void
s_queries_free (void **item_p)
{
    s_queries_release ((s_queries_t *) *item_p);
    *item_p = NULL;
}

/* libzmq is done with an answer (written out, or its connection gone); called by
   whichever thread closes its message last. */
static void
s_answer_gone (void *data, void *hint)
{
    s_answer_t *answer = (s_answer_t *) hint;
    zmq_msg_close (&answer->page);
    atomic_fetch_sub (&answer->owner->queued, 1);
    s_queries_release (answer->owner);
    free (answer);
}

/* Writes the routing id as hex into key (2 * 255 + 1 bytes). */
static void
s_client_key (const void *client, size_t size, char key [2 * KH__ROUTING_MAX + 1])
{
    static const char hex [] = "0123456789abcdef";
    if (size > KH__ROUTING_MAX)
        size = KH__ROUTING_MAX;
    const uint8_t *data = (const uint8_t *) client;
    for (size_t i = 0; i < size; i++) {
        key [2 * i] = hex [data [i] >> 4];
        key [2 * i + 1] = hex [data [i] & 15];
    }
    key [2 * size] = 0;
}

/* Returns the queries of client (made if make and it has none), or NULL. */
static s_queries_t *
s_queries_of (kh_broker_t *self, const void *client, size_t size, bool make)
{
    char key [2 * KH__ROUTING_MAX + 1];
    s_client_key (client, size, key);
    s_queries_t *q = (s_queries_t *) zhashx_lookup (self->queries, key);
    if (q || !make)
        return q;
    q = (s_queries_t *) calloc (1, sizeof *q);
    if (!q)
        return NULL;
    atomic_init (&q->queued, 0);
    atomic_init (&q->refs, 1);
    if (zhashx_insert (self->queries, key, q)) {
        free (q);
        return NULL;
    }
    return q;
}

/* Forgets the queries of client at the recorder if forget, and the client once
   nothing of it is counted. */
static void
s_queries_tidy (kh_broker_t *self, const char *key, s_queries_t *q, bool forget)
{
    if (forget)
        q->count = 0;
    if (q->count == 0 && atomic_load (&q->queued) == 0)
        zhashx_delete (self->queries, key);
}

/* Returns how many queries the client has in flight: at the recorder, and answered
   but held for it. */
static size_t
s_queries_held (kh_broker_t *self, zmq_msg_t *client)
{
    s_queries_t *q = s_queries_of (self, zmq_msg_data (client), zmq_msg_size (client),
                                   false);
    return q ? q->count + atomic_load (&q->queued) : 0;
}

/* The client sent one more query to the recorder. */
static void
s_queries_sent (kh_broker_t *self, zmq_msg_t *client)
{
    s_queries_t *q = s_queries_of (self, zmq_msg_data (client), zmq_msg_size (client),
                                   true);
    if (q) {                            /* out of memory: not counted, not refused */
        q->count++;
        q->touched = kh__now (self);
    }
}

/* Sends body to client as the last frame of a reply begun, counted in q's queued
   until libzmq lets go of it. Takes *body. */
static void
s_answer_send (kh_broker_t *self, s_queries_t *q, zmq_msg_t *body)
{
    s_answer_t *answer = (s_answer_t *) malloc (sizeof *answer);
    zmq_msg_t wrap;
    if (answer) {
        zmq_msg_init (&answer->page);
        zmq_msg_move (&answer->page, body);
        answer->owner = q;
        atomic_fetch_add (&q->refs, 1);
        atomic_fetch_add (&q->queued, 1);
        if (zmq_msg_init_data (&wrap, zmq_msg_data (&answer->page),
                               zmq_msg_size (&answer->page), s_answer_gone, answer)) {
            zmq_msg_move (body, &answer->page);     /* no memory: sent uncounted */
            zmq_msg_close (&answer->page);
            atomic_fetch_sub (&q->queued, 1);
            s_queries_release (q);
            free (answer);
            answer = NULL;
        }
    }
    if (!answer)
        zmq_msg_send (body, self->client_h, ZMQ_DONTWAIT);
    else
    if (zmq_msg_send (&wrap, self->client_h, ZMQ_DONTWAIT) == -1)
        zmq_msg_close (&wrap);          /* calls s_answer_gone */
}

void
kh__reply_answer (kh_broker_t *self, const void *client, size_t client_size,
                  const char *command, zmq_msg_t *body, bool counted)
{
    s_queries_t *q = s_queries_of (self, client, client_size, true);
    if (q && counted && q->count > 0) {
        q->count--;
        q->touched = kh__now (self);
    }
    if (s_reply_start (self, client, client_size, command))
        return;
    if (q && zmq_msg_size (body) > 0)
        s_answer_send (self, q, body);
    else
        zmq_msg_send (body, self->client_h, ZMQ_DONTWAIT);
    if (q) {
        char key [2 * KH__ROUTING_MAX + 1];
        s_client_key (client, client_size, key);
        s_queries_tidy (self, key, q, false);
    }
}

/* Forgets the queries at the recorder of every client (forget), or of those that
   have had no answer for resend_ms; and the clients of which nothing is counted. */
static void
s_queries_sweep (kh_broker_t *self, bool forget)
{
    int64_t now = kh__now (self);
    zlistx_t *keys = zhashx_keys (self->queries);
    for (const char *key = keys ? (const char *) zlistx_first (keys) : NULL; key;
         key = (const char *) zlistx_next (keys)) {
        s_queries_t *q = (s_queries_t *) zhashx_lookup (self->queries, key);
        if (q)
            s_queries_tidy (self, key, q, forget || now - q->touched >= self->resend_ms);
    }
    zlistx_destroy (&keys);
}

void
kh__queries_purge (kh_broker_t *self)
{
    s_queries_sweep (self, true);
}

/* The recorder drops answers the broker's queue has no room for, and those must
   not hold a client at the cap for ever: queries unanswered for resend_ms stop
   counting (answers held for the client count until they are written out). */
void
kh__client_tick (kh_broker_t *self)
{
    s_queries_sweep (self, false);
}

/* ------------------------------------------------------------ requests */

/* May peer publish env? Each member publishes its own items, as the AGS of its
   certificate; so does the Kreis, as itself. The cooperation issue lets the Kreis
   also publish announcements and act on any item: its rules go here. An anonymous
   peer (plain mode) is not checked: nobody is known there. Returns 0, or -1 with
   why set: FORBIDDEN (the role publishes nothing), SENDER (from is not its AGS). */
static int
s_may_publish (const kh__peer_t *peer, const kh_envelope_t *env, kh_problem_t *why)
{
    if (peer->anonymous)
        return 0;
    switch (peer->ident.role) {
        case KH_ROLE_MUNICIPALITY:
        case KH_ROLE_KREIS:
            if (!streq (env->from, peer->ident.ags))
                return kh_problem (why, KH_ESENDER, "from: %s is not the AGS of your "
                                   "certificate (%s)", env->from, peer->ident.ags);
            return 0;
        case KH_ROLE_ADMIN:
            return kh_problem (why, KH_EFORBIDDEN, "an admin certificate reads; it does "
                               "not publish");
        default:                        /* refused before: no role, or the hub's */
            return kh_problem (why, KH_EFORBIDDEN, "your certificate's role does not "
                               "publish");
    }
}

/* [PUBLISH][envelope]: who sends it, validate, may they; then keep it pending and
   hand it to the recorder. */
static void
s_publish (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *body = kh_parts_at (msg, 2);
    kh_envelope_t env;
    bool has_id = false;
    kh_problem_t why;
    kh__peer_t peer;
    if (kh__trust_client (self, msg, &peer, &why)) {
        if (zmq_msg_size (body) <= KH_ENVELOPE_MAX)     /* the id, for the client */
            kh_envelope_check (zmq_msg_data (body), zmq_msg_size (body), &env, &has_id,
                               NULL);
        s_error (self, msg, has_id ? env.id : NULL, 0, why.code, why.reason);
        return;
    }
    if (zmq_msg_size (body) > KH_ENVELOPE_MAX) {
        s_error (self, msg, NULL, 0, KH_ETOOLARGE, "envelope larger than 65536 bytes");
        return;
    }
    if (kh_envelope_check (zmq_msg_data (body), zmq_msg_size (body), &env, &has_id, &why)
    ||  s_may_publish (&peer, &env, &why)) {
        s_error (self, msg, has_id ? env.id : NULL, 0, why.code, why.reason);
        return;
    }
    if (self->senders && !zhashx_lookup (self->senders, env.from)) {
        char reason [KH_REASON_MAX];
        snprintf (reason, sizeof reason, "from: %s is not a sender of this hub", env.from);
        s_error (self, msg, env.id, 0, KH_EFORBIDDEN, reason);
        return;
    }
    /* Refused now rather than kept: UNAVAILABLE means certainly not stored, so the
       publisher knows to retry (what was pending when a recorder went away stays
       pending and goes to the next one). */
    if (!kh__link_up (self)) {
        s_error (self, msg, env.id, 0, KH_EUNAVAILABLE,
                 "no recorder is connected; this publish was not stored, try again");
        return;
    }
    /* One connection may not keep the recorder to itself: past its bound it is
       told to read its answers first (it is, as a rule, a publisher that does not
       wait for them). The audit records the first refusal of a flood, not each. */
    size_t refused = kh_pending_busy (self->pending, kh_parts_at (msg, 0));
    if (refused) {
        char reason [KH_REASON_MAX];
        snprintf (reason, sizeof reason, "%zu publishes of this connection wait for the "
                  "store; read the answers, then try again",
                  kh_pending_lane_max (self->pending));
        self->busy++;
        if (refused == 1)
            s_error (self, msg, env.id, 0, KH_EBUSY, reason);
        else {
            zmq_msg_t *client = kh_parts_at (msg, 0);
            kh__reply_error (self, zmq_msg_data (client), zmq_msg_size (client), env.id, 0,
                             KH_EBUSY, reason);
        }
        return;
    }
    char topic [KH_TOPIC_MAX + 1];
    kh_topic_format (topic, sizeof topic, env.type, env.from);
    if (!kh_pending_add (self->pending, kh_parts_at (msg, 0), body, env.id, topic,
                         kh__now (self))) {
        s_error (self, msg, env.id, 0, KH_EUNAVAILABLE,
                 "too many messages wait for the recorder; try again");
        return;
    }
    kh__link_handover (self);
}

/* Decodes a query of one kind (section 5 or 14) as kh_query_decode does, keeping
   its req in *req for the ERROR. */
typedef int (s_decode_fn) (const void *data, size_t size, uint64_t *req, kh_problem_t *why);

static int
s_decode_query (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    kh_query_t query;
    int rc = kh_query_decode (data, size, &query, why);
    *req = query.req;
    return rc;
}

static int
s_decode_items (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    kh_items_query_t query;
    int rc = kh_items_query_decode (data, size, &query, why);
    *req = query.req;
    return rc;
}

static int
s_decode_stats (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    kh_stats_query_t query;
    int rc = kh_stats_query_decode (data, size, &query, why);
    *req = query.req;
    return rc;
}

/* [command][query] (QUERY, ITEMS, STATS): checked here, decoded as decode says,
   passed on to the recorder as [command][client id][query], which answers. Anyone
   the hub knows reads the log. */
static void
s_pass_query (kh_broker_t *self, kh_parts_t *msg, const char *command, s_decode_fn *decode)
{
    zmq_msg_t *body = kh_parts_at (msg, 2);
    uint64_t req = 0;
    kh_problem_t why;
    kh__peer_t peer;
    /* Its req first (within the size bound), for whatever answer it gets. */
    int rc = decode (zmq_msg_data (body), zmq_msg_size (body), &req, &why);
    if (kh__trust_client (self, msg, &peer, &why)) {
        s_error (self, msg, NULL, req, why.code, why.reason);
        return;
    }
    if (rc) {
        s_error (self, msg, NULL, req, why.code, why.reason);  /* TOO_LARGE, MALFORMED, QUERY */
        return;
    }
    /* Each answer may be megabytes: a client that does not read them must not make
       the broker hold more than a few for it. */
    if (s_queries_held (self, kh_parts_at (msg, 0)) >= KH_BROKER_QUERIES_MAX) {
        s_error (self, msg, NULL, req, KH_EUNAVAILABLE,
                 "too many queries in flight; read the answers first");
        return;
    }
    if (kh__link_send_query (self, command, kh_parts_at (msg, 0), body)) {
        s_error (self, msg, NULL, req, KH_EUNAVAILABLE, "the recorder is not connected");
        return;
    }
    s_queries_sent (self, kh_parts_at (msg, 0));
    self->stats.queries++;
}

/* [QUERY][query]: the log's records (section 5). */
static void
s_query (kh_broker_t *self, kh_parts_t *msg)
{
    s_pass_query (self, msg, KH_CMD_QUERY, s_decode_query);
}

/* [ITEMS][items query]: the catalogue (section 14). */
static void
s_items (kh_broker_t *self, kh_parts_t *msg)
{
    s_pass_query (self, msg, KH_CMD_ITEMS, s_decode_items);
}

/* [STATS][stats query]: counts of the log (section 14). */
static void
s_stats (kh_broker_t *self, kh_parts_t *msg)
{
    s_pass_query (self, msg, KH_CMD_STATS, s_decode_stats);
}

/* [PING] or [PING][anything]: answered [PONG][{head, recorder}], to anyone the hub
   knows. */
static void
s_ping (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *client = kh_parts_at (msg, 0);
    kh__peer_t peer;
    kh_problem_t why;
    if (kh__trust_client (self, msg, &peer, &why)) {
        s_error (self, msg, NULL, 0, why.code, why.reason);
        return;
    }
    msgpack_sbuffer_clear (&self->buf);
    if (kh_pong_encode (&self->buf, self->head, kh__link_up (self))) {
        zsys_error ("broker: out of memory encoding a PONG");
        self->stats.dropped++;
        return;
    }
    kh__reply (self, zmq_msg_data (client), zmq_msg_size (client), KH_REP_PONG,
               self->buf.data, self->buf.size);
}

/* [COUNTERS][{req}]: answered [COUNTERS][counters] by the broker itself, to anyone
   the hub knows (as PING). */
static void
s_counters (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *client = kh_parts_at (msg, 0), *body = kh_parts_at (msg, 2);
    uint64_t req = 0;
    kh_problem_t why;
    kh__peer_t peer;
    int rc = kh_counters_query_decode (zmq_msg_data (body), zmq_msg_size (body), &req, &why);
    if (kh__trust_client (self, msg, &peer, &why) || rc) {
        s_error (self, msg, NULL, req, why.code, why.reason);
        return;
    }
    kh_counters_t counters;
    kh__counters (self, &counters);
    msgpack_sbuffer_clear (&self->buf);
    if (kh_counters_encode (&self->buf, req, &counters)) {
        zsys_error ("broker: out of memory encoding COUNTERS");
        self->stats.dropped++;
        return;
    }
    kh__reply (self, zmq_msg_data (client), zmq_msg_size (client), KH_REP_COUNTERS,
               self->buf.data, self->buf.size);
}

static const kh__command_t s_commands [] = {
    { KH_CMD_PUBLISH, 2, 2, s_publish },
    { KH_CMD_QUERY,   2, 2, s_query },
    { KH_CMD_PING,    1, 2, s_ping },
    { KH_CMD_AUDIT,   2, 2, kh__audit_query },
    { KH_CMD_ITEMS,   2, 2, s_items },
    { KH_CMD_STATS,   2, 2, s_stats },
    { KH_CMD_COUNTERS, 2, 2, s_counters },
};

/* Writes why msg does not fit command (or names no command) into reason. */
static void
s_mismatch (const kh__command_t *command, kh_parts_t *msg, char reason [KH_REASON_MAX])
{
    zmq_msg_t *name = kh_parts_at (msg, 1);
    if (!command)
        snprintf (reason, KH_REASON_MAX, "unknown command '%.*s'",
                  name ? (int) (zmq_msg_size (name) < 32 ? zmq_msg_size (name) : 32) : 0,
                  name ? (const char *) zmq_msg_data (name) : "");
    else
    if (command->min_frames == command->max_frames)
        snprintf (reason, KH_REASON_MAX, "%s takes %d frames, got %d", command->name,
                  command->max_frames, msg->count - 1);
    else
        snprintf (reason, KH_REASON_MAX, "%s takes %d to %d frames, got %d", command->name,
                  command->min_frames, command->max_frames, msg->count - 1);
}

void
kh__client_message (kh_broker_t *self, kh_parts_t *msg)
{
    const kh__command_t *command = kh__command_find (s_commands,
        sizeof s_commands / sizeof s_commands [0], msg);
    if (command && kh__command_fits (command, msg))
        command->handler (self, msg);
    else {
        char reason [KH_REASON_MAX];
        s_mismatch (command, msg, reason);
        s_error (self, msg, NULL, 0, command ? KH_EFRAMES : KH_ECOMMAND, reason);
    }
}

/* ------------------------------------------------------------ senders */

/* Reads the allowed senders from list (AGS keys separated by commas or spaces) into
   *set; NULL or an empty list leaves *set NULL (any sender). Returns 0, or -1 after
   logging an entry that is not an AGS. */
static int
s_senders_parse (const char *list, zhashx_t **set)
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

/* ------------------------------------------------------------ life */

int
kh__client_init (kh_broker_t *self, const kh_broker_config_t *config)
{
    self->queries = zhashx_new ();
    if (!self->queries)
        return -1;
    zhashx_set_destructor (self->queries, s_queries_free);
    return s_senders_parse (config->senders, &self->senders);
}

void
kh__client_teardown (kh_broker_t *self)
{
    zhashx_destroy (&self->queries);
    zhashx_destroy (&self->senders);
}
