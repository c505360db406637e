/*  kh_watch.h - what a socket's connection to the hub is: reached, lost, refused, as a
    libzmq socket monitor tells it (internal to libkreishub).

    A small actor reads the monitor's events as they come and keeps the state in an
    atomic, so that nothing waits for the owner to read: libzmq's I/O thread sends
    every event with a blocking send, and a monitor that nobody reads would stop
    every socket of the process (the broker learnt it: b0ebc38).
*/
#ifndef KH_WATCH_H_INCLUDED
#define KH_WATCH_H_INCLUDED

#include <czmq.h>
#include "kreishub/kreishub.h"

typedef struct _kh_watch_t kh_watch_t;

/* Starts watching sock, which is to connect only afterwards, so that no event of
   its connection is missed. Returns the watch, or NULL if the monitor or its actor
   cannot be had. */
kh_watch_t *kh__watch_new (zsock_t *sock);

/* Stops the monitor of sock and the actor, and frees the watch; sets *self_p to
   NULL. Call it before sock is closed (see above). Safe on NULL. */
void kh__watch_destroy (kh_watch_t **self_p, zsock_t *sock);

/* The state of the connection: KH_LINK_NONE until a handshake succeeds, then
   KH_LINK_UP, KH_LINK_LOST when it ends, KH_LINK_REFUSED after a failed handshake;
   KH_LINK_UNKNOWN for no watch. */
kh_link_t kh__watch_link (kh_watch_t *self);

#endif
