/*  kh_query.h - the filters that queries share, read and written alike (internal to
    schema/): lists of types, senders and stages, and a search's words.
*/
#ifndef KH_QUERY_H_INCLUDED
#define KH_QUERY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <msgpack.h>
#include "kh_codec.h"

/* What the values of a filter list must be. */
typedef enum {
    KH_LIST_TYPES,                      /* message types of section 4 */
    KH_LIST_ITEM_TYPES,                 /* item types */
    KH_LIST_SENDERS,                    /* AGS, or digits and '*' */
    KH_LIST_STAGES                      /* lifecycle stages */
} kh_list_kind_t;

/* True if the len bytes at text are a sender filter (an AGS, or 1..8 digits and
   '*'); true if the filter matches the AGS ags. */
bool kh__sender_valid (const char *text, size_t len);
bool kh__sender_match (const char *filter, const char *ags);

/* Adds the len bytes at value to the list values (*count of them, each width bytes
   with its NUL) if it is valid for kind; a value held already changes nothing.
   key names the list in a reason. Returns 0, or -1 with why set (QUERY). */
int kh__list_add (kh_list_kind_t kind, const char *key, char *values, size_t width,
                  size_t *count, const char *value, size_t len, kh_problem_t *why);
/* True if the list is empty or holds value exactly. */
bool kh__list_wants (const char *values, size_t width, size_t count, const char *value);
/* Reads the optional list under key of map: a str, or an array of 1..KH_FILTER_MAX
   strs, each valid for kind (absent: *count = 0). Returns 0, or -1 with why set
   (QUERY). */
int kh__read_list (const msgpack_object *map, const char *key, kh_list_kind_t kind,
                   char *values, size_t width, size_t *count, kh_problem_t *why);
/* Packs key and the list, as a str if it holds one value, else as an array; nothing
   if it is empty. Returns 0, or -1 at the first write that fails. */
int kh__pack_list (msgpack_packer *pk, const char *key, const char *values, size_t width,
                   size_t count);
/* Reads the optional search under key of map into out (cap bytes): a str of valid
   UTF-8, 1..KH_SEARCH_MAX characters holding at least one word, no control
   character (absent: ""). Returns 0, or -1 with why set (QUERY). */
int kh__read_search (const msgpack_object *map, const char *key, char *out, size_t cap,
                     kh_problem_t *why);

#endif
