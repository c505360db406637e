/*  kh_proc_test.c - child processes run through sh: READY awaited, output echoed,
    an early exit, a timeout, a wake-up, a child that ignores SIGTERM, a program that
    cannot be run. */
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_check.h"
#include <fcntl.h>
#include "kh_proc.h"

static char s_dir [] = "/tmp/kh-proc-XXXXXX";

/* Starts sh -c script as "child", stderr into the test's err file, echo to echo. */
static kh_proc_t *
s_sh (const char *script, FILE *echo)
{
    char err [64];
    snprintf (err, sizeof err, "%s/child.err", s_dir);
    const char *argv [] = { "/bin/sh", "-c", script, NULL };
    kh_proc_opts_t opts = { .name = "child", .err_path = err, .echo = echo };
    return kh_proc_new (argv, &opts);
}

/* Reads the err file (what children said on stderr) into text. */
static void
s_err_text (char *text, size_t cap)
{
    char path [64];
    snprintf (path, sizeof path, "%s/child.err", s_dir);
    FILE *file = fopen (path, "r");
    size_t n = file ? fread (text, 1, cap - 1, file) : 0;
    text [n] = 0;
    if (file)
        fclose (file);
}

static void
s_test_ready (void)
{
    FILE *echo = tmpfile ();
    kh_proc_t *proc = s_sh ("echo hello; echo 'READY a=1 b=two'; echo after; exec sleep 30",
                            echo);
    int64_t start = zclock_mono ();
    int rc = proc ? kh_proc_await_ready (proc, 10000, -1) : -2;
    KH_CHECK ("a child's READY line is awaited and kept", rc == 0
              && streq (kh_proc_ready (proc), "READY a=1 b=two"), "rc %d '%s'", rc,
              proc && kh_proc_ready (proc) ? kh_proc_ready (proc) : "");
    KH_CHECK ("the child leads a process group of its own", proc
              && getpgid (kh_proc_pid (proc)) == kh_proc_pid (proc), "pgid %d pid %d",
              proc ? (int) getpgid (kh_proc_pid (proc)) : 0, proc ? (int) kh_proc_pid (proc) : 0);
    kh_proc_wait (&proc, 1, 100, -1);   /* "after" may come a moment later */
    char text [256] = "";
    rewind (echo);
    size_t n = fread (text, 1, sizeof text - 1, echo);
    text [n] = 0;
    KH_CHECK ("its other lines are echoed with its name", streq (text, "child: hello\n"
              "child: after\n"), "'%s'", text);
    KH_CHECK ("it runs until told", kh_proc_running (proc) && kh_proc_status (proc) == -1,
              "status %d", kh_proc_status (proc));
    kh_proc_signal (proc, SIGTERM);
    int status = kh_proc_reap (proc, 10000);
    KH_CHECK ("SIGTERM ends it and the reap returns its status",
              status != -1 && WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM
              && streq (kh_proc_why (proc), "child was killed by signal 15 (Terminated)"),
              "status 0x%x why '%s'", status, kh_proc_why (proc));
    KH_CHECK ("a child that ended takes no more signals", kh_proc_signal (proc, SIGTERM) == -1,
              "signalled");
    KH_CHECK ("all this took moments", zclock_mono () - start < 5000, "%d ms",
              (int) (zclock_mono () - start));
    kh_proc_destroy (&proc);
    kh_proc_destroy (&proc);
    KH_CHECK ("destroy nulls the pointer and a second one is harmless", proc == NULL, "not");
    fclose (echo);
}

static void
s_test_early_exit (void)
{
    kh_proc_t *proc = s_sh ("echo 'cannot bind tcp://127.0.0.1:7701' >&2; exit 3", NULL);
    int64_t start = zclock_mono ();
    int rc = proc ? kh_proc_await_ready (proc, 20000, -1) : -2;
    int64_t took = zclock_mono () - start;
    char err [256];
    s_err_text (err, sizeof err);
    KH_CHECK ("a child that exits before READY is noticed at once, with its status",
              rc == -1 && took < 2000 && kh_proc_status (proc) != -1
              && streq (kh_proc_why (proc), "child exited with status 3 before it said READY"),
              "rc %d after %d ms, why '%s'", rc, (int) took, proc ? kh_proc_why (proc) : "");
    KH_CHECK ("what it said on stderr is kept", strstr (err, "cannot bind tcp://127.0.0.1:7701"),
              "'%s'", err);
    kh_proc_destroy (&proc);

    proc = s_sh ("echo 'READY last=words'; exit 0", NULL);
    rc = proc ? kh_proc_await_ready (proc, 20000, -1) : -2;
    KH_CHECK ("a READY line said on the way out still counts", rc == 0
              && streq (kh_proc_ready (proc), "READY last=words"), "rc %d", rc);
    KH_CHECK ("and the exit is seen", kh_proc_reap (proc, 5000) == 0, "why '%s'",
              kh_proc_why (proc));
    kh_proc_destroy (&proc);
}

static void
s_test_timeout_and_wake (void)
{
    kh_proc_t *proc = s_sh ("exec sleep 30", NULL);
    int64_t start = zclock_mono ();
    int rc = proc ? kh_proc_await_ready (proc, 200, -1) : -2;
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a child that does not say READY in time is given up after the timeout",
              rc == -1 && took >= 190 && took < 2000
              && streq (kh_proc_why (proc), "child did not say READY within 200 ms"),
              "rc %d after %d ms, why '%s'", rc, (int) took, proc ? kh_proc_why (proc) : "");
    int fds [2] = { -1, -1 };
    if (pipe (fds) == 0 && write (fds [1], "x", 1) == 1) {
        start = zclock_mono ();
        rc = kh_proc_await_ready (proc, 10000, fds [0]);
        took = zclock_mono () - start;
    }
    KH_CHECK ("a readable wake descriptor ends the wait at once", rc == KH_PROC_WOKEN
              && took < 1000, "rc %d after %d ms", rc, (int) took);
    pid_t pid = proc ? kh_proc_pid (proc) : 0;
    kh_proc_destroy (&proc);
    KH_CHECK ("destroy kills a child still running and reaps it",
              pid > 0 && kill (pid, 0) == -1 && errno == ESRCH, "pid %d", (int) pid);
    close (fds [0]);
    close (fds [1]);
}

static void
s_test_stubborn (void)
{
    kh_proc_t *proc = s_sh ("trap '' TERM; echo READY; while :; do sleep 1; done", NULL);
    int rc = proc ? kh_proc_await_ready (proc, 10000, -1) : -2;
    kh_proc_signal (proc, SIGTERM);
    int64_t start = zclock_mono ();
    int status = rc == 0 ? kh_proc_reap (proc, 300) : 0;
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a child that ignores SIGTERM is killed after the reap's timeout",
              status == -1 && took >= 290 && took < 3000
              && WIFSIGNALED (kh_proc_status (proc))
              && WTERMSIG (kh_proc_status (proc)) == SIGKILL
              && streq (kh_proc_why (proc), "child did not end within 300 ms; killed"),
              "status %d after %d ms, why '%s'", status, (int) took,
              proc ? kh_proc_why (proc) : "");
    kh_proc_destroy (&proc);
}

static void
s_test_cannot_run (void)
{
    char err [64];
    snprintf (err, sizeof err, "%s/child.err", s_dir);
    const char *argv [] = { "/nonexistent/kreishub-nothing", "--flag", NULL };
    kh_proc_opts_t opts = { .err_path = err };
    kh_proc_t *proc = kh_proc_new (argv, &opts);
    int rc = proc ? kh_proc_await_ready (proc, 10000, -1) : -2;
    char text [512];
    s_err_text (text, sizeof text);
    KH_CHECK ("a program that cannot be run exits 127 and says why",
              rc == -1 && WIFEXITED (kh_proc_status (proc))
              && WEXITSTATUS (kh_proc_status (proc)) == 127
              && strstr (text, "cannot run /nonexistent/kreishub-nothing: No such file"),
              "rc %d why '%s' stderr '%s'", rc, proc ? kh_proc_why (proc) : "", text);
    KH_CHECK ("without a name, a child is named by its program",
              proc && strncmp (kh_proc_why (proc), "/nonexistent/kreishub-nothing exited", 36)
              == 0, "why '%s'", proc ? kh_proc_why (proc) : "");
    kh_proc_destroy (&proc);
}

static void
s_test_wait_many (void)
{
    kh_proc_t *procs [2] = { s_sh ("exec sleep 30", NULL), s_sh ("sleep 0.1; exit 4", NULL) };
    int64_t start = zclock_mono ();
    while (procs [0] && procs [1] && kh_proc_running (procs [1])
       &&  zclock_mono () - start < 10000)
        kh_proc_wait (procs, 2, 5000, -1);
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a wait on several children ends when one of them ends",
              procs [1] && !kh_proc_running (procs [1]) && took < 3000
              && WEXITSTATUS (kh_proc_status (procs [1])) == 4
              && streq (kh_proc_why (procs [1]), "child exited with status 4"),
              "after %d ms, why '%s'", (int) took, procs [1] ? kh_proc_why (procs [1]) : "");
    KH_CHECK ("the other runs on", procs [0] && kh_proc_running (procs [0]), "ended");
    kh_proc_destroy (&procs [0]);
    kh_proc_destroy (&procs [1]);
}

/* A file descriptor of the parent without close-on-exec does not reach the child. */
static void
s_test_no_inherited_fds (void)
{
    int fd = open ("/dev/null", O_RDONLY);     /* deliberately without O_CLOEXEC */
    char script [128];
    snprintf (script, sizeof script, "if [ -e /proc/self/fd/%d ]; then echo READY fd=open; "
              "else echo READY fd=closed; fi; exec sleep 30", fd);
    kh_proc_t *proc = fd >= 0 ? s_sh (script, NULL) : NULL;
    int rc = proc ? kh_proc_await_ready (proc, 10000, -1) : -2;
    KH_CHECK ("the child has no file descriptor of ours but stdin, stdout and stderr",
              rc == 0 && streq (kh_proc_ready (proc), "READY fd=closed"), "rc %d '%s'", rc,
              proc && kh_proc_ready (proc) ? kh_proc_ready (proc) : "");
    kh_proc_destroy (&proc);
    if (fd >= 0)
        close (fd);
}

int
main (void)
{
    if (!mkdtemp (s_dir)) {
        printf ("FAIL cannot make %s\n", s_dir);
        return 1;
    }
    s_test_ready ();
    s_test_early_exit ();
    s_test_timeout_and_wake ();
    s_test_stubborn ();
    s_test_cannot_run ();
    s_test_wait_many ();
    s_test_no_inherited_fds ();
    char path [64];
    snprintf (path, sizeof path, "%s/child.err", s_dir);
    unlink (path);
    rmdir (s_dir);
    return kh_check_done ("proc_test");
}
