/*  kh_cmd_ping.c - `kreishub ping`: the hub's head and whether it can store. */
#include "kh_cli.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub ping [options]\n"
        "Asks the broker for its head (the last published seq) and whether a recorder is\n"
        "connected. Exit status 0 if the hub can store, 3 if it did not answer in time or\n"
        "has no recorder.\n"
        "  -t, --timeout MS    wait this long for the answer (default %d)\n"
        KH_CLI_COMMON_USAGE, KH_CLI_TIMEOUT);
}

int
kh_cmd_ping (kh_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        KH_CLI_COMMON_OPTIONS,
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };
    int timeout = KH_CLI_TIMEOUT, opt;
    while ((opt = getopt_long (argc, argv, KH_CLI_COMMON_SHORT "t:", options, NULL)) != -1) {
        if (opt == 'h') {
            s_usage (stdout);
            return KH_EXIT_OK;
        }
        if ((opt == 't' && kh_cli_ms (optarg, &timeout) == 0)
        ||  kh_cli_common_option (cli, opt, optarg))
            continue;
        s_usage (stderr);
        return KH_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf (stderr, "kreishub ping: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr);
        return KH_EXIT_USAGE;
    }
    if (kh_cli_load_config (cli))
        return KH_EXIT_USAGE;
    const char *endpoint = kh_cli_endpoint (cli);
    kh_client_t *client = kh_client_new (endpoint);
    if (!client) {
        fprintf (stderr, "kreishub: not a valid endpoint: %s\n", endpoint);
        return KH_EXIT_USAGE;
    }
    uint64_t head = 0;
    bool up = false;
    int rc = kh_client_ping (client, timeout, &head, &up);
    kh_client_destroy (&client);
    if (rc)
        return kh_cli_report (endpoint, rc, NULL);
    printf ("head %llu recorder %s\n", (unsigned long long) head, up ? "up" : "down");
    return up ? KH_EXIT_OK : KH_EXIT_UNREACHABLE;
}
