/*  kh_broker_test.c - the broker in-process, with this test as its recorder (a raw
    DEALER), its client (DEALER) and its subscribers (SUB): commit before ack, every
    bad-input class, resend to a new recorder, duplicates, ping and query forwarding,
    the recorder's silence and lost answers in the test's time, the heartbeat.

    Time: the main rig's broker reads this test's clock (s_clock) and runs its
    once-a-second work only when told "TICK", so that ages and heartbeats are decided
    here, not by sleeping. One small test runs a broker on the real clock to prove
    its timers. Quiet: that nothing comes is proved by a fence, a message that would
    arrive after the one that must not (PONG on the client, a recorder's ROWS passed
    to the client, a QUERY passed to the recorder, the TICK's heartbeat on the
    subscriber), or where none can be by listening for S_QUIET_MS. Nothing here sleeps
    for a fixed time: loops that wait for the broker's counters or the real clock poll
    what they wait for, within S_WAIT_MS. */
#include <stdatomic.h>
#include <czmq.h>
#include "kh_broker.h"
#include "kh_codec.h"
#include "kh_link.h"

#include "kh_check.h"

#define S_WAIT_MS   3000            /* how long an expected message may take */
#define S_QUIET_MS  100             /* how long we listen where no fence can prove quiet */
#define S_TTL_MS    1500            /* the rig broker's recorder_ttl, in the test's time */
#define S_RESEND_MS 2000            /* its resend_ms and query expiry (above S_TTL_MS, so
                                       that a silent recorder is lost before anything is
                                       resent); a test that moves the clock on further
                                       keeps the recorder alive (s_alive_tick) */
#define S_CLIENT_ID "broker-test-client"    /* the routing id of every test client */
#define S_ASIDE_ID  "broker-test-aside"     /* and of the rig's second one */

/* The broker under test and the sockets this test speaks to it with. */
typedef struct {
    zactor_t *broker;
    char     *client_ep;
    char     *live_ep;
    char     *recorder_ep;
    zsock_t  *client;               /* DEALER, as a publisher, named S_CLIENT_ID */
    zsock_t  *aside;                /* DEALER named S_ASIDE_ID, for fences only */
    zsock_t  *sub;                  /* SUB to "idea/", "offer/" and "!hb" */
    zsock_t  *recorder;             /* DEALER, as the recorder */
} s_rig_t;

/* ------------------------------------------------------------------ the clock */

static _Atomic int64_t s_clock = 1000000;   /* ms; any start will do */

static int64_t
s_clock_read (void *arg)
{
    return atomic_load (&s_clock);
}

/* Moves the test's clock on by ms and has the broker run its once-a-second work;
   returns once it has. */
static void
s_tick (zactor_t *broker, int64_t ms)
{
    atomic_fetch_add (&s_clock, ms);
    zstr_send (broker, "TICK");
    zsock_wait (broker);
}

/* ------------------------------------------------------------------ helpers */

static bool s_keep_hello;   /* s_recv passes the broker's [HELLO] on (not skipped) */

/* Receives a message from sock within ms, or NULL. The audit's records, which the
   broker hands a recorder unanswered ([AUDIT][record]), are skipped: the recorders
   the tests play keep no audit (it_audit proves it). So is the broker's [HELLO],
   which asks libzmq whether a recorder stands (the recorder ignores it), unless
   s_keep_hello. */
static zmsg_t *
s_recv (zsock_t *sock, int ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    int64_t end = zclock_mono () + ms;
    zmsg_t *msg = NULL;
    do {
        zmsg_destroy (&msg);
        int64_t left = end - zclock_mono ();
        msg = zpoller_wait (poller, left > 0 ? (int) left : 0) ? zmsg_recv (sock) : NULL;
    } while (msg && (zframe_streq (zmsg_first (msg), KH_REC_AUDIT)
                  || (!s_keep_hello && zmsg_size (msg) == 1
                      && zframe_streq (zmsg_first (msg), KH_REC_HELLO))));
    zpoller_destroy (&poller);
    return msg;
}

/* Sends count frames as one message. */
static void
s_send (zsock_t *sock, int count, const void *const *data, const size_t *size)
{
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; i < count; i++)
        zmsg_addmem (msg, data [i], size [i]);
    zmsg_send (&msg, sock);
}

/* Sends [command][body] (or just [command] if body is NULL). */
static void
s_send2 (zsock_t *sock, const char *command, const void *body, size_t size)
{
    const void *data [2] = { command, body };
    size_t sizes [2] = { strlen (command), size };
    s_send (sock, body ? 2 : 1, data, sizes);
}

/* True if the message's frame at index equals the string. */
static bool
s_frame_is (zmsg_t *msg, size_t index, const char *text)
{
    zframe_t *frame = msg ? zmsg_first (msg) : NULL;
    for (size_t i = 0; frame && i < index; i++)
        frame = zmsg_next (msg);
    return frame && zframe_streq (frame, text);
}

/* Returns the message's frame at index (still owned by msg), or NULL. */
static zframe_t *
s_frame (zmsg_t *msg, size_t index)
{
    zframe_t *frame = msg ? zmsg_first (msg) : NULL;
    for (size_t i = 0; frame && i < index; i++)
        frame = zmsg_next (msg);
    return frame;
}

/* Builds a valid envelope of type from sender `from` with title and id into out. */
static int
s_envelope (msgpack_sbuffer *out, const char *type, const char *from, const char *title,
            const uint8_t id [KH_ID_SIZE])
{
    kh_problem_t why = { 0 };
    kh_builder_t *builder = kh_builder_new (type);
    int rc = builder ? kh_builder_set (builder, "title", title, &why) : -1;
    if (rc == 0)
        rc = kh_builder_pack (builder, id, from, kh_now_ms (), out, &why);
    kh_builder_destroy (&builder);
    KH_CHECK ("the builder makes a valid envelope", rc == 0, "%s", why.reason);
    return rc;
}

/* Sends HELLO with head from the test's recorder socket. */
static void
s_hello (zsock_t *recorder, uint64_t head)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_hello_encode (&buf, head);
    s_send2 (recorder, KH_REC_HELLO, buf.data, buf.size);
    msgpack_sbuffer_destroy (&buf);
}

/* Answers a STORE message with [STORED][token][stored]. */
static void
s_stored (zsock_t *recorder, zmsg_t *store, uint64_t seq, bool dup)
{
    zframe_t *token = s_frame (store, 1);
    kh_seqinfo_t info = { .seq = seq, .at = kh_now_ms () };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_stored_encode (&buf, &info, dup);
    const void *data [3] = { KH_REC_STORED, token ? zframe_data (token) : (const void *) "",
                             buf.data };
    size_t sizes [3] = { strlen (KH_REC_STORED), token ? zframe_size (token) : 0, buf.size };
    s_send (recorder, 3, data, sizes);
    msgpack_sbuffer_destroy (&buf);
}

/* Receives the next message on the recorder socket and checks that it is
   [STORE][token][envelope] for this envelope. Returns it, or NULL. */
static zmsg_t *
s_expect_store (zsock_t *recorder, const msgpack_sbuffer *envelope)
{
    zmsg_t *store = s_recv (recorder, S_WAIT_MS);
    zframe_t *body = s_frame (store, 2);
    KH_CHECK ("a valid publish reaches the recorder as [STORE][token][envelope]",
           store && zmsg_size (store) == 3 && s_frame_is (store, 0, KH_REC_STORE)
           && zframe_size (s_frame (store, 1)) == 8 && body
           && zframe_size (body) == envelope->size
           && memcmp (zframe_data (body), envelope->data, envelope->size) == 0,
           "got %s with %zu frames", store ? "a message" : "nothing",
           store ? zmsg_size (store) : 0);
    return store;
}

/* Receives the next reply on the client and checks that it is [command][body].
   Returns it, or NULL. */
static zmsg_t *
s_expect_reply (zsock_t *client, const char *command, const char *check)
{
    zmsg_t *reply = s_recv (client, S_WAIT_MS);
    KH_CHECK (check, reply && s_frame_is (reply, 0, command) && zmsg_size (reply) == 2,
           "expected %s, got %s", command,
           reply ? (s_frame_is (reply, 0, KH_REP_ERROR) ? "ERROR" : "another reply")
                 : "nothing");
    return reply;
}

/* Sends frames from the client and checks the reply is ERROR with code; returns the
   decoded error in err (if not NULL). */
static void
s_expect_error (s_rig_t *rig, int count, const void *const *data, const size_t *size,
                int code, const char *check, kh_error_reply_t *err)
{
    kh_error_reply_t scratch = { .code = -1 };
    if (!err)
        err = &scratch;
    err->code = -1;
    s_send (rig->client, count, data, size);
    zmsg_t *reply = s_recv (rig->client, S_WAIT_MS);
    zframe_t *body = s_frame (reply, 1);
    kh_problem_t why = { 0 };
    int rc = body && s_frame_is (reply, 0, KH_REP_ERROR)
           ? kh_error_decode (zframe_data (body), zframe_size (body), err, &why) : -1;
    KH_CHECK (check, rc == 0 && err->code == code, "expected ERROR %s, got %s (%s)",
           kh_errname (code), reply ? (rc == 0 ? kh_errname (err->code) : "not an ERROR")
                                    : "no reply", rc == 0 ? err->reason : why.reason);
    zmsg_destroy (&reply);
}

/* Pings; returns 0 and head/recorder from PONG, or -1. */
static int
s_ping (s_rig_t *rig, uint64_t *head, bool *recorder)
{
    s_send2 (rig->client, KH_CMD_PING, NULL, 0);
    zmsg_t *reply = s_recv (rig->client, S_WAIT_MS);
    zframe_t *body = s_frame (reply, 1);
    kh_problem_t why;
    int rc = body && s_frame_is (reply, 0, KH_REP_PONG)
           ? kh_pong_decode (zframe_data (body), zframe_size (body), head, recorder, &why) : -1;
    zmsg_destroy (&reply);
    return rc;
}

/* Answers a forwarded [QUERY][client id][query] with an empty ROWS page. */
static void
s_rows_reply (zsock_t *recorder, zmsg_t *fwd)
{
    kh_query_t query = { 0 };
    kh_problem_t why;
    zframe_t *client = s_frame (fwd, 1), *body = s_frame (fwd, 2);
    if (!client || !body
    ||  kh_query_decode (zframe_data (body), zframe_size (body), &query, &why))
        return;
    kh_rows_writer_t *writer = kh_rows_writer_new (query.req);
    msgpack_sbuffer rows;
    msgpack_sbuffer_init (&rows);
    kh_rows_writer_finish (writer, false, 1, &rows);
    kh_rows_writer_destroy (&writer);
    const void *data [3] = { KH_REP_ROWS, zframe_data (client), rows.data };
    size_t sizes [3] = { 4, zframe_size (client), rows.size };
    s_send (recorder, 3, data, sizes);
    msgpack_sbuffer_destroy (&rows);
}

/* Reads the broker's counters. */
static kh_broker_stats_t
s_stats (zactor_t *broker)
{
    kh_broker_stats_t s = { 0 };
    zsock_send (broker, "s", "STATS");
    zsock_recv (broker, "8888888888", &s.published, &s.acked, &s.errors, &s.subscribers,
                &s.stored, &s.queries, &s.ignored, &s.dropped, &s.resent, &s.beats);
    return s;
}

/* Returns once the broker counts subscribers live subscriptions (or after S_WAIT_MS);
   returns how many it counts. */
static uint64_t
s_await_subscriptions (zactor_t *broker, uint64_t subscribers)
{
    kh_broker_stats_t stats = s_stats (broker);
    for (int64_t end = zclock_mono () + S_WAIT_MS;
         stats.subscribers < subscribers && zclock_mono () < end; stats = s_stats (broker))
        zclock_sleep (2);
    return stats.subscribers;
}

/* Makes a DEALER named id (S_CLIENT_ID if NULL) connected to endpoint. */
static zsock_t *
s_client_new (const char *endpoint, const char *id)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zsock_set_identity (client, id ? id : S_CLIENT_ID);
    zsock_connect (client, "%s", endpoint);
    return client;
}

/* True if the next message on the client is the PONG to a PING sent now: nothing was
   on its way to the client before it. Fills head and recorder from it if not NULL. */
static bool
s_client_fence (s_rig_t *rig, uint64_t *head, bool *recorder)
{
    uint64_t scratch_head;
    bool scratch_recorder;
    return s_ping (rig, head ? head : &scratch_head,
                   recorder ? recorder : &scratch_recorder) == 0;
}

/* True if the next message on the client named id is a ROWS page that recorder
   sends now, unasked (the broker passes a recorder's ROWS on to the client it names,
   one fewer query in flight for it): nothing the broker did for what recorder sent
   before was on its way to that client. */
static bool
s_fence_through (zsock_t *recorder, const char *id, zsock_t *client)
{
    kh_rows_writer_t *writer = kh_rows_writer_new (4242);
    msgpack_sbuffer rows;
    msgpack_sbuffer_init (&rows);
    kh_rows_writer_finish (writer, false, 1, &rows);
    kh_rows_writer_destroy (&writer);
    const void *data [3] = { KH_REP_ROWS, id, rows.data };
    size_t sizes [3] = { strlen (KH_REP_ROWS), strlen (id), rows.size };
    s_send (recorder, 3, data, sizes);
    zmsg_t *reply = s_recv (client, S_WAIT_MS);
    zframe_t *body = s_frame (reply, 1);
    bool fence = s_frame_is (reply, 0, KH_REP_ROWS) && body && zframe_size (body) == rows.size
              && memcmp (zframe_data (body), rows.data, rows.size) == 0;
    zmsg_destroy (&reply);
    msgpack_sbuffer_destroy (&rows);
    return fence;
}

/* s_fence_through to the rig's client. */
static bool
s_recorder_fence (s_rig_t *rig, zsock_t *recorder)
{
    return s_fence_through (recorder, S_CLIENT_ID, rig->client);
}

/* True if the next message at the rig's recorder is a QUERY the client sends now:
   nothing was on its way to the recorder before it. The query is answered and its
   answer read. Needs a linked recorder. */
static bool
s_store_fence (s_rig_t *rig)
{
    msgpack_sbuffer q;
    msgpack_sbuffer_init (&q);
    kh_query_t query = { .req = 4343 };
    kh_query_encode (&q, &query);
    s_send2 (rig->client, KH_CMD_QUERY, q.data, q.size);
    zmsg_t *fwd = s_recv (rig->recorder, S_WAIT_MS);
    zframe_t *body = s_frame (fwd, 2);
    bool fence = s_frame_is (fwd, 0, KH_CMD_QUERY) && body && zframe_size (body) == q.size
              && memcmp (zframe_data (body), q.data, q.size) == 0;
    if (fence) {
        s_rows_reply (rig->recorder, fwd);
        zmsg_t *rows = s_recv (rig->client, S_WAIT_MS);
        fence = s_frame_is (rows, 0, KH_REP_ROWS);
        zmsg_destroy (&rows);
    }
    zmsg_destroy (&fwd);
    msgpack_sbuffer_destroy (&q);
    return fence;
}

/* Moves the test's clock on by ms and has the broker run its once-a-second work,
   then reads the heartbeat that sent (once the head is known) from the rig's
   subscriber, so that none is left over. Returns 1 if the beat was the first thing
   there (no record was on its way before it), 0 if no beat was sent, -1 if anything
   else came first. */
static int
s_rig_tick (s_rig_t *rig, int64_t ms)
{
    uint64_t before = s_stats (rig->broker).beats;
    s_tick (rig->broker, ms);
    if (s_stats (rig->broker).beats == before)
        return 0;
    zmsg_t *msg = s_recv (rig->sub, S_WAIT_MS);
    int rc = s_frame_is (msg, 0, KH_TOPIC_BEAT) ? 1 : -1;
    zmsg_destroy (&msg);
    return rc;
}

/* True if the next message on the rig's subscriber is the heartbeat a TICK sends
   now: no record was on its way before it. Needs a known head. */
static bool
s_live_fence (s_rig_t *rig)
{
    return s_rig_tick (rig, 0) == 1;
}

/* Receives the next record on the rig's subscriber (heartbeats skipped), or NULL. */
static zmsg_t *
s_recv_record (s_rig_t *rig)
{
    zmsg_t *msg = s_recv (rig->sub, S_WAIT_MS);
    while (s_frame_is (msg, 0, KH_TOPIC_BEAT)) {
        zmsg_destroy (&msg);
        msg = s_recv (rig->sub, S_WAIT_MS);
    }
    return msg;
}

/* The rig's recorder says HELLO with head; returns once PONG says it is linked. */
static void
s_link (s_rig_t *rig, uint64_t head)
{
    s_hello (rig->recorder, head);
    bool fenced = s_recorder_fence (rig, rig->recorder);   /* HELLO is read by now */
    bool up = false;
    s_client_fence (rig, NULL, &up);
    KH_CHECK ("a recorder that says HELLO is linked", fenced && up, "fence %d, PONG says %s",
              fenced, up ? "linked" : "no recorder");
}

/* Moves the test's clock on by ms, in steps of at most a second before each of which
   the rig's recorder says HELLO (read by then, through the aside client so that the
   rig client's queries in flight stay as they are), so that it stays alive; reads
   every heartbeat. */
static void
s_alive_tick (s_rig_t *rig, int64_t ms)
{
    for (int64_t step; ms > 0; ms -= step) {
        step = ms < 1000 ? ms : 1000;
        s_hello (rig->recorder, 0);
        bool fenced = s_fence_through (rig->recorder, S_ASIDE_ID, rig->aside);
        int tick = s_rig_tick (rig, step);
        KH_CHECK ("a recorder that says HELLO each second stays linked", fenced && tick == 1,
                  "fence %d tick %d", fenced, tick);
    }
}

/* True if nothing arrives on sock within S_QUIET_MS. */
static bool
s_quiet (zsock_t *sock)
{
    zmsg_t *msg = s_recv (sock, S_QUIET_MS);
    bool quiet = msg == NULL;
    zmsg_destroy (&msg);
    return quiet;
}

/* One connection's publishes waiting, at most, in the brokers s_broker_start starts
   (0: the default); test_busy sets it for its broker. */
static size_t s_connection_pending;

/* Starts a broker actor on wildcard ports with the given limits (0: default), on
   the test's clock if virtual_time is true. */
static zactor_t *
s_broker_start (size_t pending_max, int live_hwm, int recorder_ttl, bool virtual_time,
                char **client, char **live, char **recorder)
{
    kh_broker_config_t config = { .client = "tcp://127.0.0.1:*", .live = "tcp://127.0.0.1:*",
                                  .recorder = "tcp://127.0.0.1:*", .pending_max = pending_max,
                                  .connection_pending = s_connection_pending,
                                  .live_hwm = live_hwm, .recorder_ttl = recorder_ttl,
                                  .resend_ms = S_RESEND_MS, .plain = true,
                                  .clock = virtual_time ? s_clock_read : NULL };
    zactor_t *broker = zactor_new (kh_broker_actor, &config);
    zsock_send (broker, "s", "ENDPOINTS");
    zsock_recv (broker, "sss", client, live, recorder);
    return broker;
}

/* Starts a broker of its own for one test, with a client and a recorder socket
   (not linked yet); s_rig_stop ends it all. */
static void
s_side_start (s_rig_t *rig, size_t pending_max, int live_hwm, int recorder_ttl,
              bool virtual_time)
{
    memset (rig, 0, sizeof *rig);
    rig->broker = s_broker_start (pending_max, live_hwm, recorder_ttl, virtual_time,
                                  &rig->client_ep, &rig->live_ep, &rig->recorder_ep);
    rig->client = s_client_new (rig->client_ep, NULL);
    rig->recorder = zsock_new_dealer (rig->recorder_ep);
}

/* Starts the broker and connects client and subscriber (not the recorder). */
static int
s_rig_start (s_rig_t *rig)
{
    memset (rig, 0, sizeof *rig);
    rig->broker = s_broker_start (0, 0, S_TTL_MS, true, &rig->client_ep, &rig->live_ep,
                                  &rig->recorder_ep);
    KH_CHECK ("the broker binds wildcard ports and reports the real endpoints",
           rig->client_ep && strncmp (rig->client_ep, "tcp://127.0.0.1:", 16) == 0
           && strchr (rig->client_ep, '*') == NULL && rig->live_ep && *rig->live_ep
           && rig->recorder_ep && *rig->recorder_ep, "client '%s'",
           rig->client_ep ? rig->client_ep : "(null)");
    if (!rig->client_ep || !*rig->client_ep)
        return -1;
    rig->client = s_client_new (rig->client_ep, NULL);
    rig->aside = s_client_new (rig->client_ep, S_ASIDE_ID);
    rig->sub = zsock_new_sub (rig->live_ep, "idea/");
    zsock_set_subscribe (rig->sub, "offer/");
    zsock_set_subscribe (rig->sub, KH_TOPIC_BEAT);
    /* Wait until the broker has all three subscriptions, so no record is missed. */
    uint64_t subscribers = s_await_subscriptions (rig->broker, 3);
    KH_CHECK ("the broker reads and counts subscriptions", subscribers == 3,
           "%llu subscriptions", (unsigned long long) subscribers);
    return 0;
}

static void
s_rig_stop (s_rig_t *rig)
{
    zsock_destroy (&rig->client);
    zsock_destroy (&rig->aside);
    zsock_destroy (&rig->sub);
    zsock_destroy (&rig->recorder);
    zactor_destroy (&rig->broker);
    zstr_free (&rig->client_ep);
    zstr_free (&rig->live_ep);
    zstr_free (&rig->recorder_ep);
}

/* ------------------------------------------------------------------ the tests */

/* PING before any recorder: head 0, recorder false; queries are UNAVAILABLE. */
static void
test_no_recorder (s_rig_t *rig)
{
    uint64_t head = 99;
    bool recorder = true;
    int rc = s_ping (rig, &head, &recorder);
    KH_CHECK ("PING is answered PONG with head 0 and no recorder before one connects",
           rc == 0 && head == 0 && !recorder, "rc %d head %llu recorder %d", rc,
           (unsigned long long) head, recorder);
    const void *data [2] = { KH_CMD_PING, "anything" };
    size_t sizes [2] = { 4, 8 };
    s_send (rig->client, 2, data, sizes);
    zmsg_t *pong = s_recv (rig->client, S_WAIT_MS);
    KH_CHECK ("PING with any one body frame is answered too", s_frame_is (pong, 0, KH_REP_PONG),
           "no PONG");
    zmsg_destroy (&pong);

    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_query_t query = { .req = 41 };
    kh_query_encode (&buf, &query);
    kh_error_reply_t err;
    const void *qdata [2] = { KH_CMD_QUERY, buf.data };
    size_t qsizes [2] = { 5, buf.size };
    s_expect_error (rig, 2, qdata, qsizes, KH_EUNAVAILABLE,
                    "a query without a recorder gets UNAVAILABLE", &err);
    KH_CHECK ("UNAVAILABLE for a query names its req", err.req == 41, "req %llu",
           (unsigned long long) err.req);
    msgpack_sbuffer_destroy (&buf);
}

/* A publish before any recorder is refused, and no heartbeat goes out; after the first
   HELLO a publish goes to the recorder; nothing is published or acknowledged before
   STORED; then ACK and the record, once; a duplicate is acknowledged, not published. */
static void
test_commit_before_ack (s_rig_t *rig)
{
    kh_broker_stats_t before = s_stats (rig->broker);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    s_envelope (&env, "idea", "05162004", "Gemeinsamer Bauhof", id);
    kh_error_reply_t err;
    const void *pdata [2] = { KH_CMD_PUBLISH, env.data };
    size_t psizes [2] = { 7, env.size };
    s_expect_error (rig, 2, pdata, psizes, KH_EUNAVAILABLE,
                    "a publish without a recorder is refused with UNAVAILABLE", &err);
    KH_CHECK ("that UNAVAILABLE names the message id",
           err.has_id && memcmp (err.id, id, KH_ID_SIZE) == 0, "no id");
    int tick = s_rig_tick (rig, 1000);
    KH_CHECK ("no heartbeat before a recorder has told the store's head",
           tick == 0 && s_stats (rig->broker).beats == before.beats, "tick %d", tick);

    rig->recorder = zsock_new_dealer (rig->recorder_ep);
    s_link (rig, 0);
    KH_CHECK ("a refused publish is not published", s_live_fence (rig), "a record came");
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    zmsg_t *store = s_expect_store (rig->recorder, &env);
    KH_CHECK ("nothing is acknowledged before STORED", s_client_fence (rig, NULL, NULL),
           "a reply came");
    KH_CHECK ("nothing is published before STORED", s_live_fence (rig), "a record came");

    s_stored (rig->recorder, store, 1, false);
    zmsg_t *ack = s_expect_reply (rig->client, KH_REP_ACK, "after STORED the client gets ACK");
    uint8_t ack_id [KH_ID_SIZE] = { 0 };
    uint64_t seq = 0;
    bool dup = true;
    kh_problem_t why = { 0 };
    zframe_t *body = s_frame (ack, 1);
    int rc = body ? kh_ack_decode (zframe_data (body), zframe_size (body), ack_id, &seq, &dup,
                                   &why) : -1;
    KH_CHECK ("the ACK names the message id, its seq and dup false",
           rc == 0 && memcmp (ack_id, id, KH_ID_SIZE) == 0 && seq == 1 && !dup,
           "rc %d seq %llu dup %d %s", rc, (unsigned long long) seq, dup, why.reason);

    zmsg_t *live = s_recv_record (rig);
    kh_record_t record;
    memset (&record, 0, sizeof record);
    body = s_frame (live, 1);
    rc = body ? kh_record_decode (zframe_data (body), zframe_size (body), &record, &why) : -1;
    KH_CHECK ("after STORED the record goes live under topic type/from/",
           live && zmsg_size (live) == 2 && s_frame_is (live, 0, "idea/05162004/"), "%s",
           live ? "wrong topic or frames" : "nothing arrived");
    KH_CHECK ("the live record carries the seq and the envelope byte for byte",
           rc == 0 && record.info.seq == 1 && record.msg_size == env.size
           && memcmp (record.msg, env.data, env.size) == 0, "rc %d seq %llu %s", rc,
           (unsigned long long) record.info.seq, why.reason);

    uint64_t head = 0;
    bool recorder = false;
    rc = s_ping (rig, &head, &recorder);
    KH_CHECK ("PONG says head 1 and recorder true after a commit", rc == 0 && head == 1 && recorder,
           "head %llu recorder %d", (unsigned long long) head, recorder);

    /* The same envelope again: the recorder says dup; ACK dup, nothing goes live. */
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    zmsg_t *again = s_expect_store (rig->recorder, &env);
    s_stored (rig->recorder, again, 1, true);
    zmsg_t *ack2 = s_expect_reply (rig->client, KH_REP_ACK, "a duplicate is acknowledged");
    body = s_frame (ack2, 1);
    rc = body ? kh_ack_decode (zframe_data (body), zframe_size (body), ack_id, &seq, &dup,
                               &why) : -1;
    KH_CHECK ("a duplicate's ACK has the original seq and dup true", rc == 0 && seq == 1 && dup,
           "seq %llu dup %d", (unsigned long long) seq, dup);
    KH_CHECK ("a duplicate is not published again", s_live_fence (rig), "a record came");
    /* A late second answer for a token already answered is ignored. */
    s_stored (rig->recorder, again, 1, false);
    KH_CHECK ("an answer for an unknown token is ignored",
           s_recorder_fence (rig, rig->recorder) && s_live_fence (rig), "something came");
    kh_broker_stats_t after = s_stats (rig->broker);
    KH_CHECK ("two ACKs and one record are counted", after.acked - before.acked == 2
           && after.published - before.published == 1, "acked %llu published %llu",
           (unsigned long long) (after.acked - before.acked),
           (unsigned long long) (after.published - before.published));

    zmsg_destroy (&store);
    zmsg_destroy (&ack);
    zmsg_destroy (&live);
    zmsg_destroy (&again);
    zmsg_destroy (&ack2);
    msgpack_sbuffer_destroy (&env);
}

/* Every bad-input class is answered with its code, and the broker keeps serving. */
static void
test_bad_input (s_rig_t *rig)
{
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    s_envelope (&env, "idea", "05162004", "Gemeinsame Bauhof-Software", id);
    kh_error_reply_t err;

    const void *d2 [2] = { KH_CMD_PUBLISH, "\xc1" };
    size_t s2 [2] = { 7, 1 };
    s_expect_error (rig, 2, d2, s2, KH_EMALFORMED,
                    "a body that is not msgpack gets MALFORMED", &err);
    KH_CHECK ("an unreadable body's error has no id", !err.has_id, "has id");

    uint8_t *longer = (uint8_t *) malloc (env.size + 1);
    memcpy (longer, env.data, env.size);
    longer [env.size] = 0xc0;
    d2 [1] = longer;
    s2 [1] = env.size + 1;
    s_expect_error (rig, 2, d2, s2, KH_EMALFORMED,
                    "trailing bytes after the envelope get MALFORMED", NULL);
    d2 [1] = env.data;
    s2 [1] = env.size - 1;
    s_expect_error (rig, 2, d2, s2, KH_EMALFORMED, "a truncated envelope gets MALFORMED", NULL);
    free (longer);

    const void *d3 [3] = { KH_CMD_PUBLISH, env.data, "x" };
    size_t s3 [3] = { 7, env.size, 1 };
    s_expect_error (rig, 1, d3, s3, KH_EFRAMES, "PUBLISH without a body gets FRAMES", NULL);
    s_expect_error (rig, 3, d3, s3, KH_EFRAMES, "PUBLISH with three frames gets FRAMES", NULL);
    const void *dq [3] = { KH_CMD_QUERY, "x", "y" };
    size_t sq [3] = { 5, 1, 1 };
    s_expect_error (rig, 3, dq, sq, KH_EFRAMES, "QUERY with three frames gets FRAMES", NULL);
    const void *dp [3] = { KH_CMD_PING, "x", "y" };
    size_t sp [3] = { 4, 1, 1 };
    s_expect_error (rig, 3, dp, sp, KH_EFRAMES, "PING with three frames gets FRAMES", NULL);

    size_t big = KH_ENVELOPE_MAX + 1;
    uint8_t *huge = (uint8_t *) calloc (1, big);
    d2 [1] = huge;
    s2 [1] = big;
    s_expect_error (rig, 2, d2, s2, KH_ETOOLARGE, "a body over 64 KiB gets TOO_LARGE", NULL);
    free (huge);

    const void *dc [2] = { "SHOUT", "x" };
    size_t sc [2] = { 5, 1 };
    s_expect_error (rig, 2, dc, sc, KH_ECOMMAND, "an unknown command gets COMMAND", NULL);
    dc [0] = "";
    sc [0] = 0;
    s_expect_error (rig, 2, dc, sc, KH_ECOMMAND, "an empty command frame gets COMMAND", NULL);
    dc [0] = "publish";
    sc [0] = 7;
    s_expect_error (rig, 2, dc, sc, KH_ECOMMAND, "commands are case-sensitive", NULL);

    /* Same length, unknown name: patch the type string "idea" to "idex". */
    uint8_t *patched = (uint8_t *) malloc (env.size);
    memcpy (patched, env.data, env.size);
    uint8_t *at = (uint8_t *) memmem (patched, env.size, "\xa4idea", 5);
    if (at)
        at [4] = 'x';
    d2 [1] = patched;
    s2 [1] = env.size;
    s_expect_error (rig, 2, d2, s2, KH_ETYPE, "an unknown message type gets TYPE", &err);
    KH_CHECK ("a readable envelope's error names its id",
           at && err.has_id && memcmp (err.id, id, KH_ID_SIZE) == 0, "no id");
    free (patched);

    msgpack_sbuffer q;
    msgpack_sbuffer_init (&q);
    kh_query_t query = { .req = 5 };
    snprintf (query.type [0], sizeof query.type [0], "bogus");
    query.type_count = 1;
    kh_query_encode (&q, &query);
    const void *dq2 [2] = { KH_CMD_QUERY, q.data };
    size_t sq2 [2] = { 5, q.size };
    s_expect_error (rig, 2, dq2, sq2, KH_EQUERY, "a query for an unknown type gets QUERY", &err);
    KH_CHECK ("a bad query's error names its req", err.req == 5, "req %llu",
           (unsigned long long) err.req);
    dq2 [1] = "\xc1";
    sq2 [1] = 1;
    s_expect_error (rig, 2, dq2, sq2, KH_EMALFORMED, "a query that is not msgpack gets MALFORMED",
                    NULL);
    msgpack_sbuffer_destroy (&q);

    /* Still serving: the valid envelope goes through. */
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    zmsg_t *store = s_expect_store (rig->recorder, &env);
    s_stored (rig->recorder, store, 2, false);
    zmsg_t *ack = s_expect_reply (rig->client, KH_REP_ACK,
                                  "after every bad input the broker still acknowledges");
    zmsg_t *live = s_recv_record (rig);
    KH_CHECK ("after every bad input the broker still publishes", live != NULL, "no record");
    zmsg_destroy (&store);
    zmsg_destroy (&ack);
    zmsg_destroy (&live);
    msgpack_sbuffer_destroy (&env);
}

/* QUERY passes through to the recorder with the client's routing id, and ROWS or
   ERROR comes back to that client. */
static void
test_query (s_rig_t *rig)
{
    kh_broker_stats_t before = s_stats (rig->broker);
    msgpack_sbuffer q;
    msgpack_sbuffer_init (&q);
    kh_query_t query = { .req = 9, .since_seq = 1, .limit = 10 };
    snprintf (query.type [0], sizeof query.type [0], "idea");
    query.type_count = 1;
    kh_query_encode (&q, &query);
    s_send2 (rig->client, KH_CMD_QUERY, q.data, q.size);
    zmsg_t *fwd = s_recv (rig->recorder, S_WAIT_MS);
    zframe_t *body = s_frame (fwd, 2);
    KH_CHECK ("a query reaches the recorder as [QUERY][client id][query]",
           fwd && zmsg_size (fwd) == 3 && s_frame_is (fwd, 0, KH_CMD_QUERY) && body
           && zframe_size (body) == q.size && memcmp (zframe_data (body), q.data, q.size) == 0,
           "%s", fwd ? "wrong frames" : "nothing arrived");
    KH_CHECK ("a forwarded query is counted", s_stats (rig->broker).queries == before.queries + 1,
           "not counted");

    kh_rows_writer_t *writer = kh_rows_writer_new (9);
    uint8_t env [3] = { 1, 2, 3 };
    kh_record_t record = { .info = { .seq = 1, .at = 7 }, .msg = env, .msg_size = 3 };
    kh_rows_writer_add (writer, &record);
    msgpack_sbuffer rows;
    msgpack_sbuffer_init (&rows);
    kh_rows_writer_finish (writer, false, 2, &rows);
    kh_rows_writer_destroy (&writer);
    zframe_t *client = s_frame (fwd, 1);
    const void *data [3] = { KH_REP_ROWS, client ? zframe_data (client) : (const void *) "",
                             rows.data };
    size_t sizes [3] = { 4, client ? zframe_size (client) : 0, rows.size };
    s_send (rig->recorder, 3, data, sizes);
    zmsg_t *reply = s_expect_reply (rig->client, KH_REP_ROWS,
                                    "the recorder's ROWS reach the client");
    body = s_frame (reply, 1);
    KH_CHECK ("ROWS reach the client byte for byte",
           body && zframe_size (body) == rows.size
           && memcmp (zframe_data (body), rows.data, rows.size) == 0, "differs");
    zmsg_destroy (&reply);

    msgpack_sbuffer e;
    msgpack_sbuffer_init (&e);
    kh_error_encode (&e, NULL, 9, KH_EQUERY, "since_at: too far");
    data [0] = KH_REP_ERROR;
    data [2] = e.data;
    sizes [0] = 5;
    sizes [2] = e.size;
    s_send (rig->recorder, 3, data, sizes);
    reply = s_expect_reply (rig->client, KH_REP_ERROR,
                            "the recorder's ERROR for a query reaches the client");
    body = s_frame (reply, 1);
    KH_CHECK ("a query's ERROR reaches the client byte for byte",
           body && zframe_size (body) == e.size && memcmp (zframe_data (body), e.data, e.size) == 0,
           "differs");
    zmsg_destroy (&reply);
    zmsg_destroy (&fwd);
    msgpack_sbuffer_destroy (&e);
    msgpack_sbuffer_destroy (&rows);
    msgpack_sbuffer_destroy (&q);
}

/* FAILED goes back to the publisher as ERROR; malformed recorder frames are ignored. */
static void
test_failed_and_garbage (s_rig_t *rig)
{
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    s_envelope (&env, "offer", "05162", "Rechenzentrum", id);
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    zmsg_t *store = s_expect_store (rig->recorder, &env);
    msgpack_sbuffer e;
    msgpack_sbuffer_init (&e);
    kh_error_encode (&e, id, 0, KH_ESTORE, "disk full");
    zframe_t *token = s_frame (store, 1);
    const void *data [3] = { KH_REC_FAILED, token ? zframe_data (token) : (const void *) "",
                             e.data };
    size_t sizes [3] = { 6, token ? zframe_size (token) : 0, e.size };
    s_send (rig->recorder, 3, data, sizes);
    zmsg_t *reply = s_expect_reply (rig->client, KH_REP_ERROR,
                                    "FAILED reaches the publisher as ERROR");
    zframe_t *body = s_frame (reply, 1);
    kh_error_reply_t err = { .code = -1 };
    kh_problem_t why;
    if (body)
        kh_error_decode (zframe_data (body), zframe_size (body), &err, &why);
    KH_CHECK ("the publisher gets the recorder's code and id",
           err.code == KH_ESTORE && err.has_id && memcmp (err.id, id, KH_ID_SIZE) == 0,
           "code %d", err.code);
    KH_CHECK ("a failed message is not published", s_live_fence (rig), "a record came");
    zmsg_destroy (&reply);
    zmsg_destroy (&store);

    /* A FAILED whose error names no id still reaches the publisher with its id. */
    kh_id_new (id);
    msgpack_sbuffer_clear (&env);
    s_envelope (&env, "offer", "05162", "Rechenzentrum ohne Id", id);
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    store = s_expect_store (rig->recorder, &env);
    msgpack_sbuffer_clear (&e);
    kh_error_encode (&e, NULL, 0, KH_ESTORE, "out of memory");
    token = s_frame (store, 1);
    data [1] = token ? zframe_data (token) : (const void *) "";
    data [2] = e.data;
    sizes [1] = token ? zframe_size (token) : 0;
    sizes [2] = e.size;
    s_send (rig->recorder, 3, data, sizes);
    reply = s_expect_reply (rig->client, KH_REP_ERROR, "an id-less FAILED reaches the publisher");
    body = s_frame (reply, 1);
    memset (&err, 0, sizeof err);
    if (body)
        kh_error_decode (zframe_data (body), zframe_size (body), &err, &why);
    KH_CHECK ("an id-less FAILED is passed on with the publish's id and the recorder's reason",
           err.code == KH_ESTORE && err.has_id && memcmp (err.id, id, KH_ID_SIZE) == 0
           && streq (err.reason, "out of memory"), "code %d has_id %d '%s'", err.code,
           err.has_id, err.reason);
    zmsg_destroy (&reply);
    zmsg_destroy (&store);

    kh_broker_stats_t before = s_stats (rig->broker);
    const void *junk [3] = { "BOGUS", "12345678", "x" };
    size_t junk_sizes [3] = { 5, 8, 1 };
    s_send (rig->recorder, 3, junk, junk_sizes);
    junk [0] = KH_REC_STORED;
    junk_sizes [0] = strlen (KH_REC_STORED);
    junk_sizes [1] = 3;                         /* a token of the wrong size */
    s_send (rig->recorder, 3, junk, junk_sizes);
    junk [0] = KH_REC_HELLO;
    junk_sizes [0] = strlen (KH_REC_HELLO);
    junk [1] = "\xc1";
    junk_sizes [1] = 1;
    s_send (rig->recorder, 2, junk, junk_sizes);
    junk [0] = KH_REC_STORED;
    junk_sizes [0] = strlen (KH_REC_STORED);
    s_send (rig->recorder, 1, junk, junk_sizes);   /* too few frames */
    bool fenced = s_recorder_fence (rig, rig->recorder);    /* all four are read */
    uint64_t head = 0;
    bool recorder = false;
    int rc = s_ping (rig, &head, &recorder);
    kh_broker_stats_t after = s_stats (rig->broker);
    KH_CHECK ("malformed frames from the recorder are counted and ignored",
           fenced && after.ignored - before.ignored == 4, "%llu ignored",
           (unsigned long long) (after.ignored - before.ignored));
    KH_CHECK ("after malformed recorder frames the broker still serves with its recorder",
           rc == 0 && recorder && head == 2, "rc %d recorder %d head %llu", rc, recorder,
           (unsigned long long) head);
    msgpack_sbuffer_destroy (&e);
    msgpack_sbuffer_destroy (&env);
}

/* A second recorder that says HELLO while the first stands is ignored: the broker
   asks libzmq about the first (a [HELLO] the first ignores), keeps it, and counts
   the HELLO ignored. Once the first is gone, the second gets everything unanswered
   again, in order, same tokens; what it says is a dup may never have gone live, so
   it goes live now. */
static void
test_resend (s_rig_t *rig)
{
    uint8_t id1 [KH_ID_SIZE], id2 [KH_ID_SIZE];
    kh_id_new (id1);
    kh_id_new (id2);
    msgpack_sbuffer env1, env2;
    msgpack_sbuffer_init (&env1);
    msgpack_sbuffer_init (&env2);
    s_envelope (&env1, "idea", "05162008", "Erstes", id1);
    s_envelope (&env2, "idea", "05162008", "Zweites", id2);
    s_send2 (rig->client, KH_CMD_PUBLISH, env1.data, env1.size);
    s_send2 (rig->client, KH_CMD_PUBLISH, env2.data, env2.size);
    zmsg_t *old1 = s_expect_store (rig->recorder, &env1);
    zmsg_t *old2 = s_expect_store (rig->recorder, &env2);

    kh_broker_stats_t before = s_stats (rig->broker);
    zsock_t *second = zsock_new_dealer (rig->recorder_ep);
    s_hello (second, 7);
    s_keep_hello = true;
    zmsg_t *probe = s_recv (rig->recorder, S_WAIT_MS);
    s_keep_hello = false;
    bool recorder = false;
    s_client_fence (rig, NULL, &recorder);
    KH_CHECK ("a second recorder's HELLO while the first stands is ignored: the first is "
              "asked with [HELLO] and stays linked", s_frame_is (probe, 0, KH_REC_HELLO)
              && zmsg_size (probe) == 1 && recorder
              && s_stats (rig->broker).ignored == before.ignored + 1,
              "probe %s, linked %d", probe ? "came" : "missing", recorder);
    zmsg_destroy (&probe);
    zsock_destroy (&rig->recorder);     /* the first goes */
    zpoller_t *poller = zpoller_new (second, NULL);
    for (int64_t end = zclock_mono () + S_WAIT_MS; zclock_mono () < end; ) {
        s_hello (second, 7);            /* taken once the broker has seen the first go */
        if (zpoller_wait (poller, 50))
            break;
    }
    zpoller_destroy (&poller);
    zmsg_t *new1 = s_expect_store (second, &env1);
    zmsg_t *new2 = s_expect_store (second, &env2);
    KH_CHECK ("a new recorder gets the unanswered STOREs again, in order, same tokens",
           new1 && new2 && old1 && old2 && zframe_eq (s_frame (new1, 1), s_frame (old1, 1))
           && zframe_eq (s_frame (new2, 1), s_frame (old2, 1)), "tokens differ");
    s_stored (second, new1, 8, true);
    s_stored (second, new2, 9, false);
    zmsg_t *live1 = s_recv_record (rig);
    zmsg_t *live2 = s_recv_record (rig);
    KH_CHECK ("a resent message the new recorder calls dup still goes live (it may never have)",
           live1 != NULL && live2 != NULL, "%s", live1 ? "one record" : "no record");
    zmsg_t *ack1 = s_recv (rig->client, S_WAIT_MS);
    zmsg_t *ack2 = s_recv (rig->client, S_WAIT_MS);
    KH_CHECK ("both resent messages are acknowledged", s_frame_is (ack1, 0, KH_REP_ACK)
           && s_frame_is (ack2, 0, KH_REP_ACK), "missing ACK");
    uint64_t head = 0;
    s_ping (rig, &head, &recorder);
    KH_CHECK ("the head follows the highest seq (HELLO and STORED)", head == 9 && recorder,
           "head %llu", (unsigned long long) head);

    /* The new recorder is the recorder now: queries go to it. */
    rig->recorder = second;
    zmsg_destroy (&old1);
    zmsg_destroy (&old2);
    zmsg_destroy (&new1);
    zmsg_destroy (&new2);
    zmsg_destroy (&live1);
    zmsg_destroy (&live2);
    zmsg_destroy (&ack1);
    zmsg_destroy (&ack2);
    msgpack_sbuffer_destroy (&env1);
    msgpack_sbuffer_destroy (&env2);
}

/* Each second (of the test's clock) the heartbeat goes out with the head. */
static void
test_heartbeat (s_rig_t *rig)
{
    s_tick (rig->broker, 1000);
    zmsg_t *beat = s_recv (rig->sub, S_WAIT_MS);
    zframe_t *body = s_frame (beat, 1);
    uint64_t head = 0, at = 0;
    kh_problem_t why = { 0 };
    int rc = body ? kh_beat_decode (zframe_data (body), zframe_size (body), &head, &at, &why) : -1;
    KH_CHECK ("each second a heartbeat [!hb][{head, at}] goes out with the head",
           s_frame_is (beat, 0, KH_TOPIC_BEAT) && rc == 0 && head == 9 && at > 0,
           "rc %d head %llu %s", rc, (unsigned long long) head, why.reason);
    zmsg_destroy (&beat);
}

/* A recorder silent for longer than its TTL (not just as long) is gone: PONG says so,
   new publishes are refused, what it had not answered waits; when it says HELLO
   again it gets that again, with the same token. */
static void
test_recorder_silent (s_rig_t *rig)
{
    uint8_t id1 [KH_ID_SIZE], id2 [KH_ID_SIZE];
    kh_id_new (id1);
    kh_id_new (id2);
    msgpack_sbuffer env1, env2;
    msgpack_sbuffer_init (&env1);
    msgpack_sbuffer_init (&env2);
    s_envelope (&env1, "idea", "05162016", "Vor der Pause", id1);
    s_envelope (&env2, "idea", "05162016", "Nach der Pause", id2);
    s_send2 (rig->client, KH_CMD_PUBLISH, env1.data, env1.size);
    zmsg_t *first = s_expect_store (rig->recorder, &env1);     /* left unanswered */
    s_link (rig, 9);                    /* its last word */
    s_rig_tick (rig, S_TTL_MS);
    bool recorder = false;
    s_client_fence (rig, NULL, &recorder);
    KH_CHECK ("a recorder silent for just its TTL is still linked", recorder, "gone");
    s_rig_tick (rig, 1);
    s_client_fence (rig, NULL, &recorder);
    KH_CHECK ("a recorder silent for longer than its TTL is reported gone", !recorder,
           "still there");
    kh_error_reply_t err;
    const void *pdata [2] = { KH_CMD_PUBLISH, env2.data };
    size_t psizes [2] = { 7, env2.size };
    s_expect_error (rig, 2, pdata, psizes, KH_EUNAVAILABLE,
                    "a publish while the recorder is gone is refused", &err);
    s_hello (rig->recorder, 9);
    zmsg_t *again = s_expect_store (rig->recorder, &env1);
    s_send2 (rig->client, KH_CMD_PUBLISH, env2.data, env2.size);
    zmsg_t *second = s_expect_store (rig->recorder, &env2);
    KH_CHECK ("a recorder that comes back gets again what it had not answered, same token",
           first && again && zframe_eq (s_frame (first, 1), s_frame (again, 1)), "differs");
    KH_CHECK ("a publish refused while the recorder was gone is not sent to it, nor kept",
           s_store_fence (rig), "a STORE came");
    s_stored (rig->recorder, again, 10, false);
    s_stored (rig->recorder, second, 11, false);
    zmsg_t *ack1 = s_expect_reply (rig->client, KH_REP_ACK,
                                   "the recorder that comes back commits what it had");
    zmsg_t *ack2 = s_expect_reply (rig->client, KH_REP_ACK,
                                   "a publish after the recorder is back is committed");
    zmsg_t *live1 = s_recv_record (rig);
    zmsg_t *live2 = s_recv_record (rig);
    KH_CHECK ("what waited goes live once committed", live1 && live2, "a record is missing");
    zmsg_destroy (&live1);
    zmsg_destroy (&live2);
    zmsg_destroy (&ack1);
    zmsg_destroy (&ack2);
    zmsg_destroy (&first);
    zmsg_destroy (&again);
    zmsg_destroy (&second);
    msgpack_sbuffer_destroy (&env1);
    msgpack_sbuffer_destroy (&env2);
}

/* Publishes offers (titled "Nach dem Abbruch <n>", appended to *envs, *count of
   them) from the rig's client, each followed by PING, until PONG says no recorder
   is linked or S_WAIT_MS have passed; returns true if it said so and nothing but
   the PONGs came back. The broker learns that its recorder went away only when a
   send to it fails, and libzmq takes sends until it has seen the connection close:
   the publishes before the last went into the closing connection. */
static bool
s_publish_until_gone (s_rig_t *rig, msgpack_sbuffer **envs, size_t *count)
{
    bool recorder = true, fenced = true;
    for (int64_t end = zclock_mono () + S_WAIT_MS;
         fenced && recorder && zclock_mono () < end; (*count)++) {
        msgpack_sbuffer *grown = (msgpack_sbuffer *) realloc (*envs,
                                                              (*count + 1) * sizeof **envs);
        if (!grown)
            return false;
        *envs = grown;
        msgpack_sbuffer *env = &grown [*count];
        msgpack_sbuffer_init (env);
        char title [32];
        snprintf (title, sizeof title, "Nach dem Abbruch %zu", *count + 1);
        uint8_t id [KH_ID_SIZE];
        kh_id_new (id);
        s_envelope (env, "offer", "05162020", title, id);
        s_send2 (rig->client, KH_CMD_PUBLISH, env->data, env->size);
        fenced = s_client_fence (rig, NULL, &recorder);
    }
    return fenced && !recorder;
}

/* A recorder that disconnects is noticed at the first send after libzmq has seen
   the connection close: the publish that found it gone waits for the next recorder
   (it was accepted, as were those that went into the closing connection), PONG says
   gone, a publish after that is refused, and the next recorder that says HELLO gets
   what waited, in order. */
static void
test_recorder_disconnects (s_rig_t *rig)
{
    zsock_destroy (&rig->recorder);
    msgpack_sbuffer *envs = NULL;
    size_t count = 0;
    KH_CHECK ("publishes after the recorder went away are kept for the next one (no "
              "reply), and PONG reports it gone once one of them finds it so",
              s_publish_until_gone (rig, &envs, &count), "after %zu publishes", count);
    uint8_t id2 [KH_ID_SIZE];
    kh_id_new (id2);
    msgpack_sbuffer env2;
    msgpack_sbuffer_init (&env2);
    s_envelope (&env2, "offer", "05162020", "Danach", id2);
    kh_error_reply_t err;
    const void *pdata [2] = { KH_CMD_PUBLISH, env2.data };
    size_t psizes [2] = { 7, env2.size };
    s_expect_error (rig, 2, pdata, psizes, KH_EUNAVAILABLE,
                    "a publish while no recorder is connected is refused", &err);
    rig->recorder = zsock_new_dealer (rig->recorder_ep);
    s_hello (rig->recorder, 11);
    size_t acked = 0, live = 0;
    for (size_t i = 0; i < count; i++) {
        zmsg_t *store = s_expect_store (rig->recorder, &envs [i]);
        s_stored (rig->recorder, store, 12 + i, false);
        zmsg_t *ack = s_recv (rig->client, S_WAIT_MS);
        zmsg_t *record = s_recv_record (rig);
        acked += s_frame_is (ack, 0, KH_REP_ACK);
        live += s_frame_is (record, 0, "offer/05162020/");
        zmsg_destroy (&record);
        zmsg_destroy (&ack);
        zmsg_destroy (&store);
        msgpack_sbuffer_destroy (&envs [i]);
    }
    KH_CHECK ("what waited for a lost recorder is committed by the next and goes live",
              count > 0 && acked == count && live == count, "%zu of %zu acked, %zu live",
              acked, count, live);
    free (envs);
    msgpack_sbuffer_destroy (&env2);
}

/* A recorder that says BYE is gone at once: PONG says so, a publish is refused and
   nothing is sent to it (when it says HELLO again, the first it gets is a query). */
static void
test_recorder_bye (s_rig_t *rig)
{
    s_send2 (rig->recorder, KH_REC_BYE, NULL, 0);
    bool fenced = s_recorder_fence (rig, rig->recorder);     /* BYE is read by now */
    bool recorder = true;
    s_client_fence (rig, NULL, &recorder);
    KH_CHECK ("a recorder that says BYE is reported gone", fenced && !recorder, "still there");
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    s_envelope (&env, "idea", "05162020", "Nach dem Abschied", id);
    const void *pdata [2] = { KH_CMD_PUBLISH, env.data };
    size_t psizes [2] = { 7, env.size };
    s_expect_error (rig, 2, pdata, psizes, KH_EUNAVAILABLE,
                    "a publish after the recorder's BYE is refused", NULL);
    s_link (rig, 0);
    KH_CHECK ("nothing goes to a recorder that said BYE", s_store_fence (rig), "it came");
    msgpack_sbuffer_destroy (&env);
}

/* A broker with a list of senders refuses a publish from any other AGS with
   FORBIDDEN (before asking whether a recorder is there) and passes the listed ones
   on; a list with something that is not an AGS keeps the broker from starting. */
static void
test_senders (void)
{
    kh_broker_config_t config = { .client = "tcp://127.0.0.1:*", .live = "tcp://127.0.0.1:*",
                                  .recorder = "tcp://127.0.0.1:*", .plain = true,
                                  .senders = " 05162, 05162004 " };
    s_rig_t rig = { .broker = zactor_new (kh_broker_actor, &config) };
    zsock_send (rig.broker, "s", "ENDPOINTS");
    zsock_recv (rig.broker, "sss", &rig.client_ep, &rig.live_ep, &rig.recorder_ep);
    rig.client = s_client_new (rig.client_ep, NULL);
    rig.recorder = zsock_new_dealer (rig.recorder_ep);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    s_envelope (&env, "idea", "05162008", "Nicht auf der Liste", id);
    kh_error_reply_t err;
    const void *data [2] = { KH_CMD_PUBLISH, env.data };
    size_t sizes [2] = { 7, env.size };
    s_expect_error (&rig, 2, data, sizes, KH_EFORBIDDEN,
                    "an unknown sender is FORBIDDEN even before a recorder is linked", &err);
    s_link (&rig, 0);
    s_expect_error (&rig, 2, data, sizes, KH_EFORBIDDEN,
                    "a publish from an AGS not in the senders is FORBIDDEN", &err);
    KH_CHECK ("FORBIDDEN names the id and the sender",
           err.has_id && memcmp (err.id, id, KH_ID_SIZE) == 0 && strstr (err.reason, "05162008"),
           "'%s'", err.reason);
    KH_CHECK ("a forbidden publish does not reach the recorder", s_store_fence (&rig),
           "it came");
    const char *allowed [2] = { "05162", "05162004" };
    for (int i = 0; i < 2; i++) {
        kh_id_new (id);
        msgpack_sbuffer_clear (&env);
        s_envelope (&env, "offer", allowed [i], "Auf der Liste", id);
        s_send2 (rig.client, KH_CMD_PUBLISH, env.data, env.size);
        zmsg_t *store = s_expect_store (rig.recorder, &env);
        zmsg_destroy (&store);
    }
    msgpack_sbuffer_destroy (&env);
    s_rig_stop (&rig);

    char *client_ep = NULL, *live_ep = NULL, *recorder_ep = NULL;
    const char *bad [2] = { "05162,Neuss", " , " };
    zsys_set_logstream (NULL);          /* the expected errors need not be shown */
    for (int i = 0; i < 2; i++) {
        config.senders = bad [i];
        zactor_t *broker = zactor_new (kh_broker_actor, &config);
        zsock_send (broker, "s", "ENDPOINTS");
        zsock_recv (broker, "sss", &client_ep, &live_ep, &recorder_ep);
        KH_CHECK ("a senders list with something that is not an AGS, or no AGS at all, "
                  "stops the broker", client_ep && !*client_ep, "'%s': client '%s'", bad [i],
                  client_ep ? client_ep : "(null)");
        zactor_destroy (&broker);
        zstr_free (&client_ep);
        zstr_free (&live_ep);
        zstr_free (&recorder_ep);
    }
    zsys_set_logstream (stderr);
}

/* A full pending table refuses with UNAVAILABLE. */
static void
test_pending_full (void)
{
    s_rig_t rig;
    s_side_start (&rig, 2, 0, 0, true);
    s_link (&rig, 0);                   /* alive, and never answers */
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    for (int i = 0; i < 2; i++) {
        uint8_t id [KH_ID_SIZE];
        kh_id_new (id);
        msgpack_sbuffer_clear (&env);
        s_envelope (&env, "idea", "05162004", "Wartend", id);
        s_send2 (rig.client, KH_CMD_PUBLISH, env.data, env.size);
    }
    kh_error_reply_t err;
    const void *data [2] = { KH_CMD_PUBLISH, env.data };
    size_t sizes [2] = { 7, env.size };
    s_expect_error (&rig, 2, data, sizes, KH_EUNAVAILABLE,
                    "a publish beyond --pending-max gets UNAVAILABLE", &err);
    KH_CHECK ("UNAVAILABLE for a publish names its id", err.has_id, "no id");
    msgpack_sbuffer_destroy (&env);
    s_rig_stop (&rig);
}

/* Publishes the envelope env (a new id each time, written into id) from client. */
static void
s_publish_new (zsock_t *client, msgpack_sbuffer *env, uint8_t id [KH_ID_SIZE])
{
    kh_id_new (id);
    msgpack_sbuffer_clear (env);
    s_envelope (env, "idea", "05162004", "Eilig", id);
    s_send2 (client, KH_CMD_PUBLISH, env->data, env->size);
}

/* One connection with connection_pending publishes waiting is answered BUSY, naming
   the id; another connection is not; an answer makes room again. */
static void
test_busy (void)
{
    s_rig_t rig;
    s_connection_pending = 3;
    s_side_start (&rig, 0, 0, 0, true);
    s_connection_pending = 0;
    s_link (&rig, 0);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    uint8_t id [KH_ID_SIZE];
    zmsg_t *stores [3] = { NULL };
    for (int i = 0; i < 3; i++) {
        s_publish_new (rig.client, &env, id);
        stores [i] = s_expect_store (rig.recorder, &env);
    }
    s_publish_new (rig.client, &env, id);
    zmsg_t *reply = s_recv (rig.client, S_WAIT_MS);
    zframe_t *body = s_frame (reply, 1);
    kh_error_reply_t err = { .code = -1 };
    kh_problem_t why = { 0 };
    int rc = body && s_frame_is (reply, 0, KH_REP_ERROR)
           ? kh_error_decode (zframe_data (body), zframe_size (body), &err, &why) : -1;
    KH_CHECK ("a publish beyond the connection's bound is answered BUSY",
              rc == 0 && err.code == KH_EBUSY, "got %s", rc ? "no ERROR" : kh_errname (err.code));
    KH_CHECK ("BUSY names the refused envelope's id and says what to do",
              rc == 0 && err.has_id && memcmp (err.id, id, KH_ID_SIZE) == 0
              && strstr (err.reason, "3 publishes") && strstr (err.reason, "read the answers"),
              "'%s'", err.reason);
    KH_CHECK ("BUSY is transient: the same envelope may be sent again",
              kh_err_transient (KH_EBUSY), "not transient");
    zmsg_destroy (&reply);
    zsock_t *other = s_client_new (rig.client_ep, S_ASIDE_ID);
    s_publish_new (other, &env, id);
    zmsg_t *store = s_expect_store (rig.recorder, &env);
    KH_CHECK ("another connection is not held to the first one's bound", store != NULL,
              "its publish did not reach the recorder");
    zmsg_destroy (&store);
    s_stored (rig.recorder, stores [0], 1, false);
    reply = s_expect_reply (rig.client, KH_REP_ACK, "an answered publish is acknowledged");
    zmsg_destroy (&reply);
    s_publish_new (rig.client, &env, id);
    store = s_expect_store (rig.recorder, &env);
    KH_CHECK ("an answer makes room: the connection's next publish is stored",
              store != NULL, "refused");
    zmsg_destroy (&store);
    for (int i = 0; i < 3; i++)
        zmsg_destroy (&stores [i]);
    zsock_destroy (&other);
    msgpack_sbuffer_destroy (&env);
    s_rig_stop (&rig);
}

/* While calm holds a connection's publishes back (kh_pending.h), no STORE tells that
   the recorder went away: the broker asks libzmq now and then, so it is noticed as
   soon as when every publish went at once. */
static void
test_gone_while_calm (void)
{
    s_rig_t rig;
    s_side_start (&rig, 0, 0, 0, true);  /* the test's clock stands: calm lasts */
    s_link (&rig, 0);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    uint8_t id [KH_ID_SIZE];
    /* A light publish of another connection, answered: calm (which holds back every
       connection but the light one, kh_pending.h). */
    zsock_t *light = s_client_new (rig.client_ep, "broker-test-light");
    s_publish_new (light, &env, id);
    zmsg_t *store = s_expect_store (rig.recorder, &env);
    s_stored (rig.recorder, store, 1, false);
    zmsg_destroy (&store);
    zmsg_t *ack = s_expect_reply (light, KH_REP_ACK, "the light publish is acknowledged");
    zmsg_destroy (&ack);
    zsock_destroy (&light);
    for (int i = 0; i < 2 + KH_BROKER_CALM_INFLIGHT; i++)
        s_publish_new (rig.client, &env, id);
    int stores = 0;
    for (zmsg_t *msg; (msg = s_recv (rig.recorder, S_QUIET_MS)) != NULL; zmsg_destroy (&msg))
        stores += s_frame_is (msg, 0, KH_REC_STORE);
    KH_CHECK ("while calm, a connection's publishes beyond its share wait at the broker",
              stores == KH_BROKER_CALM_INFLIGHT, "%d STOREs", stores);
    zsock_destroy (&rig.recorder);
    msgpack_sbuffer *envs = NULL;
    size_t count = 0;
    KH_CHECK ("a recorder that goes away while publishes wait held back is noticed",
              s_publish_until_gone (&rig, &envs, &count), "not after %zu publishes", count);
    for (size_t i = 0; i < count; i++)
        msgpack_sbuffer_destroy (&envs [i]);
    free (envs);
    msgpack_sbuffer_destroy (&env);
    s_rig_stop (&rig);
}

/* A subscriber that never reads loses records but never slows the broker: with a
   tiny live queue and 10 MB of records, every publish is still acknowledged. */
static void
test_slow_subscriber (void)
{
    enum { COUNT = 5000, WINDOW = 500 };
    s_rig_t rig;
    s_side_start (&rig, 0, 10, 0, false);
    zsock_t *client = rig.client, *recorder = rig.recorder;
    rig.sub = zsock_new (ZMQ_SUB);      /* stalled: never read */
    zsock_set_rcvhwm (rig.sub, 10);
    zsock_set_subscribe (rig.sub, "");
    zsock_connect (rig.sub, "%s", rig.live_ep);
    s_await_subscriptions (rig.broker, 1);
    s_link (&rig, 0);
    char text [2001];
    memset (text, 'x', 2000);
    text [2000] = 0;
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    kh_problem_t why = { 0 };
    kh_builder_t *builder = kh_builder_new ("idea");
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    kh_builder_set (builder, "title", "Viel", &why);
    kh_builder_set (builder, "description", text, &why);
    kh_builder_pack (builder, id, "05162004", kh_now_ms (), &env, &why);
    kh_builder_destroy (&builder);
    zpoller_t *poller = zpoller_new (client, recorder, NULL);
    int sent = 0, acked = 0;
    uint64_t seq = 0;
    int64_t deadline = zclock_mono () + 20000;
    while (acked < COUNT && zclock_mono () < deadline) {
        while (sent < COUNT && sent - acked < WINDOW) {
            s_send2 (client, KH_CMD_PUBLISH, env.data, env.size);
            sent++;
        }
        void *which = zpoller_wait (poller, 1000);
        zmsg_t *msg = which ? zmsg_recv (which) : NULL;
        if (which == recorder && s_frame_is (msg, 0, KH_REC_STORE))
            s_stored (recorder, msg, ++seq, false);
        if (which == client && s_frame_is (msg, 0, KH_REP_ACK))
            acked++;
        zmsg_destroy (&msg);
    }
    KH_CHECK ("a subscriber that never reads does not stop acknowledgements", acked == COUNT,
           "%d of %d acknowledged", acked, COUNT);
    zpoller_destroy (&poller);
    msgpack_sbuffer_destroy (&env);
    s_rig_stop (&rig);
}

/* Returns the req of a forwarded [QUERY][client id][query], or 0. */
static uint64_t
s_query_req (zmsg_t *fwd)
{
    zframe_t *body = s_frame (fwd, 2);
    kh_query_t query = { 0 };
    kh_problem_t why;
    if (!s_frame_is (fwd, 0, KH_CMD_QUERY) || !body
    ||  kh_query_decode (zframe_data (body), zframe_size (body), &query, &why))
        return 0;
    return query.req;
}

/* A client may have KH_BROKER_QUERIES_MAX queries in flight; one more is refused with
   UNAVAILABLE (naming its req) until an answer has gone back; an oversized query is
   TOO_LARGE. */
static void
test_query_cap (s_rig_t *rig)
{
    kh_broker_stats_t before = s_stats (rig->broker);
    msgpack_sbuffer q;
    msgpack_sbuffer_init (&q);
    zmsg_t *fwd [KH_BROKER_QUERIES_MAX + 1] = { NULL };
    int forwarded = 0;
    for (int i = 0; i < KH_BROKER_QUERIES_MAX; i++) {
        kh_query_t query = { .req = 100 + i };
        msgpack_sbuffer_clear (&q);
        kh_query_encode (&q, &query);
        s_send2 (rig->client, KH_CMD_QUERY, q.data, q.size);
        fwd [i] = s_recv (rig->recorder, S_WAIT_MS);
        forwarded += fwd [i] != NULL;
    }
    KH_CHECK ("queries up to the cap reach the recorder", forwarded == KH_BROKER_QUERIES_MAX,
           "%d forwarded", forwarded);
    kh_query_t over = { .req = 200 };
    msgpack_sbuffer_clear (&q);
    kh_query_encode (&q, &over);
    kh_error_reply_t err;
    const void *data [2] = { KH_CMD_QUERY, q.data };
    size_t sizes [2] = { 5, q.size };
    s_expect_error (rig, 2, data, sizes, KH_EUNAVAILABLE,
                    "one query over the cap in flight is refused with UNAVAILABLE", &err);
    KH_CHECK ("the refusal names the query's req", err.req == 200, "req %llu",
           (unsigned long long) err.req);
    s_rows_reply (rig->recorder, fwd [0]);
    zmsg_t *rows = s_expect_reply (rig->client, KH_REP_ROWS, "an answer comes back");
    zmsg_destroy (&rows);
    kh_query_t next = { .req = 201 };
    msgpack_sbuffer_clear (&q);
    kh_query_encode (&q, &next);
    s_send2 (rig->client, KH_CMD_QUERY, q.data, q.size);
    fwd [KH_BROKER_QUERIES_MAX] = s_recv (rig->recorder, S_WAIT_MS);
    KH_CHECK ("after an answer, the client may query again",
           fwd [KH_BROKER_QUERIES_MAX] != NULL, "not forwarded");
    KH_CHECK ("a refused query does not reach the recorder (the next one does, first)",
           s_query_req (fwd [KH_BROKER_QUERIES_MAX]) == 201, "req %llu",
           (unsigned long long) s_query_req (fwd [KH_BROKER_QUERIES_MAX]));
    for (int i = 1; i <= KH_BROKER_QUERIES_MAX; i++) {
        s_rows_reply (rig->recorder, fwd [i]);
        rows = s_expect_reply (rig->client, KH_REP_ROWS, "every forwarded query is answered");
        zmsg_destroy (&rows);
    }
    for (int i = 0; i <= KH_BROKER_QUERIES_MAX; i++)
        zmsg_destroy (&fwd [i]);

    /* Answers the recorder dropped: after resend_ms without one, the count is
       forgotten and the client may query again. */
    for (int i = 0; i < KH_BROKER_QUERIES_MAX; i++) {
        kh_query_t query = { .req = 300 + i };
        msgpack_sbuffer_clear (&q);
        kh_query_encode (&q, &query);
        s_send2 (rig->client, KH_CMD_QUERY, q.data, q.size);
        fwd [i] = s_recv (rig->recorder, S_WAIT_MS);
    }
    s_alive_tick (rig, S_RESEND_MS - 1);
    msgpack_sbuffer_clear (&q);
    kh_query_encode (&q, &over);
    data [1] = q.data;
    sizes [1] = q.size;
    s_expect_error (rig, 2, data, sizes, KH_EUNAVAILABLE,
                    "queries whose answers have not come count until resend_ms", NULL);
    s_alive_tick (rig, 1);
    s_send2 (rig->client, KH_CMD_QUERY, q.data, q.size);
    fwd [KH_BROKER_QUERIES_MAX] = s_recv (rig->recorder, S_WAIT_MS);
    KH_CHECK ("queries whose answers never came stop counting after resend_ms",
           fwd [KH_BROKER_QUERIES_MAX] != NULL, "not forwarded");
    for (int i = 0; i <= KH_BROKER_QUERIES_MAX; i++) {
        s_rows_reply (rig->recorder, fwd [i]);  /* late answers still reach the client */
        rows = s_expect_reply (rig->client, KH_REP_ROWS, "a late answer comes back");
        zmsg_destroy (&rows);
        zmsg_destroy (&fwd [i]);
    }

    size_t big_size = KH_ENVELOPE_MAX + 100;
    char *big = (char *) malloc (big_size);
    if (big) {
        memset (big, 0xc0, big_size);   /* nils: never read */
        data [1] = big;
        sizes [1] = big_size;
        s_expect_error (rig, 2, data, sizes, KH_ETOOLARGE, "a query over 64 KiB is TOO_LARGE",
                        NULL);
        free (big);
    }
    kh_broker_stats_t after = s_stats (rig->broker);
    KH_CHECK ("every forwarded query is counted, no refused one",
           after.queries - before.queries == 2 * (KH_BROKER_QUERIES_MAX + 1), "%llu queries",
           (unsigned long long) (after.queries - before.queries));
    msgpack_sbuffer_destroy (&q);
}

/* An answer the recorder lost (it drops answers the broker's queue has no room for)
   is not waited for for ever: while the recorder stays alive, the STORE goes to it
   again after resend_ms with the same token, and since its first answer never went
   live, the dup answer does. */
static void
test_lost_answer (s_rig_t *rig)
{
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    s_envelope (&env, "offer", "05162024", "Verlorene Antwort", id);
    kh_broker_stats_t before = s_stats (rig->broker);
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    zmsg_t *first = s_expect_store (rig->recorder, &env);
    s_alive_tick (rig, S_RESEND_MS - 1);    /* alive, but this answer is "lost" */
    KH_CHECK ("an unanswered STORE does not go again before resend_ms", s_store_fence (rig),
           "it came");
    s_alive_tick (rig, 1);
    zmsg_t *again = s_recv (rig->recorder, S_WAIT_MS);
    KH_CHECK ("an unanswered STORE goes again to a live recorder after resend_ms, with the "
              "same token", first && again && s_frame_is (again, 0, KH_REC_STORE)
           && zframe_eq (s_frame (first, 1), s_frame (again, 1)),
           "%s", again ? "another message" : "nothing came");
    s_stored (rig->recorder, again, 21, true);
    zmsg_t *ack = s_expect_reply (rig->client, KH_REP_ACK, "the resent STORE's answer is an ACK");
    zmsg_t *live = s_recv_record (rig);
    KH_CHECK ("a dup answer to a resend goes live (the first answer never did)",
           s_frame_is (live, 0, "offer/05162024/"), "no record");
    kh_broker_stats_t after = s_stats (rig->broker);
    KH_CHECK ("the resend is counted", after.resent == before.resent + 1, "resent %llu",
           (unsigned long long) after.resent);
    zmsg_destroy (&first);
    zmsg_destroy (&again);
    zmsg_destroy (&ack);
    zmsg_destroy (&live);

    /* Two STOREs; the recorder answers the second: the first's answer was lost (it
       answers in order), so the first goes again at the next tick, with no time
       passed. */
    uint8_t id2 [KH_ID_SIZE];
    kh_id_new (id);
    kh_id_new (id2);
    msgpack_sbuffer env2;
    msgpack_sbuffer_init (&env2);
    msgpack_sbuffer_clear (&env);
    s_envelope (&env, "offer", "05162024", "Verloren", id);
    s_envelope (&env2, "offer", "05162024", "Beantwortet", id2);
    s_send2 (rig->client, KH_CMD_PUBLISH, env.data, env.size);
    s_send2 (rig->client, KH_CMD_PUBLISH, env2.data, env2.size);
    first = s_expect_store (rig->recorder, &env);
    zmsg_t *second = s_expect_store (rig->recorder, &env2);
    s_stored (rig->recorder, second, 23, false);
    ack = s_expect_reply (rig->client, KH_REP_ACK, "the second STORE is acknowledged");
    live = s_recv_record (rig);
    KH_CHECK ("the answered second STORE goes live", s_frame_is (live, 0, "offer/05162024/"),
           "no record");
    zmsg_destroy (&live);
    s_rig_tick (rig, 0);
    again = s_recv (rig->recorder, S_WAIT_MS);
    KH_CHECK ("a STORE sent before an answered one lost its answer and goes again at the "
              "next tick", first && again && zframe_eq (s_frame (first, 1), s_frame (again, 1)),
           "%s", again ? "another message" : "nothing came");
    s_stored (rig->recorder, again, 22, true);
    zmsg_t *ack2 = s_expect_reply (rig->client, KH_REP_ACK, "its resend is acknowledged");
    zmsg_destroy (&first);
    zmsg_destroy (&second);
    zmsg_destroy (&again);
    zmsg_destroy (&ack);
    zmsg_destroy (&ack2);
    live = s_recv_record (rig);         /* the resent first: a dup, but resent */
    KH_CHECK ("the dup answer to the resent first goes live", live != NULL, "no record");
    zmsg_destroy (&live);
    msgpack_sbuffer_destroy (&env2);
    msgpack_sbuffer_destroy (&env);
}

/* On its own clock the broker gives a silent recorder up at its deadline (not at the
   next once-a-second check) and sends the heartbeat without being told. */
static void
test_real_clock (void)
{
    s_rig_t rig;
    s_side_start (&rig, 0, 0, 300, false);
    rig.sub = zsock_new_sub (rig.live_ep, KH_TOPIC_BEAT);
    s_await_subscriptions (rig.broker, 1);
    int64_t linked = zclock_mono ();
    s_link (&rig, 5);
    bool up = true;
    while (up && zclock_mono () - linked < S_WAIT_MS)
        if (s_client_fence (&rig, NULL, &up) && up)
            zclock_sleep (5);
    int64_t gone = zclock_mono () - linked;
    KH_CHECK ("on the real clock a silent recorder is given up at its deadline",
           !up && gone > 300 && gone < 900, "%s after %lld ms", up ? "still linked" : "gone",
           (long long) gone);
    zmsg_t *beat = s_recv (rig.sub, 1500);
    zframe_t *body = s_frame (beat, 1);
    uint64_t head = 0, at = 0;
    kh_problem_t why = { 0 };
    int rc = body ? kh_beat_decode (zframe_data (body), zframe_size (body), &head, &at, &why) : -1;
    KH_CHECK ("on the real clock the heartbeat goes out each second on its own",
           rc == 0 && head == 5, "rc %d head %llu", rc, (unsigned long long) head);
    zmsg_destroy (&beat);
    s_rig_stop (&rig);
}

/* Once the head is known, a new subscription is told it by a heartbeat within
   ~10 ms, without waiting for the second (the test's clock never moves here); a burst
   of subscriptions shares one; a subscription before the head is known brings none. */
static void
test_subscription_beat (void)
{
    enum { BURST = 1000 };
    s_rig_t rig;
    s_side_start (&rig, 0, 0, 0, true);
    zactor_t *broker = rig.broker;
    const char *live_ep = rig.live_ep;
    zsock_t *early = zsock_new_sub (live_ep, KH_TOPIC_BEAT);
    s_await_subscriptions (broker, 1);
    s_link (&rig, 42);
    KH_CHECK ("a subscription before the head is known brings no heartbeat", s_quiet (early),
              "a heartbeat came");
    zsock_t *late = zsock_new_sub (live_ep, KH_TOPIC_BEAT);
    zmsg_t *beat = s_recv (late, S_WAIT_MS);
    zframe_t *body = s_frame (beat, 1);
    uint64_t head = 0, at = 0;
    kh_problem_t why = { 0 };
    int rc = body ? kh_beat_decode (zframe_data (body), zframe_size (body), &head, &at, &why) : -1;
    KH_CHECK ("a subscriber that comes once the head is known gets a heartbeat at once",
              rc == 0 && head == 42, "%s", beat ? "not a heartbeat of head 42" : "none came");
    zmsg_destroy (&beat);
    while ((beat = s_recv (early, 0)))  /* the others had it too */
        zmsg_destroy (&beat);

    /* The broker sees every subscription alike, whichever socket sends it. */
    kh_broker_stats_t before = s_stats (broker);
    zsock_t *many = zsock_new (ZMQ_SUB);
    zsock_connect (many, "%s", live_ep);
    for (int i = 0; i < BURST; i++) {
        char topic [16];
        snprintf (topic, sizeof topic, "t/%04d", i);
        zsock_set_subscribe (many, topic);
    }
    uint64_t subscribers = s_await_subscriptions (broker, before.subscribers + BURST);
    int heard = 0;
    while ((beat = s_recv (late, S_QUIET_MS))) {    /* until the last beat has come */
        heard++;
        zmsg_destroy (&beat);
    }
    kh_broker_stats_t after = s_stats (broker);
    KH_CHECK ("a burst of a thousand subscriptions brings a heartbeat or a few, not one each",
              subscribers == before.subscribers + BURST && after.beats > before.beats
              && after.beats - before.beats <= 10 && heard == (int) (after.beats - before.beats),
              "%llu subscriptions, %llu heartbeats, %d heard",
              (unsigned long long) (subscribers - before.subscribers),
              (unsigned long long) (after.beats - before.beats), heard);
    zsock_destroy (&many);
    zsock_destroy (&late);
    zsock_destroy (&early);
    s_rig_stop (&rig);
}

/* A broker that cannot bind still answers its pipe, with empty endpoints. */
static void
test_bind_failure (s_rig_t *rig)
{
    kh_broker_config_t config = { .client = rig->client_ep, .live = "tcp://127.0.0.1:*",
                                  .recorder = "tcp://127.0.0.1:*", .plain = true };
    zsys_set_logstream (NULL);          /* the expected bind error need not be shown */
    zactor_t *broker = zactor_new (kh_broker_actor, &config);
    char *a = NULL, *b = NULL, *c = NULL;
    zsock_send (broker, "s", "ENDPOINTS");
    zsock_recv (broker, "sss", &a, &b, &c);
    KH_CHECK ("a broker whose port is taken reports no endpoints", a && !*a && b && !*b,
           "client '%s'", a ? a : "(null)");
    zactor_destroy (&broker);
    zsys_set_logstream (stderr);
    zstr_free (&a);
    zstr_free (&b);
    zstr_free (&c);
}


/* Asks the broker for its counters over client; returns 0 with *c filled, or -1. */
static int
s_counters (zsock_t *client, kh_counters_t *c)
{
    msgpack_sbuffer q;
    msgpack_sbuffer_init (&q);
    kh_counters_query_encode (&q, 21);
    s_send2 (client, KH_CMD_COUNTERS, q.data, q.size);
    msgpack_sbuffer_destroy (&q);
    zmsg_t *reply = s_recv (client, S_WAIT_MS);
    zframe_t *body = s_frame (reply, 1);
    uint64_t req = 0;
    kh_problem_t why;
    int rc = body && s_frame_is (reply, 0, KH_REP_COUNTERS)
           ? kh_counters_decode (zframe_data (body), zframe_size (body), &req, c, &why) : -1;
    zmsg_destroy (&reply);
    return rc == 0 && req == 21 ? 0 : -1;
}

/* Asks for counters until pass says they are as expected, within S_WAIT_MS (the
   connections are counted by the audit's watcher, in its own time). */
static bool
s_counters_until (zsock_t *client, kh_counters_t *c, bool (*pass) (const kh_counters_t *c))
{
    int64_t end = zclock_mono () + S_WAIT_MS;
    do {
        if (s_counters (client, c) == 0 && pass (c))
            return true;
        zclock_sleep (5);               /* polls what it waits for */
    } while (zclock_mono () < end);
    return false;
}

static bool
s_one_each (const kh_counters_t *c)
{
    return c->clients == 1 && c->subscribers == 1;
}

static bool
s_no_subscriber (const kh_counters_t *c)
{
    return c->clients == 1 && c->subscribers == 0;
}

/* [ITEMS] and [STATS] are checked as QUERY is and forwarded as [ITEMS|STATS][client
   id][query]; the recorder's ROWS come back; a bad one is refused with its req and
   never forwarded; they count against the client's queries in flight. */
static void
test_reads (s_rig_t *rig)
{
    kh_broker_stats_t before = s_stats (rig->broker);
    msgpack_sbuffer q;
    msgpack_sbuffer_init (&q);
    kh_items_query_t items = { .req = 31, .hf = 2, .open = true };
    kh_items_query_encode (&q, &items);
    s_send2 (rig->client, KH_CMD_ITEMS, q.data, q.size);
    zmsg_t *fwd = s_recv (rig->recorder, S_WAIT_MS);
    zframe_t *body = s_frame (fwd, 2);
    KH_CHECK ("an items query reaches the recorder as [ITEMS][client id][query]",
              fwd && zmsg_size (fwd) == 3 && s_frame_is (fwd, 0, KH_CMD_ITEMS)
              && s_frame_is (fwd, 1, S_CLIENT_ID) && body && zframe_size (body) == q.size
              && memcmp (zframe_data (body), q.data, q.size) == 0, "%s",
              fwd ? "wrong frames" : "nothing arrived");
    kh_rows_writer_t *writer = kh_rows_writer_new (31);
    kh_item_t item = { .id = { 7 }, .seq = 3, .type = "idea", .owner = "05162004" };
    kh_rows_writer_add_item (writer, &item);
    msgpack_sbuffer rows;
    msgpack_sbuffer_init (&rows);
    kh_rows_writer_finish (writer, false, 3, &rows);
    kh_rows_writer_destroy (&writer);
    const void *data [3] = { KH_REP_ROWS, S_CLIENT_ID, rows.data };
    size_t sizes [3] = { 4, strlen (S_CLIENT_ID), rows.size };
    s_send (rig->recorder, 3, data, sizes);
    zmsg_t *reply = s_expect_reply (rig->client, KH_REP_ROWS,
                                    "the recorder's items reach the client");
    body = s_frame (reply, 1);
    KH_CHECK ("items reach the client byte for byte", body && zframe_size (body) == rows.size
              && memcmp (zframe_data (body), rows.data, rows.size) == 0, "differs");
    zmsg_destroy (&reply);
    zmsg_destroy (&fwd);

    kh_error_reply_t err;
    static const char bad_hf [] = "\x82\xa3req\x07\xa2hf\x06";
    const void *bad [2] = { KH_CMD_ITEMS, bad_hf };
    size_t bad_sizes [2] = { 5, sizeof bad_hf - 1 };
    s_expect_error (rig, 2, bad, bad_sizes, KH_EQUERY, "a bad items query is QUERY", &err);
    KH_CHECK ("a bad items query's ERROR echoes its req", err.req == 7 && !err.has_id,
              "req %llu", (unsigned long long) err.req);
    static const char bad_by [] = "\x82\xa3req\x08\xa2""by\xa4week";
    bad [0] = KH_CMD_STATS;
    bad [1] = bad_by;
    bad_sizes [1] = sizeof bad_by - 1;
    s_expect_error (rig, 2, bad, bad_sizes, KH_EQUERY, "a bad stats query is QUERY", &err);
    KH_CHECK ("a bad stats query's ERROR echoes its req", err.req == 8, "req %llu",
              (unsigned long long) err.req);
    bad [1] = "\xc1";
    bad_sizes [1] = 1;
    s_expect_error (rig, 2, bad, bad_sizes, KH_EMALFORMED, "a stats query that is not "
                    "msgpack is MALFORMED", NULL);
    const void *one [1] = { KH_CMD_STATS };
    size_t one_size [1] = { 5 };
    s_expect_error (rig, 1, one, one_size, KH_EFRAMES, "STATS without a query is FRAMES",
                    NULL);

    msgpack_sbuffer_clear (&q);
    kh_stats_query_t stats = { .req = 32, .by = "month" };
    kh_stats_query_encode (&q, &stats);
    s_send2 (rig->client, KH_CMD_STATS, q.data, q.size);
    fwd = s_recv (rig->recorder, S_WAIT_MS);
    body = s_frame (fwd, 2);
    KH_CHECK ("a stats query reaches the recorder as [STATS][client id][query], the bad "
              "ones never", fwd && zmsg_size (fwd) == 3 && s_frame_is (fwd, 0, KH_CMD_STATS)
              && body && zframe_size (body) == q.size
              && memcmp (zframe_data (body), q.data, q.size) == 0, "%s",
              fwd ? "wrong frames" : "nothing arrived");
    kh_broker_stats_t after = s_stats (rig->broker);
    KH_CHECK ("items and stats queries are counted as queries",
              after.queries == before.queries + 2, "%llu",
              (unsigned long long) (after.queries - before.queries));
    /* The stats query is in flight: KH_BROKER_QUERIES_MAX - 1 more fit, then none. */
    zmsg_t *held [KH_BROKER_QUERIES_MAX] = { NULL };
    for (int i = 0; i < KH_BROKER_QUERIES_MAX - 1; i++) {
        s_send2 (rig->client, KH_CMD_STATS, q.data, q.size);
        held [i] = s_recv (rig->recorder, S_WAIT_MS);
    }
    bad [1] = q.data;
    bad_sizes [1] = q.size;
    s_expect_error (rig, 2, bad, bad_sizes, KH_EUNAVAILABLE, "a stats query beyond the "
                    "client's queries in flight is UNAVAILABLE", &err);
    KH_CHECK ("UNAVAILABLE names the stats query's req", err.req == 32, "req %llu",
              (unsigned long long) err.req);
    /* Answer them all, so that the next test starts with none in flight. */
    kh_stats_t none = { 0 };
    msgpack_sbuffer_clear (&rows);
    kh_stats_reply_encode (&rows, 32, &none);
    data [2] = rows.data;
    sizes [2] = rows.size;
    for (int i = 0; i < KH_BROKER_QUERIES_MAX; i++) {
        s_send (rig->recorder, 3, data, sizes);
        reply = s_expect_reply (rig->client, KH_REP_ROWS, "a count reaches the client");
        zmsg_destroy (&reply);
        zmsg_destroy (&held [i]);
    }
    zmsg_destroy (&fwd);
    msgpack_sbuffer_destroy (&rows);
    msgpack_sbuffer_destroy (&q);
}

/* [COUNTERS] is answered by the broker: its connections, the recorder, head, what
   it published and how fast, its errors. A broker of its own, so that nothing
   counted before shows. */
static void
test_counters (void)
{
    s_rig_t rig;
    s_side_start (&rig, 0, 0, 0, true);
    zsock_t *sub = zsock_new_sub (rig.live_ep, "idea/");
    kh_counters_t c;
    KH_CHECK ("counters count the connections on the client and live endpoints",
              s_counters_until (rig.client, &c, s_one_each), "clients %u subscribers %u",
              c.clients, c.subscribers);
    KH_CHECK ("counters of a broker without a recorder", !c.recorder_up && c.head == 0
              && c.published == 0 && c.rate == 0 && c.errors == 0 && c.busy == 0
              && c.audit_dropped == 0, "recorder %d head %llu", c.recorder_up,
              (unsigned long long) c.head);
    const void *bad [2] = { KH_CMD_COUNTERS, "\x81\xa3req\x00" };
    size_t bad_sizes [2] = { 8, 6 };
    s_expect_error (&rig, 2, bad, bad_sizes, KH_EQUERY, "COUNTERS with req 0 is QUERY", NULL);
    s_link (&rig, 0);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    uint8_t id [KH_ID_SIZE];
    for (uint64_t seq = 1; seq <= 3; seq++) {
        s_publish_new (rig.client, &env, id);
        zmsg_t *store = s_expect_store (rig.recorder, &env);
        s_stored (rig.recorder, store, seq, false);
        zmsg_t *ack = s_expect_reply (rig.client, KH_REP_ACK, "a stored publish is acked");
        zmsg_destroy (&ack);
        zmsg_destroy (&store);
    }
    KH_CHECK ("counters after three publishes in the first second",
              s_counters (rig.client, &c) == 0 && c.recorder_up && c.head == 3
              && c.published == 3 && c.rate == 3 && c.errors == 1, "published %llu rate "
              "%llu errors %llu", (unsigned long long) c.published,
              (unsigned long long) c.rate, (unsigned long long) c.errors);
    s_tick (rig.broker, 2000);
    KH_CHECK ("the rate is over the time since the start while that is under 10 s",
              s_counters (rig.client, &c) == 0 && c.rate == 1 && c.uptime_ms == 2000,
              "rate %llu uptime %llu", (unsigned long long) c.rate,
              (unsigned long long) c.uptime_ms);
    for (int i = 0; i < 10; i++)
        s_tick (rig.broker, 1000);
    KH_CHECK ("the rate is of the last 10 s", s_counters (rig.client, &c) == 0
              && c.rate == 0 && c.published == 3, "rate %llu", (unsigned long long) c.rate);
    zsock_destroy (&sub);
    KH_CHECK ("a subscriber gone is counted no more",
              s_counters_until (rig.client, &c, s_no_subscriber), "subscribers %u",
              c.subscribers);
    msgpack_sbuffer_destroy (&env);
    s_rig_stop (&rig);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    s_rig_t rig;
    /* test_recorder_disconnects publishes from one client until PONG says the
       recorder is gone, thousands on a busy machine: no bound for the rig's broker. */
    s_connection_pending = KH_BROKER_PENDING_MAX;
    int rig_rc = s_rig_start (&rig);
    s_connection_pending = 0;
    if (rig_rc == 0) {
        test_no_recorder (&rig);
        test_commit_before_ack (&rig);
        test_bad_input (&rig);
        test_query (&rig);
        test_reads (&rig);
        test_failed_and_garbage (&rig);
        test_resend (&rig);
        test_heartbeat (&rig);
        test_query_cap (&rig);
        test_lost_answer (&rig);
        test_bind_failure (&rig);
        test_recorder_silent (&rig);
        test_recorder_disconnects (&rig);
        test_recorder_bye (&rig);
    }
    s_rig_stop (&rig);
    test_pending_full ();
    test_busy ();
    test_counters ();
    test_gone_while_calm ();
    test_senders ();
    test_slow_subscriber ();
    test_real_clock ();
    test_subscription_beat ();
    return kh_check_done ("broker_test");
}
