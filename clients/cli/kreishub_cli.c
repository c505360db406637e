/*  kreishub_cli.c - the kreishub program: shared options, then one command from a table. */
#include "kh_cli.h"

static const kh_cli_command_t s_commands [] = {
    { "up",        kh_cmd_up,        "run the hub here: broker and recorder, until Ctrl-C" },
    { "publish",   kh_cmd_publish,   "publish an idea or offer and wait until it is stored" },
    { "subscribe", kh_cmd_subscribe, "follow records live, optionally catching up first" },
    { "log",       kh_cmd_log,       "show the stored log: filter, export (table/json/csv)" },
    { "ping",      kh_cmd_ping,      "show the hub's head and whether it can store" },
};
#define S_COMMANDS (sizeof s_commands / sizeof s_commands [0])

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub [options] COMMAND [command options]\n"
        "\n"
        "commands:\n");
    for (size_t i = 0; i < S_COMMANDS; i++)
        fprintf (out, "  %-10s  %s\n", s_commands [i].name, s_commands [i].summary);
    fprintf (out,
        "\n"
        "options (also accepted after the command):\n"
        KH_CLI_COMMON_USAGE
        "\n"
        "Endpoints come from the flags, else KREISHUB_ENDPOINT / KREISHUB_LIVE, else the\n"
        "config file's section 'client' (keys endpoint, live, from), else\n"
        "%s and %s.\n"
        "'kreishub COMMAND --help' describes a command.\n"
        "Exit status: 0 ok, 1 usage error or invalid message, 2 rejected by the hub,\n"
        "3 hub unreachable, timed out or unable to store.\n",
        KH_DEFAULT_CLIENT, KH_DEFAULT_LIVE);
}

/* Returns the command named name, or NULL. */
static const kh_cli_command_t *
s_command (const char *name)
{
    for (size_t i = 0; i < S_COMMANDS; i++)
        if (streq (name, s_commands [i].name))
            return &s_commands [i];
    return NULL;
}

int
main (int argc, char *argv [])
{
    static const struct option options [] = { KH_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
    kh_cli_t cli = { NULL };
    int opt;
    while ((opt = getopt_long (argc, argv, "+" KH_CLI_COMMON_SHORT, options, NULL)) != -1) {
        if (opt == 'h') {
            s_usage (stdout);
            return KH_EXIT_OK;
        }
        if (!kh_cli_common_option (&cli, opt, optarg)) {
            s_usage (stderr);
            return KH_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        s_usage (stderr);
        return KH_EXIT_USAGE;
    }
    const kh_cli_command_t *command = s_command (argv [optind]);
    if (!command) {
        fprintf (stderr, "kreishub: unknown command '%s'\n", argv [optind]);
        s_usage (stderr);
        return KH_EXIT_USAGE;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;                         /* glibc: start afresh for the command */
    int rc = command->run (&cli, sub_argc, sub_argv);
    kh_cli_release (&cli);
    return rc;
}
