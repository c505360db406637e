/*  kh_pending.c - the broker's table of publishes waiting for the recorder's answer. */
#include "kh_pending.h"

#define S_CAP_MIN 1024                  /* slots allocated at first */

/*  Entries live in a ring of cap slots (a power of two): token t sits in slot
    t & (cap - 1). Every waiting token lies in [oldest, next), and that span never
    exceeds cap, so two waiting tokens never share a slot. A slot whose token is 0 is
    free; tokens start above 0. oldest advances past freed slots when its entry goes. */
struct _kh_pending_t {
    kh_pending_entry_t *slot;           /* cap slots */
    size_t   cap;                       /* power of two, grows up to cover max */
    size_t   max;                       /* span [oldest, next) allowed at most */
    size_t   count;                     /* entries waiting */
    size_t   bytes;                     /* bytes of their envelopes */
    uint64_t oldest;                    /* lowest waiting token, or next if none */
    uint64_t next;                      /* token the next add issues */
};

kh_pending_t *
kh_pending_new (size_t max, uint64_t first_token)
{
    if (max == 0 || first_token == 0)
        return NULL;
    kh_pending_t *self = (kh_pending_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = S_CAP_MIN;
    self->slot = (kh_pending_entry_t *) calloc (self->cap, sizeof *self->slot);
    if (!self->slot) {
        free (self);
        return NULL;
    }
    self->max = max;
    self->oldest = self->next = first_token;
    return self;
}

void
kh_pending_destroy (kh_pending_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_pending_t *self = *self_p;
    for (size_t i = 0; i < self->cap; i++) {
        zframe_destroy (&self->slot [i].client);
        zframe_destroy (&self->slot [i].envelope);
    }
    free (self->slot);
    free (self);
    *self_p = NULL;
}

/* Doubles the ring, moving every waiting entry to its slot in the larger one.
   Returns 0, or -1 if memory runs out (the ring is unchanged then). */
static int
s_grow (kh_pending_t *self)
{
    size_t cap = self->cap * 2;
    kh_pending_entry_t *slot = (kh_pending_entry_t *) calloc (cap, sizeof *slot);
    if (!slot)
        return -1;
    for (uint64_t token = self->oldest; token < self->next; token++) {
        kh_pending_entry_t *old = &self->slot [token & (self->cap - 1)];
        if (old->token == token)
            slot [token & (cap - 1)] = *old;
    }
    free (self->slot);
    self->slot = slot;
    self->cap = cap;
    return 0;
}

bool
kh_pending_full (kh_pending_t *self)
{
    return self->next - self->oldest >= self->max;
}

kh_pending_entry_t *
kh_pending_add (kh_pending_t *self, zframe_t **client_p, zframe_t **envelope_p)
{
    if (kh_pending_full (self))
        return NULL;
    if (self->next - self->oldest >= self->cap && s_grow (self))
        return NULL;
    kh_pending_entry_t *entry = &self->slot [self->next & (self->cap - 1)];
    memset (entry, 0, sizeof *entry);
    entry->token = self->next++;
    entry->client = *client_p;
    entry->envelope = *envelope_p;
    *client_p = NULL;
    *envelope_p = NULL;
    self->count++;
    self->bytes += zframe_size (entry->envelope);
    return entry;
}

kh_pending_entry_t *
kh_pending_lookup (kh_pending_t *self, uint64_t token)
{
    if (token < self->oldest || token >= self->next)
        return NULL;
    kh_pending_entry_t *entry = &self->slot [token & (self->cap - 1)];
    return entry->token == token ? entry : NULL;
}

void
kh_pending_remove (kh_pending_t *self, uint64_t token)
{
    kh_pending_entry_t *entry = kh_pending_lookup (self, token);
    if (!entry)
        return;
    self->bytes -= zframe_size (entry->envelope);
    zframe_destroy (&entry->client);
    zframe_destroy (&entry->envelope);
    entry->token = 0;
    self->count--;
    while (self->oldest < self->next
       &&  self->slot [self->oldest & (self->cap - 1)].token != self->oldest)
        self->oldest++;
}

uint64_t
kh_pending_oldest (kh_pending_t *self)
{
    return self->oldest;
}

uint64_t
kh_pending_next (kh_pending_t *self)
{
    return self->next;
}

size_t
kh_pending_size (kh_pending_t *self)
{
    return self->count;
}

size_t
kh_pending_bytes (kh_pending_t *self)
{
    return self->bytes;
}

/* ------------------------------------------------------------------ self-test */

/* Adds one entry with frames naming n; returns its token, 0 if the add failed. */
static uint64_t
s_test_add (kh_pending_t *self, int n)
{
    zframe_t *client = zframe_new (&n, sizeof n);
    zframe_t *envelope = zframe_new ("env", 3);
    kh_pending_entry_t *entry = kh_pending_add (self, &client, &envelope);
    uint64_t token = entry ? entry->token : 0;
    zframe_destroy (&client);
    zframe_destroy (&envelope);
    return token;
}

int
kh_pending_test (bool verbose)
{
    int failed = 0;
#define S_CHECK(name, cond) do { if (!(cond)) { failed++; \
        printf ("FAIL %s (%s:%d)\n", name, __FILE__, __LINE__); } \
        else if (verbose) printf ("ok   %s\n", name); } while (0)
    S_CHECK ("a table of size 0 cannot be made", kh_pending_new (0, 1) == NULL);
    kh_pending_t *self = kh_pending_new (3000, 77);
    S_CHECK ("a table is made", self);
    if (!self)
        return failed;
    S_CHECK ("the first token is the one asked for", s_test_add (self, 0) == 77);
    for (int i = 1; i < 3000; i++)
        s_test_add (self, i);
    S_CHECK ("the table grows past its first ring and holds max entries",
             kh_pending_size (self) == 3000 && kh_pending_full (self));
    S_CHECK ("the table counts the bytes of the envelopes it holds",
             kh_pending_bytes (self) == 3000 * 3);
    S_CHECK ("a full table refuses an add and leaves the frames with the caller",
             s_test_add (self, -1) == 0);
    kh_pending_entry_t *entry = kh_pending_lookup (self, 77 + 1500);
    int n = -1;
    if (entry && zframe_size (entry->client) == sizeof n)
        memcpy (&n, zframe_data (entry->client), sizeof n);
    S_CHECK ("entries keep their frames across growth", n == 1500);
    kh_pending_remove (self, 78);
    S_CHECK ("removing a middle entry does not move the oldest",
             kh_pending_oldest (self) == 77 && kh_pending_lookup (self, 78) == NULL);
    kh_pending_remove (self, 77);
    S_CHECK ("removing the oldest skips past freed tokens", kh_pending_oldest (self) == 79);
    S_CHECK ("a table with room takes an add again", s_test_add (self, 3000) == 77 + 3000);
    kh_pending_remove (self, 5);
    S_CHECK ("removing an unknown token does nothing", kh_pending_size (self) == 2999);
    for (uint64_t token = kh_pending_oldest (self); token < kh_pending_next (self); token++)
        kh_pending_remove (self, token);
    S_CHECK ("an emptied table starts at the next token",
             kh_pending_size (self) == 0 && kh_pending_oldest (self) == kh_pending_next (self));
    S_CHECK ("an emptied table holds no bytes", kh_pending_bytes (self) == 0);
    s_test_add (self, 1);
    kh_pending_destroy (&self);
    kh_pending_destroy (&self);
    S_CHECK ("destroy clears the pointer and is safe twice", self == NULL);
#undef S_CHECK
    return failed;
}
