/*  kh_web_live_test.c - the live fan-out: which stream gets which record, what an event
    says, pausing and waking, a slow stream dropped, the bounds, the end
    (kh_web_live.h). */
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "kh_check.h"
#include "kh_web_live.h"

/* A connection as the test sees it: how often it was paused and woken. */
typedef struct {
    int pauses, wakes;
} s_conn_t;

static void
s_pause (void *conn)
{
    ((s_conn_t *) conn)->pauses++;
}

static void
s_wake (void *conn)
{
    ((s_conn_t *) conn)->wakes++;
}

/* A record at seq: an offer (ref NULL) titled title, else a comment about ref. Its
   bytes stay in builder. */
static kh_record_t
s_record (kh_builder_t **builder, uint64_t seq, const uint8_t *ref, const char *title,
          uint8_t id [KH_ID_SIZE])
{
    kh_problem_t why;
    char text [KH_ID_STR_SIZE];
    *builder = kh_builder_new (ref ? "comment" : "offer");
    kh_id_new (id);
    if (ref) {
        kh_id_format (ref, text);
        kh_builder_set (*builder, "ref", text, &why);
        kh_builder_set (*builder, "text", title, &why);
    }
    else
        kh_builder_set (*builder, "title", title, &why);
    if (kh_builder_encode (*builder, id, "05162004", 1700000000000ULL, &why))
        abort ();
    kh_record_t rec = { .info = { .seq = seq } };
    rec.msg = kh_builder_data (*builder, &rec.msg_size);
    return rec;
}

/* Reads what stream has now (up to cap - 1 bytes, in pieces of max) into out.
   Returns the last read's result (0: paused, -1: ended). */
static ssize_t
s_drain (kh__web_stream_t *stream, char *out, size_t cap, size_t max)
{
    size_t used = 0;
    ssize_t rc;
    out [0] = 0;
    while ((rc = kh__web_live_read (stream, out + used, max < cap - 1 - used ? max
                                                          : cap - 1 - used)) > 0) {
        used += (size_t) rc;
        out [used] = 0;
    }
    return rc;
}

static void
test_fan_out (void)
{
    kh_problem_t why;
    kh_web_live_t *live = kh_web_live_new (&(kh_web_live_config_t) { .queue = 4 }, &why);
    s_conn_t all_conn = { 0 }, item_conn = { 0 }, other_conn = { 0 };
    uint8_t item [KH_ID_SIZE], other [KH_ID_SIZE], comment [KH_ID_SIZE];
    kh_builder_t *b1, *b2, *b3;
    kh_record_t offer = s_record (&b1, 7, NULL, "<script>alert(1)</script>", item);
    kh_id_new (other);
    kh__web_stream_t *all = kh__web_live_open (live, NULL,
                                               &(kh__web_waker_t) { s_pause, s_wake, &all_conn });
    kh__web_stream_t *one = kh__web_live_open (live, item,
                                               &(kh__web_waker_t) { s_pause, s_wake, &item_conn });
    kh__web_stream_t *two = kh__web_live_open (live, other,
                                               &(kh__web_waker_t) { s_pause, s_wake, &other_conn });
    char text [1024], id [KH_ID_STR_SIZE], want [256];
    ssize_t rc = s_drain (all, text, sizeof text, 4096);
    KH_CHECK ("a new stream says hello, then pauses", rc == 0 && strstr (text, "retry: ")
              && all_conn.pauses == 1 && all_conn.wakes == 0, "rc %zd '%s'", rc, text);
    s_drain (one, text, sizeof text, 4096);
    s_drain (two, text, sizeof text, 4096);
    kh_web_live_publish (live, &offer);
    KH_CHECK ("a record wakes the paused streams that want it", all_conn.wakes == 1
              && item_conn.wakes == 1 && other_conn.wakes == 0, "%d %d %d", all_conn.wakes,
              item_conn.wakes, other_conn.wakes);
    kh_id_format (item, id);
    snprintf (want, sizeof want, "event: record\nid: 7\ndata: {\"seq\":7,\"type\":\"offer\","
              "\"item\":\"%s\"}\n\n", id);
    rc = s_drain (one, text, sizeof text, 4096);
    KH_CHECK ("the item's stream gets the item's first message", rc == 0 && streq (text, want),
              "'%s'", text);
    KH_CHECK ("an event carries nothing a user wrote", !strstr (text, "script"), "'%s'", text);
    rc = s_drain (two, text, sizeof text, 4096);
    KH_CHECK ("another item's stream gets nothing", rc == 0 && text [0] == 0, "'%s'", text);
    kh_record_t remark = s_record (&b2, 8, item, "gut", comment);
    kh_web_live_publish (live, &remark);
    rc = s_drain (one, text, sizeof text, 5);
    KH_CHECK ("a message about the item reaches its stream, as the item's, in small reads",
              rc == 0 && strstr (text, "\"seq\":8,\"type\":\"comment\"") && strstr (text, id),
              "'%s'", text);
    rc = s_drain (all, text, sizeof text, 4096);
    KH_CHECK ("the catalogue's stream gets every record, in order", rc == 0
              && strstr (text, "\"seq\":7") && strstr (text, "\"seq\":8")
              && strstr (text, "\"seq\":7") < strstr (text, "\"seq\":8"), "'%s'", text);
    kh_record_t broken = remark;
    broken.msg_size -= 3;
    kh_web_live_publish (live, &broken);
    rc = s_drain (all, text, sizeof text, 4096);
    KH_CHECK ("a record that cannot be read is skipped", rc == 0 && text [0] == 0, "'%s'", text);

    for (uint64_t seq = 9; seq < 9 + 5; seq++) {
        kh_record_t more = s_record (&b3, seq, item, "noch", comment);
        kh_web_live_publish (live, &more);
        kh_builder_destroy (&b3);
        s_drain (all, text, sizeof text, 4096);     /* the catalogue's keeps up */
    }
    rc = s_drain (one, text, sizeof text, 4096);
    KH_CHECK ("a stream that falls 4 behind is dropped", rc == -1
              && kh_web_live_dropped (live) == 1, "rc %zd dropped %" PRIu64, rc,
              kh_web_live_dropped (live));
    KH_CHECK ("the others go on", s_drain (all, text, sizeof text, 4096) == 0, "all ended");
    kh__web_live_close (one);
    KH_CHECK ("a closed stream leaves the fan-out", kh_web_live_streams (live) == 2, "%zu",
              kh_web_live_streams (live));
    kh_web_live_stop (live);
    KH_CHECK ("stopping wakes the paused streams and ends them", all_conn.wakes >= 2
              && kh__web_live_read (all, text, sizeof text) == -1
              && kh__web_live_read (two, text, sizeof text) == -1, "wakes %d", all_conn.wakes);
    s_conn_t late_conn = { 0 };
    KH_CHECK ("no stream opens after the stop", kh__web_live_open (live, NULL,
              &(kh__web_waker_t) { s_pause, s_wake, &late_conn }) == NULL, "opened");
    kh__web_live_close (all);
    kh__web_live_close (two);
    kh_web_live_destroy (&live);
    kh_web_live_destroy (&live);
    KH_CHECK ("destroy nulls", live == NULL, "not null");
    kh_builder_destroy (&b1);
    kh_builder_destroy (&b2);
}

static void
test_bound (void)
{
    kh_problem_t why;
    kh_web_live_t *live = kh_web_live_new (&(kh_web_live_config_t) { .streams = 3 }, &why);
    s_conn_t conn = { 0 };
    kh__web_waker_t waker = { s_pause, s_wake, &conn };
    kh__web_stream_t *streams [4];
    for (int i = 0; i < 4; i++)
        streams [i] = kh__web_live_open (live, NULL, &waker);
    KH_CHECK ("at most `streams` streams are open at once", streams [0] && streams [1]
              && streams [2] && !streams [3], "fourth %p", (void *) streams [3]);
    kh__web_live_close (streams [0]);
    streams [3] = kh__web_live_open (live, NULL, &waker);
    KH_CHECK ("a closed one makes room", streams [3] != NULL, "none");
    for (int i = 1; i < 4; i++)
        kh__web_live_close (streams [i]);
    kh_web_live_destroy (&live);
    kh_web_live_config_t bad = { .live_ep = "tcp://127.0.0.1:1", .cert = "/nonexistent.cert",
                                 .server_cert = "/nonexistent.cert" };
    live = kh_web_live_new (&bad, &why);
    KH_CHECK ("certificates that cannot be loaded are refused", !live && why.code
              && strstr (why.reason, "nonexistent"), "%d %s", why.code, why.reason);
}

/* After SIGTERM (czmq's handler sets zsys_interrupted) the follower still ends:
   without that, this test hangs until ctest's timeout. */
static void
test_stop_after_signal (void)
{
    kh_problem_t why;
    kh_web_live_config_t config = { .client_ep = "tcp://127.0.0.1:9",
                                    .live_ep = "tcp://127.0.0.1:9" };
    kh_web_live_t *live = kh_web_live_new (&config, &why);
    KH_CHECK ("a follower starts on a hub not there yet", live != NULL, "%s", why.reason);
    zsys_interrupted = 1;
    int64_t start = zclock_mono ();
    kh_web_live_destroy (&live);
    zsys_interrupted = 0;
    KH_CHECK ("it ends after SIGTERM too", live == NULL && zclock_mono () - start < 5000,
              "%d ms", (int) (zclock_mono () - start));
}

int
main (void)
{
    test_fan_out ();
    test_bound ();
    test_stop_after_signal ();
    return kh_check_done ("web_live_test");
}
