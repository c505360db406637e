/*  kh_fuzz_recorder.c - libFuzzer target: the recorder's STORE path, from the frames
    the broker hands it to the rows in its store.

    One real recorder (kh_recorder_actor, sync off, on a store in a temporary
    directory) serves the inputs; the harness plays the broker on a ROUTER. The input
    is framed (kh_fuzz.h): each frame is an envelope, sent as [STORE][token][envelope]
    all at once, so that several may share one batch. Besides the sanitizers' findings
    it fails the input if a STORE gets no answer within S_BOUND_MS, or an answer out of
    order, or one that does not decode; if an envelope the hub refuses is STORED, or
    one it accepts FAILED with anything but VALUE (its id stored with other bytes) or
    a rule of the items' state (NO_ITEM .. CLOSED, UNKNOWN_FIELD); if
    a new message's seq is not the head + 1, a duplicate's is above the head, or the
    recorder's head differs from what its answers said. Every S_ROTATE inputs, and at
    exit, the recorder stops and its store must pass integrity_check and hold the rows
    1..head exactly; then its files are removed and a new store begins (the store
    stays small and fast).
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include <sqlite3.h>
#include "kh_recorder.h"
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_parts.h"
#include "kh_fuzz.h"

#define S_TARGET    "recorder"
#define S_BOUND_MS  10000               /* every STORE is answered within this */
#define S_ROTATE    20000               /* inputs per store */
#define S_ENDPOINT  "inproc://kh-fuzz-link"

/* The harness's broker side, the recorder, and what its answers said so far. */
typedef struct {
    zsock_t  *router;                   /* plays the broker */
    zactor_t *recorder;
    zframe_t *peer;                     /* the recorder's routing id */
    char      dir [64];                 /* the temporary directory of the stores */
    char      db [128];                 /* the store now */
    unsigned  stores;                   /* stores made so far */
    uint64_t  head;                     /* the head the answers add up to */
    uint64_t  token;                    /* the last token sent */
    uint64_t  inputs;                   /* inputs on this store */
    uint64_t  all, stored, dups, failed;    /* inputs in all, answers of each kind */
    int64_t   slowest;                  /* ms from an input's STOREs to its answers */
} s_rig_t;

static s_rig_t s_rig;

/* Receives the next message from the recorder into msg, failing after S_BOUND_MS.
   HELLOs are checked and skipped, and so is a BYE. A HELLO comes between batches,
   after every answer of the batch before it: its head is what the answers said. */
static void
s_next (kh_parts_t *msg)
{
    void *handle = zsock_resolve (s_rig.router);
    int64_t end = zclock_mono () + S_BOUND_MS;
    while (true) {
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        int64_t left = end - zclock_mono ();
        if (left <= 0 || kh_fuzz_poll (&item, 1, (long) left) <= 0)
            kh_fuzz_fail (S_TARGET, "no answer within %d ms", S_BOUND_MS);
        if (kh_parts_recv (msg, handle, ZMQ_DONTWAIT) <= 0)
            continue;
        uint64_t head;
        zmq_msg_t *body = kh_parts_at (msg, 2);
        if (kh_parts_is (msg, 1, KH_REC_HELLO)) {
            if (msg->count != 3
            ||  kh_hello_decode (zmq_msg_data (body), zmq_msg_size (body), &head, NULL))
                kh_fuzz_fail (S_TARGET, "a HELLO that does not decode");
            if (head != s_rig.head)
                kh_fuzz_fail (S_TARGET, "HELLO says head %llu, the answers %llu",
                              (unsigned long long) head, (unsigned long long) s_rig.head);
        }
        else
        if (!kh_parts_is (msg, 1, KH_REC_BYE))
            return;
        kh_parts_close (msg);
    }
}

/* The recorder's head, asked on its pipe; fails the input if the recorder says it
   is not running. */
static uint64_t
s_head (void)
{
    char *reason = NULL;
    uint64_t head = 0;
    zsock_send (s_rig.recorder, "s", "STATUS");
    int rc;
    while ((rc = zsock_recv (s_rig.recorder, "s8", &reason, &head)) == -1
           && zmq_errno () == EINTR)
        ;
    if (rc == -1)
        kh_fuzz_fail (S_TARGET, "the recorder does not answer STATUS");
    if (reason && *reason)
        kh_fuzz_fail (S_TARGET, "the recorder stopped: %s", reason);
    zstr_free (&reason);
    return head;
}

/* Starts a recorder on a new store and waits for its first HELLO; what the one
   before said last (a HELLO, BYE) is passed over: it comes from another peer. */
static void
s_start (void)
{
    snprintf (s_rig.db, sizeof s_rig.db, "%s/store-%u.db", s_rig.dir, s_rig.stores++);
    kh_recorder_config_t config = { .broker = S_ENDPOINT, .db = s_rig.db,
                                    .sync = KH_SYNC_OFF };
    kh_fuzz_alarm_block ();             /* the recorder's threads never see SIGALRM */
    s_rig.recorder = zactor_new (kh_recorder_actor, &config);
    kh_fuzz_alarm_main ();
    if (s_rig.recorder)
        zsock_set_rcvtimeo (s_rig.recorder, S_BOUND_MS);
    if (!s_rig.recorder || s_head () != 0)
        kh_fuzz_fail (S_TARGET, "cannot start a recorder on %s", s_rig.db);
    zframe_t *old = s_rig.peer;
    s_rig.head = 0;
    s_rig.inputs = 0;
    void *handle = zsock_resolve (s_rig.router);
    while (!s_rig.peer || zframe_eq (s_rig.peer, old)) {
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        kh_parts_t hello;
        if (kh_fuzz_poll (&item, 1, S_BOUND_MS) <= 0 || kh_parts_recv (&hello, handle, 0) < 2)
            kh_fuzz_fail (S_TARGET, "the recorder did not say HELLO");
        if (s_rig.peer != old)
            zframe_destroy (&s_rig.peer);
        if (kh_parts_is (&hello, 1, KH_REC_HELLO))
            s_rig.peer = zframe_new (zmq_msg_data (kh_parts_at (&hello, 0)),
                                     zmq_msg_size (kh_parts_at (&hello, 0)));
        kh_parts_close (&hello);
    }
    zframe_destroy (&old);
}

/* Runs one query of text on db and returns its first column as an integer, or
   fails; for text answers, *is_ok says whether it was "ok". */
static int64_t
s_sql (sqlite3 *db, const char *sql, bool *is_ok)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK
    ||  sqlite3_step (stmt) != SQLITE_ROW)
        kh_fuzz_fail (S_TARGET, "%s: %s", sql, sqlite3_errmsg (db));
    const unsigned char *text = sqlite3_column_text (stmt, 0);
    if (is_ok)
        *is_ok = text && strcmp ((const char *) text, "ok") == 0;
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

/* Removes every file in the temporary directory: the store's, and whatever the
   store keeps beside it (WAL, shared memory, its lock). */
static void
s_empty_dir (void)
{
    DIR *dir = opendir (s_rig.dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        char path [sizeof s_rig.dir + sizeof entry->d_name + 1];
        snprintf (path, sizeof path, "%s/%s", s_rig.dir, entry->d_name);
        if (entry->d_name [0] != '.')
            unlink (path);
    }
    if (dir)
        closedir (dir);
}

/* Stops the recorder and checks its store: integrity_check says ok and the table
   holds seq 1..head, once each. Then removes the store's files. */
static void
s_stop_and_check (void)
{
    zactor_destroy (&s_rig.recorder);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (s_rig.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        kh_fuzz_fail (S_TARGET, "cannot open %s", s_rig.db);
    bool ok = false;
    s_sql (db, "PRAGMA integrity_check", &ok);
    if (!ok)
        kh_fuzz_fail (S_TARGET, "integrity_check fails on %s", s_rig.db);
    int64_t rows = s_sql (db, "SELECT count(*) FROM message", NULL);
    int64_t low = s_sql (db, "SELECT coalesce(min(seq), 0) FROM message", NULL);
    int64_t high = s_sql (db, "SELECT coalesce(max(seq), 0) FROM message", NULL);
    sqlite3_close (db);
    if (rows != (int64_t) s_rig.head || high != (int64_t) s_rig.head || (rows && low != 1))
        kh_fuzz_fail (S_TARGET, "the store holds %lld rows, seq %lld..%lld; answers said %llu",
                      (long long) rows, (long long) low, (long long) high,
                      (unsigned long long) s_rig.head);
    s_empty_dir ();
}

/* Sends [STORE][token][envelope] to the recorder. */
static void
s_store (const kh_fuzz_frame_t *envelope, uint64_t token)
{
    uint8_t wire [8];
    for (int i = 0; i < 8; i++)
        wire [i] = (uint8_t) (token >> (8 * (7 - i)));
    void *handle = zsock_resolve (s_rig.router);
    if (kh_fuzz_send (handle, zframe_data (s_rig.peer), zframe_size (s_rig.peer),
                      ZMQ_SNDMORE) == -1
    ||  kh_fuzz_send (handle, KH_REC_STORE, strlen (KH_REC_STORE), ZMQ_SNDMORE) == -1
    ||  kh_fuzz_send (handle, wire, sizeof wire, ZMQ_SNDMORE) == -1
    ||  kh_fuzz_send (handle, envelope->data, envelope->size, 0) == -1)
        kh_fuzz_fail (S_TARGET, "cannot send a STORE: %s", zmq_strerror (zmq_errno ()));
}

/* Checks the answer to the STORE of envelope with token. */
static void
s_check_answer (kh_parts_t *msg, const kh_fuzz_frame_t *envelope, uint64_t token)
{
    zmq_msg_t *tok = kh_parts_at (msg, 2), *body = kh_parts_at (msg, 3);
    uint64_t got = 0;
    for (size_t i = 0; tok && zmq_msg_size (tok) == 8 && i < 8; i++)
        got = got << 8 | ((const uint8_t *) zmq_msg_data (tok)) [i];
    if (msg->count != 4 || got != token)
        kh_fuzz_fail (S_TARGET, "an answer of %d frames to token %llu, not %llu",
                      msg->count, (unsigned long long) got, (unsigned long long) token);
    kh_problem_t why = { 0 };
    bool valid = kh_envelope_check (envelope->data, envelope->size, NULL, NULL, &why) == 0;
    kh_seqinfo_t info;
    bool dup = false;
    kh_error_reply_t err;
    if (kh_parts_is (msg, 1, KH_REC_STORED)) {
        if (kh_stored_decode (zmq_msg_data (body), zmq_msg_size (body), &info, &dup, &why))
            kh_fuzz_fail (S_TARGET, "a STORED that does not decode: %s", why.reason);
        if (!valid)
            kh_fuzz_fail (S_TARGET, "STORED an envelope the hub refuses: %s", why.reason);
        if (dup ? info.seq == 0 || info.seq > s_rig.head : info.seq != s_rig.head + 1)
            kh_fuzz_fail (S_TARGET, "STORED with seq %llu (dup %d) at head %llu",
                          (unsigned long long) info.seq, dup, (unsigned long long) s_rig.head);
        s_rig.head += !dup;
        dup ? s_rig.dups++ : s_rig.stored++;
    }
    else
    if (kh_parts_is (msg, 1, KH_REC_FAILED)) {
        if (kh_error_decode (zmq_msg_data (body), zmq_msg_size (body), &err, &why))
            kh_fuzz_fail (S_TARGET, "a FAILED that does not decode: %s", why.reason);
        /* A valid message about an item may break a rule of the items' state too. */
        bool state = err.code == KH_EUNKNOWNFIELD || (err.code >= KH_ENOITEM
                                                      && err.code <= KH_ECLOSED);
        if (err.code == KH_OK || (valid && err.code != KH_EVALUE && !state))
            kh_fuzz_fail (S_TARGET, "a valid envelope FAILED with %s: %s", err.name,
                          err.reason);
        s_rig.failed++;
    }
    else
        kh_fuzz_fail (S_TARGET, "an answer that is neither STORED nor FAILED");
}

/* At exit: the last store is checked too, then everything is closed. */
static void
s_finish (void)
{
    if (s_rig.recorder)
        s_stop_and_check ();
    fprintf (stderr, "kh-fuzz: recorder: %llu inputs; STORED %llu new, %llu dup; FAILED %llu; "
             "%u stores checked; slowest answers %lld ms\n", (unsigned long long) s_rig.all,
             (unsigned long long) s_rig.stored, (unsigned long long) s_rig.dups,
             (unsigned long long) s_rig.failed, s_rig.stores, (long long) s_rig.slowest);
    zframe_destroy (&s_rig.peer);
    zsock_destroy (&s_rig.router);
    rmdir (s_rig.dir);
}

int LLVMFuzzerInitialize (int *argc, char ***argv);

/* Binds the harness's ROUTER, makes the temporary directory and starts the first
   recorder; libFuzzer calls it once, before the first input. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    kh_fuzz_alarm_block ();             /* libzmq's threads, started by zsys_init */
    zsys_handler_set (NULL);
    zsys_init ();
    kh_fuzz_alarm_main ();
    const char *tmp = getenv ("TMPDIR");
    snprintf (s_rig.dir, sizeof s_rig.dir, "%s/kh-fuzz-recorder-XXXXXX",
              tmp && *tmp && strlen (tmp) < 32 ? tmp : "/tmp");
    s_rig.router = zsock_new_router (S_ENDPOINT);
    if (!mkdtemp (s_rig.dir) || !s_rig.router)
        kh_fuzz_fail (S_TARGET, "cannot make %s or bind %s", s_rig.dir, S_ENDPOINT);
    atexit (s_finish);
    s_start ();
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Sends each frame of the input as a STORE, checks every answer and the head. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_rig.all++;
    if (s_rig.inputs++ == S_ROTATE) {
        s_stop_and_check ();
        s_start ();
    }
    kh_fuzz_frame_t frames [KH_FUZZ_FRAMES_MAX];
    size_t count = kh_fuzz_frames (data, size, frames, KH_FUZZ_FRAMES_MAX);
    uint64_t first = s_rig.token + 1;
    int64_t start = zclock_mono ();
    for (size_t i = 0; i < count; i++)
        s_store (&frames [i], ++s_rig.token);
    for (size_t i = 0; i < count; i++) {
        kh_parts_t msg;
        s_next (&msg);
        s_check_answer (&msg, &frames [i], first + i);
        kh_parts_close (&msg);
    }
    if (zclock_mono () - start > s_rig.slowest)
        s_rig.slowest = zclock_mono () - start;
    uint64_t head = s_head ();
    if (head != s_rig.head)
        kh_fuzz_fail (S_TARGET, "the recorder's head is %llu, its answers say %llu",
                      (unsigned long long) head, (unsigned long long) s_rig.head);
    return 0;
}
