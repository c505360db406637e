/*  it_up.c - `kreishub up` and scripts/up.sh, as a user runs them: up comes up on the
    endpoints and data directory that its flags or the environment name, says READY,
    serves, stops on SIGINT (and on SIGTERM before READY, with status 0 too) and
    starts again on the same store; up.sh publishes the demo into the hub it started.
    With a port taken, by a plain listening socket or by a real hub, both stop at
    once, name the port, and publish nowhere: the socket holder is never connected
    to, and the other hub's log stays as it was. A second up on a data directory in
    use stops at once too, and a standby recorder stopped by SIGTERM exits 0.

    The hub up runs is secure: its first start makes the certificates of the broker,
    the recorder, an admin, the Kreis and each member in DATA/certs (their public
    parts in DATA/clients), later starts reuse them and make those of members added
    to the configuration; up.sh's demo publishes each item with its sender's own
    certificate, and the tour it prints works as printed. --plain still runs a plain
    hub, and says so.

    Programs run through support/kh_proc.h: the test waits for a READY line or for
    output, never for a time. */
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kh_cert.h"
#include "kh_harness.h"
#include "kh_proc.h"
#include "kh_ready.h"

#define S_OUT_MAX       (64 * 1024)     /* captured output of one program */
#define S_UP_MS         30000           /* `kreishub up` says READY within this */
#define S_TAKEN_MS      2000            /* and stops within this if a port is taken */
/* A random free port: with "*" czmq takes the lowest free one, which a parallel test
   may get the moment a hub here frees it. */
#define S_ANY           "tcp://127.0.0.1:!"

/* GETs / from url ("http://127.0.0.1:PORT/") over a plain socket and returns the
   HTTP status of the answer, or -1. */
static int
s_http_status (const char *url)
{
    int port = 0;
    if (sscanf (url, "http://127.0.0.1:%d/", &port) != 1 || port <= 0 || port > 65535)
        return -1;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                              .sin_addr = { htonl (INADDR_LOOPBACK) } };
    char answer [64] = "";
    int status = -1;
    if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
        const char request [] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        ssize_t got = write (fd, request, sizeof request - 1) == (ssize_t) sizeof request - 1
                    ? read (fd, answer, sizeof answer - 1) : -1;
        answer [got > 0 ? got : 0] = 0;
        if (sscanf (answer, "HTTP/1.%*d %d", &status) != 1)
            status = -1;
    }
    if (fd >= 0)
        close (fd);
    return status;
}

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

/* Runs a shell command with the programs on PATH, speaking to the harness' hub;
   stdout into t->out. */
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

/* The same for a hub that `kreishub up` runs on the data directory data, as who
   (a base in DATA/certs: an AGS, or "admin"), with the certificates up made. */
static int
s_sh_as (s_test_t *t, const char *data, const char *who, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_sh_as (s_test_t *t, const char *data, const char *who, const char *fmt, ...)
{
    char cmd [2048];
    va_list args;
    va_start (args, fmt);
    vsnprintf (cmd, sizeof cmd, fmt, args);
    va_end (args);
    /* after the harness' own, so these win */
    return kh_hub_run_as (&t->hub, "admin", t->out, sizeof t->out,
                          "KREISHUB_CERT='%s/certs/%s.cert_secret' "
                          "KREISHUB_SERVER_CERT='%s/certs/server.cert' %s", data, who, data,
                          cmd);
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

/* ------------------------------------------------------------ certificates */

#define S_MEMBERS       8               /* the default's, the Rhein-Kreis Neuss' */
#define S_HOLDERS_MAX   16

/* Whom `kreishub up` makes certificates for: file base, ags, role, name. */
typedef struct {
    const char *base;
    const char *ags;
    const char *role;                   /* "" for the server's */
    const char *name;
} s_holder_t;

static const s_holder_t s_holders [] = {
    { "server", "", "", "kreishub" }, { "hub", "05162", "hub", "recorder" },
    { "admin", "05162", "admin", "admin" }, { "05162", "05162", "kreis", "Rhein-Kreis Neuss" },
    { "05162004", "05162004", "municipality", "Dormagen" },
    { "05162008", "05162008", "municipality", "Grevenbroich" },
    { "05162012", "05162012", "municipality", "Jüchen" },
    { "05162016", "05162016", "municipality", "Kaarst" },
    { "05162020", "05162020", "municipality", "Korschenbroich" },
    { "05162022", "05162022", "municipality", "Meerbusch" },
    { "05162024", "05162024", "municipality", "Neuss" },
    { "05162028", "05162028", "municipality", "Rommerskirchen" },
    /* added to the configuration later */
    { "05162032", "05162032", "municipality", "Testdorf" }
};
#define S_DEFAULT_HOLDERS   12          /* s_holders without the one added later */

/* The public keys of the holders, to tell a reused pair from a new one. */
typedef struct {
    char key [S_HOLDERS_MAX][41];
} s_keys_t;

/* True if path has the mode bits mode (and exists). */
static bool
s_mode (const char *path, mode_t mode)
{
    struct stat st;
    return stat (path, &st) == 0 && (st.st_mode & 0777) == mode;
}

/* The value of cert's metadata key; "" if it lacks the key (or cert is NULL). */
static const char *
s_meta (zcert_t *cert, const char *key)
{
    const char *value = cert ? zcert_meta (cert, key) : NULL;
    return value ? value : "";
}

/* True if cert's metadata key says value ("" also for a key it lacks). */
static bool
s_meta_is (zcert_t *cert, const char *key, const char *value)
{
    return streq (s_meta (cert, key), value);
}

/* Checks holder's pair in DATA/certs (its metadata, the secret file's mode 0600) and
   its public part in DATA/clients (the same key and metadata, no secret), and
   writes its public key into key. Returns true if all holds, after saying what does
   not. */
static bool
s_check_pair (const char *data, const s_holder_t *holder, char key [41])
{
    char pub [512], sec [512], copy [512];
    snprintf (pub, sizeof pub, "%s/certs/%s.cert", data, holder->base);
    snprintf (sec, sizeof sec, "%s/certs/%s.cert_secret", data, holder->base);
    snprintf (copy, sizeof copy, "%s/clients/%s.cert", data, holder->base);
    kh_problem_t why;
    zcert_t *pair = kh_cert_load (sec, true, &why);
    bool server = streq (holder->base, "server");
    zcert_t *admitted = server ? NULL : kh_cert_load (copy, false, &why);
    zcert_t *secret = server ? NULL : kh_cert_load (copy, true, &why);
    bool ok = pair && s_mode (sec, 0600) && s_mode (pub, 0644)
           && s_meta_is (pair, "ags", holder->ags) && s_meta_is (pair, "role", holder->role)
           && s_meta_is (pair, "name", holder->name)
           && (server ? !zsys_file_exists (copy)
                      : admitted && !secret
                        && streq (zcert_public_txt (admitted), zcert_public_txt (pair))
                        && s_meta_is (admitted, "ags", holder->ags)
                        && s_meta_is (admitted, "role", holder->role));
    if (!ok)
        printf ("it_up: %s: pair %s (%s), mode %o, ags '%s' role '%s' name '%s'; "
                "admitted %s, with a secret %s\n", holder->base, pair ? "read" : "not read",
                why.reason, (unsigned) (zsys_file_mode (sec) & 0777), s_meta (pair, "ags"),
                s_meta (pair, "role"), s_meta (pair, "name"), admitted ? "yes" : "no",
                secret ? "yes" : "no");
    snprintf (key, 41, "%s", pair ? zcert_public_txt (pair) : "");
    zcert_destroy (&pair);
    zcert_destroy (&admitted);
    zcert_destroy (&secret);
    return ok;
}

/* Counts the files in dir whose names end in suffix ("" for all); -1 if it cannot
   be read. */
static int
s_count_files (const char *dir, const char *suffix)
{
    DIR *listing = opendir (dir);
    if (!listing)
        return -1;
    int count = 0;
    for (struct dirent *entry; (entry = readdir (listing)) != NULL; ) {
        size_t len = strlen (entry->d_name), tail = strlen (suffix);
        count += entry->d_name [0] != '.' && len >= tail
              && streq (entry->d_name + len - tail, suffix);
    }
    closedir (listing);
    return count;
}

/* Checks the certificates of data: the first count holders' pairs, each public part
   admitted but the server's, and nothing else in DATA/clients; DATA/certs mode
   0700. Fills keys. */
static void
s_check_certs (const char *data, size_t count, s_keys_t *keys)
{
    char certs [420], clients [420];
    snprintf (certs, sizeof certs, "%s/certs", data);
    snprintf (clients, sizeof clients, "%s/clients", data);
    bool pairs = true;
    for (size_t i = 0; i < count; i++)
        pairs = s_check_pair (data, &s_holders [i], keys->key [i]) && pairs;
    KH_CHECK ("each pair carries its holder's ags, role and name; secret files are 0600",
              pairs, "see above (%zu holders)", count);
    int admitted = s_count_files (clients, ""), secrets = s_count_files (clients, "_secret");
    KH_CHECK ("the clients directory holds the public parts, none secret, not the server's",
              pairs && admitted == (int) count - 1 && secrets == 0,
              "%d files there, %d secret", admitted, secrets);
    KH_CHECK ("the certs directory is the user's alone (0700)", s_mode (certs, 0700),
              "mode %o", (unsigned) (zsys_file_mode (certs) & 0777));
}

/* Counts the pairs up said it made in text. */
static int
s_made (const char *text)
{
    int count = 0;
    for (const char *p = strstr (text, "kreishub up: made "); p;
         p = strstr (p + 1, "kreishub up: made "))
        count++;
    return count;
}

/* Writes a config file at path whose section kreis is the default and one member
   more, 05162032 Testdorf. Returns 0 or -1. */
static int
s_members_config (const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file, "kreis\n    ags = 05162\n    name = \"Rhein-Kreis Neuss\"\n    members\n");
    for (size_t i = 4; i < sizeof s_holders / sizeof s_holders [0]; i++)
        fprintf (file, "        %s = \"%s\"\n", s_holders [i].ags, s_holders [i].name);
    return fclose (file) ? -1 : 0;
}

/* ------------------------------------------------------------ up, secure */

/* A second `kreishub up` on data, while the first (whose recorder pid is recorder)
   runs there: it stops at once, names the lock and its holder, starts nothing. */
static void
s_check_dir_taken (s_test_t *t, const char *data, int recorder)
{
    char expect [600];
    const char *args [] = { "kreishub", "up", "--dir", data, "--client", S_ANY, "--live",
                            S_ANY, "--recorder", S_ANY, NULL };
    int64_t start = zclock_mono ();
    s_run_t run = s_start (t, "up-second", NULL, args);
    int rc = s_finish (t, &run, 10000);
    int64_t took = zclock_mono () - start;
    snprintf (expect, sizeof expect, "kreishub up: the data directory %s is in use by "
              "another hub (its recorder, pid %d,\nholds %s/kreishub.db-lock); nothing was "
              "started", data, recorder, data);
    KH_CHECK ("a second kreishub up on a directory in use exits 1 at once, naming the lock",
              rc == 1 && took < S_TAKEN_MS && strstr (t->err, expect)
              && strstr (t->err, "--dir DIR       or KREISHUB_DIR"),
              "rc %d after %d ms, stderr '%s'", rc, (int) took, t->err);
    KH_CHECK ("and starts nothing: no READY, nothing on stdout", !*t->out, "out '%s'", t->out);
}

/* A recorder started on the store of data, which another recorder holds, waits as
   its standby; SIGTERM ends the wait with status 0. */
static void
s_check_standby_stop (s_test_t *t, const char *data)
{
    char db [460], link [460], err [400];
    snprintf (db, sizeof db, "%s/kreishub.db", data);
    snprintf (link, sizeof link, "ipc://%s/standby.sock", data);
    snprintf (err, sizeof err, "%s/standby.err", t->dir);
    const char *args [] = { "kreishub-recorder", "--db", db, "--broker", link, NULL };
    s_run_t run = s_start (t, "standby", NULL, args);
    /* its log goes to the file: look there until it says it waits */
    int64_t end = zclock_mono () + S_UP_MS;
    while (!strstr (kh_hub_slurp (err, t->err, sizeof t->err), "waiting as its standby")
    &&     run.proc && kh_proc_running (run.proc) && zclock_mono () < end)
        kh_proc_wait (&run.proc, 1, 10, -1);
    KH_CHECK ("a second recorder on the store waits as a standby",
              strstr (t->err, "waiting as its standby"), "err '%s'", t->err);
    kh_proc_signal (run.proc, SIGTERM);
    int rc = s_finish (t, &run, 30000);
    KH_CHECK ("a standby stopped by SIGTERM exits 0, saying it stopped while waiting",
              rc == 0 && strstr (t->err, "stopped while waiting as a standby"),
              "rc %d err '%s'", rc, t->err);
}

/* up on wildcard ports by flags: it makes the certificates, says READY with them,
   serves the Kreis (publish) and the admin (ping), refuses a second up on its
   directory, stops; then again on the same directory, its endpoints and directory
   from the environment alone, a member added by the config file: the pairs are
   reused, the new member's made and admitted, a revoked one left revoked. */
static void
test_up (s_test_t *t)
{
    char data [400], client [256], db [512], head [32], value [512], path [1024];
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
    snprintf (path, sizeof path, "%s/certs/server.cert", data);
    bool named = kh_ready_get (ready, "server_cert", value, sizeof value) == 0
              && streq (value, path);
    snprintf (path, sizeof path, "%s/certs", data);
    named = named && kh_ready_get (ready, "certs", value, sizeof value) == 0
         && streq (value, path);
    KH_CHECK ("and the hub's certificate and the certificates' directory", named, "'%s'",
              ready);
    s_keys_t first;
    s_check_certs (data, S_DEFAULT_HOLDERS, &first);
    char text [S_OUT_MAX];
    s_await_output (&run, "Ctrl-C stops it.", S_UP_MS, text, sizeof text);
    char exports [1200];                /* as echoed: each line after "up: " */
    snprintf (exports, sizeof exports, "up:   export KREISHUB_SERVER_CERT=%s/certs/"
              "server.cert\nup:   export KREISHUB_CERT=%s/certs/05162004.cert_secret\n",
              data, data);
    KH_CHECK ("its first start says it made every pair, and how a client uses them",
              s_made (text) == S_DEFAULT_HOLDERS && strstr (text, exports), "out '%s'", text);

    int rc = s_sh_as (t, data, "admin", "kreishub -e %s ping -t 5000", client);
    KH_CHECK ("once kreishub up says READY, the hub can store (the admin pings it)", rc == 0
              && streq (t->out, "head 0 recorder up\n"), "rc %d '%s'", rc, t->out);
    rc = s_sh_as (t, data, "05162", "kreishub -e %s publish idea --title 'Vor dem Neustart'",
                  client);
    KH_CHECK ("the Kreis publishes with its certificate through kreishub up",
              rc == 0 && streq (t->out, "seq 1\n"), "rc %d '%s'", rc, t->out);
    int kids [2];
    s_kids (text, kids);
    s_check_dir_taken (t, data, kids [1]);
    s_check_standby_stop (t, data);
    rc = s_sh_as (t, data, "admin", "kreishub -e %s ping -t 5000", client);
    KH_CHECK ("the first hub serves on", rc == 0 && streq (t->out, "head 1 recorder up\n"),
              "rc %d '%s'", rc, t->out);
    s_up_stop (t, &run);

    /* Neuss revoked meanwhile; Testdorf joins the Kreis */
    char dir_env [420], config [460], config_env [480], revoked [460];
    snprintf (revoked, sizeof revoked, "%s/clients/05162024.cert", data);
    snprintf (config, sizeof config, "%s/members.cfg", t->dir);
    snprintf (dir_env, sizeof dir_env, "KREISHUB_DIR=%s", data);
    snprintf (config_env, sizeof config_env, "KREISHUB_CONFIG=%s", config);
    rc = unlink (revoked) || s_members_config (config) ? -1 : 0;
    KH_CHECK ("a certificate is revoked and a member added to a config file", rc == 0,
              "%s", strerror (errno));
    const char *env [] = { "KREISHUB_ENDPOINT=" S_ANY, "KREISHUB_LIVE=" S_ANY,
                           "KREISHUB_RECORDER=" S_ANY, dir_env, config_env, NULL };
    const char *bare [] = { "kreishub", "up", NULL };
    run = s_up (t, env, bare, client, sizeof client);
    KH_CHECK ("kreishub up takes endpoints, directory and config from the environment",
              run.proc && kh_ready_get (kh_proc_ready (run.proc), "head", head,
              sizeof head) == 0 && streq (head, "1"), "head '%s'", head);
    if (!run.proc)
        return;
    char url [300] = "";
    kh_ready_get (kh_proc_ready (run.proc), "web", url, sizeof url);
    int status = s_http_status (url);
    KH_CHECK ("kreishub up starts the web page on a free port (the client endpoint's is "
              "any) and names it in READY; it asks for a sign-in", status == 303,
              "url '%s' status %d", url, status);
    s_await_output (&run, "Ctrl-C stops it.", S_UP_MS, text, sizeof text);
    snprintf (path, sizeof path, "kreishub up: made %s/certs/05162032.cert_secret "
              "(05162032 Testdorf)\n", data);
    KH_CHECK ("a later start makes only the pair of the member added",
              s_made (text) == 1 && strstr (text, path), "out '%s'", text);
    snprintf (path, sizeof path, "kreishub up: 05162024 (Neuss) is not admitted: %s is not "
              "there (revoked)", revoked);
    KH_CHECK ("and says that a member's certificate is revoked, leaving it so",
              strstr (text, path) && !zsys_file_exists (revoked), "out '%s'", text);
    s_keys_t second;
    snprintf (path, sizeof path, "%s/certs/05162024.cert", data);
    zcert_t *neuss = zcert_load (path);     /* put back, to check the rest */
    rc = neuss ? zcert_save_public (neuss, revoked) : -1;
    zcert_destroy (&neuss);
    s_check_certs (data, sizeof s_holders / sizeof s_holders [0], &second);
    bool same = rc == 0;
    for (size_t i = 0; i < S_DEFAULT_HOLDERS; i++)
        same = same && *first.key [i] && streq (first.key [i], second.key [i]);
    KH_CHECK ("a second start reuses every pair it made before", same, "keys differ");

    rc = s_sh_as (t, data, "admin", "kreishub -e %s log --format csv", client);
    KH_CHECK ("the log still holds the earlier message after a restart", rc == 0
              && kh_hub_lines (t->out) == 2 && strstr (t->out, "\n1,")
              && strstr (t->out, ",05162,") && strstr (t->out, "Vor dem Neustart"),
              "rc %d '%s'", rc, t->out);
    rc = s_sh_as (t, data, "05162032", "kreishub -e %s publish idea --title 'Nach dem "
                  "Neustart'", client);
    KH_CHECK ("the member added publishes with its new certificate; seqs go on",
              rc == 0 && streq (t->out, "seq 2\n"), "rc %d '%s'", rc, t->out);
    rc = s_sh_as (t, data, "admin", "kreishub -e %s log --format csv --since 2", client);
    KH_CHECK ("stored as its own", rc == 0 && strstr (t->out, "\n2,")
              && strstr (t->out, ",05162032,"), "rc %d '%s'", rc, t->out);
    s_up_stop (t, &run);
}

/* up --plain: a plain hub as before, no certificates, and a warning. */
static void
test_up_plain (s_test_t *t)
{
    char data [400], client [256], value [64], certs [420];
    snprintf (data, sizeof data, "%s/data-plain", t->dir);
    snprintf (certs, sizeof certs, "%s/certs", data);
    const char *args [] = { "kreishub", "up", "--plain", "--dir", data, "--client", S_ANY,
                            "--live", S_ANY, "--recorder", S_ANY, NULL };
    s_run_t run = s_up (t, NULL, args, client, sizeof client);
    KH_CHECK ("kreishub up --plain comes up", run.proc, "see above");
    if (!run.proc)
        return;
    const char *ready = kh_proc_ready (run.proc);
    KH_CHECK ("without certificates: none made, none in its READY line",
              !zsys_file_exists (certs) && kh_ready_get (ready, "certs", value, sizeof value)
              && kh_ready_get (ready, "server_cert", value, sizeof value), "'%s'", ready);
    int rc = s_sh (t, "kreishub --plain -e %s publish idea --title 'Ohne Zertifikat' "
                   "--from 05162012", client);
    KH_CHECK ("a plain client publishes as any AGS it names", rc == 0
              && streq (t->out, "seq 1\n"), "rc %d '%s'", rc, t->out);
    char text [S_OUT_MAX];
    s_await_output (&run, "Ctrl-C stops it.", S_UP_MS, text, sizeof text);
    KH_CHECK ("it says plain mode where the certificates would be",
              strstr (text, "PLAIN MODE: nothing is encrypted, nobody is identified"),
              "out '%s'", text);
    s_up_stop (t, &run);
    KH_CHECK ("and its programs warn loudly on stderr",
              strstr (t->err, "kreishub-broker: WARNING: PLAIN MODE")
              && strstr (t->err, "kreishub-recorder: WARNING: PLAIN MODE"),
              "err '%s'", t->err);
}

/* up --certs-only: the certificates, and nothing started; KREISHUB_PLAIN does not
   keep it from making them. */
static void
test_up_certs_only (s_test_t *t)
{
    char data [400], cmd [1200], out [460], db [460], text [S_OUT_MAX];
    snprintf (data, sizeof data, "%s/data-certs", t->dir);
    snprintf (out, sizeof out, "%s/certs-only.out", t->dir);
    snprintf (db, sizeof db, "%s/kreishub.db", data);
    /* stdout into a file: all of it is there once the program ended */
    snprintf (cmd, sizeof cmd, "exec '%s/kreishub' up --certs-only --dir '%s' >'%s'",
              getenv ("KH_BIN_DIR"), data, out);
    const char *env [] = { "KREISHUB_PLAIN=1", NULL };
    const char *args [] = { "/bin/sh", "-c", cmd, NULL };
    s_run_t run = s_start (t, "up-certs", env, args);
    int rc = s_finish (t, &run, 10000);
    kh_hub_slurp (out, text, sizeof text);
    KH_CHECK ("kreishub up --certs-only makes every pair, says how to use them, exits 0",
              rc == 0 && s_made (text) == S_DEFAULT_HOLDERS
              && strstr (text, "export KREISHUB_CERT="), "rc %d out '%s' err '%s'", rc, text,
              t->err);
    s_keys_t keys;
    s_check_certs (data, S_DEFAULT_HOLDERS, &keys);
    KH_CHECK ("and starts nothing: no store", !zsys_file_exists (db), "%s", db);
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

/* Runs the tour that up.sh printed in text, as echoed with the prefix "up-sh: " (the
   indented lines after "with its certificate:"), as a bash script; its stdout and
   stderr into t->out. Returns its exit status, or -1 if text holds no tour. */
static int
s_run_tour (s_test_t *t, const char *text)
{
    const char *prefix = "up-sh:     ";
    size_t skip = strlen (prefix);
    const char *begin = strstr (text, "with its certificate:\n");
    char path [420];
    snprintf (path, sizeof path, "%s/tour.sh", t->dir);
    FILE *file = begin ? fopen (path, "w") : NULL;
    if (!file)
        return -1;
    int lines = 0;
    for (const char *line = strchr (begin, '\n') + 1;
         strncmp (line, prefix, skip) == 0 && strchr (line, '\n');
         line = strchr (line, '\n') + 1, lines++)
        fprintf (file, "%.*s\n", (int) (strchr (line, '\n') - line - skip), line + skip);
    fclose (file);
    return lines ? kh_hub_run_as (&t->hub, "admin", t->out, sizeof t->out, "bash '%s' 2>&1",
                                  path) : -1;
}

/* up.sh on free ports: the demo goes into the hub it started, which it names, each
   item with its sender's certificate; the tour it prints works as printed. */
static void
test_up_sh (s_test_t *t)
{
    s_run_t run = s_up_sh (t, "up-sh", S_ANY, S_ANY, S_ANY);
    char text [S_OUT_MAX], client [128] = "", data [420];
    snprintf (data, sizeof data, "%s/up-sh", t->dir);
    bool up = s_await_output (&run, "Ctrl-C stops the hub.", S_UP_MS, text, sizeof text);
    const char *named = strstr (text, "KREISHUB_ENDPOINT=");
    if (named)
        sscanf (named, "KREISHUB_ENDPOINT=%127s", client);
    int kids [2];
    s_kids (text, kids);
    KH_CHECK ("up.sh starts the hub, publishes the demo and names the endpoint", up
              && strstr (text, "demo: 38 messages stored, 0 already there") && *client, "out '%s'", text);
    int rc = s_sh_as (t, data, "admin", "kreishub -e %s log --format csv", client);
    KH_CHECK ("the demo is in the hub up.sh started, on the endpoint it names",
              rc == 0 && kh_hub_lines (t->out) == 39 && strstr (t->out, "Digitaler Zwilling"),
              "rc %d '%s'", rc, t->out);
    /* id's last two digits, type, from: a sample of the demo's senders, each with its
       own certificate (it_demo checks every line) */
    static const char *const items [6][3] = {
        { "07", "idea", "05162" }, { "13", "interest", "05162024" },
        { "17", "interest", "05162012" }, { "1d", "request", "05162020" },
        { "21", "interest", "05162022" }, { "26", "revise", "05162" } };
    bool senders = rc == 0;
    for (int i = 0; i < 6; i++) {
        char row [128];
        snprintf (row, sizeof row, "-8000-5162000000%s,%s,%s,", items [i][0], items [i][1],
                  items [i][2]);
        senders = senders && strstr (t->out, row);
    }
    KH_CHECK ("each demo item is stored with the sender of the certificate it came with",
              senders, "'%s'", t->out);

    rc = s_run_tour (t, text);
    KH_CHECK ("the tour up.sh prints runs as printed: Jüchen publishes with its certificate",
              rc == 0 && strstr (t->out, "seq 39\n"), "rc %d out '%s'", rc, t->out);
    KH_CHECK ("its claim to publish as Dormagen is refused SENDER",
              strstr (t->out, "kreishub: rejected: SENDER: from: 05162004 is not the AGS of "
                      "your certificate (05162012)"), "out '%s'", t->out);
    KH_CHECK ("and its log shows Jüchen's new item as Jüchen's",
              strstr (t->out, "\"seq\":39,") && strstr (t->out, "\"from\":\"05162012\","
                      "\"ts\"") && strstr (t->out, "Gemeinsame Bauhof-Software"),
              "out '%s'", t->out);
    rc = s_sh_as (t, data, "admin", "kreishub -e %s log --format csv --since 39", client);
    KH_CHECK ("nothing but that item was stored by the tour", rc == 0
              && kh_hub_lines (t->out) == 2 && strstr (t->out, ",idea,05162012,"),
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
    /* the runner's own settings must not leak in */
    const char *leaks [] = { "KREISHUB_CONFIG", "KREISHUB_FROM", "KREISHUB_PLAIN",
                             "KREISHUB_CERT", "KREISHUB_SERVER_CERT", "KREISHUB_CERTS" };
    for (size_t i = 0; i < sizeof leaks / sizeof leaks [0]; i++)
        unsetenv (leaks [i]);
    s_test_t *t = (s_test_t *) calloc (1, sizeof *t);
    if (!t || !getenv ("KH_SOURCE_DIR") || kh_hub_start (&t->hub, NULL, NULL)) {
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
        { "up", test_up }, { "up plain", test_up_plain },
        { "up certs", test_up_certs_only }, { "up taken", test_up_taken },
        { "up no pipe", test_up_no_pipe },
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
