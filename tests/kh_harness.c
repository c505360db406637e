/*  kh_harness.c - process control for the integration tests (see kh_harness.h). */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_harness.h"
#include "kreishub/kreishub.h"

#define S_ARGS_MAX      32              /* flags of one program */
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
    char db [400];
    snprintf (db, sizeof db, "%s/kreishub.db", hub->dir);
    const char *first [] = { "--db", db }, *args [S_ARGS_MAX];
    s_args (args, first, 2, hub->recorder_args);
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

int
kh_hub_start_broker (kh_hub_t *hub)
{
    bool again = hub->client [0] && hub->live [0] && hub->recorder [0];
    /* "!": czmq picks a random free port. With "*" it takes the lowest free one from
       49152, so a port a killed broker frees would go at once to the next hub that a
       parallel test starts, and the restart on the same endpoints would fail. */
    const char *first [] = { "--client", again ? hub->client : "tcp://127.0.0.1:!",
                             "--live", again ? hub->live : "tcp://127.0.0.1:!",
                             "--recorder", again ? hub->recorder : "tcp://127.0.0.1:!" };
    const char *args [S_ARGS_MAX];
    s_args (args, first, 6, hub->broker_args);
    hub->broker_pid = 0;
    int rc = kh_launch_broker (hub->launch, args);
    /* The broker before was reaped, so its sockets are closed and its ports free;
       yet another socket may have taken one meanwhile (a connection's ephemeral
       port), and nothing tells when it lets go: while the broker exits 1 (it could
       not bind), try again soon, for a while. */
    int64_t end = zclock_mono () + S_REBIND_MS;
    while (again && rc == -1 && s_bind_failed (hub) && zclock_mono () < end) {
        usleep (S_REBIND_STEP_MS * 1000);
        rc = kh_launch_broker (hub->launch, args);
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

int
kh_hub_start (kh_hub_t *hub, const char *const *extra, const char *const *recorder_args)
{
    memset (hub, 0, sizeof *hub);
    hub->recorder_args = recorder_args;
    hub->broker_args = extra;
    snprintf (hub->dir, sizeof hub->dir, "/tmp/kh-test-XXXXXX");
    if (!mkdtemp (hub->dir))
        return -1;
    kh_launch_opts_t opts = { .bin_dir = s_bin_dir (), .wrap = getenv ("KH_WRAP"),
                              .log_dir = hub->dir, .ready_ms = S_READY_MS };
    hub->launch = kh_launch_new (&opts);
    if (!hub->launch || kh_hub_start_broker (hub) || kh_hub_start_recorder (hub))
        return -1;
    return kh_hub_await_link (hub, S_READY_MS);
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
    if (!keep && hub->dir [0]) {
        char cmd [400];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", hub->dir);
        if (system (cmd) != 0)
            rc = -1;
    }
    return rc;
}

int
kh_hub_run (kh_hub_t *hub, char *out, size_t cap, const char *fmt, ...)
{
    char cmd [4096];
    int n = snprintf (cmd, sizeof cmd, "PATH='%s':\"$PATH\" KREISHUB_ENDPOINT='%s' "
                      "KREISHUB_LIVE='%s' ", s_bin_dir (), hub->client, hub->live);
    va_list args;
    va_start (args, fmt);
    vsnprintf (cmd + n, sizeof cmd - (size_t) n, fmt, args);
    va_end (args);
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
