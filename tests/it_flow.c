/*  it_flow.c - drives the real broker and recorder through libkreishub as a user
    would, and proves the delivery promises end to end: publish, ACK, live delivery and
    log agree; a retried publish is stored once; a subscriber resuming with since_seq
    switches from the store to live without gap or duplicate; and a subscriber behind a
    tiny live queue still gets every record once, the drops filled from the store.

    Everything is checked against what this test published (phase 1) or against the
    log read back afterwards (phases 3 and 4): which seqs, in which order, and a hash
    of every envelope's bytes.

    The test does not sleep for what it can observe. A subscriber is used only once
    it has heard from the live endpoint (its first heartbeat): then the broker has
    its subscriptions. And each phase ends with a closing record that every
    subscriber's filter matches, published last: a subscriber that delivers exactly
    what it should up to that one has delivered nothing extra and nothing twice, with
    no quiet period to wait out. */
#include <signal.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_client_priv.h"          /* kh__subscriber_heard, a hook for tests */
#include "kh_codec.h"
#include "kh_harness.h"

#define S_AGS_A     "05162004"          /* a municipality */
#define S_AGS_B     "05162008"          /* another one of the same Kreis */
#define S_AGS_K     "05162"             /* the Kreis itself (5 digits) */
#define S_WAIT      10000               /* ms: any single answer, generously (ASan) */
#define S_FIRST     60                  /* phase 1: messages published one by one */
#define S_RESUME    800                 /* phase 3: messages published while resuming */
#define S_FLOOD     5000                /* phase 4: messages published pipelined */
#define S_WINDOW    500                 /* phase 4: publishes in flight */
#define S_RESUME_WINDOW 8               /* phase 3: publishes in flight */

static const char *const s_senders [] = { S_AGS_A, S_AGS_B, S_AGS_K };

/* A secure hub takes each message from the certificate of its sender: one client
   per sender publishes, opened for each hub; queries and pings go through a client
   of the admin, who reads everything. */
static kh_client_t *s_publishers [3];

/* Opens the publishing clients of hub. Returns 0, or -1 if one cannot be had. */
static int
s_publishers_open (kh_hub_t *hub)
{
    int rc = 0;
    for (int i = 0; i < 3; i++)
        if (!(s_publishers [i] = kh_hub_client (hub, s_senders [i])))
            rc = -1;
    return rc;
}

static void
s_publishers_close (void)
{
    for (int i = 0; i < 3; i++)
        kh_client_destroy (&s_publishers [i]);
}

/* The client that publishes as from (one of s_senders). */
static kh_client_t *
s_as (const char *from)
{
    for (int i = 0; i < 3; i++)
        if (streq (from, s_senders [i]))
            return s_publishers [i];
    return NULL;
}

/* ------------------------------------------------------------------ the log */

/* One message as this test knows it: where it stands, what it is, its bytes' hash. */
typedef struct {
    uint64_t seq;
    uint64_t at;                        /* recorder's commit time (0: not known) */
    uint64_t hash;                      /* FNV-1a of the envelope bytes */
    kh_seqinfo_t info;                  /* as delivered (links), if known */
    uint8_t  id [KH_ID_SIZE];
    char     type [KH_TYPE_MAX + 1];
    char     from [KH_AGS_MAX + 1];
} s_row_t;

/* A growable list of rows, in the order they were added. */
typedef struct {
    s_row_t *rows;
    size_t   count;
    size_t   cap;
} s_log_t;

static uint64_t
s_hash (const void *data, size_t size)
{
    const uint8_t *p = (const uint8_t *) data;
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ p [i]) * 1099511628211ULL;
    return hash;
}

/* Appends a row; returns it, or NULL if memory ran out. */
static s_row_t *
s_log_push (s_log_t *log)
{
    if (log->count == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        s_row_t *rows = (s_row_t *) realloc (log->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        log->rows = rows;
        log->cap = cap;
    }
    s_row_t *row = &log->rows [log->count++];
    memset (row, 0, sizeof *row);
    return row;
}

static void
s_log_free (s_log_t *log)
{
    free (log->rows);
    memset (log, 0, sizeof *log);
}

/* Appends the message of an envelope (seq and at as given). Returns 0, or -1 if the
   envelope is not valid or memory ran out. */
static int
s_log_add (s_log_t *log, const void *envelope, size_t size, const kh_seqinfo_t *info)
{
    kh_envelope_t env;
    kh_problem_t why;
    if (kh_envelope_check (envelope, size, &env, NULL, &why))
        return -1;
    s_row_t *row = s_log_push (log);
    if (!row)
        return -1;
    row->seq = info->seq;
    row->at = info->at;
    row->info = *info;
    row->hash = s_hash (envelope, size);
    memcpy (row->id, env.id, KH_ID_SIZE);
    snprintf (row->type, sizeof row->type, "%s", env.type);
    snprintf (row->from, sizeof row->from, "%s", env.from);
    return 0;
}

/* kh_record_fn that appends every record to the s_log_t in arg. */
static int
s_collect (const kh_record_t *rec, void *arg)
{
    s_log_t *log = (s_log_t *) arg;
    if (s_log_add (log, rec->msg, rec->msg_size, &rec->info)) {
        s_row_t *row = s_log_push (log);   /* keep the seq: the check names it */
        if (row)
            row->seq = rec->info.seq;
    }
    return 0;
}

/* True if row passes the query's filters (the store's rules, PROTOCOL.md 5). */
static bool
s_matches (const kh_query_t *q, const s_row_t *row)
{
    return (!q->since_seq || row->seq >= q->since_seq)
        && (!q->until_seq || row->seq <= q->until_seq)
        && (!q->since_at || row->at >= q->since_at)
        && (!q->until_at || row->at <= q->until_at)
        && kh_query_wants_type (q, row->type) && kh_query_wants_from (q, row->from);
}

/* Fills out with the rows of log that pass q, at most max (0: all). */
static void
s_log_filter (const s_log_t *log, const kh_query_t *q, size_t max, s_log_t *out)
{
    for (size_t i = 0; i < log->count && (!max || out->count < max); i++)
        if (s_matches (q, &log->rows [i])) {
            s_row_t *row = s_log_push (out);
            if (row)
                *row = log->rows [i];
        }
}

/* Checks that got holds exactly the rows of expect, in order (seq and bytes).
   Reports the first difference only. */
static void
s_same_rows (const char *name, const s_log_t *got, const s_log_t *expect)
{
    size_t i = 0;
    while (i < got->count && i < expect->count && got->rows [i].seq == expect->rows [i].seq
       &&  got->rows [i].hash == expect->rows [i].hash)
        i++;
    KH_CHECK (name, i == got->count && i == expect->count,
              "%zu records, expected %zu; first difference at #%zu: seq %llu, expected %llu",
              got->count, expect->count, i,
              (unsigned long long) (i < got->count ? got->rows [i].seq : 0),
              (unsigned long long) (i < expect->count ? expect->rows [i].seq : 0));
}

/* Reads the whole log (paging as needed) into log. Returns kh_client_query's code. */
static int
s_log_load (kh_client_t *client, s_log_t *log)
{
    kh_query_t q = { 0 };
    return kh_client_query (client, &q, 0, S_WAIT, s_collect, log);
}

/* ------------------------------------------------------------- publishing */

/* Builds a valid envelope of type from sender into out; number n shapes the body.
   id NULL: a new one. Returns 0, or -1 if the codec refused it. */
static int
s_envelope (msgpack_sbuffer *out, const char *type, const char *from, uint32_t n,
            const uint8_t *id)
{
    uint8_t fresh [KH_ID_SIZE];
    if (!id) {
        kh_id_new (fresh);
        id = fresh;
    }
    char title [80], hf [4];
    snprintf (title, sizeof title, "flow %s %u from %s", type, n, from);
    snprintf (hf, sizeof hf, "%u", n % 5 + 1);
    kh_problem_t why;
    kh_builder_t *builder = kh_builder_new (type);
    msgpack_sbuffer_clear (out);
    int rc = builder && kh_builder_set (builder, "title", title, &why) == 0
          && kh_builder_set (builder, "hf", hf, &why) == 0
          && kh_builder_set (builder, "keywords", "flow, it", &why) == 0
          && kh_builder_pack (builder, id, from, kh_now_ms (), out, &why) == 0 ? 0 : -1;
    kh_builder_destroy (&builder);
    return rc;
}

/* The type and sender of message n of a load: a mix of both types and all senders. */
static const char *
s_type_of (uint32_t n)
{
    return n % 3 == 1 ? "offer" : "idea";
}

static int
s_sender_of (uint32_t n)
{
    return (int) ((n / 2) % 3);
}

static const char *
s_from_of (uint32_t n)
{
    return s_senders [s_sender_of (n)];
}

/* What a publisher actor is to do. Owned by the caller, read-only, outlives it. */
typedef struct {
    const char *endpoint;
    uint32_t    count;                  /* messages to publish */
    uint32_t    window;                 /* in flight at most (1: one by one) */
    kh_keys_t  *keys [3];               /* of each of s_senders; NULL: a plain hub */
} s_load_t;

/* Opens the load's clients, one per sender. Returns 0, or -1 if one cannot be had. */
static int
s_load_clients (const s_load_t *load, kh_client_t *clients [3])
{
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        clients [i] = load->keys [i] ? kh_client_new_secure (load->endpoint, load->keys [i])
                                     : kh_client_new (load->endpoint);
        rc |= clients [i] ? 0 : -1;
    }
    return rc;
}

/* Actor: publishes load->count new messages with its own clients (one per sender),
   keeping at most load->window in flight, then sends "acked failed" (two uint32) and
   waits for $TERM. A $TERM that comes early stops it. It waits for each answer on a
   client that has one to come; the others' answers wait in their sockets. */
static void
s_publisher (zsock_t *pipe, void *args)
{
    const s_load_t *load = (const s_load_t *) args;
    kh_client_t *clients [3];
    bool ready = s_load_clients (load, clients) == 0;
    zsock_signal (pipe, 0);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    uint32_t sent = 0, acked = 0, failed = ready ? 0 : load->count, waiting [3] = { 0 };
    while (acked + failed < load->count && !(zsock_events (pipe) & ZMQ_POLLIN)) {
        while (sent < load->count && sent - acked - failed < load->window) {
            int c = s_sender_of (sent);
            if (s_envelope (&buf, s_type_of (sent), s_from_of (sent), sent, NULL)
            ||  kh_client_send (clients [c], buf.data, buf.size))
                failed++;
            else
                waiting [c]++;
            sent++;
        }
        kh_reply_t reply;
        if (acked + failed == load->count)
            break;
        int c = (int) ((acked + failed) % 3);
        while (!waiting [c])
            c = (c + 1) % 3;
        if (kh_client_recv_reply (clients [c], S_WAIT, &reply)) {
            failed = sent - acked;      /* nothing answers any more */
            break;
        }
        waiting [c]--;
        if (reply.kind == KH_REPLY_ACK && !reply.dup)
            acked++;
        else
            failed++;
    }
    msgpack_sbuffer_destroy (&buf);
    for (int i = 0; i < 3; i++)
        kh_client_destroy (&clients [i]);
    zsock_send (pipe, "44", acked, failed);
    char *command;
    while ((command = zstr_recv (pipe))) {
        bool term = streq (command, "$TERM");
        zstr_free (&command);
        if (term)
            break;
    }
}

/* Waits for the publisher's result; returns true if it said all were acknowledged. */
static bool
s_publisher_result (zactor_t *actor, int timeout_ms, uint32_t count)
{
    zpoller_t *poller = zpoller_new (actor, NULL);
    uint32_t acked = 0, failed = 0;
    bool done = zpoller_wait (poller, timeout_ms) == actor
             && zsock_recv (actor, "44", &acked, &failed) == 0;
    zpoller_destroy (&poller);
    KH_CHECK ("the publisher's messages are all acknowledged as new", done && acked == count
              && failed == 0, "done %d, acked %u, failed %u of %u", done, acked, failed, count);
    return done;
}

/* --------------------------------------------------------------- following */

/* Reads from sub until got holds count records or a call fails (then says so). */
static void
s_read (const char *name, kh_subscriber_t *sub, size_t count, s_log_t *got)
{
    while (got->count < count) {
        kh_record_t rec;
        int rc = kh_subscriber_next (sub, S_WAIT, &rec);
        if (rc) {
            KH_CHECK (name, false, "kh_subscriber_next: %s after %zu of %zu records",
                      kh_strerror (rc), got->count, count);
            return;
        }
        s_collect (&rec, got);
    }
}

/* Waits until each of the count subscribers has heard from the live endpoint (its
   first heartbeat), so that its subscriptions are in effect and it has its starting
   point before anything is published; on an idle hub nothing may be delivered
   meanwhile. */
static void
s_await_heard (kh_subscriber_t *const *subs, size_t count)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    size_t heard = 0;
    for (size_t i = 0; i < count; i++) {
        int rc = KH_ETIMEOUT;
        kh_record_t rec;
        while (rc == KH_ETIMEOUT && !kh__subscriber_heard (subs [i])
           &&  zclock_mono () < deadline)
            rc = kh_subscriber_next (subs [i], 2, &rec);
        KH_CHECK ("a subscriber on an idle hub delivers nothing", rc == KH_ETIMEOUT,
                  "subscriber %zu: %s (seq %llu)", i, kh_strerror (rc),
                  (unsigned long long) (rc == 0 ? rec.info.seq : 0));
        heard += kh__subscriber_heard (subs [i]);
    }
    KH_CHECK ("a new subscriber hears a heartbeat", heard == count, "%zu of %zu in %d ms",
              heard, count, S_WAIT);
}

/* Checks that what a subscriber is to get (expect) ends with the phase's closing
   record, seq closer: then getting exactly expect, in order, leaves no room for
   anything extra or repeated. */
static void
s_check_closed (const char *name, const s_log_t *expect, uint64_t closer)
{
    uint64_t last = expect->count ? expect->rows [expect->count - 1].seq : 0;
    KH_CHECK ("the closing record is the last a subscriber is to get", last == closer,
              "%s: last seq %llu, the closing one %llu", name, (unsigned long long) last,
              (unsigned long long) closer);
}

/* Publishes a closing record of type from sender (one of s_senders); returns its
   seq (0 if it was not acknowledged). */
static uint64_t
s_publish_closer (const char *type, const char *from)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    uint64_t seq = 0;
    int rc = s_envelope (&buf, type, from, 99999, NULL);
    if (rc == 0)
        rc = kh_client_publish (s_as (from), buf.data, buf.size, S_WAIT, 2, &seq, NULL,
                                NULL);
    KH_CHECK ("a closing record is acknowledged", rc == 0 && seq > 0, "%s",
              kh_strerror (rc));
    msgpack_sbuffer_destroy (&buf);
    return rc == 0 ? seq : 0;
}

/* ------------------------------------------------------- phase 1: the flow */

/* Publishes S_FIRST messages one by one; each ACK must name a new seq, the next one.
   The last is the closing record: an idea from S_AGS_A, which every subscriber of
   phase 1 follows. Fills sent with what was published, at from the subscriber later. */
static void
s_publish_first (s_log_t *sent)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    for (uint32_t n = 0; n < S_FIRST; n++) {
        if (n == S_FIRST / 3 || n == 2 * S_FIRST / 3)
            kh_hub_next_ms ();          /* so that commit times (at) differ here */
        bool last = n == S_FIRST - 1;
        const char *from = last ? S_AGS_A : s_from_of (n);
        int built = s_envelope (&buf, last ? "idea" : s_type_of (n), from, n, NULL);
        KH_CHECK ("the codec builds a valid envelope", built == 0, "message %u", n);
        uint64_t seq = 0;
        bool dup = true;
        kh_error_reply_t err;
        int rc = kh_client_publish (s_as (from), buf.data, buf.size, S_WAIT, 2, &seq, &dup,
                                    &err);
        KH_CHECK ("a publish is acknowledged with the next seq, not a duplicate",
                  rc == 0 && seq == n + 1 && !dup, "message %u: %s %s, seq %llu dup %d", n,
                  kh_strerror (rc), err.reason, (unsigned long long) seq, dup);
        kh_seqinfo_t info = { .seq = seq };
        s_log_add (sent, buf.data, buf.size, &info);
    }
    msgpack_sbuffer_destroy (&buf);
}

/* Takes at from the records delivered (unfiltered) and checks them and the links
   against what was published. */
static void
s_check_links (s_log_t *sent, const s_log_t *all, uint64_t t0, uint64_t t1)
{
    for (size_t i = 0; i < sent->count && i < all->count; i++) {
        s_row_t *row = &sent->rows [i];
        uint64_t pt = 0, ps = 0, pts = 0;
        for (size_t j = 0; j < i; j++) {
            const s_row_t *before = &sent->rows [j];
            bool type = streq (before->type, row->type), from = streq (before->from, row->from);
            pt = type ? before->seq : pt;
            ps = from ? before->seq : ps;
            pts = type && from ? before->seq : pts;
        }
        const kh_seqinfo_t *info = &all->rows [i].info;
        row->at = info->at;
        KH_CHECK ("a record's previous-links name the last of its type, sender, both",
                  info->prev_type == pt && info->prev_sender == ps && info->prev_pair == pts,
                  "seq %llu: pt %llu ps %llu pts %llu, expected %llu %llu %llu",
                  (unsigned long long) info->seq, (unsigned long long) info->prev_type,
                  (unsigned long long) info->prev_sender, (unsigned long long) info->prev_pair,
                  (unsigned long long) pt, (unsigned long long) ps, (unsigned long long) pts);
        KH_CHECK ("commit times lie within the run and never decrease",
                  info->at >= t0 && info->at <= t1 && (i == 0 || info->at >= sent->rows [i - 1].at),
                  "seq %llu at %llu, run %llu..%llu", (unsigned long long) info->seq,
                  (unsigned long long) info->at, (unsigned long long) t0,
                  (unsigned long long) t1);
    }
}

/* Follows sub to the end of what it should get out of sent; checks it. */
static void
s_follow_check (const char *name, kh_subscriber_t *sub, const s_log_t *sent,
                const char *type, const char *from, s_log_t *got)
{
    kh_query_t filter = { 0 };
    if (type && *type)
        kh_query_add_type (&filter, type, NULL);
    if (from && *from)
        kh_query_add_from (&filter, from, NULL);
    s_log_t expect = { 0 };
    s_log_filter (sent, &filter, 0, &expect);
    s_check_closed (name, &expect, S_FIRST);
    s_read (name, sub, expect.count, got);
    s_same_rows (name, got, &expect);
    uint64_t gaps = 1, filled = 1;
    kh_subscriber_stats (sub, &gaps, &filled);
    KH_CHECK ("with room in the live queue, everything comes live (no gap to fill)",
              gaps == 0 && filled == 0, "%s: gaps %llu filled %llu", name,
              (unsigned long long) gaps, (unsigned long long) filled);
    s_log_free (&expect);
}

/* Runs one query against the log and compares with the same filter applied to sent. */
static void
s_query_check (kh_client_t *client, const char *name, const kh_query_t *q, uint64_t max,
               const s_log_t *sent, size_t at_least)
{
    s_log_t got = { 0 }, expect = { 0 };
    int rc = kh_client_query (client, q, max, S_WAIT, s_collect, &got);
    KH_CHECK (name, rc == 0, "kh_client_query: %s", kh_strerror (rc));
    s_log_filter (sent, q, (size_t) max, &expect);
    s_same_rows (name, &got, &expect);
    KH_CHECK ("a query check selects enough records to mean something",
              expect.count >= at_least, "%s: %zu", name, expect.count);
    s_log_free (&got);
    s_log_free (&expect);
}

/* History queries with every filter, against what was published. */
static void
s_queries (kh_client_t *client, const s_log_t *sent)
{
    kh_query_t q = { .type = { "idea" }, .type_count = 1 };
    s_query_check (client, "a query by type with a limit gets the first matching",
                   &q, 7, sent, 7);
    q = (kh_query_t) { .from = { S_AGS_A }, .from_count = 1, .since_seq = 10, .until_seq = 40 };
    s_query_check (client, "a query by sender and seq range gets exactly those",
                   &q, 0, sent, 5);
    q = (kh_query_t) { .type = { "offer" }, .type_count = 1, .from = { S_AGS_K },
                       .from_count = 1 };
    s_query_check (client, "a query by a Kreis sender does not match its municipalities",
                   &q, 0, sent, 3);
    q = (kh_query_t) { .since_at = sent->rows [S_FIRST / 3].at,
                       .until_at = sent->rows [2 * S_FIRST / 3].at };
    s_query_check (client, "a query by commit time gets exactly those committed then",
                   &q, 0, sent, S_FIRST / 3);
    q = (kh_query_t) { .type = { "idea" }, .type_count = 1, .since_at = sent->rows [S_FIRST / 3].at,
                       .since_seq = 5, .from = { S_AGS_B }, .from_count = 1 };
    s_query_check (client, "filters combine", &q, 3, sent, 3);
    q = (kh_query_t) { .since_seq = S_FIRST + 1 };
    s_query_check (client, "a query beyond the head gets nothing", &q, 0, sent, 0);
    q = (kh_query_t) { .until_at = sent->rows [0].at - 1 };
    s_query_check (client, "a query before the first commit gets nothing", &q, 0, sent, 0);
}

/* Phase 1: subscribers (by type, by sender, everything) see exactly what was
   published, with the ACK's seq; the log answers every filter. */
static void
s_phase_flow (kh_client_t *client, kh_subscriber_t *subs [3], s_log_t *sent)
{
    s_await_heard (subs, 3);
    uint64_t t0 = kh_now_ms ();
    s_publish_first (sent);
    uint64_t t1 = kh_now_ms ();
    s_log_t all = { 0 }, ideas = { 0 }, froms = { 0 };
    s_follow_check ("a subscriber to everything gets every record, with the ACK's seq",
                    subs [2], sent, NULL, NULL, &all);
    s_follow_check ("a subscriber to one type gets its records only, in order",
                    subs [0], sent, "idea", NULL, &ideas);
    s_follow_check ("a subscriber to one sender gets its records only, in order",
                    subs [1], sent, NULL, S_AGS_A, &froms);
    for (size_t i = 0; i < all.count && i < sent->count; i++)
        KH_CHECK ("a delivered record carries the published id", memcmp (all.rows [i].id,
                  sent->rows [i].id, KH_ID_SIZE) == 0, "seq %llu",
                  (unsigned long long) all.rows [i].seq);
    if (all.count == sent->count) {
        s_check_links (sent, &all, t0, t1);
        s_queries (client, sent);
    }
    uint64_t head = 0;
    bool up = false;
    int rc = kh_client_ping (client, S_WAIT, &head, &up);
    KH_CHECK ("ping names the head and a connected recorder", rc == 0 && head == S_FIRST
              && up, "%s head %llu up %d", kh_strerror (rc), (unsigned long long) head, up);
    s_log_free (&all);
    s_log_free (&ideas);
    s_log_free (&froms);
}

/* -------------------------------------------------- phase 2: retried publish */

/* Counts the records in the log whose envelope has id. */
static size_t
s_count_id (kh_client_t *client, const uint8_t *id, uint64_t *head)
{
    s_log_t log = { 0 };
    int rc = s_log_load (client, &log);
    KH_CHECK ("the whole log can be read", rc == 0, "%s", kh_strerror (rc));
    size_t found = 0;
    for (size_t i = 0; i < log.count; i++)
        found += memcmp (log.rows [i].id, id, KH_ID_SIZE) == 0;
    *head = log.count ? log.rows [log.count - 1].seq : 0;
    s_log_free (&log);
    return found;
}

/* Publishes env again and again expecting a duplicate of seq. */
static void
s_publish_dup (kh_client_t *client, const msgpack_sbuffer *env, uint64_t expect_seq)
{
    uint64_t seq = 0;
    bool dup = false;
    int rc = kh_client_publish (client, env->data, env->size, S_WAIT, 2, &seq, &dup, NULL);
    KH_CHECK ("the same envelope again is a duplicate with the original seq",
              rc == 0 && dup && seq == expect_seq, "%s seq %llu (expected %llu) dup %d",
              kh_strerror (rc), (unsigned long long) seq, (unsigned long long) expect_seq, dup);
}

/* Phase 2: a resend is stored once, also when the first tries got no answer because
   the recorder was stopped. The subscriber sees each of them once, then the closing
   record. */
static void
s_phase_retry (kh_hub_t *hub, kh_client_t *client, kh_subscriber_t *all)
{
    msgpack_sbuffer first, second;
    msgpack_sbuffer_init (&first);
    msgpack_sbuffer_init (&second);
    s_envelope (&first, "idea", S_AGS_A, 9001, NULL);
    s_envelope (&second, "offer", S_AGS_B, 9002, NULL);
    uint64_t seq = 0;
    bool dup = true;
    kh_client_t *a = s_as (S_AGS_A), *b = s_as (S_AGS_B);
    int rc = kh_client_publish (a, first.data, first.size, S_WAIT, 2, &seq, &dup, NULL);
    KH_CHECK ("a new envelope is stored", rc == 0 && seq == S_FIRST + 1 && !dup,
              "%s seq %llu dup %d", kh_strerror (rc), (unsigned long long) seq, dup);
    s_publish_dup (a, &first, S_FIRST + 1);

    /* No answer while the recorder is stopped: the client resends and gives up. */
    KH_CHECK ("the recorder can be stopped", kill (hub->recorder_pid, SIGSTOP) == 0, "kill");
    int64_t start = zclock_mono ();
    rc = kh_client_publish (b, second.data, second.size, 100, 2, &seq, &dup, NULL);
    int64_t took = zclock_mono () - start;
    uint64_t head = 0;
    int pinged = kh_client_ping (client, S_WAIT, &head, NULL);
    kill (hub->recorder_pid, SIGCONT);
    KH_CHECK ("without the recorder a publish times out after its resends",
              rc == KH_ETIMEOUT && took >= 3 * 100, "%s after %lld ms", kh_strerror (rc),
              (long long) took);
    KH_CHECK ("nothing is acknowledged while the recorder is stopped",
              pinged == 0 && head == S_FIRST + 1, "%s head %llu", kh_strerror (pinged),
              (unsigned long long) head);
    /* The user retries with the same bytes once the hub is back. */
    rc = kh_client_publish (b, second.data, second.size, S_WAIT, 2, &seq, &dup, NULL);
    KH_CHECK ("the retry after the timeouts gets the next seq", rc == 0 && seq == S_FIRST + 2,
              "%s seq %llu", kh_strerror (rc), (unsigned long long) seq);
    s_publish_dup (b, &second, S_FIRST + 2);
    kh_envelope_t env;
    kh_problem_t why;
    kh_envelope_check (second.data, second.size, &env, NULL, &why);
    size_t found = s_count_id (client, env.id, &head);
    KH_CHECK ("an envelope sent five times is stored once", found == 1, "%zu copies", found);
    KH_CHECK ("the log's head counts each distinct message once", head == S_FIRST + 2,
              "head %llu", (unsigned long long) head);
    rc = kh_client_ping (client, S_WAIT, &head, NULL);
    KH_CHECK ("the broker's head agrees", rc == 0 && head == S_FIRST + 2, "%s head %llu",
              kh_strerror (rc), (unsigned long long) head);

    /* Live, each went out once: S_FIRST + 1 and + 2, then the closing record. */
    s_log_t got = { 0 }, expect = { 0 };
    kh_seqinfo_t info = { .seq = S_FIRST + 1 };
    s_log_add (&expect, first.data, first.size, &info);
    info.seq = S_FIRST + 2;
    s_log_add (&expect, second.data, second.size, &info);
    msgpack_sbuffer closer;
    msgpack_sbuffer_init (&closer);
    s_envelope (&closer, "idea", S_AGS_A, 9003, NULL);
    rc = kh_client_publish (a, closer.data, closer.size, S_WAIT, 2, &seq, &dup, NULL);
    KH_CHECK ("the closing record is stored next", rc == 0 && seq == S_FIRST + 3 && !dup,
              "%s seq %llu dup %d", kh_strerror (rc), (unsigned long long) seq, dup);
    info.seq = S_FIRST + 3;
    s_log_add (&expect, closer.data, closer.size, &info);
    s_read ("a subscriber gets each retried message once", all, 3, &got);
    s_same_rows ("a subscriber gets each retried message once, nothing again", &got,
                 &expect);
    msgpack_sbuffer_destroy (&closer);
    s_log_free (&got);
    s_log_free (&expect);
    msgpack_sbuffer_destroy (&first);
    msgpack_sbuffer_destroy (&second);
}

/* ---------------------------------------- phases 3 and 4: following a load */

/* A subscriber under test, what it is to get, and what it got. */
typedef struct {
    const char      *name;
    kh_subscriber_t *sub;
    const char      *type;              /* its filter (NULL: any) */
    const char      *from;
    uint64_t         since;             /* its since_seq (0: live only, from the start) */
    s_log_t          got;
    int              error;             /* first failure of kh_subscriber_next */
    uint64_t         while_load;        /* last seq delivered while the load still ran */
} s_follower_t;

static void
s_follower_init (s_follower_t *f, const char *name, kh_hub_t *hub, const char *type,
                 const char *from, uint64_t since)
{
    memset (f, 0, sizeof *f);
    f->name = name;
    f->type = type;
    f->from = from;
    f->since = since;
    f->sub = kh_hub_subscriber (hub, "admin", type, from, since);
    KH_CHECK ("a subscriber can be created", f->sub, "%s", name);
}

static void
s_follower_destroy (s_follower_t *f)
{
    kh_subscriber_destroy (&f->sub);
    s_log_free (&f->got);
}

/* The last seq f delivered, 0 if none. */
static uint64_t
s_follower_last (const s_follower_t *f)
{
    return f->got.count ? f->got.rows [f->got.count - 1].seq : 0;
}

/* Takes at most one record from f, waiting up to ms. */
static void
s_follower_poll (s_follower_t *f, int ms)
{
    kh_record_t rec;
    int rc = f->sub ? kh_subscriber_next (f->sub, ms, &rec) : KH_EINVAL;
    if (rc == 0)
        s_collect (&rec, &f->got);
    else
    if (rc != KH_ETIMEOUT && !f->error)
        f->error = rc;
}

/* Reads the followers in turn while the publisher runs, until it is done and every
   unfiltered follower has delivered final (or the deadline passes). Each turn takes
   what a follower has ready, up to 100 records. pace: pause 2 ms after every pace
   records a follower took (0: no pause), a slow reader. */
static void
s_follow_load (s_follower_t *fs, size_t count, zactor_t *publisher, uint64_t final,
               int pace, int64_t deadline)
{
    bool done = false;
    while (zclock_mono () < deadline) {
        done = done || (zsock_events (publisher) & ZMQ_POLLIN);
        bool reached = true;
        for (size_t i = 0; i < count; i++) {
            if (!done)
                fs [i].while_load = s_follower_last (&fs [i]);
            if (!fs [i].type && !fs [i].from && s_follower_last (&fs [i]) < final
            &&  !fs [i].error)
                reached = false;
        }
        if (done && reached)
            break;
        bool idle = true;
        for (size_t i = 0; i < count; i++)
            for (int taken = 0; taken < 100; taken++) {
                size_t before = fs [i].got.count;
                s_follower_poll (&fs [i], 0);
                if (fs [i].got.count == before)
                    break;
                idle = false;
                if (pace && fs [i].got.count % (size_t) pace == 0)
                    zclock_sleep (2);
            }
        if (idle)
            zclock_sleep (1);
    }
}

/* Checks that f got exactly the records of log matching its filter from its since
   on (reading what is still to come), the last being the closing record (seq closer). */
static void
s_follower_check (s_follower_t *f, const s_log_t *log, uint64_t closer)
{
    KH_CHECK ("a subscriber following a load never fails", f->error == 0, "%s: %s",
              f->name, kh_strerror (f->error));
    kh_query_t filter = { .since_seq = f->since };
    if (f->type && *f->type)
        kh_query_add_type (&filter, f->type, NULL);
    if (f->from && *f->from)
        kh_query_add_from (&filter, f->from, NULL);
    s_log_t expect = { 0 };
    s_log_filter (log, &filter, 0, &expect);
    s_check_closed (f->name, &expect, closer);
    if (f->error == 0 && f->got.count < expect.count)
        s_read (f->name, f->sub, expect.count, &f->got);
    s_same_rows (f->name, &f->got, &expect);
    s_log_free (&expect);
}

/* Reads the log and checks that it is gap-free from 1 to head. */
static void
s_log_load_check (kh_client_t *client, s_log_t *log, uint64_t head)
{
    int rc = s_log_load (client, log);
    size_t i = 0;
    while (i < log->count && log->rows [i].seq == i + 1 && log->rows [i].hash)
        i++;
    KH_CHECK ("the log, read page by page, holds every seq from 1 to the head once",
              rc == 0 && i == log->count && log->count == head,
              "%s, %zu rows (head %llu), first bad #%zu", kh_strerror (rc), log->count,
              (unsigned long long) head, i);
}

/* Waits until the hub's head reaches at least target. Returns the head. */
static uint64_t
s_wait_head (kh_client_t *client, uint64_t target)
{
    uint64_t head = 0;
    int64_t deadline = zclock_mono () + 30000;
    while (head < target && zclock_mono () < deadline
       &&  kh_client_ping (client, S_WAIT, &head, NULL) == 0)
        if (head < target)
            zclock_sleep (5);
    KH_CHECK ("the publisher makes progress", head >= target, "head %llu, waiting for %llu",
              (unsigned long long) head, (unsigned long long) target);
    return head;
}

/* Phase 3: while a second client keeps publishing, subscribers resuming with
   since_seq (from 1, from the middle; unfiltered and filtered) catch up from the
   store and go on live: every seq from since to the end, once, in order. The
   closing record is an offer from S_AGS_K. */
static void
s_phase_resume (kh_hub_t *hub, kh_client_t *client)
{
    uint64_t h0 = 0;
    kh_client_ping (client, S_WAIT, &h0, NULL);
    s_load_t load = { hub->client, S_RESUME, S_RESUME_WINDOW, { NULL } };
    for (int i = 0; i < 3; i++)
        load.keys [i] = kh_hub_keys (hub, s_senders [i]);
    zactor_t *publisher = zactor_new (s_publisher, &load);
    uint64_t head = s_wait_head (client, h0 + S_RESUME / 4);
    uint64_t middle = head / 2 + 1;
    s_follower_t fs [4];
    s_follower_init (&fs [0], "resuming from seq 1", hub, NULL, NULL, 1);
    s_follower_init (&fs [1], "resuming from the middle", hub, NULL, NULL, middle);
    s_follower_init (&fs [2], "resuming one type from the middle", hub, "offer", NULL,
                     middle);
    s_follower_init (&fs [3], "resuming one type from one sender from 1", hub, "offer",
                     S_AGS_K, 1);
    uint64_t final = h0 + S_RESUME;
    s_follow_load (fs, 4, publisher, final, 0, zclock_mono () + 60000);
    s_publisher_result (publisher, S_WAIT, S_RESUME);
    zactor_destroy (&publisher);
    for (int i = 0; i < 3; i++)
        kh_keys_destroy (&load.keys [i]);
    uint64_t closer = s_publish_closer ("offer", S_AGS_K);
    s_log_t log = { 0 };
    s_log_load_check (client, &log, final + 1);
    for (size_t i = 0; i < 4; i++) {
        s_follower_check (&fs [i], &log, closer);
        uint64_t gaps = 0, filled = 0;
        kh_subscriber_stats (fs [i].sub, &gaps, &filled);
        printf ("it_flow: %s (since %llu): %zu records (to seq %llu while the load ran, "
                "of %llu), gaps %llu, filled %llu\n", fs [i].name,
                (unsigned long long) fs [i].since, fs [i].got.count,
                (unsigned long long) fs [i].while_load, (unsigned long long) final,
                (unsigned long long) gaps, (unsigned long long) filled);
        s_follower_destroy (&fs [i]);
    }
    s_log_free (&log);
}

/* Phase 4: with a live queue of one message per subscriber, a burst of pipelined
   publishes overflows it; slow subscribers still get every record once, in order,
   having detected the drops and filled them from the store. The closing record is
   an idea from S_AGS_A. */
static void
s_phase_flood (void)
{
    kh_hub_t hub;
    const char *const broker_args [] = { "--live-hwm", "1", NULL };
    if (kh_hub_start (&hub, broker_args, NULL)) {
        KH_CHECK ("a hub with a tiny live queue starts", false, "see %s", hub.dir);
        return;
    }
    s_follower_t fs [2];
    s_follower_init (&fs [0], "a slow subscriber to everything", &hub, NULL, NULL, 0);
    s_follower_init (&fs [1], "a slow subscriber to one type from one sender", &hub,
                     "idea", S_AGS_A, 0);
    kh_subscriber_t *subs [2] = { fs [0].sub, fs [1].sub };
    if (subs [0] && subs [1])
        s_await_heard (subs, 2);
    s_load_t load = { hub.client, S_FLOOD, S_WINDOW, { NULL } };
    for (int i = 0; i < 3; i++)
        load.keys [i] = kh_hub_keys (&hub, s_senders [i]);
    zactor_t *publisher = zactor_new (s_publisher, &load);
    s_follow_load (fs, 2, publisher, S_FLOOD, 50, zclock_mono () + 90000);
    s_publisher_result (publisher, S_WAIT, S_FLOOD);
    zactor_destroy (&publisher);
    for (int i = 0; i < 3; i++)
        kh_keys_destroy (&load.keys [i]);

    kh_client_t *client = kh_hub_client (&hub, "admin");
    s_publishers_open (&hub);
    uint64_t closer = s_publish_closer ("idea", S_AGS_A);
    s_log_t log = { 0 }, some = { 0 }, expect = { 0 };
    s_log_load_check (client, &log, S_FLOOD + 1);
    kh_query_t q = { 0 };
    int rc = kh_client_query (client, &q, 1500, S_WAIT, s_collect, &some);
    s_log_filter (&log, &q, 1500, &expect);
    KH_CHECK ("a limit beyond one page is kept across pages", rc == 0 && some.count == 1500,
              "%s, %zu rows", kh_strerror (rc), some.count);
    s_same_rows ("a limit beyond one page gets the first rows", &some, &expect);
    for (size_t i = 0; i < 2; i++) {
        s_follower_check (&fs [i], &log, closer);
        uint64_t gaps = 0, filled = 0;
        kh_subscriber_stats (fs [i].sub, &gaps, &filled);
        printf ("it_flow: %s: %zu records, gaps %llu, filled %llu\n", fs [i].name,
                fs [i].got.count, (unsigned long long) gaps, (unsigned long long) filled);
        KH_CHECK ("a subscriber behind a full live queue detects gaps and fills them",
                  gaps > 0 && filled > 0 && filled < fs [i].got.count, "%s: gaps %llu filled %llu",
                  fs [i].name, (unsigned long long) gaps, (unsigned long long) filled);
        s_follower_destroy (&fs [i]);
    }
    s_log_free (&log);
    s_log_free (&some);
    s_log_free (&expect);
    kh_client_destroy (&client);
    s_publishers_close ();
    KH_CHECK ("the hub with a tiny live queue stops cleanly", kh_hub_stop (&hub, s_failed > 0)
              == 0, "see logs in %s", hub.dir);
}

int
main (void)
{
    int64_t start = zclock_mono ();
    kh_hub_t hub;
    if (kh_hub_start (&hub, NULL, NULL)) {
        printf ("FAIL hub starts\n");
        return 1;
    }
    kh_client_t *client = kh_hub_client (&hub, "admin");
    kh_subscriber_t *subs [3] = {
        kh_hub_subscriber (&hub, "admin", "idea", NULL, 0),
        kh_hub_subscriber (&hub, S_AGS_B, NULL, S_AGS_A, 0),
        kh_hub_subscriber (&hub, S_AGS_K, NULL, NULL, 0)
    };
    KH_CHECK ("clients and subscribers can be created", client && subs [0] && subs [1]
              && subs [2] && s_publishers_open (&hub) == 0, "client %p", (void *) client);
    s_log_t sent = { 0 };
    if (client && subs [0] && subs [1] && subs [2]) {
        s_phase_flow (client, subs, &sent);
        printf ("it_flow: phase 1 done at %lld ms\n", (long long) (zclock_mono () - start));
        s_phase_retry (&hub, client, subs [2]);
        printf ("it_flow: phase 2 done at %lld ms\n", (long long) (zclock_mono () - start));
        s_phase_resume (&hub, client);
    }
    printf ("it_flow: phases 1-3 took %lld ms\n", (long long) (zclock_mono () - start));
    s_log_free (&sent);
    for (int i = 0; i < 3; i++)
        kh_subscriber_destroy (&subs [i]);
    kh_client_destroy (&client);
    s_publishers_close ();
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&hub, s_failed > 0) == 0,
              "see logs in %s", hub.dir);
    printf ("it_flow: hub stopped at %lld ms\n", (long long) (zclock_mono () - start));
    s_phase_flood ();
    printf ("it_flow: %lld ms in all\n", (long long) (zclock_mono () - start));
    return kh_check_done ("it_flow");
}
