/*  kh_catalogue.c - the items now and the counts of the log, read from the state. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "kh_berlin.h"
#include "kh_catalogue.h"
#include "kh_select.h"

#define S_ITEM_OVERHEAD 384         /* bytes an item's row adds to its fields, at most */
#define S_PART_BYTES    64          /* ... and each participant */
#define S_MONTH_SIZE    8           /* "YYYY-MM" and its NUL */

/* The columns of an item's row, in the order s_row reads them. */
#define S_ITEM_COLUMNS \
    "i.seq, m.id, i.type, i.owner, i.ts, i.status, i.status_seq, i.status_ts, " \
    "i.valid_until, i.n_interested, i.n_joined, i.n_declined, i.n_left, i.messages, " \
    "i.last_seq, i.last_ts, i.body, CASE WHEN i.body IS NULL THEN m.envelope END"

/* A group of the counts: the key of its rows and the joins it needs. */
typedef struct {
    const char *by;                     /* as kh_stats_query_t.by names it */
    const char *key;                    /* SQL of the group's key, a text */
    bool        about;                  /* joins the item a message is about (o) */
} s_group_t;

/*  A catalogue. Between the rows of a page it keeps the row in hand: its fields
    (packed into fields, or the store's bytes) and its participants (parts). */
struct _kh_catalogue_t {
    sqlite3           *db;
    kh_select_t       *select;          /* the pages and counts, built from filters */
    sqlite3_stmt      *item_of;         /* the seq of the item whose id is given */
    sqlite3_stmt      *parts_of;        /* an item's participants, by first answer */
    sqlite3_stmt      *head;            /* the log's last seq */
    sqlite3_stmt      *size;            /* the store's bytes */
    kh_participant_t  *parts;
    size_t             parts_cap;
    msgpack_zone       zone;            /* a first envelope, unpacked */
    msgpack_sbuffer    fields;          /* its body, packed again */
};

/* ------------------------------------------------------------- plumbing */

/* Sets why to KH_ESTORE naming what failed and SQLite's message. Returns -1. */
static int
s_fail (kh_catalogue_t *self, kh_problem_t *why, const char *what)
{
    return kh_problem (why, KH_ESTORE, "catalogue: %s: %s", what, sqlite3_errmsg (self->db));
}

/* Copies column of stmt as text into out (cap bytes with the NUL), "" if NULL. */
static void
s_column (sqlite3_stmt *stmt, int column, char *out, size_t cap)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    size_t len = text ? (size_t) sqlite3_column_bytes (stmt, column) : 0;
    len = len < cap ? len : cap - 1;
    if (len)
        memcpy (out, text, len);
    out [len] = 0;
}

/* Returns column of stmt as an unsigned number (0 for NULL or a negative one). */
static uint64_t
s_uint (sqlite3_stmt *stmt, int column)
{
    sqlite3_int64 value = sqlite3_column_int64 (stmt, column);
    return value > 0 ? (uint64_t) value : 0;
}

/* kh_month (ts): the month "YYYY-MM" of ts (ms since the epoch) in Europe/Berlin,
   NULL for NULL or a negative ts. */
static void
s_month (sqlite3_context *context, int argc, sqlite3_value **argv)
{
    assert (argc == 1);
    if (sqlite3_value_type (argv [0]) == SQLITE_NULL || sqlite3_value_int64 (argv [0]) < 0) {
        sqlite3_result_null (context);
        return;
    }
    char date [KH_DATE_SIZE];
    kh_berlin_date ((uint64_t) sqlite3_value_int64 (argv [0]), date);
    sqlite3_result_text (context, date, S_MONTH_SIZE - 1, SQLITE_TRANSIENT);
}

/* ---------------------------------------------------------------- items */

/* Reads into *seq the seq of the item whose id is id; *found false if none has it.
   Returns 0, or -1 with why set. */
static int
s_item_of (kh_catalogue_t *self, const uint8_t id [KH_ID_SIZE], uint64_t *seq,
           bool *found, kh_problem_t *why)
{
    sqlite3_bind_blob (self->item_of, 1, id, KH_ID_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step (self->item_of);
    *found = rc == SQLITE_ROW;
    *seq = *found ? s_uint (self->item_of, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        s_fail (self, why, "find an item");
    sqlite3_reset (self->item_of);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Writes the SELECT of q's page (fetching up to limit rows) into the builder: the
   items each filter of q selects, by last_seq descending. item is the seq of
   q->id's item (if q->has_id), today the date that judges expiry. The state's
   indexes serve the selective filters: participant_by_ags and named_by_ags a
   participant, the full-text index a search; the rest is a walk of at most all
   items (10,000: some ms), sorted by last_seq in a subquery that holds only seqs,
   so that only the page's rows, with their bodies and envelopes, are read (sorting
   whole rows cost 60 ms for 10,000 items, even for a page of 50). A search matches an item whose own texts or the texts
   of one of its messages hold every word, as far as the index follows the log
   (derived.search_seq: the newest messages may be missing from it for a moment). */
static void
s_build_items (kh_select_t *sel, const kh_items_query_t *q, uint64_t item,
               const char *today, uint32_t limit)
{
    kh_select_begin (sel);
    kh_select_sql (sel, "SELECT " S_ITEM_COLUMNS " FROM item AS i JOIN message AS m "
                        "ON m.seq = i.seq WHERE i.seq IN (SELECT i.seq FROM item AS i "
                        "WHERE 1");
    if (q->has_id) {
        kh_select_sql (sel, " AND i.seq = ");
        kh_select_int (sel, item);
    }
    kh_select_in (sel, "i.type", q->type [0], sizeof q->type [0], q->type_count);
    kh_select_senders (sel, "i.owner", q->from [0], sizeof q->from [0], q->from_count);
    kh_select_in (sel, "i.status", q->status [0], sizeof q->status [0], q->status_count);
    if (q->hf) {
        kh_select_sql (sel, " AND i.hf = ");
        kh_select_int (sel, q->hf);
    }
    if (q->topic [0]) {
        kh_select_sql (sel, " AND i.topic = ");
        kh_select_text (sel, q->topic);
    }
    if (q->participant [0]) {
        kh_select_sql (sel, " AND (i.seq IN (SELECT item FROM participant WHERE ags = ");
        kh_select_text (sel, q->participant);
        kh_select_sql (sel, " AND state IN ('joined', 'interested')) OR i.seq IN "
                            "(SELECT item FROM named WHERE ags = ");
        kh_select_text (sel, q->participant);
        kh_select_sql (sel, "))");
    }
    if (q->open) {
        kh_select_sql (sel, " AND i.status NOT IN ('done', 'withdrawn') AND "
                            "(i.valid_until IS NULL OR i.valid_until >= ");
        kh_select_text (sel, today);
        kh_select_sql (sel, ")");
    }
    if (q->search [0]) {
        kh_select_sql (sel, " AND i.seq IN (SELECT coalesce (x.item, x.seq) FROM search "
                            "AS s CROSS JOIN message AS x ON x.seq = s.rowid WHERE "
                            "s.search MATCH ");
        kh_select_match (sel, q->search);
        kh_select_sql (sel, ")");
    }
    if (q->before) {
        kh_select_sql (sel, " AND i.last_seq < ");
        kh_select_int (sel, q->before);
    }
    kh_select_sql (sel, " ORDER BY i.last_seq DESC LIMIT ");
    kh_select_int (sel, limit);
    kh_select_sql (sel, ") ORDER BY i.last_seq DESC");
}

/* Points item->fields at the item's fields now: its body column if the state has
   one (after a revise), else the body of its first envelope, packed again into
   self->fields; an empty map if that cannot be read (a row no one wrote so).
   Returns 0, or -1 with why set if memory runs out. */
static int
s_fields (kh_catalogue_t *self, sqlite3_stmt *stmt, kh_item_t *item, kh_problem_t *why)
{
    static const uint8_t empty [1] = { 0x80 };
    item->fields = empty;
    item->fields_size = sizeof empty;
    if (sqlite3_column_type (stmt, 16) == SQLITE_BLOB) {
        item->fields = (const uint8_t *) sqlite3_column_blob (stmt, 16);
        item->fields_size = (size_t) sqlite3_column_bytes (stmt, 16);
        return 0;
    }
    const char *data = (const char *) sqlite3_column_blob (stmt, 17);
    size_t size = (size_t) sqlite3_column_bytes (stmt, 17), offset = 0;
    msgpack_object root;
    kh_problem_t ignored;
    msgpack_zone_clear (&self->zone);
    if (!data || kh_mp_scan (data, size, &ignored)
    ||  msgpack_unpack (data, size, &offset, &self->zone, &root) != MSGPACK_UNPACK_SUCCESS
    ||  root.type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < root.via.map.size; i++) {
        const msgpack_object *key = &root.via.map.ptr [i].key;
        const msgpack_object *body = &root.via.map.ptr [i].val;
        if (key->type != MSGPACK_OBJECT_STR || key->via.str.size != 4
        ||  memcmp (key->via.str.ptr, "body", 4) != 0 || body->type != MSGPACK_OBJECT_MAP)
            continue;
        msgpack_sbuffer_clear (&self->fields);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &self->fields, msgpack_sbuffer_write);
        if (msgpack_pack_object (&pk, *body))
            return kh_problem (why, KH_ENOMEM, "catalogue: out of memory for fields");
        item->fields = (const uint8_t *) self->fields.data;
        item->fields_size = self->fields.size;
        break;
    }
    return 0;
}

/* Appends the participant stmt stands on to self->parts (count of them so far).
   Returns 0, or -1 if memory runs out. */
static int
s_part (kh_catalogue_t *self, sqlite3_stmt *stmt, size_t count)
{
    if (count == self->parts_cap) {
        size_t cap = self->parts_cap ? 2 * self->parts_cap : 16;
        kh_participant_t *parts = (kh_participant_t *) realloc (self->parts,
                                                                cap * sizeof *parts);
        if (!parts)
            return -1;
        self->parts = parts;
        self->parts_cap = cap;
    }
    kh_participant_t *part = &self->parts [count];
    s_column (stmt, 0, part->ags, sizeof part->ags);
    s_column (stmt, 1, part->state, sizeof part->state);
    part->since = s_uint (stmt, 2);
    part->seq = s_uint (stmt, 3);
    return 0;
}

/* Reads the participants of the item at seq into self->parts, in the order they
   first answered it, and points item at them. The state keeps each body's latest
   answer (participant.seq); the first is derived here, as the first interest of
   that body among the item's messages (one walk of message_by_item per item).
   Returns 0, or -1 with why set. */
static int
s_parts (kh_catalogue_t *self, uint64_t seq, kh_item_t *item, kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->parts_of;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) seq);
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        if (s_part (self, stmt, count)) {
            rc = SQLITE_NOMEM;
            break;
        }
        count++;
    }
    if (rc == SQLITE_NOMEM)
        kh_problem (why, KH_ENOMEM, "catalogue: out of memory for participants");
    else
    if (rc != SQLITE_DONE)
        s_fail (self, why, "read participants");
    sqlite3_reset (stmt);
    item->participants = self->parts;
    item->participant_count = count;
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Reads the item row stmt stands on into item (its views valid until the next
   row), expired judged against today. Returns 0, or -1 with why set. */
static int
s_row (kh_catalogue_t *self, sqlite3_stmt *stmt, const char *today, kh_item_t *item,
       kh_problem_t *why)
{
    memset (item, 0, sizeof *item);
    item->seq = s_uint (stmt, 0);
    if (sqlite3_column_bytes (stmt, 1) == KH_ID_SIZE)
        memcpy (item->id, sqlite3_column_blob (stmt, 1), KH_ID_SIZE);
    s_column (stmt, 2, item->type, sizeof item->type);
    s_column (stmt, 3, item->owner, sizeof item->owner);
    item->ts = s_uint (stmt, 4);
    s_column (stmt, 5, item->status, sizeof item->status);
    item->status_seq = s_uint (stmt, 6);
    item->status_ts = s_uint (stmt, 7);
    char valid_until [KH_DATE_SIZE];
    s_column (stmt, 8, valid_until, sizeof valid_until);
    item->expired = valid_until [0] && strcmp (valid_until, today) < 0;
    item->interested = (uint32_t) s_uint (stmt, 9);
    item->joined = (uint32_t) s_uint (stmt, 10);
    item->declined = (uint32_t) s_uint (stmt, 11);
    item->left = (uint32_t) s_uint (stmt, 12);
    item->messages = s_uint (stmt, 13);
    item->last_seq = s_uint (stmt, 14);
    item->last_ts = s_uint (stmt, 15);
    return s_fields (self, stmt, item, why) || s_parts (self, item->seq, item, why) ? -1 : 0;
}

/* Steps stmt, handing rows to add until the page is full by rows (limit) or bytes.
   Sets *more if a row was left over, *next to the last row's last_seq. Returns 0,
   or -1 with why set. */
static int
s_fill (kh_catalogue_t *self, sqlite3_stmt *stmt, uint32_t limit, const char *today,
        kh_catalogue_fn *add, void *arg, bool *more, uint64_t *next, kh_problem_t *why)
{
    uint32_t count = 0;
    size_t bytes = 0;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        kh_item_t item;
        if (count >= limit) {
            *more = true;
            return 0;
        }
        if (s_row (self, stmt, today, &item, why))
            return -1;
        size_t size = S_ITEM_OVERHEAD + item.fields_size
                    + item.participant_count * S_PART_BYTES;
        if (count > 0 && bytes + size > KH_QUERY_PAGE_BYTES) {
            *more = true;
            return 0;
        }
        if (add (arg, &item))
            return kh_problem (why, KH_ENOMEM, "catalogue: out of memory for a page");
        bytes += size;
        count++;
        *next = item.last_seq;
    }
    return rc == SQLITE_DONE ? 0 : s_fail (self, why, "read items");
}

int
kh_catalogue_items (kh_catalogue_t *self, const kh_items_query_t *q, uint64_t now,
                    kh_catalogue_fn *add, void *arg, bool *more, uint64_t *next,
                    kh_problem_t *why)
{
    assert (self && q && add && more && next);
    *more = false;
    *next = q->before;
    uint64_t item = 0;
    bool found = true;
    if (q->has_id && s_item_of (self, q->id, &item, &found, why))
        return -1;
    if (!found)
        return 0;
    char today [KH_DATE_SIZE];
    kh_berlin_date (now, today);
    uint32_t limit = q->limit == 0 || q->limit > KH_QUERY_PAGE_MAX ? KH_QUERY_PAGE_MAX
                                                                   : q->limit;
    s_build_items (self->select, q, item, today, limit + 1);
    sqlite3_stmt *stmt = kh_select_statement (self->select, why);
    if (!stmt)
        return -1;
    int rc = s_fill (self, stmt, limit, today, add, arg, more, next, why);
    kh_select_end (self->select, stmt);
    return rc;
}

/* ---------------------------------------------------------------- stats */

/* The groups of section 14. A message is about the item coalesce (item, seq): its
   ref's, or its own if it is an item (o is NULL for a message about none). */
static const s_group_t s_groups [] = {
    { "",             NULL,                                 false },
    { "municipality", "m.sender",                           false },
    { "type",         "m.type",                             false },
    { "month",        "coalesce (kh_month (m.ts), '')",     false },
    { "hf",           "coalesce (CAST (o.hf AS TEXT), '')", true },
    { "status",       "coalesce (o.status, '')",            true },
};

/* Returns the group by names, or NULL if there is none. */
static const s_group_t *
s_group (const char *by)
{
    for (size_t i = 0; i < sizeof s_groups / sizeof s_groups [0]; i++)
        if (strcmp (s_groups [i].by, by) == 0)
            return &s_groups [i];
    return NULL;
}

/* Appends the filters of q on the messages m. */
static void
s_stats_terms (kh_select_t *sel, const kh_stats_query_t *q)
{
    if (q->since_ts) {
        kh_select_sql (sel, " AND m.ts >= ");
        kh_select_int (sel, q->since_ts);
    }
    if (q->until_ts) {
        kh_select_sql (sel, " AND m.ts <= ");
        kh_select_int (sel, q->until_ts);
    }
    kh_select_in (sel, "m.type", q->type [0], sizeof q->type [0], q->type_count);
    kh_select_senders (sel, "m.sender", q->from [0], sizeof q->from [0], q->from_count);
}

/* Writes the SELECT of the counts of q: (key, items, messages) per group of group,
   by key, up to limit groups; for the totals ("") one row without a key. A group
   of the item a message is about counts the selected messages per item first (g:
   own says whether the item's first message is among them) and then looks each
   item up once: 0.1 s for 200,000 messages, where a look-up per message took 0.26. */
static void
s_build_stats (kh_select_t *sel, const kh_stats_query_t *q, const s_group_t *group,
               uint32_t limit)
{
    kh_select_begin (sel);
    if (group->about) {
        kh_select_sql (sel, "SELECT %s, sum (CASE WHEN o.seq IS NOT NULL THEN g.own "
                            "ELSE 0 END), sum (g.n) FROM (SELECT coalesce (m.item, m.seq) "
                            "AS about, max (m.item IS NULL) AS own, count (*) AS n FROM "
                            "message AS m WHERE 1", group->key);
        s_stats_terms (sel, q);
        kh_select_sql (sel, " GROUP BY about) AS g LEFT JOIN item AS o ON o.seq = g.about");
    }
    else {
        kh_select_sql (sel, "SELECT %s, count (i.seq), count (*) FROM message AS m LEFT "
                            "JOIN item AS i ON i.seq = m.seq WHERE 1",
                       group->key ? group->key : "''");
        s_stats_terms (sel, q);
    }
    if (group->key) {
        kh_select_sql (sel, " GROUP BY 1 ORDER BY 1 LIMIT ");
        kh_select_int (sel, limit);
    }
}

/* Reads the single number sql's statement stmt answers into *value. Returns 0, or
   -1 with why set. */
static int
s_number (kh_catalogue_t *self, sqlite3_stmt *stmt, uint64_t *value, kh_problem_t *why)
{
    int rc = sqlite3_step (stmt);
    *value = rc == SQLITE_ROW ? s_uint (stmt, 0) : 0;
    if (rc != SQLITE_ROW)
        s_fail (self, why, "count");
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Runs the statement of the counts built in the builder, adding a row per group to
   stats (the totals' one row to its totals). Returns 0, or -1 with why set. */
static int
s_count (kh_catalogue_t *self, bool totals, kh_stats_t *stats, kh_problem_t *why)
{
    sqlite3_stmt *stmt = kh_select_statement (self->select, why);
    if (!stmt)
        return -1;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        if (totals) {
            stats->items = s_uint (stmt, 1);
            stats->messages = s_uint (stmt, 2);
            continue;
        }
        if (stats->count == KH_QUERY_PAGE_MAX) {
            stats->more = true;
            continue;
        }
        kh_stats_row_t *row = &stats->rows [stats->count++];
        s_column (stmt, 0, row->key, sizeof row->key);
        row->items = s_uint (stmt, 1);
        row->messages = s_uint (stmt, 2);
    }
    if (rc != SQLITE_DONE)
        s_fail (self, why, "count");
    kh_select_end (self->select, stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
kh_catalogue_stats (kh_catalogue_t *self, const kh_stats_query_t *q, kh_stats_t **stats_p,
                    kh_problem_t *why)
{
    assert (self && q && stats_p);
    *stats_p = NULL;
    const s_group_t *group = s_group (q->by);
    if (!group)
        return kh_problem (why, KH_EQUERY, "by: '%.16s' is none of municipality, type, "
                           "month, hf, status", q->by);
    kh_stats_t *stats = (kh_stats_t *) calloc (1, sizeof *stats);
    if (stats && group->key
    &&  !(stats->rows = (kh_stats_row_t *) calloc (KH_QUERY_PAGE_MAX, sizeof *stats->rows))) {
        free (stats);
        stats = NULL;
    }
    if (!stats)
        return kh_problem (why, KH_ENOMEM, "catalogue: out of memory for counts");
    s_build_stats (self->select, q, &s_groups [0], 0);
    int rc = s_count (self, true, stats, why);
    if (rc == 0 && group->key) {
        s_build_stats (self->select, q, group, KH_QUERY_PAGE_MAX + 1);
        rc = s_count (self, false, stats, why);
    }
    if (rc == 0)
        rc = s_number (self, self->head, &stats->head, why)
          || s_number (self, self->size, &stats->store_bytes, why) ? -1 : 0;
    if (rc) {
        free (stats->rows);
        free (stats);
        return -1;
    }
    *stats_p = stats;
    return 0;
}

/* ------------------------------------------------------------- lifetime */

/* Prepares sql into *stmt. Returns 0, or -1 with why set. */
static int
s_prepare (kh_catalogue_t *self, const char *sql, sqlite3_stmt **stmt, kh_problem_t *why)
{
    if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL)
        != SQLITE_OK)
        return s_fail (self, why, "prepare");
    return 0;
}

/* Prepares the fixed statements and registers kh_month. Returns 0, or -1 with why
   set. */
static int
s_prepare_all (kh_catalogue_t *self, kh_problem_t *why)
{
    if (sqlite3_create_function_v2 (self->db, "kh_month", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, s_month, NULL,
                                    NULL, NULL) != SQLITE_OK)
        return s_fail (self, why, "register kh_month");
    return s_prepare (self, "SELECT i.seq FROM message AS m JOIN item AS i ON i.seq = m.seq "
                            "WHERE m.id = ?1", &self->item_of, why)
        || s_prepare (self, "SELECT p.ags, p.state, p.since, p.seq FROM participant AS p "
                            "LEFT JOIN (SELECT sender, min (seq) AS first FROM message "
                            "WHERE item = ?1 AND type = 'interest' GROUP BY sender) AS f "
                            "ON f.sender = p.ags WHERE p.item = ?1 ORDER BY f.first, p.ags",
                      &self->parts_of, why)
        || s_prepare (self, "SELECT coalesce (max (seq), 0) FROM message", &self->head, why)
        || s_prepare (self, "SELECT p.page_count * s.page_size FROM pragma_page_count () "
                            "AS p, pragma_page_size () AS s", &self->size, why)
        ? -1 : 0;
}

kh_catalogue_t *
kh_catalogue_new (sqlite3 *db, kh_problem_t *why)
{
    assert (db);
    kh_catalogue_t *self = (kh_catalogue_t *) calloc (1, sizeof *self);
    if (!self || !msgpack_zone_init (&self->zone, 4096)) {
        free (self);
        kh_problem (why, KH_ENOMEM, "catalogue: out of memory");
        return NULL;
    }
    msgpack_sbuffer_init (&self->fields);
    self->db = db;
    if (!(self->select = kh_select_new (db))) {
        kh_problem (why, KH_ENOMEM, "catalogue: out of memory");
        kh_catalogue_destroy (&self);
    }
    else
    if (s_prepare_all (self, why))
        kh_catalogue_destroy (&self);
    return self;
}

void
kh_catalogue_destroy (kh_catalogue_t **self_p)
{
    assert (self_p);
    kh_catalogue_t *self = *self_p;
    if (!self)
        return;
    sqlite3_finalize (self->item_of);
    sqlite3_finalize (self->parts_of);
    sqlite3_finalize (self->head);
    sqlite3_finalize (self->size);
    kh_select_destroy (&self->select);
    msgpack_zone_destroy (&self->zone);
    msgpack_sbuffer_destroy (&self->fields);
    free (self->parts);
    free (self);
    *self_p = NULL;
}
