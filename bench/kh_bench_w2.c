/*  kh_bench_w2.c - W2, replay: a new client catches up from seq 1 by paging QUERY
    (windows of seqs, a few asked ahead), and, where libkreishub is built, through its
    subscriber with since_seq 1. Both must see exactly N records, in order. */
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "kh_bench.h"
#ifdef KH_HAVE_LIBKREISHUB
#include "kreishub/kreishub.h"
#endif

#define S_PAGE_MS   10000   /* one page may take this long */

/* What a replay saw. */
typedef struct {
    uint64_t rows;                      /* records received */
    uint64_t bytes;                     /* envelope bytes in them */
    uint64_t pages;
    uint64_t out_of_order;              /* records whose seq was not the one expected */
    uint64_t next_seq;                  /* the seq expected next */
    double   secs;
} s_replay_t;

/* Checks one replayed record against the expected order. */
static void
s_replay_row (s_replay_t *replay, const kh_record_t *rec)
{
    if (rec->info.seq != replay->next_seq)
        replay->out_of_order++;
    replay->next_seq = rec->info.seq + 1;
    replay->rows++;
    replay->bytes += rec->msg_size;
}

/* Prints a replay's figures and returns 0 if exactly count rows came in order. */
static int
s_replay_report (const char *how, const s_replay_t *replay, uint64_t count)
{
    bool ok = replay->rows == count && replay->out_of_order == 0;
    char pages [32] = "";
    if (replay->pages)
        snprintf (pages, sizeof pages, "%llu pages, ", (unsigned long long) replay->pages);
    printf ("  %-14s %8llu/%llu rows in %6.2f s = %9.0f msgs/s (%.1f MiB/s), %s"
            "out of order %llu: %s\n", how, (unsigned long long) replay->rows,
            (unsigned long long) count, replay->secs,
            replay->secs > 0 ? (double) replay->rows / replay->secs : 0,
            replay->secs > 0 ? (double) replay->bytes / replay->secs / 1048576.0 : 0,
            pages, (unsigned long long) replay->out_of_order, ok ? "OK" : "FAILED");
    printf ("RESULT W2-%s rows=%llu expected=%llu msgs_per_s=%.0f ok=%d\n", how,
            (unsigned long long) replay->rows, (unsigned long long) count,
            replay->secs > 0 ? (double) replay->rows / replay->secs : 0, ok);
    fflush (stdout);
    return ok ? 0 : -1;
}

/* Publishes count more messages with the pipelined publisher and no subscriber, so
   that the store holds enough to replay. Returns 0 if every one was acked. */
static int
s_fill (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, uint64_t head,
        uint64_t count)
{
    int pubs = opts->publishers;
    kh_bench_times_t times;
    int rc = kh_bench_times_init (&times, pubs, count, false);
    printf ("  the store holds %llu; publishing %llu more first\n",
            (unsigned long long) head, (unsigned long long) count);
    if (rc == 0) {
        kh_bench_load_t load = { .opts = opts, .hub = hub, .per_pub = times.per_pub,
                                 .sent = times.sent, .acked = times.acked, .head = head };
        kh_bench_result_t result = { .name = "W2-fill" };
        uint64_t go_ns;
        rc = kh_bench_load_run (&load, &result, &go_ns);
        if (go_ns)
            kh_bench_summarise (&result, pubs, times.per_pub, go_ns, times.sent, times.acked,
                                NULL);
        printf ("  filled: %llu/%llu acked in %.2f s = %.0f msgs/s, errors %llu\n",
                (unsigned long long) result.acked, (unsigned long long) count,
                result.ack_secs, result.ack_rate, (unsigned long long) result.errors);
        if (!result.ok)
            rc = -1;
    }
    kh_bench_times_free (&times);
    return rc;
}

/*  The QUERY replay keeps S_AHEAD pages in flight (the broker allows 8 queries per
    connection): page k asks for the seq window [1 + k * 1000, (k + 1) * 1000]
    (until_seq bounds it), which holds exactly 1000 rows of a store that holds count,
    so every page can be asked before the one before it is answered. Answers come in
    the order asked. A page cut short by bytes (more: true) ends its window early:
    the answers still in flight are read and dropped and the replay goes on from its
    next. */
#define S_AHEAD     4

typedef struct {
    zsock_t        *dealer;
    void           *handle;             /* its libzmq socket */
    zpoller_t      *poller;
    uint64_t        count;              /* the replay is of 1..count */
    uint64_t        asked;              /* the next window begins here */
    uint64_t        req;                /* the last req sent */
    uint32_t        flying;             /* pages asked and not yet read */
    msgpack_sbuffer buf;
} s_pager_t;

/* Sends QUERY for the next window. Returns 0, or -1 after printing why. */
static int
s_ask (s_pager_t *p)
{
    uint64_t until = p->asked + KH_QUERY_PAGE_MAX - 1;
    kh_query_t query = { .req = ++p->req, .since_seq = p->asked,
                         .until_seq = until < p->count ? until : p->count,
                         .limit = KH_QUERY_PAGE_MAX };
    msgpack_sbuffer_clear (&p->buf);
    if (kh_query_encode (&p->buf, &query)
    ||  zmq_send (p->handle, KH_CMD_QUERY, strlen (KH_CMD_QUERY), ZMQ_SNDMORE) == -1
    ||  zmq_send (p->handle, p->buf.data, p->buf.size, 0) == -1) {
        fprintf (stderr, "kreishub-bench: W2: cannot send QUERY since_seq %llu\n",
                 (unsigned long long) p->asked);
        return -1;
    }
    p->asked = query.until_seq + 1;
    p->flying++;
    return 0;
}

/* Waits for the answer to the oldest query in flight and decodes it into rows,
   which point into *reply. Returns 0, or -1 after printing why. */
static int
s_answer (s_pager_t *p, zmsg_t **reply_p, kh_rows_t *rows)
{
    uint64_t req = p->req - p->flying + 1;
    p->flying--;
    if (!zpoller_wait (p->poller, S_PAGE_MS)) {
        fprintf (stderr, "kreishub-bench: W2: no answer to QUERY %llu in %d s\n",
                 (unsigned long long) req, S_PAGE_MS / 1000);
        return -1;
    }
    *reply_p = zmsg_recv (p->dealer);
    zframe_t *name = *reply_p ? zmsg_first (*reply_p) : NULL;
    zframe_t *body = *reply_p ? zmsg_next (*reply_p) : NULL;
    kh_problem_t why = { 0, "" };
    kh_error_reply_t err;
    if (name && body && zframe_streq (name, KH_REP_ROWS)
    &&  kh_rows_decode (zframe_data (body), zframe_size (body), rows, &why) == 0) {
        if (rows->req == req)
            return 0;
        snprintf (why.reason, sizeof why.reason, "ROWS for req %llu, not %llu",
                  (unsigned long long) rows->req, (unsigned long long) req);
        kh_rows_release (rows);
    }
    else
    if (name && body && zframe_streq (name, KH_REP_ERROR)
    &&  kh_error_decode (zframe_data (body), zframe_size (body), &err, &why) == 0) {
        fprintf (stderr, "kreishub-bench: W2: QUERY %llu refused: %s: %s\n",
                 (unsigned long long) req, err.name, err.reason);
        return -1;
    }
    fprintf (stderr, "kreishub-bench: W2: bad answer to QUERY %llu: %s\n",
             (unsigned long long) req, why.reason [0] ? why.reason : "not [ROWS][rows]");
    return -1;
}

/* Takes one page in: its rows into replay; a page cut short by bytes restarts the
   windows from its next. Returns 0, or -1 after printing why. */
static int
s_take_page (s_pager_t *p, const kh_rows_t *rows, s_replay_t *replay)
{
    uint64_t since = replay->next_seq;
    for (uint32_t i = 0; i < rows->count; i++)
        s_replay_row (replay, &rows->rows [i]);
    replay->pages++;
    if (!rows->more)
        return 0;
    if (rows->count == 0 || rows->next <= since) {
        fprintf (stderr, "kreishub-bench: W2: page from %llu says more but does not "
                 "advance (next %llu)\n", (unsigned long long) since,
                 (unsigned long long) rows->next);
        return -1;
    }
    while (p->flying > 0) {             /* the windows after it start too late */
        zmsg_t *stale = NULL;
        kh_rows_t dropped;
        int rc = s_answer (p, &stale, &dropped);
        zmsg_destroy (&stale);
        if (rc)
            return -1;
        kh_rows_release (&dropped);
    }
    p->asked = rows->next;
    return 0;
}

/* Starts p on a new DEALER to the hub, for a replay of 1..count. Returns 0, or -1
   (p is then closed). */
static int
s_pager_open (s_pager_t *p, const kh_bench_hub_t *hub, uint64_t count)
{
    memset (p, 0, sizeof *p);
    msgpack_sbuffer_init (&p->buf);
    p->count = count;
    p->asked = 1;
    p->dealer = zsock_new (ZMQ_DEALER);
    if (!p->dealer)
        return -1;
    zsock_set_linger (p->dealer, 0);
    zsock_set_maxmsgsize (p->dealer, 2 * KH_QUERY_PAGE_BYTES);
    kh_bench_secure (hub, p->dealer, NULL);
    p->handle = zsock_resolve (p->dealer);
    p->poller = zpoller_new (p->dealer, NULL);
    return p->poller && zsock_connect (p->dealer, "%s", hub->client) == 0 ? 0 : -1;
}

static void
s_pager_close (s_pager_t *p)
{
    msgpack_sbuffer_destroy (&p->buf);
    zpoller_destroy (&p->poller);
    zsock_destroy (&p->dealer);
}

/* Replays seq 1..count by paging QUERY. Returns 0 if the run could be carried out. */
static int
s_replay_query (const kh_bench_hub_t *hub, uint64_t count, s_replay_t *replay)
{
    s_pager_t p;
    int rc = s_pager_open (&p, hub, count);
    replay->next_seq = 1;
    uint64_t t0 = kh_bench_now_ns ();
    while (rc == 0 && replay->rows < count && !zsys_interrupted) {
        while (rc == 0 && p.flying < S_AHEAD && p.asked <= count)
            rc = s_ask (&p);
        zmsg_t *reply = NULL;
        kh_rows_t rows;
        if (rc == 0 && p.flying == 0) {
            fprintf (stderr, "kreishub-bench: W2: all %llu asked, %llu came\n",
                     (unsigned long long) count, (unsigned long long) replay->rows);
            rc = -1;
        }
        if (rc == 0 && (rc = s_answer (&p, &reply, &rows)) == 0) {
            rc = s_take_page (&p, &rows, replay);
            kh_rows_release (&rows);
        }
        zmsg_destroy (&reply);
    }
    replay->secs = (double) (kh_bench_now_ns () - t0) / 1e9;
    s_pager_close (&p);
    return rc;
}

/* The recorder takes a burst's messages into its search index once no publish came
   for 100 ms, a few hundred per transaction, with the same core and the same loop
   that passes the queries on: a replay right after the fill shares the recorder
   with that. Waits until seq is in the index (a search for the word every bench
   title holds, in [seq, seq]), asking every 100 ms, at most timeout_s. Returns 0,
   or -1 after printing why. */
static int
s_await_index (const kh_bench_hub_t *hub, uint64_t seq, int timeout_s, double *secs)
{
    s_pager_t p;
    int rc = s_pager_open (&p, hub, seq);
    uint64_t t0 = kh_bench_now_ns ();
    for (bool found = false; rc == 0 && !found && !zsys_interrupted; ) {
        kh_query_t query = { .req = ++p.req, .since_seq = seq, .until_seq = seq, .limit = 1 };
        snprintf (query.search, sizeof query.search, "Benchmark");
        msgpack_sbuffer_clear (&p.buf);
        zmsg_t *reply = NULL;
        kh_rows_t rows;
        rc = kh_query_encode (&p.buf, &query)
          || zmq_send (p.handle, KH_CMD_QUERY, strlen (KH_CMD_QUERY), ZMQ_SNDMORE) == -1
          || zmq_send (p.handle, p.buf.data, p.buf.size, 0) == -1 ? -1 : 0;
        p.flying = 1;
        if (rc == 0 && (rc = s_answer (&p, &reply, &rows)) == 0) {
            found = rows.count == 1;
            kh_rows_release (&rows);
        }
        zmsg_destroy (&reply);
        *secs = (double) (kh_bench_now_ns () - t0) / 1e9;
        if (rc == 0 && !found && *secs > timeout_s) {
            fprintf (stderr, "kreishub-bench: W2: seq %llu not in the search index after "
                     "%d s\n", (unsigned long long) seq, timeout_s);
            rc = -1;
        }
        if (rc == 0 && !found)
            zclock_sleep (100);         /* another process's progress: no event to wait on */
    }
    s_pager_close (&p);
    return rc;
}

#ifdef KH_HAVE_LIBKREISHUB
/* Replays seq 1..count through libkreishub's subscriber (since_seq 1, any type).
   Returns 0 if the run could be carried out. */
static int
s_replay_subscriber (const kh_bench_hub_t *hub, uint64_t count, s_replay_t *replay)
{
    uint64_t t0 = kh_bench_now_ns ();
    kh_keys_t *keys = hub->server_key ? kh_keys_load (hub->reader_file, hub->server_file,
                                                      NULL) : NULL;
    kh_subscriber_t *sub = !hub->server_key
                         ? kh_subscriber_new (hub->client, hub->live, NULL, NULL, 1)
                         : keys ? kh_subscriber_new_secure (hub->client, hub->live, keys,
                                                            NULL, NULL, 1) : NULL;
    kh_keys_destroy (&keys);
    if (!sub)
        return -1;
    replay->next_seq = 1;
    int rc = 0;
    while (rc == 0 && replay->rows < count && !zsys_interrupted) {
        kh_record_t rec;
        rc = kh_subscriber_next (sub, S_PAGE_MS, &rec);
        if (rc == 0)
            s_replay_row (replay, &rec);
        else
            fprintf (stderr, "kreishub-bench: W2: kh_subscriber_next after %llu rows: %s\n",
                     (unsigned long long) replay->rows, kh_strerror (rc));
    }
    replay->secs = (double) (kh_bench_now_ns () - t0) / 1e9;
    kh_subscriber_destroy (&sub);
    return rc ? -1 : 0;
}
#endif

int
kh_bench_w2 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, double *rate)
{
    *rate = 0;
    uint64_t head, count = opts->replay;
    printf ("\nW2 replay: %llu stored messages from seq 1, QUERY pages of %d, %d in "
            "flight; once while the recorder indexes what was just published for search "
            "(query-indexing), then on an idle recorder\n", (unsigned long long) count,
            KH_QUERY_PAGE_MAX, S_AHEAD);
    fflush (stdout);
    if (kh_bench_ping (hub, &head))
        return -1;
    if (head < count && s_fill (opts, hub, head, count - head))
        return -1;
    s_replay_t busy = { 0 };
    int rc = s_replay_query (hub, count, &busy);
    if (s_replay_report ("query-indexing", &busy, count))
        rc = -1;
    double waited = 0;
    if (rc == 0 && s_await_index (hub, count, opts->timeout_s, &waited) == 0)
        printf ("  the recorder's search index held seq %llu after another %.1f s; "
                "from now on it is idle\n", (unsigned long long) count, waited);
    else
        rc = -1;
    s_replay_t replay = { 0 };
    if (rc == 0 && s_replay_query (hub, count, &replay))
        rc = -1;
    if (s_replay_report ("query", &replay, count))
        rc = -1;
    if (rc == 0 && replay.secs > 0)
        *rate = (double) replay.rows / replay.secs;
#ifdef KH_HAVE_LIBKREISHUB
    s_replay_t sub_replay = { 0 };
    int sub_rc = s_replay_subscriber (hub, count, &sub_replay);
    if (s_replay_report ("kh_subscriber", &sub_replay, count) || sub_rc)
        rc = -1;
#else
    printf ("  (libkreishub is not built: no replay through kh_subscriber)\n");
#endif
    return rc;
}
