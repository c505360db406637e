/*  kreishub_web.c - the kreishub-web program: options, READY, serve the pages, stop. */
#include <sys/resource.h>
#include "kh_conf.h"
#include "kh_daemon.h"
#include "kh_opts.h"
#include "kh_plain.h"
#include "kh_ready.h"
#include "kh_recorder.h"
#include "kh_value.h"
#include "kh_web.h"
#include "kh_web_auth.h"
#include "kh_web_forms.h"
#include "kh_web_live.h"
#include "kh_web_pages.h"

#define S_PROGRAM       "kreishub-web"
#define S_LISTEN        "127.0.0.1:7780"
#define S_FILES_WANTED  4096            /* descriptors: 1000 connections and the stores */

/* What the command line says; NULL/unset values fall back to the config file. */
typedef struct {
    const char *config;                 /* -c FILE */
    const char *listen;
    const char *db;
    const char *client;
    const char *live;
    const char *certs;
    const char *cert;
    const char *server_cert;
    const char *users;
    const char *per_ip;                 /* --per-address N */
    bool        public_read;
    bool        plain;
    bool        insecure_dev;
} s_args_t;

/* Parses argv into args and starts the daemon with the config file it names.
   Returns KH_DAEMON_GO, or the exit status. */
static int
s_start (int argc, char *argv [], s_args_t *args, zconfig_t **root)
{
    const kh_opt_t table [] = {
        { "config", 'c', "FILE", &args->config, NULL,
          "read sections 'web' and 'kreis' of a ZPL file (flags win)" },
        { "listen", 0, "ADDR:PORT", &args->listen, NULL,
          "where to serve HTTP (default " S_LISTEN "; [::1]:7780 for IPv6)" },
        { "db", 0, "PATH", &args->db, NULL, "the recorder's store, read only\n(default "
          KH_RECORDER_DB ")" },
        { "client", 0, "EP", &args->client, NULL,
          "the broker's client endpoint (default " KH_DEFAULT_CLIENT ")" },
        { "live", 0, "EP", &args->live, NULL,
          "the broker's live endpoint (default " KH_DEFAULT_LIVE ")" },
        { "certs", 0, "DIR", &args->certs, NULL, "the certificates of the Kreis and its "
          "members (kreishub up's\nDATA/certs); admin.cert_secret and server.cert are taken "
          "from there\nunless --cert and --server-cert say otherwise" },
        { "cert", 0, "FILE", &args->cert, NULL, "our certificate for reading the broker's "
          "counters" },
        { "server-cert", 0, "FILE", &args->server_cert, NULL,
          "the broker's public certificate (server.cert)" },
        { "users", 0, "FILE", &args->users, NULL, "the web users (kreishub web-user add), "
          "default DATA/web-users" },
        { "per-address", 0, "N", &args->per_ip, NULL, "connections from one address at most "
          "(web/per_address,\ndefault 64; behind a reverse proxy on this machine every "
          "client\nhas its address: raise it there, the proxy limits each client)" },
        { "public", 0, NULL, NULL, &args->public_read, "the catalogue, items and statistics "
          "are readable without\nsigning in" },
        { "plain", 0, NULL, NULL, &args->plain, "no CURVE: a broker in plain mode on this "
          "machine\n(env KREISHUB_PLAIN=1)" },
        { "insecure-dev", 0, NULL, NULL, &args->insecure_dev, "development only: no "
          "sign-in, every request counts as an\nadmin's (loopback addresses only)" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = S_PROGRAM, .table = table, .version = true,
        .about = "Serves the hub as web pages: the catalogue, items with their timeline, "
                 "the log,\nthe statistics and the audit, read from the store.\n",
        .notes = "Prints 'READY url=http://ADDR:PORT/ db=PATH' on stdout once it serves.\n"
                 "Exit status: 0 after SIGINT/SIGTERM, 1 if the configuration is bad or the "
                 "store\nor the address cannot be opened, 2 for bad usage.\n"
    };
    return kh_daemon_start (&opts, argc, argv, &args->config, root);
}

/* Splits "ADDR:PORT" or "[V6]:PORT" into address (cap bytes) and *port.
   Returns 0, or -1 after saying why. */
static int
s_listen (const char *text, char *address, size_t cap, uint16_t *port)
{
    const char *colon = strrchr (text, ':');
    const char *begin = text, *end = colon;
    if (text [0] == '[') {
        begin = text + 1;
        end = colon && colon > text && colon [-1] == ']' ? colon - 1 : NULL;
    }
    uint64_t n;
    if (!colon || !end || end <= begin || (size_t) (end - begin) >= cap
    ||  kh_value_number (S_PROGRAM, "listen port", colon + 1, 0, 65535, &n)) {
        fprintf (stderr, S_PROGRAM ": --listen takes ADDR:PORT, not '%s'\n", text);
        return -1;
    }
    snprintf (address, cap, "%.*s", (int) (end - begin), begin);
    *port = (uint16_t) n;
    return 0;
}

/* A file in dir, if dir is given and it exists there; else NULL. */
static const char *
s_in_dir (const char *dir, const char *name, char *path, size_t cap)
{
    if (!dir)
        return NULL;
    snprintf (path, cap, "%s/%s", dir, name);
    return zsys_file_exists (path) ? path : NULL;
}

/* Decides how the node reaches the broker: plain (checked and said), or with
   our certificate and the broker's. Returns 0, or -1 after saying why. */
static int
s_trust (const s_args_t *args, zconfig_t *root, kh_web_config_t *config, char *cert,
         char *server, size_t cap)
{
    if (kh_plain_asked (args->plain, root, "web/plain")) {
        const char *endpoints [] = { config->client_ep, config->live_ep, NULL };
        return kh_plain_start (S_PROGRAM, endpoints, 2);
    }
    config->cert = kh_conf_get (args->cert, NULL, root, "web/cert",
                                s_in_dir (config->certs, "admin.cert_secret", cert, cap));
    config->server_cert = kh_conf_get (args->server_cert, NULL, root, "web/server_cert",
                                       s_in_dir (config->certs, "server.cert", server, cap));
    if (config->cert && config->server_cert)
        return 0;
    fprintf (stderr, S_PROGRAM ": the broker's endpoints are CURVE: give --certs DIR (with "
             "admin.cert_secret and server.cert),\n" S_PROGRAM ": or --cert and --server-cert, or "
             "--plain for development on this machine\n");
    return -1;
}

/* Builds the server's configuration: defaults, then the config file, then
   flags. Returns 0, or -1 after saying why. Strings point into args, root or
   the buffers. */
static int
s_configure (const s_args_t *args, zconfig_t *root, kh_web_config_t *config,
             char *address, char *cert, char *server, size_t cap)
{
    const char *listen = kh_conf_get (args->listen, NULL, root, "web/listen", S_LISTEN);
    if (s_listen (listen, address, cap, &config->port))
        return -1;
    config->address = address;
    config->db = kh_conf_get (args->db, NULL, root, "web/db", KH_RECORDER_DB);
    config->client_ep = kh_conf_get (args->client, NULL, root, "web/client", KH_DEFAULT_CLIENT);
    config->live_ep = kh_conf_get (args->live, NULL, root, "web/live", KH_DEFAULT_LIVE);
    config->certs = kh_conf_get (args->certs, NULL, root, "web/certs", NULL);
    config->users = kh_conf_get (args->users, NULL, root, "web/users", NULL);
    config->public_read = args->public_read
                       || kh_value_yes (kh_conf_get (NULL, NULL, root, "web/public", NULL));
    config->insecure_dev = args->insecure_dev;
    uint64_t per_ip = KH_WEB_PER_IP;
    const char *per_text = kh_conf_get (args->per_ip, NULL, root, "web/per_address", NULL);
    if (per_text && kh_value_number (S_PROGRAM, "--per-address", per_text, 1,
                                     KH_WEB_CONNECTIONS, &per_ip))
        return -1;
    config->per_ip = (unsigned) per_ip;
    char url [PATH_MAX + 16];
    snprintf (url, sizeof url, "tcp://%s:1", address);
    if (config->insecure_dev && !kh_endpoint_local (url)) {
        fprintf (stderr, S_PROGRAM ": --insecure-dev serves only a loopback address, "
                 "not %s\n", address);
        return -1;
    }
    return s_trust (args, root, config, cert, server, cap);
}

/* Raises the soft limit of open files toward S_FILES_WANTED (the hard limit
   permitting), so that 1000 connections fit. */
static void
s_files (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) || limit.rlim_cur >= S_FILES_WANTED)
        return;
    limit.rlim_cur = limit.rlim_max < S_FILES_WANTED ? limit.rlim_max : S_FILES_WANTED;
    if (setrlimit (RLIMIT_NOFILE, &limit))
        zsys_warning ("web: cannot raise the limit of open files");
}

/* What serves besides the pages: sign-in and forms (none in development mode),
   and the live streams. */
typedef struct {
    kh_web_gate_t  *gate;
    kh_web_forms_t *forms;
    kh_web_live_t  *live;
    char            users [PATH_MAX];   /* the users file's path */
} s_parts_t;

/* Makes the parts of web: the live streams always; sign-in and forms (the
   server's auth hook) unless in development mode. Returns 0, or -1 after
   saying why. */
static int
s_parts_new (s_parts_t *parts, kh_web_t *web, const kh_web_config_t *config, bool secure)
{
    kh_web_live_config_t live = { .client_ep = config->client_ep, .live_ep = config->live_ep,
                                  .cert = config->cert, .server_cert = config->server_cert };
    kh_problem_t why = { .reason = "out of memory" };
    parts->live = kh_web_live_new (&live, &why);
    if (!parts->live || kh_web_live_attach (parts->live, web)) {
        fprintf (stderr, S_PROGRAM ": the live updates: %s\n", why.reason);
        return -1;
    }
    if (config->insecure_dev)
        return 0;
    if (config->users)
        snprintf (parts->users, sizeof parts->users, "%s", config->users);
    else {                              /* DATA/web-users, DATA the store's directory */
        const char *slash = strrchr (config->db, '/');
        snprintf (parts->users, sizeof parts->users, "%.*s%s",
                  slash ? (int) (slash - config->db + 1) : 0, config->db, "web-users");
    }
    parts->gate = kh_web_gate_new (parts->users, secure);
    parts->forms = parts->gate ? kh_web_forms_new (parts->gate) : NULL;
    if (!parts->forms || kh_web_forms_attach (parts->forms, web)) {
        fprintf (stderr, S_PROGRAM ": cannot set up signing in\n");
        return -1;
    }
    return 0;
}

/* Ends the parts in the order they need: the streams first, then the server,
   then the rest. */
static void
s_parts_destroy (s_parts_t *parts, kh_web_t **web_p)
{
    if (parts->live)
        kh_web_live_stop (parts->live);
    kh_web_destroy (web_p);
    kh_web_live_destroy (&parts->live);
    kh_web_forms_destroy (&parts->forms);
    kh_web_gate_destroy (&parts->gate);
}

/* Serves until SIGINT or SIGTERM. Returns the exit status. */
static int
s_serve (const kh_web_config_t *config, bool secure)
{
    kh_problem_t why = { 0 };
    s_parts_t parts = { 0 };
    kh_web_t *web = kh_web_new (config, &why);
    if (!web) {
        fprintf (stderr, S_PROGRAM ": %s\n", why.reason);
        return KH_DAEMON_FAILED;
    }
    kh_web_add_routes (web, kh_web_pages_routes (), NULL);
    if (s_parts_new (&parts, web, config, secure)) {
        s_parts_destroy (&parts, &web);
        return KH_DAEMON_FAILED;
    }
    char url [300], port [8];
    snprintf (port, sizeof port, "%u", (unsigned) kh_web_port (web));
    snprintf (url, sizeof url, strchr (config->address, ':') ? "http://[%s]:%s/"
              : "http://%s:%s/", config->address, port);
    kh_ready_print (stdout, "url", url, "db", config->db, NULL);
    if (config->insecure_dev)
        zsys_info ("web: serving %s from %s (insecure development mode: no sign-in, "
                   "everyone is admin)", url, config->db);
    else
        zsys_info ("web: serving %s from %s, users %s%s", url, config->db, parts.users,
                   config->public_read ? ", catalogue public" : "");
    while (!zsys_interrupted)
        zclock_sleep (100);
    zsys_info ("web: stopping");
    s_parts_destroy (&parts, &web);
    return 0;
}

int
main (int argc, char *argv [])
{
    s_args_t args = { 0 };
    zconfig_t *root = NULL;
    int rc = s_start (argc, argv, &args, &root);
    if (rc != KH_DAEMON_GO)
        return rc;
    kh_web_config_t config = { 0 };
    char address [PATH_MAX], cert [PATH_MAX], server [PATH_MAX];
    kh_problem_t why = { 0 };
    kh_members_t *members = NULL;
    rc = KH_DAEMON_FAILED;
    if (s_configure (&args, root, &config, address, cert, server, sizeof cert) == 0) {
        members = kh_members_load (root, &why);
        if (!members)
            fprintf (stderr, S_PROGRAM ": %s\n", why.reason);
    }
    if (members) {
        config.members = members;
        s_files ();
        rc = s_serve (&config, kh_value_yes (kh_conf_get (NULL, NULL, root, "web/secure",
                                                          NULL)));
    }
    kh_members_destroy (&members);
    zconfig_destroy (&root);
    return rc;
}
