/*  kh_conf_test.c - settings from flag, environment, config file or default. */
#include <stdlib.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_conf.h"

/* NULL-safe equality for the checks. */
static bool
s_is (const char *value, const char *expect)
{
    return value && expect ? streq (value, expect) : value == expect;
}

static void
s_test_order (void)
{
    zconfig_t *root = zconfig_new ("root", NULL);
    zconfig_put (root, "broker/client", "tcp://file:1");
    zconfig_put (root, "broker/empty", "");
    unsetenv ("KH_TEST_EP");
    const char *value = kh_conf_get (NULL, "KH_TEST_EP", root, "broker/client", "def");
    KH_CHECK ("the config file gives what no flag or variable gives",
              s_is (value, "tcp://file:1"), "got %s", value);
    setenv ("KH_TEST_EP", "tcp://env:1", 1);
    value = kh_conf_get (NULL, "KH_TEST_EP", root, "broker/client", "def");
    KH_CHECK ("the environment beats the config file", s_is (value, "tcp://env:1"),
              "got %s", value);
    value = kh_conf_get ("tcp://flag:1", "KH_TEST_EP", root, "broker/client", "def");
    KH_CHECK ("a flag beats the environment and the file", s_is (value, "tcp://flag:1"),
              "got %s", value);
    setenv ("KH_TEST_EP", "", 1);
    value = kh_conf_get ("", "KH_TEST_EP", root, "broker/empty", "def");
    KH_CHECK ("an empty flag, variable or config value counts as not given",
              s_is (value, "def"), "got %s", value);
    value = kh_conf_get (NULL, NULL, root, "broker/missing", NULL);
    KH_CHECK ("a setting given nowhere without default is NULL", value == NULL, "got %s",
              value);
    value = kh_conf_get (NULL, NULL, NULL, "broker/client", "def");
    KH_CHECK ("without a config file the default applies", s_is (value, "def"), "got %s",
              value);
    unsetenv ("KH_TEST_EP");
    zconfig_destroy (&root);
}

static void
s_test_load (void)
{
    char path [] = "/tmp/kh-conf-XXXXXX";
    int fd = mkstemp (path);
    const char *text = "#   a test\nbroker\n    client = tcp://127.0.0.1:9\n";
    bool written = fd >= 0 && write (fd, text, strlen (text)) == (ssize_t) strlen (text);
    if (fd >= 0)
        close (fd);
    zconfig_t *root = NULL;
    int rc = written ? kh_conf_load ("kh-test", path, &root) : -1;
    KH_CHECK ("a ZPL file is loaded and read by path", rc == 0 && root
              && s_is (kh_conf_get (NULL, NULL, root, "broker/client", NULL),
                       "tcp://127.0.0.1:9"), "rc %d", rc);
    zconfig_destroy (&root);
    unlink (path);
    root = (zconfig_t *) &rc;           /* must be overwritten */
    rc = kh_conf_load ("kh-test", NULL, &root);
    KH_CHECK ("no path is no file, and no error", rc == 0 && root == NULL, "rc %d", rc);
    fprintf (stderr, "(an expected message follows)\n");
    rc = kh_conf_load ("kh-test", "/nonexistent/kreishub.cfg", &root);
    KH_CHECK ("a file that is not there is an error", rc == -1 && root == NULL, "rc %d", rc);
}

int
main (void)
{
    s_test_order ();
    s_test_load ();
    return kh_check_done ("conf_test");
}
