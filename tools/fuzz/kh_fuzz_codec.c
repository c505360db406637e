/*  kh_fuzz_codec.c - libFuzzer target: one input is handed to every decoder of
    untrusted bytes in the codec (kh_mp_scan, the envelope check, record, ROWS,
    query, items/stats/counters queries and replies, ACK, ERROR, PONG, heartbeat,
    HELLO, STORED) and to the CLI's renderers.

    Besides what the sanitizers catch, each decoder must keep its contract: a
    rejection carries a code and a reason; an accepted frame is stable under a second
    look and survives a re-encode unchanged; what kh_mp_scan accepts msgpack-c
    unpacks whole; whatever the renderers print as JSON the CLI's reader takes back.
    Seeds: schema/vectors and the frames kh-fuzz-seeds writes (see README.md).
*/
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_json.h"
#include "kh_fuzz.h"

#define S_TARGET "codec"

/* Re-encodings go here; the decoders' views of the input stay valid meanwhile. */
static msgpack_sbuffer s_out;

/* A decoder returned rc with why: 0, or -1 with a code and a reason. */
static void
s_rejection_ok (const char *what, int rc, const kh_problem_t *why)
{
    if (rc != 0 && rc != -1)
        kh_fuzz_fail (S_TARGET, "%s returned %d", what, rc);
    if (rc == -1 && (why->code == KH_OK || why->reason [0] == 0))
        kh_fuzz_fail (S_TARGET, "%s refused without a code and a reason", what);
}

/* The CLI reads back, as JSON, what it printed. */
static void
s_json_reads_back (const char *what, const char *json)
{
    msgpack_sbuffer back;
    msgpack_sbuffer_init (&back);
    kh_problem_t why = { 0 };
    if (kh_json_to_msgpack (json, strlen (json), &back, &why))
        kh_fuzz_fail (S_TARGET, "%s printed JSON it cannot read (%s): %s", what,
                      why.reason, json);
    msgpack_sbuffer_destroy (&back);
}

/* Renders rec as the CLI prints it; JSON and CSV agree on whether they can.
   Returns whether they could. */
static bool
s_render (const kh_record_t *rec)
{
    char *json = kh_record_to_json (rec);
    char *csv = kh_record_to_csv (rec);
    if (!json != !csv)
        kh_fuzz_fail (S_TARGET, "JSON and CSV renderers disagree on a record");
    if (json)
        s_json_reads_back ("kh_record_to_json", json);
    free (json);
    free (csv);
    return csv != NULL;
}

/* kh_mp_scan: what it accepts is one msgpack object that msgpack-c unpacks whole,
   and renders as JSON that reads back. */
static void
s_scan (const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    int rc = kh_mp_scan (data, size, &why);
    s_rejection_ok ("kh_mp_scan", rc, &why);
    if (rc)
        return;
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    if (msgpack_unpack_next (&u, (const char *) data, size, &off) != MSGPACK_UNPACK_SUCCESS
    ||  off != size)
        kh_fuzz_fail (S_TARGET, "kh_mp_scan accepted what msgpack-c does not unpack whole");
    char *json = kh_json_from_object (&u.data);
    if (!json)
        kh_fuzz_fail (S_TARGET, "kh_json_from_object returned NULL");
    s_json_reads_back ("kh_json_from_object", json);
    free (json);
    msgpack_unpacked_destroy (&u);
}

/* The envelope check: the same verdict twice, sane fields, and a record around an
   accepted envelope renders. Any bytes as a record's envelope must not crash the
   renderers either (a store may hold what a newer hub accepted). */
static void
s_envelope (const uint8_t *data, size_t size)
{
    kh_envelope_t env, again;
    bool has_id = false, has_id2 = false;
    kh_problem_t why = { 0 }, why2 = { 0 };
    int rc = kh_envelope_check (data, size, &env, &has_id, &why);
    s_rejection_ok ("kh_envelope_check", rc, &why);
    int rc2 = kh_envelope_check (data, size, &again, &has_id2, &why2);
    if (rc != rc2 || has_id != has_id2 || (rc && why.code != why2.code)
    ||  (has_id && memcmp (env.id, again.id, KH_ID_SIZE) != 0))
        kh_fuzz_fail (S_TARGET, "kh_envelope_check changed its mind");
    kh_record_t rec = { { 3, 1700000000000ULL, 2, 1, 0 }, data, size };
    bool rendered = s_render (&rec);
    if (rc)
        return;
    if (strcmp (env.type, again.type) || strcmp (env.from, again.from)
    ||  strcmp (env.title, again.title) || env.ts != again.ts || env.version != again.version
    ||  env.has_ref != again.has_ref || memcmp (env.ref, again.ref, KH_ID_SIZE) != 0)
        kh_fuzz_fail (S_TARGET, "kh_envelope_check read an envelope two ways");
    bool item = kh_schema_type_item (env.type);     /* a title, else a ref */
    if (env.version != KH_FORMAT_VERSION || !kh_schema_type_known (env.type)
    ||  !kh_ags_valid (env.from, strlen (env.from)) || env.ts > KH_TS_MAX
    ||  (env.title [0] != 0) != item || env.has_ref == item
    ||  !kh_utf8_valid (env.title, strlen (env.title)))
        kh_fuzz_fail (S_TARGET, "accepted an envelope with v %u, type '%s', from '%s'",
                      env.version, env.type, env.from);
    if (!rendered)
        kh_fuzz_fail (S_TARGET, "a valid envelope does not render");
}

/* True if two records say the same, their envelopes byte for byte. */
static bool
s_record_same (const kh_record_t *a, const kh_record_t *b)
{
    return memcmp (&a->info, &b->info, sizeof a->info) == 0 && a->msg_size == b->msg_size
        && (a->msg_size == 0 || memcmp (a->msg, b->msg, a->msg_size) == 0);
}

/* Records: seq from 1, msg inside the input, the same after a re-encode. */
static void
s_record (const uint8_t *data, size_t size)
{
    kh_record_t rec, back;
    kh_problem_t why = { 0 };
    int rc = kh_record_decode (data, size, &rec, &why);
    s_rejection_ok ("kh_record_decode", rc, &why);
    if (rc)
        return;
    if (rec.info.seq == 0)
        kh_fuzz_fail (S_TARGET, "a record with seq 0 was accepted");
    if (rec.msg_size && (rec.msg < data || rec.msg + rec.msg_size > data + size))
        kh_fuzz_fail (S_TARGET, "a record's msg points outside the input");
    msgpack_sbuffer_clear (&s_out);
    if (kh_record_encode (&s_out, &rec)
    ||  kh_record_decode (s_out.data, s_out.size, &back, &why) || !s_record_same (&rec, &back))
        kh_fuzz_fail (S_TARGET, "a record differs after a re-encode");
    if (!s_render (&rec) && kh_envelope_check (rec.msg, rec.msg_size, NULL, NULL, NULL) == 0)
        kh_fuzz_fail (S_TARGET, "a record with a valid envelope does not render");
}

/* ROWS: nothing left allocated on refusal; rebuilt with the writer, the same. */
static void
s_rows (const uint8_t *data, size_t size)
{
    kh_rows_t rows, back;
    kh_problem_t why = { 0 };
    int rc = kh_rows_decode (data, size, &rows, &why);
    s_rejection_ok ("kh_rows_decode", rc, &why);
    if (rc) {
        if (rows.rows || rows.count)
            kh_fuzz_fail (S_TARGET, "a refused ROWS left %u rows", rows.count);
        return;
    }
    kh_rows_writer_t *writer = kh_rows_writer_new (rows.req);
    bool built = writer != NULL;
    for (uint32_t i = 0; built && i < rows.count; i++)
        built = kh_rows_writer_add (writer, &rows.rows [i]) == 0;
    msgpack_sbuffer_clear (&s_out);
    built = built && kh_rows_writer_finish (writer, rows.more, rows.next, &s_out) == 0;
    kh_rows_writer_destroy (&writer);
    bool same = built && kh_rows_decode (s_out.data, s_out.size, &back, &why) == 0
             && back.req == rows.req && back.more == rows.more && back.next == rows.next
             && back.count == rows.count;
    for (uint32_t i = 0; same && i < rows.count; i++)
        same = s_record_same (&rows.rows [i], &back.rows [i]);
    if (built)
        kh_rows_release (&back);
    kh_rows_release (&rows);
    if (!same)
        kh_fuzz_fail (S_TARGET, "a ROWS reply differs after a rebuild");
}

/* Queries: sane bounds, the same after a re-encode. */
static void
s_query (const uint8_t *data, size_t size)
{
    kh_query_t q, back;
    kh_problem_t why = { 0 };
    int rc = kh_query_decode (data, size, &q, &why);
    s_rejection_ok ("kh_query_decode", rc, &why);
    if (rc)
        return;
    if (q.req == 0 || q.limit == 0 || q.limit > KH_QUERY_PAGE_MAX)
        kh_fuzz_fail (S_TARGET, "a query with req %llu, limit %u was accepted",
                      (unsigned long long) q.req, q.limit);
    msgpack_sbuffer_clear (&s_out);
    if (kh_query_encode (&s_out, &q) || kh_query_decode (s_out.data, s_out.size, &back, &why)
    ||  memcmp (&q, &back, sizeof q) != 0)      /* both zeroed by the decoder */
        kh_fuzz_fail (S_TARGET, "a query differs after a re-encode");
}

/* Items, stats and counters queries (section 14): sane, the same after a
   re-encode. */
static void
s_read_queries (const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_items_query_t items, items2;
    int rc = kh_items_query_decode (data, size, &items, &why);
    s_rejection_ok ("kh_items_query_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (items.req == 0 || items.limit == 0 || items.limit > KH_QUERY_PAGE_MAX
                    || items.hf > 5))
        kh_fuzz_fail (S_TARGET, "an items query with req 0, limit %u or hf %u was accepted",
                      items.limit, items.hf);
    if (rc == 0 && (kh_items_query_encode (&s_out, &items)
    ||  kh_items_query_decode (s_out.data, s_out.size, &items2, &why)
    ||  memcmp (&items, &items2, sizeof items) != 0))
        kh_fuzz_fail (S_TARGET, "an items query differs after a re-encode");

    kh_stats_query_t stats, stats2;
    rc = kh_stats_query_decode (data, size, &stats, &why);
    s_rejection_ok ("kh_stats_query_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_stats_query_encode (&s_out, &stats)
    ||  kh_stats_query_decode (s_out.data, s_out.size, &stats2, &why)
    ||  memcmp (&stats, &stats2, sizeof stats) != 0))
        kh_fuzz_fail (S_TARGET, "a stats query differs after a re-encode");

    uint64_t req = 0, req2 = 0;
    rc = kh_counters_query_decode (data, size, &req, &why);
    s_rejection_ok ("kh_counters_query_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (req == 0 || kh_counters_query_encode (&s_out, req)
    ||  kh_counters_query_decode (s_out.data, s_out.size, &req2, &why) || req != req2))
        kh_fuzz_fail (S_TARGET, "a COUNTERS request differs after a re-encode");
}

/* Pages of items, counts and counters: bounded, every field readable as text, the
   same after a re-encode. */
static void
s_read_replies (const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_item_rows_t rows, again;
    int rc = kh_item_rows_decode (data, size, &rows, &why);
    s_rejection_ok ("kh_item_rows_decode", rc, &why);
    kh_rows_writer_t *writer = rc == 0 ? kh_rows_writer_new (rows.req) : NULL;
    for (uint32_t i = 0; writer && i < rows.count; i++) {
        char text [64];
        kh_item_field (&rows.rows [i], "title", text, sizeof text);
        kh_item_field (&rows.rows [i], "keywords", text, sizeof text);
        if (!memchr (text, 0, sizeof text))
            kh_fuzz_fail (S_TARGET, "an item field is not terminated");
        kh_rows_writer_add_item (writer, &rows.rows [i]);
    }
    msgpack_sbuffer_clear (&s_out);
    if (writer && (kh_rows_writer_finish (writer, rows.more, rows.next, &s_out)
    ||  kh_item_rows_decode (s_out.data, s_out.size, &again, &why)
    ||  again.count != rows.count
    ||  (rows.count && (again.rows [0].seq != rows.rows [0].seq
                        || again.rows [0].participant_count != rows.rows [0].participant_count))))
        kh_fuzz_fail (S_TARGET, "a page of items differs after a re-encode");
    if (writer)
        kh_item_rows_release (&again);
    kh_rows_writer_destroy (&writer);
    kh_item_rows_release (&rows);

    uint64_t req = 0, req2 = 0;
    kh_stats_t *count = NULL, *count2 = NULL;
    rc = kh_stats_reply_decode (data, size, &req, &count, &why);
    s_rejection_ok ("kh_stats_reply_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (count->count > KH_QUERY_PAGE_MAX || kh_stats_reply_encode (&s_out, req, count)
    ||  kh_stats_reply_decode (s_out.data, s_out.size, &req2, &count2, &why)
    ||  req != req2 || count2->count != count->count || count2->items != count->items))
        kh_fuzz_fail (S_TARGET, "a count differs after a re-encode");
    kh_stats_destroy (&count);
    kh_stats_destroy (&count2);

    kh_counters_t c, c2;
    rc = kh_counters_decode (data, size, &req, &c, &why);
    s_rejection_ok ("kh_counters_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_counters_encode (&s_out, req, &c)
    ||  kh_counters_decode (s_out.data, s_out.size, &req2, &c2, &why) || req != req2
    ||  c.head != c2.head || c.clients != c2.clients || c.recorder_up != c2.recorder_up))
        kh_fuzz_fail (S_TARGET, "COUNTERS differ after a re-encode");
}

/* ACK, STORED, HELLO, heartbeat and PONG: each the same after a re-encode. */
static void
s_small_replies (const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    uint8_t id [KH_ID_SIZE], id2 [KH_ID_SIZE];
    uint64_t a = 0, b = 0, a2 = 0, b2 = 0;
    bool flag = false, flag2 = false;
    kh_seqinfo_t info, info2;

    int rc = kh_ack_decode (data, size, id, &a, &flag, &why);
    s_rejection_ok ("kh_ack_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_ack_encode (&s_out, id, a, flag)
    ||  kh_ack_decode (s_out.data, s_out.size, id2, &a2, &flag2, &why)
    ||  memcmp (id, id2, KH_ID_SIZE) || a != a2 || flag != flag2))
        kh_fuzz_fail (S_TARGET, "an ACK differs after a re-encode");

    rc = kh_stored_decode (data, size, &info, &flag, &why);
    s_rejection_ok ("kh_stored_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_stored_encode (&s_out, &info, flag)
    ||  kh_stored_decode (s_out.data, s_out.size, &info2, &flag2, &why)
    ||  memcmp (&info, &info2, sizeof info) || flag != flag2))
        kh_fuzz_fail (S_TARGET, "a STORED differs after a re-encode");

    rc = kh_hello_decode (data, size, &a, &why);
    s_rejection_ok ("kh_hello_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_hello_encode (&s_out, a)
    ||  kh_hello_decode (s_out.data, s_out.size, &a2, &why) || a != a2))
        kh_fuzz_fail (S_TARGET, "a HELLO differs after a re-encode");

    rc = kh_beat_decode (data, size, &a, &b, &why);
    s_rejection_ok ("kh_beat_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_beat_encode (&s_out, a, b)
    ||  kh_beat_decode (s_out.data, s_out.size, &a2, &b2, &why) || a != a2 || b != b2))
        kh_fuzz_fail (S_TARGET, "a heartbeat differs after a re-encode");

    rc = kh_pong_decode (data, size, &a, &flag, &why);
    s_rejection_ok ("kh_pong_decode", rc, &why);
    msgpack_sbuffer_clear (&s_out);
    if (rc == 0 && (kh_pong_encode (&s_out, a, flag)
    ||  kh_pong_decode (s_out.data, s_out.size, &a2, &flag2, &why) || a != a2 || flag != flag2))
        kh_fuzz_fail (S_TARGET, "a PONG differs after a re-encode");
}

/* ERROR: terminated strings, a code that is not negative. */
static void
s_error (const uint8_t *data, size_t size)
{
    kh_error_reply_t err;
    kh_problem_t why = { 0 };
    int rc = kh_error_decode (data, size, &err, &why);
    s_rejection_ok ("kh_error_decode", rc, &why);
    if (rc)
        return;
    if (!memchr (err.name, 0, sizeof err.name) || !memchr (err.reason, 0, sizeof err.reason))
        kh_fuzz_fail (S_TARGET, "an ERROR's name or reason is not terminated");
    if (err.code < 0)
        kh_fuzz_fail (S_TARGET, "an ERROR with code %d was accepted", err.code);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Feeds the input to every decoder and renderer in turn. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool ready = false;
    if (!ready) {
        msgpack_sbuffer_init (&s_out);
        ready = true;
    }
    s_scan (data, size);
    s_envelope (data, size);
    s_record (data, size);
    s_rows (data, size);
    s_query (data, size);
    s_read_queries (data, size);
    s_read_replies (data, size);
    s_small_replies (data, size);
    s_error (data, size);
    return 0;
}
