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
#include "kh_harness.h"
#include "kh_tracker.h"

#define S_MSGS          40      /* publishes of an I/O fault run */
#define S_WINDOW        8       /* in flight at once */
#define S_QUIET_MS      300     /* no answer for this long: the rest wait in the broker */
#define S_PHASE_MS      15000   /* a phase must end within this */
#define S_RESEND_MS     1000    /* an unanswered publish goes again after this */
#define S_WAIT_MS       5000    /* a single answer must come within this */
#define S_EXIT_IO       3       /* the recorder's exit status after a commit's I/O error */

/* Compares what the tracker was told with the store at path. */
static void
s_check_store (const char *what, kh_tracker_t *pub, const char *path)
{
    kh_tracker_report_t report = kh_tracker_check (pub, what, path);
    char name [160];
    snprintf (name, sizeof name, "%s: no publish that got an error is in the store", what);
    KH_CHECK (name, report.rows >= 0 && report.refused_stored == 0, "%d are (%d rows)",
              report.refused_stored, report.rows);
    snprintf (name, sizeof name, "%s: every acknowledged publish is stored once, at the "
              "seq of its ACK", what);
    KH_CHECK (name, report.acked_wrong == 0, "%d are not", report.acked_wrong);
    snprintf (name, sizeof name, "%s: every publish was answered", what);
    KH_CHECK (name, report.unanswered == 0, "%d were not", report.unanswered);
}

/* ------------------------------------------------------------------ I/O errors */

/* Sends the run's publishes, S_WINDOW at a time, until all are answered or, once
   the recorder has ended, nothing came for S_QUIET_MS. */
static void
s_publish_until_failure (kh_hub_t *hub, kh_tracker_t *pub)
{
    kh_proc_t *recorder = kh_launch_recorder_proc (hub->launch);
    int next = 0;
    int64_t end = zclock_mono () + S_PHASE_MS, quiet_since = zclock_mono ();
    while (zclock_mono () < end) {
        while (next < pub->count && kh_tracker_in_flight (pub) < S_WINDOW)
            kh_tracker_send (pub, next++);
        if (kh_tracker_take (pub, 20))
            quiet_since = zclock_mono ();
        bool done = next == pub->count && kh_tracker_in_flight (pub) == 0;
        if (done || (!kh_proc_running (recorder)
                     && zclock_mono () - quiet_since > S_QUIET_MS))
            break;
    }
}

/* After the restart: sends what was never sent, takes answers (the broker's resend
   brings those that waited) and sends again what waited S_RESEND_MS, until every
   publish is answered. */
static void
s_publish_rest (kh_tracker_t *pub)
{
    for (int i = 0; i < pub->count; i++)
        if (!pub->msgs [i].sent_at)
            kh_tracker_send (pub, i);
    int64_t end = zclock_mono () + S_PHASE_MS;
    while (kh_tracker_in_flight (pub) > 0 && zclock_mono () < end) {
        kh_tracker_take (pub, 50);
        for (int i = 0; i < pub->count; i++)
            if (pub->msgs [i].sent_at && !kh_tracker_answered (pub, i)
            &&  zclock_mono () - pub->msgs [i].sent_at > S_RESEND_MS)
                kh_tracker_send (pub, i);
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
    kh_tracker_t *pub = rc == 0 ? kh_tracker_new (&hub) : NULL;
    KH_CHECK ("a hub with a failing disk starts", rc == 0 && pub, "rc %d", rc);
    if (rc || !pub) {
        kh_hub_stop (&hub, true);
        return;
    }
    while (pub->count < S_MSGS)
        kh_tracker_make (pub, what);
    s_publish_until_failure (&hub, pub);
    int before = kh_tracker_in_flight (pub), acked_before = 0;
    for (int i = 0; i < pub->count; i++)
        acked_before += pub->msgs [i].acks > 0;
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
    s_publish_rest (pub);
    printf ("it_faults: %s: %d unanswered when the recorder stopped, %d acknowledged "
            "before\n", what, before, acked_before);
    rc = kh_hub_stop (&hub, true);
    KH_CHECK ("the hub stops cleanly", rc == 0, "rc %d", rc);
    snprintf (path, sizeof path, "%s/kreishub.db", hub.dir);
    s_check_store (what, pub, path);
    kh_tracker_done (&pub, hub.dir, s_failed > 0);
}

/* ------------------------------------------------------------------ full disk */

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
    kh_tracker_t *pub = rc == 0 ? kh_tracker_new (&hub) : NULL;
    char name [160];
    snprintf (name, sizeof name, "%s: a hub whose disk fills up starts", disk->what);
    KH_CHECK (name, rc == 0 && pub, "rc %d", rc);
    if (rc || !pub) {
        kh_hub_stop (&hub, true);
        return;
    }
    for (int i = 0; i < 5; i++)
        kh_tracker_make (pub, "before the disk is full");
    rc = 0;
    for (int i = 0; i < 3; i++)
        rc |= kh_tracker_publish (pub, i, S_WAIT_MS);
    s_fill (disk);
    int refused = kh_tracker_publish (pub, 3, S_WAIT_MS);
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
    rc = kh_client_ping (pub->client, S_WAIT_MS, &head, &linked);
    snprintf (name, sizeof name, "%s: the recorder serves on while the disk is full",
              disk->what);
    KH_CHECK (name, rc == 0 && linked, "rc %d, linked %d", rc, linked);
    remove (disk->fill);
    pub->msgs [3].error = 0;            /* sent again below, the same bytes */
    rc = kh_tracker_publish (pub, 4, S_WAIT_MS) | kh_tracker_publish (pub, 3, S_WAIT_MS);
    snprintf (name, sizeof name, "%s: once space returns, publishing works and the "
              "refused message is stored anew, not as a duplicate", disk->what);
    KH_CHECK (name, rc == 0 && pub->msgs [3].fresh == 1 && pub->msgs [4].fresh == 1,
              "rc %d, fresh %d", rc, pub->msgs [3].fresh);
    rc = kh_hub_stop (&hub, true);
    KH_CHECK ("the hub stops cleanly", rc == 0, "rc %d", rc);
    char path [400];
    snprintf (path, sizeof path, "%s", disk->db);
    if (!disk->db [0])
        snprintf (path, sizeof path, "%s/kreishub.db", hub.dir);
    long long rows = kh_tracker_number (path, "SELECT count (*) FROM message");
    long long cli = kh_tracker_number (path, "SELECT count (*) FROM message "
                                             "WHERE title = 'Volle Platte'");
    snprintf (name, sizeof name, "%s: nothing the full disk refused was stored", disk->what);
    KH_CHECK (name, rows == 5 && cli == 0, "%lld rows, %lld from the CLI", rows, cli);
    s_check_store (disk->what, pub, path);
    kh_tracker_done (&pub, hub.dir, s_failed > 0);
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
    /* A new store takes 67 writes to start (version 3's tables; 30 before). */
    s_io_fault ("write fails", "write=105");
    test_full_simulated ();
    test_full_tmpfs ();
    return kh_check_done ("it_faults");
}
