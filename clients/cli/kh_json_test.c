/*  kh_json_test.c - the JSON codec's self-test: parser, writer, records, CSV, time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_json.h"

#include "kh_check.h"

/* ================================================================ helpers */

/* Parses len bytes of json and renders the msgpack back as JSON. Returns the
   malloc'd text, or NULL with why set if the parse (or the bound check) fails. */
static char *
s_reparse (const char *json, size_t len, kh_problem_t *why)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    char *text = NULL;
    if (kh_json_to_msgpack (json, len, &buf, why) == 0
    &&  kh_mp_scan (buf.data, buf.size, why) == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        size_t off = 0;
        if (msgpack_unpack_next (&u, buf.data, buf.size, &off) == MSGPACK_UNPACK_SUCCESS)
            text = kh_json_from_object (&u.data);
        msgpack_unpacked_destroy (&u);
    }
    msgpack_sbuffer_destroy (&buf);
    return text;
}

/* Checks that json parses and renders back exactly as expect. */
static void
s_expect_json (const char *name, const char *json, const char *expect)
{
    kh_problem_t why = { 0 };
    char *got = s_reparse (json, strlen (json), &why);
    KH_CHECK (name, got && strcmp (got, expect) == 0, "%s -> %s, expected %s (%s)",
           json, got ? got : "NULL", expect, why.reason);
    free (got);
}

/* Prints size bytes as hex into out (room for 3 * 24 chars), for failure messages. */
static const char *
s_hex (const void *data, size_t size, char out [80])
{
    out [0] = 0;
    for (size_t i = 0; i < size && i < 24; i++)
        snprintf (out + 3 * i, 4, "%02x ", ((const uint8_t *) data) [i]);
    return out;
}

/* Checks that len bytes of json pack to exactly the msgpack bytes expect. */
static void
s_expect_bytes (const char *name, const char *json, size_t len, const char *expect,
                size_t expect_size)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_problem_t why = { 0 };
    int rc = kh_json_to_msgpack (json, len, &out, &why);
    char hex [80];
    KH_CHECK (name, rc == 0 && out.size == expect_size && memcmp (out.data, expect, expect_size) == 0,
           "rc %d (%s), got %zu bytes: %s", rc, why.reason, out.size, s_hex (out.data, out.size, hex));
    msgpack_sbuffer_destroy (&out);
}

/* Checks that len bytes of json are refused as MALFORMED with exactly reason, and
   that what the buffer held before is left as it was. */
static void
s_expect_reject (const char *name, const char *json, size_t len, const char *reason)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    msgpack_sbuffer_write (&out, "\x07", 1);
    kh_problem_t why = { 0 };
    int rc = kh_json_to_msgpack (json, len, &out, &why);
    KH_CHECK (name, rc == -1 && why.code == KH_EMALFORMED && strcmp (why.reason, reason) == 0
           && out.size == 1 && out.data [0] == 7,
           "'%.*s': rc %d code %d reason '%s', expected '%s', buffer %zu bytes",
           (int) len, json, rc, why.code, why.reason, reason, out.size);
    msgpack_sbuffer_destroy (&out);
}

/* Renders the msgpack bytes data as JSON and checks the text. */
static void
s_expect_render (const char *name, const char *data, size_t size, const char *expect)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    char *got = NULL;
    if (msgpack_unpack_next (&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS)
        got = kh_json_from_object (&u.data);
    KH_CHECK (name, got && strcmp (got, expect) == 0, "got %s, expected %s", got ? got : "NULL", expect);
    free (got);
    msgpack_unpacked_destroy (&u);
}

/* ================================================================= parser */

/* A nested document with every kind of value reads back as compact JSON. */
static void
test_parse_values (void)
{
    s_expect_json ("json parses nested object",
                   " {\"a\" : [1, -2, 3.5, true, false, null],\r\n\t\"b\": {\"c\": \"d\", \"e\": {}},"
                   " \"f\": [] } ",
                   "{\"a\":[1,-2,3.5,true,false,null],\"b\":{\"c\":\"d\",\"e\":{}},\"f\":[]}");
    s_expect_json ("json parses a bare scalar", "\"x\"", "\"x\"");
    s_expect_json ("json keeps member order and repeats", "{\"b\":1,\"a\":2,\"b\":3}",
                   "{\"b\":1,\"a\":2,\"b\":3}");
    s_expect_bytes ("json packs a small map exactly", "{\"a\":1}", 7, "\x81\xa1" "a" "\x01", 4);
    s_expect_bytes ("json packs literals", "[true,false,null]", 17, "\x93\xc3\xc2\xc0", 4);
    s_expect_bytes ("json packs empty containers", "[{},[]]", 7, "\x92\x80\x90", 3);

    /* Container and string headers of every width are slid in correctly. */
    char json [140010];
    size_t len = 0;
    json [len++] = '[';
    for (int i = 0; i < 70000; i++) {
        json [len++] = '0';
        json [len++] = ',';
    }
    json [len - 1] = ']';
    char *expect = (char *) calloc (70005, 1);
    memcpy (expect, "\xdd\x00\x01\x11\x70", 5);
    s_expect_bytes ("json packs a long array as array32", json, len, expect, 70005);
    free (expect);
    s_expect_bytes ("json packs 20 elements as array16",
                    "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,[1]]", 43,
                    "\xdc\x00\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x91\x01", 24);
    s_expect_bytes ("json packs 16 members as map16",
                    "{\"a\":0,\"b\":0,\"c\":0,\"d\":0,\"e\":0,\"f\":0,\"g\":0,\"h\":0,"
                    "\"i\":0,\"j\":0,\"k\":0,\"l\":0,\"m\":0,\"n\":0,\"o\":0,\"p\":0}", 97,
                    "\xde\x00\x10\xa1" "a\0\xa1" "b\0\xa1" "c\0\xa1" "d\0\xa1" "e\0\xa1" "f\0"
                    "\xa1" "g\0\xa1" "h\0\xa1" "i\0\xa1" "j\0\xa1" "k\0\xa1" "l\0\xa1" "m\0"
                    "\xa1" "n\0\xa1" "o\0\xa1" "p\0", 51);
    s_expect_bytes ("json packs a 40-byte string as str8",
                    "\"0123456789012345678901234567890123456789\"", 42,
                    "\xd9\x28" "0123456789012345678901234567890123456789", 42);

    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    msgpack_sbuffer_write (&out, "\x01", 1);
    kh_problem_t why = { 0 };
    int rc = kh_json_to_msgpack ("[2]", 3, &out, &why);
    KH_CHECK ("json appends after what the buffer holds",
           rc == 0 && out.size == 3 && memcmp (out.data, "\x01\x91\x02", 3) == 0,
           "rc %d, %zu bytes", rc, out.size);
    msgpack_sbuffer_destroy (&out);
}

/* Integers that fit are integers; everything else is a float64. */
static void
test_parse_numbers (void)
{
    s_expect_bytes ("json packs 0", "0", 1, "\x00", 1);
    s_expect_bytes ("json packs -0 as integer 0", "-0", 2, "\x00", 1);
    s_expect_bytes ("json packs 127 as fixint", "127", 3, "\x7f", 1);
    s_expect_bytes ("json packs -1 as negative fixint", "-1", 2, "\xff", 1);
    s_expect_bytes ("json packs -33 as int8", "-33", 3, "\xd0\xdf", 2);
    s_expect_bytes ("json packs 65536 as uint32", "65536", 5, "\xce\x00\x01\x00\x00", 5);
    s_expect_bytes ("json packs uint64 max as uint64", "18446744073709551615", 20,
                    "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    s_expect_bytes ("json packs int64 min as int64", "-9223372036854775808", 20,
                    "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9);
    s_expect_bytes ("json packs uint64 max + 1 as float64", "18446744073709551616", 20,
                    "\xcb\x43\xf0\x00\x00\x00\x00\x00\x00", 9);
    s_expect_bytes ("json packs int64 min - 1 as float64", "-9223372036854775809", 20,
                    "\xcb\xc3\xe0\x00\x00\x00\x00\x00\x00", 9);
    s_expect_bytes ("json packs 1.5 as float64", "1.5", 3, "\xcb\x3f\xf8\0\0\0\0\0\0", 9);
    s_expect_bytes ("json packs 1e2 as float64", "1e2", 3, "\xcb\x40\x59\0\0\0\0\0\0", 9);
    s_expect_bytes ("json packs 1E+2 as float64", "1E+2", 4, "\xcb\x40\x59\0\0\0\0\0\0", 9);
    s_expect_bytes ("json packs -0.0 as float64", "-0.0", 4, "\xcb\x80\0\0\0\0\0\0\0", 9);
    s_expect_json ("json renders 0.1 with 17 digits", "0.1", "0.10000000000000001");
    s_expect_json ("json renders an integral float without exponent", "1e2", "100");
    s_expect_json ("json renders a big float with exponent", "1E22", "1e+22");
    s_expect_json ("json renders 2^100 with 17 digits", "1267650600228229401496703205376",
                   "1.2676506002282294e+30");
    s_expect_json ("json renders a small float", "-2.5E-3", "-0.0025000000000000001");
    s_expect_json ("json renders a long number", "3.14159265358979323846264338327950288419716939937510"
                   "58209749445923078164062862089986280348253421170679", "3.1415926535897931");
    s_expect_json ("json renders an underflow as 0", "1e-400", "0");
}

/* Strings: escapes, surrogate pairs and raw UTF-8 decode to the same bytes. */
static void
test_parse_strings (void)
{
    const char *expect = "\xa9\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80";
    s_expect_bytes ("json decodes \\u escapes and a surrogate pair",
                    "\"\\u00e4\\u20AC\\ud83d\\uDE00\"", 26, expect, 10);
    s_expect_bytes ("json takes raw UTF-8", "\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\"", 11,
                    expect, 10);
    s_expect_bytes ("json decodes the short escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 18,
                    "\xa8\"\\/\b\f\n\r\t", 9);
    s_expect_bytes ("json decodes \\u0000 to a NUL byte", "\"\\u0000\"", 8, "\xa1\x00", 2);
    s_expect_bytes ("json takes U+10FFFF", "\"\\udbff\\udfff\"", 14, "\xa4\xf4\x8f\xbf\xbf", 5);
    s_expect_bytes ("json takes DEL raw", "\"\x7f\"", 3, "\xa1\x7f", 2);
}

/* Everything RFC 8259 does not allow is refused with the byte where it went wrong. */
static void
test_parse_rejects (void)
{
    s_expect_reject ("json rejects empty input", "", 0,
                     "json: unexpected end of input at byte 0");
    s_expect_reject ("json rejects only white space", " \n ", 3,
                     "json: unexpected end of input at byte 3");
    s_expect_reject ("json rejects trailing garbage", "{} x", 4,
                     "json: trailing characters after the value at byte 3");
    s_expect_reject ("json rejects two values", "1 2", 3,
                     "json: trailing characters after the value at byte 2");
    s_expect_reject ("json rejects an extra bracket", "[1]]", 4,
                     "json: trailing characters after the value at byte 3");
    s_expect_reject ("json rejects a NUL after the value", "1\0", 2,
                     "json: trailing characters after the value at byte 1");
    s_expect_reject ("json rejects a leading zero", "01", 2,
                     "json: trailing characters after the value at byte 1");
    s_expect_reject ("json rejects 1.", "1.", 2, "json: unexpected end of input at byte 2");
    s_expect_reject ("json rejects 1.e5", "1.e5", 4, "json: expected a digit at byte 2");
    s_expect_reject ("json rejects .5", ".5", 2, "json: expected a value at byte 0");
    s_expect_reject ("json rejects a lone minus", "-", 1, "json: unexpected end of input at byte 1");
    s_expect_reject ("json rejects -x", "[-x]", 4, "json: expected a digit at byte 2");
    s_expect_reject ("json rejects 1e+", "1e+", 3, "json: unexpected end of input at byte 3");
    s_expect_reject ("json rejects +1", "+1", 2, "json: expected a value at byte 0");
    s_expect_reject ("json rejects hex numbers", "0x10", 4,
                     "json: trailing characters after the value at byte 1");
    s_expect_reject ("json rejects NaN", "NaN", 3, "json: expected a value at byte 0");
    s_expect_reject ("json rejects Infinity", "[Infinity]", 10, "json: expected a value at byte 1");
    s_expect_reject ("json rejects 1e999", "[1e999]", 7, "json: number out of range at byte 1");
    s_expect_reject ("json rejects -1e999", "-1e999", 6, "json: number out of range at byte 0");
    s_expect_reject ("json rejects a truncated literal", "tru", 3, "json: expected a value at byte 0");
    s_expect_reject ("json rejects a capitalised literal", "True", 4, "json: expected a value at byte 0");
    s_expect_reject ("json rejects a trailing comma in an array", "[1,]", 4,
                     "json: expected a value at byte 3");
    s_expect_reject ("json rejects a trailing comma in an object", "{\"a\":1,}", 8,
                     "json: expected a string as member name at byte 7");
    s_expect_reject ("json rejects a bare member name", "{a:1}", 5,
                     "json: expected a string as member name at byte 1");
    s_expect_reject ("json rejects a number as member name", "{1:1}", 5,
                     "json: expected a string as member name at byte 1");
    s_expect_reject ("json rejects a missing colon", "{\"a\" 1}", 7, "json: expected ':' at byte 5");
    s_expect_reject ("json rejects a missing comma in an array", "[1 2]", 5,
                     "json: expected ',' or ']' at byte 3");
    s_expect_reject ("json rejects a missing comma in an object", "{\"a\":1 \"b\":2}", 13,
                     "json: expected ',' or '}' at byte 7");
    s_expect_reject ("json rejects an unclosed array", "[1,2", 4,
                     "json: unexpected end of input at byte 4");
    s_expect_reject ("json rejects single quotes", "'a'", 3, "json: expected a value at byte 0");
    s_expect_reject ("json rejects an unterminated string", "\"abc", 4,
                     "json: unterminated string at byte 4");
    s_expect_reject ("json rejects a backslash at the end", "\"\\", 2,
                     "json: unterminated string at byte 2");
    s_expect_reject ("json rejects an unknown escape", "\"a\\x\"", 5, "json: invalid escape at byte 2");
    s_expect_reject ("json rejects a short \\u escape", "\"\\u12\"", 6,
                     "json: expected four hex digits after \\u at byte 5");
    s_expect_reject ("json rejects a raw tab in a string", "\"a\tb\"", 5,
                     "json: control character in string at byte 2");
    s_expect_reject ("json rejects a raw newline in a string", "[\"a\nb\"]", 7,
                     "json: control character in string at byte 3");
    s_expect_reject ("json rejects a raw 0x1f in a string", "\"\x1f\"", 3,
                     "json: control character in string at byte 1");
    s_expect_reject ("json rejects a raw NUL in a string", "\"a\0\"", 4,
                     "json: control character in string at byte 2");
    s_expect_reject ("json rejects a byte that is no JSON", "\xff", 1,
                     "json: expected a value at byte 0");
}

/* A surrogate must come as a high-low pair. */
static void
test_parse_surrogates (void)
{
    const char *reason = "json: lone surrogate in \\u escape at byte 1";
    s_expect_reject ("json rejects lone surrogate (high)", "\"\\ud800\"", 8, reason);
    s_expect_reject ("json rejects lone surrogate (low)", "\"\\udc00\"", 8, reason);
    s_expect_reject ("json rejects lone surrogate (reversed pair)", "\"\\udc00\\ud800\"", 14, reason);
    s_expect_reject ("json rejects lone surrogate (two highs)", "\"\\ud800\\ud800\"", 14, reason);
    s_expect_reject ("json rejects lone surrogate (then text)", "\"\\ud800x\"", 9, reason);
    s_expect_reject ("json rejects lone surrogate (then BMP escape)", "\"x\\ud800\\u0041\"", 15,
                     "json: lone surrogate in \\u escape at byte 2");
    s_expect_reject ("json rejects lone surrogate (short partner)", "\"\\ud800\\u00\"", 12,
                     "json: expected four hex digits after \\u at byte 11");
}

/* Strings must be well-formed UTF-8. */
static void
test_parse_utf8 (void)
{
    s_expect_reject ("json rejects invalid utf8 (0xff)", "\"\xff\"", 3,
                     "json: invalid UTF-8 in string at byte 1");
    s_expect_reject ("json rejects invalid utf8 (overlong slash)", "\"\xc0\xaf\"", 4,
                     "json: invalid UTF-8 in string at byte 1");
    s_expect_reject ("json rejects invalid utf8 (overlong 3 bytes)", "\"\xe0\x80\xaf\"", 5,
                     "json: invalid UTF-8 in string at byte 1");
    s_expect_reject ("json rejects invalid utf8 (encoded surrogate)", "\"\xed\xa0\x80\"", 5,
                     "json: invalid UTF-8 in string at byte 1");
    s_expect_reject ("json rejects invalid utf8 (above U+10FFFF)", "\"\xf4\x90\x80\x80\"", 6,
                     "json: invalid UTF-8 in string at byte 1");
    s_expect_reject ("json rejects invalid utf8 (cut short by quote)", "\"ab\xe2\x82\"", 6,
                     "json: invalid UTF-8 in string at byte 3");
    s_expect_reject ("json rejects invalid utf8 (cut short by end)", "\"\xe2\x82", 3,
                     "json: invalid UTF-8 in string at byte 1");
    s_expect_reject ("json rejects invalid utf8 (lone continuation)", "{\"\x80\":1}", 6,
                     "json: invalid UTF-8 in string at byte 2");
}

/* Nesting stops at KH_DEPTH_MAX containers; what passes also passes kh_mp_scan. */
static void
test_parse_depth (void)
{
    char deep [100001];
    memset (deep, '[', sizeof deep);
    char expect [KH_DEPTH_MAX + 1];
    memset (expect, 0x91, KH_DEPTH_MAX);
    expect [KH_DEPTH_MAX] = 0x01;
    char json [64];
    snprintf (json, sizeof json, "%.*s1%.*s", KH_DEPTH_MAX, deep, KH_DEPTH_MAX,
              "]]]]]]]]]]]]]]]]]]]]");
    s_expect_bytes ("json depth limit: KH_DEPTH_MAX arrays pass", json, strlen (json), expect,
                    sizeof expect);
    kh_problem_t why = { 0 };
    char *back = s_reparse (json, strlen (json), &why);
    KH_CHECK ("json depth limit: what passes also passes kh_mp_scan", back != NULL, "%s", why.reason);
    free (back);

    char reason [80];
    snprintf (reason, sizeof reason, "json: nested deeper than %d levels at byte %d",
              KH_DEPTH_MAX, KH_DEPTH_MAX);
    snprintf (json, sizeof json, "%.*s%.*s", KH_DEPTH_MAX + 1, deep, KH_DEPTH_MAX + 1,
              "]]]]]]]]]]]]]]]]]]]]");
    s_expect_reject ("json depth limit: one more empty array fails", json, strlen (json), reason);
    s_expect_reject ("json depth limit: 100001 brackets fail at once", deep, sizeof deep, reason);

    char objects [256] = "";
    for (int i = 0; i <= KH_DEPTH_MAX; i++)
        strcat (objects, "{\"a\":");
    strcat (objects, "1");
    for (int i = 0; i <= KH_DEPTH_MAX; i++)
        strcat (objects, "}");
    snprintf (reason, sizeof reason, "json: nested deeper than %d levels at byte %d",
              KH_DEPTH_MAX, 5 * KH_DEPTH_MAX);
    s_expect_reject ("json depth limit: objects count too", objects, strlen (objects), reason);
    objects [strlen (objects) - 1] = 0;
    s_expect_json ("json depth limit: one level less passes", objects + 5,
                   "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}");
}

/* Mutated documents never crash the parser (the sanitizer builds watch memory);
   a refusal is MALFORMED, and what parses renders to text that parses back to
   the same text. */
static void
test_parse_mutations (void)
{
    const char *orig = "{\"title\": \"Stra\xc3\x9f" "e \\u00e4 \\ud83d\\ude00\", \"n\": [-12, 3.25e-2, "
                       "18446744073709551615, true, null, {\"k\": [[[]]]}], \"s\": \"\\\"\\n\"}";
    const char *alphabet = "{}[]\",:\\u0123456789eE.-+ tfnax\x80\xc3\xff";
    size_t size = strlen (orig), letters = strlen (alphabet);
    char *copy = (char *) malloc (size);
    uint32_t x = 2463534242u;
    int parsed = 0, unstable = 0, odd_refusals = 0;
    char detail [200] = "";
    for (int round = 0; round < 20000; round++) {
        memcpy (copy, orig, size);
        for (int flips = 0; flips < 1 + round % 3; flips++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            copy [x % size] = alphabet [(x >> 8) % letters];
        }
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        size_t cut = round % 4 == 0 ? x % size : size;
        kh_problem_t why = { 0 };
        char *once = s_reparse (copy, cut, &why);
        if (!once && (why.code != KH_EMALFORMED || strncmp (why.reason, "json: ", 6) != 0)) {
            odd_refusals++;
            snprintf (detail, sizeof detail, "%d %.180s", why.code, why.reason);
        }
        char *twice = once ? s_reparse (once, strlen (once), &why) : NULL;
        if (once && (!twice || strcmp (once, twice) != 0)) {
            unstable++;
            snprintf (detail, sizeof detail, "%.90s -> %.90s", once, twice ? twice : why.reason);
        }
        parsed += once != NULL;
        free (once);
        free (twice);
    }
    KH_CHECK ("json mutations are refused as malformed", odd_refusals == 0, "%d, last: %s",
           odd_refusals, detail);
    KH_CHECK ("json rendering of a mutation parses back to itself", unstable == 0, "%d, last: %s",
           unstable, detail);
    KH_CHECK ("json mutations: some parse, most do not", parsed > 100 && parsed < 15000,
           "%d parsed", parsed);
    free (copy);
}

/* ================================================================= writer */

/* Strings are escaped, and bytes that are not UTF-8 never make invalid JSON. */
static void
test_write_strings (void)
{
    s_expect_json ("json escapes quote, backslash and control characters",
                   "\"q\\\"b\\\\s\\n\\u0001\\u001f/\\u007f\\u00e4\"",
                   "\"q\\\"b\\\\s\\u000a\\u0001\\u001f/\x7f\xc3\xa4\"");
    s_expect_json ("json escapes a NUL", "\"a\\u0000b\"", "\"a\\u0000b\"");
    s_expect_render ("json replaces invalid utf8 with \\ufffd", "\xa4" "a\xff" "b\xc3", 5,
                     "\"a\\ufffdb\\ufffd\"");
    s_expect_render ("json replaces each byte of an encoded surrogate", "\xa3\xed\xa0\x80", 4,
                     "\"\\ufffd\\ufffd\\ufffd\"");
    s_expect_render ("json keeps valid 4-byte UTF-8", "\xa4\xf0\x9f\x98\x80", 5,
                     "\"\xf0\x9f\x98\x80\"");
}

/* bin, ext, floats and odd map keys all give valid JSON. */
static void
test_write_kinds (void)
{
    s_expect_render ("json renders bin as lowercase hex", "\xc4\x03\x00\xab\xff", 5, "\"00abff\"");
    s_expect_render ("json renders empty bin as empty string", "\xc4\x00", 2, "\"\"");
    s_expect_render ("json renders a bin of 16 bytes as an id, as the CLI prints ids",
                     "\xc4\x10\x01\x7c\xe4\x2a\x38\x00\x70\x01\x80\x00\x00\x00\x00\x00"
                     "\x00\x2a", 18, "\"017ce42a-3800-7001-8000-00000000002a\"");
    s_expect_render ("json renders ext as null", "\x92\xd4\x01\x02\xc7\x01\x05\xaa", 8, "[null,null]");
    s_expect_render ("json renders float32 with 17 digits", "\xca\x3d\xcc\xcc\xcd", 5,
                     "0.10000000149011612");
    s_expect_render ("json renders negative int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9,
                     "-9223372036854775808");
    s_expect_render ("json renders uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9,
                     "18446744073709551615");

    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 4);
    msgpack_pack_double (&pk, NAN);
    msgpack_pack_double (&pk, INFINITY);
    msgpack_pack_double (&pk, -INFINITY);
    msgpack_pack_double (&pk, 1.0);
    s_expect_render ("json renders NaN and infinities as null", buf.data, buf.size,
                     "[null,null,null,1]");
    msgpack_sbuffer_clear (&buf);

    msgpack_pack_map (&pk, 8);
    msgpack_pack_int (&pk, 1);      msgpack_pack_str_with_body (&pk, "x", 1);
    msgpack_pack_nil (&pk);         msgpack_pack_int (&pk, 1);
    msgpack_pack_true (&pk);        msgpack_pack_int (&pk, 2);
    msgpack_pack_int (&pk, -5);     msgpack_pack_int (&pk, 3);
    msgpack_pack_bin_with_body (&pk, "\xab", 1);  msgpack_pack_int (&pk, 4);
    msgpack_pack_array (&pk, 2);    msgpack_pack_int (&pk, 1);
    msgpack_pack_str_with_body (&pk, "a", 1);     msgpack_pack_int (&pk, 5);
    msgpack_pack_double (&pk, 1.5); msgpack_pack_int (&pk, 6);
    msgpack_pack_str_with_body (&pk, "k\"", 2);   msgpack_pack_int (&pk, 7);
    s_expect_render ("json stringifies map keys that are not strings", buf.data, buf.size,
                     "{\"1\":\"x\",\"null\":1,\"true\":2,\"-5\":3,\"ab\":4,\"[1,\\\"a\\\"]\":5,"
                     "\"1.5\":6,\"k\\\"\":7}");
    msgpack_sbuffer_destroy (&buf);
    KH_CHECK ("json from a NULL object is NULL", kh_json_from_object (NULL) == NULL, "not NULL");
}

/* ================================================================ records */

/* How s_pack_envelope treats its key: as usual, left out, or given a nil value. */
typedef enum { S_PLAIN, S_OMIT, S_NIL } s_twist_t;

/* Packs the test envelope into buf: v 1, a fixed id of id_size bytes, type idea,
   from 05162004, ts 2021-07-14T22:00:00Z and the msgpack body. The key twisted is
   treated as twist says. */
static void
s_pack_envelope (msgpack_sbuffer *buf, const char *twisted, s_twist_t twist, size_t id_size,
                 const msgpack_sbuffer *body)
{
    static const uint8_t id [KH_ID_SIZE] = { 0x01, 0x7c, 0xe4, 0x2a, 0x38, 0x00, 0x70, 0x01,
                                             0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a };
    static const char *keys [] = { "v", "id", "type", "from", "ts", "body" };
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, twist == S_OMIT ? 5 : 6);
    for (int k = 0; k < 6; k++) {
        bool hit = twisted && strcmp (twisted, keys [k]) == 0;
        if (hit && twist == S_OMIT)
            continue;
        msgpack_pack_str_with_body (&pk, keys [k], strlen (keys [k]));
        if (hit && twist == S_NIL)
            msgpack_pack_nil (&pk);
        else
        if (k == 0)
            msgpack_pack_uint64 (&pk, 1);
        else
        if (k == 1)
            msgpack_pack_bin_with_body (&pk, id, id_size);
        else
        if (k == 2)
            msgpack_pack_str_with_body (&pk, "idea", 4);
        else
        if (k == 3)
            msgpack_pack_str_with_body (&pk, "05162004", 8);
        else
        if (k == 4)
            msgpack_pack_uint64 (&pk, 1626300000000ULL);
        else
            msgpack_sbuffer_write (buf, body->data, body->size);
    }
}

/* Renders the test envelope with a body given as JSON; kind 'j' for JSON, 'c' for CSV.
   Returns the malloc'd line or NULL. */
static char *
s_render (char kind, const char *body_json, const char *twisted, s_twist_t twist, size_t id_size)
{
    msgpack_sbuffer body, env;
    msgpack_sbuffer_init (&body);
    msgpack_sbuffer_init (&env);
    kh_problem_t why = { 0 };
    if (kh_json_to_msgpack (body_json, strlen (body_json), &body, &why))
        printf ("test body does not parse: %s\n", why.reason);
    s_pack_envelope (&env, twisted, twist, id_size, &body);
    kh_record_t rec = { { 42, 1626300001234ULL, 40, 41, 0 }, (const uint8_t *) env.data, env.size };
    char *line = kind == 'j' ? kh_record_to_json (&rec) : kh_record_to_csv (&rec);
    msgpack_sbuffer_destroy (&body);
    msgpack_sbuffer_destroy (&env);
    return line;
}

#define S_BODY_JSON "{\"title\": \"Parken, \\\"digital\\\"\", \"hf\": 2, \"keywords\": [\"OZG\", \"Antrag\"]}"
#define S_LINE_HEAD "42,2021-07-14T22:00:01.234Z,017ce42a-3800-7001-8000-00000000002a,idea,05162004," \
                    "2021-07-14T22:00:00.000Z,"

/* A record renders as one JSON line that parses back to itself. */
static void
test_record_json (void)
{
    const char *expect =
        "{\"seq\":42,\"at\":\"2021-07-14T22:00:01.234Z\",\"id\":\"017ce42a-3800-7001-8000-00000000002a\","
        "\"type\":\"idea\",\"from\":\"05162004\",\"ts\":\"2021-07-14T22:00:00.000Z\",\"prev_type\":40,"
        "\"prev_sender\":41,\"prev_pair\":0,\"body\":{\"title\":\"Parken, \\\"digital\\\"\",\"hf\":2,"
        "\"keywords\":[\"OZG\",\"Antrag\"]}}";
    char *line = s_render ('j', S_BODY_JSON, NULL, S_PLAIN, KH_ID_SIZE);
    KH_CHECK ("record renders as JSON", line && strcmp (line, expect) == 0, "%s", line ? line : "NULL");
    kh_problem_t why = { 0 };
    char *back = line ? s_reparse (line, strlen (line), &why) : NULL;
    KH_CHECK ("json round trip of record", back && strcmp (back, expect) == 0, "%s (%s)",
           back ? back : "NULL", why.reason);
    free (back);
    free (line);

    static const char *keys [] = { "v", "id", "type", "from", "ts", "body" };
    for (int k = 0; k < 6; k++) {
        line = s_render ('j', S_BODY_JSON, keys [k], S_OMIT, KH_ID_SIZE);
        KH_CHECK ("record without a piece cannot be rendered", line == NULL, "%s: %s", keys [k], line);
        free (line);
        line = s_render ('c', S_BODY_JSON, keys [k], S_NIL, KH_ID_SIZE);
        KH_CHECK ("record with a wrong-typed piece cannot be rendered", line == NULL, "%s: %s",
               keys [k], line);
        free (line);
    }
    line = s_render ('j', S_BODY_JSON, NULL, S_PLAIN, KH_ID_SIZE - 1);
    KH_CHECK ("record with a 15-byte id cannot be rendered", line == NULL, "%s", line);
    free (line);
    line = s_render ('j', "[1]", NULL, S_PLAIN, KH_ID_SIZE);
    KH_CHECK ("record whose body is a list cannot be rendered", line == NULL, "%s", line);
    free (line);
}

/* Envelopes that are not msgpack, or carry bytes after it, are not rendered. */
static void
test_record_bad_bytes (void)
{
    msgpack_sbuffer body, env;
    msgpack_sbuffer_init (&body);
    msgpack_sbuffer_init (&env);
    kh_json_to_msgpack ("{}", 2, &body, NULL);
    s_pack_envelope (&env, NULL, S_PLAIN, KH_ID_SIZE, &body);
    kh_record_t rec = { { 1, 0, 0, 0, 0 }, (const uint8_t *) env.data, env.size };
    char *line = kh_record_to_csv (&rec);
    KH_CHECK ("record with an empty body renders", line != NULL, "NULL");
    free (line);
    rec.msg_size = env.size - 1;
    KH_CHECK ("truncated record cannot be rendered", kh_record_to_json (&rec) == NULL, "not NULL");
    msgpack_sbuffer_write (&env, "\xc0", 1);
    rec.msg = (const uint8_t *) env.data;
    rec.msg_size = env.size;
    KH_CHECK ("record with a byte after the envelope cannot be rendered",
           kh_record_to_json (&rec) == NULL && kh_record_to_csv (&rec) == NULL, "not NULL");
    rec.msg = (const uint8_t *) "\x01";
    rec.msg_size = 1;
    KH_CHECK ("record whose envelope is not a map cannot be rendered",
           kh_record_to_json (&rec) == NULL, "not NULL");
    rec.msg = NULL;
    KH_CHECK ("record without bytes cannot be rendered", kh_record_to_json (&rec) == NULL
           && kh_record_to_csv (&rec) == NULL, "not NULL");
    KH_CHECK ("NULL record cannot be rendered", kh_record_to_json (NULL) == NULL
           && kh_record_to_csv (NULL) == NULL, "not NULL");
    msgpack_sbuffer_destroy (&body);
    msgpack_sbuffer_destroy (&env);
}

/* CSV lines follow RFC 4180 and the header names their columns. */
static void
test_record_csv (void)
{
    KH_CHECK ("csv header names the columns",
           strcmp (kh_record_csv_header (), "seq,at,id,type,from,ts,title,body") == 0,
           "%s", kh_record_csv_header ());
    char *line = s_render ('c', S_BODY_JSON, NULL, S_PLAIN, KH_ID_SIZE);
    const char *expect = S_LINE_HEAD "\"Parken, \"\"digital\"\"\","
        "\"{\"\"title\"\":\"\"Parken, \\\"\"digital\\\"\"\"\",\"\"hf\"\":2,"
        "\"\"keywords\"\":[\"\"OZG\"\",\"\"Antrag\"\"]}\"";
    KH_CHECK ("csv quotes commas and quotes", line && strcmp (line, expect) == 0, "%s\nexpected %s",
           line ? line : "NULL", expect);
    free (line);

    line = s_render ('c', "{\"title\": \"Parken, digital\"}", NULL, S_PLAIN, KH_ID_SIZE);
    expect = S_LINE_HEAD "\"Parken, digital\",\"{\"\"title\"\":\"\"Parken, digital\"\"}\"";
    KH_CHECK ("csv quotes a field with a comma alone", line && strcmp (line, expect) == 0, "%s",
           line ? line : "NULL");
    free (line);

    line = s_render ('c', "{\"title\": \"a\\rb\"}", NULL, S_PLAIN, KH_ID_SIZE);
    expect = S_LINE_HEAD "\"a\rb\",\"{\"\"title\"\":\"\"a\\u000db\"\"}\"";
    KH_CHECK ("csv quotes a field with a CR alone", line && strcmp (line, expect) == 0, "%s",
           line ? line : "NULL");
    free (line);

    line = s_render ('c', "{\"hf\": 1}", NULL, S_PLAIN, KH_ID_SIZE);
    expect = S_LINE_HEAD ",\"{\"\"hf\"\":1}\"";
    KH_CHECK ("csv title is empty when missing", line && strcmp (line, expect) == 0, "%s",
           line ? line : "NULL");
    free (line);

    line = s_render ('c', "{\"title\": 7}", NULL, S_PLAIN, KH_ID_SIZE);
    expect = S_LINE_HEAD ",\"{\"\"title\"\":7}\"";
    KH_CHECK ("csv title is empty when not a string", line && strcmp (line, expect) == 0, "%s",
           line ? line : "NULL");
    free (line);

    line = s_render ('c', "{\"title\": \"a\\nb\\rc\"}", NULL, S_PLAIN, KH_ID_SIZE);
    expect = S_LINE_HEAD "\"a\nb\rc\",\"{\"\"title\"\":\"\"a\\u000ab\\u000dc\"\"}\"";
    KH_CHECK ("csv quotes line breaks", line && strcmp (line, expect) == 0, "%s", line ? line : "NULL");
    free (line);

    line = s_render ('c', "{\"title\": \"plain\", \"x\": []}", NULL, S_PLAIN, KH_ID_SIZE);
    expect = S_LINE_HEAD "plain,\"{\"\"title\"\":\"\"plain\"\",\"\"x\"\":[]}\"";
    KH_CHECK ("csv leaves plain fields unquoted", line && strcmp (line, expect) == 0, "%s",
           line ? line : "NULL");
    free (line);
}

/* Bytes a CSV line cannot carry become U+FFFD; the JSON column escapes them. */
static void
test_record_csv_bytes (void)
{
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    msgpack_sbuffer body = { 0 };
    body.data = (char *) "\x81\xa5" "title" "\xa3" "a\x00\xff";
    body.size = 11;
    s_pack_envelope (&env, NULL, S_PLAIN, KH_ID_SIZE, &body);
    kh_record_t rec = { { 42, 1626300001234ULL, 40, 41, 0 }, (const uint8_t *) env.data, env.size };
    char *line = kh_record_to_csv (&rec);
    const char *expect = S_LINE_HEAD "a\xef\xbf\xbd\xef\xbf\xbd,"
                         "\"{\"\"title\"\":\"\"a\\u0000\\ufffd\"\"}\"";
    KH_CHECK ("csv replaces NUL and invalid utf8", line && strcmp (line, expect) == 0, "%s",
           line ? line : "NULL");
    free (line);
    msgpack_sbuffer_destroy (&env);
}

/* =================================================================== time */

/* Times format as ISO 8601 UTC with milliseconds; beyond 9999 they stop there. */
static void
test_time_format (void)
{
    static const struct { uint64_t ms; const char *text; } cases [] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1000000000000ULL, "2001-09-09T01:46:40.000Z" },
        { 1626300001234ULL, "2021-07-14T22:00:01.234Z" },
        { 951782400007ULL, "2000-02-29T00:00:00.007Z" },
        { 253402300799999ULL, "9999-12-31T23:59:59.999Z" },
        { 253402300800000ULL, "9999-12-31T23:59:59.999Z" },
        { UINT64_MAX, "9999-12-31T23:59:59.999Z" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char out [25];
        memset (out, 'x', sizeof out);
        kh_time_format (cases [i].ms, out);
        KH_CHECK ("time format", strcmp (out, cases [i].text) == 0, "%llu -> %.25s, expected %s",
               (unsigned long long) cases [i].ms, out, cases [i].text);
    }
}

/* Dates and times parse in the documented forms only, and only when real. */
static void
test_time_parse (void)
{
    static const struct { const char *text; int rc; uint64_t ms; } cases [] = {
        { "1970-01-01", 0, 0 },
        { "2001-09-09T01:46:40Z", 0, 1000000000000ULL },
        { "2001-09-09 01:46:40", 0, 1000000000000ULL },
        { "2001-09-09T01:46", 0, 999999960000ULL },
        { "2001-09-09T01:46Z", 0, 999999960000ULL },
        { "2001-09-09T01:46:40.5", 0, 1000000000500ULL },
        { "2001-09-09T01:46:40.05Z", 0, 1000000000050ULL },
        { "2001-09-09T01:46:40.123Z", 0, 1000000000123ULL },
        { "2000-02-29", 0, 951782400000ULL },
        { "2020-02-29", 0, 1582934400000ULL },
        { "9999-12-31T23:59:59.999", 0, 253402300799999ULL },
        { "2021-02-30", -1, 0 },
        { "2021-02-29", -1, 0 },
        { "1900-02-29", -1, 0 },
        { "2100-02-29", -1, 0 },
        { "2400-02-29", 0, 13574563200000ULL },
        { "2021-04-31", -1, 0 },
        { "2021-13-01", -1, 0 },
        { "2021-00-10", -1, 0 },
        { "2021-01-00", -1, 0 },
        { "1969-12-31", -1, 0 },
        { "2021-01-01T24:00", -1, 0 },
        { "2021-01-01T23:60", -1, 0 },
        { "2021-01-01T23:59:60", -1, 0 },
        { "2021-01-01T23:59:59.1234", -1, 0 },
        { "2021-01-01T23:59:59.", -1, 0 },
        { "2021-01-01T23:59.5", -1, 0 },
        { "2021-01-01T23", -1, 0 },
        { "2021-01-01T", -1, 0 },
        { "2021-01-01Z", -1, 0 },
        { "2021-01-01T10:00ZZ", -1, 0 },
        { "2021-01-01T10:00+01:00", -1, 0 },
        { "2021-1-01", -1, 0 },
        { "21-01-01", -1, 0 },
        { "2021-01-01x", -1, 0 },
        { " 2021-01-01", -1, 0 },
        { "2021/01/01", -1, 0 },
        { "", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        uint64_t ms = 12345;
        int rc = kh_time_parse (cases [i].text, &ms);
        KH_CHECK (cases [i].rc ? "time parse rejects what is not a time" : "time parse",
               rc == cases [i].rc && (rc != 0 || ms == cases [i].ms),
               "'%s': rc %d, %llu", cases [i].text, rc, (unsigned long long) ms);
    }
    uint64_t ms = 0;
    KH_CHECK ("time parse rejects 2021-02-30", kh_time_parse ("2021-02-30", &ms) == -1, "accepted");
    KH_CHECK ("time parse refuses NULL", kh_time_parse (NULL, &ms) == -1
           && kh_time_parse ("2021-01-01", NULL) == -1, "accepted");
    char out [25];
    kh_time_format (1626300001234ULL, out);
    KH_CHECK ("time parse reads what time format writes",
           kh_time_parse (out, &ms) == 0 && ms == 1626300001234ULL, "%s -> %llu", out,
           (unsigned long long) ms);
}

/* kh_json_set_body: a JSON object's members become body fields of a builder. */
static void
test_set_body (void)
{
    kh_builder_t *b = kh_builder_new ("idea");
    kh_problem_t why = { 0 };
    const char *json = "{\"title\": \"Behindertenparkausweis digital\", \"hf\": 2, "
                       "\"keywords\": [\"OZG\", \"Antrag\"]}";
    KH_CHECK ("json sets body fields of a builder",
              kh_json_set_body (b, json, strlen (json), &why) == 0, "%s", why.reason);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    int rc = kh_builder_encode (b, id, "05162004", 1, &why);
    KH_CHECK ("the JSON-built envelope is valid", rc == 0, "%s", why.reason);
    size_t size;
    const void *data = kh_builder_data (b, &size);
    kh_envelope_t env = { 0 };
    rc = data ? kh_envelope_check (data, size, &env, NULL, &why) : -1;
    KH_CHECK ("the JSON title is the envelope's", rc == 0
              && strcmp (env.title, "Behindertenparkausweis digital") == 0, "%s", env.title);
    KH_CHECK ("json with a field the type lacks is refused",
              kh_json_set_body (b, "{\"prio\":1}", 10, &why) != 0
              && why.code == KH_EUNKNOWNFIELD, "code %d", why.code);
    /* libFuzzer's fuzz_json found it: an empty key reached memchr as a NULL pointer. */
    KH_CHECK ("json with an empty key is refused",
              kh_json_set_body (b, "{\"\": 2}", 7, &why) != 0
              && why.code == KH_EUNKNOWNFIELD, "code %d", why.code);
    KH_CHECK ("json that is not an object is refused",
              kh_json_set_body (b, "[1]", 3, &why) != 0 && why.code == KH_EWRONGTYPE,
              "code %d", why.code);
    KH_CHECK ("json that does not parse is refused as malformed",
              kh_json_set_body (b, "{\"title\":", 9, &why) != 0 && why.code == KH_EMALFORMED,
              "code %d", why.code);
    kh_builder_destroy (&b);
}

/* A body from a file saved on Windows: CRLF line ends between the members and CR LF
   in a string; the string keeps its line break as LF, a CR alone stays (and is
   refused when encoded). kh_json_to_msgpack itself keeps every byte. */
static void
test_set_body_crlf (void)
{
    kh_builder_t *b = kh_builder_new ("idea");
    kh_problem_t why = { 0 };
    const char *json = "{\r\n  \"title\": \"Windows\",\r\n  \"description\": "
                       "\"Zeile 1\\r\\nZeile 2\\r\\n\"\r\n}\r\n";
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    int rc = kh_json_set_body (b, json, strlen (json), &why);
    if (rc == 0)
        rc = kh_builder_encode (b, id, "05162004", 1, &why);
    size_t size = 0;
    const void *data = kh_builder_data (b, &size);
    kh_record_t rec = { { 1, 1, 0, 0, 0 }, (const uint8_t *) data, size };
    char *line = rc == 0 ? kh_record_to_json (&rec) : NULL;
    KH_CHECK ("a CR LF in a JSON string becomes LF, and the envelope is valid",
              line && strstr (line, "\"description\":\"Zeile 1\\u000aZeile 2\\u000a\""),
              "rc %d %s: %s", rc, why.reason, line ? line : "");
    free (line);
    const char *lone = "{\"title\": \"x\", \"description\": \"a\\rb\"}";
    rc = kh_json_set_body (b, lone, strlen (lone), &why);
    if (rc == 0)
        rc = kh_builder_encode (b, id, "05162004", 1, &why);
    KH_CHECK ("a CR alone stays and the text is refused", rc != 0 && why.code == KH_EVALUE,
              "rc %d code %d", rc, why.code);
    kh_builder_destroy (&b);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    rc = kh_json_to_msgpack ("\"a\\r\\nb\"", 8, &buf, &why);
    KH_CHECK ("kh_json_to_msgpack keeps a CR LF as it is", rc == 0 && buf.size == 5
              && memcmp (buf.data + 1, "a\r\nb", 4) == 0, "rc %d size %zu", rc, buf.size);
    msgpack_sbuffer_destroy (&buf);
    char text [] = "a\r\nb\rc\r\n\r";
    size_t n = kh_crlf_to_lf (text, strlen (text));
    KH_CHECK ("kh_crlf_to_lf turns each CR LF into LF, in place", n == 7
              && strcmp (text, "a\nb\rc\n\r") == 0, "n %zu '%s'", n, text);
}

/* A revise from JSON: its ref as the id's text, its fields as an object; printed as
   a record, the ref comes back in the same text. */
static void
test_set_revise (void)
{
    kh_builder_t *b = kh_builder_new ("revise");
    kh_problem_t why = { 0 };
    const char *json = "{\"ref\": \"017ce42a-3800-7001-8000-00000000002a\", "
                       "\"fields\": {\"title\": \"Zwilling\", \"hf\": 2}}";
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    int rc = kh_json_set_body (b, json, strlen (json), &why);
    if (rc == 0)
        rc = kh_builder_encode (b, id, "05162004", 1, &why);
    size_t size = 0;
    const void *data = kh_builder_data (b, &size);
    kh_record_t rec = { { 1, 1, 0, 0, 0 }, (const uint8_t *) data, size };
    char *line = rc == 0 ? kh_record_to_json (&rec) : NULL;
    KH_CHECK ("a revise is read from JSON and printed with its ref as given",
              line && strstr (line, "\"body\":{\"ref\":\"017ce42a-3800-7001-8000-00000000002a\","
                                    "\"fields\":{\"title\":\"Zwilling\",\"hf\":2}}"),
              "rc %d %s: %s", rc, why.reason, line ? line : "");
    free (line);
    kh_builder_destroy (&b);
}

int
main (void)
{
    test_parse_values ();
    test_parse_numbers ();
    test_parse_strings ();
    test_parse_rejects ();
    test_parse_surrogates ();
    test_parse_utf8 ();
    test_parse_depth ();
    test_parse_mutations ();
    test_write_strings ();
    test_write_kinds ();
    test_record_json ();
    test_record_bad_bytes ();
    test_set_body_crlf ();
    test_record_csv ();
    test_record_csv_bytes ();
    test_time_format ();
    test_time_parse ();
    test_set_body ();
    test_set_revise ();
    return kh_check_done ("json_test");
}
