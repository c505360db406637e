/*  kh_broker_link.c - the broker's side of the recorder link: hands publishes over as
    STOREs, turns the answers into ACKs and live records, passes queries (QUERY,
    ITEMS, STATS, and audit queries) on, hands the audit its records once no STORE waits, and tells when the
    recorder is gone (PROTOCOL.md sections 8 and 12). */
#include <errno.h>
#include "kh_broker_priv.h"

#define S_FLUSH_MAX     4096    /* STOREs handed over in one go, at most */
#define S_BLOCKED_MS    10      /* retry period while the recorder's queue is full */
#define S_TOKEN_SIZE    8       /* bytes of a STORE token on the wire */
#define S_PROBE_MS      10      /* asks whether the recorder stands this often, at most */

/* ------------------------------------------------------------ life */

int
kh__link_init (kh_broker_t *self, const kh_broker_config_t *config)
{
    self->rec_state = KH__REC_NEVER;
    self->rec_ttl = config->recorder_ttl > 0 ? config->recorder_ttl : KH_BROKER_RECORDER_TTL;
    self->resend_ms = config->resend_ms > 0 ? config->resend_ms : KH_BROKER_RESEND_MS;
    kh__link_reset (self);
    /* Tokens of an earlier broker on this machine sort below ours, so a late answer
       meant for it never matches one of our publishes. */
    self->pending = kh_pending_new (config->pending_max ? config->pending_max
                                                        : KH_BROKER_PENDING_MAX,
                                    KH_BROKER_PENDING_BYTES, (kh_now_ms () << 20) + 1);
    if (!self->pending)
        return -1;
    kh_pending_set_lanes (self->pending, config->connection_pending
                          ? config->connection_pending : KH_BROKER_CONNECTION_PENDING,
                          config->calm_inflight ? config->calm_inflight
                                                : KH_BROKER_CALM_INFLIGHT);
    return 0;
}

void
kh__link_reset (kh_broker_t *self)
{
    self->flush_timer = self->ttl_timer = -1;
}

void
kh__link_teardown (kh_broker_t *self)
{
    kh_pending_destroy (&self->pending);
}

/* ------------------------------------------------------------ state */

bool
kh__link_up (kh_broker_t *self)
{
    return self->rec_state == KH__REC_UP || self->rec_state == KH__REC_BLOCKED;
}

bool
kh__link_head_known (kh_broker_t *self)
{
    return self->rec_state != KH__REC_NEVER;
}

/* True if msg comes from the recorder we are linked to. */
static bool
s_is_current (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *id = kh_parts_at (msg, 0);
    return kh__link_up (self) && id && zmq_msg_size (id) == self->rec_id_size
        && memcmp (zmq_msg_data (id), self->rec_id, self->rec_id_size) == 0;
}

/* Marks the recorder gone; what waits for it stays pending until one says HELLO. */
static void
s_lost (kh_broker_t *self, const char *why)
{
    if (!kh__link_up (self))
        return;
    self->rec_state = KH__REC_GONE;
    kh__queries_purge (self);           /* their answers will not come */
    kh__audit_purge (self);
    zsys_warning ("broker: recorder %s; %zu publishes wait for one", why,
                  kh_pending_size (self->pending));
}

static int s_on_ttl (zloop_t *loop, int timer_id, void *arg);

/* Gives the recorder up if it has been silent for longer than rec_ttl; otherwise, in
   real time, makes sure a timer looks again when it would have been. */
static void
s_ttl_check (kh_broker_t *self)
{
    if (!kh__link_up (self))
        return;
    int64_t silent = kh__now (self) - self->rec_seen;
    if (silent > self->rec_ttl)
        s_lost (self, "has been silent too long");
    else
    if (!kh__virtual_time (self))
        self->ttl_timer = kh__timer_once (self, self->ttl_timer,
                                          (size_t) (self->rec_ttl - silent + 1), s_on_ttl);
}

static int
s_on_ttl (zloop_t *loop, int timer_id, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    self->ttl_timer = -1;
    s_ttl_check (self);
    return 0;
}

/* ------------------------------------------------------------ sending */

/* Starts [recorder id][command] without blocking. Returns 0, or -1 if nothing could
   be sent: the recorder's queue is full, or it is gone (then it is marked so). Once
   the first frame is taken, the rest of the message is too. */
static int
s_send_start (kh_broker_t *self, const char *command)
{
    if (zmq_send (self->recorder_h, self->rec_id, self->rec_id_size,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        if (zmq_errno () == EHOSTUNREACH)
            s_lost (self, "is unreachable");
        return -1;
    }
    zmq_send (self->recorder_h, command, strlen (command), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    return 0;
}

/* Hands the entry under token to the recorder as [STORE][token][envelope], sharing
   the envelope's bytes. Returns 0, or -1 if it could not be sent now. */
static int
s_send_store (kh_broker_t *self, uint64_t token)
{
    uint8_t wire [S_TOKEN_SIZE];
    for (int i = S_TOKEN_SIZE - 1; i >= 0; i--)
        wire [i] = (uint8_t) (token >> (8 * (S_TOKEN_SIZE - 1 - i)));
    zmq_msg_t envelope;
    if (kh_pending_share (self->pending, token, &envelope))
        return -1;                      /* out of memory: try again later */
    if (s_send_start (self, KH_REC_STORE)) {
        zmq_msg_close (&envelope);
        return -1;
    }
    zmq_send (self->recorder_h, wire, sizeof wire, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (zmq_msg_send (&envelope, self->recorder_h, ZMQ_DONTWAIT) == -1)
        zmq_msg_close (&envelope);
    kh_pending_sent (self->pending, token, kh__now (self));
    self->stats.stored++;
    return 0;
}

static int
s_on_flush (zloop_t *loop, int timer_id, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    self->flush_timer = -1;
    kh__link_flush (self);
    return 0;
}

/* Hands the recorder, in token order, what it does not have yet: at most S_FLUSH_MAX
   now, the rest at the loop's next turn, or after S_BLOCKED_MS if its queue is full. */
void
kh__link_flush (kh_broker_t *self)
{
    if (!kh__link_up (self))
        return;
    self->rec_state = KH__REC_UP;
    for (int sent = 0; sent < S_FLUSH_MAX; sent++) {
        uint64_t token = kh_pending_unsent (self->pending);
        if (!token)
            break;
        if (s_send_store (self, token)) {
            if (kh__link_up (self)) {
                self->rec_state = KH__REC_BLOCKED;
                self->flush_timer = kh__timer_once (self, self->flush_timer, S_BLOCKED_MS,
                                                    s_on_flush);
            }
            return;
        }
    }
    if (kh_pending_unsent (self->pending))
        self->flush_timer = kh__timer_once (self, self->flush_timer, 0, s_on_flush);
    else
        kh__audit_flush (self);         /* STOREs first; the audit once none waits */
}

static bool s_still_there (kh_broker_t *self);

/* Publishes wait that the recorder is not handed (their connections have their
   share of it, kh_pending.h), so no send tells whether it is still there: ask
   libzmq now and then (a [HELLO], which the recorder ignores), so that a recorder
   that went away is noticed as soon as when every publish went to it at once. */
static void
s_probe (kh_broker_t *self)
{
    if (self->rec_state != KH__REC_UP || kh_pending_unsent (self->pending)
    ||  kh_pending_size (self->pending) == kh_pending_inflight (self->pending))
        return;
    int64_t now = zclock_mono ();
    if (now - self->probed >= S_PROBE_MS) {
        self->probed = now;
        s_still_there (self);
    }
}

void
kh__link_handover (kh_broker_t *self)
{
    if (self->rec_state == KH__REC_UP && self->flush_timer == -1)
        kh__link_flush (self);
    s_probe (self);
}

int
kh__link_send_query (kh_broker_t *self, const char *command, zmq_msg_t *client,
                     zmq_msg_t *body)
{
    if (!kh__link_up (self) || s_send_start (self, command))
        return -1;
    zmq_send (self->recorder_h, zmq_msg_data (client), zmq_msg_size (client),
              ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_msg_send (body, self->recorder_h, ZMQ_DONTWAIT);
    return 0;
}

bool
kh__link_idle (kh_broker_t *self)
{
    /* Not merely nothing to hand over now (a connection may be held to its part of
       the recorder, kh_pending.h): nothing waiting to be handed over at all. */
    return self->rec_state == KH__REC_UP
        && kh_pending_size (self->pending) == kh_pending_inflight (self->pending);
}

int
kh__link_audit (kh_broker_t *self, const void *data, size_t size)
{
    if (!kh__link_up (self))
        return -1;
    if (s_send_start (self, KH_REC_AUDIT)) {
        if (kh__link_up (self)) {       /* its queue is full: as for a STORE */
            self->rec_state = KH__REC_BLOCKED;
            self->flush_timer = kh__timer_once (self, self->flush_timer, S_BLOCKED_MS,
                                                s_on_flush);
        }
        return -1;
    }
    zmq_send (self->recorder_h, data, size, ZMQ_DONTWAIT);
    return 0;
}

/* ------------------------------------------------------------ the recorder says */

/* Logs and counts a frame from the recorder that we cannot use. */
static void
s_ignore (kh_broker_t *self, const char *what)
{
    self->stats.ignored++;
    zsys_warning ("broker: ignored from recorder: %s", what);
}

/* A recorder takes over: a new one, or one we had given up on (after its silence we
   cannot know what it kept). Everything pending goes to it again, oldest first; the
   recorder's de-duplication by id makes that safe. */
static void
s_take (kh_broker_t *self, zmq_msg_t *id)
{
    self->rec_id_size = zmq_msg_size (id);
    memcpy (self->rec_id, zmq_msg_data (id), self->rec_id_size);
    self->rec_state = KH__REC_UP;
    self->rec_seen = kh__now (self);
    kh_pending_rewind (self->pending, self->rec_seen);
    kh__queries_purge (self);
    kh__audit_purge (self);
    zsys_info ("broker: recorder connected; %zu publishes to hand over",
               kh_pending_size (self->pending));
    s_ttl_check (self);
}

/* True if the current recorder's connection still stands, as libzmq knows it: it
   is sent [HELLO], which it ignores. A full queue counts as standing (it is there,
   only busy); an unreachable one is marked gone, and false returned. */
static bool
s_still_there (kh_broker_t *self)
{
    if (zmq_send (self->recorder_h, self->rec_id, self->rec_id_size,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        if (zmq_errno () == EHOSTUNREACH)
            s_lost (self, "is unreachable");
        return kh__link_up (self);
    }
    zmq_send (self->recorder_h, KH_REC_HELLO, strlen (KH_REC_HELLO), ZMQ_DONTWAIT);
    return true;
}

/* [HELLO][hello]: the recorder is alive; one that was not gets everything pending. A
   HELLO from another recorder while ours stands is ignored: the broker never
   switches away from a recorder that is alive (two on one store cannot both run,
   the store's lock sees to that; two on two stores would split the log). */
static void
s_hello (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *body = kh_parts_at (msg, 2), *id = kh_parts_at (msg, 0);
    uint64_t head;
    kh_problem_t why;
    if (kh_hello_decode (zmq_msg_data (body), zmq_msg_size (body), &head, &why)) {
        s_ignore (self, why.reason);
        return;
    }
    if (zmq_msg_size (id) > sizeof self->rec_id) {
        s_ignore (self, "routing id longer than 255 bytes");
        return;
    }
    if (!s_is_current (self, msg) && kh__link_up (self) && s_still_there (self)) {
        s_ignore (self, "HELLO of a second recorder while the one linked is connected "
                  "(is another recorder running on another store?)");
        return;
    }
    if (!s_is_current (self, msg))
        s_take (self, id);
    if (head > self->head)
        self->head = head;
    kh__link_flush (self);
}

/* Returns the token a [STORED|FAILED][token][...] answers and fills entry with what
   waits under it; 0 if nothing does. An answer from the current recorder also tells
   which sends before it lost theirs (it answers in order). */
static uint64_t
s_answered (kh_broker_t *self, kh_parts_t *msg, kh_pending_view_t *entry)
{
    zmq_msg_t *frame = kh_parts_at (msg, 2);
    if (zmq_msg_size (frame) != S_TOKEN_SIZE) {
        s_ignore (self, "token is not 8 bytes");
        return 0;
    }
    const uint8_t *data = (const uint8_t *) zmq_msg_data (frame);
    uint64_t token = 0;
    for (int i = 0; i < S_TOKEN_SIZE; i++)
        token = token << 8 | data [i];
    if (kh_pending_get (self->pending, token, entry)) {
        if (self->verbose)              /* answered already, or before a restart */
            zsys_debug ("broker: answer for unknown token %llu", (unsigned long long) token);
        return 0;
    }
    if (s_is_current (self, msg))
        kh_pending_answered (self->pending, token, kh__now (self));
    return token;
}

/* [STORED][token][stored]: publish (once), acknowledge, forget. */
static void
s_stored (kh_broker_t *self, kh_parts_t *msg)
{
    kh_pending_view_t entry;
    uint64_t token = s_answered (self, msg, &entry);
    if (!token)
        return;
    zmq_msg_t *body = kh_parts_at (msg, 3);
    kh_seqinfo_t info;
    bool dup;
    kh_problem_t why;
    if (kh_stored_decode (zmq_msg_data (body), zmq_msg_size (body), &info, &dup, &why)) {
        s_ignore (self, why.reason);
        kh__audit_unstored (self, &entry, KH_ESTORE, "the recorder's answer could not be "
                            "read");
        kh__reply_error (self, entry.client, entry.client_size, entry.id, 0, KH_ESTORE,
                         "the recorder's answer could not be read");
        kh_pending_remove (self->pending, token);
        return;
    }
    /* A duplicate was published when first stored - unless that answer went to a
       broker that lost it, which a resend cannot rule out. */
    if (!dup || entry.resent)
        kh__live_publish (self, &entry, &info);
    msgpack_sbuffer_clear (&self->buf);
    if (kh_ack_encode (&self->buf, entry.id, info.seq, dup) == 0) {
        kh__reply (self, entry.client, entry.client_size, KH_REP_ACK, self->buf.data,
                   self->buf.size);
        self->stats.acked++;
    }
    else {
        /* Stored, but the ACK cannot be built: the publisher times out and sends the
           same id again, which the store answers as a duplicate with this seq. */
        zsys_error ("broker: out of memory encoding an ACK");
        self->stats.dropped++;
    }
    if (info.seq > self->head)
        self->head = info.seq;
    kh_pending_remove (self->pending, token);
}

/* [FAILED][token][error]: the client gets the recorder's error, naming its id. */
static void
s_failed (kh_broker_t *self, kh_parts_t *msg)
{
    kh_pending_view_t entry;
    uint64_t token = s_answered (self, msg, &entry);
    if (!token)
        return;
    zmq_msg_t *body = kh_parts_at (msg, 3);
    kh_error_reply_t err;
    kh_problem_t why;
    memset (&err, 0, sizeof err);
    int rc = kh_error_decode (zmq_msg_data (body), zmq_msg_size (body), &err, &why);
    kh__audit_unstored (self, &entry, rc ? KH_ESTORE : err.code ? err.code : KH_ESTORE,
                        rc ? "the store failed to commit" : err.reason);
    if (rc == 0 && err.has_id) {
        kh__reply_msg (self, entry.client, entry.client_size, KH_REP_ERROR, body);
        self->stats.errors++;
    }
    else
    if (rc == 0)                        /* readable, but without the id the client needs */
        kh__reply_error (self, entry.client, entry.client_size, entry.id, 0,
                         err.code ? err.code : KH_ESTORE, err.reason);
    else {
        s_ignore (self, why.reason);
        kh__reply_error (self, entry.client, entry.client_size, entry.id, 0, KH_ESTORE,
                         "the store failed to commit");
    }
    kh_pending_remove (self->pending, token);
}

/* [ROWS|ERROR][client id][body]: a query's answer, passed on as [ROWS|ERROR][body]. */
static void
s_reply (kh_broker_t *self, kh_parts_t *msg)
{
    bool rows = kh_parts_is (msg, 1, KH_REP_ROWS);
    zmq_msg_t *client = kh_parts_at (msg, 2);
    kh__reply_answer (self, zmq_msg_data (client), zmq_msg_size (client),
                      rows ? KH_REP_ROWS : KH_REP_ERROR, kh_parts_at (msg, 3), true);
    if (!rows)
        self->stats.errors++;
}

/* [AUDIT_ROWS|AUDIT_ERROR][client id][body]: an audit query's answer, passed on as
   [ROWS|ERROR][body]. */
static void
s_audit_reply (kh_broker_t *self, kh_parts_t *msg)
{
    bool rows = kh_parts_is (msg, 1, KH_REC_AUDIT_ROWS);
    zmq_msg_t *client = kh_parts_at (msg, 2);
    kh__audit_answered (self);
    kh__reply_answer (self, zmq_msg_data (client), zmq_msg_size (client),
                      rows ? KH_REP_ROWS : KH_REP_ERROR, kh_parts_at (msg, 3), false);
    if (!rows)
        self->stats.errors++;
}

/* [BYE]: the current recorder stops; what it has not answered waits for the next. */
static void
s_bye (kh_broker_t *self, kh_parts_t *msg)
{
    if (s_is_current (self, msg))
        s_lost (self, "stopped");
}

static const kh__command_t s_commands [] = {
    { KH_REC_HELLO,  2, 2, s_hello },
    { KH_REC_BYE,    1, 1, s_bye },
    { KH_REC_STORED, 3, 3, s_stored },
    { KH_REC_FAILED, 3, 3, s_failed },
    { KH_REP_ROWS,   3, 3, s_reply },
    { KH_REP_ERROR,  3, 3, s_reply },
    { KH_REC_AUDIT_ROWS,  3, 3, s_audit_reply },
    { KH_REC_AUDIT_ERROR, 3, 3, s_audit_reply },
};

/* Any message from the current recorder shows it alive, so that a HELLO queued
   behind many answers on a busy link does not make us give up on it. */
void
kh__link_message (kh_broker_t *self, kh_parts_t *msg)
{
    if (s_is_current (self, msg))
        self->rec_seen = kh__now (self);
    const kh__command_t *command = kh__command_find (s_commands,
        sizeof s_commands / sizeof s_commands [0], msg);
    if (!command)
        s_ignore (self, "unknown command");
    else
    if (!kh__command_fits (command, msg))
        s_ignore (self, "wrong number of frames");
    else
        command->handler (self, msg);
}

/* ------------------------------------------------------------ timed work */

/* Finds STOREs whose answer was lost (the recorder drops answers the broker's queue
   has no room for) and sends them again, oldest first. */
static void
s_resend_check (kh_broker_t *self)
{
    if (!kh__link_up (self))
        return;
    self->stats.resent += kh_pending_requeue (self->pending, kh__now (self),
                                              self->resend_ms);
    kh__link_flush (self);
}

void
kh__link_tick (kh_broker_t *self)
{
    s_ttl_check (self);
    s_resend_check (self);
    kh__audit_tick (self);
}
