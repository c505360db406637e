/*  kh_cli_print.c - records as lines of text: an aligned table, JSON lines, or CSV. */
#include <string.h>
#include "kh_cli.h"
#include "kh_json.h"

#define S_SEQ_WIDTH  8                  /* seq column; larger numbers push the row */
#define S_FROM_WIDTH KH_AGS_MAX

int
kh_cli_format (const char *text, kh_format_t *format)
{
    static const char *const names [] = {
        [KH_FORMAT_TABLE] = "table", [KH_FORMAT_JSON] = "json", [KH_FORMAT_CSV] = "csv", NULL
    };
    int index = kh_value_choice (text, names);
    if (index < 0)
        return -1;
    *format = (kh_format_t) index;
    return 0;
}

/* The width of the type column: the longest type name of the schema. */
static int
s_type_width (void)
{
    size_t width = 4;                   /* "TYPE" */
    for (size_t i = 0; i < kh_schema_type_count (); i++) {
        size_t len = strlen (kh_schema_type_name (i));
        width = len > width ? len : width;
    }
    return (int) width;
}

void
kh_cli_print_header (FILE *file, kh_format_t format)
{
    if (format == KH_FORMAT_TABLE)
        fprintf (file, "%*s  %-24s  %-*s  %-*s  %s\n", S_SEQ_WIDTH, "SEQ", "AT",
                 s_type_width (), "TYPE", S_FROM_WIDTH, "FROM", "TITLE");
    else
    if (format == KH_FORMAT_CSV)
        fprintf (file, "%s\n", kh_record_csv_header ());
}

/* Copies title into out with control characters (tabs, line breaks) as blanks, so
   that one record stays one line. */
static void
s_one_line (const char *title, char *out, size_t cap)
{
    size_t n = 0;
    for (; *title && n + 1 < cap; title++, n++)
        out [n] = (unsigned char) *title < 0x20 || *title == 0x7f ? ' ' : *title;
    out [n] = 0;
}

/* Prints rec as one row of the table. */
static void
s_print_row (FILE *file, const kh_record_t *rec)
{
    kh_envelope_t env;
    kh_problem_t why;
    char at [25], title [KH_TITLE_MAX + 1];
    kh_time_format (rec->info.at, at);
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, &why)) {
        snprintf (env.type, sizeof env.type, "?");
        snprintf (env.from, sizeof env.from, "?");
        snprintf (env.title, sizeof env.title, "? (%s)", kh_errname (why.code));
    }
    s_one_line (env.title, title, sizeof title);
    fprintf (file, "%*llu  %-24s  %-*s  %-*s  %s\n", S_SEQ_WIDTH,
             (unsigned long long) rec->info.seq, at, s_type_width (), env.type,
             S_FROM_WIDTH, env.from, title);
}

int
kh_cli_print_record (FILE *file, kh_format_t format, const kh_record_t *rec)
{
    if (format == KH_FORMAT_TABLE) {
        s_print_row (file, rec);
        return 0;
    }
    char *line = format == KH_FORMAT_JSON ? kh_record_to_json (rec) : kh_record_to_csv (rec);
    if (!line)
        return -1;
    fprintf (file, "%s\n", line);
    free (line);
    return 0;
}
