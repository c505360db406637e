/*  kh_fake_hub.c - an in-process broker and store for the libkreishub unit tests. */
#include <czmq.h>
#include "kh_codec.h"
#include "kh_fake_hub.h"

#define S_PAGE_ROWS 3                   /* small pages, so that tests cross pages */

/* One stored record. */
typedef struct {
    kh_seqinfo_t info;
    char         type [KH_TYPE_MAX + 1];
    char         from [KH_AGS_MAX + 1];
    uint8_t      id [KH_ID_SIZE];
    uint64_t     ts;                    /* the envelope's */
    char         title [KH_TITLE_BYTES + 1];
    bool         has_ref;               /* about an item: its id */
    uint8_t      ref [KH_ID_SIZE];
    zchunk_t    *msg;                   /* the envelope */
} s_rec_t;

/* The actor's state. */
typedef struct {
    zsock_t        *pipe;
    zsock_t        *router;
    zsock_t        *xpub;
    char            client [64];
    char            live [64];
    s_rec_t        *recs;               /* seq n is recs [n - 1] */
    size_t          count, cap;
    int             page_rows;
    char            mode [16];          /* misbehaviour for the next publishes */
    int             mode_left;
    bool            lost_one;           /* mode "lost": the first has vanished */
    char          **subs;               /* the topics subscribed on the XPUB, in order */
    size_t          subs_count, subs_cap;
    uint64_t        publishes, differing, queries;
    zchunk_t       *last_body;          /* last publish received, to compare resends */
    char            who [KH_AGS_MAX + 1];   /* ags of the last client message's certificate */
    msgpack_sbuffer buf;
    bool            terminated;
} s_fake_t;

/* ------------------------------------------------------------------ store */

/* Appends a record for envelope (type, from, id already read), with its links. */
static s_rec_t *
s_store (s_fake_t *self, const kh_envelope_t *env, const void *data, size_t size)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        s_rec_t *recs = (s_rec_t *) realloc (self->recs, self->cap * sizeof (s_rec_t));
        if (!recs)
            abort ();                   /* test code: out of memory ends the test */
        self->recs = recs;
    }
    s_rec_t *rec = &self->recs [self->count++];
    memset (rec, 0, sizeof *rec);
    rec->info.seq = self->count;
    rec->info.at = kh_now_ms ();
    snprintf (rec->type, sizeof rec->type, "%s", env->type);
    snprintf (rec->from, sizeof rec->from, "%s", env->from);
    memcpy (rec->id, env->id, KH_ID_SIZE);
    rec->ts = env->ts;
    snprintf (rec->title, sizeof rec->title, "%s", env->title);
    rec->has_ref = env->has_ref;
    memcpy (rec->ref, env->ref, KH_ID_SIZE);
    rec->msg = zchunk_new (data, size);
    for (size_t i = self->count - 1; i-- > 0; ) {
        const s_rec_t *p = &self->recs [i];
        bool same_type = streq (p->type, rec->type), same_from = streq (p->from, rec->from);
        if (same_type && !rec->info.prev_type)
            rec->info.prev_type = p->info.seq;
        if (same_from && !rec->info.prev_sender)
            rec->info.prev_sender = p->info.seq;
        if (same_type && same_from && !rec->info.prev_pair)
            rec->info.prev_pair = p->info.seq;
    }
    return rec;
}

/* Returns the stored record with id, or NULL. */
static s_rec_t *
s_find (s_fake_t *self, const uint8_t *id)
{
    for (size_t i = 0; i < self->count; i++)
        if (memcmp (self->recs [i].id, id, KH_ID_SIZE) == 0)
            return &self->recs [i];
    return NULL;
}

/* Publishes a stored record on the XPUB as [topic][record]. */
static void
s_publish_live (s_fake_t *self, const s_rec_t *rec)
{
    char topic [KH_TOPIC_MAX + 1];
    kh_topic_format (topic, sizeof topic, rec->type, rec->from);
    kh_record_t record = { .info = rec->info, .msg = zchunk_data (rec->msg),
                           .msg_size = zchunk_size (rec->msg) };
    msgpack_sbuffer_clear (&self->buf);
    kh_record_encode (&self->buf, &record);
    zsock_send (self->xpub, "sb", topic, self->buf.data, self->buf.size);
}

/* ---------------------------------------------------------------- client side */

static void
s_reply (s_fake_t *self, zframe_t *client, const char *command)
{
    zmsg_t *msg = zmsg_new ();
    zframe_t *to = zframe_dup (client);
    zmsg_append (msg, &to);
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, self->buf.data, self->buf.size);
    zmsg_send (&msg, self->router);
}

static void
s_reply_error (s_fake_t *self, zframe_t *client, const uint8_t *id, uint64_t req, int code,
               const char *reason)
{
    msgpack_sbuffer_clear (&self->buf);
    kh_error_encode (&self->buf, id, req, code, reason);
    s_reply (self, client, "ERROR");
}

static void
s_reply_ack (s_fake_t *self, zframe_t *client, const uint8_t *id, uint64_t seq, bool dup)
{
    msgpack_sbuffer_clear (&self->buf);
    kh_ack_encode (&self->buf, id, seq, dup);
    s_reply (self, client, "ACK");
}

/* Counts a publish and whether it repeats the previous one's id with other bytes. */
static void
s_note_publish (s_fake_t *self, zframe_t *body, const kh_envelope_t *env)
{
    self->publishes++;
    kh_envelope_t prev;
    kh_problem_t why;
    if (self->last_body
    &&  kh_envelope_check (zchunk_data (self->last_body), zchunk_size (self->last_body),
                           &prev, NULL, &why) == 0
    &&  memcmp (prev.id, env->id, KH_ID_SIZE) == 0
    &&  (zchunk_size (self->last_body) != zframe_size (body)
         || memcmp (zchunk_data (self->last_body), zframe_data (body), zframe_size (body))))
        self->differing++;
    zchunk_destroy (&self->last_body);
    self->last_body = zchunk_new (zframe_data (body), zframe_size (body));
}

/* Answers a publish the way the current mode asks. Returns true if it was handled. */
static bool
s_misbehave (s_fake_t *self, zframe_t *client, const kh_envelope_t *env)
{
    if (self->mode_left <= 0)
        return false;
    self->mode_left--;
    if (streq (self->mode, "silent"))
        return true;
    if (streq (self->mode, "lost")) {   /* the first publish vanishes, then UNAVAILABLE */
        if (self->lost_one)
            s_reply_error (self, client, env->id, 0, KH_EUNAVAILABLE, "no recorder connected");
        self->lost_one = true;
        return true;
    }
    if (streq (self->mode, "reject")) {
        s_reply_error (self, client, env->id, 0, KH_EMISSING, "body.title: required field missing");
        return true;
    }
    if (streq (self->mode, "unavailable")) {
        s_reply_error (self, client, env->id, 0, KH_EUNAVAILABLE, "no recorder connected");
        return true;
    }
    if (streq (self->mode, "noise")) {
        uint8_t other [KH_ID_SIZE];
        kh_id_new (other);
        s_reply_ack (self, client, other, 999, false);
        s_reply_error (self, client, other, 0, KH_ERANGE, "not yours");
        s_reply_error (self, client, NULL, 0, KH_EFRAMES, "a late answer to something else");
        msgpack_sbuffer_clear (&self->buf);
        kh_pong_encode (&self->buf, 1, true);
        s_reply (self, client, "PONG");
    }
    return false;
}

static void
s_on_publish (s_fake_t *self, zframe_t *client, zframe_t *body)
{
    kh_envelope_t env;
    bool has_id = false;
    kh_problem_t why;
    if (kh_envelope_check (zframe_data (body), zframe_size (body), &env, &has_id, &why)) {
        s_reply_error (self, client, has_id ? env.id : NULL, 0, why.code, why.reason);
        return;
    }
    s_note_publish (self, body, &env);
    if (s_misbehave (self, client, &env))
        return;
    s_rec_t *rec = s_find (self, env.id);
    bool dup = rec != NULL;
    if (!rec) {
        rec = s_store (self, &env, zframe_data (body), zframe_size (body));
        s_publish_live (self, rec);
    }
    s_reply_ack (self, client, env.id, rec->info.seq, dup);
}

/* True if rec is the item id or about it. */
static bool
s_about (const s_rec_t *rec, const uint8_t *id)
{
    return memcmp (rec->id, id, KH_ID_SIZE) == 0
        || (rec->has_ref && memcmp (rec->ref, id, KH_ID_SIZE) == 0);
}

/* True if rec matches the query's bounds and filters; a search is a substring of
   the title here (the store searches words in every text). */
static bool
s_matches (const s_rec_t *rec, const kh_query_t *q)
{
    return rec->info.seq >= q->since_seq
        && (!q->until_seq || rec->info.seq <= q->until_seq)
        && rec->info.at >= q->since_at && (!q->until_at || rec->info.at <= q->until_at)
        && rec->ts >= q->since_ts && (!q->until_ts || rec->ts <= q->until_ts)
        && kh_query_wants_type (q, rec->type) && kh_query_wants_from (q, rec->from)
        && (!q->has_ref || s_about (rec, q->ref))
        && (!q->search [0] || strstr (rec->title, q->search));
}

static void
s_on_query (s_fake_t *self, zframe_t *client, zframe_t *body)
{
    self->queries++;
    if (streq (self->mode, "mute") && self->mode_left > 0) {
        if (self->lost_one) {           /* one answered: the next mode_left vanish */
            self->mode_left--;
            return;
        }
        self->lost_one = true;
    }
    kh_query_t q;
    memset (&q, 0, sizeof q);
    kh_problem_t why;
    if (kh_query_decode (zframe_data (body), zframe_size (body), &q, &why)) {
        s_reply_error (self, client, NULL, q.req, KH_EQUERY, why.reason);
        return;
    }
    uint32_t limit = q.limit && q.limit < (uint32_t) self->page_rows ? q.limit
                                                                     : (uint32_t) self->page_rows;
    kh_rows_writer_t *writer = kh_rows_writer_new (q.req);
    bool more = false;
    uint64_t next = 0;
    for (size_t i = 0; i < self->count; i++) {
        const s_rec_t *rec = &self->recs [i];
        if (!s_matches (rec, &q))
            continue;
        if (kh_rows_writer_count (writer) == limit) {
            more = true;
            break;
        }
        kh_record_t record = { .info = rec->info, .msg = zchunk_data (rec->msg),
                               .msg_size = zchunk_size (rec->msg) };
        kh_rows_writer_add (writer, &record);
        next = rec->info.seq + 1;
    }
    msgpack_sbuffer_clear (&self->buf);
    kh_rows_writer_finish (writer, more, next, &self->buf);
    kh_rows_writer_destroy (&writer);
    s_reply (self, client, "ROWS");
}

/* ------------------------------------------------------------------ reads */

/* The item that rec (an item) is now: its messages counted, its title its fields. */
static kh_item_t
s_item_of (s_fake_t *self, const s_rec_t *rec, msgpack_sbuffer *fields)
{
    kh_item_t item = { .seq = rec->info.seq, .ts = rec->ts, .status = "proposed",
                       .status_seq = rec->info.seq, .status_ts = rec->ts };
    memcpy (item.id, rec->id, KH_ID_SIZE);
    snprintf (item.type, sizeof item.type, "%s", rec->type);
    snprintf (item.owner, sizeof item.owner, "%s", rec->from);
    for (size_t i = 0; i < self->count; i++)
        if (s_about (&self->recs [i], rec->id)) {
            item.messages++;
            item.last_seq = self->recs [i].info.seq;
            item.last_ts = self->recs [i].ts;
        }
    msgpack_packer pk;
    msgpack_sbuffer_clear (fields);
    msgpack_packer_init (&pk, fields, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "title", 5);
    msgpack_pack_str_with_body (&pk, rec->title, strlen (rec->title));
    item.fields = (const uint8_t *) fields->data;
    item.fields_size = fields->size;
    return item;
}

/* True if the item matches the catalogue query (its types, owners, stage, id,
   search as a substring of the title; the rest is the store's). */
static bool
s_item_matches (const kh_item_t *item, const s_rec_t *rec, const kh_items_query_t *q)
{
    kh_query_t owners = { .from_count = q->from_count };
    memcpy (owners.from, q->from, sizeof owners.from);
    bool type = q->type_count == 0;
    for (size_t i = 0; i < q->type_count; i++)
        type |= streq (q->type [i], item->type);
    return type && kh_query_wants_from (&owners, item->owner)
        && (!q->has_id || memcmp (q->id, item->id, KH_ID_SIZE) == 0)
        && (!q->before || item->last_seq < q->before)
        && (!q->search [0] || strstr (rec->title, q->search));
}

/* [ITEMS][query]: the items by last activity, newest first, a page at a time. */
static void
s_on_items (s_fake_t *self, zframe_t *client, zframe_t *body)
{
    self->queries++;
    kh_items_query_t q;
    kh_problem_t why;
    if (kh_items_query_decode (zframe_data (body), zframe_size (body), &q, &why)) {
        s_reply_error (self, client, NULL, q.req, why.code, why.reason);
        return;
    }
    uint32_t limit = q.limit < (uint32_t) self->page_rows ? q.limit : (uint32_t) self->page_rows;
    kh_rows_writer_t *writer = kh_rows_writer_new (q.req);
    msgpack_sbuffer fields;
    msgpack_sbuffer_init (&fields);
    bool more = false;
    uint64_t next = q.before, below = q.before ? q.before : UINT64_MAX;
    /* Newest activity first: pick the matching item of the highest last_seq below,
       again and again (a fake's few records make that cheap enough). */
    while (!more) {
        const s_rec_t *best = NULL;
        uint64_t best_last = 0;
        for (size_t i = 0; i < self->count; i++) {
            const s_rec_t *rec = &self->recs [i];
            if (!kh_schema_type_item (rec->type))
                continue;
            kh_item_t item = s_item_of (self, rec, &fields);
            if (item.last_seq < below && item.last_seq > best_last
            &&  s_item_matches (&item, rec, &q)) {
                best = rec;
                best_last = item.last_seq;
            }
        }
        if (!best)
            break;
        if (kh_rows_writer_count (writer) == limit) {
            more = true;
            break;
        }
        kh_item_t item = s_item_of (self, best, &fields);
        kh_rows_writer_add_item (writer, &item);
        next = below = item.last_seq;
    }
    msgpack_sbuffer_clear (&self->buf);
    kh_rows_writer_finish (writer, more, next, &self->buf);
    kh_rows_writer_destroy (&writer);
    msgpack_sbuffer_destroy (&fields);
    s_reply (self, client, "ROWS");
}

/* [STATS][query]: totals, and groups by type (the other groupings are the store's:
   the fake gives the totals alone for them). */
static void
s_on_stats (s_fake_t *self, zframe_t *client, zframe_t *body)
{
    self->queries++;
    kh_stats_query_t q;
    kh_problem_t why;
    if (kh_stats_query_decode (zframe_data (body), zframe_size (body), &q, &why)) {
        s_reply_error (self, client, NULL, q.req, why.code, why.reason);
        return;
    }
    kh_query_t filter = { .since_ts = q.since_ts, .until_ts = q.until_ts,
                          .type_count = q.type_count, .from_count = q.from_count };
    memcpy (filter.type, q.type, sizeof filter.type);
    memcpy (filter.from, q.from, sizeof filter.from);
    kh_stats_row_t rows [KH_TYPE_MAX * 2];
    kh_stats_t stats = { .head = self->count, .store_bytes = 4096, .rows = rows };
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        kh_stats_row_t row = { .key = "" };
        snprintf (row.key, sizeof row.key, "%s", kh_schema_type_name (t));
        for (size_t i = 0; i < self->count; i++)
            if (streq (self->recs [i].type, row.key) && s_matches (&self->recs [i], &filter)) {
                row.messages++;
                row.items += kh_schema_type_item (row.key);
            }
        stats.messages += row.messages;
        stats.items += row.items;
        if (row.messages && streq (q.by, "type"))
            rows [stats.count++] = row;
    }
    /* by key: the schema's order is not the alphabet's */
    for (size_t i = 1; i < stats.count; i++)
        for (size_t j = i; j > 0 && strcmp (rows [j - 1].key, rows [j].key) > 0; j--) {
            kh_stats_row_t swap = rows [j];
            rows [j] = rows [j - 1];
            rows [j - 1] = swap;
        }
    msgpack_sbuffer_clear (&self->buf);
    kh_stats_reply_encode (&self->buf, q.req, &stats);
    s_reply (self, client, "ROWS");
}

/* [COUNTERS][{req}]: made-up counters, but the head and subscriptions. */
static void
s_on_counters (s_fake_t *self, zframe_t *client, zframe_t *body)
{
    uint64_t req = 0;
    kh_problem_t why;
    if (kh_counters_query_decode (zframe_data (body), zframe_size (body), &req, &why)) {
        s_reply_error (self, client, NULL, req, why.code, why.reason);
        return;
    }
    kh_counters_t counters = { .uptime_ms = 1234, .clients = 1,
                               .subscribers = (uint32_t) self->subs_count,
                               .recorder_up = true, .head = self->count,
                               .published = self->count, .rate = 2, .errors = 3,
                               .busy = 1, .audit_dropped = 0 };
    msgpack_sbuffer_clear (&self->buf);
    kh_counters_encode (&self->buf, req, &counters);
    s_reply (self, client, "COUNTERS");
}

static void
s_on_client (s_fake_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    zframe_t *client = zmsg_pop (msg);
    /* The command frame, not the routing id: a ROUTER that reads ahead while polled
       builds the routing id frame without the peer's metadata. */
    zframe_t *first = zmsg_first (msg);
    const char *ags = first ? zframe_meta (first, "ags") : NULL;
    snprintf (self->who, sizeof self->who, "%s", ags ? ags : "");
    char *command = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    if (command && streq (command, "PUBLISH") && body)
        s_on_publish (self, client, body);
    else
    if (command && streq (command, "QUERY") && body)
        s_on_query (self, client, body);
    else
    if (command && streq (command, "ITEMS") && body)
        s_on_items (self, client, body);
    else
    if (command && streq (command, "STATS") && body)
        s_on_stats (self, client, body);
    else
    if (command && streq (command, "COUNTERS") && body)
        s_on_counters (self, client, body);
    else
    if (command && streq (command, "PING")) {
        msgpack_sbuffer_clear (&self->buf);
        kh_pong_encode (&self->buf, self->count, true);
        s_reply (self, client, "PONG");
    }
    zframe_destroy (&client);
    zframe_destroy (&body);
    zstr_free (&command);
    zmsg_destroy (&msg);
}

/* -------------------------------------------------------------------- pipe */

/* The number in text (a command's argument or answer), 0 if it holds none. */
static uint64_t
s_number (const char *text)
{
    uint64_t value = 0;
    if (text)
        kh_uint_parse (text, UINT64_MAX, &value);
    return value;
}

/* "ADD" type from: builds and stores an envelope titled "record <seq>"; answers
   its seq, or 0 if the test asked for something the codec refuses. */
static void
s_cmd_add (s_fake_t *self, const char *type, const char *from)
{
    char title [32];
    snprintf (title, sizeof title, "record %zu", self->count + 1);
    kh_builder_t *builder = kh_builder_new (type);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    kh_problem_t why;
    kh_envelope_t e;
    bool ok = builder && kh_builder_set (builder, "title", title, &why) == 0
           && kh_builder_pack (builder, id, from, kh_now_ms (), &env, &why) == 0
           && kh_envelope_check (env.data, env.size, &e, NULL, &why) == 0;
    if (ok)
        s_store (self, &e, env.data, env.size);
    msgpack_sbuffer_destroy (&env);
    kh_builder_destroy (&builder);
    zstr_sendf (self->pipe, "%zu", ok ? self->count : 0);
}

/* "ABOUT" seq: stores a comment of 05162004 about the item at seq (text "about
   <seq>"); answers its seq, or 0. */
static void
s_cmd_about (s_fake_t *self, uint64_t item)
{
    kh_builder_t *builder = kh_builder_new ("comment");
    char ref [KH_ID_STR_SIZE], text [32];
    if (item >= 1 && item <= self->count)
        kh_id_format (self->recs [item - 1].id, ref);
    else
        snprintf (ref, sizeof ref, "none");
    snprintf (text, sizeof text, "about %llu", (unsigned long long) item);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    kh_problem_t why;
    kh_envelope_t e;
    bool ok = builder && kh_builder_set (builder, "ref", ref, &why) == 0
           && kh_builder_set (builder, "text", text, &why) == 0
           && kh_builder_pack (builder, id, "05162004", kh_now_ms (), &env, &why) == 0
           && kh_envelope_check (env.data, env.size, &e, NULL, &why) == 0;
    if (ok)
        s_store (self, &e, env.data, env.size);
    msgpack_sbuffer_destroy (&env);
    kh_builder_destroy (&builder);
    zstr_sendf (self->pipe, "%zu", ok ? self->count : 0);
}

static void
s_on_pipe (s_fake_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    char *cmd = zmsg_popstr (msg), *a = zmsg_popstr (msg), *b = zmsg_popstr (msg);
    if (!cmd || streq (cmd, "$TERM"))
        self->terminated = true;
    else if (streq (cmd, "ENDPOINTS"))
        zstr_sendx (self->pipe, self->client, self->live, NULL);
    else if (streq (cmd, "ADD"))
        s_cmd_add (self, a, b);
    else if (streq (cmd, "ABOUT"))
        s_cmd_about (self, s_number (a));
    else if (streq (cmd, "LIVE")) {
        uint64_t seq = s_number (a);
        if (seq >= 1 && seq <= self->count)
            s_publish_live (self, &self->recs [seq - 1]);
        zstr_send (self->pipe, "0");
    }
    else if (streq (cmd, "BEAT")) {
        msgpack_sbuffer_clear (&self->buf);
        kh_beat_encode (&self->buf, self->count, kh_now_ms ());
        zsock_send (self->xpub, "sb", KH_TOPIC_BEAT, self->buf.data, self->buf.size);
        zstr_send (self->pipe, "0");
    }
    else if (streq (cmd, "SUBS"))
        zstr_sendf (self->pipe, "%zu", self->subs_count);
    else if (streq (cmd, "SUB")) {
        uint64_t index = s_number (a);
        zstr_send (self->pipe, index < self->subs_count ? self->subs [index] : "");
    }
    else if (streq (cmd, "MODE")) {
        snprintf (self->mode, sizeof self->mode, "%s", a);
        self->mode_left = (int) s_number (b);
        self->lost_one = false;
        zstr_send (self->pipe, "0");
    }
    else if (streq (cmd, "PAGE")) {
        self->page_rows = (int) s_number (a);
        zstr_send (self->pipe, "0");
    }
    else if (streq (cmd, "WHO"))
        zstr_send (self->pipe, self->who);
    else if (streq (cmd, "STATS"))
        zstr_sendf (self->pipe, "%llu %llu %llu", (unsigned long long) self->publishes,
                    (unsigned long long) self->differing, (unsigned long long) self->queries);
    zstr_free (&cmd);
    zstr_free (&a);
    zstr_free (&b);
    zmsg_destroy (&msg);
}

/* Records the topic of each subscription arriving on the XPUB, in order. */
static void
s_on_xpub (s_fake_t *self)
{
    zframe_t *frame = zframe_recv (self->xpub);
    if (frame && zframe_size (frame) > 0 && zframe_data (frame) [0] == 1) {
        if (self->subs_count == self->subs_cap) {
            self->subs_cap = self->subs_cap ? self->subs_cap * 2 : 16;
            char **subs = (char **) realloc (self->subs, self->subs_cap * sizeof (char *));
            if (!subs)
                abort ();               /* test code: out of memory ends the test */
            self->subs = subs;
        }
        size_t size = zframe_size (frame) - 1;
        char *topic = (char *) malloc (size + 1);
        if (!topic)
            abort ();
        memcpy (topic, zframe_data (frame) + 1, size);
        topic [size] = 0;
        self->subs [self->subs_count++] = topic;
    }
    zframe_destroy (&frame);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    s_fake_t self = { .pipe = pipe, .page_rows = S_PAGE_ROWS };
    msgpack_sbuffer_init (&self.buf);
    self.router = zsock_new (ZMQ_ROUTER);
    self.xpub = zsock_new (ZMQ_XPUB);
    zcert_t *cert = (zcert_t *) args;   /* CURVE server, admission by the test's zauth */
    for (int i = 0; cert && i < 2; i++) {
        zcert_apply (cert, i ? self.xpub : self.router);
        zsock_set_curve_server (i ? self.xpub : self.router, 1);
    }
    zsock_set_sndhwm (self.xpub, 0);
    zsock_set_xpub_verbose (self.xpub, 1);  /* every subscription, also repeated ones */
    int port_c = zsock_bind (self.router, "tcp://127.0.0.1:*");
    int port_l = zsock_bind (self.xpub, "tcp://127.0.0.1:*");
    snprintf (self.client, sizeof self.client, "tcp://127.0.0.1:%d", port_c);
    snprintf (self.live, sizeof self.live, "tcp://127.0.0.1:%d", port_l);
    zsock_signal (pipe, port_c > 0 && port_l > 0 ? 0 : 1);
    zpoller_t *poller = zpoller_new (pipe, self.router, self.xpub, NULL);
    while (!self.terminated) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe)
            s_on_pipe (&self);
        else if (which == self.router)
            s_on_client (&self);
        else if (which == self.xpub)
            s_on_xpub (&self);
        else
            break;
    }
    zpoller_destroy (&poller);
    for (size_t i = 0; i < self.count; i++)
        zchunk_destroy (&self.recs [i].msg);
    free (self.recs);
    for (size_t i = 0; i < self.subs_count; i++)
        free (self.subs [i]);
    free (self.subs);
    zchunk_destroy (&self.last_body);
    msgpack_sbuffer_destroy (&self.buf);
    zsock_destroy (&self.router);
    zsock_destroy (&self.xpub);
}

/* ------------------------------------------------------------------ helpers */

/* Starts the actor, a CURVE server with cert if not NULL. Returns 0 or -1. */
static int
s_start (kh_fake_hub_t *hub, zcert_t *cert)
{
    memset (hub, 0, sizeof *hub);
    hub->actor = zactor_new (s_actor, cert);
    if (!hub->actor)
        return -1;
    zstr_send (hub->actor, "ENDPOINTS");
    char *client = NULL, *live = NULL;
    zstr_recvx (hub->actor, &client, &live, NULL);
    snprintf (hub->client, sizeof hub->client, "%s", client ? client : "");
    snprintf (hub->live, sizeof hub->live, "%s", live ? live : "");
    zstr_free (&client);
    zstr_free (&live);
    return 0;
}

int
kh_fake_hub_start (kh_fake_hub_t *hub)
{
    return s_start (hub, NULL);
}

int
kh_fake_hub_start_secure (kh_fake_hub_t *hub, const char *cert)
{
    zcert_t *server = zcert_load (cert);
    int rc = server ? s_start (hub, server) : -1;
    zcert_destroy (&server);            /* the actor applied it before it signalled */
    return rc;
}

void
kh_fake_hub_who (kh_fake_hub_t *hub, char *ags, size_t cap)
{
    zstr_send (hub->actor, "WHO");
    char *answer = zstr_recv (hub->actor);
    snprintf (ags, cap, "%s", answer ? answer : "");
    zstr_free (&answer);
}

void
kh_fake_hub_stop (kh_fake_hub_t *hub)
{
    zactor_destroy (&hub->actor);
}

/* Sends a command and returns its one-string answer as a number. */
static uint64_t
s_ask (kh_fake_hub_t *hub, const char *cmd, const char *a, const char *b)
{
    zstr_sendx (hub->actor, cmd, a ? a : "", b ? b : "", NULL);
    char *answer = zstr_recv (hub->actor);
    uint64_t value = s_number (answer);
    zstr_free (&answer);
    return value;
}

uint64_t
kh_fake_hub_add (kh_fake_hub_t *hub, const char *type, const char *from)
{
    return s_ask (hub, "ADD", type, from);
}

uint64_t
kh_fake_hub_about (kh_fake_hub_t *hub, uint64_t item)
{
    char seq [24];
    snprintf (seq, sizeof seq, "%llu", (unsigned long long) item);
    return s_ask (hub, "ABOUT", seq, NULL);
}

void
kh_fake_hub_live (kh_fake_hub_t *hub, uint64_t seq)
{
    char text [24];
    snprintf (text, sizeof text, "%llu", (unsigned long long) seq);
    s_ask (hub, "LIVE", text, NULL);
}

void
kh_fake_hub_beat (kh_fake_hub_t *hub)
{
    s_ask (hub, "BEAT", NULL, NULL);
}

void
kh_fake_hub_mode (kh_fake_hub_t *hub, const char *mode, int count)
{
    char text [16];
    snprintf (text, sizeof text, "%d", count);
    s_ask (hub, "MODE", mode, text);
}

void
kh_fake_hub_page (kh_fake_hub_t *hub, int rows)
{
    char text [16];
    snprintf (text, sizeof text, "%d", rows);
    s_ask (hub, "PAGE", text, NULL);
}

int
kh_fake_hub_subs (kh_fake_hub_t *hub)
{
    return (int) s_ask (hub, "SUBS", NULL, NULL);
}

void
kh_fake_hub_sub (kh_fake_hub_t *hub, int index, char *topic, size_t cap)
{
    char text [16];
    snprintf (text, sizeof text, "%d", index);
    zstr_sendx (hub->actor, "SUB", text, "", NULL);
    char *answer = zstr_recv (hub->actor);
    snprintf (topic, cap, "%s", answer ? answer : "");
    zstr_free (&answer);
}

int
kh_fake_hub_await_subs (kh_fake_hub_t *hub, int count)
{
    for (int64_t end = zclock_mono () + 5000; zclock_mono () < end; zclock_sleep (1))
        if (kh_fake_hub_subs (hub) >= count)
            return 0;
    return -1;
}

void
kh_fake_hub_stats (kh_fake_hub_t *hub, uint64_t *publishes, uint64_t *differing,
                   uint64_t *queries)
{
    zstr_sendx (hub->actor, "STATS", "", "", NULL);
    char *answer = zstr_recv (hub->actor);
    unsigned long long p = 0, d = 0, q = 0;
    if (answer)
        sscanf (answer, "%llu %llu %llu", &p, &d, &q);
    zstr_free (&answer);
    *publishes = p;
    *differing = d;
    *queries = q;
}
