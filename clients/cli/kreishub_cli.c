/*  kreishub_cli.c - the kreishub program: shared options, then one command from a table. */
#include "kh_cli.h"
#include "kh_suggest.h"

static const kh_cli_command_t s_commands [] = {
    { "up",        kh_cmd_up,        "run the hub here: broker and recorder, until Ctrl-C" },
    { "publish",   kh_cmd_publish,   "publish an item or a message about one; wait until stored" },
    { "subscribe", kh_cmd_subscribe, "follow records live, optionally catching up first" },
    { "items",     kh_cmd_items,     "the catalogue: items now, filtered, newest activity first" },
    { "show",      kh_cmd_show,      "one item: its fields, participants and history" },
    { "respond",   kh_cmd_respond,   "answer an item: interested, join, decline, leave" },
    { "status",    kh_cmd_status,    "move your item on in its lifecycle" },
    { "revise",    kh_cmd_revise,    "change fields of your item" },
    { "withdraw",  kh_cmd_withdraw,  "withdraw your item" },
    { "comment",   kh_cmd_comment,   "comment on an item" },
    { "log",       kh_cmd_log,       "show the stored log: filter, search, export, follow" },
    { "stats",     kh_cmd_stats,     "counts by municipality, type, month, hf, status; the hub's" },
    { "ping",      kh_cmd_ping,      "show the hub's head and whether it can store" },
    { "keygen",    kh_cmd_keygen,    "make a certificate pair for a member, the Kreis, an admin" },
    { "demo",      kh_cmd_demo,      "replay the demo data through the hub, as its participants" },
    { "web-user",  kh_cmd_webuser,   "the accounts of the web page: add, list, remove" },
};
#define S_COMMANDS (sizeof s_commands / sizeof s_commands [0])

/* Writes the part of the usage before the options, the commands, into about. */
static void
s_about (char *about, size_t cap)
{
    size_t n = (size_t) snprintf (about, cap, "\ncommands:\n");
    for (size_t i = 0; i < S_COMMANDS && n < cap; i++)
        n += (size_t) snprintf (about + n, cap - n, "  %-10s  %s\n", s_commands [i].name,
                                s_commands [i].summary);
    if (n < cap)
        snprintf (about + n, cap - n, "\noptions (also accepted after the command):\n");
}

/* Writes the commands' names into list, "up, publish, ...". */
static void
s_names (char *list, size_t cap)
{
    list [0] = 0;
    for (size_t i = 0; i < S_COMMANDS; i++) {
        size_t used = strlen (list);
        snprintf (list + used, cap - used, "%s%s", i ? ", " : "", s_commands [i].name);
    }
}

/* Returns the command named name, or NULL after saying on stderr that there is none
   (and which it may be) with opts' "try" line. */
static const kh_cli_command_t *
s_command (const kh_opts_t *opts, const char *name)
{
    const char *names [S_COMMANDS];
    char list [256];
    for (size_t i = 0; i < S_COMMANDS; i++) {
        if (streq (name, s_commands [i].name))
            return &s_commands [i];
        names [i] = s_commands [i].name;
    }
    int best = kh_suggest_best (name, names, S_COMMANDS);
    s_names (list, sizeof list);
    if (best >= 0)
        kh_opts_bad (opts, "unknown command '%s'; did you mean %s?", name, names [best]);
    else
        kh_opts_bad (opts, "unknown command '%s' (commands: %s)", name, list);
    return NULL;
}

int
main (int argc, char *argv [])
{
    kh_cli_t cli = { NULL };
    char about [1024];
    s_about (about, sizeof about);
    kh_opts_t opts = {
        .program = "kreishub",
        .once = true, .synopsis = "[options] COMMAND [command options]",
        .about = about, .shared = kh_cli_shared (&cli), .version = true, .in_order = true,
        .notes = "\n"
            "Endpoints come from the flags, else KREISHUB_ENDPOINT / KREISHUB_LIVE, else the\n"
            "config file's section 'client' (keys endpoint, live, from, cert, server_cert,\n"
            "plain), else " KH_DEFAULT_CLIENT " and " KH_DEFAULT_LIVE "; the certificates\n"
            "likewise. A hub is secure unless it runs in plain mode for development.\n"
            "'kreishub COMMAND --help' describes a command.\n"
            "Exit status: 0 ok, 1 usage error or invalid message, 2 rejected by the hub,\n"
            "3 hub unreachable, timed out or unable to store.\n"
    };
    int first;
    int rc = kh_opts_parse (&opts, argc, argv, &first);
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, KH_EXIT_USAGE);
    if (first >= argc) {
        char list [256];
        s_names (list, sizeof list);
        kh_opts_bad (&opts, "which command? %s", list);
        return KH_EXIT_USAGE;
    }
    const kh_cli_command_t *command = s_command (&opts, argv [first]);
    if (!command)
        return KH_EXIT_USAGE;
    rc = command->run (&cli, argc - first, argv + first);
    kh_cli_release (&cli);
    return rc;
}
