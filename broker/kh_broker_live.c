/*  kh_broker_live.c - the broker's live socket: committed records and the heartbeat
    go out, subscriptions come in (PROTOCOL.md section 6). */
#include "kh_broker_priv.h"

/* A new subscription hears the head within this many ms; every subscription that
   arrives meanwhile shares that one heartbeat, so that a thousand subscribers bring
   a beat or a few, not a thousand, each sent to every subscriber. */
#define S_BURST_MS  10

void
kh__live_init (kh_broker_t *self)
{
    kh__live_reset (self);              /* a timer is all the live part keeps */
}

void
kh__live_reset (kh_broker_t *self)
{
    self->burst_timer = -1;
}

void
kh__live_publish (kh_broker_t *self, const kh_pending_view_t *entry,
                  const kh_seqinfo_t *info)
{
    kh_record_t record = { .info = *info, .msg = (const uint8_t *) entry->envelope,
                           .msg_size = entry->envelope_size };
    msgpack_sbuffer_clear (&self->buf);
    if (kh_record_encode (&self->buf, &record)) {
        zsys_error ("broker: out of memory encoding record %llu",
                    (unsigned long long) info->seq);
        return;
    }
    zmq_send (self->live_h, entry->topic, strlen (entry->topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->live_h, self->buf.data, self->buf.size, ZMQ_DONTWAIT);
    self->stats.published++;
}

/* Publishes the heartbeat [!hb][{head, at}]. */
static void
s_beat (kh_broker_t *self)
{
    msgpack_sbuffer_clear (&self->buf);
    if (kh_beat_encode (&self->buf, self->head, kh_now_ms ()))
        return;
    zmq_send (self->live_h, KH_TOPIC_BEAT, strlen (KH_TOPIC_BEAT), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (self->live_h, self->buf.data, self->buf.size, ZMQ_DONTWAIT);
    self->stats.beats++;
}

/* Until a recorder has said HELLO our head may be below the store's: a beat would
   tell subscribers a head that is not. */
void
kh__live_tick (kh_broker_t *self)
{
    if (kh__link_head_known (self))
        s_beat (self);
}

static int
s_on_burst (zloop_t *loop, int timer_id, void *arg)
{
    kh_broker_t *self = (kh_broker_t *) arg;
    self->burst_timer = -1;
    kh__live_tick (self);
    return 0;
}

/* A subscription opened: once the head is known, a heartbeat tells it soon. */
void
kh__live_message (kh_broker_t *self, kh_parts_t *msg)
{
    zmq_msg_t *frame = kh_parts_at (msg, 0);
    if (!frame || zmq_msg_size (frame) == 0)
        return;
    const char *data = (const char *) zmq_msg_data (frame);
    if (data [0] == 1) {
        self->stats.subscribers++;
        if (kh__link_head_known (self))
            self->burst_timer = kh__timer_once (self, self->burst_timer, S_BURST_MS,
                                                s_on_burst);
    }
    else
    if (data [0] == 0 && self->stats.subscribers > 0)
        self->stats.subscribers--;
    if (self->verbose)
        zsys_debug ("broker: %s '%.*s'", data [0] ? "subscribe" : "unsubscribe",
                    (int) zmq_msg_size (frame) - 1, data + 1);
}
