/*  it_wire.c - speaks the wire protocol to a real broker and recorder: every test
    vector (envelopes, queries, the catalogue, counts and counters), every bad-input
    class, and proof that the hub keeps serving and that what it stored is intact
    afterwards.

    Nothing here waits out a fixed time: the live subscriber is used once its first
    heartbeat came, the giant frame's peer is watched until the broker cuts it off,
    and the live records are counted up to a closing record published last. */
#include <czmq.h>
#include "kh_codec.h"
#include "kh_harness.h"

/* Sends frames (count of them) from a DEALER and waits up to 5 s for the reply. */
static zmsg_t *
s_request (zsock_t *dealer, int count, const void *const *data, const size_t *size)
{
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; i < count; i++)
        zmsg_addmem (msg, data [i], size [i]);
    zmsg_send (&msg, dealer);
    zpoller_t *poller = zpoller_new (dealer, NULL);
    zmsg_t *reply = zpoller_wait (poller, 5000) ? zmsg_recv (dealer) : NULL;
    zpoller_destroy (&poller);
    return reply;
}

/* Sends [cmd][body] and returns the reply's first frame name in name and the
   error code (0 for ACK) ; seq from an ACK. Returns -1 if no reply came. */
static int
s_send_body (zsock_t *dealer, const char *cmd, const void *body, size_t size,
             char *name, size_t cap, int *code, uint64_t *seq)
{
    const void *data [2] = { cmd, body };
    size_t sizes [2] = { strlen (cmd), size };
    zmsg_t *reply = s_request (dealer, 2, data, sizes);
    if (!reply)
        return -1;
    char *first = zmsg_popstr (reply);
    zframe_t *frame = zmsg_pop (reply);
    snprintf (name, cap, "%s", first ? first : "");
    *code = -1;
    kh_problem_t why;
    if (first && frame && strcmp (first, KH_REP_ERROR) == 0) {
        kh_error_reply_t err;
        if (kh_error_decode (zframe_data (frame), zframe_size (frame), &err, &why) == 0)
            *code = err.code;
    }
    if (first && frame && strcmp (first, KH_REP_ACK) == 0) {
        uint8_t id [KH_ID_SIZE];
        bool dup;
        if (kh_ack_decode (zframe_data (frame), zframe_size (frame), id, seq, &dup, &why) == 0)
            *code = 0;
    }
    zstr_free (&first);
    zframe_destroy (&frame);
    zmsg_destroy (&reply);
    return 0;
}

/* Reads a file into a zchunk; NULL if it cannot. */
static zchunk_t *
s_vector (const char *name)
{
    const char *dir = getenv ("KH_VECTORS");
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir ? dir : "schema/vectors", name);
    zfile_t *file = zfile_new (NULL, path);
    zchunk_t *chunk = NULL;
    if (file && zfile_input (file) == 0) {
        chunk = zfile_read (file, (size_t) zfile_cursize (file), 0);
        zfile_close (file);
    }
    zfile_destroy (&file);
    return chunk;
}

/* The DEALERs of a secure hub, one per sender the vectors name: a message is
   published by the certificate of its from, as the hub requires. */
typedef struct {
    kh_hub_t *hub;
    char      who [8][KH_AGS_MAX + 1];
    zsock_t  *sock [8];
    int       count;
} s_dealers_t;

/* Returns the DEALER that speaks for who, opened on first use (NULL if it cannot). */
static zsock_t *
s_dealer (s_dealers_t *self, const char *who)
{
    for (int i = 0; i < self->count; i++)
        if (streq (self->who [i], who))
            return self->sock [i];
    if (self->count == 8)
        return NULL;
    snprintf (self->who [self->count], sizeof self->who [0], "%s", who);
    self->sock [self->count] = kh_hub_dealer (self->hub, who);
    return self->sock [self->count++];
}

/* The DEALER for an envelope: its sender's if it is valid, else a municipality's
   (an invalid envelope is refused as invalid whoever sends it). */
static zsock_t *
s_dealer_for (s_dealers_t *self, zchunk_t *chunk)
{
    kh_envelope_t env;
    kh_problem_t why;
    bool valid = chunk && kh_envelope_check (zchunk_data (chunk), zchunk_size (chunk), &env,
                                             NULL, &why) == 0;
    return s_dealer (self, valid ? env.from : "05162004");
}

static void
s_dealers_close (s_dealers_t *self)
{
    for (int i = 0; i < self->count; i++)
        zsock_destroy (&self->sock [i]);
    self->count = 0;
}

/* What the hub answered to one [command][body]: the reply's name, and what its
   body says (an ERROR's fields, an ACK's seq, a page's or the counters' req and how
   many rows the page holds). */
typedef struct {
    char             name [32];         /* "" if no reply came */
    bool             decoded;           /* the body decoded as the name and command say */
    kh_error_reply_t err;               /* ERROR */
    uint64_t         seq;               /* ACK */
    uint64_t         req;               /* ROWS, COUNTERS */
    uint32_t         rows;              /* ROWS */
    kh_counters_t    counters;          /* COUNTERS */
} s_answer_t;

/* Decodes a ROWS reply to cmd into answer: records (QUERY), items (ITEMS) or a count
   (STATS). */
static void
s_decode_rows (const char *cmd, const void *body, size_t size, s_answer_t *answer)
{
    kh_problem_t why;
    if (streq (cmd, KH_CMD_ITEMS)) {
        kh_item_rows_t items;
        answer->decoded = kh_item_rows_decode (body, size, &items, &why) == 0;
        answer->req = items.req;
        answer->rows = items.count;
        kh_item_rows_release (&items);
    }
    else
    if (streq (cmd, KH_CMD_STATS)) {
        kh_stats_t *stats = NULL;
        answer->decoded = kh_stats_reply_decode (body, size, &answer->req, &stats, &why) == 0;
        answer->rows = stats ? (uint32_t) stats->count : 0;
        kh_stats_destroy (&stats);
    }
    else {
        kh_rows_t rows;
        answer->decoded = kh_rows_decode (body, size, &rows, &why) == 0;
        answer->req = answer->decoded ? rows.req : 0;
        answer->rows = answer->decoded ? rows.count : 0;
        kh_rows_release (&rows);
    }
}

/* Sends [cmd][the chunk's bytes] and reads the answer into *answer. */
static void
s_ask (zsock_t *dealer, const char *cmd, zchunk_t *chunk, s_answer_t *answer)
{
    const void *data [2] = { cmd, chunk ? zchunk_data (chunk) : NULL };
    size_t sizes [2] = { strlen (cmd), chunk ? zchunk_size (chunk) : 0 };
    memset (answer, 0, sizeof *answer);
    zmsg_t *reply = s_request (dealer, 2, data, sizes);
    char *first = reply ? zmsg_popstr (reply) : NULL;
    zframe_t *frame = reply ? zmsg_pop (reply) : NULL;
    snprintf (answer->name, sizeof answer->name, "%s", first ? first : "");
    const void *body = frame ? zframe_data (frame) : NULL;
    size_t size = frame ? zframe_size (frame) : 0;
    kh_problem_t why;
    if (frame && streq (answer->name, KH_REP_ERROR))
        answer->decoded = kh_error_decode (body, size, &answer->err, &why) == 0;
    if (frame && streq (answer->name, KH_REP_ACK)) {
        uint8_t id [KH_ID_SIZE];
        bool dup;
        answer->decoded = kh_ack_decode (body, size, id, &answer->seq, &dup, &why) == 0;
    }
    if (frame && streq (answer->name, KH_REP_ROWS))
        s_decode_rows (cmd, body, size, answer);
    if (frame && streq (answer->name, KH_REP_COUNTERS))
        answer->decoded = kh_counters_decode (body, size, &answer->req, &answer->counters,
                                              &why) == 0;
    zstr_free (&first);
    zframe_destroy (&frame);
    zmsg_destroy (&reply);
}

/* Opens the vectors' list name (MANIFEST, QUERIES, READS); NULL if it cannot. */
static FILE *
s_list_open (const char *name)
{
    const char *dir = getenv ("KH_VECTORS");
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir ? dir : "schema/vectors", name);
    FILE *list = fopen (path, "r");
    KH_CHECK ("a vectors list is readable", list, "%s", path);
    return list;
}

/* Every vector in the manifest, sent as a PUBLISH, gets its expected answer; an
   ERROR carries the envelope's id exactly when the manifest says "id". Returns the
   highest seq acknowledged: how many messages the vectors stored. */
static uint64_t
s_all_vectors (s_dealers_t *dealers)
{
    char line [512], file [256], expect [64];
    FILE *manifest = s_list_open ("MANIFEST");
    uint64_t stored = 0;
    while (manifest && fgets (line, sizeof line, manifest)) {
        if (sscanf (line, "%255s %63s", file, expect) != 2)
            continue;
        zchunk_t *chunk = s_vector (file);
        s_answer_t got;
        s_ask (s_dealer_for (dealers, chunk), KH_CMD_PUBLISH, chunk, &got);
        KH_CHECK ("every vector is answered", got.name [0], "%s: no reply", file);
        if (strcmp (expect, "OK") == 0) {
            KH_CHECK ("a valid vector is acknowledged", streq (got.name, "ACK") && got.decoded
                      && got.seq > 0, "%s: got %s", file, got.name);
            stored = got.seq > stored ? got.seq : stored;
        }
        else {
            KH_CHECK ("an invalid vector gets its error code", streq (got.name, "ERROR")
                      && got.decoded && streq (kh_errname (got.err.code), expect),
                      "%s: expected ERROR %s, got %s %s", file, expect, got.name,
                      kh_errname (got.err.code));
            kh_envelope_t env;
            bool has_id = false;
            kh_problem_t why;
            if (chunk)
                kh_envelope_check (zchunk_data (chunk), zchunk_size (chunk), &env, &has_id, &why);
            bool want_id = strstr (line, " id") != NULL;
            KH_CHECK ("an ERROR carries the envelope's id exactly when the manifest says so",
                      got.err.has_id == want_id && has_id == want_id
                      && (!want_id || memcmp (got.err.id, env.id, KH_ID_SIZE) == 0),
                      "%s: has_id %d", file, got.err.has_id);
        }
        zchunk_destroy (&chunk);
    }
    if (manifest)
        fclose (manifest);
    return stored;
}

/* PING is answered with PONG: *head and *recorder from it. Returns 0, or -1 if no
   PONG came (the hub stopped serving). */
static int
s_ping (zsock_t *dealer, uint64_t *head, bool *recorder)
{
    const void *data [1] = { KH_CMD_PING };
    size_t sizes [1] = { strlen (KH_CMD_PING) };
    zmsg_t *reply = s_request (dealer, 1, data, sizes);
    char *name = reply ? zmsg_popstr (reply) : NULL;
    zframe_t *frame = reply ? zmsg_pop (reply) : NULL;
    kh_problem_t why;
    int rc = name && streq (name, KH_REP_PONG) && frame
          && kh_pong_decode (zframe_data (frame), zframe_size (frame), head, recorder,
                             &why) == 0 ? 0 : -1;
    zstr_free (&name);
    zframe_destroy (&frame);
    zmsg_destroy (&reply);
    return rc;
}

/* Waits until the search index holds seq 27, the last stored message with a word
   (ok_title_200_umlauts, which query_search_200_chars finds with seq 6, diacritics
   ignored: 2 rows then): the index follows the log once the recorder has had no
   publish for 100 ms (PROTOCOL.md section 9), and the search vectors assume it
   holds every message. Asks again for up to 5 s. */
static void
s_await_index (zsock_t *dealer)
{
    zchunk_t *chunk = s_vector ("query_search_200_chars.mp");
    s_answer_t got = { .rows = 0 };
    int64_t deadline = zclock_mono () + 5000;
    while (chunk && got.rows < 2 && zclock_mono () < deadline)
        s_ask (dealer, KH_CMD_QUERY, chunk, &got);
    KH_CHECK ("the search index follows the log", got.rows == 2, "%s with %u rows",
              got.name, got.rows);
    zchunk_destroy (&chunk);
}

/* Checks the answer got to the vector file of a list's line, whose expected result
   is expect (ROWS with rows of them, COUNTERS, or an error name echoing req 7 where
   the line says req=7). stored: the messages the hub holds, the counters' head. */
static void
s_check_answer (const char *file, const char *line, const char *expect, unsigned rows,
                const s_answer_t *got, uint64_t stored)
{
    if (streq (expect, KH_REP_ROWS))
        KH_CHECK ("a valid query vector gets its rows", streq (got->name, KH_REP_ROWS)
                  && got->decoded && got->req == 7 && got->rows == rows,
                  "%s: expected %u rows, got %s with %u rows, req %llu", file, rows,
                  got->name, got->rows, (unsigned long long) got->req);
    else
    if (streq (expect, KH_REP_COUNTERS))
        KH_CHECK ("a valid COUNTERS vector gets the broker's counters",
                  streq (got->name, KH_REP_COUNTERS) && got->decoded && got->req == 7
                  && got->counters.recorder_up && got->counters.head == stored
                  && got->counters.clients >= 1 && got->counters.subscribers >= 1,
                  "%s: got %s, req %llu, recorder %d, head %llu, clients %u", file,
                  got->name, (unsigned long long) got->req, got->counters.recorder_up,
                  (unsigned long long) got->counters.head, got->counters.clients);
    else
        KH_CHECK ("an invalid query vector gets its error code and req",
                  streq (got->name, KH_REP_ERROR) && got->decoded
                  && streq (kh_errname (got->err.code), expect) && !got->err.has_id
                  && got->err.req == (strstr (line, " req=7") ? 7u : 0u),
                  "%s: expected ERROR %s, got %s %s req %llu", file, expect, got->name,
                  kh_errname (got->err.code), (unsigned long long) got->err.req);
}

/* Every vector of the list name, sent after the manifest's, gets its expected
   answer, and the hub answers a PING after each. A line of QUERIES is "<file>
   <result>", sent as a QUERY; a line of READS (with_command) is "<file> <command>
   <result>". stored: the messages the hub holds. Returns how many were sent. */
static int
s_all_queries (zsock_t *dealer, const char *name, bool with_command, uint64_t stored)
{
    char line [512], file [256], cmd [16] = KH_CMD_QUERY, expect [64];
    FILE *list = s_list_open (name);
    int count = 0;
    while (list && fgets (line, sizeof line, list)) {
        unsigned rows = 0;
        int words = with_command
                  ? sscanf (line, "%255s %15s %63s %u", file, cmd, expect, &rows) - 1
                  : sscanf (line, "%255s %63s %u", file, expect, &rows);
        if (words < 2)
            continue;
        zchunk_t *chunk = s_vector (file);
        s_answer_t got;
        s_ask (dealer, cmd, chunk, &got);
        s_check_answer (file, line, expect, rows, &got, stored);
        uint64_t head = 0;
        bool recorder = false;
        KH_CHECK ("the hub still serves after a query vector",
                  s_ping (dealer, &head, &recorder) == 0 && recorder && head == stored,
                  "after %s %s: head %llu, recorder %d", cmd, file,
                  (unsigned long long) head, recorder);
        zchunk_destroy (&chunk);
        count++;
    }
    if (list)
        fclose (list);
    return count;
}

/* Frame-level abuse: counts, unknown commands, an empty command. */
static void
s_bad_frames (zsock_t *dealer)
{
    const void *data [3] = { "PUBLISH", "x", "y" };
    size_t sizes [3] = { 7, 1, 1 };
    for (int count = 1; count <= 3; count += 2) {
        zmsg_t *reply = s_request (dealer, count, data, sizes);
        char *name = reply ? zmsg_popstr (reply) : NULL;
        zframe_t *frame = reply ? zmsg_pop (reply) : NULL;
        kh_error_reply_t err = { .code = -1 };
        kh_problem_t why;
        if (frame)
            kh_error_decode (zframe_data (frame), zframe_size (frame), &err, &why);
        KH_CHECK ("a PUBLISH with the wrong number of frames gets FRAMES",
                  name && strcmp (name, "ERROR") == 0 && err.code == KH_EFRAMES,
                  "%d frames: %s code %d", count, name ? name : "(none)", err.code);
        zstr_free (&name);
        zframe_destroy (&frame);
        zmsg_destroy (&reply);
    }
    char name [32];
    int code;
    uint64_t seq;
    s_send_body (dealer, "SHOUT", "x", 1, name, sizeof name, &code, &seq);
    KH_CHECK ("an unknown command gets COMMAND", code == KH_ECOMMAND, "%s %d", name, code);
    s_send_body (dealer, "", "x", 1, name, sizeof name, &code, &seq);
    KH_CHECK ("an empty command frame gets COMMAND", code == KH_ECOMMAND, "%s %d", name, code);
}

/* A peer that sends more than the hard frame cap is cut off, unanswered; others go
   on. The peer's connection is watched (zmonitor) until the broker drops it. */
static void
s_giant_frame (kh_hub_t *hub)
{
    zsock_t *rude = kh_hub_dealer (hub, "05162004");
    zactor_t *monitor = zactor_new (zmonitor, rude);
    zstr_sendx (monitor, "LISTEN", "DISCONNECTED", NULL);
    zstr_send (monitor, "START");
    zsock_wait (monitor);
    size_t size = 2 * 1024 * 1024;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, KH_CMD_PUBLISH);
    zmsg_append (msg, &(zframe_t *) { zframe_new (NULL, size) });
    zmsg_send (&msg, rude);
    zpoller_t *poller = zpoller_new (monitor, NULL);
    zmsg_t *event = zpoller_wait (poller, 5000) ? zmsg_recv (monitor) : NULL;
    char *name = event ? zmsg_popstr (event) : NULL;
    KH_CHECK ("a peer sending a frame over the 1 MiB cap is disconnected",
              name && streq (name, "DISCONNECTED"), "%s", name ? name : "no event in 5 s");
    KH_CHECK ("a frame over the 1 MiB cap is not answered",
              !(zsock_events (rude) & ZMQ_POLLIN), "answered");
    zstr_free (&name);
    zmsg_destroy (&event);
    zpoller_destroy (&poller);
    zactor_destroy (&monitor);
    zsock_destroy (&rude);
}

/* PING answers with the head; the log holds exactly the accepted envelopes. */
static void
s_store_intact (zsock_t *dealer, uint64_t expect_head)
{
    uint64_t head = 0;
    bool recorder = false;
    KH_CHECK ("PING is answered with PONG", s_ping (dealer, &head, &recorder) == 0, "none");
    KH_CHECK ("the head counts each distinct accepted message once", head == expect_head && recorder,
              "head %llu, expected %llu, recorder %d", (unsigned long long) head,
              (unsigned long long) expect_head, recorder);

    kh_problem_t why;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_query_t q = { .req = 7 };
    kh_query_encode (&buf, &q);
    const void *qd [2] = { KH_CMD_QUERY, buf.data };
    size_t qs [2] = { 5, buf.size };
    zmsg_t *reply = s_request (dealer, 2, qd, qs);
    msgpack_sbuffer_destroy (&buf);
    char *name = reply ? zmsg_popstr (reply) : NULL;
    zframe_t *frame = reply ? zmsg_pop (reply) : NULL;
    kh_rows_t rows = { 0 };
    int rc = frame ? kh_rows_decode (zframe_data (frame), zframe_size (frame), &rows, &why) : -1;
    KH_CHECK ("the log answers a query", name && strcmp (name, "ROWS") == 0 && rc == 0 && rows.req == 7,
              "%s rc %d", name ? name : "(none)", rc);
    KH_CHECK ("the log holds exactly the accepted messages", rows.count == expect_head && !rows.more,
              "%u rows", rows.count);
    for (uint32_t i = 0; i < rows.count; i++) {
        KH_CHECK ("stored seqs are gap-free", rows.rows [i].info.seq == i + 1, "row %u seq %llu", i,
                  (unsigned long long) rows.rows [i].info.seq);
        KH_CHECK ("stored envelopes are still valid",
                  kh_envelope_check (rows.rows [i].msg, rows.rows [i].msg_size, NULL, NULL, &why) == 0,
                  "%s", why.reason);
    }
    kh_rows_release (&rows);
    zstr_free (&name);
    zframe_destroy (&frame);
    zmsg_destroy (&reply);
}

/* A hub whose broker lists its senders refuses any other AGS with FORBIDDEN, over
   the wire, and keeps serving the listed ones. */
static void
s_unknown_sender (void)
{
    const char *const broker_args [] = { "--senders", "05162004,05162008", NULL };
    kh_hub_t hub;
    if (kh_hub_start (&hub, broker_args, NULL)) {
        KH_CHECK ("a hub with --senders starts", false, "it did not");
        return;
    }
    s_dealers_t dealers = { .hub = &hub };
    const char *files [3] = { "ok_kreis_sender.mp", "ok_idea_minimal.mp", "ok_offer_full.mp" };
    const char *expect [3] = { "FORBIDDEN", "ACK", "FORBIDDEN" };
    for (int i = 0; i < 3; i++) {
        zchunk_t *chunk = s_vector (files [i]);
        char name [32] = "";
        int code = -1;
        uint64_t seq = 0;
        int rc = s_send_body (s_dealer_for (&dealers, chunk), KH_CMD_PUBLISH,
                              chunk ? zchunk_data (chunk) : NULL,
                              chunk ? zchunk_size (chunk) : 0, name, sizeof name, &code, &seq);
        const char *got = rc ? "nothing" : code == 0 ? "ACK" : kh_errname (code);
        KH_CHECK ("only the listed senders may publish", streq (got, expect [i]),
                  "%s: expected %s, got %s (%s)", files [i], expect [i], got, name);
        zchunk_destroy (&chunk);
    }
    s_store_intact (s_dealer (&dealers, "admin"), 1);
    s_dealers_close (&dealers);
    KH_CHECK ("the hub with --senders stops cleanly", kh_hub_stop (&hub, s_failed > 0) == 0,
              "see logs in %s", hub.dir);
}

/* Receives the next message on sub within 5 s into *seq: a record's seq, or 0 for a
   heartbeat. Returns 0, or -1 if nothing readable came. */
static int
s_next_live (zsock_t *sub, uint64_t *seq)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    zmsg_t *msg = zpoller_wait (poller, 5000) ? zmsg_recv (sub) : NULL;
    zpoller_destroy (&poller);
    char *topic = msg ? zmsg_popstr (msg) : NULL;
    zframe_t *body = msg ? zmsg_pop (msg) : NULL;
    kh_record_t rec;
    kh_problem_t why;
    int rc = -1;
    *seq = 0;
    if (topic && streq (topic, KH_TOPIC_BEAT))
        rc = 0;
    else
    if (topic && body
    &&  kh_record_decode (zframe_data (body), zframe_size (body), &rec, &why) == 0) {
        *seq = rec.info.seq;
        rc = 0;
    }
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return rc;
}

/* Waits for the first heartbeat on sub: then the broker has its subscription. */
static void
s_await_beat (zsock_t *sub)
{
    uint64_t seq = 1;
    int rc = 0;
    while (rc == 0 && seq != 0)
        rc = s_next_live (sub, &seq);
    KH_CHECK ("a new subscriber hears a heartbeat", rc == 0 && seq == 0, "nothing in 5 s");
}

/* Publishes a valid envelope no vector holds and returns its seq (0: not stored). */
static uint64_t
s_publish_closer (zsock_t *dealer)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    kh_problem_t why;
    kh_builder_t *builder = kh_builder_new ("idea");
    uint64_t seq = 0;
    char name [32];
    int code = -1;
    if (builder && kh_builder_set (builder, "title", "closing record", &why) == 0
    &&  kh_builder_pack (builder, id, "05162004", kh_now_ms (), &buf, &why) == 0)
        s_send_body (dealer, KH_CMD_PUBLISH, buf.data, buf.size, name, sizeof name, &code,
                     &seq);
    kh_builder_destroy (&builder);
    msgpack_sbuffer_destroy (&buf);
    KH_CHECK ("a closing record is acknowledged", code == 0 && seq > 0, "code %d", code);
    return code == 0 ? seq : 0;
}

/* Reads the live records on sub up to the closing one (seq closer) and checks that
   seq 1 .. closer came, each once and in order: the stored messages went live once,
   their duplicates and the refused ones never. */
static void
s_check_live (zsock_t *sub, uint64_t closer)
{
    uint64_t expect = 1, seq = 0;
    bool ordered = true;
    while (closer && seq != closer && s_next_live (sub, &seq) == 0)
        if (seq) {
            ordered &= seq == expect;
            expect = seq + 1;
        }
    KH_CHECK ("each stored message went live once, in order, duplicates not again",
              closer && seq == closer && ordered, "seq %llu after %llu, closing %llu",
              (unsigned long long) seq, (unsigned long long) expect - 1,
              (unsigned long long) closer);
}

int
main (void)
{
    kh_hub_t hub;
    if (kh_hub_start (&hub, NULL, NULL)) {
        printf ("FAIL hub starts\n");
        return 1;
    }
    zsock_t *sub = kh_hub_sub (&hub, "admin", "");
    s_dealers_t dealers = { .hub = &hub };
    zsock_t *dealer = s_dealer (&dealers, "admin");
    s_await_beat (sub);
    /* The OK vectors but ok_idea_minimal_again, a retry of ok_idea_minimal. */
    uint64_t stored = s_all_vectors (&dealers);
    s_await_index (dealer);
    int queries = s_all_queries (dealer, "QUERIES", false, stored);
    KH_CHECK ("the query vectors were sent", queries > 60, "%d", queries);
    int reads = s_all_queries (dealer, "READS", true, stored);
    KH_CHECK ("the vectors of the catalogue, counts and counters were sent", reads > 80,
              "%d", reads);
    s_bad_frames (dealer);
    s_giant_frame (&hub);
    s_store_intact (dealer, stored);
    uint64_t closer = s_publish_closer (s_dealer (&dealers, "05162004"));
    KH_CHECK ("the closing record is stored next", stored > 10 && closer == stored + 1,
              "seq %llu after %llu", (unsigned long long) closer, (unsigned long long) stored);
    s_check_live (sub, closer);
    s_dealers_close (&dealers);
    zsock_destroy (&sub);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&hub, s_failed > 0) == 0, "see logs in %s", hub.dir);
    s_unknown_sender ();
    return kh_check_done ("it_wire");
}
