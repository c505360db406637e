/*  kh_certdir.c - a directory's public certificates, read again when it changes (see
    kh_certdir.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include "kh_certdir.h"

/* A file changed within this many seconds may change again without its size or
   modification time showing it (the kernel stamps times at a clock tick of some
   ms): the directory is read again at each look until its files are older. */
#define S_SETTLE_S  2

struct _kh_certdir_t {
    char     *path;                     /* the directory */
    zhashx_t *certs;                    /* public key (Z85) -> zcert_t */
    uint64_t  signature;                /* of the listing the certs were read from */
    bool      settled;                  /* no file of it changed within S_SETTLE_S */
    uint64_t  digest;                   /* of what certs holds: keys and metadata */
    bool      revoked;                  /* the last change took away or changed one */
    bool      unreadable;               /* the last look failed (logged once); certs is
                                           empty then */
    size_t    skipped;                  /* files of the last read not taken */
};

/* ------------------------------------------------------------ the listing */

/* True if name is a certificate's file name: NAME.cert, not hidden. */
static bool
s_is_cert (const char *name)
{
    size_t len = strlen (name), suffix = strlen (KH_CERT_SUFFIX);
    return name [0] != '.' && len > suffix
        && streq (name + len - suffix, KH_CERT_SUFFIX);
}

static int
s_compare (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

/* Returns the names of the certificate files in path, sorted, or NULL if the
   directory cannot be read (errno set) or memory runs out. */
static zlistx_t *
s_names (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir)
        return NULL;
    zlistx_t *names = zlistx_new ();
    if (names) {
        zlistx_set_destructor (names, (czmq_destructor *) zstr_free);
        zlistx_set_duplicator (names, (czmq_duplicator *) strdup);
        zlistx_set_comparator (names, s_compare);
    }
    struct dirent *entry;
    while (names && (entry = readdir (dir)))
        if (s_is_cert (entry->d_name) && !zlistx_add_end (names, entry->d_name))
            zlistx_destroy (&names);
    closedir (dir);
    if (names)
        zlistx_sort (names);
    return names;
}

/* Folds size bytes of data into the FNV-1a hash *hash. */
static void
s_fold (uint64_t *hash, const void *data, size_t size)
{
    const uint8_t *p = (const uint8_t *) data;
    for (size_t i = 0; i < size; i++)
        *hash = (*hash ^ p [i]) * 1099511628211ULL;
}

/* The signature of a listing: each file's name, size, modification time and inode,
   so that a file added, removed, replaced or written changes it. Sets *settled
   false if a file changed within S_SETTLE_S. */
static uint64_t
s_signature (const char *path, zlistx_t *names, bool *settled)
{
    uint64_t hash = 14695981039346656037ULL;
    time_t now = time (NULL);
    *settled = true;
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names)) {
        char file [PATH_MAX];
        struct stat st;
        memset (&st, 0, sizeof st);
        snprintf (file, sizeof file, "%s/%s", path, name);
        stat (file, &st);
        int64_t facts [5] = { (int64_t) st.st_size, (int64_t) st.st_mtim.tv_sec,
                              (int64_t) st.st_mtim.tv_nsec, (int64_t) st.st_ino,
                              (int64_t) st.st_dev };
        s_fold (&hash, name, strlen (name) + 1);
        s_fold (&hash, facts, sizeof facts);
        if (now - st.st_mtim.tv_sec < S_SETTLE_S)
            *settled = false;
    }
    return hash;
}

/* ------------------------------------------------------------ loading */

/* The digest of one certificate: its key with its ags, role and name. */
static uint64_t
s_cert_digest (const char *key, zcert_t *cert)
{
    uint64_t hash = 14695981039346656037ULL;
    const char *meta [4] = { key, zcert_meta (cert, KH_CERT_AGS),
                             zcert_meta (cert, KH_CERT_ROLE), zcert_meta (cert, KH_CERT_NAME) };
    for (int i = 0; i < 4; i++)
        s_fold (&hash, meta [i] ? meta [i] : "", meta [i] ? strlen (meta [i]) + 1 : 1);
    return hash;
}

/* True if a certificate of before is not in after, or is there with other metadata. */
static bool
s_took_away (zhashx_t *before, zhashx_t *after)
{
    for (zcert_t *cert = (zcert_t *) zhashx_first (before); cert;
         cert = (zcert_t *) zhashx_next (before)) {
        const char *key = (const char *) zhashx_cursor (before);
        zcert_t *now = (zcert_t *) zhashx_lookup (after, key);
        if (!now || s_cert_digest (key, now) != s_cert_digest (key, cert))
            return true;
    }
    return false;
}

/* The digest of what a table admits: each key with its ags, role and name, in key
   order, so that reading unchanged files again is seen as no change. */
static uint64_t
s_digest (zhashx_t *certs)
{
    uint64_t hash = 14695981039346656037ULL;
    zlistx_t *keys = zhashx_keys (certs);
    if (!keys)
        return 0;                       /* out of memory: taken as a change */
    zlistx_set_comparator (keys, s_compare);
    zlistx_sort (keys);
    for (const char *key = (const char *) zlistx_first (keys); key;
         key = (const char *) zlistx_next (keys)) {
        uint64_t one = s_cert_digest (key, (zcert_t *) zhashx_lookup (certs, key));
        s_fold (&hash, &one, sizeof one);
    }
    zlistx_destroy (&keys);
    return hash;
}

/* Reads the files of names into a new table; counts what it could not take in
   *skipped. Returns the table, or NULL if memory ran out. */
static zhashx_t *
s_load (const char *path, zlistx_t *names, size_t *skipped)
{
    zhashx_t *certs = zhashx_new ();
    if (!certs)
        return NULL;
    zhashx_set_destructor (certs, (czmq_destructor *) zcert_destroy);
    *skipped = 0;
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names)) {
        char file [PATH_MAX];
        snprintf (file, sizeof file, "%s/%s", path, name);
        kh_problem_t why;
        zcert_t *cert = kh_cert_load (file, false, &why);
        if (!cert) {
            zsys_warning ("broker: %s is not admitted: %s", file, why.reason);
            (*skipped)++;
        }
        else
        if (zhashx_insert (certs, zcert_public_txt (cert), cert)) {
            zsys_warning ("broker: %s is not admitted: its key is another file's before it",
                          file);
            zcert_destroy (&cert);
            (*skipped)++;
        }
    }
    return certs;
}

/* Looks at the directory: reads it again if its listing changed (or may have).
   Returns 1 if what it admits changed, 0 if not, -1 if it cannot be read (errno
   set). */
static int
s_read (kh_certdir_t *self)
{
    zlistx_t *names = s_names (self->path);
    if (!names)
        return -1;
    bool settled;
    uint64_t signature = s_signature (self->path, names, &settled);
    int rc = 0;
    if (!self->certs || self->unreadable || !self->settled
    ||  signature != self->signature) {
        size_t skipped;
        zhashx_t *certs = s_load (self->path, names, &skipped);
        if (certs) {                    /* out of memory: keep what we have */
            uint64_t digest = s_digest (certs);
            rc = !self->certs || self->unreadable || !digest || digest != self->digest;
            if (rc)
                self->revoked = self->certs && s_took_away (self->certs, certs);
            zhashx_destroy (&self->certs);
            self->certs = certs;
            self->signature = signature;
            self->settled = settled;
            self->skipped = skipped;
            self->digest = digest;
        }
    }
    zlistx_destroy (&names);
    return rc;
}

int
kh_certdir_refresh (kh_certdir_t *self)
{
    assert (self);
    int rc = s_read (self);
    if (rc >= 0) {
        if (self->unreadable)
            zsys_info ("broker: the clients directory %s can be read again", self->path);
        self->unreadable = false;
        return rc;
    }
    if (!self->unreadable)
        zsys_error ("broker: cannot read the clients directory %s: %s; nobody is admitted "
                    "while it cannot be read", self->path, strerror (errno));
    self->unreadable = true;
    bool had = zhashx_size (self->certs) > 0;
    zhashx_purge (self->certs);
    if (had)
        self->revoked = true;
    return had ? 1 : 0;
}

/* ------------------------------------------------------------ life */

kh_certdir_t *
kh_certdir_new (const char *dir)
{
    assert (dir);
    kh_certdir_t *self = (kh_certdir_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup (dir);
    if (!self->path || s_read (self) != 1 || !self->certs) {
        if (self->path)
            zsys_error ("broker: cannot read the clients directory %s: %s", dir,
                        strerror (errno));
        kh_certdir_destroy (&self);
    }
    return self;
}

void
kh_certdir_destroy (kh_certdir_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_certdir_t *self = *self_p;
    zhashx_destroy (&self->certs);
    free (self->path);
    free (self);
    *self_p = NULL;
}

zcert_t *
kh_certdir_lookup (kh_certdir_t *self, const char *public_txt)
{
    assert (self);
    return public_txt ? (zcert_t *) zhashx_lookup (self->certs, public_txt) : NULL;
}

void
kh_certdir_counts (kh_certdir_t *self, kh_certdir_counts_t *counts)
{
    assert (self && counts);
    memset (counts, 0, sizeof *counts);
    counts->skipped = self->skipped;
    for (zcert_t *cert = (zcert_t *) zhashx_first (self->certs); cert;
         cert = (zcert_t *) zhashx_next (self->certs)) {
        kh_ident_t ident;
        kh_ident_of (&ident, cert, NULL);
        counts->certs++;
        counts->roles [*ident.ags ? ident.role : KH_ROLE_NONE]++;
    }
}

int
kh_certdir_export (kh_certdir_t *self, const char *dir)
{
    assert (self && dir);
    size_t index = 0;
    for (zcert_t *cert = (zcert_t *) zhashx_first (self->certs); cert;
         cert = (zcert_t *) zhashx_next (self->certs)) {
        char file [PATH_MAX];
        snprintf (file, sizeof file, "%s/c%zu" KH_CERT_SUFFIX, dir, ++index);
        if (zcert_save_public (cert, file)) {
            zsys_error ("broker: cannot write %s: %s", file, strerror (errno));
            return -1;
        }
    }
    return 0;
}

bool
kh_certdir_revoked (kh_certdir_t *self)
{
    assert (self);
    return self->revoked;
}

const char *
kh_certdir_path (kh_certdir_t *self)
{
    assert (self);
    return self->path;
}
