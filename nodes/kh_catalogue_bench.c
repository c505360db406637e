/*  kh_catalogue_bench.c - how fast the reads answer from a big store: the catalogue,
    counts and searches over ITEMS items and MESSAGES messages (default 10,000 and
    200,000), written by the store itself. Prints figures; asserts nothing.
    Usage: catalogue_bench [ITEMS MESSAGES [DIR]] */
#include <czmq.h>
#include "kh_store.h"

#define S_BATCH     2000
#define S_SENDERS   40
#define S_WORDS     400
#define S_STAGES    6                   /* proposed .. done: forward moves */
#define S_RUNS      5

static const char *const s_stages [S_STAGES] = {
    "proposed", "discussion", "decided", "pilot", "rollout", "done"
};
static const char *const s_types [4] = { "idea", "offer", "request", "announcement" };
static const char *const s_actions [4] = { "interested", "join", "decline", "leave" };

/* An item as the generator knows it. */
typedef struct {
    char id [KH_ID_STR_SIZE];
    char owner [KH_AGS_MAX + 1];
    int  stage;
} s_item_t;

static uint64_t s_rng = 88172645463325252ULL;

static uint32_t
s_rand (uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t) (s_rng % n);
}

/* Writes sender number i's AGS (the Kreis itself for 0) into out. */
static void
s_sender (uint32_t i, char out [KH_AGS_MAX + 1])
{
    if (i == 0)
        snprintf (out, KH_AGS_MAX + 1, "05162");
    else
        snprintf (out, KH_AGS_MAX + 1, "05162%03u", 4 * i);
}

/* Writes words random words into out: "wortNNN ...", now and then "Zwilling". */
static void
s_text (char *out, size_t cap, int words)
{
    size_t used = 0;
    out [0] = 0;
    for (int i = 0; i < words && used + 16 < cap; i++)
        used += (size_t) snprintf (out + used, cap - used, "%s%s%03u", i ? " " : "",
                                   s_rand (50) ? "wort" : "Zwilling", s_rand (S_WORDS));
}

/* Builds one message into buf (type from at ts with the pairs in sets) under id. */
static void
s_build (msgpack_sbuffer *buf, uint8_t id [KH_ID_SIZE], const char *type, const char *from,
         uint64_t ts, const char *const *sets)
{
    kh_id_new (id);
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    int rc = builder ? 0 : -1;
    for (int i = 0; rc == 0 && sets [i]; i += 2)
        rc = kh_builder_set (builder, sets [i], sets [i + 1], &why);
    if (rc || kh_builder_pack (builder, id, from, ts, buf, &why)) {
        printf ("cannot build %s: %s\n", type, why.reason);
        exit (1);
    }
    kh_builder_destroy (&builder);
}

/* Builds message number n (items first, then messages about them) into buf. */
static void
s_message (s_item_t *items, uint32_t item_count, uint32_t n, msgpack_sbuffer *buf)
{
    uint8_t id [KH_ID_SIZE];
    char from [KH_AGS_MAX + 1], text [256], hf [4], other [KH_AGS_MAX + 1];
    uint64_t ts = 1546300800000ULL + (uint64_t) n * 600000;     /* from 2019, 10 min */
    s_sender (s_rand (S_SENDERS), from);
    s_text (text, sizeof text, 6 + (int) s_rand (20));
    if (n < item_count) {
        s_item_t *item = &items [n];
        const char *type = s_types [s_rand (3)];
        if (s_rand (20) == 0) {
            type = "announcement";
            snprintf (from, sizeof from, "05162");
        }
        snprintf (item->owner, sizeof item->owner, "%s", from);
        char title [64];
        s_text (title, sizeof title, 3);
        snprintf (hf, sizeof hf, "%u", 1 + s_rand (5));
        s_sender (1 + s_rand (S_SENDERS - 1), other);
        const char *sets [] = { "title", title, "description", text, "hf", hf,
                                "keywords", "Digitalisierung, Verwaltung", "lead", other,
                                s_rand (4) ? "topic" : NULL, "Querschnitt", NULL };
        s_build (buf, id, type, from, ts, sets);
        kh_id_format (id, item->id);
        return;
    }
    s_item_t *item = &items [s_rand (item_count)];
    uint32_t kind = s_rand (20);
    if (kind < 8) {
        const char *sets [] = { "ref", item->id, "action", s_actions [s_rand (4)], NULL };
        s_build (buf, id, "interest", from, ts, sets);
    }
    else
    if (kind == 8 && item->stage + 1 < S_STAGES) {
        const char *sets [] = { "ref", item->id, "status", s_stages [++item->stage], NULL };
        s_build (buf, id, "status", item->owner, ts, sets);
    }
    else
    if (kind == 9) {
        char title [64];
        s_text (title, sizeof title, 3);
        const char *sets [] = { "ref", item->id, "fields.title", title, NULL };
        s_build (buf, id, "revise", item->owner, ts, sets);
    }
    else {
        const char *sets [] = { "ref", item->id, "text", text, NULL };
        s_build (buf, id, "comment", from, ts, sets);
    }
}

/* Writes the store: item_count items, then messages about them up to total. */
static void
s_fill (kh_store_t *store, uint32_t item_count, uint32_t total)
{
    s_item_t *items = (s_item_t *) calloc (item_count, sizeof *items);
    msgpack_sbuffer *bufs = (msgpack_sbuffer *) calloc (S_BATCH, sizeof *bufs);
    kh_store_item_t *batch = (kh_store_item_t *) calloc (S_BATCH, sizeof *batch);
    kh_store_result_t *results = (kh_store_result_t *) calloc (S_BATCH, sizeof *results);
    uint32_t refused = 0;
    for (uint32_t n = 0; n < total; ) {
        uint32_t count = 0;
        for (; count < S_BATCH && n < total; count++, n++) {
            msgpack_sbuffer_init (&bufs [count]);
            s_message (items, item_count, n, &bufs [count]);
            batch [count] = (kh_store_item_t) { bufs [count].data, bufs [count].size };
        }
        if (kh_store_append (store, batch, count, results)) {
            printf ("append failed: %s\n", results [0].why.reason);
            exit (1);
        }
        for (uint32_t i = 0; i < count; i++) {
            refused += results [i].code != KH_OK;
            msgpack_sbuffer_destroy (&bufs [i]);
        }
    }
    size_t indexed;
    kh_problem_t why = { 0 };
    while (kh_store_index (store, 5000, &indexed, &why) == 0 && indexed > 0)
        ;
    printf ("store: %u items, %u messages (%u refused by the rules)\n", item_count,
            total - refused, refused);
    free (items);
    free (bufs);
    free (batch);
    free (results);
}

/* Returns the median of the S_RUNS times in ms (sorting them). */
static double
s_median (double ms [S_RUNS])
{
    for (int i = 1; i < S_RUNS; i++)        /* a few: insertion sort */
        for (int j = i; j > 0 && ms [j] < ms [j - 1]; j--) {
            double t = ms [j];
            ms [j] = ms [j - 1];
            ms [j - 1] = t;
        }
    return ms [S_RUNS / 2];
}

/* Runs an items query (if items) or a query S_RUNS times; prints the median's ms,
   the rows and their bytes. */
static void
s_time_page (kh_store_t *reader, const char *name, const kh_items_query_t *items,
             const kh_query_t *query)
{
    double ms [S_RUNS];
    uint32_t rows = 0;
    size_t bytes = 0;
    for (int run = 0; run < S_RUNS; run++) {
        kh_rows_writer_t *w = kh_rows_writer_new (1);
        bool more;
        uint64_t next;
        kh_problem_t why = { 0 };
        int64_t start = zclock_usecs ();
        if (items ? kh_store_items (reader, items, w, &more, &next, &why)
                  : kh_store_query (reader, query, w, &more, &next, &why))
            printf ("  %s: %s\n", name, why.reason);
        ms [run] = (double) (zclock_usecs () - start) / 1000.0;
        rows = kh_rows_writer_count (w);
        bytes = kh_rows_writer_bytes (w);
        kh_rows_writer_destroy (&w);
    }
    printf ("%s %-34s %8.2f ms  %4u rows %8zu bytes\n", items ? "items" : "query", name,
            s_median (ms), rows, bytes);
}

static void
s_time_items (kh_store_t *reader, const char *name, const kh_items_query_t *q)
{
    s_time_page (reader, name, q, NULL);
}

static void
s_time_query (kh_store_t *reader, const char *name, const kh_query_t *q)
{
    s_time_page (reader, name, NULL, q);
}

/* Runs a count S_RUNS times; prints the median's ms and the groups. */
static void
s_time_stats (kh_store_t *reader, const char *by)
{
    kh_stats_query_t q = { .req = 1 };
    snprintf (q.by, sizeof q.by, "%s", by);
    double ms [S_RUNS];
    size_t groups = 0;
    for (int run = 0; run < S_RUNS; run++) {
        kh_stats_t *stats = NULL;
        kh_problem_t why = { 0 };
        int64_t start = zclock_usecs ();
        if (kh_store_stats (reader, &q, &stats, &why))
            printf ("  stats %s: %s\n", by, why.reason);
        ms [run] = (double) (zclock_usecs () - start) / 1000.0;
        groups = stats ? stats->count : 0;
        kh_stats_destroy (&stats);
    }
    printf ("stats by %-31s %8.2f ms  %4zu groups\n", by [0] ? by : "(totals)",
            s_median (ms), groups);
}

/* The reads the catalogue and the CLI make most. */
static void
s_bench (kh_store_t *reader)
{
    kh_items_query_t items = { .req = 1 };
    s_time_items (reader, "all, first page", &items);
    items = (kh_items_query_t) { .req = 1, .limit = 50 };
    s_time_items (reader, "all, 50", &items);
    items = (kh_items_query_t) { .req = 1, .open = true };
    s_time_items (reader, "open", &items);
    items = (kh_items_query_t) { .req = 1, .participant = "05162008" };
    s_time_items (reader, "participant 05162008", &items);
    items = (kh_items_query_t) { .req = 1, .hf = 2, .type_count = 1, .type = { "offer" } };
    s_time_items (reader, "offer, hf 2", &items);
    items = (kh_items_query_t) { .req = 1, .search = "zwilling*" };
    s_time_items (reader, "search zwilling*", &items);
    items = (kh_items_query_t) { .req = 1, .search = "wort007 wort123" };
    s_time_items (reader, "search wort007 wort123", &items);
    items = (kh_items_query_t) { .req = 1, .before = 100000, .from_count = 1,
                                 .from = { "051620*" } };
    s_time_items (reader, "before 100000, from 051620*", &items);

    kh_query_t q = { .req = 1, .search = "zwilling*" };
    s_time_query (reader, "search zwilling*", &q);
    q = (kh_query_t) { .req = 1, .search = "wort007 wort123" };
    s_time_query (reader, "search wort007 wort123", &q);
    q = (kh_query_t) { .req = 1, .type_count = 2, .type = { "idea", "offer" } };
    s_time_query (reader, "types idea, offer", &q);
    q = (kh_query_t) { .req = 1, .since_ts = 1577836800000ULL, .until_ts = 1580515199999ULL };
    s_time_query (reader, "ts January 2020", &q);
    q = (kh_query_t) { .req = 1, .from_count = 2, .from = { "05162008", "05162012" } };
    s_time_query (reader, "from 2 AGS", &q);
    q = (kh_query_t) { .req = 1, .from_count = 1, .from = { "05162*" }, .since_seq = 150000 };
    s_time_query (reader, "from 05162*, since seq 150000", &q);
    s_time_stats (reader, "");
    s_time_stats (reader, "month");
    s_time_stats (reader, "hf");
    s_time_stats (reader, "status");
}

int
main (int argc, char *argv [])
{
    uint32_t items = argc > 2 ? (uint32_t) atoi (argv [1]) : 10000;
    uint32_t total = argc > 2 ? (uint32_t) atoi (argv [2]) : 200000;
    char dir [256], path [300];
    snprintf (dir, sizeof dir, "%s", argc > 3 ? argv [3] : "/tmp/kh-catalogue-bench-XXXXXX");
    if (argc <= 3 && !mkdtemp (dir))
        return 1;
    snprintf (path, sizeof path, "%s/bench.db", dir);
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_OFF, &why);
    if (!store || items == 0 || total < items) {
        printf ("cannot open %s: %s\n", path, why.reason);
        return 1;
    }
    if (kh_store_head (store) == 0) {
        int64_t start = zclock_mono ();
        s_fill (store, items, total);
        printf ("written in %.1f s\n", (double) (zclock_mono () - start) / 1000.0);
    }
    kh_store_t *reader = kh_store_new_reader (path, &why);
    if (reader)
        s_bench (reader);
    kh_store_destroy (&reader);
    kh_store_destroy (&store);
    printf ("store left in %s\n", dir);
    return 0;
}
