/*  kh_broker_audit.c - what the broker refused, for the audit (PROTOCOL.md section
    12): every message a client got an ERROR for, every connection its sockets
    refused (seen by a socket monitor), and the admin's queries of the audit.

    A record is built from what the refused message carries (its command frame's
    metadata: the peer's address, and the certificate the connection was made with)
    or from what the monitor saw, every text bounded (kh_audit_t), and put into a
    queue of at most KH__AUDIT_MAX records. The queue goes to the recorder as
    [AUDIT][record] frames, which nothing answers, whenever the link is up and no
    STORE waits to be handed over: the good path comes first. A full queue drops the
    newest records and counts them; once there is room again, a note of the hub's
    own says how many went. So a flood of bad messages costs a bounded queue and
    one encode and send per refusal, never a wait.

    Refused connections are seen by an actor of this file, which watches each socket
    through zmq_socket_monitor (libzmq 4.3 without draft API: an event carries a
    file descriptor or a code, never the peer's address). A handshake that fails
    is followed by the DISCONNECTED of its connection's descriptor (one I/O thread
    emits both); the descriptor's ACCEPTED, read at once by the actor, gave the
    address (getpeername). The actor reads ahead before it asks, so that a
    descriptor already closed (and maybe reused) is not asked; an address it could
    not learn is recorded as "". It sends each refusal up its pipe as
    [name][peer][event][value]; the broker turns it into a record. The same events
    count each socket's connections now (accepted, less disconnected) for COUNTERS,
    in atomics of the broker's that only this actor writes.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include "kh_broker_priv.h"

#define S_WATCH_MAX     3       /* sockets watched: client, live, recorder */
#define S_EVENTS_MAX    256     /* monitor events read ahead, at most */
#define S_FDS_MAX       4096    /* connections whose address is kept, at most */
#define S_PENDING_MS    100     /* a failure without its DISCONNECTED is told then */
#define S_WATCH_EVENTS  (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED \
                         | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                         | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL \
                         | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* ------------------------------------------------------------ the queue */

/* Returns the record at position i of the queue (0: the oldest). */
static kh_audit_t *
s_at (kh_broker_t *self, size_t i)
{
    return &self->audit_ring [(self->audit_first + i) % self->audit_cap];
}

/* Makes room for one more record: grows the ring by doubling up to KH__AUDIT_MAX.
   Returns 0, or -1 if it is full (or memory ran out). */
static int
s_room (kh_broker_t *self)
{
    if (self->audit_count < self->audit_cap)
        return 0;
    if (self->audit_cap >= KH__AUDIT_MAX)
        return -1;
    size_t cap = self->audit_cap ? 2 * self->audit_cap : 64;
    cap = cap < KH__AUDIT_MAX ? cap : KH__AUDIT_MAX;
    kh_audit_t *ring = (kh_audit_t *) malloc (cap * sizeof *ring);
    if (!ring)
        return -1;
    for (size_t i = 0; i < self->audit_count; i++)
        ring [i] = *s_at (self, i);
    free (self->audit_ring);
    self->audit_ring = ring;
    self->audit_cap = cap;
    self->audit_first = 0;
    return 0;
}

/* Queues a copy of rec, or drops and counts it if the queue is full. */
static void
s_push (kh_broker_t *self, const kh_audit_t *rec)
{
    if (s_room (self)) {
        if (self->audit_dropped++ == 0)
            zsys_warning ("broker: audit: %zu records wait for the recorder; newer ones "
                          "are dropped and counted until there is room", self->audit_count);
        self->audit_dropped_all++;
        return;
    }
    *s_at (self, self->audit_count++) = *rec;
}

/* Once the queue has room after a drop, queues a note of the hub's own saying how
   many records were dropped, and logs it. */
static void
s_note_drops (kh_broker_t *self)
{
    if (self->audit_dropped == 0 || self->audit_count >= KH__AUDIT_MAX)
        return;
    kh_audit_t note;
    memset (&note, 0, sizeof note);
    note.at = kh_now_ms ();
    snprintf (note.endpoint, sizeof note.endpoint, "broker");
    snprintf (note.command, sizeof note.command, "DROPPED");
    snprintf (note.reason, sizeof note.reason, "%llu audit records were dropped: %d "
              "waited for the recorder", (unsigned long long) self->audit_dropped,
              KH__AUDIT_MAX);
    zsys_warning ("broker: audit: %s (%llu dropped in all)", note.reason,
                  (unsigned long long) self->audit_dropped_all);
    self->audit_dropped = 0;
    s_push (self, &note);
}

void
kh__audit_flush (kh_broker_t *self)
{
    while (self->audit_count > 0 && kh__link_idle (self)) {
        msgpack_sbuffer_clear (&self->buf);
        if (kh_audit_encode (&self->buf, s_at (self, 0))) {
            zsys_error ("broker: audit: out of memory encoding a record");
            return;                     /* it stays queued; the next flush tries again */
        }
        if (kh__link_audit (self, self->buf.data, self->buf.size))
            return;
        self->audit_first = (self->audit_first + 1) % self->audit_cap;
        self->audit_count--;
        self->audit_sent++;
        s_note_drops (self);
    }
}

/* Queues rec and hands what the queue holds to the recorder if it can take it. */
static void
s_add (kh_broker_t *self, const kh_audit_t *rec)
{
    s_push (self, rec);
    kh__audit_flush (self);
}

/* ------------------------------------------------------------ refused messages */

/* Copies the metadata property of frame (NULL: none) into field as a bounded line. */
static void
s_meta (zmq_msg_t *frame, const char *property, char *field, size_t cap)
{
    const char *value = frame ? zmq_msg_gets (frame, property) : NULL;
    kh_utf8_line (field, cap, value ? value : "", value ? strlen (value) : 0);
}

void
kh__audit_refusal (kh_broker_t *self, kh_parts_t *msg, int code, const char *reason)
{
    kh_audit_t rec;
    memset (&rec, 0, sizeof rec);
    rec.at = kh_now_ms ();
    rec.code = code;
    snprintf (rec.endpoint, sizeof rec.endpoint, "client");
    uint64_t size = 0;
    for (int i = 1; i < msg->kept; i++)
        size += zmq_msg_size (kh_parts_at (msg, i));
    rec.size = size < UINT32_MAX ? (uint32_t) size : UINT32_MAX;
    /* The metadata is read on the command frame, as kh_broker_trust.c reads it. */
    zmq_msg_t *command = kh_parts_at (msg, 1), *body = kh_parts_at (msg, 2);
    if (command)
        kh_utf8_line (rec.command, sizeof rec.command, zmq_msg_data (command),
                      zmq_msg_size (command));
    s_meta (command, "Peer-Address", rec.peer, sizeof rec.peer);
    s_meta (command, "User-Id", rec.key, sizeof rec.key);
    s_meta (command, KH_CERT_AGS, rec.ags, sizeof rec.ags);
    s_meta (command, KH_CERT_ROLE, rec.role, sizeof rec.role);
    if (body && kh_parts_is (msg, 1, KH_CMD_PUBLISH))
        kh_audit_claimed (zmq_msg_data (body), zmq_msg_size (body), rec.claimed);
    kh_utf8_line (rec.reason, sizeof rec.reason, reason ? reason : "",
                  reason ? strlen (reason) : 0);
    s_add (self, &rec);
}

void
kh__audit_unstored (kh_broker_t *self, const kh_pending_view_t *entry, int code,
                    const char *reason)
{
    kh_audit_t rec;
    memset (&rec, 0, sizeof rec);
    rec.at = kh_now_ms ();
    rec.code = code;
    rec.size = entry->envelope_size < UINT32_MAX ? (uint32_t) entry->envelope_size
                                                 : UINT32_MAX;
    snprintf (rec.endpoint, sizeof rec.endpoint, "client");
    snprintf (rec.command, sizeof rec.command, "%s", KH_CMD_PUBLISH);
    kh_audit_claimed (entry->envelope, entry->envelope_size, rec.claimed);
    kh_utf8_line (rec.reason, sizeof rec.reason, reason ? reason : "",
                  reason ? strlen (reason) : 0);
    s_add (self, &rec);
}

/* ------------------------------------------------------------ refused connections */

/* One socket the watcher watches. */
typedef struct {
    char      name [KH_AUDIT_NAME_MAX]; /* "client", "live", "recorder" */
    zsock_t  *monitor;                  /* PAIR connected to the socket's monitor */
    zhashx_t *peers;                    /* descriptor (decimal) -> "ip:port" */
    bool      failed;                   /* a handshake failed; its DISCONNECTED is due */
    uint16_t  event;                    /* the failure: its event and value */
    uint32_t  value;
    int64_t   since;                    /* zclock_mono when it failed */
    atomic_uint *open;                  /* the broker's count of its connections now */
} s_watched_t;

/* One monitor event: ZMQ_EVENT_* and its value (a descriptor or a code). */
typedef struct {
    uint16_t event;
    uint32_t value;
} s_event_t;

/* Writes the address of the peer of descriptor fd into out ("" if it cannot). */
static void
s_peer_of (int fd, char *out, size_t cap)
{
    struct sockaddr_storage addr;
    socklen_t size = sizeof addr;
    char ip [INET6_ADDRSTRLEN] = "";
    out [0] = 0;
    if (getpeername (fd, (struct sockaddr *) &addr, &size) != 0)
        return;
    if (addr.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) &addr;
        if (inet_ntop (AF_INET, &in->sin_addr, ip, sizeof ip))
            snprintf (out, cap, "%s:%u", ip, (unsigned) ntohs (in->sin_port));
    }
    else
    if (addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;
        if (inet_ntop (AF_INET6, &in6->sin6_addr, ip, sizeof ip))
            snprintf (out, cap, "[%s]:%u", ip, (unsigned) ntohs (in6->sin6_port));
    }
    else
    if (addr.ss_family == AF_UNIX)
        snprintf (out, cap, "local");
}

/* Reads up to S_EVENTS_MAX events waiting on w's monitor into events. Returns how
   many. */
static size_t
s_read_events (s_watched_t *w, s_event_t *events)
{
    void *handle = zsock_resolve (w->monitor);
    size_t count = 0;
    kh_parts_t msg;
    while (count < S_EVENTS_MAX && kh_parts_recv (&msg, handle, ZMQ_DONTWAIT) > 0) {
        zmq_msg_t *head = kh_parts_at (&msg, 0);
        if (head && zmq_msg_size (head) >= 6) {
            const uint8_t *data = (const uint8_t *) zmq_msg_data (head);
            memcpy (&events [count].event, data, 2);
            memcpy (&events [count].value, data + 2, 4);
            count++;
        }
        kh_parts_close (&msg);
    }
    return count;
}

/* Tells the broker of w's failed handshake, with the peer's address (or ""). */
static void
s_tell (zsock_t *pipe, s_watched_t *w, const char *peer)
{
    zsock_send (pipe, "ss24", w->name, peer, w->event, w->value);
    w->failed = false;
}

/* Handles events [i] of w, given the events read with it (count). */
static void
s_event (zsock_t *pipe, s_watched_t *w, const s_event_t *events, size_t i, size_t count)
{
    char key [16], peer [KH_AUDIT_PEER_MAX];
    snprintf (key, sizeof key, "%u", events [i].value);
    if (events [i].event == ZMQ_EVENT_ACCEPTED) {
        atomic_fetch_add (w->open, 1);
        /* A descriptor closed since (its DISCONNECTED read ahead) may be another's. */
        bool closed = false;
        for (size_t j = i + 1; j < count && !closed; j++)
            closed = events [j].event == ZMQ_EVENT_DISCONNECTED
                  && events [j].value == events [i].value;
        s_peer_of (closed ? -1 : (int) events [i].value, peer, sizeof peer);
        if (zhashx_size (w->peers) >= S_FDS_MAX)
            zhashx_purge (w->peers);    /* connections that never end: forget them */
        if (peer [0])
            zhashx_update (w->peers, key, strdup (peer));
    }
    else
    if (events [i].event == ZMQ_EVENT_DISCONNECTED) {
        const char *known = (const char *) zhashx_lookup (w->peers, key);
        unsigned open = atomic_load (w->open);
        while (open > 0 && !atomic_compare_exchange_weak (w->open, &open, open - 1))
            ;                           /* the broker only reads: this settles at once */
        if (w->failed)
            s_tell (pipe, w, known ? known : "");
        zhashx_delete (w->peers, key);
    }
    else {                              /* a handshake failed */
        if (w->failed)
            s_tell (pipe, w, "");       /* the one before had no DISCONNECTED */
        w->failed = true;
        w->event = events [i].event;
        w->value = events [i].value;
        w->since = zclock_mono ();
    }
}

/* Frees an address of a watched socket's table (its destructor). */
static void
s_free_peer (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

/* Connects a PAIR to the monitor of the socket name at endpoint, as w, counting its
   connections in the one of counts (the broker's connections) its name says.
   Returns 0, or -1. */
static int
s_watch (s_watched_t *w, const char *name, const char *endpoint, atomic_uint *counts)
{
    memset (w, 0, sizeof *w);
    snprintf (w->name, sizeof w->name, "%s", name);
    w->open = &counts [streq (name, "client") ? 0 : streq (name, "live") ? 1 : 2];
    w->peers = zhashx_new ();
    w->monitor = zsock_new (ZMQ_PAIR);
    if (!w->peers || !w->monitor || zsock_connect (w->monitor, "%s", endpoint)) {
        zhashx_destroy (&w->peers);
        zsock_destroy (&w->monitor);
        return -1;
    }
    zhashx_set_destructor (w->peers, s_free_peer);
    return 0;
}

/* Answers a command on the watcher's pipe: "WATCH" name endpoint adds watched
   [*count] and signals 0 (1 if it could not); returns false on "$TERM" (or a pipe
   that failed). */
static bool
s_watcher_command (zsock_t *pipe, zpoller_t *poller, s_watched_t *watched, size_t *count,
                   atomic_uint *counts)
{
    zmsg_t *msg = zmsg_recv (pipe);
    char *command = msg ? zmsg_popstr (msg) : NULL;
    bool go_on = command && !streq (command, "$TERM");
    if (go_on && streq (command, "WATCH")) {
        char *name = zmsg_popstr (msg), *endpoint = zmsg_popstr (msg);
        int rc = name && endpoint && *count < S_WATCH_MAX
              && s_watch (&watched [*count], name, endpoint, counts) == 0
              && zpoller_add (poller, watched [*count].monitor) == 0 ? 0 : 1;
        if (rc == 0)
            (*count)++;
        zsock_signal (pipe, (byte) rc);
        zstr_free (&name);
        zstr_free (&endpoint);
    }
    zstr_free (&command);
    zmsg_destroy (&msg);
    return go_on;
}

/* The watcher: on "WATCH" name endpoint, watches one more socket's monitor; tells
   the broker of every handshake that failed and counts the connections of each
   socket in args (the broker's connections); stops on "$TERM". Its sends up the
   pipe never wait: a broker too busy to read loses them (the broker sends WATCH
   before its sockets are bound, while nothing else is on the pipe). */
static void
s_watcher (zsock_t *pipe, void *args)
{
    s_watched_t watched [S_WATCH_MAX];
    s_event_t events [S_EVENTS_MAX];
    size_t count = 0;
    zpoller_t *poller = zpoller_new (pipe, NULL);
    /* A signal must not end it: a monitor event sent after the watcher had gone
       would block libzmq's I/O thread, and with it every socket of the broker.
       It ends on $TERM, which the broker sends after it stopped the monitors. */
    if (poller)
        zpoller_set_nonstop (poller, true);
    zsock_signal (pipe, 0);
    zsock_set_sndtimeo (pipe, 0);
    while (poller) {
        void *which = zpoller_wait (poller, S_PENDING_MS);
        if (zpoller_terminated (poller))
            break;
        if (which == pipe
        &&  !s_watcher_command (pipe, poller, watched, &count, (atomic_uint *) args))
            break;
        for (size_t w = 0; w < count; w++) {
            if (which == watched [w].monitor) {
                size_t n = s_read_events (&watched [w], events);
                for (size_t i = 0; i < n; i++)
                    s_event (pipe, &watched [w], events, i, n);
            }
            if (watched [w].failed && zclock_mono () - watched [w].since >= S_PENDING_MS)
                s_tell (pipe, &watched [w], "");
        }
    }
    zpoller_destroy (&poller);
    for (size_t w = 0; w < count; w++) {
        zsock_destroy (&watched [w].monitor);
        zhashx_destroy (&watched [w].peers);
    }
}

void
kh__audit_watch (kh_broker_t *self, zsock_t *sock, const char *name)
{
    if (!self->audit_watch)
        self->audit_watch = zactor_new (s_watcher, self->connections);
    /* Each monitor its own endpoint: a closed socket's may linger in libzmq a while. */
    static atomic_uint s_monitors;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://kh-audit-%u-%s",
              atomic_fetch_add (&s_monitors, 1), name);
    int rc = self->audit_watch ? zmq_socket_monitor (zsock_resolve (sock), endpoint,
                                                     S_WATCH_EVENTS) : -1;
    if (rc == 0) {
        zsock_send (self->audit_watch, "sss", "WATCH", name, endpoint);
        rc = zsock_wait (self->audit_watch);
    }
    if (rc)
        zsys_warning ("broker: audit: cannot watch the %s socket; its refused connections "
                      "are not recorded", name);
}

/* Writes a readable reason for a handshake that failed with event and value. */
static void
s_failure (uint16_t event, uint32_t value, char *reason, size_t cap)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        snprintf (reason, cap, "connection refused: the certificate is not admitted "
                  "(ZAP status %u)", value);
    else
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    &&  value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        snprintf (reason, cap, "connection refused: the peer speaks another security "
                  "mechanism (plain to CURVE, or CURVE to plain)");
    else
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    &&  value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        snprintf (reason, cap, "connection refused: the CURVE handshake failed (the "
                  "peer may expect another server key)");
    else
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        snprintf (reason, cap, "connection refused: protocol error 0x%08x in the "
                  "handshake", value);
    else
        snprintf (reason, cap, "connection ended before its handshake: %s",
                  strerror ((int) value));
}

/* A refused connection from the watcher: [name][peer][event][value]. */
static int
s_on_refused (zloop_t *loop, zsock_t *pipe, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    char *name = NULL, *peer = NULL;
    uint16_t event = 0;
    uint32_t value = 0;
    if (zsock_recv (pipe, "ss24", &name, &peer, &event, &value) == 0 && name && peer) {
        kh_audit_t rec;
        memset (&rec, 0, sizeof rec);
        rec.at = kh_now_ms ();
        rec.code = KH_EFORBIDDEN;
        kh_utf8_line (rec.endpoint, sizeof rec.endpoint, name, strlen (name));
        snprintf (rec.command, sizeof rec.command, "CONNECT");
        kh_utf8_line (rec.peer, sizeof rec.peer, peer, strlen (peer));
        s_failure (event, value, rec.reason, sizeof rec.reason);
        s_add (self, &rec);
    }
    zstr_free (&name);
    zstr_free (&peer);
    return 0;
}

int
kh__audit_loop (kh_broker_t *self, zloop_t *loop)
{
    if (!self->audit_watch)
        return 0;
    zsock_t *pipe = zactor_sock (self->audit_watch);
    if (zloop_reader (loop, pipe, s_on_refused, self))
        return -1;
    zloop_reader_set_tolerant (loop, pipe);
    return 0;
}

/* ------------------------------------------------------------ the audit query */

/* Refuses the audit query msg with code and reason (req echoed), audited too. */
static void
s_refuse (kh_broker_t *self, kh_parts_t *msg, uint64_t req, int code, const char *reason)
{
    zmq_msg_t *client = kh_parts_at (msg, 0);
    kh__audit_refusal (self, msg, code, reason);
    kh__reply_error (self, zmq_msg_data (client), zmq_msg_size (client), NULL, req, code,
                     reason);
}

void
kh__audit_query (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *body = kh_parts_at (msg, 2);
    kh_audit_query_t query;
    kh_problem_t why, ignored;
    kh__peer_t peer;
    /* Its req first, for whatever answer it gets. */
    int rc = kh_audit_query_decode (zmq_msg_data (body), zmq_msg_size (body), &query, &why);
    if (kh__trust_client (self, msg, &peer, &ignored))
        s_refuse (self, msg, query.req, ignored.code, ignored.reason);
    else
    if (!peer.anonymous && peer.ident.role != KH_ROLE_ADMIN)
        s_refuse (self, msg, query.req, KH_EFORBIDDEN, "the audit is shown to admins only");
    else
    if (rc)
        s_refuse (self, msg, query.req, why.code, why.reason);
    else
    if (self->audit_queries >= KH__AUDIT_QUERIES_MAX)
        s_refuse (self, msg, query.req, KH_EUNAVAILABLE, "too many audit queries in "
                  "flight; read the answers first");
    else
    if (kh__link_send_query (self, KH_REC_AUDIT_QUERY, kh_parts_at (msg, 0), body))
        s_refuse (self, msg, query.req, KH_EUNAVAILABLE, "the recorder is not connected");
    else {
        self->audit_queries++;
        self->audit_touched = kh__now (self);
    }
}

void
kh__audit_answered (kh_broker_t *self)
{
    if (self->audit_queries > 0)
        self->audit_queries--;
    self->audit_touched = kh__now (self);
}

void
kh__audit_purge (kh_broker_t *self)
{
    self->audit_queries = 0;
}

void
kh__audit_tick (kh_broker_t *self)
{
    /* The recorder drops answers the broker's queue has no room for. */
    if (self->audit_queries && kh__now (self) - self->audit_touched >= self->resend_ms)
        self->audit_queries = 0;
    kh__audit_flush (self);
}

/* ------------------------------------------------------------ life */

void
kh__audit_teardown (kh_broker_t *self)
{
    zactor_destroy (&self->audit_watch);
    if (self->audit_count || self->audit_dropped_all)
        zsys_info ("broker: audit: %llu records sent to the recorder, %zu not sent, %llu "
                   "dropped", (unsigned long long) self->audit_sent, self->audit_count,
                   (unsigned long long) self->audit_dropped_all);
    free (self->audit_ring);
    self->audit_ring = NULL;
    self->audit_cap = self->audit_count = self->audit_first = 0;
}
