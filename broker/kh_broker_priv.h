/*  kh_broker_priv.h - the broker's state and what its files share (internal).

    One struct, touched only by the thread that runs the broker. Each part is written
    by the file named above it, which also sets it up and frees it (kh__link_init,
    kh__link_reset, ...); the others only read it. Two exceptions, shared by design:
    the stats are tallies that each file adds its own counters to, and buf is the
    scratch buffer each file encodes a reply into and sends before it returns.
*/
#ifndef KH_BROKER_PRIV_H_INCLUDED
#define KH_BROKER_PRIV_H_INCLUDED

#include <stdatomic.h>
#include "kh_broker.h"
#include "kh_cert.h"
#include "kh_certdir.h"
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_parts.h"
#include "kh_pending.h"

#define KH__ROUTING_MAX 255     /* bytes of a ZeroMQ routing id, at most */
#define KH__AUDIT_MAX   10000   /* audit records waiting for the recorder, at most */
#define KH__AUDIT_QUERIES_MAX 8 /* audit queries in flight, all admins', at most */
#define KH__SOCKETS     3       /* client, live, recorder: their order in connections */
#define KH__RATE_SAMPLES 10     /* ticks (seconds) the publish rate is measured over */

/* Where the link to the recorder stands. */
typedef enum {
    KH__REC_NEVER,              /* no recorder has said HELLO: the store's head is unknown */
    KH__REC_UP,                 /* linked; its queue took the last STORE */
    KH__REC_BLOCKED,            /* linked; its queue was full at the last STORE: retry soon */
    KH__REC_GONE                /* the last one said BYE, went silent or was unreachable */
} kh__rec_state_t;

struct _kh_broker_t {
    /* kh_broker.c: sockets, loop, clock */
    zsock_t  *client;                   /* ROUTER: [id][command][body] from clients */
    zsock_t  *live;                     /* XPUB: [topic][record] out, subscriptions in */
    zsock_t  *recorder;                 /* ROUTER: the recorder's DEALER connects here */
    void     *client_h;                 /* libzmq handles of the three, for zmq_send */
    void     *live_h;
    void     *recorder_h;
    char     *client_ep;                /* bound endpoints, real ports */
    char     *live_ep;
    char     *recorder_ep;
    zloop_t  *loop;                     /* while kh_broker_run runs, else NULL */
    kh_broker_clock_fn *clock;          /* the caller's clock, or NULL: zclock_mono */
    void     *clock_arg;
    msgpack_sbuffer buf;                /* reused by every encode on the hot path */
    kh_broker_stats_t stats;
    bool      verbose;
    uint64_t  trim_seen;                /* the stats' sum at the last tick */
    int64_t   started;                  /* the clock when the broker was made */
    int64_t   rate_at [KH__RATE_SAMPLES];   /* the clock at the last ticks, and */
    uint64_t  rate_published [KH__RATE_SAMPLES];  /* stats.published then: a ring */
    size_t    rate_next;                /* the ring's slot the next tick writes */
    uint64_t  trim_done;                /* and at the last malloc_trim */

    /* kh_broker_link.c: the recorder and what waits for it */
    kh__rec_state_t rec_state;
    uint8_t   rec_id [KH__ROUTING_MAX]; /* routing id of the latest recorder */
    size_t    rec_id_size;
    int64_t   rec_seen;                 /* clock when it last said anything */
    int64_t   rec_ttl;                  /* ms of silence after which it is gone */
    int64_t   resend_ms;                /* ms after which an unanswered STORE goes again */
    kh_pending_t *pending;              /* publishes waiting for the recorder */
    uint64_t  head;                     /* highest seq known to be committed */
    int       flush_timer;              /* one-shot timer to hand over more, or -1 */
    int       ttl_timer;                /* one-shot timer at the recorder's deadline, or -1 */
    int64_t   probed;                   /* zclock_mono when last asked whether it stands */

    /* kh_broker_live.c: subscribers */
    int       burst_timer;              /* one-shot timer of the beat for new
                                           subscriptions, or -1 */

    /* kh_broker_client.c: clients */
    zhashx_t *queries;                  /* client routing id (hex) -> its queries in
                                           flight (kh_broker_client.c) */
    zhashx_t *senders;                  /* AGS allowed to publish, or NULL: any */
    uint64_t  busy;                     /* BUSY replies sent since the start */

    /* kh_broker_trust.c: who may connect, and who sent each message */
    bool      plain;                    /* no CURVE: every peer is anonymous */
    bool      link_curve;               /* the recorder link is CURVE (not ipc/inproc) */
    zcert_t  *cert;                     /* ours, with its secret key; NULL in plain mode */
    kh_certdir_t *certs;                /* the clients directory as last read */
    zactor_t *auth;                     /* zauth, admitting what the mirror holds */
    bool      auth_owner;               /* we hold the process's one zauth */
    char     *mirror;                   /* private directory of the mirror's generations */
    unsigned  generation;               /* the one zauth reads now (0: none yet) */
    bool      live_cut;                 /* a certificate went: live connections are to
                                           be made again (kh__live_rebind) */

    /* kh_broker_audit.c: what was refused, on its way to the recorder */
    kh_audit_t *audit_ring;             /* the queue: audit_count records from
                                           audit_first on, in a ring of audit_cap */
    size_t    audit_cap;                /* grows by doubling up to KH__AUDIT_MAX */
    size_t    audit_first;
    size_t    audit_count;
    uint64_t  audit_dropped;            /* dropped (queue full) since the last note */
    uint64_t  audit_dropped_all;        /* dropped in all */
    uint64_t  audit_sent;               /* handed to a recorder */
    zactor_t *audit_watch;              /* watches the sockets' monitors, or NULL */
    atomic_uint connections [KH__SOCKETS];  /* connections now on the client, live and
                                           recorder sockets: the watcher's thread counts
                                           them (accepted, disconnected), others read */
    int       audit_queries;            /* audit queries in flight */
    int64_t   audit_touched;            /* clock when that count last changed */
};

/* ------------------------------------------------------------ kh_broker.c */

/* A message handler: msg holds [routing id][command][...], frames counted. */
typedef void (kh__handler_fn) (kh_broker_t *self, kh_parts_t *msg);

/* A command a peer may send, with how many frames it takes after the routing id (the
   command frame included). */
typedef struct {
    const char     *name;
    int             min_frames;
    int             max_frames;
    kh__handler_fn *handler;
} kh__command_t;

/* Returns the command in table (size entries) named by frame 1 of msg, or NULL. */
const kh__command_t *kh__command_find (const kh__command_t *table, size_t size,
                                       kh_parts_t *msg);

/* True if msg has as many frames as command takes. */
bool kh__command_fits (const kh__command_t *command, kh_parts_t *msg);

/* Returns the broker's clock, in ms. */
int64_t kh__now (kh_broker_t *self);

/* Fills counters with what the broker counts now (PROTOCOL.md section 14). */
void kh__counters (kh_broker_t *self, kh_counters_t *counters);

/* True if the broker's clock is the caller's (then the periodic timers are left to
   the actor's TICK). */
bool kh__virtual_time (kh_broker_t *self);

/* Ends every live subscriber's connection (they connect again at once, each through
   zauth again), keeping the live endpoint. Returns 0, or -1 (logged) if the endpoint
   could not be bound again: it is unbound then, and a later call tries again. */
int kh__live_rebind (kh_broker_t *self);

/* Arms a one-shot timer of delay ms on the running loop unless timer_id already
   names one (or no loop runs). Returns the id the caller keeps: timer_id as it was,
   the new timer's, or -1 if it could not be armed (logged). The handler sets the
   caller's id to -1 when it runs. */
int kh__timer_once (kh_broker_t *self, int timer_id, size_t delay,
                    zloop_timer_fn *handler);

/* ------------------------------------------------------------ kh_broker_link.c */

/* Sets up the link's part from config: no recorder yet, no timer armed, its TTL and
   resend period, an empty pending table. Returns 0, or -1 if memory ran out
   (kh__link_teardown frees what was made). */
int kh__link_init (kh_broker_t *self, const kh_broker_config_t *config);

/* The loop has ended: the link's timers went with it. */
void kh__link_reset (kh_broker_t *self);

/* Frees the link's part; what still waits for a recorder is dropped. Safe after a
   failed or no kh__link_init. */
void kh__link_teardown (kh_broker_t *self);

/* Handles a message from the recorder socket. */
void kh__link_message (kh_broker_t *self, kh_parts_t *msg);

/* True if a recorder is linked (it may take STOREs and queries). */
bool kh__link_up (kh_broker_t *self);

/* True once a recorder has told the store's head. */
bool kh__link_head_known (kh_broker_t *self);

/* Hands the recorder, oldest first, what waits for it: some now, the rest soon. */
void kh__link_flush (kh_broker_t *self);

/* A publish was just added, or answers made room at the recorder: hands over what
   may go now, unless the link is catching up (its queue was full, or more waits
   from before) and will hand it over in turn. While publishes wait held back (a
   connection's share, kh_pending.h), asks libzmq now and then whether the recorder
   still stands, since no STORE would tell. */
void kh__link_handover (kh_broker_t *self);

/* Passes a query on as [command][client id][*body] (QUERY, ITEMS, STATS, an audit
   query); takes *body on success. Returns 0, or -1 if no recorder is linked or its
   queue is full. */
int kh__link_send_query (kh_broker_t *self, const char *command, zmq_msg_t *client,
                         zmq_msg_t *body);

/* True if a recorder is linked, its queue took the last send, and no STORE waits to
   be handed over: audit records may go. */
bool kh__link_idle (kh_broker_t *self);

/* Sends [AUDIT][the size bytes at data] to the recorder, which does not answer it.
   Returns 0, or -1 if no recorder is linked or its queue is full (then the link
   tries again soon, kh__link_flush, and sends what waits). */
int kh__link_audit (kh_broker_t *self, const void *data, size_t size);

/* The link's once-a-second work: liveness, lost answers, what waits. */
void kh__link_tick (kh_broker_t *self);

/* ------------------------------------------------------------ kh_broker_client.c */

/* Sets up the clients' part from config: no queries in flight, the allowed senders.
   Returns 0, or -1 if memory ran out or config->senders names something that is not
   an AGS (logged); kh__client_teardown frees what was made. */
int kh__client_init (kh_broker_t *self, const kh_broker_config_t *config);

/* Frees the clients' part. Safe after a failed or no kh__client_init. */
void kh__client_teardown (kh_broker_t *self);

/* Handles a request from the client socket; every bad one is answered. */
void kh__client_message (kh_broker_t *self, kh_parts_t *msg);

/* Sends [routing id][command][data] to a client without blocking; a reply the client
   is gone or too slow for is dropped and counted. */
void kh__reply (kh_broker_t *self, const void *client, size_t client_size,
                const char *command, const void *data, size_t size);

/* As kh__reply with the body *body, passed on without copying (*body is then empty). */
void kh__reply_msg (kh_broker_t *self, const void *client, size_t client_size,
                    const char *command, zmq_msg_t *body);

/* Answers a client with [ERROR][error]; id may be NULL, req 0. */
void kh__reply_error (kh_broker_t *self, const void *client, size_t client_size,
                      const uint8_t *id, uint64_t req, int code, const char *reason);

/* Passes a query's answer (*body, taken) on to client as [command][body]: one query
   fewer at the recorder for it if counted (an audit query's is counted by the
   audit), and one more answer held for it until libzmq has written it out to the
   connection (a client that does not read is sent no more than
   KH_BROKER_QUERIES_MAX answers: its further queries are refused). */
void kh__reply_answer (kh_broker_t *self, const void *client, size_t client_size,
                       const char *command, zmq_msg_t *body, bool counted);

/* Forgets every query in flight (their answers will not come). */
void kh__queries_purge (kh_broker_t *self);

/* The clients' once-a-second work: queries whose answers never came expire. */
void kh__client_tick (kh_broker_t *self);

/* ------------------------------------------------------------ kh_broker_trust.c */

/* Who sent a message on the client socket. */
typedef struct {
    bool       anonymous;               /* plain mode: no certificate, nobody is known */
    kh_ident_t ident;                   /* secure mode: what the certificate says */
} kh__peer_t;

/* Sets up the trust part from config, before the sockets: in plain mode it checks
   that every endpoint is a loopback one; else it loads our certificate and the
   clients directory and starts zauth on a private copy of it. Returns 0, or -1
   after logging why (kh__trust_teardown frees what was made). */
int kh__trust_init (kh_broker_t *self, const kh_broker_config_t *config);

/* Stops zauth and frees the trust part; call after the sockets are closed. Safe
   after a failed or no kh__trust_init. */
void kh__trust_teardown (kh_broker_t *self);

/* Makes sock a CURVE server with our certificate, before it binds; link: the
   recorder's socket, which stays plain over ipc:// and inproc://. Nothing in plain
   mode. */
void kh__trust_socket (kh_broker_t *self, zsock_t *sock, bool link);

/* Looks at the clients directory (twice a second): if it changed, reads it again
   and makes zauth admit what it holds now; if that took a certificate away (or
   changed one), ends the live connections, which are then made again through zauth
   (a subscriber sends nothing the broker could refuse). */
void kh__trust_watch (kh_broker_t *self);

/* Who sent msg (from the client socket), failing closed: fills peer and returns 0,
   or -1 with why set to FORBIDDEN: no identity, a certificate the directory does
   not hold (any more) or that changed since the peer connected, one without an
   AGS or a known role, or one of role hub. In plain mode every peer is anonymous. */
int kh__trust_client (kh_broker_t *self, kh_parts_t *msg, kh__peer_t *peer,
                      kh_problem_t *why);

/* Handles a message from the recorder socket: passes it to kh__link_message if it
   comes from a certificate of role hub that the directory holds (or the link is
   not CURVE), else ignores and counts it. */
void kh__trust_link_message (kh_broker_t *self, kh_parts_t *msg);

/* ------------------------------------------------------------ kh_broker_audit.c */

/* Watches sock (named "client", "live" or "recorder"; before it binds) through a
   socket monitor, so that its refused connections are audited and its connections
   counted (connections); the first call starts the watcher. A socket that cannot be watched is logged. */
void kh__audit_watch (kh_broker_t *self, zsock_t *sock, const char *name);

/* Adds the watcher's reader to loop (nothing if no socket is watched). Returns 0,
   or -1 if memory ran out. */
int kh__audit_loop (kh_broker_t *self, zloop_t *loop);

/* Stops the watcher and frees the queue (what it holds is lost, and logged). Safe
   after a failed or no start. */
void kh__audit_teardown (kh_broker_t *self);

/* Audits msg (from the client socket), refused with code and reason: its peer's
   address, command, size, the certificate its connection was made with and the
   from it claimed (a publish), as the record's bounded fields hold them. */
void kh__audit_refusal (kh_broker_t *self, kh_parts_t *msg, int code,
                        const char *reason);

/* Audits a publish the recorder refused (FAILED) or whose answer could not be read:
   the broker no longer holds its frames, so the record has no peer and no
   certificate (the from, read from the envelope, was checked against it when the
   publish was accepted). */
void kh__audit_unstored (kh_broker_t *self, const kh_pending_view_t *entry, int code,
                         const char *reason);

/* Handles [AUDIT][audit query] from a client: only an admin's (any peer's in plain
   mode) goes to the recorder; every refusal is answered and audited. */
void kh__audit_query (kh_broker_t *self, kh_parts_t *msg);

/* Hands queued audit records to the recorder while kh__link_idle says it may. */
void kh__audit_flush (kh_broker_t *self);

/* An audit query's answer went back: one fewer in flight. */
void kh__audit_answered (kh_broker_t *self);

/* Forgets the audit queries in flight (their answers will not come). */
void kh__audit_purge (kh_broker_t *self);

/* The audit's once-a-second work: queries whose answers never came expire, and
   what is queued goes to the recorder if it can. */
void kh__audit_tick (kh_broker_t *self);

/* ------------------------------------------------------------ kh_broker_live.c */

/* Sets up the live part: no timer armed. */
void kh__live_init (kh_broker_t *self);

/* The loop has ended: the live part's timer went with it. */
void kh__live_reset (kh_broker_t *self);

/* Handles [0x01|0x00][prefix] from the XPUB: a subscription opened or closed. Once
   the head is known, new subscriptions bring a heartbeat within ~10 ms (one for all
   that arrive meanwhile). */
void kh__live_message (kh_broker_t *self, kh_parts_t *msg);

/* Publishes a committed publish live as [topic][record]. */
void kh__live_publish (kh_broker_t *self, const kh_pending_view_t *entry,
                       const kh_seqinfo_t *info);

/* The live socket's once-a-second work: the heartbeat, once the head is known. */
void kh__live_tick (kh_broker_t *self);

#endif
