/*  kh_cli_args_test.c - the CLI's argument helpers: positions in the log, numbers,
    filters, endpoint resolution, option splitting for publish, exit statuses,
    output lines. */
#include "kh_check.h"
#include "kh_cli.h"

#define S_NOV3 1635897600000ULL         /* 2021-11-03T00:00:00Z in ms */


static void
s_test_numbers (void)
{
    uint64_t value = 7;
    KH_CHECK ("an option not given leaves its value", kh_cli_uint ("--limit", NULL, 10, &value)
              == 0 && value == 7, "value %llu", (unsigned long long) value);
    KH_CHECK ("a number within its bound is read", kh_cli_uint ("--limit", "10", 10, &value)
              == 0 && value == 10, "value %llu", (unsigned long long) value);
    fprintf (stderr, "(two expected messages follow)\n");
    KH_CHECK ("a number beyond its bound is refused", kh_cli_uint ("--limit", "11", 10, &value)
              == -1 && value == 10, "value %llu", (unsigned long long) value);
    int ms = -1;
    KH_CHECK ("a timeout of 0 ms is allowed", kh_cli_int ("-t", "0", &ms) == 0 && ms == 0,
              "ms %d", ms);
    KH_CHECK ("a timeout beyond INT_MAX is refused", kh_cli_int ("-t", "2147483648", &ms) == -1
              && ms == 0, "ms %d", ms);
}

/* Adds the sender text to the query's senders; returns 0 or -1, the reason in err. */
static int
s_sender (kh_query_t *query, const kh_members_t *members, const char *text, char *err)
{
    return kh_filter_add_sender (query->from, &query->from_count, members, text, err, 600);
}

/* Adds the type text to the query's types; returns 0 or -1, the reason in err. */
static int
s_type (kh_query_t *query, const char *text, char *err)
{
    return kh_filter_add_type (query->type, &query->type_count, false, text, err, 600);
}

/* --type and --from of log and subscribe: repeatable, by AGS, name or prefix, into
   the lists of one query. */
static void
s_test_filters (void)
{
    kh_problem_t why;
    kh_members_t *members = kh_members_load (NULL, &why);
    kh_query_t query = { .type_count = 0 };
    char err [600] = "";
    KH_CHECK ("types are added and a type given twice counts once",
              s_type (&query, "idea", err) == 0 && s_type (&query, "offer", err) == 0
              && s_type (&query, "idea", err) == 0 && query.type_count == 2, "%s", err);
    KH_CHECK ("a mistyped type gets did you mean", s_type (&query, "ofer", err) == -1
              && streq (err, "'ofer' is not a message type; did you mean offer?"), "%s", err);
    KH_CHECK ("a type that is nothing like one lists the types",
              s_type (&query, "memo", err) == -1
              && strstr (err, "'memo' is not a message type (idea, offer, request, "),
              "%s", err);
    char items [KH_FILTER_MAX][KH_TYPE_MAX + 1];
    size_t count = 0;
    KH_CHECK ("where items are asked for, a type of the other messages is refused",
              kh_filter_add_type (items, &count, true, "comment", err, sizeof err) == -1
              && streq (err, "'comment' is not an item type (idea, offer, request, "
                             "announcement)"), "%s", err);
    KH_CHECK ("an AGS, a name in any case and a name's beginning are senders",
              s_sender (&query, members, "05162004", err) == 0
              && s_sender (&query, members, "neuss", err) == 0
              && s_sender (&query, members, "J\xc3\xbc" "ch", err) == 0
              && s_sender (&query, members, "Rhein-Kreis", err) == 0
              && query.from_count == 4 && streq (query.from [1], "05162024")
              && streq (query.from [2], "05162012") && streq (query.from [3], "05162"),
              "%s", err);
    KH_CHECK ("several senders: no one sender", streq (kh_filter_one_sender (&query), ""),
              "'%s'", kh_filter_one_sender (&query));
    KH_CHECK ("a region prefix and a Kreis with its members are senders, as the hub "
              "takes them", s_sender (&query, members, "0516", err) == 0
              && s_sender (&query, members, "05158*", err) == 0 && query.from_count == 6
              && streq (query.from [4], "0516*") && streq (query.from [5], "05158*"), "%s",
              err);
    KH_CHECK ("the query selects what the filter names",
              kh_query_wants_type (&query, "offer") && !kh_query_wants_type (&query, "comment")
              && kh_query_wants_from (&query, "05166004")
              && !kh_query_wants_from (&query, "05370004"), "wrong");
    KH_CHECK ("a beginning of several names lists them",
              s_sender (&query, members, "k", err) == -1
              && streq (err, "'k' begins 2 names: Kaarst (05162016) or Korschenbroich "
                             "(05162020); give more of it"), "%s", err);
    KH_CHECK ("a mistyped name gets did you mean",
              s_sender (&query, members, "Nuess", err) == -1
              && streq (err, "'Nuess' is not a name of the Kreis' members; did you mean "
                             "Neuss (05162024)?"), "%s", err);
    KH_CHECK ("a name of no member says what a sender can be",
              s_sender (&query, members, "Berlin", err) == -1
              && strstr (err, "neither an AGS (8 or 5 digits), a region prefix"), "%s", err);
    KH_CHECK ("digits that are no AGS nor prefix are refused",
              s_sender (&query, members, "051620241", err) == -1
              && s_sender (&query, members, "0516x", err) == -1, "%s", err);
    kh_query_t one = { .type_count = 0 };
    s_sender (&one, members, "Kaarst", err);
    KH_CHECK ("one AGS is one sender", streq (kh_filter_one_sender (&one), "05162016"), "%s",
              kh_filter_one_sender (&one));
    char ags [KH_AGS_MAX + 1];
    KH_CHECK ("one AGS, by name", kh_filter_one_ags (members, "kaarst", ags, err,
                                                     sizeof err) == 0
              && streq (ags, "05162016"), "%s", err);
    KH_CHECK ("one AGS is not a region", kh_filter_one_ags (members, "0516*", ags, err,
                                                            sizeof err) == -1, "%s", ags);
    kh_members_destroy (&members);
}

static void
s_test_resolution (void)
{
    zconfig_t *root = zconfig_new ("root", NULL);
    zconfig_put (root, "client/endpoint", "tcp://config:1");
    zconfig_put (root, "client/from", "05162");
    unsetenv ("KREISHUB_ENDPOINT");
    unsetenv ("KREISHUB_LIVE");
    unsetenv ("KREISHUB_FROM");
    kh_cli_t cli = { .endpoint = NULL, .root = root };
    KH_CHECK ("the client endpoint comes from section client of the config",
              streq (kh_cli_endpoint (&cli), "tcp://config:1"), "got %s",
              kh_cli_endpoint (&cli));
    KH_CHECK ("the live endpoint defaults to port 7702",
              streq (kh_cli_live (&cli), KH_DEFAULT_LIVE), "got %s", kh_cli_live (&cli));
    KH_CHECK ("the sender comes from the config unless a flag says otherwise",
              streq (kh_cli_from (&cli, NULL), "05162")
              && streq (kh_cli_from (&cli, "05162004"), "05162004"), "got %s",
              kh_cli_from (&cli, NULL));
    setenv ("KREISHUB_ENDPOINT", "tcp://env:1", 1);
    KH_CHECK ("KREISHUB_ENDPOINT beats the config file",
              streq (kh_cli_endpoint (&cli), "tcp://env:1"), "got %s", kh_cli_endpoint (&cli));
    cli.endpoint = "tcp://flag:1";
    KH_CHECK ("-e beats KREISHUB_ENDPOINT", streq (kh_cli_endpoint (&cli), "tcp://flag:1"),
              "got %s", kh_cli_endpoint (&cli));
    unsetenv ("KREISHUB_ENDPOINT");
    zconfig_destroy (&root);
}

static void
s_test_split (void)
{
    const char *from = NULL, *json = NULL, *timeout = NULL;
    const kh_opt_t table [] = {
        { "from", 0, "AGS", &from, NULL, "sender" },
        { "json", 0, "FILE", &json, NULL, "body" },
        { "timeout", 't', "MS", &timeout, NULL, "wait" },
        { NULL }
    };
    kh_cli_t cli = { NULL };
    kh_opts_t opts = { .program = "kreishub publish", .table = table,
                       .shared = kh_cli_shared (&cli) };
    char *argv [] = { "publish", "idea", "--from", "05162", "--title", "--not an option",
                      "--hf=2", "--json", "-", "-t", "100", "--valid-until", "2024-01-01",
                      "-etcp://x:1", "--", "--tail", NULL };
    enum { S_ARGC = (int) (sizeof argv / sizeof argv [0]) - 1 };
    int argc = S_ARGC;
    char *kept [S_ARGC + 1], err [128] = "";
    int kept_argc = 0;
    kh_cli_field_t fields [8];
    int n = kh_cli_split (argc, argv, &opts, kept, &kept_argc, fields, 8, err, sizeof err);
    KH_CHECK ("unknown long options become body fields in order, --json among them",
              n == 4 && streq (fields [0].name, "title")
              && streq (fields [0].value, "--not an option")
              && streq (fields [1].name, "hf") && streq (fields [1].value, "2")
              && fields [2].json && streq (fields [2].value, "-")
              && streq (fields [3].name, "valid_until") && !fields [3].json,
              "n %d err '%s'", n, err);
    const char *want [] = { "publish", "idea", "--from", "05162", "-t", "100", "-etcp://x:1",
                            "--", "--tail" };
    bool same = kept_argc == 9 && kept [kept_argc] == NULL;
    for (int i = 0; same && i < 9; i++)
        same = streq (kept [i], want [i]);
    KH_CHECK ("known options with their values and everything after -- are kept for getopt",
              same, "kept %d arguments", kept_argc);
    char *dangling [] = { "publish", "idea", "--title", NULL };
    n = kh_cli_split (3, dangling, &opts, kept, &kept_argc, fields, 8, err, sizeof err);
    KH_CHECK ("a body field without a value is a usage error naming it",
              n == -1 && strstr (err, "--title"), "n %d err '%s'", n, err);
    char *many [] = { "publish", "--a", "1", "--b", "2", NULL };
    n = kh_cli_split (5, many, &opts, kept, &kept_argc, fields, 1, err, sizeof err);
    KH_CHECK ("more body fields than room is a usage error", n == -1, "n %d", n);
}

static void
s_test_exit_statuses (void)
{
    KH_CHECK ("a timeout exits 3", kh_cli_exit_status (KH_ETIMEOUT) == KH_EXIT_UNREACHABLE,
              "got %d", kh_cli_exit_status (KH_ETIMEOUT));
    KH_CHECK ("a hub without a recorder exits 3",
              kh_cli_exit_status (KH_EUNAVAILABLE) == KH_EXIT_UNREACHABLE, "got %d",
              kh_cli_exit_status (KH_EUNAVAILABLE));
    KH_CHECK ("a validation refusal by the hub exits 2",
              kh_cli_exit_status (KH_EMISSING) == KH_EXIT_REJECTED
              && kh_cli_exit_status (KH_EQUERY) == KH_EXIT_REJECTED, "got %d",
              kh_cli_exit_status (KH_EMISSING));
    KH_CHECK ("success exits 0", kh_cli_exit_status (KH_OK) == KH_EXIT_OK, "got %d",
              kh_cli_exit_status (KH_OK));
    for (int code = KH_ENOITEM; code <= KH_ECLOSED; code++)
        KH_CHECK ("a refusal for an item's state (NO_ITEM, TRANSITION, NOT_OWNER, CLOSED) "
                  "exits 2", kh_cli_exit_status (code) == KH_EXIT_REJECTED, "%s: %d",
                  kh_errname (code), kh_cli_exit_status (code));
}

/* Renders a record of title from 05162012 in format into a string (caller frees),
   with the names of members (NULL: none). */
static char *
s_render (kh_format_t format, const char *title, bool header, const kh_members_t *members)
{
    kh_builder_t *builder = kh_builder_new ("idea");
    kh_problem_t why;
    kh_builder_set (builder, "title", title, &why);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    kh_builder_pack (builder, id, "05162012", S_NOV3, &env, &why);
    kh_record_t rec = { .info = { .seq = 42, .at = S_NOV3 }, .msg = (uint8_t *) env.data,
                        .msg_size = env.size };
    char *text = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&text, &size);
    if (header)
        kh_cli_print_header (file, format, members);
    kh_cli_print_record (file, format, &rec, members);
    fclose (file);
    msgpack_sbuffer_destroy (&env);
    kh_builder_destroy (&builder);
    return text;
}

static void
s_test_output (void)
{
    kh_format_t format;
    KH_CHECK ("csv is a format", kh_cli_format ("csv", &format) == 0 && format == KH_FORMAT_CSV,
              "refused");
    KH_CHECK ("xml is not a format", kh_cli_format ("xml", &format) == -1, "accepted");
    KH_CHECK ("a format's name is read in any case, as every choice is",
              kh_cli_format ("JSON", &format) == 0 && format == KH_FORMAT_JSON, "refused");
    char *text = s_render (KH_FORMAT_TABLE, "Gemeinsame Bauhof-Software", true, NULL);
    KH_CHECK ("a table row shows seq, publication time in Berlin, type (as wide as 'announcement'), sender and "
              "title on one line",
              text && strstr (text, "SEQ") && strstr (text, "TITLE")
              && strstr (text, "      42  03.11.2021 01:00  idea          05162012  "
                               "Gemeinsame Bauhof-Software\n"),
              "got '%s'", text ? text : "NULL");
    free (text);
    kh_problem_t why;
    kh_members_t *members = kh_members_load (NULL, &why);
    text = s_render (KH_FORMAT_TABLE, "Bauhof", true, members);
    KH_CHECK ("with names the sender's name stands next to its AGS, the column as wide "
              "as the longest name (in characters, not bytes)",
              text && strstr (text, "TYPE          FROM                        TITLE\n")
              && strstr (text, "idea          05162012 J\xc3\xbc" "chen             Bauhof\n"),
              "got '%s'", text ? text : "NULL");
    free (text);
    kh_members_destroy (&members);
    text = s_render (KH_FORMAT_JSON, "Open Data", false, NULL);
    KH_CHECK ("a JSON line is one object with the seq", text && text [0] == '{'
              && strstr (text, "\"seq\":42") && strchr (text, '\n') == text + strlen (text) - 1,
              "got '%s'", text ? text : "NULL");
    free (text);
    text = s_render (KH_FORMAT_CSV, "a, \"quoted\" title", true, NULL);
    KH_CHECK ("CSV has a header and quotes a title with commas and quotes",
              text && strstr (text, "seq,") == text && strstr (text, "\"a, \"\"quoted\"\" title\""),
              "got '%s'", text ? text : "NULL");
    free (text);
}

int
main (void)
{
    s_test_numbers ();
    s_test_filters ();
    s_test_resolution ();
    s_test_split ();
    s_test_exit_statuses ();
    s_test_output ();
    return kh_check_done ("cli_args_test");
}
