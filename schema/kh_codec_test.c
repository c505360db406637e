/*  kh_codec_test.c - the codec's self-test: vectors, bounding, builder, every frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_link.h"
#include "kh_schema.h"

#include "kh_check.h"

/* Reads a whole file into a malloc'd buffer; NULL if it cannot. */
static uint8_t *
s_slurp (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    fseek (file, 0, SEEK_END);
    long len = ftell (file);
    fseek (file, 0, SEEK_SET);
    uint8_t *data = (uint8_t *) malloc (len > 0 ? (size_t) len : 1);
    *size = data && len >= 0 && fread (data, 1, (size_t) len, file) == (size_t) len ? (size_t) len : 0;
    fclose (file);
    return data;
}

/* Opens the list name (MANIFEST, QUERIES) of the vectors' directory; NULL if it
   cannot (a failed check says so). */
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

/* Reads the vector file name into a malloc'd buffer (*size bytes); NULL if it cannot. */
static uint8_t *
s_vector_read (const char *name, size_t *size)
{
    const char *dir = getenv ("KH_VECTORS");
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir ? dir : "schema/vectors", name);
    uint8_t *data = s_slurp (path, size);
    KH_CHECK ("vector file is readable", data, "%s", path);
    return data;
}

/* True if the words after the result in a list's line hold word. */
static bool
s_flag (const char *line, const char *word)
{
    char copy [512];
    snprintf (copy, sizeof copy, "%s", line);
    char *save = NULL;
    for (char *w = strtok_r (copy, " \n", &save); w; w = strtok_r (NULL, " \n", &save))
        if (strcmp (w, word) == 0)
            return true;
    return false;
}

/* Every vector in MANIFEST gives its expected result, and nothing else; an error
   carries the envelope's id exactly when the line says "id". */
static void
test_vectors (void)
{
    char line [512], name [256], expect [64];
    FILE *manifest = s_list_open ("MANIFEST");
    if (!manifest)
        return;
    int count = 0, bad = 0, with_id = 0;
    while (fgets (line, sizeof line, manifest)) {
        if (sscanf (line, "%255s %63s", name, expect) < 2)
            continue;
        /* "store": the envelope is valid; the hub refuses it for what it holds */
        bool by_store = s_flag (line, "store");
        size_t size = 0;
        uint8_t *data = s_vector_read (name, &size);
        kh_problem_t why = { 0 };
        kh_envelope_t env;
        bool has_id = false;
        int rc = kh_envelope_check (data, size, &env, &has_id, &why);
        const char *got = rc == 0 ? "OK" : kh_errname (why.code);
        KH_CHECK ("vector gives its expected result",
               strcmp (got, by_store ? "OK" : expect) == 0,
               "%s: expected %s, got %s (%s)", name, by_store ? "OK" : expect, got,
               rc ? why.reason : "");
        KH_CHECK ("a rejection says why", rc == 0 || strlen (why.reason) > 5, "%s", name);
        KH_CHECK ("an error carries the id exactly when the vector says so",
                  rc == 0 || has_id == s_flag (line, "id"), "%s: has_id %d", name, has_id);
        static const uint8_t tail [5] = { 0x00, 0x00, 0x00, 0x00, 0x2a };
        KH_CHECK ("the id carried is the envelope's",
                  rc == 0 || !has_id || memcmp (env.id + 11, tail, sizeof tail) == 0
                  || memcmp (env.id, (uint8_t [16]) { 0 }, 16) == 0, "%s", name);
        bad += strcmp (expect, "OK") != 0;
        with_id += rc != 0 && has_id;
        count++;
        free (data);
    }
    fclose (manifest);
    KH_CHECK ("there are valid and invalid vectors", count > 100 && bad > 80 && count - bad >= 14
              && with_id > 60, "%d vectors, %d invalid, %d with id", count, bad, with_id);
}

/* Every vector in QUERIES decodes as its line says: ROWS is a query accepted with
   req 7; an error has its code and echoes req 7 exactly when the line says req=7. */
static void
test_query_vectors (void)
{
    char line [512], name [256], expect [64];
    FILE *list = s_list_open ("QUERIES");
    if (!list)
        return;
    int count = 0, bad = 0;
    while (fgets (line, sizeof line, list)) {
        if (sscanf (line, "%255s %63s", name, expect) < 2)
            continue;
        size_t size = 0;
        uint8_t *data = s_vector_read (name, &size);
        kh_problem_t why = { 0 };
        kh_query_t q;
        int rc = kh_query_decode (data, size, &q, &why);
        bool rows = strcmp (expect, "ROWS") == 0;
        const char *got = rc == 0 ? "ROWS" : kh_errname (why.code);
        KH_CHECK ("query vector gives its expected result", strcmp (got, expect) == 0,
                  "%s: expected %s, got %s (%s)", name, expect, got, rc ? why.reason : "");
        KH_CHECK ("a query's req is read, or echoed exactly when the vector says so",
                  q.req == (rows || s_flag (line, "req=7") ? 7 : 0), "%s: req %llu", name,
                  (unsigned long long) q.req);
        bad += !rows;
        count++;
        free (data);
    }
    fclose (list);
    KH_CHECK ("there are valid and invalid query vectors", count > 30 && bad > 20
              && count - bad > 10, "%d vectors, %d invalid", count, bad);
}

/* The scanner's bounds on absurd container sizes, depth and trailing bytes. */
static void
test_scan (void)
{
    kh_problem_t why;
    KH_CHECK ("scan accepts one fixint", kh_mp_scan ("\x01", 1, &why) == 0, "%s", why.reason);
    KH_CHECK ("scan rejects a byte after the object", kh_mp_scan ("\x01\x02", 2, &why) != 0
           && why.code == KH_EMALFORMED, "rc");
    KH_CHECK ("scan rejects an array declaring 2^32-1 elements",
           kh_mp_scan ("\xdd\xff\xff\xff\xff\x01", 6, &why) != 0, "rc");
    KH_CHECK ("scan rejects a str longer than the bytes",
           kh_mp_scan ("\xa5" "abc", 4, &why) != 0, "rc");
    KH_CHECK ("scan rejects a truncated uint64", kh_mp_scan ("\xcf\x00\x01", 3, &why) != 0, "rc");
    KH_CHECK ("scan accepts an empty map", kh_mp_scan ("\x80", 1, &why) == 0, "%s", why.reason);
    KH_CHECK ("scan accepts fixext and ext8",
           kh_mp_scan ("\x92\xd4\x01\x02\xc7\x02\x05\xaa\xbb", 9, &why) == 0, "%s", why.reason);
    uint8_t deep [KH_DEPTH_MAX + 2];
    memset (deep, 0x91, sizeof deep);
    deep [sizeof deep - 1] = 0x01;
    KH_CHECK ("scan accepts KH_DEPTH_MAX levels", kh_mp_scan (deep + 2, sizeof deep - 2, &why) == 0,
           "%s", why.reason);
    KH_CHECK ("scan rejects KH_DEPTH_MAX + 1 levels", kh_mp_scan (deep, sizeof deep, &why) != 0, "rc");
    deep [sizeof deep - 1] = 0x90;      /* found by kreishub-fuzz: an empty innermost array */
    KH_CHECK ("scan counts an empty container as a level",
           kh_mp_scan (deep + 1, sizeof deep - 1, &why) != 0 && why.code == KH_EMALFORMED, "accepted");
    KH_CHECK ("scan accepts an empty container at KH_DEPTH_MAX levels",
           kh_mp_scan (deep + 2, sizeof deep - 2, &why) == 0, "%s", why.reason);
}

/* Mutated vectors never crash the validator (the sanitizer builds watch memory). */
static void
test_mutations (void)
{
    const char *dir = getenv ("KH_VECTORS");
    char path [1024];
    snprintf (path, sizeof path, "%s/ok_idea_full.mp", dir ? dir : "schema/vectors");
    size_t size = 0;
    uint8_t *orig = s_slurp (path, &size);
    KH_CHECK ("full idea vector is readable", orig && size > 0, "%s", path);
    if (!orig)
        return;
    uint8_t *copy = (uint8_t *) malloc (size);
    uint32_t x = 2463534242u;
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy (copy, orig, size);
        for (int flips = 0; flips < 1 + round % 4; flips++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            copy [x % size] = (uint8_t) (x >> 8);
        }
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        size_t cut = round % 3 == 0 ? x % size : size;
        kh_problem_t why;
        accepted += kh_envelope_check (copy, cut, NULL, NULL, &why) == 0;
    }
    KH_CHECK ("most mutations are rejected", accepted < 20000, "%d accepted", accepted);
    free (copy);
    free (orig);
}

/* The tree's one reader of whole numbers in text: digits only, up to max. */
static void
test_uint_parse (void)
{
    uint64_t value = 7;
    KH_CHECK ("a decimal number up to max is read",
              kh_uint_parse ("1000", 1000, &value) == 0 && value == 1000, "value %llu",
              (unsigned long long) value);
    KH_CHECK ("leading zeros are fine, and zero is a number",
              kh_uint_parse ("007", 10, &value) == 0 && value == 7
              && kh_uint_parse ("0", 0, &value) == 0 && value == 0, "value %llu",
              (unsigned long long) value);
    KH_CHECK ("the largest 64-bit number is read",
              kh_uint_parse ("18446744073709551615", UINT64_MAX, &value) == 0
              && value == UINT64_MAX, "value %llu", (unsigned long long) value);
    KH_CHECK ("a number just below a max that is no power of ten is read",
              kh_uint_parse ("18446744073709551614", UINT64_MAX - 1, &value) == 0
              && value == UINT64_MAX - 1, "value %llu", (unsigned long long) value);
    static const struct {
        const char *text;
        uint64_t    max;
    } bad [] = {
        { "", 10 }, { " 5", 10 }, { "5 ", 10 }, { "+5", 10 }, { "-5", 10 }, { " -5", 10 },
        { "-0", 10 }, { "0x10", 100 }, { "1e3", 10000 }, { "5x", 10 }, { "zwei", 10 },
        { "11", 10 }, { "10", 9 }, { "1", 0 },
        { "18446744073709551615", UINT64_MAX - 1 },
        { "18446744073709551616", UINT64_MAX }, { "99999999999999999999", UINT64_MAX },
        { "184467440737095516150", UINT64_MAX }
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        value = 7;
        KH_CHECK ("a sign, a blank, anything but digits, nothing, or a number above max "
                  "is refused, the value untouched",
                  kh_uint_parse (bad [i].text, bad [i].max, &value) == -1 && value == 7,
                  "'%s' (max %llu) read as %llu", bad [i].text,
                  (unsigned long long) bad [i].max, (unsigned long long) value);
    }
}

/* Builds an idea from text fields and checks what the hub reads back. */
static void
test_builder (void)
{
    kh_problem_t why;
    KH_CHECK ("builder refuses an unknown type", kh_builder_new ("poll") == NULL, "not NULL");
    kh_builder_t *b = kh_builder_new ("idea");
    KH_CHECK ("builder sets a title", kh_builder_set (b, "title", "Open-Data-Portal", &why) == 0,
           "%s", why.reason);
    KH_CHECK ("builder parses hf as a number", kh_builder_set (b, "hf", "2", &why) == 0, "%s", why.reason);
    KH_CHECK ("builder rejects hf that is not a number",
           kh_builder_set (b, "hf", "zwei", &why) != 0 && why.code == KH_EWRONGTYPE, "rc");
    const char *not_whole [] = { " 2", "2 ", "+2", "-5", " -5", "", "0x2", NULL };
    for (int i = 0; not_whole [i]; i++)
        KH_CHECK ("builder rejects hf with a sign or a blank, or empty, as it rejects 'zwei'",
               kh_builder_set (b, "hf", not_whole [i], &why) != 0
               && why.code == KH_EWRONGTYPE, "'%s' accepted", not_whole [i]);
    KH_CHECK ("builder hf set again", kh_builder_set (b, "hf", "2", &why) == 0, "%s", why.reason);
    KH_CHECK ("builder rejects an unknown field",
           kh_builder_set (b, "titel", "x", &why) != 0 && why.code == KH_EUNKNOWNFIELD, "rc");
    KH_CHECK ("builder splits a list", kh_builder_set (b, "participants", " 05162004 ,05162028,", &why) == 0,
           "%s", why.reason);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    int rc = kh_builder_pack (b, id, "05162004", 1700000000000ULL, &out, &why);
    KH_CHECK ("builder encodes a valid envelope", rc == 0, "%s", why.reason);
    kh_envelope_t env;
    rc = kh_envelope_check (out.data, out.size, &env, NULL, &why);
    KH_CHECK ("built envelope reads back", rc == 0 && strcmp (env.title, "Open-Data-Portal") == 0
           && strcmp (env.type, "idea") == 0 && strcmp (env.from, "05162004") == 0
           && env.ts == 1700000000000ULL && memcmp (env.id, id, KH_ID_SIZE) == 0,
           "rc %d title '%s'", rc, env.title);
    msgpack_sbuffer_clear (&out);
    KH_CHECK ("builder validates on encode: bad sender",
           kh_builder_pack (b, id, "5162", 1, &out, &why) != 0 && why.code == KH_EVALUE, "code %d", why.code);
    kh_builder_set (b, "participants", "05162004,05162004", &why);
    msgpack_sbuffer_clear (&out);
    KH_CHECK ("builder validates on encode: repeated participant",
           kh_builder_pack (b, id, "05162004", 1, &out, &why) != 0 && why.code == KH_EVALUE,
           "code %d", why.code);
    /* A field given as one msgpack object, as the CLI's JSON input arrives. */
    static const char title_mp [] = "\xbe" "Behindertenparkausweis digital";
    KH_CHECK ("builder takes a field as msgpack",
           kh_builder_set_msgpack (b, "title", 5, title_mp, sizeof title_mp - 1, &why) == 0,
           "%s", why.reason);
    kh_builder_set (b, "participants", "05162004", &why);
    KH_CHECK ("builder encodes into itself", kh_builder_encode (b, id, "05162004", 1, &why) == 0,
           "%s", why.reason);
    size_t size = 0;
    const void *data = kh_builder_data (b, &size);
    rc = data ? kh_envelope_check (data, size, &env, NULL, &why) : -1;
    KH_CHECK ("the msgpack title is in the envelope",
           rc == 0 && strcmp (env.title, "Behindertenparkausweis digital") == 0, "%s", env.title);
    KH_CHECK ("a msgpack field the type lacks is refused",
           kh_builder_set_msgpack (b, "prio", 4, "\x01", 1, &why) != 0
           && why.code == KH_EUNKNOWNFIELD, "code %d", why.code);
    KH_CHECK ("a msgpack field of two objects is refused",
           kh_builder_set_msgpack (b, "title", 5, "\xa1x\xa1y", 4, &why) != 0
           && why.code == KH_EMALFORMED, "code %d", why.code);
    KH_CHECK ("a failed encode leaves no bytes",
           kh_builder_encode (b, id, "5162", 1, &why) != 0
           && kh_builder_data (b, &size) == NULL && size == 0, "size %zu", size);
    msgpack_sbuffer_destroy (&out);
    kh_builder_destroy (&b);
    KH_CHECK ("destroy nulls the pointer", b == NULL, "not NULL");
    kh_builder_destroy (&b);
}

/* Builds a message of type from the pairs in fields (field, text, ..., NULL), as
   05162 (a Kreis: every type) at ts 1; checks it and returns kh_envelope_check's
   result, with env and why filled. */
static int
s_build_check (const char *type, const char *const *fields, kh_envelope_t *env,
               kh_problem_t *why)
{
    kh_builder_t *b = kh_builder_new (type);
    int rc = b ? 0 : -1;
    for (const char *const *f = fields; rc == 0 && *f; f += 2)
        rc = kh_builder_set (b, f [0], f [1], why);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    size_t size = 0;
    if (rc == 0)
        rc = kh_builder_encode (b, id, "05162", 1, why);
    const void *data = kh_builder_data (b, &size);
    if (rc == 0)
        rc = kh_envelope_check (data, size, env, NULL, why);
    kh_builder_destroy (&b);
    return rc;
}

/* The builder's text forms of a ref and of a revise's fields, and what the hub
   reads of a message about an item. */
static void
test_builder_items (void)
{
    static const uint8_t item [KH_ID_SIZE] = { 0x01, 0x7c, 0xe4, 0x2a, 0x38, 0x00, 0x70, 0x01,
                                               0x80, 0, 0, 0, 0, 0, 0, 0x2a };
    kh_envelope_t env;
    kh_problem_t why = { 0 };
    int rc = s_build_check ("interest", (const char *const []) {
        "ref", "017ce42a-3800-7001-8000-00000000002a", "action", "join", NULL }, &env, &why);
    KH_CHECK ("a ref is given as the id's text and read back as the item's id",
              rc == 0 && env.has_ref && memcmp (env.ref, item, KH_ID_SIZE) == 0
              && env.title [0] == 0, "rc %d: %s", rc, why.reason);
    rc = s_build_check ("comment", (const char *const []) {
        "ref", "017ce42a38007001800000000000002a", "text", "a\n\tb", NULL }, &env, &why);
    KH_CHECK ("a ref of 32 hex digits is an id too; a comment may hold LF and TAB",
              rc == 0 && env.has_ref && memcmp (env.ref, item, KH_ID_SIZE) == 0,
              "rc %d: %s", rc, why.reason);
    rc = s_build_check ("idea", (const char *const []) { "title", "t", NULL }, &env, &why);
    KH_CHECK ("an item names no ref", rc == 0 && !env.has_ref, "rc %d", rc);
    kh_builder_t *b = kh_builder_new ("revise");
    KH_CHECK ("a ref that is no id is refused as not a bin",
              kh_builder_set (b, "ref", "017ce42a-3800", &why) == -1
              && why.code == KH_EWRONGTYPE && strstr (why.reason, "not an id"),
              "code %d: %s", why.code, why.reason);
    KH_CHECK ("a revise's fields are not given as one text",
              kh_builder_set (b, "fields", "title=x", &why) == -1 && why.code == KH_EWRONGTYPE
              && strstr (why.reason, "fields.NAME"), "code %d: %s", why.code, why.reason);
    KH_CHECK ("fields.NAME must name an item field",
              kh_builder_set (b, "fields.colour", "red", &why) == -1
              && why.code == KH_EUNKNOWNFIELD, "code %d", why.code);
    KH_CHECK ("only a fields map takes NAME.FIELD",
              kh_builder_set (b, "text.title", "x", &why) == -1
              && why.code == KH_EUNKNOWNFIELD, "code %d", why.code);
    kh_builder_destroy (&b);
    rc = s_build_check ("revise", (const char *const []) {
        "ref", "017ce42a-3800-7001-8000-00000000002a", "fields.title", "Neu",
        "fields.hf", "3", "fields.keywords", "a, b", "fields.title", "Neuer", NULL },
        &env, &why);
    KH_CHECK ("a revise's fields are set one by one, each by its item field's kind",
              rc == 0 && env.has_ref, "rc %d: %s", rc, why.reason);
    rc = s_build_check ("revise", (const char *const []) {
        "ref", "017ce42a-3800-7001-8000-00000000002a", "fields.hf", "9", NULL }, &env, &why);
    KH_CHECK ("a revised field is checked as its item field",
              rc == -1 && why.code == KH_ERANGE && strstr (why.reason, "body.fields.hf"),
              "rc %d: %s", rc, why.reason);
    rc = s_build_check ("announcement", (const char *const []) { "title", "Kurs", NULL },
                        &env, &why);
    KH_CHECK ("the Kreis sends an announcement", rc == 0, "%s", why.reason);

    /* as JSON arrives: msgpack objects, a ref as a str holding the id's text */
    b = kh_builder_new ("revise");
    static const char ref_mp [] = "\xd9\x24" "017ce42a-3800-7001-8000-00000000002a";
    rc = kh_builder_set_msgpack (b, "ref", 3, ref_mp, sizeof ref_mp - 1, &why);
    kh_builder_set (b, "fields.title", "dropped", &why);
    rc |= kh_builder_set_msgpack (b, "fields", 6, "\x81\xa2hf\x02", 5, &why);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    size_t size = 0;
    if (rc == 0)
        rc = kh_builder_encode (b, id, "05162004", 1, &why);
    const uint8_t *data = (const uint8_t *) kh_builder_data (b, &size);
    rc = rc == 0 ? kh_envelope_check (data, size, &env, NULL, &why) : rc;
    KH_CHECK ("a msgpack str holding an id becomes the ref; a fields map set whole "
              "replaces the fields set one by one",
              rc == 0 && memcmp (env.ref, item, KH_ID_SIZE) == 0
              && !memmem (data, size, "dropped", 7) && memmem (data, size, "\xa2hf\x02", 4),
              "rc %d: %s", rc, why.reason);
    KH_CHECK ("a msgpack str that is no id stays a str, refused as the ref",
              kh_builder_set_msgpack (b, "ref", 3, "\xa1x", 2, &why) == 0
              && kh_builder_encode (b, id, "05162004", 1, &why) == -1
              && why.code == KH_EWRONGTYPE, "code %d", why.code);
    kh_builder_destroy (&b);
}

/* Texts are counted in characters and hold no control characters (but LF and TAB
   in a multi-line text); an announcement comes from a Kreis only. */
static void
test_texts (void)
{
    static const struct {
        const char *title;
        int         code;
    } cases [] = {
        { "\xc2\xa0non-breaking space", 0 },  /* U+00A0: after C1, no control */
        { "\xc2\x9f", KH_EVALUE },             /* U+009F: the last C1 character */
        { "\xc2\x80", KH_EVALUE },             /* U+0080: the first */
        { "\x1f", KH_EVALUE }, { " ", 0 }, { "~\x7f", KH_EVALUE },
        { "\xe2\x80\xa8", 0 },                /* U+2028 line separator: no control */
        { "a\xcc\x88", 0 },                    /* a + combining diaeresis: 2 characters */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        kh_envelope_t env;
        kh_problem_t why = { 0 };
        int rc = s_build_check ("idea", (const char *const []) {
            "title", cases [i].title, NULL }, &env, &why);
        KH_CHECK ("a title's control characters are C0, DEL and C1, and nothing else",
                  cases [i].code ? rc == -1 && why.code == cases [i].code : rc == 0,
                  "case %zu: rc %d %s", i, rc, why.reason);
    }
    /* 199 umlauts and a + U+0308: 201 characters, though 200 letters to the eye */
    char title [512] = "";
    for (int i = 0; i < 199; i++)
        strcat (title, "\xc3\xa4");
    strcat (title, "a\xcc\x88");
    kh_envelope_t env;
    kh_problem_t why = { 0 };
    int rc = s_build_check ("idea", (const char *const []) { "title", title, NULL }, &env,
                            &why);
    KH_CHECK ("characters are code points as they stand, not normalised",
              rc == -1 && why.code == KH_ERANGE && strstr (why.reason, "201 characters"),
              "rc %d %s", rc, why.reason);
    title [strlen (title) - 2] = 0;
    rc = s_build_check ("idea", (const char *const []) { "title", title, NULL }, &env, &why);
    KH_CHECK ("a title of 200 characters of 2 bytes is read whole",
              rc == 0 && strlen (env.title) == 399 && strcmp (env.title, title) == 0,
              "rc %d, %zu bytes", rc, strlen (env.title));
    kh_builder_t *b = kh_builder_new ("announcement");
    kh_builder_set (b, "title", "Kurs", &why);
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    KH_CHECK ("an announcement from a municipality is FORBIDDEN by the envelope's check",
              kh_builder_encode (b, id, "05162004", 1, &why) == -1
              && why.code == KH_EFORBIDDEN, "code %d %s", why.code, why.reason);
    kh_builder_destroy (&b);
}

/* The schema: item types, and one item field per name, of the same kind in every
   item type that has it (a revise's fields are checked by that kind). */
static void
test_schema (void)
{
    int items = 0;
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        const char *name = kh_schema_type_name (t);
        const kh_msgtype_t *type = kh__schema_type (name, strlen (name));
        items += kh_schema_type_item (name);
        KH_CHECK ("an item has a title, a message about one a ref",
                  type->item ? kh__schema_field (type, "title", 5) == 0
                             : kh__schema_field (type, "ref", 3) == 0, "%s", name);
        for (size_t i = 0; type->item && i < type->count; i++) {
            const kh_field_t *f = &type->fields [i];
            int at = kh__schema_item_field (f->name, strlen (f->name));
            const kh_field_t *g = at >= 0 ? kh__schema_item_field_at ((size_t) at) : NULL;
            KH_CHECK ("every item field is among the item fields, the same",
                      g && g->kind == f->kind && g->min == f->min && g->max == f->max
                      && g->item_max == f->item_max && g->values == f->values,
                      "%s.%s", name, f->name);
        }
    }
    KH_CHECK ("there are four item types", items == 4, "%d", items);
    KH_CHECK ("a comment is no item, an announcement is",
              !kh_schema_type_item ("comment") && kh_schema_type_item ("announcement")
              && !kh_schema_type_item ("poll") && !kh_schema_type_item (NULL), "wrong");
}

/* Records, ROWS paging metadata, and that decoded views point into the input. */
static void
test_records (void)
{
    kh_problem_t why;
    const uint8_t msg [] = { 0x81, 0xa1, 0x76, 0x01 };
    kh_record_t rec = { { 7, 1700000000123ULL, 5, 3, 0 }, msg, sizeof msg }, back;
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_record_encode (&out, &rec);
    int rc = kh_record_decode (out.data, out.size, &back, &why);
    KH_CHECK ("record round trip", rc == 0 && back.info.seq == 7 && back.info.at == 1700000000123ULL
           && back.info.prev_type == 5 && back.info.prev_sender == 3 && back.info.prev_pair == 0
           && back.msg_size == sizeof msg && memcmp (back.msg, msg, sizeof msg) == 0, "rc %d", rc);
    KH_CHECK ("record msg points into the input bytes",
           (const char *) back.msg >= out.data && (const char *) back.msg < out.data + out.size, "copied");
    msgpack_sbuffer_clear (&out);

    kh_rows_writer_t *w = kh_rows_writer_new (42);
    for (uint64_t s = 1; s <= 3; s++) {
        rec.info.seq = s;
        kh_rows_writer_add (w, &rec);
    }
    KH_CHECK ("rows writer counts", kh_rows_writer_count (w) == 3 && kh_rows_writer_bytes (w) > 3 * sizeof msg,
           "%u", kh_rows_writer_count (w));
    kh_rows_writer_finish (w, true, 4, &out);
    kh_rows_writer_destroy (&w);
    kh_rows_t rows;
    rc = kh_rows_decode (out.data, out.size, &rows, &why);
    KH_CHECK ("rows round trip", rc == 0 && rows.req == 42 && rows.more && rows.next == 4
           && rows.count == 3 && rows.rows [2].info.seq == 3 && rows.rows [0].msg_size == sizeof msg,
           "rc %d count %u", rc, rows.count);
    kh_rows_release (&rows);
    msgpack_sbuffer_clear (&out);
    w = kh_rows_writer_new (9);
    kh_rows_writer_finish (w, false, 0, &out);
    kh_rows_writer_destroy (&w);
    rc = kh_rows_decode (out.data, out.size, &rows, &why);
    KH_CHECK ("empty rows page", rc == 0 && rows.count == 0 && !rows.more && rows.req == 9, "rc %d", rc);
    kh_rows_release (&rows);
    KH_CHECK ("rows decode rejects a record without seq",
           kh_rows_decode ("\x81\xa4rows\x91\x81\xa3msg\xc4\x00", 13, &rows, &why) != 0, "accepted");
    msgpack_sbuffer_destroy (&out);
}

/* A page sealed in place is byte for byte the page kh_rows_writer_finish appends,
   however large its req, next and count, and with room reserved or not. */
static void
test_rows_seal (void)
{
    const uint8_t msg [] = { 0x81, 0xa1, 0x76, 0x01 };
    uint32_t counts [] = { 0, 1, 3, 70000 };
    uint64_t big = UINT64_MAX;
    for (size_t c = 0; c < sizeof counts / sizeof counts [0]; c++)
    for (int reserve = 0; reserve < 2; reserve++) {
        uint64_t req = c % 2 ? big : 7, next = c % 2 ? 1 : big;
        kh_rows_writer_t *w = kh_rows_writer_new (req);
        if (reserve)
            kh_rows_writer_reserve (w, (size_t) counts [c] * 40);
        for (uint32_t i = 0; i < counts [c]; i++) {
            kh_record_t rec = { { i + 1, 1700000000123ULL, i, 0, 0 }, msg, sizeof msg };
            kh_rows_writer_add (w, &rec);
        }
        msgpack_sbuffer out;
        msgpack_sbuffer_init (&out);
        kh_rows_writer_finish (w, c == 2, next, &out);
        size_t size = 0;
        void *block = NULL;
        const void *sealed = kh_rows_writer_seal (w, c == 2, next, &size, &block);
        kh_rows_writer_destroy (&w);
        KH_CHECK ("a sealed page is the page finish appends", sealed && size == out.size
               && memcmp (sealed, out.data, size) == 0
               && (const char *) sealed >= (const char *) block,
               "%u rows, reserve %d: %zu bytes, wanted %zu", counts [c], reserve, size,
               out.size);
        free (block);
        msgpack_sbuffer_destroy (&out);
    }
}

/* Every reply and link frame survives a round trip; bad ones are refused. */
static void
test_replies (void)
{
    kh_problem_t why;
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    uint8_t id [KH_ID_SIZE], back [KH_ID_SIZE];
    kh_id_new (id);
    uint64_t seq = 0, head = 0, at = 0;
    bool dup = false, recorder = false;
    kh_ack_encode (&out, id, 99, true);
    KH_CHECK ("ack round trip", kh_ack_decode (out.data, out.size, back, &seq, &dup, &why) == 0
           && seq == 99 && dup && memcmp (id, back, KH_ID_SIZE) == 0, "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    kh_error_encode (&out, id, 0, KH_EMISSING, "body.title: required field missing");
    kh_error_reply_t err;
    KH_CHECK ("error round trip", kh_error_decode (out.data, out.size, &err, &why) == 0
           && err.has_id && err.code == KH_EMISSING && strcmp (err.name, "MISSING") == 0
           && strstr (err.reason, "body.title"), "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    kh_error_encode (&out, NULL, 5, KH_EQUERY, "bad \xff reason");
    KH_CHECK ("error without id, invalid UTF-8 reason replaced",
           kh_error_decode (out.data, out.size, &err, &why) == 0 && !err.has_id && err.req == 5
           && strcmp (err.reason, kh_strerror (KH_EQUERY)) == 0, "%s", err.reason);
    msgpack_sbuffer_clear (&out);
    kh_pong_encode (&out, 12, true);
    KH_CHECK ("pong round trip", kh_pong_decode (out.data, out.size, &head, &recorder, &why) == 0
           && head == 12 && recorder, "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    kh_beat_encode (&out, 13, 14);
    KH_CHECK ("beat round trip", kh_beat_decode (out.data, out.size, &head, &at, &why) == 0
           && head == 13 && at == 14, "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    kh_hello_encode (&out, 15);
    KH_CHECK ("hello round trip", kh_hello_decode (out.data, out.size, &head, &why) == 0 && head == 15,
           "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    kh_seqinfo_t info = { 3, 4, 1, 2, 0 }, info2;
    kh_stored_encode (&out, &info, false);
    KH_CHECK ("stored round trip", kh_stored_decode (out.data, out.size, &info2, &dup, &why) == 0
           && memcmp (&info, &info2, sizeof info) == 0 && !dup, "%s", why.reason);
    KH_CHECK ("ack decode refuses garbage", kh_ack_decode ("\xc1", 1, back, &seq, &dup, &why) != 0, "ok");
    msgpack_sbuffer_destroy (&out);
}

/* Queries: round trip, strictness, limit clamping. */
static void
test_queries (void)
{
    kh_problem_t why;
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_query_t q, back;
    memset (&q, 0, sizeof q);           /* padding too: the round trip compares bytes */
    q.req = 1;
    q.since_seq = 10;
    q.until_seq = 20;
    q.since_at = 5;
    q.until_at = 6;
    strcpy (q.type [0], "offer");
    strcpy (q.type [1], "idea");
    q.type_count = 2;
    strcpy (q.from [0], "05162");
    strcpy (q.from [1], "0516201*");
    q.from_count = 2;
    q.since_ts = 7;
    q.until_ts = 8;
    q.has_ref = true;
    memset (q.ref, 0xab, sizeof q.ref);
    strcpy (q.search, "Digitaler Zwilling");
    q.limit = 50;
    kh_query_encode (&out, &q);
    KH_CHECK ("query round trip", kh_query_decode (out.data, out.size, &back, &why) == 0
           && memcmp (&q, &back, sizeof q) == 0, "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    q.limit = 0;
    q.type_count = 0;
    memset (q.type, 0, sizeof q.type);
    kh_query_encode (&out, &q);
    KH_CHECK ("query limit 0 means a full page", kh_query_decode (out.data, out.size, &back, &why) == 0
           && back.limit == KH_QUERY_PAGE_MAX && back.type_count == 0, "%u", back.limit);
    KH_CHECK ("query with unknown key refused",
           kh_query_decode ("\x82\xa3req\x01\xa1x\x01", 9, &back, &why) != 0 && why.code == KH_EQUERY
           && back.req == 1, "req %llu", (unsigned long long) back.req);
    KH_CHECK ("query with unknown type refused",
           kh_query_decode ("\x82\xa3req\x01\xa4type\xa4poll", 16, &back, &why) != 0
           && why.code == KH_EQUERY, "ok");
    KH_CHECK ("query without req refused", kh_query_decode ("\x80", 1, &back, &why) != 0, "ok");
    KH_CHECK ("query that is not msgpack is MALFORMED, as an envelope",
           kh_query_decode ("\xc1", 1, &back, &why) != 0 && why.code == KH_EMALFORMED,
           "code %d", why.code);
    KH_CHECK ("query with a key given twice refused, its req echoed",
           kh_query_decode ("\x83\xa3req\x05\xa5limit\x01\xa5limit\x02", 20, &back, &why) != 0
           && why.code == KH_EQUERY && back.req == 5, "code %d req %llu", why.code,
           (unsigned long long) back.req);
    KH_CHECK ("query with req given twice refused, no req echoed",
           kh_query_decode ("\x82\xa3req\x05\xa3req\x05", 11, &back, &why) != 0
           && why.code == KH_EQUERY && back.req == 0, "code %d req %llu", why.code,
           (unsigned long long) back.req);
    uint8_t *large = (uint8_t *) calloc (1, KH_ENVELOPE_MAX + 1);
    KH_CHECK ("query over 64 KiB is TOO_LARGE before it is read",
           large && kh_query_decode (large, KH_ENVELOPE_MAX + 1, &back, &why) != 0
           && why.code == KH_ETOOLARGE, "code %d", why.code);
    free (large);
    msgpack_sbuffer_destroy (&out);
}

/* Audit records: round trip (as a frame and as rows of a page), bounds on the texts,
   and the from a refused envelope claimed. */
static void
test_audit_records (void)
{
    kh_problem_t why;
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_audit_t rec, back;
    memset (&rec, 0, sizeof rec);       /* padding too: the round trip compares bytes */
    rec.seq = 7;
    rec.at = 1700000000123ULL;
    rec.code = KH_ESENDER;
    rec.size = 321;
    strcpy (rec.endpoint, "client");
    strcpy (rec.command, "PUBLISH");
    strcpy (rec.peer, "127.0.0.1");
    strcpy (rec.claimed, "05162008");
    strcpy (rec.ags, "05162012");
    strcpy (rec.role, "municipality");
    memset (rec.key, 'k', KH_AUDIT_KEY_MAX - 1);
    strcpy (rec.reason, "from: 05162008 is not the AGS of your certificate (05162012)");
    kh_audit_encode (&out, &rec);
    KH_CHECK ("audit record round trip", kh_audit_decode (out.data, out.size, &back, &why) == 0
              && memcmp (&rec, &back, sizeof rec) == 0, "%s", why.reason);
    kh_rows_writer_t *writer = kh_rows_writer_new (9);
    kh_rows_writer_add_audit (writer, &rec);
    rec.seq = 8;
    memset (rec.reason, 0, sizeof rec.reason);
    kh_rows_writer_add_audit (writer, &rec);
    msgpack_sbuffer_clear (&out);
    kh_rows_writer_finish (writer, true, 9, &out);
    kh_rows_writer_destroy (&writer);
    kh_audit_rows_t rows;
    int rc = kh_audit_rows_decode (out.data, out.size, &rows, &why);
    KH_CHECK ("audit rows round trip", rc == 0 && rows.req == 9 && rows.more && rows.next == 9
              && rows.count == 2 && memcmp (&rows.rows [1], &rec, sizeof rec) == 0
              && rows.rows [0].seq == 7 && rows.rows [0].reason [0], "%s", why.reason);
    kh_audit_rows_release (&rows);
    KH_CHECK ("audit rows released twice is harmless", rows.rows == NULL && rows.count == 0,
              "%u", rows.count);
    static const char at_only [] = "\x81\xa2" "at\x01";
    KH_CHECK ("an audit record without a code is refused",
              kh_audit_decode (at_only, sizeof at_only - 1, &back, &why) && why.code == KH_EMISSING,
              "code %d", why.code);
    static const char long_role [] = "\x83\xa2" "at\x01\xa4" "code\x01\xa4role\xb0"
                                     "0123456789abcdef";
    KH_CHECK ("an audit text longer than its field is refused",
              kh_audit_decode (long_role, sizeof long_role - 1, &back, &why)
              && why.code == KH_ERANGE, "code %d", why.code);
    static const char bad_utf8 [] = "\x83\xa2" "at\x01\xa4" "code\x01\xa4role\xa2\xc3\x28";
    KH_CHECK ("an audit text that is not UTF-8 is refused",
              kh_audit_decode (bad_utf8, sizeof bad_utf8 - 1, &back, &why)
              && why.code == KH_EUTF8, "code %d", why.code);

    char from [KH_AGS_MAX + 1];
    static const char claims [] = "\x82\xa4" "from\xa8" "05162008\xa1v\x02";
    kh_audit_claimed (claims, sizeof claims - 1, from);
    KH_CHECK ("the from an invalid envelope claims is read", strcmp (from, "05162008") == 0,
              "'%s'", from);
    static const char not_ags [] = "\x81\xa4" "from\xa3" "abc";
    kh_audit_claimed (not_ags, sizeof not_ags - 1, from);
    KH_CHECK ("a from that is no AGS is not", from [0] == 0, "'%s'", from);
    static const char twice [] = "\x82\xa4" "from\xa5" "05162\xa4" "from\xa5" "05162";
    kh_audit_claimed (twice, sizeof twice - 1, from);
    KH_CHECK ("nor a from given twice", from [0] == 0, "'%s'", from);
    kh_audit_claimed ("\xc1", 1, from);
    KH_CHECK ("nor anything of bytes that are not msgpack", from [0] == 0, "'%s'", from);

    char line [8];
    size_t n = kh_utf8_line (line, sizeof line, "a\tb\xff\0c", 6);
    KH_CHECK ("a line keeps UTF-8 and turns control characters and stray bytes into '?'",
              n == 6 && strcmp (line, "a?b??c") == 0, "%zu '%s'", n, line);
    n = kh_utf8_line (line, sizeof line, "abcdef\xc3\xa4", 8);
    KH_CHECK ("a line too long is cut at a character's boundary", n == 6
              && strcmp (line, "abcdef") == 0, "%zu '%s'", n, line);
    n = kh_utf8_line (line, sizeof line, "\xc3\xa4\xc3\xa4x", 5);
    KH_CHECK ("a line that fits keeps its characters whole", n == 5
              && strcmp (line, "\xc3\xa4\xc3\xa4x") == 0, "%zu '%s'", n, line);
    msgpack_sbuffer_destroy (&out);
}

/* Audit queries: round trip and the rules of a query (PROTOCOL.md section 12). */
static void
test_audit_queries (void)
{
    kh_problem_t why;
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_audit_query_t q, back;
    memset (&q, 0, sizeof q);
    q.req = 3;
    q.since_seq = 2;
    q.until_seq = 30;
    q.since_at = 5;
    q.until_at = 6;
    q.code = KH_EFORBIDDEN;
    strcpy (q.ags, "05162");
    q.limit = 10;
    kh_audit_query_encode (&out, &q);
    KH_CHECK ("audit query round trip", kh_audit_query_decode (out.data, out.size, &back, &why)
              == 0 && memcmp (&q, &back, sizeof q) == 0, "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    memset (&q, 0, sizeof q);
    q.req = 4;
    kh_audit_query_encode (&out, &q);
    KH_CHECK ("an audit query of req alone asks for a full page of anything",
              kh_audit_query_decode (out.data, out.size, &back, &why) == 0 && back.req == 4
              && back.limit == KH_QUERY_PAGE_MAX && back.code == 0 && !back.ags [0], "%s",
              why.reason);
    KH_CHECK ("an audit query's code must name an error",
              kh_audit_query_decode ("\x82\xa3req\x05\xa4" "code\x63", 12, &back, &why)
              && why.code == KH_EQUERY && back.req == 5, "code %d", why.code);
    KH_CHECK ("its ags must be an AGS",
              kh_audit_query_decode ("\x82\xa3req\x05\xa3" "ags\xa3" "abc", 14, &back, &why)
              && why.code == KH_EQUERY, "code %d", why.code);
    KH_CHECK ("a query's type is no key of an audit query",
              kh_audit_query_decode ("\x82\xa3req\x05\xa4type\xa4idea", 16, &back, &why)
              && why.code == KH_EQUERY, "code %d", why.code);
    KH_CHECK ("an audit query that is not msgpack is MALFORMED",
              kh_audit_query_decode ("\xc1", 1, &back, &why) && why.code == KH_EMALFORMED,
              "code %d", why.code);
    msgpack_sbuffer_destroy (&out);
}

/* Ids are UUIDv7, time-ordered; text forms round-trip; topics have their grammar. */
static void
test_ids_topics (void)
{
    uint8_t a [KH_ID_SIZE], b [KH_ID_SIZE], c [KH_ID_SIZE];
    kh_id_new (a);
    kh_id_new (b);
    KH_CHECK ("id has version 7 and variant 10", (a [6] >> 4) == 7 && (a [8] >> 6) == 2, "%02x %02x", a [6], a [8]);
    KH_CHECK ("ids differ", memcmp (a, b, KH_ID_SIZE) != 0, "same");
    KH_CHECK ("ids carry the time first", memcmp (a, b, 6) <= 0, "not ordered");
    char text [KH_ID_STR_SIZE];
    kh_id_format (a, text);
    KH_CHECK ("id text round trip", strlen (text) == 36 && kh_id_parse (text, c) == 0
           && memcmp (a, c, KH_ID_SIZE) == 0, "%s", text);
    KH_CHECK ("id parse refuses junk", kh_id_parse ("not-an-id", c) != 0, "ok");
    char topic [KH_TOPIC_MAX];
    KH_CHECK ("topic grammar", kh_topic_format (topic, sizeof topic, "idea", "05162004") == 14
           && strcmp (topic, "idea/05162004/") == 0, "%s", topic);
    KH_CHECK ("topic too small a buffer", kh_topic_format (topic, 5, "idea", "05162004") == -1, "fit");
    KH_CHECK ("AGS rules", kh_ags_valid ("05162", 5) && kh_ags_valid ("05162004", 8)
           && !kh_ags_valid ("0516200", 7) && !kh_ags_valid ("0516200a", 8), "wrong");
    KH_CHECK ("error names", strcmp (kh_errname (KH_ETOOLARGE), "TOO_LARGE") == 0
           && strcmp (kh_errname (999), "UNKNOWN") == 0, "wrong");
    static const char *const state [] = { "NO_ITEM", "TRANSITION", "NOT_OWNER", "CLOSED" };
    for (int code = KH_ENOITEM; code <= KH_ECLOSED; code++)
        KH_CHECK ("the codes of an item's state are 25..28, named, and not transient",
                  strcmp (kh_errname (code), state [code - KH_ENOITEM]) == 0
                  && strcmp (kh_strerror (code), "unknown error") != 0
                  && !kh_err_transient (code), "%d", code);
}

/* The library's boundary (kreishub/kh_wire.h) answers NULL arguments, never aborts. */
static void
test_boundary (void)
{
    kh_problem_t why = { 0 };
    kh_record_t rec;
    uint8_t id [KH_ID_SIZE] = { 1 };
    char text [KH_ID_STR_SIZE] = "x";
    KH_CHECK ("envelope check refuses NULL bytes",
              kh_envelope_check (NULL, 5, NULL, NULL, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    KH_CHECK ("envelope check calls no bytes malformed",
              kh_envelope_check (NULL, 0, NULL, NULL, &why) == -1 && why.code == KH_EMALFORMED,
              "code %d", why.code);
    KH_CHECK ("record decode refuses a NULL record",
              kh_record_decode ("\x80", 1, NULL, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    KH_CHECK ("record decode refuses NULL bytes",
              kh_record_decode (NULL, 3, &rec, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    kh_builder_t *b = kh_builder_new ("idea");
    kh_builder_set (b, "title", "t", &why);
    KH_CHECK ("builder encode refuses a NULL id",
              kh_builder_encode (b, NULL, "05162004", 1, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    KH_CHECK ("builder encode refuses a NULL sender",
              kh_builder_encode (b, id, NULL, 1, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    KH_CHECK ("builder encode refuses a NULL builder",
              kh_builder_encode (NULL, id, "05162004", 1, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    KH_CHECK ("builder set refuses NULL text",
              kh_builder_set (b, "title", NULL, &why) == -1 && why.code == KH_EINVAL,
              "code %d", why.code);
    kh_builder_destroy (&b);
    KH_CHECK ("builder data of no builder is none", kh_builder_data (NULL, NULL) == NULL, "data");
    KH_CHECK ("id parse refuses a NULL id",
              kh_id_parse ("017ce42a-3800-7001-8000-00000000002a", NULL) == -1, "parsed");
    kh_id_format (NULL, text);
    KH_CHECK ("no id formats as an empty string", text [0] == 0, "%s", text);
    kh_id_format (id, NULL);
    kh_id_new (NULL);
    KH_CHECK ("no text is no AGS", !kh_ags_valid (NULL, 5), "valid");
    KH_CHECK ("no type name is no type", !kh_schema_type_known (NULL), "known");
}


/* ------------------------------------------------------------------ reads */

/* A decoder of section 14's queries, as the refusal table calls it: the req it
   keeps for the ERROR in *req. */
typedef int (s_read_fn) (const void *data, size_t size, uint64_t *req, kh_problem_t *why);

static int
s_items_read (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    kh_items_query_t q;
    int rc = kh_items_query_decode (data, size, &q, why);
    *req = q.req;
    return rc;
}

static int
s_stats_read (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    kh_stats_query_t q;
    int rc = kh_stats_query_decode (data, size, &q, why);
    *req = q.req;
    return rc;
}

static int
s_counters_read (const void *data, size_t size, uint64_t *req, kh_problem_t *why)
{
    return kh_counters_query_decode (data, size, req, why);
}

/* One refusal: the bytes, the code, and the req the ERROR echoes. */
typedef struct {
    const char *name;
    s_read_fn  *read;
    const char *bytes;
    size_t      size;
    int         code;
    uint64_t    req;
} s_refusal_t;

#define S_LIT(lit) lit, sizeof lit - 1  /* a literal's bytes and their count */
#define S_REFUSE(name, read, lit, code, req) { name, read, lit, sizeof lit - 1, code, req }

static const s_refusal_t s_refusals [] = {
    S_REFUSE ("items: an unknown key", s_items_read, "\x82\xa3req\x07\xa1x\x01", KH_EQUERY, 7),
    S_REFUSE ("items: a key given twice", s_items_read, "\x83\xa3req\x07\xa2hf\x01\xa2hf\x02",
              KH_EQUERY, 7),
    S_REFUSE ("items: an id that is a str", s_items_read, "\x82\xa3req\x07\xa2id\xa1x",
              KH_EQUERY, 7),
    S_REFUSE ("items: an id of 2 bytes", s_items_read, "\x82\xa3req\x07\xa2id\xc4\x02\x01\x02",
              KH_EQUERY, 7),
    S_REFUSE ("items: a type that is no item type", s_items_read,
              "\x82\xa3req\x07\xa4type\xa7""comment", KH_EQUERY, 7),
    S_REFUSE ("items: an empty array of types", s_items_read, "\x82\xa3req\x07\xa4type\x90",
              KH_EQUERY, 7),
    S_REFUSE ("items: a from that is no AGS", s_items_read, "\x82\xa3req\x07\xa4""from\xa3""abc",
              KH_EQUERY, 7),
    S_REFUSE ("items: a status that is no stage", s_items_read,
              "\x82\xa3req\x07\xa6status\xa4open", KH_EQUERY, 7),
    S_REFUSE ("items: hf 0", s_items_read, "\x82\xa3req\x07\xa2hf\x00", KH_EQUERY, 7),
    S_REFUSE ("items: hf 6", s_items_read, "\x82\xa3req\x07\xa2hf\x06", KH_EQUERY, 7),
    S_REFUSE ("items: hf as a str", s_items_read, "\x82\xa3req\x07\xa2hf\xa1""1", KH_EQUERY, 7),
    S_REFUSE ("items: an empty topic", s_items_read, "\x82\xa3req\x07\xa5topic\xa0",
              KH_EQUERY, 7),
    S_REFUSE ("items: a topic that is an integer", s_items_read,
              "\x82\xa3req\x07\xa5topic\x01", KH_EQUERY, 7),
    S_REFUSE ("items: a topic with a line feed", s_items_read,
              "\x82\xa3req\x07\xa5topic\xa2""a\n", KH_EQUERY, 7),
    S_REFUSE ("items: a participant that is a prefix", s_items_read,
              "\x82\xa3req\x07\xabparticipant\xa5""0516*", KH_EQUERY, 7),
    S_REFUSE ("items: open as an integer", s_items_read, "\x82\xa3req\x07\xa4open\x01",
              KH_EQUERY, 7),
    S_REFUSE ("items: a search of blanks", s_items_read, "\x82\xa3req\x07\xa6search\xa2  ",
              KH_EQUERY, 7),
    S_REFUSE ("items: a negative before", s_items_read, "\x82\xa3req\x07\xa6""before\xff",
              KH_EQUERY, 7),
    S_REFUSE ("items: a float limit", s_items_read,
              "\x82\xa3req\x07\xa5limit\xca\x00\x00\x00\x00", KH_EQUERY, 7),
    S_REFUSE ("items: req 0", s_items_read, "\x81\xa3req\x00", KH_EQUERY, 0),
    S_REFUSE ("items: no req", s_items_read, "\x81\xa2hf\x01", KH_EQUERY, 0),
    S_REFUSE ("items: not a map", s_items_read, "\x91\x07", KH_EQUERY, 0),
    S_REFUSE ("items: not msgpack", s_items_read, "\xc1", KH_EMALFORMED, 0),
    S_REFUSE ("items: trailing bytes", s_items_read, "\x81\xa3req\x07\x00", KH_EMALFORMED, 0),
    S_REFUSE ("stats: an unknown key", s_stats_read, "\x82\xa3req\x07\xa1x\x01", KH_EQUERY, 7),
    S_REFUSE ("stats: a key given twice", s_stats_read,
              "\x83\xa3req\x07\xa2""by\xa2hf\xa2""by\xa2hf", KH_EQUERY, 7),
    S_REFUSE ("stats: by week", s_stats_read, "\x82\xa3req\x07\xa2""by\xa4week", KH_EQUERY, 7),
    S_REFUSE ("stats: by an integer", s_stats_read, "\x82\xa3req\x07\xa2""by\x01", KH_EQUERY, 7),
    S_REFUSE ("stats: a negative since_ts", s_stats_read,
              "\x82\xa3req\x07\xa8since_ts\xff", KH_EQUERY, 7),
    S_REFUSE ("stats: an unknown type", s_stats_read, "\x82\xa3req\x07\xa4type\xa4poll",
              KH_EQUERY, 7),
    S_REFUSE ("stats: a from that is an integer", s_stats_read,
              "\x82\xa3req\x07\xa4""from\x05", KH_EQUERY, 7),
    S_REFUSE ("stats: no req", s_stats_read, "\x80", KH_EQUERY, 0),
    S_REFUSE ("counters: an unknown key", s_counters_read, "\x82\xa3req\x07\xa1x\x01",
              KH_EQUERY, 7),
    S_REFUSE ("counters: req given twice", s_counters_read, "\x82\xa3req\x07\xa3req\x07",
              KH_EQUERY, 0),
    S_REFUSE ("counters: req as a str", s_counters_read, "\x81\xa3req\xa1""7", KH_EQUERY, 0),
    S_REFUSE ("counters: no req", s_counters_read, "\x80", KH_EQUERY, 0),
    S_REFUSE ("counters: not msgpack", s_counters_read, "", KH_EMALFORMED, 0),
};

/* Every refusal of section 14's queries has its code and echoes req as section 5
   says; each is TOO_LARGE over 64 KiB. */
static void
test_reads_refused (void)
{
    for (size_t i = 0; i < sizeof s_refusals / sizeof s_refusals [0]; i++) {
        const s_refusal_t *r = &s_refusals [i];
        kh_problem_t why = { 0 };
        uint64_t req = 99;
        int rc = r->read (r->bytes, r->size, &req, &why);
        KH_CHECK ("a bad read query is refused with its code, req echoed as it should",
                  rc == -1 && why.code == r->code && req == r->req && strlen (why.reason) > 3,
                  "%s: rc %d code %d req %llu (%s)", r->name, rc, why.code,
                  (unsigned long long) req, why.reason);
    }
    uint8_t *large = (uint8_t *) calloc (1, KH_ENVELOPE_MAX + 1);
    s_read_fn *reads [] = { s_items_read, s_stats_read, s_counters_read };
    for (size_t i = 0; large && i < 3; i++) {
        kh_problem_t why = { 0 };
        uint64_t req;
        KH_CHECK ("a read query over 64 KiB is TOO_LARGE",
                  reads [i] (large, KH_ENVELOPE_MAX + 1, &req, &why) == -1
                  && why.code == KH_ETOOLARGE, "query %zu: code %d", i, why.code);
    }
    free (large);
}

/* An items query with every key survives a round trip; absent keys stay absent. */
static void
test_items_queries (void)
{
    kh_problem_t why = { 0 };
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_items_query_t q, back;
    memset (&q, 0, sizeof q);           /* padding too: the round trip compares bytes */
    q.req = 3;
    q.has_id = true;
    memset (q.id, 0x5a, sizeof q.id);
    strcpy (q.type [0], "offer");
    strcpy (q.type [1], "request");
    q.type_count = 2;
    strcpy (q.from [0], "0516*");
    q.from_count = 1;
    strcpy (q.status [0], "pilot");
    strcpy (q.status [1], "rollout");
    q.status_count = 2;
    q.hf = 2;
    strcpy (q.topic, "Digitale Verwaltung \xc3\xbc");
    strcpy (q.participant, "05162024");
    q.open = true;
    strcpy (q.search, "Zwilling Akte*");
    q.before = 40;
    q.limit = 10;
    KH_CHECK ("items query encodes", kh_items_query_encode (&out, &q) == 0, "encode");
    KH_CHECK ("items query round trip",
              kh_items_query_decode (out.data, out.size, &back, &why) == 0
              && memcmp (&q, &back, sizeof q) == 0, "%s", why.reason);
    msgpack_sbuffer_clear (&out);
    kh_items_query_t min;
    memset (&min, 0, sizeof min);
    min.req = 4;
    kh_items_query_encode (&out, &min);
    KH_CHECK ("an items query of req alone is one key, a full page",
              out.size == 6 && kh_items_query_decode (out.data, out.size, &back, &why) == 0
              && back.req == 4 && back.limit == KH_QUERY_PAGE_MAX && !back.open
              && !back.has_id && back.type_count == 0 && back.hf == 0, "%zu bytes", out.size);
    KH_CHECK ("items query: open false and a limit over the page are taken",
              kh_items_query_decode (S_LIT ("\x83\xa3req\x07\xa4open\xc2\xa5limit\xcd\x13\x88"),
                                     &back, &why) == 0
              && !back.open && back.limit == KH_QUERY_PAGE_MAX, "%s", why.reason);
    msgpack_sbuffer_destroy (&out);
}

/* An item of the catalogue as the store would give it. */
static const uint8_t s_fields [] = "\x83\xa5title\xa8Zwilling\xa2hf\x02\xa8keywords\x92\xa2""3D\xa3GIS";

static kh_item_t
s_item (kh_participant_t *p)
{
    kh_item_t item;
    memset (&item, 0, sizeof item);
    memset (item.id, 0x11, sizeof item.id);
    item.seq = 5;
    strcpy (item.type, "idea");
    strcpy (item.owner, "05162004");
    item.ts = 1600000000000ULL;
    strcpy (item.status, "decided");
    item.status_seq = 9;
    item.status_ts = 1600000000900ULL;
    item.expired = true;
    item.interested = 1;
    item.joined = 2;
    item.declined = 3;
    item.left = 4;
    item.messages = 12;
    item.last_seq = 30;
    item.last_ts = 1600000003000ULL;
    item.fields = s_fields;
    item.fields_size = sizeof s_fields - 1;
    memset (p, 0, 2 * sizeof *p);
    strcpy (p [0].ags, "05162024");
    strcpy (p [0].state, "joined");
    p [0].since = 1600000001000ULL;
    p [0].seq = 11;
    strcpy (p [1].ags, "05162");
    strcpy (p [1].state, "declined");
    p [1].since = 1600000002000ULL;
    p [1].seq = 14;
    item.participants = p;
    item.participant_count = 2;
    return item;
}

/* True if two items say the same (their views compared by content). */
static bool
s_item_same (const kh_item_t *a, const kh_item_t *b)
{
    kh_item_t x = *a, y = *b;
    bool views = x.fields_size == y.fields_size
              && memcmp (x.fields, y.fields, x.fields_size) == 0
              && x.participant_count == y.participant_count
              && (x.participant_count == 0
                  || memcmp (x.participants, y.participants,
                             x.participant_count * sizeof *x.participants) == 0);
    x.fields = y.fields = NULL;
    x.participants = y.participants = NULL;
    return views && memcmp (&x, &y, sizeof x) == 0;
}

/* Items go into a ROWS page and come out whole: fields, participants and all. */
static void
test_item_rows (void)
{
    kh_problem_t why = { 0 };
    kh_participant_t p [2];
    kh_item_t item = s_item (p), bare;
    memset (&bare, 0, sizeof bare);
    memset (bare.id, 0x22, sizeof bare.id);
    bare.seq = 6;
    strcpy (bare.type, "offer");
    kh_rows_writer_t *writer = kh_rows_writer_new (8);
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    KH_CHECK ("items are added to a page",
              writer && kh_rows_writer_add_item (writer, &item) == 0
              && kh_rows_writer_add_item (writer, &bare) == 0
              && kh_rows_writer_count (writer) == 2
              && kh_rows_writer_finish (writer, true, 5, &out) == 0, "add");
    kh_item_rows_t rows;
    int rc = kh_item_rows_decode (out.data, out.size, &rows, &why);
    KH_CHECK ("a page of items decodes", rc == 0 && rows.req == 8 && rows.more
              && rows.next == 5 && rows.count == 2, "%s", why.reason);
    if (rc == 0 && rows.count == 2) {
        KH_CHECK ("an item round trip", s_item_same (&item, &rows.rows [0]), "item 0");
        KH_CHECK ("an item without fields has an empty map",
                  rows.rows [1].fields_size == 1 && rows.rows [1].fields [0] == 0x80
                  && rows.rows [1].participant_count == 0 && rows.rows [1].seq == 6,
                  "%zu", rows.rows [1].fields_size);
    }
    kh_item_rows_release (&rows);
    kh_item_rows_release (&rows);
    KH_CHECK ("released rows are none", rows.rows == NULL && rows.storage == NULL, "kept");
    kh_rows_writer_destroy (&writer);
    /* Fields that are not one map are sent as an empty one. */
    item.fields = (const uint8_t *) "\x92\x01\x02";
    item.fields_size = 3;
    writer = kh_rows_writer_new (9);
    msgpack_sbuffer_clear (&out);
    kh_rows_writer_add_item (writer, &item);
    kh_rows_writer_finish (writer, false, 0, &out);
    rc = kh_item_rows_decode (out.data, out.size, &rows, &why);
    KH_CHECK ("fields that are no map go as an empty one",
              rc == 0 && rows.count == 1 && rows.rows [0].fields_size == 1, "%s", why.reason);
    kh_item_rows_release (&rows);
    kh_rows_writer_destroy (&writer);
    KH_CHECK ("a page of items without an id is refused",
              kh_item_rows_decode (S_LIT ("\x84\xa3req\x01\xa4more\xc2\xa4next\x00\xa4rows"
                                          "\x91\x81\xa3seq\x01"), &rows, &why) == -1
              && why.code == KH_EMISSING && rows.rows == NULL, "code %d", why.code);
    msgpack_sbuffer_destroy (&out);
}

/* An item's fields read as text: strs, numbers, lists joined; a cut at a
   character; absent is "". */
static void
test_item_field (void)
{
    kh_participant_t p [2];
    kh_item_t item = s_item (p);
    char text [64];
    KH_CHECK ("a str field", kh_item_field (&item, "title", text, sizeof text) == 0
              && strcmp (text, "Zwilling") == 0, "%s", text);
    KH_CHECK ("a number field", kh_item_field (&item, "hf", text, sizeof text) == 0
              && strcmp (text, "2") == 0, "%s", text);
    KH_CHECK ("a list field", kh_item_field (&item, "keywords", text, sizeof text) == 0
              && strcmp (text, "3D, GIS") == 0, "%s", text);
    KH_CHECK ("an absent field", kh_item_field (&item, "topic", text, sizeof text) == 0
              && text [0] == 0, "%s", text);
    KH_CHECK ("a field cut to fit", kh_item_field (&item, "keywords", text, 5) == -1
              && strcmp (text, "3D, ") == 0, "%s", text);
    static const uint8_t umlauts [] = "\x81\xa5title\xa4\xc3\xbc\xc3\xbc";
    item.fields = umlauts;
    item.fields_size = sizeof umlauts - 1;
    KH_CHECK ("a cut keeps whole characters", kh_item_field (&item, "title", text, 4) == -1
              && strcmp (text, "\xc3\xbc") == 0, "%s", text);
    item.fields = (const uint8_t *) "\xc1";
    item.fields_size = 1;
    KH_CHECK ("malformed fields", kh_item_field (&item, "title", text, sizeof text) == -1
              && text [0] == 0, "%s", text);
    KH_CHECK ("no item", kh_item_field (NULL, "title", text, sizeof text) == -1, "ok");
    KH_CHECK ("no room", kh_item_field (&item, "title", NULL, 0) == -1, "ok");
}

/* A stats query and a count survive their round trips. */
static void
test_stats (void)
{
    kh_problem_t why = { 0 };
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    kh_stats_query_t q, back;
    memset (&q, 0, sizeof q);
    q.req = 5;
    strcpy (q.by, "month");
    q.since_ts = 1;
    q.until_ts = 2;
    strcpy (q.type [0], "comment");
    q.type_count = 1;
    strcpy (q.from [0], "05162004");
    strcpy (q.from [1], "0517*");
    q.from_count = 2;
    KH_CHECK ("stats query round trip", kh_stats_query_encode (&out, &q) == 0
              && kh_stats_query_decode (out.data, out.size, &back, &why) == 0
              && memcmp (&q, &back, sizeof q) == 0, "%s", why.reason);
    KH_CHECK ("stats query: by \"\" is the totals",
              kh_stats_query_decode (S_LIT ("\x82\xa3req\x07\xa2""by\xa0"), &back, &why) == 0
              && back.by [0] == 0, "%s", why.reason);
    kh_stats_row_t rows [2] = { { "2021-10", 3, 7 }, { "", 0, 2 } };
    kh_stats_t stats = { 3, 9, 40, 4096, true, 2, rows }, *got = NULL;
    uint64_t req = 0;
    msgpack_sbuffer_clear (&out);
    KH_CHECK ("a count round trip", kh_stats_reply_encode (&out, 77, &stats) == 0
              && kh_stats_reply_decode (out.data, out.size, &req, &got, &why) == 0
              && req == 77 && got && got->items == 3 && got->messages == 9 && got->head == 40
              && got->store_bytes == 4096 && got->more && got->count == 2
              && strcmp (got->rows [0].key, "2021-10") == 0 && got->rows [0].items == 3
              && got->rows [0].messages == 7 && got->rows [1].key [0] == 0
              && got->rows [1].items == 0 && got->rows [1].messages == 2, "%s", why.reason);
    kh_stats_destroy (&got);
    kh_stats_destroy (&got);
    KH_CHECK ("a count is destroyed once", got == NULL, "kept");
    kh_stats_t none = { 0, 0, 0, 0, false, 0, NULL };
    msgpack_sbuffer_clear (&out);
    KH_CHECK ("a count of no groups", kh_stats_reply_encode (&out, 78, &none) == 0
              && kh_stats_reply_decode (out.data, out.size, &req, &got, &why) == 0
              && got && got->count == 0 && got->rows == NULL, "%s", why.reason);
    kh_stats_destroy (&got);
    KH_CHECK ("a group key that does not fit is refused",
              kh_stats_reply_decode (S_LIT ("\x84\xa3req\x01\xa4more\xc2\xa4next\x00\xa4rows"
                                            "\x91\x81\xa3key\xb2""0123456789abcdefgh"),
                                     &req, &got, &why) == -1
              && why.code == KH_ERANGE && got == NULL, "code %d", why.code);
    msgpack_sbuffer_destroy (&out);
}

/* The counters' request and answer survive their round trips. */
static void
test_counters (void)
{
    kh_problem_t why = { 0 };
    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    uint64_t req = 0;
    KH_CHECK ("counters request round trip", kh_counters_query_encode (&out, 12) == 0
              && kh_counters_query_decode (out.data, out.size, &req, &why) == 0 && req == 12,
              "%s", why.reason);
    kh_counters_t c, back;
    memset (&c, 0, sizeof c);           /* padding too: the round trip compares bytes */
    c = (kh_counters_t) { 1000, 3, 4, true, 50, 49, 7, 6, 5, 2 };
    msgpack_sbuffer_clear (&out);
    KH_CHECK ("counters round trip", kh_counters_encode (&out, 13, &c) == 0
              && kh_counters_decode (out.data, out.size, &req, &back, &why) == 0 && req == 13
              && memcmp (&c, &back, sizeof c) == 0, "%s", why.reason);
    KH_CHECK ("counters: clients above 32 bits are refused",
              kh_counters_decode (S_LIT ("\x82\xa3req\x01\xa7""clients"
                                         "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
                                  &req, &back, &why) == -1 && why.code == KH_ERANGE,
              "code %d", why.code);
    msgpack_sbuffer_destroy (&out);
}

int
main (void)
{
    test_vectors ();
    test_query_vectors ();
    test_scan ();
    test_mutations ();
    test_uint_parse ();
    test_builder ();
    test_builder_items ();
    test_texts ();
    test_schema ();
    test_records ();
    test_rows_seal ();
    test_replies ();
    test_queries ();
    test_audit_records ();
    test_audit_queries ();
    test_ids_topics ();
    test_boundary ();
    test_reads_refused ();
    test_items_queries ();
    test_item_rows ();
    test_item_field ();
    test_stats ();
    test_counters ();
    return kh_check_done ("codec_test");
}
