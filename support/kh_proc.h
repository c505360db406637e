/*  kh_proc.h - a child process whose stdout this process reads line by line: started,
    awaited until it prints its READY line (kh_ready.h), signalled, and reaped within a
    timeout. `kreishub up`, the test harness and the bench start every program they
    run through this.

    The child leads a process group of its own, so that a Ctrl-C at the terminal
    reaches only its parent, which stops it in an order of its choosing; it gets
    SIGTERM should the thread that started it die (PR_SET_PDEATHSIG), so start
    children from a thread that lives as long as they should. Its stdout comes
    through a pipe: the first READY line is kept, every other line is passed to an
    echo stream (or dropped), so a child cannot block on a full pipe while its parent
    waits here. Its stderr is ours (what it says reaches the user as it says it) or
    appended to a file; no other file descriptor of ours reaches it. An exit is
    noticed at once through a pidfd where the kernel has them, else within 10 ms.
*/
#ifndef KH_PROC_H_INCLUDED
#define KH_PROC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_proc_t kh_proc_t;

/* How to start a child; every field may be left 0. */
typedef struct {
    const char *name;                   /* in messages and echoed lines (default argv[0]) */
    const char *err_path;               /* its stderr is appended here; NULL: ours */
    FILE       *echo;                   /* its stdout lines but READY, as "NAME: line" */
} kh_proc_opts_t;

/* What kh_proc_await_ready and kh_proc_wait return besides 0 and -1. */
#define KH_PROC_WOKEN   1               /* the wake descriptor became readable */

/* Starts argv[0] (a path if it holds a '/', else looked up on PATH) with the
   NULL-terminated argv, as opts say (opts may be NULL). Returns the child, or NULL
   if no process could be started (pipe, fork or err_path failed). A program that
   cannot be executed still yields a child: it says why on its stderr and exits 127. */
kh_proc_t *kh_proc_new (const char *const argv [], const kh_proc_opts_t *opts);

/* Kills the child with its process group (SIGKILL) if it still runs, reaps it, and
   frees self; sets *self_p to NULL. Stop a child gracefully first (kh_proc_signal,
   kh_proc_reap); this is the end of last resort. Harmless on NULL. */
void kh_proc_destroy (kh_proc_t **self_p);

/* The child's name and process id (its pid stays known after it ended). */
const char *kh_proc_name (kh_proc_t *self);
pid_t kh_proc_pid (kh_proc_t *self);

/* Waits up to timeout_ms until the child printed its READY line, reading its output
   meanwhile. wake_fd, if not -1, ends the wait when it becomes readable (it is not
   read). Returns 0 once the line came (also if the child ended right after it),
   KH_PROC_WOKEN, or -1 if the child ended before or the time ran out: then
   kh_proc_why says which, with its exit status. */
int kh_proc_await_ready (kh_proc_t *self, int timeout_ms, int wake_fd);

/* The child's READY line without its newline, or NULL if it has not printed one. */
const char *kh_proc_ready (kh_proc_t *self);

/* Waits up to timeout_ms until one of count children (at most 8) writes or ends, or
   wake_fd (if not -1) becomes readable; reads what they wrote and reaps those that
   ended. Returns 0, or KH_PROC_WOKEN if wake_fd is readable. */
int kh_proc_wait (kh_proc_t *const procs [], size_t count, int timeout_ms, int wake_fd);

/* True if the child has not ended (it is reaped here if it has). */
bool kh_proc_running (kh_proc_t *self);

/* The child's wait status once it ended, -1 while it runs. */
int kh_proc_status (kh_proc_t *self);

/* Sends sig to the child if it still runs. Returns 0, or -1 if it has ended. */
int kh_proc_signal (kh_proc_t *self, int sig);

/* Waits up to timeout_ms for the child to end, reading its output. Returns its wait
   status; or, if it did not end in time, kills it with its process group (SIGKILL),
   reaps it and returns -1 (kh_proc_why says so). */
int kh_proc_reap (kh_proc_t *self, int timeout_ms);

/* One sentence on how the child ended or why a wait for it failed, beginning with
   its name, e.g. "kreishub-broker exited with status 1 before it said READY";
   "" while nothing is to be told. */
const char *kh_proc_why (kh_proc_t *self);

#ifdef __cplusplus
}
#endif
#endif
