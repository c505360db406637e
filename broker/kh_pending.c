/*  kh_pending.c - the broker's table of publishes waiting for the recorder's answer. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_pending.h"

#define S_CAP_MIN 1024                  /* slots allocated at first */

/* One waiting publish. Its two messages are open exactly while token is not 0. */
typedef struct {
    uint64_t  token;                    /* 0: the slot is free */
    zmq_msg_t client;                   /* routing id of the publisher */
    zmq_msg_t envelope;                 /* the envelope, byte for byte as received */
    uint8_t   id [KH_ID_SIZE];          /* the envelope's message id, for the ACK */
    char      topic [KH_TOPIC_MAX + 1]; /* live topic "<type>/<from>/" */
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

    The send cursor lies in [oldest, next]: every waiting entry below it has been
    handed to the current recorder. Sends are numbered 1, 2, ... (sends is the last
    number); answered_no is the highest number the current recorder has answered, so
    a waiting entry sent under a lower number has lost its answer. */
struct _kh_pending_t {
    s_entry_t *slot;                    /* cap slots */
    size_t   cap;                       /* power of two, grows up to cover max */
    size_t   max;                       /* span [oldest, next) allowed at most */
    size_t   max_bytes;                 /* envelope bytes allowed at most */
    size_t   count;                     /* entries waiting */
    size_t   bytes;                     /* bytes of their envelopes */
    uint64_t oldest;                    /* lowest waiting token, or next if none */
    uint64_t next;                      /* token the next add issues */
    uint64_t cursor;                    /* first token not yet handed over */
    uint64_t sends;                     /* sends numbered so far */
    uint64_t answered_no;               /* highest send number answered, 0: none */
    int64_t  answered_at;               /* when the current recorder answered last */
};

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
    if (!self->slot) {
        free (self);
        return NULL;
    }
    self->max = max;
    self->max_bytes = max_bytes;
    self->oldest = self->next = self->cursor = first_token;
    return self;
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
    for (size_t i = 0; i < self->cap; i++)
        if (self->slot [i].token)
            s_entry_free (&self->slot [i]);
    free (self->slot);
    free (self);
    *self_p = NULL;
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

uint64_t
kh_pending_add (kh_pending_t *self, zmq_msg_t *client, zmq_msg_t *envelope,
                const uint8_t id [KH_ID_SIZE], const char *topic)
{
    assert (self);
    assert (client && envelope && id && topic);
    size_t size = zmq_msg_size (envelope);
    if (kh_pending_full (self) || size > self->max_bytes - self->bytes)
        return 0;
    if (self->next - self->oldest >= self->cap && s_grow (self))
        return 0;
    s_entry_t *entry = &self->slot [self->next & (self->cap - 1)];
    assert (entry->token == 0);
    memset (entry, 0, sizeof *entry);
    zmq_msg_init (&entry->client);
    zmq_msg_init (&entry->envelope);
    zmq_msg_move (&entry->client, client);
    zmq_msg_move (&entry->envelope, envelope);
    memcpy (entry->id, id, KH_ID_SIZE);
    snprintf (entry->topic, sizeof entry->topic, "%s", topic);
    entry->token = self->next++;
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

void
kh_pending_remove (kh_pending_t *self, uint64_t token)
{
    assert (self);
    s_entry_t *entry = s_lookup (self, token);
    if (!entry)
        return;
    self->bytes -= zmq_msg_size (&entry->envelope);
    s_entry_free (entry);
    self->count--;
    while (self->oldest < self->next
       &&  self->slot [self->oldest & (self->cap - 1)].token != self->oldest)
        self->oldest++;
    if (self->cursor < self->oldest)
        self->cursor = self->oldest;
    assert (self->count <= self->next - self->oldest);
    assert (self->count > 0 || self->oldest == self->next);
}

uint64_t
kh_pending_unsent (kh_pending_t *self)
{
    assert (self);
    for (; self->cursor < self->next; self->cursor++) {
        s_entry_t *entry = s_lookup (self, self->cursor);
        if (entry && !entry->sent)
            return self->cursor;
    }
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
    assert (token == self->cursor);
    s_entry_t *entry = s_lookup (self, token);
    assert (entry && !entry->sent);
    entry->sent = true;
    entry->sent_at = now;
    entry->send_no = ++self->sends;
    self->cursor = token + 1;
}

void
kh_pending_answered (kh_pending_t *self, uint64_t token, int64_t now)
{
    assert (self);
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
    for (uint64_t token = self->oldest; token < self->next; token++) {
        s_entry_t *entry = s_lookup (self, token);
        if (entry) {
            entry->resent |= entry->sent;
            entry->sent = false;
        }
    }
    self->cursor = self->oldest;
    self->answered_no = 0;
    self->answered_at = now;
    assert (kh_pending_check (self));
}

size_t
kh_pending_requeue (kh_pending_t *self, int64_t now, int64_t after_ms)
{
    assert (self);
    bool silent = now - self->answered_at >= after_ms;
    size_t count = 0;
    for (uint64_t token = self->oldest; token < self->next; token++) {
        s_entry_t *entry = s_lookup (self, token);
        if (!entry || !entry->sent)
            continue;
        bool lost = entry->send_no < self->answered_no;
        if (!lost && !(silent && now - entry->sent_at >= after_ms))
            break;
        entry->sent = false;
        entry->resent = true;           /* its first answer may never have gone live */
        if (token < self->cursor)
            self->cursor = token;
        count++;
        if (!lost)
            break;
    }
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
kh_pending_bytes (kh_pending_t *self)
{
    assert (self);
    return self->bytes;
}

/* True if the slot at index i is as the window [oldest, next) and the cursor say:
   free, or holding a token of the window that belongs there, sent if it lies below
   the cursor. Adds a waiting entry to *count and *bytes. */
static bool
s_slot_check (kh_pending_t *self, size_t i, size_t *count, size_t *bytes)
{
    s_entry_t *entry = &self->slot [i];
    if (entry->token == 0)
        return true;
    if (entry->token < self->oldest || entry->token >= self->next
    ||  (entry->token & (self->cap - 1)) != i
    ||  (entry->token < self->cursor && !entry->sent)
    ||  (entry->sent && (entry->send_no == 0 || entry->send_no > self->sends)))
        return false;
    (*count)++;
    *bytes += zmq_msg_size (&entry->envelope);
    return true;
}

bool
kh_pending_check (kh_pending_t *self)
{
    if (!self || !self->slot || self->cap == 0 || (self->cap & (self->cap - 1)))
        return false;
    if (self->oldest == 0 || self->oldest > self->next
    ||  self->next - self->oldest > self->max || self->next - self->oldest > self->cap
    ||  self->cursor < self->oldest || self->cursor > self->next
    ||  self->answered_no > self->sends || self->bytes > self->max_bytes)
        return false;
    if (self->oldest < self->next && !s_lookup (self, self->oldest))
        return false;
    size_t count = 0, bytes = 0;
    for (size_t i = 0; i < self->cap; i++)
        if (!s_slot_check (self, i, &count, &bytes))
            return false;
    return count == self->count && bytes == self->bytes;
}

/* ------------------------------------------------------------------ self-test */

/* Adds one entry whose client names n; returns its token, 0 if the add failed. */
static uint64_t
s_test_add (kh_pending_t *self, int n)
{
    zmq_msg_t client, envelope;
    zmq_msg_init_size (&client, sizeof n);
    memcpy (zmq_msg_data (&client), &n, sizeof n);
    zmq_msg_init_size (&envelope, 3);
    memcpy (zmq_msg_data (&envelope), "env", 3);
    uint8_t id [KH_ID_SIZE] = { (uint8_t) n };
    uint64_t token = kh_pending_add (self, &client, &envelope, id, "idea/05162/");
    zmq_msg_close (&client);
    zmq_msg_close (&envelope);
    return token;
}

/* Hands over every unsent entry at now; returns how many. */
static int
s_test_send_all (kh_pending_t *self, int64_t now)
{
    int sent = 0;
    for (uint64_t token; (token = kh_pending_unsent (self)) != 0; sent++)
        kh_pending_sent (self, token, now);
    return sent;
}

int
kh_pending_test (bool verbose)
{
    int failed = 0;
#define S_CHECK(name, cond) do { if (!(cond)) { failed++; \
        printf ("FAIL %s (%s:%d)\n", name, __FILE__, __LINE__); } \
        else if (verbose) printf ("ok   %s\n", name); } while (0)
    S_CHECK ("a table of size 0 cannot be made", kh_pending_new (0, 100, 1) == NULL);
    S_CHECK ("a table whose tokens start at 0 cannot be made",
             kh_pending_new (10, 100, 0) == NULL);
    kh_pending_t *self = kh_pending_new (3000, 1000000, 77);
    S_CHECK ("a table is made", self && kh_pending_check (self));
    if (!self)
        return failed;
    S_CHECK ("the first token is the one asked for", s_test_add (self, 0) == 77);
    for (int i = 1; i < 3000; i++)
        s_test_add (self, i);
    S_CHECK ("the table grows past its first ring and holds max entries",
             kh_pending_size (self) == 3000 && kh_pending_full (self)
             && kh_pending_check (self));
    S_CHECK ("the table tells the max it was made with", kh_pending_max (self) == 3000);
    S_CHECK ("the table counts the bytes of the envelopes it holds",
             kh_pending_bytes (self) == 3000 * 3);
    zmq_msg_t client, envelope;
    zmq_msg_init_size (&client, 5);
    zmq_msg_init_size (&envelope, 3);
    uint8_t id [KH_ID_SIZE] = { 0 };
    S_CHECK ("a full table refuses an add and leaves the messages with the caller",
             kh_pending_add (self, &client, &envelope, id, "t/") == 0
             && zmq_msg_size (&client) == 5 && zmq_msg_size (&envelope) == 3);
    kh_pending_view_t view;
    int n = -1;
    if (kh_pending_get (self, 77 + 1500, &view) == 0 && view.client_size == sizeof n)
        memcpy (&n, view.client, sizeof n);
    S_CHECK ("entries keep their messages across growth", n == 1500);
    S_CHECK ("an entry keeps its id, topic and envelope",
             kh_pending_get (self, 77 + 1500, &view) == 0 && view.id [0] == (uint8_t) 1500
             && strcmp (view.topic, "idea/05162/") == 0 && view.envelope_size == 3
             && memcmp (view.envelope, "env", 3) == 0 && !view.resent);
    S_CHECK ("there is no entry under a token never issued",
             kh_pending_get (self, 5, &view) == -1 && kh_pending_get (self, 9999, &view) == -1);

    /* Answered in order, the span from the oldest token to the next is the count. */
    for (uint64_t token = 77; token < 77 + 100; token++)
        kh_pending_remove (self, token);
    S_CHECK ("answered in order, the span equals the count",
             kh_pending_next (self) - kh_pending_oldest (self) == kh_pending_size (self)
             && kh_pending_oldest (self) == 177 && kh_pending_check (self));
    kh_pending_remove (self, 178);
    S_CHECK ("removing a middle entry does not move the oldest",
             kh_pending_oldest (self) == 177 && kh_pending_get (self, 178, &view) == -1
             && kh_pending_next (self) - kh_pending_oldest (self) == kh_pending_size (self) + 1);
    kh_pending_remove (self, 177);
    S_CHECK ("removing the oldest skips past freed tokens",
             kh_pending_oldest (self) == 179 && kh_pending_check (self));
    S_CHECK ("a table with room takes an add again", s_test_add (self, 3000) == 77 + 3000);
    kh_pending_remove (self, 5);
    S_CHECK ("removing an unknown token does nothing", kh_pending_size (self) == 2899);
    for (uint64_t token = kh_pending_oldest (self); token < kh_pending_next (self); token++)
        kh_pending_remove (self, token);
    S_CHECK ("an emptied table starts at the next token",
             kh_pending_size (self) == 0 && kh_pending_oldest (self) == kh_pending_next (self)
             && kh_pending_unsent (self) == 0);
    S_CHECK ("an emptied table holds no bytes",
             kh_pending_bytes (self) == 0 && kh_pending_check (self));

    /* The send cursor: hand over in order; lost answers are found by send order. */
    uint64_t a = s_test_add (self, 1), b = s_test_add (self, 2), c = s_test_add (self, 3);
    S_CHECK ("the oldest unsent entry is handed over first", kh_pending_unsent (self) == a);
    S_CHECK ("every entry is handed over once",
             s_test_send_all (self, 1000) == 3 && kh_pending_unsent (self) == 0
             && kh_pending_check (self));
    S_CHECK ("nothing is lost while nothing is answered and the recorder is not silent",
             kh_pending_requeue (self, 1500, 1000) == 0);
    kh_pending_answered (self, c, 1600);
    kh_pending_remove (self, c);
    S_CHECK ("an answer to a later send shows the earlier sends lost their answers",
             kh_pending_requeue (self, 1700, 1000) == 2 && kh_pending_unsent (self) == a
             && kh_pending_check (self));
    S_CHECK ("a requeued entry is marked resent",
             kh_pending_get (self, a, &view) == 0 && view.resent);
    S_CHECK ("requeued entries go again oldest first", s_test_send_all (self, 1800) == 2);
    S_CHECK ("a silent recorder is sent nothing again before after_ms",
             kh_pending_requeue (self, 2599, 1000) == 0);
    S_CHECK ("a silent recorder is sent again only the oldest entry waiting that long",
             kh_pending_requeue (self, 2800, 1000) == 1 && kh_pending_unsent (self) == a
             && kh_pending_check (self));
    kh_pending_sent (self, a, 2800);
    kh_pending_rewind (self, 3000);
    S_CHECK ("a new recorder is handed every waiting entry again, oldest first",
             kh_pending_unsent (self) == a && s_test_send_all (self, 3000) == 2
             && kh_pending_check (self));
    kh_pending_answered (self, a, 3100);
    S_CHECK ("an answer in order loses nothing", kh_pending_requeue (self, 3200, 1000) == 0);

    zmq_msg_t copy;
    S_CHECK ("an envelope is shared, not copied",
             kh_pending_share (self, b, &copy) == 0 && zmq_msg_size (&copy) == 3);
    kh_pending_remove (self, a);
    kh_pending_remove (self, b);
    S_CHECK ("a shared envelope outlives its entry", memcmp (zmq_msg_data (&copy), "env", 3) == 0
             && kh_pending_size (self) == 0 && kh_pending_check (self));
    zmq_msg_close (&copy);
    S_CHECK ("an entry that is not there cannot be shared", kh_pending_share (self, b, &copy) == -1);

    kh_pending_t *small = kh_pending_new (10, 5, 1);
    S_CHECK ("a table refuses an envelope beyond its bytes",
             small && s_test_add (small, 1) == 1 && s_test_add (small, 2) == 0);
    kh_pending_destroy (&small);
    zmq_msg_close (&client);
    zmq_msg_close (&envelope);
    s_test_add (self, 1);
    kh_pending_destroy (&self);
    kh_pending_destroy (&self);
    S_CHECK ("destroy clears the pointer and is safe twice", self == NULL);
#undef S_CHECK
    return failed;
}
