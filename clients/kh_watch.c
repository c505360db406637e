/*  kh_watch.c - a socket's connection state from its monitor (see kh_watch.h). */
#include <stdatomic.h>
#include "kh_parts.h"
#include "kh_watch.h"

/* The events that change the state. */
#define S_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED \
                  | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                  | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* What the owner and the actor share; freed after the actor has ended. */
typedef struct {
    char        endpoint [64];          /* the monitor's inproc endpoint */
    atomic_int  link;                   /* kh_link_t */
    atomic_bool ready;                  /* the actor reads the monitor */
} s_shared_t;

struct _kh_watch_t {
    zactor_t   *actor;
    s_shared_t *shared;
};

/* The state after event in state link. */
static int
s_next (int link, unsigned event)
{
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        return KH_LINK_UP;
    if (event == ZMQ_EVENT_DISCONNECTED)
        return link == KH_LINK_UP ? KH_LINK_LOST : link;
    return KH_LINK_REFUSED;             /* a handshake failed */
}

/* Reads the events waiting on the monitor into the shared state. */
static void
s_read (void *monitor, s_shared_t *shared)
{
    kh_parts_t msg;
    while (kh_parts_recv (&msg, monitor, ZMQ_DONTWAIT) > 0) {
        zmq_msg_t *head = kh_parts_at (&msg, 0);
        if (head && zmq_msg_size (head) >= 2) {
            uint16_t event;
            memcpy (&event, zmq_msg_data (head), 2);
            atomic_store (&shared->link, s_next (atomic_load (&shared->link), event));
        }
        kh_parts_close (&msg);
    }
}

/* The actor: connects to the monitor's endpoint (inproc allows it before the bind),
   says whether it is ready, then reads events until $TERM. It ends on nothing else,
   an interrupt included: a monitor without its reader would stop libzmq. */
static void
s_actor (zsock_t *pipe, void *arg)
{
    s_shared_t *shared = (s_shared_t *) arg;
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    zpoller_t *poller = monitor && zsock_connect (monitor, "%s", shared->endpoint) == 0
                        ? zpoller_new (pipe, monitor, NULL) : NULL;
    if (poller)
        zpoller_set_nonstop (poller, true);
    atomic_store (&shared->ready, poller != NULL);
    zsock_signal (pipe, 0);
    for (bool done = !poller; !done; ) {
        void *which = zpoller_wait (poller, -1);
        if (which == monitor)
            s_read (zsock_resolve (monitor), shared);
        else
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            done = !command || streq (command, "$TERM");
            zstr_free (&command);
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&monitor);
}

kh_watch_t *
kh__watch_new (zsock_t *sock)
{
    static atomic_uint s_count;
    kh_watch_t *self = (kh_watch_t *) calloc (1, sizeof *self);
    s_shared_t *shared = (s_shared_t *) calloc (1, sizeof *shared);
    if (!self || !shared) {
        free (self);
        free (shared);
        return NULL;
    }
    self->shared = shared;
    atomic_init (&shared->link, KH_LINK_NONE);
    atomic_init (&shared->ready, false);
    snprintf (shared->endpoint, sizeof shared->endpoint, "inproc://kh-watch-%u-%p",
              atomic_fetch_add (&s_count, 1), (void *) self);
    self->actor = zactor_new (s_actor, shared);
    if (!self->actor || !atomic_load (&shared->ready)
    ||  zmq_socket_monitor (zsock_resolve (sock), shared->endpoint, S_EVENTS))
        kh__watch_destroy (&self, NULL);
    return self;
}

void
kh__watch_destroy (kh_watch_t **self_p, zsock_t *sock)
{
    if (!self_p || !*self_p)
        return;
    kh_watch_t *self = *self_p;
    if (sock)
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
    zactor_destroy (&self->actor);
    free (self->shared);
    free (self);
    *self_p = NULL;
}

kh_link_t
kh__watch_link (kh_watch_t *self)
{
    return self ? (kh_link_t) atomic_load (&self->shared->link) : KH_LINK_UNKNOWN;
}
