/*  kh_follow.h - following items by what they are about: a Handlungsfeld, a topic, a
    keyword, a participant. The hub filters by type and sender (PROTOCOL.md section
    6); these filters need the item a message belongs to, so they are judged here,
    on the client: an item by its own fields, a message about an item by that item as
    it stands after the message. What the follower knows of each item it learns from
    the records it sees (items, interests and revisions change it) and asks the hub
    (the catalogue) for the items it has not seen.
*/
#ifndef KH_FOLLOW_H_INCLUDED
#define KH_FOLLOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kreishub/kreishub.h"

#define KH_FOLLOW_KEYWORD_BYTES (4 * 50)    /* a keyword: 50 characters of UTF-8 */
#define KH_FOLLOW_NAMED_MAX     64          /* lead and participants an item names */
#define KH_FOLLOW_ANSWERS_MAX   64          /* bodies that answered it, remembered */
#define KH_FOLLOW_ITEMS_MAX     10000       /* items remembered; then forgotten at once */

/* What is followed; empty or 0 means any. Every attribute given must match. */
typedef struct {
    uint32_t hf;                            /* Handlungsfeld 1-5 */
    char     topic [KH_TOPIC_BYTES + 1];    /* the item's topic, ASCII case ignored */
    char     keyword [KH_FOLLOW_KEYWORD_BYTES + 1];  /* one of its keywords, likewise */
    char     participant [KH_AGS_MAX + 1];  /* owner, named as lead or participant,
                                               joined or interested; or the sender */
} kh_follow_spec_t;

/* What the follower knows of an item. */
typedef struct {
    char     owner [KH_AGS_MAX + 1];
    uint32_t hf;
    char     topic [KH_TOPIC_BYTES + 1];
    size_t   keyword_count;
    char     keywords [20][KH_FOLLOW_KEYWORD_BYTES + 1];
    size_t   named_count;                   /* lead and participants of its fields */
    char     named [KH_FOLLOW_NAMED_MAX + 1][KH_AGS_MAX + 1];
    size_t   answer_count;                  /* bodies whose latest interest says */
    char     answered [KH_FOLLOW_ANSWERS_MAX][KH_AGS_MAX + 1];
    bool     taking_part [KH_FOLLOW_ANSWERS_MAX];   /* joined or interested */
} kh_follow_item_t;

/* Fills *item with the item id as the hub has it now. Returns 0, KH_ENOITEM if the
   hub holds no such item, or another code (the hub could not be asked). */
typedef int (kh_follow_lookup_fn) (void *arg, const uint8_t id [KH_ID_SIZE],
                                   kh_follow_item_t *item);

typedef struct _kh_follow_t kh_follow_t;

/* True if spec selects anything beyond types and senders. */
bool kh_follow_spec_active (const kh_follow_spec_t *spec);

/* Creates a follower of spec that asks lookup (with arg) for the items it has not
   seen. Returns NULL if memory runs out. */
kh_follow_t *kh_follow_new (const kh_follow_spec_t *spec, kh_follow_lookup_fn *lookup,
                            void *arg);
/* Frees the follower; sets *self_p to NULL. Safe on NULL. */
void kh_follow_destroy (kh_follow_t **self_p);

/* Judges the record rec (delivered in seq order): learns from it, then sets
   *wanted. A record that is no valid envelope is not wanted. Returns 0, or the
   lookup's code if the item could not be had (*wanted is then false). */
int kh_follow_judge (kh_follow_t *self, const kh_record_t *rec, bool *wanted);

/* Fills *item from an item of the catalogue. Returns 0, or -1 if its fields are
   malformed. */
int kh_follow_item_from (const kh_item_t *from, kh_follow_item_t *item);

/* Items remembered now (for tests). */
size_t kh_follow_known (kh_follow_t *self);

#endif
