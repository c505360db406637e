/*  kh_fake_hub.h - an in-process stand-in for the broker and its store, for the
    libkreishub unit tests (test code only).

    An actor binds a ROUTER (client endpoint) and an XPUB (live endpoint) on loopback
    and keeps a store of records in memory. It answers PUBLISH (with ACK, or as a
    test asks it to misbehave), QUERY (with ROWS built by kh_rows_writer, in small
    pages; a search is a substring of the title), ITEMS (every item "proposed", its
    fields its title), STATS (totals, and by type), COUNTERS (made up but for head
    and subscriptions) and PING, and publishes live records and heartbeats only when the test
    says so, which is how a test drops a live record on purpose.

    Commands on the actor's pipe (zstr/zsock_send pictures):
      "ADD" type from      -> "8" seq          store a record, do not publish it
      "ABOUT" "8" item     -> "8" seq          store a comment of 05162004 about the
                              item at seq item, do not publish it
      "LIVE" "8" seq       -> "i" 0             publish that stored record live
      "BEAT"               -> "i" 0             heartbeat with head = last seq
      "SUBS"               -> "i" count         subscriptions seen on the XPUB
      "SUB" "i" index      -> "s" topic         the index-th of them (from 0), in the
                              order they arrived; "" beyond the last
      "MODE" "s" name "i" n -> "i" 0            misbehave for the next n publishes:
                              silent (no answer), noise (answers for other ids
                              and an ERROR naming no id first), reject (ERROR
                              MISSING), unavailable, lost (the first goes
                              unanswered, the rest get UNAVAILABLE); or for
                              queries: mute (the next is answered, the n after
                              it vanish)
      "PAGE" "i" rows      -> "i" 0             rows per ROWS page (default 3)
      "STATS"              -> "888" publishes received, resends that differed
                              from the first send of their id, queries received
      "WHO"                -> "s" ags       the certificate's ags of the last client
                              message ("" if it came without one)
      "$TERM"
*/
#ifndef KH_FAKE_HUB_H_INCLUDED
#define KH_FAKE_HUB_H_INCLUDED

#include <czmq.h>

typedef struct {
    zactor_t *actor;
    char      client [64];              /* ROUTER endpoint */
    char      live [64];                /* XPUB endpoint */
} kh_fake_hub_t;

/* Starts the fake hub. Returns 0, or -1 if it could not bind. */
int kh_fake_hub_start (kh_fake_hub_t *hub);
/* Starts it as a CURVE server with the certificate (with its secret key) in the
   file cert; which clients it admits is up to the test's zauth. Returns 0, or -1
   if cert cannot be loaded or it could not bind. */
int kh_fake_hub_start_secure (kh_fake_hub_t *hub, const char *cert);
/* Copies the ags of the certificate of the last client message into ags. */
void kh_fake_hub_who (kh_fake_hub_t *hub, char *ags, size_t cap);
/* Stops it. */
void kh_fake_hub_stop (kh_fake_hub_t *hub);

/* Shortcuts for the pipe commands above. */
uint64_t kh_fake_hub_add (kh_fake_hub_t *hub, const char *type, const char *from);
uint64_t kh_fake_hub_about (kh_fake_hub_t *hub, uint64_t item);
void kh_fake_hub_live (kh_fake_hub_t *hub, uint64_t seq);
void kh_fake_hub_beat (kh_fake_hub_t *hub);
void kh_fake_hub_mode (kh_fake_hub_t *hub, const char *mode, int count);
void kh_fake_hub_page (kh_fake_hub_t *hub, int rows);
/* Returns the number of subscriptions seen so far. */
int kh_fake_hub_subs (kh_fake_hub_t *hub);
/* Copies the topic of the index-th subscription seen (from 0, in the order they
   arrived) into topic, cap bytes at most; "" if there is none yet. */
void kh_fake_hub_sub (kh_fake_hub_t *hub, int index, char *topic, size_t cap);
/* Waits up to 5 s until at least count subscriptions were seen. Returns 0 or -1. */
int kh_fake_hub_await_subs (kh_fake_hub_t *hub, int count);
void kh_fake_hub_stats (kh_fake_hub_t *hub, uint64_t *publishes, uint64_t *differing,
                        uint64_t *queries);

#endif
