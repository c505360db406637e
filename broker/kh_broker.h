/*  kh_broker.h - the kreishub broker: clients publish and query, the recorder commits,
    subscribers receive what was committed.

    The broker binds three sockets (PROTOCOL.md section 1): a ROUTER for clients, an
    XPUB for live updates and a ROUTER the recorder connects to. A valid publish waits
    in a pending table while the recorder commits it; only then is it published live
    and acknowledged (commit before ack). Queries pass through to the recorder. Every
    second a heartbeat goes out on the live socket, and within ~10 ms of new
    subscriptions (one for a burst of them), once a recorder has told the head.

    A broker runs its loop (a czmq zloop) in the calling thread (kh_broker_run, as the
    program does) or as a czmq actor (kh_broker_actor, as the tests do). It is
    single-threaded and shares nothing: everything it knows lives in its own object.

    Its files, by job: kh_broker.c builds it and runs the loop, kh_broker_client.c
    answers clients, kh_broker_link.c speaks with the recorder, kh_broker_live.c
    serves subscribers, kh_broker_trust.c knows who may connect and who sent what;
    kh_pending holds the publishes the recorder has not answered.
*/
#ifndef KH_BROKER_H_INCLUDED
#define KH_BROKER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <czmq.h>
#include "kreishub/kh_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_BROKER_PENDING_MAX   200000  /* publishes waiting for the recorder */
#define KH_BROKER_PENDING_BYTES (256 * 1024 * 1024)    /* and their bytes, at most */
/* Publishes of one connection waiting for the recorder, at most; one more is refused
   BUSY. Above kreishub-bench's window of 1000 publishes per publisher. The client
   socket queues at most twice as many replies to one connection. */
#define KH_BROKER_CONNECTION_PENDING 1024
/* While a connection that publishes a few at a time is served (kh_pending.h), each
   connection has at most this many STOREs at the recorder, so that the recorder's
   transactions stay short and a publish does not wait behind another's thousand. */
#define KH_BROKER_CALM_INFLIGHT 2
/* Records queued for one live subscriber before the broker drops them for it (it
   fills the gap from the store): a subscriber that stops reading holds at most this
   many in the broker, ~1 MiB of 1 KiB records. */
#define KH_BROKER_LIVE_HWM      1000
/* Queries one client may have in flight: at the recorder, or answered and not yet
   written out to its connection (each answer a page of at most ~4 MiB). */
#define KH_BROKER_QUERIES_MAX   8
/* The recorder says HELLO every second and answers in order; after this many ms
   without a word from it, it is considered gone (longer than a slow fsync). */
#define KH_BROKER_RECORDER_TTL  10000
/* A STORE the recorder has not answered for this long, while it is alive, is taken
   as an answer lost on the way and sent again (de-duplication makes it safe). */
#define KH_BROKER_RESEND_MS     10000
/* How often the clients directory is looked at for certificates added or removed. */
#define KH_BROKER_TRUST_MS      500

/* A monotonic clock in milliseconds; arg is the config's clock_arg. */
typedef int64_t (kh_broker_clock_fn) (void *arg);

/* How to build a broker. Endpoints may use a wildcard port ("tcp://127.0.0.1:*").
   Zero in any field means its default. */
typedef struct {
    const char *client;                 /* ROUTER endpoint for clients */
    const char *live;                   /* XPUB endpoint for subscribers */
    const char *recorder;               /* ROUTER endpoint for the recorder */
    size_t      pending_max;            /* 0: KH_BROKER_PENDING_MAX */
    size_t      connection_pending;     /* one connection's part of it, at most;
                                           0: KH_BROKER_CONNECTION_PENDING */
    size_t      calm_inflight;          /* 0: KH_BROKER_CALM_INFLIGHT */
    int         live_hwm;               /* 0: KH_BROKER_LIVE_HWM */
    int         recorder_ttl;           /* ms; 0: KH_BROKER_RECORDER_TTL */
    int         resend_ms;              /* ms; 0: KH_BROKER_RESEND_MS */
    const char *senders;                /* AGS keys allowed to publish, separated by
                                           commas or spaces; NULL or "": any AGS */
    /* Who may connect (PROTOCOL.md section 11). Secure (CURVE) unless plain. */
    bool        plain;                  /* no CURVE, nobody identified: loopback
                                           endpoints only, for development */
    const char *cert;                   /* secure: our certificate file, with its
                                           secret key (kreishub keygen --server) */
    const char *clients;                /* secure: the directory whose NAME.cert files
                                           are the certificates admitted */
    bool        verbose;                /* log every request with zsys_debug */
    /* The clock the broker judges ages by (a recorder's silence, unanswered STOREs
       and queries); NULL: zclock_mono. A broker given a clock is in the caller's
       time: its once-a-second work (heartbeat, recorder liveness, lost answers,
       query expiry) runs only when the actor is told "TICK". For tests. */
    kh_broker_clock_fn *clock;
    void       *clock_arg;
} kh_broker_config_t;

/* What the broker has done since it started. */
typedef struct {
    uint64_t published;                 /* records sent on the live socket */
    uint64_t acked;                     /* ACKs sent to clients */
    uint64_t errors;                    /* ERROR replies sent to clients */
    uint64_t subscribers;               /* live subscriptions now open */
    uint64_t stored;                    /* STOREs handed to a recorder (with resends) */
    uint64_t queries;                   /* queries passed to the recorder */
    uint64_t ignored;                   /* malformed or unknown frames from the recorder */
    uint64_t dropped;                   /* replies not sent: the client was gone or too
                                           slow, or out of memory to encode them */
    uint64_t resent;                    /* STOREs sent again after a lost answer */
    uint64_t beats;                     /* heartbeats sent */
} kh_broker_stats_t;

typedef struct _kh_broker_t kh_broker_t;

/* Creates a broker and binds its three sockets. Returns NULL (after logging why) if
   an endpoint cannot be bound, config->senders holds something that is not an AGS,
   memory runs out, in secure mode if the certificate or the clients directory
   cannot be read or another secure broker runs in this process (one zauth per
   process), or in plain mode if an endpoint is not a loopback one. */
kh_broker_t *kh_broker_new (const kh_broker_config_t *config);

/* Destroys the broker, closing its sockets and dropping what still waits; sets
   *self_p to NULL. Safe on NULL. */
void kh_broker_destroy (kh_broker_t **self_p);

/* Returns the endpoint the client, live or recorder socket is bound to, with the real
   port where a wildcard was asked for. Valid as long as the broker. */
const char *kh_broker_client_endpoint (kh_broker_t *self);
const char *kh_broker_live_endpoint (kh_broker_t *self);
const char *kh_broker_recorder_endpoint (kh_broker_t *self);

/* Serves until interrupted (SIGINT/SIGTERM through czmq's zsys handler) or, if pipe is
   not NULL, until "$TERM" arrives on it (other commands as for kh_broker_actor).
   Returns 0 on a clean stop, -1 if the loop could not be set up. */
int kh_broker_run (kh_broker_t *self, zsock_t *pipe);

/* Copies the broker's counters into stats. */
void kh_broker_stats (kh_broker_t *self, kh_broker_stats_t *stats);

/* The broker as a czmq actor; args is a const kh_broker_config_t * read before the
   actor signals. Commands on the actor's pipe:
     "ENDPOINTS" -> "sss" client, live, recorder (all "" if the broker could not start)
     "STATS"     -> "8888888888" the fields of kh_broker_stats_t in order
     "TICK"      -> runs the once-a-second work now, then signals (zsock_wait)
     "TRUST"     -> looks at the clients directory now (as it does twice a second),
                    then signals
     "$TERM"     -> stops the actor. */
void kh_broker_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
