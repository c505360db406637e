/*  kh_daemon_test.c - a daemon's start: its command line, its log on stderr under its
    name, its config file, and the exit statuses when it does not go on. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_conf.h"
#include "kh_daemon.h"

/* A daemon's command line: -c FILE and a switch. */
typedef struct {
    const char *config;
    bool        verbose;
    kh_opt_t    table [3];
    kh_opts_t   opts;
} s_cmdline_t;

static void
s_cmdline_init (s_cmdline_t *self)
{
    *self = (s_cmdline_t) {
        .table = {
            { "config", 'c', "FILE", &self->config, NULL, "the config file" },
            { "verbose", 'v', NULL, NULL, &self->verbose, "say more" },
            { NULL }
        }
    };
    self->opts = (kh_opts_t) { .program = "kh-test-daemon", .table = self->table,
                               .version = true };
}

/* Starts the test daemon with the arguments (NULL-terminated) after its name. */
static int
s_start (s_cmdline_t *cmd, zconfig_t **root, ...)
{
    char *argv [8] = { "kh-test-daemon" };
    int argc = 1;
    va_list args;
    va_start (args, root);
    for (char *arg; argc < 7 && (arg = va_arg (args, char *)); )
        argv [argc++] = arg;
    va_end (args);
    s_cmdline_init (cmd);
    return kh_daemon_start (&cmd->opts, argc, argv, &cmd->config, root);
}

/* Writes text into a new temporary file whose name goes into path (from
   "/tmp/kh-daemon-XXXXXX"). Returns 0 or -1. */
static int
s_write_temp (char *path, const char *text)
{
    int fd = mkstemp (path);
    bool written = fd >= 0 && write (fd, text, strlen (text)) == (ssize_t) strlen (text);
    if (fd >= 0)
        close (fd);
    return written ? 0 : -1;
}

/* The flags are parsed, the config file -c names is loaded, and what the daemon
   logs goes to stderr (not stdout) with its name: stderr is a pipe meanwhile. */
static void
s_test_start (void)
{
    char config [] = "/tmp/kh-daemon-XXXXXX";
    int written = s_write_temp (config, "recorder\n    db = /tmp/x.db\n");
    int fds [2] = { -1, -1 }, saved = dup (STDERR_FILENO);
    fflush (stderr);
    bool piped = written == 0 && pipe (fds) == 0 && dup2 (fds [1], STDERR_FILENO) >= 0;
    s_cmdline_t cmd;
    zconfig_t *root = NULL;
    int rc = piped ? s_start (&cmd, &root, "-v", "--config", config, NULL) : 0;
    zsys_info ("daemon: a line of the test");
    fflush (stderr);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    close (fds [1]);
    char text [512] = "";
    ssize_t n = piped ? read (fds [0], text, sizeof text - 1) : 0;
    text [n > 0 ? n : 0] = 0;
    close (fds [0]);
    KH_CHECK ("a daemon goes on with its flags parsed", rc == KH_DAEMON_GO && cmd.verbose,
              "rc %d", rc);
    KH_CHECK ("and the config file its -c names loaded", root
              && streq (kh_conf_get (NULL, NULL, root, "recorder/db", ""), "/tmp/x.db"),
              "no config");
    KH_CHECK ("its log goes to stderr under its name", strstr (text, "(kh-test-daemon)")
              && strstr (text, "daemon: a line of the test"), "stderr '%s'", text);
    zconfig_destroy (&root);
    unlink (config);
}

/* What ends a daemon before it runs, and with which exit status. */
static void
s_test_stops (void)
{
    s_cmdline_t cmd;
    zconfig_t *root = NULL;
    int rc = s_start (&cmd, &root, NULL);
    KH_CHECK ("a daemon without a config file goes on", rc == KH_DAEMON_GO && root == NULL,
              "rc %d", rc);
    fprintf (stderr, "(expected messages follow)\n");
    rc = s_start (&cmd, &root, "-c", "/nonexistent/kreishub.cfg", NULL);
    KH_CHECK ("a config file that is not there ends it with status 1",
              rc == KH_DAEMON_FAILED && rc == 1 && root == NULL, "rc %d", rc);
    rc = s_start (&cmd, &root, "--bogus", NULL);
    KH_CHECK ("an unknown flag ends it with status 2", rc == KH_DAEMON_USAGE && rc == 2,
              "rc %d", rc);
    rc = s_start (&cmd, &root, "extra", NULL);
    KH_CHECK ("so does an argument", rc == KH_DAEMON_USAGE, "rc %d", rc);
    rc = s_start (&cmd, &root, "--version", NULL);
    KH_CHECK ("--version ends it with status 0", rc == 0, "rc %d", rc);
}

int
main (void)
{
    s_test_start ();
    s_test_stops ();
    return kh_check_done ("daemon_test");
}
