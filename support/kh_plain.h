/*  kh_plain.h - plain mode: no CURVE, no certificates, no identities, for development
    on one machine only.

    Secure (CURVE) is the default of every kreishub program. Plain mode must be asked
    for (--plain, KREISHUB_PLAIN=1, or the config key plain), serves and reaches only
    loopback endpoints (127.0.0.0/8, [::1], localhost, ipc://, inproc://), and says
    so loudly on stderr every time a program starts in it. The broker, the recorder
    and every kreishub command decide and check it here, so that all of them take the
    same words and refuse the same endpoints.
*/
#ifndef KH_PLAIN_H_INCLUDED
#define KH_PLAIN_H_INCLUDED

#include <stdbool.h>
#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KH_PLAIN_ENV    "KREISHUB_PLAIN"    /* 1, yes, true or on asks for plain mode */

/* True if endpoint can only be reached from this machine: tcp:// on a 127.x.x.x
   address, [::1] or localhost, ipc:// or inproc://; for tcp with a source address
   ("tcp://SRC;DST"), both. False for NULL, the wildcard address (all interfaces),
   any other address or an interface name. */
bool kh_endpoint_local (const char *endpoint);

/* True if plain mode is asked for: flag, else the environment's KREISHUB_PLAIN, else
   the value at path (e.g. "broker/plain") in root (root and path may be NULL). A
   value asks for it if kh_value_yes says yes; an empty one counts as not given. */
bool kh_plain_asked (bool flag, zconfig_t *root, const char *path);

/* Starts program in plain mode: checks that every endpoint of the NULL-terminated
   list (NULL entries before the end are skipped: pass count) is local, then warns on
   stderr that nothing is encrypted and nobody is identified. Returns 0, or -1 after
   saying on stderr which endpoint is not local (nothing is warned then). */
int kh_plain_start (const char *program, const char *const *endpoints, int count);

#ifdef __cplusplus
}
#endif
#endif
