/*  kh_bench_nats.c - W1, W2 and W3 against NATS JetStream, for comparison: a
    nats-server -js of our own on a free loopback port with file storage in a
    temporary directory, one stream over kh.bench.>, publishers with async publish
    and at most --window acks pending (each its own connection), one push consumer
    (ack none) read through a synchronous subscription; the replay is a new consumer
    from the stream's first message.

    Not the same guarantee: nats-server 2.9 acknowledges a publish once the message
    is written to its store file, without an fsync (its file store syncs on a timer;
    the sync_interval setting, "always" included, came with 2.10 and 2.9.10 refuses
    it); kreishub with --sync full fsyncs before its ACK. */
#include "kh_bench.h"

#ifndef KH_HAVE_NATS

int
kh_bench_nats (const kh_bench_opts_t *opts, kh_bench_nats_t *result)
{
    printf ("\nNATS comparison: not built in (libnats was not found at build time)\n");
    return 1;
}

#else

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nats/nats.h>

#define S_STREAM    "KHBENCH"
#define S_SUBJECTS  "kh.bench.>"            /* publisher p publishes to kh.bench.<p> */
#define S_QUIET_MS  3000
#define S_PAGE_MS   10000                   /* the replay waits this long for a message */

/* One publisher thread; the ack handler runs on the library's thread and writes
   acked [], n_acked (last), errors and dup_acks only. */
typedef struct {
    const kh_bench_opts_t *opts;
    kh_bench_flags_t *flags;
    const char *url;
    int        pub;
    uint32_t   count;
    uint32_t   rate;                    /* msgs/s; 0: as fast as the window lets */
    bool       one_at_a_time;           /* js_Publish, waiting for each ack */
    uint8_t   *payload;                 /* opts->size bytes; [0..7] publisher, index */
    uint64_t  *sent, *acked;            /* [index] ns */
    atomic_uint_fast64_t n_acked;
    atomic_uint_fast64_t errors, dup_acks;
    char       failure [KH_BENCH_FAILURE_MAX];
} s_npub_t;

/* The consumer thread. */
typedef struct {
    kh_bench_flags_t *flags;
    const char *url;
    int        publishers;
    const uint32_t *per_pub;
    uint64_t **recv;                    /* [pub][index] ns */
    uint64_t   expected;
    uint64_t   delivered, dups, foreign;
    char       failure [KH_BENCH_FAILURE_MAX];
} s_nsub_t;

/* What the runs share: the server and its URL, and the stream's last sequence. */
typedef struct {
    const kh_bench_opts_t *opts;
    kh_bench_daemon_t server;
    char       url [64];
    uint64_t   head;                    /* messages in the stream */
} s_nats_t;

/* Says in failure what status s (from what) means, with the library's last error. */
static void
s_why (char *failure, const char *what, natsStatus s)
{
    snprintf (failure, KH_BENCH_FAILURE_MAX, "%s: %s (%s)", what, natsStatus_GetText (s),
              nats_GetLastError (NULL) ? nats_GetLastError (NULL) : "");
}

/* Reads publisher and index from the first 8 bytes of a payload. Returns 0, or -1
   if it is shorter. */
static int
s_ident (const char *data, int len, int *pub, uint32_t *index)
{
    if (len < 8)
        return -1;
    memcpy (pub, data, sizeof *pub);
    memcpy (index, data + 4, sizeof *index);
    return 0;
}

/* ------------------------------------------------------------ publishers */

/* The ack (or error) of an async publish, on the library's thread. */
static void
s_on_ack (jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    s_npub_t *self = (s_npub_t *) closure;
    uint64_t now = kh_bench_now_ns ();
    int pub;
    uint32_t index;
    if (!pa || pae
    ||  s_ident (natsMsg_GetData (msg), natsMsg_GetDataLength (msg), &pub, &index)
    ||  pub != self->pub || index >= self->count)
        atomic_fetch_add (&self->errors, 1);
    else
    if (self->acked [index])
        atomic_fetch_add (&self->dup_acks, 1);
    else {
        self->acked [index] = now;
        atomic_fetch_add (&self->n_acked, 1);
    }
    natsMsg_Destroy (msg);
}

/* Publishes message index, async or waiting for its ack. Returns the status. */
static natsStatus
s_publish (s_npub_t *self, jsCtx *js, const char *subject, uint32_t index)
{
    memcpy (self->payload, &self->pub, sizeof self->pub);
    memcpy (self->payload + 4, &index, sizeof index);
    self->sent [index] = kh_bench_now_ns ();
    if (!self->one_at_a_time)
        return js_PublishAsync (js, subject, self->payload, (int) self->opts->size, NULL);
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_Publish (&pa, js, subject, self->payload, (int) self->opts->size,
                               NULL, &jerr);
    if (s == NATS_OK) {
        self->acked [index] = kh_bench_now_ns ();
        atomic_fetch_add (&self->n_acked, 1);
    }
    jsPubAck_Destroy (pa);
    return s;
}

/* Sleeps until message next is due if the run is paced. */
static void
s_pace (const s_npub_t *self, uint64_t start, uint32_t next)
{
    if (!self->rate)
        return;
    uint64_t due = start + (uint64_t) next * 1000000000u / self->rate;
    uint64_t now = kh_bench_now_ns ();
    if (due > now) {
        struct timespec ts = { (time_t) ((due - now) / 1000000000u),
                               (long) ((due - now) % 1000000000u) };
        nanosleep (&ts, NULL);
    }
}

/* Publishes every message, then waits for the outstanding acks. */
static void
s_publish_all (s_npub_t *self, jsCtx *js)
{
    char subject [32];
    snprintf (subject, sizeof subject, "kh.bench.%d", self->pub);
    uint64_t start = kh_bench_now_ns ();
    for (uint32_t next = 0; next < self->count; next++) {
        if (kh_bench_stopping (self->flags)) {
            snprintf (self->failure, KH_BENCH_FAILURE_MAX, "stopped at %u", next);
            return;
        }
        s_pace (self, start, next);
        natsStatus s = s_publish (self, js, subject, next);
        if (s != NATS_OK) {
            s_why (self->failure, "publish", s);
            atomic_store (&self->flags->abort, true);
            return;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init (&po);
    po.MaxWait = (int64_t) self->opts->timeout_s * 1000;
    natsStatus s = self->one_at_a_time ? NATS_OK : js_PublishAsyncComplete (js, &po);
    /* The last handler may still be running when the pending count reaches 0. */
    for (int waited = 0; atomic_load (&self->n_acked) + atomic_load (&self->errors)
                         < self->count && waited < KH_BENCH_STALL_MS; waited++)
        kh_bench_sleep_ms (1);
    if (s != NATS_OK)
        s_why (self->failure, "waiting for the acks", s);
}

static void *
s_publisher (void *arg)
{
    s_npub_t *self = (s_npub_t *) arg;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    jsOptions_Init (&jo);
    jo.PublishAsync.MaxPending = self->opts->window;
    jo.PublishAsync.AckHandler = s_on_ack;
    jo.PublishAsync.AckHandlerClosure = self;
    jo.PublishAsync.StallWait = KH_BENCH_STALL_MS;
    natsStatus s = natsConnection_ConnectTo (&nc, self->url);
    if (s == NATS_OK)
        s = natsConnection_JetStream (&js, nc, &jo);
    if (s != NATS_OK) {
        s_why (self->failure, "connect", s);
        atomic_store (&self->flags->abort, true);
    }
    else
    if (kh_bench_wait_go (self->flags))
        s_publish_all (self, js);
    jsCtx_Destroy (js);
    natsConnection_Destroy (nc);
    return NULL;
}

/* ------------------------------------------------------------- consumer */

/* Subscribes a push consumer without acks to the stream, from its first message
   (all) or from the next one. Returns the status. */
static natsStatus
s_consumer (natsConnection *nc, jsCtx **js, natsSubscription **sub, bool all)
{
    jsSubOptions so;
    jsSubOptions_Init (&so);
    so.Stream = S_STREAM;
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = all ? js_DeliverAll : js_DeliverNew;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_JetStream (js, nc, NULL);
    if (s == NATS_OK)
        s = js_SubscribeSync (sub, *js, S_SUBJECTS, NULL, &so, &jerr);
    if (s == NATS_OK)                   /* never drop on our side */
        s = natsSubscription_SetPendingLimits (*sub, -1, -1);
    return s;
}

/* Counts one delivered message. */
static void
s_on_message (s_nsub_t *self, natsMsg *msg, uint64_t now)
{
    int pub;
    uint32_t index;
    if (s_ident (natsMsg_GetData (msg), natsMsg_GetDataLength (msg), &pub, &index)
    ||  pub < 0 || pub >= self->publishers || index >= self->per_pub [pub])
        self->foreign++;
    else
    if (self->recv [pub][index])
        self->dups++;
    else {
        self->recv [pub][index] = now;
        self->delivered++;
    }
}

/* Reads until every expected message came, or nothing came for S_QUIET_MS after the
   publishers finished. */
static void
s_consume_all (s_nsub_t *self, natsSubscription *sub)
{
    uint64_t last = kh_bench_now_ns ();
    while (self->delivered < self->expected && !kh_bench_stopping (self->flags)) {
        natsMsg *msg = NULL;
        natsStatus s = natsSubscription_NextMsg (&msg, sub, 100);
        uint64_t now = kh_bench_now_ns ();
        if (s == NATS_OK) {
            s_on_message (self, msg, now);
            natsMsg_Destroy (msg);
            last = now;
        }
        else
        if (s != NATS_TIMEOUT) {
            s_why (self->failure, "next message", s);
            atomic_store (&self->flags->abort, true);
        }
        else
        if (atomic_load (&self->flags->publishers_done)
        &&  now - last > (uint64_t) S_QUIET_MS * 1000000u) {
            snprintf (self->failure, KH_BENCH_FAILURE_MAX, "nothing more came for %d s",
                      S_QUIET_MS / 1000);
            return;
        }
    }
}

static void *
s_subscriber (void *arg)
{
    s_nsub_t *self = (s_nsub_t *) arg;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_ConnectTo (&nc, self->url);
    if (s == NATS_OK)
        s = s_consumer (nc, &js, &sub, false);
    if (s != NATS_OK) {
        s_why (self->failure, "consumer", s);
        atomic_store (&self->flags->abort, true);
    }
    else
    if (kh_bench_wait_go (self->flags))
        s_consume_all (self, sub);
    if (sub)
        natsSubscription_Unsubscribe (sub);
    natsSubscription_Destroy (sub);
    jsCtx_Destroy (js);
    natsConnection_Destroy (nc);
    return NULL;
}

/* ------------------------------------------------------------- the runs */

/* Runs pubs publishers (of total messages, paced at rate each if not 0, one at a
   time if single) with a consumer if with_sub; prints and fills result, and
   *send_rate (if not NULL) with the msgs/s the first publisher sent at. Returns 0
   if every count was exact. */
static int
s_run (s_nats_t *nats, int pubs, uint64_t total, uint32_t rate, bool single,
       bool with_sub, kh_bench_result_t *result, double *send_rate)
{
    kh_bench_times_t times;
    if (kh_bench_times_init (&times, pubs, total, with_sub))
        return -1;
    kh_bench_flags_t flags;
    s_npub_t *pub = (s_npub_t *) calloc ((size_t) pubs, sizeof *pub);
    s_nsub_t sub = { .flags = &flags, .url = nats->url, .publishers = pubs,
                     .per_pub = times.per_pub, .recv = times.recv, .expected = total };
    int rc = pub ? 0 : -1;
    for (int p = 0; rc == 0 && p < pubs; p++) {
        s_npub_t *self = &pub [p];
        *self = (s_npub_t) { .opts = nats->opts, .flags = &flags, .url = nats->url,
                             .pub = p, .count = times.per_pub [p], .rate = rate,
                             .one_at_a_time = single, .sent = times.sent [p],
                             .acked = times.acked [p] };
        self->payload = (uint8_t *) calloc (nats->opts->size, 1);
        rc = self->payload ? 0 : -1;
        if (rc == 0)
            memset (self->payload + 8, 'x', nats->opts->size - 8);
    }
    uint64_t go_ns = 0;
    if (rc == 0) {
        kh_bench_workers_t workers = {
            .flags = &flags, .subscriber = with_sub ? s_subscriber : NULL, .sub_arg = &sub,
            .publisher = s_publisher, .pub_args = pub, .pub_size = sizeof *pub,
            .count = pubs
        };
        rc = kh_bench_workers_run (&workers, &go_ns) ? -1 : 0;
    }
    *result = (kh_bench_result_t) { .name = result->name, .msg_size = nats->opts->size };
    for (int p = 0; pub && p < pubs; p++) {
        result->expected += pub [p].count;
        result->acked += atomic_load (&pub [p].n_acked);
        result->errors += atomic_load (&pub [p].errors);
        result->dup_acks += atomic_load (&pub [p].dup_acks);
        if (pub [p].failure [0])
            fprintf (stderr, "kreishub-bench: %s publisher %d: %s\n", result->name, p,
                     pub [p].failure);
        free (pub [p].payload);
    }
    free (pub);
    result->delivered = with_sub ? sub.delivered : result->acked;
    result->dup_deliveries = sub.dups;
    result->foreign = sub.foreign;
    if (sub.failure [0])
        fprintf (stderr, "kreishub-bench: %s consumer: %s\n", result->name, sub.failure);
    nats->head += result->acked;
    uint32_t n = times.per_pub [0];
    uint64_t first = times.sent [0][0], last = times.sent [0][n ? n - 1 : 0];
    if (send_rate)
        *send_rate = n > 1 && first && last > first
                   ? (double) (n - 1) * 1e9 / (double) (last - first) : 0;
    if (with_sub)
        rc = kh_bench_conclude (result, &times, go_ns, rc);
    else
    if (go_ns)
        kh_bench_summarise (result, pubs, times.per_pub, go_ns, times.sent, times.acked,
                            NULL);
    kh_bench_times_free (&times);
    return rc == 0 && (with_sub || result->ok) ? 0 : -1;
}

/* Reads count messages from the stream's first through a new consumer, checking that
   their stream sequences are 1 .. count. Sets *rate. Returns 0 if exactly that. */
static int
s_replay (s_nats_t *nats, uint64_t count, double *rate)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    uint64_t rows = 0, out_of_order = 0, t0 = kh_bench_now_ns ();
    natsStatus s = natsConnection_ConnectTo (&nc, nats->url);
    if (s == NATS_OK)
        s = s_consumer (nc, &js, &sub, true);
    while (s == NATS_OK && rows < count && !zsys_interrupted) {
        natsMsg *msg = NULL;
        jsMsgMetaData *meta = NULL;
        s = natsSubscription_NextMsg (&msg, sub, S_PAGE_MS);
        if (s == NATS_OK)
            s = natsMsg_GetMetaData (&meta, msg);
        if (s == NATS_OK && meta->Sequence.Stream != ++rows)
            out_of_order++;
        jsMsgMetaData_Destroy (meta);
        natsMsg_Destroy (msg);
    }
    double secs = (double) (kh_bench_now_ns () - t0) / 1e9;
    char why [KH_BENCH_FAILURE_MAX] = "";
    if (s != NATS_OK)
        s_why (why, "replay", s);
    if (sub)
        natsSubscription_Unsubscribe (sub);
    natsSubscription_Destroy (sub);
    jsCtx_Destroy (js);
    natsConnection_Destroy (nc);
    bool ok = rows == count && out_of_order == 0 && s == NATS_OK;
    *rate = ok && secs > 0 ? (double) rows / secs : 0;
    printf ("  consumer       %8llu/%llu rows in %6.2f s = %9.0f msgs/s, out of order %llu: "
            "%s %s\n", (unsigned long long) rows, (unsigned long long) count, secs,
            secs > 0 ? (double) rows / secs : 0, (unsigned long long) out_of_order,
            ok ? "OK" : "FAILED", why);
    printf ("RESULT NATS-W2 rows=%llu expected=%llu msgs_per_s=%.0f ok=%d\n",
            (unsigned long long) rows, (unsigned long long) count, *rate, ok);
    return ok ? 0 : -1;
}

/* Starts nats-server -js on a free loopback port with its store in a new temporary
   directory. Returns 0, 1 if it is not installed, -1 on other failures. */
static int
s_server_start (s_nats_t *nats)
{
    const char *exe = kh_bench_which ("nats-server");
    if (!exe)
        return 1;
    if (kh_bench_daemon_prepare (&nats->server, "nats"))
        return -1;
    char port [16], store [96];
    snprintf (port, sizeof port, "%d", nats->server.port);
    snprintf (store, sizeof store, "%s/store", nats->server.dir);
    snprintf (nats->url, sizeof nats->url, "nats://127.0.0.1:%d", nats->server.port);
    const char *argv [] = { exe, "-js", "-a", "127.0.0.1", "-p", port, "-sd", store, NULL };
    return kh_bench_daemon_start (&nats->server, argv);
}

/* Makes the stream: file storage, one replica, kh.bench.>. Returns 0, or -1. */
static int
s_stream_add (s_nats_t *nats)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    const char *subjects [] = { S_SUBJECTS };
    jsStreamConfig cfg;
    jsStreamConfig_Init (&cfg);
    cfg.Name = S_STREAM;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    natsStatus s = natsConnection_ConnectTo (&nc, nats->url);
    if (s == NATS_OK)
        s = natsConnection_JetStream (&js, nc, NULL);
    if (s == NATS_OK)
        s = js_AddStream (&si, js, &cfg, NULL, &jerr);
    if (s != NATS_OK) {
        char why [KH_BENCH_FAILURE_MAX];
        s_why (why, "adding the stream", s);
        fprintf (stderr, "kreishub-bench: NATS: %s\n", why);
    }
    jsStreamInfo_Destroy (si);
    jsCtx_Destroy (js);
    natsConnection_Destroy (nc);
    return s == NATS_OK ? 0 : -1;
}

/* W3 against NATS: one publisher paced, then single publishes one at a time. */
static int
s_w3 (s_nats_t *nats, kh_bench_w3_t *w3)
{
    const kh_bench_opts_t *opts = nats->opts;
    uint32_t count = opts->rate * opts->seconds;
    printf ("\nNATS W3 latency: 1 publisher paced at %u msgs/s for %u s, max pending %u, "
            "one consumer\n", opts->rate, opts->seconds, opts->window);
    w3->paced.name = "NATS-W3-paced";
    w3->rtt.name = "NATS-W3-rtt";
    int rc = s_run (nats, 1, count, opts->rate, false, true, &w3->paced, &w3->send_rate);
    printf ("  the publisher reached %.0f msgs/s of %u: %s\n", w3->send_rate, opts->rate,
            w3->send_rate >= 0.99 * opts->rate ? "the rate held" : "the rate did NOT hold");
    printf ("\nNATS W3 round trip: %u single publishes one at a time (js_Publish)\n",
            opts->rtt_messages);
    if (s_run (nats, 1, opts->rtt_messages, 0, true, true, &w3->rtt, NULL))
        rc = -1;
    w3->ok = rc == 0;
    return rc;
}

/* Runs W1, W2 and W3 as opts ask against the server. Returns 0 if all passed. */
static int
s_workloads (s_nats_t *nats, kh_bench_nats_t *result)
{
    const kh_bench_opts_t *opts = nats->opts;
    int rc = 0;
    if (opts->w1) {
        printf ("\nNATS W1: %d publishers x %u messages of %u bytes, async publish with at "
                "most %u pending, one push consumer (ack none)\n", opts->publishers,
                opts->messages, opts->size, opts->window);
        result->w1.name = "NATS-W1";
        if (s_run (nats, opts->publishers, (uint64_t) opts->publishers * opts->messages, 0,
                   false, true, &result->w1, NULL))
            rc = -1;
    }
    if (opts->w2 && !zsys_interrupted) {
        printf ("\nNATS W2 replay: %u messages from the stream's first, one new consumer\n",
                opts->replay);
        kh_bench_result_t fill = { .name = "NATS-W2-fill" };
        if (nats->head < opts->replay) {
            printf ("  the stream holds %llu; publishing %llu more first\n",
                    (unsigned long long) nats->head,
                    (unsigned long long) (opts->replay - nats->head));
            if (s_run (nats, opts->publishers, opts->replay - nats->head, 0, false, false,
                       &fill, NULL))
                rc = -1;
        }
        if (rc == 0 && s_replay (nats, opts->replay, &result->w2_rate))
            rc = -1;
    }
    if (opts->w3 && !zsys_interrupted && s_w3 (nats, &result->w3))
        rc = -1;
    return rc;
}

int
kh_bench_nats (const kh_bench_opts_t *opts, kh_bench_nats_t *result)
{
    printf ("\nNATS comparison: nats-server -js, file storage, no TLS\n");
    s_nats_t nats = { .opts = opts };
    int rc = s_server_start (&nats);
    if (rc == 1) {
        printf ("  nats-server is not installed (apt-get install nats-server): skipped\n");
        return 1;
    }
    if (rc == 0 && nats_Open (-1) != NATS_OK)
        rc = -1;
    if (rc == 0)
        rc = s_stream_add (&nats);
    if (rc == 0)
        rc = s_workloads (&nats, result);
    nats_CloseAndWait (5000);
    kh_bench_daemon_stop (&nats.server, rc != 0 || opts->keep);
    if (rc || opts->keep)
        printf ("  nats-server's directory kept: %s\n", nats.server.dir);
    return rc;
}

#endif
