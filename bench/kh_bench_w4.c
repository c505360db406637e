/*  kh_bench_w4.c - W4, many live subscribers: --subscribers SUB sockets in this
    process (spread over a few ZeroMQ contexts, CURVE on a secure hub), --idle-
    subscribers of them never read, while one publisher is paced at --w4-rate for
    --seconds. Did the rate hold, did every reading subscriber get every record once,
    how late, and how much memory the broker took at its peak.

    One reader thread per context owns that context's reading sockets and writes only
    their arrival times; the idle sockets belong to the main thread, which reads the
    arrival times after joining the readers. A record's seq maps to the message's
    index through the publisher's ACKs. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"
#include "kh_parts.h"

#define S_PER_CONTEXT   500             /* SUB sockets per context (one I/O thread each) */
#define S_READY_MS      60000           /* every reader's sockets see a heartbeat within */
#define S_QUIET_MS      3000            /* readers give up this long after the last record */
#define S_DRAIN_MAX     256             /* messages read from one socket per wake-up */
#define S_BATCH_MS      1               /* a reader polls at most this often while records
                                           flow: polling 450 sockets costs about as much as
                                           reading them (perf: a quarter of the machine when
                                           it polled for every record), so it lets records
                                           gather; a delivery may be seen up to 1 ms late */
#define S_ARRIVALS_MAX  (1024u * 1024 * 1024)   /* bytes of arrival times, at most */

/* One reading subscriber. */
typedef struct {
    void     *handle;
    bool      beat;                     /* a heartbeat came: its subscriptions stand */
    uint64_t  got, dups, foreign;
    uint32_t *arrival;                  /* [seq - head - 1]: us after t0, plus 1; 0: none */
} s_sub_t;

/* One reader thread and the reading subscribers of its context. */
typedef struct {
    const kh_bench_hub_t *hub;
    kh_bench_flags_t *flags;
    void     *ctx;
    s_sub_t  *subs;
    int       count;
    uint64_t  head, expected;           /* the run's records are head+1 .. head+expected */
    uint64_t  t0;                       /* ns: arrivals count from here */
    uint64_t  deadline_ns;              /* after go: give up */
    char      failure [KH_BENCH_FAILURE_MAX];
} s_reader_t;

/* What W4 found, for printing. */
typedef struct {
    uint64_t  complete;                 /* reading subscribers with every record once */
    uint64_t  missing, gaps, dups, foreign;
    double    p50_us, p99_us, max_us;
    long      rss_start_kb, rss_connected_kb, rss_peak_kb, rss_end_kb;
    long      self_peak_kb;                 /* this process's peak, for comparison */
    double    send_rate;
    double    wall_s, broker_cpu_s, bench_cpu_s;   /* from go to the readers' end */
    kh_bench_result_t pub;              /* the publisher's acks */
} s_found_t;

/* Reads "key: N kB" of /proc/PID/status; -1 if it cannot. */
static long
s_status_kb (pid_t pid, const char *key)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long kb = -1;
    size_t len = strlen (key);
    while (file && kb < 0 && fgets (line, sizeof line, file))
        if (strncmp (line, key, len) == 0 && line [len] == ':')
            kb = strtol (line + len + 1, NULL, 10);
    if (file)
        fclose (file);
    return kb;
}

/* CPU seconds (user and system) process pid has used; -1 if it cannot tell. */
static double
s_cpu_s (pid_t pid)
{
    char path [64], line [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    const char *after = file && fgets (line, sizeof line, file) ? strrchr (line, ')') : NULL;
    unsigned long utime = 0, stime = 0;
    /* After "(comm)": state and 10 more fields, then utime and stime in ticks. */
    bool read = after && sscanf (after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                                 "%lu %lu", &utime, &stime) == 2;
    if (file)
        fclose (file);
    return read ? (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK) : -1;
}

/* CPU seconds this process has used. */
static double
s_self_cpu_s (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* True if subscriber i of n is one of the idle ones (idle of them, spread evenly). */
static bool
s_is_idle (uint32_t i, uint32_t n, uint32_t idle)
{
    return (uint64_t) i * idle / n != (uint64_t) (i + 1) * idle / n;
}

/* A SUB socket in ctx with a receive queue of hwm records, CURVE with the reader's
   certificate on a secure hub, connected to the live endpoint and subscribed to
   "idea/" and then "!hb" (so that the first heartbeat proves both stand). Returns
   it, or NULL. */
static void *
s_socket (void *ctx, const kh_bench_hub_t *hub, int hwm)
{
    void *handle = zmq_socket (ctx, ZMQ_SUB);
    int linger = 0;
    int rc = handle ? zmq_setsockopt (handle, ZMQ_LINGER, &linger, sizeof linger)
                   || zmq_setsockopt (handle, ZMQ_RCVHWM, &hwm, sizeof hwm) : -1;
    if (rc == 0 && hub->server_key)
        rc = zmq_setsockopt (handle, ZMQ_CURVE_SERVERKEY, hub->server_key,
                             strlen (hub->server_key))
          || zmq_setsockopt (handle, ZMQ_CURVE_PUBLICKEY, zcert_public_key (hub->reader), 32)
          || zmq_setsockopt (handle, ZMQ_CURVE_SECRETKEY, zcert_secret_key (hub->reader), 32)
           ? -1 : 0;
    if (rc == 0)
        rc = zmq_connect (handle, hub->live)
          || zmq_setsockopt (handle, ZMQ_SUBSCRIBE, "idea/", 5)
          || zmq_setsockopt (handle, ZMQ_SUBSCRIBE, KH_TOPIC_BEAT, strlen (KH_TOPIC_BEAT))
           ? -1 : 0;
    if (rc && handle)
        zmq_close (handle);
    return rc ? NULL : handle;
}

/* Reads a record's seq: the encoder writes {"seq": N, ...} first, so the bytes are a
   map header, fixstr "seq" and an unsigned int. Falls back to the full decode for
   any other shape. Returns 0, or -1 if it is no record. */
static int
s_seq (const uint8_t *data, size_t size, uint64_t *seq)
{
    if (size > 5 && (data [0] & 0xF0) == 0x80 && memcmp (data + 1, "\xa3seq", 4) == 0) {
        const uint8_t *p = data + 5;
        size_t left = size - 5, width = p [0] <= 0x7F ? 0 : p [0] == 0xCC ? 1
                                       : p [0] == 0xCD ? 2 : p [0] == 0xCE ? 4
                                       : p [0] == 0xCF ? 8 : 9;
        if (width <= 8 && left > width) {
            *seq = width ? 0 : p [0];
            for (size_t i = 1; i <= width; i++)
                *seq = *seq << 8 | p [i];
            return 0;
        }
    }
    kh_record_t rec;
    kh_problem_t why;
    if (kh_record_decode (data, size, &rec, &why))
        return -1;
    *seq = rec.info.seq;
    return 0;
}

/* Reads what waits on one subscriber's socket. Returns 0, or -1 if receiving failed. */
static int
s_drain (s_reader_t *self, s_sub_t *sub)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        kh_parts_t msg;
        int frames = kh_parts_recv (&msg, sub->handle, ZMQ_DONTWAIT);
        if (frames <= 0)
            return frames == 0 ? 0 : -1;
        uint64_t now = kh_bench_now_ns (), seq;
        zmq_msg_t *body = kh_parts_at (&msg, 1);
        if (frames == 2 && kh_parts_is (&msg, 0, KH_TOPIC_BEAT))
            sub->beat = true;
        else
        if (frames != 2 || s_seq (zmq_msg_data (body), zmq_msg_size (body), &seq)
        ||  seq <= self->head || seq > self->head + self->expected)
            sub->foreign++;
        else
        if (sub->arrival [seq - self->head - 1])
            sub->dups++;
        else {
            uint64_t us = now > self->t0 ? (now - self->t0) / 1000u : 0;
            sub->arrival [seq - self->head - 1] = (uint32_t) (us + 1);
            sub->got++;
        }
        kh_parts_close (&msg);
    }
    return 0;
}

/* Polls the reader's sockets once for up to timeout ms and drains the ready ones.
   Returns how many sockets had something, or -1 after failing the run. */
static int
s_poll (s_reader_t *self, zmq_pollitem_t *items, int timeout)
{
    int ready = zmq_poll (items, self->count, timeout);
    for (int i = 0; ready > 0 && i < self->count; i++)
        if ((items [i].revents & ZMQ_POLLIN) && s_drain (self, &self->subs [i])) {
            kh_bench_fail (self->flags, self->failure, "receive failed: %s",
                           zmq_strerror (zmq_errno ()));
            return -1;
        }
    return ready < 0 ? 0 : ready;
}

/* Waits until every socket of the reader has seen a heartbeat. Returns 0, or -1
   after failing the run. */
static int
s_wait_beats (s_reader_t *self, zmq_pollitem_t *items)
{
    uint64_t until = kh_bench_now_ns () + (uint64_t) S_READY_MS * 1000000u;
    for (int beats = 0; beats < self->count; ) {
        if (s_poll (self, items, 100) < 0 || kh_bench_stopping (self->flags))
            return -1;
        beats = 0;
        for (int i = 0; i < self->count; i++)
            beats += self->subs [i].beat;
        if (beats < self->count && kh_bench_now_ns () > until) {
            kh_bench_fail (self->flags, self->failure, "%d of %d subscribers saw no "
                           "heartbeat within %d s", self->count - beats, self->count,
                           S_READY_MS / 1000);
            return -1;
        }
    }
    return 0;
}

/* Reads until every subscriber has every record, or nothing came for S_QUIET_MS
   after the publisher finished, or time ran out. */
static void
s_read_all (s_reader_t *self, zmq_pollitem_t *items)
{
    uint64_t last = kh_bench_now_ns (), seen = 0;
    for (;;) {
        uint64_t complete = 0, records = 0;
        for (int i = 0; i < self->count; i++) {
            const s_sub_t *sub = &self->subs [i];
            complete += sub->got == self->expected;
            records += sub->got + sub->dups + sub->foreign;
        }
        if (complete == (uint64_t) self->count || kh_bench_stopping (self->flags))
            return;
        uint64_t now = kh_bench_now_ns ();
        if (records > seen) {           /* heartbeats do not count: they never stop */
            seen = records;
            last = now;
        }
        int ready = s_poll (self, items, 100);
        if (ready < 0)
            return;
        if (ready > 0)
            kh_bench_sleep_ms (S_BATCH_MS);
        if (atomic_load (&self->flags->publishers_done)
        &&  now - last > (uint64_t) S_QUIET_MS * 1000000u)
            return;
        if (now > self->deadline_ns) {
            kh_bench_fail (self->flags, self->failure, "timed out");
            return;
        }
    }
}

static void *
s_reader (void *arg)
{
    s_reader_t *self = (s_reader_t *) arg;
    zmq_pollitem_t *items = (zmq_pollitem_t *) calloc ((size_t) self->count, sizeof *items);
    int made = 0;
    for (; items && made < self->count; made++) {
        /* A deep queue of our own, so that a record missing was dropped by the
           broker, not by this process falling behind. */
        if (!(self->subs [made].handle = s_socket (self->ctx, self->hub, KH_BENCH_SUB_HWM)))
            break;
        items [made] = (zmq_pollitem_t) { self->subs [made].handle, 0, ZMQ_POLLIN, 0 };
    }
    if (made < self->count)
        kh_bench_fail (self->flags, self->failure, "cannot make subscriber %d: %s", made,
                       zmq_strerror (zmq_errno ()));
    else
    if (s_wait_beats (self, items) == 0 && kh_bench_wait_go (self->flags))
        s_read_all (self, items);
    for (int i = 0; i < made; i++)
        zmq_close (self->subs [i].handle);
    free (items);
    return NULL;
}

/* ------------------------------------------------------------ the run */

/* The contexts, the idle sockets and the readers of one W4 run. */
typedef struct {
    const kh_bench_opts_t *opts;
    kh_bench_flags_t flags;
    void      **ctx;
    int         ctxs;
    void      **idle;
    uint32_t    idles;
    s_sub_t    *subs;                   /* every reading subscriber */
    uint32_t    readers_total;
    s_reader_t *readers;                /* one per context */
    pthread_t  *threads;
    int         started;
    uint64_t    expected;
} s_run_t;

/* Makes the contexts, the idle sockets and the readers' shares. Returns 0, or -1. */
static int
s_prepare (s_run_t *run, const kh_bench_hub_t *hub, uint64_t head)
{
    const kh_bench_opts_t *opts = run->opts;
    uint32_t n = opts->subscribers;
    run->ctxs = (int) ((n + S_PER_CONTEXT - 1) / S_PER_CONTEXT);
    run->readers_total = n - opts->idle_subscribers;
    run->ctx = (void **) calloc ((size_t) run->ctxs, sizeof (void *));
    run->idle = (void **) calloc (opts->idle_subscribers + 1, sizeof (void *));
    run->subs = (s_sub_t *) calloc (run->readers_total, sizeof *run->subs);
    run->readers = (s_reader_t *) calloc ((size_t) run->ctxs, sizeof *run->readers);
    run->threads = (pthread_t *) calloc ((size_t) run->ctxs, sizeof *run->threads);
    if (!run->ctx || !run->idle || !run->subs || !run->readers || !run->threads)
        return -1;
    for (int c = 0; c < run->ctxs; c++) {
        run->ctx [c] = zmq_ctx_new ();
        if (!run->ctx [c] || zmq_ctx_set (run->ctx [c], ZMQ_MAX_SOCKETS, S_PER_CONTEXT + 16))
            return -1;
        run->readers [c] = (s_reader_t) { .hub = hub, .flags = &run->flags,
                                          .ctx = run->ctx [c], .head = head,
                                          .expected = run->expected };
    }
    uint32_t reading = 0;
    for (uint32_t i = 0; i < n; i++) {
        s_reader_t *reader = &run->readers [i / S_PER_CONTEXT];
        if (s_is_idle (i, n, opts->idle_subscribers)) {
            /* libzmq's default queue, as an idle client of the hub would have:
               a deeper one would hold records here that the broker must hold. */
            if (!(run->idle [run->idles++] = s_socket (reader->ctx, hub, 1000)))
                return -1;
            continue;
        }
        s_sub_t *sub = &run->subs [reading++];
        if (!reader->subs)
            reader->subs = sub;
        reader->count++;
        if (!(sub->arrival = (uint32_t *) calloc (run->expected, sizeof (uint32_t))))
            return -1;
    }
    return 0;
}

/* Closes every socket and context and frees what s_prepare made. */
static void
s_release (s_run_t *run)
{
    for (uint32_t i = 0; run->idle && i < run->idles; i++)
        zmq_close (run->idle [i]);
    for (int c = 0; run->ctx && c < run->ctxs; c++)
        if (run->ctx [c])
            zmq_ctx_term (run->ctx [c]);
    for (uint32_t i = 0; run->subs && i < run->readers_total; i++)
        free (run->subs [i].arrival);
    free (run->ctx);
    free (run->idle);
    free (run->subs);
    free (run->readers);
    free (run->threads);
}

/* Starts the readers and waits until each has all its sockets subscribed. Returns
   0, or -1 (the run aborted). */
static int
s_start_readers (s_run_t *run)
{
    atomic_init (&run->flags.ready, 0);
    atomic_init (&run->flags.go, false);
    atomic_init (&run->flags.abort, false);
    atomic_init (&run->flags.publishers_done, false);
    for (; run->started < run->ctxs; run->started++)
        if (pthread_create (&run->threads [run->started], NULL, s_reader,
                            &run->readers [run->started]) != 0)
            return -1;
    for (int waited = 0; atomic_load (&run->flags.ready) < run->ctxs; waited++) {
        if (kh_bench_stopping (&run->flags) || waited > S_READY_MS + 5000)
            return -1;
        kh_bench_sleep_ms (1);
    }
    return 0;
}

/* Publishes expected messages at opts->w4_rate with one publisher and no subscriber
   of the load's own; fills found->pub (ok if all were acked) and seqs [0]. */
static void
s_publish (s_run_t *run, const kh_bench_hub_t *hub, uint64_t head, kh_bench_times_t *times,
           uint64_t **seqs, s_found_t *found)
{
    kh_bench_opts_t one = *run->opts;
    one.publishers = 1;
    kh_bench_load_t load = { .opts = &one, .hub = hub, .per_pub = times->per_pub,
                             .sent = times->sent, .acked = times->acked, .head = head,
                             .rate = run->opts->w4_rate, .seqs = seqs };
    uint64_t go_ns = 0;
    found->pub = (kh_bench_result_t) { .name = "W4-publisher" };
    int rc = kh_bench_load_run (&load, &found->pub, &go_ns);
    if (go_ns)
        kh_bench_summarise (&found->pub, 1, times->per_pub, go_ns, times->sent, times->acked,
                            NULL);
    uint64_t first = times->sent [0][0], last = times->sent [0][run->expected - 1];
    found->send_rate = run->expected > 1 && first && last > first
                     ? (double) (run->expected - 1) * 1e9 / (double) (last - first) : 0;
    if (rc)
        found->pub.ok = false;
}

/* Counts what the reading subscribers got and the delivery latencies (arrival
   against the send time of the message that got that seq) into found. */
static void
s_tally (const s_run_t *run, uint64_t t0, uint64_t head, const kh_bench_times_t *times,
         uint64_t *const *seqs, s_found_t *found)
{
    uint64_t n = run->expected;
    uint32_t *index_of = (uint32_t *) malloc (n * sizeof (uint32_t));
    uint64_t *lat = (uint64_t *) malloc (run->readers_total * n * sizeof (uint64_t));
    size_t lats = 0;
    for (uint64_t i = 0; index_of && i < n; i++)
        index_of [i] = UINT32_MAX;
    for (uint32_t i = 0; index_of && i < n; i++)
        if (seqs [0][i] > head && seqs [0][i] <= head + n)
            index_of [seqs [0][i] - head - 1] = i;
    for (uint32_t s = 0; s < run->readers_total; s++) {
        const s_sub_t *sub = &run->subs [s];
        found->complete += sub->got == n && sub->dups == 0;
        found->missing += n - sub->got;
        found->dups += sub->dups;
        found->foreign += sub->foreign;
        for (uint64_t k = 0; k < n; k++) {
            if (!sub->arrival [k]) {
                found->gaps += k == 0 || sub->arrival [k - 1];
                continue;
            }
            uint32_t i = index_of ? index_of [k] : UINT32_MAX;
            uint64_t at = t0 + ((uint64_t) sub->arrival [k] - 1) * 1000u;
            if (lat && i != UINT32_MAX && times->sent [0][i])
                lat [lats++] = at > times->sent [0][i] ? at - times->sent [0][i] : 0;
        }
    }
    if (lat) {
        kh_bench_p50_p99 (lat, lats, &found->p50_us, &found->p99_us);
        found->max_us = lats ? (double) lat [lats - 1] / 1000.0 : 0;
    }
    free (lat);
    free (index_of);
}

/* Prints what W4 found. Returns true if the rate held and every reading subscriber
   got every record once. */
static bool
s_report (const kh_bench_opts_t *opts, const s_run_t *run, const s_found_t *found)
{
    char a [32], b [32], c [32], d [32], e [32];
    bool held = found->pub.ok && found->send_rate >= 0.99 * opts->w4_rate;
    bool all = found->complete == run->readers_total;
    printf ("  publisher: %llu/%llu acked, sent at %.0f msgs/s of %u: %s; publish->ack "
            "p50 %s, p99 %s\n", (unsigned long long) found->pub.acked,
            (unsigned long long) run->expected, found->send_rate, opts->w4_rate,
            held ? "the rate held" : "the rate did NOT hold",
            kh_bench_fmt_us (a, sizeof a, found->pub.ack_p50_us),
            kh_bench_fmt_us (b, sizeof b, found->pub.ack_p99_us));
    printf ("  reading subscribers with every record once: %llu of %u; records missing "
            "%llu in %llu gaps, duplicates %llu, foreign %llu\n",
            (unsigned long long) found->complete, run->readers_total,
            (unsigned long long) found->missing, (unsigned long long) found->gaps,
            (unsigned long long) found->dups, (unsigned long long) found->foreign);
    printf ("  publish->delivery over all reading subscribers: p50 %s, p99 %s, max %s\n",
            kh_bench_fmt_us (c, sizeof c, found->p50_us),
            kh_bench_fmt_us (d, sizeof d, found->p99_us),
            kh_bench_fmt_us (e, sizeof e, found->max_us));
    printf ("  broker RSS: %.1f MB at start, %.1f MB with the subscribers connected, "
            "peak %.1f MB (VmHWM), %.1f MB at the end\n", found->rss_start_kb / 1024.0,
            found->rss_connected_kb / 1024.0, found->rss_peak_kb / 1024.0,
            found->rss_end_kb / 1024.0);
    printf ("  CPU from go to the readers' end (%.1f s, %ld cpus): broker %.1f s, this "
            "process (subscribers, publisher) %.1f s, its peak RSS %.1f MB\n", found->wall_s,
            sysconf (_SC_NPROCESSORS_ONLN), found->broker_cpu_s, found->bench_cpu_s,
            found->self_peak_kb / 1024.0);
    printf ("  W4: %s\n", held && all ? "OK" : "FAILED");
    printf ("RESULT W4 subscribers=%u idle=%u rate=%u send_per_s=%.0f held=%d complete=%llu "
            "readers=%u missing=%llu gaps=%llu del_p50_us=%.0f del_p99_us=%.0f "
            "rss_peak_kb=%ld ok=%d\n", opts->subscribers, opts->idle_subscribers,
            opts->w4_rate, found->send_rate, held, (unsigned long long) found->complete,
            run->readers_total, (unsigned long long) found->missing,
            (unsigned long long) found->gaps, found->p50_us, found->p99_us,
            found->rss_peak_kb, held && all);
    fflush (stdout);
    return held && all;
}

/* Runs W4 once the sockets are prepared: readers, then the paced publisher; fills
   found. Returns 0 if the run began (its figures say how it went), -1 if not. */
static int
s_execute (s_run_t *run, const kh_bench_hub_t *hub, pid_t broker, uint64_t head,
           s_found_t *found)
{
    kh_bench_times_t times = { .pubs = 1 };
    uint64_t *seq_of = (uint64_t *) calloc (run->expected, sizeof (uint64_t));
    uint64_t *seqs [1] = { seq_of };
    bool timed = kh_bench_times_init (&times, 1, run->expected, false) == 0;
    int rc = seq_of && timed ? s_start_readers (run) : -1;
    if (rc == 0) {
        found->rss_connected_kb = s_status_kb (broker, "VmRSS");
        uint64_t t0 = kh_bench_now_ns ();
        for (int c = 0; c < run->ctxs; c++) {
            run->readers [c].t0 = t0;
            run->readers [c].deadline_ns = t0 + (uint64_t) run->opts->timeout_s * 1000000000u;
        }
        double broker_cpu = s_cpu_s (broker), bench_cpu = s_self_cpu_s ();
        atomic_store (&run->flags.go, true);
        s_publish (run, hub, head, &times, seqs, found);
        atomic_store (&run->flags.publishers_done, true);
        for (int c = 0; c < run->started; c++)
            pthread_join (run->threads [c], NULL);
        run->started = 0;
        found->wall_s = (double) (kh_bench_now_ns () - t0) / 1e9;
        found->broker_cpu_s = s_cpu_s (broker) - broker_cpu;
        found->bench_cpu_s = s_self_cpu_s () - bench_cpu;
        s_tally (run, t0, head, &times, seqs, found);
    }
    atomic_store (&run->flags.abort, true);
    for (int c = 0; c < run->started; c++)
        pthread_join (run->threads [c], NULL);
    for (int c = 0; c < run->ctxs; c++)
        if (run->readers [c].failure [0])
            fprintf (stderr, "kreishub-bench: W4 reader %d: %s\n", c, run->readers [c].failure);
    found->rss_peak_kb = s_status_kb (broker, "VmHWM");
    found->rss_end_kb = s_status_kb (broker, "VmRSS");
    found->self_peak_kb = s_status_kb (getpid (), "VmHWM");
    if (timed)
        kh_bench_times_free (&times);
    free (seq_of);
    return rc;
}

int
kh_bench_w4 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, pid_t broker)
{
    uint64_t head;
    s_run_t run = { .opts = opts, .expected = (uint64_t) opts->w4_rate * opts->seconds };
    uint32_t readers = opts->subscribers - opts->idle_subscribers;
    printf ("\nW4 many subscribers: %u live subscribers (%u never reading) in this process, "
            "1 publisher of %u-byte messages paced at %u msgs/s for %u s, the broker's "
            "default live queue\n", opts->subscribers, opts->idle_subscribers, opts->size,
            opts->w4_rate, opts->seconds);
    if ((double) readers * (double) run.expected * 12.0 > S_ARRIVALS_MAX) {
        fprintf (stderr, "kreishub-bench: W4: %u readers x %llu records is too much to "
                 "time (lower --seconds or --w4-rate)\n", readers,
                 (unsigned long long) run.expected);
        return -1;
    }
    if (kh_bench_ping (hub, &head))
        return -1;
    s_found_t found = { .rss_start_kb = s_status_kb (broker, "VmRSS") };
    int rc = s_prepare (&run, hub, head);
    if (rc)
        fprintf (stderr, "kreishub-bench: W4: cannot make %u subscribers: %s\n",
                 opts->subscribers, zmq_strerror (zmq_errno ()));
    else
        rc = s_execute (&run, hub, broker, head, &found);
    if (rc == 0 && !s_report (opts, &run, &found))
        rc = -1;
    s_release (&run);
    return rc;
}
