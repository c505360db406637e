/*  kh_fuzz_json.c - libFuzzer target: the CLI's JSON reader (kh_json_to_msgpack,
    kh_json_set_body) and its time parser, on any text.

    Besides what the sanitizers catch: a refusal has a code and a reason and leaves
    the output as it was; accepted text is one bounded msgpack object (kh_mp_scan)
    whose JSON rendering reads back, stably from the second reading on; a body the builder accepts
    from JSON is an envelope the hub accepts; a time that parses prints as a time
    that parses to the same millisecond.
*/
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_json.h"
#include "kh_fuzz.h"

#define S_TARGET    "json"
#define S_TIME_MAX  64                  /* longest text tried as a time */

/* Renders the size bytes of msgpack at data as JSON; NULL if they do not unpack. */
static char *
s_render (const char *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    char *json = NULL;
    if (msgpack_unpack_next (&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS && off == size)
        json = kh_json_from_object (&u.data);
    msgpack_unpacked_destroy (&u);
    return json;
}

/* Reads json (len bytes) into out, cleared first; fails the run if it cannot. */
static void
s_read_back (const char *json, msgpack_sbuffer *out)
{
    kh_problem_t why = { 0 };
    msgpack_sbuffer_clear (out);
    if (kh_json_to_msgpack (json, strlen (json), out, &why))
        kh_fuzz_fail (S_TARGET, "rendered JSON does not read back (%s): %s", why.reason, json);
}

/* The reader: its contract, and renderings that read back. A float with a whole
   value renders as an integer ("-0.0" as "-0"), so the check is that the second
   reading (from the first rendering) reads the same from its own rendering. */
static void
s_reader (const uint8_t *data, size_t size)
{
    msgpack_sbuffer out, second, third;
    msgpack_sbuffer_init (&out);
    msgpack_sbuffer_init (&second);
    msgpack_sbuffer_init (&third);
    msgpack_sbuffer_write (&out, "x", 1);           /* a reader appends, never clears */
    kh_problem_t why = { 0 };
    int rc = kh_json_to_msgpack ((const char *) data, size, &out, &why);
    if (rc == -1 && (why.code == KH_OK || why.reason [0] == 0 || out.size != 1))
        kh_fuzz_fail (S_TARGET, "a refusal without code or reason, or with output");
    if (rc == 0) {
        kh_problem_t scan = { 0 };
        if (kh_mp_scan (out.data + 1, out.size - 1, &scan))
            kh_fuzz_fail (S_TARGET, "accepted JSON gave unbounded msgpack: %s", scan.reason);
        char *json = s_render (out.data + 1, out.size - 1);
        if (!json)
            kh_fuzz_fail (S_TARGET, "accepted JSON gave msgpack that does not render");
        s_read_back (json, &second);
        char *again = s_render (second.data, second.size);
        if (!again)
            kh_fuzz_fail (S_TARGET, "read-back JSON does not render: %s", json);
        s_read_back (again, &third);
        if (third.size != second.size || memcmp (third.data, second.data, third.size))
            kh_fuzz_fail (S_TARGET, "JSON is not stable under render and read: %s", json);
        free (again);
        free (json);
    }
    msgpack_sbuffer_destroy (&third);
    msgpack_sbuffer_destroy (&second);
    msgpack_sbuffer_destroy (&out);
}

/* Body fields from JSON: what the builder encodes, the hub's check accepts. */
static void
s_body (const uint8_t *data, size_t size)
{
    static const uint8_t id [KH_ID_SIZE] = {
        0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x70, 0x00, 0x80, 0x00, 9, 8, 7, 6, 5, 4 };
    kh_builder_t *builder = kh_builder_new (kh_schema_type_name (size % kh_schema_type_count ()));
    if (!builder)
        kh_fuzz_fail (S_TARGET, "no builder");
    kh_problem_t why = { 0 };
    int rc = kh_json_set_body (builder, (const char *) data, size, &why);
    if (rc == -1 && (why.code == KH_OK || why.reason [0] == 0))
        kh_fuzz_fail (S_TARGET, "kh_json_set_body refused without a code and a reason");
    if (rc == 0 && kh_builder_encode (builder, id, "05162004", 1700000000000ULL, &why) == 0) {
        size_t env_size = 0;
        const void *env = kh_builder_data (builder, &env_size);
        if (kh_envelope_check (env, env_size, NULL, NULL, &why))
            kh_fuzz_fail (S_TARGET, "the builder encoded what the hub refuses: %s",
                          why.reason);
    }
    kh_builder_destroy (&builder);
}

/* Times: one that parses prints as one that parses to the same ms. */
static void
s_time (const uint8_t *data, size_t size)
{
    char text [S_TIME_MAX + 1], printed [25];
    if (size > S_TIME_MAX)
        return;
    memcpy (text, data, size);
    text [size] = 0;
    uint64_t ms = 0, again = 0;
    if (kh_time_parse (text, &ms))
        return;
    kh_time_format (ms, printed);
    if (kh_time_parse (printed, &again) || again != ms)
        kh_fuzz_fail (S_TARGET, "time '%s' is %llu ms, printed '%s'", text,
                      (unsigned long long) ms, printed);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Feeds the input to the reader, the body setter and the time parser. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_reader (data, size);
    s_body (data, size);
    s_time (data, size);
    return 0;
}
