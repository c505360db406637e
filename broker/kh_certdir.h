/*  kh_certdir.h - the public certificates of a directory, as the broker admits them.

    The broker's clients directory holds one file NAME.cert per certificate it admits
    (its subdirectories, hidden files and other names are not read). A kh_certdir_t
    reads them into memory, each public key once, and tells cheaply whether the
    directory changed since: a refresh lists the directory and stats each
    certificate (name, size, modification time, inode), and loads the files again
    only if that listing differs from the last, or a file changed within the last
    two seconds (a file written twice in one clock tick of the kernel keeps its
    time). So the broker can look every message's key up in it, and look at the
    directory twice a second.

    Unlike czmq's zcertstore, a key that two files carry is taken once (the first
    name in sort order; the other is logged) instead of ending the process.
*/
#ifndef KH_CERTDIR_H_INCLUDED
#define KH_CERTDIR_H_INCLUDED

#include <stdbool.h>
#include <czmq.h>
#include "kh_cert.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_certdir_t kh_certdir_t;

/* What a directory held at the last refresh, by role. */
typedef struct {
    size_t certs;                       /* certificates admitted */
    size_t roles [KH_ROLE_HUB + 1];     /* of them, per role (KH_ROLE_NONE: no or an
                                           unknown role, or no AGS) */
    size_t skipped;                     /* files that are not certificates, or repeat a key */
} kh_certdir_counts_t;

/* Reads the certificates of dir. Returns the store, or NULL if dir cannot be read
   (logged) or memory runs out. */
kh_certdir_t *kh_certdir_new (const char *dir);

/* Frees the store; sets *self_p to NULL. Safe on NULL. */
void kh_certdir_destroy (kh_certdir_t **self_p);

/* Looks at the directory again. Returns 1 if what the store admits may have
   changed (the directory's listing changed and was read again, or it cannot be
   read any more and the store was emptied: it admits nobody while it cannot, which
   is logged once), else 0. */
int kh_certdir_refresh (kh_certdir_t *self);

/* Returns the certificate with the public key public_txt (Z85), or NULL. Valid
   until the next refresh. */
zcert_t *kh_certdir_lookup (kh_certdir_t *self, const char *public_txt);

/* Fills counts with what the store holds now. */
void kh_certdir_counts (kh_certdir_t *self, kh_certdir_counts_t *counts);

/* Writes the public part of each certificate held into dir, which must exist, as
   c1.cert, c2.cert, ... (each key once). Returns 0, or -1 if a file cannot be
   written (logged). */
int kh_certdir_export (kh_certdir_t *self, const char *dir);

/* True if the last refresh that changed what the store admits took a certificate
   away or changed one (rather than only adding some): connections made with it may
   stand. */
bool kh_certdir_revoked (kh_certdir_t *self);

/* The directory read. */
const char *kh_certdir_path (kh_certdir_t *self);

#ifdef __cplusplus
}
#endif
#endif
