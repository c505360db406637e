/*  kh_testvfs.c - an SQLite VFS that fails syncs and writes, fills up, and loses power. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "kh_testvfs.h"

#define S_NAME  "kh-testvfs"

/* One write or truncate of a file since its last sync, with what it replaced, so
   that a power cut can put the file back and then, if it survives, do it again. */
typedef struct {
    bool           truncate;            /* false: a write */
    sqlite3_int64  offset;              /* write: where; truncate: the new size */
    sqlite3_int64  size_before;         /* the file's size before the change */
    unsigned char *old;                 /* bytes the change replaced or cut off */
    int            old_size;
    unsigned char *data;                /* write: the bytes written */
    int            size;
} s_change_t;

/* A file as the disk holds it (crash mode): the changes not yet synced, oldest
   first. Every handle SQLite opens on the same path shares one. */
typedef struct s_disk_t {
    struct s_disk_t *next;
    char            *path;
    bool             deleted;           /* gone: its changes no longer matter */
    int              opens;             /* handles on it */
    s_change_t      *changes;
    size_t           count;
    size_t           cap;
} s_disk_t;

/* Our file handle; the default VFS's handle follows it in the same allocation. */
typedef struct {
    sqlite3_file  base;                 /* pMethods: s_methods */
    sqlite3_file *real;
    s_disk_t     *disk;                 /* crash mode and a named file, else NULL */
} s_file_t;

/* The whole state, guarded by lock; every call into the VFS takes it. */
static struct {
    pthread_mutex_t     lock;
    sqlite3_vfs         vfs;
    sqlite3_vfs        *real;           /* the default VFS we wrap */
    bool                registered;
    kh_testvfs_config_t config;
    char                full_flag [4096];
    long long           syncs;          /* xSync calls */
    long long           writes;         /* xWrite calls */
    long long           ops;            /* calls that write, truncate or sync */
    long long           cut_at;         /* ops at which the power goes; 0: never */
    double              keep;           /* chance an unsynced change survives a cut */
    unsigned            seed;
    bool                crashed;
    s_disk_t           *disks;
} s_vfs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---------------------------------------------------------------- the disk */

static void
s_changes_clear (s_disk_t *disk)
{
    for (size_t i = 0; i < disk->count; i++) {
        free (disk->changes [i].old);
        free (disk->changes [i].data);
    }
    disk->count = 0;
}

/* Returns the live disk record of path, creating it; NULL if memory runs out. */
static s_disk_t *
s_disk (const char *path)
{
    for (s_disk_t *disk = s_vfs.disks; disk; disk = disk->next)
        if (!disk->deleted && strcmp (disk->path, path) == 0)
            return disk;
    s_disk_t *disk = (s_disk_t *) calloc (1, sizeof *disk);
    if (disk && !(disk->path = strdup (path))) {
        free (disk);
        disk = NULL;
    }
    if (disk) {
        disk->next = s_vfs.disks;
        s_vfs.disks = disk;
    }
    return disk;
}

/* Appends change to disk (taking its buffers). Returns 0, or -1 if memory runs out
   (the buffers are freed then). */
static int
s_disk_add (s_disk_t *disk, s_change_t *change)
{
    if (disk->count == disk->cap) {
        size_t cap = disk->cap ? 2 * disk->cap : 16;
        s_change_t *changes = (s_change_t *) realloc (disk->changes, cap * sizeof *changes);
        if (!changes) {
            free (change->old);
            free (change->data);
            return -1;
        }
        disk->changes = changes;
        disk->cap = cap;
    }
    disk->changes [disk->count++] = *change;
    return 0;
}

/* Reads what file holds in [offset, offset + size) that exists (below its size) into
   a new buffer *old of *old_size bytes. Returns 0, or an SQLite error code. */
static int
s_read_old (sqlite3_file *file, sqlite3_int64 offset, sqlite3_int64 size,
            sqlite3_int64 file_size, unsigned char **old, int *old_size)
{
    *old = NULL;
    *old_size = 0;
    sqlite3_int64 end = offset + size < file_size ? offset + size : file_size;
    if (end <= offset)
        return SQLITE_OK;
    *old_size = (int) (end - offset);
    *old = (unsigned char *) malloc ((size_t) *old_size);
    if (!*old)
        return SQLITE_NOMEM;
    return file->pMethods->xRead (file, *old, *old_size, offset);
}

/* Puts the file at path back as it was at its last sync, then does again each change
   that survives the cut (each with chance s_vfs.keep). Returns 0, or -1 if the file
   cannot be written (printed). */
static int
s_disk_cut (s_disk_t *disk)
{
    if (disk->count == 0)
        return 0;
    int fd = open (disk->path, O_RDWR | O_CLOEXEC);
    int rc = fd == -1 ? -1 : 0;
    for (size_t i = disk->count; rc == 0 && i-- > 0; ) {
        const s_change_t *change = &disk->changes [i];
        if (!change->truncate && change->old_size
        &&  pwrite (fd, change->old, (size_t) change->old_size, change->offset)
            != change->old_size)
            rc = -1;
        if (rc == 0 && ftruncate (fd, change->size_before))
            rc = -1;
        if (rc == 0 && change->truncate && change->old_size
        &&  pwrite (fd, change->old, (size_t) change->old_size, change->offset)
            != change->old_size)
            rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < disk->count; i++) {
        const s_change_t *change = &disk->changes [i];
        if ((double) rand_r (&s_vfs.seed) >= s_vfs.keep * ((double) RAND_MAX + 1))
            continue;                   /* this one never reached the platter */
        if (change->truncate ? ftruncate (fd, change->offset) != 0
                             : pwrite (fd, change->data, (size_t) change->size,
                                       change->offset) != change->size)
            rc = -1;
    }
    if (rc)
        fprintf (stderr, "testvfs: cannot cut the power of %s: %s\n", disk->path,
                 strerror (errno));
    if (fd != -1)
        close (fd);
    s_changes_clear (disk);
    return rc;
}

/* The power goes: every file loses what was not synced; every call fails from now. */
static void
s_cut (void)
{
    for (s_disk_t *disk = s_vfs.disks; disk; disk = disk->next)
        if (!disk->deleted)
            s_disk_cut (disk);
    s_vfs.crashed = true;
}

/* Counts a call that changes the disk; the power goes if this is the one. Returns
   true if the call must fail (the power is gone). */
static bool
s_op (void)
{
    s_vfs.ops++;
    if (s_vfs.config.crash && s_vfs.cut_at && s_vfs.ops >= s_vfs.cut_at && !s_vfs.crashed)
        s_cut ();
    return s_vfs.crashed;
}

/* ---------------------------------------------------------------- file methods */

static int
s_close (sqlite3_file *file)
{
    s_file_t *self = (s_file_t *) file;
    int rc = self->real->pMethods->xClose (self->real);
    pthread_mutex_lock (&s_vfs.lock);
    if (self->disk)
        self->disk->opens--;
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

static int
s_read (sqlite3_file *file, void *buf, int amount, sqlite3_int64 offset)
{
    s_file_t *self = (s_file_t *) file;
    pthread_mutex_lock (&s_vfs.lock);
    int rc = s_vfs.crashed ? SQLITE_IOERR_READ
                           : self->real->pMethods->xRead (self->real, buf, amount, offset);
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

/* True if a write of amount at offset would grow the file while the disk is full. */
static bool
s_full (s_file_t *self, int amount, sqlite3_int64 offset)
{
    sqlite3_int64 size = 0;
    return s_vfs.full_flag [0] && access (s_vfs.full_flag, F_OK) == 0
        && self->real->pMethods->xFileSize (self->real, &size) == SQLITE_OK
        && offset + amount > size;
}

/* Writes and remembers the change as not yet synced (crash mode). */
static int
s_write_tracked (s_file_t *self, const void *buf, int amount, sqlite3_int64 offset)
{
    sqlite3_file *real = self->real;
    s_change_t change = { .offset = offset, .size = amount };
    int rc = real->pMethods->xFileSize (real, &change.size_before);
    if (rc == SQLITE_OK)
        rc = s_read_old (real, offset, amount, change.size_before, &change.old,
                         &change.old_size);
    if (rc == SQLITE_OK && !(change.data = (unsigned char *) malloc ((size_t) amount)))
        rc = SQLITE_NOMEM;
    if (rc == SQLITE_OK) {
        memcpy (change.data, buf, (size_t) amount);
        rc = real->pMethods->xWrite (real, buf, amount, offset);
    }
    if (rc == SQLITE_OK)
        return s_disk_add (self->disk, &change) ? SQLITE_NOMEM : SQLITE_OK;
    free (change.old);
    free (change.data);
    return rc;
}

static int
s_write (sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset)
{
    s_file_t *self = (s_file_t *) file;
    pthread_mutex_lock (&s_vfs.lock);
    s_vfs.writes++;
    int rc;
    if (s_op ())
        rc = SQLITE_IOERR_WRITE;
    else
    if (s_vfs.config.fail_write && s_vfs.writes >= s_vfs.config.fail_write)
        rc = SQLITE_IOERR_WRITE;
    else
    if (s_full (self, amount, offset))
        rc = SQLITE_FULL;
    else
    if (self->disk)
        rc = s_write_tracked (self, buf, amount, offset);
    else
        rc = self->real->pMethods->xWrite (self->real, buf, amount, offset);
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

/* Truncates and remembers the change as not yet synced (crash mode). */
static int
s_truncate_tracked (s_file_t *self, sqlite3_int64 size)
{
    sqlite3_file *real = self->real;
    s_change_t change = { .truncate = true, .offset = size };
    int rc = real->pMethods->xFileSize (real, &change.size_before);
    if (rc == SQLITE_OK)
        rc = s_read_old (real, size, change.size_before - size, change.size_before,
                         &change.old, &change.old_size);
    if (rc == SQLITE_OK)
        rc = real->pMethods->xTruncate (real, size);
    if (rc == SQLITE_OK)
        return s_disk_add (self->disk, &change) ? SQLITE_NOMEM : SQLITE_OK;
    free (change.old);
    return rc;
}

static int
s_truncate (sqlite3_file *file, sqlite3_int64 size)
{
    s_file_t *self = (s_file_t *) file;
    pthread_mutex_lock (&s_vfs.lock);
    int rc = s_op () ? SQLITE_IOERR_TRUNCATE
           : self->disk ? s_truncate_tracked (self, size)
           : self->real->pMethods->xTruncate (self->real, size);
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

static int
s_sync (sqlite3_file *file, int flags)
{
    s_file_t *self = (s_file_t *) file;
    pthread_mutex_lock (&s_vfs.lock);
    s_vfs.syncs++;
    int rc = SQLITE_OK;
    if (s_op ())
        rc = SQLITE_IOERR_FSYNC;
    else
    if (s_vfs.config.fail_sync && s_vfs.syncs >= s_vfs.config.fail_sync) {
        fprintf (stderr, "testvfs: xSync #%lld fails\n", s_vfs.syncs);
        rc = SQLITE_IOERR_FSYNC;
    }
    else
    if (self->disk)
        s_changes_clear (self->disk);   /* durable now; the real file needs no sync */
    else
    if (!s_vfs.config.crash)
        rc = self->real->pMethods->xSync (self->real, flags);
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

static int
s_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xFileSize (self->real, size);
}

static int
s_lock (sqlite3_file *file, int level)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xLock (self->real, level);
}

static int
s_unlock (sqlite3_file *file, int level)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xUnlock (self->real, level);
}

static int
s_check_reserved (sqlite3_file *file, int *out)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xCheckReservedLock (self->real, out);
}

static int
s_file_control (sqlite3_file *file, int op, void *arg)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xFileControl (self->real, op, arg);
}

static int
s_sector_size (sqlite3_file *file)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xSectorSize (self->real);
}

static int
s_device (sqlite3_file *file)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xDeviceCharacteristics (self->real);
}

static int
s_shm_map (sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xShmMap (self->real, page, size, extend, out);
}

static int
s_shm_lock (sqlite3_file *file, int offset, int n, int flags)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xShmLock (self->real, offset, n, flags);
}

static void
s_shm_barrier (sqlite3_file *file)
{
    s_file_t *self = (s_file_t *) file;
    self->real->pMethods->xShmBarrier (self->real);
}

static int
s_shm_unmap (sqlite3_file *file, int delete_flag)
{
    s_file_t *self = (s_file_t *) file;
    return self->real->pMethods->xShmUnmap (self->real, delete_flag);
}

/* No memory-mapped reads: every read goes through xRead, where faults apply. */
static int
s_fetch (sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    *out = NULL;
    return SQLITE_OK;
}

static int
s_unfetch (sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    return SQLITE_OK;
}

static const sqlite3_io_methods s_methods = {
    .iVersion = 3,
    .xClose = s_close, .xRead = s_read, .xWrite = s_write, .xTruncate = s_truncate,
    .xSync = s_sync, .xFileSize = s_file_size, .xLock = s_lock, .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_reserved, .xFileControl = s_file_control,
    .xSectorSize = s_sector_size, .xDeviceCharacteristics = s_device,
    .xShmMap = s_shm_map, .xShmLock = s_shm_lock, .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap, .xFetch = s_fetch, .xUnfetch = s_unfetch
};

/* ---------------------------------------------------------------- VFS methods */

static int
s_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    s_file_t *self = (s_file_t *) file;
    memset (self, 0, sizeof *self);
    self->real = (sqlite3_file *) (self + 1);
    int rc = s_vfs.real->xOpen (s_vfs.real, name, self->real, flags, out_flags);
    if (self->real->pMethods)
        self->base.pMethods = &s_methods;
    if (rc != SQLITE_OK || !name || !s_vfs.config.crash)
        return rc;
    pthread_mutex_lock (&s_vfs.lock);
    self->disk = s_disk (name);
    if (self->disk)
        self->disk->opens++;
    pthread_mutex_unlock (&s_vfs.lock);
    if (!self->disk) {
        s_close (file);
        self->base.pMethods = NULL;
        rc = SQLITE_NOMEM;
    }
    return rc;
}

static int
s_delete (sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    pthread_mutex_lock (&s_vfs.lock);
    int rc = SQLITE_IOERR_DELETE;
    if (!s_vfs.crashed) {
        rc = s_vfs.real->xDelete (s_vfs.real, name, sync_dir);
        for (s_disk_t *disk = s_vfs.disks; disk; disk = disk->next)
            if (!disk->deleted && strcmp (disk->path, name) == 0) {
                s_changes_clear (disk);
                disk->deleted = true;
            }
    }
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

static int
s_access (sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return s_vfs.real->xAccess (s_vfs.real, name, flags, out);
}

static int
s_full_pathname (sqlite3_vfs *vfs, const char *name, int size, char *out)
{
    return s_vfs.real->xFullPathname (s_vfs.real, name, size, out);
}

static void *
s_dl_open (sqlite3_vfs *vfs, const char *name)
{
    return s_vfs.real->xDlOpen (s_vfs.real, name);
}

static void
s_dl_error (sqlite3_vfs *vfs, int size, char *out)
{
    s_vfs.real->xDlError (s_vfs.real, size, out);
}

static void (*s_dl_sym (sqlite3_vfs *vfs, void *handle, const char *symbol)) (void)
{
    return s_vfs.real->xDlSym (s_vfs.real, handle, symbol);
}

static void
s_dl_close (sqlite3_vfs *vfs, void *handle)
{
    s_vfs.real->xDlClose (s_vfs.real, handle);
}

static int
s_randomness (sqlite3_vfs *vfs, int size, char *out)
{
    return s_vfs.real->xRandomness (s_vfs.real, size, out);
}

static int
s_sleep (sqlite3_vfs *vfs, int us)
{
    return s_vfs.real->xSleep (s_vfs.real, us);
}

static int
s_current_time (sqlite3_vfs *vfs, double *out)
{
    return s_vfs.real->xCurrentTime (s_vfs.real, out);
}

static int
s_last_error (sqlite3_vfs *vfs, int size, char *out)
{
    return s_vfs.real->xGetLastError (s_vfs.real, size, out);
}

static int
s_current_time64 (sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return s_vfs.real->xCurrentTimeInt64 (s_vfs.real, out);
}

/* ---------------------------------------------------------------- the API */

int
kh_testvfs_install (const kh_testvfs_config_t *config)
{
    pthread_mutex_lock (&s_vfs.lock);
    int rc = 0;
    if (!s_vfs.registered) {
        s_vfs.real = sqlite3_vfs_find (NULL);
        if (s_vfs.real && s_vfs.real->iVersion >= 2) {
            s_vfs.vfs = (sqlite3_vfs) {
                .iVersion = 2, .mxPathname = s_vfs.real->mxPathname, .zName = S_NAME,
                .szOsFile = (int) sizeof (s_file_t) + s_vfs.real->szOsFile,
                .xOpen = s_open, .xDelete = s_delete, .xAccess = s_access,
                .xFullPathname = s_full_pathname, .xDlOpen = s_dl_open,
                .xDlError = s_dl_error, .xDlSym = s_dl_sym, .xDlClose = s_dl_close,
                .xRandomness = s_randomness, .xSleep = s_sleep,
                .xCurrentTime = s_current_time, .xGetLastError = s_last_error,
                .xCurrentTimeInt64 = s_current_time64 };
            s_vfs.registered = sqlite3_vfs_register (&s_vfs.vfs, 1) == SQLITE_OK;
        }
        rc = s_vfs.registered ? 0 : -1;
    }
    s_vfs.config = *config;
    snprintf (s_vfs.full_flag, sizeof s_vfs.full_flag, "%s",
              config->full_flag ? config->full_flag : "");
    s_vfs.config.full_flag = s_vfs.full_flag;
    s_vfs.syncs = s_vfs.writes = s_vfs.ops = s_vfs.cut_at = 0;
    s_vfs.crashed = false;
    pthread_mutex_unlock (&s_vfs.lock);
    return rc;
}

/* Reads the count after "name=" at text into *out. Returns 0, or -1. */
static int
s_count (const char *text, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll (text, &end, 10);
    return errno || end == text || *out < 1 || (*end && *end != ',') ? -1 : 0;
}

int
kh_testvfs_install_env (void)
{
    const char *env = getenv ("KH_TESTVFS");
    if (!env || !*env)
        return 0;
    kh_testvfs_config_t config = { 0 };
    char full [4096] = "";
    for (const char *item = env; item; item = strchr (item, ',')) {
        item += *item == ',';
        int rc = -1;
        if (strncmp (item, "sync=", 5) == 0)
            rc = s_count (item + 5, &config.fail_sync);
        else
        if (strncmp (item, "write=", 6) == 0)
            rc = s_count (item + 6, &config.fail_write);
        else
        if (strncmp (item, "full=", 5) == 0) {
            snprintf (full, sizeof full, "%.*s", (int) strcspn (item + 5, ","), item + 5);
            config.full_flag = full;
            rc = full [0] ? 0 : -1;
        }
        if (rc) {
            fprintf (stderr, "testvfs: cannot read KH_TESTVFS='%s' (sync=N, write=N, "
                     "full=PATH)\n", env);
            return -1;
        }
    }
    if (kh_testvfs_install (&config)) {
        fprintf (stderr, "testvfs: cannot wrap SQLite's default VFS\n");
        return -1;
    }
    fprintf (stderr, "testvfs: installed: %s\n", env);
    return 0;
}

void
kh_testvfs_cut_at (long long op, double keep, unsigned seed)
{
    pthread_mutex_lock (&s_vfs.lock);
    s_vfs.cut_at = s_vfs.ops + (op > 0 ? op : 1);
    s_vfs.keep = keep;
    s_vfs.seed = seed;
    pthread_mutex_unlock (&s_vfs.lock);
}

bool
kh_testvfs_crashed (void)
{
    pthread_mutex_lock (&s_vfs.lock);
    bool crashed = s_vfs.crashed;
    pthread_mutex_unlock (&s_vfs.lock);
    return crashed;
}

void
kh_testvfs_reboot (void)
{
    pthread_mutex_lock (&s_vfs.lock);
    s_disk_t **link = &s_vfs.disks;
    while (*link) {
        s_disk_t *disk = *link;
        s_changes_clear (disk);
        if (disk->opens == 0) {         /* nothing refers to it: forget it */
            *link = disk->next;
            free (disk->changes);
            free (disk->path);
            free (disk);
        }
        else
            link = &disk->next;
    }
    s_vfs.crashed = false;
    s_vfs.cut_at = 0;
    pthread_mutex_unlock (&s_vfs.lock);
}

long long
kh_testvfs_ops (void)
{
    pthread_mutex_lock (&s_vfs.lock);
    long long ops = s_vfs.ops;
    pthread_mutex_unlock (&s_vfs.lock);
    return ops;
}
