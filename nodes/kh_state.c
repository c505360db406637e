/*  kh_state.c - the items' state: the rules of section 13 and what each message changes. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_berlin.h"
#include "kh_schema.h"
#include "kh_state.h"

#define S_CHUNK         1024        /* log rows a rebuild reads with one statement */
#define S_STAGE_MAX     16          /* a lifecycle stage's name and its NUL, at most */
#define S_STATES        4           /* interested, joined, declined, left */
#define S_KEYWORDS_SIZE (20 * (50 * 4 + 1) + 1) /* keywords, a line each: 20 of 50 chars */

/* The fields the state reads; s_schema_ok checks each against the schema table. */
#define S_TITLE         "title"
#define S_DESCRIPTION   "description"
#define S_HF            "hf"
#define S_TOPIC         "topic"
#define S_KEYWORDS      "keywords"
#define S_LEAD          "lead"
#define S_PARTICIPANTS  "participants"
#define S_MATURITY      "maturity"
#define S_VALID_UNTIL   "valid_until"
#define S_ACTION        "action"
#define S_STATUS        "status"
#define S_FIELDS        "fields"
#define S_TEXT          "text"

/* The final stages of the lifecycle; the first stage is the schema's first value. */
#define S_DONE          "done"
#define S_WITHDRAWN     "withdrawn"

/* An interest's action and the participant state it leaves, in the order of the
   item's counters n_interested, n_joined, n_declined, n_left. */
static const struct {
    const char *action;                 /* body.action, as the schema names it */
    const char *state;                  /* participant.state */
} s_states [S_STATES] = {
    { "interested", "interested" },
    { "join",       "joined" },
    { "decline",    "declined" },
    { "leave",      "left" }
};

/* What the state holds of the item a message names (s_find). */
typedef struct {
    uint64_t seq;                       /* its first message's seq */
    char     type [KH_TYPE_MAX + 1];
    char     owner [KH_AGS_MAX + 1];
    char     status [S_STAGE_MAX];
    char     valid_until [KH_DATE_SIZE];    /* "" if none */
} s_item_t;

typedef struct s_handler s_handler_t;

/*  A state. Between kh_state_judge and kh_state_apply it holds one message: its id,
    its handler, its body (objects in zone that point into the caller's bytes) and
    the item it names. Everything else lives in the database. */
struct _kh_state_t {
    sqlite3            *db;
    sqlite3_stmt       *find;           /* the item whose first message has an id */
    sqlite3_stmt       *body_of;        /* an item's body now, or its first envelope */
    sqlite3_stmt       *item_put;
    sqlite3_stmt       *item_touch;     /* counters and last activity */
    sqlite3_stmt       *item_status;
    sqlite3_stmt       *item_fields;    /* a revise's columns and body */
    sqlite3_stmt       *part_get;
    sqlite3_stmt       *part_put;
    sqlite3_stmt       *named_clear;
    sqlite3_stmt       *named_put;
    sqlite3_stmt       *search_put;
    sqlite3_stmt       *rows;           /* rebuild: a chunk of the log */
    sqlite3_stmt       *set_item;       /* rebuild: a row's message.item */
    sqlite3_stmt       *texts;          /* index: a chunk of the log after a seq */
    sqlite3_stmt       *derived_get;
    sqlite3_stmt       *search_seq;     /* sets derived.search_seq */
    const char *const  *stages;         /* the lifecycle, from the schema table */
    msgpack_zone        zone;           /* the message in hand's objects */
    msgpack_zone        scratch;        /* an item's body while a revise merges it */
    msgpack_sbuffer     buf;            /* a merged body */
    bool                held;           /* a message is in hand */
    uint8_t             id [KH_ID_SIZE];    /* its id */
    const s_handler_t  *handler;        /* its type's */
    const msgpack_object *body;         /* its body */
    s_item_t            item;           /* the item it names (not for an item) */
};

/* What one type of message asks of the state: judge sets verdict->code if the
   message breaks a rule (NULL: it breaks none); apply changes the state by it. */
struct s_handler {
    const char *type;                   /* NULL: every item type */
    void (*judge) (kh_state_t *self, const kh_envelope_t *env, uint64_t at,
                   kh_verdict_t *verdict);
    int  (*apply) (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                   kh_problem_t *why);
};

/* ------------------------------------------------------------- plumbing */

/* Every SQLite failure is raised through S_FAIL, so that a reason says where it began. */
#define S_FAIL(self, why, what) s_fail ((self), (why), (what), __LINE__)

/* Sets why to KH_ESTORE (KH_EFULL for a full disk) naming what failed. Returns -1. */
static int
s_fail (kh_state_t *self, kh_problem_t *why, const char *what, int line)
{
    int code = (sqlite3_errcode (self->db) & 0xff) == SQLITE_FULL ? KH_EFULL : KH_ESTORE;
    return kh_problem (why, code, "state: %s: %s (kh_state.c:%d)", what,
                       sqlite3_errmsg (self->db), line);
}

/* Steps a statement that returns no row and resets it. Returns 0, or -1 with why set. */
static int
s_done (kh_state_t *self, sqlite3_stmt *stmt, const char *what, kh_problem_t *why)
{
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_DONE)
        S_FAIL (self, why, what);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Returns the value under key in map, or NULL if map is no map or lacks it. */
static const msgpack_object *
s_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t len = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len
        &&  memcmp (k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr [i].val;
    }
    return NULL;
}

/* Binds the str object o as text parameter index of stmt; NULL if o is no str. The
   text must outlive the statement's next step. */
static void
s_bind_str (sqlite3_stmt *stmt, int index, const msgpack_object *o)
{
    if (o && o->type == MSGPACK_OBJECT_STR)
        sqlite3_bind_text (stmt, index, o->via.str.ptr, (int) o->via.str.size,
                           SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, index);
}

/* Binds the unsigned integer object o as parameter index of stmt; NULL if it is none. */
static void
s_bind_uint (sqlite3_stmt *stmt, int index, const msgpack_object *o)
{
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        sqlite3_bind_int64 (stmt, index, (sqlite3_int64) o->via.u64);
    else
        sqlite3_bind_null (stmt, index);
}

/* Copies column of stmt as text into out (cap bytes with the NUL), "" if NULL. */
static void
s_column (sqlite3_stmt *stmt, int column, char *out, size_t cap)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    snprintf (out, cap, "%s", text ? (const char *) text : "");
}

/* Unpacks the one msgpack object of the size bytes at data into *root, its objects
   in zone (cleared first; strs point into data). Bounds the bytes first if bound
   (they come from a file; an envelope kh_envelope_check passed is bounded). Returns
   0, or -1 with why set. */
static int
s_unpack (msgpack_zone *zone, const void *data, size_t size, bool bound,
          msgpack_object *root, kh_problem_t *why)
{
    msgpack_zone_clear (zone);
    if (bound && kh_mp_scan (data, size, why))
        return -1;
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack ((const char *) data, size, &offset, zone,
                                               root);
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        return kh_problem (why, KH_ENOMEM, "state: out of memory");
    if (rc != MSGPACK_UNPACK_SUCCESS)
        return kh_problem (why, KH_EMALFORMED, "state: not one msgpack object");
    return 0;
}

/* ---------------------------------------------------------------- rules */

/* Sets verdict to code with a printf-formatted reason. */
static void
s_refuse (kh_verdict_t *verdict, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_refuse (kh_verdict_t *verdict, int code, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    verdict->code = code;
    verdict->why.code = code;
    vsnprintf (verdict->why.reason, sizeof verdict->why.reason, fmt, args);
    va_end (args);
}

/* Returns the index of stage in the lifecycle, or -1 if it names none. */
static int
s_stage (const kh_state_t *self, const char *stage, size_t len)
{
    for (int i = 0; self->stages [i]; i++)
        if (strlen (self->stages [i]) == len && memcmp (self->stages [i], stage, len) == 0)
            return i;
    return -1;
}

/* True if from may act for the owner of item: it is the owner, or the owner's
   Kreis (the first 5 digits of the owner's AGS). */
static bool
s_owner (const s_item_t *item, const char *from)
{
    return strcmp (from, item->owner) == 0
        || (strlen (from) == 5 && strncmp (item->owner, from, 5) == 0);
}

/* NOT_OWNER unless env's sender may act for the item in hand. */
static void
s_judge_owner (kh_state_t *self, const kh_envelope_t *env, kh_verdict_t *verdict)
{
    const s_item_t *item = &self->item;
    if (!s_owner (item, env->from))
        s_refuse (verdict, KH_ENOTOWNER, "%s: %s is neither the item's owner %s nor its "
                  "Kreis %.5s", env->type, env->from, item->owner, item->owner);
}

/* A status: NOT_OWNER, then TRANSITION unless its stage lies after the item's now
   and that is not final (section 13: forward only, withdrawn from any stage but
   done; done and withdrawn are final). The lifecycle's order is the schema's, with
   withdrawn last. */
static void
s_judge_status (kh_state_t *self, const kh_envelope_t *env, uint64_t at,
                kh_verdict_t *verdict)
{
    s_judge_owner (self, env, verdict);
    if (verdict->code)
        return;
    const msgpack_object *to = s_get (self->body, S_STATUS);
    const char *now = self->item.status;
    int from_rank = s_stage (self, now, strlen (now));
    int to_rank = to ? s_stage (self, to->via.str.ptr, to->via.str.size) : -1;
    bool final = strcmp (now, S_DONE) == 0 || strcmp (now, S_WITHDRAWN) == 0;
    if (final || to_rank <= from_rank)
        s_refuse (verdict, KH_ETRANSITION, "status: the item is %s; it %s", now, final
                  ? "is final" : to_rank == from_rank ? "is there already"
                  : "moves forward only (section 13)");
}

/* An interest: CLOSED if the item is withdrawn, or expired on the day (Europe/Berlin)
   of `at`. */
static void
s_judge_interest (kh_state_t *self, const kh_envelope_t *env, uint64_t at,
                  kh_verdict_t *verdict)
{
    const s_item_t *item = &self->item;
    char today [KH_DATE_SIZE];
    kh_berlin_date (at, today);
    if (strcmp (item->status, S_WITHDRAWN) == 0)
        s_refuse (verdict, KH_ECLOSED, "interest: the item is withdrawn");
    else
    if (item->valid_until [0] && strcmp (today, item->valid_until) > 0)
        s_refuse (verdict, KH_ECLOSED, "interest: the item expired after %s (valid_until; "
                  "today is %s in Europe/Berlin)", item->valid_until, today);
}

/* A revise: NOT_OWNER, then UNKNOWN_FIELD for a field the item's type does not have. */
static void
s_judge_revise (kh_state_t *self, const kh_envelope_t *env, uint64_t at,
                kh_verdict_t *verdict)
{
    s_judge_owner (self, env, verdict);
    const msgpack_object *fields = s_get (self->body, S_FIELDS);
    const kh_msgtype_t *type = kh__schema_type (self->item.type, strlen (self->item.type));
    for (uint32_t i = 0; !verdict->code && fields && type && i < fields->via.map.size; i++) {
        const msgpack_object *key = &fields->via.map.ptr [i].key;
        if (kh__schema_field (type, key->via.str.ptr, key->via.str.size) < 0)
            s_refuse (verdict, KH_EUNKNOWNFIELD, "fields.%.*s: not a field of an %s",
                      (int) (key->via.str.size > 64 ? 64 : key->via.str.size),
                      key->via.str.ptr, type->name);
    }
}

/* ------------------------------------------------------------- changes */

/* Adds the counter deltas and one message at seq (published at ts) to the item. */
static int
s_touch (kh_state_t *self, uint64_t item, const int delta [S_STATES], uint64_t seq,
         uint64_t ts, kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->item_touch;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) item);
    for (int i = 0; i < S_STATES; i++)
        sqlite3_bind_int (stmt, 2 + i, delta ? delta [i] : 0);
    sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) seq);
    sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) ts);
    return s_done (self, stmt, "touch an item", why);
}

/* Replaces the rows of named for item by the lead and participants of body. */
static int
s_name (kh_state_t *self, uint64_t item, const msgpack_object *body, kh_problem_t *why)
{
    sqlite3_bind_int64 (self->named_clear, 1, (sqlite3_int64) item);
    if (s_done (self, self->named_clear, "clear named", why))
        return -1;
    const msgpack_object *lead = s_get (body, S_LEAD);
    const msgpack_object *list = s_get (body, S_PARTICIPANTS);
    uint32_t count = list && list->type == MSGPACK_OBJECT_ARRAY ? list->via.array.size : 0;
    for (uint32_t i = 0; i < count + (lead ? 1 : 0); i++) {
        sqlite3_bind_int64 (self->named_put, 1, (sqlite3_int64) item);
        sqlite3_bind_text (self->named_put, 2, i < count ? S_PARTICIPANTS : S_LEAD, -1,
                           SQLITE_STATIC);
        s_bind_str (self->named_put, 3, i < count ? &list->via.array.ptr [i] : lead);
        if (s_done (self, self->named_put, "name a body", why))
            return -1;
    }
    return 0;
}

/* Binds the field columns of body (title .. valid_until) to stmt from index on. */
static void
s_bind_fields (sqlite3_stmt *stmt, int index, const msgpack_object *body)
{
    s_bind_str (stmt, index, s_get (body, S_TITLE));
    s_bind_uint (stmt, index + 1, s_get (body, S_HF));
    s_bind_str (stmt, index + 2, s_get (body, S_TOPIC));
    s_bind_str (stmt, index + 3, s_get (body, S_MATURITY));
    s_bind_str (stmt, index + 4, s_get (body, S_VALID_UNTIL));
}

/* An item: a new row, proposed, and the bodies it names. */
static int
s_apply_item (kh_state_t *self, const kh_envelope_t *env, uint64_t seq, kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->item_put;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) seq);
    sqlite3_bind_text (stmt, 2, env->type, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, env->from, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) env->ts);
    s_bind_fields (stmt, 5, self->body);
    sqlite3_bind_text (stmt, 10, self->stages [0], -1, SQLITE_STATIC);
    if (s_done (self, stmt, "insert an item", why))
        return -1;
    bool names = s_get (self->body, S_LEAD) || s_get (self->body, S_PARTICIPANTS);
    return names ? s_name (self, seq, self->body, why) : 0;
}

/* Returns the index in s_states of the participant state or action text (len bytes),
   or -1. */
static int
s_state_index (const char *text, size_t len, bool action)
{
    for (int i = 0; i < S_STATES; i++) {
        const char *name = action ? s_states [i].action : s_states [i].state;
        if (strlen (name) == len && memcmp (name, text, len) == 0)
            return i;
    }
    return -1;
}

/* Reads the state of participant ags in item into *index (-1: none yet). Returns 0,
   or -1 with why set. */
static int
s_participant (kh_state_t *self, uint64_t item, const char *ags, int *index,
               kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->part_get;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) item);
    sqlite3_bind_text (stmt, 2, ags, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    *index = -1;
    if (rc == SQLITE_ROW)
        *index = s_state_index ((const char *) sqlite3_column_text (stmt, 0),
                                (size_t) sqlite3_column_bytes (stmt, 0), false);
    else
    if (rc != SQLITE_DONE)
        S_FAIL (self, why, "read a participant");
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* An interest: the sender's participant row takes the action's state, and the
   item's counters follow. */
static int
s_apply_interest (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                  kh_problem_t *why)
{
    const msgpack_object *action = s_get (self->body, S_ACTION);
    int to = action ? s_state_index (action->via.str.ptr, action->via.str.size, true) : -1;
    int from;
    if (to < 0)                         /* the envelope's check knows the actions */
        return kh_problem (why, KH_ESTORE, "state: an interest without a known action");
    if (s_participant (self, self->item.seq, env->from, &from, why))
        return -1;
    sqlite3_stmt *stmt = self->part_put;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) self->item.seq);
    sqlite3_bind_text (stmt, 2, env->from, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, s_states [to].state, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) env->ts);
    sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) seq);
    if (s_done (self, stmt, "put a participant", why))
        return -1;
    int delta [S_STATES] = { 0 };
    delta [to]++;
    if (from >= 0)
        delta [from]--;
    return s_touch (self, self->item.seq, delta, seq, env->ts, why);
}

/* A status: the item's stage, and when it was set. */
static int
s_apply_status (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->item_status;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) self->item.seq);
    s_bind_str (stmt, 2, s_get (self->body, S_STATUS));
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) seq);
    sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) env->ts);
    return s_done (self, stmt, "set a status", why)
        || s_touch (self, self->item.seq, NULL, seq, env->ts, why) ? -1 : 0;
}

/* Packs into self->buf the body of an item of type whose fields are now now, with
   each of fields in place: a map in the order of the type's fields. Returns 0, or -1
   with why set. */
static int
s_merge (kh_state_t *self, const char *type, const msgpack_object *now,
         const msgpack_object *fields, kh_problem_t *why)
{
    const kh_msgtype_t *t = kh__schema_type (type, strlen (type));
    if (!t)
        return kh_problem (why, KH_ESTORE, "state: an item of unknown type %s", type);
    const msgpack_object *values [KH_FIELDS_MAX];
    uint32_t count = 0;
    for (size_t i = 0; i < t->count; i++) {
        values [i] = s_get (fields, t->fields [i].name);
        if (!values [i])
            values [i] = s_get (now, t->fields [i].name);
        count += values [i] != NULL;
    }
    msgpack_sbuffer_clear (&self->buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->buf, msgpack_sbuffer_write);
    int rc = msgpack_pack_map (&pk, count);
    for (size_t i = 0; rc == 0 && i < t->count; i++)
        if (values [i]) {
            size_t len = strlen (t->fields [i].name);
            rc = msgpack_pack_str (&pk, len) || msgpack_pack_str_body (&pk, t->fields [i].name,
                                                                      len)
              || msgpack_pack_object (&pk, *values [i]) ? -1 : 0;
        }
    return rc ? kh_problem (why, KH_ENOMEM, "state: out of memory for a body") : 0;
}

/* Packs the body of the item in hand as the revise in hand leaves it into
   self->buf: its body now (item.body, or its first message's) with the revise's
   fields in place. Returns 0, or -1 with why set. */
static int
s_revised_body (kh_state_t *self, kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->body_of;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) self->item.seq);
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW) {
        rc == SQLITE_DONE ? kh_problem (why, KH_ESTORE, "state: item %llu has no first "
                                        "message", (unsigned long long) self->item.seq)
                          : S_FAIL (self, why, "read a body");
        sqlite3_reset (stmt);
        return -1;
    }
    bool own = sqlite3_column_type (stmt, 0) != SQLITE_NULL;
    int column = own ? 0 : 1;
    msgpack_object root;
    rc = s_unpack (&self->scratch, sqlite3_column_blob (stmt, column),
                   (size_t) sqlite3_column_bytes (stmt, column), true, &root, why);
    if (rc == 0)
        rc = s_merge (self, self->item.type, own ? &root : s_get (&root, "body"),
                      s_get (self->body, S_FIELDS), why);
    sqlite3_reset (stmt);
    return rc;
}

/* A revise: the item's body and field columns as its fields leave them, and the
   bodies it names if it changes them. */
static int
s_apply_revise (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                kh_problem_t *why)
{
    msgpack_object body;
    if (s_revised_body (self, why)
    ||  s_unpack (&self->scratch, self->buf.data, self->buf.size, false, &body, why))
        return -1;
    sqlite3_stmt *stmt = self->item_fields;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) self->item.seq);
    s_bind_fields (stmt, 2, &body);
    sqlite3_bind_blob (stmt, 7, self->buf.data, (int) self->buf.size, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 8, (sqlite3_int64) seq);
    if (s_done (self, stmt, "revise an item", why))
        return -1;
    const msgpack_object *fields = s_get (self->body, S_FIELDS);
    if ((s_get (fields, S_LEAD) || s_get (fields, S_PARTICIPANTS))
    &&  s_name (self, self->item.seq, &body, why))
        return -1;
    return s_touch (self, self->item.seq, NULL, seq, env->ts, why);
}

/* A comment: activity only. */
static int
s_apply_comment (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                 kh_problem_t *why)
{
    return s_touch (self, self->item.seq, NULL, seq, env->ts, why);
}

/* One handler per type; the first row serves every item type. */
static const s_handler_t s_handlers [] = {
    { NULL,       NULL,             s_apply_item },
    { "interest", s_judge_interest, s_apply_interest },
    { "status",   s_judge_status,   s_apply_status },
    { "revise",   s_judge_revise,   s_apply_revise },
    { "comment",  NULL,             s_apply_comment },
};

/* Returns the handler of type, or NULL if the state knows none. */
static const s_handler_t *
s_handler (const char *type)
{
    if (kh_schema_type_item (type))
        return &s_handlers [0];
    for (size_t i = 1; i < sizeof s_handlers / sizeof s_handlers [0]; i++)
        if (strcmp (s_handlers [i].type, type) == 0)
            return &s_handlers [i];
    return NULL;
}

/* ------------------------------------------------------------- judging */

/* Looks up the item whose id is ref into self->item; *found false if no item has
   it. Returns 0, or -1 with why set. */
static int
s_find (kh_state_t *self, const uint8_t ref [KH_ID_SIZE], bool *found, kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->find;
    sqlite3_bind_blob (stmt, 1, ref, KH_ID_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    *found = rc == SQLITE_ROW;
    if (*found) {
        s_item_t *item = &self->item;
        item->seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
        s_column (stmt, 1, item->type, sizeof item->type);
        s_column (stmt, 2, item->owner, sizeof item->owner);
        s_column (stmt, 3, item->status, sizeof item->status);
        s_column (stmt, 4, item->valid_until, sizeof item->valid_until);
    }
    else
    if (rc != SQLITE_DONE)
        S_FAIL (self, why, "find an item");
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
kh_state_judge (kh_state_t *self, const kh_envelope_t *env, const void *data,
                size_t size, uint64_t at, kh_verdict_t *verdict, kh_problem_t *why)
{
    assert (self && env && verdict);
    memset (verdict, 0, sizeof *verdict);
    self->held = false;
    self->handler = s_handler (env->type);
    msgpack_object root;
    if (!self->handler)
        return kh_problem (why, KH_ESTORE, "state: no handler for type %s", env->type);
    if (s_unpack (&self->zone, data, size, false, &root, why))
        return -1;
    self->body = s_get (&root, "body");
    memcpy (self->id, env->id, KH_ID_SIZE);
    if (!self->handler->type) {         /* an item: no rule of the state applies */
        self->held = true;
        return 0;
    }
    bool found;
    if (s_find (self, env->ref, &found, why))
        return -1;
    if (!found) {
        char id [KH_ID_STR_SIZE];
        kh_id_format (env->ref, id);
        s_refuse (verdict, KH_ENOITEM, "ref: no item has the id %s", id);
        return 0;
    }
    verdict->item = self->item.seq;
    if (self->handler->judge)
        self->handler->judge (self, env, at, verdict);
    self->held = verdict->code == KH_OK;
    return 0;
}

int
kh_state_apply (kh_state_t *self, const kh_envelope_t *env, uint64_t seq,
                kh_problem_t *why)
{
    assert (self && env && seq > 0);
    assert (self->held && memcmp (self->id, env->id, KH_ID_SIZE) == 0);
    self->held = false;
    return self->handler->apply (self, env, seq, why);
}

/* ------------------------------------------------------------- the index */

/* Writes the keywords list o into out (cap bytes) as one text, a line each. */
static void
s_join (const msgpack_object *o, char *out, size_t cap)
{
    size_t used = 0;
    out [0] = 0;
    for (uint32_t i = 0; o && o->type == MSGPACK_OBJECT_ARRAY && i < o->via.array.size; i++) {
        const msgpack_object *word = &o->via.array.ptr [i];
        if (word->type == MSGPACK_OBJECT_STR && used + word->via.str.size + 2 <= cap) {
            used += (size_t) snprintf (out + used, cap - used, "%s%.*s", used ? "\n" : "",
                                       (int) word->via.str.size, word->via.str.ptr);
        }
    }
}

/* Adds the texts of the message root (an envelope) stored at seq to the index, if it
   has any: an item's title, description and keywords, a revise's new ones, and
   every message's note (text). Returns 0, or -1 with why set. */
static int
s_index_one (kh_state_t *self, const msgpack_object *root, uint64_t seq, kh_problem_t *why)
{
    const msgpack_object *type = s_get (root, "type");
    const msgpack_object *body = s_get (root, "body");
    char name [KH_TYPE_MAX + 1] = "";
    if (type && type->type == MSGPACK_OBJECT_STR && type->via.str.size <= KH_TYPE_MAX)
        snprintf (name, sizeof name, "%.*s", (int) type->via.str.size, type->via.str.ptr);
    const msgpack_object *fields = kh_schema_type_item (name) ? body
                                 : strcmp (name, "revise") == 0 ? s_get (body, S_FIELDS)
                                 : NULL;
    const msgpack_object *text = s_get (body, S_TEXT);
    const msgpack_object *slots [3] = { s_get (fields, S_TITLE),
                                        s_get (fields, S_DESCRIPTION), text };
    char keywords [S_KEYWORDS_SIZE];
    s_join (s_get (fields, S_KEYWORDS), keywords, sizeof keywords);
    if (!slots [0] && !slots [1] && !slots [2] && !keywords [0])
        return 0;
    sqlite3_stmt *stmt = self->search_put;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) seq);
    s_bind_str (stmt, 2, slots [0]);
    s_bind_str (stmt, 3, slots [1]);
    sqlite3_bind_text (stmt, 4, keywords, -1, SQLITE_STATIC);
    s_bind_str (stmt, 5, slots [2]);
    return s_done (self, stmt, "index a message", why);
}

int
kh_state_index (kh_state_t *self, size_t max, size_t *count, kh_problem_t *why)
{
    assert (self && count);
    bool pending;
    uint64_t after, last = 0;
    *count = 0;
    if (kh_state_derived (self, &pending, &after, why))
        return -1;
    sqlite3_stmt *stmt = self->texts;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) after);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) max);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        last = (uint64_t) sqlite3_column_int64 (stmt, 0);
        msgpack_object root;
        kh_problem_t ignored;           /* a row no one can read has no texts */
        if (s_unpack (&self->scratch, sqlite3_column_blob (stmt, 1),
                      (size_t) sqlite3_column_bytes (stmt, 1), true, &root, &ignored) == 0
        &&  s_index_one (self, &root, last, why))
            break;
        ++*count;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        S_FAIL (self, why, "read the log to index");
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE)
        return -1;
    sqlite3_bind_int64 (self->search_seq, 1, (sqlite3_int64) last);
    return *count ? s_done (self, self->search_seq, "move search_seq", why) : 0;
}

/* ------------------------------------------------------------- rebuild */

/* A row of the log whose message.item must change (rebuild). */
typedef struct {
    uint64_t seq;
    uint64_t item;                      /* 0: NULL */
} s_fix_t;

/* Judges and applies the row of the log stmt stands on (seq, at, envelope, item) as
   the live store did; fills *fix with the message.item it needs, counts in counts.
   Returns 0, or -1 with why set. */
static int
s_rebuild_row (kh_state_t *self, sqlite3_stmt *stmt, s_fix_t *fix,
               kh_state_counts_t *counts, kh_problem_t *why)
{
    uint64_t seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
    uint64_t at = (uint64_t) sqlite3_column_int64 (stmt, 1);
    const void *data = sqlite3_column_blob (stmt, 2);
    size_t size = (size_t) sqlite3_column_bytes (stmt, 2);
    kh_envelope_t env;
    kh_verdict_t verdict = { 0 };
    *fix = (s_fix_t) { seq, 0 };
    counts->messages++;
    if (kh_envelope_check (data, size, &env, NULL, NULL)) {
        counts->unreadable++;
    }
    else {
        if (kh_state_judge (self, &env, data, size, at, &verdict, why))
            return -1;
        fix->item = verdict.item;
        if (verdict.code)
            counts->refused++;
        else
        if (kh_state_apply (self, &env, seq, why))
            return -1;
        else
            counts->items += verdict.item == 0;
    }
    /* keep the fix only if the column must change (NULL reads as 0) */
    if ((uint64_t) sqlite3_column_int64 (stmt, 3) == fix->item)
        fix->seq = 0;
    return 0;
}

/* Judges and applies up to S_CHUNK rows of the log after *after, moving *after past
   them; *more false once the log ends. Then writes the message.item of each that
   needs it (not while reading the same table). Returns 0, or -1 with why set. */
static int
s_rebuild_chunk (kh_state_t *self, uint64_t *after, bool *more, s_fix_t *fixes,
                 kh_state_counts_t *counts, kh_problem_t *why)
{
    sqlite3_stmt *stmt = self->rows;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) *after);
    sqlite3_bind_int64 (stmt, 2, S_CHUNK);
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        if (s_rebuild_row (self, stmt, &fixes [count], counts, why))
            break;
        *after = (uint64_t) sqlite3_column_int64 (stmt, 0);
        count++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        S_FAIL (self, why, "read the log");
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE)
        return -1;
    *more = count == S_CHUNK;
    for (size_t i = 0; i < count; i++)
        if (fixes [i].seq) {
            sqlite3_bind_int64 (self->set_item, 1, (sqlite3_int64) fixes [i].seq);
            if (fixes [i].item)
                sqlite3_bind_int64 (self->set_item, 2, (sqlite3_int64) fixes [i].item);
            else
                sqlite3_bind_null (self->set_item, 2);
            if (s_done (self, self->set_item, "set message.item", why))
                return -1;
        }
    return 0;
}

int
kh_state_rebuild (kh_state_t *self, kh_state_counts_t *counts, kh_problem_t *why)
{
    assert (self && counts);
    memset (counts, 0, sizeof *counts);
    char *message = NULL;
    if (sqlite3_exec (self->db, "DELETE FROM item; DELETE FROM participant; "
                                "DELETE FROM named; "
                                "INSERT INTO search (search) VALUES ('delete-all'); "
                                "UPDATE derived SET pending = 1, search_seq = 0",
                      NULL, NULL, &message) != SQLITE_OK) {
        kh_problem (why, KH_ESTORE, "state: cannot empty the state: %s",
                    message ? message : sqlite3_errmsg (self->db));
        sqlite3_free (message);
        return -1;
    }
    s_fix_t *fixes = (s_fix_t *) malloc (S_CHUNK * sizeof *fixes);
    if (!fixes)
        return kh_problem (why, KH_ENOMEM, "state: out of memory");
    uint64_t after = 0;
    bool more = true;
    int rc = 0;
    while (rc == 0 && more)
        rc = s_rebuild_chunk (self, &after, &more, fixes, counts, why);
    free (fixes);
    size_t count = 0;
    do {
        if (rc == 0)
            rc = kh_state_index (self, S_CHUNK, &count, why);
        counts->indexed += count;
    } while (rc == 0 && count > 0);
    if (rc == 0 && sqlite3_exec (self->db, "UPDATE derived SET pending = 0", NULL, NULL,
                                 NULL) != SQLITE_OK)
        rc = S_FAIL (self, why, "clear pending");
    return rc;
}

int
kh_state_derived (kh_state_t *self, bool *pending, uint64_t *search_seq,
                  kh_problem_t *why)
{
    assert (self && pending && search_seq);
    sqlite3_stmt *stmt = self->derived_get;
    int rc = sqlite3_step (stmt);
    *pending = rc != SQLITE_ROW || sqlite3_column_int64 (stmt, 0) != 0;
    *search_seq = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64 (stmt, 1) : 0;
    if (rc == SQLITE_DONE)
        kh_problem (why, KH_ESTORE, "state: the table derived is empty");
    else
    if (rc != SQLITE_ROW)
        S_FAIL (self, why, "read derived");
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* ------------------------------------------------------------- lifetime */

#ifndef NDEBUG
/* True if every field and value the state reads by name is the schema table's, so
   that a renamed field fails every test rather than reading nothing. For assert (). */
static bool
s_schema_ok (const char *const *stages)
{
    static const char *const items [] = {
        S_TITLE, S_DESCRIPTION, S_HF, S_TOPIC, S_KEYWORDS, S_LEAD, S_PARTICIPANTS,
        S_MATURITY, S_VALID_UNTIL
    };
    for (size_t i = 0; i < sizeof items / sizeof items [0]; i++)
        if (kh__schema_item_field (items [i], strlen (items [i])) < 0)
            return false;
    const kh_msgtype_t *interest = kh__schema_type ("interest", 8);
    int action = interest ? kh__schema_field (interest, S_ACTION, strlen (S_ACTION)) : -1;
    bool ok = action >= 0 && stages;
    for (int i = 0; ok && i < S_STATES; i++) {
        const char *const *v = interest->fields [action].values;
        while (*v && strcmp (*v, s_states [i].action) != 0)
            v++;
        ok = *v != NULL;
    }
    int done = -1, withdrawn = -1, count = 0;
    for (; ok && stages [count]; count++) {
        done = strcmp (stages [count], S_DONE) == 0 ? count : done;
        withdrawn = strcmp (stages [count], S_WITHDRAWN) == 0 ? count : withdrawn;
    }
    /* withdrawn comes last: it follows every stage, so a rank comparison allows it */
    return ok && done > 0 && withdrawn == count - 1;
}
#endif

/* Returns the lifecycle's stages: the values of the status field of type status. */
static const char *const *
s_lifecycle (void)
{
    const kh_msgtype_t *status = kh__schema_type (S_STATUS, strlen (S_STATUS));
    int field = status ? kh__schema_field (status, S_STATUS, strlen (S_STATUS)) : -1;
    return field >= 0 ? status->fields [field].values : NULL;
}

/* Prepares sql into *stmt. Returns 0, or -1 with why set. */
static int
s_prepare (kh_state_t *self, const char *sql, sqlite3_stmt **stmt, kh_problem_t *why)
{
    if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL)
        != SQLITE_OK)
        return S_FAIL (self, why, "prepare");
    return 0;
}

/* Prepares every statement of the state. Returns 0, or -1 with why set. */
static int
s_prepare_all (kh_state_t *self, kh_problem_t *why)
{
    return s_prepare (self, "SELECT i.seq, i.type, i.owner, i.status, i.valid_until "
                            "FROM message AS m JOIN item AS i ON i.seq = m.seq "
                            "WHERE m.id = ?1", &self->find, why)
        || s_prepare (self, "SELECT i.body, m.envelope FROM item AS i JOIN message AS m "
                            "ON m.seq = i.seq WHERE i.seq = ?1", &self->body_of, why)
        || s_prepare (self, "INSERT INTO item (seq, type, owner, ts, title, hf, topic, "
                            "maturity, valid_until, body, revised, status, status_seq, "
                            "status_ts, n_interested, n_joined, n_declined, n_left, "
                            "messages, last_seq, last_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                            "?7, ?8, ?9, NULL, 0, ?10, ?1, ?4, 0, 0, 0, 0, 1, ?1, ?4)",
                      &self->item_put, why)
        || s_prepare (self, "UPDATE item SET n_interested = n_interested + ?2, "
                            "n_joined = n_joined + ?3, n_declined = n_declined + ?4, "
                            "n_left = n_left + ?5, messages = messages + 1, "
                            "last_seq = ?6, last_ts = ?7 WHERE seq = ?1",
                      &self->item_touch, why)
        || s_prepare (self, "UPDATE item SET status = ?2, status_seq = ?3, status_ts = ?4 "
                            "WHERE seq = ?1", &self->item_status, why)
        || s_prepare (self, "UPDATE item SET title = ?2, hf = ?3, topic = ?4, "
                            "maturity = ?5, valid_until = ?6, body = ?7, revised = ?8 "
                            "WHERE seq = ?1", &self->item_fields, why)
        || s_prepare (self, "SELECT state FROM participant WHERE item = ?1 AND ags = ?2",
                      &self->part_get, why)
        || s_prepare (self, "INSERT INTO participant (item, ags, state, since, seq) "
                            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (item, ags) DO UPDATE "
                            "SET state = excluded.state, since = excluded.since, "
                            "seq = excluded.seq", &self->part_put, why)
        || s_prepare (self, "DELETE FROM named WHERE item = ?1", &self->named_clear, why)
        || s_prepare (self, "INSERT OR IGNORE INTO named (item, field, ags) "
                            "VALUES (?1, ?2, ?3)", &self->named_put, why)
        || s_prepare (self, "INSERT INTO search (rowid, title, description, keywords, text) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)", &self->search_put, why)
        || s_prepare (self, "SELECT seq, at, envelope, item FROM message WHERE seq > ?1 "
                            "ORDER BY seq LIMIT ?2", &self->rows, why)
        || s_prepare (self, "UPDATE message SET item = ?2 WHERE seq = ?1", &self->set_item,
                      why)
        || s_prepare (self, "SELECT seq, envelope FROM message WHERE seq > ?1 "
                            "ORDER BY seq LIMIT ?2", &self->texts, why)
        || s_prepare (self, "SELECT pending, search_seq FROM derived", &self->derived_get,
                      why)
        || s_prepare (self, "UPDATE derived SET search_seq = ?1", &self->search_seq, why)
        ? -1 : 0;
}

kh_state_t *
kh_state_new (sqlite3 *db, kh_problem_t *why)
{
    assert (db);
    kh_state_t *self = (kh_state_t *) calloc (1, sizeof *self);
    if (!self || !msgpack_zone_init (&self->zone, 4096)) {
        free (self);
        kh_problem (why, KH_ENOMEM, "state: out of memory");
        return NULL;
    }
    if (!msgpack_zone_init (&self->scratch, 4096)) {
        msgpack_zone_destroy (&self->zone);
        free (self);
        kh_problem (why, KH_ENOMEM, "state: out of memory");
        return NULL;
    }
    msgpack_sbuffer_init (&self->buf);
    self->db = db;
    self->stages = s_lifecycle ();
    assert (s_schema_ok (self->stages));
    if (s_prepare_all (self, why))
        kh_state_destroy (&self);
    return self;
}

void
kh_state_destroy (kh_state_t **self_p)
{
    assert (self_p);
    kh_state_t *self = *self_p;
    if (!self)
        return;
    sqlite3_stmt *stmts [] = {
        self->find, self->body_of, self->item_put, self->item_touch, self->item_status,
        self->item_fields, self->part_get, self->part_put, self->named_clear,
        self->named_put, self->search_put, self->rows, self->set_item, self->texts,
        self->derived_get, self->search_seq
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts [0]; i++)
        sqlite3_finalize (stmts [i]);
    msgpack_zone_destroy (&self->zone);
    msgpack_zone_destroy (&self->scratch);
    msgpack_sbuffer_destroy (&self->buf);
    free (self);
    *self_p = NULL;
}
