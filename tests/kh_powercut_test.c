/*  kh_powercut_test.c - proves that what kh_store_append reported committed survives
    a power cut: hundreds of simulated cuts (kh_testvfs.h), each at a random write or
    sync, and after each the store reopens whole, with every committed message once
    and byte for byte, and PRAGMA integrity_check says ok.

    Like a broker, the test sends a batch that did not report committed again after
    the reboot: a message found stored then is a duplicate with its seq, one not
    found is stored anew. A control run with sync normal (the WAL is not synced at
    commit) must lose a committed message, which shows that the check can fail.

    Usage: powercut_test [CUTS [SECONDS]] - at most CUTS cuts (default 300) within
    SECONDS (default 20; the run stops early, the count it reached is printed).
    KH_POWERCUT_SEED repeats a run; every run prints its seed.
*/
#include <sqlite3.h>
#include <czmq.h>
#include "kh_codec.h"
#include "kh_store.h"
#include "kh_store_priv.h"
#include "kh_testvfs.h"

#include "kh_check.h"

#define S_BATCH_MAX     8           /* envelopes in one batch, at most */
#define S_TEXT_MAX      3000        /* bytes of a description, at most */
#define S_OPS_MAX       250         /* a cut comes within this many disk calls */
#define S_BATCHES_MAX   200         /* a cycle ends after this many batches anyway */
#define S_CONTROL_CUTS  40          /* cuts of the control run */
#define S_MIN_CUTS      100         /* a run that reaches fewer is a failure */
/* Under valgrind a cut costs some 30 times the CPU: there the run is for memcheck,
   and a few dozen cuts are enough. */
#if defined (__has_include)
#   if __has_include (<valgrind/valgrind.h>)
#       include <valgrind/valgrind.h>
#   endif
#endif
#if defined (RUNNING_ON_VALGRIND)
#   define S_MIN_CUTS_NOW  (RUNNING_ON_VALGRIND ? 20 : S_MIN_CUTS)
#else
#   define S_MIN_CUTS_NOW  S_MIN_CUTS
#endif
#define S_ROUND_CUTS    25          /* cuts on one store before the next starts afresh */

/* One message the test made: its envelope and what the store said of it. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    uint8_t *data;
    size_t   size;
    uint64_t seq;                   /* once known committed (or found stored); 0 before */
    bool     pending;               /* in a batch not reported committed: send again */
} s_msg_t;

/* The run: the store's path and everything it was given. A round is one store
   file, cut S_ROUND_CUTS times; the next one starts afresh, so that the checks of
   a long run stay as quick as its first. */
typedef struct {
    char       path [256];
    kh_sync_t  sync;
    s_msg_t   *msgs;                /* of this round */
    size_t     count;
    size_t     cap;
    zhashx_t  *by_id;               /* id as text -> index + 1 */
    unsigned   rng;                 /* the run's random state */
    uint64_t   lost;                /* committed messages not found after a cut */
    uint64_t   bad;                 /* other problems found (reported once each kind) */
    uint64_t   commits;             /* batches reported committed */
    uint64_t   made;                /* messages made */
    uint64_t   resent;              /* pending messages sent again after a reboot */
    int        cuts;
} s_run_t;

/* ------------------------------------------------------------------ helpers */

static unsigned
s_rand (s_run_t *run, unsigned below)
{
    run->rng = run->rng * 1103515245u + 12345u;
    return (run->rng >> 8) % below;
}

/* Makes a new message with a description of random length. Returns its index. */
static size_t
s_make (s_run_t *run)
{
    if (run->count == run->cap) {
        run->cap = run->cap ? 2 * run->cap : 1024;
        run->msgs = (s_msg_t *) realloc (run->msgs, run->cap * sizeof *run->msgs);
        assert (run->msgs);
    }
    s_msg_t *msg = &run->msgs [run->count];
    memset (msg, 0, sizeof *msg);
    kh_id_new (msg->id);
    char text [S_TEXT_MAX + 1];
    size_t length = s_rand (run, S_TEXT_MAX);
    memset (text, 'a' + (int) s_rand (run, 26), length);
    text [length] = 0;
    kh_builder_t *builder = kh_builder_new ("idea");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_problem_t why = { 0 };
    if (!builder || kh_builder_set (builder, "title", "power cut", &why)
    ||  (length && kh_builder_set (builder, "description", text, &why))
    ||  kh_builder_pack (builder, msg->id, s_rand (run, 2) ? "05162004" : "05162",
                         kh_now_ms (), &buf, &why)) {
        printf ("FAIL fixture: cannot build an envelope: %s\n", why.reason);
        exit (1);
    }
    kh_builder_destroy (&builder);
    msg->size = buf.size;
    msg->data = (uint8_t *) msgpack_sbuffer_release (&buf);
    char key [KH_ID_STR_SIZE];
    kh_id_format (msg->id, key);
    zhashx_insert (run->by_id, key, (void *) (uintptr_t) (run->count + 1));
    run->made++;
    return run->count++;
}

/* Reports a problem of the check once per kind and counts it. */
#define S_BAD(run, ...) do { \
    if ((run)->bad++ < 10) { printf ("  cut %d: ", (run)->cuts); printf (__VA_ARGS__); \
                            printf ("\n"); } \
} while (0)

/* ------------------------------------------------------------------ the check */

/* Compares one stored row with the messages: it must be one we made, byte for byte,
   at the seq we were told if we were told one (a pending one found stored takes
   the row's seq). Returns the message's index + 1, or 0 if the row is wrong. */
static size_t
s_check_row (s_run_t *run, uint64_t seq, const void *id, int id_size, const void *data,
             int size)
{
    char key [KH_ID_STR_SIZE] = "";
    if (id_size == KH_ID_SIZE)
        kh_id_format ((const uint8_t *) id, key);
    uintptr_t index = (uintptr_t) zhashx_lookup (run->by_id, key);
    s_msg_t *msg = index ? &run->msgs [index - 1] : NULL;
    if (!msg)
        S_BAD (run, "seq %llu holds an id the test never sent", (unsigned long long) seq);
    else
    if ((size_t) size != msg->size || memcmp (data, msg->data, msg->size) != 0)
        S_BAD (run, "seq %llu holds other bytes than were sent", (unsigned long long) seq);
    else
    if (msg->seq && msg->seq != seq)
        S_BAD (run, "seq %llu was committed as seq %llu", (unsigned long long) seq,
               (unsigned long long) msg->seq);
    else {
        msg->seq = seq;
        return index;
    }
    return 0;
}

/* Reads every row of the store through a connection of its own: seq gap-free from
   1, each row a message sent, byte for byte; then every message committed must
   have been seen. A committed message that is gone is counted lost. */
static void
s_check_rows (s_run_t *run, sqlite3 *db)
{
    bool *committed = (bool *) calloc (run->count + 1, sizeof *committed);
    bool *found = (bool *) calloc (run->count + 1, sizeof *found);
    for (size_t i = 0; i < run->count; i++)
        committed [i] = run->msgs [i].seq != 0;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2 (db, "SELECT seq, id, envelope FROM message ORDER BY seq",
                                 -1, &stmt, NULL);
    uint64_t expect = 1;
    while (rc == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW) {
        uint64_t seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
        if (seq != expect)
            S_BAD (run, "seq %llu follows seq %llu", (unsigned long long) seq,
                   (unsigned long long) expect - 1);
        expect = seq + 1;
        size_t index = s_check_row (run, seq, sqlite3_column_blob (stmt, 1),
                                    sqlite3_column_bytes (stmt, 1),
                                    sqlite3_column_blob (stmt, 2),
                                    sqlite3_column_bytes (stmt, 2));
        if (index && found [index - 1])
            S_BAD (run, "a message is stored twice, the second time as seq %llu",
                   (unsigned long long) seq);
        if (index)
            found [index - 1] = true;
    }
    if (rc != SQLITE_OK)
        S_BAD (run, "cannot read the rows: %s", sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    for (size_t i = 0; i < run->count; i++)
        if (committed [i] && !found [i]) {
            if (run->lost++ < 5)
                printf ("  cut %d: committed seq %llu is gone (the store ends at %llu)\n",
                        run->cuts, (unsigned long long) run->msgs [i].seq,
                        (unsigned long long) expect - 1);
            run->msgs [i].seq = 0;      /* counted once; the broker would send it again */
            run->msgs [i].pending = true;
        }
    free (committed);
    free (found);
}

/* Checks the store at run->path as it is after a cut, through a read-only
   connection of its own (the store is open meanwhile, as a recorder's would be). */
static void
s_check (s_run_t *run)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    const char *verdict = NULL;
    int rc = sqlite3_open_v2 (run->path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL);
    if (rc == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW)
        verdict = (const char *) sqlite3_column_text (stmt, 0);
    if (!verdict || strcmp (verdict, "ok") != 0)
        S_BAD (run, "integrity_check says '%s' (%s)", verdict ? verdict : "nothing",
               sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    s_check_rows (run, db);
    sqlite3_close (db);
}

/* ------------------------------------------------------------------ a cycle */

/* Appends one batch: the pending messages first (sent again), then new ones.
   Returns kh_store_append's result. */
static int
s_batch (s_run_t *run, kh_store_t *store)
{
    size_t index [S_BATCH_MAX * 4];
    size_t count = 0;
    for (size_t i = 0; i < run->count && count < S_BATCH_MAX * 3; i++)
        if (run->msgs [i].pending) {
            index [count++] = i;
            run->resent++;
        }
    for (size_t n = 1 + s_rand (run, S_BATCH_MAX); n > 0; n--)
        index [count++] = s_make (run);
    kh_store_item_t items [S_BATCH_MAX * 4];
    kh_store_result_t results [S_BATCH_MAX * 4];
    for (size_t i = 0; i < count; i++)
        items [i] = (kh_store_item_t) { run->msgs [index [i]].data,
                                        run->msgs [index [i]].size };
    int rc = kh_store_append (store, items, count, results);
    for (size_t i = 0; i < count; i++) {
        s_msg_t *msg = &run->msgs [index [i]];
        if (rc == 0 && results [i].code == KH_OK) {
            if (msg->seq && msg->seq != results [i].info.seq)
                S_BAD (run, "a message stored as seq %llu is answered with seq %llu",
                       (unsigned long long) msg->seq,
                       (unsigned long long) results [i].info.seq);
            msg->seq = results [i].info.seq;
            msg->pending = false;
        }
        else
        if (rc == 0)
            S_BAD (run, "a valid message failed: %s", results [i].why.reason);
        else
            msg->pending = msg->seq == 0;
    }
    run->commits += rc == 0;
    return rc;
}

/* One cycle: opens the store (recovering from the last cut), checks it, then appends
   batches until the power goes at a random disk call, and closes what is left. */
static void
s_cycle (s_run_t *run, double keep)
{
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (run->path, run->sync, &why);
    if (!store)
        S_BAD (run, "the store does not open after a cut: %s", why.reason);
    if (store) {
        s_check (run);
        /* Half the cycles reach the WAL's bound within the ops before the cut, so that
           the power also goes while the checkpointer copies the WAL beside the
           writer, and while a batch finishes or takes over its checkpoint. */
        if (s_rand (run, 2))
            kh__store_set_wal_bound (store, 8 + (int) s_rand (run, 40));
        kh_testvfs_cut_at (1 + s_rand (run, S_OPS_MAX), keep, run->rng);
        for (int i = 0; i < S_BATCHES_MAX && !kh_testvfs_crashed (); i++)
            s_batch (run, store);
    }
    kh_store_destroy (&store);
    kh_testvfs_reboot ();
    run->cuts++;
}

/* Forgets the round's messages. */
static void
s_round_end (s_run_t *run)
{
    for (size_t i = 0; i < run->count; i++)
        free (run->msgs [i].data);
    run->count = 0;
    zhashx_purge (run->by_id);
}

/* Runs up to cuts cycles within seconds with sync, a fresh store every
   S_ROUND_CUTS of them, each checked once more after its last cut. */
static void
s_run (s_run_t *run, const char *dir, const char *name, kh_sync_t sync, int cuts,
       int seconds, bool keep_some)
{
    run->sync = sync;
    run->by_id = zhashx_new ();
    int64_t end = zclock_mono () + 1000 * (int64_t) seconds;
    while (run->cuts < cuts && zclock_mono () < end) {
        snprintf (run->path, sizeof run->path, "%s/%s-%d.db", dir, name, run->cuts);
        for (int i = 0; i < S_ROUND_CUTS && run->cuts < cuts; i++)
            s_cycle (run, keep_some && s_rand (run, 2) ? 0.5 : 0.0);
        kh_problem_t why = { 0 };
        kh_store_t *store = kh_store_new (run->path, run->sync, &why);
        if (store)
            s_check (run);
        else
            S_BAD (run, "the store does not open after its last cut: %s", why.reason);
        kh_store_destroy (&store);
        s_round_end (run);
        for (const char *suffix = ""; suffix; suffix = *suffix ? NULL : "-wal") {
            char file [300];
            snprintf (file, sizeof file, "%s%s", run->path, suffix);
            remove (file);
        }
    }
}

static void
s_free (s_run_t *run)
{
    s_round_end (run);
    free (run->msgs);
    zhashx_destroy (&run->by_id);
}

int
main (int argc, char *argv [])
{
    int cuts = argc > 1 ? atoi (argv [1]) : 300;
    int seconds = argc > 2 ? atoi (argv [2]) : 20;
    unsigned seed = getenv ("KH_POWERCUT_SEED") ? (unsigned) atol (getenv ("KH_POWERCUT_SEED"))
                                                : (unsigned) kh_now_ms ();
    char dir [64];
    /* In memory where there is a tmpfs: the disk's own speed is not under test. */
    snprintf (dir, sizeof dir, "/dev/shm/kh-powercut-XXXXXX");
    if (!mkdtemp (dir))
        snprintf (dir, sizeof dir, "/tmp/kh-powercut-XXXXXX");
    kh_testvfs_config_t config = { .crash = true };
    if ((dir [1] == 't' && !mkdtemp (dir)) || kh_testvfs_install (&config)) {
        printf ("FAIL fixture: cannot create a directory or install the VFS\n");
        return 1;
    }
    printf ("powercut_test: seed %u (KH_POWERCUT_SEED repeats it)\n", seed);
    int64_t start = zclock_mono ();
    s_run_t run = { .rng = seed };
    s_run (&run, dir, "full", KH_SYNC_FULL, cuts, seconds, true);
    printf ("powercut_test: %d cuts in %lld ms: %llu batches committed, %llu messages, "
            "%llu sent again after a cut\n", run.cuts, (long long) (zclock_mono () - start),
            (unsigned long long) run.commits, (unsigned long long) run.made,
            (unsigned long long) run.resent);
    KH_CHECK ("every message reported committed survives every power cut, once and "
              "byte for byte, in a store that passes integrity_check",
              run.lost == 0 && run.bad == 0 && run.commits > 0,
              "%llu lost, %llu other problems", (unsigned long long) run.lost,
              (unsigned long long) run.bad);
    int least = cuts < S_MIN_CUTS_NOW ? cuts : S_MIN_CUTS_NOW;
    KH_CHECK ("the run reaches its cuts in time", run.cuts >= least, "%d cuts (%d at least)",
              run.cuts, least);
    s_free (&run);

    printf ("powercut_test: the control run, sync normal, must lose messages:\n");
    s_run_t control = { .rng = seed + 1 };
    s_run (&control, dir, "normal", KH_SYNC_NORMAL, S_CONTROL_CUTS, seconds, false);
    KH_CHECK ("the check finds committed messages lost when commits are not synced "
              "(sync normal): it can fail", control.lost > 0,
              "%d cuts, %llu batches committed, none lost", control.cuts,
              (unsigned long long) control.commits);
    s_free (&control);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", dir);
    return kh_check_done ("powercut_test");
}
