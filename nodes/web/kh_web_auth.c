/*  kh_web_auth.c - the users file, sign-in with its rate limit, sessions, CSRF tokens
    and cookies of kreishub-web (see kh_web_auth.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "kh_codec.h"                   /* kh_problem */
#include "kh_web_auth.h"

#define S_ID_BYTES      32              /* a session id, CSRF token, pre-session value */
#define S_LIMITS        4096            /* addresses and names the rate limit tracks */
#define S_LIMIT_KEY     (KH_WEB_NAME_MAX + 64)
#define S_FORGET_MS     (15 * 60 * 1000)    /* failures older than this are forgotten */
#define S_FILE_MAX      (KH_WEB_USERS_MAX * 320)
#define S_ARGON2ID      "$argon2id$"

/* What an unknown name's password is checked against, so that it costs what a
   known one's does: a hash of random bytes nobody knows, at the interactive limits. */
#define S_DUMMY_HASH    "$argon2id$v=19$m=65536,t=2,p=1$zdWg+oHVO9/KoRzlv1KNRg$" \
                        "e4Nw5XYIIIk9gp6QjInXqc4HEF7l2cY0IESLgY7QZcU"

/* One session. A row is free when used is false; an ended row is dropped at the
   next look at it, or when a new session needs room. */
typedef struct {
    bool      used;                     /* the row holds a session */
    uint8_t   id [S_ID_BYTES];          /* the cookie's value, decoded */
    uint8_t   csrf [S_ID_BYTES];        /* the forms' token, decoded */
    char      name [KH_WEB_NAME_MAX + 1];   /* the user, as signed in */
    char      ags [KH_AGS_MAX + 1];
    kh_role_t role;
    int64_t   created;                  /* ms, the state's clock: sign-in */
    int64_t   last;                     /* ms: last use */
} s_session_t;

/* Failures of one address ("a:IP") or name ("n:NAME"). A row is free when its key
   is empty. */
typedef struct {
    char    key [S_LIMIT_KEY];
    int     fails;                      /* failures in a row since the last lock */
    int64_t last;                       /* ms: the last failure */
    int64_t until;                      /* ms: locked until then (0: not locked) */
} s_limit_t;

struct _kh_web_gate_t {
    pthread_mutex_t lock;               /* guards everything below but verify */
    pthread_mutex_t verify;             /* one password check at a time */
    char           *path;               /* the users file */
    bool            secure;             /* cookies get Secure */
    kh_web_account_t  *users;              /* as last read; NULL with users_ok false */
    size_t          user_count;
    bool            users_ok;           /* the file was read and may be used */
    bool            users_seen;         /* stat below is the file's as read */
    struct stat     stat;               /* the file when last read */
    kh_problem_t    users_why;          /* why it may not be used */
    s_session_t    *sessions;           /* limits.sessions rows */
    s_limit_t      *limit_rows;         /* S_LIMITS rows */
    kh_web_limits_t limits;
    uint8_t         pre_key [crypto_auth_KEYBYTES];
    int64_t       (*now) (void *arg);
    void           *now_arg;
};

/* ================================================================ users file */

bool
kh_web_account_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > KH_WEB_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name [i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr ("._-@", c))
            return false;
    }
    return true;
}

int
kh_web_account_check (const kh_web_account_t *user, kh_problem_t *why)
{
    size_t len = strlen (user->ags);
    if (!kh_web_account_name_valid (user->name))
        return kh_problem (why, KH_EVALUE, "a name is 1 to %d letters, digits, '.', '_', "
                           "'-' or '@'", KH_WEB_NAME_MAX);
    if (!kh_ags_valid (user->ags, len))
        return kh_problem (why, KH_EVALUE, "'%s' is not an AGS (8 digits, or 5 for a "
                           "Kreis)", user->ags);
    if (user->role != KH_ROLE_MUNICIPALITY && user->role != KH_ROLE_KREIS
    &&  user->role != KH_ROLE_ADMIN)
        return kh_problem (why, KH_EVALUE, "the role is municipality, kreis or admin");
    if ((user->role == KH_ROLE_MUNICIPALITY && len != 8)
    ||  (user->role == KH_ROLE_KREIS && len != 5))
        return kh_problem (why, KH_EVALUE, "a %s's AGS has %d digits, not %zu",
                           kh_role_name (user->role), user->role == KH_ROLE_KREIS ? 5 : 8,
                           len);
    if (strncmp (user->hash, S_ARGON2ID, strlen (S_ARGON2ID))
    ||  strchr (user->hash, ':') || strlen (user->hash) >= KH_WEB_HASH_MAX)
        return kh_problem (why, KH_EVALUE, "the hash is not an argon2id string");
    return 0;
}

int
kh_web_account_set_password (kh_web_account_t *user, const char *password, kh_problem_t *why)
{
    size_t len = strlen (password);
    if (len == 0 || len > KH_WEB_PASSWORD_MAX)
        return kh_problem (why, KH_EVALUE, "a password has 1 to %d bytes",
                           KH_WEB_PASSWORD_MAX);
    if (sodium_init () < 0
    ||  crypto_pwhash_str (user->hash, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return kh_problem (why, KH_ENOMEM, "the password could not be hashed (memory)");
    return 0;
}

/* Reads one line (NUL-terminated, no line end) into user. Returns 0, or -1 with why
   set (KH_EVALUE) without the line's number. */
static int
s_user_parse (char *line, kh_web_account_t *user, kh_problem_t *why)
{
    char *field [4];
    field [0] = line;
    for (int i = 1; i < 4; i++) {
        char *colon = strchr (field [i - 1], ':');
        if (!colon)
            return kh_problem (why, KH_EVALUE, "not name:ags:role:hash");
        *colon = 0;
        field [i] = colon + 1;
    }
    if (strlen (field [0]) > KH_WEB_NAME_MAX || strlen (field [1]) > KH_AGS_MAX
    ||  strlen (field [3]) >= KH_WEB_HASH_MAX)
        return kh_problem (why, KH_EVALUE, "a field is too long");
    memset (user, 0, sizeof *user);
    strcpy (user->name, field [0]);
    strcpy (user->ags, field [1]);
    strcpy (user->hash, field [3]);
    user->role = kh_role_parse (field [2]);
    return kh_web_account_check (user, why);
}

/* Adds the lines of text (NUL-terminated, changed in place) to users (room for
   KH_WEB_USERS_MAX). Returns 0, or -1 with why set (the line's number in it). */
static int
s_users_parse (char *text, kh_web_account_t *users, size_t *count, kh_problem_t *why)
{
    size_t number = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr (line, '\n');
        if (next)
            *next++ = 0;
        number++;
        size_t len = strlen (line);
        if (len && line [len - 1] == '\r')
            line [--len] = 0;
        if (len == 0 || line [0] == '#')
            continue;
        if (*count == KH_WEB_USERS_MAX)
            return kh_problem (why, KH_ETOOLARGE, "more than %d users", KH_WEB_USERS_MAX);
        kh_web_account_t *user = &users [*count];
        kh_problem_t bad;
        if (s_user_parse (line, user, &bad))
            return kh_problem (why, KH_EVALUE, "line %zu: %s", number, bad.reason);
        for (size_t i = 0; i < *count; i++)
            if (streq (users [i].name, user->name))
                return kh_problem (why, KH_EVALUE, "line %zu: '%s' is there twice",
                                   number, user->name);
        (*count)++;
    }
    return 0;
}

/* Reads the whole file fd (at most S_FILE_MAX bytes) into a new NUL-terminated
   buffer. Returns it, or NULL with why set. */
static char *
s_slurp (int fd, const struct stat *st, kh_problem_t *why)
{
    if (st->st_size > S_FILE_MAX) {
        kh_problem (why, KH_ETOOLARGE, "larger than %d bytes", S_FILE_MAX);
        return NULL;
    }
    size_t size = (size_t) st->st_size, got = 0;
    char *text = (char *) malloc (size + 1);
    if (!text) {
        kh_problem (why, KH_ENOMEM, "out of memory");
        return NULL;
    }
    while (got < size) {
        ssize_t n = read (fd, text + got, size - got);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        got += n > 0 ? (size_t) n : 0;
    }
    text [got] = 0;
    return text;
}

/* Opens the users file and checks its kind and mode; fills *st. Returns the fd,
   or -1 with why set. */
static int
s_users_open (const char *path, struct stat *st, kh_problem_t *why)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kh_problem (why, KH_EIO, "%s: %s", path, strerror (errno));
    if (fstat (fd, st) || !S_ISREG (st->st_mode)) {
        close (fd);
        return kh_problem (why, KH_EIO, "%s: not a file", path);
    }
    if (st->st_mode & 077) {
        close (fd);
        return kh_problem (why, KH_EFORBIDDEN, "%s: mode %04o lets others read or write "
                           "it; chmod 600 it", path, (unsigned) (st->st_mode & 07777));
    }
    return fd;
}

/* As kh_web_accounts_read, filling st (if not NULL) with the file read. */
static int
s_users_read (const char *path, bool missing_ok, kh_web_account_t **users, size_t *count,
              struct stat *st, kh_problem_t *why)
{
    struct stat mine;
    st = st ? st : &mine;
    *users = NULL;
    *count = 0;
    if (missing_ok && access (path, F_OK) && errno == ENOENT)
        return 0;
    int fd = s_users_open (path, st, why);
    if (fd < 0)
        return -1;
    char *text = s_slurp (fd, st, why);
    close (fd);
    kh_web_account_t *list = text ? (kh_web_account_t *) calloc (KH_WEB_USERS_MAX, sizeof *list)
                               : NULL;
    kh_problem_t bad = { .code = KH_ENOMEM, .reason = "out of memory" };
    int rc = list ? s_users_parse (text, list, count, &bad) : -1;
    if (text)
        sodium_memzero (text, strlen (text));
    free (text);
    if (rc) {
        free (list);
        *count = 0;
        return text ? kh_problem (why, bad.code, "%s: %.200s", path, bad.reason) : -1;
    }
    *users = list;
    return 0;
}

int
kh_web_accounts_read (const char *path, bool missing_ok, kh_web_account_t **users, size_t *count,
                   kh_problem_t *why)
{
    return s_users_read (path, missing_ok, users, count, NULL, why);
}

/* Writes the users to the open file out. Returns 0, or -1 with why set. */
static int
s_users_print (FILE *out, const kh_web_account_t *users, size_t count, kh_problem_t *why)
{
    for (size_t i = 0; i < count; i++) {
        if (kh_web_account_check (&users [i], why))
            return -1;
        if (fprintf (out, "%s:%s:%s:%s\n", users [i].name, users [i].ags,
                     kh_role_name (users [i].role), users [i].hash) < 0)
            return kh_problem (why, KH_EIO, "cannot write: %s", strerror (errno));
    }
    if (fflush (out) || fsync (fileno (out)))
        return kh_problem (why, KH_EIO, "cannot write: %s", strerror (errno));
    return 0;
}

int
kh_web_accounts_write (const char *path, const kh_web_account_t *users, size_t count,
                    kh_problem_t *why)
{
    char temp [PATH_MAX];
    if (snprintf (temp, sizeof temp, "%s.XXXXXX", path) >= (int) sizeof temp)
        return kh_problem (why, KH_EIO, "%s: the name is too long", path);
    int fd = mkstemp (temp);            /* mode 0600 */
    if (fd < 0)
        return kh_problem (why, KH_EIO, "%s: %s", temp, strerror (errno));
    FILE *out = fdopen (fd, "w");
    if (!out) {
        close (fd);
        unlink (temp);
        return kh_problem (why, KH_EIO, "%s: %s", temp, strerror (errno));
    }
    int rc = s_users_print (out, users, count, why);
    if (fclose (out) && rc == 0)
        rc = kh_problem (why, KH_EIO, "%s: %s", temp, strerror (errno));
    if (rc == 0 && rename (temp, path))
        rc = kh_problem (why, KH_EIO, "%s: %s", path, strerror (errno));
    if (rc)
        unlink (temp);
    return rc;
}

/* ================================================================ the state */

/* The system's monotonic clock in ms. */
static int64_t
s_mono_ms (void *arg)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kh_web_gate_t *
kh_web_gate_new (const char *users_path, bool secure)
{
    assert (users_path);
    if (sodium_init () < 0)
        return NULL;
    kh_web_gate_t *self = (kh_web_gate_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = (kh_web_limits_t) {
        .sessions = 1024, .idle_ms = 30 * 60 * 1000, .absolute_ms = 8 * 3600 * 1000,
        .failures = 5, .lock_ms = 30 * 1000
    };
    self->path = strdup (users_path);
    self->sessions = (s_session_t *) calloc (self->limits.sessions, sizeof (s_session_t));
    self->limit_rows = (s_limit_t *) calloc (S_LIMITS, sizeof (s_limit_t));
    self->secure = secure;
    self->now = s_mono_ms;
    crypto_auth_keygen (self->pre_key);
    pthread_mutex_init (&self->lock, NULL);
    pthread_mutex_init (&self->verify, NULL);
    if (!self->path || !self->sessions || !self->limit_rows)
        kh_web_gate_destroy (&self);
    return self;
}

void
kh_web_gate_destroy (kh_web_gate_t **self_p)
{
    assert (self_p);
    kh_web_gate_t *self = *self_p;
    if (!self)
        return;
    if (self->sessions)
        sodium_memzero (self->sessions, self->limits.sessions * sizeof (s_session_t));
    sodium_memzero (self->pre_key, sizeof self->pre_key);
    pthread_mutex_destroy (&self->lock);
    pthread_mutex_destroy (&self->verify);
    free (self->sessions);
    free (self->limit_rows);
    free (self->users);
    free (self->path);
    free (self);
    *self_p = NULL;
}

void
kh_web_gate_set_limits (kh_web_gate_t *self, const kh_web_limits_t *limits)
{
    assert (self && limits);
    pthread_mutex_lock (&self->lock);
    if (limits->sessions && limits->sessions != self->limits.sessions) {
        s_session_t *rows = (s_session_t *) calloc (limits->sessions, sizeof *rows);
        if (rows) {                     /* else the old table stays */
            sodium_memzero (self->sessions, self->limits.sessions * sizeof *rows);
            free (self->sessions);
            self->sessions = rows;
            self->limits.sessions = limits->sessions;
        }
    }
    if (limits->idle_ms)
        self->limits.idle_ms = limits->idle_ms;
    if (limits->absolute_ms)
        self->limits.absolute_ms = limits->absolute_ms;
    if (limits->failures)
        self->limits.failures = limits->failures;
    if (limits->lock_ms)
        self->limits.lock_ms = limits->lock_ms;
    pthread_mutex_unlock (&self->lock);
}

void
kh_web_gate_set_clock (kh_web_gate_t *self, int64_t (*now) (void *arg), void *arg)
{
    assert (self);
    self->now = now ? now : s_mono_ms;
    self->now_arg = arg;
}

/* Reads the users file again if it changed since it was read (caller holds the
   lock). The users are then what it holds, or none (users_ok false) if it cannot be
   used, with users_why saying why. */
static void
s_users_fresh (kh_web_gate_t *self)
{
    struct stat now;
    if (stat (self->path, &now) == 0 && self->users_seen
    &&  now.st_ino == self->stat.st_ino && now.st_dev == self->stat.st_dev
    &&  now.st_size == self->stat.st_size && now.st_mode == self->stat.st_mode
    &&  now.st_mtim.tv_sec == self->stat.st_mtim.tv_sec
    &&  now.st_mtim.tv_nsec == self->stat.st_mtim.tv_nsec)
        return;
    free (self->users);
    self->users = NULL;
    self->user_count = 0;
    self->users_ok = s_users_read (self->path, false, &self->users, &self->user_count,
                                   &self->stat, &self->users_why) == 0;
    self->users_seen = self->users_ok;
}

/* The user named name now, or NULL (caller holds the lock). */
static const kh_web_account_t *
s_user (kh_web_gate_t *self, const char *name)
{
    for (size_t i = 0; self->users_ok && i < self->user_count; i++)
        if (streq (self->users [i].name, name))
            return &self->users [i];
    return NULL;
}

/* ================================================================ rate limit */

/* The row of key; if there is none and make, a row made for it (a free one, else
   the one whose last failure is oldest); else NULL. Caller holds the lock. */
static s_limit_t *
s_limit (kh_web_gate_t *self, const char *key, bool make)
{
    s_limit_t *spare = NULL;
    for (size_t i = 0; i < S_LIMITS; i++) {
        s_limit_t *row = &self->limit_rows [i];
        if (streq (row->key, key))
            return row;
        if (!spare || (*spare->key && (!*row->key || row->last < spare->last)))
            spare = row;
    }
    if (!make)
        return NULL;
    memset (spare, 0, sizeof *spare);
    snprintf (spare->key, sizeof spare->key, "%s", key);
    return spare;
}

/* How many ms the lock on key still holds at now (0: none). Caller holds the lock. */
static int64_t
s_locked (kh_web_gate_t *self, const char *key, int64_t now)
{
    s_limit_t *row = s_limit (self, key, false);
    return row && row->until > now ? row->until - now : 0;
}

/* Counts a failure of key at now; the one that makes limits.failures in a row
   locks it for limits.lock_ms. Caller holds the lock. */
static void
s_failed (kh_web_gate_t *self, const char *key, int64_t now)
{
    s_limit_t *row = s_limit (self, key, true);
    if (now - row->last > S_FORGET_MS)
        row->fails = 0;
    row->last = now;
    if (++row->fails >= self->limits.failures) {
        row->until = now + self->limits.lock_ms;
        row->fails = 0;
    }
}

/* Forgets the failures of key. Caller holds the lock. */
static void
s_succeeded (kh_web_gate_t *self, const char *key)
{
    s_limit_t *row = s_limit (self, key, false);
    if (row)
        memset (row, 0, sizeof *row);
}

/* ================================================================ sessions */

/* Decodes text, exactly 64 hex digits, into bin. Returns 0 or -1. */
static int
s_unhex (const char *text, uint8_t bin [S_ID_BYTES])
{
    size_t len = 0;
    if (!text || strlen (text) != S_ID_BYTES * 2
    ||  sodium_hex2bin (bin, S_ID_BYTES, text, S_ID_BYTES * 2, NULL, &len, NULL)
    ||  len != S_ID_BYTES)
        return -1;
    return 0;
}

/* The session whose id the Cookie header names, or NULL. Caller holds the lock. */
static s_session_t *
s_session_find (kh_web_gate_t *self, const char *sid)
{
    uint8_t id [S_ID_BYTES];
    if (s_unhex (sid, id))
        return NULL;
    for (size_t i = 0; i < self->limits.sessions; i++) {
        s_session_t *row = &self->sessions [i];
        if (row->used && sodium_memcmp (row->id, id, S_ID_BYTES) == 0)
            return row;
    }
    return NULL;
}

/* True if row's session is over at now: idle too long, too old, or its user is
   gone or no more the same. Caller holds the lock, the users fresh. */
static bool
s_session_over (kh_web_gate_t *self, const s_session_t *row, int64_t now)
{
    const kh_web_account_t *user = s_user (self, row->name);
    return now - row->last >= self->limits.idle_ms
        || now - row->created >= self->limits.absolute_ms
        || !user || !streq (user->ags, row->ags) || user->role != row->role;
}

/* Forgets row's session. */
static void
s_session_drop (s_session_t *row)
{
    sodium_memzero (row, sizeof *row);
}

/* Copies row's session into who. */
static void
s_session_copy (const s_session_t *row, kh_web_who_t *who)
{
    memset (who, 0, sizeof *who);
    snprintf (who->name, sizeof who->name, "%s", row->name);
    snprintf (who->ags, sizeof who->ags, "%s", row->ags);
    who->role = row->role;
    sodium_bin2hex (who->sid, sizeof who->sid, row->id, S_ID_BYTES);
    sodium_bin2hex (who->csrf, sizeof who->csrf, row->csrf, S_ID_BYTES);
}

/* A new session of user at now, in a free row, else an ended one's, else the row of
   the session idle longest. Caller holds the lock. */
static s_session_t *
s_session_new (kh_web_gate_t *self, const kh_web_account_t *user, int64_t now)
{
    s_session_t *row = NULL;
    for (size_t i = 0; i < self->limits.sessions; i++) {
        s_session_t *at = &self->sessions [i];
        if (!at->used || s_session_over (self, at, now)) {
            row = at;
            break;
        }
        if (!row || at->last < row->last)
            row = at;
    }
    s_session_drop (row);
    row->used = true;
    randombytes_buf (row->id, S_ID_BYTES);
    randombytes_buf (row->csrf, S_ID_BYTES);
    snprintf (row->name, sizeof row->name, "%s", user->name);
    snprintf (row->ags, sizeof row->ags, "%s", user->ags);
    row->role = user->role;
    row->created = row->last = now;
    return row;
}

/* Whether a sign-in of the keys' address and name may be tried at now: OK,
   LIMITED (with *retry_s) or UNAVAILABLE (with why). Caller holds the lock. */
static kh_web_login_t
s_may_try (kh_web_gate_t *self, const char *ip_key, const char *name_key, int64_t now,
           int *retry_s, kh_problem_t *why)
{
    s_users_fresh (self);
    if (!self->users_ok) {
        if (why)
            *why = self->users_why;
        return KH_WEB_LOGIN_UNAVAILABLE;
    }
    int64_t wait = s_locked (self, ip_key, now);
    int64_t name_wait = s_locked (self, name_key, now);
    wait = name_wait > wait ? name_wait : wait;
    if (retry_s)
        *retry_s = (int) ((wait + 999) / 1000);
    return wait ? KH_WEB_LOGIN_LIMITED : KH_WEB_LOGIN_OK;
}

/* True if password matches hash (argon2id). Runs one at a time. */
static bool
s_verify (kh_web_gate_t *self, const char *hash, const char *password)
{
    size_t len = password ? strlen (password) : 0;
    if (len > KH_WEB_PASSWORD_MAX)
        return false;
    return crypto_pwhash_str_verify (hash, password ? password : "", len) == 0;
}

kh_web_login_t
kh_web_gate_login (kh_web_gate_t *self, const char *ip, const char *name,
                   const char *password, kh_web_who_t *who, int *retry_s,
                   kh_problem_t *why)
{
    assert (self && who);
    char ip_key [S_LIMIT_KEY], name_key [S_LIMIT_KEY];
    snprintf (ip_key, sizeof ip_key, "a:%s", ip ? ip : "");
    snprintf (name_key, sizeof name_key, "n:%s", name ? name : "");
    if (retry_s)
        *retry_s = 0;
    pthread_mutex_lock (&self->verify);
    pthread_mutex_lock (&self->lock);
    kh_web_login_t verdict = s_may_try (self, ip_key, name_key, self->now (self->now_arg),
                                        retry_s, why);
    const kh_web_account_t *user = s_user (self, name ? name : "");
    kh_web_account_t copy = { .role = KH_ROLE_NONE };
    if (user)
        copy = *user;
    else
        snprintf (copy.hash, sizeof copy.hash, "%s", S_DUMMY_HASH);
    pthread_mutex_unlock (&self->lock);
    if (verdict == KH_WEB_LOGIN_OK)
        verdict = s_verify (self, copy.hash, password) && user ? KH_WEB_LOGIN_OK
                                                                : KH_WEB_LOGIN_WRONG;
    pthread_mutex_lock (&self->lock);
    int64_t now = self->now (self->now_arg);
    if (verdict == KH_WEB_LOGIN_WRONG) {
        s_failed (self, ip_key, now);
        s_failed (self, name_key, now);
    }
    else
    if (verdict == KH_WEB_LOGIN_OK) {
        s_succeeded (self, name_key);
        s_session_copy (s_session_new (self, &copy, now), who);
    }
    pthread_mutex_unlock (&self->lock);
    pthread_mutex_unlock (&self->verify);
    sodium_memzero (&copy, sizeof copy);
    return verdict;
}

int
kh_web_gate_session (kh_web_gate_t *self, const char *cookie_header, kh_web_who_t *who)
{
    assert (self && who);
    char sid [KH_WEB_TOKEN_SIZE];
    if (kh_web_cookie_get (cookie_header, KH_WEB_SESSION_COOKIE, sid, sizeof sid))
        return -1;
    pthread_mutex_lock (&self->lock);
    int64_t now = self->now (self->now_arg);
    s_users_fresh (self);
    s_session_t *row = s_session_find (self, sid);
    if (row && s_session_over (self, row, now)) {
        s_session_drop (row);
        row = NULL;
    }
    if (row) {
        row->last = now;
        s_session_copy (row, who);
    }
    pthread_mutex_unlock (&self->lock);
    return row ? 0 : -1;
}

bool
kh_web_token_ok (const char *expected, const char *given)
{
    return expected && given && strlen (given) == S_ID_BYTES * 2
        && strlen (expected) == S_ID_BYTES * 2
        && sodium_memcmp (given, expected, S_ID_BYTES * 2) == 0;
}

bool
kh_web_gate_csrf_ok (const kh_web_who_t *who, const char *token)
{
    assert (who);
    return kh_web_token_ok (who->csrf, token);
}

void
kh_web_gate_logout (kh_web_gate_t *self, const char *sid)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    s_session_t *row = s_session_find (self, sid);
    if (row)
        s_session_drop (row);
    pthread_mutex_unlock (&self->lock);
}

size_t
kh_web_gate_sessions (kh_web_gate_t *self)
{
    assert (self);
    size_t count = 0;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < self->limits.sessions; i++)
        count += self->sessions [i].used;
    pthread_mutex_unlock (&self->lock);
    return count;
}

/* ================================================================ pre-session */

/* The form's token for the pre-session value: its HMAC under the state's key. */
static void
s_pre_token (const kh_web_gate_t *self, const uint8_t value [S_ID_BYTES],
             uint8_t mac [crypto_auth_BYTES])
{
    crypto_auth (mac, value, S_ID_BYTES, self->pre_key);
}

int
kh_web_gate_pre (kh_web_gate_t *self, const char *cookie_header,
                 char value [KH_WEB_TOKEN_SIZE], char token [KH_WEB_TOKEN_SIZE], bool *fresh)
{
    assert (self && value && token && fresh);
    uint8_t bin [S_ID_BYTES], mac [crypto_auth_BYTES];
    char text [KH_WEB_TOKEN_SIZE];
    *fresh = kh_web_cookie_get (cookie_header, KH_WEB_PRE_COOKIE, text, sizeof text)
          || s_unhex (text, bin);
    if (*fresh)
        randombytes_buf (bin, S_ID_BYTES);
    s_pre_token (self, bin, mac);
    sodium_bin2hex (value, KH_WEB_TOKEN_SIZE, bin, S_ID_BYTES);
    sodium_bin2hex (token, KH_WEB_TOKEN_SIZE, mac, S_ID_BYTES);
    return 0;
}

bool
kh_web_gate_pre_ok (kh_web_gate_t *self, const char *cookie_header, const char *token)
{
    assert (self);
    uint8_t bin [S_ID_BYTES], given [S_ID_BYTES], mac [crypto_auth_BYTES];
    char text [KH_WEB_TOKEN_SIZE];
    if (kh_web_cookie_get (cookie_header, KH_WEB_PRE_COOKIE, text, sizeof text)
    ||  s_unhex (text, bin) || s_unhex (token, given))
        return false;
    s_pre_token (self, bin, mac);
    return sodium_memcmp (mac, given, S_ID_BYTES) == 0;
}

/* ================================================================ cookies */

/* True if text (not empty unless empty_ok) is made of what a cookie's name or
   value may hold: printable ASCII but blanks and " , ; \ (and = in a name). */
static bool
s_cookie_text (const char *text, bool name)
{
    if (!text || (name && !*text))
        return false;
    for (const char *c = text; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || strchr ("\",;\\", *c) || (name && *c == '='))
            return false;
    return true;
}

int
kh_web_gate_cookie (const kh_web_gate_t *self, const char *name, const char *value,
                    int max_age_s, char *out, size_t cap)
{
    assert (self && out);
    char age [32] = "";
    if (max_age_s >= 0)
        snprintf (age, sizeof age, "; Max-Age=%d", max_age_s);
    if (max_age_s == 0)
        value = "";
    if (!s_cookie_text (name, true) || !s_cookie_text (value, false))
        return -1;
    int len = snprintf (out, cap, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name,
                        value, age, self->secure ? "; Secure" : "");
    return len < 0 || (size_t) len >= cap ? -1 : 0;
}

int
kh_web_cookie_get (const char *cookie_header, const char *name, char *out, size_t cap)
{
    size_t name_len = name ? strlen (name) : 0;
    for (const char *at = cookie_header; at && *at; ) {
        at += strspn (at, " \t;");
        size_t len = strcspn (at, ";");
        if (len > name_len && strncmp (at, name, name_len) == 0 && at [name_len] == '=') {
            const char *value = at + name_len + 1;
            size_t value_len = len - name_len - 1;
            while (value_len && (value [value_len - 1] == ' ' || value [value_len - 1] == '\t'))
                value_len--;
            if (value_len >= cap)
                return -1;
            memcpy (out, value, value_len);
            out [value_len] = 0;
            return 0;
        }
        at += len;
    }
    return -1;
}
