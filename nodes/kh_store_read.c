/*  kh_store_read.c - the store's reads: paged queries of the log, the catalogue and
    its counts, and the audit. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <czmq.h>
#include "kh_link.h"
#include "kh_store_priv.h"

#define S_ROW_OVERHEAD  96          /* bytes a record's map adds to its envelope, at most */

/* ----------------------------------------------------------------- query */

/*  How a query finds its rows. Each query walks one index, its driver, in seq order
    where it can, and checks the other filters on the rows it meets; the terms of
    those are written with a unary '+' so that SQLite does not pick another index
    for them. The driver, by how few rows it usually leaves:
      ref      the item (its seq) and message_by_item: one item's messages
      search   the FTS5 index, which yields rowids (= seq) in order
      sender   exact AGS only: message_by_sender (sender, seq), one arm per AGS
      ts       message_by_ts: the rows published in the range, sorted by seq (a
               sorter of seqs in a subquery, so that only a page's envelopes are read)
      type     message_by_type (type, seq), one arm per type
      seq      the primary key, from since_seq on (also for sender prefixes: a
               region is most of the log)
    Arms (one per value of a list) are merged in seq order by a compound SELECT
    (UNION ALL ... ORDER BY 1 LIMIT n): SQLite runs each arm as a co-routine in its
    index's order and stops after n rows. EXPLAIN QUERY PLAN of the big cases
    (kh_store_test's s_check_plans holds them, and that none scans the table):
      seq range   SEARCH m USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)
      type list   MERGE (UNION ALL)
                    LEFT  SEARCH m USING INDEX message_by_type (type=? AND seq>? AND seq<?)
                    RIGHT SEARCH m USING INDEX message_by_type (type=? AND seq>? AND seq<?)
      ts range    SEARCH m USING INTEGER PRIMARY KEY (rowid=?)
                  LIST SUBQUERY 1
                    SEARCH m USING INDEX message_by_ts (ts>? AND ts<?)
                    USE TEMP B-TREE FOR ORDER BY
      search      SCAN s VIRTUAL TABLE INDEX 64:M4><     (MATCH and the rowid range)
                  SEARCH m USING INTEGER PRIMARY KEY (rowid=?)
      ref         MULTI-INDEX OR
                    SEARCH m USING INTEGER PRIMARY KEY (rowid=?)
                    SEARCH m USING INDEX message_by_item (item=? AND seq>? AND seq<?)
                  USE TEMP B-TREE FOR ORDER BY           (one item's messages) */
typedef enum {
    S_BY_SEQ,
    S_BY_REF,
    S_BY_SEARCH,
    S_BY_SENDER,
    S_BY_TS,
    S_BY_TYPE
} s_driver_t;

#define S_COLUMNS "m.seq AS seq, m.at, m.prev_type, m.prev_sender, m.prev_pair, m.envelope"

/* Returns the index that q's rows are best found through (see above). */
static s_driver_t
s_driver (const kh_query_t *q)
{
    if (q->has_ref)
        return S_BY_REF;
    if (q->search [0])
        return S_BY_SEARCH;
    if (q->from_count && kh_select_exact (q->from [0], sizeof q->from [0], q->from_count))
        return S_BY_SENDER;
    if (q->since_ts || q->until_ts)
        return S_BY_TS;
    if (q->type_count)
        return S_BY_TYPE;
    return S_BY_SEQ;
}

/* Appends " AND column >= ?" and " AND column <= ?" for the bounds that are given
   (0: none). */
static void
s_range (kh_select_t *sel, const char *column, uint64_t since, uint64_t until)
{
    if (since) {
        kh_select_sql (sel, " AND %s >= ", column);
        kh_select_int (sel, since);
    }
    if (until) {
        kh_select_sql (sel, " AND %s <= ", column);
        kh_select_int (sel, until);
    }
}

/* Appends the terms of q's filters but the driver's own, each kept from the
   indexes ('+'): the at and ts bounds, types, senders and the search. */
static void
s_terms (kh_select_t *sel, const kh_query_t *q, s_driver_t driver)
{
    s_range (sel, "+m.at", q->since_at, q->until_at);
    if (driver != S_BY_TS)
        s_range (sel, "+m.ts", q->since_ts, q->until_ts);
    if (driver != S_BY_TYPE)
        kh_select_in (sel, "+m.type", q->type [0], sizeof q->type [0], q->type_count);
    if (driver != S_BY_SENDER)
        kh_select_senders (sel, "+m.sender", q->from [0], sizeof q->from [0], q->from_count);
    if (driver != S_BY_SEARCH && q->search [0]) {
        kh_select_sql (sel, " AND m.seq IN (SELECT rowid FROM search WHERE search MATCH ");
        kh_select_match (sel, q->search);
        kh_select_sql (sel, ")");
    }
}

/* Appends the seq range [lo, hi] on column. */
static void
s_seqs (kh_select_t *sel, const char *column, uint64_t lo, uint64_t hi)
{
    kh_select_sql (sel, " AND %s >= ", column);
    kh_select_int (sel, lo);
    kh_select_sql (sel, " AND %s <= ", column);
    kh_select_int (sel, hi);
}

/* Writes the arms of a list driver: one SELECT per value (column = ?), each in
   the seq range with the other terms, merged in seq order. */
static void
s_arms (kh_select_t *sel, const kh_query_t *q, s_driver_t driver, uint64_t lo,
        uint64_t hi)
{
    const char *values = driver == S_BY_TYPE ? q->type [0] : q->from [0];
    size_t width = driver == S_BY_TYPE ? sizeof q->type [0] : sizeof q->from [0];
    size_t count = driver == S_BY_TYPE ? q->type_count : q->from_count;
    bool first = true;
    for (size_t i = 0; i < count; i++) {
        const char *value = values + i * width;
        bool again = false;             /* a list built by hand may repeat a value */
        for (size_t j = 0; j < i && !again; j++)
            again = strcmp (values + j * width, value) == 0;
        if (again)
            continue;
        kh_select_sql (sel, "%sSELECT " S_COLUMNS " FROM message AS m WHERE m.%s = ",
                       first ? "" : " UNION ALL ", driver == S_BY_TYPE ? "type" : "sender");
        kh_select_text (sel, value);
        s_seqs (sel, "m.seq", lo, hi);
        s_terms (sel, q, driver);
        first = false;
    }
    kh_select_sql (sel, " ORDER BY 1 LIMIT ");
}

/* Writes the SELECT of q's rows in [lo, hi] (ascending seq) for its driver, up to
   the limit still to bind; item is the seq of q's ref. */
static void
s_build_query (kh_select_t *sel, const kh_query_t *q, uint64_t item, uint64_t lo,
               uint64_t hi)
{
    s_driver_t driver = s_driver (q);
    kh_select_begin (sel);
    switch (driver) {
        case S_BY_REF:
            kh_select_sql (sel, "SELECT " S_COLUMNS " FROM message AS m WHERE (m.seq = ");
            kh_select_int (sel, item);
            kh_select_sql (sel, " OR m.item = ");
            kh_select_int (sel, item);
            kh_select_sql (sel, ")");
            break;
        case S_BY_SEARCH:
            kh_select_sql (sel, "SELECT " S_COLUMNS " FROM search AS s CROSS JOIN message "
                                "AS m ON m.seq = s.rowid WHERE s.search MATCH ");
            kh_select_match (sel, q->search);
            s_seqs (sel, "s.rowid", lo, hi);
            s_terms (sel, q, driver);
            kh_select_sql (sel, " ORDER BY s.rowid LIMIT ");
            return;
        case S_BY_SENDER:
        case S_BY_TYPE:
            s_arms (sel, q, driver, lo, hi);
            return;
        case S_BY_TS:
            kh_select_sql (sel, "SELECT " S_COLUMNS " FROM message AS m WHERE m.seq IN "
                                "(SELECT m.seq FROM message AS m WHERE 1");
            s_range (sel, "m.ts", q->since_ts, q->until_ts);
            s_seqs (sel, "+m.seq", lo, hi);
            s_terms (sel, q, driver);
            kh_select_sql (sel, " ORDER BY m.seq LIMIT ");
            return;
        case S_BY_SEQ:
            kh_select_sql (sel, "SELECT " S_COLUMNS " FROM message AS m WHERE 1");
            break;
    }
    s_seqs (sel, "m.seq", lo, hi);
    s_terms (sel, q, driver);
    kh_select_sql (sel, " ORDER BY m.seq LIMIT ");
}

/* Ends the statement s_build_query wrote with its limit. */
static void
s_build_limit (kh_select_t *sel, const kh_query_t *q, uint32_t limit)
{
    kh_select_int (sel, limit);
    if (s_driver (q) == S_BY_TS)
        kh_select_sql (sel, ") ORDER BY m.seq");
}

/* Reads into *item the seq of the item whose id is id; *found false if no item has
   it (unknown, or the id of a message about one). Returns 0, or -1 with why set. */
static int
s_item_of (kh_store_t *self, const uint8_t id [KH_ID_SIZE], uint64_t *item, bool *found,
           kh_problem_t *why)
{
    sqlite3_bind_blob (self->item_of, 1, id, KH_ID_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step (self->item_of);
    *found = rc == SQLITE_ROW;
    *item = *found ? (uint64_t) sqlite3_column_int64 (self->item_of, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "find an item");
    sqlite3_reset (self->item_of);
    sqlite3_clear_bindings (self->item_of);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Reads into *at the commit time of the first row at or after seq, or sets *none if
   no row is. Returns 0, or -1 with why set. */
static int
s_at_from (kh_store_t *self, uint64_t seq, uint64_t *at, bool *none, kh_problem_t *why)
{
    sqlite3_bind_int64 (self->at_from, 1, (sqlite3_int64) seq);
    int rc = sqlite3_step (self->at_from);
    *none = rc != SQLITE_ROW;
    if (rc == SQLITE_ROW)
        *at = (uint64_t) sqlite3_column_int64 (self->at_from, 0);
    else
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "look up a time");
    sqlite3_reset (self->at_from);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Sets *bound to the smallest seq s in 1..last such that the first row at or after s
   was committed after time (at > time if after, else at >= time); last + 1 if there
   is none. Since at never decreases as seq grows, this is a binary search over seq
   through the primary key, O(log n) lookups, and the log needs no index on at.
   Returns 0, or -1 with why set. */
static int
s_at_bound (kh_store_t *self, uint64_t last, uint64_t time, bool after, uint64_t *bound,
            kh_problem_t *why)
{
    uint64_t lo = 1, hi = last + 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, at = 0;
        bool none;
        if (s_at_from (self, mid, &at, &none, why))
            return -1;
        if (none || (after ? at > time : at >= time))
            hi = mid;
        else
            lo = mid + 1;
    }
    *bound = lo;
    return 0;
}

/* Works out the seq range [*lo, *hi] that can hold q's rows: its own seq bounds,
   narrowed by its at bounds (at never decreases with seq: s_at_bound). *lo > *hi
   means no row can match. Returns 0, or -1 with why set. */
static int
s_bounds (kh_store_t *self, const kh_query_t *q, uint64_t *lo, uint64_t *hi,
          kh_problem_t *why)
{
    *lo = q->since_seq ? q->since_seq : 1;
    *hi = q->until_seq && q->until_seq < KH__STORE_SEQ_MAX ? q->until_seq : KH__STORE_SEQ_MAX;
    if (q->since_at > KH__STORE_SEQ_MAX)
        *hi = 0;                        /* later than SQLite can count: nothing */
    if ((!q->since_at && !q->until_at) || *lo > *hi)
        return 0;
    uint64_t last, last_at, bound;
    if (kh__store_last (self, &last, &last_at, why))
        return -1;
    if (q->since_at) {
        if (s_at_bound (self, last, q->since_at, false, &bound, why))
            return -1;
        *lo = bound > *lo ? bound : *lo;    /* rows from bound on: at >= since_at */
    }
    if (q->until_at && *lo <= *hi) {
        uint64_t until = q->until_at > KH__STORE_SEQ_MAX ? KH__STORE_SEQ_MAX : q->until_at;
        if (s_at_bound (self, last, until, true, &bound, why))
            return -1;
        *hi = bound - 1 < *hi ? bound - 1 : *hi;    /* rows before bound: at <= until */
    }
    return 0;
}

/* Makes room in w for a page of limit rows like its first, of size bytes (at most
   the page's bytes), so that the page is not moved as it grows. Without the memory
   the page grows as it fills. */
static void
s_reserve (kh_rows_writer_t *w, uint32_t limit, size_t size)
{
    size_t row = size + S_ROW_OVERHEAD;
    size_t bytes = row <= KH_QUERY_PAGE_BYTES / limit ? limit * row
                                                      : KH_QUERY_PAGE_BYTES + row;
    kh_rows_writer_reserve (w, bytes);
}

/* Steps stmt, adding rows to w until the page is full by rows (limit) or bytes.
   Sets *more if a row was left over, *next past the last row added. Returns 0, or
   -1 with why set. */
static int
s_fill (kh_store_t *self, sqlite3_stmt *stmt, uint32_t limit, kh_rows_writer_t *w,
        bool *more, uint64_t *next, kh_problem_t *why)
{
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const void *msg = sqlite3_column_blob (stmt, 5);
        size_t size = (size_t) sqlite3_column_bytes (stmt, 5);
        uint32_t count = kh_rows_writer_count (w);
        if (count >= limit
        ||  (count > 0 && kh_rows_writer_bytes (w) + size + S_ROW_OVERHEAD
                          > KH_QUERY_PAGE_BYTES)) {
            *more = true;
            return 0;
        }
        if (count == 0)
            s_reserve (w, limit, size);
        kh_record_t rec = {
            .info = { .seq = (uint64_t) sqlite3_column_int64 (stmt, 0),
                      .at = (uint64_t) sqlite3_column_int64 (stmt, 1),
                      .prev_type = (uint64_t) sqlite3_column_int64 (stmt, 2),
                      .prev_sender = (uint64_t) sqlite3_column_int64 (stmt, 3),
                      .prev_pair = (uint64_t) sqlite3_column_int64 (stmt, 4) },
            .msg = (const uint8_t *) msg, .msg_size = size };
        if (kh_rows_writer_add (w, &rec))
            return kh_problem (why, KH_ENOMEM, "store: out of memory for a page");
        *next = rec.info.seq + 1;
    }
    return rc == SQLITE_DONE ? 0 : KH__STORE_FAIL (self, why, "query");
}

/* Answers q inside the open read transaction (see kh_store_query). A search sees
   the messages the index holds: every one up to derived.search_seq, which follows
   the log a little later (the recorder indexes once no STORE came for a moment),
   so that the newest messages may be missing from a search for that moment. */
static int
s_query (kh_store_t *self, const kh_query_t *q, kh_rows_writer_t *w, bool *more,
         uint64_t *next, kh_problem_t *why)
{
    uint64_t lo, hi, item = 0;
    bool found = true;
    if (s_bounds (self, q, &lo, &hi, why)
    ||  (q->has_ref && s_item_of (self, q->ref, &item, &found, why)))
        return -1;
    *next = q->since_seq ? q->since_seq : 1;
    if (lo > hi || !found)
        return 0;
    uint32_t limit = q->limit == 0 || q->limit > KH_QUERY_PAGE_MAX ? KH_QUERY_PAGE_MAX
                                                                   : q->limit;
    s_build_query (self->select, q, item, lo, hi);
    s_build_limit (self->select, q, limit + 1);
    sqlite3_stmt *stmt = kh_select_statement (self->select, why);
    if (!stmt)
        return -1;
    int rc = s_fill (self, stmt, limit, w, more, next, why);
    kh_select_end (self->select, stmt);
    return rc;
}

/* A reader maps the store file for its queries (up to S_MMAP_BYTES of it), so that
   SQLite reads the pages where they lie instead of copying each out of the page
   cache with a read() (a quarter of a replay's time in the query actor). The pages
   still in the WAL are read as before. Set once, on the first query; a store whose
   SQLite cannot map reads as before. */
#define S_MMAP_BYTES    "1073741824"

static void
s_map (kh_store_t *self)
{
    if (self->writer || self->mapped)
        return;
    self->mapped = true;
    sqlite3_exec (self->db, "PRAGMA mmap_size = " S_MMAP_BYTES, NULL, NULL, NULL);
}

int
kh_store_query (kh_store_t *self, const kh_query_t *q, kh_rows_writer_t *w, bool *more,
                uint64_t *next, kh_problem_t *why)
{
    assert (self && q && w && more && next);
    s_map (self);
    *more = false;
    *next = q->since_seq ? q->since_seq : 1;
    /* A transaction left open (a batch whose rollback failed) is not ours to end. */
    if (!sqlite3_get_autocommit (self->db))
        return kh_problem (why, KH_ESTORE, "store: a transaction is still open");
    /* One read transaction, so that the at lookups and the rows see one snapshot. */
    if (kh__store_run (self, self->begin_read, "begin a read", why))
        return -1;
    return kh__store_end_read (self, s_query (self, q, w, more, next, why), why);
}

/* Adds an item to the rows writer arg (kh_catalogue_fn). */
static int
s_add_item (void *arg, const kh_item_t *item)
{
    return kh_rows_writer_add_item ((kh_rows_writer_t *) arg, item);
}

int
kh_store_items (kh_store_t *self, const kh_items_query_t *q, kh_rows_writer_t *w,
                bool *more, uint64_t *next, kh_problem_t *why)
{
    assert (self && q && w && more && next);
    *more = false;
    *next = q->before;
    if (!sqlite3_get_autocommit (self->db))
        return kh_problem (why, KH_ESTORE, "store: a transaction is still open");
    if (kh__store_run (self, self->begin_read, "begin a read", why))
        return -1;
    return kh__store_end_read (self, kh_catalogue_items (self->catalogue, q, kh_now_ms (),
                                                 s_add_item, w, more, next, why), why);
}

int
kh_store_stats (kh_store_t *self, const kh_stats_query_t *q, kh_stats_t **stats_p,
                kh_problem_t *why)
{
    assert (self && q && stats_p);
    *stats_p = NULL;
    if (!sqlite3_get_autocommit (self->db))
        return kh_problem (why, KH_ESTORE, "store: a transaction is still open");
    if (kh__store_run (self, self->begin_read, "begin a read", why))
        return -1;
    int rc = kh__store_end_read (self, kh_catalogue_stats (self->catalogue, q, stats_p, why), why);
    if (rc)
        kh_stats_destroy (stats_p);
    return rc;
}

const char *
kh_store_query_sql (kh_store_t *self, const kh_query_t *q)
{
    assert (self && q);
    s_build_query (self->select, q, 1, 1, KH__STORE_SEQ_MAX);
    s_build_limit (self->select, q, KH_QUERY_PAGE_MAX + 1);
    return kh_select_text_of (self->select);
}

/* ----------------------------------------------------------------- audit */

uint64_t
kh_store_audit_head (kh_store_t *self)
{
    assert (self);
    uint64_t seq;
    kh_problem_t why;
    return kh__store_audit_last (self, &seq, &why) == 0 ? seq : 0;
}

/* Reads the text of column of stmt into field (cap bytes) as one bounded line. */
static void
s_column_text (sqlite3_stmt *stmt, int column, char *field, size_t cap)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    kh_utf8_line (field, cap, text ? text : (const unsigned char *) "",
                  text ? (size_t) sqlite3_column_bytes (stmt, column) : 0);
}

/* Reads the row stmt stands on into rec. */
static void
s_audit_row (sqlite3_stmt *stmt, kh_audit_t *rec)
{
    memset (rec, 0, sizeof *rec);
    rec->seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
    rec->at = (uint64_t) sqlite3_column_int64 (stmt, 1);
    s_column_text (stmt, 2, rec->endpoint, sizeof rec->endpoint);
    s_column_text (stmt, 3, rec->command, sizeof rec->command);
    int64_t code = sqlite3_column_int64 (stmt, 4), size = sqlite3_column_int64 (stmt, 5);
    rec->code = code >= 0 && code <= 0x7fff ? (int) code : 0;
    rec->size = size >= 0 && size <= UINT32_MAX ? (uint32_t) size : 0;
    s_column_text (stmt, 6, rec->peer, sizeof rec->peer);
    s_column_text (stmt, 7, rec->claimed, sizeof rec->claimed);
    s_column_text (stmt, 8, rec->ags, sizeof rec->ags);
    s_column_text (stmt, 9, rec->role, sizeof rec->role);
    s_column_text (stmt, 10, rec->key, sizeof rec->key);
    s_column_text (stmt, 11, rec->reason, sizeof rec->reason);
}

/* Binds q to the audit page statement, fetching up to limit rows. */
static void
s_bind_audit (sqlite3_stmt *stmt, const kh_audit_query_t *q, uint32_t limit)
{
    uint64_t until_seq = q->until_seq && q->until_seq < KH__STORE_SEQ_MAX ? q->until_seq : KH__STORE_SEQ_MAX;
    uint64_t until_at = q->until_at && q->until_at < KH__STORE_SEQ_MAX ? q->until_at : KH__STORE_SEQ_MAX;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) (q->since_seq < KH__STORE_SEQ_MAX ? q->since_seq
                                                                          : KH__STORE_SEQ_MAX));
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) until_seq);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) (q->since_at < KH__STORE_SEQ_MAX ? q->since_at
                                                                          : KH__STORE_SEQ_MAX));
    sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) until_at);
    sqlite3_bind_int (stmt, 5, q->code);
    kh__store_bind_text (stmt, 6, q->ags);
    sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) limit);
}

int
kh_store_audit_query (kh_store_t *self, const kh_audit_query_t *q, kh_rows_writer_t *w,
                      bool *more, uint64_t *next, kh_problem_t *why)
{
    assert (self && q && w && more && next);
    *more = false;
    *next = q->since_seq ? q->since_seq : 1;
    /* One statement: its snapshot is the page's. The at terms are +at so that
       SQLite walks the audit in seq order and filters by time. */
    if (!self->audit_page
    &&  kh__store_prepare (self, "SELECT seq, at, endpoint, command, code, size, peer, claimed, "
                         "ags, role, key, reason FROM audit "
                         "WHERE seq >= ?1 AND seq <= ?2 AND +at >= ?3 AND +at <= ?4 "
                         "AND (?5 = 0 OR code = ?5) "
                         "AND (?6 = '' OR ags = ?6 OR claimed = ?6) "
                         "ORDER BY seq LIMIT ?7", &self->audit_page, why))
        return -1;
    uint32_t limit = q->limit == 0 || q->limit > KH_QUERY_PAGE_MAX ? KH_QUERY_PAGE_MAX
                                                                   : q->limit;
    s_bind_audit (self->audit_page, q, limit + 1);
    int rc;
    while ((rc = sqlite3_step (self->audit_page)) == SQLITE_ROW) {
        if (kh_rows_writer_count (w) >= limit) {
            *more = true;
            rc = SQLITE_DONE;
            break;
        }
        kh_audit_t rec;
        s_audit_row (self->audit_page, &rec);
        if (kh_rows_writer_add_audit (w, &rec)) {
            rc = SQLITE_NOMEM;
            break;
        }
        *next = rec.seq + 1;
    }
    if (rc == SQLITE_NOMEM)
        kh_problem (why, KH_ENOMEM, "store: out of memory for a page of the audit");
    else
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "query the audit");
    sqlite3_reset (self->audit_page);
    sqlite3_clear_bindings (self->audit_page);
    return rc == SQLITE_DONE ? 0 : -1;
}
