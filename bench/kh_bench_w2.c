/*  kh_bench_w2.c - W2, replay: a new client catches up from seq 1 by paging QUERY
    (since_seq = next while more), and, where libkreishub is built, through its
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

/* Sends QUERY {req, since_seq, until_seq, limit 1000} and waits for its ROWS, which it
   decodes into rows. Returns 0, or -1 after printing why. */
static int
s_page (zsock_t *dealer, zpoller_t *poller, const kh_query_t *query, zmsg_t **reply_p,
        kh_rows_t *rows)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = kh_query_encode (&buf, query);
    if (rc == 0) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, KH_CMD_QUERY);
        zmsg_addmem (msg, buf.data, buf.size);
        rc = zmsg_send (&msg, dealer);
    }
    msgpack_sbuffer_destroy (&buf);
    if (rc || !zpoller_wait (poller, S_PAGE_MS)) {
        fprintf (stderr, "kreishub-bench: W2: no answer to QUERY since_seq %llu in %d s\n",
                 (unsigned long long) query->since_seq, S_PAGE_MS / 1000);
        return -1;
    }
    *reply_p = zmsg_recv (dealer);
    zframe_t *name = *reply_p ? zmsg_first (*reply_p) : NULL;
    zframe_t *body = *reply_p ? zmsg_next (*reply_p) : NULL;
    kh_problem_t why = { 0, "" };
    kh_error_reply_t err;
    if (name && body && zframe_streq (name, KH_REP_ROWS)
    &&  kh_rows_decode (zframe_data (body), zframe_size (body), rows, &why) == 0) {
        if (rows->req == query->req)
            return 0;
        snprintf (why.reason, sizeof why.reason, "ROWS for req %llu, not %llu",
                  (unsigned long long) rows->req, (unsigned long long) query->req);
        kh_rows_release (rows);
    }
    else
    if (name && body && zframe_streq (name, KH_REP_ERROR)
    &&  kh_error_decode (zframe_data (body), zframe_size (body), &err, &why) == 0) {
        fprintf (stderr, "kreishub-bench: W2: QUERY since_seq %llu refused: %s: %s\n",
                 (unsigned long long) query->since_seq, err.name, err.reason);
        return -1;
    }
    fprintf (stderr, "kreishub-bench: W2: bad answer to QUERY since_seq %llu: %s\n",
             (unsigned long long) query->since_seq, why.reason [0] ? why.reason
                                                               : "not [ROWS][rows]");
    return -1;
}

/* Replays seq 1..count by paging QUERY. Returns 0 if the run could be carried out. */
static int
s_replay_query (const kh_bench_hub_t *hub, uint64_t count, s_replay_t *replay)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return -1;
    zsock_set_linger (dealer, 0);
    zsock_set_maxmsgsize (dealer, 2 * KH_QUERY_PAGE_BYTES);
    kh_bench_secure (hub, dealer, NULL);
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int rc = zsock_connect (dealer, "%s", hub->client);
    kh_query_t query = { .since_seq = 1, .until_seq = count, .limit = KH_QUERY_PAGE_MAX };
    replay->next_seq = 1;
    uint64_t t0 = kh_bench_now_ns ();
    for (bool more = true; rc == 0 && more && !zsys_interrupted; ) {
        zmsg_t *reply = NULL;
        kh_rows_t rows;
        query.req++;
        rc = s_page (dealer, poller, &query, &reply, &rows);
        if (rc == 0) {
            for (uint32_t i = 0; i < rows.count; i++)
                s_replay_row (replay, &rows.rows [i]);
            replay->pages++;
            more = rows.more;
            if (more && (rows.count == 0 || rows.next <= query.since_seq)) {
                fprintf (stderr, "kreishub-bench: W2: page from %llu says more but "
                         "does not advance (next %llu)\n",
                         (unsigned long long) query.since_seq,
                         (unsigned long long) rows.next);
                rc = -1;
            }
            query.since_seq = rows.next;
            kh_rows_release (&rows);
        }
        zmsg_destroy (&reply);
    }
    replay->secs = (double) (kh_bench_now_ns () - t0) / 1e9;
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
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
    printf ("\nW2 replay: %llu stored messages from seq 1, QUERY pages of %d\n",
            (unsigned long long) count, KH_QUERY_PAGE_MAX);
    fflush (stdout);
    if (kh_bench_ping (hub, &head))
        return -1;
    if (head < count && s_fill (opts, hub, head, count - head))
        return -1;
    s_replay_t replay = { 0 };
    int rc = s_replay_query (hub, count, &replay);
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
