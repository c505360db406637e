/*  kh_store.c - the recorder's SQLite store: opening, migrating and group-committed
    appends (its reads are in kh_store_read.c). */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <czmq.h>
#include "kh_catalogue.h"
#include "kh_link.h"
#include "kh_select.h"
#include "kh_sql.h"
#include "kh_state.h"
#include "kh_store.h"
#include "kh_store_priv.h"

#define S_BUSY_MS       5000        /* how long a statement waits for a lock */
#define S_CACHE_KIB     32768       /* page cache of a connection */
#define S_KEY_MAX       (2 + KH_TYPE_MAX + 1 + KH_AGS_MAX + 1)  /* "p:" type "/" from NUL */
#define S_WAL_FRAMES    10000       /* WAL frames not yet in the file that make a
                                       batch ask the checkpointer for a pass (4 KiB
                                       pages: ~40 MB) */
#define S_FINISH_FRAMES 2000        /* after a pass, a batch checkpoints itself what
                                       came meanwhile if it is fewer frames */
#define S_HARD_FACTOR   4           /* a WAL so many times S_WAL_FRAMES long makes a
                                       batch wait for the checkpointer and checkpoint
                                       itself */


/* ----------------------------------------------------------------- errors */


int
kh__store_fail (kh_store_t *self, kh_problem_t *why, const char *what, const char *file,
                int line)
{
    const char *base = strrchr (file, '/');
    base = base ? base + 1 : file;
    if (self->db && (sqlite3_errcode (self->db) & 0xff) == SQLITE_FULL)
        return kh_problem (why, KH_EFULL, "store: the disk is full; nothing was stored "
                           "(%s: %s, %s:%d)", what, sqlite3_errmsg (self->db), base, line);
    return kh_problem (why, KH_ESTORE, "store: %s: %s (%s:%d)", what,
                       self->db ? sqlite3_errmsg (self->db) : "no database", base, line);
}

/* ------------------------------------------------------------ statements */

int
kh__store_prepare (kh_store_t *self, const char *sql, sqlite3_stmt **stmt, kh_problem_t *why)
{
    if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL)
        != SQLITE_OK)
        return KH__STORE_FAIL (self, why, "prepare");
    return 0;
}

int
kh__store_run (kh_store_t *self, sqlite3_stmt *stmt, const char *what, kh_problem_t *why)
{
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        KH__STORE_FAIL (self, why, what);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Runs one or more statements of literal SQL. Returns 0, or -1 with why set. */
static int
s_exec (kh_store_t *self, const char *sql, const char *what, kh_problem_t *why)
{
    char *message = NULL;
    if (sqlite3_exec (self->db, sql, NULL, NULL, &message) == SQLITE_OK)
        return 0;
    kh_problem (why, KH_ESTORE, "store: %s: %s", what,
                message ? message : sqlite3_errmsg (self->db));
    sqlite3_free (message);
    return -1;
}

/* Runs sql (a PRAGMA or a SELECT) and copies the first column of its first row as
   text into out. Returns 0, or -1 with why set (also if there is no row). */
static int
s_value (kh_store_t *self, const char *sql, char *out, size_t cap, kh_problem_t *why)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return KH__STORE_FAIL (self, why, sql);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text (stmt, 0);
        snprintf (out, cap, "%s", text ? (const char *) text : "");
    }
    else
    if (rc == SQLITE_DONE)
        kh_problem (why, KH_ESTORE, "store: %s: no answer", sql);
    else
        KH__STORE_FAIL (self, why, sql);
    sqlite3_finalize (stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Reads PRAGMA user_version into *version. Returns 0, or -1 with why set. */
static int
s_version (kh_store_t *self, int *version, kh_problem_t *why)
{
    char text [32];
    uint64_t value;
    if (s_value (self, "PRAGMA user_version", text, sizeof text, why))
        return -1;
    /* SQLite's user_version is a signed 32-bit number: a file that says otherwise
       is not one of ours. */
    if (kh_uint_parse (text, INT32_MAX, &value))
        return kh_problem (why, KH_ESTORE, "store: user_version '%s' is not ours", text);
    *version = (int) value;
    return 0;
}

/* ------------------------------------------------------------ open, close */

/* Allocates a store and opens its connection with flags. Returns NULL with why set;
   on failure nothing stays open. */
static kh_store_t *
s_open (const char *path, int flags, kh_problem_t *why)
{
    kh_store_t *self = (kh_store_t *) calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path))) {
        free (self);
        kh_problem (why, KH_ENOMEM, "store: out of memory");
        return NULL;
    }
    self->lock_fd = -1;
    if (sqlite3_open_v2 (path, &self->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        kh_problem (why, KH_ESTORE, "store: cannot open %s: %s", path,
                    self->db ? sqlite3_errmsg (self->db) : "out of memory");
        kh_store_destroy (&self);
        return NULL;
    }
    sqlite3_extended_result_codes (self->db, 1);
    sqlite3_busy_timeout (self->db, S_BUSY_MS);
    return self;
}

/* Sets the writer's pragmas: WAL (verified), synchronous per sync, a larger cache.
   Returns 0, or -1 with why set. */
static int
s_pragmas (kh_store_t *self, kh_sync_t sync, kh_problem_t *why)
{
    static const char *const sync_sql [] = {
        [KH_SYNC_FULL]   = "PRAGMA synchronous = FULL",
        [KH_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
        [KH_SYNC_OFF]    = "PRAGMA synchronous = OFF"
    };
    char mode [32];
    if (s_value (self, "PRAGMA journal_mode = WAL", mode, sizeof mode, why))
        return -1;
    if (strcasecmp (mode, "wal") != 0)
        return kh_problem (why, KH_ESTORE, "store: %s cannot use WAL (journal mode is %s)",
                           self->path, mode);
    char cache [64];
    snprintf (cache, sizeof cache, "PRAGMA cache_size = -%d", S_CACHE_KIB);
    if ((unsigned) sync > KH_SYNC_OFF)
        sync = KH_SYNC_FULL;
    return s_exec (self, sync_sql [sync], "synchronous", why)
        || s_exec (self, cache, "cache_size", why) ? -1 : 0;
}

/* Writes what the WAL holds into the database file, fsyncs it, and empties the
   WAL. At open this makes what a crashed writer left durable through writes of our
   own: after a failed fsync, the kernel may keep pages it could not write and show
   them as if written (they are then read back as committed), so they are written
   again here, or the open fails. Another connection reading (SQLITE_BUSY) leaves
   the WAL to the next checkpoint. Returns 0, or -1 with why set. */
static int
s_checkpoint (kh_store_t *self, kh_problem_t *why)
{
    int rc = sqlite3_wal_checkpoint_v2 (self->db, "main", SQLITE_CHECKPOINT_TRUNCATE,
                                        NULL, NULL);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY)
        return 0;
    kh_problem_t failed;
    KH__STORE_FAIL (self, &failed, "write the WAL into the store");
    return kh_problem (why, failed.code, "%s; %s cannot be opened now", failed.reason,
                       self->path);
}

/* The writer's WAL hook, called by SQLite after each commit with the frames the WAL
   holds: remembers them. Installing it turns SQLite's automatic checkpoint off, which
   ran inside the commit that crossed 1,000 frames (a tenth of the writer's time under
   load, and a DB-file fsync in that commit's latency); the writer checkpoints when
   idle (kh_store_checkpoint) or, under constant load, has the checkpointer thread
   (kh_store_ckpt.c) do it beside it once S_WAL_FRAMES wait (s_checkpoint_due), so
   the WAL stays bounded. A checkpoint never touches durability: every commit's
   frames are synced in the WAL first. The checkpointer runs only at that bound (about
   every 0.7 s at 2,000 one-message commits a second): woken every 1,000 to 8,000
   frames instead, a single publish's round trip got 0.1-0.25 ms slower at the
   median, the store file's flushes delaying the WAL's fdatasync meanwhile. */
static int
s_wal_hook (void *arg, sqlite3 *db, const char *name, int frames)
{
    kh_store_t *self = (kh_store_t *) arg;
    if (frames < self->wal_done)
        self->wal_done = 0;             /* the WAL began again from its start */
    self->wal_frames = frames;
    return SQLITE_OK;
}

/* Installs s_wal_hook on the writer, which turns SQLite's automatic checkpoint off.
   Returns 0. */
static int
s_watch_wal (kh_store_t *self)
{
    sqlite3_wal_hook (self->db, s_wal_hook, self);
    self->wal_frames = self->wal_done = 0;
    self->wal_bound = S_WAL_FRAMES;
    return 0;
}

void
kh__store_set_wal_bound (kh_store_t *self, int frames)
{
    assert (self && frames > 0);
    self->wal_bound = frames;
}

int
kh_store_checkpoint (kh_store_t *self, kh_problem_t *why)
{
    assert (self && self->writer);
    /* A pass in progress is waited for (two checkpoints at once: one finds the other
       and does nothing), and its failure is this one's. */
    if (!self->lost && kh__ckpt_collect (self, true, why) == KH_STORE_UNKNOWN)
        return KH_STORE_UNKNOWN;
    self->ckpt_finish = false;          /* this one finishes what a pass left */
    if (self->lost)
        return kh_problem (why, KH_ESTORE, "store: a commit's outcome is unknown; close "
                           "the store and open it again");
    int frames = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2 (self->db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                        &frames, &done);
    if (rc == SQLITE_OK) {
        /* After a complete checkpoint the next commit most likely starts the WAL
           again from its start, and the hook cannot tell a new WAL of k frames from
           this one grown by k - done: counting from 0 can only make the next
           checkpoint come early, never late. */
        self->wal_frames = done == frames ? 0 : frames;
        self->wal_done = done == frames ? 0 : done;
        return 0;
    }
    if (rc == SQLITE_BUSY)
        return 0;
    KH__STORE_FAIL (self, why, "checkpoint the WAL");
    /* The DB file may hold pages the kernel could not write but shows as written
       (after a failed fsync): only a new open, writing them again from the WAL
       (s_checkpoint), makes the file trustworthy. */
    if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CORRUPT) {
        self->lost = true;
        return KH_STORE_UNKNOWN;
    }
    return -1;
}

void
kh_store_checkpoints (kh_store_t *self, uint64_t *passes, uint64_t *inline_count)
{
    assert (self && passes && inline_count);
    *passes = self->ckpt_passes;
    *inline_count = self->ckpt_inline;
}

int
kh_store_wal_pending (kh_store_t *self)
{
    assert (self);
    return self->writer ? self->wal_frames - self->wal_done : 0;
}

/* Before a batch or an index chunk (the writer never went idle long enough, or the
   search index catches up on a burst, chunk after chunk): reads the outcome of the
   checkpointer's pass if it ended, and then
   - right after a pass, checkpoints the few frames committed during it (fewer than
     S_FINISH_FRAMES: a few ms, with the store file's fsync), so that the checkpoint
     is complete and the next commit starts the WAL again from its start; if the
     pass left more, asks for the next pass at once (each is shorter than the one
     before);
   - once wal_bound frames wait, asks the checkpointer for a pass;
   - once the WAL is S_HARD_FACTOR x wal_bound frames long (passes never left few
     enough to finish, the checkpointer is slower than the commits, or a reader held
     the WAL), waits for a pass in progress and checkpoints itself, so that the WAL
     stays bounded (~160 MB), as it does without a checkpointer from wal_bound on.
   Returns 0 (a checkpoint that failed for want of memory or space is tried again
   later), or KH_STORE_UNKNOWN with why set. */
static int
s_checkpoint_due (kh_store_t *self, kh_problem_t *why)
{
    int hard_bound = S_HARD_FACTOR * self->wal_bound;
    if (kh__ckpt_collect (self, self->wal_frames >= hard_bound, why) == KH_STORE_UNKNOWN)
        return KH_STORE_UNKNOWN;
    int pending = self->wal_frames - self->wal_done;
    bool after_pass = self->ckpt_finish;
    self->ckpt_finish = false;
    bool finish = after_pass && pending > 0 && pending < S_FINISH_FRAMES;
    bool want = pending >= self->wal_bound || (after_pass && pending >= S_FINISH_FRAMES);
    if (want && !self->ckpt && !self->ckpt_off)
        self->ckpt_off = kh__ckpt_start (self, &(kh_problem_t) { 0 }) != 0;
    /* Without a checkpointer (it could not start, or stopped) a batch checkpoints
       itself from wal_bound on. */
    bool hard = self->wal_frames >= hard_bound
             || (!self->ckpt && pending >= self->wal_bound);
    if (!finish && !hard) {
        if (want && !self->ckpt_busy)
            kh__ckpt_ask (self);
        return 0;
    }
    self->ckpt_inline++;
    kh_problem_t failed = { 0 };
    int rc = kh_store_checkpoint (self, &failed);
    if (rc == KH_STORE_UNKNOWN)
        *why = failed;
    return rc == KH_STORE_UNKNOWN ? rc : 0;
}

/* Returns the section of kh_sql_schema that takes a database to version (a new
   string, from its line "-- version N" to the next such line), or NULL if there is
   none or memory runs out. */
static char *
s_section (int version)
{
    char mark [32];
    int size = snprintf (mark, sizeof mark, "-- version %d", version);
    const char *start = kh_sql_schema;
    while ((start = strstr (start, mark))
    &&     ((start > kh_sql_schema && start [-1] != '\n') || isdigit (start [size])))
        start += size;
    if (!start)
        return NULL;
    const char *end = strstr (start + size, "\n-- version ");
    return strndup (start, end ? (size_t) (end - start) : strlen (start));
}

/* Runs the schema's section for version (it must take the database from version -
   1 to version). Returns 0, or -1 with why set. */
static int
s_migrate_section (kh_store_t *self, int version, kh_problem_t *why)
{
    char *sql = version <= KH_SQL_VERSION ? s_section (version) : NULL;
    if (!sql)
        return kh_problem (why, KH_ESTORE, "store: %s has version %d and no migration "
                           "from it is known", self->path, version - 1);
    int now;
    int rc = s_exec (self, sql, "migrate", why);
    if (rc == 0)
        rc = s_version (self, &now, why);
    if (rc == 0 && now != version)
        rc = kh_problem (why, KH_ESTORE, "store: migration to version %d left version %d",
                         version, now);
    free (sql);
    return rc;
}

/* Takes the database from version to target in one transaction, running the
   schema's sections after version in turn (one commit, one sync: a new store
   starts with as few writes as it can). Another process may have done it first:
   the version is read again under the write lock. Returns 0, or -1 with why set
   and nothing changed. */
static int
s_migrate_step (kh_store_t *self, int version, int target, kh_problem_t *why)
{
    int now;
    int rc = s_exec (self, "BEGIN IMMEDIATE", "begin migration", why);
    if (rc == 0)
        rc = s_version (self, &now, why);
    if (rc == 0 && now == version)      /* else another process did it meanwhile */
        for (int step = version + 1; rc == 0 && step <= target; step++)
            rc = s_migrate_section (self, step, why);
    if (rc == 0)
        rc = s_exec (self, "COMMIT", "commit migration", why);
    if (rc)
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int s_check_shape (kh_store_t *self, int *version, kh_problem_t *why);

/* Brings the database to KH_SQL_VERSION in one transaction, once s_check_shape
   has found it empty or ours. Returns 0, or -1 with why set. */
static int
s_migrate (kh_store_t *self, kh_problem_t *why)
{
    int version;
    if (s_check_shape (self, &version, why))
        return -1;
    while (version < KH_SQL_VERSION) {
        if (s_migrate_step (self, version, KH_SQL_VERSION, why)
        ||  s_version (self, &version, why))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ whose file */

/* One line per column of every table (SQLite's own aside, and the shadow tables of
   the full-text index, whose layout is FTS5's and may change with the library), per
   key of every index, and per other object: the shape of a database, comments and
   spacing aside. Two databases with the same text hold the same tables, columns and
   indexes. */
#define S_SHAPE_SQL \
    "SELECT coalesce (group_concat (line, char (10)), '') FROM (" \
    " SELECT s.type || ' ' || s.name || ' ' || s.tbl_name || ': ' || c.cid || ' ' ||" \
    "        c.name || ' ' || c.type || ' ' || c.\"notnull\" || ' ' ||" \
    "        coalesce (c.dflt_value, '-') || ' ' || c.pk || ' ' || c.hidden AS line" \
    "   FROM sqlite_schema AS s, pragma_table_xinfo (s.name) AS c" \
    "  WHERE s.type = 'table' AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'" \
    "    AND s.name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow')" \
    " UNION ALL" \
    " SELECT s.type || ' ' || s.name || ' ' || s.tbl_name || ': ' || c.seqno || ' ' ||" \
    "        coalesce (c.name, '-') || ' ' || c.\"desc\" || ' ' || c.coll || ' ' || c.key" \
    "   FROM sqlite_schema AS s, pragma_index_xinfo (s.name) AS c" \
    "  WHERE s.type = 'index'" \
    " UNION ALL" \
    " SELECT type || ' ' || name || ' ' || tbl_name FROM sqlite_schema" \
    "  WHERE type NOT IN ('table', 'index')" \
    " ORDER BY 1)"

/* Runs sql and returns the first column of its first row as a new string in *text.
   Returns 0, or -1 with why set. */
static int
s_text (kh_store_t *self, const char *sql, char **text, kh_problem_t *why)
{
    *text = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return KH__STORE_FAIL (self, why, "read the schema");
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        const unsigned char *value = sqlite3_column_text (stmt, 0);
        *text = strdup (value ? (const char *) value : "");
        if (!*text)
            kh_problem (why, KH_ENOMEM, "store: out of memory");
    }
    else
        KH__STORE_FAIL (self, why, "read the schema");
    sqlite3_finalize (stmt);
    return *text ? 0 : -1;
}

/* Returns in *shape the shape (S_SHAPE_SQL) of a store of version: what the
   migrations make of an empty database in memory. Returns 0, or -1 with why set. */
static int
s_shape_of (int version, char **shape, kh_problem_t *why)
{
    *shape = NULL;
    kh_store_t *model = s_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                why);
    int rc = model ? s_migrate_step (model, 0, version, why) : -1;
    if (rc == 0)
        rc = s_text (model, S_SHAPE_SQL, shape, why);
    kh_store_destroy (&model);
    return rc;
}

/* Reads what the database holds, writing nothing: *version is its user_version, 0
   for an empty database (no table, index or other object at all), else a version
   whose shape matches what this program makes of that version. Refuses a newer
   version, and anything else: a database with objects of its own, or with ours
   in another shape. Returns 0, or -1 with why set. */
static int
s_check_shape (kh_store_t *self, int *version, kh_problem_t *why)
{
    if (s_version (self, version, why))
        return -1;
    if (*version > KH_SQL_VERSION)
        return kh_problem (why, KH_ESTORE, "store: %s has version %d, newer than the %d "
                           "this program knows; use a newer kreishub-recorder",
                           self->path, *version, KH_SQL_VERSION);
    char *shape = NULL, *ours = NULL;
    int rc = s_text (self, S_SHAPE_SQL, &shape, why);
    if (rc == 0 && *version > 0)
        rc = s_shape_of (*version, &ours, why);
    if (rc == 0 && (*version == 0 ? shape [0] != 0 : strcmp (shape, ours) != 0)) {
        char *tables = NULL;
        s_text (self, "SELECT group_concat (name, ', ') FROM sqlite_schema "
                      "WHERE type = 'table'", &tables, why);
        rc = kh_problem (why, KH_ESTORE, "store: %s is not a kreishub store (user_version "
                         "%d, tables: %s); it is left as it is", self->path, *version,
                         tables && tables [0] ? tables : "none");
        free (tables);
    }
    free (shape);
    free (ours);
    return rc;
}

/* Checks, reading only, that the file at path is missing, empty, or a kreishub
   store this program can open (s_check_shape): nothing of someone else's is ever
   written to. Returns 0, or -1 with why set. */
static int
s_inspect (const char *path, kh_problem_t *why)
{
    struct stat st;
    if (stat (path, &st) != 0)
        return errno == ENOENT ? 0 : kh_problem (why, KH_ESTORE, "store: cannot look at "
                                                 "%s: %s", path, strerror (errno));
    if (!S_ISREG (st.st_mode))
        return kh_problem (why, KH_ESTORE, "store: %s is not a file", path);
    if (st.st_size == 0)
        return 0;                       /* SQLite makes an empty database of it */
    kh_store_t *probe = s_open (path, SQLITE_OPEN_READONLY, why);
    int version;
    int rc = probe ? s_check_shape (probe, &version, why) : -1;
    if (rc && probe && sqlite3_errcode (probe->db) == SQLITE_NOTADB)
        kh_problem (why, KH_ESTORE, "store: %s is not a kreishub store (%s); it is left "
                    "as it is", path, sqlite3_errmsg (probe->db));
    kh_store_destroy (&probe);
    return rc;
}

/* Takes the writer's lock: an exclusive flock on PATH-lock beside the store (created
   if missing), held until destroy, and writes our pid into it for the operator.
   SQLite's own locks cannot say "one writer" in WAL mode, and a lock on the
   database file itself would be lost to SQLite's POSIX locks whenever a descriptor
   of that file is closed in this process. The kernel drops the lock when the
   process dies, however it dies. Returns 0, or -1 with why set: KH_EBUSY if another
   writer holds it (its pid in the reason), else KH_ESTORE. */
static int
s_lock (kh_store_t *self, kh_problem_t *why)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s-lock", self->path);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return kh_problem (why, KH_ESTORE, "store: cannot open the lock %s: %s", path,
                           strerror (errno));
    if (flock (fd, LOCK_EX | LOCK_NB) == 0) {
        char pid [24];
        int size = snprintf (pid, sizeof pid, "%ld\n", (long) getpid ());
        bool told = ftruncate (fd, 0) == 0 && pwrite (fd, pid, (size_t) size, 0) == size;
        (void) told;                    /* the pid is for people; the lock is the flock */
        self->lock_fd = fd;
        return 0;
    }
    int error = errno;
    char pid [24] = "";
    ssize_t size = pread (fd, pid, sizeof pid - 1, 0);
    pid [size > 0 ? strcspn (pid, "\n") : 0] = 0;
    close (fd);
    if (error == EWOULDBLOCK)
        return kh_problem (why, KH_EBUSY, "store: %s is in use by another recorder "
                           "(pid %s holds %s)", self->path, pid [0] ? pid : "?", path);
    return kh_problem (why, KH_ESTORE, "store: cannot lock %s: %s", path, strerror (error));
}

/* Checks that this process may write the file at path (if it exists) and create
   files in its directory, as a writer must: SQLite puts the WAL and its index
   beside the store. Returns 0, or -1 with why set. */
static int
s_writable (const char *path, kh_problem_t *why)
{
    if (faccessat (AT_FDCWD, path, W_OK, AT_EACCESS) != 0 && errno != ENOENT)
        return kh_problem (why, KH_ESTORE, "store: %s is read-only (%s); the recorder "
                           "must write it", path, strerror (errno));
    char dir [PATH_MAX];
    const char *slash = strrchr (path, '/');
    snprintf (dir, sizeof dir, "%.*s", slash ? (int) (slash - path) : 1,
              slash == path ? "/" : slash ? path : ".");
    if (faccessat (AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
        return 0;
    if (errno == ENOENT)
        return kh_problem (why, KH_ESTORE, "store: cannot create %s: the directory %s "
                           "does not exist", path, dir);
    return kh_problem (why, KH_ESTORE, "store: the directory %s is read-only (%s); the "
                       "recorder writes its WAL and index beside %s", dir, strerror (errno),
                       path);
}

/* Prepares the statements every store uses. Returns 0, or -1 with why set. */
static int
s_prepare_common (kh_store_t *self, kh_problem_t *why)
{
    return kh__store_prepare (self, "BEGIN", &self->begin_read, why)
        || kh__store_prepare (self, "COMMIT", &self->commit, why)
        || kh__store_prepare (self, "ROLLBACK", &self->rollback, why)
        || kh__store_prepare (self, "SELECT seq, at FROM message ORDER BY seq DESC LIMIT 1",
                      &self->last, why)
        || kh__store_prepare (self, "SELECT at FROM message WHERE seq >= ?1 ORDER BY seq LIMIT 1",
                      &self->at_from, why)
        || kh__store_prepare (self, "SELECT coalesce (max (seq), 0) FROM audit", &self->audit_last,
                      why)
        || kh__store_prepare (self, "SELECT i.seq FROM message AS m JOIN item AS i ON i.seq = m.seq "
                            "WHERE m.id = ?1", &self->item_of, why)
        ? -1
        : !(self->select = kh_select_new (self->db))
        ? kh_problem (why, KH_ENOMEM, "store: out of memory")
        : !(self->catalogue = kh_catalogue_new (self->db, why)) ? -1 : 0;
}

/* Prepares the writer's statements. Returns 0, or -1 with why set. */
static int
s_prepare_writer (kh_store_t *self, kh_problem_t *why)
{
    return kh__store_prepare (self, "BEGIN IMMEDIATE", &self->begin, why)
        || kh__store_prepare (self,
               "INSERT INTO message (seq, id, type, sender, ts, at, prev_type, "
               "prev_sender, prev_pair, title, envelope, item) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
               "ON CONFLICT (id) DO NOTHING", &self->insert, why)
        || kh__store_prepare (self, "SELECT seq, at, prev_type, prev_sender, prev_pair, envelope "
                            "FROM message WHERE id = ?1", &self->by_id, why)
        || kh__store_prepare (self,
               "INSERT INTO audit (seq, at, endpoint, command, code, size, peer, claimed, "
               "ags, role, key, reason) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
               &self->audit_insert, why)
        ? -1 : 0;
}

int
kh__store_last (kh_store_t *self, uint64_t *seq, uint64_t *at, kh_problem_t *why)
{
    *seq = *at = 0;
    int rc = sqlite3_step (self->last);
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t) sqlite3_column_int64 (self->last, 0);
        *at = (uint64_t) sqlite3_column_int64 (self->last, 1);
    }
    else
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "read the head");
    sqlite3_reset (self->last);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- links */

static void
s_slot_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

/* Writes the links key of kind ('t', 's' or 'p') for type and from into key: "t:type",
   "s:from", "p:type/from". The same keys are built in SQL by s_load_links. Copied,
   not printed: three keys per message, and snprintf cost the writer a tenth of its
   time. type and from are a validated envelope's, so they fit. */
static void
s_key (char key [S_KEY_MAX], char kind, const char *type, const char *from)
{
    size_t type_len = kind == 's' ? 0 : strlen (type);
    size_t from_len = kind == 't' ? 0 : strlen (from);
    assert (type_len <= KH_TYPE_MAX && from_len <= KH_AGS_MAX);
    char *at = key;
    *at++ = kind;
    *at++ = ':';
    memcpy (at, type, type_len);
    at += type_len;
    if (kind == 'p')
        *at++ = '/';
    memcpy (at, from, from_len);
    at [from_len] = 0;
}

/* Returns the slot for key in links, creating it (as 0: none yet) if missing; NULL if
   memory runs out. */
static uint64_t *
s_slot (zhashx_t *links, const char *key)
{
    uint64_t *slot = (uint64_t *) zhashx_lookup (links, key);
    if (slot)
        return slot;
    slot = (uint64_t *) calloc (1, sizeof *slot);
    if (slot && zhashx_insert (links, key, slot) != 0) {
        free (slot);
        slot = NULL;
    }
    return slot;
}

/* Creates an empty links table. Returns it, or NULL if memory runs out. */
static zhashx_t *
s_links_new (void)
{
    zhashx_t *links = zhashx_new ();
    if (links)
        zhashx_set_destructor (links, s_slot_destroy);
    return links;
}

/* Adds the rows of a query of (key, max(seq)) to links. Returns 0, or -1 with why set. */
static int
s_load_link_rows (kh_store_t *self, const char *sql, zhashx_t *links, kh_problem_t *why)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return KH__STORE_FAIL (self, why, "prepare the links");
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *key = (const char *) sqlite3_column_text (stmt, 0);
        uint64_t *slot = key ? s_slot (links, key) : NULL;
        if (!slot) {
            sqlite3_finalize (stmt);
            return kh_problem (why, KH_ENOMEM, "store: out of memory loading links");
        }
        *slot = (uint64_t) sqlite3_column_int64 (stmt, 1);
    }
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "load the links");
    sqlite3_finalize (stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Loads the last seq per type, per sender and per type and sender from the table
   into a new table *links_p. Returns 0, or -1 with why set (and *links_p NULL). */
static int
s_load_links (kh_store_t *self, zhashx_t **links_p, kh_problem_t *why)
{
    static const char *const sql [] = {
        "SELECT 't:' || type, max(seq) FROM message GROUP BY type",
        "SELECT 's:' || sender, max(seq) FROM message GROUP BY sender",
        "SELECT 'p:' || type || '/' || sender, max(seq) FROM message GROUP BY type, sender"
    };
    *links_p = s_links_new ();
    if (!*links_p)
        return kh_problem (why, KH_ENOMEM, "store: out of memory loading links");
    for (size_t i = 0; i < sizeof sql / sizeof sql [0]; i++)
        if (s_load_link_rows (self, sql [i], *links_p, why)) {
            zhashx_destroy (links_p);
            return -1;
        }
    return 0;
}

/* True if head and links fit together as the writer needs them: head can grow (it
   is below the largest seq SQLite holds, so no stored seq was negative) and no
   previous-link lies above it. Then a link of a type from a sender is also at most
   that type's and that sender's, since each is the largest seq of a set that holds
   the pair's. For a table read in one snapshot this fails only if the table was
   edited by hand; for the writer's own state it must always hold (see
   kh_store_t). Walks every link: O(links). */
static bool
s_links_ok (zhashx_t *links, uint64_t head)
{
    if (head >= KH__STORE_SEQ_MAX)
        return false;
    for (uint64_t *slot = (uint64_t *) zhashx_first (links); slot;
         slot = (uint64_t *) zhashx_next (links))
        if (*slot > head)
            return false;
    return true;
}

#ifndef NDEBUG
/* The writer's invariant between batches (see kh_store_t), for use inside assert ():
   s_links_ok on its head and links, and an empty store has no commit time. */
static bool
s_head_ok (kh_store_t *self)
{
    return self->writer && (self->head > 0 || self->last_at == 0)
        && s_links_ok (self->links, self->head);
}
#endif

int
kh__store_end_read (kh_store_t *self, int rc, kh_problem_t *why)
{
    kh_problem_t ignored;
    if (kh__store_run (self, self->commit, "end a read", rc ? &ignored : why))
        rc = -1;
    if (!sqlite3_get_autocommit (self->db))
        kh__store_run (self, self->rollback, "rollback a read", &ignored);
    return rc;
}

/* Loads head, last_at and the links from one snapshot of the table: the open
   transaction's (s_begin), else a read transaction of its own. The state changes
   only if all of it loads and it passes s_links_ok. Returns 0, or -1 with why set. */
static int
s_load_state (kh_store_t *self, kh_problem_t *why)
{
    bool own = sqlite3_get_autocommit (self->db);
    if (own && kh__store_run (self, self->begin_read, "begin a read", why))
        return -1;
    uint64_t head, last_at;
    zhashx_t *links = NULL;
    int rc = kh__store_last (self, &head, &last_at, why) || s_load_links (self, &links, why)
             ? -1 : 0;
    if (rc == 0 && !s_links_ok (links, head))
        rc = kh_problem (why, KH_ESTORE, "store: %s is inconsistent: a seq is negative, "
                         "or a type's or sender's last seq lies above the last one",
                         self->path);
    if (own)
        rc = kh__store_end_read (self, rc, why);
    if (rc == 0) {
        zhashx_destroy (&self->links);
        self->links = links;
        self->head = head;
        self->last_at = last_at;
    }
    else
        zhashx_destroy (&links);
    return rc;
}

static int s_rebuild (kh_store_t *self, kh_state_counts_t *counts, kh_problem_t *why);

/* Derives the state from the log if a migration asked for it (derived.pending), as
   kh_store_rebuild_state does. Returns 0, or -1 with why set. */
static int
s_derive (kh_store_t *self, kh_problem_t *why)
{
    bool pending;
    uint64_t search_seq;
    kh_state_counts_t counts;
    if (kh_state_derived (self->state, &pending, &search_seq, why))
        return -1;
    return pending ? s_rebuild (self, &counts, why) : 0;
}

kh_store_t *
kh_store_new (const char *path, kh_sync_t sync, kh_problem_t *why)
{
    assert (path);
    if (s_writable (path, why) || s_inspect (path, why))
        return NULL;
    kh_store_t *self = s_open (path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, why);
    if (!self)
        return NULL;
    self->writer = true;
    if (s_lock (self, why))
        kh_store_destroy (&self);
    /* SQLite opens a file it may not write read-only rather than fail. */
    if (self && sqlite3_db_readonly (self->db, "main") == 1) {
        kh_problem (why, KH_ESTORE, "store: %s is read-only; the recorder must write it",
                    path);
        kh_store_destroy (&self);
    }
    if (!self
    ||  s_pragmas (self, sync, why)
    ||  s_migrate (self, why)
    ||  s_checkpoint (self, why)
    ||  s_watch_wal (self)
    ||  s_prepare_common (self, why)
    ||  s_prepare_writer (self, why)
    ||  s_load_state (self, why)
    ||  !(self->state = kh_state_new (self->db, why))
    ||  s_derive (self, why))
        kh_store_destroy (&self);
    return self;
}

kh_store_t *
kh_store_new_reader (const char *path, kh_problem_t *why)
{
    assert (path);
    kh_store_t *self = s_open (path, SQLITE_OPEN_READONLY, why);
    int version = 0;
    int rc = self ? s_check_shape (self, &version, why) : -1;
    if (rc == 0 && version != KH_SQL_VERSION)
        rc = kh_problem (why, KH_ESTORE, "store: %s is %s", path, version == 0
                         ? "empty, not a kreishub store" : "of an older version; a "
                         "writer migrates it when it opens");
    if (rc || s_prepare_common (self, why))
        kh_store_destroy (&self);
    return self;
}

void
kh_store_destroy (kh_store_t **self_p)
{
    assert (self_p);
    kh_store_t *self = *self_p;
    if (!self)
        return;
    kh__ckpt_stop (self);               /* its connection closes before ours */
    sqlite3_stmt **stmts [] = { &self->begin, &self->begin_read, &self->commit,
                                &self->rollback, &self->insert, &self->by_id, &self->last,
                                &self->at_from, &self->audit_insert,
                                &self->audit_last, &self->audit_page, &self->item_of };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts [0]; i++)
        sqlite3_finalize (*stmts [i]);
    kh_select_destroy (&self->select);
    kh_catalogue_destroy (&self->catalogue);
    kh_state_destroy (&self->state);
    sqlite3_close (self->db);           /* every statement is finalized: cannot be busy */
    if (self->lock_fd != -1)
        close (self->lock_fd);          /* only now: the close may still write the WAL */
    zhashx_destroy (&self->links);
    free (self->undo);
    free (self->envs);
    free (self->path);
    free (self);
    *self_p = NULL;
}

uint64_t
kh_store_head (kh_store_t *self)
{
    assert (self);
    if (self->writer)
        return self->head;
    uint64_t seq, at;
    kh_problem_t why;
    return kh__store_last (self, &seq, &at, &why) == 0 ? seq : 0;
}

const char *
kh_store_path (kh_store_t *self)
{
    assert (self);
    return self->path;
}

/* ---------------------------------------------------------------- append */

/* Makes room for a batch of count: its envelopes and three link changes per message.
   Returns 0, or -1 if memory runs out (nothing is lost: the old arrays stay). */
static int
s_reserve (kh_store_t *self, size_t count)
{
    if (count > self->envs_cap) {
        kh_envelope_t *envs = (kh_envelope_t *) realloc (self->envs, count * sizeof *envs);
        if (!envs)
            return -1;
        self->envs = envs;
        self->envs_cap = count;
    }
    if (3 * count > self->undo_cap) {
        kh__store_undo_t *undo = (kh__store_undo_t *) realloc (self->undo, 3 * count * sizeof *undo);
        if (!undo)
            return -1;
        self->undo = undo;
        self->undo_cap = 3 * count;
    }
    return 0;
}

/* Validates every item into self->envs and results. Returns how many are valid. */
static size_t
s_validate (kh_store_t *self, const kh_store_item_t *items, size_t count,
            kh_store_result_t *results)
{
    size_t valid = 0;
    for (size_t i = 0; i < count; i++) {
        kh_store_result_t *result = &results [i];
        memset (result, 0, sizeof *result);
        kh_envelope_t *env = &self->envs [i];
        if (kh_envelope_check (items [i].data, items [i].size, env, &result->has_id,
                               &result->why) == 0) {
            result->has_id = true;
            valid++;
        }
        else
            result->code = result->why.code ? result->why.code : KH_EMALFORMED;
        if (result->has_id)
            memcpy (result->id, env->id, KH_ID_SIZE);
    }
    return valid;
}

/* Reads back the seq info of an id already stored into result (dup). The same id
   with other bytes is not a retry but a publisher reusing an id: result says VALUE
   then, and nothing is stored. If found is NULL, the id must be stored; else *found
   says whether it is (result untouched if not). Returns 0, or -1 with why set. */
static int
s_original (kh_store_t *self, const kh_store_item_t *item, const uint8_t id [KH_ID_SIZE],
            kh_store_result_t *result, bool *found, kh_problem_t *why)
{
    sqlite3_bind_blob (self->by_id, 1, id, KH_ID_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step (self->by_id);
    if (rc == SQLITE_ROW
    &&  ((size_t) sqlite3_column_bytes (self->by_id, 5) != item->size
    ||   memcmp (sqlite3_column_blob (self->by_id, 5), item->data, item->size) != 0)) {
        result->code = KH_EVALUE;
        result->in_batch = true;        /* depends on this batch: undone if it is */
        kh_problem (&result->why, KH_EVALUE, "id: already used by seq %lld for another message",
                    (long long) sqlite3_column_int64 (self->by_id, 0));
    }
    else
    if (rc == SQLITE_ROW) {
        kh_seqinfo_t *info = &result->info;
        info->seq = (uint64_t) sqlite3_column_int64 (self->by_id, 0);
        info->at = (uint64_t) sqlite3_column_int64 (self->by_id, 1);
        info->prev_type = (uint64_t) sqlite3_column_int64 (self->by_id, 2);
        info->prev_sender = (uint64_t) sqlite3_column_int64 (self->by_id, 3);
        info->prev_pair = (uint64_t) sqlite3_column_int64 (self->by_id, 4);
        result->dup = true;
    }
    else
    if (rc == SQLITE_DONE && !found)
        kh_problem (why, KH_ESTORE, "store: an id conflicted but cannot be found");
    else
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "read a duplicate");
    sqlite3_reset (self->by_id);
    if (found)
        *found = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || (rc == SQLITE_DONE && found) ? 0 : -1;
}

/* Answers a message that breaks a rule of the state (verdict): a retry of a message
   stored before is acknowledged as a duplicate all the same (PROTOCOL.md section 13:
   the id is checked first), any other is refused with the rule's code, a verdict of
   this batch's state (undone if the batch is). Returns 0, or -1 with why set. */
static int
s_refuse (kh_store_t *self, const kh_store_item_t *item, const kh_envelope_t *env,
          const kh_verdict_t *verdict, kh_store_result_t *result, kh_problem_t *why)
{
    bool found;
    if (s_original (self, item, env->id, result, &found, why))
        return -1;
    if (!found) {
        result->code = verdict->code;
        result->why = verdict->why;
        result->in_batch = true;
    }
    return 0;
}

/* Points slot [0..2] at the type, sender and pair links of env. Returns 0, or -1
   with why set if memory runs out. */
static int
s_slots (kh_store_t *self, const kh_envelope_t *env, uint64_t *slot [3], kh_problem_t *why)
{
    static const char kinds [3] = { 't', 's', 'p' };
    for (int i = 0; i < 3; i++) {
        char key [S_KEY_MAX];
        s_key (key, kinds [i], env->type, env->from);
        if (!(slot [i] = s_slot (self->links, key)))
            return kh_problem (why, KH_ENOMEM, "store: out of memory for links");
    }
    return 0;
}

/* Binds one row for env at seq with its links, the envelope's bytes and the seq of
   the item it is about (0: none, NULL in the table). */
static void
s_bind_row (kh_store_t *self, const kh_store_item_t *item, const kh_envelope_t *env,
            const kh_seqinfo_t *info, uint64_t of_item)
{
    sqlite3_stmt *stmt = self->insert;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) info->seq);
    sqlite3_bind_blob (stmt, 2, env->id, KH_ID_SIZE, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, env->type, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, env->from, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) env->ts);
    sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) info->at);
    sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) info->prev_type);
    sqlite3_bind_int64 (stmt, 8, (sqlite3_int64) info->prev_sender);
    sqlite3_bind_int64 (stmt, 9, (sqlite3_int64) info->prev_pair);
    sqlite3_bind_text (stmt, 10, env->title, -1, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 11, item->data, (int) item->size, SQLITE_STATIC);
    if (of_item)
        sqlite3_bind_int64 (stmt, 12, (sqlite3_int64) of_item);
    else
        sqlite3_bind_null (stmt, 12);
}

#ifndef NDEBUG
/* True if info, the row s_put is about to add, continues the head as kh_store.h
   promises: its seq is the next one (gap-free from 1), its at does not go back, and
   its previous-links point below it, the pair's at most the type's and the
   sender's. For use inside assert (). */
static bool
s_extends_head (const kh_store_t *self, const kh_seqinfo_t *info)
{
    return info->seq == self->head + 1 && info->at >= self->last_at
        && info->prev_type < info->seq && info->prev_sender < info->seq
        && info->prev_pair <= info->prev_type && info->prev_pair <= info->prev_sender;
}
#endif

/* Stores one valid envelope in the open transaction if the state allows it (the
   rules of PROTOCOL.md section 13, judged as committed at `at`), and changes the
   state by it; or finds it stored before. On a new row, head and the links advance
   (the old links go to the undo log). Returns 0 with result filled, or -1 with why
   set (the batch must roll back). */
static int
s_put (kh_store_t *self, const kh_store_item_t *item, const kh_envelope_t *env,
       uint64_t at, kh_store_result_t *result, kh_problem_t *why)
{
    kh_verdict_t verdict;
    if (kh_state_judge (self->state, env, item->data, item->size, at, &verdict, why))
        return -1;
    if (verdict.code != KH_OK)
        return s_refuse (self, item, env, &verdict, result, why);
    uint64_t *slot [3];
    if (s_slots (self, env, slot, why))
        return -1;
    kh_seqinfo_t info = { .seq = self->head + 1, .at = at, .prev_type = *slot [0],
                          .prev_sender = *slot [1], .prev_pair = *slot [2] };
    assert (s_extends_head (self, &info));
    s_bind_row (self, item, env, &info, verdict.item);
    int rc = sqlite3_step (self->insert);
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "insert");
    sqlite3_reset (self->insert);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes (self->db) == 0)
        return s_original (self, item, env->id, result, NULL, why);
    if (kh_state_apply (self->state, env, info.seq, why))
        return -1;
    for (int i = 0; i < 3; i++) {
        assert (self->undo_count < self->undo_cap);
        self->undo [self->undo_count++] = (kh__store_undo_t) { slot [i], *slot [i] };
        *slot [i] = info.seq;
    }
    self->head = info.seq;
    self->last_at = at;
    result->info = info;
    return 0;
}

/* Undoes the open batch: rolls the transaction back (if SQLite has not already), puts
   head, last_at and the links back, and turns every result not already failed (and
   every verdict of this batch: an id conflict may be with a row of it, a rule judged
   its state) into KH_ESTORE with why.
   Returns -1. */
static int
s_abort (kh_store_t *self, uint64_t head, uint64_t last_at, kh_store_result_t *results,
         size_t count, const kh_problem_t *why)
{
    if (!sqlite3_get_autocommit (self->db)) {
        kh_problem_t ignored;
        kh__store_run (self, self->rollback, "rollback", &ignored);
    }
    while (self->undo_count > 0) {
        kh__store_undo_t *undo = &self->undo [--self->undo_count];
        *undo->slot = undo->old;
    }
    self->head = head;
    self->last_at = last_at;
    assert (s_head_ok (self));
    int code = why->code == KH_EFULL ? KH_EFULL : KH_ESTORE;
    for (size_t i = 0; i < count; i++)
        if (results [i].code == KH_OK || results [i].in_batch) {
            results [i].code = code;
            results [i].in_batch = false;
            results [i].dup = false;
            memset (&results [i].info, 0, sizeof results [i].info);
            results [i].why = *why;
            results [i].why.code = code;
        }
    return -1;
}

/* Commits the open batch. Returns 0; or, if the commit failed, undoes the batch in
   memory (s_abort) and returns -1 if the failure leaves nothing of it on the disk,
   KH_STORE_UNKNOWN (and the store lost) if it may: SQLite writes the batch's WAL
   frames, the commit frame last, and then fsyncs the WAL, so after an I/O error
   (in a write or in the fsync) the frames may be whole on the disk, and the next
   open would find the batch committed. A full disk (SQLITE_FULL) fails a write
   before the commit frame is whole (WAL frames are not padded: the unix VFS
   promises power-safe overwrites), so it leaves nothing. */
static int
s_commit (kh_store_t *self, uint64_t head, uint64_t last_at, kh_store_result_t *results,
          size_t count, kh_problem_t *why)
{
    int rc = sqlite3_step (self->commit);
    int code = sqlite3_extended_errcode (self->db);
    if (rc != SQLITE_DONE)
        KH__STORE_FAIL (self, why, "commit");
    sqlite3_reset (self->commit);
    if (rc == SQLITE_DONE)
        return 0;
    s_abort (self, head, last_at, results, count, why);
    if ((code & 0xff) != SQLITE_IOERR && (code & 0xff) != SQLITE_CORRUPT)
        return -1;
    self->lost = true;
    return KH_STORE_UNKNOWN;
}

/* Opens the batch's transaction. If someone else wrote to the store since we last
   looked (by hand: the writer's lock keeps other writers out), reloads head and
   links under SQLite's write lock so that seq stays gap-free. Returns 0, or -1 with
   why set. */
static int
s_begin (kh_store_t *self, kh_problem_t *why)
{
    if (kh__store_run (self, self->begin, "begin", why))
        return -1;
    uint64_t seq, at;
    if (kh__store_last (self, &seq, &at, why))
        return -1;
    return seq != self->head ? s_load_state (self, why) : 0;
}

void
kh__store_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
    sqlite3_bind_text (stmt, index, text ? text : "", -1, SQLITE_STATIC);
}

int
kh__store_audit_last (kh_store_t *self, uint64_t *seq, kh_problem_t *why)
{
    int rc = sqlite3_step (self->audit_last);
    *seq = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (self->audit_last, 0) : 0;
    if (rc != SQLITE_ROW)
        KH__STORE_FAIL (self, why, "read the audit's head");
    sqlite3_reset (self->audit_last);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Appends the count audit records in the open transaction, each under the next seq
   of the audit (read under the write lock: the audit has no writer but this one).
   Returns 0, or -1 with why set (the batch must roll back). */
static int
s_put_audits (kh_store_t *self, const kh_audit_t *audits, size_t count, kh_problem_t *why)
{
    uint64_t seq;
    if (count == 0 || kh__store_audit_last (self, &seq, why))
        return count == 0 ? 0 : -1;
    sqlite3_stmt *stmt = self->audit_insert;
    for (size_t i = 0; i < count; i++) {
        const kh_audit_t *rec = &audits [i];
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) ++seq);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) (rec->at > KH__STORE_SEQ_MAX ? KH__STORE_SEQ_MAX
                                                                          : rec->at));
        kh__store_bind_text (stmt, 3, rec->endpoint);
        kh__store_bind_text (stmt, 4, rec->command);
        sqlite3_bind_int (stmt, 5, rec->code);
        sqlite3_bind_int64 (stmt, 6, rec->size);
        kh__store_bind_text (stmt, 7, rec->peer);
        kh__store_bind_text (stmt, 8, rec->claimed);
        kh__store_bind_text (stmt, 9, rec->ags);
        kh__store_bind_text (stmt, 10, rec->role);
        kh__store_bind_text (stmt, 11, rec->key);
        kh__store_bind_text (stmt, 12, rec->reason);
        int rc = sqlite3_step (stmt);
        if (rc != SQLITE_DONE)
            KH__STORE_FAIL (self, why, "insert an audit record");
        sqlite3_reset (stmt);
        if (rc != SQLITE_DONE)
            return -1;
    }
    sqlite3_clear_bindings (stmt);      /* no pointer into audits outlives the call */
    return 0;
}

int
kh_store_commit (kh_store_t *self, const kh_store_item_t *items, size_t count,
                 kh_store_result_t *results, const kh_audit_t *audits, size_t audit_count)
{
    assert (self && self->writer);
    assert (count == 0 || (items && results));
    assert (audit_count == 0 || audits);
    kh_problem_t why = { 0 };
    if (count == 0 && audit_count == 0)
        return 0;
    if (self->lost) {
        kh_problem (&why, KH_ESTORE, "store: a commit's outcome is unknown; close the "
                    "store and open it again");
        for (size_t i = 0; i < count; i++)
            results [i] = (kh_store_result_t) { .code = KH_ESTORE, .why = why };
        return KH_STORE_UNKNOWN;
    }
    uint64_t head = self->head, last_at = self->last_at;
    self->undo_count = 0;
    if (s_reserve (self, count)) {
        for (size_t i = 0; i < count; i++)
            memset (&results [i], 0, sizeof results [i]);
        kh_problem (&why, KH_ENOMEM, "store: out of memory for a batch of %zu", count);
        return s_abort (self, head, last_at, results, count, &why);
    }
    if (s_validate (self, items, count, results) == 0 && audit_count == 0)
        return 0;                       /* nothing to store: no transaction needed */
    if (s_checkpoint_due (self, &why)) {
        s_abort (self, head, last_at, results, count, &why);
        return KH_STORE_UNKNOWN;
    }
    if (s_begin (self, &why))
        return s_abort (self, head, last_at, results, count, &why);
    head = self->head;                  /* s_begin may have reloaded it */
    last_at = self->last_at;
    uint64_t now = kh_now_ms ();
    uint64_t at = now > self->last_at ? now : self->last_at;
    for (size_t i = 0; i < count; i++)
        if (results [i].code == KH_OK
        &&  s_put (self, &items [i], &self->envs [i], at, &results [i], &why))
            return s_abort (self, head, last_at, results, count, &why);
    if (s_put_audits (self, audits, audit_count, &why))
        return s_abort (self, head, last_at, results, count, &why);
    int rc = s_commit (self, head, last_at, results, count, &why);
    if (rc)
        return rc;
    self->undo_count = 0;
    assert (s_head_ok (self));
    return 0;
}

int
kh_store_append (kh_store_t *self, const kh_store_item_t *items, size_t count,
                 kh_store_result_t *results)
{
    return kh_store_commit (self, items, count, results, NULL, 0);
}

/* ---------------------------------------------------------------- derived */

/* Ends a transaction of the derived tables (rc: how its work went): commits it, or
   rolls it back. A commit that fails with an I/O error leaves the store lost, as
   for a batch (s_commit): its outcome is unknown. Returns 0, -1 (why set), or
   KH_STORE_UNKNOWN. */
static int
s_end_derived (kh_store_t *self, int rc, kh_problem_t *why)
{
    kh_problem_t ignored;
    if (rc == 0) {
        rc = sqlite3_step (self->commit);
        int code = sqlite3_extended_errcode (self->db) & 0xff;
        if (rc != SQLITE_DONE)
            KH__STORE_FAIL (self, why, "commit");
        sqlite3_reset (self->commit);
        rc = rc == SQLITE_DONE ? 0 : code == SQLITE_IOERR || code == SQLITE_CORRUPT
                                     ? KH_STORE_UNKNOWN : -1;
    }
    if (!sqlite3_get_autocommit (self->db))
        kh__store_run (self, self->rollback, "rollback", &ignored);
    if (rc == KH_STORE_UNKNOWN)
        self->lost = true;
    return rc;
}

/* Derives the state from the log in one transaction of its own (kh_state_rebuild).
   Returns 0, or -1 / KH_STORE_UNKNOWN with why set. */
static int
s_rebuild (kh_store_t *self, kh_state_counts_t *counts, kh_problem_t *why)
{
    if (kh__store_run (self, self->begin, "begin", why))
        return -1;
    return s_end_derived (self, kh_state_rebuild (self->state, counts, why), why);
}

int
kh_store_rebuild_state (kh_store_t *self, kh_state_counts_t *counts, kh_problem_t *why)
{
    assert (self && self->writer && counts);
    memset (counts, 0, sizeof *counts);
    if (self->lost)
        return kh_problem (why, KH_ESTORE, "store: a commit's outcome is unknown; close "
                           "the store and open it again");
    return s_rebuild (self, counts, why);
}

int
kh_store_index (kh_store_t *self, size_t max, size_t *count, kh_problem_t *why)
{
    assert (self && self->writer && count);
    *count = 0;
    if (self->lost)
        return kh_problem (why, KH_ESTORE, "store: a commit's outcome is unknown; close "
                           "the store and open it again");
    if (s_checkpoint_due (self, why))
        return KH_STORE_UNKNOWN;
    if (kh__store_run (self, self->begin, "begin", why))
        return -1;
    int rc = s_end_derived (self, kh_state_index (self->state, max, count, why), why);
    if (rc)
        *count = 0;
    return rc;
}
