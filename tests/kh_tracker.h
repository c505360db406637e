/*  kh_tracker.h - a publisher for the fault tests that remembers every message it
    made and what the hub answered each one, and compares a store with that.

    Messages are ideas from 05162004 (with its certificate), made ahead and sent (again) by index, the same
    bytes each time. Answers are matched by id. A store is right for the tracker if
    no message that got an ERROR (and never an ACK) is in it, and every acknowledged
    message is in it once, at the seq of its first ACK, acknowledged as new once.
*/
#ifndef KH_TRACKER_H_INCLUDED
#define KH_TRACKER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "kreishub/kreishub.h"
#include "kh_harness.h"

/* One message and what the hub said of it. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    uint8_t *data;
    size_t   size;
    int64_t  sent_at;                   /* zclock_mono of its last send; 0: never sent */
    int64_t  acked_at;                  /* zclock_mono of its first ACK; 0: none */
    uint64_t seq;                       /* from its first ACK */
    int      acks;
    int      fresh;                     /* ACKs that said dup: false */
    int      error;                     /* code of the last ERROR it got, 0 if none */
} kh_tracked_t;

typedef struct {
    kh_client_t  *client;
    kh_tracked_t *msgs;
    int           count;
    uint64_t      unavailable;          /* UNAVAILABLE answers taken */
    int64_t       unavailable_first;    /* zclock_mono of the first and the last */
    int64_t       unavailable_last;
    void         *by_id;                /* zhashx_t: id as text -> index + 1 */
    int           cap;
} kh_tracker_t;

/* What kh_tracker_check found wrong in a store. */
typedef struct {
    int refused_stored;                 /* got an ERROR, never an ACK, yet stored */
    int acked_wrong;                    /* acknowledged, but not stored once at its seq */
    int unanswered;                     /* sent, never answered */
    int rows;                           /* rows of the store, -1 if it cannot be read */
} kh_tracker_report_t;

/* Creates a tracker that publishes to hub as 05162004 (kh_hub_client). Returns
   NULL if the client cannot be made or memory runs out. */
kh_tracker_t *kh_tracker_new (kh_hub_t *hub);

/* Frees the tracker and its client; sets *self_p to NULL. Safe on NULL. */
void kh_tracker_destroy (kh_tracker_t **self_p);

/* Makes a message titled "TITLE N" (N its index). Returns the index. A message that
   cannot be built ends the test program. */
int kh_tracker_make (kh_tracker_t *self, const char *title);

/* Destroys the tracker (as kh_tracker_destroy) and removes dir, a hub's directory
   that kh_hub_stop kept for the checks, unless keep (a failed test leaves it to be
   read). */
void kh_tracker_done (kh_tracker_t **self_p, const char *dir, bool keep);

/* Sends message i (again), the same bytes. */
void kh_tracker_send (kh_tracker_t *self, int i);

/* Waits up to ms for one answer and records it. Returns true if one came. */
bool kh_tracker_take (kh_tracker_t *self, int ms);

/* True if message i got an ACK or an ERROR. */
bool kh_tracker_answered (kh_tracker_t *self, int i);

/* How many messages sent wait for an answer. */
int kh_tracker_in_flight (kh_tracker_t *self);

/* Sends message i and waits up to ms for its answer. Returns 0 for an ACK, the
   code of an ERROR, or -1 if none came. */
int kh_tracker_publish (kh_tracker_t *self, int i, int ms);

/* Compares what the hub answered with the store at path (read-only) and prints the
   first few problems of each kind, naming what. */
kh_tracker_report_t kh_tracker_check (kh_tracker_t *self, const char *what,
                                      const char *path);

/* Runs sql, which returns one number, on the store at path. Returns it, or -1. */
long long kh_tracker_number (const char *path, const char *sql);

#endif
