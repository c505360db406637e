/*  kh_tracker.c - a publisher that remembers what the hub answered (see kh_tracker.h). */
#include <sqlite3.h>
#include <czmq.h>
#include "kh_codec.h"
#include "kh_tracker.h"

#define S_REPORT_MAX    3       /* problems printed per kind, at most */

kh_tracker_t *
kh_tracker_new (kh_hub_t *hub)
{
    kh_tracker_t *self = (kh_tracker_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->client = kh_hub_client (hub, "05162004");
    self->by_id = zhashx_new ();
    if (!self->client || !self->by_id)
        kh_tracker_destroy (&self);
    return self;
}

void
kh_tracker_destroy (kh_tracker_t **self_p)
{
    kh_tracker_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->count; i++)
        free (self->msgs [i].data);
    free (self->msgs);
    zhashx_t *by_id = (zhashx_t *) self->by_id;
    zhashx_destroy (&by_id);
    kh_client_destroy (&self->client);
    free (self);
    *self_p = NULL;
}

int
kh_tracker_make (kh_tracker_t *self, const char *title)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 256;
        self->msgs = (kh_tracked_t *) realloc (self->msgs, (size_t) self->cap
                                                           * sizeof *self->msgs);
        assert (self->msgs);
    }
    kh_tracked_t *msg = &self->msgs [self->count];
    memset (msg, 0, sizeof *msg);
    kh_id_new (msg->id);
    char text [96];
    snprintf (text, sizeof text, "%.80s %d", title, self->count);
    kh_builder_t *builder = kh_builder_new ("idea");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_problem_t why = { 0 };
    if (!builder || kh_builder_set (builder, "title", text, &why)
    ||  kh_builder_pack (builder, msg->id, "05162004", kh_now_ms (), &buf, &why)) {
        printf ("FAIL fixture: cannot build an envelope: %s\n", why.reason);
        exit (1);
    }
    kh_builder_destroy (&builder);
    msg->size = buf.size;
    msg->data = (uint8_t *) msgpack_sbuffer_release (&buf);
    char key [KH_ID_STR_SIZE];
    kh_id_format (msg->id, key);
    zhashx_insert ((zhashx_t *) self->by_id, key, (void *) (uintptr_t) (self->count + 1));
    return self->count++;
}

void
kh_tracker_send (kh_tracker_t *self, int i)
{
    kh_client_send (self->client, self->msgs [i].data, self->msgs [i].size);
    self->msgs [i].sent_at = zclock_mono ();
}

bool
kh_tracker_answered (kh_tracker_t *self, int i)
{
    return self->msgs [i].acks > 0 || self->msgs [i].error != 0;
}

/* Records an answer for the message with id. */
static void
s_record (kh_tracker_t *self, const uint8_t *id, const kh_reply_t *reply)
{
    char key [KH_ID_STR_SIZE];
    kh_id_format (id, key);
    uintptr_t index = (uintptr_t) zhashx_lookup ((zhashx_t *) self->by_id, key);
    if (!index)
        return;
    kh_tracked_t *msg = &self->msgs [index - 1];
    if (reply->kind == KH_REPLY_ACK) {
        if (msg->acks++ == 0) {
            msg->seq = reply->seq;
            msg->acked_at = zclock_mono ();
        }
        msg->fresh += !reply->dup;
    }
    else
        msg->error = reply->error.code;
}

bool
kh_tracker_take (kh_tracker_t *self, int ms)
{
    kh_reply_t reply;
    if (kh_client_recv_reply (self->client, ms, &reply))
        return false;
    bool ack = reply.kind == KH_REPLY_ACK;
    if (!ack && reply.error.code == KH_EUNAVAILABLE) {
        int64_t now = zclock_mono ();
        if (self->unavailable++ == 0)
            self->unavailable_first = now;
        self->unavailable_last = now;
    }
    const uint8_t *id = ack ? reply.id : reply.error.has_id ? reply.error.id : NULL;
    if (id)
        s_record (self, id, &reply);
    return true;
}

int
kh_tracker_in_flight (kh_tracker_t *self)
{
    int count = 0;
    for (int i = 0; i < self->count; i++)
        count += self->msgs [i].sent_at && !kh_tracker_answered (self, i);
    return count;
}

int
kh_tracker_publish (kh_tracker_t *self, int i, int ms)
{
    kh_tracker_send (self, i);
    int64_t end = zclock_mono () + ms;
    while (!kh_tracker_answered (self, i) && zclock_mono () < end)
        kh_tracker_take (self, 50);
    return !kh_tracker_answered (self, i) ? -1 : self->msgs [i].acks ? 0
                                               : self->msgs [i].error;
}

/* Counts the rows of the store db holding id; *seq is the last one's seq. */
static int
s_rows (sqlite3 *db, const uint8_t *id, uint64_t *seq)
{
    sqlite3_stmt *stmt = NULL;
    int count = -1;
    *seq = 0;
    if (sqlite3_prepare_v2 (db, "SELECT seq FROM message WHERE id = ?1", -1, &stmt,
                            NULL) == SQLITE_OK) {
        sqlite3_bind_blob (stmt, 1, id, KH_ID_SIZE, SQLITE_STATIC);
        for (count = 0; sqlite3_step (stmt) == SQLITE_ROW; count++)
            *seq = (uint64_t) sqlite3_column_int64 (stmt, 0);
    }
    sqlite3_finalize (stmt);
    return count;
}

kh_tracker_report_t
kh_tracker_check (kh_tracker_t *self, const char *what, const char *path)
{
    kh_tracker_report_t report = { .rows = (int) kh_tracker_number (path,
                                            "SELECT count (*) FROM message") };
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        report.rows = -1;
    for (int i = 0; i < self->count && report.rows >= 0; i++) {
        kh_tracked_t *msg = &self->msgs [i];
        uint64_t seq;
        int rows = s_rows (db, msg->id, &seq);
        report.unanswered += msg->sent_at && !kh_tracker_answered (self, i);
        if (msg->error && !msg->acks && rows != 0
        &&  report.refused_stored++ < S_REPORT_MAX)
            printf ("  %s: message %d got %s and is stored as seq %llu\n", what, i,
                    kh_errname (msg->error), (unsigned long long) seq);
        if (msg->acks && (rows != 1 || seq != msg->seq || msg->fresh > 1)
        &&  report.acked_wrong++ < S_REPORT_MAX)
            printf ("  %s: message %d acknowledged as seq %llu (%d as new): %d rows, "
                    "seq %llu\n", what, i, (unsigned long long) msg->seq, msg->fresh,
                    rows, (unsigned long long) seq);
    }
    sqlite3_close (db);
    return report;
}

void
kh_tracker_done (kh_tracker_t **self_p, const char *dir, bool keep)
{
    kh_tracker_destroy (self_p);
    char cmd [400];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!keep && system (cmd) != 0)
        printf ("note: could not remove %s\n", dir);
}

long long
kh_tracker_number (const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long value = -1;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
    &&  sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return value;
}
