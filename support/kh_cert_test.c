/*  kh_cert_test.c - roles, identities, and certificate files written and read back. */
#include <sys/stat.h>
#include <unistd.h>
#include "kh_cert.h"
#include "kh_check.h"

static void
s_test_roles (void)
{
    KH_CHECK ("every role reads back by its name",
              kh_role_parse ("municipality") == KH_ROLE_MUNICIPALITY
              && kh_role_parse ("kreis") == KH_ROLE_KREIS
              && kh_role_parse ("admin") == KH_ROLE_ADMIN
              && kh_role_parse ("hub") == KH_ROLE_HUB
              && streq (kh_role_name (KH_ROLE_KREIS), "kreis"), "no");
    KH_CHECK ("anything else is no role", kh_role_parse ("Admin") == KH_ROLE_NONE
              && kh_role_parse ("") == KH_ROLE_NONE && kh_role_parse (NULL) == KH_ROLE_NONE
              && streq (kh_role_name (KH_ROLE_NONE), ""), "no");
}

static void
s_test_identities (void)
{
    kh_ident_t id;
    kh_problem_t why = { 0 };
    int rc = kh_ident_read (&id, "05162004", "municipality", "Dormagen", &why);
    KH_CHECK ("a certificate with an AGS and a role names someone", rc == 0
              && streq (id.ags, "05162004") && id.role == KH_ROLE_MUNICIPALITY
              && streq (id.name, "Dormagen"), "rc %d: %s", rc, why.reason);
    rc = kh_ident_read (&id, "05162", "kreis", NULL, &why);
    KH_CHECK ("the name is optional", rc == 0 && streq (id.name, ""), "%s", why.reason);
    rc = kh_ident_read (&id, NULL, "municipality", "x", &why);
    KH_CHECK ("no ags is FORBIDDEN", rc == -1 && why.code == KH_EFORBIDDEN
              && strstr (why.reason, "no ags"), "rc %d: %s", rc, why.reason);
    rc = kh_ident_read (&id, "0516200", "municipality", "x", &why);
    KH_CHECK ("an ags that is not an AGS is FORBIDDEN", rc == -1
              && why.code == KH_EFORBIDDEN && strstr (why.reason, "'0516200'"), "%s",
              why.reason);
    rc = kh_ident_read (&id, "05162004", NULL, "x", &why);
    KH_CHECK ("no role is FORBIDDEN", rc == -1 && strstr (why.reason, "no role"), "%s",
              why.reason);
    rc = kh_ident_read (&id, "05162004", "mayor", "x", &why);
    KH_CHECK ("an unknown role is FORBIDDEN", rc == -1 && why.code == KH_EFORBIDDEN
              && strstr (why.reason, "'mayor'"), "%s", why.reason);
    KH_CHECK ("names without quotes or control characters are valid",
              kh_cert_name_valid ("J\xc3\xbc" "chen") && !kh_cert_name_valid ("")
              && !kh_cert_name_valid ("a\"b") && !kh_cert_name_valid ("a'b")
              && !kh_cert_name_valid ("a\nb") && !kh_cert_name_valid (NULL), "no");
}

/* Writes and reads back a certificate in dir. */
static void
s_test_files (const char *dir)
{
    kh_ident_t id = { .ags = "05162012", .name = "J\xc3\xbc" "chen", .role = KH_ROLE_MUNICIPALITY };
    char path [512], sub [256], pub [512], sec [512];
    kh_problem_t why = { 0 };
    snprintf (sub, sizeof sub, "%s/new/keys", dir);
    int rc = kh_cert_create (sub, "05162012", &id, path, sizeof path, &why);
    snprintf (pub, sizeof pub, "%s/05162012.cert", sub);
    snprintf (sec, sizeof sec, "%s/05162012.cert_secret", sub);
    KH_CHECK ("a certificate is created with its directory", rc == 0 && streq (path, pub)
              && access (sec, R_OK) == 0, "rc %d: %s", rc, why.reason);
    struct stat st = { 0 };
    stat (sec, &st);
    KH_CHECK ("the secret file is for its owner only", (st.st_mode & 0777) == 0600, "%o",
              (unsigned) (st.st_mode & 0777));
    rc = kh_cert_create (sub, "05162012", &id, NULL, 0, &why);
    KH_CHECK ("a certificate is never overwritten", rc == -1 && why.code == KH_EINVAL
              && strstr (why.reason, "exists"), "rc %d: %s", rc, why.reason);

    zcert_t *cert = kh_cert_load (pub, true, &why);
    kh_ident_t back;
    KH_CHECK ("NAME.cert loads with its secret beside it", cert
              && kh_ident_of (&back, cert, &why) == 0 && streq (back.ags, "05162012")
              && streq (back.name, id.name) && back.role == KH_ROLE_MUNICIPALITY, "%s",
              why.reason);
    zcert_t *again = kh_cert_load (sec, true, &why);
    KH_CHECK ("NAME.cert_secret loads itself, the same key", cert && again
              && zcert_eq (cert, again), "%s", why.reason);
    zcert_destroy (&again);

    char lone [512];
    snprintf (lone, sizeof lone, "%s/public.cert", dir);
    if (cert)
        zcert_save_public (cert, lone);
    zcert_destroy (&cert);
    cert = kh_cert_load (lone, false, &why);
    KH_CHECK ("a public certificate alone loads as public", cert, "%s", why.reason);
    zcert_destroy (&cert);
    cert = kh_cert_load (lone, true, &why);
    KH_CHECK ("but not where a secret key is needed", !cert && why.code == KH_EVALUE
              && strstr (why.reason, "no secret key"), "%s", why.reason);
    zcert_destroy (&cert);

    snprintf (lone, sizeof lone, "%s/missing.cert", dir);
    cert = kh_cert_load (lone, false, &why);
    KH_CHECK ("a missing file is an I/O error that names it", !cert && why.code == KH_EIO
              && strstr (why.reason, "missing.cert"), "%s", why.reason);
    snprintf (lone, sizeof lone, "%s/junk.cert", dir);
    FILE *file = fopen (lone, "w");
    if (file) {
        fputs ("metadata\n    ags = \"05162012\"\n", file);
        fclose (file);
    }
    cert = kh_cert_load (lone, false, &why);
    KH_CHECK ("a file without a key is not a certificate", !cert && why.code == KH_EVALUE,
              "%s", why.reason);
    cert = kh_cert_load ("", false, &why);
    KH_CHECK ("no path is refused", !cert && why.code == KH_EINVAL, "%s", why.reason);
}

int
main (void)
{
    zsys_init ();
    s_test_roles ();
    s_test_identities ();
    char dir [] = "/tmp/kh-cert-test-XXXXXX";
    if (mkdtemp (dir)) {
        s_test_files (dir);
        char cmd [128];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system (cmd) != 0)
            printf ("cannot remove %s\n", dir);
    }
    else
        KH_CHECK ("a temporary directory", false, "mkdtemp failed");
    return kh_check_done ("cert_test");
}
