/*  kh_cmd_subscribe.c - `kreishub subscribe`: follow records live, optionally from a
    seq in the store on, and print each as it comes. */
#include <limits.h>
#include "kh_cli.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_filter_t filter;                 /* --type and --from */
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

/* True for a refusal that passes: the store is restarting or busy. */
static bool
s_transient (int code)
{
    return code == KH_EUNAVAILABLE || code == KH_ESTORE;
}

/* Waits out a transient refusal of the store, saying so once per streak. Returns
   true to try again, false if --timeout passed since the last record. */
static bool
s_wait_store (const s_args_t *args, int64_t since, bool *warned, int code)
{
    if (!*warned)
        fprintf (stderr, "kreishub subscribe: %s: %s; trying again\n", kh_errname (code),
                 kh_strerror (code));
    *warned = true;
    if (args->timeout >= 0 && zclock_mono () - since > args->timeout)
        return false;
    zclock_sleep (200);
    return !zsys_interrupted;
}

#define S_SLICE          250            /* ms between looks at the connection */
#define S_NO_HUB_AFTER   1000           /* ms without a connection before saying so */

/* What subscribe has told of the live connection. */
typedef struct {
    const char *live;                   /* the live endpoint */
    kh_link_t   told;                   /* the state last told (NONE: none yet) */
    bool        missed;                 /* said that the hub cannot be reached */
    int64_t     start;                  /* zclock_mono when following began */
} s_link_t;

/* Says on stderr when the live connection changed since it was last told: the hub
   cannot be reached (after S_NO_HUB_AFTER ms without a connection), is reached,
   went away, is back, or refused the connection. */
static void
s_tell_link (kh_subscriber_t *sub, s_link_t *state)
{
    kh_link_t link = kh_subscriber_link (sub);
    const char *live = state->live;
    if (link == KH_LINK_NONE && !state->missed
    &&  zclock_mono () - state->start >= S_NO_HUB_AFTER) {
        fprintf (stderr, "kreishub subscribe: cannot reach the hub at %s; trying on\n", live);
        state->missed = true;
    }
    if (link == state->told || link == KH_LINK_NONE)
        return;
    if (link == KH_LINK_UP && state->told == KH_LINK_LOST)
        fprintf (stderr, "kreishub subscribe: the hub at %s is back\n", live);
    else
    if (link == KH_LINK_UP && (state->missed || state->told == KH_LINK_REFUSED))
        fprintf (stderr, "kreishub subscribe: connected to the hub at %s\n", live);
    else
    if (link == KH_LINK_LOST)
        fprintf (stderr, "kreishub subscribe: the hub at %s went away; waiting for it to "
                 "come back\n", live);
    else
    if (link == KH_LINK_REFUSED)
        fprintf (stderr, "kreishub subscribe: the hub at %s refused the connection: it does "
                 "not admit this certificate, or it is not the hub of the server "
                 "certificate given; trying on\n", live);
    state->told = link;
}

/* How long the next wait may take: what is left of --timeout since the last
   record shown at shown_at (-1: for ever), at most S_SLICE. */
static int
s_slice (const s_args_t *args, int64_t shown_at)
{
    if (args->timeout < 0)
        return S_SLICE;
    int64_t left = shown_at + args->timeout - zclock_mono ();
    return left <= 0 ? 0 : left < S_SLICE ? (int) left : S_SLICE;
}

/* True once --timeout has passed since shown_at. */
static bool
s_timed_out (const s_args_t *args, int64_t shown_at)
{
    return args->timeout >= 0 && zclock_mono () - shown_at >= args->timeout;
}

/* Prints records until count, timeout, interrupt or failure, and tells how the
   live connection fares. Returns the exit status. */
static int
s_follow (kh_subscriber_t *sub, const s_args_t *args, const char *endpoint,
          s_link_t *link)
{
    kh_format_t format = args->json ? KH_FORMAT_JSON : KH_FORMAT_TABLE;
    uint64_t shown = 0;
    int64_t shown_at = zclock_mono ();
    bool warned = false;
    while (!args->count || shown < args->count) {
        kh_record_t rec;
        int rc = kh_subscriber_next (sub, s_slice (args, shown_at), &rec);
        s_tell_link (sub, link);
        if (rc == KH_ETIMEOUT && !zsys_interrupted && !s_timed_out (args, shown_at))
            continue;
        if (rc == KH_ETIMEOUT) {
            if (zsys_interrupted || !args->count)
                return KH_EXIT_OK;
            fprintf (stderr, "kreishub subscribe: no record for %d ms (%llu of %llu shown)\n",
                     args->timeout, (unsigned long long) shown,
                     (unsigned long long) args->count);
            return KH_EXIT_UNREACHABLE;
        }
        if (s_transient (rc) && s_wait_store (args, shown_at, &warned, rc))
            continue;
        if (rc)
            return zsys_interrupted ? KH_EXIT_OK
                                    : kh_cli_report (endpoint, rc, NULL, KH_LINK_UNKNOWN);
        warned = false;
        if (!kh_filter_match_record (&args->filter, &rec))
            continue;                   /* the hub filters by one type and sender */
        if (kh_cli_print_record (stdout, format, &rec, args->names))
            fprintf (stderr, "kreishub subscribe: record %llu cannot be shown\n",
                     (unsigned long long) rec.info.seq);
        fflush (stdout);
        shown++;
        shown_at = zclock_mono ();
    }
    return KH_EXIT_OK;
}

int
kh_cmd_subscribe (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .timeout = -1 };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    const char *endpoint = kh_cli_endpoint (cli);
    kh_subscriber_t *sub = kh_cli_subscriber (cli, kh_filter_hub_type (&args.filter),
                                              kh_filter_hub_sender (&args.filter),
                                              args.since);
    if (!sub)
        return KH_EXIT_USAGE;
    if (args.timeout >= 0)              /* a store query may not take longer either */
        kh_subscriber_set_query_timeout (sub, args.timeout > 0 ? args.timeout : 1);
    s_link_t link = { .live = kh_cli_live (cli), .told = KH_LINK_NONE,
                      .start = zclock_mono () };
    rc = s_follow (sub, &args, endpoint, &link);
    uint64_t gaps, filled;
    kh_subscriber_stats (sub, &gaps, &filled);
    if (gaps)
        fprintf (stderr, "kreishub subscribe: %llu gap%s detected, %llu record%s filled "
                 "from the store\n", (unsigned long long) gaps, gaps == 1 ? "" : "s",
                 (unsigned long long) filled, filled == 1 ? "" : "s");
    kh_subscriber_destroy (&sub);
    return rc;
}
