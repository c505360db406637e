/*  kh_conf.h - one setting of a kreishub program, looked up in a fixed order: its
    command-line flag, then an environment variable, then the config file (czmq's ZPL,
    one section per program), then a default.

    Every program resolves its settings here, so that the order is the same for the
    broker, the recorder, `kreishub up` and the client commands. An empty flag,
    variable or config value counts as not given.
*/
#ifndef KH_CONF_H_INCLUDED
#define KH_CONF_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the first of: flag, the environment variable env, the value at path (e.g.
   "broker/client") in root, fallback. flag, env, root and path may each be NULL
   (not consulted). The string returned belongs to its source. */
const char *kh_conf_get (const char *flag, const char *env, zconfig_t *root,
                         const char *path, const char *fallback);

/* Loads the config file at path into *root. A NULL or empty path is no file: *root
   is set to NULL and 0 returned. Returns 0, or -1 after saying on stderr
   "PROGRAM: cannot read config file PATH" (missing, unreadable, not ZPL). The
   caller frees *root with zconfig_destroy. */
int kh_conf_load (const char *program, const char *path, zconfig_t **root);

#ifdef __cplusplus
}
#endif
#endif
