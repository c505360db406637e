/*  kh_recorder.c - the recorder: group-commits the broker's STOREs; its query actor
    (kh_queries.c) answers the reads. */
#include <errno.h>
#include "kh_link.h"
#include "kh_parts.h"
#include "kh_queries.h"
#include "kh_recorder.h"

#define S_HWM           100000      /* socket queues, in messages */
#define S_LINGER_MS     500         /* how long unsent replies may hold up a shutdown */
#define S_RETRY_MS      50          /* HELLO period while no connection takes it */
#define S_STANDBY_MS    100         /* a standby tries the store's lock this often */
#define S_INDEX_IDLE_MS 100         /* the search index follows once no STORE came so long */
#define S_INDEX_CHUNK   200         /* messages it takes in one transaction: some ms */
#define S_CHECKPOINT_IDLE_MS 20     /* the WAL goes into the file once no STORE came so
                                       long (kh_store_checkpoint) */
#define S_CHECKPOINT_FRAMES  1000   /* ... and it holds so many frames: a smaller one is
                                       not worth the file's fsync (SQLite's own
                                       automatic checkpoint waited for as many) */

/* A STORE in the batch: its token (echoed in the answer) and its envelope. */
typedef struct {
    zmq_msg_t token;
    zmq_msg_t envelope;
} s_slot_t;

/*  The recorder's whole state, touched only by the thread that runs it. Between
    turns of the loop the batch is empty (count and audit_count 0): every STORE and
    AUDIT taken from the socket is committed (and each STORE answered) before the
    loop waits again. */
struct _kh_recorder_t {
    kh_store_t        *store;           /* the writer */
    zactor_t          *queries;         /* owns a reader; answers the reads (s_reads) */
    void              *queries_h;       /* libzmq handle of our end of its pipe */
    zsock_t           *broker;          /* DEALER to the broker's recorder ROUTER */
    void              *broker_h;
    zsock_t           *monitor;         /* PAIR: broker's connections as they stand */
    void              *monitor_h;
    char              *endpoint;        /* the broker's, as configured */
    size_t             batch_max;       /* STOREs per transaction, at most */
    size_t             count;           /* STOREs in the batch now */
    s_slot_t          *slots;           /* batch_max; the first count are in use */
    kh_store_item_t   *items;           /* batch_max: the envelopes, for the store */
    kh_store_result_t *results;         /* batch_max: what became of them */
    kh_audit_t        *audits;          /* batch_max: the batch's audit records */
    size_t             audit_count;     /* audit records in the batch now */
    msgpack_sbuffer    buf;             /* reused by every encode */
    int                hello_ms;        /* HELLO period */
    int64_t            next_hello;      /* zclock_mono when HELLO is due */
    int64_t            last_store;      /* zclock_mono when the last batch came */
    bool               index_behind;    /* the search index may lag the log */
    bool               index_failing;   /* its last attempt failed (logged once) */
    bool               checkpoint_due;  /* a commit since the last checkpoint */
    kh_recorder_stats_t stats;
    bool               verbose;
    bool               lost;            /* a commit's outcome is unknown: stop */
    char               lost_why [KH_REASON_MAX];
};

typedef void (s_handler_fn) (kh_recorder_t *self, kh_parts_t *msg);

/* A command the broker may send: its name and exact number of frames. */
typedef struct {
    const char   *name;
    int           frames;
    s_handler_fn *handler;
} s_command_t;

/* ------------------------------------------------------------- messages */

/* Sends [command][*part][data] to handle without blocking; *part goes without a copy.
   Returns 0, or -1 if the peer's queue is full (nothing is sent then). */
static int
s_send3 (void *handle, const char *command, zmq_msg_t *part, const void *data, size_t size)
{
    if (zmq_send (handle, command, strlen (command), ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    /* The first frame was taken, so the rest of the message is too (atomic). */
    zmq_msg_send (part, handle, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (handle, data, size, ZMQ_DONTWAIT);
    return 0;
}

/* Sends [command][*part][buf] to the broker; counts it dropped if its queue is full
   (the broker sends every unanswered STORE again when we say HELLO after a gap). */
static void
s_reply (kh_recorder_t *self, const char *command, zmq_msg_t *part)
{
    if (s_send3 (self->broker_h, command, part, self->buf.data, self->buf.size)) {
        if (self->stats.dropped++ == 0)
            zsys_warning ("recorder: the broker's queue is full; replies are dropped");
    }
}

/* Logs and counts a message from the broker that we cannot use. */
static void
s_ignore (kh_recorder_t *self, const char *what, kh_parts_t *msg)
{
    self->stats.ignored++;
    zmq_msg_t *command = kh_parts_at (msg, 0);
    size_t size = command ? zmq_msg_size (command) : 0;
    const char *name = command ? (const char *) zmq_msg_data (command) : "";
    zsys_warning ("recorder: ignored from broker: %s (command '%.*s', %d frames)", what,
                  (int) (size > 16 ? 16 : size), name, msg->count);
}

/* ------------------------------------------------------------- the batch */

/* Logs and counts an answer that could not be encoded (out of memory). */
static void
s_unencodable (kh_recorder_t *self, const char *what)
{
    zsys_error ("recorder: out of memory encoding %s; not sent", what);
    self->stats.dropped++;
}

/* Answers STORE number i of the batch in the order it came, with where it stands
   or why it failed. */
static void
s_answer (kh_recorder_t *self, size_t i)
{
    const kh_store_result_t *result = &self->results [i];
    msgpack_sbuffer_clear (&self->buf);
    /* An answer that cannot be encoded (out of memory) is not sent: the broker finds
       the answer missing and sends the STORE again, and the store's de-duplication
       answers it then. */
    if (result->code == KH_OK) {
        if (kh_stored_encode (&self->buf, &result->info, result->dup) == 0)
            s_reply (self, KH_REC_STORED, &self->slots [i].token);
        else
            s_unencodable (self, "STORED");
        result->dup ? self->stats.dups++ : self->stats.stored++;
    }
    else {
        if (kh_error_encode (&self->buf, result->has_id ? result->id : NULL, 0,
                             result->code, result->why.reason) == 0)
            s_reply (self, KH_REC_FAILED, &self->slots [i].token);
        else
            s_unencodable (self, "FAILED");
        self->stats.failed++;
    }
}

/* Forgets the batch without a word to the broker: a commit failed with an I/O
   error, so whether it is on the disk is unknown, and neither STORED nor FAILED
   would be true. The recorder stops; the broker keeps the publishes and sends them
   again to the next recorder, which learns from the disk whether each is stored.
   The batch's audit records are the broker's no longer: on the disk or lost. */
static void
s_lose (kh_recorder_t *self)
{
    snprintf (self->lost_why, sizeof self->lost_why, "a commit of %zu (and %zu audit "
              "records) failed with an I/O error (%.120s); whether it is on the disk is "
              "unknown, so it is not answered", self->count, self->audit_count,
              self->count ? self->results [0].why.reason : "");
    zsys_error ("recorder: %s; stopping: the next start reads from the disk what it holds "
                "and answers the broker's resend from it", self->lost_why);
    for (size_t i = 0; i < self->count; i++) {
        zmq_msg_close (&self->slots [i].token);
        zmq_msg_close (&self->slots [i].envelope);
    }
    self->count = self->audit_count = 0;
    self->lost = true;
}

/* Counts the batch's audit records as stored, or logs and counts them lost if the
   batch was not committed (rc -1): the broker does not send them again. */
static void
s_audited (kh_recorder_t *self, int rc)
{
    if (rc == 0)
        self->stats.audited += self->audit_count;
    else
    if (self->audit_count) {
        self->stats.audit_lost += self->audit_count;
        zsys_error ("recorder: %zu audit records were not stored with their batch",
                    self->audit_count);
    }
    self->audit_count = 0;
}

/* Commits the batch in one transaction and answers every STORE of it, in order. */
static void
s_commit (kh_recorder_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        self->items [i] = (kh_store_item_t) { zmq_msg_data (&self->slots [i].envelope),
                                              zmq_msg_size (&self->slots [i].envelope) };
    int rc = kh_store_commit (self->store, self->items, self->count, self->results,
                              self->audits, self->audit_count);
    if (rc == KH_STORE_UNKNOWN) {
        s_lose (self);
        return;
    }
    s_audited (self, rc);
    if (rc == 0)
        self->stats.batches++;
    else
    for (size_t i = 0; i < self->count; i++)
        if (self->results [i].code == KH_ESTORE || self->results [i].code == KH_EFULL) {
            zsys_error ("recorder: a batch of %zu was not committed: %s", self->count,
                        self->results [i].why.reason);
            break;
        }
    for (size_t i = 0; i < self->count; i++) {
        s_answer (self, i);
        zmq_msg_close (&self->slots [i].token);
        zmq_msg_close (&self->slots [i].envelope);
    }
    if (self->verbose)
        zsys_debug ("recorder: batch of %zu, head %llu", self->count,
                    (unsigned long long) kh_store_head (self->store));
    self->count = 0;
}

/* --------------------------------------------------------------- handlers */

/* [STORE][token][envelope]: joins the batch; the frames move, nothing is copied. */
static void
s_on_store (kh_recorder_t *self, kh_parts_t *msg)
{
    assert (self->count < self->batch_max);        /* s_drain stops at a full batch */
    s_slot_t *slot = &self->slots [self->count++];
    zmq_msg_init (&slot->token);
    zmq_msg_init (&slot->envelope);
    zmq_msg_move (&slot->token, kh_parts_at (msg, 1));
    zmq_msg_move (&slot->envelope, kh_parts_at (msg, 2));
}

/* [AUDIT][record]: joins the batch, committed with it; nothing answers it. */
static void
s_on_audit (kh_recorder_t *self, kh_parts_t *msg)
{
    assert (self->audit_count < self->batch_max);  /* s_drain stops at a full batch */
    zmq_msg_t *body = kh_parts_at (msg, 1);
    kh_problem_t why;
    if (kh_audit_decode (zmq_msg_data (body), zmq_msg_size (body),
                         &self->audits [self->audit_count], &why) == 0)
        self->audit_count++;
    else
        s_ignore (self, why.reason, msg);
}

/* Answers a read the query actor cannot take now with UNAVAILABLE (or QUERY, if it
   is not even a query of its kind), naming its req. */
static void
s_query_refuse (kh_recorder_t *self, kh_parts_t *msg)
{
    const char *command = NULL;
    msgpack_sbuffer_clear (&self->buf);
    if (kh_queries_refusal (msg, &self->buf, &command) == 0)
        s_reply (self, command, kh_parts_at (msg, 1));
    else
        s_unencodable (self, "ERROR");
}

/* [QUERY|AUDIT_QUERY|ITEMS|STATS][client][query]: handed to the query actor as it
   came, which answers in its own time; one it cannot take now is refused
   (s_query_refuse). */
static void
s_on_read (kh_recorder_t *self, kh_parts_t *msg)
{
    if (zmq_msg_send (kh_parts_at (msg, 0), self->queries_h,
                      ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        s_query_refuse (self, msg);
        return;
    }
    zmq_msg_send (kh_parts_at (msg, 1), self->queries_h, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_msg_send (kh_parts_at (msg, 2), self->queries_h, ZMQ_DONTWAIT);
    self->stats.queries++;
}

/* [HELLO] from the broker: it asks libzmq whether our connection stands (another
   recorder said HELLO); the transport answered it, nothing is to be done. */
static void
s_on_hello (kh_recorder_t *self, kh_parts_t *msg)
{
}

static const s_command_t s_commands [] = {
    { KH_REC_STORE, 3, s_on_store },
    { KH_CMD_QUERY, 3, s_on_read },
    { KH_REC_HELLO, 1, s_on_hello },
    { KH_REC_AUDIT, 2, s_on_audit },
    { KH_REC_AUDIT_QUERY, 3, s_on_read },
    { KH_CMD_ITEMS, 3, s_on_read },
    { KH_CMD_STATS, 3, s_on_read },
};

/* Hands a message from the broker to its handler, which may take its frames; anything
   else is logged. Closes the message. */
static void
s_dispatch (kh_recorder_t *self, kh_parts_t *msg)
{
    const s_command_t *command = NULL;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0] && !command; i++)
        if (kh_parts_is (msg, 0, s_commands [i].name))
            command = &s_commands [i];
    if (!command)
        s_ignore (self, "unknown command", msg);
    else
    if (msg->count != command->frames)
        s_ignore (self, "wrong number of frames", msg);
    else
        command->handler (self, msg);
    kh_parts_close (msg);
}

/* Takes what waits on the broker socket - at most batch_max messages - and commits
   the STOREs and AUDITs among them as one batch. While one batch commits, the next one
   gathers in the socket's queue: that is the group commit. */
static void
s_drain (kh_recorder_t *self)
{
    for (size_t taken = 0; taken < self->batch_max && self->count < self->batch_max
                           && self->audit_count < self->batch_max && !self->lost; taken++) {
        kh_parts_t msg;
        if (kh_parts_recv (&msg, self->broker_h, ZMQ_DONTWAIT) <= 0)
            break;
        s_dispatch (self, &msg);
    }
    if (self->count || self->audit_count) {
        self->index_behind |= self->count > 0;
        self->checkpoint_due = true;
        self->last_store = zclock_mono ();
        s_commit (self);
    }
}

/* Stops the recorder after a write outside the batches (what) failed with an I/O
   error (why): the store's state on the disk is unknown, as after a failed commit. */
static void
s_stop (kh_recorder_t *self, const char *what, const kh_problem_t *why)
{
    snprintf (self->lost_why, sizeof self->lost_why, "%s failed with an I/O error (%.160s)",
              what, why->reason);
    zsys_error ("recorder: %s; stopping", self->lost_why);
    self->lost = true;
}

/* Brings the next chunk of the log into the search index (kh_store_index), which
   follows the log outside the batches' transactions: only once no STORE came for
   S_INDEX_IDLE_MS, so that it never holds up a batch. A failure is logged (once,
   until it works again) and tried again after the next quiet spell; one whose
   outcome is unknown (an I/O error) stops the recorder as a failed batch does. */
static void
s_index (kh_recorder_t *self)
{
    size_t count = 0;
    kh_problem_t why = { 0 };
    int rc = kh_store_index (self->store, S_INDEX_CHUNK, &count, &why);
    self->checkpoint_due = true;
    if (rc == KH_STORE_UNKNOWN)
        s_stop (self, "the search index's commit", &why);
    else
    if (rc) {
        if (!self->index_failing)
            zsys_warning ("recorder: the search index cannot follow the log now: %s",
                          why.reason);
        self->index_failing = true;
        self->last_store = zclock_mono ();
    }
    else {
        if (self->index_failing)
            zsys_info ("recorder: the search index follows the log again");
        self->index_failing = false;
        self->index_behind = count == S_INDEX_CHUNK;
    }
}

/* Writes the WAL into the store file once the broker is quiet (commits do not;
   under constant load the store's checkpointer thread does: kh_store_checkpoint).
   One attempt per quiet spell, whatever its outcome: one that a reader held back is
   tried again after the next commit. An I/O error (its own, or the checkpointer's
   last pass) stops the recorder, as a failed commit does; another failure is
   logged. */
static void
s_checkpoint (kh_recorder_t *self)
{
    kh_problem_t why = { 0 };
    self->checkpoint_due = false;
    int rc = kh_store_checkpoint (self->store, &why);
    if (rc == KH_STORE_UNKNOWN)
        s_stop (self, "a checkpoint", &why);
    else
    if (rc)
        zsys_warning ("recorder: the WAL was not written into the store now: %s",
                      why.reason);
}

/* Returns how long the loop may wait for the broker: until the next HELLO, or, while
   the search index lags or a checkpoint is due, until the quiet spell after the last
   batch is over. */
static int64_t
s_wait (kh_recorder_t *self)
{
    int64_t now = zclock_mono ();
    int64_t wait = self->next_hello - now;
    int64_t idle = self->last_store + S_INDEX_IDLE_MS - now;
    if (self->index_behind && idle < wait)
        wait = idle;
    idle = self->last_store + S_CHECKPOINT_IDLE_MS - now;
    if (self->checkpoint_due && idle < wait)
        wait = idle;
    return wait > 0 ? wait : 0;
}

/* On a turn of the loop that found nothing to take: the work that waits for a quiet
   spell, the search index first, then the checkpoint. */
static void
s_on_quiet (kh_recorder_t *self)
{
    int64_t idle = zclock_mono () - self->last_store;
    if (self->index_behind && idle >= S_INDEX_IDLE_MS)
        s_index (self);
    else
    if (self->checkpoint_due && idle >= S_CHECKPOINT_IDLE_MS) {
        if (kh_store_wal_pending (self->store) >= S_CHECKPOINT_FRAMES)
            s_checkpoint (self);
        self->checkpoint_due = false;
    }
}

/* Passes every answer the query actor has ready on to the broker, unchanged. */
static void
s_forward (kh_recorder_t *self)
{
    kh_parts_t msg;
    while (kh_parts_recv (&msg, self->queries_h, ZMQ_DONTWAIT) > 0) {
        if (msg.count == 3) {
            int flags = ZMQ_SNDMORE | ZMQ_DONTWAIT;
            if (zmq_msg_send (kh_parts_at (&msg, 0), self->broker_h, flags) >= 0) {
                zmq_msg_send (kh_parts_at (&msg, 1), self->broker_h, flags);
                zmq_msg_send (kh_parts_at (&msg, 2), self->broker_h, ZMQ_DONTWAIT);
            }
            else
                self->stats.dropped++;
        }
        kh_parts_close (&msg);
    }
}

/* Says [HELLO][{v, head}] and schedules the next one. Until a connection to the
   broker exists the send fails (ZMQ_IMMEDIATE): then it is tried again soon, so that
   the broker hears from us as soon as it can. */
static void
s_hello (kh_recorder_t *self)
{
    msgpack_sbuffer_clear (&self->buf);
    bool sent = kh_hello_encode (&self->buf, kh_store_head (self->store)) == 0
             && zmq_send (self->broker_h, KH_REC_HELLO, strlen (KH_REC_HELLO),
                          ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1;
    if (sent)
        zmq_send (self->broker_h, self->buf.data, self->buf.size, ZMQ_DONTWAIT);
    self->next_hello = zclock_mono () + (sent ? self->hello_ms : S_RETRY_MS);
}

/* Takes the events of the broker socket's monitor, each a new connection to a
   broker, and says HELLO at once: a broker that was restarted refuses publishes
   until it hears from us, and the next HELLO may be a second away. */
static void
s_on_connected (kh_recorder_t *self)
{
    kh_parts_t event;
    bool connected = false;
    while (kh_parts_recv (&event, self->monitor_h, ZMQ_DONTWAIT) > 0) {
        kh_parts_close (&event);
        connected = true;
    }
    if (connected)
        s_hello (self);
}

/* Says [BYE] on a clean stop, so that the broker refuses publishes at once rather
   than handing them to a recorder that is gone. */
static void
s_bye (kh_recorder_t *self)
{
    zmq_send (self->broker_h, KH_REC_BYE, strlen (KH_REC_BYE), ZMQ_DONTWAIT);
}

/* ---------------------------------------------------------- construction */

/* Creates the directory that will hold path, if it is missing. Returns 0 or -1. */
static int
s_make_parent (const char *path, kh_problem_t *why)
{
    char *dir = strdup (path);
    if (!dir)
        return kh_problem (why, KH_ENOMEM, "recorder: out of memory");
    char *slash = strrchr (dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = 0;
        if (!zsys_file_exists (dir) && zsys_dir_create ("%s", dir))
            rc = kh_problem (why, KH_EIO, "recorder: cannot create directory %s: %s", dir,
                             strerror (errno));
    }
    free (dir);
    return rc;
}

/* Opens the store as its writer. While another recorder holds it, waits as that
   one's standby, trying again every S_STANDBY_MS, until it can take over or a signal
   (SIGINT, SIGTERM) stops the wait. Returns 0, or -1 with why set. */
static int
s_open_store (kh_recorder_t *self, const char *db, kh_sync_t sync, kh_problem_t *why)
{
    bool waited = false;
    while (!(self->store = kh_store_new (db, sync, why))) {
        if (why->code != KH_EBUSY)
            return -1;
        if (!waited)
            zsys_info ("recorder: %s; waiting as its standby", why->reason);
        waited = true;
        zclock_sleep (S_STANDBY_MS);
        if (zsys_interrupted)
            return kh_problem (why, KH_EBUSY, "recorder: stopped while waiting as a "
                               "standby for %s", db);
    }
    if (waited)
        zsys_info ("recorder: %s is free; taking over", db);
    return 0;
}

/* Starts the query actor on a reader of the store. Returns 0, or -1 with why set. */
static int
s_start_queries (kh_recorder_t *self, kh_problem_t *why)
{
    kh_store_t *reader = kh_store_new_reader (kh_store_path (self->store), why);
    if (!reader)
        return -1;
    self->queries = zactor_new (kh_queries_actor, reader);
    if (!self->queries) {
        kh_store_destroy (&reader);
        return kh_problem (why, KH_ENOMEM, "recorder: cannot start the query actor");
    }
    self->queries_h = zsock_resolve (zactor_sock (self->queries));
    return 0;
}

/* Watches the broker socket's handshakes through a monitor, on an inproc PAIR, so
   that a new connection is known at once (s_on_connected). Returns 0, or -1 with
   why set. */
static int
s_monitor (kh_recorder_t *self, kh_problem_t *why)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://kh-recorder-%p", (void *) self);
    if (zmq_socket_monitor (self->broker_h, endpoint, ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
    ||  !(self->monitor = zsock_new (ZMQ_PAIR))
    ||  zsock_connect (self->monitor, "%s", endpoint))
        return kh_problem (why, KH_EIO, "recorder: cannot watch the broker socket: %s",
                           zmq_strerror (zmq_errno ()));
    self->monitor_h = zsock_resolve (self->monitor);
    return 0;
}

/* Creates the DEALER (a CURVE client if config says so), watches it, and connects
   it to the broker. Returns 0, or -1 with why set. */
static int
s_connect (kh_recorder_t *self, const kh_recorder_config_t *config, kh_problem_t *why)
{
    self->broker = zsock_new (ZMQ_DEALER);
    if (!self->broker)
        return kh_problem (why, KH_EIO, "recorder: cannot create a socket");
    if (config->cert && config->server_key) {
        zcert_apply (config->cert, self->broker);
        zsock_set_curve_serverkey (self->broker, config->server_key);
    }
    self->broker_h = zsock_resolve (self->broker);
    if (s_monitor (self, why))
        return -1;
    zsock_set_maxmsgsize (self->broker, KH_FRAME_MAX);
    zsock_set_sndhwm (self->broker, S_HWM);
    zsock_set_rcvhwm (self->broker, S_HWM);
    zsock_set_linger (self->broker, S_LINGER_MS);
    /* Queue only to a live connection: what a broker that went away did not get, it
       sends again as STOREs when we say HELLO to it (or to its successor), and a
       long outage does not pile up stale HELLOs and answers. */
    zsock_set_immediate (self->broker, 1);
    if (zsock_connect (self->broker, "%s", self->endpoint) == -1)
        return kh_problem (why, KH_EIO, "recorder: cannot connect to %s: %s",
                           self->endpoint, zmq_strerror (zmq_errno ()));
    return 0;
}

kh_recorder_t *
kh_recorder_new (const kh_recorder_config_t *config, kh_problem_t *why)
{
    assert (config);
    kh_recorder_t *self = (kh_recorder_t *) calloc (1, sizeof *self);
    if (!self) {
        kh_problem (why, KH_ENOMEM, "recorder: out of memory");
        return NULL;
    }
    msgpack_sbuffer_init (&self->buf);
    const char *db = config->db ? config->db : KH_RECORDER_DB;
    self->verbose = config->verbose;
    self->hello_ms = config->hello_ms > 0 ? config->hello_ms : KH_RECORDER_HELLO_MS;
    self->index_behind = true;          /* a lag left by the last run is taken up */
    self->batch_max = config->batch_max ? config->batch_max : KH_RECORDER_BATCH_MAX;
    if (self->batch_max > KH_RECORDER_BATCH_LIMIT)
        self->batch_max = KH_RECORDER_BATCH_LIMIT;
    self->endpoint = strdup (config->broker ? config->broker : KH_DEFAULT_RECORDER);
    self->slots = (s_slot_t *) calloc (self->batch_max, sizeof *self->slots);
    self->items = (kh_store_item_t *) calloc (self->batch_max, sizeof *self->items);
    self->results = (kh_store_result_t *) calloc (self->batch_max, sizeof *self->results);
    self->audits = (kh_audit_t *) calloc (self->batch_max, sizeof *self->audits);
    bool made = self->endpoint && self->slots && self->items && self->results && self->audits;
    if (!made)
        kh_problem (why, KH_ENOMEM, "recorder: out of memory");
    if (!made
    ||  s_make_parent (db, why)
    ||  s_open_store (self, db, config->sync, why)
    ||  s_start_queries (self, why)
    ||  s_connect (self, config, why))
        kh_recorder_destroy (&self);
    return self;
}

void
kh_recorder_destroy (kh_recorder_t **self_p)
{
    assert (self_p);
    kh_recorder_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        zmq_msg_close (&self->slots [i].token);
        zmq_msg_close (&self->slots [i].envelope);
    }
    zactor_destroy (&self->queries);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->broker);
    kh_store_destroy (&self->store);
    msgpack_sbuffer_destroy (&self->buf);
    free (self->slots);
    free (self->items);
    free (self->results);
    free (self->audits);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

uint64_t
kh_recorder_head (kh_recorder_t *self)
{
    assert (self);
    return kh_store_head (self->store);
}

const char *
kh_recorder_db (kh_recorder_t *self)
{
    assert (self);
    return kh_store_path (self->store);
}

const char *
kh_recorder_endpoint (kh_recorder_t *self)
{
    assert (self);
    return self->endpoint;
}

void
kh_recorder_stats (kh_recorder_t *self, kh_recorder_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
}

/* ------------------------------------------------------------------ loop */

/* Answers a command on the actor pipe; self is NULL if the recorder could not start
   (reason says why). Returns true if the actor must stop. */
static bool
s_on_pipe (kh_recorder_t *self, zsock_t *pipe, const char *reason)
{
    char *command = zstr_recv (pipe);
    bool stop = !command || streq (command, "$TERM");
    if (command && streq (command, "STATUS"))
        zsock_send (pipe, "s8", self ? "" : reason, self ? kh_recorder_head (self) : 0);
    else
    if (command && streq (command, "STATS")) {
        kh_recorder_stats_t s = { 0 };
        if (self)
            s = self->stats;
        zsock_send (pipe, "888888888", s.batches, s.stored, s.dups, s.failed, s.queries,
                    s.ignored, s.dropped, s.audited, s.audit_lost);
    }
    zstr_free (&command);
    return stop;
}

int
kh_recorder_run (kh_recorder_t *self, zsock_t *pipe)
{
    assert (self);
    zpoller_t *poller = zpoller_new (self->broker, self->queries, self->monitor, NULL);
    if (!poller || (pipe && zpoller_add (poller, pipe))) {
        zpoller_destroy (&poller);
        return -1;
    }
    s_hello (self);
    int rc = 0;
    while (true) {
        assert (self->count == 0 && self->audit_count == 0);   /* no batch in hand */
        void *which = zpoller_wait (poller, (int) s_wait (self));
        if (zpoller_terminated (poller))
            break;                      /* interrupted: no batch is in hand here */
        if (!which && !self->lost)
            s_on_quiet (self);
        if (which == self->broker)
            s_drain (self);
        else
        if (which == self->queries)
            s_forward (self);
        else
        if (which == self->monitor)
            s_on_connected (self);
        else
        if (pipe && which == pipe && s_on_pipe (self, pipe, NULL))
            break;
        if (self->lost) {
            rc = KH_RECORDER_LOST;
            break;
        }
        if (zclock_mono () >= self->next_hello)
            s_hello (self);
    }
    s_bye (self);
    zpoller_destroy (&poller);
    return rc;
}

void
kh_recorder_actor (zsock_t *pipe, void *args)
{
    kh_problem_t why = { 0 };
    kh_recorder_t *self = kh_recorder_new ((const kh_recorder_config_t *) args, &why);
    if (!self)
        zsys_error ("recorder: %s", why.reason);
    zsock_signal (pipe, 0);
    if (self && kh_recorder_run (self, pipe) == KH_RECORDER_LOST) {
        snprintf (why.reason, sizeof why.reason, "%s", self->lost_why);
        kh_recorder_destroy (&self);
    }
    if (!self)                          /* says why until $TERM */
        while (!s_on_pipe (NULL, pipe, why.reason))
            ;
    kh_recorder_destroy (&self);
}
