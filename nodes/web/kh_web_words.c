/*  kh_web_words.c - the pages' German words, a message's sentence, and reading filters from a query string (see kh_web_pages.h). */
#include <stdlib.h>
#include <string.h>
#include "kh_filter.h"
#include <msgpack.h>
#include "kh_itemview.h"
#include "kh_json.h"
#include "kh_web_html.h"
#include "kh_web_pages.h"

/* The word for text among pairs (ending with NULL), else text. */
static const char *
s_word (const char *const pairs [][2], const char *text)
{
    for (size_t i = 0; text && pairs [i][0]; i++)
        if (strcmp (pairs [i][0], text) == 0)
            return pairs [i][1];
    return text ? text : "";
}

const char *
kh__web_type_label (const char *type)
{
    static const char *const words [][2] = {
        { "idea", "Idee" }, { "offer", "Angebot" }, { "request", "Gesuch" },
        { "announcement", "Mitteilung" }, { "interest", "Interesse" },
        { "status", "Status" }, { "revise", "Überarbeitung" }, { "comment", "Kommentar" },
        { NULL, NULL }
    };
    return s_word (words, type);
}

const char *
kh__web_stage_label (const char *stage)
{
    static const char *const words [][2] = {
        { "proposed", "vorgeschlagen" }, { "discussion", "in Diskussion" },
        { "decided", "beschlossen" }, { "pilot", "im Pilotbetrieb" },
        { "rollout", "in Einführung" }, { "done", "abgeschlossen" },
        { "withdrawn", "zurückgezogen" }, { NULL, NULL }
    };
    return s_word (words, stage);
}

const char *
kh__web_field_label (const char *field)
{
    static const char *const words [][2] = {
        { "title", "Titel" }, { "description", "Beschreibung" }, { "hf", "Handlungsfeld" },
        { "topic", "Thema" }, { "keywords", "Schlagworte" }, { "lead", "Federführung" },
        { "participants", "Beteiligte" }, { "maturity", "Reifegrad" },
        { "contact", "Kontakt" }, { "benefit", "Nutzen" }, { "cost", "Kosten" },
        { "valid_until", "Gültig bis" }, { "licence", "Lizenz" }, { "place", "Ort" },
        { "start", "Beginn" },
        { NULL, NULL }
    };
    return s_word (words, field);
}

void
kh__web_next_stages (kh_web_req_t *req, const char *now)
{
    char next [160];
    kh_lifecycle_next (now, next, sizeof next);
    if (!next [0]) {
        kh_web_puts (req, "keine (abgeschlossen)");
        return;
    }
    /* "pilot, rollout, done or withdrawn": the stages, each put into German */
    for (size_t i = 0, shown = 0; i < kh_lifecycle_count (); i++) {
        const char *stage = kh_lifecycle_stage (i);
        const char *at = strstr (next, stage);
        size_t len = strlen (stage);
        if (!at || (at [len] && at [len] != ',' && at [len] != ' '))
            continue;
        kh_web_puts (req, shown++ ? ", " : "");
        kh_web_html (kh_web_req_out (req), kh__web_stage_label (stage));
    }
}

const char *
kh__web_state_label (const char *state)
{
    static const char *const words [][2] = {
        { "interested", "interessiert" }, { "joined", "beteiligt" },
        { "declined", "abgesagt" }, { "left", "ausgestiegen" }, { NULL, NULL }
    };
    return s_word (words, state);
}

/* Writes the str or value o as one line of text, escaped. */
static void
s_value (kh_web_req_t *req, const msgpack_object *o)
{
    char text [1024];
    kh_itemview_value (o, NULL, true, text, sizeof text);
    kh_web_html (kh_web_req_out (req), text);
}

/* Writes ": TEXT" for the body's text, if it has one. */
static void
s_text (kh_web_req_t *req, const msgpack_object *body)
{
    const msgpack_object *text = kh_json_lookup (body, "text");
    if (!text)
        return;
    kh_web_puts (req, ": ");
    s_value (req, text);
}

/* The sentence of an interest by its action. */
static const char *
s_interest (const msgpack_object *action)
{
    static const char *const said [][2] = {
        { "interested", "ist interessiert" }, { "join", "beteiligt sich" },
        { "decline", "sagt ab" }, { "leave", "steigt aus" }, { NULL, NULL }
    };
    char text [16] = "";
    if (action && action->type == MSGPACK_OBJECT_STR && action->via.str.size < sizeof text)
        memcpy (text, action->via.str.ptr, action->via.str.size);
    const char *word = s_word (said, text);
    return word == text ? "antwortet" : word;
}

/* Writes the fields a revise names by their German words, "Titel, Handlungsfeld";
   a name the pages have no word for as it came, escaped. */
static void
s_revised (kh_web_req_t *req, const msgpack_object *body)
{
    const msgpack_object *fields = kh_json_lookup (body, "fields");
    kh_web_puts (req, "überarbeitete");
    for (uint32_t i = 0; fields && fields->type == MSGPACK_OBJECT_MAP
                         && i < fields->via.map.size; i++) {
        const msgpack_object *key = &fields->via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            continue;
        kh_web_puts (req, i ? ", " : " ");
        char name [32];
        if (key->via.str.size < sizeof name
        &&  !memchr (key->via.str.ptr, 0, key->via.str.size)) {
            memcpy (name, key->via.str.ptr, key->via.str.size);
            name [key->via.str.size] = 0;
            kh_web_html (kh_web_req_out (req), kh__web_field_label (name));
        }
        else
            kh_web_html_n (kh_web_req_out (req), key->via.str.ptr, key->via.str.size);
    }
}

/* Writes the sentence for a message of type with body. */
static void
s_event (kh_web_req_t *req, const char *type, const msgpack_object *body)
{
    const msgpack_object *status = kh_json_lookup (body, "status");
    if (kh_schema_type_item (type)) {
        const msgpack_object *title = kh_json_lookup (body, "title");
        kh_web_printf (req, "veröffentlichte %s „", kh__web_type_label (type));
        if (title)
            s_value (req, title);
        kh_web_puts (req, "“");
        return;
    }
    if (strcmp (type, "interest") == 0)
        kh_web_puts (req, s_interest (kh_json_lookup (body, "action")));
    else
    if (strcmp (type, "status") == 0 && status && status->type == MSGPACK_OBJECT_STR) {
        char stage [32] = "";
        if (status->via.str.size < sizeof stage)
            memcpy (stage, status->via.str.ptr, status->via.str.size);
        kh_web_puts (req, strcmp (stage, "withdrawn") == 0 ? "zog es zurück" : "Status: ");
        if (strcmp (stage, "withdrawn") != 0)
            kh_web_html (kh_web_req_out (req), kh__web_stage_label (stage));
    }
    else
    if (strcmp (type, "revise") == 0)
        s_revised (req, body);
    else
    if (strcmp (type, "comment") == 0)
        kh_web_puts (req, "kommentierte");
    else
        kh_web_html (kh_web_req_out (req), kh__web_type_label (type));
    s_text (req, body);
}

int
kh__web_event (kh_web_req_t *req, const kh_record_t *rec)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    int rc = kh_record_unpack (rec, &u, &pieces);
    if (rc == 0 && pieces.type->via.str.size <= KH_TYPE_MAX) {
        char type [KH_TYPE_MAX + 1];
        snprintf (type, sizeof type, "%.*s", (int) pieces.type->via.str.size,
                  pieces.type->via.str.ptr);
        s_event (req, type, pieces.body);
    }
    else {
        kh_web_puts (req, "?");
        rc = -1;
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ------------------------------------------------------------------ forms */

/* Answers 400 for the parameter key with the filter's reason err. */
static int
s_bad (kh_web_req_t *req, const char *key, const char *err)
{
    char message [400];
    snprintf (message, sizeof message, "Der Filter „%s“ ist ungültig: %s", key, err);
    kh_web_error (req, 400, message);
    return -1;
}

int
kh__web_types (kh_web_req_t *req, const char *key, bool items,
               char list [][KH_TYPE_MAX + 1], size_t *count)
{
    const char *values [KH_FILTER_MAX + 1];
    size_t n = kh_web_req_query_all (req, key, values, KH_FILTER_MAX + 1);
    if (n > KH_FILTER_MAX)
        return s_bad (req, key, "zu viele Werte");
    char err [256];
    for (size_t i = 0; i < n; i++)
        if (values [i][0] && kh_filter_add_type (list, count, items, values [i], err, sizeof err))
            return s_bad (req, key, err);
    return 0;
}

int
kh__web_senders (kh_web_req_t *req, const char *key, char list [][KH_SENDER_MAX + 1],
                 size_t *count)
{
    const char *values [KH_FILTER_MAX + 1];
    size_t n = kh_web_req_query_all (req, key, values, KH_FILTER_MAX + 1);
    if (n > KH_FILTER_MAX)
        return s_bad (req, key, "zu viele Werte");
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    char err [256];
    for (size_t i = 0; i < n; i++)
        if (values [i][0]
        &&  kh_filter_add_sender (list, count, members, values [i], err, sizeof err))
            return s_bad (req, key, err);
    return 0;
}

int
kh__web_number (kh_web_req_t *req, const char *key, uint64_t max, uint64_t *value)
{
    const char *text = kh_web_req_query (req, key);
    *value = 0;
    if (!text || !text [0])
        return 0;
    if (kh_uint_parse (text, max, value) == 0)
        return 0;
    return s_bad (req, key, "keine Zahl im erlaubten Bereich");
}

/* Writes one <option> of a member select. */
static void
s_option (kh_web_req_t *req, const kh_ident_t *who, const char *chosen)
{
    kh_web_buf_t *out = kh_web_req_out (req);
    kh_web_puts (req, "<option value=\"");
    kh_web_html (out, who->ags);
    kh_web_printf (req, "\"%s>", chosen && strcmp (chosen, who->ags) == 0 ? " selected" : "");
    kh_web_html (out, who->name);
    kh_web_puts (req, " (");
    kh_web_html (out, who->ags);
    kh_web_puts (req, ")</option>");
}

void
kh__web_member_select (kh_web_req_t *req, const char *key, const char *chosen)
{
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    kh_web_printf (req, "<select name=\"%s\" id=\"f-%s\"><option value=\"\">alle</option>",
                   key, key);
    if (members) {
        s_option (req, kh_members_kreis (members), chosen);
        for (size_t i = 0; i < kh_members_count (members); i++)
            s_option (req, kh_members_at (members, i), chosen);
    }
    kh_web_puts (req, "</select>");
}

void
kh__web_link_params (kh_web_req_t *req, const char *const *skip, const char *key,
                     const char *value)
{
    const kh_web_params_t *params = kh_web_req_params (req);
    kh_web_buf_t *out = kh_web_req_out (req);
    const char *sep = "?";
    for (size_t i = 0; i < params->count; i++) {
        bool skipped = false;
        for (const char *const *s = skip; s && *s && !skipped; s++)
            skipped = strcmp (*s, params->keys [i]) == 0;
        if (skipped || !params->values [i][0])
            continue;
        kh_web_puts (req, sep);
        kh_web_url (out, params->keys [i]);
        kh_web_puts (req, "=");
        kh_web_url (out, params->values [i]);
        sep = "&amp;";
    }
    if (key) {
        kh_web_puts (req, sep);
        kh_web_url (out, key);
        kh_web_puts (req, "=");
        kh_web_url (out, value);
    }
}
