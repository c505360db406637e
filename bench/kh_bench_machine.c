/*  kh_bench_machine.c - what a reader needs to tell the machine and its limit: CPU
    model and count, kernel, load, library versions, the data directory's filesystem
    and the latency of fdatasync on its disk. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"
#ifdef KH_HAVE_MOSQUITTO
#include <mosquitto.h>
#endif
#ifdef KH_HAVE_NATS
#include <nats/nats.h>
#endif

#define S_SYNC_BYTES    4096    /* appended before each fdatasync */
#define S_PAGE          4096    /* a WAL frame's page */
#define S_COMMIT_PAGES  7       /* pages a one-message commit writes into the WAL */
#define S_COMMIT_FILE   (4 << 20)   /* the overwritten file: a WAL of 1,000 frames */

/* Copies the value of the first "key : value" line of path into out ("?" if none). */
static void
s_proc_field (const char *path, const char *key, char *out, size_t cap)
{
    snprintf (out, cap, "?");
    FILE *file = fopen (path, "r");
    char line [512];
    size_t len = strlen (key);
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, key, len) == 0) {
            const char *value = strchr (line, ':');
            if (value) {
                value += strspn (value + 1, " \t") + 1;
                snprintf (out, cap, "%.*s", (int) strcspn (value, "\n"), value);
            }
            break;
        }
    if (file)
        fclose (file);
}

void
kh_bench_print_load (FILE *out, const char *when)
{
    char load [64] = "?";
    FILE *file = fopen ("/proc/loadavg", "r");
    if (file && fgets (load, sizeof load, file))
        load [strcspn (load, "\n")] = 0;
    if (file)
        fclose (file);
    fprintf (out, "load average %s: %s\n", when, load);
}

void
kh_bench_print_machine (FILE *out)
{
    char model [256], mhz [64];
    s_proc_field ("/proc/cpuinfo", "model name", model, sizeof model);
    s_proc_field ("/proc/cpuinfo", "cpu MHz", mhz, sizeof mhz);
    struct utsname uts;
    if (uname (&uts) != 0)
        memset (&uts, 0, sizeof uts);
    int zmq_major, zmq_minor, zmq_patch;
    zmq_version (&zmq_major, &zmq_minor, &zmq_patch);
    fprintf (out, "machine: %ld cpus, %s (%s MHz), %s %s %s\n",
             sysconf (_SC_NPROCESSORS_ONLN), model, mhz, uts.sysname, uts.release,
             uts.machine);
    kh_bench_print_load (out, "at the start");
    fprintf (out, "libraries: libzmq %d.%d.%d, czmq %d.%d.%d", zmq_major, zmq_minor,
             zmq_patch, CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH);
#ifdef KH_HAVE_MOSQUITTO
    int m_major, m_minor, m_patch;
    mosquitto_lib_version (&m_major, &m_minor, &m_patch);
    fprintf (out, ", libmosquitto %d.%d.%d", m_major, m_minor, m_patch);
#endif
#ifdef KH_HAVE_NATS
    fprintf (out, ", libnats %s", nats_GetVersion ());
#endif
    fprintf (out, "\n");
}

/* Names the filesystem type of a statfs f_type. */
static const char *
s_fs_name (long type)
{
    switch ((unsigned long) type) {
        case 0xEF53:        return "ext2/3/4";
        case 0x01021994:    return "tmpfs";
        case 0x58465342:    return "xfs";
        case 0x9123683E:    return "btrfs";
        case 0x794C7630:    return "overlayfs";
        case 0x65735546:    return "fuse";
        case 0x6969:        return "nfs";
        case 0x2FC12FC1:    return "zfs";
        case 0xF2F52010:    return "f2fs";
        default:            return "unknown";
    }
}

/* Prints the mount dir lies on as findmnt sees it (source, type, options), or the
   statfs type if findmnt cannot tell. */
static void
s_print_mount (FILE *out, const char *dir)
{
    struct statfs fs;
    const char *type = statfs (dir, &fs) == 0 ? s_fs_name ((long) fs.f_type) : "?";
    char cmd [512], line [512] = "";
    snprintf (cmd, sizeof cmd, "findmnt -n -o TARGET,SOURCE,FSTYPE,OPTIONS -T '%s' 2>/dev/null",
              dir);
    FILE *pipe = popen (cmd, "r");
    if (pipe && fgets (line, sizeof line, pipe))
        line [strcspn (line, "\n")] = 0;
    if (pipe)
        pclose (pipe);
    fprintf (out, "data directory %s: %s (statfs: %s)\n", dir,
             line [0] ? line : "findmnt cannot tell", type);
}

/* Appends count blocks of S_SYNC_BYTES to fd, each followed by fdatasync, and puts
   each one's ns into took. Returns 0, or -1 if a write or sync failed. */
static int
s_sync_times (int fd, uint64_t *took, int count)
{
    char block [S_SYNC_BYTES];
    memset (block, 'k', sizeof block);
    for (int i = 0; i < count; i++) {
        uint64_t t0 = kh_bench_now_ns ();
        if (write (fd, block, sizeof block) != (ssize_t) sizeof block || fdatasync (fd))
            return -1;
        took [i] = kh_bench_now_ns () - t0;
    }
    return 0;
}

int
kh_bench_print_disk (FILE *out, const char *dir, int count)
{
    s_print_mount (out, dir);
    char path [256];
    snprintf (path, sizeof path, "%s/kh-bench-sync-XXXXXX", dir);
    int fd = mkstemp (path);
    uint64_t *took = (uint64_t *) calloc ((size_t) count, sizeof *took);
    int rc = fd >= 0 && took ? s_sync_times (fd, took, count) : -1;
    if (fd >= 0) {
        close (fd);
        unlink (path);
    }
    if (rc == 0) {
        double p50, p99;
        kh_bench_p50_p99 (took, (size_t) count, &p50, &p99);
        char a [32], b [32], c [32];
        fprintf (out, "fdatasync there (%d appends of %d bytes): p50 %s, p99 %s, max %s\n",
                 count, S_SYNC_BYTES, kh_bench_fmt_us (a, sizeof a, p50),
                 kh_bench_fmt_us (b, sizeof b, p99),
                 kh_bench_fmt_us (c, sizeof c, (double) took [count - 1] / 1000.0));
    }
    else
        fprintf (out, "fdatasync there: cannot measure (%s)\n", strerror (errno));
    free (took);
    fflush (out);
    return rc;
}

/* Overwrites count commits' worth of pages (S_COMMIT_PAGES, one after the other
   through the file, as the recorder's WAL is written once it has restarted), each
   followed by fdatasync, into fd (S_COMMIT_FILE bytes, written and synced already);
   puts each one's ns into took. With rate 0 they go back to back, each timed from its
   write; else commit i is due at start + i / rate s, waits until then, and is timed
   from when it was due, so that a sync that stalls counts also in the ones it held
   up, as in a recorder. Returns 0, or -1 if a write or sync failed. */
static int
s_commit_times (int fd, uint64_t *took, int count, uint32_t rate)
{
    static char pages [S_COMMIT_PAGES * S_PAGE];
    memset (pages, 'w', sizeof pages);
    off_t at = 0;
    uint64_t start = kh_bench_now_ns ();
    for (int i = 0; i < count; i++) {
        uint64_t now = kh_bench_now_ns ();
        uint64_t due = rate ? start + (uint64_t) i * 1000000000u / rate : now;
        if (now < due) {
            struct timespec ts = { (time_t) ((due - now) / 1000000000u),
                                   (long) ((due - now) % 1000000000u) };
            nanosleep (&ts, NULL);      /* a signal ends it early: then it is early */
        }
        if (at + (off_t) sizeof pages > S_COMMIT_FILE)
            at = 0;
        if (pwrite (fd, pages, sizeof pages, at) != (ssize_t) sizeof pages || fdatasync (fd))
            return -1;
        took [i] = kh_bench_now_ns () - due;
        at += (off_t) sizeof pages;
    }
    return 0;
}

/* Makes a temporary file of S_COMMIT_FILE bytes in dir, written and synced, its name
   unlinked at once. Returns its descriptor, or -1. */
static int
s_commit_file (const char *dir)
{
    char path [256];
    snprintf (path, sizeof path, "%s/kh-bench-wal-XXXXXX", dir);
    int fd = mkstemp (path);
    if (fd < 0)
        return -1;
    unlink (path);
    static char block [S_PAGE * 16];
    memset (block, 0, sizeof block);
    for (off_t at = 0; at < S_COMMIT_FILE; at += (off_t) sizeof block)
        if (pwrite (fd, block, sizeof block, at) != (ssize_t) sizeof block) {
            close (fd);
            return -1;
        }
    if (fsync (fd)) {
        close (fd);
        return -1;
    }
    return fd;
}

/* Measures count commit-shaped fdatasyncs in a temporary file in dir, back to back
   (rate 0) or rate a second (s_commit_times), and prints them as
   "  HEAD: p50 .., p99 .., max ..; N of COUNT over 2 ms". Returns 0, or -1 if the
   file could not be written. */
static int
s_print_syncs (FILE *out, const char *dir, int count, uint32_t rate, const char *head)
{
    int fd = s_commit_file (dir);
    uint64_t *took = (uint64_t *) calloc ((size_t) (count > 0 ? count : 1), sizeof *took);
    int rc = fd < 0 || !took || count <= 0 ? -1
           : s_commit_times (fd, took, count, rate);
    if (fd >= 0)
        close (fd);
    if (rc == 0) {
        double p50, p99;
        kh_bench_p50_p99 (took, (size_t) count, &p50, &p99);
        int over = 0;
        for (int i = 0; i < count; i++)
            over += took [i] > 2000000;
        char a [32], b [32], c [32];
        fprintf (out, "  %s: p50 %s, p99 %s, max %s; %d of %d over 2 ms\n", head,
                 kh_bench_fmt_us (a, sizeof a, p50), kh_bench_fmt_us (b, sizeof b, p99),
                 kh_bench_fmt_us (c, sizeof c, (double) took [count - 1] / 1000.0), over,
                 count);
    }
    else
        fprintf (out, "  %s: cannot measure fdatasync (%s)\n", head, strerror (errno));
    free (took);
    fflush (out);
    return rc;
}

int
kh_bench_print_commit_sync (FILE *out, const char *dir, int count, const char *when)
{
    char head [160];
    snprintf (head, sizeof head, "the disk %s: fdatasync of a commit (%d overwrites of "
              "%d pages)", when, count, S_COMMIT_PAGES);
    return s_print_syncs (out, dir, count, 0, head);
}

int
kh_bench_print_paced_sync (FILE *out, const char *dir, uint32_t rate, uint32_t seconds)
{
    char head [160];
    snprintf (head, sizeof head, "the disk alone at W3's pace: a commit's fdatasync (%d "
              "pages) due %u times a second for %u s, from due to synced", S_COMMIT_PAGES,
              rate, seconds);
    return s_print_syncs (out, dir, (int) (rate * seconds), rate, head);
}
