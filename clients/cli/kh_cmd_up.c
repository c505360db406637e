/*  kh_cmd_up.c - `kreishub up`: the embedded default. Runs kreishub-broker and
    kreishub-recorder as child processes, waits until each says READY, shows the
    endpoints, and stops both cleanly on Ctrl-C or SIGTERM.

    The children get their own process group, so that a Ctrl-C at the terminal
    reaches only this process, which then stops them in order of its choosing; and
    they are told to exit with the parent (PR_SET_PDEATHSIG) should it be killed.
    Signals reach the loop through a self-pipe.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_cli.h"

#define S_DIR          "./kreishub-data"
#define S_READY_MS     30000            /* a child must say READY within this */
#define S_STOP_MS      10000            /* and exit within this after SIGTERM */
#define S_LINE_MAX     1024

/* A child process and the pipe its stdout comes through. */
typedef struct {
    const char *name;                   /* program name, e.g. kreishub-broker */
    pid_t       pid;                    /* 0: not running */
    int         fd;                     /* read end of its stdout, -1: closed */
    char        partial [S_LINE_MAX];   /* an unfinished line */
    size_t      len;
    char        ready [S_LINE_MAX];     /* its READY line, "" until it came */
    int         status;                 /* wait status once it exited */
} s_child_t;

/* What the command line says. */
typedef struct {
    const char *dir;
    const char *client;
    const char *live;
    const char *recorder;
    const char *sync;
} s_args_t;

static int s_signal_pipe [2] = { -1, -1 };
static volatile sig_atomic_t s_stop_asked;

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub up [options]\n"
        "Runs the hub here: kreishub-broker and kreishub-recorder (found beside this\n"
        "program, else on PATH), until Ctrl-C or SIGTERM stops both.\n"
        "      --dir DIR        data directory (default %s); the store is DIR/kreishub.db\n"
        "      --client EP      broker's client endpoint (default %s)\n"
        "      --live EP        broker's live endpoint (default %s)\n"
        "      --recorder EP    broker's endpoint for the recorder (default tcp://127.0.0.1:7703)\n"
        "      --sync MODE      recorder durability: full (default), normal, off\n"
        "  -c, --config FILE    handed to both programs (sections broker, recorder)\n"
        "  -h, --help           this text\n"
        "Exit status 0 after a clean stop, 1 if a program could not start or died.\n",
        S_DIR, KH_DEFAULT_CLIENT, KH_DEFAULT_LIVE);
}

/* Parses argv into args. Returns 0, 1 if help was asked for, -1 on bad usage. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    enum { O_DIR = 256, O_CLIENT, O_LIVE, O_RECORDER, O_SYNC_MODE };
    static const struct option options [] = {
        { "dir",      required_argument, NULL, O_DIR },
        { "client",   required_argument, NULL, O_CLIENT },
        { "live",     required_argument, NULL, O_LIVE },
        { "recorder", required_argument, NULL, O_RECORDER },
        { "sync",     required_argument, NULL, O_SYNC_MODE },
        { "config",   required_argument, NULL, 'c' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
            case 'h':        return 1;
            case 'c':        cli->config = optarg; break;
            case O_DIR:      args->dir = optarg; break;
            case O_CLIENT:   args->client = optarg; break;
            case O_LIVE:     args->live = optarg; break;
            case O_RECORDER: args->recorder = optarg; break;
            case O_SYNC_MODE:     args->sync = optarg; break;
            default:         return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "kreishub up: unexpected argument '%s'\n", argv [optind]);
        return -1;
    }
    if (args->sync && !streq (args->sync, "full") && !streq (args->sync, "normal")
    &&  !streq (args->sync, "off")) {
        fprintf (stderr, "kreishub up: --sync is full, normal or off, not '%s'\n", args->sync);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------- helpers */

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

/* Writes the program path for name into out: beside this executable if it is
   there, else the bare name for a PATH search. */
static void
s_program (const char *name, char *out, size_t cap)
{
    char self [PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self [n] = 0;
        char *slash = strrchr (self, '/');
        if (slash) {
            *slash = 0;
            if (snprintf (out, cap, "%s/%s", self, name) < (int) cap && access (out, X_OK) == 0)
                return;
        }
    }
    snprintf (out, cap, "%s", name);
}

/* Copies the value of key=... from a READY line into out ("" if absent). */
static void
s_field (const char *line, const char *key, char *out, size_t cap)
{
    char pattern [32];
    snprintf (pattern, sizeof pattern, " %s=", key);
    const char *p = strstr (line, pattern);
    size_t n = p ? strcspn (p + strlen (pattern), " \r\n") : 0;
    snprintf (out, cap, "%.*s", (int) n, p ? p + strlen (pattern) : "");
}

static void
s_on_signal (int signo)
{
    if (signo != SIGCHLD)
        s_stop_asked = 1;
    int saved = errno;
    char c = (char) signo;
    if (write (s_signal_pipe [1], &c, 1) < 0) {
        /* the pipe is full: the loop wakes anyway */
    }
    errno = saved;
}

/* Sets up the self-pipe and the handlers for SIGINT, SIGTERM and SIGCHLD. */
static int
s_signals (void)
{
    if (pipe2 (s_signal_pipe, O_CLOEXEC | O_NONBLOCK))
        return -1;
    struct sigaction action = { .sa_handler = s_on_signal, .sa_flags = SA_RESTART };
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    action.sa_flags |= SA_NOCLDSTOP;
    sigaction (SIGCHLD, &action, NULL);
    return 0;
}

/* ---------------------------------------------------------------- children */

/* Starts argv[0] with its stdout into a pipe to child. Returns 0 or -1. */
static int
s_spawn (s_child_t *child, char *const argv [])
{
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC))
        return -1;
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)       /* died before the line above: no signal will come */
            _exit (1);
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        signal (SIGCHLD, SIG_DFL);
        dup2 (fds [1], STDOUT_FILENO);
        if (strchr (argv [0], '/'))
            execv (argv [0], argv);
        else
            execvp (argv [0], argv);
        fprintf (stderr, "kreishub up: cannot run %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    close (fds [1]);
    if (pid < 0) {
        close (fds [0]);
        return -1;
    }
    fcntl (fds [0], F_SETFL, O_NONBLOCK);
    child->pid = pid;
    child->fd = fds [0];
    return 0;
}

/* Handles one line from a child: keeps the first READY line, passes others on. */
static void
s_line (s_child_t *child, const char *line)
{
    if (!child->ready [0] && strncmp (line, "READY", 5) == 0)
        snprintf (child->ready, sizeof child->ready, "%s", line);
    else {
        printf ("%s: %s\n", child->name, line);
        fflush (stdout);
    }
}

/* Reads what the child wrote to stdout, line by line. Closes the pipe at EOF. */
static void
s_drain (s_child_t *child)
{
    char buf [4096];
    ssize_t n;
    if (child->fd < 0)
        return;
    while ((n = read (child->fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                break;
            return;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf [i] == '\n' || child->len == sizeof child->partial - 1) {
                child->partial [child->len] = 0;
                s_line (child, child->partial);
                child->len = 0;
            }
            if (buf [i] != '\n')
                child->partial [child->len++] = buf [i];
        }
    }
    close (child->fd);
    child->fd = -1;
}

/* Reaps the child if it exited. Returns true if it is not running (any more). */
static bool
s_gone (s_child_t *child)
{
    if (child->pid > 0 && waitpid (child->pid, &child->status, WNOHANG) == child->pid)
        child->pid = 0;
    return child->pid <= 0;
}

/* Waits up to ms for something to read from the children or a signal, and reads it. */
static void
s_poll (s_child_t *children, size_t count, int ms)
{
    struct pollfd items [3] = { { .fd = s_signal_pipe [0], .events = POLLIN } };
    for (size_t i = 0; i < count && i < 2; i++)
        items [i + 1] = (struct pollfd) { .fd = children [i].fd, .events = POLLIN };
    if (poll (items, (nfds_t) count + 1, ms) > 0 && (items [0].revents & POLLIN)) {
        char buf [64];
        while (read (s_signal_pipe [0], buf, sizeof buf) > 0)
            ;
    }
    for (size_t i = 0; i < count; i++)
        s_drain (&children [i]);
}

/* Says how a child ended. */
static void
s_report_exit (const s_child_t *child)
{
    if (WIFSIGNALED (child->status))
        fprintf (stderr, "kreishub up: %s was killed by signal %d\n", child->name,
                 WTERMSIG (child->status));
    else
        fprintf (stderr, "kreishub up: %s exited with status %d\n", child->name,
                 WEXITSTATUS (child->status));
}

/* Waits until child said READY. Returns 0, or -1 (it died, did not say it in time,
   or a stop was asked for) after saying why. */
static int
s_await_ready (s_child_t *child)
{
    int64_t deadline = zclock_mono () + S_READY_MS;
    while (!child->ready [0]) {
        if (s_stop_asked)
            return -1;
        if (s_gone (child)) {
            s_drain (child);
            if (child->ready [0])
                break;
            s_report_exit (child);
            return -1;
        }
        if (zclock_mono () > deadline) {
            fprintf (stderr, "kreishub up: %s did not say READY within %d s\n",
                     child->name, S_READY_MS / 1000);
            return -1;
        }
        s_poll (child, 1, 100);
    }
    return 0;
}

/* Stops the children still running: SIGTERM, then SIGKILL after S_STOP_MS.
   Returns true if every one of them ended with status 0. */
static bool
s_stop (s_child_t *children, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (children [i].pid > 0)
            kill (children [i].pid, SIGTERM);
    int64_t deadline = zclock_mono () + S_STOP_MS;
    for (size_t i = 0; i < count; i++) {
        while (!s_gone (&children [i])) {
            if (zclock_mono () > deadline) {
                fprintf (stderr, "kreishub up: %s did not stop; killing it\n",
                         children [i].name);
                kill (children [i].pid, SIGKILL);
                waitpid (children [i].pid, &children [i].status, 0);
                children [i].pid = 0;
                break;
            }
            s_poll (children, count, 50);
        }
    }
    bool clean = true;
    for (size_t i = 0; i < count; i++) {
        s_drain (&children [i]);
        clean = clean && WIFEXITED (children [i].status)
                      && WEXITSTATUS (children [i].status) == 0;
    }
    return clean;
}

/* ---------------------------------------------------------------- the run */

/* Starts the broker with the endpoints asked for. Returns 0 when it is READY. */
static int
s_start_broker (s_child_t *broker, const s_args_t *args, const char *config)
{
    char program [PATH_MAX];
    s_program (broker->name, program, sizeof program);
    char *argv [12] = { program };
    int argc = 1;
    const char *flags [][2] = { { "-c", config }, { "--client", args->client },
                                { "--live", args->live }, { "--recorder", args->recorder } };
    for (size_t i = 0; i < sizeof flags / sizeof flags [0]; i++)
        if (flags [i][1]) {
            argv [argc++] = (char *) flags [i][0];
            argv [argc++] = (char *) flags [i][1];
        }
    argv [argc] = NULL;
    if (s_spawn (broker, argv)) {
        fprintf (stderr, "kreishub up: cannot start %s\n", program);
        return -1;
    }
    return s_await_ready (broker);
}

/* Starts the recorder against the broker's recorder endpoint and with the store in
   dir. Returns 0 when it is READY. */
static int
s_start_recorder (s_child_t *recorder, const s_args_t *args, const char *config,
                  const char *endpoint, const char *db)
{
    char program [PATH_MAX];
    s_program (recorder->name, program, sizeof program);
    char *argv [12] = { program, "--broker", (char *) endpoint, "--db", (char *) db };
    int argc = 5;
    if (config) {
        argv [argc++] = "-c";
        argv [argc++] = (char *) config;
    }
    if (args->sync) {
        argv [argc++] = "--sync";
        argv [argc++] = (char *) args->sync;
    }
    argv [argc] = NULL;
    if (s_spawn (recorder, argv)) {
        fprintf (stderr, "kreishub up: cannot start %s\n", program);
        return -1;
    }
    return s_await_ready (recorder);
}

/* Waits until the broker says the recorder is linked to it (its HELLO came), so that
   "kreishub is up" means the hub answers queries and pings at once: the recorder says
   READY before its first HELLO is taken. Returns 0, or -1 (a child died, no link in
   time, or a stop was asked for) after saying why. */
static int
s_await_link (s_child_t *children, size_t count)
{
    char endpoint [256];
    s_field (children [0].ready, "client", endpoint, sizeof endpoint);
    kh_client_t *client = kh_client_new (endpoint);
    int64_t deadline = zclock_mono () + S_READY_MS;
    bool linked = false;
    while (client && !linked && !s_stop_asked && zclock_mono () < deadline) {
        if (kh_client_ping (client, 100, NULL, &linked) == 0 && !linked)
            s_poll (children, count, 20);
        for (size_t i = 0; i < count; i++)
            if (s_gone (&children [i])) {
                s_report_exit (&children [i]);
                kh_client_destroy (&client);
                return -1;
            }
    }
    kh_client_destroy (&client);
    if (!linked && !s_stop_asked)
        fprintf (stderr, "kreishub up: the recorder did not reach the broker within %d s\n",
                 S_READY_MS / 1000);
    return linked ? 0 : -1;
}

/* Shows the user where the hub is. */
static void
s_announce (const s_child_t *broker, const s_child_t *recorder)
{
    char client [256], live [256], db [PATH_MAX], head [32];
    s_field (broker->ready, "client", client, sizeof client);
    s_field (broker->ready, "live", live, sizeof live);
    s_field (recorder->ready, "db", db, sizeof db);
    s_field (recorder->ready, "head", head, sizeof head);
    printf ("kreishub is up (broker pid %d, recorder pid %d)\n"
            "  client  %-28s  publish, log, ping  (KREISHUB_ENDPOINT)\n"
            "  live    %-28s  subscribe           (KREISHUB_LIVE)\n"
            "  store   %s, head %s\n"
            "Ctrl-C stops it.\n",
            (int) broker->pid, (int) recorder->pid, client, live, db, head);
    fflush (stdout);
}

/* Runs until a stop is asked for or a child dies. Returns true if asked to stop. */
static bool
s_serve (s_child_t *children, size_t count)
{
    while (!s_stop_asked) {
        s_poll (children, count, 1000);
        for (size_t i = 0; i < count; i++)
            if (s_gone (&children [i])) {
                s_report_exit (&children [i]);
                return false;
            }
    }
    return true;
}

int
kh_cmd_up (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .dir = S_DIR };
    int rc = s_parse (cli, argc, argv, &args);
    if (rc) {
        s_usage (rc > 0 ? stdout : stderr);
        return rc > 0 ? KH_EXIT_OK : KH_EXIT_USAGE;
    }
    zsys_handler_set (NULL);            /* our handlers, also once czmq is in use */
    const char *config = kh_cli_resolve (cli->config, "KREISHUB_CONFIG", NULL, NULL, NULL);
    char db [PATH_MAX];
    if (snprintf (db, sizeof db, "%s/kreishub.db", args.dir) >= (int) sizeof db
    ||  s_mkdirs (args.dir) || s_signals ())
        return KH_EXIT_USAGE;
    s_child_t children [2] = {
        { .name = "kreishub-broker", .fd = -1 },
        { .name = "kreishub-recorder", .fd = -1 },
    };
    char endpoint [256] = "";
    bool ok = s_start_broker (&children [0], &args, config) == 0;
    if (ok)
        s_field (children [0].ready, "recorder", endpoint, sizeof endpoint);
    ok = ok && s_start_recorder (&children [1], &args, config, endpoint, db) == 0;
    ok = ok && s_await_link (children, 2) == 0;
    if (ok) {
        s_announce (&children [0], &children [1]);
        ok = s_serve (children, 2);
    }
    bool clean = s_stop (children, 2);
    if (ok && clean)
        printf ("kreishub: stopped\n");
    return ok && clean ? KH_EXIT_OK : KH_EXIT_USAGE;
}
