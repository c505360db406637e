/*  it_up.c - `kreishub up` and scripts/up.sh, as a user runs them: up comes up on the
    endpoints and data directory that its flags or the environment name, says READY,
    serves, stops on SIGINT (and on SIGTERM before READY, with status 0 too) and
    starts again on the same store; up.sh publishes the demo into the hub it started.
    With a port taken, by a plain listening socket or by a real hub, both stop at
    once, name the port, and publish nowhere: the socket holder is never connected
    to, and the other hub's log stays as it was.

    Programs run through support/kh_proc.h: the test waits for a READY line or for
    output, never for a time. */
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_harness.h"
#include "kh_proc.h"
#include "kh_ready.h"

#define S_OUT_MAX       (64 * 1024)     /* captured output of one program */
#define S_UP_MS         30000           /* `kreishub up` says READY within this */
#define S_TAKEN_MS      2000            /* and stops within this if a port is taken */
/* A random free port: with "*" czmq takes the lowest free one, which a parallel test
   may get the moment a hub here frees it. */
#define S_ANY           "tcp://127.0.0.1:!"

/* The test's state: a real hub (the harness's) and a directory for the rest. */
typedef struct {
    kh_hub_t hub;
    char     dir [300];                 /* t->hub.dir/up */
    char     out [S_OUT_MAX];           /* what the last program printed */
    char     err [S_OUT_MAX];           /* and said on stderr */
} s_test_t;

/* A program run by the test: its stdout lines (READY aside) go to a file. */
typedef struct {
    kh_proc_t *proc;
    FILE      *echo;
} s_run_t;

/* ------------------------------------------------------------------ helpers */

/* Starts argv (argv[0] a program in the bin dir, or a path) with env, a
   NULL-terminated list of NAME=VALUE (or -u NAME) for env(1), or NULL. Its stdout
   is echoed into a temporary file, its stderr goes to DIR/NAME.err (emptied). */
static s_run_t
s_start (s_test_t *t, const char *name, const char *const *env, const char *const *argv)
{
    char program [512], err [400];
    const char *bin = getenv ("KH_BIN_DIR");
    snprintf (program, sizeof program, "%s/%s", bin ? bin : ".", argv [0]);
    snprintf (err, sizeof err, "%s/%s.err", t->dir, name);
    unlink (err);
    const char *args [48] = { "/usr/bin/env" };
    int n = 1;
    for (int i = 0; env && env [i] && n < 30; i++)
        args [n++] = env [i];
    args [n++] = strchr (argv [0], '/') ? argv [0] : program;
    for (int i = 1; argv [i] && n < 47; i++)
        args [n++] = argv [i];
    args [n] = NULL;
    s_run_t run = { .echo = tmpfile () };
    if (run.echo)                       /* the test's file, not the program's */
        fcntl (fileno (run.echo), F_SETFD, FD_CLOEXEC);
    kh_proc_opts_t opts = { .name = name, .err_path = err, .echo = run.echo };
    run.proc = run.echo ? kh_proc_new (args, &opts) : NULL;
    return run;
}

/* Waits up to ms for run to end, then copies what it printed into t->out and
   t->err. Returns its exit status, or -1 if it had to be killed or was killed. */
static int
s_finish (s_test_t *t, s_run_t *run, int ms)
{
    int status = run->proc ? kh_proc_reap (run->proc, ms) : -1;
    char err [400];
    snprintf (err, sizeof err, "%s/%s.err", t->dir, run->proc ? kh_proc_name (run->proc) : "");
    kh_hub_slurp (err, t->err, sizeof t->err);
    t->out [0] = 0;
    if (run->echo) {
        rewind (run->echo);
        size_t n = fread (t->out, 1, sizeof t->out - 1, run->echo);
        t->out [n] = 0;
        fclose (run->echo);
    }
    kh_proc_destroy (&run->proc);
    return status != -1 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Copies what run has echoed so far into text (cap bytes). */
static void
s_echoed (s_run_t *run, char *text, size_t cap)
{
    fflush (run->echo);
    ssize_t n = pread (fileno (run->echo), text, cap - 1, 0);
    text [n > 0 ? n : 0] = 0;
}

/* Waits until run has echoed a line holding needle (or ended, or ms passed), and
   copies what it echoed into text (cap bytes). Returns true if it did. */
static bool
s_await_output (s_run_t *run, const char *needle, int ms, char *text, size_t cap)
{
    int64_t end = zclock_mono () + ms;
    for (s_echoed (run, text, cap); !strstr (text, needle); s_echoed (run, text, cap)) {
        if (!run->proc || !kh_proc_running (run->proc) || zclock_mono () >= end)
            return false;
        kh_proc_wait (&run->proc, 1, (int) (end - zclock_mono ()), -1);
    }
    return true;
}

/* Reads the pids of broker and recorder from the announcement of `kreishub up` in
   text into kids (0 if not there). */
static void
s_kids (const char *text, int kids [2])
{
    const char *up = strstr (text, "kreishub is up (broker pid ");
    kids [0] = kids [1] = 0;
    if (up)
        sscanf (up, "kreishub is up (broker pid %d, recorder pid %d)", &kids [0], &kids [1]);
}

/* True if neither of the processes kids (read by s_kids) is there any more. */
static bool
s_kids_gone (const int kids [2])
{
    for (int i = 0; i < 2; i++)
        if (kids [i] <= 0 || kill (kids [i], 0) == 0 || errno != ESRCH)
            return false;
    return true;
}

/* Runs a shell command with the programs on PATH; stdout into t->out. */
static int
s_sh (s_test_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_sh (s_test_t *t, const char *fmt, ...)
{
    char cmd [2048];
    va_list args;
    va_start (args, fmt);
    vsnprintf (cmd, sizeof cmd, fmt, args);
    va_end (args);
    return kh_hub_run (&t->hub, t->out, sizeof t->out, "%s", cmd);
}

/* Opens a plain TCP socket listening on a free loopback port; returns it (or -1) and
   writes its endpoint into endpoint. */
static int
s_hold_port (char *endpoint, size_t cap, int *port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) || listen (fd, 16)
    ||  getsockname (fd, (struct sockaddr *) &addr, &len)) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    *port = ntohs (addr.sin_port);
    snprintf (endpoint, cap, "tcp://127.0.0.1:%d", *port);
    return fd;
}

/* True if nobody has connected to the listening socket fd (the kernel accepts a
   connection into the backlog even if we never call accept, so one would be here). */
static bool
s_untouched (int fd)
{
    int conn = accept (fd, NULL, NULL);
    if (conn >= 0)
        close (conn);
    return conn < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* True if path exists. */
static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

/* ----------------------------------------------------------- kreishub up */

/* Starts `kreishub up` with env and args and waits for its READY line; copies the
   client endpoint into client. Returns the run (its proc NULL on failure, with
   what it said printed). */
static s_run_t
s_up (s_test_t *t, const char *const *env, const char *const *args, char *client,
      size_t cap)
{
    s_run_t run = s_start (t, "up", env, args);
    int rc = run.proc ? kh_proc_await_ready (run.proc, S_UP_MS, -1) : -1;
    if (rc == 0 && kh_ready_get (kh_proc_ready (run.proc), "client", client, cap) == 0)
        return run;
    printf ("it_up: kreishub up did not say READY: %s\n",
            run.proc ? kh_proc_why (run.proc) : "cannot start it");
    s_finish (t, &run, 0);
    printf ("it_up: stderr: %s\n", t->err);
    return run;
}

/* Stops `kreishub up` with SIGINT; checks that it exits 0, says so, and leaves no
   broker or recorder behind (their pids from its announcement). */
static void
s_up_stop (s_test_t *t, s_run_t *run)
{
    int kids [2];
    s_await_output (run, "Ctrl-C stops it.", S_UP_MS, t->out, sizeof t->out);
    s_kids (t->out, kids);
    kh_proc_signal (run->proc, SIGINT);
    int rc = s_finish (t, run, 30000);
    KH_CHECK ("kreishub up exits 0 on SIGINT and says it stopped",
              rc == 0 && strstr (t->out, "up: kreishub: stopped\n"), "rc %d out '%s' err '%s'",
              rc, t->out, t->err);
    KH_CHECK ("kreishub up leaves no broker or recorder behind", s_kids_gone (kids),
              "pids %d, %d", kids [0], kids [1]);
}

/* up on wildcard ports by flags: READY, ping, publish, stop; then again on the same
   directory, its endpoints and directory from the environment alone. */
static void
test_up (s_test_t *t)
{
    char data [400], client [256], db [512], head [32];
    snprintf (data, sizeof data, "%s/data", t->dir);
    const char *args [] = { "kreishub", "up", "--dir", data, "--client", S_ANY,
                            "--live", S_ANY, "--recorder", S_ANY, NULL };
    s_run_t run = s_up (t, NULL, args, client, sizeof client);
    KH_CHECK ("kreishub up comes up and says READY with its endpoints", run.proc, "see above");
    if (!run.proc)
        return;
    const char *ready = kh_proc_ready (run.proc);
    kh_ready_get (ready, "db", db, sizeof db);
    kh_ready_get (ready, "head", head, sizeof head);
    KH_CHECK ("its READY line names the store in --dir and its head", strncmp (db, data,
              strlen (data)) == 0 && streq (head, "0"), "'%s'", ready);
    int rc = s_sh (t, "kreishub -e %s ping -t 5000", client);
    KH_CHECK ("once kreishub up says READY, the hub can store", rc == 0
              && streq (t->out, "head 0 recorder up\n"), "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub -e %s publish idea --title 'Vor dem Neustart' --from 05162", client);
    KH_CHECK ("a publish through kreishub up is stored", rc == 0 && streq (t->out, "seq 1\n"),
              "rc %d '%s'", rc, t->out);
    s_up_stop (t, &run);

    char dir_env [420];
    snprintf (dir_env, sizeof dir_env, "KREISHUB_DIR=%s", data);
    const char *env [] = { "KREISHUB_ENDPOINT=" S_ANY, "KREISHUB_LIVE=" S_ANY,
                           "KREISHUB_RECORDER=" S_ANY, dir_env, NULL };
    const char *bare [] = { "kreishub", "up", NULL };
    run = s_up (t, env, bare, client, sizeof client);
    KH_CHECK ("kreishub up takes endpoints and directory from the environment", run.proc
              && kh_ready_get (kh_proc_ready (run.proc), "head", head, sizeof head) == 0
              && streq (head, "1"), "head '%s'", head);
    if (!run.proc)
        return;
    rc = s_sh (t, "kreishub -e %s log --format csv", client);
    KH_CHECK ("the log still holds the earlier message after a restart", rc == 0
              && kh_hub_lines (t->out) == 2 && strstr (t->out, "\n1,")
              && strstr (t->out, "Vor dem Neustart"), "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub -e %s publish idea --title 'Nach dem Neustart' --from 05162", client);
    KH_CHECK ("seqs go on after a restart", rc == 0 && streq (t->out, "seq 2\n"), "rc %d '%s'",
              rc, t->out);
    s_up_stop (t, &run);
}

/* Runs `kreishub up` with one endpoint on a port a plain socket holds, given as env
   or flag says; checks that it stops at once naming the port, starts nothing and
   never connects to the holder. */
static void
s_check_up_taken (s_test_t *t, const char *which, const char *env_name, const char *flag)
{
    char endpoint [64], env [128], data [400], expect [160];
    int port;
    int fd = s_hold_port (endpoint, sizeof endpoint, &port);
    snprintf (data, sizeof data, "%s/taken-%s", t->dir, which);
    snprintf (env, sizeof env, "%s=%s", env_name, endpoint);
    const char *envs [] = { "KREISHUB_ENDPOINT=" S_ANY, "KREISHUB_LIVE=" S_ANY,
                            "KREISHUB_RECORDER=" S_ANY, flag ? NULL : env, NULL };
    const char *args [] = { "kreishub", "up", "--dir", data, flag ? flag : NULL, endpoint,
                            NULL };
    int64_t start = zclock_mono ();
    s_run_t run = s_start (t, "up", envs, args);
    int rc = s_finish (t, &run, 10000);
    int64_t took = zclock_mono () - start;
    snprintf (expect, sizeof expect, "kreishub up: port %d is taken (the %s endpoint %s)",
              port, which, endpoint);
    KH_CHECK ("kreishub up with a taken port exits 1 at once, naming the port and endpoint",
              fd >= 0 && rc == 1 && took < S_TAKEN_MS && strstr (t->err, expect),
              "%s by %s: rc %d after %d ms, stderr '%s'", which, flag ? flag : env_name, rc,
              (int) took, t->err);
    KH_CHECK ("and says how to choose others, by flag and environment, and the directory",
              strstr (t->err, "--client EP     or KREISHUB_ENDPOINT")
              && strstr (t->err, "--live EP       or KREISHUB_LIVE")
              && strstr (t->err, "--recorder EP   or KREISHUB_RECORDER")
              && strstr (t->err, "--dir DIR       or KREISHUB_DIR"), "stderr '%s'", t->err);
    KH_CHECK ("it starts nothing: no data directory, no READY, nothing on stdout",
              !s_exists (data) && !*t->out, "%s: out '%s'", which, t->out);
    KH_CHECK ("and never connects to the program that holds the port", s_untouched (fd),
              "%s: the holder was connected to", which);
    if (fd >= 0)
        close (fd);
}

static void
test_up_taken (s_test_t *t)
{
    s_check_up_taken (t, "client", "KREISHUB_ENDPOINT", "--client");
    s_check_up_taken (t, "client", "KREISHUB_ENDPOINT", NULL);
    s_check_up_taken (t, "live", "KREISHUB_LIVE", NULL);
    s_check_up_taken (t, "recorder", "KREISHUB_RECORDER", "--recorder");
    s_check_up_taken (t, "recorder", "KREISHUB_RECORDER", NULL);
}

/* Writes an executable shell script at DIR/name that runs lines. Returns 0 or -1. */
static int
s_script (const char *dir, const char *name, const char *lines)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    bool written = file && fprintf (file, "#!/bin/sh\n%s", lines) > 0;
    if (file && fclose (file))
        written = false;
    return written && chmod (path, 0755) == 0 ? 0 : -1;
}

/* Makes DIR/bin-NAME: a copy of kreishub, which runs the programs beside it, and
   there the two scripts given as kreishub-broker and kreishub-recorder. Writes
   the copy's path into program. Returns 0 or -1. */
static int
s_fake_bin (s_test_t *t, const char *name, const char *broker, const char *recorder,
            char *program, size_t cap)
{
    char dir [400];
    snprintf (dir, sizeof dir, "%s/bin-%s", t->dir, name);
    snprintf (program, cap, "%s/kreishub", dir);
    if (mkdir (dir, 0755) || s_sh (t, "cp '%s/kreishub' '%s'", getenv ("KH_BIN_DIR"), dir))
        return -1;
    return s_script (dir, "kreishub-broker", broker) || s_script (dir, "kreishub-recorder",
                                                                   recorder) ? -1 : 0;
}

/* Reads the pid that the program name said ("NAME: pid N", as kreishub up echoes
   it) in text; 0 if it did not. */
static int
s_said_pid (const char *text, const char *name)
{
    char needle [64];
    snprintf (needle, sizeof needle, "%s: pid ", name);
    const char *said = strstr (text, needle);
    return said ? atoi (said + strlen (needle)) : 0;
}

/* Sends SIGTERM to the `kreishub up` of run, which has not said READY, once its
   output holds ready_to_stop; checks that it exits 0, says it stopped, and leaves
   none of the programs that said their pid behind (names, count of them). */
static void
s_check_stop_in_start (s_test_t *t, s_run_t *run, const char *what, const char *ready_to_stop,
                       const char *const *names, int count)
{
    char text [S_OUT_MAX];
    bool there = s_await_output (run, ready_to_stop, S_UP_MS, text, sizeof text);
    int pids [2] = { 0, 0 };
    for (int i = 0; i < count; i++)
        pids [i] = s_said_pid (text, names [i]);
    KH_CHECK ("kreishub up is still starting when the test stops it", there
              && run->proc && !kh_proc_ready (run->proc), "%s: out '%s'", what, text);
    kh_proc_signal (run->proc, SIGTERM);
    int rc = s_finish (t, run, 30000);
    KH_CHECK ("kreishub up stopped by SIGTERM during its start exits 0 and says it stopped",
              rc == 0 && strstr (t->out, ": kreishub: stopped\n")
              && !strstr (t->err, "kreishub up:"), "%s: rc %d out '%s' err '%s'", what, rc,
              t->out, t->err);
    bool gone = true;
    for (int i = 0; i < count; i++)
        gone = gone && pids [i] > 0 && kill (pids [i], 0) == -1 && errno == ESRCH;
    KH_CHECK ("and leaves no program behind", gone, "%s: pids %d, %d", what, pids [0],
              pids [1]);
}

/* SIGTERM to `kreishub up` before it says READY: while it waits for the broker's
   READY line (a broker that never says it), and while it waits for the recorder to
   link (a recorder whose broker endpoint is a port that nobody listens on). Both
   are stops asked for: exit status 0, nothing left running. */
static void
test_up_stopped_in_start (s_test_t *t)
{
    char program [512], data [400], nowhere [64], broker [1024], recorder [1024];
    snprintf (data, sizeof data, "%s/data-stopped", t->dir);
    const char *silent = "trap 'kill $! 2>/dev/null; exit 0' TERM\n"
                         "echo \"pid $$ never says READY\"\n"
                         "sleep 600 & wait $!\n";
    int rc = s_fake_bin (t, "silent", silent, "exit 1\n", program, sizeof program);
    KH_CHECK ("a bin directory with a silent broker is made", rc == 0, "in %s", t->dir);
    const char *args [] = { program, "up", "--dir", data, "--client", S_ANY, "--live", S_ANY,
                            "--recorder", S_ANY, NULL };
    s_run_t run = s_start (t, "up-silent", NULL, args);
    const char *const names [2] = { "kreishub-broker", "kreishub-recorder" };
    s_check_stop_in_start (t, &run, "waiting for the broker", "never says READY", names, 1);

    /* bound but not listening: every connection to it is refused */
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    rc = fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
      && getsockname (fd, (struct sockaddr *) &addr, &len) == 0 ? 0 : -1;
    snprintf (nowhere, sizeof nowhere, "tcp://127.0.0.1:%d", ntohs (addr.sin_port));
    const char *bin = getenv ("KH_BIN_DIR");
    snprintf (broker, sizeof broker, "echo \"pid $$\"\nexec '%s/kreishub-broker' \"$@\"\n",
              bin);
    snprintf (recorder, sizeof recorder, "echo \"pid $$\"\n"
              "exec '%s/kreishub-recorder' \"$@\" --broker %s 2>&1\n", bin, nowhere);
    if (rc == 0)
        rc = s_fake_bin (t, "nowhere", broker, recorder, program, sizeof program);
    KH_CHECK ("a bin directory with a recorder that cannot link is made", rc == 0,
              "in %s", t->dir);
    run = s_start (t, "up-nowhere", NULL, args);   /* program names the new copy */
    /* the recorder's log says where it links: past its READY line, its handlers set */
    char linking [128];
    snprintf (linking, sizeof linking, "at head 0, broker %s\n", nowhere);
    s_check_stop_in_start (t, &run, "waiting for the recorder to link", linking, names, 2);
    if (fd >= 0)
        close (fd);
}

/* With one file descriptor left, kreishub up cannot make the pipe that signals wake:
   it says so and exits 1, having started nothing. */
static void
test_up_no_pipe (s_test_t *t)
{
    char program [512], data [400], script [600];
    snprintf (program, sizeof program, "%s/kreishub", getenv ("KH_BIN_DIR"));
    snprintf (data, sizeof data, "%s/data-no-pipe", t->dir);
    /* fds 0 to 2, and 3 for the loader: no two for a pipe (3 may be inherited) */
    snprintf (script, sizeof script, "exec 3>&-; ulimit -n 4 && exec \"$0\" up --dir '%s' "
              "--client " S_ANY " --live " S_ANY " --recorder " S_ANY, data);
    const char *args [] = { "/bin/sh", "-c", script, program, NULL };
    s_run_t run = s_start (t, "up-no-pipe", NULL, args);
    int rc = s_finish (t, &run, 10000);
    KH_CHECK ("kreishub up without a signal pipe says why and exits 1, starting nothing",
              rc == 1 && strstr (t->err, "kreishub up: cannot make the pipe that signals "
              "wake: Too many open files") && !*t->out, "rc %d out '%s' err '%s'", rc,
              t->out, t->err);
}

/* ------------------------------------------------------------- up.sh */

/* Starts scripts/up.sh with the build's programs (no install, no build), its data in
   DIR/name, endpoints as in env (three NAME=VALUE). */
static s_run_t
s_up_sh (s_test_t *t, const char *name, const char *client, const char *live,
         const char *recorder)
{
    char script [512], bin [512], dir [420], envs [3][300];
    snprintf (script, sizeof script, "%s/scripts/up.sh", getenv ("KH_SOURCE_DIR"));
    snprintf (bin, sizeof bin, "KREISHUB_BIN=%s", getenv ("KH_BIN_DIR"));
    snprintf (dir, sizeof dir, "KREISHUB_DIR=%s/%s", t->dir, name);
    snprintf (envs [0], sizeof envs [0], "KREISHUB_ENDPOINT=%s", client);
    snprintf (envs [1], sizeof envs [1], "KREISHUB_LIVE=%s", live);
    snprintf (envs [2], sizeof envs [2], "KREISHUB_RECORDER=%s", recorder);
    const char *env [] = { bin, dir, envs [0], envs [1], envs [2], NULL };
    const char *argv [] = { script, NULL };
    return s_start (t, name, env, argv);
}

/* up.sh on free ports: the demo goes into the hub it started, which it names. */
static void
test_up_sh (s_test_t *t)
{
    s_run_t run = s_up_sh (t, "up-sh", S_ANY, S_ANY, S_ANY);
    char text [S_OUT_MAX], client [128] = "";
    bool up = s_await_output (&run, "Ctrl-C stops the hub.", S_UP_MS, text, sizeof text);
    const char *named = strstr (text, "KREISHUB_ENDPOINT=");
    if (named)
        sscanf (named, "KREISHUB_ENDPOINT=%127s", client);
    int kids [2];
    s_kids (text, kids);
    KH_CHECK ("up.sh starts the hub, publishes the demo and names the endpoint", up
              && strstr (text, "demo: 10 items published") && *client, "out '%s'", text);
    int rc = s_sh (t, "kreishub -e %s log --format csv", client);
    KH_CHECK ("the demo is in the hub up.sh started, on the endpoint it names",
              rc == 0 && kh_hub_lines (t->out) == 11 && strstr (t->out, "Digitaler Zwilling"),
              "rc %d '%s'", rc, t->out);
    kh_proc_signal (run.proc, SIGTERM);
    rc = s_finish (t, &run, 30000);
    KH_CHECK ("up.sh stops with its hub on SIGTERM and exits 0", rc == 0, "rc %d err '%s'",
              rc, t->err);
    KH_CHECK ("and leaves no broker or recorder behind", s_kids_gone (kids), "pids %d, %d",
              kids [0], kids [1]);
}

/* Runs up.sh with the client endpoint taken; checks that it exits non-zero at once
   and publishes nothing (what the holder saw is the caller's to check). */
static void
s_check_up_sh_taken (s_test_t *t, const char *what, const char *client, const char *live)
{
    int64_t start = zclock_mono ();
    s_run_t run = s_up_sh (t, "up-sh-taken", client, live, S_ANY);
    int rc = s_finish (t, &run, 20000);
    int64_t took = zclock_mono () - start;
    KH_CHECK ("up.sh with a taken port exits non-zero at once, saying nothing was published",
              rc != 0 && rc != -1 && took < 5000 && strstr (t->err, "is taken")
              && strstr (t->err, "nothing was published"), "%s: rc %d after %d ms, err '%s'",
              what, rc, (int) took, t->err);
    KH_CHECK ("up.sh publishes no demo and shows no log", !strstr (t->out, "demo:")
              && !strstr (t->out, "SEQ"), "%s: out '%s'", what, t->out);
}

static void
test_up_sh_taken (s_test_t *t)
{
    char endpoint [64];
    int port;
    int fd = s_hold_port (endpoint, sizeof endpoint, &port);
    s_check_up_sh_taken (t, "a listening socket", endpoint, S_ANY);
    KH_CHECK ("the program holding the port got no connection", fd >= 0 && s_untouched (fd),
              "it was connected to");
    if (fd >= 0)
        close (fd);

    /* The case of the issue: a second up.sh while a hub runs on the ports. */
    s_check_up_sh_taken (t, "a running hub", t->hub.client, t->hub.live);
    int rc = s_sh (t, "kreishub ping -t 5000");
    KH_CHECK ("the running hub got nothing: its head is still 0", rc == 0
              && streq (t->out, "head 0 recorder up\n"), "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --format csv");
    KH_CHECK ("and its log is still empty", rc == 0 && kh_hub_lines (t->out) == 1, "rc %d '%s'",
              rc, t->out);
}

int
main (void)
{
    unsetenv ("KREISHUB_CONFIG");       /* the runner's own settings must not leak in */
    unsetenv ("KREISHUB_FROM");
    /* Until `kreishub up` makes its certificates, the hubs it runs are plain, and
       so is the harness' (the programs it starts would take KREISHUB_PLAIN too). */
    setenv ("KREISHUB_PLAIN", "1", 1);
    s_test_t *t = (s_test_t *) calloc (1, sizeof *t);
    if (!t || !getenv ("KH_SOURCE_DIR") || kh_hub_start_plain (&t->hub, NULL, NULL)) {
        printf ("FAIL hub starts (and KH_SOURCE_DIR is set)\n");
        free (t);
        return 1;
    }
    snprintf (t->dir, sizeof t->dir, "%s/up", t->hub.dir);
    mkdir (t->dir, 0755);
    static const struct {
        const char *name;
        void (*run) (s_test_t *t);
    } tests [] = {
        { "up", test_up }, { "up taken", test_up_taken }, { "up no pipe", test_up_no_pipe },
        { "up stopped", test_up_stopped_in_start }, { "up.sh", test_up_sh },
        { "up.sh taken", test_up_sh_taken },
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests [0]; i++) {
        int64_t begun = zclock_mono ();
        tests [i].run (t);
        printf ("it_up: %-12s %5.2f s\n", tests [i].name,
                (double) (zclock_mono () - begun) / 1000.0);
    }
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&t->hub, s_failed > 0) == 0,
              "see logs in %s", t->hub.dir);
    free (t);
    return kh_check_done ("it_up");
}
