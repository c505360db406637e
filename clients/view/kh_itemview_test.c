/*  kh_itemview_test.c - items as the CLI shows them, from a kh_item_t and records
    built here: the catalogue's row and JSON, show's facts, fields and participants
    with names, the timeline's sentences, the lifecycle's next stages. */
#include <string.h>
#include "kh_check.h"
#include "kh_itemview.h"

#define S_MAR30  1648634400000ULL       /* 2022-03-30T10:00:00Z, 12:00 in Berlin */

/* An item, its fields packed into fields (which the caller destroys). */
static kh_item_t
s_item (msgpack_sbuffer *fields, const kh_participant_t *participants, size_t count)
{
    msgpack_packer pk;
    msgpack_sbuffer_init (fields);
    msgpack_packer_init (&pk, fields, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    msgpack_pack_str_with_body (&pk, "title", 5);
    msgpack_pack_str_with_body (&pk, "Digitaler Zwilling f\xc3\xbcr den Kreis", 33);
    msgpack_pack_str_with_body (&pk, "hf", 2);
    msgpack_pack_uint64 (&pk, 2);
    msgpack_pack_str_with_body (&pk, "description", 11);
    msgpack_pack_str_with_body (&pk, "Zeile 1\nZeile 2", 15);
    msgpack_pack_str_with_body (&pk, "participants", 12);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_str_with_body (&pk, "05162004", 8);
    msgpack_pack_str_with_body (&pk, "05162024", 8);
    msgpack_pack_str_with_body (&pk, "lead", 4);
    msgpack_pack_str_with_body (&pk, "05162", 5);
    kh_item_t item = {
        .seq = 12, .type = "idea", .owner = "05162", .ts = S_MAR30 - 86400000ULL * 100,
        .status = "decided", .status_seq = 20, .status_ts = S_MAR30, .joined = 7,
        .interested = 1, .declined = 1, .messages = 14, .last_seq = 35, .last_ts = S_MAR30,
        .fields = (const uint8_t *) fields->data, .fields_size = fields->size,
        .participants = participants, .participant_count = count
    };
    kh_id_parse ("017ce42a-3800-7001-8000-0000000000d1", item.id);
    return item;
}

/* Runs print into a memory buffer; returns what it wrote (freed by the caller). */
static char *
s_capture (void (*print) (FILE *, const kh_item_t *, const kh_members_t *),
           const kh_item_t *item, const kh_members_t *names)
{
    char *text = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&text, &size);
    print (file, item, names);
    fclose (file);
    return text ? text : strdup ("");
}

/* The same for kh_itemview_json, which returns a status. */
static void
s_json (FILE *file, const kh_item_t *item, const kh_members_t *names)
{
    if (kh_itemview_json (file, item, names))
        fputs ("FAILED", file);
}

static void
s_test_lifecycle (void)
{
    char next [160];
    kh_lifecycle_next ("decided", next, sizeof next);
    KH_CHECK ("from decided an item may go to any later stage or be withdrawn",
              streq (next, "pilot, rollout, done or withdrawn"), "'%s'", next);
    kh_lifecycle_next ("rollout", next, sizeof next);
    KH_CHECK ("from rollout: done or withdrawn", streq (next, "done or withdrawn"), "'%s'",
              next);
    kh_lifecycle_next ("done", next, sizeof next);
    KH_CHECK ("done is final", streq (next, ""), "'%s'", next);
    kh_lifecycle_next ("withdrawn", next, sizeof next);
    KH_CHECK ("withdrawn is final", streq (next, ""), "'%s'", next);
    KH_CHECK ("the lifecycle comes from the schema: seven stages, proposed first",
              kh_lifecycle_count () == 7 && streq (kh_lifecycle_stage (0), "proposed")
              && kh_lifecycle_known ("pilot") && !kh_lifecycle_known ("piloted"), "%zu",
              kh_lifecycle_count ());
}

static void
s_test_catalogue (const kh_members_t *names)
{
    msgpack_sbuffer fields;
    kh_item_t item = s_item (&fields, NULL, 0);
    char text [64];
    KH_CHECK ("a field is read from the item's map",
              kh_itemview_field (&item, "participants", text, sizeof text) == 0
              && streq (text, "05162004, 05162024"), "'%s'", text);
    KH_CHECK ("a field the item lacks is -1",
              kh_itemview_field (&item, "topic", text, sizeof text) == -1 && !*text, "'%s'", text);
    char *row = s_capture (kh_itemview_row, &item, names);
    KH_CHECK ("a row shows seq, type, owner's name, status, hf, joined/interested, the "
              "Berlin date of the last activity and the title", row
              && strstr (row, "    12  idea          05162 Rhein-Kreis Neuss")
              && strstr (row, "decided               2  7/1    30.03.2022  Digitaler Zwilling "
                         "f\xc3\xbcr den Kreis\n"), "'%s'", row);
    free (row);
    item.expired = true;
    row = s_capture (kh_itemview_row, &item, names);
    KH_CHECK ("an expired item says so", row && strstr (row, "decided, expired "), "'%s'", row);
    free (row);
    char *json = s_capture (s_json, &item, names);
    KH_CHECK ("an item as JSON: the full id, the owner's name, its fields as a map",
              json && strstr (json, "{\"id\":\"017ce42a-3800-7001-8000-0000000000d1\","
                              "\"seq\":12,\"type\":\"idea\",\"owner\":\"05162\","
                              "\"owner_name\":\"Rhein-Kreis Neuss\"")
              && strstr (json, "\"expired\":true,\"interested\":1,\"joined\":7")
              && strstr (json, "\"hf\":2") && strstr (json, "\"participants\":[]}\n"),
              "'%s'", json);
    free (json);
    msgpack_sbuffer_destroy (&fields);
}

static void
s_test_show (const kh_members_t *names)
{
    kh_participant_t parts [2] = {
        { .ags = "05162004", .state = "joined", .since = S_MAR30, .seq = 21 },
        { .ags = "05162024", .state = "declined", .since = S_MAR30 - 86400000ULL * 22,
          .seq = 18 }
    };
    msgpack_sbuffer fields;
    kh_item_t item = s_item (&fields, parts, 2);
    char *text = s_capture (kh_itemview_show, &item, names);
    KH_CHECK ("show: type, seq and title first", strncmp (text, "idea 12: Digitaler Zwilling f\xc3\xbcr den Kreis\n", 42) == 0,
              "'%s'", text);
    KH_CHECK ("show: the status with its date and where it may go next", strstr (text, "  status        decided since 30.03.2022 (next: pilot, "
                         "rollout, done or withdrawn)\n"), "'%s'", text);
    KH_CHECK ("show: names next to the AGS of the fields", strstr (text, "  participants  05162004 Dormagen, 05162024 Neuss\n")
              && strstr (text, "  lead          05162 Rhein-Kreis Neuss\n"), "'%s'", text);
    KH_CHECK ("show: a text of several lines continues under its label", strstr (text, "  description   Zeile 1\n                Zeile 2\n"),
              "'%s'", text);
    KH_CHECK ("show: the participants with their state and date", strstr (text, "  05162004 Dormagen")
              && strstr (text, "joined      30.03.2022\n")
              && strstr (text, "declined    08.03.2022\n"), "'%s'", text);
    free (text);
    msgpack_sbuffer_destroy (&fields);
}

/* Builds an envelope of type from with the body fields (name, value as text) set
   and checks the timeline's sentence for it. */
static void
s_check_event (const char *type, const char *const *set, const char *want)
{
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { 0 };
    for (size_t i = 0; builder && set [i]; i += 2)
        kh_builder_set (builder, set [i], set [i + 1], &why);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    size_t size = 0;
    const void *data = builder && kh_builder_encode (builder, id, "05162024", S_MAR30, &why)
                       == 0 ? kh_builder_data (builder, &size) : NULL;
    kh_record_t rec = { .info = { .seq = 9 }, .msg = (const uint8_t *) data,
                        .msg_size = size };
    char out [256] = "";
    int rc = data ? kh_itemview_event (&rec, out, sizeof out) : -1;
    KH_CHECK ("the timeline tells what a message did", rc == 0 && streq (out, want),
              "%s: rc %d '%s' (want '%s') %s", type, rc, out, want, why.reason);
    kh_builder_destroy (&builder);
}

#define S_REF "017ce42a-3800-7001-8000-0000000000d1"

static void
s_test_timeline (void)
{
    s_check_event ("offer", (const char *const []) { "title", "E-Akte", NULL },
                   "published the offer \"E-Akte\"");
    s_check_event ("interest", (const char *const []) { "ref", S_REF, "action", "decline",
                   "text", "Neuss hat eine eigene\nL\xc3\xb6sung", NULL },
                   "declined: Neuss hat eine eigene L\xc3\xb6sung");
    s_check_event ("interest", (const char *const []) { "ref", S_REF, "action",
                   "interested", NULL }, "is interested");
    s_check_event ("status", (const char *const []) { "ref", S_REF, "status", "decided",
                   NULL }, "status: decided");
    s_check_event ("status", (const char *const []) { "ref", S_REF, "status", "withdrawn",
                   "text", "kein Bedarf", NULL }, "withdrew it: kein Bedarf");
    s_check_event ("revise", (const char *const []) { "ref", S_REF, "fields.title", "Neu",
                   "fields.hf", "3", NULL }, "revised title, hf");
    s_check_event ("comment", (const char *const []) { "ref", S_REF, "text", "Gern!", NULL },
                   "comment: Gern!");
    kh_record_t junk = { .msg = (const uint8_t *) "\xc1", .msg_size = 1 };
    char out [16];
    KH_CHECK ("a record that cannot be read is '?'",
              kh_itemview_event (&junk, out, sizeof out) == -1 && streq (out, "?"), "'%s'", out);
}

int
main (void)
{
    kh_members_t *names = kh_members_load (NULL, NULL);
    s_test_lifecycle ();
    s_test_catalogue (names);
    s_test_show (names);
    s_test_timeline ();
    kh_members_destroy (&names);
    return kh_check_done ("itemview_test");
}
