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

/* The options as given, before they are read into s_args_t. */
typedef struct {
    const char *type, *from, *since, *until, *limit, *format, *timeout;
} s_given_t;

/* Reads the options given into args. Returns 0, or -1 after saying why. */
static int
s_read (const s_given_t *given, s_args_t *args)
{
    kh_query_t *q = &args->query;
    if (kh_cli_filters ("kreishub log", given->type, given->from)
    ||  (given->since && s_position (given->since, false, q))
    ||  (given->until && s_position (given->until, true, q))
    ||  kh_cli_uint ("--limit", given->limit, UINT64_MAX, &args->limit)
    ||  kh_cli_int ("--timeout", given->timeout, &args->timeout))
        return -1;
    /* a known type and an AGS fit their fields */
    snprintf (q->type, sizeof q->type, "%s", given->type ? given->type : "");
    snprintf (q->from, sizeof q->from, "%s", given->from ? given->from : "");
    if (given->format && kh_cli_format (given->format, &args->format)) {
        fprintf (stderr, "kreishub log: --format is table, json or csv, not '%s'\n",
                 given->format);
        return -1;
    }
    return 0;
}

/* Parses argv into args. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    s_given_t given = { NULL };
    const kh_opt_t table [] = {
        { "type", 0, "TYPE", &given.type, NULL, "only this message type (idea, offer)" },
        { "from", 0, "AGS", &given.from, NULL, "only this sender" },
        { "since", 0, "SEQ|TIME", &given.since, NULL, "first position to show" },
        { "until", 0, "SEQ|TIME", &given.until, NULL, "last position to show" },
        { "limit", 'n', "N", &given.limit, NULL, "at most N records" },
        { "format", 'f', "F", &given.format, NULL,
          "table (default), json (one object per line), csv" },
        { "timeout", 't', "MS", &given.timeout, NULL,
          "wait this long for each page (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub log", .table = table, .shared = kh_cli_shared (cli),
        .about = "Prints stored records in ascending seq. A position is a seq (only digits) "
                 "or a\ntime (YYYY-MM-DD[THH:MM[:SS[.mmm]]Z], UTC) compared with the "
                 "record's commit\ntime; an --until date includes that whole day.\n",
        .notes = "Exit status: 0 ok, 1 usage, 2 query rejected, 3 no answer.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc == KH_OPTS_GO && s_read (&given, args))
        rc = kh_cli_bad (&opts);
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
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    kh_client_t *client = kh_cli_client (cli);
    if (!client)
        return KH_EXIT_USAGE;
    s_output_t out = { .format = args.format };
    rc = kh_client_query (client, &args.query, args.limit, args.timeout, s_row, &out);
    if (rc == 0 && !out.header)
        kh_cli_print_header (stdout, out.format);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    return status;
}
