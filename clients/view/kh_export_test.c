/*  kh_export_test.c - export rows: chosen columns in CSV and JSON Lines, the
    spreadsheet kind of CSV (BOM, ';', CRLF, quoted texts, Berlin dates, guards),
    refused columns with did you mean, Europe/Berlin times, the progress line. */
#include "kh_check.h"
#include "kh_json.h"
#include "kh_export.h"
#include "kh_when.h"
#include "kh_progress.h"

#define S_NOV3 1635897600000ULL         /* 2021-11-03T00:00:00Z in ms */
#define S_ID   "017ce42a-3800-7001-8000-00000000002a"

/* A record to export: its envelope's bytes and the record over them. */
typedef struct {
    msgpack_sbuffer env;
    kh_record_t     rec;
} s_record_t;

/* Builds an idea from from with the body fields (pairs name, value; NULL ends). */
static void
s_record (s_record_t *self, const char *from, const char *const *fields)
{
    kh_builder_t *builder = kh_builder_new ("idea");
    kh_problem_t why;
    for (size_t i = 0; fields [i]; i += 2)
        kh_builder_set (builder, fields [i], fields [i + 1], &why);
    uint8_t id [KH_ID_SIZE];
    kh_id_parse (S_ID, id);
    msgpack_sbuffer_init (&self->env);
    int rc = kh_builder_pack (builder, id, from, S_NOV3, &self->env, &why);
    KH_CHECK ("the test's record is built", rc == 0, "%s", why.reason);
    self->rec = (kh_record_t) { .info = { .seq = 42, .at = S_NOV3 + 61000, .prev_type = 7 },
                                .msg = (uint8_t *) self->env.data,
                                .msg_size = self->env.size };
    kh_builder_destroy (&builder);
}

/* Exports rec with columns (NULL: the default) into a string (caller frees), the
   header first if header; NULL if the export refuses the columns (why in err). */
static char *
s_export (const kh_record_t *rec, const char *columns, bool json, bool excel, bool header,
          char *err, size_t cap)
{
    kh_problem_t why;
    kh_members_t *names = kh_members_load (NULL, &why);
    kh_export_t *export = kh_export_new (columns, json, excel, names, err, cap);
    char *text = NULL;
    size_t size = 0;
    if (export) {
        FILE *file = open_memstream (&text, &size);
        if (header)
            kh_export_header (export, file);
        if (kh_export_record (export, file, rec))
            fputs ("(failed)", file);
        fclose (file);
    }
    kh_export_destroy (&export);
    kh_members_destroy (&names);
    return text;
}

static void
s_test_csv (void)
{
    s_record_t r;
    s_record (&r, "05162012", (const char *const []) {
        "title", "Bauhof, \"digital\"", "hf", "2", "keywords", "Bauhof, Software",
        "participants", "05162028,05162004", NULL });
    char err [256] = "", *csv = kh_record_to_csv (&r.rec);
    char *text = s_export (&r.rec, NULL, false, false, true, err, sizeof err);
    char expect [2048];
    snprintf (expect, sizeof expect, "%s\n%s\n", kh_record_csv_header (), csv ? csv : "?");
    KH_CHECK ("without --columns CSV is what it always was", text && streq (text, expect),
              "got '%s'\nexpected '%s'", text ? text : err, expect);
    free (text);
    free (csv);
    text = s_export (&r.rec, "seq, from,name,body.keywords,body.participants,body.hf,"
                     "title,ref,body.valid_until,prev_type", false, false, true, err,
                     sizeof err);
    KH_CHECK ("chosen columns in their order, lists joined with ';', blanks around names "
              "ignored, what the record lacks empty",
              text && streq (text, "seq,from,name,body.keywords,body.participants,body.hf,"
                                   "title,ref,body.valid_until,prev_type\n"
                                   "42,05162012,J\xc3\xbc" "chen,Bauhof;Software,"
                                   "05162028;05162004,2,\"Bauhof, \"\"digital\"\"\",,,7\n"),
              "got '%s' (%s)", text ? text : "NULL", err);
    free (text);
    msgpack_sbuffer_destroy (&r.env);
}

static void
s_test_json (void)
{
    s_record_t r;
    s_record (&r, "05162", (const char *const []) {
        "title", "Gemeinsam", "keywords", "a,b", NULL });
    char err [256] = "";
    char *text = s_export (&r.rec, "seq,at,id,name,body.keywords,body.hf,body", true, false,
                           true, err, sizeof err);
    KH_CHECK ("JSON Lines with columns: one object, keys the column names, lists as "
              "arrays, a missing value null",
              text && streq (text, "{\"seq\":42,\"at\":\"2021-11-03T00:01:01.000Z\","
                                   "\"id\":\"" S_ID "\",\"name\":\"Rhein-Kreis Neuss\","
                                   "\"body.keywords\":[\"a\",\"b\"],\"body.hf\":null,"
                                   "\"body\":{\"title\":\"Gemeinsam\",\"keywords\":[\"a\","
                                   "\"b\"]}}\n"),
              "got '%s' (%s)", text ? text : "NULL", err);
    free (text);
    msgpack_sbuffer_destroy (&r.env);
}

static void
s_test_excel (void)
{
    s_record_t r;
    s_record (&r, "05162012", (const char *const []) {
        "title", "=HYPERLINK(\"x\")", "description", "Zeile 1\nZeile \"2\"",
        "valid_until", "2030-12-31", "hf", "3", NULL });
    char err [256] = "";
    char *text = s_export (&r.rec, NULL, false, true, true, err, sizeof err);
    KH_CHECK ("--excel: BOM, quoted header with ';' and CRLF, the sender's name",
              text && strncmp (text, "\xef\xbb\xbf\"seq\";\"at\";\"id\";\"type\";\"from\";"
                               "\"name\";\"ts\";\"title\";\"body\"\r\n", 59) == 0,
              "got '%s' (%s)", text ? text : "NULL", err);
    KH_CHECK ("times in Berlin as TT.MM.JJJJ HH:MM, texts quoted, an AGS kept as text, a "
              "formula defused",
              text && strstr (text, "\r\n42;03.11.2021 01:01;\"" S_ID "\";\"idea\";"
                              "\"=\"\"05162012\"\"\";\"J\xc3\xbc" "chen\";03.11.2021 01:00;"
                              "\"'=HYPERLINK(\"\"x\"\")\";\"{"),
              "got '%s'", text ? text : "NULL");
    KH_CHECK ("a row ends in CRLF", text && strlen (text) > 4
              && streq (text + strlen (text) - 4, "}\"\r\n"), "got '%s'", text ? text : "NULL");
    free (text);
    text = s_export (&r.rec, "body.description,body.valid_until,body.hf", false, true, false,
                     err, sizeof err);
    KH_CHECK ("a line break stays inside its quotes, a date is TT.MM.JJJJ, a number is "
              "not quoted",
              text && streq (text, "\"Zeile 1\nZeile \"\"2\"\"\";31.12.2030;3\r\n"),
              "got '%s' (%s)", text ? text : "NULL", err);
    free (text);
    msgpack_sbuffer_destroy (&r.env);
}

static void
s_test_refused (void)
{
    s_record_t r;
    s_record (&r, "05162012", (const char *const []) { "title", "x", NULL });
    static const char *const cases [][2] = {
        { "seq,titel", "--columns: 'titel' is not a column; did you mean title?" },
        { "body.titel", "--columns: 'body.titel' is not a column; did you mean body.title?" },
        { "body.fields.colour", "--columns: 'body.fields.colour' is not a column" },
        { "seq,,at", "--columns: an empty column name (give them as a,b,c)" },
        { "colour", "--columns: 'colour' is not a column (seq, at, id, type, from, name, ts, "
                    "title, ref, prev_type, prev_sender, prev_pair, body, body.FIELD)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char err [256] = "";
        char *text = s_export (&r.rec, cases [i][0], false, false, true, err, sizeof err);
        KH_CHECK ("a column that is none is refused, with did you mean",
                  !text && strncmp (err, cases [i][1], strlen (cases [i][1])) == 0,
                  "'%s': got '%s'", cases [i][0], err);
        free (text);
    }
    char err [256] = "";
    char *text = s_export (&r.rec, "body.fields.title,body.fields.valid_until", false, false,
                           false, err, sizeof err);
    KH_CHECK ("a revise's item fields are columns", text && streq (text, ",\n"),
              "got '%s' (%s)", text ? text : "NULL", err);
    free (text);
    text = s_export (&r.rec, NULL, true, true, false, err, sizeof err);
    KH_CHECK ("--excel is CSV, not JSON", !text && strstr (err, "--excel"), "got '%s'", err);
    free (text);
    msgpack_sbuffer_destroy (&r.env);
    kh_record_t broken = { .info = { .seq = 1 }, .msg = (const uint8_t *) "\xc1", .msg_size = 1 };
    text = s_export (&broken, "seq", false, false, false, err, sizeof err);
    KH_CHECK ("a record that cannot be read is not exported", text
              && streq (text, "(failed)"), "got '%s'", text ? text : "NULL");
    free (text);
}

/* Berlin's time of the UTC text. */
static const char *
s_berlin (const char *utc)
{
    static char out [17];
    uint64_t ms = 0;
    kh_time_parse (utc, &ms);
    kh_when_berlin (ms, out);
    return out;
}

static void
s_test_berlin (void)
{
    static const char *const cases [][2] = {
        { "2021-11-03T00:00Z", "03.11.2021 01:00" },    /* winter: CET */
        { "2022-07-01T12:00Z", "01.07.2022 14:00" },    /* summer: CEST */
        { "2022-03-27T00:59Z", "27.03.2022 01:59" },    /* the last minute of CET */
        { "2022-03-27T01:00Z", "27.03.2022 03:00" },    /* 02:00 CET is 03:00 CEST */
        { "2022-10-30T00:59Z", "30.10.2022 02:59" },    /* the last minute of CEST */
        { "2022-10-30T01:00Z", "30.10.2022 02:00" },    /* 03:00 CEST is 02:00 CET */
        { "2021-12-31T23:30Z", "01.01.2022 00:30" },    /* the new year begins first */
        { "2024-03-31T01:00Z", "31.03.2024 03:00" },    /* a leap year's last Sunday */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        KH_CHECK ("Europe/Berlin's local time, by the EU rule",
                  streq (s_berlin (cases [i][0]), cases [i][1]), "%s: got %s, expected %s",
                  cases [i][0], s_berlin (cases [i][0]), cases [i][1]);
}

/* What the progress line wrote while the steps (ms, rows; ms -1 ends) were told. */
static char *
s_progress (bool on, const int64_t steps [][2])
{
    char *text = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&text, &size);
    kh_progress_t progress;
    kh_progress_start (&progress, file, on, "kreishub log", 0);
    size_t i = 0;
    for (; steps [i][0] >= 0; i++)
        kh_progress_step (&progress, (uint64_t) steps [i][1], steps [i][0]);
    kh_progress_end (&progress, (uint64_t) steps [i][1], -steps [i][0]);
    fclose (file);
    return text;
}

static void
s_test_progress (void)
{
    const int64_t quick [][2] = { { 100, 1 }, { 900, 2 }, { -950, 3 } };
    char *text = s_progress (true, quick);
    KH_CHECK ("an export under a second shows no progress", text && !*text, "got '%s'",
              text ? text : "NULL");
    free (text);
    const int64_t slow [][2] = { { 500, 10 }, { 1000, 20 }, { 1100, 22 }, { 1250, 25 },
                                 { -2540, 50 } };
    text = s_progress (true, slow);
    KH_CHECK ("a long export shows its progress after a second, at most every quarter "
              "second, and ends it with a line",
              text && streq (text, "\rkreishub log: 20 records so far ..."
                                   "\rkreishub log: 25 records so far ..."
                                   "\rkreishub log: 50 records in 2.5 s      \n"),
              "got '%s'", text ? text : "NULL");
    free (text);
    text = s_progress (false, slow);
    KH_CHECK ("off, it shows nothing", text && !*text, "got '%s'", text ? text : "NULL");
    free (text);
}

int
main (void)
{
    s_test_csv ();
    s_test_json ();
    s_test_excel ();
    s_test_refused ();
    s_test_berlin ();
    s_test_progress ();
    return kh_check_done ("export_test");
}
