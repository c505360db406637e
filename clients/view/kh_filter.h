/*  kh_filter.h - what `log`, `subscribe`, `items` and `stats` select, as people give
    it: message types and senders, each given as often as wanted (--type idea --type
    offer); a sender as an AGS, a name from the Kreis' registry (kh_members.h), or a
    region prefix (0516, 05162*).

    The selection goes straight into a kh_query_t's lists (kreishub/kh_wire.h), which
    the hub filters by itself (PROTOCOL.md sections 5 and 6); here it is read, names
    made AGS, and a mistake told with "did you mean".
*/
#ifndef KH_FILTER_H_INCLUDED
#define KH_FILTER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "kh_members.h"
#include "kreishub/kreishub.h"

/* Adds the message type text to the list types (*count of them, at most
   KH_FILTER_MAX; a type held already changes nothing); item true accepts only the
   item types. Returns 0, or -1 with err (cap bytes) saying "'ida' is not a message
   type; did you mean idea?" (or listing the types). */
int kh_filter_add_type (char types [][KH_TYPE_MAX + 1], size_t *count, bool item,
                        const char *text, char *err, size_t cap);

/* Adds the sender text to the list senders in the form the hub takes: an AGS (8 or
   5 digits), a region prefix as digits and '*' (given as 1 to 7 digits but 5, or
   with the '*': 05162* is the Kreis and its members), or the AGS of a name members
   knows (NULL: none). Returns 0, or -1 with err (cap bytes) saying why: a name that
   begins several names lists them; one that is none offers the near ones. */
int kh_filter_add_sender (char senders [][KH_SENDER_MAX + 1], size_t *count,
                          const kh_members_t *members, const char *text, char *err,
                          size_t cap);

/* Reads a single AGS or name (no region) into ags. Returns 0, or -1 with err. */
int kh_filter_one_ags (const kh_members_t *members, const char *text,
                       char ags [KH_AGS_MAX + 1], char *err, size_t cap);

/* The exact AGS if the query's senders are one AGS, else "" (none, several, or a
   region prefix). */
const char *kh_filter_one_sender (const kh_query_t *query);

#endif
