/*  kh_cert.c - roles, identities and certificate files (see kh_cert.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include "kh_cert.h"
#include "kh_codec.h"                   /* kh_problem */

/* The roles by name, in the order of kh_role_t (KH_ROLE_NONE first). */
static const char *const s_roles [] = { "", "municipality", "kreis", "admin", "hub" };

kh_role_t
kh_role_parse (const char *text)
{
    for (int i = KH_ROLE_MUNICIPALITY; text && i <= KH_ROLE_HUB; i++)
        if (streq (text, s_roles [i]))
            return (kh_role_t) i;
    return KH_ROLE_NONE;
}

const char *
kh_role_name (kh_role_t role)
{
    return role >= KH_ROLE_NONE && role <= KH_ROLE_HUB ? s_roles [role] : "";
}

/* ------------------------------------------------------------ identities */

int
kh_ident_read (kh_ident_t *self, const char *ags, const char *role, const char *name,
               kh_problem_t *why)
{
    assert (self);
    memset (self, 0, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name ? name : "");
    self->role = kh_role_parse (role);
    size_t len = ags ? strlen (ags) : 0;
    if (len == 0)
        return kh_problem (why, KH_EFORBIDDEN, "your certificate carries no ags");
    if (!kh_ags_valid (ags, len))
        return kh_problem (why, KH_EFORBIDDEN, "your certificate's ags '%.16s' is not an "
                           "AGS (8 or 5 digits)", ags);
    memcpy (self->ags, ags, len + 1);
    if (!role || !*role)
        return kh_problem (why, KH_EFORBIDDEN, "your certificate carries no role");
    if (self->role == KH_ROLE_NONE)
        return kh_problem (why, KH_EFORBIDDEN, "your certificate's role '%.32s' is not "
                           KH_ROLE_CHOICES, role);
    return 0;
}

int
kh_ident_of (kh_ident_t *self, zcert_t *cert, kh_problem_t *why)
{
    assert (cert);
    return kh_ident_read (self, zcert_meta (cert, KH_CERT_AGS), zcert_meta (cert, KH_CERT_ROLE),
                          zcert_meta (cert, KH_CERT_NAME), why);
}

bool
kh_cert_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > KH_CERT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name [i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\'')
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ files */

#define S_FILE_MAX  (64 * 1024)         /* bytes of a certificate file, at most */
#define S_Z85_KEY   40                  /* a 32-byte key in Z85 */

/* Reads the ZPL file at path into a tree; NULL if it cannot be read, is larger than
   S_FILE_MAX or is not ZPL. Read here, not with zconfig_load, which leaks its file
   object when the text is not ZPL (czmq 4.2.1): the broker reads a directory that
   anyone who may write there can put anything into. */
static zconfig_t *
s_read_zpl (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *data = (char *) malloc (S_FILE_MAX);
    size_t size = data ? fread (data, 1, S_FILE_MAX, file) : 0;
    fclose (file);
    zconfig_t *root = NULL;
    if (data && size < S_FILE_MAX) {
        zchunk_t *chunk = zchunk_new (data, size);
        root = chunk ? zconfig_chunk_load (chunk) : NULL;
        zchunk_destroy (&chunk);
    }
    free (data);
    return root;
}

/* Decodes the Z85 key at path in root into key; false if there is none (key is then
   all zero). */
static bool
s_key (zconfig_t *root, const char *path, byte key [32])
{
    const char *text = zconfig_get (root, path, NULL);
    memset (key, 0, 32);
    if (text && strlen (text) == S_Z85_KEY && zmq_z85_decode (key, text))
        return true;
    memset (key, 0, 32);
    return false;
}

/* The certificate that the file at path holds (its curve keys and its metadata), or
   NULL if it holds none. */
static zcert_t *
s_read_cert (const char *path)
{
    zconfig_t *root = s_read_zpl (path);
    byte public_key [32], secret_key [32];
    zcert_t *cert = NULL;
    if (root && s_key (root, "/curve/public-key", public_key)) {
        s_key (root, "/curve/secret-key", secret_key);
        cert = zcert_new_from (public_key, secret_key);
        explicit_bzero (secret_key, sizeof secret_key);
        zconfig_t *meta = zconfig_locate (root, "/metadata");
        for (zconfig_t *item = meta ? zconfig_child (meta) : NULL; cert && item;
             item = zconfig_next (item))
            zcert_set_meta (cert, zconfig_name (item), "%s",
                            zconfig_value (item) ? zconfig_value (item) : "");
    }
    zconfig_destroy (&root);
    return cert;
}

/* True if all size bytes of key are zero (zcert's "no such key"). */
static bool
s_zero (const byte *key, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (key [i])
            return false;
    return true;
}

zcert_t *
kh_cert_load (const char *path, bool secret, kh_problem_t *why)
{
    if (!path || !*path) {
        kh_problem (why, KH_EINVAL, "no certificate file given");
        return NULL;
    }
    char secret_path [PATH_MAX];
    if (snprintf (secret_path, sizeof secret_path, "%s" KH_CERT_SECRET, path)
        >= (int) sizeof secret_path) {
        kh_problem (why, KH_EIO, "certificate path too long: %.64s...", path);
        return NULL;
    }
    /* As zcert_load: PATH_secret if it is there (it holds both keys), else PATH. */
    if (access (path, R_OK) && access (secret_path, R_OK)) {
        kh_problem (why, KH_EIO, "cannot read certificate %.200s: %s", path, strerror (errno));
        return NULL;
    }
    zcert_t *cert = s_read_cert (secret_path);
    if (!cert)
        cert = s_read_cert (path);
    if (!cert)
        kh_problem (why, KH_EVALUE, "%.200s is not a certificate (a zcert file with a "
                    "curve public-key)", path);
    else
    if (secret && s_zero (zcert_secret_key (cert), 32)) {
        kh_problem (why, KH_EVALUE, "%.200s holds no secret key: give NAME.cert_secret, or "
                    "NAME.cert with NAME.cert_secret beside it", path);
        zcert_destroy (&cert);
    }
    return cert;
}

/* Creates path empty with mode, failing if it exists. Returns 0, or -1 with why set. */
static int
s_claim (const char *path, mode_t mode, kh_problem_t *why)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0) {
        close (fd);
        return 0;
    }
    if (errno == EEXIST)
        return kh_problem (why, KH_EINVAL, "%.200s exists; a certificate is never "
                           "overwritten (choose another name or remove it)", path);
    return kh_problem (why, KH_EIO, "cannot write %.200s: %s", path, strerror (errno));
}

/* Saves a new key pair with ident's metadata into both files, claimed already.
   Returns 0, or -1 with why set. */
static int
s_save (const char *pub, const char *sec, const kh_ident_t *ident, kh_problem_t *why)
{
    zcert_t *cert = zcert_new ();
    if (!cert)
        return kh_problem (why, KH_EIO, "cannot make a key pair");
    if (*ident->ags)
        zcert_set_meta (cert, KH_CERT_AGS, "%s", ident->ags);
    if (*ident->name)
        zcert_set_meta (cert, KH_CERT_NAME, "%s", ident->name);
    if (ident->role != KH_ROLE_NONE)
        zcert_set_meta (cert, KH_CERT_ROLE, "%s", kh_role_name (ident->role));
    int rc = zcert_save_public (cert, pub) || zcert_save_secret (cert, sec) ? -1 : 0;
    zcert_destroy (&cert);
    if (rc)
        kh_problem (why, KH_EIO, "cannot write %.200s: %s", pub, strerror (errno));
    return rc;
}

int
kh_cert_create (const char *dir, const char *base, const kh_ident_t *ident, char *path,
                size_t cap, kh_problem_t *why)
{
    assert (dir && base && ident);
    char pub [PATH_MAX], sec [PATH_MAX];
    if (snprintf (pub, sizeof pub, "%s/%s" KH_CERT_SUFFIX, dir, base) >= (int) sizeof pub
    ||  snprintf (sec, sizeof sec, "%s" KH_CERT_SECRET, pub) >= (int) sizeof sec)
        return kh_problem (why, KH_EINVAL, "the certificate's path is too long");
    if (zsys_dir_create ("%s", dir))
        return kh_problem (why, KH_EIO, "cannot create directory %.200s: %s", dir,
                           strerror (errno));
    /* Both names are taken before anything is written, so that a file that appears
       meanwhile is not overwritten either. */
    if (s_claim (sec, 0600, why))
        return -1;
    bool claimed = s_claim (pub, 0644, why) == 0;
    if (!claimed || s_save (pub, sec, ident, why)) {
        if (claimed)
            unlink (pub);
        unlink (sec);
        return -1;
    }
    if (path)
        snprintf (path, cap, "%s", pub);
    return 0;
}
