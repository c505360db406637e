/*  kh_bench_daemon.c - the brokers of others (mosquitto, nats-server) that the bench
    starts for its comparisons: a fresh directory, a free loopback port, the process,
    and waiting until it accepts connections. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"

#define S_LISTEN_MS     5000    /* a broker must listen within this */

/* Returns a loopback TCP port that was free a moment ago, or -1. */
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
    &&  getsockname (fd, (struct sockaddr *) &addr, &len) == 0)
        port = ntohs (addr.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

/* True if something accepts TCP connections on the loopback port. */
static bool
s_listening (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    bool up = fd >= 0 && connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
    if (fd >= 0)
        close (fd);
    return up;
}

const char *
kh_bench_which (const char *name)
{
    static const char *const dirs [] = { "/usr/sbin", "/usr/bin", "/usr/local/bin" };
    static char path [128];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs [0]; i++) {
        snprintf (path, sizeof path, "%s/%s", dirs [i], name);
        if (access (path, X_OK) == 0)
            return path;
    }
    return NULL;
}

int
kh_bench_daemon_prepare (kh_bench_daemon_t *self, const char *name)
{
    *self = (kh_bench_daemon_t) { .proc = NULL };
    snprintf (self->dir, sizeof self->dir, "/tmp/kh-%s-XXXXXX", name);
    if (!mkdtemp (self->dir)) {
        self->dir [0] = 0;
        return -1;
    }
    snprintf (self->log, sizeof self->log, "%s/%s.log", self->dir, name);
    self->port = s_free_port ();
    return self->port < 0 ? -1 : 0;
}

int
kh_bench_daemon_start (kh_bench_daemon_t *self, const char *const argv [])
{
    kh_proc_opts_t how = { .err_path = self->log };
    self->proc = kh_proc_new (argv, &how);
    for (int64_t end = zclock_mono () + S_LISTEN_MS; self->proc && zclock_mono () < end; ) {
        if (s_listening (self->port))
            return 0;
        if (!kh_proc_running (self->proc)) {
            fprintf (stderr, "kreishub-bench: %s (see %s)\n", kh_proc_why (self->proc),
                     self->log);
            return -1;
        }
        kh_proc_wait (&self->proc, 1, 20, -1);     /* nothing tells when it listens */
    }
    fprintf (stderr, "kreishub-bench: %s does not listen on port %d (see %s)\n", argv [0],
             self->port, self->log);
    return -1;
}

void
kh_bench_daemon_stop (kh_bench_daemon_t *self, bool keep)
{
    if (self->proc) {
        kh_proc_signal (self->proc, SIGTERM);
        kh_proc_reap (self->proc, 5000);
        kh_proc_destroy (&self->proc);
    }
    if (!keep && self->dir [0]) {
        char cmd [128];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", self->dir);
        if (system (cmd) != 0)
            fprintf (stderr, "kreishub-bench: could not remove %s\n", self->dir);
    }
}
