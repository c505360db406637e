/*  kh_testvfs.h - an SQLite VFS for tests that lies about the disk (test code only).

    It wraps the default VFS ("unix") and, as configured, fails every xSync or xWrite
    from the Nth call on (EIO, as a dying disk does), says the disk is full
    (SQLITE_FULL) for a write that would grow a file while a flag file exists, or
    simulates power cuts: it remembers, per file, what was written since that file's
    last xSync, and a cut throws those writes away (each one, or a random choice of
    them) and makes every later call fail until the test "reboots". In crash mode a
    sync is only remembered, never passed on, so that hundreds of cuts take seconds.

    Crash mode models the file contents only: a created file stays and a deleted one
    stays deleted (SQLite does not rely on more for its WAL), and the -shm file (a
    mapping, never written through xWrite) counts as lost at every cut, which SQLite
    rebuilds from the WAL on the next open. Temporary files are not tracked.

    The VFS is registered as the default, so that every sqlite3_open after
    kh_testvfs_install goes through it. Its state is global and guarded by a mutex: a
    recorder's query thread may read beside its writer.
*/
#ifndef KH_TESTVFS_H_INCLUDED
#define KH_TESTVFS_H_INCLUDED

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the VFS does besides passing calls on; all 0: nothing. */
typedef struct {
    long long   fail_sync;              /* xSync number N (from 1) and every later one
                                           fails with SQLITE_IOERR_FSYNC; 0: never */
    long long   fail_write;             /* the same for xWrite, SQLITE_IOERR_WRITE */
    const char *full_flag;              /* while this path exists, a write that would
                                           grow a file fails with SQLITE_FULL */
    bool        crash;                  /* simulate power cuts (kh_testvfs_cut_at) */
} kh_testvfs_config_t;

/* Registers the VFS as SQLite's default (once) and sets its configuration, with the
   call counters at 0. Returns 0, or -1 if the default VFS cannot be wrapped. */
int kh_testvfs_install (const kh_testvfs_config_t *config);

/* Installs the VFS as KH_TESTVFS in the environment says: comma-separated
   "sync=N", "write=N", "full=PATH". Unset or empty: nothing is installed. Returns 0,
   or -1 after printing why to stderr (a value it cannot read). */
int kh_testvfs_install_env (void);

/* Crash mode: the power goes at the op-th call from now that writes, truncates or
   syncs (op >= 1); that call and every later one fails until kh_testvfs_reboot.
   keep is the chance (0..1) that each write not yet synced survives the cut anyway;
   0 throws every one away. seed makes the choice repeatable. */
void kh_testvfs_cut_at (long long op, double keep, unsigned seed);

/* True once the power went (until kh_testvfs_reboot). */
bool kh_testvfs_crashed (void);

/* After a cut, once every connection is closed: the machine is back; calls work
   again and nothing written before counts as unsynced. */
void kh_testvfs_reboot (void);

/* How many calls that write, truncate or sync the VFS has seen since installed. */
long long kh_testvfs_ops (void);

#ifdef __cplusplus
}
#endif
#endif
