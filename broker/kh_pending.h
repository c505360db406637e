/*  kh_pending.h - publishes the broker has handed to the recorder but not yet answered.

    Each valid publish gets a token (a counter) and waits here, holding the publisher's
    routing id and the envelope frame, until the recorder says STORED or FAILED for that
    token. The table keeps tokens in order, so that the broker can (re)send every entry
    to a new recorder in the order the publishes arrived.

    Tokens are issued in increasing order and live in a ring indexed by token; the table
    is full when the span from the oldest waiting token to the next one reaches max. As
    long as the recorder answers in order (PROTOCOL.md section 8) that span is exactly
    the number of entries waiting.
*/
#ifndef KH_PENDING_H_INCLUDED
#define KH_PENDING_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <czmq.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One publish waiting for the recorder. The table owns both frames. */
typedef struct {
    uint64_t  token;                    /* 0: the slot is free */
    zframe_t *client;                   /* routing id of the publisher */
    zframe_t *envelope;                 /* the envelope, byte for byte as received */
    uint8_t   id [KH_ID_SIZE];          /* the envelope's message id, for the ACK */
    char      topic [KH_TOPIC_MAX + 1]; /* live topic "<type>/<from>/" */
    bool      sent;                     /* handed to the current recorder */
    int64_t   sent_at;                  /* zclock_mono when it was, last */
    uint64_t  send_no;                  /* the broker's count of STOREs sent, at that send */
    bool      resent;                   /* was handed to an earlier recorder too */
} kh_pending_entry_t;

typedef struct _kh_pending_t kh_pending_t;

/* Creates an empty table that holds at most max entries; the first token it issues is
   first_token (> 0). Returns NULL if max is 0, first_token is 0 or memory runs out. */
kh_pending_t *kh_pending_new (size_t max, uint64_t first_token);

/* Destroys the table and every frame it holds; sets *self_p to NULL. Safe on NULL. */
void kh_pending_destroy (kh_pending_t **self_p);

/* Adds a publish under the next token, taking ownership of *client_p and *envelope_p
   (both set to NULL). Returns the new entry (valid until the next add or remove), or
   NULL if the table is full or memory runs out; then the caller keeps the frames. */
kh_pending_entry_t *kh_pending_add (kh_pending_t *self, zframe_t **client_p,
                                    zframe_t **envelope_p);

/* Returns the entry waiting under token, or NULL if there is none. */
kh_pending_entry_t *kh_pending_lookup (kh_pending_t *self, uint64_t token);

/* Removes the entry under token and destroys its frames; nothing if there is none. */
void kh_pending_remove (kh_pending_t *self, uint64_t token);

/* Returns the oldest waiting token, or the next token to issue if the table is empty. */
uint64_t kh_pending_oldest (kh_pending_t *self);

/* Returns the token the next add will issue. */
uint64_t kh_pending_next (kh_pending_t *self);

/* Returns the number of entries waiting. */
size_t kh_pending_size (kh_pending_t *self);

/* Returns the bytes of the envelopes waiting. */
size_t kh_pending_bytes (kh_pending_t *self);

/* True if an add would fail because the table is full. */
bool kh_pending_full (kh_pending_t *self);

/* Self-test; returns the number of failed checks. */
int kh_pending_test (bool verbose);

#ifdef __cplusplus
}
#endif
#endif
