/*  kh_codec_fault_test.c - every encoder of the codec fails as promised when a write fails.

    Built against the codec's fault copy (khcodec_faults, compiled with KH_CODEC_FAULTS),
    whose one write callback fails the N-th write after kh__fault_arm (N). Each case
    runs its encoder for N = 1, 2, ... until no write fails: while one does, the
    encoder must return -1, write nothing after the failed write, and leave what it
    writes to (a buffer, a rows writer, a builder) as it was; once none does, its bytes
    must be the reference bytes below, which the codec wrote before encoders checked
    their writes (so checking them changed no byte on the wire).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_mpio.h"

#include "kh_check.h"

#ifndef KH_CODEC_FAULTS
#   error "kh_codec_fault_test needs the codec's fault copy (khcodec_faults)"
#endif

#define S_WRITES_MAX 200                /* no encoder here makes this many writes */
#define S_PREFIX     "\xa3pre"          /* what out holds before each encode */
#define S_TS         1700000000000ULL

/* The reference bytes, hex: the frames as the codec wrote them before this test. */
#define S_RECORD \
    "86a373657107a26174cf0000018bcfe5687ba2707405a2707303a370747300a36d7367c4" \
    "0481a17601"
#define S_QUERY_FULL \
    "88a372657101a973696e63655f7365710aa9756e74696c5f73657114a873696e63655f61" \
    "7405a8756e74696c5f617406a56c696d697432a474797065a56f66666572a466726f6da5" \
    "3035313632"
#define S_QUERY_MIN \
    "81a372657102"
#define S_ROWS_ONE \
    "84a37265712aa46d6f7265c3a46e65787409a4726f77739186a373657107a26174cf0000" \
    "018bcfe5687ba2707405a2707303a370747300a36d7367c40481a17601"
#define S_ROWS_TWO \
    "84a37265712aa46d6f7265c3a46e65787409a4726f77739286a373657107a26174cf0000" \
    "018bcfe5687ba2707405a2707303a370747300a36d7367c40481a1760186a373657108a2" \
    "6174cf0000018bcfe5687ba2707405a2707303a370747300a36d7367c40481a17601"
#define S_ROWS_EMPTY \
    "84a372657109a46d6f7265c2a46e65787400a4726f777390"
#define S_ACK \
    "83a26964c410017ce42a38007001800000000000002aa373657163a3647570c3"
#define S_ERROR_ID \
    "85a26964c410017ce42a38007001800000000000002aa372657100a4636f646506a46e61" \
    "6d65a74d495353494e47a6726561736f6ed922626f64792e7469746c653a207265717569" \
    "726564206669656c64206d697373696e67"
#define S_ERROR_NOID \
    "85a26964c0a372657105a4636f646512a46e616d65a55155455259a6726561736f6eaf71" \
    "75657279206e6f742076616c6964"
#define S_PONG \
    "82a4686561640ca87265636f72646572c3"
#define S_BEAT \
    "82a4686561640da26174cf0000018bcfe56800"
#define S_HELLO \
    "82a17601a4686561640f"
#define S_STORED \
    "86a373657103a2617404a2707401a2707302a370747300a3647570c3"
#define S_IDEA_OLD \
    "86a17601a26964c410017ce42a38007001800000000000002aa474797065a469646561a4" \
    "66726f6da83035313632303034a27473cf0000018bcfe56800a4626f647983a57469746c" \
    "65b04f70656e2d446174612d506f7274616ca2686602ac7061727469636970616e747391" \
    "a83035313632303132"
#define S_IDEA_FULL \
    "86a17601a26964c410017ce42a38007001800000000000002aa474797065a469646561a4" \
    "66726f6da83035313632303034a27473cf0000018bcfe56800a4626f647983a57469746c" \
    "65b04f70656e2d446174612d506f7274616ca2686602ac7061727469636970616e747392" \
    "a83035313632303034a83035313632303238"
#define S_IDEA_MP \
    "86a17601a26964c410017ce42a38007001800000000000002aa474797065a469646561a4" \
    "66726f6da83035313632303034a27473cf0000018bcfe56800a4626f647983a57469746c" \
    "65a5546974656ca2686602ac7061727469636970616e747392a83035313632303034a830" \
    "35313632303238"
#define S_AUDIT \
    "8ca373657107a26174cf0000018bcfe5687ba4636f646516a473697a65cd012ca8656e64" \
    "706f696e74a6636c69656e74a7636f6d6d616e64a75055424c495348a470656572a93132" \
    "372e302e302e31a7636c61696d6564a83035313632303038a3616773a830353136323031" \
    "32a4726f6c65ac6d756e69636970616c697479a36b6579a16ba6726561736f6ea96e6f74" \
    "20796f757273"
#define S_AUDIT_QUERY \
    "88a372657103a973696e63655f73657102a9756e74696c5f7365711ea873696e63655f61" \
    "7405a8756e74696c5f617406a56c696d69740aa4636f646511a3616773a53035313632"
#define S_AUDIT_ROWS \
    "84a37265712aa46d6f7265c3a46e65787409a4726f7773918ca373657107a26174cf0000" \
    "018bcfe5687ba4636f646516a473697a65cd012ca8656e64706f696e74a6636c69656e74" \
    "a7636f6d6d616e64a75055424c495348a470656572a93132372e302e302e31a7636c6169" \
    "6d6564a83035313632303038a3616773a83035313632303132a4726f6c65ac6d756e6963" \
    "6970616c697479a36b6579a16ba6726561736f6ea96e6f7420796f757273"
#define S_AUDIT_ROWS_NONE \
    "84a37265712aa46d6f7265c3a46e65787409a4726f777390"

#define S_ITEMS_QUERY_FULL \
    "8ca372657104a26964c4100102030405060708090a0b0c0d0e0f10a47479706592a56f66" \
    "666572a469646561a466726f6da5303531362aa6737461747573a570696c6f74a2686602" \
    "a5746f706963a4416b7465ab7061727469636970616e74a83035313632303234a46f7065" \
    "6ec3a6736561726368a85a77696c6c696e67a66265666f72651ea56c696d697414"
#define S_ITEMS_QUERY_MIN \
    "81a372657105"
#define S_ITEM_ROWS \
    "84a37265712aa46d6f7265c3a46e65787409a4726f777391de0012a26964c41009000000" \
    "000000000000000000000000a373657105a474797065a56f66666572a466726f6da83035" \
    "313632303034a27473cf0000018bcfe56800a6737461747573a570696c6f74aa73746174" \
    "75735f73657108a97374617475735f7473cf0000018bcfe56803a765787069726564c2aa" \
    "696e746572657374656401a66a6f696e656401a86465636c696e656401a46c65667400a8" \
    "6d6573736167657306a86c6173745f7365710ca76c6173745f7473cf0000018bcfe56804" \
    "a66669656c647382a57469746c65a4416b7465a2686602ac7061727469636970616e7473" \
    "9284a3616773a83035313632303234a57374617465a66a6f696e6564a573696e6365cf00" \
    "00018bcfe56801a37365710b84a3616773a53035313632a57374617465a86465636c696e" \
    "6564a573696e6365cf0000018bcfe56802a37365710c"
#define S_STATS_QUERY \
    "86a372657106a26279ac6d756e69636970616c697479a873696e63655f747301a8756e74" \
    "696c5f7473cf0000018bcfe56800a474797065a469646561a466726f6d92a53035313632" \
    "a5303531372a"
#define S_STATS_REPLY \
    "88a372657106a46d6f7265c2a46e65787400a4726f77739283a36b6579a53035313632a5" \
    "6974656d7302a86d657373616765730583a36b6579a83035313632303034a56974656d73" \
    "01a86d6573736167657303a56974656d7303a86d6573736167657308a46865616428ab73" \
    "746f72655f6279746573cd2000"
#define S_COUNTERS_QUERY \
    "81a372657107"
#define S_COUNTERS \
    "8ba372657107a9757074696d655f6d73cdea60a7636c69656e747303ab73756273637269" \
    "6265727302a87265636f72646572c3a46865616428a97075626c697368656426a4726174" \
    "6504a66572726f727305a46275737901ad61756469745f64726f7070656400"

static const uint8_t s_id [KH_ID_SIZE] = {
    0x01, 0x7c, 0xe4, 0x2a, 0x38, 0x00, 0x70, 0x01, 0x80, 0, 0, 0, 0, 0, 0, 0x2a };
static const uint8_t s_msg [] = { 0x81, 0xa1, 0x76, 0x01 };

/* A revise: its ref, and fields set one at a time (read by eye: body {ref: bin 16,
   fields: {title: "Neu", hf: 2}}); then its ref set from msgpack, as an id's text. */
#define S_REVISE_OLD \
    "86a17601a26964c410017ce42a38007001800000000000002aa474797065a67265766973" \
    "65a466726f6da83035313632303034a27473cf0000018bcfe56800a4626f647982a37265" \
    "66c410017ce42a38007001800000000000002aa66669656c647381a57469746c65a34e65" \
    "75"
#define S_REVISE_FULL \
    "86a17601a26964c410017ce42a38007001800000000000002aa474797065a67265766973" \
    "65a466726f6da83035313632303034a27473cf0000018bcfe56800a4626f647982a37265" \
    "66c410017ce42a38007001800000000000002aa66669656c647382a57469746c65a34e65" \
    "75a2686602"
#define S_REVISE_REF \
    "86a17601a26964c410017ce42a38007001800000000000002aa474797065a67265766973" \
    "65a466726f6da83035313632303034a27473cf0000018bcfe56800a4626f647982a37265" \
    "66c410017ce42a38007001800000000000002ba66669656c647382a57469746c65a34e65" \
    "75a2686602"

/* What one case works on; made afresh for every N. */
typedef struct {
    msgpack_sbuffer   out;              /* S_PREFIX, then what the case writes */
    kh_rows_writer_t *writer;
    kh_builder_t     *builder;
    kh_problem_t      why;
} s_ctx_t;

/* One encoder under test. */
typedef struct {
    const char *name;
    int (*prepare) (s_ctx_t *ctx);      /* set-up before the faults, or NULL */
    int (*encode) (s_ctx_t *ctx);       /* the call under test; 0 or -1 */
    int (*result) (s_ctx_t *ctx);       /* after it, appends the state it left, or NULL */
    const char *done;                   /* hex after S_PREFIX once the encode succeeds */
    const char *undone;                 /* the same after a failed encode */
    bool says_why;                      /* a failure sets ctx->why to KH_ENOMEM */
} s_case_t;

/* ------------------------------------------------------------- the encoders */

static kh_record_t
s_record (uint64_t seq)
{
    kh_record_t rec = { { seq, S_TS + 123, 5, 3, 0 }, s_msg, sizeof s_msg };
    return rec;
}

static int
s_encode_record (s_ctx_t *ctx)
{
    kh_record_t rec = s_record (7);
    return kh_record_encode (&ctx->out, &rec);
}

static int
s_encode_query_full (s_ctx_t *ctx)
{
    static const kh_query_t query = { .req = 1, .since_seq = 10, .until_seq = 20,
                                      .since_at = 5, .until_at = 6, .type = { "offer" }, .type_count = 1,
                                      .from = { "05162" }, .from_count = 1, .limit = 50 };
    return kh_query_encode (&ctx->out, &query);
}

static int
s_encode_query_min (s_ctx_t *ctx)
{
    static const kh_query_t query = { .req = 2 };
    return kh_query_encode (&ctx->out, &query);
}

static int
s_writer_one (s_ctx_t *ctx)
{
    kh_record_t rec = s_record (7);
    ctx->writer = kh_rows_writer_new (42);
    return ctx->writer ? kh_rows_writer_add (ctx->writer, &rec) : -1;
}

static int
s_writer_two (s_ctx_t *ctx)
{
    kh_record_t rec = s_record (8);
    return s_writer_one (ctx) || kh_rows_writer_add (ctx->writer, &rec) ? -1 : 0;
}

static int
s_writer_empty (s_ctx_t *ctx)
{
    ctx->writer = kh_rows_writer_new (9);
    return ctx->writer ? 0 : -1;
}

static int
s_add_row (s_ctx_t *ctx)
{
    kh_record_t rec = s_record (8);
    return kh_rows_writer_add (ctx->writer, &rec);
}

static int
s_finish_more (s_ctx_t *ctx)
{
    return kh_rows_writer_finish (ctx->writer, true, 9, &ctx->out);
}

static int
s_finish_last (s_ctx_t *ctx)
{
    return kh_rows_writer_finish (ctx->writer, false, 0, &ctx->out);
}

static int
s_encode_ack (s_ctx_t *ctx)
{
    return kh_ack_encode (&ctx->out, s_id, 99, true);
}

static int
s_encode_error_id (s_ctx_t *ctx)
{
    return kh_error_encode (&ctx->out, s_id, 0, KH_EMISSING,
                            "body.title: required field missing");
}

static int
s_encode_error_noid (s_ctx_t *ctx)
{
    return kh_error_encode (&ctx->out, NULL, 5, KH_EQUERY, "bad \xff reason");
}

static int
s_encode_pong (s_ctx_t *ctx)
{
    return kh_pong_encode (&ctx->out, 12, true);
}

static int
s_encode_beat (s_ctx_t *ctx)
{
    return kh_beat_encode (&ctx->out, 13, S_TS);
}

static int
s_encode_hello (s_ctx_t *ctx)
{
    return kh_hello_encode (&ctx->out, 15);
}

static int
s_encode_stored (s_ctx_t *ctx)
{
    kh_seqinfo_t info = { 3, 4, 1, 2, 0 };
    return kh_stored_encode (&ctx->out, &info, true);
}

/* An audit record with every field set. */
static kh_audit_t
s_audit (void)
{
    kh_audit_t rec = { .seq = 7, .at = S_TS + 123, .code = KH_ESENDER, .size = 300,
                       .endpoint = "client", .command = "PUBLISH", .peer = "127.0.0.1",
                       .claimed = "05162008", .ags = "05162012", .role = "municipality",
                       .key = "k", .reason = "not yours" };
    return rec;
}

static int
s_encode_audit (s_ctx_t *ctx)
{
    kh_audit_t rec = s_audit ();
    return kh_audit_encode (&ctx->out, &rec);
}

static int
s_encode_audit_query (s_ctx_t *ctx)
{
    static const kh_audit_query_t query = { .req = 3, .since_seq = 2, .until_seq = 30,
                                            .since_at = 5, .until_at = 6,
                                            .code = KH_EFORBIDDEN, .ags = "05162",
                                            .limit = 10 };
    return kh_audit_query_encode (&ctx->out, &query);
}

static int
s_writer_audit (s_ctx_t *ctx)
{
    ctx->writer = kh_rows_writer_new (42);
    return ctx->writer ? 0 : -1;
}

static int
s_add_audit_row (s_ctx_t *ctx)
{
    kh_audit_t rec = s_audit ();
    return kh_rows_writer_add_audit (ctx->writer, &rec);
}

/* An idea with a title, hf and one participant. */
static int
s_idea_old (s_ctx_t *ctx)
{
    ctx->builder = kh_builder_new ("idea");
    return kh_builder_set (ctx->builder, "title", "Open-Data-Portal", &ctx->why)
        || kh_builder_set (ctx->builder, "hf", "2", &ctx->why)
        || kh_builder_set (ctx->builder, "participants", "05162012", &ctx->why) ? -1 : 0;
}

static int
s_set_participants (s_ctx_t *ctx)
{
    return kh_builder_set (ctx->builder, "participants", " 05162004 ,05162028,", &ctx->why);
}

/* The idea with two participants. */
static int
s_idea_full (s_ctx_t *ctx)
{
    return s_idea_old (ctx) || s_set_participants (ctx) ? -1 : 0;
}

static int
s_set_title_msgpack (s_ctx_t *ctx)
{
    static const char title [] = "\xa5" "Titel";
    return kh_builder_set_msgpack (ctx->builder, "title", 5, title, sizeof title - 1,
                                   &ctx->why);
}

static int
s_pack_idea (s_ctx_t *ctx)
{
    return kh_builder_pack (ctx->builder, s_id, "05162004", S_TS, &ctx->out, &ctx->why);
}

static int
s_encode_idea (s_ctx_t *ctx)
{
    return kh_builder_encode (ctx->builder, s_id, "05162004", S_TS, &ctx->why);
}

/* Appends the builder's encoded bytes, if it holds any (not through the codec). */
static int
s_builder_bytes (s_ctx_t *ctx)
{
    size_t size = 0;
    const void *data = kh_builder_data (ctx->builder, &size);
    return data ? msgpack_sbuffer_write (&ctx->out, (const char *) data, size) : 0;
}

/* A revise with its ref and a changed title. */
static int
s_revise_old (s_ctx_t *ctx)
{
    ctx->builder = kh_builder_new ("revise");
    return kh_builder_set (ctx->builder, "ref", "017ce42a-3800-7001-8000-00000000002a",
                           &ctx->why)
        || kh_builder_set (ctx->builder, "fields.title", "Neu", &ctx->why) ? -1 : 0;
}

static int
s_set_field_hf (s_ctx_t *ctx)
{
    return kh_builder_set (ctx->builder, "fields.hf", "2", &ctx->why);
}

/* The revise with a changed title and hf. */
static int
s_revise_full (s_ctx_t *ctx)
{
    return s_revise_old (ctx) || s_set_field_hf (ctx) ? -1 : 0;
}

static int
s_set_ref_msgpack (s_ctx_t *ctx)
{
    static const char ref [] = "\xd9\x24" "017ce42a-3800-7001-8000-00000000002b";
    return kh_builder_set_msgpack (ctx->builder, "ref", 3, ref, sizeof ref - 1, &ctx->why);
}


/* An items query with every key. */
static int
s_encode_items_query_full (s_ctx_t *ctx)
{
    static const kh_items_query_t query = {
        .req = 4, .has_id = true, .id = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
        .type = { "offer", "idea" }, .type_count = 2, .from = { "0516*" }, .from_count = 1,
        .status = { "pilot" }, .status_count = 1, .hf = 2, .topic = "Akte",
        .participant = "05162024", .open = true, .search = "Zwilling", .before = 30,
        .limit = 20 };
    return kh_items_query_encode (&ctx->out, &query);
}

static int
s_encode_items_query_min (s_ctx_t *ctx)
{
    static const kh_items_query_t query = { .req = 5 };
    return kh_items_query_encode (&ctx->out, &query);
}

static int
s_add_item_row (s_ctx_t *ctx)
{
    static const uint8_t fields [] = "\x82\xa5title\xa4""Akte\xa2hf\x02";
    static const kh_participant_t people [2] = {
        { "05162024", "joined", S_TS + 1, 11 }, { "05162", "declined", S_TS + 2, 12 } };
    kh_item_t item = { .id = { 9 }, .seq = 5, .type = "offer", .owner = "05162004",
                       .ts = S_TS, .status = "pilot", .status_seq = 8, .status_ts = S_TS + 3,
                       .expired = false, .interested = 1, .joined = 1, .declined = 1,
                       .messages = 6, .last_seq = 12, .last_ts = S_TS + 4, .fields = fields,
                       .fields_size = sizeof fields - 1, .participant_count = 2,
                       .participants = people };
    return kh_rows_writer_add_item (ctx->writer, &item);
}

static int
s_encode_stats_query (s_ctx_t *ctx)
{
    static const kh_stats_query_t query = { .req = 6, .by = "municipality", .since_ts = 1,
                                            .until_ts = S_TS, .type = { "idea" },
                                            .type_count = 1, .from = { "05162", "0517*" },
                                            .from_count = 2 };
    return kh_stats_query_encode (&ctx->out, &query);
}

static int
s_encode_stats_reply (s_ctx_t *ctx)
{
    static kh_stats_row_t rows [2] = { { "05162", 2, 5 }, { "05162004", 1, 3 } };
    kh_stats_t stats = { 3, 8, 40, 8192, false, 2, rows };
    return kh_stats_reply_encode (&ctx->out, 6, &stats);
}

static int
s_encode_counters_query (s_ctx_t *ctx)
{
    return kh_counters_query_encode (&ctx->out, 7);
}

static int
s_encode_counters (s_ctx_t *ctx)
{
    static const kh_counters_t counters = { 60000, 3, 2, true, 40, 38, 4, 5, 1, 0 };
    return kh_counters_encode (&ctx->out, 7, &counters);
}

static const s_case_t s_cases [] = {
    { "kh_record_encode", NULL, s_encode_record, NULL, S_RECORD, "", false },
    { "kh_query_encode (every key)", NULL, s_encode_query_full, NULL, S_QUERY_FULL, "", false },
    { "kh_query_encode (req only)", NULL, s_encode_query_min, NULL, S_QUERY_MIN, "", false },
    { "kh_rows_writer_add", s_writer_one, s_add_row, s_finish_more, S_ROWS_TWO, S_ROWS_ONE,
      false },
    { "kh_rows_writer_finish", s_writer_two, s_finish_more, NULL, S_ROWS_TWO, "", false },
    { "kh_rows_writer_finish (no rows)", s_writer_empty, s_finish_last, NULL, S_ROWS_EMPTY, "",
      false },
    { "kh_ack_encode", NULL, s_encode_ack, NULL, S_ACK, "", false },
    { "kh_error_encode (with id)", NULL, s_encode_error_id, NULL, S_ERROR_ID, "", false },
    { "kh_error_encode (no id)", NULL, s_encode_error_noid, NULL, S_ERROR_NOID, "", false },
    { "kh_pong_encode", NULL, s_encode_pong, NULL, S_PONG, "", false },
    { "kh_beat_encode", NULL, s_encode_beat, NULL, S_BEAT, "", false },
    { "kh_hello_encode", NULL, s_encode_hello, NULL, S_HELLO, "", false },
    { "kh_stored_encode", NULL, s_encode_stored, NULL, S_STORED, "", false },
    { "kh_audit_encode", NULL, s_encode_audit, NULL, S_AUDIT, "", false },
    { "kh_audit_query_encode", NULL, s_encode_audit_query, NULL, S_AUDIT_QUERY, "", false },
    { "kh_rows_writer_add_audit", s_writer_audit, s_add_audit_row, s_finish_more,
      S_AUDIT_ROWS, S_AUDIT_ROWS_NONE, false },
    { "kh_items_query_encode (every key)", NULL, s_encode_items_query_full, NULL,
      S_ITEMS_QUERY_FULL, "", false },
    { "kh_items_query_encode (req only)", NULL, s_encode_items_query_min, NULL,
      S_ITEMS_QUERY_MIN, "", false },
    { "kh_rows_writer_add_item", s_writer_audit, s_add_item_row, s_finish_more, S_ITEM_ROWS,
      S_AUDIT_ROWS_NONE, false },
    { "kh_stats_query_encode", NULL, s_encode_stats_query, NULL, S_STATS_QUERY, "", false },
    { "kh_stats_reply_encode", NULL, s_encode_stats_reply, NULL, S_STATS_REPLY, "", false },
    { "kh_counters_query_encode", NULL, s_encode_counters_query, NULL, S_COUNTERS_QUERY, "",
      false },
    { "kh_counters_encode", NULL, s_encode_counters, NULL, S_COUNTERS, "", false },
    { "kh_builder_set (a list)", s_idea_old, s_set_participants, s_pack_idea, S_IDEA_FULL,
      S_IDEA_OLD, true },
    { "kh_builder_set_msgpack", s_idea_full, s_set_title_msgpack, s_pack_idea, S_IDEA_MP,
      S_IDEA_FULL, true },
    { "kh_builder_pack", s_idea_full, s_pack_idea, NULL, S_IDEA_FULL, "", true },
    { "kh_builder_encode", s_idea_full, s_encode_idea, s_builder_bytes, S_IDEA_FULL, "", true },
    { "kh_builder_set (fields.NAME)", s_revise_old, s_set_field_hf, s_pack_idea, S_REVISE_FULL,
      S_REVISE_OLD, true },
    { "kh_builder_set_msgpack (a ref as text)", s_revise_full, s_set_ref_msgpack, s_pack_idea,
      S_REVISE_REF, S_REVISE_FULL, true },
};

/* ------------------------------------------------------------------ the runs */

/* True if ctx->out holds S_PREFIX and then the bytes that hex spells. */
static bool
s_out_is (const s_ctx_t *ctx, const char *hex)
{
    size_t prefix = sizeof S_PREFIX - 1, size = strlen (hex) / 2;
    if (ctx->out.size != prefix + size || memcmp (ctx->out.data, S_PREFIX, prefix) != 0)
        return false;
    for (size_t i = 0; i < size; i++) {
        unsigned byte;
        if (sscanf (hex + 2 * i, "%2x", &byte) != 1
        ||  (uint8_t) ctx->out.data [prefix + i] != byte)
            return false;
    }
    return true;
}

/* Runs the case with its N-th write failing; returns true if a write failed. */
static bool
s_run (const s_case_t *c, size_t n)
{
    s_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    msgpack_sbuffer_init (&ctx.out);
    int rc = msgpack_sbuffer_write (&ctx.out, S_PREFIX, sizeof S_PREFIX - 1);
    KH_CHECK ("a case sets up without faults", rc == 0 && (!c->prepare || c->prepare (&ctx) == 0),
              "%s: %s", c->name, ctx.why.reason);
    memset (&ctx.why, 0, sizeof ctx.why);
    kh__fault_arm (n);
    rc = c->encode (&ctx);
    size_t writes = kh__fault_writes ();
    kh__fault_arm (0);
    bool failed = writes >= n;
    int code = ctx.why.code;
    if (c->result)
        KH_CHECK ("a case reads its state back", c->result (&ctx) == 0, "%s", c->name);
    if (failed) {
        KH_CHECK ("an encoder whose write failed returns -1", rc == -1,
                  "%s: write %zu failed, rc %d", c->name, n, rc);
        KH_CHECK ("an encoder writes no more after a failed write", writes == n,
                  "%s: write %zu failed, %zu writes", c->name, n, writes);
        KH_CHECK ("a failed encoder leaves what it writes to as it was",
                  s_out_is (&ctx, c->undone), "%s: write %zu failed, %zu bytes after it",
                  c->name, n, ctx.out.size);
        KH_CHECK ("a failed builder call says out of memory",
                  !c->says_why || code == KH_ENOMEM, "%s: write %zu failed, code %d",
                  c->name, n, code);
    }
    else {
        KH_CHECK ("an encoder without a failed write returns 0", rc == 0, "%s: rc %d (%s)",
                  c->name, rc, ctx.why.reason);
        KH_CHECK ("an encoder writes the reference bytes", s_out_is (&ctx, c->done),
                  "%s: %zu bytes", c->name, ctx.out.size);
    }
    kh_builder_destroy (&ctx.builder);
    kh_rows_writer_destroy (&ctx.writer);
    msgpack_sbuffer_destroy (&ctx.out);
    return failed;
}

/* Every encoder, with each of its writes failing in turn, then none. */
static void
test_every_write_fails_once (void)
{
    size_t cases = sizeof s_cases / sizeof s_cases [0], runs = 0;
    for (size_t i = 0; i < cases; i++) {
        size_t n = 1;
        while (n <= S_WRITES_MAX && s_run (&s_cases [i], n))
            n++;
        KH_CHECK ("an encoder succeeds once no write fails", n <= S_WRITES_MAX, "%s",
                  s_cases [i].name);
        KH_CHECK ("an encoder writes at least once", n > 1, "%s", s_cases [i].name);
        runs += n;
    }
    printf ("codec_fault_test: %zu encoders, %zu runs\n", cases, runs);
}

/* Without a fault armed, nothing fails, however many writes come. */
static void
test_unarmed_never_fails (void)
{
    kh__fault_arm (0);
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = kh_pong_encode (&out, (uint64_t) i, true);
    KH_CHECK ("an unarmed fault copy never fails", rc == 0 && kh__fault_writes () >= 1000,
              "rc %d, %zu writes", rc, kh__fault_writes ());
    msgpack_sbuffer_destroy (&out);
}

int
main (void)
{
    test_every_write_fails_once ();
    test_unarmed_never_fails ();
    return kh_check_done ("codec_fault_test");
}
