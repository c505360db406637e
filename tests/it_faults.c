/*  it_faults.c - the store's disk fails under the real hub: a recorder built with the
    test VFS (kh_testvfs.h, bin/faults) whose fsync or write fails from some call on,
    or whose disk is full for a while.

    I/O errors: a publisher keeps a window of publishes in flight while the recorder's
    fsync (or write) starts failing. The recorder must give no answer for the batch
    whose commit failed and stop (exit status 3, saying why); restarted on a sound
    disk, it answers the broker's resend from what the disk holds. Then every error
    the publisher got means "not stored", and every ACK "stored once, at its seq".

    A full disk, simulated by the VFS and, where the machine lets a test mount one, a
    real tmpfs of 1 MiB: a publish gets FULL (nothing stored), `kreishub publish` says
    that the store is full and exits 3, the recorder keeps serving, and once space
    returns the refused message is stored anew (not as a duplicate).
*/
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_codec.h"
#include "kh_harness.h"

#define S_MSGS          40      /* publishes of an I/O fault run */
#define S_WINDOW        8       /* in flight at once */
#define S_QUIET_MS      300     /* no answer for this long: the rest wait in the broker */
#define S_PHASE_MS      15000   /* a phase must end within this */
#define S_RESEND_MS     1000    /* an unanswered publish goes again after this */
#define S_WAIT_MS       5000    /* a single answer must come within this */
#define S_EXIT_IO       3       /* the recorder's exit status after a commit's I/O error */

/* One publish of the run and what the hub said of it. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    uint8_t *data;
    size_t   size;
    int64_t  sent_at;               /* zclock_mono of its last send; 0: never sent */
    uint64_t seq;                   /* from its first ACK */
    int      acks;
    int      fresh;                 /* ACKs that said dup: false */
    int      error;                 /* code of an ERROR it got, 0 if none */
} s_msg_t;

typedef struct {
    kh_client_t *client;
    s_msg_t      msgs [S_MSGS];
    int          count;
} s_pub_t;

/* ------------------------------------------------------------------ publisher */

/* Builds message i: an idea from 05162004 titled with text and i. */
static void
s_make (s_pub_t *pub, const char *text)
{
    s_msg_t *msg = &pub->msgs [pub->count];
    memset (msg, 0, sizeof *msg);
    kh_id_new (msg->id);
    char title [64];
    snprintf (title, sizeof title, "%s %d", text, pub->count);
    kh_builder_t *builder = kh_builder_new ("idea");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_problem_t why = { 0 };
    if (!builder || kh_builder_set (builder, "title", title, &why)
    ||  kh_builder_pack (builder, msg->id, "05162004", kh_now_ms (), &buf, &why)) {
        printf ("FAIL fixture: cannot build an envelope: %s\n", why.reason);
        exit (1);
    }
    kh_builder_destroy (&builder);
    msg->size = buf.size;
    msg->data = (uint8_t *) msgpack_sbuffer_release (&buf);
    pub->count++;
}

static void
s_send (s_pub_t *pub, int i)
{
    kh_client_send (pub->client, pub->msgs [i].data, pub->msgs [i].size);
    pub->msgs [i].sent_at = zclock_mono ();
}

static bool
s_answered (const s_msg_t *msg)
{
    return msg->acks > 0 || msg->error != 0;
}

/* Waits up to ms for one reply and records it. Returns true if one came. */
static bool
s_take (s_pub_t *pub, int ms)
{
    kh_reply_t reply;
    if (kh_client_recv_reply (pub->client, ms, &reply))
        return false;
    bool ack = reply.kind == KH_REPLY_ACK;
    const uint8_t *id = ack ? reply.id : reply.error.has_id ? reply.error.id : NULL;
    for (int i = 0; id && i < pub->count; i++) {
        s_msg_t *msg = &pub->msgs [i];
        if (memcmp (msg->id, id, KH_ID_SIZE) != 0)
            continue;
        if (ack && msg->acks++ == 0)
            msg->seq = reply.seq;
        msg->fresh += ack && !reply.dup;
        if (!ack)
            msg->error = reply.error.code;
    }
    return true;
}

/* How many of the messages sent wait for an answer. */
static int
s_in_flight (s_pub_t *pub)
{
    int count = 0;
    for (int i = 0; i < pub->count; i++)
        count += pub->msgs [i].sent_at && !s_answered (&pub->msgs [i]);
    return count;
}

static void
s_pub_free (s_pub_t *pub)
{
    for (int i = 0; i < pub->count; i++)
        free (pub->msgs [i].data);
    kh_client_destroy (&pub->client);
}

/* ------------------------------------------------------------------ the store */

/* Counts the rows of the store at path holding id; *seq is the last one's seq. */
static int
s_rows (const char *path, const uint8_t *id, uint64_t *seq)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int count = -1;
    *seq = 0;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, "SELECT seq FROM message WHERE id = ?1", -1, &stmt,
                            NULL) == SQLITE_OK) {
        sqlite3_bind_blob (stmt, 1, id, KH_ID_SIZE, SQLITE_STATIC);
        for (count = 0; sqlite3_step (stmt) == SQLITE_ROW; count++)
            *seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
    }
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return count;
}

/* Runs sql returning one number on the store at path; -1 on error. */
static long long
s_number (const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long value = -1;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return value;
}

/* Compares what the publisher was told with the store at path. */
static void
s_check_store (const char *what, s_pub_t *pub, const char *path)
{
    int refused_stored = 0, acked_wrong = 0, unanswered = 0;
    for (int i = 0; i < pub->count; i++) {
        s_msg_t *msg = &pub->msgs [i];
        uint64_t seq;
        int rows = s_rows (path, msg->id, &seq);
        unanswered += msg->sent_at && !s_answered (msg);
        if (msg->error && !msg->acks && rows != 0 && refused_stored++ < 3)
            printf ("  %s: message %d got %s and is stored as seq %llu\n", what, i,
                    kh_errname (msg->error), (unsigned long long) seq);
        if (msg->acks && (rows != 1 || seq != msg->seq || msg->fresh > 1)
        &&  acked_wrong++ < 3)
            printf ("  %s: message %d acknowledged as seq %llu (%d fresh): %d rows, seq "
                    "%llu\n", what, i, (unsigned long long) msg->seq, msg->fresh, rows,
                    (unsigned long long) seq);
    }
    char name [160];
    snprintf (name, sizeof name, "%s: no publish that got an error is in the store", what);
    KH_CHECK (name, refused_stored == 0, "%d are", refused_stored);
    snprintf (name, sizeof name, "%s: every acknowledged publish is stored once, at the "
              "seq of its ACK", what);
    KH_CHECK (name, acked_wrong == 0, "%d are not", acked_wrong);
    snprintf (name, sizeof name, "%s: every publish was answered", what);
    KH_CHECK (name, unanswered == 0, "%d were not", unanswered);
}

/* ------------------------------------------------------------------ I/O errors */

/* Sends the run's publishes, S_WINDOW at a time, until all are answered or, once
   the recorder has ended, nothing came for S_QUIET_MS. */
static void
s_publish_until_failure (kh_hub_t *hub, s_pub_t *pub)
{
    kh_proc_t *recorder = kh_launch_recorder_proc (hub->launch);
    int next = 0;
    int64_t end = zclock_mono () + S_PHASE_MS, quiet_since = zclock_mono ();
    while (zclock_mono () < end) {
        while (next < pub->count && s_in_flight (pub) < S_WINDOW)
            s_send (pub, next++);
        if (s_take (pub, 20))
            quiet_since = zclock_mono ();
        bool done = next == pub->count && s_in_flight (pub) == 0;
        if (done || (!kh_proc_running (recorder)
                     && zclock_mono () - quiet_since > S_QUIET_MS))
            break;
    }
}

/* After the restart: sends what was never sent, takes answers (the broker's resend
   brings those that waited) and sends again what waited S_RESEND_MS, until every
   publish is answered. */
static void
s_publish_rest (s_pub_t *pub)
{
    for (int i = 0; i < pub->count; i++)
        if (!pub->msgs [i].sent_at)
            s_send (pub, i);
    int64_t end = zclock_mono () + S_PHASE_MS;
    while (s_in_flight (pub) > 0 && zclock_mono () < end) {
        s_take (pub, 50);
        for (int i = 0; i < pub->count; i++) {
            s_msg_t *msg = &pub->msgs [i];
            if (msg->sent_at && !s_answered (msg)
            &&  zclock_mono () - msg->sent_at > S_RESEND_MS)
                s_send (pub, i);
        }
    }
}

/* One I/O fault (KH_TESTVFS value fault) under a window of publishes. */
static void
s_io_fault (const char *what, const char *fault)
{
    kh_hub_t hub;
    setenv ("KH_TESTVFS", fault, 1);
    int rc = kh_hub_start (&hub, NULL, NULL);
    unsetenv ("KH_TESTVFS");            /* only the first recorder gets the bad disk */
    s_pub_t pub = { .client = rc == 0 ? kh_hub_client (&hub, "05162004") : NULL };
    KH_CHECK ("a hub with a failing disk starts", rc == 0 && pub.client, "rc %d", rc);
    if (rc || !pub.client) {
        kh_hub_stop (&hub, true);
        return;
    }
    while (pub.count < S_MSGS)
        s_make (&pub, what);
    s_publish_until_failure (&hub, &pub);
    int before = 0, acked_before = 0;
    for (int i = 0; i < pub.count; i++) {
        before += pub.msgs [i].sent_at && !s_answered (&pub.msgs [i]);
        acked_before += pub.msgs [i].acks > 0;
    }
    /* As an operator would: kill -9 what still runs, start it again on a sound disk. */
    int status = kh_proc_reap (kh_launch_recorder_proc (hub.launch), 2000);
    hub.recorder_pid = 0;
    char name [160], log [16384], path [400];
    snprintf (path, sizeof path, "%s/kreishub-recorder.err", hub.dir);
    kh_hub_slurp (path, log, sizeof log);
    snprintf (name, sizeof name, "%s: the recorder stops by itself with status %d, "
              "saying why", what, S_EXIT_IO);
    KH_CHECK (name, status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == S_EXIT_IO
              && strstr (log, "I/O error") && strstr (log, "unknown"),
              "status 0x%x; its log:\n%s", status, log);
    snprintf (name, sizeof name, "%s: the batch that failed got no answer, the ones "
              "before were acknowledged", what);
    KH_CHECK (name, before > 0 && acked_before > 0, "%d unanswered, %d acknowledged",
              before, acked_before);
    rc = kh_hub_start_recorder (&hub) || kh_hub_await_link (&hub, S_WAIT_MS);
    KH_CHECK ("the recorder starts again on a sound disk", rc == 0, "rc %d", rc);
    s_publish_rest (&pub);
    printf ("it_faults: %s: %d unanswered when the recorder stopped, %d acknowledged "
            "before\n", what, before, acked_before);
    rc = kh_hub_stop (&hub, true);
    KH_CHECK ("the hub stops cleanly", rc == 0, "rc %d", rc);
    snprintf (path, sizeof path, "%s/kreishub.db", hub.dir);
    s_check_store (what, &pub, path);
    s_pub_free (&pub);
    char cmd [400];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", hub.dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", hub.dir);
}

/* ------------------------------------------------------------------ full disk */

/* Publishes message i and waits for its answer, which it records. Returns the
   error code, 0 for an ACK, -1 for no answer. */
static int
s_publish1 (s_pub_t *pub, int i)
{
    s_send (pub, i);
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (!s_answered (&pub->msgs [i]) && zclock_mono () < end)
        s_take (pub, 50);
    return !s_answered (&pub->msgs [i]) ? -1 : pub->msgs [i].acks ? 0 : pub->msgs [i].error;
}

/* A disk that fills up: the recorder's KH_TESTVFS (a flag file that makes the VFS
   say "full") or a real filesystem of its own (a small tmpfs) for the store. */
typedef struct {
    const char *what;
    char        fault [256];        /* KH_TESTVFS for the recorder, or "" */
    char        db [160];           /* the store, or "": in the hub's directory */
    char        fill [192];         /* the flag file, or the file that fills the tmpfs */
    bool        real;
} s_disk_t;

/* Makes the disk full: the flag file appears, or a file takes every free byte. */
static void
s_fill (const s_disk_t *disk)
{
    FILE *file = fopen (disk->fill, "w");
    static char block [65536];
    while (disk->real && file && fwrite (block, 1, sizeof block, file) == sizeof block
           && fflush (file) == 0)
        ;
    if (file)
        fclose (file);
}

/* A publish gets FULL on a full disk and the CLI says so; once space returns, the
   refused message is stored anew. */
static void
s_full (const s_disk_t *disk)
{
    kh_hub_t hub;
    const char *recorder_args [] = { "--db", disk->db, NULL };
    if (disk->fault [0])
        setenv ("KH_TESTVFS", disk->fault, 1);
    int rc = kh_hub_start (&hub, NULL, disk->db [0] ? recorder_args : NULL);
    unsetenv ("KH_TESTVFS");
    s_pub_t pub = { .client = rc == 0 ? kh_hub_client (&hub, "05162004") : NULL };
    char name [160];
    snprintf (name, sizeof name, "%s: a hub whose disk fills up starts", disk->what);
    KH_CHECK (name, rc == 0 && pub.client, "rc %d", rc);
    if (rc || !pub.client) {
        kh_hub_stop (&hub, true);
        return;
    }
    for (int i = 0; i < 5; i++)
        s_make (&pub, "before the disk is full");
    rc = 0;
    for (int i = 0; i < 3; i++)
        rc |= s_publish1 (&pub, i);
    s_fill (disk);
    int refused = s_publish1 (&pub, 3);
    snprintf (name, sizeof name, "%s: a publish to a full disk gets FULL", disk->what);
    KH_CHECK (name, rc == 0 && refused == KH_EFULL, "before %d, then %d (%s)", rc, refused,
              refused > 0 ? kh_errname (refused) : "");
    char out [4096] = "";
    int status = kh_hub_run (&hub, out, sizeof out, "kreishub publish idea --title "
                             "'Volle Platte' --from 05162004 2>&1");
    snprintf (name, sizeof name, "%s: kreishub publish says the store is full and nothing "
              "was stored, status 3", disk->what);
    KH_CHECK (name, status == 3 && strstr (out, "the store is full; nothing was stored"),
              "status %d: %s", status, out);
    uint64_t head = 0;
    bool linked = false;
    rc = kh_client_ping (pub.client, S_WAIT_MS, &head, &linked);
    snprintf (name, sizeof name, "%s: the recorder serves on while the disk is full",
              disk->what);
    KH_CHECK (name, rc == 0 && linked, "rc %d, linked %d", rc, linked);
    remove (disk->fill);
    pub.msgs [3].error = 0;             /* sent again below, the same bytes */
    rc = s_publish1 (&pub, 4) | s_publish1 (&pub, 3);
    snprintf (name, sizeof name, "%s: once space returns, publishing works and the "
              "refused message is stored anew, not as a duplicate", disk->what);
    KH_CHECK (name, rc == 0 && pub.msgs [3].fresh == 1 && pub.msgs [4].fresh == 1,
              "rc %d, fresh %d", rc, pub.msgs [3].fresh);
    rc = kh_hub_stop (&hub, true);
    KH_CHECK ("the hub stops cleanly", rc == 0, "rc %d", rc);
    char path [400];
    snprintf (path, sizeof path, "%s", disk->db);
    if (!disk->db [0])
        snprintf (path, sizeof path, "%s/kreishub.db", hub.dir);
    long long rows = s_number (path, "SELECT count (*) FROM message");
    long long cli = s_number (path, "SELECT count (*) FROM message "
                                    "WHERE title = 'Volle Platte'");
    snprintf (name, sizeof name, "%s: nothing the full disk refused was stored", disk->what);
    KH_CHECK (name, rows == 5 && cli == 0, "%lld rows, %lld from the CLI", rows, cli);
    s_check_store (disk->what, &pub, path);
    s_pub_free (&pub);
    char cmd [400];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", hub.dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", hub.dir);
}

/* The full disk as the test VFS says it. */
static void
test_full_simulated (void)
{
    char dir [64];
    snprintf (dir, sizeof dir, "/tmp/kh-full-XXXXXX");
    if (!mkdtemp (dir)) {
        printf ("FAIL fixture: no temporary directory\n");
        return;
    }
    s_disk_t disk = { .what = "a simulated full disk" };
    snprintf (disk.fill, sizeof disk.fill, "%s/the-disk-is-full", dir);
    snprintf (disk.fault, sizeof disk.fault, "full=%s", disk.fill);
    s_full (&disk);
    rmdir (dir);
}

/* Writes text to the file at path. Returns 0 or -1. */
static int
s_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    int rc = file && fputs (text, file) >= 0 ? 0 : -1;
    if (file && fclose (file))
        rc = -1;
    return rc;
}

/* Mounts a tmpfs of 1 MiB on dir, seen by this process and its children only: in a
   mount namespace of our own (and a user namespace, unless we are root). Returns 0,
   or -1 if this machine does not let us. */
static int
s_private_tmpfs (const char *dir)
{
    uid_t uid = geteuid ();
    gid_t gid = getegid ();
    if (unshare (uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS))
        return -1;
    char map [64];
    snprintf (map, sizeof map, "0 %u 1", (unsigned) uid);
    if (uid != 0 && (s_write_file ("/proc/self/uid_map", map)
                 ||  s_write_file ("/proc/self/setgroups", "deny")))
        return -1;
    snprintf (map, sizeof map, "0 %u 1", (unsigned) gid);
    if (uid != 0 && s_write_file ("/proc/self/gid_map", map))
        return -1;
    if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
        return -1;
    return mount ("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700");
}

/* The full disk for real: the store on a tmpfs of its own, filled by a file. Runs
   in a child process (the namespace stays there); skipped where no tmpfs can be
   mounted, since the simulated case holds the same checks. */
static void
test_full_tmpfs (void)
{
    char dir [64];
    snprintf (dir, sizeof dir, "/tmp/kh-tmpfs-XXXXXX");
    if (!mkdtemp (dir)) {
        printf ("FAIL fixture: no temporary directory\n");
        return;
    }
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        if (s_private_tmpfs (dir)) {
            printf ("it_faults: no tmpfs can be mounted here (%s); the full disk is "
                    "simulated only\n", strerror (errno));
            _exit (77);
        }
        s_disk_t disk = { .what = "a full tmpfs", .real = true };
        snprintf (disk.db, sizeof disk.db, "%s/kreishub.db", dir);
        snprintf (disk.fill, sizeof disk.fill, "%s/filler", dir);
        s_full (&disk);
        printf ("it_faults: a full tmpfs: %d checks, %d failed\n", s_checks, s_failed);
        fflush (stdout);
        _exit (s_failed ? 1 : 0);
    }
    int status = -1;
    waitpid (pid, &status, 0);
    KH_CHECK ("a full filesystem (tmpfs) gets the same answers as the simulated one",
              WIFEXITED (status) && (WEXITSTATUS (status) == 0 || WEXITSTATUS (status) == 77),
              "status 0x%x", status);
    rmdir (dir);
}

int
main (void)
{
    /* The hub of this test runs the recorder built with the test VFS. */
    char bin [512];
    const char *dir = getenv ("KH_BIN_DIR");
    snprintf (bin, sizeof bin, "%s/faults", dir ? dir : ".");
    setenv ("KH_BIN_DIR", bin, 1);
    zsys_init ();
    s_io_fault ("fsync fails", "sync=12");
    s_io_fault ("write fails", "write=60");
    test_full_simulated ();
    test_full_tmpfs ();
    return kh_check_done ("it_faults");
}
