/*  kh_cmd_ping.c - `kreishub ping`: the hub's head and whether it can store. */
#include "kh_cli.h"

/* Parses argv into *timeout. Returns what kh_opts_parse returned (KH_OPTS_BAD also
   for a bad timeout). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], int *timeout)
{
    const char *ms = NULL;
    const kh_opt_t table [] = {
        { "timeout", 't', "MS", &ms, NULL,
          "wait this long for the answer (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub ping",
        .once = true, .table = table, .shared = kh_cli_shared (cli),
        .about = "Asks the broker for its head (the last published seq) and whether a "
                 "recorder is\nconnected. Exit status 0 if the hub can store, 3 if it did "
                 "not answer in time or\nhas no recorder.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc == KH_OPTS_GO && kh_cli_int ("--timeout", ms, timeout))
        rc = kh_cli_bad (&opts);
    return rc;
}

int
kh_cmd_ping (kh_cli_t *cli, int argc, char *argv [])
{
    int timeout = KH_CLI_TIMEOUT;
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &timeout));
    if (rc != KH_CLI_GO)
        return rc;
    kh_client_t *client = kh_cli_client (cli);
    if (!client)
        return KH_EXIT_USAGE;
    uint64_t head = 0;
    bool up = false;
    rc = kh_client_ping (client, timeout, &head, &up);
    kh_error_reply_t err = *kh_client_last_error (client);
    kh_link_t link = kh_client_link (client);
    kh_client_destroy (&client);
    if (rc)
        return kh_cli_report (kh_cli_endpoint (cli), rc, &err, link);
    printf ("head %llu recorder %s\n", (unsigned long long) head, up ? "up" : "down");
    return up ? KH_EXIT_OK : KH_EXIT_UNREACHABLE;
}
