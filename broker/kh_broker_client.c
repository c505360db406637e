/*  kh_broker_client.c - the broker's client socket: one handler per request (PUBLISH,
    QUERY, PING), the replies, and how many queries each client has in flight. */
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

/* A client's queries in flight, and when that count last changed. */
typedef struct {
    size_t  count;
    int64_t touched;
} s_queries_t;

/* Writes the routing id as hex into key (2 * 255 + 1 bytes). */
static void
s_client_key (zmq_msg_t *client, char key [2 * KH__ROUTING_MAX + 1])
{
    static const char hex [] = "0123456789abcdef";
    size_t size = zmq_msg_size (client);
    if (size > KH__ROUTING_MAX)
        size = KH__ROUTING_MAX;
    const uint8_t *data = (const uint8_t *) zmq_msg_data (client);
    for (size_t i = 0; i < size; i++) {
        key [2 * i] = hex [data [i] >> 4];
        key [2 * i + 1] = hex [data [i] & 15];
    }
    key [2 * size] = 0;
}

/* Returns how many queries the client has in flight; adds delta first (the count
   never goes below 0; at 0 the client is forgotten). */
static size_t
s_queries_add (kh_broker_t *self, zmq_msg_t *client, int delta)
{
    char key [2 * KH__ROUTING_MAX + 1];
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
        q->touched = kh__now (self);
    size_t count = q->count;
    if (count == 0)
        zhashx_delete (self->queries, key);
    return count;
}

void
kh__queries_done (kh_broker_t *self, zmq_msg_t *client)
{
    s_queries_add (self, client, -1);
}

void
kh__queries_purge (kh_broker_t *self)
{
    zhashx_purge (self->queries);
}

/* Forgets the queries of clients that have had no answer for resend_ms: the
   recorder drops answers the broker's queue has no room for, and those must not
   hold a client at the cap for ever. */
void
kh__client_tick (kh_broker_t *self)
{
    int64_t now = kh__now (self);
    zlistx_t *keys = zhashx_keys (self->queries);
    for (const char *key = keys ? (const char *) zlistx_first (keys) : NULL; key;
         key = (const char *) zlistx_next (keys)) {
        s_queries_t *q = (s_queries_t *) zhashx_lookup (self->queries, key);
        if (q && now - q->touched >= self->resend_ms)
            zhashx_delete (self->queries, key);
    }
    zlistx_destroy (&keys);
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
    char topic [KH_TOPIC_MAX + 1];
    kh_topic_format (topic, sizeof topic, env.type, env.from);
    if (!kh_pending_add (self->pending, kh_parts_at (msg, 0), body, env.id, topic)) {
        s_error (self, msg, env.id, 0, KH_EUNAVAILABLE,
                 "too many messages wait for the recorder; try again");
        return;
    }
    kh__link_handover (self);
}

/* [QUERY][query]: checked here, answered by the recorder. Anyone the hub knows
   reads the log. */
static void
s_query (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *body = kh_parts_at (msg, 2);
    kh_query_t query;
    kh_problem_t why;
    kh__peer_t peer;
    if (kh__trust_client (self, msg, &peer, &why)) {
        memset (&query, 0, sizeof query);
        if (zmq_msg_size (body) <= KH_ENVELOPE_MAX)     /* its req, for the client */
            kh_query_decode (zmq_msg_data (body), zmq_msg_size (body), &query, NULL);
        s_error (self, msg, NULL, query.req, why.code, why.reason);
        return;
    }
    if (zmq_msg_size (body) > KH_ENVELOPE_MAX) {
        s_error (self, msg, NULL, 0, KH_ETOOLARGE, "query larger than 65536 bytes");
        return;
    }
    if (kh_query_decode (zmq_msg_data (body), zmq_msg_size (body), &query, &why)) {
        s_error (self, msg, NULL, query.req, why.code, why.reason);     /* MALFORMED, QUERY */
        return;
    }
    /* Each answer may be megabytes: a client that does not read them must not make
       the broker hold more than a few for it. */
    if (s_queries_add (self, kh_parts_at (msg, 0), 0) >= KH_BROKER_QUERIES_MAX) {
        s_error (self, msg, NULL, query.req, KH_EUNAVAILABLE,
                 "too many queries in flight; read the answers first");
        return;
    }
    if (kh__link_query (self, kh_parts_at (msg, 0), body)) {
        s_error (self, msg, NULL, query.req, KH_EUNAVAILABLE,
                 "the recorder is not connected");
        return;
    }
    s_queries_add (self, kh_parts_at (msg, 0), 1);
    self->stats.queries++;
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

static const kh__command_t s_commands [] = {
    { KH_CMD_PUBLISH, 2, 2, s_publish },
    { KH_CMD_QUERY,   2, 2, s_query },
    { KH_CMD_PING,    1, 2, s_ping },
    { KH_CMD_AUDIT,   2, 2, kh__audit_query },
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

/* Frees a client's count of queries in flight (the queries table's destructor). */
static void
s_queries_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

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
