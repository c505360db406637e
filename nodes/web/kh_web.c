/*  kh_web.c - kreishub-web's HTTP server: libmicrohttpd, the route table, requests, answers. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <microhttpd.h>
#include "kh_web.h"
#include "kh_web_html.h"

#define S_TABLES_MAX    64              /* route tables of a server */
#define S_SLOTS         16              /* read-only stores kept open */
#define S_HEADERS_MAX   8               /* headers a handler adds */
#define S_STRINGS       8               /* strings of a config */

/* The security headers of every answer (docs: issue 8's notes). */
#define S_CSP   "default-src 'self'; script-src 'self'; style-src 'self'; " \
                "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; " \
                "base-uri 'none'"

/* A read-only store of the pool: busy while a request holds it. */
typedef struct {
    kh_store_t *store;                  /* NULL until first needed */
    bool        busy;
} s_slot_t;

struct _kh_web_t {
    struct MHD_Daemon    *daemon;
    kh_web_config_t       config;       /* its strings point at the copies below */
    char                 *strings [S_STRINGS];  /* the config's strings, copied */
    const kh_web_route_t *tables [S_TABLES_MAX];
    void                 *args [S_TABLES_MAX];
    size_t                table_count;
    kh_web_auth_t         auth;
    bool                  has_auth;
    pthread_mutex_t       lock;         /* guards slots */
    s_slot_t              slots [S_SLOTS];
    uint16_t              port;
};

/* Where a request stands in libmicrohttpd's calls. */
enum { S_NEW, S_BODY, S_DONE };

struct _kh_web_req_t {
    kh_web_t              *web;
    struct MHD_Connection *conn;
    char                  *uri;         /* as it came, query string and all */
    int                    state;
    char                   method [8];
    char                   path [KH_WEB_PATH_MAX];
    const char            *rest;        /* into path */
    kh_web_params_t        query;
    kh_web_params_t        form;
    const kh_web_route_t  *route;
    void                  *arg;
    kh_web_buf_t           body;        /* the request's */
    bool                   too_large;
    kh_web_user_t          user;
    bool                   has_user;
    s_slot_t              *slot;        /* the store it holds, or */
    kh_store_t            *own_store;   /*   one of its own when the pool is busy */
    char                   ip [INET6_ADDRSTRLEN];
    unsigned               status;      /* the answer's */
    char                   type [96];
    size_t                 header_count;
    char                  *names [S_HEADERS_MAX];
    char                  *values [S_HEADERS_MAX];
    kh_web_buf_t           out;
    kh_web_stream_fn      *stream_fn;
    void                  *stream_arg;
    void                 (*stream_free) (void *arg);
};

/* ---------------------------------------------------------------- buffers */

int
kh_web_buf_add (kh_web_buf_t *buf, const void *data, size_t size)
{
    if (buf->failed)
        return -1;
    if (buf->size + size + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->size + size + 1)
            cap *= 2;
        char *grown = realloc (buf->data, cap);
        if (!grown) {
            buf->failed = true;
            return -1;
        }
        buf->data = grown;
        buf->cap = cap;
    }
    if (size)
        memcpy (buf->data + buf->size, data, size);
    buf->size += size;
    buf->data [buf->size] = '\0';
    return 0;
}

int
kh_web_buf_printf (kh_web_buf_t *buf, const char *format, ...)
{
    char small [512];
    va_list ap;
    va_start (ap, format);
    int n = vsnprintf (small, sizeof small, format, ap);
    va_end (ap);
    if (n < 0)
        return -1;
    if ((size_t) n < sizeof small)
        return kh_web_buf_add (buf, small, (size_t) n);
    char *big = malloc ((size_t) n + 1);
    if (!big) {
        buf->failed = true;
        return -1;
    }
    va_start (ap, format);
    vsnprintf (big, (size_t) n + 1, format, ap);
    va_end (ap);
    int rc = kh_web_buf_add (buf, big, (size_t) n);
    free (big);
    return rc;
}

void
kh_web_buf_reset (kh_web_buf_t *buf)
{
    free (buf->data);
    memset (buf, 0, sizeof *buf);
}

/* ----------------------------------------------------------------- routes */

/* True if route path rpath matches path; sets *rest to what follows it. */
static bool
s_path_matches (const char *rpath, const char *path, const char **rest)
{
    size_t len = strlen (rpath);
    if (len > 1 && rpath [len - 1] == '/') {
        if (strncmp (path, rpath, len) != 0)
            return false;
        *rest = path + len;
        return true;
    }
    *rest = path + strlen (path);
    return strcmp (rpath, path) == 0;
}

/* The method's bit in a route's mask (HEAD as GET), or 0 for any other. */
static unsigned
s_method_bit (const char *method)
{
    if (strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0)
        return KH_WEB_GET;
    if (strcmp (method, "POST") == 0)
        return KH_WEB_POST;
    return 0;
}

const kh_web_route_t *
kh_web_route_find (kh_web_t *self, const char *method, const char *path, void **arg,
                   unsigned *status)
{
    assert (self && method && path && arg && status);
    unsigned bit = s_method_bit (method);
    bool seen = false;
    const char *rest;
    for (size_t t = 0; t < self->table_count; t++)
        for (const kh_web_route_t *r = self->tables [t]; r->path; r++) {
            if (!s_path_matches (r->path, path, &rest))
                continue;
            seen = true;
            if (r->methods & bit) {
                *arg = self->args [t];
                return r;
            }
        }
    *status = seen ? 405 : 404;
    return NULL;
}

int
kh_web_add_routes (kh_web_t *self, const kh_web_route_t *table, void *arg)
{
    assert (self && table);
    if (self->table_count == S_TABLES_MAX)
        return -1;
    self->tables [self->table_count] = table;
    self->args [self->table_count] = arg;
    self->table_count++;
    return 0;
}

void
kh_web_set_auth (kh_web_t *self, const kh_web_auth_t *auth)
{
    assert (self && auth && auth->identify);
    self->auth = *auth;
    self->has_auth = true;
}

/* --------------------------------------------------------------- requests */

const char *kh_web_req_method (kh_web_req_t *req) { return req->method; }
const char *kh_web_req_path (kh_web_req_t *req) { return req->path; }
const char *kh_web_req_rest (kh_web_req_t *req) { return req->rest ? req->rest : ""; }
const char *kh_web_req_ip (kh_web_req_t *req) { return req->ip; }
void *kh_web_req_arg (kh_web_req_t *req) { return req->arg; }
kh_web_t *kh_web_req_web (kh_web_req_t *req) { return req->web; }
void *kh_web_req_connection (kh_web_req_t *req) { return req->conn; }
kh_web_buf_t *kh_web_req_out (kh_web_req_t *req) { return &req->out; }

const kh_web_user_t *
kh_web_req_user (kh_web_req_t *req)
{
    return req->has_user ? &req->user : NULL;
}

const char *
kh_web_req_query (kh_web_req_t *req, const char *key)
{
    return kh_web_params_get (&req->query, key);
}

size_t
kh_web_req_query_all (kh_web_req_t *req, const char *key, const char *values [],
                      size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < req->query.count; i++)
        if (strcmp (req->query.keys [i], key) == 0) {
            if (n < max)
                values [n] = req->query.values [i];
            n++;
        }
    return n;
}

const kh_web_params_t *
kh_web_req_params (kh_web_req_t *req)
{
    return &req->query;
}

const char *
kh_web_req_form (kh_web_req_t *req, const char *key)
{
    return kh_web_params_get (&req->form, key);
}

const char *
kh_web_req_header (kh_web_req_t *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, name)
                     : NULL;
}

const char *
kh_web_req_cookie (kh_web_req_t *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value (req->conn, MHD_COOKIE_KIND, name)
                     : NULL;
}

const char *
kh_web_req_body (kh_web_req_t *req, size_t *size)
{
    if (size)
        *size = req->body.size;
    return req->body.size ? req->body.data : NULL;
}

kh_store_t *
kh_web_req_store (kh_web_req_t *req)
{
    if (req->slot)
        return req->slot->store;
    if (req->own_store)
        return req->own_store;
    kh_web_t *web = req->web;
    pthread_mutex_lock (&web->lock);
    for (size_t i = 0; i < S_SLOTS && !req->slot; i++)
        if (!web->slots [i].busy) {
            req->slot = &web->slots [i];
            req->slot->busy = true;
        }
    pthread_mutex_unlock (&web->lock);
    kh_problem_t why = { 0 };
    if (!req->slot) {                   /* more requests at once than slots */
        req->own_store = kh_store_new_reader (web->config.db, &why);
        return req->own_store;
    }
    if (!req->slot->store)              /* opened outside the lock: the slot is ours */
        req->slot->store = kh_store_new_reader (web->config.db, &why);
    if (!req->slot->store)
        zsys_warning ("web: cannot open the store %s: %s", web->config.db, why.reason);
    return req->slot->store;
}

/* Gives the request's store back to the pool (or closes its own). */
static void
s_store_release (kh_web_req_t *req)
{
    kh_store_destroy (&req->own_store);
    if (!req->slot)
        return;
    pthread_mutex_lock (&req->web->lock);
    req->slot->busy = false;
    pthread_mutex_unlock (&req->web->lock);
    req->slot = NULL;
}

/* ---------------------------------------------------------------- answers */

void
kh_web_status (kh_web_req_t *req, unsigned status)
{
    req->status = status;
}

void
kh_web_type (kh_web_req_t *req, const char *content_type)
{
    snprintf (req->type, sizeof req->type, "%s", content_type);
}

int
kh_web_header (kh_web_req_t *req, const char *name, const char *value)
{
    if (req->header_count == S_HEADERS_MAX || strpbrk (name, "\r\n: ")
    ||  strpbrk (value, "\r\n"))
        return -1;
    char *n = strdup (name), *v = strdup (value);
    if (!n || !v) {
        free (n);
        free (v);
        return -1;
    }
    req->names [req->header_count] = n;
    req->values [req->header_count] = v;
    req->header_count++;
    return 0;
}

int
kh_web_write (kh_web_req_t *req, const void *data, size_t size)
{
    return kh_web_buf_add (&req->out, data, size);
}

int
kh_web_puts (kh_web_req_t *req, const char *text)
{
    return kh_web_buf_add (&req->out, text, strlen (text));
}

int
kh_web_printf (kh_web_req_t *req, const char *format, ...)
{
    char line [1024];
    va_list ap;
    va_start (ap, format);
    int n = vsnprintf (line, sizeof line, format, ap);
    va_end (ap);
    if (n < 0 || (size_t) n >= sizeof line) {
        req->out.failed = true;         /* printf is for short pieces; longer go by write */
        return -1;
    }
    return kh_web_buf_add (&req->out, line, (size_t) n);
}

/* The reason phrase's German title for status. */
static const char *
s_status_title (unsigned status)
{
    switch (status) {
        case 400: return "Ungültige Anfrage";
        case 403: return "Kein Zugriff";
        case 404: return "Nicht gefunden";
        case 405: return "Methode nicht erlaubt";
        case 413: return "Anfrage zu groß";
        case 503: return "Nicht verfügbar";
        default:  return status >= 500 ? "Interner Fehler" : "Fehler";
    }
}

int
kh_web_error (kh_web_req_t *req, unsigned status, const char *message)
{
    req->out.size = 0;
    req->out.failed = false;
    req->status = status;
    kh_web_type (req, "text/html; charset=utf-8");
    kh_web_printf (req, "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
                   "<title>%u %s</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
                   "<link rel=\"icon\" href=\"data:,\">"   /* no request for /favicon.ico */
                   "</head><body><main><h1>%u %s</h1><p>", status,
                   s_status_title (status), status, s_status_title (status));
    kh_web_html (&req->out, message);
    kh_web_puts (req, "</p><p><a href=\"/\">Zum Katalog</a></p></main></body></html>\n");
    return 0;
}

int
kh_web_redirect (kh_web_req_t *req, const char *location)
{
    if (location [0] != '/' || location [1] == '/')
        return -1;                      /* this server's paths only, never //host */
    req->status = 303;
    return kh_web_header (req, "Location", location);
}

int
kh_web_stream (kh_web_req_t *req, const char *content_type, kh_web_stream_fn *fn,
               void *arg, void (*free_fn) (void *arg))
{
    assert (fn);
    kh_web_type (req, content_type);
    req->stream_fn = fn;
    req->stream_arg = arg;
    req->stream_free = free_fn;
    return 0;
}

/* ------------------------------------------------------- libmicrohttpd's calls */

/* Frees a request and what it holds; a stream not handed to libmicrohttpd is
   freed here. */
static void
s_req_free (kh_web_req_t *req)
{
    s_store_release (req);
    if (req->stream_fn && req->stream_free)
        req->stream_free (req->stream_arg);
    kh_web_params_reset (&req->query);
    kh_web_params_reset (&req->form);
    kh_web_buf_reset (&req->body);
    kh_web_buf_reset (&req->out);
    for (size_t i = 0; i < req->header_count; i++) {
        free (req->names [i]);
        free (req->values [i]);
    }
    free (req->uri);
    free (req);
}

/* libmicrohttpd's first word of a request: its URI as it came. Makes the
   request that the other calls get as their context. */
static void *
s_uri_log (void *cls, const char *uri, struct MHD_Connection *conn)
{
    kh_web_req_t *req = calloc (1, sizeof *req);
    if (req) {
        req->web = cls;
        req->conn = conn;
        req->uri = strdup (uri ? uri : "");
    }
    if (req && !req->uri) {
        free (req);
        req = NULL;
    }
    return req;
}

/* libmicrohttpd's last word of a request (answered, or the client went). */
static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    if (con_cls && *con_cls) {
        s_req_free (*con_cls);
        *con_cls = NULL;
    }
}

/* Adds the headers every answer has, and the handler's. Returns 0, or -1. */
static int
s_headers (kh_web_req_t *req, struct MHD_Response *resp)
{
    bool cache = false;
    for (size_t i = 0; i < req->header_count; i++) {
        cache |= strcasecmp (req->names [i], "Cache-Control") == 0;
        if (MHD_add_response_header (resp, req->names [i], req->values [i]) != MHD_YES)
            return -1;
    }
    const char *type = req->type [0] ? req->type : "text/html; charset=utf-8";
    bool ok = MHD_add_response_header (resp, "Content-Type", type) == MHD_YES
           && MHD_add_response_header (resp, "Content-Security-Policy", S_CSP) == MHD_YES
           && MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff") == MHD_YES
           && MHD_add_response_header (resp, "Referrer-Policy", "same-origin") == MHD_YES
           && (cache || MHD_add_response_header (resp, "Cache-Control", "no-store") == MHD_YES);
    return ok ? 0 : -1;
}

/* Queues the request's answer. */
static enum MHD_Result
s_queue (kh_web_req_t *req)
{
    req->state = S_DONE;
    s_store_release (req);
    if (req->out.failed)
        kh_web_error (req, 500, "Der Speicher reichte nicht.");
    struct MHD_Response *resp;
    if (req->stream_fn) {
        resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 4096, req->stream_fn,
                                                  req->stream_arg, req->stream_free);
        if (resp)
            req->stream_fn = NULL;      /* libmicrohttpd frees it now */
    }
    else {
        /* The body goes to libmicrohttpd, which frees it; none at all (a redirect)
           is a constant it must not free. */
        if (req->out.data)
            resp = MHD_create_response_from_buffer (req->out.size, req->out.data,
                                                    MHD_RESPMEM_MUST_FREE);
        else
            resp = MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (resp && req->out.data)
            memset (&req->out, 0, sizeof req->out);
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result rc = MHD_NO;
    if (s_headers (req, resp) == 0)
        rc = MHD_queue_response (req->conn, req->status ? req->status : 200, resp);
    MHD_destroy_response (resp);
    return rc;
}

/* Answers status with message. */
static enum MHD_Result
s_fail (kh_web_req_t *req, unsigned status, const char *message)
{
    kh_web_error (req, status, message);
    return s_queue (req);
}

/* Decides who sends req and whether its route lets them. Returns 0 to run the
   handler, or 1 when an answer is written (a refusal). */
static int
s_auth (kh_web_req_t *req)
{
    kh_web_t *web = req->web;
    const kh_web_route_t *route = req->route;
    if (web->has_auth)
        req->has_user = web->auth.identify (web->auth.self, req, &req->user) == 0;
    else
    if (web->config.insecure_dev) {
        req->has_user = true;
        snprintf (req->user.name, sizeof req->user.name, "entwicklung");
        req->user.role = KH_WEB_ROLE_ADMIN;
    }
    bool needs = route->needs_session && !(route->public_ok && web->config.public_read);
    if ((needs || route->admin_only) && !req->has_user) {
        if (web->has_auth && web->auth.refuse) {
            if (web->auth.refuse (web->auth.self, req))
                kh_web_error (req, 500, "Die Anmeldung ist gescheitert.");
            return 1;
        }
        kh_web_error (req, 403, web->has_auth ? "Bitte melden Sie sich an."
                      : "Die Anmeldung ist noch nicht eingerichtet.");
        return 1;
    }
    if (route->admin_only && req->user.role != KH_WEB_ROLE_ADMIN) {
        kh_web_error (req, 403, "Diese Seite ist Administratoren vorbehalten.");
        return 1;
    }
    return 0;
}

/* Runs the route's handler once the request (and its body) is in. */
static enum MHD_Result
s_run (kh_web_req_t *req)
{
    if (req->too_large)
        return s_fail (req, 413, "Die Anfrage ist größer als 64 KiB.");
    const char *type = kh_web_req_header (req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (strcmp (req->method, "POST") == 0 && type
    &&  strncasecmp (type, "application/x-www-form-urlencoded", 33) == 0
    &&  kh_web_params_parse (&req->form, req->body.data, req->body.size))
        return s_fail (req, 400, "Das Formular ist ungültig.");
    if (s_auth (req) == 0 && req->route->handler (req))
        kh_web_error (req, 500, "Die Seite konnte nicht erstellt werden.");
    return s_queue (req);
}

/* Reads what a new request says before its body: method, path, query, route,
   client address. Returns 0, or an HTTP status to refuse it with (*message). */
static unsigned
s_begin (kh_web_req_t *req, const char *method, const char **message)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, req->ip, sizeof req->ip);
    else
    if (sa && sa->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, req->ip,
                   sizeof req->ip);
    snprintf (req->method, sizeof req->method, "%s", method);
    *message = "Die Adresse ist ungültig.";
    const char *mark = strchr (req->uri, '?');
    size_t plen = mark ? (size_t) (mark - req->uri) : strlen (req->uri);
    if (req->uri [0] != '/' || kh_web_path_decode (req->uri, plen, req->path, sizeof req->path))
        return 400;
    *message = "Die Suchparameter sind ungültig.";
    if (mark && kh_web_params_parse (&req->query, mark + 1, strlen (mark + 1)))
        return 400;
    unsigned status = 0;
    req->route = kh_web_route_find (req->web, req->method, req->path, &req->arg, &status);
    if (!req->route) {
        *message = status == 405 ? "Diese Methode ist hier nicht erlaubt."
                                 : "Diese Seite gibt es nicht.";
        return status;
    }
    s_path_matches (req->route->path, req->path, &req->rest);
    const char *length = kh_web_req_header (req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    *message = "Die Anfrage ist größer als 64 KiB.";
    if (length && strtoull (length, NULL, 10) > KH_WEB_BODY_MAX)
        return 413;
    return 0;
}

/* libmicrohttpd's access handler: called once when the headers are in, then
   with the body in pieces, then once more with none left. */
static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    kh_web_req_t *req = *con_cls;
    if (!req)
        return MHD_NO;                  /* s_uri_log had no memory */
    if (req->state == S_DONE)
        return MHD_YES;
    if (req->state == S_NEW) {
        req->state = S_BODY;
        const char *message = NULL;
        unsigned status = s_begin (req, method, &message);
        if (status)
            return s_fail (req, status, message);
        /* The answer waits for the last call, even without a body: one queued in
           this first call is "early" to libmicrohttpd, which then closes the
           connection after it, so that no page kept its connection (keep-alive). */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (req->body.size + *upload_size > KH_WEB_BODY_MAX)
            req->too_large = true;      /* read on and answer 413 at the end */
        else
        if (kh_web_buf_add (&req->body, upload, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    return s_run (req);
}

/* ----------------------------------------------------------------- server */

/* Fills sa from address and port. Returns its length, or 0 if address is no
   IPv4 or IPv6 address. */
static socklen_t
s_sockaddr (const char *address, uint16_t port, struct sockaddr_storage *sa, bool *v6)
{
    memset (sa, 0, sizeof *sa);
    struct sockaddr_in *in4 = (struct sockaddr_in *) sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) sa;
    *v6 = false;
    if (inet_pton (AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons (port);
        return sizeof *in4;
    }
    if (inet_pton (AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons (port);
        *v6 = true;
        return sizeof *in6;
    }
    return 0;
}

/* Copies config's strings into self. Returns 0, or -1 out of memory. */
static int
s_copy_config (kh_web_t *self, const kh_web_config_t *config)
{
    self->config = *config;
    const char **fields [S_STRINGS] = {
        &self->config.address, &self->config.db, &self->config.client_ep,
        &self->config.live_ep, &self->config.cert, &self->config.server_cert,
        &self->config.certs, &self->config.users };
    for (size_t i = 0; i < S_STRINGS; i++) {
        if (!*fields [i])
            continue;
        self->strings [i] = strdup (*fields [i]);
        if (!self->strings [i])
            return -1;
        *fields [i] = self->strings [i];
    }
    if (!self->config.address)
        self->config.address = "127.0.0.1";
    if (!self->config.threads)
        self->config.threads = 4;
    return 0;
}

/* libmicrohttpd's log, to stderr as its own would be, but for the sends that fail
   when a browser has left a live page (its stream is the only chunked answer): a
   chunk of it, or its end when the node stops. That is how every stream ends, not
   an error. */
static void __attribute__ ((format (printf, 2, 0)))
s_mhd_log (void *cls, const char *format, va_list ap)
{
    if (strncmp (format, "Failed to send the chunked response body", 40) != 0
    &&  strncmp (format, "Failed to send the footers", 26) != 0)
        vfprintf (stderr, format, ap);
}

/* Starts libmicrohttpd on self's address. Returns 0, or -1 with why set. */
static int
s_listen (kh_web_t *self, kh_problem_t *why)
{
    struct sockaddr_storage sa;
    bool v6;
    if (!s_sockaddr (self->config.address, self->config.port, &sa, &v6))
        return kh_problem (why, KH_EVALUE, "'%s' is no IPv4 or IPv6 address",
                           self->config.address);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME
                   | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    self->daemon = MHD_start_daemon (flags, self->config.port, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,    /* first: it logs the rest */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) self->config.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) KH_WEB_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) (self->config.per_ip
                                                             ? self->config.per_ip
                                                             : KH_WEB_PER_IP),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) KH_WEB_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) KH_WEB_CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, self,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_END);
    if (!self->daemon)
        return kh_problem (why, KH_EBUSY, "cannot listen on %s port %u (in use?)",
                           self->config.address, (unsigned) self->config.port);
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : self->config.port;
    return 0;
}

kh_web_t *
kh_web_new (const kh_web_config_t *config, kh_problem_t *why)
{
    assert (config && config->db && why);
    kh_web_t *self = calloc (1, sizeof *self);
    if (!self) {
        kh_problem (why, KH_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    if (s_copy_config (self, config)) {
        kh_problem (why, KH_ENOMEM, "out of memory");
        kh_web_destroy (&self);
        return NULL;
    }
    /* The store must be there and readable before we listen. */
    self->slots [0].store = kh_store_new_reader (self->config.db, why);
    if (!self->slots [0].store || s_listen (self, why))
        kh_web_destroy (&self);
    return self;
}

void
kh_web_destroy (kh_web_t **self_p)
{
    assert (self_p);
    kh_web_t *self = *self_p;
    if (!self)
        return;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    for (size_t i = 0; i < S_SLOTS; i++)
        kh_store_destroy (&self->slots [i].store);
    for (size_t i = 0; i < S_STRINGS; i++)
        free (self->strings [i]);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

uint16_t
kh_web_port (kh_web_t *self)
{
    return self->port;
}

const kh_web_config_t *
kh_web_config (kh_web_t *self)
{
    return &self->config;
}
