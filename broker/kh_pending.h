/*  kh_pending.h - publishes the broker has handed to the recorder but not yet answered.

    Each valid publish gets a token (a counter) and waits here, holding the publisher's
    routing id and the envelope, until the recorder says STORED or FAILED for that
    token. The table also keeps who waits for what: a lane for each connection (its
    routing id), so that one connection may have at most lane_max publishes waiting,
    and the STOREs go to the recorder round robin across the lanes, each lane's
    oldest first. Every send is numbered, and the table remembers which send the
    recorder answered last; from that it tells which answers were lost (the recorder
    answers in the order it was sent to, PROTOCOL.md section 8).

    Fairness: the recorder commits what it holds in one transaction, so a publish
    handed to it waits for every STORE handed over before it. While a connection
    that publishes a few at a time (a lane that emptied having held at most
    KH_PENDING_LIGHT) was served within the last KH_PENDING_CALM_MS, each lane may
    have at most calm_inflight STOREs at the recorder: a flooder then keeps the
    recorder's transactions small, and the light publisher's STORE joins the next
    one. The light connection that was served last is not held so itself: alone,
    it would otherwise get two STOREs per commit through after any hiccup. Once
    that connection holds more than KH_PENDING_LIGHT it is light no longer and the
    calm ends (a flooder whose first publish was light is not exempt). Otherwise
    STOREs are handed over as fast as the recorder takes them (the largest
    transactions, the most throughput).

    Tokens are issued in increasing order and live in a ring indexed by token; the table
    is full when the span from the oldest waiting token to the next one reaches max. As
    long as the recorder answers in order, that span is exactly the number of entries
    waiting; an answer out of order leaves a hole that the oldest token skips once the
    entries before it are answered.

    The table reads the caller's clock where a call passes it (now) and keeps the
    latest for the calls that do not.

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

#define KH_PENDING_LIGHT    4       /* a lane that never held more is a light one */
#define KH_PENDING_CALM_MS  1000    /* how long serving a light lane keeps the others
                                       to calm_inflight at the recorder */

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
   envelopes; the first token it issues is first_token (> 0). Each connection may
   have any number of entries and STOREs in flight until kh_pending_set_lanes says
   otherwise. Returns NULL if max is 0, first_token is 0 or memory runs out. */
kh_pending_t *kh_pending_new (size_t max, size_t max_bytes, uint64_t first_token);

/* Sets the lanes' bounds: at most lane_max entries of one connection (0: no bound),
   and at most calm_inflight STOREs of one connection at the recorder while a light
   lane was served lately (0: no bound). */
void kh_pending_set_lanes (kh_pending_t *self, size_t lane_max, size_t calm_inflight);

/* Destroys the table and every message it holds; sets *self_p to NULL. Safe on NULL. */
void kh_pending_destroy (kh_pending_t **self_p);

/* Adds a publish of the connection client under the next token at now: moves the
   contents of client and envelope into the table (both are left empty) and copies
   id and topic. Returns the token, or 0 if the table is full (entries or bytes),
   the connection has lane_max entries waiting (kh_pending_lane_full tells which)
   or memory runs out; then client and envelope are untouched. */
uint64_t kh_pending_add (kh_pending_t *self, zmq_msg_t *client, zmq_msg_t *envelope,
                         const uint8_t id [KH_ID_SIZE], const char *topic, int64_t now);

/* True if the connection client (a routing id) has lane_max entries waiting. */
bool kh_pending_lane_full (kh_pending_t *self, zmq_msg_t *client);

/* If the connection client has lane_max entries waiting, counts one more of its
   publishes refused and returns how many were since it last had none waiting (1:
   the first of this flood); else returns 0. */
size_t kh_pending_busy (kh_pending_t *self, zmq_msg_t *client);

/* Fills view with the entry waiting under token. Returns 0, or -1 if there is none. */
int kh_pending_get (kh_pending_t *self, uint64_t token, kh_pending_view_t *view);

/* Removes the entry under token and closes its messages; nothing if there is none. */
void kh_pending_remove (kh_pending_t *self, uint64_t token);

/* Returns the token to hand to the current recorder next: the oldest unsent entry of
   the next lane in turn that may have another STORE at the recorder; 0 if there is
   none (every entry handed over, or the lanes with unsent ones at their bound). */
uint64_t kh_pending_unsent (kh_pending_t *self);

/* Initialises copy as a second reference to the envelope under token (no bytes are
   copied; ZeroMQ counts the references); the caller sends or closes it. Returns 0, or
   -1 if there is no such entry or the copy failed (copy is then closed). */
int kh_pending_share (kh_pending_t *self, uint64_t token, zmq_msg_t *copy);

/* Records that the entry under token, the one kh_pending_unsent returned, was handed
   to the recorder at now: it is numbered in send order, and the next lane's turn
   comes. */
void kh_pending_sent (kh_pending_t *self, uint64_t token, int64_t now);

/* Records that the current recorder answered token at now. It answers in send order,
   so every entry still waiting that was sent before this one has lost its answer.
   Nothing if token is not waiting or was not sent to the current recorder. */
void kh_pending_answered (kh_pending_t *self, uint64_t token, int64_t now);

/* A recorder takes over at now: every waiting entry is to be handed to it, each
   lane's oldest first, and one handed to an earlier recorder is marked resent. */
void kh_pending_rewind (kh_pending_t *self, int64_t now);

/* Queues again, each lane's oldest first, the entries whose answers were lost: each
   one sent before the last one answered; and if nothing was answered for after_ms,
   the first sent of the entries waiting that long (that one only: a recorder that
   is merely slow is not flooded with copies). Requeued entries are marked resent.
   Returns how many. */
size_t kh_pending_requeue (kh_pending_t *self, int64_t now, int64_t after_ms);

/* Returns the oldest waiting token, or the next token to issue if the table is empty. */
uint64_t kh_pending_oldest (kh_pending_t *self);

/* Returns the token the next add will issue. */
uint64_t kh_pending_next (kh_pending_t *self);

/* Returns the number of entries waiting. */
size_t kh_pending_size (kh_pending_t *self);

/* Returns how many entries may wait at most (the max it was made with). */
size_t kh_pending_max (kh_pending_t *self);

/* Returns how many entries of one connection may wait at most (0: no bound). */
size_t kh_pending_lane_max (kh_pending_t *self);

/* Returns the bytes of the envelopes waiting. */
size_t kh_pending_bytes (kh_pending_t *self);

/* Returns how many entries are handed to the current recorder and not answered. */
size_t kh_pending_inflight (kh_pending_t *self);

/* True if an add would fail because max entries wait or the span is used up. */
bool kh_pending_full (kh_pending_t *self);

/* Walks the whole table and returns true if every invariant stated in kh_pending.c
   holds. For assert () and kh_pending_test.c; costs time linear in the ring's size. */
bool kh_pending_check (kh_pending_t *self);

#ifdef __cplusplus
}
#endif
#endif
