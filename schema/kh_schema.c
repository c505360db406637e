/*  kh_schema.c - the table of message types and body fields, and its Markdown form. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_schema.h"

static const char *const s_maturity [] = {
    "concept", "development", "beta", "stable", "obsolete", NULL
};

/* Fields every item has, then each type's own. Order is validation order. */
#define KH_COMMON_FIELDS \
    { "title", KH_KIND_STR, true, 1, KH_TITLE_MAX, 0, NULL, \
      "short title of the item" }, \
    { "description", KH_KIND_STR, false, 1, 8000, 0, NULL, \
      "what it is, why, for whom" }, \
    { "hf", KH_KIND_UINT, false, 1, 5, 0, NULL, \
      "Handlungsfeld of the digital masterplan, 1-5" }, \
    { "topic", KH_KIND_STR, false, 1, 100, 0, NULL, \
      "category, e.g. an OZG Themenfeld or Querschnitt" }, \
    { "keywords", KH_KIND_STRLIST, false, 0, 20, 50, NULL, \
      "free keywords" }, \
    { "lead", KH_KIND_AGS, false, 0, 0, 0, NULL, \
      "AGS of the body leading it" }, \
    { "participants", KH_KIND_AGSLIST, false, 0, 64, 0, NULL, \
      "AGS of the bodies taking part, no repeats" }, \
    { "status", KH_KIND_ENUM, false, 0, 0, 0, s_maturity, \
      "maturity (publiccode.yml developmentStatus)" }, \
    { "start", KH_KIND_DATE, false, 0, 0, 0, NULL, \
      "planned or actual start" }, \
    { "contact", KH_KIND_STR, false, 1, 200, 0, NULL, \
      "contact person or office" }

static const kh_field_t s_idea_fields [] = {
    KH_COMMON_FIELDS,
    { "benefit", KH_KIND_STR, false, 1, 2000, 0, NULL,
      "expected benefit for the municipalities" },
};

static const kh_field_t s_offer_fields [] = {
    KH_COMMON_FIELDS,
    { "cost", KH_KIND_STR, false, 1, 200, 0, NULL,
      "costs or funding model, e.g. free of charge" },
    { "licence", KH_KIND_STR, false, 1, 64, 0, NULL,
      "SPDX licence id, for software" },
    { "valid_until", KH_KIND_DATE, false, 0, 0, 0, NULL,
      "last day the offer stands" },
};

#define S_COUNT(a) (sizeof (a) / sizeof ((a) [0]))

static const kh_msgtype_t s_types [] = {
    { "idea", "a project idea a body proposes for cooperation",
      s_idea_fields, S_COUNT (s_idea_fields) },
    { "offer", "a shared service a body offers to others",
      s_offer_fields, S_COUNT (s_offer_fields) },
};

_Static_assert (S_COUNT (s_idea_fields) <= KH_FIELDS_MAX, "too many idea fields");
_Static_assert (S_COUNT (s_offer_fields) <= KH_FIELDS_MAX, "too many offer fields");

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

/* Writes the kind column of one field: "str 1..200 bytes", "list of ags, <= 64". */
static void
s_print_kind (FILE *file, const kh_field_t *f)
{
    switch (f->kind) {
        case KH_KIND_STR:
            fprintf (file, "str, %llu..%llu bytes",
                     (unsigned long long) f->min, (unsigned long long) f->max);
            break;
        case KH_KIND_UINT:
            fprintf (file, "uint, %llu..%llu",
                     (unsigned long long) f->min, (unsigned long long) f->max);
            break;
        case KH_KIND_STRLIST:
            fprintf (file, "list of str (each 1..%u bytes), at most %llu",
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
    }
}

void
kh_schema_print_markdown (FILE *file)
{
    assert (file);
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
    }
}
