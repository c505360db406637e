/*  kh_pending_test.c - the table of publishes waiting for the recorder: tokens, the
    ring and its span, bytes, the order of sends, lost answers, a new recorder, and the
    lanes (one connection's bound, round robin, calm), with a random walk that checks
    every invariant after each step. */
#include <czmq.h>
#include "kh_pending.h"
#include "kh_check.h"

/* Adds one entry of the connection named n (its routing id: n's bytes) at now, with
   an envelope of size bytes; returns its token, 0 if the add failed. */
static uint64_t
s_add_sized (kh_pending_t *self, int n, int64_t now, size_t size)
{
    zmq_msg_t client, envelope;
    zmq_msg_init_size (&client, sizeof n);
    memcpy (zmq_msg_data (&client), &n, sizeof n);
    zmq_msg_init_size (&envelope, size);
    memset (zmq_msg_data (&envelope), 'e', size);
    uint8_t id [KH_ID_SIZE] = { (uint8_t) n, 1 };
    uint64_t token = kh_pending_add (self, &client, &envelope, id, "idea/05162/", now);
    zmq_msg_close (&client);
    zmq_msg_close (&envelope);
    return token;
}

/* The same with a 3-byte envelope. */
static uint64_t
s_add (kh_pending_t *self, int n, int64_t now)
{
    return s_add_sized (self, n, now, 3);
}

/* True if connection n has lane_max entries waiting. */
static bool
s_lane_full (kh_pending_t *self, int n)
{
    zmq_msg_t client;
    zmq_msg_init_size (&client, sizeof n);
    memcpy (zmq_msg_data (&client), &n, sizeof n);
    bool full = kh_pending_lane_full (self, &client);
    zmq_msg_close (&client);
    return full;
}

/* Hands over every entry kh_pending_unsent gives at now; returns how many. */
static int
s_send_all (kh_pending_t *self, int64_t now)
{
    int sent = 0;
    for (uint64_t token; (token = kh_pending_unsent (self)) != 0; sent++)
        kh_pending_sent (self, token, now);
    return sent;
}

/* Hands over the next entry at now; returns its token (0: none). */
static uint64_t
s_send_one (kh_pending_t *self, int64_t now)
{
    uint64_t token = kh_pending_unsent (self);
    if (token)
        kh_pending_sent (self, token, now);
    return token;
}

/* The recorder answers token at now: the broker records it and forgets the entry. */
static void
s_answer (kh_pending_t *self, uint64_t token, int64_t now)
{
    kh_pending_answered (self, token, now);
    kh_pending_remove (self, token);
}

/* Returns the connection (n of s_add) of the entry under token, or -1. */
static int
s_owner (kh_pending_t *self, uint64_t token)
{
    kh_pending_view_t view;
    int n = -1;
    if (kh_pending_get (self, token, &view) == 0 && view.client_size == sizeof n)
        memcpy (&n, view.client, sizeof n);
    return n;
}

/* True if the entry under token is marked resent. */
static bool
s_resent (kh_pending_t *self, uint64_t token)
{
    kh_pending_view_t view;
    return kh_pending_get (self, token, &view) == 0 && view.resent;
}

/* ------------------------------------------------------------ tokens and the ring */

static void
test_ring (void)
{
    KH_CHECK ("a table of size 0 cannot be made", kh_pending_new (0, 100, 1) == NULL, "made");
    KH_CHECK ("a table whose tokens start at 0 cannot be made",
              kh_pending_new (10, 100, 0) == NULL, "made");
    kh_pending_t *self = kh_pending_new (3000, 1000000, 77);
    KH_CHECK ("a table is made", self && kh_pending_check (self), "not made");
    if (!self)
        return;
    KH_CHECK ("the first token is the one asked for", s_add (self, 0, 0) == 77, "other");
    for (int i = 1; i < 3000; i++)
        s_add (self, i, 0);
    KH_CHECK ("the table grows past its first ring and holds max entries",
              kh_pending_size (self) == 3000 && kh_pending_full (self)
              && kh_pending_check (self), "%zu entries", kh_pending_size (self));
    KH_CHECK ("the table tells the max it was made with", kh_pending_max (self) == 3000,
              "%zu", kh_pending_max (self));
    KH_CHECK ("the table counts the bytes of the envelopes it holds",
              kh_pending_bytes (self) == 3000 * 3, "%zu", kh_pending_bytes (self));
    zmq_msg_t client, envelope;
    zmq_msg_init_size (&client, 5);
    zmq_msg_init_size (&envelope, 3);
    uint8_t id [KH_ID_SIZE] = { 0 };
    KH_CHECK ("a full table refuses an add and leaves the messages with the caller",
              kh_pending_add (self, &client, &envelope, id, "t/", 0) == 0
              && zmq_msg_size (&client) == 5 && zmq_msg_size (&envelope) == 3, "taken");
    zmq_msg_close (&client);
    zmq_msg_close (&envelope);
    KH_CHECK ("entries keep their messages across growth", s_owner (self, 77 + 1500) == 1500,
              "owner %d", s_owner (self, 77 + 1500));
    kh_pending_view_t view;
    KH_CHECK ("an entry keeps its id, topic and envelope",
              kh_pending_get (self, 77 + 1500, &view) == 0 && view.id [0] == (uint8_t) 1500
              && streq (view.topic, "idea/05162/") && view.envelope_size == 3
              && memcmp (view.envelope, "eee", 3) == 0 && !view.resent, "other");
    KH_CHECK ("there is no entry under a token never issued",
              kh_pending_get (self, 5, &view) == -1 && kh_pending_get (self, 9999, &view) == -1,
              "found");

    for (uint64_t token = 77; token < 77 + 100; token++)
        kh_pending_remove (self, token);
    KH_CHECK ("answered in order, the span equals the count",
              kh_pending_next (self) - kh_pending_oldest (self) == kh_pending_size (self)
              && kh_pending_oldest (self) == 177 && kh_pending_check (self), "oldest %llu",
              (unsigned long long) kh_pending_oldest (self));
    kh_pending_remove (self, 178);
    KH_CHECK ("removing a middle entry does not move the oldest",
              kh_pending_oldest (self) == 177 && kh_pending_get (self, 178, &view) == -1
              && kh_pending_next (self) - kh_pending_oldest (self)
                 == kh_pending_size (self) + 1, "oldest %llu",
              (unsigned long long) kh_pending_oldest (self));
    kh_pending_remove (self, 177);
    KH_CHECK ("removing the oldest skips past freed tokens",
              kh_pending_oldest (self) == 179 && kh_pending_check (self), "oldest %llu",
              (unsigned long long) kh_pending_oldest (self));
    KH_CHECK ("a table with room takes an add again", s_add (self, 3000, 0) == 77 + 3000,
              "refused");
    kh_pending_remove (self, 5);
    KH_CHECK ("removing an unknown token does nothing", kh_pending_size (self) == 2899,
              "%zu", kh_pending_size (self));
    for (uint64_t token = kh_pending_oldest (self); token < kh_pending_next (self); token++)
        kh_pending_remove (self, token);
    KH_CHECK ("an emptied table starts at the next token",
              kh_pending_size (self) == 0 && kh_pending_oldest (self) == kh_pending_next (self)
              && kh_pending_unsent (self) == 0 && kh_pending_inflight (self) == 0, "not empty");
    KH_CHECK ("an emptied table holds no bytes",
              kh_pending_bytes (self) == 0 && kh_pending_check (self), "%zu",
              kh_pending_bytes (self));
    s_add (self, 1, 0);
    s_add (self, 2, 0);
    kh_pending_destroy (&self);             /* with entries of two lanes: no leak */
    kh_pending_destroy (&self);
    KH_CHECK ("destroy clears the pointer and is safe twice", self == NULL, "not cleared");

    kh_pending_t *span = kh_pending_new (10, 100, 1);
    for (int i = 0; i < 10; i++)
        s_add (span, i, 0);
    for (uint64_t token = 2; token <= 10; token++)
        kh_pending_remove (span, token);
    KH_CHECK ("an oldest entry left unanswered keeps the span: max tokens past it, adds "
              "are refused", kh_pending_size (span) == 1 && kh_pending_full (span)
              && s_add (span, 1, 0) == 0 && kh_pending_check (span), "%zu waiting",
              kh_pending_size (span));
    kh_pending_remove (span, 1);
    KH_CHECK ("once the oldest goes, the span is free again",
              !kh_pending_full (span) && s_add (span, 1, 0) == 11, "full");
    kh_pending_destroy (&span);

    kh_pending_t *small = kh_pending_new (10, 100, 1);
    uint64_t a = small ? s_add_sized (small, 1, 0, 60) : 0;
    KH_CHECK ("a table refuses an envelope beyond its bytes, and takes one that fits",
              a && s_add_sized (small, 2, 0, 41) == 0 && s_add_sized (small, 2, 0, 40) != 0
              && kh_pending_bytes (small) == 100, "bytes %zu",
              small ? kh_pending_bytes (small) : 0);
    if (small)
        kh_pending_remove (small, a);
    KH_CHECK ("an answer gives its bytes back",
              small && kh_pending_bytes (small) == 40 && s_add_sized (small, 2, 0, 60) != 0,
              "bytes %zu", small ? kh_pending_bytes (small) : 0);
    kh_pending_destroy (&small);
}

/* ------------------------------------------------------------ sends and answers */

static void
test_sends (void)
{
    kh_pending_t *self = kh_pending_new (100, 1000, 1);
    assert (self);
    uint64_t a = s_add (self, 1, 0), b = s_add (self, 1, 0), c = s_add (self, 1, 0);
    KH_CHECK ("the oldest unsent entry is handed over first", kh_pending_unsent (self) == a,
              "%llu", (unsigned long long) kh_pending_unsent (self));
    KH_CHECK ("every entry is handed over once",
              s_send_all (self, 1000) == 3 && kh_pending_unsent (self) == 0
              && kh_pending_inflight (self) == 3 && kh_pending_check (self), "inflight %zu",
              kh_pending_inflight (self));
    KH_CHECK ("nothing is lost while nothing is answered and the recorder is not silent",
              kh_pending_requeue (self, 1500, 1000) == 0, "requeued");
    s_answer (self, c, 1600);
    KH_CHECK ("an answer to a later send shows the earlier sends lost their answers",
              kh_pending_requeue (self, 1700, 1000) == 2 && kh_pending_unsent (self) == a
              && kh_pending_inflight (self) == 0 && kh_pending_check (self), "unsent %llu",
              (unsigned long long) kh_pending_unsent (self));
    KH_CHECK ("a requeued entry is marked resent", s_resent (self, a) && s_resent (self, b),
              "not marked");
    KH_CHECK ("requeued entries go again oldest first",
              s_send_one (self, 1800) == a && s_send_one (self, 1800) == b, "other order");
    KH_CHECK ("a silent recorder is sent nothing again before after_ms",
              kh_pending_requeue (self, 2799, 1000) == 0, "requeued");
    KH_CHECK ("a silent recorder is sent again only the first entry sent of those waiting "
              "that long", kh_pending_requeue (self, 2800, 1000) == 1
              && kh_pending_unsent (self) == a && kh_pending_inflight (self) == 1
              && kh_pending_check (self), "unsent %llu",
              (unsigned long long) kh_pending_unsent (self));
    kh_pending_sent (self, a, 2800);
    kh_pending_rewind (self, 3000);
    KH_CHECK ("a new recorder is handed every waiting entry again, oldest first",
              kh_pending_unsent (self) == a && kh_pending_inflight (self) == 0
              && s_send_all (self, 3000) == 2 && kh_pending_check (self), "unsent %llu",
              (unsigned long long) kh_pending_unsent (self));
    kh_pending_answered (self, a, 3100);
    KH_CHECK ("an answer in order loses nothing", kh_pending_requeue (self, 3200, 1000) == 0,
              "requeued");
    kh_pending_answered (self, 999, 3300);
    KH_CHECK ("an answer to a token not waiting changes nothing",
              kh_pending_requeue (self, 3300, 1000) == 0 && kh_pending_check (self), "changed");

    zmq_msg_t copy;
    KH_CHECK ("an envelope is shared, not copied",
              kh_pending_share (self, b, &copy) == 0 && zmq_msg_size (&copy) == 3, "not shared");
    kh_pending_remove (self, a);
    kh_pending_remove (self, b);
    KH_CHECK ("a shared envelope outlives its entry",
              memcmp (zmq_msg_data (&copy), "eee", 3) == 0 && kh_pending_size (self) == 0
              && kh_pending_check (self), "gone");
    zmq_msg_close (&copy);
    KH_CHECK ("an entry that is not there cannot be shared",
              kh_pending_share (self, b, &copy) == -1, "shared");
    kh_pending_destroy (&self);
}

/* ------------------------------------------------------------ lanes */

/* One connection's bound, and what refuses an add. */
static void
test_lane_bound (void)
{
    kh_pending_t *self = kh_pending_new (100, 1000, 1);
    assert (self);
    KH_CHECK ("until lanes are set, a connection has no bound",
              kh_pending_lane_max (self) == 0 && !s_lane_full (self, 7), "bound");
    kh_pending_set_lanes (self, 3, 0);
    uint64_t x [3];
    for (int i = 0; i < 3; i++)
        x [i] = s_add (self, 7, 100);
    KH_CHECK ("a connection below its bound is not full", x [2] && !s_lane_full (self, 8),
              "full");
    KH_CHECK ("a connection at its bound is refused, and told so",
              s_lane_full (self, 7) && s_add (self, 7, 100) == 0
              && kh_pending_lane_max (self) == 3 && kh_pending_size (self) == 3, "taken");
    uint64_t y = s_add (self, 8, 100);
    KH_CHECK ("another connection still adds", y != 0 && kh_pending_check (self), "refused");
    kh_pending_sent (self, kh_pending_unsent (self), 110);
    s_answer (self, x [0], 120);
    KH_CHECK ("an answer makes room for the connection",
              !s_lane_full (self, 7) && s_add (self, 7, 120) != 0 && s_lane_full (self, 7),
              "no room");
    kh_pending_remove (self, x [1]);    /* unsent: an answer from an earlier recorder */
    KH_CHECK ("an unsent entry that goes makes room too", !s_lane_full (self, 7)
              && kh_pending_check (self), "no room");
    kh_pending_destroy (&self);

    self = kh_pending_new (100, 1000, 1);
    kh_pending_set_lanes (self, 0, 0);
    for (int i = 0; i < 100; i++)
        s_add (self, 7, 0);
    KH_CHECK ("lane_max 0: one connection may fill the table", kh_pending_size (self) == 100
              && !s_lane_full (self, 7) && kh_pending_full (self), "%zu",
              kh_pending_size (self));
    kh_pending_destroy (&self);
}

/* STOREs go round robin across the connections, each one's oldest first. */
static void
test_round_robin (void)
{
    kh_pending_t *self = kh_pending_new (100, 1000, 1);
    assert (self);
    kh_pending_set_lanes (self, 10, 0);
    uint64_t a0 = s_add (self, 1, 0), a1 = s_add (self, 1, 0), b0 = s_add (self, 2, 0);
    uint64_t a2 = s_add (self, 1, 0), c0 = s_add (self, 3, 0), b1 = s_add (self, 2, 0);
    uint64_t order [6] = { a0, b0, c0, a1, b1, a2 }, got [6] = { 0 };
    int same = 0;
    for (int i = 0; i < 6; i++) {
        got [i] = s_send_one (self, 10);
        same += got [i] == order [i];
    }
    KH_CHECK ("STOREs go round robin across connections, each one's oldest first", same == 6
              && kh_pending_unsent (self) == 0 && kh_pending_check (self),
              "%d of 6 in order", same);
    kh_pending_rewind (self, 20);
    uint64_t first = s_send_one (self, 20), second = s_send_one (self, 20);
    uint64_t d0 = s_add (self, 4, 20);
    /* The round goes on at lane 3, then 1 and 2; lane 4 joins at its end. */
    uint64_t next [4];
    for (int i = 0; i < 4; i++)
        next [i] = s_send_one (self, 20);
    KH_CHECK ("a connection that comes in the middle of a round is served last in it",
              first == a0 && second == b0 && next [0] == c0 && next [1] == a1
              && next [2] == b1 && next [3] == d0, "other order");
    kh_pending_destroy (&self);

    /* A flood of one connection does not delay another's publish by more than a turn. */
    self = kh_pending_new (5000, 1000000, 1);
    kh_pending_set_lanes (self, 2000, 0);
    for (int i = 0; i < 1000; i++)
        s_add (self, 1, 0);
    s_send_one (self, 0);
    uint64_t polite = s_add (self, 2, 0);
    uint64_t flood = s_send_one (self, 0);
    KH_CHECK ("a quiet connection's publish waits for one turn of the flooder, not its "
              "thousand", s_owner (self, flood) == 1 && s_send_one (self, 0) == polite,
              "behind the flood");
    kh_pending_destroy (&self);
}

/* Calm: while a light connection was served lately, each connection has at most
   calm_inflight STOREs at the recorder. */
static void
test_calm (void)
{
    kh_pending_t *self = kh_pending_new (100, 1000, 1);
    assert (self);
    kh_pending_set_lanes (self, 50, 2);
    for (int i = 0; i < 10; i++)
        s_add (self, 7, 100);
    KH_CHECK ("without a light connection, a heavy one's STOREs all go",
              s_send_all (self, 100) == 10 && kh_pending_inflight (self) == 10, "%zu",
              kh_pending_inflight (self));
    for (int i = 0; i < 10; i++)
        s_answer (self, kh_pending_oldest (self), 110);
    for (int i = 0; i < 5; i++)
        s_add (self, 7, 110);
    KH_CHECK ("a heavy connection's lane, emptied, makes no calm",
              s_send_all (self, 110) == 5, "held back");
    uint64_t y = s_add (self, 8, 120);
    KH_CHECK ("a light connection's STORE goes at once", s_send_one (self, 120) == y,
              "held back");
    s_answer (self, y, 130);            /* calm until 130 + KH_PENDING_CALM_MS */
    for (int i = 0; i < 5; i++)
        s_add (self, 7, 130);
    KH_CHECK ("while calm, a connection at calm_inflight STOREs gets no more handed over",
              kh_pending_unsent (self) == 0 && kh_pending_check (self), "one went");
    for (int i = 0; i < 5; i++)
        s_answer (self, kh_pending_oldest (self), 140);
    KH_CHECK ("while calm, a connection has at most calm_inflight STOREs at the recorder",
              s_send_all (self, 140) == 2 && kh_pending_inflight (self) == 2, "%zu",
              kh_pending_inflight (self));
    uint64_t z = s_add (self, 9, 150);
    KH_CHECK ("while calm, a light connection's STORE goes at once",
              s_send_one (self, 150) == z, "held back");
    s_answer (self, z, 150);            /* calm again, until 150 + KH_PENDING_CALM_MS */
    s_answer (self, kh_pending_oldest (self), 149 + KH_PENDING_CALM_MS);
    KH_CHECK ("calm lasts KH_PENDING_CALM_MS after a light connection was served",
              s_send_all (self, 149 + KH_PENDING_CALM_MS) == 1
              && kh_pending_inflight (self) == 2, "%zu", kh_pending_inflight (self));
    s_answer (self, kh_pending_oldest (self), 150 + KH_PENDING_CALM_MS);
    KH_CHECK ("once calm has passed, the bound is gone",
              s_send_all (self, 150 + KH_PENDING_CALM_MS) == 2
              && kh_pending_inflight (self) == 3 && kh_pending_check (self), "%zu",
              kh_pending_inflight (self));
    kh_pending_destroy (&self);

    self = kh_pending_new (100, 1000, 1);
    kh_pending_set_lanes (self, 50, 2);
    s_add (self, 8, 0);
    s_answer (self, s_send_one (self, 0), 0);     /* connection 8 is light: calm */
    for (int i = 0; i < 2; i++)
        s_add (self, 8, 10);
    for (int i = 0; i < 10; i++)
        s_add (self, 7, 10);
    int sent = s_send_all (self, 10);
    KH_CHECK ("while calm, the light connection that made it is not held to "
              "calm_inflight: its few go at once, the others' two at a time",
              sent == 4 && kh_pending_inflight (self) == 4 && kh_pending_check (self),
              "%d sent", sent);
    for (int i = 0; i < 8; i++)
        s_add (self, 8, 20);
    sent = s_send_all (self, 20);
    KH_CHECK ("once it holds more than KH_PENDING_LIGHT, it is light no longer and the "
              "calm ends: every connection's backlog goes", sent == 16
              && kh_pending_inflight (self) == 20 && kh_pending_check (self),
              "%d sent", sent);
    kh_pending_destroy (&self);

    self = kh_pending_new (100, 1000, 1);
    kh_pending_set_lanes (self, 50, 0);
    s_add (self, 8, 0);
    s_answer (self, s_send_one (self, 0), 0);
    for (int i = 0; i < 10; i++)
        s_add (self, 7, 10);
    KH_CHECK ("calm_inflight 0: a light connection holds nobody back",
              s_send_all (self, 10) == 10, "held back");
    kh_pending_destroy (&self);
}

/* Lost answers, a new recorder and late answers, with lanes. */
static void
test_lanes_resend (void)
{
    kh_pending_t *self = kh_pending_new (100, 1000, 1);
    assert (self);
    kh_pending_set_lanes (self, 10, 0);
    uint64_t a0 = s_add (self, 1, 0), a1 = s_add (self, 1, 0), a2 = s_add (self, 1, 0);
    uint64_t b0 = s_add (self, 2, 0);
    s_send_all (self, 100);                  /* sent a0 b0 a1 a2 */
    s_answer (self, a1, 200);                /* so a0 and b0 lost theirs; a2 did not */
    KH_CHECK ("lost answers are found by the order of sends, not of tokens",
              kh_pending_requeue (self, 300, 1000) == 2 && s_resent (self, a0)
              && s_resent (self, b0) && !s_resent (self, a2) && kh_pending_inflight (self) == 1
              && kh_pending_check (self), "inflight %zu", kh_pending_inflight (self));
    KH_CHECK ("requeued entries go again round robin, each connection's oldest first",
              s_send_one (self, 300) == a0 && s_send_one (self, 300) == b0
              && kh_pending_unsent (self) == 0, "other order");
    /* Silent: of the entries waiting after_ms, the first sent (a2 at 100) goes again. */
    KH_CHECK ("a silent recorder gets again the first of the entries sent that long ago",
              kh_pending_requeue (self, 1300, 1000) == 1 && kh_pending_unsent (self) == a2
              && kh_pending_check (self), "unsent %llu",
              (unsigned long long) kh_pending_unsent (self));
    uint64_t a3 = s_add (self, 1, 1300);
    kh_pending_rewind (self, 1400);
    KH_CHECK ("a new recorder gets every entry again, round robin, each one's oldest first",
              kh_pending_inflight (self) == 0 && s_send_one (self, 1400) == a0
              && s_send_one (self, 1400) == b0 && s_send_one (self, 1400) == a2
              && s_send_one (self, 1400) == a3 && kh_pending_check (self), "other order");
    kh_pending_rewind (self, 1500);
    kh_pending_remove (self, a2);            /* late answers from the last recorder */
    kh_pending_remove (self, a3);
    KH_CHECK ("unsent entries leave from the middle and the end of their lane",
              kh_pending_check (self) && s_send_one (self, 1500) == a0
              && s_send_one (self, 1500) == b0 && kh_pending_unsent (self) == 0, "other");
    s_answer (self, a0, 1600);
    s_answer (self, b0, 1600);
    KH_CHECK ("a lane goes with its last entry",
              kh_pending_size (self) == 0 && kh_pending_inflight (self) == 0
              && !s_lane_full (self, 1) && kh_pending_check (self), "%zu left",
              kh_pending_size (self));
    kh_pending_destroy (&self);
}

/* A random walk of adds, sends, answers, late answers, lost answers, silences and new
   recorders over a few connections, checking after each step every invariant and that
   each connection's STOREs go in the order of its publishes. */
static void
test_random_walk (void)
{
    enum { LANES = 5, STEPS = 20000 };
    kh_pending_t *self = kh_pending_new (64, 64 * 3, 1);
    assert (self);
    kh_pending_set_lanes (self, 16, 3);
    uint64_t last_sent [LANES] = { 0 };      /* per lane, since the last requeue/rewind */
    int64_t now = 0;
    int broken = 0, refused = 0, sent = 0, answered = 0;
    unsigned seed = 4711;
    for (int step = 0; step < STEPS && !broken; step++) {
        int op = rand_r (&seed) % 100, lane = rand_r (&seed) % LANES;
        now += rand_r (&seed) % 20;
        if (op < 40) {
            bool full = s_lane_full (self, lane);
            uint64_t token = s_add (self, lane, now);
            refused += token == 0;
            broken += full && token != 0;   /* a full lane took one */
        }
        else
        if (op < 70) {
            uint64_t token = s_send_one (self, now);
            if (token) {
                int owner = s_owner (self, token);
                broken += owner < 0 || token <= last_sent [owner];
                if (owner >= 0)
                    last_sent [owner] = token;
                sent++;
            }
        }
        else
        if (op < 93) {
            /* The recorder answers something waiting, as a rule the oldest sent. */
            uint64_t span = kh_pending_next (self) - kh_pending_oldest (self);
            uint64_t token = kh_pending_oldest (self) + (span ? rand_r (&seed) % span : 0);
            if (kh_pending_get (self, token, &(kh_pending_view_t) { 0 }) == 0) {
                s_answer (self, token, now);
                answered++;
            }
        }
        else {
            if (op < 98)
                kh_pending_requeue (self, now, 200);
            else
                kh_pending_rewind (self, now);
            memset (last_sent, 0, sizeof last_sent);
        }
        broken += !kh_pending_check (self);
    }
    KH_CHECK ("a random walk keeps every invariant, each connection's STOREs in order",
              broken == 0 && sent > 1000 && answered > 1000 && refused > 0,
              "%d broken, %d sent, %d answered, %d refused", broken, sent, answered, refused);
    kh_pending_destroy (&self);
}

int
main (void)
{
    test_ring ();
    test_sends ();
    test_lane_bound ();
    test_round_robin ();
    test_calm ();
    test_lanes_resend ();
    test_random_walk ();
    return kh_check_done ("pending_test");
}
