/*  kh_recorder_test.c - the recorder in-process, with this test as its broker (a ROUTER):
    HELLO, group-committed STOREs answered in order, duplicates, invalid envelopes, a
    batch that cannot commit, queries, items and counts through the query actor, audit records and
    audit queries, garbage, restart. */
#include <czmq.h>
#include <sqlite3.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_recorder.h"

#include "kh_check.h"

#define S_WAIT_MS   5000            /* how long an expected message may take */
#define S_MANY      2000            /* STOREs sent at once to see them grouped */
#define S_HELLO_MS  100             /* the recorder's HELLO period in this test */

/* The recorder under test and the ROUTER this test plays the broker with. */
typedef struct {
    char      dir [64];
    char      db [128];
    zsock_t  *router;               /* bound; the recorder's DEALER connects */
    zactor_t *recorder;
    zframe_t *peer;                 /* the recorder's routing id, once it said HELLO */
    uint64_t  token;                /* last token sent */
} s_rig_t;

/* A reply from the recorder, without its routing id. */
typedef struct {
    char      command [16];
    zframe_t *arg;                  /* token or client id */
    zframe_t *body;
    int       frames;               /* after the routing id */
} s_reply_t;

/* ------------------------------------------------------------------ helpers */

static void
s_reply_clear (s_reply_t *reply)
{
    zframe_destroy (&reply->arg);
    zframe_destroy (&reply->body);
    memset (reply, 0, sizeof *reply);
}

/* Receives the next message from the recorder within ms into reply, skipping HELLOs
   unless want_hello. Remembers the recorder's routing id. Returns 0, or -1 if
   nothing came in time. */
static int
s_next (s_rig_t *rig, int ms, bool want_hello, s_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    zpoller_t *poller = zpoller_new (rig->router, NULL);
    int64_t deadline = zclock_mono () + ms;
    int rc = -1;
    while (rc == -1 && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            break;
        zmsg_t *msg = zmsg_recv (rig->router);
        zframe_t *id = zmsg_pop (msg);
        char *command = zmsg_popstr (msg);
        bool hello = command && streq (command, KH_REC_HELLO);
        if (hello || !rig->peer) {
            zframe_destroy (&rig->peer);
            rig->peer = zframe_dup (id);
        }
        if (command && (want_hello || !hello)) {
            snprintf (reply->command, sizeof reply->command, "%s", command);
            reply->frames = 1 + (int) zmsg_size (msg);
            reply->arg = hello ? NULL : zmsg_pop (msg);     /* HELLO has no token */
            reply->body = zmsg_pop (msg);
            rc = 0;
        }
        zstr_free (&command);
        zframe_destroy (&id);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return rc;
}

/* Sends [recorder][command][arg][body] (arg or body may be NULL to leave it out). */
static void
s_send (s_rig_t *rig, const char *command, const void *arg, size_t arg_size,
        const void *body, size_t body_size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (rig->peer) });
    zmsg_addstr (msg, command);
    if (arg)
        zmsg_addmem (msg, arg, arg_size);
    if (body)
        zmsg_addmem (msg, body, body_size);
    zmsg_send (&msg, rig->router);
}

/* Sends [STORE][next token][envelope]; returns the token. */
static uint64_t
s_store (s_rig_t *rig, const void *env, size_t size)
{
    uint64_t token = ++rig->token;
    uint8_t bytes [8];
    for (int i = 7; i >= 0; i--)
        bytes [i] = (uint8_t) (token >> (8 * (7 - i)));
    s_send (rig, KH_REC_STORE, bytes, sizeof bytes, env, size);
    return token;
}

/* Reads an 8-byte token frame; 0 if it is not one. */
static uint64_t
s_token (zframe_t *frame)
{
    uint64_t token = 0;
    for (size_t i = 0; frame && zframe_size (frame) == 8 && i < 8; i++)
        token = token << 8 | zframe_data (frame) [i];
    return token;
}

/* An envelope built for a test; free with msgpack_sbuffer_destroy. */
static msgpack_sbuffer
s_envelope (const char *type, const char *from, const char *title, uint8_t id [KH_ID_SIZE])
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_id_new (id);
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    if (!builder || kh_builder_set (builder, "title", title, &why)
    ||  kh_builder_pack (builder, id, from, kh_now_ms (), &buf, &why)) {
        printf ("FAIL fixture: cannot build an envelope: %s\n", why.reason);
        exit (1);
    }
    kh_builder_destroy (&builder);
    return buf;
}

/* Waits for the answer to a STORE: STORED (info, dup) or FAILED (err). Returns the
   token answered, or 0 if nothing came. */
static uint64_t
s_answer (s_rig_t *rig, bool *stored, kh_seqinfo_t *info, bool *dup, kh_error_reply_t *err)
{
    s_reply_t reply;
    if (s_next (rig, S_WAIT_MS, false, &reply))
        return 0;
    uint64_t token = s_token (reply.arg);
    kh_problem_t why;
    *stored = streq (reply.command, KH_REC_STORED);
    memset (err, 0, sizeof *err);
    memset (info, 0, sizeof *info);
    if (reply.frames != 3 || !reply.body
    ||  (*stored && kh_stored_decode (zframe_data (reply.body), zframe_size (reply.body),
                                      info, dup, &why))
    ||  (!*stored && (!streq (reply.command, KH_REC_FAILED)
                      || kh_error_decode (zframe_data (reply.body),
                                          zframe_size (reply.body), err, &why))))
        token = 0;
    s_reply_clear (&reply);
    return token;
}

/* Asks the actor for its counters. */
static kh_recorder_stats_t
s_stats (s_rig_t *rig)
{
    kh_recorder_stats_t s = { 0 };
    zstr_send (rig->recorder, "STATS");
    zsock_recv (rig->recorder, "888888888", &s.batches, &s.stored, &s.dups, &s.failed,
                &s.queries, &s.ignored, &s.dropped, &s.audited, &s.audit_lost);
    return s;
}

/* Asks the actor for the store's head. */
static uint64_t
s_head (s_rig_t *rig)
{
    char *reason = NULL;
    uint64_t head = 0;
    zsock_send (rig->recorder, "s", "STATUS");
    zsock_recv (rig->recorder, "s8", &reason, &head);
    zstr_free (&reason);
    return head;
}

/* Starts the recorder actor on rig->db against the rig's ROUTER and waits for its
   first HELLO. Returns the head it says, or -1. */
static int64_t
s_start (s_rig_t *rig, size_t batch_max)
{
    kh_recorder_config_t config = { .broker = zsock_endpoint (rig->router), .db = rig->db,
                                    .sync = KH_SYNC_FULL, .batch_max = batch_max,
                                    .hello_ms = S_HELLO_MS };
    rig->recorder = zactor_new (kh_recorder_actor, &config);
    s_reply_t reply;
    int64_t head = -1;
    uint64_t value;
    kh_problem_t why;
    if (rig->recorder && s_next (rig, S_WAIT_MS, true, &reply) == 0) {
        if (streq (reply.command, KH_REC_HELLO) && reply.body
        &&  kh_hello_decode (zframe_data (reply.body), zframe_size (reply.body), &value,
                             &why) == 0)
            head = (int64_t) value;
        s_reply_clear (&reply);
    }
    return head;
}

/* Runs sql on the rig's store through a connection of the test's own. */
static int
s_sql (s_rig_t *rig, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open (rig->db, &db);
    if (rc == SQLITE_OK) {              /* the recorder may be writing (the search index) */
        sqlite3_busy_timeout (db, 10000);
        rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        printf ("  %s: %s\n", sql, db ? sqlite3_errmsg (db) : "no connection");
    sqlite3_close (db);
    return rc;
}

/* Reads an integer with sql from the rig's store through a connection of the
   test's own; -1 if it cannot. */
static int64_t
s_number (s_rig_t *rig, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;
    if (sqlite3_open_v2 (rig->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return value;
}

/* ------------------------------------------------------------------ tests */

/* Runs first, on the fresh store: seqs and links are known from 1. */
static void
test_store (s_rig_t *rig)
{
    uint8_t ids [10][KH_ID_SIZE];
    msgpack_sbuffer envs [10];
    for (int i = 0; i < 10; i++) {
        envs [i] = s_envelope (i % 2 ? "offer" : "idea", i % 3 ? "05162004" : "05162",
                               "recorded", ids [i]);
        s_store (rig, envs [i].data, envs [i].size);
    }
    bool ok = true;
    kh_seqinfo_t info, infos [10];
    bool stored, dup;
    kh_error_reply_t err;
    for (uint64_t i = 0; i < 10; i++) {
        uint64_t token = s_answer (rig, &stored, &info, &dup, &err);
        ok &= token == i + 1 && stored && !dup && info.seq == i + 1 && info.at > 0;
        infos [i] = info;
    }
    KH_CHECK ("STOREs are answered in order with gap-free seq", ok,
           "last seq %llu", (unsigned long long) info.seq);
    /* seq 3 idea/05162004, 4 offer/05162, 5 idea/05162004 (seq 1 was idea/05162) */
    KH_CHECK ("STORED carries the previous-seq links",
           infos [2].prev_type == 1 && infos [3].prev_type == 2 && infos [3].prev_sender == 1
           && infos [3].prev_pair == 0 && infos [4].prev_sender == 3
           && infos [4].prev_pair == 3, "pt %llu ps %llu pts %llu",
           (unsigned long long) infos [4].prev_type, (unsigned long long) infos [4].prev_sender,
           (unsigned long long) infos [4].prev_pair);

    uint64_t token = s_store (rig, envs [3].data, envs [3].size);
    uint64_t answered = s_answer (rig, &stored, &info, &dup, &err);
    KH_CHECK ("a duplicate STORE is answered with the original seq and dup",
           answered == token && stored && dup && info.seq == 4 && info.at == infos [3].at,
           "token %llu stored %d dup %d seq %llu", (unsigned long long) answered, stored,
           dup, (unsigned long long) info.seq);

    msgpack_sbuffer bad;
    msgpack_sbuffer_init (&bad);
    kh_builder_t *builder = kh_builder_new ("idea");
    uint8_t bad_id [KH_ID_SIZE];
    kh_id_new (bad_id);
    kh_problem_t why;
    kh_builder_set (builder, "hf", "9", &why);
    kh_builder_set (builder, "title", "hf out of range", &why);
    kh_builder_pack (builder, bad_id, "05162004", kh_now_ms (), &bad, &why);
    kh_builder_destroy (&builder);
    token = s_store (rig, bad.data, bad.size);
    answered = s_answer (rig, &stored, &info, &dup, &err);
    KH_CHECK ("an invalid envelope is answered FAILED with its code and id",
           answered == token && !stored && err.code == KH_ERANGE && err.has_id
           && memcmp (err.id, bad_id, KH_ID_SIZE) == 0 && err.reason [0],
           "stored %d code %d has_id %d reason '%s'", stored, err.code, err.has_id,
           err.reason);
    token = s_store (rig, "\x92\x01\x02", 3);
    answered = s_answer (rig, &stored, &info, &dup, &err);
    KH_CHECK ("bytes that are no envelope are answered FAILED without an id",
           answered == token && !stored && err.code == KH_EWRONGTYPE && !err.has_id,
           "stored %d code %d has_id %d", stored, err.code, err.has_id);
    /* seq 1 is an idea of the Kreis 05162: a municipality may not move it */
    msgpack_sbuffer_clear (&bad);
    builder = kh_builder_new ("status");
    char ref [KH_ID_STR_SIZE];
    kh_id_format (ids [0], ref);
    kh_id_new (bad_id);
    kh_builder_set (builder, "ref", ref, &why);
    kh_builder_set (builder, "status", "decided", &why);
    kh_builder_pack (builder, bad_id, "05162004", kh_now_ms (), &bad, &why);
    kh_builder_destroy (&builder);
    token = s_store (rig, bad.data, bad.size);
    answered = s_answer (rig, &stored, &info, &dup, &err);
    KH_CHECK ("a message the items' state refuses is answered FAILED with its rule's code "
           "and id", answered == token && !stored && err.code == KH_ENOTOWNER && err.has_id
           && memcmp (err.id, bad_id, KH_ID_SIZE) == 0 && strstr (err.reason, "05162004"),
           "stored %d code %d has_id %d reason '%s'", stored, err.code, err.has_id,
           err.reason);
    msgpack_sbuffer_destroy (&bad);
    for (int i = 0; i < 10; i++)
        msgpack_sbuffer_destroy (&envs [i]);
}

static void
test_many (s_rig_t *rig)
{
    uint8_t id [KH_ID_SIZE];
    kh_recorder_stats_t before = s_stats (rig);
    uint64_t first = rig->token + 1;
    for (int i = 0; i < S_MANY; i++) {
        msgpack_sbuffer env = s_envelope ("idea", "05162008", "many", id);
        s_store (rig, env.data, env.size);
        msgpack_sbuffer_destroy (&env);
    }
    bool ok = true;
    uint64_t seq = 0, token = 0;
    for (int i = 0; i < S_MANY && ok; i++) {
        bool stored, dup;
        kh_seqinfo_t info;
        kh_error_reply_t err;
        token = s_answer (rig, &stored, &info, &dup, &err);
        ok = token == first + (uint64_t) i && stored && (i == 0 || info.seq == seq + 1);
        seq = info.seq;
    }
    kh_recorder_stats_t after = s_stats (rig);
    uint64_t batches = after.batches - before.batches;
    KH_CHECK ("many STOREs at once are all answered in order", ok, "token %llu seq %llu",
           (unsigned long long) token, (unsigned long long) seq);
    KH_CHECK ("STOREs that wait together are committed together", batches < S_MANY / 4,
           "%llu transactions for %d STOREs", (unsigned long long) batches, S_MANY);
    /* The search index follows once the STOREs stop: watch it catch up. */
    int64_t deadline = zclock_mono () + S_WAIT_MS, indexed = -1;
    while (zclock_mono () < deadline
    &&     (indexed = s_number (rig, "SELECT search_seq FROM derived")) < (int64_t) seq)
        zclock_sleep (10);
    int64_t found = s_number (rig, "SELECT count (*) FROM search WHERE search MATCH 'many'");
    KH_CHECK ("the search index takes up the log once the STOREs stop",
           indexed == (int64_t) seq && found == S_MANY, "search_seq %lld of %llu, %lld found",
           (long long) indexed, (unsigned long long) seq, (long long) found);
}

static void
test_query (s_rig_t *rig)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_query_t query = { .req = 42, .since_seq = 3, .limit = 4, .type = { "idea" },
                         .type_count = 1 };
    kh_query_encode (&buf, &query);
    const uint8_t client [5] = { 0, 1, 2, 3, 4 };
    s_send (rig, KH_CMD_QUERY, client, sizeof client, buf.data, buf.size);
    s_reply_t reply;
    kh_rows_t rows = { 0 };
    kh_problem_t why = { 0 };
    int rc = s_next (rig, S_WAIT_MS, false, &reply);
    bool decoded = rc == 0 && reply.body && streq (reply.command, KH_REP_ROWS)
                && kh_rows_decode (zframe_data (reply.body), zframe_size (reply.body),
                                   &rows, &why) == 0;
    KH_CHECK ("a QUERY is answered ROWS with the client id, through the query actor",
           decoded && reply.frames == 3 && zframe_size (reply.arg) == sizeof client
           && memcmp (zframe_data (reply.arg), client, sizeof client) == 0 && rows.req == 42
           && rows.count == 4 && rows.rows [0].info.seq == 3 && rows.rows [1].info.seq == 5
           && rows.more && rows.next == rows.rows [3].info.seq + 1,
           "rc %d command '%s' count %u more %d reason '%s'", rc, reply.command, rows.count,
           rows.more, why.reason);
    kh_rows_release (&rows);
    s_reply_clear (&reply);

    s_send (rig, KH_CMD_QUERY, client, sizeof client, "\xc1", 1);
    kh_error_reply_t err = { 0 };
    rc = s_next (rig, S_WAIT_MS, false, &reply);
    decoded = rc == 0 && reply.body && streq (reply.command, KH_REP_ERROR)
           && kh_error_decode (zframe_data (reply.body), zframe_size (reply.body), &err,
                               &why) == 0;
    KH_CHECK ("a bad query is answered ERROR with code QUERY", decoded && err.code == KH_EQUERY
           && zframe_size (reply.arg) == sizeof client, "command '%s' code %d",
           reply.command, err.code);
    s_reply_clear (&reply);
    msgpack_sbuffer_destroy (&buf);
}

/* Sends [command][client][query] and waits for the answer into reply; true if it
   came with the client id. */
static bool
s_ask (s_rig_t *rig, const char *command, const void *query, size_t size, s_reply_t *reply)
{
    const uint8_t client [3] = { 7, 8, 9 };
    s_send (rig, command, client, sizeof client, query, size);
    return s_next (rig, S_WAIT_MS, false, reply) == 0 && reply->frames == 3 && reply->body
        && zframe_size (reply->arg) == sizeof client
        && memcmp (zframe_data (reply->arg), client, sizeof client) == 0;
}

/* True if reply is an ERROR of code for req. */
static bool
s_is_error (const s_reply_t *reply, int code, uint64_t req)
{
    kh_error_reply_t err = { 0 };
    kh_problem_t why;
    return streq (reply->command, KH_REP_ERROR)
        && kh_error_decode (zframe_data (reply->body), zframe_size (reply->body), &err,
                            &why) == 0 && err.code == code && err.req == req;
}

/* ITEMS and STATS go through the query actor as QUERY does (the read kinds). */
static void
test_reads (s_rig_t *rig)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_items_query_t items = { .req = 43, .limit = 2, .type = { "idea" }, .type_count = 1 };
    kh_items_query_encode (&buf, &items);
    s_reply_t reply;
    kh_item_rows_t rows = { 0 };
    kh_problem_t why = { 0 };
    bool ok = s_ask (rig, KH_CMD_ITEMS, buf.data, buf.size, &reply)
           && streq (reply.command, KH_REP_ROWS)
           && kh_item_rows_decode (zframe_data (reply.body), zframe_size (reply.body), &rows,
                                   &why) == 0;
    int64_t ideas = s_number (rig, "SELECT count (*) FROM item WHERE type = 'idea'");
    KH_CHECK ("ITEMS is answered ROWS of items, newest activity first",
              ok && rows.req == 43 && rows.count == 2 && ideas > 2 && rows.more
              && streq (rows.rows [0].type, "idea") && streq (rows.rows [1].type, "idea")
              && rows.rows [0].last_seq > rows.rows [1].last_seq
              && rows.next == rows.rows [1].last_seq,
              "command '%s' count %u ideas %lld reason '%s'", reply.command, rows.count,
              (long long) ideas, why.reason);
    kh_item_rows_release (&rows);
    s_reply_clear (&reply);

    msgpack_sbuffer_clear (&buf);
    kh_stats_query_t stats = { .req = 44, .by = "type" };
    kh_stats_query_encode (&buf, &stats);
    kh_stats_t *count = NULL;
    uint64_t req = 0;
    ok = s_ask (rig, KH_CMD_STATS, buf.data, buf.size, &reply)
      && streq (reply.command, KH_REP_ROWS)
      && kh_stats_reply_decode (zframe_data (reply.body), zframe_size (reply.body), &req,
                                &count, &why) == 0;
    int64_t messages = s_number (rig, "SELECT count (*) FROM message");
    KH_CHECK ("STATS is answered ROWS with the count", ok && req == 44
              && (int64_t) count->messages == messages && count->head == s_head (rig)
              && count->count > 0 && streq (count->rows [0].key, "idea")
              && count->store_bytes > 0, "command '%s' messages %llu of %lld reason '%s'",
              reply.command, ok ? (unsigned long long) count->messages : 0,
              (long long) messages, why.reason);
    kh_stats_destroy (&count);
    s_reply_clear (&reply);

    ok = s_ask (rig, KH_CMD_ITEMS, "\xc1", 1, &reply) && s_is_error (&reply, KH_EQUERY, 0);
    s_reply_clear (&reply);
    const char by_year [] = "\x82\xa3req\x2d\xa2" "by\xa4" "year";  /* {req: 45, by: year} */
    ok &= s_ask (rig, KH_CMD_STATS, by_year, sizeof by_year - 1, &reply)
       && s_is_error (&reply, KH_EQUERY, 45);
    KH_CHECK ("a bad ITEMS or STATS is answered ERROR QUERY with its req", ok,
              "command '%s'", reply.command);
    s_reply_clear (&reply);
    msgpack_sbuffer_destroy (&buf);
}

/* Sends [AUDIT][record] for an audit record told apart by reason and code. */
static void
s_audit (s_rig_t *rig, const char *reason, int code, kh_audit_t *sent)
{
    kh_audit_t rec;
    memset (&rec, 0, sizeof rec);
    rec.at = kh_now_ms ();
    rec.code = code;
    rec.size = 17;
    snprintf (rec.endpoint, sizeof rec.endpoint, "client");
    snprintf (rec.command, sizeof rec.command, "PUBLISH");
    snprintf (rec.peer, sizeof rec.peer, "127.0.0.1");
    snprintf (rec.ags, sizeof rec.ags, "05162004");
    snprintf (rec.reason, sizeof rec.reason, "%s", reason);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_audit_encode (&buf, &rec);
    s_send (rig, KH_REC_AUDIT, buf.data, buf.size, NULL, 0);
    msgpack_sbuffer_destroy (&buf);
    if (sent)
        *sent = rec;
}

/* Sends [AUDIT_QUERY][client][query] and decodes the AUDIT_ROWS that answers it into
   rows. Returns 0, or -1 (another answer, or none). */
static int
s_audit_query (s_rig_t *rig, const kh_audit_query_t *query, kh_audit_rows_t *rows,
               char command [16])
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_audit_query_encode (&buf, query);
    s_send (rig, KH_REC_AUDIT_QUERY, "admin", 5, buf.data, buf.size);
    msgpack_sbuffer_destroy (&buf);
    s_reply_t reply;
    kh_problem_t why;
    memset (rows, 0, sizeof *rows);
    int rc = s_next (rig, S_WAIT_MS, false, &reply);
    snprintf (command, 16, "%s", rc == 0 ? reply.command : "");
    if (rc == 0 && (!streq (reply.command, KH_REC_AUDIT_ROWS) || !reply.body
                    || zframe_size (reply.arg) != 5
                    || kh_audit_rows_decode (zframe_data (reply.body),
                                             zframe_size (reply.body), rows, &why)))
        rc = -1;
    s_reply_clear (&reply);
    return rc;
}

/* Waits until the recorder has stored audited audit records in all. */
static bool
s_audited (s_rig_t *rig, uint64_t audited)
{
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (s_stats (rig).audited < audited && zclock_mono () < end)
        zclock_sleep (5);
    return s_stats (rig).audited == audited;
}

/* AUDIT records join the batch (nothing answers them) and are committed with it,
   under the audit's own seq; AUDIT_QUERY pages through them via the query actor. */
static void
test_audit (s_rig_t *rig)
{
    kh_audit_t first, second;
    s_audit (rig, "first", KH_EMALFORMED, &first);
    s_audit (rig, "second", KH_ESENDER, &second);
    uint8_t id [KH_ID_SIZE];
    msgpack_sbuffer env = s_envelope ("idea", "05162004", "with the audit", id);
    uint64_t token = s_store (rig, env.data, env.size);
    bool stored, dup;
    kh_seqinfo_t info;
    kh_error_reply_t err;
    uint64_t answered = s_answer (rig, &stored, &info, &dup, &err);
    kh_recorder_stats_t stats = s_stats (rig);
    KH_CHECK ("AUDIT frames are not answered; they are committed with the STOREs after "
              "them", answered == token && stored && stats.audited == 2, "answered %llu "
              "audited %llu", (unsigned long long) answered,
              (unsigned long long) stats.audited);
    s_audit (rig, "third", KH_EFORBIDDEN, NULL);
    KH_CHECK ("an AUDIT alone is committed too", s_audited (rig, 3), "audited %llu",
              (unsigned long long) s_stats (rig).audited);

    kh_audit_query_t query = { .req = 77, .limit = 2 };
    kh_audit_rows_t rows;
    char command [16];
    int rc = s_audit_query (rig, &query, &rows, command);
    first.seq = 1;
    second.seq = 2;
    KH_CHECK ("AUDIT_QUERY is answered AUDIT_ROWS with the client id, in the audit's "
              "own seq", rc == 0 && rows.req == 77 && rows.count == 2 && rows.more
              && rows.next == 3 && memcmp (&rows.rows [0], &first, sizeof first) == 0
              && memcmp (&rows.rows [1], &second, sizeof second) == 0,
              "rc %d command '%s' count %u", rc, command, rows.count);
    kh_audit_rows_release (&rows);
    query = (kh_audit_query_t) { .req = 78, .code = KH_EFORBIDDEN };
    rc = s_audit_query (rig, &query, &rows, command);
    KH_CHECK ("and filters by code", rc == 0 && rows.count == 1 && rows.rows [0].seq == 3
              && streq (rows.rows [0].reason, "third"), "rc %d count %u", rc, rows.count);
    kh_audit_rows_release (&rows);

    static const char bad [] = "\x82\xa3" "req\x09\xa4" "type\xa4" "idea";
    s_send (rig, KH_REC_AUDIT_QUERY, "admin", 5, bad, sizeof bad - 1);
    s_reply_t reply;
    kh_problem_t why;
    rc = s_next (rig, S_WAIT_MS, false, &reply);
    bool refused = rc == 0 && streq (reply.command, KH_REC_AUDIT_ERROR) && reply.body
                && kh_error_decode (zframe_data (reply.body), zframe_size (reply.body), &err,
                                    &why) == 0 && err.code == KH_EQUERY && err.req == 9;
    KH_CHECK ("a bad audit query is answered AUDIT_ERROR, its req echoed", refused,
              "rc %d command '%s' code %d", rc, reply.command, err.code);
    s_reply_clear (&reply);

    uint64_t ignored = s_stats (rig).ignored;
    s_send (rig, KH_REC_AUDIT, "\xc1", 1, NULL, 0);
    s_audit (rig, "after the garbage", KH_EVALUE, NULL);
    KH_CHECK ("an AUDIT that cannot be read is ignored; the next is stored",
              s_audited (rig, 4) && s_stats (rig).ignored == ignored + 1, "ignored %llu",
              (unsigned long long) (s_stats (rig).ignored - ignored));

    s_sql (rig, "CREATE TRIGGER boom BEFORE INSERT ON audit WHEN NEW.reason = 'boom' "
                "BEGIN SELECT RAISE (ABORT, 'boom'); END");
    s_audit (rig, "boom", KH_EVALUE, NULL);
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (s_stats (rig).audit_lost == 0 && zclock_mono () < end)
        zclock_sleep (5);
    msgpack_sbuffer other = s_envelope ("idea", "05162004", "after a failing audit", id);
    token = s_store (rig, other.data, other.size);
    answered = s_answer (rig, &stored, &info, &dup, &err);
    stats = s_stats (rig);
    KH_CHECK ("an audit record that cannot be stored is counted lost, and the recorder "
              "serves on", answered == token && stored && stats.audit_lost == 1
              && stats.audited == 4, "answered %llu stored %d lost %llu",
              (unsigned long long) answered, stored, (unsigned long long) stats.audit_lost);
    s_sql (rig, "DROP TRIGGER boom");
    msgpack_sbuffer_destroy (&env);
    msgpack_sbuffer_destroy (&other);
}

static void
test_garbage (s_rig_t *rig)
{
    kh_recorder_stats_t before = s_stats (rig);
    s_send (rig, "BOGUS", "x", 1, NULL, 0);
    s_send (rig, KH_REC_STORE, "12345678", 8, NULL, 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (rig->peer) });
    zmsg_addstr (msg, KH_REC_STORE);
    for (int i = 0; i < 5; i++)
        zmsg_addstr (msg, "extra");
    zmsg_send (&msg, rig->router);
    s_send (rig, KH_CMD_QUERY, NULL, 0, NULL, 0);
    uint8_t id [KH_ID_SIZE];
    msgpack_sbuffer env = s_envelope ("offer", "05162016", "after garbage", id);
    uint64_t token = s_store (rig, env.data, env.size);
    bool stored, dup;
    kh_seqinfo_t info;
    kh_error_reply_t err;
    uint64_t answered = s_answer (rig, &stored, &info, &dup, &err);
    kh_recorder_stats_t after = s_stats (rig);
    KH_CHECK ("unknown commands and wrong frame counts are ignored, serving goes on",
           answered == token && stored && after.ignored - before.ignored == 4,
           "answered %llu ignored %llu", (unsigned long long) answered,
           (unsigned long long) (after.ignored - before.ignored));
    msgpack_sbuffer_destroy (&env);
}

/* Waits for the next HELLO, skipping anything else; returns the head it says, or -1
   if none came. */
static int64_t
s_hello (s_rig_t *rig)
{
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    int64_t head = -1;
    while (head == -1 && zclock_mono () < deadline) {
        s_reply_t reply;
        uint64_t value;
        kh_problem_t why;
        if (s_next (rig, (int) (deadline - zclock_mono ()), true, &reply) == 0
        &&  streq (reply.command, KH_REC_HELLO) && reply.body
        &&  kh_hello_decode (zframe_data (reply.body), zframe_size (reply.body), &value,
                             &why) == 0)
            head = (int64_t) value;
        s_reply_clear (&reply);
    }
    return head;
}

static void
test_hello (s_rig_t *rig)
{
    int64_t expect = (int64_t) s_head (rig);
    int64_t head = s_hello (rig);
    int64_t start = zclock_mono ();
    int64_t again = s_hello (rig);
    int64_t gap = zclock_mono () - start;
    KH_CHECK ("HELLO comes again every period, with the head",
           head == expect && again == expect && gap >= S_HELLO_MS / 2
           && gap < 10 * S_HELLO_MS, "head %lld and %lld (expected %lld), %lld ms apart",
           (long long) head, (long long) again, (long long) expect, (long long) gap);
}

static void
test_commit_fails (s_rig_t *rig)
{
    uint64_t before = s_head (rig);
    int rc = s_sql (rig, "CREATE TRIGGER boom BEFORE INSERT ON message "
                         "WHEN NEW.title = 'boom' BEGIN SELECT RAISE (ABORT, 'boom'); END");
    uint8_t ids [3][KH_ID_SIZE];
    msgpack_sbuffer envs [3] = { s_envelope ("idea", "05162004", "fine", ids [0]),
                                 s_envelope ("idea", "05162004", "boom", ids [1]),
                                 s_envelope ("offer", "05162004", "fine", ids [2]) };
    /* Sent back to back, the three are usually one batch; if the first was committed
       alone, the resend below finds it stored (dup). The boom fails either way. */
    for (int i = 0; i < 3; i++)
        s_store (rig, envs [i].data, envs [i].size);
    bool stored, dup, boom_failed = false;
    kh_seqinfo_t info;
    kh_error_reply_t err;
    for (int i = 0; i < 3; i++) {
        uint64_t token = s_answer (rig, &stored, &info, &dup, &err);
        if (token == rig->token - 1)
            boom_failed = !stored && err.code == KH_ESTORE && err.has_id
                       && memcmp (err.id, ids [1], KH_ID_SIZE) == 0
                       && strstr (err.reason, "boom");
    }
    KH_CHECK ("a batch that cannot commit is answered FAILED with code STORE",
           rc == SQLITE_OK && boom_failed, "rc %d code %d reason '%s'", rc, err.code,
           err.reason);
    s_sql (rig, "DROP TRIGGER boom");
    uint64_t head = 0;
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        s_store (rig, envs [i].data, envs [i].size);
        ok &= s_answer (rig, &stored, &info, &dup, &err) == rig->token && stored;
        head = info.seq > head ? info.seq : head;
    }
    KH_CHECK ("after a failed batch, the broker's resend is stored gap-free",
           ok && head == before + 3 && s_head (rig) == head, "head %llu after %llu",
           (unsigned long long) head, (unsigned long long) before);
    for (int i = 0; i < 3; i++)
        msgpack_sbuffer_destroy (&envs [i]);
}

static void
test_restart (s_rig_t *rig)
{
    int64_t before = (int64_t) s_head (rig);
    zactor_destroy (&rig->recorder);
    s_reply_t bye;
    int rc = s_next (rig, S_WAIT_MS, false, &bye);
    KH_CHECK ("a recorder that stops cleanly says BYE",
           rc == 0 && streq (bye.command, KH_REC_BYE) && bye.frames == 1,
           "rc %d command '%s' frames %d", rc, bye.command, bye.frames);
    s_reply_clear (&bye);
    zframe_destroy (&rig->peer);
    int64_t head = s_start (rig, 0);
    KH_CHECK ("a restarted recorder says HELLO with the head it left",
           head == before && before > 0, "head %lld, left at %lld", (long long) head,
           (long long) before);
    kh_recorder_config_t config = { .broker = zsock_endpoint (rig->router),
                                    .db = "/proc/kh-no/such.db" };
    zactor_t *broken = zactor_new (kh_recorder_actor, &config);
    char *reason = NULL;
    uint64_t zero = 1;
    zsock_send (broken, "s", "STATUS");
    zsock_recv (broken, "s8", &reason, &zero);
    KH_CHECK ("a recorder that cannot open its store says why",
           reason && strstr (reason, "/proc/kh-no") && zero == 0, "reason '%s'",
           reason ? reason : "(none)");
    zstr_free (&reason);
    zactor_destroy (&broken);
}

/* A recorder says HELLO as soon as a broker takes its connection again, not at its
   next period: a restarted broker refuses publishes until it hears from one. */
static void
test_reconnect (s_rig_t *rig)
{
    zactor_destroy (&rig->recorder);    /* its HELLOs come too often to tell */
    char endpoint [128];
    snprintf (endpoint, sizeof endpoint, "%s", zsock_endpoint (rig->router));
    kh_recorder_config_t config = { .broker = endpoint, .db = rig->db,
                                    .hello_ms = 3600 * 1000 };
    rig->recorder = zactor_new (kh_recorder_actor, &config);
    int64_t head = s_hello (rig);
    zsock_destroy (&rig->router);       /* the broker goes, and comes back */
    zframe_destroy (&rig->peer);
    rig->router = zsock_new (ZMQ_ROUTER);
    zsock_set_sndhwm (rig->router, 0);
    int bound = -1;                     /* the port is free once libzmq closed it */
    for (int64_t end = zclock_mono () + S_WAIT_MS; bound == -1 && zclock_mono () < end; )
        if ((bound = zsock_bind (rig->router, "%s", endpoint)) == -1)
            zclock_sleep (10);
    int64_t start = zclock_mono ();
    int64_t again = s_hello (rig);
    KH_CHECK ("a recorder says HELLO at once to a broker that comes back, not an hour later",
           bound > 0 && head >= 0 && again == head, "bound %d, head %lld, then %lld after "
           "%lld ms", bound, (long long) head, (long long) again,
           (long long) (zclock_mono () - start));
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    s_rig_t rig = { .token = 0 };
    snprintf (rig.dir, sizeof rig.dir, "/tmp/kh-recorder-test-XXXXXX");
    if (!mkdtemp (rig.dir)) {
        printf ("FAIL fixture: cannot create a temporary directory\n");
        return 1;
    }
    snprintf (rig.db, sizeof rig.db, "%s/data/kreishub.db", rig.dir);
    rig.router = zsock_new (ZMQ_ROUTER);
    zsock_set_sndhwm (rig.router, 0);   /* test_many must not lose a STORE to the HWM */
    if (zsock_bind (rig.router, "tcp://127.0.0.1:*") == -1)
        zsock_destroy (&rig.router);
    int64_t head = rig.router ? s_start (&rig, 0) : -1;
    KH_CHECK ("recorder says HELLO at once with head 0, creating the store's directory",
           head == 0 && zsys_file_exists (rig.db), "head %lld", (long long) head);
    if (head == 0) {
        test_store (&rig);
        test_many (&rig);
        test_query (&rig);
        test_reads (&rig);
        test_audit (&rig);
        test_garbage (&rig);
        test_hello (&rig);
        test_commit_fails (&rig);
        test_restart (&rig);
        test_reconnect (&rig);
    }
    zactor_destroy (&rig.recorder);
    zframe_destroy (&rig.peer);
    zsock_destroy (&rig.router);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", rig.dir);
    if (s_failed == 0 && system (cmd) != 0)
        printf ("note: could not remove %s\n", rig.dir);
    return kh_check_done ("recorder_test");
}
