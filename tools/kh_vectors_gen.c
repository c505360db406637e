/*  kreishub-vectors - writes the codec's test vectors: msgpack files and MANIFEST.

    Each vector is one file of raw bytes as a client might send them; MANIFEST lists
    "<file> <expected result>" where the result is OK or an error name (kh_errname).
    The files are committed in schema/vectors/; a test regenerates them and compares,
    so the generator and the files cannot drift apart. Usage: kreishub-vectors DIR
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "kh_codec.h"
#include "kh_opts.h"

#define S_TS 1635897600000ULL               /* 2021-11-03 00:00 UTC, the mayors' conference */

/* What a vector changes in the standard idea envelope. */
typedef struct {
    const char *skip;                       /* envelope key left out */
    const char *body_skip;                  /* body key left out */
    void (*extra_env) (msgpack_packer *pk); /* one more envelope key/value, or NULL */
    void (*extra_body) (msgpack_packer *pk);/* one more body key/value, or NULL */
    const char *type;                       /* type value (default "idea") */
    const char *from;                       /* sender (default 05162004) */
    const char *title;                      /* title (default a fixed one) */
    size_t title_len;                       /* if set, title bytes (may hold NUL) */
    const char *swap;                       /* envelope key whose value swap_value packs */
    void (*swap_value) (msgpack_packer *pk);
    uint8_t id_tail;                        /* last byte of the id (default 0x2a) */
} s_shape_t;

static void
s_str (msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

static void
s_key (msgpack_packer *pk, const char *key)
{
    s_str (pk, key, strlen (key));
}

/* Packs the standard envelope with the changes in shape. */
static void
s_envelope (msgpack_packer *pk, const s_shape_t *sh)
{
    uint8_t id [16] = { 0x01, 0x7c, 0xe4, 0x2a, 0x38, 0x00, 0x70, 0x01,
                        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a };
    if (sh->id_tail)
        id [15] = sh->id_tail;
    const char *keys [] = { "v", "id", "type", "from", "ts", "body" };
    int n = 6 - (sh->skip != NULL) + (sh->extra_env != NULL);
    msgpack_pack_map (pk, n);
    for (int k = 0; k < 6; k++) {
        if (sh->skip && strcmp (sh->skip, keys [k]) == 0)
            continue;
        s_key (pk, keys [k]);
        if (sh->swap && strcmp (sh->swap, keys [k]) == 0) {
            sh->swap_value (pk);
            continue;
        }
        switch (k) {
            case 0: msgpack_pack_uint8 (pk, 1); break;
            case 1: msgpack_pack_bin (pk, 16); msgpack_pack_bin_body (pk, id, 16); break;
            case 2: s_key (pk, sh->type ? sh->type : "idea"); break;
            case 3: s_key (pk, sh->from ? sh->from : "05162004"); break;
            case 4: msgpack_pack_uint64 (pk, S_TS); break;
            case 5: {
                bool skip = sh->body_skip != NULL;
                msgpack_pack_map (pk, 1 - skip + (sh->extra_body != NULL));
                if (!skip) {
                    const char *t = sh->title ? sh->title : "Digitaler Zwilling fuer den Kreis";
                    s_key (pk, "title");
                    s_str (pk, t, sh->title_len ? sh->title_len : strlen (t));
                }
                if (sh->extra_body)
                    sh->extra_body (pk);
                break;
            }
        }
    }
    if (sh->extra_env)
        sh->extra_env (pk);
}

/* The extra keys the vectors add. */
static void e_unknown (msgpack_packer *pk) { s_key (pk, "prio"); msgpack_pack_uint8 (pk, 1); }
static void b_unknown (msgpack_packer *pk) { s_key (pk, "titel"); s_key (pk, "x"); }
static void b_hf2 (msgpack_packer *pk) { s_key (pk, "hf"); msgpack_pack_uint8 (pk, 2); }
static void b_hf6 (msgpack_packer *pk) { s_key (pk, "hf"); msgpack_pack_uint8 (pk, 6); }
static void b_hfneg (msgpack_packer *pk) { s_key (pk, "hf"); msgpack_pack_int8 (pk, -1); }
static void b_hfstr (msgpack_packer *pk) { s_key (pk, "hf"); s_key (pk, "2"); }
static void b_title2 (msgpack_packer *pk) { s_key (pk, "title"); s_key (pk, "again"); }
static void b_status (msgpack_packer *pk) { s_key (pk, "status"); s_key (pk, "done"); }
static void b_date (msgpack_packer *pk) { s_key (pk, "start"); s_key (pk, "2022-02-30"); }
static void b_benefit (msgpack_packer *pk) { s_key (pk, "benefit"); s_key (pk, "less travel"); }
static void b_licence (msgpack_packer *pk)
{
    s_key (pk, "licence");
    char buf [65];
    memset (buf, 'A', 65);
    s_str (pk, buf, 65);
}
static void b_kw21 (msgpack_packer *pk)
{
    s_key (pk, "keywords");
    msgpack_pack_array (pk, 21);
    for (int i = 0; i < 21; i++)
        s_key (pk, "k");
}
static void b_kwint (msgpack_packer *pk)
{
    s_key (pk, "keywords");
    msgpack_pack_array (pk, 1);
    msgpack_pack_uint8 (pk, 7);
}
static void b_part_bad (msgpack_packer *pk)
{
    s_key (pk, "participants");
    msgpack_pack_array (pk, 1);
    s_key (pk, "0516200X");
}
static void b_part_rep (msgpack_packer *pk)
{
    s_key (pk, "participants");
    msgpack_pack_array (pk, 2);
    s_key (pk, "05162012");
    s_key (pk, "05162012");
}
static void b_big (msgpack_packer *pk)
{
    static char buf [70000];
    memset (buf, 'x', sizeof buf);
    s_key (pk, "description");
    s_str (pk, buf, sizeof buf);
}
static void v_str (msgpack_packer *pk) { s_key (pk, "1"); }
static void v_two (msgpack_packer *pk) { msgpack_pack_uint8 (pk, 2); }
static void v_zero (msgpack_packer *pk) { msgpack_pack_uint8 (pk, 0); }
static void v_int (msgpack_packer *pk) { msgpack_pack_uint8 (pk, 7); }
static void v_neg (msgpack_packer *pk) { msgpack_pack_int64 (pk, -1635897600000LL); }
static void v_year_10000 (msgpack_packer *pk) { msgpack_pack_uint64 (pk, 253402300800000ULL); }
static void v_id15 (msgpack_packer *pk) { msgpack_pack_bin (pk, 15); msgpack_pack_bin_body (pk, "0123456789abcde", 15); }
static void v_idzero (msgpack_packer *pk)
{
    static const uint8_t zero [16] = { 0 };
    msgpack_pack_bin (pk, 16);
    msgpack_pack_bin_body (pk, zero, 16);
}
static void v_array (msgpack_packer *pk) { msgpack_pack_array (pk, 0); }

/* Writes bytes to DIR/name and the manifest line. */
static int
s_write (const char *dir, FILE *manifest, const char *name, const char *expect,
         const void *data, size_t size)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "wb");
    if (!file || (size && fwrite (data, 1, size, file) != size)) {
        fprintf (stderr, "kreishub-vectors: cannot write %s\n", path);
        if (file)
            fclose (file);
        return -1;
    }
    fclose (file);
    fprintf (manifest, "%s %s\n", name, expect);
    return 0;
}

/* Writes an envelope of the given shape, optionally cut or extended. */
static int
s_vector (const char *dir, FILE *manifest, const char *name, const char *expect,
          s_shape_t shape, int cut, const char *append)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    s_envelope (&pk, &shape);
    if (append)
        msgpack_sbuffer_write (&buf, append, strlen (append));
    size_t size = buf.size > (size_t) cut ? buf.size - (size_t) cut : 0;
    int rc = s_write (dir, manifest, name, expect, buf.data, size);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* The full, valid idea and offer, built through the codec's builder. */
static int
s_built (const char *dir, FILE *manifest, const char *name, const char *type,
         const char *from, const char *const *fields)
{
    kh_builder_t *b = kh_builder_new (type);
    kh_problem_t why;
    for (const char *const *f = fields; b && *f; f += 2)
        if (kh_builder_set (b, f [0], f [1], &why)) {
            fprintf (stderr, "kreishub-vectors: %s\n", why.reason);
            kh_builder_destroy (&b);
            return -1;
        }
    uint8_t id [16] = { 0x01, 0x7c, 0xe4, 0x2a, 0x38, 0x00, 0x70, 0x02, 0x80 };
    id [15] = (uint8_t) strlen (name);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = b ? kh_builder_pack (b, id, from, S_TS, &buf, &why) : -1;
    if (rc == 0)
        rc = s_write (dir, manifest, name, "OK", buf.data, buf.size);
    else
        fprintf (stderr, "kreishub-vectors: %s: %s\n", name, why.reason);
    msgpack_sbuffer_destroy (&buf);
    kh_builder_destroy (&b);
    return rc;
}

static const kh_opt_t s_no_options [] = { { NULL } };

int
main (int argc, char *argv [])
{
    const kh_opts_t opts = {
        .program = "kreishub-vectors", .synopsis = "DIR", .table = s_no_options,
        .version = true,
        .about = "Writes the test vectors and their MANIFEST into DIR (schema/vectors).\n"
    };
    int first = 0;
    int parsed = kh_opts_parse (&opts, argc, argv, &first);
    if (parsed != KH_OPTS_GO)
        return kh_opts_exit (parsed, 1);
    if (first != argc - 1) {
        kh_opts_usage (&opts, stderr);
        return 1;
    }
    const char *dir = argv [first];
    char path [1024];
    snprintf (path, sizeof path, "%s/MANIFEST", dir);
    FILE *m = fopen (path, "w");
    if (!m) {
        fprintf (stderr, "kreishub-vectors: cannot write %s\n", path);
        return 1;
    }
    static const char *const idea [] = {
        "title", "Digitaler Zwilling (3D-Stadt- und Landschaftsmodell)",
        "description", "Ein kreisweites 3D-Modell fuer Planung, gemeinsam mit allen Kommunen.",
        "hf", "2", "topic", "Querschnitt", "keywords", "3D, Planung, Geodaten",
        "lead", "05162", "participants", "05162004,05162008,05162012,05162016",
        "status", "concept", "start", "2022-03-30", "contact", "Kreis IT",
        "benefit", "eine Datengrundlage statt acht", NULL };
    static const char *const offer [] = {
        "title", "LoRaWAN-Netz des Kreises", "description", "Frei nutzbar fuer Sensoren.",
        "hf", "3", "keywords", "IoT,LoRaWAN", "status", "stable", "cost", "kostenfrei",
        "licence", "EUPL-1.2", "valid_until", "2025-12-31", NULL };
    char t200 [200], t201 [201];
    memset (t200, 'a', sizeof t200);
    memset (t201, 'a', sizeof t201);
    const uint8_t deep [] = { 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01 };
    const uint8_t huge_array [] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    const uint8_t huge_map [] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x76, 0x01 };
    const uint8_t huge_str [] = { 0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61 };
    const uint8_t top_array [] = { 0x92, 0x01, 0x02 };
    int rc = 0;
    rc |= s_built (dir, m, "ok_idea_full.mp", "idea", "05162004", idea);
    rc |= s_built (dir, m, "ok_offer_full.mp", "offer", "05162", offer);
    rc |= s_vector (dir, m, "ok_idea_minimal.mp", "OK", (s_shape_t) { 0 }, 0, NULL);
    rc |= s_vector (dir, m, "ok_idea_minimal_again.mp", "OK", (s_shape_t) { 0 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_reused.mp", "VALUE store", (s_shape_t) { .from = "05162" }, 0, NULL);
    rc |= s_vector (dir, m, "ok_kreis_sender.mp", "OK",
                    (s_shape_t) { .from = "05162", .id_tail = 0x2b }, 0, NULL);
    rc |= s_vector (dir, m, "ok_umlaut_title.mp", "OK",
                    (s_shape_t) { .title = "J\xc3\xbc" "chen: Ummeldung im B\xc3\xbcrgerb\xc3\xbcro",
                                  .id_tail = 0x2c }, 0, NULL);
    rc |= s_vector (dir, m, "ok_title_200_bytes.mp", "OK",
                    (s_shape_t) { .title = t200, .title_len = 200, .id_tail = 0x2d }, 0, NULL);
    rc |= s_vector (dir, m, "ok_hf.mp", "OK", (s_shape_t) { .extra_body = b_hf2, .id_tail = 0x2e },
                    0, NULL);
    rc |= s_write (dir, m, "bad_empty.mp", "MALFORMED", "", 0);
    rc |= s_write (dir, m, "bad_not_msgpack.mp", "MALFORMED", "hello, hub", 10);
    rc |= s_write (dir, m, "bad_json_text.mp", "MALFORMED", "{\"v\":1}", 7);
    rc |= s_write (dir, m, "bad_reserved_byte.mp", "MALFORMED", "\xc1", 1);
    rc |= s_write (dir, m, "bad_too_deep.mp", "MALFORMED", deep, sizeof deep);
    rc |= s_write (dir, m, "bad_huge_array_count.mp", "MALFORMED", huge_array, sizeof huge_array);
    rc |= s_write (dir, m, "bad_huge_map_count.mp", "MALFORMED", huge_map, sizeof huge_map);
    rc |= s_write (dir, m, "bad_huge_str_length.mp", "MALFORMED", huge_str, sizeof huge_str);
    rc |= s_write (dir, m, "bad_top_array.mp", "WRONG_TYPE", top_array, sizeof top_array);
    rc |= s_vector (dir, m, "bad_trailing_bytes.mp", "MALFORMED", (s_shape_t) { 0 }, 0, "\x01");
    rc |= s_vector (dir, m, "bad_truncated.mp", "MALFORMED", (s_shape_t) { 0 }, 5, NULL);
    rc |= s_vector (dir, m, "bad_missing_v.mp", "MISSING", (s_shape_t) { .skip = "v" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_id.mp", "MISSING", (s_shape_t) { .skip = "id" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_type.mp", "MISSING", (s_shape_t) { .skip = "type" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_from.mp", "MISSING", (s_shape_t) { .skip = "from" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_ts.mp", "MISSING", (s_shape_t) { .skip = "ts" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_body.mp", "MISSING", (s_shape_t) { .skip = "body" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_title.mp", "MISSING", (s_shape_t) { .body_skip = "title" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_unknown_type.mp", "TYPE", (s_shape_t) { .type = "poll" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_from_not_ags.mp", "VALUE", (s_shape_t) { .from = "0516200X" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_from_6_digits.mp", "VALUE", (s_shape_t) { .from = "051620" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_unknown_envelope_key.mp", "UNKNOWN_FIELD",
                    (s_shape_t) { .extra_env = e_unknown }, 0, NULL);
    rc |= s_vector (dir, m, "bad_unknown_body_field.mp", "UNKNOWN_FIELD",
                    (s_shape_t) { .extra_body = b_unknown }, 0, NULL);
    rc |= s_vector (dir, m, "bad_idea_field_on_offer.mp", "UNKNOWN_FIELD",
                    (s_shape_t) { .type = "offer", .extra_body = b_benefit }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_empty.mp", "RANGE", (s_shape_t) { .title = "" , .title_len = 0 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_201_bytes.mp", "RANGE",
                    (s_shape_t) { .title = t201, .title_len = 201 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_invalid_utf8.mp", "UTF8",
                    (s_shape_t) { .title = "bad \xc3\x28 byte" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_overlong_utf8.mp", "UTF8",
                    (s_shape_t) { .title = "slash \xc0\xaf" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_surrogate.mp", "UTF8",
                    (s_shape_t) { .title = "half \xed\xa0\x80" }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_nul.mp", "VALUE",
                    (s_shape_t) { .title = "a\0b", .title_len = 3 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_twice.mp", "MALFORMED",
                    (s_shape_t) { .extra_body = b_title2 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_6.mp", "RANGE", (s_shape_t) { .extra_body = b_hf6 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_negative.mp", "RANGE", (s_shape_t) { .extra_body = b_hfneg }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_string.mp", "WRONG_TYPE", (s_shape_t) { .extra_body = b_hfstr }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keywords_21.mp", "RANGE", (s_shape_t) { .extra_body = b_kw21 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keyword_not_str.mp", "WRONG_TYPE", (s_shape_t) { .extra_body = b_kwint }, 0, NULL);
    rc |= s_vector (dir, m, "bad_participant_not_ags.mp", "VALUE", (s_shape_t) { .extra_body = b_part_bad }, 0, NULL);
    rc |= s_vector (dir, m, "bad_participant_repeated.mp", "VALUE", (s_shape_t) { .extra_body = b_part_rep }, 0, NULL);
    rc |= s_vector (dir, m, "bad_status_unknown.mp", "VALUE", (s_shape_t) { .extra_body = b_status }, 0, NULL);
    rc |= s_vector (dir, m, "bad_start_not_a_date.mp", "VALUE", (s_shape_t) { .extra_body = b_date }, 0, NULL);
    rc |= s_vector (dir, m, "bad_licence_too_long.mp", "RANGE",
                    (s_shape_t) { .type = "offer", .extra_body = b_licence }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_string.mp", "WRONG_TYPE", (s_shape_t) { .swap = "v", .swap_value = v_str }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_2.mp", "VERSION", (s_shape_t) { .swap = "v", .swap_value = v_two }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_string.mp", "WRONG_TYPE", (s_shape_t) { .swap = "id", .swap_value = v_str }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_15_bytes.mp", "RANGE", (s_shape_t) { .swap = "id", .swap_value = v_id15 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_all_zero.mp", "VALUE", (s_shape_t) { .swap = "id", .swap_value = v_idzero }, 0, NULL);
    rc |= s_vector (dir, m, "bad_type_int.mp", "WRONG_TYPE", (s_shape_t) { .swap = "type", .swap_value = v_int }, 0, NULL);
    rc |= s_vector (dir, m, "bad_from_int.mp", "WRONG_TYPE", (s_shape_t) { .swap = "from", .swap_value = v_int }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_zero.mp", "RANGE", (s_shape_t) { .swap = "ts", .swap_value = v_zero }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_negative.mp", "WRONG_TYPE", (s_shape_t) { .swap = "ts", .swap_value = v_neg }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_year_10000.mp", "RANGE", (s_shape_t) { .swap = "ts", .swap_value = v_year_10000 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_body_array.mp", "WRONG_TYPE", (s_shape_t) { .swap = "body", .swap_value = v_array }, 0, NULL);
    rc |= s_vector (dir, m, "bad_oversized.mp", "TOO_LARGE", (s_shape_t) { .extra_body = b_big }, 0, NULL);
    fclose (m);
    return rc ? 1 : 0;
}
