/*  kh_itemview.c - items, their participants and their history, as people read them
    (see kh_itemview.h). */
#include <stdarg.h>
#include <string.h>
#include "kh_itemview.h"
#include "kh_json.h"
#include "kh_schema.h"
#include "kh_suggest.h"
#include "kh_when.h"

#define S_STAGES_MAX   16               /* stages the lifecycle may have */
#define S_TITLE_MAX    48               /* characters of a title in the catalogue */
#define S_STATUS_WIDTH 19               /* "discussion, expired" */
#define S_LABEL_WIDTH  13               /* "participants " in show */
#define S_TEXT_MAX     4096             /* a value as text in show */

/* ------------------------------------------------------------- lifecycle */

/* The values of the status message's field status: the lifecycle, in order. */
static const char *const *
s_stages (void)
{
    const kh_msgtype_t *type = kh__schema_type ("status", 6);
    int index = type ? kh__schema_field (type, "status", 6) : -1;
    return index >= 0 ? type->fields [index].values : NULL;
}

size_t
kh_lifecycle_count (void)
{
    const char *const *stages = s_stages ();
    size_t count = 0;
    while (stages && stages [count] && count < S_STAGES_MAX)
        count++;
    return count;
}

const char *
kh_lifecycle_stage (size_t index)
{
    return index < kh_lifecycle_count () ? s_stages () [index] : NULL;
}

/* The index of stage in the lifecycle, or -1. */
static int
s_stage_index (const char *stage)
{
    for (size_t i = 0; i < kh_lifecycle_count (); i++)
        if (streq (stage, kh_lifecycle_stage (i)))
            return (int) i;
    return -1;
}

bool
kh_lifecycle_known (const char *text)
{
    return s_stage_index (text) >= 0;
}

void
kh_lifecycle_next (const char *now, char *out, size_t cap)
{
    size_t count = kh_lifecycle_count (), used = 0;
    int at = s_stage_index (now);
    out [0] = 0;
    if (at < 0 || streq (now, "done") || streq (now, "withdrawn"))
        return;
    const char *next [S_STAGES_MAX];
    size_t n = 0;
    for (size_t i = (size_t) at + 1; i < count; i++)
        next [n++] = kh_lifecycle_stage (i);
    for (size_t i = 0; i < n && used < cap; i++) {
        int len = snprintf (out + used, cap - used, "%s%s", i == 0 ? "" : i + 1 < n
                            ? ", " : " or ", next [i]);
        used += len > 0 ? (size_t) len : 0;
    }
}

/* ---------------------------------------------------------------- values */

/* Appends the formatted text to out (cap bytes, *used of them taken), cut at a
   character's boundary if it does not fit. */
static void __attribute__ ((format (printf, 4, 5)))
s_put (char *out, size_t cap, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= cap)
        return;
    va_list args;
    va_start (args, fmt);
    int len = vsnprintf (out + *used, cap - *used, fmt, args);
    va_end (args);
    size_t n = len < 0 ? 0 : (size_t) len;
    if (*used + n >= cap) {             /* cut: back to a character's start */
        n = cap - 1 - *used;
        while (n > 0 && ((unsigned char) out [*used + n] & 0xc0) == 0x80)
            n--;
        out [*used + n] = 0;
    }
    *used += n;
}

/* True if the str o holds an AGS or a Kreisschluessel. */
static bool
s_is_ags (const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_STR && kh_ags_valid (o->via.str.ptr, o->via.str.size);
}

/* Appends one scalar value (not a list) to out as kh_itemview_value describes. */
static void
s_scalar (const msgpack_object *o, const kh_members_t *names, char *out, size_t cap,
          size_t *used)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        s_put (out, cap, used, "%.*s", (int) o->via.str.size, o->via.str.ptr);
        char ags [KH_AGS_MAX + 1];
        snprintf (ags, sizeof ags, "%.*s", (int) o->via.str.size, o->via.str.ptr);
        const char *name = names && s_is_ags (o) ? kh_members_name (names, ags) : NULL;
        if (name)
            s_put (out, cap, used, " %s", name);
        return;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        s_put (out, cap, used, "%llu", (unsigned long long) o->via.u64);
        return;
    }
    if (o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == KH_ID_SIZE) {
        char id [KH_ID_STR_SIZE];
        kh_id_format ((const uint8_t *) o->via.bin.ptr, id);
        s_put (out, cap, used, "%s", id);
        return;
    }
    char *json = kh_json_from_object (o);
    s_put (out, cap, used, "%s", json ? json : "?");
    free (json);
}

void
kh_itemview_value (const msgpack_object *value, const kh_members_t *names, bool one_line,
                   char *out, size_t cap)
{
    size_t used = 0;
    out [0] = 0;
    if (value->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < value->via.array.size; i++) {
            s_put (out, cap, &used, "%s", i ? ", " : "");
            s_scalar (&value->via.array.ptr [i], names, out, cap, &used);
        }
    else
        s_scalar (value, names, out, cap, &used);
    for (char *p = out; one_line && *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* Unpacks the item's fields into u (destroyed by the caller whatever this
   returns). Returns the map, or NULL if they are not one. */
static const msgpack_object *
s_fields (const kh_item_t *item, msgpack_unpacked *u)
{
    size_t off = 0;
    msgpack_unpacked_init (u);
    if (!item->fields || !item->fields_size
    ||  msgpack_unpack_next (u, (const char *) item->fields, item->fields_size, &off)
            != MSGPACK_UNPACK_SUCCESS
    ||  u->data.type != MSGPACK_OBJECT_MAP)
        return NULL;
    return &u->data;
}

int
kh_itemview_field (const kh_item_t *item, const char *name, char *out, size_t cap)
{
    msgpack_unpacked u;
    const msgpack_object *value = kh_json_lookup (s_fields (item, &u), name);
    out [0] = 0;
    if (value)
        kh_itemview_value (value, NULL, true, out, cap);
    msgpack_unpacked_destroy (&u);
    return value ? 0 : -1;
}

/* ------------------------------------------------------------- catalogue */

/* Writes the item's title, cut to S_TITLE_MAX characters (ending in an
   ellipsis), into out. */
static void
s_short_title (const kh_item_t *item, char *out, size_t cap)
{
    kh_itemview_field (item, "title", out, cap);
    if (kh_suggest_length (out) <= S_TITLE_MAX)
        return;
    size_t chars = 0, i = 0;
    for (; out [i]; i++)
        if (((unsigned char) out [i] & 0xc0) != 0x80 && chars++ == S_TITLE_MAX - 1)
            break;
    snprintf (out + i, cap - i, "\xe2\x80\xa6");
}

void
kh_itemview_header (FILE *file, const kh_members_t *names)
{
    fprintf (file, "%6s  %-12s  ", "SEQ", "TYPE");
    kh_members_pad (file, "OWNER", kh_members_who_width (names));
    fprintf (file, "  %-*s  %2s  %-5s  %-10s  TITLE\n", S_STATUS_WIDTH, "STATUS", "HF",
             "J/I", "LAST");
}

void
kh_itemview_row (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    char title [4 * S_TITLE_MAX + 8], hf [8], status [48], answers [24];
    char last [KH_WHEN_SIZE];
    s_short_title (item, title, sizeof title);
    if (kh_itemview_field (item, "hf", hf, sizeof hf))
        snprintf (hf, sizeof hf, "-");
    snprintf (status, sizeof status, "%s%s", item->status, item->expired ? ", expired" : "");
    snprintf (answers, sizeof answers, "%u/%u", (unsigned) item->joined,
              (unsigned) item->interested);
    kh_when_date (item->last_ts, last);
    fprintf (file, "%6llu  %-12s  ", (unsigned long long) item->seq, item->type);
    kh_members_who (file, names, item->owner, kh_members_who_width (names));
    fprintf (file, "  %-*s  %2s  %-5s  %-10s  %s\n", S_STATUS_WIDTH, status, hf, answers,
             last, title);
}

/* Writes the name of ags (or null) as a JSON value. */
static void
s_json_name (FILE *file, const kh_members_t *names, const char *ags)
{
    const char *name = names ? kh_members_name (names, ags) : NULL;
    if (name)
        kh_json_print_str (file, name);
    else
        fputs ("null", file);
}

/* Writes the participants as a JSON array. */
static void
s_json_participants (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    fputc ('[', file);
    for (size_t i = 0; i < item->participant_count; i++) {
        const kh_participant_t *p = &item->participants [i];
        char since [25];
        kh_time_format (p->since, since);
        fprintf (file, "%s{\"ags\":", i ? "," : "");
        kh_json_print_str (file, p->ags);
        fputs (",\"name\":", file);
        s_json_name (file, names, p->ags);
        fputs (",\"state\":", file);
        kh_json_print_str (file, p->state);
        fprintf (file, ",\"since\":\"%s\",\"seq\":%llu}", since, (unsigned long long) p->seq);
    }
    fputc (']', file);
}

int
kh_itemview_json (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    msgpack_unpacked u;
    const msgpack_object *fields = s_fields (item, &u);
    char *json = fields ? kh_json_from_object (fields) : NULL;
    msgpack_unpacked_destroy (&u);
    if (!json)
        return -1;
    char id [KH_ID_STR_SIZE], ts [25], status_ts [25], last_ts [25];
    kh_id_format (item->id, id);
    kh_time_format (item->ts, ts);
    kh_time_format (item->status_ts, status_ts);
    kh_time_format (item->last_ts, last_ts);
    fprintf (file, "{\"id\":\"%s\",\"seq\":%llu,\"type\":", id, (unsigned long long) item->seq);
    kh_json_print_str (file, item->type);
    fputs (",\"owner\":", file);
    kh_json_print_str (file, item->owner);
    fputs (",\"owner_name\":", file);
    s_json_name (file, names, item->owner);
    fprintf (file, ",\"ts\":\"%s\",\"status\":", ts);
    kh_json_print_str (file, item->status);
    fprintf (file, ",\"status_seq\":%llu,\"status_ts\":\"%s\",\"expired\":%s,"
             "\"interested\":%u,\"joined\":%u,\"declined\":%u,\"left\":%u,\"messages\":%llu,"
             "\"last_seq\":%llu,\"last_ts\":\"%s\",\"fields\":%s,\"participants\":",
             (unsigned long long) item->status_seq, status_ts,
             item->expired ? "true" : "false", (unsigned) item->interested,
             (unsigned) item->joined, (unsigned) item->declined, (unsigned) item->left,
             (unsigned long long) item->messages, (unsigned long long) item->last_seq,
             last_ts, json);
    s_json_participants (file, item, names);
    fputs ("}\n", file);
    free (json);
    return 0;
}

/* ------------------------------------------------------------------ show */

/* Prints one labelled line of show. */
static void
s_line (FILE *file, const char *label, const char *text)
{
    fprintf (file, "  %-*s %s\n", S_LABEL_WIDTH, label, text);
}

/* Prints the facts the hub derived: id, owner, published, status, answers, last. */
static void
s_show_state (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    char text [512], when [KH_WHEN_SIZE], next [160];
    const char *owner = names ? kh_members_name (names, item->owner) : NULL;
    kh_id_format (item->id, text);
    s_line (file, "id", text);
    snprintf (text, sizeof text, "%s%s%s", item->owner, owner ? " " : "", owner ? owner : "");
    s_line (file, "owner", text);
    kh_when_berlin (item->ts, when);
    s_line (file, "published", when);
    kh_when_date (item->status_ts, when);
    kh_lifecycle_next (item->status, next, sizeof next);
    snprintf (text, sizeof text, "%s since %s%s%s%s%s", item->status, when,
              item->expired ? ", expired" : "", *next ? " (next: " : "", next,
              *next ? ")" : "");
    s_line (file, "status", text);
    snprintf (text, sizeof text, "%u joined, %u interested, %u declined, %u left",
              (unsigned) item->joined, (unsigned) item->interested, (unsigned) item->declined,
              (unsigned) item->left);
    s_line (file, "answers", text);
    kh_when_berlin (item->last_ts, when);
    snprintf (text, sizeof text, "%s (seq %llu), %llu message%s in all", when,
              (unsigned long long) item->last_seq, (unsigned long long) item->messages,
              item->messages == 1 ? "" : "s");
    s_line (file, "last activity", text);
}

/* Prints each field the item has but its title, names next to the AGS; a text
   of several lines continues under its first. */
static void
s_show_fields (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    msgpack_unpacked u;
    const msgpack_object *map = s_fields (item, &u);
    char *text = (char *) malloc (S_TEXT_MAX);
    for (uint32_t i = 0; map && text && i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR || key->via.str.size >= 32
        ||  (key->via.str.size == 5 && memcmp (key->via.str.ptr, "title", 5) == 0))
            continue;
        char label [32];
        snprintf (label, sizeof label, "%.*s", (int) key->via.str.size, key->via.str.ptr);
        kh_itemview_value (&map->via.map.ptr [i].val, names, false, text, S_TEXT_MAX);
        for (char *line = text, *end; line; line = end ? end + 1 : NULL) {
            end = strchr (line, '\n');
            fprintf (file, "  %-*s %.*s\n", S_LABEL_WIDTH, line == text ? label : "",
                     (int) (end ? (size_t) (end - line) : strlen (line)), line);
        }
    }
    free (text);
    msgpack_unpacked_destroy (&u);
}

void
kh_itemview_show (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    char title [KH_TITLE_BYTES + 1];
    kh_itemview_field (item, "title", title, sizeof title);
    fprintf (file, "%s %llu: %s\n", item->type, (unsigned long long) item->seq, title);
    s_show_state (file, item, names);
    s_show_fields (file, item, names);
    fprintf (file, "participants%s\n", item->participant_count ? "" : ": none yet");
    for (size_t i = 0; i < item->participant_count; i++) {
        const kh_participant_t *p = &item->participants [i];
        char since [KH_WHEN_SIZE];
        kh_when_date (p->since, since);
        fputs ("  ", file);
        kh_members_who (file, names, p->ags, kh_members_who_width (names));
        fprintf (file, "  %-10s  %s\n", p->state, since);
    }
}

/* ------------------------------------------------------------- timeline */

/* What an interest's action says happened. */
static const char *
s_action (const msgpack_object *action)
{
    static const char *const said [][2] = {
        { "interested", "is interested" }, { "join", "joined" }, { "decline", "declined" },
        { "leave", "left" }
    };
    for (size_t i = 0; action && action->type == MSGPACK_OBJECT_STR && i < 4; i++)
        if (strlen (said [i][0]) == action->via.str.size
        &&  memcmp (said [i][0], action->via.str.ptr, action->via.str.size) == 0)
            return said [i][1];
    return "answered";
}

/* Appends ": TEXT" (after a status " - TEXT") for the body's text, if it has one,
   on one line. */
static void
s_text (const msgpack_object *body, bool status, char *out, size_t cap, size_t *used)
{
    const msgpack_object *text = kh_json_lookup (body, "text");
    if (!text)
        return;
    s_put (out, cap, used, status ? " - " : ": ");
    kh_itemview_value (text, NULL, true, out + *used, cap - *used);
    *used += strlen (out + *used);
}

/* Appends the names of the fields a revise changed, "title, hf". */
static void
s_revised (const msgpack_object *body, char *out, size_t cap, size_t *used)
{
    const msgpack_object *fields = kh_json_lookup (body, "fields");
    s_put (out, cap, used, "revised");
    for (uint32_t i = 0; fields && fields->type == MSGPACK_OBJECT_MAP
                         && i < fields->via.map.size; i++) {
        const msgpack_object *key = &fields->via.map.ptr [i].key;
        if (key->type == MSGPACK_OBJECT_STR)
            s_put (out, cap, used, "%s%.*s", i ? ", " : " ", (int) key->via.str.size,
                   key->via.str.ptr);
    }
}

/* Writes the sentence for a message of type (its body body). */
static void
s_event (const char *type, const msgpack_object *body, char *out, size_t cap)
{
    size_t used = 0;
    const msgpack_object *status = kh_json_lookup (body, "status");
    char value [KH_TITLE_BYTES + 1];
    if (kh_schema_type_item (type)) {
        const msgpack_object *title = kh_json_lookup (body, "title");
        if (title)
            kh_itemview_value (title, NULL, true, value, sizeof value);
        s_put (out, cap, &used, "published the %s \"%s\"", type, title ? value : "");
        return;
    }
    if (streq (type, "interest"))
        s_put (out, cap, &used, "%s", s_action (kh_json_lookup (body, "action")));
    else
    if (streq (type, "status") && status && status->type == MSGPACK_OBJECT_STR
    &&  status->via.str.size == 9 && memcmp (status->via.str.ptr, "withdrawn", 9) == 0)
        s_put (out, cap, &used, "withdrew it");
    else
    if (streq (type, "status") && status) {
        kh_itemview_value (status, NULL, true, value, sizeof value);
        s_put (out, cap, &used, "status: %s", value);
    }
    else
    if (streq (type, "revise"))
        s_revised (body, out, cap, &used);
    else
        s_put (out, cap, &used, "%s", type);
    s_text (body, streq (type, "status") && !strstr (out, "withdrew"), out, cap, &used);
}

int
kh_itemview_event (const kh_record_t *rec, char *out, size_t cap)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    int rc = kh_record_unpack (rec, &u, &pieces);
    if (rc == 0 && pieces.type->via.str.size <= KH_TYPE_MAX) {
        char type [KH_TYPE_MAX + 1];
        snprintf (type, sizeof type, "%.*s", (int) pieces.type->via.str.size,
                  pieces.type->via.str.ptr);
        s_event (type, pieces.body, out, cap);
    }
    else {
        snprintf (out, cap, "?");
        rc = -1;
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}

void
kh_itemview_timeline (FILE *file, const kh_record_t *rec, const kh_members_t *names)
{
    char what [1024], when [KH_WHEN_SIZE] = "?", who [KH_AGS_MAX + 1] = "?";
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    if (kh_record_unpack (rec, &u, &pieces) == 0) {
        kh_when_berlin (pieces.ts, when);
        snprintf (who, sizeof who, "%.*s", (int) pieces.from->via.str.size,
                  pieces.from->via.str.ptr);
    }
    msgpack_unpacked_destroy (&u);
    kh_itemview_event (rec, what, sizeof what);
    const char *name = names ? kh_members_name (names, who) : NULL;
    int width = (int) (names ? kh_members_name_width (names) : KH_AGS_MAX);
    fprintf (file, "  %-16s  %6llu  ", when, (unsigned long long) rec->info.seq);
    kh_members_pad (file, name ? name : who, width < KH_AGS_MAX ? KH_AGS_MAX : width);
    fprintf (file, "  %s\n", what);
}
