/*  kh_itemview.h - items as people read them: the catalogue's rows (`kreishub items`),
    one item with its participants (`kreishub show`), its history as a timeline of
    sentences ("declined", "status: decided", "revised title"), and where the
    lifecycle lets it go next.

    Everything here formats what the hub sent (kh_item_t, kh_record_t) and never
    trusts it: a field of the wrong kind is shown as JSON, a record that cannot be
    read as '?'. Names stand next to every AGS (kh_members.h); times are Europe/Berlin
    (kh_when.h); a table's texts stay on one line.
*/
#ifndef KH_ITEMVIEW_H_INCLUDED
#define KH_ITEMVIEW_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include <msgpack.h>
#include "kh_members.h"
#include "kreishub/kreishub.h"

/* ------------------------------------------------------------- lifecycle */
/* The lifecycle's stages, in their order (the schema's values of status.status:
   proposed ... done, withdrawn last). */
size_t kh_lifecycle_count (void);
const char *kh_lifecycle_stage (size_t index);

/* True if text names a stage. */
bool kh_lifecycle_known (const char *text);

/* Writes the stages that an item at stage now may move to into out: every later
   one (skipping is allowed), withdrawn from any stage but done, "pilot, rollout,
   done or withdrawn"; "" from a final stage (done, withdrawn). */
void kh_lifecycle_next (const char *now, char *out, size_t cap);

/* ---------------------------------------------------------------- values */
/* Writes a value of a body or of an item's fields as text into out (cap bytes, cut
   at a character): a str as it is, an integer in decimal, a list's items joined by
   ", ", an id (bin of 16) as kh_id_format writes it, anything else as JSON. With
   names, an AGS (a str of 5 or 8 digits) gets its name after it. Control
   characters become blanks when one_line. */
void kh_itemview_value (const msgpack_object *value, const kh_members_t *names,
                        bool one_line, char *out, size_t cap);

/* Writes the item's field name now as kh_itemview_value does (no names, one line).
   Returns 0, or -1 (out "") if the item does not have it. */
int kh_itemview_field (const kh_item_t *item, const char *name, char *out, size_t cap);

/* ------------------------------------------------------------- catalogue */
/* The catalogue's header and one item as a row: SEQ (the item's own, which every
   command takes as its ID), TYPE, OWNER with its name, STATUS (", expired"), HF,
   JOINED/INTERESTED, LAST (the date of its latest message), TITLE. */
void kh_itemview_header (FILE *file, const kh_members_t *names);
void kh_itemview_row (FILE *file, const kh_item_t *item, const kh_members_t *names);

/* One item as a line of JSON: id, seq, type, owner, owner_name, ts, status,
   status_seq, status_ts, expired, the counts, messages, last_seq, last_ts (times
   ISO 8601 UTC), fields (a map), participants [{ags, name, state, since, seq}].
   Returns 0, or -1 if memory ran out or its fields cannot be read. */
int kh_itemview_json (FILE *file, const kh_item_t *item, const kh_members_t *names);

/* ------------------------------------------------------------------ show */
/* Prints the item as `show` does: its type, seq and title, then one line per
   fact (id, owner, published, status with where it may go next, answers, last
   activity) and per field it has, names next to every AGS; then its participants
   (AGS, name, state, since when). */
void kh_itemview_show (FILE *file, const kh_item_t *item, const kh_members_t *names);

/* Writes what the message rec did to its item, as a sentence without its sender:
   'published the offer "TITLE"', "joined", "is interested: TEXT", "declined",
   "left", "status: decided", "withdrew it", "revised title, hf", "comment: TEXT";
   texts on one line. Returns 0, or -1 ("?") if rec cannot be read. */
int kh_itemview_event (const kh_record_t *rec, char *out, size_t cap);

/* Prints rec as a line of the timeline: its publication time (Berlin), seq, the
   sender's name (else AGS) and kh_itemview_event. */
void kh_itemview_timeline (FILE *file, const kh_record_t *rec, const kh_members_t *names);

#endif
