/*  kh_pending.c - the broker's table of publishes waiting for the recorder's answer. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "kh_pending.h"

#define S_CAP_MIN   1024                /* slots allocated at first */
#define S_RID_MAX   255                 /* bytes of a ZeroMQ routing id, at most */

/* A routing id, as the lanes' hash table keys it. */
typedef struct {
    size_t  size;
    uint8_t data [S_RID_MAX];
} s_rid_t;

/*  A connection's lane: its entries waiting, and the unsent ones among them in token
    order, linked through the entries (head, tail; 0: none). A lane exists exactly
    while count > 0; it is in the ring of lanes to serve exactly while it has unsent
    entries. peak is the most entries it held since it was made (a light lane never
    held more than KH_PENDING_LIGHT). */
typedef struct s_lane_s s_lane_t;
struct s_lane_s {
    s_rid_t   rid;                      /* the connection (the hash table's key) */
    size_t    count;                    /* entries waiting */
    size_t    peak;                     /* the most entries it held */
    size_t    unsent;                   /* of them, not handed to the current recorder */
    size_t    inflight;                 /* of them, handed over and not answered */
    size_t    refused;                  /* publishes refused at the bound since made */
    uint64_t  head;                     /* its oldest unsent token, 0: none */
    uint64_t  tail;                     /* its newest unsent token, 0: none */
    s_lane_t *prev;                     /* the ring of lanes with unsent entries; */
    s_lane_t *next;                     /*   both NULL while the lane is not in it */
};

/* One waiting publish. Its two messages are open exactly while token is not 0. */
typedef struct {
    uint64_t  token;                    /* 0: the slot is free */
    zmq_msg_t client;                   /* routing id of the publisher */
    zmq_msg_t envelope;                 /* the envelope, byte for byte as received */
    uint8_t   id [KH_ID_SIZE];          /* the envelope's message id, for the ACK */
    char      topic [KH_TOPIC_MAX + 1]; /* live topic "<type>/<from>/" */
    s_lane_t *lane;                     /* its connection's lane */
    uint64_t  next_unsent;              /* the lane's next unsent token (0: none) */
    bool      sent;                     /* handed to the current recorder */
    bool      resent;                   /* handed over more than once */
    int64_t   sent_at;                  /* the caller's clock at the last send */
    uint64_t  send_no;                  /* sends counted at the last send */
} s_entry_t;

/*  Entries live in a ring of cap slots (a power of two): token t sits in slot
    t & (cap - 1). Every waiting token lies in [oldest, next); that span never exceeds
    max nor cap, so two waiting tokens never share a slot, and every slot outside it is
    free. The slot of oldest is waiting unless the table is empty: oldest advances past
    freed slots when its entry goes. count is the number of waiting slots and bytes
    the size of their envelopes.

    Every waiting entry belongs to the lane of its client; the lanes' counts add up to
    count, their unsent and inflight counts to the entries not sent and sent (inflight
    is that sum). The ring of lanes to serve is circular; turn is the lane whose turn
    comes next (NULL: the ring is empty). Sends are numbered 1, 2, ... (sends is the
    last number); answered_no is the highest number the current recorder has answered,
    so a waiting entry sent under a lower number has lost its answer. calm_until is
    the clock until which lanes are held to calm_inflight at the recorder, all but
    the lane of calm_rid: the calm is there so that the light publisher's STOREs do
    not wait behind the others', and holding its own back made a lone light
    publisher wait for a commit round trip per two messages after any hiccup (W3's
    p99 of hundreds of ms). The calm ends early once that lane holds more than
    KH_PENDING_LIGHT entries (kh_pending_add): it is light no longer. */
struct _kh_pending_t {
    s_entry_t *slot;                    /* cap slots */
    size_t   cap;                       /* power of two, grows up to cover max */
    size_t   max;                       /* span [oldest, next) allowed at most */
    size_t   max_bytes;                 /* envelope bytes allowed at most */
    size_t   lane_max;                  /* entries of one lane at most, 0: any */
    size_t   calm_inflight;             /* a lane's STOREs at the recorder while calm */
    size_t   count;                     /* entries waiting */
    size_t   bytes;                     /* bytes of their envelopes */
    size_t   inflight;                  /* entries sent and not answered */
    uint64_t oldest;                    /* lowest waiting token, or next if none */
    uint64_t next;                      /* token the next add issues */
    uint64_t sends;                     /* sends numbered so far */
    uint64_t answered_no;               /* highest send number answered, 0: none */
    int64_t  answered_at;               /* when the current recorder answered last */
    int64_t  now;                       /* the latest clock a call passed */
    int64_t  calm_until;                /* a light lane was served: calm until then */
    s_rid_t  calm_rid;                  /* the connection whose light lane made the calm:
                                           not held to calm_inflight itself */
    zhashx_t *lanes;                    /* s_rid_t * -> s_lane_t * */
    s_lane_t *turn;                     /* the lane to serve next, in the ring */
};

/* ------------------------------------------------------------------ lanes */

/* The lanes' hash: FNV-1a of the routing id's bytes. */
static size_t
s_rid_hash (const void *key)
{
    const s_rid_t *rid = (const s_rid_t *) key;
    uint64_t hash = 14695981039346656037u;
    for (size_t i = 0; i < rid->size; i++)
        hash = (hash ^ rid->data [i]) * 1099511628211u;
    return (size_t) hash;
}

static int
s_rid_compare (const void *a, const void *b)
{
    const s_rid_t *x = (const s_rid_t *) a, *y = (const s_rid_t *) b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return memcmp (x->data, y->data, x->size);
}

/* Frees a lane (the hash table's item destructor). */
static void
s_lane_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

/* Fills rid with the routing id in client (cut at S_RID_MAX bytes). */
static void
s_rid_set (s_rid_t *rid, zmq_msg_t *client)
{
    rid->size = zmq_msg_size (client) < S_RID_MAX ? zmq_msg_size (client) : S_RID_MAX;
    memcpy (rid->data, zmq_msg_data (client), rid->size);
}

/* Returns the lane of client, made (empty) if make and it has none; NULL if it has
   none or memory runs out. */
static s_lane_t *
s_lane_of (kh_pending_t *self, zmq_msg_t *client, bool make)
{
    s_rid_t rid;
    s_rid_set (&rid, client);
    s_lane_t *lane = (s_lane_t *) zhashx_lookup (self->lanes, &rid);
    if (lane || !make)
        return lane;
    lane = (s_lane_t *) calloc (1, sizeof *lane);
    if (lane) {
        lane->rid = rid;
        if (zhashx_insert (self->lanes, &lane->rid, lane))
            s_lane_free ((void **) &lane);
    }
    return lane;
}

/* Puts lane into the ring, just before the lane whose turn comes (so it is served
   last in this round); nothing if it is in it. */
static void
s_ring_join (kh_pending_t *self, s_lane_t *lane)
{
    if (lane->next)
        return;
    if (!self->turn) {
        lane->prev = lane->next = lane;
        self->turn = lane;
        return;
    }
    lane->next = self->turn;
    lane->prev = self->turn->prev;
    lane->prev->next = lane;
    self->turn->prev = lane;
}

/* Takes lane out of the ring; nothing if it is not in it. */
static void
s_ring_leave (kh_pending_t *self, s_lane_t *lane)
{
    if (!lane->next)
        return;
    if (lane->next == lane)
        self->turn = NULL;
    else {
        lane->prev->next = lane->next;
        lane->next->prev = lane->prev;
        if (self->turn == lane)
            self->turn = lane->next;
    }
    lane->prev = lane->next = NULL;
}

/* Returns the entry waiting under token, or NULL. */
static s_entry_t *
s_lookup (kh_pending_t *self, uint64_t token)
{
    if (token < self->oldest || token >= self->next)
        return NULL;
    s_entry_t *entry = &self->slot [token & (self->cap - 1)];
    return entry->token == token ? entry : NULL;
}

/* Appends the unsent entry, newer than every unsent one of its lane, to that lane's
   unsent list, and the lane to the ring. */
static void
s_unsent_push (kh_pending_t *self, s_entry_t *entry)
{
    s_lane_t *lane = entry->lane;
    assert (entry->token > lane->tail);
    entry->next_unsent = 0;
    if (lane->tail)
        s_lookup (self, lane->tail)->next_unsent = entry->token;
    else
        lane->head = entry->token;
    lane->tail = entry->token;
    lane->unsent++;
    s_ring_join (self, lane);
}

/* Makes every lane's unsent list and the ring again from the entries not sent, in
   token order (after entries were made unsent out of order). */
static void
s_unsent_rebuild (kh_pending_t *self)
{
    for (s_lane_t *lane = (s_lane_t *) zhashx_first (self->lanes); lane;
         lane = (s_lane_t *) zhashx_next (self->lanes)) {
        lane->head = lane->tail = 0;
        lane->unsent = 0;
        lane->prev = lane->next = NULL;
    }
    self->turn = NULL;
    for (uint64_t token = self->oldest; token < self->next; token++) {
        s_entry_t *entry = s_lookup (self, token);
        if (entry && !entry->sent)
            s_unsent_push (self, entry);
    }
}

/* Takes the unsent entry out of its lane's unsent list (and the lane out of the ring
   when that list empties). */
static void
s_unsent_drop (kh_pending_t *self, s_entry_t *entry)
{
    s_lane_t *lane = entry->lane;
    if (lane->head == entry->token)
        lane->head = entry->next_unsent;
    else {
        s_entry_t *at = s_lookup (self, lane->head);
        while (at->next_unsent != entry->token)
            at = s_lookup (self, at->next_unsent);
        at->next_unsent = entry->next_unsent;
    }
    if (lane->tail == entry->token) {
        lane->tail = 0;
        for (uint64_t t = lane->head; t; t = s_lookup (self, t)->next_unsent)
            lane->tail = t;
    }
    entry->next_unsent = 0;
    lane->unsent--;
    if (lane->unsent == 0)
        s_ring_leave (self, lane);
}

/* The sent entry is no longer handed over (answered or to be sent again). */
static void
s_unsend (kh_pending_t *self, s_entry_t *entry)
{
    entry->sent = false;
    entry->lane->inflight--;
    self->inflight--;
}

/* ------------------------------------------------------------------ the table */

kh_pending_t *
kh_pending_new (size_t max, size_t max_bytes, uint64_t first_token)
{
    if (max == 0 || first_token == 0)
        return NULL;
    kh_pending_t *self = (kh_pending_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = S_CAP_MIN;
    self->slot = (s_entry_t *) calloc (self->cap, sizeof *self->slot);
    self->lanes = zhashx_new ();
    if (!self->slot || !self->lanes) {
        kh_pending_destroy (&self);
        return NULL;
    }
    zhashx_set_key_hasher (self->lanes, s_rid_hash);
    zhashx_set_key_comparator (self->lanes, s_rid_compare);
    zhashx_set_key_duplicator (self->lanes, NULL);     /* the key lives in the lane */
    zhashx_set_key_destructor (self->lanes, NULL);
    zhashx_set_destructor (self->lanes, s_lane_free);
    self->max = max;
    self->max_bytes = max_bytes;
    self->oldest = self->next = first_token;
    return self;
}

void
kh_pending_set_lanes (kh_pending_t *self, size_t lane_max, size_t calm_inflight)
{
    assert (self);
    self->lane_max = lane_max;
    self->calm_inflight = calm_inflight;
}

/* Closes the messages of a waiting entry and frees its slot. */
static void
s_entry_free (s_entry_t *entry)
{
    zmq_msg_close (&entry->client);
    zmq_msg_close (&entry->envelope);
    entry->token = 0;
}

void
kh_pending_destroy (kh_pending_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_pending_t *self = *self_p;
    for (size_t i = 0; self->slot && i < self->cap; i++)
        if (self->slot [i].token)
            s_entry_free (&self->slot [i]);
    free (self->slot);
    zhashx_destroy (&self->lanes);
    free (self);
    *self_p = NULL;
}

/* Doubles the ring, moving every waiting entry to its slot in the larger one.
   Returns 0, or -1 if memory runs out (the ring is unchanged then). */
static int
s_grow (kh_pending_t *self)
{
    size_t cap = self->cap * 2;
    s_entry_t *slot = (s_entry_t *) calloc (cap, sizeof *slot);
    if (!slot)
        return -1;
    for (uint64_t token = self->oldest; token < self->next; token++) {
        s_entry_t *old = s_lookup (self, token);
        if (!old)
            continue;
        s_entry_t *entry = &slot [token & (cap - 1)];
        *entry = *old;                  /* the plain fields; the messages are moved */
        zmq_msg_init (&entry->client);
        zmq_msg_init (&entry->envelope);
        zmq_msg_move (&entry->client, &old->client);
        zmq_msg_move (&entry->envelope, &old->envelope);
        s_entry_free (old);
    }
    free (self->slot);
    self->slot = slot;
    self->cap = cap;
    return 0;
}

bool
kh_pending_full (kh_pending_t *self)
{
    assert (self);
    return self->next - self->oldest >= self->max;
}

bool
kh_pending_lane_full (kh_pending_t *self, zmq_msg_t *client)
{
    assert (self);
    s_lane_t *lane = self->lane_max ? s_lane_of (self, client, false) : NULL;
    return lane && lane->count >= self->lane_max;
}

size_t
kh_pending_busy (kh_pending_t *self, zmq_msg_t *client)
{
    assert (self);
    s_lane_t *lane = self->lane_max ? s_lane_of (self, client, false) : NULL;
    return lane && lane->count >= self->lane_max ? ++lane->refused : 0;
}

uint64_t
kh_pending_add (kh_pending_t *self, zmq_msg_t *client, zmq_msg_t *envelope,
                const uint8_t id [KH_ID_SIZE], const char *topic, int64_t now)
{
    assert (self);
    assert (client && envelope && id && topic);
    self->now = now;
    size_t size = zmq_msg_size (envelope);
    if (kh_pending_full (self) || size > self->max_bytes - self->bytes)
        return 0;
    if (self->next - self->oldest >= self->cap && s_grow (self))
        return 0;
    s_lane_t *lane = s_lane_of (self, client, true);
    if (!lane || (self->lane_max && lane->count >= self->lane_max))
        return 0;
    s_entry_t *entry = &self->slot [self->next & (self->cap - 1)];
    assert (entry->token == 0);
    memset (entry, 0, sizeof *entry);
    zmq_msg_init (&entry->client);
    zmq_msg_init (&entry->envelope);
    zmq_msg_move (&entry->client, client);
    zmq_msg_move (&entry->envelope, envelope);
    memcpy (entry->id, id, KH_ID_SIZE);
    size_t topic_len = strnlen (topic, sizeof entry->topic - 1);
    memcpy (entry->topic, topic, topic_len);    /* the rest is 0 (memset) */
    entry->token = self->next++;
    entry->lane = lane;
    if (++lane->count > lane->peak)
        lane->peak = lane->count;
    /* The light connection that made the calm is light no longer: there is no one
       left to keep calm for, and a flooder must not stay exempt. */
    if (lane->peak > KH_PENDING_LIGHT && self->now < self->calm_until
    &&  s_rid_compare (&lane->rid, &self->calm_rid) == 0)
        self->calm_until = 0;
    s_unsent_push (self, entry);
    self->count++;
    self->bytes += size;
    assert (self->count <= self->next - self->oldest);
    return entry->token;
}

int
kh_pending_get (kh_pending_t *self, uint64_t token, kh_pending_view_t *view)
{
    assert (self);
    assert (view);
    s_entry_t *entry = s_lookup (self, token);
    if (!entry)
        return -1;
    view->token = token;
    view->client = zmq_msg_data (&entry->client);
    view->client_size = zmq_msg_size (&entry->client);
    view->envelope = zmq_msg_data (&entry->envelope);
    view->envelope_size = zmq_msg_size (&entry->envelope);
    view->id = entry->id;
    view->topic = entry->topic;
    view->resent = entry->resent;
    return 0;
}

/* The entry leaves its lane; a lane left empty goes, and one that stayed light
   keeps the others calm for a while (its next publish should not wait behind
   theirs). */
static void
s_lane_leave (kh_pending_t *self, s_entry_t *entry)
{
    s_lane_t *lane = entry->lane;
    if (entry->sent)
        s_unsend (self, entry);
    else
        s_unsent_drop (self, entry);
    if (--lane->count > 0)
        return;
    if (lane->peak <= KH_PENDING_LIGHT) {
        self->calm_until = self->now + KH_PENDING_CALM_MS;
        self->calm_rid = lane->rid;
    }
    assert (lane->unsent == 0 && lane->inflight == 0 && !lane->next);
    zhashx_delete (self->lanes, &lane->rid);
}

void
kh_pending_remove (kh_pending_t *self, uint64_t token)
{
    assert (self);
    s_entry_t *entry = s_lookup (self, token);
    if (!entry)
        return;
    s_lane_leave (self, entry);
    self->bytes -= zmq_msg_size (&entry->envelope);
    s_entry_free (entry);
    self->count--;
    while (self->oldest < self->next
       &&  self->slot [self->oldest & (self->cap - 1)].token != self->oldest)
        self->oldest++;
    assert (self->count <= self->next - self->oldest);
    assert (self->count > 0 || self->oldest == self->next);
}

uint64_t
kh_pending_unsent (kh_pending_t *self)
{
    assert (self);
    size_t bound = self->calm_inflight && self->now < self->calm_until
                 ? self->calm_inflight : SIZE_MAX;
    s_lane_t *lane = self->turn;
    if (!lane)
        return 0;
    do {
        if (lane->inflight < bound || s_rid_compare (&lane->rid, &self->calm_rid) == 0) {
            self->turn = lane;
            return lane->head;
        }
        lane = lane->next;
    } while (lane != self->turn);
    return 0;
}

int
kh_pending_share (kh_pending_t *self, uint64_t token, zmq_msg_t *copy)
{
    assert (self);
    assert (copy);
    s_entry_t *entry = s_lookup (self, token);
    zmq_msg_init (copy);
    if (entry && zmq_msg_copy (copy, &entry->envelope) == 0)
        return 0;
    zmq_msg_close (copy);
    return -1;
}

void
kh_pending_sent (kh_pending_t *self, uint64_t token, int64_t now)
{
    assert (self);
    assert (self->turn && token == self->turn->head);
    s_entry_t *entry = s_lookup (self, token);
    assert (entry && !entry->sent);
    s_lane_t *lane = entry->lane;
    self->now = now;
    self->turn = lane->next;            /* the next lane's turn, even if this one leaves */
    s_unsent_drop (self, entry);
    entry->sent = true;
    entry->sent_at = now;
    entry->send_no = ++self->sends;
    lane->inflight++;
    self->inflight++;
}

void
kh_pending_answered (kh_pending_t *self, uint64_t token, int64_t now)
{
    assert (self);
    self->now = now;
    s_entry_t *entry = s_lookup (self, token);
    if (!entry || !entry->sent)
        return;
    if (entry->send_no > self->answered_no)
        self->answered_no = entry->send_no;
    self->answered_at = now;
}

void
kh_pending_rewind (kh_pending_t *self, int64_t now)
{
    assert (self);
    self->now = now;
    for (uint64_t token = self->oldest; self->inflight && token < self->next; token++) {
        s_entry_t *entry = s_lookup (self, token);
        if (entry && entry->sent) {
            entry->resent = true;
            s_unsend (self, entry);
        }
    }
    s_unsent_rebuild (self);
    self->answered_no = 0;
    self->answered_at = now;
    assert (kh_pending_check (self));
}

/* Sends entry again: it is unsent (its lane's list is made again after) and marked
   resent. */
static void
s_requeue (kh_pending_t *self, s_entry_t *entry)
{
    s_unsend (self, entry);
    entry->resent = true;               /* its first answer may never have gone live */
}

size_t
kh_pending_requeue (kh_pending_t *self, int64_t now, int64_t after_ms)
{
    assert (self);
    self->now = now;
    bool silent = now - self->answered_at >= after_ms;
    s_entry_t *first = NULL;            /* the first sent of those waiting after_ms */
    size_t count = 0;
    for (uint64_t token = self->oldest; self->inflight && token < self->next; token++) {
        s_entry_t *entry = s_lookup (self, token);
        if (!entry || !entry->sent)
            continue;
        if (entry->send_no < self->answered_no) {
            s_requeue (self, entry);
            count++;
        }
        else
        if (silent && now - entry->sent_at >= after_ms
        &&  (!first || entry->send_no < first->send_no))
            first = entry;
    }
    if (count == 0 && first) {
        s_requeue (self, first);
        count++;
    }
    if (count)
        s_unsent_rebuild (self);
    assert (kh_pending_check (self));
    return count;
}

uint64_t
kh_pending_oldest (kh_pending_t *self)
{
    assert (self);
    return self->oldest;
}

uint64_t
kh_pending_next (kh_pending_t *self)
{
    assert (self);
    return self->next;
}

size_t
kh_pending_size (kh_pending_t *self)
{
    assert (self);
    return self->count;
}

size_t
kh_pending_max (kh_pending_t *self)
{
    assert (self);
    return self->max;
}

size_t
kh_pending_lane_max (kh_pending_t *self)
{
    assert (self);
    return self->lane_max;
}

size_t
kh_pending_bytes (kh_pending_t *self)
{
    assert (self);
    return self->bytes;
}

size_t
kh_pending_inflight (kh_pending_t *self)
{
    assert (self);
    return self->inflight;
}

/* ------------------------------------------------------------------ invariants */

/* The sums over the waiting entries, to compare with the table's and lanes' counts. */
typedef struct {
    size_t count, bytes, unsent, inflight;
} s_sums_t;

/* True if the slot at index i is as the window [oldest, next) says: free, or
   holding a token of the window that belongs there, with a lane of the table, and
   numbered if sent. Adds a waiting entry to sums. */
static bool
s_slot_check (kh_pending_t *self, size_t i, s_sums_t *sums)
{
    s_entry_t *entry = &self->slot [i];
    if (entry->token == 0)
        return true;
    if (entry->token < self->oldest || entry->token >= self->next
    ||  (entry->token & (self->cap - 1)) != i || !entry->lane
    ||  zhashx_lookup (self->lanes, &entry->lane->rid) != entry->lane
    ||  (entry->sent && (entry->send_no == 0 || entry->send_no > self->sends
                         || entry->next_unsent)))
        return false;
    sums->count++;
    sums->bytes += zmq_msg_size (&entry->envelope);
    if (entry->sent)
        sums->inflight++;
    else
        sums->unsent++;
    return true;
}

/* True if lane's unsent list holds exactly lane->unsent unsent entries of its own,
   in ascending tokens, ending at its tail; and it is in the ring iff that list is
   not empty. */
static bool
s_lane_check (kh_pending_t *self, s_lane_t *lane)
{
    size_t unsent = 0;
    uint64_t last = 0;
    for (uint64_t token = lane->head; token; token = s_lookup (self, token)->next_unsent) {
        s_entry_t *entry = s_lookup (self, token);
        if (!entry || entry->sent || entry->lane != lane || token <= last
        ||  ++unsent > lane->unsent)
            return false;
        last = token;
    }
    return lane->count > 0 && unsent == lane->unsent && last == lane->tail
        && lane->unsent + lane->inflight <= lane->count && lane->count <= lane->peak
        && (lane->unsent > 0) == (lane->next != NULL) && (!lane->next) == (!lane->prev);
}

/* True if every lane is sound, their counts add up to the sums, and the ring holds
   exactly the lanes with unsent entries. */
static bool
s_lanes_check (kh_pending_t *self, const s_sums_t *sums)
{
    s_sums_t lanes = { 0 };
    size_t in_ring = 0, ring = 0;
    for (s_lane_t *lane = (s_lane_t *) zhashx_first (self->lanes); lane;
         lane = (s_lane_t *) zhashx_next (self->lanes)) {
        if (!s_lane_check (self, lane))
            return false;
        lanes.count += lane->count;
        lanes.unsent += lane->unsent;
        lanes.inflight += lane->inflight;
        in_ring += lane->next != NULL;
    }
    s_lane_t *lane = self->turn;
    for (; lane && ring <= in_ring; lane = lane->next) {
        if (lane->next->prev != lane)
            return false;
        ring++;
        if (lane->next == self->turn)
            break;
    }
    return lanes.count == sums->count && lanes.unsent == sums->unsent
        && lanes.inflight == sums->inflight && ring == in_ring;
}

bool
kh_pending_check (kh_pending_t *self)
{
    if (!self || !self->slot || self->cap == 0 || (self->cap & (self->cap - 1)))
        return false;
    if (self->oldest == 0 || self->oldest > self->next
    ||  self->next - self->oldest > self->max || self->next - self->oldest > self->cap
    ||  self->answered_no > self->sends || self->bytes > self->max_bytes)
        return false;
    if (self->oldest < self->next && !s_lookup (self, self->oldest))
        return false;
    s_sums_t sums = { 0 };
    for (size_t i = 0; i < self->cap; i++)
        if (!s_slot_check (self, i, &sums))
            return false;
    return sums.count == self->count && sums.bytes == self->bytes
        && sums.inflight == self->inflight && s_lanes_check (self, &sums);
}
