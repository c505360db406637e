/*  kh_filter.h - what `log` and `subscribe` select: message types and senders, each
    given as often as wanted (--type idea --type offer); a sender as an AGS, a name
    from the Kreis' registry (kh_members.h), or a region prefix (0516, 05162*).

    The hub filters by one type and one exact sender (PROTOCOL.md sections 5 and 6),
    so the filter also says which queries fetch what it selects (one per type and
    sender, or fewer that fetch more) and tests every record the CLI receives.
*/
#ifndef KH_FILTER_H_INCLUDED
#define KH_FILTER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "kh_members.h"
#include "kh_opts.h"
#include "kreishub/kreishub.h"

/* KH_FILTER_MAX (kh_wire.h): types, senders, prefixes each, as KH_OPTS_LIST_MAX */
#define KH_FILTER_QUERIES_MAX  16                   /* queries one filter asks */

/* The selection; zero-initialised it selects everything. A list that is empty
   means any; each holds a value once. */
typedef struct {
    char   types [KH_FILTER_MAX][KH_TYPE_MAX + 1];
    size_t type_count;
    char   senders [KH_FILTER_MAX][KH_AGS_MAX + 1];    /* exact AGS */
    size_t sender_count;
    char   prefixes [KH_FILTER_MAX][KH_AGS_MAX + 1];   /* an AGS begins so */
    size_t prefix_count;
} kh_filter_t;

/* Adds the message type text. Returns 0, or -1 with err (cap bytes) saying "'ida'
   is not a message type; did you mean idea?" (or listing the types). */
int kh_filter_add_type (kh_filter_t *self, const char *text, char *err, size_t cap);

/* Adds the sender text: an AGS (8 or 5 digits), a region prefix (1 to 7 digits but
   5, or digits and '*': 05162* is the Kreis and its members), or a name members
   knows (NULL: none). Returns 0, or -1 with err (cap bytes) saying why: a name
   that begins several names lists them; one that is none offers the near ones. */
int kh_filter_add_sender (kh_filter_t *self, const kh_members_t *members,
                          const char *text, char *err, size_t cap);

/* True if a message of type from the sender from is selected. */
bool kh_filter_match (const kh_filter_t *self, const char *type, const char *from);

/* True if the record rec is selected; a record whose envelope cannot be read is
   selected only by a filter that names no type and no sender. */
bool kh_filter_match_record (const kh_filter_t *self, const kh_record_t *rec);

/* True if the AGS ags is among the senders selected (any if none are named). */
bool kh_filter_match_sender (const kh_filter_t *self, const char *ags);

/* The type and the exact sender the hub can filter by, or "" when the filter
   names none or several of them (or, for the sender, a region prefix). */
const char *kh_filter_hub_type (const kh_filter_t *self);
const char *kh_filter_hub_sender (const kh_filter_t *self);

/* Writes into out the queries that fetch every record the filter selects within
   base's bounds (base's type and from are ignored): one per type and exact sender
   if they are at most KH_FILTER_QUERIES_MAX, else one per type. Records they fetch
   may still fail kh_filter_match; a record may come from two of them if the hub
   gives more than asked. Returns how many (at least 1). */
size_t kh_filter_queries (const kh_filter_t *self, const kh_query_t *base,
                          kh_query_t out [KH_FILTER_QUERIES_MAX]);

#endif
