/*  kh_cmd_up.c - `kreishub up`: the embedded default. Runs kreishub-broker and
    kreishub-recorder as child processes (support/kh_launch.h), waits until the
    recorder is linked, prints a READY line and where the hub is, and stops both
    cleanly on Ctrl-C or SIGTERM.

    Before it starts anything it tries the broker's three ports: if one is taken
    (another hub, or any other program), it says which and how to choose others,
    and exits 1 having started nothing, so that a script that waits for its READY
    line publishes nowhere. Signals reach the waits through a self-pipe.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kh_cli.h"
#include "kh_launch.h"
#include "kh_port.h"
#include "kh_ready.h"
#include "kh_sync.h"

#define S_DIR          "./kreishub-data"

/* What the command line says, besides what goes into cli. */
typedef struct {
    const char *dir;
    const char *client;                 /* the same as -e */
    const char *recorder;
    const char *sync;
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
    char        db [PATH_MAX];          /* DIR/kreishub.db */
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
        { "config", 'c', "FILE", &cli->config, NULL, "handed to both programs (sections "
          "broker, recorder;\nenv KREISHUB_CONFIG); flags and environment win" },
        { "plain", 0, NULL, NULL, &cli->plain, "no CURVE, nobody identified: loopback "
          "endpoints only,\nfor development (env KREISHUB_PLAIN=1)" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub up", .table = table,
        .about = "Runs the hub here: kreishub-broker and kreishub-recorder (found beside "
                 "this\nprogram, else on PATH), until Ctrl-C or SIGTERM stops both.\n",
        .notes = "An endpoint comes from its flag, else the environment, else the config "
                 "file's\nsection 'broker' (client, live, recorder), else the default. A port "
                 "of * lets\nthe system choose a free one. If a port is taken, it says which "
                 "and starts\nnothing. Once the recorder is linked it prints\n"
                 "  READY client=EP live=EP recorder=EP db=PATH head=SEQ\n"
                 "and then where the hub is, for people.\n"
                 "Exit status 0 after a clean stop, 1 if a port is taken or a program could "
                 "not\nstart or died.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    kh_sync_t mode;
    if (rc == KH_OPTS_GO && args->sync && kh_sync_parse (args->sync, &mode)) {
        fprintf (stderr, "kreishub up: --sync is " KH_SYNC_CHOICES ", not '%s'\n", args->sync);
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
    kh_sync_t mode;
    plan->sync = args->sync && kh_sync_parse (args->sync, &mode) == 0
               ? kh_sync_name (mode) : NULL;
    if (snprintf (plan->db, sizeof plan->db, "%s/kreishub.db", plan->dir)
        >= (int) sizeof plan->db) {
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
    const char *names [3] = { "client", "live", "recorder" };
    const char *endpoints [3] = { plan->client, plan->live, plan->recorder };
    bool taken = false;
    for (int i = 0; i < 3; i++)
        if (kh_port_taken (endpoints [i])) {
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

/* Starts broker and recorder as plan says and waits for the link. Returns 0, or -1
   after saying why (nothing to say if a stop was asked for). */
static int
s_start (kh_launch_t *launch, const s_plan_t *plan)
{
    const char *broker [10], *recorder [8];
    int brokers = 0, recorders = 0;
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
    int rc = kh_launch_broker (launch, broker);
    if (rc == 0)
        rc = kh_launch_recorder (launch, recorder);
    if (rc == 0)
        rc = kh_launch_await_link (launch, KH_LAUNCH_READY_MS);
    kh_proc_t *proc = kh_launch_broker_proc (launch);
    if (rc && !s_stop_asked) {
        fprintf (stderr, "kreishub up: %s\n", kh_launch_why (launch));
        if (!proc || !kh_proc_ready (proc))
            s_how_to_choose (plan);     /* perhaps it could not bind an endpoint */
    }
    return rc ? -1 : 0;
}

/* Prints the READY line and shows the user where the hub is. */
static void
s_announce (kh_launch_t *launch)
{
    kh_proc_t *broker = kh_launch_broker_proc (launch);
    kh_proc_t *recorder = kh_launch_recorder_proc (launch);
    char db [PATH_MAX], head [32];
    kh_ready_get (kh_proc_ready (recorder), "db", db, sizeof db);
    kh_ready_get (kh_proc_ready (recorder), "head", head, sizeof head);
    const char *client = kh_launch_endpoint (launch, "client");
    const char *live = kh_launch_endpoint (launch, "live");
    kh_ready_print (stdout, "client", client, "live", live,
                    "recorder", kh_launch_endpoint (launch, "recorder"),
                    "db", db, "head", head, NULL);
    printf ("kreishub is up (broker pid %d, recorder pid %d)\n"
            "  client  %-28s  publish, log, ping  (KREISHUB_ENDPOINT)\n"
            "  live    %-28s  subscribe           (KREISHUB_LIVE)\n"
            "  store   %s, head %s\n"
            "Ctrl-C stops it.\n",
            (int) kh_proc_pid (broker), (int) kh_proc_pid (recorder), client, live, db, head);
    fflush (stdout);
}

/* Runs until a stop is asked for or a program ends. Returns true if asked to stop. */
static bool
s_serve (kh_launch_t *launch)
{
    kh_proc_t *const procs [2] = { kh_launch_broker_proc (launch),
                                   kh_launch_recorder_proc (launch) };
    while (!s_stop_asked) {
        kh_proc_wait (procs, 2, 1000, s_signal_pipe [0]);
        for (int i = 0; i < 2; i++)
            if (!kh_proc_running (procs [i])) {
                fprintf (stderr, "kreishub up: %s\n", kh_proc_why (procs [i]));
                return false;
            }
    }
    return true;
}

/* Runs the hub of plan until a stop, asking the broker whether it is up with keys
   (NULL: plain). Returns the exit status: 0 after a stop that was asked for, also
   during the start, if both programs then end cleanly. */
static int
s_run (const s_plan_t *plan, const kh_keys_t *keys)
{
    if (s_ports_taken (plan) || s_mkdirs (plan->dir) || s_signals ())
        return KH_EXIT_USAGE;
    kh_launch_opts_t opts = { .echo = stdout, .keys = keys };
    kh_launch_t *launch = kh_launch_new (&opts);
    if (!launch) {
        fprintf (stderr, "kreishub up: out of memory\n");
        return KH_EXIT_USAGE;
    }
    kh_launch_set_wake (launch, s_signal_pipe [0]);
    bool ok = s_start (launch, plan) == 0;
    if (ok) {
        s_announce (launch);
        ok = s_serve (launch);
    }
    ok = ok || s_stop_asked;            /* a start cut short on purpose did not fail */
    bool clean = kh_launch_stop (launch) == 0;
    if (ok && !clean)                   /* a failed start has said why already */
        fprintf (stderr, "kreishub up: %s\n", kh_launch_why (launch));
    kh_launch_destroy (&launch);
    if (ok && clean)
        printf ("kreishub: stopped\n");
    return ok && clean ? KH_EXIT_OK : KH_EXIT_USAGE;
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
    /* A secure hub: the programs find their certificates in the config file; ours
       asks the broker whether it is up. */
    if (!plan.plain && kh_cli_trust (cli, false)) {
        fprintf (stderr, "kreishub up: a secure hub needs certificates (kreishub keygen): "
                 "the config file's\nbroker/cert, broker/clients, recorder/cert, "
                 "recorder/server_cert, and yours; or --plain\n");
        return KH_EXIT_USAGE;
    }
    return s_run (&plan, cli->keys);
}
