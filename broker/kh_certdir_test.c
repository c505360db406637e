/*  kh_certdir_test.c - a directory's certificates: read, each key once, read again
    exactly when the directory changed (a file added, removed, rewritten with the same
    size), emptied while it cannot be read, and written out for zauth. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kh_certdir.h"
#include "kh_check.h"

static char s_dir [] = "/tmp/kh-certdir-XXXXXX";

/* Makes a certificate with ags and role (NULL: none) and saves its public part as
   s_dir/name. Returns it (the caller destroys it). */
static zcert_t *
s_save (const char *name, const char *ags, const char *role)
{
    zcert_t *cert = zcert_new ();
    if (ags)
        zcert_set_meta (cert, KH_CERT_AGS, "%s", ags);
    if (role)
        zcert_set_meta (cert, KH_CERT_ROLE, "%s", role);
    char path [128];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    zcert_save_public (cert, path);
    return cert;
}

/* Makes every file of s_dir ten seconds old. */
static void
s_age (void)
{
    DIR *dir = opendir (s_dir);
    struct timespec times [2] = { { time (NULL) - 10, 0 }, { time (NULL) - 10, 0 } };
    for (struct dirent *entry = dir ? readdir (dir) : NULL; entry; entry = readdir (dir))
        utimensat (dirfd (dir), entry->d_name, times, 0);
    if (dir)
        closedir (dir);
}

/* Writes text into s_dir/name. */
static void
s_write (const char *name, const char *text)
{
    char path [128];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *file = fopen (path, "w");
    if (file) {
        fputs (text, file);
        fclose (file);
    }
}

static void
s_test_reading (void)
{
    zcert_t *a = s_save ("a.cert", "05162004", "municipality");
    zcert_t *k = s_save ("k.cert", "05162", "kreis");
    zcert_t *hidden = s_save (".h.cert", "05162008", "municipality");
    zcert_t *other = s_save ("notes.txt", "05162012", "municipality");
    s_write ("junk.cert", "this is not a certificate\n");
    zsys_dir_create ("%s/sub", s_dir);
    kh_certdir_t *dir = kh_certdir_new (s_dir);
    KH_CHECK ("a directory of certificates is read", dir, "NULL");
    if (!dir)
        return;
    kh_certdir_counts_t n;
    kh_certdir_counts (dir, &n);
    KH_CHECK ("each NAME.cert that is a certificate counts, by role; other files not",
              n.certs == 2 && n.roles [KH_ROLE_MUNICIPALITY] == 1 && n.roles [KH_ROLE_KREIS] == 1
              && n.skipped == 1, "certs %zu skipped %zu", n.certs, n.skipped);
    zcert_t *found = kh_certdir_lookup (dir, zcert_public_txt (a));
    KH_CHECK ("a certificate is found by its public key, with its metadata", found
              && streq (zcert_meta (found, KH_CERT_AGS), "05162004"), "not found");
    KH_CHECK ("hidden files and other names are not read",
              !kh_certdir_lookup (dir, zcert_public_txt (hidden))
              && !kh_certdir_lookup (dir, zcert_public_txt (other)), "they are");
    KH_CHECK ("nothing changed: nothing is read", kh_certdir_refresh (dir) == 0, "it is");
    s_age ();
    KH_CHECK ("nor once the files are old", kh_certdir_refresh (dir) == 0
              && kh_certdir_refresh (dir) == 0, "it is");

    /* a copy of a key under another name: taken once, the first name */
    char path [128];
    snprintf (path, sizeof path, "%s/z-copy.cert", s_dir);
    zcert_save_public (a, path);
    int rc = kh_certdir_refresh (dir);
    kh_certdir_counts (dir, &n);
    KH_CHECK ("a file added is read at once; a key two files carry counts once, so "
              "what is admitted did not change", rc == 0 && n.certs == 2 && n.skipped == 2,
              "rc %d certs %zu skipped %zu", rc, n.certs, n.skipped);
    zcert_t *b = s_save ("b.cert", "05162008", "municipality");
    KH_CHECK ("a certificate added is admitted at once", kh_certdir_refresh (dir) == 1
              && kh_certdir_lookup (dir, zcert_public_txt (b))
              && !kh_certdir_revoked (dir), "not, or a revocation");
    zcert_destroy (&b);
    unlink (path);
    snprintf (path, sizeof path, "%s/a.cert", s_dir);
    unlink (path);
    KH_CHECK ("a file removed is seen at once, as a revocation", kh_certdir_refresh (dir) == 1
              && !kh_certdir_lookup (dir, zcert_public_txt (a)) && kh_certdir_revoked (dir),
              "still admitted");

    /* the same name and size, another role: rewritten in place, twice in one tick */
    zcert_t *k2 = zcert_new_from (zcert_public_key (k), zcert_secret_key (k));
    zcert_set_meta (k2, KH_CERT_AGS, "05162");
    zcert_set_meta (k2, KH_CERT_ROLE, "admin");
    snprintf (path, sizeof path, "%s/k.cert", s_dir);
    zcert_save_public (k, path);
    KH_CHECK ("a file rewritten as it was is no change", kh_certdir_refresh (dir) == 0,
              "it is");
    zcert_destroy (&k);
    k = k2;
    struct stat before, after;
    stat (path, &before);
    zcert_save_public (k, path);
    stat (path, &after);
    found = kh_certdir_refresh (dir) == 1 ? kh_certdir_lookup (dir, zcert_public_txt (k)) : NULL;
    KH_CHECK ("a file rewritten with the same size is read again, a change of role a "
              "revocation", before.st_size == after.st_size && found
              && streq (zcert_meta (found, KH_CERT_ROLE), "admin") && kh_certdir_revoked (dir),
              "sizes %lld %lld", (long long) before.st_size, (long long) after.st_size);

    /* out of reach: nobody is admitted, until it is back */
    char moved [128];
    snprintf (moved, sizeof moved, "%s.gone", s_dir);
    rename (s_dir, moved);
    rc = kh_certdir_refresh (dir);
    KH_CHECK ("a directory that cannot be read admits nobody", rc == 1
              && !kh_certdir_lookup (dir, zcert_public_txt (k)), "rc %d", rc);
    rename (moved, s_dir);
    rc = kh_certdir_refresh (dir);
    KH_CHECK ("and all again once it can", rc == 1 && kh_certdir_lookup (dir, zcert_public_txt (k)),
              "rc %d", rc);

    char out [128];
    snprintf (out, sizeof out, "%s/sub", s_dir);
    rc = kh_certdir_export (dir, out);
    kh_certdir_t *copy = rc == 0 ? kh_certdir_new (out) : NULL;
    kh_certdir_counts (copy ? copy : dir, &n);
    KH_CHECK ("what is admitted is written out, each key once, metadata kept", copy
              && n.certs == 2 && kh_certdir_lookup (copy, zcert_public_txt (k))
              && n.roles [KH_ROLE_ADMIN] == 1, "rc %d certs %zu", rc, n.certs);
    kh_certdir_destroy (&copy);
    kh_certdir_destroy (&dir);
    kh_certdir_destroy (&dir);
    KH_CHECK ("destroy nulls the pointer", dir == NULL, "not");
    KH_CHECK ("a directory that does not exist is refused",
              !kh_certdir_new ("/nonexistent/kreishub-clients"), "read");
    zcert_destroy (&a);
    zcert_destroy (&k);
    zcert_destroy (&hidden);
    zcert_destroy (&other);
}

int
main (void)
{
    zsys_init ();
    if (!mkdtemp (s_dir)) {
        printf ("FAIL cannot make %s\n", s_dir);
        return 1;
    }
    s_test_reading ();
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        printf ("certdir_test: cannot remove %s\n", s_dir);
    return kh_check_done ("certdir_test");
}
