/*  kh_fuzz.c - kreishub-fuzz: a bounded, deterministic mutation fuzzer for every decoder
    that reads untrusted bytes (envelopes, queries of the log, the catalogue, counts and
    counters, records, ROWS, replies, link frames, the JSON renderers and the JSON
    reader).

    Seeds are the test vectors and a few frames made with the codec's own encoders.
    Each round copies a seed, mutates it with a xorshift generator seeded by --seed
    (so a run is repeated exactly by giving the same seed and corpus), and feeds the
    result to every target. A target checks what is cheap to check: a rejection
    carries a code and a reason, an acceptance is stable and survives a re-encode.
    The first broken invariant prints the input as hex and ends the run with status 1.
    Memory errors are left to the sanitizer and valgrind builds that run this program.
*/
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_json.h"
#include "kh_opts.h"
#include "kh_value.h"

#define S_PROGRAM       "kreishub-fuzz"

#define S_INPUT_MAX     (128 * 1024)    /* mutated inputs never grow beyond this */
#define S_SEEDS_MAX     1024            /* seeds of one kind, at most */
#define S_ROUNDS_STACK  4               /* mutations applied to one input, at most */
#define S_TARGETS_MAX   24              /* room for the counts of s_targets */

/* ===================================================================== buffers */

/* A byte string owned by its holder. */
typedef struct {
    uint8_t *data;                      /* malloc'd; NULL when size is 0 */
    size_t   size;
} s_bytes_t;

/* A list of seeds; all of one input kind (msgpack frames or JSON text). */
typedef struct {
    s_bytes_t item [S_SEEDS_MAX];
    size_t    count;
} s_corpus_t;

/* Adds a copy of size bytes at data; silently ignores seeds beyond S_SEEDS_MAX or
   S_INPUT_MAX (a fuzz run without them is still a valid run). */
static void
s_corpus_add (s_corpus_t *self, const void *data, size_t size)
{
    if (self->count >= S_SEEDS_MAX || size > S_INPUT_MAX)
        return;
    s_bytes_t *seed = &self->item [self->count];
    seed->data = size ? (uint8_t *) malloc (size) : NULL;
    if (size && !seed->data)
        return;
    if (size)
        memcpy (seed->data, data, size);
    seed->size = size;
    self->count++;
}

/* Frees every seed. */
static void
s_corpus_release (s_corpus_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->item [i].data);
    self->count = 0;
}

/* ================================================================ the generator */

/* xorshift64*: small, fast, and the same sequence on every platform. */
typedef struct {
    uint64_t state;                     /* never 0 */
} s_rng_t;

static uint64_t
s_rand (s_rng_t *rng)
{
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    return rng->state * 2685821657736338717ULL;
}

/* A number in [0, n); 0 if n is 0. */
static size_t
s_below (s_rng_t *rng, size_t n)
{
    return n ? (size_t) (s_rand (rng) % n) : 0;
}

/* ==================================================================== the run */

/* What one run knows: its options, the input being tried (for the report when an
   invariant breaks), a scratch buffer for re-encoding, and the counts. */
typedef struct {
    uint64_t        seed;               /* --seed */
    uint64_t        iteration;          /* the round in progress; 0: seeds as they are */
    const uint8_t  *input;              /* the outer input of this round */
    size_t          input_size;
    msgpack_sbuffer out;                /* re-encodings; cleared before each use */
    uint64_t        accepted [S_TARGETS_MAX];  /* per target, in s_targets order */
    bool            verbose;            /* -v */
} s_fuzz_t;

/* Reports a broken invariant with the input that broke it, and exits with 1. */
static void __attribute__ ((noreturn, format (printf, 3, 4)))
s_fail (s_fuzz_t *fz, const char *target, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fprintf (stderr, "kreishub-fuzz: FAIL %s: ", target);
    vfprintf (stderr, fmt, args);
    va_end (args);
    fprintf (stderr, "\n  --seed %llu, iteration %llu, input of %zu bytes:\n",
             (unsigned long long) fz->seed, (unsigned long long) fz->iteration,
             fz->input_size);
    for (size_t i = 0; i < fz->input_size; i++)
        fprintf (stderr, "%02x%s", fz->input [i], i % 32 == 31 ? "\n" : "");
    fprintf (stderr, "\n");
    exit (1);
}

/* A decoder returns 0, or -1 with a non-zero code and a reason. */
static void
s_check_problem (s_fuzz_t *fz, const char *target, int rc, const kh_problem_t *why)
{
    if (rc != 0 && rc != -1)
        s_fail (fz, target, "returned %d, neither 0 nor -1", rc);
    if (rc && (why->code == KH_OK || why->reason [0] == 0))
        s_fail (fz, target, "rejected without a code and a reason (code %d)", why->code);
}

/* Renders a msgpack object as JSON and checks that kh_json_to_msgpack reads the
   text back: what the CLI prints must be what it can read. */
static void
s_check_json_text (s_fuzz_t *fz, const char *target, const char *json)
{
    kh_problem_t why = { 0 };
    msgpack_sbuffer back;
    msgpack_sbuffer_init (&back);
    int rc = kh_json_to_msgpack (json, strlen (json), &back, &why);
    msgpack_sbuffer_destroy (&back);
    if (rc)
        s_fail (fz, target, "its JSON output does not read back: %s\n  %s", why.reason, json);
}

/* ===================================================================== targets */

static bool s_try_record_json (s_fuzz_t *fz, const kh_record_t *rec);

/* Envelopes: stable on a second look; an accepted one renders as JSON. */
static bool
s_try_envelope (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 }, why2 = { 0 };
    kh_envelope_t env, env2;
    bool has_id = false, has_id2 = false;
    int rc = kh_envelope_check (data, size, &env, &has_id, &why);
    s_check_problem (fz, "envelope", rc, &why);
    if (rc)
        return false;
    int rc2 = kh_envelope_check (data, size, &env2, &has_id2, &why2);
    if (rc2 != 0 || has_id != has_id2 || env.version != env2.version
    ||  memcmp (env.id, env2.id, KH_ID_SIZE) != 0 || strcmp (env.type, env2.type) != 0
    ||  strcmp (env.from, env2.from) != 0 || env.ts != env2.ts
    ||  strcmp (env.title, env2.title) != 0 || env.has_ref != env2.has_ref
    ||  memcmp (env.ref, env2.ref, KH_ID_SIZE) != 0)
        s_fail (fz, "envelope", "a second check disagrees (rc %d: %s)", rc2, why2.reason);
    bool item = kh_schema_type_item (env.type);     /* a title, else a ref */
    if (env.version != KH_FORMAT_VERSION || (env.title [0] != 0) != item
    ||  env.has_ref == item || env.ts > KH_TS_MAX || !kh_ags_valid (env.from, strlen (env.from)))
        s_fail (fz, "envelope", "accepted with version %u, title '%s', from '%s'",
                env.version, env.title, env.from);
    kh_record_t rec = { { 1, 1700000000000ULL, 0, 0, 0 }, data, size };
    if (!s_try_record_json (fz, &rec))
        s_fail (fz, "envelope", "accepted, but kh_record_to_json cannot render it");
    return true;
}

/* Queries: an accepted query re-encodes to the same query. */
static bool
s_try_query (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_query_t q, back;
    int rc = kh_query_decode (data, size, &q, &why);
    s_check_problem (fz, "query", rc, &why);
    if (rc == 0 && why.code != KH_OK)
        s_fail (fz, "query", "accepted, but set code %d", why.code);
    if (rc)
        return false;
    msgpack_sbuffer_clear (&fz->out);
    kh_query_encode (&fz->out, &q);
    rc = kh_query_decode (fz->out.data, fz->out.size, &back, &why);
    if (rc || memcmp (&q, &back, sizeof q) != 0)     /* both zeroed by the decoder */
        s_fail (fz, "query", "re-encoded query differs (rc %d)", rc);
    if (q.req == 0 || q.limit == 0 || q.limit > KH_QUERY_PAGE_MAX)
        s_fail (fz, "query", "accepted with req %llu, limit %u",
                (unsigned long long) q.req, q.limit);
    return true;
}

/* Items queries (the catalogue): an accepted one is sane and re-encodes to the same
   query. */
static bool
s_try_items_query (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_items_query_t q, back;
    int rc = kh_items_query_decode (data, size, &q, &why);
    s_check_problem (fz, "items_query", rc, &why);
    if (rc)
        return false;
    if (q.req == 0 || q.limit == 0 || q.limit > KH_QUERY_PAGE_MAX || q.hf > 5
    ||  q.type_count > KH_FILTER_MAX || q.from_count > KH_FILTER_MAX
    ||  q.status_count > KH_FILTER_MAX)
        s_fail (fz, "items_query", "accepted with req %llu, limit %u, hf %u, %zu types",
                (unsigned long long) q.req, q.limit, q.hf, q.type_count);
    msgpack_sbuffer_clear (&fz->out);
    if (kh_items_query_encode (&fz->out, &q))
        s_fail (fz, "items_query", "accepted, but does not encode");
    rc = kh_items_query_decode (fz->out.data, fz->out.size, &back, &why);
    if (rc || memcmp (&q, &back, sizeof q) != 0)     /* both zeroed by the decoder */
        s_fail (fz, "items_query", "re-encoded query differs (rc %d: %s)", rc,
                rc ? why.reason : "");
    return true;
}

/* Stats queries (the counts): an accepted one groups by a known grouping and
   re-encodes to the same query. */
static bool
s_try_stats_query (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    static const char *const by [] = { "", "municipality", "type", "month", "hf", "status" };
    kh_problem_t why = { 0 };
    kh_stats_query_t q, back;
    int rc = kh_stats_query_decode (data, size, &q, &why);
    s_check_problem (fz, "stats_query", rc, &why);
    if (rc)
        return false;
    bool known = false;
    for (size_t i = 0; i < sizeof by / sizeof by [0]; i++)
        known |= strcmp (q.by, by [i]) == 0;
    if (q.req == 0 || !known || q.type_count > KH_FILTER_MAX || q.from_count > KH_FILTER_MAX)
        s_fail (fz, "stats_query", "accepted with req %llu, by '%s'",
                (unsigned long long) q.req, q.by);
    msgpack_sbuffer_clear (&fz->out);
    if (kh_stats_query_encode (&fz->out, &q))
        s_fail (fz, "stats_query", "accepted, but does not encode");
    rc = kh_stats_query_decode (fz->out.data, fz->out.size, &back, &why);
    if (rc || memcmp (&q, &back, sizeof q) != 0)
        s_fail (fz, "stats_query", "re-encoded query differs (rc %d: %s)", rc,
                rc ? why.reason : "");
    return true;
}

/* COUNTERS requests: an accepted one holds a req above 0 and re-encodes to the same. */
static bool
s_try_counters_query (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    uint64_t req = 0, back = 0;
    int rc = kh_counters_query_decode (data, size, &req, &why);
    s_check_problem (fz, "counters_query", rc, &why);
    if (rc)
        return false;
    if (req == 0)
        s_fail (fz, "counters_query", "accepted with req 0");
    msgpack_sbuffer_clear (&fz->out);
    if (kh_counters_query_encode (&fz->out, req))
        s_fail (fz, "counters_query", "accepted, but does not encode");
    rc = kh_counters_query_decode (fz->out.data, fz->out.size, &back, &why);
    if (rc || back != req)
        s_fail (fz, "counters_query", "re-encoded request differs (rc %d)", rc);
    return true;
}

/* True if two records say the same, byte for byte in their envelopes. */
static bool
s_record_same (const kh_record_t *a, const kh_record_t *b)
{
    return a->info.seq == b->info.seq && a->info.at == b->info.at
        && a->info.prev_type == b->info.prev_type
        && a->info.prev_sender == b->info.prev_sender
        && a->info.prev_pair == b->info.prev_pair && a->msg_size == b->msg_size
        && (a->msg_size == 0 || memcmp (a->msg, b->msg, a->msg_size) == 0);
}

/* Records: re-encode to the same record; the envelope inside goes on to the JSON
   and CSV renderers and to the envelope check (records nest a second frame). */
static bool
s_try_record (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_record_t rec, back;
    int rc = kh_record_decode (data, size, &rec, &why);
    s_check_problem (fz, "record", rc, &why);
    if (rc)
        return false;
    if (rec.info.seq == 0)
        s_fail (fz, "record", "accepted with seq 0");
    if (rec.msg_size && ((const uint8_t *) rec.msg < data
                      || (const uint8_t *) rec.msg + rec.msg_size > data + size))
        s_fail (fz, "record", "msg does not point into the input");
    msgpack_sbuffer_clear (&fz->out);
    kh_record_encode (&fz->out, &rec);
    rc = kh_record_decode (fz->out.data, fz->out.size, &back, &why);
    if (rc || !s_record_same (&rec, &back))
        s_fail (fz, "record", "re-encoded record differs (rc %d)", rc);
    kh_envelope_t env;
    bool valid = kh_envelope_check (rec.msg, rec.msg_size, &env, NULL, &why) == 0;
    if (!s_try_record_json (fz, &rec) && valid)
        s_fail (fz, "record", "holds a valid envelope that kh_record_to_json cannot render");
    return true;
}

/* ROWS: each accepted reply is rebuilt with the rows writer and decodes the same. */
static bool
s_try_rows (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_rows_t rows, back;
    int rc = kh_rows_decode (data, size, &rows, &why);
    s_check_problem (fz, "rows", rc, &why);
    if (rc) {
        if (rows.rows || rows.count)
            s_fail (fz, "rows", "rejected, but left %u rows allocated", rows.count);
        return false;
    }
    kh_rows_writer_t *writer = kh_rows_writer_new (rows.req);
    for (uint32_t i = 0; writer && i < rows.count; i++)
        kh_rows_writer_add (writer, &rows.rows [i]);
    msgpack_sbuffer_clear (&fz->out);
    if (writer)
        kh_rows_writer_finish (writer, rows.more, rows.next, &fz->out);
    kh_rows_writer_destroy (&writer);
    rc = kh_rows_decode (fz->out.data, fz->out.size, &back, &why);
    bool same = rc == 0 && back.req == rows.req && back.more == rows.more
             && back.next == rows.next && back.count == rows.count;
    for (uint32_t i = 0; same && i < rows.count; i++)
        same = s_record_same (&rows.rows [i], &back.rows [i]);
    kh_rows_release (&back);
    kh_rows_release (&rows);
    if (!same)
        s_fail (fz, "rows", "rebuilt reply differs (rc %d)", rc);
    return true;
}

/* ACK: re-encodes to the same. */
static bool
s_try_ack (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    uint8_t id [KH_ID_SIZE], id2 [KH_ID_SIZE];
    uint64_t seq = 0, seq2 = 0;
    bool dup = false, dup2 = false;
    int rc = kh_ack_decode (data, size, id, &seq, &dup, &why);
    s_check_problem (fz, "ack", rc, &why);
    if (rc)
        return false;
    msgpack_sbuffer_clear (&fz->out);
    kh_ack_encode (&fz->out, id, seq, dup);
    rc = kh_ack_decode (fz->out.data, fz->out.size, id2, &seq2, &dup2, &why);
    if (rc || seq != seq2 || dup != dup2 || memcmp (id, id2, KH_ID_SIZE) != 0)
        s_fail (fz, "ack", "re-encoded ack differs (rc %d)", rc);
    return true;
}

/* ERROR: the strings handed out are terminated; the code is one of ours or the
   catch-all for numbers beyond them. */
static bool
s_try_error (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_error_reply_t err;
    int rc = kh_error_decode (data, size, &err, &why);
    s_check_problem (fz, "error", rc, &why);
    if (rc)
        return false;
    if (!memchr (err.name, 0, sizeof err.name) || !memchr (err.reason, 0, sizeof err.reason))
        s_fail (fz, "error", "name or reason not terminated");
    if (err.code < 0)
        s_fail (fz, "error", "negative code %d", err.code);
    return true;
}

/* STORED: re-encodes to the same. */
static bool
s_try_stored (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    kh_seqinfo_t info, info2;
    bool dup = false, dup2 = false;
    int rc = kh_stored_decode (data, size, &info, &dup, &why);
    s_check_problem (fz, "stored", rc, &why);
    if (rc)
        return false;
    msgpack_sbuffer_clear (&fz->out);
    kh_stored_encode (&fz->out, &info, dup);
    rc = kh_stored_decode (fz->out.data, fz->out.size, &info2, &dup2, &why);
    if (rc || dup != dup2 || info.seq != info2.seq || info.at != info2.at
    ||  info.prev_type != info2.prev_type || info.prev_sender != info2.prev_sender
    ||  info.prev_pair != info2.prev_pair)
        s_fail (fz, "stored", "re-encoded answer differs (rc %d)", rc);
    return true;
}

/* HELLO: re-encodes to the same. */
static bool
s_try_hello (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    uint64_t head = 0, head2 = 0;
    int rc = kh_hello_decode (data, size, &head, &why);
    s_check_problem (fz, "hello", rc, &why);
    if (rc)
        return false;
    msgpack_sbuffer_clear (&fz->out);
    kh_hello_encode (&fz->out, head);
    rc = kh_hello_decode (fz->out.data, fz->out.size, &head2, &why);
    if (rc || head != head2)
        s_fail (fz, "hello", "re-encoded hello differs (rc %d)", rc);
    return true;
}

/* Heartbeat: re-encodes to the same. */
static bool
s_try_beat (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    uint64_t head = 0, at = 0, head2 = 0, at2 = 0;
    int rc = kh_beat_decode (data, size, &head, &at, &why);
    s_check_problem (fz, "beat", rc, &why);
    if (rc)
        return false;
    msgpack_sbuffer_clear (&fz->out);
    kh_beat_encode (&fz->out, head, at);
    rc = kh_beat_decode (fz->out.data, fz->out.size, &head2, &at2, &why);
    if (rc || head != head2 || at != at2)
        s_fail (fz, "beat", "re-encoded heartbeat differs (rc %d)", rc);
    return true;
}

/* PONG: re-encodes to the same. */
static bool
s_try_pong (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    uint64_t head = 0, head2 = 0;
    bool recorder = false, recorder2 = false;
    int rc = kh_pong_decode (data, size, &head, &recorder, &why);
    s_check_problem (fz, "pong", rc, &why);
    if (rc)
        return false;
    msgpack_sbuffer_clear (&fz->out);
    kh_pong_encode (&fz->out, head, recorder);
    rc = kh_pong_decode (fz->out.data, fz->out.size, &head2, &recorder2, &why);
    if (rc || head != head2 || recorder != recorder2)
        s_fail (fz, "pong", "re-encoded pong differs (rc %d)", rc);
    return true;
}

/* Renders rec as JSON and CSV (what `kreishub` prints); the JSON must read back.
   Returns whether the renderers took the record. */
static bool
s_try_record_json (s_fuzz_t *fz, const kh_record_t *rec)
{
    char *json = kh_record_to_json (rec);
    char *csv = kh_record_to_csv (rec);
    if (!json != !csv)
        s_fail (fz, "record_json", "JSON and CSV renderers disagree (%s, %s)",
                json ? "JSON" : "no JSON", csv ? "CSV" : "no CSV");
    if (json)
        s_check_json_text (fz, "record_json", json);
    free (json);
    free (csv);
    return csv != NULL;
}

/* Any frame as the envelope of a record: the renderers read it without the checks
   the hub applies, so they must survive whatever a store might hold. */
static bool
s_try_render (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_record_t rec = { { 3, (uint64_t) size * 7919, 2, 1, 0 }, data, size };
    return s_try_record_json (fz, &rec);
}

/* Any bounded msgpack object renders as JSON text that reads back. */
static bool
s_try_object_json (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    if (kh_mp_scan (data, size, NULL))
        return false;
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    bool ok = msgpack_unpack_next (&u, (const char *) data, size, &off)
              == MSGPACK_UNPACK_SUCCESS && off == size;
    char *json = ok ? kh_json_from_object (&u.data) : NULL;
    msgpack_unpacked_destroy (&u);
    if (!ok)
        s_fail (fz, "object_json", "kh_mp_scan accepted what msgpack-c cannot unpack");
    if (!json)
        s_fail (fz, "object_json", "kh_json_from_object returned NULL");
    s_check_json_text (fz, "object_json", json);
    free (json);
    return true;
}

/* JSON text (a file or stdin to the CLI): accepted text gives one bounded msgpack
   object, which renders as JSON that reads back in turn. */
static bool
s_try_json (s_fuzz_t *fz, const uint8_t *data, size_t size)
{
    kh_problem_t why = { 0 };
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    int rc = kh_json_to_msgpack ((const char *) data, size, &out, &why);
    s_check_problem (fz, "json", rc, &why);
    if (rc && out.size)
        s_fail (fz, "json", "rejected, but left %zu bytes in the output", out.size);
    if (rc == 0) {
        kh_problem_t scan = { 0 };
        if (kh_mp_scan (out.data, out.size, &scan))
            s_fail (fz, "json", "accepted, but its msgpack is not bounded: %s", scan.reason);
        s_try_object_json (fz, (const uint8_t *) out.data, out.size);
    }
    msgpack_sbuffer_destroy (&out);
    return rc == 0;
}

/* The targets, and which kind of input each takes. */
typedef enum { S_MSGPACK, S_JSON } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t    kind;
    bool      (*try_input) (s_fuzz_t *fz, const uint8_t *data, size_t size);
} s_target_t;

static const s_target_t s_targets [] = {
    { .name = "envelope",    .kind = S_MSGPACK, .try_input = s_try_envelope },
    { .name = "query",       .kind = S_MSGPACK, .try_input = s_try_query },
    { .name = "items_query", .kind = S_MSGPACK, .try_input = s_try_items_query },
    { .name = "stats_query", .kind = S_MSGPACK, .try_input = s_try_stats_query },
    { .name = "counters_query", .kind = S_MSGPACK, .try_input = s_try_counters_query },
    { .name = "record",      .kind = S_MSGPACK, .try_input = s_try_record },
    { .name = "rows",        .kind = S_MSGPACK, .try_input = s_try_rows },
    { .name = "ack",         .kind = S_MSGPACK, .try_input = s_try_ack },
    { .name = "error",       .kind = S_MSGPACK, .try_input = s_try_error },
    { .name = "stored",      .kind = S_MSGPACK, .try_input = s_try_stored },
    { .name = "hello",       .kind = S_MSGPACK, .try_input = s_try_hello },
    { .name = "beat",        .kind = S_MSGPACK, .try_input = s_try_beat },
    { .name = "pong",        .kind = S_MSGPACK, .try_input = s_try_pong },
    { .name = "record_json", .kind = S_MSGPACK, .try_input = s_try_render },
    { .name = "object_json", .kind = S_MSGPACK, .try_input = s_try_object_json },
    { .name = "json",        .kind = S_JSON,    .try_input = s_try_json },
};
#define S_TARGETS (sizeof s_targets / sizeof s_targets [0])
_Static_assert (S_TARGETS <= S_TARGETS_MAX, "raise S_TARGETS_MAX");

/* Feeds one input to every target of its kind. */
static void
s_feed (s_fuzz_t *fz, s_kind_t kind, const uint8_t *data, size_t size)
{
    fz->input = data;
    fz->input_size = size;
    for (size_t t = 0; t < S_TARGETS; t++)
        if (s_targets [t].kind == kind && s_targets [t].try_input (fz, data, size))
            fz->accepted [t]++;
}

/* =================================================================== mutations */

/* Bytes that mean most to msgpack: nil, the ends of the ranges, the reserved byte,
   and the lead bytes of 32-bit and 16-bit lengths. */
static const uint8_t s_interesting [] = {
    0x00, 0xff, 0x7f, 0x80, 0xc1, 0xdc, 0xdd, 0xde, 0xdf, 0xdb, 0xc6
};

/* Fragments that mean most to the JSON reader. */
static const char *const s_json_words [] = {
    "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u0000", "{", "}", "[", "]", ":", ",",
    "-", "0", "1e400", "-0.0", "1.5e-320", "18446744073709551616", "-9223372036854775809",
    "true", "null", "[[[[[[[[[", "{\"a\":{\"b\":", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"
};

/* Inserts n bytes at pos (n already fits). */
static void
s_insert (s_bytes_t *in, size_t pos, const void *bytes, size_t n)
{
    memmove (in->data + pos + n, in->data + pos, in->size - pos);
    memcpy (in->data + pos, bytes, n);
    in->size += n;
}

/* Raises the length or count of a msgpack string, bin, array or map found at or
   after a random position: the bounding scanner must refuse what no longer fits. */
static void
s_inflate (s_bytes_t *in, s_rng_t *rng)
{
    for (size_t tries = 0, pos = s_below (rng, in->size); tries < in->size;
         tries++, pos = (pos + 1) % in->size) {
        uint8_t b = in->data [pos];
        int lenbytes = b == 0xc4 || b == 0xc7 || b == 0xd9 ? 1
                     : b == 0xc5 || b == 0xc8 || b == 0xda || b == 0xdc || b == 0xde ? 2
                     : b == 0xc6 || b == 0xc9 || b == 0xdb || b == 0xdd || b == 0xdf ? 4 : 0;
        if (b >= 0x80 && b <= 0xbf) {   /* fixmap, fixarray, fixstr */
            uint8_t top = b <= 0x8f ? 0x8f : b <= 0x9f ? 0x9f : 0xbf;
            in->data [pos] = s_below (rng, 2) ? top : (uint8_t) (b < top ? b + 1 : b);
            return;
        }
        if (lenbytes && pos + (size_t) lenbytes < in->size) {
            uint8_t *len = in->data + pos + 1;
            switch (s_below (rng, 3)) {
                case 0:  memset (len, 0xff, (size_t) lenbytes); break;
                case 1:  len [lenbytes - 1]++; break;
                default: len [0] = s_below (rng, 2) ? 0x7f : 0x80; break;
            }
            return;
        }
    }
}

/* Applies one random mutation to in; other seeds are for splicing; words (if
   not NULL) are fragments to insert. */
static void
s_mutate_once (s_bytes_t *in, s_rng_t *rng, const s_corpus_t *others,
               const char *const *words, size_t word_count)
{
    size_t pos = s_below (rng, in->size), room = S_INPUT_MAX - in->size;
    switch (s_below (rng, words ? 10 : 9)) {
        case 0:                         /* flip a bit */
            if (in->size)
                in->data [pos] ^= (uint8_t) (1u << s_below (rng, 8));
            break;
        case 1:                         /* an interesting byte */
            if (in->size)
                in->data [pos] = s_interesting [s_below (rng, sizeof s_interesting)];
            break;
        case 2:                         /* a random byte */
            if (in->size)
                in->data [pos] = (uint8_t) s_rand (rng);
            break;
        case 3: {                       /* insert 1..8 bytes */
            uint8_t bytes [8];
            size_t n = 1 + s_below (rng, sizeof bytes);
            for (size_t i = 0; i < n; i++)
                bytes [i] = s_below (rng, 2) ? (uint8_t) s_rand (rng)
                          : s_interesting [s_below (rng, sizeof s_interesting)];
            if (n <= room)
                s_insert (in, s_below (rng, in->size + 1), bytes, n);
            break;
        }
        case 4: {                       /* delete 1..16 bytes */
            size_t n = 1 + s_below (rng, 16);
            n = n > in->size - pos ? in->size - pos : n;
            memmove (in->data + pos, in->data + pos + n, in->size - pos - n);
            in->size -= n;
            break;
        }
        case 5:                         /* truncate */
            in->size = pos;
            break;
        case 6: {                       /* splice: our head, another seed's tail */
            const s_bytes_t *other = &others->item [s_below (rng, others->count)];
            size_t from = s_below (rng, other->size + 1), n = other->size - from;
            n = n > S_INPUT_MAX - pos ? S_INPUT_MAX - pos : n;
            if (n)
                memcpy (in->data + pos, other->data + from, n);
            in->size = pos + n;
            break;
        }
        case 7:                         /* inflate a length field */
            s_inflate (in, rng);
            break;
        case 8: {                       /* copy a chunk of the input over another place */
            size_t from = s_below (rng, in->size), n = 1 + s_below (rng, 32);
            n = n > in->size - from ? in->size - from : n;
            n = n > in->size - pos ? in->size - pos : n;
            if (in->size)
                memmove (in->data + pos, in->data + from, n);
            break;
        }
        default: {                      /* insert a fragment of the grammar */
            const char *word = words [s_below (rng, word_count)];
            size_t n = strlen (word);
            if (n <= room)
                s_insert (in, s_below (rng, in->size + 1), word, n);
            break;
        }
    }
}

/* Fills in with a random seed of corpus, mutated one to S_ROUNDS_STACK times. */
static void
s_mutate (s_bytes_t *in, s_rng_t *rng, const s_corpus_t *corpus,
          const char *const *words, size_t word_count)
{
    const s_bytes_t *seed = &corpus->item [s_below (rng, corpus->count)];
    in->size = seed->size;
    if (seed->size)
        memcpy (in->data, seed->data, seed->size);
    size_t rounds = 1 + s_below (rng, S_ROUNDS_STACK);
    for (size_t i = 0; i < rounds; i++)
        s_mutate_once (in, rng, corpus, words, word_count);
}

/* ======================================================================= seeds */

/* Compares two names for qsort, so that seeds load in the same order everywhere. */
static int
s_name_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Reads a whole file into the corpus. Returns 0, or -1 if it cannot be read. */
static int
s_load_file (s_corpus_t *corpus, const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    uint8_t *data = (uint8_t *) malloc (S_INPUT_MAX);
    size_t size = data ? fread (data, 1, S_INPUT_MAX, file) : 0;
    int rc = data && !ferror (file) ? 0 : -1;
    if (rc == 0)
        s_corpus_add (corpus, data, size);
    free (data);
    fclose (file);
    return rc;
}

/* True if name is one of the vectors' lists (text, not a frame). */
static bool
s_is_list (const char *name)
{
    return strcmp (name, "MANIFEST") == 0 || strcmp (name, "QUERIES") == 0
        || strcmp (name, "READS") == 0;
}

/* Loads every regular file of dir but the vectors' lists, in name order. Returns how
   many, or -1 if dir cannot be read. */
static int
s_load_dir (s_corpus_t *corpus, const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return -1;
    char *names [S_SEEDS_MAX];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (d)) && count < S_SEEDS_MAX)
        if (entry->d_name [0] != '.' && !s_is_list (entry->d_name))
            if ((names [count] = strdup (entry->d_name)))
                count++;
    closedir (d);
    qsort (names, count, sizeof names [0], s_name_cmp);
    int loaded = 0;
    for (size_t i = 0; i < count; i++) {
        char path [4096];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", dir, names [i]);
        if (stat (path, &st) == 0 && S_ISREG (st.st_mode) && s_load_file (corpus, path) == 0)
            loaded++;
        free (names [i]);
    }
    return loaded;
}

/* Adds what out holds as a seed and clears it. */
static void
s_take (s_corpus_t *corpus, msgpack_sbuffer *out)
{
    s_corpus_add (corpus, out->data, out->size);
    msgpack_sbuffer_clear (out);
}

/* The fields of the seed envelopes: each type takes those it has (the builder
   refuses the others, and they are left out). */
static const char *const s_seed_fields [][2] = {
    { "title", "Fuzz \xc3\xa4 title" }, { "hf", "3" }, { "keywords", "a,b" },
    { "participants", "05162004,05162" }, { "maturity", "beta" }, { "start", "2024-02-29" },
    { "ref", "017ce42a-3800-7001-8000-00000000002a" }, { "action", "join" },
    { "status", "pilot" }, { "fields.title", "Fuzz" }, { "text", "eins\n\tzwei" },
};

/* Adds one envelope per message type, built with the builder as the Kreis (who may
   send every type), and returns (in env) the first of them for the records below;
   env is cleared first. */
static void
s_seed_envelopes (s_corpus_t *corpus, const uint8_t id [KH_ID_SIZE], msgpack_sbuffer *env)
{
    msgpack_sbuffer_clear (env);
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        kh_builder_t *b = kh_builder_new (kh_schema_type_name (t));
        kh_problem_t why;
        for (size_t f = 0; f < sizeof s_seed_fields / sizeof s_seed_fields [0]; f++)
            kh_builder_set (b, s_seed_fields [f][0], s_seed_fields [f][1], &why);
        msgpack_sbuffer out;
        msgpack_sbuffer_init (&out);
        if (kh_builder_pack (b, id, "05162", 1700000000000ULL, &out, &why) != 0) {
            fprintf (stderr, "kreishub-fuzz: cannot build a %s seed: %s\n",
                     kh_schema_type_name (t), why.reason);
            msgpack_sbuffer_clear (&out);
        }
        if (env->size == 0 && out.size)
            msgpack_sbuffer_write (env, out.data, out.size);
        s_take (corpus, &out);
        msgpack_sbuffer_destroy (&out);
        kh_builder_destroy (&b);
    }
}

/* Adds an items query and a stats query with every key, and a COUNTERS request,
   made with the codec's encoders (the vectors hold one of each key alone). */
static void
s_seed_reads (s_corpus_t *corpus, const uint8_t id [KH_ID_SIZE], msgpack_sbuffer *out)
{
    kh_items_query_t items = {
        .req = 3, .has_id = true, .type = { "offer", "idea" }, .type_count = 2,
        .from = { "0516*", "05162004" }, .from_count = 2, .status = { "pilot" },
        .status_count = 1, .hf = 4, .topic = "Querschnitt", .participant = "05162008",
        .open = true, .search = "Zwilling 3D*", .before = 77, .limit = 20 };
    memcpy (items.id, id, KH_ID_SIZE);
    kh_items_query_encode (out, &items);
    s_take (corpus, out);
    kh_stats_query_t stats = {
        .req = 4, .by = "month", .since_ts = 1600000000000ULL, .until_ts = 1700000000000ULL,
        .type = { "comment" }, .type_count = 1, .from = { "05162", "051620*" },
        .from_count = 2 };
    kh_stats_query_encode (out, &stats);
    s_take (corpus, out);
    kh_counters_query_encode (out, 5);
    s_take (corpus, out);
}

/* Adds one frame of every other kind, made with the codec's encoders. */
static void
s_seed_frames (s_corpus_t *corpus)
{
    static const uint8_t id [KH_ID_SIZE] = {
        0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x70, 0x00, 0x80, 0x00, 1, 2, 3, 4, 5, 6 };
    msgpack_sbuffer out, env;
    msgpack_sbuffer_init (&out);
    msgpack_sbuffer_init (&env);
    s_seed_envelopes (corpus, id, &env);
    kh_record_t rec = { { 7, 1700000000123ULL, 5, 3, 2 }, (const uint8_t *) env.data, env.size };
    kh_record_encode (&out, &rec);
    s_take (corpus, &out);
    kh_rows_writer_t *writer = kh_rows_writer_new (42);
    kh_rows_writer_add (writer, &rec);
    rec.info.seq = 8;
    kh_rows_writer_add (writer, &rec);
    kh_rows_writer_finish (writer, true, 9, &out);
    kh_rows_writer_destroy (&writer);
    s_take (corpus, &out);
    kh_query_t q = { .req = 1, .since_seq = 10, .until_seq = 20, .since_at = 5,
                     .until_at = 6, .type = { "offer" }, .type_count = 1,
                     .from = { "05162" }, .from_count = 1, .limit = 50 };
    kh_query_encode (&out, &q);
    s_take (corpus, &out);
    kh_query_t minimal = { .req = 2 };
    kh_query_encode (&out, &minimal);
    s_take (corpus, &out);
    s_seed_reads (corpus, id, &out);
    kh_seqinfo_t info = { 3, 4, 1, 2, 0 };
    kh_stored_encode (&out, &info, true);
    s_take (corpus, &out);
    kh_ack_encode (&out, id, 99, true);
    s_take (corpus, &out);
    kh_error_encode (&out, id, 0, KH_EMISSING, "body.title: required field missing");
    s_take (corpus, &out);
    kh_error_encode (&out, NULL, 5, KH_EQUERY, "bad query");
    s_take (corpus, &out);
    kh_hello_encode (&out, 15);
    s_take (corpus, &out);
    kh_beat_encode (&out, 13, 14);
    s_take (corpus, &out);
    kh_pong_encode (&out, 12, true);
    s_take (corpus, &out);
    msgpack_sbuffer_destroy (&env);
    msgpack_sbuffer_destroy (&out);
}

/* The JSON seeds: each valid envelope among the msgpack seeds, rendered as a record
   (what the CLI prints), and a few texts of the kinds the CLI reads. */
static void
s_seed_json (s_corpus_t *json, const s_corpus_t *frames)
{
    static const char *const texts [] = {
        "{\"title\": \"Behindertenparkausweis digital\", \"hf\": 2, \"keywords\": [\"OZG\"]}",
        "[1, -2, 3.5e10, true, false, null, \"\\u00e4\\ud83d\\ude00\", {}, []]",
        "{\"a\": {\"b\": {\"c\": [1, [2, [3]]]}}, \"n\": -9223372036854775808}",
        "  \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"  ",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        s_corpus_add (json, texts [i], strlen (texts [i]));
    for (size_t i = 0; i < frames->count; i++) {
        kh_record_t rec = { { i + 1, 1700000000000ULL + i, 0, 0, 0 },
                            frames->item [i].data, frames->item [i].size };
        char *line = kh_record_to_json (&rec);
        if (line && kh_envelope_check (rec.msg, rec.msg_size, NULL, NULL, NULL) == 0)
            s_corpus_add (json, line, strlen (line));
        free (line);
    }
}

/* ======================================================================= main */

/* What the command line says. */
typedef struct {
    uint64_t    seed;                   /* --seed N */
    uint64_t    iterations;             /* --iterations N; 0: until --seconds */
    uint64_t    seconds;                /* --seconds S; 0: no time limit */
    const char *corpus;                 /* --corpus DIR */
    bool        verbose;                /* -v */
} s_args_t;

/* Parses argv into args. Returns KH_OPTS_GO, or what kh_opts_parse returned after
   printing the usage, the version or why argv is bad (also KH_OPTS_BAD for a number
   that is not one). */
static int
s_parse (int argc, char *argv [], s_args_t *args)
{
    const char *seed = NULL, *iterations = NULL, *seconds = NULL;
    const kh_opt_t table [] = {
        { "seed", 's', "N", &seed, NULL,
          "seed of the generator (default 1); a run is repeatable" },
        { "iterations", 'n', "N", &iterations, NULL, "mutated inputs to try (default "
          "100000, or no limit\nwhen --seconds is given)" },
        { "seconds", 't', "S", &seconds, NULL, "stop after S seconds" },
        { "corpus", 'c', "DIR", &args->corpus, NULL,
          "seed files (default $KH_VECTORS or schema/vectors)" },
        { "verbose", 'v', NULL, NULL, &args->verbose,
          "report progress every 10000 iterations" },
        { NULL }
    };
    const kh_opts_t opts = {
        .program = S_PROGRAM, .table = table, .version = true,
        .about = "Mutates the test vectors and feeds them to every decoder of untrusted "
                 "bytes.\n",
        .notes = "Exit status: 0 if every invariant held, 1 on the first that broke (the "
                 "input\nis printed as hex), 2 for a bad option or an unreadable corpus.\n"
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc != KH_OPTS_GO)
        return rc;
    if ((seed && kh_value_number (S_PROGRAM, "--seed", seed, 0, UINT64_MAX, &args->seed))
    ||  (iterations && kh_value_number (S_PROGRAM, "--iterations", iterations, 0,
                                        UINT64_MAX, &args->iterations))
    ||  (seconds && kh_value_number (S_PROGRAM, "--seconds", seconds, 0, UINT32_MAX,
                                     &args->seconds)))
        return KH_OPTS_BAD;
    if (!iterations && args->seconds == 0)
        args->iterations = 100000;
    return KH_OPTS_GO;
}

/* Seconds on a monotonic clock. */
static double
s_clock (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

/* Runs the rounds until the iterations or the seconds are used up. Returns how
   many rounds ran. */
static uint64_t
s_run (s_fuzz_t *fz, const s_args_t *args, const s_corpus_t *frames,
       const s_corpus_t *json, s_bytes_t *in)
{
    s_rng_t rng = { args->seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL };
    if (rng.state == 0)
        rng.state = 1;
    double start = s_clock ();
    uint64_t i;
    for (i = 0; args->iterations == 0 || i < args->iterations; i++) {
        if (args->seconds > 0 && i % 256 == 0 && s_clock () - start >= (double) args->seconds)
            break;
        fz->iteration = i + 1;
        s_mutate (in, &rng, frames, NULL, 0);
        s_feed (fz, S_MSGPACK, in->data, in->size);
        s_mutate (in, &rng, json, s_json_words, sizeof s_json_words / sizeof s_json_words [0]);
        s_feed (fz, S_JSON, in->data, in->size);
        if (fz->verbose && (i + 1) % 10000 == 0)
            fprintf (stderr, "kreishub-fuzz: %llu iterations, %.1f s\n",
                     (unsigned long long) (i + 1), s_clock () - start);
    }
    return i;
}

int
main (int argc, char *argv [])
{
    const char *vectors = getenv ("KH_VECTORS");
    s_args_t args = { .seed = 1, .corpus = vectors && *vectors ? vectors : "schema/vectors" };
    int parsed = s_parse (argc, argv, &args);
    if (parsed != KH_OPTS_GO)
        return kh_opts_exit (parsed, 2);
    static s_corpus_t frames, json;     /* large: kept off the stack */
    int loaded = s_load_dir (&frames, args.corpus);
    if (loaded <= 0) {
        fprintf (stderr, "kreishub-fuzz: no seed files in '%s'\n", args.corpus);
        return 2;
    }
    s_seed_frames (&frames);
    s_seed_json (&json, &frames);
    s_fuzz_t fz = { .seed = args.seed, .verbose = args.verbose };
    msgpack_sbuffer_init (&fz.out);
    /* The seeds as they are first: round trips of valid frames are checked too. */
    for (size_t i = 0; i < frames.count; i++)
        s_feed (&fz, S_MSGPACK, frames.item [i].data, frames.item [i].size);
    for (size_t i = 0; i < json.count; i++)
        s_feed (&fz, S_JSON, json.item [i].data, json.item [i].size);
    s_bytes_t in = { (uint8_t *) malloc (S_INPUT_MAX), 0 };
    if (!in.data)
        return 2;
    double start = s_clock ();
    uint64_t rounds = s_run (&fz, &args, &frames, &json, &in);
    printf ("kreishub-fuzz: seed %llu, %llu iterations in %.2f s, %zu msgpack and "
            "%zu JSON seeds (%d from %s)\n", (unsigned long long) args.seed,
            (unsigned long long) rounds, s_clock () - start, frames.count, json.count,
            loaded, args.corpus);
    printf ("accepted:");
    for (size_t t = 0; t < S_TARGETS; t++)
        printf (" %s %llu%s", s_targets [t].name, (unsigned long long) fz.accepted [t],
                t + 1 < S_TARGETS ? "," : "\n");
    free (in.data);
    msgpack_sbuffer_destroy (&fz.out);
    s_corpus_release (&frames);
    s_corpus_release (&json);
    return 0;
}
