/*  kh_bench_mqtt.c - W1's load against Mosquitto at QoS 1, for comparison: a broker
    process of our own on a free loopback port, publisher threads with a window of
    unacknowledged publishes (PUBACK frees a slot), one QoS 1 subscriber.

    Not the same guarantee: kreishub acknowledges after an fsync'd commit, Mosquitto
    after the message reached its memory (persistence is off, as by default). */
#include "kh_bench.h"

#ifndef KH_HAVE_MOSQUITTO

int
kh_bench_mqtt (const kh_bench_opts_t *opts, kh_bench_result_t *result)
{
    printf ("\nMQTT comparison: not built in (libmosquitto was not found at build time)\n");
    return 1;
}

#else

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include <mosquitto.h>

#define S_TOPIC         "kh/bench/"     /* publisher p publishes to kh/bench/<p> */
#define S_QUIET_MS      3000
#define S_MID_MAX       65536           /* MQTT packet ids are 16 bits */

/* One publisher thread. */
typedef struct {
    const kh_bench_opts_t *opts;
    kh_bench_flags_t *flags;
    int        port;
    int        pub;
    uint32_t   count;
    uint8_t   *payload;                 /* opts->size bytes; [0..7] publisher, index */
    uint64_t  *sent, *acked;            /* [index] ns */
    uint32_t  *mid_index;               /* [mid] index of the message in flight */
    uint32_t   inflight;
    int        connack;                 /* -1 until CONNACK, then its code */
    uint64_t   deadline;
    /* Results, read after join. */
    uint64_t   n_acked, errors, dup_acks;
    char       failure [KH_BENCH_FAILURE_MAX];
} s_mpub_t;

/* The subscriber thread. */
typedef struct {
    const kh_bench_opts_t *opts;
    kh_bench_flags_t *flags;
    int        port;
    const uint32_t *per_pub;
    uint64_t **recv;                    /* [pub][index] ns */
    uint64_t   expected;
    int        connack;
    bool       subscribed;
    uint64_t   deadline;
    uint64_t   delivered, dups, foreign;
    char       failure [KH_BENCH_FAILURE_MAX];
} s_msub_t;

/* ------------------------------------------------------------ the broker */

/* Writes a minimal configuration and starts mosquitto on it. Returns 0 when it
   listens, 1 if mosquitto is not installed, -1 on other failures. */
static int
s_broker_start (const kh_bench_opts_t *opts, kh_bench_daemon_t *broker)
{
    const char *exe = kh_bench_which ("mosquitto");
    if (!exe)
        return 1;
    if (kh_bench_daemon_prepare (broker, "mosquitto"))
        return -1;
    char conf [128];
    snprintf (conf, sizeof conf, "%s/mosquitto.conf", broker->dir);
    FILE *file = fopen (conf, "w");
    if (!file)
        return -1;
    /* Outgoing QoS 1 window to the subscriber as large as the publishers' window,
       and a queue deep enough that the broker never drops for a slow subscriber. */
    fprintf (file, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
             "max_inflight_messages %u\nmax_queued_messages 10000000\n"
             "log_type error\nlog_type warning\n", broker->port, opts->window);
    fclose (file);
    const char *argv [] = { exe, "-c", conf, NULL };
    return kh_bench_daemon_start (broker, argv);
}

/* ------------------------------------------------------------ clients */

/* Creates a client that calls back with obj, connects it and runs its loop until
   CONNACK (*connack set by the connect callback). Returns it, or NULL after setting
   failure. */
static struct mosquitto *
s_client (int port, void *obj, int *connack, char *failure,
          void (*on_connect) (struct mosquitto *, void *, int))
{
    struct mosquitto *mosq = mosquitto_new (NULL, true, obj);
    if (!mosq) {
        snprintf (failure, KH_BENCH_FAILURE_MAX, "mosquitto_new failed");
        return NULL;
    }
    mosquitto_connect_callback_set (mosq, on_connect);
    int rc = mosquitto_connect (mosq, "127.0.0.1", port, 60);
    for (int waited = 0; rc == MOSQ_ERR_SUCCESS && *connack < 0 && waited < 5000;
         waited += 100)
        rc = mosquitto_loop (mosq, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS || *connack != 0) {
        snprintf (failure, KH_BENCH_FAILURE_MAX, "cannot connect to mosquitto on port %d: %s",
                  port, rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror (rc)
                                               : mosquitto_connack_string (*connack));
        mosquitto_destroy (mosq);
        return NULL;
    }
    return mosq;
}

static void
s_pub_connected (struct mosquitto *mosq, void *obj, int rc)
{
    ((s_mpub_t *) obj)->connack = rc;
}

/* PUBACK for mid: the message is acknowledged, a window slot is free. */
static void
s_pub_acked (struct mosquitto *mosq, void *obj, int mid)
{
    s_mpub_t *self = (s_mpub_t *) obj;
    if (mid < 0 || mid >= S_MID_MAX || self->mid_index [mid] == UINT32_MAX) {
        self->errors++;
        return;
    }
    uint32_t index = self->mid_index [mid];
    self->mid_index [mid] = UINT32_MAX;
    if (self->acked [index])
        self->dup_acks++;
    else {
        self->acked [index] = kh_bench_now_ns ();
        self->n_acked++;
    }
    self->inflight--;
}

/* Publishes every message with at most window unacknowledged. */
static void
s_pub_all (s_mpub_t *self, struct mosquitto *mosq)
{
    char topic [32];
    snprintf (topic, sizeof topic, S_TOPIC "%d", self->pub);
    uint32_t next = 0;
    uint64_t last_ack = kh_bench_now_ns (), acked_before = 0;
    while (self->n_acked < self->count) {
        if (kh_bench_stopping (self->flags)) {
            snprintf (self->failure, KH_BENCH_FAILURE_MAX, "stopped with %llu acked",
                      (unsigned long long) self->n_acked);
            return;
        }
        while (self->inflight < self->opts->window && next < self->count) {
            memcpy (self->payload, &self->pub, sizeof self->pub);
            memcpy (self->payload + 4, &next, sizeof next);
            int mid = 0;
            self->sent [next] = kh_bench_now_ns ();
            int rc = mosquitto_publish (mosq, &mid, topic, (int) self->opts->size,
                                        self->payload, 1, false);
            if (rc != MOSQ_ERR_SUCCESS || mid < 0 || mid >= S_MID_MAX) {
                kh_bench_fail (self->flags, self->failure, "publish failed: %s",
                        mosquitto_strerror (rc));
                return;
            }
            self->mid_index [mid] = next++;
            self->inflight++;
        }
        int rc = mosquitto_loop (mosq, 100, 1);
        uint64_t now = kh_bench_now_ns ();
        if (rc != MOSQ_ERR_SUCCESS) {
            kh_bench_fail (self->flags, self->failure, "loop failed: %s", mosquitto_strerror (rc));
            return;
        }
        if (self->n_acked != acked_before) {
            acked_before = self->n_acked;
            last_ack = now;
        }
        if (now - last_ack > (uint64_t) KH_BENCH_STALL_MS * 1000000u) {
            kh_bench_fail (self->flags, self->failure, "no PUBACK for %d s with %u in flight",
                    KH_BENCH_STALL_MS / 1000, self->inflight);
            return;
        }
        if (now > self->deadline) {
            kh_bench_fail (self->flags, self->failure, "timed out with %llu of %u acked",
                    (unsigned long long) self->n_acked, self->count);
            return;
        }
    }
}

static void *
s_publisher (void *arg)
{
    s_mpub_t *self = (s_mpub_t *) arg;
    struct mosquitto *mosq = s_client (self->port, self, &self->connack, self->failure,
                                       s_pub_connected);
    if (!mosq) {
        atomic_store (&self->flags->abort, true);
        return NULL;
    }
    mosquitto_publish_callback_set (mosq, s_pub_acked);
    mosquitto_max_inflight_messages_set (mosq, self->opts->window);
    if (kh_bench_wait_go (self->flags)) {
        self->deadline = kh_bench_now_ns () + (uint64_t) self->opts->timeout_s * 1000000000u;
        s_pub_all (self, mosq);
    }
    mosquitto_disconnect (mosq);
    mosquitto_destroy (mosq);
    return NULL;
}

static void
s_sub_connected (struct mosquitto *mosq, void *obj, int rc)
{
    ((s_msub_t *) obj)->connack = rc;
}

static void
s_sub_subscribed (struct mosquitto *mosq, void *obj, int mid, int count, const int *qos)
{
    s_msub_t *self = (s_msub_t *) obj;
    self->subscribed = count == 1 && qos [0] == 1;
    if (!self->subscribed)
        kh_bench_fail (self->flags, self->failure, "subscription refused or not at QoS 1");
}

static void
s_sub_message (struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    s_msub_t *self = (s_msub_t *) obj;
    uint64_t now = kh_bench_now_ns ();
    int pub;
    uint32_t index;
    if (msg->payloadlen < 8) {
        self->foreign++;
        return;
    }
    memcpy (&pub, msg->payload, sizeof pub);
    memcpy (&index, (const uint8_t *) msg->payload + 4, sizeof index);
    if (pub < 0 || pub >= self->opts->publishers || index >= self->per_pub [pub])
        self->foreign++;
    else
    if (self->recv [pub][index])
        self->dups++;
    else {
        self->recv [pub][index] = now;
        self->delivered++;
    }
}

static void *
s_subscriber (void *arg)
{
    s_msub_t *self = (s_msub_t *) arg;
    struct mosquitto *mosq = s_client (self->port, self, &self->connack, self->failure,
                                       s_sub_connected);
    if (!mosq) {
        atomic_store (&self->flags->abort, true);
        return NULL;
    }
    mosquitto_subscribe_callback_set (mosq, s_sub_subscribed);
    mosquitto_message_callback_set (mosq, s_sub_message);
    int rc = mosquitto_subscribe (mosq, NULL, S_TOPIC "#", 1);
    for (int waited = 0; rc == MOSQ_ERR_SUCCESS && !self->subscribed && waited < 5000
                         && !kh_bench_stopping (self->flags); waited += 100)
        rc = mosquitto_loop (mosq, 100, 1);
    if (!self->subscribed)
        kh_bench_fail (self->flags, self->failure, "no SUBACK: %s", mosquitto_strerror (rc));
    else
    if (kh_bench_wait_go (self->flags)) {
        self->deadline = kh_bench_now_ns () + (uint64_t) self->opts->timeout_s * 1000000000u;
        uint64_t last = kh_bench_now_ns (), before = 0;
        while (self->delivered < self->expected && !kh_bench_stopping (self->flags)) {
            rc = mosquitto_loop (mosq, 100, 1);
            uint64_t now = kh_bench_now_ns ();
            if (self->delivered + self->dups + self->foreign != before) {
                before = self->delivered + self->dups + self->foreign;
                last = now;
            }
            if (rc != MOSQ_ERR_SUCCESS)
                kh_bench_fail (self->flags, self->failure, "loop failed: %s",
                        mosquitto_strerror (rc));
            else
            if (atomic_load (&self->flags->publishers_done)
            &&  now - last > (uint64_t) S_QUIET_MS * 1000000u) {
                snprintf (self->failure, KH_BENCH_FAILURE_MAX, "nothing more came for %d s",
                          S_QUIET_MS / 1000);
                break;
            }
            else
            if (now > self->deadline)
                kh_bench_fail (self->flags, self->failure, "timed out");
        }
    }
    mosquitto_disconnect (mosq);
    mosquitto_destroy (mosq);
    return NULL;
}

/* ------------------------------------------------------------ the run */

/* Runs the load against the broker on port; fills result's counters and *go_ns.
   Returns 0 if it ran to the end. */
static int
s_run (const kh_bench_opts_t *opts, int port, const uint32_t *per_pub, uint64_t **sent,
       uint64_t **acked, uint64_t **recv, kh_bench_result_t *result, uint64_t *go_ns)
{
    int count = opts->publishers, rc = -1;
    kh_bench_flags_t flags;
    s_mpub_t *pubs = (s_mpub_t *) calloc ((size_t) count, sizeof *pubs);
    s_msub_t sub = { .opts = opts, .flags = &flags, .port = port, .per_pub = per_pub,
                     .recv = recv, .connack = -1 };
    *go_ns = 0;
    bool prepared = pubs != NULL;
    for (int p = 0; prepared && p < count; p++) {
        pubs [p] = (s_mpub_t) { .opts = opts, .flags = &flags, .port = port, .pub = p,
                                .count = per_pub [p], .sent = sent [p], .acked = acked [p],
                                .connack = -1 };
        pubs [p].payload = (uint8_t *) calloc (opts->size, 1);
        pubs [p].mid_index = (uint32_t *) malloc (S_MID_MAX * sizeof (uint32_t));
        if (!(prepared = pubs [p].payload && pubs [p].mid_index))
            break;
        memset (pubs [p].mid_index, 0xFF, S_MID_MAX * sizeof (uint32_t));
        memset (pubs [p].payload + 8, 'x', opts->size - 8);
        sub.expected += per_pub [p];
    }
    if (prepared) {
        kh_bench_workers_t workers = {
            .flags = &flags, .subscriber = s_subscriber, .sub_arg = &sub,
            .publisher = s_publisher, .pub_args = pubs, .pub_size = sizeof *pubs,
            .count = count
        };
        rc = kh_bench_workers_run (&workers, go_ns);
    }
    for (int p = 0; pubs && p < count; p++) {
        result->expected += pubs [p].count;
        result->acked += pubs [p].n_acked;
        result->errors += pubs [p].errors;
        result->dup_acks += pubs [p].dup_acks;
        if (pubs [p].failure [0])
            fprintf (stderr, "kreishub-bench: MQTT publisher %d: %s\n", p, pubs [p].failure);
        free (pubs [p].payload);
        free (pubs [p].mid_index);
    }
    result->delivered = sub.delivered;
    result->dup_deliveries = sub.dups;
    result->foreign = sub.foreign;
    if (sub.failure [0])
        fprintf (stderr, "kreishub-bench: MQTT subscriber: %s\n", sub.failure);
    free (pubs);
    return rc ? -1 : 0;
}

int
kh_bench_mqtt (const kh_bench_opts_t *opts, kh_bench_result_t *result)
{
    printf ("\nMQTT comparison: Mosquitto, QoS 1, %d publishers x %u messages of %u bytes, "
            "max inflight %u, one QoS 1 subscriber, persistence off\n", opts->publishers,
            opts->messages, opts->size, opts->window);
    kh_bench_daemon_t broker = { .proc = NULL };
    int rc = s_broker_start (opts, &broker);
    if (rc == 1) {
        printf ("  mosquitto is not installed (apt-get install mosquitto): skipped\n");
        return 1;
    }
    if (rc) {
        kh_bench_daemon_stop (&broker, true);
        return -1;
    }
    int pubs = opts->publishers;
    kh_bench_times_t times;
    rc = kh_bench_times_init (&times, pubs, (uint64_t) pubs * opts->messages, true);
    if (rc == 0) {
        mosquitto_lib_init ();
        *result = (kh_bench_result_t) { .name = "MQTT", .msg_size = opts->size };
        uint64_t go_ns = 0;
        rc = s_run (opts, broker.port, times.per_pub, times.sent, times.acked, times.recv,
                    result, &go_ns);
        rc = kh_bench_conclude (result, &times, go_ns, rc);
        mosquitto_lib_cleanup ();
    }
    kh_bench_times_free (&times);
    kh_bench_daemon_stop (&broker, rc != 0);
    if (rc)
        printf ("  mosquitto's directory kept: %s\n", broker.dir);
    return rc;
}

#endif
