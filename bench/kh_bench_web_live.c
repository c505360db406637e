/*  kh_bench_web_live.c - the web bench's open item pages: each an EventSource on
    /live?item=ID and the fetches static/live.js makes, from a loopback address of
    its own, while the bench publishes messages about the item through the hub.

    The main thread opens the pages one after another (blocking sockets), then
    publishes; one reader thread owns every page's two sockets from then on (epoll)
    and writes only the pages' arrival times, which the main thread reads after
    joining it. They share the atomics of s_run_t and nothing else. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench_web.h"
#include "kh_codec.h"
#include "kreishub/kreishub.h"

#define S_OPEN_MS       10000           /* a page, a fetch or a stream's hello, within */
#define S_QUIET_MS      3000            /* the reader stops this long after the last news */
#define S_ACK_MS        10000           /* acks still awaited after the last publish */
#define S_EVENTS_MAX    64              /* epoll events at once */
#define S_EVENT_HEADERS "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"

/* One open item page: its fetches and its stream, what it shows, when news came. */
typedef struct {
    char             source [20];       /* its loopback address */
    kh_bench_http_t  page;              /* the page and live.js's fetches of it */
    kh_bench_http_t  stream;            /* the EventSource */
    uint64_t         last;              /* the highest seq its timeline shows */
    bool             busy, again;       /* live.js's merge (): a fetch out, one more asked */
    bool             failed;            /* a connection broke: the page is lost */
    uint64_t         fetch_at;          /* ns the fetch out was sent */
    uint64_t        *event_at;          /* [seq - head - 1]: ns its event came; 0: not */
    uint64_t        *shown_at;          /* [seq - head - 1]: ns the page first showed it */
    uint32_t         events, shown;     /* of the run's messages */
    uint64_t        *fetch_ns;          /* how long each fetch took */
    size_t           fetches, fetch_cap;
} s_page_t;

/* A run: the pages, the publisher's times, the reader's stop signs. */
typedef struct {
    const kh_bench_live_t *live;
    s_page_t     *pages;
    uint32_t      count;
    uint32_t      messages;
    uint64_t      head;                 /* the run's messages get head+1 .. */
    char          path [48];            /* /item/SEQ */
    char          live_path [96];       /* /live?item=ID */
    uint64_t     *sent_at;              /* [m]: ns message m was sent */
    uint64_t     *seq_of;               /* [m]: its seq from the ACK; 0: none */
    uint64_t     *acked_at;             /* [m]: ns its ACK came */
    int           ep;                   /* the reader's epoll */
    atomic_bool   published;            /* the publisher is through */
    atomic_bool   abort;
    uint64_t      deadline_ns;
    char          failure [KH_BENCH_FAILURE_MAX];   /* the reader's, read after join */
} s_run_t;

/* ------------------------------------------------------------- timelines */

uint64_t
kh_bench_web_timeline (const char *body, uint64_t after,
                       void (*fn) (void *arg, uint64_t seq), void *arg)
{
    static const char mark [] = "<li data-seq=\"";
    uint64_t highest = 0;
    for (const char *at = body ? strstr (body, mark) : NULL; at; at = strstr (at, mark)) {
        at += sizeof mark - 1;
        uint64_t seq = strtoull (at, NULL, 10);
        if (seq > highest)
            highest = seq;
        if (fn && seq > after)
            fn (arg, seq);
    }
    return highest;
}

/* The page's arrays for the run's seqs: the index of seq, or -1 if not the run's. */
static int64_t
s_slot (const s_run_t *run, uint64_t seq)
{
    return seq > run->head && seq <= run->head + run->messages
         ? (int64_t) (seq - run->head - 1) : -1;
}

/* What a page's fetch shows that is new: marks when each of the run's entries
   first appeared. */
typedef struct {
    s_run_t  *run;
    s_page_t *page;
    uint64_t  now;
} s_news_t;

static void
s_shown (void *arg, uint64_t seq)
{
    s_news_t *news = (s_news_t *) arg;
    int64_t slot = s_slot (news->run, seq);
    if (slot >= 0 && !news->page->shown_at [slot]) {
        news->page->shown_at [slot] = news->now;
        news->page->shown++;
    }
}

/* ------------------------------------------------------------- a page */

/* Connects the page's fetches again after the node closed the connection, as a
   browser does, and watches the new one. Returns 0, or -1. */
static int
s_reconnect (s_run_t *run, s_page_t *page)
{
    epoll_ctl (run->ep, EPOLL_CTL_DEL, page->page.fd, NULL);
    uint32_t opened = page->page.opened;
    kh_bench_http_close (&page->page);
    page->page.opened = opened;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) (page - run->pages) * 2 };
    return kh_bench_http_open (&page->page, page->source, run->live->port) == 0
        && kh_bench_http_nonblocking (&page->page) == 0
        && epoll_ctl (run->ep, EPOLL_CTL_ADD, page->page.fd, &ev) == 0 ? 0 : -1;
}

/* Sends live.js's fetch of the page's entries after the last it shows (the page
   with ?after=LAST). Returns 0, or -1. */
static int
s_fetch (s_run_t *run, s_page_t *page, uint64_t now)
{
    if (page->page.gone && s_reconnect (run, page))
        return -1;
    char path [sizeof run->path + 32];
    snprintf (path, sizeof path, "%s?after=%" PRIu64, run->path, page->last);
    kh_bench_http_next (&page->page);
    page->busy = true;
    page->fetch_at = now;
    return kh_bench_http_send (&page->page, "GET", path, run->live->cookie, NULL, NULL);
}

/* Takes a fetched page in: its new entries, then one more fetch if asked. Returns
   0, or -1 if the answer was not the page. */
static int
s_fetched (s_run_t *run, s_page_t *page, uint64_t now)
{
    char value [32];
    if (page->page.resp.status != 200)
        return -1;
    if (kh_bench_resp_header (&page->page.resp, "Connection", 0, value, sizeof value) == 0
    &&  strcasecmp (value, "close") == 0)
        page->page.gone = true;         /* the next fetch connects again */
    s_news_t news = { run, page, now };
    uint64_t highest = kh_bench_web_timeline (page->page.resp.body.data, page->last, s_shown,
                                              &news);
    if (highest > page->last)
        page->last = highest;
    if (page->fetches == page->fetch_cap) {
        size_t cap = page->fetch_cap ? 2 * page->fetch_cap : 256;
        uint64_t *grown = (uint64_t *) realloc (page->fetch_ns, cap * sizeof *grown);
        if (!grown)
            return -1;
        page->fetch_ns = grown;
        page->fetch_cap = cap;
    }
    page->fetch_ns [page->fetches++] = now - page->fetch_at;
    page->busy = false;
    if (page->again) {
        page->again = false;
        return s_fetch (run, page, now);
    }
    return 0;
}

/* Reads the stream's complete events: an event newer than the page shows asks
   for a fetch (live.js's 'record' listener). Returns 0, or -1. */
static int
s_events (s_run_t *run, s_page_t *page, uint64_t now)
{
    kh_bench_bytes_t *body = &page->stream.resp.body;
    char *end;
    while (body->size && (end = strstr (body->data, "\n\n"))) {
        *end = 0;
        const char *id = strstr (body->data, "id: ");
        bool record = strstr (body->data, "event: record") != NULL;
        uint64_t seq = id && record ? strtoull (id + 4, NULL, 10) : 0;
        kh_bench_bytes_drop (body, (size_t) (end - body->data) + 2);
        int64_t slot = seq ? s_slot (run, seq) : -1;
        if (slot >= 0 && !page->event_at [slot]) {
            page->event_at [slot] = now;
            page->events++;
        }
        if (seq > page->last) {
            if (page->busy)
                page->again = true;
            else
            if (s_fetch (run, page, now))
                return -1;
        }
    }
    return 0;
}

/* Handles one readable socket of page (stream or fetch). Returns 0, or -1 if the
   page is lost. */
static int
s_readable (s_run_t *run, s_page_t *page, bool stream)
{
    kh_bench_http_t *conn = stream ? &page->stream : &page->page;
    if (!stream && !page->busy) {
        /* Between fetches the connection is idle: readable then means the node
           closed it, and the next fetch connects again. Bytes would be a bug. */
        char byte;
        ssize_t n = recv (conn->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0)
            return -1;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            conn->gone = true;
            epoll_ctl (run->ep, EPOLL_CTL_DEL, conn->fd, NULL);
        }
        return 0;
    }
    int rc = kh_bench_http_pump (conn);
    uint64_t now = kh_bench_now_ns ();
    if (stream)
        return rc < 0 || rc == 1 ? -1 : s_events (run, page, now);
    return rc < 0 ? -1 : rc == 1 ? s_fetched (run, page, now) : 0;
}

/* ------------------------------------------------------------- the reader */

/* True once every page has every message's event and shows every message (a page
   may show an entry before its own event came: its fetch for an earlier one found
   it already stored). */
static bool
s_complete (const s_run_t *run)
{
    for (uint32_t i = 0; i < run->count; i++) {
        const s_page_t *page = &run->pages [i];
        if (!page->failed && (page->shown < run->messages || page->events < run->messages))
            return false;
    }
    return true;
}

/* Progress so far, to see when news stopped coming: events plus entries shown. */
static uint64_t
s_progress (const s_run_t *run)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < run->count; i++)
        sum += run->pages [i].events + run->pages [i].shown + run->pages [i].fetches;
    return sum;
}

static void *
s_reader (void *arg)
{
    s_run_t *run = (s_run_t *) arg;
    int ep = run->ep = epoll_create1 (EPOLL_CLOEXEC);
    for (uint32_t i = 0; ep >= 0 && i < run->count; i++)
        for (int which = 0; which < 2; which++) {
            s_page_t *page = &run->pages [i];
            struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) i * 2 + (uint64_t) which };
            if (epoll_ctl (ep, EPOLL_CTL_ADD, which ? page->stream.fd : page->page.fd, &ev))
                snprintf (run->failure, sizeof run->failure, "epoll_ctl failed");
        }
    uint64_t seen = 0, last = kh_bench_now_ns ();
    while (ep >= 0 && !run->failure [0] && !atomic_load (&run->abort) && !zsys_interrupted
       &&  !s_complete (run)) {
        struct epoll_event events [S_EVENTS_MAX];
        int ready = epoll_wait (ep, events, S_EVENTS_MAX, 50);
        for (int i = 0; i < ready; i++) {
            s_page_t *page = &run->pages [events [i].data.u64 / 2];
            if (!page->failed && s_readable (run, page, events [i].data.u64 % 2 == 1)) {
                page->failed = true;
                epoll_ctl (ep, EPOLL_CTL_DEL, page->page.fd, NULL);
                epoll_ctl (ep, EPOLL_CTL_DEL, page->stream.fd, NULL);
            }
        }
        uint64_t now = kh_bench_now_ns (), progress = s_progress (run);
        if (progress != seen) {
            seen = progress;
            last = now;
        }
        if ((atomic_load (&run->published) && now - last > (uint64_t) S_QUIET_MS * 1000000u)
        ||  now > run->deadline_ns)
            break;
    }
    if (ep >= 0)
        close (ep);
    return NULL;
}

/* ------------------------------------------------------------- opening */

/* Waits until the page's stream has said hello (its first event block), which the
   node queues once the stream is in its fan-out. Returns 0, or -1. */
static int
s_hello (s_page_t *page)
{
    uint64_t until = kh_bench_now_ns () + (uint64_t) S_OPEN_MS * 1000000u;
    if (kh_bench_http_nonblocking (&page->stream))
        return -1;
    for (;;) {
        int rc = kh_bench_http_pump (&page->stream);
        const char *body = page->stream.resp.body.data;
        if (rc == 0 && page->stream.resp.status == 200 && body && strstr (body, "\n\n"))
            return 0;
        if (rc != 0 || (page->stream.resp.status && page->stream.resp.status != 200)
        ||  kh_bench_now_ns () > until)
            return -1;
        kh_bench_sleep_ms (1);
    }
}

/* Opens page i as a browser does: the page, its EventSource (until the stream's
   hello says it is subscribed), then the fetch live.js makes on 'open'. Returns 0,
   or -1 after writing why into run->failure. */
static int
s_open (s_run_t *run, uint32_t i)
{
    s_page_t *page = &run->pages [i];
    const kh_bench_live_t *live = run->live;
    snprintf (page->source, sizeof page->source, "127.0.%u.%u", 1 + i / 250, 1 + i % 250);
    page->page.fd = page->stream.fd = -1;
    const char *step = "open the page";
    int rc = kh_bench_http_open (&page->page, page->source, live->port) == 0
          && kh_bench_http_get (&page->page, run->path, live->cookie, S_OPEN_MS) == 0
          && page->page.resp.status == 200 ? 0 : -1;
    if (rc == 0) {
        page->last = kh_bench_web_timeline (page->page.resp.body.data, 0, NULL, NULL);
        step = "open its stream";
        rc = kh_bench_http_open (&page->stream, page->source, live->port) == 0
          && kh_bench_http_send (&page->stream, "GET", run->live_path, live->cookie,
                                 S_EVENT_HEADERS, NULL) == 0 ? 0 : -1;
    }
    if (rc == 0)
        rc = s_hello (page);
    char newer [sizeof run->path + 32];
    snprintf (newer, sizeof newer, "%s?after=%" PRIu64, run->path, page->last);
    if (rc == 0) {
        kh_bench_bytes_drop (&page->stream.resp.body, page->stream.resp.body.size);
        step = "fetch it on open";
        rc = kh_bench_http_get (&page->page, newer, live->cookie, S_OPEN_MS) == 0
          && page->page.resp.status == 200 && kh_bench_http_nonblocking (&page->page) == 0
           ? 0 : -1;
    }
    if (rc)
        snprintf (run->failure, sizeof run->failure, "page %u (%s) could not %s (HTTP %u)",
                  i, page->source, step, page->page.resp.status);
    return rc;
}

/* ------------------------------------------------------------- publishing */

/* Builds message m about the item: a comment, every fourth an interest. Returns
   0 with the envelope in out, or -1. */
static int
s_envelope (const s_run_t *run, const kh_bench_ids_t *ids, uint32_t m, msgpack_sbuffer *out)
{
    const kh_bench_live_t *live = run->live;
    bool interest = m % 4 == 3;
    kh_builder_t *builder = kh_builder_new (interest ? "interest" : "comment");
    int from = 1 + (int) (m % (KH_BENCH_WEB_SENDERS - 1));
    if (streq (kh_bench_web_sender (from), live->item_owner))
        from = 1 + from % (KH_BENCH_WEB_SENDERS - 1);
    char text [96];
    snprintf (text, sizeof text, "Live-Kommentar %u aus dem Bench.", m + 1);
    uint8_t id [KH_ID_SIZE];
    kh_bench_id_make (ids, 0, m, id);
    kh_problem_t why = { 0 };
    int rc = builder
          && kh_builder_set (builder, "ref", live->item_id, &why) == 0
          && kh_builder_set (builder, interest ? "action" : "text",
                             interest ? (m % 8 == 3 ? "interested" : "join") : text, &why) == 0
          && kh_builder_pack (builder, id, kh_bench_web_sender (from), kh_now_ms (), out,
                              &why) == 0 ? 0 : -1;
    kh_builder_destroy (&builder);
    if (rc)
        fprintf (stderr, "kreishub-bench: web: cannot build live message %u: %s\n", m,
                 why.reason);
    return rc;
}

/* Takes the replies waiting (up to timeout_ms for the first): each ACK's seq into
   run->seq_of. Returns how many came. */
static uint32_t
s_replies (s_run_t *run, kh_client_t *client, const kh_bench_ids_t *ids, int timeout_ms)
{
    uint32_t got = 0;
    kh_reply_t reply;
    while (kh_client_recv_reply (client, timeout_ms, &reply) == 0) {
        int pub;
        uint32_t m;
        if (reply.kind == KH_REPLY_ACK && kh_bench_id_parse (ids, reply.id, &pub, &m) == 0
        &&  m < run->messages && !run->seq_of [m]) {
            run->seq_of [m] = reply.seq;
            run->acked_at [m] = kh_bench_now_ns ();
            got++;
        }
        else
        if (reply.kind == KH_REPLY_ERROR)
            fprintf (stderr, "kreishub-bench: web: a live message was refused: %s\n",
                     reply.error.reason);
        timeout_ms = 0;
    }
    return got;
}

/* Publishes the run's messages at opts->web_rate, each sent at its time, and takes
   the acks meanwhile. Returns how many were acked. */
static uint32_t
s_publish (s_run_t *run, kh_client_t *client, msgpack_sbuffer *envelopes,
           const kh_bench_ids_t *ids)
{
    uint64_t interval = 1000000000u / run->live->opts->web_rate, t0 = kh_bench_now_ns ();
    uint32_t acked = 0;
    for (uint32_t m = 0; m < run->messages && !zsys_interrupted; m++) {
        uint64_t due = t0 + m * interval, now;
        while ((now = kh_bench_now_ns ()) < due) {
            uint64_t wait_ms = (due - now) / 1000000u;
            acked += s_replies (run, client, ids, wait_ms > 50 ? 50 : (int) wait_ms);
        }
        run->sent_at [m] = kh_bench_now_ns ();
        if (kh_client_send (client, envelopes [m].data, envelopes [m].size))
            run->sent_at [m] = 0;
    }
    uint64_t until = kh_bench_now_ns () + (uint64_t) S_ACK_MS * 1000000u;
    while (acked < run->messages && kh_bench_now_ns () < until && !zsys_interrupted)
        acked += s_replies (run, client, ids, 100);
    return acked;
}

/* ------------------------------------------------------------- the figures */

/* Puts the latencies (ns) of every (page, message) pair from from [m] (when it
   was sent, or acked) to when it came to the page (its event, or shown if shown)
   into lat and sets *p50, *p99 and *max (us). */
static void
s_latencies (const s_run_t *run, const uint64_t *from, bool shown, uint64_t *lat,
             double *p50, double *p99, double *max)
{
    size_t count = 0;
    for (uint32_t i = 0; i < run->count; i++)
        for (uint32_t m = 0; m < run->messages; m++) {
            int64_t slot = run->seq_of [m] ? s_slot (run, run->seq_of [m]) : -1;
            const uint64_t *at = shown ? run->pages [i].shown_at : run->pages [i].event_at;
            if (slot >= 0 && at [slot] && from [m])
                lat [count++] = at [slot] > from [m] ? at [slot] - from [m] : 0;
        }
    kh_bench_p50_p99 (lat, count, p50, p99);
    *max = count ? (double) lat [count - 1] / 1000.0 : 0;
}

/* Fills result from the run. */
static void
s_tally (const s_run_t *run, kh_bench_live_result_t *result)
{
    size_t pairs = (size_t) run->count * run->messages, fetches = 0;
    for (uint32_t i = 0; i < run->count; i++) {
        result->events += run->pages [i].events;
        result->shown += run->pages [i].shown;
        fetches += run->pages [i].fetches;
    }
    result->fetches = fetches;
    result->events_expected = result->shown_expected = pairs;
    uint64_t *lat = (uint64_t *) calloc ((pairs > fetches ? pairs : fetches) + 1, sizeof *lat);
    if (!lat)
        return;
    double max;
    s_latencies (run, run->sent_at, false, lat, &result->ev_p50_us, &result->ev_p99_us,
                 &result->ev_max_us);
    s_latencies (run, run->sent_at, true, lat, &result->sh_p50_us, &result->sh_p99_us,
                 &result->sh_max_us);
    s_latencies (run, run->acked_at, false, lat, &result->web_ev_p50_us,
                 &result->web_ev_p99_us, &max);
    s_latencies (run, run->acked_at, true, lat, &result->web_sh_p50_us,
                 &result->web_sh_p99_us, &max);
    size_t n = 0;
    for (uint32_t i = 0; i < run->count; i++)
        for (size_t f = 0; f < run->pages [i].fetches; f++)
            lat [n++] = run->pages [i].fetch_ns [f];
    kh_bench_p50_p99 (lat, n, &result->fetch_p50_us, &result->fetch_p99_us);
    n = 0;
    for (uint32_t m = 0; m < run->messages; m++)
        if (run->acked_at [m] && run->sent_at [m])
            lat [n++] = run->acked_at [m] - run->sent_at [m];
    kh_bench_p50_p99 (lat, n, &result->ack_p50_us, &result->ack_p99_us);
    free (lat);
    uint64_t first = run->sent_at [0], last = run->sent_at [run->messages - 1];
    result->send_rate = run->messages > 1 && first && last > first
                      ? (double) (run->messages - 1) * 1e9 / (double) (last - first) : 0;
    result->ok = result->acked == run->messages && result->events == pairs
              && result->shown == pairs;
}

/* ------------------------------------------------------------- the run */

/* Allocates the run's pages and arrays. Returns 0, or -1. */
static int
s_prepare (s_run_t *run, const kh_bench_live_t *live)
{
    run->live = live;
    run->count = live->opts->web_clients;
    run->messages = live->opts->web_events;
    snprintf (run->path, sizeof run->path, "/item/%" PRIu64, live->item_seq);
    snprintf (run->live_path, sizeof run->live_path, "/live?item=%s", live->item_id);
    atomic_init (&run->published, false);
    atomic_init (&run->abort, false);
    run->pages = (s_page_t *) calloc (run->count, sizeof *run->pages);
    run->sent_at = (uint64_t *) calloc (run->messages, sizeof (uint64_t));
    run->seq_of = (uint64_t *) calloc (run->messages, sizeof (uint64_t));
    run->acked_at = (uint64_t *) calloc (run->messages, sizeof (uint64_t));
    if (!run->pages || !run->sent_at || !run->seq_of || !run->acked_at)
        return -1;
    for (uint32_t i = 0; i < run->count; i++) {
        s_page_t *page = &run->pages [i];
        page->page.fd = page->stream.fd = -1;
        page->event_at = (uint64_t *) calloc (run->messages, sizeof (uint64_t));
        page->shown_at = (uint64_t *) calloc (run->messages, sizeof (uint64_t));
        if (!page->event_at || !page->shown_at)
            return -1;
    }
    return 0;
}

/* Closes every page and frees the run. */
static void
s_release (s_run_t *run)
{
    for (uint32_t i = 0; run->pages && i < run->count; i++) {
        kh_bench_http_close (&run->pages [i].page);
        kh_bench_http_close (&run->pages [i].stream);
        free (run->pages [i].event_at);
        free (run->pages [i].shown_at);
        free (run->pages [i].fetch_ns);
    }
    free (run->pages);
    free (run->sent_at);
    free (run->seq_of);
    free (run->acked_at);
}

/* Builds the run's envelopes into envelopes (run->messages of them, initialised).
   Returns 0, or -1. */
static int
s_envelopes (const s_run_t *run, const kh_bench_ids_t *ids, msgpack_sbuffer *envelopes)
{
    for (uint32_t m = 0; m < run->messages; m++)
        if (s_envelope (run, ids, m, &envelopes [m]))
            return -1;
    return 0;
}

/* Opens the pages, starts the reader, publishes, waits for the reader. Returns 0
   if the run was carried out, -1 if not. */
static int
s_execute (s_run_t *run, kh_client_t *client, kh_bench_live_result_t *result)
{
    kh_bench_ids_t ids;
    kh_bench_ids_init (&ids);
    msgpack_sbuffer *envelopes = (msgpack_sbuffer *) calloc (run->messages, sizeof *envelopes);
    for (uint32_t m = 0; envelopes && m < run->messages; m++)
        msgpack_sbuffer_init (&envelopes [m]);
    int rc = envelopes && s_envelopes (run, &ids, envelopes) == 0 ? 0 : -1;
    if (rc == 0)
        rc = kh_client_ping (client, 5000, &run->head, NULL) == 0 ? 0 : -1;
    if (rc && !run->failure [0])
        snprintf (run->failure, sizeof run->failure, "the broker did not answer a ping");
    for (uint32_t i = 0; rc == 0 && i < run->count; i++)
        rc = s_open (run, i);
    pthread_t reader;
    run->deadline_ns = kh_bench_now_ns () + (uint64_t) run->live->opts->timeout_s * 1000000000u;
    if (rc == 0 && pthread_create (&reader, NULL, s_reader, run) != 0)
        rc = -1;
    if (rc == 0) {
        printf ("  %u pages open and subscribed; publishing %u messages about the item at "
                "%u msgs/s\n", run->count, run->messages, run->live->opts->web_rate);
        result->acked = s_publish (run, client, envelopes, &ids);
        atomic_store (&run->published, true);
        pthread_join (reader, NULL);
        s_tally (run, result);
    }
    for (uint32_t m = 0; envelopes && m < run->messages; m++)
        msgpack_sbuffer_destroy (&envelopes [m]);
    free (envelopes);
    return rc;
}

int
kh_bench_web_live (const kh_bench_live_t *live, kh_bench_live_result_t *result)
{
    s_run_t run = { NULL };
    *result = (kh_bench_live_result_t) { .clients = live->opts->web_clients,
                                         .messages = live->opts->web_events };
    kh_client_t *client = kh_client_new (live->client_ep);
    int rc = client && s_prepare (&run, live) == 0 ? 0 : -1;
    if (rc)
        snprintf (run.failure, sizeof run.failure, "out of memory, or no client");
    else
        rc = s_execute (&run, client, result);
    if (run.failure [0])
        fprintf (stderr, "kreishub-bench: web live: %s\n", run.failure);
    for (uint32_t i = 0; run.pages && i < run.count; i++)
        if (run.pages [i].failed)
            fprintf (stderr, "kreishub-bench: web live: page %u (%s) lost its connection\n",
                     i, run.pages [i].source);
    kh_client_destroy (&client);
    s_release (&run);
    return rc;
}
