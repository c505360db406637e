/*  kh_cmd_log.c - `kreishub log`: the admin's view of the stored log, or with --audit
    of what the hub refused, filtered, as a table, JSON lines or CSV (chosen columns,
    or the spreadsheet kind). */
#include <limits.h>
#include <strings.h>
#include "kh_cli.h"
#include "kh_export.h"
#include "kh_merge.h"
#include "kh_progress.h"
#include "kh_suggest.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_query_t  query;                  /* bounds */
    kh_filter_t filter;                 /* types and senders */
    bool        audit;                  /* --audit: the audit, by audit_query */
    kh_audit_query_t audit_query;
    uint64_t    limit;                  /* --limit N, 0: all */
    kh_format_t format;
    const char *columns;                /* --columns, NULL: the format's own */
    bool        excel;                  /* --excel */
    int         timeout;
} s_args_t;

/* The options as given, before they are read into s_args_t. */
typedef struct {
    const char   *since, *until, *limit, *format, *timeout, *code, *columns;
    bool          audit, excel;
    kh_opt_list_t lists [3];            /* --type, --from; the end */
} s_given_t;

/* Where the rows go while the query runs. */
typedef struct {
    const s_args_t     *args;
    const kh_members_t *names;          /* for the tables and the column name */
    kh_export_t        *export;         /* csv, and json with --columns; else NULL */
    bool                header;         /* printed already */
    bool                check;          /* test each record against args->filter */
    uint64_t            rows;
    kh_progress_t       progress;
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
    const char *names [KH_ERR_COUNT_];
    for (int c = 0; c < KH_ERR_COUNT_; c++)
        names [c] = c ? kh_errname (c) : NULL;
    int best = kh_suggest_best (text, names, KH_ERR_COUNT_);
    if (best > 0)
        fprintf (stderr, "kreishub log: --code: '%s' is no error; did you mean %s?\n", text,
                 names [best]);
    else
        fprintf (stderr, "kreishub log: --code is an error's name or number (PROTOCOL.md "
                 "section 7), not '%s'\n", text);
    return -1;
}

/* Copies the bounds and filters of a log query into the audit's query: --from is the
   AGS claimed or authenticated (the hub's filter if there is one sender, else this
   program's), a position the audit's seq or the refusal's time. */
static int
s_read_audit (const s_given_t *given, s_args_t *args)
{
    kh_query_t *q = &args->query;
    kh_audit_query_t *a = &args->audit_query;
    if (args->filter.type_count) {
        fprintf (stderr, "kreishub log: --type filters the log, not the audit\n");
        return -1;
    }
    if (given->code && s_code (given->code, &a->code))
        return -1;
    a->since_seq = q->since_seq;
    a->until_seq = q->until_seq;
    a->since_at = q->since_at;
    a->until_at = q->until_at;
    snprintf (a->ags, sizeof a->ags, "%s", kh_filter_hub_sender (&args->filter));
    return 0;
}

/* Reads --format, --columns and --excel into args. Returns 0, or -1 after saying
   why. */
static int
s_read_format (const s_given_t *given, s_args_t *args)
{
    if (given->format && kh_cli_format (given->format, &args->format)) {
        fprintf (stderr, "kreishub log: --format is table, json or csv, not '%s'\n",
                 given->format);
        return -1;
    }
    if (given->excel && !given->format)
        args->format = KH_FORMAT_CSV;
    if (given->excel && args->format != KH_FORMAT_CSV) {
        fprintf (stderr, "kreishub log: --excel is a kind of csv, not of %s\n",
                 given->format);
        return -1;
    }
    if ((given->columns || given->excel) && given->audit) {
        fprintf (stderr, "kreishub log: --columns and --excel export the log, not the "
                 "audit\n");
        return -1;
    }
    if (given->columns && args->format == KH_FORMAT_TABLE) {
        fprintf (stderr, "kreishub log: --columns chooses the columns of csv and json; "
                 "give --format csv or --format json\n");
        return -1;
    }
    args->columns = given->columns;
    args->excel = given->excel;
    return 0;
}

/* Reads the options given into args. Returns 0, or -1 after saying why. */
static int
s_read (kh_cli_t *cli, const s_given_t *given, s_args_t *args)
{
    kh_query_t *q = &args->query;
    if (kh_cli_filter (cli, "kreishub log", &given->lists [0], &given->lists [1],
                       &args->filter)
    ||  (given->since && s_position (given->since, false, q))
    ||  (given->until && s_position (given->until, true, q))
    ||  kh_cli_uint ("--limit", given->limit, UINT64_MAX, &args->limit)
    ||  kh_cli_int ("--timeout", given->timeout, &args->timeout)
    ||  s_read_format (given, args))
        return -1;
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
    s_given_t given = { .lists = { { .name = "type" }, { .name = "from" }, { .name = NULL } } };
    const kh_opt_t table [] = {
        { "type", 0, "TYPE", NULL, NULL, "only this message type (idea, offer, ...);\n"
          "repeat for more" },
        { "from", 0, "WHO", NULL, NULL, "only this sender: an AGS, a name of the Kreis'\n"
          "members (Neuss, jüchen; a unique beginning will do)\nor a region prefix "
          "(0516, 05162*); repeat for more.\nWith --audit: this AGS, claimed or of the "
          "certificate" },
        { "audit", 0, NULL, NULL, &given.audit, "what the hub refused, instead of the log\n"
          "(an admin's certificate only)" },
        { "code", 0, "CODE", &given.code, NULL, "with --audit: only this error (a name\n"
          "as SENDER, or its number)" },
        { "since", 0, "SEQ|TIME", &given.since, NULL, "first position to show" },
        { "until", 0, "SEQ|TIME", &given.until, NULL, "last position to show" },
        { "limit", 'n', "N", &given.limit, NULL, "at most N records" },
        { "format", 'f', "F", &given.format, NULL,
          "table (default), json (one object per line), csv" },
        { "columns", 0, "A,B,...", &given.columns, NULL, "csv and json: these columns "
          "(seq, at, id, type,\nfrom, name, ts, title, ref, body, body.FIELD, ...)" },
        { "excel", 0, NULL, NULL, &given.excel, "csv for German Excel and LibreOffice: "
          "BOM, ';',\nCRLF, dates in Europe/Berlin (TT.MM.JJJJ HH:MM)" },
        { "timeout", 't', "MS", &given.timeout, NULL,
          "wait this long for each page (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = "kreishub log",
        .once = true, .table = table, .shared = kh_cli_shared (cli),
        .lists = given.lists,
        .about = "Prints stored records in ascending seq. A position is a seq (only digits) "
                 "or a\ntime (YYYY-MM-DD[THH:MM[:SS[.mmm]]Z], UTC) compared with the "
                 "record's commit\ntime; an --until date includes that whole day. With "
                 "--audit it prints the\naudit instead: every message and connection the "
                 "hub refused, by the audit's\nown seq or the time of the refusal. Tables "
                 "show the name next to each AGS\n(the config file's section kreis, else "
                 "the Rhein-Kreis Neuss).\n",
        .notes = "Columns: seq, at (stored), id, type, from, name, ts (published), title, "
                 "ref, prev_type,\nprev_sender, prev_pair, body (as JSON), body.FIELD "
                 "(e.g. body.hf, body.fields.title).\nIn csv a list's items are joined with "
                 "';'. A progress line shows on a terminal\nwhile a long export goes to a "
                 "file or a pipe.\n"
                 "Exit status: 0 ok, 1 usage, 2 query rejected (the audit: not an admin),\n"
                 "3 no answer.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc == KH_OPTS_GO && s_read (cli, &given, args))
        rc = kh_cli_bad (&opts);
    return rc;
}

/* Prints the header (once, before the first row or at the end). */
static void
s_header (s_output_t *out)
{
    if (out->header)
        return;
    out->header = true;
    if (out->args->audit)
        kh_cli_print_audit_header (stdout, out->args->format, out->names);
    else
    if (out->export)
        kh_export_header (out->export, stdout);
    else
        kh_cli_print_header (stdout, out->args->format, out->names);
}

/* Counts a row shown; returns non-zero once --limit rows are shown. */
static int
s_count (s_output_t *out)
{
    out->rows++;
    kh_progress_step (&out->progress, out->rows, zclock_mono ());
    return out->args->limit && out->rows >= out->args->limit;
}

/* Prints one record that the filter selects (and the header before the first). */
static int
s_row (const kh_record_t *rec, void *arg)
{
    s_output_t *out = (s_output_t *) arg;
    if (out->check && !kh_filter_match_record (&out->args->filter, rec))
        return 0;
    s_header (out);
    int rc = out->export ? kh_export_record (out->export, stdout, rec)
                         : kh_cli_print_record (stdout, out->args->format, rec, out->names);
    if (rc)
        fprintf (stderr, "kreishub log: record %llu cannot be shown\n",
                 (unsigned long long) rec->info.seq);
    return s_count (out);
}

/* Prints one audit record whose AGS the filter selects (and the header before the
   first). */
static int
s_audit_row (const kh_audit_t *rec, void *arg)
{
    s_output_t *out = (s_output_t *) arg;
    const kh_filter_t *filter = &out->args->filter;
    if (out->check && !kh_filter_match_sender (filter, rec->claimed)
    &&  !kh_filter_match_sender (filter, rec->ags))
        return 0;
    s_header (out);
    if (kh_cli_print_audit (stdout, out->args->format, rec, out->names))
        fprintf (stderr, "kreishub log: audit record %llu cannot be shown\n",
                 (unsigned long long) rec->seq);
    return s_count (out);
}

/* Runs the query (or audit query) of args into out. Returns 0 or the library's
   code. */
static int
s_run (kh_client_t *client, const s_args_t *args, s_output_t *out)
{
    const kh_filter_t *filter = &args->filter;
    if (args->audit) {
        out->check = (filter->sender_count || filter->prefix_count)
                     && !*kh_filter_hub_sender (filter);
        return kh_client_audit (client, &args->audit_query, 0, args->timeout, s_audit_row,
                                out);
    }
    kh_query_t queries [KH_FILTER_QUERIES_MAX];
    size_t count = kh_filter_queries (filter, &args->query, queries);
    out->check = true;
    return kh_merge_run (client, queries, count, args->timeout, s_row, out);
}

/* Prepares out for args: the names, the export. Returns 0, or -1 after saying
   why. */
static int
s_output (kh_cli_t *cli, const s_args_t *args, s_output_t *out)
{
    char err [256];
    out->args = args;
    out->names = kh_cli_members (cli);
    if (!out->names)
        return -1;
    bool json = args->format == KH_FORMAT_JSON;
    if (!args->audit && (args->format == KH_FORMAT_CSV || (json && args->columns))) {
        out->export = kh_export_new (args->columns, json, args->excel, out->names, err,
                                     sizeof err);
        if (!out->export) {
            fprintf (stderr, "kreishub log: %s\ntry 'kreishub log --help'\n", err);
            return -1;
        }
    }
    kh_progress_start (&out->progress, stderr, args->format != KH_FORMAT_TABLE
                       && kh_progress_wanted (), "kreishub log", zclock_mono ());
    return 0;
}

int
kh_cmd_log (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .format = KH_FORMAT_TABLE, .timeout = KH_CLI_TIMEOUT };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    s_output_t out = { NULL };
    if (s_output (cli, &args, &out))
        return KH_EXIT_USAGE;
    kh_client_t *client = kh_cli_client (cli);
    if (!client) {
        kh_export_destroy (&out.export);
        return KH_EXIT_USAGE;
    }
    rc = s_run (client, &args, &out);
    if (rc == 0)
        s_header (&out);
    kh_progress_end (&out.progress, out.rows, zclock_mono ());
    fflush (stdout);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client),
                                     kh_client_link (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    kh_export_destroy (&out.export);
    return status;
}
