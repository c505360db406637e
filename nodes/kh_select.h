/*  kh_select.h - SELECTs built from a query's filters on one connection, cached by shape.

    The reads of the store (kh_store_query, the catalogue) build their SQL from the
    filters a query gives: a list of types becomes "type IN (?, ?)", a sender prefix
    a range of the sender index, a search an FTS5 MATCH. User text never enters the
    SQL: every value is a bound parameter, and the words of a search are quoted as
    FTS5 strings. The SQL text alone is the statement's shape (the number of values
    of each list is in it, the values are not), so a statement prepared once is kept
    under its text and bound again for the next query of the same shape.

    Use: kh_select_begin, then kh_select_sql / _int / _text / _in / _senders /
    _match to write the statement, kh_select_statement to get it prepared and bound,
    step it, and kh_select_end. One statement is built and in use at a time.
*/
#ifndef KH_SELECT_H_INCLUDED
#define KH_SELECT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_select_t kh_select_t;

/* Creates a builder for statements on db (which must outlive it). Returns it, or
   NULL if memory runs out. */
kh_select_t *kh_select_new (sqlite3 *db);

/* Finalizes every cached statement and frees the builder; sets *self_p to NULL.
   Safe on NULL. Must come before db is closed. */
void kh_select_destroy (kh_select_t **self_p);

/* Starts a new statement: forgets the text and parameters built so far. */
void kh_select_begin (kh_select_t *self);

/* Appends literal SQL, printf-formatted. The format and its arguments are the
   program's own text (column names, keywords), never a value of a query. */
void kh_select_sql (kh_select_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Appends a parameter "?" bound to value (above INT64_MAX: INT64_MAX, the largest
   SQLite holds), or to text (copied). */
void kh_select_int (kh_select_t *self, uint64_t value);
void kh_select_text (kh_select_t *self, const char *text);

/* Appends " AND column IN (?, ...)" with the count values of width bytes each at
   values (a kh_query_t list); nothing if count is 0. */
void kh_select_in (kh_select_t *self, const char *column, const char *values,
                   size_t width, size_t count);

/* Appends " AND (...)" matching column against the count sender filters at values:
   an AGS as "column = ?", a prefix ("0516*") as "column >= '0516' AND column <
   '0516:'" (AGS are digits, and ':' follows '9'), so that an index on column can
   serve it; nothing if count is 0. */
void kh_select_senders (kh_select_t *self, const char *column, const char *values,
                        size_t width, size_t count);

/* True if every one of the count sender filters at values is an AGS (no prefix). */
bool kh_select_exact (const char *values, size_t width, size_t count);

/* Appends a parameter "?" bound to the FTS5 query of the words of search (split at
   blanks): each word a quoted FTS5 string ('"' doubled inside), so that no word is
   FTS5 syntax (AND, NEAR, column:, ^, ...); a word ending in '*' is a prefix ("zwill"
   *). All words must match. A search of no word but '*' matches nothing. */
void kh_select_match (kh_select_t *self, const char *search);

/* Returns the statement of the SQL built since kh_select_begin with its parameters
   bound: prepared on first use of that text and kept for the next. Returns NULL with
   why set if memory ran out while building (KH_ENOMEM) or SQLite refuses the SQL
   (KH_ESTORE). */
sqlite3_stmt *kh_select_statement (kh_select_t *self, kh_problem_t *why);

/* Resets the statement kh_select_statement returned and clears its bindings. */
void kh_select_end (kh_select_t *self, sqlite3_stmt *stmt);

/* Returns the SQL built since kh_select_begin (for EXPLAIN QUERY PLAN in tests). */
const char *kh_select_text_of (kh_select_t *self);

#ifdef __cplusplus
}
#endif
#endif
