/*  kh_launch.c - a broker and a recorder as child processes (see kh_launch.h). */
#include <assert.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_launch.h"
#include "kh_ready.h"

#define S_ARGS_MAX      32              /* arguments of one program, at most */
#define S_CMD_MAX       4096            /* the shell command of a wrapped program */
#define S_PING_MS       100             /* one PING of kh_launch_await_link */

struct _kh_launch_t {
    kh_launch_opts_t opts;
    int         wake_fd;                /* -1: none */
    kh_proc_t  *broker;
    kh_proc_t  *recorder;
    kh_proc_t  *web;                    /* kreishub-web, if started */
    char        client [256];           /* endpoints from the broker's READY line */
    char        live [256];
    char        link [256];             /* its recorder endpoint */
    char        why [512];
};

kh_launch_t *
kh_launch_new (const kh_launch_opts_t *opts)
{
    kh_launch_t *self = (kh_launch_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (opts)
        self->opts = *opts;
    if (self->opts.ready_ms <= 0)
        self->opts.ready_ms = KH_LAUNCH_READY_MS;
    self->wake_fd = -1;
    return self;
}

void
kh_launch_destroy (kh_launch_t **self_p)
{
    kh_launch_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    kh_proc_destroy (&self->web);
    kh_proc_destroy (&self->recorder);
    kh_proc_destroy (&self->broker);
    free (self);
    *self_p = NULL;
}

void
kh_launch_set_wake (kh_launch_t *self, int fd)
{
    assert (self);
    self->wake_fd = fd;
}

const char *
kh_launch_why (kh_launch_t *self)
{
    assert (self);
    return self->why;
}

kh_proc_t *
kh_launch_broker_proc (kh_launch_t *self)
{
    assert (self);
    return self->broker;
}

kh_proc_t *
kh_launch_recorder_proc (kh_launch_t *self)
{
    assert (self);
    return self->recorder;
}

kh_proc_t *
kh_launch_web_proc (kh_launch_t *self)
{
    assert (self);
    return self->web;
}

const char *
kh_launch_endpoint (kh_launch_t *self, const char *key)
{
    assert (self);
    return streq (key, "client") ? self->client : streq (key, "live") ? self->live
         : streq (key, "recorder") ? self->link : "";
}

/* ------------------------------------------------------------ starting */

/* Writes the path of program into out: in bin_dir if given, else beside this
   executable if it is there, else the bare name for a PATH search. */
static void
s_path (const kh_launch_t *self, const char *program, char *out, size_t cap)
{
    char dir [PATH_MAX] = "";
    if (self->opts.bin_dir)
        snprintf (dir, sizeof dir, "%s", self->opts.bin_dir);
    else {
        ssize_t n = readlink ("/proc/self/exe", dir, sizeof dir - 1);
        dir [n > 0 ? n : 0] = 0;
        char *slash = strrchr (dir, '/');
        if (slash)
            *slash = 0;
    }
    if (*dir && snprintf (out, cap, "%s/%s", dir, program) < (int) cap
    &&  (self->opts.bin_dir || access (out, X_OK) == 0))
        return;
    snprintf (out, cap, "%s", program);
}

/* Appends ' word' to cmd, quoted for sh. Returns false if it does not fit. */
static bool
s_quote (char *cmd, size_t cap, size_t *used, const char *word)
{
    const char *parts [3] = { " '", word, "'" };
    for (int i = 0; i < 3; i++)
        for (const char *p = parts [i]; *p; p++) {
            const char *piece = i == 1 && *p == '\'' ? "'\\''" : NULL;
            size_t len = piece ? strlen (piece) : 1;
            if (*used + len >= cap)
                return false;
            memcpy (cmd + *used, piece ? piece : p, len);
            *used += len;
        }
    cmd [*used] = 0;
    return true;
}

/* Starts program with args (after first_args, each NULL-terminated) and awaits its
   READY line; *proc holds it (a previous one is ended first). Returns 0,
   KH_PROC_WOKEN, or -1 with why set. */
static int
s_run (kh_launch_t *self, kh_proc_t **proc, const char *program,
       const char *const *first_args, const char *const *args)
{
    kh_proc_destroy (proc);
    char path [PATH_MAX], err [PATH_MAX], cmd [S_CMD_MAX];
    s_path (self, program, path, sizeof path);
    const char *argv [S_ARGS_MAX + 4] = { path };
    int argc = 1;
    const char *const *lists [2] = { first_args, args };
    for (int l = 0; l < 2; l++)
        for (int i = 0; lists [l] && lists [l][i]; i++) {
            assert (argc < S_ARGS_MAX);
            argv [argc++] = lists [l][i];
        }
    if (self->opts.wrap && *self->opts.wrap) {
        size_t used = (size_t) snprintf (cmd, sizeof cmd, "exec %s", self->opts.wrap);
        for (int i = 0; i < argc && used < sizeof cmd; i++)
            if (!s_quote (cmd, sizeof cmd, &used, argv [i])) {
                snprintf (self->why, sizeof self->why, "%s: command too long", program);
                return -1;
            }
        argv [0] = "/bin/sh";
        argv [1] = "-c";
        argv [2] = cmd;
        argc = 3;
    }
    argv [argc] = NULL;
    if (self->opts.log_dir)
        snprintf (err, sizeof err, "%s/%s.err", self->opts.log_dir, program);
    kh_proc_opts_t opts = { .name = program, .echo = self->opts.echo,
                            .err_path = self->opts.log_dir ? err : NULL };
    *proc = kh_proc_new (argv, &opts);
    if (!*proc) {
        snprintf (self->why, sizeof self->why, "cannot start %.400s", path);
        return -1;
    }
    int rc = kh_proc_await_ready (*proc, self->opts.ready_ms, self->wake_fd);
    if (rc < 0)
        snprintf (self->why, sizeof self->why, "%s", kh_proc_why (*proc));
    return rc;
}

int
kh_launch_broker (kh_launch_t *self, const char *const *args)
{
    assert (self);
    self->client [0] = self->live [0] = self->link [0] = 0;
    int rc = s_run (self, &self->broker, "kreishub-broker", NULL, args);
    if (rc)
        return rc;
    const char *line = kh_proc_ready (self->broker);
    if (kh_ready_get (line, "client", self->client, sizeof self->client)
    ||  kh_ready_get (line, "live", self->live, sizeof self->live)
    ||  kh_ready_get (line, "recorder", self->link, sizeof self->link)) {
        snprintf (self->why, sizeof self->why, "kreishub-broker: no endpoints in '%.400s'",
                  line);
        return -1;
    }
    return 0;
}

int
kh_launch_recorder (kh_launch_t *self, const char *const *args)
{
    assert (self);
    assert (self->link [0]);            /* the broker said READY */
    const char *first [] = { "--broker", self->link, NULL };
    return s_run (self, &self->recorder, "kreishub-recorder", first, args);
}

int
kh_launch_web (kh_launch_t *self, const char *const *args)
{
    assert (self);
    assert (self->client [0]);          /* the broker said READY */
    const char *first [] = { "--client", self->client, "--live", self->live, NULL };
    return s_run (self, &self->web, "kreishub-web", first, args);
}

/* ------------------------------------------------------------ the link */

/* Returns the first of the started programs that has ended (with why set), or NULL. */
static kh_proc_t *
s_ended (kh_launch_t *self)
{
    kh_proc_t *procs [2] = { self->broker, self->recorder };
    for (int i = 0; i < 2; i++)
        if (procs [i] && !kh_proc_running (procs [i])) {
            snprintf (self->why, sizeof self->why, "%s", kh_proc_why (procs [i]));
            return procs [i];
        }
    return NULL;
}

int
kh_launch_await_link (kh_launch_t *self, int timeout_ms)
{
    assert (self);
    assert (self->broker && self->recorder);
    kh_client_t *client = self->opts.keys ? kh_client_new_secure (self->client,
                                                                  self->opts.keys)
                                          : kh_client_new (self->client);
    if (!client) {
        snprintf (self->why, sizeof self->why, "cannot reach the broker at %s", self->client);
        return -1;
    }
    kh_proc_t *const procs [2] = { self->broker, self->recorder };
    int64_t deadline = zclock_mono () + timeout_ms;
    bool linked = false;
    int rc = -1;
    while (rc == -1 && !s_ended (self)) {
        if (zclock_mono () > deadline) {
            snprintf (self->why, sizeof self->why, "the recorder did not link to the broker "
                      "within %d ms", timeout_ms);
            break;
        }
        int pinged = kh_client_ping (client, S_PING_MS, NULL, &linked);
        bool answered = pinged == 0;
        if (pinged != 0 && pinged != KH_ETIMEOUT) {    /* refused: waiting will not help */
            const kh_error_reply_t *err = kh_client_last_error (client);
            snprintf (self->why, sizeof self->why, "the broker refused our ping: %s: %s",
                      kh_errname (pinged), err && err->code == pinged ? err->reason : "");
            break;
        }
        if (linked)
            rc = 0;
        else
        if (kh_proc_wait (procs, 2, answered ? 20 : 0, self->wake_fd) == KH_PROC_WOKEN)
            rc = KH_PROC_WOKEN;
    }
    kh_client_destroy (&client);
    return rc;
}

int
kh_launch_start (kh_launch_t *self, const char *const *broker_args,
                 const char *const *recorder_args)
{
    int rc = kh_launch_broker (self, broker_args);
    if (rc == 0)
        rc = kh_launch_recorder (self, recorder_args);
    if (rc == 0)
        rc = kh_launch_await_link (self, self->opts.ready_ms);
    return rc;
}

/* ------------------------------------------------------------ stopping */

int
kh_launch_stop (kh_launch_t *self)
{
    assert (self);
    kh_proc_t *procs [3] = { self->web, self->recorder, self->broker };
    for (int i = 0; i < 3; i++)
        if (procs [i])
            kh_proc_signal (procs [i], SIGTERM);
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        if (!procs [i])
            continue;
        int status = kh_proc_reap (procs [i], KH_LAUNCH_STOP_MS);
        /* Ended by the SIGTERM we sent, before it could install its handler (it
           was still starting): stopped as asked, so clean too. */
        bool termed = status != -1 && WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM;
        if (!termed
        &&  (status == -1 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)) {
            snprintf (self->why, sizeof self->why, "%s", kh_proc_why (procs [i]));
            rc = -1;
        }
    }
    return rc;
}
