/*  kh_cmd_keygen.c - `kreishub keygen`: makes a certificate pair whose public part
    names its holder (ags, name, role), or the hub's own server pair. */
#include <ctype.h>
#include <limits.h>
#include "kh_cert.h"
#include "kh_cli.h"

#define S_BASE_MAX      64              /* bytes of a file name's base, at most */

/* What the command line says. */
typedef struct {
    const char *ags;
    const char *name;
    const char *role;
    const char *out;
    const char *file;
    bool        server;
} s_args_t;

/* Parses argv into args. Returns what kh_opts_parse returned. */
static int
s_parse (int argc, char *argv [], s_args_t *args)
{
    const kh_opt_t table [] = {
        { "ags", 0, "AGS", &args->ags, NULL,
          "the holder's AGS (8 digits; a Kreis: its 5-digit key)" },
        { "name", 0, "NAME", &args->name, NULL, "the holder's name, e.g. \"Dormagen\"" },
        { "role", 0, "ROLE", &args->role, NULL, "municipality, kreis, admin, or hub (the "
          "recorder's)" },
        { "server", 0, NULL, NULL, &args->server, "the broker's own pair instead (no AGS, "
          "no role)" },
        { "out", 'o', "DIR", &args->out, NULL, "write into DIR (default: here; created if "
          "missing)" },
        { "file", 0, "BASE", &args->file, NULL, "name the files BASE.cert and "
          "BASE.cert_secret (default: the\nAGS; ROLE-AGS for admin and hub; server)" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub keygen", .once = true, .table = table,
        .synopsis = "--ags AGS --name NAME --role ROLE [options] | --server [options]",
        .about = "Makes a CURVE certificate pair: BASE.cert, the public part, which names "
                 "its holder\n(ags, name, role) and goes into the broker's clients "
                 "directory, and\nBASE.cert_secret (mode 0600), which its holder keeps and "
                 "gives as --cert.\nWith --server, the broker's pair: its --cert, and the "
                 "public part every client\ngives as --server-cert.\n",
        .notes = "An existing file is never overwritten. Exit status 0, or 1 for bad usage "
                 "or a\nfile that cannot be written.\n"
    };
    return kh_opts_parse (&opts, argc, argv, NULL);
}

/* True if base may name the files: letters, digits, '.', '_' and '-', not first '.'. */
static bool
s_base_valid (const char *base)
{
    size_t len = strlen (base);
    if (len == 0 || len > S_BASE_MAX || base [0] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) base [i]) && !strchr ("._-", base [i]))
            return false;
    return true;
}

/* Checks a holder's certificate request and fills ident. Returns 0, or -1 after
   saying why. */
static int
s_holder (const s_args_t *args, kh_ident_t *ident)
{
    size_t len = args->ags ? strlen (args->ags) : 0;
    ident->role = kh_role_parse (args->role);
    if (!args->role || ident->role == KH_ROLE_NONE)
        fprintf (stderr, "kreishub keygen: give --role " KH_ROLE_CHOICES "%s%s%s\n",
                 args->role ? ", not '" : "", args->role ? args->role : "",
                 args->role ? "'" : "");
    else
    if (!args->ags || !kh_ags_valid (args->ags, len))
        fprintf (stderr, "kreishub keygen: give --ags AGS (8 digits, or 5 for a Kreis)%s%s%s\n",
                 args->ags ? ", not '" : "", args->ags ? args->ags : "", args->ags ? "'" : "");
    else
    if ((ident->role == KH_ROLE_MUNICIPALITY && len != 8)
    ||  (ident->role == KH_ROLE_KREIS && len != 5))
        fprintf (stderr, "kreishub keygen: a %s's AGS has %d digits, not %zu\n",
                 args->role, ident->role == KH_ROLE_KREIS ? 5 : 8, len);
    else
    if (!kh_cert_name_valid (args->name))
        fprintf (stderr, "kreishub keygen: give --name NAME (1 to %d bytes, no quotes or "
                 "control characters)\n", KH_CERT_NAME_MAX);
    else {
        snprintf (ident->ags, sizeof ident->ags, "%s", args->ags);
        snprintf (ident->name, sizeof ident->name, "%s", args->name);
        return 0;
    }
    return -1;
}

/* Checks the server's request and fills ident (a name, no AGS, no role). Returns 0,
   or -1 after saying why. */
static int
s_server (const s_args_t *args, kh_ident_t *ident)
{
    if (args->ags || args->role) {
        fprintf (stderr, "kreishub keygen: --server takes no --ags or --role\n");
        return -1;
    }
    if (args->name && !kh_cert_name_valid (args->name)) {
        fprintf (stderr, "kreishub keygen: --name: 1 to %d bytes, no quotes or control "
                 "characters\n", KH_CERT_NAME_MAX);
        return -1;
    }
    snprintf (ident->name, sizeof ident->name, "%s", args->name ? args->name : "kreishub");
    return 0;
}

int
kh_cmd_keygen (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .out = "." };
    int rc = kh_cli_parsed (cli, s_parse (argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    kh_ident_t ident = { .role = KH_ROLE_NONE };
    if (args.server ? s_server (&args, &ident) : s_holder (&args, &ident))
        return KH_EXIT_USAGE;
    char base [S_BASE_MAX + 16];
    if (args.file)
        snprintf (base, sizeof base, "%s", args.file);
    else
    if (args.server)
        snprintf (base, sizeof base, "server");
    else
    if (ident.role == KH_ROLE_ADMIN || ident.role == KH_ROLE_HUB)
        snprintf (base, sizeof base, "%s-%s", kh_role_name (ident.role), ident.ags);
    else
        snprintf (base, sizeof base, "%s", ident.ags);
    if (!s_base_valid (base)) {
        fprintf (stderr, "kreishub keygen: --file: letters, digits, '.', '_' and '-' (not "
                 "first '.'), at most %d\n", S_BASE_MAX);
        return KH_EXIT_USAGE;
    }
    char path [PATH_MAX];
    kh_problem_t why;
    if (kh_cert_create (args.out, base, &ident, path, sizeof path, &why)) {
        fprintf (stderr, "kreishub keygen: %s\n", why.reason);
        return KH_EXIT_USAGE;
    }
    printf ("wrote %s          public: %s\n"
            "wrote %s" KH_CERT_SECRET "   secret (mode 0600): keep it; %s\n", path,
            args.server ? "each client's and the recorder's --server-cert"
                        : "copy it into the broker's clients directory",
            path, args.server ? "the broker's --cert" : "its holder's --cert");
    return KH_EXIT_OK;
}
