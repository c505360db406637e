/*  kh_bench.h - what the files of kreishub-bench share: options, clock, latency
    summaries, the message-id scheme and the pipelined publisher.

    kreishub-bench measures a real broker and recorder (started through
    support/kh_launch.h) over loopback TCP:
      W1  durable publish: N publisher threads with a sliding window of unacknowledged
          publishes, one live subscriber; acked and delivered msgs/s, latencies; on a
          plain hub, a secure (CURVE) one or both, one after the other.
      W2  replay: a new client pages QUERY from seq 1 through the stored log.
      W3  one publisher paced at --rate msgs/s: publish->delivery at a live
          subscriber; then single publishes one at a time (window 1): the round trip.
      W4  many live subscribers (some never reading) in this process while one
          publisher is paced: did the rate hold, did every reader get all, delivery
          p99, and the broker's peak RSS.
      MQTT the same load as W1 against a Mosquitto broker at QoS 1, for comparison.
      NATS W1, W2 and W3 against nats-server -js (file storage), for comparison.
      web  issue 8's targets from kreishub-web over a big store: its pages timed by
          keep-alive GETs, and open item pages (SSE) timed from publish to the page
          (kh_bench_web.h; not in "all": filling the store takes minutes once).

    Threads share nothing mutable while they run: each owns its sockets and its own
    arrays of timestamps; they coordinate through the atomics in kh_bench_flags_t, and
    the main thread reads their arrays only after joining them.
*/
#ifndef KH_BENCH_H_INCLUDED
#define KH_BENCH_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <czmq.h>
#include "kh_codec.h"
#include "kh_proc.h"

#define KH_BENCH_PUBLISHERS_MAX 4096    /* the id scheme has 12 bits for the publisher */
#define KH_BENCH_STALL_MS       10000   /* no reply for this long with work in flight: fail */
#define KH_BENCH_SUB_HWM        100000  /* subscriber's receive queue, and the broker's
                                           for it (--live-hwm) */
#define KH_BENCH_FAILURE_MAX    256     /* why a worker broke off, at most */
#define KH_BENCH_READY_MS       10000   /* workers must be connected within this */
#define KH_BENCH_AGS_COUNT      8       /* senders the publishers take in turn */
#define KH_BENCH_DATA_ROOT      "/tmp"  /* where the hubs' data directories are made */
#define KH_BENCH_COMMIT_SYNCS   1000    /* commit-shaped fdatasyncs beside W3 */

/* The command line. */
typedef struct {
    bool        w1;                     /* run W1 */
    bool        w2;                     /* run W2 */
    bool        w3;                     /* run W3 */
    bool        w4;                     /* run W4 */
    bool        mosquitto;              /* run the Mosquitto comparison */
    bool        nats;                   /* run the NATS JetStream comparison */
    uint32_t    rate;                   /* W3: msgs/s of its one publisher */
    uint32_t    seconds;                /* W3 and W4 publish this long */
    uint32_t    rtt_messages;           /* W3: single publishes one at a time */
    uint32_t    subscribers;            /* W4: live subscribers, the idle ones included */
    uint32_t    idle_subscribers;       /* W4: of them, never reading */
    uint32_t    w4_rate;                /* W4: msgs/s of its one publisher, at most */
    int         publishers;             /* publisher threads */
    uint32_t    messages;               /* per publisher */
    uint32_t    size;                   /* envelope bytes (Mosquitto: payload bytes) */
    uint32_t    window;                 /* unacknowledged publishes per publisher, at most */
    uint32_t    replay;                 /* rows W2 reads back */
    const char *sync;                   /* recorder's --sync */
    const char *bin;                    /* where kreishub-broker and -recorder are */
    int         timeout_s;              /* a workload taking longer fails */
    bool        keep;                   /* keep the hub's data directory */
    bool        plain;                  /* run a plain hub (--curve off or both) */
    bool        curve;                  /* run a secure one (--curve on or both) */
    bool        web;                    /* run the web workload */
    uint32_t    web_items;              /* web: items in the store */
    uint32_t    web_messages;           /* web: messages in the store, items included */
    uint32_t    web_gets;               /* web: timed GETs per page */
    uint32_t    web_clients;            /* web: open live pages */
    uint32_t    web_events;             /* web: messages published to them */
    uint32_t    web_rate;               /* web: msgs/s of those */
    const char *web_store;              /* web: where filled stores are kept (NULL: /tmp) */
} kh_bench_opts_t;

/* The hub under test: endpoints of the broker it started and, for a secure hub,
   the certificates its clients speak with (read-only while the workers run). */
typedef struct {
    const char *client;                 /* ROUTER for clients */
    const char *live;                   /* XPUB for subscribers */
    const char *server_key;             /* the broker's public key (Z85); NULL: plain */
    zcert_t    *senders [KH_BENCH_AGS_COUNT];   /* publisher p's: kh_bench_ags (p) */
    zcert_t    *reader;                 /* the subscriber's and the replay's (admin) */
    const char *reader_file;            /* its file and the server's public one, for */
    const char *server_file;            /*   libkreishub (kh_keys_load) */
} kh_bench_hub_t;

/* Coordination between the main thread and the workers: the only state they share. */
typedef struct {
    atomic_int  ready;                  /* workers connected and waiting for go */
    atomic_bool go;                     /* start publishing */
    atomic_bool abort;                  /* somebody failed or time ran out: stop */
    atomic_bool publishers_done;        /* all publishers joined (for the subscriber) */
} kh_bench_flags_t;

/* What a publish workload measured, for printing and comparing. */
typedef struct {
    const char *name;
    size_t   msg_size;                  /* bytes of one envelope (MQTT: payload) */
    uint64_t expected;                  /* messages that should be acked and delivered */
    uint64_t acked;
    uint64_t delivered;
    uint64_t errors;                    /* error replies, failed sends, foreign replies */
    uint64_t dup_acks;                  /* an ack for a message acked before */
    uint64_t dup_flags;                 /* an ack saying dup: true (ids are unique) */
    uint64_t dup_deliveries;            /* a message delivered twice */
    uint64_t gaps;                      /* records whose seq was not last + 1 */
    uint64_t dropped;                   /* sum of the gaps' sizes */
    uint64_t foreign;                   /* records not from this run */
    uint64_t seq_errors;                /* acked seqs not exactly head+1 .. head+expected */
    double   ack_secs;                  /* go -> last ack */
    double   delivery_secs;             /* go -> last delivery */
    double   ack_rate;                  /* msgs/s */
    double   delivery_rate;
    double   ack_p50_us, ack_p99_us, ack_max_us;
    double   del_p50_us, del_p99_us, del_max_us;
    bool     has_seq;                   /* gaps are meaningful (kreishub, not MQTT) */
    bool     ok;                        /* everything acked and delivered exactly once */
} kh_bench_result_t;

/* What W3 measured: the paced run, and the single publishes one at a time. */
typedef struct {
    kh_bench_result_t paced;            /* one publisher at opts->rate */
    kh_bench_result_t rtt;              /* one publisher, window 1, unpaced */
    double   send_rate;                 /* msgs/s the paced publisher reached */
    bool     ok;                        /* both runs exact */
} kh_bench_w3_t;

/* ------------------------------------------------------------- clock, stats */
/* Monotonic clock in nanoseconds. */
uint64_t kh_bench_now_ns (void);
/* Sleeps ms milliseconds. */
void kh_bench_sleep_ms (int ms);
/* Sorts values (count of them) in place and returns the p-th percentile (0..100), as
   the value at rank ceil(p/100 * count); 0 if count is 0. */
uint64_t kh_bench_percentile (uint64_t *values, size_t count, double p);
/* Formats microseconds as "812 us" or "12.34 ms" into buf; returns buf. */
const char *kh_bench_fmt_us (char *buf, size_t cap, double us);
/* Prints nproc, CPU model, kernel, load average and library versions. */
void kh_bench_print_machine (FILE *out);
/* Prints the load average (1, 5, 15 minutes) as "load average WHEN: ...". */
void kh_bench_print_load (FILE *out, const char *when);
/* Prints the filesystem dir lies on (type, device, mount options) and the latency of
   fdatasync there: p50/p99 of count appends of 4 KiB, each followed by fdatasync,
   to a temporary file in dir. Returns 0, or -1 if the file could not be written. */
int kh_bench_print_disk (FILE *out, const char *dir, int count);
/* Prints, as "  the disk WHEN: ...", the latency of fdatasync after a commit's worth
   of WAL pages overwritten in a temporary file in dir: p50/p99/max of count, and how
   many took over 2 ms (W3's target): the floor under W3's latency while it runs.
   Returns 0, or -1 if the file could not be written. */
int kh_bench_print_commit_sync (FILE *out, const char *dir, int count, const char *when);
/* Prints, as "  the disk alone at W3's pace: ...", the latency of rate x seconds
   commit-shaped fdatasyncs (as kh_bench_print_commit_sync) paced at rate a second,
   each from when it was due to when it returned: what a recorder that did nothing
   but sync would see, the floor under W3 on this disk (a stall holds up the ones due
   during it). Returns 0, or -1 if the file could not be written. */
int kh_bench_print_paced_sync (FILE *out, const char *dir, uint32_t rate, uint32_t seconds);
/* Sets *p50 and *p99 (us) of the values (ns; count of them; sorted in place). */
void kh_bench_p50_p99 (uint64_t *values, size_t count, double *p50, double *p99);
/* Computes rates and latency percentiles of a publish run from per-message
   timestamps (0 = never happened), fills result and prints it. The arrays hold
   per_pub [p] entries for each of pubs publishers. */
void kh_bench_summarise (kh_bench_result_t *result, int pubs, const uint32_t *per_pub,
                         uint64_t go_ns, uint64_t *const *sent, uint64_t *const *acked,
                         uint64_t *const *recv);
void kh_bench_print_result (FILE *out, const kh_bench_result_t *r);

/* The per-message timestamps of a publish run, in ns (0: never happened): for each
   of pubs publishers p, per_pub [p] entries of when a message was sent, acked and
   delivered (recv is NULL for a run without a subscriber). */
typedef struct {
    int        pubs;
    uint32_t  *per_pub;                 /* messages of each publisher */
    uint64_t **sent;                    /* [pub][index] */
    uint64_t **acked;
    uint64_t **recv;
} kh_bench_times_t;

/* Allocates zeroed timestamps for total messages spread over pubs publishers (the
   first ones take one more where it does not divide), recv too if with_recv.
   Returns 0, or -1 with nothing allocated if memory runs out. */
int kh_bench_times_init (kh_bench_times_t *self, int pubs, uint64_t total, bool with_recv);
/* Frees what kh_bench_times_init allocated; harmless twice. */
void kh_bench_times_free (kh_bench_times_t *self);
/* Ends a publish run that returned rc: if it began (go_ns not 0), summarises times
   into result and prints it. Returns rc, or -1 if the counts are not exact. */
int kh_bench_conclude (kh_bench_result_t *result, const kh_bench_times_t *times,
                       uint64_t go_ns, int rc);

/* In a worker: says it is ready, then waits for go. Returns false if the run was
   aborted instead. */
bool kh_bench_wait_go (kh_bench_flags_t *flags);
/* In the main thread: waits until count workers are ready. Returns 0, or -1 (and
   aborts the run) if one failed or KH_BENCH_READY_MS passed. */
int kh_bench_wait_ready (kh_bench_flags_t *flags, int count);

/* A worker thread's function, as pthread_create takes it. */
typedef void *(kh_bench_worker_fn) (void *arg);

/* The workers of a publish run: an optional subscriber and count publishers, all
   watching flags; publisher p runs on (char *) pub_args + p * pub_size. */
typedef struct {
    kh_bench_flags_t   *flags;          /* reset by kh_bench_workers_run */
    kh_bench_worker_fn *subscriber;     /* NULL: a run without one */
    void               *sub_arg;
    kh_bench_worker_fn *publisher;
    void               *pub_args;       /* an array of count arguments */
    size_t              pub_size;       /* bytes of one */
    int                 count;
} kh_bench_workers_t;

/* Runs the workers: starts the subscriber and waits until it is ready (so that it
   misses nothing), then the publishers; once all are ready, sets *go_ns and lets
   them go. Joins the publishers, then sets publishers_done and joins the
   subscriber. Returns 0 if the run went to its end, 1 if it began but was aborted,
   -1 if a worker could not be started or was not ready in time (*go_ns is 0). */
int kh_bench_workers_run (const kh_bench_workers_t *workers, uint64_t *go_ns);

/* True if a worker should stop: the run was aborted or the process interrupted. */
bool kh_bench_stopping (kh_bench_flags_t *flags);
/* Records why a worker broke off in failure (KH_BENCH_FAILURE_MAX bytes) and aborts
   the run, so that the other workers stop too. */
void kh_bench_fail (kh_bench_flags_t *flags, char *failure, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ------------------------------------------------------------- the hub */
/* The sender (AGS) publisher pub publishes as. */
const char *kh_bench_ags (int pub);
/* Makes sock, before it connects, a CURVE client of a secure hub with cert (NULL:
   the reader's); nothing for a plain hub. */
void kh_bench_secure (const kh_bench_hub_t *hub, zsock_t *sock, zcert_t *cert);

/* ------------------------------------------------------------- message ids */
/* A run's ids are UUIDv7-shaped: 48-bit ms timestamp of the run, version 7, the
   publisher index in the 12 bits of rand_a, variant 10, 30 random bits shared by the
   run, and the message index in the last 32 bits. Unique within a run, nonzero, and
   telling whose message it is. */
typedef struct {
    uint8_t base [KH_ID_SIZE];          /* the run's id with publisher 0, message 0 */
} kh_bench_ids_t;

void kh_bench_ids_init (kh_bench_ids_t *ids);
void kh_bench_id_make (const kh_bench_ids_t *ids, int pub, uint32_t index,
                       uint8_t id [KH_ID_SIZE]);
/* Reads publisher and index from an id of this run. Returns 0, or -1 if the id is
   not one of this run's. */
int kh_bench_id_parse (const kh_bench_ids_t *ids, const uint8_t id [KH_ID_SIZE],
                       int *pub, uint32_t *index);

/* ------------------------------------------------------- publish load (kreishub) */
/* A pipelined publish run: opts->publishers threads, per_pub [p] messages each, a
   window of opts->window unacknowledged publishes. The caller allocates the
   timestamp arrays (zeroed, per_pub [p] entries each); recv and the subscriber are
   optional (W2 fills the store without one). */
typedef struct {
    const kh_bench_opts_t *opts;
    const kh_bench_hub_t  *hub;
    const uint32_t        *per_pub;     /* messages of each publisher */
    uint64_t             **sent;        /* [pub][index]: when sent, ns */
    uint64_t             **acked;       /* [pub][index]: when acked, ns */
    uint64_t             **recv;        /* [pub][index]: when delivered, ns; or NULL */
    uint64_t               head;        /* last seq stored before the run */
    uint32_t               rate;        /* msgs/s per publisher; 0: as the window lets */
    uint64_t             **seqs;        /* [pub][index]: seq from the ACK; or NULL */
} kh_bench_load_t;

/* Runs the load: builds the envelopes, starts the subscriber (if load->recv) and the
   publishers, waits for them all. Fills result (unsummarised counters; the caller
   calls kh_bench_summarise) and *go_ns. Returns 0 if the run could be carried out
   (its counts may still be wrong), -1 if it could not start or was aborted. */
int kh_bench_load_run (const kh_bench_load_t *load, kh_bench_result_t *result,
                       uint64_t *go_ns);

/* Asks the broker PING until it reports a recorder (up to 10 s); returns 0 and sets
   *head to its last published seq, or -1. */
int kh_bench_ping (const kh_bench_hub_t *hub, uint64_t *head);

/* ----------------------------------------------------------------- workloads */
/* W1: durable publish with one live subscriber. Returns 0 if every message was
   acked and delivered exactly once. */
int kh_bench_w1 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub,
                 kh_bench_result_t *result);
/* W2: replay opts->replay rows from seq 1 by paging QUERY (filling the store first
   if it holds fewer); *rate gets the paging's msgs/s. Returns 0 if exactly that many
   rows arrived in order. */
int kh_bench_w2 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, double *rate);
/* W3: one publisher paced at opts->rate for opts->seconds with a live subscriber,
   then opts->rtt_messages single publishes one at a time. Returns 0 if both runs'
   counts were exact. */
int kh_bench_w3 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub,
                 kh_bench_w3_t *result);
/* W4: opts->subscribers live SUB sockets in this process (opts->idle_subscribers of
   them never read) while one publisher is paced at opts->w4_rate for opts->seconds;
   broker is the broker's process id, for its memory. Returns 0 if the rate held and
   every reading subscriber got every record once, in order. */
int kh_bench_w4 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, pid_t broker);
/* The web workload (kh_bench_web.c) with the programs in bin. Returns 0 if every
   answer and count was exact (a missed target is printed, not failed), -1 if not. */
int kh_bench_web (const kh_bench_opts_t *opts, const char *bin);
/* W1 against Mosquitto at QoS 1. Returns 0 if every message was acked and delivered,
   -1 otherwise, 1 if the comparison is not built in or mosquitto is not installed. */
int kh_bench_mqtt (const kh_bench_opts_t *opts, kh_bench_result_t *result);

/* What the NATS comparison measured (w2_rate 0, w3.ok false: not run). */
typedef struct {
    kh_bench_result_t w1;
    double        w2_rate;              /* replay msgs/s through one consumer */
    kh_bench_w3_t w3;
} kh_bench_nats_t;

/* W1, W2 and W3 (as opts ask) against a nats-server -js this starts on a free
   loopback port with its store in a temporary directory. Returns 0 if every count
   was exact, -1 otherwise, 1 if not built in or nats-server is not installed. */
int kh_bench_nats (const kh_bench_opts_t *opts, kh_bench_nats_t *result);

/* ------------------------------------------------ broker processes of others */
/* A broker process the bench starts for a comparison: its directory (config, store,
   log), its loopback port and the process. */
typedef struct {
    char       dir [64];                /* a fresh /tmp directory */
    char       log [96];                /* DIR/NAME.log, its stderr */
    int        port;                    /* a loopback port free when prepared */
    kh_proc_t *proc;                    /* NULL: not running */
} kh_bench_daemon_t;

/* The path of program name in /usr/sbin or /usr/bin, or NULL if it is in neither. */
const char *kh_bench_which (const char *name);
/* Makes the directory /tmp/kh-NAME-XXXXXX and picks a free loopback port. Returns
   0, or -1. */
int kh_bench_daemon_prepare (kh_bench_daemon_t *self, const char *name);
/* Starts argv (stderr to self->log) and waits up to 5 s until it accepts TCP
   connections on self->port. Returns 0, or -1 after saying why. */
int kh_bench_daemon_start (kh_bench_daemon_t *self, const char *const argv []);
/* Stops the process (SIGTERM, SIGKILL after 5 s) and removes its directory unless
   keep. Harmless if it never started. */
void kh_bench_daemon_stop (kh_bench_daemon_t *self, bool keep);

#endif
