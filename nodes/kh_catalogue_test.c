/*  kh_catalogue_test.c - the catalogue on its own: items with their fields and
    participants, each filter, paging by before, expiry at a given clock, and the
    counts by every group, on a store written by the store itself. */
#include <czmq.h>
#include <sqlite3.h>
#include "kh_catalogue.h"
#include "kh_store.h"

#include "kh_check.h"

#define S_SETS_MAX  8
#define S_ITEMS_MAX 16

static char s_dir [64];

/* ------------------------------------------------------------------ helpers */

/* Milliseconds of a UTC time. */
static uint64_t
s_utc (int year, int month, int day, int hour, int minute)
{
    struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                     .tm_hour = hour, .tm_min = minute };
    return (uint64_t) timegm (&tm) * 1000;
}

/* Builds a message of type from sender at ts with the body fields of the name,
   value pairs that follow (ending in NULL), commits it to store and returns its id
   in id (if not NULL). A message that is not stored ends the test. */
static void
s_put (kh_store_t *store, uint8_t *id, const char *type, const char *from, uint64_t ts,
       ...)
{
    uint8_t own [KH_ID_SIZE];
    kh_id_new (own);
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    va_list args;
    va_start (args, ts);
    int rc = builder ? 0 : -1;
    for (const char *key; rc == 0 && (key = va_arg (args, const char *)); )
        rc = kh_builder_set (builder, key, va_arg (args, const char *), &why);
    va_end (args);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    if (rc == 0)
        rc = kh_builder_pack (builder, own, from, ts, &buf, &why);
    kh_builder_destroy (&builder);
    kh_store_result_t result = { 0 };
    kh_store_item_t item = { buf.data, buf.size };
    if (rc == 0)
        kh_store_append (store, &item, 1, &result);
    msgpack_sbuffer_destroy (&buf);
    if (rc || result.code != KH_OK) {
        printf ("FAIL fixture: %s from %s: %s\n", type, from, rc ? why.reason
                                                               : result.why.reason);
        exit (1);
    }
    if (id)
        memcpy (id, own, KH_ID_SIZE);
}

/* The text form of an id, for a ref. */
static const char *
s_ref (const uint8_t *id)
{
    static char text [4][KH_ID_STR_SIZE];
    static int next;
    next = (next + 1) % 4;
    kh_id_format (id, text [next]);
    return text [next];
}

/* One page of items, copied out of the callbacks. */
typedef struct {
    int       rc;
    uint32_t  count;
    uint64_t  seq [S_ITEMS_MAX];
    kh_item_t item [S_ITEMS_MAX];       /* views cleared: they live in the callback */
    char      title [S_ITEMS_MAX][64];  /* the field title of each */
    char      parts [S_ITEMS_MAX][128]; /* "ags:state ..." in their order */
    bool      more;
    uint64_t  next;
} s_page_t;

/* Takes an item into the page (kh_catalogue_fn). */
static int
s_take (void *arg, const kh_item_t *item)
{
    s_page_t *page = (s_page_t *) arg;
    if (page->count == S_ITEMS_MAX)
        return -1;
    uint32_t n = page->count++;
    page->seq [n] = item->seq;
    if (kh_item_field (item, "title", page->title [n], sizeof page->title [n]))
        snprintf (page->title [n], sizeof page->title [n], "(unreadable)");
    page->parts [n][0] = 0;
    for (size_t i = 0; i < item->participant_count; i++) {
        size_t used = strlen (page->parts [n]);
        snprintf (page->parts [n] + used, sizeof page->parts [n] - used, "%s%s:%s",
                  i ? " " : "", item->participants [i].ags, item->participants [i].state);
    }
    page->item [n] = *item;
    page->item [n].fields = NULL;
    page->item [n].participants = NULL;
    return 0;
}

/* Runs q at now and fills page. */
static void
s_items (kh_catalogue_t *cat, const kh_items_query_t *q, uint64_t now, s_page_t *page)
{
    memset (page, 0, sizeof *page);
    kh_problem_t why = { 0 };
    page->rc = kh_catalogue_items (cat, q, now, s_take, page, &page->more, &page->next,
                                   &why);
    if (page->rc)
        printf ("  items: %s\n", why.reason);
}

/* The seqs of page as text, "4 2 1". */
static const char *
s_seqs (const s_page_t *page)
{
    static char text [128];
    text [0] = 0;
    for (uint32_t i = 0; i < page->count; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "%s%llu", i ? " " : "",
                  (unsigned long long) page->seq [i]);
    return text;
}

/* True if q at now answers the item seqs in text ("4 2 1"); prints them if not. */
static bool
s_finds (kh_catalogue_t *cat, const kh_items_query_t *q, uint64_t now, const char *want)
{
    s_page_t page;
    s_items (cat, q, now, &page);
    bool ok = page.rc == 0 && strcmp (s_seqs (&page), want) == 0;
    if (!ok)
        printf ("  found '%s', expected '%s'\n", s_seqs (&page), want);
    return ok;
}

/* Opens the store's file read-only as the recorder's reader does, for a catalogue. */
static sqlite3 *
s_reader (const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        printf ("FAIL fixture: cannot read %s\n", path);
        exit (1);
    }
    return db;
}

/* Brings the whole log into the search index. */
static void
s_index (kh_store_t *store)
{
    size_t count;
    kh_problem_t why = { 0 };
    while (kh_store_index (store, 100, &count, &why) == 0 && count > 0)
        ;
}

/* ------------------------------------------------------------------ story */

/*  The story of the tests (seq: message):
     1 offer A from 05162004, hf 2, topic E-Akte, 2022-03-30 22:30 UTC (Berlin: 03-31)
     2 idea B from 05162008, lead 05162012, valid_until 2099-06-30, 2022-03-31 22:30
       UTC (Berlin: April, summer time)
     3 request C from 05162016, participants 05162004, hf 2
     4 announcement D from the Kreis 05162
     5 interest in A by 05162012: interested
     6 interest in A by 05162008: join
     7 interest in A by 05162012: join (its first answer came before 05162008's,
       its latest after it, and its AGS sorts after it)
     8 status of A: discussion
     9 revise of A: title "E-Akte fuer alle"
    10 comment on C: "Digitaler Zwilling"
    11 status of D: withdrawn                                                       */
static void
s_story (kh_store_t *store, uint8_t ids [4][KH_ID_SIZE])
{
    uint64_t t = s_utc (2022, 3, 30, 22, 30);
    s_put (store, ids [0], "offer", "05162004", t, "title", "E-Akte", "hf", "2",
           "topic", "E-Akte", "keywords", "Akte, DMS", NULL);
    s_put (store, ids [1], "idea", "05162008", s_utc (2022, 3, 31, 22, 30), "title",
           "Digitaler Zwilling", "lead", "05162012", "valid_until", "2099-06-30", NULL);
    s_put (store, ids [2], "request", "05162016", t + 1000, "title", "Partner gesucht",
           "participants", "05162004", "hf", "2", NULL);
    s_put (store, ids [3], "announcement", "05162", t + 2000, "title", "Kurs", NULL);
    s_put (store, NULL, "interest", "05162012", t + 3000, "ref", s_ref (ids [0]),
           "action", "interested", NULL);
    s_put (store, NULL, "interest", "05162008", t + 4000, "ref", s_ref (ids [0]),
           "action", "join", NULL);
    s_put (store, NULL, "interest", "05162012", t + 5000, "ref", s_ref (ids [0]),
           "action", "join", NULL);
    s_put (store, NULL, "status", "05162004", t + 6000, "ref", s_ref (ids [0]),
           "status", "discussion", NULL);
    s_put (store, NULL, "revise", "05162004", t + 7000, "ref", s_ref (ids [0]),
           "fields.title", "E-Akte fuer alle", NULL);
    s_put (store, NULL, "comment", "05162004", t + 8000, "ref", s_ref (ids [2]),
           "text", "Digitaler Zwilling", NULL);
    s_put (store, NULL, "status", "05162", t + 9000, "ref", s_ref (ids [3]),
           "status", "withdrawn", NULL);
    s_index (store);
}

/* Sets B's valid_until in the past, as a revise by its owner would. */
static void
s_expire_b (kh_store_t *store, const uint8_t *b)
{
    s_put (store, NULL, "revise", "05162008", s_utc (2022, 4, 2, 8, 0), "ref", s_ref (b),
           "fields.valid_until", "2022-06-30", NULL);
}

/* ------------------------------------------------------------------ tests */

static void
test_items (kh_catalogue_t *cat, uint8_t ids [4][KH_ID_SIZE])
{
    uint64_t now = s_utc (2022, 5, 1, 12, 0);
    s_page_t page;
    kh_items_query_t q = { .req = 1 };
    s_items (cat, &q, now, &page);
    KH_CHECK ("the catalogue lists every item by last activity, newest first",
              page.rc == 0 && strcmp (s_seqs (&page), "4 3 1 2") == 0 && !page.more
              && page.next == page.item [3].last_seq, "'%s' more %d", s_seqs (&page),
              page.more);
    const kh_item_t *a = &page.item [2];
    KH_CHECK ("an item's row holds its state", a->seq == 1 && memcmp (a->id, ids [0],
              KH_ID_SIZE) == 0 && strcmp (a->type, "offer") == 0
              && strcmp (a->owner, "05162004") == 0 && strcmp (a->status, "discussion") == 0
              && a->status_seq == 8 && a->joined == 2 && a->interested == 0
              && a->messages == 6 && a->last_seq == 9 && !a->expired,
              "seq %llu status %s joined %u messages %llu last %llu",
              (unsigned long long) a->seq, a->status, a->joined,
              (unsigned long long) a->messages, (unsigned long long) a->last_seq);
    KH_CHECK ("fields are the item's now: revised, or its first message's body",
              strcmp (page.title [2], "E-Akte fuer alle") == 0
              && strcmp (page.title [3], "Digitaler Zwilling") == 0, "'%s' '%s'",
              page.title [2], page.title [3]);
    KH_CHECK ("participants come in the order they first answered",
              strcmp (page.parts [2], "05162012:joined 05162008:joined") == 0
              && page.item [3].participant_count == 0, "'%s'", page.parts [2]);

    q = (kh_items_query_t) { .req = 1, .limit = 1 };
    bool paged = true;
    char order [64] = "";
    for (int i = 0; i < 6; i++) {
        s_items (cat, &q, now, &page);
        paged &= page.rc == 0 && page.count == (i < 4 ? 1u : 0u)
              && page.more == (i < 3) && (page.count == 0 || page.next == page.item [0].last_seq)
              && (page.count || page.next == q.before);
        snprintf (order + strlen (order), sizeof order - strlen (order), "%s ", s_seqs (&page));
        if (!page.more)
            break;
        q.before = page.next;
    }
    KH_CHECK ("pages of one item follow with before = next until no more", paged
              && strcmp (order, "4 3 1 2 ") == 0, "'%s'", order);
}

static void
test_filters (kh_catalogue_t *cat, uint8_t ids [4][KH_ID_SIZE])
{
    uint64_t now = s_utc (2022, 5, 1, 12, 0);
    kh_items_query_t q = { .req = 1 };
    snprintf (q.type [0], sizeof q.type [0], "offer");
    snprintf (q.type [1], sizeof q.type [1], "request");
    q.type_count = 2;
    KH_CHECK ("a list of types", s_finds (cat, &q, now, "3 1"), "see above");
    q = (kh_items_query_t) { .req = 1, .from_count = 1, .from = { "051620*" } };
    KH_CHECK ("owners by a prefix", s_finds (cat, &q, now, "3 1 2"), "see above");
    q = (kh_items_query_t) { .req = 1, .from_count = 2, .from = { "05162", "05162004" } };
    KH_CHECK ("owners by AGS", s_finds (cat, &q, now, "4 1"), "see above");
    q = (kh_items_query_t) { .req = 1, .status_count = 2,
                             .status = { "discussion", "withdrawn" } };
    KH_CHECK ("stages", s_finds (cat, &q, now, "4 1"), "see above");
    q = (kh_items_query_t) { .req = 1, .hf = 2, .topic = "E-Akte" };
    KH_CHECK ("hf and topic", s_finds (cat, &q, now, "1"), "see above");
    q = (kh_items_query_t) { .req = 1, .participant = "05162012" };
    KH_CHECK ("a participant: joined, or named as lead", s_finds (cat, &q, now, "1 2"),
              "see above");
    q = (kh_items_query_t) { .req = 1, .participant = "05162004" };
    KH_CHECK ("a participant named among participants (not the owner)",
              s_finds (cat, &q, now, "3"), "see above");
    q = (kh_items_query_t) { .req = 1, .search = "zwill*" };
    KH_CHECK ("a search finds an item by its title or by a message about it",
              s_finds (cat, &q, now, "3 2"), "see above");
    q = (kh_items_query_t) { .req = 1, .search = "akte" };
    KH_CHECK ("a search finds a keyword", s_finds (cat, &q, now, "1"), "see above");
    q = (kh_items_query_t) { .req = 1, .has_id = true };
    memcpy (q.id, ids [2], KH_ID_SIZE);
    KH_CHECK ("an id", s_finds (cat, &q, now, "3"), "see above");
    kh_id_new (q.id);
    KH_CHECK ("an unknown id finds nothing", s_finds (cat, &q, now, ""), "see above");
    q = (kh_items_query_t) { .req = 1, .open = true };
    KH_CHECK ("open leaves out the withdrawn", s_finds (cat, &q, now, "3 1 2"),
              "see above");
}

static void
test_expiry (kh_store_t *store, kh_catalogue_t *cat, uint8_t ids [4][KH_ID_SIZE])
{
    s_expire_b (store, ids [1]);        /* B: valid until 2022-06-30 */
    kh_items_query_t q = { .req = 1, .open = true };
    uint64_t last_day = s_utc (2022, 6, 30, 21, 59);    /* 23:59 in Berlin */
    uint64_t after = s_utc (2022, 6, 30, 22, 0);        /* 07-01 00:00 in Berlin */
    KH_CHECK ("an item is open on its valid_until in Berlin",
              s_finds (cat, &q, last_day, "2 3 1"), "see above");
    KH_CHECK ("and expired from the next day in Berlin", s_finds (cat, &q, after, "3 1"),
              "see above");
    s_page_t page;
    q.open = false;
    s_items (cat, &q, after, &page);
    KH_CHECK ("an expired item says so", page.count == 4 && page.seq [0] == 2
              && page.item [0].expired && !page.item [1].expired, "count %u", page.count);
}

/* The counts of q, as "key:items/messages ..." after "items/messages head". */
static char *
s_stats (kh_catalogue_t *cat, const kh_stats_query_t *q)
{
    kh_stats_t *stats = NULL;
    kh_problem_t why = { 0 };
    char *text = calloc (1, 1024);
    if (kh_catalogue_stats (cat, q, &stats, &why)) {
        snprintf (text, 1024, "ERROR %d %s", why.code, why.reason);
        return text;
    }
    snprintf (text, 1024, "%llu/%llu %llu%s", (unsigned long long) stats->items,
              (unsigned long long) stats->messages, (unsigned long long) stats->head,
              stats->store_bytes > 4096 ? "" : " small");
    for (size_t i = 0; i < stats->count; i++)
        snprintf (text + strlen (text), 1024 - strlen (text), " %s:%llu/%llu",
                  stats->rows [i].key, (unsigned long long) stats->rows [i].items,
                  (unsigned long long) stats->rows [i].messages);
    kh_stats_destroy (&stats);
    return text;
}

/* True if s_stats says want; prints what it said if not. */
static bool
s_counts (kh_catalogue_t *cat, const kh_stats_query_t *q, const char *want)
{
    char *text = s_stats (cat, q);
    bool ok = strcmp (text, want) == 0;
    if (!ok)
        printf ("  by '%s': '%s'\n  expected '%s'\n", q->by, text, want);
    free (text);
    return ok;
}

static void
test_stats (kh_catalogue_t *cat)
{
    kh_stats_query_t q = { .req = 1 };
    KH_CHECK ("totals: items and messages, head, the store's size",
              s_counts (cat, &q, "4/11 11"), "see above");
    snprintf (q.by, sizeof q.by, "municipality");
    KH_CHECK ("by municipality", s_counts (cat, &q, "4/11 11 05162:1/2 05162004:1/4 "
              "05162008:1/2 05162012:0/2 05162016:1/1"), "see above");
    snprintf (q.by, sizeof q.by, "type");
    KH_CHECK ("by type", s_counts (cat, &q, "4/11 11 announcement:1/1 comment:0/1 "
              "idea:1/1 interest:0/3 offer:1/1 request:1/1 revise:0/1 status:0/2"),
              "see above");
    snprintf (q.by, sizeof q.by, "month");
    KH_CHECK ("by month in Berlin (22:30 UTC on 03-31 is April there)",
              s_counts (cat, &q, "4/11 11 2022-03:3/10 2022-04:1/1"), "see above");
    snprintf (q.by, sizeof q.by, "hf");
    KH_CHECK ("by hf: items, and messages about them", s_counts (cat, &q, "4/11 11 "
              ":2/3 2:2/8"), "see above");
    snprintf (q.by, sizeof q.by, "status");
    KH_CHECK ("by stage now", s_counts (cat, &q, "4/11 11 discussion:1/6 proposed:2/3 "
              "withdrawn:1/2"), "see above");
    q = (kh_stats_query_t) { .req = 1, .by = "type", .from_count = 1, .from = { "05162*" },
                             .type_count = 2, .type = { "offer", "status" },
                             .until_ts = s_utc (2022, 3, 30, 22, 30) + 6000 };
    KH_CHECK ("filters select the messages counted",
              s_counts (cat, &q, "1/2 11 offer:1/1 status:0/1"), "see above");
    q = (kh_stats_query_t) { .req = 1, .by = "year" };
    char *text = s_stats (cat, &q);
    KH_CHECK ("an unknown group is a QUERY error", strncmp (text, "ERROR 10 ", 9) == 0
              || strstr (text, "ERROR") != NULL, "'%s'", text);
    free (text);
}

int
main (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/kh-catalogue-test-XXXXXX");
    if (!mkdtemp (s_dir)) {
        printf ("FAIL fixture: cannot create a temporary directory\n");
        return 1;
    }
    char path [128];
    snprintf (path, sizeof path, "%s/catalogue.db", s_dir);
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_OFF, &why);
    if (!store) {
        printf ("FAIL fixture: %s\n", why.reason);
        return 1;
    }
    uint8_t ids [4][KH_ID_SIZE];
    s_story (store, ids);
    sqlite3 *db = s_reader (path);
    kh_catalogue_t *cat = kh_catalogue_new (db, &why);
    KH_CHECK ("a catalogue opens on a reader's connection", cat != NULL, "%s", why.reason);
    if (cat) {
        test_items (cat, ids);
        test_filters (cat, ids);
        test_stats (cat);
        test_expiry (store, cat, ids);
    }
    kh_catalogue_destroy (&cat);
    sqlite3_close (db);
    kh_store_destroy (&store);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", s_dir);
    return kh_check_done ("catalogue_test");
}
