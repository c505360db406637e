/*  it_web.c - kreishub-web against the real hub: pages over HTTP from a socket of our own, filters, a timeline, hostile titles, bad requests, many idle connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kh_harness.h"
#include "kh_proc.h"
#include "kh_ready.h"

#define S_OUT_MAX       (2 * 1024 * 1024)
#define S_SCRIPT        "<script>alert(1)</script>"
#define S_IMG           "\"><img src=x onerror=alert(1)>"

typedef struct {
    kh_hub_t   hub;
    kh_proc_t *web;
    uint16_t   port;
    char       out [S_OUT_MAX];         /* the last answer, headers and body */
    char       cmd [S_OUT_MAX / 64];    /* a command's output */
} s_test_t;

/* Connects a TCP socket from the loopback address src (NULL: any) to the web
   node. Returns it, or -1. */
static int
s_connect (s_test_t *t, const char *src)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (t->port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd >= 0 && src) {
        struct sockaddr_in from = { .sin_family = AF_INET };
        inet_pton (AF_INET, src, &from.sin_addr);
        if (bind (fd, (struct sockaddr *) &from, sizeof from)) {
            close (fd);
            return -1;
        }
    }
    if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa)) {
        close (fd);
        return -1;
    }
    return fd;
}

/* Sends size bytes of request from src and reads the answer into t->out until
   the server closes (or 10 s pass). Returns the status code, or 0 if none came. */
static int
s_http_from (s_test_t *t, const char *src, const char *request, size_t size)
{
    t->out [0] = 0;
    int fd = s_connect (t, src);
    if (fd < 0)
        return 0;
    for (size_t sent = 0; sent < size; ) {
        ssize_t n = send (fd, request + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;                      /* the server may answer before it reads all */
        sent += (size_t) n;
    }
    size_t got = 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (got + 1 < sizeof t->out && poll (&p, 1, 10000) == 1) {
        ssize_t n = recv (fd, t->out + got, sizeof t->out - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    t->out [got] = 0;
    close (fd);
    int status = 0;
    sscanf (t->out, "HTTP/1.%*d %d", &status);
    return status;
}

/* GET path; returns the status. */
static int
s_get (s_test_t *t, const char *path)
{
    char request [1024];
    int n = snprintf (request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n", path);
    return s_http_from (t, NULL, request, (size_t) n);
}

/* GETs path until the answer holds needle: the search index follows the log
   once the recorder has had no publish for 100 ms. Returns the last status. */
static int
s_get_until (s_test_t *t, const char *path, const char *needle)
{
    int64_t until = zclock_mono () + 10000;
    int status = s_get (t, path);
    while (!strstr (t->out, needle) && zclock_mono () < until) {
        zclock_sleep (20);
        status = s_get (t, path);
    }
    return status;
}

/* Opens the catalogue page list (until it holds needle), then the page of its
   first item. Returns that page's status (0 if the list has no item). */
static int
s_first_item (s_test_t *t, const char *list, const char *needle)
{
    s_get_until (t, list, needle);
    unsigned seq = 0;
    char *row = strstr (t->out, "<tr data-seq=\"");
    if (!row || sscanf (row, "<tr data-seq=\"%u\"", &seq) != 1)
        return 0;
    char path [64];
    snprintf (path, sizeof path, "/item/%u", seq);
    return s_get (t, path);
}

/* How often needle occurs in t->out. */
static int
s_count (s_test_t *t, const char *needle)
{
    int n = 0;
    for (const char *p = t->out; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

/* Starts kreishub-web on a free port, reading the hub's store, in development
   mode (everyone is admin). Returns 0 once it said READY. */
static int
s_start_web (s_test_t *t)
{
    char bin [512], db [512], err [512], url [256];
    snprintf (bin, sizeof bin, "%s/kreishub-web", getenv ("KH_BIN_DIR"));
    snprintf (db, sizeof db, "%s/kreishub.db", t->hub.dir);
    snprintf (err, sizeof err, "%s/kreishub-web.err", t->hub.dir);
    const char *argv [] = { bin, "--listen", "127.0.0.1:0", "--db", db, "--client",
                            t->hub.client, "--live", t->hub.live, "--certs", t->hub.certs,
                            "--insecure-dev", NULL };
    kh_proc_opts_t opts = { .name = "kreishub-web", .err_path = err };
    t->web = kh_proc_new (argv, &opts);
    if (!t->web || kh_proc_await_ready (t->web, 20000, -1)
    ||  kh_ready_get (kh_proc_ready (t->web), "url", url, sizeof url)) {
        printf ("FAIL kreishub-web did not start: %s\n", t->web ? kh_proc_why (t->web) : "");
        return -1;
    }
    unsigned port = 0;
    sscanf (url, "http://127.0.0.1:%u/", &port);
    t->port = (uint16_t) port;
    return port ? 0 : -1;
}

/* Publishes the demo and two items with hostile titles. Returns 0 or -1. */
static int
s_data (s_test_t *t)
{
    int rc = kh_hub_run_as (&t->hub, "admin", t->cmd, sizeof t->cmd,
                            "kreishub demo --certs '%s' 2>&1", t->hub.certs);
    KH_CHECK ("the demo is published", rc == 0, "rc %d: %s", rc, t->cmd);
    rc = kh_hub_run_as (&t->hub, "05162004", t->cmd, sizeof t->cmd, "kreishub publish offer "
                        "--from 05162004 --title '" S_SCRIPT "' --hf 3 --description '"
                        S_IMG "' 2>&1");
    KH_CHECK ("a title with a script tag is published", rc == 0, "rc %d: %s", rc, t->cmd);
    int rc2 = kh_hub_run_as (&t->hub, "05162008", t->cmd, sizeof t->cmd, "kreishub publish "
                             "idea --from 05162008 --title '" S_IMG "' --hf 3 2>&1");
    KH_CHECK ("a title that breaks an attribute is published", rc2 == 0, "rc %d: %s", rc2,
              t->cmd);
    return rc || rc2 ? -1 : 0;
}

/* The catalogue and its filters: each narrows the list to what it says. */
static void
test_catalogue (s_test_t *t)
{
    KH_CHECK ("the catalogue is served", s_get (t, "/") == 200, "%.200s", t->out);
    int all = s_count (t, "<tr data-seq=");
    KH_CHECK ("it lists the demo's items and ours", all >= 14, "%d rows", all);
    KH_CHECK ("names stand next to an AGS", strstr (t->out, "<span class=\"ags\">05162004"
              "</span> <span class=\"name\">Dormagen</span>"), "no name");
    s_get (t, "/?type=announcement");
    int ann = s_count (t, "<tr data-seq=");
    KH_CHECK ("type narrows the list to announcements", ann > 0 && ann < all
              && s_count (t, "<td>Mitteilung</td>") == ann, "%d of %d", ann, all);
    s_get (t, "/?from=05162020");
    int from = s_count (t, "<tr data-seq=");
    KH_CHECK ("from narrows it to one owner", from > 0 && from < all
              && s_count (t, "<span class=\"name\">Korschenbroich</span></td>") == from,
              "%d of %d", from, all);
    s_get (t, "/?from=Korschenbroich");
    KH_CHECK ("a name is taken for the AGS", s_count (t, "<tr data-seq=") == from, "differs");
    s_get_until (t, "/?q=Zwilling", "Digitaler Zwilling");
    KH_CHECK ("a full-text search finds the digital twin",
              s_count (t, "<tr data-seq=") >= 1 && strstr (t->out, "Digitaler Zwilling"),
              "%d rows", s_count (t, "<tr data-seq="));
    s_get (t, "/?status=decided");
    int decided = s_count (t, "<tr data-seq=");
    KH_CHECK ("status narrows it", decided >= 1 && decided < all
              && s_count (t, "<td>beschlossen</td>") == decided, "%d", decided);
    s_get (t, "/?hf=3&type=offer&type=idea");
    KH_CHECK ("hf and two types together narrow it to ours and the like",
              s_count (t, "<tr data-seq=") >= 2 && s_count (t, "<tr data-seq=") < all,
              "%d", s_count (t, "<tr data-seq="));
    s_get (t, "/?participant=05162028");
    int part = s_count (t, "<tr data-seq=");
    KH_CHECK ("participant narrows it", part >= 1 && part < all, "%d", part);
    KH_CHECK ("a type that is none is 400", s_get (t, "/?type=ida") == 400, "%.100s", t->out);
    KH_CHECK ("hf 9 is 400", s_get (t, "/?hf=9") == 400, "%.100s", t->out);
}

/* The catalogue pages with before = next. */
static void
test_paging (s_test_t *t)
{
    s_get (t, "/");
    char *next = strstr (t->out, "rel=\"next\"");
    KH_CHECK ("a catalogue of fewer than 50 items has no next page", !next, "has one");
}

/* The item page: facts, participants, the timeline. */
static void
test_item (s_test_t *t)
{
    int status = s_first_item (t, "/?q=Zwilling&type=idea", "Digitaler Zwilling");
    KH_CHECK ("the twin's page is served", status == 200, "%d: %.200s", status, t->out);
    KH_CHECK ("it has a timeline the live script can append to",
              strstr (t->out, "<ol class=\"timeline\" id=\"timeline\" data-item=\""), "none");
    int entries = s_count (t, "<li data-seq=");
    KH_CHECK ("the timeline holds its history", entries >= 10, "%d entries", entries);
    KH_CHECK ("it tells who joined, by name", strstr (t->out, "<span class=\"name\">Dormagen"
              "</span></span> <span class=\"what\">beteiligt sich"), "no join");
    KH_CHECK ("and the status changes", strstr (t->out, "Status: beschlossen"), "none");
    KH_CHECK ("participants with their state", strstr (t->out, "<td>beteiligt</td>"), "none");
    KH_CHECK ("an item that is none is 404", s_get (t, "/item/99999") == 404, "%.100s", t->out);
    KH_CHECK ("an item id that is no number is 404", s_get (t, "/item/abc") == 404,
              "%.100s", t->out);
}

/* Hostile titles come back as text, everywhere they are shown. */
static void
test_hostile (s_test_t *t)
{
    const char *pages [] = { "/", "/?hf=3", "/log", "/log?q=alert" };
    for (size_t i = 0; i < sizeof pages / sizeof pages [0]; i++) {
        s_get_until (t, pages [i], "alert(1)");
        KH_CHECK ("a script title is escaped", strstr (t->out, "&lt;script&gt;alert(1)&lt;/"
                  "script&gt;") && !strstr (t->out, S_SCRIPT), "page %s", pages [i]);
        KH_CHECK ("an attribute-breaking title is escaped", strstr (t->out, "&quot;&gt;&lt;"
                  "img src=x onerror=alert(1)&gt;") && !strstr (t->out, "<img"), "page %s",
                  pages [i]);
    }
    s_first_item (t, "/?hf=3&type=offer", "alert(1)");
    KH_CHECK ("on its item page, title and description are escaped",
              strstr (t->out, "<title>&lt;script&gt;") && strstr (t->out, "<h1>&lt;script&gt;")
              && strstr (t->out, "<dd>&quot;&gt;&lt;img") && !strstr (t->out, S_SCRIPT)
              && !strstr (t->out, "<img"), "%.300s", t->out);
    KH_CHECK ("every answer has the CSP", strstr (t->out, "Content-Security-Policy: "
              "default-src 'self'; script-src 'self'"), "none");
    s_get (t, "/?q=%3Cscript%3E");
    KH_CHECK ("a search echoed in the form is escaped", strstr (t->out, "value=\"&lt;script"
              "&gt;\"") && !strstr (t->out, "<script>"), "not escaped");
}

/* The log, its exports, the statistics, the audit. */
static void
test_admin_pages (s_test_t *t)
{
    KH_CHECK ("the log is served", s_get (t, "/log?type=comment") == 200, "%.100s", t->out);
    int rows = s_count (t, "<tr data-seq=");
    KH_CHECK ("its filter selects comments only", rows > 0
              && s_count (t, "<td>Kommentar</td>") == rows, "%d rows", rows);
    KH_CHECK ("each row's body is expandable", s_count (t, "<details>") == rows, "differs");
    KH_CHECK ("the CSV export is served", s_get (t, "/log.csv?type=comment") == 200, "%.100s",
              t->out);
    char *body = strstr (t->out, "\r\n\r\n");
    KH_CHECK ("it is the spreadsheet kind: BOM, semicolons, CRLF", body
              && strncmp (body + 4, "\xef\xbb\xbf\"seq\";\"at\"", 13) == 0
              && strstr (body + 4, "\r\n"), "%.80s", body ? body + 4 : "");
    KH_CHECK ("it holds a line per comment", body && kh_hub_lines (body + 4) == rows + 1,
              "%d lines for %d rows", body ? kh_hub_lines (body + 4) : 0, rows);
    s_get (t, "/log.jsonl?type=comment");
    KH_CHECK ("the JSON Lines export too", s_count (t, "{\"seq\":") == rows, "%d",
              s_count (t, "{\"seq\":"));
    KH_CHECK ("the statistics are served", s_get (t, "/stats") == 200, "%.100s", t->out);
    KH_CHECK ("with three pairs of charts", s_count (t, "<svg") == 6, "%d",
              s_count (t, "<svg"));
    KH_CHECK ("by municipality, with names", strstr (t->out, "Dormagen (05162004)"), "none");
    KH_CHECK ("and the broker's counters", strstr (t->out, "<section id=\"counters\">")
              && strstr (t->out, "Recorder</dt><dd>verbunden"), "%s",
              strstr (t->out, "counters") ? strstr (t->out, "counters") : "none");
    KH_CHECK ("the audit is served", s_get (t, "/audit") == 200, "%.100s", t->out);
    KH_CHECK ("the stylesheet is served", s_get (t, "/static/app.css") == 200
              && strstr (t->out, "text/css"), "%.100s", t->out);
}

/* Bad requests get 4xx, and the node serves on. */
static void
test_bad_http (s_test_t *t)
{
    static char big [300 * 1024];
    int n = snprintf (big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset (big + n, 'a', 100 * 1024);
    n += 100 * 1024;
    n += snprintf (big + n, 64, "\r\nConnection: close\r\n\r\n");
    int status = s_http_from (t, NULL, big, (size_t) n);
    KH_CHECK ("a header of 100 KiB is 4xx", status >= 400 && status < 500, "status %d", status);
    n = snprintf (big, sizeof big, "GET /?q=");
    memset (big + n, 'a', 100 * 1024);
    n += 100 * 1024;
    n += snprintf (big + n, 64, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    status = s_http_from (t, NULL, big, (size_t) n);
    KH_CHECK ("a URL of 100 KiB is 4xx", status >= 400 && status < 500, "status %d", status);
    n = snprintf (big, sizeof big, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n"
                  "Connection: close\r\n\r\n");
    memset (big + n, 'a', 200000);
    status = s_http_from (t, NULL, big, (size_t) n + 200000);
    KH_CHECK ("a body of 200 KB is 4xx (405 on a GET page)", status == 405 || status == 413,
              "status %d", status);
    KH_CHECK ("a query string with a bad escape is 400", s_get (t, "/?q=%zz") == 400,
              "%.100s", t->out);
    KH_CHECK ("an escaped NUL is 400", s_get (t, "/item/%00") == 400, "%.100s", t->out);
    KH_CHECK ("non-UTF-8 is 400", s_get (t, "/?q=%ff") == 400, "%.100s", t->out);
    KH_CHECK ("an unknown path is 404", s_get (t, "/nirgends") == 404, "%.100s", t->out);
    const char bad [] = "NONSENSE\r\n\r\n";
    status = s_http_from (t, NULL, bad, sizeof bad - 1);
    KH_CHECK ("a request line that is none is 4xx or closed", status == 0
              || (status >= 400 && status < 500), "status %d", status);
    KH_CHECK ("the node serves after all that", s_get (t, "/") == 200, "%.100s", t->out);
}

/* 2000 idle connections do not keep the node from serving someone else: of the
   1100 from one address it keeps 64 and closes the rest; 900 more come from 15
   other addresses, 60 each (964 kept in all, under the limit of 1000, which once
   reached holds new connections back until one ends or times out after 30 s). */
static void
test_idle (s_test_t *t)
{
    struct rlimit limit;
    getrlimit (RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max < 4096 ? limit.rlim_max : 4096;
    setrlimit (RLIMIT_NOFILE, &limit);
    static int fds [2000];
    int opened = 0;
    for (int i = 0; i < 2000; i++) {
        char src [32];
        if (i < 1100)                   /* from one address, over its limit */
            snprintf (src, sizeof src, "127.0.0.1");
        else                            /* from 15 others, 60 each */
            snprintf (src, sizeof src, "127.0.1.%d", 1 + i % 15);
        fds [i] = s_connect (t, src);
        opened += fds [i] >= 0;
    }
    KH_CHECK ("2000 connections are opened", opened == 2000, "%d (raise ulimit -n)", opened);
    const char request [] = "GET /?type=idea HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int64_t start = zclock_mono ();
    int status = s_http_from (t, "127.0.0.200", request, sizeof request - 1);
    int64_t took = zclock_mono () - start;
    KH_CHECK ("someone else is served beside them", status == 200, "status %d", status);
    KH_CHECK ("within 2 s", took < 2000, "%lld ms", (long long) took);
    printf ("it_web: served beside 2000 idle connections in %lld ms\n", (long long) took);
    /* The 65th from one address is closed unanswered; the first ones stay. */
    char buf [16];
    struct pollfd p = { .fd = fds [1099], .events = POLLIN };
    int closed = poll (&p, 1, 2000) == 1 && recv (fds [1099], buf, sizeof buf, 0) <= 0;
    KH_CHECK ("a connection over the per-address limit is closed", closed, "still open");
    p.fd = fds [0];
    KH_CHECK ("one within it stays open", poll (&p, 1, 100) == 0, "closed");
    for (int i = 0; i < 2000; i++)
        if (fds [i] >= 0)
            close (fds [i]);
    KH_CHECK ("the node serves when they are gone", s_get (t, "/") == 200, "%.100s", t->out);
}

int
main (void)
{
    s_test_t *t = calloc (1, sizeof *t);
    if (!t || kh_hub_start (&t->hub, NULL, NULL)) {
        printf ("FAIL the hub did not start\n");
        return 1;
    }
    if (s_data (t) == 0 && s_start_web (t) == 0) {
        test_catalogue (t);
        test_paging (t);
        test_item (t);
        test_hostile (t);
        test_admin_pages (t);
        test_bad_http (t);
        test_idle (t);
        KH_CHECK ("the node is still running", kh_proc_running (t->web), "ended");
        kh_proc_signal (t->web, SIGTERM);
        int status = kh_proc_reap (t->web, 10000);
        KH_CHECK ("it stops cleanly on SIGTERM", status == 0, "status %d: %s", status,
                  kh_proc_why (t->web));
    }
    else
        KH_CHECK ("the web node starts", false, "see above");
    kh_proc_destroy (&t->web);
    bool keep = s_failed > 0;
    if (keep)
        printf ("it_web: kept %s\n", t->hub.dir);
    KH_CHECK ("the hub stops cleanly", kh_hub_stop (&t->hub, keep) == 0, "it did not");
    free (t);
    return kh_check_done ("it_web");
}
