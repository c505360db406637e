/*  it_flood.c - one publisher cannot starve the others (PROTOCOL.md sections 2 and
    7), with the real broker and recorder of a secure hub.

    The flooder keeps S_WINDOW publishes in flight, four times what one connection
    may have waiting: it sends a new one for every answer and never waits for any
    particular one. So it is answered BUSY, and without the bound (and the broker's
    round robin and calm, kh_pending.h) thousands of its publishes would stand at the
    recorder before anybody else's. It refills a slot an ACK freed at once; one that
    BUSY freed it sends again at its own pace (1,000/s), so that the
    test weighs how the store is shared, not how two cores are shared with a client
    that loops on BUSY (that is a rate limit's matter).

    The polite publisher sends one publish at a time and awaits each ACK. Its median
    and 90th percentile latency flooded stay within twice those it has alone,
    measured in the same run, in rounds that alternate alone and flooded so that the
    machine's other load weighs on both. Nothing acknowledged, to either, is lost:
    every ACK's seq holds its id in the store. */
#include <pthread.h>
#include <stdatomic.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_broker.h"
#include "kh_codec.h"
#include "kh_harness.h"

#define S_ROUNDS    16          /* alone, then flooded, this many times */
#define S_POLITE    16          /* polite publishes per half-round */
#define S_WINDOW    4096        /* the flooder's publishes in flight */
#define S_RETRY     2           /* slots BUSY freed, sent again every S_PACE_MS */
#define S_PACE_MS   2
#define S_ACKS_MAX  2000000     /* ACKs the flooder remembers, at most */
/* Under AddressSanitizer every step costs several times the CPU, and the flood
   takes the two cores a latency needs: the latencies are printed, not checked. */
#if defined (__SANITIZE_ADDRESS__)
#   define S_TIMED false
#else
#   define S_TIMED true
#endif
#define S_POLITE_FROM "05162004"
#define S_FLOOD_FROM  "05162008"

/* An ACK: which id is stored under which seq. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    uint64_t seq;
} s_ack_t;

/* The flooder's thread and what it tells the test. */
typedef struct {
    zsock_t    *dealer;                 /* moved to the thread */
    msgpack_sbuffer env;                /* its envelope; the id is patched per send */
    size_t      id_at;                  /* where the id lies in env */
    atomic_bool flood;                  /* keep the window full while true */
    atomic_bool stop;
    atomic_long sent, acked, busy, errors;
    long        retry;                  /* slots BUSY freed, not yet sent again */
    s_ack_t    *acks;                   /* acked of them (the thread's until joined) */
} s_flooder_t;

/* Finds the 16 id bytes in envelope (the builder puts them after "id" and a bin 8
   header, 0xc4 0x10). Returns their offset, or 0. */
static size_t
s_id_offset (const msgpack_sbuffer *env, const uint8_t id [KH_ID_SIZE])
{
    for (size_t i = 0; i + KH_ID_SIZE <= env->size; i++)
        if (memcmp (env->data + i, id, KH_ID_SIZE) == 0)
            return i;
    return 0;
}

/* Builds an idea of ~1 KiB from `from` into out with id; returns 0 or -1. */
static int
s_envelope (msgpack_sbuffer *out, const char *from, const uint8_t id [KH_ID_SIZE])
{
    char text [901];
    memset (text, 'f', 900);
    text [900] = 0;
    kh_builder_t *builder = kh_builder_new ("idea");
    int rc = builder && kh_builder_set (builder, "title", "Flut", NULL) == 0
          && kh_builder_set (builder, "description", text, NULL) == 0
          && kh_builder_pack (builder, id, from, kh_now_ms (), out, NULL) == 0 ? 0 : -1;
    kh_builder_destroy (&builder);
    return rc;
}

/* Reads every reply waiting on the flooder's socket. */
static void
s_flooder_read (s_flooder_t *self)
{
    void *handle = zsock_resolve (self->dealer);
    zmsg_t *msg;
    while ((msg = zmsg_recv_nowait (handle)) != NULL) {
        zframe_t *command = zmsg_first (msg), *body = zmsg_next (msg);
        kh_error_reply_t err;
        uint64_t seq;
        bool dup;
        uint8_t id [KH_ID_SIZE];
        if (body && zframe_streq (command, KH_REP_ACK)
        &&  kh_ack_decode (zframe_data (body), zframe_size (body), id, &seq, &dup, NULL) == 0) {
            long n = atomic_fetch_add (&self->acked, 1);
            if (n < S_ACKS_MAX) {
                memcpy (self->acks [n].id, id, KH_ID_SIZE);
                self->acks [n].seq = seq;
            }
        }
        else
        if (body && zframe_streq (command, KH_REP_ERROR)
        &&  kh_error_decode (zframe_data (body), zframe_size (body), &err, NULL) == 0
        &&  err.code == KH_EBUSY) {
            atomic_fetch_add (&self->busy, 1);
            self->retry++;
        }
        else
            atomic_fetch_add (&self->errors, 1);
        zmsg_destroy (&msg);
    }
}

/* Sends one publish (a new id). Returns 0, or -1 if the socket's queue is full. */
static int
s_flooder_send (s_flooder_t *self, void *handle)
{
    kh_id_new ((uint8_t *) self->env.data + self->id_at);
    if (zmq_send (handle, KH_CMD_PUBLISH, strlen (KH_CMD_PUBLISH),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    zmq_send (handle, self->env.data, self->env.size, 0);
    atomic_fetch_add (&self->sent, 1);
    return 0;
}

/* The flooder: while flood is set, keeps S_WINDOW publishes in flight (those BUSY
   refused sent again at S_RETRY per S_PACE_MS); reads every answer; stops on stop. */
static void *
s_flooder_run (void *arg)
{
    s_flooder_t *self = (s_flooder_t *) arg;
    void *handle = zsock_resolve (self->dealer);
    zpoller_t *poller = zpoller_new (self->dealer, NULL);
    int64_t paced = zclock_mono ();
    while (!atomic_load (&self->stop)) {
        s_flooder_read (self);
        long answered = atomic_load (&self->acked) + atomic_load (&self->busy)
                      + atomic_load (&self->errors);
        long room = S_WINDOW - (atomic_load (&self->sent) - answered) - self->retry;
        for (; atomic_load (&self->flood) && room > 0; room--)
            if (s_flooder_send (self, handle))
                break;                  /* its queue is full: read, come again */
        bool due = zclock_mono () - paced >= S_PACE_MS;
        for (int i = 0; atomic_load (&self->flood) && due && i < S_RETRY && self->retry; i++)
            if (s_flooder_send (self, handle) == 0)
                self->retry--;
        if (due)
            paced = zclock_mono ();
        if (!atomic_load (&self->flood))
            self->retry = 0;            /* the next round starts with a full window */
        zpoller_wait (poller, S_PACE_MS);
    }
    s_flooder_read (self);
    zpoller_destroy (&poller);
    return NULL;
}

/* Sorts and returns the p-th percentile of values (count of them). */
static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static int64_t
s_percentile (int64_t *values, int count, int p)
{
    qsort (values, (size_t) count, sizeof *values, s_cmp);
    int rank = (count * p + 99) / 100;
    return count ? values [rank > 0 ? rank - 1 : 0] : 0;
}

/* Publishes count ideas one at a time from client, each awaited: latencies in us
   into lat, ACKs into acks. Returns how many were acknowledged. */
static int
s_polite (kh_client_t *client, int count, int64_t *lat, s_ack_t *acks)
{
    int acked = 0;
    for (int i = 0; i < count; i++) {
        msgpack_sbuffer env;
        msgpack_sbuffer_init (&env);
        uint8_t id [KH_ID_SIZE];
        kh_id_new (id);
        s_envelope (&env, S_POLITE_FROM, id);
        uint64_t seq = 0;
        kh_error_reply_t err;
        int64_t t0 = zclock_usecs ();
        int rc = kh_client_publish (client, env.data, env.size, 10000, 0, &seq, NULL, &err);
        lat [i] = zclock_usecs () - t0;
        if (rc == 0) {
            memcpy (acks [acked].id, id, KH_ID_SIZE);
            acks [acked++].seq = seq;
        }
        msgpack_sbuffer_destroy (&env);
    }
    return acked;
}

/* Waits (5 s at most) until the flood stands: the flooder's window went out, and
   what the broker refused of it (BUSY) came back, so that what it has in flight is
   what its connection may have waiting. The polite publisher goes on publishing
   meanwhile, unmeasured, as a publisher that publishes steadily does. */
static void
s_flood_rising (s_flooder_t *flooder, kh_client_t *client)
{
    int64_t lat [1];
    s_ack_t ack [1];
    long busy = atomic_load (&flooder->busy);
    for (int64_t until = zclock_mono () + 5000; zclock_mono () < until; ) {
        long answered = atomic_load (&flooder->acked) + atomic_load (&flooder->busy)
                      + atomic_load (&flooder->errors);
        long in_flight = atomic_load (&flooder->sent) - answered;
        if (atomic_load (&flooder->busy) > busy
        &&  in_flight <= KH_BROKER_CONNECTION_PENDING + 2 * S_RETRY)
            return;
        s_polite (client, 1, lat, ack);
    }
}

/* Waits until no reply came to the flooder for 300 ms (what it sent is answered). */
static void
s_flood_settle (s_flooder_t *flooder)
{
    long last = -1;
    for (int i = 0; i < 100; i++) {
        long now = atomic_load (&flooder->acked) + atomic_load (&flooder->busy)
                 + atomic_load (&flooder->errors);
        if (now == last)
            return;
        last = now;
        zclock_sleep (300);
    }
}

/* The store as a map seq -> id, for checking ACKs. */
typedef struct {
    uint8_t (*ids) [KH_ID_SIZE];
    uint64_t max;
} s_log_t;

static int
s_log_record (const kh_record_t *rec, void *arg)
{
    s_log_t *log = (s_log_t *) arg;
    kh_envelope_t env;
    bool has_id;
    if (rec->info.seq < log->max
    &&  kh_envelope_check (rec->msg, rec->msg_size, &env, &has_id, NULL) == 0)
        memcpy (log->ids [rec->info.seq], env.id, KH_ID_SIZE);
    return 0;
}

/* Counts the ACKs (count of them) whose seq does not hold their id in log. */
static long
s_lost (const s_log_t *log, const s_ack_t *acks, long count)
{
    long lost = 0;
    for (long i = 0; i < count; i++)
        lost += acks [i].seq >= log->max
             || memcmp (log->ids [acks [i].seq], acks [i].id, KH_ID_SIZE) != 0;
    return lost;
}

int
main (void)
{
    kh_hub_t hub;
    if (kh_hub_start (&hub, NULL, NULL)) {
        KH_CHECK ("the hub starts", false, "see above");
        return kh_check_done ("it_flood");
    }
    kh_hub_cert (&hub, S_FLOOD_FROM);
    kh_client_t *client = kh_hub_client (&hub, S_POLITE_FROM);
    s_flooder_t flooder = { .dealer = kh_hub_dealer (&hub, S_FLOOD_FROM) };
    flooder.acks = (s_ack_t *) calloc (S_ACKS_MAX, sizeof *flooder.acks);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer_init (&flooder.env);
    if (!client || !flooder.dealer || !flooder.acks || s_envelope (&flooder.env, S_FLOOD_FROM, id)
    ||  (flooder.id_at = s_id_offset (&flooder.env, id)) == 0) {
        KH_CHECK ("the publishers are made", false, "not made");
        return kh_check_done ("it_flood");
    }
    zsock_set_rcvhwm (flooder.dealer, 100000);
    pthread_t thread;
    pthread_create (&thread, NULL, s_flooder_run, &flooder);

    int64_t alone [S_ROUNDS * S_POLITE], flooded [S_ROUNDS * S_POLITE];
    s_ack_t polite_acks [2 * S_ROUNDS * S_POLITE];
    int polite_acked = 0, alone_acked = 0, flooded_acked = 0;
    s_polite (client, 20, alone, polite_acks);          /* warm up: connections, caches */
    for (int round = 0; round < S_ROUNDS; round++) {
        s_flood_settle (&flooder);
        int n = s_polite (client, S_POLITE, alone + round * S_POLITE,
                          polite_acks + polite_acked);
        alone_acked += n;
        polite_acked += n;
        atomic_store (&flooder.flood, true);
        s_flood_rising (&flooder, client);
        n = s_polite (client, S_POLITE, flooded + round * S_POLITE,
                      polite_acks + polite_acked);
        flooded_acked += n;
        polite_acked += n;
        atomic_store (&flooder.flood, false);
    }
    atomic_store (&flooder.stop, true);
    pthread_join (thread, NULL);
    s_flood_settle (&flooder);

    int count = S_ROUNDS * S_POLITE;
    int64_t a50 = s_percentile (alone, count, 50), a90 = s_percentile (alone, count, 90);
    int64_t f50 = s_percentile (flooded, count, 50), f90 = s_percentile (flooded, count, 90);
    long sent = atomic_load (&flooder.sent), acked = atomic_load (&flooder.acked);
    long busy = atomic_load (&flooder.busy), errors = atomic_load (&flooder.errors);
    printf ("polite alone: p50 %lld us, p90 %lld us; flooded: p50 %lld us, p90 %lld us "
            "(x%.2f, x%.2f)\nflooder: %ld sent, %ld acked, %ld BUSY, %ld other replies\n",
            (long long) a50, (long long) a90, (long long) f50, (long long) f90,
            a50 ? (double) f50 / a50 : 0, a90 ? (double) f90 / a90 : 0, sent, acked, busy,
            errors);
    KH_CHECK ("every polite publish is acknowledged, alone and flooded",
              alone_acked == count && flooded_acked == count, "%d and %d of %d",
              alone_acked, flooded_acked, count);
    KH_CHECK ("the flooder is answered BUSY", busy > 0 && acked > 0, "%ld BUSY, %ld acked",
              busy, acked);
    KH_CHECK ("the flooder's other publishes are stored: no error but BUSY", errors == 0,
              "%ld other errors", errors);
    KH_CHECK ("flooded, the polite publisher's median latency stays within 2x of alone",
              !S_TIMED || f50 <= 2 * a50, "%lld us against %lld us", (long long) f50, (long long) a50);
    KH_CHECK ("flooded, its 90th percentile stays within 2x of alone",
              !S_TIMED || f90 <= 2 * a90,
              "%lld us against %lld us", (long long) f90, (long long) a90);

    uint64_t head = 0;
    kh_client_ping (client, 5000, &head, NULL);
    s_log_t log = { .ids = calloc (head + 1, KH_ID_SIZE), .max = head + 1 };
    kh_query_t query = { .since_seq = 1 };
    int rc = log.ids ? kh_client_query (client, &query, 0, 10000, s_log_record, &log) : -1;
    long lost = rc == 0 ? s_lost (&log, polite_acks, polite_acked)
                          + s_lost (&log, flooder.acks, acked < S_ACKS_MAX ? acked : S_ACKS_MAX)
                        : -1;
    KH_CHECK ("nothing acknowledged is lost: each ACK's seq holds its id", lost == 0,
              "%ld lost (query rc %d, head %llu)", lost, rc, (unsigned long long) head);
    free (log.ids);
    free (flooder.acks);
    msgpack_sbuffer_destroy (&flooder.env);
    zsock_destroy (&flooder.dealer);
    kh_client_destroy (&client);
    KH_CHECK ("the hub stops cleanly", kh_hub_stop (&hub, false) == 0, "it did not");
    return kh_check_done ("it_flood");
}
