/*  kh_cmd_log.c - `kreishub log`: the admin's view of the stored log, or with --audit
    of what the hub refused, filtered, as a table, JSON lines or CSV. */
#include <limits.h>
#include <strings.h>
#include "kh_cli.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_query_t  query;                  /* filter and bounds */
    bool        audit;                  /* --audit: the audit, by audit_query */
    kh_audit_query_t audit_query;
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
    const char *type, *from, *since, *until, *limit, *format, *timeout, *code;
    bool        audit;
} s_given_t;

/* Reads --code (an error's name, any case, or its number) into *code. Returns 0, or
   -1 after saying why. */
static int
s_code (const char *text, int *code)
{
    uint64_t number;
    for (int c = 1; c < KH_ERR_COUNT_; c++)
        if (strcasecmp (text, kh_errname (c)) == 0) {
            *code = c;
            return 0;
        }
    if (kh_uint_parse (text, KH_ERR_COUNT_ - 1, &number) == 0 && number > 0) {
        *code = (int) number;
        return 0;
    }
    fprintf (stderr, "kreishub log: --code is an error's name or number (PROTOCOL.md "
             "section 7), not '%s'\n", text);
    return -1;
}

/* Copies the bounds and filters of a log query into the audit's query: --from is the
   AGS claimed or authenticated, a position the audit's seq or the refusal's time. */
static int
s_read_audit (const s_given_t *given, s_args_t *args)
{
    kh_query_t *q = &args->query;
    kh_audit_query_t *a = &args->audit_query;
    if (given->type) {
        fprintf (stderr, "kreishub log: --type filters the log, not the audit\n");
        return -1;
    }
    if (given->code && s_code (given->code, &a->code))
        return -1;
    a->since_seq = q->since_seq;
    a->until_seq = q->until_seq;
    a->since_at = q->since_at;
    a->until_at = q->until_at;
    snprintf (a->ags, sizeof a->ags, "%s", q->from);
    return 0;
}

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
    if (given->code && !given->audit) {
        fprintf (stderr, "kreishub log: --code filters the audit (--audit)\n");
        return -1;
    }
    args->audit = given->audit;
    return given->audit ? s_read_audit (given, args) : 0;
}

/* Parses argv into args. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    s_given_t given = { NULL };
    const kh_opt_t table [] = {
        { "type", 0, "TYPE", &given.type, NULL, "only this message type (idea, offer)" },
        { "from", 0, "AGS", &given.from, NULL, "only this sender (with --audit: this AGS,\n"
          "claimed or of the certificate)" },
        { "audit", 0, NULL, NULL, &given.audit, "what the hub refused, instead of the log\n"
          "(an admin's certificate only)" },
        { "code", 0, "CODE", &given.code, NULL, "with --audit: only this error (a name\n"
          "as SENDER, or its number)" },
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
                 "record's commit\ntime; an --until date includes that whole day. With "
                 "--audit it prints the\naudit instead: every message and connection the "
                 "hub refused, by the audit's\nown seq or the time of the refusal.\n",
        .notes = "Exit status: 0 ok, 1 usage, 2 query rejected (the audit: not an admin),\n"
                 "3 no answer.\n"
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

/* Prints one audit record (and the header before the first). */
static int
s_audit_row (const kh_audit_t *rec, void *arg)
{
    s_output_t *out = (s_output_t *) arg;
    if (!out->header) {
        kh_cli_print_audit_header (stdout, out->format);
        out->header = true;
    }
    if (kh_cli_print_audit (stdout, out->format, rec))
        fprintf (stderr, "kreishub log: audit record %llu cannot be shown\n",
                 (unsigned long long) rec->seq);
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
    if (args.audit)
        rc = kh_client_audit (client, &args.audit_query, args.limit, args.timeout,
                              s_audit_row, &out);
    else
        rc = kh_client_query (client, &args.query, args.limit, args.timeout, s_row, &out);
    if (rc == 0 && !out.header)
        (args.audit ? kh_cli_print_audit_header : kh_cli_print_header) (stdout, out.format);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    return status;
}
