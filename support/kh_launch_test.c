/*  kh_launch_test.c - the real broker and recorder (env KH_BIN_DIR) started, linked,
    stopped, secure as in production; a broker that refuses the launcher's ping, or
    cannot bind, gives up at once and says so; a wrapper runs them; a wake-up ends a
    wait. */
#include <czmq.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_cert.h"
#include "kh_check.h"
#include "kh_launch.h"
#include "kh_ready.h"
#include "kreishub/kreishub.h"

static char s_dir [] = "/tmp/kh-launch-XXXXXX";
static char s_certs [64], s_clients [64];      /* the certificates, what is admitted */

/* Makes the pair base in s_certs with ident; admit: its public part goes into
   s_clients. */
static void
s_make (const char *base, const kh_ident_t *ident, bool admit)
{
    char path [256], copy [256];
    kh_problem_t why;
    if (kh_cert_create (s_certs, base, ident, path, sizeof path, &why))
        printf ("launch_test: %s\n", why.reason);
    if (!admit)
        return;
    snprintf (copy, sizeof copy, "%s/%s.cert", s_clients, base);
    zcert_t *cert = zcert_load (path);
    if (!cert || zcert_save_public (cert, copy))
        printf ("launch_test: cannot write %s\n", copy);
    zcert_destroy (&cert);
}

/* Keys of the pair base, with the server's. */
static kh_keys_t *
s_keys (const char *base)
{
    char cert [256], server [256];
    snprintf (cert, sizeof cert, "%s/%s.cert", s_certs, base);
    snprintf (server, sizeof server, "%s/server.cert", s_certs);
    return kh_keys_load (cert, server, NULL);
}

/* A launcher with the programs from KH_BIN_DIR and their stderr in the test's dir,
   which pings as the admin, or as keys if not NULL. */
static kh_launch_t *
s_launcher_as (const char *wrap, const kh_keys_t *keys)
{
    static kh_keys_t *admin;
    if (!admin)
        admin = s_keys ("admin");       /* for the test's life */
    kh_launch_opts_t opts = { .bin_dir = getenv ("KH_BIN_DIR"), .log_dir = s_dir,
                              .wrap = wrap, .ready_ms = 20000, .keys = keys ? keys : admin };
    return kh_launch_new (&opts);
}

static kh_launch_t *
s_launcher (const char *wrap)
{
    return s_launcher_as (wrap, NULL);
}

/* Starts a secure hub on random loopback ports with its store in the test's dir. */
static int
s_start (kh_launch_t *launch)
{
    char db [128], server [128], hub [128];
    snprintf (db, sizeof db, "%s/kreishub.db", s_dir);
    snprintf (server, sizeof server, "%s/server.cert", s_certs);
    snprintf (hub, sizeof hub, "%s/hub.cert", s_certs);
    const char *broker [] = { "--client", "tcp://127.0.0.1:!", "--live", "tcp://127.0.0.1:!",
                              "--recorder", "tcp://127.0.0.1:!", "--cert", server,
                              "--clients", s_clients, NULL };
    const char *recorder [] = { "--db", db, "--sync", "off", "--cert", hub,
                                "--server-cert", server, NULL };
    return kh_launch_start (launch, broker, recorder);
}

static void
s_test_hub (void)
{
    kh_launch_t *launch = s_launcher (NULL);
    int64_t start = zclock_mono ();
    int rc = launch ? s_start (launch) : -2;
    KH_CHECK ("a broker and a recorder start and link", rc == 0, "rc %d: %s", rc,
              launch ? kh_launch_why (launch) : "");
    const char *client = launch ? kh_launch_endpoint (launch, "client") : "";
    KH_CHECK ("the broker's endpoints come from its READY line",
              strncmp (client, "tcp://127.0.0.1:", 16) == 0
              && strncmp (kh_launch_endpoint (launch, "live"), "tcp://127.0.0.1:", 16) == 0
              && strncmp (kh_launch_endpoint (launch, "recorder"), "tcp://127.0.0.1:", 16) == 0
              && !strchr (client, '!'), "client '%s'", client);
    char db [256] = "";
    kh_proc_t *recorder = launch ? kh_launch_recorder_proc (launch) : NULL;
    kh_ready_get (recorder ? kh_proc_ready (recorder) : NULL, "db", db, sizeof db);
    KH_CHECK ("the recorder's READY line names its store", strstr (db, "/kreishub.db"),
              "db '%s'", db);
    kh_keys_t *keys = s_keys ("admin");
    kh_client_t *ping = rc == 0 ? kh_client_new_secure (client, keys) : NULL;
    kh_keys_destroy (&keys);
    bool linked = false;
    uint64_t head = 1;
    rc = ping ? kh_client_ping (ping, 5000, &head, &linked) : -1;
    KH_CHECK ("once started, the hub answers at once with a recorder", rc == 0 && linked
              && head == 0, "rc %d linked %d head %llu", rc, linked,
              (unsigned long long) head);
    kh_client_destroy (&ping);
    rc = launch ? kh_launch_stop (launch) : -2;
    KH_CHECK ("both stop cleanly on SIGTERM", rc == 0, "%s", launch ? kh_launch_why (launch)
                                                                   : "");
    KH_CHECK ("all in moments", zclock_mono () - start < 20000, "%d ms",
              (int) (zclock_mono () - start));
    kh_launch_destroy (&launch);
    KH_CHECK ("destroy nulls the pointer", launch == NULL, "not");
}

static void
s_test_taken (void)
{
    kh_launch_t *first = s_launcher (NULL), *second = s_launcher (NULL);
    int rc = first ? s_start (first) : -2;
    char client [256];
    snprintf (client, sizeof client, "%s", first ? kh_launch_endpoint (first, "client") : "");
    char server [128];
    snprintf (server, sizeof server, "%s/server.cert", s_certs);
    const char *args [] = { "--client", client, "--live", "tcp://127.0.0.1:!",
                            "--recorder", "tcp://127.0.0.1:!", "--cert", server,
                            "--clients", s_clients, NULL };
    int64_t start = zclock_mono ();
    rc = rc == 0 && second ? kh_launch_broker (second, args) : -2;
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a broker whose port is taken gives up at once, with its status",
              rc == -1 && took < 5000 && streq (kh_launch_why (second),
              "kreishub-broker exited with status 1 before it said READY"),
              "rc %d after %d ms: %s", rc, (int) took, second ? kh_launch_why (second) : "");
    char path [128], text [4096] = "";
    snprintf (path, sizeof path, "%s/kreishub-broker.err", s_dir);
    FILE *file = fopen (path, "r");
    size_t n = file ? fread (text, 1, sizeof text - 1, file) : 0;
    text [n] = 0;
    if (file)
        fclose (file);
    KH_CHECK ("and its stderr, kept in the log dir, names the endpoint", strstr (text, client),
              "'%s' not in '%s'", client, text);
    KH_CHECK ("the hub that holds the port runs on", first
              && kh_proc_running (kh_launch_broker_proc (first)), "it ended");
    kh_launch_stop (first);
    kh_launch_destroy (&first);
    kh_launch_destroy (&second);
}

/* A broker that refuses the launcher's ping (it pings as the hub's own certificate,
   which a client may not use) is not waited for until the time is up. */
static void
s_test_refused (void)
{
    kh_keys_t *keys = s_keys ("hub");
    kh_launch_t *launch = s_launcher_as (NULL, keys);
    int64_t start = zclock_mono ();
    int rc = launch ? s_start (launch) : -2;
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a refused ping ends the wait for the link at once, naming the refusal",
              rc == -1 && took < 10000 && strstr (kh_launch_why (launch), "FORBIDDEN"),
              "rc %d after %d ms: %s", rc, (int) took, launch ? kh_launch_why (launch) : "");
    if (launch)
        kh_launch_stop (launch);
    kh_launch_destroy (&launch);
    kh_keys_destroy (&keys);
}

static void
s_test_wrap_and_wake (void)
{
    kh_launch_t *launch = s_launcher ("env KH_LAUNCH_TEST=1");
    int rc = launch ? s_start (launch) : -2;
    KH_CHECK ("a wrapper runs the programs, with arguments quoted", rc == 0, "rc %d: %s", rc,
              launch ? kh_launch_why (launch) : "");
    KH_CHECK ("and they stop cleanly", launch && kh_launch_stop (launch) == 0, "%s",
              launch ? kh_launch_why (launch) : "");
    kh_launch_destroy (&launch);

    launch = s_launcher ("sleep 30;");
    int fds [2] = { -1, -1 };
    rc = -2;
    int64_t took = 0;
    if (launch && pipe (fds) == 0 && write (fds [1], "x", 1) == 1) {
        kh_launch_set_wake (launch, fds [0]);
        int64_t start = zclock_mono ();
        rc = kh_launch_broker (launch, NULL);
        took = zclock_mono () - start;
    }
    KH_CHECK ("a readable wake descriptor ends the wait for READY", rc == KH_PROC_WOKEN
              && took < 2000, "rc %d after %d ms", rc, (int) took);
    kh_launch_destroy (&launch);
    close (fds [0]);
    close (fds [1]);
}

int
main (void)
{
    if (!getenv ("KH_BIN_DIR") || !mkdtemp (s_dir)) {
        printf ("FAIL KH_BIN_DIR is not set or %s cannot be made\n", s_dir);
        return 1;
    }
    snprintf (s_certs, sizeof s_certs, "%s/certs", s_dir);
    snprintf (s_clients, sizeof s_clients, "%s/clients", s_dir);
    zsys_dir_create ("%s", s_clients);
    kh_ident_t server = { .name = "launch test" };
    kh_ident_t hub = { .ags = "05162", .name = "recorder", .role = KH_ROLE_HUB };
    kh_ident_t admin = { .ags = "05162", .name = "admin", .role = KH_ROLE_ADMIN };
    s_make ("server", &server, false);
    s_make ("hub", &hub, true);
    s_make ("admin", &admin, true);
    s_test_hub ();
    s_test_taken ();
    s_test_refused ();
    s_test_wrap_and_wake ();
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("launch_test: could not remove %s\n", s_dir);
    return kh_check_done ("launch_test");
}
