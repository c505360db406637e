/*  kh_daemon.c - the common start of the two daemons (see kh_daemon.h). */
#include "kh_conf.h"
#include "kh_daemon.h"

int
kh_daemon_start (const kh_opts_t *opts, int argc, char *argv [],
                 const char *const *config, zconfig_t **root)
{
    assert (opts);
    assert (config);
    assert (root);
    *root = NULL;
    int rc = kh_opts_parse (opts, argc, argv, NULL);
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, KH_DAEMON_USAGE);
    zsys_init ();
    zsys_set_logstream (stderr);        /* stdout carries the READY line */
    zsys_set_logident (opts->program);
    if (kh_conf_load (opts->program, *config, root))
        return KH_DAEMON_FAILED;
    return KH_DAEMON_GO;
}
