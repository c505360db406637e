/*  kh_broker.c - the broker's life: builds it, binds its sockets, runs its loop. */
#include <limits.h>
#if defined (__GLIBC__)
#include <malloc.h>
#endif
#include "kh_broker_priv.h"

#define S_BATCH     256     /* messages read from one socket per wake-up, at most */
#define S_SECOND_MS 1000    /* period of the heartbeat, the link's checks, query expiry */
/* The recorder is ours and its ROWS pages may reach KH_QUERY_PAGE_BYTES plus one
   record, so its socket allows larger parts than the clients' KH_FRAME_MAX. */
#define S_RECORDER_FRAME_MAX (2 * KH_QUERY_PAGE_BYTES)

/* ------------------------------------------------------------ shared helpers */

const kh__command_t *
kh__command_find (const kh__command_t *table, size_t size, kh_parts_t *msg)
{
    for (size_t i = 0; i < size; i++)
        if (kh_parts_is (msg, 1, table [i].name))
            return &table [i];
    return NULL;
}

bool
kh__command_fits (const kh__command_t *command, kh_parts_t *msg)
{
    return msg->count - 1 >= command->min_frames && msg->count - 1 <= command->max_frames;
}

int64_t
kh__now (kh_broker_t *self)
{
    return self->clock ? self->clock (self->clock_arg) : zclock_mono ();
}

bool
kh__virtual_time (kh_broker_t *self)
{
    return self->clock != NULL;
}

int
kh__timer_once (kh_broker_t *self, int timer_id, size_t delay, zloop_timer_fn *handler)
{
    assert (self);
    if (timer_id != -1 || !self->loop)
        return timer_id;
    timer_id = zloop_timer (self->loop, delay, 1, handler, self);
    if (timer_id == -1)
        zsys_error ("broker: cannot arm a timer (out of memory)");
    return timer_id;
}

/* ------------------------------------------------------------ the loop */

/* Reads up to S_BATCH messages from the socket handle and hands each to handler. */
static void
s_drain (kh_broker_t *self, void *handle, kh__handler_fn *handler)
{
    kh_parts_t msg;
    for (int i = 0; i < S_BATCH && kh_parts_recv (&msg, handle, ZMQ_DONTWAIT) > 0; i++) {
        handler (self, &msg);
        kh_parts_close (&msg);
    }
}

/* Answers come first in each turn of the loop (readers run in the order they were
   added): they free pending entries for the requests after them. */
static int
s_on_recorder (zloop_t *loop, zsock_t *sock, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    s_drain (self, self->recorder_h, kh__trust_link_message);
    kh__link_handover (self);           /* the answers made room at the recorder */
    return 0;
}

static int
s_on_client (zloop_t *loop, zsock_t *sock, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    s_drain (self, self->client_h, kh__client_message);
    return 0;
}

static int
s_on_live (zloop_t *loop, zsock_t *sock, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    s_drain (self, self->live_h, kh__live_message);
    return 0;
}

/* Gives the memory freed after a burst back to the system (glibc keeps it in its
   arenas otherwise): once a second of the broker's tallies standing still follows
   a change since the last time. Not while the broker works: a trim walks every
   arena, a millisecond or more. */
static void
s_trim (kh_broker_t *self)
{
    kh_broker_stats_t *s = &self->stats;
    uint64_t work = s->published + s->acked + s->errors + s->subscribers + s->stored
                  + s->queries + s->dropped;
    if (work == self->trim_seen && work != self->trim_done) {
#if defined (__GLIBC__)
        malloc_trim (0);
#endif
        self->trim_done = work;
    }
    self->trim_seen = work;
}

/* Keeps the clock and what was published live at this tick, for the rate. */
static void
s_rate_sample (kh_broker_t *self)
{
    self->rate_at [self->rate_next] = kh__now (self);
    self->rate_published [self->rate_next] = self->stats.published;
    self->rate_next = (self->rate_next + 1) % KH__RATE_SAMPLES;
}

void
kh__counters (kh_broker_t *self, kh_counters_t *c)
{
    int64_t now = kh__now (self);
    memset (c, 0, sizeof *c);
    c->uptime_ms = now > self->started ? (uint64_t) (now - self->started) : 0;
    c->clients = atomic_load (&self->connections [0]);
    c->subscribers = atomic_load (&self->connections [1]);
    c->recorder_up = kh__link_up (self);
    c->head = self->head;
    c->published = self->stats.published;
    /* The oldest sample is the one the next tick overwrites: about 10 s ago (since
       the start until then); a rate over less than a second is taken over one. */
    int64_t span = now - self->rate_at [self->rate_next];
    c->rate = (c->published - self->rate_published [self->rate_next]) * 1000
            / (uint64_t) (span > 1000 ? span : 1000);
    c->errors = self->stats.errors;
    c->busy = self->busy;
    c->audit_dropped = self->audit_dropped_all;
}

/* Runs the once-a-second work of every part now. */
static void
s_tick (kh_broker_t *self)
{
    s_rate_sample (self);
    kh__live_tick (self);
    kh__link_tick (self);
    kh__client_tick (self);
    s_trim (self);
}

static int
s_on_second (zloop_t *loop, int timer_id, void *arg)
{
    s_tick ((kh_broker_t *) arg);
    return 0;
}

static int
s_on_trust (zloop_t *loop, int timer_id, void *arg)
{
    kh__trust_watch ((kh_broker_t *) arg);
    return 0;
}

/* Answers one command from the actor's pipe; returns true on "$TERM". Works with
   self NULL (a broker that could not start). */
static bool
s_pipe_command (kh_broker_t *self, zsock_t *pipe)
{
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    if (command && streq (command, "ENDPOINTS"))
        zsock_send (pipe, "sss", self ? self->client_ep : "", self ? self->live_ep : "",
                    self ? self->recorder_ep : "");
    else
    if (command && streq (command, "STATS")) {
        kh_broker_stats_t s = { 0 };
        if (self)
            kh_broker_stats (self, &s);
        zsock_send (pipe, "8888888888", s.published, s.acked, s.errors, s.subscribers,
                    s.stored, s.queries, s.ignored, s.dropped, s.resent, s.beats);
    }
    else
    if (command && streq (command, "TICK")) {
        if (self)
            s_tick (self);
        zsock_signal (pipe, 0);
    }
    else
    if (command && streq (command, "TRUST")) {
        if (self)
            kh__trust_watch (self);
        zsock_signal (pipe, 0);
    }
    zstr_free (&command);
    return term;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    return s_pipe_command ((kh_broker_t *) arg, pipe) ? -1 : 0;
}

/* Builds the loop: the readers (recorder first), in real time the timer of the
   once-a-second work, and in secure mode the look at the clients directory, which
   is in real time always. Returns 0, or -1 if memory ran out. */
static int
s_loop_build (kh_broker_t *self, zsock_t *pipe)
{
    self->loop = zloop_new ();
    if (!self->loop)
        return -1;
    zsock_t *socks [4] = { self->recorder, self->client, self->live, pipe };
    zloop_reader_fn *handlers [4] = { s_on_recorder, s_on_client, s_on_live, s_on_pipe };
    for (int i = 0; i < (pipe ? 4 : 3); i++) {
        if (zloop_reader (self->loop, socks [i], handlers [i], self))
            return -1;
        zloop_reader_set_tolerant (self->loop, socks [i]);
    }
    if (kh__audit_loop (self, self->loop))
        return -1;
    if (!kh__virtual_time (self)
    &&  zloop_timer (self->loop, S_SECOND_MS, 0, s_on_second, self) == -1)
        return -1;
    if (!self->plain
    &&  zloop_timer (self->loop, KH_BROKER_TRUST_MS, 0, s_on_trust, self) == -1)
        return -1;
    return 0;
}

int
kh_broker_run (kh_broker_t *self, zsock_t *pipe)
{
    assert (self);
    int rc = s_loop_build (self, pipe);
    if (rc)
        zsys_error ("broker: cannot build the loop (out of memory)");
    else
        zloop_start (self->loop);       /* until interrupted or "$TERM" */
    zloop_destroy (&self->loop);
    kh__link_reset (self);              /* their timers went with the loop */
    kh__live_reset (self);
    return rc;
}

/* ------------------------------------------------------------ lifecycle */

/* Makes a socket of type with its send queue and part size limits; NULL on failure. */
static zsock_t *
s_socket (int type, int sndhwm, int maxmsgsize)
{
    zsock_t *sock = zsock_new (type);
    if (sock) {
        zsock_set_sndhwm (sock, sndhwm);
        zsock_set_maxmsgsize (sock, maxmsgsize);
        zsock_set_linger (sock, 0);
    }
    return sock;
}

/* Binds sock to endpoint and stores the real endpoint (wildcard port resolved) in
   *bound. Returns 0, or -1 after logging why. */
static int
s_bind (zsock_t *sock, const char *endpoint, char **bound)
{
    if (!sock)
        return -1;
    if (zsock_bind (sock, "%s", endpoint) == -1) {
        zsys_error ("broker: cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    *bound = zsock_last_endpoint (sock);
    return *bound ? 0 : -1;
}

/* Makes and binds the three sockets (after the link's init: their queues are sized
   by its pending table; after the trust part's: they are CURVE servers unless
   plain). Returns 0, or -1 after logging why. */
static int
s_sockets (kh_broker_t *self, const kh_broker_config_t *config)
{
    int live_hwm = config->live_hwm > 0 ? config->live_hwm : KH_BROKER_LIVE_HWM;
    /* Every pending publish may go to the recorder at once, and each connection's
       may be answered at once, with room for as many refusals (BUSY) beside: a
       client that does not read holds that many replies in the broker, at most. */
    size_t pending_max = kh_pending_max (self->pending);
    size_t lane_max = kh_pending_lane_max (self->pending);
    int store_hwm = pending_max < INT_MAX - 1000 ? (int) pending_max + 1000 : INT_MAX;
    int reply_hwm = lane_max && lane_max < INT_MAX / 2 ? 2 * (int) lane_max : store_hwm;
    self->client = s_socket (ZMQ_ROUTER, reply_hwm, KH_FRAME_MAX);
    self->live = s_socket (ZMQ_XPUB, live_hwm, KH_FRAME_MAX);
    self->recorder = s_socket (ZMQ_ROUTER, store_hwm, S_RECORDER_FRAME_MAX);
    if (self->live)
        zsock_set_xpub_verboser (self->live, 1);       /* every (un)subscribe */
    if (self->recorder)
        zsock_set_router_mandatory (self->recorder, 1); /* full queue: EAGAIN, no drop */
    if (self->client)
        zsock_set_router_mandatory (self->client, 1);   /* a reply that cannot go is counted */
    zsock_t *socks [3] = { self->client, self->live, self->recorder };
    const char *names [3] = { "client", "live", "recorder" };
    for (int i = 0; i < 3; i++)
        if (socks [i]) {
            kh__trust_socket (self, socks [i], socks [i] == self->recorder);
            kh__audit_watch (self, socks [i], names [i]);       /* refused connections */
        }
    if (s_bind (self->client, config->client ? config->client : KH_DEFAULT_CLIENT,
                &self->client_ep)
    ||  s_bind (self->live, config->live ? config->live : KH_DEFAULT_LIVE, &self->live_ep)
    ||  s_bind (self->recorder, config->recorder ? config->recorder : KH_DEFAULT_RECORDER,
                &self->recorder_ep))
        return -1;
    self->client_h = zsock_resolve (self->client);
    self->live_h = zsock_resolve (self->live);
    self->recorder_h = zsock_resolve (self->recorder);
    return 0;
}

kh_broker_t *
kh_broker_new (const kh_broker_config_t *config)
{
    assert (config);
    kh_broker_t *self = (kh_broker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    msgpack_sbuffer_init (&self->buf);
    self->verbose = config->verbose;
    self->clock = config->clock;
    self->clock_arg = config->clock_arg;
    self->started = kh__now (self);
    for (size_t i = 0; i < KH__RATE_SAMPLES; i++)
        self->rate_at [i] = self->started;
    for (size_t i = 0; i < KH__SOCKETS; i++)
        atomic_init (&self->connections [i], 0);
    kh__live_init (self);
    if (kh__trust_init (self, config) || kh__link_init (self, config)
    ||  kh__client_init (self, config) || s_sockets (self, config)) {
        kh_broker_destroy (&self);
        return NULL;
    }
    return self;
}

/* Closes *sock (nothing if NULL) once its monitor is stopped: libzmq's I/O thread
   sends a closing socket's events to the monitor with a blocking send, and once the
   audit's watcher, which reads them, is gone, that send would stop every socket of
   the process. */
static void
s_socket_close (zsock_t **sock)
{
    if (*sock)
        zmq_socket_monitor (zsock_resolve (*sock), NULL, 0);
    zsock_destroy (sock);
}

void
kh_broker_destroy (kh_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_broker_t *self = *self_p;
    s_socket_close (&self->client);
    s_socket_close (&self->live);
    s_socket_close (&self->recorder);
    kh__audit_teardown (self);
    zstr_free (&self->client_ep);
    zstr_free (&self->live_ep);
    zstr_free (&self->recorder_ep);
    kh__link_teardown (self);
    kh__client_teardown (self);
    kh__trust_teardown (self);          /* after the sockets */
    msgpack_sbuffer_destroy (&self->buf);
    free (self);
    *self_p = NULL;
}

int
kh__live_rebind (kh_broker_t *self)
{
    /* Unbinding a tcp or ipc endpoint ends the connections made through it; binding
       it again at once lets the subscribers connect again (libzmq does), each
       through zauth again. After a failed bind, the unbind finds nothing: fine. */
    zsock_unbind (self->live, "%s", self->live_ep);
    if (zsock_bind (self->live, "%s", self->live_ep) == -1) {
        zsys_error ("broker: cannot bind %s again: %s", self->live_ep,
                    zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

const char *
kh_broker_client_endpoint (kh_broker_t *self)
{
    assert (self);
    return self->client_ep;
}

const char *
kh_broker_live_endpoint (kh_broker_t *self)
{
    assert (self);
    return self->live_ep;
}

const char *
kh_broker_recorder_endpoint (kh_broker_t *self)
{
    assert (self);
    return self->recorder_ep;
}

void
kh_broker_stats (kh_broker_t *self, kh_broker_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
}

void
kh_broker_actor (zsock_t *pipe, void *args)
{
    kh_broker_t *self = kh_broker_new ((const kh_broker_config_t *) args);
    zsock_signal (pipe, 0);
    if (self)
        kh_broker_run (self, pipe);
    else
        while (!s_pipe_command (NULL, pipe))
            ;
    kh_broker_destroy (&self);
}
