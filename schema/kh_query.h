/*  kh_query.h - what the queries and their pages share, read and written alike
    (internal to schema/): the strict reading of a query's map, lists of types,
    senders and stages, a line of text or a search, an id, and the ROWS reply's
    frame.
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
/* Reads the optional text under key of map into out (cap bytes): a str of valid
   UTF-8 of 1..max characters with no control character (C0, DEL or C1), holding a
   word (a character other than a blank) if word is true (absent: ""). Returns 0,
   or -1 with why set (QUERY). */
int kh__read_text (const msgpack_object *map, const char *key, size_t max, bool word,
                   char *out, size_t cap, kh_problem_t *why);
/* Reads the optional search under key of map into out (cap bytes): a text of
   1..KH_SEARCH_MAX characters holding a word, as kh__read_text reads it. */
int kh__read_search (const msgpack_object *map, const char *key, char *out, size_t cap,
                     kh_problem_t *why);

/* ------------------------------------------------------------- strict maps */
#define KH__QUERY_KEYS 16               /* keys of one kind of query at most */

/* Reads one kind of query from its unpacked map into query. Returns 0, or -1 with
   why set. */
typedef int (kh__query_read_fn) (const msgpack_object *map, void *query, kh_problem_t *why);

/* Decodes a query's body of any kind: zeroes query (query_size bytes), applies the
   frame's own rules first, as for an envelope: size (TOO_LARGE over
   KH_ENVELOPE_MAX), then msgpack (MALFORMED); then read fills query from the map.
   Returns 0, or -1 with why set. */
int kh__query_decode (const void *data, size_t size, kh__query_read_fn *read, void *query,
                      size_t query_size, kh_problem_t *why);
/* Reads the head of a query's map strictly: a map whose every key is one of keys
   (at most KH__QUERY_KEYS, NULL-terminated), none given twice, with req an integer
   > 0. Before any check, *req gets the map's "req" if it holds it exactly once as
   an integer > 0 (PROTOCOL.md section 5), for the ERROR to echo. Returns 0, or -1
   with why set (QUERY). */
int kh__query_head (const msgpack_object *map, const char *const keys [], uint64_t *req,
                    kh_problem_t *why);
/* Reads the optional id under key of map: a bin of 16 bytes, not all zero (absent:
   *has false). Returns 0, or -1 with why set (QUERY). */
int kh__read_ref (const msgpack_object *map, const char *key, bool *has,
                  uint8_t id [KH_ID_SIZE], kh_problem_t *why);

/* Pack key and value unless value is 0 (no bound), key and text unless text is ""
   (any): the key is left out then. Return 0, or -1 at the first write that fails. */
int kh__pack_bound (msgpack_packer *pk, const char *key, uint64_t value);
int kh__pack_filter (msgpack_packer *pk, const char *key, const char *text);

/* ------------------------------------------------------------- pages */
/* Encodes one row (a record, an audit record, an item) onto out: 0, or -1 if memory
   ran out (out as it was). */
typedef int (kh__row_encode_fn) (msgpack_sbuffer *out, const void *row);
/* Adds the row encode writes to a ROWS reply in the making. Returns 0, or -1 if
   memory runs out (the writer as it was). */
int kh__rows_writer_add_row (kh_rows_writer_t *self, kh__row_encode_fn *encode,
                             const void *row);
/* Reads the head of a ROWS reply's map (decoded leniently): req, more, next, and
   its list of rows into *list. Returns 0, or -1 with why set. */
int kh__rows_head (const msgpack_object *map, uint64_t *req, bool *more, uint64_t *next,
                   const msgpack_object **list, kh_problem_t *why);

#endif
