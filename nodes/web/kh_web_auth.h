/*  kh_web_auth.h - who is signed in to kreishub-web: the users file, password checks
    with a rate limit, the server-side sessions with their CSRF tokens, and cookies.

    The users file (default DATA/web-users) holds one user a line,
    `name:ags:role:hash`, hash an argon2id string of libsodium's crypto_pwhash_str;
    blank lines and lines starting with '#' are skipped. It must be readable by its
    owner alone (mode 0600 or stricter): a file others may read is not used at all.
    It is read again whenever it changes (its inode, size or mtime), so that
    `kreishub web-user add|remove` takes effect without a restart; a session whose
    user is gone, or whose AGS or role changed, ends then.

    A session is a row of a bounded table in the server, named by 256 random bits
    (64 hex digits in the cookie); it ends 30 minutes after its last use or 8 hours
    after sign-in, whichever comes first; when the table is full the session idle
    longest makes room. Each holds its own CSRF token, which every form carries and
    every POST is checked against (constant time). The sign-in form, sent before
    there is a session, carries a pre-session token instead: an HMAC, under a key
    the server draws at start, of a random value in a cookie of its own.

    Sign-in is refused for a name or an address with 5 failures in a row, for 30
    seconds; a refusal never says whether the name or the password was wrong, and an
    unknown name costs a password check too. Password checks run one at a time (each
    takes 64 MiB). Every function is safe to call from several threads at once.
*/
#ifndef KH_WEB_AUTH_H_INCLUDED
#define KH_WEB_AUTH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kh_cert.h"                    /* kh_role_t */
#include "kreishub/kh_wire.h"           /* KH_AGS_MAX, kh_problem_t */

#ifdef __cplusplus
extern "C" {
#endif

#define KH_WEB_NAME_MAX      63         /* bytes of a user's name, at most */
#define KH_WEB_HASH_MAX      128        /* crypto_pwhash_STRBYTES, with its NUL */
#define KH_WEB_TOKEN_SIZE    65         /* a session id or CSRF token: 64 hex + NUL */
#define KH_WEB_COOKIE_MAX    200        /* a Set-Cookie value this module writes */
#define KH_WEB_USERS_MAX     10000      /* lines of a users file, at most */
#define KH_WEB_PASSWORD_MAX  1024       /* bytes of a password, at most */

#define KH_WEB_SESSION_COOKIE  "kh_session"
#define KH_WEB_PRE_COOKIE      "kh_pre"

/* ------------------------------------------------------------- the users file */
/* One line of the users file. */
typedef struct {
    char      name [KH_WEB_NAME_MAX + 1];   /* letters, digits, . _ - @ */
    char      ags [KH_AGS_MAX + 1];         /* municipality 8 digits, kreis 5, admin either */
    kh_role_t role;                         /* municipality, kreis or admin */
    char      hash [KH_WEB_HASH_MAX];       /* "$argon2id$..." */
} kh_web_account_t;

/* True if name may name a user: 1 to KH_WEB_NAME_MAX bytes, each a letter or digit
   of ASCII, '.', '_', '-' or '@'. */
bool kh_web_account_name_valid (const char *name);

/* Checks that user's name, AGS and role go together (a municipality's AGS has 8
   digits, a Kreis' 5; admin either; no other role) and that its hash is an argon2id
   string. Returns 0, or -1 with why set to KH_EVALUE and a reason in English. */
int kh_web_account_check (const kh_web_account_t *user, kh_problem_t *why);

/* Hashes password (at most KH_WEB_PASSWORD_MAX bytes) into user->hash with
   argon2id at libsodium's interactive limits. Returns 0, or -1 with why set:
   KH_EVALUE (empty or too long), KH_ENOMEM (the hash could not be computed). */
int kh_web_account_set_password (kh_web_account_t *user, const char *password,
                              kh_problem_t *why);

/* Reads the users file at path into a new array (*users, free it with free ()) of
   *count users, with room for KH_WEB_USERS_MAX (so that one may be appended); NULL
   for no file. A missing file is no users if missing_ok, else KH_EIO. Returns 0,
   or -1 with why set: KH_EIO (it cannot be read), KH_EFORBIDDEN (group or others may
   read or write it; the reason gives its mode), KH_EVALUE (a line that is not a
   user, or a name twice: the reason gives the line's number), KH_ETOOLARGE (more
   than KH_WEB_USERS_MAX users), KH_ENOMEM. */
int kh_web_accounts_read (const char *path, bool missing_ok, kh_web_account_t **users,
                       size_t *count, kh_problem_t *why);

/* Writes count users to path atomically: a temporary file beside it (mode 0600),
   synced, renamed over path. Returns 0, or -1 with why set to KH_EIO (nothing
   changed at path) or KH_EVALUE (a user kh_web_account_check refuses). */
int kh_web_accounts_write (const char *path, const kh_web_account_t *users, size_t count,
                        kh_problem_t *why);

/* ---------------------------------------------------------------- sessions */
typedef struct _kh_web_gate_t kh_web_gate_t;

/* Who a request comes from: a copy of its session, valid after the table changes. */
typedef struct {
    char      name [KH_WEB_NAME_MAX + 1];
    char      ags [KH_AGS_MAX + 1];
    kh_role_t role;
    char      sid [KH_WEB_TOKEN_SIZE];      /* the session id, as in the cookie */
    char      csrf [KH_WEB_TOKEN_SIZE];     /* the token every form of it carries */
} kh_web_who_t;

/* What a sign-in comes to. */
typedef enum {
    KH_WEB_LOGIN_OK = 0,                /* signed in: a new session */
    KH_WEB_LOGIN_WRONG,                 /* the name or the password is wrong */
    KH_WEB_LOGIN_LIMITED,               /* too many failures: try again later */
    KH_WEB_LOGIN_UNAVAILABLE            /* the users file cannot be used (see why) */
} kh_web_login_t;

/* Limits; kh_web_gate_new takes the defaults. */
typedef struct {
    size_t  sessions;                   /* sessions at once (default 1024) */
    int64_t idle_ms;                    /* ended after this long unused (30 min) */
    int64_t absolute_ms;                /* ended this long after sign-in (8 h) */
    int     failures;                   /* failures in a row that lock (5) */
    int64_t lock_ms;                    /* how long a lock holds (30 s) */
} kh_web_limits_t;

/* Creates the sign-in state for the users file at users_path (read now and
   whenever it changes); secure adds Secure to every cookie (behind TLS). Returns
   NULL if memory or randomness (libsodium) cannot be had. A users file that cannot
   be used is no error here: sign-in answers KH_WEB_LOGIN_UNAVAILABLE until it can. */
kh_web_gate_t *kh_web_gate_new (const char *users_path, bool secure);

/* Ends every session, wipes the keys, frees the state; sets *self_p to NULL. Safe
   on NULL. */
void kh_web_gate_destroy (kh_web_gate_t **self_p);

/* Sets the limits (a zero field keeps its value) and the clock, for tests: now
   returns ms on a monotonic scale (NULL: the system's monotonic clock). Call before
   the first sign-in. */
void kh_web_gate_set_limits (kh_web_gate_t *self, const kh_web_limits_t *limits);
void kh_web_gate_set_clock (kh_web_gate_t *self, int64_t (*now) (void *arg), void *arg);

/* Signs name in with password, from the address ip (text, for the rate limit).
   On KH_WEB_LOGIN_OK *who holds the new session. *retry_s (may be NULL) is set to
   the seconds a lock still holds for KH_WEB_LOGIN_LIMITED. why (may be NULL) says
   why for KH_WEB_LOGIN_UNAVAILABLE (for the server's log, not for the browser). */
kh_web_login_t kh_web_gate_login (kh_web_gate_t *self, const char *ip, const char *name,
                                  const char *password, kh_web_who_t *who, int *retry_s,
                                  kh_problem_t *why);

/* Finds the session the request's Cookie header (may be NULL) names, if it is
   still valid, marks it used and copies it into *who. Returns 0, or -1 for none (no
   cookie, an unknown id, expired, or its user gone or changed: an ended session is
   dropped from the table). */
int kh_web_gate_session (kh_web_gate_t *self, const char *cookie_header, kh_web_who_t *who);

/* True if given (may be NULL) is the token expected, 64 hex digits (constant time). */
bool kh_web_token_ok (const char *expected, const char *given);

/* True if token (a form's, may be NULL) is who's CSRF token (constant time). */
bool kh_web_gate_csrf_ok (const kh_web_who_t *who, const char *token);

/* Ends the session sid (may be NULL or unknown: nothing happens). */
void kh_web_gate_logout (kh_web_gate_t *self, const char *sid);

/* How many sessions the table holds now (ended ones not yet dropped included). */
size_t kh_web_gate_sessions (kh_web_gate_t *self);

/* For the sign-in form: reads the pre-session cookie from cookie_header (may be
   NULL) or, if there is none that this server made, draws a new one (*fresh true:
   the response must set it with kh_web_gate_cookie). Fills value (the cookie's) and
   token (the form's). Returns 0, or -1 if randomness failed. */
int kh_web_gate_pre (kh_web_gate_t *self, const char *cookie_header,
                     char value [KH_WEB_TOKEN_SIZE], char token [KH_WEB_TOKEN_SIZE],
                     bool *fresh);

/* True if token (the sign-in form's, may be NULL) belongs to the pre-session cookie
   in cookie_header (constant time). */
bool kh_web_gate_pre_ok (kh_web_gate_t *self, const char *cookie_header, const char *token);

/* Writes a Set-Cookie header value for cookie name with value into out (cap
   bytes): HttpOnly; SameSite=Strict; Path=/; Secure if the state is secure;
   max_age_s < 0 for a browser session's cookie, 0 to delete it (value ignored).
   Returns 0, or -1 if it does not fit or name or value holds a character a cookie
   may not. */
int kh_web_gate_cookie (const kh_web_gate_t *self, const char *name, const char *value,
                        int max_age_s, char *out, size_t cap);

/* Finds cookie name in a Cookie header (may be NULL) and copies its value into out
   (cap bytes). Returns 0, or -1 if it is not there or does not fit. */
int kh_web_cookie_get (const char *cookie_header, const char *name, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
