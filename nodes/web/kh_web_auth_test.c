/*  kh_web_auth_test.c - the users file, sign-in and its rate limit, sessions and
    their expiry, CSRF and pre-session tokens, cookies (kh_web_auth.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "kh_check.h"
#include "kh_web_auth.h"

#define S_MIN   (60 * 1000)

static char s_dir [64], s_users [128];
static int64_t s_now = 1000000;         /* the test's clock, ms */

static int64_t
s_clock (void *arg)
{
    return *(int64_t *) arg;
}

/* A user with a cheap hash (the tests check many). */
static kh_web_account_t
s_user (const char *name, const char *ags, kh_role_t role, const char *password)
{
    kh_web_account_t user = { .role = role };
    snprintf (user.name, sizeof user.name, "%s", name);
    snprintf (user.ags, sizeof user.ags, "%s", ags);
    if (crypto_pwhash_str (user.hash, password, strlen (password),
                           crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN))
        abort ();
    return user;
}

/* Writes the users file with dormagen (05162004), kreis (05162) and admin. */
static void
s_write_users (void)
{
    kh_web_account_t users [3] = {
        s_user ("dormagen", "05162004", KH_ROLE_MUNICIPALITY, "geheim-1"),
        s_user ("kreis", "05162", KH_ROLE_KREIS, "geheim-2"),
        s_user ("admin", "05162", KH_ROLE_ADMIN, "geheim-3")
    };
    kh_problem_t why;
    if (kh_web_accounts_write (s_users, users, 3, &why))
        abort ();
}

/* Writes text as the users file with mode. */
static void
s_write_text (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    fputs (text, file);
    fclose (file);
    chmod (path, mode);
}

/* A new state on the test's clock. */
static kh_web_gate_t *
s_auth (bool secure)
{
    kh_web_gate_t *auth = kh_web_gate_new (s_users, secure);
    kh_web_gate_set_clock (auth, s_clock, &s_now);
    return auth;
}

/* The Cookie header that names who's session. */
static const char *
s_cookie (const kh_web_who_t *who)
{
    static char header [256];
    snprintf (header, sizeof header, "lang=de; " KH_WEB_SESSION_COOKIE "=%s; x=1", who->sid);
    return header;
}

static void
test_users_file (void)
{
    kh_problem_t why;
    kh_web_account_t *users;
    size_t count;
    s_write_users ();
    struct stat st;
    KH_CHECK ("the users file is written with mode 0600", stat (s_users, &st) == 0
              && (st.st_mode & 0777) == 0600, "mode %o", (unsigned) st.st_mode);
    int rc = kh_web_accounts_read (s_users, false, &users, &count, &why);
    KH_CHECK ("a users file written reads back", rc == 0 && count == 3
              && streq (users [1].name, "kreis") && streq (users [1].ags, "05162")
              && users [1].role == KH_ROLE_KREIS && streq (users [2].name, "admin"),
              "rc %d count %zu %s", rc, count, why.reason);
    free (users);
    chmod (s_users, 0640);
    rc = kh_web_accounts_read (s_users, false, &users, &count, &why);
    KH_CHECK ("a users file others may read is refused", rc == -1
              && why.code == KH_EFORBIDDEN && strstr (why.reason, "0640"),
              "rc %d %s", rc, why.reason);
    chmod (s_users, 0600);

    char path [160];
    snprintf (path, sizeof path, "%s/bad", s_dir);
    s_write_text (path, "# users\n\nx:05162004:municipality:$argon2id$v=19$m=8,t=1,p=1$a$b\n"
                  "y:0516:municipality:$argon2id$x\n", 0600);
    rc = kh_web_accounts_read (path, false, &users, &count, &why);
    KH_CHECK ("a line that is no user is refused with its number", rc == -1
              && why.code == KH_EVALUE && strstr (why.reason, "line 4"), "%s", why.reason);
    s_write_text (path, "x:05162004:municipality:$argon2id$a\nx:05162008:municipality:"
                  "$argon2id$b\n", 0600);
    rc = kh_web_accounts_read (path, false, &users, &count, &why);
    KH_CHECK ("a name twice is refused", rc == -1 && strstr (why.reason, "twice"),
              "%s", why.reason);
    s_write_text (path, "x:05162:municipality:$argon2id$a\n", 0600);
    rc = kh_web_accounts_read (path, false, &users, &count, &why);
    KH_CHECK ("a municipality with a Kreis' AGS is refused", rc == -1, "%s", why.reason);
    s_write_text (path, "x:05162004:hub:$argon2id$a\n", 0600);
    rc = kh_web_accounts_read (path, false, &users, &count, &why);
    KH_CHECK ("the role hub is refused", rc == -1, "%s", why.reason);
    snprintf (path, sizeof path, "%s/none", s_dir);
    rc = kh_web_accounts_read (path, true, &users, &count, &why);
    KH_CHECK ("a missing file is no users if that is fine", rc == 0 && count == 0, "rc %d", rc);
    rc = kh_web_accounts_read (path, false, &users, &count, &why);
    KH_CHECK ("a missing file is an error otherwise", rc == -1 && why.code == KH_EIO,
              "rc %d", rc);
    KH_CHECK ("names: letters, digits, . _ - @", kh_web_account_name_valid ("a.b_c-d@e")
              && !kh_web_account_name_valid ("a:b") && !kh_web_account_name_valid ("")
              && !kh_web_account_name_valid ("a b") && !kh_web_account_name_valid ("<x>"), "names");
    kh_web_account_t user = { .role = KH_ROLE_MUNICIPALITY };
    KH_CHECK ("an empty password is refused",
              kh_web_account_set_password (&user, "", &why) == -1, "empty");
}

static void
test_sign_in (void)
{
    s_write_users ();
    kh_web_gate_t *auth = s_auth (false);
    kh_web_who_t who, who2;
    kh_problem_t why;
    int retry = -1;
    kh_web_login_t verdict = kh_web_gate_login (auth, "10.0.0.1", "dormagen", "geheim-1",
                                                &who, &retry, &why);
    KH_CHECK ("the right password signs in", verdict == KH_WEB_LOGIN_OK
              && streq (who.ags, "05162004") && who.role == KH_ROLE_MUNICIPALITY
              && strlen (who.sid) == 64 && strlen (who.csrf) == 64
              && !streq (who.sid, who.csrf), "verdict %d", verdict);
    KH_CHECK ("the session is found by its cookie",
              kh_web_gate_session (auth, s_cookie (&who), &who2) == 0
              && streq (who2.name, "dormagen") && streq (who2.csrf, who.csrf), "lookup");
    verdict = kh_web_gate_login (auth, "10.0.0.1", "dormagen", "geheim-2", &who2, NULL, NULL);
    kh_web_login_t unknown = kh_web_gate_login (auth, "10.0.0.1", "nobody", "geheim-1",
                                                &who2, NULL, NULL);
    KH_CHECK ("a wrong password and an unknown name are the same refusal",
              verdict == KH_WEB_LOGIN_WRONG && unknown == KH_WEB_LOGIN_WRONG,
              "%d %d", verdict, unknown);
    verdict = kh_web_gate_login (auth, "10.0.0.1", "dormagen", NULL, &who2, NULL, NULL);
    KH_CHECK ("no password is refused", verdict == KH_WEB_LOGIN_WRONG, "%d", verdict);
    KH_CHECK ("a forged CSRF token is refused", !kh_web_gate_csrf_ok (&who,
              "0000000000000000000000000000000000000000000000000000000000000000"), "forged");
    KH_CHECK ("a missing CSRF token is refused", !kh_web_gate_csrf_ok (&who, NULL)
              && !kh_web_gate_csrf_ok (&who, ""), "missing");
    char cut [64];
    snprintf (cut, sizeof cut, "%.63s", who.csrf);
    KH_CHECK ("a CSRF token cut short is refused", !kh_web_gate_csrf_ok (&who, cut), "cut");
    KH_CHECK ("the session's CSRF token is taken", kh_web_gate_csrf_ok (&who, who.csrf), "ok");
    KH_CHECK ("another session's id is no session",
              kh_web_gate_session (auth, "kh_session=0123", &who2) == -1
              && kh_web_gate_session (auth, NULL, &who2) == -1
              && kh_web_gate_session (auth, "kh_session=" "00000000000000000000000000000000"
                                      "00000000000000000000000000000000", &who2) == -1,
              "unknown");
    kh_web_gate_logout (auth, who.sid);
    KH_CHECK ("a session signed out is refused",
              kh_web_gate_session (auth, s_cookie (&who), &who2) == -1, "logout");
    kh_web_gate_destroy (&auth);
    kh_web_gate_destroy (&auth);
    KH_CHECK ("destroy nulls", auth == NULL, "not null");
}

static void
test_rate_limit (void)
{
    s_write_users ();
    kh_web_gate_t *auth = s_auth (false);
    kh_web_who_t who;
    int retry = 0;
    for (int i = 0; i < 5; i++)
        kh_web_gate_login (auth, "10.0.0.2", "kreis", "falsch", &who, NULL, NULL);
    kh_web_login_t verdict = kh_web_gate_login (auth, "10.0.0.3", "kreis", "geheim-2", &who,
                                                &retry, NULL);
    KH_CHECK ("a name with 5 failures is locked, for any address, the right password too",
              verdict == KH_WEB_LOGIN_LIMITED && retry == 30, "%d retry %d", verdict, retry);
    verdict = kh_web_gate_login (auth, "10.0.0.2", "dormagen", "geheim-1", &who, &retry, NULL);
    KH_CHECK ("an address with 5 failures is locked for any name",
              verdict == KH_WEB_LOGIN_LIMITED, "%d", verdict);
    verdict = kh_web_gate_login (auth, "10.0.0.3", "dormagen", "geheim-1", &who, NULL, NULL);
    KH_CHECK ("another name from another address signs in", verdict == KH_WEB_LOGIN_OK,
              "%d", verdict);
    s_now += 29 * 1000;
    verdict = kh_web_gate_login (auth, "10.0.0.3", "kreis", "geheim-2", &who, &retry, NULL);
    KH_CHECK ("the lock holds for 30 s", verdict == KH_WEB_LOGIN_LIMITED && retry == 1,
              "%d retry %d", verdict, retry);
    s_now += 1000;
    verdict = kh_web_gate_login (auth, "10.0.0.3", "kreis", "geheim-2", &who, NULL, NULL);
    KH_CHECK ("after 30 s the right password signs in", verdict == KH_WEB_LOGIN_OK, "%d",
              verdict);
    for (int i = 0; i < 4; i++)
        kh_web_gate_login (auth, "10.0.0.4", "admin", "falsch", &who, NULL, NULL);
    verdict = kh_web_gate_login (auth, "10.0.0.5", "admin", "geheim-3", &who, NULL, NULL);
    KH_CHECK ("4 failures do not lock", verdict == KH_WEB_LOGIN_OK, "%d", verdict);
    kh_web_gate_login (auth, "10.0.0.4", "admin", "falsch", &who, NULL, NULL);
    verdict = kh_web_gate_login (auth, "10.0.0.5", "admin", "geheim-3", &who, NULL, NULL);
    KH_CHECK ("a sign-in clears the name's failures", verdict == KH_WEB_LOGIN_OK, "%d",
              verdict);
    kh_web_gate_destroy (&auth);
}

static void
test_expiry (void)
{
    s_write_users ();
    kh_web_gate_t *auth = s_auth (false);
    kh_web_who_t who, seen;
    kh_web_gate_login (auth, "10.0.1.1", "dormagen", "geheim-1", &who, NULL, NULL);
    s_now += 30 * S_MIN - 1;
    KH_CHECK ("a session used within 30 min holds",
              kh_web_gate_session (auth, s_cookie (&who), &seen) == 0, "idle");
    s_now += 30 * S_MIN;
    KH_CHECK ("a session unused for 30 min is refused",
              kh_web_gate_session (auth, s_cookie (&who), &seen) == -1, "idle");
    KH_CHECK ("an expired session is dropped", kh_web_gate_sessions (auth) == 0, "%zu",
              kh_web_gate_sessions (auth));
    kh_web_gate_login (auth, "10.0.1.1", "dormagen", "geheim-1", &who, NULL, NULL);
    bool held = true;
    for (int i = 0; i < 8 * 3 - 1; i++) {
        s_now += 20 * S_MIN;
        held = held && kh_web_gate_session (auth, s_cookie (&who), &seen) == 0;
    }
    KH_CHECK ("a session used every 20 min holds for 8 h", held, "ended early");
    s_now += 20 * S_MIN;
    KH_CHECK ("a session 8 h old is refused, however busy",
              kh_web_gate_session (auth, s_cookie (&who), &seen) == -1, "absolute");
    kh_web_gate_destroy (&auth);
}

static void
test_table_and_reload (void)
{
    s_write_users ();
    kh_web_gate_t *auth = s_auth (false);
    kh_web_gate_set_limits (auth, &(kh_web_limits_t) { .sessions = 3 });
    kh_web_who_t who [4], seen;
    for (int i = 0; i < 4; i++) {
        s_now += 1000;
        kh_web_gate_login (auth, "10.0.2.1", "dormagen", "geheim-1", &who [i], NULL, NULL);
        if (i == 2) {
            s_now += 1000;              /* the first is used again: the second idles longest */
            kh_web_gate_session (auth, s_cookie (&who [0]), &seen);
        }
    }
    KH_CHECK ("the table holds at most its bound", kh_web_gate_sessions (auth) == 3, "%zu",
              kh_web_gate_sessions (auth));
    KH_CHECK ("the session idle longest made room",
              kh_web_gate_session (auth, s_cookie (&who [1]), &seen) == -1
              && kh_web_gate_session (auth, s_cookie (&who [0]), &seen) == 0
              && kh_web_gate_session (auth, s_cookie (&who [3]), &seen) == 0, "eviction");

    kh_web_account_t users [2] = {
        s_user ("dormagen", "05162008", KH_ROLE_MUNICIPALITY, "geheim-1"),
        s_user ("neu", "05162016", KH_ROLE_MUNICIPALITY, "neu-1")
    };
    kh_problem_t why;
    kh_web_accounts_write (s_users, users, 2, &why);
    KH_CHECK ("a user whose AGS changed loses the session",
              kh_web_gate_session (auth, s_cookie (&who [0]), &seen) == -1, "changed");
    kh_web_login_t verdict = kh_web_gate_login (auth, "10.0.2.1", "neu", "neu-1", &who [0],
                                                NULL, NULL);
    KH_CHECK ("a user added to the file signs in without a restart",
              verdict == KH_WEB_LOGIN_OK && streq (who [0].ags, "05162016"), "%d", verdict);
    chmod (s_users, 0644);
    verdict = kh_web_gate_login (auth, "10.0.2.1", "neu", "neu-1", &who [1], NULL, &why);
    KH_CHECK ("a users file made readable to others stops every sign-in",
              verdict == KH_WEB_LOGIN_UNAVAILABLE && why.code == KH_EFORBIDDEN, "%d", verdict);
    KH_CHECK ("and every session", kh_web_gate_session (auth, s_cookie (&who [0]), &seen)
              == -1, "session held");
    chmod (s_users, 0600);
    kh_web_gate_destroy (&auth);
}

static void
test_pre_session (void)
{
    kh_web_gate_t *auth = s_auth (false);
    char value [KH_WEB_TOKEN_SIZE], token [KH_WEB_TOKEN_SIZE], header [128];
    char value2 [KH_WEB_TOKEN_SIZE], token2 [KH_WEB_TOKEN_SIZE];
    bool fresh = false;
    kh_web_gate_pre (auth, NULL, value, token, &fresh);
    KH_CHECK ("without a cookie a pre-session is drawn", fresh && strlen (value) == 64
              && strlen (token) == 64, "fresh %d", fresh);
    snprintf (header, sizeof header, KH_WEB_PRE_COOKIE "=%s", value);
    kh_web_gate_pre (auth, header, value2, token2, &fresh);
    KH_CHECK ("with its cookie the same one is kept", !fresh && streq (value, value2)
              && streq (token, token2), "fresh %d", fresh);
    KH_CHECK ("the form's token with its cookie is taken",
              kh_web_gate_pre_ok (auth, header, token), "refused");
    KH_CHECK ("a missing sign-in token is refused", !kh_web_gate_pre_ok (auth, header, NULL)
              && !kh_web_gate_pre_ok (auth, header, ""), "taken");
    KH_CHECK ("a token without its cookie is refused", !kh_web_gate_pre_ok (auth, NULL, token)
              && !kh_web_gate_pre_ok (auth, "kh_session=1", token), "taken");
    kh_web_gate_pre (auth, NULL, value2, token2, &fresh);
    KH_CHECK ("another pre-session's token is refused",
              !kh_web_gate_pre_ok (auth, header, token2), "taken");
    kh_web_gate_t *other = s_auth (false);
    KH_CHECK ("another server's token is refused", !kh_web_gate_pre_ok (other, header, token),
              "taken");
    kh_web_gate_destroy (&other);
    kh_web_gate_destroy (&auth);
}

static void
test_cookies (void)
{
    kh_web_gate_t *plain = s_auth (false), *secure = s_auth (true);
    char out [KH_WEB_COOKIE_MAX], value [80];
    int rc = kh_web_gate_cookie (plain, "kh_session", "abc", -1, out, sizeof out);
    KH_CHECK ("a session cookie is HttpOnly, SameSite=Strict, Path=/", rc == 0
              && streq (out, "kh_session=abc; Path=/; HttpOnly; SameSite=Strict"), "%s", out);
    rc = kh_web_gate_cookie (secure, "kh_session", "abc", -1, out, sizeof out);
    KH_CHECK ("behind TLS it is Secure too", rc == 0 && strstr (out, "; Secure")
              && strstr (out, "HttpOnly") && strstr (out, "SameSite=Strict"), "%s", out);
    rc = kh_web_gate_cookie (plain, "kh_session", "abc", 0, out, sizeof out);
    KH_CHECK ("a deleted cookie is empty with Max-Age=0", rc == 0
              && strncmp (out, "kh_session=;", 12) == 0 && strstr (out, "Max-Age=0"), "%s", out);
    KH_CHECK ("a value with ; or a blank is refused",
              kh_web_gate_cookie (plain, "x", "a;b", -1, out, sizeof out) == -1
              && kh_web_gate_cookie (plain, "x", "a b", -1, out, sizeof out) == -1
              && kh_web_gate_cookie (plain, "x=y", "a", -1, out, sizeof out) == -1, "taken");
    KH_CHECK ("a cookie that does not fit is refused",
              kh_web_gate_cookie (plain, "x", "a", -1, out, 10) == -1, "fit");
    rc = kh_web_cookie_get ("a=1;kh_pre=xy ; kh_session=s1", "kh_session", value, sizeof value);
    KH_CHECK ("a cookie is found among others", rc == 0 && streq (value, "s1"), "%s", value);
    rc = kh_web_cookie_get ("a=1;kh_pre=xy ; kh_session=s1", "kh_pre", value, sizeof value);
    KH_CHECK ("its value loses trailing blanks", rc == 0 && streq (value, "xy"), "%s", value);
    KH_CHECK ("a cookie whose name only begins so is not it",
              kh_web_cookie_get ("kh_sessionx=1; xkh_session=2", "kh_session", value,
                                 sizeof value) == -1
              && kh_web_cookie_get (NULL, "kh_session", value, sizeof value) == -1, "found");
    kh_web_gate_destroy (&plain);
    kh_web_gate_destroy (&secure);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    snprintf (s_dir, sizeof s_dir, "/tmp/kh_web_auth_XXXXXX");
    if (!mkdtemp (s_dir))
        return 1;
    snprintf (s_users, sizeof s_users, "%s/web-users", s_dir);
    test_users_file ();
    test_sign_in ();
    test_rate_limit ();
    test_expiry ();
    test_table_and_reload ();
    test_pre_session ();
    test_cookies ();
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    if (system (command))
        printf ("could not remove %s\n", s_dir);
    return kh_check_done ("web_auth_test");
}
