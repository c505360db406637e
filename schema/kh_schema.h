/*  kh_schema.h - the message types and their body fields, declared once (internal).

    kh_schema.c holds the table; kh_envelope.c validates against it, kreishub-schema
    prints it as the field tables of PROTOCOL.md. Adding a field or a type is an
    edit to the table and nothing else.
*/
#ifndef KH_SCHEMA_H_INCLUDED
#define KH_SCHEMA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KH_FIELDS_MAX 24                /* fields of one type, and item fields, at most */

typedef enum {
    KH_KIND_LINE,                       /* str of min..max characters, one line */
    KH_KIND_TEXT,                       /* str of min..max characters, LF and TAB allowed */
    KH_KIND_UINT,                       /* integer in min..max */
    KH_KIND_STRLIST,                    /* array of min..max lines, each 1..item_max chars */
    KH_KIND_AGS,                        /* str: 8 or 5 digits */
    KH_KIND_AGSLIST,                    /* array of min..max AGS, no repeats */
    KH_KIND_DATE,                       /* str YYYY-MM-DD, a real date */
    KH_KIND_ENUM,                       /* str from values */
    KH_KIND_REF,                        /* bin of 16 bytes, not all zero: an item's id */
    KH_KIND_FIELDS                      /* map of min.. item fields, each by its kind */
} kh_kind_t;

typedef struct {
    const char         *name;           /* key in the body map */
    kh_kind_t           kind;
    bool                required;
    uint64_t            min, max;       /* characters (texts), value (uint), items (lists) */
    uint32_t            item_max;       /* characters per list item (STRLIST) */
    const char *const  *values;         /* NULL-terminated (ENUM) */
    const char         *doc;            /* one line for PROTOCOL.md */
} kh_field_t;

typedef struct {
    const char         *name;           /* the envelope's "type" */
    const char         *doc;
    bool                item;           /* starts an item (else it refers to one) */
    bool                kreis_only;     /* from must be a Kreisschluessel (FORBIDDEN) */
    const kh_field_t   *fields;
    size_t              count;
} kh_msgtype_t;

/* Returns the type named by the len bytes at name, or NULL if there is none. */
const kh_msgtype_t *kh__schema_type (const char *name, size_t len);
/* Returns the index of the field named by len bytes at name in type, or -1. */
int kh__schema_field (const kh_msgtype_t *type, const char *name, size_t len);
/* The item fields: every field of the item types once, by name, in a fixed order
   (the common ones, then each item type's own); what a revise may set. Returns the
   index of the one named by the len bytes at name, or -1. */
int kh__schema_item_field (const char *name, size_t len);
/* Returns the item field at index (0 ..), or NULL past the last. */
const kh_field_t *kh__schema_item_field_at (size_t index);

#endif
