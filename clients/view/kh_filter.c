/*  kh_filter.c - types and senders as people give them, into a query's lists (see
    kh_filter.h). */
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

/* Writes the schema's message types (item: the item types only) into out,
   "idea, offer, ...", and their names into names (count of them). */
static size_t
s_type_names (bool item, const char *names [32], char *out, size_t cap)
{
    size_t count = 0;
    out [0] = 0;
    for (size_t i = 0; i < kh_schema_type_count () && count < 32; i++) {
        const char *name = kh_schema_type_name (i);
        if (item && !kh_schema_type_item (name))
            continue;
        size_t used = strlen (out);
        snprintf (out + used, cap - used, "%s%s", count ? ", " : "", name);
        names [count++] = name;
    }
    return count;
}

int
kh_filter_add_type (char types [][KH_TYPE_MAX + 1], size_t *count, bool item,
                    const char *text, char *err, size_t cap)
{
    if (kh_schema_type_known (text) && (!item || kh_schema_type_item (text)))
        return s_append (&types [0][0], sizeof types [0], count, text, err, cap);
    const char *names [32];
    char list [256];
    size_t n = s_type_names (item, names, list, sizeof list);
    int best = kh_suggest_best (text, names, n);
    const char *what = item ? "an item type" : "a message type";
    if (best >= 0)
        snprintf (err, cap, "'%s' is not %s; did you mean %s?", text, what, names [best]);
    else
        snprintf (err, cap, "'%s' is not %s (%s)", text, what, list);
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
kh_filter_one_ags (const kh_members_t *members, const char *text,
                   char ags [KH_AGS_MAX + 1], char *err, size_t cap)
{
    char value [KH_AGS_MAX + 1];
    int kind = s_digits (text, value);
    if (kind == 1) {
        snprintf (ags, KH_AGS_MAX + 1, "%s", text);
        return 0;
    }
    if (kind == 0)
        return s_name (members, text, ags, err, cap);
    snprintf (err, cap, "'%s' is not an AGS (8 or 5 digits) nor a name of the Kreis' "
              "members", text);
    return -1;
}

int
kh_filter_add_sender (char senders [][KH_SENDER_MAX + 1], size_t *count,
                      const kh_members_t *members, const char *text, char *err,
                      size_t cap)
{
    char value [KH_SENDER_MAX + 1];
    int kind = s_digits (text, value);
    if (kind < 0) {
        snprintf (err, cap, "'%s' is not an AGS (8 or 5 digits) nor a region prefix "
                  "(0516, 05162*)", text);
        return -1;
    }
    if (kind == 2)
        strcat (value, "*");
    if (kind == 0 && s_name (members, text, value, err, cap))
        return -1;
    if (kind == 1)
        snprintf (value, sizeof value, "%s", text);
    return s_append (&senders [0][0], sizeof senders [0], count, value, err, cap);
}

const char *
kh_filter_one_sender (const kh_query_t *query)
{
    return query->from_count == 1 && !strchr (query->from [0], '*') ? query->from [0] : "";
}
