/*  kh_store_test.c - the SQLite store on its own: seq assignment, de-duplication, links,
    rollback, reopen, versions, readers and every query filter, in a temporary directory. */
#include <czmq.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_codec.h"
#include "kh_sql.h"
#include "kh_store.h"
#include "kh_store_priv.h"

#include "kh_check.h"

#define S_BATCH_MAX 700

static char s_dir [64];

/* An envelope built for a test; data is malloc'd. */
typedef struct {
    uint8_t id [KH_ID_SIZE];
    char   *data;
    size_t  size;
} s_env_t;

/* ------------------------------------------------------------------ helpers */

/* Returns a fresh database path in the test directory (static buffer per call site
   is not enough: callers copy it). */
static void
s_path (char *out, size_t cap, const char *name)
{
    snprintf (out, cap, "%s/%s.db", s_dir, name);
}

/* Builds an envelope of type from sender with title (and description if not NULL)
   under a new id; ts 0 builds an invalid one (the bytes stay, the id is readable).
   A fixture that cannot be built ends the test at once. */
static s_env_t
s_env_ts (const char *type, const char *from, const char *title, const char *description,
          uint64_t ts)
{
    s_env_t env;
    memset (&env, 0, sizeof env);
    kh_id_new (env.id);
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = builder ? kh_builder_set (builder, "title", title, &why) : -1;
    if (rc == 0 && description)
        rc = kh_builder_set (builder, "description", description, &why);
    if (rc == 0)
        rc = kh_builder_pack (builder, env.id, from, ts, &buf, &why);
    kh_builder_destroy (&builder);
    if (rc && ts != 0) {
        printf ("FAIL fixture: cannot build %s from %s: %s\n", type, from, why.reason);
        exit (1);
    }
    env.size = buf.size;
    env.data = msgpack_sbuffer_release (&buf);
    return env;
}

/* Builds an envelope of type from sender at ts with the body fields of the
   NULL-terminated name, value pairs in sets; a fixture that cannot be built ends
   the test. */
static s_env_t
s_env_sets (const char *type, const char *from, const char *const *sets, uint64_t ts)
{
    s_env_t env;
    memset (&env, 0, sizeof env);
    kh_id_new (env.id);
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = builder ? 0 : -1;
    for (int i = 0; rc == 0 && sets [i]; i += 2)
        rc = kh_builder_set (builder, sets [i], sets [i + 1], &why);
    if (rc == 0)
        rc = kh_builder_pack (builder, env.id, from, ts, &buf, &why);
    kh_builder_destroy (&builder);
    if (rc) {
        printf ("FAIL fixture: cannot build %s from %s: %s\n", type, from, why.reason);
        exit (1);
    }
    env.size = buf.size;
    env.data = msgpack_sbuffer_release (&buf);
    return env;
}

static s_env_t
s_env (const char *type, const char *from, const char *title)
{
    return s_env_ts (type, from, title, NULL, kh_now_ms ());
}

static void
s_env_free (s_env_t *env)
{
    free (env->data);
    env->data = NULL;
}

/* Appends envs [0..count) as one batch into results. Returns kh_store_append's rc. */
static int
s_append (kh_store_t *store, const s_env_t *envs, size_t count, kh_store_result_t *results)
{
    kh_store_item_t items [S_BATCH_MAX];
    assert (count <= S_BATCH_MAX);
    for (size_t i = 0; i < count; i++)
        items [i] = (kh_store_item_t) { envs [i].data, envs [i].size };
    return kh_store_append (store, items, count, results);
}

/* Appends one envelope; returns its result. */
static kh_store_result_t
s_append1 (kh_store_t *store, const s_env_t *env)
{
    kh_store_result_t result;
    s_append (store, env, 1, &result);
    return result;
}

/* Opens a writer that must open; ends the test if it does not. */
static kh_store_t *
s_open (const char *path)
{
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_FULL, &why);
    if (!store) {
        printf ("FAIL fixture: cannot open %s: %s\n", path, why.reason);
        exit (1);
    }
    return store;
}

/* Runs sql on path through a connection of the test's own. Returns SQLite's rc. */
static int
s_sql (const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open (path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
    sqlite3_close (db);
    return rc;
}

/* Counts the rows of the message table at path (-1 on error). */
static int
s_rows (const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int count = -1;
    if (sqlite3_open (path, &db) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, "SELECT count(*) FROM message", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        count = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return count;
}

/* One answered page, decoded. */
typedef struct {
    int      rc;
    uint32_t count;
    uint64_t seq [KH_QUERY_PAGE_MAX];
    kh_seqinfo_t last;                  /* info of the last row */
    bool     more;
    uint64_t next;
    size_t   bytes;                     /* size of the encoded ROWS body */
    bool     envelopes_ok;              /* every row's msg is a valid envelope */
} s_page_t;

/* Runs q on store and decodes the page it writes. */
static void
s_query (kh_store_t *store, const kh_query_t *q, s_page_t *page)
{
    memset (page, 0, sizeof *page);
    kh_rows_writer_t *w = kh_rows_writer_new (q->req ? q->req : 1);
    kh_problem_t why = { 0 };
    page->rc = kh_store_query (store, q, w, &page->more, &page->next, &why);
    if (page->rc)
        printf ("  query failed: %s\n", why.reason);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_rows_writer_finish (w, page->more, page->next, &buf);
    kh_rows_writer_destroy (&w);
    page->bytes = buf.size;
    kh_rows_t rows;
    page->envelopes_ok = true;
    if (kh_rows_decode (buf.data, buf.size, &rows, &why) == 0) {
        page->count = rows.count;
        for (uint32_t i = 0; i < rows.count; i++) {
            page->seq [i] = rows.rows [i].info.seq;
            page->last = rows.rows [i].info;
            if (kh_envelope_check (rows.rows [i].msg, rows.rows [i].msg_size, NULL, NULL,
                                   &why))
                page->envelopes_ok = false;
        }
        kh_rows_release (&rows);
    }
    else
        page->rc = -1;
    msgpack_sbuffer_destroy (&buf);
}

/* ------------------------------------------------------------------ tests */

static void
test_gap_free (void)
{
    char path [128];
    s_path (path, sizeof path, "gapfree");
    kh_store_t *store = s_open (path);
    KH_CHECK ("a new store is empty", kh_store_head (store) == 0, "head %llu",
           (unsigned long long) kh_store_head (store));
    s_env_t envs [5];
    for (int i = 0; i < 5; i++)
        envs [i] = s_env ("idea", "05162004", "gap-free");
    kh_store_result_t results [5];
    int rc = s_append (store, envs, 3, results);
    rc |= s_append (store, envs + 3, 2, results + 3);
    bool ok = rc == 0;
    for (int i = 0; i < 5; i++)
        ok = ok && results [i].code == KH_OK && !results [i].dup
                && results [i].info.seq == (uint64_t) i + 1 && results [i].info.at > 0
                && results [i].has_id && memcmp (results [i].id, envs [i].id, KH_ID_SIZE) == 0;
    KH_CHECK ("append assigns gap-free seq from 1", ok && kh_store_head (store) == 5,
           "rc %d head %llu seq [4] %llu", rc, (unsigned long long) kh_store_head (store),
           (unsigned long long) results [4].info.seq);
    KH_CHECK ("at never decreases within the log", results [4].info.at >= results [0].info.at,
           "at %llu then %llu", (unsigned long long) results [0].info.at,
           (unsigned long long) results [4].info.at);
    KH_CHECK ("an empty batch commits nothing",
           kh_store_append (store, NULL, 0, NULL) == 0 && kh_store_head (store) == 5,
           "head %llu", (unsigned long long) kh_store_head (store));
    kh_store_destroy (&store);
    kh_store_destroy (&store);
    KH_CHECK ("destroy is idempotent", store == NULL, "store not NULL");
    KH_CHECK ("append stores one row per message", s_rows (path) == 5, "%d rows", s_rows (path));
    for (int i = 0; i < 5; i++)
        s_env_free (&envs [i]);
}

static void
test_duplicates (void)
{
    char path [128];
    s_path (path, sizeof path, "dups");
    kh_store_t *store = s_open (path);
    s_env_t a = s_env ("idea", "05162004", "first");
    s_env_t b = s_env ("offer", "05162008", "second");
    kh_store_result_t first = s_append1 (store, &a);
    s_append1 (store, &b);
    kh_store_result_t again = s_append1 (store, &a);
    KH_CHECK ("duplicate id returns original seq and stores once",
           again.code == KH_OK && again.dup && again.info.seq == first.info.seq
           && again.info.at == first.info.at && again.info.prev_type == first.info.prev_type
           && kh_store_head (store) == 2 && s_rows (path) == 2,
           "code %d dup %d seq %llu (first %llu) head %llu rows %d", again.code, again.dup,
           (unsigned long long) again.info.seq, (unsigned long long) first.info.seq,
           (unsigned long long) kh_store_head (store), s_rows (path));

    /* c, then c again and b again in the same batch, then d */
    s_env_t c = s_env ("idea", "05162004", "third");
    s_env_t d = s_env ("idea", "05162004", "fourth");
    s_env_t batch [4] = { c, c, b, d };
    kh_store_result_t results [4];
    int rc = s_append (store, batch, 4, results);
    KH_CHECK ("duplicate within one batch",
           rc == 0 && !results [0].dup && results [0].info.seq == 3
           && results [1].dup && results [1].info.seq == 3
           && results [1].info.prev_type == results [0].info.prev_type
           && results [2].dup && results [2].info.seq == 2
           && !results [3].dup && results [3].info.seq == 4 && results [3].info.prev_type == 3
           && kh_store_head (store) == 4 && s_rows (path) == 4,
           "rc %d seqs %llu %llu %llu %llu dups %d %d %d %d rows %d", rc,
           (unsigned long long) results [0].info.seq, (unsigned long long) results [1].info.seq,
           (unsigned long long) results [2].info.seq, (unsigned long long) results [3].info.seq,
           results [0].dup, results [1].dup, results [2].dup, results [3].dup, s_rows (path));
    /* a's id on other bytes: not a retry, refused, nothing stored */
    s_env_t other = s_env ("idea", "05162004", "not the first");
    uint8_t *at = (uint8_t *) memmem (other.data, other.size, other.id, KH_ID_SIZE);
    if (at)
        memcpy (at, a.id, KH_ID_SIZE);
    kh_store_result_t reused = s_append1 (store, &other);
    KH_CHECK ("an id reused for other bytes is refused with VALUE, nothing stored",
           at && reused.code == KH_EVALUE && !reused.dup && reused.why.code == KH_EVALUE
           && strstr (reused.why.reason, "seq 1") && kh_store_head (store) == 4
           && s_rows (path) == 4, "code %d dup %d (%s) head %llu", reused.code, reused.dup,
           reused.why.reason, (unsigned long long) kh_store_head (store));
    s_env_free (&other);
    kh_store_destroy (&store);
    store = s_open (path);
    kh_store_result_t reopened = s_append1 (store, &a);
    KH_CHECK ("a duplicate is recognised after reopening",
           reopened.dup && reopened.info.seq == 1 && kh_store_head (store) == 4,
           "dup %d seq %llu", reopened.dup, (unsigned long long) reopened.info.seq);
    kh_store_destroy (&store);
    s_env_free (&a);
    s_env_free (&b);
    s_env_free (&c);
    s_env_free (&d);
}

static void
test_invalid (void)
{
    char path [128];
    s_path (path, sizeof path, "invalid");
    kh_store_t *store = s_open (path);
    s_env_t good1 = s_env ("idea", "05162004", "good");
    s_env_t bad_ts = s_env_ts ("idea", "05162004", "no time", NULL, 0);
    s_env_t good2 = s_env ("offer", "05162", "good too");
    s_env_t garbage = { .data = strdup ("\xc1 not msgpack"), .size = 14 };
    s_env_t batch [4] = { good1, bad_ts, garbage, good2 };
    kh_store_result_t results [4];
    int rc = s_append (store, batch, 4, results);
    KH_CHECK ("invalid envelope fails alone, rest of batch commits",
           rc == 0 && results [0].code == KH_OK && results [0].info.seq == 1
           && results [1].code != KH_OK && results [1].code != KH_ESTORE
           && results [2].code == KH_EMALFORMED
           && results [3].code == KH_OK && results [3].info.seq == 2
           && kh_store_head (store) == 2 && s_rows (path) == 2,
           "rc %d codes %d %d %d %d head %llu", rc, results [0].code, results [1].code,
           results [2].code, results [3].code, (unsigned long long) kh_store_head (store));
    KH_CHECK ("a failed envelope keeps its id when it was readable",
           results [1].has_id && memcmp (results [1].id, bad_ts.id, KH_ID_SIZE) == 0
           && results [1].why.reason [0] && !results [2].has_id,
           "has_id %d %d reason '%s'", results [1].has_id, results [2].has_id,
           results [1].why.reason);
    rc = s_append (store, batch + 1, 2, results);
    KH_CHECK ("a batch of only invalid envelopes changes nothing",
           rc == 0 && results [0].code != KH_OK && results [1].code != KH_OK
           && kh_store_head (store) == 2, "rc %d head %llu", rc,
           (unsigned long long) kh_store_head (store));
    kh_store_destroy (&store);
    s_env_free (&good1);
    s_env_free (&bad_ts);
    s_env_free (&good2);
    s_env_free (&garbage);
}

/* Appends one message of type from sender to store; returns its seq info. */
static kh_seqinfo_t
s_put (kh_store_t *store, const char *type, const char *from)
{
    s_env_t env = s_env (type, from, "links");
    kh_store_result_t result = s_append1 (store, &env);
    s_env_free (&env);
    return result.info;
}

static bool
s_links (kh_seqinfo_t info, uint64_t seq, uint64_t pt, uint64_t ps, uint64_t pts)
{
    bool ok = info.seq == seq && info.prev_type == pt && info.prev_sender == ps
           && info.prev_pair == pts;
    if (!ok)
        printf ("  seq %llu: pt %llu ps %llu pts %llu, expected seq %llu: %llu %llu %llu\n",
                (unsigned long long) info.seq, (unsigned long long) info.prev_type,
                (unsigned long long) info.prev_sender, (unsigned long long) info.prev_pair,
                (unsigned long long) seq, (unsigned long long) pt, (unsigned long long) ps,
                (unsigned long long) pts);
    return ok;
}

static void
test_links (void)
{
    char path [128];
    s_path (path, sizeof path, "links");
    kh_store_t *store = s_open (path);
    bool ok = s_links (s_put (store, "idea", "05162004"), 1, 0, 0, 0);
    ok &= s_links (s_put (store, "offer", "05162004"), 2, 0, 1, 0);
    ok &= s_links (s_put (store, "idea", "05162008"), 3, 1, 0, 0);
    ok &= s_links (s_put (store, "idea", "05162004"), 4, 3, 2, 1);
    ok &= s_links (s_put (store, "offer", "05162008"), 5, 2, 3, 0);
    KH_CHECK ("prev links per type/sender/pair", ok, "see above");
    kh_store_destroy (&store);

    store = s_open (path);
    KH_CHECK ("head survives reopen", kh_store_head (store) == 5, "head %llu",
           (unsigned long long) kh_store_head (store));
    ok = s_links (s_put (store, "offer", "05162004"), 6, 5, 4, 2);
    ok &= s_links (s_put (store, "idea", "05162008"), 7, 4, 5, 3);
    ok &= s_links (s_put (store, "idea", "05162"), 8, 7, 0, 0);
    KH_CHECK ("head and prev maps survive reopen", ok, "see above");
    kh_store_destroy (&store);
}

static void
test_rollback (void)
{
    char path [128];
    s_path (path, sizeof path, "rollback");
    kh_store_t *store = s_open (path);
    s_put (store, "idea", "05162004");             /* seq 1 */
    s_put (store, "offer", "05162008");            /* seq 2 */
    int rc = s_sql (path, "CREATE TRIGGER boom BEFORE INSERT ON message "
                          "WHEN NEW.title = 'boom' BEGIN SELECT RAISE (ABORT, 'boom'); END");
    KH_CHECK ("the test can add a failing trigger", rc == SQLITE_OK, "rc %d", rc);
    s_env_t a = s_env ("idea", "05162004", "before the boom");
    s_env_t b = s_env ("offer", "05162", "new sender, before the boom");
    s_env_t bad = s_env_ts ("idea", "05162004", "invalid anyway", NULL, 0);
    s_env_t boom = s_env ("idea", "05162008", "boom");
    s_env_t reused = s_env ("idea", "05162004", "a's id on other bytes");
    uint8_t *at = (uint8_t *) memmem (reused.data, reused.size, reused.id, KH_ID_SIZE);
    if (at)
        memcpy (at, a.id, KH_ID_SIZE);
    s_env_t batch [5] = { a, b, bad, reused, boom };
    kh_store_result_t results [5];
    rc = s_append (store, batch, 5, results);
    KH_CHECK ("rolled-back batch leaves head unchanged",
           rc == -1 && kh_store_head (store) == 2 && s_rows (path) == 2,
           "rc %d head %llu rows %d", rc, (unsigned long long) kh_store_head (store),
           s_rows (path));
    KH_CHECK ("every valid item of a rolled-back batch gets STORE",
           results [0].code == KH_ESTORE && results [1].code == KH_ESTORE
           && results [4].code == KH_ESTORE && results [0].info.seq == 0
           && results [1].has_id && strstr (results [4].why.reason, "boom"),
           "codes %d %d %d reason '%s'", results [0].code, results [1].code, results [4].code,
           results [4].why.reason);
    KH_CHECK ("an id conflict with a row of a rolled-back batch gets STORE, not VALUE",
           at && results [3].code == KH_ESTORE && !results [3].in_batch, "code %d",
           results [3].code);
    KH_CHECK ("an invalid item of a rolled-back batch keeps its own problem",
           results [2].code != KH_ESTORE && results [2].code != KH_OK, "code %d",
           results [2].code);
    rc = s_sql (path, "DROP TRIGGER boom");
    s_env_t retry [2] = { a, b };
    rc |= s_append (store, retry, 2, results);
    bool ok = rc == 0 && s_links (results [0].info, 3, 1, 1, 1)
                      && s_links (results [1].info, 4, 2, 0, 0);
    ok &= s_links (s_put (store, "idea", "05162008"), 5, 3, 2, 0);
    KH_CHECK ("a rolled-back batch leaks no links into the next", ok && !results [0].dup,
           "rc %d dup %d", rc, results [0].dup);
    kh_store_destroy (&store);
    s_env_free (&a);
    s_env_free (&b);
    s_env_free (&bad);
    s_env_free (&boom);
    s_env_free (&reused);
}

static void
test_versions (void)
{
    char path [128];
    s_path (path, sizeof path, "newer");
    int rc = s_sql (path, "PRAGMA user_version = 3");
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_FULL, &why);
    KH_CHECK ("newer user_version is refused",
           rc == SQLITE_OK && !store && why.code == KH_ESTORE && strstr (why.reason, "newer"),
           "store %p code %d reason '%s'", (void *) store, why.code, why.reason);
    kh_store_destroy (&store);
    memset (&why, 0, sizeof why);
    store = kh_store_new_reader (path, &why);
    KH_CHECK ("a reader refuses a newer store too", !store && why.code == KH_ESTORE,
           "code %d", why.code);
    kh_store_destroy (&store);

    s_path (path, sizeof path, "fresh");
    store = s_open (path);
    kh_store_destroy (&store);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    char mode [16] = "";
    if (sqlite3_open (path, &db) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        version = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    if (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        snprintf (mode, sizeof mode, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    KH_CHECK ("a new store is created at the current version in WAL mode",
           version == KH_SQL_VERSION && streq (mode, "wal"), "version %d mode %s", version,
           mode);

    memset (&why, 0, sizeof why);
    store = kh_store_new_reader ("/nonexistent/kreishub.db", &why);
    KH_CHECK ("a reader refuses a missing file", !store && why.code == KH_ESTORE, "code %d",
           why.code);
    s_path (path, sizeof path, "blank");
    s_sql (path, "CREATE TABLE other (x)");
    memset (&why, 0, sizeof why);
    store = kh_store_new_reader (path, &why);
    KH_CHECK ("a reader refuses a database that is not a store", !store && why.reason [0],
           "code %d", why.code);
    memset (&why, 0, sizeof why);
    store = kh_store_new ("/nonexistent/dir/kreishub.db", KH_SYNC_FULL, &why);
    KH_CHECK ("a writer reports a path it cannot create", !store && why.code == KH_ESTORE
           && strstr (why.reason, "/nonexistent/dir"), "reason '%s'", why.reason);
}

static void
test_sync_parse (void)
{
    char path [128];
    s_path (path, sizeof path, "normal");
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_NORMAL, &why);
    s_env_t env = s_env ("idea", "05162004", "normal");
    kh_store_result_t result = store ? s_append1 (store, &env) : (kh_store_result_t) { 0 };
    KH_CHECK ("a store opens and appends with sync normal", store && result.info.seq == 1,
           "reason '%s'", why.reason);
    kh_store_destroy (&store);
    s_env_free (&env);
}

/* What the query test stored: per seq its type, sender, at, ts, the item it is
   about (its own seq for an item), its id and its search word. */
typedef struct {
    const char *type;
    const char *from;
    uint64_t    at;
    uint64_t    ts;
    uint64_t    item;
    uint8_t     id [KH_ID_SIZE];
    int         word;                   /* 1 alpha, 2 beta, 4 gamma; all say "common" */
} s_fact_t;

#define S_FACTS 24
#define S_TS0   1600000000000ULL        /* 2020-09-13: the facts' ts spread from here */
#define S_DAY   86400000ULL

/* A search of the query test and the words (s_fact_t.word) of the facts it finds. */
typedef struct {
    const char *text;
    int         words;
} s_search_t;

static const s_search_t s_searches [] = {
    { "alpha", 1 }, { "alp*", 1 }, { "alpha common", 1 }, { "gam*", 4 },
    { "COMMON", 7 }, { "\"alpha\"", 1 }, { "alpha beta", 0 }, { "alpha OR beta", 0 },
    { "title:alpha", 0 }, { "*", 0 }, { "NEAR(alpha common)", 0 }, { "common -beta", 2 },
    { "be*  common*", 2 }
};
#define S_SEARCHES (sizeof s_searches / sizeof s_searches [0])

/* The search word mask of q (see s_searches), all words if it has none. */
static int
s_search_words (const kh_query_t *q)
{
    for (size_t i = 0; i < S_SEARCHES; i++)
        if (strcmp (q->search, s_searches [i].text) == 0)
            return s_searches [i].words;
    return 7;
}

/* The seq of the item q's ref names, 0 if none (not an item's id, or unknown). */
static uint64_t
s_ref_item (const s_fact_t *facts, const kh_query_t *q)
{
    for (uint64_t seq = 1; seq <= S_FACTS; seq++)
        if (memcmp (facts [seq - 1].id, q->ref, KH_ID_SIZE) == 0)
            return facts [seq - 1].item == seq ? seq : 0;
    return 0;
}

/* True if the fact at seq matches every filter of q, judged by brute force. */
static bool
s_fact_matches (const s_fact_t *facts, uint64_t seq, const kh_query_t *q)
{
    const s_fact_t *fact = &facts [seq - 1];
    return (!q->since_seq || seq >= q->since_seq) && (!q->until_seq || seq <= q->until_seq)
        && (!q->since_at || fact->at >= q->since_at)
        && (!q->until_at || fact->at <= q->until_at)
        && (!q->since_ts || fact->ts >= q->since_ts)
        && (!q->until_ts || fact->ts <= q->until_ts)
        && kh_query_wants_type (q, fact->type) && kh_query_wants_from (q, fact->from)
        && (!q->has_ref || fact->item == s_ref_item (facts, q))
        && (!q->search [0] || (fact->word & s_search_words (q)));
}

/* The seqs store should return for q, computed from the facts by brute force. */
static uint32_t
s_expect (const s_fact_t *facts, const kh_query_t *q, uint64_t *seqs)
{
    uint32_t count = 0;
    for (uint64_t seq = 1; seq <= S_FACTS; seq++)
        if (s_fact_matches (facts, seq, q))
            seqs [count++] = seq;
    return count;
}

/* Prints q in a line, for a failure. */
static void
s_print_query (const kh_query_t *q, uint32_t count, uint32_t expected)
{
    char types [128] = "", froms [160] = "";
    for (size_t i = 0; i < q->type_count; i++)
        snprintf (types + strlen (types), sizeof types - strlen (types), "%s ", q->type [i]);
    for (size_t i = 0; i < q->from_count; i++)
        snprintf (froms + strlen (froms), sizeof froms - strlen (froms), "%s ", q->from [i]);
    printf ("  type [%s] from [%s] seq %llu..%llu at %llu..%llu ts %llu..%llu ref %d "
            "search '%s' limit %u: %u rows, expected %u\n", types, froms,
            (unsigned long long) q->since_seq, (unsigned long long) q->until_seq,
            (unsigned long long) q->since_at, (unsigned long long) q->until_at,
            (unsigned long long) q->since_ts, (unsigned long long) q->until_ts,
            q->has_ref, q->search, q->limit, count, expected);
}

/* Pages through q with since_seq = next and compares all rows with the facts. */
static bool
s_paged_matches (kh_store_t *store, const s_fact_t *facts, kh_query_t q)
{
    uint64_t want [S_FACTS], got [S_FACTS];
    uint32_t expected = s_expect (facts, &q, want), count = 0;
    s_page_t page;
    for (int pages = 0; pages < S_FACTS + 2; pages++) {
        s_query (store, &q, &page);
        uint32_t limit = q.limit ? q.limit : KH_QUERY_PAGE_MAX;
        if (page.rc || page.count > limit || count + page.count > S_FACTS
        ||  (page.more && page.count == 0) || !page.envelopes_ok)
            return false;
        memcpy (got + count, page.seq, page.count * sizeof page.seq [0]);
        count += page.count;
        if (page.count && page.next != page.seq [page.count - 1] + 1)
            return false;
        if (!page.more)
            break;
        q.since_seq = page.next;
    }
    bool ok = count == expected && memcmp (got, want, count * sizeof got [0]) == 0
           && !page.more;
    if (!ok)
        s_print_query (&q, count, expected);
    return ok;
}

/* Builds fact number i (0-based) of the query test into facts [i] and its envelope:
   two of three are items (idea or offer, "fact <word> common" as title), every
   third a comment on one of the two items before it; ts spread over 24 days out of
   seq order. */
static s_env_t
s_fact (s_fact_t *facts, uint64_t i)
{
    static const char *const types [] = { "idea", "offer" };
    static const char *const senders [] = { "05162004", "05162008", "05162", "05162016" };
    static const char *const words [] = { "alpha", "beta", "gamma" };
    s_fact_t *fact = &facts [i];
    int word = (int) ((i * 5 / 2) % 3);
    char text [64];
    snprintf (text, sizeof text, "fact %s common", words [word]);
    fact->word = 1 << word;
    fact->from = senders [(i * 5) % 4];
    fact->ts = S_TS0 + ((i * 7) % S_FACTS) * S_DAY;
    s_env_t env;
    if (i % 3 == 2) {
        fact->type = "comment";
        fact->item = i - (i / 3) % 2;   /* seq of fact i - 1 or i - 2: an item */
        char ref [KH_ID_STR_SIZE];
        kh_id_format (facts [fact->item - 1].id, ref);
        const char *sets [] = { "ref", ref, "text", text, NULL };
        env = s_env_sets ("comment", fact->from, sets, fact->ts);
    }
    else {
        fact->type = types [(i * 7 / 3) % 2];
        fact->item = i + 1;
        env = s_env_ts (fact->type, fact->from, text, NULL, fact->ts);
    }
    memcpy (fact->id, env.id, KH_ID_SIZE);
    return env;
}

/* Stores S_FACTS messages in three batches at distinct times, recording facts, and
   brings them into the search index. */
static void
s_fill_facts (kh_store_t *store, s_fact_t *facts)
{
    uint64_t seq = 0;
    for (int batch = 0; batch < 3; batch++) {
        s_env_t envs [S_FACTS / 3];
        kh_store_result_t results [S_FACTS / 3];
        for (int i = 0; i < S_FACTS / 3; i++, seq++)
            envs [i] = s_fact (facts, seq);
        s_append (store, envs, S_FACTS / 3, results);
        for (int i = 0; i < S_FACTS / 3; i++) {
            if (results [i].code != KH_OK)
                printf ("FAIL fixture: fact %d: %s\n", i, results [i].why.reason);
            facts [seq - S_FACTS / 3 + (uint64_t) i].at = results [i].info.at;
            s_env_free (&envs [i]);
        }
        while (kh_now_ms () <= results [0].info.at)
            zclock_sleep (1);           /* the next batch commits at a later ms */
    }
    size_t count;
    kh_problem_t why = { 0 };
    while (kh_store_index (store, 100, &count, &why) == 0 && count > 0)
        ;
}

static void
test_query (void)
{
    char path [128];
    s_path (path, sizeof path, "query");
    kh_store_t *store = s_open (path);
    s_fact_t facts [S_FACTS];
    s_fill_facts (store, facts);
    uint64_t at1 = facts [0].at, at2 = facts [8].at, at3 = facts [16].at;
    KH_CHECK ("a batch shares one at, later batches later ones",
           at1 < at2 && at2 < at3 && facts [7].at == at1, "at %llu %llu %llu",
           (unsigned long long) at1, (unsigned long long) at2, (unsigned long long) at3);

    s_page_t page;
    kh_query_t q = { .req = 7 };
    s_query (store, &q, &page);
    KH_CHECK ("an open query returns everything in seq order",
           page.rc == 0 && page.count == S_FACTS && page.seq [0] == 1
           && page.seq [S_FACTS - 1] == S_FACTS && !page.more && page.next == S_FACTS + 1
           && page.envelopes_ok,
           "rc %d count %u more %d next %llu", page.rc, page.count, page.more,
           (unsigned long long) page.next);

    q = (kh_query_t) { .req = 1, .limit = 5 };
    s_query (store, &q, &page);
    KH_CHECK ("limit ends a page with more and next",
           page.count == 5 && page.more && page.next == 6 && page.seq [4] == 5,
           "count %u more %d next %llu", page.count, page.more, (unsigned long long) page.next);
    q = (kh_query_t) { .req = 1, .since_seq = 20, .limit = 5 };
    s_query (store, &q, &page);
    KH_CHECK ("a page that holds exactly the rest says no more",
           page.count == 5 && !page.more && page.next == 25, "count %u more %d next %llu",
           page.count, page.more, (unsigned long long) page.next);
    q = (kh_query_t) { .req = 1, .since_seq = 100 };
    s_query (store, &q, &page);
    KH_CHECK ("an empty page says no more and next is where it began",
           page.rc == 0 && page.count == 0 && !page.more && page.next == 100,
           "count %u more %d next %llu", page.count, page.more, (unsigned long long) page.next);

    bool ok = true;
    const char *types [] = { "", "idea", "offer" };
    const char *froms [] = { "", "05162004", "05162", "05162016" };
    uint64_t seqs [][2] = { { 0, 0 }, { 3, 0 }, { 0, 17 }, { 5, 20 }, { 9, 9 }, { 12, 4 } };
    uint64_t ats [][2] = { { 0, 0 }, { at2, 0 }, { 0, at2 }, { at2, at2 }, { at3 + 1, 0 },
                           { 0, at1 - 1 }, { at1, at3 } };
    uint32_t limits [] = { 0, 1, 3, 1000, 5000 };
    for (size_t t = 0; t < 3; t++)
    for (size_t f = 0; f < 4; f++)
    for (size_t s = 0; s < sizeof seqs / sizeof seqs [0]; s++)
    for (size_t a = 0; a < sizeof ats / sizeof ats [0]; a++)
    for (size_t l = 0; l < sizeof limits / sizeof limits [0]; l++) {
        kh_query_t p = { .req = 1, .since_seq = seqs [s][0], .until_seq = seqs [s][1],
                         .since_at = ats [a][0], .until_at = ats [a][1],
                         .limit = limits [l] };
        if (*types [t])
            kh_query_add_type (&p, types [t], NULL);
        if (*froms [f])
            kh_query_add_from (&p, froms [f], NULL);
        ok &= s_paged_matches (store, facts, p);
    }
    KH_CHECK ("query filters by type, from, seq range, at range, limit, more/next paging", ok,
           "see above");

    q = (kh_query_t) { .req = 1, .type = { "idea" }, .type_count = 1, .from = { "05162004" },
                       .from_count = 1 };
    s_query (store, &q, &page);
    kh_seqinfo_t last = page.last;
    KH_CHECK ("rows carry their links", page.count > 1 && last.prev_pair == page.seq [page.count - 2]
           && last.at > 0, "count %u pts %llu", page.count,
           (unsigned long long) last.prev_pair);

    kh_problem_t why = { 0 };
    kh_store_t *reader = kh_store_new_reader (path, &why);
    KH_CHECK ("a reader opens a store the writer holds", reader != NULL, "%s", why.reason);
    if (reader) {
        s_put (store, "idea", "05162004");
        q = (kh_query_t) { .req = 1, .since_seq = S_FACTS };
        s_query (reader, &q, &page);
        KH_CHECK ("a reader sees what the writer committed",
               kh_store_head (reader) == S_FACTS + 1 && page.count == 2
               && page.seq [1] == S_FACTS + 1, "head %llu count %u",
               (unsigned long long) kh_store_head (reader), page.count);
        kh_store_destroy (&reader);
    }
    kh_store_destroy (&store);
}

/* The randomised check's generator (xorshift64*): a seed replays a run. */
static uint64_t s_rng;

static uint32_t
s_rand (uint32_t n)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return (uint32_t) ((s_rng * 2685821657736338717ULL) >> 32) % n;
}

/* A random bound among the facts' values of a dimension (0: none, often). */
static uint64_t
s_random_bound (const uint64_t *values, size_t count)
{
    uint32_t pick = s_rand ((uint32_t) count + 3);
    return pick < count ? values [pick] + s_rand (3) - 1 : 0;
}

/* A random query over the facts: lists of types and senders (AGS and prefixes),
   seq, at and ts bounds, a ref (an item's id, a comment's or an unknown one), a
   search, a limit. */
static kh_query_t
s_random_query (const s_fact_t *facts)
{
    static const char *const types [] = { "idea", "offer", "comment", "status" };
    static const char *const froms [] = {
        "05162004", "05162008", "05162", "05162016", "0516*", "05162*", "051620*",
        "05158*", "05162008*", "05166004"
    };
    static const uint32_t limits [] = { 0, 1, 2, 5, 1000 };
    kh_query_t q = { .req = 1 + s_rand (1000) };
    for (uint32_t n = s_rand (4); n > 0; n--)
        kh_query_add_type (&q, types [s_rand (4)], NULL);
    for (uint32_t n = s_rand (4); n > 0; n--)
        kh_query_add_from (&q, froms [s_rand (10)], NULL);
    uint64_t seqs [S_FACTS], ats [S_FACTS], tss [S_FACTS];
    for (int i = 0; i < S_FACTS; i++) {
        seqs [i] = (uint64_t) i + 1;
        ats [i] = facts [i].at;
        tss [i] = facts [i].ts;
    }
    q.since_seq = s_random_bound (seqs, S_FACTS);
    q.until_seq = s_random_bound (seqs, S_FACTS);
    if (s_rand (4) == 0) {
        q.since_at = s_random_bound (ats, S_FACTS);
        q.until_at = s_random_bound (ats, S_FACTS);
    }
    q.since_ts = s_random_bound (tss, S_FACTS);
    q.until_ts = s_random_bound (tss, S_FACTS);
    if (s_rand (4) == 0) {
        q.has_ref = true;
        if (s_rand (8) == 0)
            kh_id_new (q.ref);
        else
            memcpy (q.ref, facts [s_rand (S_FACTS)].id, KH_ID_SIZE);
    }
    if (s_rand (3) == 0)
        snprintf (q.search, sizeof q.search, "%s", s_searches [s_rand (S_SEARCHES)].text);
    q.limit = limits [s_rand (5)];
    return q;
}

/* Returns the plan of the statement kh_store_query runs for q, a line per step, as
   EXPLAIN QUERY PLAN tells it on a connection of the test's own (sql: its text). */
static char *
s_plan_of (const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char *plan = calloc (1, 4096);
    char explain [8192];
    snprintf (explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, explain, -1, &stmt, NULL) == SQLITE_OK)
        while (sqlite3_step (stmt) == SQLITE_ROW)
            snprintf (plan + strlen (plan), 4096 - strlen (plan), "%s\n",
                      (const char *) sqlite3_column_text (stmt, 3));
    else
        snprintf (plan, 4096, "ERROR %s", sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return plan;
}

/* True if the plan of q's statement uses index (a name, or "PRIMARY KEY") and never
   scans the message table whole; prints the plan if not. */
static bool
s_plan_uses (kh_store_t *store, const char *path, const kh_query_t *q, const char *index)
{
    char *plan = s_plan_of (path, kh_store_query_sql (store, q));
    if (getenv ("KH_PLANS"))         /* KH_PLANS=1 shows every statement and plan */
        printf ("%s\n%s\n", kh_store_query_sql (store, q), plan);
    bool ok = strstr (plan, index) && !strstr (plan, "SCAN m") && !strstr (plan, "ERROR");
    if (!ok)
        printf ("  plan for %s:\n%s", index, plan);
    free (plan);
    return ok;
}

/* Every driver of a query walks its index (kh_store.c: how a query finds its rows). */
static void
s_check_plans (kh_store_t *store, const char *path)
{
    kh_query_t q = { .req = 1, .since_seq = 5 };
    bool seq = s_plan_uses (store, path, &q, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)");
    kh_query_add_from (&q, "0516*", NULL);
    seq &= s_plan_uses (store, path, &q, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)");
    KH_CHECK ("a seq range (and a region) walks the primary key", seq, "see above");
    q = (kh_query_t) { .req = 1 };
    kh_query_add_type (&q, "idea", NULL);
    kh_query_add_type (&q, "offer", NULL);
    kh_query_add_from (&q, "0516*", NULL);
    bool types = s_plan_uses (store, path, &q, "MERGE (UNION ALL)")
              && s_plan_uses (store, path, &q, "message_by_type (type=? AND seq>? AND seq<?)");
    KH_CHECK ("a type list merges the type index's ranges", types, "see above");
    q = (kh_query_t) { .req = 1, .since_ts = 5, .until_ts = 7 };
    kh_query_add_type (&q, "idea", NULL);
    bool ts = s_plan_uses (store, path, &q, "message_by_ts (ts>? AND ts<?)");
    KH_CHECK ("a ts range searches the ts index", ts, "see above");
    q = (kh_query_t) { .req = 1, .search = "alpha", .since_ts = 5 };
    kh_query_add_from (&q, "05162004", NULL);
    bool search = s_plan_uses (store, path, &q, "VIRTUAL TABLE INDEX")
               && s_plan_uses (store, path, &q, "INTEGER PRIMARY KEY (rowid=?)");
    KH_CHECK ("a search walks the full-text index", search, "see above");
    q = (kh_query_t) { .req = 1 };
    kh_query_add_from (&q, "05162004", NULL);
    kh_query_add_from (&q, "05162008", NULL);
    bool senders = s_plan_uses (store, path, &q, "message_by_sender (sender=? AND seq>?");
    KH_CHECK ("a list of AGS merges the sender index's ranges", senders, "see above");
    q = (kh_query_t) { .req = 1, .has_ref = true, .search = "x" };
    bool ref = s_plan_uses (store, path, &q, "message_by_item (item=?");
    KH_CHECK ("a ref searches the item index", ref, "see above");
}

static void
test_query_lists (void)
{
    char path [128];
    s_path (path, sizeof path, "lists");
    kh_store_t *store = s_open (path);
    s_fact_t facts [S_FACTS];
    s_fill_facts (store, facts);
    const char *seed_text = getenv ("KH_SEED");
    uint64_t seed = seed_text ? strtoull (seed_text, NULL, 10) : (uint64_t) time (NULL);
    s_rng = seed ? seed : 1;
    int failed = 0, rows = 0;
    for (int i = 0; i < 3000 && failed < 5; i++) {
        kh_query_t q = s_random_query (facts);
        uint64_t want [S_FACTS];
        rows += (int) s_expect (facts, &q, want);
        failed += !s_paged_matches (store, facts, q);
    }
    KH_CHECK ("queries of type and sender lists, prefixes, seq, at and ts bounds, a ref "
              "and a search page through exactly the matching rows", failed == 0,
              "%d failed (KH_SEED=%llu)", failed, (unsigned long long) seed);
    KH_CHECK ("the random queries found rows", rows > 500, "%d rows", rows);

    s_page_t page;
    kh_query_t q = { .req = 1, .search = "alpha" };
    s_query (store, &q, &page);
    KH_CHECK ("a search finds the words of titles and texts", page.rc == 0
              && page.count == s_expect (facts, &q, (uint64_t [S_FACTS]) { 0 })
              && page.count > 2, "count %u", page.count);
    q = (kh_query_t) { .req = 1, .has_ref = true };
    memcpy (q.ref, facts [3].id, KH_ID_SIZE);
    s_query (store, &q, &page);
    KH_CHECK ("a ref finds the item and the messages about it", page.rc == 0
              && page.count == 2 && page.seq [0] == 4 && page.seq [1] == 6,
              "count %u first %llu", page.count, (unsigned long long) page.seq [0]);
    s_check_plans (store, path);
    kh_store_destroy (&store);
}

static void
test_page_bytes (void)
{
    char path [128];
    s_path (path, sizeof path, "bytes");
    kh_store_t *store = s_open (path);
    char *text = malloc (8001);
    memset (text, 'x', 8000);
    text [8000] = 0;
    enum { N = 600 };                   /* 600 envelopes of about 8 KB: over 4 MiB */
    s_env_t *envs = calloc (N, sizeof *envs);
    for (int i = 0; i < N; i++)
        envs [i] = s_env_ts ("idea", "05162004", "big", text, kh_now_ms ());
    kh_store_result_t *results = calloc (N, sizeof *results);
    int rc = s_append (store, envs, N, results);
    KH_CHECK ("a big batch commits", rc == 0 && kh_store_head (store) == N, "rc %d", rc);
    s_page_t *page = malloc (sizeof *page);
    kh_query_t q = { .req = 1 };
    s_query (store, &q, page);
    uint32_t first = page->count;
    KH_CHECK ("a page ends early near the byte cap",
           page->rc == 0 && first > 400 && first < N && page->more && page->next == first + 1
           && page->bytes <= KH_QUERY_PAGE_BYTES, "count %u bytes %zu more %d", first,
           page->bytes, page->more);
    q.since_seq = page->next;
    s_query (store, &q, page);
    KH_CHECK ("the next page holds the rest", page->count == N - first && !page->more,
           "count %u more %d", page->count, page->more);
    free (page);
    for (int i = 0; i < N; i++)
        s_env_free (&envs [i]);
    free (envs);
    free (results);
    free (text);
    kh_store_destroy (&store);
}

/* One writer at a time: a second is refused (KH_EBUSY, naming the holder) while the
   first is open, and opens once it is closed, going on gap-free. */
static void
test_two_writers (void)
{
    char path [128];
    s_path (path, sizeof path, "two");
    kh_store_t *one = s_open (path);
    s_put (one, "idea", "05162004");
    s_put (one, "offer", "05162004");
    kh_problem_t why = { 0 };
    kh_store_t *two = kh_store_new (path, KH_SYNC_FULL, &why);
    char pid [24];
    snprintf (pid, sizeof pid, "pid %ld", (long) getpid ());
    KH_CHECK ("a second writer is refused while the first holds the store",
              !two && why.code == KH_EBUSY && strstr (why.reason, "in use")
              && strstr (why.reason, pid), "code %d reason '%s'", why.code, why.reason);
    kh_problem_t reader_why = { 0 };
    kh_store_t *reader = kh_store_new_reader (path, &reader_why);
    KH_CHECK ("a reader opens beside the writer", reader != NULL, "%s", reader_why.reason);
    kh_store_destroy (&reader);
    kh_store_destroy (&one);
    two = s_open (path);
    bool ok = s_links (s_put (two, "idea", "05162004"), 3, 1, 2, 1);
    KH_CHECK ("once the first writer is closed, a second opens and goes on gap-free", ok,
              "see above");
    kh_store_destroy (&two);
}

/* A row added by hand: seq, type and sender; the rest is filler. */
static int
s_sql_row (const char *path, long long seq, const char *type, const char *from)
{
    char sql [256];
    snprintf (sql, sizeof sql, "INSERT INTO message (seq, id, type, sender, ts, at, "
              "prev_type, prev_sender, prev_pair, title, envelope) VALUES (%lld, "
              "randomblob (16), '%s', '%s', 1, 1, 0, 0, 0, 'by hand', x'00')", seq, type,
              from);
    return s_sql (path, sql);
}

/* What the writer loads from the file is checked, not trusted: when a batch finds
   rows another hand added, it reloads and fails if they cannot fit (the writer
   keeps its state), goes on after them once they fit, and a table whose head and
   links cannot fit is refused at open. */
static void
test_edited_by_hand (void)
{
    char path [128];
    s_path (path, sizeof path, "edited");
    kh_store_t *store = s_open (path);
    s_put (store, "idea", "05162004");
    s_put (store, "offer", "05162004");
    int rc = s_sql_row (path, 3, "idea", "05162008") | s_sql_row (path, -5, "offer", "05162");
    s_env_t env = s_env ("idea", "05162004", "after the edit");
    kh_store_result_t result = s_append1 (store, &env);
    KH_CHECK ("a batch that finds a negative seq written by another hand fails",
           rc == SQLITE_OK && result.code == KH_ESTORE
           && strstr (result.why.reason, "inconsistent") && kh_store_head (store) == 2,
           "rc %d code %d head %llu reason '%s'", rc, result.code,
           (unsigned long long) kh_store_head (store), result.why.reason);
    rc = s_sql (path, "DELETE FROM message WHERE seq < 0");
    result = s_append1 (store, &env);
    KH_CHECK ("once the table is whole again, the writer goes on after the rows added "
           "by hand", rc == SQLITE_OK && result.code == KH_OK
           && s_links (result.info, 4, 3, 2, 1), "rc %d code %d", rc, result.code);
    kh_store_destroy (&store);
    rc = s_sql_row (path, -5, "offer", "05162");
    kh_problem_t why = { 0 };
    store = kh_store_new (path, KH_SYNC_FULL, &why);
    KH_CHECK ("a store with a negative seq is refused at open",
           rc == SQLITE_OK && !store && why.code == KH_ESTORE
           && strstr (why.reason, "inconsistent"), "code %d reason '%s'", why.code,
           why.reason);
    kh_store_destroy (&store);
    s_env_free (&env);
}

/* ------------------------------------------------------------------ foreign files */

/* Reads the whole file at path into a new buffer (*size bytes); NULL if it cannot. */
static char *
s_slurp (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    char *data = NULL;
    *size = 0;
    if (file && fseek (file, 0, SEEK_END) == 0) {
        long length = ftell (file);
        data = length >= 0 ? (char *) malloc ((size_t) length + 1) : NULL;
        rewind (file);
        if (data && fread (data, 1, (size_t) length, file) == (size_t) length)
            *size = (size_t) length;
        else {
            free (data);
            data = NULL;
        }
    }
    if (file)
        fclose (file);
    return data;
}

/* Counts the entries of dir, . and .. aside. */
static int
s_entries (const char *dir)
{
    zdir_t *listing = zdir_new (dir, NULL);
    int count = listing ? (int) zdir_count (listing) : -1;
    zdir_destroy (&listing);
    return count;
}

/* A file that is neither empty nor a kreishub store: how to make it. */
typedef struct {
    const char *name;
    const char *sql;                    /* run on a new SQLite database, or NULL */
    const char *text;                   /* else written as the file's bytes */
} s_foreign_t;

/* Makes the foreign file f in a directory of its own; opens it as a writer and as a
   reader; both must refuse it, saying it is not a store (or not a database), and
   leave its bytes and its directory as they were. */
static void
s_foreign (const s_foreign_t *f, bool same_dir)
{
    char dir [128], path [192];
    snprintf (dir, sizeof dir, "%s/foreign-%s", s_dir, f->name);
    zsys_dir_create ("%s", dir);
    snprintf (path, sizeof path, "%s/kreishub.db", dir);
    if (f->sql && s_sql (path, f->sql) != SQLITE_OK)
        printf ("FAIL fixture: %s: cannot run '%s'\n", f->name, f->sql);
    if (f->text) {
        FILE *file = fopen (path, "wb");
        fputs (f->text, file);
        fclose (file);
    }
    size_t before_size, after_size;
    char *before = s_slurp (path, &before_size);
    int entries = s_entries (dir);
    kh_problem_t why = { 0 }, reader_why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_FULL, &why);
    kh_store_t *reader = kh_store_new_reader (path, &reader_why);
    bool opened = store, read = reader;
    kh_store_destroy (&store);
    kh_store_destroy (&reader);
    char *after = s_slurp (path, &after_size);
    char name [160];
    snprintf (name, sizeof name, "a foreign file (%s) is refused, its bytes unchanged",
              f->name);
    KH_CHECK (name, !opened && why.code == KH_ESTORE && before && after
              && before_size == after_size && memcmp (before, after, before_size) == 0
              && (strstr (why.reason, "not a kreishub store")
              ||  strstr (why.reason, "not a database")),
              "opened %d, %zu bytes then %zu, reason '%s'", opened, before_size,
              after_size, why.reason);
    snprintf (name, sizeof name, "refusing a foreign file (%s) creates nothing beside it",
              f->name);
    if (same_dir)
        KH_CHECK (name, s_entries (dir) == entries, "%d entries, then %d", entries,
                  s_entries (dir));
    snprintf (name, sizeof name, "a reader refuses a foreign file (%s)", f->name);
    KH_CHECK (name, !read && reader_why.code == KH_ESTORE, "reader opened %d, code %d",
              read, reader_why.code);
    free (before);
    free (after);
}

static void
test_foreign (void)
{
    static const s_foreign_t foreign [] = {
        { .name = "unrelated tables",
          .sql = "CREATE TABLE other (x); INSERT INTO other VALUES (1)" },
        { .name = "a message table of another shape",
          .sql = "CREATE TABLE message (seq INTEGER PRIMARY KEY, body TEXT)" },
        { .name = "another shape at version 1",
          .sql = "CREATE TABLE message (seq INTEGER PRIMARY KEY, body TEXT); "
                 "PRAGMA user_version = 1" },
        { .name = "version 1 and no tables", .sql = "PRAGMA user_version = 1" },
        { .name = "text", .text = "this is not a database, but someone's notes\n" },
        { .name = "a store with a table added" },
        { .name = "unrelated tables in WAL mode",
          .sql = "CREATE TABLE other (x); PRAGMA journal_mode = WAL" },
    };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign [0]; i++) {
        s_foreign_t f = foreign [i];
        if (!f.sql && !f.text) {        /* a store first, then a table of someone else */
            char path [192];
            snprintf (path, sizeof path, "%s/foreign-%s", s_dir, f.name);
            zsys_dir_create ("%s", path);
            strcat (path, "/kreishub.db");
            kh_store_t *store = s_open (path);
            kh_store_destroy (&store);
            f.sql = "CREATE TABLE extra (x)";
        }
        /* In WAL mode (a store's) SQLite creates -wal and -shm to read the file. */
        s_foreign (&f, f.text || (f.sql && !strstr (f.sql, "WAL") && foreign [i].sql));
    }

    char path [128];
    s_path (path, sizeof path, "zero-length");
    FILE *file = fopen (path, "wb");
    fclose (file);
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_FULL, &why);
    KH_CHECK ("an empty file becomes a store", store && kh_store_head (store) == 0,
              "reason '%s'", why.reason);
    kh_store_destroy (&store);
    s_path (path, sizeof path, "emptied");
    s_sql (path, "CREATE TABLE t (x); DROP TABLE t");
    store = kh_store_new (path, KH_SYNC_FULL, &why);
    KH_CHECK ("an SQLite database with nothing in it becomes a store", store != NULL,
              "reason '%s'", why.reason);
    kh_store_destroy (&store);
}

/* ------------------------------------------------------------------ audit */

/* An audit record of the broker's, told apart by reason. */
static kh_audit_t
s_audit (const char *reason, int code, const char *ags, const char *claimed, uint64_t at)
{
    kh_audit_t rec;
    memset (&rec, 0, sizeof rec);
    rec.at = at;
    rec.code = code;
    rec.size = 42;
    snprintf (rec.endpoint, sizeof rec.endpoint, "client");
    snprintf (rec.command, sizeof rec.command, "PUBLISH");
    snprintf (rec.peer, sizeof rec.peer, "127.0.0.1");
    snprintf (rec.ags, sizeof rec.ags, "%s", ags);
    snprintf (rec.claimed, sizeof rec.claimed, "%s", claimed);
    snprintf (rec.role, sizeof rec.role, "municipality");
    snprintf (rec.key, sizeof rec.key, "%040d", code);
    snprintf (rec.reason, sizeof rec.reason, "%s", reason);
    return rec;
}

/* Runs q on store into *rows (decoded); returns kh_store_audit_query's rc. */
static int
s_audit_page (kh_store_t *store, const kh_audit_query_t *q, kh_audit_rows_t *rows)
{
    kh_problem_t why = { 0 };
    kh_rows_writer_t *writer = kh_rows_writer_new (q->req ? q->req : 1);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    bool more = false;
    uint64_t next = 0;
    int rc = writer ? kh_store_audit_query (store, q, writer, &more, &next, &why) : -1;
    memset (rows, 0, sizeof *rows);
    if (rc == 0 && (kh_rows_writer_finish (writer, more, next, &buf)
                ||  kh_audit_rows_decode (buf.data, buf.size, rows, &why)))
        rc = -1;
    if (rc)
        printf ("  audit page: %s\n", why.reason);
    kh_rows_writer_destroy (&writer);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Audit records share their batch's transaction and get the audit's own gap-free
   seq; a batch may hold records alone; a reader pages through them by seq, time,
   code and AGS (claimed or authenticated), and they outlive a reopen. */
static void
test_audit (void)
{
    char path [128];
    s_path (path, sizeof path, "audit");
    kh_store_t *store = s_open (path);
    s_env_t env = s_env ("idea", "05162004", "Mit Audit");
    kh_store_item_t item = { env.data, env.size };
    kh_store_result_t result;
    kh_audit_t recs [3] = {
        s_audit ("first", KH_ESENDER, "05162012", "05162008", 1000),
        s_audit ("second", KH_EMALFORMED, "05162004", "", 3000),
        s_audit ("third", KH_EFORBIDDEN, "05162", "05162", 2000) };
    int rc = kh_store_commit (store, &item, 1, &result, recs, 2);
    KH_CHECK ("a batch holds messages and audit records", rc == 0 && result.code == KH_OK
              && kh_store_head (store) == 1 && kh_store_audit_head (store) == 2,
              "rc %d head %llu audit %llu", rc, (unsigned long long) kh_store_head (store),
              (unsigned long long) kh_store_audit_head (store));
    rc = kh_store_commit (store, NULL, 0, NULL, &recs [2], 1);
    KH_CHECK ("a batch of audit records alone is committed, under the next seq",
              rc == 0 && kh_store_audit_head (store) == 3 && kh_store_head (store) == 1,
              "rc %d audit %llu", rc, (unsigned long long) kh_store_audit_head (store));
    kh_store_destroy (&store);
    store = s_open (path);
    kh_problem_t why = { 0 };
    kh_store_t *reader = kh_store_new_reader (path, &why);
    kh_audit_query_t q = { .req = 5 };
    kh_audit_rows_t rows;
    rc = reader ? s_audit_page (reader, &q, &rows) : -1;
    bool ok = rc == 0 && rows.count == 3 && !rows.more && rows.next == 4 && rows.req == 5;
    for (uint32_t i = 0; ok && i < 3; i++) {
        kh_audit_t want = recs [i];
        want.seq = i + 1;
        ok = memcmp (&rows.rows [i], &want, sizeof want) == 0;
    }
    KH_CHECK ("a reader reads the audit back, field for field, after a reopen", ok,
              "rc %d count %u", rc, rows.count);
    kh_audit_rows_release (&rows);
    q = (kh_audit_query_t) { .req = 6, .since_at = 1500, .until_at = 2500 };
    rc = reader ? s_audit_page (reader, &q, &rows) : -1;
    KH_CHECK ("by time: the broker's clock, not the seq", rc == 0 && rows.count == 1
              && rows.rows [0].seq == 3, "rc %d count %u", rc, rows.count);
    kh_audit_rows_release (&rows);
    q = (kh_audit_query_t) { .req = 7, .code = KH_EMALFORMED };
    rc = reader ? s_audit_page (reader, &q, &rows) : -1;
    KH_CHECK ("by code", rc == 0 && rows.count == 1 && rows.rows [0].seq == 2, "rc %d count %u",
              rc, rows.count);
    kh_audit_rows_release (&rows);
    q = (kh_audit_query_t) { .req = 8, .ags = "05162008" };
    rc = reader ? s_audit_page (reader, &q, &rows) : -1;
    KH_CHECK ("by an AGS claimed", rc == 0 && rows.count == 1 && rows.rows [0].seq == 1,
              "rc %d count %u", rc, rows.count);
    kh_audit_rows_release (&rows);
    q = (kh_audit_query_t) { .req = 9, .ags = "05162012" };
    rc = reader ? s_audit_page (reader, &q, &rows) : -1;
    KH_CHECK ("by an AGS authenticated", rc == 0 && rows.count == 1
              && rows.rows [0].seq == 1, "rc %d count %u", rc, rows.count);
    kh_audit_rows_release (&rows);
    q = (kh_audit_query_t) { .req = 10, .since_seq = 2, .limit = 1 };
    rc = reader ? s_audit_page (reader, &q, &rows) : -1;
    KH_CHECK ("in pages by seq", rc == 0 && rows.count == 1 && rows.rows [0].seq == 2
              && rows.more && rows.next == 3, "rc %d count %u more %d next %llu", rc,
              rows.count, rows.more, (unsigned long long) rows.next);
    kh_audit_rows_release (&rows);
    kh_store_destroy (&reader);

    /* A batch that rolls back takes its audit records with it. */
    s_sql (path, "CREATE TRIGGER boom BEFORE INSERT ON audit WHEN NEW.reason = 'boom' "
                 "BEGIN SELECT RAISE (ABORT, 'boom'); END");
    kh_audit_t boom [2] = { s_audit ("fine", 1, "", "", 4000),
                            s_audit ("boom", 1, "", "", 4000) };
    s_env_t more = s_env ("idea", "05162004", "Mit dem Audit zurueckgerollt");
    item = (kh_store_item_t) { more.data, more.size };
    rc = kh_store_commit (store, &item, 1, &result, boom, 2);
    KH_CHECK ("an audit record that cannot be stored rolls its batch back, messages too",
              rc == -1 && result.code == KH_ESTORE && kh_store_head (store) == 1
              && kh_store_audit_head (store) == 3, "rc %d code %d head %llu audit %llu", rc,
              result.code, (unsigned long long) kh_store_head (store),
              (unsigned long long) kh_store_audit_head (store));
    s_sql (path, "DROP TRIGGER boom");
    rc = kh_store_commit (store, &item, 1, &result, boom, 1);
    KH_CHECK ("and the audit's seq stays gap-free after it", rc == 0
              && kh_store_audit_head (store) == 4 && kh_store_head (store) == 2, "rc %d", rc);
    kh_store_destroy (&store);
    s_env_free (&env);
    s_env_free (&more);
}

/* Returns a new string: the schema's first section (version 1), or NULL. */
static char *
s_version1 (void)
{
    const char *end = strstr (kh_sql_schema, "\n-- version 2");
    return end ? strndup (kh_sql_schema, (size_t) (end - kh_sql_schema)) : NULL;
}

/* A store of version 1 (as the recorder wrote it before the audit) is migrated to
   version 2 with its messages; a version-1 store with an audit table, or a
   version-2 one without, is no kreishub store. */
static void
test_migration (void)
{
    char path [128], *v1 = s_version1 (), *sql = NULL;
    s_path (path, sizeof path, "version-1");
    int rc = v1 ? s_sql (path, v1) : -1;
    rc |= s_sql (path, "INSERT INTO message VALUES (1, zeroblob (16), 'idea', '05162004', "
                       "1, 2, 0, 0, 0, 'Alt', x'80')");
    kh_problem_t why = { 0 };
    kh_store_t *store = rc == 0 ? kh_store_new (path, KH_SYNC_FULL, &why) : NULL;
    kh_audit_t rec = s_audit ("after the migration", KH_EVALUE, "", "", 5);
    int committed = store ? kh_store_commit (store, NULL, 0, NULL, &rec, 1) : -1;
    KH_CHECK ("a store of version 1 is migrated to version 2, its messages kept",
              store && kh_store_head (store) == 1 && committed == 0
              && kh_store_audit_head (store) == 1, "rc %d '%s'", rc, why.reason);
    kh_store_destroy (&store);

    if (v1 && (sql = (char *) malloc (strlen (v1) + 64))) {
        sprintf (sql, "%s; CREATE TABLE audit (seq INTEGER PRIMARY KEY)", v1);
        s_foreign (&(s_foreign_t) { .name = "version 1 with an audit table", .sql = sql },
                   true);
        sprintf (sql, "%s; PRAGMA user_version = 2", v1);
        s_foreign (&(s_foreign_t) { .name = "version 2 without the audit", .sql = sql }, true);
    }
    free (sql);
    free (v1);
}

/* The user the read-only checks run as: a root user writes anything, so they drop
   to nobody (65534) in a child of their own. */
#define S_NOBODY 65534

/* Runs fn (path, expect) in a child process, as nobody if we are root. Returns true
   if the child says fn held. */
static bool
s_as_user (bool (*fn) (const char *path, const char *expect), const char *path,
           const char *expect)
{
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        bool dropped = geteuid () != 0 || (setgid (S_NOBODY) == 0 && setuid (S_NOBODY) == 0);
        _exit (dropped && fn (path, expect) ? 0 : 1);
    }
    int status = -1;
    waitpid (pid, &status, 0);
    return pid > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

/* A writer on path must be refused at open with a reason holding expect. */
static bool
s_refused (const char *path, const char *expect)
{
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_FULL, &why);
    bool ok = !store && why.code == KH_ESTORE && strstr (why.reason, expect);
    if (!ok)
        printf ("  %s: store %p, reason '%s'\n", path, (void *) store, why.reason);
    fflush (stdout);                    /* the child ends with _exit */
    kh_store_destroy (&store);
    return ok;
}

static void
test_read_only (void)
{
    char dir [128], path [192];
    chmod (s_dir, 0755);                /* nobody must reach what is inside */
    snprintf (dir, sizeof dir, "%s/ro-file", s_dir);
    zsys_dir_create ("%s", dir);
    chmod (dir, 0777);
    snprintf (path, sizeof path, "%s/kreishub.db", dir);
    kh_store_t *store = s_open (path);
    s_put (store, "idea", "05162004");
    kh_store_destroy (&store);
    chmod (path, 0444);
    size_t before_size, after_size;
    /* Held in a static while the child runs: the child ends with _exit, and valgrind
       checks its leaks there; a pointer only in a register would count as lost. */
    static char *before;
    before = s_slurp (path, &before_size);
    bool refused = s_as_user (s_refused, path, "read-only");
    char *after = s_slurp (path, &after_size);
    KH_CHECK ("a store file that cannot be written is refused at open, unchanged",
              refused && before && after && before_size == after_size
              && memcmp (before, after, before_size) == 0, "refused %d", refused);
    free (before);
    before = NULL;
    free (after);

    snprintf (dir, sizeof dir, "%s/ro-dir", s_dir);
    zsys_dir_create ("%s", dir);
    snprintf (path, sizeof path, "%s/kreishub.db", dir);
    store = s_open (path);
    kh_store_destroy (&store);
    if (geteuid () == 0 && chown (path, S_NOBODY, S_NOBODY) != 0)
        printf ("FAIL fixture: cannot give %s to nobody\n", path);
    chmod (dir, 0555);
    refused = s_as_user (s_refused, path, "directory");
    KH_CHECK ("a store in a directory that cannot be written is refused at open",
              refused, "see above");
    chmod (dir, 0755);
    chmod (s_dir, 0700);
}


/* Copies the store file at path alone (not its WAL) to copy. Returns 0 or -1. */
static int
s_copy_file (const char *path, const char *copy)
{
    size_t size;
    char *data = s_slurp (path, &size);
    FILE *file = data ? fopen (copy, "wb") : NULL;
    int rc = file && fwrite (data, 1, size, file) == size ? 0 : -1;
    if (file && fclose (file) != 0)
        rc = -1;
    free (data);
    return rc;
}

static void
test_checkpoint (void)
{
    char path [128], copy [128];
    s_path (path, sizeof path, "checkpoint");
    s_path (copy, sizeof copy, "checkpoint-copy");
    kh_store_t *store = s_open (path);
    s_env_t envs [20];
    kh_store_result_t results [20];
    for (int i = 0; i < 20; i++)
        envs [i] = s_env ("idea", "05162004", "checkpoint");
    int rc = s_append (store, envs, 10, results) | s_append (store, envs + 10, 10, results + 10);
    int pending = kh_store_wal_pending (store);
    bool copied = s_copy_file (path, copy) == 0;
    KH_CHECK ("a commit leaves its frames in the WAL, not yet in the store file",
              rc == 0 && pending > 0 && copied && s_rows (copy) == 0,
              "rc %d pending %d rows in the file alone %d", rc, pending, s_rows (copy));
    kh_problem_t why = { 0 };
    rc = kh_store_checkpoint (store, &why);
    pending = kh_store_wal_pending (store);
    copied = s_copy_file (path, copy) == 0;
    KH_CHECK ("a checkpoint writes the WAL into the store file",
              rc == 0 && pending == 0 && copied && s_rows (copy) == 20,
              "rc %d (%s) pending %d rows in the file alone %d", rc, why.reason, pending,
              s_rows (copy));
    kh_store_destroy (&store);
    KH_CHECK ("the store holds every row after a checkpoint", s_rows (path) == 20,
              "%d rows", s_rows (path));
    for (int i = 0; i < 20; i++)
        s_env_free (&envs [i]);
}

/* The search index catching up on a burst, chunk after chunk, checkpoints like the
   batches do once the WAL holds the bound (the checkpointer's passes, the chunk after
   one finishing it, and at 4 x the bound the chunk itself): the WAL stays bounded
   (with SQLite's own checkpoint off, nothing else would write it into the file until
   the writer idles; 172 frames here when nothing did). */
static void
test_index_checkpoints (void)
{
    char path [128];
    s_path (path, sizeof path, "index-checkpoints");
    kh_store_t *store = s_open (path);
    enum { S_BURST = 200, S_BATCH = 10, S_BOUND = 20 };
    s_env_t envs [S_BATCH];
    kh_store_result_t results [S_BATCH];
    int rc = 0;
    for (int b = 0; b < S_BURST / S_BATCH; b++) {
        for (int i = 0; i < S_BATCH; i++)
            envs [i] = s_env ("idea", "05162004", "Ein Vorschlag, der gesucht werden kann");
        rc |= s_append (store, envs, S_BATCH, results);
        for (int i = 0; i < S_BATCH; i++)
            rc |= results [i].code;
        for (int i = 0; i < S_BATCH; i++)
            s_env_free (&envs [i]);
    }
    rc |= kh_store_checkpoint (store, &(kh_problem_t) { 0 });
    kh__store_set_wal_bound (store, S_BOUND);
    int most = 0, chunks = 0, first = kh_store_wal_pending (store);
    size_t count = 1;
    kh_problem_t why = { 0 };
    while (rc == 0 && count > 0 && chunks < 1000) {
        rc = kh_store_index (store, 5, &count, &why);
        int pending = kh_store_wal_pending (store);
        most = pending > most ? pending : most;
        chunks++;
    }
    uint64_t passes = 0, inlined = 0;
    kh_store_checkpoints (store, &passes, &inlined);
    KH_CHECK ("the index follows a burst of 200 in chunks of 5, the WAL checkpointed "
              "by the checkpointer from 20 frames on, by a chunk itself at 80",
              rc == 0 && count == 0 && first == 0 && chunks > S_BURST / 5
              && most < 4 * S_BOUND + 20 && passes > 0,
              "rc %d (%s) count %zu first %d chunks %d most frames waiting %d, passes "
              "%llu, checkpoints of chunks %llu", rc, why.reason, count, first, chunks,
              most, (unsigned long long) passes, (unsigned long long) inlined);
    kh_store_destroy (&store);
}

int
main (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/kh-store-test-XXXXXX");
    if (!mkdtemp (s_dir)) {
        printf ("FAIL fixture: cannot create a temporary directory\n");
        return 1;
    }
    test_gap_free ();
    test_duplicates ();
    test_invalid ();
    test_links ();
    test_rollback ();
    test_versions ();
    test_sync_parse ();
    test_query ();
    test_query_lists ();
    test_page_bytes ();
    test_two_writers ();
    test_edited_by_hand ();
    test_foreign ();
    test_audit ();
    test_migration ();
    test_read_only ();
    test_checkpoint ();
    test_index_checkpoints ();
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", s_dir);
    return kh_check_done ("store_test");
}
