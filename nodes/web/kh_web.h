/*  kh_web.h - kreishub-web's HTTP server core: libmicrohttpd, a route table, requests and answers.

    The server runs libmicrohttpd with its own threads (a small pool polling with
    epoll), bounded as docs and notes say: 1000 connections at most, 64 from one
    address, 30 s idle timeout, 64 KiB of memory per connection for the request
    line and headers, request bodies of at most KH_WEB_BODY_MAX bytes (413).

    Every request is routed by a table of kh_web_route_t (method, path, handler,
    needs-session, admin-only), never by a chain of ifs. A route's path that ends
    in '/' (other than "/" itself) matches every path below it ("/item/" matches
    "/item/39"); any other path matches only itself. A path that no route matches
    is 404; one that a route matches only for other methods is 405.

    Who sends a request is the auth hook's to say (kh_web_auth_t, which
    kh_web_auth.c implements): before a route that needs a session runs, the hook
    identifies the request's user; without one the hook's refuse answers (a
    redirect to the sign-in page, say), and a route for admins answers 403 to
    everyone else. Until a hook is set, every request counts as an admin's if the
    server was made with insecure_dev, else every route that needs a session is
    refused with 403.

    A handler writes its answer into the request (status, type, headers, body);
    the core adds the security headers (Content-Security-Policy, nosniff,
    Referrer-Policy, no caching of pages) to every answer, its own errors
    included. A handler that would stream (Server-Sent Events) hands a callback
    to kh_web_stream instead.

    Each handler runs on one of the server's threads; the store it reads
    (kh_web_req_store) is a read-only connection that belongs to the request
    until it returns, from a small pool, never shared between threads at once.
*/
#ifndef KH_WEB_H_INCLUDED
#define KH_WEB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "kh_store.h"
#include "kh_members.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_WEB_CONNECTIONS      1000    /* connections at once, at most */
#define KH_WEB_PER_IP           64      /* of them from one address */
#define KH_WEB_TIMEOUT_S        30      /* an idle connection is closed after this */
#define KH_WEB_CONN_MEMORY      (64 * 1024) /* request line and headers, per connection */
#define KH_WEB_BODY_MAX         (64 * 1024) /* a request body, at most (else 413) */
#define KH_WEB_PARAMS_MAX       64      /* parameters of a query string or form */
#define KH_WEB_KEY_MAX          64      /* bytes of a parameter's name, decoded */
#define KH_WEB_VALUE_MAX        4096    /* bytes of a parameter's value, decoded */
#define KH_WEB_PATH_MAX         1024    /* bytes of a path, decoded */

/* The methods a route answers, as a mask. HEAD is answered wherever GET is. */
#define KH_WEB_GET              1u
#define KH_WEB_POST             2u

/* Who a signed-in user is (kh_web_auth.c fills it). */
typedef enum {
    KH_WEB_ROLE_NONE = 0,               /* nobody signed in */
    KH_WEB_ROLE_MUNICIPALITY,           /* acts for its own AGS only */
    KH_WEB_ROLE_KREIS,                  /* may act on any item (5-digit AGS) */
    KH_WEB_ROLE_ADMIN                   /* sees the log and the audit */
} kh_web_role_t;

typedef struct {
    char          name [64];            /* the user's name, as in the users file */
    char          ags [9];              /* the AGS it acts for (5 or 8 digits) */
    kh_web_role_t role;
    char          csrf [80];            /* the session's CSRF token ("" if none) */
} kh_web_user_t;

typedef struct _kh_web_t kh_web_t;
typedef struct _kh_web_req_t kh_web_req_t;

/* A route's handler: writes the answer into req. Returns 0, or -1 if it could
   not (out of memory, say): the core answers 500 then. */
typedef int (kh_web_handler_fn) (kh_web_req_t *req);

/* One route. A table ends with an entry whose path is NULL. */
typedef struct {
    unsigned           methods;         /* KH_WEB_GET | KH_WEB_POST */
    const char        *path;            /* "/log", or "/item/" for every path below */
    kh_web_handler_fn *handler;
    bool               needs_session;   /* unless public reading is configured (public) */
    bool               admin_only;      /* 403 for users who are not admins */
    bool               public_ok;       /* with --public, readable without a session */
} kh_web_route_t;

/* The auth hook: who sends a request, and what to answer one without a session. */
typedef struct {
    void *self;                         /* the implementation's, passed back */
    /* Fills user from the request (its session cookie). Returns 0 for a valid
       session, -1 for none. Runs on a server thread: must be thread-safe. */
    int (*identify) (void *self, kh_web_req_t *req, kh_web_user_t *user);
    /* Answers a request that needs a session and has none (a redirect to the
       sign-in page, say). NULL: 403. Returns 0, or -1 as a handler does. */
    int (*refuse) (void *self, kh_web_req_t *req);
} kh_web_auth_t;

/* How to make a server. Strings are copied. */
typedef struct {
    const char         *address;        /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t            port;           /* 0: any free one (kh_web_port says which) */
    const char         *db;             /* the store, opened read-only per thread */
    const kh_members_t *members;        /* names next to every AGS; must outlive */
    const char         *client_ep;      /* the broker's client endpoint, for counters */
    const char         *live_ep;        /* the broker's live endpoint, for SSE */
    const char         *cert;           /* our certificate for reading (NULL: plain) */
    const char         *server_cert;    /* the broker's public certificate */
    const char         *certs;          /* the municipalities' certificates (DIR) */
    const char         *users;          /* the users file (kh_web_auth.c) */
    bool                public_read;    /* public_ok routes need no session */
    bool                insecure_dev;   /* without an auth hook: everyone is admin */
    unsigned            threads;        /* server threads (0: 4) */
    unsigned            per_ip;         /* connections from one address at most (0:
                                           KH_WEB_PER_IP); behind a reverse proxy every
                                           client has the proxy's address */
} kh_web_config_t;

/* Creates the server with config and starts it listening, with no routes yet.
   Returns it, or NULL with why set (KH_EVALUE for a bad address, KH_EBUSY if
   the port is taken, KH_ESTORE if the store cannot be opened read-only,
   KH_ENOMEM). */
kh_web_t *kh_web_new (const kh_web_config_t *config, kh_problem_t *why);

/* Stops the server (waits for its threads), closes its stores and frees it; sets
   *self_p to NULL. Safe on NULL. */
void kh_web_destroy (kh_web_t **self_p);

/* Adds the routes of table (ending with a NULL path) after those there; each
   handler gets arg through kh_web_req_arg. The table must outlive the server.
   Call before the first request. Returns 0, or -1 if more than 64 tables. */
int kh_web_add_routes (kh_web_t *self, const kh_web_route_t *table, void *arg);

/* Sets the auth hook (copied). Call before the first request. */
void kh_web_set_auth (kh_web_t *self, const kh_web_auth_t *auth);

/* The port the server listens on. */
uint16_t kh_web_port (kh_web_t *self);

/* The configuration the server was made with (its strings its own). */
const kh_web_config_t *kh_web_config (kh_web_t *self);

/* ------------------------------------------------------------- requests */
/* "GET", "HEAD" or "POST" (others never reach a handler: 405). */
const char *kh_web_req_method (kh_web_req_t *req);

/* The path, percent-decoded (never holds NUL), e.g. "/item/39". */
const char *kh_web_req_path (kh_web_req_t *req);

/* The path after the route's ("39" for "/item/39" under "/item/"), "" for an
   exact route. */
const char *kh_web_req_rest (kh_web_req_t *req);

/* The first value of the query string's parameter key, decoded (valid UTF-8,
   no NUL), or NULL if absent. */
const char *kh_web_req_query (kh_web_req_t *req, const char *key);

/* The values of a repeated parameter (type=idea&type=offer): writes up to max of
   them into values and returns how many there are. */
size_t kh_web_req_query_all (kh_web_req_t *req, const char *key, const char *values [],
                             size_t max);

/* Every parameter of the query string, in order (kh_web_params_t below). */
const struct kh_web_params *kh_web_req_params (kh_web_req_t *req);

/* The first value of the url-encoded form body's field key (POST), or NULL. */
const char *kh_web_req_form (kh_web_req_t *req, const char *key);

/* A request header's value (any case of name), or NULL. */
const char *kh_web_req_header (kh_web_req_t *req, const char *name);

/* A cookie's value, or NULL. */
const char *kh_web_req_cookie (kh_web_req_t *req, const char *name);

/* The request body (POST; at most KH_WEB_BODY_MAX bytes, NUL-terminated) and
   its size, or NULL and 0. */
const char *kh_web_req_body (kh_web_req_t *req, size_t *size);

/* The client's address as text ("127.0.0.1"). */
const char *kh_web_req_ip (kh_web_req_t *req);

/* The signed-in user, or NULL if the request has no session. */
const kh_web_user_t *kh_web_req_user (kh_web_req_t *req);

/* The arg given with the route's table. */
void *kh_web_req_arg (kh_web_req_t *req);

/* The server the request came to. */
kh_web_t *kh_web_req_web (kh_web_req_t *req);

/* The store, read-only, the request's until its handler returns (opened on
   first use). Returns it, or NULL if it cannot be opened. */
kh_store_t *kh_web_req_store (kh_web_req_t *req);

/* The connection the request came on (a struct MHD_Connection *), for a stream
   that waits: the server runs with MHD_ALLOW_SUSPEND_RESUME, so a stream_fn with
   nothing to send suspends it (MHD_suspend_connection) and returns 0, and the
   thread that has something resumes it (MHD_resume_connection). A suspended
   connection does not time out; one that is not is closed after 30 s without
   a byte (send a comment line now and then). */
void *kh_web_req_connection (kh_web_req_t *req);

/* --------------------------------------------------------------- buffers */
/* A growing buffer of bytes, always NUL-terminated once anything was added. A
   write that cannot grow it sets failed and is dropped; so are later ones. */
typedef struct {
    char  *data;
    size_t size;
    size_t cap;
    bool   failed;                      /* memory ran out (or a bound was passed) */
} kh_web_buf_t;

/* Append size bytes / formatted text. Return 0, or -1 (failed). */
int kh_web_buf_add (kh_web_buf_t *buf, const void *data, size_t size);
int kh_web_buf_printf (kh_web_buf_t *buf, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Frees the bytes and empties the buffer. */
void kh_web_buf_reset (kh_web_buf_t *buf);

/* -------------------------------------------------------------- answers */
/* The answer's body, to write into (kh_web_html.h escapes into it). */
kh_web_buf_t *kh_web_req_out (kh_web_req_t *req);

/* Sets the status (200 unless set) and the content type ("text/html;
   charset=utf-8" unless set). */
void kh_web_status (kh_web_req_t *req, unsigned status);
void kh_web_type (kh_web_req_t *req, const char *content_type);

/* Adds a header to the answer (Set-Cookie, Location, ...). Values with CR or LF
   are refused. Returns 0, or -1. */
int kh_web_header (kh_web_req_t *req, const char *name, const char *value);

/* Appends bytes, a string, or formatted text to the body. Text written so is not
   escaped: user-supplied text goes through kh_web_html.h. Return 0, or -1 out
   of memory (the answer becomes 500). */
int kh_web_write (kh_web_req_t *req, const void *data, size_t size);
int kh_web_puts (kh_web_req_t *req, const char *text);
int kh_web_printf (kh_web_req_t *req, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Answers status with a short German page (message: plain text, escaped here),
   replacing what was written. Returns 0. */
int kh_web_error (kh_web_req_t *req, unsigned status, const char *message);

/* Answers 303 See Other to location (a path of this server). Returns 0, or -1. */
int kh_web_redirect (kh_web_req_t *req, const char *location);

/* A streamed answer's source: writes up to max bytes of the stream into buf and
   returns how many (0: nothing now, called again shortly), or -1 to end the
   stream. Runs on a server thread. */
typedef ssize_t (kh_web_stream_fn) (void *arg, uint64_t pos, char *buf, size_t max);

/* Answers with a stream of content_type from fn (e.g. text/event-stream) instead
   of the body; free_fn (may be NULL) is called with arg once the stream ends or
   the client goes. Returns 0, or -1. */
int kh_web_stream (kh_web_req_t *req, const char *content_type, kh_web_stream_fn *fn,
                   void *arg, void (*free_fn) (void *arg));

/* ------------------------------------------------------------ internals */
/* What kh_web_params_parse keeps of a query string or a form. */
typedef struct kh_web_params {
    size_t count;
    char  *keys [KH_WEB_PARAMS_MAX];
    char  *values [KH_WEB_PARAMS_MAX];
    char  *store;                       /* the decoded bytes keys and values point into */
} kh_web_params_t;

/* Parses application/x-www-form-urlencoded text (len bytes, '&' between pairs,
   '+' a blank, %XX a byte) into params, which it resets first. Refuses (-1,
   params empty) a bad %-escape, a decoded NUL, text that is not UTF-8, more than
   KH_WEB_PARAMS_MAX pairs, a name over KH_WEB_KEY_MAX or a value over
   KH_WEB_VALUE_MAX bytes. An empty pair ("a=1&&b=2") is skipped; a name without
   '=' has the value "". Returns 0, or -1 (ENOMEM too). */
int kh_web_params_parse (kh_web_params_t *params, const char *text, size_t len);

/* Frees what params holds and empties it. Safe on an empty one. */
void kh_web_params_reset (kh_web_params_t *params);

/* The first value of key, or NULL. */
const char *kh_web_params_get (const kh_web_params_t *params, const char *key);

/* Decodes a path's %XX escapes from text (len bytes) into out (cap bytes):
   refuses a bad escape, a NUL, non-UTF-8, or a path that does not fit. Returns
   0, or -1. */
int kh_web_path_decode (const char *text, size_t len, char *out, size_t cap);

/* Finds the route for method ("GET", "HEAD", "POST", ...) and path among the
   server's tables. Returns the route and sets *arg, or NULL with *status 404
   (no route has the path) or 405 (none for this method). */
const kh_web_route_t *kh_web_route_find (kh_web_t *self, const char *method,
                                         const char *path, void **arg,
                                         unsigned *status);

#ifdef __cplusplus
}
#endif
#endif
