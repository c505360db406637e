/*  kh_state_test.c - the items' current state: each rule of PROTOCOL.md section 13 and
    each change a message makes, the search index, the Berlin calendar, a version-2
    store migrated, and a long randomised history whose rebuilt state is the live one. */
#include <czmq.h>
#include <sqlite3.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_berlin.h"
#include "kh_codec.h"
#include "kh_sql.h"
#include "kh_store.h"

#include "kh_check.h"

#define S_DAY_MS    (24ULL * 3600 * 1000)
#define S_SETS_MAX  16                  /* field settings of one test message */

static char s_dir [64];

/* A message built for a test; data is malloc'd. */
typedef struct {
    uint8_t id [KH_ID_SIZE];
    char    text [KH_ID_STR_SIZE];      /* the id as the log prints it */
    char   *data;
    size_t  size;
} s_msg_t;

/* ------------------------------------------------------------------ helpers */

/* Builds a message of type from sender published at ts, with the body fields of the
   NULL-terminated name, value pairs in sets (kh_builder_set's text forms: a ref as
   an id's text, "fields.NAME" for a revise). The bytes are kept even if the
   envelope is invalid; a fixture that cannot be built at all ends the test. */
static s_msg_t
s_build (const char *type, const char *from, uint64_t ts, const char *const *sets)
{
    s_msg_t msg = { .data = NULL };
    kh_id_new (msg.id);
    kh_id_format (msg.id, msg.text);
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    int rc = builder ? 0 : -1;
    for (int i = 0; rc == 0 && sets [i]; i += 2)
        rc = kh_builder_set (builder, sets [i], sets [i + 1], &why);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    if (rc == 0)
        kh_builder_pack (builder, msg.id, from, ts, &buf, &why);
    kh_builder_destroy (&builder);
    if (rc || buf.size == 0) {
        printf ("FAIL fixture: cannot build %s from %s: %s\n", type, from, why.reason);
        exit (1);
    }
    msg.size = buf.size;
    msg.data = msgpack_sbuffer_release (&buf);
    return msg;
}

/* s_build with the pairs as arguments, ending in NULL. */
static s_msg_t
s_make (const char *type, const char *from, ...)
{
    const char *sets [2 * S_SETS_MAX + 1];
    va_list args;
    va_start (args, from);
    int count = 0;
    while (count < 2 * S_SETS_MAX && (sets [count] = va_arg (args, const char *)))
        count++;
    sets [count] = NULL;
    va_end (args);
    return s_build (type, from, kh_now_ms (), sets);
}

static void
s_free (s_msg_t *msg)
{
    free (msg->data);
    msg->data = NULL;
}

/* Commits msgs [0..count) as one batch into results. Returns kh_store_commit's rc. */
static int
s_commit (kh_store_t *store, const s_msg_t *msgs, size_t count, kh_store_result_t *results)
{
    kh_store_item_t *items = (kh_store_item_t *) calloc (count, sizeof *items);
    assert (items);
    for (size_t i = 0; i < count; i++)
        items [i] = (kh_store_item_t) { msgs [i].data, msgs [i].size };
    int rc = kh_store_commit (store, items, count, results, NULL, 0);
    free (items);
    return rc;
}

/* Commits one message and frees it; returns its result. */
static kh_store_result_t
s_put (kh_store_t *store, s_msg_t msg)
{
    kh_store_result_t result;
    s_commit (store, &msg, 1, &result);
    s_free (&msg);
    return result;
}

/* Opens a fresh writer on a store of that name in the test directory. */
static kh_store_t *
s_open (const char *name, char *path, size_t cap)
{
    snprintf (path, cap, "%s/%s.db", s_dir, name);
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_OFF, &why);
    if (!store) {
        printf ("FAIL fixture: cannot open %s: %s\n", path, why.reason);
        exit (1);
    }
    return store;
}

/* Runs sql (its first column of its first row) on the store at path through a
   read-only connection of the test's own; returns it as a new string, "" if there
   is no row, "(null)" for NULL, "ERROR ..." if it fails. */
static char *
s_ask (const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char *answer = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        int rc = sqlite3_step (stmt);
        const unsigned char *text = rc == SQLITE_ROW ? sqlite3_column_text (stmt, 0) : NULL;
        answer = strdup (rc == SQLITE_ROW ? (text ? (const char *) text : "(null)")
                       : rc == SQLITE_DONE ? "" : "ERROR");
    }
    else {
        answer = (char *) malloc (300);
        snprintf (answer, 300, "ERROR %s", sqlite3_errmsg (db));
    }
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return answer;
}

/* True if s_ask (path, sql) says expect; prints what it said if not. */
static bool
s_says (const char *path, const char *sql, const char *expect)
{
    char *answer = s_ask (path, sql);
    bool same = strcmp (answer, expect) == 0;
    if (!same)
        printf ("  %s\n  -> '%s', expected '%s'\n", sql, answer, expect);
    free (answer);
    return same;
}

/* Runs a query with one %llu in it: s_says with the seq in its place (a query
   without one as it is). */
static bool
s_says_of (const char *path, const char *query, uint64_t seq, const char *expect)
{
    char sql [512];
    const char *mark = strstr (query, "%llu");
    if (!mark)
        return s_says (path, query, expect);
    snprintf (sql, sizeof sql, "%.*s%llu%s", (int) (mark - query), query,
              (unsigned long long) seq, mark + 4);
    return s_says (path, sql, expect);
}

/* Brings the whole log into the search index. Returns the rows it indexed, -1 on
   failure. */
static long
s_index_all (kh_store_t *store)
{
    long total = 0;
    size_t count;
    kh_problem_t why = { 0 };
    do {
        if (kh_store_index (store, 300, &count, &why)) {
            printf ("  index: %s\n", why.reason);
            return -1;
        }
        total += (long) count;
    } while (count > 0);
    return total;
}

/* ------------------------------------------------------------------ Berlin */

/* Milliseconds of a UTC time. */
static uint64_t
s_utc (int year, int month, int day, int hour, int minute, int second)
{
    struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                     .tm_hour = hour, .tm_min = minute, .tm_sec = second };
    return (uint64_t) timegm (&tm) * 1000;
}

static void
test_berlin (void)
{
    static const struct {
        int y, mo, d, h, mi, s;
        const char *date;
        int offset;
    } cases [] = {
        { 2025, 12, 31, 22, 59, 59, "2025-12-31", 3600 },   /* 23:59:59 CET */
        { 2025, 12, 31, 23, 0, 0, "2026-01-01", 3600 },     /* midnight in Berlin */
        { 2026, 3, 29, 0, 59, 59, "2026-03-29", 3600 },     /* the last second of CET */
        { 2026, 3, 29, 1, 0, 0, "2026-03-29", 7200 },       /* 03:00 CEST */
        { 2026, 6, 30, 21, 59, 59, "2026-06-30", 7200 },
        { 2026, 6, 30, 22, 0, 0, "2026-07-01", 7200 },      /* midnight in summer */
        { 2026, 10, 25, 0, 59, 59, "2026-10-25", 7200 },    /* 02:59:59 CEST */
        { 2026, 10, 25, 1, 0, 0, "2026-10-25", 3600 },      /* 02:00 CET again */
        { 2027, 3, 28, 1, 0, 0, "2027-03-28", 7200 },       /* 2027: the 28th */
        { 2024, 2, 28, 23, 30, 0, "2024-02-29", 3600 },     /* a leap day */
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        uint64_t ms = s_utc (cases [i].y, cases [i].mo, cases [i].d, cases [i].h,
                             cases [i].mi, cases [i].s);
        char date [KH_DATE_SIZE];
        kh_berlin_date (ms, date);
        if (strcmp (date, cases [i].date) != 0 || kh_berlin_offset (ms) != cases [i].offset) {
            printf ("  %d-%02d-%02d %02d:%02d:%02d UTC: %s offset %d, expected %s %d\n",
                    cases [i].y, cases [i].mo, cases [i].d, cases [i].h, cases [i].mi,
                    cases [i].s, date, kh_berlin_offset (ms), cases [i].date,
                    cases [i].offset);
            ok = false;
        }
    }
    KH_CHECK ("the Berlin date follows CET, CEST and their changes on the last Sundays "
              "of March and October at 01:00 UTC", ok, "see above");
    char date [KH_DATE_SIZE];
    kh_berlin_date (UINT64_MAX, date);
    KH_CHECK ("an instant past 9999 is the last day of 9999", strcmp (date, "9999-12-31") == 0,
              "%s", date);
}

/* ------------------------------------------------------------------ items */

/* An item is a row of item: proposed, its owner, its field columns; the bodies it
   names are in named; its message.item is its own seq. */
static void
test_item (void)
{
    char path [128];
    kh_store_t *store = s_open ("item", path, sizeof path);
    s_msg_t idea = s_make ("offer", "05162016", "title", "E-Akte für alle",
                           "description", "Kaarst bietet die E-Akte an", "hf", "2",
                           "topic", "Querschnitt", "keywords", "Akte, DMS",
                           "lead", "05162016", "participants", "05162004, 05162012",
                           "maturity", "stable", "valid_until", "2099-12-31",
                           "cost", "kostenlos", NULL);
    kh_store_result_t r = s_put (store, idea);
    uint64_t seq = r.info.seq;
    KH_CHECK ("an item is stored", r.code == KH_OK && seq == 1, "code %d %s", r.code,
              r.why.reason);
    KH_CHECK ("an item's row holds its type, owner, fields, stage and activity",
              s_says_of (path, "SELECT type || '|' || owner || '|' || title || '|' || hf || "
                         "'|' || topic || '|' || maturity || '|' || valid_until || '|' || "
                         "status || '|' || status_seq || '|' || (body IS NULL) || '|' || "
                         "revised || '|' || messages || '|' || last_seq || '|' || "
                         "(ts = last_ts AND ts = status_ts) FROM item WHERE seq = %llu", seq,
                         "offer|05162016|E-Akte für alle|2|Querschnitt|stable|2099-12-31|"
                         "proposed|1|1|0|1|1|1"), "see above");
    KH_CHECK ("an item's lead and participants are in named",
              s_says_of (path, "SELECT group_concat (field || ':' || ags, ' ') FROM "
                         "(SELECT * FROM named WHERE item = %llu ORDER BY field, ags)", seq,
                         "lead:05162016 participants:05162004 participants:05162012"),
              "see above");
    KH_CHECK ("an item is about no item in the log: its message.item is NULL",
              s_says_of (path, "SELECT item FROM message WHERE seq = %llu", seq, "(null)"),
              "see above");
    s_msg_t bare = s_make ("request", "05162004", "title", "DSB gesucht", NULL);
    r = s_put (store, bare);
    KH_CHECK ("an item without optional fields has NULL columns and no named rows",
              r.code == KH_OK
              && s_says_of (path, "SELECT quote (hf) || quote (topic) || quote (maturity) || "
                            "quote (valid_until) || (SELECT count (*) FROM named WHERE "
                            "item = %llu) FROM item WHERE seq = 2", r.info.seq,
                            "NULLNULLNULLNULL0"), "code %d", r.code);
    kh_store_destroy (&store);
}

/* ------------------------------------------------------------------ rules */

/* NO_ITEM: an unknown ref, the id of a message that is not an item, and the id of
   a message that was refused; nothing of them is stored. */
static void
test_no_item (void)
{
    char path [128];
    kh_store_t *store = s_open ("no-item", path, sizeof path);
    s_msg_t item = s_make ("idea", "05162004", "title", "Zwilling", NULL);
    s_msg_t comment = s_make ("comment", "05162008", "ref", item.text, "text", "gut", NULL);
    uint8_t unknown [KH_ID_SIZE];
    char unknown_text [KH_ID_STR_SIZE];
    kh_id_new (unknown);
    kh_id_format (unknown, unknown_text);
    s_msg_t to_unknown = s_make ("interest", "05162008", "ref", unknown_text,
                                 "action", "join", NULL);
    s_msg_t to_comment = s_make ("interest", "05162008", "ref", comment.text,
                                 "action", "join", NULL);
    s_msg_t batch [4] = { item, comment, to_unknown, to_comment };
    kh_store_result_t r [4];
    int rc = s_commit (store, batch, 4, r);
    KH_CHECK ("a ref to no stored message is NO_ITEM, naming the id, not stored",
              rc == 0 && r [2].code == KH_ENOITEM && r [2].why.code == KH_ENOITEM
              && strstr (r [2].why.reason, unknown_text) && r [2].has_id
              && memcmp (r [2].id, to_unknown.id, KH_ID_SIZE) == 0,
              "rc %d code %d '%s'", rc, r [2].code, r [2].why.reason);
    KH_CHECK ("a ref to a message that is not an item is NO_ITEM",
              r [3].code == KH_ENOITEM, "code %d", r [3].code);
    KH_CHECK ("the others of the batch are stored as if the refused were not sent",
              r [0].code == KH_OK && r [1].code == KH_OK && r [1].info.seq == 2
              && kh_store_head (store) == 2, "codes %d %d head %llu", r [0].code, r [1].code,
              (unsigned long long) kh_store_head (store));
    s_msg_t to_refused = s_make ("comment", "05162008", "ref", to_unknown.text,
                                 "text", "auf eine Ablehnung", NULL);
    kh_store_result_t again = s_put (store, to_refused);
    KH_CHECK ("a ref to a refused message is NO_ITEM: it was never stored",
              again.code == KH_ENOITEM, "code %d", again.code);
    KH_CHECK ("a refused message changes no state",
              s_says (path, "SELECT messages || last_seq FROM item", "22")
              && s_says (path, "SELECT count (*) FROM participant", "0"), "see above");
    for (int i = 0; i < 4; i++)
        s_free (&batch [i]);
    kh_store_destroy (&store);
}

/* Publishes a status of ref to stage from sender; returns its result. */
static kh_store_result_t
s_status (kh_store_t *store, const char *from, const s_msg_t *ref, const char *stage)
{
    return s_put (store, s_make ("status", from, "ref", ref->text, "status", stage, NULL));
}

/* NOT_OWNER: a status, withdrawal or revise by neither the owner nor its Kreis. */
static void
test_owner (void)
{
    char path [128];
    kh_store_t *store = s_open ("owner", path, sizeof path);
    s_msg_t item = s_make ("idea", "05162004", "title", "Parkausweis digital", NULL);
    s_msg_t kreis_item = s_make ("announcement", "05162", "title", "Kurs: E-Akte", NULL);
    s_msg_t both [2] = { item, kreis_item };
    kh_store_result_t r [2];
    s_commit (store, both, 2, r);
    kh_store_result_t other = s_status (store, "05162008", &item, "discussion");
    kh_store_result_t other_kreis = s_status (store, "05158", &item, "discussion");
    kh_store_result_t withdraw = s_status (store, "05162012", &item, "withdrawn");
    kh_store_result_t revise = s_put (store, s_make ("revise", "05162008", "ref", item.text,
                                                     "fields.title", "fremd", NULL));
    KH_CHECK ("a status, a withdrawal and a revise by another body are NOT_OWNER",
              other.code == KH_ENOTOWNER && withdraw.code == KH_ENOTOWNER
              && revise.code == KH_ENOTOWNER && strstr (other.why.reason, "05162008")
              && strstr (other.why.reason, "05162004"), "codes %d %d %d '%s'", other.code,
              withdraw.code, revise.code, other.why.reason);
    KH_CHECK ("another Kreis is not the owner's Kreis", other_kreis.code == KH_ENOTOWNER,
              "code %d", other_kreis.code);
    kh_store_result_t owner = s_status (store, "05162004", &item, "discussion");
    kh_store_result_t kreis = s_status (store, "05162", &item, "decided");
    kh_store_result_t kreis_revise = s_put (store, s_make ("revise", "05162", "ref",
                                            item.text, "fields.hf", "2", NULL));
    KH_CHECK ("the owner and the owner's Kreis may change the item",
              owner.code == KH_OK && kreis.code == KH_OK && kreis_revise.code == KH_OK,
              "codes %d %d %d (%s)", owner.code, kreis.code, kreis_revise.code,
              kreis.why.reason);
    kh_store_result_t member = s_status (store, "05162004", &kreis_item, "discussion");
    kh_store_result_t its_kreis = s_status (store, "05162", &kreis_item, "discussion");
    KH_CHECK ("a Kreis' own item is the Kreis' alone: its municipalities are not owners",
              member.code == KH_ENOTOWNER && its_kreis.code == KH_OK, "codes %d %d",
              member.code, its_kreis.code);
    KH_CHECK ("a refused status leaves the stage as it was",
              s_says_of (path, "SELECT status FROM item WHERE seq = %llu", r [0].info.seq,
                         "decided"), "see above");
    s_free (&item);
    s_free (&kreis_item);
    kh_store_destroy (&store);
}

/* TRANSITION: forward only, skipping allowed, never to the stage it is at, withdrawn
   from any stage but done, done and withdrawn final; each change sets the stage. */
static void
test_transition (void)
{
    char path [128];
    kh_store_t *store = s_open ("transition", path, sizeof path);
    const char *owner = "05162028";
    s_msg_t a = s_make ("offer", owner, "title", "Ummeldung im Bürgerbüro", NULL);
    s_msg_t b = s_make ("offer", owner, "title", "LoRaWAN", NULL);
    s_msg_t both [2] = { a, b };
    kh_store_result_t r [2];
    s_commit (store, both, 2, r);
    kh_store_result_t to_proposed = s_status (store, owner, &a, "proposed");
    kh_store_result_t skip = s_status (store, owner, &a, "pilot");
    kh_store_result_t same = s_status (store, owner, &a, "pilot");
    kh_store_result_t back = s_status (store, owner, &a, "decided");
    KH_CHECK ("proposed again, the same stage and a step back are TRANSITION",
              to_proposed.code == KH_ETRANSITION && same.code == KH_ETRANSITION
              && back.code == KH_ETRANSITION && strstr (back.why.reason, "pilot"),
              "codes %d %d %d '%s'", to_proposed.code, same.code, back.code,
              back.why.reason);
    KH_CHECK ("a status may skip stages, and sets the stage with its seq and time",
              skip.code == KH_OK
              && s_says_of (path, "SELECT status || ' ' || (status_seq = %llu) FROM item "
                            "WHERE seq = 1", skip.info.seq, "pilot 1"), "code %d",
              skip.code);
    kh_store_result_t withdrawn = s_status (store, owner, &a, "withdrawn");
    kh_store_result_t after = s_status (store, owner, &a, "rollout");
    kh_store_result_t twice = s_status (store, owner, &a, "withdrawn");
    KH_CHECK ("withdrawn is allowed from pilot and is final",
              withdrawn.code == KH_OK && after.code == KH_ETRANSITION
              && twice.code == KH_ETRANSITION, "codes %d %d %d", withdrawn.code, after.code,
              twice.code);
    kh_store_result_t done = s_status (store, owner, &b, "done");
    kh_store_result_t undo = s_status (store, owner, &b, "withdrawn");
    KH_CHECK ("done is final: not even withdrawn follows",
              done.code == KH_OK && undo.code == KH_ETRANSITION && strstr (undo.why.reason,
                                                                           "final"),
              "codes %d %d", done.code, undo.code);
    s_free (&a);
    s_free (&b);
    kh_store_destroy (&store);
}

/* CLOSED: an interest in a withdrawn item, or in one expired on the day (Berlin) of
   the batch's commit time; revise and comment stay allowed. */
static void
test_closed (void)
{
    char path [128];
    kh_store_t *store = s_open ("closed", path, sizeof path);
    char today [KH_DATE_SIZE], yesterday [KH_DATE_SIZE];
    uint64_t now = kh_now_ms ();
    kh_berlin_date (now, today);
    kh_berlin_date (now - S_DAY_MS, yesterday);
    s_msg_t open_item = s_make ("request", "05162004", "title", "bis heute",
                                "valid_until", today, NULL);
    s_msg_t old_item = s_make ("request", "05162004", "title", "bis gestern",
                               "valid_until", yesterday, NULL);
    s_msg_t in_open = s_make ("interest", "05162008", "ref", open_item.text,
                              "action", "interested", NULL);
    s_msg_t in_old = s_make ("interest", "05162008", "ref", old_item.text,
                             "action", "join", NULL);
    s_msg_t batch [4] = { open_item, old_item, in_open, in_old };
    kh_store_result_t r [4];
    s_commit (store, batch, 4, r);
    /* The batch's commit time judges the day: read it back, it may be after midnight. */
    char day [KH_DATE_SIZE];
    kh_berlin_date (r [0].info.at, day);
    bool open_expected = strcmp (day, today) == 0;
    KH_CHECK ("an interest in an item valid until today is stored",
              r [2].code == (open_expected ? KH_OK : KH_ECLOSED), "code %d (%s)", r [2].code,
              r [2].why.reason);
    KH_CHECK ("an interest in an item valid until yesterday is CLOSED, naming the day",
              r [3].code == KH_ECLOSED && strstr (r [3].why.reason, yesterday), "code %d '%s'",
              r [3].code, r [3].why.reason);
    kh_store_result_t comment = s_put (store, s_make ("comment", "05162008", "ref",
                                       old_item.text, "text", "schade", NULL));
    kh_store_result_t revise = s_put (store, s_make ("revise", "05162004", "ref",
                                      old_item.text, "fields.valid_until", "2099-01-01",
                                      NULL));
    kh_store_result_t later = s_put (store, s_make ("interest", "05162008", "ref",
                                     old_item.text, "action", "join", NULL));
    KH_CHECK ("an expired item takes comments and revisions; revised to a later day, "
              "it takes interest again", comment.code == KH_OK && revise.code == KH_OK
              && later.code == KH_OK, "codes %d %d %d", comment.code, revise.code,
              later.code);
    s_status (store, "05162004", &open_item, "withdrawn");
    kh_store_result_t withdrawn = s_put (store, s_make ("interest", "05162012", "ref",
                                         open_item.text, "action", "interested", NULL));
    kh_store_result_t note = s_put (store, s_make ("comment", "05162012", "ref",
                                    open_item.text, "text", "warum?", NULL));
    KH_CHECK ("an interest in a withdrawn item is CLOSED; a comment is not",
              withdrawn.code == KH_ECLOSED && strstr (withdrawn.why.reason, "withdrawn")
              && note.code == KH_OK, "codes %d %d", withdrawn.code, note.code);
    for (int i = 0; i < 4; i++)
        s_free (&batch [i]);
    kh_store_destroy (&store);
}

/* A revise: UNKNOWN_FIELD for a field of another item type; else the fields change
   (columns and body), the others stay, the named bodies follow, and the log keeps
   the first message as it was. */
static void
test_revise (void)
{
    char path [128];
    kh_store_t *store = s_open ("revise", path, sizeof path);
    s_msg_t offer = s_make ("offer", "05162", "title", "Kreis-Apps", "hf", "3",
                            "topic", "Apps", "lead", "05162", "cost", "kostenlos", NULL);
    kh_store_result_t first = s_put (store, offer);
    s_msg_t ref = { .data = NULL };
    kh_id_format (first.id, ref.text);
    kh_store_result_t benefit = s_put (store, s_make ("revise", "05162", "ref", ref.text,
                                       "fields.benefit", "viel", NULL));
    KH_CHECK ("a revise setting a field the item's type lacks is UNKNOWN_FIELD",
              benefit.code == KH_EUNKNOWNFIELD && strstr (benefit.why.reason, "benefit")
              && strstr (benefit.why.reason, "offer"), "code %d '%s'", benefit.code,
              benefit.why.reason);
    kh_store_result_t r = s_put (store, s_make ("revise", "05162", "ref", ref.text,
                                 "fields.title", "Kreis-Apps für alle", "fields.hf", "2",
                                 "fields.participants", "05162004, 05162024",
                                 "fields.licence", "EUPL-1.2", "text", "erweitert", NULL));
    KH_CHECK ("a revise is stored", r.code == KH_OK, "code %d %s", r.code, r.why.reason);
    KH_CHECK ("the revised fields change, the others stay, in columns and body",
              s_says_of (path, "SELECT title || '|' || hf || '|' || topic || '|' || revised "
                         "|| '|' || messages || '|' || last_seq FROM item WHERE seq = 1",
                         r.info.seq, "Kreis-Apps für alle|2|Apps|2|2|2"), "see above");
    KH_CHECK ("the body holds every field now, in the order of the type's fields",
              s_says (path, "SELECT hex (body) FROM item",
                      /* {title, hf, topic, lead, participants, cost, licence} */
                      "87A57469746C65B44B726569732D417070732066C3BC7220616C6C65"
                      "A2686602A5746F706963A441707073A46C656164A53035313632"
                      "AC7061727469636970616E747392A83035313632303034A8303531363230"
                      "3234A4636F7374A96B6F7374656E6C6F73A76C6963656E6365A84555504C"
                      "2D312E32"), "see above");
    KH_CHECK ("the participants revised are in named beside the lead",
              s_says (path, "SELECT group_concat (field || ':' || ags, ' ') FROM "
                      "(SELECT * FROM named ORDER BY field, ags)",
                      "lead:05162 participants:05162004 participants:05162024"),
              "see above");
    KH_CHECK ("the log keeps the first message's title",
              s_says (path, "SELECT title FROM message WHERE seq = 1", "Kreis-Apps"),
              "see above");
    r = s_put (store, s_make ("revise", "05162", "ref", ref.text, "fields.topic", "Software",
                              NULL));
    KH_CHECK ("a second revise starts from the first's body",
              r.code == KH_OK
              && s_says (path, "SELECT title || '|' || topic FROM item",
                         "Kreis-Apps für alle|Software")
              && s_says (path, "SELECT count (*) FROM named", "3"), "code %d", r.code);
    kh_store_destroy (&store);
}

/* An interest: the sender's participant row takes the action's state, with the
   interest's time and seq, and the item's counters follow the rows. */
static void
test_interest (void)
{
    char path [128];
    kh_store_t *store = s_open ("interest", path, sizeof path);
    s_msg_t item = s_make ("idea", "05162", "title", "Digitaler Zwilling", NULL);
    s_msg_t msgs [6] = {
        item,
        s_make ("interest", "05162024", "ref", item.text, "action", "decline",
                "text", "nicht jetzt", NULL),
        s_make ("interest", "05162004", "ref", item.text, "action", "join", NULL),
        s_make ("interest", "05162008", "ref", item.text, "action", "interested", NULL),
        s_make ("interest", "05162012", "ref", item.text, "action", "join", NULL),
        s_make ("interest", "05162012", "ref", item.text, "action", "leave", NULL),
    };
    kh_store_result_t rs [6];
    s_commit (store, msgs, 6, rs);
    KH_CHECK ("an item and interests in it in one batch are all stored, in order",
              rs [0].code == KH_OK && rs [5].code == KH_OK && rs [5].info.seq == 6,
              "codes %d %d", rs [0].code, rs [5].code);
    KH_CHECK ("each body's latest action is its state, with its seq",
              s_says (path, "SELECT group_concat (ags || ':' || state || ':' || seq, ' ') "
                      "FROM (SELECT * FROM participant ORDER BY ags)",
                      "05162004:joined:3 05162008:interested:4 05162012:left:6 "
                      "05162024:declined:2"), "see above");
    KH_CHECK ("the counters count the rows in each state",
              s_says (path, "SELECT n_interested || n_joined || n_declined || n_left || ' ' "
                      "|| messages || ' ' || last_seq FROM item", "1111 6 6"), "see above");
    kh_store_result_t change = s_put (store, s_make ("interest", "05162024", "ref",
                                      item.text, "action", "join", NULL));
    KH_CHECK ("a change of mind moves the body from one counter to the other",
              change.code == KH_OK
              && s_says (path, "SELECT n_interested || n_joined || n_declined || n_left "
                         "FROM item", "1201")
              && s_says (path, "SELECT state FROM participant WHERE ags = '05162024'",
                         "joined"), "code %d", change.code);
    KH_CHECK ("the messages about the item are one range of message_by_item",
              s_says (path, "SELECT group_concat (seq) FROM message INDEXED BY "
                      "message_by_item WHERE item = 1", "2,3,4,5,6,7"), "see above");
    for (int i = 0; i < 6; i++)
        s_free (&msgs [i]);
    kh_store_destroy (&store);
}

/* The order of a batch: a retry of a stored status is a duplicate, not a TRANSITION;
   a later message sees the state of the earlier; a batch that rolls back turns its
   refusals into STORE (they were judged against its state). */
static void
test_batch (void)
{
    char path [128];
    kh_store_t *store = s_open ("batch", path, sizeof path);
    s_msg_t item = s_make ("idea", "05162020", "title", "Prozessdatenbank", NULL);
    s_msg_t pilot = s_make ("status", "05162020", "ref", item.text, "status", "pilot", NULL);
    s_msg_t back = s_make ("status", "05162020", "ref", item.text, "status", "discussion",
                           NULL);
    s_msg_t batch [4] = { item, pilot, back, pilot };
    kh_store_result_t r [4];
    int rc = s_commit (store, batch, 4, r);
    KH_CHECK ("a later message of a batch is judged by the state the earlier left",
              rc == 0 && r [1].code == KH_OK && r [2].code == KH_ETRANSITION
              && r [2].in_batch, "rc %d codes %d %d", rc, r [1].code, r [2].code);
    KH_CHECK ("the same status again in the batch is its duplicate, not a TRANSITION",
              r [3].code == KH_OK && r [3].dup && r [3].info.seq == r [1].info.seq,
              "code %d dup %d", r [3].code, r [3].dup);
    s_msg_t copy = { .data = (char *) malloc (pilot.size), .size = pilot.size };
    memcpy (copy.data, pilot.data, pilot.size);
    kh_store_result_t retry = s_put (store, copy);
    KH_CHECK ("a retry of a stored status later is a duplicate too",
              retry.code == KH_OK && retry.dup && retry.info.seq == r [1].info.seq,
              "code %d dup %d", retry.code, retry.dup);
    char *sql = "CREATE TRIGGER boom BEFORE INSERT ON message WHEN NEW.title = 'boom' "
                "BEGIN SELECT RAISE (ABORT, 'boom'); END";
    sqlite3 *db = NULL;
    rc = sqlite3_open (path, &db) || sqlite3_exec (db, sql, NULL, NULL, NULL);
    sqlite3_close (db);
    s_msg_t again = s_make ("status", "05162020", "ref", item.text, "status", "decided",
                            NULL);
    s_msg_t boom = s_make ("idea", "05162020", "title", "boom", NULL);
    s_msg_t failing [2] = { again, boom };
    int failed = s_commit (store, failing, 2, r);
    KH_CHECK ("a refusal of a batch that rolls back becomes STORE",
              rc == 0 && failed == -1 && r [0].code == KH_ESTORE && r [1].code == KH_ESTORE
              && !r [0].in_batch, "rc %d %d codes %d %d", rc, failed, r [0].code, r [1].code);
    KH_CHECK ("the state of a rolled-back batch is undone with it",
              s_says (path, "SELECT status || messages FROM item", "pilot2"), "see above");
    for (int i = 0; i < 3; i++)
        s_free (&batch [i]);
    s_free (&again);
    s_free (&boom);
    kh_store_destroy (&store);
}

/* The search index follows the log: title, description, keywords, a revise's new
   texts and every note; umlauts match without their dots. */
static void
test_search (void)
{
    char path [128];
    kh_store_t *store = s_open ("search", path, sizeof path);
    s_msg_t item = s_make ("idea", "05162", "title", "Digitaler Zwilling",
                           "description", "Ein 3D-Modell für Planung in Jüchen",
                           "keywords", "Geodaten, Stadtmodell", NULL);
    s_msg_t msgs [4] = {
        item,
        s_make ("comment", "05162024", "ref", item.text, "text", "Neuss prüft das", NULL),
        s_make ("revise", "05162", "ref", item.text, "fields.description",
                "Ein Landschaftsmodell", "text", "genauer", NULL),
        s_make ("status", "05162", "ref", item.text, "status", "decided",
                "text", "Kreistagsbeschluss", NULL),
    };
    kh_store_result_t r [4];
    s_commit (store, msgs, 4, r);
    KH_CHECK ("the search index waits outside the batch's transaction",
              s_says (path, "SELECT search_seq FROM derived", "0"), "see above");
    long indexed = s_index_all (store);
    KH_CHECK ("kh_store_index brings every message in and moves search_seq",
              indexed == 4 && s_says (path, "SELECT search_seq FROM derived", "4"),
              "indexed %ld", indexed);
    static const struct { const char *query, *seqs; } cases [] = {
        { "Zwilling", "1" },
        { "juchen", "1" },
        { "stadtmodell", "1" },
        { "keywords : geodaten", "1" },
        { "prüft", "2" },
        { "landschaftsmodell OR genauer", "3" },
        { "Kreistagsbeschluss", "4" },
        { "modell*", "1" },
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char sql [256];
        snprintf (sql, sizeof sql, "SELECT group_concat (rowid) FROM search "
                  "WHERE search MATCH '%s'", cases [i].query);
        ok &= s_says (path, sql, cases [i].seqs);
    }
    KH_CHECK ("a search finds each text in its message", ok, "see above");
    KH_CHECK ("an item's search finds its messages through message.item",
              s_says (path, "SELECT group_concat (DISTINCT coalesce (m.item, m.seq)) FROM "
                      "search AS s JOIN message AS m ON m.seq = s.rowid WHERE search MATCH "
                      "'genauer OR zwilling'", "1"),
              "see above");
    for (int i = 0; i < 4; i++)
        s_free (&msgs [i]);
    kh_store_destroy (&store);
}

/* -------------------------------------------------------------- migration */

/* Returns a new string: the schema's sections for versions 1 and 2. */
static char *
s_version2 (void)
{
    const char *end = strstr (kh_sql_schema, "\n-- version 3");
    return end ? strndup (kh_sql_schema, (size_t) (end - kh_sql_schema)) : NULL;
}

/* Inserts msg at seq into the version-2 store at path, as a recorder of version 2
   would have. Returns SQLite's rc. */
static int
s_insert_v2 (const char *path, const s_msg_t *msg, long long seq, const char *type)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_open (path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2 (db, "INSERT INTO message VALUES (?1, ?2, ?3, '05162004', "
                                 "1, ?1, 0, 0, 0, 'v2', ?4)", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64 (stmt, 1, seq);
        sqlite3_bind_blob (stmt, 2, msg->id, KH_ID_SIZE, SQLITE_STATIC);
        sqlite3_bind_text (stmt, 3, type, -1, SQLITE_STATIC);
        sqlite3_bind_blob (stmt, 4, msg->data, (int) msg->size, SQLITE_STATIC);
        rc = sqlite3_step (stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (db);
    }
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return rc;
}

/* A store of version 2 is migrated to version 3 and its state derived from its log
   at the open: items, message.item, the index; a row that is no envelope today
   changes nothing. */
static void
test_migration (void)
{
    char path [128];
    snprintf (path, sizeof path, "%s/version-2.db", s_dir);
    char *v2 = s_version2 ();
    sqlite3 *db = NULL;
    int rc = v2 && sqlite3_open (path, &db) == SQLITE_OK
           ? sqlite3_exec (db, v2, NULL, NULL, NULL) : -1;
    sqlite3_close (db);
    free (v2);
    s_msg_t idea = s_make ("idea", "05162004", "title", "Open-Data-Portal", NULL);
    s_msg_t offer = s_make ("offer", "05162004", "title", "LoRaWAN des Kreises",
                            "participants", "05162008", NULL);
    s_msg_t old = { .data = strdup ("\x80"), .size = 1 };
    kh_id_new (old.id);
    /* a version-2 recorder of the new schema stored messages about items unjudged */
    s_msg_t decline = s_make ("interest", "05162024", "ref", idea.text, "action", "decline",
                              "text", "Neuss nicht", NULL);
    rc |= s_insert_v2 (path, &idea, 1, "idea") | s_insert_v2 (path, &old, 2, "idea")
        | s_insert_v2 (path, &offer, 3, "offer") | s_insert_v2 (path, &decline, 4, "interest");
    kh_problem_t why = { 0 };
    kh_store_t *store = rc == 0 ? kh_store_new (path, KH_SYNC_OFF, &why) : NULL;
    KH_CHECK ("a store of version 2 opens, migrated", store != NULL
              && s_says (path, "PRAGMA user_version", "3"), "rc %d '%s'", rc, why.reason);
    KH_CHECK ("its state is derived from its log: items, message.item, named, the index",
              s_says (path, "SELECT group_concat (seq || ':' || quote (item)) FROM (SELECT * "
                        "FROM message ORDER BY seq)", "1:NULL,2:NULL,3:NULL,4:1")
              && s_says (path, "SELECT group_concat (title) FROM item",
                         "Open-Data-Portal,LoRaWAN des Kreises")
              && s_says (path, "SELECT ags FROM named", "05162008")
              && s_says (path, "SELECT ags || state || seq FROM participant",
                         "05162024declined4")
              && s_says (path, "SELECT pending || search_seq FROM derived", "04")
              && s_says (path, "SELECT group_concat (rowid) FROM search WHERE search MATCH "
                         "'lorawan OR neuss'", "3,4"), "see above");
    s_msg_t join = s_make ("interest", "05162008", "ref", idea.text, "action", "join", NULL);
    kh_store_result_t r = store ? s_put (store, join) : (kh_store_result_t) { .code = -1 };
    KH_CHECK ("the migrated store goes on with its items",
              r.code == KH_OK && r.info.seq == 5
              && s_says (path, "SELECT n_joined || n_declined FROM item WHERE seq = 1", "11"),
              "code %d", r.code);
    kh_store_destroy (&store);
    s_free (&idea);
    s_free (&offer);
    s_free (&old);
    s_free (&decline);
}

/* ------------------------------------------------------------------ random */

/* The randomised history: a small PRNG (xorshift64*), so that a seed replays it. */
static uint64_t s_rng;

static uint32_t
s_rand (uint32_t n)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return (uint32_t) ((s_rng * 2685821657736338717ULL) >> 32) % n;
}

#define S_SENDERS   8
static const char *const s_senders [S_SENDERS] = {
    "05162004", "05162008", "05162012", "05162016", "05162024", "05162", "05158004", "05158"
};
#define S_WORDS     15
static const char *const s_words [S_WORDS] = {
    "Zwilling", "Akte", "Portal", "Schule", "Glasfaser", "Jüchen", "Straße", "Daten",
    "Kooperation", "Förderung", "Schulung", "Datenschutz", "Park", "Modell", "Sensor"
};
static const char *const s_item_types [4] = { "idea", "offer", "request", "announcement" };
static const char *const s_about_types [4] = { "interest", "status", "revise", "comment" };
#define S_DONE_STAGE 5                  /* done, then withdrawn: the final stages */
static const char *const s_stages [7] = {
    "proposed", "discussion", "decided", "pilot", "rollout", "done", "withdrawn"
};
static const char *const s_actions [4] = { "interested", "join", "decline", "leave" };
/* The item fields a random item or revise may set; the last three are one type's own. */
#define S_FIELDS    13
static const char *const s_fields [S_FIELDS] = {
    "title", "description", "hf", "topic", "keywords", "lead", "participants",
    "maturity", "valid_until", "benefit", "cost", "licence", "place"
};
#define S_PAST      "2020-05-01"
#define S_FUTURE    "2099-01-01"

/* What the test's own model of the rules knows of an item. */
typedef struct {
    char    text [KH_ID_STR_SIZE];      /* its id */
    char    type [KH_TYPE_MAX + 1];
    char    owner [KH_AGS_MAX + 1];
    int     stage;                      /* in s_stages */
    bool    expired;                    /* its valid_until is past */
    int     parts [S_SENDERS];          /* each sender's last action, -1 if none */
} s_model_item_t;

/* The model: its items, the ids of stored messages that are no items and of refused
   ones (refs that must be NO_ITEM), the stored messages (for retries), and counts. */
typedef struct {
    s_model_item_t *items;
    int             item_count;
    s_msg_t        *ids;                /* no items: stored others and refused (no bytes) */
    int             id_count;
    s_msg_t        *stored;             /* stored messages, with their bytes */
    int             stored_count;
    int             codes [KH_ERR_COUNT_];  /* results by code */
    int             types [8];          /* stored messages by type (items, then about) */
    int             dups;
    int             mismatches;
} s_model_t;

/* What the model predicts of one message and what it changes if stored. */
typedef struct {
    int   expect;                       /* the code predicted */
    bool  retry;                        /* a stored message sent again: a duplicate */
    bool  item;                         /* a new item (else about model item `of`) */
    int   of;                           /* the item it names, -1: none */
    int   kind;                         /* index in s_item_types or 4 + s_about_types */
    int   sender;                       /* in s_senders */
    int   stage, action;                /* a status's stage, an interest's action; -1 */
    int   expiry;                       /* valid_until set: -1 no, 0 future, 1 past */
} s_plan_t;

/* Writes 1..words random words into out (cap bytes). */
static void
s_words_into (char *out, size_t cap, int words)
{
    size_t used = 0;
    out [0] = 0;
    for (int i = 0; i < words && used < cap; i++)
        used += (size_t) snprintf (out + used, cap - used, "%s%s", i ? " " : "",
                                   s_words [s_rand (S_WORDS)]);
}

/* True if an item of type has the item field name. */
static bool
s_has_field (const char *type, const char *name)
{
    if (strcmp (name, "benefit") == 0)
        return strcmp (type, "idea") == 0;
    if (strcmp (name, "cost") == 0 || strcmp (name, "licence") == 0)
        return strcmp (type, "offer") == 0;
    if (strcmp (name, "place") == 0)
        return strcmp (type, "announcement") == 0;
    return true;
}

/* Settings for one message: key and value pairs; values live in text. */
typedef struct {
    const char *sets [2 * S_SETS_MAX + 1];
    int         count;
    char        keys [S_SETS_MAX][32];
    char        text [S_SETS_MAX][128];
} s_sets_t;

/* Adds key with a random value for the item field name; notes a valid_until. */
static void
s_random_field (s_sets_t *sets, const char *key, const char *name, s_plan_t *plan)
{
    int slot = sets->count / 2;
    assert (slot < S_SETS_MAX);
    char *value = sets->text [slot];
    snprintf (sets->keys [slot], sizeof sets->keys [slot], "%s", key);
    if (strcmp (name, "hf") == 0)
        snprintf (value, 128, "%u", 1 + s_rand (5));
    else
    if (strcmp (name, "maturity") == 0)
        snprintf (value, 128, "%s", s_rand (2) ? "beta" : "stable");
    else
    if (strcmp (name, "valid_until") == 0) {
        plan->expiry = (int) s_rand (2);
        snprintf (value, 128, "%s", plan->expiry ? S_PAST : S_FUTURE);
    }
    else
    if (strcmp (name, "lead") == 0)
        snprintf (value, 128, "%s", s_senders [s_rand (S_SENDERS)]);
    else
    if (strcmp (name, "participants") == 0)
        snprintf (value, 128, "%s, %s", s_senders [s_rand (2)], s_senders [2 + s_rand (3)]);
    else
    if (strcmp (name, "keywords") == 0)
        snprintf (value, 128, "%s, %s", s_words [s_rand (5)], s_words [5 + s_rand (5)]);
    else
        s_words_into (value, 128, 1 + (int) s_rand (4));
    sets->sets [sets->count++] = sets->keys [slot];
    sets->sets [sets->count++] = value;
    sets->sets [sets->count] = NULL;
}

/* Adds key and value as given. */
static void
s_set (s_sets_t *sets, const char *key, const char *value)
{
    sets->sets [sets->count++] = key;
    sets->sets [sets->count++] = value;
    sets->sets [sets->count] = NULL;
}

/* A random item from a random sender (an announcement from a municipality now and
   then: FORBIDDEN by the envelope's check). */
static void
s_random_item (s_sets_t *sets, s_plan_t *plan)
{
    plan->kind = (int) s_rand (4);
    plan->item = true;
    const char *type = s_item_types [plan->kind];
    bool kreis = plan->kind == 3;
    plan->sender = kreis && s_rand (10) ? 5 + 2 * (int) s_rand (2) : (int) s_rand (S_SENDERS);
    s_random_field (sets, "title", "title", plan);
    for (int i = 1; i < S_FIELDS; i++)
        if (s_has_field (type, s_fields [i]) && s_rand (3) == 0)
            s_random_field (sets, s_fields [i], s_fields [i], plan);
    plan->expect = kreis && strlen (s_senders [plan->sender]) != 5 ? KH_EFORBIDDEN : KH_OK;
}

/* Picks a random ref: mostly a model item (often a recent one), sometimes the id of
   a message that is no item, a refused one, or an unknown id. Sets plan->of. */
static void
s_random_ref (const s_model_t *m, s_sets_t *sets, s_plan_t *plan)
{
    uint32_t pick = s_rand (100);
    char *value = sets->text [S_SETS_MAX - 1];
    plan->of = -1;
    if (pick < 85 && m->item_count > 0) {
        int recent = m->item_count > 20 ? m->item_count - 20 : 0;
        plan->of = s_rand (2) ? recent + (int) s_rand ((uint32_t) (m->item_count - recent))
                              : (int) s_rand ((uint32_t) m->item_count);
        snprintf (value, 128, "%s", m->items [plan->of].text);
    }
    else
    if (pick < 95 && m->id_count > 0)
        snprintf (value, 128, "%s", m->ids [s_rand ((uint32_t) m->id_count)].text);
    else {
        uint8_t id [KH_ID_SIZE];
        kh_id_new (id);
        kh_id_format (id, value);
    }
    s_set (sets, "ref", value);
}

/* A random message about an item, from its owner, its owner's Kreis or anyone;
   predicts its code from the model (section 13's rules in their order). */
static void
s_random_about (const s_model_t *m, s_sets_t *sets, s_plan_t *plan)
{
    int type = (int) s_rand (4);
    plan->kind = 4 + type;
    s_random_ref (m, sets, plan);
    const s_model_item_t *it = plan->of >= 0 ? &m->items [plan->of] : NULL;
    uint32_t who = s_rand (10);
    int owner = it ? 0 : -1, kreis = -1;
    for (int i = 0; it && i < S_SENDERS; i++) {
        owner = strcmp (s_senders [i], it->owner) == 0 ? i : owner;
        kreis = strlen (s_senders [i]) == 5 && strncmp (it->owner, s_senders [i], 5) == 0
              ? i : kreis;
    }
    plan->sender = it && who < 5 ? owner : it && who < 7 && kreis >= 0 ? kreis
                 : (int) s_rand (S_SENDERS);
    bool owns = it && (plan->sender == owner || plan->sender == kreis);
    plan->expect = it ? KH_OK : KH_ENOITEM;
    if (type == 0) {
        plan->action = (int) s_rand (4);
        s_set (sets, "action", s_actions [plan->action]);
        if (it && (it->stage == S_DONE_STAGE + 1 || it->expired))
            plan->expect = KH_ECLOSED;
    }
    else
    if (type == 1) {
        plan->stage = (int) s_rand (7);
        s_set (sets, "status", s_stages [plan->stage]);
        if (it && !owns)
            plan->expect = KH_ENOTOWNER;
        else
        if (it && (it->stage >= S_DONE_STAGE || plan->stage <= it->stage))
            plan->expect = KH_ETRANSITION;
    }
    else
    if (type == 2) {
        bool unknown = false, used [S_FIELDS] = { false };
        for (int n = 1 + (int) s_rand (3); n > 0; n--) {
            int f = (int) s_rand (S_FIELDS);
            char key [32];
            snprintf (key, sizeof key, "fields.%s", s_fields [f]);
            if (!used [f])
                s_random_field (sets, key, s_fields [f], plan);
            used [f] = true;
            unknown |= it && !s_has_field (it->type, s_fields [f]);
        }
        if (it && !owns)
            plan->expect = KH_ENOTOWNER;
        else
        if (unknown)
            plan->expect = KH_EUNKNOWNFIELD;
    }
    if (type == 3 || s_rand (3) == 0)
        s_random_field (sets, "text", "text", plan);
}

/* Plans and builds one random message against the model: a retry of a stored
   message now and then, else an item or a message about one. */
static s_msg_t
s_random_msg (const s_model_t *m, s_plan_t *plan)
{
    memset (plan, 0, sizeof *plan);
    plan->of = plan->stage = plan->action = plan->expiry = -1;
    if (m->stored_count > 0 && s_rand (25) == 0) {
        const s_msg_t *old = &m->stored [s_rand ((uint32_t) m->stored_count)];
        s_msg_t msg = *old;
        msg.data = (char *) malloc (old->size);
        assert (msg.data);
        memcpy (msg.data, old->data, old->size);
        plan->retry = true;
        return msg;
    }
    s_sets_t sets = { .count = 0 };
    sets.sets [0] = NULL;
    if (s_rand (100) < 30)
        s_random_item (&sets, plan);
    else
        s_random_about (m, &sets, plan);
    const char *type = plan->kind < 4 ? s_item_types [plan->kind]
                                      : s_about_types [plan->kind - 4];
    return s_build (type, s_senders [plan->sender],
                    1600000000000ULL + s_rand (1000000000), sets.sets);
}

/* Appends msg to list (with its bytes if keep, else only its id). */
static void
s_remember (s_msg_t **list, int *count, const s_msg_t *msg, bool keep)
{
    *list = (s_msg_t *) realloc (*list, (size_t) (*count + 1) * sizeof **list);
    assert (*list);
    (*list) [*count] = *msg;
    if (!keep)
        (*list) [*count].data = NULL;
    (*count)++;
}

/* Changes the model as the store will by the planned message msg. */
static void
s_model_apply (s_model_t *m, const s_plan_t *plan, const s_msg_t *msg)
{
    if (plan->retry)
        return;
    if (plan->expect != KH_OK) {
        if (plan->expect != KH_EFORBIDDEN)
            s_remember (&m->ids, &m->id_count, msg, false);
        return;
    }
    if (plan->item) {
        m->items = (s_model_item_t *) realloc (m->items, (size_t) (m->item_count + 1)
                                               * sizeof *m->items);
        assert (m->items);
        s_model_item_t *it = &m->items [m->item_count++];
        memset (it, 0, sizeof *it);
        snprintf (it->text, sizeof it->text, "%s", msg->text);
        snprintf (it->type, sizeof it->type, "%s", s_item_types [plan->kind]);
        snprintf (it->owner, sizeof it->owner, "%s", s_senders [plan->sender]);
        it->expired = plan->expiry == 1;
        for (int i = 0; i < S_SENDERS; i++)
            it->parts [i] = -1;
        return;
    }
    s_remember (&m->ids, &m->id_count, msg, false);
    s_model_item_t *it = &m->items [plan->of];
    if (plan->stage >= 0)
        it->stage = plan->stage;
    if (plan->action >= 0)
        it->parts [plan->sender] = plan->action;
    if (plan->expiry >= 0)
        it->expired = plan->expiry == 1;
}

/* Runs one random batch through the store and the model: each message is planned
   against the model as the batch's messages before it leave it (the store judges
   them so), then the batch is committed and every answer compared with its plan. */
static void
s_random_batch (kh_store_t *store, s_model_t *m)
{
    size_t count = 1 + s_rand (40);
    s_msg_t *msgs = (s_msg_t *) calloc (count, sizeof *msgs);
    s_plan_t *plans = (s_plan_t *) calloc (count, sizeof *plans);
    kh_store_result_t *r = (kh_store_result_t *) calloc (count, sizeof *r);
    assert (msgs && plans && r);
    for (size_t i = 0; i < count; i++) {
        msgs [i] = s_random_msg (m, &plans [i]);
        s_model_apply (m, &plans [i], &msgs [i]);
    }
    int rc = s_commit (store, msgs, count, r);
    for (size_t i = 0; i < count; i++) {
        bool ok = rc == 0 && (plans [i].retry ? r [i].code == KH_OK && r [i].dup
                              : r [i].code == plans [i].expect && !r [i].dup);
        if (!ok && m->mismatches++ < 5)
            printf ("  message %zu of a batch: rc %d code %d dup %d (%s); the model said "
                    "%d%s\n", i, rc, r [i].code, r [i].dup, r [i].why.reason,
                    plans [i].expect, plans [i].retry ? ", a duplicate" : "");
        m->codes [r [i].code >= 0 && r [i].code < KH_ERR_COUNT_ ? r [i].code : 0]++;
        m->dups += r [i].dup;
        if (r [i].code == KH_OK && !r [i].dup) {
            m->types [plans [i].kind]++;
            s_remember (&m->stored, &m->stored_count, &msgs [i], true);
        }
        else
            s_free (&msgs [i]);
    }
    free (msgs);
    free (plans);
    free (r);
}

/* Orders "AGS:state" texts by their AGS, as SQLite orders the AGS alone. */
static int
s_compare (const void *a, const void *b)
{
    const char *x = (const char *) a, *y = (const char *) b;
    size_t lx = strcspn (x, ":"), ly = strcspn (y, ":");
    int rc = memcmp (x, y, lx < ly ? lx : ly);
    return rc ? rc : (int) lx - (int) ly;
}

/* True if the store at path holds what the model says of every item: its stage and
   each sender's participant state (in the order of their AGS). */
static bool
s_model_matches (const char *path, const s_model_t *m)
{
    static const char *const states [4] = { "interested", "joined", "declined", "left" };
    int wrong = 0;
    for (int i = 0; i < m->item_count && wrong < 5; i++) {
        const s_model_item_t *it = &m->items [i];
        char expect [512], sql [512], parts [S_SENDERS][32];
        int count = 0;
        for (int p = 0; p < S_SENDERS; p++)
            if (it->parts [p] >= 0)
                snprintf (parts [count++], sizeof parts [0], "%s:%s", s_senders [p],
                          states [it->parts [p]]);
        qsort (parts, (size_t) count, sizeof parts [0], s_compare);
        int used = snprintf (expect, sizeof expect, "%s", s_stages [it->stage]);
        for (int p = 0; p < count; p++)
            used += snprintf (expect + used, sizeof expect - (size_t) used, " %s", parts [p]);
        uint8_t id [KH_ID_SIZE];
        kh_id_parse (it->text, id);
        char hex [2 * KH_ID_SIZE + 1];
        for (int b = 0; b < KH_ID_SIZE; b++)
            snprintf (hex + 2 * b, 3, "%02X", id [b]);
        snprintf (sql, sizeof sql, "SELECT i.status || coalesce ((SELECT group_concat "
                  "(' ' || ags || ':' || state, '') FROM (SELECT * FROM participant WHERE "
                  "item = i.seq ORDER BY ags)), '') FROM item AS i JOIN message AS m ON "
                  "m.seq = i.seq WHERE m.id = x'%s'", hex);
        wrong += !s_says (path, sql, expect);
    }
    return wrong == 0;
}

/* Everything the state holds, as text: message.item, item, participant, named,
   derived and every instance of every term in the search index. */
static char *
s_dump (const char *path)
{
    static const char *const sql [] = {
        "SELECT seq, item FROM message ORDER BY seq",
        "SELECT * FROM item ORDER BY seq",
        "SELECT * FROM participant ORDER BY item, ags",
        "SELECT * FROM named ORDER BY item, field, ags",
        "SELECT * FROM derived",
        "SELECT term, doc, col, offset FROM temp.vocab ORDER BY term, doc, col, offset"
    };
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec (db, "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab "
                               "(main, search, instance)", NULL, NULL, NULL);
    for (size_t q = 0; rc == SQLITE_OK && q < sizeof sql / sizeof sql [0]; q++) {
        sqlite3_stmt *stmt = NULL;
        fprintf (out, "== %s\n", sql [q]);
        rc = sqlite3_prepare_v2 (db, sql [q], -1, &stmt, NULL);
        while (rc == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count (stmt); c++) {
                const unsigned char *blob = sqlite3_column_blob (stmt, c);
                int bytes = sqlite3_column_bytes (stmt, c);
                fputs (c ? "|" : "", out);
                if (sqlite3_column_type (stmt, c) == SQLITE_NULL)
                    fputs ("NULL", out);
                else
                if (sqlite3_column_type (stmt, c) == SQLITE_BLOB)
                    for (int b = 0; b < bytes; b++)
                        fprintf (out, "%02x", blob [b]);
                else
                    fputs ((const char *) sqlite3_column_text (stmt, c), out);
            }
            fputc ('\n', out);
        }
        sqlite3_finalize (stmt);
    }
    if (rc != SQLITE_OK)
        fprintf (out, "ERROR %s\n", sqlite3_errmsg (db));
    sqlite3_close (db);
    fclose (out);
    return text;
}

/* True if the dumps are the same; prints where they part if not. */
static bool
s_same (const char *what, const char *a, const char *b)
{
    if (a && b && strcmp (a, b) == 0)
        return true;
    size_t at = 0;
    while (a && b && a [at] && a [at] == b [at])
        at++;
    size_t line = at;
    while (line > 0 && a [line - 1] != '\n')
        line--;
    printf ("  %s: the dumps part at byte %zu:\n  live:    %.160s\n  rebuilt: %.160s\n",
            what, at, a ? a + line : "(none)", b ? b + line : "(none)");
    return false;
}

/* Runs the recorder program (KH_RECORDER, else kreishub-recorder beside this test)
   with --rebuild-state on path; returns its exit status (-1 if it did not run) and
   its output in out. */
static int
s_rebuild_program (const char *path, char *out, size_t cap)
{
    char program [PATH_MAX] = "", cmd [PATH_MAX + 256];
    if (getenv ("KH_RECORDER"))
        snprintf (program, sizeof program, "%s", getenv ("KH_RECORDER"));
    else {
        ssize_t size = readlink ("/proc/self/exe", program, sizeof program - 1);
        program [size > 0 ? size : 0] = 0;
        char *slash = strrchr (program, '/');
        snprintf (slash ? slash + 1 : program, sizeof program - (size_t) (slash ? slash + 1
                  - program : 0), "kreishub-recorder");
    }
    snprintf (cmd, sizeof cmd, "'%s' --rebuild-state --db '%s' 2>&1", program, path);
    FILE *pipe = popen (cmd, "r");
    size_t got = pipe ? fread (out, 1, cap - 1, pipe) : 0;
    out [got] = 0;
    int status = pipe ? pclose (pipe) : -1;
    return status != -1 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* A long randomised history of every type from several senders, refusals and
   retries mixed in: every answer is what the test's own model of the rules says,
   the state is the model's, and the state rebuilt from the log (by the store, by
   the program, and after a reopen) is the live one, table for table. */
static void
test_random (void)
{
    const char *seed = getenv ("KH_STATE_SEED");
    s_rng = seed ? strtoull (seed, NULL, 10) : (uint64_t) kh_now_ms ();
    s_rng = s_rng ? s_rng : 1;
    printf ("state_test: random history with KH_STATE_SEED=%llu\n", (unsigned long long) s_rng);
    char path [128];
    kh_store_t *store = s_open ("random", path, sizeof path);
    s_model_t m = { .items = NULL };
    while (kh_store_head (store) < 4000)
        s_random_batch (store, &m);
    KH_CHECK ("every answer of the random history is what the model of the rules says",
              m.mismatches == 0, "%d mismatches", m.mismatches);
    bool every = m.dups > 0 && m.codes [KH_EFORBIDDEN] > 0;
    for (int code = KH_ENOITEM; code <= KH_ECLOSED; code++)
        every &= m.codes [code] > 0;
    for (int t = 0; t < 8; t++)
        every &= m.types [t] > 0;
    KH_CHECK ("the history holds every type, every rule's refusal and duplicates",
              every && m.codes [KH_EUNKNOWNFIELD] > 0, "NO_ITEM %d NOT_OWNER %d TRANSITION "
              "%d CLOSED %d UNKNOWN_FIELD %d dups %d", m.codes [KH_ENOITEM],
              m.codes [KH_ENOTOWNER], m.codes [KH_ETRANSITION], m.codes [KH_ECLOSED],
              m.codes [KH_EUNKNOWNFIELD], m.dups);
    KH_CHECK ("the state holds what the model says of every item", s_model_matches (path, &m),
              "see above");
    long indexed = s_index_all (store);
    char *live = s_dump (path);
    kh_state_counts_t counts;
    kh_problem_t why = { 0 };
    int rc = kh_store_rebuild_state (store, &counts, &why);
    char *rebuilt = s_dump (path);
    KH_CHECK ("kh_store_rebuild_state reads every row, none breaking a rule",
              indexed > 0 && rc == 0 && counts.messages == kh_store_head (store)
              && counts.refused == 0 && counts.unreadable == 0
              && counts.items == (uint64_t) m.item_count
              && counts.indexed == counts.messages, "rc %d (%s) messages %llu items %llu",
              rc, why.reason, (unsigned long long) counts.messages,
              (unsigned long long) counts.items);
    KH_CHECK ("the state rebuilt from the log is the live one", s_same ("store", live, rebuilt),
              "see above");
    char out [1024];
    int status = s_rebuild_program (path, out, sizeof out);
    KH_CHECK ("the program will not rebuild a store its recorder holds",
              status == 1 && strstr (out, "stop that recorder first"), "status %d: %s",
              status, out);
    kh_store_destroy (&store);
    status = s_rebuild_program (path, out, sizeof out);
    char *program = s_dump (path);
    KH_CHECK ("kreishub-recorder --rebuild-state rebuilds it the same and says so",
              status == 0 && strstr (out, "rebuilt the state") && s_same ("program", live,
                                                                         program),
              "status %d: %s", status, out);
    store = s_open ("random", path, sizeof path);
    char *reopened = s_dump (path);
    KH_CHECK ("a reopened store keeps its state", s_same ("reopen", live, reopened),
              "see above");
    kh_store_destroy (&store);
    free (live);
    free (rebuilt);
    free (program);
    free (reopened);
    for (int i = 0; i < m.stored_count; i++)
        s_free (&m.stored [i]);
    free (m.stored);
    free (m.ids);
    free (m.items);
}

int
main (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/kh-state-test-XXXXXX");
    if (!mkdtemp (s_dir)) {
        printf ("FAIL fixture: cannot create a temporary directory\n");
        return 1;
    }
    test_berlin ();
    test_item ();
    test_no_item ();
    test_owner ();
    test_transition ();
    test_closed ();
    test_revise ();
    test_interest ();
    test_batch ();
    test_search ();
    test_migration ();
    test_random ();
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", s_dir);
    return kh_check_done ("state_test");
}
