/*  kh_harness.c - process control for the integration tests (see kh_harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_harness.h"


/* Returns the directory holding the kreishub programs. */
static const char *
s_bin_dir (void)
{
    const char *dir = getenv ("KH_BIN_DIR");
    return dir ? dir : ".";
}

/* Starts program with argv (NULL-terminated, argv[0] a bare name in the bin dir),
   its stdout and stderr to files in dir named after it (kept for post-mortems).
   Waits up to 20 s for a line starting "READY" and copies it into line.
   Returns the pid, or -1. */
static pid_t
s_spawn (const char *dir, const char *const *argv, char *line, size_t cap)
{
    char out [512], err [512];
    snprintf (out, sizeof out, "%s/%s.out", dir, argv [0]);
    snprintf (err, sizeof err, "%s/%s.err", dir, argv [0]);
    /* Empty before the fork: on a restart the READY of the previous run must not be
       taken for the new one's before the child truncates the file itself. */
    int clear = open (out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (clear >= 0)
        close (clear);
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open (out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open (err, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || fe < 0)
            _exit (126);
        dup2 (fd, 1);
        dup2 (fe, 2);
        char path [512];
        snprintf (path, sizeof path, "%s/%s", s_bin_dir (), argv [0]);
        const char *wrap = getenv ("KH_WRAP");
        if (wrap && *wrap) {
            char cmd [2048];
            int n = snprintf (cmd, sizeof cmd, "exec %s %s", wrap, path);
            for (int i = 1; argv [i] && n < (int) sizeof cmd; i++)
                n += snprintf (cmd + n, sizeof cmd - (size_t) n, " '%s'", argv [i]);
            execl ("/bin/sh", "sh", "-c", cmd, (char *) NULL);
        }
        else
            execv (path, (char *const *) argv);
        _exit (127);
    }
    for (int waited = 0; pid > 0 && waited < 20000; waited += 20) {
        FILE *file = fopen (out, "r");
        while (file && fgets (line, (int) cap, file))
            if (strncmp (line, "READY", 5) == 0 && strchr (line, '\n')) {
                *strchr (line, '\n') = 0;
                fclose (file);
                return pid;
            }
        if (file)
            fclose (file);
        if (waitpid (pid, NULL, WNOHANG) == pid) {
            fprintf (stderr, "harness: %s exited before READY (see %s)\n", argv [0], err);
            return -1;
        }
        usleep (20000);
    }
    fprintf (stderr, "harness: %s did not say READY (see %s)\n", argv [0], err);
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    return -1;
}

/* Copies the value of key=... from a READY line into out. */
static void
s_field (const char *line, const char *key, char *out, size_t cap)
{
    char pat [32];
    snprintf (pat, sizeof pat, " %s=", key);
    const char *p = strstr (line, pat);
    out [0] = 0;
    if (p) {
        p += strlen (pat);
        size_t n = strcspn (p, " \n");
        snprintf (out, cap, "%.*s", (int) n, p);
    }
}

int
kh_hub_start_recorder (kh_hub_t *hub)
{
    char db [400], line [1024];
    snprintf (db, sizeof db, "%s/kreishub.db", hub->dir);
    const char *argv [32] = { "kreishub-recorder", "--broker", hub->recorder, "--db", db };
    int argc = 5;
    for (int i = 0; hub->recorder_args && hub->recorder_args [i] && argc < 30; i++)
        argv [argc++] = hub->recorder_args [i];
    argv [argc] = NULL;
    hub->recorder_pid = s_spawn (hub->dir, argv, line, sizeof line);
    return hub->recorder_pid > 0 ? 0 : -1;
}

int
kh_hub_start_broker (kh_hub_t *hub)
{
    bool again = hub->client [0] && hub->live [0] && hub->recorder [0];
    /* "!": czmq picks a random free port. With "*" it takes the lowest free one from
       49152, so a port a killed broker frees would go at once to the next hub that a
       parallel test starts, and the restart on the same endpoints would fail. */
    const char *argv [32] = { "kreishub-broker",
                              "--client", again ? hub->client : "tcp://127.0.0.1:!",
                              "--live", again ? hub->live : "tcp://127.0.0.1:!",
                              "--recorder", again ? hub->recorder : "tcp://127.0.0.1:!" };
    int argc = 7;
    for (int i = 0; hub->broker_args && hub->broker_args [i] && argc < 30; i++)
        argv [argc++] = hub->broker_args [i];
    argv [argc] = NULL;
    char line [1024];
    /* A port the killed broker held may take a moment to be free again. */
    hub->broker_pid = s_spawn (hub->dir, argv, line, sizeof line);
    for (int tries = 1; hub->broker_pid < 0 && again && tries < 50; tries++) {
        usleep (100000);
        hub->broker_pid = s_spawn (hub->dir, argv, line, sizeof line);
    }
    if (hub->broker_pid < 0) {
        hub->broker_pid = 0;
        return -1;
    }
    if (again)
        return 0;
    s_field (line, "client", hub->client, sizeof hub->client);
    s_field (line, "live", hub->live, sizeof hub->live);
    s_field (line, "recorder", hub->recorder, sizeof hub->recorder);
    if (!*hub->client || !*hub->live || !*hub->recorder) {
        fprintf (stderr, "harness: cannot read endpoints from '%s'\n", line);
        return -1;
    }
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
    if (kh_hub_start_broker (hub) || kh_hub_start_recorder (hub))
        return -1;
    return kh_hub_await_link (hub, 20000);
}

int
kh_hub_await_link (kh_hub_t *hub, int timeout_ms)
{
    kh_client_t *client = kh_client_new (hub->client);
    if (!client)
        return -1;
    int64_t deadline = zclock_mono () + timeout_ms;
    bool up = false;
    while (!up && zclock_mono () < deadline)
        if (kh_client_ping (client, 200, NULL, &up) || !up)
            zclock_sleep (20);
    kh_client_destroy (&client);
    if (!up)
        fprintf (stderr, "harness: the recorder did not link to the broker in %d ms\n",
                 timeout_ms);
    return up ? 0 : -1;
}

/* Waits for pid up to ms milliseconds; returns its status, or -1 (killed then). */
static int
s_reap (pid_t pid, int ms)
{
    int status = 0;
    for (int waited = 0; waited < ms; waited += 10) {
        if (waitpid (pid, &status, WNOHANG) == pid)
            return status;
        usleep (10000);
    }
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return -1;
}

/* Sends sig to *pid, waits for it and clears *pid; returns its wait status, or -1
   if there is no such process. */
static int
s_stop (pid_t *pid, int sig)
{
    if (*pid <= 0)
        return -1;
    kill (*pid, sig);
    int status = s_reap (*pid, 30000);
    *pid = 0;
    return status;
}

int
kh_hub_stop_recorder (kh_hub_t *hub, int sig)
{
    return s_stop (&hub->recorder_pid, sig);
}

int
kh_hub_stop_broker (kh_hub_t *hub, int sig)
{
    return s_stop (&hub->broker_pid, sig);
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
        int status = s_stop (pids [i], SIGTERM);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "harness: %s ended with status 0x%x\n", names [i], status);
            rc = -1;
        }
    }
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
