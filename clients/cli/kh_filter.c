/*  kh_filter.c - types and senders that log and subscribe select (see kh_filter.h). */
#include <czmq.h>
#include <string.h>
#include "kh_filter.h"
#include "kh_json.h"
#include "kh_suggest.h"

#define S_NEAR_MAX 4                    /* names offered for a mistyped one */

/* True if text is one of count entries of list (each width bytes). */
static bool
s_listed (const char *list, size_t width, size_t count, const char *text)
{
    for (size_t i = 0; i < count; i++)
        if (streq (list + i * width, text))
            return true;
    return false;
}

/* Appends text to list (count of width bytes each) unless it is there. Returns 0,
   or -1 with err if the list is full. */
static int
s_append (char *list, size_t width, size_t *count, const char *text, char *err, size_t cap)
{
    if (s_listed (list, width, *count, text))
        return 0;
    if (*count == KH_FILTER_MAX) {
        snprintf (err, cap, "at most %d of them, please", KH_FILTER_MAX);
        return -1;
    }
    snprintf (list + *count * width, width, "%s", text);
    (*count)++;
    return 0;
}

/* Writes the schema's message types into out, "idea, offer, ...". */
static void
s_type_names (char *out, size_t cap)
{
    out [0] = 0;
    for (size_t i = 0; i < kh_schema_type_count (); i++) {
        size_t used = strlen (out);
        snprintf (out + used, cap - used, "%s%s", i ? ", " : "", kh_schema_type_name (i));
    }
}

int
kh_filter_add_type (kh_filter_t *self, const char *text, char *err, size_t cap)
{
    if (kh_schema_type_known (text))
        return s_append (&self->types [0][0], sizeof self->types [0], &self->type_count,
                         text, err, cap);
    const char *names [32];
    size_t count = kh_schema_type_count ();
    for (size_t i = 0; i < count && i < 32; i++)
        names [i] = kh_schema_type_name (i);
    int best = kh_suggest_best (text, names, count < 32 ? count : 32);
    char list [256];
    s_type_names (list, sizeof list);
    if (best >= 0)
        snprintf (err, cap, "'%s' is not a message type; did you mean %s?", text,
                  names [best]);
    else
        snprintf (err, cap, "'%s' is not a message type (%s)", text, list);
    return -1;
}

/* Reads text as digits, optionally ending in '*'. Returns 1 for an exact AGS, 2 for
   a prefix (copied into prefix without the '*'), 0 if it is not digits, -1 for
   digits that are neither. */
static int
s_digits (const char *text, char prefix [KH_AGS_MAX + 1])
{
    size_t digits = strspn (text, "0123456789"), len = strlen (text);
    bool star = digits + 1 == len && text [digits] == '*';
    if (digits == 0 || (digits != len && !star))
        return 0;
    if (digits > KH_AGS_MAX)
        return -1;
    if (!star && kh_ags_valid (text, len))
        return 1;
    if (!star && (digits == 5 || digits == 8))
        return -1;
    snprintf (prefix, KH_AGS_MAX + 1, "%.*s", (int) digits, text);
    return 2;
}

/* Writes "A (AGS), B (AGS) or C (AGS)" for the n idents into out. */
static void
s_idents (const kh_ident_t *const idents [], size_t n, char *out, size_t cap)
{
    out [0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen (out);
        snprintf (out + used, cap - used, "%s%s (%s)", i == 0 ? "" : i + 1 < n ? ", " : " or ",
                  idents [i]->name, idents [i]->ags);
    }
}

/* Finds the AGS that the name text names among members into ags. Returns 0, or -1
   with err saying which names it begins, or which are near. */
static int
s_name (const kh_members_t *members, const char *text, char ags [KH_AGS_MAX + 1],
        char *err, size_t cap)
{
    const kh_ident_t *found [S_NEAR_MAX] = { NULL };
    char list [512];
    size_t n = members ? kh_members_find (members, text, found, S_NEAR_MAX) : 0;
    if (n == 1) {
        snprintf (ags, KH_AGS_MAX + 1, "%s", found [0]->ags);
        return 0;
    }
    if (n > 1) {
        s_idents (found, n < S_NEAR_MAX ? n : S_NEAR_MAX, list, sizeof list);
        snprintf (err, cap, "'%s' begins %zu names: %s%s; give more of it", text, n, list,
                  n > S_NEAR_MAX ? ", ..." : "");
        return -1;
    }
    n = members ? kh_members_near (members, text, found, S_NEAR_MAX) : 0;
    s_idents (found, n, list, sizeof list);
    if (n)
        snprintf (err, cap, "'%s' is not a name of the Kreis' members; did you mean %s?",
                  text, list);
    else
        snprintf (err, cap, "'%s' is neither an AGS (8 or 5 digits), a region prefix "
                  "(0516, 05162*) nor a name of the Kreis' members", text);
    return -1;
}

int
kh_filter_add_sender (kh_filter_t *self, const kh_members_t *members, const char *text,
                      char *err, size_t cap)
{
    char value [KH_AGS_MAX + 1];
    int kind = s_digits (text, value);
    if (kind < 0) {
        snprintf (err, cap, "'%s' is not an AGS (8 or 5 digits) nor a region prefix "
                  "(0516, 05162*)", text);
        return -1;
    }
    if (kind == 2)
        return s_append (&self->prefixes [0][0], sizeof self->prefixes [0],
                         &self->prefix_count, value, err, cap);
    if (kind == 0 && s_name (members, text, value, err, cap))
        return -1;
    if (kind == 1)
        snprintf (value, sizeof value, "%s", text);
    return s_append (&self->senders [0][0], sizeof self->senders [0], &self->sender_count,
                     value, err, cap);
}

bool
kh_filter_match_sender (const kh_filter_t *self, const char *ags)
{
    if (self->sender_count == 0 && self->prefix_count == 0)
        return true;
    if (s_listed (&self->senders [0][0], sizeof self->senders [0], self->sender_count, ags))
        return true;
    for (size_t i = 0; i < self->prefix_count; i++)
        if (strncmp (ags, self->prefixes [i], strlen (self->prefixes [i])) == 0)
            return true;
    return false;
}

bool
kh_filter_match (const kh_filter_t *self, const char *type, const char *from)
{
    return (self->type_count == 0
            || s_listed (&self->types [0][0], sizeof self->types [0], self->type_count, type))
        && kh_filter_match_sender (self, from);
}

bool
kh_filter_match_record (const kh_filter_t *self, const kh_record_t *rec)
{
    if (!self->type_count && !self->sender_count && !self->prefix_count)
        return true;
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    bool match = false;
    if (kh_record_unpack (rec, &u, &pieces) == 0
    &&  pieces.type->via.str.size <= KH_TYPE_MAX && pieces.from->via.str.size <= KH_AGS_MAX) {
        char type [KH_TYPE_MAX + 1], from [KH_AGS_MAX + 1];
        snprintf (type, sizeof type, "%.*s", (int) pieces.type->via.str.size,
                  pieces.type->via.str.ptr);
        snprintf (from, sizeof from, "%.*s", (int) pieces.from->via.str.size,
                  pieces.from->via.str.ptr);
        match = kh_filter_match (self, type, from);
    }
    msgpack_unpacked_destroy (&u);
    return match;
}

const char *
kh_filter_hub_type (const kh_filter_t *self)
{
    return self->type_count == 1 ? self->types [0] : "";
}

const char *
kh_filter_hub_sender (const kh_filter_t *self)
{
    return self->sender_count == 1 && self->prefix_count == 0 ? self->senders [0] : "";
}

size_t
kh_filter_queries (const kh_filter_t *self, const kh_query_t *base,
                   kh_query_t out [KH_FILTER_QUERIES_MAX])
{
    size_t types = self->type_count ? self->type_count : 1;
    size_t senders = self->sender_count && !self->prefix_count ? self->sender_count : 1;
    if (types * senders > KH_FILTER_QUERIES_MAX)
        senders = 1;                    /* the senders are tested here instead */
    size_t count = 0;
    for (size_t t = 0; t < types; t++)
        for (size_t s = 0; s < senders; s++) {
            out [count] = *base;
            out [count].type_count = 0;
            out [count].from_count = 0;
            if (self->type_count)       /* valid: kh_filter_add_type checked it */
                kh_query_add_type (&out [count], self->types [t], NULL);
            if (senders > 1 || kh_filter_hub_sender (self) [0])
                kh_query_add_from (&out [count], self->senders [s], NULL);
            count++;
        }
    return count;
}
