/*  kh_harness.c - process control for the integration tests (see kh_harness.h). */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_cert.h"
#include "kh_harness.h"
#include "kreishub/kreishub.h"

#define S_ARGS_MAX      32              /* flags of one program */
#define S_ADMIT_MS      5000            /* a new certificate is admitted within this */
#define S_ADMIT_PING_MS 100             /* one PING of kh_hub_await_admitted */
#define S_READY_MS      20000           /* a program must say READY within this */
#define S_STOP_MS       30000           /* and end within this after its signal */
#define S_REBIND_MS     5000            /* a restarted broker may wait this for a port */
#define S_REBIND_STEP_MS 5              /* trying again after this */

/* Returns the directory holding the kreishub programs. */
static const char *
s_bin_dir (void)
{
    const char *dir = getenv ("KH_BIN_DIR");
    return dir ? dir : ".";
}

/* Copies first (pairs) and more (NULL-terminated, may be NULL) into args. */
static void
s_args (const char *args [S_ARGS_MAX], const char *const *first, int count,
        const char *const *more)
{
    int n = 0;
    for (int i = 0; i < count; i++)
        args [n++] = first [i];
    for (int i = 0; more && more [i] && n < S_ARGS_MAX - 1; i++)
        args [n++] = more [i];
    args [n] = NULL;
}

/* Says why a program did not start, where its stderr is. Returns -1. */
static int
s_failed_start (kh_hub_t *hub)
{
    fprintf (stderr, "harness: %s (see %s)\n", kh_launch_why (hub->launch), hub->dir);
    return -1;
}

int
kh_hub_start_recorder (kh_hub_t *hub)
{
    char db [400], cert [340];
    snprintf (db, sizeof db, "%s/kreishub.db", hub->dir);
    snprintf (cert, sizeof cert, "%s/hub-" KH_HUB_KREIS ".cert", hub->certs);
    const char *first [] = { "--db", db, "--cert", cert, "--server-cert", hub->server_cert },
               *plain [] = { "--db", db, "--plain" }, *args [S_ARGS_MAX];
    s_args (args, hub->plain ? plain : first, hub->plain ? 3 : 6, hub->recorder_args);
    hub->recorder_pid = 0;
    if (kh_launch_recorder (hub->launch, args))
        return s_failed_start (hub);
    hub->recorder_pid = kh_proc_pid (kh_launch_recorder_proc (hub->launch));
    return 0;
}

/* True if the broker just started ended with status 1, as it does when it cannot
   bind an endpoint. */
static bool
s_bind_failed (kh_hub_t *hub)
{
    kh_proc_t *proc = kh_launch_broker_proc (hub->launch);
    int status = proc && !kh_proc_running (proc) ? kh_proc_status (proc) : -1;
    return status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 1;
}

/* Starts the broker with args. Its private copy of the clients directory goes into
   its TMPDIR: the hub's directory, removed with it also after a kill -9; ours stays
   as it was. */
static int
s_launch_broker (kh_hub_t *hub, const char *const *args)
{
    const char *was = getenv ("TMPDIR");
    char *saved = was ? strdup (was) : NULL;
    setenv ("TMPDIR", hub->dir, 1);
    int rc = kh_launch_broker (hub->launch, args);
    if (saved)
        setenv ("TMPDIR", saved, 1);
    else
        unsetenv ("TMPDIR");
    free (saved);
    return rc;
}

int
kh_hub_start_broker (kh_hub_t *hub)
{
    bool again = hub->client [0] && hub->live [0] && hub->recorder [0];
    /* "!": czmq picks a random free port. With "*" it takes the lowest free one from
       49152, so a port a killed broker frees would go at once to the next hub that a
       parallel test starts, and the restart on the same endpoints would fail. */
    char cert [340];
    snprintf (cert, sizeof cert, "%s/server.cert_secret", hub->certs);
    const char *first [] = { "--client", again ? hub->client : "tcp://127.0.0.1:!",
                             "--live", again ? hub->live : "tcp://127.0.0.1:!",
                             "--recorder", again ? hub->recorder : "tcp://127.0.0.1:!",
                             hub->plain ? "--plain" : "--cert", cert,
                             "--clients", hub->clients };
    const char *args [S_ARGS_MAX];
    s_args (args, first, hub->plain ? 7 : 10, hub->broker_args);
    hub->broker_pid = 0;
    int rc = s_launch_broker (hub, args);
    /* The broker before was reaped, so its sockets are closed and its ports free;
       yet another socket may have taken one meanwhile (a connection's ephemeral
       port), and nothing tells when it lets go: while the broker exits 1 (it could
       not bind), try again soon, for a while. */
    int64_t end = zclock_mono () + S_REBIND_MS;
    while (again && rc == -1 && s_bind_failed (hub) && zclock_mono () < end) {
        usleep (S_REBIND_STEP_MS * 1000);
        rc = s_launch_broker (hub, args);
    }
    if (rc)
        return s_failed_start (hub);
    hub->broker_pid = kh_proc_pid (kh_launch_broker_proc (hub->launch));
    snprintf (hub->client, sizeof hub->client, "%s", kh_launch_endpoint (hub->launch, "client"));
    snprintf (hub->live, sizeof hub->live, "%s", kh_launch_endpoint (hub->launch, "live"));
    snprintf (hub->recorder, sizeof hub->recorder, "%s",
              kh_launch_endpoint (hub->launch, "recorder"));
    return 0;
}

/* ------------------------------------------------------------ certificates */

/* The identity of who (see kh_hub_cert) and the base of its files. Returns 0, or -1
   if who is none the harness knows how to make. */
static int
s_identity (const char *who, kh_ident_t *ident, char *base, size_t cap)
{
    memset (ident, 0, sizeof *ident);
    size_t len = strlen (who);
    if (streq (who, "admin")) {
        snprintf (ident->ags, sizeof ident->ags, KH_HUB_KREIS);
        ident->role = KH_ROLE_ADMIN;
        snprintf (base, cap, "admin");
    }
    else
    if (kh_ags_valid (who, len)) {
        snprintf (ident->ags, sizeof ident->ags, "%s", who);
        ident->role = len == 5 ? KH_ROLE_KREIS : KH_ROLE_MUNICIPALITY;
        snprintf (base, cap, "%s", who);
    }
    else
        return -1;
    snprintf (ident->name, sizeof ident->name, "test %s", who);
    return 0;
}

/* Makes the pair base in the certs directory; admit: its public part goes into the
   clients directory too. Returns 0, or -1 after saying why. */
static int
s_make (kh_hub_t *hub, const char *base, const kh_ident_t *ident, bool admit)
{
    char path [400], copy [400];
    kh_problem_t why;
    if (kh_cert_create (hub->certs, base, ident, path, sizeof path, &why)) {
        fprintf (stderr, "harness: %s\n", why.reason);
        return -1;
    }
    snprintf (copy, sizeof copy, "%s/%s.cert", hub->clients, base);
    zcert_t *cert = admit ? zcert_load (path) : NULL;
    int rc = admit && (!cert || zcert_save_public (cert, copy)) ? -1 : 0;
    zcert_destroy (&cert);
    if (rc)
        fprintf (stderr, "harness: cannot write %s\n", copy);
    return rc;
}

/* Makes the certificates a secure hub starts with (see kh_harness.h). */
static int
s_certificates (kh_hub_t *hub)
{
    static const char *const members [] = { KH_HUB_KREIS, "05162004", "05162008",
        "05162012", "05162016", "05162020", "05162022", "05162024", "05162028", "admin" };
    kh_ident_t server = { .name = "kreishub test hub" };
    kh_ident_t recorder = { .ags = KH_HUB_KREIS, .name = "recorder", .role = KH_ROLE_HUB };
    if (zsys_dir_create ("%s", hub->clients)
    ||  s_make (hub, "server", &server, false)
    ||  s_make (hub, "hub-" KH_HUB_KREIS, &recorder, true))
        return -1;
    for (size_t i = 0; i < sizeof members / sizeof members [0]; i++) {
        kh_ident_t ident;
        char base [32];
        if (s_identity (members [i], &ident, base, sizeof base)
        ||  s_make (hub, base, &ident, true))
            return -1;
    }
    return 0;
}

const char *
kh_hub_cert (kh_hub_t *hub, const char *who)
{
    kh_ident_t ident;
    char base [32];
    if (hub->plain || s_identity (who, &ident, base, sizeof base)) {
        fprintf (stderr, "harness: no certificate for '%s'%s\n", who,
                 hub->plain ? " on a plain hub" : "");
        return NULL;
    }
    snprintf (hub->cert, sizeof hub->cert, "%s/%s.cert", hub->certs, base);
    if (access (hub->cert, R_OK) == 0)
        return hub->cert;
    if (s_make (hub, base, &ident, true)
    ||  kh_hub_await_admitted (hub, hub->cert, S_ADMIT_MS))
        return NULL;
    return hub->cert;
}

int
kh_hub_await_admitted (kh_hub_t *hub, const char *path, int timeout_ms)
{
    kh_problem_t why;
    kh_keys_t *keys = kh_keys_load (path, hub->server_cert, &why);
    if (!keys) {
        fprintf (stderr, "harness: %s\n", why.reason);
        return -1;
    }
    int64_t deadline = zclock_mono () + timeout_ms;
    int rc = KH_ETIMEOUT;
    while (rc == KH_ETIMEOUT && zclock_mono () < deadline) {
        /* A new connection each time: one the broker refused is not asked again. */
        kh_client_t *client = kh_client_new_secure (hub->client, keys);
        rc = client ? kh_client_ping (client, S_ADMIT_PING_MS, NULL, NULL) : -1;
        kh_client_destroy (&client);
    }
    kh_keys_destroy (&keys);
    if (rc == KH_ETIMEOUT)
        fprintf (stderr, "harness: %s is not admitted within %d ms\n", path, timeout_ms);
    return rc == KH_ETIMEOUT || rc == -1 ? -1 : 0;
}

kh_keys_t *
kh_hub_keys (kh_hub_t *hub, const char *who)
{
    const char *cert = kh_hub_cert (hub, who);
    kh_problem_t why;
    kh_keys_t *keys = cert ? kh_keys_load (cert, hub->server_cert, &why) : NULL;
    if (cert && !keys)
        fprintf (stderr, "harness: %s\n", why.reason);
    return keys;
}

kh_client_t *
kh_hub_client (kh_hub_t *hub, const char *who)
{
    if (hub->plain)
        return kh_client_new (hub->client);
    kh_keys_t *keys = kh_hub_keys (hub, who);
    kh_client_t *client = keys ? kh_client_new_secure (hub->client, keys) : NULL;
    kh_keys_destroy (&keys);
    return client;
}

kh_subscriber_t *
kh_hub_subscriber (kh_hub_t *hub, const char *who, const char *type, const char *from,
                   uint64_t since_seq)
{
    if (hub->plain)
        return kh_subscriber_new (hub->client, hub->live, type, from, since_seq);
    kh_keys_t *keys = kh_hub_keys (hub, who);
    kh_subscriber_t *sub = keys ? kh_subscriber_new_secure (hub->client, hub->live, keys,
                                                            type, from, since_seq) : NULL;
    kh_keys_destroy (&keys);
    return sub;
}

/* A socket of type that speaks for who (plain on a plain hub), not connected yet;
   NULL on failure. */
static zsock_t *
s_socket_as (kh_hub_t *hub, const char *who, int type)
{
    zsock_t *sock = NULL;
    zcert_t *ours = NULL, *server = NULL;
    if (!hub->plain) {
        const char *cert = kh_hub_cert (hub, who);
        ours = cert ? zcert_load (cert) : NULL;
        server = ours ? zcert_load (hub->server_cert) : NULL;
        if (!server) {
            zcert_destroy (&ours);
            return NULL;
        }
    }
    sock = zsock_new (type);
    if (sock && ours) {
        zcert_apply (ours, sock);
        zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    }
    zcert_destroy (&ours);
    zcert_destroy (&server);
    return sock;
}

zsock_t *
kh_hub_dealer (kh_hub_t *hub, const char *who)
{
    zsock_t *sock = s_socket_as (hub, who, ZMQ_DEALER);
    if (sock && zsock_connect (sock, "%s", hub->client))
        zsock_destroy (&sock);
    return sock;
}

zsock_t *
kh_hub_sub (kh_hub_t *hub, const char *who, const char *topic)
{
    zsock_t *sock = s_socket_as (hub, who, ZMQ_SUB);
    if (sock)
        zsock_set_subscribe (sock, topic);
    if (sock && zsock_connect (sock, "%s", hub->live))
        zsock_destroy (&sock);
    return sock;
}

/* ------------------------------------------------------------ starting */

/* Starts a hub, plain or secure. */
static int
s_start (kh_hub_t *hub, bool plain, const char *const *extra,
         const char *const *recorder_args)
{
    memset (hub, 0, sizeof *hub);
    hub->plain = plain;
    if (!plain)
        unsetenv ("KREISHUB_PLAIN");    /* the programs would take it: a secure hub */
    hub->recorder_args = recorder_args;
    hub->broker_args = extra;
    snprintf (hub->dir, sizeof hub->dir, "/tmp/kh-test-XXXXXX");
    if (!mkdtemp (hub->dir))
        return -1;
    snprintf (hub->certs, sizeof hub->certs, "%s/certs", hub->dir);
    snprintf (hub->clients, sizeof hub->clients, "%s/clients", hub->dir);
    snprintf (hub->server_cert, sizeof hub->server_cert, "%s/server.cert", hub->certs);
    if (!plain && s_certificates (hub))
        return -1;
    char admin [340];
    snprintf (admin, sizeof admin, "%s/admin.cert", hub->certs);
    hub->admin = plain ? NULL : kh_keys_load (admin, hub->server_cert, NULL);
    kh_launch_opts_t opts = { .bin_dir = s_bin_dir (), .wrap = getenv ("KH_WRAP"),
                              .log_dir = hub->dir, .ready_ms = S_READY_MS,
                              .keys = hub->admin };
    hub->launch = kh_launch_new (&opts);
    if (!hub->launch || (!plain && !hub->admin)
    ||  kh_hub_start_broker (hub) || kh_hub_start_recorder (hub))
        return -1;
    return kh_hub_await_link (hub, S_READY_MS);
}

int
kh_hub_start (kh_hub_t *hub, const char *const *extra, const char *const *recorder_args)
{
    return s_start (hub, false, extra, recorder_args);
}

int
kh_hub_start_plain (kh_hub_t *hub, const char *const *extra,
                    const char *const *recorder_args)
{
    return s_start (hub, true, extra, recorder_args);
}

int
kh_hub_await_link (kh_hub_t *hub, int timeout_ms)
{
    int rc = kh_launch_await_link (hub->launch, timeout_ms);
    if (rc)
        fprintf (stderr, "harness: %s\n", kh_launch_why (hub->launch));
    return rc ? -1 : 0;
}

/* Sends sig to proc, waits for it and clears *pid; returns its wait status, or -1 if
   it was not running or had to be killed. */
static int
s_stop (kh_proc_t *proc, pid_t *pid, int sig)
{
    *pid = 0;
    if (!proc || kh_proc_signal (proc, sig))
        return proc && kh_proc_status (proc) != -1 ? kh_proc_status (proc) : -1;
    return kh_proc_reap (proc, S_STOP_MS);
}

int
kh_hub_stop_recorder (kh_hub_t *hub, int sig)
{
    kh_proc_t *proc = hub->launch ? kh_launch_recorder_proc (hub->launch) : NULL;
    return s_stop (proc, &hub->recorder_pid, sig);
}

int
kh_hub_stop_broker (kh_hub_t *hub, int sig)
{
    kh_proc_t *proc = hub->launch ? kh_launch_broker_proc (hub->launch) : NULL;
    return s_stop (proc, &hub->broker_pid, sig);
}

int
kh_hub_stop (kh_hub_t *hub, bool keep)
{
    int rc = 0;
    pid_t *pids [2] = { &hub->recorder_pid, &hub->broker_pid };
    const char *names [2] = { "recorder", "broker" };
    for (int i = 0; i < 2; i++) {
        if (*pids [i] <= 0)
            continue;
        int status = i == 0 ? kh_hub_stop_recorder (hub, SIGTERM)
                            : kh_hub_stop_broker (hub, SIGTERM);
        if (status == -1 || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "harness: %s ended with status 0x%x\n", names [i], status);
            rc = -1;
        }
    }
    kh_launch_destroy (&hub->launch);
    kh_keys_destroy (&hub->admin);
    if (!keep && hub->dir [0]) {
        char cmd [400];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", hub->dir);
        if (system (cmd) != 0)
            rc = -1;
    }
    return rc;
}

/* Copies into who (cap bytes) the sender that command names with --from, if it is
   an AGS the harness can make a certificate for; else "admin". */
static void
s_sender_of (const char *command, char *who, size_t cap)
{
    const char *from = strstr (command, "--from ");
    size_t len = from ? strspn (from + 7, "0123456789") : 0;
    if (from && kh_ags_valid (from + 7, len) && len < cap)
        snprintf (who, cap, "%.*s", (int) len, from + 7);
    else
        snprintf (who, cap, "admin");
}

/* Runs the command of fmt with args in a shell as who (NULL: as the sender the
   command names, else the admin), as kh_hub_run says. */
static int
s_run (kh_hub_t *hub, const char *who, char *out, size_t cap, const char *fmt,
       va_list args)
{
    char cmd [4096], command [3072], identity [800] = "KREISHUB_PLAIN=1", sender [16];
    int size = vsnprintf (command, sizeof command, fmt, args);
    if (size < 0 || (size_t) size >= sizeof command)
        return -1;
    if (!who)
        s_sender_of (command, sender, sizeof sender);
    const char *cert = hub->plain ? NULL : kh_hub_cert (hub, who ? who : sender);
    if (!hub->plain && !cert)
        return -1;
    if (cert)
        snprintf (identity, sizeof identity, "KREISHUB_CERT='%s' KREISHUB_SERVER_CERT='%s'",
                  cert, hub->server_cert);
    size = snprintf (cmd, sizeof cmd, "PATH='%s':\"$PATH\" KREISHUB_ENDPOINT='%s' "
                     "KREISHUB_LIVE='%s' %s %s", s_bin_dir (), hub->client, hub->live,
                     identity, command);
    if (size < 0 || (size_t) size >= sizeof cmd)
        return -1;                      /* a cut command must not run */
    FILE *pipe = popen (cmd, "r");
    if (!pipe)
        return -1;
    size_t used = 0;
    if (out && cap) {
        size_t got;
        while (used < cap - 1 && (got = fread (out + used, 1, cap - 1 - used, pipe)) > 0)
            used += got;
        out [used] = 0;
    }
    char sink [4096];
    while (fread (sink, 1, sizeof sink, pipe) > 0)
        ;
    int status = pclose (pipe);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

int
kh_hub_run (kh_hub_t *hub, char *out, size_t cap, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    int rc = s_run (hub, NULL, out, cap, fmt, args);
    va_end (args);
    return rc;
}

int
kh_hub_run_as (kh_hub_t *hub, const char *who, char *out, size_t cap, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    int rc = s_run (hub, who, out, cap, fmt, args);
    va_end (args);
    return rc;
}

void
kh_hub_next_ms (void)
{
    uint64_t now = kh_now_ms ();
    while (kh_now_ms () <= now)
        usleep (100);
}

char *
kh_hub_slurp (const char *path, char *out, size_t cap)
{
    FILE *file = fopen (path, "r");
    size_t n = file ? fread (out, 1, cap - 1, file) : 0;
    out [n] = 0;
    if (file)
        fclose (file);
    return out;
}

int
kh_hub_lines (const char *text)
{
    int count = 0;
    for (; *text; text++)
        count += *text == '\n';
    return count;
}
