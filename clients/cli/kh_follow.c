/*  kh_follow.c - following items by Handlungsfeld, topic, keyword and participant:
    a cache of what each item is about, kept up to date by the records that pass,
    and the judgement of each record against the spec (kh_follow.h).
*/
#include <assert.h>
#include <string.h>
#include <czmq.h>
#include <msgpack.h>
#include "kh_follow.h"

struct _kh_follow_t {
    kh_follow_spec_t     spec;
    kh_follow_lookup_fn *lookup;
    void                *arg;
    zhashx_t            *items;         /* id (32 hex digits) -> kh_follow_item_t */
};

/* ------------------------------------------------------------- msgpack */

/* True if o is a str equal to the C string s. */
static bool
s_str_is (const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && strlen (s) == o->via.str.size
        && memcmp (o->via.str.ptr, s, o->via.str.size) == 0;
}

/* Returns the value under key in map, or NULL. */
static const msgpack_object *
s_get (const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_str_is (&map->via.map.ptr [i].key, key))
            return &map->via.map.ptr [i].val;
    return NULL;
}

/* Copies a str object into buf (cap bytes with the NUL); "" if o is no str or does
   not fit (the envelope check bounds every field, so only a caller's error cuts). */
static void
s_copy (const msgpack_object *o, char *buf, size_t cap)
{
    buf [0] = 0;
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size < cap) {
        memcpy (buf, o->via.str.ptr, o->via.str.size);
        buf [o->via.str.size] = 0;
    }
}

/* Adds ags to the item's named bodies, once. */
static void
s_name (kh_follow_item_t *item, const msgpack_object *o)
{
    char ags [KH_AGS_MAX + 1];
    s_copy (o, ags, sizeof ags);
    if (!*ags || item->named_count >= KH_FOLLOW_NAMED_MAX + 1)
        return;
    for (size_t i = 0; i < item->named_count; i++)
        if (streq (item->named [i], ags))
            return;
    snprintf (item->named [item->named_count++], sizeof item->named [0], "%s", ags);
}

/* Takes the fields that a map of item fields (a body, a revise's fields, an item's
   fields now) holds into item; those it does not hold stay. lead and participants
   replace the named bodies if either is given. */
static void
s_take_fields (kh_follow_item_t *item, const msgpack_object *fields)
{
    const msgpack_object *hf = s_get (fields, "hf"), *topic = s_get (fields, "topic");
    const msgpack_object *keywords = s_get (fields, "keywords");
    const msgpack_object *lead = s_get (fields, "lead");
    const msgpack_object *participants = s_get (fields, "participants");
    if (hf && hf->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        item->hf = hf->via.u64 <= 5 ? (uint32_t) hf->via.u64 : 0;
    if (topic)
        s_copy (topic, item->topic, sizeof item->topic);
    if (keywords && keywords->type == MSGPACK_OBJECT_ARRAY) {
        item->keyword_count = 0;
        for (uint32_t i = 0; i < keywords->via.array.size && item->keyword_count < 20; i++)
            s_copy (&keywords->via.array.ptr [i], item->keywords [item->keyword_count++],
                    sizeof item->keywords [0]);
    }
    if (lead || participants)
        item->named_count = 0;
    if (lead)
        s_name (item, lead);
    if (participants && participants->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < participants->via.array.size; i++)
            s_name (item, &participants->via.array.ptr [i]);
}

/* Records that ags answered the item: taking part (join, interested) or not. */
static void
s_answer (kh_follow_item_t *item, const char *ags, bool taking_part)
{
    for (size_t i = 0; i < item->answer_count; i++)
        if (streq (item->answered [i], ags)) {
            item->taking_part [i] = taking_part;
            return;
        }
    if (item->answer_count < KH_FOLLOW_ANSWERS_MAX) {
        snprintf (item->answered [item->answer_count], sizeof item->answered [0], "%s", ags);
        item->taking_part [item->answer_count++] = taking_part;
    }
}

int
kh_follow_item_from (const kh_item_t *from, kh_follow_item_t *item)
{
    assert (from && item);
    memset (item, 0, sizeof *item);
    snprintf (item->owner, sizeof item->owner, "%s", from->owner);
    for (size_t i = 0; i < from->participant_count; i++) {
        const kh_participant_t *p = &from->participants [i];
        s_answer (item, p->ags, streq (p->state, "joined") || streq (p->state, "interested"));
    }
    if (!from->fields || from->fields_size == 0)
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    int rc = msgpack_unpack_next (&u, (const char *) from->fields, from->fields_size, &off)
             == MSGPACK_UNPACK_SUCCESS && off == from->fields_size
             && u.data.type == MSGPACK_OBJECT_MAP ? 0 : -1;
    if (rc == 0)
        s_take_fields (item, &u.data);
    msgpack_unpacked_destroy (&u);
    return rc;
}

/* ------------------------------------------------------------- the cache */

/* The cache's key of an id: its 32 hex digits. */
static void
s_key (const uint8_t id [KH_ID_SIZE], char key [2 * KH_ID_SIZE + 1])
{
    static const char hex [] = "0123456789abcdef";
    for (size_t i = 0; i < KH_ID_SIZE; i++) {
        key [2 * i] = hex [id [i] >> 4];
        key [2 * i + 1] = hex [id [i] & 15];
    }
    key [2 * KH_ID_SIZE] = 0;
}

/* Frees an item the cache holds. */
static void
s_item_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

/* Keeps a copy of item under id (replacing what was there). Returns it, or NULL if
   memory ran out. */
static kh_follow_item_t *
s_keep (kh_follow_t *self, const uint8_t id [KH_ID_SIZE], const kh_follow_item_t *item)
{
    if (zhashx_size (self->items) >= KH_FOLLOW_ITEMS_MAX)
        zhashx_purge (self->items);     /* what is forgotten is asked for again */
    kh_follow_item_t *copy = (kh_follow_item_t *) malloc (sizeof *copy);
    if (!copy)
        return NULL;
    *copy = *item;
    char key [2 * KH_ID_SIZE + 1];
    s_key (id, key);
    zhashx_update (self->items, key, copy);
    return copy;
}

/* The item id, from the cache or from the hub. Returns 0 with *item_p set, or the
   lookup's code. */
static int
s_item (kh_follow_t *self, const uint8_t id [KH_ID_SIZE], kh_follow_item_t **item_p)
{
    char key [2 * KH_ID_SIZE + 1];
    s_key (id, key);
    *item_p = (kh_follow_item_t *) zhashx_lookup (self->items, key);
    if (*item_p)
        return 0;
    kh_follow_item_t fresh;
    memset (&fresh, 0, sizeof fresh);
    int rc = self->lookup ? self->lookup (self->arg, id, &fresh) : KH_ENOITEM;
    if (rc)
        return rc;
    *item_p = s_keep (self, id, &fresh);
    return *item_p ? 0 : KH_ENOMEM;
}

/* ------------------------------------------------------------- judging */

bool
kh_follow_spec_active (const kh_follow_spec_t *spec)
{
    return spec && (spec->hf || spec->topic [0] || spec->keyword [0]
                    || spec->participant [0]);
}

kh_follow_t *
kh_follow_new (const kh_follow_spec_t *spec, kh_follow_lookup_fn *lookup, void *arg)
{
    assert (spec);
    kh_follow_t *self = (kh_follow_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->spec = *spec;
    self->lookup = lookup;
    self->arg = arg;
    self->items = zhashx_new ();
    if (!self->items) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->items, s_item_free);
    return self;
}

void
kh_follow_destroy (kh_follow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->items);
    free (*self_p);
    *self_p = NULL;
}

size_t
kh_follow_known (kh_follow_t *self)
{
    return self ? zhashx_size (self->items) : 0;
}

/* True if the item matches every attribute of spec; from is the record's sender. */
static bool
s_matches (const kh_follow_spec_t *spec, const kh_follow_item_t *item, const char *from)
{
    if (spec->hf && item->hf != spec->hf)
        return false;
    if (spec->topic [0] && strcasecmp (spec->topic, item->topic) != 0)
        return false;
    if (spec->keyword [0]) {
        bool found = false;
        for (size_t i = 0; i < item->keyword_count && !found; i++)
            found = strcasecmp (spec->keyword, item->keywords [i]) == 0;
        if (!found)
            return false;
    }
    if (spec->participant [0]) {
        const char *who = spec->participant;
        bool found = streq (who, from) || streq (who, item->owner);
        for (size_t i = 0; i < item->named_count && !found; i++)
            found = streq (who, item->named [i]);
        for (size_t i = 0; i < item->answer_count && !found; i++)
            found = item->taking_part [i] && streq (who, item->answered [i]);
        if (!found)
            return false;
    }
    return true;
}

/* Learns from a message about an item (body its body): an interest changes who
   takes part, a revise the fields. */
static void
s_learn (kh_follow_item_t *item, const kh_envelope_t *env, const msgpack_object *body)
{
    if (streq (env->type, "interest")) {
        const msgpack_object *action = s_get (body, "action");
        if (action)
            s_answer (item, env->from, s_str_is (action, "join")
                                       || s_str_is (action, "interested"));
    }
    else
    if (streq (env->type, "revise")) {
        const msgpack_object *fields = s_get (body, "fields");
        if (fields)
            s_take_fields (item, fields);
    }
}

/* Judges the valid envelope env whose unpacked map is envelope. */
static int
s_judge (kh_follow_t *self, const kh_envelope_t *env, const msgpack_object *envelope,
         bool *wanted)
{
    const msgpack_object *body = s_get (envelope, "body");
    if (!body)
        return 0;
    kh_follow_item_t *item = NULL;
    if (!env->has_ref) {                /* an item: what it is about is in its body */
        kh_follow_item_t fresh;
        memset (&fresh, 0, sizeof fresh);
        snprintf (fresh.owner, sizeof fresh.owner, "%s", env->from);
        s_take_fields (&fresh, body);
        item = s_keep (self, env->id, &fresh);
        if (!item)
            return KH_ENOMEM;
    }
    else {
        int rc = s_item (self, env->ref, &item);
        if (rc)
            return rc == KH_ENOITEM ? 0 : rc;
        s_learn (item, env, body);
    }
    *wanted = s_matches (&self->spec, item, env->from);
    return 0;
}

int
kh_follow_judge (kh_follow_t *self, const kh_record_t *rec, bool *wanted)
{
    assert (self && rec && wanted);
    *wanted = false;
    kh_envelope_t env;
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, NULL))
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;                     /* checked: one bounded object */
    int rc = 0;
    if (msgpack_unpack_next (&u, (const char *) rec->msg, rec->msg_size, &off)
        == MSGPACK_UNPACK_SUCCESS)
        rc = s_judge (self, &env, &u.data, wanted);
    msgpack_unpacked_destroy (&u);
    return rc;
}
