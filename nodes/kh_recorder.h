/*  kh_recorder.h - the recorder: the broker's link to the store (PROTOCOL.md section 8).

    A recorder connects a DEALER to the broker's recorder endpoint and says HELLO at
    once, again as soon as a connection to a broker stands (a restarted one), and
    every hello_ms (a second by default) in between; a second recorder on the same
    store waits as a standby until the first is gone (kh_recorder_new). Each
    [STORE][token][envelope] it receives is taken together with every other STORE
    already waiting on the socket (up to batch_max) into one transaction of the store
    (group commit); once that is committed, each STORE is answered in order with
    [STORED][token][stored] or [FAILED][token][error]. What the broker refused comes
    as [AUDIT][record], unanswered, and joins the batch the same way: the audit
    table is written in the same transaction, with the same durability.

    Queries ([QUERY][client][query]), the catalogue ([ITEMS][client][query]) and
    counts ([STATS][client][query]) do not wait for the store's writer: a query actor
    with its own read-only connection answers them, and the recorder forwards its
    [ROWS|ERROR][client][body] to the broker; an admin's audit queries
    ([AUDIT_QUERY][client][query]) likewise, answered [AUDIT_ROWS|AUDIT_ERROR].

    A recorder runs its loop in the calling thread (kh_recorder_run, as the program
    does) or as a czmq actor (kh_recorder_actor, as the tests do). Nothing it reads
    from the network or the store can make it assert or stop: bad frames are logged
    and ignored, a failed commit becomes FAILED replies with code STORE (FULL if the
    disk is full). A commit whose outcome is unknown (an I/O error) stops it instead.
*/
#ifndef KH_RECORDER_H_INCLUDED
#define KH_RECORDER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <czmq.h>
#include "kh_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_RECORDER_DB          "./kreishub-data/kreishub.db"
#define KH_RECORDER_BATCH_MAX   4096        /* STOREs per transaction, at most */
#define KH_RECORDER_BATCH_LIMIT 1000000     /* the largest batch_max accepted */
#define KH_RECORDER_HELLO_MS    1000        /* HELLO period */

/* How to build a recorder. */
typedef struct {
    const char     *broker;             /* the broker's recorder endpoint; NULL: default */
    const char     *db;                 /* the store's path; NULL: KH_RECORDER_DB */
    kh_sync_t       sync;               /* durability of each commit */
    size_t          batch_max;          /* 0: KH_RECORDER_BATCH_MAX */
    int             hello_ms;           /* HELLO period; 0: KH_RECORDER_HELLO_MS */
    bool            verbose;            /* log every batch and query */
    /* CURVE towards the broker (PROTOCOL.md section 11): our certificate, of role
       hub, with its secret key, and the broker's public key; NULL: plain (over
       ipc://, or in plain mode). Applied when the recorder connects. */
    zcert_t        *cert;
    const char     *server_key;         /* Z85, 40 characters */
} kh_recorder_config_t;

/* What the recorder has done since it started. */
typedef struct {
    uint64_t batches;                   /* transactions committed */
    uint64_t stored;                    /* messages stored new */
    uint64_t dups;                      /* STOREs of an id stored before */
    uint64_t failed;                    /* FAILED replies (invalid or not committed) */
    uint64_t queries;                   /* queries handed to the query actor */
    uint64_t ignored;                   /* frames from the broker that made no sense */
    uint64_t dropped;                   /* replies not sent: the broker's queue was full,
                                           or out of memory to encode them */
    uint64_t audited;                   /* audit records stored */
    uint64_t audit_lost;                /* audit records of batches that failed */
} kh_recorder_stats_t;

typedef struct _kh_recorder_t kh_recorder_t;

/* Opens the store (creating the directory that holds it if missing), starts the
   query actor on a read-only connection, and connects to the broker. Only one
   recorder writes a store: while another holds it (kh_store_new says KH_EBUSY), this
   one waits here as its standby, unconnected and so silent towards the broker,
   trying every 100 ms, and takes over once the other is gone (stopped or killed);
   SIGINT or SIGTERM end the wait (why: KH_EBUSY). The actor waits the same way,
   before it signals. Returns the recorder, or NULL with why set (and nothing left
   open). */
kh_recorder_t *kh_recorder_new (const kh_recorder_config_t *config, kh_problem_t *why);

/* Stops the query actor, closes the store and the socket, frees the recorder and
   sets *self_p to NULL. Safe on NULL. */
void kh_recorder_destroy (kh_recorder_t **self_p);

/* Returns the store's head (highest committed seq). */
uint64_t kh_recorder_head (kh_recorder_t *self);

/* Returns the store's path and the broker endpoint, valid as long as the recorder. */
const char *kh_recorder_db (kh_recorder_t *self);
const char *kh_recorder_endpoint (kh_recorder_t *self);

/* What kh_recorder_run returns after a commit failed with an I/O error; the program
   exits with it. */
#define KH_RECORDER_LOST 3

/* Serves until interrupted (SIGINT/SIGTERM through czmq's zsys handler) or, if pipe is
   not NULL, until "$TERM" arrives on it. A batch in hand is always committed and
   answered before it returns. Returns 0 on a clean stop, -1 if polling failed, and
   KH_RECORDER_LOST if a commit failed with an I/O error: that batch is not
   answered, since whether it is on the disk is unknown (PROTOCOL.md section 8);
   the recorder must be destroyed, and a new one learns from the disk what it
   holds. */
int kh_recorder_run (kh_recorder_t *self, zsock_t *pipe);

/* Copies the recorder's counters into stats. */
void kh_recorder_stats (kh_recorder_t *self, kh_recorder_stats_t *stats);

/* The recorder as a czmq actor; args is a const kh_recorder_config_t * read before the
   actor signals. Commands on the actor's pipe:
     "STATUS" -> "s8" "" and the head, or the reason it could not start and 0
     "STATS"  -> "888888888" the fields of kh_recorder_stats_t in order
     "$TERM"  -> stops the actor. */
void kh_recorder_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
