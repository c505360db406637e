/*  kh_cli_print.c - records and audit records as lines of text: an aligned table,
    JSON lines, or CSV. */
#include <string.h>
#include "kh_cli.h"
#include "kh_itemview.h"
#include "kh_when.h"
#include "kh_json.h"

#define S_SEQ_WIDTH  8                  /* seq column; larger numbers push the row */

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
kh_cli_print_header (FILE *file, kh_format_t format, const kh_members_t *names)
{
    if (format == KH_FORMAT_TABLE) {
        fprintf (file, "%*s  %-16s  %-*s  ", S_SEQ_WIDTH, "SEQ", "PUBLISHED",
                 s_type_width (), "TYPE");
        kh_members_pad (file, "FROM", kh_members_who_width (names));
        fprintf (file, "  TITLE\n");
    }
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

/* Prints rec as one row of the table: its publication time (the envelope's ts, on
   which log filters by default) in Europe/Berlin, and an item's title or, for a
   message about an item, what it did ("declined: TEXT", "status: decided"); the
   storing time is in the JSON and CSV forms. */
static void
s_print_row (FILE *file, const kh_record_t *rec, const kh_members_t *names)
{
    kh_envelope_t env;
    kh_problem_t why;
    char when [KH_WHEN_SIZE] = "?", title [KH_TITLE_BYTES + 1];
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, &why)) {
        snprintf (env.type, sizeof env.type, "?");
        snprintf (env.from, sizeof env.from, "?");
        snprintf (env.title, sizeof env.title, "? (%s)", kh_errname (why.code));
    }
    else {
        kh_when_berlin (env.ts, when);
        if (env.has_ref)                /* what it did to its item: "declined: TEXT" */
            kh_itemview_event (rec, env.title, sizeof env.title);
    }
    s_one_line (env.title, title, sizeof title);
    fprintf (file, "%*llu  %-16s  %-*s  ", S_SEQ_WIDTH, (unsigned long long) rec->info.seq,
             when, s_type_width (), env.type);
    kh_members_who (file, names, env.from, kh_members_who_width (names));
    fprintf (file, "  %s\n", title);
}

int
kh_cli_print_record (FILE *file, kh_format_t format, const kh_record_t *rec,
                     const kh_members_t *names)
{
    if (format == KH_FORMAT_TABLE) {
        s_print_row (file, rec, names);
        return 0;
    }
    char *line = format == KH_FORMAT_JSON ? kh_record_to_json (rec) : kh_record_to_csv (rec);
    if (!line)
        return -1;
    fprintf (file, "%s\n", line);
    free (line);
    return 0;
}

/* ------------------------------------------------------------------ audit */

/* The audit's columns, as the header and every format name them. */
#define S_AUDIT_CSV_HEADER \
    "seq,at,endpoint,command,code,name,size,peer,claimed,ags,role,key,reason"

void
kh_cli_print_audit_header (FILE *file, kh_format_t format, const kh_members_t *names)
{
    if (format == KH_FORMAT_TABLE) {
        fprintf (file, "%*s  %-24s  %-8s  %-8s  %-13s  %-21s  ", S_SEQ_WIDTH, "SEQ", "AT",
                 "ENDPOINT", "COMMAND", "CODE", "PEER");
        kh_members_pad (file, "CLAIMED", kh_members_who_width (names));
        fputs ("  ", file);
        kh_members_pad (file, "AGS", kh_members_who_width (names));
        fprintf (file, "  %-12s  %s\n", "ROLE", "REASON");
    }
    else
    if (format == KH_FORMAT_CSV)
        fprintf (file, "%s\n", S_AUDIT_CSV_HEADER);
}

/* The text, or "-" for an empty one (a column of the table must not vanish). */
static const char *
s_dash (const char *text)
{
    return text [0] ? text : "-";
}

/* A msgpack str object over the C string text (for kh_json_from_object). */
static msgpack_object
s_str (const char *text)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_STR };
    o.via.str.ptr = text;
    o.via.str.size = (uint32_t) strlen (text);
    return o;
}

/* A msgpack integer object of value. */
static msgpack_object
s_uint (uint64_t value)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
    o.via.u64 = value;
    return o;
}

/* Returns rec as one JSON object (malloc'd), keys as the CSV header names them; NULL
   if memory runs out. */
static char *
s_audit_json (const kh_audit_t *rec, const char *at)
{
    const char *keys [] = { "seq", "at", "endpoint", "command", "code", "name", "size",
                            "peer", "claimed", "ags", "role", "key", "reason" };
    msgpack_object values [] = {
        s_uint (rec->seq), s_str (at), s_str (rec->endpoint), s_str (rec->command),
        s_uint ((uint64_t) rec->code), s_str (kh_errname (rec->code)), s_uint (rec->size),
        s_str (rec->peer), s_str (rec->claimed), s_str (rec->ags), s_str (rec->role),
        s_str (rec->key), s_str (rec->reason) };
    msgpack_object_kv kv [sizeof keys / sizeof keys [0]];
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++)
        kv [i] = (msgpack_object_kv) { s_str (keys [i]), values [i] };
    msgpack_object map = { .type = MSGPACK_OBJECT_MAP };
    map.via.map.size = sizeof kv / sizeof kv [0];
    map.via.map.ptr = kv;
    return kh_json_from_object (&map);
}

/* Prints text as one CSV field, quoted (RFC 4180: a quote is doubled), and sep. */
static void
s_csv (FILE *file, const char *text, char sep)
{
    fputc ('"', file);
    for (; *text; text++)
        *text == '"' ? fputs ("\"\"", file) : fputc (*text, file);
    fputc ('"', file);
    fputc (sep, file);
}

/* Prints rec as one row of the audit's table. */
static void
s_print_audit_row (FILE *file, const kh_audit_t *rec, const kh_members_t *names)
{
    char at [25];
    kh_time_format (rec->at, at);
    fprintf (file, "%*llu  %-24s  %-8s  %-8s  %-13s  %-21s  ", S_SEQ_WIDTH,
             (unsigned long long) rec->seq, at, s_dash (rec->endpoint),
             s_dash (rec->command), rec->code ? kh_errname (rec->code) : "-",
             s_dash (rec->peer));
    kh_members_who (file, names, s_dash (rec->claimed), kh_members_who_width (names));
    fputs ("  ", file);
    kh_members_who (file, names, s_dash (rec->ags), kh_members_who_width (names));
    fprintf (file, "  %-12s  %s\n", s_dash (rec->role), rec->reason);
}

int
kh_cli_print_audit (FILE *file, kh_format_t format, const kh_audit_t *rec,
                    const kh_members_t *names)
{
    char at [25];
    kh_time_format (rec->at, at);
    if (format == KH_FORMAT_TABLE)
        s_print_audit_row (file, rec, names);
    else
    if (format == KH_FORMAT_CSV) {
        fprintf (file, "%llu,%s,", (unsigned long long) rec->seq, at);
        s_csv (file, rec->endpoint, ',');
        s_csv (file, rec->command, ',');
        fprintf (file, "%d,%s,%u,", rec->code, kh_errname (rec->code), rec->size);
        const char *texts [] = { rec->peer, rec->claimed, rec->ags, rec->role, rec->key,
                                 rec->reason };
        for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
            s_csv (file, texts [i], i + 1 < sizeof texts / sizeof texts [0] ? ',' : '\n');
    }
    else {
        char *line = s_audit_json (rec, at);
        if (!line)
            return -1;
        fprintf (file, "%s\n", line);
        free (line);
    }
    return 0;
}
