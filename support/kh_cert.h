/*  kh_cert.h - kreishub's certificates: czmq zcert files whose metadata says who holds
    them, read and written the same way by the broker, the recorder, libkreishub and
    `kreishub keygen`.

    A certificate is a CURVE key pair saved by zcert as two files: NAME.cert, the
    public part, which the hub's clients directory admits, and NAME.cert_secret, the
    secret part (mode 0600), which only its holder keeps. Both carry the metadata:
      ags       the AGS (8 digits) or Kreisschluessel (5) of the holder
      name      a readable name, e.g. "Dormagen"
      role      municipality, kreis, admin or hub (the recorder's, internal)
      sign-key  reserved: a signing key a later version adds beside the CURVE key
    zauth hands the metadata of the certificate a peer authenticated with to libzmq,
    so every frame the broker receives answers zmq_msg_gets (frame, "ags"). The
    server's own certificate (the broker's) carries a name and no role.
*/
#ifndef KH_CERT_H_INCLUDED
#define KH_CERT_H_INCLUDED

#include <stdbool.h>
#include <czmq.h>
#include "kreishub/kh_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metadata keys of a kreishub certificate. */
#define KH_CERT_AGS         "ags"
#define KH_CERT_NAME        "name"
#define KH_CERT_ROLE        "role"
#define KH_CERT_SIGN_KEY    "sign-key"      /* reserved, see above */
#define KH_CERT_NAME_MAX    100             /* bytes of a name, at most */
#define KH_CERT_SECRET      "_secret"       /* the secret file is NAME.cert_secret */
#define KH_CERT_SUFFIX      ".cert"

/* What a certificate's holder may do (PROTOCOL.md, identity). */
typedef enum {
    KH_ROLE_NONE = 0,                   /* no role, or one this version does not know */
    KH_ROLE_MUNICIPALITY,               /* publishes its own items */
    KH_ROLE_KREIS,                      /* publishes as the Kreis */
    KH_ROLE_ADMIN,                      /* reads everything, publishes nothing */
    KH_ROLE_HUB                         /* the recorder's link to the broker, nothing else */
} kh_role_t;

#define KH_ROLE_CHOICES "municipality, kreis, admin or hub"

/* Reads a role's name (exact, lower case). Returns KH_ROLE_NONE for NULL or any
   other text. */
kh_role_t kh_role_parse (const char *text);

/* Returns the role's name; "" for KH_ROLE_NONE. */
const char *kh_role_name (kh_role_t role);

/* Who holds a certificate, as its metadata says. */
typedef struct {
    char      ags [KH_AGS_MAX + 1];     /* "" if none */
    char      name [KH_CERT_NAME_MAX + 1];  /* "" if none */
    kh_role_t role;
} kh_ident_t;

/* Fills self from metadata values (each may be NULL: not there) and checks that they
   name someone: an AGS and a known role (a name is optional). Returns 0, or -1 with
   why set to KH_EFORBIDDEN and a reason that says what the certificate lacks; self
   holds what could be read either way. */
int kh_ident_read (kh_ident_t *self, const char *ags, const char *role, const char *name,
                   kh_problem_t *why);

/* The same with the metadata of cert. */
int kh_ident_of (kh_ident_t *self, zcert_t *cert, kh_problem_t *why);

/* True if name may be a certificate's name: 1 to KH_CERT_NAME_MAX bytes, none of
   them a control character or a quote (the ZPL file could not hold it). */
bool kh_cert_name_valid (const char *name);

/* Loads the certificate at path (a NAME.cert whose NAME.cert_secret lies beside it,
   or the NAME.cert_secret itself). If secret, it must hold the secret key. Returns
   it, or NULL with why set: KH_EIO if no such file can be read, KH_EVALUE if it is
   not a certificate or (secret) holds no secret key. */
zcert_t *kh_cert_load (const char *path, bool secret, kh_problem_t *why);

/* Creates a new key pair with the metadata of ident (ags, name and role where set)
   and saves it as DIR/BASE.cert and DIR/BASE.cert_secret (mode 0600), creating dir
   if missing. Never overwrites: if either file exists, nothing is written. Writes
   the public file's path into path (cap bytes) if path is not NULL. Returns 0, or
   -1 with why set: KH_EINVAL (a file exists; the reason names it), KH_EIO (the
   directory or a file cannot be written). */
int kh_cert_create (const char *dir, const char *base, const kh_ident_t *ident,
                    char *path, size_t cap, kh_problem_t *why);

#ifdef __cplusplus
}
#endif
#endif
