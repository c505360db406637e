/*  kh_cmd_demo.c - `kreishub demo`: replays the demo data (packaging/demo/, a JSON
    Lines file installed with the package) through the hub, each message as the
    participant who published it, with its certificate, in the file's order.

    A line is {"as": AGS, "type": T, "id": UUID, "ts": TIME, "body": {...}}, the body
    as `kreishub publish --json` takes it. The ids are fixed, so that a second run
    stores nothing twice: the hub acknowledges each as a duplicate. Each message
    waits for its answer before the next goes: a message about an item must find
    the item stored, and the hub judges it against the state the ones before left. */
#include <limits.h>
#include <unistd.h>
#include "kh_cli.h"
#include "kh_up_certs.h"

#ifndef KH_DEMO_REL
#define KH_DEMO_REL   "../share/kreishub/demo"  /* the data, seen from the bin directory */
#endif
#ifndef KH_DEMO_FULL
#define KH_DEMO_FULL  "/usr/share/kreishub/demo"    /* the data where it is installed */
#endif
#define S_DATA        "rhein-kreis-neuss.jsonl"
#define S_UP_DIR      "./kreishub-data"     /* `kreishub up`'s default data directory */
#define S_RETRIES     3

/* What the command line says, besides the shared options. */
typedef struct {
    const char *data;                   /* --data FILE, else the installed one */
    const char *certs;                  /* --certs DIR */
    const char *timeout;                /* --timeout MS, as given */
    bool        check;                  /* --check: build every line, publish nothing */
} s_args_t;

/* One line of the data, read: who publishes what, when. */
typedef struct {
    char     as [KH_AGS_MAX + 1];       /* the sender's AGS */
    char     type [32];
    uint8_t  id [KH_ID_SIZE];
    uint64_t ts;                        /* ms since 1970 */
    char    *body;                      /* the body as JSON text (malloc'd) */
} s_line_t;

/* Where the replay goes and what it did so far. */
typedef struct {
    kh_cli_t   *cli;
    const char *certs;                  /* the certificates' directory (NULL: plain) */
    const char *server_cert;            /* the hub's public certificate */
    zhashx_t   *clients;                /* AGS -> kh_client_t, one per sender */
    int         timeout;
    size_t      stored, dups;
} s_replay_t;

/* Parses argv into args. Returns what kh_opts_parse returned. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    const kh_opt_t table [] = {
        { "data", 0, "FILE", &args->data, NULL,
          "the demo data (default: the installed " S_DATA ")" },
        { "certs", 0, "DIR", &args->certs, NULL,
          "the senders' certificates, AGS.cert_secret (env KREISHUB_CERTS,\n"
          "default KREISHUB_DIR/certs, else " S_UP_DIR "/certs)" },
        { "timeout", 't', "MS", &args->timeout, NULL,
          "wait this long for each answer (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { "check", 0, NULL, NULL, &args->check,
          "only read and check every message; publish nothing" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub demo", .once = true, .table = table,
        .shared = kh_cli_shared (cli),
        .about = "Replays the demo data through the hub, as the participants published it:\n"
                 "each message with its sender's certificate from --certs (as `kreishub up`\n"
                 "makes them in DIR/certs; --server-cert defaults to CERTS/server.cert), or\n"
                 "in plain mode with its sender as from, in the data's order and with its\n"
                 "dates as publication times. The ids are fixed: a second run stores nothing\n"
                 "twice. It stops at the first message the hub refuses, and ends with\n"
                 "'demo: N messages stored, M already there'.\n",
        .notes = "Exit status: 0 all stored or already there, 1 bad usage or data, 2 refused\n"
                 "by the hub, 3 no answer or unable to store now.\n"
    };
    int first;
    int rc = kh_opts_parse (&opts, argc, argv, &first);
    if (rc == KH_OPTS_GO && first < argc)
        rc = kh_opts_bad (&opts, "unexpected argument '%s'", argv [first]);
    return rc;
}

/* Writes the path of the installed demo data into path: beside this program's bin
   directory (an install anywhere, and the build tree, which holds a copy there),
   else where the package installs it. Returns path. */
static char *
s_default_data (char *path, size_t cap)
{
    char dir [PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", dir, sizeof dir - 1);
    dir [n > 0 ? n : 0] = 0;
    char *slash = strrchr (dir, '/'), found [PATH_MAX];
    if (slash) {
        *slash = 0;
        if (snprintf (path, cap, "%s/%s/%s", dir, KH_DEMO_REL, S_DATA) < (int) cap
        &&  realpath (path, found) && strlen (found) < cap) {
            memcpy (path, found, strlen (found) + 1);
            return path;
        }
    }
    snprintf (path, cap, "%s/%s", KH_DEMO_FULL, S_DATA);
    return path;
}

/* ------------------------------------------------------------ one line */

/* Copies the str value under key of map into out (cap bytes). Returns 0, or -1 with
   why set (absent, not a str, too long). */
static int
s_str (const msgpack_object *map, const char *key, char *out, size_t cap,
       kh_problem_t *why)
{
    const msgpack_object *value = kh_json_lookup (map, key);
    if (!value || value->type != MSGPACK_OBJECT_STR || value->via.str.size >= cap)
        return kh_problem (why, KH_EVALUE, "\"%s\" must be a string%s", key,
                           value ? " of the right size" : "");
    memcpy (out, value->via.str.ptr, value->via.str.size);
    out [value->via.str.size] = 0;
    return 0;
}

/* Says whether map holds a key other than the five of a line. Returns 0, or -1 with
   why set. */
static int
s_keys (const msgpack_object *map, kh_problem_t *why)
{
    static const char *const keys [] = { "as", "type", "id", "ts", "body" };
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        bool known = false;
        for (size_t k = 0; k < sizeof keys / sizeof keys [0]; k++)
            known = known || (key->type == MSGPACK_OBJECT_STR
                              && key->via.str.size == strlen (keys [k])
                              && memcmp (key->via.str.ptr, keys [k], key->via.str.size) == 0);
        if (!known)
            return kh_problem (why, KH_EUNKNOWNFIELD, "a line has the keys as, type, id, "
                               "ts and body, no other");
    }
    return 0;
}

/* Reads the pieces of one line, unpacked into map, into line. Returns 0, or -1
   with why set. */
static int
s_pieces (const msgpack_object *map, s_line_t *line, kh_problem_t *why)
{
    char id [KH_ID_STR_SIZE], ts [40];
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "a line is one JSON object");
    if (s_keys (map, why)
    ||  s_str (map, "as", line->as, sizeof line->as, why)
    ||  s_str (map, "type", line->type, sizeof line->type, why)
    ||  s_str (map, "id", id, sizeof id, why)
    ||  s_str (map, "ts", ts, sizeof ts, why))
        return -1;
    if (kh_id_parse (id, line->id))
        return kh_problem (why, KH_EVALUE, "id '%s' is not a UUID", id);
    if (kh_time_parse (ts, &line->ts))
        return kh_problem (why, KH_EVALUE, "ts '%s' is not a time (YYYY-MM-DD"
                           "[THH:MM[:SS]Z])", ts);
    const msgpack_object *body = kh_json_lookup (map, "body");
    if (!body || body->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EVALUE, "\"body\" must be an object");
    line->body = kh_json_from_object (body);
    return line->body ? 0 : kh_problem (why, KH_ENOMEM, "out of memory");
}

/* Reads one line of JSON text (len bytes) into line; the caller frees line->body.
   Returns 0, or -1 with why set. */
static int
s_line_read (const char *text, size_t len, s_line_t *line, kh_problem_t *why)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = kh_json_to_msgpack (text, len, &buf, why);
    if (rc == 0 && msgpack_unpack_next (&u, buf.data, buf.size, NULL)
                   != MSGPACK_UNPACK_SUCCESS)
        rc = kh_problem (why, KH_EMALFORMED, "not one JSON value");
    if (rc == 0)
        rc = s_pieces (&u.data, line, why);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Encodes line's envelope into builder (a new one in *builder_p). Returns 0, or -1
   with why set. */
static int
s_line_build (const s_line_t *line, kh_builder_t **builder_p, kh_problem_t *why)
{
    *builder_p = kh_builder_new (line->type);
    if (!*builder_p)
        return kh_problem (why, KH_ETYPE, "type '%s' is no message type", line->type);
    if (kh_json_set_body (*builder_p, line->body, strlen (line->body), why))
        return -1;
    return kh_builder_encode (*builder_p, line->id, line->as, line->ts, why);
}

/* ------------------------------------------------------------ the senders */

/* zhashx's destructor of a client. */
static void
s_client_free (void **item)
{
    kh_client_destroy ((kh_client_t **) item);
}

/* Creates the client that speaks for ags: with its certificate, which must be of
   ags, or plain. Returns it, or NULL after saying why on stderr. */
static kh_client_t *
s_client_new (s_replay_t *self, const char *ags)
{
    const char *endpoint = kh_cli_endpoint (self->cli);
    if (!self->certs)
        return kh_cli_client (self->cli);
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.cert_secret", self->certs, ags);
    kh_problem_t why;
    kh_keys_t *keys = kh_keys_load (path, self->server_cert, &why);
    if (!keys) {
        fprintf (stderr, "kreishub demo: %s\n", why.reason);
        return NULL;
    }
    kh_client_t *client = NULL;
    if (!streq (kh_keys_ags (keys), ags))
        fprintf (stderr, "kreishub demo: %s is the certificate of '%s', not of %s\n", path,
                 kh_keys_ags (keys), ags);
    else
    if (!(client = kh_client_new_watched (endpoint, keys)))
        fprintf (stderr, "kreishub: not a valid endpoint: %s\n", endpoint);
    kh_keys_destroy (&keys);
    return client;
}

/* Returns the client that speaks for ags (plain mode: the one client), made on its
   first use, or NULL after saying why. */
static kh_client_t *
s_client (s_replay_t *self, const char *ags)
{
    const char *key = self->certs ? ags : "plain";
    kh_client_t *client = (kh_client_t *) zhashx_lookup (self->clients, key);
    if (!client && (client = s_client_new (self, ags)))
        zhashx_insert (self->clients, key, client);
    return client;
}

/* ------------------------------------------------------------ the replay */

/* Says on stderr which line of path the hub refused or did not answer. */
static void
s_where (const char *path, size_t number, const s_line_t *line)
{
    char id [KH_ID_STR_SIZE], ts [25];
    kh_id_format (line->id, id);
    kh_time_format (line->ts, ts);
    fprintf (stderr, "kreishub demo: %s:%zu: %s %s from %s at %.10s was not stored:\n", path,
             number, line->type, id, line->as, ts);
}

/* Publishes line's envelope (in builder) as its sender and counts the outcome.
   Returns 0, or the exit status after saying why. */
static int
s_publish (s_replay_t *self, const char *path, size_t number, const s_line_t *line,
           const kh_builder_t *builder)
{
    kh_client_t *client = s_client (self, line->as);
    if (!client)
        return KH_EXIT_USAGE;
    size_t size;
    const void *envelope = kh_builder_data (builder, &size);
    uint64_t seq;
    bool dup = false;
    kh_error_reply_t err;
    int rc = kh_client_publish (client, envelope, size, self->timeout, S_RETRIES, &seq,
                                &dup, &err);
    if (rc) {
        s_where (path, number, line);
        return kh_cli_report (kh_cli_endpoint (self->cli), rc, &err, kh_client_link (client));
    }
    if (dup)
        self->dups++;
    else
        self->stored++;
    return 0;
}

/* Reads, builds and (unless only checking) publishes the line number of path, len
   bytes of text. Returns 0, or the exit status after saying why. */
static int
s_replay_line (s_replay_t *self, const char *path, size_t number, const char *text,
               size_t len, bool check)
{
    s_line_t line = { .body = NULL };
    kh_builder_t *builder = NULL;
    kh_problem_t why;
    int rc = 0;
    if (s_line_read (text, len, &line, &why) || s_line_build (&line, &builder, &why)) {
        fprintf (stderr, "kreishub demo: %s:%zu: %s: %s\n", path, number,
                 kh_errname (why.code), why.reason);
        rc = KH_EXIT_USAGE;
    }
    else
    if (check)
        self->stored++;
    else
        rc = s_publish (self, path, number, &line, builder);
    kh_builder_destroy (&builder);
    free (line.body);
    return rc;
}

/* True if the len bytes of text are blank or a comment (# first). */
static bool
s_skipped (const char *text, size_t len)
{
    size_t blank = strspn (text, " \t\r\n");
    return blank == len || text [blank] == '#';
}

/* Replays every line of path in order, stopping at the first that fails. Returns
   0, or the exit status after saying why. */
static int
s_replay (s_replay_t *self, const char *path, bool check)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "kreishub demo: cannot read the demo data %s: %s%s\n", path,
                 strerror (errno), errno == ENOENT ? " (give --data FILE)" : "");
        return KH_EXIT_USAGE;
    }
    char *text = NULL;
    size_t cap = 0, number = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline (&text, &cap, file)) >= 0)
        if (++number, !s_skipped (text, (size_t) len))
            rc = s_replay_line (self, path, number, text, (size_t) len, check);
    if (rc == 0 && ferror (file)) {
        fprintf (stderr, "kreishub demo: cannot read the demo data %s\n", path);
        rc = KH_EXIT_USAGE;
    }
    free (text);
    fclose (file);
    return rc;
}

/* Decides where the certificates are (none in plain mode, or when only checking)
   and the hub's certificate, into self; certs_buf and server_buf hold what is made
   up here. Returns 0, or -1 after saying why. */
static int
s_identities (s_replay_t *self, const s_args_t *args, char *certs_buf,
              char *server_buf, size_t cap)
{
    kh_cli_t *cli = self->cli;
    if (args->check || kh_cli_plain (cli))
        return 0;
    self->certs = kh_conf_get (args->certs, "KREISHUB_CERTS", NULL, NULL, NULL);
    if (!self->certs) {
        snprintf (certs_buf, cap, "%s/%s", kh_conf_get (NULL, "KREISHUB_DIR", NULL, NULL,
                                                        S_UP_DIR), KH_UP_CERTS_DIR);
        self->certs = certs_buf;
    }
    self->server_cert = kh_cli_server_cert (cli);
    if (!self->server_cert) {
        snprintf (server_buf, cap, "%s/server.cert", self->certs);
        self->server_cert = server_buf;
    }
    if (access (self->certs, X_OK) == 0)
        return 0;
    fprintf (stderr, "kreishub demo: no certificates in %s: give --certs DIR (where "
             "`kreishub up` made them, DATA/certs), or --plain for a hub in plain mode\n",
             self->certs);
    return -1;
}

int
kh_cmd_demo (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .data = NULL };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    s_replay_t self = { .cli = cli, .timeout = KH_CLI_TIMEOUT };
    char data [PATH_MAX], certs [PATH_MAX], server [PATH_MAX];
    const char *path = args.data ? args.data : s_default_data (data, sizeof data);
    if (kh_cli_int ("--timeout", args.timeout, &self.timeout)
    ||  s_identities (&self, &args, certs, server, sizeof certs))
        return KH_EXIT_USAGE;
    self.clients = zhashx_new ();
    if (!self.clients)
        return KH_EXIT_UNREACHABLE;
    zhashx_set_destructor (self.clients, s_client_free);
    rc = s_replay (&self, path, args.check);
    zhashx_destroy (&self.clients);
    if (rc == 0 && args.check)
        printf ("demo: %zu messages valid (%s)\n", self.stored, path);
    else
    if (rc == 0)
        printf ("demo: %zu messages stored, %zu already there\n", self.stored, self.dups);
    return rc;
}
