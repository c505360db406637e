/*  kh_subscriber_test.c - kh_subscriber_t against an in-process fake broker whose live
    records the test publishes one by one, so that it can drop any of them: catch-up
    then live, gaps seen in the previous-links, gaps seen in the heartbeat, filters.

    "Nothing is delivered here" is shown without waiting: the next record published
    after it is the next one delivered. Each test counts subscriptions from what the
    fake hub had seen before it. */
#include "kh_check.h"
#include "kh_fake_hub.h"
#include "kreishub/kreishub.h"

#define S_A "05162012"                  /* Juechen */
#define S_B "05162028"                  /* Rommerskirchen */
#define S_WAIT 3000                     /* ms to wait for a record that must come */
#define S_AHEAD 4                       /* KH__PAGES_AHEAD (kh_client_priv.h) */

/* Takes the next record and checks it is seq, with the title the fake gave it
   (which proves its bytes are intact). Returns true if it is. */
static bool
s_expect (kh_subscriber_t *sub, uint64_t seq, const char *check)
{
    kh_record_t rec;
    int rc = kh_subscriber_next (sub, S_WAIT, &rec);
    kh_envelope_t env;
    kh_problem_t why;
    char title [32];
    snprintf (title, sizeof title, "record %llu", (unsigned long long) seq);
    bool ok = rc == 0 && rec.info.seq == seq
           && kh_envelope_check (rec.msg, rec.msg_size, &env, NULL, &why) == 0
           && streq (env.title, title);
    KH_CHECK (check, ok, "wanted seq %llu, got rc %d seq %llu", (unsigned long long) seq, rc,
              rc == 0 ? (unsigned long long) rec.info.seq : 0ULL);
    return ok;
}

/* Checks that nothing more arrives within ms. */
static void
s_expect_nothing (kh_subscriber_t *sub, int ms, const char *check)
{
    kh_record_t rec;
    int rc = kh_subscriber_next (sub, ms, &rec);
    KH_CHECK (check, rc == KH_ETIMEOUT, "got rc %d seq %llu", rc,
              rc == 0 ? (unsigned long long) rec.info.seq : 0ULL);
}

static void
s_expect_stats (kh_subscriber_t *sub, uint64_t gaps, uint64_t filled, const char *check)
{
    uint64_t g, f;
    kh_subscriber_stats (sub, &g, &f);
    KH_CHECK (check, g == gaps && f == filled, "gaps %llu filled %llu, wanted %llu %llu",
              (unsigned long long) g, (unsigned long long) f, (unsigned long long) gaps,
              (unsigned long long) filled);
}

/* Adds count records alternating types and senders; returns the last seq. */
static uint64_t
s_add_mixed (kh_fake_hub_t *hub, int count)
{
    uint64_t seq = 0;
    for (int i = 0; i < count; i++)
        seq = kh_fake_hub_add (hub, i % 2 ? "offer" : "idea", i % 3 ? S_A : S_B);
    return seq;
}

/* Everything, from seq 1: catch-up across pages while the store grows and live
   records repeat what the store gave; then live; then a dropped record. */
static void
s_test_everything (kh_fake_hub_t *hub)
{
    s_add_mixed (hub, 10);
    int subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *sub = kh_subscriber_new (hub->client, hub->live, NULL, NULL, 1);
    KH_CHECK ("a subscriber without filter subscribes to each type and the heartbeat",
              sub && kh_fake_hub_await_subs (hub, subs + 3) == 0, "no subscriptions");
    if (!sub)
        return;
    bool ok = true;
    for (uint64_t seq = 1; ok && seq <= 5; seq++)
        ok = s_expect (sub, seq, "catch-up delivers the stored records in order");
    s_add_mixed (hub, 3);                   /* 11..13 stored while catching up */
    for (uint64_t seq = 9; seq <= 13; seq++)
        kh_fake_hub_live (hub, seq);        /* 9, 10 come live and from the store */
    for (uint64_t seq = 6; ok && seq <= 13; seq++)
        ok = s_expect (sub, seq, "catch-up continues, and live repeats are not delivered twice");
    kh_fake_hub_live (hub, s_add_mixed (hub, 1));
    s_expect (sub, 14, "after catch-up, live records follow");
    s_expect_stats (sub, 0, 0, "catching up is not counted as a gap");

    s_add_mixed (hub, 1);                   /* 15 is dropped on the way */
    kh_fake_hub_live (hub, s_add_mixed (hub, 1));
    s_expect (sub, 15, "a dropped live record is detected by seq and filled from the store");
    s_expect (sub, 16, "the live record that showed the gap follows the filled one");
    s_expect_stats (sub, 1, 1, "one gap with one record is counted");

    s_add_mixed (hub, 2);                   /* 17, 18 dropped, nothing after them */
    kh_fake_hub_beat (hub);
    s_expect (sub, 17, "a heartbeat beyond the last seq fills the dropped tail");
    s_expect (sub, 18, "the whole tail is filled, in order");
    s_expect_stats (sub, 2, 3, "the tail counts as a gap of two records");
    kh_fake_hub_beat (hub);
    uint64_t next = s_add_mixed (hub, 1);
    kh_fake_hub_live (hub, next);
    s_expect (sub, next, "a heartbeat at the last seq delivers nothing: the next live "
              "record is next");
    s_expect_stats (sub, 2, 3, "and counts no gap");
    kh_subscriber_destroy (&sub);
    kh_subscriber_destroy (&sub);
}

/* The first live record after catch-up is checked against the last delivered. */
static void
s_test_after_catch_up (kh_fake_hub_t *hub)
{
    uint64_t first = s_add_mixed (hub, 2) - 1;
    int subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *sub = kh_subscriber_new (hub->client, hub->live, NULL, NULL, first);
    if (!sub || kh_fake_hub_await_subs (hub, subs + 3)) {
        KH_CHECK ("a second subscriber subscribes", false, "no subscriptions");
        kh_subscriber_destroy (&sub);
        return;
    }
    s_expect (sub, first, "catch-up starts at since_seq");
    s_expect (sub, first + 1, "catch-up delivers up to the store's end");
    s_expect_nothing (sub, 0, "catch-up ends with the store");
    s_add_mixed (hub, 1);                   /* dropped */
    kh_fake_hub_live (hub, s_add_mixed (hub, 1));
    s_expect (sub, first + 2, "the first live record after catch-up reveals a gap before it");
    s_expect (sub, first + 3, "and is delivered after the gap was filled");
    s_expect_stats (sub, 1, 1, "that gap is counted");
    kh_subscriber_destroy (&sub);
}

/* Returns the QUERYs the fake hub has received. */
static uint64_t
s_queries (kh_fake_hub_t *hub)
{
    uint64_t publishes, differing, queries;
    kh_fake_hub_stats (hub, &publishes, &differing, &queries);
    return queries;
}

/* Waits up to S_WAIT ms until the fake hub has received count QUERYs. Returns the
   number it has. */
static uint64_t
s_await_queries (kh_fake_hub_t *hub, uint64_t count)
{
    int64_t end = zclock_mono () + S_WAIT;
    uint64_t queries = s_queries (hub);
    while (queries < count && zclock_mono () < end) {
        zclock_sleep (5);               /* the hub's count has no event to wait on */
        queries = s_queries (hub);
    }
    return queries;
}

/* Without a filter the catch-up asks S_AHEAD windows of seqs at once, each
   exact on its own; the window holding the store's end ends it, and the answers
   to the windows after it are dropped before the next range is asked. */
static void
s_test_ahead (kh_fake_hub_t *hub)
{
    kh_fake_hub_page (hub, KH_QUERY_PAGE_MAX);  /* no page cut short */
    uint64_t first = s_add_mixed (hub, 7) - 6;
    uint64_t before = s_queries (hub);
    int subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *sub = kh_subscriber_new (hub->client, hub->live, NULL, NULL, first);
    if (!sub || kh_fake_hub_await_subs (hub, subs + 3)) {
        KH_CHECK ("a subscriber for the catch-up subscribes", false, "no subscriptions");
        kh_subscriber_destroy (&sub);
        kh_fake_hub_page (hub, 3);
        return;
    }
    bool ok = true;
    for (uint64_t seq = first; ok && seq < first + 7; seq++)
        ok = s_expect (sub, seq, "a catch-up asking ahead delivers the records in order");
    uint64_t asked = s_await_queries (hub, before + S_AHEAD);
    KH_CHECK ("the catch-up asks 4 pages at once, before the first is "
              "answered", asked == before + S_AHEAD, "%llu queries, wanted %d",
              (unsigned long long) (asked - before), S_AHEAD);
    s_expect_nothing (sub, 0, "the window holding the store's end ends the catch-up");
    s_add_mixed (hub, 1);                   /* dropped */
    uint64_t shown = s_add_mixed (hub, 1);
    kh_fake_hub_live (hub, shown);
    s_expect (sub, shown - 1, "a gap fill after it drops the answers of the windows "
              "past the end and delivers the gap");
    s_expect (sub, shown, "then the live record that showed it");
    s_expect_stats (sub, 1, 1, "that gap is counted, nothing else");
    kh_subscriber_destroy (&sub);
    kh_fake_hub_page (hub, 3);
}

/* One type: other types' seqs are no gap; a dropped record of the type is found by
   pt; a heartbeat beyond records of other types finds no gap. */
static void
s_test_type (kh_fake_hub_t *hub)
{
    int subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *sub = kh_subscriber_new (hub->client, hub->live, "idea", NULL, 0);
    if (!sub || kh_fake_hub_await_subs (hub, subs + 2)) {
        KH_CHECK ("a type subscriber subscribes to its type and the heartbeat", false,
                  "no subscriptions");
        kh_subscriber_destroy (&sub);
        return;
    }
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "offer", S_A));
    uint64_t first = kh_fake_hub_add (hub, "idea", S_A);
    kh_fake_hub_live (hub, first);
    s_expect (sub, first, "without since, the first live record is delivered as it comes");
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "offer", S_B));
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "offer", S_A));
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "idea", S_B));
    s_expect (sub, first + 3, "records of other types in between are not a gap");
    s_expect_stats (sub, 0, 0, "a type subscriber counts no gap for other types' seqs");

    uint64_t dropped = kh_fake_hub_add (hub, "idea", S_A);
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "offer", S_A));
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "idea", S_B));
    s_expect (sub, dropped, "a dropped record of the type is detected by pt and filled");
    s_expect (sub, dropped + 2, "then the record that revealed it");
    s_expect_stats (sub, 1, 1, "the type subscriber counts that gap");

    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "offer", S_B));
    kh_fake_hub_beat (hub);             /* beyond records of other types only */
    uint64_t tail = kh_fake_hub_add (hub, "idea", S_B);
    kh_fake_hub_add (hub, "offer", S_B);
    kh_fake_hub_beat (hub);
    s_expect (sub, tail, "a heartbeat beyond records of other types delivers nothing; "
              "the next reveals a dropped record of the type at the tail");
    s_expect_stats (sub, 2, 2, "only that tail is counted as a gap");
    kh_subscriber_destroy (&sub);
}

/* Filters no previous-link covers: one type from two senders, and a region prefix
   over every type. A wanted record above last + 1 has the store asked what lies
   between: a dropped record is found there (a gap), records of others are not. */
static void
s_test_filtered (kh_fake_hub_t *hub)
{
    int subs = kh_fake_hub_subs (hub);
    kh_query_t two = { 0 }, region = { 0 };
    kh_query_add_type (&two, "idea", NULL);
    kh_query_add_from (&two, S_A, NULL);
    kh_query_add_from (&two, S_B, NULL);
    kh_query_add_from (&region, "0516201*", NULL);         /* S_A, not S_B */
    kh_query_t searching = region;
    snprintf (searching.search, sizeof searching.search, "Zwilling");
    KH_CHECK ("a filter with a search cannot be followed (the index lags the log)",
              kh_subscriber_new_filtered (hub->client, hub->live, NULL, &searching, 0,
                                          false) == NULL, "a subscriber was made");
    kh_subscriber_t *sub_two = kh_subscriber_new_filtered (hub->client, hub->live, NULL, &two,
                                                           0, false);
    kh_subscriber_t *sub_region = kh_subscriber_new_filtered (hub->client, hub->live, NULL,
                                                              &region, 0, false);
    int wanted = 3 + (int) kh_schema_type_count () + 1;    /* two topics, each type's, !hb */
    if (!sub_two || !sub_region || kh_fake_hub_await_subs (hub, subs + wanted)) {
        KH_CHECK ("filtered subscribers subscribe to a topic per type and sender", false,
                  "no subscriptions");
        kh_subscriber_destroy (&sub_two);
        kh_subscriber_destroy (&sub_region);
        return;
    }
    int prefixed = 0;
    for (int i = subs; i < subs + wanted; i++) {
        char topic [64] = "";
        kh_fake_hub_sub (hub, i, topic, sizeof topic);
        prefixed += streq (topic, "idea/0516201") || streq (topic, "comment/0516201");
    }
    KH_CHECK ("a region prefix subscribes to <type>/<digits> for each type", prefixed == 2,
              "%d of idea/0516201 and comment/0516201 seen", prefixed);
    uint64_t first = kh_fake_hub_add (hub, "idea", S_A);
    uint64_t offer = kh_fake_hub_add (hub, "offer", S_A);
    uint64_t dropped = kh_fake_hub_add (hub, "idea", S_B);
    uint64_t other = kh_fake_hub_add (hub, "offer", S_B);
    uint64_t last = kh_fake_hub_add (hub, "idea", S_A);
    kh_fake_hub_live (hub, first);
    kh_fake_hub_live (hub, offer);
    kh_fake_hub_live (hub, other);
    kh_fake_hub_live (hub, last);
    s_expect (sub_two, first, "two senders: the first record as it comes");
    s_expect (sub_two, dropped, "the dropped record of the other sender is found in the store");
    s_expect (sub_two, last, "then the record that rang");
    s_expect_stats (sub_two, 1, 1, "that is one gap, one record filled");
    s_expect (sub_region, first, "a region: its member's idea");
    s_expect (sub_region, offer, "and its offer");
    s_expect (sub_region, last, "the other member's records are neither delivered nor a gap");
    s_expect_stats (sub_region, 0, 0, "the store found nothing between: no gap");
    (void) other;
    kh_subscriber_destroy (&sub_two);
    kh_subscriber_destroy (&sub_region);
}

/* One sender (both types), and one type from one sender. */
static void
s_test_sender (kh_fake_hub_t *hub)
{
    int subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *from = kh_subscriber_new (hub->client, hub->live, NULL, S_B, 0);
    kh_subscriber_t *pair = kh_subscriber_new (hub->client, hub->live, "offer", S_B, 0);
    if (!from || !pair || kh_fake_hub_await_subs (hub, subs + 5)) {
        KH_CHECK ("sender subscribers subscribe to each type from the sender", false,
                  "no subscriptions");
        kh_subscriber_destroy (&from);
        kh_subscriber_destroy (&pair);
        return;
    }
    uint64_t a = kh_fake_hub_add (hub, "idea", S_B);
    uint64_t b = kh_fake_hub_add (hub, "offer", S_B);
    kh_fake_hub_live (hub, a);
    kh_fake_hub_live (hub, b);
    kh_fake_hub_live (hub, kh_fake_hub_add (hub, "offer", S_A));
    s_expect (from, a, "a sender subscriber receives the sender's ideas");
    s_expect (from, b, "and its offers");
    s_expect (pair, b, "a type-and-sender subscriber receives only that pair");
    uint64_t dropped = kh_fake_hub_add (hub, "offer", S_B);
    uint64_t idea = kh_fake_hub_add (hub, "idea", S_B);
    uint64_t last = kh_fake_hub_add (hub, "offer", S_B);
    kh_fake_hub_live (hub, idea);
    kh_fake_hub_live (hub, last);
    s_expect (from, dropped, "a sender subscriber finds a dropped record by ps");
    s_expect (from, idea, "and delivers the rest in order");
    s_expect (from, last, "up to the last");
    s_expect (pair, dropped, "a type-and-sender subscriber finds it by pts");
    s_expect (pair, last, "without a record of the other type");
    s_expect_stats (from, 1, 1, "the sender subscriber counts one gap");
    s_expect_stats (pair, 1, 1, "the pair subscriber counts one gap");
    kh_subscriber_destroy (&from);
    kh_subscriber_destroy (&pair);
}

/* Checks that the subscriptions the fake hub saw from index first on are the topics
   of expect (NULL-terminated), in that order. */
static void
s_expect_topics (kh_fake_hub_t *hub, int first, const char *const expect [],
                 const char *check)
{
    char seen [256] = "", topic [64];
    bool ok = true;
    for (int i = 0; expect [i]; i++) {
        kh_fake_hub_sub (hub, first + i, topic, sizeof topic);
        ok &= streq (topic, expect [i]);
        size_t used = strlen (seen);
        snprintf (seen + used, sizeof seen - used, "%s'%s'", i ? " " : "", topic);
    }
    KH_CHECK (check, ok, "saw %s", seen);
}

/* The heartbeat is subscribed last, after the filter's topics, and the socket is
   connected before any of them: then they reach the broker in that order (libzmq
   would send subscriptions made before connecting sorted, "!hb" first), and the
   first heartbeat proves every subscription is in place (PROTOCOL.md section 6). */
static void
s_test_subscription_order (kh_fake_hub_t *hub)
{
    /* each type of the schema, in its order, then the heartbeat */
    size_t types = kh_schema_type_count ();
    char topics [2][16][KH_TYPE_MAX + KH_AGS_MAX + 3];
    const char *expect [2][17] = { { NULL } };
    for (size_t i = 0; i < types && i < 16; i++)
        for (int k = 0; k < 2; k++) {
            snprintf (topics [k][i], sizeof topics [k][i], "%s/%s", kh_schema_type_name (i),
                      k ? S_B "/" : "");
            expect [k][i] = topics [k][i];
        }
    expect [0][types] = expect [1][types] = "!hb";
    int subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *all = kh_subscriber_new (hub->client, hub->live, NULL, NULL, 0);
    bool ok = all && kh_fake_hub_await_subs (hub, subs + (int) types + 1) == 0;
    KH_CHECK ("a subscriber to everything subscribes once per type and once more", ok,
              "no subscriptions");
    if (ok)
        s_expect_topics (hub, subs, expect [0], "a subscriber to everything subscribes to "
                         "each type, then to the heartbeat last");
    kh_subscriber_destroy (&all);

    subs = kh_fake_hub_subs (hub);
    kh_subscriber_t *from = kh_subscriber_new (hub->client, hub->live, NULL, S_B, 0);
    ok = from && kh_fake_hub_await_subs (hub, subs + (int) types + 1) == 0;
    KH_CHECK ("a sender subscriber subscribes once per type and once more", ok,
              "no subscriptions");
    if (ok)
        s_expect_topics (hub, subs, expect [1], "a sender subscriber subscribes to each type "
                         "from it, then to the heartbeat last");
    kh_subscriber_destroy (&from);
}

static void
s_test_arguments (kh_fake_hub_t *hub)
{
    kh_subscriber_t *sub = kh_subscriber_new (hub->client, hub->live, "gossip", NULL, 0);
    KH_CHECK ("a subscriber for an unknown type is not created", sub == NULL, "created");
    sub = kh_subscriber_new (hub->client, hub->live, NULL, "0516", 0);
    KH_CHECK ("a subscriber for a sender that is not an AGS is not created", sub == NULL,
              "created");
    kh_subscriber_destroy (&sub);
}

/* A store that does not answer: the subscriber says so, and asks again later. */
static void
s_test_no_store (void)
{
    zsock_t *xpub = zsock_new_xpub ("tcp://127.0.0.1:*");
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    char *live = zsock_last_endpoint (xpub), *client = zsock_last_endpoint (router);
    kh_subscriber_t *sub = kh_subscriber_new (client, live, NULL, NULL, 1);
    kh_subscriber_set_query_timeout (sub, 100);
    kh_record_t rec;
    int rc = kh_subscriber_next (sub, 1000, &rec);
    KH_CHECK ("a catch-up the store does not answer returns KH_EUNREACHABLE",
              rc == KH_EUNREACHABLE, "rc %d", rc);
    rc = kh_subscriber_next (sub, 1000, &rec);
    KH_CHECK ("and asking again asks the store again", rc == KH_EUNREACHABLE, "rc %d", rc);
    kh_subscriber_destroy (&sub);
    zstr_free (&live);
    zstr_free (&client);
    zsock_destroy (&xpub);
    zsock_destroy (&router);
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
    s_test_arguments (&hub);
    s_test_subscription_order (&hub);
    s_test_everything (&hub);
    s_test_after_catch_up (&hub);
    s_test_ahead (&hub);
    s_test_type (&hub);
    s_test_sender (&hub);
    s_test_filtered (&hub);
    kh_fake_hub_stop (&hub);
    s_test_no_store ();
    return kh_check_done ("subscriber_test");
}
