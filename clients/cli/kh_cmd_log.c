/*  kh_cmd_log.c - `kreishub log`: the admin's view of the stored log, filtered, as a
    table, JSON lines or CSV. */
#include <limits.h>
#include "kh_cli.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_query_t  query;                  /* filter and bounds */
    uint64_t    limit;                  /* --limit N, 0: all */
    kh_format_t format;
    int         timeout;
} s_args_t;

/* Where the rows go while the query runs. */
typedef struct {
    kh_format_t format;
    bool        header;                 /* printed already */
    uint64_t    rows;
} s_output_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub log [options]\n"
        "Prints stored records in ascending seq. A position is a seq (only digits) or a\n"
        "time (YYYY-MM-DD[THH:MM[:SS[.mmm]]Z], UTC) compared with the record's commit\n"
        "time; an --until date includes that whole day.\n"
        "      --type TYPE      only this message type (idea, offer)\n"
        "      --from AGS       only this sender\n"
        "      --since SEQ|TIME first position to show\n"
        "      --until SEQ|TIME last position to show\n"
        "  -n, --limit N        at most N records\n"
        "  -f, --format F       table (default), json (one object per line), csv\n"
        "  -t, --timeout MS     wait this long for each page (default %d)\n"
        KH_CLI_COMMON_USAGE
        "Exit status: 0 ok, 1 usage, 2 query rejected, 3 no answer.\n", KH_CLI_TIMEOUT);
}

/* Reads a --since/--until position into the query. Returns 0 or -1. */
static int
s_position (const char *text, bool until, kh_query_t *query)
{
    uint64_t seq, at;
    if (kh_cli_seq_or_time (text, until, &seq, &at)) {
        fprintf (stderr, "kreishub log: '%s' is neither a seq nor a time\n", text);
        return -1;
    }
    *(until ? &query->until_seq : &query->since_seq) = seq;
    *(until ? &query->until_at : &query->since_at) = at;
    return 0;
}

/* Copies a --type or --from filter into buf after checking it. Returns 0 or -1. */
static int
s_filter (const char *what, const char *text, char *buf, size_t cap)
{
    bool ok = streq (what, "type") ? kh_schema_type_known (text)
                                   : kh_ags_valid (text, strlen (text));
    if (!ok || strlen (text) >= cap) {
        fprintf (stderr, "kreishub log: '%s' is not %s\n", text,
                 streq (what, "type") ? "a message type" : "an AGS (8 or 5 digits)");
        return -1;
    }
    memcpy (buf, text, strlen (text) + 1);
    return 0;
}

/* Parses argv into args. Returns 0, 1 if help was asked for, -1 on bad usage. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    enum { O_TYPE = 256, O_FROM, O_SINCE, O_UNTIL };
    static const struct option options [] = {
        KH_CLI_COMMON_OPTIONS,
        { "type",    required_argument, NULL, O_TYPE },
        { "from",    required_argument, NULL, O_FROM },
        { "since",   required_argument, NULL, O_SINCE },
        { "until",   required_argument, NULL, O_UNTIL },
        { "limit",   required_argument, NULL, 'n' },
        { "format",  required_argument, NULL, 'f' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };
    kh_query_t *q = &args->query;
    int opt, rc = 0;
    while (rc == 0
       && (opt = getopt_long (argc, argv, KH_CLI_COMMON_SHORT "n:f:t:", options, NULL)) != -1) {
        switch (opt) {
            case 'h':     return 1;
            case O_TYPE:  rc = s_filter ("type", optarg, q->type, sizeof q->type); break;
            case O_FROM:  rc = s_filter ("from", optarg, q->from, sizeof q->from); break;
            case O_SINCE: rc = s_position (optarg, false, q); break;
            case O_UNTIL: rc = s_position (optarg, true, q); break;
            case 'n':     rc = kh_cli_uint (optarg, UINT64_MAX, &args->limit); break;
            case 'f':     rc = kh_cli_format (optarg, &args->format); break;
            case 't':     rc = kh_cli_ms (optarg, &args->timeout); break;
            default:      rc = kh_cli_common_option (cli, opt, optarg) ? 0 : -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf (stderr, "kreishub log: unexpected argument '%s'\n", argv [optind]);
        rc = -1;
    }
    return rc;
}

/* Prints one row (and the header before the first). */
static int
s_row (const kh_record_t *rec, void *arg)
{
    s_output_t *out = (s_output_t *) arg;
    if (!out->header) {
        kh_cli_print_header (stdout, out->format);
        out->header = true;
    }
    if (kh_cli_print_record (stdout, out->format, rec))
        fprintf (stderr, "kreishub log: record %llu cannot be shown\n",
                 (unsigned long long) rec->info.seq);
    out->rows++;
    return 0;
}

int
kh_cmd_log (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .format = KH_FORMAT_TABLE, .timeout = KH_CLI_TIMEOUT };
    int rc = s_parse (cli, argc, argv, &args);
    if (rc) {
        s_usage (rc > 0 ? stdout : stderr);
        return rc > 0 ? KH_EXIT_OK : KH_EXIT_USAGE;
    }
    if (kh_cli_load_config (cli))
        return KH_EXIT_USAGE;
    const char *endpoint = kh_cli_endpoint (cli);
    kh_client_t *client = kh_client_new (endpoint);
    if (!client) {
        fprintf (stderr, "kreishub: not a valid endpoint: %s\n", endpoint);
        return KH_EXIT_USAGE;
    }
    s_output_t out = { .format = args.format };
    rc = kh_client_query (client, &args.query, args.limit, args.timeout, s_row, &out);
    if (rc == 0 && !out.header)
        kh_cli_print_header (stdout, out.format);
    int status = rc ? kh_cli_report (endpoint, rc, kh_client_last_error (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    return status;
}
