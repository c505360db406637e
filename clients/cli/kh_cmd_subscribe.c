/*  kh_cmd_subscribe.c - `kreishub subscribe`: follow records live, optionally from a
    seq in the store on, and print each as it comes; by types, senders, a region and
    one item (the hub and the subscriber filter, PROTOCOL.md section 6), and by what
    the items are about (kh_follow.h); resuming where it stopped with --state. */
#include <limits.h>
#include "kh_cli.h"
#include "kh_follow.h"
#include "kh_live.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_query_t  filter;                 /* --type, --from and --item */
    kh_follow_spec_t about;             /* --hf, --topic, --keyword, --participant */
    const kh_members_t *names;          /* names next to the AGS */
    uint64_t    since;                  /* --since SEQ, 0: live only */
    bool        since_given;
    uint64_t    count;                  /* --count N, 0: no end */
    bool        json;                   /* --json: one object per line */
    int         timeout;                /* --timeout MS, -1: for ever */
    const char *item;                   /* --item ID, as given */
    const char *state;                  /* --state FILE */
    /* while following */
    kh_follow_t *follow;                /* judges by what items are about, or NULL */
    kh_client_t *client;                /*   and asks the catalogue through this */
    uint64_t    last;                   /* the last record delivered, for --state */
    bool        state_failed;           /* said once that the state cannot be written */
} s_args_t;

/* Reads the follow attributes into args->about. Returns 0, or -1 after saying why. */
static int
s_read_about (kh_cli_t *cli, const char *hf, const char *topic, const char *keyword,
              const char *participant, s_args_t *args)
{
    uint64_t n = 0;
    char err [600];
    if (hf && kh_value_number ("kreishub subscribe", "--hf", hf, 1, 5, &n))
        return -1;
    args->about.hf = (uint32_t) n;
    bool long_topic = topic && strlen (topic) >= sizeof args->about.topic;
    if (long_topic || (keyword && strlen (keyword) >= sizeof args->about.keyword)) {
        fprintf (stderr, "kreishub subscribe: --%s: too long\n",
                 long_topic ? "topic" : "keyword");
        return -1;
    }
    snprintf (args->about.topic, sizeof args->about.topic, "%s", topic ? topic : "");
    snprintf (args->about.keyword, sizeof args->about.keyword, "%s", keyword ? keyword : "");
    if (participant && kh_filter_one_ags (kh_cli_members (cli), participant,
                                          args->about.participant, err, sizeof err)) {
        fprintf (stderr, "kreishub subscribe: --participant: %s\n", err);
        return -1;
    }
    return 0;
}

/* Parses argv into args. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    const char *since = NULL, *count = NULL, *timeout = NULL;
    const char *hf = NULL, *topic = NULL, *keyword = NULL, *participant = NULL;
    kh_opt_list_t lists [] = { { .name = "type" }, { .name = "from" }, { .name = NULL } };
    const kh_opt_t table [] = {
        { "type", 0, "TYPE", NULL, NULL, "only this message type (idea, offer, ...);\n"
          "repeat for more" },
        { "from", 0, "WHO", NULL, NULL, "only this sender: an AGS, a name of the Kreis'\n"
          "members (Neuss, jüchen; a unique beginning will do)\nor a region prefix "
          "(0516, 05162*); repeat for more" },
        { "item", 0, "ID", &args->item, NULL, "only this item and every message about it\n"
          "(its id, or its seq as `kreishub items` shows it)" },
        { "hf", 0, "N", &hf, NULL, "only items of Handlungsfeld N (1-5) and the messages\n"
          "about them" },
        { "topic", 0, "TOPIC", &topic, NULL, "only items of this topic and the messages\n"
          "about them" },
        { "keyword", 0, "WORD", &keyword, NULL, "only items with this keyword and the\n"
          "messages about them" },
        { "participant", 0, "WHO", &participant, NULL, "only what concerns this body (an AGS "
          "or a name):\nits items, items naming it, items it joined or is\ninterested in, "
          "and its own messages" },
        { "since", 0, "SEQ", &since, NULL,
          "catch up from this seq on first (default: live only)" },
        { "state", 0, "FILE", &args->state, NULL, "remember the last record in FILE and, "
          "when started\nagain, go on after it (without a gap or a repeat)" },
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
     ||  s_read_about (cli, hf, topic, keyword, participant, args)
     ||  !(args->names = kh_cli_members (cli))))
        rc = kh_cli_bad (&opts);
    args->since_given = since != NULL;
    return rc;
}

/* ------------------------------------------------------------------ --state */

/* Reads the last seq from the state file path into *last (0 if there is none yet).
   Returns 0, or -1 after saying why (unreadable, or not a state file). */
static int
s_state_read (const char *path, uint64_t *last)
{
    *last = 0;
    FILE *file = fopen (path, "r");
    if (!file)
        return errno == ENOENT ? 0 : (fprintf (stderr, "kreishub subscribe: --state %s: "
                                               "%s\n", path, strerror (errno)), -1);
    char line [64] = "";
    bool read = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    line [strcspn (line, "\n")] = 0;
    if (!read || kh_uint_parse (line, UINT64_MAX, last)) {
        fprintf (stderr, "kreishub subscribe: --state %s: not a state file (it holds the "
                 "seq of the last record shown, one number)\n", path);
        return -1;
    }
    return 0;
}

/* Writes last into the state file path: a new file renamed over the old one, so
   that the file always holds a whole number. Returns 0 or -1 (errno set). */
static int
s_state_write (const char *path, uint64_t last)
{
    char tmp [PATH_MAX];
    if (snprintf (tmp, sizeof tmp, "%s.tmp", path) >= (int) sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *file = fopen (tmp, "w");
    if (!file)
        return -1;
    int rc = fprintf (file, "%llu\n", (unsigned long long) last) < 0 ? -1 : 0;
    if (fclose (file) || rc || rename (tmp, path)) {
        int saved = errno;
        remove (tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- following */

/* The follower's question to the hub: the item id as the catalogue has it. */
static int
s_lookup (void *arg, const uint8_t id [KH_ID_SIZE], kh_follow_item_t *item)
{
    s_args_t *args = (s_args_t *) arg;
    kh_cli_item_t kept;
    int rc = kh_cli_item_fetch (args->client, id, args->timeout >= 0 ? args->timeout : 5000,
                                &kept);
    if (rc == 0 && !kept.found)
        rc = KH_ENOITEM;
    if (rc == 0 && kh_follow_item_from (&kept.item, item))
        rc = KH_EMALFORMED;
    kh_cli_item_release (&kept);
    return rc;
}

/* True if rec is to be shown by what the items are about (always without
   --hf/--topic/--keyword/--participant). A record that cannot be judged (the
   catalogue did not answer) is shown, with a word on stderr: rather once too often
   than lost. */
static bool
s_wanted (s_args_t *args, const kh_record_t *rec)
{
    if (!args->follow)
        return true;
    bool wanted = false;
    int rc = kh_follow_judge (args->follow, rec, &wanted);
    if (rc)
        fprintf (stderr, "kreishub subscribe: record %llu shown unjudged: its item could not "
                 "be read (%s)\n", (unsigned long long) rec->info.seq, kh_errname (rc));
    return rc || wanted;
}

/* Prints one record if it is wanted, then remembers it in --state (after the print
   is flushed: a record is never remembered unshown). */
static bool
s_show (const kh_record_t *rec, void *arg)
{
    s_args_t *args = (s_args_t *) arg;
    bool wanted = s_wanted (args, rec);
    if (wanted) {
        kh_format_t format = args->json ? KH_FORMAT_JSON : KH_FORMAT_TABLE;
        if (kh_cli_print_record (stdout, format, rec, args->names))
            fprintf (stderr, "kreishub subscribe: record %llu cannot be shown\n",
                     (unsigned long long) rec->info.seq);
        fflush (stdout);
    }
    args->last = rec->info.seq;
    if (args->state && s_state_write (args->state, args->last) && !args->state_failed) {
        fprintf (stderr, "kreishub subscribe: --state %s: %s\n", args->state,
                 strerror (errno));
        args->state_failed = true;
    }
    return wanted;
}

/* Sets up what following needs beyond the subscriber: --item's id, --state's
   starting point, the follower. Returns KH_EXIT_OK or the exit status. */
static int
s_prepare (kh_cli_t *cli, s_args_t *args)
{
    if (args->item) {
        int rc = kh_cli_item_id (cli, "kreishub subscribe", args->item,
                                 args->timeout >= 0 ? args->timeout : 5000, args->filter.ref);
        if (rc != KH_EXIT_OK)
            return rc;
        args->filter.has_ref = true;
    }
    if (args->state) {
        uint64_t last;
        if (s_state_read (args->state, &last))
            return KH_EXIT_USAGE;
        if (last && args->since_given) {
            fprintf (stderr, "kreishub subscribe: --since and a --state file that holds "
                     "seq %llu: give one of them\n", (unsigned long long) last);
            return KH_EXIT_USAGE;
        }
        if (last)
            args->since = last + 1;
    }
    if (kh_follow_spec_active (&args->about)) {
        args->client = kh_cli_client (cli);
        if (!args->client)
            return KH_EXIT_USAGE;
        args->follow = kh_follow_new (&args->about, s_lookup, args);
        if (!args->follow)
            return kh_cli_report (kh_cli_endpoint (cli), KH_ENOMEM, NULL, KH_LINK_UNKNOWN);
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
    rc = s_prepare (cli, &args);
    kh_subscriber_t *sub = rc == KH_EXIT_OK ? kh_cli_subscriber (cli, &args.filter, args.since)
                                            : NULL;
    if (!sub) {
        kh_follow_destroy (&args.follow);
        kh_client_destroy (&args.client);
        return rc == KH_EXIT_OK ? KH_EXIT_USAGE : rc;
    }
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
    kh_follow_destroy (&args.follow);
    kh_client_destroy (&args.client);
    return rc;
}
