/*  kh_daemon.h - how kreishub-broker and kreishub-recorder begin: their command
    line, czmq's runtime, their log, their config file.

    Both daemons start the same way, so it is written once: the same exit statuses
    for --help and bad usage, a log line on stderr that names its program, stdout
    left free for the READY line, and a config file that cannot be read stopping
    the program before it binds or opens anything.
*/
#ifndef KH_DAEMON_H_INCLUDED
#define KH_DAEMON_H_INCLUDED

#include <czmq.h>
#include "kh_opts.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What kh_daemon_start returns to say "go on" (every exit status is 0 or more). */
#define KH_DAEMON_GO        -1

/* Exit statuses of a daemon, as its --help says. */
#define KH_DAEMON_FAILED    1           /* bad configuration, cannot bind or open */
#define KH_DAEMON_USAGE     2           /* bad usage */

/* Starts the daemon whose command line opts describes (opts->program its name):
   parses argv by opts (no other arguments), then initialises czmq (and with it
   the SIGINT/SIGTERM handling that ends the daemon's loop), sends czmq's log to
   stderr under the program's name, and loads the config file that *config names
   once argv is parsed (the -c value in the table; NULL or "": no file) into *root.
   Returns KH_DAEMON_GO, or the exit status: 0 after --help or --version,
   KH_DAEMON_USAGE after bad usage, KH_DAEMON_FAILED after saying on stderr that
   the config file cannot be read (*root NULL). The caller frees *root with
   zconfig_destroy. */
int kh_daemon_start (const kh_opts_t *opts, int argc, char *argv [],
                     const char *const *config, zconfig_t **root);

#ifdef __cplusplus
}
#endif
#endif
