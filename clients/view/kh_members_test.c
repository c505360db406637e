/*  kh_members_test.c - the member list: the Rhein-Kreis Neuss without a section kreis,
    another Kreis from one, and each mistake in it refused with a reason; the
    certificates of a data directory: made once, reused, completed for a member added,
    a revoked one left revoked, half a pair refused. */
#include <assert.h>
#include <czmq.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_members.h"
#include "kh_up_certs.h"

/* Loads the member list from ZPL text (NULL: no config file). */
static kh_members_t *
s_load (const char *text, kh_problem_t *why)
{
    zconfig_t *root = text ? zconfig_str_load (text) : NULL;
    kh_members_t *members = text && !root ? NULL : kh_members_load (root, why);
    zconfig_destroy (&root);
    return members;
}

static void
test_default (void)
{
    kh_problem_t why = { 0 };
    kh_members_t *members = s_load (NULL, &why);
    KH_CHECK ("without a config file: the Rhein-Kreis Neuss", members
              && streq (kh_members_kreis (members)->ags, "05162")
              && streq (kh_members_kreis (members)->name, "Rhein-Kreis Neuss")
              && kh_members_kreis (members)->role == KH_ROLE_KREIS, "%s", why.reason);
    KH_CHECK ("and its 8 municipalities, in order", members && kh_members_count (members) == 8
              && streq (kh_members_at (members, 0)->ags, "05162004")
              && streq (kh_members_at (members, 2)->name, "Jüchen")
              && streq (kh_members_at (members, 7)->name, "Rommerskirchen")
              && kh_members_at (members, 7)->role == KH_ROLE_MUNICIPALITY, "count %zu",
              members ? kh_members_count (members) : 0);
    kh_members_destroy (&members);
    members = s_load ("broker\n    client = tcp://127.0.0.1:7701\n", &why);
    KH_CHECK ("a config file without the section: the default too", members
              && kh_members_count (members) == 8, "%s", why.reason);
    kh_members_destroy (&members);
    kh_members_destroy (&members);
}

static void
test_section (void)
{
    kh_problem_t why = { 0 };
    kh_members_t *members = s_load (
        "kreis\n    ags = 05158\n    name = \"Kreis Mettmann\"\n    members\n"
        "        05158004 = \"Erkrath\"\n        05158008 = \"Haan\"\n", &why);
    KH_CHECK ("another Kreis from the section kreis", members
              && streq (kh_members_kreis (members)->ags, "05158")
              && kh_members_count (members) == 2
              && streq (kh_members_at (members, 1)->ags, "05158008")
              && streq (kh_members_at (members, 1)->name, "Haan"), "%s", why.reason);
    kh_members_destroy (&members);

    static const char *const wrong [][2] = {
        { "kreis\n    name = \"X\"\n    members\n        05162004 = \"A\"\n",
          "is not an AGS of 5 digits" },
        { "kreis\n    ags = 05162004\n    name = \"X\"\n    members\n"
          "        05162004 = \"A\"\n", "is not an AGS of 5 digits" },
        { "kreis\n    ags = 05162\n    members\n        05162004 = \"A\"\n",
          "give a name" },
        { "kreis\n    ags = 05162\n    name = \"X\"\n", "has no members" },
        { "kreis\n    ags = 05162\n    name = \"X\"\n    members\n        0516200 = \"A\"\n",
          "'0516200' is not an AGS of 8 digits" },
        { "kreis\n    ags = 05162\n    name = \"X\"\n    members\n        05158004 = \"A\"\n",
          "05158004 (A) is not in the Kreis 05162" },
        { "kreis\n    ags = 05162\n    name = \"X\"\n    members\n        05162004 = \"A\"\n"
          "        05162004 = \"B\"\n", "05162004 is named twice" },
        { "kreis\n    ags = 05162\n    name = \"X\"\n    members\n        05162004\n",
          "05162004: give a name" },
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong [0]; i++) {
        why.reason [0] = 0;
        members = s_load (wrong [i][0], &why);
        KH_CHECK ("a section that is wrong is refused, saying what is wrong",
                  !members && why.code == KH_EVALUE && strstr (why.reason, wrong [i][1]),
                  "case %zu: '%s'", i, why.reason);
        kh_members_destroy (&members);
    }
}

/* True if path exists. */
static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

static void
test_certs (void)
{
    char dir [] = "/tmp/kh-members-XXXXXX", path [600], text [4096];
    KH_CHECK ("a temporary directory", mkdtemp (dir), "%s", dir);
    kh_up_certs_t certs;
    kh_problem_t why = { 0 };
    kh_members_t *members = s_load (NULL, &why);
    int rc = kh_up_certs_init (&certs, dir, &why);
    KH_CHECK ("the paths of a data directory", rc == 0
              && strstr (certs.server_cert, "/certs/server.cert")
              && strstr (certs.hub_secret, "/certs/hub.cert_secret")
              && strstr (certs.admin_secret, "/certs/admin.cert_secret")
              && streq (kh_up_certs_secret (&certs, "05162012", path, sizeof path)
                        + strlen (dir), "/certs/05162012.cert_secret"), "%s", path);
    FILE *log = tmpfile ();
    int made = members && log ? kh_up_certs_make (&certs, members, log, &why) : -1;
    KH_CHECK ("the first time every pair is made: server, hub, admin, Kreis, 8 members",
              made == 12, "%d: %s", made, why.reason);
    made = members ? kh_up_certs_make (&certs, members, log, &why) : -1;
    KH_CHECK ("the second time none", made == 0, "%d: %s", made, why.reason);

    snprintf (path, sizeof path, "%s/clients/05162024.cert", dir);
    unlink (path);
    kh_members_destroy (&members);
    members = s_load ("kreis\n    ags = 05162\n    name = \"Rhein-Kreis Neuss\"\n    members\n"
                      "        05162024 = \"Neuss\"\n        05162032 = \"Testdorf\"\n", &why);
    if (log)
        fclose (log);
    log = tmpfile ();
    made = members && log ? kh_up_certs_make (&certs, members, log, &why) : -1;
    KH_CHECK ("a member added gets its pair", made == 1, "%d: %s", made, why.reason);
    ssize_t got = log && fflush (log) == 0 ? pread (fileno (log), text, sizeof text - 1, 0) : 0;
    text [got > 0 ? got : 0] = 0;
    KH_CHECK ("and a revoked one is said to be so, and left so",
              strstr (text, "05162024 (Neuss) is not admitted") && !s_exists (path),
              "'%s'", text);
    snprintf (path, sizeof path, "%s/clients/05162032.cert", dir);
    KH_CHECK ("the new member is admitted", s_exists (path), "%s", path);

    snprintf (path, sizeof path, "%s/certs/05162032.cert", dir);
    unlink (path);
    made = members ? kh_up_certs_make (&certs, members, NULL, &why) : -1;
    KH_CHECK ("half a pair is refused, naming the file that is left", made == -1
              && why.code == KH_EINVAL && strstr (why.reason, "05162032.cert_secret exists"),
              "%d: %s", made, why.reason);
    if (log)
        fclose (log);
    kh_members_destroy (&members);
    snprintf (text, sizeof text, "rm -rf '%s'", dir);
    KH_CHECK ("the directory goes", system (text) == 0, "%s", dir);
}

/* Finds text among the default members; returns how many match, the first in *ags. */
static size_t
s_find (const kh_members_t *members, const char *text, const char **ags)
{
    const kh_ident_t *found [4];
    size_t n = kh_members_find (members, text, found, 4);
    *ags = n ? found [0]->ags : "";
    return n;
}

static void
test_names (void)
{
    kh_problem_t why = { 0 };
    kh_members_t *members = s_load (NULL, &why);
    assert (members);
    KH_CHECK ("an AGS has its name, the Kreis' too, and an unknown AGS none",
              streq (kh_members_name (members, "05162024"), "Neuss")
              && streq (kh_members_name (members, "05162"), "Rhein-Kreis Neuss")
              && kh_members_name (members, "05158004") == NULL, "wrong");
    KH_CHECK ("the widest name is counted in characters",
              kh_members_name_width (members) == 17, "got %zu",
              kh_members_name_width (members));
    const char *ags;
    KH_CHECK ("a name is found as written", s_find (members, "Neuss", &ags) == 1
              && streq (ags, "05162024"), "ags %s", ags);
    KH_CHECK ("in any case, with the umlaut as typed",
              s_find (members, "j\xc3\xbc" "chen", &ags) == 1 && streq (ags, "05162012")
              && s_find (members, "J\xc3\x9c" "CHEN", &ags) == 1 && streq (ags, "05162012"),
              "ags %s", ags);
    KH_CHECK ("or written ue", s_find (members, "Juechen", &ags) == 1
              && streq (ags, "05162012"), "ags %s", ags);
    KH_CHECK ("a name is found by its first letters if only it begins so",
              s_find (members, "gre", &ags) == 1 && streq (ags, "05162008")
              && s_find (members, "rhein", &ags) == 1 && streq (ags, "05162"), "ags %s", ags);
    KH_CHECK ("first letters that begin several names find them all",
              s_find (members, "K", &ags) == 2 && streq (ags, "05162016")
              && s_find (members, "r", &ags) == 2 && streq (ags, "05162"), "ags %s", ags);
    KH_CHECK ("a name that is not one finds nothing",
              s_find (members, "Nuess", &ags) == 0 && s_find (members, "", &ags) == 0,
              "found %s", ags);
    const kh_ident_t *near [4];
    size_t n = kh_members_near (members, "Nuess", near, 4);
    KH_CHECK ("a mistyped name has the name it may mean near it",
              n == 1 && streq (near [0]->name, "Neuss"), "n %zu", n);
    n = kh_members_near (members, "broich", near, 4);
    KH_CHECK ("names holding the text are near it too",
              n == 2 && streq (near [0]->name, "Grevenbroich")
              && streq (near [1]->name, "Korschenbroich"), "n %zu", n);
    n = kh_members_near (members, "Berlin", near, 4);
    KH_CHECK ("an unrelated text is near no name", n == 0, "n %zu", n);
    kh_members_destroy (&members);
}

int
main (void)
{
    test_default ();
    test_section ();
    test_names ();
    test_certs ();
    return kh_check_done ("members_test");
}
