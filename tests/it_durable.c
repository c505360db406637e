/*  it_durable.c - proves with the real broker and recorder that an acknowledged
    message is never lost and never stored twice: kill -9 of the recorder and of the
    broker under load, a subscriber from seq 1 that lives through it all, SIGTERM of
    both under load, and a store that is whole and consistent when read afterwards.

    One publisher keeps S_WINDOW publishes in flight and remembers what the first
    ACK of each id said. After every crash it sends each unacknowledged envelope
    again, byte for byte, as PROTOCOL.md section 2 tells publishers to; the hub must
    answer every one, the repeats with the seq of the original.
*/
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_codec.h"
#include "kh_harness.h"

#define S_WINDOW        300     /* publishes in flight */
#define S_RESEND_MS     1000    /* a publish without answer is sent again after this */
#define S_RETRY_MS      100     /* ... and one refused as UNAVAILABLE after this */
#define S_PHASE_MS      60000   /* a phase must reach its ack count within this */
#define S_RECORDER_MS   20000   /* a restarted broker must see the recorder within this */
#define S_FOLLOW_MS     30000   /* the follower must catch up within this */
#define S_QUERY_MS      250     /* a follower's store query that a crash left unanswered
                                   is asked again after this */
#define S_POLL_MS       5       /* a follower looks at its pipe at least this often */
#define S_REPORT_MAX    5       /* row problems reported one by one, at most */

/* One message of the run: its envelope, kept to resend the same bytes, and what the
   hub said about it. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    char     type [KH_TYPE_MAX + 1];
    char     from [KH_AGS_MAX + 1];
    int      sender;                    /* index of from in s_senders */
    uint8_t *data;                      /* the envelope */
    size_t   size;
    uint64_t seq;                       /* from its first ACK; 0 until then */
    int      fresh;                     /* ACKs that said dup: false */
    int64_t  sent_at;                   /* zclock_mono of its last send */
} s_msg_t;

/* The senders of the run: both types from three of them, so that every previous-
   link has something to point at. A secure hub takes each message from the
   certificate of its sender: the publisher has one client per sender. */
#define S_SENDERS   3
static const char *const s_senders [S_SENDERS] = { "05162004", "05162", "05158020" };

/*  The publisher. Messages are sent in index order, so those in [0, next) were sent
    at least once; every message below low is acknowledged. */
typedef struct {
    kh_client_t *clients [S_SENDERS];   /* by sender */
    zhashx_t    *by_id;                 /* id text -> index + 1 */
    s_msg_t     *msgs;
    size_t       count;                 /* messages made */
    size_t       next;                  /* first never sent */
    size_t       low;                   /* first not acknowledged */
    size_t       acked;                 /* distinct ids acknowledged */
    uint64_t     max_seq;               /* highest seq acknowledged */
    uint64_t     resends;
    uint64_t     dup_acks;              /* ACKs after the first for an id */
    uint64_t     refusals;              /* transient ERRORs (UNAVAILABLE, STORE) */
    uint64_t     lost;                  /* first ACKs saying dup: stored, answer lost */
    uint64_t     twice;                 /* ids acknowledged as new more than once */
    uint64_t     moved;                 /* ACKs whose seq differs from the first's */
} s_pub_t;

/* ---------------------------------------------------------------- publisher */

static void s_pub_destroy (s_pub_t **self_p);

/* Creates a publisher connected to the hub's client endpoint, or NULL. */
static s_pub_t *
s_pub_new (kh_hub_t *hub)
{
    s_pub_t *self = (s_pub_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    bool ready = (self->by_id = zhashx_new ()) != NULL;
    for (int i = 0; i < S_SENDERS; i++)
        ready &= (self->clients [i] = kh_hub_client (hub, s_senders [i])) != NULL;
    if (!ready)
        s_pub_destroy (&self);
    return self;
}

static void
s_pub_destroy (s_pub_t **self_p)
{
    s_pub_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        free (self->msgs [i].data);
    free (self->msgs);
    zhashx_destroy (&self->by_id);
    for (int i = 0; i < S_SENDERS; i++)
        kh_client_destroy (&self->clients [i]);
    free (self);
    *self_p = NULL;
}

/* Makes count more messages: both types from the three senders. Returns 0, or -1 if
   one could not be built. */
static int
s_pub_add (s_pub_t *self, size_t count)
{
    s_msg_t *msgs = (s_msg_t *) realloc (self->msgs, (self->count + count) * sizeof *msgs);
    if (!msgs)
        return -1;
    self->msgs = msgs;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = 0;
    for (size_t k = 0; k < count && rc == 0; k++) {
        size_t index = self->count;
        s_msg_t *msg = &self->msgs [index];
        memset (msg, 0, sizeof *msg);
        snprintf (msg->type, sizeof msg->type, "%s", index % 2 ? "offer" : "idea");
        msg->sender = (int) (index / 2 % S_SENDERS);
        snprintf (msg->from, sizeof msg->from, "%s", s_senders [msg->sender]);
        kh_id_new (msg->id);
        char title [64], text [KH_ID_STR_SIZE];
        snprintf (title, sizeof title, "durable %zu", index);
        kh_problem_t why;
        kh_builder_t *builder = kh_builder_new (msg->type);
        msgpack_sbuffer_clear (&buf);
        rc = builder && kh_builder_set (builder, "title", title, &why) == 0
             && kh_builder_pack (builder, msg->id, msg->from, kh_now_ms (), &buf,
                                   &why) == 0 ? 0 : -1;
        kh_builder_destroy (&builder);
        if (rc == 0 && (msg->data = (uint8_t *) malloc (buf.size))) {
            memcpy (msg->data, buf.data, buf.size);
            msg->size = buf.size;
            kh_id_format (msg->id, text);
            zhashx_insert (self->by_id, text, (void *) (uintptr_t) (index + 1));
            self->count++;
        }
        else
            rc = -1;
    }
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Returns the message with id, or NULL if we never made it. */
static s_msg_t *
s_pub_lookup (s_pub_t *self, const uint8_t id [KH_ID_SIZE])
{
    char text [KH_ID_STR_SIZE];
    kh_id_format (id, text);
    uintptr_t index = (uintptr_t) zhashx_lookup (self->by_id, text);
    return index ? &self->msgs [index - 1] : NULL;
}

/* Sends message index (again), its bytes unchanged. */
static void
s_pub_send (s_pub_t *self, size_t index)
{
    s_msg_t *msg = &self->msgs [index];
    int rc = kh_client_send (self->clients [msg->sender], msg->data, msg->size);
    KH_CHECK ("a publish can be sent", rc == 0, "message %zu: %s", index, kh_strerror (rc));
    msg->sent_at = zclock_mono ();
}

/* Sends again every message sent and not acknowledged that is due: all of them if
   all is true, else those whose last send is S_RESEND_MS old. */
static void
s_pub_resend (s_pub_t *self, bool all)
{
    int64_t now = zclock_mono ();
    while (self->low < self->next && self->msgs [self->low].seq)
        self->low++;
    for (size_t i = self->low; i < self->next; i++) {
        s_msg_t *msg = &self->msgs [i];
        if (msg->seq == 0 && (all || now - msg->sent_at >= S_RESEND_MS)) {
            s_pub_send (self, i);
            self->resends++;
        }
    }
}

/* Takes in one ACK or ERROR. */
static void
s_pub_reply (s_pub_t *self, const kh_reply_t *reply)
{
    bool ack = reply->kind == KH_REPLY_ACK;
    const uint8_t *id = ack ? reply->id : reply->error.has_id ? reply->error.id : NULL;
    s_msg_t *msg = id ? s_pub_lookup (self, id) : NULL;
    KH_CHECK ("every answer names a message we published", msg, "%s",
              ack ? "ACK" : reply->error.reason);
    if (!msg)
        return;
    if (!ack) {
        bool transient = reply->error.code == KH_EUNAVAILABLE
                      || reply->error.code == KH_ESTORE;
        KH_CHECK ("a valid publish is only refused as transient", transient,
                  "ERROR %s: %s", reply->error.name, reply->error.reason);
        self->refusals++;
        msg->sent_at = zclock_mono () - S_RESEND_MS + S_RETRY_MS;
        return;
    }
    msg->fresh += !reply->dup;
    if (msg->fresh > 1 && self->twice++ < S_REPORT_MAX)
        printf ("FAIL an id is acknowledged as new twice: seq %llu, then %llu\n",
                (unsigned long long) msg->seq, (unsigned long long) reply->seq);
    if (msg->seq == 0) {
        msg->seq = reply->seq;
        self->acked++;
        self->lost += reply->dup;
        if (reply->seq > self->max_seq)
            self->max_seq = reply->seq;
    }
    else {
        self->dup_acks++;
        if (reply->seq != msg->seq && self->moved++ < S_REPORT_MAX)
            printf ("FAIL a repeated ACK carries another seq: first %llu, now %llu\n",
                    (unsigned long long) msg->seq, (unsigned long long) reply->seq);
    }
}

/* Sends new messages until S_WINDOW are in flight (or all are sent). */
static void
s_pub_fill (s_pub_t *self)
{
    while (self->next < self->count && self->next - self->acked < S_WINDOW)
        s_pub_send (self, self->next++);
}

/* Fills the window, resends what is overdue, and takes the answers that arrive
   within wait_ms. */
static void
s_pub_pump (s_pub_t *self, int wait_ms)
{
    s_pub_fill (self);
    s_pub_resend (self, false);
    /* Waits on the client of the oldest message in flight, whose answer is due
       first; then takes what the others have too. */
    int first = self->low < self->next ? self->msgs [self->low].sender : 0;
    kh_reply_t reply;
    if (kh_client_recv_reply (self->clients [first], wait_ms, &reply) == 0)
        s_pub_reply (self, &reply);
    for (int c = 0; c < S_SENDERS; c++)
        for (int taken = 0; taken < 4 * S_WINDOW
                         && kh_client_recv_reply (self->clients [c], 0, &reply) == 0; taken++)
            s_pub_reply (self, &reply);
}

/* Publishes until target distinct ids are acknowledged (or S_PHASE_MS passed),
   then fills the window again, so that whatever comes next meets a full pipeline.
   Returns true if they were. */
static bool
s_pub_run (s_pub_t *self, size_t target, const char *phase)
{
    int64_t deadline = zclock_mono () + S_PHASE_MS;
    while (self->acked < target && zclock_mono () < deadline)
        s_pub_pump (self, 20);
    s_pub_fill (self);
    KH_CHECK ("every publish is acknowledged in time", self->acked >= target,
              "%s: %zu of %zu acknowledged after %d s", phase, self->acked, target,
              S_PHASE_MS / 1000);
    return self->acked >= target;
}

/* ----------------------------------------------------------------- follower */

/* What a follower follows: a type and a sender ("" for any). */
typedef struct {
    const kh_hub_t *hub;
    const char     *type;
    const char     *from;
    kh_keys_t      *keys;               /* the admin's; NULL: a plain hub */
} s_filter_t;

/*  A follower: a kh_subscriber from seq 1 in its own thread, so that it keeps
    reading (and asking the store) while processes die. It counts records that do not
    come in order (without a filter: seq is not last + 1; with one: seq is not above
    last) and keeps each one's id. [WAIT][count][ms] is answered, once count records
    arrived or ms passed, with [delivered][last][out of order][errors][ids: 16 bytes
    per record, in the order delivered]. */
typedef struct {
    bool     strict;                    /* no filter: every seq follows the last */
    uint64_t delivered;
    uint64_t last;                      /* seq of the last record */
    uint64_t disorder;                  /* records out of order */
    uint64_t errors;                    /* next() failures other than timeouts */
    uint8_t *ids;                       /* delivered ids */
    size_t   ids_cap;                   /* in ids */
    bool     waiting;
    uint64_t want;
    int64_t  deadline;
} s_follow_t;

/* Takes in one record. */
static void
s_follow_record (s_follow_t *self, const kh_record_t *rec)
{
    uint64_t seq = rec->info.seq;
    bool ordered = self->strict ? seq == self->last + 1 : seq > self->last;
    if (!ordered && self->disorder++ == 0)
        zsys_error ("follower: seq %llu after %llu", (unsigned long long) seq,
                    (unsigned long long) self->last);
    self->last = seq;
    if (self->delivered == self->ids_cap) {
        size_t cap = self->ids_cap ? 2 * self->ids_cap : 4096;
        uint8_t *ids = (uint8_t *) realloc (self->ids, cap * KH_ID_SIZE);
        if (!ids)
            return;                     /* then the count tells that something is off */
        self->ids = ids;
        self->ids_cap = cap;
    }
    kh_envelope_t env;
    kh_problem_t why;
    memset (env.id, 0, KH_ID_SIZE);
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, &why))
        zsys_error ("follower: record %llu: %s", (unsigned long long) seq, why.reason);
    memcpy (self->ids + self->delivered * KH_ID_SIZE, env.id, KH_ID_SIZE);
    self->delivered++;
}

/* Reads a command from the pipe; returns true on $TERM. */
static bool
s_follow_command (s_follow_t *self, zsock_t *pipe)
{
    char *command = NULL;
    uint64_t want = 0, ms = 0;
    if (zsock_recv (pipe, "s88", &command, &want, &ms) == -1)
        return true;
    bool term = !command || streq (command, "$TERM");
    if (command && streq (command, "WAIT")) {
        self->waiting = true;
        self->want = want;
        self->deadline = zclock_mono () + (int64_t) ms;
    }
    zstr_free (&command);
    return term;
}

static void
s_follower (zsock_t *pipe, void *args)
{
    const s_filter_t *filter = (const s_filter_t *) args;
    kh_subscriber_t *sub = filter->keys
        ? kh_subscriber_new_secure (filter->hub->client, filter->hub->live, filter->keys,
                                    filter->type, filter->from, 1)
        : kh_subscriber_new (filter->hub->client, filter->hub->live, filter->type,
                             filter->from, 1);
    if (sub)
        kh_subscriber_set_query_timeout (sub, S_QUERY_MS);
    zsock_signal (pipe, 0);
    s_follow_t self = { .strict = !*filter->type && !*filter->from };
    while (sub) {
        if ((zsock_events (pipe) & ZMQ_POLLIN) && s_follow_command (&self, pipe))
            break;
        if (self.waiting && (self.delivered >= self.want || zclock_mono () >= self.deadline)) {
            zsock_send (pipe, "8888b", self.delivered, self.last, self.disorder,
                        self.errors, self.ids, (size_t) self.delivered * KH_ID_SIZE);
            self.waiting = false;
        }
        kh_record_t rec;
        int rc = kh_subscriber_next (sub, S_POLL_MS, &rec);
        if (rc == 0)
            s_follow_record (&self, &rec);
        else
        if (rc != KH_ETIMEOUT)
            self.errors++;              /* the store is away for a moment: ask again */
    }
    while (!sub && !s_follow_command (&self, pipe))
        ;                               /* answers nothing: the WAIT times out */
    free (self.ids);
    kh_subscriber_destroy (&sub);
}

/* Fills order [seq - 1] with the index of the message acknowledged with seq, for
   seq 1..count (SIZE_MAX where none was). */
static void
s_pub_order (s_pub_t *pub, size_t *order)
{
    for (size_t i = 0; i < pub->count; i++)
        order [i] = SIZE_MAX;
    for (size_t i = 0; i < pub->count; i++)
        if (pub->msgs [i].seq >= 1 && pub->msgs [i].seq <= pub->count)
            order [pub->msgs [i].seq - 1] = i;
}

/* Keeps in order only the messages the filter matches (still in seq order);
   returns how many. */
static size_t
s_filter_order (const s_filter_t *filter, s_pub_t *pub, size_t *order)
{
    size_t kept = 0;
    for (size_t i = 0; i < pub->count; i++) {
        if (order [i] == SIZE_MAX)
            continue;
        s_msg_t *msg = &pub->msgs [order [i]];
        if ((!*filter->type || streq (filter->type, msg->type))
        &&  (!*filter->from || streq (filter->from, msg->from)))
            order [kept++] = order [i];
    }
    return kept;
}

/* Asks a follower to catch up with the publisher and checks that it delivered
   exactly the acknowledged messages its filter matches, each once, in seq order. */
static void
s_follow_check (zactor_t *follower, const s_filter_t *filter, s_pub_t *pub,
                const char *phase)
{
    size_t *order = (size_t *) malloc (pub->count * sizeof *order);
    if (!order)
        return;
    s_pub_order (pub, order);
    size_t expect = s_filter_order (filter, pub, order);
    uint64_t delivered = 0, last = 0, disorder = 0, errors = 0;
    uint8_t *ids = NULL;
    size_t size = 0;
    zsock_send (follower, "s88", "WAIT", (uint64_t) expect, (uint64_t) S_FOLLOW_MS);
    int rc = zsock_recv (follower, "8888b", &delivered, &last, &disorder, &errors, &ids,
                         &size);
    char name [64];
    snprintf (name, sizeof name, "%s, type '%s' from '%s'", phase, filter->type,
              filter->from);
    KH_CHECK ("the follower answers", rc == 0, "%s", name);
    KH_CHECK ("a subscriber from seq 1 delivers every matching record once, in order",
              delivered == expect && disorder == 0,
              "%s: delivered %llu (last seq %llu, %llu out of order), expected %zu", name,
              (unsigned long long) delivered, (unsigned long long) last,
              (unsigned long long) disorder, expect);
    size_t wrong = 0;
    for (size_t i = 0; ids && i < size / KH_ID_SIZE && i < expect; i++)
        if (memcmp (ids + i * KH_ID_SIZE, pub->msgs [order [i]].id, KH_ID_SIZE)
        &&  wrong++ < S_REPORT_MAX)
            printf ("FAIL %s: record %zu is not the message acknowledged with seq %llu\n",
                    name, i + 1, (unsigned long long) pub->msgs [order [i]].seq);
    KH_CHECK ("each delivered record is the message acknowledged with its seq", wrong == 0,
              "%s: %zu wrong", name, wrong);
    printf ("  %s: delivered %llu (%llu store errors retried)\n", name,
            (unsigned long long) delivered, (unsigned long long) errors);
    free (ids);
    free (order);
}

/* ------------------------------------------------------------------ crashes */

/* True if status says the process exited with 0 (sig SIGTERM) or died of sig. */
static bool
s_ended_as (int status, int sig)
{
    if (sig == SIGTERM)
        return status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
    return status != -1 && WIFSIGNALED (status) && WTERMSIG (status) == sig;
}

/* Stops the recorder with sig while publishes are in flight, restarts it, and has
   the publisher send every unacknowledged message again. */
static void
s_recorder_crash (kh_hub_t *hub, s_pub_t *pub, int sig)
{
    size_t in_flight = pub->next - pub->acked;
    int status = kh_hub_stop_recorder (hub, sig);
    KH_CHECK (sig == SIGTERM ? "a recorder stopped by SIGTERM exits with status 0"
                             : "the recorder dies of kill -9",
              s_ended_as (status, sig), "status 0x%x", status);
    KH_CHECK ("the recorder starts again on the same store", kh_hub_start_recorder (hub) == 0,
              "see %s", hub->dir);
    printf ("  recorder %s at %zu acknowledged, %zu in flight\n",
            sig == SIGTERM ? "SIGTERM" : "kill -9", pub->acked, in_flight);
    s_pub_resend (pub, true);
}

/* Waits until the broker says a recorder is connected; checks that it learnt the
   store's head from the recorder's HELLO. */
static void
s_broker_sees_recorder (kh_hub_t *hub, s_pub_t *pub)
{
    kh_client_t *probe = kh_hub_client (hub, "admin");
    uint64_t head = 0;
    bool up = false;
    int64_t deadline = zclock_mono () + S_RECORDER_MS;
    while (probe && !up && zclock_mono () < deadline)
        if (kh_client_ping (probe, 200, &head, &up) == 0 && !up)
            zclock_sleep (5);           /* the next PONG only tells after a HELLO */
    KH_CHECK ("the recorder reconnects to a restarted broker", up,
              "no recorder after %d s", S_RECORDER_MS / 1000);
    KH_CHECK ("a restarted broker learns the store's head from the recorder",
              !up || head >= pub->max_seq, "head %llu, highest acknowledged %llu",
              (unsigned long long) head, (unsigned long long) pub->max_seq);
    kh_client_destroy (&probe);
}

/* Stops the broker with sig while publishes are in flight, starts it again on the
   same endpoints, and has the publisher send every unacknowledged message again. */
static void
s_broker_crash (kh_hub_t *hub, s_pub_t *pub, int sig)
{
    size_t in_flight = pub->next - pub->acked;
    int status = kh_hub_stop_broker (hub, sig);
    KH_CHECK (sig == SIGTERM ? "a broker stopped by SIGTERM exits with status 0"
                             : "the broker dies of kill -9",
              s_ended_as (status, sig), "status 0x%x", status);
    KH_CHECK ("the broker starts again on the same endpoints", kh_hub_start_broker (hub) == 0,
              "see %s", hub->dir);
    printf ("  broker %s at %zu acknowledged, %zu in flight\n",
            sig == SIGTERM ? "SIGTERM" : "kill -9", pub->acked, in_flight);
    s_pub_resend (pub, true);
    s_broker_sees_recorder (hub, pub);
}

/* Kills broker and recorder at once, as a machine crash would (short of the power:
   what the kernel has is kept), starts both again, and has the publisher resend. */
static void
s_hub_crash (kh_hub_t *hub, s_pub_t *pub)
{
    size_t in_flight = pub->next - pub->acked;
    kill (hub->broker_pid, SIGKILL);
    int recorder = kh_hub_stop_recorder (hub, SIGKILL);
    int broker = kh_hub_stop_broker (hub, SIGKILL);
    KH_CHECK ("broker and recorder die of kill -9 together",
              s_ended_as (recorder, SIGKILL) && s_ended_as (broker, SIGKILL),
              "status 0x%x and 0x%x", broker, recorder);
    KH_CHECK ("the broker starts again on the same endpoints", kh_hub_start_broker (hub) == 0,
              "see %s", hub->dir);
    KH_CHECK ("the recorder starts again on the same store", kh_hub_start_recorder (hub) == 0,
              "see %s", hub->dir);
    printf ("  broker and recorder kill -9 at %zu acknowledged, %zu in flight\n",
            pub->acked, in_flight);
    s_pub_resend (pub, true);
    s_broker_sees_recorder (hub, pub);
}

/* --------------------------------------------------------------- the store */

/* Runs PRAGMA integrity_check; true if its only answer is "ok". */
static bool
s_integrity_ok (sqlite3 *db, char *answer, size_t cap)
{
    sqlite3_stmt *stmt = NULL;
    int rows = 0;
    snprintf (answer, cap, "(no answer)");
    if (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK)
        while (sqlite3_step (stmt) == SQLITE_ROW)
            if (rows++ == 0)
                snprintf (answer, cap, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    return rows == 1 && streq (answer, "ok");
}

/* The last seq seen under key in links (0: none), then key's new last is seq. */
static uint64_t
s_link_swap (zhashx_t *links, const char *key, uint64_t seq)
{
    uint64_t before = (uint64_t) (uintptr_t) zhashx_lookup (links, key);
    zhashx_update (links, key, (void *) (uintptr_t) seq);
    return before;
}

/* Checks one row (seq, id, type, sender, at, prev_type, prev_sender, prev_pair,
   envelope) against what was acknowledged and against the rows before it. Returns
   the number of problems found. */
static int
s_check_row (sqlite3_stmt *stmt, uint64_t expect, s_pub_t *pub, zhashx_t *links,
             uint64_t *last_at)
{
    uint64_t seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
    const uint8_t *id = (const uint8_t *) sqlite3_column_blob (stmt, 1);
    const char *type = (const char *) sqlite3_column_text (stmt, 2);
    const char *from = (const char *) sqlite3_column_text (stmt, 3);
    uint64_t at = (uint64_t) sqlite3_column_int64 (stmt, 4);
    s_msg_t *msg = id && sqlite3_column_bytes (stmt, 1) == KH_ID_SIZE
                 ? s_pub_lookup (pub, id) : NULL;
    if (seq != expect || !msg || !type || !from) {
        printf ("FAIL row %llu (expected seq %llu): %s\n", (unsigned long long) seq,
                (unsigned long long) expect, msg ? "no type or sender" : "an id never published");
        return 1;
    }
    char key [64];
    snprintf (key, sizeof key, "t:%s", type);
    uint64_t pt = s_link_swap (links, key, seq);
    snprintf (key, sizeof key, "s:%s", from);
    uint64_t ps = s_link_swap (links, key, seq);
    snprintf (key, sizeof key, "p:%s/%s", type, from);
    uint64_t pts = s_link_swap (links, key, seq);
    const char *problem =
        msg->seq != seq ? "its ACK gave another seq"
      : !streq (type, msg->type) || !streq (from, msg->from) ? "type or sender differ"
      : sqlite3_column_bytes (stmt, 8) != (int) msg->size
        || memcmp (sqlite3_column_blob (stmt, 8), msg->data, msg->size)
        ? "the envelope differs from the bytes published"
      : (uint64_t) sqlite3_column_int64 (stmt, 5) != pt ? "prev_type is wrong"
      : (uint64_t) sqlite3_column_int64 (stmt, 6) != ps ? "prev_sender is wrong"
      : (uint64_t) sqlite3_column_int64 (stmt, 7) != pts ? "prev_pair is wrong"
      : at < *last_at ? "at went back"
      : NULL;
    *last_at = at;
    if (problem)
        printf ("FAIL row %llu: %s (acknowledged seq %llu)\n", (unsigned long long) seq,
                problem, (unsigned long long) msg->seq);
    return problem ? 1 : 0;
}

/* Walks the table in seq order through s_check_row; returns the rows that failed. */
static size_t
s_check_rows (sqlite3 *db, s_pub_t *pub)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, "SELECT seq, id, type, sender, at, prev_type, prev_sender, "
                            "prev_pair, envelope FROM message ORDER BY seq", -1, &stmt,
                            NULL) != SQLITE_OK) {
        printf ("FAIL cannot read the rows: %s\n", sqlite3_errmsg (db));
        return 1;
    }
    zhashx_t *links = zhashx_new ();
    uint64_t expect = 1, last_at = 0;
    size_t bad = 0;
    while (sqlite3_step (stmt) == SQLITE_ROW && bad < S_REPORT_MAX)
        bad += (size_t) s_check_row (stmt, expect++, pub, links, &last_at);
    zhashx_destroy (&links);
    sqlite3_finalize (stmt);
    return bad;
}

/* Opens the store of a stopped hub read-only and checks it against the ACKs. */
static void
s_check_store (kh_hub_t *hub, s_pub_t *pub)
{
    char path [400], wal [420], answer [256];
    snprintf (path, sizeof path, "%s/kreishub.db", hub->dir);
    snprintf (wal, sizeof wal, "%s-wal", path);
    struct stat st;
    bool wal_empty = stat (wal, &st) != 0 || st.st_size == 0;
    KH_CHECK ("a recorder stopped by SIGTERM leaves nothing in the WAL", wal_empty,
              "%s holds %lld bytes", wal, wal_empty ? 0LL : (long long) st.st_size);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL);
    KH_CHECK ("the store opens read-only", rc == SQLITE_OK, "%s: %s", path,
              db ? sqlite3_errmsg (db) : "no memory");
    if (rc != SQLITE_OK) {
        sqlite3_close (db);
        return;
    }
    KH_CHECK ("PRAGMA integrity_check says ok", s_integrity_ok (db, answer, sizeof answer),
              "%s", answer);
    sqlite3_stmt *stmt = NULL;
    uint64_t rows = 0, ids = 0, low = 0, high = 0;
    if (sqlite3_prepare_v2 (db, "SELECT count(*), count(DISTINCT id), coalesce(min(seq), 0), "
                            "coalesce(max(seq), 0) FROM message", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW) {
        rows = (uint64_t) sqlite3_column_int64 (stmt, 0);
        ids = (uint64_t) sqlite3_column_int64 (stmt, 1);
        low = (uint64_t) sqlite3_column_int64 (stmt, 2);
        high = (uint64_t) sqlite3_column_int64 (stmt, 3);
    }
    sqlite3_finalize (stmt);
    KH_CHECK ("the store holds one row per distinct id published",
              rows == pub->count && ids == pub->count, "%llu rows, %llu ids, %zu published",
              (unsigned long long) rows, (unsigned long long) ids, pub->count);
    KH_CHECK ("seq runs from 1 to the count without gaps", low == 1 && high == rows,
              "seq %llu..%llu over %llu rows", (unsigned long long) low,
              (unsigned long long) high, (unsigned long long) rows);
    size_t bad = s_check_rows (db, pub);
    KH_CHECK ("every row is the message its ACK named, with consistent previous-links",
              bad == 0, "%zu rows failed (listed above, at most %d)", bad, S_REPORT_MAX);
    sqlite3_close (db);
}

/* ------------------------------------------------------------------- phases */

/* Publishes count more messages and kill -9s the recorder after each of the given
   numbers of new ACKs (0-terminated), under load. */
static void
s_phase_recorder_kills (kh_hub_t *hub, s_pub_t *pub, size_t count, const size_t *at)
{
    size_t base = pub->acked;
    KH_CHECK ("the messages can be built", s_pub_add (pub, count) == 0, "%zu", count);
    for (int i = 0; at [i] && s_pub_run (pub, base + at [i], "recorder kill -9"); i++)
        s_recorder_crash (hub, pub, SIGKILL);
    s_pub_run (pub, pub->count, "after the recorder kills");
}

/* The same with the broker; at the last point the recorder dies with it. */
static void
s_phase_broker_kills (kh_hub_t *hub, s_pub_t *pub, size_t count, const size_t *at)
{
    size_t base = pub->acked;
    KH_CHECK ("the messages can be built", s_pub_add (pub, count) == 0, "%zu", count);
    int i = 0;
    for (; at [i] && s_pub_run (pub, base + at [i], "broker kill -9"); i++)
        if (at [i + 1])
            s_broker_crash (hub, pub, SIGKILL);
        else
            s_hub_crash (hub, pub);
    s_pub_run (pub, pub->count, "after the broker kills");
}

/* SIGTERM to the recorder, then to the broker, each under load and restarted. */
static void
s_phase_terms (kh_hub_t *hub, s_pub_t *pub, size_t count)
{
    size_t base = pub->acked;
    KH_CHECK ("the messages can be built", s_pub_add (pub, count) == 0, "%zu", count);
    if (s_pub_run (pub, base + count / 4, "recorder SIGTERM"))
        s_recorder_crash (hub, pub, SIGTERM);
    if (s_pub_run (pub, base + count / 2, "broker SIGTERM"))
        s_broker_crash (hub, pub, SIGTERM);
    s_pub_run (pub, pub->count, "after the SIGTERMs");
}

int
main (void)
{
    int64_t start = zclock_mono ();
    /* Few publishes may wait for the recorder, so that the resends after a crash
       meet UNAVAILABLE, which the publisher must take as "try again". */
    static const char *const broker_args [] = { "--pending-max", "500", NULL };
    kh_hub_t hub;
    if (kh_hub_start (&hub, broker_args, NULL)) {
        printf ("FAIL hub starts\n");
        return 1;
    }
    /* Everything (section 6: seq), and one link of each kind (pts, ps, pt). */
    kh_keys_t *keys = kh_hub_keys (&hub, "admin");
    const s_filter_t filters [] = {
        { &hub, "", "", keys }, { &hub, "offer", "05162", keys },
        { &hub, "", "05158020", keys }, { &hub, "idea", "", keys }
    };
    enum { FOLLOWERS = sizeof filters / sizeof filters [0] };
    zactor_t *followers [FOLLOWERS];
    bool ready = true;
    for (int i = 0; i < FOLLOWERS; i++) {
        followers [i] = zactor_new (s_follower, (void *) &filters [i]);
        if (followers [i])
            zsock_set_rcvtimeo (followers [i], S_FOLLOW_MS + 10000);
        ready &= followers [i] != NULL;
    }
    s_pub_t *pub = s_pub_new (&hub);
    KH_CHECK ("the publisher and the followers start", ready && pub, "out of memory?");
    for (int phase = 0; ready && pub && phase < 3; phase++) {
        static const size_t recorder_kills [] = { 2000, 5500, 9500, 0 };
        static const size_t broker_kills [] = { 1500, 3500, 5000, 0 };
        static const char *const names [] = { "recorder kill -9", "broker kill -9",
                                              "SIGTERM" };
        if (phase == 0)         /* 1. the recorder dies three times, at different depths */
            s_phase_recorder_kills (&hub, pub, 12000, recorder_kills);
        else
        if (phase == 1)         /* 2. the broker dies twice, then both together */
            s_phase_broker_kills (&hub, pub, 7000, broker_kills);
        else                    /* 4a. both stop cleanly under load and come back */
            s_phase_terms (&hub, pub, 4000);
        for (int i = 0; i < FOLLOWERS; i++)
            s_follow_check (followers [i], &filters [i], pub, names [phase]);
    }
    if (pub) {
        KH_CHECK ("an id is acknowledged as new (dup false) at most once", pub->twice == 0,
                  "%llu times more (first ones listed above)", (unsigned long long) pub->twice);
        KH_CHECK ("every repeated ACK carries the seq of the first", pub->moved == 0,
                  "%llu did not (first ones listed above)", (unsigned long long) pub->moved);
    }
    if (pub)
        printf ("  %zu messages, %llu resent, %llu repeated ACKs, %llu first ACKs were "
                "dup (answer lost in a crash), %llu refused for now\n", pub->count,
                (unsigned long long) pub->resends, (unsigned long long) pub->dup_acks,
                (unsigned long long) pub->lost, (unsigned long long) pub->refusals);
    for (int i = 0; i < FOLLOWERS; i++)
        zactor_destroy (&followers [i]);
    kh_keys_destroy (&keys);
    /* 4b. SIGTERM to both ends them with status 0, and the store is whole. */
    KH_CHECK ("broker and recorder stop cleanly on SIGTERM", kh_hub_stop (&hub, true) == 0,
              "see logs in %s", hub.dir);
    if (pub)
        s_check_store (&hub, pub);
    s_pub_destroy (&pub);
    char cmd [400];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", hub.dir);
    if (s_failed > 0)
        printf ("  logs and store kept in %s\n", hub.dir);
    else
    if (system (cmd) != 0)
        printf ("  note: could not remove %s\n", hub.dir);
    printf ("  %.1f s\n", (double) (zclock_mono () - start) / 1000.0);
    return kh_check_done ("it_durable");
}
