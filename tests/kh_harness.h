/*  kh_harness.h - starts the real kreishub processes for integration tests.

    A hub is a broker and a recorder started from the build's bin directory (env
    KH_BIN_DIR) on random loopback ports, with a fresh data directory, through
    support/kh_launch.h: their READY lines give the endpoints, their stderr goes to
    DIR/kreishub-broker.err and DIR/kreishub-recorder.err. The harness can kill -9 or
    restart the recorder, or the broker on the same endpoints, to prove what
    survives. KH_WRAP (e.g. "valgrind -q") runs both processes under a wrapper.

    A hub is secure, as in production: the harness makes the broker's key pair
    (DIR/certs/server.cert), the recorder's certificate of role hub (its link is
    CURVE over tcp), and certificates for the Kreis 05162, its eight municipalities
    (05162004 ... 05162028) and an admin, each pair in DIR/certs/WHO.cert and its
    public part in the broker's clients directory DIR/clients. A test speaks for one
    of them through kh_hub_client, kh_hub_subscriber, kh_hub_dealer, kh_hub_sub or
    kh_hub_run_as; any other AGS gets its certificate on first use. kh_hub_start_plain
    starts a hub in plain mode, for tests about plain mode.
*/
#ifndef KH_HARNESS_H_INCLUDED
#define KH_HARNESS_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <czmq.h>
#include "kh_launch.h"

#define KH_HUB_KREIS    "05162"         /* the Kreis of the harness' certificates */

typedef struct {
    char  dir [256];            /* data directory (temporary) */
    char  client [128];         /* broker's client endpoint */
    char  live [128];           /* broker's live endpoint */
    char  recorder [128];       /* broker's recorder endpoint */
    pid_t broker_pid;           /* 0 while it is not running */
    pid_t recorder_pid;
    const char *const *recorder_args;   /* more recorder flags, NULL-terminated, or NULL */
    const char *const *broker_args;     /* more broker flags, NULL-terminated, or NULL */
    kh_launch_t *launch;        /* runs both */
    bool  plain;                /* started by kh_hub_start_plain */
    char  certs [300];          /* DIR/certs: every pair, the server's too */
    char  clients [300];        /* DIR/clients: what the broker admits */
    char  server_cert [320];    /* DIR/certs/server.cert: every client's --server-cert */
    char  cert [340];           /* the last path kh_hub_cert returned */
    kh_keys_t *admin;           /* the admin's keys, which ping for the link */
} kh_hub_t;

/* Starts a secure hub (broker and recorder) with the certificates above;
   broker_args and recorder_args are NULL or NULL-terminated lists of more flags for
   each. Returns 0 when both said READY and the recorder is linked to the broker
   (publishes are not refused UNAVAILABLE), -1 (with a message) otherwise. */
int kh_hub_start (kh_hub_t *hub, const char *const *broker_args,
                  const char *const *recorder_args);
/* The same in plain mode (--plain): no certificates, nobody identified. */
int kh_hub_start_plain (kh_hub_t *hub, const char *const *broker_args,
                        const char *const *recorder_args);

/* The certificate file (NAME.cert, its secret beside it) of who: an AGS of 8 digits
   (a municipality), of 5 (a Kreis), or "admin" (of the Kreis). One the hub does not
   have yet is made, its public part put into the clients directory, and awaited
   until the broker admits it. Returns its path, valid until the next call, or NULL
   (with a message). */
const char *kh_hub_cert (kh_hub_t *hub, const char *who);
/* Waits up to timeout_ms until the broker admits the certificate at path (a new
   connection with it is answered, PONG or ERROR). Returns 0 or -1. */
int kh_hub_await_admitted (kh_hub_t *hub, const char *path, int timeout_ms);
/* Keys, a client, a subscriber (as kh_subscriber_new), a raw DEALER to the client
   endpoint and a raw SUB to the live endpoint (subscribed to topic) that speak for
   who; plain ones on a plain hub. Each returns NULL on failure; the caller destroys
   what it gets. */
kh_keys_t *kh_hub_keys (kh_hub_t *hub, const char *who);
kh_client_t *kh_hub_client (kh_hub_t *hub, const char *who);
kh_subscriber_t *kh_hub_subscriber (kh_hub_t *hub, const char *who, const char *type,
                                    const char *from, uint64_t since_seq);
zsock_t *kh_hub_dealer (kh_hub_t *hub, const char *who);
zsock_t *kh_hub_sub (kh_hub_t *hub, const char *who, const char *topic);
/* Waits until the broker says a recorder is linked (PING until PONG has recorder
   true). Returns 0, or -1 after timeout_ms or if either has ended. kh_hub_start does
   this before it returns; after a restart a test may call it itself. */
int kh_hub_await_link (kh_hub_t *hub, int timeout_ms);
/* Starts the recorder (again) on hub->dir; returns 0 when it said READY. */
int kh_hub_start_recorder (kh_hub_t *hub);
/* Sends sig to the recorder and waits for it (30 s, then kill -9); returns its wait
   status, or -1 if it was not running or had to be killed. */
int kh_hub_stop_recorder (kh_hub_t *hub, int sig);
/* Starts the broker (again) with hub->broker_args: on the endpoints it bound before
   if hub->client is set, so that clients and the recorder find it where it was, else
   on wildcard ports. Returns 0 when it said READY. */
int kh_hub_start_broker (kh_hub_t *hub);
/* The same for the broker. */
int kh_hub_stop_broker (kh_hub_t *hub, int sig);
/* Stops both with SIGTERM; returns 0 if both exited with status 0. Removes the dir
   unless keep is true. */
int kh_hub_stop (kh_hub_t *hub, bool keep);
/* Runs a shell command with the hub's endpoints in KREISHUB_ENDPOINT/KREISHUB_LIVE,
   the bin dir on PATH, and a certificate in KREISHUB_CERT with the hub's in
   KREISHUB_SERVER_CERT (a plain hub: KREISHUB_PLAIN=1): that of the sender the
   command names with "--from AGS", as a member or the Kreis publishes, else the
   admin's; captures stdout into out (cap bytes); returns the exit status (or -1). */
int kh_hub_run (kh_hub_t *hub, char *out, size_t cap, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* The same, speaking for who (see kh_hub_cert). */
int kh_hub_run_as (kh_hub_t *hub, const char *who, char *out, size_t cap,
                   const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

/* Waits until the wall clock, which the store stamps commits with, shows a later
   millisecond than now: what the hub commits after this has a later commit time
   (at) than anything it acknowledged before. */
void kh_hub_next_ms (void);

/* Reads the file at path into out (cap bytes, NUL-terminated; "" if it cannot be
   read). Returns out. */
char *kh_hub_slurp (const char *path, char *out, size_t cap);
/* Counts the lines of text (what a program printed). */
int kh_hub_lines (const char *text);

/* The checks: KH_CHECK and kh_check_done, as in the unit tests. */
#include "kh_check.h"

#endif
