/*  kh_web_live.h - kreishub-web's live updates: one follower of the broker's live
    endpoint fanning records out to Server-Sent Event streams (GET /live, /live?item=ID).

    One actor follows everything the hub commits (a kh_subscriber with no filter,
    gaps filled from the store by the library) and hands each record to every open
    stream that wants it: the catalogue's stream (/live) every record, an item's
    (/live?item=ID, ID its UUID) the item's first message and every message about it.
    An event names the record and nothing a user wrote:

        event: record
        id: 42
        data: {"seq":42,"type":"comment","item":"0190c6b2-..."}

    so it needs no escaping; static/live.js fetches the page's new entries itself.

    Streams are bounded (at most `streams` at once: more get 503) and so is each
    stream's queue (`queue` events): a browser that does not read fast enough is
    dropped (its stream ends; EventSource connects again and live.js fetches what it
    missed). A stream with nothing to send suspends its connection, and the follower
    resumes it when an event (or the keep-alive comment, every 15 s, which also finds
    browsers that are gone) is queued.

    Order of the end: kh_web_live_stop (ends every stream, stops the follower), then
    kh_web_destroy, then kh_web_live_destroy.
*/
#ifndef KH_WEB_LIVE_H_INCLUDED
#define KH_WEB_LIVE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "kh_web.h"
#include "kreishub/kreishub.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_WEB_LIVE_EVENT_MAX   192     /* bytes of one event, at most */

typedef struct _kh_web_live_t kh_web_live_t;

/* Where the hub is and how much to hold. Strings are copied. */
typedef struct {
    const char *client_ep;              /* the broker's client endpoint (gaps) */
    const char *live_ep;                /* its live endpoint; NULL: follow nothing */
    const char *cert;                   /* our certificate (NULL: plain mode) */
    const char *server_cert;            /* the broker's public certificate */
    size_t      streams;                /* streams at once (0: 500) */
    size_t      queue;                  /* events queued per stream (0: 64) */
    int         ping_ms;                /* keep-alive comment every (0: 15000) */
} kh_web_live_config_t;

/* Creates the fan-out and, if config->live_ep is set, starts the follower (its
   connection is made in the background: a hub that is down delays events, not
   this). Returns NULL with why (if not NULL) set: kh_keys_load's code if the
   certificates cannot be loaded (the reason names the file), or KH_ENOMEM. */
kh_web_live_t *kh_web_live_new (const kh_web_live_config_t *config, kh_problem_t *why);

/* Adds GET /live to web's routes (needs a session unless public reading is on).
   Returns 0, or -1 as kh_web_add_routes. */
int kh_web_live_attach (kh_web_live_t *self, kh_web_t *web);

/* Stops the follower and ends every stream (resuming its connection, so that the
   server can close it). Safe to call twice. */
void kh_web_live_stop (kh_web_live_t *self);

/* Stops (as kh_web_live_stop) and frees; sets *self_p to NULL. Safe on NULL. Call
   after kh_web_destroy: every stream must be closed by then. */
void kh_web_live_destroy (kh_web_live_t **self_p);

/* Hands one record to the streams that want it (the follower's call; tests call
   it directly). A record whose envelope cannot be read is skipped. */
void kh_web_live_publish (kh_web_live_t *self, const kh_record_t *rec);

/* Streams open now, and streams dropped so far because their queue was full. */
size_t kh_web_live_streams (kh_web_live_t *self);
uint64_t kh_web_live_dropped (kh_web_live_t *self);

/* ----------------------------------------------- internal: streams, for the test */
typedef struct _kh__web_stream_t kh__web_stream_t;

/* What a stream does to its connection when it has nothing to send (pause) and
   when something arrives for a paused one (wake); conn is theirs. */
typedef struct {
    void  (*pause) (void *conn);
    void  (*wake) (void *conn);
    void   *conn;
} kh__web_waker_t;

/* Opens a stream of the item (NULL: every record) with waker (copied). Returns it,
   or NULL if `streams` are open already or memory ran out. */
kh__web_stream_t *kh__web_live_open (kh_web_live_t *self, const uint8_t *item,
                                     const kh__web_waker_t *waker);

/* Copies up to max bytes of the stream's queue into buf. Returns how many; 0 if
   nothing is queued (the stream is paused: its waker wakes it); -1 if the stream
   ended (dropped, or the fan-out stopped). */
ssize_t kh__web_live_read (kh__web_stream_t *stream, char *buf, size_t max);

/* Closes the stream (its connection is gone) and frees it. */
void kh__web_live_close (kh__web_stream_t *stream);

#ifdef __cplusplus
}
#endif
#endif
