/*  kh_bench_web.c - the web workload: issue 8's speed targets measured from the node.

    A store of --web-items items and --web-messages messages (kh_bench_web_fill.c,
    kept in a cache directory keyed by the counts and the store's version, so that
    reruns skip the fill) is copied into a fresh data directory; the hub (broker and
    recorder, plain) and kreishub-web start on it as `kreishub up` starts them, the
    web node with a users file and sign-in; the bench signs in as the Kreis' admin
    through the form, as a browser does, and keeps the session's cookie.

    Then, from the node: --web-gets keep-alive GETs of each page one after another on
    one connection (the catalogue, filtered and paged; the log, its newest page and a
    page filtered by sender and time deep in the store; an item), each answer checked
    against what the store itself answers to the same query; and the live run of
    kh_bench_web_live.c. Figures are printed beside issue 8's targets; a missed target
    is printed MISSED but fails nothing: only a wrong count or answer does. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench_web.h"
#include "kh_codec.h"
#include "kh_launch.h"
#include "kh_ready.h"
#include "kh_sql.h"
#include "kh_store.h"
#include "kh_web_auth.h"
#include "kh_when.h"

#define S_PAGE_TARGET_MS    50          /* issue 8: catalogue and log, p99 */
#define S_LIVE_TARGET_MS    100         /* issue 8: 100 open live pages, p99 */
#define S_WARMUP            5           /* GETs of a page before the timed ones */
#define S_GET_MS            10000       /* one answer, at most */
#define S_CATALOGUE_PAGE    50          /* rows of a catalogue page (kh_web_pages.c) */
#define S_LOG_PAGE          100         /* rows of a log page (kh_web_log.c) */
#define S_MEMBER            "05162016"  /* Kaarst: the municipality the filters name */
#define S_SEARCH            "Zwilling"  /* a word of some items' titles */
#define S_DEEP_SINCE        "2023-09-01"    /* the filtered log's month, early in the store */
#define S_DEEP_UNTIL        "2023-09-30"
#define S_DATA_ROOT         "/tmp"

/* The run: where things are, who is signed in, what the store says. */
typedef struct {
    const kh_bench_opts_t *opts;
    char         dir [PATH_MAX];        /* the run's data directory */
    char         db [PATH_MAX + 16];    /* the copy of the store the hub runs on */
    uint16_t     port;                  /* the web node's */
    char         cookie [KH_WEB_COOKIE_MAX + 16];   /* "kh_session=..." */
    kh_store_t  *reader;                /* the store read by the bench, for the checks */
    uint64_t     head;                  /* its last seq */
    kh_item_t    item;                  /* the item the item page and the live run show */
    char         item_id [KH_ID_STR_SIZE];
    bool         failed;                /* a count or an answer was wrong */
} s_web_t;

/* One page timed: its path and the seqs its rows must show, in order. */
typedef struct {
    const char *name;
    char        path [256];
    const char *row;                    /* what starts a row: "<tr data-seq=\"", ... */
    uint64_t   *seqs;                   /* the store's answer */
    size_t      count;
    bool        catalogue;              /* says "N Einträge" */
    double      p50_us, p99_us, max_us;
    size_t      bytes;
    uint32_t    bad;                    /* answers that were not the page */
} s_page_t;

/* ------------------------------------------------------------------ the store */

/* Writes the store's cache directory for the counts into dir (cap bytes). */
static void
s_cache_dir (const kh_bench_opts_t *opts, char *dir, size_t cap)
{
    snprintf (dir, cap, "%s/kh-bench-web-v%d-%u-%u", opts->web_store ? opts->web_store
              : S_DATA_ROOT, KH_SQL_VERSION, opts->web_items, opts->web_messages);
}

/* Fills a store into a new directory beside cache and renames it to cache once it
   is whole (a run that another finished first keeps that one). Returns 0, or -1. */
static int
s_fill (const kh_bench_opts_t *opts, const char *cache)
{
    char tmp [PATH_MAX + 16], db [PATH_MAX + 32], mark [PATH_MAX + 32], cmd [2 * PATH_MAX];
    snprintf (tmp, sizeof tmp, "%s-fill-XXXXXX", cache);
    if (!mkdtemp (tmp)) {
        fprintf (stderr, "kreishub-bench: web: cannot make %s\n", tmp);
        return -1;
    }
    snprintf (db, sizeof db, "%s/kreishub.db", tmp);
    snprintf (mark, sizeof mark, "%s/filled", tmp);
    printf ("  filling the store through the recorder's store (kh_store_append, batches "
            "of 2000)...\n");
    kh_bench_fill_t done;
    int rc = kh_bench_web_fill (db, opts->web_items, opts->web_messages, &done);
    FILE *file = rc == 0 ? fopen (mark, "w") : NULL;
    if (file) {
        fprintf (file, "%" PRIu64 " items, %" PRIu64 " messages written and indexed in "
                 "%.1f s (%.0f msgs/s)\n", done.items, done.messages, done.secs,
                 done.secs > 0 ? (double) done.messages / done.secs : 0);
        fclose (file);
    }
    if (rc == 0 && file && rename (tmp, cache) == 0)
        return 0;
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system (cmd) != 0)
        fprintf (stderr, "kreishub-bench: web: could not remove %s\n", tmp);
    return rc == 0 && file && access (cache, F_OK) == 0 ? 0 : -1;
}

/* Makes sure the cache holds a whole store of the counts (filling it if not),
   prints how it was made, and copies it into the run's data directory. Returns
   0, or -1 after saying why. */
static int
s_store (s_web_t *self)
{
    char cache [PATH_MAX], mark [PATH_MAX + 16], line [256] = "", cmd [3 * PATH_MAX];
    s_cache_dir (self->opts, cache, sizeof cache);
    snprintf (mark, sizeof mark, "%s/filled", cache);
    bool reused = access (mark, F_OK) == 0;
    if (!reused && s_fill (self->opts, cache))
        return -1;
    FILE *file = fopen (mark, "r");
    if (file && fgets (line, sizeof line, file))
        line [strcspn (line, "\n")] = 0;
    if (file)
        fclose (file);
    printf ("  store %s in %s: %s\n", reused ? "reused" : "made", cache, line);
    uint64_t t0 = kh_bench_now_ns ();
    snprintf (cmd, sizeof cmd, "cp --reflink=auto '%s/kreishub.db' '%s'", cache, self->db);
    if (system (cmd) != 0) {
        fprintf (stderr, "kreishub-bench: web: cannot copy the store to %s\n", self->db);
        return -1;
    }
    struct stat st;
    printf ("  copied into the run's data directory in %.1f s (%.0f MB)\n",
            (double) (kh_bench_now_ns () - t0) / 1e9,
            stat (self->db, &st) == 0 ? (double) st.st_size / 1e6 : 0);
    return 0;
}

/* Checks the copy against the counts asked for and reads its head. Returns 0, or
   -1 after saying why (the store's counts are wrong: a failure). */
static int
s_store_check (s_web_t *self)
{
    kh_problem_t why = { 0 };
    self->reader = kh_store_new_reader (self->db, &why);
    kh_stats_query_t q = { .req = 1 };
    kh_stats_t *stats = NULL;
    if (!self->reader || kh_store_stats (self->reader, &q, &stats, &why)) {
        fprintf (stderr, "kreishub-bench: web: cannot read the store %s: %s\n", self->db,
                 why.reason);
        return -1;
    }
    self->head = stats->head;
    bool exact = stats->items == self->opts->web_items
              && stats->messages == self->opts->web_messages;
    printf ("  the store holds %" PRIu64 " items and %" PRIu64 " messages (asked: %u and "
            "%u): %s\n", stats->items, stats->messages, self->opts->web_items,
            self->opts->web_messages, exact ? "exact" : "WRONG");
    kh_stats_destroy (&stats);
    return exact ? 0 : -1;
}

/* ------------------------------------------------------------- the store's answers */

/* Reads one page of the items query q from the bench's own connection, as the
   recorder would answer it, into rows (their bytes in sb, initialised here).
   Release both whatever it returns. Returns 0, or -1 with why set. */
static int
s_read_items (s_web_t *self, const kh_items_query_t *q, msgpack_sbuffer *sb,
              kh_item_rows_t *rows, kh_problem_t *why)
{
    kh_rows_writer_t *w = kh_rows_writer_new (1);
    msgpack_sbuffer_init (sb);
    *rows = (kh_item_rows_t) { 0 };
    bool more = false;
    uint64_t next = 0;
    int rc = w && kh_store_items (self->reader, q, w, &more, &next, why) == 0
          && kh_rows_writer_finish (w, more, next, sb) == 0
          && kh_item_rows_decode (sb->data, sb->size, rows, why) == 0 ? 0 : -1;
    kh_rows_writer_destroy (&w);
    return rc;
}

/* Copies the seqs of one catalogue page for q into page. Returns 0, or -1. */
static int
s_expect_items (s_web_t *self, const kh_items_query_t *q, s_page_t *page)
{
    msgpack_sbuffer sb;
    kh_item_rows_t rows;
    kh_problem_t why = { .reason = "out of memory" };
    int rc = s_read_items (self, q, &sb, &rows, &why);
    page->seqs = rc == 0 ? (uint64_t *) calloc (rows.count + 1, sizeof (uint64_t)) : NULL;
    for (uint32_t i = 0; page->seqs && i < rows.count; i++)
        page->seqs [i] = rows.rows [i].seq;
    page->count = page->seqs ? rows.count : 0;
    kh_item_rows_release (&rows);
    msgpack_sbuffer_destroy (&sb);
    if (rc || !page->seqs)
        fprintf (stderr, "kreishub-bench: web: the store cannot answer %s: %s\n", page->name,
                 why.reason);
    return rc == 0 && page->seqs ? 0 : -1;
}

/* Copies the seqs of the records q selects into page: one page of at most limit,
   or every page if all. Returns 0, or -1. */
static int
s_expect_records (s_web_t *self, kh_query_t q, bool all, s_page_t *page)
{
    kh_problem_t why = { .reason = "out of memory" };
    int rc = 0;
    for (bool more = true; rc == 0 && more; ) {
        kh_rows_writer_t *w = kh_rows_writer_new (1);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        kh_rows_t rows = { 0 };
        uint64_t next = 0;
        rc = w && kh_store_query (self->reader, &q, w, &more, &next, &why) == 0
          && kh_rows_writer_finish (w, more, next, &sb) == 0
          && kh_rows_decode (sb.data, sb.size, &rows, &why) == 0 ? 0 : -1;
        uint64_t *grown = rc == 0 ? (uint64_t *) realloc (page->seqs, (page->count
                                    + rows.count + 1) * sizeof (uint64_t)) : NULL;
        if (grown)
            page->seqs = grown;
        for (uint32_t i = 0; grown && i < rows.count; i++)
            page->seqs [page->count++] = rows.rows [i].info.seq;
        rc = rc == 0 && grown ? 0 : -1;
        more = all && more && rows.count > 0;
        q.since_seq = next;
        kh_rows_release (&rows);
        kh_rows_writer_destroy (&w);
        msgpack_sbuffer_destroy (&sb);
    }
    if (rc)
        fprintf (stderr, "kreishub-bench: web: the store cannot answer %s: %s\n", page->name,
                 why.reason);
    return rc;
}

/* Picks the item the item page and the live run show: of the first open items,
   the one whose count of messages is nearest the store's mean. Returns 0, or -1. */
static int
s_pick_item (s_web_t *self)
{
    kh_items_query_t q = { .req = 1, .open = true, .limit = 200 };
    msgpack_sbuffer sb;
    kh_item_rows_t rows;
    kh_problem_t why = { .reason = "the store holds no open item" };
    uint64_t mean = self->opts->web_messages / self->opts->web_items, best = 0;
    int rc = s_read_items (self, &q, &sb, &rows, &why) == 0 && rows.count ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < rows.count; i++) {
        const kh_item_t *it = &rows.rows [i];
        uint64_t off = it->messages > mean ? it->messages - mean : mean - it->messages;
        if (i == 0 || off < best) {
            best = off;
            self->item = *it;           /* its plain fields; the views die with rows */
            self->item.fields = NULL;
            self->item.participants = NULL;
            self->item.participant_count = 0;
        }
    }
    if (rc == 0)
        kh_id_format (self->item.id, self->item_id);
    kh_item_rows_release (&rows);
    msgpack_sbuffer_destroy (&sb);
    if (rc)
        fprintf (stderr, "kreishub-bench: web: no open item to show: %s\n", why.reason);
    return rc;
}

/* Finds the cursor of a catalogue page deep down: the last activity (last_seq)
   below which half the items (at most 5,000) lie, by paging the catalogue as the
   "weiter" links do. Returns it, or the head if it cannot. */
static uint64_t
s_deep_before (s_web_t *self)
{
    uint64_t target = self->opts->web_items / 2 < 5000 ? self->opts->web_items / 2 : 5000;
    kh_items_query_t q = { .req = 1, .limit = KH_QUERY_PAGE_MAX };
    uint64_t seen = 0, before = self->head;
    for (bool more = true; more && seen < target; ) {
        msgpack_sbuffer sb;
        kh_item_rows_t rows;
        kh_problem_t why = { 0 };
        more = s_read_items (self, &q, &sb, &rows, &why) == 0 && rows.more && rows.count;
        for (uint32_t i = 0; i < rows.count && seen < target; i++, seen++)
            before = rows.rows [i].last_seq;
        q.before = rows.next;
        kh_item_rows_release (&rows);
        msgpack_sbuffer_destroy (&sb);
    }
    return before;
}

/* ------------------------------------------------------------------ the pages */

/* Sets up the pages to time and the store's answers for them. Returns 0, or -1. */
static int
s_pages (s_web_t *self, s_page_t *pages, size_t *count)
{
    kh_items_query_t items = { .req = 1, .limit = S_CATALOGUE_PAGE };
    kh_items_query_t kaarst = { .req = 1, .limit = S_CATALOGUE_PAGE, .from_count = 1,
                                .from = { S_MEMBER }, .open = true };
    kh_items_query_t search = { .req = 1, .limit = S_CATALOGUE_PAGE, .search = S_SEARCH };
    kh_items_query_t deep = { .req = 1, .limit = S_CATALOGUE_PAGE,
                              .before = s_deep_before (self) };
    kh_query_t first = { .req = 1, .limit = S_LOG_PAGE };
    kh_query_t newest = { .req = 1, .limit = S_LOG_PAGE,
                          .since_seq = self->head > S_LOG_PAGE ? self->head - S_LOG_PAGE + 1 : 1 };
    kh_query_t filtered = { .req = 1, .limit = S_LOG_PAGE, .from_count = 1,
                            .from = { S_MEMBER } };
    kh_query_t timeline = { .req = 1, .has_ref = true };
    kh_query_t fresh = { .req = 1, .has_ref = true, .since_seq = self->head + 1 };
    memcpy (timeline.ref, self->item.id, KH_ID_SIZE);
    memcpy (fresh.ref, self->item.id, KH_ID_SIZE);
    kh_when_parse (S_DEEP_SINCE, false, false, &filtered.since_ts);
    kh_when_parse (S_DEEP_UNTIL, false, true, &filtered.until_ts);
    s_page_t list [] = {
        { .name = "catalogue", .path = "/", .catalogue = true },
        { .name = "catalogue: Kaarst's open items", .path = "/?from=" S_MEMBER "&open=1",
          .catalogue = true },
        { .name = "catalogue: search", .path = "/?q=" S_SEARCH, .catalogue = true },
        { .name = "catalogue: a page deep down", .catalogue = true },
        { .name = "log: first page", .path = "/log" },
        { .name = "log: newest page" },
        { .name = "log: Kaarst, " S_DEEP_SINCE " to " S_DEEP_UNTIL,
          .path = "/log?from=" S_MEMBER "&since=" S_DEEP_SINCE "&until=" S_DEEP_UNTIL },
        { .name = "item page (no target of its own)" },
        { .name = "item page, new entries (live.js's fetch)" }
    };
    *count = sizeof list / sizeof list [0];
    memcpy (pages, list, sizeof list);
    snprintf (pages [3].path, sizeof pages [3].path, "/?before=%" PRIu64, deep.before);
    snprintf (pages [5].path, sizeof pages [5].path, "/log?after=%" PRIu64, newest.since_seq);
    snprintf (pages [7].path, sizeof pages [7].path, "/item/%" PRIu64, self->item.seq);
    snprintf (pages [8].path, sizeof pages [8].path, "/item/%" PRIu64 "?after=%" PRIu64,
              self->item.seq, self->head);
    for (size_t i = 0; i < *count; i++)     /* rows of tables; the item's timeline */
        pages [i].row = i < 7 ? "<tr data-seq=\"" : "<li data-seq=\"";
    return s_expect_items (self, &items, &pages [0]) || s_expect_items (self, &kaarst, &pages [1])
        || s_expect_items (self, &search, &pages [2]) || s_expect_items (self, &deep, &pages [3])
        || s_expect_records (self, first, false, &pages [4])
        || s_expect_records (self, newest, false, &pages [5])
        || s_expect_records (self, filtered, false, &pages [6])
        || s_expect_records (self, timeline, true, &pages [7])
        || s_expect_records (self, fresh, false, &pages [8]) ? -1 : 0;
}

/* True if the answer is page: 200, its rows' seqs those the store gave, in order,
   and a catalogue page says how many. */
static bool
s_answer_ok (const s_page_t *page, const kh_bench_resp_t *resp)
{
    if (resp->status != 200 || !resp->body.data)
        return false;
    size_t n = 0, len = strlen (page->row);
    for (const char *at = strstr (resp->body.data, page->row); at; at = strstr (at, page->row)) {
        at += len;
        if (n >= page->count || strtoull (at, NULL, 10) != page->seqs [n])
            return false;
        n++;
    }
    char says [64];
    snprintf (says, sizeof says, "<p class=\"count\">%zu Einträge", page->count);
    return n == page->count && (!page->catalogue || strstr (resp->body.data, says));
}

/* Times opts->web_gets GETs of page on conn (after S_WARMUP untimed ones), checks
   every answer and fills the page's figures. Returns 0, or -1 if the connection
   failed. */
static int
s_time_page (s_web_t *self, kh_bench_http_t *conn, s_page_t *page)
{
    uint32_t gets = self->opts->web_gets;
    uint64_t *took = (uint64_t *) calloc (gets, sizeof *took);
    int rc = took ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < S_WARMUP + gets; i++) {
        uint64_t t0 = kh_bench_now_ns ();
        rc = kh_bench_http_get (conn, page->path, self->cookie, S_GET_MS);
        if (rc == 0 && i >= S_WARMUP)
            took [i - S_WARMUP] = kh_bench_now_ns () - t0;
        if (rc == 0 && !s_answer_ok (page, &conn->resp))
            page->bad++;
        page->bytes = conn->resp.body.size;
    }
    if (rc == 0) {
        kh_bench_p50_p99 (took, gets, &page->p50_us, &page->p99_us);
        page->max_us = (double) took [gets - 1] / 1000.0;
    }
    free (took);
    return rc;
}

/* Prints one page's figures beside the target. */
static void
s_page_print (const s_page_t *page, uint32_t gets)
{
    char a [32], b [32], c [32];
    bool met = page->p99_us < S_PAGE_TARGET_MS * 1000.0;
    printf ("  %-40s %4zu rows %7.1f KiB  p50 %-9s p99 %-9s max %-9s  p99 < %d ms: %s%s\n",
            page->name, page->count, (double) page->bytes / 1024.0,
            kh_bench_fmt_us (a, sizeof a, page->p50_us), kh_bench_fmt_us (b, sizeof b, page->p99_us),
            kh_bench_fmt_us (c, sizeof c, page->max_us), S_PAGE_TARGET_MS,
            met ? "met" : "MISSED", page->bad ? "  WRONG ANSWERS" : "");
    if (page->bad)
        printf ("    %u of %u answers to %s were not the page the store gives\n", page->bad,
                gets + S_WARMUP, page->path);
    printf ("RESULT web-page path=%s rows=%zu bytes=%zu p50_us=%.0f p99_us=%.0f max_us=%.0f "
            "target_us=%d met=%d ok=%d\n", page->path, page->count, page->bytes, page->p50_us,
            page->p99_us, page->max_us, S_PAGE_TARGET_MS * 1000, met, page->bad == 0);
}

/* Times every page. Returns 0 if every answer was right. */
static int
s_time_pages (s_web_t *self)
{
    s_page_t pages [9];
    size_t count = 0;
    memset (pages, 0, sizeof pages);
    int rc = s_pages (self, pages, &count);
    kh_bench_http_t conn = { .fd = -1 };
    if (rc == 0 && kh_bench_http_open (&conn, "127.0.0.1", self->port)) {
        fprintf (stderr, "kreishub-bench: web: cannot connect to port %u\n", self->port);
        rc = -1;
    }
    if (rc == 0)
        printf ("\n  pages, %u keep-alive GETs each on one connection (after %d untimed), "
                "signed in as admin:\n", self->opts->web_gets, S_WARMUP);
    for (size_t i = 0; rc == 0 && i < count && !zsys_interrupted; i++) {
        rc = s_time_page (self, &conn, &pages [i]);
        if (rc)
            fprintf (stderr, "kreishub-bench: web: GET %s failed (status %u)\n",
                     pages [i].path, conn.resp.status);
        else
            s_page_print (&pages [i], self->opts->web_gets);
        if (pages [i].bad)
            rc = -1;
    }
    kh_bench_http_close (&conn);
    for (size_t i = 0; i < count; i++)
        free (pages [i].seqs);
    return rc;
}

/* ------------------------------------------------------------------ live */

/* Runs the open item pages and prints what they saw. Returns 0 if every page got
   every message. */
static int
s_live (s_web_t *self, const char *client_ep)
{
    const kh_bench_opts_t *opts = self->opts;
    kh_bench_live_t live = { .opts = opts, .port = self->port, .cookie = self->cookie,
                             .client_ep = client_ep, .item_seq = self->item.seq,
                             .item_id = self->item_id, .item_owner = self->item.owner };
    kh_bench_live_result_t r;
    printf ("\n  live: %u open pages of item %" PRIu64 " (%" PRIu64 " messages so far), each "
            "an EventSource and live.js's fetches, from an address of its own\n",
            opts->web_clients, self->item.seq, self->item.messages);
    if (kh_bench_web_live (&live, &r))
        return -1;
    char a [32], b [32], c [32];
    bool ev_met = r.ev_p99_us < S_LIVE_TARGET_MS * 1000.0;
    bool sh_met = r.sh_p99_us < S_LIVE_TARGET_MS * 1000.0;
    printf ("  publisher: %u/%u acked, sent at %.1f msgs/s of %u; publish -> ack (stored, "
            "--sync %s) p50 %s, p99 %s\n", r.acked, r.messages, r.send_rate, opts->web_rate,
            opts->sync, kh_bench_fmt_us (a, sizeof a, r.ack_p50_us),
            kh_bench_fmt_us (b, sizeof b, r.ack_p99_us));
    printf ("  publish -> event at the page          p50 %-9s p99 %-9s max %-9s  p99 < %d ms: "
            "%s\n", kh_bench_fmt_us (a, sizeof a, r.ev_p50_us),
            kh_bench_fmt_us (b, sizeof b, r.ev_p99_us), kh_bench_fmt_us (c, sizeof c, r.ev_max_us),
            S_LIVE_TARGET_MS, ev_met ? "met" : "MISSED");
    printf ("  publish -> entry shown (after fetch)  p50 %-9s p99 %-9s max %-9s  p99 < %d ms: "
            "%s\n", kh_bench_fmt_us (a, sizeof a, r.sh_p50_us),
            kh_bench_fmt_us (b, sizeof b, r.sh_p99_us), kh_bench_fmt_us (c, sizeof c, r.sh_max_us),
            S_LIVE_TARGET_MS, sh_met ? "met" : "MISSED");
    char d [32];
    printf ("  the web node's share, from the hub's ack: to the event p50 %s, p99 %s; to the "
            "entry shown p50 %s, p99 %s\n", kh_bench_fmt_us (a, sizeof a, r.web_ev_p50_us),
            kh_bench_fmt_us (b, sizeof b, r.web_ev_p99_us),
            kh_bench_fmt_us (c, sizeof c, r.web_sh_p50_us),
            kh_bench_fmt_us (d, sizeof d, r.web_sh_p99_us));
    printf ("  live.js fetches of the page: %" PRIu64 ", each p50 %s, p99 %s\n", r.fetches,
            kh_bench_fmt_us (a, sizeof a, r.fetch_p50_us),
            kh_bench_fmt_us (b, sizeof b, r.fetch_p99_us));
    printf ("  every page got every message: %s (events %" PRIu64 "/%" PRIu64 ", shown %" PRIu64
            "/%" PRIu64 ")\n", r.ok ? "yes" : "NO", r.events, r.events_expected, r.shown,
            r.shown_expected);
    printf ("RESULT web-live pages=%u messages=%u acked=%u send_per_s=%.1f ack_p99_us=%.0f "
            "ev_p50_us=%.0f ev_p99_us=%.0f sh_p50_us=%.0f sh_p99_us=%.0f web_ev_p99_us=%.0f "
            "web_sh_p99_us=%.0f target_us=%d ev_met=%d sh_met=%d ok=%d\n", r.clients,
            r.messages, r.acked, r.send_rate, r.ack_p99_us, r.ev_p50_us, r.ev_p99_us,
            r.sh_p50_us, r.sh_p99_us, r.web_ev_p99_us, r.web_sh_p99_us,
            S_LIVE_TARGET_MS * 1000, ev_met, sh_met, r.ok);
    return r.ok ? 0 : -1;
}

/* ------------------------------------------------------------------ the hub */

/* Writes the users file with the Kreis' admin (a random password into password),
   as `kreishub web-user add` writes it. Returns 0, or -1. */
static int
s_users (const char *path, char *password, size_t cap)
{
    uint8_t raw [KH_ID_SIZE];
    kh_id_new (raw);
    char text [KH_ID_STR_SIZE];
    kh_id_format (raw, text);
    snprintf (password, cap, "bench-%s", text + 24);
    kh_web_account_t admin = { .name = "admin", .ags = "05162", .role = KH_ROLE_ADMIN };
    kh_problem_t why = { 0 };
    if (kh_web_account_set_password (&admin, password, &why) == 0
    &&  kh_web_accounts_write (path, &admin, 1, &why) == 0)
        return 0;
    fprintf (stderr, "kreishub-bench: web: cannot write %s: %s\n", path, why.reason);
    return -1;
}

/* Starts broker, recorder and web node on the run's store, as `kreishub up` does in
   plain mode, the web node with sign-in. Returns the launcher, or NULL. */
static kh_launch_t *
s_hub_start (s_web_t *self, const char *bin, const char *users)
{
    const char *broker [] = { "--client", "tcp://127.0.0.1:!", "--live", "tcp://127.0.0.1:!",
                              "--recorder", "tcp://127.0.0.1:!", "--plain", NULL };
    const char *recorder [] = { "--db", self->db, "--sync", self->opts->sync, "--plain", NULL };
    const char *web [] = { "--listen", "127.0.0.1:0", "--db", self->db, "--plain",
                           "--users", users, NULL };
    kh_launch_opts_t how = { .bin_dir = bin, .log_dir = self->dir };
    kh_launch_t *launch = kh_launch_new (&how);
    char url [300] = "";
    int rc = launch ? kh_launch_start (launch, broker, recorder) : -1;
    if (rc == 0)
        rc = kh_launch_web (launch, web);
    if (rc == 0 && kh_ready_get (kh_proc_ready (kh_launch_web_proc (launch)), "url", url,
                                 sizeof url) == 0) {
        const char *colon = strrchr (url, ':');
        self->port = colon ? (uint16_t) strtoul (colon + 1, NULL, 10) : 0;
    }
    if (rc == 0 && self->port)
        return launch;
    fprintf (stderr, "kreishub-bench: web: cannot start the hub: %s (see %s)\n",
             launch ? kh_launch_why (launch) : "out of memory", self->dir);
    if (launch)
        kh_launch_stop (launch);
    kh_launch_destroy (&launch);
    return NULL;
}

/* Signs in as name with password through the form, as a browser: the sign-in page
   (its pre-session cookie and token), then the form posted. Sets self->cookie.
   Returns 0, or -1 after saying why. */
static int
s_sign_in (s_web_t *self, const char *name, const char *password)
{
    kh_bench_http_t conn = { .fd = -1 };
    char pre [KH_WEB_COOKIE_MAX] = "", token [KH_WEB_TOKEN_SIZE] = "", form [512];
    char cookie [KH_WEB_COOKIE_MAX + 16];
    int rc = kh_bench_http_open (&conn, "127.0.0.1", self->port) == 0
          && kh_bench_http_get (&conn, "/login", NULL, S_GET_MS) == 0
          && conn.resp.status == 200
          && kh_bench_resp_header (&conn.resp, "Set-Cookie", 0, pre, sizeof pre) == 0 ? 0 : -1;
    const char *mark = rc == 0 ? strstr (conn.resp.body.data, "name=\"csrf\" value=\"") : NULL;
    if (mark)
        snprintf (token, sizeof token, "%.64s", mark + strlen ("name=\"csrf\" value=\""));
    pre [strcspn (pre, ";")] = 0;
    snprintf (form, sizeof form, "csrf=%s&next=%%2F&name=%s&password=%s", token, name, password);
    kh_bench_http_next (&conn);
    rc = rc == 0 && mark && kh_bench_http_send (&conn, "POST", "/login", pre, NULL, form) == 0
      && kh_bench_http_wait (&conn, S_GET_MS) == 0 && conn.resp.status == 303 ? 0 : -1;
    for (int i = 0; rc == 0 && !self->cookie [0]
                 && kh_bench_resp_header (&conn.resp, "Set-Cookie", i, cookie, sizeof cookie) == 0; i++)
        if (strncmp (cookie, KH_WEB_SESSION_COOKIE "=", strlen (KH_WEB_SESSION_COOKIE) + 1) == 0) {
            cookie [strcspn (cookie, ";")] = 0;
            snprintf (self->cookie, sizeof self->cookie, "%s", cookie);
        }
    if (!self->cookie [0])
        fprintf (stderr, "kreishub-bench: web: signing in as %s failed (HTTP %u)\n", name,
                 conn.resp.status);
    kh_bench_http_close (&conn);
    return self->cookie [0] ? 0 : -1;
}

/* Runs the measurements on a started hub. Returns 0 if every count was exact. */
static int
s_measure (s_web_t *self, kh_launch_t *launch, const char *password)
{
    if (s_sign_in (self, "admin", password) || s_pick_item (self))
        return -1;
    printf ("  web node at http://127.0.0.1:%u/, signed in as admin (Kreis 05162) through "
            "the form\n", self->port);
    int rc = s_time_pages (self);
    if (!zsys_interrupted && s_live (self, kh_launch_endpoint (launch, "client")))
        rc = -1;
    return rc;
}

int
kh_bench_web (const kh_bench_opts_t *opts, const char *bin)
{
    s_web_t self = { .opts = opts };
    char users [PATH_MAX + 16], password [64], cmd [PATH_MAX + 16];
    printf ("\nweb: kreishub-web over a store of %u items and %u messages; %u GETs per page, "
            "%u live pages, %u messages at %u msgs/s\n", opts->web_items, opts->web_messages,
            opts->web_gets, opts->web_clients, opts->web_events, opts->web_rate);
    snprintf (self.dir, sizeof self.dir, "%s/kh-bench-web-run-XXXXXX", S_DATA_ROOT);
    if (!mkdtemp (self.dir))
        return -1;
    snprintf (self.db, sizeof self.db, "%s/kreishub.db", self.dir);
    snprintf (users, sizeof users, "%s/web-users", self.dir);
    kh_launch_t *launch = NULL;
    int rc = s_store (&self) || s_store_check (&self) || s_users (users, password, sizeof password)
           ? -1 : 0;
    if (rc == 0 && !(launch = s_hub_start (&self, bin, users)))
        rc = -1;
    if (rc == 0)
        rc = s_measure (&self, launch, password);
    kh_store_destroy (&self.reader);
    if (launch && kh_launch_stop (launch)) {
        fprintf (stderr, "kreishub-bench: web: the hub did not stop cleanly: %s (see %s)\n",
                 kh_launch_why (launch), self.dir);
        rc = -1;
    }
    kh_launch_destroy (&launch);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", self.dir);
    if (rc == 0 && !opts->keep && system (cmd) != 0)
        fprintf (stderr, "kreishub-bench: web: could not remove %s\n", self.dir);
    else
    if (rc || opts->keep)
        printf ("  web run's data kept in %s\n", self.dir);
    printf ("  web: %s\n", rc == 0 ? "OK, every answer and count exact" : "FAILED");
    return rc;
}
