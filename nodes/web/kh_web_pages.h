/*  kh_web_pages.h - kreishub-web's read-only pages and static files: their routes, and what the page files share.

    The pages are the catalogue (/), an item with its timeline (/item/SEQ), the
    log for admins (/log, /log.csv, /log.jsonl), the statistics (/stats), the
    audit for admins (/audit) and the embedded /static/ files. Each reads the
    store through the request's read-only connection (kh_web_req_store): a page
    of a query is written by the store as the recorder would answer it, and
    decoded here (kh__web_read_*), so that the web node reads exactly what the
    CLI gets over the wire.
*/
#ifndef KH_WEB_PAGES_H_INCLUDED
#define KH_WEB_PAGES_H_INCLUDED

#include <msgpack.h>
#include "kh_web.h"
#include "kreishub/kreishub.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The routes of the pages and the static files, for kh_web_add_routes (arg
   NULL). */
const kh_web_route_t *kh_web_pages_routes (void);

/* ---------------------------------------------- internal: the other pages' handlers */
int kh__web_log (kh_web_req_t *req);            /* kh_web_log.c */
int kh__web_log_csv (kh_web_req_t *req);
int kh__web_log_jsonl (kh_web_req_t *req);
int kh__web_audit (kh_web_req_t *req);
int kh__web_stats (kh_web_req_t *req);          /* kh_web_stats.c */
int kh__web_static (kh_web_req_t *req);         /* kh_web_static.c */

/* ------------------------------------------------- internal: reading the store */
/* One decoded page of items, of records and of audit records; each keeps the
   bytes its rows point into. Release what a read filled even when it failed. */
typedef struct { msgpack_sbuffer sb; kh_item_rows_t rows; } kh__web_items_t;
typedef struct { msgpack_sbuffer sb; kh_rows_t rows; } kh__web_records_t;
typedef struct { msgpack_sbuffer sb; kh_audit_rows_t rows; } kh__web_audit_t;

/* Read one page of the query from the request's store into page. Return 0, or
   -1 after logging why (the store cannot be opened or read). */
int kh__web_read_items (kh_web_req_t *req, const kh_items_query_t *q, kh__web_items_t *page);
int kh__web_read_records (kh_web_req_t *req, const kh_query_t *q, kh__web_records_t *page);
int kh__web_read_audit (kh_web_req_t *req, const kh_audit_query_t *q, kh__web_audit_t *page);
void kh__web_items_release (kh__web_items_t *page);
void kh__web_records_release (kh__web_records_t *page);
void kh__web_audit_release (kh__web_audit_t *page);

/* ------------------------------------------------------ internal: German words */
/* The German word for a message type, a lifecycle stage, a participant's state
   (the text itself if it is none known). */
const char *kh__web_type_label (const char *type);
const char *kh__web_stage_label (const char *stage);
const char *kh__web_state_label (const char *state);

/* The German name of an item's field ("Beschreibung"), the key itself if none. */
const char *kh__web_field_label (const char *field);

/* Writes the stages an item at stage now may move to, in German, escaped
   ("keine (abgeschlossen)" from a final one). */
void kh__web_next_stages (kh_web_req_t *req, const char *now);

/* Writes what the message rec did to its item, in German, escaped, into the
   answer ('veröffentlichte das Angebot „TITEL“', 'ist beteiligt', 'Status:
   beschlossen', 'überarbeitete title, hf', 'Kommentar: TEXT'). Returns 0, or -1
   if rec cannot be read ("?" written). */
int kh__web_event (kh_web_req_t *req, const kh_record_t *rec);

/* ------------------------------------------------------ internal: forms */
/* Reads the repeated parameter key (types or senders) into list (*count of
   them, at most KH_FILTER_MAX), as kh_filter does for the CLI; empty values are
   skipped. Returns 0, or answers 400 with why and returns -1. */
int kh__web_types (kh_web_req_t *req, const char *key, bool items,
                   char list [][KH_TYPE_MAX + 1], size_t *count);
int kh__web_senders (kh_web_req_t *req, const char *key,
                     char list [][KH_SENDER_MAX + 1], size_t *count);

/* Reads the number parameter key (absent or "": *value 0) of at most max.
   Returns 0, or answers 400 and returns -1. */
int kh__web_number (kh_web_req_t *req, const char *key, uint64_t max, uint64_t *value);

/* Writes a <select name="key"> of the Kreis and its members (value their AGS),
   with "alle" first and chosen selected. */
void kh__web_member_select (kh_web_req_t *req, const char *key, const char *chosen);

/* Writes "?" and the request's parameters but those named in skip (NULL-ended),
   then key=value if key is not NULL, as a link's escaped href part. */
void kh__web_link_params (kh_web_req_t *req, const char *const *skip, const char *key,
                          const char *value);

#ifdef __cplusplus
}
#endif
#endif
