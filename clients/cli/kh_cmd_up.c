/*  kh_cmd_up.c - `kreishub up`: the embedded default. Runs kreishub-broker and
    kreishub-recorder as child processes (support/kh_launch.h), waits until the
    recorder is linked, prints a READY line and where the hub is, and stops both
    cleanly on Ctrl-C or SIGTERM.

    The hub is secure unless --plain: before the start, the data directory gets the
    certificates of the broker, the recorder, an admin, the Kreis and each member
    that it lacks (kh_up_certs.h, kh_members.h); the programs get theirs by flag.

    Before it starts anything it checks that the data directory is not another
    hub's (its recorder holds the store's lock) and tries the broker's three ports:
    if one is taken (another hub, or any other program), it says which and how to
    choose others, and exits 1 having started nothing, so that a script that waits
    for its READY line publishes nowhere. Signals reach the waits through a
    self-pipe.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kh_cli.h"
#include "kh_launch.h"
#include "kh_members.h"
#include "kh_port.h"
#include "kh_ready.h"
#include "kh_sync.h"
#include "kh_up_certs.h"

#define S_DIR          "./kreishub-data"
#define S_WEB_PORT     "7780"

/* What the command line says, besides what goes into cli. */
typedef struct {
    const char *dir;
    const char *client;                 /* the same as -e */
    const char *recorder;
    const char *sync;
    const char *web;                    /* --web ADDR:PORT */
    bool        no_web;
    bool        certs_only;
} s_args_t;

/* What the hub is run with: flag, else environment, else config file, else default. */
typedef struct {
    const char *client;
    const char *live;
    const char *recorder;
    const char *dir;
    const char *config;                 /* handed to both programs, or NULL */
    const char *sync;                   /* a mode's name, or NULL: the recorder's own */
    bool        plain;                  /* both programs in plain mode */
    const char *web;                    /* kreishub-web's ADDR:PORT, NULL: none */
    char        web_any [32];           /*   (any free port: ADDR:0) */
    char        users [PATH_MAX];       /* DIR/web-users */
    char        db [PATH_MAX];          /* DIR/kreishub.db */
    kh_up_certs_t certs;                /* DIR/certs, DIR/clients (unless plain) */
} s_plan_t;

static int s_signal_pipe [2] = { -1, -1 };
static volatile sig_atomic_t s_stop_asked;

/* Parses argv into args and cli. Returns what kh_opts_parse returned. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    const kh_opt_t table [] = {
        { "dir", 0, "DIR", &args->dir, NULL, "data directory (env KREISHUB_DIR, default "
          S_DIR ");\nthe store is DIR/kreishub.db" },
        { "endpoint", 'e', "EP", &cli->endpoint, NULL, "the broker's client endpoint (env "
          "KREISHUB_ENDPOINT,\ndefault " KH_DEFAULT_CLIENT ")" },
        { "client", 0, "EP", &args->client, NULL, "the same as --endpoint" },
        { "live", 'l', "EP", &cli->live, NULL, "the broker's live endpoint (env "
          "KREISHUB_LIVE,\ndefault " KH_DEFAULT_LIVE ")" },
        { "recorder", 0, "EP", &args->recorder, NULL, "the broker's endpoint for the "
          "recorder (env KREISHUB_RECORDER,\ndefault " KH_DEFAULT_RECORDER ")" },
        { "sync", 0, "MODE", &args->sync, NULL,
          "recorder durability: full (default), normal, off" },
        { "web", 0, "ADDR:PORT", &args->web, NULL, "where the web page listens (env "
          "KREISHUB_WEB, default\n127.0.0.1:" S_WEB_PORT ", or any free port when the "
          "client endpoint's is *)" },
        { "no-web", 0, NULL, NULL, &args->no_web, "do not start kreishub-web" },
        { "config", 'c', "FILE", &cli->config, NULL, "its section kreis names the members; "
          "handed to both\nprograms (sections broker, recorder; env "
          "KREISHUB_CONFIG),\nwhose flags and environment win" },
        { "plain", 0, NULL, NULL, &cli->plain, "no CURVE, no certificates, nobody "
          "identified: loopback\nendpoints only, for development (env KREISHUB_PLAIN=1)" },
        { "certs-only", 0, NULL, NULL, &args->certs_only, "make the certificates DIR lacks, "
          "say where they are,\nand exit (starts nothing)" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub up", .once = true, .table = table,
        .about = "Runs the hub here: kreishub-broker, kreishub-recorder and kreishub-web "
                 "(found\nbeside this program, else on PATH), until Ctrl-C or SIGTERM stops "
                 "them.\n",
        .notes = "An endpoint comes from its flag, else the environment, else the config "
                 "file's\nsection 'broker' (client, live, recorder), else the default. A port "
                 "of * lets\nthe system choose a free one. If a port is taken, or DIR is "
                 "another running\nhub's, it says so and starts nothing.\n"
                 "Unless --plain the hub is secure: its first start makes in DIR/certs "
                 "the\ncertificate pairs of the broker (server), the recorder (hub), an "
                 "admin, the\nKreis and each member, and puts their public parts into "
                 "DIR/clients, which\nthe broker admits (remove one there to revoke it). "
                 "The members are the config\nfile's section 'kreis' (default: the "
                 "Rhein-Kreis Neuss, its 8 municipalities);\nlater starts reuse the "
                 "pairs and make those of members added since. A client\ngives its pair "
                 "and the hub's certificate:\n  KREISHUB_CERT=DIR/certs/AGS.cert_secret "
                 "KREISHUB_SERVER_CERT=DIR/certs/server.cert\n"
                 "Once the recorder is linked it prints\n"
                 "  READY client=EP live=EP recorder=EP db=PATH head=SEQ server_cert=PATH "
                 "certs=DIR web=URL\n(without server_cert and certs in plain mode, without "
                 "web with --no-web) and\nthen where the hub is, for people. The web page's "
                 "users are DIR/web-users\n(kreishub web-user add).\n"
                 "Exit status 0 after a clean stop, 1 if a port or DIR is taken, a "
                 "certificate\ncannot be made, or a program could not start or died.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    kh_sync_t mode;
    if (rc == KH_OPTS_GO && args->sync && kh_sync_parse (args->sync, &mode)) {
        fprintf (stderr, "kreishub up: --sync is " KH_SYNC_CHOICES ", not '%s'\n", args->sync);
        rc = kh_cli_bad (&opts);
    }
    if (rc == KH_OPTS_GO && args->certs_only && cli->plain) {
        fprintf (stderr, "kreishub up: --certs-only makes certificates, which --plain "
                 "does without\n");
        rc = kh_cli_bad (&opts);
    }
    return rc;
}

/* Fills plan from args, the environment, the config file and the defaults.
   Returns 0, or -1 after saying why. */
static int
s_plan (const kh_cli_t *cli, const s_args_t *args, s_plan_t *plan)
{
    zconfig_t *root = cli->root;
    plan->client = kh_conf_get (args->client ? args->client : cli->endpoint,
                                "KREISHUB_ENDPOINT", root, "broker/client", KH_DEFAULT_CLIENT);
    plan->live = kh_conf_get (cli->live, "KREISHUB_LIVE", root, "broker/live",
                              KH_DEFAULT_LIVE);
    plan->recorder = kh_conf_get (args->recorder, "KREISHUB_RECORDER", root,
                                  "broker/recorder", KH_DEFAULT_RECORDER);
    plan->dir = kh_conf_get (args->dir, "KREISHUB_DIR", NULL, NULL, S_DIR);
    plan->config = kh_cli_config_path (cli);
    plan->plain = kh_cli_plain (cli);
    const char *colon = strrchr (plan->client, ':');
    bool any = colon && (streq (colon + 1, "*") || streq (colon + 1, "!"));
    plan->web = args->no_web ? NULL
              : kh_conf_get (args->web, "KREISHUB_WEB", root, "web/listen",
                             any ? "127.0.0.1:*" : "127.0.0.1:" S_WEB_PORT);
    if (plan->web) {                    /* kreishub-web takes port 0 for any */
        const char *port = strrchr (plan->web, ':');
        if (port && (streq (port + 1, "*") || streq (port + 1, "!"))) {
            snprintf (plan->web_any, sizeof plan->web_any, "%.*s:0",
                      (int) (port - plan->web) < 24 ? (int) (port - plan->web) : 24,
                      plan->web);
            plan->web = plan->web_any;
        }
    }
    kh_sync_t mode;
    plan->sync = args->sync && kh_sync_parse (args->sync, &mode) == 0
               ? kh_sync_name (mode) : NULL;
    kh_problem_t why;
    if (snprintf (plan->db, sizeof plan->db, "%s/kreishub.db", plan->dir)
        >= (int) sizeof plan->db - 8    /* room for the lock's "-lock" */
    ||  snprintf (plan->users, sizeof plan->users, "%s/web-users", plan->dir)
        >= (int) sizeof plan->users
    ||  kh_up_certs_init (&plan->certs, plan->dir, &why)) {
        fprintf (stderr, "kreishub up: the data directory's name is too long\n");
        return -1;
    }
    return 0;
}

/* Says how to choose other endpoints and another data directory. */
static void
s_how_to_choose (const s_plan_t *plan)
{
    fprintf (stderr,
        "kreishub up: choose other endpoints (a port of * takes any free one) and, for a\n"
        "second hub, another data directory, by flag or environment:\n"
        "    --client EP     or KREISHUB_ENDPOINT   now %s\n"
        "    --live EP       or KREISHUB_LIVE       now %s\n"
        "    --recorder EP   or KREISHUB_RECORDER   now %s\n"
        "    --dir DIR       or KREISHUB_DIR        now %s\n",
        plan->client, plan->live, plan->recorder, plan->dir);
}

/* Says which of the broker's ports are taken, and how to choose others. Returns
   true if one is. */
static bool
s_ports_taken (const s_plan_t *plan)
{
    char web [64] = "";
    const char *web_port = plan->web ? strrchr (plan->web, ':') : NULL;
    if (web_port && !streq (web_port + 1, "0"))
        snprintf (web, sizeof web, "tcp://%s", plan->web);
    const char *names [4] = { "client", "live", "recorder", "web" };
    const char *endpoints [4] = { plan->client, plan->live, plan->recorder, web };
    bool taken = false;
    for (int i = 0; i < 4; i++)
        if (*endpoints [i] && kh_port_taken (endpoints [i])) {
            char port [16];
            fprintf (stderr, "kreishub up: port %s is taken (the %s endpoint %s)\n",
                     kh_port_of (endpoints [i], port, sizeof port), names [i], endpoints [i]);
            taken = true;
        }
    if (taken) {
        fprintf (stderr, "kreishub up: another program, perhaps another kreishub, listens "
                 "there; nothing was started\n");
        s_how_to_choose (plan);
    }
    return taken;
}

/* True if another hub runs on plan's data directory: its recorder holds the store's
   lock, DIR/kreishub.db-lock (kh_store.h), which our recorder would wait for as a
   standby. Says so, and how to choose another directory. */
static bool
s_dir_taken (const s_plan_t *plan)
{
    char lock [PATH_MAX], pid [24] = "";
    if (snprintf (lock, sizeof lock, "%s-lock", plan->db) >= (int) sizeof lock)
        return false;                   /* s_plan left room for it */
    int fd = open (lock, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return false;                   /* no store yet; else the recorder will say */
    bool taken = flock (fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
    if (taken && pread (fd, pid, sizeof pid - 1, 0) > 0)
        pid [strcspn (pid, "\n")] = 0;
    close (fd);                         /* and with it our lock, if we got it */
    if (taken) {
        fprintf (stderr, "kreishub up: the data directory %s is in use by another hub (its "
                 "recorder, pid %s,\nholds %s); nothing was started\n", plan->dir,
                 *pid ? pid : "?", lock);
        s_how_to_choose (plan);
    }
    return taken;
}

/* Creates dir and its parents, like mkdir -p. Returns 0, or -1 after saying why. */
static int
s_mkdirs (const char *dir)
{
    char path [PATH_MAX];
    if (snprintf (path, sizeof path, "%s", dir) >= (int) sizeof path)
        return -1;
    for (char *p = path + 1; ; p++) {
        if (*p != '/' && *p != 0)
            continue;
        char c = *p;
        *p = 0;
        if (mkdir (path, 0755) && errno != EEXIST) {
            fprintf (stderr, "kreishub up: cannot create %s: %s\n", path, strerror (errno));
            return -1;
        }
        if (!(*p = c))
            return 0;
    }
}

static void
s_on_signal (int signo)
{
    s_stop_asked = 1;
    int saved = errno;
    char c = (char) signo;
    if (write (s_signal_pipe [1], &c, 1) < 0) {
        /* the pipe is full: it is readable, which is all the waits need */
    }
    errno = saved;
}

/* Sets up the self-pipe and the handlers for SIGINT and SIGTERM. Returns 0, or -1
   after saying why. */
static int
s_signals (void)
{
    if (pipe2 (s_signal_pipe, O_CLOEXEC | O_NONBLOCK)) {
        fprintf (stderr, "kreishub up: cannot make the pipe that signals wake: %s\n",
                 strerror (errno));
        return -1;
    }
    struct sigaction action = { .sa_handler = s_on_signal, .sa_flags = SA_RESTART };
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    return 0;
}

/* Appends flag and value to args (*n of them so far, NULL-terminated) if value is
   given. */
static void
s_flag (const char *args [], int *n, const char *flag, const char *value)
{
    if (value) {
        args [(*n)++] = flag;
        args [(*n)++] = value;
    }
    args [*n] = NULL;
}

/* Starts kreishub-web on the hub's store and endpoints, with the admin's certificate
   for its own reading (the counters, the live updates) and the members' pairs for
   what its users publish. Returns as kh_launch_web. */
static int
s_start_web (kh_launch_t *launch, const s_plan_t *plan)
{
    const char *web [16];
    int webs = 0;
    const kh_up_certs_t *certs = &plan->certs;
    s_flag (web, &webs, "--listen", plan->web);
    s_flag (web, &webs, "--db", plan->db);
    s_flag (web, &webs, "-c", plan->config);
    s_flag (web, &webs, "--users", plan->users);
    if (plan->plain) {
        web [webs++] = "--plain";
        web [webs] = NULL;
    }
    else {
        s_flag (web, &webs, "--certs", certs->certs);
        s_flag (web, &webs, "--cert", certs->admin_secret);
        s_flag (web, &webs, "--server-cert", certs->server_cert);
    }
    return kh_launch_web (launch, web);
}

/* Starts broker and recorder as plan says and waits for the link. Returns 0, or -1
   after saying why (nothing to say if a stop was asked for). */
static int
s_start (kh_launch_t *launch, const s_plan_t *plan)
{
    const char *broker [14], *recorder [12];
    int brokers = 0, recorders = 0;
    const kh_up_certs_t *certs = &plan->certs;
    s_flag (broker, &brokers, "--client", plan->client);
    s_flag (broker, &brokers, "--live", plan->live);
    s_flag (broker, &brokers, "--recorder", plan->recorder);
    s_flag (broker, &brokers, "-c", plan->config);
    s_flag (recorder, &recorders, "--db", plan->db);
    s_flag (recorder, &recorders, "--sync", plan->sync);
    s_flag (recorder, &recorders, "-c", plan->config);
    if (plan->plain) {                  /* each program checks its endpoints and warns */
        broker [brokers++] = recorder [recorders++] = "--plain";
        broker [brokers] = recorder [recorders] = NULL;
    }
    else {                              /* flags: they win over the config file's keys */
        s_flag (broker, &brokers, "--cert", certs->server_secret);
        s_flag (broker, &brokers, "--clients", certs->clients);
        s_flag (recorder, &recorders, "--cert", certs->hub_secret);
        s_flag (recorder, &recorders, "--server-cert", certs->server_cert);
    }
    int rc = kh_launch_broker (launch, broker);
    if (rc == 0)
        rc = kh_launch_recorder (launch, recorder);
    if (rc == 0)
        rc = kh_launch_await_link (launch, KH_LAUNCH_READY_MS);
    if (rc == 0 && plan->web)
        rc = s_start_web (launch, plan);
    kh_proc_t *proc = kh_launch_broker_proc (launch);
    if (rc && !s_stop_asked) {
        fprintf (stderr, "kreishub up: %s\n", kh_launch_why (launch));
        if (!proc || !kh_proc_ready (proc))
            s_how_to_choose (plan);     /* perhaps it could not bind an endpoint */
    }
    return rc ? -1 : 0;
}

/* Says to out where the certificates of plan are and how a client uses them, with
   the first member as the example. */
static void
s_tell_certs (FILE *out, const s_plan_t *plan, const kh_members_t *members)
{
    const kh_ident_t *kreis = kh_members_kreis (members);
    const kh_ident_t *member = kh_members_at (members, 0);
    char secret [PATH_MAX];
    fprintf (out,
        "  certs   %s: the pairs of %s (%s), its %zu members,\n"
        "          the admin, the recorder (hub) and the broker (server)\n"
        "  admits  %s: remove a NAME.cert there to revoke it\n"
        "A client gives its pair and the hub's certificate, e.g. as %s (%s):\n"
        "  export KREISHUB_SERVER_CERT=%s\n"
        "  export KREISHUB_CERT=%s\n",
        plan->certs.certs, kreis->name, kreis->ags, kh_members_count (members),
        plan->certs.clients, member->name, member->ags, plan->certs.server_cert,
        kh_up_certs_secret (&plan->certs, member->ags, secret, sizeof secret));
}

/* Prints the READY line and shows the user where the hub is. */
static void
s_announce (kh_launch_t *launch, const s_plan_t *plan, const kh_members_t *members)
{
    kh_proc_t *broker = kh_launch_broker_proc (launch);
    kh_proc_t *recorder = kh_launch_recorder_proc (launch);
    char db [PATH_MAX], head [32];
    kh_ready_get (kh_proc_ready (recorder), "db", db, sizeof db);
    kh_ready_get (kh_proc_ready (recorder), "head", head, sizeof head);
    const char *client = kh_launch_endpoint (launch, "client");
    const char *live = kh_launch_endpoint (launch, "live");
    char url [300] = "";
    kh_proc_t *web = kh_launch_web_proc (launch);
    if (web)
        kh_ready_get (kh_proc_ready (web), "url", url, sizeof url);
    const char *web_key = *url ? "web" : NULL;
    if (plan->plain)                    /* the list ends at the first NULL key */
        kh_ready_print (stdout, "client", client, "live", live,
                        "recorder", kh_launch_endpoint (launch, "recorder"),
                        "db", db, "head", head, web_key, url, NULL);
    else
        kh_ready_print (stdout, "client", client, "live", live,
                        "recorder", kh_launch_endpoint (launch, "recorder"),
                        "db", db, "head", head, "server_cert", plan->certs.server_cert,
                        "certs", plan->certs.certs, web_key, url, NULL);
    printf ("kreishub is up (broker pid %d, recorder pid %d)\n"
            "  client  %-28s  publish, log, ping  (KREISHUB_ENDPOINT)\n"
            "  live    %-28s  subscribe           (KREISHUB_LIVE)\n"
            "  store   %s, head %s\n",
            (int) kh_proc_pid (broker), (int) kh_proc_pid (recorder), client, live, db, head);
    if (*url)
        printf ("  web     %-28s  the web page; its users: %s (kreishub web-user add)\n",
                url, plan->users);
    if (plan->plain)
        printf ("  PLAIN MODE: nothing is encrypted, nobody is identified (--plain)\n");
    else
        s_tell_certs (stdout, plan, members);
    printf ("Ctrl-C stops it.\n");
    fflush (stdout);
}

/* Runs until a stop is asked for or a program ends. Returns true if asked to stop. */
static bool
s_serve (kh_launch_t *launch)
{
    kh_proc_t *const procs [3] = { kh_launch_broker_proc (launch),
                                   kh_launch_recorder_proc (launch),
                                   kh_launch_web_proc (launch) };
    size_t count = procs [2] ? 3 : 2;
    while (!s_stop_asked) {
        kh_proc_wait (procs, count, 1000, s_signal_pipe [0]);
        for (size_t i = 0; i < count; i++)
            if (!kh_proc_running (procs [i])) {
                fprintf (stderr, "kreishub up: %s\n", kh_proc_why (procs [i]));
                return false;
            }
    }
    return true;
}

/* Makes the certificates plan's data directory lacks and loads the admin's keys,
   with which we ask the broker whether it is up, into *keys. Returns 0, or -1
   after saying why. */
static int
s_certs (const s_plan_t *plan, const kh_members_t *members, kh_keys_t **keys)
{
    kh_problem_t why;
    if (kh_up_certs_make (&plan->certs, members, stdout, &why) < 0) {
        fprintf (stderr, "kreishub up: %s\n", why.reason);
        return -1;
    }
    fflush (stdout);
    *keys = kh_keys_load (plan->certs.admin_secret, plan->certs.server_cert, &why);
    if (!*keys)
        fprintf (stderr, "kreishub up: %s\n", why.reason);
    return *keys ? 0 : -1;
}

/* Runs the hub of plan until a stop. Returns the exit status: 0 after a stop that
   was asked for, also during the start, if both programs then end cleanly. */
static int
s_run (const s_plan_t *plan, const kh_members_t *members)
{
    kh_keys_t *keys = NULL;
    if (s_dir_taken (plan) || s_ports_taken (plan) || s_mkdirs (plan->dir) || s_signals ()
    ||  (!plan->plain && s_certs (plan, members, &keys)))
        return KH_EXIT_USAGE;
    kh_launch_opts_t opts = { .echo = stdout, .keys = keys };
    kh_launch_t *launch = kh_launch_new (&opts);
    if (!launch) {
        fprintf (stderr, "kreishub up: out of memory\n");
        kh_keys_destroy (&keys);
        return KH_EXIT_USAGE;
    }
    kh_launch_set_wake (launch, s_signal_pipe [0]);
    bool ok = s_start (launch, plan) == 0;
    if (ok) {
        s_announce (launch, plan, members);
        ok = s_serve (launch);
    }
    ok = ok || s_stop_asked;            /* a start cut short on purpose did not fail */
    bool clean = kh_launch_stop (launch) == 0;
    if (ok && !clean)                   /* a failed start has said why already */
        fprintf (stderr, "kreishub up: %s\n", kh_launch_why (launch));
    kh_launch_destroy (&launch);
    kh_keys_destroy (&keys);
    if (ok && clean)
        printf ("kreishub: stopped\n");
    return ok && clean ? KH_EXIT_OK : KH_EXIT_USAGE;
}

/* --certs-only: makes what plan's data directory lacks and says where it is. Returns
   the exit status. */
static int
s_certs_only (const s_plan_t *plan, const kh_members_t *members)
{
    kh_problem_t why;
    if (s_mkdirs (plan->dir))
        return KH_EXIT_USAGE;
    if (kh_up_certs_make (&plan->certs, members, stdout, &why) < 0) {
        fprintf (stderr, "kreishub up: %s\n", why.reason);
        return KH_EXIT_USAGE;
    }
    printf ("kreishub up: the hub's certificates:\n");
    s_tell_certs (stdout, plan, members);
    return KH_EXIT_OK;
}

int
kh_cmd_up (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { NULL };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    zsys_handler_set (NULL);            /* our handlers, also once czmq is in use */
    s_plan_t plan;
    if (s_plan (cli, &args, &plan))
        return KH_EXIT_USAGE;
    kh_problem_t why;
    bool certs = !plan.plain || args.certs_only;    /* --certs-only makes them anyway */
    kh_members_t *members = certs ? kh_members_load (cli->root, &why) : NULL;
    if (certs && !members) {
        const char *config = kh_cli_config_path (cli);
        fprintf (stderr, "kreishub up: %s%s%s\n", config ? config : "", config ? ": " : "",
                 why.reason);
        return KH_EXIT_USAGE;
    }
    rc = args.certs_only ? s_certs_only (&plan, members) : s_run (&plan, members);
    kh_members_destroy (&members);
    return rc;
}
