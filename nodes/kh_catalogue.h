/*  kh_catalogue.h - the catalogue of items and the counts of the log (PROTOCOL.md 14).

    Reads what the state (kh_state.h) derived: the items as their messages left
    them, newest activity first, with their fields now and their participants; and
    counts of the log's messages and items, grouped by sender, type, month, hf or
    stage. A catalogue works on a connection of the store (a reader's, as the
    recorder's query actor has), inside the caller's read transaction, so that a page
    sees one snapshot; it registers the SQL function kh_month (ts) there, the
    "YYYY-MM" of ts in Europe/Berlin (kh_berlin.h).
*/
#ifndef KH_CATALOGUE_H_INCLUDED
#define KH_CATALOGUE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_catalogue_t kh_catalogue_t;

/* Takes one item of a page, in the page's order; its views live until it returns.
   Returns 0, or -1 to stop the page (out of memory). */
typedef int (kh_catalogue_fn) (void *arg, const kh_item_t *item);

/* Creates the catalogue of the store whose connection is db (of version 3), and
   registers kh_month on it. Returns it, or NULL with why set (KH_ESTORE,
   KH_ENOMEM). */
kh_catalogue_t *kh_catalogue_new (sqlite3 *db, kh_problem_t *why);

/* Finalizes the statements and frees the catalogue; sets *self_p to NULL. Safe on
   NULL. Must come before the connection is closed. */
void kh_catalogue_destroy (kh_catalogue_t **self_p);

/* Hands one page of the items query q to add, one item at a time: the items every
   given filter of q selects (PROTOCOL.md section 14), by last_seq descending, below
   q->before if given; at most q->limit (0 or above KH_QUERY_PAGE_MAX:
   KH_QUERY_PAGE_MAX), and ending early once the page nears KH_QUERY_PAGE_BYTES
   (never empty for that). Whether an item is expired, and so open, is judged by the
   date in Europe/Berlin at now (ms since the epoch): expired after its valid_until.
   *more says whether more items match beyond the page; *next is the last item's
   last_seq (ask again with before = next), or q->before for an empty page. Returns
   0, or -1 with why set (KH_ESTORE, KH_ENOMEM, or -1 from add: KH_ENOMEM). */
int kh_catalogue_items (kh_catalogue_t *self, const kh_items_query_t *q, uint64_t now,
                        kh_catalogue_fn *add, void *arg, bool *more, uint64_t *next,
                        kh_problem_t *why);

/* Counts the messages the stats query q selects, and the items among them, in
   total and grouped by q->by (PROTOCOL.md section 14), with the store's head and
   size, into a new count in *stats_p (free it with kh_stats_destroy). Returns 0, or
   -1 with why set (KH_EQUERY for a `by` it does not know, KH_ESTORE, KH_ENOMEM) and
   *stats_p NULL. */
int kh_catalogue_stats (kh_catalogue_t *self, const kh_stats_query_t *q,
                        kh_stats_t **stats_p, kh_problem_t *why);

#ifdef __cplusplus
}
#endif
#endif
