/*  kh_export.h - records as rows of chosen columns: CSV, the spreadsheet kind of CSV
    that German Excel and LibreOffice open as they are, or JSON Lines.

    Columns (`log --columns seq,from,name,body.title`): seq, at (commit time), id,
    type, from, name (the sender's name from the registry), ts (publication time),
    title, ref (the item a message is about), prev_type, prev_sender, prev_pair,
    body (all of it, as JSON), and body.FIELD for any field of the schema (a
    revise's body.fields.FIELD too). A value a record lacks is empty (null in JSON).

    CSV (RFC 4180): a header, ',' between fields, a field quoted when it must be, a
    list's items joined with ';', a map as JSON, times in UTC (ISO 8601).

    Spreadsheet (--excel): a UTF-8 byte order mark first (else Excel reads
    Windows-1252), ';' between fields (German Excel splits at the list separator),
    CRLF line ends, every text quoted, line breaks kept inside the quotes, times and
    dates in Europe/Berlin as TT.MM.JJJJ HH:MM and TT.MM.JJJJ. Digits with a leading
    zero (an AGS) go as ="05162024", which both programs show as text: as a plain
    number its zero would be lost. A text that begins with = + - @ gets a ' before
    it, so that no cell is taken as a formula.

    JSON Lines: one object per record, keys the column names, values as in the
    envelope (lists as arrays, times as ISO 8601 UTC text).
*/
#ifndef KH_EXPORT_H_INCLUDED
#define KH_EXPORT_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include "kh_members.h"
#include "kreishub/kreishub.h"

typedef struct _kh_export_t kh_export_t;

/* The columns of `log --format csv` without --columns, and with --excel. */
#define KH_EXPORT_CSV_COLUMNS    "seq,at,id,type,from,ts,title,body"
#define KH_EXPORT_EXCEL_COLUMNS  "seq,at,id,type,from,name,ts,title,body"

/* Creates an export of the columns named in columns (comma-separated; NULL: the
   default of the kind), as JSON Lines if json, else CSV (excel: the spreadsheet
   kind). names gives the column name (NULL: it stays empty). Returns it, or NULL
   with err (cap bytes) saying why: a column that is none (with did you mean),
   none at all, too many, --excel with json; or memory. */
kh_export_t *kh_export_new (const char *columns, bool json, bool excel,
                            const kh_members_t *names, char *err, size_t cap);

/* Frees the export; sets *self_p to NULL. Safe on NULL. */
void kh_export_destroy (kh_export_t **self_p);

/* Writes what comes before the first row: for CSV the header line (after the byte
   order mark for a spreadsheet); nothing for JSON. */
void kh_export_header (kh_export_t *self, FILE *out);

/* Writes rec as one row (a line of CSV, which may hold line breaks inside quotes,
   or of JSON). Returns 0, or -1 (nothing written) if its envelope cannot be read
   or memory runs out. */
int kh_export_record (kh_export_t *self, FILE *out, const kh_record_t *rec);

#endif
