/*  kh_fuzz_seeds.c - kh-fuzz-seeds VECTORS OUT: writes the seed inputs of the libFuzzer
    targets into OUT/codec, OUT/json, OUT/broker and OUT/recorder.

    The codec gets one frame of every kind the hub decodes, made with the codec's own
    encoders (it reads the vectors from VECTORS directly); the JSON reader gets texts of
    every JSON construct and each valid vector as the CLI prints it; the broker and the
    recorder get framed inputs (kh_fuzz.h): each vector as a PUBLISH, as a STORE and
    in a batch with another, queries, pings and malformed commands. Exit status 0, or
    1 if a directory cannot be read or written.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_json.h"
#include "kh_fuzz.h"

#define S_VECTORS_MAX   256
#define S_VECTOR_MAX    (128 * 1024)

/* The vectors, as read. */
typedef struct {
    char   *data [S_VECTORS_MAX];
    size_t  size [S_VECTORS_MAX];
    size_t  count;
} s_vectors_t;

static const uint8_t s_id [KH_ID_SIZE] = {
    0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x70, 0x00, 0x80, 0x00, 1, 2, 3, 4, 5, 6 };

/* Where seeds go: OUT/<target>/NNNN, numbered across the run. */
static const char *s_out;
static unsigned s_written;

/* Writes size bytes at data as the next seed of target. Returns 0, or -1. */
static int
s_write (const char *target, const void *data, size_t size)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/%s", s_out, target);
    if (mkdir (path, 0755) && errno != EEXIST)
        return -1;
    snprintf (path, sizeof path, "%s/%s/seed-%04u", s_out, target, s_written++);
    FILE *file = fopen (path, "wb");
    if (!file)
        return -1;
    size_t done = size ? fwrite (data, 1, size, file) : 0;
    return fclose (file) == 0 && done == size ? 0 : -1;
}

/* Writes what buf holds as a seed of target and clears buf. */
static int
s_take (const char *target, msgpack_sbuffer *buf)
{
    int rc = s_write (target, buf->data, buf->size);
    msgpack_sbuffer_clear (buf);
    return rc;
}

/* Reads every file of dir but MANIFEST. Returns 0, or -1 if dir cannot be read. */
static int
s_load (s_vectors_t *v, const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return -1;
    struct dirent *entry;
    while ((entry = readdir (d)) && v->count < S_VECTORS_MAX) {
        if (entry->d_name [0] == '.' || strcmp (entry->d_name, "MANIFEST") == 0)
            continue;
        char path [4096];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        FILE *file = fopen (path, "rb");
        char *data = file ? malloc (S_VECTOR_MAX) : NULL;
        if (data) {
            v->size [v->count] = fread (data, 1, S_VECTOR_MAX, file);
            v->data [v->count++] = data;
        }
        if (file)
            fclose (file);
    }
    closedir (d);
    return 0;
}

/* One envelope of each message type, made by the builder with every field below
   that the type has (a field it lacks is refused and left out), as the Kreis (who
   may send every type), for the codec. */
static int
s_codec_envelopes (msgpack_sbuffer *buf)
{
    static const char *const fields [][2] = {
        { "title", "Fuzz \xc3\xa4 title" }, { "hf", "3" }, { "keywords", "a,b" },
        { "participants", "05162004,05162" }, { "maturity", "beta" }, { "start", "2024-02-29" },
        { "ref", "017ce42a-3800-7001-8000-00000000002a" }, { "action", "join" },
        { "status", "pilot" }, { "fields.title", "Fuzz" }, { "text", "eins\n\tzwei" },
    };
    int rc = 0;
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        kh_builder_t *b = kh_builder_new (kh_schema_type_name (t));
        kh_problem_t why;
        for (size_t f = 0; b && f < sizeof fields / sizeof fields [0]; f++)
            kh_builder_set (b, fields [f][0], fields [f][1], &why);
        if (b)
            kh_builder_pack (b, s_id, "05162", 1700000000000ULL, buf, &why);
        rc |= s_take ("codec", buf);
        kh_builder_destroy (&b);
    }
    return rc;
}

/* Seeds of section 14: an items query with every key, a page of an item, a stats
   query and its count, a COUNTERS request and answer. */
static int
s_codec_reads (msgpack_sbuffer *buf)
{
    kh_items_query_t items = { .req = 4, .has_id = true, .id = { 1, 2, 3 },
                               .type = { "offer", "idea" }, .type_count = 2,
                               .from = { "0516*" }, .from_count = 1,
                               .status = { "pilot" }, .status_count = 1, .hf = 2,
                               .topic = "Akte", .participant = "05162024", .open = true,
                               .search = "Zwilling", .before = 30, .limit = 20 };
    kh_items_query_encode (buf, &items);
    int rc = s_take ("codec", buf);
    static const uint8_t fields [] = "\x82\xa5title\xa4""Akte\xa8keywords\x92\xa1""a\xa1""b";
    kh_participant_t people [1] = { { "05162024", "joined", 5, 11 } };
    kh_item_t item = { .id = { 9 }, .seq = 5, .type = "offer", .owner = "05162004",
                       .status = "pilot", .messages = 2, .last_seq = 11, .fields = fields,
                       .fields_size = sizeof fields - 1, .participant_count = 1,
                       .participants = people };
    kh_rows_writer_t *writer = kh_rows_writer_new (4);
    kh_rows_writer_add_item (writer, &item);
    kh_rows_writer_finish (writer, true, 11, buf);
    kh_rows_writer_destroy (&writer);
    rc |= s_take ("codec", buf);
    kh_stats_query_t stats = { .req = 6, .by = "month", .since_ts = 1, .type = { "idea" },
                               .type_count = 1 };
    kh_stats_query_encode (buf, &stats);
    rc |= s_take ("codec", buf);
    kh_stats_row_t rows [2] = { { "2021-10", 2, 5 }, { "2022-03", 1, 3 } };
    kh_stats_t count = { 3, 8, 40, 8192, false, 2, rows };
    kh_stats_reply_encode (buf, 6, &count);
    rc |= s_take ("codec", buf);
    kh_counters_query_encode (buf, 7);
    rc |= s_take ("codec", buf);
    kh_counters_t counters = { 60000, 3, 2, true, 40, 38, 4, 5, 1, 0 };
    kh_counters_encode (buf, 7, &counters);
    return rc | s_take ("codec", buf);
}

/* One frame of every other kind the hub decodes, for the codec target. */
static int
s_codec (const s_vectors_t *v, msgpack_sbuffer *buf)
{
    int rc = s_codec_envelopes (buf);
    kh_record_t rec = { { 7, 1700000000123ULL, 5, 3, 2 }, (const uint8_t *) v->data [0],
                        v->size [0] };
    kh_record_encode (buf, &rec);
    rc |= s_take ("codec", buf);
    kh_rows_writer_t *writer = kh_rows_writer_new (42);
    kh_rows_writer_add (writer, &rec);
    rec.info.seq = 8;
    kh_rows_writer_add (writer, &rec);
    kh_rows_writer_finish (writer, true, 9, buf);
    kh_rows_writer_destroy (&writer);
    rc |= s_take ("codec", buf);
    kh_query_t q = { .req = 1, .since_seq = 10, .until_seq = 20, .since_at = 5,
                     .until_at = 6, .type = { "offer" }, .type_count = 1,
                     .from = { "05162" }, .from_count = 1, .limit = 50 };
    kh_query_encode (buf, &q);
    rc |= s_take ("codec", buf);
    rc |= s_codec_reads (buf);
    kh_seqinfo_t info = { 3, 4, 1, 2, 0 };
    kh_stored_encode (buf, &info, true);
    rc |= s_take ("codec", buf);
    kh_ack_encode (buf, s_id, 99, true);
    rc |= s_take ("codec", buf);
    kh_error_encode (buf, s_id, 0, KH_EMISSING, "body.title: required field missing");
    rc |= s_take ("codec", buf);
    kh_error_encode (buf, NULL, 5, KH_EQUERY, "bad query");
    rc |= s_take ("codec", buf);
    kh_hello_encode (buf, 15);
    rc |= s_take ("codec", buf);
    kh_beat_encode (buf, 13, 14);
    rc |= s_take ("codec", buf);
    kh_pong_encode (buf, 12, true);
    return rc | s_take ("codec", buf);
}

/* Texts of every JSON construct, bodies, times, and each valid vector as printed. */
static int
s_json (const s_vectors_t *v)
{
    static const char *const texts [] = {
        "{\"title\": \"Behindertenparkausweis digital\", \"hf\": 2, \"keywords\": [\"OZG\"]}",
        "{\"title\": \"Kita\", \"participants\": [\"05162004\", \"05162\"], \"maturity\": \"beta\"}",
        "{\"ref\": \"017ce42a-3800-7001-8000-00000000002a\", \"fields\": {\"hf\": 2}}",
        "[1, -2, 3.5e10, true, false, null, \"\\u00e4\\ud83d\\ude00\", {}, []]",
        "{\"a\": {\"b\": {\"c\": [1, [2, [3]]]}}, \"n\": -9223372036854775808}",
        "  \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"  ", "18446744073709551615", "-0.0", "1.5e-320",
        "2024-02-29", "2024-02-29T23:59:59.999Z", "1970-01-01T00:00",
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        rc |= s_write ("json", texts [i], strlen (texts [i]));
    for (size_t i = 0; i < v->count; i++) {
        kh_record_t rec = { { i + 1, 1700000000000ULL, 0, 0, 0 },
                            (const uint8_t *) v->data [i], v->size [i] };
        char *line = kh_envelope_check (rec.msg, rec.msg_size, NULL, NULL, NULL) == 0
                   ? kh_record_to_json (&rec) : NULL;
        if (line)
            rc |= s_write ("json", line, strlen (line));
        free (line);
    }
    return rc;
}

/* Appends the frames given (NULL-terminated texts) to buf. */
static void
s_frames (msgpack_sbuffer *buf, const char *const *texts)
{
    for (; *texts; texts++)
        kh_fuzz_frame_add (buf, *texts, strlen (*texts));
}

/* Each vector as a PUBLISH and a query, ping and malformed commands, for the broker. */
static int
s_broker (const s_vectors_t *v, msgpack_sbuffer *buf)
{
    int rc = 0;
    for (size_t i = 0; i < v->count; i++) {
        kh_fuzz_frame_add (buf, KH_CMD_PUBLISH, strlen (KH_CMD_PUBLISH));
        kh_fuzz_frame_add (buf, v->data [i], v->size [i]);
        rc |= s_take ("broker", buf);
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    kh_query_t q = { .req = 3, .type = { "idea" }, .type_count = 1, .limit = 10 };
    kh_query_encode (&body, &q);
    kh_fuzz_frame_add (buf, KH_CMD_QUERY, strlen (KH_CMD_QUERY));
    kh_fuzz_frame_add (buf, body.data, body.size);
    rc |= s_take ("broker", buf);
    msgpack_sbuffer_destroy (&body);
    static const char *const odd [][5] = {
        { KH_CMD_PING, NULL }, { KH_CMD_PING, "x", NULL }, { KH_CMD_PING, "x", "y", NULL },
        { KH_CMD_PUBLISH, NULL }, { KH_CMD_QUERY, "\x81\xa3req\x01", NULL },
        { "HELLO", "\x90", NULL }, { "", NULL }, { "PUBLISH", "\xc1", "", "", NULL },
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd [0]; i++) {
        s_frames (buf, odd [i]);
        rc |= s_take ("broker", buf);
    }
    return rc;
}

/* Each vector as one STORE, and pairs of them in one batch, for the recorder. */
static int
s_recorder (const s_vectors_t *v, msgpack_sbuffer *buf)
{
    int rc = 0;
    for (size_t i = 0; i < v->count; i++) {
        kh_fuzz_frame_add (buf, v->data [i], v->size [i]);
        rc |= s_take ("recorder", buf);
        size_t j = (i + 1) % v->count;
        kh_fuzz_frame_add (buf, v->data [i], v->size [i]);
        kh_fuzz_frame_add (buf, v->data [j], v->size [j]);
        kh_fuzz_frame_add (buf, v->data [i], v->size [i]);
        rc |= s_take ("recorder", buf);
    }
    return rc;
}

int
main (int argc, char *argv [])
{
    if (argc != 3) {
        fprintf (stderr, "usage: kh-fuzz-seeds VECTORS OUT\n");
        return 1;
    }
    s_out = argv [2];
    static s_vectors_t v;
    if ((mkdir (s_out, 0755) && errno != EEXIST) || s_load (&v, argv [1]) || v.count == 0) {
        fprintf (stderr, "kh-fuzz-seeds: cannot read %s or write %s\n", argv [1], s_out);
        return 1;
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = s_codec (&v, &buf) | s_json (&v) | s_broker (&v, &buf) | s_recorder (&v, &buf);
    msgpack_sbuffer_destroy (&buf);
    for (size_t i = 0; i < v.count; i++)
        free (v.data [i]);
    if (rc)
        fprintf (stderr, "kh-fuzz-seeds: cannot write the seeds into %s\n", s_out);
    else
        printf ("kh-fuzz-seeds: %u seeds in %s\n", s_written, s_out);
    return rc ? 1 : 0;
}
