/*  kh_bench_web_http.c - a raw HTTP/1.1 client for the web bench: keep-alive requests
    over a loopback socket, answers read by length or in chunks, as they come. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kh_bench_web.h"

#define S_READ_BYTES    65536           /* read at once, at most */
#define S_HEAD_MAX      65536           /* a status line and headers, at most */

/* Where the reading of an answer stands. */
enum {
    S_HEAD = 0,                         /* status line and headers */
    S_BODY,                             /* left bytes of a body with a length */
    S_UNTIL_CLOSE,                      /* a body without length: until the close */
    S_CHUNK_SIZE,                       /* a chunk's size line */
    S_CHUNK_DATA,                       /* left bytes of a chunk */
    S_CHUNK_END,                        /* the CRLF after a chunk */
    S_TRAILER,                          /* trailer lines after the last chunk */
    S_DONE
};

/* ------------------------------------------------------------------ bytes */

int
kh_bench_bytes_add (kh_bench_bytes_t *self, const void *data, size_t size)
{
    if (self->size + size + 1 > self->cap) {
        size_t cap = self->cap ? self->cap : 4096;
        while (cap < self->size + size + 1)
            cap *= 2;
        char *grown = (char *) realloc (self->data, cap);
        if (!grown)
            return -1;
        self->data = grown;
        self->cap = cap;
    }
    if (size)
        memcpy (self->data + self->size, data, size);
    self->size += size;
    self->data [self->size] = 0;
    return 0;
}

void
kh_bench_bytes_drop (kh_bench_bytes_t *self, size_t count)
{
    if (count >= self->size)
        self->size = 0;
    else {
        memmove (self->data, self->data + count, self->size - count);
        self->size -= count;
    }
    if (self->data)
        self->data [self->size] = 0;
}

void
kh_bench_bytes_free (kh_bench_bytes_t *self)
{
    free (self->data);
    *self = (kh_bench_bytes_t) { NULL, 0, 0 };
}

/* --------------------------------------------------------------- parsing */

int
kh_bench_resp_header (const kh_bench_resp_t *resp, const char *name, int skip, char *out,
                      size_t cap)
{
    size_t len = strlen (name);
    const char *line = resp->head.data ? strstr (resp->head.data, "\r\n") : NULL;
    for (; line && line [2]; line = strstr (line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp (start, name, len) != 0 || start [len] != ':' || skip-- > 0)
            continue;
        const char *value = start + len + 1;
        value += strspn (value, " \t");
        snprintf (out, cap, "%.*s", (int) strcspn (value, "\r\n"), value);
        return 0;
    }
    return -1;
}

size_t
kh_bench_resp_count (const kh_bench_resp_t *resp, const char *needle)
{
    size_t count = 0, len = strlen (needle);
    for (const char *at = resp->body.data; at && (at = strstr (at, needle)); at += len)
        count++;
    return count;
}

/* Reads the status and the body's framing from the headers now in resp->head. */
static void
s_framing (kh_bench_resp_t *resp)
{
    char value [64];
    unsigned status = 0;
    sscanf (resp->head.data, "HTTP/1.%*u %u", &status);
    resp->status = status;
    resp->chunked = kh_bench_resp_header (resp, "Transfer-Encoding", 0, value,
                                          sizeof value) == 0
                 && strcasecmp (value, "chunked") == 0;
    if (resp->chunked)
        resp->state = S_CHUNK_SIZE;
    else
    if (kh_bench_resp_header (resp, "Content-Length", 0, value, sizeof value) == 0) {
        resp->left = strtoull (value, NULL, 10);
        resp->state = resp->left ? S_BODY : S_DONE;
    }
    else
        resp->state = status == 204 || status == 304 ? S_DONE : S_UNTIL_CLOSE;
}

/* Moves up to resp->left bytes of in into the body. */
static void
s_take (kh_bench_resp_t *resp, kh_bench_bytes_t *in, int *rc)
{
    size_t take = in->size < resp->left ? in->size : (size_t) resp->left;
    if (kh_bench_bytes_add (&resp->body, in->data, take))
        *rc = -1;
    kh_bench_bytes_drop (in, take);
    resp->left -= take;
}

/* Takes one step of parsing in into resp. Returns 1 if it moved on, 0 if it needs
   more bytes, -1 if the answer is malformed. */
static int
s_step (kh_bench_resp_t *resp, kh_bench_bytes_t *in)
{
    const char *end = in->size ? strstr (in->data, "\r\n") : NULL;
    int rc = 1;
    switch (resp->state) {
        case S_HEAD:
            end = in->size ? strstr (in->data, "\r\n\r\n") : NULL;
            if (!end)
                return in->size > S_HEAD_MAX ? -1 : 0;
            if (kh_bench_bytes_add (&resp->head, in->data, (size_t) (end - in->data) + 4))
                return -1;
            kh_bench_bytes_drop (in, (size_t) (end - in->data) + 4);
            s_framing (resp);
            return 1;
        case S_BODY:
        case S_CHUNK_DATA:
            if (!in->size)
                return 0;
            s_take (resp, in, &rc);
            if (resp->left == 0)
                resp->state = resp->state == S_BODY ? S_DONE : S_CHUNK_END;
            return rc;
        case S_UNTIL_CLOSE:
            resp->left = in->size;
            s_take (resp, in, &rc);
            return rc < 0 ? -1 : 0;
        case S_CHUNK_SIZE:
            if (!end)
                return 0;
            resp->left = strtoull (in->data, NULL, 16);
            kh_bench_bytes_drop (in, (size_t) (end - in->data) + 2);
            resp->state = resp->left ? S_CHUNK_DATA : S_TRAILER;
            return 1;
        case S_CHUNK_END:
            if (in->size < 2)
                return 0;
            if (memcmp (in->data, "\r\n", 2) != 0)
                return -1;
            kh_bench_bytes_drop (in, 2);
            resp->state = S_CHUNK_SIZE;
            return 1;
        case S_TRAILER:
            if (!end)
                return 0;
            resp->state = end == in->data ? S_DONE : S_TRAILER;
            kh_bench_bytes_drop (in, (size_t) (end - in->data) + 2);
            return 1;
        default:
            return 0;
    }
}

/* Parses what self->in holds. Returns 1 if the answer is complete, 0 if not yet,
   -1 if it is malformed. */
static int
s_parse (kh_bench_http_t *self)
{
    int rc;
    while (self->resp.state != S_DONE && (rc = s_step (&self->resp, &self->in)) != 0)
        if (rc < 0)
            return -1;
    return self->resp.state == S_DONE ? 1 : 0;
}

/* ------------------------------------------------------------- the socket */

int
kh_bench_http_open (kh_bench_http_t *self, const char *source, uint16_t port)
{
    uint32_t opened = self->opened;
    *self = (kh_bench_http_t) { .fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
                                .port = port, .opened = opened + 1 };
    snprintf (self->source, sizeof self->source, "%s", source ? source : "");
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port) };
    struct sockaddr_in from = { .sin_family = AF_INET };
    inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
    int one = 1;
    int rc = self->fd >= 0 ? 0 : -1;
    if (rc == 0)
        setsockopt (self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rc == 0 && source)
        rc = inet_pton (AF_INET, source, &from.sin_addr) == 1
          && bind (self->fd, (struct sockaddr *) &from, sizeof from) == 0 ? 0 : -1;
    if (rc == 0)
        rc = connect (self->fd, (struct sockaddr *) &to, sizeof to);
    if (rc)
        kh_bench_http_close (self);
    return rc;
}

void
kh_bench_http_close (kh_bench_http_t *self)
{
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    self->gone = false;
    kh_bench_bytes_free (&self->in);
    kh_bench_bytes_free (&self->resp.head);
    kh_bench_bytes_free (&self->resp.body);
}

int
kh_bench_http_nonblocking (kh_bench_http_t *self)
{
    int flags = fcntl (self->fd, F_GETFL);
    return flags < 0 ? -1 : fcntl (self->fd, F_SETFL, flags | O_NONBLOCK);
}

/* Writes size bytes of data to fd, waiting for room if it is non-blocking.
   Returns 0, or -1. */
static int
s_write_all (int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t n = send (fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd item = { fd, POLLOUT, 0 };
            if (poll (&item, 1, 5000) <= 0)
                return -1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        size -= (size_t) n;
    }
    return 0;
}

int
kh_bench_http_send (kh_bench_http_t *self, const char *method, const char *path,
                    const char *cookie, const char *extra, const char *form)
{
    char head [2048];
    int len = snprintf (head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "User-Agent: kreishub-bench\r\n%s%s%s%s", method, path,
                        cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "",
                        extra ? extra : "");
    if (len > 0 && (size_t) len < sizeof head && form)
        len += snprintf (head + len, sizeof head - (size_t) len, "Content-Type: application/"
                         "x-www-form-urlencoded\r\nContent-Length: %zu\r\n", strlen (form));
    if (len <= 0 || (size_t) len + 3 > sizeof head)
        return -1;
    memcpy (head + len, "\r\n", 3);
    len += 2;
    return s_write_all (self->fd, head, (size_t) len) == 0
        && (!form || s_write_all (self->fd, form, strlen (form)) == 0) ? 0 : -1;
}

int
kh_bench_http_pump (kh_bench_http_t *self)
{
    char chunk [S_READ_BYTES];
    for (;;) {
        int parsed = s_parse (self);
        if (parsed)
            return parsed;
        ssize_t n = recv (self->fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            self->gone = true;
            if (self->resp.state == S_UNTIL_CLOSE) {
                self->resp.state = S_DONE;
                return 1;
            }
            return -1;
        }
        if (kh_bench_bytes_add (&self->in, chunk, (size_t) n))
            return -1;
    }
}

int
kh_bench_http_wait (kh_bench_http_t *self, int timeout_ms)
{
    uint64_t until = kh_bench_now_ns () + (uint64_t) timeout_ms * 1000000u;
    for (;;) {
        struct pollfd item = { self->fd, POLLIN, 0 };
        int parsed = s_parse (self);
        if (parsed)
            return parsed > 0 ? 0 : -1;
        uint64_t now = kh_bench_now_ns ();
        if (now >= until || poll (&item, 1, (int) ((until - now) / 1000000u) + 1) <= 0)
            return -1;
        char chunk [S_READ_BYTES];
        ssize_t n = recv (self->fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            self->gone = true;
            bool whole = self->resp.state == S_UNTIL_CLOSE;
            if (whole)
                self->resp.state = S_DONE;
            return whole ? 0 : -1;
        }
        if (kh_bench_bytes_add (&self->in, chunk, (size_t) n))
            return -1;
    }
}

void
kh_bench_http_next (kh_bench_http_t *self)
{
    self->resp.state = S_HEAD;
    self->resp.status = 0;
    self->resp.chunked = false;
    self->resp.left = 0;
    self->resp.head.size = 0;
    self->resp.body.size = 0;
    if (self->resp.head.data)
        self->resp.head.data [0] = 0;
    if (self->resp.body.data)
        self->resp.body.data [0] = 0;
}

int
kh_bench_http_get (kh_bench_http_t *self, const char *path, const char *cookie,
                   int timeout_ms)
{
    if (self->gone || self->fd < 0) {
        char source [sizeof self->source];
        snprintf (source, sizeof source, "%s", self->source);
        kh_bench_http_close (self);
        if (kh_bench_http_open (self, source [0] ? source : NULL, self->port))
            return -1;
    }
    kh_bench_http_next (self);
    if (kh_bench_http_send (self, "GET", path, cookie, NULL, NULL)
    ||  kh_bench_http_wait (self, timeout_ms))
        return -1;
    char value [32];
    if (kh_bench_resp_header (&self->resp, "Connection", 0, value, sizeof value) == 0
    &&  strcasecmp (value, "close") == 0)
        self->gone = true;
    return 0;
}
