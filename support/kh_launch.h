/*  kh_launch.h - the hub as two child processes: kreishub-broker, then
    kreishub-recorder on the broker's recorder endpoint, each awaited until its READY
    line, then until the broker says (PONG) that the recorder is linked, so that the
    hub stores at once. `kreishub up`, the test harness and the bench start their
    hubs here; kh_proc.h runs each program.
*/
#ifndef KH_LAUNCH_H_INCLUDED
#define KH_LAUNCH_H_INCLUDED

#include <stdio.h>
#include "kreishub/kreishub.h"
#include "kh_proc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_LAUNCH_READY_MS  30000       /* a program must say READY within this */
#define KH_LAUNCH_STOP_MS   10000       /* and end within this after SIGTERM */

typedef struct _kh_launch_t kh_launch_t;

/* Where the programs are and where what they say goes; every field may be 0. */
typedef struct {
    const char *bin_dir;                /* NULL: beside this program if there, else PATH */
    const char *wrap;                   /* shell words to run each under ("valgrind -q") */
    const char *log_dir;                /* stderr to LOG_DIR/PROGRAM.err; NULL: ours */
    FILE       *echo;                   /* their stdout lines but READY; NULL: dropped */
    int         ready_ms;               /* 0: KH_LAUNCH_READY_MS */
    const kh_keys_t *keys;              /* who pings the broker for the link (any role
                                           but hub); NULL: a plain client */
} kh_launch_opts_t;

/* Creates a launcher; nothing runs yet. Returns NULL if memory runs out. */
kh_launch_t *kh_launch_new (const kh_launch_opts_t *opts);

/* Kills what still runs (kh_proc_destroy) and frees self; sets *self_p to NULL.
   Stop the programs first with kh_launch_stop for a clean end. */
void kh_launch_destroy (kh_launch_t **self_p);

/* Makes every wait end when fd becomes readable (e.g. a signal's self-pipe); -1: none. */
void kh_launch_set_wake (kh_launch_t *self, int fd);

/* Starts kreishub-broker with args (NULL-terminated, or NULL) and waits for its
   READY line, which gives the endpoints. A broker started before is ended first.
   Returns 0, KH_PROC_WOKEN, or -1 (kh_launch_why says why). */
int kh_launch_broker (kh_launch_t *self, const char *const *args);

/* Starts kreishub-recorder with --broker and the broker's recorder endpoint, then
   args, and waits for its READY line. Returns as kh_launch_broker. */
int kh_launch_recorder (kh_launch_t *self, const char *const *args);

/* Starts kreishub-web with the broker's client and live endpoints, then args, and
   waits for its READY line (url=...). Returns as kh_launch_broker. */
int kh_launch_web (kh_launch_t *self, const char *const *args);

/* Waits up to timeout_ms until the broker answers a PING saying its recorder is
   linked, watching that neither program ends. Returns as kh_launch_broker. */
int kh_launch_await_link (kh_launch_t *self, int timeout_ms);

/* kh_launch_broker, kh_launch_recorder, then kh_launch_await_link within the
   ready time. Returns the first result that is not 0, else 0. */
int kh_launch_start (kh_launch_t *self, const char *const *broker_args,
                     const char *const *recorder_args);

/* An endpoint the broker bound, from its READY line: key "client", "live" or
   "recorder". Returns "" before the broker said READY. */
const char *kh_launch_endpoint (kh_launch_t *self, const char *key);

/* The running (or ended) programs, NULL before they were started. */
kh_proc_t *kh_launch_broker_proc (kh_launch_t *self);
kh_proc_t *kh_launch_recorder_proc (kh_launch_t *self);
kh_proc_t *kh_launch_web_proc (kh_launch_t *self);

/* Sends SIGTERM to each program started (the web node, the recorder, the broker) and
   waits for each up to KH_LAUNCH_STOP_MS (then kills it).
   Returns 0 if every program started ended with status 0 (or was ended by that
   SIGTERM while still starting, before it could handle it), else -1 (kh_launch_why
   names one that did not). */
int kh_launch_stop (kh_launch_t *self);

/* Why the last call failed, a sentence that names the program; "" if none did. */
const char *kh_launch_why (kh_launch_t *self);

#ifdef __cplusplus
}
#endif
#endif
