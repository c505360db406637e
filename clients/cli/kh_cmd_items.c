/*  kh_cmd_items.c - `kreishub items`: the catalogue, the items as their messages left
    them, newest activity first; and `kreishub show ID`: one item, its participants
    and its whole history as a timeline. */
#include "kh_cli.h"
#include "kh_itemview.h"
#include "kh_suggest.h"

/* What the command line of items says, besides the shared options. */
typedef struct {
    kh_items_query_t query;
    uint64_t         limit;             /* -n N, 0: all */
    bool             json;
    int              timeout;
} s_args_t;

/* The options as given, before they are read. */
typedef struct {
    const char   *hf, *topic, *participant, *search, *limit, *timeout;
    bool          open, json;
    kh_opt_list_t lists [4];            /* --type, --status, --from; the end */
} s_given_t;

/* Adds the stage text to the query's stages. Returns 0, or -1 after saying why. */
static int
s_stage (kh_items_query_t *query, const char *text)
{
    const char *stages [16];
    size_t count = kh_lifecycle_count ();
    for (size_t i = 0; i < count && i < 16; i++) {
        stages [i] = kh_lifecycle_stage (i);
        if (streq (text, stages [i])) {
            for (size_t k = 0; k < query->status_count; k++)
                if (streq (query->status [k], text))
                    return 0;
            snprintf (query->status [query->status_count++], sizeof query->status [0], "%s",
                      text);
            return 0;
        }
    }
    int best = kh_suggest_best (text, stages, count < 16 ? count : 16);
    if (best >= 0)
        fprintf (stderr, "kreishub items: --status: '%s' is no stage; did you mean %s?\n",
                 text, stages [best]);
    else
        fprintf (stderr, "kreishub items: --status: '%s' is no stage (proposed, discussion, "
                 "decided, pilot, rollout, done, withdrawn)\n", text);
    return -1;
}

/* Reads the lists: --type (item types), --status, --from. Returns 0 or -1. */
static int
s_read_lists (kh_cli_t *cli, const s_given_t *given, kh_items_query_t *q)
{
    char err [600];
    const kh_opt_list_t *types = &given->lists [0], *stages = &given->lists [1],
                        *from = &given->lists [2];
    for (size_t i = 0; i < types->count; i++)
        if (kh_filter_add_type (q->type, &q->type_count, true, types->items [i], err,
                                sizeof err)) {
            fprintf (stderr, "kreishub items: --type: %s\n", err);
            return -1;
        }
    for (size_t i = 0; i < stages->count; i++)
        if (s_stage (q, stages->items [i]))
            return -1;
    const kh_members_t *members = kh_cli_members (cli);
    for (size_t i = 0; members && i < from->count; i++)
        if (kh_filter_add_sender (q->from, &q->from_count, members, from->items [i], err,
                                  sizeof err)) {
            fprintf (stderr, "kreishub items: --from: %s\n", err);
            return -1;
        }
    return members ? 0 : -1;
}

/* Copies text into out (cap bytes) if it fits in chars characters. Returns 0, or -1
   after saying why. */
static int
s_text (const char *option, const char *text, size_t chars, char *out, size_t cap)
{
    if (strlen (text) >= cap || kh_suggest_length (text) > chars) {
        fprintf (stderr, "kreishub items: %s is at most %zu characters\n", option, chars);
        return -1;
    }
    snprintf (out, cap, "%s", text);
    return 0;
}

/* Reads the options given into args. Returns 0, or -1 after saying why. */
static int
s_read (kh_cli_t *cli, const s_given_t *given, s_args_t *args)
{
    kh_items_query_t *q = &args->query;
    uint64_t hf = 0;
    char err [600];
    if (s_read_lists (cli, given, q)
    ||  (given->hf && kh_value_number ("kreishub items", "--hf", given->hf, 1, 5, &hf))
    ||  (given->topic && s_text ("--topic", given->topic, KH_TOPIC_CHARS, q->topic,
                                 sizeof q->topic))
    ||  (given->search && s_text ("--search", given->search, KH_SEARCH_MAX, q->search,
                                  sizeof q->search))
    ||  kh_cli_uint ("-n", given->limit, UINT64_MAX, &args->limit)
    ||  kh_cli_int ("--timeout", given->timeout, &args->timeout))
        return -1;
    if (given->participant && kh_filter_one_ags (kh_cli_members (cli), given->participant,
                                                 q->participant, err, sizeof err)) {
        fprintf (stderr, "kreishub items: --participant: %s\n", err);
        return -1;
    }
    q->hf = (uint32_t) hf;
    q->open = given->open;
    args->json = given->json;
    return 0;
}

/* Parses argv into args. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    s_given_t given = { .lists = { { .name = "type" }, { .name = "status" },
                                   { .name = "from" }, { .name = NULL } } };
    const kh_opt_t table [] = {
        { "open", 0, NULL, NULL, &given.open, "only items still open: neither done nor\n"
          "withdrawn, and not expired" },
        { "type", 0, "TYPE", NULL, NULL, "only this item type (idea, offer, request,\n"
          "announcement); repeat for more" },
        { "status", 0, "STAGE", NULL, NULL, "only items at this stage now; repeat for more" },
        { "hf", 0, "N", &given.hf, NULL, "only items of Handlungsfeld N (1-5)" },
        { "topic", 0, "TOPIC", &given.topic, NULL, "only items of exactly this topic" },
        { "participant", 0, "WHO", &given.participant, NULL, "only items this body (an AGS "
          "or a name) takes\npart in: joined, interested, or named as lead or\n"
          "participant" },
        { "from", 0, "WHO", NULL, NULL, "only items owned by: an AGS, a name, a region\n"
          "prefix (0516, 05162*); repeat for more" },
        { "search", 0, "WORDS", &given.search, NULL, "only items whose texts (or their "
          "messages')\nhold every word (Zwill* for a beginning)" },
        { "json", 0, NULL, NULL, &given.json, "one JSON object per item" },
        { "limit", 'n', "N", &given.limit, NULL, "at most N items" },
        { "timeout", 't', "MS", &given.timeout, NULL,
          "wait this long for each page (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub items", .once = true, .table = table,
        .shared = kh_cli_shared (cli), .lists = given.lists,
        .about = "Prints the catalogue: every item (idea, offer, request, announcement) as "
                 "its\nmessages left it, the latest activity first. Columns: SEQ (the "
                 "item's, which\nshow, respond, status, revise, withdraw and comment take as "
                 "ID), TYPE, OWNER\nwith its name, STATUS (its stage; expired after its "
                 "valid_until), HF, J/I\n(bodies that joined / are interested), LAST (the "
                 "day of its latest message,\nEurope/Berlin), TITLE.\n",
        .notes = "Exit status: 0 ok, 1 usage, 2 query rejected, 3 no answer.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc == KH_OPTS_GO && s_read (cli, &given, args))
        rc = kh_cli_bad (&opts);
    return rc;
}

/* Where the items go. */
typedef struct {
    const s_args_t     *args;
    const kh_members_t *names;
    uint64_t            rows;
    bool                failed;         /* an item could not be shown as JSON */
} s_output_t;

/* Prints one item (the header before the first). */
static int
s_row (const kh_item_t *item, void *arg)
{
    s_output_t *out = (s_output_t *) arg;
    if (out->args->json && kh_itemview_json (stdout, item, out->names))
        out->failed = true;
    if (!out->args->json && out->rows == 0)
        kh_itemview_header (stdout, out->names);
    if (!out->args->json)
        kh_itemview_row (stdout, item, out->names);
    out->rows++;
    return 0;
}

int
kh_cmd_items (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .timeout = KH_CLI_TIMEOUT };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    s_output_t out = { .args = &args, .names = kh_cli_members (cli) };
    kh_client_t *client = out.names ? kh_cli_client (cli) : NULL;
    if (!client)
        return KH_EXIT_USAGE;
    rc = kh_client_items (client, &args.query, args.limit, args.timeout, s_row, &out);
    fflush (stdout);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client),
                                     kh_client_link (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    if (status == KH_EXIT_OK && out.rows == 0 && !args.json)
        fprintf (stderr, "kreishub items: no item matches\n");
    if (out.failed)
        fprintf (stderr, "kreishub items: some items could not be shown as JSON\n");
    return status;
}

/* ------------------------------------------------------------------ show */

/* Prints one message of the item's history. */
static int
s_event (const kh_record_t *rec, void *arg)
{
    kh_itemview_timeline (stdout, rec, (const kh_members_t *) arg);
    return 0;
}

/* Prints the item id and its history through client. Returns the exit status. */
static int
s_show (kh_cli_t *cli, kh_client_t *client, const char *text, const uint8_t id [KH_ID_SIZE],
        int timeout)
{
    const kh_members_t *names = kh_cli_members (cli);
    kh_cli_item_t kept;
    int rc = kh_cli_item_fetch (client, id, timeout, &kept);
    if (rc == 0 && !kept.found) {
        fprintf (stderr, "kreishub show: there is no item %s\n", text);
        kh_cli_item_release (&kept);
        return KH_EXIT_REJECTED;
    }
    if (rc == 0) {
        kh_itemview_show (stdout, &kept.item, names);
        printf ("history (published, Europe/Berlin)\n");
        kh_query_t query = { .has_ref = true };
        memcpy (query.ref, id, KH_ID_SIZE);
        rc = kh_client_query (client, &query, 0, timeout, s_event, (void *) names);
    }
    kh_cli_item_release (&kept);
    fflush (stdout);
    return rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client),
                               kh_client_link (client))
              : KH_EXIT_OK;
}

int
kh_cmd_show (kh_cli_t *cli, int argc, char *argv [])
{
    const char *timeout_text = NULL;
    int timeout = KH_CLI_TIMEOUT, first;
    const kh_opt_t table [] = {
        { "timeout", 't', "MS", &timeout_text, NULL,
          "wait this long for each answer (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub show", .once = true, .table = table,
        .shared = kh_cli_shared (cli), .synopsis = "ID [options]",
        .about = "Shows an item: its facts (owner, status and where it may go next, "
                 "answers),\nits fields with names next to every AGS, its participants "
                 "with their state\nand since when, and its whole history: every message "
                 "about it, when it was\npublished, who sent it and what it did. ID is the "
                 "item's seq (as 'kreishub\nitems' shows it) or its id.\n",
        .notes = "Exit status: 0 ok, 1 usage, 2 no such item, 3 no answer.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, &first);
    if (rc == KH_OPTS_GO && first != argc - 1)
        rc = kh_opts_bad (&opts, first == argc ? "which item? give its seq or id"
                                               : "one item, please");
    if (rc == KH_OPTS_GO && kh_cli_int ("--timeout", timeout_text, &timeout))
        rc = kh_cli_bad (&opts);
    rc = kh_cli_parsed (cli, rc);
    if (rc != KH_CLI_GO)
        return rc;
    uint8_t id [KH_ID_SIZE];
    int status = kh_cli_item_id (cli, "kreishub show", argv [first], timeout, id);
    kh_client_t *client = status == KH_EXIT_OK ? kh_cli_client (cli) : NULL;
    if (status == KH_EXIT_OK && !client)
        status = KH_EXIT_USAGE;
    if (client)
        status = s_show (cli, client, argv [first], id, timeout);
    kh_client_destroy (&client);
    return status;
}
