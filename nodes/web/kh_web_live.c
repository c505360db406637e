/*  kh_web_live.c - one follower of the hub's live endpoint, its records fanned out to
    bounded Server-Sent Event streams (see kh_web_live.h). */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <czmq.h>
#include <microhttpd.h>
#include "kh_codec.h"                   /* kh_problem */
#include "kh_web_live.h"

#define S_STREAMS       500
#define S_QUEUE         64
#define S_PING_MS       15000
#define S_WAIT_MS       250             /* the follower looks at its pipe this often */
#define S_HELLO         "retry: 3000\n: kreishub live\n\n"
#define S_PING          ": ping\n\n"

/* One open stream: a ring of queue events, the head's first `sent` bytes gone. A
   stream is in the fan-out's list from open to close; ended ones stay until their
   connection closes them. */
struct _kh__web_stream_t {
    kh_web_live_t   *live;
    kh__web_stream_t *next;             /* the fan-out's list */
    bool             all;               /* every record, else item's */
    uint8_t          item [KH_ID_SIZE];
    kh__web_waker_t  waker;
    bool             paused;            /* waker.pause was called; wake on the next event */
    bool             ended;             /* dropped or stopped: reads return -1 */
    char           (*ring) [KH_WEB_LIVE_EVENT_MAX];
    size_t           head, count;       /* ring's oldest event and how many */
    size_t           sent;              /* bytes of the head already read */
};

struct _kh_web_live_t {
    pthread_mutex_t   lock;             /* guards the list and every stream in it */
    kh__web_stream_t *streams;
    size_t            stream_count;
    uint64_t          dropped;
    bool              stopped;
    kh_web_live_config_t config;        /* its strings our copies */
    kh_keys_t        *keys;             /* NULL: plain mode */
    zactor_t         *follower;         /* follows the hub; NULL: not started, or ended */
};

/* ================================================================ streams */

/* Queues text (at most KH_WEB_LIVE_EVENT_MAX - 1 bytes) on stream, waking it if
   paused. A full queue ends the stream if drop, else skips the text. Caller holds
   the lock. */
static void
s_queue (kh__web_stream_t *stream, const char *text, bool drop)
{
    kh_web_live_t *self = stream->live;
    if (stream->ended)
        return;
    if (stream->count == self->config.queue) {
        if (!drop)
            return;
        stream->ended = true;           /* a slow browser: it connects again */
        self->dropped++;
    }
    else {
        size_t slot = (stream->head + stream->count) % self->config.queue;
        snprintf (stream->ring [slot], KH_WEB_LIVE_EVENT_MAX, "%s", text);
        stream->count++;
    }
    if (stream->paused) {
        stream->paused = false;
        if (stream->waker.wake)
            stream->waker.wake (stream->waker.conn);
    }
}

kh__web_stream_t *
kh__web_live_open (kh_web_live_t *self, const uint8_t *item, const kh__web_waker_t *waker)
{
    assert (self && waker);
    kh__web_stream_t *stream = (kh__web_stream_t *) calloc (1, sizeof *stream);
    if (stream)
        stream->ring = calloc (self->config.queue, KH_WEB_LIVE_EVENT_MAX);
    if (!stream || !stream->ring) {
        free (stream);
        return NULL;
    }
    stream->live = self;
    stream->all = item == NULL;
    if (item)
        memcpy (stream->item, item, KH_ID_SIZE);
    stream->waker = *waker;
    pthread_mutex_lock (&self->lock);
    bool room = self->stream_count < self->config.streams && !self->stopped;
    if (room) {
        stream->next = self->streams;
        self->streams = stream;
        self->stream_count++;
        s_queue (stream, S_HELLO, false);
    }
    pthread_mutex_unlock (&self->lock);
    if (!room) {
        free (stream->ring);
        free (stream);
    }
    return room ? stream : NULL;
}

ssize_t
kh__web_live_read (kh__web_stream_t *stream, char *buf, size_t max)
{
    assert (stream && buf);
    kh_web_live_t *self = stream->live;
    ssize_t rc = 0;
    pthread_mutex_lock (&self->lock);
    if (stream->ended)
        rc = -1;
    else
    if (stream->count == 0) {
        stream->paused = true;          /* under the lock: no event slips past it */
        if (stream->waker.pause)
            stream->waker.pause (stream->waker.conn);
    }
    else {
        const char *event = stream->ring [stream->head] + stream->sent;
        size_t len = strlen (event), take = len < max ? len : max;
        memcpy (buf, event, take);
        stream->sent += take;
        if (take == len) {
            stream->head = (stream->head + 1) % self->config.queue;
            stream->count--;
            stream->sent = 0;
        }
        rc = (ssize_t) take;
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void
kh__web_live_close (kh__web_stream_t *stream)
{
    if (!stream)
        return;
    kh_web_live_t *self = stream->live;
    pthread_mutex_lock (&self->lock);
    for (kh__web_stream_t **at = &self->streams; *at; at = &(*at)->next)
        if (*at == stream) {
            *at = stream->next;
            self->stream_count--;
            break;
        }
    pthread_mutex_unlock (&self->lock);
    free (stream->ring);
    free (stream);
}

/* ================================================================ fan-out */

/* Writes rec's event into event; sets item to the item it belongs to. Returns 0, or
   -1 if its envelope cannot be read. */
static int
s_event (const kh_record_t *rec, char event [KH_WEB_LIVE_EVENT_MAX],
         uint8_t item [KH_ID_SIZE])
{
    kh_envelope_t env;
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, NULL))
        return -1;
    memcpy (item, env.has_ref ? env.ref : env.id, KH_ID_SIZE);
    char id [KH_ID_STR_SIZE];
    kh_id_format (item, id);
    snprintf (event, KH_WEB_LIVE_EVENT_MAX, "event: record\nid: %" PRIu64 "\n"
              "data: {\"seq\":%" PRIu64 ",\"type\":\"%s\",\"item\":\"%s\"}\n\n",
              rec->info.seq, rec->info.seq, env.type, id);
    return 0;
}

void
kh_web_live_publish (kh_web_live_t *self, const kh_record_t *rec)
{
    assert (self && rec);
    char event [KH_WEB_LIVE_EVENT_MAX];
    uint8_t item [KH_ID_SIZE];
    if (s_event (rec, event, item))
        return;
    pthread_mutex_lock (&self->lock);
    for (kh__web_stream_t *stream = self->streams; stream; stream = stream->next)
        if (stream->all || memcmp (stream->item, item, KH_ID_SIZE) == 0)
            s_queue (stream, event, true);
    pthread_mutex_unlock (&self->lock);
}

/* Queues the keep-alive comment on every stream that has room. */
static void
s_ping (kh_web_live_t *self)
{
    pthread_mutex_lock (&self->lock);
    for (kh__web_stream_t *stream = self->streams; stream; stream = stream->next)
        s_queue (stream, S_PING, false);
    pthread_mutex_unlock (&self->lock);
}

size_t
kh_web_live_streams (kh_web_live_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t count = self->stream_count;
    pthread_mutex_unlock (&self->lock);
    return count;
}

uint64_t
kh_web_live_dropped (kh_web_live_t *self)
{
    pthread_mutex_lock (&self->lock);
    uint64_t dropped = self->dropped;
    pthread_mutex_unlock (&self->lock);
    return dropped;
}

/* ================================================================ the follower */

/* The monotonic clock in ms. */
static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The follower (an actor): everything the hub commits, to the streams, until
   $TERM; a keep-alive comment every ping_ms. */
static void
s_follow (zsock_t *pipe, void *arg)
{
    kh_web_live_t *self = (kh_web_live_t *) arg;
    kh_query_t everything = { .req = 0 };
    kh_subscriber_t *sub = kh_subscriber_new_filtered (self->config.client_ep,
                                                       self->config.live_ep, self->keys,
                                                       &everything, 0, false);
    if (!sub)
        fprintf (stderr, "kreishub-web: live: cannot follow %s; no live updates\n",
                 self->config.live_ep);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    zpoller_set_nonstop (poller, true);     /* after SIGTERM too: $TERM comes, and must be read */
    zsock_signal (pipe, 0);
    int64_t ping = s_now_ms () + self->config.ping_ms;
    bool done = false;
    while (!done) {
        kh_record_t rec;
        int rc = sub ? kh_subscriber_next (sub, S_WAIT_MS, &rec) : KH_ETIMEOUT;
        if (rc == 0)
            kh_web_live_publish (self, &rec);
        else
        if (rc != KH_ETIMEOUT)
            fprintf (stderr, "kreishub-web: live: %s\n", kh_strerror (rc));
        if (s_now_ms () >= ping) {
            s_ping (self);
            ping = s_now_ms () + self->config.ping_ms;
        }
        if (zpoller_wait (poller, sub ? 0 : S_WAIT_MS) == pipe) {
            char *command = zstr_recv (pipe);
            done = !command || streq (command, "$TERM");
            zstr_free (&command);
        }
    }
    zpoller_destroy (&poller);
    kh_subscriber_destroy (&sub);
}

/* Copies config's strings into self->config. Returns 0, or -1 out of memory. */
static int
s_config (kh_web_live_t *self, const kh_web_live_config_t *config)
{
    self->config = *config;
    self->config.streams = config->streams ? config->streams : S_STREAMS;
    self->config.queue = config->queue ? config->queue : S_QUEUE;
    self->config.ping_ms = config->ping_ms > 0 ? config->ping_ms : S_PING_MS;
    const char **texts [] = { &self->config.client_ep, &self->config.live_ep,
                              &self->config.cert, &self->config.server_cert };
    int rc = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        if (*texts [i] && !(*texts [i] = strdup (*texts [i])))
            rc = -1;
    return rc;
}

kh_web_live_t *
kh_web_live_new (const kh_web_live_config_t *config, kh_problem_t *why)
{
    assert (config);
    kh_web_live_t *self = (kh_web_live_t *) calloc (1, sizeof *self);
    if (!self) {
        kh_problem (why, KH_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    if (s_config (self, config)) {
        kh_problem (why, KH_ENOMEM, "out of memory");
        kh_web_live_destroy (&self);
    }
    else
    if (self->config.cert && self->config.live_ep
    &&  !(self->keys = kh_keys_load (self->config.cert, self->config.server_cert, why)))
        kh_web_live_destroy (&self);
    else
    if (self->config.live_ep && !(self->follower = zactor_new (s_follow, self))) {
        kh_problem (why, KH_ENOMEM, "cannot start the follower");
        kh_web_live_destroy (&self);
    }
    return self;
}

void
kh_web_live_stop (kh_web_live_t *self)
{
    assert (self);
    zactor_destroy (&self->follower);
    pthread_mutex_lock (&self->lock);
    self->stopped = true;
    for (kh__web_stream_t *stream = self->streams; stream; stream = stream->next) {
        stream->ended = true;
        if (stream->paused && stream->waker.wake)
            stream->waker.wake (stream->waker.conn);
        stream->paused = false;
    }
    pthread_mutex_unlock (&self->lock);
}

void
kh_web_live_destroy (kh_web_live_t **self_p)
{
    assert (self_p);
    kh_web_live_t *self = *self_p;
    if (!self)
        return;
    kh_web_live_stop (self);
    assert (self->stream_count == 0);   /* kh_web_destroy closed them */
    pthread_mutex_destroy (&self->lock);
    kh_keys_destroy (&self->keys);
    free ((char *) self->config.client_ep);
    free ((char *) self->config.live_ep);
    free ((char *) self->config.cert);
    free ((char *) self->config.server_cert);
    free (self);
    *self_p = NULL;
}

/* ================================================================ the route */

/* libmicrohttpd's side of a stream's waker. */
static void
s_pause (void *conn)
{
    MHD_suspend_connection ((struct MHD_Connection *) conn);
}

static void
s_wake (void *conn)
{
    MHD_resume_connection ((struct MHD_Connection *) conn);
}

/* The stream's source for the server (kh_web_stream_fn). */
static ssize_t
s_stream_read (void *arg, uint64_t pos, char *buf, size_t max)
{
    return kh__web_live_read ((kh__web_stream_t *) arg, buf, max);
}

static void
s_stream_close (void *arg)
{
    kh__web_live_close ((kh__web_stream_t *) arg);
}

/* GET /live[?item=ID]: a stream of the catalogue's or one item's records. */
static int
s_live (kh_web_req_t *req)
{
    kh_web_live_t *self = (kh_web_live_t *) kh_web_req_arg (req);
    const char *text = kh_web_req_query (req, "item");
    uint8_t item [KH_ID_SIZE];
    if (text && *text && kh_id_parse (text, item))
        return kh_web_error (req, 400, "Der Eintrag ist ungültig (eine UUID wird erwartet).");
    kh__web_waker_t waker = { s_pause, s_wake, kh_web_req_connection (req) };
    kh__web_stream_t *stream = kh__web_live_open (self, text && *text ? item : NULL, &waker);
    if (!stream)
        return kh_web_error (req, 503, "Zu viele Live-Verbindungen; bitte später neu laden.");
    kh_web_header (req, "X-Accel-Buffering", "no");     /* a proxy passes each event on */
    return kh_web_stream (req, "text/event-stream; charset=utf-8", s_stream_read, stream,
                          s_stream_close);
}

static const kh_web_route_t s_routes [] = {
    { KH_WEB_GET, "/live", s_live, true, false, true },
    { 0, NULL, NULL, false, false, false }
};

int
kh_web_live_attach (kh_web_live_t *self, kh_web_t *web)
{
    assert (self && web);
    return kh_web_add_routes (web, s_routes, self);
}
