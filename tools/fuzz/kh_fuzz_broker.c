/*  kh_fuzz_broker.c - libFuzzer target: one multipart message from a client, as the
    broker's client ROUTER receives it.

    One real broker (kh_broker_actor on inproc endpoints, on a clock of its own that
    never moves) serves every input. The input is framed (kh_fuzz.h) into the frames of
    one message, sent from a DEALER; then a PING. The harness plays the recorder on
    the broker's link (HELLO once, every STORE answered STORED, every QUERY an empty
    ROWS) and subscribes to every live topic, so a valid publish goes all the way to
    an ACK and a live record. Besides the sanitizers' findings it fails the input if
    the broker does not answer the PING within S_BOUND_MS, sends a client anything but
    [ACK|ERROR|ROWS|PONG][body] with a body that decodes, hands the recorder anything
    but a valid envelope or a valid query, or publishes a record that does not decode.
*/
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "kh_broker.h"
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_parts.h"
#include "kh_fuzz.h"

#define S_TARGET    "broker"
#define S_BOUND_MS  10000               /* the PONG comes within this, or it is a hang */

/* The broker and the harness's three sockets, one set for the whole run. */
typedef struct {
    zactor_t       *broker;
    zsock_t        *client;             /* DEALER: the fuzz input, then PING */
    zsock_t        *recorder;           /* DEALER: plays the recorder */
    zsock_t        *live;               /* SUB to every topic */
    uint64_t        head;               /* seq of the last STORED the harness said */
    msgpack_sbuffer buf;
    uint64_t        inputs, acks, errors, rows, stores, queries, records;  /* counts */
    int64_t         slowest;            /* ms from an input to its PONG, at most */
} s_rig_t;

static s_rig_t s_rig;

/* The broker's clock: it never moves, so no timer fires and no recorder expires. */
static int64_t
s_clock (void *arg)
{
    return 1000000;
}

/* Sends count frames (data [i], sizes [i]) as one message on sock. */
static void
s_send (zsock_t *sock, size_t count, const void *const *data, const size_t *sizes)
{
    for (size_t i = 0; i < count; i++)
        if (kh_fuzz_send (zsock_resolve (sock), data [i], sizes [i],
                          i + 1 < count ? ZMQ_SNDMORE : 0) == -1)
            kh_fuzz_fail (S_TARGET, "cannot send: %s", zmq_strerror (zmq_errno ()));
}

/* Sends [name][frame][buf] from the harness's recorder (frame may be NULL: no frame). */
static void
s_recorder_send (const char *name, zmq_msg_t *frame)
{
    const void *data [3] = { name, NULL, s_rig.buf.data };
    size_t sizes [3] = { strlen (name), 0, s_rig.buf.size };
    if (frame) {
        data [1] = zmq_msg_data (frame);
        sizes [1] = zmq_msg_size (frame);
    }
    else {
        data [1] = s_rig.buf.data;
        sizes [1] = s_rig.buf.size;
    }
    s_send (s_rig.recorder, frame ? 3 : 2, data, sizes);
}

/* A message the broker sent its recorder: [STORE][token][valid envelope] is answered
   STORED, [QUERY][client][valid query] an empty ROWS, [AUDIT_QUERY][client][valid
   audit query] an empty AUDIT_ROWS; [AUDIT][record] must decode; anything else is a
   failure. */
static void
s_on_recorder (kh_parts_t *msg)
{
    kh_problem_t why = { 0 };
    zmq_msg_t *body = kh_parts_at (msg, 2);
    msgpack_sbuffer_clear (&s_rig.buf);
    if (msg->count == 3 && kh_parts_is (msg, 0, KH_REC_STORE)) {
        if (zmq_msg_size (kh_parts_at (msg, 1)) != 8
        ||  kh_envelope_check (zmq_msg_data (body), zmq_msg_size (body), NULL, NULL, &why))
            kh_fuzz_fail (S_TARGET, "the broker stored what it must refuse: %s", why.reason);
        s_rig.stores++;
        kh_seqinfo_t info = { .seq = ++s_rig.head, .at = 1700000000000ULL + s_rig.head };
        kh_stored_encode (&s_rig.buf, &info, false);
        s_recorder_send (KH_REC_STORED, kh_parts_at (msg, 1));
    }
    else
    if (msg->count == 3 && kh_parts_is (msg, 0, KH_CMD_QUERY)) {
        kh_query_t query;
        s_rig.queries++;
        if (kh_query_decode (zmq_msg_data (body), zmq_msg_size (body), &query, &why))
            kh_fuzz_fail (S_TARGET, "the broker passed on a bad query: %s", why.reason);
        kh_rows_writer_t *writer = kh_rows_writer_new (query.req);
        if (!writer || kh_rows_writer_finish (writer, false, query.since_seq, &s_rig.buf))
            kh_fuzz_fail (S_TARGET, "out of memory");
        kh_rows_writer_destroy (&writer);
        s_recorder_send (KH_REP_ROWS, kh_parts_at (msg, 1));
    }
    else
    if (msg->count == 2 && kh_parts_is (msg, 0, KH_REC_AUDIT)) {
        kh_audit_t rec;
        zmq_msg_t *record = kh_parts_at (msg, 1);
        if (kh_audit_decode (zmq_msg_data (record), zmq_msg_size (record), &rec, &why))
            kh_fuzz_fail (S_TARGET, "the broker audited what cannot be read: %s", why.reason);
    }
    else
    if (msg->count == 3 && kh_parts_is (msg, 0, KH_REC_AUDIT_QUERY)) {
        kh_audit_query_t query;
        if (kh_audit_query_decode (zmq_msg_data (body), zmq_msg_size (body), &query, &why))
            kh_fuzz_fail (S_TARGET, "the broker passed on a bad audit query: %s", why.reason);
        kh_rows_writer_t *writer = kh_rows_writer_new (query.req);
        if (!writer || kh_rows_writer_finish (writer, false, query.since_seq, &s_rig.buf))
            kh_fuzz_fail (S_TARGET, "out of memory");
        kh_rows_writer_destroy (&writer);
        s_recorder_send (KH_REC_AUDIT_ROWS, kh_parts_at (msg, 1));
    }
    else
        kh_fuzz_fail (S_TARGET, "the broker sent its recorder a message of %d frames",
                      msg->count);
}

/* A reply to the client: [ACK|ERROR|ROWS|PONG][body], the body decodable. Returns
   true if it is a PONG. */
static bool
s_on_client (kh_parts_t *msg)
{
    kh_problem_t why = { 0 };
    zmq_msg_t *body = kh_parts_at (msg, 1);
    const void *data = body ? zmq_msg_data (body) : NULL;
    size_t size = body ? zmq_msg_size (body) : 0;
    uint8_t id [KH_ID_SIZE];
    uint64_t seq, head;
    bool flag;
    kh_error_reply_t err;
    kh_rows_t rows;
    int rc = -1;
    if (msg->count != 2)
        kh_fuzz_fail (S_TARGET, "a reply of %d frames", msg->count);
    if (kh_parts_is (msg, 0, KH_REP_ACK))
        rc = kh_ack_decode (data, size, id, &seq, &flag, &why);
    else
    if (kh_parts_is (msg, 0, KH_REP_ERROR))
        rc = kh_error_decode (data, size, &err, &why);
    else
    if (kh_parts_is (msg, 0, KH_REP_PONG))
        rc = kh_pong_decode (data, size, &head, &flag, &why);
    else
    if (kh_parts_is (msg, 0, KH_REP_ROWS) && (rc = kh_rows_decode (data, size, &rows, &why)) == 0)
        kh_rows_release (&rows);
    if (rc)
        kh_fuzz_fail (S_TARGET, "a reply that does not decode: %s", why.reason);
    s_rig.acks += kh_parts_is (msg, 0, KH_REP_ACK);
    s_rig.errors += kh_parts_is (msg, 0, KH_REP_ERROR);
    s_rig.rows += kh_parts_is (msg, 0, KH_REP_ROWS);
    return kh_parts_is (msg, 0, KH_REP_PONG);
}

/* Takes every live message waiting: each must be [topic][record] whose record
   decodes, or the heartbeat [!hb][beat]. */
static void
s_drain_live (void)
{
    kh_parts_t msg;
    while (kh_parts_recv (&msg, zsock_resolve (s_rig.live), ZMQ_DONTWAIT) > 0) {
        kh_record_t rec;
        uint64_t head, at;
        kh_problem_t why = { 0 };
        zmq_msg_t *body = kh_parts_at (&msg, 1);
        const void *data = body ? zmq_msg_data (body) : NULL;
        size_t size = body ? zmq_msg_size (body) : 0;
        int rc = kh_parts_is (&msg, 0, KH_TOPIC_BEAT)
               ? kh_beat_decode (data, size, &head, &at, &why)
               : kh_record_decode (data, size, &rec, &why);
        if (msg.count != 2 || rc)
            kh_fuzz_fail (S_TARGET, "a live message that is not [topic][record]: %s",
                          why.reason);
        s_rig.records++;
        kh_parts_close (&msg);
    }
}

/* Fails the input as hung, saying what the broker's counters say (or that its
   thread does not answer its pipe either). */
static void
s_hung (void)
{
    zsock_set_rcvtimeo (s_rig.broker, 2000);
    zsock_send (s_rig.broker, "s", "STATS");
    uint64_t c [10] = { 0 };
    int rc;
    while ((rc = zsock_recv (s_rig.broker, "8888888888", &c [0], &c [1], &c [2], &c [3],
                             &c [4], &c [5], &c [6], &c [7], &c [8], &c [9])) == -1
           && zmq_errno () == EINTR)
        ;
    if (rc == -1)
        kh_fuzz_fail (S_TARGET, "no PONG within %d ms, and the broker's thread does not "
                      "answer STATS", S_BOUND_MS);
    kh_fuzz_fail (S_TARGET, "no PONG within %d ms; the broker says published %llu, acked "
                  "%llu, errors %llu, stored %llu, queries %llu, ignored %llu, dropped %llu",
                  S_BOUND_MS, (unsigned long long) c [0], (unsigned long long) c [1],
                  (unsigned long long) c [2], (unsigned long long) c [4],
                  (unsigned long long) c [5], (unsigned long long) c [6],
                  (unsigned long long) c [7]);
}

/* Serves both sockets until pongs PONGs have come, or fails after S_BOUND_MS (far
   above the slowest PONG, which the run reports at its end: 10 ms in a minute with
   libFuzzer's SIGALRM every 2 s). */
static void
s_await (int pongs)
{
    int64_t start = zclock_mono (), end = start + S_BOUND_MS;
    zmq_pollitem_t items [2] = {
        { zsock_resolve (s_rig.client), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (s_rig.recorder), 0, ZMQ_POLLIN, 0 } };
    while (pongs > 0) {
        int64_t left = end - zclock_mono ();
        if (left <= 0)
            s_hung ();
        if (kh_fuzz_poll (items, 2, (long) left) == -1)
            kh_fuzz_fail (S_TARGET, "zmq_poll: %s", zmq_strerror (zmq_errno ()));
        kh_parts_t msg;
        if ((items [1].revents & ZMQ_POLLIN)
        &&  kh_parts_recv (&msg, items [1].socket, ZMQ_DONTWAIT) > 0) {
            s_on_recorder (&msg);
            kh_parts_close (&msg);
        }
        if ((items [0].revents & ZMQ_POLLIN)
        &&  kh_parts_recv (&msg, items [0].socket, ZMQ_DONTWAIT) > 0) {
            pongs -= s_on_client (&msg);
            kh_parts_close (&msg);
        }
    }
    if (zclock_mono () - start > s_rig.slowest)
        s_rig.slowest = zclock_mono () - start;
}

/* Says what the run did, stops the broker and closes the sockets (at exit, before
   czmq's own shutdown). */
static void
s_stop (void)
{
    fprintf (stderr, "kh-fuzz: broker: %llu inputs; replies ACK %llu, ERROR %llu, ROWS %llu; "
             "to the recorder STORE %llu, QUERY %llu; live %llu; slowest PONG %lld ms\n",
             (unsigned long long) s_rig.inputs, (unsigned long long) s_rig.acks,
             (unsigned long long) s_rig.errors, (unsigned long long) s_rig.rows,
             (unsigned long long) s_rig.stores, (unsigned long long) s_rig.queries,
             (unsigned long long) s_rig.records, (long long) s_rig.slowest);
    zsock_destroy (&s_rig.client);
    zsock_destroy (&s_rig.recorder);
    zsock_destroy (&s_rig.live);
    zactor_destroy (&s_rig.broker);
    msgpack_sbuffer_destroy (&s_rig.buf);
}

int LLVMFuzzerInitialize (int *argc, char ***argv);

/* Starts the broker, connects the harness's sockets and says HELLO as its recorder;
   libFuzzer calls it once, before the first input. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    kh_fuzz_alarm_block ();             /* for the threads started below */
    zsys_handler_set (NULL);
    zsys_init ();
    msgpack_sbuffer_init (&s_rig.buf);
    kh_broker_config_t config = { .client = "inproc://kh-fuzz-client",
        .live = "inproc://kh-fuzz-live", .recorder = "inproc://kh-fuzz-recorder",
        .clock = s_clock, .plain = true };  /* inproc: no CURVE, nobody identified */
    s_rig.broker = zactor_new (kh_broker_actor, &config);
    s_rig.client = zsock_new_dealer (config.client);
    s_rig.recorder = zsock_new_dealer (config.recorder);
    s_rig.live = zsock_new_sub (config.live, "");
    if (!s_rig.broker || !s_rig.client || !s_rig.recorder || !s_rig.live)
        kh_fuzz_fail (S_TARGET, "cannot start the broker");
    atexit (s_stop);
    kh_fuzz_alarm_main ();
    kh_hello_encode (&s_rig.buf, 0);
    s_recorder_send (KH_REC_HELLO, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Sends the input as one message, then a PING, and serves both sockets until the
   PONG (or PONGs) come. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    kh_fuzz_frame_t frames [KH_FUZZ_FRAMES_MAX];
    const void *parts [KH_FUZZ_FRAMES_MAX] = { 0 };
    size_t sizes [KH_FUZZ_FRAMES_MAX] = { 0 };
    size_t count = kh_fuzz_frames (data, size, frames, KH_FUZZ_FRAMES_MAX);
    s_rig.inputs++;
    for (size_t i = 0; i < count; i++) {
        parts [i] = frames [i].data;
        sizes [i] = frames [i].size;
    }
    s_send (s_rig.client, count, parts, sizes);
    const void *ping [1] = { KH_CMD_PING };
    size_t ping_size [1] = { strlen (KH_CMD_PING) };
    s_send (s_rig.client, 1, ping, ping_size);
    /* A PING in the input is answered too, before ours (PROTOCOL: PING takes one
       optional frame). */
    bool pinged = count >= 1 && count <= 2 && kh_fuzz_frame_is (&frames [0], KH_CMD_PING);
    s_await (pinged ? 2 : 1);
    s_drain_live ();
    return 0;
}
