/*  kh_client_priv.h - what kh_subscriber.c uses of kh_client.c, and a hook for tests
    (internal to libkreishub). */
#ifndef KH_CLIENT_PRIV_H_INCLUDED
#define KH_CLIENT_PRIV_H_INCLUDED

#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_codec.h"
#include "kh_parts.h"

/* The largest reply a client accepts: a ROWS page may exceed KH_QUERY_PAGE_BYTES by
   one record; anything far larger is not from a kreishub broker. */
#define KH_CLIENT_FRAME_MAX (2 * KH_QUERY_PAGE_BYTES)

/* Asks for one page of query (its req is set here) and waits up to timeout_ms for
   the ROWS that answer it. Returns 0 with *rows decoded (release with
   kh_rows_release; its records point into the client and stay valid until the
   client receives again), KH_ETIMEOUT, or the hub's error code. */
int kh__client_page (kh_client_t *self, kh_query_t *query, int timeout_ms,
                     kh_rows_t *rows);

/* Waits until the socket handle can be read or the zclock_mono deadline (-1: none)
   passes. Returns 0 if readable, else KH_ETIMEOUT (also when czmq's signal handler
   saw SIGINT/SIGTERM). */
int kh__wait_readable (void *handle, int64_t deadline);

/* Closes what parts held and receives into it the next message of one or two frames
   from the socket handle ([command or topic][body]; messages of more frames are
   skipped), waiting until the zclock_mono deadline. Returns 0, KH_ETIMEOUT, or
   KH_EIO if the socket failed. */
int kh__recv (void *handle, kh_parts_t *parts, int64_t deadline);

/* Returns the body (second frame) of a message kh__recv received and its size in
   *size; NULL and 0 if it had none. */
const void *kh__body (kh_parts_t *parts, size_t *size);

/* True once kh_subscriber_next has received a heartbeat: the subscriber connects
   before it subscribes and subscribes to the heartbeat last, so the broker then has
   all its subscriptions (a record alone proves only its own topic's). For tests,
   which must not publish before that. */
bool kh__subscriber_heard (kh_subscriber_t *self);

/* Makes sock a CURVE client with keys: our key pair and the hub's public key. Call
   before it connects. */
void kh__keys_apply (const kh_keys_t *keys, zsock_t *sock);

/* As kh_client_new, over CURVE with keys if they are not NULL, its connection
   watched (kh_client_link) if watch. */
kh_client_t *kh__client_new (const char *endpoint, const kh_keys_t *keys, bool watch);

/* The zclock_mono time timeout_ms from now, or -1 for a negative timeout. */
int64_t kh__deadline (int timeout_ms);

#endif
