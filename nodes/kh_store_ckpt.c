/*  kh_store_ckpt.c - the writer's checkpointer: a thread with a connection of its own
    that writes the WAL into the store file beside the writer, so that a batch does
    not wait while thousands of pages are copied.

    The writer decides when (s_checkpoint_due in kh_store.c): it asks for a pass once
    the WAL holds wal_bound frames, reads the pass's outcome before a later batch, and
    then checkpoints the few frames committed meanwhile itself, which completes the
    checkpoint so that its next commit starts the WAL again from its start (a pass
    beside a writer that commits all the time never completes on its own).

    The thread's connection checkpoints with synchronous=FULL, as the writer's own:
    SQLite syncs the WAL before it copies frames into the store file. It fsyncs the
    store file only when a checkpoint reaches the WAL's end, which a pass racing the
    commits seldom does, and counts the frames copied either way; that is safe, since
    only a complete checkpoint (the writer's, which fsyncs the store file) lets the
    WAL start again and its frames be overwritten. The thread shares nothing with the
    writer's connection; SQLite's locks order the two. A pass is PASSIVE: it never
    waits for the writer. The writer waits for a pass only when it checkpoints itself
    (kh_store_checkpoint) while one runs. */
#include <assert.h>
#include "kh_store_priv.h"

#define S_CMD_PASS "PASS"

/* What the thread answers for a pass: SQLite's code, the WAL's frames when the pass
   began, and how many of them are in the store file now. */
typedef struct {
    int rc;
    int frames;
    int done;
} s_pass_t;

/* Opens the thread's connection to the store at path, with the WAL open (a read),
   or returns NULL: then every pass fails with SQLITE_CANTOPEN. */
static sqlite3 *
s_connect (const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK
    ||  sqlite3_extended_result_codes (db, 1) != SQLITE_OK
    ||  sqlite3_exec (db, "PRAGMA synchronous = FULL; SELECT count(*) FROM sqlite_master",
                      NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close (db);
        return NULL;
    }
    return db;
}

/* The thread: answers every PASS with one PASSIVE checkpoint's outcome (s_pass_t),
   until $TERM. args is the store's path, which outlives the thread. */
static void
s_actor (zsock_t *pipe, void *args)
{
    sqlite3 *db = s_connect ((const char *) args);
    void *handle = zsock_resolve (pipe);
    zsock_signal (pipe, 0);
    for (;;) {
        char command [8];
        int size = zmq_recv (handle, command, sizeof command, 0);
        if (size == -1 && zmq_errno () == EINTR)
            continue;                   /* a signal: the store will say $TERM */
        if (size != (int) strlen (S_CMD_PASS)
        ||  memcmp (command, S_CMD_PASS, strlen (S_CMD_PASS)) != 0)
            break;                      /* $TERM, or the pipe is gone */
        s_pass_t pass = { SQLITE_CANTOPEN, 0, 0 };
        if (db)
            pass.rc = sqlite3_wal_checkpoint_v2 (db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                                 &pass.frames, &pass.done);
        if (zmq_send (handle, &pass, sizeof pass, 0) == -1)
            break;
    }
    sqlite3_close (db);
}

int
kh__ckpt_start (kh_store_t *self, kh_problem_t *why)
{
    assert (self && self->writer && !self->ckpt);
    self->ckpt = zactor_new (s_actor, self->path);
    if (!self->ckpt)
        return kh_problem (why, KH_ENOMEM, "store: cannot start the checkpointer of %s",
                           self->path);
    return 0;
}

void
kh__ckpt_stop (kh_store_t *self)
{
    assert (self);
    zactor_destroy (&self->ckpt);       /* waits for a pass in progress */
    self->ckpt_busy = false;
}

void
kh__ckpt_ask (kh_store_t *self)
{
    assert (self && self->ckpt && !self->ckpt_busy);
    if (zstr_send (self->ckpt, S_CMD_PASS) == 0)
        self->ckpt_busy = true;
}

int
kh__ckpt_collect (kh_store_t *self, bool wait, kh_problem_t *why)
{
    assert (self);
    if (!self->ckpt_busy)
        return 0;
    s_pass_t pass;
    void *handle = zsock_resolve (zactor_sock (self->ckpt));
    int size;
    do
        size = zmq_recv (handle, &pass, sizeof pass, wait ? 0 : ZMQ_DONTWAIT);
    while (size == -1 && wait && zmq_errno () == EINTR);
    if (size == -1)
        return 0;                       /* still at work (or interrupted) */
    self->ckpt_busy = false;
    if (size != (int) sizeof pass || pass.rc == SQLITE_CANTOPEN) {
        /* The thread ended (czmq's signal), or it has no connection: the writer
           checkpoints itself from now on, as without a checkpointer. */
        kh__ckpt_stop (self);
        self->ckpt_off = true;
        return 0;
    }
    self->ckpt_passes++;
    if (pass.rc == SQLITE_OK) {
        /* done counts from the start of the WAL the pass saw; if it is above what
           the WAL holds now, the WAL began again since (the pass was complete). */
        self->wal_done = pass.done <= self->wal_frames ? pass.done : 0;
        self->ckpt_finish = true;
        return 0;
    }
    if ((pass.rc & 0xff) == SQLITE_IOERR || (pass.rc & 0xff) == SQLITE_CORRUPT) {
        /* As for the writer's own checkpoint (kh_store_checkpoint): the store file
           may hold pages the kernel could not write but shows as written. */
        self->lost = true;
        kh_problem (why, KH_ESTORE, "store: the checkpointer could not write the WAL "
                    "into %s: %s", self->path, sqlite3_errstr (pass.rc));
        return KH_STORE_UNKNOWN;
    }
    return 0;                           /* busy, full, out of memory: asked again later */
}
