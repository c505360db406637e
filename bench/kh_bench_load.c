/*  kh_bench_load.c - the pipelined publish load: envelope templates, publisher
    threads with a sliding window of unacknowledged publishes, and a live subscriber.

    Each publisher owns a DEALER, a private copy of its envelope template (built once
    with kh_builder, then only the 16-byte id is patched per message) and its arrays
    of send and ack times. The subscriber owns a SUB and its array of delivery times.
    They share only the atomics of kh_bench_flags_t; the main thread reads their
    results after joining them.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <czmq.h>
#include "kh_bench.h"
#include "kh_parts.h"

#define S_DRAIN_MAX     1024    /* replies or records read per wake-up, at most */
#define S_QUIET_MS      3000    /* subscriber gives up this long after the last record */
#define S_REFUSED       UINT64_MAX  /* seq of a message answered with ERROR */

/* Senders, round robin: real AGS of Rhein-Kreis Neuss, all 8 digits long so that
   every publisher's template has the same layout. */
static const char *const s_ags [KH_BENCH_AGS_COUNT] = {
    "05162004", "05162008", "05162012", "05162016",
    "05162020", "05162022", "05162024", "05162028"
};

const char *
kh_bench_ags (int pub)
{
    return s_ags [(size_t) pub % KH_BENCH_AGS_COUNT];
}

void
kh_bench_secure (const kh_bench_hub_t *hub, zsock_t *sock, zcert_t *cert)
{
    if (!hub->server_key)
        return;
    zcert_apply (cert ? cert : hub->reader, sock);
    zsock_set_curve_serverkey (sock, hub->server_key);
}

static const char s_filler [] =
    "Gemeinsame Digitalisierung der Verwaltung im Rhein-Kreis Neuss: ein Portal fuer "
    "Antraege, ein gemeinsames Rechenzentrum und offene Schnittstellen fuer alle "
    "Kommunen. ";

/* One publisher thread: its inputs, its private buffers, and what it counted. */
typedef struct {
    const kh_bench_load_t *load;
    kh_bench_flags_t      *flags;
    const kh_bench_ids_t  *ids;
    int        pub;                     /* index, in the ids */
    uint32_t   count;                   /* messages to publish */
    uint8_t   *msg;                     /* the envelope, id patched per message */
    size_t     msg_size;
    size_t     id_off;                  /* where the id's 16 bytes sit in msg */
    uint64_t  *sent;                    /* [index] ns, 0 = not sent */
    uint64_t  *acked;                   /* [index] ns, 0 = not acked */
    uint64_t  *seq;                     /* [index] seq from the ACK */
    uint64_t   deadline;                /* ns: give up after */
    /* Results, read by the main thread after join. */
    uint64_t   n_acked, errors, dup_acks, dup_flags;
    char       failure [KH_BENCH_FAILURE_MAX]; /* why the run broke off, "" if it did not */
} s_publisher_t;

/* The live subscriber thread. */
typedef struct {
    const kh_bench_load_t *load;
    kh_bench_flags_t      *flags;
    const kh_bench_ids_t  *ids;
    size_t     id_off;                  /* where the id sits in our envelopes */
    uint64_t   expected;                /* records to wait for */
    uint64_t   deadline;
    /* Results, read by the main thread after join. */
    bool       ready;                   /* subscribed and past the first heartbeat */
    uint64_t   delivered, dups, gaps, dropped, foreign, errors, last_seq;
    char       failure [KH_BENCH_FAILURE_MAX];
} s_subscriber_t;

/* -------------------------------------------------------------- templates */

/* Encodes publisher pub's idea envelope with a description of desc_len bytes into
   out (cleared first). Returns 0, or -1 with why set. */
static int
s_encode (const kh_bench_ids_t *ids, int pub, size_t desc_len, msgpack_sbuffer *out,
          kh_problem_t *why)
{
    char *desc = (char *) malloc (desc_len + 1);
    kh_builder_t *builder = kh_builder_new ("idea");
    int rc = desc && builder ? 0 : kh_problem (why, KH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < desc_len; i++)
        desc [i] = s_filler [i % (sizeof s_filler - 1)];
    if (desc)
        desc [desc_len] = 0;
    char title [64];
    snprintf (title, sizeof title, "Benchmark: Idee %04d", pub);
    uint8_t id [KH_ID_SIZE];
    kh_bench_id_make (ids, pub, 0, id);
    msgpack_sbuffer_clear (out);
    if (rc == 0)
        rc = kh_builder_set (builder, "title", title, why)
          || kh_builder_set (builder, "description", desc, why)
          || kh_builder_set (builder, "maturity", "concept", why)
          || kh_builder_pack (builder, id, kh_bench_ags (pub),
                                kh_now_ms (), out, why) ? -1 : 0;
    kh_builder_destroy (&builder);
    free (desc);
    return rc;
}

/* Builds publisher pub's template as close to opts->size bytes as the schema allows
   (description 1..8000 bytes) into out, and finds the id in it. Returns 0, or -1
   after printing why. */
static int
s_template (const kh_bench_opts_t *opts, const kh_bench_ids_t *ids, int pub,
            msgpack_sbuffer *out, size_t *id_off)
{
    kh_problem_t why;
    size_t desc_len = 300;
    for (int round = 0; round < 3; round++) {
        if (s_encode (ids, pub, desc_len, out, &why)) {
            fprintf (stderr, "kreishub-bench: cannot build the envelope: %s\n", why.reason);
            return -1;
        }
        long want = (long) desc_len + (long) opts->size - (long) out->size;
        want = want < 1 ? 1 : want > 8000 ? 8000 : want;
        if ((size_t) want == desc_len)
            break;
        desc_len = (size_t) want;
    }
    if (s_encode (ids, pub, desc_len, out, &why)) {
        fprintf (stderr, "kreishub-bench: cannot build the envelope: %s\n", why.reason);
        return -1;
    }
    /* The id is a bin 8 of 16 bytes: c4 10 <id>. It must occur once, so that patching
       it cannot touch anything else. */
    uint8_t id [KH_ID_SIZE];
    kh_bench_id_make (ids, pub, 0, id);
    const uint8_t *data = (const uint8_t *) out->data;
    const uint8_t *hit = (const uint8_t *) memmem (data, out->size, id, KH_ID_SIZE);
    if (!hit || hit - data < 2 || hit [-2] != 0xc4 || hit [-1] != KH_ID_SIZE
    ||  memmem (hit + 1, out->size - (size_t) (hit + 1 - data), id, KH_ID_SIZE)) {
        fprintf (stderr, "kreishub-bench: cannot find the id in the envelope\n");
        return -1;
    }
    *id_off = (size_t) (hit - data);
    return 0;
}

/* -------------------------------------------------------------- publisher */

/* Handles one ACK body. Returns 1 if it freed a window slot, else 0. */
static int
s_on_ack (s_publisher_t *self, const void *data, size_t size, uint64_t now)
{
    uint8_t id [KH_ID_SIZE];
    uint64_t seq;
    bool dup;
    int pub;
    uint32_t index;
    kh_problem_t why;
    if (kh_ack_decode (data, size, id, &seq, &dup, &why)
    ||  kh_bench_id_parse (self->ids, id, &pub, &index)
    ||  pub != self->pub || index >= self->count || !self->sent [index]) {
        self->errors++;                 /* unreadable, or not for one of ours */
        return 0;
    }
    self->dup_flags += dup;
    if (self->acked [index] || self->seq [index] == S_REFUSED) {
        self->dup_acks++;
        return 0;
    }
    self->acked [index] = now;
    self->seq [index] = seq;
    self->n_acked++;
    return 1;
}

/* Handles one ERROR body: counted, and the message (if named) is given up on. Returns
   1 if it freed a window slot, else 0. */
static int
s_on_error (s_publisher_t *self, const void *data, size_t size)
{
    kh_error_reply_t err;
    kh_problem_t why;
    int pub;
    uint32_t index;
    self->errors++;
    if (kh_error_decode (data, size, &err, &why)) {
        fprintf (stderr, "publisher %d: unreadable ERROR: %s\n", self->pub, why.reason);
        return 0;
    }
    if (self->errors <= 3)
        fprintf (stderr, "publisher %d: ERROR %s: %s\n", self->pub, err.name, err.reason);
    if (!err.has_id || kh_bench_id_parse (self->ids, err.id, &pub, &index)
    ||  pub != self->pub || index >= self->count || self->acked [index]
    ||  self->seq [index] == S_REFUSED)
        return 0;
    self->seq [index] = S_REFUSED;      /* never acked: the run will fail its count */
    return 1;
}

/* Reads the replies waiting on the DEALER. Returns how many window slots they freed,
   or -1 if receiving failed. */
static int
s_read_replies (s_publisher_t *self, void *handle)
{
    int freed = 0;
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        kh_parts_t reply;
        int frames = kh_parts_recv (&reply, handle, ZMQ_DONTWAIT);
        if (frames <= 0)
            return frames == 0 ? freed : -1;
        uint64_t now = kh_bench_now_ns ();
        zmq_msg_t *body = kh_parts_at (&reply, 1);
        if (frames != 2)
            self->errors++;
        else
        if (kh_parts_is (&reply, 0, KH_REP_ACK))
            freed += s_on_ack (self, zmq_msg_data (body), zmq_msg_size (body), now);
        else
        if (kh_parts_is (&reply, 0, KH_REP_ERROR))
            freed += s_on_error (self, zmq_msg_data (body), zmq_msg_size (body));
        else
            self->errors++;
        kh_parts_close (&reply);
    }
    return freed;
}

/* Sends message index of this publisher. Returns 0, 1 if the socket's queue is full,
   -1 on failure. */
static int
s_send (s_publisher_t *self, void *handle, uint32_t index)
{
    uint8_t id [KH_ID_SIZE];
    kh_bench_id_make (self->ids, self->pub, index, id);
    memcpy (self->msg + self->id_off, id, KH_ID_SIZE);
    self->sent [index] = kh_bench_now_ns ();
    if (zmq_send (handle, KH_CMD_PUBLISH, strlen (KH_CMD_PUBLISH),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        self->sent [index] = 0;
        return zmq_errno () == EAGAIN ? 1 : -1;
    }
    /* Once a first part is queued, ZeroMQ queues the rest of the message. */
    return zmq_send (handle, self->msg, self->msg_size, 0) == -1 ? -1 : 0;
}

/* When message next is due, in ns: at once (0) unless the load is paced. */
static uint64_t
s_due (const s_publisher_t *self, uint64_t start, uint32_t next)
{
    uint32_t rate = self->load->rate;
    return rate ? start + (uint64_t) next * 1000000000u / rate : 0;
}

/* How long to wait for replies, in ms: until the next message is due if the load is
   paced and one is left to send (0 if it is due within a millisecond), else 100. */
static int
s_wait_ms (const s_publisher_t *self, uint64_t due, uint32_t next, uint32_t inflight)
{
    if (!due || next >= self->count || inflight >= self->load->opts->window)
        return 100;
    uint64_t now = kh_bench_now_ns ();
    return due > now + 1000000u ? (int) ((due - now) / 1000000u) : 0;
}

/* Sleeps until due if it is less than a millisecond away (zmq_poll counts in ms,
   a paced load needs finer steps). */
static void
s_sleep_until (uint64_t due)
{
    uint64_t now = kh_bench_now_ns ();
    if (due > now && due - now < 1000000u) {
        struct timespec ts = { 0, (long) (due - now) };
        nanosleep (&ts, NULL);
    }
}

/* The publisher loop: keeps up to window publishes unanswered (sending each when it
   is due if the load is paced) until every message is answered, time runs out or
   the run is aborted. */
static void
s_publish_all (s_publisher_t *self, void *handle)
{
    uint32_t window = self->load->opts->window;
    uint32_t next = 0, inflight = 0, answered = 0;
    uint64_t start = kh_bench_now_ns (), last_reply = start;
    while (answered < self->count) {
        if (kh_bench_stopping (self->flags)) {
            snprintf (self->failure, KH_BENCH_FAILURE_MAX, "stopped with %u answered", answered);
            return;
        }
        int rc = 0;
        while (inflight < window && next < self->count
           && s_due (self, start, next) <= kh_bench_now_ns ()
           && (rc = s_send (self, handle, next)) == 0) {
            next++;
            inflight++;
        }
        if (rc < 0) {
            kh_bench_fail (self->flags, self->failure, "send failed: %s",
                    zmq_strerror (zmq_errno ()));
            return;
        }
        uint64_t due = s_due (self, start, next);
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, s_wait_ms (self, due, next, inflight)) == -1
        &&  zmq_errno () != EINTR) {
            kh_bench_fail (self->flags, self->failure, "poll failed: %s",
                    zmq_strerror (zmq_errno ()));
            return;
        }
        uint64_t now = kh_bench_now_ns ();
        int freed = item.revents & ZMQ_POLLIN ? s_read_replies (self, handle) : 0;
        if (freed < 0) {
            kh_bench_fail (self->flags, self->failure, "receive failed: %s",
                    zmq_strerror (zmq_errno ()));
            return;
        }
        if (freed > 0)
            last_reply = now;
        inflight -= (uint32_t) freed;
        answered += (uint32_t) freed;
        if (inflight > 0 && now - last_reply > (uint64_t) KH_BENCH_STALL_MS * 1000000u) {
            kh_bench_fail (self->flags, self->failure, "no reply for %d s with %u in flight "
                    "(%u of %u answered)", KH_BENCH_STALL_MS / 1000, inflight, answered,
                    self->count);
            return;
        }
        if (now > self->deadline) {
            kh_bench_fail (self->flags, self->failure, "timed out with %u of %u answered",
                    answered, self->count);
            return;
        }
        if (due && inflight < window && next < self->count)
            s_sleep_until (due);
    }
}

static void *
s_publisher (void *arg)
{
    s_publisher_t *self = (s_publisher_t *) arg;
    uint32_t window = self->load->opts->window;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer) {
        kh_bench_fail (self->flags, self->failure, "cannot create a DEALER");
        return NULL;
    }
    zsock_set_sndhwm (dealer, (int) window + 64);
    zsock_set_rcvhwm (dealer, 2 * (int) window + 64);
    zsock_set_linger (dealer, 0);
    kh_bench_secure (self->load->hub, dealer,
                     self->load->hub->senders [(size_t) self->pub % KH_BENCH_AGS_COUNT]);
    if (zsock_connect (dealer, "%s", self->load->hub->client) == -1)
        kh_bench_fail (self->flags, self->failure, "cannot connect to %s",
                       self->load->hub->client);
    else
    if (kh_bench_wait_go (self->flags)) {
        self->deadline = kh_bench_now_ns ()
                       + (uint64_t) self->load->opts->timeout_s * 1000000000u;
        s_publish_all (self, zsock_resolve (dealer));
    }
    zsock_destroy (&dealer);
    return NULL;
}

/* ------------------------------------------------------------- subscriber */

/* Handles one live record. */
static void
s_on_record (s_subscriber_t *self, const void *data, size_t size, uint64_t now)
{
    kh_record_t rec;
    kh_problem_t why;
    if (kh_record_decode (data, size, &rec, &why)) {
        self->errors++;
        return;
    }
    if (rec.info.seq != self->last_seq + 1) {
        self->gaps++;
        if (rec.info.seq > self->last_seq)
            self->dropped += rec.info.seq - self->last_seq - 1;
    }
    if (rec.info.seq > self->last_seq)
        self->last_seq = rec.info.seq;
    /* The envelope is byte for byte what a publisher sent: our template with the id
       patched in at id_off, the same place in every publisher's template. */
    int pub;
    uint32_t index;
    if (rec.msg_size < self->id_off + KH_ID_SIZE
    ||  kh_bench_id_parse (self->ids, rec.msg + self->id_off, &pub, &index)
    ||  pub >= self->load->opts->publishers || index >= self->load->per_pub [pub]) {
        self->foreign++;
        return;
    }
    if (self->load->recv [pub][index])
        self->dups++;
    else {
        self->load->recv [pub][index] = now;
        self->delivered++;
    }
}

/* Handles a heartbeat: a head beyond the last seq seen means the records in between
   were dropped (PROTOCOL.md section 6); this also catches drops at the very end. */
static void
s_on_beat (s_subscriber_t *self, const void *data, size_t size)
{
    uint64_t head, at;
    kh_problem_t why;
    if (kh_beat_decode (data, size, &head, &at, &why)) {
        self->errors++;
        return;
    }
    if (self->ready && head > self->last_seq) {
        self->gaps++;
        self->dropped += head - self->last_seq;
        self->last_seq = head;
    }
}

/* Reads the records (and heartbeats) waiting on the SUB. Returns how many messages
   it read, or -1 if receiving failed. *beat is set if a heartbeat came. */
static int
s_read_live (s_subscriber_t *self, void *handle, bool *beat)
{
    int count = 0;
    for (; count < S_DRAIN_MAX; count++) {
        kh_parts_t msg;
        int frames = kh_parts_recv (&msg, handle, ZMQ_DONTWAIT);
        if (frames <= 0)
            return frames == 0 ? count : -1;
        uint64_t now = kh_bench_now_ns ();
        zmq_msg_t *body = kh_parts_at (&msg, 1);
        if (frames != 2)
            self->errors++;
        else
        if (kh_parts_is (&msg, 0, KH_TOPIC_BEAT)) {
            *beat = true;
            s_on_beat (self, zmq_msg_data (body), zmq_msg_size (body));
        }
        else
            s_on_record (self, zmq_msg_data (body), zmq_msg_size (body), now);
        kh_parts_close (&msg);
    }
    return count;
}

/* Waits for the first heartbeat, which proves the subscriptions are in place (they
   travel in order, "!hb" last). Returns 0, or -1 after failing the run. */
static int
s_wait_subscribed (s_subscriber_t *self, void *handle)
{
    uint64_t until = kh_bench_now_ns () + 5000000000u;
    bool beat = false;
    while (!beat) {
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 100);
        if (s_read_live (self, handle, &beat) < 0 || kh_bench_stopping (self->flags)
        ||  (!beat && kh_bench_now_ns () > until)) {
            kh_bench_fail (self->flags, self->failure, "no heartbeat on %s within 5 s",
                    self->load->hub->live);
            return -1;
        }
    }
    return 0;
}

/* The subscriber loop: reads until every expected record came, or (after the
   publishers finished) nothing came for S_QUIET_MS, or time runs out. */
static void
s_subscribe_all (s_subscriber_t *self, void *handle)
{
    uint64_t last_record = kh_bench_now_ns ();
    while (self->delivered < self->expected) {
        if (kh_bench_stopping (self->flags)) {
            snprintf (self->failure, KH_BENCH_FAILURE_MAX, "stopped with %llu delivered",
                      (unsigned long long) self->delivered);
            return;
        }
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 100);
        uint64_t now = kh_bench_now_ns ();
        bool beat = false;
        uint64_t before = self->delivered + self->dups + self->foreign;
        if (s_read_live (self, handle, &beat) < 0) {
            kh_bench_fail (self->flags, self->failure, "receive failed: %s",
                    zmq_strerror (zmq_errno ()));
            return;
        }
        if (self->delivered + self->dups + self->foreign > before)
            last_record = now;
        if (atomic_load (&self->flags->publishers_done)
        &&  now - last_record > (uint64_t) S_QUIET_MS * 1000000u) {
            snprintf (self->failure, KH_BENCH_FAILURE_MAX, "nothing more came for %d s after "
                      "the publishers finished", S_QUIET_MS / 1000);
            return;
        }
        if (now > self->deadline) {
            kh_bench_fail (self->flags, self->failure, "timed out with %llu of %llu delivered",
                    (unsigned long long) self->delivered,
                    (unsigned long long) self->expected);
            return;
        }
    }
}

static void *
s_subscriber (void *arg)
{
    s_subscriber_t *self = (s_subscriber_t *) arg;
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (!sub) {
        kh_bench_fail (self->flags, self->failure, "cannot create a SUB");
        return NULL;
    }
    zsock_set_rcvhwm (sub, KH_BENCH_SUB_HWM);
    zsock_set_linger (sub, 0);
    kh_bench_secure (self->load->hub, sub, NULL);
    /* Connect first, then subscribe, "!hb" last: subscriptions made before the
       connection stands are sent in sorted order ("!hb" first), and the first
       heartbeat would not prove "idea/" in place. */
    int rc = zsock_connect (sub, "%s", self->load->hub->live);
    if (rc == 0) {
        zsock_set_subscribe (sub, "idea/");
        zsock_set_subscribe (sub, KH_TOPIC_BEAT);
    }
    if (rc == -1)
        kh_bench_fail (self->flags, self->failure, "cannot connect to %s",
                       self->load->hub->live);
    else
    if (s_wait_subscribed (self, zsock_resolve (sub)) == 0) {
        self->ready = true;
        if (kh_bench_wait_go (self->flags)) {
            self->deadline = kh_bench_now_ns ()
                           + (uint64_t) self->load->opts->timeout_s * 1000000000u;
            s_subscribe_all (self, zsock_resolve (sub));
        }
    }
    zsock_destroy (&sub);
    return NULL;
}

/* ------------------------------------------------------------------- runs */

/* Counts acked seqs that are not exactly head+1 .. head+total, each once. */
static uint64_t
s_seq_errors (const s_publisher_t *pubs, int count, uint64_t head, uint64_t total)
{
    uint8_t *seen = (uint8_t *) calloc (total ? total : 1, 1);
    if (!seen)
        return total;                   /* cannot check: count all as wrong */
    uint64_t bad = 0;
    for (int p = 0; p < count; p++)
        for (uint32_t i = 0; i < pubs [p].count; i++) {
            uint64_t seq = pubs [p].seq [i];
            if (!pubs [p].acked [i])
                continue;
            if (seq <= head || seq > head + total || seen [seq - head - 1])
                bad++;
            else
                seen [seq - head - 1] = 1;
        }
    free (seen);
    return bad;
}

/* Builds the publishers' templates and buffers. Returns 0, or -1. */
static int
s_publishers_prepare (const kh_bench_load_t *load, kh_bench_flags_t *flags,
                      const kh_bench_ids_t *ids, s_publisher_t *pubs)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = 0;
    for (int p = 0; rc == 0 && p < load->opts->publishers; p++) {
        s_publisher_t *self = &pubs [p];
        self->load = load;
        self->flags = flags;
        self->ids = ids;
        self->pub = p;
        self->count = load->per_pub [p];
        self->sent = load->sent [p];
        self->acked = load->acked [p];
        self->seq = load->seqs ? load->seqs [p]
                  : (uint64_t *) calloc (self->count ? self->count : 1, sizeof (uint64_t));
        rc = self->seq && s_template (load->opts, ids, p, &buf, &self->id_off) == 0 ? 0 : -1;
        if (rc == 0 && (self->msg = (uint8_t *) malloc (buf.size)) != NULL) {
            memcpy (self->msg, buf.data, buf.size);
            self->msg_size = buf.size;
        }
        else
            rc = -1;
    }
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Adds the threads' counters to result and prints why any of them broke off. */
static void
s_collect (const kh_bench_load_t *load, s_publisher_t *pubs, s_subscriber_t *sub,
           kh_bench_result_t *result)
{
    uint64_t total = 0;
    for (int p = 0; p < load->opts->publishers; p++) {
        total += pubs [p].count;
        result->acked += pubs [p].n_acked;
        result->errors += pubs [p].errors;
        result->dup_acks += pubs [p].dup_acks;
        result->dup_flags += pubs [p].dup_flags;
        if (pubs [p].failure [0])
            fprintf (stderr, "kreishub-bench: %s publisher %d: %s\n", result->name, p,
                     pubs [p].failure);
    }
    result->expected = total;
    result->has_seq = true;
    result->seq_errors = s_seq_errors (pubs, load->opts->publishers, load->head, total);
    if (sub) {
        result->delivered = sub->delivered;
        result->dup_deliveries = sub->dups;
        result->gaps = sub->gaps;
        result->dropped = sub->dropped;
        result->foreign = sub->foreign;
        result->errors += sub->errors;
        if (sub->failure [0])
            fprintf (stderr, "kreishub-bench: %s subscriber: %s\n", result->name,
                     sub->failure);
    }
}

int
kh_bench_load_run (const kh_bench_load_t *load, kh_bench_result_t *result, uint64_t *go_ns)
{
    int count = load->opts->publishers;
    kh_bench_ids_t ids;
    kh_bench_ids_init (&ids);
    kh_bench_flags_t flags;
    s_publisher_t *pubs = (s_publisher_t *) calloc ((size_t) count, sizeof *pubs);
    s_subscriber_t sub = { .load = load, .flags = &flags, .ids = &ids,
                           .last_seq = load->head };
    int rc = -1;
    *go_ns = 0;
    if (pubs && s_publishers_prepare (load, &flags, &ids, pubs) == 0) {
        sub.id_off = pubs [0].id_off;
        result->msg_size = pubs [0].msg_size;
        for (int p = 0; p < count; p++)
            sub.expected += pubs [p].count;
        kh_bench_workers_t workers = {
            .flags = &flags, .subscriber = load->recv ? s_subscriber : NULL,
            .sub_arg = &sub, .publisher = s_publisher, .pub_args = pubs,
            .pub_size = sizeof *pubs, .count = count
        };
        rc = kh_bench_workers_run (&workers, go_ns);
    }
    if (rc >= 0)                        /* it began: what the workers counted */
        s_collect (load, pubs, load->recv ? &sub : NULL, result);
    else
        fprintf (stderr, "kreishub-bench: %s could not start: %s\n", result->name,
                 sub.failure [0] ? sub.failure : "a worker failed to connect");
    for (int p = 0; pubs && p < count; p++) {
        free (pubs [p].msg);
        if (!load->seqs)
            free (pubs [p].seq);
    }
    free (pubs);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------- ping */

int
kh_bench_ping (const kh_bench_hub_t *hub, uint64_t *head)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return -1;
    zsock_set_linger (dealer, 0);
    kh_bench_secure (hub, dealer, NULL);
    int rc = zsock_connect (dealer, "%s", hub->client) == 0 ? 1 : -1;
    zpoller_t *poller = zpoller_new (dealer, NULL);
    for (int tries = 0; rc == 1 && tries < 20 && !zsys_interrupted; tries++) {
        zstr_send (dealer, KH_CMD_PING);
        if (!zpoller_wait (poller, 500))
            continue;
        zmsg_t *reply = zmsg_recv (dealer);
        zframe_t *name = reply ? zmsg_first (reply) : NULL;
        zframe_t *body = reply ? zmsg_next (reply) : NULL;
        bool recorder = false;
        kh_problem_t why;
        if (name && body && zframe_streq (name, KH_REP_PONG)
        &&  kh_pong_decode (zframe_data (body), zframe_size (body), head, &recorder,
                            &why) == 0 && recorder)
            rc = 0;
        zmsg_destroy (&reply);
        if (rc)
            kh_bench_sleep_ms (200);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    if (rc)
        fprintf (stderr, "kreishub-bench: the broker at %s did not report a recorder "
                 "within 10 s\n", hub->client);
    return rc ? -1 : 0;
}
