/*  kh_up_certs.h - the certificates `kreishub up` keeps in its data directory: made on
    its first start, reused on every later one, completed when a member is added to
    the configuration.

    DIR/certs/ (mode 0700) holds every pair, NAME.cert and NAME.cert_secret (0600):
      server     the broker's own (no role): its --cert; server.cert is every
                 client's --server-cert (KREISHUB_SERVER_CERT)
      hub        the recorder's, role hub: its link to the broker is CURVE
      admin      role admin, of the Kreis: reads everything; `kreishub up` pings with it
      KREIS      the Kreis, its Kreisschluessel (05162), role kreis
      AGS        each member, its AGS (05162004), role municipality
    DIR/clients/ holds the public part of each but the server's: what the broker
    admits. A pair that exists is never touched, and its public part is never put
    back into clients: removing it there revokes it, and a restart does not undo
    that (kh_up_certs_make says so instead).
*/
#ifndef KH_UP_CERTS_H_INCLUDED
#define KH_UP_CERTS_H_INCLUDED

#include <limits.h>
#include <stdio.h>
#include "kh_members.h"

#define KH_UP_CERTS_DIR     "certs"
#define KH_UP_CLIENTS_DIR   "clients"

/* Where the certificates of a data directory are. */
typedef struct {
    char certs [PATH_MAX];              /* DIR/certs */
    char clients [PATH_MAX];            /* DIR/clients */
    char server_cert [PATH_MAX];        /* DIR/certs/server.cert */
    char server_secret [PATH_MAX];      /* DIR/certs/server.cert_secret */
    char hub_secret [PATH_MAX];         /* DIR/certs/hub.cert_secret */
    char admin_secret [PATH_MAX];       /* DIR/certs/admin.cert_secret */
} kh_up_certs_t;

/* Fills self with the paths under dir. Returns 0, or -1 with why set (KH_EINVAL:
   dir's name is too long). */
int kh_up_certs_init (kh_up_certs_t *self, const char *dir, kh_problem_t *why);

/* Makes every pair of the list above that DIR/certs lacks, for the Kreis and the
   members given, with its public part in DIR/clients, creating both directories if
   missing. Says on log (if not NULL) each pair it made, and each member whose pair
   exists but whose public part is not in DIR/clients (revoked). Returns the number
   of pairs made, or -1 with why set (KH_EIO: a file cannot be written; KH_EINVAL:
   half a pair exists, which the reason names). */
int kh_up_certs_make (const kh_up_certs_t *self, const kh_members_t *members, FILE *log,
                      kh_problem_t *why);

/* Writes into path (cap bytes) the secret file of holder base ("05162004", "admin")
   in self's certs directory. Returns path. */
char *kh_up_certs_secret (const kh_up_certs_t *self, const char *base, char *path,
                          size_t cap);

#endif
