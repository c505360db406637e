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

    Store ranges (the catch-up from since_seq, and gap fills) are delivered page by
    page from the subscriber's own client; delivered records point into the page or
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
    S_LINK_PAIR                         /* both: pts */
} s_link_t;

struct _kh_subscriber_t {
    kh_client_t *client;                /* for the store queries */
    zsock_t     *sub;                   /* live records and heartbeats */
    void        *handle;                /* sub's libzmq socket */
    bool         heard;                 /* a heartbeat came: all subscriptions are in */
    char         type [KH_TYPE_MAX + 1];    /* "" for any */
    char         from [KH_AGS_MAX + 1];     /* "" for any */
    s_link_t     link;
    bool         started;               /* last means something (since, or first seen) */
    uint64_t     last;                  /* all matching records up to here delivered */
    /* a store range being delivered: the catch-up, or a gap fill */
    bool         filling;
    bool         fetch;                 /* the page at query.since_seq is still to come */
    bool         counting;              /* a gap fill: count what it delivers */
    bool         from_beat;             /* started by a heartbeat: a gap only if it finds */
    kh_query_t   query;                 /* the range; since_seq advances page by page */
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

/* Subscribes to topic; returns 0 or -1 if it did not fit. */
static int
s_subscribe (kh_subscriber_t *self, const char *type, const char *from)
{
    char topic [KH_TOPIC_MAX + 1];
    int n = *from ? kh_topic_format (topic, sizeof topic, type, from)
                  : snprintf (topic, sizeof topic, "%s/", type);
    if (n < 0 || (size_t) n >= sizeof topic)
        return -1;
    zsock_set_subscribe (self->sub, topic);
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
    if (*self->type) {
        if (s_subscribe (self, self->type, self->from))
            return -1;
    }
    else
        for (size_t i = 0; i < kh_schema_type_count (); i++)
            if (s_subscribe (self, kh_schema_type_name (i), self->from))
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
    memset (&self->query, 0, sizeof self->query);
    self->query.since_seq = since;
    self->query.until_seq = until;
    if (*self->type)
        kh_query_add_type (&self->query, self->type, NULL);     /* valid: checked in s_new */
    if (*self->from)
        kh_query_add_from (&self->query, self->from, NULL);
    self->filling = true;
    self->fetch = true;
    self->counting = counting;
    self->from_beat = from_beat;
    self->fill_to = fill_to;
    self->fill_found = 0;
}

/* As kh_subscriber_new, over CURVE with keys if they are not NULL, the live
   connection watched if watch. */
static kh_subscriber_t *
s_new (const char *client_endpoint, const char *live_endpoint, const kh_keys_t *keys,
       const char *type, const char *from, uint64_t since_seq, bool watch)
{
    type = type ? type : "";
    from = from ? from : "";
    if ((*type && !kh_schema_type_known (type)) || (*from && !kh_ags_valid (from, strlen (from)))
    ||  !live_endpoint || !*live_endpoint)
        return NULL;
    kh_subscriber_t *self = (kh_subscriber_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->type, sizeof self->type, "%s", type);
    snprintf (self->from, sizeof self->from, "%s", from);
    self->link = *type ? (*from ? S_LINK_PAIR : S_LINK_TYPE)
                       : (*from ? S_LINK_SENDER : S_LINK_SEQ);
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

kh_subscriber_t *
kh_subscriber_new (const char *client_endpoint, const char *live_endpoint,
                   const char *type, const char *from, uint64_t since_seq)
{
    return s_new (client_endpoint, live_endpoint, NULL, type, from, since_seq, false);
}

kh_subscriber_t *
kh_subscriber_new_secure (const char *client_endpoint, const char *live_endpoint,
                          const kh_keys_t *keys, const char *type, const char *from,
                          uint64_t since_seq)
{
    return keys ? s_new (client_endpoint, live_endpoint, keys, type, from, since_seq, false)
                : NULL;
}

kh_subscriber_t *
kh_subscriber_new_watched (const char *client_endpoint, const char *live_endpoint,
                           const kh_keys_t *keys, const char *type, const char *from,
                           uint64_t since_seq)
{
    return s_new (client_endpoint, live_endpoint, keys, type, from, since_seq, true);
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

/* Advances the store range whose current page is used up: asks for the next page,
   or finishes the range. Returns 0, or the failed query's code, KH_EUNREACHABLE
   for no answer (calling again asks again). */
static int
s_fill_step (kh_subscriber_t *self)
{
    kh_rows_release (&self->page);
    self->page_pos = 0;
    if (!self->fetch) {
        self->filling = false;
        if (self->fill_to > self->last)
            self->last = self->fill_to;
        return 0;
    }
    int rc = kh__client_page (self->client, &self->query, self->query_timeout,
                              &self->page);
    if (rc)         /* the caller's timeout is for records; the store did not answer */
        return rc == KH_ETIMEOUT && !zsys_interrupted ? KH_EUNREACHABLE : rc;
    /* A page that does not advance would loop for ever: end the range there. */
    self->fetch = self->page.more && self->page.next > self->query.since_seq;
    self->query.since_seq = self->page.next;
    return 0;
}

/* -------------------------------------------------------------------- live */

/* The previous-link of rec that the filter checks. */
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

/* A live record. Returns true if it is to be delivered now (*out set); false if it
   is old, unreadable, or waits behind a gap fill. */
static bool
s_on_record (kh_subscriber_t *self, kh_record_t *out)
{
    kh_record_t rec;
    kh_problem_t why;
    size_t size;
    const void *body = kh__body (&self->live, &size);
    if (kh_record_decode (body, size, &rec, &why))
        return false;
    if (self->started && rec.info.seq <= self->last)
        return false;
    if (self->started && s_link (self, &rec) > self->last) {
        self->gaps++;
        self->stash = rec;
        self->stashed = true;
        s_fill_start (self, self->last + 1, rec.info.seq - 1, true, false,
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
