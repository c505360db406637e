/*  kh_cmd_stats.c - `kreishub stats`: the log counted, by municipality, type, month,
    Handlungsfeld or stage, with the store's size and the broker's live counters. */
#include "kh_cli.h"
#include "kh_suggest.h"
#include "kh_when.h"

static const char *const s_groups [] = {
    "municipality", "type", "month", "hf", "status", NULL
};

/* What the command line says, besides the shared options. */
typedef struct {
    kh_stats_query_t query;
    bool             json;
    int              timeout;
} s_args_t;

/* Reads --by into the query. Returns 0, or -1 after saying why. */
static int
s_by (const char *text, kh_stats_query_t *query)
{
    if (kh_value_choice (text, s_groups) >= 0) {
        snprintf (query->by, sizeof query->by, "%s", text);
        return 0;
    }
    int best = kh_suggest_best (text, s_groups, 5);
    if (best >= 0)
        fprintf (stderr, "kreishub stats: --by: '%s' is no grouping; did you mean %s?\n",
                 text, s_groups [best]);
    else
        fprintf (stderr, "kreishub stats: --by is municipality, type, month, hf or status, "
                 "not '%s'\n", text);
    return -1;
}

/* Reads a --since/--until time (publication) into *ms. Returns 0 or -1. */
static int
s_time (const char *text, bool utc, bool until, uint64_t *ms)
{
    if (kh_when_parse (text, utc, until, ms) == 0)
        return 0;
    fprintf (stderr, "kreishub stats: '%s' is not a time (2022-03-30, 30.03.2022, "
             "30.03.2022 14:00)\n", text);
    return -1;
}

/* Parses argv into args. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    const char *by = NULL, *since = NULL, *until = NULL, *timeout = NULL;
    bool utc = false;
    kh_opt_list_t lists [] = { { .name = "type" }, { .name = "from" }, { .name = NULL } };
    const kh_opt_t table [] = {
        { "by", 0, "GROUP", &by, NULL, "count by municipality, type, month, hf or status\n"
          "(default: totals only)" },
        { "since", 0, "TIME", &since, NULL, "only messages published from then on\n"
          "(2022-03-30, 30.03.2022, a time of day after it)" },
        { "until", 0, "TIME", &until, NULL, "only messages published until then (a date:\n"
          "the whole day)" },
        { "utc", 0, NULL, NULL, &utc, "read times in UTC (default Europe/Berlin)" },
        { "type", 0, "TYPE", NULL, NULL, "only this message type; repeat for more" },
        { "from", 0, "WHO", NULL, NULL, "only this sender: an AGS, a name, a region\n"
          "prefix; repeat for more" },
        { "json", 0, NULL, NULL, &args->json, "one JSON object" },
        { "timeout", 't', "MS", &timeout, NULL,
          "wait this long for each answer (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub stats", .once = true, .table = table,
        .shared = kh_cli_shared (cli), .lists = lists,
        .about = "Counts the log: items (begun) and messages, in all or by a grouping "
                 "(months\nin Europe/Berlin; an item counts in its Handlungsfeld and its "
                 "stage now, and\nso do the messages about it). Then the store's size and "
                 "the broker's live\ncounters: connections, records published per second "
                 "(the last 10 s), errors.\n",
        .notes = "Exit status: 0 ok, 1 usage, 2 query rejected, 3 no answer.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    kh_query_t lists_of = { .type_count = 0 };
    kh_stats_query_t *q = &args->query;
    if (rc == KH_OPTS_GO
    &&  ((by && s_by (by, q))
     ||  (since && s_time (since, utc, false, &q->since_ts))
     ||  (until && s_time (until, utc, true, &q->until_ts))
     ||  kh_cli_int ("--timeout", timeout, &args->timeout)
     ||  kh_cli_filter (cli, opts.program, &lists [0], &lists [1], &lists_of)))
        rc = kh_cli_bad (&opts);
    memcpy (q->type, lists_of.type, sizeof q->type);
    memcpy (q->from, lists_of.from, sizeof q->from);
    q->type_count = lists_of.type_count;
    q->from_count = lists_of.from_count;
    return rc;
}

/* Writes the store's size as people read it, "1.4 MB", into out. */
static void
s_size (uint64_t bytes, char *out, size_t cap)
{
    if (bytes >= 1024 * 1024)
        snprintf (out, cap, "%.1f MB", (double) bytes / (1024.0 * 1024.0));
    else
        snprintf (out, cap, "%.1f KB", (double) bytes / 1024.0);
}

/* Prints the count as a table. */
static void
s_table (const s_args_t *args, const kh_stats_t *stats, const kh_members_t *names)
{
    bool who = streq (args->query.by, "municipality");
    int width = who ? kh_members_who_width (names) : 12;
    if (*args->query.by) {
        kh_members_pad (stdout, args->query.by, width);
        printf ("  %8s  %8s\n", "ITEMS", "MESSAGES");
    }
    for (size_t i = 0; i < stats->count; i++) {
        const kh_stats_row_t *row = &stats->rows [i];
        if (who && *row->key)
            kh_members_who (stdout, names, row->key, width);
        else
            kh_members_pad (stdout, *row->key ? row->key : "(none)", width);
        printf ("  %8llu  %8llu\n", (unsigned long long) row->items,
                (unsigned long long) row->messages);
    }
    if (stats->more)
        printf ("(more groups than %d: the rest left out)\n", KH_QUERY_PAGE_MAX);
    kh_members_pad (stdout, "all", width);
    printf ("  %8llu  %8llu\n", (unsigned long long) stats->items,
            (unsigned long long) stats->messages);
}

/* Prints the store's and the broker's figures (ok: counters were had). */
static void
s_hub (const kh_stats_t *stats, const kh_counters_t *c, bool ok)
{
    char size [32];
    s_size (stats->store_bytes, size, sizeof size);
    printf ("store: %s, head seq %llu\n", size, (unsigned long long) stats->head);
    if (!ok)
        return;
    printf ("broker: up %llu s, %u client%s, %u subscriber%s, recorder %s, head seq %llu\n"
            "        %llu published since start, %llu/s now, %llu error%s (%llu busy), "
            "%llu audit record%s dropped\n", (unsigned long long) (c->uptime_ms / 1000),
            (unsigned) c->clients, c->clients == 1 ? "" : "s", (unsigned) c->subscribers,
            c->subscribers == 1 ? "" : "s", c->recorder_up ? "up" : "DOWN",
            (unsigned long long) c->head, (unsigned long long) c->published,
            (unsigned long long) c->rate, (unsigned long long) c->errors,
            c->errors == 1 ? "" : "s", (unsigned long long) c->busy,
            (unsigned long long) c->audit_dropped, c->audit_dropped == 1 ? "" : "s");
}

/* Prints the count and the counters as one JSON object. */
static void
s_json (const s_args_t *args, const kh_stats_t *stats, const kh_counters_t *c, bool ok,
        const kh_members_t *names)
{
    printf ("{\"by\":\"%s\",\"rows\":[", args->query.by);    /* one of s_groups, or "" */
    for (size_t i = 0; i < stats->count; i++) {
        const kh_stats_row_t *row = &stats->rows [i];
        const char *name = names ? kh_members_name (names, row->key) : NULL;
        printf ("%s{\"key\":", i ? "," : "");
        kh_json_print_str (stdout, row->key);
        if (name) {
            printf (",\"name\":");
            kh_json_print_str (stdout, name);
        }
        printf (",\"items\":%llu,\"messages\":%llu}", (unsigned long long) row->items,
                (unsigned long long) row->messages);
    }
    printf ("],\"more\":%s,\"items\":%llu,\"messages\":%llu,\"head\":%llu,\"store_bytes\":%llu",
            stats->more ? "true" : "false", (unsigned long long) stats->items,
            (unsigned long long) stats->messages, (unsigned long long) stats->head,
            (unsigned long long) stats->store_bytes);
    if (ok)
        printf (",\"broker\":{\"uptime_ms\":%llu,\"clients\":%u,\"subscribers\":%u,"
                "\"recorder\":%s,\"head\":%llu,\"published\":%llu,\"rate\":%llu,"
                "\"errors\":%llu,\"busy\":%llu,\"audit_dropped\":%llu}",
                (unsigned long long) c->uptime_ms, (unsigned) c->clients,
                (unsigned) c->subscribers, c->recorder_up ? "true" : "false",
                (unsigned long long) c->head, (unsigned long long) c->published,
                (unsigned long long) c->rate, (unsigned long long) c->errors,
                (unsigned long long) c->busy, (unsigned long long) c->audit_dropped);
    printf ("}\n");
}

int
kh_cmd_stats (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .timeout = KH_CLI_TIMEOUT };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    const kh_members_t *names = kh_cli_members (cli);
    kh_client_t *client = names ? kh_cli_client (cli) : NULL;
    if (!client)
        return KH_EXIT_USAGE;
    kh_stats_t *stats = NULL;
    kh_counters_t counters;
    rc = kh_client_stats (client, &args.query, args.timeout, &stats);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client),
                                     kh_client_link (client))
                    : KH_EXIT_OK;
    int crc = rc ? rc : kh_client_counters (client, args.timeout, &counters);
    if (rc == 0 && crc)
        fprintf (stderr, "kreishub stats: the broker's counters: %s: %s\n", kh_errname (crc),
                 kh_strerror (crc));
    if (rc == 0 && args.json)
        s_json (&args, stats, &counters, crc == 0, names);
    else
    if (rc == 0) {
        s_table (&args, stats, names);
        s_hub (stats, &counters, crc == 0);
    }
    kh_stats_destroy (&stats);
    kh_client_destroy (&client);
    return status;
}
