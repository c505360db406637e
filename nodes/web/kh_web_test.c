/*  kh_web_test.c - the web core's units: escaping, query strings, paths, SVG charts, the route table, and answers over a real socket. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "kh_check.h"
#include "kh_web.h"
#include "kh_members.h"
#include "kh_web_html.h"
#include "kh_web_pages.h"
#include "kh_web_svg.h"

static char s_dir [64];

/* Escaping: & < > " ' become entities, everything else stays. */
static void
test_escape (void)
{
    kh_web_buf_t buf = { 0 };
    kh_web_html (&buf, "<script>alert(1)</script>");
    KH_CHECK ("a script tag is escaped", strcmp (buf.data,
              "&lt;script&gt;alert(1)&lt;/script&gt;") == 0, "got %s", buf.data);
    kh_web_buf_reset (&buf);
    kh_web_html (&buf, "\"><img src=x onerror=alert(1)>");
    KH_CHECK ("an attribute break is escaped", strcmp (buf.data,
              "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") == 0, "got %s", buf.data);
    kh_web_buf_reset (&buf);
    kh_web_html (&buf, "a & b's Ü");
    KH_CHECK ("ampersand and apostrophe are escaped, UTF-8 kept",
              strcmp (buf.data, "a &amp; b&#39;s Ü") == 0, "got %s", buf.data);
    kh_web_buf_reset (&buf);
    kh_web_html (&buf, NULL);
    KH_CHECK ("NULL writes nothing", buf.size == 0, "size %zu", buf.size);
    kh_web_url (&buf, "a b&c=ü/");
    KH_CHECK ("a query value is percent-encoded", strcmp (buf.data, "a%20b%26c%3D%C3%BC%2F")
              == 0, "got %s", buf.data);
    kh_web_buf_reset (&buf);
}

/* Query strings: decoded, repeated keys kept, bad ones refused whole. */
static void
test_params (void)
{
    kh_web_params_t p;
    const char *text = "type=idea&type=offer&q=E-Akte+%C3%BC&&open&hf=2";
    KH_CHECK ("a query string is parsed", kh_web_params_parse (&p, text, strlen (text)) == 0,
              "refused");
    KH_CHECK ("every pair is kept, the empty one skipped", p.count == 5, "count %zu", p.count);
    KH_CHECK ("the first of a repeated key is found",
              strcmp (kh_web_params_get (&p, "type"), "idea") == 0, "got %s",
              kh_web_params_get (&p, "type"));
    KH_CHECK ("plus and %XX are decoded", strcmp (kh_web_params_get (&p, "q"), "E-Akte ü")
              == 0, "got %s", kh_web_params_get (&p, "q"));
    KH_CHECK ("a key without = has the value \"\"", kh_web_params_get (&p, "open")
              && !kh_web_params_get (&p, "open") [0], "wrong");
    KH_CHECK ("an absent key is NULL", !kh_web_params_get (&p, "x"), "found");
    kh_web_params_reset (&p);
    const char *bad [] = { "a=%zz", "a=%4", "a=%", "a=%00b", "a=%C3", "a=%ff%fe" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        int rc = kh_web_params_parse (&p, bad [i], strlen (bad [i]));
        KH_CHECK ("a bad escape, a NUL or non-UTF-8 is refused", rc == -1 && p.count == 0,
                  "%s accepted", bad [i]);
    }
    char *big = malloc (KH_WEB_VALUE_MAX + 16);
    memset (big, 'x', KH_WEB_VALUE_MAX + 15);
    memcpy (big, "v=", 2);
    big [KH_WEB_VALUE_MAX + 2] = 0;
    KH_CHECK ("a value of the most bytes is taken",
              kh_web_params_parse (&p, big, strlen (big)) == 0, "refused");
    kh_web_params_reset (&p);
    big [KH_WEB_VALUE_MAX + 3] = 0;
    big [KH_WEB_VALUE_MAX + 2] = 'x';
    KH_CHECK ("a value of one byte more is refused",
              kh_web_params_parse (&p, big, strlen (big)) == -1, "taken");
    free (big);
    char many [KH_WEB_PARAMS_MAX * 4 + 8] = "";
    for (int i = 0; i <= KH_WEB_PARAMS_MAX; i++)
        strcat (many, "a=1&");
    KH_CHECK ("more pairs than allowed are refused",
              kh_web_params_parse (&p, many, strlen (many)) == -1, "taken");
    KH_CHECK ("an empty query string has no pairs",
              kh_web_params_parse (&p, "", 0) == 0 && p.count == 0, "wrong");
    kh_web_params_reset (&p);
}

/* Paths: decoded, and refused when bad or too long. */
static void
test_paths (void)
{
    char out [32];
    KH_CHECK ("a path is decoded", kh_web_path_decode ("/item/%33%39", 12, out, sizeof out)
              == 0 && strcmp (out, "/item/39") == 0, "got %s", out);
    KH_CHECK ("+ stays + in a path", kh_web_path_decode ("/a+b", 4, out, sizeof out) == 0
              && strcmp (out, "/a+b") == 0, "got %s", out);
    KH_CHECK ("a NUL in a path is refused", kh_web_path_decode ("/a%00", 5, out, sizeof out)
              == -1, "taken");
    KH_CHECK ("a path too long is refused",
              kh_web_path_decode ("/0123456789012345678901234567890123", 35, out,
                                  sizeof out) == -1, "taken");
}

/* SVG: one bar per value, scaled to the largest, labels escaped. */
static void
test_svg (void)
{
    kh_web_bar_t bars [] = { { "Dormagen", 10 }, { "<b>&", 5 }, { "Null", 0 } };
    kh_web_buf_t buf = { 0 };
    KH_CHECK ("a chart is drawn", kh_web_svg_bars (&buf, "Einträge \"x\"", bars, 3) == 0,
              "failed");
    KH_CHECK ("it is one svg element", strncmp (buf.data, "<svg", 4) == 0
              && strstr (buf.data, "</svg>") == buf.data + buf.size - 6, "got %s", buf.data);
    KH_CHECK ("the largest value has the full bar", strstr (buf.data, "width=\"330\""),
              "got %s", buf.data);
    KH_CHECK ("half of it has half the bar", strstr (buf.data, "width=\"165\""), "got %s",
              buf.data);
    KH_CHECK ("0 has no bar", strstr (buf.data, "width=\"0\""), "got %s", buf.data);
    KH_CHECK ("labels and the title are escaped", strstr (buf.data, "&lt;b&gt;&amp;")
              && strstr (buf.data, "Einträge &quot;x&quot;") && !strstr (buf.data, "<b>"),
              "got %s", buf.data);
    int rects = 0;
    for (const char *p = buf.data; (p = strstr (p, "<rect")); p++)
        rects++;
    KH_CHECK ("one bar per value", rects == 3, "%d bars", rects);
    kh_web_buf_reset (&buf);
    kh_web_svg_bars (&buf, "leer", NULL, 0);
    KH_CHECK ("no values say so", strstr (buf.data, "Keine Daten") && !strstr (buf.data,
              "<rect"), "got %s", buf.data);
    kh_web_buf_reset (&buf);
}

/* Handlers of the test's routes. */
static int
s_hello (kh_web_req_t *req)
{
    kh_web_puts (req, "hallo ");
    kh_web_html (kh_web_req_out (req), kh_web_req_query (req, "name"));
    return 0;
}

static int
s_rest (kh_web_req_t *req)
{
    kh_web_type (req, "text/plain; charset=utf-8");
    return kh_web_puts (req, kh_web_req_rest (req));
}

static int
s_post (kh_web_req_t *req)
{
    return kh_web_printf (req, "got %s", kh_web_req_form (req, "a") ? kh_web_req_form (req, "a")
                          : "-");
}

static int
s_moved (kh_web_req_t *req)
{
    return kh_web_redirect (req, "/?name=moved");  /* no body at all */
}

/* A stream as a live page's: an event, then a pause (its connection suspended)
   until the test resumes it, then events whenever there is room. */
static _Atomic (struct MHD_Connection *) s_paused;
static atomic_int s_stream_calls;
static atomic_bool s_stream_ended;

static ssize_t
s_events (void *arg, uint64_t pos, char *buf, size_t max)
{
    if (atomic_fetch_add (&s_stream_calls, 1) == 1) {
        MHD_suspend_connection ((struct MHD_Connection *) arg);
        atomic_store (&s_paused, (struct MHD_Connection *) arg);
        return 0;
    }
    const char event [] = "data: x\n\n";
    size_t n = max < sizeof event - 1 ? max : sizeof event - 1;
    memcpy (buf, event, n);
    return (ssize_t) n;
}

static void
s_stream_end (void *arg)
{
    atomic_store (&s_stream_ended, true);
}

static int
s_stream (kh_web_req_t *req)
{
    return kh_web_stream (req, "text/event-stream", s_events, kh_web_req_connection (req),
                          s_stream_end);
}

static const kh_web_route_t s_routes [] = {
    { KH_WEB_GET, "/moved", s_moved, false, false, false },
    { KH_WEB_GET, "/", s_hello, false, false, false },
    { KH_WEB_GET, "/item/", s_rest, false, false, false },
    { KH_WEB_POST, "/form", s_post, false, false, false },
    { KH_WEB_GET, "/admin", s_hello, true, true, false },
    { KH_WEB_GET, "/mine", s_hello, true, false, false },
    { KH_WEB_GET, "/open", s_hello, true, false, true },
    { KH_WEB_GET, "/stream", s_stream, false, false, false },
    { 0, NULL, NULL, false, false, false }
};

/* Sends request to the server on port and reads the whole answer into out. */
static void
s_http (uint16_t port, const char *request, size_t size, char *out, size_t cap)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    out [0] = 0;
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
        for (size_t sent = 0; sent < size; ) {
            ssize_t n = send (fd, request + sent, size - sent, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            sent += (size_t) n;
        }
        shutdown (fd, SHUT_WR);
        size_t got = 0;
        for (ssize_t n; got + 1 < cap && (n = recv (fd, out + got, cap - 1 - got, 0)) > 0; )
            got += (size_t) n;
        out [got] = 0;
    }
    close (fd);
}

/* GET path (with HTTP/1.0, so the server closes) into out. */
static void
s_get (uint16_t port, const char *path, char *out, size_t cap)
{
    char request [512];
    int n = snprintf (request, sizeof request, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    s_http (port, request, (size_t) n, out, cap);
}

/* Makes an empty store in s_dir for a server to read. Returns its path. */
static const char *
s_store (void)
{
    static char path [128];
    snprintf (s_dir, sizeof s_dir, "/tmp/kh-web-test-XXXXXX");
    if (!mkdtemp (s_dir))
        return NULL;
    snprintf (path, sizeof path, "%s/kreishub.db", s_dir);
    kh_problem_t why;
    kh_store_t *store = kh_store_new (path, KH_SYNC_OFF, &why);
    kh_store_destroy (&store);
    return path;
}

/* The route table: exact and prefix paths, 404 and 405, the flags. */
static void
test_routes (kh_web_t *web)
{
    void *arg = NULL;
    unsigned status = 0;
    const kh_web_route_t *r = kh_web_route_find (web, "GET", "/", &arg, &status);
    KH_CHECK ("/ is found exactly", r == &s_routes [1], "wrong route");
    r = kh_web_route_find (web, "HEAD", "/item/39", &arg, &status);
    KH_CHECK ("a path below a prefix is found, HEAD as GET", r == &s_routes [2], "wrong");
    KH_CHECK ("the table's arg comes with it", arg == web, "arg %p", arg);
    r = kh_web_route_find (web, "GET", "/nothing", &arg, &status);
    KH_CHECK ("an unknown path is 404", !r && status == 404, "status %u", status);
    r = kh_web_route_find (web, "GET", "/item", &arg, &status);
    KH_CHECK ("a prefix route does not match its name without /", !r && status == 404,
              "status %u", status);
    r = kh_web_route_find (web, "GET", "/form", &arg, &status);
    KH_CHECK ("a known path with another method is 405", !r && status == 405, "status %u",
              status);
    r = kh_web_route_find (web, "DELETE", "/", &arg, &status);
    KH_CHECK ("an unknown method is 405", !r && status == 405, "status %u", status);
}

/* Answers over a socket: headers on every answer, errors, limits, the auth stub. */
static void
test_answers (uint16_t port)
{
    static char out [200000];
    s_get (port, "/?name=%3Cscript%3E", out, sizeof out);
    KH_CHECK ("a page is served", strncmp (out, "HTTP/1.1 200", 12) == 0, "got %.40s", out);
    KH_CHECK ("a parameter is echoed escaped", strstr (out, "hallo &lt;script&gt;")
              && !strstr (out, "<script>"), "got %s", out);
    KH_CHECK ("the CSP is sent", strstr (out, "Content-Security-Policy: default-src 'self'; "
              "script-src 'self'"), "got %s", out);
    KH_CHECK ("nosniff and the referrer policy are sent",
              strstr (out, "X-Content-Type-Options: nosniff")
              && strstr (out, "Referrer-Policy: same-origin"), "got %s", out);
    s_get (port, "/item/a%20b", out, sizeof out);
    KH_CHECK ("the rest of a prefix route is decoded", strstr (out, "\r\n\r\na b"), "got %s", out);
    s_get (port, "/nope", out, sizeof out);
    KH_CHECK ("404 in German, with the headers", strncmp (out, "HTTP/1.1 404", 12) == 0
              && strstr (out, "Nicht gefunden") && strstr (out, "nosniff"), "got %.300s", out);
    s_get (port, "/form", out, sizeof out);
    KH_CHECK ("405 for GET on a POST route", strncmp (out, "HTTP/1.1 405", 12) == 0,
              "got %.40s", out);
    s_get (port, "/?a=%zz", out, sizeof out);
    KH_CHECK ("400 for a bad query string", strncmp (out, "HTTP/1.1 400", 12) == 0
              && strstr (out, "Ungültige Anfrage"), "got %.300s", out);
    s_get (port, "/%00", out, sizeof out);
    KH_CHECK ("400 for a NUL in the path", strncmp (out, "HTTP/1.1 400", 12) == 0,
              "got %.40s", out);
    s_get (port, "/admin", out, sizeof out);
    KH_CHECK ("without sign-in and --insecure-dev, a session route is 403",
              strncmp (out, "HTTP/1.1 403", 12) == 0, "got %.40s", out);
    s_get (port, "/open", out, sizeof out);
    KH_CHECK ("a public route is 403 too unless public reading is on",
              strncmp (out, "HTTP/1.1 403", 12) == 0, "got %.40s", out);
    const char form [] = "POST /form HTTP/1.0\r\nContent-Type: application/x-www-form-"
                         "urlencoded\r\nContent-Length: 9\r\n\r\na=b+c&d=e";
    s_http (port, form, sizeof form - 1, out, sizeof out);
    KH_CHECK ("a form is read", strstr (out, "got b c"), "got %.300s", out);
    char *big = malloc (2 * KH_WEB_BODY_MAX);
    int n = snprintf (big, 200, "POST /form HTTP/1.0\r\nContent-Length: %d\r\n\r\n",
                      KH_WEB_BODY_MAX + 1);
    memset (big + n, 'a', KH_WEB_BODY_MAX + 1);
    s_http (port, big, (size_t) n + KH_WEB_BODY_MAX + 1, out, sizeof out);
    KH_CHECK ("a body over 64 KiB is 413", strncmp (out, "HTTP/1.1 413", 12) == 0,
              "got %.40s", out);
    n = snprintf (big, 200, "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 17; i++) {         /* 17 chunks of 4 KiB */
        n += snprintf (big + n, 64, "1000\r\n");
        memset (big + n, 'a', 4096);
        n += 4096;
        n += snprintf (big + n, 8, "\r\n");
    }
    n += snprintf (big + n, 8, "0\r\n\r\n");
    s_http (port, big, (size_t) n, out, sizeof out);
    KH_CHECK ("a chunked body over 64 KiB is 413", strncmp (out, "HTTP/1.1 413", 12) == 0,
              "got %.40s", out);
    free (big);
    s_get (port, "/moved", out, sizeof out);
    KH_CHECK ("a redirect without a body is 303 with its Location",
              strncmp (out, "HTTP/1.1 303", 12) == 0 && strstr (out, "Location: /?name=moved"),
              "got %.200s", out);
    s_get (port, "/?name=still", out, sizeof out);
    KH_CHECK ("the server serves after all that", strstr (out, "hallo still"), "got %.40s", out);
}

/* Reads one answer with a Content-Length from fd into out. Returns its size. */
static size_t
s_read_answer (int fd, char *out, size_t cap)
{
    size_t got = 0;
    out [0] = 0;
    for (ssize_t n; got + 1 < cap && (n = recv (fd, out + got, cap - 1 - got, 0)) > 0; ) {
        got += (size_t) n;
        out [got] = 0;
        const char *end = strstr (out, "\r\n\r\n");
        const char *length = strstr (out, "Content-Length: ");
        if (end && length && (size_t) (end + 4 - out) + strtoul (length + 16, NULL, 10) <= got)
            break;
    }
    return got;
}

/* HTTP/1.1 keeps the connection: a second GET is answered on the same socket (the
   answer is queued once the request is whole; queued earlier, libmicrohttpd closes
   the connection after it, and every page and fetch paid a new one). */
static void
test_keep_alive (uint16_t port)
{
    static char out [20000];
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    const char one [] = "GET /?name=one HTTP/1.1\r\nHost: x\r\n\r\n";
    const char two [] = "GET /?name=two HTTP/1.1\r\nHost: x\r\n\r\n";
    bool sent = connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0
             && send (fd, one, sizeof one - 1, MSG_NOSIGNAL) == (ssize_t) sizeof one - 1;
    s_read_answer (fd, out, sizeof out);
    KH_CHECK ("an HTTP/1.1 answer keeps the connection open", sent
              && strstr (out, "hallo one") && !strstr (out, "Connection: close"),
              "got %.300s", out);
    sent = send (fd, two, sizeof two - 1, MSG_NOSIGNAL) == (ssize_t) sizeof two - 1;
    s_read_answer (fd, out, sizeof out);
    KH_CHECK ("a second GET is answered on the same connection",
              sent && strstr (out, "hallo two"), "got %.300s", out);
    close (fd);
}

/* A browser that leaves a live page ends its stream with a send that fails: the
   server says nothing of it (libmicrohttpd's "Failed to send the chunked response
   body" is dropped; it came for every page left), and serves on. */
static void
test_stream_left (uint16_t port)
{
    char path [96], got [4096] = "";
    snprintf (path, sizeof path, "%s/stderr", s_dir);
    fflush (stderr);
    int saved = dup (2), log = open (path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2 (log, 2);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    const char request [] = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
    bool read = connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0
             && send (fd, request, sizeof request - 1, MSG_NOSIGNAL) > 0
             && recv (fd, got, sizeof got - 1, 0) > 0;
    for (int i = 0; i < 2000 && !atomic_load (&s_paused); i++)
        usleep (1000);                  /* the stream pauses, as a live one with nothing */
    close (fd);                         /* the browser goes */
    if (atomic_load (&s_paused))
        MHD_resume_connection (atomic_load (&s_paused));    /* an event: the send fails */
    for (int i = 0; i < 5000 && !atomic_load (&s_stream_ended); i++)
        usleep (1000);                  /* until the server has closed the stream */
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    close (log);
    FILE *file = fopen (path, "r");
    size_t n = file ? fread (got, 1, sizeof got - 1, file) : 0;
    got [n] = 0;
    if (file)
        fclose (file);
    KH_CHECK ("a stream is read until it pauses", read && atomic_load (&s_paused),
              "nothing read");
    KH_CHECK ("the server ends the stream of a client gone", atomic_load (&s_stream_ended),
              "still open");
    KH_CHECK ("a client leaving a stream is not logged", !strstr (got, "Failed to send"),
              "logged: %s", got);
    s_get (port, "/?name=after", got, sizeof got);
    KH_CHECK ("the server serves after a stream was left", strstr (got, "hallo after"),
              "got %.40s", got);
}

/* Appends a message of type by 05162004 to store: its body the pairs of field and
   text in fields (ending with NULL), its id item if not NULL. Returns 0, or -1. */
static int
s_append (kh_store_t *store, const char *type, const uint8_t *item,
          const char *const *fields)
{
    kh_problem_t why = { 0 };
    kh_builder_t *builder = kh_builder_new (type);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    int rc = builder ? 0 : -1;
    for (size_t i = 0; rc == 0 && fields [i]; i += 2)
        rc = kh_builder_set (builder, fields [i], fields [i + 1], &why);
    size_t size = 0;
    const void *data = NULL;
    kh_store_result_t result;
    rc = rc == 0 && kh_builder_encode (builder, item ? item : id, "05162004", kh_now_ms (),
                                       &why) == 0
      && (data = kh_builder_data (builder, &size))
      && kh_store_append (store, &(kh_store_item_t) { data, size }, 1, &result) == 0
      && result.code == KH_OK ? 0 : -1;
    kh_builder_destroy (&builder);
    return rc;
}

/* Appends an item (an idea of 05162004) and count comments on it to the store at
   path, and then, if revised, a revise of its description and maturity. Returns 0,
   or -1. */
static int
s_fill (const char *path, int count, bool revised)
{
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_store_new (path, KH_SYNC_OFF, &why);
    uint8_t item [KH_ID_SIZE];
    char ref [KH_ID_STR_SIZE];
    kh_id_new (item);
    kh_id_format (item, ref);
    const char *const idea [] = { "title", "Digitale Bauakte", NULL };
    const char *const comment [] = { "ref", ref, "text", "Gut so.", NULL };
    const char *const revise [] = { "ref", ref, "fields.description", "Jetzt mit XBau.",
                                    "fields.maturity", "beta", NULL };
    int rc = store ? s_append (store, "idea", item, idea) : -1;
    for (int i = 0; rc == 0 && i < count; i++)
        rc = s_append (store, "comment", NULL, comment);
    if (rc == 0 && revised)
        rc = s_append (store, "revise", NULL, revise);
    kh_store_destroy (&store);
    return rc;
}

/* The item page's timeline, whole, and with ?after=N only its entries after N: what
   static/live.js fetches for each new message instead of the whole page. */
static void
test_item_after (void)
{
    static char out [200000];
    char path [96];
    snprintf (path, sizeof path, "%s/items.db", s_dir);
    kh_problem_t why = { 0 };
    kh_members_t *members = kh_members_load (NULL, &why);
    kh_web_config_t config = { .address = "127.0.0.1", .db = path, .threads = 2,
                               .insecure_dev = true, .members = members };
    kh_web_t *web = s_fill (path, 2, false) == 0 && members ? kh_web_new (&config, &why)
                                                             : NULL;
    KH_CHECK ("a server starts on a store with an item and two comments", web, "%s",
              why.reason);
    if (!web) {
        kh_members_destroy (&members);
        return;
    }
    kh_web_add_routes (web, kh_web_pages_routes (), NULL);
    uint16_t port = kh_web_port (web);
    s_get (port, "/item/1", out, sizeof out);
    KH_CHECK ("the item page shows its whole timeline", strstr (out, "<li data-seq=\"1\"")
              && strstr (out, "<li data-seq=\"2\"") && strstr (out, "<li data-seq=\"3\""),
              "got %.300s", out);
    s_get (port, "/item/1?after=2", out, sizeof out);
    KH_CHECK ("with ?after=2 only the entries after 2", strstr (out, "<li data-seq=\"3\"")
              && !strstr (out, "<li data-seq=\"1\"") && !strstr (out, "<li data-seq=\"2\"")
              && strstr (out, "id=\"timeline\""), "got %.300s", out);
    s_get (port, "/item/1?after=3", out, sizeof out);
    KH_CHECK ("with ?after= the last, none (but the timeline is there)",
              strncmp (out, "HTTP/1.1 200", 12) == 0 && !strstr (out, "<li data-seq=")
              && strstr (out, "id=\"timeline\""), "got %.300s", out);
    s_get (port, "/item/1?after=zwei", out, sizeof out);
    KH_CHECK ("a bad ?after is 400", strncmp (out, "HTTP/1.1 400", 12) == 0, "got %.40s", out);
    kh_web_destroy (&web);
    kh_members_destroy (&members);
}

/* The item page names the fields a revise changed by the words its fields have on
   the page (the CLI's timeline says them in English: "revised description, maturity"). */
static void
test_item_revised (void)
{
    static char out [200000];
    char path [96];
    snprintf (path, sizeof path, "%s/revised.db", s_dir);
    kh_problem_t why = { 0 };
    kh_web_config_t config = { .address = "127.0.0.1", .db = path, .threads = 2,
                               .insecure_dev = true };
    kh_web_t *web = s_fill (path, 0, true) == 0 ? kh_web_new (&config, &why) : NULL;
    KH_CHECK ("a server starts on a store with an item and its revise", web, "%s",
              why.reason);
    if (!web)
        return;
    kh_web_add_routes (web, kh_web_pages_routes (), NULL);
    s_get (kh_web_port (web), "/item/1?after=1", out, sizeof out);
    KH_CHECK ("a revise's fields are named in German on the item page",
              strstr (out, "überarbeitete Beschreibung, Reifegrad")
              && !strstr (out, "description") && !strstr (out, "maturity"),
              "got %.2000s", out);
    kh_web_destroy (&web);
}

int
main (void)
{
    test_escape ();
    test_params ();
    test_paths ();
    test_svg ();
    const char *db = s_store ();
    kh_web_config_t config = { .address = "127.0.0.1", .db = db, .threads = 2 };
    kh_problem_t why = { 0 };
    kh_web_t *web = db ? kh_web_new (&config, &why) : NULL;
    KH_CHECK ("a server starts on a free port", web && kh_web_port (web) > 0, "%s", why.reason);
    if (web) {
        kh_web_add_routes (web, s_routes, web);
        test_routes (web);
        test_answers (kh_web_port (web));
        test_keep_alive (kh_web_port (web));
        test_stream_left (kh_web_port (web));
    }
    kh_web_destroy (&web);
    kh_web_destroy (&web);
    KH_CHECK ("destroy nulls and is safe twice", web == NULL, "not null");
    test_item_after ();
    test_item_revised ();
    config.address = "not an address";
    web = kh_web_new (&config, &why);
    KH_CHECK ("a bad address is refused", !web && why.code == KH_EVALUE, "code %d", why.code);
    config.address = "127.0.0.1";
    config.db = "/nonexistent/kreishub.db";
    web = kh_web_new (&config, &why);
    KH_CHECK ("a missing store is refused", !web, "started");
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_dir);
    if (system (cmd)) {}
    return kh_check_done ("web_test");
}
