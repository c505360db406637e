/*  kh_store_priv.h - what the files of the store share: the store's fields and its
    statement helpers. Not part of the store's interface (kh_store.h). */
#ifndef KH_STORE_PRIV_H_INCLUDED
#define KH_STORE_PRIV_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include <czmq.h>
#include "kh_catalogue.h"
#include "kh_select.h"
#include "kh_state.h"
#include "kh_store.h"

#define KH__STORE_SEQ_MAX ((uint64_t) INT64_MAX)    /* SQLite integers are signed */

/* One change to a previous-seq slot in the open transaction, undone on rollback. */
typedef struct {
    uint64_t *slot;                     /* lives in self->links until destroy */
    uint64_t  old;                      /* its value before the change; 0 is "none" */
} kh__store_undo_t;

/*  A store. For a writer, head, last_at and links always describe the committed
    table, except while kh_store_append runs: then they include the open transaction's
    rows, and the undo log holds what to put back if it rolls back. A slot in links is
    never removed before destroy (a slot of 0 means "none"), so undo entries may point
    at slots. A reader uses only db, path and the statements. */
struct _kh_store_t {
    sqlite3       *db;
    char          *path;                /* as opened */
    bool           writer;              /* false: opened read-only */
    bool           mapped;              /* reader: its queries read the file mapped
                                           (kh_store_read.c) */
    bool           lost;                /* writer: a commit's outcome is unknown (an I/O
                                           error): no more appends (KH_STORE_UNKNOWN) */
    int            lock_fd;             /* writer: PATH-lock, flock'd while open; or -1 */
    uint64_t       head;                /* writer: highest committed seq, 0 if empty */
    uint64_t       last_at;             /* writer: `at` of the head row, the next one's floor */
    zhashx_t      *links;               /* writer: "t:type", "s:from", "p:type/from" -> seq */
    sqlite3_stmt  *begin;               /* writer: BEGIN IMMEDIATE, for a batch */
    sqlite3_stmt  *begin_read;          /* BEGIN, for a query's snapshot */
    sqlite3_stmt  *commit;
    sqlite3_stmt  *rollback;
    sqlite3_stmt  *insert;              /* writer: one row, nothing if the id exists */
    sqlite3_stmt  *by_id;               /* writer: seq info of a stored id */
    sqlite3_stmt  *audit_insert;        /* writer: one audit row */
    sqlite3_stmt  *audit_last;          /* the audit's highest seq, 0 if none */
    sqlite3_stmt  *audit_page;          /* a page of the audit, prepared on first use */
    sqlite3_stmt  *last;                /* seq and at of the head row */
    sqlite3_stmt  *at_from;             /* at of the first row at or after a seq */
    sqlite3_stmt  *item_of;             /* the seq of the item whose id is given */
    kh_select_t   *select;              /* queries, built from their filters */
    kh_catalogue_t *catalogue;          /* items and counts */
    kh__store_undo_t      *undo;                /* writer: the open batch's link changes */
    size_t         undo_count;
    size_t         undo_cap;
    kh_envelope_t *envs;                /* writer: the batch's envelopes, as validated */
    size_t         envs_cap;
    kh_state_t    *state;               /* writer: the items' current state */
    int            wal_frames;          /* writer: frames in the WAL after its last commit */
    int            wal_done;            /* writer: of them, written into the file by the
                                           last checkpoint */
    int            wal_bound;           /* writer: frames waiting that make a batch or an
                                           index chunk ask the checkpointer for a pass
                                           (S_WAL_FRAMES) */
    zactor_t      *ckpt;                /* writer: the checkpointer (kh_store_ckpt.c),
                                           started when the WAL first needs it */
    bool           ckpt_off;            /* writer: it could not start, or stopped: the
                                           batches checkpoint themselves */
    bool           ckpt_busy;           /* writer: a pass asked, its outcome not read */
    bool           ckpt_finish;         /* writer: a pass ended; the next batch
                                           checkpoints what came since itself */
    uint64_t       ckpt_passes;         /* writer: the checkpointer's passes read */
    uint64_t       ckpt_inline;         /* writer: checkpoints a batch ran itself */
};

/* The checkpointer (kh_store_ckpt.c), a writer's thread that writes the WAL into
   the store file beside it, started the first time the WAL holds wal_bound frames
   (a store that never does starts no thread). kh__ckpt_start starts it (0, or -1 with
   why set); kh__ckpt_stop stops it, waiting for a pass in progress; safe if not
   started.
   kh__ckpt_ask asks for one PASSIVE checkpoint (ckpt_busy until its outcome is
   read). kh__ckpt_collect reads the outcome of the pass asked, if it has ended (or,
   with wait, once it has): on success it sets wal_done and ckpt_finish; an I/O error
   sets lost and returns KH_STORE_UNKNOWN with why set; a thread that ended or could
   not connect is stopped (the writer checkpoints itself then); anything else (the
   pass found another checkpoint running, the disk full) returns 0, to be asked
   again later. */
int kh__ckpt_start (kh_store_t *self, kh_problem_t *why);
void kh__ckpt_stop (kh_store_t *self);
void kh__ckpt_ask (kh_store_t *self);
int kh__ckpt_collect (kh_store_t *self, bool wait, kh_problem_t *why);

/* Every SQLite failure is raised through KH__STORE_FAIL, so that a reason says where
   it began. */
#define KH__STORE_FAIL(self, why, what) \
    kh__store_fail ((self), (why), (what), __FILE__, __LINE__)

/* Sets why to KH_ESTORE naming what failed, SQLite's message, the file and the line;
   to KH_EFULL if SQLite found the disk full. Returns -1. */
int kh__store_fail (kh_store_t *self, kh_problem_t *why, const char *what, const char *file,
                    int line);

/* Prepares sql into *stmt for repeated use. Returns 0, or -1 with why set. */
int kh__store_prepare (kh_store_t *self, const char *sql, sqlite3_stmt **stmt,
                       kh_problem_t *why);

/* Runs a statement that returns no rows (BEGIN, COMMIT, ROLLBACK) and resets it.
   Returns 0, or -1 with why set. */
int kh__store_run (kh_store_t *self, sqlite3_stmt *stmt, const char *what, kh_problem_t *why);

/* Ends a read transaction begun with begin_read: commits it, or rolls it back if
   that fails. rc is the outcome of the reads; returns it, or -1 if the commit
   failed (why set then, unless rc had already failed). */
int kh__store_end_read (kh_store_t *self, int rc, kh_problem_t *why);

/* Reads the head row's seq and at (both 0 for an empty store). Returns 0 or -1. */
int kh__store_last (kh_store_t *self, uint64_t *seq, uint64_t *at, kh_problem_t *why);

/* Reads the audit's highest seq into *seq (0 for none). Returns 0, or -1 with why
   set. */
int kh__store_audit_last (kh_store_t *self, uint64_t *seq, kh_problem_t *why);

/* Sets the frames waiting in the WAL that make the next batch or index chunk ask
   the checkpointer for a pass (default 10,000; at 4 times as many it checkpoints
   itself), so that tests can reach it with a few messages. */
void kh__store_set_wal_bound (kh_store_t *self, int frames);

/* Binds text as parameter index of stmt, "" for NULL. */
void kh__store_bind_text (sqlite3_stmt *stmt, int index, const char *text);

#endif
