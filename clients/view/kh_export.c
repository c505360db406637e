/*  kh_export.c - records as rows of chosen columns: CSV, spreadsheet CSV, JSON Lines
    (see kh_export.h). */
#include <czmq.h>
#include <time.h>
#include "kh_export.h"
#include "kh_when.h"
#include "kh_json.h"
#include "kh_schema.h"
#include "kh_suggest.h"

#define S_COLUMNS_MAX   32              /* columns of one export */
#define S_NAME_MAX      64              /* bytes of a column's name */
#define S_WORDS_MAX     64              /* names offered for did you mean */

/* What a column shows. */
typedef enum {
    S_SEQ, S_AT, S_ID, S_TYPE, S_FROM, S_NAME, S_TS, S_TITLE, S_REF,
    S_PREV_TYPE, S_PREV_SENDER, S_PREV_PAIR, S_BODY, S_FIELD
} s_kind_t;

/* The columns that are not body.FIELD, by name. */
static const char *const s_fixed [] = {
    [S_SEQ] = "seq", [S_AT] = "at", [S_ID] = "id", [S_TYPE] = "type", [S_FROM] = "from",
    [S_NAME] = "name", [S_TS] = "ts", [S_TITLE] = "title", [S_REF] = "ref",
    [S_PREV_TYPE] = "prev_type", [S_PREV_SENDER] = "prev_sender",
    [S_PREV_PAIR] = "prev_pair", [S_BODY] = "body"
};
#define S_FIXED (sizeof s_fixed / sizeof s_fixed [0])

typedef struct {
    s_kind_t kind;
    char     name [S_NAME_MAX];         /* as the header shows it */
    char     path [2][S_NAME_MAX];      /* S_FIELD: body.path[0][.path[1]] */
    bool     date;                      /* S_FIELD of kind date */
} s_column_t;

struct _kh_export_t {
    s_column_t          columns [S_COLUMNS_MAX];
    size_t              count;
    bool                json;
    bool                excel;
    char                sep;            /* ',' or ';' */
    const char         *eol;            /* "\n" or "\r\n" */
    const kh_members_t *names;
};

/* ------------------------------------------------------------- columns */

/* The schema's field named name in any type (len bytes), or NULL. */
static const kh_field_t *
s_body_field (const char *name, size_t len)
{
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        const char *type = kh_schema_type_name (t);
        const kh_msgtype_t *msgtype = kh__schema_type (type, strlen (type));
        int index = msgtype ? kh__schema_field (msgtype, name, len) : -1;
        if (index >= 0)
            return &msgtype->fields [index];
    }
    return NULL;
}

/* Collects the names a column may have into words (static storage for body.X).
   Returns how many. */
static size_t
s_words (const char *words [S_WORDS_MAX])
{
    static char fields [S_WORDS_MAX][S_NAME_MAX];
    size_t count = 0;
    for (size_t i = 0; i < S_FIXED; i++)
        words [count++] = s_fixed [i];
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        const char *type = kh_schema_type_name (t);
        const kh_msgtype_t *msgtype = kh__schema_type (type, strlen (type));
        for (size_t f = 0; msgtype && f < msgtype->count && count < S_WORDS_MAX; f++) {
            char word [S_NAME_MAX];
            snprintf (word, sizeof word, "body.%s", msgtype->fields [f].name);
            bool known = false;
            for (size_t k = 0; k < count && !known; k++)
                known = streq (words [k], word);
            if (!known) {
                snprintf (fields [count], S_NAME_MAX, "%s", word);
                words [count] = fields [count];
                count++;
            }
        }
    }
    return count;
}

/* Says in err that name is not a column, with the one it may mean. Returns -1. */
static int
s_unknown (const char *name, char *err, size_t cap)
{
    const char *words [S_WORDS_MAX];
    size_t count = s_words (words);
    int best = kh_suggest_best (name, words, count);
    if (best >= 0)
        snprintf (err, cap, "--columns: '%s' is not a column; did you mean %s?", name,
                  words [best]);
    else
        snprintf (err, cap, "--columns: '%s' is not a column (seq, at, id, type, from, "
                  "name, ts, title, ref, prev_type, prev_sender, prev_pair, body, "
                  "body.FIELD)", name);
    return -1;
}

/* Reads body.FIELD[.ITEMFIELD] (name after "body.") into column. Returns 0, or -1
   with err set. */
static int
s_read_field (s_column_t *column, const char *full, const char *name, char *err, size_t cap)
{
    const char *dot = strchr (name, '.');
    size_t head = dot ? (size_t) (dot - name) : strlen (name);
    const kh_field_t *field = s_body_field (name, head);
    if (!field || head >= S_NAME_MAX)
        return s_unknown (full, err, cap);
    column->kind = S_FIELD;
    snprintf (column->path [0], S_NAME_MAX, "%.*s", (int) head, name);
    column->date = field->kind == KH_KIND_DATE;
    if (!dot)
        return 0;
    int sub = field->kind == KH_KIND_FIELDS
              ? kh__schema_item_field (dot + 1, strlen (dot + 1)) : -1;
    if (sub < 0)
        return s_unknown (full, err, cap);
    snprintf (column->path [1], S_NAME_MAX, "%s", dot + 1);
    column->date = kh__schema_item_field_at ((size_t) sub)->kind == KH_KIND_DATE;
    return 0;
}

/* Reads one column's name (len bytes at text, blanks around it trimmed). Returns 0,
   or -1 with err set. */
static int
s_read_column (s_column_t *column, const char *text, size_t len, char *err, size_t cap)
{
    while (len && isspace ((unsigned char) *text)) {
        text++;
        len--;
    }
    while (len && isspace ((unsigned char) text [len - 1]))
        len--;
    if (len == 0) {
        snprintf (err, cap, "--columns: an empty column name (give them as a,b,c)");
        return -1;
    }
    if (len >= S_NAME_MAX)
        len = S_NAME_MAX - 1;
    memset (column, 0, sizeof *column);
    snprintf (column->name, sizeof column->name, "%.*s", (int) len, text);
    for (size_t i = 0; i < S_FIXED; i++)
        if (streq (column->name, s_fixed [i])) {
            column->kind = (s_kind_t) i;
            return 0;
        }
    char name [S_NAME_MAX];
    snprintf (name, sizeof name, "%s", column->name);
    if (strncmp (name, "body.", 5) == 0)
        return s_read_field (column, name, name + 5, err, cap);
    return s_unknown (name, err, cap);
}

/* Reads the comma-separated columns into self. Returns 0, or -1 with err set. */
static int
s_read_columns (kh_export_t *self, const char *columns, char *err, size_t cap)
{
    for (const char *p = columns; ; ) {
        size_t len = strcspn (p, ",");
        if (self->count == S_COLUMNS_MAX) {
            snprintf (err, cap, "--columns: at most %d columns", S_COLUMNS_MAX);
            return -1;
        }
        if (s_read_column (&self->columns [self->count++], p, len, err, cap))
            return -1;
        if (!p [len])
            return 0;
        p += len + 1;
    }
}

kh_export_t *
kh_export_new (const char *columns, bool json, bool excel, const kh_members_t *names,
               char *err, size_t cap)
{
    if (json && excel) {
        snprintf (err, cap, "--excel is a kind of CSV, not of json");
        return NULL;
    }
    kh_export_t *self = (kh_export_t *) calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, cap, "out of memory");
        return NULL;
    }
    self->json = json;
    self->excel = excel;
    self->sep = excel ? ';' : ',';
    self->eol = excel ? "\r\n" : "\n";
    self->names = names;
    if (!columns)
        columns = excel ? KH_EXPORT_EXCEL_COLUMNS : KH_EXPORT_CSV_COLUMNS;
    if (s_read_columns (self, columns, err, cap))
        kh_export_destroy (&self);
    return self;
}

void
kh_export_destroy (kh_export_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

void
kh_export_header (kh_export_t *self, FILE *out)
{
    if (self->json)
        return;
    if (self->excel)
        fputs ("\xef\xbb\xbf", out);
    for (size_t i = 0; i < self->count; i++) {
        if (i)
            fputc (self->sep, out);
        fprintf (out, self->excel ? "\"%s\"" : "%s", self->columns [i].name);
    }
    fputs (self->eol, out);
}

/* ---------------------------------------------------------------- cells */

/* Writes a text as a CSV field: quoted when it must be (always for a
   spreadsheet, which also gets the guards of kh_export.h). */
static void
s_csv_text (const kh_export_t *self, FILE *out, const char *ptr, size_t size)
{
    char *guarded = NULL;
    if (self->excel && size >= 2 && ptr [0] == '0' && strspn (ptr, "0123456789") >= size) {
        guarded = zsys_sprintf ("=\"%.*s\"", (int) size, ptr);
    }
    else
    if (self->excel && size && strchr ("=+-@", ptr [0]))
        guarded = zsys_sprintf ("'%.*s", (int) size, ptr);
    if (guarded) {
        ptr = guarded;
        size = strlen (guarded);
    }
    char *field = kh_csv_field (ptr, size, self->sep, self->excel);
    if (field)
        fputs (field, out);
    else
        fputs ("\"?\"", out);           /* out of memory: the row is dropped anyway */
    free (field);
    zstr_free (&guarded);
}

/* Writes a text as a JSON string. */
static void
s_json_text (FILE *out, const char *ptr, size_t size)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_STR };
    o.via.str.ptr = ptr;
    o.via.str.size = (uint32_t) size;
    char *json = kh_json_from_object (&o);
    fputs (json ? json : "null", out);
    free (json);
}

/* Writes a text cell of either kind. */
static void
s_text (const kh_export_t *self, FILE *out, const char *text)
{
    if (self->json)
        s_json_text (out, text, strlen (text));
    else
        s_csv_text (self, out, text, strlen (text));
}

/* Writes a time cell: ISO 8601 UTC, or for a spreadsheet Berlin's local time. */
static void
s_time (const kh_export_t *self, FILE *out, uint64_t ms)
{
    char text [25];
    if (self->excel)
        kh_when_berlin (ms, text);
    else
        kh_time_format (ms, text);
    if (self->json)
        fprintf (out, "\"%s\"", text);
    else
        fputs (text, out);
}

/* Writes a str object holding a date (YYYY-MM-DD) for a spreadsheet: TT.MM.JJJJ. */
static bool
s_excel_date (FILE *out, const msgpack_object *o)
{
    const char *p = o->via.str.ptr;
    if (o->via.str.size != 10 || p [4] != '-' || p [7] != '-')
        return false;
    fprintf (out, "%.2s.%.2s.%.4s", p + 8, p + 5, p);
    return true;
}

/* Writes one item of a list for CSV into out: a str as it is, else as JSON. */
static void
s_list_item (FILE *out, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        fwrite (o->via.str.ptr, 1, o->via.str.size, out);
        return;
    }
    char *json = kh_json_from_object (o);
    fputs (json ? json : "", out);
    free (json);
}

/* Writes a list for CSV as one text, its items joined with ';'. */
static void
s_csv_list (const kh_export_t *self, FILE *out, const msgpack_object *o)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream (&text, &size);
    for (uint32_t i = 0; mem && i < o->via.array.size; i++) {
        if (i)
            fputc (';', mem);
        s_list_item (mem, &o->via.array.ptr [i]);
    }
    if (mem && fclose (mem) == 0)
        s_csv_text (self, out, text, size);
    free (text);
}

/* Writes a body value (NULL: the record has none) as a cell. */
static void
s_object (const kh_export_t *self, FILE *out, const msgpack_object *o, bool date)
{
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        fputs (self->json ? "null" : "", out);
        return;
    }
    if (!self->json && o->type == MSGPACK_OBJECT_STR) {
        if (!(self->excel && date && s_excel_date (out, o)))
            s_csv_text (self, out, o->via.str.ptr, o->via.str.size);
        return;
    }
    if (!self->json && o->type == MSGPACK_OBJECT_ARRAY) {
        s_csv_list (self, out, o);
        return;
    }
    char *json = kh_json_from_object (o);
    bool text = o->type == MSGPACK_OBJECT_MAP || o->type == MSGPACK_OBJECT_BIN
                || o->type == MSGPACK_OBJECT_EXT;
    if (json && !self->json && text && o->type == MSGPACK_OBJECT_BIN) {
        size_t len = strlen (json);    /* an id or hex: the JSON string's inside */
        s_csv_text (self, out, json + 1, len >= 2 ? len - 2 : 0);
    }
    else
    if (json && !self->json && text)
        s_csv_text (self, out, json, strlen (json));
    else
        fputs (json ? json : "null", out);
    free (json);
}

/* ------------------------------------------------------------------ rows */

/* Writes the name of the sender from (a str) as a cell; empty if it has none. */
static void
s_name (const kh_export_t *self, FILE *out, const msgpack_object *from)
{
    char ags [KH_AGS_MAX + 1];
    snprintf (ags, sizeof ags, "%.*s", (int) from->via.str.size, from->via.str.ptr);
    const char *name = self->names && from->via.str.size < sizeof ags
                       ? kh_members_name (self->names, ags) : NULL;
    if (name)
        s_text (self, out, name);
    else
        fputs (self->json ? "null" : "", out);
}

/* The body value a body.FIELD column names, or NULL. */
static const msgpack_object *
s_field (const s_column_t *column, const msgpack_object *body)
{
    const msgpack_object *value = kh_json_lookup (body, column->path [0]);
    if (value && column->path [1][0])
        value = kh_json_lookup (value, column->path [1]);
    return value;
}

/* Writes the cell of column for the record. */
static void
s_cell (const kh_export_t *self, FILE *out, const s_column_t *column,
        const kh_record_t *rec, const kh_record_pieces_t *pieces)
{
    char text [KH_ID_STR_SIZE];
    uint64_t numbers [] = { [S_SEQ] = rec->info.seq, [S_PREV_TYPE] = rec->info.prev_type,
                            [S_PREV_SENDER] = rec->info.prev_sender,
                            [S_PREV_PAIR] = rec->info.prev_pair };
    switch (column->kind) {
        case S_SEQ: case S_PREV_TYPE: case S_PREV_SENDER: case S_PREV_PAIR:
            fprintf (out, "%" PRIu64, numbers [column->kind]);
            break;
        case S_AT:    s_time (self, out, rec->info.at); break;
        case S_TS:    s_time (self, out, pieces->ts); break;
        case S_ID:
            kh_id_format (pieces->id, text);
            s_text (self, out, text);
            break;
        case S_TYPE:  s_object (self, out, pieces->type, false); break;
        case S_FROM:  s_object (self, out, pieces->from, false); break;
        case S_NAME:  s_name (self, out, pieces->from); break;
        case S_TITLE: s_object (self, out, kh_json_lookup (pieces->body, "title"), false); break;
        case S_REF:   s_object (self, out, kh_json_lookup (pieces->body, "ref"), false); break;
        case S_BODY:  s_object (self, out, pieces->body, false); break;
        case S_FIELD: s_object (self, out, s_field (column, pieces->body), column->date); break;
    }
}

/* Writes the row of rec into out. */
static void
s_row (const kh_export_t *self, FILE *out, const kh_record_t *rec,
       const kh_record_pieces_t *pieces)
{
    if (self->json)
        fputc ('{', out);
    for (size_t i = 0; i < self->count; i++) {
        if (self->json)
            fprintf (out, "%s\"%s\":", i ? "," : "", self->columns [i].name);
        else
        if (i)
            fputc (self->sep, out);
        s_cell (self, out, &self->columns [i], rec, pieces);
    }
    fputs (self->json ? "}\n" : self->eol, out);
}

int
kh_export_record (kh_export_t *self, FILE *out, const kh_record_t *rec)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    char *row = NULL;
    size_t size = 0;
    int rc = -1;
    if (kh_record_unpack (rec, &u, &pieces) == 0) {
        FILE *mem = open_memstream (&row, &size);
        if (mem) {
            s_row (self, mem, rec, &pieces);
            rc = fclose (mem) == 0 && !ferror (out) ? 0 : -1;
        }
    }
    if (rc == 0)
        fwrite (row, 1, size, out);
    free (row);
    msgpack_unpacked_destroy (&u);
    return rc;
}
