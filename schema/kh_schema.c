/*  kh_schema.c - the table of message types and body fields, and its Markdown form. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_schema.h"

static const char *const s_maturity [] = {
    "concept", "development", "beta", "stable", "obsolete", NULL
};

static const char *const s_actions [] = {
    "interested", "join", "decline", "leave", NULL
};

/* The lifecycle of every item (PROTOCOL.md section 13), in its order. */
static const char *const s_lifecycle [] = {
    "proposed", "discussion", "decided", "pilot", "rollout", "done", "withdrawn", NULL
};

/* Fields every item has, then each type's own. Order is validation order. */
#define KH_COMMON_FIELDS \
    { "title", KH_KIND_LINE, true, 1, KH_TITLE_MAX, 0, NULL, \
      "short title of the item" }, \
    { "description", KH_KIND_TEXT, false, 1, 8000, 0, NULL, \
      "what it is, why, for whom" }, \
    { "hf", KH_KIND_UINT, false, 1, 5, 0, NULL, \
      "Handlungsfeld of the digital masterplan, 1-5" }, \
    { "topic", KH_KIND_LINE, false, 1, 100, 0, NULL, \
      "category, e.g. an OZG Themenfeld or Querschnitt" }, \
    { "keywords", KH_KIND_STRLIST, false, 0, 20, 50, NULL, \
      "free keywords" }, \
    { "lead", KH_KIND_AGS, false, 0, 0, 0, NULL, \
      "AGS of the body leading it" }, \
    { "participants", KH_KIND_AGSLIST, false, 0, 64, 0, NULL, \
      "AGS of the bodies taking part, no repeats" }, \
    { "maturity", KH_KIND_ENUM, false, 0, 0, 0, s_maturity, \
      "maturity (publiccode.yml developmentStatus)" }, \
    { "start", KH_KIND_DATE, false, 0, 0, 0, NULL, \
      "planned or actual start" }, \
    { "contact", KH_KIND_LINE, false, 1, 200, 0, NULL, \
      "contact person or office" }, \
    { "valid_until", KH_KIND_DATE, false, 0, 0, 0, NULL, \
      "last day the item stands; after it (Europe/Berlin) the item is expired" }

/* Each item type's own fields, one macro each: the item fields list them too. */
#define S_BENEFIT \
    { "benefit", KH_KIND_TEXT, false, 1, 2000, 0, NULL, \
      "expected benefit for the municipalities" }
#define S_COST \
    { "cost", KH_KIND_LINE, false, 1, 200, 0, NULL, \
      "costs or funding model, e.g. free of charge" }
#define S_LICENCE \
    { "licence", KH_KIND_LINE, false, 1, 64, 0, NULL, \
      "SPDX licence id, for software" }
#define S_PLACE \
    { "place", KH_KIND_LINE, false, 1, 200, 0, NULL, \
      "where it takes place, e.g. the room of a course" }

/* The ref that every message about an item carries first. */
#define S_REF \
    { "ref", KH_KIND_REF, true, 0, 0, 0, NULL, \
      "the item's id (the id of its first message)" }

static const kh_field_t s_idea_fields [] = { KH_COMMON_FIELDS, S_BENEFIT };
static const kh_field_t s_offer_fields [] = { KH_COMMON_FIELDS, S_COST, S_LICENCE };
static const kh_field_t s_request_fields [] = { KH_COMMON_FIELDS };
static const kh_field_t s_announcement_fields [] = { KH_COMMON_FIELDS, S_PLACE };

/* Every item field once: what a revise may set. */
static const kh_field_t s_item_fields [] = {
    KH_COMMON_FIELDS, S_BENEFIT, S_COST, S_LICENCE, S_PLACE
};

static const kh_field_t s_interest_fields [] = {
    S_REF,
    { "action", KH_KIND_ENUM, true, 0, 0, 0, s_actions,
      "interested, join (takes part), decline (will not), leave (no longer takes part)" },
    { "text", KH_KIND_TEXT, false, 1, 500, 0, NULL, "a short note" },
};

static const kh_field_t s_status_fields [] = {
    S_REF,
    { "status", KH_KIND_ENUM, true, 0, 0, 0, s_lifecycle,
      "the item's new stage (section 13); withdrawn withdraws it" },
    { "text", KH_KIND_TEXT, false, 1, 500, 0, NULL, "a note on the change" },
};

static const kh_field_t s_revise_fields [] = {
    S_REF,
    { "fields", KH_KIND_FIELDS, true, 1, 0, 0, NULL,
      "the item fields that change, with their new values" },
    { "text", KH_KIND_TEXT, false, 1, 500, 0, NULL, "why they change" },
};

static const kh_field_t s_comment_fields [] = {
    S_REF,
    { "text", KH_KIND_TEXT, true, 1, 4000, 0, NULL, "the comment" },
};

#define S_COUNT(a) (sizeof (a) / sizeof ((a) [0]))
#define S_TYPE(name, doc, item, kreis, fields) \
    { name, doc, item, kreis, fields, S_COUNT (fields) }

static const kh_msgtype_t s_types [] = {
    S_TYPE ("idea", "a project idea a body proposes for cooperation",
            true, false, s_idea_fields),
    S_TYPE ("offer", "a shared service a body offers to others",
            true, false, s_offer_fields),
    S_TYPE ("request", "a body looks for partners or a service",
            true, false, s_request_fields),
    S_TYPE ("announcement", "news of the Kreis: a course of the training programme, "
            "funding", true, true, s_announcement_fields),
    S_TYPE ("interest", "a body is interested in an item, joins, declines or leaves it",
            false, false, s_interest_fields),
    S_TYPE ("status", "the item's owner (or its Kreis) moves it to another stage of "
            "the lifecycle (section 13)", false, false, s_status_fields),
    S_TYPE ("revise", "the item's owner (or its Kreis) changes some of its fields; the "
            "earlier values stay in the log", false, false, s_revise_fields),
    S_TYPE ("comment", "a remark on an item", false, false, s_comment_fields),
};

_Static_assert (S_COUNT (s_idea_fields) <= KH_FIELDS_MAX, "too many idea fields");
_Static_assert (S_COUNT (s_offer_fields) <= KH_FIELDS_MAX, "too many offer fields");
_Static_assert (S_COUNT (s_request_fields) <= KH_FIELDS_MAX, "too many request fields");
_Static_assert (S_COUNT (s_announcement_fields) <= KH_FIELDS_MAX,
                "too many announcement fields");
_Static_assert (S_COUNT (s_item_fields) <= KH_FIELDS_MAX, "too many item fields");

const kh_msgtype_t *
kh__schema_type (const char *name, size_t len)
{
    for (size_t i = 0; i < S_COUNT (s_types); i++)
        if (strlen (s_types [i].name) == len && memcmp (s_types [i].name, name, len) == 0)
            return &s_types [i];
    return NULL;
}

int
kh__schema_field (const kh_msgtype_t *type, const char *name, size_t len)
{
    for (size_t i = 0; i < type->count; i++)
        if (strlen (type->fields [i].name) == len
        &&  memcmp (type->fields [i].name, name, len) == 0)
            return (int) i;
    return -1;
}

int
kh__schema_item_field (const char *name, size_t len)
{
    for (size_t i = 0; i < S_COUNT (s_item_fields); i++)
        if (strlen (s_item_fields [i].name) == len
        &&  memcmp (s_item_fields [i].name, name, len) == 0)
            return (int) i;
    return -1;
}

const kh_field_t *
kh__schema_item_field_at (size_t index)
{
    return index < S_COUNT (s_item_fields) ? &s_item_fields [index] : NULL;
}

size_t
kh_schema_type_count (void)
{
    return S_COUNT (s_types);
}

const char *
kh_schema_type_name (size_t index)
{
    return index < S_COUNT (s_types) ? s_types [index].name : NULL;
}

bool
kh_schema_type_known (const char *type)
{
    return type && kh__schema_type (type, strlen (type)) != NULL;
}

bool
kh_schema_type_item (const char *type)
{
    const kh_msgtype_t *t = type ? kh__schema_type (type, strlen (type)) : NULL;
    return t && t->item;
}

/* Writes the kind column of one field: "line, 1..200 chars", "list of ags, at most 64". */
static void
s_print_kind (FILE *file, const kh_field_t *f)
{
    switch (f->kind) {
        case KH_KIND_LINE:
        case KH_KIND_TEXT:
            fprintf (file, "%s, %llu..%llu chars", f->kind == KH_KIND_LINE ? "line" : "text",
                     (unsigned long long) f->min, (unsigned long long) f->max);
            break;
        case KH_KIND_UINT:
            fprintf (file, "uint, %llu..%llu",
                     (unsigned long long) f->min, (unsigned long long) f->max);
            break;
        case KH_KIND_STRLIST:
            fprintf (file, "list of line (each 1..%u chars), at most %llu",
                     f->item_max, (unsigned long long) f->max);
            break;
        case KH_KIND_AGS:
            fprintf (file, "ags");
            break;
        case KH_KIND_AGSLIST:
            fprintf (file, "list of ags, at most %llu", (unsigned long long) f->max);
            break;
        case KH_KIND_DATE:
            fprintf (file, "date");
            break;
        case KH_KIND_ENUM:
            fprintf (file, "enum:");
            for (const char *const *v = f->values; *v; v++)
                fprintf (file, " `%s`", *v);
            break;
        case KH_KIND_REF:
            fprintf (file, "ref");
            break;
        case KH_KIND_FIELDS:
            fprintf (file, "fields, at least %llu", (unsigned long long) f->min);
            break;
    }
}

/* Writes the overview of the types: what each is and who may send it. */
static void
s_print_types (FILE *file)
{
    fprintf (file, "| type | is | `from` | meaning |\n|---|---|---|---|\n");
    for (size_t t = 0; t < S_COUNT (s_types); t++)
        fprintf (file, "| `%s` | %s | %s | %s |\n", s_types [t].name,
                 s_types [t].item ? "an item" : "about an item (`ref`)",
                 s_types [t].kreis_only ? "a Kreisschluessel only" : "any AGS",
                 s_types [t].doc);
    fprintf (file, "\n");
}

/* Writes the item fields a revise may set, in checking order. */
static void
s_print_item_fields (FILE *file)
{
    fprintf (file, "A `revise`'s `fields` may hold any of these item fields, each of the kind "
             "its item type's table gives:");
    for (size_t i = 0; i < S_COUNT (s_item_fields); i++)
        fprintf (file, "%s `%s`", i ? "," : "", s_item_fields [i].name);
    fprintf (file, ".\n\n");
}

void
kh_schema_print_markdown (FILE *file)
{
    assert (file);
    s_print_types (file);
    for (size_t t = 0; t < S_COUNT (s_types); t++) {
        const kh_msgtype_t *type = &s_types [t];
        fprintf (file, "### `%s`: %s\n\n", type->name, type->doc);
        fprintf (file, "| field | kind | required | meaning |\n|---|---|---|---|\n");
        for (size_t i = 0; i < type->count; i++) {
            const kh_field_t *f = &type->fields [i];
            fprintf (file, "| `%s` | ", f->name);
            s_print_kind (file, f);
            fprintf (file, " | %s | %s |\n", f->required ? "yes" : "no", f->doc);
        }
        fprintf (file, "\n");
        for (size_t i = 0; i < type->count; i++)
            if (type->fields [i].kind == KH_KIND_FIELDS)
                s_print_item_fields (file);
    }
}
