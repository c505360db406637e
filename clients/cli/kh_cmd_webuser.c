/*  kh_cmd_webuser.c - `kreishub web-user add|list|remove`: the accounts of kreishub-web
    in its users file (name:ags:role:argon2id hash, mode 0600; kh_web_auth.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>
#include "kh_cli.h"
#include "kh_web_auth.h"

#define S_DIR           "./kreishub-data"   /* kreishub up's default data directory */
#define S_USERS         "web-users"
#define S_PASSWORD_MIN  8                   /* bytes of a password, at least */

/* What the command line says. */
typedef struct {
    const char *action;                 /* add, list, remove */
    const char *name;                   /* NAME of add and remove */
    const char *ags, *role, *users, *password_file;
} s_args_t;

/* Parses argv into args. Returns what kh_opts_parse returned, KH_OPTS_BAD also for
   a wrong action or argument count. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    const kh_opt_t table [] = {
        { "ags", 0, "AGS", &args->ags, NULL, "add: the AGS the user acts for (8 digits; "
          "a Kreis: 5)" },
        { "role", 0, "ROLE", &args->role, NULL, "add: municipality (default), kreis or admin" },
        { "users", 0, "FILE", &args->users, NULL, "the users file (default config web/users, "
          "else\nKREISHUB_DIR/" S_USERS ", else " S_DIR "/" S_USERS ")" },
        { "password-file", 0, "FILE", &args->password_file, NULL, "add: the password is "
          "this file's first line (- for stdin),\nfor scripts; else it is asked twice on "
          "the terminal" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub web-user", .once = true, .table = table,
        .shared = kh_cli_shared (cli),
        .synopsis = "add NAME --ags AGS [--role ROLE] | list | remove NAME [options]",
        .about = "Keeps the accounts that sign in to kreishub-web: add one (its password "
                 "stored as\nan argon2id hash), list them, remove one. The web node reads "
                 "the file again\nwhen it changes; a removed user's sessions end. A user "
                 "acts for its AGS with\nthat AGS' certificate (DATA/certs/AGS.cert_secret, "
                 "made by 'kreishub keygen').\n",
        .notes = "Exit status 0, or 1 for bad usage or a file that cannot be read or "
                 "written.\n"
    };
    int first = 0;
    int rc = kh_opts_parse (&opts, argc, argv, &first);
    if (rc != KH_OPTS_GO)
        return rc;
    args->action = first < argc ? argv [first] : NULL;
    bool named = args->action && (streq (args->action, "add") || streq (args->action, "remove"));
    if (!args->action || (!named && !streq (args->action, "list")))
        return kh_opts_bad (&opts, "give add, list or remove%s%s%s", args->action ? ", not '"
                            : "", args->action ? args->action : "", args->action ? "'" : "");
    if (argc - first != (named ? 2 : 1))
        return kh_opts_bad (&opts, named ? "%s takes one NAME" : "%s takes no NAME",
                            args->action);
    args->name = named ? argv [first + 1] : NULL;
    if (streq (args->action, "add") && !args->ags)
        return kh_opts_bad (&opts, "add needs --ags AGS");
    if (!streq (args->action, "add") && (args->ags || args->role || args->password_file))
        return kh_opts_bad (&opts, "--ags, --role and --password-file are add's");
    return KH_OPTS_GO;
}

/* The users file's path into path (PATH_MAX). */
static void
s_users_path (kh_cli_t *cli, const s_args_t *args, char *path)
{
    const char *file = kh_conf_get (args->users, NULL, cli->root, "web/users", NULL);
    if (file)
        snprintf (path, PATH_MAX, "%s", file);
    else
        snprintf (path, PATH_MAX, "%s/" S_USERS,
                  kh_conf_get (NULL, "KREISHUB_DIR", NULL, NULL, S_DIR));
}

/* Reads one line from file into out (cap bytes), without its line end. Returns 0,
   or -1 at the end of the file or for a line that does not fit. */
static int
s_line (FILE *file, char *out, size_t cap)
{
    if (!fgets (out, (int) cap, file))
        return -1;
    size_t len = strcspn (out, "\r\n");
    bool whole = out [len] != 0 || feof (file);
    out [len] = 0;
    return whole ? 0 : -1;
}

/* Asks for the password on the terminal tty with prompt, without echo. Returns 0,
   or -1. */
static int
s_ask (FILE *tty, const char *prompt, char *out, size_t cap)
{
    struct termios was, quiet;
    fprintf (stderr, "%s", prompt);
    fflush (stderr);
    bool echo_off = tcgetattr (fileno (tty), &was) == 0;
    quiet = was;
    quiet.c_lflag &= ~(tcflag_t) ECHO;
    if (echo_off)
        tcsetattr (fileno (tty), TCSAFLUSH, &quiet);
    int rc = s_line (tty, out, cap);
    if (echo_off)
        tcsetattr (fileno (tty), TCSAFLUSH, &was);
    fprintf (stderr, "\n");
    return rc;
}

/* Reads the password from the terminal, twice. Returns 0, or -1 after saying why. */
static int
s_password_tty (char *out, size_t cap)
{
    FILE *tty = fopen ("/dev/tty", "r");
    if (!tty) {
        fprintf (stderr, "kreishub web-user: no terminal to ask the password on; give "
                 "--password-file FILE\n");
        return -1;
    }
    char again [KH_WEB_PASSWORD_MAX + 2];
    int rc = s_ask (tty, "Password: ", out, cap) || s_ask (tty, "Again: ", again, sizeof again)
           ? -1 : 0;
    fclose (tty);
    if (rc == 0 && !streq (out, again)) {
        fprintf (stderr, "kreishub web-user: the two passwords differ; nothing changed\n");
        rc = -1;
    }
    sodium_memzero (again, sizeof again);
    return rc;
}

/* Reads the password from args' file (its first line) or the terminal into out,
   and checks its length. Returns 0, or -1 after saying why. */
static int
s_password (const s_args_t *args, char *out, size_t cap)
{
    if (!args->password_file && s_password_tty (out, cap))
        return -1;
    if (args->password_file) {
        bool in = streq (args->password_file, "-");
        FILE *file = in ? stdin : fopen (args->password_file, "r");
        int rc = file ? s_line (file, out, cap) : -1;
        if (file && !in)
            fclose (file);
        if (rc) {
            fprintf (stderr, "kreishub web-user: --password-file %s: %s\n", args->password_file,
                     file ? "no line of at most " KH_STR (KH_WEB_PASSWORD_MAX) " bytes"
                          : strerror (errno));
            return -1;
        }
    }
    if (strlen (out) < S_PASSWORD_MIN || strlen (out) > KH_WEB_PASSWORD_MAX) {
        fprintf (stderr, "kreishub web-user: a password has %d to %d bytes\n", S_PASSWORD_MIN,
                 KH_WEB_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

/* Fills account from args (name, AGS, role) and checks it. Returns 0, or -1 after
   saying why. */
static int
s_account (const s_args_t *args, kh_web_account_t *account)
{
    kh_problem_t why;
    memset (account, 0, sizeof *account);
    account->role = kh_role_parse (args->role ? args->role : "municipality");
    snprintf (account->name, sizeof account->name, "%s", args->name);
    snprintf (account->ags, sizeof account->ags, "%.*s", KH_AGS_MAX, args->ags);
    snprintf (account->hash, sizeof account->hash, "$argon2id$");     /* for the check */
    if (!kh_web_account_name_valid (args->name))
        fprintf (stderr, "kreishub web-user: a NAME is 1 to %d letters, digits, '.', '_', "
                 "'-' or '@', not '%s'\n", KH_WEB_NAME_MAX, args->name);
    else
    if (strlen (args->ags) > KH_AGS_MAX || kh_web_account_check (account, &why))
        fprintf (stderr, "kreishub web-user: %s\n", strlen (args->ags) > KH_AGS_MAX
                 ? "--ags: an AGS has 8 digits (a Kreis: 5)" : why.reason);
    else
        return 0;
    return -1;
}

/* Notes on stderr if the AGS has no certificate beside the users file (DATA/certs):
   the user could sign in but not act. */
static void
s_note_cert (const char *users_path, const kh_web_account_t *account)
{
    char cert [PATH_MAX + 64];
    const char *slash = strrchr (users_path, '/');
    int dir_len = slash ? (int) (slash - users_path + 1) : 0;
    snprintf (cert, sizeof cert, "%.*scerts/%s.cert_secret", dir_len, users_path, account->ags);
    if (account->role != KH_ROLE_ADMIN && access (cert, R_OK))
        fprintf (stderr, "kreishub web-user: note: %s is missing: %s can sign in, but not "
                 "act, until 'kreishub keygen' makes it\n", cert, account->name);
}

/* add: appends the account to the file's users. Returns the exit status. */
static int
s_add (const s_args_t *args, const char *path, kh_web_account_t *users, size_t count)
{
    kh_web_account_t account;
    char password [KH_WEB_PASSWORD_MAX + 2] = "";
    kh_problem_t why;
    if (s_account (args, &account))
        return KH_EXIT_USAGE;
    if (count >= KH_WEB_USERS_MAX) {
        fprintf (stderr, "kreishub web-user: %s holds %d users, the most it may\n", path,
                 KH_WEB_USERS_MAX);
        return KH_EXIT_USAGE;
    }
    for (size_t i = 0; i < count; i++)
        if (streq (users [i].name, account.name)) {
            fprintf (stderr, "kreishub web-user: %s is there already (%s); remove it first "
                     "to change it\n", account.name, path);
            return KH_EXIT_USAGE;
        }
    int rc = s_password (args, password, sizeof password)
          || kh_web_account_set_password (&account, password, &why) ? -1 : 0;
    sodium_memzero (password, sizeof password);
    if (rc && why.code == KH_ENOMEM)
        fprintf (stderr, "kreishub web-user: %s\n", why.reason);
    users [count] = account;
    if (rc == 0 && (rc = kh_web_accounts_write (path, users, count + 1, &why)))
        fprintf (stderr, "kreishub web-user: %s\n", why.reason);
    if (rc == 0) {
        printf ("added %s (%s, %s) to %s\n", account.name, account.ags,
                kh_role_name (account.role), path);
        s_note_cert (path, &account);
    }
    return rc ? KH_EXIT_USAGE : KH_EXIT_OK;
}

/* remove: writes the file without NAME. Returns the exit status. */
static int
s_remove (const s_args_t *args, const char *path, kh_web_account_t *users, size_t count)
{
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (!streq (users [i].name, args->name))
            users [kept++] = users [i];
    kh_problem_t why;
    if (kept == count) {
        fprintf (stderr, "kreishub web-user: there is no user %s in %s\n", args->name, path);
        return KH_EXIT_USAGE;
    }
    if (kh_web_accounts_write (path, users, kept, &why)) {
        fprintf (stderr, "kreishub web-user: %s\n", why.reason);
        return KH_EXIT_USAGE;
    }
    printf ("removed %s from %s; its sessions end\n", args->name, path);
    return KH_EXIT_OK;
}

/* list: one line per user, its AGS with the name the Kreis' registry gives it. */
static int
s_list (kh_cli_t *cli, const kh_web_account_t *users, size_t count)
{
    const kh_members_t *names = kh_cli_members (cli);
    int width = kh_members_who_width (names);
    printf ("%-20s ", "NAME");
    kh_members_pad (stdout, "AGS", width);
    printf (" ROLE\n");
    for (size_t i = 0; i < count; i++) {
        printf ("%-20s ", users [i].name);
        kh_members_who (stdout, names, users [i].ags, width);
        printf (" %s\n", kh_role_name (users [i].role));
    }
    return KH_EXIT_OK;
}

/* Takes the users file's lock (PATH.lock, held until the command ends), so that two
   commands at once do not each write the file without the other's change. Returns
   the lock's fd, or -1 after saying why. */
static int
s_lock (const char *path)
{
    char lock [PATH_MAX + 8];
    snprintf (lock, sizeof lock, "%s.lock", path);
    int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock (fd, LOCK_EX)) {
        fprintf (stderr, "kreishub web-user: %s: %s\n", lock, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

int
kh_cmd_webuser (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { NULL };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    char path [PATH_MAX];
    s_users_path (cli, &args, path);
    kh_web_account_t *users = NULL;
    size_t count = 0;
    kh_problem_t why;
    int lock = streq (args.action, "list") ? -2 : s_lock (path);
    if (lock == -1)
        return KH_EXIT_USAGE;
    if (kh_web_accounts_read (path, !streq (args.action, "remove"), &users, &count, &why)) {
        fprintf (stderr, "kreishub web-user: %s\n", why.reason);
        if (lock >= 0)
            close (lock);
        return KH_EXIT_USAGE;
    }
    if (!users && streq (args.action, "add"))   /* no file yet: room for the first */
        users = (kh_web_account_t *) calloc (1, sizeof *users);
    if (streq (args.action, "add"))
        rc = users ? s_add (&args, path, users, count) : KH_EXIT_USAGE;
    else
    if (streq (args.action, "remove"))
        rc = s_remove (&args, path, users, count);
    else
        rc = s_list (cli, users, count);
    if (users)
        sodium_memzero (users, (count + 1) * sizeof *users);
    free (users);
    if (lock >= 0)
        close (lock);
    return rc;
}
