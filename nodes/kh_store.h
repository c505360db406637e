/*  kh_store.h - the recorder's SQLite store: appends envelopes gap-free, answers queries.

    A store is one SQLite database in WAL mode holding the tables of nodes/kreishub.sql:
    the log of messages, the audit of what the broker refused, and the items' current
    state derived from the log (kh_state.h): each message is judged against the
    state and changes it in the transaction that stores it.
    A writer (kh_store_new) is the only one that appends (its lock keeps a second
    writer out, in this process or another): it keeps the head (the highest seq)
    and the previous-seq links per type, per sender and per type and sender in
    memory, and assigns seq, at and the links itself. kh_store_append
    commits a whole batch of envelopes in one transaction (group commit): with
    KH_SYNC_FULL the WAL is fsync'd once per batch, never per message.

    Readers (kh_store_new_reader) open the same file read-only and answer queries
    while the writer commits (WAL lets one writer and many readers run concurrently).
    A store object belongs to one thread at a time; it may be handed to another
    thread (the recorder gives its reader to the query actor) but never shared.

    Invariants of the table that this class keeps: seq is gap-free from 1; every id
    is stored once; `at` never decreases as seq grows (a clock stepping back is
    clamped), so queries map an `at` range to a seq range by a binary search;
    every previous-link names an earlier row. The writer asserts them of each row it
    adds (builds without NDEBUG); what it loads from the file is checked instead,
    since a file may have been edited by hand.
*/
#ifndef KH_STORE_H_INCLUDED
#define KH_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kh_codec.h"
#include "kh_state.h"
#include "kh_sync.h"

#ifdef __cplusplus
extern "C" {
#endif


/* One envelope to append: bytes as they came off the wire, not yet validated. */
typedef struct {
    const void *data;
    size_t      size;
} kh_store_item_t;

/* What became of one envelope of a batch. code is KH_OK when the envelope is stored
   (dup false: now, under info.seq; dup true: before, info is the original's), else
   a kh_err_t with why saying what went wrong: a validation error, a rule of the
   state (NO_ITEM, NOT_OWNER, TRANSITION, CLOSED, UNKNOWN_FIELD: PROTOCOL.md section
   13), VALUE for an id stored with other bytes, or STORE/FULL/NOMEM. */
typedef struct {
    int          code;                  /* KH_OK, a validation error, or KH_ESTORE */
    bool         dup;                   /* the id was already stored (info: original) */
    kh_seqinfo_t info;                  /* where the message stands in the log */
    bool         has_id;                /* id could be read from the envelope */
    uint8_t      id [KH_ID_SIZE];       /* the message id, if has_id */
    kh_problem_t why;                   /* code and reason when code != KH_OK */
    bool         in_batch;              /* code was judged in the batch's transaction (an
                                           id stored with other bytes, a rule of the
                                           state): it is undone with the batch */
} kh_store_result_t;

typedef struct _kh_store_t kh_store_t;

/* Opens (creating if missing) the store at path for appending. Before it writes
   anything it refuses, leaving the file as it is: a file it may not write, or one
   in a directory it may not write (the WAL and its index go beside it), and any
   file that is neither empty (missing, 0 bytes, or an SQLite database holding no
   object at all) nor a kreishub store: one whose tables, columns and indexes are
   exactly what this program makes of its user_version, which is not newer than
   KH_SQL_VERSION. Then it takes the writer's lock, an exclusive flock on
   PATH-lock beside the store, held until destroy: while another writer (in any
   process) holds it, it fails with KH_EBUSY, the holder's pid in the reason. Then
   it sets WAL mode (and fails if SQLite cannot give it),
   synchronous per sync, a busy timeout; creates the schema in an empty database
   and migrates an older one step by step; derives the state from the log if a
   migration asks for it (kh_store_rebuild_state). Loads the head and the previous-seq
   links from one snapshot and refuses a table where they do not fit (a negative
   seq, a link above the head). What a WAL left behind is written into the store
   file and fsync'd before it returns (a disk that fails that fails the open).
   Returns the store, or NULL with why set (KH_ESTORE, KH_EBUSY, KH_EFULL, or
   KH_ENOMEM) and nothing left open. */
kh_store_t *kh_store_new (const char *path, kh_sync_t sync, kh_problem_t *why);

/* Opens an existing store read-only, for its queries (kh_store_query, _items,
   _stats, _audit_query) and kh_store_head only.
   Returns the store, or NULL with why set: the file is missing, empty, not a
   kreishub store (as kh_store_new judges it), or of another version. */
kh_store_t *kh_store_new_reader (const char *path, kh_problem_t *why);

/* Closes the store and frees it; sets *self_p to NULL. Safe on NULL. A batch is never
   left half-committed: kh_store_append has committed or rolled back before it returns. */
void kh_store_destroy (kh_store_t **self_p);

/* kh_store_append's answer when a commit failed with an I/O error: the batch may be
   on the disk whole, or not at all, and no one can tell until the store is opened
   again (a new open reads what the disk holds and makes it durable). */
#define KH_STORE_UNKNOWN (-2)

/* Appends a batch of count envelopes in one transaction and fills results [i] for
   items [i]. Each envelope is validated first: an invalid one fails alone (its result
   carries the problem) and the rest proceed. An id already stored, before or earlier
   in the same batch, is not stored again: its result is dup with the original's seq
   info. Every other envelope is judged in batch order against the state as the
   envelopes before it left it (kh_state_judge, with the commit clock as its time):
   one that breaks a rule fails alone, not stored (its result carries the rule's
   code); the rest get seq = head + 1, in batch order, at = the commit clock and
   their previous-seq links, and change the state. Returns 0 once the transaction is committed
   (with the durability of the store's sync mode). If an SQLite step fails, or the
   commit fails in a way that leaves nothing on the disk, the transaction is rolled
   back, the head and links are as before the call, every result that was not
   already a validation failure becomes KH_EFULL if the disk is full, else
   KH_ESTORE, and -1 is returned: nothing of the batch is stored. If the commit
   fails with an I/O error, it returns KH_STORE_UNKNOWN, the results say KH_ESTORE
   but must not be passed on as "not stored", and every later append returns
   KH_STORE_UNKNOWN too: close the store and open it again. The same if a
   checkpoint fails with an I/O error: one a batch runs first (kh_store_checkpoint),
   or a pass of the checkpointer thread whose outcome it reads. Only a writer may
   append. */
int kh_store_append (kh_store_t *self, const kh_store_item_t *items, size_t count,
                     kh_store_result_t *results);

/* As kh_store_append, and in the same transaction appends the audit_count records
   at audits (the broker's, as they came) to the audit, each under the next seq of
   the audit (gap-free from 1); a batch may hold only records of the audit. They
   share the batch's fate: stored with it once 0 is returned, not stored with it
   when -1 is, unknown with it after KH_STORE_UNKNOWN. */
int kh_store_commit (kh_store_t *self, const kh_store_item_t *items, size_t count,
                     kh_store_result_t *results, const kh_audit_t *audits,
                     size_t audit_count);

/* Answers one page of query q into w (created by the caller with the query's req):
   matching records in ascending seq, at most q->limit (0 or above KH_QUERY_PAGE_MAX:
   KH_QUERY_PAGE_MAX) and ending early once the page nears KH_QUERY_PAGE_BYTES (but
   never empty for that reason). *more says whether more rows match beyond the page;
   *next is the seq to ask for next (since_seq): the last row's seq + 1, or, for an
   empty page, the query's own first seq. Returns 0, or -1 with why set (KH_ESTORE
   for a database failure, KH_ENOMEM). Works on writers and readers. */
int kh_store_query (kh_store_t *self, const kh_query_t *q, kh_rows_writer_t *w,
                    bool *more, uint64_t *next, kh_problem_t *why);

/* Answers one page of the items query q into w (created with the query's req) from
   the items' state (kh_catalogue.h, PROTOCOL.md section 14): items by last_seq
   descending, below q->before, at most q->limit (0 or above KH_QUERY_PAGE_MAX:
   KH_QUERY_PAGE_MAX), ending early near KH_QUERY_PAGE_BYTES; expiry judged by today
   in Europe/Berlin at the store's clock. *more says whether more match; *next is
   the before of the next page (the last row's last_seq, q->before if the page is
   empty). Returns 0, or -1 with why set (KH_ESTORE, KH_ENOMEM). */
int kh_store_items (kh_store_t *self, const kh_items_query_t *q, kh_rows_writer_t *w,
                    bool *more, uint64_t *next, kh_problem_t *why);

/* Counts the log as the stats query q asks (kh_catalogue_stats) into a new count in
   *stats_p (free with kh_stats_destroy), in one snapshot. Returns 0, or -1 with
   why set (KH_EQUERY, KH_ESTORE, KH_ENOMEM) and *stats_p NULL. */
int kh_store_stats (kh_store_t *self, const kh_stats_query_t *q, kh_stats_t **stats_p,
                    kh_problem_t *why);

/* Returns the SQL text kh_store_query runs for q (its values are parameters), valid
   until the store's next query: for EXPLAIN QUERY PLAN. */
const char *kh_store_query_sql (kh_store_t *self, const kh_query_t *q);

/* Returns the highest committed seq (0 for an empty store). A writer knows it; a
   reader asks the database each time (0 if that fails). */
uint64_t kh_store_head (kh_store_t *self);

/* Answers one page of the audit query q into w (created with the query's req), as
   kh_store_query answers a query: records in ascending seq, at most q->limit (0 or
   above KH_QUERY_PAGE_MAX: KH_QUERY_PAGE_MAX), those at or after since_at and at or
   before until_at (the broker's clock, which is not ordered by seq), of code q->code
   (0: any) and whose claimed or authenticated AGS is q->ags ("": any); *more and
   *next as there. Returns 0, or -1 with why set (KH_ESTORE, KH_ENOMEM). */
int kh_store_audit_query (kh_store_t *self, const kh_audit_query_t *q,
                          kh_rows_writer_t *w, bool *more, uint64_t *next,
                          kh_problem_t *why);

/* Returns the audit's highest seq (0 if it holds nothing, or if asking fails). */
uint64_t kh_store_audit_head (kh_store_t *self);

/* Derives the current state and the search index from the log again, in one
   transaction, as a live store would have them (kh_state_rebuild), and fills counts.
   Returns 0; -1 with why set if it failed (nothing changed); KH_STORE_UNKNOWN if its
   commit failed with an I/O error (the store is lost then, as after kh_store_commit).
   Only a writer. */
int kh_store_rebuild_state (kh_store_t *self, kh_state_counts_t *counts, kh_problem_t *why);

/* Brings up to max more messages into the search index, which follows the log
   outside the batches' transactions, in a transaction of its own. Sets *count to
   how many it read: 0 once the index holds the whole log. Returns 0, or -1 /
   KH_STORE_UNKNOWN as kh_store_rebuild_state. Only a writer. */
int kh_store_index (kh_store_t *self, size_t max, size_t *count, kh_problem_t *why);

/* Writes what the WAL holds into the store file as far as no reader still needs it
   (a passive checkpoint), for a writer between batches: commits do not checkpoint
   (SQLite's automatic checkpoint is off). Under constant load a writer's own thread,
   the checkpointer, does it beside the batches once 10,000 frames wait, and the next
   batch checkpoints the few frames committed meanwhile, so that the WAL starts
   again from its start; a batch that finds the WAL 40,000 frames long waits for the
   checkpointer and checkpoints first, so that the WAL stays bounded (~160 MB).
   Waits for a pass of the checkpointer in progress first. Returns 0; -1 with why set if it
   failed for want of memory or the like; KH_STORE_UNKNOWN if it, or the
   checkpointer's last pass, failed with an I/O error (the store is lost then, as
   after kh_store_commit: the file's state is unknown until it is opened again).
   Only a writer. */
int kh_store_checkpoint (kh_store_t *self, kh_problem_t *why);

/* Counts how the WAL went into the store file before batches: the checkpointer's
   passes (*passes) and the checkpoints batches ran themselves (*inline_count). */
void kh_store_checkpoints (kh_store_t *self, uint64_t *passes, uint64_t *inline_count);

/* Returns how many frames of the WAL the writer's last checkpoint left to write into
   the store file (0 for a reader). */
int kh_store_wal_pending (kh_store_t *self);

/* Returns the path the store was opened with. */
const char *kh_store_path (kh_store_t *self);

#ifdef __cplusplus
}
#endif
#endif
