/*  kh_plain_test.c - plain mode: which endpoints are local, how it is asked for, and
    what it says. */
#include <stdlib.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_plain.h"

static void
s_test_local (void)
{
    const char *local [] = { "tcp://127.0.0.1:7701", "tcp://127.0.0.1:*", "tcp://127.5.6.7:!",
                             "tcp://localhost:7701", "tcp://[::1]:7701", "ipc:///tmp/x",
                             "inproc://x", "tcp://127.0.0.1:5555;127.0.0.1:7701", NULL };
    const char *remote [] = { "tcp://*:7701", "tcp://0.0.0.0:7701", "tcp://192.168.1.5:7701",
                              "tcp://eth0:7701", "tcp://lo:7701", "tcp://example.org:7701",
                              "tcp://128.0.0.1:7701", "tcp://127.0.0.1", "tcp://:7701",
                              "tcp://[::]:7701", "tcp://127.0.0.1:5555;10.0.0.1:7701",
                              "udp://127.0.0.1:7701", "", NULL };
    for (int i = 0; local [i]; i++)
        KH_CHECK ("a loopback endpoint is local", kh_endpoint_local (local [i]), "%s",
                  local [i]);
    for (int i = 0; remote [i]; i++)
        KH_CHECK ("any other endpoint is not", !kh_endpoint_local (remote [i]), "%s",
                  remote [i]);
    KH_CHECK ("no endpoint is not local", !kh_endpoint_local (NULL), "it is");
}

static void
s_test_asked (void)
{
    unsetenv (KH_PLAIN_ENV);
    zconfig_t *root = zconfig_new ("root", NULL);
    KH_CHECK ("plain mode is not the default", !kh_plain_asked (false, root, "broker/plain"),
              "it is");
    KH_CHECK ("the flag asks for it", kh_plain_asked (true, NULL, NULL), "no");
    zconfig_put (root, "broker/plain", "yes");
    KH_CHECK ("the config file asks for it", kh_plain_asked (false, root, "broker/plain"),
              "no");
    setenv (KH_PLAIN_ENV, "0", 1);
    KH_CHECK ("the environment comes before the config file",
              !kh_plain_asked (false, root, "broker/plain"), "it does not");
    setenv (KH_PLAIN_ENV, "1", 1);
    KH_CHECK ("the environment asks for it", kh_plain_asked (false, NULL, NULL), "no");
    unsetenv (KH_PLAIN_ENV);
    zconfig_destroy (&root);
}

/* Runs kh_plain_start with stderr in a temporary file; returns its rc and what it
   said in out. */
static int
s_start (const char *const *endpoints, int count, char *out, size_t cap)
{
    fflush (stderr);
    FILE *file = tmpfile ();
    int saved = dup (2);
    dup2 (fileno (file), 2);
    int rc = kh_plain_start ("prog", endpoints, count);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    rewind (file);
    size_t n = fread (out, 1, cap - 1, file);
    out [n] = 0;
    fclose (file);
    return rc;
}

static void
s_test_start (void)
{
    char out [2048];
    const char *good [] = { "tcp://127.0.0.1:7701", NULL, "ipc:///tmp/kh" };
    int rc = s_start (good, 3, out, sizeof out);
    KH_CHECK ("plain mode on loopback starts, warning loudly on stderr", rc == 0
              && strstr (out, "prog: WARNING: PLAIN MODE") && strstr (out, "nobody is identified"),
              "rc %d '%s'", rc, out);
    const char *bad [] = { "tcp://127.0.0.1:7701", "tcp://*:7702" };
    rc = s_start (bad, 2, out, sizeof out);
    KH_CHECK ("plain mode on another endpoint is refused, naming it", rc == -1
              && strstr (out, "tcp://*:7702 is not a loopback endpoint")
              && !strstr (out, "WARNING"), "rc %d '%s'", rc, out);
}

int
main (void)
{
    s_test_local ();
    s_test_asked ();
    s_test_start ();
    return kh_check_done ("plain_test");
}
