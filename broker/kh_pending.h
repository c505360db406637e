/*  kh_pending.h - publishes the broker has handed to the recorder but not yet answered.

    Each valid publish gets a token (a counter) and waits here, holding the publisher's
    routing id and the envelope, until the recorder says STORED or FAILED for that
    token. The table also keeps the order in which entries went to the recorder: a
    send cursor (the oldest entry the current recorder has not been handed), a number
    for every send, and which send the recorder answered last. From that it tells the
    broker what to send next and which answers were lost (PROTOCOL.md section 8).

    Tokens are issued in increasing order and live in a ring indexed by token; the table
    is full when the span from the oldest waiting token to the next one reaches max. As
    long as the recorder answers in order, that span is exactly the number of entries
    waiting; an answer out of order leaves a hole that the oldest token skips once the
    entries before it are answered.

    Only this table writes its entries; the broker reads them through kh_pending_get.
*/
#ifndef KH_PENDING_H_INCLUDED
#define KH_PENDING_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_pending_t kh_pending_t;

/* What the broker reads of one waiting publish. The pointers stay valid until that
   entry is removed or the next add. */
typedef struct {
    uint64_t       token;
    const void    *client;              /* routing id of the publisher */
    size_t         client_size;
    const void    *envelope;            /* the envelope, byte for byte as received */
    size_t         envelope_size;
    const uint8_t *id;                  /* the envelope's message id, KH_ID_SIZE bytes */
    const char    *topic;               /* live topic "<type>/<from>/" */
    bool           resent;              /* sent more than once: an earlier answer may
                                           never have gone live */
} kh_pending_view_t;

/* Creates an empty table that holds at most max entries and max_bytes bytes of
   envelopes; the first token it issues is first_token (> 0). Returns NULL if max is 0,
   first_token is 0 or memory runs out. */
kh_pending_t *kh_pending_new (size_t max, size_t max_bytes, uint64_t first_token);

/* Destroys the table and every message it holds; sets *self_p to NULL. Safe on NULL. */
void kh_pending_destroy (kh_pending_t **self_p);

/* Adds a publish under the next token: moves the contents of client and envelope into
   the table (both are left empty) and copies id and topic. Returns the token, or 0 if
   the table is full (entries or bytes) or memory runs out; then client and envelope
   are untouched. */
uint64_t kh_pending_add (kh_pending_t *self, zmq_msg_t *client, zmq_msg_t *envelope,
                         const uint8_t id [KH_ID_SIZE], const char *topic);

/* Fills view with the entry waiting under token. Returns 0, or -1 if there is none. */
int kh_pending_get (kh_pending_t *self, uint64_t token, kh_pending_view_t *view);

/* Removes the entry under token and closes its messages; nothing if there is none. */
void kh_pending_remove (kh_pending_t *self, uint64_t token);

/* Returns the token of the oldest entry not yet handed to the current recorder, or 0
   if every entry has been. */
uint64_t kh_pending_unsent (kh_pending_t *self);

/* Initialises copy as a second reference to the envelope under token (no bytes are
   copied; ZeroMQ counts the references); the caller sends or closes it. Returns 0, or
   -1 if there is no such entry or the copy failed (copy is then closed). */
int kh_pending_share (kh_pending_t *self, uint64_t token, zmq_msg_t *copy);

/* Records that the entry under token, the one kh_pending_unsent returned, was handed
   to the recorder at now: it is numbered in send order and the cursor moves past it. */
void kh_pending_sent (kh_pending_t *self, uint64_t token, int64_t now);

/* Records that the current recorder answered token at now. It answers in send order,
   so every entry still waiting that was sent before this one has lost its answer.
   Nothing if token is not waiting or was not sent to the current recorder. */
void kh_pending_answered (kh_pending_t *self, uint64_t token, int64_t now);

/* A recorder takes over at now: every waiting entry is to be handed to it, oldest
   first, and one handed to an earlier recorder is marked resent. */
void kh_pending_rewind (kh_pending_t *self, int64_t now);

/* Queues again, oldest first, the entries whose answers were lost: each one sent
   before the last one answered; and if nothing was answered for after_ms, the oldest
   sent entry waiting that long (that one only: a recorder that is merely slow is not
   flooded with copies). Requeued entries are marked resent. Returns how many. */
size_t kh_pending_requeue (kh_pending_t *self, int64_t now, int64_t after_ms);

/* Returns the oldest waiting token, or the next token to issue if the table is empty. */
uint64_t kh_pending_oldest (kh_pending_t *self);

/* Returns the token the next add will issue. */
uint64_t kh_pending_next (kh_pending_t *self);

/* Returns the number of entries waiting. */
size_t kh_pending_size (kh_pending_t *self);

/* Returns how many entries may wait at most (the max it was made with). */
size_t kh_pending_max (kh_pending_t *self);

/* Returns the bytes of the envelopes waiting. */
size_t kh_pending_bytes (kh_pending_t *self);

/* True if an add would fail because max entries wait or the span is used up. */
bool kh_pending_full (kh_pending_t *self);

/* Walks the whole table and returns true if every invariant stated in kh_pending.c
   holds. For assert () and the self-test; costs time linear in the ring's size. */
bool kh_pending_check (kh_pending_t *self);

/* Self-test; returns the number of failed checks. */
int kh_pending_test (bool verbose);

#ifdef __cplusplus
}
#endif
#endif
