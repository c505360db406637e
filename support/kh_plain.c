/*  kh_plain.c - plain mode: asked for, loopback endpoints only, said loudly (see
    kh_plain.h). */
#include <arpa/inet.h>
#include <string.h>
#include "kh_conf.h"
#include "kh_plain.h"
#include "kh_value.h"

#define S_HOST_MAX  256                 /* bytes of an endpoint's host part, at most */

/* True if the len bytes at part ("HOST:PORT") name a loopback host. */
static bool
s_local_part (const char *part, size_t len)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (part [i] == ':')
            colon = part + i;
    size_t host_len = colon ? (size_t) (colon - part) : 0;
    if (host_len == 0 || host_len >= S_HOST_MAX)
        return false;
    char host [S_HOST_MAX];
    memcpy (host, part, host_len);
    host [host_len] = 0;
    if (streq (host, "localhost") || streq (host, "[::1]"))
        return true;
    struct in_addr addr;
    return inet_pton (AF_INET, host, &addr) == 1
        && (ntohl (addr.s_addr) >> 24) == 127;
}

bool
kh_endpoint_local (const char *endpoint)
{
    if (!endpoint)
        return false;
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *part = endpoint + 6;
    for (;;) {                          /* "SRC;DST": each must be local */
        size_t len = strcspn (part, ";");
        if (!s_local_part (part, len))
            return false;
        if (!part [len])
            return true;
        part += len + 1;
    }
}

bool
kh_plain_asked (bool flag, zconfig_t *root, const char *path)
{
    return flag || kh_value_yes (kh_conf_get (NULL, KH_PLAIN_ENV, root, path, NULL));
}

int
kh_plain_start (const char *program, const char *const *endpoints, int count)
{
    for (int i = 0; i < count; i++)
        if (endpoints [i] && !kh_endpoint_local (endpoints [i])) {
            fprintf (stderr, "%s: plain mode serves this machine only, and %s is not a "
                     "loopback endpoint\n%s: (127.0.0.1, [::1], localhost or ipc://); to "
                     "serve others, use certificates (kreishub keygen) instead of "
                     "--plain\n", program, endpoints [i], program);
            return -1;
        }
    fprintf (stderr,
        "%s: WARNING: PLAIN MODE. Nothing is encrypted and nobody is identified:\n"
        "%s: WARNING: anyone on this machine may publish as any municipality.\n"
        "%s: WARNING: for development on one machine only; leave out --plain (and\n"
        "%s: WARNING: " KH_PLAIN_ENV ") and give certificates to run it for real.\n",
        program, program, program, program);
    return 0;
}
