/*  kh_cmd_log.c - `kreishub log`: the admin's view of the stored log, or with --audit
    of what the hub refused, filtered, as a table, JSON lines or CSV (chosen columns,
    or the spreadsheet kind). */
#include <limits.h>
#include <strings.h>
#include "kh_cli.h"
#include "kh_export.h"
#include "kh_live.h"
#include "kh_progress.h"
#include "kh_suggest.h"
#include "kh_when.h"

/* What the command line says, besides the shared options. */
typedef struct {
    kh_query_t  query;                  /* bounds, types, senders, search */
    const char *item;                   /* --item ID, as given */
    bool        follow;                 /* --follow */
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
    const char   *since, *until, *limit, *format, *timeout, *code, *columns, *search;
    bool          audit, excel, stored, utc;
    kh_opt_list_t lists [3];            /* --type, --from; the end */
} s_given_t;

/* Where the rows go while the query runs. */
typedef struct {
    const s_args_t     *args;
    const kh_members_t *names;          /* for the tables and the column name */
    kh_export_t        *export;         /* csv, and json with --columns; else NULL */
    bool                header;         /* printed already */
    bool                check;          /* test each audit record's AGS against the query */
    uint64_t            last;           /* the highest seq shown */
    uint64_t            rows;
    kh_progress_t       progress;
} s_output_t;

/* Reads a --since/--until position into the query: a seq, else a time (Berlin, or
   UTC with --utc) on the publication time, or with --stored (and for the audit) on
   the commit time. Returns 0 or -1. */
static int
s_position (const s_given_t *given, bool until, kh_query_t *query)
{
    const char *text = until ? given->until : given->since;
    uint64_t seq = 0, ms = 0;
    bool digits = strspn (text, "0123456789") == strlen (text);
    if (digits ? kh_value_uint (text, 1, UINT64_MAX, &seq)
               : kh_when_parse (text, given->utc, until, &ms)) {
        fprintf (stderr, "kreishub log: '%s' is neither a seq nor a time (2022-03-30, "
                 "30.03.2022, 30.03.2022 14:00)\n", text);
        return -1;
    }
    bool at = given->stored || given->audit;
    *(until ? &query->until_seq : &query->since_seq) = seq;
    if (ms)
        *(until ? (at ? &query->until_at : &query->until_ts)
                : (at ? &query->since_at : &query->since_ts)) = ms;
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
    if (q->type_count || *q->search || args->item || args->follow || given->stored) {
        fprintf (stderr, "kreishub log: --type, --search, --item, --follow and --stored "
                 "are for the log, not the audit\n");
        return -1;
    }
    if (given->code && s_code (given->code, &a->code))
        return -1;
    a->since_seq = q->since_seq;
    a->until_seq = q->until_seq;
    a->since_at = q->since_at;
    a->until_at = q->until_at;
    snprintf (a->ags, sizeof a->ags, "%s", kh_filter_one_sender (q));
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

/* Reads --search and checks --follow's company. Returns 0, or -1 after saying why. */
static int
s_read_search (const s_given_t *given, s_args_t *args)
{
    kh_query_t *q = &args->query;
    if (given->search && (strlen (given->search) >= sizeof q->search
                          || kh_suggest_length (given->search) > KH_SEARCH_MAX)) {
        fprintf (stderr, "kreishub log: --search is at most %d characters\n", KH_SEARCH_MAX);
        return -1;
    }
    if (given->search)
        snprintf (q->search, sizeof q->search, "%s", given->search);
    if (args->follow && (given->search || given->until)) {
        fprintf (stderr, "kreishub log: --follow goes on live, where the hub does not "
                 "search and nothing is after --until\n");
        return -1;
    }
    return 0;
}

/* Reads the options given into args. Returns 0, or -1 after saying why. */
static int
s_read (kh_cli_t *cli, const s_given_t *given, s_args_t *args)
{
    kh_query_t *q = &args->query;
    if (kh_cli_filter (cli, "kreishub log", &given->lists [0], &given->lists [1], q)
    ||  (given->since && s_position (given, false, q))
    ||  (given->until && s_position (given, true, q))
    ||  kh_cli_uint ("--limit", given->limit, UINT64_MAX, &args->limit)
    ||  kh_cli_int ("--timeout", given->timeout, &args->timeout)
    ||  s_read_format (given, args) || s_read_search (given, args))
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
        { "since", 0, "SEQ|TIME", &given.since, NULL, "first seq, or the first time "
          "published (a date\nas 2022-03-30 or 30.03.2022, a time of day after it)" },
        { "until", 0, "SEQ|TIME", &given.until, NULL, "last seq, or the last time "
          "published (a date:\nthe whole day)" },
        { "stored", 0, NULL, NULL, &given.stored, "--since/--until times are when the hub "
          "stored it" },
        { "utc", 0, NULL, NULL, &given.utc, "read times in UTC (default Europe/Berlin)" },
        { "search", 0, "WORDS", &given.search, NULL, "only messages whose texts hold every "
          "word (a word\nending in * is a beginning: Zwill*)" },
        { "item", 0, "ID", &args->item, NULL, "only this item and the messages about it\n"
          "(its seq or id)" },
        { "follow", 0, NULL, NULL, &args->follow, "after the stored records, print new ones "
          "as they\ncome, until Ctrl-C" },
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
                 "or a\ntime, in Europe/Berlin unless --utc: 2022-03-30, 30.03.2022, "
                 "30.03.2022 14:00\n(or ISO 8601 ending in Z), compared with the time the "
                 "message was published,\nor with --stored with the time the hub stored "
                 "it; an --until date includes\nthat whole day. With --audit it prints "
                 "the audit instead: every message and\nconnection the hub refused, by "
                 "the audit's own seq or the time of the refusal.\nTables show the name "
                 "next to each AGS (the config file's section kreis, else\nthe Rhein-Kreis "
                 "Neuss).\n",
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
    s_header (out);
    out->last = rec->info.seq;
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
    const kh_query_t *query = &out->args->query;
    if (out->check && !kh_query_wants_from (query, rec->claimed)
    &&  !kh_query_wants_from (query, rec->ags))
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
    const kh_query_t *query = &args->query;
    if (args->audit) {
        out->check = query->from_count && !*kh_filter_one_sender (query);
        return kh_client_audit (client, &args->audit_query, 0, args->timeout, s_audit_row,
                                out);
    }
    return kh_client_query (client, query, args->limit, args->timeout, s_row, out);
}

/* Shows a live record that the stored part has not shown and that is published
   within --since. */
static bool
s_live_row (const kh_record_t *rec, void *arg)
{
    s_output_t *out = (s_output_t *) arg;
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    bool early = kh_record_unpack (rec, &u, &pieces) == 0
                 && pieces.ts < out->args->query.since_ts;
    msgpack_unpacked_destroy (&u);
    if (rec->info.seq <= out->last || early)
        return false;
    s_row (rec, out);
    return true;
}

/* After the stored records (up to head when they were asked for), follows the log
   live from head + 1 with the query's lists and item. Returns the exit status. */
static int
s_follow (kh_cli_t *cli, const s_args_t *args, s_output_t *out, uint64_t head)
{
    kh_query_t filter = { .type_count = 0 };
    const kh_query_t *q = &args->query;
    memcpy (filter.type, q->type, sizeof q->type);
    memcpy (filter.from, q->from, sizeof q->from);
    memcpy (filter.ref, q->ref, sizeof q->ref);
    filter.type_count = q->type_count;
    filter.from_count = q->from_count;
    filter.has_ref = q->has_ref;
    uint64_t since = head + 1 > q->since_seq ? head + 1 : q->since_seq;
    kh_subscriber_t *sub = kh_cli_subscriber (cli, &filter, since);
    if (!sub)
        return KH_EXIT_USAGE;
    kh_live_t how = { .program = "kreishub log", .endpoint = kh_cli_endpoint (cli),
                        .live = kh_cli_live (cli), .timeout = -1, .show = s_live_row,
                        .arg = out, .count = args->limit ? args->limit - out->rows : 0 };
    int status = kh_live_run (sub, &how);
    kh_subscriber_destroy (&sub);
    return status;
}

/* Resolves --item into the query's ref. Returns 0, or an exit status. */
static int
s_item (kh_cli_t *cli, s_args_t *args)
{
    if (!args->item)
        return KH_EXIT_OK;
    args->query.has_ref = true;
    return kh_cli_item_id (cli, "kreishub log", args->item, args->timeout, args->query.ref);
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
    rc = s_item (cli, &args);
    s_output_t out = { NULL };
    if (rc != KH_EXIT_OK || s_output (cli, &args, &out))
        return rc != KH_EXIT_OK ? rc : KH_EXIT_USAGE;
    kh_client_t *client = kh_cli_client (cli);
    if (!client) {
        kh_export_destroy (&out.export);
        return KH_EXIT_USAGE;
    }
    uint64_t head = 0;
    rc = args.follow ? kh_client_ping (client, args.timeout, &head, NULL) : 0;
    if (rc == 0)
        rc = s_run (client, &args, &out);
    if (rc == 0)
        s_header (&out);
    fflush (stdout);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client),
                                     kh_client_link (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    if (status == KH_EXIT_OK && args.follow && (!args.limit || out.rows < args.limit))
        status = s_follow (cli, &args, &out, head);
    kh_progress_end (&out.progress, out.rows, zclock_mono ());
    kh_export_destroy (&out.export);
    return status;
}
