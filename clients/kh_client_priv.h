/*  kh_client_priv.h - what kh_subscriber.c uses of kh_client.c, and a hook for tests
    (internal to libkreishub). */
#ifndef KH_CLIENT_PRIV_H_INCLUDED
#define KH_CLIENT_PRIV_H_INCLUDED

#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_codec.h"
#include "kh_parts.h"

/* The largest reply a client accepts: a ROWS page may exceed KH_QUERY_PAGE_BYTES by
   one record; anything far larger is not from a kreishub broker. */
#define KH_CLIENT_FRAME_MAX (2 * KH_QUERY_PAGE_BYTES)

/*  A store range read page by page: pages of query's records from its since_seq to
    its until_seq (0: to the end), in seq order. A query with no filter but its seq
    bounds has dense rows (seqs are gap-free), so its range is cut into windows of
    at most KH_QUERY_PAGE_MAX seqs (until_seq bounds each) and KH__PAGES_AHEAD of
    them are asked at once: each window's answer is exact on its own, so a window
    need not wait for the one before it to be answered. A window answered with fewer
    rows than it spans holds the store's last row: the range ends there, and the
    answers still in flight are dropped as they come. A window cut short by bytes
    (more) goes on from its next, with narrower windows after it. A filtered query is
    asked one page at a time (a window would mostly hold rows it filters out). The
    broker allows 8 queries in flight per connection; a reader never has more than
    KH__PAGES_AHEAD of its own. */
#define KH__PAGES_AHEAD 4

typedef struct {
    kh_query_t query;                   /* filter and range; since_seq: first not asked */
    bool       windowed;                /* no filter: windows asked ahead */
    bool       done;                    /* the last page is in */
    bool       stuck;                   /* it ended on a page that said more but did
                                           not advance (not a kreishub hub) */
    uint64_t   from;                    /* the first seq of the range not returned */
    uint32_t   window;                  /* seqs a window spans */
    uint64_t   first_req;               /* the req of the oldest page in flight */
    uint32_t   flying;                  /* pages asked, their answers not read */
    uint32_t   stale;                   /* answers to drop before asking more */
    uint64_t   ends [KH__PAGES_AHEAD];  /* until_seq of each page in flight, oldest first */
} kh__pages_t;

/* Starts pages on the range of query (its since_seq, 0 taken as 1, to its until_seq,
   0 for none), of the records its filter matches. Asks nothing yet. */
void kh__pages_start (kh__pages_t *pages, const kh_query_t *query);

/* True once the range's last page was returned (or the range is empty). */
bool kh__pages_done (const kh__pages_t *pages);

/* Asks for the pages that may be in flight and waits up to timeout_ms for the next
   in order. Returns 0 with *rows decoded (release with kh_rows_release; its records
   point into the client and stay valid until the client receives again),
   KH_ETIMEOUT, or the hub's error code; after a failure calling again asks again,
   from the first row not returned. */
int kh__pages_next (kh_client_t *self, kh__pages_t *pages, int timeout_ms,
                    kh_rows_t *rows);

/* Waits until the socket handle can be read or the zclock_mono deadline (-1: none)
   passes. Returns 0 if readable, else KH_ETIMEOUT (also when czmq's signal handler
   saw SIGINT/SIGTERM). */
int kh__wait_readable (void *handle, int64_t deadline);

/* Closes what parts held and receives into it the next message of one or two frames
   from the socket handle ([command or topic][body]; messages of more frames are
   skipped), waiting until the zclock_mono deadline. Returns 0, KH_ETIMEOUT, or
   KH_EIO if the socket failed. */
int kh__recv (void *handle, kh_parts_t *parts, int64_t deadline);

/* Returns the body (second frame) of a message kh__recv received and its size in
   *size; NULL and 0 if it had none. */
const void *kh__body (kh_parts_t *parts, size_t *size);

/* True once kh_subscriber_next has received a heartbeat: the subscriber connects
   before it subscribes and subscribes to the heartbeat last, so the broker then has
   all its subscriptions (a record alone proves only its own topic's). For tests,
   which must not publish before that. */
bool kh__subscriber_heard (kh_subscriber_t *self);

/* Makes sock a CURVE client with keys: our key pair and the hub's public key. Call
   before it connects. */
void kh__keys_apply (const kh_keys_t *keys, zsock_t *sock);

/* As kh_client_new, over CURVE with keys if they are not NULL, its connection
   watched (kh_client_link) if watch. */
kh_client_t *kh__client_new (const char *endpoint, const kh_keys_t *keys, bool watch);

/* The zclock_mono time timeout_ms from now, or -1 for a negative timeout. */
int64_t kh__deadline (int timeout_ms);

#endif
