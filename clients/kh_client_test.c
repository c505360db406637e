/*  kh_client_test.c - kh_client_t against an in-process fake broker: ACK matching,
    resends with the same bytes, refusals, pipelining, ping and paged queries. Each
    test takes the fake store's head first and expects seqs from there. */
#include "kh_check.h"
#include "kh_fake_hub.h"
#include "kreishub/kreishub.h"
#include "kh_codec.h"

/* Builds an idea envelope with a new id into out. */
static void
s_envelope (msgpack_sbuffer *out, const char *title)
{
    kh_builder_t *builder = kh_builder_new ("idea");
    kh_problem_t why;
    kh_builder_set (builder, "title", title, &why);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer_clear (out);
    kh_builder_pack (builder, id, "05162012", kh_now_ms (), out, &why);
    kh_builder_destroy (&builder);
}

static void
s_test_publish (kh_fake_hub_t *hub, kh_client_t *client)
{
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    uint64_t seq = 0, base = 0, publishes, differing, queries, before;
    bool dup = true;
    kh_error_reply_t err;
    int rc = kh_client_ping (client, 2000, &base, NULL);
    KH_CHECK ("ping answers", rc == 0, "rc %d", rc);

    s_envelope (&env, "first");
    rc = kh_client_publish (client, env.data, env.size, 2000, 0, &seq, &dup, &err);
    KH_CHECK ("a publish returns the seq of its ACK", rc == 0 && seq == base + 1 && !dup,
              "rc %d seq %llu dup %d", rc, (unsigned long long) seq, dup);
    rc = kh_client_publish (client, env.data, env.size, 2000, 0, &seq, &dup, &err);
    KH_CHECK ("publishing the same id again is acknowledged as a duplicate",
              rc == 0 && seq == base + 1 && dup, "rc %d seq %llu dup %d", rc,
              (unsigned long long) seq, dup);

    kh_fake_hub_mode (hub, "noise", 1);
    s_envelope (&env, "second");
    rc = kh_client_publish (client, env.data, env.size, 2000, 0, &seq, &dup, &err);
    KH_CHECK ("answers naming other ids are ignored until the ACK for this id",
              rc == 0 && seq == base + 2, "rc %d seq %llu", rc, (unsigned long long) seq);

    kh_fake_hub_stats (hub, &before, &differing, &queries);
    kh_fake_hub_mode (hub, "silent", 2);
    s_envelope (&env, "third");
    rc = kh_client_publish (client, env.data, env.size, 200, 2, &seq, &dup, &err);
    kh_fake_hub_stats (hub, &publishes, &differing, &queries);
    KH_CHECK ("a publish without answer is resent, with the same bytes, until acknowledged",
              rc == 0 && seq == base + 3 && publishes == before + 3 && differing == 0,
              "rc %d seq %llu publishes %llu differing %llu", rc, (unsigned long long) seq,
              (unsigned long long) (publishes - before), (unsigned long long) differing);

    kh_fake_hub_mode (hub, "silent", 3);
    s_envelope (&env, "fourth");
    int64_t start = zclock_mono ();
    rc = kh_client_publish (client, env.data, env.size, 100, 2, &seq, &dup, &err);
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a publish never answered times out after 1 + retries waits",
              rc == KH_ETIMEOUT && took >= 300 && took < 2000, "rc %d took %lld ms", rc,
              (long long) took);

    kh_fake_hub_mode (hub, "reject", 1);
    s_envelope (&env, "fifth");
    rc = kh_client_publish (client, env.data, env.size, 2000, 3, &seq, &dup, &err);
    KH_CHECK ("a refusal returns the hub's code with its name and reason",
              rc == KH_EMISSING && err.code == KH_EMISSING && streq (err.name, "MISSING")
              && strstr (err.reason, "body.title"), "rc %d name %s reason %s", rc, err.name,
              err.reason);

    kh_fake_hub_mode (hub, "unavailable", 1);
    rc = kh_client_publish (client, env.data, env.size, 2000, 1, &seq, &dup, &err);
    KH_CHECK ("a transient refusal is retried with the same envelope",
              rc == 0 && seq == base + 4, "rc %d seq %llu", rc, (unsigned long long) seq);

    kh_fake_hub_mode (hub, "unavailable", 1);
    s_envelope (&env, "sixth");
    rc = kh_client_publish (client, env.data, env.size, 2000, 0, &seq, &dup, &err);
    KH_CHECK ("a transient refusal without retries left is returned",
              rc == KH_EUNAVAILABLE && err.code == KH_EUNAVAILABLE, "rc %d", rc);

    kh_fake_hub_mode (hub, "lost", 3);
    s_envelope (&env, "seventh");
    rc = kh_client_publish (client, env.data, env.size, 200, 2, &seq, &dup, &err);
    KH_CHECK ("refusals after an unanswered attempt leave the outcome open: TIMEOUT",
              rc == KH_ETIMEOUT, "rc %d", rc);
    msgpack_sbuffer_destroy (&env);
}

static void
s_test_pipelined (kh_client_t *client)
{
    enum { N = 1000 };
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    int sent = 0, acked = 0, errors = 0;
    for (int i = 0; i < N; i++) {
        char title [32];
        snprintf (title, sizeof title, "pipelined %d", i);
        s_envelope (&env, title);
        sent += kh_client_send (client, env.data, env.size) == 0;
    }
    uint64_t last = 0;
    bool ascending = true;
    kh_reply_t reply;
    while (acked + errors < N && kh_client_recv_reply (client, 2000, &reply) == 0) {
        if (reply.kind == KH_REPLY_ACK) {
            ascending = ascending && reply.seq > last;
            last = reply.seq;
            acked++;
        }
        else
            errors++;
    }
    KH_CHECK ("1000 publishes in flight are all acknowledged, in order",
              sent == N && acked == N && errors == 0 && ascending,
              "sent %d acked %d errors %d ascending %d", sent, acked, errors, ascending);
    int rc = kh_client_recv_reply (client, 50, &reply);
    KH_CHECK ("with nothing in flight, waiting for a reply times out", rc == KH_ETIMEOUT,
              "rc %d", rc);
    msgpack_sbuffer_destroy (&env);
}

/* Collects the seqs a query delivers. */
typedef struct {
    uint64_t seqs [2000];
    size_t   count;
    size_t   stop_after;                /* 0: never stop */
} s_seen_t;

static int
s_collect (const kh_record_t *rec, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    kh_envelope_t env;
    kh_problem_t why;
    if (seen->count < 2000 && kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, &why) == 0)
        seen->seqs [seen->count++] = rec->info.seq;
    return seen->stop_after && seen->count >= seen->stop_after;
}

static void
s_test_query (kh_fake_hub_t *hub, kh_client_t *client)
{
    uint64_t base = 0, head = 0;
    bool up = false;
    kh_client_ping (client, 2000, &base, NULL);
    for (int i = 0; i < 30; i++)
        kh_fake_hub_add (hub, "idea", "05162012");
    int rc = kh_client_ping (client, 2000, &head, &up);
    KH_CHECK ("ping reports the head and that a recorder is there",
              rc == 0 && head == base + 30 && up, "rc %d head %llu up %d", rc,
              (unsigned long long) head, up);

    static s_seen_t seen;
    kh_query_t query = { .since_seq = base + 5, .until_seq = base + 25 };
    rc = kh_client_query (client, &query, 0, 2000, s_collect, &seen);
    bool ok = rc == 0 && seen.count == 21;
    for (size_t i = 0; ok && i < seen.count; i++)
        ok = seen.seqs [i] == base + 5 + i;
    KH_CHECK ("a query pages through the store and delivers every row once, in order",
              ok, "rc %d rows %zu", rc, seen.count);

    memset (&seen, 0, sizeof seen);
    rc = kh_client_query (client, &query, 7, 2000, s_collect, &seen);
    KH_CHECK ("a query stops after max_rows", rc == 0 && seen.count == 7, "rc %d rows %zu", rc,
              seen.count);

    memset (&seen, 0, sizeof seen);
    seen.stop_after = 4;
    rc = kh_client_query (client, &query, 0, 2000, s_collect, &seen);
    KH_CHECK ("a callback returning non-zero stops the query", rc == 0 && seen.count == 4,
              "rc %d rows %zu", rc, seen.count);

    /* Without a filter the query asks 4 windows of seqs at once (the 30 rows fit the
       first; the 3 after it are dropped); a filtered one a page at a time. */
    uint64_t publishes, differing, before, after;
    kh_fake_hub_page (hub, KH_QUERY_PAGE_MAX);
    kh_fake_hub_stats (hub, &publishes, &differing, &before);
    memset (&seen, 0, sizeof seen);
    kh_query_t all = { .since_seq = base + 1 };
    rc = kh_client_query (client, &all, 0, 2000, s_collect, &seen);
    kh_fake_hub_stats (hub, &publishes, &differing, &after);
    KH_CHECK ("a query without filters asks 4 pages at once and delivers each row once",
              rc == 0 && seen.count == 30 && seen.seqs [29] == base + 30
              && after - before == 4, "rc %d rows %zu queries %llu", rc, seen.count,
              (unsigned long long) (after - before));
    /* The 3 windows after the first are answered never (a queue on the way was full):
       the query still returns, after a bounded wait for them even with no timeout,
       and the next query gets its own answer, not a late one. */
    kh_fake_hub_mode (hub, "mute", 3);
    memset (&seen, 0, sizeof seen);
    int64_t start = zclock_mono ();
    rc = kh_client_query (client, &all, 0, -1, s_collect, &seen);
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a query whose pages in flight are lost returns without a timeout",
              rc == 0 && seen.count == 30 && took < 3000, "rc %d rows %zu after %lld ms",
              rc, seen.count, (long long) took);
    memset (&seen, 0, sizeof seen);
    seen.stop_after = 2;
    kh_fake_hub_mode (hub, "mute", 3);
    start = zclock_mono ();
    rc = kh_client_query (client, &all, 0, 20000, s_collect, &seen);
    took = zclock_mono () - start;
    KH_CHECK ("... and so does one whose callback stops, within its timeout",
              rc == 0 && seen.count == 2 && took < 3000, "rc %d rows %zu after %lld ms",
              rc, seen.count, (long long) took);
    memset (&seen, 0, sizeof seen);
    rc = kh_client_query (client, &all, 0, 2000, s_collect, &seen);
    KH_CHECK ("the next query is answered whole", rc == 0 && seen.count == 30
              && seen.seqs [0] == base + 1 && seen.seqs [29] == base + 30, "rc %d rows %zu",
              rc, seen.count);
    kh_fake_hub_stats (hub, &publishes, &differing, &after);
    kh_query_t typed = { .since_seq = base + 1 };
    kh_query_add_type (&typed, "idea", NULL);
    memset (&seen, 0, sizeof seen);
    rc = kh_client_query (client, &typed, 0, 2000, s_collect, &seen);
    kh_fake_hub_stats (hub, &publishes, &differing, &before);
    KH_CHECK ("a filtered query asks one page at a time", rc == 0 && seen.count == 30
              && before - after == 1, "rc %d rows %zu queries %llu", rc, seen.count,
              (unsigned long long) (before - after));
    kh_fake_hub_page (hub, 3);

    kh_query_t bad = { .since_seq = 1 };
    snprintf (bad.type [0], sizeof bad.type [0], "nonsense");
    bad.type_count = 1;
    rc = kh_client_query (client, &bad, 0, 2000, s_collect, &seen);
    const kh_error_reply_t *err = kh_client_last_error (client);
    KH_CHECK ("a query the hub refuses returns its code, and the reason is kept",
              rc == KH_EQUERY && err->code == KH_EQUERY && *err->reason, "rc %d", rc);
}


/* Collects the items a catalogue query delivers: their seqs and last_seqs. */
typedef struct {
    uint64_t seqs [64];
    uint64_t lasts [64];
    uint8_t  ids [64][KH_ID_SIZE];
    char     titles [64][16];
    size_t   count;
} s_items_seen_t;

static int
s_collect_item (const kh_item_t *item, void *arg)
{
    s_items_seen_t *seen = (s_items_seen_t *) arg;
    if (seen->count < 64) {
        seen->seqs [seen->count] = item->seq;
        seen->lasts [seen->count] = item->last_seq;
        memcpy (seen->ids [seen->count], item->id, KH_ID_SIZE);
        kh_item_field (item, "title", seen->titles [seen->count], 16);
        seen->count++;
    }
    return 0;
}

/* Counts the records a query delivers. */
static int
s_count (const kh_record_t *rec, void *arg)
{
    (*(size_t *) arg)++;
    return 0;
}

/* The catalogue pages down by last activity; the query's new filters reach the hub;
   a count and the counters come back. */
static void
s_test_reads (kh_fake_hub_t *hub, kh_client_t *client)
{
    uint64_t base = 0;
    kh_client_ping (client, 2000, &base, NULL);
    uint64_t a = kh_fake_hub_add (hub, "offer", "05162004");
    uint64_t b = kh_fake_hub_add (hub, "request", "05162008");
    uint64_t c = kh_fake_hub_add (hub, "offer", "05166012");
    uint64_t note = kh_fake_hub_about (hub, a);
    KH_CHECK ("the fake hub stores messages about items", a == base + 1 && note == base + 4,
              "a %llu note %llu", (unsigned long long) a, (unsigned long long) note);
    static s_items_seen_t seen;
    kh_items_query_t items;
    memset (&items, 0, sizeof items);
    kh_problem_t why;
    kh_query_t owners;              /* to build the lists with the library's checks */
    memset (&owners, 0, sizeof owners);
    int rc = kh_client_items (client, &items, 0, 2000, s_collect_item, &seen);
    /* Every idea of the earlier tests is an item too: only the last four count. */
    KH_CHECK ("the catalogue pages down by last activity, newest first",
              rc == 0 && seen.count >= 3 && seen.seqs [0] == a && seen.lasts [0] == note
              && seen.seqs [1] == c && seen.seqs [2] == b, "rc %d items %zu first %llu",
              rc, seen.count, (unsigned long long) seen.seqs [0]);
    bool down = true;
    for (size_t i = 1; i < seen.count; i++)
        down &= seen.lasts [i] < seen.lasts [i - 1];
    KH_CHECK ("every item once, across pages (of 3), by last activity", down
              && seen.count > 30, "%zu items", seen.count);
    char title [16];
    snprintf (title, sizeof title, "record %llu", (unsigned long long) c);
    KH_CHECK ("an item's fields read as text", strcmp (seen.titles [1], title) == 0, "'%s'",
              seen.titles [1]);
    uint8_t ref [KH_ID_SIZE];
    memcpy (ref, seen.ids [0], KH_ID_SIZE);
    memset (&seen, 0, sizeof seen);
    rc = kh_client_items (client, &items, 2, 2000, s_collect_item, &seen);
    KH_CHECK ("the catalogue stops after max_rows", rc == 0 && seen.count == 2, "rc %d %zu",
              rc, seen.count);
    memset (&seen, 0, sizeof seen);
    snprintf (items.type [0], sizeof items.type [0], "offer");
    items.type_count = 1;
    kh_query_add_from (&owners, "05162*", &why);
    memcpy (items.from, owners.from, sizeof items.from);
    items.from_count = owners.from_count;
    rc = kh_client_items (client, &items, 0, 2000, s_collect_item, &seen);
    KH_CHECK ("the catalogue filters by type and owner region",
              rc == 0 && seen.count == 1 && seen.seqs [0] == a, "rc %d %zu", rc, seen.count);
    items.hf = 9;
    rc = kh_client_items (client, &items, 0, 2000, s_collect_item, &seen);
    KH_CHECK ("a catalogue query the hub refuses returns QUERY",
              rc == KH_EQUERY && kh_client_last_error (client)->code == KH_EQUERY, "rc %d", rc);

    kh_query_t query;
    memset (&query, 0, sizeof query);
    size_t count = 0;
    kh_query_add_type (&query, "offer", &why);
    kh_query_add_type (&query, "request", &why);
    query.since_seq = a;
    rc = kh_client_query (client, &query, 0, 2000, s_count, &count);
    KH_CHECK ("a query with a list of types", rc == 0 && count == 3, "rc %d %zu", rc, count);
    memset (&query, 0, sizeof query);
    query.has_ref = true;
    memcpy (query.ref, ref, KH_ID_SIZE);
    count = 0;
    rc = kh_client_query (client, &query, 0, 2000, s_count, &count);
    KH_CHECK ("a query of one item: itself and what is about it", rc == 0 && count == 2,
              "rc %d %zu", rc, count);
    count = 0;
    query.since_ts = 1;
    query.until_ts = kh_now_ms () + 60000;
    strcpy (query.search, "record");
    query.has_ref = false;
    query.since_seq = a;
    rc = kh_client_query (client, &query, 0, 2000, s_count, &count);
    KH_CHECK ("a query with publication-time bounds and a search", rc == 0 && count == 3,
              "rc %d %zu", rc, count);

    kh_stats_query_t sq;
    memset (&sq, 0, sizeof sq);
    snprintf (sq.by, sizeof sq.by, "type");
    kh_stats_t *stats = NULL;
    rc = kh_client_stats (client, &sq, 2000, &stats);
    KH_CHECK ("a count by type", rc == 0 && stats && stats->count == 4
              && strcmp (stats->rows [0].key, "comment") == 0 && stats->rows [0].items == 0
              && strcmp (stats->rows [2].key, "offer") == 0 && stats->rows [2].items == 2
              && stats->messages == base + 4 && stats->items == base + 3
              && stats->head == base + 4, "rc %d groups %zu", rc, stats ? stats->count : 0);
    kh_stats_destroy (&stats);
    snprintf (sq.by, sizeof sq.by, "week");
    rc = kh_client_stats (client, &sq, 2000, &stats);
    KH_CHECK ("a count by an unknown grouping is refused QUERY", rc == KH_EQUERY && !stats,
              "rc %d", rc);
    kh_counters_t counters;
    rc = kh_client_counters (client, 2000, &counters);
    KH_CHECK ("the counters come back", rc == 0 && counters.head == base + 4
              && counters.recorder_up && counters.uptime_ms == 1234 && counters.busy == 1,
              "rc %d head %llu", rc, (unsigned long long) counters.head);
    KH_CHECK ("the reads refuse no client", kh_client_counters (NULL, 10, &counters) == KH_EINVAL
              && kh_client_stats (client, NULL, 10, &stats) == KH_EINVAL
              && kh_client_items (client, &items, 0, 10, NULL, NULL) == KH_EINVAL, "accepted");
}

int
main (void)
{
    zsys_init ();
    kh_fake_hub_t hub;
    if (kh_fake_hub_start (&hub)) {
        printf ("FAIL the fake hub starts\n");
        return 1;
    }
    kh_client_t *client = kh_client_new (hub.client);
    KH_CHECK ("a client is created for a tcp endpoint", client != NULL, "NULL");
    kh_client_t *bad = kh_client_new ("nonsense://");
    KH_CHECK ("a client is not created for an endpoint that is not one", bad == NULL,
              "created");
    if (client) {
        s_test_publish (&hub, client);
        s_test_pipelined (client);
        s_test_query (&hub, client);
        s_test_reads (&hub, client);
    }
    kh_client_destroy (&client);
    kh_client_destroy (&client);
    kh_fake_hub_stop (&hub);
    return kh_check_done ("client_test");
}
