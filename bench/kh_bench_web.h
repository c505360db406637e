/*  kh_bench_web.h - what the files of the web workload share: a raw HTTP/1.1 client
    (keep-alive requests, bodies by length or chunked, Server-Sent Events read as they
    come), the store's fill, and the live pages.

    kh_bench_web.c runs the workload (kh_bench.h): the store, the hub with its web
    node, sign-in, the pages timed one after another; kh_bench_web_fill.c writes the
    store through the recorder's own store; kh_bench_web_live.c plays the open item
    pages; kh_bench_web_http.c speaks HTTP over plain sockets (no curl: the bench
    times what the node does, not a library's). Each connection belongs to one
    thread; nothing here is shared between threads.
*/
#ifndef KH_BENCH_WEB_H_INCLUDED
#define KH_BENCH_WEB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kh_bench.h"

/* ----------------------------------------------------------------- bytes */
/* A growing run of bytes, NUL-terminated once anything was added. */
typedef struct {
    char  *data;
    size_t size;
    size_t cap;
} kh_bench_bytes_t;

/* Appends size bytes. Returns 0, or -1 if memory ran out (nothing added). */
int kh_bench_bytes_add (kh_bench_bytes_t *self, const void *data, size_t size);
/* Removes the first count bytes (at most size). */
void kh_bench_bytes_drop (kh_bench_bytes_t *self, size_t count);
/* Frees the bytes and empties self; harmless twice. */
void kh_bench_bytes_free (kh_bench_bytes_t *self);

/* ------------------------------------------------------------------ HTTP */
/* One answer as it is read: status line and headers, then the body, decoded from
   chunks if it came chunked. */
typedef struct {
    int              state;             /* where the reading stands (kh_bench_web_http.c) */
    unsigned         status;            /* 200, ...; 0 until the headers are in */
    bool             chunked;
    uint64_t         left;              /* bytes of the body or the chunk to come */
    kh_bench_bytes_t head;              /* status line and headers, as they came */
    kh_bench_bytes_t body;              /* the body so far */
} kh_bench_resp_t;

/* A keep-alive connection to the web node, from a loopback address of its own
   (each "browser" has one, as browsers on other machines would: the node limits
   connections per address). */
typedef struct {
    int              fd;                /* -1: closed */
    kh_bench_bytes_t in;                /* bytes read but not yet parsed */
    kh_bench_resp_t  resp;              /* the answer being read */
    bool             gone;              /* the node closed the connection (or said it
                                           would: Connection: close) */
    char             source [20];       /* where it connects from ("": any) */
    uint16_t         port;              /*   and to */
    uint32_t         opened;            /* connections made: 1 while keep-alive holds */
} kh_bench_http_t;

/* Connects to 127.0.0.1:port from source (an IPv4 loopback address; NULL: any),
   blocking; self must be closed (or zeroed with fd -1). Returns 0, or -1 (errno
   says why) with self closed. */
int kh_bench_http_open (kh_bench_http_t *self, const char *source, uint16_t port);
/* Closes the connection and frees what it holds; harmless twice. */
void kh_bench_http_close (kh_bench_http_t *self);
/* Makes the connection's socket non-blocking (for kh_bench_http_pump). */
int kh_bench_http_nonblocking (kh_bench_http_t *self);

/* Sends a request: method and path (with its query), a Cookie header if cookie,
   extra header lines (each ending "\r\n"; NULL: none), a form body if form (POST,
   application/x-www-form-urlencoded). The answer before it must have been read.
   Writes it whole, waiting for room on a non-blocking socket. Returns 0, or -1. */
int kh_bench_http_send (kh_bench_http_t *self, const char *method, const char *path,
                        const char *cookie, const char *extra, const char *form);

/* Reads what the socket has now (without waiting if it is non-blocking) and parses
   it. Returns 1 once the answer is complete, 0 if more is to come (a stream's body
   grows in self->resp.body), -1 if the connection failed or closed early. */
int kh_bench_http_pump (kh_bench_http_t *self);

/* Waits up to timeout_ms for the whole answer to the request sent (blocking
   socket). Returns 0, or -1 if it failed, closed or took too long. */
int kh_bench_http_wait (kh_bench_http_t *self, int timeout_ms);

/* Forgets the answer read, to read the next one on the same connection. */
void kh_bench_http_next (kh_bench_http_t *self);

/* A GET of path with cookie, answered whole within timeout_ms, on a blocking
   connection; connects again first if the node closed it (as a browser does).
   Returns 0 (the answer in self->resp), or -1. */
int kh_bench_http_get (kh_bench_http_t *self, const char *path, const char *cookie,
                       int timeout_ms);

/* Copies the value of the first header name (any case) of resp into out (cap
   bytes). Returns 0, or -1 if there is none. With skip, the skip-th such header
   (0: the first), for Set-Cookie. */
int kh_bench_resp_header (const kh_bench_resp_t *resp, const char *name, int skip,
                          char *out, size_t cap);

/* Counts the times needle occurs in the body. */
size_t kh_bench_resp_count (const kh_bench_resp_t *resp, const char *needle);

/* ------------------------------------------------------------- the store */
/* What the fill wrote, as the checks need it. */
typedef struct {
    uint64_t items;                     /* items begun */
    uint64_t messages;                  /* messages stored, items included */
    double   secs;                      /* writing and indexing took */
} kh_bench_fill_t;

/* Writes items items and messages messages in all (items among them) into a new
   store at path through the recorder's store (kh_store_new, kh_store_append in
   batches: its state derived exactly as the recorder derives it, then the search
   index brought up to date): a mix of item types from the Kreis' real AGS keys,
   interests, status changes, revisions and comments on them, publication times
   spread from 2023 to last month. Deterministic but for nothing: the same counts
   give the same store. Returns 0 with *done filled, or -1 after saying why (a
   message the store refused is a failure: the generator keeps to the rules). */
int kh_bench_web_fill (const char *path, uint32_t items, uint32_t messages,
                       kh_bench_fill_t *done);

/* The senders the fill uses: the Kreis (index 0) and its eight members. */
#define KH_BENCH_WEB_SENDERS    9
const char *kh_bench_web_sender (int index);

/* ------------------------------------------------------------ live pages */
/* What one run of open item pages is given. */
typedef struct {
    const kh_bench_opts_t *opts;
    uint16_t    port;                   /* the web node's */
    const char *cookie;                 /* the session's "kh_session=..." */
    const char *client_ep;              /* the broker's, for the publisher */
    uint64_t    item_seq;               /* the item the pages show */
    const char *item_id;                /* its id, text */
    const char *item_owner;             /* its owner's AGS */
} kh_bench_live_t;

/* What the open pages saw. */
typedef struct {
    uint32_t clients, messages;         /* pages open; messages published */
    uint32_t acked;                     /* of them acknowledged by the hub */
    uint64_t events, events_expected;   /* (page, message) pairs whose event came */
    uint64_t shown, shown_expected;     /*   and that the page then showed */
    uint64_t fetches;                   /* pages fetched again, as live.js does */
    double   send_rate;                 /* msgs/s the publisher reached */
    double   ev_p50_us, ev_p99_us, ev_max_us;    /* publish -> event */
    double   sh_p50_us, sh_p99_us, sh_max_us;    /* publish -> entry on the page */
    double   fetch_p50_us, fetch_p99_us;         /* one fetch of the page */
    double   ack_p50_us, ack_p99_us;             /* publish -> ack: the hub's share */
    double   web_ev_p50_us, web_ev_p99_us;       /* ack -> event: the web node's share */
    double   web_sh_p50_us, web_sh_p99_us;       /* ack -> entry shown */
    bool     ok;                        /* every page got every message */
} kh_bench_live_result_t;

/* Opens opts->web_clients item pages as a browser does (the page, then its
   EventSource on /live?item=ID, then the fetch live.js makes on open), waits until
   every stream is subscribed, then publishes opts->web_events messages about the
   item at opts->web_rate msgs/s and follows each page as live.js does: on an event
   newer than the page shows, it fetches the page's entries after the last it shows
   (?after=LAST; one fetch at a time, one more if events came meanwhile) and takes
   them in. Fills result.
   Returns 0 if the run could be carried out (result->ok says whether every page
   got every message), -1 if it could not start. */
int kh_bench_web_live (const kh_bench_live_t *live, kh_bench_live_result_t *result);

/* Reads the seqs of the timeline entries (<li data-seq="N">) in body; returns the
   highest (0: none) and calls fn for each above after, if fn. */
uint64_t kh_bench_web_timeline (const char *body, uint64_t after,
                                void (*fn) (void *arg, uint64_t seq), void *arg);

#endif
