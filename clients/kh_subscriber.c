/*  kh_subscriber.c - kh_subscriber_t: follows the live endpoint with a filter and
    delivers every matching record once, in ascending seq, filling gaps from the store
    (PROTOCOL.md section 6).

    The one invariant: every record matching the filter with seq <= last has been
    delivered (or lies before since_seq). From it follow the three rules the code
    applies. A record with seq <= last is old: skip it. A record whose previous-link
    (seq - 1 without filter; pt, ps or pts with one) is above last reveals a gap: the
    store is asked for the matching records in (last, seq) before it is delivered. A
    heartbeat whose head is above last may hide a gap at the tail: the store is asked
    for (last, head], and after that last = head, since the broker sends records and
    heartbeats over one socket in order, so nothing matching up to head can still be
    on its way.

    A filter no previous-link covers (several types or senders, a region prefix, one
    item) has no link to check: a matching live record above last + 1 is taken as a
    doorbell, and the store is asked for the matching records in (last, seq) before
    it is delivered (a gap only if that finds any), as a heartbeat is. The broker
    filters by topic (PROTOCOL.md section 6: each type, each sender or prefix); the
    subscriber tests each record against the whole filter.

    Store ranges (the catch-up from since_seq, and gap fills) are delivered page by
    page from the subscriber's own client, a few pages asked ahead where the filter
    lets (kh__pages_t in kh_client_priv.h); delivered records point into the page or
    into the live message, which is why they stay valid only until the next call.
*/
#include <string.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_client_priv.h"
#include "kh_watch.h"

#define S_QUERY_TIMEOUT 5000    /* ms a store query may take, by default */
#define S_LIVE_HWM      100000  /* live messages buffered here, e.g. while catching up */

/* Which previous-link proves that nothing matching was missed. */
typedef enum {
    S_LINK_SEQ,                         /* no filter: the previous seq */
    S_LINK_TYPE,                        /* type filter: pt */
    S_LINK_SENDER,                      /* sender filter: ps */
    S_LINK_PAIR,                        /* both: pts */
    S_LINK_NONE                         /* a filter no link covers: ask the store */
} s_link_t;

struct _kh_subscriber_t {
    kh_client_t *client;                /* for the store queries */
    zsock_t     *sub;                   /* live records and heartbeats */
    void        *handle;                /* sub's libzmq socket */
    bool         heard;                 /* a heartbeat came: all subscriptions are in */
    kh_query_t   filter;                /* types, senders, ref: what is followed */
    s_link_t     link;
    bool         started;               /* last means something (since, or first seen) */
    uint64_t     last;                  /* all matching records up to here delivered */
    /* a store range being delivered: the catch-up, or a gap fill */
    bool         filling;
    bool         counting;              /* a gap fill: count what it delivers */
    bool         from_beat;             /* started by a heartbeat: a gap only if it finds */
    kh__pages_t  pages;                 /* the range, asked a few pages ahead */
    uint64_t     fill_to;               /* when done, nothing matching is left up to here */
    uint64_t     fill_found;            /* records this fill delivered */
    kh_rows_t    page;                  /* the current page (points into the client) */
    uint32_t     page_pos;              /* next row of page to look at */
    /* the live record that revealed a gap, to deliver after the fill */
    bool         stashed;
    kh_record_t  stash;
    kh_parts_t   live;                  /* the last live message: [topic][body] */
    kh_watch_t  *watch;                 /* the live connection's state, or NULL */
    int          query_timeout;
    uint64_t     gaps;
    uint64_t     filled;
};

/* --------------------------------------------------------------- lifecycle */

/* Subscribes to the topic of type and the sender filter from ("" any; an AGS;
   digits and '*', a region prefix). Returns 0 or -1 if it did not fit. */
static int
s_subscribe (kh_subscriber_t *self, const char *type, const char *from)
{
    char topic [KH_TOPIC_MAX + 1];
    size_t len = strlen (from);
    int n = len && from [len - 1] == '*'
          ? snprintf (topic, sizeof topic, "%s/%.*s", type, (int) len - 1, from)
          : len ? kh_topic_format (topic, sizeof topic, type, from)
                : snprintf (topic, sizeof topic, "%s/", type);
    if (n < 0 || (size_t) n >= sizeof topic)
        return -1;
    zsock_set_subscribe (self->sub, topic);
    return 0;
}

/* Subscribes to the topics of one type: one per sender filter, or the type's. */
static int
s_subscribe_type (kh_subscriber_t *self, const char *type)
{
    if (self->filter.from_count == 0)
        return s_subscribe (self, type, "");
    for (size_t i = 0; i < self->filter.from_count; i++)
        if (s_subscribe (self, type, self->filter.from [i]))
            return -1;
    return 0;
}

/* Subscribes to what the filter needs, then to the heartbeat last. The socket is
   connected already, so libzmq queues the subscriptions to the broker in the order
   made (made before connecting, they would go sorted on connect, "!hb" first): the
   first heartbeat shows that all are in place. A record that slips past before its
   subscription is in effect is no loss: the next record's link or the next
   heartbeat shows the gap and the store fills it. After a reconnect libzmq sends
   them again in its sorted order, which the same gap filling covers. */
static int
s_subscribe_all (kh_subscriber_t *self)
{
    const kh_query_t *f = &self->filter;
    if (f->type_count) {
        for (size_t i = 0; i < f->type_count; i++)
            if (s_subscribe_type (self, f->type [i]))
                return -1;
    }
    else
        for (size_t i = 0; i < kh_schema_type_count (); i++)
            if (s_subscribe_type (self, kh_schema_type_name (i)))
                return -1;
    zsock_set_subscribe (self->sub, KH_TOPIC_BEAT);
    return 0;
}

/* Starts delivering the matching records of [since, until] (until 0: to the end)
   from the store. counting: a gap fill; fill_to: what is known complete after it. */
static void
s_fill_start (kh_subscriber_t *self, uint64_t since, uint64_t until, bool counting,
              bool from_beat, uint64_t fill_to)
{
    kh_query_t range = self->filter;
    range.since_seq = since;
    range.until_seq = until;
    kh__pages_start (&self->pages, &range);
    self->filling = true;
    self->counting = counting;
    self->from_beat = from_beat;
    self->fill_to = fill_to;
    self->fill_found = 0;
}

/* The previous-link that covers filter, if one does: one type, one exact sender,
   or one of each, and no item. */
static s_link_t
s_link_for (const kh_query_t *filter)
{
    if (filter->has_ref || filter->type_count > 1 || filter->from_count > 1
    ||  (filter->from_count == 1 && strchr (filter->from [0], '*')))
        return S_LINK_NONE;
    if (filter->type_count)
        return filter->from_count ? S_LINK_PAIR : S_LINK_TYPE;
    return filter->from_count ? S_LINK_SENDER : S_LINK_SEQ;
}

/* True if filter can be followed: its lists and ref alone (no bounds, search or
   limit: a search follows the index, which lags behind the log). */
static bool
s_filter_valid (const kh_query_t *filter)
{
    return !filter->since_seq && !filter->until_seq && !filter->since_at
        && !filter->until_at && !filter->since_ts && !filter->until_ts
        && !filter->search [0] && filter->type_count <= KH_FILTER_MAX
        && filter->from_count <= KH_FILTER_MAX;
}

/* A subscriber of filter, over CURVE with keys if they are not NULL, the live
   connection watched if watch. */
static kh_subscriber_t *
s_new (const char *client_endpoint, const char *live_endpoint, const kh_keys_t *keys,
       const kh_query_t *filter, uint64_t since_seq, bool watch)
{
    if (!s_filter_valid (filter) || !live_endpoint || !*live_endpoint)
        return NULL;
    kh_subscriber_t *self = (kh_subscriber_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->filter = *filter;
    self->filter.req = 0;
    self->filter.limit = 0;
    self->link = s_link_for (filter);
    self->query_timeout = S_QUERY_TIMEOUT;
    self->client = kh__client_new (client_endpoint, keys, false);
    self->sub = zsock_new (ZMQ_SUB);
    if (!self->client || !self->sub) {
        kh_subscriber_destroy (&self);
        return NULL;
    }
    if (keys)
        kh__keys_apply (keys, self->sub);
    self->handle = zsock_resolve (self->sub);
    zsock_set_linger (self->sub, 0);
    zsock_set_maxmsgsize (self->sub, KH_FRAME_MAX);
    zsock_set_rcvhwm (self->sub, S_LIVE_HWM);
    if (watch)                          /* before the connection, to see all of it */
        self->watch = kh__watch_new (self->sub);
    if ((watch && !self->watch) || zsock_connect (self->sub, "%s", live_endpoint)
    ||  s_subscribe_all (self)) {
        kh_subscriber_destroy (&self);
        return NULL;
    }
    if (since_seq > 0) {                /* subscribed first, so nothing falls between */
        self->started = true;
        self->last = since_seq - 1;
        s_fill_start (self, since_seq, 0, false, false, 0);
    }
    return self;
}

/* As s_new, for the filter of one type and one sender (NULL or "": any); NULL if
   type is not a message type or from not an AGS. */
static kh_subscriber_t *
s_new_simple (const char *client_endpoint, const char *live_endpoint,
              const kh_keys_t *keys, const char *type, const char *from,
              uint64_t since_seq, bool watch)
{
    kh_query_t filter = { 0 };
    if ((type && *type && kh_query_add_type (&filter, type, NULL))
    ||  (from && *from && (!kh_ags_valid (from, strlen (from))
                           || kh_query_add_from (&filter, from, NULL))))
        return NULL;
    return s_new (client_endpoint, live_endpoint, keys, &filter, since_seq, watch);
}

kh_subscriber_t *
kh_subscriber_new (const char *client_endpoint, const char *live_endpoint,
                   const char *type, const char *from, uint64_t since_seq)
{
    return s_new_simple (client_endpoint, live_endpoint, NULL, type, from, since_seq, false);
}

kh_subscriber_t *
kh_subscriber_new_secure (const char *client_endpoint, const char *live_endpoint,
                          const kh_keys_t *keys, const char *type, const char *from,
                          uint64_t since_seq)
{
    return keys ? s_new_simple (client_endpoint, live_endpoint, keys, type, from, since_seq,
                                false)
                : NULL;
}

kh_subscriber_t *
kh_subscriber_new_watched (const char *client_endpoint, const char *live_endpoint,
                           const kh_keys_t *keys, const char *type, const char *from,
                           uint64_t since_seq)
{
    return s_new_simple (client_endpoint, live_endpoint, keys, type, from, since_seq, true);
}

kh_subscriber_t *
kh_subscriber_new_filtered (const char *client_endpoint, const char *live_endpoint,
                            const kh_keys_t *keys, const kh_query_t *filter,
                            uint64_t since_seq, bool watch)
{
    return filter ? s_new (client_endpoint, live_endpoint, keys, filter, since_seq, watch)
                  : NULL;
}

kh_link_t
kh_subscriber_link (kh_subscriber_t *self)
{
    return self ? kh__watch_link (self->watch) : KH_LINK_UNKNOWN;
}

void
kh_subscriber_destroy (kh_subscriber_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_subscriber_t *self = *self_p;
    kh_rows_release (&self->page);
    kh_client_destroy (&self->client);
    kh__watch_destroy (&self->watch, self->sub);       /* before the socket closes */
    zsock_destroy (&self->sub);
    kh_parts_close (&self->live);
    free (self);
    *self_p = NULL;
}

void
kh_subscriber_stats (kh_subscriber_t *self, uint64_t *gaps, uint64_t *filled)
{
    if (gaps)
        *gaps = self ? self->gaps : 0;
    if (filled)
        *filled = self ? self->filled : 0;
}

void
kh_subscriber_set_query_timeout (kh_subscriber_t *self, int timeout_ms)
{
    if (self)
        self->query_timeout = timeout_ms;
}

bool
kh__subscriber_heard (kh_subscriber_t *self)
{
    assert (self);
    return self->heard;
}

/* ------------------------------------------------------------- store ranges */

/* Takes the next row of the page that is above last. Returns true with *out set. */
static bool
s_take_row (kh_subscriber_t *self, kh_record_t *out)
{
    while (self->page_pos < self->page.count) {
        const kh_record_t *row = &self->page.rows [self->page_pos++];
        if (row->info.seq <= self->last)
            continue;
        self->last = row->info.seq;
        if (self->counting) {
            if (self->from_beat && self->fill_found == 0)
                self->gaps++;           /* the heartbeat's gap turns out real */
            self->filled++;
            self->fill_found++;
        }
        *out = *row;
        return true;
    }
    return false;
}

/* Advances the store range whose current page is used up: takes the next page
   (kh__pages_next asks a few ahead), or finishes the range. Returns 0, or the
   failed query's code, KH_EUNREACHABLE for no answer (calling again asks again). */
static int
s_fill_step (kh_subscriber_t *self)
{
    kh_rows_release (&self->page);
    self->page_pos = 0;
    if (kh__pages_done (&self->pages)) {
        self->filling = false;
        if (self->fill_to > self->last)
            self->last = self->fill_to;
        return 0;
    }
    int rc = kh__pages_next (self->client, &self->pages, self->query_timeout, &self->page);
    if (rc)         /* the caller's timeout is for records; the store did not answer */
        return rc == KH_ETIMEOUT && !zsys_interrupted ? KH_EUNREACHABLE : rc;
    return 0;
}

/* -------------------------------------------------------------------- live */

/* The previous-link of rec that the filter checks; without one, seq - 1, so that a
   wanted record above last + 1 has the store asked what lies between. */
static uint64_t
s_link (const kh_subscriber_t *self, const kh_record_t *rec)
{
    switch (self->link) {
        case S_LINK_TYPE:   return rec->info.prev_type;
        case S_LINK_SENDER: return rec->info.prev_sender;
        case S_LINK_PAIR:   return rec->info.prev_pair;
        default:            return rec->info.seq - 1;
    }
}

/* A heartbeat: the first sets the starting point; a head above last may hide a
   dropped record at the tail, so the store is asked. */
static void
s_on_beat (kh_subscriber_t *self)
{
    uint64_t head, at;
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->live, &size);
    if (kh_beat_decode (body, size, &head, &at, &why))
        return;
    if (!self->started) {
        self->started = true;
        self->last = head;
    }
    else
    if (head > self->last)
        s_fill_start (self, self->last + 1, head, true, true, head);
}

/* True if rec, which came on a subscribed topic, matches the whole filter: with a
   filter no link covers the topic may hold more (a prefix, all types for an item),
   so its envelope is read. */
static bool
s_wanted (const kh_subscriber_t *self, const kh_record_t *rec)
{
    if (self->link != S_LINK_NONE)
        return true;
    kh_envelope_t env;
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, NULL))
        return false;                   /* the store's fill judges it as the hub does */
    const kh_query_t *f = &self->filter;
    if (!kh_query_wants_type (f, env.type) || !kh_query_wants_from (f, env.from))
        return false;
    return !f->has_ref || memcmp (env.id, f->ref, KH_ID_SIZE) == 0
        || (env.has_ref && memcmp (env.ref, f->ref, KH_ID_SIZE) == 0);
}

/* A live record. Returns true if it is to be delivered now (*out set); false if it
   is old, unreadable, not wanted, or waits behind a gap fill. */
static bool
s_on_record (kh_subscriber_t *self, kh_record_t *out)
{
    kh_record_t rec;
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->live, &size);
    if (kh_record_decode (body, size, &rec, &why))
        return false;
    if ((self->started && rec.info.seq <= self->last) || !s_wanted (self, &rec))
        return false;
    if (self->started && s_link (self, &rec) > self->last) {
        bool doorbell = self->link == S_LINK_NONE;     /* a gap only if the fill finds */
        self->gaps += !doorbell;
        self->stash = rec;
        self->stashed = true;
        s_fill_start (self, self->last + 1, rec.info.seq - 1, true, doorbell,
                      rec.info.seq - 1);
        return false;
    }
    self->started = true;
    self->last = rec.info.seq;
    *out = rec;
    return true;
}

/* Handles one live message. Returns true if a record is to be delivered. */
static bool
s_on_live (kh_subscriber_t *self, kh_record_t *out)
{
    if (kh_parts_is (&self->live, 0, KH_TOPIC_BEAT)) {
        self->heard = true;             /* !hb was subscribed last */
        s_on_beat (self);
        return false;
    }
    return s_on_record (self, out);
}

int
kh_subscriber_next (kh_subscriber_t *self, int timeout_ms, kh_record_t *out)
{
    if (!self || !out)
        return KH_EINVAL;
    int64_t deadline = kh__deadline (timeout_ms);
    for (;;) {
        if (s_take_row (self, out))
            return 0;
        if (self->filling) {
            int rc = s_fill_step (self);
            if (rc)
                return rc;
            continue;
        }
        if (self->stashed) {
            self->stashed = false;
            if (self->stash.info.seq > self->last) {
                self->last = self->stash.info.seq;
                *out = self->stash;
                return 0;
            }
            continue;
        }
        int rc = kh__recv (self->handle, &self->live, deadline);
        if (rc)
            return rc;
        if (s_on_live (self, out))
            return 0;
    }
}
