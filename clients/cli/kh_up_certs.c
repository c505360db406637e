/*  kh_up_certs.c - the certificates of `kreishub up`'s data directory (see
    kh_up_certs.h). */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kh_codec.h"
#include "kh_up_certs.h"

#define S_SECRET    KH_CERT_SUFFIX KH_CERT_SECRET   /* ".cert_secret" */

/* Writes DIR/BASE + suffix into out (cap bytes). Returns 0, or -1 if it does not fit
   (out is cut short then). */
static int
s_path (char *out, size_t cap, const char *dir, const char *base, const char *suffix)
{
    int n = snprintf (out, cap, "%s/%s%s", dir, base, suffix);
    return n >= 0 && (size_t) n < cap ? 0 : -1;
}

int
kh_up_certs_init (kh_up_certs_t *self, const char *dir, kh_problem_t *why)
{
    assert (self && dir);
    /* A base of a member's file is short: leave room for it under certs. */
    if (strlen (dir) > PATH_MAX - 64
    ||  s_path (self->certs, PATH_MAX, dir, KH_UP_CERTS_DIR, "")
    ||  s_path (self->clients, PATH_MAX, dir, KH_UP_CLIENTS_DIR, "")
    ||  s_path (self->server_cert, PATH_MAX, self->certs, "server", KH_CERT_SUFFIX)
    ||  s_path (self->server_secret, PATH_MAX, self->certs, "server", S_SECRET)
    ||  s_path (self->hub_secret, PATH_MAX, self->certs, "hub", S_SECRET)
    ||  s_path (self->admin_secret, PATH_MAX, self->certs, "admin", S_SECRET))
        return kh_problem (why, KH_EINVAL, "the data directory's name is too long");
    return 0;
}

char *
kh_up_certs_secret (const kh_up_certs_t *self, const char *base, char *path, size_t cap)
{
    if (s_path (path, cap, self->certs, base, S_SECRET))
        *path = 0;
    return path;
}

/* Creates dir with mode if it is missing. Returns 0, or -1 with why set. */
static int
s_mkdir (const char *dir, mode_t mode, kh_problem_t *why)
{
    if (mkdir (dir, mode) == 0 || errno == EEXIST)
        return 0;
    return kh_problem (why, KH_EIO, "cannot create directory %.200s: %s", dir,
                       strerror (errno));
}

/* Puts the public part of the pair at pub into the clients directory as BASE.cert,
   written beside it and renamed, so that a broker reading the directory never sees
   half a file. Returns 0, or -1 with why set. */
static int
s_admit (const kh_up_certs_t *self, const char *base, const char *pub, kh_problem_t *why)
{
    char copy [PATH_MAX], temp [PATH_MAX], dot [80];
    snprintf (dot, sizeof dot, ".%.64s", base);
    if (s_path (copy, sizeof copy, self->clients, base, KH_CERT_SUFFIX)
    ||  s_path (temp, sizeof temp, self->clients, dot, ".new"))
        return kh_problem (why, KH_EINVAL, "the data directory's name is too long");
    zcert_t *cert = kh_cert_load (pub, false, why);
    if (!cert)
        return -1;
    int rc = zcert_save_public (cert, temp) || rename (temp, copy) ? -1 : 0;
    zcert_destroy (&cert);
    if (rc) {
        kh_problem (why, KH_EIO, "cannot write %.200s: %s", copy, strerror (errno));
        unlink (temp);
    }
    return rc;
}

/* True if the file at path exists (as anything). */
static bool
s_exists (const char *path)
{
    struct stat st;
    return lstat (path, &st) == 0;
}

/* Makes the pair base for ident unless both its files exist; says on log what it
   made, or that an existing pair is not admitted. Returns 1 if it made the pair, 0
   if it was there, -1 with why set. */
static int
s_pair (const kh_up_certs_t *self, const char *base, const kh_ident_t *ident, bool admit,
        FILE *log, kh_problem_t *why)
{
    char pub [PATH_MAX], sec [PATH_MAX], copy [PATH_MAX];
    if (s_path (pub, sizeof pub, self->certs, base, KH_CERT_SUFFIX)
    ||  s_path (sec, sizeof sec, self->certs, base, S_SECRET)
    ||  s_path (copy, sizeof copy, self->clients, base, KH_CERT_SUFFIX))
        return kh_problem (why, KH_EINVAL, "the data directory's name is too long");
    if (s_exists (pub) && s_exists (sec)) {
        if (admit && log && !s_exists (copy))
            fprintf (log, "kreishub up: %s (%s) is not admitted: %s is not there (revoked); "
                     "remove its pair from %s for a new one\n", base, ident->name, copy,
                     self->certs);
        return 0;
    }
    if (kh_cert_create (self->certs, base, ident, NULL, 0, why)
    ||  (admit && s_admit (self, base, pub, why)))
        return -1;
    if (log)
        fprintf (log, "kreishub up: made %s (%s%s%s)\n", sec,
                 *ident->ags ? ident->ags : "", *ident->ags ? " " : "", ident->name);
    return 1;
}

int
kh_up_certs_make (const kh_up_certs_t *self, const kh_members_t *members, FILE *log,
                  kh_problem_t *why)
{
    assert (self && members);
    const kh_ident_t *kreis = kh_members_kreis (members);
    kh_ident_t server = { .name = "kreishub", .role = KH_ROLE_NONE };
    kh_ident_t hub = { .name = "recorder", .role = KH_ROLE_HUB };
    kh_ident_t admin = { .name = "admin", .role = KH_ROLE_ADMIN };
    snprintf (hub.ags, sizeof hub.ags, "%s", kreis->ags);
    snprintf (admin.ags, sizeof admin.ags, "%s", kreis->ags);
    if (s_mkdir (self->certs, 0700, why) || s_mkdir (self->clients, 0755, why))
        return -1;
    int made = 0, rc = 0;
    const char *bases [4] = { "server", "hub", "admin", kreis->ags };
    const kh_ident_t *idents [4] = { &server, &hub, &admin, kreis };
    for (size_t i = 0; rc >= 0 && i < 4; i++)
        made += rc = s_pair (self, bases [i], idents [i], i > 0, log, why);
    for (size_t i = 0; rc >= 0 && i < kh_members_count (members); i++) {
        const kh_ident_t *member = kh_members_at (members, i);
        made += rc = s_pair (self, member->ags, member, true, log, why);
    }
    return rc < 0 ? -1 : made;
}
