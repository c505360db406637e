/*  kh_proc.c - child processes with their stdout on a pipe (see kh_proc.h). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_proc.h"
#include "kh_ready.h"

#define S_WAIT_MAX      8               /* children one kh_proc_wait watches */
#define S_TICK_MS       10              /* how often an exit is looked for without a pidfd */

/*  A child from fork to reap. While running is true, pid is an unreaped child of ours
    and the leader of its own process group; afterwards status holds its wait status.
    out is open until its stdout reached EOF. partial holds the start of a line whose
    end has not come; ready the first READY line, once it came. */
struct _kh_proc_t {
    char    name [64];                  /* for messages and echoed lines */
    pid_t   pid;
    bool    running;                    /* not reaped yet */
    int     status;                     /* wait status once reaped, else -1 */
    int     out;                        /* read end of its stdout, -1 after EOF */
    int     pidfd;                      /* readable once it ended; -1: none */
    FILE   *echo;                       /* where other lines go, or NULL */
    char    partial [KH_READY_MAX];
    size_t  len;                        /* bytes in partial */
    char    ready [KH_READY_MAX];       /* "" until the READY line came */
    char    why [256];                  /* how it ended, or why a wait failed */
};

/* Milliseconds on the monotonic clock. */
static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes text to stderr with write(2) alone (all a forked child may safely do). */
static void
s_say (const char *text)
{
    if (write (STDERR_FILENO, text, strlen (text)) < 0) {
        /* nobody to tell */
    }
}

/* In the child: closes every file descriptor from first on. */
static void
s_close_from (int first)
{
    if (close_range ((unsigned) first, ~0U, 0) == 0)
        return;
    struct rlimit limit;                /* a kernel before 5.9: one by one */
    rlim_t last = getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536
                ? limit.rlim_cur : 65536;
    for (rlim_t fd = (rlim_t) first; fd < last; fd++)
        close ((int) fd);
}

/* In the child: becomes a group leader that dies with its parent, takes the pipe as
   stdout (and err, if not -1, as stderr) and runs argv. Never returns. */
static void
s_child (const char *const argv [], int out, int err, pid_t parent)
{
    /* A signal before exec must not run the parent's handlers here. */
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGCHLD, SIG_DFL);
    signal (SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    if (getppid () != parent)           /* died before the line above: no signal comes */
        _exit (1);
    if (dup2 (out, STDOUT_FILENO) < 0 || (err >= 0 && dup2 (err, STDERR_FILENO) < 0))
        _exit (126);
    /* The program gets stdin, stdout and stderr, nothing else of ours: no socket,
       no log file a test runner holds open (it would keep them open for as long as
       the program runs). */
    s_close_from (3);
    if (strchr (argv [0], '/'))
        execv (argv [0], (char *const *) argv);
    else
        execvp (argv [0], (char *const *) argv);
    s_say ("cannot run ");
    s_say (argv [0]);
    s_say (": ");
    s_say (strerror (errno));
    s_say ("\n");
    _exit (127);
}

/* Returns a pidfd for pid, or -1 where the kernel has none. */
static int
s_pidfd (pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int) syscall (SYS_pidfd_open, pid, 0);
#else
    return -1;
#endif
}

/* Forks a child running argv with its stdout into a new pipe, whose read end goes
   to *out. Returns its pid, or -1. Nothing of ours is on the heap at the fork, so
   that a child whose exec fails (under valgrind, say) leaks nothing. */
static pid_t
s_spawn (const char *const argv [], const char *err_path, int *out)
{
    int fds [2], err = -1;
    if (err_path && (err = open (err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                                 0644)) < 0)
        return -1;
    if (pipe2 (fds, O_CLOEXEC)) {
        if (err >= 0)
            close (err);
        return -1;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0)
        s_child (argv, fds [1], err, parent);
    close (fds [1]);
    if (err >= 0)
        close (err);
    if (pid < 0) {
        close (fds [0]);
        return -1;
    }
    setpgid (pid, pid);                 /* as the child does: whichever runs first */
    fcntl (fds [0], F_SETFL, O_NONBLOCK);
    *out = fds [0];
    return pid;
}

kh_proc_t *
kh_proc_new (const char *const argv [], const kh_proc_opts_t *opts)
{
    assert (argv && argv [0]);
    kh_proc_opts_t none = { 0 };        /* clang's -Wextra takes { NULL } for one field */
    if (!opts)
        opts = &none;
    int out = -1;
    pid_t pid = s_spawn (argv, opts->err_path, &out);
    if (pid < 0)
        return NULL;
    kh_proc_t *self = (kh_proc_t *) calloc (1, sizeof *self);
    if (!self) {
        kill (-pid, SIGKILL);
        waitpid (pid, NULL, 0);
        close (out);
        return NULL;
    }
    snprintf (self->name, sizeof self->name, "%s", opts->name ? opts->name : argv [0]);
    self->echo = opts->echo;
    self->pid = pid;
    self->running = true;
    self->status = -1;
    self->out = out;
    self->pidfd = s_pidfd (pid);
    return self;
}

void
kh_proc_destroy (kh_proc_t **self_p)
{
    kh_proc_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->running) {
        if (kill (-self->pid, SIGKILL))
            kill (self->pid, SIGKILL);
        waitpid (self->pid, NULL, 0);
    }
    if (self->out >= 0)
        close (self->out);
    if (self->pidfd >= 0)
        close (self->pidfd);
    free (self);
    *self_p = NULL;
}

const char *
kh_proc_name (kh_proc_t *self)
{
    assert (self);
    return self->name;
}

pid_t
kh_proc_pid (kh_proc_t *self)
{
    assert (self);
    return self->pid;
}

const char *
kh_proc_ready (kh_proc_t *self)
{
    assert (self);
    return self->ready [0] ? self->ready : NULL;
}

const char *
kh_proc_why (kh_proc_t *self)
{
    assert (self);
    return self->why;
}

int
kh_proc_status (kh_proc_t *self)
{
    assert (self);
    return self->running ? -1 : self->status;
}

/* ------------------------------------------------------------------ output */

/* Takes one line of the child's stdout: keeps the first READY line, echoes others. */
static void
s_line (kh_proc_t *self, char *line)
{
    line [strcspn (line, "\r")] = 0;
    if (!self->ready [0] && kh_ready_is (line))
        snprintf (self->ready, sizeof self->ready, "%s", line);
    else
    if (self->echo) {
        fprintf (self->echo, "%s: %s\n", self->name, line);
        fflush (self->echo);
    }
}

/* Reads what the child wrote, line by line; a line too long for partial is taken in
   pieces. At EOF takes an unfinished last line and closes the pipe. */
static void
s_read (kh_proc_t *self)
{
    char buf [4096];
    while (self->out >= 0) {
        ssize_t n = read (self->out, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            if (self->len) {
                self->partial [self->len] = 0;
                s_line (self, self->partial);
                self->len = 0;
            }
            close (self->out);
            self->out = -1;
            return;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf [i] != '\n')
                self->partial [self->len++] = buf [i];
            if (buf [i] == '\n' || self->len == sizeof self->partial - 1) {
                self->partial [self->len] = 0;
                s_line (self, self->partial);
                self->len = 0;
            }
        }
    }
}

/* ------------------------------------------------------------------ ending */

/* Writes how the child ended into why, with tail after it (e.g. " before ..."). */
static void
s_describe (kh_proc_t *self, const char *tail)
{
    if (self->status == -1)
        snprintf (self->why, sizeof self->why, "%s ended%s (its status was taken "
                  "elsewhere)", self->name, tail);
    else
    if (WIFSIGNALED (self->status))
        snprintf (self->why, sizeof self->why, "%s was killed by signal %d (%s)%s",
                  self->name, WTERMSIG (self->status), strsignal (WTERMSIG (self->status)),
                  tail);
    else
        snprintf (self->why, sizeof self->why, "%s exited with status %d%s", self->name,
                  WEXITSTATUS (self->status), tail);
}

/* Takes the child as ended with the status in self->status (-1: unknown). */
static void
s_ended (kh_proc_t *self)
{
    self->running = false;
    if (self->pidfd >= 0) {
        close (self->pidfd);
        self->pidfd = -1;
    }
    s_describe (self, "");
}

/* Reaps the child if it ended. Returns true while it runs. */
static bool
s_check (kh_proc_t *self)
{
    if (!self->running)
        return false;
    pid_t got = waitpid (self->pid, &self->status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR))
        return true;
    if (got < 0)                        /* ECHILD: SIGCHLD ignored, reaped by the kernel */
        self->status = -1;
    s_ended (self);
    return false;
}

bool
kh_proc_running (kh_proc_t *self)
{
    assert (self);
    return s_check (self);
}

int
kh_proc_signal (kh_proc_t *self, int sig)
{
    assert (self);
    return s_check (self) && kill (self->pid, sig) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ waiting */

int
kh_proc_wait (kh_proc_t *const procs [], size_t count, int timeout_ms, int wake_fd)
{
    assert (count <= S_WAIT_MAX);
    struct pollfd items [2 * S_WAIT_MAX + 1];
    nfds_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (procs [i]->out >= 0)
            items [n++] = (struct pollfd) { .fd = procs [i]->out, .events = POLLIN };
        if (procs [i]->running && procs [i]->pidfd >= 0)
            items [n++] = (struct pollfd) { .fd = procs [i]->pidfd, .events = POLLIN };
        else
        if (procs [i]->running && timeout_ms > S_TICK_MS)
            timeout_ms = S_TICK_MS;     /* no pidfd: look for its exit now and then */
    }
    nfds_t wake = n;
    if (wake_fd >= 0)
        items [n++] = (struct pollfd) { .fd = wake_fd, .events = POLLIN };
    int rc = poll (items, n, timeout_ms < 0 ? 0 : timeout_ms);
    for (size_t i = 0; i < count; i++) {
        s_read (procs [i]);
        s_check (procs [i]);
    }
    return rc > 0 && wake_fd >= 0 && (items [wake].revents & (POLLIN | POLLHUP))
         ? KH_PROC_WOKEN : 0;
}

int
kh_proc_await_ready (kh_proc_t *self, int timeout_ms, int wake_fd)
{
    assert (self);
    int64_t deadline = s_now_ms () + timeout_ms;
    s_read (self);
    while (!self->ready [0]) {
        if (!s_check (self)) {
            s_read (self);              /* it may have said READY on its way out */
            if (self->ready [0])
                break;
            s_describe (self, " before it said READY");
            return -1;
        }
        int64_t left = deadline - s_now_ms ();
        if (left <= 0) {
            snprintf (self->why, sizeof self->why, "%s did not say READY within %d ms",
                      self->name, timeout_ms);
            return -1;
        }
        if (kh_proc_wait (&self, 1, (int) left, wake_fd) == KH_PROC_WOKEN)
            return KH_PROC_WOKEN;
    }
    return 0;
}

int
kh_proc_reap (kh_proc_t *self, int timeout_ms)
{
    assert (self);
    int64_t deadline = s_now_ms () + timeout_ms;
    while (s_check (self)) {
        int64_t left = deadline - s_now_ms ();
        if (left <= 0) {
            if (kill (-self->pid, SIGKILL))
                kill (self->pid, SIGKILL);
            pid_t got;
            while ((got = waitpid (self->pid, &self->status, 0)) < 0 && errno == EINTR)
                ;
            if (got < 0)
                self->status = -1;
            s_ended (self);
            snprintf (self->why, sizeof self->why, "%s did not end within %d ms; killed",
                      self->name, timeout_ms);
            return -1;
        }
        kh_proc_wait (&self, 1, (int) left, -1);
    }
    return self->status;
}
