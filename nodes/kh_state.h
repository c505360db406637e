/*  kh_state.h - the current state of the items, derived from the log (PROTOCOL.md 13).

    The state is what the tables item, participant and named of nodes/kreishub.sql
    (version 3) hold, with message.item: per item its fields after revisions, its
    stage in the lifecycle, who is interested, joined, declined or left, and its last
    activity; and the full-text index search. A state works on its store's
    connection, inside the store's transactions, and keeps nothing of its own beyond
    one message in hand: a rollback undoes the state with the log.

    For each valid message, in seq order, the store asks kh_state_judge whether the
    state allows it (the rules of PROTOCOL.md section 13) and, once it has stored the
    message, kh_state_apply changes the state by it; both in the transaction that
    stores the message, so that the state always describes the committed log.
    kh_state_rebuild derives the whole state from the log again, through the same
    two calls, with each message's own commit time: a rebuilt state is the live one.
    The search index follows the log a little later (kh_state_index), so that the
    commit of a batch does not wait for it; derived.search_seq says how far it is.
*/
#ifndef KH_STATE_H_INCLUDED
#define KH_STATE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_state_t kh_state_t;

/* What the state says of a message it judged. */
typedef struct {
    int          code;                  /* KH_OK, or the rule it breaks (section 13) */
    uint64_t     item;                  /* the seq of the item it is about (its
                                           message.item); 0 for an item, and NO_ITEM */
    kh_problem_t why;                   /* the code and a reason, if it breaks one */
} kh_verdict_t;

/* What kh_state_rebuild found in the log. */
typedef struct {
    uint64_t messages;                  /* rows of the log read */
    uint64_t items;                     /* items it now holds */
    uint64_t refused;                   /* rows that break a rule: they change nothing */
    uint64_t unreadable;                /* rows that are no valid envelope today */
    uint64_t indexed;                   /* rows whose texts are in the search index */
} kh_state_counts_t;

/* Creates the state of the store whose writer connection is db (of version 3, or
   the version-3 tables at least), preparing its statements there. Returns it, or
   NULL with why set (KH_ESTORE, KH_ENOMEM). */
kh_state_t *kh_state_new (sqlite3 *db, kh_problem_t *why);

/* Finalizes the statements and frees the state; sets *self_p to NULL. Safe on NULL.
   Must come before the connection is closed. */
void kh_state_destroy (kh_state_t **self_p);

/* Judges the valid envelope env (data and size: its bytes, checked by
   kh_envelope_check) against the state, as a message committed at `at` (ms since
   the epoch, the recorder's clock: it judges expiry). Fills verdict: KH_OK if the
   state allows it, else the first rule it breaks (NO_ITEM, NOT_OWNER, TRANSITION,
   CLOSED, UNKNOWN_FIELD) with a reason. Keeps the message in hand for
   kh_state_apply. Writes nothing. Returns 0, or -1 with why set if the database
   fails (the batch must roll back). */
int kh_state_judge (kh_state_t *self, const kh_envelope_t *env, const void *data,
                    size_t size, uint64_t at, kh_verdict_t *verdict, kh_problem_t *why);

/* Changes the state by the message kh_state_judge allowed last (env the same), now
   stored under seq. Returns 0, or -1 with why set (the batch must roll back). */
int kh_state_apply (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                    kh_problem_t *why);

/* Adds the texts of up to max messages after derived.search_seq to the search index,
   in seq order, and moves search_seq past them, in the caller's transaction. Sets
   *count to how many it read (0: the index holds the whole log). Returns 0, or -1
   with why set. */
int kh_state_index (kh_state_t *self, size_t max, size_t *count, kh_problem_t *why);

/* Derives the whole state and search index from the log again, in the caller's
   transaction: empties them, then judges and applies every row of the log in seq
   order with its stored commit time, and sets derived to (pending 0, search_seq the
   last seq). A row that is no valid envelope today, or that breaks a rule, changes
   nothing (counted; its message.item is NULL, or the item it names). Fills counts.
   Returns 0, or -1 with why set. */
int kh_state_rebuild (kh_state_t *self, kh_state_counts_t *counts, kh_problem_t *why);

/* Reads derived: *pending (the state must be rebuilt before the store takes a
   message) and *search_seq. Returns 0, or -1 with why set. */
int kh_state_derived (kh_state_t *self, bool *pending, uint64_t *search_seq,
                      kh_problem_t *why);

#ifdef __cplusplus
}
#endif
#endif
