/*  kh_conf.c - a setting from flag, environment, config file or default (see kh_conf.h). */
#include <stdlib.h>
#include "kh_conf.h"

const char *
kh_conf_get (const char *flag, const char *env, zconfig_t *root, const char *path,
             const char *fallback)
{
    if (flag && *flag)
        return flag;
    const char *value = env ? getenv (env) : NULL;
    if (value && *value)
        return value;
    value = root && path ? zconfig_get (root, path, NULL) : NULL;
    if (value && *value)
        return value;
    return fallback;
}

int
kh_conf_load (const char *program, const char *path, zconfig_t **root)
{
    *root = NULL;
    if (!path || !*path)
        return 0;
    /* zconfig_load takes a missing file for an empty one, and so would we */
    if (!zsys_file_exists (path) || !(*root = zconfig_load (path))) {
        fprintf (stderr, "%s: cannot read config file %s\n", program, path);
        return -1;
    }
    return 0;
}
