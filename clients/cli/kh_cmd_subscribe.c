/*  kh_cmd_subscribe.c - `kreishub subscribe`: follow records live, optionally from a
    seq in the store on, and print each as it comes. */
#include <limits.h>
#include "kh_cli.h"
#include "kh_live.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_query_t  filter;                 /* --type and --from */
    const kh_members_t *names;          /* names next to the AGS */
    uint64_t    since;                  /* --since SEQ, 0: live only */
    uint64_t    count;                  /* --count N, 0: no end */
    bool        json;                   /* --json: one object per line */
    int         timeout;                /* --timeout MS, -1: for ever */
} s_args_t;

/* Parses argv into args. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    const char *since = NULL, *count = NULL, *timeout = NULL;
    kh_opt_list_t lists [] = { { .name = "type" }, { .name = "from" }, { .name = NULL } };
    const kh_opt_t table [] = {
        { "type", 0, "TYPE", NULL, NULL, "only this message type (idea, offer, ...);\n"
          "repeat for more" },
        { "from", 0, "WHO", NULL, NULL, "only this sender: an AGS, a name of the Kreis'\n"
          "members (Neuss, jüchen; a unique beginning will do)\nor a region prefix "
          "(0516, 05162*); repeat for more" },
        { "since", 0, "SEQ", &since, NULL,
          "catch up from this seq on first (default: live only)" },
        { "count", 'n', "N", &count, NULL, "stop after N records" },
        { "json", 0, NULL, NULL, &args->json, "one JSON object per line" },
        { "timeout", 't', "MS", &timeout, NULL,
          "give up after MS without a record (default: wait for ever)" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub subscribe",
        .once = true, .table = table, .shared = kh_cli_shared (cli),
        .lists = lists,
        .about = "Prints records as they are stored, one line each (seq, time, type, "
                 "sender\nwith its name, title). With --since it first prints the stored records from "
                 "that seq on, then\ncontinues live; a record dropped on the way is fetched "
                 "from the store, so none\nis missed or shown twice.\n",
        .notes = "While the store is unavailable (recorder restarting) it waits and tries "
                 "again.\nIt says on stderr when it cannot reach the hub, when the hub goes "
                 "away and when it\nis back.\n"
                 "Exit status: 0 done (count reached, Ctrl-C, or --timeout without --count), "
                 "3 the\nhub did not answer a store query, or --timeout passed before "
                 "--count records.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc == KH_OPTS_GO
    &&  (kh_cli_uint ("--since", since, UINT64_MAX, &args->since)
     ||  kh_cli_uint ("--count", count, UINT64_MAX, &args->count)
     ||  kh_cli_int ("--timeout", timeout, &args->timeout)
     ||  kh_cli_filter (cli, opts.program, &lists [0], &lists [1], &args->filter)
     ||  !(args->names = kh_cli_members (cli))))
        rc = kh_cli_bad (&opts);
    return rc;
}

/* Prints one record. */
static bool
s_show (const kh_record_t *rec, void *arg)
{
    const s_args_t *args = (const s_args_t *) arg;
    kh_format_t format = args->json ? KH_FORMAT_JSON : KH_FORMAT_TABLE;
    if (kh_cli_print_record (stdout, format, rec, args->names))
        fprintf (stderr, "kreishub subscribe: record %llu cannot be shown\n",
                 (unsigned long long) rec->info.seq);
    return true;
}

int
kh_cmd_subscribe (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .timeout = -1 };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    const char *endpoint = kh_cli_endpoint (cli);
    kh_subscriber_t *sub = kh_cli_subscriber (cli, &args.filter, args.since);
    if (!sub)
        return KH_EXIT_USAGE;
    if (args.timeout >= 0)              /* a store query may not take longer either */
        kh_subscriber_set_query_timeout (sub, args.timeout > 0 ? args.timeout : 1);
    kh_live_t how = { .program = "kreishub subscribe", .endpoint = endpoint,
                        .live = kh_cli_live (cli), .count = args.count,
                        .timeout = args.timeout, .show = s_show, .arg = &args };
    rc = kh_live_run (sub, &how);
    uint64_t gaps, filled;
    kh_subscriber_stats (sub, &gaps, &filled);
    if (gaps)
        fprintf (stderr, "kreishub subscribe: %llu gap%s detected, %llu record%s filled "
                 "from the store\n", (unsigned long long) gaps, gaps == 1 ? "" : "s",
                 (unsigned long long) filled, filled == 1 ? "" : "s");
    kh_subscriber_destroy (&sub);
    return rc;
}
